//! memphis-core: the engine of memphis, a digital twin of AI training superclusters.
//!
//! Data flows one way (see ARCHITECTURE.md at the repository root):
//! [`scenario`] (parse, then validate) -> [`workload`] + [`hardware`] ->
//! [`step`] (using [`compute`] and [`net`]) -> results; [`validate`] compares results
//! with published runs. The core does no I/O and reads no clock.

#![warn(missing_docs)]
#![warn(unnameable_types)]
// Numerical loops over parallel arrays read more plainly with an index.
#![allow(clippy::needless_range_loop)]

pub mod api;
pub mod collective;
pub(crate) mod compute;
pub mod error;
pub mod fabric;
pub(crate) mod hardware;
pub mod hf_config;
pub mod jobs;
pub(crate) mod net;
pub mod plan;
pub(crate) mod power;
pub mod progress;
pub(crate) mod reliability;
pub(crate) mod rng;
pub(crate) mod run;
pub mod scenario;
pub mod step;
pub mod text;
pub mod units;
pub mod validate;
pub(crate) mod workload;

pub use error::{Error, Result};

/// The name serde gives an enum value, as files and JSON spell it (`ecmp`, `mxfp8`,
/// `all-to-all`, `LL128`, ...): what messages quote, so that they match the input.
pub fn serde_name<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

// The public facade: `api` (the entry points and their reports), `scenario` (their
// inputs), and the types those name. The layers below are crate-private; the modules
// still `pub` are used by the binary's renderers, the tests, benches and fuzz targets.
pub use hardware::{Generation, GpuSpec, NicSpec};
pub use power::grid::{Battery, Drops, Line, Shape, Spectrum};
pub use power::series::{Loads, Series};
pub use power::{
    Cooling, GridMix, Part, PowerConfig, PowerReport, ProfileSegment, Share, SitePower,
};
pub use reliability::ReliabilityConfig;
pub use workload::memory::{
    tight_memory_caveat, MemoryBreakdown, RESERVED_GIB, TIGHT_MEMORY_SHARE,
};
pub use workload::model::{
    KindCounts, LayerKind, LayerParams, Mla, MlpPart, Projection, Projections, Split, Window,
};
pub use workload::plan::{
    AttentionKernel, CpComm, CrossEntropy, Dispatcher, Fp8Recipe, GradPrecision, LayerSplit,
    Recipe, RecomputeModule, StatePrecision,
};
pub use workload::{MlpKind, ModelSpec, Moe, ParallelPlan, Precision, Recompute, TrainingRun};

#[cfg(test)]
mod module_graph {
    //! Core's top-level modules form a DAG: no module reaches back into one that uses it.
    //! The graph is read from the sources (every file under each module, so new files
    //! count without being listed): an edge X -> Y is a `crate::Y` path in X's code,
    //! outside comments and `#[cfg(test)]` modules.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    /// Edges tolerated in spite of the rule (none: power takes plain inputs since run.rs
    /// feeds it, which ended the cycle scenario -> power -> step -> scenario).
    const ALLOWED: &[(&str, &str)] = &[];

    type Graph = BTreeMap<String, BTreeSet<String>>;

    /// Names declared by `mod x;` / `pub mod x;` in lib.rs.
    fn modules(lib: &str) -> BTreeSet<String> {
        lib.lines()
            .filter_map(|l| {
                let l = l.trim();
                let l = l
                    .strip_prefix("pub(crate) ")
                    .or_else(|| l.strip_prefix("pub "))
                    .unwrap_or(l);
                l.strip_prefix("mod ")?.strip_suffix(';').map(String::from)
            })
            .collect()
    }

    /// Every .rs file of module `m`, sorted.
    fn files(src: &Path, m: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        let file = src.join(format!("{m}.rs"));
        if file.is_file() {
            out.push(file);
        }
        walk(&src.join(m), &mut out);
        out.sort();
        out
    }

