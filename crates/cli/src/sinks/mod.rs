//! Output sinks: where a command's result goes. Each report renders to a string; the
//! sink writes it to stdout or, atomically, to a file.

pub mod format;
pub mod html;

use crate::errors::{CliError, CliResult};
use std::io::Write;
use std::path::Path;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences progress and status lines (`--quiet`).
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

/// Whether progress may be shown: stderr is a terminal and `--quiet` is off.
pub fn progress_enabled() -> bool {
    use std::io::IsTerminal;
    !QUIET.load(std::sync::atomic::Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// A status line on stderr for work that takes a while (only on a terminal).
pub fn status(msg: &str) {
    if progress_enabled() {
        eprintln!("  {msg}");
    }
}

/// Bold section headings when stdout is a terminal and NO_COLOR is unset.
pub fn heading(text: &str) -> String {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn stdout(text: &str) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::internal(format!("writing to stdout: {e}"))),
    }
}

/// Pretty JSON with a final newline.
pub fn json_text<T: serde::Serialize>(value: &T) -> CliResult<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| CliError::internal(format!("serializing JSON: {e}")))
}

/// Sends a finished report to `path` (atomically) or to stdout.
pub fn emit(path: Option<&Path>, text: &str) -> CliResult {
    match path {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => stdout(text),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename, so a
/// failure never leaves a partial file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult {
    let shown = path.display();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(CliError::bad(format!("output '{shown}': is a directory")));
    }
    if !dir.is_dir() {
        return Err(CliError::bad(format!(
            "output '{shown}': directory '{}' does not exist",
            dir.display()
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "permission denied".to_string()
        } else {
            e.to_string()
        };
        return Err(CliError::bad(format!(
            "output '{shown}': cannot write: {kind}"
        )));
    }
    Ok(())
}

/// A note on stderr about a decision made for the user (unless `--quiet`).
pub fn note(msg: &str) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("note: {msg}");
    }
}
