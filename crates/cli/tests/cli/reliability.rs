//! `memphis reliability` and the goodput / power inputs.

use crate::util::{expect_bad, json, memphis, stderr, stdout, tmp};

#[test]
fn reliability_reproduces_the_llama3_interruptions() {
    let v = json(&["reliability", "--gpus", "16384", "--days", "54", "--json"]);
    let n = v["interruptions_unexpected"].as_f64().unwrap();
    assert!((n - 419.0).abs() / 419.0 < 0.15, "{n}");
    assert!(v["ettr"].as_f64().unwrap() > 0.90, "{}", v["ettr"]);
    for k in [
        "job_mtbf_hours",
        "checkpoint_interval_min",
        "intervals",
        "spares",
    ] {
        assert!(!v[k].is_null(), "missing {k}");
    }
    let d = json(&["reliability", "--json"]);
    let mtbf_min = d["job_mtbf_hours"].as_f64().unwrap() * 60.0;
    assert!(
        (10.0..60.0).contains(&mtbf_min),
        "{mtbf_min} min at ~100k GPUs"
    );
    assert!(d["days_p90"].as_f64().unwrap() >= d["days_p50"].as_f64().unwrap());
    // The interval table's row for the headline's interval is the headline's run.
    let chosen = d["checkpoint_interval_min"].as_f64().unwrap();
    let rows = d["intervals"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| (r["checkpoint_interval_min"].as_f64().unwrap() - chosen).abs() < 1e-9 * chosen)
        .expect("the chosen interval is in the table");
    assert_eq!(row["ettr"], d["ettr"]);
    assert_eq!(row["days_p50"], d["days_p50"]);
    // Each row says how busy its checkpoints keep the storage, and which rows pass the
    // 25% share the default scenario allows (its interval is bounded by it).
    // A cycle is the interval's work and the stall.
    let write_s = d["checkpoint_write_s"].as_f64().unwrap();
    let stall_s = d["checkpoint_stall_s"].as_f64().unwrap();
    for r in rows {
        let share = r["storage_share"].as_f64().unwrap();
        let cycle_s = r["checkpoint_interval_min"].as_f64().unwrap() * 60.0 + stall_s;
        assert!((share * cycle_s / write_s - 1.0).abs() < 1e-9, "{r}");
        assert_eq!(
            r["over_storage_share"].as_bool(),
            Some(share > 0.25 + 1e-9),
            "{r}"
        );
    }
    assert!(rows.iter().any(|r| r["over_storage_share"] == true));
    assert_eq!(row["over_storage_share"], false);
    let a = memphis(&["reliability", "--seed", "9", "--json"]);
    let b = memphis(&["reliability", "--seed", "9", "--json"]);
    assert_eq!(a.stdout, b.stdout);
}

/// A synchronous checkpoint stalls for its write, and the storage is busy for that write
/// once a cycle of the interval and the stall; with in-memory checkpoints it stalls only
/// until the shard is in a peer's memory.
#[test]
fn a_synchronous_checkpoint_stalls_until_it_lands() {
    let run = |memory: bool| {
        let f = tmp(&format!("sync-{memory}.toml"));
        std::fs::write(
            &f,
            format!("preset = \"meta-llama3-405b\"\n[reliability]\nasync_checkpoint = false\nstorage_write_tbps = 0.005\nrestore_from_memory = {memory}\n"),
        )
        .unwrap();
        json(&["reliability", f.to_str().unwrap(), "--json"])
    };
    let storage = run(false);
    let (write, stall) = (
        storage["checkpoint_write_s"].as_f64().unwrap(),
        storage["checkpoint_stall_s"].as_f64().unwrap(),
    );
    assert_eq!(write, stall);
    let first = &storage["intervals"][0];
    let interval_s = first["checkpoint_interval_min"].as_f64().unwrap() * 60.0;
    let share = first["storage_share"].as_f64().unwrap();
    assert!(
        (share - write / (interval_s + stall)).abs() < 1e-9,
        "{first}"
    );
    assert!(share < 0.51, "{first}");
    let memory = run(true);
    assert!(
        memory["checkpoint_stall_s"].as_f64().unwrap() < 1.0,
        "{memory}"
    );
    assert!(memory["ettr"].as_f64().unwrap() > storage["ettr"].as_f64().unwrap() + 0.2);
}

