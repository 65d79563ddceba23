//! Snapshots of `memphis simulate PRESET --json` for every scenario preset that
//! `memphis presets` lists: the whole report, byte for byte, nothing redacted (the output
//! is deterministic). Files: `snapshots/simulate_PRESET.snap` beside this file.
//!
//! A change to the report shows here as a diff. When it is intended, re-accept:
//!
//! ```sh
//! cargo insta test -p memphis --test cli --accept      # with cargo-insta installed
//! INSTA_UPDATE=always cargo test -p memphis --test cli presets::   # without it
//! ```
//!
//! then review `git diff crates/cli/tests/cli/snapshots/` and commit. Without either,
//! a mismatch fails the test and (outside CI) leaves `*.snap.new` files to compare. In
//! CI (`CI` set, as `.ci/run` does) insta writes nothing and a mismatch or a missing
//! snapshot fails; CI needs only `cargo test`, not cargo-insta.

use crate::util::{memphis, stderr, stdout};

/// The scenario presets, in the order `memphis presets` lists them.
fn scenario_presets() -> Vec<String> {
    let o = memphis(&["presets"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let scenarios = out
        .split("scenarios:")
        .nth(1)
        .expect("a scenarios: section");
    scenarios
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn simulate_json_of_every_preset_matches_its_snapshot() {
    let presets = scenario_presets();
    assert!(presets.len() >= 3, "{presets:?}");
    for name in &presets {
        let o = memphis(&["simulate", name, "--json"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let text = stdout(&o);
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("memphis simulate {name} --json"),
        }, {
            insta::assert_snapshot!(format!("simulate_{name}"), text);
        });
    }
    // No snapshot outlives its preset.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots");
    let mut stale: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| {
            let preset = f.strip_prefix("simulate_")?.strip_suffix(".snap")?;
            (!presets.iter().any(|p| p == preset)).then_some(f)
        })
        .collect();
    stale.sort();
    assert!(
        stale.is_empty(),
        "snapshots of no preset in {}: {stale:?}",
        dir.display()
    );
}
