//! `power`: the site's facility power over a window, as the grid sees it (range, ramps,
//! spectrum, sudden drops), and what each mitigation gains and costs.
//!
//! The step, its timeline and the power model are `simulate`'s ([`super::simulate`]):
//! the series replays that step's power profile (`power::series`), each step's time
//! drawn from the same slowest-GPU spread as `simulate`'s p10-p90 band.

use super::simulate::{simulate, SimulateOptions, SimulationReport, StepBand};
use crate::error::{Error, Result};
use crate::power::grid::{self, Battery, Drops, Shape, Spectrum};
use crate::power::series::{self, Failure, Knobs, Series, SeriesInputs};
use crate::power::{gpu_phase, Busy, BusyProfile, GpuState};
use crate::rng::SplitMix64;
use crate::scenario::Scenario;
use serde::Serialize;

/// Most bins in a window (1 day at 50 ms, 1 h at 2 ms).
pub const MAX_SAMPLES: u64 = 2_000_000;
/// Longest window, s (7 days).
pub const MAX_WINDOW_S: f64 = 7.0 * 86_400.0;
/// Finest resolution, s.
pub const MIN_RESOLUTION_S: f64 = 1e-3;

/// Sample width when none is asked for and the window allows it ([`default_resolution`]).
pub const DEFAULT_RESOLUTION_S: f64 = 0.1;
/// Most training steps in a window.
pub const MAX_STEPS: f64 = 5_000_000.0;
/// Most bins of the step's power profile.
pub const PROFILE_BINS: usize = 1000;

/// Samples fine enough to follow the GPUs' power: a fifth of their time constant
/// ([`series::tau::GPU_S`]), past which finer samples add little (the default job's
/// fastest ramp reads 175 MW/s at 10 ms, 162 at 100 ms; `memphis power --resolution`).
pub const FINE_RESOLUTION_S: f64 = series::tau::GPU_S / 5.0;
/// A note says when fine samples see training ramp this many times faster than the
/// report's: ramps are measured between samples, so coarse ones average short swings
/// away (and with them the ramp limit's time and the battery sized against it).
pub const RAMP_UNDERSEEN: f64 = 1.25;
/// The stretch compared: this many steps (at most [`RAMP_PROBE_MAX_SAMPLES`] fine
/// samples; at the report's samples at least [`RAMP_PROBE_MIN_SAMPLES`] of them).
const RAMP_PROBE_STEPS: f64 = 4.0;
const RAMP_PROBE_MIN_SAMPLES: f64 = 20.0;
const RAMP_PROBE_MAX_SAMPLES: f64 = 200_000.0;

/// The power floor mitigation: no GPU state below 80 % of TDP ⚠ (an estimate; NVML's
/// power smoothing sets it as a % of TMP, facts.md §13).
pub const FLOOR_OF_TDP: f64 = 0.8;
/// The power cap mitigation: 85 % of TDP by clocks ⚠ (an estimate; facts.md §13: caps
/// trim peaks but not troughs, POLCA).
pub const CAP_OF_TDP: f64 = 0.85;
/// The staggered restart: the cap ramps from waiting power to none over 60 s ⚠ (GB300
/// ramps the cap at a job's start, facts.md §13; its length is not published).
pub const RAMP_IN_S: f64 = 60.0;

/// A mitigation of the swings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Mitigation {
    /// A GPU power floor (firmware smoothing): troughs lifted, energy burnt.
    Floor,
    /// A power cap by clocks: peaks trimmed, compute slower.
    Cap,
    /// A battery on site holding the grid's ramps to the limit.
    Battery,
    /// Staggered restart: after a failure, the cap ramps the job back in.
    Stagger,
}

impl Mitigation {
    /// All, in report order.
    pub const ALL: [Mitigation; 4] = [
        Mitigation::Floor,
        Mitigation::Cap,
        Mitigation::Battery,
        Mitigation::Stagger,
    ];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mitigation::Floor => "floor",
            Mitigation::Cap => "cap",
            Mitigation::Battery => "battery",
            Mitigation::Stagger => "stagger",
        }
    }

    /// What it does, with its setting.
    fn what(self, limit: f64) -> String {
        match self {
            Mitigation::Floor => format!("GPU power floor at {:.0}% of TDP ⚠", FLOOR_OF_TDP * 100.0),
            Mitigation::Cap => format!(
                "GPU power cap at {:.0}% of TDP by clocks: compute at {:.1}% speed (cubic DVFS ⚠)",
                CAP_OF_TDP * 100.0,
                series::dvfs_speed(CAP_OF_TDP) * 100.0
            ),
            Mitigation::Battery => format!(
                "battery on site holding the grid to {limit} MW/s, sized by this window ({:.0}% round trip)",
                grid::ROUND_TRIP_EFFICIENCY * 100.0
            ),
            Mitigation::Stagger => format!(
                "after a restart the GPUs' cap ramps from waiting power to none over {RAMP_IN_S:.0} s ⚠"
            ),
        }
    }
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct PowerOptions {
    /// Window, s.
    pub window_s: f64,
    /// Bin width, s.
    pub resolution_s: f64,
    /// A failure at this time, s.
    pub failure_at_s: Option<f64>,
    /// The mitigation applied to the headline figures.
    pub mitigation: Option<Mitigation>,
    /// The grid's ramp limit, MW/s.
    pub ramp_limit_mw_per_s: f64,
    /// Drops larger than this, MW ...
    pub drop_mw: f64,
    /// ... within this, s (at most the window), are counted.
    pub drop_within_s: f64,
    /// Seed of the step-to-step jitter.
    pub seed: u64,
}

impl Default for PowerOptions {
    fn default() -> Self {
        PowerOptions {
            window_s: 600.0,
            resolution_s: DEFAULT_RESOLUTION_S,
            failure_at_s: None,
            mitigation: None,
            ramp_limit_mw_per_s: 1.0,
            drop_mw: 10.0,
            drop_within_s: 1.0,
            seed: 1,
        }
    }
}

/// One series' outcome: its shape, spectrum and the work done.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    /// `baseline` or the mitigation.
    pub name: String,
    /// What it does.
    pub what: String,
    /// Range, energy and ramps of what the grid draws.
    #[serde(flatten)]
    pub shape: Shape,
    /// Its strongest frequency, Hz.
    pub peak_hz: f64,
    /// Share of its variance in the spectrum's band (`spectrum.band_hz`).
    pub band_fraction: f64,
    /// Its RMS in the spectrum's band, MW.
    pub band_rms_mw: f64,
    /// The restart's own climb, MW/s: the steepest rise of what the grid draws,
    /// averaged over a step, from one step to the next, from the failure until
    /// [`RAMP_IN_S`] after training resumes (the span a staggered restart ramps the job
    /// back in over), each series from its own failure. Averaged over a step, so that
    /// training's ripple (which sets the window's rise) is left out: what remains is the
    /// site's climb back to training power. None without a failure, or where training
    /// does not resume within the window.
    pub restart_climb_mw_per_s: Option<f64>,
    /// Training steps done in the window.
    pub steps_done: f64,
    /// Training steps done in the same window without the failure (the same jitter),
    /// where the costs below are measured: a failure strikes each series at its own
    /// worst moment, so their steps before it differ by up to a step.
    pub unfailed_steps: f64,
    /// The site's energy per step in the window without the failure, MWh (every row
    /// alike): the job's and what the rest of the site draws meanwhile.
    pub mwh_per_step: f64,
    /// Energy it costs: (its MWh per step − the baseline's) x its steps, MWh, over the
    /// window without the failure; the stagger's (which acts after a restart only) over
    /// the window with it. The battery's: its losses (the charge left in it at the end
    /// is not a cost).
    pub energy_cost_mwh: f64,
    /// The same, relative to the baseline's energy per step.
    pub energy_cost: f64,
    /// Step time it costs: the baseline's steps over its own, − 1, in the window
    /// `energy_cost_mwh` is counted over.
    pub step_time_cost: f64,
}

/// A load of the site.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Component {
    /// Name.
    pub name: String,
    /// Its time constant, s.
    pub tau_s: f64,
    /// Mean, MW.
    pub mean_mw: f64,
    /// Lowest, MW.
    pub min_mw: f64,
    /// Highest, MW.
    pub max_mw: f64,
}

/// The failure in the window.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FailureSummary {
    /// When the job failed, s: the worst moment for the grid within the step under way
    /// from `asked_s` (the sample edge where the GPUs draw most), found in each
    /// mitigation's series at its own peak.
    pub at_s: f64,
    /// When the failure was asked for (`--failure-at`), s.
    pub asked_s: f64,
    /// Seconds idle: detect, reschedule, reload.
    pub down_s: f64,
    /// Seconds of warm-up.
    pub warmup_s: f64,
    /// The fall seen, MW: the largest fall within the drops' span (`drops.within_s`)
    /// ending within 1 s after it, as the drops measure falls (so at most their largest).
    pub drop_mw: f64,
}

