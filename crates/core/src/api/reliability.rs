//! `reliability`: job MTBF, the checkpoint interval, ETTR and spares, explored around
//! the scenario's run, from the same step and projection as `simulate`.

use crate::error::{Error, Result};
/// What set the checkpoint interval.
pub use crate::reliability::IntervalRule;
/// Most interruptions one Monte Carlo trial simulates (beyond, the analytic expectation).
pub use crate::reliability::MC_MAX_EVENTS;
use crate::reliability::{FailureModel, ReliabilityConfig, RECOVERIES};
/// Most interruptions one Monte Carlo run simulates over all its trials.
pub use crate::reliability::{MC_EVENT_BUDGET, MC_MIN_TRIALS};
use crate::run::reliability_of;
use crate::scenario::Scenario;
use crate::step::{self, Heterogeneity, StepModel};
use serde::Serialize;

/// What to explore.
#[derive(Debug, Clone, Default)]
pub struct ReliabilityOptions {
    /// Also count the interruptions expected in this many days of training.
    pub days: Option<f64>,
}

/// The answer to "how do failures and checkpoints stretch the run?".
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReliabilityReport {
    /// Scenario name.
    pub scenario: String,
    /// Whether the plan fits in GPU memory. `false` only when the caller ran it anyway
    /// (`--allow-oom`): no real job could run it, and the first note says so.
    pub fits: bool,
    /// What memphis decided or warns of, as `simulate`'s notes: the scenario's (a
    /// config.json's unmodelled fields, the planner's choice, defaults taken), then the
    /// run's (failures outpacing progress, spares in whole hosts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// GPU model.
    pub gpu: String,
    /// Job GPUs.
    pub gpus: u64,
    /// Days of training asked about, if any.
    pub days: Option<f64>,
    /// Seconds per step (the timeline, as `simulate` reports it).
    pub step_time_s: f64,
    /// Days of work without failures or checkpoints.
    pub ideal_days: f64,
    /// MTBF, checkpoints, restarts, ETTR, spares: as `simulate` reports them.
    #[serde(flatten)]
    pub failures: super::simulate::FailureSummary,
    /// Unexpected interruptions expected in `days` (those over the run are
    /// `interruptions`).
    pub interruptions_unexpected: Option<f64>,
    /// Planned interruptions expected in `days` (over the run: `planned_interruptions`).
    pub interruptions_planned: Option<f64>,
    /// Wall days, 10th percentile.
    pub days_p10: f64,
    /// Median.
    pub days_p50: f64,
    /// 90th percentile.
    pub days_p90: f64,
    /// Unexpected interruptions by cause.
    pub causes: Vec<CauseRate>,
    /// The run at other checkpoint intervals.
    pub intervals: Vec<IntervalRow>,
    /// The run with other numbers of hot spares.
    pub spares: Vec<SpareRow>,
    /// The run with each recovery technique of the fastest-recovering sites, then all of
    /// them together (the first row is the scenario's own restart).
    pub recovery: Vec<RecoveryRow>,
}

/// The run with one recovery technique (or all of them).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RecoveryRow {
    /// The technique ("as configured", one name, or "all together").
    pub technique: String,
    /// What it changes.
    pub what: String,
    /// Seconds per restart.
    pub restart_s: f64,
    /// ETTR, Monte Carlo.
    pub ettr: f64,
    /// ETTR, analytic.
    pub ettr_expected: f64,
    /// Wall days, median.
    pub days_p50: f64,
    /// Wall days, mean (the ETTR's).
    pub days_mean: f64,
}

/// One cause of interruptions.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CauseRate {
    /// Name.
    pub cause: String,
    /// Interruptions per day for this job.
    pub per_day: f64,
    /// Share of all unexpected interruptions.
    pub share: f64,
}

/// The run at one checkpoint interval.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IntervalRow {
    /// Minutes.
    pub checkpoint_interval_min: f64,
    /// ETTR.
    pub ettr: f64,
    /// Wall days, median.
    pub days_p50: f64,
    /// Share of the storage's time writing checkpoints at this interval, over a cycle of
    /// the interval's work and the stall (the
    /// scenario keeps it to `reliability::CHECKPOINT_STORAGE_SHARE` unless that costs
    /// over a point of ETTR).
    pub storage_share: f64,
    /// Whether that is past the share the scenario allows them.
    pub over_storage_share: bool,
}

