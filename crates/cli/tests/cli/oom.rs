//! Nothing runs on a job that does not fit in GPU memory: `simulate`, `reliability` and
//! `power` refuse such a plan (its memory on stderr, one error line, exit 2, no output file),
//! unless `--allow-oom`, which runs it with the warning first.

use crate::util::{json, memphis, stderr, stdout, tmp};

/// Llama 3 70B on 1,024 H100s without TP or PP: about 420 GiB per GPU of 80.
const OOM: &[&str] = &["dgx-h100-llama3-70b", "--tp", "1", "--pp", "1"];

fn with(cmd: &str, extra: &[&str]) -> Vec<String> {
    std::iter::once(cmd)
        .chain(OOM.iter().copied())
        .chain(extra.iter().copied())
        .map(String::from)
        .collect()
}

fn run(args: &[String]) -> std::process::Output {
    memphis(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The refusal: memory per GPU part by part, then one error line that names the plan
/// and what to change; exit 2; nothing on stdout.
fn assert_refused(o: &std::process::Output) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "printed a report: {}", stdout(o));
    for part in [
        "memory per GPU",
        "weights",
        "gradients",
        "optimizer",
        "activations",
        "DOES NOT FIT",
    ] {
        assert!(err.contains(part), "missing {part:?} in\n{err}");
    }
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("error: parallel = TP1 PP1 CP2 EP1 DP512 ("),
        "{last}"
    );
    for fix in [
        "GiB per GPU",
        "79.6 GiB",
        "more pp or tp",
        "--plan auto",
        "--allow-oom",
    ] {
        assert!(last.contains(fix), "missing {fix:?} in {last}");
    }
    assert_eq!(err.matches("error:").count(), 1, "{err}");
}