/// The answer to "what does the grid see?": its serde output is `power --json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GridReport {
    /// Scenario name.
    pub scenario: String,
    /// Whether the plan fits in GPU memory (`simulate`'s `fits`): `false` only when the
    /// caller ran it anyway, and then the first note warns.
    pub fits: bool,
    /// Window computed, s: the one asked for rounded up to a whole number of bins.
    pub window_s: f64,
    /// Window asked for, s.
    pub window_asked_s: f64,
    /// Bin width, s.
    pub resolution_s: f64,
    /// Bins.
    pub samples: u64,
    /// Seed of the jitter.
    pub seed: u64,
    /// Job GPUs.
    pub job_gpus: u64,
    /// Site GPUs.
    pub site_gpus: u64,
    /// Step time, s, and its p10-p90 band (`simulate`'s).
    pub step_s: f64,
    /// 10th percentile, s.
    pub step_p10_s: f64,
    /// 90th percentile, s.
    pub step_p90_s: f64,
    /// 1 / step time, Hz.
    pub step_hz: f64,
    /// The mean step in the headline series, s: under a cap, which slows compute,
    /// `step_s` x (1 + the cap's step-time cost); else `step_s`. Its spectrum's lines
    /// are this step's harmonics.
    pub headline_step_s: f64,
    /// The mitigation in the headline figures (none: the site as it is).
    pub mitigation: Option<Mitigation>,
    /// Range, energy and ramps of the facility power the grid sees.
    #[serde(flatten)]
    pub shape: Shape,
    /// The grid's ramp limit, MW/s.
    pub ramp_limit_mw_per_s: f64,
    /// Seconds ramping faster than the limit.
    pub over_ramp_limit_s: f64,
    /// Spectrum.
    pub spectrum: Spectrum,
    /// Sudden drops.
    pub drops: Drops,
    /// The failure, if one is in the window.
    pub failure: Option<FailureSummary>,
    /// Checkpoint interval, s of training, and stall, s.
    pub checkpoint_every_s: f64,
    /// Stall per checkpoint, s.
    pub checkpoint_stall_s: f64,
    /// The power model's energy over the window (the site's average facility power
    /// while training x window), MWh: a series without failure integrates to it.
    pub power_model_mwh: f64,
    /// The site's loads in the headline series.
    pub components: Vec<Component>,
    /// The battery that holds the site's ramps to the limit (sized on the baseline).
    pub battery: Battery,
    /// The site as it is.
    pub baseline: Outcome,
    /// Each mitigation against the baseline.
    pub mitigations: Vec<Outcome>,
    /// How the scenario was resolved (as `simulate`'s notes say it, first), what was
    /// changed from the options asked (the window rounded up to whole samples, the
    /// drops' span raised to one sample) and what to mistrust (aliasing).
    pub notes: Vec<String>,
    /// The headline series (CSV and charts; not in the JSON).
    #[serde(skip)]
    pub series: Series,
    /// The battery's discharge in the headline series, MW (with the battery only).
    #[serde(skip)]
    pub battery_mw: Option<Vec<f64>>,
    /// The baseline's facility series, for charts.
    #[serde(skip)]
    pub baseline_mw: Vec<f64>,
}

/// Bins of a window of `w` s at `r` s: rounded up, so the window computed covers the
/// one asked for (a hair over a whole number is taken as whole).
fn samples(w: f64, r: f64) -> f64 {
    (w / r - 1e-9).ceil().max(1.0)
}

/// The resolution of a window when none is given: 100 ms (the window, if shorter), or
/// for a window too long for that many samples the next 1-2-5 step that keeps it within
/// [`MAX_SAMPLES`].
pub fn default_resolution(window_s: f64) -> f64 {
    let least = window_s / MAX_SAMPLES as f64;
    if !(least > DEFAULT_RESOLUTION_S && least.is_finite()) {
        return if window_s > 0.0 {
            window_s.min(DEFAULT_RESOLUTION_S)
        } else {
            DEFAULT_RESOLUTION_S
        };
    }
    let decade = 10f64.powf(least.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|k| k * decade)
        .find(|&r| r >= least)
        .unwrap_or(10.0 * decade)
}

/// A duration as an error shows it: in seconds, and in the larger unit it was likely
/// given in (`--window 30d` is refused as `2592000 s (30 d)`).
fn given(s: f64) -> String {
    let larger = [(86_400.0, "d"), (3_600.0, "h"), (60.0, "min")]
        .into_iter()
        .find(|(unit, _)| s.abs() >= *unit);
    match larger {
        Some((unit, name)) => format!("{s} s ({} {name})", (s / unit * 1e3).round() / 1e3),
        None => format!("{s} s"),
    }
}

/// Bins of the window, or the error naming the option out of range.
pub fn check(o: &PowerOptions) -> Result<u64> {
    let (w, r) = (o.window_s, o.resolution_s);
    // A window holds at least one sample, of at least 1 ms.
    if !(w.is_finite() && (MIN_RESOLUTION_S..=MAX_WINDOW_S).contains(&w)) {
        return Err(Error::invalid(
            "window",
            given(w),
            "a duration from 1 ms to 7 d",
        ));
    }
    if !(r.is_finite() && (MIN_RESOLUTION_S..=w).contains(&r)) {
        return Err(Error::invalid(
            "resolution",
            given(r),
            format!("a duration from 1 ms to the window, {}", given(w)),
        ));
    }
    let n = samples(w, r);
    if n > MAX_SAMPLES as f64 {
        return Err(Error::invalid(
            "resolution",
            given(r),
            format!(
                "at most {MAX_SAMPLES} samples per window: at least {} s for a window of {}",
                w / MAX_SAMPLES as f64,
                given(w)
            ),
        ));
    }
    if let Some(f) = o
        .failure_at_s
        .filter(|f| !(f.is_finite() && *f > 0.0 && *f < w))
    {
        return Err(Error::invalid(
            "failure_at",
            given(f),
            format!("a time within the window, above 0 (at 0 the job would be down from the start, with no fall to see) and below {}", given(w)),
        ));
    }
    let l = o.ramp_limit_mw_per_s;
    if !(l.is_finite() && l > 0.0 && l <= 1e6) {
        return Err(Error::invalid("ramp_limit", l, "MW/s above 0, at most 1e6"));
    }
    if !(o.drop_mw.is_finite() && (0.0..=1e6).contains(&o.drop_mw)) {
        return Err(Error::invalid("drop_mw", o.drop_mw, "MW from 0 to 1e6"));
    }
    let d = o.drop_within_s;
    if !(d.is_finite() && d > 0.0 && d <= MAX_WINDOW_S) {
        return Err(Error::invalid(
            "drop_within",
            given(d),
            "a duration above 0, at most 7 d",
        ));
    }
    Ok(n.max(1.0) as u64)
}

/// The grid's view of a scenario's site over a window.
pub fn power(sc: &Scenario, o: &PowerOptions) -> Result<GridReport> {
    let n = check(o)?;
    let r = simulate(sc, &SimulateOptions::default())?;
    let dt = o.resolution_s;
    let window = crate::units::to_whole_ns(dt * n as f64);
    if window / r.step.band.p10_s > MAX_STEPS {
        return Err(Error::invalid(
            "window",
            o.window_s,
            format!("at most {MAX_STEPS} steps of {:.3} s", r.step.time_s),
        ));
    }
    let profile = profile(&r, dt);
    let base = Base::of(sc, &r, &profile, o, n);
    let runs: Vec<(Option<Mitigation>, Series)> = std::iter::once(None)
        .chain(Mitigation::ALL.into_iter().map(Some))
        .filter(|m| *m != Some(Mitigation::Battery))
        .map(|m| (m, base.run(m)))
        .collect();
    let ramps = training_ramps(&r, &base.inputs);
    let mut report = assemble(sc, &r, o, base, runs, window);
    report
        .notes
        .extend(ramps.and_then(|x| underseen_ramp_note(x, window, o.ramp_limit_mw_per_s)));
    report.notes.extend(unmodelled_failures_note(
        window,
        r.reliability.failures.job_mtbf_hours,
        report.failure.is_some(),
    ));
    report.notes.extend(battery_duty_note(&report.battery));
    let run_s = r.run.days_p50 * 86_400.0;
    if window > run_s {
        report.notes.push(format!(
            "the window ({} h) outlasts the run ({} h, p50 with failures): the series trains throughout, as a site that runs the job again would; its energy is not the run's (`simulate` gives that)",
            crate::text::sig3(window / 3600.0),
            crate::text::sig3(run_s / 3600.0)
        ));
    }
    Ok(report)
}

