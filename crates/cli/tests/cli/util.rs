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

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository's validation suites (`validation/`, the repository's copy of
/// `../shared/validation/`).
pub fn validation(file: &str) -> PathBuf {
    let p = repo().join("validation").join(file);
    assert!(p.is_file(), "expected the validation file {}", p.display());
    p
}

/// A fresh path in a per-process temporary folder; a counter keeps tests that run in
/// parallel from sharing files.
pub fn tmp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("memphis-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{n}-{name}"))
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
