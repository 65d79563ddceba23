//! `memphis validate`: predictions against the published training and collective cases.

use crate::util::{expect_bad, json, memphis, repo, stderr, stdout, tmp, validation};

/// Meta's Llama 3 405B runs (arXiv 2407.21783, Table 4): BF16 MFU 43% on 8,192 GPUs,
/// 41% on 16,384 and 38% with CP16 at 128K sequences. They give MFU, not step times, so
/// they are checked here rather than in the case files: the `meta-llama3-405b` preset
/// with each row's plan comes within 5 MFU points, in `simulate` and `plan` alike.
#[test]
fn metas_llama3_table_4_within_5_mfu_points() {
    let rows: [(&[&str], f64); 3] = [
        (&[], 43.0),
        (&["--gpus", "16384"], 41.0),
        (
            &[
                "--gpus",
                "16384",
                "--seq-len",
                "131072",
                "--global-batch",
                "128",
                "--cp",
                "16",
            ],
            38.0,
        ),
    ];
    for (extra, published) in rows {
        let mut sim = vec!["simulate", "meta-llama3-405b", "--json"];
        sim.extend_from_slice(extra);
        let s = json(&sim);
        let mfu = s["step"]["mfu"].as_f64().unwrap() * 100.0;
        assert!(
            (mfu - published).abs() <= 5.0,
            "{extra:?}: {mfu:.1}% against Meta's {published}%"
        );
        let mut plan = vec![
            "plan",
            "meta-llama3-405b",
            "--tp",
            "8",
            "--pp",
            "16",
            "--micro-batch",
            "1",
            "--top",
            "1",
            "--json",
        ];
        if !extra.contains(&"--cp") {
            plan.extend_from_slice(&["--cp", "1"]);
        }
        plan.extend_from_slice(extra);
        let p = json(&plan);
        let planned = p["top"][0]["mfu"].as_f64().unwrap() * 100.0;
        assert!(
            (planned - published).abs() <= 5.0,
            "plan {extra:?}: {planned:.1}% against Meta's {published}%"
        );
    }
}

#[test]
fn validate_public_training_cases_within_bounds() {
    let cases = validation("training_public.toml");
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
    let cases = validation("collectives_public.toml");
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
    let path = validation("training_public.toml");
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
    // 405B without TP, PP or CP: refused, with the memory shown (simulate's tests cover
    // the refusal and --allow-oom in full).
    let args = [
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
    ];
    let o = memphis(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("DOES NOT FIT"), "{}", stderr(&o));
    let v = json(&[&args[..], &["--allow-oom", "--json"]].concat());
    assert_eq!(v["memory"]["fits"], false);
    assert_eq!(v["fits"], false);
}

#[test]
fn validate_collectives_within_bounds() {
    let cases = validation("collectives_public.toml");
    let v = json(&["validate", "--cases", cases.to_str().unwrap(), "--json"]);
    let mape = v["summary"]["mape_pct"].as_f64().unwrap();
    assert!(mape <= 10.0, "busbw error over sizes >= 1 MiB: {mape}%");
    let lat = v["cases"][0]["latency_error_pct"].as_f64().unwrap();
    assert!(lat.abs() <= 30.0, "small-message latency error {lat}%");
}

/// The timeline is the default because it follows the schedule op by op (uneven stages,
/// stragglers, the bucketed DP overlap); both models share every cost. On the 27 cases
/// it was chosen on it was the more accurate (8.0% vs 8.4%); on the 41 public cases now
/// it trails the closed form by 0.2 points, where older Megatron-LM runs hid less of the
/// DP traffic than the overlap the timeline models. It must stay within half a point.
#[test]
fn timeline_is_about_as_accurate_as_the_closed_form() {
    let cases = validation("training_public.toml");
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
    assert!(mt <= ma + 0.5, "timeline {mt}% vs analytical {ma}%");
    assert!(mt < 10.0, "timeline MAPE {mt}%");
}

