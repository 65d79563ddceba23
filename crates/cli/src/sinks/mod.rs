//! Output sinks: where a command's result goes. Each report renders to a string; the
//! sink writes it to stdout or, safely, to a file ([`output`]).

mod cleanup;
pub mod format;
pub mod html;
pub mod jobs_html;
pub mod output;
pub mod power_html;
pub mod progress;

pub use output::Outputs;

use crate::errors::{CliError, CliResult};
use std::io::Write;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences progress and status lines (`--quiet`).
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `--quiet` is on.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

static EMBEDDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The commands run inside another program (the Python package): nothing goes to
/// stderr, not even notes and warnings, since the reports carry them and the host shows
/// its own progress.
pub fn set_embedded(e: bool) {
    EMBEDDED.store(e, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the commands run inside another program (see [`set_embedded`]).
pub fn embedded() -> bool {
    EMBEDDED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether progress may be shown: stderr is a terminal and `--quiet` is off.
pub fn progress_enabled() -> bool {
    use std::io::IsTerminal;
    !QUIET.load(std::sync::atomic::Ordering::Relaxed)
        && !embedded()
        && std::io::stderr().is_terminal()
}

/// A status line on stderr for work that takes a while (only on a terminal).
pub fn status(msg: &str) {
    if progress_enabled() {
        progress::cleared(|| eprintln!("  {msg}"));
    }
}

/// The terminal's bold on and off, around a [`heading`].
const BOLD: &str = "\x1b[1m";
const NOT_BOLD: &str = "\x1b[0m";

/// Bold section headings when stdout is a terminal and NO_COLOR is unset.
pub fn heading(text: &str) -> String {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("{BOLD}{text}{NOT_BOLD}")
    } else {
        text.to_string()
    }
}

/// Bytes without the bold a [`heading`] writes (a report going to a file).
pub fn unstyled(bytes: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(text) if text.contains(BOLD) || text.contains(NOT_BOLD) => {
            text.replace(BOLD, "").replace(NOT_BOLD, "").into_bytes()
        }
        Ok(text) => text.into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

/// A report's text as a terminal can show it: every control character escaped but the
/// line breaks and the bold a [`heading`] writes (names from files were escaped as read;
/// this keeps anything else from reaching the terminal raw).
pub fn printable(s: &str) -> String {
    let escape = |part: &str| memphis_core::text::escape_controls(part, true);
    s.split(BOLD)
        .map(|p| {
            p.split(NOT_BOLD)
                .map(escape)
                .collect::<Vec<_>>()
                .join(NOT_BOLD)
        })
        .collect::<Vec<_>>()
        .join(BOLD)
}

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn stdout(text: &str) -> CliResult {
    stdout_bytes(text.as_bytes()).map_err(|e| {
        CliError::env(format!(
            "writing to stdout: {}",
            crate::input::io_reason(&e)
        ))
    })
}

/// Writes `bytes` to stdout and flushes; a closed pipe (the reader is gone, as with
/// `| head`) is not an error.
pub fn stdout_bytes(bytes: &[u8]) -> std::io::Result<()> {
    progress::end();
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Pretty JSON with a final newline.
pub fn json_text<T: serde::Serialize>(value: &T) -> CliResult<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| CliError::internal(format!("serializing JSON: {e}")))
}

/// A command's report as it prints: its JSON with `--json`, else its text.
pub fn report_text<T: serde::Serialize>(
    r: &T,
    json: bool,
    render: impl FnOnce(&T) -> String,
) -> CliResult<String> {
    if json {
        json_text(r)
    } else {
        Ok(printable(&render(r)))
    }
}

/// Prints a command's report on stdout (see [`report_text`]).
pub fn report<T: serde::Serialize>(
    r: &T,
    json: bool,
    output: Option<&std::path::Path>,
    render: impl FnOnce(&T) -> String,
) -> CliResult {
    put_report(report_text(r, json, render)?, output)
}

/// A report's text to `output` (`-o FILE`, written atomically) or stdout.
pub fn put_report(text: String, output: Option<&std::path::Path>) -> CliResult {
    let mut outs = Outputs::default();
    let slot = outs.report("-o", output)?;
    outs.put(slot, text)?;
    outs.commit()
}

/// A report's notes on stderr, for whoever reads the terminal while the report goes
/// elsewhere (`--json`, `-o FILE`, a pipe); a text report on the terminal shows them
/// itself, so they are not said twice.
pub fn report_notes(notes: &[String], json: bool, output: Option<&std::path::Path>) {
    use std::io::IsTerminal;
    if json || output.is_some() || !std::io::stdout().is_terminal() {
        notes.iter().for_each(|n| note(n));
    }
}

/// A note on stderr about a decision made for the user (unless `--quiet`).
pub fn note(msg: &str) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) && !embedded() {
        let line = labelled_note(&crate::errors::one_line(msg));
        progress::cleared(|| eprintln!("{line}"));
    }
}

/// A report's notes as lines of its text ("  note     ...", "  warning  ..."), under its
/// first line, so that a report written to a file keeps them: `simulate` and
/// `reliability` alike.
pub fn note_lines(o: &mut String, notes: &[String]) {
    use std::fmt::Write;
    for n in notes {
        // A warning is labelled as one, not as "note     warning: ...".
        let _ = match n.strip_prefix("warning: ") {
            Some(w) => writeln!(o, "  warning  {w}"),
            None => writeln!(o, "  note     {n}"),
        };
    }
}

/// A note as a line says it: `note: ...`, or a warning as it is (`warning: ...`), not
/// `note: warning: ...`.
pub fn labelled_note(msg: &str) -> String {
    if msg.starts_with("warning: ") {
        msg.to_string()
    } else {
        format!("note: {msg}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_warning_is_not_labelled_a_note() {
        assert_eq!(super::labelled_note("warning: slow"), "warning: slow");
        assert_eq!(
            super::labelled_note("the planner chose"),
            "note: the planner chose"
        );
    }

    #[test]
    fn a_report_for_a_file_is_written_without_the_terminals_bold() {
        let styled = format!("{}step{}\n  time 1 s\n", super::BOLD, super::NOT_BOLD);
        assert_eq!(super::unstyled(styled.into_bytes()), b"step\n  time 1 s\n");
        assert_eq!(super::unstyled(vec![0xff, b'a']), vec![0xff, b'a']);
    }

    #[test]
    fn a_report_keeps_its_headings_bold_and_escapes_any_other_control() {
        let text = format!(
            "{}step{}\n  name \x1b[31mred\x1b[0m\u{7}\n",
            super::BOLD,
            super::NOT_BOLD
        );
        assert_eq!(
            super::printable(&text),
            "\x1b[1mstep\x1b[0m\n  name \\u{1b}[31mred\x1b[0m\\u{7}\n"
        );
    }
}
