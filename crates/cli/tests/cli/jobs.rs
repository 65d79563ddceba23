//! `memphis jobs` and `memphis place`: several jobs on one fabric.

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp};
use std::process::Command;

const TWO: &str = "examples/jobs/two-jobs.toml";
const MIX: &str = "examples/jobs/memphis-mix.toml";

/// The two-job example with another placement for both jobs.
fn two_jobs(placement: &str) -> String {
    let text = std::fs::read_to_string(crate::util::repo().join(TWO)).unwrap();
    let text = text.replace("placement = \"packed\"\nalign = \"array\"", placement);
    let path = tmp("two-jobs.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn two_jobs_packed_in_their_arrays_do_not_slow_each_other() {
    let v = json(&["jobs", TWO, "--routing", "ecmp", "--json"]);
    for j in v["jobs"].as_array().unwrap() {
        assert_eq!(j["arrays"], 1, "{j}");
        assert_eq!(j["slowdown"].as_f64().unwrap(), 0.0, "{j}");
    }
    assert!(v["binding_links"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn two_jobs_scattered_over_the_same_arrays_slow_down_on_named_links() {
    let file = two_jobs("placement = \"scattered\"");
    let v = json(&["jobs", &file, "--routing", "ecmp", "--json"]);
    for j in v["jobs"].as_array().unwrap() {
        assert_eq!(j["arrays"], 2, "{j}");
        assert!(j["slowdown"].as_f64().unwrap() > 0.05, "{j}");
    }
    let links = v["binding_links"].as_array().unwrap();
    assert!(!links.is_empty());
    let l = &links[0];
    assert_eq!(l["tier"], "leaf-spine", "{l}");
    assert!(l["link"].as_str().unwrap().starts_with("leaf "), "{l}");
    assert_eq!(l["jobs"], serde_json::json!(["a", "b"]), "{l}");
    let o = memphis(&["jobs", &file, "--routing", "ecmp"]);
    assert!(
        stdout(&o).contains("shared links that bind"),
        "{}",
        stdout(&o)
    );
    // Adaptive routing spreads the same flows: no slowdown.
    let v = json(&["jobs", &file, "--routing", "adaptive", "--json"]);
    for j in v["jobs"].as_array().unwrap() {
        assert_eq!(j["slowdown"].as_f64().unwrap(), 0.0, "{j}");
    }
}

/// A job alone in a mix is `simulate`'s job: its step and power, and the site's.
#[test]
fn a_job_alone_in_a_mix_draws_what_simulate_says() {
    let job = "[model]\npreset = \"llama3-8b\"\n[parallel]\ntp = 8\npp = 1\ncp = 1\n[training]\nglobal_batch = 256\nseq_len = 4096\n";
    let cluster = "[cluster]\npreset = \"memphis\"\ngpus = 1024\n";
    let mix = tmp("one-job.toml");
    std::fs::write(
        &mix,
        format!(
            "{cluster}[[job]]\nname = \"a\"\ngpus = 512\n{}",
            job.replace('[', "[job.")
        ),
    )
    .unwrap();
    let scenario = tmp("one-job-scenario.toml");
    std::fs::write(&scenario, format!("{cluster}{job}gpus = 512\n")).unwrap();
    let m = json(&["jobs", mix.to_str().unwrap(), "--json"]);
    let s = json(&["simulate", scenario.to_str().unwrap(), "--json"]);
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} against {b}");
    };
    let j = &m["jobs"][0];
    close(&j["step_s"], &s["step"]["time_s"]);
    close(&j["it_mw"], &s["power"]["it_mw"]);
    close(&j["facility_mw"], &s["power"]["facility_mw"]);
    close(&m["site"]["it_mw"], &s["power"]["site"]["it_mw"]);
    close(
        &m["site"]["facility_mw"],
        &s["power"]["site"]["facility_mw"],
    );
    assert_eq!(m["site"]["idle_gpus"], s["power"]["site"]["idle_gpus"]);
    // A second job adds its own draw, less its GPUs' idle power: the site draws more.
    let two = json(&["jobs", TWO, "--json"]);
    let site = two["site"]["facility_mw"].as_f64().unwrap();
    assert!(site > m["site"]["facility_mw"].as_f64().unwrap(), "{site}");
    assert_eq!(two["site"]["idle_gpus"], 0);
}

#[test]
fn place_compares_policies_and_recommends_one_within_the_target() {
    let v = json(&["place", TWO, "--routing", "ecmp", "--json"]);
    let names: Vec<&str> = v["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["as written", "packed", "packed within arrays", "scattered"]
    );
    let scattered = &v["policies"][3];
    assert_eq!(scattered["meets_target"], false, "{scattered}");
    assert_eq!(v["recommended"], "as written");
    assert_eq!(v["target_slowdown"].as_f64().unwrap(), 0.05);
    // A target no policy meets: none recommended, and the text says so.
    let file = two_jobs("placement = \"scattered\"");
    let o = memphis(&[
        "place",
        &file,
        "--routing",
        "ecmp",
        "--target-slowdown",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("recommended: "), "{}", stdout(&o));
}

#[test]
fn place_judges_each_policy_against_a_jobs_fastest_step_alone() {
    // One job: no contention at all, but scattered over half of the cluster under ECMP
    // its own rings meet on leaf-spine links. Against its own placement alone that is
    // 0%; against its fastest step alone under any policy, it is the cost of scattering.
    let path = tmp("one-job.toml");
    std::fs::write(
        &path,
        "[cluster]\npreset = \"memphis\"\ngpus = 8192\n[[job]]\nname = \"frontier\"\ngpus = 4096\n\
         [job.model]\npreset = \"llama3-70b\"\n[job.parallel]\ntp = 8\npp = 4\ncp = 1\n\
         micro_batch = 1\nrecompute = \"selective\"\n[job.training]\nglobal_batch = 1024\nseq_len = 8192\n",
    )
    .unwrap();
    let v = json(&[
        "place",
        path.to_str().unwrap(),
        "--routing",
        "ecmp",
        "--json",
    ]);
    let rows = v["policies"].as_array().unwrap();
    let alone = |p: &serde_json::Value| p["report"]["jobs"][0]["step_alone_s"].as_f64().unwrap();
    let best = rows.iter().map(alone).fold(f64::INFINITY, f64::min);
    assert_eq!(v["frontier_best_alone_s"].as_f64().unwrap(), best);
    for p in rows {
        let step = p["frontier_step_s"].as_f64().unwrap();
        let slowdown = p["frontier_slowdown"].as_f64().unwrap();
        assert!((slowdown - (step / best - 1.0)).abs() < 1e-12, "{p}");
        assert_eq!(p["report"]["jobs"][0]["slowdown"].as_f64().unwrap(), 0.0);
    }
    let scattered = &rows[3];
    assert!(alone(scattered) > 1.05 * best, "{scattered}");
    assert_eq!(scattered["meets_target"], false, "{scattered}");
    assert_eq!(v["recommended"], "as written");
}

#[test]
fn place_refuses_jobs_no_policy_can_fit_together() {
    let text = std::fs::read_to_string(crate::util::repo().join(TWO)).unwrap();
    let path = tmp("too-many-jobs.toml");
    std::fs::write(&path, text.replacen("gpus = 512", "gpus = 1024", 1)).unwrap();
    let out = tmp("never-placed.txt");
    let _ = std::fs::remove_file(&out);
    for cmd in ["jobs", "place"] {
        let o = memphis(&[cmd, path.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("at most the cluster's 128 servers: jobs never share a server"),
            "{cmd}: {}",
            stderr(&o)
        );
        assert!(!out.exists(), "{cmd}");
    }
}

#[test]
fn the_memphis_mix_is_solved_and_placed() {
    let v = json(&["place", MIX, "--json"]);
    assert_eq!(v["frontier"], "frontier");
    assert!(v["recommended"].is_string(), "{}", v["recommended"]);
    let rep = &v["policies"][0]["report"];
    let jobs = rep["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 11);
    assert_eq!(jobs[0]["gpus"], 65_536);
    let gpus: u64 = jobs.iter().map(|j| j["gpus"].as_u64().unwrap()).sum();
    assert_eq!(gpus, 65_536 + 8 * 2_048 + 8_192);
    // Each MoE job's all-to-all is on the fabric.
    for j in &jobs[9..] {
        assert!(j["kinds"].to_string().contains("\"ep\""), "{j}");
    }
}

#[test]
fn busy_is_aligned_where_every_job_has_every_kind_and_says_so() {
    // Two Llama 3 8B jobs have the same kinds: no job is ever quiet for busy to fill.
    let file = two_jobs("placement = \"scattered\"");
    let aligned = json(&["jobs", &file, "--routing", "ecmp", "--json"]);
    let busy = json(&[
        "jobs",
        &file,
        "--routing",
        "ecmp",
        "--overlap",
        "busy",
        "--json",
    ]);
    assert_eq!(aligned["jobs"], busy["jobs"]);
    let said = |v: &serde_json::Value| {
        v["notes"]
            .to_string()
            .contains("busy solved what aligned does")
    };
    assert!(said(&busy), "{}", busy["notes"]);
    assert!(!said(&aligned), "{}", aligned["notes"]);
    // The Memphis mix has kinds some jobs lack (EP, CP): busy fills those rounds, unsaid.
    let mix = json(&["jobs", MIX, "--overlap", "busy", "--json"]);
    assert!(!said(&mix), "{}", mix["notes"]);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let file = two_jobs("placement = \"scattered\"");
    let run = |threads: &str, args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_memphis"))
            .args(args)
            .current_dir(crate::util::repo())
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    for args in [
        &["jobs", MIX, "--overlap", "busy", "--json"][..],
        &["place", &file, "--json"][..],
        // One job at flow level, its ECMP draws solved in parallel.
        &[
            "simulate",
            "--network",
            "flow",
            "--routing",
            "ecmp",
            "--json",
        ][..],
    ] {
        assert_eq!(run("1", args), run("2", args), "{args:?}");
    }
}

#[test]
fn the_html_report_has_the_job_table_and_the_hot_links() {
    let file = two_jobs("placement = \"scattered\"");
    let html = tmp("jobs.html");
    let o = memphis(&[
        "jobs",
        &file,
        "--routing",
        "ecmp",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    for id in [
        "table-jobs",
        "chart-slowdown",
        "chart-hot",
        "table-links",
        "leaf-spine",
    ] {
        assert!(text.contains(id), "{id}");
    }
    let html = tmp("place.html");
    let o = memphis(&["place", TWO, "--html", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("table-policies"));
}

/// A jobs file from its text.
fn file(text: &str) -> String {
    let path = tmp("bad-jobs.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const CLUSTER: &str = "[cluster]\npreset = \"memphis\"\ngpus = 1024\n";

fn job(name: &str, extra: &str) -> String {
    format!("[[job]]\nname = \"{name}\"\npreset = \"dgx-h100-llama3-70b\"\ngpus = 256\n{extra}\n")
}

#[test]
fn bad_jobs_files_are_refused_naming_job_field_and_value() {
    let cases = [
        (
            format!("{CLUSTER}{}{}", job("a", "placement = \"explicit\"\nservers = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]"), job("b", "placement = \"explicit\"\nservers = [31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62]")),
            "job 'b': servers = 31: servers no other job holds (job 'a' lists it)",
        ),
        (format!("{CLUSTER}{}", job("a", "servers = [1]")), "job 'a': servers"),
        (format!("{CLUSTER}{}", job("a", "placement = \"explicit\"\nservers = [1]")), "job 'a': servers = a list of 1: a list of 32 server indices"),
        (format!("{CLUSTER}[[job]]\nname = \"a\"\npreset = \"nope\"\ngpus = 256\n"), "job 'a': scenario preset = nope"),
        (format!("{CLUSTER}[[job]]\nname = \"a\"\npreset = \"dgx-h100-llama3-70b\"\ngpus = 100\n"), "job 'a': gpus = 100: a multiple of 8"),
        (format!("{CLUSTER}[[job]]\nname = \"a\"\npreset = \"dgx-h100-llama3-70b\"\n"), "job 'a': gpus = missing"),
        (format!("{CLUSTER}{}{}", job("a", ""), job("a", "")), "job[1].name = a: a name no other job has"),
        (format!("{CLUSTER}{}", job("a", "colour = \"red\"")), "colour"),
        (format!("{CLUSTER}{}", job("a", "placement = \"diagonal\"")), "diagonal"),
        (format!("{CLUSTER}{}", job("big", "gpus = 2048").replace("gpus = 256\n", "")), "job 'big': gpus = 2048"),
        (CLUSTER.to_string(), "job = 0 jobs: 1 to 256 [[job]] sections"),
        (format!("{CLUSTER}[[job]]\nname = \"\"\npreset = \"dgx-h100-llama3-70b\"\ngpus = 256\n"), "job[0].name = empty: a name for every job"),
        // A plan that does not fit is refused, as `simulate` refuses it.
        (format!("{CLUSTER}[[job]]\nname = \"big\"\ngpus = 64\n[job.model]\npreset = \"llama3-405b\"\n[job.parallel]\ntp = 8\npp = 1\n[job.training]\nglobal_batch = 64\nseq_len = 8192\n"), "job 'big': parallel = TP8 PP1 CP1 EP1 DP8 (352.2 GiB per GPU): a plan that fits in the GPU's 79.6 GiB (H100-SXM5-80GB); this one does not: more pp or tp, recompute = \"full\" in the job's [job.parallel], more GPUs"),
        (format!("{CLUSTER}{}", job("a", "seed = 3")), "job 'a': seed = 3: only with placement = \"scattered\""),
        (format!("{CLUSTER}{}", job("a", "placement = \"scattered\"\nalign = \"rack\"")), "job 'a': align = rack: only with placement = \"packed\""),
        (format!("{CLUSTER}{}", (0..257).map(|i| job(&format!("j{i}"), "")).collect::<String>()), "job = 257 jobs: 1 to 256"),
        (format!("{CLUSTER}{}{}{}{}{}", job("a", ""), job("b", ""), job("c", ""), job("d", ""), job("e", "placement = \"packed\"\nalign = \"array\"")), "the jobs' gpus = 1,280 on 160 servers in all ('a' 256 + 'b' 256 + 'c' 256 + 'd' 256 + 'e' 256): at most the cluster's 128 servers: jobs never share a server"),
    ];
    for (text, needle) in cases {
        let f = file(&text);
        expect_bad(&["jobs", &f], needle);
    }
    expect_bad(&["place", TWO, "--target-slowdown", "lots"], "a percentage");
    expect_bad(&["place", TWO, "--target-slowdown=-5%"], "a percentage");
    // 0.05 could be 5% or 0.05%: the sign decides.
    expect_bad(
        &["place", TWO, "--target-slowdown", "0.05"],
        "'0.05': below 1, a percentage needs its sign: 5% (a fraction of 0.05) or 0.05%",
    );
    expect_bad(&["jobs", "no-such-file.toml"], "no-such-file.toml");
}

/// A server list that is not a list of the job's servers, or that names another list's
/// server, is bad input for `place` as for `jobs`: the file is wrong whatever the policy.
#[test]
fn a_malformed_server_list_is_refused_by_place_too() {
    let list = |name: &str, ids: &str| {
        job(
            name,
            &format!("placement = \"explicit\"\nservers = [{ids}]"),
        )
    };
    let ids = |v: Vec<u32>| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let twice = ids((0..31).chain([30]).collect());
    let past = ids((97..128).chain([128]).collect());
    let (first, overlapping) = (ids((0..32).collect()), ids((31..63).collect()));
    for (text, needle) in [
        (
            list("a", &twice),
            "job 'a': servers = 30: each server once (server 30 is listed twice)",
        ),
        (
            list("a", &past),
            "job 'a': servers = 128: server ids 0 to 127",
        ),
        (
            list("a", &first) + &list("c", &overlapping),
            "job 'c': servers = 31: servers no other job holds (job 'a' lists it)",
        ),
    ] {
        let f = file(&format!("{CLUSTER}{text}{}", job("b", "")));
        expect_bad(&["jobs", &f], needle);
        expect_bad(&["place", &f], needle);
    }
}

/// A jobs file has no flags: its notes say which of the job's fields to set.
#[test]
fn notes_name_the_jobs_file_fields_not_flags() {
    let out = memphis(&["jobs", MIX, "-q"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("in the job's [job.training]"), "{text}");
    assert!(text.contains("(set the job's [job.parallel])"), "{text}");
    assert!(
        !text.contains("--plan auto") && !text.contains("--tokens"),
        "{text}"
    );
}

/// A jobs file's `[cluster]` and `[job.model]` may name files beside it, as a scenario
/// file's sections may: the same answer as the presets they copy.
#[test]
fn a_jobs_file_may_name_model_and_cluster_files() {
    let dir = tmp("jobs-files");
    std::fs::create_dir_all(dir.join("m")).unwrap();
    let repo = crate::util::repo();
    std::fs::copy(
        repo.join("presets/models/llama3-8b.toml"),
        dir.join("m/l8.toml"),
    )
    .unwrap();
    std::fs::write(dir.join("c.toml"), "preset = \"memphis\"\ngpus = 1024\n").unwrap();
    let text = std::fs::read_to_string(repo.join(TWO)).unwrap();
    let files = text
        .replacen(
            "preset = \"memphis\"\ngpus = 1024",
            "preset = \"c.toml\"",
            1,
        )
        .replace("preset = \"llama3-8b\"", "preset = \"m/l8.toml\"");
    assert_ne!(files, text);
    std::fs::write(dir.join("jobs.toml"), files).unwrap();
    let steps = |path: &str| -> Vec<f64> {
        json(&["jobs", path, "--json"])["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["step_s"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(steps(dir.join("jobs.toml").to_str().unwrap()), steps(TWO));
    // A missing model file names its job.
    std::fs::write(
        dir.join("bad.toml"),
        text.replacen("preset = \"llama3-8b\"", "preset = \"nope.json\"", 1),
    )
    .unwrap();
    expect_bad(
        &["jobs", dir.join("bad.toml").to_str().unwrap()],
        "job 'a': model",
    );
}
