//! `memphis plan`: the planner against the published plans, shards and merge.
#![allow(clippy::print_stdout)] // the test prints its table for the reader of `cargo test -- --nocapture`

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp, validation};
use std::path::PathBuf;

#[test]
fn planner_is_no_slower_than_the_published_plans() {
    use memphis_core::plan::{search, Objective};
    use memphis_core::validate::{parse_cases, CaseFile};
    let text = std::fs::read_to_string(validation("training_public.toml")).unwrap();
    let CaseFile::Training(cases) = parse_cases("public", &text).unwrap() else {
        panic!()
    };
    for c in &cases {
        let sc = c.scenario().validate().unwrap();
        // The published plan priced as the planner prices its finalists (`simulate`'s
        // step model and network), so the two are compared by one measure.
        let published = memphis_core::plan::evaluate(&sc, 0, &sc.plan)
            .unwrap()
            .step_time_s;
        let best = search(&sc, Objective::Step, 1, None, &|_, _| {}).unwrap();
        let b = &best.top[0];
        // One measure on both sides: the same plan gives the same time, up to rounding.
        assert!(
            b.step_time_s <= published * (1.0 + 1e-12) + 1e-8,
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
    for k in ["plans_evaluated", "plans_feasible", "top"] {
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
    // The merge names the same search (scenario, --top): the shards are checked against it.
    let mut args = vec![
        "plan",
        "dgx-h100-llama3-70b",
        "--top",
        "3",
        "--json",
        "--merge",
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let merged = json(&args);
    let whole = v.clone();
    assert!(
        v.get("elapsed_s").is_none(),
        "wall time goes to stderr, not stdout"
    );
    assert_eq!(
        serde_json::to_string(&merged).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    // Byte for byte, as printed: the shards' floats are read back exactly.
    let printed = |a: &[&str]| memphis(a).stdout;
    assert_eq!(
        printed(&args),
        printed(&["plan", "dgx-h100-llama3-70b", "--top", "3", "--json"])
    );
    // Errors.
    for (args, needle) in [
        (&["plan", "--shard", "0/4"][..], "--shard = 0/4"),
        (&["plan", "--shard", "5/4"][..], "--shard = 5/4"),
        (&["plan", "--global-batch-never"][..], "unexpected argument"),
        // A misspelt flag keeps clap's suggestion on its one line.
        (
            &["plan", "--global-bach", "8"][..],
            "error: unexpected argument '--global-bach' found; tip: a similar argument exists: '--global-batch' (see --help)\n",
        ),
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

/// The progress line follows the planner's counters (forced here: the tests have no
/// terminal), goes to stderr only, and leaves stdout as it was.
#[test]
fn a_progress_line_follows_the_planner_on_stderr() {
    let run = |progress: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_memphis"));
        c.args(["plan", "--gpus", "16384", "--top", "3", "--json"])
            .current_dir(crate::util::repo());
        if progress {
            c.env("MEMPHIS_PROGRESS", "always");
        } else {
            c.env_remove("MEMPHIS_PROGRESS");
        }
        c.output().expect("run memphis")
    };
    let (with, without) = (run(true), run(false));
    assert!(with.status.success() && without.status.success());
    let err = crate::util::stderr(&with);
    assert!(err.contains("planning: "), "{err}");
    assert!(
        err.contains("planning: timelines of the finalists"),
        "the finalists are counted: {err}"
    );
    assert!(!crate::util::stderr(&without).contains("planning: "));
    assert_eq!(with.stdout, without.stdout);
}

/// On one terminal (stderr and stdout into the same place), the progress line is
/// erased before a note or the report is written, so neither runs on from it.
#[test]
fn the_progress_line_is_erased_before_the_report() {
    let bin = env!("CARGO_BIN_EXE_memphis");
    let o = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("'{bin}' plan --gpus 16384 --top 3 --json 2>&1"),
        ])
        .current_dir(crate::util::repo())
        .env("MEMPHIS_PROGRESS", "always")
        .output()
        .expect("run sh");
    assert!(o.status.success());
    let merged = String::from_utf8_lossy(&o.stdout);
    assert!(merged.contains("planning: "), "{merged}");
    // Each drawing of the line is erased before anything else is written: no note and
    // no report runs on from it.
    for drawn in merged.split("\r\x1b[K").filter(|p| p.starts_with("  ")) {
        let line_only = drawn.ends_with(" s") && !drawn.contains('\n');
        assert!(line_only, "{drawn:?}");
    }
    let before = &merged[..merged.find("{\n").expect("the report")];
    assert!(
        before.ends_with("\x1b[K") || before.ends_with('\n'),
        "{before:?}"
    );
}

/// Plan fields that break a rule together (interleaving against the batch) are refused
/// for that rule by `simulate` and `plan` alike, not as "no plan has them all".
#[test]
fn plan_fields_that_break_a_rule_are_refused_for_it() {
    let args = [
        "--model",
        "crates/core/testdata/hf/llama3.1-70b.json",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "8192",
        "--tp",
        "8",
        "--pp",
        "4",
        "--vpp",
        "5",
        "--cp",
        "1",
        "--dp",
        "256",
        "--micro-batch",
        "1",
        "--global-batch",
        "512",
    ];
    for command in ["simulate", "plan"] {
        let mut a = vec![command, "-q"];
        a.extend(args);
        expect_bad(
            &a,
            "parallel.vpp = 5 (given as --vpp): 1 (no interleaving) here, since Megatron's interleaving needs the micro-batches per pipeline (2 = global_batch / (dp x micro_batch)) to be a multiple of pp (4)",
        );
    }
}

/// A plan given whole but for the fields with defaults (sequence parallelism, the
/// distributed optimizer, and ep and etp on a dense model) is whole: it runs as given
/// where the planner does not search it, with a note naming the defaults, and a rule it
/// breaks is its reason in `simulate` and `plan` alike.
#[test]
fn a_plan_whole_but_for_fields_with_defaults_is_whole() {
    let base = [
        "-q",
        "--model",
        "crates/core/testdata/hf/llama3.1-70b.json",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "1024",
        "--tp",
        "8",
        "--pp",
        "4",
        "--cp",
        "1",
        "--dp",
        "32",
        "--recompute",
        "none",
        "--global-batch",
        "512",
    ];
    let with = |command: &str, more: &[&str]| {
        let mut a = vec![command];
        a.extend(base);
        a.extend(more);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    // vpp 10 is past the planner's 8: run as given.
    let a = with("simulate", &["--vpp", "10", "--micro-batch", "2", "--json"]);
    let j = json(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(j["plan"]["label"], "TP8 PP4 (vpp 10) CP1 EP1 DP32");
    assert!(
        j["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("the plan fields you did not give take memphis's defaults, as a scenario file does: distributed_optimizer = true, sequence_parallel = true"),
        "{}",
        j["notes"]
    );
    for command in ["simulate", "plan"] {
        let a = with(command, &["--vpp", "1", "--micro-batch", "3"]);
        expect_bad(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            "training.global_batch = 512 (given as --global-batch): a positive multiple of dp x micro_batch (32 x 3 = 96)",
        );
    }
}

/// Sequence parallelism off lifts its rule (seq_len a multiple of tp x cp) from the plans
/// the planner searches: a tp that divides the sequence only without it is searched,
/// without it by default, as the user said where they did; asked for, it is refused.
#[test]
fn a_plan_without_sequence_parallelism_is_not_held_to_its_rule() {
    let args = [
        "plan",
        "--cluster",
        "dgx-h100",
        "--model",
        "llama3-70b",
        "--gpus",
        "256",
        "--seq-len",
        "8190",
        "--global-batch",
        "512",
        "--tp",
        "4",
        "--top",
        "1",
        "--json",
    ];
    let mut on = args.to_vec();
    on.extend_from_slice(&["--sequence-parallel", "true"]);
    expect_bad(
        &on,
        "or sequence_parallel = false (--sequence-parallel false)",
    );
    let mut off = args.to_vec();
    off.extend_from_slice(&["--sequence-parallel", "false"]);
    for args in [&args[..], &off[..]] {
        let p = json(args);
        let top = &p["top"][0];
        assert_eq!(top["tp"], 4, "{args:?}");
        assert_eq!(top["sequence_parallel"], false, "{args:?}");
    }
}

/// A model's job on 512 H100s at 1,024 sequences of 8,192 tokens. For Mixtral 8x7B the
/// fastest plans fill the GPU, those that leave room run about 3% slower.
fn on_512_h100s(config: &str) -> [&str; 10] {
    [
        "--model",
        config,
        "--cluster",
        "dgx-h100",
        "--gpus",
        "512",
        "--global-batch",
        "1024",
        "--seq-len",
        "8192",
    ]
}

/// Where the best plan fills the GPU, the best that leaves room is named with the flags
/// that run it, in `plan` and `simulate --plan auto` alike, and those flags run it.
#[test]
fn the_best_plan_that_leaves_room_is_named_and_runs_as_said() {
    let mixtral = crate::util::repo().join("crates/core/testdata/hf/mixtral-8x7b.json");
    let job = on_512_h100s(mixtral.to_str().unwrap());
    let mut args = vec!["plan", "--top", "1", "--json"];
    args.extend(job);
    let v = json(&args);
    assert_eq!(v["top"][0]["memory_tight"], true, "{v}");
    let roomy = &v["best_with_room"];
    assert_eq!(roomy["memory_tight"], false, "{v}");
    let (best_s, roomy_s) = (
        v["top"][0]["step_time_s"].as_f64().unwrap(),
        roomy["step_time_s"].as_f64().unwrap(),
    );
    assert!(roomy_s > best_s, "{v}");
    let note = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .find(|n| n.starts_with("the planner's best plan that leaves room is"))
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    assert!(note.contains(&format!("{roomy_s:.3} s a step")), "{note}");
    // `simulate --plan auto` says the same.
    let mut auto = vec!["simulate", "--plan", "auto", "--json"];
    auto.extend(job);
    let s = json(&auto);
    assert!(
        s["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == note.as_str()),
        "{s}"
    );
    // Its JSON says the plan it ran is tight, as plan's table marks it.
    assert_eq!(s["memory"]["tight"], true, "{s}");
    // Its flags run that plan, at that step.
    let flags = note.split("to run it, ").nth(1).unwrap();
    let mut run = vec!["simulate", "--json"];
    run.extend(job);
    run.extend(flags.split(' '));
    let r = json(&run);
    assert_eq!(r["step"]["time_s"].as_f64().unwrap(), roomy_s, "{r}");
    assert_eq!(r["memory"]["tight"], false, "{r}");
}

/// A best plan whose layers split unevenly (which Megatron-Core refuses unless given
/// the counts) is said of in `plan` as `simulate` says it of the plan run.
#[test]
fn plan_says_when_its_best_splits_the_layers_unevenly() {
    let llama = crate::util::repo().join("crates/core/testdata/hf/llama3.1-70b.json");
    let job = [&on_512_h100s(llama.to_str().unwrap())[..], &["--tp", "2"]].concat();
    let mut args = vec!["plan", "--top", "1", "--json"];
    args.extend(&job);
    let v = json(&args);
    let best = &v["top"][0];
    let chunks = best["pp"].as_u64().unwrap() * best["vpp"].as_u64().unwrap();
    assert_ne!(80 % chunks, 0, "the case needs an uneven best plan: {best}");
    let said = crate::util::notes(&v);
    let note = said
        .iter()
        .find(|n| n.starts_with("the best plan: the 80 layers do not split evenly"))
        .unwrap_or_else(|| panic!("{said:?}"));
    // `simulate` of that plan says the same.
    let mut run = vec!["simulate", "--json"];
    run.extend(job);
    let flags: Vec<String> = ["pp", "vpp", "cp", "micro_batch"]
        .iter()
        .map(|k| best[*k].to_string())
        .collect();
    run.extend([
        "--pp",
        &flags[0],
        "--vpp",
        &flags[1],
        "--cp",
        &flags[2],
        "--micro-batch",
        &flags[3],
        "--recompute",
        best["recompute"].as_str().unwrap(),
    ]);
    let s = json(&run);
    let split = note.trim_start_matches("the best plan: ");
    assert!(
        s["notes"].as_array().unwrap().iter().any(|n| n == split),
        "{s}"
    );
}

/// A ranking says nothing of a run that failures dominate: `plan` warns of its best
/// plan's run as `simulate` warns of that plan, in the same words.
#[test]
fn plans_that_fill_the_gpu_are_marked_in_the_table() {
    // Mixtral on 256 H100s: the TP4 PP1 plans fill 79.0 of 79.6 GiB.
    let mixtral = crate::util::repo().join("crates/core/testdata/hf/mixtral-8x7b.json");
    let mut args = vec!["plan", "--top", "6", "-q"];
    args.extend(on_512_h100s(mixtral.to_str().unwrap()));
    let o = memphis(&args);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" GiB") && l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 6, "{out}");
    let marked: Vec<bool> = rows.iter().map(|l| l.contains("GiB*")).collect();
    assert!(marked.contains(&true) && marked.contains(&false), "{out}");
    // The mark is the JSON's `memory_tight`, and the footnote says what it means.
    assert!(
        out.contains("\n  * fills over 95% of the GPU's memory: "),
        "{out}"
    );
    args.push("--json");
    let v: serde_json::Value = serde_json::from_slice(&memphis(&args).stdout).unwrap();
    let tight: Vec<bool> = v["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["memory_tight"].as_bool().unwrap())
        .collect();
    assert_eq!(tight, marked);
}

#[test]
fn plan_warns_when_failures_take_the_best_plans_run() {
    let job = [
        "--cluster",
        "dgx-h100",
        "--model",
        "llama3-8b",
        "--gpus",
        "10752",
        "--global-batch",
        "10752",
    ];
    let mut args = vec!["plan", "--top", "1", "--json"];
    args.extend(job);
    let o = memphis(&args);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let warned = err
        .lines()
        .find_map(|l| l.strip_prefix("warning: the best plan: failures take "))
        .unwrap_or_else(|| panic!("{err}"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The report says it too, for whoever reads only the JSON (Python's `plan`).
    let in_report = format!("warning: the best plan: failures take {warned}");
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == &in_report[..]),
        "{}",
        v["notes"]
    );
    let p = &v["top"][0];
    let flag = |k: &str| p[k].to_string();
    let (tp, pp, vpp, cp, dp, mb) = (
        flag("tp"),
        flag("pp"),
        flag("vpp"),
        flag("cp"),
        flag("dp"),
        flag("micro_batch"),
    );
    let recompute = p["recompute"].as_str().unwrap().to_string();
    let mut sim = vec!["simulate"];
    sim.extend(job);
    sim.extend([
        "--tp",
        &tp,
        "--pp",
        &pp,
        "--vpp",
        &vpp,
        "--cp",
        &cp,
        "--dp",
        &dp,
        "--micro-batch",
        &mb,
        "--recompute",
        &recompute,
    ]);
    let o = memphis(&sim);
    let said = stderr(&o);
    assert!(
        said.contains(&format!("warning: failures take {warned}")),
        "plan: {warned}\nsimulate: {said}"
    );
    // The text report labels it a warning too.
    assert!(
        stdout(&o).contains(&format!("\n  warning  failures take {warned}")),
        "{}",
        stdout(&o)
    );
    // A run failures do not dominate gets no such warning.
    let o = memphis(&[
        "plan",
        "--top",
        "1",
        "--cluster",
        "dgx-h100",
        "--model",
        "llama3-8b",
        "--gpus",
        "1024",
        "--global-batch",
        "1024",
    ]);
    assert!(!stderr(&o).contains("the best plan"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("the best plan"), "{}", stdout(&o));
}

/// What a config.json has that memphis does not model is in every report of the run:
/// `plan`'s and `reliability`'s notes say it first, as `simulate`'s do.
#[test]
fn a_config_jsons_unmodelled_fields_are_in_every_report() {
    let cfg = crate::util::repo().join("crates/core/testdata/hf/gemma-3-27b-it.json");
    let job = [
        "dgx-h100-llama3-70b",
        "--model",
        cfg.to_str().unwrap(),
        "--gpus",
        "512",
        "--global-batch",
        "512",
        "--tokens",
        "1e10",
    ];
    let first_note = |cmd: &[&str]| {
        let v = crate::util::json(&[cmd, &job[..], &["--json"]].concat());
        v["notes"][0].as_str().unwrap_or_default().to_string()
    };
    let said = first_note(&["simulate"]);
    assert!(said.contains("vision_config"), "{said}");
    assert_eq!(first_note(&["plan", "--top", "1"]), said);
    assert_eq!(first_note(&["reliability"]), said);
}

/// Llama 3 8B on H100 servers, at a global batch and GPU count.
fn llama3_8b_on_h100(batch: &'static str, gpus: &'static str) -> [&'static str; 8] {
    [
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--global-batch",
        batch,
        "--gpus",
        gpus,
    ]
}

/// The report's note that starts with `prefix`.
fn note_starting(report: &serde_json::Value, prefix: &str) -> String {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .find(|n| n.starts_with(prefix))
        .unwrap_or_else(|| panic!("{}", report["notes"]))
        .to_string()
}

/// 100 GPUs (4 x 25) leave Llama 3 8B at a batch of 96 only plans with pp or cp of 5
/// or 25; 96 of them train over twice as fast. `plan` and `--plan auto` say so, with the
/// same figures `--gpus 96` gives; a count that splits well (128) gets no such note.
#[test]
fn a_gpu_count_that_factors_badly_names_the_count_that_trains_faster() {
    let job = |gpus| llama3_8b_on_h100("96", gpus);
    let plan = json(&[&["plan", "--json"][..], &job("100")].concat());
    let note = note_starting(&plan, "96 of the 100 GPUs train faster");
    let at_96 = json(&[&["simulate", "--json", "--plan", "auto"][..], &job("96")].concat());
    let step_96 = at_96["step"]["time_s"].as_f64().unwrap();
    let days_96 = at_96["run"]["days_p50"].as_f64().unwrap();
    assert!(
        note.contains(&format!(
            "{step_96:.3} s a step ({} days to train) with",
            memphis_core::text::sig3(days_96)
        )) && note.ends_with(": --gpus 96"),
        "{note} / {step_96} / {days_96}"
    );
    let best_100 = plan["top"][0]["step_time_s"].as_f64().unwrap();
    assert!(step_96 < 0.95 * best_100, "{step_96} vs {best_100}");
    // `--plan auto` says the same, and so does the planner that replaces a preset's
    // plan made for another model.
    for auto in [&["simulate", "--plan", "auto"][..], &["simulate"][..]] {
        let o = memphis(&[auto, &job("100")].concat());
        assert!(stderr(&o).contains(&note), "{auto:?}: {}", stderr(&o));
    }
    // 128 = 2^7: nothing to say.
    let plan = json(&[&["plan", "--json"][..], &job("128")].concat());
    assert!(
        !plan["notes"].to_string().contains("train faster"),
        "{}",
        plan["notes"]
    );
}

/// A count that splits well can still be too many for its batch: Llama 3 8B at a batch
/// of 8 on 192 GPUs (3 x 2^6) must put the 3 in pp, and its best step is slower than on
/// 128 of them (the frontier case: 98,304 GPUs at a batch of 2,048 against 65,536).
/// The next 2^k or 3·2^k below is tried, not only the largest tp x dp the batch takes
/// (64 here), and the note's figures are what `--gpus 128` gives.
#[test]
fn a_batch_too_small_for_the_gpus_names_the_smaller_count_that_trains_faster() {
    let job = |gpus| llama3_8b_on_h100("8", gpus);
    let plan = json(&[&["plan", "--json", "-q"][..], &job("192")].concat());
    let note = note_starting(&plan, "128 of the 192 GPUs train faster");
    let at_128 = json(
        &[
            &["simulate", "--json", "-q", "--plan", "auto"][..],
            &job("128"),
        ]
        .concat(),
    );
    let step_128 = at_128["step"]["time_s"].as_f64().unwrap();
    assert!(
        note.contains(&format!("{step_128:.3} s a step")) && note.ends_with(": --gpus 128"),
        "{note} / {step_128}"
    );
    let best_192 = plan["top"][0]["step_time_s"].as_f64().unwrap();
    assert!(step_128 < 0.95 * best_192, "{step_128} vs {best_192}");
    // 1,024 GPUs: 768, the next count below, is no faster; 512, the power of two below,
    // is, and named.
    let plan = json(&[&["plan", "--json", "-q"][..], &job("1024")].concat());
    let note = note_starting(&plan, "512 of the 1024 GPUs train faster");
    assert!(note.ends_with(": --gpus 512"), "{note}");
}

/// A scenario file that writes its whole plan (as `validate --scenario` exports one)
/// leaves the planner nothing to choose: `plan` and `--plan auto` keep what was written,
/// and say so, with the way out. A preset's plan is the planner's to replace: no note.
#[test]
fn a_plan_written_whole_is_said_to_leave_nothing_to_choose() {
    let file = tmp("whole-plan.toml");
    let f = file.to_str().unwrap();
    let o = memphis(&["validate", "--scenario", "megatron_h100_weak_32B", "-o", f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let says = |notes: &serde_json::Value| {
        notes.as_array().unwrap().iter().any(|n| {
            n.as_str()
                .unwrap()
                .contains("leave the planner one plan to price")
        })
    };
    let p = json(&["plan", f, "--json", "-q"]);
    assert_eq!(p["plans_evaluated"], 1);
    assert!(says(&p["notes"]), "{}", p["notes"]);
    let s = json(&["simulate", f, "--plan", "auto", "--json", "-q"]);
    assert!(says(&s["notes"]), "{}", s["notes"]);
    let preset = json(&["plan", "dgx-h100-llama3-70b", "--json", "-q"]);
    assert!(!says(&preset["notes"]), "{}", preset["notes"]);
}

/// `plan` names the job it searched (model, GPUs of which cluster, precision with its
/// FP8 recipe, batch, sequence, tokens), in text and JSON, so that a table or a shard
/// says what it ranks.
#[test]
fn plan_names_the_job_it_searched() {
    let args = [
        "plan",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-b200",
        "--gpus",
        "64",
        "--precision",
        "FP8",
        "--fp8-recipe",
        "MXFP8",
        "--global-batch",
        "256",
        "--seq-len",
        "4096",
        "--tp",
        "1",
        "--pp",
        "1",
        "--top",
        "1",
    ];
    let job = "llama3-8b on 64 of dgx-b200's 16,384 B200 · FP8 (mxfp8 scaling) · 256 seq 4,096 · 15.0T tokens";
    let o = memphis(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("  job      {job}")),
        "{}",
        stdout(&o)
    );
    let v = json(&[&args[..], &["--json"]].concat());
    assert_eq!(v["job"], job);
    // The recipe's fields set otherwise than by default follow (any case, as flags).
    let v = json(&[&args[..], &["--dp-overlap", "FALSE", "--json"]].concat());
    assert_eq!(v["job"], format!("{job} · dp_overlap = false"));
}
