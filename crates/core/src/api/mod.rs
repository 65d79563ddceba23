//! One entry point per question. The CLI, the HTML report and a Python package render
//! these reports; their serde output is the JSON, so a field added to a report appears
//! everywhere. This is the top layer of the core: it may use every other module, and no
//! other module uses it.

pub mod cluster;
pub mod collective;
pub mod fabric_bench;
pub mod jobs;
pub mod model;
pub mod power;
pub mod reliability;
pub mod simulate;

pub use power::{power, GridReport, Mitigation, PowerOptions};
pub use reliability::{reliability, ReliabilityOptions, ReliabilityReport};
pub use simulate::{resolve, simulate, Resolved, SimulateOptions, SimulationReport};

/// One suite's report in `memphis validate`'s JSON over several suites: the suite, its
/// file, then the same keys as one file's report (`cases`, `summary`).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SuiteReport {
    /// The suite's name.
    pub suite: String,
    /// Its file in the repository.
    pub file: String,
    /// Its cases and summary.
    #[serde(flatten)]
    pub report: crate::validate::Report,
}

/// `memphis validate --json` over several suites: `{"suites": [...]}`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SuitesReport {
    /// Each suite, in the order of `validate::SUITES`.
    pub suites: Vec<SuiteReport>,
}

/// What `memphis validate --json` prints: one file's (or suite's) report, or several
/// suites'. Only its schema is used.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ValidateJson {
    One(crate::validate::Report),
    Suites(SuitesReport),
}

/// Below this ETTR a run is refused: failures undo nearly all the work.
pub const MIN_ETTR: f64 = 0.01;

/// Below this ETTR a run gets a warning in its notes.
pub const WARN_ETTR: f64 = 0.5;

