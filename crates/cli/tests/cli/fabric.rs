//! `memphis cluster`, `fabric-bench` and `collective`.

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp};

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
    // At 1:1 every tier carries one link per GPU (uplinks sized by what is attached).
    assert_eq!(v["links"].as_u64().unwrap(), 300_000);
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

/// Where memphis prices another algorithm well below NCCL's pick (NVLS with 24 heads on
/// an NVL72 rack pays a long pipeline fill that the tuner leaves out), the table says so
/// and names the NCCL_ALGO that would choose it; the JSON rows carry the same choice, and
/// on a DGX H100 no size gets such a note.
#[test]
fn collective_names_a_faster_choice_than_the_tuners() {
    let args = [
        "collective",
        "all_gather",
        "--cluster",
        "gb200-nvl72",
        "-g",
        "24",
        "-b",
        "1M",
        "-e",
        "256M",
    ];
    let out = stdout(&memphis(&args));
    let notes: Vec<&str> = out.lines().filter(|l| l.contains("NCCL_ALGO=")).collect();
    assert!(!notes.is_empty(), "{out}");
    assert!(
        notes.iter().all(|l| l.contains("picks nvls Simple")),
        "{out}"
    );
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let v = json(&with_json);
    let faster: Vec<&serde_json::Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["faster_algorithm"].is_null())
        .collect();
    assert!(!faster.is_empty());
    for r in &faster {
        let (t, f) = (
            r["time_us"].as_f64().unwrap(),
            r["faster_time_us"].as_f64().unwrap(),
        );
        assert!(f < 0.8 * t, "{r}");
    }
    // The first note quotes the first such size's two times.
    let (t, f) = (
        faster[0]["time_us"].as_f64().unwrap(),
        faster[0]["faster_time_us"].as_f64().unwrap(),
    );
    assert!(
        notes[0].contains(&format!("({t:.2} against {f:.2} us")),
        "{}",
        notes[0]
    );
    for op in ["all_reduce", "all_gather", "reduce_scatter"] {
        for g in ["8", "16", "64", "512"] {
            let out = stdout(&memphis(&[
                "collective",
                op,
                "-g",
                g,
                "-b",
                "1K",
                "-e",
                "8G",
            ]));
            assert!(!out.contains("NCCL_ALGO="), "{op} -g {g}: {out}");
        }
    }
}

/// The arguments of a 1 GiB all-reduce on the first `gpus` GPUs of `cluster`, at flow
/// level.
fn all_reduce_1g_at_flow_level<'a>(
    cluster: &'a str,
    gpus: &'a str,
    routing: &'a str,
) -> [&'a str; 14] {
    [
        "collective",
        "all_reduce",
        "--cluster",
        cluster,
        "-g",
        gpus,
        "-b",
        "1G",
        "-e",
        "1G",
        "--network",
        "flow",
        "--routing",
        routing,
    ]
}

