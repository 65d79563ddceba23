//! The site's facility power as a time series, as the grid sees it.
//!
//! Built from plain inputs (the step's busy profile, the site's loads from
//! [`super::account`], checkpoint and restart times): training replays the step's
//! profile bin by bin, each step stretched by its own jitter factor; a checkpoint stalls
//! the GPUs at waiting power; a failure drops the job's GPUs to idle until the restart's
//! warm-up ramps them back. Each load then passes a first-order filter with its own time
//! constant ([`tau`]): the GPUs follow their work within tens of milliseconds, cooling
//! lags by about a minute. Each filter opens in the series' own steady state (a site
//! that has trained under the same knobs for a long time): the window's figures are the
//! mitigation's, not a relaxation from the unmitigated site's.
//!
//! Time is cut into `samples` equal bins of `dt`; each bin holds the exact integral of
//! the piecewise-constant draw over it, so the series integrates to the energy drawn.
//! Same inputs, same series: the only randomness is the jitter the caller passes in.

use super::{gpu_phase, Busy, BusyProfile, GpuState};

/// Time constants of the loads, seconds ⚠. None is published for a site (facts.md §13:
/// "Generators need 1-90 min to follow a ramp" is the grid's side); all are estimates.
pub mod tau {
    /// A GPU's board power follows its kernels within tens of ms (firmware power
    /// management loop and voltage regulators) ⚠.
    pub const GPU_S: f64 = 0.05;
    /// Host CPUs, memory and NVSwitches ⚠.
    pub const HOST_S: f64 = 0.5;
    /// NICs and switches ⚠.
    pub const NETWORK_S: f64 = 0.5;
    /// Storage servers ⚠.
    pub const STORAGE_S: f64 = 2.0;
    /// Cooling (pumps, fans, chillers follow the heat load) and power delivery ⚠.
    pub const COOLING_S: f64 = 60.0;
}

/// The site's loads besides the job's GPUs, MW (from the power model's ledger).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loads {
    /// GPUs outside the job, at idle power.
    pub idle_gpus_mw: f64,
    /// Hosts (CPU, memory, NVSwitch).
    pub hosts_mw: f64,
    /// NICs and switches.
    pub network_mw: f64,
    /// Storage.
    pub storage_mw: f64,
    /// Power usage effectiveness: cooling and delivery draw (PUE − 1) x IT.
    pub pue: f64,
}

/// A failure in the window: the job stops, restarts, warms up, trains again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failure {
    /// From when, s from the window's start: the job fails at the worst moment within
    /// a step from then ([`worst_moment`]: its peak, at a sample's edge).
    pub at_s: f64,
    /// Seconds with the job's GPUs idle (detect, reschedule, reload).
    pub down_s: f64,
    /// Seconds of warm-up: the GPUs ramp from idle to waiting power ⚠.
    pub warmup_s: f64,
}

/// Firmware and clock settings of the job's GPUs, as fractions of TDP.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Knobs {
    /// Power floor: no state draws less (NVML power smoothing's floor, facts.md §13).
    pub floor: Option<f64>,
    /// Power cap by clocks: compute slows by [`dvfs_speed`].
    pub cap: Option<f64>,
    /// After a restart the cap rises from this fraction to none over `.1` seconds
    /// (GB300's start-of-job power-cap ramp, facts.md §13).
    pub ramp_in: Option<(f64, f64)>,
}

/// What the series is made from.
#[derive(Debug, Clone)]
pub struct SeriesInputs<'a> {
    /// Bin width, s.
    pub dt: f64,
    /// Bins.
    pub samples: usize,
    /// The job's GPUs over one nominal step.
    pub profile: &'a BusyProfile,
    /// GPUs in the job.
    pub job_gpus: f64,
    /// TDP per GPU, W.
    pub tdp_w: f64,
    /// The other loads.
    pub loads: Loads,
    /// A checkpoint every so many seconds of training, stalling for `.1` seconds.
    pub checkpoint: Option<(f64, f64)>,
    /// A failure, if any.
    pub failure: Option<Failure>,
    /// GPU settings.
    pub knobs: Knobs,
}

