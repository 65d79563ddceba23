//! The HTML report of `memphis power`: the series, a zoom on a few steps, the spectrum
//! and each mitigation's effect, as inline SVG (ids `chart-*`).

use super::format::{duration, pct, sig3};
use super::html::{esc, head, COLORS};
use memphis_core::api::power::Outcome;
use memphis_core::api::GridReport;
use std::fmt::Write;

const W: f64 = 860.0;
const H: f64 = 200.0;

/// A time on the axis (0 is 0 s, not 0.0 µs).
fn at(t: f64) -> String {
    if t == 0.0 {
        "0 s".into()
    } else {
        duration(t)
    }
}

/// A y axis over [lo, hi] with a margin.
fn y_axis(lo: f64, hi: f64) -> impl Fn(f64) -> f64 {
    let pad = ((hi - lo) * 0.08).max(1e-6);
    let (lo, hi) = (lo - pad, hi + pad);
    move |v: f64| H - (v - lo) / (hi - lo) * H
}

/// The series as a path: the min and max of each pixel column (an envelope), so that
/// no swing is lost however many samples fall in a column.
fn envelope(x: &[f64], from: usize, to: usize, y: &dyn Fn(f64) -> f64) -> String {
    let n = to.saturating_sub(from).max(1);
    let cols = n.min(W as usize);
    let mut path = String::new();
    for c in 0..cols {
        let (a, b) = (
            from + c * n / cols,
            (from + (c + 1) * n / cols).max(from + c * n / cols + 1),
        );
        let slice = &x[a..b.min(to)];
        let lo = slice.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = slice.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let px = c as f64 / cols as f64 * W;
        let _ = write!(
            path,
            "{}{px:.1},{:.1} L{px:.1},{:.1}",
            if c == 0 { "M" } else { " L" },
            y(hi),
            y(lo)
        );
    }
    path
}

/// Facility power over samples [from, to), with the baseline beneath when a mitigation
/// changed it.
fn series_chart(id: &str, r: &GridReport, from: usize, to: usize, caption: &str) -> String {
    let x = &r.series.facility_mw;
    let base = (r.mitigation.is_some()).then_some(&r.baseline_mw);
    let all = x[from..to]
        .iter()
        .chain(base.map_or(&[][..], |b| &b[from..to]));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(*v), h.max(*v))
    });
    let y = y_axis(lo, hi);
    let mut svg = format!(
        r#"<svg id="{id}" class="chart" viewBox="0 0 {W} {}" width="100%" role="img"><title>{id}</title>"#,
        H + 44.0
    );
    if let Some(b) = base {
        let _ = write!(
            svg,
            r##"<path d="{}" fill="none" stroke="#bbb" stroke-width="1"/>"##,
            envelope(b, from, to, &y)
        );
    }
    let _ = write!(
        svg,
        r##"<path d="{}" fill="none" stroke="#e05d5d" stroke-width="1.2"/><text x="4" y="12" font-size="11">{hi:.1} MW</text><text x="4" y="{:.0}" font-size="11">{lo:.1} MW</text><text x="0" y="{:.0}" font-size="12">{}</text><text x="{W}" y="{:.0}" font-size="11" text-anchor="end">{}</text></svg>"##,
        envelope(x, from, to, &y),
        H - 2.0,
        H + 20.0,
        esc(caption),
        H + 36.0,
        esc(&format!(
            "{} to {}",
            at(from as f64 * r.resolution_s),
            at(to as f64 * r.resolution_s)
        ))
    );
    svg
}

/// Decades of the spectrum chart's y axis (shares of the variance from 1e-6 to 1).
const DECADES: f64 = 6.0;

