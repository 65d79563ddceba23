//! Reading a Hugging Face `config.json` into a model section ([`ModelFile`]): dense,
//! mixture-of-experts, multi-head latent attention, sliding or chunked windows and
//! multi-token prediction, read as the `transformers` modeling code builds them (each
//! rule below cites the class it follows, transformers v4.5x); a warning for each
//! architecture field memphis reads but does not model; one clear error for the hybrid
//! architectures it cannot represent (Mamba, RWKV, linear attention).
//!
//! What is left out on purpose, because it changes nothing memphis counts or times
//! (beyond 0.05% of the parameters of any config in `testdata/hf/`): RoPE settings
//! (`rope_scaling`, `partial_rotary_factor`, `no_rope_layers` except as Llama 4's layer
//! pattern), logit soft-capping and `clip_qkv` (element-wise), router details
//! (`scoring_func`, `topk_method`, `norm_topk_prob`, `routed_scaling_factor`,
//! DeepSeek-V3's 256-entry `e_score_correction_bias`, Qwen2-MoE's 1 x h
//! `shared_expert_gate`), the output projection's bias with `attention_bias` (h a
//! layer), gpt-oss's attention sinks (one a head) and expert biases (0.03% of its
//! parameters); the weights among them are named in a warning. Read and modelled:
//! per-head q/k norms (`qk_norm`), Gemma's norms after attention and the MLP
//! (`sandwich_norms`), and DeepSeek's group-limited routing (`n_group`, `topk_group`:
//! `moe_groups`, which a DeepEP dispatch sends fewer bytes for).

use crate::error::{Error, Result};
use crate::scenario::ModelFile;
use crate::workload::MlpKind;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Model families whose MLP is two matrices (GeLU or ReLU between them), matched against
/// `model_type` and the first of `architectures`.
const TWO_MATRIX_FAMILIES: &[&str] = &[
    "gpt2",
    "neox",
    "gptj",
    "gpt_bigcode",
    "opt",
    "bloom",
    "falcon",
    "mpt",
    "codegen",
];

/// Model families whose MLP is gated (SwiGLU, or GeGLU for Gemma's GeLU), whatever
/// their activation is called.
const GATED_FAMILIES: &[&str] = &[
    "llama", "mistral", "mixtral", "qwen", "gemma", "deepseek", "phi3", "olmo", "granite",
    "cohere", "internlm", "baichuan", "glm", "gpt_oss", "dbrx",
];

/// Encoder and encoder-decoder families (bidirectional attention, cross-attention):
/// not decoder-only transformers, so refused by name.
const ENCODER_FAMILIES: &[&str] = &[
    "bert", "roberta", "deberta", "electra", "albert", "mpnet", "t5", "bart", "pegasus", "marian",
    "whisper", "encoder",
];

/// Families whose config class ties the LM head to the embedding when
/// `tie_word_embeddings` is absent (Gemma's and GPT-2's config defaults).
const TIED_BY_DEFAULT: &[&str] = &["gemma", "gpt2"];

/// Families whose attention carries q/k/v biases without a config field saying so
/// (Qwen2 and Qwen2-MoE: `nn.Linear(..., bias=True)` for q, k and v).
const QKV_BIAS_FAMILIES: &[&str] = &["qwen2"];

/// Families whose attention normalizes queries and keys per head with weights
/// (`q_norm`, `k_norm`: RMSNorm(head_dim) each; transformers' modeling_qwen3.py,
/// modeling_gemma3.py).
const QK_NORM_FAMILIES: &[&str] = &["qwen3", "gemma3"];

/// Families with a norm after attention and after the MLP as well as before each
/// (`post_attention_layernorm`, `pre_feedforward_layernorm`, `post_feedforward_layernorm`
/// beside `input_layernorm`; modeling_gemma2.py, modeling_gemma3.py).
const SANDWICH_NORM_FAMILIES: &[&str] = &["gemma2", "gemma3"];

/// Hybrid families memphis cannot represent, matched against `model_type` and the
/// first of `architectures`: (name, what their other layers are).
const HYBRID_FAMILIES: &[(&str, &str)] = &[
    (
        "jamba",
        "Mamba state-space layers between its attention layers",
    ),
    (
        "zamba",
        "Mamba state-space layers with shared attention blocks",
    ),
    (
        "bamba",
        "Mamba-2 state-space layers between its attention layers",
    ),
    ("falcon_h1", "Mamba-2 heads beside its attention heads"),
    ("falconh1", "Mamba-2 heads beside its attention heads"),
    ("nemotron_h", "Mamba-2 layers between its attention layers"),
    ("nemotronh", "Mamba-2 layers between its attention layers"),
    (
        "granitemoehybrid",
        "Mamba-2 layers between its attention layers",
    ),
    ("mamba", "Mamba state-space layers instead of attention"),
    ("rwkv", "RWKV recurrent layers instead of attention"),
    (
        "recurrent_gemma",
        "RG-LRU recurrent layers between its attention layers",
    ),
    (
        "recurrentgemma",
        "RG-LRU recurrent layers between its attention layers",
    ),
    ("xlstm", "xLSTM recurrent layers instead of attention"),
    (
        "lfm2",
        "short-convolution layers between its attention layers",
    ),
    // Qwen3-Next and Qwen3.5: Gated DeltaNet layers, full attention every
    // `full_attention_interval`-th (transformers' configuration_qwen3_next.py derives
    // `layer_types` from it when the config leaves the list out).
    (
        "qwen3_next",
        "Gated DeltaNet linear-attention layers between its attention layers",
    ),
    (
        "qwen3next",
        "Gated DeltaNet linear-attention layers between its attention layers",
    ),
    (
        "qwen3_5",
        "Gated DeltaNet linear-attention layers between its attention layers",
    ),
    ("hybrid", "layers other than attention"),
];

/// Keys that only hybrid configs carry: (key, what it says).
const HYBRID_KEYS: &[(&str, &str)] = &[
    (
        "layers_block_type",
        "the kind of each layer (attention or Mamba)",
    ),
    (
        "attn_layer_period",
        "attention only every k-th layer, Mamba in the others",
    ),
    (
        "hybrid_override_pattern",
        "Mamba, attention and MLP blocks in a pattern",
    ),
    ("block_types", "recurrent and attention blocks"),
    (
        "attn_type_list",
        "linear-attention layers between softmax-attention ones",
    ),
    (
        "full_attention_interval",
        "full attention only every k-th layer, linear attention in the others",
    ),
    ("linear_num_key_heads", "linear-attention layers"),
    ("linear_num_value_heads", "linear-attention layers"),
    ("linear_key_head_dim", "linear-attention layers"),
    ("linear_value_head_dim", "linear-attention layers"),
    ("linear_conv_kernel_dim", "linear-attention layers"),
];

/// Prefixes of keys that only state-space configs carry.
const HYBRID_KEY_PREFIXES: &[&str] = &["mamba_", "ssm_"];

/// The attention kinds of `layer_types` memphis represents.
const SLIDING: &str = "sliding_attention";
const FULL: &str = "full_attention";
const CHUNKED: &str = "chunked_attention";

/// The most decoder layers accepted (ModelSpec::validate's bound), checked before any
/// per-layer list is built.
const MAX_LAYERS: u32 = 100_000;

/// Qwen2Config's, Qwen2MoeConfig's and Qwen3Config's default `max_window_layers`: the
/// first 28 layers keep full attention when `use_sliding_window` is on.
const QWEN_MAX_WINDOW_LAYERS: u64 = 28;

/// Gemma3TextConfig's default `sliding_window_pattern` (v4.50): every 6th layer is
/// global (`is_sliding = bool((layer_idx + 1) % sliding_window_pattern)`).
const GEMMA3_PATTERN: u64 = 6;

/// Llama4TextConfig's default `no_rope_layer_interval`: every 4th layer is a NoPE layer
/// with full attention, the others chunked.
const LLAMA4_NOPE_INTERVAL: u64 = 4;

/// Families whose every linear layer carries a bias, which the parameter count leaves out.
const BIASED_FAMILIES: &[&str] = &["gpt2", "gpt_neox", "gpt_bigcode", "opt", "bloom", "phi"];

/// Families with learned absolute position embeddings, left out of the count too.
const LEARNED_POSITION_FAMILIES: &[&str] = &["gpt2", "gpt_bigcode", "opt"];

/// Gemma3TextConfig's default `vocab_size` (its text_config omits it).
const GEMMA3_VOCAB: u64 = 262_208;

/// Gemma3TextConfig's default `max_position_embeddings`, 128K (transformers'
/// configuration_gemma3.py, from memory ⚠; Gemma 3's stated context): its text_config
/// omits it too.
const GEMMA3_CONTEXT: u64 = 131_072;

/// Qwen2MoeConfig's default `shared_expert_intermediate_size`.
const QWEN2_MOE_SHARED: u64 = 5632;

/// When a Mixtral config names no expert count: MixtralConfig's default
/// `num_local_experts` (a warning says it was assumed).
const MIXTRAL_EXPERTS: u32 = 8;

/// Families whose modeling code has routed experts in every config (`model_type` or
/// architecture names, lower case), with the keys their experts are read from that every
/// config of theirs carries. A config of theirs without its expert count, its top-k or
/// one of these keys is refused, not read with a fallback (dense, Mixtral's top-k, the
/// dense MLP's width, every layer MoE, no shared expert): each family's config class has
/// its own defaults. Mixtral is read with its config's defaults instead, with a warning.
const MOE_FAMILIES: [(&str, &[&str]); 9] = [
    ("qwen2_moe", &["moe_intermediate_size"]),
    ("qwen3_moe", &["moe_intermediate_size"]),
    (
        "deepseek_v2",
        &[
            "moe_intermediate_size",
            "n_shared_experts",
            "first_k_dense_replace",
        ],
    ),
    (
        "deepseek_v3",
        &[
            "moe_intermediate_size",
            "n_shared_experts",
            "first_k_dense_replace",
        ],
    ),
    ("dbrx", &["ffn_config.ffn_hidden_size"]),
    ("llama4", &["intermediate_size"]),
    ("gpt_oss", &[]),
    ("olmoe", &[]),
    ("granitemoe", &[]),
];

/// `model_type`s whose modeling code in transformers has no experts: a config of one
/// that carries an expert count anyway (a key left from a conversion) loads as a dense
/// model there, so it is read as one, with a warning. Exact names: `qwen2_moe` and
/// `llama4` are other families.
const DENSE_MODEL_TYPES: &[&str] = &[
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "gemma",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "phi3",
    "olmo",
    "olmo2",
    "granite",
    "cohere",
    "starcoder2",
    "gpt2",
    "gpt_neox",
    "gptj",
    "gpt_bigcode",
    "opt",
    "bloom",
    "falcon",
    "mpt",
    "codegen",
];

/// The MoE family of [`MOE_FAMILIES`] a config belongs to, with its keys.
fn moe_family(family: &Family) -> Option<(&'static str, &'static [&'static str])> {
    MOE_FAMILIES.into_iter().find(|(name, _)| family.find(name))
}

/// When an MoE config names no top-k: MixtralConfig's default `num_experts_per_tok`
/// (a warning says it was assumed).
const DEFAULT_TOPK: u32 = 2;

type Obj = Map<String, Value>;

/// A config.json: the language model's keys (`text_config` of a multimodal config, then
/// the top level).
struct Config<'a> {
    context: &'a str,
    top: &'a Obj,
    text: Option<&'a Obj>,
    /// Every key asked for (`get`), found or not: what a key one slip from an unset one
    /// is checked against ([`misspelt_keys`]).
    asked: std::cell::RefCell<BTreeSet<String>>,
}

impl<'a> Config<'a> {
    /// Key `k` of the language model and its name in messages: `text_config` first, then
    /// the top level; `section.key` is a key of a nested object of the top level (DBRX's
    /// `attn_config` and `ffn_config`). A key set to null is absent (GPT-2's
    /// `"n_inner": null` means the default).
    fn get(&self, k: &str) -> Option<(String, &'a Value)> {
        self.asked.borrow_mut().insert(k.to_string());
        self.lookup(k)
    }

    /// [`Self::get`] without counting the key as asked.
    fn lookup(&self, k: &str) -> Option<(String, &'a Value)> {
        if let Some((section, key)) = k.split_once('.') {
            let x = self.top.get(section)?.as_object()?.get(key)?;
            return (!x.is_null()).then(|| (k.to_string(), x));
        }
        if let Some(x) = self.text.and_then(|t| t.get(k)).filter(|x| !x.is_null()) {
            return Some((format!("text_config.{k}"), x));
        }
        self.top
            .get(k)
            .filter(|x| !x.is_null())
            .map(|x| (k.to_string(), x))
    }

    fn field(&self, name: &str) -> String {
        format!("{}: {name}", self.context)
    }

    fn bad(&self, name: &str, value: impl ToString, allowed: impl Into<String>) -> Error {
        Error::invalid(self.field(name), value, allowed)
    }

