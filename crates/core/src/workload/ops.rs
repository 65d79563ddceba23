//! FLOPs and bytes of each op of one micro-batch, on one GPU, for the forward pass.
//!
//! Conventions (the "models" section of DESIGN.md):
//! - Attention is fused (FlashAttention): the s x s scores are never stored, the kernel is
//!   FLOP-bound, and causal masking halves the score FLOPs that are executed. The model
//!   FLOPs used for MFU count full (non-causal) attention, as Megatron's formula does.
//! - Backward GEMMs do twice the forward's FLOPs (data and weight gradients), each priced
//!   at its own shape (`ComputeModel::gemm_backward_time`). The fused attention backward
//!   recomputes the scores: 2.5x its forward FLOPs.
//! - Per-GPU tokens are micro_batch x seq_len / cp; with sequence parallelism the
//!   element-wise ops (norms, residuals, dropout) run on 1/tp of them, otherwise every TP
//!   rank repeats them.

use super::model::{attended_keys, LayerKind, MlpPart, ModelSpec, Projection, Split};
use super::plan::{
    AttentionKernel, CpComm, Dispatcher, ParallelPlan, RecomputeModule, TrainingRun,
};
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
    /// Whether the `count` products run as one grouped kernel (Megatron-LM's grouped
    /// expert GEMM, `--moe-grouped-gemm`), whose output tiles share the waves as a
    /// batched GEMM's do; else one kernel each.
    pub grouped: bool,
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
    /// Unfused attention (`AttentionKernel::Unfused`): the batched QK^T and AV GEMMs over
    /// the whole s x s score matrix, in BF16/FP16 whatever the recipe (empty when fused;
    /// `attention_flops` is then zero).
    pub attention_gemms: Vec<Gemm>,
    /// Unfused attention: HBM traffic of the fused scale-mask-softmax and the dropout on
    /// the scores, forward.
    pub attention_bytes: Bytes,
    /// The same for the backward.
    pub attention_bwd_bytes: Bytes,
    /// Memory-bound element-wise traffic of the forward (norms, residuals, activation,
    /// dropout, a CP ring's output corrections; FP8 casts apart, below).
    pub elementwise_bytes: Bytes,
    /// The same for the backward: twice the forward's (an MoE layer's permutations
    /// once), and a CP ring's gradient sums.
    pub elementwise_bwd_bytes: Bytes,
    /// Elements the forward casts to FP8 (each quantized GEMM's input; zero unless FP8),
    /// priced by the recipe and GPU (`Fp8Recipe::cast_bytes`).
    pub fp8_cast_elements: f64,
    /// The same for the backward (each quantized GEMM's output gradient).
    pub fp8_cast_bwd_elements: f64,
    /// Bytes of the activation tensor each TP collective moves (the full b x s x h tensor).
    pub tp_message: Bytes,
    /// TP collectives in the forward: 2 all-reduces, or 2 all-gathers + 2 reduce-scatters
    /// with sequence parallelism (counted as 4 half-size operations: same bytes).
    pub tp_collectives_fwd: u32,
    /// Bytes each GPU sends in one EP all-to-all (dispatch or combine; all-to-all
    /// dispatcher).
    pub ep_a2a_bytes: Bytes,
    /// Bytes of every token of the EP group, all-gathered before the experts and
    /// reduce-scattered after (all-gather dispatcher).
    pub ep_gather_message: Bytes,
    /// Bytes of the tokens gathered over the expert-TP group after the dispatch (and
    /// reduce-scattered before the combine); zero when etp = 1.
    pub etp_message: Bytes,
    /// GEMMs the backward repeats under selective recomputation (MLA's up-projections).
    pub recompute_gemms: Vec<Gemm>,
    /// Element-wise bytes the backward repeats under selective recomputation (norms,
    /// the experts' activation).
    pub recompute_bytes: Bytes,
    /// Bytes each GPU sends around the CP ring in the forward (K and V blocks).
    pub cp_ring_bytes: Bytes,
    /// Kernels the forward launches (GEMMs, the attention core, the element-wise ops, the
    /// MoE routing and permutations, FP8 casts); the backward launches about twice as
    /// many (a data and a weight gradient per GEMM, a gradient per element-wise op).
    pub kernels: f64,
    /// Model FLOPs (forward) of the layer for MFU: all GEMMs but with top-k experts and
    /// full attention.
    pub model_flops: Flops,
}

/// Tokens of one micro-batch on one GPU (before sequence-parallel sharding).
pub fn tokens_per_gpu(plan: &ParallelPlan, run: &TrainingRun) -> f64 {
    plan.micro_batch as f64 * run.seq_len as f64 / plan.cp as f64
}

