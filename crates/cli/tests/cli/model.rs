//! `memphis model`: a model as memphis reads it, from a Hugging Face config.json, a TOML
//! model file or a preset.

use crate::util::{expect_bad, json, memphis, repo, stderr, stdout, tmp};

/// A config of the core's test data (copies of `shared/models/`).
fn hf(file: &str) -> String {
    let p = repo().join("crates/core/testdata/hf").join(file);
    assert!(p.is_file(), "{}", p.display());
    p.to_str().unwrap().to_string()
}

#[test]
fn deepseek_v3_as_memphis_reads_it() {
    let path = hf("deepseek-v3.json");
    let v = json(&["model", &path, "--json"]);
    // shared/models/INDEX.md: 671,026,419,200 total ("671B"), 37,552,297,472 active.
    let params = v["params"].as_f64().unwrap();
    let active = v["active_params"].as_f64().unwrap();
    assert!((params / 671.0e9 - 1.0).abs() < 0.005, "{params}");
    assert!((active / 37.55e9 - 1.0).abs() < 0.005, "{active}");
    assert_eq!(
        (
            &v["layers"],
            &v["dense_layers"],
            &v["moe_layers"],
            &v["mtp_layers"]
        ),
        (&61.into(), &3.into(), &58.into(), &1.into())
    );
    let mtp = v["mtp_params"].as_f64().unwrap();
    assert!(mtp > 11e9 && mtp < 12e9, "{mtp}");
    assert_eq!(v["attention"]["kind"], "mla");
    assert_eq!(v["attention"]["mla"]["kv_lora_rank"], 512);
    let moe = &v["mlp"]["moe"];
    assert_eq!(
        (
            &moe["experts"],
            &moe["topk"],
            &moe["expert_ffn"],
            &moe["shared_ffn"]
        ),
        (&256.into(), &8.into(), &2048.into(), &2048.into())
    );
    assert_eq!(v["mlp"]["ffn_hidden"], 18432);
    // Node-limited routing is read: 4 of 8 groups (n_group, topk_group).
    assert_eq!(
        (&moe["groups"], &moe["groups_per_token"]),
        (&8.into(), &4.into())
    );
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("n_group")),
        "{warnings:?}"
    );
    // The text says the same.
    let o = memphis(&["model", &path]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "model deepseek-v3",
        "61: 3 dense + 58 MoE, + 1 MTP",
        "MLA, 128 heads: q rank 1536, kv rank 512",
        "256 routed, top-8 from 4 of 8 groups, 2048 wide, shared 2048 wide",
        "671.03B",
        "active 37.55B",
        "warnings:",
        "topk_method = noaux_tc is not counted",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}

#[test]
fn windows_and_chunks_are_counted_by_layer() {
    let v = json(&["model", &hf("gemma-3-27b-it.json"), "--json"]);
    assert_eq!(
        (&v["windowed_layers"], &v["global_layers"]),
        (&52.into(), &10.into())
    );
    assert_eq!(v["attention"]["window"]["tokens"], 1024);
    let o = memphis(&["model", &hf("llama4-scout-17b-16e.json")]);
    let text = stdout(&o);
    assert!(
        text.contains("48: 48 MoE; 36 windowed + 12 global"),
        "{text}"
    );
    assert!(
        text.contains("attention_chunk_size = 8192 is approximated"),
        "{text}"
    );
}

