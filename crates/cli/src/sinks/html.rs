//! The self-contained HTML report: inline CSS and hand-written SVG, nothing loaded from
//! the network. Every chart has an id (`chart-*`) so tests can find it in the DOM.

use memphis_core::api::SimulationReport;
use memphis_core::step::timeline::{Stream, Timeline};
use std::fmt::Write;

use super::format::{
    contention_line, count, days, duration, energy_mwh, energy_per_token, few, pct, power_mw, si,
    spare_gpus, tenths,
};

/// Escapes text for HTML.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) const COLORS: [&str; 8] = [
    "#2f6fde", "#f2a541", "#8e5bd6", "#3fb6a8", "#e05d5d", "#7a8b99", "#5cb85c", "#c9a227",
];

fn stream_color(s: Stream) -> &'static str {
    match s {
        Stream::Compute => "#2f6fde",
        Stream::Tp => "#8e5bd6",
        Stream::Cp => "#3fb6a8",
        Stream::Ep => "#c9a227",
        Stream::Pp => "#f2a541",
        Stream::Dp => "#e05d5d",
    }
}

/// A horizontal stacked bar with a legend.
fn stacked_bar(
    id: &str,
    parts: &[(&str, f64)],
    unit: &dyn Fn(f64) -> String,
    cap: Option<(f64, &str)>,
) -> String {
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let scale_to = cap.map_or(total, |(c, _)| c.max(total)).max(1e-30);
    let (w, h) = (860.0, 34.0);
    let mut svg = format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {w} {}" width="100%" role="img"><title>{id}</title>"#,
        h + 22.0 * parts.len() as f64 + 24.0
    );
    let mut x = 0.0;
    for (i, (name, v)) in parts.iter().enumerate() {
        let bw = v / scale_to * w;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="0" width="{bw:.1}" height="{h}" fill="{}"><title>{} {}</title></rect>"#,
            COLORS[i % COLORS.len()],
            esc(name),
            unit(*v)
        );
        x += bw;
    }
    if let Some((c, label)) = cap {
        let cx = c / scale_to * w;
        let _ = write!(
            svg,
            r##"<line x1="{cx:.1}" x2="{cx:.1}" y1="-2" y2="{}" stroke="#111" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
            h + 4.0,
            cx - 3.0,
            h + 14.0,
            esc(label)
        );
    }
    for (i, (name, v)) in parts.iter().enumerate() {
        let y = h + 30.0 + 22.0 * i as f64;
        let share = if total > 0.0 { v / total } else { 0.0 };
        let _ = write!(
            svg,
            r#"<rect x="0" y="{:.1}" width="12" height="12" fill="{}"/><text x="18" y="{:.1}" font-size="13">{} — {} ({})</text>"#,
            y - 10.0,
            COLORS[i % COLORS.len()],
            y,
            esc(name),
            unit(*v),
            pct(share)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Gantt chart of one step: a row per stage and stream (compute, PP, DP), sampled.
fn gantt(tl: &Timeline, pp: u32) -> String {
    let stages = memphis_core::step::trace::sampled_stages(pp);
    let stages: Vec<u32> = if stages.len() > 16 {
        stages
            .iter()
            .step_by(stages.len().div_ceil(16))
            .copied()
            .collect()
    } else {
        stages
    };
    let streams = [Stream::Compute, Stream::Pp, Stream::Dp];
    let total = tl.time.0.max(1) as f64;
    let (left, w, row) = (70.0, 790.0, 9.0);
    let h = stages.len() as f64 * (streams.len() as f64 * row + 6.0) + 30.0;
    let mut svg = format!(
        r#"<svg id="chart-timeline" class="chart" viewBox="0 0 {} {h:.0}" width="100%" role="img"><title>pipeline timeline</title>"#,
        left + w
    );
    for (i, &s) in stages.iter().enumerate() {
        let y0 = i as f64 * (streams.len() as f64 * row + 6.0);
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.1}" font-size="11">stage {s}</text>"#,
            y0 + 2.0 * row
        );
        for sp in tl.spans.iter().filter(|sp| sp.stage == s) {
            let Some(k) = streams.iter().position(|st| *st == sp.stream) else {
                continue;
            };
            let x = left + sp.start.0 as f64 / total * w;
            let bw = (sp.dur.0 as f64 / total * w).max(0.3);
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/>"#,
                y0 + k as f64 * row,
                row - 1.5,
                stream_color(sp.stream)
            );
        }
    }
    let y = h - 14.0;
    for (k, st) in streams.iter().enumerate() {
        let name = match st {
            Stream::Compute => "compute (forward and backward)",
            Stream::Pp => "pipeline sends",
            _ => "data-parallel reduce / gather",
        };
        let x = left + k as f64 * 230.0;
        let _ = write!(
            svg,
            r#"<rect x="{x:.0}" y="{:.0}" width="12" height="10" fill="{}"/><text x="{:.0}" y="{:.0}" font-size="12">{name}</text>"#,
            y - 9.0,
            stream_color(*st),
            x + 16.0,
            y
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.0}" y="{:.0}" font-size="12" text-anchor="end">{}</text></svg>"#,
        left + w,
        y,
        duration(tl.time.as_seconds().0)
    );
    svg
}

