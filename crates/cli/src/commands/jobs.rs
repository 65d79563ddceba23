//! `memphis jobs` and `memphis place`: several jobs on one fabric, rendered from the
//! core's reports (text, JSON, HTML).

use super::cluster::serde_name;
use crate::cli::{JobsArgs, PlaceArgs};
use crate::errors::CliResult;
use crate::sinks::format::{count, duration, pct, power_mw};
use crate::{input, sinks};
use memphis_core::api::jobs::{self as api, JobsReport, Mix, PlaceReport};
use memphis_core::fabric::Fabric;
use std::fmt::Write;

/// Reads the jobs file, applies the flags, resolves every job.
fn mix(a: &JobsArgs) -> CliResult<Mix> {
    let shown = a.file.display().to_string();
    let text = input::read_config(&a.file, "jobs file")?;
    let mut file = match memphis_core::jobs::parse_jobs(&shown, &text) {
        Ok(f) => f,
        Err(e) => {
            return Err(
                input::wrong_kind_of_file(&shown, &text, input::FileKind::Jobs).unwrap_or(e.into()),
            )
        }
    };
    input::jobs_section_files(&mut file, &shown)?;
    if a.routing.is_some() {
        file.routing = a.routing;
    }
    if a.overlap.is_some() {
        file.overlap = a.overlap;
    }
    let n = file.jobs.len();
    sinks::status(&format!(
        "resolving {n} job{} ...",
        if n == 1 { "" } else { "s" }
    ));
    Ok(api::resolve_mix(&file)?)
}

pub fn run(a: JobsArgs) -> CliResult {
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("-o", a.output.as_deref())?;
    let html_out = outs.file("--html", a.html.as_deref())?;
    let r = report(&a)?;
    sinks::report_notes(&r.notes, a.json, a.output.as_deref());
    if let Some(slot) = html_out {
        outs.put(slot, sinks::jobs_html::jobs_report(&r))?;
    }
    let text = sinks::report_text(&r, a.json, render_jobs)?;
    outs.put(report_out, text)?;
    outs.commit()
}

pub fn run_place(a: PlaceArgs) -> CliResult {
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("-o", a.jobs.output.as_deref())?;
    let html_out = outs.file("--html", a.jobs.html.as_deref())?;
    let r = place_report(&a)?;
    sinks::report_notes(&r.notes, a.jobs.json, a.jobs.output.as_deref());
    if let Some(slot) = html_out {
        outs.put(slot, sinks::jobs_html::place_report(&r))?;
    }
    let text = sinks::report_text(&r, a.jobs.json, render_place)?;
    outs.put(report_out, text)?;
    outs.commit()
}

/// Each job alone and with the others.
pub fn report(a: &JobsArgs) -> CliResult<JobsReport> {
    let m = mix(a)?;
    sinks::status("building the fabric and solving the jobs together ...");
    let fabric = Fabric::build(&m.cluster.fabric_spec);
    Ok(api::jobs(&m, &fabric)?)
}

/// Each placement policy's outcome.
pub fn place_report(a: &PlaceArgs) -> CliResult<PlaceReport> {
    let m = mix(&a.jobs)?;
    sinks::status("building the fabric and solving each placement policy ...");
    let fabric = Fabric::build(&m.cluster.fabric_spec);
    Ok(api::place(&m, &fabric, a.target_slowdown)?)
}

/// A job's servers, lowest to highest: "0-127"; one, "3"; scattered, "12 in 3-509".
fn server_span([lo, hi]: [u32; 2], servers: u64) -> String {
    match u64::from(hi - lo) + 1 {
        1 => lo.to_string(),
        n if n == servers => format!("{lo}-{hi}"),
        _ => format!("{servers} in {lo}-{hi}"),
    }
}

/// The per-job table, each text column as wide as its widest cell.
fn job_table(o: &mut String, r: &JobsReport) {
    let spans: Vec<String> = r
        .jobs
        .iter()
        // Where it runs: under ECMP a job's rates hang on which servers it holds.
        .map(|j| server_span(j.server_range, j.servers))
        .collect();
    let width =
        |least: usize, cells: &mut dyn Iterator<Item = usize>| cells.fold(least, usize::max);
    let wn = width(14, &mut r.jobs.iter().map(|j| j.name.chars().count()));
    let ws = width(14, &mut spans.iter().map(|s| s.chars().count()));
    let wp = width(22, &mut r.jobs.iter().map(|j| j.placement.chars().count()));
    let wl = width(26, &mut r.jobs.iter().map(|j| j.plan.chars().count()));
    let _ = writeln!(
        o,
        "  {:<wn$} {:>7} {:>7}  {:>ws$}  {:<wp$} {:<wl$} {:>9} {:>9} {:>8} {:>9}  fabric rate alone -> shared",
        "job", "GPUs", "arrays", "servers", "placement", "plan", "alone", "shared", "slowdown", "facility"
    );
    for (j, span) in r.jobs.iter().zip(&spans) {
        let kinds: Vec<String> = j
            .kinds
            .iter()
            .map(|k| format!("{} {:.2}->{:.2}", k.kind, k.alone, k.shared))
            .collect();
        let _ = writeln!(
            o,
            "  {:<wn$} {:>7} {:>7}  {:>ws$}  {:<wp$} {:<wl$} {:>9} {:>9} {:>8} {:>9}  {}",
            j.name,
            count(j.gpus),
            j.arrays,
            span,
            j.placement,
            j.plan,
            duration(j.step_alone_s),
            duration(j.step_s),
            pct(j.slowdown),
            power_mw(j.facility_mw),
            kinds.join(", ")
        );
    }
    let s = &r.site;
    let _ = writeln!(
        o,
        "\n  site  {} facility ({} IT): every job training, at its step with the others; {} of the {} GPUs in no job, at idle power",
        power_mw(s.facility_mw),
        power_mw(s.it_mw),
        count(s.idle_gpus),
        count(s.gpus)
    );
}