    /// A model error in the config's own terms: `model.heads` becomes the key it was
    /// read from (`num_attention_heads`), memphis's name kept after it. Fields the config
    /// does not set keep memphis's name, with the file as context.
    fn in_config_terms(&self, e: Error) -> Error {
        let Error::Invalid {
            field,
            value,
            allowed,
        } = e
        else {
            return Error::parse(self.context, e);
        };
        let key = field.strip_prefix("model.").and_then(|f| {
            let (_, keys) = FIELD_KEYS.iter().find(|(name, _)| *name == f)?;
            keys.iter().find_map(|k| self.get(k)).map(|(name, _)| name)
        });
        match key {
            Some(key) => Error::invalid(self.field(&key), value, format!("{allowed} ({field})")),
            None => Error::invalid(self.field(&field), value, allowed),
        }
    }

    fn missing(&self, name: &str, why: &str) -> Error {
        // Null reads as unset (see `get`): a required key set so is named as it is.
        if self.keys().any(|(k, v)| k == name && v.is_null()) {
            return self.bad(
                name,
                "null",
                format!("required in config.json{why}: a value, not null"),
            );
        }
        // A key one slip from the one missing is likely it, misspelt.
        let near = crate::error::nearest(name, self.keys().map(|(k, _)| k.as_str()))
            .map(|k| format!(" (it has '{k}': misspelt?)"))
            .unwrap_or_default();
        self.bad(
            name,
            "missing",
            format!("required in config.json{why}{near}"),
        )
    }

    /// The first of `keys` present, as a non-negative integer, with its name.
    fn uint(&self, keys: &[&str]) -> Result<Option<(String, u64)>> {
        for k in keys {
            if let Some((name, x)) = self.get(k) {
                // A whole number past u64 reads as a float (1e+40): its fault is its size.
                let too_big = x.as_f64().is_some_and(|f| f >= 1.0 && f.fract() == 0.0);
                let allowed = if too_big {
                    "an integer below 2^64"
                } else {
                    "a non-negative integer"
                };
                let n = x
                    .as_u64()
                    .ok_or_else(|| self.bad(&name, short_value(x), allowed))?;
                return Ok(Some((name, n)));
            }
        }
        Ok(None)
    }

    fn u64_of(&self, keys: &[&str]) -> Result<Option<u64>> {
        Ok(self.uint(keys)?.map(|(_, n)| n))
    }

    fn u32_of(&self, keys: &[&str]) -> Result<Option<u32>> {
        match self.uint(keys)? {
            None => Ok(None),
            Some((name, n)) => u32::try_from(n)
                .map(Some)
                .map_err(|_| self.bad(&name, n, "an integer below 2^32")),
        }
    }

    /// A period or step (`moe_layer_freq`, `decoder_sparse_step`, ...): at least 1.
    fn period(&self, key: &str) -> Result<Option<u64>> {
        match self.uint(&[key])? {
            Some((name, 0)) => Err(self.bad(&name, 0, "an integer from 1 (every layer)")),
            other => Ok(other.map(|(_, n)| n)),
        }
    }

    fn boolean(&self, k: &str) -> Result<Option<bool>> {
        self.get(k)
            .map(|(name, x)| {
                x.as_bool()
                    .ok_or_else(|| self.bad(&name, short_value(x), "true or false"))
            })
            .transpose()
    }

    /// A list of non-negative integers (layer indices, flags).
    fn uint_list(&self, k: &str) -> Result<Option<(String, Vec<u64>)>> {
        let Some((name, x)) = self.get(k) else {
            return Ok(None);
        };
        let list = x
            .as_array()
            .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| self.bad(&name, short_value(x), "a list of non-negative integers"))?;
        Ok(Some((name, list)))
    }

    /// A list of strings (`layer_types`).
    fn str_list(&self, k: &str) -> Result<Option<(String, Vec<&'a str>)>> {
        let Some((name, x)) = self.get(k) else {
            return Ok(None);
        };
        let list = x
            .as_array()
            .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<&str>>>())
            .ok_or_else(|| self.bad(&name, short_value(x), "a list of strings"))?;
        Ok(Some((name, list)))
    }

    /// The first of `keys` that is a string, lowercased ("" if none).
    fn string(&self, keys: &[&str]) -> String {
        keys.iter()
            .find_map(|k| self.get(k).and_then(|(_, a)| a.as_str()))
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    /// Every key of the language model (top level and `text_config`), for the hybrid
    /// checks.
    fn keys(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.top.iter().chain(self.text.into_iter().flatten())
    }
}

/// Keys read other than through [`Config::get`] (the family, the name, the nested
/// configs of other modalities) or that hold the language model's keys.
const READ_DIRECTLY: &[&str] = &[
    "model_type",
    "architectures",
    "_name_or_path",
    "text_config",
    "q_lora_rank",
    "vision_config",
    "audio_config",
    "vision_tower",
];

/// A key memphis does not read, one slip from a key it asked for and did not find
/// (`kv_n_head` for DBRX's `attn_config.kv_n_heads`, `sliding_windw`): that key then
/// reads as unset, its default taken in silence, so the likely typo is said. Keys the
/// config has for other purposes are many; only near misses of a key asked for and
/// absent are named.
fn misspelt_keys(c: &Config, warnings: &mut Vec<String>) {
    let asked = c.asked.borrow();
    let unset: Vec<&str> = asked
        .iter()
        .map(String::as_str)
        .filter(|k| c.lookup(k).is_none())
        .collect();
    // The config's keys as `get` names them: top level, text_config's, and the nested
    // sections asked into (DBRX's attn_config and ffn_config).
    let mut keys: Vec<(String, String)> = Vec::new();
    for (k, _) in c.top.iter() {
        keys.push((k.clone(), k.clone()));
    }
    for (k, _) in c.text.into_iter().flatten() {
        keys.push((k.clone(), format!("text_config.{k}")));
    }
    for section in asked
        .iter()
        .filter_map(|k| k.split_once('.').map(|(s, _)| s))
    {
        if let Some(obj) = c.top.get(section).and_then(Value::as_object) {
            for (k, _) in obj {
                let key = format!("{section}.{k}");
                keys.push((key.clone(), key));
            }
        }
    }
    keys.sort();
    keys.dedup();
    // Near means at most two edits, and no more than one per four characters, in keys of
    // six or more: short keys (n_head, d_model) are a slip from too many others. A
    // heuristic of ours, checked against the 18 shared configs (no key said).
    for (key, shown) in keys {
        if asked.contains(&key) || READ_DIRECTLY.contains(&key.as_str()) || key.len() < 6 {
            continue;
        }
        let near = unset
            .iter()
            .map(|u| (crate::error::edit_distance(&key, u), *u))
            .filter(|&(d, _)| d <= 2 && 4 * d <= key.len())
            .min();
        if let Some((_, want)) = near {
            warnings.push(format!(
                "{}: {shown} is not a key memphis reads, and {want} is not set: misspelt? ({want} is read as unset, its default taken)",
                c.context
            ));
        }
    }
}

/// Whether a config value changes something: not null, false, 0, "" or [].
fn sets_something(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) => true,
    }
}

/// A config value for a message: arrays longer than 4 by their length, objects by
/// their keys.
fn short_value(v: &Value) -> String {
    match v {
        Value::Array(a) if a.len() > 4 => format!("[{} entries]", a.len()),
        Value::Object(o) => format!("{{{} keys}}", o.len()),
        _ => v.to_string(),
    }
}

/// The counts of each distinct entry of a list, in first-seen order, the first four:
/// "48 x a, 16 x b". O(n log n), whatever the list holds.
fn tally(list: &[&str]) -> String {
    let mut seen: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (i, s) in list.iter().enumerate() {
        seen.entry(s).or_insert((i, 0)).1 += 1;
    }
    let mut order: Vec<(usize, usize, &str)> = seen
        .into_iter()
        .map(|(s, (first, n))| (first, n, s))
        .collect();
    order.sort_unstable();
    let mut out: Vec<String> = order
        .iter()
        .take(4)
        .map(|(_, n, s)| format!("{n} x {s}"))
        .collect();
    if order.len() > 4 {
        out.push(format!("{} more kinds", order.len() - 4));
    }
    out.join(", ")
}

/// Reads a Hugging Face `config.json`. Multimodal configs (Gemma 3, Llama 4, Qwen3.5)
/// nest the language model under `text_config`: its keys are read there first, then at
/// the top level. Architecture fields memphis does not model become `warnings`; hybrid
/// architectures are an error.
pub fn model_from_hf_config(context: &str, json: &str) -> Result<ModelFile> {
    let v: Value = serde_json::from_str(json).map_err(|e| Error::parse(context, e))?;
    let top = v
        .as_object()
        .ok_or_else(|| Error::parse(context, "expected a JSON object"))?;
    let text = match top.get("text_config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => Some(t),
        Some(x) => {
            return Err(Error::invalid(
                format!("{context}: text_config"),
                short_value(x),
                "an object (the language model's config)",
            ))
        }
    };
    let c = Config {
        context,
        top,
        text,
        asked: Default::default(),
    };
    let family = Family::of(&c);
    refuse_hybrids(&c, &family)?;
    refuse_encoders(&c, &family)?;
    let mut warnings = Vec::new();
    let named = !(family.model_type.is_empty() && family.arch.is_empty());
    if named && !family.is(GATED_FAMILIES) && !family.is(TWO_MATRIX_FAMILIES) {
        warnings.push(format!(
            "{context}: model_type = {:?} is not a family memphis knows: read as a decoder-only transformer from its standard fields, the MLP told by its activation",
            family.model_type
        ));
    } else if named && !family.model_type.is_empty() && !family.type_is_known() {
        // Known by its architectures alone: a model_type transformers has no class for
        // (a typo, or a fork's own) is read as the architecture says, but said.
        let arch = c
            .top
            .get("architectures")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .unwrap_or_default();
        warnings.push(format!(
            "{context}: model_type = {:?} is not a family memphis knows: read as its architectures name it ({arch})",
            family.model_type
        ));
    }

    let hidden = c
        .u64_of(HIDDEN_KEYS)?
        .ok_or_else(|| c.missing("hidden_size", ""))?;
    let (layers_key, layers) = match c.uint(LAYERS_KEYS)? {
        Some(x) => x,
        None => return Err(c.missing("num_hidden_layers", "")),
    };
    let layers = u32::try_from(layers)
        .ok()
        .filter(|&n| (1..=MAX_LAYERS).contains(&n))
        .ok_or_else(|| {
            c.bad(
                &layers_key,
                layers,
                format!("an integer from 1 to {MAX_LAYERS}"),
            )
        })?;
    let heads = c
        .u32_of(HEADS_KEYS)?
        .ok_or_else(|| c.missing("num_attention_heads", ""))?;
    let kv_heads = c.u32_of(KV_HEADS_KEYS)?.unwrap_or(heads);
    let act = c.string(ACT_KEYS);
    // The MLP's shape follows the family: GPT-2/NeoX style is two matrices, Llama-style
    // SwiGLU and Gemma's GeGLU (`gelu_pytorch_tanh`) three. An unknown family goes by
    // its activation: SiLU is SwiGLU, GeLU or ReLU a plain MLP.
    let gated = if family.is(TWO_MATRIX_FAMILIES) {
        false
    } else if family.is(GATED_FAMILIES) {
        true
    } else {
        !(act.contains("gelu") || act.contains("relu"))
    };
    if !act.is_empty() && !KNOWN_ACTIVATIONS.contains(&act.as_str()) {
        let key = ACT_KEYS
            .iter()
            .find_map(|k| c.get(k).map(|(name, _)| name))
            .unwrap_or_default();
        warnings.push(format!(
            "{}: {key} = {act} is not an activation transformers knows (ACT2FN), so no model of it loads there: read as {}",
            c.context,
            if gated {
                "a gated MLP (three matrices, as SwiGLU)"
            } else {
                "a plain MLP (two matrices)"
            }
        ));
    }
    // The dense MLP's width: Llama 4 keeps its dense layers' width in
    // `intermediate_size_mlp` (Llama4TextMLP(config, intermediate_size_mlp)), its
    // experts' in `intermediate_size`; DBRX's is `ffn_config.ffn_hidden_size`, OPT's
    // `ffn_dim`. Unset, the two-matrix families build 4 x hidden (GPT-2's, GPT-J's and
    // BigCode's `n_inner = None`, Falcon's `ffn_hidden_size = None`, BLOOM's and MPT's
    // fixed ratio); a gated family's config class has a default of its own (Llama's
    // 11008, Mistral's 14336), so a dense one is not read without it (an MoE family's
    // keys are checked with its experts, `MOE_FAMILIES`).
    let ffn_given = c.u64_of(FFN_KEYS)?;
    let ffn = ffn_given.unwrap_or(hidden.saturating_mul(4));
    // Gemma 3's text config leaves the vocabulary at its class default.
    let vocab_default = family
        .model_type
        .starts_with("gemma3")
        .then_some(GEMMA3_VOCAB);
    let vocab = c
        .u64_of(VOCAB_KEYS)?
        .or(vocab_default)
        .ok_or_else(|| c.missing("vocab_size", ""))?;
    let tied = c
        .boolean("tie_word_embeddings")?
        .unwrap_or_else(|| family.is(TIED_BY_DEFAULT));
    let qkv_bias = match c.boolean("attention_bias")? {
        Some(b) => b,
        None => c
            .boolean("qkv_bias")?
            .unwrap_or_else(|| family.is(QKV_BIAS_FAMILIES)),
    };
    let moe = read_moe(&c, &family, layers, ffn, &mut warnings)?;
    let mla = read_mla(&c)?;
    attention_widths_taken(&c, &family, mla.is_some(), (hidden, heads), &mut warnings)?;
    let window = read_window(&c, &family, layers, &mut warnings)?;
    let mtp = c.u32_of(&["num_nextn_predict_layers"])?.filter(|&n| n > 0);
    unmodelled(&c, &mut warnings)?;
    if ffn_given.is_none() && gated && moe.is_none() {
        return Err(c.missing(
            "intermediate_size",
            ": the MLP's width, which a gated MLP's config class defaults for itself",
        ));
    }

    let name = top
        .get("_name_or_path")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .or_else(|| {
            std::path::Path::new(context)
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|s| !s.is_empty() && *s != "config")
                .map(String::from)
        })
        .or_else(|| (!family.arch.is_empty()).then(|| family.arch.clone()))
        .unwrap_or_else(|| "hf-model".into());
    let mut file = ModelFile {
        preset: None,
        name: Some(name),
        description: Some(format!("from {context}")),
        layers: Some(layers),
        hidden: Some(hidden),
        heads: Some(heads),
        kv_heads: Some(kv_heads),
        // MLA's head width is its own (qk_nope + qk_rope).
        head_dim: if mla.is_some() {
            None
        } else {
            c.u64_of(HEAD_DIM_KEYS)?
        },
        ffn_hidden: Some(ffn),
        vocab: Some(vocab),
        mlp: Some(if gated {
            MlpKind::Gated
        } else {
            MlpKind::Standard
        }),
        window: window.as_ref().map(|w| w.0),
        window_global_layers: window.and_then(|w| (!w.1.is_empty()).then_some(w.1)),
        mtp_layers: mtp,
        tied_embeddings: Some(tied),
        qkv_bias: Some(qkv_bias),
        qk_norm: family.is(QK_NORM_FAMILIES).then_some(true),
        sandwich_norms: family.is(SANDWICH_NORM_FAMILIES).then_some(true),
        max_seq_len: c.u64_of(CONTEXT_KEYS)?.or(family
            .model_type
            .starts_with("gemma3")
            .then_some(GEMMA3_CONTEXT)),
        warnings,
        ..Default::default()
    };
    if let Some(m) = moe {
        file.moe_experts = Some(m.experts);
        file.moe_topk = Some(m.topk);
        file.moe_ffn_hidden = Some(m.expert_ffn);
        file.moe_shared_ffn = (m.shared_ffn > 0).then_some(m.shared_ffn);
        file.moe_dense_layers = (!m.dense_layers.is_empty()).then_some(m.dense_layers);
        if let Some((groups, kept)) = m.groups {
            file.moe_groups = Some(groups);
            file.moe_groups_per_token = Some(kept);
        }
    }
    if let Some(a) = mla {
        file.mla_q_lora_rank = Some(a.q_lora_rank);
        file.mla_kv_lora_rank = Some(a.kv_lora_rank);
        file.mla_qk_nope_dim = Some(a.qk_nope_dim);
        file.mla_qk_rope_dim = Some(a.qk_rope_dim);
        file.mla_v_dim = Some(a.v_dim);
    }
    // Last, once every key has been asked for (the head width and the context too).
    misspelt_keys(&c, &mut file.warnings);
    // Checked here as well as where a scenario is built, so that a bad value is named
    // by the config key it came from, not by memphis's field.
    file.clone()
        .validate("model")
        .map_err(|e| c.in_config_terms(e))?;
    Ok(file)
}