/// The spectrum on log-log axes from the resolution to the Nyquist frequency, the band
/// shaded, the step's rate and harmonics dashed.
fn spectrum_chart(r: &GridReport) -> String {
    let sp = &r.spectrum;
    let (lo, hi) = (
        sp.resolution_hz.max(1e-9).log10(),
        sp.nyquist_hz.max(1e-9).log10(),
    );
    let x = |hz: f64| (hz.max(1e-12).log10() - lo) / (hi - lo).max(1e-9) * W;
    let y = |share: f64| (-share.max(1e-12).log10() / DECADES).min(1.0) * H;
    let mut svg = format!(
        r#"<svg id="chart-spectrum" class="chart" viewBox="0 0 {W} {}" width="100%" role="img"><title>spectrum</title>"#,
        H + 44.0
    );
    let (b0, b1) = (x(sp.band_hz[0]).max(0.0), x(sp.band_hz[1]).min(W));
    let _ = write!(
        svg,
        r##"<rect x="{b0:.1}" y="0" width="{:.1}" height="{H}" fill="#eef4ff"/>"##,
        (b1 - b0).max(0.0)
    );
    // The headline series' step: under a cap, the capped one.
    let step_hz = 1.0 / r.headline_step_s.max(1e-12);
    for k in 1..=20 {
        let hz = k as f64 * step_hz;
        if hz < sp.nyquist_hz {
            let px = x(hz);
            let _ = write!(
                svg,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="0" y2="{H}" stroke="#bbb" stroke-dasharray="2 3"/>"##
            );
        }
    }
    for (hz, share) in &sp.chart {
        let px = x(*hz);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{H}" y2="{:.1}" stroke="#2f6fde" stroke-width="1.5"/>"##,
            y(*share)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="4" y="12" font-size="11">100% of the variance</text><text x="4" y="{:.0}" font-size="11">1e-6</text><text x="0" y="{:.0}" font-size="12">share of the variance by frequency, log-log, {} to {} Hz (Nyquist); dashed: multiples of the step rate {} Hz</text><text x="0" y="{:.0}" font-size="12">shaded: {}, {} of the variance · peak {} Hz ({:.2} x the step rate)</text></svg>"#,
        H - 4.0,
        H + 18.0,
        sig3(sp.resolution_hz),
        sig3(sp.nyquist_hz),
        sig3(step_hz),
        H + 36.0,
        sp.band_label(),
        pct(sp.band_fraction),
        sig3(sp.peak_hz),
        sp.peak_hz / step_hz
    );
    svg
}

/// One figure of an outcome.
type Metric = fn(&Outcome) -> f64;

/// Each mitigation's swing, ramp and band RMS against the baseline's, as bars.
fn mitigation_chart(r: &GridReport) -> String {
    let rows: Vec<_> = std::iter::once(&r.baseline).chain(&r.mitigations).collect();
    let band = format!("{} RMS MW", r.spectrum.band_label());
    let metrics: [(&str, Metric); 3] = [
        ("swing MW", |m| m.shape.swing_mw),
        ("max ramp MW/s", |m| m.shape.ramp_max_mw_per_s),
        (&band, |m| m.band_rms_mw),
    ];
    let (row_h, left) = (16.0, 150.0);
    let group = row_h * metrics.len() as f64 + 10.0;
    let h = group * rows.len() as f64 + 30.0;
    let mut svg = format!(
        r#"<svg id="chart-mitigations" class="chart" viewBox="0 0 {W} {h:.0}" width="100%" role="img"><title>mitigations</title>"#
    );
    for (i, m) in rows.iter().enumerate() {
        let y0 = i as f64 * group;
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.0}" font-size="13">{}</text>"#,
            y0 + 20.0,
            esc(&m.name)
        );
        for (j, (label, f)) in metrics.iter().enumerate() {
            let max = rows.iter().map(|x| f(x)).fold(1e-12, f64::max);
            let v = f(m);
            let bw = v / max * (W - left - 170.0);
            let y = y0 + j as f64 * row_h;
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{y:.0}" width="{bw:.1}" height="{:.0}" fill="{}"/><text x="{:.1}" y="{:.0}" font-size="11">{v:.2} {label}</text>"#,
                row_h - 3.0,
                COLORS[j],
                left + bw + 4.0,
                y + row_h - 5.0
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="{:.0}" font-size="12">what the grid sees under each mitigation (the same window, seed and failure)</text></svg>"#,
        h - 8.0
    );
    svg
}

/// Costs and gains, as a table.
fn mitigation_table(r: &GridReport) -> String {
    let mut o = String::from(
        r#"<table id="table-mitigations"><tr><th>mitigation</th><th>peak MW</th><th>min MW</th><th>swing MW</th><th>max ramp MW/s</th><th>max rise MW/s</th><th>restart rise MW/s</th><th>p99 ramp MW/s</th><th>band RMS MW</th><th>energy per step</th><th>extra MWh</th><th>step time</th><th>what</th></tr>"#,
    );
    for m in std::iter::once(&r.baseline).chain(&r.mitigations) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{:.3}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&m.name),
            m.shape.peak_mw,
            m.shape.min_mw,
            m.shape.swing_mw,
            m.shape.ramp_max_mw_per_s,
            m.shape.ramp_up_max_mw_per_s,
            m.restart_climb_mw_per_s
                .map_or("-".to_string(), |v| format!("{v:.2}")),
            m.shape.ramp_p99_mw_per_s,
            m.band_rms_mw,
            pct(m.energy_cost),
            m.energy_cost_mwh,
            pct(m.step_time_cost),
            esc(&m.what)
        );
    }
    o.push_str("</table>");
    o
}