/// The header line of `collective --network flow` that gives each pattern's derating.
fn contention_line(out: &str) -> String {
    out.lines()
        .find(|l| l.contains("fabric contention"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string()
}

/// At flow level a ring and NCCL's double binary tree cross the fabric differently. The
/// tree's edges join servers a power of two apart, so few cross a pod's spines, and each
/// GPU's NIC already shares its rate among its tree links: across Meta's two 1:7 pods
/// ECMP collides the ring's flows more than the tree's, and adaptive routing neither.
/// The tuner's pick (NVLS-tree) stays the fastest; it is priced at the tree's rate.
#[test]
fn at_flow_level_rings_and_trees_meet_the_fabric_apart() {
    let run = |routing: &str| {
        let args = all_reduce_1g_at_flow_level("meta-24k", "6144", routing);
        let out = stdout(&memphis(&args));
        let header = contention_line(&out);
        let fraction = |what: &str| -> f64 {
            let at = header.find(what).unwrap_or_else(|| panic!("{header}")) + what.len();
            header[at..]
                .split([' ', ','])
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let row = json(&with_json)[0].clone();
        (fraction("ring "), fraction("tree "), row, out)
    };
    let (ring, tree, row, out) = run("ecmp");
    assert!(ring < 0.6 && tree > ring && tree < 1.0, "{out}");
    assert!(out.contains("the mean over 8 ECMP hash draws"), "{out}");
    assert_eq!(row["algorithm"], "nvls_tree", "{row}");
    assert!(row.get("faster_algorithm").is_none(), "{row}");
    let (ring, tree, adaptive, out) = run("adaptive");
    assert_eq!((ring, tree), (1.0, 1.0), "{out}");
    // ECMP costs the tree its share: slower than adaptive, but far from the ring's.
    let (e, a) = (
        row["busbw_gbps"].as_f64().unwrap(),
        adaptive["busbw_gbps"].as_f64().unwrap(),
    );
    assert!(e < a && e > 0.7 * a, "ecmp {e} vs adaptive {a}");
}

#[test]
fn collective_at_flow_level_on_100k_gpus_shows_ecmp_collisions() {
    let run = |routing: &str| {
        contention_line(&stdout(&memphis(&all_reduce_1g_at_flow_level(
            "memphis", "100000", routing,
        ))))
    };
    // Hash collisions slow the ring across the core tier; spraying does not.
    let (ecmp, adaptive) = (run("ecmp"), run("adaptive"));
    assert!(ecmp.contains("ring 0."), "{ecmp}");
    assert!(adaptive.contains("ring 1.000, tree 1.000"), "{adaptive}");
}

/// A cluster whose last server is partly built (4,100 GPUs: 512 servers of 8 and one of
/// 4, as `cluster` builds it) runs a collective on all its GPUs, and the last server
/// holds as many ranks as it has GPUs.
#[test]
fn a_collective_runs_on_a_partly_built_last_server() {
    let c = tmp("g4100.toml");
    std::fs::write(
        &c,
        "gpu = \"H100-SXM5-80GB\"\ngpus = 4100\nnic_gbps = 400\nfabric = \"infiniband\"\n",
    )
    .unwrap();
    let c = c.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec![
            "collective",
            "all_reduce",
            "--cluster",
            c,
            "-b",
            "1M",
            "-e",
            "1M",
        ];
        a.extend_from_slice(extra);
        memphis(&a)
    };
    assert!(run(&["-g", "4100"]).status.success());
    assert!(run(&["-g", "2052", "--per-server", "4"]).status.success());
    // At flow level too: the partly built server's GPUs send their all-to-all from
    // their own NICs where it has no GPU on the destination's rail.
    for op in ["all_to_all", "all_reduce"] {
        for routing in ["ecmp", "adaptive"] {
            let o = memphis(&[
                "collective",
                op,
                "--cluster",
                c,
                "-g",
                "4099",
                "-b",
                "1M",
                "-e",
                "1M",
                "--network",
                "flow",
                "--routing",
                routing,
            ]);
            assert!(o.status.success(), "{op} {routing}: {}", stderr(&o));
        }
    }
    let o = run(&["-g", "2053", "--per-server", "4"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("-g/--gpus = 2053: from 2 to 2,052: 4 a server (--per-server) on the cluster's 513 servers"),
        "{}",
        stderr(&o)
    );
    expect_bad(
        &["collective", "all_reduce", "--cluster", c, "-g", "4101"],
        "-g/--gpus = 4101: from 2 to the cluster's 4,100 GPUs",
    );
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
    // A log of 8 ranks is not compared with 16.
    let o = memphis(&[
        "collective",
        "all_reduce",
        "--compare",
        log.to_str().unwrap(),
        "-g",
        "16",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("-g/--gpus = 16: 8, the ranks of the nccl-tests log"),
        "{}",
        stderr(&o)
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

/// A contention the header reports but that sets no row's time is said so: two NVL72
/// racks under ECMP derate the NICs to 0.22, yet NVLink binds their all-reduce, which
/// the analytical model prices the same. Where the fabric does slow a size (Meta's 1:7
/// pods under ECMP), nothing is said.
#[test]
fn contention_that_binds_no_size_is_said_not_to() {
    let run =
        |cluster: &str, gpus: &str| memphis(&all_reduce_1g_at_flow_level(cluster, gpus, "ecmp"));
    let says = "the fabric's contention slows none of these sizes";
    let nvl = run("gb200-nvl72", "144");
    assert!(contention_line(&stdout(&nvl)).contains("ring 0.2"));
    assert!(stderr(&nvl).contains(says), "{}", stderr(&nvl));
    let meta = run("meta-24k", "6144");
    assert!(!stderr(&meta).contains(says), "{}", stderr(&meta));
}
