//! `memphis validate --cases FILE`: predictions against published measurements.

use crate::cli::ValidateArgs;
use crate::errors::CliResult;
use crate::{input, sinks};
use memphis_core::validate::{parse_cases, run_cases, Report};
use std::fmt::Write;

pub fn run(a: ValidateArgs) -> CliResult {
    let text = input::read_text(&a.cases, "case file")?;
    let file = parse_cases(&a.cases.display().to_string(), &text)?;
    let report = run_cases(&file, a.step_model == memphis_core::step::StepModel::Timeline)?;
    if let Report::Training { cases, .. } = &report {
        let failed = cases.iter().filter(|c| c.error.is_some()).count();
        if failed > 0 {
            eprintln!(
                "warning: {failed} of {} cases could not be simulated; the summary leaves them out",
                cases.len()
            );
        }
    }
    let text = if a.json {
        sinks::json_text(&report)?
    } else {
        render(&report)
    };
    sinks::emit(a.output.as_deref(), &text)
}

fn render(r: &Report) -> String {
    let mut o = String::new();
    match r {
        Report::Training { cases, summary } => {
            let w = cases.iter().map(|c| c.id.len()).max().unwrap_or(2).max(4);
            let _ = writeln!(
                o,
                "{:<w$}  {:>12}  {:>12}  {:>8}",
                "case", "measured s", "predicted s", "error"
            );
            for c in cases {
                match (c.predicted_step_time_s, c.error_pct, &c.error) {
                    (Some(p), Some(e), _) => {
                        let _ = writeln!(
                            o,
                            "{:<w$}  {:>12.3}  {:>12.3}  {:>+7.1}%",
                            c.id, c.measured_step_time_s, p, e
                        );
                    }
                    (_, _, err) => {
                        let _ = writeln!(
                            o,
                            "{:<w$}  {:>12.3}  {:>12}  {:>8}   not simulated: {}",
                            c.id,
                            c.measured_step_time_s,
                            "-",
                            "-",
                            err.as_deref().unwrap_or("?")
                        );
                    }
                }
            }
            let _ = writeln!(
                o,
                "\n{} cases: mean absolute error {:.1}%, median {:.1}%, worst {:.1}% ({})",
                summary.n,
                summary.mape_pct,
                summary.median_ape_pct,
                summary.max_ape_pct,
                summary.worst
            );
        }
        Report::Collective { cases, summary } => {
            for c in cases {
                let _ = writeln!(o, "{}", c.id);
                let _ = writeln!(
                    o,
                    "  {:>12}  {:>11}  {:>11}  {:>11}  {:>8}",
                    "size B", "pred µs", "meas busbw", "pred busbw", "error"
                );
                for i in 0..c.size_bytes.len() {
                    let _ = writeln!(
                        o,
                        "  {:>12}  {:>11.2}  {:>11.2}  {:>11.2}  {:>+7.1}%",
                        c.size_bytes[i],
                        c.predicted_time_us[i],
                        c.measured_busbw_gbps[i],
                        c.predicted_busbw_gbps[i],
                        c.error_pct[i]
                    );
                }
            }
            for c in cases {
                if let Some(l) = c.latency_error_pct {
                    let _ = writeln!(
                        o,
                        "{}: small-message latency ({} B) error {l:+.1}%",
                        c.id, c.size_bytes[0]
                    );
                }
            }
            let _ = writeln!(
                o,
                "\n{} sizes >= 1 MiB: mean absolute busbw error {:.1}%, median {:.1}%, worst {:.1}% ({})",
                summary.n, summary.mape_pct, summary.median_ape_pct, summary.max_ape_pct, summary.worst
            );
        }
    }
    o
}
