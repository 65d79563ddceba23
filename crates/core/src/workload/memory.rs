//! Memory per GPU: weights, gradients, optimizer state and activations.
//!
//! Bytes per parameter follow Megatron-LM's distributed-optimizer table
//! (docs/source/api-guide/dist_optimizer.md, "Data flow"):
//!
//! | precision                 | non-distributed | distributed (d = DP size) |
//! |---------------------------|-----------------|---------------------------|
//! | fp16 params, fp16 grads   | 20              | 4 + 16/d                  |
//! | bf16 params, fp32 grads   | 18              | 6 + 12/d                  |
//!
//! BF16 (and FP8) training keeps its gradient buffer in BF16 here, the first row: that
//! is Megatron-Core's default (`DistributedDataParallelConfig.grad_reduce_in_fp32 =
//! False`, megatron/core/distributed/distributed_data_parallel_config.py @ core 0.12)
//! and what NVIDIA's published performance recipes run (NeMo 2.3
//! `pretrain_performance_optimizations` sets `grad_reduce_in_fp32 = False` in 17 of its
//! 18 recipes, and scripts/performance/utils.py for every FP8 run). Megatron-LM's
//! training script instead opts BF16 runs into FP32 main gradients (the second row, +2 B
//! per parameter) ⚠: the scenario has no input for the recipe, and a run that ran must be
//! seen to fit (NeMo's Nemotron-4 15B at TP2 DP8 needs the BF16 buffer on 80 GB).
//!
//! FP8 (Transformer Engine) keeps the BF16 weights and adds their FP8 copies for the step:
//! +2 bytes on Hopper (the copy and its transpose), +1 on Blackwell (+2 with MXFP8), for
//! the layers' weights (the embedding and output layer stay BF16).
//!
//! Activations per layer follow Korthikanti et al. 2022 (§4): s·b·h·(34 + 5·a·s/h) bytes
//! with no parallelism, where 5·a·s/h is the stored attention scores. With fused
//! attention the scores are never stored, so that term is gone in every mode; unfused
//! attention (`AttentionKernel::Unfused`) keeps it unless the core is recomputed, and a
//! layer that recomputes it holds one layer's scores while its backward runs. The 34 is
//! split here into its parts so that GQA, gated MLPs and MoE are counted as they are.
//!
//! The loss over the vocabulary (`CrossEntropy`): by default Megatron's vocab-parallel
//! cross-entropy fused into one kernel (`cross_entropy_loss_fusion`,
//! `cross_entropy_fusion_impl = "te"` in NeMo's performance recipes): Transformer
//! Engine's `parallel_cross_entropy` computes the loss and writes the gradient in place
//! into the BF16 logits (TE 2.2 transformer_engine/pytorch/cross_entropy.py,
//! triton/cross_entropy.py), so only the BF16 logits of the vocab shard are held;
//! Megatron's unfused `vocab_parallel_cross_entropy` also keeps its FP32 softmax.

use super::layout::{GroupKind, RankLayout};
use super::model::{LayerKind, ModelSpec, Split};
use super::ops::{tokens_per_gpu, HALF};
use super::plan::{
    AttentionKernel, LayerSplit, ParallelPlan, Recompute, RecomputeModule, TrainingRun,
};
use super::schedule::warmup;
use crate::hardware::GpuSpec;
use crate::units::{Bytes, GIB};
use serde::Serialize;

/// Memory of one GPU (the fullest pipeline stage).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryBreakdown {
    /// Pipeline stage this is for.
    pub stage: u32,
    /// Model weights.
    pub weights: Bytes,
    /// Gradients.
    pub gradients: Bytes,
    /// Optimizer state (FP32 master weights and Adam moments).
    pub optimizer: Bytes,
    /// Stored activations of the in-flight micro-batches.
    pub activations: Bytes,
    /// CUDA context, NCCL buffers and allocator slack.
    pub reserved: Bytes,
}

impl MemoryBreakdown {
    /// The sum of all parts.
    pub fn total(&self) -> Bytes {
        self.weights + self.gradients + self.optimizer + self.activations + self.reserved
    }
}

/// CUDA context (~0.5 GiB), NCCL buffers and allocator fragmentation, taken as 2 GiB per
/// GPU ⚠ (an engineering estimate, not a measured constant).
pub const RESERVED_GIB: f64 = 2.0;

/// Share of a GPU's memory past which a plan that fits is warned of ⚠ (an estimate):
/// [`RESERVED_GIB`] is itself an estimate, and the allocator's fragmentation grows with
/// the run, so a plan this full may still run out of memory.
pub const TIGHT_MEMORY_SHARE: f64 = 0.95;

/// Whether `used` of a GPU's `capacity` (GiB both) is past [`TIGHT_MEMORY_SHARE`]: the
/// one test of a plan too full to stand behind without a word.
pub fn fills_tightly(used_gib: f64, capacity_gib: f64) -> bool {
    used_gib > TIGHT_MEMORY_SHARE * capacity_gib
}