/// The GEMM of `p` over `m` tokens on one GPU, `count` times, split over `ways` ranks as
/// its `Split` says.
fn gemm_of(p: &Projection, m: f64, count: f64, ways: f64) -> Gemm {
    let (n, k) = match p.split {
        Split::Column => (p.output / ways, p.input),
        Split::Row => (p.output, p.input / ways),
        Split::None => (p.output, p.input),
    };
    Gemm {
        name: p.name,
        m,
        n,
        k,
        count,
        grouped: false,
    }
}

/// The forward work of one layer of kind `kind`.
pub fn layer_work(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    kind: LayerKind,
) -> LayerWork {
    let t = plan.tp as f64;
    let tokens = tokens_per_gpu(plan, run);
    let h = model.hidden as f64;

    let attention = model.attention_projections();
    let mut gemms: Vec<Gemm> = attention
        .iter()
        .map(|p| gemm_of(p, tokens, 1.0, t))
        .collect();
    // Model FLOPs count what a token needs: top-k experts at the mean load.
    let mut model_gemm_flops: f64 = gemms.iter().map(|g| g.flops().0).sum();
    let mut ep_a2a_bytes = Bytes::ZERO;
    let mut ep_gather_message = Bytes::ZERO;
    let mut etp_message = Bytes::ZERO;
    // Bytes an MoE layer's token permutations move, forward (the backward moves the same).
    let mut permute_bytes = 0.0;
    let sp_div = if plan.sequence_parallel { t } else { 1.0 };
    // Selective recomputation of the recipe's modules: the norms read and write h per
    // token each.
    let mut recompute_bytes = if plan.recomputes(run, RecomputeModule::Layernorm) {
        tokens * 4.0 * h * HALF / sp_div
    } else {
        0.0
    };
    // Inner MLP elements per token (activation input and output), split by tp.
    let mlp_inner;
    match model.moe.as_ref().filter(|_| kind.moe) {
        None => {
            for p in model.mlp_projections(model.ffn_hidden, MlpPart::Dense) {
                gemms.push(gemm_of(&p, tokens, 1.0, t));
            }
            model_gemm_flops += gemms
                .iter()
                .skip(attention.len())
                .map(|g| g.flops().0)
                .sum::<f64>();
            mlp_inner = model.mlp.matrices() * model.ffn_hidden as f64 / t;
        }
        Some(moe) => {
            let e = moe.experts as f64;
            let k = moe.topk as f64;
            let (ep, etp) = (plan.ep as f64, plan.etp as f64);
            let local_experts = e / ep;
            // Megatron's all-to-all dispatcher (MoEAlltoAllTokenDispatcher): each GPU
            // routes its sequence-parallel share of the tokens (tokens / tp) to the EP
            // group, then the expert-TP group all-gathers what arrived. A local expert so
            // sees the tokens of ep x etp GPUs times top-k over all experts, with the
            // busiest rank's imbalance, and holds 1/etp of the expert's weights.
            let routed = tokens / t * k * moe.rank_imbalance(plan.ep);
            let per_expert = routed * etp * ep / e;
            let router = Projection {
                name: "router",
                input: h,
                output: e,
                split: Split::None,
                bias: 0.0,
                from_latent: false,
            };
            let mut add = |g: Gemm, model_count: f64, gemms: &mut Vec<Gemm>| {
                model_gemm_flops += 2.0 * tokens * g.n * g.k * model_count;
                gemms.push(g);
            };
            add(gemm_of(&router, tokens, 1.0, t), 1.0, &mut gemms);
            if moe.shared_ffn > 0 {
                for p in model.mlp_projections(moe.shared_ffn, MlpPart::Shared) {
                    add(gemm_of(&p, tokens, 1.0, t), 1.0, &mut gemms);
                }
            }
            for p in model.mlp_projections(moe.expert_ffn, MlpPart::Expert) {
                let experts = Gemm {
                    grouped: true,
                    ..gemm_of(&p, per_expert, local_experts, etp)
                };
                add(experts, k, &mut gemms);
            }
            // Megatron-Core's dispatcher permutes each token's k copies into expert order
            // before the experts and unpermutes (weighting and summing them) after
            // (`permute` and `unpermute`, megatron/core/transformer/moe/moe_utils.py):
            // each reads one side and writes the other.
            permute_bytes = 2.0 * (tokens / t + routed) * h * HALF;
            // What arrives at a GPU for its experts, before the expert-TP all-gather.
            let arrived = match run.recipe.moe_dispatcher {
                Dispatcher::Alltoall | Dispatcher::Deepep => {
                    if plan.ep > 1 {
                        // Each token's hidden vector goes to k experts; (ep-1)/ep of them
                        // live elsewhere.
                        ep_a2a_bytes = Bytes(routed * h * HALF * (ep - 1.0) / ep);
                    }
                    routed
                }
                // MoEAllGatherTokenDispatcher: every GPU gathers all the EP group's tokens
                // (tokens / tp each) and keeps those routed to its experts.
                Dispatcher::Allgather => {
                    if plan.ep > 1 {
                        ep_gather_message = Bytes(tokens / t * ep * h * HALF);
                    }
                    tokens / t * ep
                }
            };
            if plan.etp > 1 {
                etp_message = Bytes(arrived * etp * h * HALF);
            }
            if plan.recomputes(run, RecomputeModule::MoeAct) {
                // Read the first projection's output, write the activation.
                recompute_bytes += routed * moe.expert_ffn as f64 * model.mlp.matrices() * HALF;
            }
            mlp_inner = model.mlp.matrices()
                * (moe.expert_ffn as f64 * k * moe.rank_imbalance(plan.ep) + moe.shared_ffn as f64)
                / t;
        }
    }

    // Attention core: QK^T over qk_dim and AV over v_dim for each of the heads/t heads,
    // against the keys each query sees (causal: half the score matrix; windowed: fewer).
    let keys = attended_keys(kind.window, run.seq_len);
    let heads_dims = model.heads as f64 * (model.qk_dim() + model.v_dim()) / t;
    let mut attention_flops = Flops(2.0 * tokens * keys * heads_dims);
    let attention_model_flops = attention_flops * 2.0;
    let (attention_gemms, attention_bytes, attention_bwd_bytes) =
        if run.recipe.attention == AttentionKernel::Unfused {
            attention_flops = Flops::ZERO;
            unfused_attention(model, plan, run)
        } else {
            (Vec::new(), Bytes::ZERO, Bytes::ZERO)
        };

    // Element-wise forward traffic per token, in elements of h (HALF bytes each):
    // two norms (read + write: 2h each), two fused bias-dropout-residual adds (read 2h,
    // write h: 3h each, plus a 1-byte mask: 0.5h) = 11h, replicated on each TP rank
    // unless sequence parallel. The activation reads/writes the MLP's inner tensor:
    // standard 2 x ffn, gated 3 x ffn (gate and up in, product out), split by tp.
    let elems_per_token = 11.0 * h / sp_div + mlp_inner;
    let fwd_bytes = tokens * elems_per_token * HALF + permute_bytes;
    let bwd_bytes = 2.0 * (fwd_bytes - permute_bytes) + permute_bytes;
    // Transformer Engine casts every GEMM operand it quantizes. Forward: each GEMM's
    // input; backward: each GEMM's output gradient. The router stays in higher precision.
    // Each cast is a kernel of its own.
    let quantized: Vec<&Gemm> = if run.precision.fp8_gemms() {
        gemms.iter().filter(|g| g.name != "router").collect()
    } else {
        Vec::new()
    };
    let (fp8_cast_elements, fp8_cast_bwd_elements) =
        quantized.iter().fold((0.0, 0.0), |(i, o), g| {
            (i + g.m * g.k * g.count, o + g.m * g.n * g.count)
        });
    let (cp_fwd, cp_bwd, cp_kernels) = cp_ring_corrections(model, plan, run, tokens);
    let kernels = layer_kernels(
        gemms.len() as f64,
        &attention_gemms,
        model.moe.is_some() && kind.moe,
        quantized.len() as f64,
    ) + cp_kernels;
    let elementwise_bytes = Bytes(fwd_bytes) + cp_fwd;
    let elementwise_bwd_bytes = Bytes(bwd_bytes) + cp_bwd;

    let tp_message = Bytes(tokens * h * HALF);
    let tp_collectives_fwd = if plan.tp > 1 { 2 } else { 0 };

    // CP ring: each rank passes its K and V block (tokens x kv width) cp-1 times.
    let cp_ring_bytes = if plan.cp > 1 {
        Bytes(tokens * model.kv_width() / t * HALF * (plan.cp as f64 - 1.0))
    } else {
        Bytes::ZERO
    };

    let recompute_gemms = if plan.recomputes(run, RecomputeModule::MlaUpProj) {
        attention
            .iter()
            .filter(|p| p.from_latent)
            .map(|p| gemm_of(p, tokens, 1.0, t))
            .collect()
    } else {
        Vec::new()
    };
    LayerWork {
        recompute_gemms,
        recompute_bytes: Bytes(recompute_bytes),
        gemms,
        attention_flops,
        attention_model_flops,
        attention_gemms,
        attention_bytes,
        attention_bwd_bytes,
        elementwise_bytes,
        elementwise_bwd_bytes,
        fp8_cast_elements,
        fp8_cast_bwd_elements,
        tp_message,
        tp_collectives_fwd,
        ep_a2a_bytes,
        ep_gather_message,
        etp_message,
        cp_ring_bytes,
        kernels,
        model_flops: Flops(model_gemm_flops) + attention_model_flops,
    }
}