/// The run with one number of hot spares.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SpareRow {
    /// Spare GPUs.
    pub spare_gpus: u64,
    /// ETTR.
    pub ettr: f64,
    /// Wall days, median.
    pub days_p50: f64,
    /// Wall days, mean (the ETTR's).
    pub days_mean: f64,
    /// Hours waiting for repairs, mean.
    pub spare_wait_hours: f64,
}

/// The reliability report of a scenario.
pub fn reliability(sc: &Scenario, opts: &ReliabilityOptions) -> Result<ReliabilityReport> {
    if let Some(d) = opts.days {
        if !(d.is_finite() && d > 0.0 && d <= 36_500.0) {
            return Err(Error::invalid(
                "days",
                d,
                "a number of days above 0 (at most 36500)",
            ));
        }
    }
    let step = step::simulate(sc, StepModel::Timeline, &Heterogeneity::default())?.result;
    let step_s = step.time.0;
    let ideal_hours = sc.run.work_hours(step_s);
    // `days` only asks how many interruptions so many days bring; the run projected is
    // the scenario's, as `simulate` projects it.
    let work_hours = ideal_hours;
    let cfg = &sc.reliability;
    let base = reliability_of(sc, step_s, work_hours, cfg);
    let mut notes = super::progress_notes(sc, &base, step_s)?;
    let m = super::simulate::MemorySummary::of(sc, &step);
    if let Some(w) = super::simulate::memory_warning(sc, &m) {
        notes.insert(0, w);
    }
    let optimum = base.checkpoint_interval_min;
    // Every row runs the scenario's trials and seed (`cfg` with one field changed), so
    // that rows compare like with like, and the row of the scenario's own setting is
    // the headline's run.
    // Only intervals that can happen: whole steps, no shorter than a write; each once.
    let mut ks: Vec<f64> = Vec::new();
    for k in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let m = (optimum * k).max(base.min_interval_min);
        let m = crate::reliability::whole_steps(m / 60.0, step_s) * 60.0;
        if ks.last().is_none_or(|&l| m > l * (1.0 + 1e-9)) {
            ks.push(m);
        }
    }
    let intervals = ks
        .iter()
        .map(|&m| {
            // The headline's own interval is the headline's run (all its trials), so
            // the two agree.
            // A checkpoint is written once a cycle: the interval's work and the stall (a
            // synchronous checkpoint's stall is its write).
            let share = base.checkpoint.write_s / (m * 60.0 + base.checkpoint.stall_s);
            let row = |r: &crate::reliability::RunProjection| IntervalRow {
                checkpoint_interval_min: m,
                ettr: r.ettr,
                days_p50: r.days_p50,
                storage_share: share,
                over_storage_share: share
                    > crate::reliability::CHECKPOINT_STORAGE_SHARE * (1.0 + 1e-9),
            };
            if (m - optimum).abs() <= 1e-9 * optimum {
                return row(&base);
            }
            let c = ReliabilityConfig {
                checkpoint_interval_min: Some(m),
                ..cfg.clone()
            };
            row(&reliability_of(sc, step_s, work_hours, &c))
        })
        .collect();
    let gpus = sc.job_gpus();
    let gpn = u64::from(sc.cluster.gpus_per_host);
    // Shares of the job, in whole hosts; a small job, whose 2 % is under 4 hosts, gets
    // 1, 2 and 4 hosts too (its shares round to none). The scenario's own count among
    // them, so the table holds the headline's run.
    const SHARES: [f64; 5] = [0.0, 0.001, 0.005, 0.01, 0.02];
    let small = gpus as f64 * SHARES[4] < 4.0 * gpn as f64;
    let hosts = if small { &[1, 2, 4][..] } else { &[][..] };
    let mut spare_counts: Vec<u64> = SHARES
        .iter()
        .map(|f| ((gpus as f64 * f) as u64 / gpn) * gpn)
        .chain(hosts.iter().map(|h| h * gpn))
        .filter(|&s| s <= sc.spare_gpus())
        .chain([base.spare_gpus])
        .collect();
    spare_counts.sort_unstable();
    spare_counts.dedup();
    let spares = spare_counts
        .iter()
        .map(|&s| {
            let c = ReliabilityConfig {
                spare_gpus: Some(s),
                ..cfg.clone()
            };
            let r = reliability_of(sc, step_s, work_hours, &c);
            SpareRow {
                spare_gpus: s,
                ettr: r.ettr,
                days_p50: r.days_p50,
                days_mean: r.days_mean,
                spare_wait_hours: r.spare_wait_hours,
            }
        })
        .collect();
    let recovery = recovery_rows(sc, step_s, work_hours, &base, cfg);
    let fm = FailureModel::for_job(gpus, sc.cluster.gpus_per_host);
    let unexpected = fm.unexpected_per_hour();
    Ok(ReliabilityReport {
        scenario: sc.name.clone(),
        fits: step.fits,
        notes,
        gpu: sc.cluster.gpu.name.to_string(),
        gpus,
        days: opts.days,
        step_time_s: step_s,
        ideal_days: ideal_hours / 24.0,
        failures: super::simulate::FailureSummary::of(&base, cfg),
        interruptions_unexpected: opts.days.map(|d| unexpected * d * 24.0),
        interruptions_planned: opts.days.map(|d| fm.planned_per_hour * d * 24.0),
        days_p10: base.days_p10,
        days_p50: base.days_p50,
        days_p90: base.days_p90,
        causes: fm
            .rates
            .iter()
            .map(|(c, r)| CauseRate {
                cause: c.name.to_string(),
                per_day: r * 24.0,
                share: r / unexpected,
            })
            .collect(),
        intervals,
        spares,
        recovery,
    })
}

