//! What the grid sees in a power series: its range, its ramps, its spectrum, its sudden
//! drops; and the battery that would hold its ramps to a limit.
//!
//! Utilities set limits on ramp rate (MW/s), on the dynamic range and on oscillations per
//! frequency band, 0.1-20 Hz for instance ⚠ (facts.md §13); the spectrum's energy of
//! training jobs sits mostly at 0.2-3 Hz ⚠ (same).

use rustfft::{num_complex::Complex, FftPlanner};
use serde::Serialize;

/// The band whose share of the variance is reported, Hz (facts.md §13 ⚠).
pub const BAND_HZ: [f64; 2] = [0.1, 20.0];

/// Main frequencies listed.
pub const MAIN_LINES: usize = 5;

/// Points of the spectrum kept for a chart.
pub const CHART_POINTS: usize = 400;

/// One line of the spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Line {
    /// Frequency, Hz.
    pub hz: f64,
    /// Its share of the series' variance.
    pub share: f64,
}

/// The spectrum of a series (its mean removed), by FFT.
#[derive(Debug, Clone, PartialEq, Default, Serialize, schemars::JsonSchema)]
pub struct Spectrum {
    /// The strongest frequency from `peak_from_hz` up, Hz.
    pub peak_hz: f64,
    /// Where the search for the peak and the main lines starts, Hz: slower content (a
    /// failure's dip and recovery, the window's trend) is no oscillation. Lines below it
    /// still count in the variance.
    pub peak_from_hz: f64,
    /// Share of the variance in [`BAND_HZ`] (cut at the Nyquist frequency).
    pub band_fraction: f64,
    /// The band used, Hz: [`BAND_HZ`] cut at the Nyquist frequency.
    pub band_hz: [f64; 2],
    /// RMS of the series within the band, MW.
    pub band_rms_mw: f64,
    /// Half the sampling rate, Hz: nothing faster is seen.
    pub nyquist_hz: f64,
    /// Frequency resolution (1 / window), Hz.
    pub resolution_hz: f64,
    /// The strongest local peaks, strongest first.
    pub main: Vec<Line>,
    /// For a chart: up to [`CHART_POINTS`] (Hz, share of variance), each the largest
    /// line of its slice of the frequency axis.
    pub chart: Vec<(f64, f64)>,
}

/// Sudden drops: falls of more than `threshold_mw` within `within_s`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, schemars::JsonSchema)]
pub struct Drops {
    /// Threshold, MW.
    pub threshold_mw: f64,
    /// Within, s: the span used, whole bins (at least one).
    pub within_s: f64,
    /// How many falls of more than the threshold (each counted once, however many
    /// bins it spans).
    pub count: u64,
    /// The largest fall within `within_s` anywhere in the series, MW (whatever the
    /// threshold).
    pub largest_mw: f64,
    /// Their mean size (each its largest fall), MW; none without a fall over the
    /// threshold.
    pub mean_mw: Option<f64>,
}

/// Range and ramps of a series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, schemars::JsonSchema)]
pub struct Shape {
    /// Highest bin, MW.
    pub peak_mw: f64,
    /// Lowest bin, MW.
    pub min_mw: f64,
    /// Peak − min, MW.
    pub swing_mw: f64,
    /// Mean, MW.
    pub mean_mw: f64,
    /// Energy over the window, MWh.
    pub energy_mwh: f64,
    /// Largest change between bins, MW/s.
    pub ramp_max_mw_per_s: f64,
    /// Largest rise between bins, MW/s (a restart's climb, where a failure's fall sets
    /// the largest change).
    pub ramp_up_max_mw_per_s: f64,
    /// 99th percentile of the absolute change between bins, MW/s.
    pub ramp_p99_mw_per_s: f64,
}

/// Range, mean, energy and ramps of `x` in bins of `dt`.
pub fn shape(x: &[f64], dt: f64) -> Shape {
    if x.is_empty() {
        return Shape::default();
    }
    let peak = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let min = x.iter().cloned().fold(f64::INFINITY, f64::min);
    let sum: f64 = x.iter().sum();
    let mut ramps: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]).abs() / dt).collect();
    let max = ramps.iter().cloned().fold(0.0, f64::max);
    let up = x.windows(2).map(|w| (w[1] - w[0]) / dt).fold(0.0, f64::max);
    Shape {
        peak_mw: peak,
        min_mw: min,
        swing_mw: peak - min,
        mean_mw: sum / x.len() as f64,
        energy_mwh: sum * dt / 3600.0,
        ramp_max_mw_per_s: max,
        ramp_up_max_mw_per_s: up,
        ramp_p99_mw_per_s: quantile(&mut ramps, 0.99),
    }
}

/// The `q` quantile of `v` (nearest rank; 0 for an empty one). Reorders `v`.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