/// A checkpoint interval longer than the run takes no checkpoint: said, not refused
/// (the job's MTBF is a month, so the run still keeps most of its time).
#[test]
fn an_interval_longer_than_the_run_is_said_to_take_no_checkpoint() {
    let v = json(&[
        "reliability",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
        "--model",
        "llama3-8b",
        "--tokens",
        "10B",
        "--checkpoint-interval-min",
        "1000h",
        "--json",
    ]);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("reliability.checkpoint_interval_min = 60000: longer than the run's 4.2 h of work, so no checkpoint is taken"),
        "{notes}"
    );
    assert!(v["ettr"].as_f64().unwrap() > 0.9, "{v}");
}

#[test]
fn bad_reliability_and_power_inputs() {
    let table: &[(&[&str], &str)] = &[
        (&["reliability", "--days", "0"], "--days = 0"),
        (&["reliability", "--days", "-3"], "--days = -3"),
        (
            &["reliability", "--spares", "5000"],
            "reliability.spare_gpus = 5000",
        ),
        (
            &["reliability", "--checkpoint-interval-min", "0"],
            "reliability.checkpoint_interval_min = 0",
        ),
    ];
    for (args, needle) in table {
        expect_bad(args, needle);
    }
    for (body, needle) in [
        ("[power]\npue = 0.9", "power.pue = 0.9"),
        (
            "[power]\ngrid_gco2_per_kwh = -5.0",
            "power.grid_gco2_per_kwh = -5",
        ),
        ("[power]\nturbine_share = 1.5", "power.turbine_share = 1.5"),
    ] {
        let p = tmp("power.toml");
        std::fs::write(&p, format!("preset = \"memphis-405b\"\n{body}\n")).unwrap();
        let o = memphis(&["simulate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{body}");
        assert!(stderr(&o).contains(needle), "{body}: {}", stderr(&o));
    }
}

#[test]
fn spares_that_are_no_whole_server_say_so() {
    let o = memphis(&["reliability", "--gpus", "4096", "--spares", "12", "--json"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("spares count in whole servers of 8 GPUs: 12 spare GPUs are 1 server"),
        "{err}"
    );
    // The run, its headline and its table hold the 8 that stand in, not the 12 given.
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["spare_gpus"], 8);
    let rows: Vec<u64> = v["spares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["spare_gpus"].as_u64().unwrap())
        .collect();
    assert!(rows.contains(&8) && !rows.contains(&12), "{rows:?}");
    let o = memphis(&["reliability", "--gpus", "4096", "--spares", "16", "--json"]);
    assert!(!stderr(&o).contains("whole servers"));
    // `simulate` says it too, and a refusal for too few spares says what they count as.
    let p = tmp("spares-12.toml");
    let text =
        "preset = \"memphis-405b\"\n[training]\ngpus = 4096\n[reliability]\nspare_gpus = 12\n";
    std::fs::write(&p, text).unwrap();
    let o = memphis(&["simulate", p.to_str().unwrap()]);
    assert!(
        stderr(&o).contains("12 spare GPUs are 1 server"),
        "{}",
        stderr(&o)
    );
    let o = memphis(&["reliability", "--spares", "7"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "(whole servers of 8 GPUs: 7 spare GPUs are no whole server, so none stands by)"
        ),
        "{}",
        stderr(&o)
    );
    // On an NVL72 rack a failure takes out a host of 4 GPUs, not the 72-GPU domain:
    // the note counts what the reliability model counts.
    let args = [
        "reliability",
        "--cluster",
        "gb200-nvl72",
        "--gpus",
        "8640",
        "--spares",
        "6",
        "--json",
    ];
    let o = memphis(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("spares count in whole hosts of 4 GPUs: 6 spare GPUs are 1 host"),
        "{}",
        stderr(&o)
    );
}

/// A run that barely progresses is refused naming the field behind it: slow storage, a
/// slow restart, not the step.
#[test]
fn a_run_failures_undo_names_what_undoes_it() {
    for (field, value, said) in [
        (
            "storage_write_tbps",
            "1e-30",
            "reliability.storage_write_tbps = 1e-30: storage that writes a checkpoint",
        ),
        (
            "storage_read_tbps",
            "1e-30",
            "reliability.storage_read_tbps = 1e-30: a restart well within the job's MTBF",
        ),
        (
            "warmup_min",
            "900000",
            "reliability.warmup_min = 900000: a restart well within the job's MTBF",
        ),
    ] {
        let p = tmp(&format!("undone-{field}.toml"));
        let text = format!("preset = \"dgx-h100-llama3-70b\"\n[reliability]\n{field} = {value}\n");
        std::fs::write(&p, text).unwrap();
        let o = memphis(&["simulate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{field}");
        assert!(stderr(&o).contains(said), "{field}: {}", stderr(&o));
    }
}

/// A short run with no spare: 9 runs in 10 meet no failure, and the rare one waits days
/// for a repair. The warning says so, the ideal time and the spread share a unit, and a
/// long run's analytic ETTR is said to be a long run's.
#[test]
fn a_short_run_with_rare_long_waits_is_said_as_such() {
    let args = [
        "simulate",
        "dgx-h100-llama3-70b",
        "--gpus",
        "10752",
        "--global-batch",
        "5376",
        "--tokens",
        "5e9",
    ];
    let o = memphis(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {out}"))
            .to_string()
    };
    assert!(out.contains("warning  rare failures take"), "{out}");
    assert!(
        out.contains("9 runs in 10 meet none that stops them"),
        "{out}"
    );
    assert!(
        line("ETTR").contains("(analytic ")
            && line("ETTR").contains(
                ": the steady state, which a run shorter than the job MTBF does not reach)"
            )
    );
    // The ideal time and the p50 in one unit: the same figure.
    let ideal = line("ideal time");
    let ideal: Vec<&str> = ideal.split_whitespace().skip(2).take(2).collect();
    let p50 = format!("failures {} p50", ideal.join(" "));
    assert!(line("with failures").contains(&p50), "{out}");
    assert!(line("with failures").contains("; mean "), "{out}");
}

/// A repair longer than the whole run: the steady state's analytic ETTR has every spare
/// in repair, the run's trials none; the note says which holds.
#[test]
fn a_repair_longer_than_the_run_is_explained() {
    let p = tmp("long-repair.toml");
    let text = "preset = \"dgx-h100-llama3-70b\"\n[training]\ntokens = 1e11\n[reliability]\nrepair_hours = 1e6\n";
    std::fs::write(&p, text).unwrap();
    let o = memphis(&["simulate", p.to_str().unwrap(), "--json"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("a repair of 1000000 h (reliability.repair_hours) outlasts this run"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["reliability"];
    assert!(f["ettr"].as_f64().unwrap() > f["ettr_expected"].as_f64().unwrap() + 0.1);
}

/// A run far shorter than the job's MTBF: the Monte Carlo's few trials draw no failure,
/// and the repair wait a rare one would bring reads as none. Said, with the analytic
/// figure; and the scenario's own notes (the model file's) are in the report.
#[test]
fn rare_costs_the_trials_do_not_draw_are_warned_of() {
    let p = tmp("undersampled.toml");
    let text = "[cluster]\npreset = \"dgx-h200\"\n[model]\npreset = \"llama3-8b\"\n[parallel]\ntp = 1\npp = 1\ncp = 1\n[training]\ngpus = 64\nglobal_batch = 256\nseq_len = 4096\ntokens = 1e9\n[reliability]\nspare_gpus = 3\n";
    std::fs::write(&p, text).unwrap();
    let v = json(&["reliability", p.to_str().unwrap(), "--json"]);
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    let warned = notes
        .iter()
        .find(|n| n.starts_with("warning: the ETTR of 100.0% may leave out rare costs"));
    assert!(warned.is_some(), "{notes:?}");
    // Enough trials draw some of them, and the warning goes.
    let more = text.replace("spare_gpus = 3\n", "spare_gpus = 3\ntrials = 100000\n");
    std::fs::write(&p, more).unwrap();
    let o = memphis(&["reliability", p.to_str().unwrap(), "--json"]);
    assert!(
        !stderr(&o).contains("may leave out rare costs"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["ettr"].as_f64().unwrap() < 0.99, "{}", v["ettr"]);
}

/// A checkpoint holds what the recipe keeps of every trained parameter: DeepSeek-V3's
/// 671B and its 11.6B multi-token-prediction layers, at 10 B each with BF16 moments and
/// 14 B with FP32 ones; `simulate`'s and `reliability`'s size are the same.
#[test]
fn the_checkpoint_follows_the_optimizer_states_and_counts_every_trained_layer() {
    let size = |states: &str| {
        let args = ["deepseek-v3-h800", "--optimizer-states", states, "--json"];
        let r = json(&[&["reliability"][..], &args].concat());
        let s = json(&[&["simulate"][..], &args].concat());
        let tb = r["checkpoint_size_tb"].as_f64().unwrap();
        assert_eq!(
            s["reliability"]["checkpoint_size_tb"].as_f64(),
            Some(tb),
            "{}",
            s["reliability"]
        );
        tb
    };
    let (bf16, fp32) = (size("bf16"), size("fp32"));
    let params = 671.03e9 + 11.61e9;
    assert!(
        (bf16 / (params * 10.0 / 1e12) - 1.0).abs() < 0.01,
        "{bf16} TB"
    );
    assert!(
        (fp32 / (params * 14.0 / 1e12) - 1.0).abs() < 0.01,
        "{fp32} TB"
    );
}

/// A small job's spare rows: its shares (0.1-2 %) round to no whole server, so the
/// table gives 1, 2 and 4 servers before all the cluster leaves free; a large job's
/// rows are its shares alone.
#[test]
fn a_small_jobs_spare_table_steps_by_servers() {
    let spares = |args: &[&str]| -> Vec<u64> {
        let v = json(&[&["reliability", "--json"][..], args].concat());
        v["spares"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["spare_gpus"].as_u64().unwrap())
            .collect()
    };
    let small = spares(&["dgx-h100-llama3-70b", "--gpus", "128", "--plan", "auto"]);
    assert_eq!(small[..4], [0, 8, 16, 32], "{small:?}");
    assert_eq!(spares(&[]), [0, 96, 488, 976, 1696]);
}

/// A synchronous checkpoint has landed when its stall ends: an interval of one step is
/// allowed (the async rule, one landing before the next, does not apply), and the
/// warning names the stall that costs the run, not the step.
#[test]
fn a_synchronous_checkpoint_may_come_every_step() {
    let p = tmp("sync-every-step.toml");
    let text = "preset = \"memphis-405b\"\n[reliability]\nasync_checkpoint = false\nstorage_write_tbps = 0.1\ncheckpoint_interval_min = 0.1\n";
    std::fs::write(&p, text).unwrap();
    let o = memphis(&["reliability", p.to_str().unwrap(), "--json"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("each synchronous checkpoint stalls training 0.9 min"),
        "{err}"
    );
    let async_one = std::fs::read_to_string(&p)
        .unwrap()
        .replace("async_checkpoint = false", "async_checkpoint = true");
    std::fs::write(&p, async_one).unwrap();
    let o = memphis(&["reliability", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("one checkpoint must land"),
        "{}",
        stderr(&o)
    );
}

/// The report's notes and warnings are in its text, as `simulate`'s are: a report written
/// to a file keeps them (spares that are no whole server, failures that take the run).
#[test]
fn a_reliability_report_keeps_its_warnings_in_a_file() {
    let out = tmp("reliability-notes.txt");
    let o = memphis(&[
        "reliability",
        "dgx-h100-llama3-70b",
        "--spares",
        "3",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("reliability · "), "{text}");
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.starts_with("  note     spares count in whole servers")),
        "{text}"
    );
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.starts_with("  warning  failures take")),
        "{text}"
    );
}
