//! Reading a Hugging Face `config.json` into a model section ([`ModelFile`]): the
//! fields of every architecture family memphis models, warnings for the architecture
//! fields it does not, and a clear error for architectures it cannot represent.

use crate::error::{Error, Result};
use crate::scenario::ModelFile;
use crate::workload::MlpKind;

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

/// Families whose config class ties the LM head to the embedding when
/// `tie_word_embeddings` is absent (Gemma's and GPT-2's config defaults).
const TIED_BY_DEFAULT: &[&str] = &["gemma", "gpt2"];

/// Families whose attention carries q/k/v biases without a config field saying so.
const QKV_BIAS_FAMILIES: &[&str] = &["qwen2"];

/// Architecture fields memphis reads but does not model yet: each, when set to a value
/// that changes the model (not null, false, 0, empty, nor `neutral`), is a warning.
/// (key, what it changes, neutral value)
const UNMODELLED: &[(&str, &str, Option<u64>)] = &[
    (
        "sliding_window",
        "sliding-window attention; every layer is costed with full causal attention",
        None,
    ),
    (
        "layer_types",
        "layers of different kinds; every layer is costed as full attention",
        None,
    ),
    (
        "attention_chunk_size",
        "chunked local attention; costed as full attention",
        None,
    ),
    (
        "attn_output_gate",
        "a gate on the attention output; not counted",
        None,
    ),
    (
        "q_lora_rank",
        "MLA low-rank queries; attention is costed as plain multi-head",
        None,
    ),
    (
        "kv_lora_rank",
        "MLA low-rank keys and values; attention is costed as plain multi-head",
        None,
    ),
    (
        "moe_intermediate_size",
        "the experts' own width; experts are costed at intermediate_size",
        None,
    ),
    ("n_shared_experts", "shared experts; not counted", None),
    (
        "shared_expert_intermediate_size",
        "a shared expert; not counted",
        None,
    ),
    (
        "first_k_dense_replace",
        "dense first layers; every layer is costed as MoE",
        None,
    ),
    (
        "moe_layer_freq",
        "MoE every k layers; every layer is costed as MoE",
        Some(1),
    ),
    (
        "decoder_sparse_step",
        "MoE every k layers; every layer is costed as MoE",
        Some(1),
    ),
    (
        "interleave_moe_layer_step",
        "MoE every k layers; every layer is costed as MoE",
        Some(1),
    ),
    (
        "mlp_only_layers",
        "dense layers among MoE ones; every layer is costed as MoE",
        None,
    ),
    (
        "num_nextn_predict_layers",
        "multi-token-prediction layers; not counted",
        None,
    ),
];

/// Whether a config value changes the architecture: not null, false, 0, "" or [], nor
/// the field's neutral value.
fn sets_something(v: &serde_json::Value, neutral: Option<u64>) -> bool {
    use serde_json::Value as J;
    match v {
        J::Null | J::Bool(false) => false,
        J::Number(n) => n.as_f64() != Some(0.0) && (neutral.is_none() || n.as_u64() != neutral),
        J::String(s) => !s.is_empty(),
        J::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// A config value for a warning: arrays longer than 4 by their length.
fn short_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(a) if a.len() > 4 => format!("[{} entries]", a.len()),
        _ => v.to_string(),
    }
}