/// Whether the job makes progress against its failures: an error when it barely does, a
/// warning when failures take more than half the run, else nothing; and how the spares
/// count, where they are not whole hosts.
pub(crate) fn progress_notes(
    sc: &crate::scenario::Scenario,
    rel: &crate::reliability::RunProjection,
    step_s: f64,
) -> crate::Result<Vec<String>> {
    let mtbf_min = rel.job_mtbf_hours * 60.0;
    // The interval as given (the run rounds it to whole steps: 7200 min may run as
    // 7199.98); an error echoes what the user wrote.
    let given_interval = sc
        .reliability
        .checkpoint_interval_min
        .map_or(rel.checkpoint_interval_min, |m| m);
    if rel.interval_rule == crate::reliability::IntervalRule::Set
        && rel.checkpoint_interval_min < rel.min_interval_min * (1.0 - 1e-9)
    {
        return Err(crate::Error::invalid(
            "reliability.checkpoint_interval_min",
            given_interval,
            // Rounded up, so that the figure printed is one the check accepts.
            format!(
                "at least {:.2} min: one checkpoint must land (on storage, or in a peer's memory with in-memory checkpoints) before the next starts, in whole steps",
                (rel.min_interval_min * 100.0).ceil() / 100.0
            ),
        ));
    }
    let whole_hosts = spares_in_hosts(sc);
    let cause = Cause::of(sc, rel);
    // A mean ETTR that rare long waits make (a short run that meets a failure once in a
    // while, with no spare: a repair of days) while 9 runs in 10 go as planned: said as
    // such, and not refused.
    let ideal_days = rel.days_mean * rel.ettr;
    let rare =
        rel.monte_carlo && rel.days_p90 < 1.5 * ideal_days && rel.days_mean > 2.0 * rel.days_p90;
    if rel.ettr < MIN_ETTR && !rare {
        let kept = format!("it keeps {:.3}% of its time (ETTR)", rel.ettr * 100.0);
        let cfg = &sc.reliability;
        return Err(match cause {
            Cause::Spares => crate::Error::invalid(
                "reliability.spare_gpus",
                // As given (7), not the whole servers it makes (0), which the text says.
                cfg.spare_gpus.unwrap_or(rel.spare_gpus),
                format!(
                    "enough hot spares to replace failed servers while they are repaired{}: the job waits {:.0} h for repairs and {kept}; more spares, up to the GPUs the cluster leaves free, fewer GPUs for the job, or a bigger cluster",
                    whole_hosts.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
                    rel.spare_wait_hours
                ),
            ),
            Cause::Interval => crate::Error::invalid(
                "reliability.checkpoint_interval_min",
                given_interval,
                format!(
                    "an interval well under the job's MTBF ({mtbf_min:.1} min): {kept}; Daly's optimum for its stall is {}: leave it unset for that",
                    minutes(
                        crate::reliability::daly_interval(
                            (rel.checkpoint.stall_s / 3600.0).max(1e-9),
                            rel.job_mtbf_hours
                        ) * 60.0
                    )
                ),
            ),
            Cause::Stall => crate::Error::invalid(
                "reliability.checkpoint_interval_min",
                given_interval,
                format!(
                    "an interval well over each synchronous checkpoint's stall ({}): {kept}; leave it unset for the best one, or set async_checkpoint",
                    minutes(rel.checkpoint.stall_s / 60.0)
                ),
            ),
            Cause::Write => crate::Error::invalid(
                "reliability.storage_write_tbps",
                cfg.storage_write_tbps,
                format!(
                    "storage that writes a checkpoint ({:.2} TB) well within the job's MTBF ({mtbf_min:.1} min): it takes {}, so the work between checkpoints is lost at each failure and {kept}",
                    rel.checkpoint.size_bytes / 1e12,
                    minutes(rel.checkpoint.write_s / 60.0)
                ),
            ),
            Cause::Restart(field, value) => crate::Error::invalid(
                field,
                value,
                format!(
                    "a restart well within the job's MTBF ({mtbf_min:.1} min): each takes {}, and {kept}",
                    minutes(rel.checkpoint.restart_s / 60.0)
                ),
            ),
            Cause::Step => crate::Error::invalid(
                "step time",
                format!("{:.1} min per step", step_s / 60.0),
                format!("a step the job can finish between failures: with a job MTBF of {mtbf_min:.1} min and a checkpoint at most every step, {kept}; use a smaller global batch or sequence length, more GPUs or fewer stragglers"),
            ),
        });
    }
    let mut notes = Vec::new();
    if rel.interval_rule == crate::reliability::IntervalRule::Set
        && rel.checkpoint_interval_min >= ideal_days * 24.0 * 60.0
    {
        notes.push(format!(
            "reliability.checkpoint_interval_min = {given_interval}: longer than the run's {} of work, so no checkpoint is taken and each failure restarts the run from its start",
            minutes(ideal_days * 24.0 * 60.0)
        ));
    }
    notes.extend(undersampled(sc, rel, ideal_days));
    notes.extend(repair_outlasts_run(sc, rel, ideal_days));
    if sc.cluster.gpu.generation != crate::hardware::Generation::Hopper {
        // The calibration is one H100 run's: nothing published counts another GPU's.
        notes.push(format!(
            "failure rates are Llama 3's, counted on H100s: the {} is given the same rate per GPU, NIC and server ⚠ (no published count for it)",
            sc.cluster.gpu.name
        ));
    }
    if !rel.monte_carlo {
        notes.push(format!(
            "the run would see more than {} interruptions per Monte Carlo trial: its days are the analytic expectation, without a p10-p90 spread",
            crate::text::grouped(crate::reliability::MC_MAX_EVENTS as u64)
        ));
    }
    let years = rel.days_p50 / 365.25;
    if years > 10.0 {
        notes.push(format!(
            "warning: the run takes {} years ({}); check the token budget and the job size",
            crate::text::grouped(years.round() as u64),
            if rel.monte_carlo {
                "p50"
            } else {
                "the analytic expectation"
            }
        ));
    }
    if rel.ettr < WARN_ETTR {
        let lost = if rare {
            format!(
                "warning: rare failures take {:.0}% of the mean run (ETTR {:.1}%): 9 runs in 10 meet none that stops them, and the few that do wait long",
                (1.0 - rel.ettr) * 100.0,
                rel.ettr * 100.0
            )
        } else {
            format!(
                "warning: failures take {:.0}% of the run (ETTR {:.1}%)",
                (1.0 - rel.ettr) * 100.0,
                rel.ettr * 100.0
            )
        };
        notes.push(match cause {
            Cause::Spares if rare => format!(
                "warning: rare failures take {:.0}% of the mean run (ETTR {:.1}%): 9 runs in 10 meet none that stops them, but with {} spare GPUs standing by, one that does waits for the failed server's repair ({} h: reliability.repair_hours, an estimate); more spares (up to the GPUs the cluster leaves free: reliability.spare_gpus) make that wait rarer still",
                (1.0 - rel.ettr) * 100.0,
                rel.ettr * 100.0,
                rel.spare_gpus,
                sc.reliability.repair_hours
            ),
            Cause::Spares => {
                // With none, every repair stops the job; with a few, those past them do.
                let stops = if rel.spare_gpus == 0 {
                    "with 0 spare GPUs standing by, each failed server's repair (reliability.repair_hours, an estimate) stops the job".to_string()
                } else {
                    format!("with {} spare GPUs standing by, failures outrun them, and each failed server's repair past them (reliability.repair_hours, an estimate) stops the job", rel.spare_gpus)
                };
                format!("{lost}, mostly {:.0} h waiting for repairs: {stops}, and no recovery technique that swaps servers helps (more spares, up to the GPUs the cluster leaves free: reliability.spare_gpus; fewer GPUs for the job, a bigger cluster, or repair_hours of your own)", rel.spare_wait_hours)
            }
            Cause::Interval => format!("{lost}: a checkpoint every {:.1} min against a job MTBF of {mtbf_min:.1} min (leave the interval unset for the best one)", rel.checkpoint_interval_min),
            Cause::Stall => format!("{lost}: each synchronous checkpoint stalls training {} (reliability.storage_write_tbps) every {} of training (reliability.checkpoint_interval_min; leave it unset for the best one, or set async_checkpoint)", minutes(rel.checkpoint.stall_s / 60.0), minutes(rel.checkpoint_interval_min)),
            Cause::Write => format!("{lost}: a checkpoint takes {} to write (reliability.storage_write_tbps) against a job MTBF of {mtbf_min:.1} min", minutes(rel.checkpoint.write_s / 60.0)),
            Cause::Restart(field, _) => format!("{lost}: a restart takes {} ({field}) against a job MTBF of {mtbf_min:.1} min", minutes(rel.checkpoint.restart_s / 60.0)),
            Cause::Step => format!("{lost}: a step of {:.1} min against a job MTBF of {mtbf_min:.1} min", step_s / 60.0),
        });
    }
    Ok(notes)
}