/// The facility power and its parts, MW per bin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Bin width, s.
    pub dt: f64,
    /// Facility: the sum of the parts below.
    pub facility_mw: Vec<f64>,
    /// All GPUs of the site (the job's and the idle ones).
    pub gpus_mw: Vec<f64>,
    /// Hosts.
    pub hosts_mw: Vec<f64>,
    /// NICs and switches.
    pub network_mw: Vec<f64>,
    /// Storage.
    pub storage_mw: Vec<f64>,
    /// Cooling and power delivery.
    pub cooling_mw: Vec<f64>,
    /// Training steps done in the window (fractions count).
    pub steps_done: f64,
    /// When the job failed, s (its step's peak from the failure's time on), if within
    /// the window.
    pub failed_at_s: Option<f64>,
    /// Steps done in the same window without the failure (the same jitter): what a
    /// mitigation's costs are measured on, so they do not hang on when it struck.
    pub unfailed_steps: f64,
    /// The facility's energy in that window, MWh.
    pub unfailed_mwh: f64,
    /// The facility in that window, MW per bin, where there is a failure (empty
    /// without: the series itself): the steady site the window opens in, which the
    /// battery's controller knows at t = 0, the failure not.
    pub unfailed_mw: Vec<f64>,
}

/// Relative clock speed at a power cap, by P = P_idle + (P_max − P_idle)·(f/f_max)³:
/// dynamic power C·V²·f with voltage following frequency in the DVFS range (textbook
/// CMOS scaling ⚠; facts.md §13: H100 step time vs power limit not retrieved), the
/// static part taken as the idle draw ⚠. 1 at or above full compute draw.
pub fn dvfs_speed(cap: f64) -> f64 {
    let (idle, full) = (gpu_phase::IDLE, gpu_phase::COMPUTE);
    if cap >= full {
        return 1.0;
    }
    ((cap - idle).max(0.0) / (full - idle)).cbrt().max(0.05)
}

/// The first-order filter of time constant `tau` on bins of `dt`, exactly discretized
/// for an input constant over each bin, starting from `y0`.
pub fn first_order(x: &[f64], dt: f64, tau: f64, y0: f64) -> Vec<f64> {
    let a = if tau > 0.0 {
        1.0 - (-dt / tau).exp()
    } else {
        1.0
    };
    let mut y = y0;
    x.iter()
        .map(|&u| {
            y += a * (u - y);
            y
        })
        .collect()
}

/// Accumulates a piecewise-constant draw into equal bins, exactly.
struct Binner {
    dt: f64,
    acc: Vec<f64>,
    k: usize,
    filled: f64,
}

impl Binner {
    fn new(dt: f64, n: usize) -> Binner {
        Binner {
            dt,
            acc: vec![0.0; n],
            k: 0,
            filled: 0.0,
        }
    }
    fn now(&self) -> f64 {
        self.k as f64 * self.dt + self.filled
    }
    fn full(&self) -> bool {
        self.k >= self.acc.len()
    }
    /// Draws `mw` for `dur` seconds.
    fn push(&mut self, mut dur: f64, mw: f64) {
        while dur > 0.0 && !self.full() {
            let room = self.dt - self.filled;
            if dur >= room {
                self.acc[self.k] += mw * room;
                self.k += 1;
                self.filled = 0.0;
                dur -= room;
            } else {
                self.acc[self.k] += mw * dur;
                self.filled += dur;
                dur = 0.0;
            }
        }
    }
}

/// The job's GPUs: their draw per state under the knobs, and training's walk.
struct Gpus<'a> {
    inp: &'a SeriesInputs<'a>,
    steps_done: f64,
    since_checkpoint: f64,
}