/// Reads a Hugging Face `config.json` (Llama, Mistral, Mixtral, Qwen, Gemma, GPT-NeoX,
/// GPT-2 style). Multimodal configs (Gemma 3, Llama 4, Qwen3.5) nest the language model
/// under `text_config`: its fields are read there first, then at the top level. A key
/// set to null is absent. Architecture fields memphis does not model become `warnings`.
pub fn model_from_hf_config(context: &str, json: &str) -> Result<ModelFile> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::parse(context, e))?;
    let top = v
        .as_object()
        .ok_or_else(|| Error::parse(context, "expected a JSON object"))?;
    let text = top.get("text_config").and_then(|t| t.as_object());
    // GPT-2's `"n_inner": null` means the default 4 x hidden: null is absent.
    let get = |k: &str| -> Option<&serde_json::Value> {
        text.and_then(|t| t.get(k))
            .filter(|x| !x.is_null())
            .or_else(|| top.get(k).filter(|x| !x.is_null()))
    };
    let uint = |keys: &[&str]| -> Result<Option<u64>> {
        for k in keys {
            if let Some(x) = get(k) {
                return x.as_u64().map(Some).ok_or_else(|| {
                    Error::invalid(format!("{context}: {k}"), x, "a non-negative integer")
                });
            }
        }
        Ok(None)
    };
    let u32_of = |keys: &[&str]| -> Result<Option<u32>> {
        match uint(keys)? {
            None => Ok(None),
            Some(x) => u32::try_from(x).map(Some).map_err(|_| {
                Error::invalid(
                    format!("{context}: {}", keys[0]),
                    x,
                    "an integer below 2^32",
                )
            }),
        }
    };
    let boolean = |k: &str| -> Result<Option<bool>> {
        get(k)
            .map(|x| {
                x.as_bool()
                    .ok_or_else(|| Error::invalid(format!("{context}: {k}"), x, "true or false"))
            })
            .transpose()
    };
    let string = |keys: &[&str]| -> String {
        keys.iter()
            .find_map(|k| get(k).and_then(|a| a.as_str()))
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let hidden = uint(&["hidden_size", "n_embd", "d_model"])?;
    let layers = u32_of(&["num_hidden_layers", "n_layer", "num_layers"])?;
    let heads = u32_of(&["num_attention_heads", "n_head"])?;
    let missing = |k: &str| {
        Error::invalid(
            format!("{context}: {k}"),
            "missing",
            "present in config.json",
        )
    };
    let hidden = hidden.ok_or_else(|| missing("hidden_size"))?;
    let layers = layers.ok_or_else(|| missing("num_hidden_layers"))?;
    let heads = heads.ok_or_else(|| missing("num_attention_heads"))?;
    let kv_heads = u32_of(&["num_key_value_heads", "multi_query_group_num"])?.unwrap_or(heads);
    let head_dim = uint(&["head_dim"])?;
    let arch = top
        .get("architectures")
        .and_then(|a| a.as_array())
        .and_then(|a| a.first())
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let model_type = string(&["model_type"]);
    let is = |families: &[&str]| {
        families
            .iter()
            .any(|f| model_type.contains(f) || arch.contains(f))
    };
    let act = string(&["hidden_act", "hidden_activation", "activation_function"]);
    // The MLP's shape follows the family: GPT-2/NeoX style is two matrices, Llama-style
    // SwiGLU and Gemma's GeGLU (`gelu_pytorch_tanh`) three. An unknown family goes by
    // its activation: SiLU is SwiGLU, GeLU or ReLU a plain MLP.
    let gated = if is(TWO_MATRIX_FAMILIES) {
        false
    } else if is(GATED_FAMILIES) {
        true
    } else {
        !(act.contains("gelu") || act.contains("relu"))
    };
    let ffn = uint(&["intermediate_size", "n_inner", "ffn_hidden_size"])?.unwrap_or(4 * hidden);
    // Gemma 3's text config leaves the vocabulary at its class default.
    let vocab_default = (model_type.starts_with("gemma3")).then_some(262_208);
    let vocab = uint(&["vocab_size", "padded_vocab_size"])?
        .or(vocab_default)
        .ok_or_else(|| missing("vocab_size"))?;
    let tied = boolean("tie_word_embeddings")?.unwrap_or_else(|| is(TIED_BY_DEFAULT));
    let qkv_bias = match boolean("attention_bias")? {
        Some(b) => b,
        None => boolean("qkv_bias")?.unwrap_or_else(|| is(QKV_BIAS_FAMILIES)),
    };
    let experts = u32_of(&["num_local_experts", "num_experts", "n_routed_experts"])?;
    let topk = u32_of(&["num_experts_per_tok", "moe_topk", "top_k"])?;
    let name = top
        .get("_name_or_path")
        .and_then(|n| n.as_str())
        .map(String::from)
        .or_else(|| (!arch.is_empty()).then(|| arch.clone()))
        .unwrap_or_else(|| "hf-model".into());
    let mut warnings = Vec::new();
    for &(key, what, neutral) in UNMODELLED {
        let Some(x) = get(key) else { continue };
        let off = match key {
            // Qwen2/3 carry a window they do not use.
            "sliding_window" => boolean("use_sliding_window")? == Some(false),
            "layer_types" => x
                .as_array()
                .is_some_and(|a| a.iter().all(|t| t.as_str() == Some("full_attention"))),
            _ => false,
        };
        if !off && sets_something(x, neutral) {
            warnings.push(format!(
                "{context}: {key} = {} is not modelled ({what})",
                short_value(x)
            ));
        }
    }
    Ok(ModelFile {
        preset: None,
        name: Some(name),
        description: Some(format!("from {context}")),
        layers: Some(layers),
        hidden: Some(hidden),
        heads: Some(heads),
        kv_heads: Some(kv_heads),
        head_dim,
        ffn_hidden: Some(ffn),
        vocab: Some(vocab),
        mlp: Some(if gated {
            MlpKind::Gated
        } else {
            MlpKind::Standard
        }),
        moe_experts: experts.filter(|&e| e > 0),
        moe_topk: experts.filter(|&e| e > 0).and(topk.or(Some(2))),
        tied_embeddings: Some(tied),
        qkv_bias: Some(qkv_bias),
        warnings,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_config_llama_and_mixtral() {
        let llama = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
            "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":128256,"hidden_act":"silu"}"#;
        let m = model_from_hf_config("config.json", llama)
            .unwrap()
            .validate("model")
            .unwrap();
        assert_eq!(m.mlp, MlpKind::Gated);
        assert_eq!(m.kv_heads, 8);
        assert!(
            (m.total_params() / 1e9 - 8.03).abs() < 0.05,
            "{}",
            m.total_params()
        );
        let mixtral = r#"{"architectures":["MixtralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,
            "num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,"vocab_size":32000,
            "num_local_experts":8,"num_experts_per_tok":2}"#;
        let m = model_from_hf_config("config.json", mixtral)
            .unwrap()
            .validate("model")
            .unwrap();
        let moe = m.moe.unwrap();
        assert_eq!((moe.experts, moe.topk, moe.expert_ffn), (8, 2, 14336));
        let neox = r#"{"architectures":["GPTNeoXForCausalLM"],"hidden_size":6144,"intermediate_size":24576,
            "num_attention_heads":64,"num_hidden_layers":44,"vocab_size":50432,"hidden_act":"gelu_fast"}"#;
        let m = model_from_hf_config("config.json", neox)
            .unwrap()
            .validate("model")
            .unwrap();
        assert_eq!(m.mlp, MlpKind::Standard);
        // GPT-2's config.json: `n_inner: null` is the default 4 x hidden.
        let gpt2 = r#"{"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],
            "model_type":"gpt2","n_ctx":1024,"n_embd":768,"n_head":12,"n_inner":null,"n_layer":12,
            "n_positions":1024,"summary_activation":null,"vocab_size":50257}"#;
        let m = model_from_hf_config("config.json", gpt2).unwrap();
        assert_eq!(m.ffn_hidden, Some(4 * 768));
        assert_eq!(m.mlp, Some(MlpKind::Standard));
        m.validate("model").unwrap();
        let e = model_from_hf_config("c.json", r#"{"hidden_size": 10}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("num_hidden_layers"), "{e}");
    }

    /// Real config.json files (copied from `../shared/models/`) and INDEX.md's exact
    /// parameter counts.
    const HF_CONFIGS: &[(&str, &str, f64)] = &[
        (
            "llama3.1-8b",
            include_str!("../testdata/hf/llama3.1-8b.json"),
            8_030_261_248.0,
        ),
        (
            "llama3.1-70b",
            include_str!("../testdata/hf/llama3.1-70b.json"),
            70_553_706_496.0,
        ),
        (
            "llama3.2-3b",
            include_str!("../testdata/hf/llama3.2-3b.json"),
            3_212_749_824.0,
        ),
        (
            "mistral-nemo-12b",
            include_str!("../testdata/hf/mistral-nemo-12b.json"),
            12_247_782_400.0,
        ),
        (
            "qwen2.5-72b",
            include_str!("../testdata/hf/qwen2.5-72b.json"),
            72_706_203_648.0,
        ),
        (
            "qwen3-32b",
            include_str!("../testdata/hf/qwen3-32b.json"),
            32_762_123_264.0,
        ),
        (
            "gemma-3-27b-it",
            include_str!("../testdata/hf/gemma-3-27b-it.json"),
            27_009_346_304.0,
        ),
    ];

    #[test]
    fn real_dense_configs_count_their_exact_parameters() {
        for &(name, json, exact) in HF_CONFIGS {
            let m = model_from_hf_config(name, json)
                .unwrap()
                .validate("model")
                .unwrap();
            let p = m.total_params();
            assert!(
                (p / exact - 1.0).abs() < 0.005,
                "{name}: {p} vs {exact} ({:+.3}%)",
                (p / exact - 1.0) * 100.0
            );
            assert_eq!(p, m.active_params(), "{name}");
        }
    }

    #[test]
    fn hf_config_shapes_and_warnings() {
        let read = |name: &str| {
            let json = HF_CONFIGS.iter().find(|c| c.0 == name).unwrap().1;
            model_from_hf_config(name, json).unwrap()
        };
        // Llama 3.2 3B: tied, head_dim given (equal to hidden / heads).
        let m = read("llama3.2-3b");
        assert_eq!(m.tied_embeddings, Some(true));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        // Mistral-Nemo: q and o are 32 x 128 = 4096 wide on a 5120 hidden.
        let s = read("mistral-nemo-12b").validate("model").unwrap();
        assert_eq!((s.head_dim, s.q_width()), (128, 4096.0));
        assert!(!s.tied_embeddings && !s.qkv_bias);
        // Qwen2.5: q/k/v biases implied by the family; its unused sliding window is no
        // warning.
        let m = read("qwen2.5-72b");
        assert_eq!(m.qkv_bias, Some(true));
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        // Gemma 3: read under text_config, GeGLU, tied and the class's vocabulary by
        // default; its sliding window is named.
        let m = read("gemma-3-27b-it");
        assert_eq!(
            (m.hidden, m.head_dim, m.vocab, m.mlp, m.tied_embeddings),
            (
                Some(5376),
                Some(128),
                Some(262_208),
                Some(MlpKind::Gated),
                Some(true)
            )
        );
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(
            m.warnings[0].contains("sliding_window = 1024"),
            "{:?}",
            m.warnings
        );
        // Unmodelled MoE and hybrid fields are named; neutral values are not.
        let m = model_from_hf_config(
            "c.json",
            r#"{"hidden_size":2048,"num_attention_heads":16,"num_hidden_layers":4,"vocab_size":1000,
            "model_type":"qwen3_next","decoder_sparse_step":1,"moe_intermediate_size":512,
            "layer_types":["linear_attention","full_attention"],"mlp_only_layers":[]}"#,
        )
        .unwrap();
        let keys: Vec<&str> = m
            .warnings
            .iter()
            .map(|w| w.split(' ').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            ["layer_types", "moe_intermediate_size"],
            "{:?}",
            m.warnings
        );
    }
}