/// Why a plan [`fills_tightly`] is warned of, `reserved_gib` being the memory held back
/// ([`RESERVED_GIB`]).
pub fn tight_memory_caveat(reserved_gib: f64) -> String {
    format!(
        "the {reserved_gib:.1} GiB held back for the CUDA context, NCCL's buffers and fragmentation is an estimate ⚠, and a run this full may still run out of memory"
    )
}

/// (weights, gradients, optimizer) bytes per parameter before sharding the optimizer:
/// the optimizer keeps FP32 master weights and the two moments, and an FP32 copy of its
/// gradient shard when the buffer is 16-bit (16 B with FP32 moments, as in the table
/// above; 12 B with BF16 moments).
pub(crate) fn bytes_per_param(run: &TrainingRun, gpu: &GpuSpec) -> (f64, f64, f64) {
    let fp8_copies = if run.precision.fp8_gemms() {
        let native = gpu.generation.fp8_native_layouts();
        run.recipe.fp8_recipe.copies(native)
    } else {
        0.0
    };
    let weights = HALF + fp8_copies;
    let grads = run.grad_buffer_bytes();
    let fp32_grad_copy = if grads < 4.0 { 4.0 } else { 0.0 };
    (weights, grads, 4.0 + run.moment_bytes() + fp32_grad_copy)
}

/// Bytes per parameter of a checkpoint (Megatron's distributed checkpoint): the 16-bit
/// weights, the FP32 master weights and the two Adam moments at the recipe's precision
/// (14 B with FP32 moments, 10 B with BF16 ones). FP8 copies of the weights and the
/// gradients are rebuilt, not saved.
pub fn checkpoint_bytes_per_param(run: &TrainingRun) -> f64 {
    HALF + 4.0 + run.moment_bytes()
}

/// Stored activation bytes of one layer of kind `kind` for one micro-batch on one GPU.
pub fn activation_bytes_per_layer(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    kind: LayerKind,
) -> Bytes {
    let tokens = tokens_per_gpu(plan, run);
    let t = plan.tp as f64;
    let h = model.hidden as f64;
    let sp = if plan.sequence_parallel { t } else { 1.0 };
    if plan.recompute == Recompute::Full {
        // Only the layer input, sharded by sequence parallelism.
        return Bytes(tokens * h * HALF / sp);
    }
    // A stored tensor that feeds a GEMM is kept as the GEMM reads it: in FP8 runs
    // Transformer Engine saves the FP8 copy it cast for the forward GEMM, which the
    // weight-gradient GEMM reads back (transformer_engine/pytorch/module/linear.py,
    // `_Linear.forward` saves the quantized input) ⚠; every other tensor stays BF16.
    let gemm_in = if run.precision.fp8_gemms() { 1.0 } else { HALF };
    // Bytes per token replicated across TP ranks unless sequence parallel (Korthikanti's
    // "10" in BF16): two norm inputs, two norm outputs (GEMM inputs), two 1-byte dropout
    // masks.
    let norms_out = if plan.recomputes(run, RecomputeModule::Layernorm) {
        0.0
    } else {
        2.0 * h * gemm_in
    };
    let replicated = 2.0 * h * HALF + norms_out + 2.0 * h;
    let up_proj_recomputed = plan.recomputes(run, RecomputeModule::MlaUpProj);
    // Each attention projection's output is kept for the next op's backward: q, k, v (or
    // MLA's up-projections) for the attention core, split by TP; MLA's latents for the
    // up-projections, replicated. The attention core's output feeds the output projection.
    let (mut split, mut whole) = (model.attn_out_width() * gemm_in, 0.0);
    for p in model.attention_projections().iter() {
        match p.split {
            Split::Column if p.from_latent && up_proj_recomputed => {}
            Split::Column => split += p.output * HALF,
            Split::None => whole += p.output * gemm_in,
            Split::Row => {}
        }
    }
    // An MLP ffn wide keeps its first projection's output for the activation's backward
    // ((matrices - 1) x ffn, gated: gate and up) and the activation's output for the
    // second projection (ffn). Routed experts keep them for the busiest rank's tokens,
    // and the dispatched copies of their inputs (top-k hidden vectors per token).
    let mlp = |ffn: f64, act_out: bool| {
        ffn * ((model.mlp.matrices() - 1.0) * HALF + if act_out { gemm_in } else { 0.0 })
    };
    match model.moe.as_ref().filter(|_| kind.moe) {
        None => split += mlp(model.ffn_hidden as f64, true),
        Some(m) => {
            let routed = m.topk as f64 * m.rank_imbalance(plan.ep);
            let act = !plan.recomputes(run, RecomputeModule::MoeAct);
            split += mlp(m.expert_ffn as f64, act) * routed + mlp(m.shared_ffn as f64, true);
            whole += routed * h / sp * gemm_in;
        }
    }
    // Unfused attention keeps its scores unless selective recomputation recomputes the
    // core.
    let scores = if plan.recomputes(run, RecomputeModule::CoreAttn) {
        0.0
    } else {
        unfused_scores_bytes(model, plan, run)
    };
    Bytes(tokens * (replicated / sp + split / t + whole) + scores)
}