/// Families whose configs state their own head width (`head_dim`), often not hidden /
/// heads: Qwen3 (Qwen3-30B-A3B: 128 against 2,048 / 32 = 64), Gemma, gpt-oss, Llama 4.
const HEAD_DIM_FAMILIES: &[&str] = &["qwen3", "gemma", "gpt_oss", "llama4"];

/// Families whose models all share KV heads (grouped-query attention): a file of theirs
/// without a KV head count is read as multi-head attention, and said so.
const GQA_FAMILIES: &[&str] = &["qwen3", "mistral", "mixtral", "gemma3", "llama4", "gpt_oss"];

/// Notes for the attention widths a file leaves out, which change the parameter count
/// and the step: a missing `head_dim` where the family states its own (read as hidden
/// / heads), and missing KV heads where the family shares them (read as one KV head per
/// attention head). Either may differ from the family's config class's default ⚠
/// (not looked up here), so the file should say.
fn attention_widths_taken(
    c: &Config,
    family: &Family,
    mla: bool,
    (hidden, heads): (u64, u32),
    warnings: &mut Vec<String>,
) -> Result<()> {
    if !mla && family.is(HEAD_DIM_FAMILIES) && c.u64_of(HEAD_DIM_KEYS)?.is_none() {
        warnings.push(format!(
            "{}: head_dim is missing: hidden_size / num_attention_heads = {} taken, though this family's configs give their own, often another",
            c.context,
            hidden / u64::from(heads.max(1))
        ));
    }
    if !mla && family.is(GQA_FAMILIES) && c.u32_of(KV_HEADS_KEYS)?.is_none() {
        warnings.push(format!(
            "{}: num_key_value_heads is missing: {heads} taken, one a head (multi-head attention), though this family's models share fewer",
            c.context
        ));
    }
    Ok(())
}

/// The config keys each of memphis's model fields is read from, in the order tried.
const HIDDEN_KEYS: &[&str] = &["hidden_size", "n_embd", "d_model"];
const LAYERS_KEYS: &[&str] = &["num_hidden_layers", "n_layer", "num_layers", "n_layers"];
const HEADS_KEYS: &[&str] = &["num_attention_heads", "n_head", "n_heads"];
const KV_HEADS_KEYS: &[&str] = &[
    "num_key_value_heads",
    "num_kv_heads",
    "multi_query_group_num",
    "attn_config.kv_n_heads",
];
const FFN_KEYS: &[&str] = &[
    "intermediate_size_mlp",
    "intermediate_size",
    "n_inner",
    "ffn_hidden_size",
    "ffn_dim",
    "ffn_config.ffn_hidden_size",
];
const VOCAB_KEYS: &[&str] = &["vocab_size", "padded_vocab_size"];
/// The longest sequence the model was built for: DBRX calls it `max_seq_len`, GPT-2
/// `n_positions`, ChatGLM `seq_length`.
const CONTEXT_KEYS: &[&str] = &[
    "max_position_embeddings",
    "max_seq_len",
    "n_positions",
    "seq_length",
];
const HEAD_DIM_KEYS: &[&str] = &["head_dim"];
/// The MLP's activation, by family.
const ACT_KEYS: &[&str] = &["hidden_act", "hidden_activation", "activation_function"];
/// The activations `transformers` builds (`activations.py`, `ACT2CLS`), lower case: a
/// config naming another does not load there.
const KNOWN_ACTIVATIONS: &[&str] = &[
    "gelu",
    "gelu_10",
    "gelu_fast",
    "gelu_new",
    "gelu_python",
    "gelu_pytorch_tanh",
    "gelu_accurate",
    "laplace",
    "leaky_relu",
    "linear",
    "mish",
    "quick_gelu",
    "relu",
    "relu2",
    "relu6",
    "sigmoid",
    "silu",
    "swish",
    "tanh",
    "prelu",
    "xielu",
    // Older configs' names, which their own modeling code maps.
    "gelu_and_mul",
    "swiglu",
    "geglu",
    "squared_relu",
];

/// The routed experts' count, by family.
const EXPERTS_KEYS: &[&str] = &[
    "num_local_experts",
    "num_experts",
    "n_routed_experts",
    "moe_num_experts",
    "ffn_config.moe_num_experts",
];
/// The experts each token is routed to, by family.
const TOPK_KEYS: &[&str] = &[
    "num_experts_per_tok",
    "experts_per_token",
    "moe_top_k",
    "moe_topk",
    "ffn_config.moe_top_k",
];
/// memphis's model fields by the keys above.
const FIELD_KEYS: &[(&str, &[&str])] = &[
    ("hidden", HIDDEN_KEYS),
    ("layers", LAYERS_KEYS),
    ("heads", HEADS_KEYS),
    ("kv_heads", KV_HEADS_KEYS),
    ("ffn_hidden", FFN_KEYS),
    ("vocab", VOCAB_KEYS),
    ("head_dim", HEAD_DIM_KEYS),
    ("moe_experts", EXPERTS_KEYS),
    ("moe_topk", TOPK_KEYS),
];

/// What the config says the model is: `model_type` (the language model's and the top
/// level's) and the first of `architectures`, lowercased.
struct Family {
    model_type: String,
    top_type: String,
    arch: String,
}

impl Family {
    fn of(c: &Config) -> Family {
        let lower =
            |x: Option<&Value>| x.and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
        Family {
            model_type: c.string(&["model_type"]),
            top_type: lower(c.top.get("model_type")),
            arch: lower(
                c.top
                    .get("architectures")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first()),
            ),
        }
    }

    /// Whether the model type or architecture contains one of `names`.
    fn is(&self, names: &[&str]) -> bool {
        names.iter().any(|f| self.find(f))
    }

    /// Whether `model_type` alone names a family memphis knows.
    fn type_is_known(&self) -> bool {
        let known = |t: &str| {
            [GATED_FAMILIES, TWO_MATRIX_FAMILIES, DENSE_MODEL_TYPES]
                .iter()
                .any(|list| list.iter().any(|f| t.contains(f)))
                || MOE_FAMILIES.iter().any(|(f, _)| t.contains(f))
        };
        known(&self.model_type) || known(&self.top_type)
    }

    fn find(&self, name: &str) -> bool {
        self.model_type.contains(name) || self.top_type.contains(name) || self.arch.contains(name)
    }
}

/// One clear error for an architecture whose layers are not all attention: a
/// `layer_types` entry other than full, sliding or chunked attention (Qwen3.5's and
/// Qwen3-Next's `linear_attention`), a hybrid family's name, or a key only hybrids carry.
fn refuse_hybrids(c: &Config, family: &Family) -> Result<()> {
    let cannot = "which memphis cannot represent: it models transformers whose every layer is attention (full, sliding-window or chunked) with a dense or MoE MLP";
    if let Some((name, types)) = c.str_list("layer_types")? {
        let unrepresented = || {
            types
                .iter()
                .filter(|t| ![FULL, SLIDING, CHUNKED].contains(t))
        };
        // The layers that are not attention are named (Granite's list calls its
        // attention layers "attention", beside its "mamba" ones).
        let other = unrepresented()
            .find(|t| **t != "attention")
            .or_else(|| unrepresented().next());
        if let Some(other) = other {
            return Err(c.bad(
                &name,
                format!("[{}]", tally(&types)),
                format!(
                    "a hybrid architecture ({other} layers among its attention layers), {cannot}"
                ),
            ));
        }
    }
    // What gives the hybrid away: its layer-pattern keys first, then state-space keys.
    let named = c
        .keys()
        .filter(|(k, _)| HYBRID_KEYS.iter().any(|(h, _)| h == k));
    let prefixed = c
        .keys()
        .filter(|(k, _)| HYBRID_KEY_PREFIXES.iter().any(|p| k.starts_with(p)));
    let evidence: Vec<String> = named
        .chain(prefixed)
        .filter(|(_, x)| sets_something(x))
        .map(|(k, x)| format!("{k} = {}", short_value(x)))
        .take(3)
        .collect();
    let evidence = if evidence.is_empty() {
        String::new()
    } else {
        format!("; {}", evidence.join(", "))
    };
    if let Some((name, what)) = HYBRID_FAMILIES.iter().find(|(n, _)| family.find(n)) {
        let (field, value) = if family.model_type.contains(name) || family.top_type.contains(name) {
            let t = if family.model_type.contains(name) {
                &family.model_type
            } else {
                &family.top_type
            };
            ("model_type", t.clone())
        } else {
            ("architectures", family.arch.clone())
        };
        // Mamba, RWKV, xLSTM alone are no hybrid: they have no attention at all.
        let kind = if what.ends_with("instead of attention") {
            "an architecture without attention"
        } else {
            "a hybrid architecture"
        };
        return Err(c.bad(field, value, format!("{kind} ({what}{evidence}), {cannot}")));
    }
    if let Some((key, what)) = HYBRID_KEYS
        .iter()
        .find(|(k, _)| c.get(k).is_some_and(|(_, x)| sets_something(x)))
    {
        let x = c.get(key).map(|(_, x)| short_value(x)).unwrap_or_default();
        return Err(c.bad(key, x, format!("a hybrid architecture ({what}), {cannot}")));
    }
    if let Some((k, x)) = c
        .keys()
        .find(|(k, x)| sets_something(x) && HYBRID_KEY_PREFIXES.iter().any(|p| k.starts_with(p)))
    {
        return Err(c.bad(
            k,
            short_value(x),
            format!("a hybrid architecture (state-space layers), {cannot}"),
        ));
    }
    Ok(())
}