/// Facility power over one step from the timeline, as a line.
fn power_line(r: &SimulationReport, points: &[(f64, f64)]) -> String {
    let (w, h) = (860.0, 170.0);
    let t_end = points.last().map_or(1.0, |p| p.0).max(1e-9);
    let hi = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
    let lo = points
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(hi);
    let base = (lo * 0.8).max(0.0);
    let y = |mw: f64| h - (mw - base) / (hi - base).max(1e-9) * (h - 10.0);
    let mut path = String::new();
    for (i, (t, mw)) in points.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { " L" },
            t / t_end * w,
            y(*mw)
        );
    }
    format!(
        r##"<svg id="chart-power" class="chart" viewBox="0 0 {w} {}" width="100%" role="img"><title>power over one step</title><path d="{path}" fill="none" stroke="#e05d5d" stroke-width="2"/><text x="4" y="12" font-size="11">{}</text><text x="4" y="{:.0}" font-size="11">{}</text><text x="0" y="{:.0}" font-size="12">the job's facility power over one step ({}): average {} ({} IT), swing {}; site {}</text></svg>"##,
        h + 40.0,
        power_mw(hi),
        h - 2.0,
        power_mw(lo),
        h + 26.0,
        duration(r.step.time_s),
        power_mw(r.power.report.facility_mw),
        power_mw(r.power.report.it_mw),
        power_mw(r.power.report.swing_mw),
        power_mw(r.power.report.site.facility_mw)
    )
}

/// Facility power over one step, phase by phase.
fn power_chart(r: &SimulationReport) -> String {
    let prof = &r.power.report.profile;
    let total: f64 = prof.iter().map(|p| p.seconds).sum::<f64>().max(1e-12);
    let peak = prof.iter().map(|p| p.facility_mw).fold(1e-9, f64::max);
    let (w, h) = (860.0, 160.0);
    let mut svg = format!(
        r#"<svg id="chart-power" class="chart" viewBox="0 0 {w} {}" width="100%" role="img"><title>power over one step</title>"#,
        h + 40.0
    );
    let mut x = 0.0;
    for (i, p) in prof.iter().enumerate() {
        let bw = p.seconds / total * w;
        let bh = p.facility_mw / peak * h;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{bh:.1}" fill="{}"><title>{}: {} for {}</title></rect>"#,
            h - bh,
            COLORS[i % COLORS.len()],
            p.phase,
            power_mw(p.facility_mw),
            duration(p.seconds)
        );
        if bw > 60.0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#fff">{} {}</text>"##,
                x + 4.0,
                h - bh + 16.0,
                p.phase,
                power_mw(p.facility_mw)
            );
        }
        x += bw;
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="{:.0}" font-size="12">the job: average {} facility ({} IT), swing {}; site {}</text></svg>"#,
        h + 26.0,
        power_mw(r.power.report.facility_mw),
        power_mw(r.power.report.it_mw),
        power_mw(r.power.report.swing_mw),
        power_mw(r.power.report.site.facility_mw)
    );
    svg
}

