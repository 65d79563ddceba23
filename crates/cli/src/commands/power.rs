//! `memphis power`: the site's facility power over a window as the grid sees it, and
//! each mitigation's gain and cost, rendered from the core's report (text, JSON, CSV,
//! HTML).

use crate::cli::PowerArgs;
use crate::errors::{CliError, CliResult};
use crate::sinks::format::{duration, pct, power_mw, sig3};
use crate::{input, sinks};
use memphis_core::api::{self, GridReport, PowerOptions};
use std::fmt::Write;

pub fn run(a: PowerArgs) -> CliResult {
    // Every output path is checked before the work; all are written after it.
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("-o", a.output.as_deref())?;
    let csv_out = outs.file("--csv", a.csv.as_deref())?;
    let html_out = outs.file("--html", a.html.as_deref())?;
    // The options first: a bad window is refused before any simulation.
    let opts = options(&a)?;
    let r = report_with(&a, opts, input::scenario_layers(&a.scenario)?)?;
    sinks::report_notes(&r.notes, a.json, a.output.as_deref());
    if let Some(slot) = csv_out {
        outs.put(slot, csv(&r))?;
    }
    if let Some(slot) = html_out {
        outs.put(slot, sinks::power_html::power_report(&r))?;
    }
    let text = sinks::report_text(&r, a.json, render)?;
    outs.put(report_out, text)?;
    outs.commit()
}

/// The window's options from the flags, checked.
pub fn options(a: &PowerArgs) -> CliResult<PowerOptions> {
    let opts = PowerOptions {
        window_s: a.window,
        resolution_s: a
            .resolution
            .unwrap_or_else(|| api::power::default_resolution(a.window)),
        failure_at_s: a.failure_at,
        mitigation: a.mitigation,
        ramp_limit_mw_per_s: a.ramp_limit,
        drop_mw: a.drop_mw,
        drop_within_s: a.drop_within,
        seed: 1,
    };
    api::power::check(&opts).map_err(flag_error)?;
    Ok(opts)
}

/// The grid's view of the scenario `layers` make, its notes opening with how the
/// scenario was resolved, as `simulate`'s do (the Python package runs this with a
/// scenario dict's layers).
pub fn report_with(
    a: &PowerArgs,
    opts: PowerOptions,
    layers: memphis_core::scenario::ScenarioLayers,
) -> CliResult<GridReport> {
    let resolved = super::simulate::resolve(a.plan.as_deref(), &layers, a.allow_oom)?;
    super::simulate::refuse_unless_fits(&resolved.scenario, a.allow_oom, &resolved.notes)?;
    sinks::status("building the power series ...");
    // One seed for the scenario's randomness: the failure Monte Carlo's and the jitter's.
    let opts = PowerOptions {
        seed: resolved.scenario.reliability.seed,
        ..opts
    };
    let mut r = api::power(&resolved.scenario, &opts).map_err(flag_error)?;
    // The notes here go first, but for the warning of a plan that does not fit.
    let at = usize::from(!r.fits).min(r.notes.len());
    if a.resolution.is_none() && opts.resolution_s > api::power::DEFAULT_RESOLUTION_S {
        r.notes.insert(
            at,
            format!(
                "resolution {} s: {} s would be more than {} samples over the window (give --resolution for another)",
                opts.resolution_s,
                api::power::DEFAULT_RESOLUTION_S,
                api::power::MAX_SAMPLES
            ),
        );
    }
    if a.resolution.is_none() && opts.resolution_s < api::power::DEFAULT_RESOLUTION_S {
        r.notes.insert(
            at,
            format!(
                "resolution {} s: the window's length, shorter than the default {} s (one sample; give --resolution for more)",
                memphis_core::units::to_whole_ns(opts.resolution_s),
                api::power::DEFAULT_RESOLUTION_S
            ),
        );
    }
    r.notes.splice(at..at, resolved.notes);
    Ok(r)
}

/// The options `api::power::check` names, each given as a flag.
const OPTIONS: [&str; 6] = [
    "window",
    "resolution",
    "failure_at",
    "ramp_limit",
    "drop_mw",
    "drop_within",
];

/// The core names the options (`window`); the user gave them as flags (`--window`).
fn flag_error(e: memphis_core::Error) -> CliError {
    match e {
        memphis_core::Error::Invalid {
            field,
            value,
            allowed,
        } if OPTIONS.contains(&field.as_str()) => memphis_core::Error::Invalid {
            field: format!("--{}", field.replace('_', "-")),
            value,
            allowed,
        }
        .into(),
        other => other.into(),
    }
}