/// One layer's attention scores per GPU where the attention is unfused, 0 where fused:
/// Korthikanti's 5·a·s²·b (softmax output 2, dropout mask 1, dropout output 2 bytes per
/// score), a/t heads per GPU. A layer that recomputes them still holds them while its
/// backward runs.
fn unfused_scores_bytes(model: &ModelSpec, plan: &ParallelPlan, run: &TrainingRun) -> f64 {
    if run.recipe.attention != AttentionKernel::Unfused {
        return 0.0;
    }
    5.0 * model.heads as f64 / plan.tp as f64 * tokens_per_gpu(plan, run) * run.seq_len as f64
}

/// Memory per GPU of every pipeline stage; the caller usually wants the largest.
pub fn memory_per_stage(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    gpu: &GpuSpec,
) -> Vec<MemoryBreakdown> {
    memory_per_stage_split(model, plan, run, gpu, &plan.layer_split(model, run))
}

/// [`memory_per_stage`] over the plan's layer split already made (`plan.layer_split`),
/// for callers that ask again of the same split (the planner, the step).
pub fn memory_per_stage_split(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    gpu: &GpuSpec,
    split: &LayerSplit,
) -> Vec<MemoryBreakdown> {
    debug_assert_eq!(split, &plan.layer_split(model, run));
    let (wb, gb, ob) = bytes_per_param(run, gpu);
    let t = plan.tp as f64;
    let m = plan.micro_batches(run) as u32;
    let held = chunk_activations(model, plan, run, split);
    // Optimizer state is sharded over the data-parallel ranks that hold the same weights:
    // dp x cp for dense weights, tp x cp x dp / (etp x ep) for experts (the rank
    // layout's groups).
    let (dense_shard, expert_shard) = if plan.distributed_optimizer {
        let l = RankLayout::new(plan, 1); // group sizes do not depend on the servers
        (
            l.size(GroupKind::Dp) as f64,
            l.size(GroupKind::ExpertDp) as f64,
        )
    } else {
        (1.0, 1.0)
    };
    let stages = split.chunks.len();
    (0..stages)
        .map(|s| {
            let first = s == 0;
            let last = s + 1 == stages;
            let lp = split.stage_params(s);
            let embedding = model.stage_embedding_params(first, last) / t;
            let dense = lp.0 / t + embedding;
            let experts = lp.1 / (plan.etp as f64 * plan.ep as f64);
            let params = dense + experts;
            // Embedding and output layer are not Transformer Engine modules: no FP8
            // copies (see `step::costs`).
            let weights = (params - embedding) * wb + embedding * HALF;
            // The most the stage holds at once in Megatron's order (`schedule`): its
            // in-flight micro-batches' chunks, the logits of one on the last stage.
            let mut activations = peak_held(&held[s], s as u32, plan.pp, plan.vpp, m);
            if plan.recompute == Recompute::Full || plan.recomputes(run, RecomputeModule::CoreAttn)
            {
                // Recomputed unfused scores: one layer's at a time, on top of what is kept.
                activations += unfused_scores_bytes(model, plan, run);
            }
            MemoryBreakdown {
                stage: s as u32,
                weights: Bytes(weights),
                gradients: Bytes(params * gb),
                optimizer: Bytes(dense * ob / dense_shard + experts * ob / expert_shard),
                activations: Bytes(activations),
                reserved: Bytes(RESERVED_GIB * GIB),
            }
        })
        .collect()
}

/// Activation bytes one micro-batch holds on each chunk of each stage (`[stage][chunk]`)
/// from its forward to its backward: the chunk's layers (under block recomputation, those
/// past its first N keep theirs), and on the last stage's last chunk the logits of this
/// rank's vocab shard as the loss keeps them (see the top).
pub fn chunk_activations(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    split: &LayerSplit,
) -> Vec<Vec<f64>> {
    let kinds = model.kinds();
    // Per kind: a layer as the plan has it, and, under block recomputation, one that
    // keeps its activations.
    let per_kind = |p: &ParallelPlan| -> Vec<f64> {
        kinds
            .iter()
            .map(|&k| activation_bytes_per_layer(model, p, run, k).0)
            .collect()
    };
    let recomputing = per_kind(plan);
    let keeping = plan.keeping_activations().map(|p| per_kind(&p));
    let logits = tokens_per_gpu(plan, run) * model.vocab as f64 / plan.tp as f64
        * run.recipe.cross_entropy.kept_per_logit();
    let stages = split.chunks.len();
    (0..stages)
        .map(|s| {
            let chunks = split.chunks[s].len();
            (0..chunks)
                .map(|c| {
                    let mut sum = 0.0;
                    plan.for_each_chunk_kind(model, split, (s, c), |k, n, recomputes| {
                        let k = kinds.binary_search(&k).expect("listed");
                        sum += f64::from(n)
                            * match &keeping {
                                Some(kept) if !recomputes => kept[k],
                                _ => recomputing[k],
                            };
                    });
                    if s + 1 == stages && c + 1 == chunks {
                        sum += logits;
                    }
                    sum
                })
                .collect()
        })
        .collect()
}