/// The shortest a grid Li-ion battery (Megapack class) runs at its rated power, h: such
/// storage is built for 2-4 h, at most 0.5 C ⚠ (an estimate: facts.md §13 gives Megapack
/// 2 XL's 3.9 MWh and Megapack 3's ~5 MWh but no MW rating; Colossus's 150 MW of
/// Megapacks beside >208 x 3.9 MWh, ~810 MWh, is about 5 h, same table ⚠).
pub const LI_ION_MIN_HOURS: f64 = 2.0;

/// Storage that runs at most this long at full power is a duty for supercapacitors or
/// flywheels (seconds to about 15 minutes ⚠, an estimate), not for Li-ion, s.
pub const SHORT_DUTY_S: f64 = 900.0;

/// A note when the battery sized runs at full power for less than Li-ion storage is
/// built for ([`LI_ION_MIN_HOURS`]): what such a battery would really be.
fn battery_duty_note(b: &Battery) -> Option<String> {
    if !(b.mw > 0.0 && b.mwh > 0.0) {
        return None;
    }
    let hours = b.mwh / b.mw;
    if hours >= LI_ION_MIN_HOURS {
        return None;
    }
    let sig3 = crate::text::sig3;
    let energy = |mwh: f64| match mwh < 1.0 {
        true => format!("{} kWh", sig3(mwh * 1e3)),
        false => format!("{} MWh", sig3(mwh)),
    };
    let c = 1.0 / hours;
    let seconds = hours * 3600.0;
    Some(format!(
        "the battery sized here ({} MW, {}) runs {} at full power, a {} C rate: grid Li-ion storage (Megapack class) is built for {LI_ION_MIN_HOURS:.0}-4 h at its rating (at most {} C ⚠), so a Li-ion battery of {} MW holds at least {}{}",
        sig3(b.mw),
        energy(b.mwh),
        match seconds < 60.0 {
            true => format!("{} s", sig3(seconds)),
            false => format!("{} min", sig3(seconds / 60.0)),
        },
        match c >= 1000.0 {
            true => crate::text::grouped(c.round() as u64),
            false => sig3(c),
        },
        1.0 / LI_ION_MIN_HOURS,
        sig3(b.mw),
        energy(b.mw * LI_ION_MIN_HOURS),
        match seconds <= SHORT_DUTY_S {
            true => ", and a duty of seconds to minutes is one for supercapacitors or flywheels ⚠",
            false => "",
        }
    ))
}

/// Where the window is long against the job's MTBF: the failures it expects that the
/// series leaves out (it models only the one `--failure-at` places), whose restarts
/// take draw off the site and put ramps on the grid.
fn unmodelled_failures_note(window_s: f64, mtbf_h: f64, modelled: bool) -> Option<String> {
    // Whether or not one is modelled: a window that expects a failure or more is long
    // against the MTBF either way (1.94 expected, one modelled, still leaves ~1 out).
    let expected = window_s / 3600.0 / mtbf_h;
    (expected.is_finite() && expected >= 1.0).then(|| {
        format!(
            "the job's MTBF is {}, so the window expects {} interruptions; the series models {}: the others' restarts, and the draw and ramps they bring, are not in its figures (`simulate` and `reliability` count them over the run)",
            match mtbf_h < 1.0 {
                true => format!("{} min", crate::text::sig3(mtbf_h * 60.0)),
                false => format!("{} h", crate::text::sig3(mtbf_h)),
            },
            crate::text::sig3(expected),
            if modelled {
                "only the one --failure-at places"
            } else {
                "none (--failure-at places one)"
            }
        )
    })
}

/// Steady training's fastest ramp over the same few steps, MW/s, at the report's
/// samples and at [`FINE_RESOLUTION_S`] ones (no checkpoint, failure, jitter or knob:
/// the step's own swings); `None` where the report's samples are that fine already.
fn training_ramps(r: &SimulationReport, inputs: &SeriesInputs) -> Option<RampsSeen> {
    let (dt, fine) = (inputs.dt, FINE_RESOLUTION_S);
    if dt <= fine * (1.0 + 1e-9) {
        return None;
    }
    // The fine figure spans the same steps whatever `dt` is, so it reads the same at
    // every resolution asked; the coarse one spans enough samples to see a ramp.
    let steps = (RAMP_PROBE_STEPS * r.step.time_s).min(RAMP_PROBE_MAX_SAMPLES * fine);
    let at = |dt: f64, span: f64| {
        let profile = profile(r, dt);
        let probe = SeriesInputs {
            dt,
            samples: series::bins_in(span, dt),
            profile: &profile,
            checkpoint: None,
            failure: None,
            knobs: Knobs::default(),
            ..inputs.clone()
        };
        let s = series::build(&probe, &mut || 1.0);
        grid::shape(&s.facility_mw, dt).ramp_max_mw_per_s
    };
    Some(RampsSeen {
        dt,
        at_dt: at(dt, steps.max(RAMP_PROBE_MIN_SAMPLES * dt)),
        fine,
        at_fine: at(fine, steps),
    })
}

/// Training's fastest ramp at two sample widths, MW/s.
#[derive(Debug, Clone, Copy)]
struct RampsSeen {
    dt: f64,
    at_dt: f64,
    fine: f64,
    at_fine: f64,
}

/// A note when fine samples see training ramp [`RAMP_UNDERSEEN`] times faster than
/// the report's samples do, and past the ramp limit (below it, finer samples would
/// find no time over it either, and no battery).
fn underseen_ramp_note(x: RampsSeen, window: f64, limit_mw_per_s: f64) -> Option<String> {
    let seen = x.at_fine > RAMP_UNDERSEEN * x.at_dt && x.at_fine > limit_mw_per_s;
    if !seen || x.at_fine.is_nan() {
        return None;
    }
    let sig3 = crate::text::sig3;
    let longest = MAX_SAMPLES as f64 * x.fine;
    let how = if window > longest {
        format!(
            "to see them, use a window of at most {} s ({:.1} h) at {} s samples",
            crate::text::grouped(longest as u64),
            longest / 3600.0,
            x.fine
        )
    } else {
        format!("to see them, use a resolution of {} s", x.fine)
    };
    Some(format!(
        "ramps are measured between samples, and this job's power swings faster than {} s ones follow: training alone (no checkpoint or failure) ramps at up to {} MW/s at {} s samples, {} MW/s at these; the time over the ramp limit, the battery and the mitigations' ramps are judged at {} s, so they understate the swings: {how}",
        x.dt,
        sig3(x.at_fine),
        x.fine,
        sig3(x.at_dt),
        x.dt,
    ))
}

/// The step's busy profile in at most [`PROFILE_BINS`] bins, from the timeline (else
/// from the phases).
fn profile(r: &SimulationReport, dt: f64) -> BusyProfile {
    let step_s = r.step.time_s;
    let bins = ((8.0 * step_s / dt).ceil() as usize).clamp(8, PROFILE_BINS);
    match &r.timeline {
        Some(tl) => crate::run::busy_profile(tl, r.plan.plan.pp, bins),
        None => phases_profile(&r.step_result, bins),
    }
}

/// A profile from the step's phases (closed form): each bin in the phase at its middle.
fn phases_profile(step: &crate::step::StepResult, bins: usize) -> BusyProfile {
    let phases = crate::run::step_phases(step);
    let total = step.time.0.max(1e-12);
    let samples = (0..bins)
        .map(|k| {
            let mid = (k as f64 + 0.5) / bins as f64 * total;
            let mut t = 0.0;
            let state = phases
                .iter()
                .find(|p| {
                    t += p.seconds;
                    mid < t
                })
                .map_or(GpuState::Wait, |p| p.state);
            Busy {
                compute: f64::from(u8::from(state == GpuState::Compute)),
                memory: f64::from(u8::from(state == GpuState::Memory)),
            }
        })
        .collect();
    BusyProfile {
        step_s: total,
        samples,
    }
}

/// What every series of the report shares.
struct Base<'a> {
    inputs: SeriesInputs<'a>,
    time: f64,
    paced: f64,
    gpus: u64,
    seed: u64,
}