/// The start of sample `k` of `dt` s, in s, with as many decimals as the resolution has
/// (`0.3`, `59.9`, `0.05`; at most 9, to the ns), never `k as f64 * dt`'s float noise
/// (`0.30000000000000004`): the noise is far below the last decimal kept.
fn sample_start(k: u64, dt: f64) -> String {
    let decimals = (0..9)
        .find(|&d| {
            let scaled = dt * 10f64.powi(d);
            (scaled - scaled.round()).abs() <= 1e-9 * scaled.max(1.0)
        })
        .unwrap_or(9) as usize;
    format!("{:.decimals$}", k as f64 * dt)
}

/// The series as CSV: t_s (the start of each sample, exact: [`sample_start`]),
/// facility_mw (what the grid draws), then each load (and, with the battery, its
/// discharge).
fn csv(r: &GridReport) -> String {
    let s = &r.series;
    let mut o = String::with_capacity(s.facility_mw.len() * 80);
    o.push_str("t_s,facility_mw,gpus_mw,hosts_mw,network_mw,storage_mw,cooling_mw");
    if r.battery_mw.is_some() {
        o.push_str(",battery_mw");
    }
    o.push('\n');
    for k in 0..s.facility_mw.len() {
        let _ = write!(
            o,
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6}",
            sample_start(k as u64, s.dt),
            s.facility_mw[k],
            s.gpus_mw[k],
            s.hosts_mw[k],
            s.network_mw[k],
            s.storage_mw[k],
            s.cooling_mw[k]
        );
        if let Some(b) = &r.battery_mw {
            let _ = write!(o, ",{:.6}", b[k]);
        }
        o.push('\n');
    }
    o
}

/// The step under the headline's cap, where it differs from the step's time.
pub(crate) fn headline_step(r: &GridReport) -> Option<f64> {
    (r.headline_step_s != r.step_s).then_some(r.headline_step_s)
}

/// The window computed, exactly when it is not the one asked for (`602 s`, not the
/// `10.0 min` that the rounding would show).
pub fn window(r: &GridReport) -> String {
    if (r.window_s - r.window_asked_s).abs() > 1e-9 * r.window_asked_s {
        format!("{} s", r.window_s)
    } else {
        duration(r.window_s)
    }
}

/// A fall in power: in MW to a decimal, as a site's falls are; a small site's in kW
/// ([`power_mw`]), where 0.0 MW would hide it.
fn fall(mw: f64) -> String {
    if mw.abs() >= 1.0 {
        format!("{mw:.1} MW")
    } else {
        power_mw(mw)
    }
}

fn render(r: &GridReport) -> String {
    let mut o = String::new();
    // A plan that does not fit (run with --allow-oom): the warning comes first of all.
    if let Some(w) = (!r.fits).then(|| r.notes.first()).flatten() {
        let _ = writeln!(o, "{w}");
    }
    let mit = r.mitigation.map_or("none".into(), |m| m.name().to_string());
    let _ = writeln!(
        o,
        "power · {} · {} at {} ({} sample{}) · mitigation: {mit}",
        r.scenario,
        window(r),
        duration(r.resolution_s),
        r.samples,
        if r.samples == 1 { "" } else { "s" }
    );
    let (p10, p90) = sinks::format::duration_band(r.step_p10_s, r.step_p90_s);
    let step = match headline_step(r) {
        // A cap slows the step: the headline's figures are the capped step's.
        Some(capped) => format!(
            "{} under the cap = {:.3} Hz (without it {}, p10-p90 {p10} to {p90})",
            duration(capped),
            1.0 / capped,
            duration(r.step_s)
        ),
        None => format!(
            "{} (p10-p90 {p10} to {p90}) = {:.3} Hz",
            duration(r.step_s),
            r.step_hz
        ),
    };
    let _ = writeln!(
        o,
        "  step         {step} · {} job GPUs of {}",
        sinks::format::count(r.job_gpus),
        sinks::format::count(r.site_gpus)
    );
    let sh = &r.shape;
    let _ = writeln!(o, "\n{}", sinks::heading("what the grid sees (facility)"));
    let _ = writeln!(
        o,
        "  power        peak {} · min {} · swing {} · mean {}",
        power_mw(sh.peak_mw),
        power_mw(sh.min_mw),
        power_mw(sh.swing_mw),
        power_mw(sh.mean_mw)
    );
    let _ = match r.mitigation {
        // The power model's energy is the site's without a mitigation: the same window
        // without it comes first, like with like.
        Some(m) => writeln!(
            o,
            "  energy       {} with the {} ({} without it in this window; {} at the power model's average, training throughout without a mitigation)",
            energy(sh.energy_mwh, false),
            m.name(),
            energy(r.baseline.shape.energy_mwh, false),
            energy(r.power_model_mwh, false)
        ),
        None => writeln!(
            o,
            "  energy       {} ({} at the power model's average, training throughout)",
            energy(sh.energy_mwh, false),
            energy(r.power_model_mwh, false)
        ),
    };
    let _ = if r.samples < 2 {
        writeln!(
            o,
            "  ramps        none measured: a ramp is a change between samples, and the window holds one"
        )
    } else {
        writeln!(
            o,
            "  ramps        max {} MW/s · p99 {} MW/s · {} over the {} MW/s limit",
            sig3(sh.ramp_max_mw_per_s),
            sig3(sh.ramp_p99_mw_per_s),
            if r.over_ramp_limit_s > 0.0 {
                duration(r.over_ramp_limit_s)
            } else {
                "no time".into()
            },
            r.ramp_limit_mw_per_s
        )
    };
    render_spectrum(&mut o, r);
    let d = &r.drops;
    let _ = writeln!(
        o,
        "  drops        {} of more than {} MW within {} (largest {}{})",
        d.count,
        d.threshold_mw,
        duration(d.within_s),
        fall(d.largest_mw),
        d.mean_mw
            .map_or(String::new(), |m| format!(", mean {}", fall(m)))
    );
    if let Some(f) = &r.failure {
        let _ = writeln!(
            o,
            "  failure      asked at {}, struck {} later at the step's peak (the worst moment): a {} fall (the largest drop within {} ending in the second after it); idle {}, warm-up {}",
            moment(f.asked_s),
            duration(f.at_s - f.asked_s),
            fall(f.drop_mw),
            duration(r.drops.within_s),
            duration(f.down_s),
            duration(f.warmup_s)
        );
    }
    render_loads(&mut o, r);
    render_mitigations(&mut o, r);
    if !r.notes.is_empty() {
        o.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(o, "  {}", crate::sinks::labelled_note(n));
    }
    o
}