/// What a ring of context-parallel ranks (`CpComm::P2p`) adds to a layer beyond one
/// attention call: forward and backward HBM bytes, and forward kernels. Transformer
/// Engine's `AttnFuncWithCPAndKVP2P` runs the attention once per ring step (cp calls),
/// each on the key-value block that step holds, and merges the partial results:
///
/// - forward, per step: the output correction (`flash_attn_fwd_out_correction`, one fused
///   kernel) reads the step's partial output and the running output and writes it back,
///   rescaled by the log-sum-exps (3 passes over the output, HALF bytes each; the
///   log-sum-exps are a head_dim-th of it);
/// - backward, per step: the step's query gradient is added into the running one and the
///   key-value gradient into the one travelling the ring (`dq.add_`, `dkv.add_`: 3
///   passes each).
///
/// From our reading of TE's context_parallel.py ⚠ (kept at the activations' precision
/// here; a version that accumulates in FP32 moves more). The all-gather exchange
/// (`CpComm::AllGather`, Meta's Llama 3) calls attention once and merges nothing.
fn cp_ring_corrections(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    tokens: f64,
) -> (Bytes, Bytes, f64) {
    if plan.cp <= 1 || run.recipe.cp_comm != CpComm::P2p {
        return (Bytes::ZERO, Bytes::ZERO, 0.0);
    }
    let (cp, t) = (plan.cp as f64, plan.tp as f64);
    let output = tokens * model.heads as f64 * model.v_dim() / t;
    let query = tokens * model.heads as f64 * model.qk_dim() / t;
    let key_value = tokens * model.kv_width() / t;
    let passes = 3.0 * HALF * cp;
    // cp - 1 more attention calls, and a correction per step.
    let kernels = (cp - 1.0) + cp;
    (
        Bytes(passes * output),
        Bytes(passes * (query + key_value)),
        kernels,
    )
}

