//! The HTML reports of `memphis jobs` and `memphis place`: the per-job table, each
//! job's slowdown, and the saturated links by round and tier, as inline SVG (ids
//! `chart-*`, `table-*`).

use super::format::{duration, pct, power_mw};
use super::html::{esc, head, COLORS};
use memphis_core::api::jobs::{JobsReport, PlaceReport};
use std::fmt::Write;

const W: f64 = 860.0;
const ROW: f64 = 22.0;

/// Horizontal bars on one scale: per row a label, a value, an optional part of it
/// drawn darker over it, and the text shown.
fn bars(id: &str, rows: &[(String, f64, Option<f64>, String)], colors: [&str; 2]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-12);
    let h = ROW * rows.len().max(1) as f64 + 8.0;
    let mut o = format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {W} {h}" width="100%" role="img"><title>{id}</title>"#
    );
    let x0 = 230.0;
    for (i, (label, v, part, text)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let w = |v: f64| (v / max * 420.0).max(0.0);
        let _ = write!(
            o,
            r#"<text x="4" y="{:.1}" font-size="13">{}</text><rect x="{x0}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            y + 14.0,
            esc(label),
            w(*v),
            ROW - 6.0,
            colors[0]
        );
        if let Some(p) = part {
            let _ = write!(
                o,
                r#"<rect x="{x0}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                w(*p),
                ROW - 6.0,
                colors[1]
            );
        }
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" font-size="13">{}</text>"#,
            x0 + 6.0 + w(*v),
            y + 14.0,
            esc(text)
        );
    }
    o.push_str("</svg>");
    o
}

/// The jobs table, slowdown bars, hot links by tier and the binding links.
fn body(o: &mut String, r: &JobsReport, tag: &str) {
    o.push_str(&format!(r#"<h2>Jobs</h2><table id="table-jobs{tag}"><tr><th>job</th><th>GPUs</th><th>arrays</th><th>placement</th><th>plan</th><th>step alone</th><th>step shared</th><th>slowdown</th><th>facility</th><th>fabric rate alone → shared</th></tr>"#));
    for j in &r.jobs {
        let kinds: Vec<String> = j
            .kinds
            .iter()
            .map(|k| format!("{} {:.2} → {:.2}", k.kind, k.alone, k.shared))
            .collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&j.name),
            j.gpus,
            j.arrays,
            esc(&j.placement),
            esc(&j.plan),
            duration(j.step_alone_s),
            duration(j.step_s),
            pct(j.slowdown),
            power_mw(j.facility_mw),
            esc(&kinds.join(", "))
        );
    }
    let _ = write!(
        o,
        r#"</table><p class="sub" id="site{tag}">Site: {} facility ({} IT), every job training at its step with the others; {} of the {} GPUs in no job, at idle power.</p>"#,
        power_mw(r.site.facility_mw),
        power_mw(r.site.it_mw),
        r.site.idle_gpus,
        r.site.gpus
    );
    o.push_str("<h2>Slowdown against running alone on the same servers</h2>");
    let rows: Vec<_> = r
        .jobs
        .iter()
        .map(|j| (j.name.clone(), j.slowdown, None, pct(j.slowdown)))
        .collect();
    o.push_str(&bars(
        &format!("chart-slowdown{tag}"),
        &rows,
        [COLORS[0], COLORS[0]],
    ));
    o.push_str("<h2>Hot links by tier</h2><p class=\"sub\">Per round and tier, the links (or adaptive pools) at capacity, the most in any phase of the round; the darker part, those several jobs share.</p>");
    let mut hot = Vec::new();
    for round in &r.rounds {
        for t in round.tiers.iter().filter(|t| t.tier != "gpu-leaf") {
            hot.push((
                format!("{} · {}", round.round, t.tier),
                t.saturated as f64,
                Some(t.shared as f64),
                format!("{} at capacity, {} shared", t.saturated, t.shared),
            ));
        }
    }
    o.push_str(&bars(
        &format!("chart-hot{tag}"),
        &hot,
        ["#f2c08a", "#d9480f"],
    ));
    let _ = write!(
        o,
        r#"<h2>Shared links that bind ({})</h2><table id="table-links{tag}"><tr><th>round</th><th>tier</th><th>link</th><th>binds</th><th>shared by</th></tr>"#,
        r.binding_links.len()
    );
    for l in r.binding_links.iter().take(200) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&l.round),
            esc(&l.tier),
            esc(&l.link),
            esc(&l.binds.join(", ")),
            esc(&l.jobs.join(", "))
        );
    }
    o.push_str("</table>");
}

fn foot(o: &mut String) {
    let _ = write!(
        o,
        r#"<p class="sub">Generated by memphis {}. Each kind's slowest-flow rate on the fabric, alone and with the other jobs, derates that kind's collectives in the job's step; see README (Several jobs on one fabric).</p></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
}

/// `memphis jobs --html`.
pub fn jobs_report(r: &JobsReport) -> String {
    let mut o = head(&format!("memphis jobs — {}", r.name));
    let _ = write!(
        o,
        r#"<div class="sub">{} · {} routing · phases {}</div>"#,
        esc(&r.cluster),
        serde(&r.routing),
        serde(&r.overlap)
    );
    body(&mut o, r, "");
    foot(&mut o);
    o
}

/// `memphis place --html`.
pub fn place_report(r: &PlaceReport) -> String {
    let mut o = head(&format!("memphis place — {}", r.name));
    let _ = write!(
        o,
        r#"<div class="sub">{} · {} routing · phases {} · target: '{}' within {} · recommended: {}</div>"#,
        esc(&r.cluster),
        serde(&r.routing),
        serde(&r.overlap),
        esc(&r.frontier),
        pct(r.target_slowdown),
        esc(r.recommended.as_deref().unwrap_or("none"))
    );
    o.push_str(r#"<h2>Policies</h2><table id="table-policies"><tr><th>policy</th><th>frontier's step</th><th>frontier slowdown</th><th>worst slowdown</th><th>worst job</th><th>within target</th></tr>"#);
    for p in &r.policies {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.policy),
            p.frontier_step_s.map_or("-".into(), duration),
            p.frontier_slowdown.map_or("-".into(), pct),
            p.worst_slowdown.map_or("-".into(), pct),
            esc(p.worst_job.as_deref().or(p.error.as_deref()).unwrap_or("-")),
            if p.meets_target { "yes" } else { "no" }
        );
    }
    o.push_str("</table>");
    for (i, p) in r.policies.iter().enumerate() {
        if let Some(rep) = &p.report {
            let _ = write!(o, "<h2>{}</h2>", esc(&p.policy));
            body(&mut o, rep, &format!("-{i}"));
        }
    }
    foot(&mut o);
    o
}

fn serde<T: serde::Serialize>(x: &T) -> String {
    crate::commands::cluster::serde_name(x)
}
