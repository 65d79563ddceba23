//! `memphis simulate`: the summary, the JSON report, presets, Hugging Face configs,
//! output files, run projection, traces and stragglers.

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp, validation};
use std::path::Path;

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
    // H100: what the driver leaves to CUDA, 81,559 MiB.
    assert_eq!(mem["capacity_gib"].as_f64().unwrap(), 81_559.0 / 1024.0);
    assert_eq!(mem["fits"], true);
    let run = &v["run"];
    let gpus = run["gpus"].as_u64().unwrap();
    assert!((96_000..=100_000).contains(&gpus), "{gpus}");
    assert_eq!(run["tokens"].as_f64().unwrap(), 15e12);
    assert!(run["ideal_days"].as_f64().unwrap() > 1.0);
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
fn hugging_face_config_runs() {
    let cfg = tmp("config.json");
    std::fs::write(
        &cfg,
        r#"{"architectures":["MistralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
           "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000,
           "sliding_window":4096,"quantization_config":{"quant_method":"fp8"}}"#,
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
    // Mistral 7B's sliding window is modelled now: no note names it. What is not
    // modelled (an FP8 checkpoint's storage format) is said first.
    let notes = crate::util::notes(&v);
    assert!(
        notes[0].contains("quantization_config (fp8) is not modelled"),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("sliding_window")),
        "{notes:?}"
    );
    // The same config named by a scenario file's [model] says the same first.
    let scenario = tmp("config_scenario.toml");
    std::fs::write(
        &scenario,
        format!(
            "preset = \"memphis-405b\"\n[model]\npreset = {:?}\n",
            cfg.to_str().unwrap()
        ),
    )
    .unwrap();
    let v = json(&[
        "simulate",
        scenario.to_str().unwrap(),
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--json",
    ]);
    assert_eq!(v["notes"][0].as_str(), Some(notes[0]), "{}", v["notes"]);
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
    // The memory counter peaks, stage by stage, at what the report says the stage
    // needs: the default's chunks are uneven (2/2/2/1 layers), so the stage holds
    // whichever chunks are in flight at its fullest, not the mean chunk times a count.
    let report = json(&["simulate", "--json"]);
    let stages = report["stages"].as_array().unwrap();
    for st in stages {
        let stage = st["stage"].as_u64().unwrap();
        let peak = events
            .iter()
            .filter(|e| e["ph"] == "C" && e["pid"].as_u64() == Some(stage))
            .map(|e| e["args"]["GiB"].as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        let want = st["memory_gib"].as_f64().unwrap();
        assert!(
            (peak / want - 1.0).abs() < 1e-9,
            "stage {stage}: trace {peak} GiB, report {want} GiB"
        );
    }
    let fullest = report["memory"]["per_gpu_gib"].as_f64().unwrap();
    let most = stages
        .iter()
        .map(|s| s["memory_gib"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(fullest, most);
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
    // The report says which straggler it ran with, and what it slows.
    let said = slow["notes"].as_array().unwrap().iter().any(|n| {
        n.as_str().unwrap().starts_with(
            "straggler: GPU 30720 is 10% slow: the compute on pipeline stage 5 takes 1.11x as long",
        )
    });
    assert!(said, "{}", slow["notes"]);
    // Several stragglers: each named with its own stage.
    let two = json(&[
        "simulate",
        "--json",
        "--slow-gpu",
        "0",
        "--slow-server",
        "3840",
        "--slowdown",
        "10",
    ]);
    let said = two["notes"].as_array().unwrap().iter().any(|n| {
        n.as_str().unwrap().starts_with(
            "stragglers: GPU 0 is 10% slow: the compute on pipeline stage 0 takes 1.11x as long; server 3840 is 10% slow: the compute on pipeline stage 5",
        )
    });
    assert!(said, "{}", two["notes"]);
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
fn flow_level_step_agrees_with_analytical_when_the_fabric_is_ideal() {
    use memphis_core::collective::flow::FlowComm;
    use memphis_core::fabric::{Fabric, Routing};
    use memphis_core::validate::{parse_cases, CaseFile};
    let text = std::fs::read_to_string(validation("training_public.toml")).unwrap();
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

/// `--routing` without `--network flow` says it changes nothing; the note on the plan
/// fields kept from the preset survives a field derived again, valued as derived.
#[test]
fn notes_say_what_a_flag_does_not_do_and_what_was_kept() {
    let o = crate::util::memphis(&["simulate", "--routing", "ecmp", "--json"]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("routing = ecmp applies at flow level only"),
        "{err}"
    );
    // The preset's own model, so that its plan applies (another model is planned for).
    let o = crate::util::memphis(&[
        "simulate",
        "--cluster",
        "dgx-h100",
        "--model",
        "llama3-405b",
        "--gpus",
        "256",
        "--tp",
        "1",
        "--pp",
        "1",
        "--global-batch",
        "512",
        "--seq-len",
        "8192",
        "--allow-oom",
        "--json",
    ]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("derived again: vpp = 1"), "{err}");
    // vpp has its own note; sequence parallelism does nothing at TP 1: neither is listed
    // as kept from the preset.
    let kept = err
        .lines()
        .find(|l| l.contains("the plan fields you did not give: cp = 2"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        !kept.contains("vpp") && !kept.contains("sequence_parallel"),
        "{kept}"
    );
    // Recipe fields this run has no use for.
    let o = crate::util::memphis(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--vpp",
        "1",
        "--pp-overlap",
        "true",
        "--ep-overlap",
        "true",
        "--json",
    ]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("pp_overlap applies to interleaved schedules (vpp > 1)"),
        "{err}"
    );
    assert!(
        err.contains("ep_overlap applies to MoE models; llama3-70b is dense"),
        "{err}"
    );
    // A sequence tp does not split runs tp without sequence parallelism, said, where
    // the user did not ask for it (asked for, it is refused: hardening.rs).
    let odd_sequence = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--model",
            "llama3-70b",
            "--cluster",
            "dgx-h100",
            "--gpus",
            "256",
            "--global-batch",
            "64",
            "--seq-len",
            "8191",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = crate::util::memphis(&args);
        let err = crate::util::stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        (err, o.stdout)
    };
    let (err, out) = odd_sequence(&["--tp", "8", "--pp", "4"]);
    assert!(
        err.contains("sequence parallelism is off: seq_len = 8191 does not split over tp x cp = 8"),
        "{err}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["plan"]["tp"], 8);
    assert_eq!(r["plan"]["sequence_parallel"], false);
    // Asked for without a tp: the planner keeps tp at 1, and says why.
    let (err, _) = odd_sequence(&["--sequence-parallel", "true"]);
    assert!(
        err.contains("sequence_parallel = true keeps tp at 1: an odd seq_len (8191)"),
        "{err}"
    );
    // A [power] field that replaces the cluster's own value of it; the same value is
    // no news.
    let f = crate::util::tmp("power-over-cluster.toml");
    let body = |power: f64| {
        format!(
            "preset = \"dgx-h100-llama3-70b\"\n[cluster]\npreset = \"dgx-h100\"\ngrid_gco2_per_kwh = 100\n[power]\ngrid_gco2_per_kwh = {power}\n"
        )
    };
    std::fs::write(&f, body(500.0)).unwrap();
    let o = crate::util::memphis(&["simulate", f.to_str().unwrap(), "--json"]);
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "power.grid_gco2_per_kwh = 500.0 replaces the cluster's grid_gco2_per_kwh = 100.0"
        ),
        "{err}"
    );
    std::fs::write(&f, body(100.0)).unwrap();
    let o = crate::util::memphis(&["simulate", f.to_str().unwrap(), "--json"]);
    assert!(!crate::util::stderr(&o).contains("replaces the cluster's"));
}

/// What the GPU cannot run is said before any plan is looked at; a recipe without FP8
/// GEMMs is a note, and the report says which precision and recipe ran.
#[test]
fn fp8_recipes_are_checked_first_and_shown() {
    for cmd in ["simulate", "reliability", "power", "plan"] {
        expect_bad(
            &[
                cmd,
                "--cluster",
                "dgx-h100",
                "--model",
                "llama3-70b",
                "--gpus",
                "64",
                "--precision",
                "fp8",
                "--fp8-recipe",
                "mxfp8",
            ],
            "training.fp8_recipe = mxfp8: delayed, tensorwise or blockwise on H100",
        );
    }
    let o = memphis(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--precision",
        "bf16",
        "--fp8-recipe",
        "tensorwise",
    ]);
    let (out, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("fp8_recipe = tensorwise applies with precision = fp8"),
        "{err}"
    );
    assert!(out.contains("· BF16 ·"), "{out}");
    let v = json(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--fp8-recipe",
        "tensorwise",
        "--json",
    ]);
    assert_eq!(v["plan"]["fp8_recipe"], "tensorwise");
    let v = json(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--precision",
        "bf16",
        "--json",
    ]);
    assert!(v["plan"].get("fp8_recipe").is_none());
}