/// The most activation memory stage `s` (of `p`, `v` chunks each, `m` micro-batches)
/// holds at once, each forward holding its chunk's `held` bytes until its backward, in
/// the order Megatron runs them ([`super::schedule::for_each_op`]). With chunks of
/// equal size that is Megatron's warm-up count of them (1F1B: p - s; interleaved:
/// v·p + p - 1 - 2s) times one; with unequal ones, whichever chunks are in flight at the
/// fullest moment.
///
/// The planner asks this of every plan it weighs, so it does not walk all 2·m·v ops.
/// Past the warm-up each forward n is followed by a backward, so what is held after
/// forward n is I(n) = (the first n + 1 forwards' bytes) - (the first n - w backwards'),
/// w the warm-up: prefix sums over chunks, O(1) each. I changes at a constant rate
/// between the points where the forward's or the backward's chunk changes, so its peak
/// is at one of those. While both passes are in full groups of p micro-batches, I
/// repeats every p·v ops, so one period of them and those of the last, partial group are
/// all that can hold the peak. [`peak_held_walked`] walks every op: the tests' oracle.
pub fn peak_held(held: &[f64], s: u32, p: u32, v: u32, m: u32) -> f64 {
    let total = m * v;
    let w = warmup(s, p, v, m);
    if held.iter().all(|&h| h == held[0]) {
        return f64::from((w + 1).min(total)) * held[0];
    }
    let whole: f64 = held.iter().sum();
    // Prefix sums over the chunks in forward order and in backward (reversed) order.
    let prefix = |order: &mut dyn Iterator<Item = f64>| {
        let mut sums = Vec::with_capacity(held.len() + 1);
        sums.push(0.0);
        for h in order {
            sums.push(sums.last().copied().unwrap_or(0.0) + h);
        }
        sums
    };
    let fwd_prefix = prefix(&mut held.iter().copied());
    let bwd_prefix = prefix(&mut held.iter().rev().copied());
    let pv = p * v;
    // Passes below `periodic` are in full groups; the last group has `last` micro-batches.
    let periodic = (m / p) * pv;
    let last = m % p;
    // The bytes of the first n passes in the order `sums` gives the chunks.
    let passed = |n: u32, sums: &[f64]| -> f64 {
        // r passes into a group whose chunks take `len` passes each.
        let runs = |r: u32, len: u32| {
            let (c, rest) = ((r / len) as usize, r % len);
            let into_next = if rest > 0 {
                f64::from(rest) * (sums[c + 1] - sums[c])
            } else {
                0.0
            };
            f64::from(len) * sums[c] + into_next
        };
        let full = n.min(periodic);
        let mut bytes = f64::from(full / pv * p) * whole + runs(full % pv, p);
        if n > periodic {
            bytes += runs(n - periodic, last);
        }
        bytes
    };
    if w >= total {
        return passed(total, &fwd_prefix);
    }
    let held_after = |n: u32| passed(n + 1, &fwd_prefix) - passed(n - w, &bwd_prefix);
    let mut peak = f64::MIN;
    let mut consider = |n: u32| {
        if (w..total).contains(&n) {
            peak = peak.max(held_after(n));
        }
    };
    consider(w);
    consider(total - 1);
    // One period of full groups: the forward's chunk changes after n with (n + 1) % p = 0,
    // the backward's at n - w = 0 (mod p).
    let resume = periodic.min(total);
    let window_end = (w + pv).min(resume).max(w);
    let first_forward_change = (w + 1).div_ceil(p) * p - 1;
    for n in (first_forward_change..window_end).step_by(p as usize) {
        consider(n);
    }
    for n in (w..window_end).step_by(p as usize) {
        consider(n);
    }
    if window_end > w {
        consider(window_end - 1);
    }
    if last > 0 {
        // The last group: forward runs of `last` from `periodic`; backward runs of p
        // until the backward reaches `periodic`, then of `last`.
        for x in (periodic.max(1)..=total).step_by(last as usize) {
            consider(x - 1);
        }
        let from = resume.max(w);
        let first_backward_change = w + (from - w).div_ceil(p) * p;
        for n in (first_backward_change..(w + periodic).min(total)).step_by(p as usize) {
            consider(n);
        }
        for n in ((w + periodic)..total).step_by(last as usize) {
            consider(n);
        }
    }
    peak
}

/// [`peak_held`] by walking every op of the stage: the reference it is tested against.
#[cfg(test)]
pub fn peak_held_walked(held: &[f64], s: u32, p: u32, v: u32, m: u32) -> f64 {
    let (mut now, mut peak) = (0.0f64, 0.0f64);
    use super::schedule::{for_each_op, Dir};
    for_each_op(s, p, v, m, |op| match op.dir {
        Dir::F => {
            now += held[op.chunk as usize];
            peak = peak.max(now);
        }
        Dir::B => now -= held[op.chunk as usize],
    });
    peak
}

