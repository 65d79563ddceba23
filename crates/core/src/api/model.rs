//! What memphis reads a model as (`memphis model`): its layers by kind, attention and
//! MLP shapes, parameter counts, and what its config.json has that memphis does not
//! model. The model comes as a model section ([`ModelFile`]): a preset, a TOML model
//! file or a Hugging Face config.json read by [`crate::hf_config`].

use crate::error::Result;
use crate::scenario::{self, ModelFile};
use crate::workload::model::{Mla, Window};
use crate::workload::{MlpKind, ModelSpec, Moe};
use serde::Serialize;

/// The attention's shape, by its name in the literature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// Multi-head: one key/value head per query head.
    Mha,
    /// Grouped-query: fewer key/value heads than query heads, more than one.
    Gqa,
    /// Multi-query: one key/value head.
    Mqa,
    /// Multi-head latent attention (DeepSeek-V2/V3): keys and values from a low-rank
    /// latent.
    Mla,
}

/// The attention of every layer.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AttentionReport {
    /// MHA, GQA, MQA or MLA.
    pub kind: AttentionKind,
    /// Query heads.
    pub heads: u32,
    /// Key/value heads (MLA: the query heads).
    pub kv_heads: u32,
    /// Per-head query/key width (MLA: qk_nope + qk_rope).
    pub head_dim: u64,
    /// Biases on the q, k and v projections.
    pub qkv_bias: bool,
    /// MLA's ranks and widths, for MLA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mla: Option<Mla>,
    /// The sliding window and the layers with full attention, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Tokens the position encoding was trained for (`max_position_embeddings`), if
    /// known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_seq_len: Option<u64>,
}

/// The MLP of every layer.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MlpReport {
    /// Two matrices (standard) or three (gated: SwiGLU, GeGLU), dense MLP and experts
    /// alike.
    pub kind: MlpKind,
    /// Inner width of the dense MLP (of the dense layers of an MoE; unused when every
    /// layer is MoE).
    pub ffn_hidden: u64,
    /// The experts, for a mixture of experts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moe: Option<Moe>,
}

/// A model as memphis reads it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ModelReport {
    /// Display name.
    pub name: String,
    /// One line about it (a preset's description; "from FILE" for a config.json).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Decoder layers (MTP layers not included).
    pub layers: u32,
    /// Layers with a dense MLP.
    pub dense_layers: u32,
    /// Layers with routed experts.
    pub moe_layers: u32,
    /// Layers with sliding-window (or chunked) attention.
    pub windowed_layers: u32,
    /// Layers with full attention.
    pub global_layers: u32,
    /// Multi-token-prediction layers after the decoder (on the last pipeline stage).
    pub mtp_layers: u32,
    /// Hidden size.
    pub hidden: u64,
    /// The attention.
    pub attention: AttentionReport,
    /// The MLP.
    pub mlp: MlpReport,
    /// Vocabulary size.
    pub vocab: u64,
    /// The LM head shares the input embedding's weights.
    pub tied_embeddings: bool,
    /// Parameters: embedding, decoder layers, final norm and head (MTP layers
    /// excluded, as published counts do).
    pub params: u64,
    /// Parameters each token touches (an MoE's routed experts: top-k of them).
    pub active_params: u64,
    /// `active_params` without the input embedding, as model cards often count an MoE's
    /// active parameters (gpt-oss-20b's 3.6B, DeepSeek-V3's 37B); for an MoE with an
    /// untied head only (a tied embedding is the head, which every token uses).
    pub active_params_without_input_embedding: Option<u64>,
    /// Parameters of the MTP layers, not in `params`.
    pub mtp_params: u64,
    /// The input embedding and the LM head (one matrix when tied), in `params`.
    pub embedding_params: u64,
    /// What the config.json has that memphis does not model or approximates, one line
    /// each.
    pub warnings: Vec<String>,
}

/// The report of a model section: validated as a scenario's `[model]` would be (errors
/// name `model.FIELD`).
pub fn model_report(file: ModelFile) -> Result<ModelReport> {
    let warnings = file.warnings.clone();
    let description = match (&file.description, &file.preset) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(p)) => scenario::model_preset(p)?.description,
        (None, None) => None,
    };
    let m = file.validate("model")?;
    Ok(report(&m, description, warnings))
}