#[test]
fn block_recomputation_is_a_plan_field() {
    // GPT-3 175B at TP8 PP8 vpp2 (six layers a chunk) with its preset's full
    // recomputation: four layers a chunk fit (distributed optimizer) and run faster
    // than all six.
    const PLAN: [&str; 10] = [
        "simulate",
        "dgx-a100-gpt3-175b",
        "--tp",
        "8",
        "--pp",
        "8",
        "--vpp",
        "2",
        "--distributed-optimizer",
        "true",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        PLAN.iter().chain(extra).copied().collect()
    };
    let uniform = json(&with(&["--json"]));
    let block = json(&with(&["--json", "--recompute-layers", "4"]));
    assert_eq!(block["plan"]["recompute_layers"], 4);
    assert!(uniform["plan"].get("recompute_layers").is_none());
    let t = |v: &serde_json::Value| v["step"]["time_s"].as_f64().unwrap();
    assert!(t(&block) < t(&uniform), "{} vs {}", t(&block), t(&uniform));
    let o = memphis(&with(&["--recompute-layers", "4"]));
    assert!(
        stdout(&o).contains("full recompute (4 layers a chunk)"),
        "{}",
        stdout(&o)
    );
    // Past a chunk's layers, or without full recomputation: one line naming the flag.
    expect_bad(&with(&["--recompute-layers", "7"]), "--recompute-layers");
    expect_bad(&with(&["--recompute-layers", "7"]), "from 1 to 6");
    // The planner's range is the largest chunk among the plans it may take.
    expect_bad(
        &[
            "plan",
            "dgx-a100-gpt3-175b",
            "--pp",
            "8",
            "--vpp",
            "2",
            "--recompute-layers",
            "0",
        ],
        "from 1 to 6",
    );
    // Without --recompute, the preset's selective recomputation becomes full.
    let o = memphis(&["simulate", "dgx-h100-llama3-70b", "--recompute-layers", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("derived again: recompute = \"full\""),
        "{}",
        stderr(&o)
    );
    expect_bad(
        &with(&["--recompute", "selective", "--recompute-layers", "2"]),
        "parallel.recompute = selective (given as --recompute): \"full\" when recompute_layers is set",
    );
}

/// A scenario file's `[model]` or `[cluster]` preset may name a file, read relative to
/// the scenario file, as `--model FILE` and `--cluster FILE` read one; the fields beside
/// it override the file's, and it is a whole section (nothing of a preset underneath
/// leaks in).
#[test]
fn a_scenario_section_may_name_a_file_beside_it() {
    let dir = tmp("sections");
    std::fs::create_dir_all(&dir).unwrap();
    let hf = crate::util::repo().join("crates/core/testdata/hf/qwen3-30b-a3b.json");
    std::fs::copy(&hf, dir.join("q.json")).unwrap();
    std::fs::write(
        dir.join("c.toml"),
        "gpu = \"H100-SXM5-80GB\"\ngpus = 512\ngpus_per_node = 8\nnic_gbps = 400\nfabric = \"infiniband\"\n",
    )
    .unwrap();
    let body = |imbalance: &str| {
        format!(
            "preset = \"deepseek-v3-h800\"\n[cluster]\npreset = \"c.toml\"\n[model]\npreset = \"q.json\"\n{imbalance}[parallel]\ntp = 1\npp = 1\nep = 16\n[training]\ngpus = 256\nglobal_batch = 1024\nseq_len = 4096\n"
        )
    };
    let run = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        json(&["simulate", p.to_str().unwrap(), "--json"])
    };
    let a = run("a.toml", &body(""));
    assert_eq!(a["cluster"]["gpus"], 512);
    // Qwen3-30B-A3B: 128 experts, top-8; DeepSeek-V3's groups underneath do not leak in.
    assert_eq!(a["model"]["moe"], serde_json::json!([128, 8]));
    let step = |v: &serde_json::Value| v["step"]["time_s"].as_f64().unwrap();
    // A field beside the file's path overrides the file: a busier expert, a longer step.
    let b = run("b.toml", &body("moe_imbalance = 2.0\n"));
    assert!(step(&b) > step(&a), "{} {}", step(&b), step(&a));
    // The same model through --model gives the same step.
    let c = json(&[
        "simulate",
        dir.join("a.toml").to_str().unwrap(),
        "--model",
        dir.join("q.json").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(step(&c), step(&a));
    // --model over a file's [model] section: the file's fields are noted unused.
    let notes = c["notes"].to_string();
    assert!(
        notes.contains("--model replaces the scenario's [model] section: its preset is not used"),
        "{notes}"
    );
    // `plan` says so too, and keeps its JSON report (the shard format) to the search.
    let o = memphis(&[
        "plan",
        dir.join("a.toml").to_str().unwrap(),
        "--model",
        dir.join("q.json").to_str().unwrap(),
        "--top",
        "1",
    ]);
    assert!(
        stdout(&o)
            .lines()
            .take_while(|l| l.starts_with("note: "))
            .any(|l| l.starts_with("note: --model replaces the scenario's [model] section")),
        "{}",
        stdout(&o)
    );
    // `model` and `cluster` read such a scenario too.
    let a_toml = dir.join("a.toml");
    let m = json(&["model", a_toml.to_str().unwrap(), "--json"]);
    assert_eq!(m["mlp"]["moe"]["experts"], 128);
    let o = memphis(&["cluster", a_toml.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("512 x H100-SXM5-80GB"),
        "{}",
        stderr(&o)
    );
    // A model file that names itself stops with a clear error.
    std::fs::write(dir.join("self.toml"), "preset = \"self.toml\"\n").unwrap();
    expect_bad(
        &["model", dir.join("self.toml").to_str().unwrap()],
        "name one another more than 8 deep",
    );
    // Without a scenario preset, what memphis's defaults gave is noted.
    let notes = a["notes"].to_string();
    assert!(!notes.contains("memphis's defaults"), "{notes}");
    std::fs::write(
        dir.join("bare.toml"),
        "[cluster]\npreset = \"c.toml\"\n[model]\npreset = \"q.json\"\n[training]\ngpus = 64\nglobal_batch = 256\nseq_len = 4096\n",
    )
    .unwrap();
    let bare = json(&[
        "simulate",
        dir.join("bare.toml").to_str().unwrap(),
        "--json",
    ]);
    let notes = bare["notes"].to_string();
    assert!(
        notes.contains("from memphis's defaults: 1.0T tokens"),
        "{notes}"
    );
    // The default plan (TP1 PP1, no EP) does not fit this MoE: the planner's is noted.
    assert!(notes.contains("the planner chose"), "{notes}");
    // A bad field in a section read from a file names that file.
    std::fs::write(dir.join("m.toml"), "preset = \"llama3-8b\"\nlayers = 0\n").unwrap();
    std::fs::write(dir.join("bm.toml"), "[model]\npreset = \"m.toml\"\n").unwrap();
    expect_bad(
        &["simulate", dir.join("bm.toml").to_str().unwrap()],
        "m.toml': model.layers = 0",
    );
    // A missing file is named with its resolved path.
    std::fs::write(dir.join("bad.toml"), "[model]\npreset = \"nope.json\"\n").unwrap();
    expect_bad(
        &["simulate", dir.join("bad.toml").to_str().unwrap()],
        "nope.json': no such file",
    );
}

#[test]
fn unequal_virtual_chunks_are_shown_with_their_stage() {
    // 32 layers over PP 4 x vpp 3: each stage's 8 layers in chunks of 3, 3 and 2.
    let args = [
        "simulate",
        "-q",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--tp",
        "1",
        "--pp",
        "4",
        "--cp",
        "1",
        "--global-batch",
        "256",
        "--seq-len",
        "8192",
        "--micro-batch",
        "1",
    ];
    let run = |vpp: &str| {
        let o = crate::util::memphis(&[&args[..], &["--vpp", vpp]].concat());
        assert!(o.status.success(), "{}", crate::util::stderr(&o));
        crate::util::stdout(&o)
    };
    assert!(run("3").contains("8 layers, chunks of 3/3/2"));
    // Equal chunks say nothing more.
    assert!(!run("2").contains("chunks of"));
}

#[test]
fn notes_say_what_holds_for_the_plan_run() {
    let notes = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "simulate",
            "--model",
            "llama3-8b",
            "--cluster",
            "dgx-h100",
            "--global-batch",
            "64",
            "--tp",
            "8",
            "--json",
        ];
        args.extend_from_slice(extra);
        let v = json(&args);
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    let planned = |n: &[String]| n.iter().any(|n| n.contains("the planner chose"));
    // Some plan fields given: the planner fills in the rest, and says so.
    assert!(planned(&notes(&["--gpus", "64"])));
    // Every plan field given: the plan is the user's.
    let whole = [
        "--gpus",
        "64",
        "--pp",
        "1",
        "--vpp",
        "1",
        "--cp",
        "1",
        "--ep",
        "1",
        "--etp",
        "8",
        "--micro-batch",
        "1",
        "--recompute",
        "selective",
        "--distributed-optimizer",
        "true",
        "--sequence-parallel",
        "true",
    ];
    assert!(!planned(&notes(&whole)), "{:?}", notes(&whole));
    // At 8K tokens the masked half of attention is a small part of the count; at 128K
    // it is 39% for this model, and a note says so.
    let masked = |n: &[String]| n.iter().any(|n| n.contains("masked half"));
    assert!(!masked(&notes(&whole)));
    let long = notes(&["--gpus", "512", "--seq-len", "131072", "--cp", "8"]);
    assert!(masked(&long), "{long:?}");
}

/// At flow level the report says what the fabric did to each communicator (JSON and
/// text agree); on the analytical model of an oversubscribed fabric a note says the
/// model does not see it.
#[test]
fn the_report_says_what_the_fabric_did() {
    let job = ["simulate", "-q", "--cluster", "dgx-h100", "--gpus", "1024"];
    let args = [&job[..], &["--network", "flow", "--routing", "ecmp"]].concat();
    let mut with_json = args.clone();
    with_json.push("--json");
    let j = json(&with_json);
    let contention = j["contention"]
        .as_array()
        .expect("contention at flow level");
    let pp = contention
        .iter()
        .find(|c| c["group"] == "pp")
        .expect("pp derating");
    let rate = pp["rate_fraction"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1.0, "{rate}");
    let text = stdout(&memphis(&args));
    assert!(
        text.contains("flow level, ecmp routing: each group's slowest flow at")
            && text.contains(&format!("pp {rate:.2}")),
        "{text}"
    );
    let analytical = json(&[&job[..], &["--json"]].concat());
    assert!(analytical.get("contention").is_none());
    let meta = json(&["simulate", "-q", "meta-llama3-405b", "--json"]);
    assert!(
        meta["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with(
                "the fabric is oversubscribed (1:1 at the leaves, 7:1 at the spines)"
            )),
        "{}",
        meta["notes"]
    );
    // A job inside one pod (3,072 GPUs, 1:1 inside) crosses no oversubscribed tier.
    let in_pod = json(&[
        "simulate",
        "-q",
        "meta-llama3-405b",
        "--gpus",
        "2048",
        "--dp",
        "16",
        "--json",
    ]);
    assert!(
        !in_pod["notes"].to_string().contains("oversubscribed"),
        "{}",
        in_pod["notes"]
    );
}

/// A GPU swapped into a cluster whose servers hold more of it than its NVLink domains
/// join (A100s 72 to an NVL72 rack) runs as asked, with a warning; GB200 there does not.
#[test]
fn a_server_larger_than_the_gpus_nvlink_domain_is_warned_about() {
    let warning =
        "72 GPUs a server share one NVLink domain here, but A100-SXM4-80GB systems join at most 8";
    let o = memphis(&[
        "simulate",
        "--cluster",
        "gb200-nvl72",
        "--gpu",
        "A100-SXM4-80GB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("warning: {warning}")),
        "{}",
        stderr(&o)
    );
    let o = memphis(&["simulate", "--cluster", "gb200-nvl72"]);
    assert!(!stderr(&o).contains("NVLink domain here"), "{}", stderr(&o));
    // `plan` says it too: it holds whatever plan is found.
    let plan = "plan --cluster gb200-nvl72 --gpu A100-SXM4-80GB --gpus 144 --model llama3-8b \
                --global-batch 144 --seq-len 4096";
    let o = memphis(&plan.split_whitespace().collect::<Vec<_>>());
    assert!(
        stdout(&o).contains(&format!("warning: {warning}")),
        "{}",
        stdout(&o)
    );
}

/// An MoE's load imbalance weighs on the busiest expert-parallel rank: with every expert
/// on each GPU (EP1) the router's favourite changes nothing, with one expert a rank
/// (Mixtral's 8 at EP8) the step pays it in full.
#[test]
fn moe_imbalance_weighs_on_the_busiest_rank_not_on_a_gpu_holding_every_expert() {
    let hf = crate::util::repo().join("crates/core/testdata/hf/mixtral-8x7b.json");
    let step = |imbalance: &str, ep: &str| {
        let p = tmp(&format!("imbalance_{imbalance}_{ep}.toml"));
        std::fs::write(
            &p,
            format!(
                "[cluster]\npreset = \"dgx-h100\"\n[model]\npreset = {:?}\nmoe_imbalance = {imbalance}\n[training]\ngpus = 256\nglobal_batch = 256\nseq_len = 4096\n",
                hf.to_str().unwrap()
            ),
        )
        .unwrap();
        let v = json(&[
            "simulate",
            p.to_str().unwrap(),
            "--tp",
            "1",
            "--pp",
            "4",
            "--vpp",
            "8",
            "--cp",
            "4",
            "--ep",
            ep,
            "--micro-batch",
            "1",
            "--recompute",
            "none",
            "--json",
        ]);
        v["step"]["time_s"].as_f64().unwrap()
    };
    assert_eq!(step("1.0", "1"), step("4.0", "1"));
    let (even, skewed) = (step("1.0", "8"), step("4.0", "8"));
    assert!(skewed > 2.0 * even, "{skewed} against {even}");
    assert!(step("4.0", "2") < skewed);
}

/// An FP8 run's MFU is said against the FP8 peak as well: of the BF16 peak alone it
/// passes 50% and reads as impossible. H100's dense peaks are 989.4 and 1,978.9 TFLOP/s.
#[test]
fn an_fp8_run_says_its_mfu_of_the_fp8_peak() {
    let fp8 = json(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--precision",
        "fp8",
        "--json",
        "-q",
    ]);
    let mfu = fp8["step"]["mfu"].as_f64().unwrap();
    let of_fp8 = fp8["step"]["mfu_of_fp8_peak"].as_f64().unwrap();
    assert!((of_fp8 / mfu - 0.5).abs() < 1e-3, "{of_fp8} vs {mfu}");
    let bf16 = json(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--precision",
        "bf16",
        "--json",
        "-q",
    ]);
    assert!(bf16["step"]["mfu_of_fp8_peak"].is_null());
    let o = memphis(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--precision",
        "fp8",
        "-q",
    ]);
    let text = stdout(&o);
    assert!(
        text.contains(&format!(
            "of the dense BF16 peak, {:.1}% of the FP8 peak",
            of_fp8 * 100.0
        )),
        "{text}"
    );
}