/// Time to train: ideal, p10, p50, p90 as bars, with ETTR.
fn goodput_chart(rep: &SimulationReport) -> String {
    let r = &rep.reliability.failures;
    let run = &rep.run;
    let bars = [
        ("ideal (no failures)", run.ideal_days),
        ("p10", run.days_p10),
        ("p50", run.days_p50),
        ("p90", run.days_p90),
    ];
    let max = bars.iter().map(|b| b.1).fold(1e-9, f64::max);
    let (w, row) = (620.0, 26.0);
    let mut svg = format!(
        r#"<svg id="chart-goodput" class="chart" viewBox="0 0 860 {}" width="100%" role="img"><title>time to train</title>"#,
        row * bars.len() as f64 + 30.0
    );
    for (i, (name, d)) in bars.iter().enumerate() {
        let y = i as f64 * row;
        let bw = d / max * w;
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.0}" font-size="12">{name}</text><rect x="140" y="{y:.0}" width="{bw:.1}" height="{:.0}" fill="{}"/><text x="{:.1}" y="{:.0}" font-size="12">{} d</text>"#,
            y + 16.0,
            row - 6.0,
            COLORS[i % COLORS.len()],
            144.0 + bw,
            y + 16.0,
            tenths(*d)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="{:.0}" font-size="12">ETTR {} · job MTBF {} · {} interruptions · checkpoint every {} ({:.1} TB, stall {}) · restart {} · {}</text></svg>"#,
        row * bars.len() as f64 + 20.0,
        pct(r.ettr),
        duration(r.job_mtbf_hours * 3600.0),
        few(r.interruptions),
        duration(r.checkpoint_interval_min * 60.0),
        r.checkpoint_size_tb,
        duration(r.checkpoint_stall_s),
        duration(r.restart_min * 60.0),
        spare_gpus(r.spare_gpus)
    );
    svg
}

