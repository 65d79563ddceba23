//! Files and the process: outputs written safely (devices and FIFOs written through,
//! planted symlinks never followed, modes kept, nothing written when a path is bad,
//! nothing left behind on SIGTERM), inputs read with a limit (no FIFO, no device, no
//! oversized file), byte order marks and real Hugging Face configs accepted, exit codes.
//!
//! The tests run as root here and in CI (device nodes need it); where a test needs root
//! and is not, it says so and returns.

use crate::util::{memphis, memphis_within, stderr, stdout, tmp};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh empty directory.
fn fresh_dir(name: &str) -> PathBuf {
    let d = tmp(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Whether the tests run as root (device nodes and chown need it). CI runs as root: a
/// CI run that is not fails here instead of skipping.
fn is_root() -> bool {
    let o = Command::new("id").arg("-u").output().expect("id -u");
    let root = String::from_utf8_lossy(&o.stdout).trim() == "0";
    assert!(
        root || std::env::var_os("CI").is_none(),
        "CI must run these tests as root"
    );
    root
}

fn sh(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().expect(cmd);
    assert!(o.status.success(), "{cmd} {args:?}: {}", stderr(&o));
}

fn assert_refused(o: &Output, args: &[&str], needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?} wrote to stdout");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in {err}");
    }
}

