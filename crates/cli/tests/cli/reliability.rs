//! `memphis reliability` and the goodput / power inputs.

use crate::util::{expect_bad, json, memphis, stderr, tmp};

#[test]
fn reliability_reproduces_the_llama3_interruptions() {
    let v = json(&["reliability", "--gpus", "16384", "--days", "54", "--json"]);
    let n = v["interruptions_unexpected"].as_f64().unwrap();
    assert!((n - 419.0).abs() / 419.0 < 0.15, "{n}");
    assert!(v["ettr"].as_f64().unwrap() > 0.90, "{}", v["ettr"]);
    for k in [
        "job_mtbf_hours",
        "checkpoint_interval_min",
        "intervals",
        "spares",
    ] {
        assert!(!v[k].is_null(), "missing {k}");
    }
    let d = json(&["reliability", "--json"]);
    let mtbf_min = d["job_mtbf_hours"].as_f64().unwrap() * 60.0;
    assert!(
        (10.0..60.0).contains(&mtbf_min),
        "{mtbf_min} min at ~100k GPUs"
    );
    assert!(d["days_p90"].as_f64().unwrap() >= d["days_p50"].as_f64().unwrap());
    // The interval table's row for the headline's interval is the headline's run.
    let chosen = d["checkpoint_interval_min"].as_f64().unwrap();
    let rows = d["intervals"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| (r["checkpoint_interval_min"].as_f64().unwrap() - chosen).abs() < 1e-9 * chosen)
        .expect("the chosen interval is in the table");
    assert_eq!(row["ettr"], d["ettr"]);
    assert_eq!(row["days_p50"], d["days_p50"]);
    // Each row says how busy its checkpoints keep the storage, and which rows pass the
    // 25% share the default scenario allows (its interval is bounded by it).
    let write_s = d["checkpoint_write_s"].as_f64().unwrap();
    for r in rows {
        let share = r["storage_share"].as_f64().unwrap();
        let interval_s = r["checkpoint_interval_min"].as_f64().unwrap() * 60.0;
        assert!((share * interval_s / write_s - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(
            r["over_storage_share"].as_bool(),
            Some(share > 0.25 + 1e-9),
            "{r}"
        );
    }
    assert!(rows.iter().any(|r| r["over_storage_share"] == true));
    assert_eq!(row["over_storage_share"], false);
    let a = memphis(&["reliability", "--seed", "9", "--json"]);
    let b = memphis(&["reliability", "--seed", "9", "--json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn bad_reliability_and_power_inputs() {
    let table: &[(&[&str], &str)] = &[
        (&["reliability", "--days", "0"], "--days = 0"),
        (&["reliability", "--days", "-3"], "--days = -3"),
        (
            &["reliability", "--spares", "5000"],
            "reliability.spare_gpus = 5000",
        ),
        (
            &["reliability", "--checkpoint-interval-min", "0"],
            "reliability.checkpoint_interval_min = 0",
        ),
    ];
    for (args, needle) in table {
        expect_bad(args, needle);
    }
    for (body, needle) in [
        ("[power]\npue = 0.9", "power.pue = 0.9"),
        (
            "[power]\ngrid_gco2_per_kwh = -5.0",
            "power.grid_gco2_per_kwh = -5",
        ),
        ("[power]\nturbine_share = 1.5", "power.turbine_share = 1.5"),
    ] {
        let p = tmp("power.toml");
        std::fs::write(&p, format!("preset = \"memphis-405b\"\n{body}\n")).unwrap();
        let o = memphis(&["simulate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{body}");
        assert!(stderr(&o).contains(needle), "{body}: {}", stderr(&o));
    }
}

#[test]
fn spares_that_are_no_whole_server_say_so() {
    let o = memphis(&["reliability", "--gpus", "4096", "--spares", "12", "--json"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("spares count in whole servers of 8 GPUs: 12 spare GPUs are 1 server"),
        "{err}"
    );
    let o = memphis(&["reliability", "--gpus", "4096", "--spares", "16", "--json"]);
    assert!(!stderr(&o).contains("whole servers"));
    // On an NVL72 rack a failure takes out a host of 4 GPUs, not the 72-GPU domain:
    // the note counts what the reliability model counts.
    let args = [
        "reliability",
        "--cluster",
        "gb200-nvl72",
        "--gpus",
        "8640",
        "--spares",
        "6",
        "--json",
    ];
    let o = memphis(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("spares count in whole hosts of 4 GPUs: 6 spare GPUs are 1 host"),
        "{}",
        stderr(&o)
    );
}