fn render_spectrum(o: &mut String, r: &GridReport) {
    let sp = &r.spectrum;
    // Lines that carry under 0.05% of the variance print as 0.0%: they say nothing (a
    // window a failure dominates, say).
    const SHOWN_SHARE: f64 = 0.0005;
    let main: Vec<String> = sp
        .main
        .iter()
        .filter(|l| l.share >= SHOWN_SHARE)
        .map(|l| format!("{} Hz ({})", sig3(l.hz), pct(l.share)))
        .collect();
    if sp.main.is_empty() && sp.peak_hz == 0.0 {
        let _ = writeln!(
            o,
            "  spectrum     none: {} sample{} too few (Nyquist {} Hz)",
            r.samples,
            if r.samples == 1 { " is" } else { "s are" },
            trim(sp.nyquist_hz)
        );
        return;
    }
    let _ = writeln!(
        o,
        "  spectrum     peak {} Hz ({} x the step rate; from {} Hz up) · {} of the variance in {} ({} RMS; Nyquist {} Hz)",
        sig3(sp.peak_hz),
        sig3(sp.peak_hz * r.headline_step_s),
        sig3(sp.peak_from_hz),
        pct(sp.band_fraction),
        sp.band_label(),
        power_mw(sp.band_rms_mw),
        trim(sp.nyquist_hz)
    );
    if main.is_empty() {
        let _ = writeln!(
            o,
            "               main lines: none above 0.05% of the variance"
        );
    } else {
        let _ = writeln!(o, "               main lines: {}", main.join(", "));
    }
}