/// The binding links, at most `max`.
fn link_lines(o: &mut String, r: &JobsReport, max: usize) {
    if r.binding_links.is_empty() {
        o.push_str("\nno shared link binds any job's slowest flow\n");
        return;
    }
    let _ = writeln!(
        o,
        "\nshared links that bind ({} in all{})",
        r.binding_links.len(),
        if r.binding_links.len() > max {
            format!(", first {max}")
        } else {
            String::new()
        }
    );
    let shown = || r.binding_links.iter().take(max);
    let wr = shown().map(|l| l.round.chars().count()).fold(4, usize::max);
    for l in shown() {
        let _ = writeln!(
            o,
            "  {:<wr$} {:<10} {:<26} binds {}; shared by {}",
            l.round,
            l.tier,
            l.link,
            l.binds.join(", "),
            l.jobs.join(", ")
        );
    }
}

fn render_jobs(r: &JobsReport) -> String {
    let mut o = format!(
        "{} on {} · {} routing, phases {}\n\n",
        r.name,
        r.cluster,
        serde_name(&r.routing),
        serde_name(&r.overlap)
    );
    job_table(&mut o, r);
    link_lines(&mut o, r, 12);
    // Every note, those on what a job inherits from its preset included (its batch may
    // explain its step).
    for n in &r.notes {
        let _ = writeln!(o, "{}", crate::sinks::labelled_note(n));
    }
    o
}

fn render_place(r: &PlaceReport) -> String {
    let mut o = format!(
        "{} on {} · {} routing, phases {} · target: '{}' within {}\n\n",
        r.name,
        r.cluster,
        serde_name(&r.routing),
        serde_name(&r.overlap),
        r.frontier,
        pct(r.target_slowdown)
    );
    let _ = writeln!(
        o,
        "slowdown: each job's step with the others over its fastest alone under any policy ('{}' {} alone, {})\n",
        r.frontier,
        duration(r.frontier_best_alone_s),
        r.frontier_best_alone_policy
    );
    // The target job's columns bear its name (cut to the column), not a role word.
    let first: String = r.frontier.chars().take(10).collect();
    let _ = writeln!(
        o,
        "  {:<22} {:>10} {:>10} {:>10}  {:<14} {:>6}",
        "policy", "its step", first, "worst", "worst job", "target"
    );
    for p in &r.policies {
        match &p.error {
            Some(e) => {
                let _ = writeln!(o, "  {:<22} cannot place: {e}", p.policy);
            }
            None => {
                let _ = writeln!(
                    o,
                    "  {:<22} {:>10} {:>10} {:>10}  {:<14} {:>6}",
                    p.policy,
                    duration(p.frontier_step_s.unwrap_or(0.0)),
                    pct(p.frontier_slowdown.unwrap_or(0.0)),
                    pct(p.worst_slowdown.unwrap_or(0.0)),
                    p.worst_job.as_deref().unwrap_or("-"),
                    if p.meets_target { "yes" } else { "no" }
                );
            }
        }
    }
    let _ = writeln!(
        o,
        "\n{}",
        match &r.recommended {
            Some(p) => format!(
                "recommended: {p} (its jobs below, alone and shared on the servers it gives them: their slowdown is the contention alone)"
            ),
            None => format!(
                "no policy keeps '{}' within {}: fewer or smaller jobs beside it, adaptive routing, or a looser target",
                r.frontier,
                pct(r.target_slowdown)
            ),
        }
    );
    if let Some(rep) = r
        .recommended
        .as_ref()
        .and_then(|n| r.policies.iter().find(|p| &p.policy == n))
        .and_then(|p| p.report.as_ref())
    {
        o.push('\n');
        job_table(&mut o, rep);
        link_lines(&mut o, rep, 8);
    }
    for n in &r.notes {
        let _ = writeln!(o, "{}", crate::sinks::labelled_note(n));
    }
    o
}