/// A two-tier fabric has nothing above its spines: the oversubscription note gives the
/// leaves' one ratio, not a "1:1 at the spines" no one configured.
#[test]
fn a_two_tier_fabric_is_said_with_its_one_ratio() {
    let cluster = tmp("two-tier.toml");
    std::fs::write(
        &cluster,
        "gpu = \"H100-SXM5-80GB\"\ngpus = 4096\ngpus_per_node = 8\nnic_gbps = 400\nfabric = \"infiniband\"\ntiers = 2\nswitch_radix = 128\noversubscription = [3]\n",
    )
    .unwrap();
    let r = json(&[
        "simulate",
        "dgx-h100-llama3-70b",
        "--cluster",
        cluster.to_str().unwrap(),
        "--gpus",
        "2048",
        "--json",
        "-q",
    ]);
    let notes = crate::util::notes(&r);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the fabric is oversubscribed (3:1 at the leaves),")),
        "{notes:?}"
    );
    assert!(
        !notes.iter().any(|n| n.contains("at the spines")),
        "{notes:?}"
    );
}

/// GB200 in air-cooled servers, as `--gpu GB200` on an air-cooled cluster makes: priced
/// as asked, and said, since no such system is built; its own NVL72 preset says nothing.
#[test]
fn an_air_cooled_gb200_is_noted() {
    let notes = |args: &[&str]| {
        let v = json(
            &[
                &["simulate", "--model", "llama3-8b", "--json", "-q"][..],
                args,
            ]
            .concat(),
        );
        v["notes"].to_string()
    };
    let air = notes(&[
        "--cluster",
        "dgx-h200",
        "--gpu",
        "GB200",
        "--gpus",
        "64",
        "--global-batch",
        "64",
    ]);
    assert!(
        air.contains("cooling = air: GB200 systems are built liquid-cooled only"),
        "{air}"
    );
    let nvl = notes(&[
        "--cluster",
        "gb200-nvl72",
        "--gpus",
        "576",
        "--global-batch",
        "576",
    ]);
    assert!(!nvl.contains("liquid-cooled only"), "{nvl}");
}

