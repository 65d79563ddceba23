//! Hardening: bad inputs get one clear error, output is deterministic, help and
//! completions.

use crate::util::{json, memphis, stderr, stdout, tmp, validation};
use std::path::Path;

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
    let no_model = tmp("no_model.toml");
    std::fs::write(
        &no_model,
        "[cluster]\npreset = \"dgx-h100\"\n[training]\ngpus = 8\n",
    )
    .unwrap();
    let no_preset = tmp("no_preset.toml");
    std::fs::write(&no_preset, "[training]\ntokens = 1e12\n").unwrap();
    let enum_number = tmp("enum_number.toml");
    std::fs::write(
        &enum_number,
        "preset = \"memphis-405b\"\n[parallel]\nrecompute = 3\n",
    )
    .unwrap();
    let model_as_value = tmp("model_as_value.toml");
    std::fs::write(
        &model_as_value,
        "preset = \"memphis-405b\"\nmodel = \"x.json\"\n",
    )
    .unwrap();
    let open_array = tmp("open_array.toml");
    std::fs::write(&open_array, "gpus = 8\nnic_gbps = [400\n").unwrap();
    let sharp_roce = tmp("sharp_roce.toml");
    std::fs::write(&sharp_roce, "preset = \"memphis\"\nsharp = true\n").unwrap();
    let two_tier = tmp("two_tier.toml");
    std::fs::write(
        &two_tier,
        "preset = \"dgx-h100\"\ngpus = 1024\ntiers = 2\noversubscription = [3.0, 5.0]\n",
    )
    .unwrap();
    let gemma = crate::util::repo().join("crates/core/testdata/hf/gemma-3-27b-it.json");
    let llama70 = crate::util::repo().join("crates/core/testdata/hf/llama3.1-70b.json");
    let busiest = tmp("busiest.toml");
    let mixtral = crate::util::repo().join("crates/core/testdata/hf/mixtral-8x7b.json");
    std::fs::write(
        &busiest,
        format!(
            "preset = \"memphis-405b\"\n[model]\npreset = {:?}\nmoe_imbalance = 8\n",
            mixtral.to_str().unwrap()
        ),
    )
    .unwrap();
    let cases = validation("training_public.toml");
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
        (
            &["simulate", "--gpus", "1000", "--tp", "8", "--pp", "16"],
            "training.gpus = 1000",
        ),
        // Too many spares for another model: the spares are named, not the preset's
        // plan, which 8,000 GPUs do not divide and the user did not write.
        (
            &[
                "reliability",
                "--cluster",
                "dgx-h100",
                "--model",
                "llama3-8b",
                "--gpus",
                "8000",
                "--spares",
                "4000",
            ],
            "reliability.spare_gpus = 4000 (given as --spares): at most",
        ),
        (&["reliability", "--spares", "-8"], "is not a whole number from 0"),
        (&["simulate", zl], "model.layers = 0"),
        // FP8 on an A100: the cluster is what conflicts, whatever else was given.
        (
            &["simulate", "dgx-h100-llama3-70b", "--cluster", "dgx-a100", "--tp", "8"],
            "cluster.preset = dgx-a100 (given as --cluster): conflicts with training.precision = fp8",
        ),
        // A section given as a value: what a section is, not serde's type name.
        (
            &["simulate", model_as_value.to_str().unwrap()],
            "expected a section of fields (a table, as [model] or [cluster]",
        ),
        // An array left open: the error points past the last line, and says so.
        (
            &["cluster", "--cluster", open_array.to_str().unwrap()],
            "line 3, column 1 (the end of the file): invalid array: expected `]`",
        ),
        // SHARP reduces in InfiniBand switches only.
        (
            &["cluster", "--cluster", sharp_roce.to_str().unwrap()],
            "cluster.sharp = true: true only on an InfiniBand fabric",
        ),
        // Counts and sizes a user mistypes are named with their flag, not by the parser.
        (
            &["collective", "all_reduce", "-b", "-1K"],
            "-b/--minbytes = -1K: a whole number of bytes",
        ),
        (
            &["collective", "all_reduce", "-g", "8.5"],
            "'--gpus <GPUS>': 8.5 is not a whole number (see --help)",
        ),
        (
            &["collective", "all_reduce", "-f", "99999999999999999999"],
            "99999999999999999999 is more than 18,446,744,073,709,551,615 (2^64 - 1)",
        ),
        // A plan field the planner never searches: the fields that make the plan whole
        // (which `simulate` then runs as given) are named.
        (
            &["simulate", "--model", gemma.to_str().unwrap(), "--tp", "16", "--pp", "1", "--cp", "1"],
            "(`simulate` runs a plan you give whole whatever these: give micro_batch and recompute too)",
        ),
        // The dp given against another model's batch kept from the preset: the dp is
        // named first, as for the preset's own model.
        (
            &["simulate", "--model", llama70.to_str().unwrap(), "--dp", "7"],
            "parallel.dp = 7 (given as --dp): conflicts with training.global_batch = 12288 kept from the default scenario",
        ),
        // The busiest of 8 experts at top-2 takes at most every token: 4x the mean.
        (
            &["simulate", busiest.to_str().unwrap()],
            "model.moe_imbalance = 8: a load ratio from 1 (perfectly balanced) to moe_experts / moe_topk = 8 / 2 = 4",
        ),
        // A 2-tier fabric has no tier above its spines for a second ratio.
        (
            &["cluster", "--cluster", two_tier.to_str().unwrap()],
            "cluster.oversubscription = [3, 5]: for 2 tier(s), one ratio",
        ),
        // Sequence parallelism needs the sequence to split over the tp ranks.
        (
            &[
                "simulate",
                "--seq-len",
                "8196",
                "--tp",
                "8",
                "--cp",
                "1",
                "--sequence-parallel",
                "true",
            ],
            "training.seq_len = 8196 (given as --seq-len): a multiple of tp x cp (8 x 1 = 8)",
        ),
        // A u64 flag past TOML's integers is named, not "a value too large".
        (
            &["simulate", "--seed", "9223372036854775808"],
            "reliability.seed = 9223372036854775808 (given as --seed): at most 9,223,372,036,854,775,807 (2^63 - 1)",
        ),
        // Past u64 too, the bound said is the seed's, not u64's.
        (
            &["simulate", "--seed", "18446744073709551616"],
            "18446744073709551616 is more than 9,223,372,036,854,775,807 (2^63 - 1)",
        ),
        // A batch past the bound is refused for that, not for its divisors.
        (
            &[
                "simulate",
                "dgx-h100-llama3-70b",
                "--global-batch",
                "32000000",
            ],
            "training.global_batch = 32000000 (given as --global-batch): at most 16777216",
        ),
        (
            &["simulate", no_model.to_str().unwrap()],
            "model = none given: a model",
        ),
        // A file that names no scenario preset starts from nothing, and says so.
        (
            &["simulate", no_preset.to_str().unwrap()],
            "cluster.gpu = missing: a value (or a cluster preset); a scenario file without `preset` starts from nothing, and `preset = \"memphis-405b\"` starts it from the default",
        ),
        // ... also where the cluster and model come from flags and the planner steps in.
        (
            &["reliability", no_preset.to_str().unwrap(), "--model", "llama3-70b", "--cluster", "dgx-h100", "--gpus", "1536"],
            "training.global_batch = missing: a number of sequences per step; a scenario file without `preset` starts from nothing, and `preset = \"memphis-405b\"` starts it from the default\n",
        ),
        // A field of names given a number is told the names.
        (
            &["simulate", enum_number.to_str().unwrap()],
            "(`recompute = 3`): wanted a string: one of `none`, `selective`, `full`",
        ),
        // A conflict names the value the user gave, not "as given".
        (
            &["simulate", "--pp", "7"],
            "parallel.pp = 7 (given as --pp): conflicts with training.gpus",
        ),
        // A GPU count that the preset's pp and cp, beside the user's tp, do not divide:
        // the error says they are the preset's.
        (
            &["simulate", "--tp", "8", "--gpus", "100"],
            "(pp = 16, cp = 2 from the default scenario ('memphis-405b'): set them, or --plan auto)",
        ),
        // The job's GPUs derived from a dp given, for another model: said in the
        // plan's terms, not as a GPU count the user never gave.
        (
            &["simulate", "--model", "llama3-70b", "--cluster", "dgx-h100", "--tp", "8", "--dp", "64"],
            "parallel.dp = 64 (given as --dp): small enough that tp x pp x cp x dp (16,384) fits the cluster's 10,752 GPUs",
        ),
        // Plan fields whose product the job's GPUs cannot hold: said of the GPUs.
        (
            &["simulate", "--model", "llama3-70b", "--gpus", "256", "--tp", "8", "--dp", "64"],
            "training.gpus = 256 (given as --gpus): a multiple of the plan fields given, tp x dp = 8 x 64 = 512",
        ),
        // A batch the data parallelism the fields settle cannot split: said of the batch.
        (
            &["simulate", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "64", "--global-batch", "100", "--tp", "8", "--pp", "1", "--cp", "1"],
            "training.global_batch = 100 (given as --global-batch): a positive multiple of dp x micro_batch (8 x 1 = 8); dp = gpus / (tp x pp x cp) = 64 / 8",
        ),
        (
            &["plan", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "64", "--global-batch", "96", "--dp", "8", "--micro-batch", "5"],
            "training.global_batch = 96 (given as --global-batch): a positive multiple of dp x micro_batch (8 x 5 = 40)",
        ),
        // ... but a dp that cannot divide the GPUs is named for that first.
        (
            &["plan", "--model", "llama3-8b", "--cluster", "dgx-h100", "--gpus", "64", "--global-batch", "512", "--dp", "3"],
            "parallel.dp = 3 (given as --dp): 3 does not divide the job's 64 GPUs",
        ),
        // For another model the preset's plan is not filled in around a field the
        // planner does not search: the planner says why.
        (
            &["simulate", "--model", "deepseek-v3", "--tp", "16", "--gpus", "256"],
            "parallel.tp = 16 (given as --tp): the planner keeps tp within a server (8 GPUs); one of 1, 2, 4, 8 for the planner",
        ),
        // A field the planner would search but for another field: that one is named.
        (
            &["simulate", "--model", "llama3-70b", "--cluster", "dgx-h100", "--gpus", "256", "--tp", "8", "--pp", "4", "--global-batch", "64", "--seq-len", "8191", "--sequence-parallel", "true"],
            "parallel.tp = 8 (given as --tp): sequence parallelism needs seq_len (8191) to be a multiple of tp x cp (8): another seq_len, or sequence_parallel = false (--sequence-parallel false); one of 1 for the planner, the values it searches for this model, job and batch\n",
        ),
        // ... also beside a recompute count, which no plan's chunk is then measured for.
        (
            &["simulate", "--model", "llama3-70b", "--cluster", "dgx-h100", "--gpus", "256", "--tp", "4", "--pp", "4", "--vpp", "5", "--dp", "16", "--micro-batch", "1", "--global-batch", "512", "--seq-len", "8190", "--recompute", "full", "--recompute-layers", "2", "--sequence-parallel", "true"],
            "parallel.tp = 4 (given as --tp): sequence parallelism needs seq_len (8190)",
        ),
        (
            &["simulate", "--model", "llama3-70b", "--cluster", "dgx-h100", "--gpus", "1024", "--tp", "8", "--pp", "4", "--global-batch", "1024", "--micro-batch", "3"],
            "parallel.micro_batch = 3 (given as --micro-batch): a micro-batch divides the batch per replica (global_batch / dp): another global_batch, or another micro_batch; one of",
        ),
        // A GPU count no plan splits, against a batch the user did not write: the
        // planner's reason, said as a reason.
        (
            &["simulate", "--model", "llama3-70b", "--cluster", "dgx-h100", "--gpus", "1001"],
            "training.gpus = 1001 (given as --gpus): conflicts with training.global_batch = 12288 kept from the default scenario ('memphis-405b'): no plan exists: ",
        ),
        // An etp no plan can fold the experts into: the rule, not only the planner's scope.
        (
            &["simulate", "--model", "crates/core/testdata/hf/mixtral-8x7b.json", "--cluster", "dgx-h100", "--gpus", "256", "--ep", "8", "--etp", "7"],
            "parallel.etp = 7 (given as --etp): 7 does not divide tp x cp x dp (the job's 256 GPUs / pp 1 = 256), the ranks expert layers fold into etp x ep x expert-dp; one of",
        ),
        // What the model's shape bounds is named before the GPU count.
        (
            &["simulate", "--pp", "1000"],
            "parallel.pp = 1000 (given as --pp): at most the model's layers (126)",
        ),
        (
            &["simulate", "--model", "grok-1", "--cluster", "dgx-h100", "--gpus", "64", "--ep", "3"],
            "parallel.ep = 3 (given as --ep): a divisor of the model's experts (8)",
        ),
        (
            &["simulate", "--model", "grok-1", "--cluster", "dgx-h100", "--gpus", "64", "--tp", "5"],
            "parallel.tp = 5 (given as --tp): a divisor of the model's attention heads (48)",
        ),
        (&["simulate", "--tp", "3"], "parallel.tp = 3"),
        (&["power", "--window", "0s"], "--window = 0"),
        (
            &["power", "--window", "10m", "--resolution", "11m"],
            "--resolution = 660",
        ),
        (
            &["power", "--window", "1d", "--resolution", "1ms"],
            "2000000 samples",
        ),
        (&["power", "--window", "10x"], "--window"),
        (&["simulate", "--gpu", "Z100"], "cluster.gpu = Z100 (given as --gpu): one of "),
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
    let cases_text = std::fs::read_to_string(validation("training_public.toml")).unwrap();
    let out = tmp("never-written.json");
    let out_s = out.to_str().unwrap().to_string();
    let dir = std::env::temp_dir().to_str().unwrap().to_string();
    let f = |s: &str| s.to_string();
    let table: Vec<(Vec<String>, &str)> = vec![
        (
            vec![f("simulate"), f("--cluster"), f("my-cluster.tom")],
            "cluster 'my-cluster.tom': no such file",
        ),
        // A job past its cluster, for a model the planner plans: the job is named, not
        // the batch its trivial plan would need.
        (
            vec![
                f("simulate"),
                f("--model"),
                f("llama3-8b"),
                f("--cluster"),
                f("dgx-h100"),
                f("--pp"),
                f("2"),
                f("--gpus"),
                f("100000000"),
            ],
            "training.gpus = 100000000 (given as --gpus): an integer from 1 to the cluster's 10,752 GPUs",
        ),
        // One switch tier has no uplinks: a ratio for them is refused, not ignored.
        (
            vec![
                f("cluster"),
                f("--cluster"),
                file(
                    "one-tier.toml",
                    b"gpu = \"H100-SXM5-80GB\"\ngpus = 64\nnic_gbps = 400\ntiers = 1\noversubscription = [3, 1]\n",
                ),
            ],
            "cluster.oversubscription = [3, 1]: for 1 tier, [1] or left out",
        ),
        // No plan at 1,001 GPUs: the count suggested is the one whose dp takes the batch.
        (
            vec![
                f("plan"),
                f("--model"),
                f("llama3-8b"),
                f("--cluster"),
                f("dgx-h100"),
                f("--gpus"),
                f("1001"),
                f("--global-batch"),
                f("1000"),
            ],
            "(1001 = 7 x 11 x 13: tp and cp are powers of two, so the odd factor 1001 has to go to pp or dp; a power of two or three times one, or a tp x dp whose dp divides the batch, avoids it: 1000, say)",
        ),
        // Widths each in bounds whose product is not: refused, not a count saturated.
        (
            vec![
                f("model"),
                file(
                    "huge-model.toml",
                    b"name = \"huge\"\nlayers = 100000\nhidden = 16777216\nheads = 128\nkv_heads = 8\nffn_hidden = 16777216\nvocab = 1000000\nmlp = \"gated\"\n",
                ),
            ],
            "model.layers = 100000: at most 6 at these widths: the model would have 1.443e20 parameters, past 2^53",
        ),
        // The least interval is rounded up, so the figure printed passes when typed.
        (
            vec![
                f("reliability"),
                scen(
                    "ck-short.toml",
                    "[reliability]\nstorage_write_tbps = 0.5\ncheckpoint_interval_min = 0.1",
                ),
            ],
            "reliability.checkpoint_interval_min = 0.1: at least 0.28 min: one checkpoint must land",
        ),
        (
            vec![f("power"), f("--window"), f("-5m")],
            "--window = -300 s (-5 min): a duration from 1 ms to 7 d",
        ),
        (
            vec![f("simulate"), f("--tp"), f("-4")],
            "'-4' for '--tp <TP>': -4 is not a whole number of at least 1",
        ),
        (
            vec![f("plan"), f("--global-batch"), f("0")],
            "0 is not a whole number of at least 1",
        ),
        (
            vec![f("plan"), f("--tp"), f("-1")],
            "'-1' for '--tp <TP>': -1 is not a whole number of at least 1",
        ),
        (
            vec![f("plan"), f("--top"), f("-1")],
            "'-1' for '--top <TOP>': -1 is not a whole number of at least 1",
        ),
        (
            // The file's cluster size, not the --gpus given beside it (training.gpus).
            vec![
                f("simulate"),
                f("--model"),
                f("llama3-8b"),
                f("--gpus"),
                f("64"),
                f("--cluster"),
                file(
                    "small-fabric.toml",
                    b"gpu = \"H100-SXM5-80GB\"\ngpus = 2048\nnic_gbps = 400\ntiers = 2\nswitch_radix = 40\n",
                ),
            ],
            "error: cluster.gpus = 2048: at most 800 GPUs",
        ),
        (
            vec![
                f("simulate"),
                file(
                    "config-key.toml",
                    b"[model]\nconfig = \"llama3.1-70b.json\"\n",
                ),
            ],
            "unknown key `config`: a file (a config.json, a TOML) is named by `preset",
        ),
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
            "training.tokens = -1e12 (given as --tokens)",
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
            "cluster.gpus = 1e12",
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
            vec![
                f("simulate"),
                scen(
                    "m19.toml",
                    "[model]\npreset = \"llama3-8b\"\nmax_seq_len = 0",
                ),
            ],
            "model.max_seq_len = 0",
        ),
        (
            vec![
                f("simulate"),
                scen(
                    "m20.toml",
                    "[model]\npreset = \"deepseek-v3\"\nmoe_groups = 7",
                ),
            ],
            "model.moe_groups = 7",
        ),
        (
            vec![f("simulate"), f("--tokens"), f("0.5")],
            "training.tokens = 0.5",
        ),
        (
            vec![f("simulate"), f("--gpus"), f("1000"), f("--pp"), f("16")],
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
            "'0' for '--seq-len <SEQ_LEN>': 0 is not a whole number of at least 1",
        ),
        (
            vec![f("simulate"), f("--micro-batch"), f("0")],
            "'0' for '--micro-batch <MICRO_BATCH>': 0 is not a whole number of at least 1",
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
            "cluster.gpu = Z100 (given as --gpu): one of ",
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
            "expected a whole number, not negative",
        ),
        (
            vec![
                f("validate"),
                f("--cases"),
                file(
                    "c-miss.toml",
                    cases_text.replacen("hidden = 6144\n", "", 1).as_bytes(),
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
            "-g/--gpus = 0: from 9 (more than one server's 8: traffic within a server rides NVLink, not the fabric) to the cluster's 100,000 GPUs",
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
        // A bad token count where the planner replaces a plan the user did not write:
        // the count is named, not the batch that plan's dp would need.
        (
            vec![
                f("simulate"),
                f("--gpus"),
                f("4096"),
                f("--global-batch"),
                f("1000"),
                f("--tokens"),
                f("0"),
            ],
            "training.tokens = 0 (given as --tokens): a number of tokens from 1 to 1e18",
        ),
        (
            vec![
                f("simulate"),
                scen("slow-storage.toml", "[reliability]\nstorage_write_tbps = 2e6"),
            ],
            "reliability.storage_write_tbps = 2000000: a bandwidth in terabytes per second, above 0, at most 1e6",
        ),
        (
            vec![
                f("reliability"),
                scen("repair.toml", "[reliability]\nrepair_hours = -1"),
            ],
            "reliability.repair_hours = -1: a number of hours from 0 to 1e6",
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

/// Every command, run twice, prints the same bytes: wall times and memory go to stderr.
#[test]
fn every_command_is_deterministic() {
    let cases = validation("training_public.toml");
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
        vec!["validate", "--json"],
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
        vec!["power", "--window", "2m", "--failure-at", "1m", "--json"],
        vec!["plan", "dgx-h100-llama3-70b", "--top", "3", "--json"],
        vec!["presets"],
        vec![
            "model",
            "crates/core/testdata/hf/deepseek-v3.json",
            "--json",
        ],
        vec!["completions", "bash"],
    ];
    for args in &commands {
        let a = memphis(args);
        let b = memphis(args);
        assert!(a.status.success(), "{args:?}: {}", stderr(&a));
        assert_eq!(a.stdout, b.stdout, "{args:?}");
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
        "power",
        "presets",
        "model",
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

/// The inputs that once ran for minutes or hours (issue "Hardening, round two"): each
/// ends within 30 s, with a result or one clear refusal, and writes no file when refused.
/// Each takes a few seconds alone; the bound leaves room for the test binary's other
/// threads on a 2-core machine while still catching a run of minutes.
#[test]
fn once_unbounded_inputs_end_quickly() {
    use crate::util::memphis_within;
    use std::time::Duration;
    let scen = |name: &str, text: &str| {
        let p = tmp(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ck = scen(
        "ck.toml",
        "preset = \"memphis-405b\"\n[reliability]\ncheckpoint_interval_min = 1e-9\n",
    );
    let tokens = scen(
        "tokens.toml",
        "preset = \"dgx-h100-llama3-70b\"\n[model]\npreset = \"llama3-8b\"\n[training]\ntokens = 1e18\n",
    );
    let trials = scen(
        "trials.toml",
        "preset = \"memphis-405b\"\n[reliability]\ntrials = 100000\n",
    );
    let trace = tmp("big-trace.json");
    let trace = trace.to_str().unwrap();
    let table: &[(&[&str], Option<&str>)] = &[
        // A step as long as the job's MTBF: a warning, not a Monte Carlo going backwards.
        (
            &["simulate", "--global-batch", "6144000"],
            Some("warning: failures take"),
        ),
        (&["reliability", "--checkpoint-interval-min", "0.001"], None),
        (&["simulate", &ck], None),
        (&["simulate", &tokens], Some("warning: the run takes")),
        (&["simulate", &trials], None),
        (
            &[
                "simulate",
                "--gpus",
                "4096",
                "--vpp",
                "3",
                "--global-batch",
                "666656",
            ],
            Some("error: parallel.vpp"),
        ),
        (
            &["simulate", "--slow-gpu", "0", "--slowdown", "99.9999999"],
            Some("error: --slowdown"),
        ),
        (
            &["simulate", "--global-batch", "3145728", "--trace", trace],
            Some("error: --trace"),
        ),
        (
            &[
                "plan",
                "memphis-grok1",
                "--global-batch",
                "6291456",
                "--top",
                "1",
            ],
            None,
        ),
    ];
    for (args, needle) in table {
        let o = memphis_within(args, Duration::from_secs(30));
        let code = o.status.code();
        assert!(
            matches!(code, Some(0) | Some(2)),
            "{args:?}: {code:?} {}",
            stderr(&o)
        );
        if let Some(n) = needle {
            assert!(stderr(&o).contains(n), "{args:?}: {}", stderr(&o));
        }
    }
    assert!(
        !std::path::Path::new(trace).exists(),
        "a refused trace left a file"
    );
}

/// An output that names one of the run's inputs is refused, and the input is left as it
/// was.
#[test]
fn no_output_replaces_an_input() {
    let scenario = tmp("own_input.toml");
    let text = "preset = \"dgx-h100-llama3-70b\"\n";
    std::fs::write(&scenario, text).unwrap();
    let s = scenario.to_str().unwrap();
    let out = memphis(&["simulate", s, "-o", s, "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("is the scenario this run read"), "{err}");
    assert_eq!(std::fs::read_to_string(&scenario).unwrap(), text);
}

#[test]
fn a_batch_past_its_bound_is_refused_before_any_plan_search() {
    // 2^62 sequences is a multiple of every power-of-two plan: were it searched, the
    // planner would walk its divisors for minutes. It is refused at once, by its bound,
    // whether the preset's plan or the planner's would take it.
    let huge = (1u64 << 62).to_string();
    for args in [
        vec!["simulate", "dgx-h100-llama3-70b", "--global-batch", &huge],
        vec![
            "simulate",
            "--model",
            "llama3-8b",
            "--cluster",
            "dgx-h100",
            "--global-batch",
            &huge,
        ],
        vec!["plan", "--global-batch", &huge],
    ] {
        let o = crate::util::memphis_within(&args, std::time::Duration::from_secs(10));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("at most 16777216 sequences per step"),
            "{args:?}: {err}"
        );
    }
}

/// Papers write the precision in capitals: `--precision BF16` runs as `bf16`.
#[test]
fn precision_flag_takes_any_case() {
    let j = crate::util::json(&["simulate", "--precision", "BF16", "--json", "-q"]);
    assert_eq!(j["plan"]["precision"], "bf16", "{}", j["plan"]);
}

/// Every flag that takes one of a list of words takes it in any case, as `--precision`
/// always has (`BF16` as papers write it): `--fp8-recipe MXFP8` had been refused.
#[test]
fn choice_flags_take_any_case() {
    let run = |args: &[&str]| {
        let v = json(&[&["simulate", "--json"], args].concat());
        v["step"]["time_s"].as_f64().unwrap()
    };
    let upper = run(&[
        "--precision",
        "FP8",
        "--fp8-recipe",
        "TENSORWISE",
        "--main-grads",
        "FP32",
        "--recompute",
        "Full",
        "--step-model",
        "Analytical",
        "--dp-overlap",
        "True",
    ]);
    let lower = run(&[
        "--precision",
        "fp8",
        "--fp8-recipe",
        "tensorwise",
        "--main-grads",
        "fp32",
        "--recompute",
        "full",
        "--step-model",
        "analytical",
        "--dp-overlap",
        "true",
    ]);
    assert_eq!(upper, lower);
    let o = memphis(&[
        "collective",
        "ALL_REDUCE",
        "-g",
        "8",
        "-b",
        "1M",
        "-e",
        "1M",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}
