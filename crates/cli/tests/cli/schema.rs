//! `memphis schema`: the JSON Schema of each report, shipped in `schemas/` and kept
//! current (regenerate with `for r in ...; do memphis schema $r > schemas/$r.schema.json`).

use crate::util::{json, repo};
use memphis_core::api::REPORTS;

#[test]
fn shipped_schemas_match_the_binary() {
    for r in REPORTS {
        let now = json(&["schema", r]);
        let path = repo().join("schemas").join(format!("{r}.schema.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let shipped: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            now, shipped,
            "schemas/{r}.schema.json is stale: regenerate it"
        );
    }
}

/// `validate --json` has two shapes (one file, several suites): its schema has both.
#[test]
fn the_validate_schema_has_both_shapes() {
    let s = json(&["schema", "validate"]);
    let shapes = s["anyOf"].as_array().expect("anyOf");
    assert_eq!(shapes.len(), 2, "{s}");
    let text = s.to_string();
    assert!(
        text.contains("\"suites\"") && text.contains("\"summary\""),
        "{text}"
    );
}

/// Every top-level key of a report is described by its schema, and the reverse.
#[test]
fn schemas_describe_the_reports_keys() {
    let cases: &[(&str, &[&str])] = &[
        ("simulate", &["simulate", "--json"]),
        ("reliability", &["reliability", "--json"]),
        ("cluster", &["cluster", "--json"]),
        ("power", &["power", "--window", "1m", "--json"]),
        ("jobs", &["jobs", "examples/jobs/two-jobs.toml", "--json"]),
        ("place", &["place", "examples/jobs/two-jobs.toml", "--json"]),
        (
            "plan",
            &["plan", "dgx-h100-llama3-70b", "--top", "1", "--json"],
        ),
    ];
    for (r, args) in cases {
        let schema = json(&["schema", r]);
        let report = json(args);
        let props = schema["properties"].as_object().unwrap();
        let keys = report.as_object().unwrap();
        for k in keys.keys() {
            assert!(props.contains_key(k), "{r}: key {k} not in the schema");
        }
        for k in schema["required"].as_array().into_iter().flatten() {
            let k = k.as_str().unwrap();
            assert!(
                keys.contains_key(k),
                "{r}: required {k} missing from the report"
            );
        }
    }
}