fn report(m: &ModelSpec, description: Option<String>, warnings: Vec<String>) -> ModelReport {
    let kinds: Vec<_> = (0..m.layers).map(|i| m.layer_kind(i)).collect();
    let count = |f: &dyn Fn(&crate::workload::model::LayerKind) -> bool| {
        kinds.iter().filter(|k| f(k)).count() as u32
    };
    let moe_layers = count(&|k| k.moe);
    let windowed_layers = count(&|k| k.window.is_some());
    let kind = match (m.mla, m.kv_heads) {
        (Some(_), _) => AttentionKind::Mla,
        (None, 1) if m.heads > 1 => AttentionKind::Mqa,
        (None, kv) if kv < m.heads => AttentionKind::Gqa,
        (None, _) => AttentionKind::Mha,
    };
    ModelReport {
        name: m.name.clone(),
        description,
        layers: m.layers,
        dense_layers: m.layers - moe_layers,
        moe_layers,
        windowed_layers,
        global_layers: m.layers - windowed_layers,
        mtp_layers: m.mtp_layers,
        hidden: m.hidden,
        attention: AttentionReport {
            kind,
            heads: m.heads,
            kv_heads: m.kv_heads,
            head_dim: m.head_dim,
            qkv_bias: m.qkv_bias,
            mla: m.mla,
            window: m.window.clone(),
            max_seq_len: m.max_seq_len,
        },
        mlp: MlpReport {
            kind: m.mlp,
            ffn_hidden: m.ffn_hidden,
            moe: m.moe.clone(),
        },
        vocab: m.vocab,
        tied_embeddings: m.tied_embeddings,
        // Counts: whole, exact below 2^53.
        params: m.total_params().round() as u64,
        active_params: m.active_params().round() as u64,
        active_params_without_input_embedding: (m.moe.is_some() && !m.tied_embeddings)
            .then(|| (m.active_params() - m.embedding_params()).round() as u64),
        mtp_params: m.mtp_params().round() as u64,
        embedding_params: m.embedding_and_head_params().round() as u64,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(json: &str) -> ModelReport {
        model_report(crate::hf_config::model_from_hf_config("c.json", json).unwrap()).unwrap()
    }

    #[test]
    fn deepseek_v3_layers_by_kind_and_counts() {
        let r = hf(include_str!("../../testdata/hf/deepseek-v3.json"));
        assert_eq!(
            (r.layers, r.dense_layers, r.moe_layers, r.mtp_layers),
            (61, 3, 58, 1)
        );
        assert_eq!((r.windowed_layers, r.global_layers), (0, 61));
        assert_eq!(r.attention.kind, AttentionKind::Mla);
        // INDEX.md (shared/models/): 671,026,419,200 total, 37,552,297,472 active.
        assert!((r.params as f64 / 671_026_419_200.0 - 1.0).abs() < 0.005);
        assert!((r.active_params as f64 / 37_552_297_472.0 - 1.0).abs() < 0.005);
        // INDEX.md: 36,625,618,432 active without the input embedding.
        let without = r.active_params_without_input_embedding.unwrap() as f64;
        assert!(
            (without / 36_625_618_432.0 - 1.0).abs() < 0.005,
            "{without}"
        );
        assert!(
            (11_000_000_000..12_000_000_000).contains(&r.mtp_params),
            "{}",
            r.mtp_params
        );
        assert_eq!(r.embedding_params, 2 * 129_280 * 7168);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    }

    #[test]
    fn windows_and_attention_kinds() {
        let r = hf(include_str!("../../testdata/hf/gemma-3-27b-it.json"));
        assert_eq!((r.windowed_layers, r.global_layers), (52, 10));
        assert_eq!((r.dense_layers, r.moe_layers), (62, 0));
        assert_eq!(r.attention.kind, AttentionKind::Gqa);
        assert!(r.tied_embeddings);
        let base =
            r#""hidden_size":64,"num_hidden_layers":2,"vocab_size":100,"intermediate_size":128"#;
        let kind = |heads: &str| hf(&format!("{{{base},{heads}}}")).attention.kind;
        assert_eq!(kind(r#""num_attention_heads":4"#), AttentionKind::Mha);
        assert_eq!(
            kind(r#""num_attention_heads":4,"num_key_value_heads":1"#),
            AttentionKind::Mqa
        );
        assert_eq!(
            kind(r#""num_attention_heads":4,"num_key_value_heads":2"#),
            AttentionKind::Gqa
        );
    }

    #[test]
    fn presets_are_described_and_bad_fields_named() {
        let r = model_report(ModelFile {
            preset: Some("grok-1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((r.name.as_str(), r.moe_layers), ("grok-1", 64));
        assert!(r.description.unwrap().starts_with("Grok-1"));
        assert!(r.active_params < r.params);
        let e = model_report(ModelFile {
            preset: Some("nope".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().starts_with("unknown model preset 'nope'"),
            "{e}"
        );
        let e = model_report(ModelFile {
            layers: Some(2),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().starts_with("model.ffn_hidden = missing"),
            "{e}"
        );
    }
}
