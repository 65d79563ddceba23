//! One module per subcommand.

mod cluster;
mod collective;
mod fabric_bench;
mod plan;
mod presets;
mod reliability;
mod simulate;
mod validate;

use crate::cli::{Cli, Command};
use crate::errors::CliResult;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Simulate(a) => simulate::run(*a),
        Command::Validate(a) => validate::run(a),
        Command::Cluster(a) => cluster::run(a),
        Command::Collective(a) => collective::run(a),
        Command::FabricBench(a) => fabric_bench::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Presets => presets::run(),
        Command::Reliability(a) => reliability::run(a),
    }
}