/// The power spectrum of `x` (bins of `dt`): |X(f)|² for f = k / (n·dt), k = 1..n/2,
/// normalized to shares of the variance.
fn power_spectrum(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n.max(1) as f64;
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v - mean, 0.0)).collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    // One-sided: each k < n/2 stands for k and n − k.
    let mut p: Vec<f64> = (0..=n / 2)
        .map(|k| {
            let two = if k == 0 || 2 * k == n { 1.0 } else { 2.0 };
            two * buf[k].norm_sqr()
        })
        .collect();
    p[0] = 0.0;
    let total: f64 = p.iter().sum();
    if total > 0.0 {
        p.iter_mut().for_each(|v| *v /= total);
    }
    p
}

impl Spectrum {
    /// Whether the samples see any of [`BAND_HZ`] (its low end is below the Nyquist
    /// frequency).
    pub fn band_seen(&self) -> bool {
        self.band_hz[0] < self.band_hz[1]
    }

    /// The band as shown everywhere ("0.1-5 Hz", "0.1-0.1667 Hz"); the whole of
    /// [`BAND_HZ`] when none of it is seen.
    pub fn band_label(&self) -> String {
        let band = if self.band_seen() {
            self.band_hz
        } else {
            BAND_HZ
        };
        let f = |hz: f64| {
            let s = format!("{hz:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        format!("{}-{} Hz", f(band[0]), f(band[1]))
    }
}

/// The spectrum of `x` in bins of `dt`, its peak and main lines from `from_hz` up (from
/// the lowest line when none is that fast).
pub fn spectrum(x: &[f64], dt: f64, from_hz: f64) -> Spectrum {
    spectrum_with_width(x, dt, from_hz, 0.0)
}

/// [`spectrum`], its main lines `line_width` wide (relative to their frequency): a
/// series whose steps vary in length (the slowest GPU drawn anew each step) spreads each
/// line of the step rate over that share of its frequency, which a long window resolves
/// into many local maxima. They are one line, their shares summed.
pub fn spectrum_with_width(x: &[f64], dt: f64, from_hz: f64, line_width: f64) -> Spectrum {
    let n = x.len();
    let df = 1.0 / (n.max(1) as f64 * dt);
    let nyquist = 0.5 / dt;
    // Cut at the Nyquist frequency; empty (both ends there) when samples are too
    // coarse to see any of it.
    let band = [BAND_HZ[0].min(nyquist), BAND_HZ[1].min(nyquist)];
    if n < 4 {
        return Spectrum {
            band_hz: band,
            nyquist_hz: nyquist,
            resolution_hz: df,
            peak_from_hz: from_hz,
            ..Spectrum::default()
        };
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let variance = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    let p = power_spectrum(x);
    let in_band: f64 = (1..p.len())
        .filter(|&k| band[0] < band[1] && (band[0]..=band[1]).contains(&(k as f64 * df)))
        // From +0: an empty f64 sum is -0, which prints as "-0.0%".
        .fold(0.0, |sum, k| sum + p[k]);
    // The first line at or above `from_hz` (the first of all when none is).
    let k0 = match (from_hz / df - 1e-9).ceil().max(1.0) as usize {
        k if k < p.len() => k,
        _ => 1,
    };
    let peak = (k0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)));
    Spectrum {
        peak_hz: peak.map_or(0.0, |k| k as f64 * df),
        // Where the search did start: the lowest line when none reaches `from_hz`.
        peak_from_hz: if k0 as f64 * df + 1e-12 >= from_hz {
            from_hz
        } else {
            k0 as f64 * df
        },
        band_fraction: in_band,
        band_hz: band,
        band_rms_mw: (variance * in_band).sqrt(),
        nyquist_hz: nyquist,
        resolution_hz: df,
        main: main_lines(&p, df, k0, line_width),
        chart: chart(&p, df),
    }
}

/// The strongest local maxima of the spectrum; a weaker one within `width` (relative,
/// and at least 2 bins) of a stronger is part of that line.
fn main_lines(p: &[f64], df: f64, k0: usize, width: f64) -> Vec<Line> {
    let mut peaks: Vec<usize> = (k0..p.len())
        .filter(|&k| p[k] > 0.0 && p[k] >= p[k - 1] && p.get(k + 1).is_none_or(|&r| p[k] > r))
        .collect();
    peaks.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut lines: Vec<Line> = Vec::new();
    for k in peaks {
        let hz = k as f64 * df;
        let room = lines.len() < 4 * MAIN_LINES;
        match lines
            .iter_mut()
            .find(|l| (l.hz - hz).abs() <= (width * l.hz).max(2.0 * df))
        {
            Some(l) => l.share += p[k],
            // A margin of candidates for the sums to reorder; no more (a week's spectrum
            // has hundreds of thousands of local maxima).
            None if room => lines.push(Line { hz, share: p[k] }),
            None => {}
        }
    }
    lines.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.hz.total_cmp(&b.hz)));
    lines.truncate(MAIN_LINES);
    lines
}