/// The run as configured, with each technique of `RECOVERIES` alone, and with all.
fn recovery_rows(
    sc: &Scenario,
    step_s: f64,
    work_hours: f64,
    base: &crate::reliability::RunProjection,
    cfg: &ReliabilityConfig,
) -> Vec<RecoveryRow> {
    let of = |technique: &str, what: &str, r: &crate::reliability::RunProjection| RecoveryRow {
        technique: technique.into(),
        what: what.into(),
        restart_s: r.checkpoint.restart_s,
        ettr: r.ettr,
        ettr_expected: r.ettr_expected,
        days_p50: r.days_p50,
        days_mean: r.days_mean,
    };
    let row = |technique: &str, what: &str, c: &ReliabilityConfig| {
        of(technique, what, &reliability_of(sc, step_s, work_hours, c))
    };
    // The scenario's own run, as the headline reports it (all its trials).
    let mut rows = vec![of("as configured", "the scenario's restart", base)];
    let mut all = cfg.clone();
    for t in RECOVERIES {
        // Spares count in whole hosts, as the run uses them.
        if t.needs_spares && base.spare_gpus < u64::from(sc.cluster.gpus_per_host.max(1)) {
            // No host stands by to swap in: the run as configured.
            let what = format!(
                "{}: needs spare hosts, and the job has none (reliability.spare_gpus)",
                t.what
            );
            rows.push(of(t.name, &what, base));
            continue;
        }
        let mut c = cfg.clone();
        (t.apply)(&mut c);
        let r = reliability_of(sc, step_s, work_hours, &c);
        let mut changes: Vec<String> = t.changes(cfg).into_iter().collect();
        if c.restore_from_memory && !cfg.restore_from_memory {
            // What restoring from memory changes here, which a restart's minutes may
            // not show: the reload, and a synchronous checkpoint's stall.
            changes.push(from_memory(base, &r, cfg, &c));
        }
        let what = if changes.is_empty() {
            t.what.to_string()
        } else {
            format!("{} ({})", t.what, changes.join("; "))
        };
        rows.push(of(t.name, &what, &r));
        (t.apply)(&mut all);
    }
    rows.push(row("all together", "every technique above", &all));
    rows
}

