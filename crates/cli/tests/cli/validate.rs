//! `memphis validate`: predictions against the published training and collective cases.

use crate::util::{json, memphis, shared, stdout};

#[test]
fn validate_public_training_cases_within_bounds() {
    let cases = shared().join("validation/training_public.toml");
    let v = json(&["validate", "--cases", cases.to_str().unwrap(), "--json"]);
    let s = &v["summary"];
    let mape = s["mape_pct"].as_f64().unwrap();
    let worst = s["max_ape_pct"].as_f64().unwrap();
    assert_eq!(
        s["n"].as_u64().unwrap(),
        v["cases"].as_array().unwrap().len() as u64
    );
    assert!(mape <= 15.0, "MAPE {mape:.1}% above 15%");
    assert!(worst <= 35.0, "worst case {worst:.1}% above 35%");
    for c in v["cases"].as_array().unwrap() {
        let (m, p) = (
            c["measured_step_time_s"].as_f64().unwrap(),
            c["predicted_step_time_s"].as_f64().unwrap(),
        );
        let e = c["error_pct"].as_f64().unwrap();
        assert!(((p - m) / m * 100.0 - e).abs() < 1e-9);
    }
    // The text report ends with the summary line.
    let o = memphis(&["validate", "--cases", cases.to_str().unwrap()]);
    assert!(stdout(&o).contains("mean absolute error"));
}

#[test]
fn validate_reads_collective_cases() {
    let cases = shared().join("validation/collectives_public.toml");
    let v = json(&["validate", "--cases", cases.to_str().unwrap(), "--json"]);
    assert!(v["summary"]["n"].as_u64().unwrap() > 0);
    assert!(
        v["cases"][0]["predicted_busbw_gbps"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
}

#[test]
fn public_cases_fit_in_memory_and_405b_on_one_gpu_does_not() {
    use memphis_core::validate::{parse_cases, CaseFile};
    let path = shared().join("validation/training_public.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let CaseFile::Training(cases) = parse_cases("public", &text).unwrap() else {
        panic!("training cases")
    };
    for c in &cases {
        let sc = c.scenario().validate().unwrap();
        let step = memphis_core::step::simulate_step(&sc);
        // Every published run ran, so it fit; the 175B full-recompute ones are in here.
        assert!(
            step.fits,
            "{} needs {:.1} GiB",
            c.id,
            step.memory.total().gib()
        );
    }
    assert!(cases.iter().any(|c| c.id.contains("175B_full_recompute")));
    let v = json(&[
        "simulate",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--gpus",
        "1024",
        "--global-batch",
        "1024",
        "--json",
    ]);
    assert_eq!(v["memory"]["fits"], false);
    let o = memphis(&[
        "simulate",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--gpus",
        "1024",
        "--global-batch",
        "1024",
    ]);
    assert!(stdout(&o).contains("DOES NOT FIT"));
}

#[test]
fn validate_collectives_within_bounds() {
    let cases = shared().join("validation/collectives_public.toml");
    let v = json(&["validate", "--cases", cases.to_str().unwrap(), "--json"]);
    let mape = v["summary"]["mape_pct"].as_f64().unwrap();
    assert!(mape <= 10.0, "busbw error over sizes >= 1 MiB: {mape}%");
    let lat = v["cases"][0]["latency_error_pct"].as_f64().unwrap();
    assert!(lat.abs() <= 30.0, "small-message latency error {lat}%");
}

#[test]
fn timeline_is_at_least_as_accurate_as_the_closed_form() {
    let cases = shared().join("validation/training_public.toml");
    let c = cases.to_str().unwrap();
    let t = json(&["validate", "--cases", c, "--json"]);
    let a = json(&[
        "validate",
        "--cases",
        c,
        "--step-model",
        "analytical",
        "--json",
    ]);
    let (mt, ma) = (
        t["summary"]["mape_pct"].as_f64().unwrap(),
        a["summary"]["mape_pct"].as_f64().unwrap(),
    );
    assert!(mt <= ma, "timeline {mt}% vs analytical {ma}%");
}