/// Element-wise kernels of a layer's forward as Megatron-LM with Transformer Engine
/// fuses them: two norms, two bias-dropout-residual adds and the activation.
const ELEMENTWISE_KERNELS: f64 = 5.0;
/// An MoE layer's extra kernels: the router's softmax and top-k, the permutation of
/// tokens to experts and back.
const MOE_ROUTING_KERNELS: f64 = 4.0;
/// The unfused attention core's kernels besides its GEMMs: the fused
/// scale-mask-softmax and the dropout.
const UNFUSED_SCORE_KERNELS: f64 = 2.0;

/// Kernels a layer's forward launches: each GEMM (grouped expert GEMMs are one kernel
/// per projection), the attention core (one fused kernel, or its batched GEMMs and score
/// passes), the element-wise ops, MoE routing, and one FP8 cast per quantized GEMM.
fn layer_kernels(gemms: f64, attention_gemms: &[Gemm], moe: bool, fp8_casts: f64) -> f64 {
    let attention = if attention_gemms.is_empty() {
        1.0
    } else {
        attention_gemms.len() as f64 + UNFUSED_SCORE_KERNELS
    };
    let routing = if moe { MOE_ROUTING_KERNELS } else { 0.0 };
    gemms + attention + ELEMENTWISE_KERNELS + routing + fp8_casts
}

/// HBM bytes per score element of Megatron-LM's unfused attention core (Korthikanti et
/// al. 2022, §4.1, which counts what the forward stores: the softmax output 2·a·s²·b
/// bytes, the dropout mask a·s²·b, the dropout output 2·a·s²·b). Forward: the fused
/// scale-mask-softmax reads the QK^T output and writes its probabilities (2 + 2 B), the
/// dropout reads them and writes its output and its 1-byte mask (2 + 2 + 1 B); the two
/// GEMMs' own reads and writes of the scores are in their roofline bytes.
const UNFUSED_SCORE_FWD_BYTES: f64 = 9.0;
/// Backward: the dropout's backward reads the gradient and the mask and writes its
/// gradient (2 + 1 + 2 B); the softmax backward reads the gradient and its saved output
/// and writes the scores' gradient (2 + 2 + 2 B).
const UNFUSED_SCORE_BWD_BYTES: f64 = 11.0;