/// Context parallelism over sliding-window layers says how their exchange is priced
/// (every rank's keys and values), and says nothing without CP or past the window.
#[test]
fn windowed_layers_under_context_parallelism_are_said() {
    let gemma = hf("gemma-3-27b-it.json");
    let run = |cp: &str, seq: &str| {
        let args = [
            "simulate",
            "--model",
            &gemma,
            "--cluster",
            "dgx-h200",
            "--gpus",
            "64",
            "--seq-len",
            seq,
            "--tp",
            "8",
            "--cp",
            cp,
            "--plan",
            "auto",
            "--json",
            "-q",
        ];
        let o = memphis(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["notes"].as_array().unwrap().iter().any(|n| {
            n.as_str().unwrap().contains(
                "with sliding-window attention (52 of the 62 layers, windows of 1,024 tokens)",
            )
        })
    };
    assert!(run("4", "32768"));
    assert!(!run("1", "32768"));
    // A sequence within the window: the windows change nothing.
    assert!(!run("2", "1024"));
}

#[test]
fn hybrids_are_one_clear_error() {
    for (file, needle) in [
        (
            "jamba-1.5-mini.json",
            "model_type = jamba: a hybrid architecture (Mamba",
        ),
        (
            "qwen3.5-27b.json",
            "text_config.layer_types = [48 x linear_attention, 16 x full_attention]: a hybrid",
        ),
    ] {
        let o = memphis(&["model", &hf(file)]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let e = stderr(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(
            e.starts_with("error: ") && e.contains(file) && e.contains(needle),
            "{e}"
        );
        assert!(e.contains("cannot represent"), "{e}");
        assert!(o.stdout.is_empty());
    }
    // The same refusal where the model feeds a simulation.
    expect_bad(
        &["simulate", "--model", &hf("jamba-1.5-mini.json")],
        "model_type = jamba: a hybrid",
    );
}

#[test]
fn toml_model_files_and_presets() {
    let f = tmp("tiny.toml");
    std::fs::write(
        &f,
        "name = \"tiny-moe\"\nlayers = 4\nhidden = 256\nheads = 4\nffn_hidden = 1024\nvocab = 1000\n\
         mlp = \"gated\"\nmoe_experts = 8\nmoe_topk = 2\nmoe_dense_layers = [0]\nwindow = 64\n\
         window_global_layers = [3]\n",
    )
    .unwrap();
    let v = json(&["model", f.to_str().unwrap(), "--json"]);
    assert_eq!(v["name"], "tiny-moe");
    assert_eq!(
        (&v["dense_layers"], &v["moe_layers"]),
        (&1.into(), &3.into())
    );
    assert_eq!(
        (&v["windowed_layers"], &v["global_layers"]),
        (&3.into(), &1.into())
    );
    assert!(v["active_params"].as_f64() < v["params"].as_f64());
    // A bad field is named as in a scenario's [model].
    std::fs::write(
        &f,
        "layers = 4\nhidden = 256\nheads = 3\nffn_hidden = 1024\nvocab = 1000\n",
    )
    .unwrap();
    expect_bad(&["model", f.to_str().unwrap()], "model.heads = 3");
    // A scenario file: its [model] section, or its scenario preset's; none is an error.
    let v = json(&[
        "model",
        "presets/scenarios/dgx-a100-gpt3-175b.toml",
        "--json",
    ]);
    assert_eq!(v["name"], "gpt3-175b");
    std::fs::write(&f, "preset = \"memphis-grok1\"\n").unwrap();
    assert_eq!(
        json(&["model", f.to_str().unwrap(), "--json"])["name"],
        "grok-1"
    );
    std::fs::write(&f, "[cluster]\npreset = \"dgx-h100\"\n").unwrap();
    expect_bad(&["model", f.to_str().unwrap()], "model = none given");
    // A preset, by name, with the description of `memphis presets`.
    let v = json(&["model", "llama3-405b", "--json"]);
    assert_eq!(v["name"], "llama3-405b");
    assert!((v["params"].as_f64().unwrap() / 1e9 - 405.85).abs() < 0.01);
    assert_eq!(v["params"], v["active_params"]);
    assert_eq!(v["mtp_params"], 0.0);
    let text = stdout(&memphis(&["model", "grok-1"]));
    assert!(text.contains("8 routed, top-2"), "{text}");
    expect_bad(
        &["model", "no-such-model"],
        "unknown model preset 'no-such-model'",
    );
}

#[test]
fn json_keys_match_the_schema() {
    let schema = json(&["schema", "model"]);
    let props = schema["properties"].as_object().unwrap();
    for args in [
        vec!["model".to_string(), hf("deepseek-v3.json"), "--json".into()],
        vec!["model".into(), "llama3-8b".into(), "--json".into()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = json(&args);
        let keys = v.as_object().unwrap();
        for k in [
            "params",
            "active_params",
            "mtp_params",
            "warnings",
            "layers",
            "attention",
            "mlp",
        ] {
            assert!(keys.contains_key(k), "{args:?}: no {k}");
        }
        for k in keys.keys() {
            assert!(props.contains_key(k), "{k} not in the schema");
        }
        for k in schema["required"].as_array().unwrap() {
            assert!(
                keys.contains_key(k.as_str().unwrap()),
                "required {k} missing"
            );
        }
    }
}

/// Mixtral 8x7B from its config.json on 64 H100s at TP2 PP2 EP8 ETP1, 64 sequences a
/// step (the sequence length is the caller's).
fn mixtral_on_64_h100(mixtral: &str) -> [&str; 17] {
    [
        "simulate",
        "--model",
        mixtral,
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--tp",
        "2",
        "--pp",
        "2",
        "--ep",
        "8",
        "--etp",
        "1",
        "--global-batch",
        "64",
    ]
}

fn mixtral_config() -> String {
    let path = crate::util::repo().join("crates/core/testdata/hf/mixtral-8x7b.json");
    path.to_str().unwrap().to_string()
}

/// MoE plan flags: expert tensor parallelism and the recipe, spelled as in TOML; the
/// preset's plan was made for its own model, so the planner fills in the fields not
/// given around the ones that are.
#[test]
fn moe_flags_and_inherited_plan_fields() {
    let mixtral = mixtral_config();
    let base = [&mixtral_on_64_h100(&mixtral)[..], &["--seq-len", "4096"]].concat();
    let o = crate::util::memphis(
        &[
            &base[..],
            &["--recompute-modules", "core_attn,moe_act", "--json"],
        ]
        .concat(),
    );
    let err = crate::util::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("the plan of the default scenario ('memphis-405b') was made for llama3-405b; the planner chose")
            && err.contains("around the plan fields you gave"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["plan"]["ep"].as_u64(), v["plan"]["etp"].as_u64()),
        (Some(8), Some(1))
    );
    // An expert tensor parallel size the experts cannot take names etp, not ep.
    let bad = [&base[..13], &["--etp", "3", "--global-batch", "64"]].concat();
    crate::util::expect_bad(&bad, "parallel.etp = 3");
}

/// A sequence longer than the context a config.json says its positions were trained
/// for runs, with a note; the model report shows that context.
#[test]
fn a_sequence_past_the_trained_context_gets_a_note() {
    let mixtral = mixtral_config();
    let v = crate::util::json(&["model", &mixtral, "--json"]);
    assert_eq!(v["attention"]["max_seq_len"], 32768, "{v}");
    let notes = |seq: &str| {
        let extra = ["--seq-len", seq, "--allow-oom", "--json"];
        let args = [&mixtral_on_64_h100(&mixtral)[..], &extra].concat();
        crate::util::json(&args)["notes"].to_string()
    };
    assert!(!notes("32768").contains("max_seq_len"));
    let past = notes("65536");
    assert!(
        past.contains("seq_len = 65536 is longer than") && past.contains("max_seq_len = 32768"),
        "{past}"
    );
}

/// The planner's note names etp among the fields it chose where it chose one other than
/// tp, the default a reader of the flags would assume (helper-125).
#[test]
fn a_chosen_etp_is_named_with_the_fields_the_planner_chose() {
    let mixtral = mixtral_config();
    let run = |etp: &[&str]| {
        let args = [
            &[
                "simulate",
                "--model",
                &mixtral,
                "--cluster",
                "dgx-h200",
                "--gpus",
                "512",
                "--tp",
                "2",
                "--pp",
                "4",
                "--vpp",
                "2",
                "--ep",
                "2",
                "--micro-batch",
                "1",
                "--json",
                "-q",
            ][..],
            etp,
        ]
        .concat();
        json(&args)
    };
    let v = run(&[]);
    let plan = &v["plan"];
    assert_eq!(
        (plan["tp"].as_u64(), plan["etp"].as_u64()),
        (Some(2), Some(1))
    );
    let note = v["notes"][0].as_str().unwrap();
    assert!(
        note.ends_with("(the fields it chose: cp, recompute and etp)"),
        "{note}"
    );
    // Given, it is not the planner's to name.
    let v = run(&["--etp", "1"]);
    let note = v["notes"][0].as_str().unwrap();
    assert!(
        note.ends_with("(the fields it chose: cp and recompute)"),
        "{note}"
    );
}
