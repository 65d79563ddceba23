//! `memphis reliability`: job MTBF, checkpoint interval, ETTR and spares, explored.

use crate::cli::ReliabilityArgs;
use crate::errors::CliResult;
use crate::sinks::format::{
    analytic_ettr, count, days, days_spread, duration, few, given_days, hundredths, pct, tenths,
};
use crate::{input, sinks};
use memphis_core::api::{self, ReliabilityOptions, ReliabilityReport};
use std::fmt::Write;

pub fn run(a: ReliabilityArgs) -> CliResult {
    let r = report(&a)?;
    sinks::report_notes(&r.notes, a.json, a.output.as_deref());
    sinks::report(&r, a.json, a.output.as_deref(), render)
}

/// The report `reliability` shows, without writing it.
pub fn report(a: &ReliabilityArgs) -> CliResult<ReliabilityReport> {
    report_with(a, input::scenario_layers(&a.scenario)?)
}

/// [`report`] on layers built by the caller (see `simulate::simulated_with`).
pub fn report_with(
    a: &ReliabilityArgs,
    layers: memphis_core::scenario::ScenarioLayers,
) -> CliResult<ReliabilityReport> {
    let resolved = super::simulate::resolve(a.plan.as_deref(), &layers, a.allow_oom)?;
    // A plan that does not fit runs no job, so it has no failures to project.
    super::simulate::refuse_unless_fits(&resolved.scenario, a.allow_oom, &resolved.notes)?;
    sinks::status("running the failure Monte Carlo ...");
    let mut r = api::reliability(&resolved.scenario, &ReliabilityOptions { days: a.days })?;
    // The resolution's notes in the report too (a config.json's unmodelled fields, the
    // planner's choice), first but for the warning of a plan that does not fit.
    let at = usize::from(!r.fits).min(r.notes.len());
    r.notes.splice(at..at, resolved.notes);
    Ok(r)
}

fn render(r: &ReliabilityReport) -> String {
    let mut o = String::new();
    // A plan that does not fit (run with --allow-oom): the warning comes first of all.
    let oom = (!r.fits).then(|| r.notes.first()).flatten();
    if let Some(w) = oom {
        let _ = writeln!(o, "{w}");
    }
    let _ = writeln!(
        o,
        "reliability · {} GPUs of {} ({} spare) · step {}",
        count(r.gpus),
        r.gpu,
        count(r.failures.spare_gpus),
        duration(r.step_time_s)
    );
    sinks::note_lines(&mut o, &r.notes[usize::from(oom.is_some())..]);
    let f = &r.failures;
    let _ = writeln!(
        o,
        "  job MTBF        {} (unexpected interruptions)",
        duration(f.job_mtbf_hours * 3600.0)
    );
    let _ = writeln!(
        o,
        "  over the run    {} unexpected and {} planned interruptions (failures while the job is up, planned stops while it trains)",
        few(f.interruptions),
        few(f.planned_interruptions)
    );
    if let (Some(d), Some(u), Some(p)) =
        (r.days, r.interruptions_unexpected, r.interruptions_planned)
    {
        let span = format!(
            "in {} day{}",
            given_days(d),
            if d == 1.0 { "" } else { "s" }
        );
        let _ = writeln!(
            o,
            "  {span:<15} {} unexpected and {} planned interruptions (calendar days at the job's rates)",
            few(u),
            few(p)
        );
    }
    let _ = writeln!(
        o,
        "  checkpoint      {}, written in {} at {} TB/s; stall {} ({}); restart {}\n  interval        {} ({})",
        crate::sinks::format::size_tb(r.failures.checkpoint_size_tb),
        duration(r.failures.checkpoint_write_s),
        // Three figures: slow storage (0.002 TB/s) does not read 0.00.
        crate::sinks::format::sig3(r.failures.storage_write_tbps),
        duration(r.failures.checkpoint_stall_s),
        if r.failures.async_checkpoint {
            "async"
        } else {
            "sync"
        },
        duration(r.failures.restart_min * 60.0),
        duration(r.failures.checkpoint_interval_min * 60.0),
        r.failures.checkpoint_interval_why
    );
    let _ = writeln!(
        o,
        "  ETTR            {} ({})",
        pct(r.failures.ettr),
        analytic_ettr(&r.failures)
    );
    let work_days = r.ideal_days;
    let _ = writeln!(
        o,
        "  time to train   {} for {} of work",
        days_spread(r.days_p10, r.days_p50, r.days_p90, &r.failures),
        days(work_days)
    );
    let _ = writeln!(o, "\n  causes (per day)");
    for c in &r.causes {
        let _ = writeln!(
            o,
            "    {:<24} {:>7}  {:>6}",
            c.cause,
            // Three figures: a small job's rates are hundredths of one a day.
            memphis_core::text::sig3(c.per_day),
            pct(c.share)
        );
    }
    let _ = writeln!(
        o,
        "\n  checkpoint interval      ETTR   days p50   storage writing"
    );
    for row in &r.intervals {
        let _ = writeln!(
            o,
            "    {:>12}  {:>10}  {:>9}   {:>7}{}",
            duration(row.checkpoint_interval_min * 60.0),
            pct(row.ettr),
            hundredths(row.days_p50),
            pct(row.storage_share),
            // Past the share the scenario allows checkpoints: the site's other writers wait.
            if row.over_storage_share {
                " (over its share)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        o,
        "\n  spare GPUs    ETTR   days p50 (mean)   waiting for repair (mean)"
    );
    for row in &r.spares {
        let _ = writeln!(
            o,
            "    {:>8}  {:>6}  {:>9} ({:>5})   {} h",
            count(row.spare_gpus),
            pct(row.ettr),
            hundredths(row.days_p50),
            hundredths(row.days_mean),
            tenths(row.spare_wait_hours)
        );
    }
    let _ = writeln!(
        o,
        "\n  recovery                    restart     ETTR (analytic)   days p50 (mean)"
    );
    for row in &r.recovery {
        let _ = writeln!(
            o,
            "    {:<24} {:>9}  {:>6} ({:>6})  {:>9} ({:>5})",
            row.technique,
            duration(row.restart_s),
            pct(row.ettr),
            pct(row.ettr_expected),
            hundredths(row.days_p50),
            hundredths(row.days_mean)
        );
    }
    for row in r.recovery.iter().skip(1) {
        let _ = writeln!(o, "    {}: {}", row.technique, row.what);
    }
    o
}