/// Megatron-LM's attention core before FlashAttention (`CoreAttention`): per head and
/// sequence, the batched GEMMs QK^T (s x s over the head's qk width) and AV (s x v width
/// over the s keys), each over the whole score matrix (the causal mask is applied after,
/// so nothing is skipped), with the softmax and dropout passes over the scores in HBM.
fn unfused_attention(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
) -> (Vec<Gemm>, Bytes, Bytes) {
    let queries = run.seq_len as f64 / plan.cp as f64;
    let keys = run.seq_len as f64;
    let count = plan.micro_batch as f64 * model.heads as f64 / plan.tp as f64;
    let gemms = vec![
        Gemm {
            name: "scores",
            m: queries,
            n: keys,
            k: model.qk_dim(),
            count,
            grouped: true,
        },
        Gemm {
            name: "context",
            m: queries,
            n: model.v_dim(),
            k: keys,
            count,
            grouped: true,
        },
    ];
    let elements = count * queries * keys;
    (
        gemms,
        Bytes(elements * UNFUSED_SCORE_FWD_BYTES),
        Bytes(elements * UNFUSED_SCORE_BWD_BYTES),
    )
}

/// Forward work of the LM head on the last stage, and of the input embedding on the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadWork {
    /// Output projection h -> V/tp.
    pub logits: Gemm,
    /// Softmax cross-entropy HBM traffic over the logits, forward.
    pub loss_bytes: Bytes,
    /// The same, backward.
    pub loss_bwd_bytes: Bytes,
    /// Embedding lookup traffic on the first stage.
    pub embedding_bytes: Bytes,
    /// The embedding's weight gradient, backward: PyTorch's embedding backward (dense,
    /// `sparse=False`) zero-fills a gradient of the whole V/tp x h table before adding
    /// the looked-up rows in (`embedding_dense_backward`), and Megatron's gradient hook
    /// then adds it into the main-grad buffer (`main_grad.add_(grad)`: the lookup has no
    /// fused accumulation, which the Linear layers' weight gradients have). Per
    /// parameter: write 2 B, read 2 B, read and write the main grad.
    pub embedding_grad_bytes: Bytes,
}

/// The LM head and embedding work for one micro-batch on one GPU.
pub fn head_work(model: &ModelSpec, plan: &ParallelPlan, run: &TrainingRun) -> HeadWork {
    let t = plan.tp as f64;
    let tokens = tokens_per_gpu(plan, run);
    let v = model.vocab as f64;
    let h = model.hidden as f64;
    let loss = run.recipe.cross_entropy.bytes_per_logit();
    HeadWork {
        logits: Gemm {
            name: "lm_head",
            m: tokens,
            n: v / t,
            k: h,
            count: 1.0,
            grouped: false,
        },
        loss_bytes: Bytes(tokens * v / t * loss.0),
        loss_bwd_bytes: Bytes(tokens * v / t * loss.1),
        embedding_bytes: Bytes(tokens * h * HALF * 2.0),
        // The main grad at the size the step's time counts it (`grad_reduce_bytes`, FP32
        // unless set, as the reduction's traffic).
        embedding_grad_bytes: Bytes(v / t * h * (2.0 * HALF + 2.0 * run.grad_reduce_bytes())),
    }
}

/// How model FLOPs count the attention core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionCount {
    /// The whole s x s score matrix, as Megatron's and PaLM's MFU formulas do.
    Full,
    /// Only what a causal mask keeps (the half the kernels compute; windows likewise),
    /// as sources that report useful FLOPs count it.
    Causal,
}

impl LayerWork {
    /// The layer's forward model FLOPs with the attention core counted as `count` says.
    pub fn model_flops_counting(&self, count: AttentionCount) -> Flops {
        match count {
            AttentionCount::Full => self.model_flops,
            AttentionCount::Causal => self.model_flops - self.attention_model_flops * 0.5,
        }
    }
}