/// One clear error for a model that is not decoder-only: an encoder-decoder
/// (`is_encoder_decoder`, T5, BART, Whisper) or an encoder (BERT and its kin, a
/// masked-LM head).
fn refuse_encoders(c: &Config, family: &Family) -> Result<()> {
    let cannot = "which memphis cannot represent: it models decoder-only transformers (causal attention, no encoder)";
    if c.boolean("is_encoder_decoder")? == Some(true) {
        return Err(c.bad(
            "is_encoder_decoder",
            true,
            format!("an encoder-decoder model, {cannot}"),
        ));
    }
    if family.arch.ends_with("formaskedlm") {
        let raw = c
            .top
            .get("architectures")
            .and_then(|a| a.get(0))
            .map_or_else(
                || family.arch.clone(),
                |a| a.as_str().unwrap_or_default().to_string(),
            );
        return Err(c.bad(
            "architectures",
            raw,
            format!("an encoder with a masked-LM head, {cannot}"),
        ));
    }
    if let Some(name) = ENCODER_FAMILIES.iter().find(|n| family.find(n)) {
        return Err(c.bad(
            "model_type",
            family.model_type.clone(),
            format!("an encoder or encoder-decoder family ({name}), {cannot}"),
        ));
    }
    Ok(())
}

/// An MoE as read: the fields of the model section.
struct MoeRead {
    experts: u32,
    topk: u32,
    expert_ffn: u64,
    shared_ffn: u64,
    dense_layers: Vec<u32>,
    /// Group-limited routing: (n_group, topk_group), when it limits anything.
    groups: Option<(u32, u32)>,
}

/// The mixture of experts, if any. Which layers are MoE follows each family's modeling
/// code; when several families' keys are present, a layer is MoE only if every rule says
/// so.
fn read_moe(
    c: &Config,
    family: &Family,
    layers: u32,
    dense_ffn: u64,
    warnings: &mut Vec<String>,
) -> Result<Option<MoeRead>> {
    let mut experts = c.u32_of(EXPERTS_KEYS)?;
    let mut dense_warned = false;
    if let (Some(e), true) = (
        experts.filter(|&e| e > 1),
        DENSE_MODEL_TYPES.contains(&family.model_type.as_str()),
    ) {
        let key = EXPERTS_KEYS
            .iter()
            .find_map(|k| c.get(k).map(|(name, _)| name))
            .unwrap_or_default();
        warnings.push(format!(
            "{}: {key} = {e}: model_type '{}' has no experts in transformers' modeling code, so it loads there as a dense model and is read as one",
            c.context, family.model_type
        ));
        experts = None;
        dense_warned = true;
    }
    // A family whose modeling code is MoE, with no expert count: its config class's
    // default, as `transformers` would load it (MixtralConfig), else refused rather than
    // read as a dense model.
    let experts = match experts {
        None if family.find("mixtral") => {
            warnings.push(format!(
                "{}: num_local_experts is missing: {MIXTRAL_EXPERTS} experts assumed (MixtralConfig's default)",
                c.context
            ));
            Some(MIXTRAL_EXPERTS)
        }
        None => {
            if let Some((moe, _)) = moe_family(family) {
                return Err(c.bad(
                    "num_experts",
                    "missing",
                    format!("the routed experts' count (num_local_experts, num_experts, n_routed_experts or moe_num_experts): '{moe}' is a mixture-of-experts family"),
                ));
            }
            None
        }
        e => e,
    };
    // One expert (or none) is a dense MLP behind a router of h weights. A mixture-of-
    // experts family with so few is read that way, but said so.
    let Some(experts) = experts.filter(|&e| e > 1) else {
        let moe_family = family.find("mixtral") || moe_family(family).is_some();
        if let (Some(e), true) = (experts, moe_family) {
            warnings.push(format!(
                "{}: {e} routed expert{}: read as a dense MLP (a mixture-of-experts family with fewer than 2 experts routes nothing)",
                c.context,
                if e == 1 { "" } else { "s" }
            ));
        } else if let Some((key, k)) = c.uint(TOPK_KEYS)?.filter(|&(_, k)| k > 0 && !dense_warned) {
            // Routing with nothing to route to: a dense model, said so.
            warnings.push(format!(
                "{}: {key} = {k} with {}: read as a dense model",
                c.context,
                match experts {
                    Some(e) => format!("{e} routed experts"),
                    None => "no routed experts (num_local_experts, num_experts, n_routed_experts or moe_num_experts)".to_string(),
                }
            ));
        }
        return Ok(None);
    };
    let topk = match c.uint(TOPK_KEYS)? {
        // Checked here, before anything derived from it (group-limited routing) would be
        // named for it.
        Some((key, k)) if k == 0 || k > u64::from(experts) => {
            return Err(c.bad(
                &key,
                k,
                format!("1 to the {experts} routed experts a token can be sent to"),
            ))
        }
        Some((_, k)) => k as u32,
        // Each family's config class has its own default (Mixtral 2, Qwen3-MoE and
        // DeepSeek-V3 8, DBRX 1): Mixtral's is taken with a warning, as for its expert
        // count; another family's is refused rather than guessed.
        None if family.find("mixtral") || moe_family(family).is_none() => {
            warnings.push(format!(
                "{}: num_experts_per_tok is missing: {DEFAULT_TOPK} experts per token assumed (MixtralConfig's default)",
                c.context
            ));
            DEFAULT_TOPK
        }
        None => {
            return Err(c.bad(
                "num_experts_per_tok",
                "missing",
                format!(
                    "the experts each token is routed to (num_experts_per_tok, experts_per_token, moe_top_k or moe_topk): the default differs by family, and '{}' is not Mixtral",
                    family.model_type
                ),
            ))
        }
    };
    // The experts' width: DeepSeek's, Qwen-MoE's and GLM's `moe_intermediate_size`;
    // DBRX's `ffn_config.ffn_hidden_size`; Mixtral's, gpt-oss's and Llama 4's
    // `intermediate_size`.
    // The keys the family's experts are read from ([`MOE_FAMILIES`]).
    if let Some((name, keys)) = moe_family(family) {
        if let Some(key) = keys.iter().find(|k| c.get(k).is_none()) {
            return Err(c.missing(
                key,
                &format!(
                    ": '{name}' reads its experts from it, and memphis does not guess its default"
                ),
            ));
        }
    }
    let expert_ffn = c
        .u64_of(&[
            "moe_intermediate_size",
            "ffn_config.ffn_hidden_size",
            "intermediate_size",
        ])?
        .unwrap_or(dense_ffn);
    // Shared experts. DeepSeek (DeepseekV3MoE): one MLP of `moe_intermediate_size x
    // n_shared_experts`. Qwen2-MoE (Qwen2MoeSparseMoeBlock): one of
    // `shared_expert_intermediate_size`. Llama 4 (Llama4TextMoe): always one shared
    // expert, `intermediate_size` wide like the routed ones.
    let shared_ffn = if let Some((name, n)) = c.uint(&["n_shared_experts"])? {
        n.checked_mul(expert_ffn).ok_or_else(|| {
            c.bad(
                &name,
                n,
                "a count whose product with the expert width fits 64 bits",
            )
        })?
    } else if let Some(w) = c.u64_of(&["shared_expert_intermediate_size"])? {
        w
    } else if family.find("llama4") {
        expert_ffn
    } else if family.find("qwen2_moe") {
        QWEN2_MOE_SHARED
    } else {
        0
    };
    let mut is_moe = vec![true; layers as usize];
    // DeepSeek-V2/V3 (DeepseekV3DecoderLayer): layer i is MoE iff
    // i >= first_k_dense_replace and i % moe_layer_freq == 0.
    let first_dense = c.u64_of(&["first_k_dense_replace"])?;
    let freq = c.period("moe_layer_freq")?;
    if first_dense.is_some() || freq.is_some() {
        let (k, f) = (first_dense.unwrap_or(0), freq.unwrap_or(1));
        for (i, m) in is_moe.iter_mut().enumerate() {
            *m &= i as u64 >= k && (i as u64).is_multiple_of(f);
        }
    }
    // Qwen2-MoE / Qwen3-MoE (Qwen2MoeDecoderLayer): layer i is MoE iff it is not in
    // mlp_only_layers and (i + 1) % decoder_sparse_step == 0.
    let step = c.period("decoder_sparse_step")?;
    let only = c.uint_list("mlp_only_layers")?;
    if step.is_some() || only.is_some() {
        let s = step.unwrap_or(1);
        let only = only.map(|(key, list)| warn_beyond_layers(c, &key, list, layers, warnings));
        let only: BTreeSet<u64> = only.unwrap_or_default().into_iter().collect();
        for (i, m) in is_moe.iter_mut().enumerate() {
            *m &= !only.contains(&(i as u64)) && (i as u64 + 1).is_multiple_of(s);
        }
    }
    // Llama 4 (Llama4TextConfig): `moe_layers`, by default every
    // interleave_moe_layer_step-th layer: i is MoE iff (i + 1) % step == 0.
    if let Some((key, list)) = c.uint_list("moe_layers")? {
        let list = warn_beyond_layers(c, &key, list, layers, warnings);
        let list: BTreeSet<u64> = list.into_iter().collect();
        for (i, m) in is_moe.iter_mut().enumerate() {
            *m &= list.contains(&(i as u64));
        }
    } else if let Some(s) = c.period("interleave_moe_layer_step")? {
        for (i, m) in is_moe.iter_mut().enumerate() {
            *m &= (i as u64 + 1).is_multiple_of(s);
        }
    }
    if !is_moe.contains(&true) {
        // Every layer dense: the model HF builds is dense.
        return Ok(None);
    }
    let dense_layers = (0..layers).filter(|&i| !is_moe[i as usize]).collect();
    Ok(Some(MoeRead {
        experts,
        topk,
        expert_ffn,
        shared_ffn,
        dense_layers,
        groups: read_route_groups(c, experts, topk)?,
    }))
}

/// A layer list that names layers the model does not have: Hugging Face's modeling code
/// only asks whether each layer's index is in the list, so the others change nothing.
/// Said, since a list written for another depth is likely a mistake.
fn warn_beyond_layers(
    c: &Config,
    key: &str,
    list: Vec<u64>,
    layers: u32,
    warnings: &mut Vec<String>,
) -> Vec<u64> {
    let beyond: Vec<String> = list
        .iter()
        .filter(|&&i| i >= u64::from(layers))
        .map(u64::to_string)
        .collect();
    if !beyond.is_empty() {
        warnings.push(format!(
            "{}: {key} names layer{} {} of a model with {layers} layers (0 to {}): ignored, as transformers does",
            c.context,
            if beyond.len() == 1 { "" } else { "s" },
            beyond.join(", "),
            layers.saturating_sub(1)
        ));
    }
    list
}

/// DeepSeek's group-limited routing (DeepseekV3TopkRouter): the experts in `n_group`
/// groups, each token's top-k from its best `topk_group` (None when that limits
/// nothing).
fn read_route_groups(c: &Config, experts: u32, topk: u32) -> Result<Option<(u32, u32)>> {
    let (Some(groups), Some(kept)) = (c.u32_of(&["n_group"])?, c.u32_of(&["topk_group"])?) else {
        return Ok(None);
    };
    if groups == 0 || !experts.is_multiple_of(groups) {
        return Err(c.bad(
            "n_group",
            groups,
            format!("a divisor of the routed experts ({experts})"),
        ));
    }
    if kept == 0 || kept > groups || kept * (experts / groups) < topk {
        return Err(c.bad(
            "topk_group",
            kept,
            format!(
                "1 to n_group ({groups}), with groups enough for the {topk} experts a token takes ({} each)",
                experts / groups
            ),
        ));
    }
    Ok((groups > 1 && kept < groups).then_some((groups, kept)))
}

/// Multi-head latent attention (DeepSeek-V2/V3), on when `kv_lora_rank` is set. Every
/// width must be given; `q_lora_rank` null means full-rank queries (V2-Lite).
fn read_mla(c: &Config) -> Result<Option<crate::workload::model::Mla>> {
    let Some(kv_lora_rank) = c.u64_of(&["kv_lora_rank"])? else {
        return Ok(None);
    };
    let why = " for MLA (kv_lora_rank is set)";
    let need = |k: &str| -> Result<u64> { c.u64_of(&[k])?.ok_or_else(|| c.missing(k, why)) };
    let raw = c
        .text
        .and_then(|t| t.get("q_lora_rank"))
        .or_else(|| c.top.get("q_lora_rank"));
    let q_lora_rank = match raw {
        None => return Err(c.missing("q_lora_rank", " for MLA (null: full-rank queries)")),
        Some(Value::Null) => 0,
        Some(_) => need("q_lora_rank")?,
    };
    Ok(Some(crate::workload::model::Mla {
        q_lora_rank,
        kv_lora_rank,
        qk_nope_dim: need("qk_nope_head_dim")?,
        qk_rope_dim: need("qk_rope_head_dim")?,
        v_dim: need("v_head_dim")?,
    }))
}

