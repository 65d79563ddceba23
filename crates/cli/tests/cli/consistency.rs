//! One question, one answer: every command that answers the same question gives the
//! same figure, on and off the default path.

use crate::util::{json, memphis, stderr, stdout};

/// The scenarios of the issue that asked for this, each as extra arguments.
const SCENARIOS: &[&[&str]] = &[
    &[],
    &["--gpu", "B200"],
    &[
        "--model",
        "llama3-70b",
        "--gpus",
        "16384",
        "--global-batch",
        "2048",
    ],
    &["--model", "llama3-8b"],
    &["dgx-h100-llama3-70b"],
];

fn with<'a>(cmd: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    cmd.iter().chain(extra).copied().collect()
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn plan_and_plan_auto_agree_and_beat_the_preset() {
    for extra in SCENARIOS {
        let plan = json(&with(&["plan", "--top", "1", "--json"], extra));
        let best = &plan["top"][0];
        let auto = json(&with(&["simulate", "--plan", "auto", "--json"], extra));
        let preset = json(&with(&["simulate", "--json"], extra));
        let (p, a, s) = (
            f(&best["step_time_s"]),
            f(&auto["step"]["time_s"]),
            f(&preset["step"]["time_s"]),
        );
        assert_eq!(p, a, "{extra:?}: plan {p} vs --plan auto {a}");
        for k in ["mfu", "mfu_causal"] {
            assert_eq!(best[k], auto["step"][k], "{extra:?}: {k}");
        }
        assert!(
            p <= s,
            "{extra:?}: the planner's {p} s is slower than {s} s"
        );
        assert_eq!(
            f(&best["days_to_train"]),
            f(&auto["run"]["days_p50"]),
            "{extra:?}: plan's days column is what simulate reports for that plan"
        );
        for k in ["tp", "pp", "vpp", "cp", "ep", "dp", "micro_batch"] {
            assert_eq!(best[k], auto["plan"][k], "{extra:?}: {k}");
        }
    }
}

#[test]
fn reliability_and_simulate_give_the_same_days() {
    for extra in [
        &[][..],
        &["dgx-h100-llama3-70b"][..],
        &["--gpus", "16384"][..],
        // The failure flags are every job command's, not reliability's alone.
        &[
            "dgx-h100-llama3-70b",
            "--spares",
            "8",
            "--checkpoint-interval-min",
            "1",
        ][..],
        // So is the planner's plan.
        &["dgx-h100-llama3-70b", "--gpus", "256", "--plan", "auto"][..],
    ] {
        let sim = json(&with(&["simulate", "--json"], extra));
        let rel = json(&with(&["reliability", "--json"], extra));
        assert_eq!(
            sim["reliability"]["spare_gpus"], rel["spare_gpus"],
            "{extra:?}"
        );
        assert_eq!(
            f(&sim["reliability"]["checkpoint_interval_min"]),
            f(&rel["checkpoint_interval_min"]),
            "{extra:?}"
        );
        assert_eq!(
            f(&sim["step"]["time_s"]),
            f(&rel["step_time_s"]),
            "{extra:?}"
        );
        assert_eq!(
            f(&sim["run"]["ideal_days"]),
            f(&rel["ideal_days"]),
            "{extra:?}"
        );
        assert_eq!(f(&sim["run"]["days_p50"]), f(&rel["days_p50"]), "{extra:?}");
        // The run's interruptions, with no --days asked.
        for k in ["interruptions", "planned_interruptions"] {
            assert!(f(&rel[k]) > 0.0, "{k} {extra:?}");
            assert_eq!(f(&sim["reliability"][k]), f(&rel[k]), "{k} {extra:?}");
        }
    }
}

