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
    let k = 1200; // 2 min at 100 ms
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
        "--resolution = 120: a duration from 1 ms to the window",
    );
    expect_bad(
        &["power", "--window", "7d", "--resolution", "100ms"],
        "at most 2000000 samples",
    );
    expect_bad(&["power", "--window", "8d"], "--window = 691200");
    expect_bad(&["power", "--failure-at", "11m"], "--failure-at = 660");
    expect_bad(&["power", "--ramp-limit", "0"], "--ramp-limit = 0");
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