#[test]
fn every_validation_file_is_a_compiled_suite() {
    use memphis_core::validate::SUITES;
    let mut files: Vec<String> = std::fs::read_dir(repo().join("validation"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    let mut listed: Vec<&str> = SUITES
        .iter()
        .map(|s| s.path.strip_prefix("validation/").unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(files, listed, "validation/*.toml and SUITES differ");
    for s in SUITES {
        let on_disk = std::fs::read_to_string(repo().join(s.path)).unwrap();
        assert_eq!(on_disk, s.text, "{} is not what was compiled in", s.path);
    }
}

#[test]
fn validate_with_no_arguments_runs_every_suite() {
    use memphis_core::validate::SUITES;
    let all = json(&["validate", "--json"]);
    let suites = all["suites"].as_array().unwrap();
    assert_eq!(suites.len(), SUITES.len());
    for (entry, s) in suites.iter().zip(SUITES) {
        assert_eq!(entry["suite"], s.name);
        assert_eq!(entry["file"], s.path);
        // The same report as the suite alone, and as its file read from disk.
        let one = json(&["validate", "--suite", s.name, "--json"]);
        let path = repo().join(s.path);
        let file = json(&["validate", "--cases", path.to_str().unwrap(), "--json"]);
        assert_eq!(one, file, "{}: --suite and --cases differ", s.name);
        let mut entry = entry.clone();
        let o = entry.as_object_mut().unwrap();
        o.remove("suite");
        o.remove("file");
        assert_eq!(entry, one, "{}", s.name);
    }
    // The text report: a header and a summary line per suite, in order.
    let o = memphis(&["validate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut at = 0;
    for s in SUITES {
        let header = format!("== suite {} ({})", s.name, s.path);
        let pos = out[at..]
            .find(&header)
            .unwrap_or_else(|| panic!("{header}"));
        at += pos + header.len();
    }
    assert!(out.contains("cases: mean absolute error"), "{out}");
    assert!(out.contains("mean absolute busbw error"), "{out}");
}

#[test]
fn validate_suite_errors() {
    expect_bad(&["validate", "--suite", "nope"], "--suite = nope");
    // A slip gets the name it missed.
    expect_bad(
        &["validate", "--suite", "trainig"],
        "--suite = trainig: one of training, collectives (did you mean 'training'?)",
    );
    expect_bad(
        &["validate", "--scenario", "megascale_megatronlm_175b_256gpu"],
        "(did you mean 'megascale_megatronlm_175b_256gpus'?)",
    );
    expect_bad(
        &["validate", "--suite", "training", "--cases", "x.toml"],
        "cannot be used with",
    );
}

/// A case file whose every case the model refuses validates nothing: exit 2, so that a
/// CI gate on `memphis validate` cannot pass on it.
#[test]
fn validate_fails_when_no_case_could_be_simulated() {
    let text = std::fs::read_to_string(validation("training_public.toml")).unwrap();
    // Every case on a GPU the catalog does not have.
    let bad = text.replace("gpu = \"", "gpu = \"Z-");
    let path = crate::util::tmp("none.toml");
    std::fs::write(&path, bad).unwrap();
    let o = memphis(&["validate", "--cases", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no case could be simulated"),
        "{}",
        stderr(&o)
    );
}

/// A file with some cases the model refuses is no pass either: the whole report is
/// written, its summary says how many were left out, and the run exits 2 naming them.
#[test]
fn validate_fails_when_some_cases_could_not_be_simulated() {
    let text = std::fs::read_to_string(validation("training_public.toml")).unwrap();
    // The first case alone on a GPU the catalog does not have.
    let bad = text.replacen("gpu = \"", "gpu = \"Z-", 1);
    let path = crate::util::tmp("some.toml");
    std::fs::write(&path, bad).unwrap();
    let report = crate::util::tmp("some-report.txt");
    let o = memphis(&[
        "validate",
        "--cases",
        path.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("error: 1 of 41 cases could not be simulated")
            && err.contains("narayanan2021_t1_1.7B: cluster.gpu = Z-"),
        "{err}"
    );
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(
        written.contains("40 cases: mean absolute error")
            && written.contains("; 1 of 41 not simulated, left out")
            && written.contains("not simulated: cluster.gpu = Z-"),
        "{written}"
    );
    // The JSON's summary counts them too.
    let o = memphis(&["validate", "--cases", path.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (
            v["summary"]["n"].as_u64(),
            v["summary"]["not_simulated"].as_u64()
        ),
        (Some(40), Some(1))
    );
    // Such a case exports no scenario that simulate would refuse in turn.
    let out = crate::util::tmp("refused-case.toml");
    let o = memphis(&[
        "validate",
        "--cases",
        path.to_str().unwrap(),
        "--scenario",
        "narayanan2021_t1_1.7B",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--scenario narayanan2021_t1_1.7B: not simulated: cluster.gpu = Z-"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// Format v2: the DeepSeek-V3 example (a model table with MoE widths, shared and dense
/// layers, MLA and MTP; EP64 with etp 1) runs and gives a finite, positive prediction. No
/// tuned figure is asserted: the point is that such a run can be written and compared.
#[test]
fn a_v2_case_file_runs_through_validate() {
    let path = repo().join("examples/cases/deepseek_v3.toml");
    let p = path.to_str().unwrap();
    let v = json(&["validate", "--cases", p, "--json"]);
    let c = &v["cases"][0];
    assert_eq!(c["id"], "deepseek_v3_pretraining");
    let predicted = c["predicted_step_time_s"].as_f64().unwrap();
    assert!(predicted.is_finite() && predicted > 0.0, "{predicted}");
    assert_eq!(v["summary"]["n"], 1);
    let m = &c["memory"];
    assert!(m["per_gpu_gib"].as_f64().unwrap() > 0.0);
    assert_eq!(
        m["capacity_gib"].as_f64().unwrap(),
        81_559.0 / 1024.0,
        "an H800 leaves CUDA 81,559 MiB of its 80 GiB"
    );
    // Whatever memphis thinks of its memory, the text says it when it does not fit.
    let o = memphis(&["validate", "--cases", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let says = stdout(&o).contains("does not fit by memphis's count");
    assert_eq!(says, m["fits"] == false, "{}", stdout(&o));
    // The example is the model of shared/models/deepseek-v3.json: 671,026,419,200
    // parameters (shared/models/INDEX.md), the MTP layer not counted (nor by memphis);
    // within 1e-4 (the router's 14,848 correction biases, say).
    use memphis_core::validate::{parse_cases, CaseFile};
    let text = std::fs::read_to_string(&path).unwrap();
    let CaseFile::Training(cases) = parse_cases(p, &text).unwrap() else {
        panic!("training cases")
    };
    assert_eq!(cases[0].format, 2);
    let sc = cases[0].scenario().validate().unwrap();
    let params = sc.model.total_params();
    assert!((params / 671_026_419_200.0 - 1.0).abs() < 1e-4, "{params}");
}

/// A case memphis thinks does not fit still ran: it is compared, and the report says so.
#[test]
fn a_case_that_does_not_fit_by_memphis_count_is_compared_and_flagged() {
    // A 70B-shaped model on 16 GPUs without TP or PP: well over 80 GiB per GPU.
    let text = r#"
[[case]]
id = "too_big"
source = "a test"
gpu = "H100-SXM5-80GB"
gpus = 16
gpus_per_node = 8
nic_gbps_per_gpu = 400
fabric = "infiniband"
seq_len = 4096
tp = 1
pp = 1
cp = 1
ep = 1
dp = 16
vpp = 1
micro_batch = 1
global_batch = 16
sequence_parallel = false
recompute = "full"
distributed_optimizer = true
precision = "bf16"
measured_step_time_s = 10.0
step_time_is = "measured"
assumed = []

[case.model]
preset = "llama3-70b"
"#;
    let path = crate::util::tmp("oom_case.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let v = json(&["validate", "--cases", p, "--json"]);
    let c = &v["cases"][0];
    assert!(c["predicted_step_time_s"].as_f64().unwrap() > 0.0);
    assert_eq!(c["memory"]["fits"], false);
    assert!(c["memory"]["per_gpu_gib"].as_f64().unwrap() > 80.0);
    assert_eq!(v["summary"]["n"], 1, "compared all the same");
    let o = memphis(&["validate", "--cases", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("does not fit by memphis's count"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("1 of 1 cases do not fit in memory"),
        "{}",
        stderr(&o)
    );
    // The warning says how to run the case's scenario anyway, and that way runs it, where
    // plain simulate refuses it.
    let out = crate::util::tmp("oom_case_scenario.toml");
    let how = format!(
        "`memphis validate --cases {p} --scenario too_big -o out.toml`, then `memphis simulate out.toml --allow-oom`"
    );
    assert!(stderr(&o).contains(&how), "{}", stderr(&o));
    let o = memphis(&[
        "validate",
        "--cases",
        p,
        "--scenario",
        "too_big",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = out.to_str().unwrap();
    expect_bad(&["simulate", out, "-q"], "--allow-oom");
    let sim = json(&["simulate", out, "--allow-oom", "--json", "-q"]);
    assert!(sim["step"]["time_s"].as_f64().unwrap() > 0.0);
}

/// A malformed v2 case is one error line, exit 2, naming the case and the field.
#[test]
fn malformed_v2_cases_are_one_clear_error() {
    let text = std::fs::read_to_string(repo().join("examples/cases/deepseek_v3.toml")).unwrap();
    let bad = |name: &str, text: String, needle: &str| {
        let path = crate::util::tmp(name);
        std::fs::write(&path, text).unwrap();
        let o = memphis(&["validate", "--cases", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(o.stdout.is_empty(), "{name}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(needle), "{name}: expected {needle:?} in {err}");
    };
    // Both the model table and flat v1 model fields.
    bad(
        "mixed.toml",
        text.replace("seq_len = 4096", "seq_len = 4096\nlayers = 61"),
        "case 1 (id deepseek_v3_pretraining): model = a [case.model] table and the flat model field(s) layers",
    );
    // A key the model section does not have.
    bad(
        "typo.toml",
        text.replace("mla_kv_lora_rank = 512", "mla_kv_lora_rnk = 512"),
        "model.mla_kv_lora_rnk: unknown key `mla_kv_lora_rnk`: did you mean `mla_kv_lora_rank`?",
    );
    // A model that is not one.
    bad(
        "topk.toml",
        text.replace("moe_topk = 8 ", "moe_topk = 300 "),
        "model.moe_topk = 300",
    );
}

/// A bad value in a flat case field names its line and field, not only the value.
#[test]
fn a_bad_flat_case_field_names_its_line() {
    let text = std::fs::read_to_string(repo().join("examples/cases/deepseek_v3.toml")).unwrap();
    for (from, to) in [
        (
            "fabric = \"infiniband\"",
            "fabric = \"infiniband\"\nrouting = \"foo\"",
        ),
        ("seq_len = 4096", "seq_len = \"long\""),
    ] {
        assert!(text.contains(from), "{from}");
        let path = crate::util::tmp("flat_bad.toml");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let o = memphis(&["validate", "--cases", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        let shown = to.lines().last().unwrap();
        assert!(
            err.contains("case 1 (id deepseek_v3_pretraining): line ") && err.contains(shown),
            "{err}"
        );
    }
}

#[test]
fn a_case_prints_as_the_scenario_it_runs_as() {
    // One v1 and one v2 case with a recipe and flow-level routing: simulate on the printed
    // scenario gives the step time validate predicts for the case.
    let v = json(&["validate", "--suite", "training", "--json"]);
    for id in [
        "megatron_h100_weak_16B",
        "megascale_megatronlm_175b_256gpus",
    ] {
        let case = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        let file = crate::util::tmp(&format!("{id}.toml"));
        let o = memphis(&["validate", "--scenario", id, "-o", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let sim = json(&["simulate", file.to_str().unwrap(), "--json", "-q"]);
        let (pred, step) = (
            case["predicted_step_time_s"].as_f64().unwrap(),
            sim["step"]["time_s"].as_f64().unwrap(),
        );
        assert!((pred - step).abs() < 1e-9 * pred, "{id}: {pred} vs {step}");
    }
    expect_bad(
        &["validate", "--scenario", "no_such_case"],
        "no training case 'no_such_case' among the",
    );
    expect_bad(
        &["validate", "--suite", "collectives", "--scenario", "x"],
        "there are no training cases here",
    );
    expect_bad(
        &[
            "validate",
            "--scenario",
            "nccl309_allreduce_h100_8node_64gpu_ib400",
        ],
        "'nccl309_allreduce_h100_8node_64gpu_ib400' is a collective case",
    );
}

/// A collective case file is read as one: a misspelt key is named against the
/// collective fields, and sizes are checked (none empty, none of 0 bytes, one
/// measurement per size) before anything is predicted.
#[test]
fn collective_case_files_are_checked_as_such() {
    let write = |name: &str, body: &str| {
        let p = tmp(name);
        std::fs::write(&p, format!("[[case]]\nid = \"z\"\nsource = \"x\"\ngpu = \"H100-SXM5-80GB\"\ngpus = 16\ngpus_per_node = 8\nnic_gbps_per_gpu = 400\nfabric = \"infiniband\"\n{body}")).unwrap();
        p
    };
    for (name, body, needle) in [
        (
            "coll_opp.toml",
            "opp = \"all_reduce\"\nsize_bytes = [8]\nmeasured_busbw_gbps = [0.0]\n",
            "unknown field `opp`, expected one of `id`, `source`, `op`",
        ),
        (
            "coll_empty.toml",
            "op = \"all_reduce\"\nsize_bytes = []\nmeasured_busbw_gbps = []\n",
            "size_bytes = []: at least one size",
        ),
        (
            "coll_zero.toml",
            "op = \"all_reduce\"\nsize_bytes = [0, 8]\nmeasured_busbw_gbps = [0.0, 0.0]\n",
            "size_bytes[0] = 0: a size of at least 1 byte",
        ),
        (
            "coll_twice.toml",
            "op = \"all_reduce\"\nsize_bytes = [8, 16, 8]\nmeasured_busbw_gbps = [0.0, 0.0, 0.0]\n",
            "size_bytes[2] = 8: each size once (size_bytes[0] is the same size)",
        ),
        (
            // Out of order, the first row is not the smallest size, where the latency
            // is read.
            "coll_order.toml",
            "op = \"all_reduce\"\nsize_bytes = [1024, 8, 2048]\nmeasured_busbw_gbps = [0.0, 0.0, 0.0]\n",
            "case 1 (id z): size_bytes[1] = 8: sizes in ascending order, as nccl-tests prints them: above size_bytes[0] = 1024",
        ),
        (
            "coll_times.toml",
            "op = \"all_reduce\"\nsize_bytes = [8]\nmeasured_busbw_gbps = [0.0]\nmeasured_time_us = [1.0, 2.0]\n",
            "measured_time_us = 2 values: one value per size_bytes entry (1)",
        ),
        (
            // 1 MiB in 30 µs on 16 GPUs is 65.54 GB/s of bus bandwidth, not 27.33.
            "coll_disagree.toml",
            "op = \"all_reduce\"\nsize_bytes = [8, 1048576]\nmeasured_busbw_gbps = [0.0, 27.33]\nmeasured_time_us = [20.0, 30.0]\n",
            "measured_busbw_gbps[1] = 27.33: within 2% of the 65.54 GB/s that measured_time_us[1] = 30 µs gives",
        ),
        (
            // Below 1 GB/s too: 1 MiB in 109.2 µs is 18.00 GB/s, and 0.5 is a slip.
            "coll_slip.toml",
            "op = \"all_reduce\"\nsize_bytes = [8, 1048576]\nmeasured_busbw_gbps = [0.0, 0.5]\nmeasured_time_us = [20.0, 109.2]\n",
            "measured_busbw_gbps[1] = 0.5: within 2% of the 18.00 GB/s that measured_time_us[1] = 109.2 µs gives",
        ),
        (
            // A size compared without a bandwidth would leave the summary unsaid.
            "coll_zero_busbw.toml",
            "op = \"all_reduce\"\nsize_bytes = [8, 1048576]\nmeasured_busbw_gbps = [0.0, 0.0]\n",
            "case 1 (id z): measured_busbw_gbps[1] = 0: a bus bandwidth above 0 GB/s: moving 1048576 B (1 MiB or more, the sizes compared) shows some",
        ),
    ] {
        let p = write(name, body);
        expect_bad(&["validate", "-q", "--cases", p.to_str().unwrap()], needle);
    }
    // The cluster a case gives is checked as it is read, the error headed as the case.
    let p = tmp("coll_gpu.toml");
    std::fs::write(
        &p,
        "[[case]]\nid = \"z\"\nsource = \"x\"\nop = \"all_reduce\"\ngpu = \"H100\"\ngpus = 16\ngpus_per_node = 8\nnic_gbps_per_gpu = 400\nfabric = \"infiniband\"\nsize_bytes = [8]\nmeasured_busbw_gbps = [0.0]\n",
    )
    .unwrap();
    expect_bad(
        &["validate", "-q", "--cases", p.to_str().unwrap()],
        "coll_gpu.toml: case 1 (id z): gpu = H100: one of",
    );
    let text = std::fs::read_to_string(&p).unwrap();
    for (name, from, to, needle) in [
        (
            "coll_gpn.toml",
            "gpus_per_node = 8",
            "gpus_per_node = 0",
            "case 1 (id z): gpus_per_node = 0: at least 1 GPU a server",
        ),
        (
            "coll_id.toml",
            "id = \"z\"",
            "id = \"\"",
            "id = \"\": a name for the case",
        ),
        (
            "coll_nic.toml",
            "nic_gbps_per_gpu = 400",
            "nic_gbps_per_gpu = 0",
            "case 1 (id z): nic_gbps_per_gpu = 0: a line rate",
        ),
    ] {
        let q = tmp(name);
        std::fs::write(
            &q,
            text.replace("gpu = \"H100\"", "gpu = \"H100-SXM5-80GB\"")
                .replace(from, to),
        )
        .unwrap();
        expect_bad(&["validate", "-q", "--cases", q.to_str().unwrap()], needle);
    }
}

/// Training case `id` of the repository's suite, as a case file of its own.
fn suite_case(id: &str) -> String {
    let suite = std::fs::read_to_string(validation("training_public.toml")).unwrap();
    let start = suite.find(&format!("id = \"{id}\"")).unwrap();
    let end = start + suite[start..].find("[[case]]").unwrap();
    format!("[[case]]\n{}", &suite[start..end])
}

/// A case without its recipe: no `training = {...}` table, no `assumed` entries.
fn without_recipe(case: &str) -> String {
    case.lines()
        .filter(|l| !l.starts_with("training = {"))
        .map(|l| {
            if l.starts_with("assumed = ") {
                "assumed = []"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A format v1 case (flat model fields, no recipe table) states its recipe in its
/// `assumed` entries, as the shared folder's cases do ("attention: unfused (why)"): `validate`
/// reads them, says so, and predicts what the same case with a v2 recipe table predicts.
#[test]
fn a_v1_case_takes_its_recipe_from_its_assumed_entries() {
    let id = "narayanan2021_t1_1.7B";
    let v2 = suite_case(id);
    assert!(
        v2.contains("\ntraining = {"),
        "the suite gives this case a recipe table"
    );
    // The same case in format v1: the model's fields flat, no recipe table.
    let v1: String = v2
        .lines()
        .filter(|l| !l.starts_with("training = {"))
        .map(|l| match l.strip_prefix("model = { ") {
            Some(fields) => fields.trim_end_matches(" }").replace(", ", "\n"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let predicted = |text: &str, name: &str| {
        let path = tmp(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let o = memphis(&["validate", "--cases", p, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        (
            v["cases"][0]["predicted_step_time_s"].as_f64().unwrap(),
            stderr(&o),
        )
    };
    let (with_table, said) = predicted(&v2, "assumed_v2.toml");
    assert!(!said.contains("take recipe values"), "{said}");
    let (from_text, said) = predicted(&v1, "assumed_v1.toml");
    assert_eq!(from_text, with_table);
    assert!(
        said.contains("note: 1 of 1 cases take recipe values from their `assumed` entries: attention = \"unfused\" (1), cross_entropy = \"unfused\" (1), pp_overlap = false (1), dp_overlap = false (1) (cases narayanan2021_t1_1.7B; `validate --scenario ID` shows one's)"),
        "{said}"
    );
    // Without the entries, the defaults: a modern recipe, faster than the 2021 run.
    let bare = without_recipe(&v1);
    let (defaults, _) = predicted(&bare, "assumed_none.toml");
    assert!(defaults < 0.9 * from_text, "{defaults} vs {from_text}");
    // An entry naming a recipe field with a value it does not take is warned about.
    let odd = bare.replace("assumed = []", "assumed = [\"attention: not stated\"]");
    let (odd_time, said) = predicted(&odd, "assumed_odd.toml");
    assert_eq!(odd_time, defaults);
    assert!(
        said.contains(&format!(
            "warning: case {id}: assumed[0] names the recipe field attention with \"not\""
        )) && said.contains("read as text only"),
        "{said}"
    );
}

/// A recipe value a case's run has no use for (an FP8 recipe on an FP16 case, the
/// context-parallel exchange at cp 1) is said, on stderr and in the JSON, as `simulate`
/// says it; one the run uses is not.
#[test]
fn a_case_recipe_value_its_run_does_not_use_is_noted() {
    let id = "narayanan2021_t1_1.7B";
    let case = suite_case(id);
    let unused = case.replace(
        "training = { ",
        "training = { cp_comm = \"all_gather\", fp8_recipe = \"tensorwise\", ",
    );
    assert_ne!(unused, case, "the case has a recipe table");
    let path = tmp("unused_recipe.toml");
    std::fs::write(&path, &unused).unwrap();
    let o = memphis(&["validate", "--cases", path.to_str().unwrap(), "--json"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let notes: Vec<&str> = v["cases"][0]["notes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert_eq!(
        notes,
        [
            "fp8_recipe = tensorwise applies with precision = fp8; this run's GEMMs are fp16 (A100-SXM4-80GB has no FP8)",
            "cp_comm = all_gather applies with context parallelism (cp > 1); this plan has cp = 1",
        ]
    );
    for n in notes {
        assert!(err.contains(&format!("note: case {id}: {n}")), "{err}");
    }
    // The suite's own values (pp_overlap = false at vpp 1 among them) say nothing.
    let path = tmp("used_recipe.toml");
    std::fs::write(&path, &case).unwrap();
    let o = memphis(&["validate", "--cases", path.to_str().unwrap(), "--json"]);
    assert!(!stderr(&o).contains("note: case"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["cases"][0].get("notes").is_none(), "{v}");
}

/// A case file whose cases share ids with the repository's suite, without the recipe
/// values the suite gives them, is told why its figures differ; the suite's own file
/// is not.
#[test]
fn a_case_run_otherwise_by_the_suite_is_said_to_be() {
    let id = "narayanan2021_t1_1.7B";
    let case = suite_case(id);
    // Without its recipe table and the `assumed` entries that state the same values.
    let bare = without_recipe(&case);
    let path = tmp("suite_differs.toml");
    std::fs::write(&path, &bare).unwrap();
    let o = memphis(&["validate", "--cases", path.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("note: 1 of these cases share their ids with the suite 'training' (validation/training_public.toml), which gives them recipe values this file does not: ")
            && err.contains("cross_entropy = \"unfused\" (1)")
            && err.contains("(`validate --suite training` runs them so)"),
        "{err}"
    );
    let o = memphis(&[
        "validate",
        "--cases",
        validation("training_public.toml").to_str().unwrap(),
    ]);
    assert!(!stderr(&o).contains("share their ids"), "{}", stderr(&o));
}

/// A file that mixes training and collective cases is refused for that, naming the case
/// of the other kind, whichever comes first.
#[test]
fn a_file_holds_one_kind_of_case() {
    let first = |file: &str| {
        let t = std::fs::read_to_string(validation(file)).unwrap();
        let starts: Vec<usize> = t
            .match_indices("\n[[case]]\n")
            .map(|(i, _)| i + 1)
            .collect();
        t[starts[0]..starts[1]].to_string()
    };
    let (training, collective) = (
        first("training_public.toml"),
        first("collectives_public.toml"),
    );
    for (text, kind, key, other) in [
        (
            format!("{training}\n{collective}"),
            "collective",
            "op",
            "training",
        ),
        (
            format!("{collective}\n{training}"),
            "training",
            "measured_step_time_s",
            "collective",
        ),
    ] {
        let path = tmp(&format!("mixed_{kind}.toml"));
        std::fs::write(&path, text).unwrap();
        expect_bad(
            &["validate", "--cases", path.to_str().unwrap()],
            &format!("= a {kind} case (it has `{key}`): a {other} case, as case 1 is: a file holds one kind of case (training or collective)"),
        );
    }
}

/// A case of one's own may take its model from a Hugging Face config.json, as a
/// scenario's [model] does: `preset` names the file, found from the case file's folder,
/// with the table's fields over it. The case runs as that model: exported, its scenario
/// holds the config's shape.
#[test]
fn a_case_model_may_be_a_config_json() {
    let dir = crate::util::tmp("case-hf");
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    // The config with a field memphis does not model, which the case's notes must say.
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("crates/core/testdata/hf/mixtral-8x7b.json")).unwrap(),
    )
    .unwrap();
    config["quantization_config"] = serde_json::json!({"quant_method": "fp8"});
    std::fs::write(dir.join("mixtral.json"), config.to_string()).unwrap();
    let case = r#"[[case]]
id = "mixtral_64"
source = "a run of our own"
gpu = "H100-SXM5-80GB"
gpus = 64
gpus_per_node = 8
nic_gbps_per_gpu = 400
fabric = "infiniband"
seq_len = 4096
tp = 2
pp = 1
cp = 1
ep = 8
dp = 32
vpp = 1
micro_batch = 1
global_batch = 256
sequence_parallel = true
recompute = "selective"
distributed_optimizer = true
precision = "bf16"
measured_step_time_s = 5.0
[case.model]
preset = "../mixtral.json"
"#;
    let file = dir.join("cases/mine.toml");
    std::fs::write(&file, case).unwrap();
    let f = file.to_str().unwrap();
    let v = json(&["validate", "--cases", f, "--json"]);
    assert_eq!(v["summary"]["n"], 1, "{v}");
    let notes = crate::util::notes(&v["cases"][0]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("quantization_config (fp8) is not modelled")),
        "{notes:?}"
    );
    let o = memphis(&["validate", "--cases", f, "--scenario", "mixtral_64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exported = stdout(&o);
    assert!(
        exported.contains("\nlayers = 32\n") && exported.contains("\nmoe_experts = 8\n"),
        "{exported}"
    );
    // A file that is not there is the field's error, naming the path it looked at.
    std::fs::write(&file, case.replace("../mixtral.json", "../nope.json")).unwrap();
    let o = memphis(&["validate", "--cases", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("case 1 (id mixtral_64): model.preset: model '")
            && stderr(&o).contains("nope.json': no such file"),
        "{}",
        stderr(&o)
    );
}

/// A collective file with no size of 1 MiB or more compares nothing: its summary says
/// n/a, and the JSON's figures are null, not a 0% that reads as a perfect match.
#[test]
fn a_collective_file_with_no_size_compared_has_no_figures() {
    let p = tmp("coll_small.toml");
    std::fs::write(
        &p,
        "[[case]]\nid = \"small\"\nsource = \"x\"\nop = \"all_reduce\"\ngpu = \"H100-SXM5-80GB\"\ngpus = 8\ngpus_per_node = 8\nnic_gbps_per_gpu = 400\nfabric = \"infiniband\"\nsize_bytes = [8, 65536]\nmeasured_busbw_gbps = [0.0, 5.87]\n",
    )
    .unwrap();
    let p = p.to_str().unwrap();
    let o = memphis(&["validate", "--cases", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "0 sizes >= 1 MiB: mean absolute busbw error n/a (no size of at least 1 MiB was compared)"
        ),
        "{out}"
    );
    assert!(!out.contains("0.0%,"), "{out}");
    let v = json(&["validate", "--cases", p, "--json"]);
    let s = &v["summary"];
    assert_eq!(s["n"], 0);
    for k in ["mape_pct", "median_ape_pct", "max_ape_pct", "worst"] {
        assert!(s[k].is_null(), "{k}: {s}");
    }
    // Sizes compared have figures, as before.
    let v = json(&["validate", "--suite", "collectives", "--json"]);
    assert!(v["summary"]["mape_pct"].as_f64().unwrap() > 0.0);
    assert!(v["summary"]["worst"].as_str().unwrap().contains(" @ "));
}

/// A scaling series is one model however its cases give it: Llama 3 8B as the preset, as
/// its config.json and as fields written out (a v1 case's flat fields, a v2 table
/// without the experts) are one model at four GPU counts, one strong series.
#[test]
fn a_series_is_one_model_however_its_cases_write_it() {
    let dir = tmp("series-hf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        repo().join("crates/core/testdata/hf/llama3.1-8b.json"),
        dir.join("llama.json"),
    )
    .unwrap();
    let fields = "layers = 32\nhidden = 4096\nheads = 32\nkv_heads = 8\nffn_hidden = 14336\nvocab = 128256\nmlp = \"gated\"\n";
    let case = |id: &str, gpus: u32, model: &str| {
        format!(
            "[[case]]\nid = \"{id}\"\nsource = \"x\"\ngpu = \"H100-SXM5-80GB\"\ngpus = {gpus}\ngpus_per_node = 8\nnic_gbps_per_gpu = 400\nfabric = \"infiniband\"\nseq_len = 2048\ntp = 2\npp = 1\ncp = 1\nep = 1\ndp = {}\nvpp = 1\nmicro_batch = 1\nglobal_batch = 128\nsequence_parallel = true\nrecompute = \"selective\"\ndistributed_optimizer = true\nprecision = \"bf16\"\nmeasured_step_time_s = {}\n{model}",
            gpus / 2,
            32.0 / f64::from(gpus)
        )
    };
    let text = [
        case(
            "flat",
            16,
            &format!("{fields}moe_experts = 0\nmoe_topk = 0\n"),
        ),
        case("preset", 32, "[case.model]\npreset = \"llama3-8b\"\n"),
        case("config", 64, "[case.model]\npreset = \"llama.json\"\n"),
        case("table", 128, &format!("[case.model]\n{fields}")),
    ]
    .concat();
    let path = dir.join("cases.toml");
    std::fs::write(&path, text).unwrap();
    let v = json(&[
        "validate",
        "-q",
        "--cases",
        path.to_str().unwrap(),
        "--json",
    ]);
    let series = v["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{v}");
    assert_eq!(series[0]["scaling"], "strong");
    assert_eq!(
        series[0]["ids"],
        serde_json::json!(["flat", "preset", "config", "table"])
    );
    assert_eq!(series[0]["gpus"], serde_json::json!([16, 128]));
}

/// The scaling series' rows line up under their header whatever the ids' length: two
/// cases of a suite's series renamed `s1` and `s2`, ids shorter than the header.
#[test]
fn the_series_table_lines_up_with_short_ids() {
    let text = [
        ("megascale_megatronlm_175b_256gpus", "s1"),
        ("megascale_megatronlm_175b_512gpus", "s2"),
    ]
    .map(|(id, to)| suite_case(id).replace(&format!("id = \"{id}\""), &format!("id = \"{to}\"")))
    .concat();
    let p = tmp("short_ids.toml");
    std::fs::write(&p, text).unwrap();
    let o = memphis(&["validate", "-q", "--cases", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("series (fewest GPUs)"))
        .unwrap_or_else(|| panic!("{out}"));
    let (header, row) = (lines[at], lines[at + 1]);
    assert!(row.starts_with("s1 "), "{out}");
    // Right-aligned columns: each header ends where its entries end.
    let end = |line: &str, word: &str| line.rfind(word).map(|i| i + word.len());
    assert_eq!(end(header, "kind"), end(row, "strong"), "{out}");
    assert_eq!(end(header, "GPUs"), end(row, "256 -> 512"), "{out}");
    assert_eq!(header.len(), row.len(), "{out}");
}

/// A measured busbw above what the case's links allow is warned of (on stderr and in the
/// case's `notes`), not refused; the suite's curves are within what theirs allow.
#[test]
fn a_busbw_above_the_links_is_warned_of() {
    let p = tmp("coll_fast.toml");
    std::fs::write(
        &p,
        "[[case]]\nid = \"a100_ag\"\nsource = \"x\"\nop = \"all_gather\"\ngpu = \"A100-SXM4-80GB\"\ngpus = 16\ngpus_per_node = 8\nnic_gbps_per_gpu = 200\nfabric = \"infiniband\"\nsize_bytes = [1048576, 1073741824]\nmeasured_busbw_gbps = [20.0, 362.0]\n",
    )
    .unwrap();
    let p = p.to_str().unwrap();
    let o = memphis(&["validate", "--cases", p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: case a100_ag: measured_busbw_gbps[1] = 362 at 1073741824 B is above the 240.0 GB/s a GPU's links allow here"),
        "{err}"
    );
    let v = json(&["validate", "--cases", p, "--json", "-q"]);
    let notes = crate::util::notes(&v["cases"][0]);
    assert!(
        notes.len() == 1 && notes[0].contains("above the 240.0 GB/s"),
        "{notes:?}"
    );
    let o = memphis(&["validate", "--suite", "collectives"]);
    assert!(
        o.status.success() && !stderr(&o).contains("links allow"),
        "{}",
        stderr(&o)
    );
    let v = json(&["validate", "--suite", "collectives", "--json"]);
    for c in v["cases"].as_array().unwrap() {
        assert!(c.get("notes").is_none(), "{c}");
    }
}