/// A bad field in a section over a preset file is blamed on where it is written: the
/// scenario's own fields beside the preset, or the file the preset names.
#[test]
fn a_bad_cluster_field_names_where_it_is_written() {
    let dir = tmp("blame");
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = "gpu = \"H100-SXM5-80GB\"\ngpus = 1024\nnic_gbps = 400\ntiers = 3\n";
    std::fs::write(dir.join("c.toml"), cluster).unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        cluster.replace("tiers = 3", "tiers = 5"),
    )
    .unwrap();
    let scenario = |preset: &str, extra: &str| {
        let p = dir.join("s.toml");
        let text = format!("preset = \"memphis-405b\"\n[cluster]\npreset = \"{preset}\"\n{extra}");
        std::fs::write(&p, text).unwrap();
        let o = memphis(&["simulate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        stderr(&o)
    };
    let err = scenario("c.toml", "tiers = 5\n");
    assert!(
        err.contains("[cluster] (its fields beside preset '") && err.contains("cluster.tiers = 5"),
        "{err}"
    );
    let err = scenario("bad.toml", "");
    assert!(
        err.contains("[cluster] from '")
            && err.contains("bad.toml")
            && err.contains("cluster.tiers = 5"),
        "{err}"
    );
}

/// At DP 8,192 Megatron's default gradient bucket (1M x dp parameters) holds an 8B
/// model's whole gradient: `simulate` says overlap hides nothing and prices it so (the
/// same step as without it), while `plan`, whose notes come before any plan, does not
/// say it of the plan it has not chosen.
#[test]
fn overlap_that_one_bucket_defeats_is_said_and_costs_what_none_does() {
    let args = [
        "simulate",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "8192",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--micro-batch",
        "1",
        "--global-batch",
        "16384",
        "--seq-len",
        "4096",
        "--json",
    ];
    let on = json(&args);
    assert!(
        crate::util::notes(&on)
            .iter()
            .any(|n| n.starts_with("dp_overlap hides nothing at dp = 8192")),
        "{:?}",
        crate::util::notes(&on)
    );
    let off = json(&[&args[..], &["--dp-overlap", "false"]].concat());
    assert!(!crate::util::notes(&off)
        .iter()
        .any(|n| n.contains("hides nothing")));
    let t = |v: &serde_json::Value| v["step"]["time_s"].as_f64().unwrap();
    assert!(
        (t(&on) / t(&off) - 1.0).abs() < 1e-6,
        "{} vs {}",
        t(&on),
        t(&off)
    );
    // The bucket the note suggests, a quarter of the buffer, overlaps again: faster, and
    // nothing said. Each bucket pays the collective's latency over the 8,192 ranks, so
    // 200 buckets of Megatron's small-dp default (40M) cost far more than they hide.
    assert!(crate::util::notes(&on)
        .iter()
        .any(|n| n.contains("--ddp-bucket-size 2.0B")));
    let quarter = json(&[&args[..], &["--ddp-bucket-size", "2.0B"]].concat());
    assert!(t(&quarter) < 0.9 * t(&on), "{} vs {}", t(&quarter), t(&on));
    assert!(!crate::util::notes(&quarter)
        .iter()
        .any(|n| n.contains("hides nothing")));
    assert_eq!(
        quarter["plan"]["recipe"]["ddp_bucket_size"],
        2_000_000_000u64
    );
    let small = json(&[&args[..], &["--ddp-bucket-size", "40M"]].concat());
    assert!(t(&small) > 2.0 * t(&on), "{} vs {}", t(&small), t(&on));
    // Without overlap the bucket is said to do nothing.
    let unused = json(
        &[
            &args[..],
            &["--ddp-bucket-size", "40M", "--dp-overlap", "false"],
        ]
        .concat(),
    );
    assert!(crate::util::notes(&unused)
        .iter()
        .any(|n| n.starts_with("ddp_bucket_size applies with dp_overlap")));
    assert_eq!(t(&unused), t(&off));
    for bad in ["0", "-1", "abc", "1e16"] {
        expect_bad(
            &[&args[..], &["--ddp-bucket-size", bad]].concat(),
            "number of parameters",
        );
    }
    let o = memphis(&[
        "plan",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "8192",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--global-batch",
        "16384",
        "--seq-len",
        "4096",
        "--top",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hides nothing"), "{}", stderr(&o));
}

/// A job that ends part-way through a server runs, and says so: 512 GB200s are 7 NVL72
/// racks and 8 GPUs of an eighth, which a jobs file refuses (whole servers only).
#[test]
fn a_job_on_part_of_a_server_is_said() {
    let v = json(&[
        "simulate",
        "--cluster",
        "gb200-nvl72",
        "--gpus",
        "512",
        "--model",
        "llama3-8b",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--global-batch",
        "512",
        "--json",
    ]);
    let notes = crate::util::notes(&v);
    assert!(
        notes.iter().any(|n| n.starts_with(
            "the job's 512 GPUs take 7 whole servers of 72 GPUs (NVLink domains) and 8 GPUs of one more"
        )),
        "{notes:?}"
    );
    let whole = json(&[
        "simulate",
        "--cluster",
        "gb200-nvl72",
        "--gpus",
        "576",
        "--model",
        "llama3-8b",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--global-batch",
        "576",
        "--json",
    ]);
    assert!(!crate::util::notes(&whole)
        .iter()
        .any(|n| n.starts_with("the job's")));
}

/// Each virtual pipeline chunk is a DDP module with buffers of its own: a bucket larger
/// than the buffer reduces one chunk's gradients a call, as without overlap, not the
/// stage's four chunks at once (the default, vpp 4: 3.0 GiB, not 11.9); and where the
/// bucket set is larger than Megatron's default, the one-bucket note suggests the
/// default (helper-129: it had suggested a quarter of the buffer, slower).
#[test]
fn a_dp_call_holds_one_chunks_buffer_and_the_note_suggests_the_default() {
    let dp_calls = |args: &[&str]| -> Vec<f64> {
        let v = json(&[&["simulate", "--json"], args].concat());
        v["collectives"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["group"] == "dp")
            .map(|c| c["size_bytes"].as_f64().unwrap() / (1u64 << 30) as f64)
            .collect()
    };
    let huge = dp_calls(&["--ddp-bucket-size", "1e12"]);
    assert_eq!(huge, dp_calls(&["--dp-overlap", "false"]));
    assert!(huge[0] > 2.5 && huge[0] < 4.0, "{huge:?}");
    let v = json(&[
        "simulate",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "1024",
        "--tp",
        "1",
        "--pp",
        "1",
        "--cp",
        "1",
        "--micro-batch",
        "1",
        "--global-batch",
        "1024",
        "--seq-len",
        "4096",
        "--ddp-bucket-size",
        "20B",
        "--json",
    ]);
    assert!(
        crate::util::notes(&v)
            .iter()
            .any(|n| n.contains("--ddp-bucket-size 1.0B, Megatron's default at this dp")),
        "{:?}",
        crate::util::notes(&v)
    );
    assert_eq!(
        json(&["simulate", "--distributed-optimizer", "yes", "--json"])["step"]["time_s"],
        json(&["simulate", "--json"])["step"]["time_s"]
    );
}