impl Gpus<'_> {
    /// Draw of one GPU in `state` under `cap` (fraction of TDP) and the floor, W.
    fn state_w(&self, state: GpuState, cap: f64) -> f64 {
        let w = state.tdp_fraction().min(cap);
        self.inp.knobs.floor.map_or(w, |f| w.max(f)) * self.inp.tdp_w
    }
    /// The whole job's GPUs in `state`, MW.
    fn job_mw(&self, w: f64) -> f64 {
        self.inp.job_gpus * w / 1e6
    }
    /// The cap in force at `t`, with `resumed` the start of training (1 = none).
    fn cap_at(&self, t: f64, resumed: Option<f64>) -> f64 {
        let k = &self.inp.knobs;
        let ramp = match (k.ramp_in, resumed) {
            (Some((from, secs)), Some(t0)) if secs > 0.0 => {
                from + (1.0 - from) * ((t - t0) / secs).clamp(0.0, 1.0)
            }
            _ => 1.0,
        };
        k.cap.unwrap_or(1.0).min(ramp)
    }
    /// One profile bin of nominal `secs` under `cap`: its duration and mean MW.
    fn bin(&self, b: &Busy, secs: f64, cap: f64) -> (f64, f64) {
        let c = b.compute.clamp(0.0, 1.0);
        let m = b.memory.clamp(0.0, 1.0 - c);
        let r = dvfs_speed(cap);
        let dur = secs * (1.0 - c + c / r);
        let joules = secs
            * (c / r * self.state_w(GpuState::Compute, cap)
                + m * self.state_w(GpuState::Memory, cap)
                + (1.0 - c - m) * self.state_w(GpuState::Wait, cap));
        (dur, self.job_mw(joules / dur.max(1e-300)))
    }
    /// Trains from now until `until`, from a step's start; `scale` gives each step's
    /// time factor (jitter).
    fn train(
        &mut self,
        out: &mut Binner,
        until: f64,
        resumed: Option<f64>,
        scale: &mut dyn FnMut() -> f64,
    ) {
        let prof = self.inp.profile;
        let n = prof.samples.len().max(1) as f64;
        if prof.step_s.is_nan() || prof.step_s <= 0.0 || prof.samples.is_empty() {
            return;
        }
        while out.now() < until && !out.full() {
            self.checkpoint_if_due(out, until);
            let bin_s = prof.step_s * scale().max(1e-3) / n;
            for b in &prof.samples {
                let (dur, mw) = self.bin(b, bin_s, self.cap_at(out.now(), resumed));
                let left = until - out.now();
                if dur >= left {
                    out.push(left, mw);
                    self.steps_done += left / dur / n;
                    return;
                }
                out.push(dur, mw);
                self.steps_done += 1.0 / n;
                self.since_checkpoint += dur;
            }
        }
    }
    /// A checkpoint's stall, at a step boundary, when one is due.
    fn checkpoint_if_due(&mut self, out: &mut Binner, until: f64) {
        let Some((every, stall)) = self.inp.checkpoint else {
            return;
        };
        if every > 0.0 && self.since_checkpoint >= every {
            let w = self.state_w(GpuState::Wait, 1.0);
            out.push(stall.min(until - out.now()).max(0.0), self.job_mw(w));
            self.since_checkpoint = 0.0;
        }
    }
    /// Where a first-order filter of time constant `tau` fed the job's draw stands at
    /// t = 0, when the site has trained under these knobs for a long time: the periodic
    /// steady state of the cycle the window opens after (nominal steps until a
    /// checkpoint is due, then its stall; `since_checkpoint` is 0 at t = 0), found as
    /// the fixed point of the filter's exact response to that piecewise-constant draw.
    /// Not the unmitigated draw: a cap's site has long drawn less, a floor's more. The
    /// step's jitter is left out (each step's profile stretched alike draws the same
    /// mean), so is the restart's cap ramp (no restart before t = 0).
    fn steady_state(&self, tau: f64) -> f64 {
        let prof = self.inp.profile;
        if prof.step_s.is_nan() || prof.step_s <= 0.0 || prof.samples.is_empty() {
            // No training: the job draws nothing (as `train` pushes nothing).
            return 0.0;
        }
        // Over `secs` at `mw` the filter maps y to y·e^−x + mw·(1 − e^−x), x = secs/tau;
        // a sequence of spans composes into y -> y·e^−X + C. `kept` is 1 − e^−x, exact
        // for a filter far slower than the span (where the fixed point is the mean).
        let x = |secs: f64| match tau > 0.0 {
            true => secs / tau,
            false if secs > 0.0 => f64::INFINITY,
            false => 0.0,
        };
        let kept = |x: f64| -(-x).exp_m1();
        let cap = self.cap_at(0.0, None);
        let bin_s = prof.step_s / prof.samples.len() as f64;
        // One nominal step.
        let (mut big_x, mut c, mut step_s) = (0.0, 0.0, 0.0);
        for b in &prof.samples {
            let (dur, mw) = self.bin(b, bin_s, cap);
            let xi = x(dur);
            c = c * (-xi).exp() + mw * kept(xi);
            big_x += xi;
            step_s += dur;
        }
        let Some((every, stall)) = self.inp.checkpoint.filter(|c| c.0 > 0.0) else {
            return c / kept(big_x);
        };
        // Steps until a checkpoint is due (they add up to `every`), then its stall:
        // y -> y·e^−(kX + s) + C·(1 − e^−kX)/(1 − e^−X)·e^−s + w·(1 − e^−s).
        let k = (every / step_s).ceil().max(1.0);
        let xs = x(stall.max(0.0));
        let w = self.job_mw(self.state_w(GpuState::Wait, 1.0));
        let steps = c * kept(k * big_x) / kept(big_x);
        (steps * (-xs).exp() + w * kept(xs)) / kept(k * big_x + xs)
    }
    /// A failure: idle, then warm-up from idle to waiting power.
    fn restart(&mut self, out: &mut Binner, f: &Failure) {
        let idle = self.state_w(GpuState::Idle, 1.0);
        out.push(f.down_s, self.job_mw(idle));
        let wait = self.state_w(GpuState::Wait, 1.0);
        let pieces = 64;
        let piece = f.warmup_s / pieces as f64;
        for i in 0..pieces {
            let x = (i as f64 + 0.5) / pieces as f64;
            out.push(piece, self.job_mw(idle + (wait - idle) * x));
        }
        self.since_checkpoint = 0.0;
    }
}

