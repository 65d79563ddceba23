//! Helpers: run the real `memphis` executable, read its output, temporary paths.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `memphis` in the repository root (so that relative paths in examples work).
pub fn memphis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memphis"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run memphis")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A bad input: exit code 2 and `needle` in the error.
pub fn expect_bad(args: &[&str], needle: &str) {
    let o = memphis(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}");
    assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
}

pub fn json(args: &[&str]) -> serde_json::Value {
    let o = memphis(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// A report's `notes`, as text.
pub fn notes(report: &serde_json::Value) -> Vec<&str> {
    report["notes"]
        .as_array()
        .expect("a notes list")
        .iter()
        .map(|n| n.as_str().expect("a note is text"))
        .collect()
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository's validation suites (`validation/`, the repository's copy of
/// `shared/validation/`).
pub fn validation(file: &str) -> PathBuf {
    let p = repo().join("validation").join(file);
    assert!(p.is_file(), "expected the validation file {}", p.display());
    p
}

/// A fresh path in a per-process folder under Cargo's scratch space for integration
/// tests (`CARGO_TARGET_TMPDIR`, inside `target/`, so `cargo clean` takes it and the
/// system's temporary folder gets nothing); a counter keeps tests that run in parallel
/// from sharing files. The first call removes earlier runs' folders that have not been
/// written for an hour: no live run leaves its folder alone that long.
pub fn tmp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static SWEEP: std::sync::Once = std::sync::Once::new();
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    SWEEP.call_once(|| remove_stale(&root, Duration::from_secs(3600)));
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = root.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{n}-{name}"))
}

/// Removes the folders under `root` last modified more than `age` ago.
fn remove_stale(root: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|d| d > age));
        if old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Runs `memphis`, killing it after `limit` (work that must be bounded must not hang
/// the test suite) and failing the test then.
pub fn memphis_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memphis"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run memphis");
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