/// Model FLOPs of one optimizer step for the whole job (forward + backward = 3x forward),
/// the numerator of MFU: every layer by its kind, the LM head, and each MTP layer with
/// its head. Dense, counting the full attention matrix: equals Megatron's
/// 72·B·s·l·h²·(1 + s/6h + V/12lh) for a standard-MLP GPT with ffn = 4h.
pub fn model_flops_per_step(model: &ModelSpec, run: &TrainingRun, count: AttentionCount) -> Flops {
    // Evaluate on an unsplit plan: one GPU, one sequence.
    let plan = ParallelPlan::single();
    let head = head_work(model, &plan, run);
    let kinds = model.kinds();
    let per_kind: Vec<Flops> = kinds
        .iter()
        .map(|&k| layer_work(model, &plan, run, k).model_flops_counting(count))
        .collect();
    let layers: Flops = (0..model.layers + model.mtp_layers)
        .map(|i| {
            let k = model.layer_kind(i);
            per_kind[kinds.binary_search(&k).expect("every kind is listed")]
        })
        .sum();
    let heads = head.logits.flops() * f64::from(1 + model.mtp_layers);
    // Each MTP layer's 2h -> h projection.
    let h = model.hidden as f64;
    let mtp_proj = Flops(2.0 * run.seq_len as f64 * 2.0 * h * h * f64::from(model.mtp_layers));
    (layers + heads + mtp_proj) * (3.0 * run.global_batch as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::model::MlpKind;
    use crate::workload::plan::Precision;

    fn gpt(l: u32, h: u64, heads: u32) -> ModelSpec {
        ModelSpec::dense("gpt", l, h, heads, heads, 4 * h, 51200, MlpKind::Standard)
    }

    #[test]
    fn model_flops_match_megatron_formula() {
        // Narayanan et al. 2021: 72·B·s·l·h²·(1 + s/6h + V/12lh) without recompute;
        // with full recompute the hardware count is 96·B·s·l·h²·(1 + s/6h + V/16lh).
        let m = gpt(96, 12288, 96);
        let run = TrainingRun::test(1536, 2048, Precision::Fp16);
        let (b, s, l, h, v) = (1536.0, 2048.0, 96.0, 12288.0, 51200.0);
        let formula = 72.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (12.0 * l * h));
        let got = model_flops_per_step(&m, &run, AttentionCount::Full).0;
        assert!((got / formula - 1.0).abs() < 1e-12, "{got} vs {formula}");
        // Full recompute adds one forward of the layers (not the head): 4/3 of the layer
        // part, which is the 96 formula.
        let recompute_extra = got / 3.0 - 2.0 * b * s * h * v;
        let hw = got + recompute_extra;
        let formula96 = 96.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * l * h));
        assert!((hw / formula96 - 1.0).abs() < 1e-12, "{hw} vs {formula96}");
        // Counting the causal half of attention halves the s/6h term.
        let causal = model_flops_per_step(&m, &run, AttentionCount::Causal).0;
        let formula = 72.0 * b * s * l * h * h * (1.0 + s / (12.0 * h) + v / (12.0 * l * h));
        assert!(
            (causal / formula - 1.0).abs() < 1e-12,
            "{causal} vs {formula}"
        );
    }

    #[test]
    fn attention_widths_follow_head_dim() {
        // Mistral-Nemo's shape: 32 heads of 128 on a 5120 hidden: q and o are 4096 wide.
        let mut m = gpt(2, 5120, 32);
        m.kv_heads = 8;
        m.head_dim = 128;
        let run = TrainingRun::test(8, 4096, Precision::Bf16);
        let lw = layer_work(&m, &ParallelPlan::single(), &run, m.layer_kind(0));
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
        let run = TrainingRun::test(8, 2048, Precision::Bf16);
        let mut p = ParallelPlan::single();
        let one = layer_work(&m, &p, &run, m.layer_kind(0));
        p.tp = 8;
        let eight = layer_work(&m, &p, &run, m.layer_kind(0));
        let f1: f64 = one.gemms.iter().map(|g| g.flops().0).sum();
        let f8: f64 = eight.gemms.iter().map(|g| g.flops().0).sum();
        assert!((f1 / f8 - 8.0).abs() < 1e-9);
        p.sequence_parallel = true;
        let sp = layer_work(&m, &p, &run, m.layer_kind(0));
        assert!(sp.elementwise_bytes.0 < eight.elementwise_bytes.0 / 2.0);
        assert_eq!(eight.tp_collectives_fwd, 2);
        assert_eq!(one.tp_collectives_fwd, 0);
    }

    #[test]
    fn a_cp_ring_merges_its_partial_attention_and_a_gather_does_not() {
        // GQA 32 heads / 8 key-value heads of 128 on 4096, CP 4 at TP 2: 2048 of the 8192
        // tokens a GPU. Forward: 4 steps x 3 passes over 2048 x 16 heads x 128 (bf16);
        // backward: the same over the query and the key-value gradient (2 x 4 x 128).
        let mut m = gpt(2, 4096, 32);
        m.kv_heads = 8;
        m.head_dim = 128;
        let mut run = TrainingRun::test(8, 8192, Precision::Bf16);
        let p = ParallelPlan {
            tp: 2,
            cp: 4,
            ..ParallelPlan::single()
        };
        run.recipe.cp_comm = CpComm::AllGather;
        let gather = layer_work(&m, &p, &run, m.layer_kind(0));
        run.recipe.cp_comm = CpComm::P2p;
        let ring = layer_work(&m, &p, &run, m.layer_kind(0));
        let per_pass = 2048.0 * 2.0;
        let fwd = 4.0 * 3.0 * per_pass * 16.0 * 128.0;
        let bwd = 4.0 * 3.0 * per_pass * (16.0 * 128.0 + 2.0 * 4.0 * 128.0);
        let d = |a: Bytes, b: Bytes| a.0 - b.0;
        assert_eq!(d(ring.elementwise_bytes, gather.elementwise_bytes), fwd);
        assert_eq!(
            d(ring.elementwise_bwd_bytes, gather.elementwise_bwd_bytes),
            bwd
        );
        // Four attention calls and four corrections where the gather makes one call.
        assert_eq!(ring.kernels - gather.kernels, 7.0);
        // No context parallelism: nothing to merge.
        let single = ParallelPlan {
            tp: 2,
            ..ParallelPlan::single()
        };
        let one = layer_work(&m, &single, &run, m.layer_kind(0));
        run.recipe.cp_comm = CpComm::AllGather;
        assert_eq!(one, layer_work(&m, &single, &run, m.layer_kind(0)));
    }

    #[test]
    fn the_embedding_gradient_is_the_whole_table_whatever_the_tokens() {
        // GPT-2-sized table (51,200 x 2,048) at TP 2, FP32 main grads: 2 + 2 + 4 + 4 B a
        // parameter, for 2 sequences or 64.
        let m = gpt(2, 2048, 16);
        let mut p = ParallelPlan::single();
        p.tp = 2;
        let table = 51200.0 / 2.0 * 2048.0;
        for batch in [2, 64] {
            let run = TrainingRun::test(batch, 2048, Precision::Bf16);
            assert_eq!(run.grad_reduce_bytes(), 4.0);
            let hw = head_work(&m, &p, &run);
            assert_eq!(hw.embedding_grad_bytes.0, table * 12.0);
        }
        let mut run = TrainingRun::test(2, 2048, Precision::Bf16);
        run.recipe.main_grads = Some(crate::workload::plan::GradPrecision::Bf16);
        assert_eq!(head_work(&m, &p, &run).embedding_grad_bytes.0, table * 8.0);
    }

    #[test]
    fn a_layer_launches_its_gemms_attention_and_elementwise_kernels() {
        let m = gpt(2, 4096, 32);
        let mut run = TrainingRun::test(8, 2048, Precision::Bf16);
        let p = ParallelPlan::single();
        // qkv, proj, fc1, fc2; one fused attention kernel; five element-wise kernels.
        let bf16 = layer_work(&m, &p, &run, m.layer_kind(0));
        assert_eq!(bf16.gemms.len(), 4);
        assert_eq!(bf16.kernels, 4.0 + 1.0 + ELEMENTWISE_KERNELS);
        // FP8 casts each GEMM's input in a kernel of its own.
        run.precision = Precision::Fp8;
        let fp8 = layer_work(&m, &p, &run, m.layer_kind(0));
        assert_eq!(fp8.kernels, bf16.kernels + 4.0);
    }

    #[test]
    fn causal_attention_executes_half_the_model_count() {
        let m = gpt(2, 4096, 32);
        let run = TrainingRun::test(8, 8192, Precision::Bf16);
        let p = ParallelPlan {
            cp: 2,
            ..ParallelPlan::single()
        };
        let w = layer_work(&m, &p, &run, m.layer_kind(0));
        assert_eq!(w.attention_flops.0 * 2.0, w.attention_model_flops.0);
        // CP halves the queries per GPU, so attention per GPU halves too.
        assert_eq!(w.attention_model_flops.0, 4.0 * 4096.0 * 8192.0 * 4096.0);
        assert!(w.cp_ring_bytes.0 > 0.0);
    }
}