#[test]
fn a_device_node_given_as_output_stays_a_device() {
    if !is_root() {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let d = fresh_dir("devnode");
    let node = d.join("null");
    // A copy of /dev/null: character device 1:3.
    sh("mknod", &[node.to_str().unwrap(), "c", "1", "3"]);
    let n = node.to_str().unwrap();
    for args in [
        &["simulate", "-o", n][..],
        &["simulate", "--json", "--trace", n, "--html", n, "-o", n],
        &["validate", "--suite", "collectives", "-o", n],
    ] {
        let o = memphis(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let m = std::fs::symlink_metadata(&node).unwrap();
        assert!(m.file_type().is_char_device(), "{args:?} replaced the node");
        assert_eq!(m.rdev(), std::fs::metadata("/dev/null").unwrap().rdev());
    }
    assert_eq!(names(&d), ["null"], "temporary files left");
}

#[test]
fn symlinks_planted_at_temporary_names_are_not_written_through() {
    let d = fresh_dir("planted");
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    // The names the old writer used (`.NAME.tmp-PID`) for the next PIDs, and names in
    // the new pattern: a link at any of them must not be followed.
    let last_pid: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(std::process::id());
    let mut planted = Vec::new();
    for name in ["out.json", "t.json"] {
        for pid in last_pid..last_pid + 300 {
            planted.push(d.join(format!(".{name}.tmp-{pid}")));
        }
        for i in 0..50u64 {
            let guess = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            planted.push(d.join(format!(".{name}.{guess:016x}.tmp")));
        }
        planted.push(d.join(format!(".{name}.tmp")));
        planted.push(d.join(format!("{name}.tmp")));
    }
    for p in &planted {
        std::os::unix::fs::symlink(&victim, p).unwrap();
    }
    let out = d.join("out.json");
    let trace = d.join("t.json");
    let o = memphis(&[
        "simulate",
        "--json",
        "-o",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for p in &planted {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert!(m.file_type().is_symlink(), "{} was replaced", p.display());
    }
    for p in [&out, &trace] {
        let m = std::fs::symlink_metadata(p).unwrap();
        assert!(m.file_type().is_file() && m.len() > 100, "{}", p.display());
    }
    assert_eq!(
        names(&d).len(),
        planted.len() + 3,
        "temporary files left: {:?}",
        names(&d)
    );
}

#[test]
fn a_replaced_file_keeps_its_mode_and_symlinks_are_followed() {
    let d = fresh_dir("modes");
    let secret = d.join("secret.json");
    std::fs::write(&secret, "old").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = memphis(&["simulate", "--json", "-o", secret.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = std::fs::metadata(&secret).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600, "the mode changed");
    assert!(std::fs::read_to_string(&secret)
        .unwrap()
        .contains("\"scenario\""));
    // A link to a file: the file is replaced where it is, the link stays a link.
    let real = d.join("run5.txt");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = d.join("latest.txt");
    std::os::unix::fs::symlink("run5.txt", &link).unwrap();
    let o = memphis(&["simulate", "-o", link.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .starts_with("memphis"));
    assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o7777, 0o640);
    // A link to nothing is refused: it would create a file wherever it points.
    let dangling = d.join("dangling.json");
    std::os::unix::fs::symlink(d.join("elsewhere.json"), &dangling).unwrap();
    let args = ["simulate", "-o", dangling.to_str().unwrap()];
    assert_refused(&memphis(&args), &args, &["symbolic link to a missing file"]);
    assert!(!d.join("elsewhere.json").exists());
    assert_eq!(
        names(&d),
        ["dangling.json", "latest.txt", "run5.txt", "secret.json"]
    );
}

/// In a sticky world-writable directory such as /tmp, a link owned by someone else is
/// the classic trap for root: not followed (the kernel's `protected_symlinks` rule).
#[test]
fn a_link_planted_by_another_user_in_a_shared_directory_is_not_followed() {
    if !is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    let d = fresh_dir("sticky");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = d.join("report.txt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    sh("chown", &["-h", "65534:65534", link.to_str().unwrap()]);
    let args = ["simulate", "-o", link.to_str().unwrap()];
    assert_refused(
        &memphis(&args),
        &args,
        &["owned by another user", "not followed"],
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // The same link owned by root (the user running) is followed.
    sh("chown", &["-h", "0:0", link.to_str().unwrap()]);
    let o = memphis(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&victim)
        .unwrap()
        .starts_with("memphis"));
}

#[test]
fn a_bad_output_path_means_no_output_at_all() {
    let d = fresh_dir("nothing");
    let a = d.join("a.json");
    let b = d.join("b.html");
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    let file = d.join("file");
    std::fs::write(&file, "x").unwrap();
    let under_file = format!("{}/x", file.to_str().unwrap());
    let table: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["simulate", "--trace", a_s, "--html", b_s, "-o", "/nodir/x"],
            "directory '/nodir' does not exist",
        ),
        (
            vec!["simulate", "--trace", a_s, "--html", "/nodir/b.html"],
            "--html '/nodir/b.html'",
        ),
        (
            vec!["simulate", "--trace", a_s, "-o", d.to_str().unwrap()],
            "is a directory",
        ),
        (
            vec!["simulate", "--trace", a_s, "--html", a_s],
            "the same file as --trace",
        ),
        (
            vec!["simulate", "--trace", a_s, "-o", &under_file],
            "is not a directory",
        ),
        (
            vec!["simulate", "--trace", a_s, "--html", "-"],
            "stdout already carries the report",
        ),
        // The search is never started: refused at once.
        (
            vec!["plan", "--top", "3", "--out", "/nodir/p.json"],
            "--out '/nodir/p.json'",
        ),
        (vec!["validate", "-o", "/nodir/v.txt"], "-o '/nodir/v.txt'"),
    ];
    for (args, needle) in &table {
        let t0 = Instant::now();
        let o = memphis_within(args, Duration::from_secs(10));
        assert_refused(&o, args, &[needle]);
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            t0.elapsed()
        );
        assert_eq!(names(&d), ["file"], "{args:?} left files");
    }
}

#[test]
fn a_block_device_is_not_an_output() {
    if !is_root() {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let d = fresh_dir("blockdev");
    // A node for loop0: refused before anything opens it.
    let node = d.join("disk");
    sh("mknod", &[node.to_str().unwrap(), "b", "7", "0"]);
    let trace = d.join("t.json");
    let args = [
        "simulate",
        "--trace",
        trace.to_str().unwrap(),
        "-o",
        node.to_str().unwrap(),
    ];
    assert_refused(&memphis(&args), &args, &["is a block device"]);
    assert_eq!(names(&d), ["disk"]);
}

#[test]
fn outputs_that_cannot_be_written_exit_1() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        &["simulate", "-o", "/dev/full"][..],
        &["simulate", "--json", "--html", "/dev/full"],
    ] {
        let o = memphis(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        // stdout comes last: a report there means every file was written.
        assert!(o.stdout.is_empty(), "{args:?}: {}", stdout(&o));
    }
    for args in [&["--help"][..], &["simulate", "--help"], &["simulate"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_memphis"))
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?} > /dev/full");
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        // No -o was given: the error names stdout, not a flag.
        if args == ["simulate"] {
            assert!(
                stderr(&o).starts_with("error: stdout: cannot write"),
                "{}",
                stderr(&o)
            );
        }
    }
    // A reader that goes away early is not an error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_memphis"))
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_fifo_output_is_written_through() {
    let d = fresh_dir("fifo-out");
    let fifo = d.join("report");
    sh("mkfifo", &[fifo.to_str().unwrap()]);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = memphis_within(
        &["simulate", "-o", fifo.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(reader.join().unwrap().starts_with("memphis · memphis-405b"));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(names(&d), ["report"]);
}

/// SIGTERM while an output is staged: the run blocks opening a FIFO (`-o`, which waits
/// for a reader) after the trace went to its temporary file, so the moment is certain.
#[test]
fn sigterm_during_the_write_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let d = fresh_dir("sigterm");
    let fifo = d.join("report");
    sh("mkfifo", &[fifo.to_str().unwrap()]);
    let trace = d.join("t.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_memphis"))
        .args([
            "simulate",
            "--trace",
            trace.to_str().unwrap(),
            "-o",
            fifo.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let staged = loop {
        let tmp: Vec<String> = names(&d)
            .into_iter()
            .filter(|n| n.starts_with(".t.json.") && n.ends_with(".tmp"))
            .collect();
        if !tmp.is_empty() {
            break tmp;
        }
        if t0.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("no temporary file appeared: {:?}", names(&d));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(staged.len(), 1, "{staged:?}");
    sh("kill", &["-TERM", &child.id().to_string()]);
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t1.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert_eq!(names(&d), ["report"], "left behind");
}

#[test]
fn special_files_are_refused_as_inputs_at_once() {
    let d = fresh_dir("special-in");
    let fifo = d.join("fifo");
    sh("mkfifo", &[fifo.to_str().unwrap()]);
    let f = fifo.to_str().unwrap();
    let table: &[(&[&str], &str)] = &[
        (&["simulate", "/dev/zero"], "a character device"),
        (&["simulate", f], "a FIFO"),
        (&["simulate", "--model", "/dev/zero"], "a character device"),
        (&["simulate", "--model", f], "a FIFO"),
        (&["cluster", "--cluster", f], "a FIFO"),
        (
            &["collective", "all_reduce", "--compare", "/dev/zero"],
            "a character device",
        ),
        (&["collective", "all_reduce", "--compare", f], "a FIFO"),
        (&["plan", "--merge", "/dev/zero"], "a character device"),
        (&["plan", "--merge", f], "a FIFO"),
        (&["validate", "--cases", "/dev/zero"], "a character device"),
        (&["validate", "--cases", f], "a FIFO"),
    ];
    for (args, kind) in table {
        let t0 = Instant::now();
        let o = memphis_within(args, Duration::from_secs(10));
        assert_refused(&o, args, &[kind, "not a regular file"]);
        assert!(t0.elapsed() < Duration::from_secs(5), "{args:?} was slow");
    }
}

#[test]
fn an_oversized_input_is_refused_with_the_limit() {
    // Sparse files: the size is what counts. 70 MiB for every kind of input; 9 MiB for
    // the configurations (TOML, config.json), whose limit is lower.
    let sparse = |name: &str, mib: u64| {
        let p = tmp(name);
        std::fs::File::create(&p)
            .unwrap()
            .set_len(mib << 20)
            .unwrap();
        p.to_str().unwrap().to_string()
    };
    let (big, nine) = (sparse("big.toml", 70), sparse("nine.toml", 9));
    let table: Vec<(Vec<&str>, [&str; 2])> = vec![
        (vec!["simulate", &big], ["70.0 MiB", "limit of 8 MiB"]),
        (vec!["simulate", &nine], ["9.0 MiB", "limit of 8 MiB"]),
        (
            vec!["simulate", "--model", &nine],
            ["9.0 MiB", "limit of 8 MiB"],
        ),
        (
            vec!["cluster", "--cluster", &nine],
            ["9.0 MiB", "limit of 8 MiB"],
        ),
        (
            vec!["validate", "--cases", &nine],
            ["9.0 MiB", "limit of 8 MiB"],
        ),
        (
            vec!["collective", "all_reduce", "--compare", &big],
            ["70.0 MiB", "limit of 64 MiB"],
        ),
        (
            vec!["plan", "--merge", &big],
            ["70.0 MiB", "limit of 64 MiB"],
        ),
    ];
    for (args, needles) in &table {
        let o = memphis_within(args, Duration::from_secs(10));
        assert_refused(&o, args, needles);
    }
}

const GPT2_CONFIG: &str = r#"{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_inner": null,
  "n_layer": 12,
  "n_positions": 1024,
  "resid_pdrop": 0.1,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "vocab_size": 50257
}
"#;

#[test]
fn gpt2_and_byte_order_marked_configs_load() {
    let plain = tmp("gpt2-config.json");
    std::fs::write(&plain, GPT2_CONFIG).unwrap();
    let bom = tmp("bom-config.json");
    std::fs::write(&bom, format!("\u{feff}{GPT2_CONFIG}")).unwrap();
    for config in [&plain, &bom] {
        let o = memphis(&[
            "simulate",
            "--model",
            config.to_str().unwrap(),
            "--cluster",
            "dgx-h100",
            "--gpus",
            "8",
            "--tp",
            "1",
            "--pp",
            "1",
            "--cp",
            "1",
            "--global-batch",
            "8",
            "--seq-len",
            "1024",
            "--json",
        ]);
        assert!(o.status.success(), "{}: {}", config.display(), stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let params = v["model"]["params"].as_f64().unwrap();
        // 124M in the transformer and embeddings, 163M with the untied LM head.
        assert!((1.2e8..1.7e8).contains(&params), "{params}");
    }
    // A TOML scenario with a byte order mark.
    let scen = tmp("bom.toml");
    std::fs::write(
        &scen,
        "\u{feff}preset = \"memphis-405b\"\n[parallel]\ntp = 8\n",
    )
    .unwrap();
    let o = memphis(&["simulate", scen.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn error_lines_escape_control_characters_and_cut_long_values() {
    let nasty = "evil\n\u{1b}[2J\u{1b}]0;title\u{7}.toml";
    let o = memphis(&["simulate", &format!("/no/such/{nasty}")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains(r"evil\n\u{1b}[2J"), "{err:?}");
    // A flag value with a newline, through clap.
    let o = memphis(&["simulate", "--tp", "3\nx"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // A huge value: the line stays short.
    let long = "x".repeat(100_000);
    let o = memphis(&["simulate", "--model", &long]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1);
    assert!(err.len() < 1500, "{} bytes", err.len());
    assert!(err.contains('…'));
    let config = tmp("huge-value.json");
    let array = vec!["1"; 200_000].join(", ");
    std::fs::write(
        &config,
        format!(r#"{{"n_embd": [{array}], "n_layer": 2, "n_head": 2, "vocab_size": 8}}"#),
    )
    .unwrap();
    let o = memphis(&["simulate", "--model", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert!(err.len() < 1500, "{} bytes", err.len());
}

/// A name read from a file reaches the report's text too (a config's `_name_or_path`
/// heads `simulate`'s): a colour code, a right-to-left override or a newline in it is
/// escaped there as in error lines, and the report keeps its own lines.
#[test]
fn report_text_escapes_control_characters_from_a_config() {
    let src = crate::util::repo().join("crates/core/testdata/hf/llama3.1-8b.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
    cfg["_name_or_path"] = "evil\u{202e}\u{1b}[31mred\nFAKE LINE".into();
    let file = tmp("nasty-name.json");
    std::fs::write(&file, cfg.to_string()).unwrap();
    let o = memphis(&[
        "simulate",
        "--model",
        file.to_str().unwrap(),
        "--cluster",
        "dgx-h100",
        "--gpus",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(
        out.contains(r"evil\u{202e}\u{1b}[31mred\nFAKE LINE"),
        "{out}"
    );
    // A newline in a name draws no line of its own, in the report or its notes.
    assert!(out.lines().all(|l| !l.starts_with("FAKE LINE")), "{out}");
    assert!(out.lines().count() > 20, "{out}");
}

#[test]
fn a_config_json_where_toml_goes_is_named_as_json() {
    let cfg = crate::util::repo().join("crates/core/testdata/hf/llama3.1-8b.json");
    let cfg = cfg.to_str().unwrap();
    for args in [vec!["simulate", cfg], vec!["simulate", "--cluster", cfg]] {
        let o = memphis(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("this is JSON, not TOML; a Hugging Face config.json is given as the model (--model FILE"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// A file given where another kind goes (a cluster or model file as the scenario, a
/// scenario as --cluster, a jobs file to simulate, ...) is named for what it is, with
/// where it goes, not refused for its first key.
#[test]
fn a_file_of_another_kind_is_named_with_where_it_goes() {
    let d = fresh_dir("other-kind-of-file");
    let write = |name: &str, body: &str| {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cluster = write(
        "c.toml",
        "gpu = \"H200-SXM-141GB\"\ngpus = 64\ngpus_per_node = 8\nnic_gbps = 400\n",
    );
    let model = write(
        "m.toml",
        "layers = 4\nhidden = 512\nheads = 8\nvocab = 1000\nffn_hidden = 2048\n",
    );
    let scen = write("s.toml", "[training]\ngpus = 8\n");
    let jobs = write(
        "j.toml",
        "[cluster]\npreset = \"dgx-h100\"\n[[job]]\nname = \"a\"\ngpus = 8\n",
    );
    let typo = write("t.toml", "[training]\nbogus = 1\n");
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["simulate", &cluster],
            &["is a cluster file, not a scenario", "--cluster"],
        ),
        (
            vec!["cluster", &model],
            &["is a model file, not a scenario", "--model"],
        ),
        (
            vec!["simulate", &jobs],
            &["is a jobs file, not a scenario", "memphis jobs"],
        ),
        (
            vec!["simulate", "--cluster", &scen],
            &["is a scenario, not a cluster file"],
        ),
        (
            vec!["simulate", "--model", &cluster],
            &["is a cluster file, not a model file"],
        ),
        (
            vec!["simulate", "--model", &jobs],
            &["is a jobs file, not a model file"],
        ),
        (
            vec!["jobs", &cluster],
            &["is a cluster file, not a jobs file"],
        ),
        (vec!["place", &scen], &["is a scenario, not a jobs file"]),
        (vec!["simulate", &typo], &["unknown key `bogus`"]),
        (
            vec!["simulate", "llama3-8b"],
            &["'llama3-8b' is a model preset: --model llama3-8b"],
        ),
    ];
    for (args, needles) in cases {
        assert_refused(&memphis(&args), &args, needles);
    }
    // Given where it goes, each runs.
    for args in [
        vec!["cluster", "--cluster", &cluster],
        vec!["model", &model],
    ] {
        let o = memphis(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
}

/// Every command with a report takes `-o FILE`, and writes there what stdout would show.
#[test]
fn every_report_command_writes_to_o() {
    let d = fresh_dir("every-o");
    let out = d.join("out.txt");
    let o_flag = ["-o", out.to_str().unwrap()];
    for args in [
        &["cluster"][..],
        &["model", "llama3-8b", "--json"],
        &["collective", "all_reduce", "-e", "1M"],
        &["reliability", "--gpus", "1024"],
        &["fabric-bench", "--pattern", "all-to-all", "-g", "64"],
    ] {
        let shown = memphis(args);
        assert!(shown.status.success(), "{args:?}: {}", stderr(&shown));
        let written = memphis(&[args, &o_flag[..]].concat());
        assert!(written.status.success(), "{args:?}: {}", stderr(&written));
        assert!(written.stdout.is_empty(), "{args:?} printed with -o");
        assert_eq!(std::fs::read(&out).unwrap(), shown.stdout, "{args:?}");
    }
    assert_eq!(names(&d), ["out.txt"], "temporary files left");
}