/// The fullest stage's memory.
pub fn peak_memory(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    gpu: &GpuSpec,
) -> MemoryBreakdown {
    peak_memory_split(model, plan, run, gpu, &plan.layer_split(model, run))
}

/// [`peak_memory`] over the plan's layer split already made (`plan.layer_split`).
pub fn peak_memory_split(
    model: &ModelSpec,
    plan: &ParallelPlan,
    run: &TrainingRun,
    gpu: &GpuSpec,
    split: &LayerSplit,
) -> MemoryBreakdown {
    memory_per_stage_split(model, plan, run, gpu, split)
        .into_iter()
        .max_by(|a, b| {
            a.total()
                .0
                .total_cmp(&b.total().0)
                .then(b.stage.cmp(&a.stage))
        })
        .expect("pp >= 1 gives at least one stage")
}

#[cfg(test)]
mod peak_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The shortcut through the steady state finds the peak the full walk finds, for
        /// any stage, chunk sizes (equal or not) and micro-batch count, whole groups of
        /// p or not.
        #[test]
        fn the_peak_in_flight_is_the_walks(
            p in 1u32..9, v in 1u32..7, m in 1u32..150, s_frac in 0.0f64..1.0,
            sizes in proptest::collection::vec(0u32..5, 6),
        ) {
            let s = ((s_frac * p as f64) as u32).min(p - 1);
            let held: Vec<f64> = sizes[..v as usize].iter().map(|&n| f64::from(n) * 1.5).collect();
            let fast = peak_held(&held, s, p, v, m);
            let walked = peak_held_walked(&held, s, p, v, m);
            prop_assert!((fast - walked).abs() <= 1e-9 * walked.max(1.0), "{fast} vs {walked}");
        }
    }

    /// Unequal chunks: the stage holds more than the mean chunk times Megatron's count,
    /// since it holds the big chunks of the next micro-batches while freeing small ones.
    #[test]
    fn unequal_chunks_peak_above_their_mean() {
        let held = [3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0];
        let (p, v, m) = (2, 8, 8);
        let mean = held.iter().sum::<f64>() / 8.0;
        let count = f64::from(v * p + p - 1);
        let peak = peak_held(&held, 0, p, v, m);
        assert!(peak > count * mean + 2.0, "{peak} vs {}", count * mean);
        assert_eq!(peak, peak_held_walked(&held, 0, p, v, m));
        // Equal chunks: exactly the count.
        assert_eq!(peak_held(&[2.5; 8], 0, p, v, m), count * 2.5);
        assert_eq!(peak_held(&[2.5], 1, 4, 1, 16), 3.0 * 2.5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn h100() -> &'static GpuSpec {
        crate::hardware::gpu("H100-SXM5-80GB").unwrap()
    }
    use crate::workload::model::MlpKind;
    use crate::workload::plan::Precision;

    pub(super) fn gpt175() -> ModelSpec {
        ModelSpec::dense(
            "gpt3-175b",
            96,
            12288,
            96,
            96,
            49152,
            51200,
            MlpKind::Standard,
        )
    }

    pub(super) fn plan() -> ParallelPlan {
        ParallelPlan {
            tp: 8,
            pp: 8,
            vpp: 1,
            cp: 1,
            ep: 1,
            etp: 8,
            dp: 1,
            micro_batch: 1,
            sequence_parallel: true,
            recompute: Recompute::Selective,
            recompute_layers: None,
            distributed_optimizer: false,
        }
    }

    #[test]
    fn korthikanti_34_bytes_per_token_hidden() {
        // GPT (ffn = 4h, MHA): per layer s·b·h·34/t with SP + selective recompute.
        let m = gpt175();
        let run = TrainingRun::test(64, 2048, Precision::Bf16);
        let a = activation_bytes_per_layer(&m, &plan(), &run, m.layer_kind(0)).0;
        let expected = 2048.0 * 12288.0 * 34.0 / 8.0;
        assert!((a / expected - 1.0).abs() < 1e-12, "{a} vs {expected}");
        // Without SP: 10 + 24/t.
        let mut p = plan();
        p.sequence_parallel = false;
        let a = activation_bytes_per_layer(&m, &p, &run, m.layer_kind(0)).0;
        let expected = 2048.0 * 12288.0 * (10.0 + 24.0 / 8.0);
        assert!((a / expected - 1.0).abs() < 1e-12);
        // Full recompute: the layer input only.
        p.recompute = Recompute::Full;
        let a = activation_bytes_per_layer(&m, &p, &run, m.layer_kind(0)).0;
        assert_eq!(a, 2048.0 * 12288.0 * 2.0);
    }

    #[test]
    fn recomputed_unfused_scores_still_take_one_layers_room() {
        // Korthikanti's 5·a·s²·b/t bytes: stored per layer without recomputation, one
        // layer's worth at a time with it (selective or full); nothing when fused.
        let m = gpt175();
        let mut run = TrainingRun::test(64, 2048, Precision::Bf16);
        let mut p = plan();
        p.pp = 1;
        let scores = 5.0 * 96.0 / 8.0 * 2048.0 * 2048.0;
        let act = |p: &ParallelPlan, run: &TrainingRun| {
            memory_per_stage(&m, p, run, h100())[0].activations.0
        };
        for r in [Recompute::Selective, Recompute::Full] {
            p.recompute = r;
            run.recipe.attention = AttentionKernel::Fused;
            let fused = act(&p, &run);
            run.recipe.attention = AttentionKernel::Unfused;
            let unfused = act(&p, &run);
            assert!(
                (unfused - fused - scores).abs() < 1.0,
                "{r:?}: {unfused} {fused}"
            );
        }
    }

    #[test]
    fn tied_embeddings_are_stored_once_on_one_stage() {
        let run = TrainingRun::test(64, 2048, Precision::Bf16);
        let mut p = plan();
        p.pp = 1;
        let mut m = gpt175();
        let untied = memory_per_stage(&m, &p, &run, h100())[0].weights.0;
        m.tied_embeddings = true;
        let tied = memory_per_stage(&m, &p, &run, h100())[0].weights.0;
        let (wb, _, _) = bytes_per_param(&run, h100());
        let embedding = m.embedding_params() / p.tp as f64 * wb;
        assert!((untied - tied - embedding).abs() < 1.0, "{untied} {tied}");
        // Across stages each end keeps its copy, as Megatron does.
        let pp8 = memory_per_stage(&m, &plan(), &run, h100());
        assert_eq!(pp8[0].weights, pp8[7].weights);
        assert_eq!(
            m.total_params(),
            gpt175().total_params() - m.embedding_params()
        );
    }

    #[test]
    fn first_stage_holds_p_microbatches() {
        let m = gpt175();
        let run = TrainingRun::test(64, 2048, Precision::Bf16);
        let stages = memory_per_stage(&m, &plan(), &run, h100());
        let per_layer = activation_bytes_per_layer(&m, &plan(), &run, m.layer_kind(0)).0;
        // Stage 0: 8 in flight x 12 layers; stage 7: 1 x 12 (+ logits).
        assert!((stages[0].activations.0 - 8.0 * 12.0 * per_layer).abs() < 1.0);
        assert!(stages[7].activations.0 < stages[0].activations.0);
        // Interleaving adds (p-1)/(p·v) on the first stage (Korthikanti §4.2.3).
        let mut p = plan();
        p.vpp = 3;
        let inter = memory_per_stage(&m, &p, &run, h100());
        let factor = inter[0].activations.0 / stages[0].activations.0;
        assert!((factor - (1.0 + 7.0 / 24.0)).abs() < 1e-9, "{factor}");
    }

    #[test]
    fn nemotron4_15b_at_tp2_dp8_fits_an_h100_as_it_ran() {
        // NVIDIA dgxc-benchmarking 25.04: Nemotron-4 15B (256k vocabulary, untied),
        // TP2 PP1 DP8, MBS 2, seq 4096, no recompute, distributed optimizer, BF16.
        let m = ModelSpec::dense(
            "nemotron4-15b",
            32,
            6144,
            48,
            8,
            24576,
            256000,
            MlpKind::Standard,
        );
        let p = ParallelPlan {
            tp: 2,
            pp: 1,
            vpp: 1,
            cp: 1,
            ep: 1,
            etp: 2,
            dp: 8,
            micro_batch: 2,
            sequence_parallel: true,
            recompute: Recompute::None,
            recompute_layers: None,
            distributed_optimizer: true,
        };
        let run = TrainingRun::test(64, 4096, Precision::Bf16);
        let mem = peak_memory(&m, &p, &run, h100());
        // BF16 gradients: as many bytes as the weights; optimizer 16 B / 8 ranks.
        assert_eq!(mem.gradients, mem.weights);
        assert!((mem.optimizer.0 / mem.weights.0 - 1.0).abs() < 1e-12);
        // The loss holds the BF16 logits of the vocab shard and nothing more.
        let layers = 32.0 * activation_bytes_per_layer(&m, &p, &run, m.layer_kind(0)).0;
        let logits = mem.activations.0 - layers;
        assert!((logits - 8192.0 * 128000.0 * 2.0).abs() < 1.0, "{logits}");
        let gib = mem.total().gib();
        assert!(gib > 65.0 && gib < 76.0, "{gib} GiB");
    }

    #[test]
    fn distributed_optimizer_shards_state() {
        let m = gpt175();
        let run = TrainingRun::test(64, 2048, Precision::Bf16);
        let mut p = plan();
        p.dp = 8;
        let plain = peak_memory(&m, &p, &run, h100());
        p.distributed_optimizer = true;
        let dist = peak_memory(&m, &p, &run, h100());
        assert!((plain.optimizer.0 / dist.optimizer.0 - 8.0).abs() < 1e-9);
        assert_eq!(plain.weights, dist.weights);
    }
}

