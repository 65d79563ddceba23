//! The commands that take a cluster and no job: `cluster`, `fabric-bench`, `collective`.
//! Runs the real `memphis` executable.

use super::util::{json, memphis, stderr, stdout, tmp};

fn write(name: &str, text: &str) -> String {
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A small two-tier cluster, every field given.
const LAB: &str = "name = \"lab\"\ngpu = \"H100-SXM5-80GB\"\ngpus = 1024\ngpus_per_node = 8\n\
                   nodes_per_rack = 4\nracks_per_array = 8\nnic_gbps = 400\nfabric = \"roce\"\ntiers = 2\n";

/// Each command on one cluster: `--cluster` takes it, the JSON names it.
fn all_three(cluster: &str, name: &str, gpus: u64) {
    let v = json(&["cluster", "--cluster", cluster, "--json"]);
    assert_eq!(
        (v["name"].as_str(), v["gpus"].as_u64()),
        (Some(name), Some(gpus))
    );
    let v = json(&[
        "fabric-bench",
        "--cluster",
        cluster,
        "--pattern",
        "ring",
        "--gpus",
        "512",
        "--json",
    ]);
    assert_eq!(v["cluster"], name);
    assert_eq!(v["flows"], 512);
    assert!(v.get("solve_ms").is_none(), "timing only with --timing");
    let v = json(&[
        "collective",
        "all_reduce",
        "--cluster",
        cluster,
        "-g",
        "64",
        "-b",
        "1G",
        "-e",
        "1G",
        "--json",
    ]);
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["size_bytes"], 1u64 << 30);
    let o = memphis(&["collective", "all_reduce", "--cluster", cluster, "-g", "64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let head = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(head.contains(&format!("on 64 GPUs of {name}")), "{head}");
}

#[test]
fn presets_and_files_without_a_job() {
    // dgx-h100 and dgx-a100 are smaller than the default job: these failed on its dp.
    all_three("dgx-h100", "dgx-h100", 10_752);
    all_three("dgx-a100", "dgx-a100", 4_480);
    all_three(&write("lab.toml", LAB), "lab", 1024);
    // A file over a preset; a preset file as shipped.
    all_three(
        &write("small.toml", "preset = \"dgx-h100\"\ngpus = 2048\n"),
        "dgx-h100",
        2048,
    );
    let v = json(&[
        "cluster",
        "--cluster",
        "presets/clusters/dgx-a100.toml",
        "--json",
    ]);
    assert_eq!(v, json(&["cluster", "--cluster", "dgx-a100", "--json"]));
}

#[test]
fn cluster_defaults_to_memphis_and_reads_a_scenarios_cluster() {
    let v = json(&["cluster", "--json"]);
    assert_eq!(
        (v["name"].as_str(), v["gpus"].as_u64()),
        (Some("memphis"), Some(100_000))
    );
    let v = json(&["cluster", "dgx-a100-gpt3-175b", "--json"]);
    assert_eq!(v["name"], "dgx-a100");
    // A scenario whose job does not fit the cluster still has a cluster to describe.
    let s = write(
        "s.toml",
        "preset = \"memphis-405b\"\n[cluster]\npreset = \"dgx-a100\"\n",
    );
    let v = json(&["cluster", &s, "--json"]);
    assert_eq!(v["gpus"], 4480);
    // A cluster preset in the scenario's place, as `memphis cluster dgx-h100` once read.
    assert_eq!(
        json(&["cluster", "dgx-h100", "--json"]),
        json(&["cluster", "--cluster", "dgx-h100", "--json"])
    );
    let o = memphis(&["cluster", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown scenario preset 'nope'"),
        "{}",
        stderr(&o)
    );
    // --cluster wins over the scenario's.
    let v = json(&["cluster", &s, "--cluster", "dgx-h100", "--json"]);
    assert_eq!(v["name"], "dgx-h100");
}

/// Pods that cut across the cluster's arrays (1,024-GPU pods over 576-GPU NVL72 units)
/// are said to, with the field that aligns them; aligned pods are not.
#[test]
fn pods_across_arrays_are_said_to_be() {
    let line = |cluster: &str| {
        let o = memphis(&["cluster", "--cluster", cluster]);
        stdout(&o)
            .lines()
            .find(|l| l.trim_start().starts_with("pods"))
            .unwrap_or_else(|| panic!("{}", stdout(&o)))
            .to_string()
    };
    let nvl72 = line("gb200-nvl72");
    assert!(
        nvl72.contains("cut across the 576-GPU arrays; arrays_per_pod = 1"),
        "{nvl72}"
    );
    let aligned = write(
        "gb200-aligned.toml",
        "preset = \"gb200-nvl72\"\narrays_per_pod = 1\n",
    );
    let pods = line(&aligned);
    assert!(pods.contains("of up to 576 GPUs each"), "{pods}");
    assert!(!pods.contains("cut across"), "{pods}");
    assert!(!line("dgx-h200").contains("cut across"));
}

#[test]
fn output_is_byte_identical_across_runs() {
    let commands: &[&[&str]] = &[
        &["cluster", "--cluster", "dgx-a100", "--json"],
        &["cluster", "--cluster", "dgx-h100"],
        &[
            "fabric-bench",
            "--cluster",
            "dgx-h100",
            "--gpus",
            "8192",
            "--pattern",
            "permutation",
            "--json",
        ],
        &[
            "fabric-bench",
            "--cluster",
            "dgx-a100",
            "--pattern",
            "permutation",
            "--routing",
            "adaptive",
        ],
        &[
            "collective",
            "all_reduce",
            "--cluster",
            "dgx-h100",
            "-g",
            "64",
            "-b",
            "1K",
            "-e",
            "1G",
            "--json",
        ],
        &[
            "collective",
            "all_gather",
            "--cluster",
            "dgx-a100",
            "-g",
            "256",
            "-b",
            "1M",
            "-e",
            "1G",
            "--network",
            "flow",
        ],
    ];
    for args in commands {
        let (a, b) = (memphis(args), memphis(args));
        assert!(a.status.success(), "{args:?}: {}", stderr(&a));
        assert!(!a.stdout.is_empty());
        assert_eq!(a.stdout, b.stdout, "{args:?}");
    }
}

#[test]
fn timing_only_when_asked() {
    let v = json(&[
        "fabric-bench",
        "--cluster",
        "dgx-a100",
        "--pattern",
        "ring",
        "--json",
        "--timing",
    ]);
    assert!(v["solve_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["flows"], 4480);
    let o = memphis(&[
        "fabric-bench",
        "--cluster",
        "dgx-a100",
        "--pattern",
        "ring",
        "--timing",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("solved in"));
}

#[test]
fn bad_cluster_input_is_one_clear_error() {
    let dir = tmp("a-directory.toml");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.to_str().unwrap().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            "colossus".into(),
            "unknown cluster preset 'colossus'; known: memphis, dgx-a100, dgx-h100",
        ),
        (
            "/no/such/cluster.toml".into(),
            "cluster '/no/such/cluster.toml': no such file",
        ),
        (dir, "is a directory"),
        (write("empty.toml", ""), "the file is empty"),
        (
            write("typo.toml", "preset = \"memphis\"\ngpux = 8\n"),
            "unknown key `gpux`",
        ),
        (
            write("zero.toml", "preset = \"dgx-h100\"\ngpus = 0\n"),
            "cluster.gpus = 0",
        ),
        (
            write("nogpu.toml", "gpus = 8\nnic_gbps = 400\n"),
            "cluster.gpu = missing",
        ),
        (
            write("big.toml", "preset = \"memphis\"\ntiers = 2\n"),
            "at most 8192 GPUs",
        ),
        (
            write("nic.toml", "preset = \"memphis\"\nnic_gbps = 0\n"),
            "nic_gbps = 0",
        ),
        (
            write(
                "scenario.toml",
                "preset = \"memphis-405b\"\n[cluster]\ngpus = 64\n",
            ),
            "is a scenario, not a cluster file",
        ),
        (write("syntax.toml", "gpus = [\n"), "line"),
    ];
    for (cluster, needle) in &cases {
        for args in [
            vec!["cluster", "--cluster", cluster.as_str()],
            vec![
                "fabric-bench",
                "--pattern",
                "ring",
                "--cluster",
                cluster.as_str(),
            ],
            vec!["collective", "all_reduce", "--cluster", cluster.as_str()],
        ] {
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
        }
    }
    // Sizes of the question against the cluster.
    for (args, needle) in [
        (
            &[
                "fabric-bench",
                "--cluster",
                "dgx-a100",
                "--pattern",
                "ring",
                "--gpus",
                "4481",
            ][..],
            "--gpus = 4481: from 9 (more than one server's 8: traffic within a server rides NVLink, not the fabric) to the cluster's 4,480 GPUs",
        ),
        (
            &[
                "collective",
                "all_reduce",
                "--cluster",
                "dgx-a100",
                "-g",
                "4481",
            ][..],
            "-g/--gpus = 4481: from 2 to the cluster's 4,480 GPUs",
        ),
        (
            &["collective", "all_reduce", "-b", "1G", "-e", "1K"][..],
            "-e/--maxbytes = 1024",
        ),
        (
            &["collective", "all_reduce", "-f", "1"][..],
            "'1' for '--stepfactor <FACTOR>': 1 is not a whole number of at least 2",
        ),
        (
            &["collective", "all_reduce", "-f", "1.5"][..],
            "1.5 is not a whole number of at least 2 (each size is the last times it",
        ),
    ] {
        let o = memphis(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn every_help_example_runs() {
    let log = write(
        "ar.log",
        "# nThread 1 nGpus 8 minBytes 1048576 maxBytes 1073741824 step: 2(factor)\n\
         \x20    1048576        262144     float     sum      -1    27.37   38.31   67.04      0    27.10   38.69   67.71      0\n\
         \x20 1073741824     268435456     float     sum      -1   4029.4  266.48  466.33      0   4030.1  266.43  466.25      0\n",
    );
    let mut ran = 0;
    for sub in ["cluster", "fabric-bench", "collective"] {
        let help = memphis(&[sub, "--help"]);
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let examples = help.split("Examples:").nth(1).expect("examples");
        for line in examples.lines().map(str::trim) {
            // Lines that are not memphis (nccl-tests making the log) are not ours to run.
            let Some(rest) = line.strip_prefix("memphis ") else {
                continue;
            };
            let command = rest.split(" #").next().unwrap();
            let args: Vec<&str> = command
                .split_whitespace()
                .map(|a| if a == "ar.log" { log.as_str() } else { a })
                .collect();
            let o = memphis(&args);
            assert!(o.status.success(), "`{line}`: {}", stderr(&o));
            assert!(!o.stdout.is_empty(), "`{line}` printed nothing");
            ran += 1;
        }
    }
    assert!(ran >= 12, "{ran} examples");
}

/// InfiniBand presets are built from InfiniBand switches: NDR Quantum-2 (64 x 400G) for
/// dgx-h100, HDR (40 x 200G) for dgx-a100, and at 1:1 every switch has as many uplinks as
/// the links it serves below.
///
/// Hand count for dgx-h100: arrays of 4 x 8 = 32 servers put each rail's 32 GPUs on one
/// leaf of 32 down ports: 42 arrays x 8 rails = 336 leaves, 32 uplinks each = 10,752
/// leaf-spine links; pods of 32 leaves: 11 pods (the last of 16 leaves) x 32 planes; a
/// spine has one uplink per leaf below it: 10 x 32 x 32 + 32 x 16 = 10,752 spine-core
/// links; each of the 32 planes has 10 x 32 + 16 = 336 uplinks on ceil(336 / 64) = 6
/// cores: 192. The last pod's planes use 16 + 16 of a spine's 64 ports, so a switch
/// holds two: 10 x 32 + 16 = 336 spines.
///
/// dgx-a100: 28 arrays of 20 servers, 8 rails: 224 leaves of 20 GPUs (radix 40, 20 down),
/// 4,480 leaf-spine links; 12 pods of 20 leaves (the last of 4) x 20 planes; each plane
/// has 11 x 20 + 4 = 224 uplinks on ceil(224 / 40) = 6 cores (120). The last pod's planes
/// serve 4 leaves but keep one uplink per core of their plane, 6, so that every core
/// reaches every pod: 11 x 20 x 20 + 20 x 6 = 4,520 spine-core links. Those planes use
/// 4 + 6 of a spine's 40 ports, four to a switch: 11 x 20 + 5 = 225 spines.
///
/// dgx-b200 is NVIDIA's 64-SU DGX B200 SuperPOD: 512 leaf, 512 spine and 256 core
/// switches, cables per tier = GPUs (facts.md §11).
#[test]
fn infiniband_presets_use_infiniband_switches() {
    let h = crate::util::json(&["cluster", "--cluster", "dgx-h100", "--json"]);
    assert_eq!(h["switch_radix"], 64);
    assert_eq!(h["switches_by_tier"], serde_json::json!([336, 336, 192]));
    assert_eq!(h["links_by_tier"], serde_json::json!([10752, 10752, 10752]));
    let a = crate::util::json(&["cluster", "--cluster", "dgx-a100", "--json"]);
    assert_eq!(a["switch_radix"], 40);
    assert_eq!(a["switches_by_tier"], serde_json::json!([224, 225, 120]));
    assert_eq!(a["links_by_tier"], serde_json::json!([4480, 4480, 4520]));
    let b = crate::util::json(&["cluster", "--cluster", "dgx-b200", "--json"]);
    assert_eq!(b["switches_by_tier"], serde_json::json!([512, 512, 256]));
    assert_eq!(b["links_by_tier"], serde_json::json!([16384, 16384, 16384]));
    // Ethernet keeps the SN5600: 128 x 400G.
    let m = crate::util::json(&["cluster", "--json"]);
    assert_eq!(m["switch_radix"], 128);
}

/// A GB200 NVL72 rack is one 72-GPU NVLink domain: the default model runs there with its
/// TP inside the rack, and the planner keeps TP and EP inside it too.
#[test]
fn gb200_nvl72_runs_the_default_model_in_its_nvlink_domain() {
    let r = crate::util::json(&["simulate", "--cluster", "gb200-nvl72", "--json"]);
    assert_eq!(r["cluster"]["gpus_per_node"], 72);
    assert!(r["memory"]["fits"].as_bool().unwrap(), "{}", r["memory"]);
    let tp = r["plan"]["tp"].as_u64().unwrap();
    assert!(72 % tp == 0, "TP {tp} inside the rack");
    let p = crate::util::json(&[
        "simulate",
        "memphis-grok1",
        "--cluster",
        "gb200-nvl72",
        "--plan",
        "auto",
        "--json",
    ]);
    let (tp, ep) = (
        p["plan"]["tp"].as_u64().unwrap(),
        p["plan"]["ep"].as_u64().unwrap(),
    );
    assert!(tp * ep <= 72, "TP {tp} x EP {ep} inside the rack");
}

/// A GB200 cluster written without the preset draws what the preset's racks draw
/// besides their GPUs: the host power is the GPU's systems', not an HGX server's.
#[test]
fn a_gb200_cluster_of_its_own_has_the_racks_host_power() {
    let own = write(
        "gb200-own.toml",
        "gpu = \"GB200\"\ngpus = 9216\ngpus_per_node = 72\nnodes_per_rack = 1\nracks_per_array = 8\nnic_gbps = 400\nfabric = \"infiniband\"\ntiers = 3\nrail_optimized = false\n",
    );
    let hosts = |args: &[&str]| {
        let r = json(args);
        r["power"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str().unwrap().starts_with("hosts"))
            .unwrap()["mw"]
            .as_f64()
            .unwrap()
    };
    let base = ["--gpus", "144", "--json", "-q"];
    let preset = hosts(&[&["simulate", "--cluster", "gb200-nvl72"][..], &base].concat());
    let written = hosts(&[&["simulate", "--cluster", own.as_str()][..], &base].concat());
    // Two racks at 30.9 kW each.
    assert!((preset - 0.0618).abs() < 1e-9, "{preset}");
    assert!((written - preset).abs() < 1e-9, "{written} vs {preset}");
}

/// meta-24k is Meta's Llama 3 cluster as facts.md §4 describes it: 8 pods of 3,072 GPUs,
/// non-blocking inside, 1:7 between them; under ECMP a job across pods steps slower than
/// under adaptive routing.
#[test]
fn meta_24k_has_its_pods_and_their_oversubscription() {
    let c = json(&["cluster", "--cluster", "meta-24k", "--json"]);
    assert_eq!(
        (c["gpus"].as_u64(), c["arrays"].as_u64()),
        (Some(24576), Some(8))
    );
    let built = c["oversubscription_built"].as_array().unwrap();
    assert!((built[0].as_f64().unwrap() - 1.0).abs() < 0.01, "{built:?}");
    // 48 leaves a pod over 7 uplinks a spine: 6.86.
    assert!((built[1].as_f64().unwrap() - 7.0).abs() < 0.2, "{built:?}");
    // The 1:7 tier joins the 3,072-GPU pods, not blocks of as many leaves as a spine
    // takes: an all-to-all inside one pod runs at line rate; across two, half of each
    // GPU's traffic shares a seventh of its pod's injection.
    let slowest = |gpus: &str| {
        let b = json(&[
            "fabric-bench",
            "--cluster",
            "meta-24k",
            "--pattern",
            "all-to-all",
            "--routing",
            "adaptive",
            "--gpus",
            gpus,
            "--json",
        ]);
        // Each GPU's flows on the fabric: to every GPU of another server.
        let per_gpu = b["flows"].as_f64().unwrap() / gpus.parse::<f64>().unwrap();
        b["min_rate_fraction"].as_f64().unwrap() * per_gpu
    };
    assert!((slowest("3072") - 1.0).abs() < 1e-6);
    let across = slowest("6144");
    assert!((across - 2.0 / 7.0).abs() < 0.01, "{across}");
    let step = |routing: &str| {
        json(&[
            "simulate",
            "--cluster",
            "meta-24k",
            "--gpus",
            "8192",
            "--global-batch",
            "2048",
            "--seq-len",
            "8192",
            "--network",
            "flow",
            "--routing",
            routing,
            "--json",
        ])["step"]["time_s"]
            .as_f64()
            .unwrap()
    };
    assert!(step("ecmp") > step("adaptive"));
}

#[test]
fn a_tier_the_size_does_not_need_is_said_not_built_in_the_header() {
    let c = write(
        "two-tiers.toml",
        "gpu = \"A100-SXM4-80GB\"\ngpus = 512\ngpus_per_node = 8\nnic_gbps = 200\nfabric = \"roce\"\nswitch_radix = 64\n",
    );
    let o = memphis(&["cluster", "--cluster", &c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("fabric: RoCE 2-tier as built (tiers = 3) rail-optimized fat-tree")
            && out.contains("core   switches         0"),
        "{out}"
    );
}

/// A plain (not rail-optimized) leaf takes whole servers, so a 4:1 fabric is built 4:1
/// and a ring crossing its leaves runs at line rate (helper-124: a last leaf of one
/// server with two uplinks ran every ring through it at a quarter); a ratio the ports
/// cannot give is said as built.
#[test]
fn plain_leaves_take_whole_servers_and_a_ratio_off_is_said() {
    let plain = "gpu = \"H100-SXM5-80GB\"\ngpus = 2048\ngpus_per_node = 8\nnic_gbps = 400\n\
                 fabric = \"infiniband\"\ntiers = 2\nswitch_radix = 64\nrail_optimized = false\n";
    let four = write(
        "plain-4to1.toml",
        &format!("{plain}oversubscription = [4]\n"),
    );
    let v = json(&["cluster", "--cluster", &four, "--json"]);
    assert_eq!(v["oversubscription_built"][0].as_f64(), Some(4.0), "{v}");
    assert_eq!(v["switches_by_tier"][0].as_u64(), Some(43), "{v}");
    let o = memphis(&["cluster", "--cluster", &four]);
    assert!(!stderr(&o).contains("is built as"), "{}", stderr(&o));
    let o = memphis(&[
        "fabric-bench",
        "--cluster",
        &four,
        "--pattern",
        "ring",
        "-g",
        "2048",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("min 1.000"), "{}", stdout(&o));
    let steep = write(
        "plain-64to1.toml",
        &format!("{plain}oversubscription = [64]\n"),
    );
    let o = memphis(&["cluster", "--cluster", &steep]);
    assert!(
        stderr(&o).contains("the leaf tier's 64:1 is built as 55.35:1"),
        "{}",
        stderr(&o)
    );
}

/// A cluster's site fields (grid, turbines, water) are checked by every command that
/// reads the cluster, as `simulate` checks them, not only by those that use them.
#[test]
fn every_command_refuses_the_site_fields_simulate_refuses() {
    for (field, needle) in [
        (
            "turbine_share = 2",
            "cluster.turbine_share = 2: a fraction from 0 to 1",
        ),
        ("grid_gco2_per_kwh = -5", "cluster.grid_gco2_per_kwh = -5"),
        ("wue_site_l_per_kwh = -1", "cluster.wue_site_l_per_kwh = -1"),
    ] {
        let c = write("site_fields.toml", &format!("{LAB}{field}\n"));
        for args in [
            vec!["cluster", "--cluster", &c],
            vec!["collective", "all_reduce", "--cluster", &c, "-g", "16"],
            vec![
                "fabric-bench",
                "--cluster",
                &c,
                "--pattern",
                "ring",
                "--gpus",
                "64",
            ],
            vec!["simulate", "--cluster", &c],
        ] {
            super::util::expect_bad(&args, needle);
        }
    }
}