/// The page's head and title: inline CSS, nothing from the network.
pub(super) fn head(title: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:920px;color:#1b1f24;background:#fafbfc}}
h1{{font-size:24px;margin-bottom:4px}} h2{{font-size:18px;margin-top:28px;border-bottom:1px solid #dde;padding-bottom:4px}}
.sub{{color:#566;font-size:14px}} .cards{{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin-top:16px}}
.card{{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px 12px}} .card .k{{font-size:12px;color:#667}} .card .v{{font-size:19px;font-weight:600;margin-top:2px}}
table{{border-collapse:collapse;font-size:13px;background:#fff}} td,th{{border:1px solid #dde;padding:4px 10px;text-align:right}} th{{background:#f0f2f5}} td:first-child,th:first-child{{text-align:left}}
.chart{{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px;box-sizing:border-box}}
</style></head><body><h1>{t}</h1>"#,
        t = esc(title)
    )
}

/// The whole report.
pub fn report(r: &SimulationReport) -> String {
    let inv = &r.cluster.inventory;
    let tl = r.timeline.as_ref();
    let title = format!("memphis report — {}", r.scenario);
    let p = &r.plan.plan;
    let mem = &r.memory;
    let cap = mem.capacity_gib;
    let cards = [
        ("step time (p10–p90: the slowest GPU drawn)", {
            let (p10, p90) = super::format::duration_band(r.step.band.p10_s, r.step.band.p90_s);
            format!("{} (p10–p90 {p10}–{p90})", duration(r.step.time_s))
        }),
        (
            "MFU",
            format!(
                "{} ({} counting causal attention)",
                pct(r.step.mfu),
                pct(r.step.mfu_causal)
            ),
        ),
        ("per GPU", format!("{:.0} TFLOP/s", r.step.tflops_per_gpu)),
        (
            "throughput",
            format!("{} tokens/s", si(r.step.tokens_per_s)),
        ),
        (
            "memory per GPU",
            format!("{:.1} GiB of {:.1} GiB", mem.per_gpu_gib, cap),
        ),
        ("time to train", format!("{} p50", days(r.run.days_p50))),
        (
            "facility power (job · site)",
            format!(
                "{} · {}",
                power_mw(r.power.report.facility_mw),
                power_mw(r.power.report.site.facility_mw)
            ),
        ),
        ("carbon", format!("{} t CO2e", si(r.carbon.run_tco2e))),
    ];
    let mut o = String::with_capacity(1 << 20);
    o.push_str(&head(&title));
    let _ = write!(
        o,
        r#"<div class="sub">{} on {} of a cluster of {} x {} · {} parameters · {} · {} sequences of {} tokens · {} · {}</div>"#,
        esc(&r.model.name),
        count(r.run.gpus),
        count(r.cluster.inventory.gpus),
        esc(&r.cluster.inventory.gpu),
        si(r.model.params),
        p.label(),
        count(r.plan.global_batch),
        count(r.plan.seq_len),
        esc(&format!("{:?}", r.plan.precision).to_lowercase()),
        esc(&p.recompute_label())
    );
    let changes = r.plan.recipe.changes();
    if !changes.is_empty() {
        let _ = write!(
            o,
            r#"<div class="sub">recipe: {}</div>"#,
            esc(&changes.join(" · "))
        );
    }
    if let Some(line) = contention_line(r) {
        let _ = write!(o, r#"<div class="sub">network: {}</div>"#, esc(&line));
    }
    for n in &r.notes {
        let _ = write!(
            o,
            r#"<p class="sub note">{}</p>"#,
            esc(&super::labelled_note(n))
        );
    }
    o.push_str(r#"<div class="cards" id="cards">"#);
    for (k, v) in cards {
        let _ = write!(
            o,
            r#"<div class="card"><div class="k">{}</div><div class="v">{}</div></div>"#,
            esc(k),
            esc(&v)
        );
    }
    o.push_str("</div><h2>Where the step goes</h2>");
    let parts: Vec<(&str, f64)> = r
        .step
        .breakdown
        .entries()
        .iter()
        .filter(|(_, v)| v.0 > 0.0)
        .map(|(k, v)| (*k, v.0))
        .collect();
    o.push_str(&stacked_bar(
        "chart-breakdown",
        &parts,
        &|v| duration(v),
        None,
    ));
    o.push_str("<h2>Pipeline timeline of one step</h2>");
    match tl {
        Some(t) => o.push_str(&gantt(t, p.pp)),
        None => o.push_str(
            r#"<p id="chart-timeline">(run with the timeline step model to see the pipeline)</p>"#,
        ),
    }
    let _ = write!(o, "<h2>Memory per GPU (stage {})</h2>", mem.stage);
    let mparts = [
        ("weights", mem.weights_gib),
        ("gradients", mem.gradients_gib),
        ("optimizer", mem.optimizer_gib),
        ("activations", mem.activations_gib),
        ("reserved", mem.reserved_gib),
    ];
    let cap_label = format!("HBM {cap:.1} GiB");
    o.push_str(&stacked_bar(
        "chart-memory",
        &mparts,
        &|v| format!("{v:.1} GiB"),
        Some((cap, &cap_label)),
    ));
    if r.stages.len() > 1 {
        // The pipeline split: each stage's layers by kind, time per micro-batch, memory.
        o.push_str(r#"<h2>Pipeline stages</h2><table id="table-stages"><tr><th>stage</th><th>layers</th><th>MoE</th><th>windowed</th><th>MTP</th><th>per micro-batch</th><th>memory</th></tr>"#);
        for s in &r.stages {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} GiB</td></tr>",
                s.stage,
                s.layers,
                s.moe_layers,
                s.windowed_layers,
                s.mtp_layers,
                esc(&duration(s.micro_batch_s)),
                s.memory_gib
            );
        }
        o.push_str("</table>");
    }
    o.push_str(r#"<h2>Fabric</h2><table id="table-fabric"><tr><th>tier</th><th>switches</th><th>links</th></tr>"#);
    for (i, n) in inv.switches_by_tier.iter().enumerate() {
        let name = ["leaf", "spine", "core"].get(i).copied().unwrap_or("tier");
        let _ = write!(
            o,
            "<tr><td>{name}</td><td>{}</td><td>{}</td></tr>",
            count(*n),
            count(inv.links_by_tier[i])
        );
    }
    let _ = write!(
        o,
        "<tr><th>total</th><th>{}</th><th>{}</th></tr></table><p class=\"sub\">{} transceivers · {} cables · bisection {:.1} Tb/s · farthest GPUs {} switch hops</p>",
        count(inv.switches),
        count(inv.links),
        count(inv.transceivers),
        count(inv.cables),
        inv.bisection_tbps,
        inv.max_hops_switches
    );
    o.push_str("<h2>Power over one step</h2>");
    match r.power.report.timeline.as_deref() {
        Some(p) if p.len() > 1 => o.push_str(&power_line(r, p)),
        _ => o.push_str(&power_chart(r)),
    }
    o.push_str(&power_parts_table(r));
    o.push_str(r#"<p class="sub" id="power-link">The site's power over minutes to days, its ramps and spectrum, a failure and what a floor, a cap, a battery or a staggered restart change: <code>memphis power --html power.html</code>.</p>"#);
    o.push_str("<h2>Goodput and time to train</h2>");
    o.push_str(&goodput_chart(r));
    o.push_str(&footprint_table(r));
    let _ = write!(
        o,
        r#"<p class="sub">Generated by memphis {}. All numbers computed; see README for the models and their sources.</p></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    o
}

/// Power by component, as the text report lists it.
fn power_parts_table(r: &SimulationReport) -> String {
    let total: f64 = r.power.report.parts.iter().map(|p| p.mw).sum();
    let mut o = String::from(
        r#"<table id="table-power"><tr><th>component</th><th>power</th><th>share</th></tr>"#,
    );
    for part in r.power.report.parts.iter().filter(|p| p.mw > 0.0) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(part.name),
            power_mw(part.mw),
            pct(part.mw / total.max(1e-30))
        );
    }
    let _ = write!(
        o,
        "<tr><th>IT</th><th>{}</th><th></th></tr></table><p class=\"sub\">facility {} at PUE {:.2} · swing {} between compute and waits</p>",
        power_mw(r.power.report.it_mw),
        power_mw(r.power.report.facility_mw),
        r.power.report.pue,
        power_mw(r.power.report.swing_mw)
    );
    o
}

/// Energy, carbon and water of the whole run.
fn footprint_table(r: &SimulationReport) -> String {
    format!(
        r#"<h2>Energy, carbon, water (whole run, p50)</h2><table id="table-footprint"><tr><th>energy</th><td>{} MWh</td><td>{} a training step; {} per token over the run, waits included</td></tr><tr><th>carbon</th><td>{} t CO2e</td><td>{:.0} g/kWh, {} from gas turbines</td></tr><tr><th>water</th><td>{} m³</td><td>on site and upstream</td></tr></table>"#,
        si(r.energy.run_mwh),
        energy_mwh(r.energy.step_mwh),
        energy_per_token(r.energy.j_per_token),
        si(r.carbon.run_tco2e),
        r.carbon.gco2_per_kwh,
        pct(r.carbon.turbine_share),
        si(r.water.run_m3)
    )
}