#[cfg(test)]
mod recipe_tests {
    use super::tests::h100;
    use super::*;

    #[test]
    fn fp8_weights_keep_the_copies_their_gemms_read() {
        use crate::workload::plan::Fp8Recipe;
        let b200 = crate::hardware::gpu("B200").unwrap();
        let mut run = TrainingRun::test(64, 2048, Precision::Fp8);
        let weights = |run: &TrainingRun, gpu| bytes_per_param(run, gpu).0;
        // BF16 weights and the FP8 copy with its transpose on Hopper; no transpose on
        // Blackwell; MXFP8's row- and column-wise copies.
        assert_eq!(weights(&run, h100()), 4.0);
        assert_eq!(weights(&run, b200), 3.0);
        run.recipe.fp8_recipe = Fp8Recipe::Mxfp8;
        assert_eq!(weights(&run, b200), 4.0);
        run.precision = Precision::Bf16;
        assert_eq!(weights(&run, b200), 2.0);
        // Only the layers' weights get copies: embedding and head are not TE modules.
        let m = super::tests::gpt175();
        let mut p = super::tests::plan();
        p.pp = 1;
        let bf16 = memory_per_stage(&m, &p, &run, h100())[0].weights.0;
        run.precision = Precision::Fp8;
        run.recipe.fp8_recipe = Fp8Recipe::Delayed;
        let fp8 = memory_per_stage(&m, &p, &run, h100())[0].weights.0;
        let layers = m.params_of(0..m.layers).dense / p.tp as f64;
        assert!(
            (fp8 - bf16 - 2.0 * layers).abs() < 1.0,
            "{fp8} {bf16} {layers}"
        );
    }
    use crate::workload::model::architecture_tests::deepseek_v3;
    use crate::workload::model::MlpKind;
    use crate::workload::plan::{GradPrecision, Precision, StatePrecision};

