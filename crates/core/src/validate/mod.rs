//! Ground-truth cases (formats v1 and v2, `validation/README.md`) and the comparison of
//! predictions against them.
//!
//! A case is turned into an ordinary [`ScenarioFile`] and goes through the same
//! validation and simulation as any user scenario: nothing is looked up from the case
//! but its inputs.

use crate::collective::nccl_tests::{self, COMPARE_MIN_BYTES};
use crate::error::{toml_message, Error, Result};
use crate::fabric::routing::Routing;
use crate::net::analytical::{CollectiveOp, GroupShape, NetworkParams};
use crate::scenario::NetworkModel;
use crate::scenario::{
    ClusterFile, FabricKind, ModelFile, ParallelFile, ScenarioFile, TrainingFile,
};
use crate::step::StepModel;
use crate::units::Bytes;
use crate::workload::{MlpKind, ModelSpec, Precision, Recompute};
use serde::{Deserialize, Serialize};

mod suites;
pub use suites::{Suite, SUITES};

/// A published training run, in case format v1 or v2 (`validation/README.md`): the same
/// fields but for the model, which v1 gives as flat shape fields and v2 as a `model`
/// table holding a scenario's `[model]` section.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // fields are documented in the format's README
pub struct TrainingCase {
    /// The format the case was written in: 1 (flat shape fields) or 2 (a `model` table).
    pub format: u32,
    pub id: String,
    pub source: String,
    pub gpu: String,
    pub gpus: u64,
    pub gpus_per_node: u32,
    pub nic_gbps_per_gpu: f64,
    pub fabric: FabricKind,
    /// The model: v2's `[case.model]` as written, or v1's flat fields in these terms.
    pub model: ModelFile,
    pub seq_len: u64,
    pub tp: u32,
    pub pp: u32,
    pub cp: u32,
    pub ep: u32,
    /// Expert tensor parallel (v2 only; default tp).
    pub etp: Option<u32>,
    /// How the fabric routes (v2 only). Given, the case runs at flow level: its DP, CP,
    /// EP and PP traffic routed on the fabric graph, where ECMP's hashed paths collide;
    /// unset, the analytical network model.
    pub routing: Option<Routing>,
    /// The recipe: a scenario's `[training]` fields other than those the case gives
    /// itself (gpus, global_batch, seq_len, tokens, precision), from v2's `[case.training]`
    /// table and from the `assumed` entries that state one ([`stated_recipe`]).
    pub recipe: TrainingFile,
    /// The `assumed` entries read as recipe values, as `field = value`.
    pub recipe_assumed: Vec<String>,
    /// `assumed` entries that name a recipe field with a value it does not take: read as
    /// text only, and worth a warning (`assumed[i]: why`).
    pub assumed_unread: Vec<String>,
    pub dp: u32,
    pub vpp: u32,
    pub micro_batch: u32,
    pub global_batch: u64,
    pub sequence_parallel: bool,
    pub recompute: Recompute,
    pub distributed_optimizer: bool,
    pub precision: Precision,
    pub measured_step_time_s: f64,
    pub step_time_is: String,
    pub assumed: Vec<String>,
}

/// A training case as the file has it: every field of both formats, the model's flat v1
/// fields and v2's `model` table optional, so that a case of either reads and one that
/// mixes them gets an error naming both ([`RawTrainingCase::into_case`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrainingCase {
    id: String,
    source: String,
    gpu: String,
    gpus: u64,
    gpus_per_node: u32,
    nic_gbps_per_gpu: f64,
    fabric: FabricKind,
    // v1: the model's shape, flat.
    layers: Option<u32>,
    hidden: Option<u64>,
    heads: Option<u32>,
    kv_heads: Option<u32>,
    ffn_hidden: Option<u64>,
    mlp: Option<MlpKind>,
    vocab: Option<u64>,
    moe_experts: Option<u32>,
    moe_topk: Option<u32>,
    // v2: a scenario's [model] section (deserialized on its own, for errors that name it).
    model: Option<toml::Value>,
    etp: Option<u32>,
    routing: Option<Routing>,
    // v2: the recipe, a scenario's [training] fields the case does not give flat.
    training: Option<toml::Value>,
    seq_len: u64,
    tp: u32,
    pp: u32,
    cp: u32,
    ep: u32,
    dp: u32,
    vpp: u32,
    micro_batch: u32,
    global_batch: u64,
    sequence_parallel: bool,
    recompute: Recompute,
    distributed_optimizer: bool,
    precision: Precision,
    measured_step_time_s: f64,
    /// How the step time was had: `measured` unless the case says (a throughput it was
    /// derived from, say).
    #[serde(default = "measured")]
    step_time_is: String,
    /// Fields the source did not state, with the value chosen: none unless listed.
    #[serde(default)]
    assumed: Vec<String>,
}

fn measured() -> String {
    "measured".to_string()
}

/// The model fields of case format v1, flat in the case, in the order the README lists
/// them.
const V1_MODEL_FIELDS: &str =
    "layers, hidden, heads, kv_heads, ffn_hidden, mlp, vocab, moe_experts, moe_topk";