/// The job's GPUs over a window: MW per bin (before their time constant) and the steps
/// done.
struct JobDraw {
    mw: Vec<f64>,
    steps: f64,
}

/// The job's GPUs with the failure, when it struck, and the same window without it
/// (the same steps: their jitter drawn once), where there is a failure.
fn job_gpus(
    inp: &SeriesInputs,
    scale: &mut dyn FnMut() -> f64,
) -> (JobDraw, Option<f64>, Option<JobDraw>) {
    let mut out = Binner::new(inp.dt, inp.samples);
    let end = inp.dt * inp.samples as f64;
    let fresh = |inp| Gpus {
        inp,
        steps_done: 0.0,
        since_checkpoint: 0.0,
    };
    let drawn = |b: Binner, steps: f64| JobDraw {
        mw: b.acc.iter().map(|e| e / inp.dt).collect(),
        steps,
    };
    let mut g = fresh(inp);
    let Some(f) = inp.failure.filter(|f| f.at_s < end) else {
        g.train(&mut out, end, None, scale);
        return (drawn(out, g.steps_done), None, None);
    };
    // The window without the failure first: where it would hurt most, and what
    // training costs there.
    let mut draws = Vec::new();
    let mut probe = Binner::new(inp.dt, inp.samples);
    let mut unfailed = fresh(inp);
    unfailed.train(&mut probe, end, None, &mut || {
        let v = scale();
        draws.push(v);
        v
    });
    let at = worst_moment(&probe, inp, &fresh(inp), f.at_s);
    let mut replay = draws.into_iter();
    let mut scale = || replay.next().unwrap_or_else(&mut *scale);
    match at {
        Some(at) => {
            g.train(&mut out, at, None, &mut scale);
            g.restart(&mut out, &f);
            let resumed = out.now();
            g.train(&mut out, end, Some(resumed), &mut scale);
        }
        None => g.train(&mut out, end, None, &mut scale),
    }
    let without = drawn(probe, unfailed.steps_done);
    (drawn(out, g.steps_done), at, Some(without))
}