/// A note where the analytic ETTR, a long run's steady state in which repairs come back,
/// reads far below the Monte Carlo's because one repair outlasts the run's training: its
/// spares start full and the job waits only once failures outnumber them, which the
/// trials draw and the steady state (its servers in repair as many as fail in a repair
/// time) does not. Against the hours of training, not the wall time, which the waits
/// themselves lengthen.
fn repair_outlasts_run(
    sc: &crate::scenario::Scenario,
    rel: &crate::reliability::RunProjection,
    ideal_days: f64,
) -> Option<String> {
    let repair_h = sc.reliability.repair_hours;
    (rel.monte_carlo && rel.ettr > rel.ettr_expected + 0.1 && repair_h > ideal_days * 24.0)
        .then(|| {
            format!(
                "the analytic ETTR ({:.1}%) is a long run's steady state, in which failed servers come back from repair as fast as others fail; a repair of {repair_h} h (reliability.repair_hours) outlasts this run's {} of training, so its spares start full and the job waits only once its failures outnumber them: the Monte Carlo's {:.1}% is this run's figure",
                rel.ettr_expected * 100.0,
                minutes(ideal_days * 24.0 * 60.0),
                rel.ettr * 100.0
            )
        })
}

/// A warning where the Monte Carlo's trials expect few failures among them all (a run
/// far shorter than the job's MTBF), and the analytic ETTR says more is lost than they
/// show: a rare cost (a repair wait of days) drawn in none of them reads as none.
fn undersampled(
    sc: &crate::scenario::Scenario,
    rel: &crate::reliability::RunProjection,
    ideal_days: f64,
) -> Option<String> {
    let trials = sc.reliability.trials;
    let per_run = ideal_days * 24.0 / rel.job_mtbf_hours.max(1e-12);
    let sampled = per_run * f64::from(trials);
    (rel.monte_carlo && sampled < 10.0 && rel.ettr > rel.ettr_expected + 0.01).then(|| {
        format!(
            "warning: the ETTR of {:.1}% may leave out rare costs: a run this short expects {per_run:.2e} failures, so the {trials} Monte Carlo trials expect {sampled:.2} among them all, and a repair wait of days drawn in none reads as none; a long run keeps {:.1}% (analytic); more trials (reliability.trials, up to 100000) sample more",
            rel.ettr * 100.0,
            rel.ettr_expected * 100.0
        )
    })
}

