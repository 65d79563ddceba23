//! `memphis power`: the grid's view of the site, checked against `simulate`'s power
//! model (energy, the job's draw), and its outputs (JSON, CSV, HTML).

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp};

fn f(v: &serde_json::Value, path: &str) -> f64 {
    let mut x = v;
    for k in path.split('.') {
        x = &x[k];
    }
    x.as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {x}"))
}

#[test]
fn the_report_has_the_grids_figures() {
    let r = json(&["power", "--window", "2m", "--json"]);
    for k in [
        "peak_mw",
        "min_mw",
        "swing_mw",
        "energy_mwh",
        "ramp_max_mw_per_s",
        "ramp_p99_mw_per_s",
        "spectrum.peak_hz",
        "spectrum.band_fraction",
        "battery.mw",
        "battery.mwh",
    ] {
        assert!(f(&r, k).is_finite(), "{k}");
    }
    assert!(f(&r, "peak_mw") - f(&r, "min_mw") - f(&r, "swing_mw") < 1e-9);
    assert_eq!(r["samples"], 1200);
    assert_eq!(r["mitigations"].as_array().unwrap().len(), 4);
}

/// Over a window without failure the series integrates to the power model's energy:
/// `simulate`'s site facility power times the window.
#[test]
fn the_series_conserves_simulates_energy() {
    let sim = json(&["simulate", "--json"]);
    let r = json(&["power", "--window", "10m", "--json"]);
    let model = f(&sim, "power.site.facility_mw") * 600.0 / 3600.0;
    let err = f(&r, "energy_mwh") / model - 1.0;
    assert!(err.abs() < 0.01, "{} vs {model} MWh", f(&r, "energy_mwh"));
    // The spectrum's peak is the step rate or one of its harmonics.
    let step_hz = 1.0 / f(&sim, "step.time_s");
    let h = f(&r, "spectrum.peak_hz") / step_hz;
    assert!(
        h.round() >= 1.0 && (h - h.round()).abs() < 0.05 * h.round(),
        "peak {} Hz vs step {step_hz} Hz",
        f(&r, "spectrum.peak_hz")
    );
}