#[test]
fn changing_only_the_model_or_the_cluster_works_and_says_so() {
    for extra in [
        &["--model", "llama3-8b"][..],
        &["--cluster", "dgx-h100"][..],
        &["--cluster", "dgx-a100", "--model", "llama3-70b"][..],
    ] {
        let o = memphis(&with(&["simulate", "--json"], extra));
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["memory"]["fits"], true, "{extra:?}");
        let notes: Vec<&str> = v["notes"]
            .as_array()
            .map(|n| n.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("from the default scenario ('memphis-405b')")
                    && n.contains("tokens")),
            "{extra:?}: {notes:?}"
        );
        // 8B's 32 layers cannot hold the preset's 16 x 4 chunks: the planner steps in.
        if extra.contains(&"llama3-8b") {
            assert!(
                notes.iter().any(|n| n.contains("planner chose")),
                "{extra:?}: {notes:?}"
            );
        }
        if extra.contains(&"--cluster") {
            assert!(
                notes.iter().any(|n| n.contains("hot spares")),
                "{extra:?}: {notes:?}"
            );
            assert!(v["run"]["spare_gpus"].as_u64().unwrap() > 0, "{extra:?}");
        }
        assert!(
            stderr(&o).contains("note: "),
            "{extra:?}: the note is on stderr too"
        );
    }
    // A plan field the user gave keeps the preset's others where they still hold.
    let v = json(&["simulate", "--pp", "16", "--json"]);
    assert_eq!(
        (v["plan"]["pp"].as_u64(), v["plan"]["vpp"].as_u64()),
        (Some(16), Some(4))
    );
    let default = json(&["simulate", "--json"]);
    assert_eq!(v["step"]["time_s"], default["step"]["time_s"]);
}

#[test]
fn the_job_is_charged_for_its_share_not_the_site() {
    let small = json(&["simulate", "dgx-h100-llama3-70b", "--json"]);
    let big = json(&["simulate", "--json"]);
    assert_eq!(small["run"]["gpus"], 1024);
    let it = f(&small["power"]["it_mw"]);
    assert!(it < 3.0, "a 1,024-GPU job draws {it} MW of IT power");
    assert!(
        f(&small["power"]["site"]["it_mw"]) > it,
        "the site is reported beside it"
    );
    let (a, b) = (
        f(&small["energy"]["j_per_token"]),
        f(&big["energy"]["j_per_token"]),
    );
    assert!(a < 0.5 * b, "70B: {a} J/token, 405B: {b} J/token");
    // Another cluster brings its own grid mix.
    assert_eq!(f(&small["carbon"]["turbine_share"]), 0.0);
    assert_eq!(f(&big["carbon"]["turbine_share"]), 0.25);
}