/// How long after a failure its fall is looked for, s: the GPUs' time constant many
/// times over.
pub const FALL_SEEN_S: f64 = 1.0;

/// Whole bins of `dt` covering `secs`, at least one.
pub fn bins_in(secs: f64, dt: f64) -> usize {
    ((secs / dt).ceil() as usize).max(1)
}

/// The worst moment for a failure from `from_s` on: the bin boundary within one step
/// after it where the GPUs' draw (through their time constant) over the bin before is
/// highest, so the whole fall lands between two samples from the step's peak. A
/// failure's fall and ramp then do not hang on where in a step and in a sample a chosen
/// second lands, and runs that stretch the step (a cap) are compared at their own peaks.
/// `None` when no boundary is left in the window.
fn worst_moment(probe: &Binner, inp: &SeriesInputs, g: &Gpus, from_s: f64) -> Option<f64> {
    let dt = inp.dt;
    let draw: Vec<f64> = probe.acc.iter().map(|e| e / dt).collect();
    let seen = first_order(&draw, dt, tau::GPU_S, g.steady_state(tau::GPU_S));
    // From the end of the sample under way at `from_s` (so any second within one
    // sample gives the same), through a step, leaving the second the fall is seen in.
    let first = (from_s / dt).floor() as usize + 1;
    let span = ((inp.profile.step_s / dt).ceil() as usize).max(1);
    let last = draw.len().saturating_sub(bins_in(FALL_SEEN_S, dt));
    (first..(first + span).min(last + 1))
        .fold(None, |best: Option<usize>, k| match best {
            Some(b) if seen[b - 1] >= seen[k - 1] => Some(b),
            _ => Some(k),
        })
        .map(|k| k as f64 * dt)
}

/// The facility series: the job's GPUs from the profile, every load through its filter.
pub fn build(inp: &SeriesInputs, scale: &mut dyn FnMut() -> f64) -> Series {
    let (job, failed_at_s, without) = job_gpus(inp, scale);
    let mut s = with_loads(inp, job);
    s.failed_at_s = failed_at_s;
    (s.unfailed_steps, s.unfailed_mwh) = match without {
        Some(w) => {
            let u = with_loads(inp, w);
            let steady = (u.steps_done, u.energy_mwh());
            s.unfailed_mw = u.facility_mw;
            steady
        }
        None => (s.steps_done, s.energy_mwh()),
    };
    s
}

impl Series {
    /// The facility as the window opens, steady: the same window without the failure
    /// where there is one, else this one.
    pub fn steady_mw(&self) -> &[f64] {
        match self.unfailed_mw.is_empty() {
            true => &self.facility_mw,
            false => &self.unfailed_mw,
        }
    }
}

/// The job's draw with the site's other loads, each through its filter.
fn with_loads(inp: &SeriesInputs, job: JobDraw) -> Series {
    let (job, steps_done) = (job.mw, job.steps);
    let l = &inp.loads;
    let dt = inp.dt;
    // Every filter starts where this series' site has long stood (its own knobs'
    // steady state), so a window's figures do not carry a relaxation from elsewhere.
    let g = Gpus {
        inp,
        steps_done: 0.0,
        since_checkpoint: 0.0,
    };
    let job_f = first_order(&job, dt, tau::GPU_S, g.steady_state(tau::GPU_S));
    let gpus: Vec<f64> = job_f.iter().map(|j| j + l.idle_gpus_mw).collect();
    let flat = |mw: f64, t: f64| first_order(&vec![mw; job.len()], dt, t, mw);
    let hosts = flat(l.hosts_mw, tau::HOST_S);
    let network = flat(l.network_mw, tau::NETWORK_S);
    let storage = flat(l.storage_mw, tau::STORAGE_S);
    let it: Vec<f64> = (0..job.len())
        .map(|k| gpus[k] + hosts[k] + network[k] + storage[k])
        .collect();
    // Cooling follows the IT load the GPUs' filter passes on; its start takes the
    // job's draw as it is (the GPUs' 50 ms lag is nothing next to cooling's minute).
    let steady_it =
        g.steady_state(tau::COOLING_S) + l.idle_gpus_mw + l.hosts_mw + l.network_mw + l.storage_mw;
    let heat: Vec<f64> = it.iter().map(|x| x * (l.pue - 1.0)).collect();
    let cooling = first_order(&heat, dt, tau::COOLING_S, steady_it * (l.pue - 1.0));
    let facility = it.iter().zip(&cooling).map(|(a, b)| a + b).collect();
    Series {
        dt,
        facility_mw: facility,
        gpus_mw: gpus,
        hosts_mw: hosts,
        network_mw: network,
        storage_mw: storage,
        cooling_mw: cooling,
        steps_done,
        failed_at_s: None,
        unfailed_steps: steps_done,
        unfailed_mwh: 0.0,
        unfailed_mw: Vec::new(),
    }
}