/// The spectrum cut into at most [`CHART_POINTS`] slices, each shown by its largest line.
fn chart(p: &[f64], df: f64) -> Vec<(f64, f64)> {
    let per = (p.len() - 1).div_ceil(CHART_POINTS).max(1);
    (1..p.len())
        .step_by(per)
        .map(|k0| {
            let k1 = (k0 + per).min(p.len());
            let k = (k0..k1)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))
                .unwrap_or(k0);
            (k as f64 * df, p[k])
        })
        .collect()
}

/// Bins a fall may span: `within_s` in whole bins of `dt`, at least one.
pub fn drop_bins(dt: f64, within_s: f64) -> usize {
    ((within_s / dt + 1e-9).floor() as usize).max(1)
}

/// The largest fall ending at each bin: `x[j]` below the highest of the `w` bins before
/// it (0 when none is higher). O(n) with a monotone queue of the window's maxima.
pub fn falls(x: &[f64], w: usize) -> Vec<f64> {
    let mut q: std::collections::VecDeque<usize> = Default::default();
    let mut out = Vec::with_capacity(x.len());
    for (j, &v) in x.iter().enumerate() {
        while q.front().is_some_and(|&f| f + w < j) {
            q.pop_front();
        }
        out.push(q.front().map_or(0.0, |&f| (x[f] - v).max(0.0)));
        while q.back().is_some_and(|&b| x[b] <= v) {
            q.pop_back();
        }
        q.push_back(j);
    }
    out
}

/// Sudden drops in `x` (bins of `dt`): falls within `within_s` (in whole bins, at least
/// one). The largest is the largest fall anywhere in the series, whatever the
/// threshold; an event is a run of bins each ending a fall of more than `threshold`
/// (one fall is one event however many bins it spans), its size the largest fall in
/// the run. `within_s` in the result is the span used (whole bins).
pub fn drops(x: &[f64], dt: f64, threshold: f64, within_s: f64) -> Drops {
    let w = drop_bins(dt, within_s);
    let f = falls(x, w);
    let largest = f.iter().cloned().fold(0.0, f64::max);
    let (mut count, mut total, mut run) = (0u64, 0.0, None::<f64>);
    for &d in f.iter().chain(std::iter::once(&0.0)) {
        match (run, d > threshold) {
            (Some(m), true) => run = Some(m.max(d)),
            (None, true) => run = Some(d),
            (Some(m), false) => {
                count += 1;
                total += m;
                run = None;
            }
            (None, false) => {}
        }
    }
    Drops {
        threshold_mw: threshold,
        within_s: crate::units::to_whole_ns(w as f64 * dt),
        count,
        largest_mw: largest,
        mean_mw: (count > 0).then(|| total / count as f64),
    }
}

/// The battery that holds a load's ramps to a limit, sized by the window it ran.
#[derive(Debug, Clone, PartialEq, Default, Serialize, schemars::JsonSchema)]
pub struct Battery {
    /// Power rating: the largest charge or discharge, MW.
    pub mw: f64,
    /// Capacity: the range of its state of charge over the window, MWh.
    pub mwh: f64,
    /// Round-trip efficiency used.
    pub round_trip_efficiency: f64,
    /// The grid's ramp limit it holds, MW/s.
    pub ramp_limit_mw_per_s: f64,
    /// The fastest the battery itself must ramp, MW/s.
    pub battery_ramp_mw_per_s: f64,
    /// Its losses over the window (the round trip's, both ways): the energy it costs,
    /// MWh.
    pub losses_mwh: f64,
    /// The charge it holds at the window's end over what it held at the start, MWh
    /// (stored; may be negative): the grid bought the load's energy + the losses + this.
    /// Not a cost: the next window gets it back.
    pub end_charge_mwh: f64,
}

/// Seconds over which the battery steers its charge back to where it started ⚠ (an
/// estimate: slow next to a step's swings, fast next to the window).
pub const SOC_RETURN_S: f64 = 300.0;

/// Seconds over which the grid follows the load's mean at most ⚠ (a controller's choice,
/// not a measured constant: long next to a step, whose swings the battery covers; short
/// next to a failure's fall, which the grid follows at its ramp limit).
pub const TRACK_S: f64 = 30.0;