#[test]
fn an_moe_plan_that_does_not_fit_is_told_of_ep() {
    let o = memphis(&[
        "simulate",
        "deepseek-v3-h800",
        "--tp",
        "1",
        "--pp",
        "1",
        "--ep",
        "8",
        "--cp",
        "1",
        "--global-batch",
        "16384",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("this one does not: more ep, pp or tp"),
        "{last}"
    );
}

#[test]
fn simulate_refuses_a_plan_that_does_not_fit_and_writes_nothing() {
    let (out, html, trace) = (tmp("oom.json"), tmp("oom.html"), tmp("oom-trace.json"));
    let args = with(
        "simulate",
        &[
            "--json",
            "-o",
            out.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert_refused(&run(&args));
    for f in [&out, &html, &trace] {
        assert!(!f.exists(), "{} was written", f.display());
    }
    // A file already there is left as it was.
    std::fs::write(&out, "before").unwrap();
    assert_refused(&run(&args));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "before");
    // The text report too.
    assert_refused(&run(&with("simulate", &[])));
}

#[test]
fn simulate_allow_oom_runs_with_the_warning_first() {
    let o = run(&with("simulate", &["--allow-oom"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("warning: DOES NOT FIT: TP1 PP1 CP2 EP1 DP512 needs"),
        "{first}"
    );
    assert!(first.contains("--allow-oom"), "{first}");
    assert_eq!(text.matches("warning: DOES NOT FIT").count(), 1, "{text}");
    assert!(text.contains("total") && text.contains("DOES NOT FIT"));
    // JSON: `fits` at the top level, the warning the first note; the files are written.
    let out = tmp("allowed.json");
    let html = tmp("allowed.html");
    let o = run(&with(
        "simulate",
        &[
            "--allow-oom",
            "--json",
            "-o",
            out.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["fits"], false);
    assert_eq!(v["memory"]["fits"], false);
    assert!(v["memory"]["per_gpu_gib"].as_f64().unwrap() > 80.0);
    // At the top: right after the scenario's name, before the notes and the rest.
    let raw = std::fs::read_to_string(&out).unwrap();
    let at = |k: &str| raw.find(&format!("\n  \"{k}\":")).unwrap();
    assert!(
        at("scenario") < at("fits") && at("fits") < at("notes"),
        "{raw}"
    );
    assert!(
        v["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("warning: DOES NOT FIT"),
        "{}",
        v["notes"]
    );
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("warning: DOES NOT FIT"));
    // A plan that fits says so at the top level too, with no such note.
    let v = json(&["simulate", "dgx-h100-llama3-70b", "--json"]);
    assert_eq!(v["fits"], true);
    assert!(!v.to_string().contains("DOES NOT FIT"));
}

/// `cmd` (with `extra`) refuses the plan, and with `--allow-oom` runs it with the warning
/// first: in the text, on stderr and as the JSON's first note, with `fits` false.
fn refuses_and_allow_oom_warns_first(cmd: &str, extra: &[&str]) {
    assert_refused(&run(&with(cmd, extra)));
    let o = run(&with(cmd, &[extra, &["--allow-oom"]].concat()));
    assert!(o.status.success(), "{}", stderr(&o));
    for text in [stdout(&o), stderr(&o)] {
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with("warning: DOES NOT FIT"), "{cmd}: {text}");
    }
    let o = run(&with(cmd, &[extra, &["--allow-oom", "--json"]].concat()));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fits"], false, "{cmd}");
    let first = v["notes"][0].as_str().unwrap_or_default();
    assert!(first.starts_with("warning: DOES NOT FIT"), "{cmd}: {first}");
}

#[test]
fn reliability_refuses_too_and_allow_oom_runs_it() {
    assert_refused(&run(&with("reliability", &["--json"])));
    refuses_and_allow_oom_warns_first("reliability", &[]);
}

/// `power` too (it said nothing of the memory before).
#[test]
fn power_refuses_too_and_allow_oom_warns_first() {
    refuses_and_allow_oom_warns_first("power", &["--window", "20s"]);
    assert_eq!(json(&["power", "--window", "20s", "--json"])["fits"], true);
}

/// Every scenario preset fits, so none needs --allow-oom.
#[test]
fn every_scenario_preset_fits_and_runs() {
    for p in [
        "memphis-405b",
        "memphis-grok1",
        "dgx-h100-llama3-70b",
        "dgx-a100-gpt3-175b",
    ] {
        let v = json(&["reliability", p, "--json"]);
        assert_eq!(v["fits"], true, "{p}");
        let v = json(&["simulate", p, "--step-model", "analytical", "--json"]);
        assert_eq!(v["fits"], true, "{p}");
    }
}

/// When no plan fits, the planner (`--plan auto`, or a scenario whose preset plan does
/// not suit the job) says that, in one line, naming the fields it had to keep.
#[test]
fn no_plan_that_fits_is_one_clear_error() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[
                "simulate",
                "--plan",
                "auto",
                "--model",
                "llama3-405b",
                "--cluster",
                "dgx-h100",
                "--gpus",
                "8",
                "--global-batch",
                "8",
            ],
            &[
                "parallel = any plan:",
                "no plan of llama3-405b on 8 GPUs",
                "more GPUs",
            ],
        ),
        // No plan field written: the preset's plan does not suit 8 GPUs, and no plan fits.
        (
            &[
                "simulate",
                "--model",
                "llama3-405b",
                "--cluster",
                "dgx-h100",
                "--gpus",
                "8",
                "--global-batch",
                "8",
            ],
            &["parallel = any plan:", "fits in the GPU's 79.6 GiB"],
        ),
        // No plan field written, and no plan exists at all: the planner's reason, not
        // the preset plan's (10,000 GPUs and 12,288 sequences share no dp).
        (
            &["simulate", "--gpus", "10000"],
            &["no plan exists", "choose a GPU count whose factors"],
        ),
        (
            &[
                "simulate",
                "dgx-h100-llama3-70b",
                "--plan",
                "auto",
                "--tp",
                "1",
                "--pp",
                "1",
                "--cp",
                "1",
                "--gpus",
                "512",
            ],
            &[
                "any plan with tp = 1, pp = 1, cp = 1:",
                "with these fields",
                // The weights and gradients alone overflow at TP1 PP1: no GPU count helps.
                "alone need 392.3 GiB a GPU with these fields, whatever the GPUs",
                "give fewer of the plan fields",
                "(without them, plans fit)",
            ],
        ),
        // Activations-bound with the shape fixed: one micro-batch in flight is still over,
        // so neither a batch nor a GPU count helps, only shorter sequences or fewer fields.
        (
            &[
                "simulate",
                "--model",
                "crates/core/testdata/hf/mixtral-8x7b.json",
                "--cluster",
                "dgx-h200",
                "--gpus",
                "128",
                "--global-batch",
                "512",
                "--seq-len",
                "8192",
                "--tp",
                "1",
                "--pp",
                "1",
                "--cp",
                "1",
                "--ep",
                "8",
                "--micro-batch",
                "2",
                "--recompute",
                "none",
                "--plan",
                "auto",
            ],
            &[
                "with one micro-batch in flight, the fewest any batch or GPU count leaves, these fields need",
                "shorter sequences, or fewer of the plan fields (without them, plans fit)",
            ],
        ),
        // At TP8 the states fit once spread over more GPUs.
        (
            &[
                "simulate",
                "dgx-h100-llama3-70b",
                "--plan",
                "auto",
                "--tp",
                "8",
                "--pp",
                "1",
                "--gpus",
                "16",
            ],
            &["more GPUs:", "or fewer of the plan fields you gave"],
        ),
    ];
    for (args, needles) in cases {
        let o = memphis(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        for n in *needles {
            assert!(err.contains(n), "{args:?}: expected {n:?} in {err}");
        }
        if err.contains("whatever the GPUs") || err.contains("the fewest any batch or GPU count") {
            assert!(!err.contains("more GPUs:"), "{args:?}: {err}");
            assert!(
                !err.contains("more GPUs, a smaller batch"),
                "{args:?}: {err}"
            );
        }
    }
}

/// `--allow-oom` runs the plan the user has, even one from a preset: the planner does not
/// step in for a plan that only fails to fit.
#[test]
fn allow_oom_keeps_the_presets_plan() {
    let args = [
        "simulate",
        "deepseek-v3-h800",
        "--precision",
        "bf16",
        "--json",
        "-q",
    ];
    let planned = json(&args);
    let preset_plan = (Some(16), Some(64));
    let plan_of = |v: &serde_json::Value| (v["plan"]["pp"].as_u64(), v["plan"]["ep"].as_u64());
    assert_ne!(
        plan_of(&planned),
        preset_plan,
        "the planner replaces a plan that does not fit"
    );
    let kept = memphis(&[&args[..], &["--allow-oom"]].concat());
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    let v: serde_json::Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(plan_of(&v), preset_plan);
    assert_eq!(v["fits"], false);
}

/// A model other than the preset's, some plan fields given, none of its plans fitting:
/// `--allow-oom` runs the plan with those fields that needs the least memory (the one the
/// refusal names), not the preset's plan for its own model under them (cp = 2 of the
/// default's, which 16 GPUs cannot take).
#[test]
fn allow_oom_runs_the_least_memory_plan_with_the_fields_given() {
    let args = [
        "simulate",
        "--model",
        "llama3-70b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "16",
        "--tp",
        "8",
        "--pp",
        "2",
        "--global-batch",
        "16",
        "--seq-len",
        "8192",
        "--recompute",
        "none",
    ];
    let refused = memphis(&args);
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr(&refused);
    let named = err
        .split("(the least any needs is ")
        .nth(1)
        .and_then(|r| r.split(" GiB").next())
        .unwrap_or_else(|| panic!("{err}"))
        .to_string();
    let o = memphis(&[&args[..], &["--allow-oom", "--json"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fits"], false);
    assert_eq!(
        (v["plan"]["tp"].as_u64(), v["plan"]["pp"].as_u64()),
        (Some(8), Some(2))
    );
    let gib = v["memory"]["per_gpu_gib"].as_f64().unwrap();
    assert_eq!(format!("{gib:.1}"), named, "{}", v["memory"]);
    assert!(
        stderr(&o).contains("as allowed, the one that needs the least memory runs"),
        "{}",
        stderr(&o)
    );
}

/// A whole plan search where nothing fits is one clear error, as for `--plan auto`.
#[test]
fn a_plan_search_where_nothing_fits_is_an_error() {
    let model = crate::util::repo().join("crates/core/testdata/hf/deepseek-v3.json");
    let model = model.to_str().unwrap();
    let common = [
        "--model",
        model,
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--global-batch",
        "64",
        "--seq-len",
        "4096",
        "-q",
    ];
    for cmd in [&["plan"][..], &["simulate", "--plan", "auto"][..]] {
        let o = memphis(&[cmd, &common[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(
            err.contains("no plan of deepseek-v3 on 64 GPUs")
                && err.contains("fits in the GPU's 79.6 GiB"),
            "{cmd:?}: {err}"
        );
    }
}

#[test]
fn no_plan_fits_names_the_closest_and_its_memory() {
    // Llama 3 70B at TP2 PP2 with micro-batches of 2 on 64 H100s: no plan fits. The
    // error names the plan needing the least memory: more than the GPU has (else it
    // would fit), and no more than the plan --allow-oom runs with those fields needs.
    let args = [
        "simulate",
        "--model",
        "llama3-70b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--tp",
        "2",
        "--pp",
        "2",
        "--cp",
        "1",
        "--micro-batch",
        "2",
    ];
    let o = memphis(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let least: f64 = err
        .split("the least any needs is ")
        .nth(1)
        .and_then(|r| r.split(" GiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no least memory in: {err}"));
    let mut oom = args.to_vec();
    oom.extend(["--allow-oom", "--json"]);
    let v = json(&oom);
    let (run, capacity) = (
        v["memory"]["per_gpu_gib"].as_f64().unwrap(),
        v["memory"]["capacity_gib"].as_f64().unwrap(),
    );
    assert!(
        capacity < least && least <= run,
        "{capacity} < {least} <= {run}"
    );
}

/// A plan that fits with under 5% of the GPU's memory to spare is run, with a warning
/// first that the reserve is an estimate; `reliability` says it too, and one micro-batch
/// less leaves room and no warning.
#[test]
fn a_plan_that_fills_the_gpu_is_warned_of() {
    let hf = crate::util::repo().join("crates/core/testdata/hf/qwen2.5-72b.json");
    let args = |cmd: &str, mb: &str| -> Vec<String> {
        [
            cmd,
            "--cluster",
            "dgx-h200",
            "--model",
            hf.to_str().unwrap(),
            "--gpus",
            "2048",
            "--tp",
            "4",
            "--pp",
            "1",
            "--cp",
            "2",
            "--micro-batch",
            mb,
            "--recompute",
            "none",
            "--seq-len",
            "8192",
            "--global-batch",
            "12288",
            "--json",
        ]
        .map(String::from)
        .to_vec()
    };
    let notes = |cmd: &str, mb: &str| {
        let a = args(cmd, mb);
        let v = json(&a.iter().map(String::as_str).collect::<Vec<_>>());
        v["notes"].as_array().unwrap().clone()
    };
    for cmd in ["simulate", "reliability"] {
        let full = notes(cmd, "3");
        let said = full.iter().filter_map(|n| n.as_str()).any(|n| {
            n.starts_with("warning: TP4 PP1 CP2 EP1 DP256 fills 138.9 GiB of the H200-SXM-141GB's 140.4 GiB (99%)")
        });
        assert!(said, "{cmd}: {full:?}");
        let roomy = notes(cmd, "2");
        assert!(
            roomy
                .iter()
                .all(|n| !n.as_str().unwrap().contains(" fills ")),
            "{cmd}: {roomy:?}"
        );
    }
}