impl<'a> Base<'a> {
    fn of(
        sc: &Scenario,
        r: &SimulationReport,
        profile: &'a BusyProfile,
        o: &PowerOptions,
        n: u64,
    ) -> Base<'a> {
        let pw = &r.power.report;
        let f = &r.reliability.failures;
        let warmup_s = sc.reliability.warmup_min * 60.0;
        let restart_s = f.restart_min * 60.0;
        let bd = &r.step_result.breakdown;
        Base {
            inputs: SeriesInputs {
                dt: o.resolution_s,
                samples: n as usize,
                profile,
                job_gpus: r.run.gpus as f64,
                tdp_w: sc.cluster.gpu.tdp.0,
                loads: pw.site.loads(pw.pue),
                checkpoint: Some((f.checkpoint_interval_min * 60.0, f.checkpoint_stall_s)),
                failure: o.failure_at_s.map(|at_s| Failure {
                    at_s,
                    down_s: (restart_s - warmup_s).max(0.0),
                    warmup_s: warmup_s.min(restart_s),
                }),
                knobs: Knobs::default(),
            },
            time: r.step.time_s,
            paced: (bd.compute + bd.bubble + bd.optimizer).0,
            gpus: r.run.gpus,
            seed: o.seed,
        }
    }

    /// The series under a mitigation of the GPUs (the battery acts after, on the grid).
    fn run(&self, m: Option<Mitigation>) -> Series {
        let knobs = match m {
            Some(Mitigation::Floor) => Knobs {
                floor: Some(FLOOR_OF_TDP),
                ..Default::default()
            },
            Some(Mitigation::Cap) => Knobs {
                cap: Some(CAP_OF_TDP),
                ..Default::default()
            },
            Some(Mitigation::Stagger) => Knobs {
                ramp_in: Some((gpu_phase::COMM_WAIT, RAMP_IN_S)),
                ..Default::default()
            },
            _ => Knobs::default(),
        };
        let inputs = SeriesInputs {
            knobs,
            ..self.inputs.clone()
        };
        // Each step's time: a quantile of the slowest GPU, drawn with the seed.
        let mut rng = SplitMix64::new(self.seed);
        let (time, paced, gpus) = (self.time, self.paced, self.gpus);
        let mut scale = || {
            let q = rng.next_f64().clamp(1e-9, 1.0 - 1e-9);
            StepBand::at(time, paced, gpus, q) / time
        };
        series::build(&inputs, &mut scale)
    }
}

/// What training did in a window: its steps, and its steps and facility energy in the
/// same window without the failure, where a mitigation's costs are measured (a failure
/// strikes each series at its own worst moment, so their steps before it differ).
#[derive(Debug, Clone, Copy)]
struct Work {
    steps: f64,
    unfailed_steps: f64,
    unfailed_mwh: f64,
}

impl Work {
    fn of(s: &Series) -> Work {
        Work {
            steps: s.steps_done,
            unfailed_steps: s.unfailed_steps,
            unfailed_mwh: s.unfailed_mwh,
        }
    }
}

/// The restart's climb in `mw` (bins of `dt`) for the failure `f` struck at `at_s`:
/// the steepest rise of the mean over one step (`step_s`, in whole bins, at least one)
/// to the next, from the failure to [`RAMP_IN_S`] after training resumes; none where
/// it does not resume within the series.
fn restart_climb(mw: &[f64], dt: f64, at_s: f64, f: Failure, step_s: f64) -> Option<f64> {
    let resumed = at_s + f.down_s + f.warmup_s;
    let n = mw.len();
    if resumed >= n as f64 * dt {
        return None;
    }
    let w = ((step_s / dt).round() as usize).max(1);
    let from = ((at_s / dt).floor() as usize).min(n - 1);
    // The last step compared ends a step past the ramp-in's end.
    let to = ((((resumed + RAMP_IN_S) / dt).ceil() as usize) + w).min(n);
    // Sums over [0, k): a step's mean is a difference of two.
    let mut sums = Vec::with_capacity(to - from + 1);
    sums.push(0.0);
    for &x in &mw[from..to] {
        sums.push(sums[sums.len() - 1] + x);
    }
    let bins = sums.len() - 1;
    let climb = (0..(bins + 1).saturating_sub(2 * w))
        .map(|k| {
            let (a, b) = (sums[k + w] - sums[k], sums[k + 2 * w] - sums[k + w]);
            (b - a) / (w * w) as f64 / dt
        })
        .fold(0.0, f64::max);
    Some(climb)
}

/// The outcome of a series of what the grid draws; `restart`: the failure, when it
/// struck this series and the step's time.
fn outcome(
    name: &str,
    what: String,
    grid_mw: &[f64],
    dt: f64,
    work: Work,
    from_hz: f64,
    restart: Option<(Failure, f64, f64)>,
) -> Outcome {
    let shape = grid::shape(grid_mw, dt);
    let sp = grid::spectrum(grid_mw, dt, from_hz);
    Outcome {
        name: name.into(),
        what,
        mwh_per_step: if work.unfailed_steps > 0.0 {
            work.unfailed_mwh / work.unfailed_steps
        } else {
            0.0
        },
        shape,
        peak_hz: sp.peak_hz,
        band_fraction: sp.band_fraction,
        band_rms_mw: sp.band_rms_mw,
        restart_climb_mw_per_s: restart
            .and_then(|(f, at, step_s)| restart_climb(grid_mw, dt, at, f, step_s)),
        steps_done: work.steps,
        unfailed_steps: work.unfailed_steps,
        energy_cost_mwh: 0.0,
        energy_cost: 0.0,
        step_time_cost: 0.0,
    }
}

/// Costs of `m` against `base`. A mitigation that acts throughout (a floor, a cap) is
/// measured on training, without the failure: each series is struck at its own worst
/// moment, so their steps before it differ. One that acts only after a restart (the
/// stagger; the same series as the baseline's until then, struck at the same moment)
/// is measured over the window with the failure, where its cost lies.
fn with_costs(mut m: Outcome, base: &Outcome, after_restart: bool) -> Outcome {
    let per_step = |o: &Outcome| o.shape.energy_mwh / o.steps_done.max(1e-300);
    let (mine, theirs) = if after_restart {
        (
            (m.steps_done, per_step(&m)),
            (base.steps_done, per_step(base)),
        )
    } else {
        (
            (m.unfailed_steps, m.mwh_per_step),
            (base.unfailed_steps, base.mwh_per_step),
        )
    };
    if theirs.1 > 0.0 && mine.0 > 0.0 {
        m.energy_cost_mwh = (mine.1 - theirs.1) * mine.0;
        m.energy_cost = mine.1 / theirs.1 - 1.0;
        m.step_time_cost = theirs.0 / mine.0 - 1.0;
    }
    m
}

/// The baseline's outcome and each mitigation's against it (the battery's from the
/// grid's draw behind it).
fn outcomes(
    runs: &[(Option<Mitigation>, Series)],
    grid_mw: &[f64],
    battery: &Battery,
    o: &PowerOptions,
    from_hz: f64,
    failure: Option<Failure>,
    step_s: f64,
) -> (Outcome, Vec<Outcome>) {
    let (dt, limit) = (o.resolution_s, o.ramp_limit_mw_per_s);
    let base = &runs[0].1;
    let what = "the site as it is".to_string();
    // Each series is struck at its own worst moment; the battery's grid at the
    // baseline's.
    let restart = |s: &Series| failure.zip(s.failed_at_s).map(|(f, at)| (f, at, step_s));
    let baseline = outcome(
        "baseline",
        what,
        &base.facility_mw,
        dt,
        Work::of(base),
        from_hz,
        restart(base),
    );
    let rows = Mitigation::ALL.into_iter().map(|m| {
        let (mw, series) = match runs.iter().find(|x| x.0 == Some(m)) {
            Some((_, s)) => (&s.facility_mw[..], s),
            None => (grid_mw, base),
        };
        let work = Work::of(series);
        let mut what = m.what(limit);
        let window = base.facility_mw.len() as f64 * dt;
        // A restart past the window's end: the battery is sized for the fall alone.
        if let Some(f) = failure.filter(|f| f.at_s + f.down_s + f.warmup_s >= window) {
            if m == Mitigation::Battery {
                what.push_str(&format!(
                    " (sized for the failure's fall alone: training resumes {:.0} s after it, past this {:.0} s window, and the climb back, which draws on the battery too, is left out: lengthen --window)",
                    f.down_s + f.warmup_s,
                    window
                ));
            }
        }
        if m == Mitigation::Stagger {
            match failure {
                None if o.failure_at_s.is_some() => {
                    what.push_str(" (no restart in this window: the failure asked is left out, as a note says)")
                }
                None => what.push_str(" (no restart in this window: give --failure-at)"),
                // The cap ramps from when training resumes, after the warm-up.
                Some(f) if f.at_s + f.down_s + f.warmup_s >= window => what.push_str(&format!(
                    " (training resumes {:.0} s after the failure, its restart and warm-up done, past this {:.0} s window: lengthen --window)",
                    f.down_s + f.warmup_s,
                    window
                )),
                Some(_) => {}
            }
        }
        let mut row = outcome(m.name(), what, mw, dt, work, from_hz, restart(series));
        if m == Mitigation::Battery && work.unfailed_steps > 0.0 {
            // Its cost is its losses: the grid's energy less the charge left in it
            // (which the next window draws back), not the grid's energy as such.
            row.mwh_per_step = (work.unfailed_mwh + battery.losses_mwh) / work.unfailed_steps;
        }
        with_costs(row, &baseline, m == Mitigation::Stagger)
    });
    let rows = rows.collect();
    (baseline, rows)
}

