//! Decoder-only transformer shapes, dense or mixture-of-experts.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The feed-forward block's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MlpKind {
    /// Two matrices with GeLU or squared ReLU (GPT, GPT-NeoX).
    Standard,
    /// Three matrices with a gated activation: SwiGLU/GeGLU (Llama, Mistral, Grok-1).
    Gated,
}

impl MlpKind {
    /// Weight matrices of size hidden x ffn in one MLP.
    pub fn matrices(self) -> f64 {
        match self {
            MlpKind::Standard => 2.0,
            MlpKind::Gated => 3.0,
        }
    }
}

/// Mixture-of-experts: every layer's MLP is replaced by `experts` MLPs and a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Moe {
    /// Experts per MoE layer.
    pub experts: u32,
    /// Experts each token is routed to.
    pub topk: u32,
}

/// A decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    /// Display name.
    pub name: String,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden size h.
    pub hidden: u64,
    /// Attention (query) heads.
    pub heads: u32,
    /// Key/value heads (< heads: grouped-query attention).
    pub kv_heads: u32,
    /// Width of one attention head (usually hidden / heads; Llama 3.2, Mistral-Nemo,
    /// Qwen3 and Gemma 3 set it apart): q and o are heads x head_dim wide, k and v
    /// kv_heads x head_dim.
    pub head_dim: u64,
    /// MLP inner size (per expert for MoE).
    pub ffn_hidden: u64,
    /// Vocabulary size V.
    pub vocab: u64,
    /// MLP kind.
    pub mlp: MlpKind,
    /// Mixture-of-experts, if any.
    pub moe: Option<Moe>,
    /// The LM head shares the input embedding's weights (`tie_word_embeddings`): one
    /// V x h matrix is stored; the head's GEMM still runs.
    pub tied_embeddings: bool,
    /// The q, k and v projections carry biases (Qwen2, `attention_bias`).
    pub qkv_bias: bool,
}

/// Largest dimension accepted; keeps every product below f64's exact-integer range.
pub const MAX_DIM: u64 = 1 << 24;