impl RawTrainingCase {
    /// The v1 model fields the case sets, by name.
    fn flat_model_fields(&self) -> Vec<&'static str> {
        [
            ("layers", self.layers.is_some()),
            ("hidden", self.hidden.is_some()),
            ("heads", self.heads.is_some()),
            ("kv_heads", self.kv_heads.is_some()),
            ("ffn_hidden", self.ffn_hidden.is_some()),
            ("mlp", self.mlp.is_some()),
            ("vocab", self.vocab.is_some()),
            ("moe_experts", self.moe_experts.is_some()),
            ("moe_topk", self.moe_topk.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// The case, its format told by its model: a `model` table is v2, flat fields v1.
    /// `label` names the case in errors.
    fn into_case(self, label: &str, model_file: &ModelFileReader<'_>) -> Result<TrainingCase> {
        let flat = self.flat_model_fields();
        let (format, model) = match self.model.clone() {
            Some(table) => {
                if !flat.is_empty() {
                    return Err(Error::invalid(
                        format!("{label}: model"),
                        format!(
                            "a [case.model] table and the flat model field(s) {}",
                            flat.join(", ")
                        ),
                        format!(
                            "one or the other: format v2 gives the model as the [case.model] table (move {} into it), format v1 as the flat fields {V1_MODEL_FIELDS}",
                            flat.join(", ")
                        ),
                    ));
                }
                if !table.is_table() {
                    return Err(Error::invalid(
                        format!("{label}: model"),
                        table.type_str(),
                        "a table ([case.model]) with the fields of a scenario's [model] section",
                    ));
                }
                let model: ModelFile = section(&format!("{label}: model"), table)?;
                // A preset that names a file (a config.json, a scenario) is read as a
                // scenario's [model] reads it, the table's fields over it.
                let model = match model
                    .preset
                    .clone()
                    .filter(|p| crate::scenario::names_a_file(p))
                {
                    Some(path) => {
                        let base = model_file(&path).map_err(|e| e.within(label))?;
                        ModelFile {
                            preset: None,
                            ..model
                        }
                        .over(&base)?
                    }
                    None => model,
                };
                // A model that is not one is an error of the file, not a case the model
                // refuses: say so now, naming the field.
                model
                    .clone()
                    .validate(&format!("{label}: model"))
                    .map_err(|e| match e {
                        // A preset name is a field of the table: named as one.
                        Error::Unknown { name, known, .. } => Error::invalid(
                            format!("{label}: model.preset"),
                            name.clone(),
                            format!(
                                "one of {}; or the path of a config.json or scenario file{}",
                                known.split("; or the path").next().unwrap_or(&known),
                                crate::error::did_you_mean(&name, &known)
                            ),
                        ),
                        e => e,
                    })?;
                (2, model)
            }
            None => {
                if flat.is_empty() {
                    return Err(Error::invalid(
                        format!("{label}: model"),
                        "missing",
                        format!(
                            "the model: a [case.model] table with the fields of a scenario's [model] section (format v2), or the flat fields {V1_MODEL_FIELDS} (format v1)"
                        ),
                    ));
                }
                // Every field missing at once, worded as serde words one. The experts
                // default to none (dense), both together.
                let dense = self.moe_experts.is_none() && self.moe_topk.is_none();
                let missing: Vec<&str> = V1_MODEL_FIELDS
                    .split(", ")
                    .filter(|f| !flat.contains(f))
                    .filter(|f| !(dense && f.starts_with("moe_")))
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::parse(
                        label,
                        format!(
                            "missing field{} {} (a format v1 case gives all of {V1_MODEL_FIELDS}, the two moe_ fields left out for a dense model; format v2 gives the model as a [case.model] table instead)",
                            if missing.len() == 1 { "" } else { "s" },
                            missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                if let Some(etp) = self.etp {
                    return Err(Error::invalid(
                        format!("{label}: etp"),
                        etp,
                        "unset in a format v1 case (flat model fields): etp is a format v2 field, for a case with a [case.model] table",
                    ));
                }
                if let Some(r) = self.routing {
                    return Err(Error::invalid(
                        format!("{label}: routing"),
                        crate::serde_name(&r),
                        "unset in a format v1 case (flat model fields): routing is a format v2 field, for a case with a [case.model] table",
                    ));
                }
                let model = ModelFile {
                    name: Some(self.id.clone()),
                    layers: self.layers,
                    hidden: self.hidden,
                    heads: self.heads,
                    kv_heads: self.kv_heads,
                    ffn_hidden: self.ffn_hidden,
                    mlp: self.mlp,
                    vocab: self.vocab,
                    moe_experts: Some(self.moe_experts.unwrap_or(0)),
                    moe_topk: Some(self.moe_topk.unwrap_or(0)),
                    ..Default::default()
                };
                (1, model)
            }
        };
        let table = match self.training.clone() {
            None => toml::Value::Table(toml::Table::new()),
            Some(_) if format == 1 => {
                return Err(Error::invalid(
                    format!("{label}: training"),
                    "a [case.training] table",
                    "unset in a format v1 case (flat model fields): the recipe table is a format v2 field, for a case with a [case.model] table",
                ))
            }
            Some(t) => t,
        };
        // What the table leaves out, the case's stated assumptions may give.
        let stated = stated_recipe(label, &self.assumed, &table)?;
        let mut table = table;
        if let Some(t) = table.as_table_mut() {
            t.extend(stated.values);
        }
        let recipe = recipe_of(label, table)?;
        Ok(TrainingCase {
            format,
            recipe,
            recipe_assumed: stated.read,
            assumed_unread: stated.unread,
            id: self.id,
            source: self.source,
            gpu: self.gpu,
            gpus: self.gpus,
            gpus_per_node: self.gpus_per_node,
            nic_gbps_per_gpu: self.nic_gbps_per_gpu,
            fabric: self.fabric,
            model,
            seq_len: self.seq_len,
            tp: self.tp,
            pp: self.pp,
            cp: self.cp,
            ep: self.ep,
            etp: self.etp,
            routing: self.routing,
            dp: self.dp,
            vpp: self.vpp,
            micro_batch: self.micro_batch,
            global_batch: self.global_batch,
            sequence_parallel: self.sequence_parallel,
            recompute: self.recompute,
            distributed_optimizer: self.distributed_optimizer,
            precision: self.precision,
            measured_step_time_s: self.measured_step_time_s,
            step_time_is: self.step_time_is,
            assumed: self.assumed,
        })
    }
}

/// A section table of a case read as its scenario struct. A table read whole loses its
/// keys' positions, so an error names the field by reading the keys one at a time: the
/// first that fails alone is the one to fix.
fn section<T: serde::de::DeserializeOwned>(context: &str, table: toml::Value) -> Result<T> {
    let whole: std::result::Result<T, toml::de::Error> = table.clone().try_into();
    whole.map_err(|e| {
        let culprit = table.as_table().and_then(|t| {
            t.iter().find_map(|(k, v)| {
                let mut one = toml::Table::new();
                one.insert(k.clone(), v.clone());
                toml::Value::Table(one)
                    .try_into::<T>()
                    .err()
                    .map(|e1| (k.clone(), e1))
            })
        });
        match culprit {
            Some((key, e1)) => Error::parse(format!("{context}.{key}"), toml_message(&e1)),
            None => Error::parse(context, toml_message(&e)),
        }
    })
}

/// The `[training]` fields a case gives flat (or not at all: tokens), outside its recipe.
const FLAT_TRAINING_FIELDS: [&str; 5] = ["gpus", "global_batch", "seq_len", "tokens", "precision"];

/// The fields of a case's recipe: a scenario's `[training]` section less the flat ones.
fn recipe_fields() -> Vec<String> {
    let fields = serde_json::to_value(TrainingFile::default()).unwrap_or_default();
    fields
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| !FLAT_TRAINING_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// The recipe values a case's `assumed` entries state, and those they name but memphis
/// cannot read.
struct StatedRecipe {
    values: toml::Table,
    read: Vec<String>,
    unread: Vec<String>,
}

/// The recipe fields a case's `assumed` entries state. The case formats define `assumed`
/// as the fields the source did not state, with the value chosen: an entry that opens
/// with a recipe field, `:` or `=`, and a value the field takes (`attention: unfused
/// (why)`, `dp_overlap = false: why`, `cross_entropy = 'unfused': why`) sets that
/// field, as the `[case.training]` table would. Entries that open with any other name
/// (`vpp = 1: not stated`) are the case's own fields and stay text. Two values for one
/// field, from two entries or an entry and the table, are an error naming both.
fn stated_recipe(label: &str, assumed: &[String], table: &toml::Value) -> Result<StatedRecipe> {
    let fields = recipe_fields();
    let mut out = StatedRecipe {
        values: toml::Table::new(),
        read: vec![],
        unread: vec![],
    };
    let mut from: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, entry) in assumed.iter().enumerate() {
        let clauses = opening_clauses(entry, &fields);
        if clauses.is_empty() {
            // A recipe field's name that opens the entry but not as `name: value`
            // ("attention — unfused"): said, as text only.
            let first = without_bullet(entry)
                .trim_start_matches(['\'', '"', '`'])
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
                .replace('-', "_");
            if fields.contains(&first) {
                out.unread.push(format!(
                    "assumed[{i}] opens with the recipe field {first}, but not as `{first}: value` or `{first} = value`; read as text only"
                ));
            }
        }
        for Clause {
            key,
            words,
            next_word,
        } in clauses
        {
            if !fields.contains(&key) {
                continue;
            }
            // A value the field takes right after the one read: one value too many, or a
            // list item without its comma.
            if let Some(w) =
                next_word.filter(|w| stated_toml(&key, &Some(vec![w.clone()])).is_some())
            {
                let hint = if one_field(&key, &toml::Value::Array(vec![])).is_ok() {
                    "a list's items take commas between them"
                } else {
                    "the field takes one value"
                };
                out.unread.push(format!(
                    "assumed[{i}] gives {key} {w:?} after {:?}; {w:?} is read as text only ({hint})",
                    words.as_deref().unwrap_or_default().join(", ")
                ));
            }
            let Some(value) = stated_toml(&key, &words) else {
                let said = match &words {
                    Some(w) => {
                        let why = one_field(&key, &toml::Value::String(w.join(",")))
                            .err()
                            .map(|e| format!(" ({})", e.message().trim()))
                            .unwrap_or_default();
                        format!("with {:?}, which it does not take{why}", w.join(", "))
                    }
                    None => "without a value".to_string(),
                };
                out.unread.push(format!(
                    "assumed[{i}] names the recipe field {key} {said}; read as text only"
                ));
                continue;
            };
            let earlier = match (table.get(&key), from.get(&key)) {
                (Some(given), _) => Some((given.clone(), "training".to_string())),
                (None, Some(&j)) => Some((out.values[&key].clone(), format!("assumed[{j}]"))),
                (None, None) => None,
            };
            match earlier {
                Some((given, _)) if same_value(&given, &value) => {}
                Some((given, where_)) => {
                    return Err(Error::invalid(
                        format!("{label}: assumed[{i}]"),
                        format!("{key} = {value}"),
                        format!("the value {where_} gives {key} ({given}): one value for a field"),
                    ))
                }
                None => {
                    from.insert(key.clone(), i);
                    out.read.push(format!("{key} = {value}"));
                    out.values.insert(key, value);
                }
            }
        }
    }
    Ok(out)
}

/// Two values of a field alike: lists as sets (the modules recomputed, in any order).
fn same_value(a: &toml::Value, b: &toml::Value) -> bool {
    let sorted = |v: &toml::Value| {
        let mut items: Vec<String> = v
            .as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_else(|| vec![v.to_string()]);
        items.sort();
        items
    };
    a == b || (a.is_array() && b.is_array() && sorted(a) == sorted(b))
}

/// A recipe with the one field `key` set to `value`, if the field takes it.
fn one_field(key: &str, value: &toml::Value) -> std::result::Result<TrainingFile, toml::de::Error> {
    let mut t = toml::Table::new();
    t.insert(key.to_string(), value.clone());
    toml::Value::Table(t).try_into::<TrainingFile>()
}

/// The words an entry gives a recipe field, as TOML would give them: one word a boolean
/// or a string (or a list of one, for a field that lists), several a list.
fn stated_toml(key: &str, words: &Option<Vec<String>>) -> Option<toml::Value> {
    let words = words.as_ref()?;
    let strings = || {
        toml::Value::Array(
            words
                .iter()
                .map(|w| toml::Value::String(w.clone()))
                .collect(),
        )
    };
    let candidates = match words.as_slice() {
        [w] if w == "true" => vec![toml::Value::Boolean(true)],
        [w] if w == "false" => vec![toml::Value::Boolean(false)],
        [w] => vec![toml::Value::String(w.clone()), strings()],
        _ => vec![strings()],
    };
    candidates.into_iter().find(|v| one_field(key, v).is_ok())
}

/// One `name: value` clause of an `assumed` entry ([`opening_clauses`]).
#[derive(Debug)]
struct Clause {
    /// The name, lower case, `-` read as `_`.
    key: String,
    /// The value's words, lower case; none where the name ends the entry.
    words: Option<Vec<String>>,
    /// The word right after the value, lower case.
    next_word: Option<String>,
}

/// An entry without its bullet or list number ("- ", "• ", "1. ", "2) ", "(a) ", "b) ").
fn without_bullet(entry: &str) -> &str {
    let s = entry
        .trim_start()
        .trim_start_matches(['-', '*', '•'])
        .trim_start();
    let inner = s.strip_prefix('(').unwrap_or(s);
    let label = inner
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(inner.len());
    // A number of any length, or one letter: "12.", "a)"; not a word ("attention:").
    let is_label = label > 0
        && (inner[..label].chars().all(|c| c.is_ascii_digit())
            || (label == 1 && inner[..1].chars().all(|c| c.is_ascii_alphabetic())));
    match inner[label..].strip_prefix(['.', ')']) {
        Some(after) if is_label && after.starts_with(char::is_whitespace) => after,
        _ => s,
    }
}

/// The clauses an entry opens with, each `name: value` or `name = value`, joined by `,`,
/// `;` or `and`: the name (lower case, `-` read as `_`) and its words (lower case; none
/// where the name ends the entry). A value is a quoted string, a `[list]`, or a word (for
/// a field that lists, words joined by `,` or `and`); a word followed by `=`, or by `:`
/// when it is one of `fields`, opens the next clause instead (`main_grads = fp32,
/// optimizer_states = bf16: why`, `recompute_modules = core_attn, layernorm: why`).
/// Each clause comes with the word right after its value, if one follows it with no
/// more than a space, a `,` or `;`, or an `or` or `and` between (`core_attn layernorm`,
/// `unfused, flash2`, `unfused or flash2`): a value the writer may have meant to give
/// too.
fn opening_clauses(entry: &str, fields: &[String]) -> Vec<Clause> {
    fn word_end(s: &str) -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len())
    }
    fn name(w: &str) -> String {
        w.to_ascii_lowercase().replace('-', "_")
    }
    // A name and its separator at the start of `s`: (name, what follows, separator).
    fn key_at(s: &str) -> Option<(String, &str, char)> {
        let s = s.trim_start();
        let unquoted = s.trim_start_matches(['\'', '"', '`']);
        let end = word_end(unquoted);
        if end == 0 {
            return None;
        }
        let rest = unquoted[end..]
            .trim_start_matches(['\'', '"', '`'])
            .trim_start();
        let sep = rest.chars().next().filter(|c| *c == ':' || *c == '=')?;
        Some((name(&unquoted[..end]), &rest[1..], sep))
    }
    let opens_clause =
        |s: &str| key_at(s).is_some_and(|(k, _, sep)| sep == '=' || fields.contains(&k));
    // A field that lists (recompute_modules) takes an empty list; one word else.
    let lists = |key: &str| one_field(key, &toml::Value::Array(vec![])).is_ok();
    // A list goes on past `,` or `and` with a word that ends there (`core_attn,
    // layernorm: why`), not into the prose that follows (`core_attn, as Megatron …`).
    let item_at = |s: &str| {
        let end = word_end(s);
        let after = s[end..].trim_start();
        end > 0
            && (after.is_empty()
                || after.starts_with([',', ':', ';', ')', ']', '.'])
                || after.starts_with("and "))
    };
    let mut out = Vec::new();
    let mut s = without_bullet(entry);
    while let Some((key, rest, _)) = key_at(s) {
        let rest = rest.trim_start();
        let unquote = |w: &str| w.trim().trim_matches(['\'', '"', '`']).to_ascii_lowercase();
        let (words, mut rest): (Vec<String>, &str) = match rest.chars().next() {
            Some('[') => match rest.find(']') {
                Some(end) => (
                    rest[1..end]
                        .split(',')
                        .map(unquote)
                        .filter(|w| !w.is_empty())
                        .collect(),
                    &rest[end + 1..],
                ),
                None => (vec![], rest),
            },
            Some(q @ ('\'' | '"' | '`')) => match rest[1..].find(q) {
                Some(end) => (
                    vec![rest[1..end + 1].to_ascii_lowercase()],
                    &rest[end + 2..],
                ),
                None => (vec![], rest),
            },
            _ => {
                let mut words = Vec::new();
                let mut r = rest;
                loop {
                    let end = word_end(r);
                    if end == 0 {
                        break;
                    }
                    words.push(r[..end].to_ascii_lowercase());
                    r = &r[end..];
                    if !lists(&key) {
                        break;
                    }
                    let t = r.trim_start();
                    let next = t
                        .strip_prefix(',')
                        .or_else(|| t.strip_prefix("and "))
                        .map(str::trim_start);
                    match next {
                        Some(n) if !opens_clause(n) && item_at(n) => r = n,
                        _ => break,
                    }
                }
                (words, r)
            }
        };
        let after = rest.trim_start();
        let after = after.strip_prefix([',', ';']).unwrap_or(after).trim_start();
        let after = ["or ", "and "]
            .into_iter()
            .find_map(|w| after.strip_prefix(w))
            .unwrap_or(after)
            .trim_start();
        let next_word = (!opens_clause(after) && word_end(after) > 0)
            .then(|| after[..word_end(after)].to_ascii_lowercase());
        out.push(Clause {
            key,
            words: (!words.is_empty()).then_some(words),
            next_word,
        });
        rest = rest.trim_start();
        let next = rest
            .strip_prefix(',')
            .or_else(|| rest.strip_prefix(';'))
            .or_else(|| rest.strip_prefix("and "))
            .map(str::trim_start);
        match next {
            Some(n) if opens_clause(n) => s = n,
            _ => break,
        }
    }
    out
}

/// A case's recipe table (v2's `[case.training]` with what `assumed` states): a
/// scenario's `[training]` section without the fields the case gives flat.
fn recipe_of(label: &str, table: toml::Value) -> Result<TrainingFile> {
    let context = format!("{label}: training");
    if !table.is_table() {
        return Err(Error::invalid(
            context,
            table,
            "a table ([case.training]) with recipe fields of a scenario's [training] section",
        ));
    }
    // A key neither the recipe's nor a flat one: named against the keys the table takes
    // (serde's list would offer the flat ones, which are refused here).
    let fields = recipe_fields();
    let unknown = table.as_table().and_then(|t| {
        t.keys()
            .find(|k| !fields.contains(k) && !FLAT_TRAINING_FIELDS.contains(&k.as_str()))
    });
    if let Some(key) = unknown {
        let expected: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
        return Err(Error::parse(
            format!("{context}.{key}"),
            crate::error::suggest_key(&format!(
                "unknown field `{key}`, expected one of {}",
                expected.join(", ")
            )),
        ));
    }
    let recipe: TrainingFile = section(&context, table.clone())?;
    if let Some(name) = FLAT_TRAINING_FIELDS
        .iter()
        .find(|f| table.get(**f).is_some())
    {
        return Err(Error::invalid(
            format!("{context}.{name}"),
            "set",
            format!(
                "left out of [case.training]: the case gives gpus, global_batch, seq_len and precision itself (and no token budget); [case.training] holds only the recipe ({})",
                recipe_fields().join(", ")
            ),
        ));
    }
    Ok(recipe)
}

/// A published collective measurement (nccl-tests).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CollectiveCase {
    pub id: String,
    pub source: String,
    pub op: CollectiveOp,
    pub gpu: String,
    pub gpus: u32,
    pub gpus_per_node: u32,
    pub nic_gbps_per_gpu: f64,
    pub fabric: FabricKind,
    pub size_bytes: Vec<u64>,
    #[serde(default)]
    pub measured_time_us: Option<Vec<f64>>,
    pub measured_busbw_gbps: Vec<f64>,
}

/// The cases of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseFile {
    /// Training runs.
    Training(Vec<TrainingCase>),
    /// Collectives.
    Collective(Vec<CollectiveCase>),
}