/// The report from the baseline and the mitigated series.
fn assemble(
    sc: &Scenario,
    r: &SimulationReport,
    o: &PowerOptions,
    base: Base,
    runs: Vec<(Option<Mitigation>, Series)>,
    window: f64,
) -> GridReport {
    let dt = o.resolution_s;
    let limit = o.ramp_limit_mw_per_s;
    let base_mw = &runs[0].1.facility_mw;
    let (grid_mw, battery) = grid::battery(
        base_mw,
        runs[0].1.steady_mw(),
        dt,
        limit,
        grid::ROUND_TRIP_EFFICIENCY,
    );
    let step_hz = 1.0 / r.step.time_s.max(1e-12);
    let from_hz = grid::BAND_HZ[0].min(step_hz / 2.0);
    // The failure as modelled: none where it found no moment to strike.
    let struck = base
        .inputs
        .failure
        .filter(|_| runs[0].1.failed_at_s.is_some());
    let (baseline, mitigations) =
        outcomes(&runs, &grid_mw, &battery, o, from_hz, struck, r.step.time_s);
    let chosen = o.mitigation;
    // Only a cap changes the step's time (a stagger's cost is steps lost in a restart).
    let headline_step_s = mitigations
        .iter()
        .find(|m| chosen == Some(Mitigation::Cap) && m.name == Mitigation::Cap.name())
        .map_or(r.step.time_s, |m| r.step.time_s * (1.0 + m.step_time_cost));
    let (series, battery_mw) = headline(&runs, chosen, &grid_mw);
    let shape = grid::shape(&series.facility_mw, dt);
    let drops = grid::drops(
        &series.facility_mw,
        dt,
        o.drop_mw,
        o.drop_within_s.min(window),
    );
    let mut notes = notes(o, window, series.facility_mw.len(), &drops, step_hz);
    // A plan that does not fit (run anyway) or fills the GPU: first, as `simulate` says it.
    notes.splice(0..0, super::simulate::memory_warning(sc, &r.memory));
    let failure = base.inputs.failure.and_then(|f| {
        let Some(at_s) = series.failed_at_s else {
            notes.push(format!(
                "the failure asked at {} s finds no moment to strike that leaves the {} s its fall is seen in before the window ends: none is modelled; give an earlier --failure-at or a longer --window",
                f.at_s,
                series::FALL_SEEN_S
            ));
            return None;
        };
        Some(failure_summary(&series.facility_mw, dt, f, at_s, drops.within_s))
    });
    GridReport {
        scenario: sc.name.clone(),
        fits: r.fits,
        window_s: window,
        window_asked_s: o.window_s,
        notes,
        resolution_s: dt,
        samples: series.facility_mw.len() as u64,
        seed: o.seed,
        job_gpus: r.run.gpus,
        site_gpus: r.power.report.site.gpus,
        step_s: r.step.time_s,
        step_p10_s: r.step.band.p10_s,
        step_p90_s: r.step.band.p90_s,
        step_hz,
        headline_step_s,
        mitigation: chosen,
        over_ramp_limit_s: over_limit(&series.facility_mw, dt, limit),
        ramp_limit_mw_per_s: limit,
        spectrum: grid::spectrum_with_width(
            &series.facility_mw,
            dt,
            from_hz,
            (r.step.band.p90_s - r.step.band.p10_s) / r.step.time_s.max(1e-300),
        ),
        drops,
        failure,
        checkpoint_every_s: r.reliability.failures.checkpoint_interval_min * 60.0,
        checkpoint_stall_s: r.reliability.failures.checkpoint_stall_s,
        power_model_mwh: r.power.report.site.facility_mw * window / 3600.0,
        components: components(&series),
        battery,
        baseline,
        mitigations,
        shape,
        baseline_mw: base_mw.clone(),
        series,
        battery_mw,
    }
}

/// Harmonics of the step rate checked against the Nyquist frequency: the default job's
/// spectrum peaks at its third.
pub const ALIAS_HARMONICS: u32 = 3;

/// What the report changed from the options, and what it cannot see.
fn notes(o: &PowerOptions, window: f64, n: usize, d: &Drops, step_hz: f64) -> Vec<String> {
    let dt = o.resolution_s;
    let mut v = Vec::new();
    if (window - o.window_s).abs() > 1e-9 * o.window_s {
        let s = crate::units::to_whole_ns;
        v.push(format!(
            "the window of {} s is not a whole number of {} s samples: computed {} s ({n} samples), rounded up",
            s(o.window_s),
            s(dt),
            s(window)
        ));
    }
    let asked = o.drop_within_s.min(window);
    if (d.within_s - o.drop_within_s).abs() > 1e-9 * o.drop_within_s {
        let why = if o.drop_within_s > window {
            "longer than the window: cut to it"
        } else if asked < dt {
            "shorter than a sample: raised to one"
        } else {
            "cut to whole samples"
        };
        v.push(format!(
            "drops looked for within {} s, not {} s ({why})",
            d.within_s, o.drop_within_s
        ));
    }
    v.extend(alias_note(step_hz, dt));
    let nyquist = 0.5 / dt;
    if nyquist <= grid::BAND_HZ[0] {
        v.push(format!(
            "the {}-{} Hz band lies above the Nyquist frequency ({} Hz at {dt} s samples): its share and RMS read 0 because these samples cannot see it; use a resolution under {} s",
            grid::BAND_HZ[0],
            grid::BAND_HZ[1],
            crate::text::sig3(nyquist),
            0.5 / grid::BAND_HZ[0]
        ));
    }
    // A spectrum resolves frequencies 1 / window apart: below two steps a window cannot
    // tell the step rate from its neighbours.
    let steps = window * step_hz;
    if steps < 2.0 {
        v.push(format!(
            "the window holds {steps:.2} steps: too short for the spectrum to resolve the step rate ({} Hz; it resolves {} Hz); give a window of at least 2 steps ({:.3} s), better 10",
            crate::text::sig3(step_hz),
            crate::text::sig3(1.0 / window),
            2.0 / step_hz.max(1e-12)
        ));
    }
    v
}

/// A note when the step rate or one of its first [`ALIAS_HARMONICS`] harmonics lies
/// above the Nyquist frequency at `dt`: the lines seen below it are then aliases.
pub fn alias_note(step_hz: f64, dt: f64) -> Option<String> {
    let nyquist = 0.5 / dt;
    let h = (1..=ALIAS_HARMONICS).find(|&h| f64::from(h) * step_hz > nyquist)?;
    let what = match h {
        1 => "the step rate".to_string(),
        2 => "the step rate's 2nd harmonic".to_string(),
        3 => "the step rate's 3rd harmonic".to_string(),
        _ => format!("the step rate's {h}th harmonic"),
    };
    let finest = 1.0 / (2.0 * f64::from(ALIAS_HARMONICS) * step_hz);
    Some(format!(
        "aliasing: {what} ({} Hz) is above the Nyquist frequency ({} Hz at {} s samples): the spectrum's lines near it are aliases; use a finer resolution (at most {:.3} s to see {} harmonics of the step)",
        crate::text::sig3(f64::from(h) * step_hz),
        crate::text::sig3(nyquist),
        dt,
        finest,
        ALIAS_HARMONICS
    ))
}

/// The headline series: the baseline, or the chosen mitigation's (with the battery, the
/// grid's draw as facility and the battery's discharge beside it).
fn headline(
    runs: &[(Option<Mitigation>, Series)],
    chosen: Option<Mitigation>,
    grid_mw: &[f64],
) -> (Series, Option<Vec<f64>>) {
    if chosen == Some(Mitigation::Battery) {
        let mut s = runs[0].1.clone();
        let b = s
            .facility_mw
            .iter()
            .zip(grid_mw)
            .map(|(l, g)| l - g)
            .collect();
        s.facility_mw = grid_mw.to_vec();
        return (s, Some(b));
    }
    let s = runs.iter().find(|x| x.0 == chosen).map(|x| x.1.clone());
    (s.unwrap_or_else(|| runs[0].1.clone()), None)
}

/// Seconds in which the series ramps faster than `limit`.
fn over_limit(x: &[f64], dt: f64, limit: f64) -> f64 {
    x.windows(2)
        .filter(|w| (w[1] - w[0]).abs() / dt > limit * (1.0 + 1e-9))
        .count() as f64
        * dt
}