/// The sliding (or chunked) window and its global layers, if any. In order: a
/// `layer_types` list; Llama 4's `attention_chunk_size`; `sliding_window`, on every layer
/// (Mistral, Mixtral, Phi-3) unless the family says otherwise: Qwen's
/// `use_sliding_window` and `max_window_layers`, `sliding_window_pattern` (Gemma 3,
/// Cohere2), Gemma 2's every other layer.
fn read_window(
    c: &Config,
    family: &Family,
    layers: u32,
    warnings: &mut Vec<String>,
) -> Result<Option<(u64, Vec<u32>)>> {
    let sliding = c.uint(&["sliding_window"])?.filter(|(_, w)| *w > 0);
    let chunk = c.uint(&["attention_chunk_size"])?.filter(|(_, w)| *w > 0);
    // Chunked local attention (Llama 4): a query sees the keys of its own chunk of c
    // tokens, about c/2 on average; a window of w = c/2 sees w - w²/2s
    // (`attended_keys`), as many once sequences are much longer than c: c/4s fewer for
    // s = c, 2c, ... (3c/8 against c/2 at s = c), and at most that between.
    let chunk_window = |warnings: &mut Vec<String>| -> Option<u64> {
        chunk.as_ref().map(|(name, c_)| {
            let w = c_.div_ceil(2);
            warnings.push(format!(
                "{}: {name} = {c_} is approximated: chunked local attention is costed as a sliding window of {w} tokens, the same keys per query for sequences much longer than the chunk (fewer by c/4s for s-token sequences: 25% at s = {c_})",
                c.context
            ));
            w
        })
    };
    let globals =
        |pred: &dyn Fn(u32) -> bool| -> Vec<u32> { (0..layers).filter(|&i| pred(i)).collect() };
    if let Some((name, types)) = c.str_list("layer_types")? {
        if types.len() != layers as usize {
            return Err(c.bad(
                &name,
                format!("[{} entries]", types.len()),
                format!("one entry per layer (num_hidden_layers = {layers})"),
            ));
        }
        let has = |t: &str| types.contains(&t);
        let tokens = match (has(SLIDING), has(CHUNKED)) {
            (false, false) => return Ok(None),
            (true, true) => return Err(c.bad(
                &name,
                format!("[{}]", tally(&types)),
                "one kind of local attention (sliding or chunked), as memphis has one window size",
            )),
            (true, false) => match &sliding {
                Some((_, w)) => *w,
                None => {
                    return Err(c.missing("sliding_window", " for the sliding_attention layers"))
                }
            },
            (false, true) => match chunk_window(warnings) {
                Some(w) => w,
                None => {
                    return Err(
                        c.missing("attention_chunk_size", " for the chunked_attention layers")
                    )
                }
            },
        };
        return Ok(Some((tokens, globals(&|i| types[i as usize] == FULL))));
    }
    if chunk.is_some() {
        // Llama4TextConfig: `no_rope_layers[i]` is 1 where layer i uses RoPE, and those
        // layers are the chunked ones (layer_types "chunked_attention" if no_rope_layers[i]
        // else "full_attention"; v4.51: use_chunked_attention = (i + 1) % 4 != 0). An
        // empty or missing list means every `no_rope_layer_interval`-th layer is NoPE.
        let flags = match c.uint_list("no_rope_layers")? {
            Some((name, f)) if !f.is_empty() => {
                if f.len() != layers as usize {
                    return Err(c.bad(
                        &name,
                        format!("[{} entries]", f.len()),
                        format!("one entry per layer (num_hidden_layers = {layers}), or empty"),
                    ));
                }
                f
            }
            _ => {
                let n = c
                    .period("no_rope_layer_interval")?
                    .unwrap_or(LLAMA4_NOPE_INTERVAL);
                (0..u64::from(layers))
                    .map(|i| u64::from(!(i + 1).is_multiple_of(n)))
                    .collect()
            }
        };
        let w = chunk_window(warnings).unwrap_or(1);
        return Ok(Some((w, globals(&|i| flags[i as usize] == 0))));
    }
    let Some((_, tokens)) = sliding else {
        return Ok(None);
    };
    // Qwen2Config (and Qwen2-MoE, Qwen3): the window is used only with
    // `use_sliding_window` (default false), and then on layers i >= max_window_layers.
    let qwen = family.model_type.starts_with("qwen") || family.top_type.starts_with("qwen");
    let use_sliding = c.boolean("use_sliding_window")?;
    if use_sliding == Some(false) || (qwen && use_sliding.is_none()) {
        return Ok(None);
    }
    if use_sliding == Some(true) {
        let full = c
            .u64_of(&["max_window_layers"])?
            .unwrap_or(QWEN_MAX_WINDOW_LAYERS);
        if full >= u64::from(layers) {
            return Ok(None);
        }
        return Ok(Some((tokens, globals(&|i| u64::from(i) < full))));
    }
    // Gemma 3 (Gemma3TextConfig) and Cohere2: layer i is global iff
    // (i + 1) % sliding_window_pattern == 0.
    let pattern = match c.period("sliding_window_pattern")? {
        Some(p) => Some(p),
        None if family.model_type.starts_with("gemma3") => Some(GEMMA3_PATTERN),
        None => None,
    };
    if let Some(p) = pattern {
        return Ok(Some((
            tokens,
            globals(&|i| (u64::from(i) + 1).is_multiple_of(p)),
        )));
    }
    // Gemma 2 (Gemma2Attention, v4.42: sliding_window if not bool(layer_idx % 2)):
    // the even layers are local, the odd ones global.
    if family.model_type.starts_with("gemma2") {
        return Ok(Some((tokens, globals(&|i| i % 2 == 1))));
    }
    Ok(Some((tokens, Vec::new())))
}

