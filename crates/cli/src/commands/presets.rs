//! `memphis presets`: the embedded clusters, models and scenarios, a line each.

use crate::errors::CliResult;
use crate::sinks;
use memphis_core::scenario::{
    preset_description, Preset, CLUSTER_PRESETS, DEFAULT_SCENARIO, MODEL_PRESETS, SCENARIO_PRESETS,
};
use std::fmt::Write;

pub fn run() -> CliResult {
    let mut out = String::new();
    let section = |out: &mut String, title: &str, list: &[Preset]| {
        let _ = writeln!(out, "{title}:");
        for p in list {
            let mark = if p.name == DEFAULT_SCENARIO {
                " (default)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {:<22} {}{mark}", p.name, preset_description(p));
        }
        out.push('\n');
    };
    section(&mut out, "clusters", CLUSTER_PRESETS);
    section(&mut out, "models", MODEL_PRESETS);
    section(&mut out, "scenarios", SCENARIO_PRESETS);
    sinks::stdout(out.trim_end_matches('\n'))?;
    sinks::stdout("\n")
}
