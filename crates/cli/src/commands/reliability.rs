//! `memphis reliability`: job MTBF, checkpoint interval, ETTR and spares, explored.

use crate::cli::ReliabilityArgs;
use crate::errors::{CliError, CliResult};
use crate::sinks::format::{count, duration, pct};
use crate::{input, sinks};
use memphis_core::reliability::{project_run, FailureModel, ReliabilityConfig};
use memphis_core::scenario::{self, Overrides};
use memphis_core::step::simulate_step;
use serde_json::json;
use std::fmt::Write;

pub fn run(a: ReliabilityArgs) -> CliResult {
    let base = input::scenario_arg(a.scenario.as_deref())?;
    let sc = scenario::build(
        base,
        &Overrides {
            seed: a.seed,
            ..Default::default()
        },
    )?;
    let gpus = a.gpus.unwrap_or(sc.job_gpus());
    if gpus == 0 || gpus > sc.cluster.gpus {
        return Err(CliError::bad(format!(
            "--gpus = {gpus}: from 1 to the cluster's {} GPUs",
            sc.cluster.gpus
        )));
    }
    if let Some(d) = a.days {
        if !(d.is_finite() && d > 0.0 && d <= 36_500.0) {
            return Err(CliError::bad(format!(
                "--days = {d}: a number of days above 0 (at most 36500)"
            )));
        }
    }
    let mut cfg = sc.reliability.clone();
    cfg.checkpoint_interval_min = a.checkpoint_interval_min.or(cfg.checkpoint_interval_min);
    cfg.spare_gpus = a.spares.or(cfg.spare_gpus);
    cfg.validate(sc.cluster.gpus, gpus)?;
    let spares = cfg.spare_gpus.unwrap_or(sc.cluster.gpus - gpus);
    let gpn = sc.cluster.gpus_per_node;
    let fm = FailureModel::for_job(gpus, gpn);
    // Work to do: the given days of training, or the scenario's token budget.
    let step_s = simulate_step(&sc).time.0;
    let tokens_per_step = (sc.run.global_batch * sc.run.seq_len) as f64;
    let work_hours = match a.days {
        Some(d) => d * 24.0,
        None => (sc.run.tokens / tokens_per_step).ceil() * step_s / 3600.0,
    };
    let params = sc.model.total_params();
    sinks::status("running the failure Monte Carlo ...");
    let base_run = project_run(work_hours, step_s, params, gpus, gpn, spares, &cfg);
    let optimum = base_run.checkpoint_interval_min;
    let explore_cfg = ReliabilityConfig {
        trials: cfg.trials.min(100),
        ..cfg.clone()
    };
    let intervals: Vec<serde_json::Value> = [0.25, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|k| {
            let c = ReliabilityConfig {
                checkpoint_interval_min: Some(optimum * k),
                ..explore_cfg.clone()
            };
            let r = project_run(work_hours, step_s, params, gpus, gpn, spares, &c);
            json!({"checkpoint_interval_min": optimum * k, "ettr": r.ettr, "days_p50": r.days_p50})
        })
        .collect();
    let free = sc.cluster.gpus - gpus;
    let mut spare_counts: Vec<u64> = [0.0, 0.001, 0.005, 0.01, 0.02]
        .iter()
        .map(|f| ((gpus as f64 * f) as u64 / u64::from(gpn)) * u64::from(gpn))
        .filter(|&s| s <= free)
        .collect();
    spare_counts.dedup();
    let spare_rows: Vec<serde_json::Value> = spare_counts
        .iter()
        .map(|&s| {
            let r = project_run(work_hours, step_s, params, gpus, gpn, s, &explore_cfg);
            json!({"spare_gpus": s, "ettr": r.ettr, "days_p50": r.days_p50, "spare_wait_hours": r.spare_wait_hours})
        })
        .collect();
    let days = a.days;
    let unexpected = days.map(|d| fm.unexpected_per_hour() * d * 24.0);
    let planned = days.map(|d| fm.planned_per_hour * d * 24.0);
    let causes: Vec<serde_json::Value> = fm
        .rates
        .iter()
        .map(|(c, r)| json!({"cause": c.name, "per_day": r * 24.0, "share": r / fm.unexpected_per_hour()}))
        .collect();
    let v = json!({
        "scenario": sc.name,
        "gpu": sc.cluster.gpu.name,
        "gpus": gpus,
        "spare_gpus": spares,
        "days": days,
        "job_mtbf_hours": fm.job_mtbf_hours(),
        "interruptions_unexpected": unexpected,
        "interruptions_planned": planned,
        "checkpoint_interval_min": optimum,
        "checkpoint_size_tb": base_run.checkpoint.size_bytes / 1e12,
        "checkpoint_stall_s": base_run.checkpoint.stall_s,
        "restart_min": base_run.checkpoint.restart_s / 60.0,
        "ettr": base_run.ettr,
        "ettr_expected": base_run.ettr_expected,
        "days_p10": base_run.days_p10,
        "days_p50": base_run.days_p50,
        "days_p90": base_run.days_p90,
        "causes": causes,
        "intervals": intervals,
        "spares": spare_rows,
    });
    if a.json {
        return sinks::stdout(&sinks::json_text(&v)?);
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "reliability · {} GPUs of {} ({} spare)",
        count(gpus),
        sc.cluster.gpu.name,
        count(spares)
    );
    let _ = writeln!(
        o,
        "  job MTBF        {} (unexpected interruptions)",
        duration(fm.job_mtbf_hours() * 3600.0)
    );
    if let (Some(d), Some(u), Some(p)) = (days, unexpected, planned) {
        let _ = writeln!(
            o,
            "  in {d} days      {u:.0} unexpected and {p:.0} planned interruptions"
        );
    }
    let _ = writeln!(
        o,
        "  checkpoint      {:.1} TB, stall {} ({}), restart {}; best interval {}",
        base_run.checkpoint.size_bytes / 1e12,
        duration(base_run.checkpoint.stall_s),
        if cfg.async_checkpoint {
            "async"
        } else {
            "sync"
        },
        duration(base_run.checkpoint.restart_s),
        duration(optimum * 60.0)
    );
    let _ = writeln!(
        o,
        "  ETTR            {} (analytic {})",
        pct(base_run.ettr),
        pct(base_run.ettr_expected)
    );
    let _ = writeln!(
        o,
        "  time to train   {:.1} days p50 ({:.1} p10, {:.1} p90) for {:.1} days of work",
        base_run.days_p50,
        base_run.days_p10,
        base_run.days_p90,
        work_hours / 24.0
    );
    let _ = writeln!(o, "\n  causes (per day)");
    for (c, r) in &fm.rates {
        let _ = writeln!(
            o,
            "    {:<24} {:>7.2}  {:>6}",
            c.name,
            r * 24.0,
            pct(r / fm.unexpected_per_hour())
        );
    }
    let _ = writeln!(o, "\n  checkpoint interval      ETTR   days p50");
    for r in &intervals {
        let _ = writeln!(
            o,
            "    {:>12}  {:>10}  {:>9.2}",
            duration(r["checkpoint_interval_min"].as_f64().unwrap_or(0.0) * 60.0),
            pct(r["ettr"].as_f64().unwrap_or(0.0)),
            r["days_p50"].as_f64().unwrap_or(0.0)
        );
    }
    let _ = writeln!(o, "\n  spare GPUs    ETTR   days p50   waiting for repair");
    for r in &spare_rows {
        let _ = writeln!(
            o,
            "    {:>8}  {:>6}  {:>9.2}   {:.1} h",
            count(r["spare_gpus"].as_u64().unwrap_or(0)),
            pct(r["ettr"].as_f64().unwrap_or(0.0)),
            r["days_p50"].as_f64().unwrap_or(0.0),
            r["spare_wait_hours"].as_f64().unwrap_or(0.0)
        );
    }
    sinks::stdout(&o)
}
