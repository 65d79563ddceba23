//! One module per subcommand.

pub mod cluster;
pub mod collective;
pub mod fabric_bench;
pub mod jobs;
pub mod model;
pub mod plan;
pub mod power;
pub mod presets;
pub mod reliability;
pub mod simulate;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::errors::CliResult;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    crate::sinks::set_quiet(cli.quiet);
    crate::sinks::progress::around(|| dispatch(cli.command))
}

fn dispatch(command: Command) -> CliResult {
    match command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let shell = match shell {
                crate::cli::ShellArg::Bash => clap_complete::Shell::Bash,
                crate::cli::ShellArg::Zsh => clap_complete::Shell::Zsh,
                crate::cli::ShellArg::Fish => clap_complete::Shell::Fish,
            };
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "memphis", &mut out);
            crate::sinks::stdout(&String::from_utf8_lossy(&out))
        }
        Command::Simulate(a) => simulate::run(*a),
        Command::Validate(a) => validate::run(a),
        Command::Cluster(a) => cluster::run(a),
        Command::Collective(a) => collective::run(a),
        Command::FabricBench(a) => fabric_bench::run(a),
        Command::Model(a) => model::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Presets => presets::run(),
        Command::Schema { report } => {
            let schema = memphis_core::api::schema(&report)?;
            crate::sinks::stdout(&crate::sinks::json_text(&schema)?)
        }
        Command::Reliability(a) => reliability::run(a),
        Command::Power(a) => power::run(*a),
        Command::Jobs(a) => jobs::run(a),
        Command::Place(a) => jobs::run_place(a),
    }
}