    fn run(precision: Precision) -> TrainingRun {
        TrainingRun::test(1024, 4096, precision)
    }

    #[test]
    fn fp8_runs_keep_gemm_inputs_in_fp8() {
        // GPT, no TP: of Korthikanti's 34 bytes per token per h, the GEMM inputs are the
        // two norm outputs (2h), the attention output (h) and the GeLU output (4h): each
        // stored in 1 byte instead of 2 under FP8, 7h bytes fewer.
        let m = ModelSpec::dense("gpt", 2, 4096, 32, 32, 16384, 51200, MlpKind::Standard);
        let p = ParallelPlan::single();
        let k = m.layer_kind(0);
        let bf16 = activation_bytes_per_layer(&m, &p, &run(Precision::Bf16), k).0;
        let fp8 = activation_bytes_per_layer(&m, &p, &run(Precision::Fp8), k).0;
        assert_eq!(bf16, 4096.0 * 4096.0 * 34.0);
        assert_eq!(bf16 - fp8, 4096.0 * 4096.0 * 7.0);
    }

    #[test]
    fn recompute_modules_drop_what_they_recompute() {
        let m = deepseek_v3();
        let p = ParallelPlan {
            recompute: Recompute::Selective,
            ..ParallelPlan::single()
        };
        let (moe, h) = (m.layer_kind(10), 7168.0);
        let mut r = run(Precision::Bf16);
        let base = activation_bytes_per_layer(&m, &p, &r, moe).0;
        r.recipe.recompute_modules = vec![RecomputeModule::Layernorm];
        let ln = activation_bytes_per_layer(&m, &p, &r, moe).0;
        assert_eq!(base - ln, 4096.0 * 2.0 * h * 2.0);
        r.recipe.recompute_modules = vec![RecomputeModule::MlaUpProj];
        let up = activation_bytes_per_layer(&m, &p, &r, moe).0;
        assert_eq!(base - up, 4096.0 * (128.0 * 192.0 + 128.0 * 256.0) * 2.0);
        r.recipe.recompute_modules = vec![RecomputeModule::MoeAct];
        let act = activation_bytes_per_layer(&m, &p, &r, moe).0;
        // One GPU holds every expert: the busiest rank is the mean.
        assert_eq!(base - act, 4096.0 * 8.0 * 1.0 * 2048.0 * 2.0);
        // Modules mean nothing without selective recomputation.
        let none = ParallelPlan {
            recompute: Recompute::None,
            ..p
        };
        assert_eq!(
            activation_bytes_per_layer(&m, &none, &r, moe).0,
            activation_bytes_per_layer(&m, &none, &run(Precision::Bf16), moe).0
        );
    }

