//! `memphis fabric-bench`: one traffic pattern on the cluster's fabric.

use super::cluster::{cluster_arg, serde_name};
use crate::cli::FabricBenchArgs;
use crate::errors::CliResult;
use crate::sinks;
use crate::sinks::format::count;
use memphis_core::api::fabric_bench::{self as api, FabricBenchOptions, FabricBenchReport};
use memphis_core::fabric::bench::Pattern;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Instant;

/// The wall time and memory of this run: they vary from run to run, so they stay out of
/// the report and appear only with `--timing` (or as a status line on a terminal).
#[derive(Serialize)]
struct Timing {
    /// Building the fabric, routing and solving, ms.
    solve_ms: f64,
    /// Peak resident memory of the process, MiB (Linux).
    peak_rss_mib: Option<f64>,
}

/// The report with its timing, for `--json --timing`.
#[derive(Serialize)]
struct Timed<'a> {
    #[serde(flatten)]
    report: &'a FabricBenchReport,
    #[serde(flatten)]
    timing: &'a Timing,
}

pub fn run(a: FabricBenchArgs) -> CliResult {
    let t0 = Instant::now();
    let r = report(&a)?;
    let timing = Timing {
        solve_ms: t0.elapsed().as_secs_f64() * 1e3,
        peak_rss_mib: peak_rss_mib(),
    };
    if !a.timing {
        sinks::status(&timing_line(&timing));
    }
    let text = match (a.json, a.timing) {
        (true, false) => sinks::json_text(&r)?,
        (true, true) => sinks::json_text(&Timed {
            report: &r,
            timing: &timing,
        })?,
        (false, _) => render(&r, a.timing.then_some(&timing)),
    };
    sinks::put_report(text, a.output.as_deref())
}

/// The pattern solved on the cluster's fabric.
pub fn report(a: &FabricBenchArgs) -> CliResult<FabricBenchReport> {
    let c = cluster_arg(&a.cluster)?;
    let o = FabricBenchOptions {
        pattern: a.pattern,
        gpus: a.gpus,
        routing: a.routing,
        seed: a.seed,
    };
    sinks::status(&format!(
        "routing and solving {} on {} ...",
        serde_name(&o.pattern),
        c.name
    ));
    Ok(api::run(&c, &o)?)
}

fn timing_line(t: &Timing) -> String {
    format!(
        "solved in {:.0} ms, peak memory {} MiB",
        t.solve_ms,
        t.peak_rss_mib
            .map_or("?".to_string(), |m| format!("{m:.0}"))
    )
}

fn render(r: &FabricBenchReport, timing: Option<&Timing>) -> String {
    let rates = &r.rates;
    let mut o = format!(
        "{} on {} GPUs of {}, {} routing: {} flows\n  flow rate / line rate: mean {}, p10 {}, min {}; per-GPU injection {}\n",
        serde_name(&r.pattern),
        count(r.gpus),
        r.cluster,
        serde_name(&r.routing),
        count(rates.flows as u64),
        fraction(rates.mean_rate_fraction),
        fraction(rates.p10_rate_fraction),
        fraction(rates.min_rate_fraction),
        fraction(rates.mean_injection_fraction),
    );
    if r.pattern == Pattern::AllToAll && r.gpus > 1 {
        // Max-min fairness lets the unhindered flows take what the slow ones leave, but an
        // all-to-all of equal messages ends with its slowest flow.
        // Flows per GPU on the fabric (a server's own GPUs talk over NVLink).
        let per_gpu = rates.flows as f64 / r.gpus as f64;
        let _ = writeln!(
            o,
            "  as a collective of equal messages it ends with its slowest flow: {} of line rate per GPU (min x {} flows a GPU)",
            fraction(rates.min_rate_fraction * per_gpu),
            if per_gpu.fract() == 0.0 {
                count(per_gpu as u64)
            } else {
                format!("{per_gpu:.2}")
            }
        );
    }
    if let Some(t) = timing {
        o += &format!("  {}\n", timing_line(t));
    }
    o
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