/// A failure drops the site by at least the job's GPU power over idle within the GPUs'
/// time constant (a few samples), not the cooling's.
#[test]
fn a_failure_drops_the_job_to_idle() {
    let sim = json(&["simulate", "--json"]);
    // simulate's job IT average minus its IT with the GPUs idle: the GPUs' part.
    let gpus_over_idle = f(&sim, "power.it_mw") - f(&sim, "power.idle_it_mw");
    let csv = tmp("failure.csv");
    let o = memphis(&[
        "power",
        "--window",
        "5m",
        "--failure-at",
        "2m",
        "--csv",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mw: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    // The job fails at its step's worst moment from 2 min on, at a 100 ms sample's edge.
    let at = f(&r, "failure.at_s");
    assert!((120.0..120.0 + f(&r, "step_s")).contains(&at), "{at}");
    let k = (at / 0.1).round() as usize;
    let hi = mw[k - 60..=k].iter().cloned().fold(0.0, f64::max);
    let lo = mw[k..=k + 3].iter().cloned().fold(f64::MAX, f64::min);
    assert!(hi - lo >= gpus_over_idle, "{hi} - {lo} < {gpus_over_idle}");
    assert!(f(&r, "failure.drop_mw") >= gpus_over_idle);
}

#[test]
fn a_battery_for_1_mw_per_s_holds_it_and_says_what_it_costs() {
    let r = json(&[
        "power",
        "--window",
        "10m",
        "--failure-at",
        "3m",
        "--mitigation",
        "battery",
        "--ramp-limit",
        "1",
        "--json",
    ]);
    assert!(
        f(&r, "ramp_max_mw_per_s") <= 1.0 + 1e-9,
        "{}",
        r["ramp_max_mw_per_s"]
    );
    assert!(f(&r, "baseline.ramp_max_mw_per_s") > 10.0);
    assert!(f(&r, "battery.mw") > 10.0 && f(&r, "battery.mwh") > 0.0);
    let row = r["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "battery")
        .unwrap();
    assert!(f(row, "energy_cost_mwh") > 0.0 && f(&r, "battery.losses_mwh") > 0.0);
}

/// Same seed, same bytes, whatever the thread count; another seed, another jitter.
#[test]
fn deterministic_by_seed_and_thread_count() {
    let args = ["power", "--window", "3m", "--json"];
    let run = |threads: &str, seed: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_memphis"))
            .args(args)
            .args(["--seed", seed])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    let one = run("1", "7");
    assert_eq!(one, run("4", "7"));
    assert_ne!(one, run("1", "8"));
}

#[test]
fn csv_and_html_are_written_whole() {
    let csv = tmp("power.csv");
    let html = tmp("power.html");
    std::fs::write(&csv, "old").unwrap();
    let o = memphis(&[
        "power",
        "--window",
        "1m",
        "--resolution",
        "50ms",
        "--mitigation",
        "floor",
        "--csv",
        csv.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("t_s,facility_mw,"), "{}", &text[..40]);
    assert_eq!(text.lines().count(), 1201);
    let page = std::fs::read_to_string(&html).unwrap();
    for id in [
        "chart-series",
        "chart-spectrum",
        "chart-mitigations",
        "table-mitigations",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // The battery card says its energy in the unit the text does: this window's battery
    // holds kWh, no "0.00 MWh".
    let battery = stdout(&o)
        .lines()
        .find(|l| l.contains("battery for"))
        .unwrap()
        .to_string();
    assert!(
        battery.contains(" kWh") || battery.contains(" Wh"),
        "{battery}"
    );
    assert!(!page.contains("0.00 MWh"), "{battery}");
    // Nothing but the two files in their folder's share of the test (no temporary left).
    let dir = csv.parent().unwrap();
    assert!(std::fs::read_dir(dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp")));
    assert!(stdout(&o).contains("mitigation: floor"));
}

#[test]
fn bad_windows_are_refused_with_the_flag() {
    expect_bad(&["power", "--window=-1m"], "--window = -60");
    expect_bad(&["power", "--window", "0"], "--window = 0");
    expect_bad(
        &["power", "--window", "1m", "--resolution", "2m"],
        "--resolution = 120 s (2 min): a duration from 1 ms to the window, 60 s (1 min)",
    );
    expect_bad(
        &["power", "--window", "7d", "--resolution", "100ms"],
        "at most 2000000 samples",
    );
    expect_bad(&["power", "--window", "8d"], "--window = 691200");
    expect_bad(&["power", "--failure-at", "11m"], "--failure-at = 660 s");
    expect_bad(&["power", "--ramp-limit", "0"], "--ramp-limit = 0");
    // Not a number: said so, with the flag and what a duration is (it once read as an
    // unknown unit 'NaN').
    for bad in ["NaN", "inf", "-inf"] {
        let o = memphis(&["power", "--window", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        let e = stderr(&o);
        assert!(
            e.contains(&format!("invalid value '{bad}' for '--window <DURATION>': not a number: a duration is one number with a unit, ms, s, m, h or d"))
                && !e.contains("unknown unit"),
            "{e}"
        );
    }
    expect_bad(&["power", "--window", "1e400"], "not a finite number");
}

/// The longest window runs as asked, without a resolution: the default coarsens to fit.
#[test]
fn the_longest_window_runs_at_a_coarser_default_resolution() {
    let r = json(&["power", "--window", "7d", "-q", "--json"]);
    assert_eq!(r["resolution_s"], 0.5);
    let short = json(&["power", "--window", "50ms", "-q", "--json"]);
    assert_eq!(short["resolution_s"], 0.05);
}

/// The smallest windows: one sample, two samples of 1 ms (the drop window shrinks to
/// the window).
#[test]
fn the_smallest_windows_render() {
    let html = tmp("one.html");
    for args in [
        ["--window", "1s", "--resolution", "1s"],
        ["--window", "2ms", "--resolution", "1ms"],
    ] {
        let o = memphis(&[&["power", "--html", html.to_str().unwrap()][..], &args[..]].concat());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        // One sample is one, not "1 samples".
        if args[1] == "1s" {
            let text = stdout(&o);
            assert!(
                text.contains("(1 sample)") && text.contains("none: 1 sample is too few"),
                "{text}"
            );
            assert!(!text.contains("1 samples"), "{text}");
        }
        assert!(std::fs::read_to_string(&html)
            .unwrap()
            .contains("chart-series"));
    }
}

#[test]
fn simulate_points_to_power() {
    let o = memphis(&["simulate"]);
    assert!(stdout(&o).contains("memphis power"));
    let html = tmp("sim.html");
    let o = memphis(&["simulate", "--html", html.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("memphis power"));
}

/// The CSV's facility column.
fn csv_mw(args: &[&str]) -> (serde_json::Value, Vec<f64>) {
    let csv = tmp("drops.csv");
    let o = memphis(&[args, &["--csv", csv.to_str().unwrap(), "--json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mw = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    (r, mw)
}

/// The largest drop is the largest fall within `--drop-within` in the CSV (brute force
/// over every pair of samples at most 1 s apart), whatever `--drop-mw`.
#[test]
fn the_largest_drop_is_the_csvs_and_ignores_the_threshold() {
    for args in [
        &["power", "--window", "2m"][..],
        &["power", "--window", "10m", "--failure-at", "3m"][..],
    ] {
        let (r, mw) = csv_mw(args);
        let w = 10; // 1 s at 100 ms
        let brute = (0..mw.len())
            .flat_map(|j| (j.saturating_sub(w)..j).map(move |i| (i, j)))
            .map(|(i, j)| mw[i] - mw[j])
            .fold(0.0, f64::max);
        // The CSV has 6 decimals.
        assert!(
            (f(&r, "drops.largest_mw") - brute).abs() < 1e-5,
            "{} vs {brute}",
            r["drops"]
        );
        let (high, _) = csv_mw(&[args, &["--drop-mw", "30"]].concat());
        assert_eq!(high["drops"]["largest_mw"], r["drops"]["largest_mw"]);
        assert!(f(&high, "drops.count") <= f(&r, "drops.count"));
    }
}

/// The battery costs its losses; the charge left in it is reported apart; its own ramp
/// has no step at t = 0 (it is the load's less the grid's, at most the sum of both).
#[test]
fn the_battery_costs_its_losses_and_ramps_no_faster_than_the_load() {
    for res in ["100ms", "10ms"] {
        let r = json(&["power", "--window", "1m", "--resolution", res, "--json"]);
        let row = r["mitigations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "battery")
            .unwrap();
        let losses = f(&r, "battery.losses_mwh");
        assert!((f(row, "energy_cost_mwh") - losses).abs() < 1e-9, "{row}");
        assert!(f(&r, "battery.end_charge_mwh").is_finite());
        assert!(
            f(&r, "battery.battery_ramp_mw_per_s")
                <= f(&r, "baseline.ramp_max_mw_per_s") + f(&r, "ramp_limit_mw_per_s") + 1e-6,
            "{res}: {}",
            r["battery"]
        );
    }
}

#[test]
fn notes_say_what_was_changed_and_what_is_aliased() {
    let notes = |r: &serde_json::Value| -> String {
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The default changes nothing and sees all: its one note is what its battery is.
    let r = json(&["power", "--window", "10m", "--json"]);
    assert!(
        notes(&r).starts_with("the battery sized here (") && !notes(&r).contains('\n'),
        "{}",
        notes(&r)
    );
    // 1 s samples: the step's 3rd harmonic (0.54 Hz) is past Nyquist (0.5 Hz).
    let r = json(&["power", "--window", "10m", "--resolution", "1s", "--json"]);
    assert!(notes(&r).contains("aliasing"), "{}", notes(&r));
    // 10 min at 7 s: 86 samples, 602 s, said; drops within one sample, said.
    let r = json(&["power", "--window", "10m", "--resolution", "7s", "--json"]);
    assert_eq!(
        (f(&r, "window_s"), r["samples"].as_u64()),
        (602.0, Some(86))
    );
    assert!(notes(&r).contains("computed 602 s (86 samples), rounded up"));
    assert_eq!(f(&r, "drops.within_s"), 7.0);
    assert!(notes(&r).contains("within 7 s, not 1 s"), "{}", notes(&r));
    let o = memphis(&["power", "--window", "10s", "--resolution", "3s"]);
    let text = stdout(&o);
    assert!(
        text.starts_with("power · memphis-405b · 12 s at 3.00 s (4 samples)"),
        "{text}"
    );
    assert!(text.contains("note: the window of 10 s"), "{text}");
}

/// The HTML's band is the one computed (0.1-5 Hz at 100 ms), as in the text.
#[test]
fn the_band_is_labelled_as_computed() {
    let html = tmp("band.html");
    let o = memphis(&["power", "--window", "1m", "--html", html.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("in 0.1-5 Hz"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("0.1-5 Hz share") && page.contains("0.1-5 Hz RMS MW"));
    assert!(!page.contains("0.1-20 Hz"));
}

#[test]
fn edge_cases_of_the_spectrum_failure_and_outputs() {
    // One sample of 1 s: Nyquist 0.5 Hz, not 0.
    let r = json(&["power", "--window", "1s", "--resolution", "1s", "--json"]);
    assert_eq!(f(&r, "spectrum.nyquist_hz"), 0.5);
    // With a failure the peak is still the step's (not the dip's lowest line).
    let r = json(&["power", "--window", "1h", "--failure-at", "20m", "--json"]);
    let h = f(&r, "spectrum.peak_hz") / f(&r, "step_hz");
    assert!(h.round() >= 1.0 && (h - h.round()).abs() < 0.05, "{h}");
    expect_bad(&["power", "--failure-at", "0"], "--failure-at = 0");
    // A directory that refuses files is the user's path: exit 2.
    if std::path::Path::new("/proc/self").exists() {
        expect_bad(
            &["power", "--window", "1s", "--csv", "/proc/x.csv"],
            "--csv '/proc/x.csv'",
        );
    }
}

#[test]
fn a_window_shorter_than_two_steps_says_the_spectrum_cannot_see_the_step() {
    let o = memphis(&[
        "power",
        "dgx-h100-llama3-70b",
        "--window",
        "1s",
        "--resolution",
        "10ms",
    ]);
    assert!(o.status.success());
    let out = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        out.contains("too short for the spectrum to resolve the step rate"),
        "{out}"
    );
    // A small job's energy is in kWh, not "0.000 MWh".
    assert!(
        out.contains(" kWh (") && !out.contains("0.000 MWh"),
        "{out}"
    );
    let o = memphis(&["power", "dgx-h100-llama3-70b", "--window", "30s"]);
    assert!(!format!("{}{}", stdout(&o), stderr(&o)).contains("too short for the spectrum"));
}

/// A spectral line that carries nothing of the variance (a window a failure dominates)
/// is not listed as one of the main lines at 0.0%.
#[test]
fn main_lines_carry_some_of_the_variance() {
    let o = memphis(&[
        "power",
        "dgx-h100-llama3-70b",
        "--window",
        "15m",
        "--failure-at",
        "5m",
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = out
        .lines()
        .find(|l| l.trim_start().starts_with("main lines:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(!lines.contains("(0.0%)"), "{lines}");
}

/// The row of mitigation `name`.
fn mitigation<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", r["mitigations"]))
}

/// A CSV column, by its header.
fn column(text: &str, name: &str) -> Vec<f64> {
    let i = text
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name}"));
    text.lines()
        .skip(1)
        .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
        .collect()
}

/// Each mitigation's series opens in its own steady state (a site that has run under it
/// for long), so its steady figures do not depend on the window beyond the sampling of
/// whole steps. They did: each opened at the unmitigated site's state and relaxed with
/// the cooling's 60 s time constant, so that the cap saved 3.84% of the energy per step
/// over 1 min and 4.57% over 1 h (the floor cost 3.56% and 3.91%), and its swing took
/// the drift in (26.58 MW over 1 min, 27.29 MW over 1 h).
#[test]
fn a_mitigations_steady_figures_do_not_depend_on_the_window() {
    let short = json(&["power", "--window", "1m", "--json"]);
    let long = json(&["power", "--window", "1h", "--json"]);
    for name in ["floor", "cap", "battery"] {
        let (a, b) = (mitigation(&short, name), mitigation(&long, name));
        // Energy per step against the baseline's in the same window (their jitter is
        // the same draws): within 0.2 points. What is left is the window's last step,
        // counted by its share of time but drawing by its phase, at a phase that differs
        // between the two runs (a capped step is 5.5% longer): 1 min holds 10.7 steps,
        // and the gap is 0.08 points for the cap (0.72 before).
        let (ea, eb) = (f(a, "energy_cost"), f(b, "energy_cost"));
        assert!(
            (ea - eb).abs() < 0.002,
            "{name}: {ea} over 1 min, {eb} over 1 h"
        );
    }
    for name in ["baseline", "floor", "cap"] {
        let swing = |r: &serde_json::Value| match name {
            "baseline" => f(r, "baseline.swing_mw"),
            _ => f(mitigation(r, name), "swing_mw"),
        };
        // Swing within 1%: an hour draws more extreme step times than a minute (the
        // baseline's, never drifting, grows 0.3%); the cap's grew 2.7%, the floor's 1.5%.
        let (sa, sb) = (swing(&short), swing(&long));
        assert!(
            (sa / sb - 1.0).abs() < 0.01,
            "{name}: {sa} MW over 1 min, {sb} MW over 1 h"
        );
    }
}

/// In a steady window the cooling of a capped site holds its level (it fell from 13.49 MW
/// to 12.68 MW at 60 s and 12.23 MW at 300 s, relaxing from the uncapped site's), and
/// the grid behind a battery does not climb by the battery's losses (it did, by 0.14 MW
/// over the first 30 s: the grid opened without buying them).
#[test]
fn a_mitigated_site_does_not_drift_in_a_steady_window() {
    let csv = tmp("steady.csv");
    let run = |m: &str| {
        let o = memphis(&[
            "power",
            "--window",
            "5m",
            "--mitigation",
            m,
            "--csv",
            csv.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read_to_string(&csv).unwrap()
    };
    let cooling = column(&run("cap"), "cooling_mw");
    // It ripples with the steps: the heat dips by (PUE − 1) x 35 MW = 5 MW for about
    // half a second each 5.6 s step, which its 60 s filter spreads to some 0.05 MW.
    let (lo, hi) = cooling
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
    assert!(hi - lo < 0.1, "cooling from {lo} to {hi} MW");
    let grid = column(&run("battery"), "facility_mw");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // What is left: the grid's mean of the load opens at the load's average, not at the
    // phase of its ripple (17 kW here).
    let (first, rest) = (mean(&grid[..300]), mean(&grid[600..]));
    assert!((first - rest).abs() < 0.05, "{first} MW, then {rest} MW");
}

/// The CSV's times are each sample's start exactly (`0.3`, `59.9`), not `k as f64 * dt`
/// (`0.30000000000000004`, `59.900000000000006`).
#[test]
fn the_csv_times_are_exact() {
    let csv = tmp("times.csv");
    for (res, per_s) in [("100ms", 10u64), ("50ms", 20)] {
        let o = memphis(&[
            "power",
            "--window",
            "1m",
            "--resolution",
            res,
            "--csv",
            csv.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&csv).unwrap();
        let digits = if per_s == 10 { 1 } else { 2 };
        for (k, line) in text.lines().skip(1).enumerate() {
            let k = k as u64;
            let frac = (k % per_s) * if per_s == 10 { 1 } else { 5 };
            let want = format!("{}.{frac:0digits$}", k / per_s);
            assert_eq!(line.split(',').next().unwrap(), want, "{res}");
        }
    }
}

/// The stagger ramps the cap from when training resumes, after the restart and its
/// warm-up: a window that ends before that says so, and one that holds it does not.
#[test]
fn a_stagger_that_cannot_act_in_the_window_says_why() {
    let stagger = |window: &str| {
        let v = json(&["power", "--window", window, "--failure-at", "1m", "--json"]);
        let rows = v["mitigations"].as_array().unwrap().clone();
        let row = rows.into_iter().find(|m| m["name"] == "stagger").unwrap();
        row["what"].as_str().unwrap().to_string()
    };
    let short = stagger("10m");
    assert!(
        short.contains("(training resumes ")
            && short.contains(" s after the failure, its restart and warm-up done, past this 600 s window: lengthen --window)"),
        "{short}"
    );
    assert!(!stagger("20m").contains("training resumes"));
}

/// The window's rise is training's ripple (about 160 MW/s between 100 ms samples),
/// the same with a staggered restart as without: the restart's own climb, averaged
/// over a step, is where the stagger shows. Back at once, the site climbs from waiting
/// power to training's in a step (5.6 s); ramped in, over the stagger's 60 s.
#[test]
fn the_restarts_climb_shows_what_a_stagger_softens() {
    let args = ["power", "--window", "1h", "--failure-at", "20m"];
    let v = json(&[&args[..], &["--json"]].concat());
    let climb = |name: &str| f(mitigation(&v, name), "restart_climb_mw_per_s");
    let base = f(&v, "baseline.restart_climb_mw_per_s");
    let rise = f(&v, "baseline.ramp_up_max_mw_per_s");
    assert!(
        (f(mitigation(&v, "stagger"), "ramp_up_max_mw_per_s") - rise).abs() < 0.01 * rise,
        "the ripple sets both rises"
    );
    // Whatever the climb's size, the ramp-in spreads it over 60 s, not a step.
    let step = f(&v, "step_s");
    assert!(
        climb("stagger") < 3.0 * step / 60.0 * base,
        "{base} {}",
        climb("stagger")
    );
    assert!(base < 0.2 * rise && climb("stagger") < climb("cap"), "{v}");
    let text = stdout(&memphis(&args));
    assert!(text.contains("restart MW/s") && text.contains("    restart: the steepest climb"));
    // Without a failure there is no restart: null, and no column.
    let calm = json(&["power", "--window", "2m", "--json"]);
    assert!(calm["baseline"]["restart_climb_mw_per_s"].is_null());
    assert!(!stdout(&memphis(&["power", "--window", "2m"])).contains("restart MW/s"));
}

/// The default job's battery holds the step's ripple: tens of MW for seconds, which
/// no grid Li-ion battery is built for (2-4 h at its rating); the note says so.
#[test]
fn a_battery_of_seconds_is_no_li_ion_battery() {
    let v = json(&["power", "--window", "2m", "--json"]);
    let (mw, mwh) = (f(&v, "battery.mw"), f(&v, "battery.mwh"));
    assert!(mw / mwh > 0.5, "{mw} MW, {mwh} MWh");
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("is built for 2-4 h at its rating")
                && n.contains(&format!("holds at least {:.1} MWh", 2.0 * mw))),
        "{notes:?}"
    );
}

/// Under the cap the headline is the capped site's: its step (compute slowed: the
/// spectrum's lines are its harmonics) and its energy against the same window without
/// the cap, not against the uncapped power model alone (which read as 10% missing).
#[test]
fn the_caps_headline_is_the_capped_sites() {
    let args = ["power", "--window", "2m", "--mitigation", "cap"];
    let v = json(&[&args[..], &["--json"]].concat());
    let (step, capped) = (f(&v, "step_s"), f(&v, "headline_step_s"));
    let cost = f(mitigation(&v, "cap"), "step_time_cost");
    assert!(cost > 0.0 && (capped - step * (1.0 + cost)).abs() < 1e-9 * step);
    // The peak is a harmonic of the capped step, not of the uncapped one.
    let h = f(&v, "spectrum.peak_hz") * capped;
    assert!((h - h.round()).abs() < 0.05, "{h} x the capped step rate");
    let text = stdout(&memphis(&args));
    let e = |mwh: f64| format!("{mwh:.3} MWh");
    assert!(
        text.contains(&format!(
            "energy       {} with the cap ({} without it in this window;",
            e(f(&v, "energy_mwh")),
            e(f(&v, "baseline.energy_mwh"))
        )) && text.contains(&format!("{} under the cap", sinks_duration(capped))),
        "{text}"
    );
    let plain = json(&["power", "--window", "2m", "--json"]);
    assert_eq!(f(&plain, "headline_step_s"), f(&plain, "step_s"));
}

/// A step as the text shows it (three significant figures, in s).
fn sinks_duration(s: f64) -> String {
    format!("{s:.2} s")
}

/// A restart that ends past the window leaves the climb back out of the battery's
/// sizing: said on the battery's row, and not where the window holds the restart.
#[test]
fn a_battery_sized_before_the_restart_ends_says_so() {
    let legend = |window: &str| {
        let o = memphis(&[
            "power",
            "--window",
            window,
            "--failure-at",
            "10m",
            "--mitigation",
            "battery",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .find(|l| l.trim_start().starts_with("battery:"))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        legend("15m").contains("sized for the failure's fall alone"),
        "{}",
        legend("15m")
    );
    assert!(!legend("30m").contains("fall alone"), "{}", legend("30m"));
}