/// How `spare_gpus` count where they are not whole hosts ("whole servers of 8 GPUs: 15
/// spare GPUs are 1 server"): a failure takes out a whole host (the server, or a rack's
/// compute tray), so only whole hosts can replace it.
fn spares_in_hosts(sc: &crate::scenario::Scenario) -> Option<String> {
    // The spares given (or left free), of which the run draws on whole hosts.
    let spare_gpus = sc.reliability.spare_gpus.unwrap_or(sc.spare_gpus());
    let per_host = u64::from(sc.cluster.gpus_per_host.max(1));
    if spare_gpus.is_multiple_of(per_host) {
        return None;
    }
    let hosts = spare_gpus / per_host;
    let unit = if sc.cluster.gpus_per_host == sc.cluster.gpus_per_node {
        "server"
    } else {
        "host"
    };
    let plural = if hosts == 1 { "" } else { "s" };
    let spares = crate::text::grouped(spare_gpus);
    Some(match hosts {
        0 => format!(
            "whole {unit}s of {per_host} GPUs: {spares} spare GPUs are no whole {unit}, so none stands by"
        ),
        _ => format!(
            "whole {unit}s of {per_host} GPUs: {spares} spare GPUs are {} {unit}{plural}",
            crate::text::grouped(hosts)
        ),
    })
}

/// Where the spares are no whole number of hosts, how many the run draws on: a note of
/// every command that runs the job (`simulate`, `plan`, `reliability`, `power`).
pub(crate) fn spares_note(sc: &crate::scenario::Scenario) -> Option<String> {
    spares_in_hosts(sc).map(|h| format!("spares count in {h}"))
}

/// Minutes, or hours, or days past them, as a person says a duration.
fn minutes(min: f64) -> String {
    if min < 120.0 {
        format!("{min:.1} min")
    } else if min < 48.0 * 60.0 {
        format!("{:.1} h", min / 60.0)
    } else if min < 1e6 * 1440.0 {
        format!("{:.0} days", min / 1440.0)
    } else {
        format!("{:.1e} days", min / 1440.0)
    }
}

/// What `simulate` would warn of the best plan's run (failures taking most of it, a run
/// of years), said by `plan` too: a ranking by step time or days says nothing of that.
/// A run that barely progresses, which `simulate` refuses, is a warning here: the
/// ranking stands, and the warning says what to change. Then a layer split Megatron-Core
/// runs only when given the counts, as `simulate` notes it.
pub fn best_plan_notes(
    sc: &crate::scenario::Scenario,
    best: &crate::plan::PlanResult,
) -> Vec<String> {
    let s = best.apply(sc);
    let work_hours = s.run.work_hours(best.step_time_s);
    let rel = crate::run::reliability_of(&s, best.step_time_s, work_hours, &s.reliability);
    let mut notes = match progress_notes(&s, &rel, best.step_time_s) {
        Ok(notes) => notes,
        Err(e) => vec![format!("warning: simulate refuses the best plan: {e}")],
    };
    notes.extend(simulate::memory_warning(&s, &simulate::memory(&s)));
    let mut notes: Vec<String> = notes
        .into_iter()
        .filter(|n| n.starts_with("warning:"))
        .map(|n| n.replacen("warning: ", "warning: the best plan: ", 1))
        .collect();
    // A layer split Megatron-Core refuses unless given the counts: said of the plan a
    // table would have the user copy, as `simulate` says it of the plan run.
    notes.extend(simulate::uneven_split_note(&s).map(|n| format!("the best plan: {n}")));
    notes
}

