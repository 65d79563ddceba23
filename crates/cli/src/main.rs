//! The `memphis` binary: parse flags, run one command, map errors to exit codes.
//! Everything that computes lives in memphis-core; this crate only reads files, parses
//! flags and writes output.

use memphis_cli::{cli, commands, errors, input};

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
            eprintln!("{}", errors::clap_line(&e.render().to_string()));
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