    #[test]
    fn gradient_and_moment_precision_follow_the_recipe() {
        let m = ModelSpec::dense("gpt", 8, 4096, 32, 32, 16384, 51200, MlpKind::Standard);
        let p = ParallelPlan::single();
        let mut r = run(Precision::Bf16);
        let base = peak_memory(&m, &p, &r, h100());
        // The BF16 buffer by default: as many bytes as the weights; 16 B of optimizer.
        assert_eq!(base.gradients, base.weights);
        assert!((base.optimizer.0 / base.weights.0 - 8.0).abs() < 1e-12);
        r.recipe.main_grads = Some(GradPrecision::Fp32);
        let fp32 = peak_memory(&m, &p, &r, h100());
        assert_eq!(fp32.gradients.0, 2.0 * base.gradients.0);
        // FP32 main grads need no FP32 copy in the optimizer: master + moments, 12 B.
        assert!((fp32.optimizer.0 / base.weights.0 - 6.0).abs() < 1e-12);
        r.recipe.optimizer_states = StatePrecision::Bf16;
        let bf16_moments = peak_memory(&m, &p, &r, h100());
        assert!((bf16_moments.optimizer.0 / base.weights.0 - 4.0).abs() < 1e-12);
        assert_eq!(r.grad_reduce_bytes(), 4.0);
        r.recipe.main_grads = Some(GradPrecision::Bf16);
        assert_eq!(r.grad_reduce_bytes(), 2.0);
    }

    #[test]
    fn folded_experts_are_sharded_over_ep_times_etp() {
        let m = deepseek_v3();
        let r = run(Precision::Bf16);
        let p = |tp, ep, etp| ParallelPlan {
            tp,
            ep,
            etp,
            dp: 64,
            pp: 16,
            sequence_parallel: tp > 1,
            ..ParallelPlan::single()
        };
        // tp 4: experts split 4 ways by etp 4 x ep 16, or whole with ep 64: same share.
        let a = peak_memory(&m, &p(4, 16, 4), &r, h100());
        let b = peak_memory(&m, &p(4, 64, 1), &r, h100());
        assert!((a.weights.0 / b.weights.0 - 1.0).abs() < 1e-12);
    }
}

#[cfg(test)]
mod published_recipe_tests {
    use super::tests::h100;
    use super::*;
    use crate::workload::model::MlpKind;
    use crate::workload::plan::Precision;

    #[test]
    fn llama3_8b_fp8_at_cp2_on_8_gpus_fits_an_h100_as_it_ran() {
        // NVIDIA's published Llama 3 8B FP8 performance run (NeMo performance recipes,
        // llama3_8b on 8 H100: TP1 PP1 CP2 DP4, MBS 1, GBS 128, 8K sequences, FP8,
        // distributed optimizer) ran on 80 GB GPUs, so it must fit.
        let m = ModelSpec::dense("llama3-8b", 32, 4096, 32, 8, 14336, 128256, MlpKind::Gated);
        let p = ParallelPlan {
            cp: 2,
            dp: 4,
            distributed_optimizer: true,
            recompute: Recompute::Selective,
            ..ParallelPlan::single()
        };
        let run = TrainingRun::test(128, 8192, Precision::Fp8);
        let gib = peak_memory(&m, &p, &run, h100()).total().gib();
        assert!(gib < 80.0 && gib > 50.0, "{gib} GiB");
    }

    #[test]
    fn block_recomputation_keeps_the_activations_of_the_layers_past_n() {
        // GPT-3 175B at PP8: 12 layers a stage (one chunk). Recomputing the first n of
        // them keeps 12 - n layers whole and n inputs: linear in n, from no
        // recomputation at n = 0 to the uniform method at n = 12.
        let (m, run) = (
            super::tests::gpt175(),
            TrainingRun::test(64, 2048, Precision::Bf16),
        );
        let act = |recompute, n| {
            let p = ParallelPlan {
                recompute,
                recompute_layers: n,
                ..super::tests::plan()
            };
            assert!(p.validate(&m, &run).is_ok(), "{n:?}");
            peak_memory(&m, &p, &run, h100()).activations.0
        };
        let (none, full) = (act(Recompute::None, None), act(Recompute::Full, None));
        assert_eq!(act(Recompute::Full, Some(12)), full);
        let per_layer = (none - full) / 12.0;
        for n in 1..12u32 {
            let got = act(Recompute::Full, Some(n));
            let expected = none - per_layer * f64::from(n);
            assert!(
                (got / expected - 1.0).abs() < 1e-9,
                "n = {n}: {got} vs {expected}"
            );
        }
        // Past the chunk's layers, or without full recomputation, the count is refused.
        for (recompute, n) in [
            (Recompute::Full, 13),
            (Recompute::Full, 0),
            (Recompute::Selective, 4),
        ] {
            let p = ParallelPlan {
                recompute,
                recompute_layers: Some(n),
                ..super::tests::plan()
            };
            let e = p.validate(&m, &run).unwrap_err().to_string();
            let field = if recompute == Recompute::Full {
                "parallel.recompute_layers"
            } else {
                "parallel.recompute ="
            };
            assert!(e.contains(field), "{e}");
        }
    }
}
