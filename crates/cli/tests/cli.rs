//! The one integration-test binary: runs the real `memphis` executable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn memphis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memphis"))
        .args(args)
        .output()
        .expect("run memphis")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A bad input: exit code 2 and `needle` in the error.
fn expect_bad(args: &[&str], needle: &str) {
    let o = memphis(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = memphis(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// `../shared` beside the repository: the validation cases live there.
fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("validation").is_dir(),
        "expected the shared folder at {}",
        p.display()
    );
    p
}

/// A fresh path in a per-process temporary folder; a counter keeps tests that run in
/// parallel from sharing files.
fn tmp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("memphis-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{n}-{name}"))
}

#[test]
fn simulate_default_prints_the_summary() {
    let o = memphis(&["simulate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "memphis-405b",
        "MFU",
        "TFLOP/s",
        "tokens/s",
        "breakdown",
        "memory per GPU",
        "fits",
        "ideal time",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn simulate_json_has_the_documented_keys() {
    let v = json(&["simulate", "--json"]);
    let step = &v["step"];
    let t = step["time_s"].as_f64().unwrap();
    assert!(t > 0.0);
    let mfu = step["mfu"].as_f64().unwrap();
    assert!(mfu > 0.0 && mfu < 1.0, "{mfu}");
    assert!(step["tflops_per_gpu"].as_f64().unwrap() > 0.0);
    assert!(step["tokens_per_s"].as_f64().unwrap() > 0.0);
    let bd = step["breakdown"].as_object().unwrap();
    let keys = [
        "compute",
        "bubble",
        "tp_comm",
        "cp_comm",
        "ep_comm",
        "pp_comm",
        "dp_comm",
        "optimizer",
    ];
    for k in keys {
        assert!(bd[k].as_f64().unwrap() >= 0.0, "breakdown.{k}");
    }
    let sum: f64 = keys.iter().map(|k| bd[*k].as_f64().unwrap()).sum();
    assert!(
        (sum - t).abs() < 1e-9 * t,
        "breakdown sums to {sum}, step is {t}"
    );
    let mem = &v["memory"];
    assert!(mem["per_gpu_gib"].as_f64().unwrap() > 0.0);
    assert_eq!(mem["capacity_gib"].as_f64().unwrap(), 80.0);
    assert_eq!(mem["fits"], true);
    let run = &v["run"];
    let gpus = run["gpus"].as_u64().unwrap();
    assert!((96_000..=100_000).contains(&gpus), "{gpus}");
    assert_eq!(run["tokens"].as_f64().unwrap(), 15e12);
    assert!(run["ideal_days"].as_f64().unwrap() > 1.0);
}

#[test]
fn output_is_deterministic() {
    for args in [
        &["simulate", "--json"][..],
        &["simulate"],
        &["simulate", "memphis-grok1", "--json"],
        &["presets"],
    ] {
        let a = memphis(args);
        let b = memphis(args);
        assert!(a.status.success());
        assert_eq!(a.stdout, b.stdout, "{args:?} differs between runs");
    }
}

#[test]
fn every_scenario_preset_simulates_and_fits() {
    let o = memphis(&["presets"]);
    let out = stdout(&o);
    let scenarios = out.split("scenarios:").nth(1).unwrap();
    let names: Vec<&str> = scenarios
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 3, "{names:?}");
    for n in names {
        let v = json(&["simulate", n, "--json"]);
        assert_eq!(v["memory"]["fits"], true, "{n} does not fit");
    }
}

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
fn hugging_face_config_runs() {
    let cfg = tmp("config.json");
    std::fs::write(
        &cfg,
        r#"{"architectures":["MistralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
           "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000}"#,
    )
    .unwrap();
    let v = json(&[
        "simulate",
        "--model",
        cfg.to_str().unwrap(),
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--tp",
        "2",
        "--pp",
        "1",
        "--cp",
        "1",
        "--global-batch",
        "256",
        "--seq-len",
        "4096",
        "--json",
    ]);
    assert!((v["model"]["params"].as_f64().unwrap() / 1e9 - 7.24).abs() < 0.1);
    assert_eq!(v["run"]["gpus"].as_u64().unwrap(), 64);
}

/// Each bad input: exit code 2, one line on stderr naming the problem, nothing on stdout.
#[test]
fn bad_inputs_get_one_clear_error() {
    let bad_toml = tmp("bad.toml");
    std::fs::write(&bad_toml, "[parallel\ntp = 2\n").unwrap();
    let zero_layers = tmp("zero.toml");
    std::fs::write(
        &zero_layers,
        "preset = \"memphis-405b\"\n[model]\npreset = \"llama3-405b\"\nlayers = 0\n",
    )
    .unwrap();
    let cases = shared().join("validation/training_public.toml");
    let missing_field = tmp("cases.toml");
    let text = std::fs::read_to_string(&cases)
        .unwrap()
        .replacen("gpus = 32\n", "", 1);
    std::fs::write(&missing_field, text).unwrap();
    let (bt, zl, mf) = (
        bad_toml.to_str().unwrap(),
        zero_layers.to_str().unwrap(),
        missing_field.to_str().unwrap(),
    );
    let table: &[(&[&str], &str)] = &[
        (&["simulate", "--gpus", "1000"], "training.gpus = 1000"),
        (&["simulate", zl], "model.layers = 0"),
        (&["simulate", "--tp", "3"], "parallel.tp = 3"),
        (&["simulate", "--gpu", "Z100"], "unknown gpu 'Z100'"),
        (&["simulate", "/no/such/file.toml"], "no such file"),
        (&["simulate", bt], "line 1"),
        (&["validate", "--cases", mf], "missing field `gpus`"),
        (
            &["validate", "--cases", "/no/such/cases.toml"],
            "no such file",
        ),
        (&["validate", "--cases", "/tmp"], "is a directory"),
        (&["simulate", "--tokens", "-5"], "training.tokens = -5"),
        (&["simulate", "--tokens", "NaN"], "training.tokens = NaN"),
        (
            &["simulate", "--global-batch", "7"],
            "training.global_batch = 7",
        ),
        (&["simulate", "no-such-preset"], "unknown scenario preset"),
        (
            &["simulate", "--model", "gpt5"],
            "unknown model preset 'gpt5'",
        ),
        (&["simulate", "--ep", "2"], "parallel.ep = 2"),
        (
            &[
                "simulate",
                "--precision",
                "fp8",
                "--cluster",
                "dgx-a100",
                "--gpus",
                "4096",
            ],
            "training.precision",
        ),
    ];
    for (args, needle) in table {
        let o = memphis(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked");
    }
}

#[test]
fn output_files_are_complete_or_absent() {
    let out = tmp("report.json");
    let o = memphis(&["simulate", "--json", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(v["step"]["time_s"].as_f64().unwrap() > 0.0);
    // An unwritable path: exit 2, one line, and no file left behind.
    let bad = Path::new("/no/such/dir/report.json");
    let o = memphis(&["simulate", "-o", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!bad.exists());
    assert_eq!(stderr(&o).trim_end().lines().count(), 1);
    // A failed scenario writes nothing.
    let never = tmp("never.json");
    let o = memphis(&["simulate", "--tp", "3", "-o", never.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!never.exists());
}

#[test]
fn cluster_inventory_of_memphis() {
    let v = json(&["cluster", "--json"]);
    assert_eq!(v["gpus"], 100_000);
    assert_eq!(v["nodes"], 12_500);
    assert_eq!(v["racks"], 1_563);
    let tiers = v["switches_by_tier"].as_array().unwrap();
    assert_eq!(tiers.len(), 3);
    let total: u64 = tiers.iter().map(|t| t.as_u64().unwrap()).sum();
    assert_eq!(v["switches"].as_u64().unwrap(), total);
    assert!(v["links"].as_u64().unwrap() > 300_000);
    assert_eq!(v["bisection_tbps"].as_f64().unwrap(), 20_000.0);
    let o = memphis(&["cluster"]);
    assert!(stdout(&o).contains("bisection"));
}

#[test]
fn fabric_bench_shows_ecmp_collisions_and_adaptive_line_rate() {
    let run = |routing: &str| {
        json(&[
            "fabric-bench",
            "--pattern",
            "permutation",
            "--gpus",
            "16384",
            "--routing",
            routing,
            "--json",
        ])
    };
    let ecmp = run("ecmp");
    let adaptive = run("adaptive");
    for v in [&ecmp, &adaptive] {
        for k in [
            "pattern",
            "gpus",
            "routing",
            "flows",
            "mean_rate_fraction",
            "min_rate_fraction",
        ] {
            assert!(!v[k].is_null(), "missing {k}");
        }
    }
    assert!(adaptive["mean_rate_fraction"].as_f64().unwrap() >= 0.95);
    let e = ecmp["mean_rate_fraction"].as_f64().unwrap();
    assert!(e < 0.8, "{e}");
    let ring = json(&[
        "fabric-bench",
        "--pattern",
        "ring",
        "--gpus",
        "4096",
        "--json",
    ]);
    assert_eq!(ring["flows"], 4096);
}

#[test]
fn bad_fabrics_are_refused() {
    let write = |name: &str, cluster: &str| {
        let p = tmp(name);
        std::fs::write(
            &p,
            format!("preset = \"memphis-405b\"\n[cluster]\npreset = \"memphis\"\n{cluster}\n"),
        )
        .unwrap();
        p
    };
    let cases = [
        (
            write("radix.toml", "switch_radix = 2"),
            "cluster.switch_radix = 2",
        ),
        (write("zero.toml", "gpus = 0"), "cluster.gpus = 0"),
        (
            write("over.toml", "oversubscription = [0.5, 1.0]"),
            "oversubscription",
        ),
        (write("big.toml", "tiers = 2"), "at most 8192 GPUs"),
    ];
    for (path, needle) in &cases {
        let o = memphis(&["cluster", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "expected {needle:?} in {err}");
        assert_eq!(err.trim_end().lines().count(), 1);
    }
    let o = memphis(&["fabric-bench", "--pattern", "ring", "--gpus", "200000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--gpus = 200000"));
}

#[test]
fn collective_table_and_json() {
    let o = memphis(&["collective", "all_reduce", "-g", "8", "-b", "8", "-e", "1G"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("busbw") && out.contains("nvls"), "{out}");
    let v = json(&[
        "collective",
        "all_gather",
        "-g",
        "64",
        "-b",
        "1K",
        "-e",
        "1M",
        "-f",
        "4",
        "--json",
    ]);
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 6); // 1K 4K 16K 64K 256K 1M
    for r in rows {
        for k in [
            "size_bytes",
            "time_us",
            "algbw_gbps",
            "busbw_gbps",
            "algorithm",
            "protocol",
        ] {
            assert!(!r[k].is_null(), "missing {k}");
        }
        let (algbw, busbw) = (
            r["algbw_gbps"].as_f64().unwrap(),
            r["busbw_gbps"].as_f64().unwrap(),
        );
        assert!(
            (busbw / algbw - 63.0 / 64.0).abs() < 1e-9,
            "all-gather busbw factor (n-1)/n"
        );
    }
}

#[test]
fn collective_at_flow_level_on_100k_gpus_shows_ecmp_collisions() {
    let run = |routing: &str| {
        let v = json(&[
            "collective",
            "all_reduce",
            "-g",
            "100000",
            "-b",
            "1G",
            "-e",
            "1G",
            "--network",
            "flow",
            "--routing",
            routing,
            "--json",
        ]);
        v[0]["busbw_gbps"].as_f64().unwrap()
    };
    let (ecmp, adaptive) = (run("ecmp"), run("adaptive"));
    assert!(adaptive > 1.5 * ecmp, "adaptive {adaptive} vs ecmp {ecmp}");
}

#[test]
fn collective_compares_with_an_nccl_tests_log() {
    let log = tmp("all_reduce_perf.log");
    std::fs::write(
        &log,
        "# nThread 1 nGpus 8 minBytes 1048576 maxBytes 1073741824 step: 2(factor)\n\
         #       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n\
         \x20    1048576        262144     float     sum      -1    27.37   38.31   67.04      0    27.10   38.69   67.71      0\n\
         \x20 1073741824     268435456     float     sum      -1   4029.4  266.48  466.33      0   4030.1  266.43  466.25      0\n",
    )
    .unwrap();
    let o = memphis(&[
        "collective",
        "all_reduce",
        "--compare",
        log.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("measured") && out.contains("mean absolute busbw error"),
        "{out}"
    );
    let bad = tmp("bad.log");
    std::fs::write(
        &bad,
        "# header\n     1048576   262144  float  sum  -1  oops  1 2 0 1 2 3 0\n",
    )
    .unwrap();
    let o = memphis(&[
        "collective",
        "all_reduce",
        "--compare",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

#[test]
fn collective_bad_inputs() {
    let table: &[(&[&str], &str)] = &[
        (
            &["collective", "all_reduce", "-b", "0"],
            "-b/--minbytes = 0",
        ),
        (
            &["collective", "all_reduce", "-e", "12Q"],
            "-e/--maxbytes = 12Q",
        ),
        (
            &["collective", "all_reduce", "-g", "200000"],
            "-g/--gpus = 200000",
        ),
    ];
    for (args, needle) in table {
        expect_bad(args, needle);
    }
    let o = memphis(&["collective", "broadcast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("broadcast"));
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
fn flow_level_step_agrees_with_analytical_when_the_fabric_is_ideal() {
    use memphis_core::collective::flow::FlowComm;
    use memphis_core::fabric::{Fabric, Routing};
    use memphis_core::validate::{parse_cases, CaseFile};
    let text = std::fs::read_to_string(shared().join("validation/training_public.toml")).unwrap();
    let CaseFile::Training(cases) = parse_cases("public", &text).unwrap() else {
        panic!()
    };
    for c in cases.iter().filter(|c| c.gpus >= 256) {
        let sc = c.scenario().validate().unwrap();
        let analytical = memphis_core::step::simulate_step(&sc).time.0;
        let fabric = Fabric::build(&sc.cluster.fabric_spec);
        let comm = FlowComm::for_scenario(&sc, &fabric, Routing::Adaptive, 1);
        let flow = memphis_core::step::simulate_step_with(&sc, &comm).time.0;
        assert!(
            (flow / analytical - 1.0).abs() < 0.10,
            "{}: flow {flow} vs analytical {analytical}",
            c.id
        );
    }
    // On Memphis with ECMP, collisions cost time.
    let ecmp = json(&[
        "simulate",
        "--network",
        "flow",
        "--routing",
        "ecmp",
        "--json",
    ]);
    let adaptive = json(&[
        "simulate",
        "--network",
        "flow",
        "--routing",
        "adaptive",
        "--json",
    ]);
    assert!(
        ecmp["step"]["time_s"].as_f64().unwrap() > adaptive["step"]["time_s"].as_f64().unwrap()
    );
    assert_eq!(ecmp["network"], "flow");
}

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
    let a = memphis(&["reliability", "--seed", "9", "--json"]);
    let b = memphis(&["reliability", "--seed", "9", "--json"]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn simulate_reports_goodput_power_energy_carbon_water() {
    let v = json(&["simulate", "--tokens", "15.6e12", "--json"]);
    for (section, keys) in [
        (
            "reliability",
            &[
                "job_mtbf_hours",
                "interruptions",
                "checkpoint_interval_min",
                "ettr",
            ][..],
        ),
        ("run", &["days_p50", "days_p90", "gpu_hours"][..]),
        ("power", &["it_mw", "facility_mw", "swing_mw"][..]),
        ("energy", &["run_mwh"][..]),
        ("carbon", &["run_tco2e"][..]),
        ("water", &["run_m3"][..]),
    ] {
        for k in keys {
            assert!(v[section][k].as_f64().is_some(), "missing {section}.{k}");
        }
    }
    let facility = v["power"]["facility_mw"].as_f64().unwrap();
    assert!(facility > 50.0 && facility <= 150.0, "{facility} MW");
    assert!(v["power"]["swing_mw"].as_f64().unwrap() > 10.0);
    // Llama 3.1 405B: 30.84M H100-hours for 15.6T tokens (facts.md §5).
    let gh = v["run"]["gpu_hours"].as_f64().unwrap();
    assert!((gh / 30.84e6 - 1.0).abs() < 0.30, "{gh}");
    let ettr = v["reliability"]["ettr"].as_f64().unwrap();
    assert!(ettr > 0.3 && ettr < 1.0);
    let o = memphis(&["simulate"]);
    let out = stdout(&o);
    assert!(
        out.contains("Air cooling would draw") && out.contains("gpus (training)"),
        "{out}"
    );
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
fn planner_is_no_slower_than_the_published_plans() {
    use memphis_core::plan::{search, Objective};
    use memphis_core::validate::{parse_cases, CaseFile};
    let text = std::fs::read_to_string(shared().join("validation/training_public.toml")).unwrap();
    let CaseFile::Training(cases) = parse_cases("public", &text).unwrap() else {
        panic!()
    };
    for c in &cases {
        let sc = c.scenario().validate().unwrap();
        let published = memphis_core::step::simulate_step(&sc).time.0;
        let best = search(&sc, Objective::Step, 1, None, &|_, _| {}).unwrap();
        let b = &best.top[0];
        assert!(
            b.step_time_s <= published * (1.0 + 1e-12),
            "{}: best {} > published {}",
            c.id,
            b.step_time_s,
            published
        );
        println!(
            "{:<40} published {:>8.3} s  best {:>8.3} s  ({:>5.1}% faster)  TP{} PP{} vpp{} CP{} DP{} mb{} {:?}",
            c.id,
            published,
            b.step_time_s,
            (1.0 - b.step_time_s / published) * 100.0,
            b.plan.tp,
            b.plan.pp,
            b.plan.vpp,
            b.plan.cp,
            b.plan.dp,
            b.plan.micro_batch,
            b.plan.recompute
        );
    }
}

#[test]
fn plan_command_shards_merge_and_errors() {
    let v = json(&["plan", "dgx-h100-llama3-70b", "--top", "3", "--json"]);
    for k in ["plans_evaluated", "plans_feasible", "elapsed_s", "top"] {
        assert!(!v[k].is_null(), "missing {k}");
    }
    let top = v["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    for k in ["tp", "pp", "dp", "step_time_s", "mfu", "memory_gib", "fits"] {
        assert!(!top[0][k].is_null(), "missing top.{k}");
    }
    let files: Vec<PathBuf> = (1..=3).map(|i| tmp(&format!("shard{i}.json"))).collect();
    for (i, f) in files.iter().enumerate() {
        let o = memphis(&[
            "plan",
            "dgx-h100-llama3-70b",
            "--top",
            "3",
            "--shard",
            &format!("{}/3", i + 1),
            "--out",
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut args = vec!["plan", "--top", "3", "--json", "--merge"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let mut merged = json(&args);
    let mut whole = v.clone();
    merged.as_object_mut().unwrap().remove("elapsed_s");
    whole.as_object_mut().unwrap().remove("elapsed_s");
    assert_eq!(
        serde_json::to_string(&merged).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    // Errors.
    for (args, needle) in [
        (&["plan", "--shard", "0/4"][..], "--shard = 0/4"),
        (&["plan", "--shard", "5/4"][..], "--shard = 5/4"),
        (&["plan", "--global-batch-never"][..], "unexpected argument"),
    ] {
        let o = memphis(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    let other = tmp("other.json");
    let o = memphis(&[
        "plan",
        "memphis-grok1",
        "--top",
        "3",
        "--shard",
        "2/3",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let o = memphis(&[
        "plan",
        "--merge",
        files[0].to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fingerprint"), "{}", stderr(&o));
    let odd = tmp("odd.toml");
    std::fs::write(
        &odd,
        "preset = \"memphis-405b\"\n[training]\nglobal_batch = 1001\n",
    )
    .unwrap();
    let o = memphis(&["plan", odd.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no plan exists"), "{}", stderr(&o));
}

#[test]
fn trace_of_the_default_opens_and_is_deterministic() {
    let a = tmp("trace-a.json");
    let b = tmp("trace-b.json");
    for p in [&a, &b] {
        let o = memphis(&["simulate", "--trace", p.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let bytes = std::fs::read(&a).unwrap();
    assert!(bytes.len() < 50 << 20, "{} bytes", bytes.len());
    assert_eq!(
        bytes,
        std::fs::read(&b).unwrap(),
        "traces differ between runs"
    );
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let names = |ph: &str, name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && e["name"] == name)
            .count()
    };
    assert_eq!(names("M", "process_name"), 16, "one process per stage");
    assert_eq!(names("M", "thread_name"), 16 * 6, "one track per stream");
    let complete: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert!(complete
        .iter()
        .any(|e| e["name"].as_str().unwrap().starts_with("F mb0")));
    assert!(complete
        .iter()
        .any(|e| e["name"].as_str().unwrap().starts_with("B mb31")));
    assert!(complete.iter().any(|e| e["cat"] == "dp comm"));
    assert!(complete
        .iter()
        .filter(|e| e["cat"] == "compute")
        .all(|e| e["args"]["flops"].is_number() && e["args"]["bytes"].is_number()));
    assert!(events.iter().any(|e| e["ph"] == "C"), "memory counters");
}

#[test]
fn stragglers_and_bad_timeline_inputs() {
    let base = json(&["simulate", "--json"]);
    let slow = json(&[
        "simulate",
        "--json",
        "--slow-gpu",
        "30720",
        "--slowdown",
        "10",
    ]);
    let (t0, t1) = (
        base["step"]["time_s"].as_f64().unwrap(),
        slow["step"]["time_s"].as_f64().unwrap(),
    );
    assert!(t1 > t0 * 1.02, "{t0} -> {t1}");
    assert_eq!(slow["step"]["slowest_stage"], 5);
    let table: &[(&[&str], &str)] = &[
        (
            &["simulate", "--slow-gpu", "1", "--slowdown", "100"],
            "--slowdown = 100",
        ),
        (
            &["simulate", "--slow-gpu", "1", "--slowdown", "-5"],
            "--slowdown = -5",
        ),
        (&["simulate", "--slow-gpu", "98304"], "--slow-gpu = 98304"),
        (
            &["simulate", "--slow-server", "99999"],
            "--slow-server = 99999",
        ),
        (
            &["simulate", "--trace", "/no/such/dir/t.json"],
            "/no/such/dir/t.json",
        ),
    ];
    for (args, needle) in table {
        expect_bad(args, needle);
    }
    assert!(!Path::new("/no/such/dir/t.json").exists());
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

/// Headless Chromium, or None (skipped) outside CI; `.ci/run` installs it.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium installed (.ci/run installs it)"
        );
        eprintln!("skipping the browser test: no chromium on PATH (apt-get install chromium)");
    }
    found
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let html = tmp("report.html");
    let o = memphis(&["simulate", "--html", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.len() < 2 << 20, "report is {} bytes", text.len());
    for forbidden in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !text.contains(forbidden),
            "report loads from the network: {forbidden}"
        );
    }
    let Some(browser) = chromium() else { return };
    let profile = tmp("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let png = tmp("report.png");
    let url = format!("file://{}", html.display());
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ];
    let user = format!("--user-data-dir={}", profile.display());
    let shot = format!("--screenshot={}", png.display());
    let out = Command::new(&browser)
        .args(base)
        .args([
            user.as_str(),
            "--window-size=1000,2600",
            shot.as_str(),
            url.as_str(),
        ])
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not blank: many colours and plenty of non-background pixels.
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let mut colours: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    let bg = colours[0];
    let painted = colours.iter().filter(|c| **c != bg).count() as f64 / colours.len() as f64;
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 50 && painted > 0.05,
        "blank page? {} colours, {:.1}% painted",
        colours.len(),
        painted * 100.0
    );
    // The DOM holds the title and every chart.
    let profile2 = tmp("chromium-profile2");
    std::fs::create_dir_all(&profile2).unwrap();
    let user2 = format!("--user-data-dir={}", profile2.display());
    let dom = Command::new(&browser)
        .args(base)
        .args([user2.as_str(), "--dump-dom", url.as_str()])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("memphis report — memphis-405b"),
        "title missing"
    );
    for id in [
        "cards",
        "chart-breakdown",
        "chart-timeline",
        "chart-memory",
        "table-fabric",
        "chart-power",
        "chart-goodput",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} missing from the DOM"
        );
    }
}

#[test]
fn cli_polish_help_completions_and_outputs() {
    // Help for the tool and every subcommand, each with an example.
    let o = memphis(&["--help"]);
    assert!(o.status.success() && stdout(&o).contains("Examples:"));
    for sub in [
        "simulate",
        "validate",
        "cluster",
        "fabric-bench",
        "collective",
        "reliability",
        "plan",
        "presets",
        "completions",
    ] {
        let o = memphis(&[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help");
        assert!(
            stdout(&o).contains("Example"),
            "{sub} --help has no example"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let o = memphis(&["completions", shell]);
        assert!(
            o.status.success() && stdout(&o).contains("memphis"),
            "{shell}"
        );
    }
    let o = memphis(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1);
    // An unwritable HTML path: exit 2, one line, no file.
    let o = memphis(&["simulate", "--html", "/no/such/dir/r.html"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!Path::new("/no/such/dir/r.html").exists());
    // Piped output has no colour codes.
    let o = memphis(&["simulate"]);
    assert!(!stdout(&o).contains('\u{1b}'));
    let o = memphis(&["presets"]);
    let out = stdout(&o);
    assert!(
        out.contains("clusters:")
            && out.contains("models:")
            && out.contains("scenarios:")
            && out.contains("(default)")
    );
}

/// Hardening: bad inputs a user could give. Each gets exit code 2, exactly one error line
/// on stderr, nothing on stdout, no panic, and leaves no output file behind.
#[test]
fn forty_bad_inputs_one_clear_error_each() {
    let file = |name: &str, body: &[u8]| {
        let p = tmp(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let scen = |name: &str, body: &str| {
        file(
            name,
            format!("preset = \"memphis-405b\"\n{body}\n").as_bytes(),
        )
    };
    let cases_text =
        std::fs::read_to_string(shared().join("validation/training_public.toml")).unwrap();
    let out = tmp("never-written.json");
    let out_s = out.to_str().unwrap().to_string();
    let dir = std::env::temp_dir().to_str().unwrap().to_string();
    let f = |s: &str| s.to_string();
    let table: Vec<(Vec<String>, &str)> = vec![
        (
            vec![f("simulate"), file("m1.toml", b"[parallel\ntp = 2\n")],
            "line 1",
        ),
        (
            vec![f("simulate"), scen("m2.toml", "[parallel]\ntpp = 2")],
            "did you mean `pp`",
        ),
        (
            vec![f("simulate"), scen("m3.toml", "[paralel]\ntp = 2")],
            "did you mean `parallel`",
        ),
        (
            vec![f("simulate"), scen("m4.toml", "[parallel]\ntp = \"eight\"")],
            "tp = \"eight\"",
        ),
        (
            vec![f("simulate"), scen("m5.toml", "[parallel]\ntp = -1")],
            "tp = -1",
        ),
        (
            vec![f("simulate"), scen("m6.toml", "[parallel]\ntp = 0")],
            "parallel.tp = 0",
        ),
        (
            vec![
                f("simulate"),
                scen("m7.toml", "[model]\npreset = \"llama3-8b\"\nlayers = 0"),
            ],
            "model.layers = 0",
        ),
        (
            vec![f("simulate"), scen("m8.toml", "[training]\ntokens = nan")],
            "training.tokens = NaN",
        ),
        (
            vec![f("simulate"), scen("m9.toml", "[training]\ntokens = inf")],
            "training.tokens = inf",
        ),
        (
            vec![f("simulate"), f("--tokens"), f("-1e12")],
            "training.tokens = -1000000000000",
        ),
        (
            vec![
                f("simulate"),
                scen(
                    "m10.toml",
                    "[cluster]\npreset = \"memphis\"\nnic_gbps = inf",
                ),
            ],
            "cluster.nic_gbps = inf",
        ),
        (
            vec![
                f("simulate"),
                scen("m11.toml", "[cluster]\npreset = \"memphis\"\nnic_gbps = 0"),
            ],
            "cluster.nic_gbps = 0",
        ),
        (
            vec![f("simulate"), scen("m12.toml", "[power]\npue = nan")],
            "power.pue = NaN",
        ),
        (
            vec![
                f("simulate"),
                scen("m13.toml", "[power]\nturbine_share = -0.1"),
            ],
            "power.turbine_share = -0.1",
        ),
        (
            vec![
                f("simulate"),
                scen(
                    "m14.toml",
                    "[cluster]\npreset = \"memphis\"\ngpus = 1000000000000",
                ),
            ],
            "cluster.gpus = 1000000000000",
        ),
        (
            vec![
                f("simulate"),
                scen(
                    "m15.toml",
                    "[model]\npreset = \"llama3-8b\"\nhidden = 1099511627776",
                ),
            ],
            "model.hidden = 1099511627776",
        ),
        (
            vec![
                f("simulate"),
                scen("m16.toml", "[model]\npreset = \"llama3-8b\"\nheads = 33"),
            ],
            "model.heads = 33",
        ),
        (
            vec![
                f("simulate"),
                scen("m17.toml", "[model]\npreset = \"llama3-8b\"\nkv_heads = 5"),
            ],
            "model.kv_heads = 5",
        ),
        (
            vec![
                f("simulate"),
                scen("m18.toml", "[model]\npreset = \"grok-1\"\nmoe_topk = 9"),
            ],
            "model.moe_topk = 9",
        ),
        (
            vec![f("simulate"), f("--gpus"), f("1000")],
            "training.gpus = 1000",
        ),
        (vec![f("simulate"), f("--tp"), f("3")], "parallel.tp = 3"),
        (vec![f("simulate"), f("--ep"), f("2")], "parallel.ep = 2"),
        (
            vec![f("simulate"), f("--global-batch"), f("7")],
            "training.global_batch = 7",
        ),
        (
            vec![f("simulate"), f("--seq-len"), f("0")],
            "training.seq_len = 0",
        ),
        (
            vec![f("simulate"), f("--micro-batch"), f("0")],
            "parallel.micro_batch = 0",
        ),
        (
            vec![f("simulate"), f("--pp"), f("1"), f("--vpp"), f("2")],
            "parallel.vpp = 2",
        ),
        (
            vec![
                f("simulate"),
                f("--cluster"),
                f("dgx-a100"),
                f("--gpus"),
                f("4096"),
                f("--precision"),
                f("fp8"),
            ],
            "training.precision",
        ),
        (
            vec![f("simulate"), f("--gpu"), f("Z100")],
            "unknown gpu 'Z100'",
        ),
        (
            vec![f("simulate"), f("--cluster"), f("colossus-9")],
            "unknown cluster preset",
        ),
        (
            vec![f("simulate"), f("--model"), f("gpt-7")],
            "unknown model preset",
        ),
        (
            vec![f("simulate"), f("no-such-scenario")],
            "unknown scenario preset",
        ),
        (
            vec![f("simulate"), f("/no/such/scenario.toml")],
            "no such file",
        ),
        (
            vec![f("simulate"), file("empty.toml", b"")],
            "the file is empty",
        ),
        (
            vec![f("simulate"), file("binary.toml", &[0, 159, 146, 150, 255])],
            "not UTF-8",
        ),
        (vec![f("simulate"), format!("{dir}/")], "is a directory"),
        (
            vec![f("simulate"), f("--model"), f("/no/such/config.json")],
            "no such file",
        ),
        (
            vec![
                f("simulate"),
                f("--model"),
                file("bad.json", b"{\"hidden_size\": 4096,"),
            ],
            "bad.json",
        ),
        (
            vec![
                f("simulate"),
                f("--model"),
                file("nohidden.json", b"{\"num_hidden_layers\": 2}"),
            ],
            "hidden_size",
        ),
        (
            vec![f("validate"), f("--cases"), file("c-empty.toml", b"")],
            "the file is empty",
        ),
        (
            vec![
                f("validate"),
                f("--cases"),
                file(
                    "c-type.toml",
                    cases_text
                        .replacen("gpus = 32", "gpus = \"a\"", 1)
                        .as_bytes(),
                ),
            ],
            "expected u64",
        ),
        (
            vec![
                f("validate"),
                f("--cases"),
                file(
                    "c-miss.toml",
                    cases_text.replacen("hidden = 2304\n", "", 1).as_bytes(),
                ),
            ],
            "missing field `hidden`",
        ),
        (
            vec![f("validate"), f("--cases"), dir.clone()],
            "is a directory",
        ),
        (
            vec![
                f("validate"),
                f("--cases"),
                file("c-bin.toml", &[0xff, 0xfe, 0]),
            ],
            "not UTF-8",
        ),
        (
            vec![
                f("validate"),
                f("--cases"),
                file("c-none.toml", b"title = 'x'\n"),
            ],
            "unknown top-level key",
        ),
        (
            vec![f("simulate"), f("-o"), f("/no/such/dir/out.json")],
            "/no/such/dir/out.json",
        ),
        (vec![f("simulate"), f("-o"), dir.clone()], "is a directory"),
        (
            vec![f("simulate"), f("--trace"), f("/no/such/dir/t.json")],
            "/no/such/dir/t.json",
        ),
        (
            vec![f("simulate"), f("--html"), f("/no/such/dir/r.html")],
            "/no/such/dir/r.html",
        ),
        (
            vec![
                f("plan"),
                f("--top"),
                f("2"),
                f("--shard"),
                f("1/2"),
                f("--out"),
                f("/no/such/dir/p.json"),
            ],
            "/no/such/dir/p.json",
        ),
        (
            vec![f("collective"), f("all_reduce"), f("-b"), f("0")],
            "-b/--minbytes = 0",
        ),
        (
            vec![
                f("fabric-bench"),
                f("--pattern"),
                f("ring"),
                f("--gpus"),
                f("0"),
            ],
            "--gpus = 0",
        ),
        (
            vec![f("reliability"), f("--days"), f("nan")],
            "--days = NaN",
        ),
        (vec![f("plan"), f("--shard"), f("5/4")], "--shard = 5/4"),
        (
            vec![
                f("simulate"),
                f("--slow-gpu"),
                f("0"),
                f("--slowdown"),
                f("150"),
            ],
            "--slowdown = 150",
        ),
        (
            vec![
                f("simulate"),
                f("--tp"),
                f("8"),
                f("-o"),
                out_s.clone(),
                f("--gpus"),
                f("3"),
            ],
            "training.gpus = 3",
        ),
    ];
    assert!(table.len() >= 40, "{} cases", table.len());
    for (args, needle) in &table {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = memphis(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?} wrote to stdout");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line: {err}");
        assert!(lines[0].starts_with("error:"), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked");
        for (i, a) in args.iter().enumerate() {
            if ["-o", "--trace", "--html", "--out"].contains(a) {
                let p = Path::new(args[i + 1]);
                assert!(!p.is_file(), "{args:?} left {}", p.display());
            }
        }
    }
    assert!(!out.exists());
}

/// Every command, run twice, prints the same bytes (fields with the simulator's own
/// wall time aside).
#[test]
fn every_command_is_deterministic() {
    let strip = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            for k in ["elapsed_s", "solve_ms", "peak_rss_mib"] {
                o.remove(k);
            }
        }
        v
    };
    let cases = shared().join("validation/training_public.toml");
    let c = cases.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["simulate", "--json"],
        vec!["simulate", "memphis-grok1", "--json"],
        vec![
            "simulate",
            "--network",
            "flow",
            "--routing",
            "ecmp",
            "--json",
        ],
        vec!["validate", "--cases", c, "--json"],
        vec!["cluster", "--json"],
        vec![
            "fabric-bench",
            "--pattern",
            "permutation",
            "--gpus",
            "8192",
            "--json",
        ],
        vec![
            "collective",
            "all_reduce",
            "-g",
            "64",
            "-b",
            "1K",
            "-e",
            "1G",
            "--json",
        ],
        vec!["reliability", "--json"],
        vec!["plan", "dgx-h100-llama3-70b", "--top", "3", "--json"],
        vec!["presets"],
        vec!["completions", "bash"],
    ];
    for args in &commands {
        let a = memphis(args);
        let b = memphis(args);
        assert!(a.status.success(), "{args:?}: {}", stderr(&a));
        if args.contains(&"--json") {
            let (x, y): (serde_json::Value, serde_json::Value) = (
                serde_json::from_slice(&a.stdout).unwrap(),
                serde_json::from_slice(&b.stdout).unwrap(),
            );
            assert_eq!(strip(x), strip(y), "{args:?}");
        } else {
            assert_eq!(a.stdout, b.stdout, "{args:?}");
        }
    }
}
