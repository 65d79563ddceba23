//! Consistent units in all output: 1.23 s, 456 TFLOP/s, 12.3 MW, 80.0 GiB.
use memphis_core::api::simulate::{FailureSummary, SimulationReport};

pub use memphis_core::text::duration;
use memphis_core::text::duration_unit;

/// The two ends of a band, each as [`duration`] shows it, but in the upper end's unit
/// and with up to three more decimals where the usual ones would print them alike.
pub fn duration_band(lo: f64, hi: f64) -> (String, String) {
    let (per, unit, decimals) = duration_unit(hi);
    let show = |x: f64, d: usize| format!("{:.*} {unit}", d, x / per);
    let d = (decimals..=decimals + 3)
        .find(|&d| show(lo, d) != show(hi, d))
        .unwrap_or(decimals);
    (show(lo, d), show(hi, d))
}

/// An energy given in MWh (a training step's): three significant figures in Wh below
/// 1 kWh, in kWh below 1 MWh, in MWh above.
pub fn energy_mwh(mwh: f64) -> String {
    use memphis_core::text::sig3;
    let a = mwh.abs();
    if a < 1e-3 {
        format!("{} Wh", sig3(mwh * 1e6))
    } else if a < 1.0 {
        format!("{} kWh", sig3(mwh * 1e3))
    } else {
        format!("{} MWh", sig3(mwh))
    }
}

/// A quantity over a run with its unit: SI-suffixed from 1 (`27.5k MWh`), and below 1
/// to three figures in the unit a thousand times smaller (`242 kWh`, `88.3 kg`), where
/// one decimal of the large unit would read 0.2 or 0.0.
pub fn run_amount(x: f64, unit: &str, small_unit: &str) -> String {
    use memphis_core::text::{si, sig3};
    if x.abs() >= 1.0 || x == 0.0 {
        format!("{} {unit}", si(x))
    } else {
        format!("{} {small_unit}", sig3(x * 1e3))
    }
}

/// Joules a token: three significant figures, in mJ below 0.1 J.
pub fn energy_per_token(j: f64) -> String {
    use memphis_core::text::sig3;
    if j.abs() < 0.1 {
        format!("{} mJ", sig3(j * 1e3))
    } else {
        format!("{} J", sig3(j))
    }
}

/// A power given in MW: in MW from 0.1 MW, in kW or W below, so that a job of a few
/// GPUs does not read 0.00 MW.
pub fn power_mw(mw: f64) -> String {
    let a = mw.abs();
    if a >= 0.1 || a == 0.0 {
        format!("{mw:.2} MW")
    } else if a >= 1e-3 {
        format!("{:.1} kW", mw * 1e3)
    } else {
        format!("{:.0} W", mw * 1e6)
    }
}

/// A size given in decimal TB (a checkpoint): in TB from 0.1 TB, in GB below.
pub fn size_tb(tb: f64) -> String {
    if tb.abs() >= 0.1 || tb == 0.0 {
        format!("{tb:.1} TB")
    } else {
        format!("{:.1} GB", tb * 1e3)
    }
}

/// A count with thousands separators (the core's rule, which its messages use too).
pub use memphis_core::text::grouped as count;

/// A large number with an SI suffix (the core's rule, which its notes use too).
pub use memphis_core::text::si;