/// The span the grid follows the load's mean over: none where the load itself ramps no
/// faster than `limit` MW/s, else the shortest span up to [`TRACK_S`] (found to 1 ms by
/// bisection) over which that mean ramps within the limit anywhere in the window
/// ([`TRACK_S`] when none does; the grid's own clamp then holds the limit). A load that
/// never ramps past the limit needs no battery at all; a tighter limit asks the battery
/// to cover more of each step's ripple.
/// `steady` is the load the window opens with, as in [`battery`].
pub fn track_span_s(load: &[f64], steady: &[f64], dt: f64, limit: f64) -> f64 {
    let fastest_mean_ramp = |span: f64| {
        let follow = follow_per_bin(dt, span);
        let mut mean = opening_mean(steady, dt, span);
        let mut fastest = 0.0f64;
        for &y in load {
            let next = mean + (y - mean) * follow;
            fastest = fastest.max((next - mean).abs() / dt);
            mean = next;
        }
        fastest
    };
    if fastest_mean_ramp(0.0) <= limit {
        return 0.0;
    }
    if fastest_mean_ramp(TRACK_S) > limit {
        return TRACK_S;
    }
    // Within the limit at `hi`, past it at `lo`.
    let (mut lo, mut hi) = (0.0, TRACK_S);
    while hi - lo > 1e-3 {
        let mid = 0.5 * (lo + hi);
        if fastest_mean_ramp(mid) <= limit {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// How far a mean over `span` s moves toward the load in one bin of `dt` (all the way
/// for no span).
fn follow_per_bin(dt: f64, span: f64) -> f64 {
    if span > 0.0 {
        (dt / span).min(1.0)
    } else {
        1.0
    }
}

/// Round-trip efficiency of a grid battery: Megapack 3's ~91 % at medium voltage with
/// auxiliaries (facts.md §13 ⚠).
pub const ROUND_TRIP_EFFICIENCY: f64 = 0.91;

/// Where the grid's mean of the load stands at t = 0, the window opening in steady
/// state: the steady load's mean over its first [`SOC_RETURN_S`] (its first bin where
/// the grid follows the load, with no span). Not the first bin of a span: a mean that
/// opened at a step's dip would climb from it as no mean of a steady load does. The
/// steady load, not the window's: a failure within the window's first [`SOC_RETURN_S`]
/// is nothing the grid can know of at t = 0 (a mean that took in its fall opened the
/// grid tens of MW below the load, the battery discharging for a minute before it).
fn opening_mean(steady: &[f64], dt: f64, span: f64) -> f64 {
    let head = match span > 0.0 {
        true => opening(steady, dt),
        false => &steady[..steady.len().min(1)],
    };
    head.iter().sum::<f64>() / head.len().max(1) as f64
}

/// The steady load's first [`SOC_RETURN_S`]: what the opening's mean and losses are
/// read from.
fn opening(steady: &[f64], dt: f64) -> &[f64] {
    &steady[..steady.len().min((SOC_RETURN_S / dt).ceil() as usize)]
}

/// The grid's controller behind the battery, and the battery's charge.
#[derive(Debug, Clone, Copy)]
struct Steer {
    /// The grid's draw, MW.
    grid: f64,
    /// The load's mean over the span, MW.
    mean: f64,
    /// The battery's losses over the span, MW.
    lossy: f64,
    /// The charge over the start, MWh.
    soc: f64,
    /// The share of the way the means move in a bin.
    follow: f64,
    /// The grid's largest change in a bin, MW.
    step: f64,
    /// The battery's one-way efficiency.
    one_way: f64,
    /// The bin, s.
    dt: f64,
}

impl Steer {
    /// One bin of load `y`: the battery's output (> 0: it discharges) and what it
    /// loses, MW.
    fn next(&mut self, y: f64) -> (f64, f64) {
        self.mean += (y - self.mean) * self.follow;
        let want = self.mean + self.lossy - self.soc * 3600.0 / SOC_RETURN_S;
        self.grid += (want - self.grid).clamp(-self.step, self.step);
        let b = y - self.grid;
        let (stored, lost) = if b > 0.0 {
            (-b / self.one_way, b / self.one_way - b)
        } else {
            (-b * self.one_way, -b * (1.0 - self.one_way))
        };
        self.soc += stored * self.dt / 3600.0;
        self.lossy += (lost - self.lossy) * self.follow;
        (b, lost)
    }
}

/// The grid's draw when a battery holds its ramps to `limit` MW/s: the grid steers, at
/// most that fast, to the load's mean over [`track_span_s`] plus the battery's recent losses,
/// less a pull that returns the battery's charge to its start over [`SOC_RETURN_S`]; the
/// battery covers the difference, losing `1 − √η` each way. The battery is sized to the
/// window: its MW and MWh are what it used (a steady job's step ripple: 3.3 kWh for the
/// default, whatever the window). The window opens in steady state: the grid at the
/// steady load's mean over the first [`SOC_RETURN_S`] plus the battery's steady losses (their
/// mean rate over a run of the controller through that stretch), which it has long
/// bought as they come; not at the mean alone, from which it would climb by the losses
/// over the span's first seconds, a drift no steady site has. The mean opens at the
/// load's average, not at the phase of its step ripple that a long run would leave at
/// t = 0 (which needs the load before the window): a few tens of kW for the default,
/// gone within the span. After a failure's fall the
/// grid ramps down at the limit while the battery takes the difference, then returns that
/// charge by dipping below the load (about 4 MW below its low for the default's failure).
///
/// `steady` is the load as the window opens in steady state, what the grid knows at
/// t = 0: `load` itself where nothing unforeseen strikes it, else the same window
/// without the failure (the same steps; the two agree until it strikes). The opening
/// mean and the steady losses come from it, so a failure early in the window changes
/// nothing before it.
pub fn battery(load: &[f64], steady: &[f64], dt: f64, limit: f64, eta: f64) -> (Vec<f64>, Battery) {
    let span = track_span_s(load, steady, dt, limit);
    // What the grid steers to: the load's mean over the span, not the load itself where
    // the load ramps past the limit. A grid that chased such a load at its ramp limit sat
    // where the load spends its time (the high compute phase, above the mean) and filled
    // the battery by that bias: 0.26 MWh over 10 minutes of the default against about
    // 14 kWh of ripple. And the battery's losses over the same span, which the grid buys
    // as they come rather than letting the charge drift down until the return pulls it
    // back.
    let mean = opening_mean(steady, dt, span);
    let naive = Steer {
        grid: mean,
        mean,
        lossy: 0.0,
        soc: 0.0,
        follow: follow_per_bin(dt, span),
        step: limit * dt,
        one_way: eta.clamp(1e-6, 1.0).sqrt(),
        dt,
    };
    // The steady losses: their mean rate through the opening stretch (they come of the
    // step's ripple, which the start hardly changes).
    let head = opening(steady, dt);
    let mut run = naive;
    let lossy = head.iter().map(|&y| run.next(y).1).sum::<f64>() / head.len().max(1) as f64;
    let mut steer = Steer {
        grid: mean + lossy,
        lossy,
        ..naive
    };
    let (mut lo, mut hi, mut losses) = (0.0f64, 0.0f64, 0.0);
    // The battery's first output is where it starts: no step from 0 at t = 0.
    let (mut mw, mut ramp, mut prev_b) = (0.0f64, 0.0f64, None::<f64>);
    let grid = load
        .iter()
        .map(|&y| {
            let (b, lost) = steer.next(y);
            losses += lost * dt / 3600.0;
            (lo, hi) = (lo.min(steer.soc), hi.max(steer.soc));
            mw = mw.max(b.abs());
            if let Some(p) = prev_b {
                ramp = ramp.max((b - p).abs() / dt);
            }
            prev_b = Some(b);
            steer.grid
        })
        .collect();
    let b = Battery {
        mw,
        mwh: hi - lo,
        round_trip_efficiency: eta,
        ramp_limit_mw_per_s: limit,
        battery_ramp_mw_per_s: ramp,
        losses_mwh: losses,
        end_charge_mwh: steer.soc,
    };
    (grid, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square wave of `period` s in bins of `dt`, between 0 and 1.
    fn square(period: f64, dt: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|k| {
                if (k as f64 * dt / period).fract() < 0.5 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn a_line_spread_over_its_width_is_one_line() {
        // Local maxima at bins 1000, 1004 and 1008 (within 1% of the first) and 3000.
        let mut p = vec![0.0; 4000];
        for (k, share) in [(1000, 0.3), (1004, 0.2), (1008, 0.1), (3000, 0.25)] {
            p[k] = share;
        }
        let lines = main_lines(&p, 0.001, 1, 0.01);
        let got: Vec<(f64, f64)> = lines.iter().map(|l| (l.hz, l.share)).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            (got[0].0 - 1.0).abs() < 1e-12 && (got[0].1 - 0.6).abs() < 1e-12,
            "{got:?}"
        );
        assert!((got[1].0 - 3.0).abs() < 1e-12, "{got:?}");
        // Without a width, each bin's maximum is a line of its own.
        assert_eq!(main_lines(&p, 0.001, 1, 0.0).len(), 4);
    }

    #[test]
    fn a_square_wave_peaks_at_its_frequency_and_odd_harmonics() {
        // 0.5 Hz over 200 s at 10 ms: exactly 100 periods.
        let x = square(2.0, 0.01, 20_000);
        let s = spectrum(&x, 0.01, 0.1);
        assert!((s.peak_hz - 0.5).abs() < 1e-9, "{}", s.peak_hz);
        // Fourier: 8/π² of the variance in the fundamental, then 1/9, 1/25 of it.
        assert!((s.main[0].share - 8.0 / std::f64::consts::PI.powi(2)).abs() < 1e-3);
        let hz: Vec<f64> = s.main.iter().take(3).map(|l| l.hz).collect();
        assert_eq!(hz.len(), 3);
        for (h, want) in hz.iter().zip([0.5, 1.5, 2.5]) {
            assert!((h - want).abs() < 1e-9, "{hz:?}");
        }
        assert!((s.main[1].share / s.main[0].share - 1.0 / 9.0).abs() < 1e-3);
        // All of it lies from 0.1 Hz up; RMS of a 0/1 square wave is 0.5.
        assert!(s.band_fraction > 0.99 && s.band_fraction <= 1.0 + 1e-12);
        assert!((s.band_rms_mw - 0.5 * s.band_fraction.sqrt()).abs() < 1e-9);
        assert!((s.nyquist_hz - 50.0).abs() < 1e-9 && s.band_hz == [0.1, 20.0]);
        assert!(s.chart.len() <= CHART_POINTS && !s.chart.is_empty());
        assert_eq!(s.band_label(), "0.1-20 Hz");
        assert_eq!(spectrum(&x, 0.1, 0.1).band_label(), "0.1-5 Hz");
        // Samples 7 s apart see nothing of the band: none of the variance, not -0.
        let coarse = spectrum(&x, 7.0, 0.01);
        assert!(!coarse.band_seen() && coarse.band_label() == "0.1-20 Hz");
        assert_eq!(coarse.band_fraction.to_bits(), 0.0f64.to_bits());
        assert_eq!(coarse.band_rms_mw.to_bits(), 0.0f64.to_bits());
        // No line reaches 0.1 Hz at 7 s samples: the search starts at the lowest line,
        // and says so.
        let flat = spectrum(&x, 7.0, 0.1);
        assert!(flat.peak_from_hz < 0.1 && flat.peak_hz >= flat.peak_from_hz);
    }

    #[test]
    fn a_slow_dip_does_not_make_the_peak_and_short_series_keep_their_nyquist() {
        // A 0.5 Hz square wave with a 200 s dip of 3 in its middle (a failure): the dip
        // holds most of the variance at the lowest lines, the peak is still 0.5 Hz.
        let x: Vec<f64> = square(2.0, 0.1, 6000)
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if (2000..4000).contains(&k) {
                    v - 3.0
                } else {
                    *v
                }
            })
            .collect();
        let all = spectrum(&x, 0.1, 0.0);
        assert!(all.peak_hz < 0.01, "{}", all.peak_hz);
        let s = spectrum(&x, 0.1, 0.1);
        assert!((s.peak_hz - 0.5).abs() < 1e-9, "{}", s.peak_hz);
        assert!(s.main.iter().all(|l| l.hz >= 0.1), "{:?}", s.main);
        // One sample of 1 s: Nyquist 0.5 Hz, band cut there.
        let one = spectrum(&[3.0], 1.0, 0.1);
        assert_eq!((one.nyquist_hz, one.band_hz), (0.5, [0.1, 0.5]));
        assert_eq!(one.resolution_hz, 1.0);
        // Nothing as fast as `from_hz`: all lines are searched.
        assert!((spectrum(&x, 0.1, 100.0).peak_hz - all.peak_hz).abs() < 1e-12);
    }

    #[test]
    fn shape_and_quantiles() {
        let x = [1.0, 3.0, 2.0, 2.0];
        let s = shape(&x, 0.5);
        assert_eq!((s.peak_mw, s.min_mw, s.swing_mw), (3.0, 1.0, 2.0));
        assert_eq!(s.ramp_max_mw_per_s, 4.0);
        assert!((s.energy_mwh - 8.0 * 0.5 / 3600.0).abs() < 1e-15);
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.99), 99.0);
        assert_eq!(quantile(&mut [], 0.5), 0.0);
    }

    #[test]
    fn drops_are_counted_once_each() {
        // Two falls of 5 over 2 bins, one of 1.
        let x = [10.0, 7.0, 5.0, 5.0, 10.0, 10.0, 5.0, 5.0, 4.0, 4.0];
        let d = drops(&x, 1.0, 3.0, 2.0);
        assert_eq!(d.count, 2, "{d:?}");
        assert_eq!(d.largest_mw, 5.0);
        let none = drops(&x, 1.0, 6.0, 2.0);
        assert_eq!(none.count, 0);
        // Wider: the second falls to 4.
        let wide = drops(&x, 1.0, 3.0, 4.0);
        assert_eq!(wide.largest_mw, 6.0, "{wide:?}");
    }

    /// The falls and drops by brute force, O(n·w): every pair i < j <= i + w.
    fn brute(x: &[f64], w: usize, threshold: f64) -> (f64, u64, f64) {
        let f: Vec<f64> = (0..x.len())
            .map(|j| {
                (j.saturating_sub(w)..j)
                    .map(|i| x[i] - x[j])
                    .fold(0.0, f64::max)
            })
            .collect();
        let largest = f.iter().cloned().fold(0.0, f64::max);
        let (mut count, mut total, mut k) = (0u64, 0.0, 0);
        while k < f.len() {
            if f[k] > threshold {
                let mut m = f[k];
                while k < f.len() && f[k] > threshold {
                    m = m.max(f[k]);
                    k += 1;
                }
                count += 1;
                total += m;
            } else {
                k += 1;
            }
        }
        (largest, count, total)
    }

    #[test]
    fn drops_agree_with_brute_force_and_the_largest_ignores_the_threshold() {
        let mut rng = crate::rng::SplitMix64::new(7);
        for case in 0..300 {
            let n = 1 + case % 97;
            let w = 1 + case % 13;
            let x: Vec<f64> = (0..n).map(|_| (rng.next_f64() * 100.0).round()).collect();
            let th = (case % 5) as f64 * 15.0;
            let d = drops(&x, 0.1, th, w as f64 * 0.1);
            let (largest, count, total) = brute(&x, w, th);
            assert_eq!(d.largest_mw, largest, "{x:?} w {w}");
            assert_eq!(d.count, count, "{x:?} w {w} th {th}");
            match d.mean_mw {
                Some(m) => assert!(count > 0 && (m - total / count as f64).abs() < 1e-9),
                None => assert_eq!(count, 0),
            }
            assert!((d.within_s - w as f64 * 0.1).abs() < 1e-12);
            // The largest is the same whatever the threshold.
            assert_eq!(drops(&x, 0.1, 1e6, w as f64 * 0.1).largest_mw, largest);
        }
        // A step's fall spread over several bins (108.5 → 75.2 MW within 1 s at 100 ms,
        // every 5.5 s): each is one event, of its whole size, at any threshold below it.
        let step: Vec<f64> = (0..55)
            .map(|k| match k {
                0..=39 => 108.5,
                40..=45 => 108.5 - (k - 39) as f64 * 33.3 / 6.0,
                _ => 75.2,
            })
            .collect();
        let x: Vec<f64> = step.iter().cycle().take(550).cloned().collect();
        for th in [10.0, 30.0] {
            let d = drops(&x, 0.1, th, 1.0);
            assert_eq!(d.count, 10, "{d:?}");
            assert!((d.largest_mw - 33.3).abs() < 1e-9, "{d:?}");
        }
    }

    #[test]
    fn a_battery_holds_the_ramp_limit_and_returns_its_charge() {
        let x: Vec<f64> = square(4.0, 0.1, 6000)
            .iter()
            .map(|v| 50.0 + 40.0 * v)
            .collect();
        let (g, b) = battery(&x, &x, 0.1, 1.0, 0.91);
        let s = shape(&g, 0.1);
        assert!(s.ramp_max_mw_per_s <= 1.0 + 1e-9, "{s:?}");
        assert!(s.swing_mw < 10.0, "{s:?}");
        assert!(b.mw > 15.0 && b.mw <= 40.0, "{b:?}");
        assert!(b.mwh > 0.0 && b.mwh < 0.05, "{b:?}");
        assert!(b.losses_mwh > 0.0);
        // The grid buys the load's energy plus the losses, give or take the charge left
        // in the battery at the end (within its capacity).
        let (eg, el) = (shape(&g, 0.1).energy_mwh, shape(&x, 0.1).energy_mwh);
        assert!((eg - el - b.losses_mwh).abs() <= b.mwh, "{eg} {el} {b:?}");
        // It answers the square wave's edges at once.
        assert!(b.battery_ramp_mw_per_s > 300.0);
        // The grid buys exactly the load's energy, the losses and the charge left.
        assert!((eg - el - b.losses_mwh - b.end_charge_mwh).abs() < 1e-9);
    }

    /// A training load is high most of a step and dips briefly: a grid that chased it at
    /// its ramp limit sat above its mean and filled the battery by that bias, a size that
    /// grew with the window. Steering to the mean, the battery holds the step's ripple,
    /// whatever the window.
    #[test]
    fn a_battery_for_a_steady_job_holds_its_ripple_whatever_the_window() {
        let step: Vec<f64> = (0..55).map(|k| if k < 45 { 100.0 } else { 70.0 }).collect();
        let size = |seconds: usize| {
            let x: Vec<f64> = step.iter().cycle().take(seconds * 10).cloned().collect();
            battery(&x, &x, 0.1, 1.0, 0.91).1
        };
        let (short, long) = (size(600), size(3000));
        // The high phase's excess over the mean: (100 − 94.5) MW x 4.5 s = 6.9 kWh.
        assert!(short.mwh < 0.01 && long.mwh < 0.01, "{short:?} {long:?}");
        assert!(long.mwh < 1.2 * short.mwh, "{short:?} {long:?}");
    }

    /// The battery answers the limit: a load that never ramps past it needs none (the
    /// grid is the load), and a tighter limit needs at least as much battery.
    #[test]
    fn a_battery_is_sized_to_its_ramp_limit() {
        // A step's ripple (30 MW over 0.5 s: 60 MW/s) and a failure's fall of 40 MW.
        let step: Vec<f64> = (0..55).map(|k| if k < 45 { 100.0 } else { 70.0 }).collect();
        let mut x: Vec<f64> = step.iter().cycle().take(3000).cloned().collect();
        x.extend(std::iter::repeat_n(60.0, 3000));
        let load_ramp = shape(&x, 0.1).ramp_max_mw_per_s;
        let (g, none) = battery(&x, &x, 0.1, load_ramp * 1.01, 0.91);
        assert_eq!(
            (none.mw, none.mwh, none.losses_mwh),
            (0.0, 0.0, 0.0),
            "{none:?}"
        );
        assert_eq!(g, x);
        let sizes: Vec<Battery> = [100.0, 10.0, 1.0, 0.1]
            .iter()
            .map(|&limit| battery(&x, &x, 0.1, limit, 0.91).1)
            .collect();
        // Energy grows as the limit tightens (the power rating is the failure's fall
        // at any limit that does not follow it).
        for pair in sizes.windows(2) {
            assert!(pair[1].mwh >= pair[0].mwh - 1e-12, "{pair:?}");
        }
        for (b, limit) in sizes.iter().zip([100.0, 10.0, 1.0, 0.1]) {
            let (g, _) = battery(&x, &x, 0.1, limit, 0.91);
            assert!(
                shape(&g, 0.1).ramp_max_mw_per_s <= limit + 1e-9,
                "{limit}: {b:?}"
            );
        }
        assert!(sizes[3].mwh > 2.0 * sizes[0].mwh, "{sizes:?}");
    }

    #[test]
    fn the_battery_ramps_no_faster_than_the_load_and_the_grid_together() {
        // A load that opens away from its mean (the grid starts at the mean): no step
        // from an idle battery at t = 0. b = load − grid, so |Δb| ≤ |Δload| + limit·dt.
        for dt in [0.01, 0.1, 1.0] {
            let x: Vec<f64> = (0..(600.0 / dt) as usize)
                .map(|k| 100.0 + 30.0 * (k as f64 * dt * 0.5).cos())
                .collect();
            let (_, b) = battery(&x, &x, dt, 1.0, 0.91);
            let load = shape(&x, dt).ramp_max_mw_per_s;
            assert!(
                b.battery_ramp_mw_per_s <= load + 1.0 + 1e-9,
                "{dt}: {} > {load} + 1",
                b.battery_ramp_mw_per_s
            );
            assert!(b.losses_mwh > 0.0);
        }
        // A flat load: nothing to do.
        let (g, b) = battery(&[50.0; 100], &[50.0; 100], 0.1, 1.0, 0.91);
        assert_eq!(
            (b.mw, b.battery_ramp_mw_per_s, b.losses_mwh),
            (0.0, 0.0, 0.0)
        );
        assert!(g.iter().all(|&v| v == 50.0));
    }

    /// The window opens in steady state: the grid already buys the battery's steady
    /// losses (it opened at the load's mean without them, and climbed by them over the
    /// span's first seconds while the battery paid them: 0.23 MW low over the first 30 s
    /// here, half the losses), and the span is read from a steady mean (one that opened
    /// at the first bin, 10 MW above the mean, ramped twice as fast as any later and
    /// doubled the span).
    #[test]
    fn a_battery_opens_buying_its_losses() {
        // A fast ripple (100 and 80 MW, bin by bin): the mean the grid follows hardly
        // moves with it (0.1 MW), so what the grid opens with is the losses.
        let x: Vec<f64> = (0..6000)
            .map(|k| if k % 2 == 0 { 100.0 } else { 80.0 })
            .collect();
        // The mean ramps at most 10 MW (half the ripple) over the span: 10 s.
        let span = track_span_s(&x, &x, 0.1, 1.0);
        assert!((span - 10.0).abs() < 0.2, "{span}");
        let (g, b) = battery(&x, &x, 0.1, 1.0, 0.91);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (first, rest) = (mean(&g[..300]), mean(&g[600..]));
        let losses_mw = b.losses_mwh * 3600.0 / 600.0;
        assert!(
            (first - rest).abs() < 0.1 * losses_mw,
            "{first} then {rest} MW, losses {losses_mw} MW"
        );
    }
}