/// The whole page.
pub fn power_report(r: &GridReport) -> String {
    let title = format!("memphis power — {}", r.scenario);
    let mut o = head(&title);
    let sh = &r.shape;
    let _ = write!(
        o,
        r#"<div class="sub">{} at {} · step {} ({:.3} Hz) · {} job GPUs of {} · mitigation: {}</div>"#,
        crate::commands::power::window(r),
        duration(r.resolution_s),
        match crate::commands::power::headline_step(r) {
            Some(capped) => format!(
                "{} under the cap, {} without",
                duration(capped),
                duration(r.step_s)
            ),
            None => duration(r.step_s),
        },
        1.0 / r.headline_step_s.max(1e-12),
        r.job_gpus,
        r.site_gpus,
        r.mitigation.map_or("none", |m| m.name())
    );
    let cards = [
        (
            "peak · min",
            format!("{:.1} · {:.1} MW", sh.peak_mw, sh.min_mw),
        ),
        ("swing", format!("{:.1} MW", sh.swing_mw)),
        (
            "max · p99 ramp",
            format!(
                "{:.1} · {:.1} MW/s",
                sh.ramp_max_mw_per_s, sh.ramp_p99_mw_per_s
            ),
        ),
        ("energy", format!("{:.2} MWh", sh.energy_mwh)),
        ("spectrum peak", format!("{:.3} Hz", r.spectrum.peak_hz)),
        (
            &*format!("{} share", r.spectrum.band_label()),
            pct(r.spectrum.band_fraction),
        ),
        (
            "drops",
            format!("{} > {} MW", r.drops.count, r.drops.threshold_mw),
        ),
        (
            "battery",
            // Its energy in the unit the text says it in (a battery of kWh is no 0.00 MWh).
            format!(
                "{:.1} MW · {}",
                r.battery.mw,
                crate::commands::power::energy(r.battery.mwh, false)
            ),
        ),
    ];
    o.push_str(r#"<div class="cards" id="cards">"#);
    for (k, v) in cards {
        let _ = write!(
            o,
            r#"<div class="card"><div class="k">{}</div><div class="v">{}</div></div>"#,
            esc(k),
            esc(&v)
        );
    }
    o.push_str("</div><h2>Facility power over the window</h2>");
    let n = r.series.facility_mw.len();
    let mut caption = String::from("facility power");
    if r.mitigation.is_some() {
        caption.push_str(" (grey: without the mitigation)");
    }
    if let Some(f) = &r.failure {
        let _ = write!(
            caption,
            "; failure at {}: a {:.1} MW fall",
            duration(f.at_s),
            f.drop_mw
        );
    }
    o.push_str(&series_chart("chart-series", r, 0, n, &caption));
    let zoom = ((6.0 * r.step_s / r.resolution_s).ceil() as usize)
        .max(2)
        .min(n);
    o.push_str("<h2>A few steps</h2>");
    o.push_str(&series_chart(
        "chart-zoom",
        r,
        0,
        zoom,
        "the first steps of the window",
    ));
    o.push_str("<h2>Spectrum</h2>");
    o.push_str(&spectrum_chart(r));
    o.push_str("<h2>Mitigations</h2>");
    o.push_str(&mitigation_chart(r));
    o.push_str(&mitigation_table(r));
    let _ = write!(
        o,
        r#"<p class="sub">{}</p>"#,
        esc(&crate::commands::power::battery_line(r))
    );
    for n in &r.notes {
        let _ = write!(o, r#"<p class="sub">{}</p>"#, esc(&super::labelled_note(n)));
    }
    o.push_str(r#"<h2>Loads</h2><table id="table-loads"><tr><th>load</th><th>time constant</th><th>mean MW</th><th>min MW</th><th>max MW</th></tr>"#);
    for c in &r.components {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            esc(&c.name),
            esc(&duration(c.tau_s)),
            c.mean_mw,
            c.min_mw,
            c.max_mw
        );
    }
    let _ = write!(
        o,
        r#"</table><p class="sub">Generated by memphis {}. All numbers computed; time constants and mitigation settings are estimates (⚠ in the source), see README.</p></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    o
}
