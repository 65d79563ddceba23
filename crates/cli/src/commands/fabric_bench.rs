//! `memphis fabric-bench`: one traffic pattern on the cluster's fabric.

use crate::cli::{FabricBenchArgs, PatternArg, RoutingArg};
use crate::errors::{CliError, CliResult};
use crate::sinks;
use crate::sinks::format::count;
use memphis_core::fabric::bench::{pattern_pairs, run_pattern, Pattern};
use memphis_core::fabric::{Fabric, Routing};
use memphis_core::scenario;
use serde_json::json;
use std::time::Instant;

pub fn run(a: FabricBenchArgs) -> CliResult {
    let sc = temp_cluster_scenario(&a.cluster)?;
    let c = &sc.cluster;
    let gpus = a.gpus.unwrap_or(c.gpus);
    if gpus == 0 || gpus > c.gpus {
        return Err(CliError::bad(format!(
            "--gpus = {gpus}: from 2 to the cluster's {} GPUs",
            c.gpus
        )));
    }
    let pattern = match a.pattern {
        PatternArg::Ring => Pattern::Ring,
        PatternArg::Permutation => Pattern::Permutation,
        PatternArg::AllToAll => Pattern::AllToAll,
    };
    let routing = match a.routing {
        RoutingArg::Ecmp => Routing::Ecmp,
        RoutingArg::Adaptive => Routing::Adaptive,
    };
    let pairs = pattern_pairs(pattern, gpus as u32, c.gpus_per_node, a.seed)?;
    let fabric = Fabric::build(&c.fabric_spec);
    sinks::status(&format!(
        "routing and solving {} flows ...",
        count(pairs.len() as u64)
    ));
    let t0 = Instant::now();
    let r = run_pattern(&fabric, &pairs, routing, a.seed);
    let solve_ms = t0.elapsed().as_secs_f64() * 1e3;
    let peak = peak_rss_mib();
    let pattern_name = serde_json::to_value(pattern).unwrap_or_default();
    let routing_name = serde_json::to_value(routing).unwrap_or_default();
    let text = if a.json {
        sinks::json_text(&json!({
            "pattern": pattern_name,
            "gpus": gpus,
            "routing": routing_name,
            "cluster": c.name,
            "seed": a.seed,
            "flows": r.flows,
            "mean_rate_fraction": r.mean_rate_fraction,
            "min_rate_fraction": r.min_rate_fraction,
            "p10_rate_fraction": r.p10_rate_fraction,
            "mean_injection_fraction": r.mean_injection_fraction,
            "solve_ms": solve_ms,
            "peak_rss_mib": peak,
        }))?
    } else {
        format!(
            "{} on {} GPUs of {}, {} routing: {} flows\n  flow rate / line rate: mean {}, p10 {}, min {}; per-GPU injection {}\n  solved in {:.0} ms, peak memory {} MiB\n",
            pattern_name.as_str().unwrap_or("?"),
            count(gpus),
            c.name,
            routing_name.as_str().unwrap_or("?"),
            count(r.flows as u64),
            fraction(r.mean_rate_fraction),
            fraction(r.p10_rate_fraction),
            fraction(r.min_rate_fraction),
            fraction(r.mean_injection_fraction),
            solve_ms,
            peak.map_or("?".to_string(), |m| format!("{m:.0}")),
        )
    };
    sinks::stdout(&text)
}

/// Peak resident memory of this process (Linux), MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Three decimals, or three significant digits for small fractions (all-to-all flows).
fn fraction(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.01 {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

/// A scenario on the cluster preset (until these commands take a cluster alone).
pub fn temp_cluster_scenario(cluster: &str) -> CliResult<scenario::Scenario> {
    let mut flags = scenario::ScenarioFile::default();
    flags.cluster.preset = Some(cluster.to_string());
    let merged = scenario::ScenarioLayers::flags(flags).merge()?;
    Ok(scenario::build_for_planning(&merged.file)?)
}