/// Warnings for the architecture fields memphis reads but does not model.
fn unmodelled(c: &Config, warnings: &mut Vec<String>) -> Result<()> {
    let ctx = c.context;
    // Weights the parameter count leaves out, named after the key that implies them.
    if c.string(&["topk_method"]) == "noaux_tc" {
        warnings.push(format!(
            "{ctx}: topk_method = noaux_tc is not counted: the router's score-correction bias (one weight per routed expert a MoE layer) is left out of the parameters"
        ));
    }
    if c.string(&["model_type"]) == "qwen2_moe"
        && c.u64_of(&["shared_expert_intermediate_size"])? > Some(0)
    {
        warnings.push(format!(
            "{ctx}: shared_expert_intermediate_size is counted without its gate: the shared expert's sigmoid gate (hidden weights a layer) is left out of the parameters"
        ));
    }
    if c.string(&["model_type"]) == "gpt_oss" {
        warnings.push(format!(
            "{ctx}: model_type = gpt_oss is counted without its attention sinks and the output projection's, router's and experts' biases"
        ));
    }
    if c.boolean("attn_output_gate")? == Some(true) {
        warnings.push(format!(
            "{ctx}: attn_output_gate = true is not modelled: a gate on the attention output (q_proj twice as wide) is neither counted nor costed"
        ));
    }
    if c.boolean("mlp_bias")? == Some(true) {
        warnings.push(format!(
            "{ctx}: mlp_bias = true is not modelled: the MLP's biases are not counted"
        ));
    }
    // Families whose every linear layer has a bias, some with learned positions too
    // (transformers' modeling_gpt2.py Conv1D and wpe, modeling_gpt_neox.py, modeling_opt.py
    // embed_positions, modeling_gpt_bigcode.py wpe, modeling_bloom.py, modeling_phi.py).
    let model_type = c.string(&["model_type"]);
    if BIASED_FAMILIES.contains(&model_type.as_str()) {
        let positions = if LEARNED_POSITION_FAMILIES.contains(&model_type.as_str()) {
            " and its learned position embeddings (one hidden-wide vector a position)"
        } else {
            ""
        };
        warnings.push(format!(
            "{ctx}: model_type = {model_type} is counted without its linear layers' biases{positions}"
        ));
    }
    for key in ["attn_logit_softcapping", "final_logit_softcapping"] {
        if let Some((name, x)) = c.get(key).filter(|(_, x)| x.as_f64().is_some()) {
            warnings.push(format!(
                "{ctx}: {name} = {} is not modelled: the tanh soft-capping of the {} is not costed",
                short_value(x),
                if key.starts_with("attn") {
                    "attention scores (FlashAttention-2 and -3 fuse it into their kernel)"
                } else {
                    "final logits (an elementwise op over the vocabulary)"
                }
            ));
        }
    }
    if let Some((name, x)) = c
        .get("cross_attention_layers")
        .filter(|(_, x)| sets_something(x))
    {
        warnings.push(format!(
            "{ctx}: {name} = {} is not modelled: cross-attention layers (to the image) are neither counted nor costed",
            short_value(x)
        ));
    }
    if let Some((name, x)) = c
        .get("quantization_config")
        .filter(|(_, x)| sets_something(x))
    {
        let method = x
            .get("quant_method")
            .and_then(Value::as_str)
            .unwrap_or("unnamed");
        warnings.push(format!(
            "{ctx}: {name} ({method}) is not modelled: it is the released checkpoint's storage format; memphis trains at the scenario's precision"
        ));
    }
    for key in ["vision_config", "audio_config", "vision_tower"] {
        if let Some(x) = c.top.get(key).filter(|x| sets_something(x)) {
            let kind = x.get("model_type").and_then(Value::as_str).unwrap_or("");
            let kind = if kind.is_empty() {
                String::new()
            } else {
                format!(" ({kind})")
            };
            warnings.push(format!(
                "{ctx}: {key}{kind} is not modelled: only the language model is read; the encoder's parameters and compute are left out"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ModelSpec;

    fn read(context: &str, json: &str) -> ModelFile {
        model_from_hf_config(context, json).unwrap_or_else(|e| panic!("{context}: {e}"))
    }

    fn spec(context: &str, json: &str) -> ModelSpec {
        read(context, json)
            .validate("model")
            .unwrap_or_else(|e| panic!("{context}: {e}"))
    }

    fn err(json: &str) -> String {
        model_from_hf_config("c.json", json)
            .expect_err("an error")
            .to_string()
    }

    /// The key each warning names: the word after "CONTEXT: ".
    fn warned_keys(context: &str, m: &ModelFile) -> Vec<String> {
        m.warnings
            .iter()
            .map(|w| {
                let rest = w.strip_prefix(&format!("{context}: ")).unwrap_or(w);
                rest.split([' ', ',']).next().unwrap_or("").to_string()
            })
            .collect()
    }

    /// What a config says that memphis reads otherwise than its author meant is warned
    /// of, naming the key: an activation transformers does not build, routing without
    /// experts; a top-k past the experts is an error naming its key.
    #[test]
    fn odd_mlp_keys_are_named() {
        let llama = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"intermediate_size":128,
            "num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100,"hidden_act":"silu""#;
        let read = |extra: &str| {
            model_from_hf_config("c.json", &format!("{llama}{extra}}}")).expect("reads")
        };
        assert!(read("").warnings.is_empty());
        let odd = model_from_hf_config(
            "c.json",
            &format!("{}}}", llama.replace("\"silu\"", "\"swish_squared\"")),
        )
        .unwrap();
        assert_eq!(warned_keys("c.json", &odd), ["hidden_act"]);
        // A model_type memphis does not know, beside architectures it does.
        let typo = llama.replace(r#""model_type":"llama""#, r#""model_type":"lama""#);
        let typo = model_from_hf_config("c.json", &format!("{typo}}}")).unwrap();
        assert_eq!(
            typo.warnings,
            ["c.json: model_type = \"lama\" is not a family memphis knows: read as its architectures name it (LlamaForCausalLM)"]
        );
        assert!(
            odd.warnings[0].contains("read as a gated MLP"),
            "{:?}",
            odd.warnings
        );
        for experts in ["", r#","num_local_experts":0"#] {
            let m = read(&format!(r#"{experts},"num_experts_per_tok":2"#));
            assert_eq!(
                warned_keys("c.json", &m),
                ["num_experts_per_tok"],
                "{experts}"
            );
            assert!(
                m.warnings[0].ends_with("read as a dense model"),
                "{:?}",
                m.warnings
            );
            assert!(m.moe_experts.unwrap_or(0) == 0, "{experts}");
        }
        // A key one slip from one that is missing is named.
        let typo = format!(
            "{}}}",
            llama.replace("num_hidden_layers", "num_hiden_layers")
        );
        assert!(
            err(&typo).ends_with("num_hidden_layers = missing: required in config.json (it has 'num_hiden_layers': misspelt?)"),
            "{}",
            err(&typo)
        );
        // A required key set to null is named as null, not as missing or misspelt.
        let null = format!(
            "{}}}",
            llama.replace(r#""num_hidden_layers":2"#, r#""num_hidden_layers":null"#)
        );
        assert!(
            err(&null)
                .ends_with("num_hidden_layers = null: required in config.json: a value, not null"),
            "{}",
            err(&null)
        );
        // A dense family's config with an expert count loads dense in transformers.
        let m = read(r#","num_local_experts":8,"num_experts_per_tok":2"#);
        assert_eq!(warned_keys("c.json", &m), ["num_local_experts"]);
        assert!(m.moe_experts.unwrap_or(0) == 0);
        let mixtral = format!(
            "{}}}",
            llama.replace("\"llama\"", "\"mixtral\"")
                + r#","num_local_experts":8,"num_experts_per_tok":16"#
        );
        assert!(
            err(&mixtral).starts_with("c.json: num_experts_per_tok = 16: "),
            "{}",
            err(&mixtral)
        );
    }

    #[test]
    fn hf_config_llama_and_mixtral() {
        let llama = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
            "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":128256,"hidden_act":"silu"}"#;
        let m = spec("config.json", llama);
        assert_eq!(m.mlp, MlpKind::Gated);
        assert_eq!(m.kv_heads, 8);
        assert!(
            (m.total_params() / 1e9 - 8.03).abs() < 0.05,
            "{}",
            m.total_params()
        );
        // A config.json named config.json is named by its architecture.
        assert_eq!(m.name, "llamaforcausallm");
        // A gated MLP's width is not guessed (LlamaConfig's default is 11008, not
        // 4 x hidden); a two-matrix family's unset width is 4 x hidden, as it builds it.
        let e = err(&llama.replace(r#""intermediate_size":14336,"#, ""));
        assert!(e.contains("intermediate_size = missing"), "{e}");
        let gpt2 = r#"{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","n_embd":768,
            "n_head":12,"n_layer":12,"vocab_size":50257,"n_positions":1024}"#;
        assert_eq!(spec("gpt2.json", gpt2).ffn_hidden, 4 * 768);
        let mixtral = r#"{"architectures":["MixtralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
            "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000,
            "num_local_experts":8,"num_experts_per_tok":2}"#;
        let moe = spec("config.json", mixtral).moe.unwrap();
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (8, 2, 14336));
        assert!(moe.dense_layers.is_empty() && moe.shared_ffn == 0);
        // Without its expert count, Mixtral is MixtralConfig's 8 experts (with a
        // warning), not a dense model; another MoE family is refused.
        // Fewer than 2 experts route nothing: a dense MLP, said so.
        let zero = read(
            "z.json",
            &mixtral.replace(r#""num_local_experts":8"#, r#""num_local_experts":0"#),
        );
        assert_eq!(warned_keys("z.json", &zero), ["0"]);
        assert!(zero.validate("model").unwrap().moe.is_none());
        let no_count = mixtral.replace(r#""num_local_experts":8,"#, "");
        let m = read("m.json", &no_count);
        assert_eq!(warned_keys("m.json", &m), ["num_local_experts"]);
        assert_eq!(m.validate("model").unwrap().moe.unwrap().experts, 8);
        let qwen = no_count.replace("MixtralForCausalLM", "Qwen3MoeForCausalLM");
        let e = err(&qwen.replace('{', r#"{"model_type":"qwen3_moe","#));
        assert!(
            e.contains("num_experts = missing") && e.contains("qwen3_moe"),
            "{e}"
        );
        // Nor is another family's top-k or expert width guessed from Mixtral's or the
        // dense MLP's.
        let qwen = mixtral
            .replace("MixtralForCausalLM", "Qwen3MoeForCausalLM")
            .replace(
                '{',
                r#"{"model_type":"qwen3_moe","moe_intermediate_size":768,"head_dim":16,"#,
            );
        assert!(read("q.json", &qwen).warnings.is_empty());
        let e = err(&qwen.replace(r#","num_experts_per_tok":2"#, ""));
        assert!(e.contains("num_experts_per_tok = missing"), "{e}");
        let e = err(&qwen.replace(r#""moe_intermediate_size":768,"#, ""));
        assert!(e.contains("moe_intermediate_size = missing"), "{e}");
        let neox = r#"{"architectures":["GPTNeoXForCausalLM"],"hidden_size":6144,"intermediate_size":24576,
            "num_attention_heads":64,"num_hidden_layers":44,"vocab_size":50432,"hidden_act":"gelu_fast"}"#;
        assert_eq!(spec("config.json", neox).mlp, MlpKind::Standard);
        // GPT-2's config.json: `n_inner: null` is the default 4 x hidden.
        let gpt2 = r#"{"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],
            "model_type":"gpt2","n_ctx":1024,"n_embd":768,"n_head":12,"n_inner":null,"n_layer":12,
            "n_positions":1024,"summary_activation":null,"vocab_size":50257}"#;
        let m = read("config.json", gpt2);
        assert_eq!(m.ffn_hidden, Some(4 * 768));
        assert_eq!(m.mlp, Some(MlpKind::Standard));
        m.validate("model").unwrap();
    }

    /// One real config.json (copied from `shared/models/`) and its counts.
    struct Real {
        file: &'static str,
        json: &'static str,
        /// INDEX.md's exact total: embedding, decoder layers, final norm, head unless
        /// tied; MTP layers and vision towers excluded.
        total: f64,
        /// INDEX.md's exact active count (the total for a dense model).
        active: f64,
        /// The keys the warnings name, in order.
        warnings: &'static [&'static str],
    }

    macro_rules! real {
        ($file:literal, $total:expr, $active:expr, $warnings:expr) => {
            Real {
                file: $file,
                json: include_str!(concat!("../testdata/hf/", $file)),
                total: $total,
                active: $active,
                warnings: $warnings,
            }
        };
    }

    /// Every non-hybrid config of `shared/models/` with the exact total and active
    /// parameters of `shared/models/INDEX.md` (its "exact total" and "exact active"
    /// columns; the total where it gives no active count, for dense models).
    const REAL: &[Real] = &[
        real!(
            "dbrx-instruct.json",
            131_596_523_520.0,
            36_469_708_800.0,
            &[]
        ),
        real!(
            "deepseek-v2-lite.json",
            15_706_484_224.0,
            2_661_150_208.0,
            &[]
        ),
        real!(
            "deepseek-v3.json",
            671_026_419_200.0,
            37_552_297_472.0,
            &["topk_method", "quantization_config"]
        ),
        real!(
            "gemma-3-27b-it.json",
            27_009_346_304.0,
            27_009_346_304.0,
            &["vision_config"]
        ),
        real!(
            "gpt-oss-20b.json",
            20_914_757_184.0,
            4_187_440_704.0,
            &["model_type", "quantization_config"]
        ),
        real!(
            "llama3.1-405b.json",
            405_853_388_800.0,
            405_853_388_800.0,
            &[]
        ),
        real!("llama3.1-70b.json", 70_553_706_496.0, 70_553_706_496.0, &[]),
        real!("llama3.1-8b.json", 8_030_261_248.0, 8_030_261_248.0, &[]),
        real!("llama3.2-3b.json", 3_212_749_824.0, 3_212_749_824.0, &[]),
        real!(
            "llama4-scout-17b-16e.json",
            107_769_861_120.0,
            17_172_894_720.0,
            &["text_config.attention_chunk_size", "vision_config"]
        ),
        real!(
            "mistral-nemo-12b.json",
            12_247_782_400.0,
            12_247_782_400.0,
            &[]
        ),
        real!("mixtral-8x7b.json", 46_702_792_704.0, 12_879_925_248.0, &[]),
        real!(
            "qwen1.5-moe-a2.7b-chat.json",
            14_315_784_192.0,
            2_689_173_504.0,
            &["shared_expert_intermediate_size"]
        ),
        real!("qwen2.5-72b.json", 72_706_203_648.0, 72_706_203_648.0, &[]),
        real!("qwen3-30b-a3b.json", 30_532_122_624.0, 3_353_032_704.0, &[]),
        real!("qwen3-32b.json", 32_762_123_264.0, 32_762_123_264.0, &[]),
    ];

    /// The warnings that say a config's parameter count leaves weights out.
    const COUNT_WARNINGS: &[&str] = &[
        "topk_method",
        "shared_expert_intermediate_size",
        "model_type",
        "mlp_bias",
        "attn_output_gate",
    ];

    fn real(file: &str) -> &'static Real {
        REAL.iter().find(|r| r.file == file).unwrap()
    }

    /// Each MoE family's keys ([`MOE_FAMILIES`]) taken out of its real config: refused
    /// with the key named, never read with a fallback (18,432-wide experts, every layer
    /// MoE, no shared expert).
    #[test]
    fn a_real_moe_config_missing_a_key_of_its_family_is_refused() {
        for (file, key) in [
            ("deepseek-v3.json", "first_k_dense_replace"),
            ("deepseek-v3.json", "n_shared_experts"),
            ("deepseek-v2-lite.json", "moe_intermediate_size"),
            ("qwen3-30b-a3b.json", "moe_intermediate_size"),
            ("qwen1.5-moe-a2.7b-chat.json", "moe_intermediate_size"),
            ("dbrx-instruct.json", "ffn_config.ffn_hidden_size"),
            ("llama4-scout-17b-16e.json", "text_config.intermediate_size"),
        ] {
            let mut v: Value = serde_json::from_str(real(file).json).unwrap();
            let mut at = &mut v;
            let path: Vec<&str> = key.split('.').collect();
            for k in &path[..path.len() - 1] {
                at = at.get_mut(*k).unwrap();
            }
            assert!(at
                .as_object_mut()
                .unwrap()
                .remove(path[path.len() - 1])
                .is_some());
            let e = model_from_hf_config(file, &v.to_string())
                .expect_err("refused")
                .to_string();
            let last = path[path.len() - 1];
            assert!(
                e.contains(&format!("{last} = missing")),
                "{file} without {key}: {e}"
            );
        }
    }

    /// A real config without an attention width the file should state is read as
    /// transformers reads it, and said so; the real files themselves draw no such note.
    #[test]
    fn a_missing_attention_width_is_read_as_transformers_does_and_said() {
        let without = |file: &str, key: &str| {
            let mut v: Value = serde_json::from_str(real(file).json).unwrap();
            assert!(v.as_object_mut().unwrap().remove(key).is_some());
            read(file, &v.to_string())
        };
        let m = without("qwen3-30b-a3b.json", "head_dim");
        assert_eq!(m.head_dim, None); // hidden / heads = 64, not the file's 128
        assert!(
            m.warnings
                .iter()
                .any(|w| w
                    .contains("head_dim is missing: hidden_size / num_attention_heads = 64 taken")),
            "{:?}",
            m.warnings
        );
        let m = without("qwen3-32b.json", "num_key_value_heads");
        assert_eq!((m.heads, m.kv_heads), (Some(64), Some(64)));
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("num_key_value_heads is missing: 64 taken")),
            "{:?}",
            m.warnings
        );
        for r in REAL.iter().filter(|r| !r.file.starts_with("jamba")) {
            if let Ok(m) = model_from_hf_config(r.file, r.json) {
                assert!(
                    !m.warnings.iter().any(|w| w.contains(" is missing: ")),
                    "{}: {:?}",
                    r.file,
                    m.warnings
                );
            }
        }
    }

    #[test]
    fn real_configs_count_their_exact_parameters() {
        let mut table = String::new();
        let mut worst: f64 = 0.0;
        for r in REAL {
            let m = spec(r.file, r.json);
            let (p, a) = (m.total_params(), m.active_params());
            let (ep, ea) = (p / r.total - 1.0, a / r.active - 1.0);
            table.push_str(&format!(
                "{:<30} total {:>16.0} vs {:>16.0} ({:+.3}%)  active {:>16.0} vs {:>16.0} ({:+.3}%)\n",
                r.file,
                p,
                r.total,
                ep * 100.0,
                a,
                r.active,
                ea * 100.0
            ));
            // A config warned about weights it leaves out is close; any other, exact.
            let leaves_out = r.warnings.iter().any(|k| COUNT_WARNINGS.contains(k));
            if !leaves_out {
                assert_eq!((p, a), (r.total, r.active), "{}:\n{table}", r.file);
            }
            worst = worst.max(ep.abs()).max(ea.abs());
        }
        assert!(worst < 0.005, "a count is off by more than 0.5%:\n{table}");
    }

    #[test]
    fn real_configs_warn_about_what_is_not_modelled() {
        for r in REAL {
            let m = read(r.file, r.json);
            assert_eq!(
                warned_keys(r.file, &m),
                r.warnings,
                "{}: {:?}",
                r.file,
                m.warnings
            );
            for w in &m.warnings {
                assert!(w.starts_with(&format!("{}: ", r.file)), "{w}");
                assert!(!w.contains('\n'), "{w}");
            }
        }
    }

    #[test]
    fn deepseek_v3_reads_mla_dense_layers_shared_experts_and_mtp() {
        let r = real("deepseek-v3.json");
        let m = spec(r.file, r.json);
        let moe = m.moe.clone().unwrap();
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (256, 8, 2048));
        assert_eq!(moe.shared_ffn, 2048);
        assert_eq!(moe.dense_layers, [0, 1, 2]);
        assert_eq!(m.ffn_hidden, 18432);
        let a = m.mla.unwrap();
        assert_eq!(
            (
                a.q_lora_rank,
                a.kv_lora_rank,
                a.qk_nope_dim,
                a.qk_rope_dim,
                a.v_dim
            ),
            (1536, 512, 128, 64, 128)
        );
        assert_eq!((m.heads, m.kv_heads, m.head_dim), (128, 128, 192));
        assert_eq!(m.mtp_layers, 1);
        // INDEX.md: the MTP layer is about 11.6B, without the shared embedding and head.
        assert!(
            (m.mtp_params() / 1e9 - 11.6).abs() < 0.1,
            "{}",
            m.mtp_params()
        );
        let w = &read(r.file, r.json).warnings;
        assert_eq!(
            (m.moe.as_ref().map(|e| (e.groups, e.groups_per_token))),
            Some((8, 4))
        );
        assert!(
            w[0].contains("topk_method = noaux_tc is not counted"),
            "{w:?}"
        );
        assert!(w[1].contains("quantization_config (fp8)"), "{w:?}");
        // V2-Lite: q_lora_rank null is full-rank queries; one dense layer; two shared
        // experts of 1408.
        let r = real("deepseek-v2-lite.json");
        let m = spec(r.file, r.json);
        assert_eq!(m.mla.unwrap().q_lora_rank, 0);
        let moe = m.moe.unwrap();
        assert_eq!((moe.dense_layers, moe.shared_ffn), (vec![0], 2 * 1408));
    }

    #[test]
    fn moe_layouts_follow_each_family() {
        // DBRX: nested attn_config / ffn_config; the top-level tie_word_embeddings wins
        // over the sub-configs' defaults.
        let r = real("dbrx-instruct.json");
        let m = spec(r.file, r.json);
        let moe = m.moe.clone().unwrap();
        assert_eq!(
            (m.layers, m.hidden, m.heads, m.kv_heads, m.head_dim),
            (40, 6144, 48, 8, 128)
        );
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (16, 4, 10752));
        assert!(!m.tied_embeddings && m.mlp == MlpKind::Gated);
        // Its context is `max_seq_len`, not `max_position_embeddings`.
        assert_eq!(m.max_seq_len, Some(32768));
        // Llama 4 Scout: one shared expert as wide as a routed one, every layer MoE, the
        // dense width kept for dense layers.
        let r = real("llama4-scout-17b-16e.json");
        let m = spec(r.file, r.json);
        let moe = m.moe.clone().unwrap();
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (16, 1, 8192));
        assert_eq!((moe.shared_ffn, m.ffn_hidden), (8192, 16384));
        assert!(moe.dense_layers.is_empty());
        // Qwen1.5-MoE: a shared expert of shared_expert_intermediate_size, q/k/v biases
        // by family.
        let r = real("qwen1.5-moe-a2.7b-chat.json");
        let m = spec(r.file, r.json);
        let moe = m.moe.clone().unwrap();
        assert_eq!(
            (moe.experts, moe.topk, moe.expert_ffn, moe.shared_ffn),
            (60, 4, 1408, 5632)
        );
        assert!(m.qkv_bias && m.window.is_none());
        // Qwen3-30B-A3B: intermediate_size (6144) is the dense width, unused.
        let r = real("qwen3-30b-a3b.json");
        let m = spec(r.file, r.json);
        let moe = m.moe.clone().unwrap();
        assert_eq!(
            (moe.experts, moe.topk, moe.expert_ffn, moe.shared_ffn),
            (128, 8, 768, 0)
        );
        assert_eq!(m.ffn_hidden, 6144);
        // The layer rules on a small model: DeepSeek (i >= k and i % freq == 0), Qwen
        // ((i + 1) % step == 0, not in mlp_only_layers), Llama 4 ((i + 1) % step == 0).
        let base = r#""hidden_size":64,"num_attention_heads":4,"num_hidden_layers":8,"vocab_size":100,
            "intermediate_size":256,"moe_intermediate_size":32,"num_experts_per_tok":2"#;
        let dense = |extra: &str| {
            spec("c.json", &format!("{{{base},{extra}}}"))
                .moe
                .map(|m| m.dense_layers)
        };
        assert_eq!(
            dense(r#""n_routed_experts":4,"first_k_dense_replace":2,"moe_layer_freq":2"#),
            Some(vec![0, 1, 3, 5, 7])
        );
        assert_eq!(
            dense(r#""num_experts":4,"decoder_sparse_step":2,"mlp_only_layers":[3]"#),
            Some(vec![0, 2, 3, 4, 6])
        );
        assert_eq!(
            dense(
                r#""model_type":"llama4_text","num_local_experts":4,"interleave_moe_layer_step":4"#
            ),
            Some(vec![0, 1, 2, 4, 5, 6])
        );
        assert_eq!(
            dense(r#""num_local_experts":4,"moe_layers":[1,2]"#),
            Some(vec![0, 3, 4, 5, 6, 7])
        );
        // No MoE layer left: the dense model HF builds.
        assert_eq!(dense(r#""num_experts":4,"decoder_sparse_step":9"#), None);
        // A listed layer past the last changes nothing, as in transformers, but is said.
        let beyond = |extra: &str| {
            let json = format!("{{{base},{extra}}}");
            let warnings = read("c.json", &json).warnings;
            (spec("c.json", &json).moe.map(|m| m.dense_layers), warnings)
        };
        let (dense_layers, warnings) = beyond(r#""num_experts":4,"mlp_only_layers":[3,8,12]"#);
        assert_eq!(dense_layers, Some(vec![3]));
        assert_eq!(
            warnings,
            ["c.json: mlp_only_layers names layers 8, 12 of a model with 8 layers (0 to 7): ignored, as transformers does"]
        );
        let (dense_layers, warnings) = beyond(r#""num_local_experts":4,"moe_layers":[1,9]"#);
        assert_eq!(dense_layers, Some(vec![0, 2, 3, 4, 5, 6, 7]));
        assert!(
            warnings[0].contains("moe_layers names layer 9 of"),
            "{warnings:?}"
        );
        // One expert is a dense MLP.
        assert_eq!(dense(r#""num_experts":1"#), None);
        // No top-k: assumed, and said.
        let m = read(
            "c.json",
            &format!(
                "{{{},\"num_experts\":4}}",
                base.replace(r#","num_experts_per_tok":2"#, "")
            ),
        );
        assert_eq!(m.moe_topk, Some(DEFAULT_TOPK));
        assert_eq!(warned_keys("c.json", &m), ["num_experts_per_tok"]);
    }

    #[test]
    fn windows_follow_each_family() {
        let window = |file: &str| {
            let r = real(file);
            spec(r.file, r.json)
                .window
                .map(|w| (w.tokens, w.global_layers))
        };
        // Gemma 3: 1024 tokens, every 6th layer global (the default pattern).
        let (t, g) = window("gemma-3-27b-it.json").unwrap();
        assert_eq!(t, 1024);
        assert_eq!(
            g,
            (0..62).filter(|i| (i + 1) % 6 == 0).collect::<Vec<u32>>()
        );
        assert_eq!(g.len(), 10);
        // gpt-oss: layer_types, sliding on the even layers.
        let (t, g) = window("gpt-oss-20b.json").unwrap();
        assert_eq!(t, 128);
        assert_eq!(g, (0..24).filter(|i| i % 2 == 1).collect::<Vec<u32>>());
        // Llama 4: chunks of 8192 as windows of 4096; every 4th layer (NoPE) global.
        let (t, g) = window("llama4-scout-17b-16e.json").unwrap();
        assert_eq!(t, 4096);
        assert_eq!(
            g,
            (0..48).filter(|i| (i + 1) % 4 == 0).collect::<Vec<u32>>()
        );
        // Windows that are off: Qwen's use_sliding_window false, Mistral-Nemo's null.
        for f in [
            "qwen2.5-72b.json",
            "qwen3-32b.json",
            "qwen1.5-moe-a2.7b-chat.json",
            "mistral-nemo-12b.json",
        ] {
            assert_eq!(window(f), None, "{f}");
        }
        let base = r#""hidden_size":64,"num_attention_heads":4,"num_hidden_layers":6,"vocab_size":100,"intermediate_size":256"#;
        let w = |extra: &str| {
            spec("c.json", &format!("{{{base},{extra}}}"))
                .window
                .map(|w| (w.tokens, w.global_layers))
        };
        // Mistral 7B: every layer.
        assert_eq!(
            w(r#""model_type":"mistral","sliding_window":4096"#),
            Some((4096, vec![]))
        );
        // Qwen with the window on: layers from max_window_layers on; off by default.
        assert_eq!(
            w(
                r#""model_type":"qwen2","sliding_window":512,"use_sliding_window":true,"max_window_layers":4"#
            ),
            Some((512, vec![0, 1, 2, 3]))
        );
        assert_eq!(w(r#""model_type":"qwen2","sliding_window":512"#), None);
        // Gemma 2: the even layers local.
        assert_eq!(
            w(r#""model_type":"gemma2","sliding_window":4096"#),
            Some((4096, vec![1, 3, 5]))
        );
        // Cohere2: a pattern of 3.
        assert_eq!(
            w(r#""model_type":"cohere2","sliding_window":4096,"sliding_window_pattern":3"#),
            Some((4096, vec![2, 5]))
        );
        // layer_types of full attention only: no window, whatever sliding_window says.
        assert_eq!(
            w(
                r#""sliding_window":128,"layer_types":["full_attention","full_attention","full_attention","full_attention","full_attention","full_attention"]"#
            ),
            None
        );
        // Llama 4 chunked layers named in layer_types.
        assert_eq!(
            w(
                r#""attention_chunk_size":100,"layer_types":["chunked_attention","full_attention","chunked_attention","full_attention","chunked_attention","full_attention"]"#
            ),
            Some((50, vec![1, 3, 5]))
        );
    }

    #[test]
    fn hybrids_get_one_clear_error() {
        let e = model_from_hf_config("jamba-1.5-mini.json", real_json("jamba-1.5-mini.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("jamba-1.5-mini.json: model_type = jamba: a hybrid architecture (Mamba"),
            "{e}"
        );
        assert!(
            e.contains("attn_layer_period = 8") && e.contains("cannot represent"),
            "{e}"
        );
        let e = model_from_hf_config("qwen3.5-27b.json", real_json("qwen3.5-27b.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("qwen3.5-27b.json: text_config.layer_types = [48 x linear_attention, 16 x full_attention]: a hybrid architecture (linear_attention layers"),
            "{e}"
        );
        // Without its layer_types list (transformers derives it from the interval), the
        // real Qwen3.5 file is still refused, as a Qwen3-Next file is.
        let mut v: serde_json::Value = serde_json::from_str(real_json("qwen3.5-27b.json")).unwrap();
        v["text_config"]
            .as_object_mut()
            .unwrap()
            .remove("layer_types");
        let e = model_from_hf_config("qwen3.5-27b.json", &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("qwen3.5-27b.json: model_type = qwen3_5")
                && e.contains("Gated DeltaNet linear-attention layers")
                && e.contains("full_attention_interval = 4"),
            "{e}"
        );
        let base =
            r#""hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100"#;
        for (extra, needle) in [
            (r#""model_type":"qwen3_next""#, "c.json: model_type = qwen3_next: a hybrid architecture (Gated DeltaNet"),
            (r#""model_type":"qwen3","full_attention_interval":4"#, "c.json: full_attention_interval = 4: a hybrid architecture (full attention only every k-th layer"),
            (r#""linear_num_value_heads":32"#, "c.json: linear_num_value_heads = 32: a hybrid architecture (linear-attention layers)"),
            (r#""layer_types":["attention","mamba"]"#, "c.json: layer_types = [1 x attention, 1 x mamba]: a hybrid architecture (mamba layers among its attention layers)"),
            (r#""model_type":"mamba""#, "c.json: model_type = mamba: an architecture without attention (Mamba state-space layers instead of attention"),
            (r#""architectures":["RwkvForCausalLM"]"#, "c.json: architectures = rwkvforcausallm: an architecture without attention (RWKV"),
            (r#""layers_block_type":["mamba","attention"]"#, "c.json: layers_block_type = [\"mamba\",\"attention\"]: a hybrid"),
            (r#""ssm_state_size":16"#, "c.json: ssm_state_size = 16: a hybrid architecture (state-space layers)"),
            (r#""layer_types":["mamba","full_attention"]"#, "c.json: layer_types = [1 x mamba, 1 x full_attention]: a hybrid"),
        ] {
            let e = err(&format!("{{{base},{extra}}}"));
            assert!(e.starts_with(needle), "{extra}: {e}");
        }
    }

    fn real_json(file: &str) -> &'static str {
        match file {
            "jamba-1.5-mini.json" => include_str!("../testdata/hf/jamba-1.5-mini.json"),
            "qwen3.5-27b.json" => include_str!("../testdata/hf/qwen3.5-27b.json"),
            _ => real(file).json,
        }
    }

    #[test]
    fn malformed_configs_name_the_field() {
        let base =
            r#""hidden_size":64,"num_attention_heads":4,"num_hidden_layers":8,"vocab_size":100"#;
        let cases: &[(&str, &str)] = &[
            ("[1, 2]", "c.json: expected a JSON object"),
            ("{", "c.json: "),
            (
                r#"{"hidden_size": 10}"#,
                "c.json: num_hidden_layers = missing",
            ),
            (
                r#"{"num_hidden_layers": 2, "num_attention_heads": 2}"#,
                "c.json: hidden_size = missing",
            ),
            (
                r#"{"text_config": 3}"#,
                "c.json: text_config = 3: an object",
            ),
            (
                r#"{"text_config": {"hidden_size": "big"}}"#,
                "c.json: text_config.hidden_size = \"big\": a non-negative integer",
            ),
            (
                r#"{"hidden_size":64,"num_attention_heads":4,"num_hidden_layers":8,"vocab_size":1e40}"#,
                "c.json: vocab_size = 1e+40: an integer below 2^64",
            ),
            (
                r#"{"hidden_size":64,"num_attention_heads":4,"num_hidden_layers":8,"vocab_size":-3}"#,
                "c.json: vocab_size = -3: a non-negative integer",
            ),
            (
                r#"{"hidden_size":64,"num_attention_heads":4,"num_hidden_layers":4000000000,"vocab_size":100}"#,
                "c.json: num_hidden_layers = 4000000000: an integer from 1 to 100000",
            ),
        ];
        for (json, needle) in cases {
            let e = err(json);
            assert!(e.starts_with(needle), "{json}: {e}");
        }
        for (extra, needle) in [
            (
                r#""num_experts":4,"decoder_sparse_step":0"#,
                "c.json: decoder_sparse_step = 0: an integer from 1",
            ),
            (
                r#""n_routed_experts":4,"moe_layer_freq":0"#,
                "c.json: moe_layer_freq = 0",
            ),
            (
                r#""num_experts":4,"mlp_only_layers":"none""#,
                "c.json: mlp_only_layers = \"none\": a list of non-negative integers",
            ),
            (
                r#""tie_word_embeddings":"yes""#,
                "c.json: tie_word_embeddings = \"yes\": true or false",
            ),
            (
                r#""layer_types":["full_attention"]"#,
                "c.json: layer_types = [1 entries]: one entry per layer",
            ),
            (
                r#""layer_types":["sliding_attention","full_attention","full_attention","full_attention","full_attention","full_attention","full_attention","full_attention"]"#,
                "c.json: sliding_window = missing",
            ),
            (
                r#""layer_types":"full""#,
                "c.json: layer_types = \"full\": a list of strings",
            ),
            (
                r#""kv_lora_rank":512,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128"#,
                "c.json: q_lora_rank = missing",
            ),
            (
                r#""kv_lora_rank":512,"q_lora_rank":null"#,
                "c.json: qk_nope_head_dim = missing",
            ),
            (
                r#""attention_chunk_size":64,"no_rope_layers":[1,0]"#,
                "c.json: no_rope_layers = [2 entries]",
            ),
            (
                r#""n_routed_experts":4,"n_shared_experts":18446744073709551615,"moe_intermediate_size":2"#,
                "c.json: n_shared_experts = 18446744073709551615",
            ),
            (
                r#""n_routed_experts":6,"num_experts_per_tok":2,"moe_intermediate_size":2,"n_group":4,"topk_group":2"#,
                "c.json: n_group = 4",
            ),
            (
                r#""n_routed_experts":8,"num_experts_per_tok":4,"moe_intermediate_size":2,"n_group":8,"topk_group":2"#,
                "c.json: topk_group = 2",
            ),
            (
                r#""n_routed_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":2,"n_group":8,"topk_group":9"#,
                "c.json: topk_group = 9",
            ),
            (
                r#""n_routed_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":2,"n_group":0,"topk_group":1"#,
                "c.json: n_group = 0",
            ),
            // More experts a token than there are: the top-k is named, not the groups
            // the check of topk_group would blame (helper-123).
            (
                r#""n_routed_experts":8,"num_experts_per_tok":80,"moe_intermediate_size":2,"n_group":1,"topk_group":1"#,
                "c.json: num_experts_per_tok = 80: 1 to the 8 routed experts",
            ),
        ] {
            let e = err(&format!("{{{base},{extra}}}"));
            assert!(e.starts_with(needle), "{extra}: {e}");
        }
    }

    /// Long lists cost O(n log n): a config of a few MiB is read at once.
    #[test]
    fn long_lists_stay_fast() {
        let n = 100_000;
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let kinds: Vec<String> = (0..n).map(|i| format!("\"k{i}\"")).collect();
        let json = format!(
            r#"{{"hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":{n},"vocab_size":100,
            "num_experts":4,"num_experts_per_tok":2,"mlp_only_layers":[{ids}],"moe_layers":[{ids}]}}"#,
            ids = ids.join(",")
        );
        let t = std::time::Instant::now();
        // Every layer is in mlp_only_layers: the dense model HF builds.
        assert_eq!(read("c.json", &json).moe_experts, None);
        let e = err(&format!(
            r#"{{"hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100,"layer_types":[{}]}}"#,
            kinds.join(",")
        ));
        assert!(
            e.contains("1 x k0, 1 x k1, 1 x k2, 1 x k3, 99996 more kinds"),
            "{e}"
        );
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    }

    /// A key one slip from one memphis asked for and did not find is said: it would
    /// otherwise read as unset in silence (helper-123: DBRX read as MHA, Gemma 3 as all
    /// global attention). Keys it does not read and no asked key is near stay unsaid.
    #[test]
    fn a_near_miss_of_an_unset_key_is_said() {
        let base = r#""model_type":"gemma3_text","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":4,"vocab_size":100,"intermediate_size":128"#;
        let m = read(
            "c.json",
            &format!("{{{base},\"sliding_windw\":16,\"bos_token_id\":2}}"),
        );
        let said: Vec<&String> = m
            .warnings
            .iter()
            .filter(|w| w.contains("misspelt"))
            .collect();
        assert_eq!(said.len(), 1, "{:?}", m.warnings);
        assert!(
            said[0].starts_with(
                "c.json: sliding_windw is not a key memphis reads, and sliding_window is not set"
            ),
            "{}",
            said[0]
        );
        assert_eq!(m.window, None);
        // Keys read as the model file is built are asked for too: the context, the
        // head width (helper-125: both went unsaid).
        for (typo, want) in [
            (
                "max_position_embedding",
                "max_position_embeddings is not set",
            ),
            ("head_dims", "head_dim is not set"),
        ] {
            let m = read("c.json", &format!("{{{base},\"{typo}\":96}}"));
            assert!(
                m.warnings
                    .iter()
                    .any(|w| w.contains(&format!("{typo} is not a key memphis reads, and {want}"))),
                "{typo}: {:?}",
                m.warnings
            );
        }
        // Spelt right, nothing is said.
        let m = read("c.json", &format!("{{{base},\"sliding_window\":16}}"));
        assert!(
            !m.warnings.iter().any(|w| w.contains("misspelt")),
            "{:?}",
            m.warnings
        );
        assert_eq!(m.window, Some(16));
        // A nested section's key (DBRX's attn_config).
        let dbrx = r#"{"model_type":"dbrx","d_model":64,"n_heads":4,"n_layers":2,"vocab_size":100,
            "attn_config":{"kv_n_head":1},"ffn_config":{"ffn_hidden_size":128,"moe_num_experts":4,"moe_top_k":2}}"#;
        let m = read("d.json", dbrx);
        assert!(
            m.warnings.iter().any(|w| w.starts_with("d.json: attn_config.kv_n_head is not a key memphis reads, and attn_config.kv_n_heads is not set")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn unmodelled_fields_are_named_and_neutral_values_are_not() {
        let base = r#""hidden_size":64,"num_attention_heads":4,"num_hidden_layers":4,"vocab_size":100,"intermediate_size":128"#;
        let keys = |extra: &str| {
            let m = read("c.json", &format!("{{{base},{extra}}}"));
            warned_keys("c.json", &m)
        };
        assert_eq!(
            keys(
                r#""attn_output_gate":true,"mlp_bias":true,"cross_attention_layers":[1],"vision_config":{"model_type":"siglip"}"#
            ),
            [
                "attn_output_gate",
                "mlp_bias",
                "cross_attention_layers",
                "vision_config"
            ]
        );
        assert!(keys(r#""attn_output_gate":false,"mlp_bias":false,"cross_attention_layers":[],"n_group":1,"topk_group":1,"quantization_config":null"#).is_empty());
        // Biases and learned positions a family always has; soft-capping where set.
        assert_eq!(
            keys(
                r#""model_type":"gpt2","attn_logit_softcapping":50.0,"final_logit_softcapping":null"#
            ),
            ["model_type", "attn_logit_softcapping"]
        );
        let m = read("c.json", &format!(r#"{{{base},"model_type":"gpt2"}}"#));
        assert!(
            m.warnings[0].ends_with(
                "biases and its learned position embeddings (one hidden-wide vector a position)"
            ),
            "{:?}",
            m.warnings
        );
        let m = read("c.json", &format!(r#"{{{base},"model_type":"gpt_neox"}}"#));
        assert!(
            m.warnings[0].ends_with("without its linear layers' biases"),
            "{:?}",
            m.warnings
        );
        // Group-limited routing is read now (moe_groups).
        assert!(
            keys(r#""n_routed_experts":8,"num_experts_per_tok":2,"n_group":4,"topk_group":2"#)
                .is_empty()
        );
        // The window and MoE fields that used to be warnings are read now.
        assert!(keys(r#""sliding_window":32,"moe_intermediate_size":32,"num_experts":4,"num_experts_per_tok":2,"first_k_dense_replace":1"#).is_empty());
    }

    #[test]
    fn dense_shapes_as_before() {
        // Llama 3.2 3B: tied, head_dim given (equal to hidden / heads).
        let r = real("llama3.2-3b.json");
        assert_eq!(read(r.file, r.json).tied_embeddings, Some(true));
        // Mistral-Nemo: q and o are 32 x 128 = 4096 wide on a 5120 hidden.
        let r = real("mistral-nemo-12b.json");
        let s = spec(r.file, r.json);
        assert_eq!((s.head_dim, s.q_width()), (128, 4096.0));
        assert!(!s.tied_embeddings && !s.qkv_bias);
        // Qwen2.5: q/k/v biases implied by the family.
        let r = real("qwen2.5-72b.json");
        assert_eq!(read(r.file, r.json).qkv_bias, Some(true));
        // Gemma 3: read under text_config, GeGLU, tied and the class's vocabulary and
        // context by default (a longer sequence is then noted, as for Llama 3.1).
        let r = real("gemma-3-27b-it.json");
        let m = read(r.file, r.json);
        assert_eq!(
            (
                m.hidden,
                m.head_dim,
                m.vocab,
                m.mlp,
                m.tied_embeddings,
                m.max_seq_len
            ),
            (
                Some(5376),
                Some(128),
                Some(262_208),
                Some(MlpKind::Gated),
                Some(true),
                Some(131_072)
            )
        );
        // Named by the file when it has no _name_or_path.
        assert_eq!(m.name.as_deref(), Some("gemma-3-27b-it"));
    }
}

#[cfg(test)]
mod decoder_only_tests {
    use super::*;

    #[test]
    fn encoders_are_refused_and_unknown_families_are_named() {
        let err = |json: &str| {
            model_from_hf_config("c.json", json)
                .unwrap_err()
                .to_string()
        };
        let t5 = r#"{"architectures":["T5ForConditionalGeneration"],"model_type":"t5","d_model":512,"num_heads":8,"num_layers":6,"vocab_size":32128,"is_encoder_decoder":true}"#;
        assert!(err(t5).contains("is_encoder_decoder = true: an encoder-decoder model"));
        let bert = r#"{"architectures":["BertForMaskedLM"],"model_type":"bert","hidden_size":768,"num_attention_heads":12,"num_hidden_layers":12,"vocab_size":30522}"#;
        assert!(err(bert).contains("architectures = BertForMaskedLM: an encoder"));
        let roberta = bert
            .replace("BertForMaskedLM", "RobertaModel")
            .replace("\"bert\"", "\"roberta\"");
        assert!(err(&roberta).contains("model_type = roberta: an encoder"));
        let foo = r#"{"architectures":["FooForCausalLM"],"model_type":"foo","hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100}"#;
        let m = model_from_hf_config("c.json", foo).unwrap();
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("\"foo\" is not a family memphis knows")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn a_bad_value_is_named_by_the_key_it_came_from() {
        let err = |json: &str| {
            model_from_hf_config("c.json", json)
                .unwrap_err()
                .to_string()
        };
        let llama = r#"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_attention_heads":6,"num_hidden_layers":2,"vocab_size":100}"#;
        let e = err(llama);
        assert!(
            e.starts_with("c.json: num_attention_heads = 6: ") && e.ends_with("(model.heads)"),
            "{e}"
        );
        // GPT-2 names it n_head; kv_heads unset takes the heads, so it is not named.
        let gpt2 = r#"{"model_type":"gpt2","n_embd":64,"n_head":6,"n_layer":2,"vocab_size":100}"#;
        assert!(
            err(gpt2).starts_with("c.json: n_head = 6: "),
            "{}",
            err(gpt2)
        );
    }
}