    /// The code of a file without comments and without `#[cfg(test)] mod x { ... }`
    /// (rustfmt puts the closing brace at the module's own indentation).
    fn production_code(text: &str) -> String {
        let mut out = String::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() == "#[cfg(test)]" {
                if let Some(next) = lines.peek() {
                    let t = next.trim_start();
                    if (t.starts_with("mod ") || t.starts_with("pub mod ")) && t.ends_with('{') {
                        let indent = next.len() - t.len();
                        for l in lines.by_ref() {
                            if l.trim() == "}" && l.len() - l.trim_start().len() == indent {
                                break;
                            }
                        }
                        continue;
                    }
                }
            }
            out.push_str(line.split("//").next().unwrap_or(""));
            out.push('\n');
        }
        out
    }

    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    }

    /// Top-level modules named by `crate::x` and `crate::{x, y::z}` paths in `code`.
    fn uses(code: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let Some(group) = rest.strip_prefix('{') else {
                out.insert(ident(rest).to_string());
                continue;
            };
            // Items of a grouped import start after the brace or a comma at depth 1.
            let (mut depth, mut item_start) = (1, true);
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.insert(ident(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn graph() -> Graph {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
        let mods = modules(&lib);
        let mut g = Graph::new();
        for m in &mods {
            let fs = files(&src, m);
            assert!(!fs.is_empty(), "no source files for module {m}");
            let edges = g.entry(m.clone()).or_default();
            for f in fs {
                let text = std::fs::read_to_string(&f).expect("readable source");
                for u in uses(&production_code(&text)) {
                    let allowed = ALLOWED.iter().any(|&(a, b)| a == m && b == u);
                    if &u != m && mods.contains(&u) && !allowed {
                        edges.insert(u);
                    }
                }
            }
        }
        g
    }

    /// A cycle of the graph, if any, as the path of modules around it.
    fn find_cycle(g: &Graph) -> Option<Vec<String>> {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        fn dfs(g: &Graph, n: &str, st: &mut BTreeMap<String, u8>, path: &mut Vec<String>) -> bool {
            st.insert(n.to_string(), 1);
            path.push(n.to_string());
            for m in g.get(n).into_iter().flatten() {
                match st.get(m).copied().unwrap_or(0) {
                    1 => {
                        path.push(m.clone());
                        return true;
                    }
                    0 if dfs(g, m, st, path) => return true,
                    _ => {}
                }
            }
            path.pop();
            st.insert(n.to_string(), 2);
            false
        }
        let mut st = BTreeMap::new();
        for n in g.keys() {
            let mut path = Vec::new();
            if st.get(n).copied().unwrap_or(0) == 0 && dfs(g, n, &mut st, &mut path) {
                let last = path.last().cloned().unwrap_or_default();
                let from = path.iter().position(|p| *p == last).unwrap_or(0);
                return Some(path[from..].to_vec());
            }
        }
        None
    }

    #[test]
    fn top_level_modules_form_a_dag() {
        let g = graph();
        assert!(g.len() >= 10, "modules found: {:?}", g.keys());
        assert!(
            g["step"].contains("compute"),
            "the scanner sees step -> compute"
        );
        if let Some(c) = find_cycle(&g) {
            panic!("module cycle: {}", c.join(" -> "));
        }
        // The entry points are the top layer: nothing below uses them, and power takes
        // plain inputs.
        for (m, uses) in &g {
            assert!(!uses.contains("api"), "{m} uses api");
        }
        for low in ["step", "scenario", "run"] {
            assert!(!g["power"].contains(low), "power uses {low}");
        }
    }

    #[test]
    fn the_scanner_reads_paths_and_skips_comments_and_tests() {
        let code = "use crate::a::B;\nuse crate::{b::C, c::{D, E}, d};\n\
                    // use crate::x;\nfn f() { crate::e::g(); }\n\
                    #[cfg(test)]\nmod tests {\n    use crate::y;\n}\nuse crate::f;\n";
        let got: Vec<String> = uses(&production_code(code)).into_iter().collect();
        assert_eq!(got, ["a", "b", "c", "d", "e", "f"]);
        let mut g = Graph::new();
        g.entry("a".into()).or_default().insert("b".into());
        g.entry("b".into()).or_default().insert("a".into());
        assert_eq!(
            find_cycle(&g),
            Some(vec!["a".into(), "b".into(), "a".into()])
        );
        g.insert("b".into(), Default::default());
        assert_eq!(find_cycle(&g), None);
    }
}
