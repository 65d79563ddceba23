//! The `memphis` binary: parse flags, run one command, map errors to exit codes.
//! Everything that computes lives in memphis-core; this crate only reads files, parses
//! flags and writes output.

mod cli;
mod commands;
mod errors;
mod input;
mod sinks;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.kind.code())
        }
    }
}