impl Series {
    /// The facility's energy over the window, MWh.
    pub fn energy_mwh(&self) -> f64 {
        self.facility_mw.iter().sum::<f64>() * self.dt / 3600.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half a step computing, half waiting, 1000 GPUs of 1 kW, nothing else.
    fn square(step_s: f64) -> BusyProfile {
        let on = Busy {
            compute: 1.0,
            memory: 0.0,
        };
        BusyProfile {
            step_s,
            samples: vec![on, on, Busy::default(), Busy::default()],
        }
    }

    fn inputs(p: &BusyProfile, dt: f64, samples: usize) -> SeriesInputs<'_> {
        SeriesInputs {
            dt,
            samples,
            profile: p,
            job_gpus: 1000.0,
            tdp_w: 1000.0,
            loads: Loads {
                idle_gpus_mw: 0.0,
                hosts_mw: 0.0,
                network_mw: 0.0,
                storage_mw: 0.0,
                pue: 1.0,
            },
            checkpoint: None,
            failure: None,
            knobs: Knobs::default(),
        }
    }

    #[test]
    fn bins_hold_the_exact_integral() {
        let p = square(2.0);
        let s = build(&inputs(&p, 0.5, 40), &mut || 1.0);
        // 20 s = 10 steps; the mean is the mean of the two states (but for the GPUs'
        // lag at the window's end, 50 ms).
        let mean = s.facility_mw.iter().sum::<f64>() / 40.0;
        assert!((mean - (1.0 + 0.45) / 2.0).abs() < 1e-5, "{mean}");
        assert!((s.steps_done - 10.0).abs() < 1e-9, "{}", s.steps_done);
    }

    #[test]
    fn a_failure_drops_to_idle_and_the_warm_up_ramps_back() {
        let p = square(2.0);
        let mut inp = inputs(&p, 0.1, 400);
        inp.failure = Some(Failure {
            at_s: 10.0,
            down_s: 10.0,
            warmup_s: 10.0,
        });
        let s = build(&inp, &mut || 1.0);
        let f = &s.facility_mw;
        assert!((f[150] - 0.12).abs() < 1e-6, "{}", f[150]);
        assert!(f[250] > 0.12 && f[250] < 0.45, "{}", f[250]);
        assert!(f[350] > 0.44);
        assert!((s.steps_done - 10.0).abs() < 1e-6, "{}", s.steps_done);
    }

    #[test]
    fn a_cap_trims_peaks_and_slows_compute_a_floor_lifts_troughs() {
        let p = square(2.0);
        let mut inp = inputs(&p, 0.5, 400);
        inp.knobs.cap = Some(0.85);
        let s = build(&inp, &mut || 1.0);
        let hi = s.facility_mw.iter().cloned().fold(0.0, f64::max);
        assert!(hi <= 0.85 + 1e-9, "{hi}");
        let r = dvfs_speed(0.85);
        assert!(r < 1.0 && r > 0.9, "{r}");
        let expected = 200.0 / (1.0 + 1.0 / r);
        assert!((s.steps_done - expected).abs() < 0.05, "{}", s.steps_done);
        inp.knobs = Knobs {
            floor: Some(0.8),
            ..Default::default()
        };
        let s = build(&inp, &mut || 1.0);
        let lo = s.facility_mw.iter().cloned().fold(9.0, f64::min);
        assert!((lo - 0.8).abs() < 1e-9, "{lo}");
        assert_eq!(dvfs_speed(1.0), 1.0);
    }

