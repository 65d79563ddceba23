//! FLOPs and bytes of each op of one micro-batch, on one GPU, for the forward pass.
//!
//! Conventions (the "models" section of DESIGN.md):
//! - Attention is fused (FlashAttention): the s x s scores are never stored, the kernel is
//!   FLOP-bound, and causal masking halves the score FLOPs that are executed. The model
//!   FLOPs used for MFU count full (non-causal) attention, as Megatron's formula does.
//! - Backward GEMMs cost twice the forward (data and weight gradients). The fused
//!   attention backward recomputes the scores: 2.5x its forward FLOPs.
//! - Per-GPU tokens are micro_batch x seq_len / cp; with sequence parallelism the
//!   element-wise ops (norms, residuals, dropout) run on 1/tp of them, otherwise every TP
//!   rank repeats them.

use super::model::ModelSpec;
use super::plan::{ParallelPlan, TrainingRun};
use crate::units::{Bytes, Flops};
use serde::Serialize;

/// One GEMM shape on one GPU: (m x k) @ (k x n), repeated `count` times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gemm {
    /// What it computes.
    pub name: &'static str,
    /// Rows (tokens).
    pub m: f64,
    /// Output columns.
    pub n: f64,
    /// Reduction length.
    pub k: f64,
    /// How many such GEMMs (e.g. local experts).
    pub count: f64,
}

impl Gemm {
    /// FLOPs of all `count` GEMMs: 2mnk each.
    pub fn flops(&self) -> Flops {
        Flops(2.0 * self.m * self.n * self.k * self.count)
    }

    /// Bytes read and written at `elem` bytes per element (inputs, weights, output).
    pub fn bytes(&self, elem: f64) -> Bytes {
        Bytes(elem * (self.m * self.k + self.k * self.n + self.m * self.n) * self.count)
    }
}

/// Bytes per BF16/FP16 element.
pub const HALF: f64 = 2.0;

/// Forward work of one transformer layer for one micro-batch on one GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerWork {
    /// The layer's GEMMs.
    pub gemms: Vec<Gemm>,
    /// Attention-core FLOPs executed (causal: half of the full score matrix).
    pub attention_flops: Flops,
    /// Attention-core FLOPs as model FLOPs count them (full score matrix).
    pub attention_model_flops: Flops,
    /// Memory-bound element-wise traffic of the forward (norms, residuals, activation,
    /// dropout, FP8 casts).
    pub elementwise_bytes: Bytes,
    /// The same for the backward: twice the forward's, plus its own FP8 casts.
    pub elementwise_bwd_bytes: Bytes,
    /// Bytes of the activation tensor each TP collective moves (the full b x s x h tensor).
    pub tp_message: Bytes,
    /// TP collectives in the forward: 2 all-reduces, or 2 all-gathers + 2 reduce-scatters
    /// with sequence parallelism (counted as 4 half-size operations: same bytes).
    pub tp_collectives_fwd: u32,
    /// Bytes each GPU sends in one EP all-to-all (dispatch or combine).
    pub ep_a2a_bytes: Bytes,
    /// Bytes each GPU sends around the CP ring in the forward (K and V blocks).
    pub cp_ring_bytes: Bytes,
    /// Model FLOPs (forward) of the layer for MFU: all GEMMs but with top-k experts and
    /// full attention.
    pub model_flops: Flops,
}

/// Tokens of one micro-batch on one GPU (before sequence-parallel sharding).
pub fn tokens_per_gpu(plan: &ParallelPlan, run: &TrainingRun) -> f64 {
    plan.micro_batch as f64 * run.seq_len as f64 / plan.cp as f64
}

/// Switch Transformer's default capacity factor (Fedus et al., 2021, §2.2: 1.25):
/// the busiest expert is taken to see 1.25x the mean load.
pub const MOE_LOAD_IMBALANCE: f64 = 1.25;