#[cfg(test)]
mod moe_tests {
    use super::*;
    use crate::workload::model::architecture_tests::deepseek_v3;
    use crate::workload::plan::Precision;

    fn run() -> TrainingRun {
        TrainingRun::test(1024, 4096, Precision::Bf16)
    }

    fn plan(tp: u32, ep: u32, etp: u32, dp: u32) -> ParallelPlan {
        ParallelPlan {
            tp,
            ep,
            etp,
            dp,
            sequence_parallel: tp > 1,
            ..ParallelPlan::single()
        }
    }

    fn expert_flops(w: &LayerWork) -> f64 {
        w.gemms
            .iter()
            .filter(|g| g.name.starts_with("expert"))
            .map(|g| g.flops().0)
            .sum()
    }

    #[test]
    fn expert_work_per_gpu_is_the_same_however_the_experts_are_folded() {
        // tp 8: experts split over the 8 TP ranks (etp 8, EP over DP) or whole on each
        // rank with EP spanning TP (etp 1): each GPU does 1/(tp) of its group's routed work.
        // Balanced, the folding changes nothing; with an imbalance the 32 experts of an
        // EP8 rank spread it more than the 4 of an EP64 one.
        let (mut m, r) = (deepseek_v3(), run());
        let k = m.layer_kind(10);
        let folded = layer_work(&m, &plan(8, 64, 1, 8), &r, k);
        let skewed = (
            expert_flops(&layer_work(&m, &plan(8, 8, 8, 8), &r, k)),
            expert_flops(&folded),
        );
        assert!(skewed.0 < skewed.1, "{skewed:?}");
        let moe = m.moe.clone().unwrap();
        m.moe.as_mut().unwrap().imbalance = 1.0;
        let tp8 = layer_work(&m, &plan(8, 8, 8, 8), &r, k);
        let even = layer_work(&m, &plan(8, 64, 1, 8), &r, k);
        assert!((expert_flops(&tp8) / expert_flops(&even) - 1.0).abs() < 1e-12);
        // Routed tokens per GPU: tokens/tp x top-8 x the EP64 rank's imbalance, each a
        // 7168-wide vector.
        let routed = 4096.0 / 8.0 * 8.0 * moe.rank_imbalance(64);
        assert_eq!(folded.ep_a2a_bytes.0, routed * 7168.0 * 2.0 * 63.0 / 64.0);
        assert_eq!(folded.etp_message.0, 0.0);
        // With etp 8 the arrived tokens (balanced here) are all-gathered over the 8
        // expert-TP ranks.
        assert_eq!(tp8.etp_message.0, 4096.0 / 8.0 * 8.0 * 8.0 * 7168.0 * 2.0);
        // The dense layers have no experts and no dispatch.
        let dense = layer_work(&m, &plan(8, 64, 1, 8), &r, m.layer_kind(0));
        assert_eq!((expert_flops(&dense), dense.ep_a2a_bytes.0), (0.0, 0.0));
    }