/// The failure's fall in the series, measured as drops are ([`grid::falls`] over the
/// same span): the largest fall ending within [`series::FALL_SEEN_S`] after it. So it is
/// one of the falls the drops count, and never more than their largest.
fn failure_summary(x: &[f64], dt: f64, f: Failure, at_s: f64, drop_span_s: f64) -> FailureSummary {
    let k = ((at_s / dt) as usize).min(x.len().saturating_sub(1));
    let end = (k + series::bins_in(series::FALL_SEEN_S, dt) + 1).min(x.len());
    // A fall ending at a bin looks back `span` bins: only those before `k` are needed.
    let span = grid::drop_bins(dt, drop_span_s);
    let from = k.saturating_sub(span);
    let drop_mw = grid::falls(&x[from..end], span)[k - from..]
        .iter()
        .cloned()
        .fold(0.0, f64::max);
    FailureSummary {
        at_s,
        asked_s: f.at_s,
        down_s: f.down_s,
        warmup_s: f.warmup_s,
        drop_mw,
    }
}

/// Each load of a series with its time constant.
fn components(s: &Series) -> Vec<Component> {
    use series::tau;
    [
        ("gpus", tau::GPU_S, &s.gpus_mw),
        ("hosts", tau::HOST_S, &s.hosts_mw),
        ("network", tau::NETWORK_S, &s.network_mw),
        ("storage", tau::STORAGE_S, &s.storage_mw),
        ("cooling and power delivery", tau::COOLING_S, &s.cooling_mw),
    ]
    .into_iter()
    .map(|(name, tau_s, v)| {
        let sh = grid::shape(v, s.dt);
        Component {
            name: name.into(),
            tau_s,
            mean_mw: sh.mean_mw,
            min_mw: sh.min_mw,
            max_mw: sh.peak_mw,
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, ScenarioLayers};

    fn default_scenario() -> Scenario {
        let file = scenario::scenario_preset(scenario::DEFAULT_SCENARIO).unwrap();
        scenario::build(&ScenarioLayers {
            file: Some(file),
            ..Default::default()
        })
        .unwrap()
    }

    fn opts(window_s: f64) -> PowerOptions {
        PowerOptions {
            window_s,
            ..Default::default()
        }
    }

    #[test]
    fn the_default_resolution_fits_every_window_the_bounds_allow() {
        assert_eq!(default_resolution(600.0), 0.1);
        assert_eq!(default_resolution(86_400.0), 0.1);
        assert_eq!(default_resolution(MAX_WINDOW_S), 0.5);
        for w in [1e-3, 1.0, 3_600.0, 250_000.0, 300_000.0, MAX_WINDOW_S] {
            let o = PowerOptions {
                window_s: w,
                resolution_s: default_resolution(w),
                ..Default::default()
            };
            assert!(check(&o).is_ok(), "{w} s: {:?}", check(&o));
        }
    }

    #[test]
    fn the_series_integrates_to_the_power_models_energy() {
        let r = power(&default_scenario(), &opts(600.0)).unwrap();
        let err = r.shape.energy_mwh / r.power_model_mwh - 1.0;
        assert!(
            err.abs() < 0.01,
            "{} vs {} MWh",
            r.shape.energy_mwh,
            r.power_model_mwh
        );
        // The parts add up to the facility, bin by bin.
        let s = &r.series;
        for k in [0, 100, 5999] {
            let parts =
                s.gpus_mw[k] + s.hosts_mw[k] + s.network_mw[k] + s.storage_mw[k] + s.cooling_mw[k];
            assert!((parts - s.facility_mw[k]).abs() < 1e-9);
        }
        assert_eq!(r.samples, 6000);
        assert!(
            r.shape.swing_mw > 10.0 && r.shape.peak_mw > r.shape.mean_mw,
            "{:?}",
            r.shape
        );
    }

    #[test]
    fn the_default_spectrum_peaks_at_the_step_rate_or_a_harmonic() {
        let r = power(&default_scenario(), &opts(600.0)).unwrap();
        let h = r.spectrum.peak_hz / r.step_hz;
        // Jitter spreads each line over a few bins of 1/600 Hz.
        let tol = 3.0 * r.spectrum.resolution_hz / r.step_hz * h.round().max(1.0);
        assert!(
            h.round() >= 1.0 && (h - h.round()).abs() < tol.max(0.02),
            "peak {} Hz, step {} Hz",
            r.spectrum.peak_hz,
            r.step_hz
        );
        assert!(
            r.spectrum.band_fraction > 0.5,
            "{:?}",
            r.spectrum.band_fraction
        );
        // A step's swing is a drop of more than 10 MW within a second, about once a step.
        let steps = r.window_s / r.step_s;
        assert!(r.drops.count as f64 > 0.5 * steps, "{:?}", r.drops);
    }

    #[test]
    fn a_failure_drops_the_job_to_idle_within_the_gpu_time_constant() {
        let sc = default_scenario();
        let o = PowerOptions {
            failure_at_s: Some(300.0),
            ..opts(900.0)
        };
        let r = power(&sc, &o).unwrap();
        let pw = simulate(&sc, &SimulateOptions::default())
            .unwrap()
            .power
            .report;
        let job_gpus_mw = pw.site.ledger[0].job_mw;
        let idle_mw = r.job_gpus as f64 * sc.cluster.gpu.tdp.0 * gpu_phase::IDLE / 1e6;
        let f = r.failure.as_ref().unwrap();
        // At the step's worst moment from 300 s on: within a step, at a sample's edge.
        assert!((300.0..300.0 + r.step_s).contains(&f.at_s), "{f:?}");
        assert_eq!(f.asked_s, 300.0);
        let k = (f.at_s / 0.1).round() as usize;
        assert!((f.at_s / 0.1 - k as f64).abs() < 1e-6, "{f:?}");
        // Within the GPU's time constant (a few bins at 100 ms), not the cooling's.
        let x = &r.series.facility_mw;
        let hi = x[k - 60..=k].iter().cloned().fold(0.0, f64::max);
        let lo = x[k..=k + 3].iter().cloned().fold(f64::MAX, f64::min);
        assert!(
            hi - lo >= job_gpus_mw - idle_mw,
            "{} < {} - {}",
            hi - lo,
            job_gpus_mw,
            idle_mw
        );
        // Measured as the drops are: one of them, from the second before it.
        assert!(
            f.drop_mw <= r.drops.largest_mw + 1e-9,
            "{f:?} {:?}",
            r.drops
        );
        assert!(f.drop_mw >= x[k - 1] - lo - 1e-9, "{f:?}");
        // Idle until the restart, then back to training.
        assert!(x[k + 10 * (f.down_s as usize) - 10] < x[k - 1] - 0.5 * (job_gpus_mw - idle_mw));
        assert!(
            r.baseline.steps_done < 900.0 / r.step_s - (f.down_s + f.warmup_s) / r.step_s + 2.0
        );
    }

    #[test]
    fn a_battery_sized_for_1_mw_per_s_holds_the_ramp() {
        let o = PowerOptions {
            mitigation: Some(Mitigation::Battery),
            failure_at_s: Some(200.0),
            ramp_limit_mw_per_s: 1.0,
            ..opts(1200.0)
        };
        let r = power(&default_scenario(), &o).unwrap();
        assert!(r.shape.ramp_max_mw_per_s <= 1.0 + 1e-9, "{:?}", r.shape);
        assert_eq!(r.over_ramp_limit_s, 0.0);
        assert!(r.baseline.shape.ramp_max_mw_per_s > 10.0);
        let b = &r.battery;
        assert!(b.mw > 10.0 && b.mwh > 0.0 && b.losses_mwh > 0.0, "{b:?}");
        let row = r.mitigations.iter().find(|m| m.name == "battery").unwrap();
        assert!(
            row.energy_cost_mwh > 0.0 && row.step_time_cost == 0.0,
            "{row:?}"
        );
    }

    /// The window opens in steady state: the grid at t = 0 knows nothing of a failure
    /// to come. Its opening mean once took in a fall within the first 300 s: with one at
    /// 1 minute of 15 the grid opened at 55.9 MW under a 74.6 MW load, the battery
    /// discharging for a minute before the failure, and its size hung on when it struck
    /// (499 kWh at 1 minute, 665 at 3, 466 at 10).
    #[test]
    fn a_battery_opens_steady_whenever_the_failure_strikes() {
        let sc = default_scenario();
        let run = |window_s: f64, at: Option<f64>| {
            let o = PowerOptions {
                mitigation: Some(Mitigation::Battery),
                failure_at_s: at,
                ..opts(window_s)
            };
            power(&sc, &o).unwrap()
        };
        let steady = run(900.0, None);
        // What the opening may legitimately differ by: the steady losses the grid opens
        // buying, which the span (sized on the whole window) sets; here 0.25 MW.
        let losses_mw = steady.battery.losses_mwh * 3600.0 / steady.window_s;
        assert!(losses_mw > 0.0);
        for at in [60.0, 180.0, 600.0] {
            let r = run(900.0, Some(at));
            let (g0, s0) = (r.series.facility_mw[0], steady.series.facility_mw[0]);
            assert!(
                (g0 - s0).abs() <= losses_mw,
                "failure at {at} s: the grid opens at {g0} MW, {s0} MW without it"
            );
        }
        // The battery's size: the failure's fall and the restart's climb, each taken at
        // the ramp limit (about ΔP² / 2L). In 30 minutes every restart here completes
        // (idle and warm-up take 10 minutes; in 15, the 10-minute failure's would not,
        // and its climb is then no part of the window). Where in the step ripple each
        // strikes may differ by what the steady job's battery holds: its ripple.
        let ripple_mwh = run(1800.0, None).battery.mwh;
        assert!(ripple_mwh > 0.0);
        let sizes: Vec<f64> = [60.0, 180.0, 600.0]
            .iter()
            .map(|&at| run(1800.0, Some(at)).battery.mwh)
            .collect();
        let (lo, hi) = sizes
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(lo > 100.0 * ripple_mwh, "{sizes:?} {ripple_mwh}");
        assert!(hi - lo <= ripple_mwh, "{sizes:?} MWh, ripple {ripple_mwh}");
    }

    /// The restart's climb leaves the ripple out: a jump back to training climbs by
    /// its size over a step, a ramp-in by its size over the ramp, whatever the ripple.
    #[test]
    fn a_restarts_climb_is_the_sites_not_the_ripples() {
        let (dt, step) = (0.1, 5.0);
        let ripple = |k: usize| if k % 50 < 40 { 10.0 } else { -10.0 };
        let f = Failure {
            at_s: 100.0,
            down_s: 50.0,
            warmup_s: 0.0,
        };
        // Training at 100 MW (±10: 400 MW/s between samples), down to 50 MW from
        // 100 s to 150 s, back at once or over the 60 s ramp-in.
        let series = |ramp_s: f64| -> Vec<f64> {
            (0..4000)
                .map(|k| {
                    let t = k as f64 * dt;
                    let up = match t {
                        t if t < 100.0 => 1.0,
                        t if t < 150.0 => 0.0,
                        t if ramp_s > 0.0 => ((t - 150.0) / ramp_s).min(1.0),
                        _ => 1.0,
                    };
                    50.0 + up * (50.0 + ripple(k))
                })
                .collect()
        };
        let jump = restart_climb(&series(0.0), dt, 100.0, f, step).unwrap();
        let ramp = restart_climb(&series(RAMP_IN_S), dt, 100.0, f, step).unwrap();
        // 50 MW over a step, and over the ramp (the ripple's mean moves with it).
        assert!((jump - 50.0 / step).abs() < 0.2 * 50.0 / step, "{jump}");
        assert!(ramp < 1.2 * 50.0 / RAMP_IN_S, "{ramp}");
        assert!(grid::shape(&series(0.0), dt).ramp_up_max_mw_per_s > 10.0 * jump);
        // Training that does not resume in the window has no restart to climb.
        assert!(restart_climb(&series(0.0)[..1400], dt, 100.0, f, step).is_none());
    }

    #[test]
    fn mitigations_trade_energy_or_time_for_smoothness() {
        let o = PowerOptions {
            failure_at_s: Some(100.0),
            ..opts(1800.0)
        };
        let r = power(&default_scenario(), &o).unwrap();
        let m = |n: &str| r.mitigations.iter().find(|m| m.name == n).unwrap();
        let b = &r.baseline;
        assert!(m("floor").shape.swing_mw < b.shape.swing_mw && m("floor").energy_cost > 0.0);
        assert!(m("floor").band_rms_mw < b.band_rms_mw);
        assert!(m("cap").shape.peak_mw < b.shape.peak_mw && m("cap").step_time_cost > 0.0);
        let st = m("stagger");
        assert!(
            st.step_time_cost > 0.0 && st.step_time_cost < 0.05,
            "{st:?}"
        );
        assert!(st.shape.ramp_max_mw_per_s <= b.shape.ramp_max_mw_per_s);
    }

    #[test]
    fn a_failure_lands_at_the_steps_worst_moment_whatever_second_is_asked() {
        let sc = default_scenario();
        let at = |t: f64| {
            power(
                &sc,
                &PowerOptions {
                    failure_at_s: Some(t),
                    ..opts(300.0)
                },
            )
            .unwrap()
        };
        let (a, b) = (at(60.0), at(60.3));
        let (fa, fb) = (a.failure.as_ref().unwrap(), b.failure.as_ref().unwrap());
        // The same moment of the same step, so the same fall and ramps.
        assert_eq!(fa.at_s, fb.at_s, "{fa:?} {fb:?}");
        assert_eq!(fa.drop_mw, fb.drop_mw);
        assert_eq!(a.baseline.shape, b.baseline.shape);
        for r in [&a, &b] {
            let f = r.failure.as_ref().unwrap();
            // One of the drops, the largest here (from the step's peak).
            assert!(
                (f.drop_mw - r.drops.largest_mw).abs() < 1e-9,
                "{f:?} {:?}",
                r.drops
            );
            // A cap lowers the peak the failure falls from: never a faster ramp.
            let cap = r.mitigations.iter().find(|m| m.name == "cap").unwrap();
            assert!(
                cap.shape.ramp_max_mw_per_s < r.baseline.shape.ramp_max_mw_per_s,
                "{:?} {:?}",
                cap.shape,
                r.baseline.shape
            );
        }
        // A cap's costs are training's, whenever the failure strikes (struck at its own
        // peak, the capped series trains more or less before it): as without one.
        let costs = |r: &GridReport| {
            let cap = r.mitigations.iter().find(|m| m.name == "cap").unwrap();
            (cap.energy_cost, cap.step_time_cost)
        };
        let none = power(&sc, &opts(300.0)).unwrap();
        for t in [60.0, 63.0, 65.0, 200.0] {
            let (e, s) = costs(&at(t));
            assert!((e - costs(&none).0).abs() < 1e-9 && (s - costs(&none).1).abs() < 1e-9);
        }
        // Too near the end to see its fall: left out, and said.
        let late = at(299.5);
        assert!(late.failure.is_none());
        assert!(late
            .notes
            .iter()
            .any(|n| n.contains("finds no moment to strike")));
    }

    #[test]
    fn deterministic_and_seeded() {
        let sc = default_scenario();
        let a = serde_json::to_string(&power(&sc, &opts(120.0)).unwrap()).unwrap();
        let b = serde_json::to_string(&power(&sc, &opts(120.0)).unwrap()).unwrap();
        assert_eq!(a, b);
        let c = PowerOptions {
            seed: 2,
            ..opts(120.0)
        };
        let c = serde_json::to_string(&power(&sc, &c).unwrap()).unwrap();
        assert_ne!(a, c);
        assert!(!a.contains("null") || a.contains("\"failure\":null"));
    }

    #[test]
    fn without_a_timeline_the_phases_make_the_profile() {
        let sc = default_scenario();
        let r = simulate(&sc, &SimulateOptions::default()).unwrap();
        let p = phases_profile(&r.step_result, 100);
        assert_eq!(p.samples.len(), 100);
        let bd = &r.step_result.breakdown;
        let compute: f64 = p.samples.iter().map(|b| b.compute).sum::<f64>() / 100.0;
        // The stages' mean compute, at most the critical stage's.
        let phases = crate::run::step_phases(&r.step_result);
        assert!(phases[0].seconds <= bd.compute.0);
        assert!(
            (compute - phases[0].seconds / p.step_s).abs() < 0.011,
            "{compute}"
        );
        let memory: f64 = p.samples.iter().map(|b| b.memory).sum::<f64>() / 100.0;
        assert!(
            (memory - bd.optimizer.0 / p.step_s).abs() < 0.011,
            "{memory}"
        );
    }

    #[test]
    fn bad_options_name_the_option() {
        let bad = |o: PowerOptions| check(&o).unwrap_err().to_string();
        assert!(bad(opts(0.0)).starts_with("window = 0"));
        assert!(bad(opts(f64::NAN)).starts_with("window"));
        let e = bad(PowerOptions {
            resolution_s: 700.0,
            ..opts(600.0)
        });
        assert!(e.starts_with("resolution = 700"), "{e}");
        let e = bad(PowerOptions {
            resolution_s: 0.001,
            ..opts(86_400.0)
        });
        assert!(e.contains("2000000 samples"), "{e}");
        let e = bad(PowerOptions {
            failure_at_s: Some(600.0),
            ..opts(600.0)
        });
        assert!(e.starts_with("failure_at = 600"), "{e}");
        assert_eq!(check(&opts(600.0)).unwrap(), 6000);
        let e = bad(PowerOptions {
            failure_at_s: Some(0.0),
            ..opts(600.0)
        });
        assert!(e.starts_with("failure_at = 0"), "{e}");
        // Rounded up, one way: 10 s at 3 s is 4 samples, 10 min at 7 s 86.
        let n = |w: f64, r: f64| {
            check(&PowerOptions {
                resolution_s: r,
                ..opts(w)
            })
            .unwrap()
        };
        assert_eq!((n(10.0, 3.0), n(600.0, 7.0), n(0.3, 0.1)), (4, 86, 3));
    }

    #[test]
    fn rounded_windows_and_raised_drop_spans_say_so() {
        let sc = default_scenario();
        let o = PowerOptions {
            resolution_s: 3.0,
            ..opts(10.0)
        };
        let r = power(&sc, &o).unwrap();
        assert_eq!((r.window_s, r.window_asked_s, r.samples), (12.0, 10.0, 4));
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("computed 12 s (4 samples), rounded up")),
            "{:?}",
            r.notes
        );
        // Drops within 1 s at 7 s samples: one sample, said.
        let o = PowerOptions {
            resolution_s: 7.0,
            ..opts(600.0)
        };
        let r = power(&sc, &o).unwrap();
        assert_eq!(r.drops.within_s, 7.0);
        assert!(
            r.notes.iter().any(|n| n.contains("within 7 s, not 1 s")),
            "{:?}",
            r.notes
        );
        // Drops within an hour in a 10-minute window: cut to the window, said.
        let o = PowerOptions {
            drop_within_s: 3600.0,
            ..opts(600.0)
        };
        let r = power(&sc, &o).unwrap();
        assert_eq!(r.drops.within_s, 600.0);
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("within 600 s, not 3600 s (longer than the window")),
            "{:?}",
            r.notes
        );
        // The default: nothing changed, nothing aliased; its one note is what its
        // battery (seconds at full power) would be.
        let notes = power(&sc, &opts(60.0)).unwrap().notes;
        assert!(
            notes.len() == 1 && notes[0].starts_with("the battery sized here ("),
            "{notes:?}"
        );
    }

    #[test]
    fn aliasing_is_flagged() {
        // A 1.9 s step at 1 s: 0.526 Hz > 0.5 Hz.
        let n = alias_note(1.0 / 1.9, 1.0).unwrap();
        assert!(
            n.contains("the step rate (0.526 Hz)") && n.contains("Nyquist frequency (0.500 Hz"),
            "{n}"
        );
        // The default's 5.5 s step at 1 s: its 3rd harmonic (0.54 Hz) is.
        assert!(alias_note(1.0 / 5.52, 1.0)
            .unwrap()
            .contains("3rd harmonic"));
        assert!(alias_note(1.0 / 5.52, 0.5).is_none());
        assert!(alias_note(1.0 / 1.9, 0.1).is_none());
    }

    #[test]
    fn coarse_samples_that_average_the_swings_away_say_so() {
        let sc = default_scenario();
        let at = |resolution_s: f64| {
            let o = PowerOptions {
                window_s: 60.0,
                resolution_s,
                ..Default::default()
            };
            let r = power(&sc, &o).unwrap();
            let note = r.notes.into_iter().find(|n| n.starts_with("ramps are"));
            (r.shape.ramp_max_mw_per_s, note)
        };
        // The default job's swings last longer than 100 ms: its samples see them.
        let (fine, none) = at(FINE_RESOLUTION_S);
        assert!(none.is_none());
        assert!(at(DEFAULT_RESOLUTION_S).1.is_none());
        // At 0.5 s they average them away, and the note gives both figures.
        let (coarse, note) = at(0.5);
        let note = note.expect("a note at 0.5 s samples");
        assert!(fine > RAMP_UNDERSEEN * coarse, "{fine} vs {coarse} MW/s");
        assert!(
            note.contains("at 0.01 s samples") && note.contains("use a resolution of 0.01 s"),
            "{note}"
        );
        // Past the samples a window holds at the fine width, the window is named.
        let x = RampsSeen {
            dt: 0.5,
            at_dt: 1.0,
            fine: 0.01,
            at_fine: 2.0,
        };
        let n = underseen_ramp_note(x, MAX_WINDOW_S, 1.0).unwrap();
        assert!(
            n.ends_with("a window of at most 20,000 s (5.6 h) at 0.01 s samples"),
            "{n}"
        );
        assert!(underseen_ramp_note(RampsSeen { at_fine: 1.2, ..x }, 60.0, 1.0).is_none());
        // Under the ramp limit even at fine samples: nothing is understated.
        assert!(underseen_ramp_note(x, 60.0, 2.5).is_none());
    }

    #[test]
    fn a_window_long_against_the_mtbf_says_what_it_leaves_out() {
        // The default job's MTBF is about half an hour: 10 minutes expect no failure,
        // a day expects dozens, of which the series models one at most.
        let sc = default_scenario();
        let mtbf_h = simulate(&sc, &SimulateOptions::default())
            .unwrap()
            .reliability
            .failures
            .job_mtbf_hours;
        assert!(unmodelled_failures_note(600.0, mtbf_h, false).is_none());
        let n = unmodelled_failures_note(86_400.0, mtbf_h, true).unwrap();
        assert!(
            n.contains(&format!(
                "expects {} interruptions",
                crate::text::sig3(24.0 / mtbf_h)
            )) && n.contains("only the one --failure-at places"),
            "{n}"
        );
        // Long against the MTBF, with a failure modelled or without: the note either way
        // (an hour of the default expects 1.94, of which --failure-at models one).
        for modelled in [true, false] {
            assert!(unmodelled_failures_note(1.5 * mtbf_h * 3600.0, mtbf_h, modelled).is_some());
            assert!(unmodelled_failures_note(0.9 * mtbf_h * 3600.0, mtbf_h, modelled).is_none());
        }
        let r = power(
            &sc,
            &PowerOptions {
                failure_at_s: Some(1200.0),
                ..opts(3600.0)
            },
        )
        .unwrap();
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("only the one --failure-at places")),
            "{:?}",
            r.notes
        );
    }

    /// A battery that runs seconds at full power is no Li-ion battery: the note says
    /// what one would be; a 2-hour one draws none.
    #[test]
    fn a_battery_that_no_li_ion_storage_is_built_for_says_so() {
        let b = |mw: f64, mwh: f64| Battery {
            mw,
            mwh,
            ..Default::default()
        };
        let n = battery_duty_note(&b(31.2, 0.0034)).unwrap();
        assert!(
            n.contains("(31.2 MW, 3.40 kWh) runs 0.392 s at full power, a 9,176 C rate")
                && n.contains("a Li-ion battery of 31.2 MW holds at least 62.4 MWh")
                && n.contains("supercapacitors or flywheels"),
            "{n}"
        );
        // An hour at full power: Li-ion-like, but twice the rate it is built for.
        let hour = battery_duty_note(&b(10.0, 10.0)).unwrap();
        assert!(
            hour.contains("runs 60.0 min") && !hour.contains("flywheels"),
            "{hour}"
        );
        assert!(battery_duty_note(&b(10.0, 10.0 * LI_ION_MIN_HOURS)).is_none());
        assert!(battery_duty_note(&b(0.0, 0.0)).is_none());
    }

    #[test]
    fn a_window_past_the_run_says_so() {
        let mut sc = default_scenario();
        let says = |sc: &Scenario| {
            power(sc, &opts(600.0))
                .unwrap()
                .notes
                .iter()
                .any(|n| n.starts_with("the window (0.167 h) outlasts the run ("))
        };
        assert!(!says(&sc));
        // Ten steps of about 5.6 s: a minute or so, under the 10-minute window.
        sc.run.tokens = 10.0 * (sc.run.global_batch * sc.run.seq_len) as f64;
        assert!(says(&sc));
    }

    #[test]
    fn the_battery_costs_its_losses_not_the_charge_left_in_it() {
        let sc = default_scenario();
        for w in [600.0, 1800.0] {
            let r = power(&sc, &opts(w)).unwrap();
            let row = r.mitigations.iter().find(|m| m.name == "battery").unwrap();
            let b = &r.battery;
            assert!(b.losses_mwh > 0.0);
            assert!(
                (row.energy_cost_mwh - b.losses_mwh).abs() < 1e-9,
                "{row:?} {b:?}"
            );
            // The grid's energy is the load's + the losses + the charge left.
            let left = row.shape.energy_mwh - r.baseline.shape.energy_mwh - b.losses_mwh;
            assert!((left - b.end_charge_mwh).abs() < 1e-6, "{left} {b:?}");
            // Losses are at most 1 − η of what went through: well under 1% here.
            assert!(row.energy_cost > 0.0 && row.energy_cost < 0.01, "{row:?}");
        }
    }
}