/// The forward work of one layer.
pub fn layer_work(model: &ModelSpec, plan: &ParallelPlan, run: &TrainingRun) -> LayerWork {
    let t = plan.tp as f64;
    let tokens = tokens_per_gpu(plan, run);
    let h = model.hidden as f64;
    let ffn = model.ffn_hidden as f64;
    let s = run.seq_len as f64;

    let mut gemms = vec![
        Gemm {
            name: "qkv",
            m: tokens,
            n: model.qkv_width() / t,
            k: h,
            count: 1.0,
        },
        Gemm {
            name: "attn_out",
            m: tokens,
            n: h,
            k: model.q_width() / t,
            count: 1.0,
        },
    ];
    let fc1_width = ffn * (model.mlp.matrices() - 1.0);
    let mut model_mlp_flops;
    let mut ep_a2a_bytes = Bytes::ZERO;
    match model.moe {
        None => {
            gemms.push(Gemm {
                name: "mlp_in",
                m: tokens,
                n: fc1_width / t,
                k: h,
                count: 1.0,
            });
            gemms.push(Gemm {
                name: "mlp_out",
                m: tokens,
                n: h,
                k: ffn / t,
                count: 1.0,
            });
            model_mlp_flops = 2.0 * tokens * h * ffn * model.mlp.matrices() / t;
        }
        Some(moe) => {
            let e = moe.experts as f64;
            let k = moe.topk as f64;
            let ep = plan.ep as f64;
            let local_experts = e / ep;
            // Tokens each local expert processes: the EP group's tokens times top-k, spread
            // over all experts, with the busiest expert's imbalance.
            let per_expert = tokens * k * ep / e * MOE_LOAD_IMBALANCE;
            gemms.push(Gemm {
                name: "router",
                m: tokens,
                n: e,
                k: h,
                count: 1.0,
            });
            gemms.push(Gemm {
                name: "expert_in",
                m: per_expert,
                n: fc1_width / t,
                k: h,
                count: local_experts,
            });
            gemms.push(Gemm {
                name: "expert_out",
                m: per_expert,
                n: h,
                k: ffn / t,
                count: local_experts,
            });
            model_mlp_flops = 2.0 * tokens * h * ffn * model.mlp.matrices() * k / t;
            model_mlp_flops += 2.0 * tokens * h * e;
            if plan.ep > 1 {
                // Each token's hidden vector goes to k experts; (ep-1)/ep of them live elsewhere.
                ep_a2a_bytes = Bytes(tokens * k * h * HALF * (ep - 1.0) / ep / t);
            }
        }
    }

    // Attention core: QK^T and AV, 2 * (2 * tokens * s * heads * head_dim) per GPU over
    // its heads.
    let attention_model_flops = Flops(4.0 * tokens * s * model.q_width() / t);
    let attention_flops = attention_model_flops * 0.5;

    // Element-wise forward traffic per token, in elements of h (HALF bytes each):
    // two norms (read + write: 2h each), two fused bias-dropout-residual adds (read 2h,
    // write h: 3h each, plus a 1-byte mask: 0.5h) = 11h, replicated on each TP rank
    // unless sequence parallel. The activation reads/writes the MLP's inner tensor:
    // standard 2 x ffn, gated 3 x ffn (gate and up in, product out), split by tp.
    let sp_div = if plan.sequence_parallel { t } else { 1.0 };
    let mlp_act = match model.moe {
        None => model.mlp.matrices() * ffn / t,
        Some(moe) => model.mlp.matrices() * ffn / t * moe.topk as f64 * MOE_LOAD_IMBALANCE,
    };
    let elems_per_token = 11.0 * h / sp_div + mlp_act;
    let mut fwd_bytes = tokens * elems_per_token * HALF;
    let mut bwd_bytes = 2.0 * fwd_bytes;
    if run.precision.fp8_gemms() {
        // Transformer Engine casts every GEMM operand it quantizes: read 2 B, write 1 B of
        // FP8 and 1 B of its transpose (Hopper FP8 GEMMs take only the TN layout, so the
        // backward needs transposed copies): 4 B per element.
        // Forward: the inputs of QKV and MLP-in (full h each, gathered), attention-out
        // (q width / t) and MLP-out (ffn/t). Backward: the output gradients of all four
        // GEMMs.
        let fwd_elems = 2.0 * h + model.q_width() / t + ffn / t;
        let bwd_elems = model.qkv_width() / t + h + fc1_width / t + h;
        fwd_bytes += tokens * fwd_elems * 4.0;
        bwd_bytes += tokens * bwd_elems * 4.0;
    }
    let elementwise_bytes = Bytes(fwd_bytes);
    let elementwise_bwd_bytes = Bytes(bwd_bytes);

    let tp_message = Bytes(tokens * h * HALF);
    let tp_collectives_fwd = if plan.tp > 1 { 2 } else { 0 };

    // CP ring: each rank passes its K and V block (tokens x kv width) cp-1 times.
    let kv_width = 2.0 * model.kv_heads as f64 * model.head_dim();
    let cp_ring_bytes = if plan.cp > 1 {
        Bytes(tokens * kv_width / t * HALF * (plan.cp as f64 - 1.0))
    } else {
        Bytes::ZERO
    };

    let dense_gemm_model: f64 = gemms.iter().take(2).map(|g| g.flops().0).sum();
    let model_flops = Flops(dense_gemm_model + model_mlp_flops) + attention_model_flops;

    LayerWork {
        gemms,
        attention_flops,
        attention_model_flops,
        elementwise_bytes,
        elementwise_bwd_bytes,
        tp_message,
        tp_collectives_fwd,
        ep_a2a_bytes,
        cp_ring_bytes,
        model_flops,
    }
}

