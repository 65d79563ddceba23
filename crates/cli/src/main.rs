//! The `memphis` binary: parse flags, run one command, map errors to exit codes.
//! Everything that computes lives in memphis-core; this crate only reads files, parses
//! flags and writes output.

mod cli;
mod commands;
mod errors;
mod input;
mod sinks;

use clap::error::ErrorKind;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let code = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            };
            // Help that cannot be written (`--help > /dev/full`) is a failed write: exit
            // 1. A reader that went away (`--help | head`) is not.
            let printed = e.print().and_then(|()| std::io::stdout().flush());
            return match printed {
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!(
                        "error: {}",
                        errors::one_line(&format!(
                            "writing the help to stdout: {}",
                            input::io_reason(&err)
                        ))
                    );
                    ExitCode::from(1)
                }
                _ => ExitCode::from(code),
            };
        }
        Err(e) => {
            eprintln!("{}", clap_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", errors::one_line(&e.message));
            ExitCode::from(e.kind.code())
        }
    }
}

/// One line from clap's error: its first paragraph (the message, which may hold the
/// user's value with newlines in it, escaped here), with the valid values when it
/// lists them.
fn clap_line(rendered: &str) -> String {
    let first = rendered.trim_start().split("\n\n").next().unwrap_or("");
    let (message, values) = match first.find("\n  [possible values:") {
        Some(i) => (&first[..i], Some(first[i..].trim())),
        None => (first, None),
    };
    let message = message.trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    // clap lists missing arguments on indented lines of their own: keep them, on the line.
    let joined;
    let message = if message.contains(":\n  ") {
        joined = message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        joined.as_str()
    } else {
        message
    };
    let message = if message.is_empty() {
        "bad arguments"
    } else {
        message
    };
    let line = errors::one_line(message);
    match values {
        Some(v) => format!("error: {line} {} (see --help)", errors::one_line(v)),
        None => format!("error: {line} (see --help)"),
    }
}