/// Parses a case file. The kind is told by the first case: collective cases have `op`.
/// Reads the model file a `[case.model]` preset names (its path as written) into a
/// scenario's `[model]` fields; its errors name the field (`model.preset`). The core
/// does no I/O: the binary passes a reader.
pub type ModelFileReader<'a> = dyn Fn(&str) -> Result<ModelFile> + 'a;

/// [`parse_cases_with`] for text that names no model file (the suites compiled in): a
/// file named is an error saying where files are read.
pub fn parse_cases(context: &str, text: &str) -> Result<CaseFile> {
    parse_cases_with(context, text, &|path| {
        Err(Error::invalid(
            "model.preset",
            path,
            "a preset name: files are read from a case file given to `memphis validate --cases`",
        ))
    })
}

/// A case file's text (`context` names it in errors), each `[case.model]` preset that
/// names a file read by `model_file`.
pub fn parse_cases_with(
    context: &str,
    text: &str,
    model_file: &ModelFileReader<'_>,
) -> Result<CaseFile> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::toml(context, &e, text))?;
    for key in table.keys() {
        if key != "case" {
            return Err(Error::parse(
                context,
                format!("unknown top-level key `{key}`; a case file holds only [[case]] tables"),
            ));
        }
    }
    let cases = match table.get("case") {
        Some(toml::Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(Error::parse(
                context,
                "no [[case]] tables; see the case format README (validation/README.md)",
            ))
        }
    };
    // A collective case is told by its op or its sizes (so that a misspelt op is named
    // against the collective format, not the training one).
    const COLLECTIVE_KEYS: [&str; 3] = ["op", "size_bytes", "measured_busbw_gbps"];
    let collective_key = |v: &toml::Value| COLLECTIVE_KEYS.into_iter().find(|k| v.get(k).is_some());
    let is_collective = collective_key(&cases[0]).is_some();
    let label = |i: usize, v: &toml::Value| {
        let id = v.get("id").and_then(|x| x.as_str()).unwrap_or("?");
        format!("{context}: case {} (id {id})", i + 1)
    };
    // One kind per file: a case of the other kind is named as such, not by the first
    // field the file's kind does not know.
    for (i, v) in cases.iter().enumerate().skip(1) {
        let (kind, key) = match collective_key(v) {
            Some(k) if !is_collective => ("collective", k),
            None if is_collective && v.get("measured_step_time_s").is_some() => {
                ("training", "measured_step_time_s")
            }
            _ => continue,
        };
        let first = if is_collective {
            "collective"
        } else {
            "training"
        };
        return Err(Error::invalid(
            label(i, v),
            format!("a {kind} case (it has `{key}`)"),
            format!("a {first} case, as case 1 is: a file holds one kind of case (training or collective)"),
        ));
    }
    // Each id once: a report keyed by id must not mix two runs.
    let mut ids = std::collections::BTreeSet::new();
    for (i, v) in cases.iter().enumerate() {
        if let Some(id) = v.get("id").and_then(|x| x.as_str()) {
            if id.trim().is_empty() {
                return Err(Error::invalid(
                    format!("{}: id", label(i, v)),
                    format!("{id:?}"),
                    "a name for the case, as its report lines are headed",
                ));
            }
            if !ids.insert(id) {
                return Err(Error::invalid(
                    format!("{}: id", label(i, v)),
                    id,
                    "an id no other case of the file has",
                ));
            }
        }
    }
    if is_collective {
        let mut out = Vec::with_capacity(cases.len());
        for (i, v) in cases.iter().enumerate() {
            let c: CollectiveCase = v.clone().try_into().map_err(|e| {
                with_fields::<CollectiveCase>("collective", Error::parse(label(i, v), e))
            })?;
            if c.gpus_per_node == 0 {
                return Err(Error::invalid(
                    format!("{}: gpus_per_node", label(i, v)),
                    0,
                    "at least 1 GPU a server",
                ));
            }
            if !(2..=crate::scenario::MAX_CLUSTER_GPUS).contains(&u64::from(c.gpus)) {
                return Err(Error::invalid(
                    format!("{}: gpus", label(i, v)),
                    c.gpus,
                    format!(
                        "from 2 (a collective of one GPU moves no data) to {}",
                        crate::scenario::MAX_CLUSTER_GPUS
                    ),
                ));
            }
            // The cluster the case describes (GPU, NIC, fabric), named as the case is.
            collective_network(&c).map_err(|e| in_case_terms(e).within(&label(i, v)))?;
            for (field, values) in [
                ("measured_busbw_gbps", Some(&c.measured_busbw_gbps)),
                ("measured_time_us", c.measured_time_us.as_ref()),
            ] {
                if let Some((k, bad)) = values
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .find(|(_, x)| !(x.is_finite() && **x >= 0.0 && **x <= 1e9))
                {
                    return Err(Error::invalid(
                        format!("{}: {field}[{k}]", label(i, v)),
                        bad,
                        "a finite measurement from 0 to 1e9",
                    ));
                }
            }
            if c.size_bytes.is_empty() {
                return Err(Error::invalid(
                    format!("{}: size_bytes", label(i, v)),
                    "[]",
                    "at least one size, each with its measured_busbw_gbps",
                ));
            }
            if let Some(zero) = c.size_bytes.iter().position(|&b| b == 0) {
                return Err(Error::invalid(
                    format!("{}: size_bytes[{zero}]", label(i, v)),
                    0,
                    "a size of at least 1 byte",
                ));
            }
            if let Some((k, j)) = (1..c.size_bytes.len()).find_map(|k| {
                c.size_bytes[..k]
                    .iter()
                    .position(|&b| b == c.size_bytes[k])
                    .map(|j| (k, j))
            }) {
                return Err(Error::invalid(
                    format!("{}: size_bytes[{k}]", label(i, v)),
                    c.size_bytes[k],
                    format!("each size once (size_bytes[{j}] is the same size)"),
                ));
            }
            // Smallest first, as nccl-tests prints them: the latency is read at the first.
            if let Some(k) =
                (1..c.size_bytes.len()).find(|&k| c.size_bytes[k] < c.size_bytes[k - 1])
            {
                return Err(Error::invalid(
                    format!("{}: size_bytes[{k}]", label(i, v)),
                    c.size_bytes[k],
                    format!(
                        "sizes in ascending order, as nccl-tests prints them: above size_bytes[{}] = {}",
                        k - 1,
                        c.size_bytes[k - 1]
                    ),
                ));
            }
            let times = c.measured_time_us.as_ref().map(Vec::len);
            for (field, n) in [
                ("measured_busbw_gbps", Some(c.measured_busbw_gbps.len())),
                ("measured_time_us", times),
            ] {
                if let Some(n) = n.filter(|&n| n != c.size_bytes.len()) {
                    return Err(Error::invalid(
                        format!("{}: {field}", label(i, v)),
                        format!("{n} values"),
                        format!("one value per size_bytes entry ({})", c.size_bytes.len()),
                    ));
                }
            }
            // A size compared with no bandwidth would drop out of the summary unsaid.
            if let Some((k, &size)) =
                c.size_bytes.iter().enumerate().find(|&(k, &size)| {
                    size >= COMPARE_MIN_BYTES && c.measured_busbw_gbps[k] <= 0.0
                })
            {
                return Err(Error::invalid(
                    format!("{}: measured_busbw_gbps[{k}]", label(i, v)),
                    c.measured_busbw_gbps[k],
                    format!(
                        "a bus bandwidth above 0 GB/s: moving {size} B (1 MiB or more, the \
                         sizes compared) shows some; nccl-tests prints 0.00 only below \
                         0.005 GB/s"
                    ),
                ));
            }
            check_time_matches_busbw(&c).map_err(|e| e.within(&label(i, v)))?;
            out.push(c);
        }
        Ok(CaseFile::Collective(out))
    } else {
        let mut out = Vec::with_capacity(cases.len());
        for (i, v) in cases.iter().enumerate() {
            let raw: RawTrainingCase = v.clone().try_into().map_err(|e: toml::de::Error| {
                // A table parsed alone has no lines: parse the file's text again for the
                // line and field the error is at.
                #[derive(Deserialize)]
                struct Spanned {
                    #[allow(dead_code)]
                    case: Vec<RawTrainingCase>,
                }
                let e = match toml::from_str::<Spanned>(text) {
                    Err(spanned) if spanned.span().is_some() => {
                        Error::toml(label(i, v), &spanned, text)
                    }
                    _ => Error::parse(label(i, v), toml_message(&e)),
                };
                with_fields::<RawTrainingCase>("training", e)
            })?;
            let c = raw.into_case(&label(i, v), model_file)?;
            // A millisecond to a week: any real training step; outside it an error ratio
            // would be meaningless (or infinite).
            if !(c.measured_step_time_s.is_finite()
                && (1e-3..=604_800.0).contains(&c.measured_step_time_s))
            {
                return Err(Error::invalid(
                    format!("{}: measured_step_time_s", label(i, v)),
                    c.measured_step_time_s,
                    "a step time from 0.001 s to a week (604800 s)",
                ));
            }
            out.push(c);
        }
        Ok(CaseFile::Training(out))
    }
}