    #[test]
    fn cooling_lags_the_it_load() {
        let p = square(2.0);
        let mut inp = inputs(&p, 1.0, 600);
        inp.loads.pue = 1.5;
        inp.failure = Some(Failure {
            at_s: 100.0,
            down_s: 1000.0,
            warmup_s: 0.0,
        });
        let s = build(&inp, &mut || 1.0);
        let c = &s.cooling_mw;
        // One time constant after the drop, cooling has done 63% of its way down.
        let (from, to) = (0.725 * 0.5, 0.12 * 0.5);
        let at = c[100 + tau::COOLING_S as usize];
        let done = (from - at) / (from - to);
        assert!((done - 0.63).abs() < 0.03, "{done}");
    }

    /// The filters' opening state is where a site that has trained the same way for a
    /// long time stands: the fixed point of the cycle (steps, then a checkpoint's stall)
    /// is the state that a long run of it, from anywhere, ends in.
    #[test]
    fn the_steady_state_is_where_a_long_run_ends() {
        let p = square(2.0);
        let mut inp = inputs(&p, 0.5, 1);
        // Three 2 s steps (6 s >= 5 s), then a stall of 0.5 s.
        inp.checkpoint = Some((5.0, 0.5));
        let cap = Knobs {
            cap: Some(0.85),
            ..Default::default()
        };
        let floor = Knobs {
            floor: Some(0.8),
            ..Default::default()
        };
        for knobs in [Knobs::default(), cap, floor] {
            inp.knobs = knobs;
            let g = Gpus {
                inp: &inp,
                steps_done: 0.0,
                since_checkpoint: 0.0,
            };
            let c = g.cap_at(0.0, None);
            let stall = g.job_mw(g.state_w(GpuState::Wait, 1.0));
            for tau in [tau::GPU_S, 1.0, tau::COOLING_S, 1e6] {
                // A thousand cycles piece by piece, exactly, from 0.
                let mut y = 0.0;
                let mut to = |secs: f64, mw: f64| y = mw + (y - mw) * (-secs / tau).exp();
                for _ in 0..1000 {
                    for _ in 0..3 {
                        for b in &p.samples {
                            let (dur, mw) = g.bin(b, 0.5, c);
                            to(dur, mw);
                        }
                    }
                    to(0.5, stall);
                }
                let want = if tau < 1e5 {
                    y
                } else {
                    // Far slower than the cycle: the cycle's mean.
                    let (mut e, mut t) = (0.5 * stall, 0.5);
                    for b in &p.samples {
                        let (dur, mw) = g.bin(b, 0.5, c);
                        (e, t) = (e + 3.0 * dur * mw, t + 3.0 * dur);
                    }
                    e / t
                };
                // The mean is the fixed point but for the ripple left over a cycle
                // (6.5 s of 1e6 s times a swing under 1 MW).
                let tol = if tau < 1e5 { 1e-9 } else { 1e-5 };
                let got = g.steady_state(tau);
                assert!(
                    (got - want).abs() < tol,
                    "{knobs:?} tau {tau}: {got} vs {want}"
                );
            }
        }
        // The same cycle as the series builds it (6.5 s, 13 bins): its cooling over 100
        // cycles, from far away, ends where the opening state is.
        let mut inp = inputs(&p, 0.5, 1300);
        inp.checkpoint = Some((5.0, 0.5));
        inp.knobs = floor;
        let job = job_gpus(&inp, &mut || 1.0).0.mw;
        let g = Gpus {
            inp: &inp,
            steps_done: 0.0,
            since_checkpoint: 0.0,
        };
        for tau in [tau::HOST_S, tau::STORAGE_S, 10.0] {
            let end = *first_order(&job, 0.5, tau, 0.0).last().unwrap();
            assert!((end - g.steady_state(tau)).abs() < 1e-9, "{tau}");
        }
    }