impl ModelSpec {
    /// Checks the shape; every error names the field.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let f = |n: &str| format!("{prefix}.{n}");
        if self.layers == 0 || self.layers > 100_000 {
            return Err(Error::invalid(
                f("layers"),
                self.layers,
                "an integer from 1 to 100000",
            ));
        }
        for (name, v) in [
            ("hidden", self.hidden),
            ("ffn_hidden", self.ffn_hidden),
            ("vocab", self.vocab),
        ] {
            if v == 0 || v > MAX_DIM {
                return Err(Error::invalid(
                    f(name),
                    v,
                    format!("an integer from 1 to {MAX_DIM}"),
                ));
            }
        }
        if self.heads == 0 || u64::from(self.heads) > self.hidden {
            return Err(Error::invalid(
                f("heads"),
                self.heads,
                "an integer from 1 to hidden",
            ));
        }
        if self.head_dim == 0 || self.head_dim > MAX_DIM / u64::from(self.heads) {
            return Err(Error::invalid(
                f("head_dim"),
                self.head_dim,
                format!(
                    "an integer from 1 to {} (heads x head_dim at most {MAX_DIM})",
                    MAX_DIM / u64::from(self.heads)
                ),
            ));
        }
        if self.kv_heads == 0 || !self.heads.is_multiple_of(self.kv_heads) {
            return Err(Error::invalid(
                f("kv_heads"),
                self.kv_heads,
                format!("a divisor of heads ({}), at least 1", self.heads),
            ));
        }
        if let Some(m) = self.moe {
            if m.experts < 2 || m.experts > 4096 {
                return Err(Error::invalid(
                    f("moe_experts"),
                    m.experts,
                    "0 (dense) or 2 to 4096",
                ));
            }
            if m.topk == 0 || m.topk > m.experts {
                return Err(Error::invalid(
                    f("moe_topk"),
                    m.topk,
                    format!("1 to moe_experts ({})", m.experts),
                ));
            }
        }
        Ok(())
    }

    /// Head dimension.
    pub fn head_dim(&self) -> f64 {
        self.head_dim as f64
    }

    /// Width of the queries (and of the attention output): heads x head_dim.
    pub fn q_width(&self) -> f64 {
        self.heads as f64 * self.head_dim()
    }

    /// Width of the fused QKV projection's output: (heads + 2 * kv_heads) * head_dim.
    pub fn qkv_width(&self) -> f64 {
        self.q_width() + 2.0 * self.kv_heads as f64 * self.head_dim()
    }

    /// Attention parameters of one layer: QKV (with its biases, if any) and the output
    /// projection.
    pub fn attention_params(&self) -> f64 {
        let h = self.hidden as f64;
        let bias = if self.qkv_bias { self.qkv_width() } else { 0.0 };
        h * self.qkv_width() + bias + self.q_width() * h
    }

    /// Parameters of one expert's (or the dense) MLP.
    pub fn mlp_params(&self) -> f64 {
        self.mlp.matrices() * self.hidden as f64 * self.ffn_hidden as f64
    }

    /// Parameters of one layer that every token uses (attention, norms, router).
    pub fn dense_params_per_layer(&self) -> f64 {
        let h = self.hidden as f64;
        let router = self.moe.map_or(0.0, |m| h * m.experts as f64);
        let mlp = if self.moe.is_some() {
            0.0
        } else {
            self.mlp_params()
        };
        self.attention_params() + mlp + router + 2.0 * h
    }

    /// Expert parameters of one layer (all experts); 0 for dense.
    pub fn expert_params_per_layer(&self) -> f64 {
        self.moe
            .map_or(0.0, |m| m.experts as f64 * self.mlp_params())
    }

    /// Input embedding (or output head) parameters: V x h.
    pub fn embedding_params(&self) -> f64 {
        self.vocab as f64 * self.hidden as f64
    }

    /// Input embedding and output head parameters: two V x h matrices, one when tied.
    pub fn embedding_and_head_params(&self) -> f64 {
        let copies = if self.tied_embeddings { 1.0 } else { 2.0 };
        copies * self.embedding_params()
    }

    /// Embedding and head parameters a pipeline stage holds: the input embedding on the
    /// first stage, the head on the last. Tied weights are stored once when one stage
    /// holds both; across stages Megatron keeps a copy on each end.
    pub fn stage_embedding_params(&self, first: bool, last: bool) -> f64 {
        match (first, last) {
            (true, true) => self.embedding_and_head_params(),
            (true, false) | (false, true) => self.embedding_params(),
            (false, false) => 0.0,
        }
    }

    /// Total parameters.
    pub fn total_params(&self) -> f64 {
        self.layers as f64 * (self.dense_params_per_layer() + self.expert_params_per_layer())
            + self.embedding_and_head_params()
    }

    /// Parameters each token touches (the "active" count of an MoE).
    pub fn active_params(&self) -> f64 {
        let experts = self.moe.map_or(0.0, |m| m.topk as f64 * self.mlp_params());
        self.layers as f64 * (self.dense_params_per_layer() + experts)
            + self.embedding_and_head_params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama405() -> ModelSpec {
        ModelSpec {
            name: "llama3-405b".into(),
            layers: 126,
            hidden: 16384,
            heads: 128,
            kv_heads: 8,
            head_dim: 128,
            ffn_hidden: 53248,
            vocab: 128256,
            mlp: MlpKind::Gated,
            moe: None,
            tied_embeddings: false,
            qkv_bias: false,
        }
    }

    #[test]
    fn llama3_405b_has_405b_parameters() {
        let p = llama405().total_params();
        assert!((p / 1e9 - 405.8).abs() < 1.0, "{}", p / 1e9);
    }

    #[test]
    fn moe_active_is_smaller_than_total() {
        let mut m = llama405();
        m.moe = Some(Moe {
            experts: 8,
            topk: 2,
        });
        assert!(m.active_params() < m.total_params());
        assert!(m.validate("model").is_ok());
    }

    #[test]
    fn bad_shapes_name_the_field() {
        let mut m = llama405();
        m.layers = 0;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .starts_with("model.layers = 0"));
        let mut m = llama405();
        m.kv_heads = 7;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .contains("model.kv_heads"));
        let mut m = llama405();
        m.hidden = 1 << 40;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .contains("model.hidden"));
    }
}