#[test]
fn interleaving_follows_megatrons_rule() {
    // dp = 98,304 / (8 x 12 x 2) = 512: 4,608 / 512 = 9 micro-batches per pipeline, not a
    // multiple of pp 12, so Megatron would refuse vpp 2; the user wrote the whole plan: refused.
    let o = memphis(&[
        "simulate",
        "--tp",
        "8",
        "--cp",
        "2",
        "--pp",
        "12",
        "--vpp",
        "2",
        "--gpus",
        "98304",
        "--global-batch",
        "4608",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("multiple of pp"), "{}", stderr(&o));
}

#[test]
fn the_timeline_and_the_closed_form_draw_the_same_power() {
    // Exposed EP all-to-all (MoE presets) and TP traffic (A100) are priced into the
    // compute ops of the timeline; the GPUs wait through them at wait power, as the
    // closed form's phases say. Both step models give steps within 0.5% here.
    for preset in ["deepseek-v3-h800", "memphis-grok1", "dgx-a100-gpt3-175b"] {
        let power = |model: &str| {
            let r = json(&["simulate", preset, "--step-model", model, "--json"]);
            f(&r["power"]["it_mw"])
        };
        let (timeline, closed) = (power("timeline"), power("analytical"));
        assert!(
            (timeline / closed - 1.0).abs() < 0.01,
            "{preset}: IT {timeline} MW from the timeline vs {closed} MW from the closed form"
        );
    }
}

/// `memphis collective`'s row for a call `simulate` listed (`u`: its op, ranks, ranks a
/// server and size), on `cluster`.
fn collective_row(u: &serde_json::Value, cluster: &str) -> serde_json::Value {
    let size = (f(&u["size_bytes"]).round() as u64).to_string();
    let (ranks, per) = (u["ranks"].to_string(), u["ranks_per_server"].to_string());
    json(&[
        "collective",
        u["op"].as_str().unwrap(),
        "-g",
        &ranks,
        "--per-server",
        &per,
        "-b",
        &size,
        "-e",
        &size,
        "--cluster",
        cluster,
        "--json",
    ])[0]
        .clone()
}

/// `simulate` lists the collectives its step priced, and `collective` prices each the
/// same, given the same group: a data-parallel group of one GPU a server (TP8), a
/// tensor-parallel group inside one server, a context-parallel pair across servers.
#[test]
fn simulate_lists_the_collectives_collective_prices() {
    // `collective` takes a cluster by name, not a --gpu swapped into it.
    for extra in SCENARIOS.iter().filter(|e| !e.contains(&"--gpu")) {
        let sim = json(&with(&["simulate", "--json"], extra));
        let uses = sim["collectives"].as_array().unwrap();
        assert!(
            uses.iter().any(|u| u["group"] == "dp"),
            "{extra:?}: {uses:?}"
        );
        let cluster = sim["cluster"]["name"].as_str().unwrap().to_string();
        for u in uses.iter().filter(|u| u["op"] != "all_to_all") {
            // These groups fill their servers evenly.
            let (ranks, per) = (f(&u["ranks"]), f(&u["ranks_per_server"]));
            assert_eq!(ranks, f(&u["servers"]) * per, "{extra:?} {u}");
            let row = &collective_row(u, &cluster);
            let (a, b) = (f(&u["time_s"]) * 1e6, f(&row["time_us"]));
            assert!(
                (a / b - 1.0).abs() < 1e-6,
                "{extra:?} {u}: simulate {a} µs, collective {b} µs"
            );
            assert_eq!(u["algorithm"], row["algorithm"], "{extra:?} {u}");
            assert_eq!(u["protocol"], row["protocol"], "{extra:?} {u}");
        }
    }
}

/// A context-parallel ring (the default `cp_comm = "p2p"`) sends blocks; the table lists
/// it as the all-gather it is priced as and says so, and the gather exchange needs no
/// such line.
#[test]
fn the_collectives_table_says_how_a_cp_ring_is_priced() {
    let line = "cp: the ring's sends (cp_comm = \"p2p\"), priced as the all_gather";
    let ring = stdout(&memphis(&["simulate", "-q"]));
    assert!(ring.contains("  cp        all_gather"), "{ring}");
    assert!(ring.contains(line), "{ring}");
    // The data-parallel rows are one bucket each, and say so (the default's DP 384:
    // Megatron's max(40M, 1M x dp) = 384M); without overlap, whole reductions.
    assert!(
        ring.contains("  dp: the largest call: with dp_overlap Megatron reduces (gathers) a stage's buffer in buckets of 384M parameters"),
        "{ring}"
    );
    assert!(
        ring.contains("  dp        reduce_scatter    1.4 GiB"),
        "{ring}"
    );
    let whole = stdout(&memphis(&["simulate", "-q", "--dp-overlap", "false"]));
    assert!(
        whole.contains("  dp: a stage's whole gradient reduction (weight gather) as one call"),
        "{whole}"
    );
    let gather = stdout(&memphis(&["simulate", "-q", "--cp-comm", "all_gather"]));
    assert!(gather.contains("  cp        all_gather"), "{gather}");
    assert!(!gather.contains(line), "{gather}");
}

/// On an NVL72 cluster a job's groups can straddle two racks unevenly. Each row says how
/// it was priced: `ranks_per_server` is the fewest ranks a group has on a server (never
/// more than ranks / servers), the text names it, and a group that splits evenly (the
/// expert all-to-all, 8 and 8) still prices as `collective` does.
#[test]
fn an_uneven_group_is_named_with_its_fewest_ranks_a_server() {
    let model = crate::util::tmp("moe16.toml");
    std::fs::write(
        &model,
        "name = \"moe16\"\nlayers = 4\nhidden = 2048\nheads = 16\nkv_heads = 4\n\
         ffn_hidden = 4096\nvocab = 32000\nmlp = \"gated\"\nmoe_experts = 16\nmoe_topk = 2\n",
    )
    .unwrap();
    let m = model.to_str().unwrap();
    let flags = "--cluster gb200-nvl72 --gpus 128 --tp 2 --pp 1 --cp 1 --ep 16 \
                 --global-batch 256 --seq-len 4096";
    let args: Vec<&str> = ["simulate", "--model", m]
        .into_iter()
        .chain(flags.split_whitespace())
        .collect();
    let sim = json(&with(&args, &["--json"]));
    let uses = sim["collectives"].as_array().unwrap();
    let mut uneven = 0;
    for u in uses {
        let (ranks, servers, per) = (f(&u["ranks"]), f(&u["servers"]), f(&u["ranks_per_server"]));
        assert!(per * servers <= ranks && per >= 1.0, "{u}");
        uneven += usize::from(per * servers < ranks);
    }
    assert!(uneven > 0, "{uses:?}");
    let text = stdout(&memphis(&with(&args, &["-q"])));
    assert!(text.contains("on the fewest"), "{text}");
    assert!(
        text.contains("is priced by its fewest ranks on one"),
        "{text}"
    );
    let ep = uses.iter().find(|u| u["group"] == "ep").unwrap();
    assert_eq!(
        (
            f(&ep["ranks"]),
            f(&ep["servers"]),
            f(&ep["ranks_per_server"])
        ),
        (16.0, 2.0, 8.0)
    );
    let size = (f(&ep["size_bytes"]).round() as u64).to_string();
    let row = &json(&[
        "collective",
        "all_to_all",
        "-g",
        "16",
        "--per-server",
        "8",
        "-b",
        &size,
        "-e",
        &size,
        "--cluster",
        "gb200-nvl72",
        "--json",
    ])[0];
    let (a, b) = (f(&ep["time_s"]) * 1e6, f(&row["time_us"]));
    assert!(
        (a / b - 1.0).abs() < 1e-6,
        "simulate {a} µs, collective {b} µs"
    );
}

/// DeepEP's dispatch is not NCCL's all-to-all: its row says `deepep` and a footnote says
/// what `collective` prices instead; with NCCL's dispatcher the row is `direct` and
/// prices as `collective` does.
#[test]
fn a_deepep_dispatch_is_not_listed_as_nccls_all_to_all() {
    let note = "deepep: DeepEP's dispatch and combine";
    let ep = |args: &[&str]| -> serde_json::Value {
        let v = json(args);
        v["collectives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["group"] == "ep")
            .cloned()
            .unwrap()
    };
    let deepep = ep(&["simulate", "deepseek-v3-h800", "--json"]);
    assert_eq!(deepep["algorithm"], "deepep", "{deepep}");
    let text = stdout(&memphis(&["simulate", "deepseek-v3-h800", "-q"]));
    assert!(text.contains(note), "{text}");
    let args = [
        "simulate",
        "deepseek-v3-h800",
        "--moe-dispatcher",
        "alltoall",
    ];
    let nccl = ep(&[&args[..], &["--json"]].concat());
    assert_eq!(nccl["algorithm"], "direct", "{nccl}");
    assert!(!stdout(&memphis(&[&args[..], &["-q"]].concat())).contains(note));
    let row = &collective_row(&nccl, "h800-2048");
    let (a, b) = (f(&nccl["time_s"]) * 1e6, f(&row["time_us"]));
    assert!(
        (a / b - 1.0).abs() < 1e-6,
        "simulate {a} µs, collective {b} µs"
    );
    assert!(f(&deepep["time_s"]) < f(&nccl["time_s"]), "{deepep} {nccl}");
}