    #[test]
    fn an_moe_layer_launches_its_routing_kernels() {
        let (m, r) = (deepseek_v3(), run());
        let p = plan(1, 8, 1, 8);
        let (dense, moe) = (
            layer_work(&m, &p, &r, m.layer_kind(0)),
            layer_work(&m, &p, &r, m.layer_kind(10)),
        );
        // Grouped expert GEMMs: one kernel per projection, however many local experts.
        let expected = |w: &LayerWork, routing: f64| {
            w.gemms.len() as f64 + 1.0 + ELEMENTWISE_KERNELS + routing
        };
        assert_eq!(dense.kernels, expected(&dense, 0.0));
        assert_eq!(moe.kernels, expected(&moe, MOE_ROUTING_KERNELS));
    }

    #[test]
    fn the_allgather_dispatcher_moves_every_token() {
        let m = deepseek_v3();
        let mut r = run();
        let p = plan(1, 8, 1, 8);
        let a2a = layer_work(&m, &p, &r, m.layer_kind(10));
        r.recipe.moe_dispatcher = Dispatcher::Allgather;
        let ag = layer_work(&m, &p, &r, m.layer_kind(10));
        assert_eq!(ag.ep_a2a_bytes.0, 0.0);
        assert_eq!(ag.ep_gather_message.0, 4096.0 * 8.0 * 7168.0 * 2.0);
        // Same expert work either way.
        assert!((expert_flops(&ag) / expert_flops(&a2a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn model_flops_count_active_parameters_and_the_mtp_layer() {
        // Per token, the GEMMs of a forward are 2 x the weights a token uses (norms
        // excepted), the head 2 x V x h, once more for the MTP layer with its head.
        let mut m = deepseek_v3();
        m.moe.as_mut().unwrap().imbalance = 1.0;
        let r = TrainingRun {
            global_batch: 1,
            ..run()
        };
        let s = 4096.0;
        let attention: f64 = (0..62)
            .map(|i| {
                let w = layer_work(&m, &ParallelPlan::single(), &r, m.layer_kind(i));
                w.attention_model_flops.0
            })
            .sum();
        let norms = 2.0 * 7168.0 + 1536.0 + 512.0;
        let layers = m.params_of(0..62).active() - 62.0 * norms - 2.0 * 7168.0; // MTP norms
        let head = 2.0 * 129280.0 * 7168.0;
        let want = 3.0 * (s * (2.0 * layers + 2.0 * head) + attention);
        let got = model_flops_per_step(&m, &r, AttentionCount::Full).0;
        assert!((got / want - 1.0).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn sliding_windows_cut_attention_not_projections() {
        let mut m = deepseek_v3();
        let r = run();
        let full = layer_work(&m, &ParallelPlan::single(), &r, m.layer_kind(0));
        m.window = Some(crate::workload::model::Window {
            tokens: 512,
            global_layers: vec![],
        });
        let local = layer_work(&m, &ParallelPlan::single(), &r, m.layer_kind(0));
        let ratio = local.attention_flops.0 / full.attention_flops.0;
        assert!(
            (ratio - (512.0 - 512.0 * 512.0 / 8192.0) / 2048.0).abs() < 1e-12,
            "{ratio}"
        );
        assert_eq!(local.gemms, full.gemms);
    }
}