impl TrainingCase {
    /// Whether the case sets recipe field `field` (`[training]`'s name), in its table or
    /// an `assumed` entry.
    pub fn sets_recipe(&self, field: &str) -> bool {
        serde_json::to_value(&self.recipe)
            .ok()
            .and_then(|v| v.get(field).map(|v| !v.is_null()))
            .unwrap_or(false)
    }

    /// [`Self::scenario`] as a scenario file's text, which `simulate` reads back as the
    /// same scenario.
    pub fn scenario_toml(&self) -> Result<String> {
        toml::to_string(&self.scenario())
            .map_err(|e| Error::parse(format!("case '{}' as a scenario", self.id), e.to_string()))
    }

    /// The case as a scenario: its cluster is exactly the job's GPUs.
    pub fn scenario(&self) -> ScenarioFile {
        let mut model = self.model.clone();
        // Named as the case, unless the model (or its preset) has a name.
        if model.name.is_none() && model.preset.is_none() {
            model.name = Some(self.id.clone());
        }
        ScenarioFile {
            preset: None,
            name: Some(self.id.clone()),
            description: Some(self.source.clone()),
            cluster: ClusterFile {
                name: Some(format!("{} x {}", self.gpus, self.gpu)),
                gpu: Some(self.gpu.clone()),
                gpus: Some(self.gpus),
                gpus_per_node: Some(self.gpus_per_node),
                nic_gbps: Some(self.nic_gbps_per_gpu),
                fabric: Some(self.fabric),
                ..Default::default()
            },
            model,
            parallel: ParallelFile {
                tp: Some(self.tp),
                pp: Some(self.pp),
                vpp: Some(self.vpp),
                cp: Some(self.cp),
                ep: Some(self.ep),
                etp: self.etp,
                dp: Some(self.dp),
                micro_batch: Some(self.micro_batch),
                sequence_parallel: Some(self.sequence_parallel),
                recompute: Some(self.recompute),
                recompute_layers: None,
                distributed_optimizer: Some(self.distributed_optimizer),
            },
            training: TrainingFile {
                gpus: Some(self.gpus),
                global_batch: Some(self.global_batch),
                seq_len: Some(self.seq_len),
                tokens: None,
                precision: Some(self.precision),
                ..self.recipe.clone()
            },
            network: self.routing.map(|_| NetworkModel::Flow),
            routing: self.routing,
            power: Default::default(),
            reliability: Default::default(),
        }
    }
}

/// One compared value.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrainingResult {
    /// Case id.
    pub id: String,
    /// Published step time.
    pub measured_step_time_s: f64,
    /// Predicted step time (absent when the case could not be simulated).
    pub predicted_step_time_s: Option<f64>,
    /// Signed error, percent: (predicted - measured) / measured.
    pub error_pct: Option<f64>,
    /// Why the case could not be simulated (an input the model refuses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Memory per GPU memphis predicts for the case's plan (absent when the case could
    /// not be simulated). A published run ran, so `fits: false` is memphis's error: the
    /// case is compared all the same, and the report says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<CaseMemory>,
    /// Recipe values the case sets that its run does not use (an FP8 recipe on a BF16
    /// case, cp_comm at cp 1): [`crate::scenario::Scenario::unused_recipe`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Memory per GPU of a case's plan, as memphis predicts it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CaseMemory {
    /// The fullest GPU, GiB.
    pub per_gpu_gib: f64,
    /// The GPU's HBM, GiB.
    pub capacity_gib: f64,
    /// Whether memphis thinks the plan fits.
    pub fits: bool,
}

/// Per-size comparison of a collective case.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CollectiveResult {
    /// Case id.
    pub id: String,
    /// Sizes.
    pub size_bytes: Vec<u64>,
    /// Published bus bandwidth, GB/s.
    pub measured_busbw_gbps: Vec<f64>,
    /// Predicted bus bandwidth, GB/s.
    pub predicted_busbw_gbps: Vec<f64>,
    /// Predicted time, µs.
    pub predicted_time_us: Vec<f64>,
    /// Signed busbw error per size, percent; none where the published busbw is 0
    /// (nccl-tests prints 0.00 below 0.005 GB/s), where no error is defined.
    pub error_pct: Vec<Option<f64>>,
    /// Signed error of the predicted time at the smallest size (the latency), percent,
    /// when the case has measured times.
    pub latency_error_pct: Option<f64>,
    /// Warnings about the measurement: a busbw above what the case's links allow
    /// ([`crate::net::analytical::NetworkParams::busbw_ceiling`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How a series grows: the same global batch over more GPUs, or the same batch per GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// The same global batch over more GPUs.
    Strong,
    /// The same global batch per GPU.
    Weak,
}

/// A scaling series: cases of one model, GPU, precision, sequence and plan but for the
/// data-parallel size, whose GPU counts differ, at one global batch (strong scaling) or
/// one batch per GPU (weak). Its figure is the trend: the step time at the largest count
/// over that at the smallest, measured and predicted.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SeriesResult {
    /// Strong or weak scaling.
    pub scaling: Scaling,
    /// The cases, fewest GPUs first.
    pub ids: Vec<String>,
    /// The smallest and largest GPU counts.
    pub gpus: (u64, u64),
    /// Measured step time at the largest count over that at the smallest.
    pub measured_ratio: f64,
    /// The same, predicted.
    pub predicted_ratio: f64,
    /// Signed error of the predicted ratio, percent.
    pub error_pct: f64,
}

/// The series among `cases` (simulated as `results`, their models resolved as `models`):
/// cases agreeing on all but `gpus`, `dp` and the batch are grouped by global batch
/// first; those left, by batch per GPU.
fn series(
    cases: &[TrainingCase],
    results: &[TrainingResult],
    models: &[Option<ModelSpec>],
) -> Vec<SeriesResult> {
    let plan_key = |i: usize| {
        let c = &cases[i];
        // The model as memphis reads it, by shape: v1's flat fields, v2's table with or
        // without its defaults written, a preset and a config.json of one shape are one
        // model (a v1 case's is named after the case).
        let model = models[i].as_ref().map(ModelSpec::shape);
        format!(
            "{:?}",
            (
                (
                    &c.gpu,
                    c.gpus_per_node,
                    c.nic_gbps_per_gpu,
                    c.fabric,
                    c.routing
                ),
                model,
                &c.recipe,
                c.precision,
                c.seq_len,
                (c.tp, c.pp, c.cp, c.ep, c.etp, c.vpp, c.micro_batch),
                (c.sequence_parallel, c.recompute, c.distributed_optimizer),
            )
        )
    };
    let simulated: Vec<usize> = (0..cases.len())
        .filter(|&i| results[i].predicted_step_time_s.is_some())
        .collect();
    let mut taken = vec![false; cases.len()];
    let mut out = Vec::new();
    for scaling in [Scaling::Strong, Scaling::Weak] {
        let batch_key = |c: &TrainingCase| match scaling {
            Scaling::Strong => format!("{}", c.global_batch),
            Scaling::Weak => format!("{:.6}", c.global_batch as f64 / c.gpus as f64),
        };
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for &i in simulated.iter().filter(|&&i| !taken[i]) {
            let key = plan_key(i) + &batch_key(&cases[i]);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        for (_, mut members) in groups {
            members.sort_by_key(|&i| cases[i].gpus);
            let (lo, hi) = (members[0], members[members.len() - 1]);
            if cases[lo].gpus == cases[hi].gpus {
                continue;
            }
            let time = |i: usize| results[i].predicted_step_time_s.unwrap_or(f64::NAN);
            let measured = cases[hi].measured_step_time_s / cases[lo].measured_step_time_s;
            let predicted = time(hi) / time(lo);
            members.iter().for_each(|&i| taken[i] = true);
            out.push(SeriesResult {
                scaling,
                ids: members.iter().map(|&i| cases[i].id.clone()).collect(),
                gpus: (cases[lo].gpus, cases[hi].gpus),
                measured_ratio: measured,
                predicted_ratio: predicted,
                error_pct: (predicted - measured) / measured * 100.0,
            });
        }
    }
    out
}

/// Error statistics. With nothing compared (`n` = 0: a collective file with no size of
/// 1 MiB or more), the figures are null, not a 0% that reads as a perfect match.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Values compared.
    pub n: usize,
    /// Mean absolute percentage error; null with nothing compared.
    pub mape_pct: Option<f64>,
    /// Median absolute percentage error; null with nothing compared.
    pub median_ape_pct: Option<f64>,
    /// Largest absolute percentage error; null with nothing compared.
    pub max_ape_pct: Option<f64>,
    /// Where the largest error is; null with nothing compared.
    pub worst: Option<String>,
    /// Training cases the model refused (each its row's `error`), left out of the
    /// figures above; 0 for collectives.
    pub not_simulated: usize,
}

/// The outcome of `validate`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Report {
    /// Training cases.
    Training {
        /// Per case.
        cases: Vec<TrainingResult>,
        /// Over all cases.
        summary: Summary,
        /// The scaling series among the cases, and how well their trend is predicted.
        series: Vec<SeriesResult>,
    },
    /// Collective cases.
    Collective {
        /// Per case.
        cases: Vec<CollectiveResult>,
        /// Over all sizes of 1 MiB and more.
        summary: Summary,
    },
}

fn summarize(errors: &[(String, f64)]) -> Summary {
    let mut abs: Vec<f64> = errors.iter().map(|(_, e)| e.abs()).collect();
    let n = abs.len();
    let (worst, max) = errors
        .iter()
        .map(|(id, e)| (id.clone(), e.abs()))
        .fold((String::new(), -1.0), |a, b| if b.1 > a.1 { b } else { a });
    abs.sort_by(f64::total_cmp);
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(abs[n / 2]),
        _ => Some((abs[n / 2 - 1] + abs[n / 2]) / 2.0),
    };
    Summary {
        n,
        mape_pct: (n > 0).then(|| abs.iter().sum::<f64>() / n as f64),
        median_ape_pct: median,
        max_ape_pct: (n > 0).then_some(max.max(0.0)),
        worst: (n > 0).then_some(worst),
        not_simulated: 0,
    }
}