/// What costs a run the most when failures dominate it.
enum Cause {
    /// Waiting for repairs: too few spares.
    Spares,
    /// An interval the user set past the MTBF.
    Interval,
    /// Checkpoints as far apart as their write takes, past the MTBF (slow storage).
    Write,
    /// A set interval shorter than the synchronous stall of each checkpoint.
    Stall,
    /// Restarts that take a good part of the MTBF: the field behind the longest part.
    Restart(&'static str, f64),
    /// Else the step itself.
    Step,
}

impl Cause {
    fn of(sc: &crate::scenario::Scenario, rel: &crate::reliability::RunProjection) -> Cause {
        use crate::reliability::IntervalRule;
        let mtbf_min = rel.job_mtbf_hours * 60.0;
        let wall_hours = rel.days_p50 * 24.0;
        let cfg = &sc.reliability;
        if rel.spare_wait_hours > 0.5 * (1.0 - rel.ettr) * wall_hours {
            return Cause::Spares;
        }
        if rel.interval_rule == IntervalRule::Set && rel.checkpoint_interval_min > 0.5 * mtbf_min {
            return Cause::Interval;
        }
        // A synchronous stall longer than the training between two: the run mostly waits.
        if rel.interval_rule == IntervalRule::Set
            && !cfg.async_checkpoint
            && rel.checkpoint.stall_s > rel.checkpoint_interval_min * 60.0
        {
            return Cause::Stall;
        }
        if matches!(
            rel.interval_rule,
            IntervalRule::Storage | IntervalRule::WriteTime
        ) && !cfg.restore_from_memory
            && rel.checkpoint.write_s / 60.0 > 0.5 * mtbf_min
        {
            return Cause::Write;
        }
        let ck = &rel.checkpoint;
        if ck.restart_s / 60.0 > 0.5 * mtbf_min {
            // The longest part of a restart: the reload from storage, or a wait the
            // user may have set.
            let reload_min =
                (ck.restart_s / 60.0) - (cfg.detect_min + cfg.reschedule_min + cfg.warmup_min);
            let parts = [
                ("reliability.detect_min", cfg.detect_min),
                ("reliability.reschedule_min", cfg.reschedule_min),
                ("reliability.warmup_min", cfg.warmup_min),
            ];
            let (field, longest) = parts
                .into_iter()
                .fold(parts[0], |a, b| if b.1 > a.1 { b } else { a });
            return if reload_min > longest && !cfg.restore_from_memory {
                Cause::Restart("reliability.storage_read_tbps", cfg.storage_read_tbps)
            } else {
                Cause::Restart(field, longest)
            };
        }
        Cause::Step
    }
}

/// The reports, by the command that prints them, for `memphis schema`.
pub const REPORTS: &[&str] = &[
    "simulate",
    "plan",
    "reliability",
    "cluster",
    "fabric-bench",
    "collective",
    "validate",
    "model",
    "power",
    "jobs",
    "place",
];

/// The JSON Schema of a command's `--json` report (draft 2020-12), generated from the
/// report types themselves.
pub fn schema(report: &str) -> crate::Result<serde_json::Value> {
    use schemars::schema_for;
    let s = match report {
        "simulate" => schema_for!(SimulationReport),
        "plan" => schema_for!(crate::plan::SearchResult),
        "reliability" => schema_for!(ReliabilityReport),
        "cluster" => schema_for!(cluster::ClusterReport),
        "fabric-bench" => schema_for!(fabric_bench::FabricBenchReport),
        "collective" => schema_for!(collective::CollectiveReport),
        "validate" => schema_for!(ValidateJson),
        "model" => schema_for!(model::ModelReport),
        "power" => schema_for!(power::GridReport),
        "jobs" => schema_for!(jobs::JobsReport),
        "place" => schema_for!(jobs::PlaceReport),
        other => {
            return Err(crate::Error::invalid(
                "report",
                other,
                format!("one of {}", REPORTS.join(", ")),
            ))
        }
    };
    serde_json::to_value(s).map_err(|e| crate::Error::parse("schema", e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_report_has_a_schema_that_names_its_top_level_keys() {
        for r in super::REPORTS {
            let s = super::schema(r).unwrap();
            assert!(
                s.get("properties").is_some()
                    || s.get("items").is_some()
                    || s.get("anyOf").is_some(),
                "{r}: {s}"
            );
        }
        let s = super::schema("simulate").unwrap();
        for k in [
            "step", "memory", "run", "power", "energy", "carbon", "water",
        ] {
            assert!(
                s["properties"].get(k).is_some(),
                "simulate schema lacks {k}"
            );
        }
        assert!(super::schema("nope").is_err());
    }
}