    /// A capped or floored site has run so for long: its series opens in its own steady
    /// state, not relaxing from the unmitigated draw (its cooling did, over minutes, so
    /// that a short window understated what the cap saves and the floor costs, and the
    /// drift added to the swing).
    #[test]
    fn a_mitigated_site_is_steady_from_the_first_bin() {
        let p = square(2.0);
        let mut inp = inputs(&p, 0.5, 120);
        inp.loads.pue = 1.5;
        inp.knobs.floor = Some(0.8);
        // The floor keeps the step's length: 1 min and 1 h hold 30 and 1800 whole steps,
        // and a series in its steady state draws the same energy in each.
        let per_step = |inp: &SeriesInputs| {
            let s = build(inp, &mut || 1.0);
            s.facility_mw.iter().sum::<f64>() * inp.dt / s.steps_done
        };
        let minute = per_step(&inp);
        inp.samples = 7200;
        let hour = per_step(&inp);
        // (1 + 0.8) / 2 x 1.5 x 2 s, but for the GPUs' lag at the window's end (their
        // 50 ms filter keeps e^−10 of the last change in a 0.5 s bin): within 1e-6, where
        // the cooling's relaxation from 0.3625 MW (the unmitigated draw's) towards the
        // floor's 0.45 MW lost 4% of the minute's energy.
        for e in [minute, hour] {
            assert!((e / 2.7 - 1.0).abs() < 1e-6, "{minute} {hour}");
        }
        // Capped, the cooling holds its level: it ripples with the steps (the heat swings
        // by 0.2 MW for about a second a step, which a 60 s filter spreads to a few kW),
        // and drifts not at all (from the unmitigated 0.3625 MW to the cap's 0.33 MW,
        // it did).
        inp.knobs = Knobs {
            cap: Some(0.85),
            ..Default::default()
        };
        inp.samples = 1200;
        let c = build(&inp, &mut || 1.0).cooling_mw;
        let (lo, hi) = c
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(hi - lo < 0.01, "{lo} to {hi}");
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (first, last) = (mean(&c[..120]), mean(&c[1080..]));
        assert!((first - last).abs() < 1e-3, "{first} then {last}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn busy() -> impl Strategy<Value = Busy> {
            (0.0..=1.0f64, 0.0..=1.0f64).prop_map(|(compute, memory)| Busy { compute, memory })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            /// Whatever the profile, knobs and failure: every bin lies between the idle
            /// and the full draw, and the work done is what the training time allows.
            #[test]
            fn the_series_stays_within_the_states(
                samples in prop::collection::vec(busy(), 1..40),
                step_s in 0.01..20.0f64,
                dt in 0.001..2.0f64,
                n in 1usize..3000,
                fail in prop::option::of((0.0..1.0f64, 0.0..50.0f64, 0.0..50.0f64)),
                floor in prop::option::of(0.0..1.0f64),
                cap in prop::option::of(0.2..1.0f64),
            ) {
                let p = BusyProfile { step_s, samples };
                let mut inp = inputs(&p, dt, n);
                inp.failure = fail.map(|(at, down_s, warmup_s)| Failure {
                    at_s: at * dt * n as f64,
                    down_s,
                    warmup_s,
                });
                inp.knobs = Knobs { floor, cap, ramp_in: Some((0.45, 30.0)) };
                let s = build(&inp, &mut || 1.0);
                prop_assert_eq!(s.facility_mw.len(), n);
                // Idle (0.12 of TDP) is the least any state draws: the cap stays above it,
                // the floor only lifts; the filters mix bins, never leave their range.
                for &x in &s.facility_mw {
                    prop_assert!(x.is_finite() && (0.12 - 1e-9..=1.0 + 1e-9).contains(&x), "{}", x);
                }
                let most = dt * n as f64 / step_s;
                // Relative slack: tens of thousands of steps are summed bin by bin.
                prop_assert!(s.steps_done >= 0.0 && s.steps_done <= most * (1.0 + 1e-9) + 1e-6, "{} > {}", s.steps_done, most);
            }
        }
    }
}