/// Predicts every case and compares; `timeline` selects the discrete-event step model
/// (else the closed form).
pub fn run_cases(file: &CaseFile, timeline: bool) -> Result<Report> {
    match file {
        CaseFile::Training(cases) => {
            let mut out = Vec::with_capacity(cases.len());
            let mut models = Vec::with_capacity(cases.len());
            for c in cases {
                // One case the model refuses does not stop the others: it is reported.
                // What a config.json the case's model came from has that memphis does
                // not model, first, as `simulate` says it.
                let mut notes = c.model.warnings.clone();
                let predicted = c.scenario().validate().and_then(|sc| {
                    let field = |_: &str, field: &str| field.to_string();
                    let assign = |_: &str, field: &str, value: &str| format!("{field} = {value}");
                    notes.extend(sc.unused_recipe(|f| c.sets_recipe(f), assign));
                    notes.extend(sc.unused_recipe_in_plan(|f| c.sets_recipe(f), field));
                    let model = if timeline {
                        StepModel::Timeline
                    } else {
                        StepModel::Analytical
                    };
                    let step = crate::step::simulate(&sc, model, &Default::default())?.result;
                    let memory = CaseMemory {
                        per_gpu_gib: step.memory.total().gib(),
                        capacity_gib: sc.cluster.gpu.hbm_capacity.gib(),
                        fits: step.fits,
                    };
                    Ok((step, memory, sc.model))
                });
                let (pred, error, memory) = match predicted {
                    Ok((step, memory, model)) => {
                        models.push(Some(model));
                        (Some(step.time.0), None, Some(memory))
                    }
                    Err(e) => {
                        models.push(None);
                        (None, Some(e.to_string()), None)
                    }
                };
                out.push(TrainingResult {
                    id: c.id.clone(),
                    measured_step_time_s: c.measured_step_time_s,
                    predicted_step_time_s: pred,
                    error_pct: pred
                        .map(|p| (p - c.measured_step_time_s) / c.measured_step_time_s * 100.0),
                    error,
                    memory,
                    notes,
                });
            }
            let errs: Vec<(String, f64)> = out
                .iter()
                .filter_map(|r| r.error_pct.map(|e| (r.id.clone(), e)))
                .collect();
            Ok(Report::Training {
                summary: Summary {
                    not_simulated: out.iter().filter(|r| r.error.is_some()).count(),
                    ..summarize(&errs)
                },
                series: series(cases, &out, &models),
                cases: out,
            })
        }
        CaseFile::Collective(cases) => {
            let mut out = Vec::with_capacity(cases.len());
            let mut errs = Vec::new();
            for c in cases {
                let net = collective_network(c)?;
                let g = GroupShape::uniform(c.gpus, c.gpus_per_node.min(c.gpus).max(1));
                let mut r = CollectiveResult {
                    id: c.id.clone(),
                    size_bytes: c.size_bytes.clone(),
                    measured_busbw_gbps: c.measured_busbw_gbps.clone(),
                    predicted_busbw_gbps: vec![],
                    predicted_time_us: vec![],
                    error_pct: vec![],
                    latency_error_pct: None,
                    notes: above_the_links(c, &net, g).into_iter().collect(),
                };
                for (&size, &measured) in c.size_bytes.iter().zip(&c.measured_busbw_gbps) {
                    let e = net.collective(c.op, Bytes(size as f64), g);
                    let busbw = size as f64 / e.time.0 * c.op.bus_factor(c.gpus) / 1e9;
                    let err = (measured > 0.0).then(|| (busbw - measured) / measured * 100.0);
                    r.predicted_busbw_gbps.push(busbw);
                    r.predicted_time_us.push(e.time.0 * 1e6);
                    r.error_pct.push(err);
                    if let Some(err) = err.filter(|_| size >= COMPARE_MIN_BYTES) {
                        errs.push((format!("{} @ {size} B", c.id), err));
                    }
                }
                if let (Some(times), Some(&pred)) =
                    (&c.measured_time_us, r.predicted_time_us.first())
                {
                    if let Some(&m) = times.first().filter(|&&m| m > 0.0) {
                        r.latency_error_pct = Some((pred - m) / m * 100.0);
                    }
                }
                out.push(r);
            }
            Ok(Report::Collective {
                summary: summarize(&errs),
                cases: out,
            })
        }
    }
}

/// A missing field, with every field a case of this kind has: serde names one missing
/// field at a time, and a user writing a case file from nothing would learn them one
/// run at a time. The fields are the type's own (its unknown-field error lists them).
fn with_fields<T: serde::de::DeserializeOwned>(kind: &str, e: Error) -> Error {
    let Error::Parse { context, message } = e else {
        return e;
    };
    if !message.contains("missing field `") {
        return Error::Parse { context, message };
    }
    let mut probe = toml::Table::new();
    probe.insert("\u{1}".into(), toml::Value::Integer(0));
    let known = match toml::Value::Table(probe).try_into::<T>() {
        Err(u) => u.message().split_once("expected").map(|(_, list)| {
            list.split('`')
                .skip(1)
                .step_by(2)
                .collect::<Vec<_>>()
                .join(", ")
        }),
        Ok(_) => None,
    };
    let message = match known {
        Some(k) if !k.is_empty() => format!(
            "{message} (the fields of a {kind} case: {k}; validation/README.md in the \
             repository says what each holds)"
        ),
        _ => message,
    };
    Error::Parse { context, message }
}

/// A collective case that gives both time and bus bandwidth must give one measurement:
/// at every size, the two agree as nccl-tests prints them, to 2% or to the rounding of
/// the busbw's two decimals (`nccl_tests::busbw_disagrees_with_time`). Otherwise the
/// curve compared (busbw) and the latency checked (time) disagree.
fn check_time_matches_busbw(c: &CollectiveCase) -> Result<()> {
    let Some(times) = &c.measured_time_us else {
        return Ok(());
    };
    for (k, ((&size, &t), &b)) in c
        .size_bytes
        .iter()
        .zip(times)
        .zip(&c.measured_busbw_gbps)
        .enumerate()
    {
        if t <= 0.0 {
            return Err(Error::invalid(
                format!("measured_time_us[{k}]"),
                t,
                format!("a time above 0 µs: moving {size} B takes some"),
            ));
        }
        if let Some(implied) = nccl_tests::busbw_disagrees_with_time(c.op, size, c.gpus, t, b) {
            return Err(Error::invalid(
                format!("measured_busbw_gbps[{k}]"),
                b,
                format!(
                    "within 2% of the {implied:.2} GB/s that measured_time_us[{k}] = {t} µs \
                     gives at {size} B (size x {:.4} / time, as nccl-tests computes \
                     busbw), or within 0.005 GB/s of it (the rounding of nccl-tests' two \
                     decimals) where that is wider; the two columns of one run agree",
                    c.op.bus_factor(c.gpus)
                ),
            ));
        }
    }
    Ok(())
}