/// A restore from memory's change to the run `before`: the reload (the restart less its
/// detection, rescheduling and warm-up), and a synchronous checkpoint's stall.
fn from_memory(
    before: &crate::reliability::RunProjection,
    after: &crate::reliability::RunProjection,
    cfg_before: &ReliabilityConfig,
    cfg_after: &ReliabilityConfig,
) -> String {
    use crate::text::duration;
    let reload = |r: &crate::reliability::RunProjection, c: &ReliabilityConfig| {
        r.checkpoint.restart_s - (c.detect_min + c.reschedule_min + c.warmup_min) * 60.0
    };
    let mut said = format!(
        "reload {} -> {}",
        duration(reload(before, cfg_before)),
        duration(reload(after, cfg_after))
    );
    if !cfg_before.async_checkpoint {
        said += &format!(
            ", stall {} -> {}",
            duration(before.checkpoint.stall_s),
            duration(after.checkpoint.stall_s)
        );
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::scenario_preset;

    #[test]
    fn recovery_techniques_shorten_restarts_and_the_monte_carlo_agrees() {
        let sc = scenario_preset("memphis-405b").unwrap().validate().unwrap();
        let r = reliability(&sc, &ReliabilityOptions::default()).unwrap();
        let rows = &r.recovery;
        assert_eq!(rows.len(), RECOVERIES.len() + 2);
        let (base, all) = (&rows[0], rows.last().unwrap());
        for row in rows {
            assert!(row.restart_s <= base.restart_s + 1e-9, "{}", row.technique);
            assert!(row.ettr <= all.ettr + 1e-9, "{}", row.technique);
            // The Monte Carlo (planned interruptions included) and the renewal formula.
            assert!(
                (row.ettr - row.ettr_expected).abs() < 0.02,
                "{}: {} vs {}",
                row.technique,
                row.ettr,
                row.ettr_expected
            );
        }
        assert!(all.ettr > base.ettr + 0.1 && all.days_p50 < base.days_p50);
    }

    /// Each technique's row says what it changes from the scenario's own settings, and a
    /// swap onto a spare server changes nothing where the job has none.
    #[test]
    fn recovery_rows_say_their_change_from_the_scenarios_settings() {
        let mut sc = scenario_preset("memphis-405b").unwrap().validate().unwrap();
        sc.reliability.detect_min = 5.0;
        sc.reliability.trials = 20;
        let r = reliability(&sc, &ReliabilityOptions::default()).unwrap();
        let row = |name: &str| r.recovery.iter().find(|x| x.technique == name).unwrap();
        assert!(row("fast detection")
            .what
            .ends_with("(detect 5 -> 0.5 min)"));
        // A smaller job, with 7 spare GPUs: no whole server.
        let mut sc = scenario_preset("dgx-h100-llama3-70b")
            .unwrap()
            .validate()
            .unwrap();
        sc.reliability.trials = 20;
        sc.reliability.detect_min = 0.25;
        sc.reliability.spare_gpus = Some(7);
        let r = reliability(&sc, &ReliabilityOptions::default()).unwrap();
        let row = |name: &str| r.recovery.iter().find(|x| x.technique == name).unwrap();
        assert!(row("fast detection").what.contains("(no change"));
        let swap = row("hot-spare swap");
        assert!(swap.what.contains("the job has none"), "{}", swap.what);
        assert_eq!(swap.days_p50, r.recovery[0].days_p50);
    }

    /// Each table's row of the scenario's own setting is the headline's run, so the
    /// tables and the headline never disagree about the same run.
    #[test]
    fn every_table_holds_the_headline_run() {
        // A small job with no spares, whose Daly interval is a whole number of steps
        // only up to rounding.
        let small = r#"
            [cluster]
            gpu = "H100-SXM5-80GB"
            gpus = 256
            gpus_per_node = 8
            nic_gbps = 200
            fabric = "roce"
            [model]
            preset = "llama3-8b"
            [parallel]
            tp = 2
            pp = 4
            vpp = 2
            cp = 1
            micro_batch = 1
            [training]
            gpus = 256
            global_batch = 512
            seq_len = 4096
            tokens = 1e12
        "#;
        let small: crate::scenario::ScenarioFile = toml::from_str(small).unwrap();
        let small = crate::scenario::build(&crate::scenario::ScenarioLayers {
            file: Some(small),
            ..Default::default()
        })
        .unwrap();
        let presets = ["memphis-405b", "dgx-h100-llama3-70b", "dgx-a100-gpt3-175b"];
        let scenarios = presets
            .iter()
            .map(|p| (*p, scenario_preset(p).unwrap().validate().unwrap()))
            .chain([("small", small)]);
        for (preset, sc) in scenarios {
            let r = reliability(&sc, &ReliabilityOptions::default()).unwrap();
            let f = &r.failures;
            let own = r
                .intervals
                .iter()
                .find(|i| (i.checkpoint_interval_min - f.checkpoint_interval_min).abs() < 1e-9)
                .unwrap_or_else(|| panic!("{preset}: no row at {}", f.checkpoint_interval_min));
            assert_eq!((own.ettr, own.days_p50), (f.ettr, r.days_p50), "{preset}");
            let s = r.spares.iter().find(|s| s.spare_gpus == f.spare_gpus);
            let s = s.unwrap_or_else(|| panic!("{preset}: no row of {} spares", f.spare_gpus));
            assert_eq!((s.ettr, s.days_p50), (f.ettr, r.days_p50), "{preset}");
            assert_eq!(r.recovery[0].ettr, f.ettr, "{preset}");
        }
    }
}