/// Forward work of the LM head on the last stage, and of the input embedding on the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadWork {
    /// Output projection h -> V/tp.
    pub logits: Gemm,
    /// Softmax cross-entropy traffic over the logits (FP32, read/write ~3x).
    pub loss_bytes: Bytes,
    /// Embedding lookup traffic on the first stage.
    pub embedding_bytes: Bytes,
}

/// The LM head and embedding work for one micro-batch on one GPU.
pub fn head_work(model: &ModelSpec, plan: &ParallelPlan, run: &TrainingRun) -> HeadWork {
    let t = plan.tp as f64;
    let tokens = tokens_per_gpu(plan, run);
    let v = model.vocab as f64;
    let h = model.hidden as f64;
    HeadWork {
        logits: Gemm {
            name: "lm_head",
            m: tokens,
            n: v / t,
            k: h,
            count: 1.0,
        },
        loss_bytes: Bytes(tokens * v / t * 4.0 * 3.0),
        embedding_bytes: Bytes(tokens * h * HALF * 2.0),
    }
}

/// Model FLOPs of one optimizer step for the whole job (forward + backward = 3x forward),
/// the numerator of MFU. Dense: equals Megatron's 72·B·s·l·h²·(1 + s/6h + V/12lh) for a
/// standard-MLP GPT with ffn = 4h.
pub fn model_flops_per_step(model: &ModelSpec, run: &TrainingRun) -> Flops {
    // Evaluate on an unsplit plan: one GPU, one sequence.
    let plan = ParallelPlan::single();
    let lw = layer_work(model, &plan, run);
    let head = head_work(model, &plan, run);
    let per_seq = lw.model_flops * model.layers as f64 + head.logits.flops();
    per_seq * (3.0 * run.global_batch as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::model::MlpKind;
    use crate::workload::plan::Precision;

    fn gpt(l: u32, h: u64, heads: u32) -> ModelSpec {
        ModelSpec {
            name: "gpt".into(),
            layers: l,
            hidden: h,
            heads,
            kv_heads: heads,
            head_dim: h / u64::from(heads),
            ffn_hidden: 4 * h,
            vocab: 51200,
            mlp: MlpKind::Standard,
            moe: None,
            tied_embeddings: false,
            qkv_bias: false,
        }
    }

    #[test]
    fn model_flops_match_megatron_formula() {
        // Narayanan et al. 2021: 72·B·s·l·h²·(1 + s/6h + V/12lh) without recompute;
        // with full recompute the hardware count is 96·B·s·l·h²·(1 + s/6h + V/16lh).
        let m = gpt(96, 12288, 96);
        let run = TrainingRun {
            global_batch: 1536,
            seq_len: 2048,
            tokens: 1e9,
            precision: Precision::Fp16,
        };
        let (b, s, l, h, v) = (1536.0, 2048.0, 96.0, 12288.0, 51200.0);
        let formula = 72.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (12.0 * l * h));
        let got = model_flops_per_step(&m, &run).0;
        assert!((got / formula - 1.0).abs() < 1e-12, "{got} vs {formula}");
        // Full recompute adds one forward of the layers (not the head): 4/3 of the layer
        // part, which is the 96 formula.
        let recompute_extra = got / 3.0 - 2.0 * b * s * h * v;
        let hw = got + recompute_extra;
        let formula96 = 96.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * l * h));
        assert!((hw / formula96 - 1.0).abs() < 1e-12, "{hw} vs {formula96}");
    }

    #[test]
    fn attention_widths_follow_head_dim() {
        // Mistral-Nemo's shape: 32 heads of 128 on a 5120 hidden: q and o are 4096 wide.
        let mut m = gpt(2, 5120, 32);
        m.kv_heads = 8;
        m.head_dim = 128;
        let run = TrainingRun {
            global_batch: 8,
            seq_len: 4096,
            tokens: 1e9,
            precision: Precision::Bf16,
        };
        let lw = layer_work(&m, &ParallelPlan::single(), &run);
        let tokens = 4096.0;
        assert_eq!(lw.gemms[0].n, 4096.0 + 2.0 * 8.0 * 128.0);
        assert_eq!((lw.gemms[1].n, lw.gemms[1].k), (5120.0, 4096.0));
        assert_eq!(lw.attention_model_flops.0, 4.0 * tokens * 4096.0 * 4096.0);
        // The TP all-reduce still moves the hidden state.
        assert_eq!(lw.tp_message.0, tokens * 5120.0 * 2.0);
    }

    #[test]
    fn tensor_parallel_splits_gemms_and_sp_splits_elementwise() {
        let m = gpt(2, 4096, 32);
        let run = TrainingRun {
            global_batch: 8,
            seq_len: 2048,
            tokens: 1e9,
            precision: Precision::Bf16,
        };
        let mut p = ParallelPlan::single();
        let one = layer_work(&m, &p, &run);
        p.tp = 8;
        let eight = layer_work(&m, &p, &run);
        let f1: f64 = one.gemms.iter().map(|g| g.flops().0).sum();
        let f8: f64 = eight.gemms.iter().map(|g| g.flops().0).sum();
        assert!((f1 / f8 - 8.0).abs() < 1e-9);
        p.sequence_parallel = true;
        let sp = layer_work(&m, &p, &run);
        assert!(sp.elementwise_bytes.0 < eight.elementwise_bytes.0 / 2.0);
        assert_eq!(eight.tp_collectives_fwd, 2);
        assert_eq!(one.tp_collectives_fwd, 0);
    }

    #[test]
    fn causal_attention_executes_half_the_model_count() {
        let m = gpt(2, 4096, 32);
        let run = TrainingRun {
            global_batch: 8,
            seq_len: 8192,
            tokens: 1e9,
            precision: Precision::Bf16,
        };
        let p = ParallelPlan {
            cp: 2,
            ..ParallelPlan::single()
        };
        let w = layer_work(&m, &p, &run);
        assert_eq!(w.attention_flops.0 * 2.0, w.attention_model_flops.0);
        // CP halves the queries per GPU, so attention per GPU halves too.
        assert_eq!(w.attention_model_flops.0, 4.0 * 4096.0 * 8192.0 * 4096.0);
        assert!(w.cp_ring_bytes.0 > 0.0);
    }
}