/// A warning where a collective case's measured busbw is above what its links allow
/// (NVLink and the NICs it gives, [`NetworkParams::busbw_ceiling`]): the measurement is
/// of other links, or a slip. A warning, not an error: the bound is loose for some
/// algorithms, and a real curve may lie near it.
fn above_the_links(c: &CollectiveCase, net: &NetworkParams, g: GroupShape) -> Option<String> {
    let ceiling = net.busbw_ceiling(c.op, g);
    let limit = ceiling.busbw.gbyte_per_s();
    let over: Vec<usize> = (0..c.size_bytes.len())
        .filter(|&k| c.measured_busbw_gbps[k] > limit)
        .collect();
    let &k = over.first()?;
    let most = over
        .iter()
        .map(|&j| c.measured_busbw_gbps[j])
        .fold(f64::MIN, f64::max);
    let more = match over.len() {
        1 => String::new(),
        n => format!(
            " (and {} more size{}, up to {most} GB/s)",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    let nvlink = ceiling.nvlink.map(|b| {
        format!(
            "NVLink's {:.1} GB/s per {} GPU (the rate NCCL's model gives its links)",
            b.gbyte_per_s(),
            c.gpu
        )
    });
    let nic = ceiling.nic.map(|b| {
        format!(
            "the {:.1} GB/s of a {} Gb/s NIC per GPU",
            b.gbyte_per_s(),
            c.nic_gbps_per_gpu
        )
    });
    let links = match (nvlink, nic, ceiling.off_server_share) {
        (_, Some(b), Some(share)) => format!(
            "{b}, over the {:.0}% of an all-to-all's bytes that leave the server, as no link inside it can carry them",
            share * 100.0
        ),
        (Some(a), Some(b), None) => format!("the larger of {a} and {b}"),
        (a, b, _) => a.or(b).unwrap_or_default(),
    };
    let doubled = if ceiling.in_network {
        ", twice that for an all-reduce the switches reduce (NVLS, SHARP)"
    } else {
        ""
    };
    Some(format!(
        "measured_busbw_gbps[{k}] = {} at {} B{more} is above the {limit:.1} GB/s a GPU's links allow here ({links}{doubled}): a measurement of other links than gpu, gpus_per_node and nic_gbps_per_gpu give, or a slip",
        c.measured_busbw_gbps[k], c.size_bytes[k]
    ))
}

/// A scenario error about the cluster a collective case gives, named by the case's
/// own field (`nic_gbps_per_gpu`, not the scenario's `cluster.nic_gbps`).
fn in_case_terms(e: Error) -> Error {
    match e {
        Error::Invalid {
            field,
            value,
            allowed,
        } => {
            let case_field = match field.as_str() {
                "cluster.nic_gbps" => "nic_gbps_per_gpu",
                other => other.strip_prefix("cluster.").unwrap_or(other),
            };
            Error::Invalid {
                field: case_field.to_string(),
                value,
                allowed,
            }
        }
        other => other,
    }
}

fn collective_network(c: &CollectiveCase) -> Result<crate::net::analytical::NetworkParams> {
    // The cluster alone: a collective case has no job to plan.
    let cluster = ClusterFile {
        gpu: Some(c.gpu.clone()),
        gpus: Some(u64::from(c.gpus)),
        gpus_per_node: Some(c.gpus_per_node),
        nic_gbps: Some(c.nic_gbps_per_gpu),
        fabric: Some(c.fabric),
        ..Default::default()
    };
    Ok(cluster.validate("cluster")?.network())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model_preset;
    use crate::step::simulate_step;

    const ONE: &str = r#"
[[case]]
id = "t"
source = "s"
gpu = "H100-SXM5-80GB"
gpus = 16
gpus_per_node = 8
nic_gbps_per_gpu = 400
fabric = "infiniband"
layers = 4
hidden = 1024
heads = 8
kv_heads = 8
ffn_hidden = 4096
mlp = "standard"
vocab = 32000
seq_len = 2048
moe_experts = 0
moe_topk = 0
tp = 2
pp = 2
cp = 1
ep = 1
dp = 4
vpp = 1
micro_batch = 1
global_batch = 16
sequence_parallel = true
recompute = "selective"
distributed_optimizer = true
precision = "bf16"
measured_step_time_s = 1.0
step_time_is = "measured"
assumed = []
"#;

    #[test]
    fn parses_and_runs_a_training_case() {
        let f = parse_cases("one.toml", ONE).unwrap();
        let r = run_cases(&f, true).unwrap();
        match r {
            Report::Training { cases, summary, .. } => {
                assert_eq!(cases.len(), 1);
                assert!(cases[0].predicted_step_time_s.unwrap() > 0.0);
                assert_eq!(summary.n, 1);
            }
            _ => panic!("expected training"),
        }
    }

    #[test]
    fn missing_field_names_case_and_field() {
        let text = ONE.replace("gpus = 16\n", "");
        let e = parse_cases("one.toml", &text).unwrap_err().to_string();
        assert!(e.contains("case 1 (id t)") && e.contains("gpus"), "{e}");
        let text = ONE.replace("gpus = 16\n", "gpus = \"many\"\n");
        let e = parse_cases("one.toml", &text).unwrap_err().to_string();
        assert!(e.contains("case 1 (id t)"), "{e}");
    }

    #[test]
    fn implausible_cases_are_refused() {
        // The same id twice.
        let two = format!("{ONE}\n{ONE}");
        let e = parse_cases("two.toml", &two).unwrap_err().to_string();
        assert!(e.contains("id = t") && e.contains("no other case"), "{e}");
        // A step time whose error ratio would overflow.
        let tiny = ONE.replace("measured_step_time_s = ", "measured_step_time_s = 1e-308 #");
        let e = parse_cases("tiny.toml", &tiny).unwrap_err().to_string();
        assert!(e.contains("measured_step_time_s"), "{e}");
        // A collective of one GPU, and a negative bandwidth.
        let coll = COLL.replace("gpus = 16\n", "gpus = 1\n");
        let e = parse_cases("c.toml", &coll).unwrap_err().to_string();
        assert!(
            e.contains("gpus = 1: from 2 (a collective of one GPU moves no data) to 4000000"),
            "{e}"
        );
        let neg = COLL.replace("[24.6]", "[-5.0]");
        let e = parse_cases("c.toml", &neg).unwrap_err().to_string();
        assert!(
            e.contains("measured_busbw_gbps[0] = -5: a finite measurement from 0"),
            "{e}"
        );
    }

    /// A collective case: 16 servers of one GPU each.
    const COLL: &str = r#"
[[case]]
id = "c"
source = "s"
op = "all_reduce"
gpu = "H100-SXM5-80GB"
gpus = 16
gpus_per_node = 1
nic_gbps_per_gpu = 400
fabric = "infiniband"
size_bytes = [1048576]
measured_busbw_gbps = [24.6]
"#;

    /// A collective case is a cluster and a curve, no job: one GPU a server over 16
    /// servers is read (it was once planned as a training job and refused for its batch).
    #[test]
    fn a_collective_case_of_one_gpu_a_server_is_read() {
        match parse_cases("c.toml", COLL).unwrap() {
            CaseFile::Collective(c) => {
                assert!(collective_network(&c[0]).unwrap().nic.gbyte_per_s() > 40.0)
            }
            other => panic!("{other:?}"),
        }
    }

    /// A busbw above what the case's links allow is warned of in the case's notes; the
    /// suite's curves, an NVLS one above the NIC's rate at 2 servers among them, are not.
    #[test]
    fn a_busbw_above_the_links_is_noted() {
        let notes = |text: &str| match run_cases(&parse_cases("c.toml", text).unwrap(), false) {
            Ok(Report::Collective { cases, .. }) => {
                cases.into_iter().flat_map(|c| c.notes).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        assert!(notes(COLL).is_empty());
        for s in SUITES.iter().filter(|s| s.name == "collectives") {
            assert_eq!(notes(s.text), Vec::<String>::new(), "{}", s.path);
        }
        // 16 A100s on 200 Gb/s NICs at 362 GB/s of all-gather: past NVLink's 240.
        let a100 = COLL
            .replace("all_reduce", "all_gather")
            .replace("H100-SXM5-80GB", "A100-SXM4-80GB")
            .replace("gpus_per_node = 1", "gpus_per_node = 8")
            .replace("nic_gbps_per_gpu = 400", "nic_gbps_per_gpu = 200")
            .replace("[1048576]", "[1048576, 2097152]")
            .replace("[24.6]", "[362.0, 300.0]");
        let n = notes(&a100);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with("measured_busbw_gbps[0] = 362 at 1048576 B (and 1 more size, up to 362 GB/s) is above the 240.0 GB/s a GPU's links allow here (the larger of NVLink's 240.0 GB/s per A100-SXM4-80GB GPU (the rate NCCL's model gives its links) and the 25.0 GB/s of a 200 Gb/s NIC per GPU)"),
            "{n:?}"
        );
        // An all-to-all over two 8-GPU servers: 8 of each rank's 15 blocks leave the
        // server, so its NIC's line rate of 50 GB/s bounds the busbw to 50 x 15 / 8 =
        // 93.75, whatever NVLink gives (helper-124: 310 GB/s passed).
        let a2a = COLL
            .replace("all_reduce", "all_to_all")
            .replace("gpus_per_node = 1", "gpus_per_node = 8")
            .replace("[24.6]", "[310.0]");
        let n = notes(&a2a);
        assert!(
            n.len() == 1
                && n[0].contains("above the 93.8 GB/s")
                && n[0].contains("over the 53% of an all-to-all's bytes that leave the server"),
            "{n:?}"
        );
        // 900 GB/s of all-reduce on two H100 servers: past twice NVLink's 370.8 (NVLS).
        let h100 = COLL
            .replace("gpus_per_node = 1", "gpus_per_node = 8")
            .replace("[24.6]", "[900.0]");
        let n = notes(&h100);
        assert!(
            n.len() == 1
                && n[0].contains("above the 741.6 GB/s")
                && n[0].contains("twice that for an all-reduce"),
            "{n:?}"
        );
    }

    #[test]
    fn a_missing_field_comes_with_every_field_of_the_kind() {
        let coll = COLL.replace("source = \"s\"\n", "");
        let e = parse_cases("c.toml", &coll).unwrap_err().to_string();
        assert!(
            e.contains(
                "missing field `source` (the fields of a collective case: id, source, op, gpu,"
            ),
            "{e}"
        );
        let e = parse_cases("t.toml", &ONE.replace("source = ", "# source = "))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("(the fields of a training case: id, source,"),
            "{e}"
        );
        assert!(e.contains("measured_step_time_s"), "{e}");
    }

    /// ONE in format v2: the model fields in a `[case.model]` table.
    fn one_v2() -> String {
        let mut t: toml::Table = toml::from_str(ONE).unwrap();
        let case = t["case"].as_array_mut().unwrap()[0].as_table_mut().unwrap();
        let mut model = toml::Table::new();
        for k in V1_MODEL_FIELDS.split(", ") {
            model.insert(k.into(), case.remove(k).unwrap());
        }
        case.insert("model".into(), model.into());
        toml::to_string(&t).unwrap()
    }

    fn training(text: &str) -> Vec<TrainingCase> {
        match parse_cases("t.toml", text).unwrap() {
            CaseFile::Training(c) => c,
            CaseFile::Collective(_) => panic!("expected training cases"),
        }
    }

    #[test]
    fn a_v1_case_is_the_scenario_it_always_was() {
        let c = &training(ONE)[0];
        assert_eq!(c.format, 1);
        // The mapping of format v1 onto a scenario, written out field by field.
        let want = ModelFile {
            name: Some("t".into()),
            layers: Some(4),
            hidden: Some(1024),
            heads: Some(8),
            kv_heads: Some(8),
            ffn_hidden: Some(4096),
            vocab: Some(32000),
            mlp: Some(MlpKind::Standard),
            moe_experts: Some(0),
            moe_topk: Some(0),
            ..Default::default()
        };
        let sf = c.scenario();
        assert_eq!(sf.model, want);
        assert_eq!(sf.parallel.etp, None);
        assert_eq!(sf.parallel.tp, Some(2));
        assert_eq!(sf.training.seq_len, Some(2048));
    }

    #[test]
    fn every_compiled_in_v1_case_reads_the_same_in_v2() {
        // Each training case of the suites, rewritten with its model in a [case.model]
        // table, is the same scenario and the same prediction.
        for suite in SUITES {
            let Ok(CaseFile::Training(v1)) = suite.cases() else {
                continue;
            };
            // The v1 cases only (a suite may hold v2 cases too).
            let v1: Vec<_> = v1.into_iter().filter(|c| c.format == 1).collect();
            let mut t: toml::Table = toml::from_str(suite.text).unwrap();
            let cases = t["case"].as_array_mut().unwrap();
            cases.retain(|c| !c.as_table().unwrap().contains_key("model"));
            for case in cases {
                let case = case.as_table_mut().unwrap();
                let mut model = toml::Table::new();
                for k in V1_MODEL_FIELDS.split(", ") {
                    model.insert(k.into(), case.remove(k).unwrap());
                }
                case.insert("model".into(), model.into());
            }
            let v2 = training(&toml::to_string(&t).unwrap());
            assert_eq!(v1.len(), v2.len());
            for (a, b) in v1.iter().zip(&v2) {
                assert_eq!((a.format, b.format), (1, 2), "{}", a.id);
                assert_eq!(a.scenario(), b.scenario(), "{}", a.id);
                let (sa, sb) = (
                    a.scenario().validate().unwrap(),
                    b.scenario().validate().unwrap(),
                );
                assert_eq!(simulate_step(&sa).time, simulate_step(&sb).time, "{}", a.id);
            }
        }
    }

    #[test]
    fn a_v2_case_carries_a_whole_model_section() {
        // A DeepSeek-V3-shaped MoE (2 layers: one dense, one MoE) with MLA and MTP, and
        // expert tensor parallelism.
        let text = ONE.replace(
            "layers = 4\nhidden = 1024\nheads = 8\nkv_heads = 8\nffn_hidden = 4096\nmlp = \"standard\"\nvocab = 32000\n",
            "",
        )
        .replace("moe_experts = 0\nmoe_topk = 0\n", "")
        .replace("ep = 1\n", "ep = 4\netp = 1\n")
        + r#"
[case.model]
name = "mini-v3"
layers = 2
hidden = 1024
heads = 8
ffn_hidden = 4096
moe_ffn_hidden = 512
moe_shared_ffn = 512
moe_experts = 16
moe_topk = 4
moe_dense_layers = [0]
mla_kv_lora_rank = 128
mla_q_lora_rank = 256
mla_qk_nope_dim = 64
mla_qk_rope_dim = 32
mla_v_dim = 64
mtp_layers = 1
mlp = "gated"
vocab = 32000
"#;
        let c = &training(&text)[0];
        assert_eq!((c.format, c.etp), (2, Some(1)));
        let sf = c.scenario();
        assert_eq!(sf.model.name.as_deref(), Some("mini-v3"));
        assert_eq!(sf.parallel.etp, Some(1));
        let sc = sf.validate().unwrap();
        let moe = sc.model.moe.as_ref().unwrap();
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (16, 4, 512));
        assert_eq!(moe.dense_layers, vec![0]);
        assert_eq!(sc.model.mla.unwrap().kv_lora_rank, 128);
        assert_eq!(sc.model.mtp_layers, 1);
        assert_eq!((sc.plan.ep, sc.plan.etp), (4, 1));
        let Report::Training { cases, .. } =
            run_cases(&CaseFile::Training(vec![c.clone()]), true).unwrap()
        else {
            panic!()
        };
        let p = cases[0].predicted_step_time_s.unwrap();
        assert!(p.is_finite() && p > 0.0, "{p}");
        // A preset is a model too; changed by the case's fields, the model is named for
        // the preset and the change.
        let preset = one_v2().replace("[case.model]", "[case.model]\npreset = \"llama3-8b\"");
        let preset = preset.replace("mlp = \"standard\"\n", "");
        let sc = training(&preset)[0].scenario().validate().unwrap();
        let name = model_preset("llama3-8b").unwrap().name.unwrap();
        assert!(
            sc.model.name.starts_with(&format!("{name} with ")),
            "{}",
            sc.model.name
        );
        assert_eq!(sc.model.layers, 4, "the case's fields over the preset's");
    }

    #[test]
    fn the_readme_v2_example_reads_and_runs() {
        let readme = include_str!("../../../../validation/README.md");
        let start = readme.find("```toml\n[[case]]").expect("a v2 example") + "```toml\n".len();
        let end = start + readme[start..].find("```").unwrap();
        let cases = training(&readme[start..end]);
        assert_eq!(cases[0].format, 2);
        let Report::Training { cases, .. } = run_cases(&CaseFile::Training(cases), true).unwrap()
        else {
            panic!()
        };
        assert!(
            cases[0].predicted_step_time_s.unwrap() > 0.0,
            "{:?}",
            cases[0]
        );
    }

    /// The README's `mlp` row names every value the parser takes, and only those.
    #[test]
    fn the_readme_lists_the_mlp_kinds_the_parser_takes() {
        let readme = include_str!("../../../../validation/README.md");
        let row = readme.lines().find(|l| l.starts_with("| mlp |")).unwrap();
        let mut listed: Vec<&str> = row.split('`').skip(1).step_by(2).collect();
        listed.sort();
        let parse = |name: &str| toml::Value::String(name.into()).try_into::<MlpKind>();
        let e = parse("nope").unwrap_err().to_string();
        let mut taken: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
        taken.sort();
        assert_eq!(listed, taken, "{row} / {e}");
        assert!(listed.iter().all(|k| parse(k).is_ok()));
    }

    #[test]
    fn a_v2_case_carries_its_recipe() {
        let v2 = one_v2() + "[case.training]\nmain_grads = \"fp32\"\nrecompute_modules = [\"core_attn\", \"layernorm\"]\n";
        let c = &training(&v2)[0];
        let sf = c.scenario();
        assert_eq!(
            sf.training.main_grads,
            Some(crate::workload::plan::GradPrecision::Fp32)
        );
        assert_eq!(sf.training.seq_len, Some(2048));
        let sc = sf.validate().unwrap();
        assert_eq!(sc.run.grad_reduce_bytes(), 4.0);
        assert_eq!(sc.run.recipe.recompute_modules.len(), 2);
        let err = |text: &str| parse_cases("v2.toml", text).unwrap_err().to_string();
        // The recipe table may not repeat what the case gives flat, nor sit in a v1 case.
        let e = err(&(one_v2() + "[case.training]\nseq_len = 4096\n"));
        assert!(e.contains("case 1 (id t): training.seq_len = set"), "{e}");
        let e = err(&(one_v2() + "[case.training]\nmain_gradz = \"fp32\"\n"));
        assert!(e.contains("case 1 (id t): training.main_gradz: unknown key `main_gradz`: did you mean `main_grads`? (known keys: "), "{e}");
        // The keys listed are those the table takes: not the ones it refuses as flat.
        let known = e
            .split("(known keys: ")
            .nth(1)
            .unwrap()
            .trim_end_matches(')');
        let known: Vec<&str> = known.split(", ").collect();
        assert_eq!(known, recipe_fields(), "{e}");
        for flat in FLAT_TRAINING_FIELDS {
            assert!(!known.contains(&flat), "{flat}: {e}");
        }
        let e = err(&(ONE.to_string() + "[case.training]\nep_overlap = true\n"));
        assert!(
            e.contains("case 1 (id t): training") && e.contains("format v2"),
            "{e}"
        );
    }

    #[test]
    fn an_assumed_entry_that_states_a_recipe_value_sets_it() {
        use crate::workload::plan::{AttentionKernel, CrossEntropy};
        let with = |assumed: &str| ONE.replace("assumed = []", &format!("assumed = {assumed}"));
        let c = &training(&with(
            r#"["attention: unfused (the scores in HBM; before FlashAttention)", "cross_entropy = 'unfused': separate FP32 ops", "dp_overlap = false: reduced after the backward", "vpp = 1: not stated", "recompute = 'full': the case's own field"]"#,
        ))[0];
        assert_eq!(c.recipe.attention, Some(AttentionKernel::Unfused));
        assert_eq!(c.recipe.cross_entropy, Some(CrossEntropy::Unfused));
        assert_eq!(c.recipe.dp_overlap, Some(false));
        assert_eq!(c.recipe.pp_overlap, None);
        assert_eq!(
            c.recipe_assumed,
            [
                r#"attention = "unfused""#,
                r#"cross_entropy = "unfused""#,
                "dp_overlap = false"
            ]
        );
        // The case's own fields stay the case's: `recompute` is not read from the text.
        assert_eq!(c.recompute, Recompute::Selective);
        assert!(c.assumed_unread.is_empty());
        // A case that states nothing runs on the defaults.
        let plain = &training(ONE)[0];
        assert_eq!(plain.recipe, TrainingFile::default());
        // The stated values reach the scenario, and change the prediction.
        let step = |c: &TrainingCase| {
            let sc = c.scenario().validate().unwrap();
            crate::step::simulate(&sc, StepModel::Timeline, &Default::default())
                .unwrap()
                .result
                .time
                .0
        };
        assert!(step(c) > step(plain), "{} vs {}", step(c), step(plain));
        // A recipe field with a value it does not take stays text, and says why.
        let c = &training(&with(
            r#"["attention: not stated, FlashAttention-2 likely"]"#,
        ))[0];
        assert_eq!(c.recipe.attention, None);
        assert!(
            c.assumed_unread[0]
                .contains("assumed[0] names the recipe field attention with \"not\"")
                && c.assumed_unread[0].contains("fused"),
            "{:?}",
            c.assumed_unread
        );
    }

    #[test]
    fn assumed_entries_are_read_as_people_write_them() {
        let fields = recipe_fields();
        let clauses = |e: &str| {
            opening_clauses(e, &fields)
                .into_iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c.key,
                        c.words.map(|w| w.join("+")).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (entry, read) in [
            ("attention: unfused (why)", "attention=unfused"),
            ("Attention: Unfused.", "attention=unfused"),
            ("- 'dp-overlap' = False; why", "dp_overlap=false"),
            ("cross_entropy = 'unfused': why", "cross_entropy=unfused"),
            (
                "main_grads = fp32, optimizer_states = bf16: why",
                "main_grads=fp32 optimizer_states=bf16",
            ),
            (
                "attention: unfused and dp_overlap: false",
                "attention=unfused dp_overlap=false",
            ),
            (
                "recompute_modules = core_attn,layernorm: why",
                "recompute_modules=core_attn+layernorm",
            ),
            (
                "recompute_modules = [\"core_attn\", layernorm]: why",
                "recompute_modules=core_attn+layernorm",
            ),
            (
                "sequence_parallel = true, recompute = 'selective': why",
                "sequence_parallel=true recompute=selective",
            ),
            ("attention:", "attention="),
            (
                "recompute_modules = core_attn and layernorm",
                "recompute_modules=core_attn+layernorm",
            ),
            (
                "attention: unfused, the run predates FA",
                "attention=unfused",
            ),
            (
                "recompute_modules: core_attn, as Megatron does",
                "recompute_modules=core_attn",
            ),
            ("175B: 128 heads of 96", "175b=128"),
            ("1. attention: unfused", "attention=unfused"),
            ("12) dp_overlap = false", "dp_overlap=false"),
            ("1.5x: why", ""),
            ("(a) attention: unfused", "attention=unfused"),
            ("b) dp_overlap = false", "dp_overlap=false"),
            ("ab) dp_overlap = false", ""),
            ("the run predates FlashAttention", ""),
        ] {
            assert_eq!(clauses(entry), read, "{entry}");
        }
        let with = |assumed: &str| ONE.replace("assumed = []", &format!("assumed = {assumed}"));
        let c = &training(&with(
            r#"["main_grads = fp32, optimizer_states = bf16: why", "recompute_modules = core_attn, layernorm: why"]"#,
        ))[0];
        assert_eq!(
            c.recipe_assumed,
            [
                r#"main_grads = "fp32""#,
                r#"optimizer_states = "bf16""#,
                r#"recompute_modules = ["core_attn", "layernorm"]"#
            ]
        );
        let c = &training(&with(r#"["recompute_modules = [banana]", "attention:"]"#))[0];
        assert_eq!(c.recipe, TrainingFile::default());
        assert!(
            c.assumed_unread[0].contains("recompute_modules with \"banana\"")
                && c.assumed_unread[1].contains("attention without a value"),
            "{:?}",
            c.assumed_unread
        );
        // What is not read is said: a list item without its comma, a second value, a
        // field's name without its separator. Prose after a value is not.
        let c = &training(&with(
            r#"["recompute_modules = core_attn layernorm", "attention: unfused, flash2", "dp_overlap — false", "cross_entropy: unfused, the run predates TE", "cp_comm: p2p (all_gather came later)", "moe_dispatcher: alltoall or allgather"]"#,
        ))[0];
        assert_eq!(
            c.recipe_assumed,
            [
                r#"recompute_modules = ["core_attn"]"#,
                r#"attention = "unfused""#,
                r#"cross_entropy = "unfused""#,
                r#"cp_comm = "p2p""#,
                r#"moe_dispatcher = "alltoall""#,
            ]
        );
        assert_eq!(c.assumed_unread.len(), 4, "{:#?}", c.assumed_unread);
        assert!(c.assumed_unread[3]
            .starts_with("assumed[5] gives moe_dispatcher \"allgather\" after \"alltoall\""));
        assert!(c.assumed_unread[0]
            .starts_with("assumed[0] gives recompute_modules \"layernorm\" after \"core_attn\""));
        assert!(c.assumed_unread[0].ends_with("(a list's items take commas between them)"));
        assert!(c.assumed_unread[1]
            .starts_with("assumed[1] gives attention \"flash2\" after \"unfused\""));
        assert!(c.assumed_unread[1].ends_with("(the field takes one value)"));
        assert!(c.assumed_unread[2]
            .starts_with("assumed[2] opens with the recipe field dp_overlap, but not as"));
    }

    #[test]
    fn an_assumed_value_may_not_contradict_another_or_the_table() {
        let err = |text: &str| parse_cases("t.toml", text).unwrap_err().to_string();
        let e = err(&ONE.replace(
            "assumed = []",
            r#"assumed = ["dp_overlap = false: one", "dp_overlap: true (two)"]"#,
        ));
        assert!(
            e.contains("case 1 (id t): assumed[1] = dp_overlap = true: the value assumed[0] gives dp_overlap (false)"),
            "{e}"
        );
        let v2 = one_v2().replace("assumed = []", r#"assumed = ["attention: unfused"]"#);
        let e = err(&(v2.clone() + "[case.training]\nattention = \"fused\"\n"));
        assert!(
            e.contains("assumed[0] = attention = \"unfused\": the value training gives attention (\"fused\")"),
            "{e}"
        );
        // The same value in both is one fact said twice: fine, and not counted as read.
        let c = &training(&(v2 + "[case.training]\nattention = \"unfused\"\n"))[0];
        assert!(c.recipe_assumed.is_empty());
        // A list is a set: the same modules in another order agree.
        let listed = one_v2().replace(
            "assumed = []",
            r#"assumed = ["recompute_modules = core_attn, layernorm: why"]"#,
        ) + "[case.training]\nrecompute_modules = [\"layernorm\", \"core_attn\"]\n";
        assert!(training(&listed)[0].recipe_assumed.is_empty());
        assert_eq!(
            c.recipe.attention,
            Some(crate::workload::plan::AttentionKernel::Unfused)
        );
    }

    #[test]
    fn malformed_v2_cases_get_one_clear_error() {
        let v2 = one_v2();
        let err = |text: &str| parse_cases("v2.toml", text).unwrap_err().to_string();
        // Both the table and flat fields: named, both.
        let e = err(&v2.replace("[case.model]", "layers = 4\nvocab = 7\n[case.model]"));
        assert!(
            e.contains("case 1 (id t): model")
                && e.contains("layers, vocab")
                && e.contains("one or the other"),
            "{e}"
        );
        // Unknown and mistyped fields of the model table name the table.
        let e = err(&v2.replace("[case.model]", "[case.model]\nlayerz = 3"));
        assert!(
            e.contains("case 1 (id t): model.layerz: unknown key `layerz`: did you mean `layers`?"),
            "{e}"
        );
        let e = err(&v2.replace("layers = 4", "layers = \"four\""));
        assert!(
            e.contains("case 1 (id t): model.layers: invalid type"),
            "{e}"
        );
        // A model that is not one.
        let e = err(&v2.replace("layers = 4\n", ""));
        assert!(e.contains("case 1 (id t): model.layers = missing"), "{e}");
        let e = err(&v2.replace("[case.model]", "[case.model]\npreset = \"gpt5\""));
        assert!(
            e.contains("case 1 (id t): model.preset = gpt5: one of gpt3-175b"),
            "{e}"
        );
        // No model at all.
        let flat: Vec<String> = V1_MODEL_FIELDS
            .split(", ")
            .map(|k| format!("{k} = "))
            .collect();
        let none: String = ONE
            .lines()
            .filter(|l| !flat.iter().any(|f| l.starts_with(f.as_str())))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = err(&none);
        assert!(
            e.contains("model = missing") && e.contains("[case.model]"),
            "{e}"
        );
        // `model` as a value, not a table.
        let e = err(&none.replace("seq_len", "model = \"llama\"\nseq_len"));
        assert!(e.contains("model = string") && e.contains("a table"), "{e}");
        // A v1 case missing one flat field names it; etp is v2's.
        let e = err(&ONE.replace("vocab = 32000\n", ""));
        assert!(e.contains("case 1 (id t): missing field `vocab`"), "{e}");
        // Several missing are named at once, not one per run.
        let e = err(&ONE
            .replace("vocab = 32000\n", "")
            .replace("hidden = 1024\n", ""));
        assert!(e.contains("missing fields `hidden`, `vocab`"), "{e}");
        // A dense case may leave out the experts, how its time was had (measured) and
        // its assumptions (none); one expert field without the other is missing one.
        let lean = ONE
            .replace("moe_experts = 0\n", "")
            .replace("moe_topk = 0\n", "")
            .replace("step_time_is = \"measured\"\n", "")
            .replace("assumed = []\n", "");
        let CaseFile::Training(cases) = parse_cases("f", &lean).unwrap() else {
            panic!()
        };
        let CaseFile::Training(full) = parse_cases("f", ONE).unwrap() else {
            panic!()
        };
        assert_eq!(cases, full);
        let e = err(&ONE.replace("moe_topk = 0\n", ""));
        assert!(e.contains("missing field `moe_topk`"), "{e}");
        let e = err(&ONE.replace("ep = 1\n", "ep = 1\netp = 1\n"));
        assert!(
            e.contains("case 1 (id t): etp = 1") && e.contains("format v2"),
            "{e}"
        );
        // Every error is one line.
        assert!(!e.contains('\n'));
    }

    #[test]
    fn a_case_that_names_its_routing_runs_at_flow_level() {
        let v2 = one_v2();
        let with = |r: &str| v2.replace("ep = 1\n", &format!("ep = 1\nrouting = \"{r}\"\n"));
        let c = &training(&with("ecmp"))[0];
        assert_eq!(c.routing, Some(Routing::Ecmp));
        let sc = c.scenario().validate().unwrap();
        assert_eq!(
            (sc.network, sc.routing),
            (NetworkModel::Flow, Routing::Ecmp)
        );
        let plain = training(&v2)[0].scenario().validate().unwrap();
        assert_eq!(plain.network, NetworkModel::Analytical);
        let f = parse_cases("r.toml", &with("adaptive")).unwrap();
        let Report::Training { cases, .. } = run_cases(&f, true).unwrap() else {
            panic!("training report")
        };
        assert!(cases[0].predicted_step_time_s.is_some_and(|t| t > 0.0));
        // A v1 case has no such field.
        let e = parse_cases(
            "v1.toml",
            &ONE.replace("ep = 1\n", "ep = 1\nrouting = \"ecmp\"\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("routing") && e.contains("format v2"), "{e}");
    }

    #[test]
    fn series_group_strong_then_weak_scaling_and_compare_their_trend() {
        // Four runs of one model and plan: a strong pair at global batch 16 (16 and 32
        // GPUs), a weak pair at one sequence per GPU (64 and 128 GPUs); a lone run of
        // another model, and one on slower NICs.
        let case = |id: &str, gpus: u64, batch: u64, layers: u32, time: f64| {
            ONE.replace("id = \"t\"", &format!("id = \"{id}\""))
                .replace("gpus = 16", &format!("gpus = {gpus}"))
                .replace("dp = 4", &format!("dp = {}", gpus / 4))
                .replace("global_batch = 16", &format!("global_batch = {batch}"))
                .replace("layers = 4", &format!("layers = {layers}"))
                .replace(
                    "measured_step_time_s = 1.0",
                    &format!("measured_step_time_s = {time}"),
                )
        };
        let text = [
            case("s16", 16, 16, 4, 1.0),
            case("s32", 32, 16, 4, 0.6),
            case("w64", 64, 64, 4, 1.0),
            case("w128", 128, 128, 4, 1.1),
            case("other", 32, 16, 8, 1.0),
            // The strong pair's plan on another network: a series of its own or none.
            case("slow_nic", 32, 16, 4, 0.9)
                .replace("nic_gbps_per_gpu = 400", "nic_gbps_per_gpu = 200"),
        ]
        .concat();
        let f = parse_cases("series.toml", &text).unwrap();
        let Report::Training { cases, series, .. } = run_cases(&f, false).unwrap() else {
            panic!("training report")
        };
        let t = |id: &str| {
            cases
                .iter()
                .find(|c| c.id == id)
                .unwrap()
                .predicted_step_time_s
                .unwrap()
        };
        assert_eq!(series.len(), 2, "{series:?}");
        let (strong, weak) = (&series[0], &series[1]);
        assert_eq!((strong.scaling, strong.gpus), (Scaling::Strong, (16, 32)));
        assert_eq!(strong.ids, ["s16", "s32"]);
        assert!((strong.measured_ratio - 0.6).abs() < 1e-12);
        assert!((strong.predicted_ratio - t("s32") / t("s16")).abs() < 1e-12);
        let e = (strong.predicted_ratio / 0.6 - 1.0) * 100.0;
        assert!((strong.error_pct - e).abs() < 1e-9);
        assert_eq!((weak.scaling, weak.gpus), (Scaling::Weak, (64, 128)));
        assert_eq!(weak.ids, ["w64", "w128"]);
        assert!((weak.measured_ratio - 1.1).abs() < 1e-12);
    }

    /// A series is one model however its cases write it: v1's flat fields (experts 0)
    /// and v2's table without the experts are one model, and so is a preset and its
    /// fields written out.
    #[test]
    fn series_group_cases_by_the_model_they_resolve_to() {
        let at = |text: &str, id: &str, gpus: u64| {
            text.replace("id = \"t\"", &format!("id = \"{id}\""))
                .replace("gpus = 16", &format!("gpus = {gpus}"))
                .replace("dp = 4", &format!("dp = {}", gpus / 4))
        };
        let v2 = one_v2()
            .replace("moe_experts = 0\n", "")
            .replace("moe_topk = 0\n", "");
        assert!(!v2.contains("moe_"), "{v2}");
        // Llama 3 8B's shape as fields, and as its preset.
        let llama = |preset: bool| {
            let model = if preset {
                "preset = \"llama3-8b\"\n".to_string()
            } else {
                "layers = 32\nhidden = 4096\nheads = 32\nkv_heads = 8\nffn_hidden = 14336\nvocab = 128256\nmlp = \"gated\"\n".to_string()
            };
            let mut t: toml::Table = toml::from_str(&v2).unwrap();
            let case = t["case"].as_array_mut().unwrap()[0].as_table_mut().unwrap();
            case.insert(
                "model".into(),
                toml::from_str::<toml::Table>(&model).unwrap().into(),
            );
            toml::to_string(&t).unwrap()
        };
        let text = [
            at(ONE, "v1", 16),
            at(&v2, "v2", 32),
            at(&llama(false), "fields", 16),
            at(&llama(true), "preset", 32),
        ]
        .concat();
        let f = parse_cases("series.toml", &text).unwrap();
        let Report::Training { series, .. } = run_cases(&f, false).unwrap() else {
            panic!("training report")
        };
        let ids: Vec<_> = series.iter().map(|s| s.ids.join(" ")).collect();
        assert_eq!(ids, ["v1 v2", "fields preset"], "{series:?}");
    }

    #[test]
    fn summary_statistics() {
        let s = summarize(&[("a".into(), 10.0), ("b".into(), -20.0), ("c".into(), 3.0)]);
        assert_eq!(s.n, 3);
        assert!((s.mape_pct.unwrap() - 11.0).abs() < 1e-12);
        assert_eq!(s.median_ape_pct, Some(10.0));
        assert_eq!(s.max_ape_pct, Some(20.0));
        assert_eq!(s.worst.as_deref(), Some("b"));
        // Nothing compared has no figures, not a perfect 0%.
        let none = summarize(&[]);
        assert_eq!(none.n, 0);
        assert_eq!(
            (
                none.mape_pct,
                none.median_ape_pct,
                none.max_ape_pct,
                none.worst
            ),
            (None, None, None, None)
        );
    }
}