/// A mean count: whole from 10, one decimal from 1, and below 1 two significant
/// figures, so that a run expecting 0.004 interruptions (which still waits hours for
/// repairs) does not read as none; none is 0, and under a thousandth is said so (a
/// count of 0.0000000099 is noise to a reader).
pub fn few(n: f64) -> String {
    match n {
        n if (10.0..1e18).contains(&n) => count(n.round() as u64),
        n if n > 0.0 && n < 1e-3 => "under 0.001".to_string(),
        n if n >= 10.0 => format!("{n:.0}"),
        n if n >= 1.0 => format!("{n:.1}"),
        n if n > 0.0 => {
            let digits = (1.0 - n.log10().floor()) as usize;
            let s = format!("{n:.digits$}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        n => format!("{n:.0}"),
    }
}

/// A rate to three significant figures (the core's rule, which its notes use too).
pub use memphis_core::text::sig3;

/// Bytes in binary units with one decimal: 512 B, 64.0 KiB, 15.8 GiB.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024.0 {
        return format!("{b:.0} B");
    }
    let mut v = b / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// A fraction as a percentage with one decimal; one that rounds to zero is 0.0%, never
/// -0.0%.
pub fn pct(f: f64) -> String {
    let p = f * 100.0;
    format!("{:.1}%", if p.abs() < 0.05 { 0.0 } else { p })
}

/// Wall days of a run: the median and its p10-p90 spread, or the one analytic figure
/// when the Monte Carlo did not run (then p10 = p50 = p90).
pub fn days_spread(p10: f64, p50: f64, p90: f64, f: &FailureSummary) -> String {
    if !f.monte_carlo {
        return format!("{} (the analytic expectation)", days(p50));
    }
    // The mean (the ETTR's) where rare long waits move it away from the median.
    let mean =
        ((f.days_mean - p50).abs() >= 0.05 || f.days_mean > 1.1 * p50).then_some(f.days_mean);
    if p10.min(p50).min(p90).min(f.days_mean) >= 1.0 {
        // All in days: the unit once.
        let mean = mean
            .map(|m| format!("; mean {}", tenths(m)))
            .unwrap_or_default();
        return format!(
            "{} days p50 ({} p10, {} p90{mean})",
            tenths(p50),
            tenths(p10),
            tenths(p90)
        );
    }
    let mean = mean
        .map(|m| format!("; mean {}", days(m)))
        .unwrap_or_default();
    format!(
        "{} p50 ({} p10, {} p90{mean})",
        days(p50),
        days(p10),
        days(p90)
    )
}

/// The analytic ETTR beside the Monte Carlo's: a long run's steady state, said as such
/// for a run shorter than the job's MTBF (one step, say), where the two part ways.
pub fn analytic_ettr(f: &FailureSummary) -> String {
    let ideal_hours = f.days_mean * f.ettr * 24.0;
    if f.monte_carlo && ideal_hours < f.job_mtbf_hours {
        format!(
            "analytic {}: the steady state, which a run shorter than the job MTBF does not reach",
            pct(f.ettr_expected)
        )
    } else {
        format!("analytic {}", pct(f.ettr_expected))
    }
}

/// A run's wall time: in days from a day up, else as a duration (0.1 days would hide
/// 2.7 h), each figure on its own so that figures side by side compare.
pub fn days(d: f64) -> String {
    if d < 1.0 {
        duration(d * 86_400.0)
    } else {
        format!("{} days", tenths(d))
    }
}

/// A figure to a tenth below 10,000, whole with thousands separators from there (days,
/// hours): 13.8, 9,781.
pub fn tenths(x: f64) -> String {
    decimals_below(x, 1, 10_000.0)
}

/// Days in a table column: to a hundredth below 1,000 (13.79), whole with thousands
/// separators from there (1,451), where the hundredths no longer tell runs apart.
pub fn hundredths(x: f64) -> String {
    decimals_below(x, 2, 1_000.0)
}

/// `x` with `places` decimals below `whole_from`, whole with separators from there.
fn decimals_below(x: f64, places: usize, whole_from: f64) -> String {
    if (whole_from..1e18).contains(&x) {
        count(x.round() as u64)
    } else {
        format!("{x:.places$}")
    }
}

/// A count of spare GPUs with its noun: "1 spare GPU", "1,024 spare GPUs".
pub fn spare_gpus(n: u64) -> String {
    format!("{} spare GPU{}", count(n), if n == 1 { "" } else { "s" })
}

/// A number of days as given: whole with separators (30,000), else as written (0.5).
pub fn given_days(d: f64) -> String {
    if d.fract() == 0.0 && (0.0..1e18).contains(&d) {
        count(d as u64)
    } else {
        format!("{d}")
    }
}

/// At flow level, what the fabric did to each communicator: "flow level, ecmp routing:
/// each group's slowest flow at dp 0.80 · pp 0.12 of its NIC's rate (...)", or that no
/// traffic leaves a server; None on the analytical network model.
pub fn contention_line(r: &SimulationReport) -> Option<String> {
    let routing = r.routing?;
    if r.contention.is_empty() {
        return Some(
            "flow level: no communicator's traffic leaves its server, so the fabric changes nothing"
                .to_string(),
        );
    }
    let rates: Vec<String> = r
        .contention
        .iter()
        .map(|c| format!("{} {:.2}", c.group, c.rate_fraction))
        .collect();
    let ecmp = routing == memphis_core::fabric::Routing::Ecmp;
    Some(format!(
        "flow level, {} routing: each group's slowest flow at {} of its NIC's rate{}",
        memphis_core::serde_name(&routing),
        rates.join(" · "),
        if ecmp {
            " (the mean over ECMP hash draws)"
        } else {
            ""
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_figures() {
        for (x, s) in [
            (0.049321, "0.0493"),
            (0.3267, "0.327"),
            (40.92, "40.9"),
            (391.01, "391"),
            (1234.5, "1234"),
            (0.0, "0"),
            (-2.5, "-2.50"),
        ] {
            assert_eq!(sig3(x), s, "{x}");
        }
    }

    #[test]
    fn table_figures_read_at_a_glance() {
        assert_eq!(pct(-0.0001), "0.0%");
        assert_eq!(pct(-0.0006), "-0.1%");
        assert_eq!(pct(0.123), "12.3%");
        assert_eq!(hundredths(13.794), "13.79");
        assert_eq!(hundredths(1450.75), "1,451");
        assert_eq!(given_days(30000.0), "30,000");
        assert_eq!(given_days(0.5), "0.5");
        assert_eq!(spare_gpus(1), "1 spare GPU");
        assert_eq!(spare_gpus(1024), "1,024 spare GPUs");
        // A training step's energy keeps three figures whatever its size.
        assert_eq!(energy_mwh(0.000147), "147 Wh");
        assert_eq!(energy_mwh(0.0262), "26.2 kWh");
        assert_eq!(energy_mwh(3.5), "3.50 MWh");
        assert_eq!(energy_per_token(0.94), "0.940 J");
        assert_eq!(energy_per_token(0.0123), "12.3 mJ");
    }

    #[test]
    fn a_band_shows_its_two_ends_apart() {
        let b = |lo, hi| {
            let (a, b) = duration_band(lo, hi);
            format!("{a} to {b}")
        };
        assert_eq!(b(5.57, 5.64), "5.57 s to 5.64 s");
        assert_eq!(b(136.0, 139.0), "2.27 min to 2.32 min");
        assert_eq!(b(138.0, 138.1), "2.300 min to 2.302 min");
        // In the upper end's unit; ends that stay alike keep the usual decimals.
        assert_eq!(b(0.998, 1.004), "0.998 s to 1.004 s");
        assert_eq!(b(2.0, 2.0), "2.00 s to 2.00 s");
    }

    #[test]
    fn a_small_run_s_amounts_are_in_the_smaller_unit() {
        assert_eq!(run_amount(27_512.0, "MWh", "kWh"), "27.5k MWh");
        assert_eq!(run_amount(1.0, "t", "kg"), "1 t");
        assert_eq!(run_amount(0.2424, "MWh", "kWh"), "242 kWh");
        assert_eq!(run_amount(0.0883, "t", "kg"), "88.3 kg");
        assert_eq!(run_amount(0.0, "m³", "L"), "0 m³");
    }

    #[test]
    fn a_small_job_s_power_is_in_kw_or_w() {
        assert_eq!(power_mw(89.256), "89.26 MW");
        assert_eq!(power_mw(0.15), "0.15 MW");
        assert_eq!(power_mw(0.0693), "69.3 kW");
        assert_eq!(power_mw(0.000225), "225 W");
        assert_eq!(power_mw(0.0), "0.00 MW");
        assert_eq!(size_tb(5.71), "5.7 TB");
        assert_eq!(size_tb(0.0512), "51.2 GB");
    }

    #[test]
    fn units() {
        assert_eq!(duration(1.234), "1.23 s");
        assert_eq!(duration(0.0123), "12.3 ms");
        assert_eq!(duration(86400.0 * 3.0), "3.0 d");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(si(15e12), "15.0T");
        assert_eq!(si(405e9), "405B");
        assert_eq!(si(1e18), "1.0e18");
        assert_eq!(si(1.0), "1");
        assert_eq!(si(1.5), "1.5");
        assert_eq!(pct(0.4567), "45.7%");
        for (n, s) in [
            (0.0, "0"),
            (0.004, "0.004"),
            (0.00099, "under 0.001"),
            (9.9e-9, "under 0.001"),
            (0.001, "0.001"),
            (0.0412, "0.041"),
            (0.35, "0.35"),
            (2.04, "2.0"),
            (17.2, "17"),
        ] {
            assert_eq!(few(n), s, "{n}");
        }
    }
}