/// A frequency in at most 4 decimals, without trailing zeros (`0.1667`, `5`).
fn trim(hz: f64) -> String {
    let s = format!("{hz:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn render_loads(o: &mut String, r: &GridReport) {
    let _ = writeln!(
        o,
        "\n  load                         tau      mean       min       max"
    );
    for c in &r.components {
        let _ = writeln!(
            o,
            "    {:<26} {:>6} {:>6.2} MW {:>6.2} MW {:>6.2} MW",
            c.name,
            duration(c.tau_s),
            c.mean_mw,
            c.min_mw,
            c.max_mw
        );
    }
    let _ = writeln!(
        o,
        "  checkpoint every {} of training, stalling {}",
        duration(r.checkpoint_every_s),
        duration(r.checkpoint_stall_s)
    );
}

/// An energy in MWh, in kWh below 1 MWh (a small job's battery holds a few kWh), in Wh below 1 kWh,
/// signed if asked, never "-0.0" for a change that rounds to nothing.
pub(crate) fn energy(mwh: f64, signed: bool) -> String {
    // Below 1 kWh in Wh, so that a small battery's energy does not read as 0.0 kWh
    // beside losses of 0.3 kWh.
    let (v, unit, digits) = if mwh.abs() >= 1.0 {
        (mwh, "MWh", 3)
    } else if mwh.abs() >= 1e-3 || mwh == 0.0 {
        (mwh * 1e3, "kWh", 1)
    } else {
        (mwh * 1e6, "Wh", 1)
    };
    let v = if v.abs() < 0.5 * 10f64.powi(-digits) {
        0.0
    } else {
        v
    };
    if signed {
        format!("{v:+.digits$} {unit}", digits = digits as usize)
    } else {
        format!("{v:.digits$} {unit}", digits = digits as usize)
    }
}

/// The battery the window needs, in one sentence (text and HTML).
pub(crate) fn battery_line(r: &GridReport) -> String {
    let b = &r.battery;
    if b.mw == 0.0 {
        return format!(
            "battery for {} MW/s: none needed (the load never ramps past the limit)",
            b.ramp_limit_mw_per_s
        );
    }
    format!(
        "battery for {} MW/s: {} MW, {}, {:.0}% round trip, ramps at up to {} MW/s, loses {} (its energy cost; its charge ends {} from where it began, not a cost)",
        b.ramp_limit_mw_per_s,
        sig3(b.mw),
        energy(b.mwh, false),
        b.round_trip_efficiency * 100.0,
        sig3(b.battery_ramp_mw_per_s),
        energy(b.losses_mwh, false),
        energy(b.end_charge_mwh, true)
    )
}

fn render_mitigations(o: &mut String, r: &GridReport) {
    let _ = writeln!(o, "\n  {}", battery_line(r));
    // A site that swings less than 1 MW reads in kW: its swings would all be 0.00 MW.
    let unit = if r.baseline.shape.swing_mw < 1.0 {
        ("kW", 1e3)
    } else {
        ("MW", 1.0)
    };
    // The restart's own climb, where a restart is in the window.
    let restart = r.baseline.restart_climb_mw_per_s.is_some();
    let _ = writeln!(
        o,
        "\n  mitigation   swing {u}  ramp {u}/s  rise {u}/s{}  band RMS {u}   energy/step  step time",
        if restart {
            format!("  restart {u}/s", u = unit.0)
        } else {
            String::new()
        },
        u = unit.0
    );
    for m in std::iter::once(&r.baseline).chain(&r.mitigations) {
        let climb = match (restart, m.restart_climb_mw_per_s) {
            (false, _) => String::new(),
            (true, Some(v)) => format!(" {:>13.2}", v * unit.1),
            (true, None) => format!(" {:>13}", "-"),
        };
        let _ = writeln!(
            o,
            "    {:<10} {:>8.2} {:>10.2} {:>10.2}{climb} {:>12.2} {:>+12} {:>+10}",
            m.name,
            m.shape.swing_mw * unit.1,
            m.shape.ramp_max_mw_per_s * unit.1,
            m.shape.ramp_up_max_mw_per_s * unit.1,
            m.band_rms_mw * unit.1,
            pct(m.energy_cost),
            pct(m.step_time_cost)
        );
    }
    if restart {
        let _ = writeln!(
            o,
            "    restart: the steepest climb of the draw averaged over a step, from the failure to {} s after training resumes: the site's climb back to training power, its ripple left out (rise: the whole window's, the ripple's)",
            api::power::RAMP_IN_S
        );
    }
    for m in &r.mitigations {
        let _ = writeln!(o, "    {}: {}", m.name, m.what);
    }
    let _ = writeln!(
        o,
        "    energy/step: the site's energy a training step takes against the baseline's: GPUs no job uses, hosts, network and cooling draw through a longer step too"
    );
}

/// A moment in the window: in seconds to the hundredth within an hour (598.50 s, not
/// 10.0 min of a 10-minute window), as a duration past it.
fn moment(s: f64) -> String {
    if s < 3600.0 {
        format!("{s:.2} s")
    } else {
        duration(s)
    }
}

#[cfg(test)]
mod tests {
    use super::sample_start;

    #[test]
    fn sample_starts_are_exact() {
        let at = |k: u64, dt: f64| sample_start(k, dt);
        // k as f64 * dt: 0.30000000000000004, 59.900000000000006.
        assert_eq!(
            (at(3, 0.1), at(599, 0.1), at(0, 0.1)),
            ("0.3".into(), "59.9".into(), "0.0".into())
        );
        assert_eq!(
            (at(7, 0.05), at(2, 1.0), at(86, 7.0)),
            ("0.35".into(), "2".into(), "602".into())
        );
        assert_eq!(
            (at(3, 0.3), at(1_999_999, 0.001)),
            ("0.9".into(), "1999.999".into())
        );
        // A week at 0.5 s, its last sample.
        assert_eq!(at(1_209_599, 0.5), "604799.5");
        // Finer than whole ns: to the nearest ns.
        assert_eq!(at(3, 0.001_000_000_4), "0.003000001");
    }
}
