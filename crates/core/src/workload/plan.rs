//! The parallel plan (Megatron semantics) and the training run.
//!
//! world = tp x pp x cp x dp. Expert layers fold the same tp x cp x dp ranks of a stage
//! into etp x ep x expert-dp (Megatron's MoE parallel folding), so ep x etp divides
//! tp x cp x dp; sequence parallelism goes with tp; vpp > 1 means interleaved 1F1B.
//! Ranks are laid out tp fastest, then cp, then dp, then pp, as Megatron does, so a TP
//! group is inside one server whenever tp <= GPUs per server.

use super::model::{KindCounts, LayerKind, ModelSpec};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Activation recomputation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Recompute {
    /// Keep every activation.
    None,
    /// Recompute the attention core only (free when attention is fused: its backward
    /// recomputes the scores anyway).
    Selective,
    /// Keep only each layer's input; recompute the whole forward in backward.
    Full,
}

/// `recompute_layers` picks layers to recompute in full: it needs `recompute = "full"`.
/// The error names `recompute`, so that a preset's selective recomputation under a
/// user's `recompute_layers` is derived again (as full).
pub fn recompute_layers_need_full(recompute: Recompute) -> Result<()> {
    if recompute == Recompute::Full {
        return Ok(());
    }
    let name = match recompute {
        Recompute::None => "none",
        _ => "selective",
    };
    Err(Error::invalid(
        "parallel.recompute",
        name,
        "\"full\" when recompute_layers is set (the block method recomputes whole layers)",
    ))
}

/// `recompute_layers = n` against the layers of the largest chunk (`most`) of `of`.
pub fn recompute_layers_within(n: u32, most: u32, of: &str) -> Result<()> {
    if n == 0 || n > most {
        return Err(Error::invalid(
            "parallel.recompute_layers",
            n,
            format!("an integer from 1 to {most}, the layers of {of}"),
        ));
    }
    Ok(())
}

/// Numeric precision of the GEMMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// FP16 with loss scaling.
    Fp16,
    /// BF16.
    Bf16,
    /// FP8 GEMMs (Transformer Engine), BF16 elsewhere.
    Fp8,
}

impl Precision {
    /// Whether the GEMMs run in FP8.
    pub fn fp8_gemms(self) -> bool {
        self == Precision::Fp8
    }

    /// As reports say it: `BF16`, or `FP8 (mxfp8 scaling)` with the recipe FP8 runs with.
    pub fn label(self, fp8_recipe: Option<Fp8Recipe>) -> String {
        match (self.fp8_gemms(), fp8_recipe) {
            (true, Some(recipe)) => format!("FP8 ({} scaling)", crate::serde_name(&recipe)),
            _ => crate::serde_name(&self).to_uppercase(),
        }
    }
}

/// How FP8 GEMM operands are scaled (Megatron's `--fp8-recipe`; facts.md §8, from
/// Transformer Engine's docs). Only the Linear layers' GEMMs run in FP8 whatever the
/// recipe; it sets what each cast costs and how fast the GEMM runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Fp8Recipe {
    /// One scale per tensor from the amax history (Megatron's default): each cast reads
    /// its input once.
    #[default]
    Delayed,
    /// One scale per tensor from the current amax: an amax pass, then the cast (two
    /// reads per quantization).
    Tensorwise,
    /// DeepSeek-style 128-element (1-D) and 128 x 128 (2-D) blocks with FP32 scales: one
    /// read; on Hopper the GEMM is emulated in software, slower.
    Blockwise,
    /// MXFP8: 32-element blocks with power-of-two scales, Blackwell only; each tensor is
    /// quantized along both dimensions (row- and column-wise copies).
    Mxfp8,
}

/// Hopper's FP8 blockwise GEMM against its per-tensor FP8 GEMM, time ⚠ [derived]: TE's
/// H200 benchmark (facts.md §8) gives 22.9 ms per layer for FP8-block and 20.3 ms for
/// FP8-current, both with quantization, of which about 17 % of current scaling's (3.45
/// ms) is quantization; with the same quantization time, blockwise GEMMs take
/// (22.9 - 3.45) / (20.3 - 3.45) = 1.15 times as long.
pub const BLOCKWISE_GEMM_SLOWDOWN_HOPPER: f64 = 1.15;

impl Fp8Recipe {
    /// FP8 copies of a quantized tensor: one, and a second where the GEMMs need it
    /// (Hopper's transposed copy; MXFP8's column-wise one). Transformer Engine keeps a
    /// weight's copies from the step's first micro-batch to its last.
    pub fn copies(self, native_layouts: bool) -> f64 {
        if self == Fp8Recipe::Mxfp8 || !native_layouts {
            2.0
        } else {
            1.0
        }
    }

    /// HBM bytes one cast moves per element quantized: read the BF16 source (2 B, twice
    /// with an amax pass first), write one FP8 copy (1 B), and a second (1 B) where the
    /// GEMM needs it: Hopper's FP8 GEMMs take only the TN layout, so the backward reads a
    /// transposed copy, while Blackwell takes TN, NT and NN natively (facts.md §8); MXFP8
    /// keeps row- and column-wise copies on any GPU. Block scales: 4 B per 128 elements
    /// (blockwise), 1 B per 32 (MXFP8), per copy.
    pub fn cast_bytes(self, native_layouts: bool) -> f64 {
        let copies = self.copies(native_layouts);
        let (reads, scale) = match self {
            Fp8Recipe::Delayed => (1.0, 0.0),
            Fp8Recipe::Tensorwise => (2.0, 0.0),
            Fp8Recipe::Blockwise => (1.0, 4.0 / 128.0),
            Fp8Recipe::Mxfp8 => (1.0, 1.0 / 32.0),
        };
        let bf16_source = 2.0;
        reads * bf16_source + copies * (1.0 + scale)
    }
}

/// Precision of the main gradients (the buffer backward accumulates into, and what the
/// data-parallel reduction moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum GradPrecision {
    /// BF16 buffer and reduction (Megatron-Core's `grad_reduce_in_fp32 = False`, NeMo's
    /// performance recipes).
    Bf16,
    /// FP32 buffer and reduction (Megatron-LM's `--accumulate-allreduce-grads-in-fp32`).
    Fp32,
}

/// Precision of the Adam moments (the FP32 master weights stay FP32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum StatePrecision {
    /// FP32 moments (AdamW's default).
    Fp32,
    /// BF16 moments: Megatron's precision-aware optimizer (`--use-precision-aware-optimizer
    /// --exp-avg-dtype bf16 --exp-avg-sq-dtype bf16`); DeepSeek-V3 (arXiv 2412.19437,
    /// §3.3.2) trains so.
    Bf16,
}

/// How tokens reach their experts (Megatron's `--moe-token-dispatcher-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Dispatcher {
    /// All-to-all over the EP group: each token goes only where its experts are.
    Alltoall,
    /// All-gather every token over the EP group, reduce-scatter the outputs: simpler,
    /// and more bytes in all, but as ring collectives they stream over NVLink and every
    /// NIC of a server, so with a large top-k across servers they can take less time
    /// than an all-to-all whose remote tokens each cross one NIC.
    Allgather,
    /// DeepEP's dispatch and combine (DeepSeek-V3, arXiv 2412.19437, §3.2.2; Megatron-
    /// Core's flex dispatcher runs it): a token crosses the network once per server its
    /// experts are on, to the GPU of the same in-server index, which forwards it over
    /// NVLink; the combine sums a server's outputs before sending them back once.
    Deepep,
}

/// How the attention core runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum AttentionKernel {
    /// One fused kernel (FlashAttention, cuDNN): the s x s scores stay on chip; on
    /// Hopper and Blackwell, a kernel written for them (FlashAttention-3, cuDNN).
    #[default]
    Fused,
    /// FlashAttention-2: fused, but written for Ampere; on Hopper and later it leaves
    /// their asynchronous tensor cores idle: its forward takes 2x and its backward 1.75x
    /// as long as the native kernels' (the FlashAttention-3 paper's speedups). PyTorch's
    /// scaled-dot-product attention ran it through 2024.
    Flash2,
    /// Megatron-LM before FlashAttention (2022): QK^T and AV as batched GEMMs with the
    /// scores, their fused scale-mask-softmax and their dropout in HBM (Korthikanti et
    /// al. 2022, §4.1).
    Unfused,
}

/// How context-parallel attention exchanges keys and values (Transformer Engine's
/// `cp_comm_type`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum CpComm {
    /// A ring of point-to-point sends (Megatron-Core's default): each rank passes the
    /// key-value block it holds to the next while attention computes on it, so the
    /// exchange hides behind attention where that takes longer.
    #[default]
    P2p,
    /// All-gather every rank's keys and values before attention (again in the backward)
    /// and reduce-scatter their gradients after it: exposed, but any mask works. Meta's
    /// Llama 3 training ran it (arXiv 2407.21783, §3.3.2: "the all-gather communication
    /// latency is exposed in the critical path", small with GQA's few key-value heads).
    #[cfg_attr(
        feature = "clap",
        value(name = "all_gather", alias = "allgather", alias = "all-gather")
    )]
    #[serde(alias = "allgather", alias = "all-gather")]
    AllGather,
}

/// How the loss over the vocabulary runs: what it reads and writes per logit, and what it
/// keeps for the backward.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CrossEntropy {
    /// One fused kernel (Transformer Engine's `parallel_cross_entropy`, NeMo's
    /// performance recipes: `cross_entropy_loss_fusion`, impl "te"): the BF16 logits read
    /// for the softmax statistics, read again and overwritten by their gradient in the
    /// forward; the backward scales that gradient in place. Nothing else is kept.
    #[default]
    Fused,
    /// Megatron-LM's `vocab_parallel_cross_entropy` as separate PyTorch ops (its only
    /// loss before `--cross-entropy-loss-fusion`, 2024): an FP32 copy of the logits,
    /// max, subtract, exp, sum and divide over it, the FP32 softmax kept for the backward.
    Unfused,
}

impl AttentionKernel {
    /// Whether the s x s scores stay on chip (nothing to store or recompute for them).
    pub fn is_fused(self) -> bool {
        self != AttentionKernel::Unfused
    }
}

impl CrossEntropy {
    /// HBM bytes per logit, (forward, backward). Fused (TE 2.2
    /// transformer_engine/pytorch/triton/cross_entropy.py): read 2 for the online max and
    /// sum, read 2 and write 2 for the gradient; backward read 2, write 2. Unfused
    /// (megatron/core/tensor_parallel/cross_entropy.py): the cast to FP32 (read 2, write
    /// 4), max (4), subtract in place (4 + 4), exp in place (4 + 4), sum (4), divide in
    /// place (4 + 4); backward: scale in place (4 + 4), cast back to BF16 (4 + 2).
    pub fn bytes_per_logit(self) -> (f64, f64) {
        match self {
            CrossEntropy::Fused => (6.0, 4.0),
            CrossEntropy::Unfused => (38.0, 14.0),
        }
    }

    /// Bytes per logit held from the forward to the backward: the BF16 logits (their
    /// gradient, in place, when fused), plus the FP32 softmax when unfused.
    pub fn kept_per_logit(self) -> f64 {
        match self {
            CrossEntropy::Fused => 2.0,
            CrossEntropy::Unfused => 2.0 + 4.0,
        }
    }
}

/// A module selective recomputation recomputes in the backward instead of storing its
/// output (Megatron-Core's `--recompute-modules`, 0.13+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "clap", value(rename_all = "snake_case"))] // as in TOML
#[serde(rename_all = "snake_case")]
pub enum RecomputeModule {
    /// The attention core (free with fused attention, which recomputes the scores
    /// anyway): the default.
    CoreAttn,
    /// The norms: their outputs are not stored.
    Layernorm,
    /// MLA's up-projections (DeepSeek-V3, arXiv 2412.19437 §3.2.3, recomputes them and
    /// the norms).
    MlaUpProj,
    /// The experts' activation function.
    MoeAct,
}

/// The recipe's choices beyond the plan: gradient and optimizer-state precision, the MoE
/// token dispatcher, and overlap of expert-parallel and data-parallel communication with
/// compute.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Recipe {
    /// Main gradients; `None` keeps memphis's default: the BF16 buffer of Megatron-Core
    /// and NeMo in memory, reduced at FP32's size as Megatron-LM does (see
    /// `workload::memory` and `step::costs`) ⚠.
    pub main_grads: Option<GradPrecision>,
    /// The Adam moments.
    pub optimizer_states: StatePrecision,
    /// The MoE token dispatcher.
    pub moe_dispatcher: Dispatcher,
    /// Expert-parallel communication hides behind another micro-batch's compute
    /// (Megatron-Core's `--overlap-moe-expert-parallel-comm`, DeepSeek-V3's DualPipe).
    pub ep_overlap: bool,
    /// Data-parallel communication hides behind compute: the gradient reduction behind
    /// the last micro-batch's backward, bucket by bucket, and the distributed
    /// optimizer's parameter all-gather behind the next forward (Megatron-Core's
    /// `--overlap-grad-reduce` and `--overlap-param-gather`, on in its and NeMo's
    /// recipes). Off, as in Megatron-LM's training loop before them (`train_step`:
    /// forward-backward, then reduce the gradients, step, gather the parameters), each
    /// runs whole, after the backward and before the next forward.
    pub dp_overlap: bool,
    /// With `dp_overlap`, the gradient bucket in parameters (Megatron-Core's
    /// `--ddp-bucket-size`); `None` for Megatron's default, max(40M, 1M x dp)
    /// ([`Recipe::bucket_params`]).
    pub ddp_bucket_size: Option<u64>,
    /// Pipeline sends and receives hide behind compute in an interleaved schedule
    /// (Megatron-Core's `--overlap-p2p-communication`): a stage posts a chunk's send and
    /// computes on while it flies. Off, as in Megatron-LM before it (its
    /// `p2p_communication` batched each send with the matching receive, waited on both
    /// and synchronized the device ⚠, from memory of the code), and always in 1F1B
    /// without interleaving (Megatron's `send_forward_recv_backward` waits), the stage's
    /// compute waits for each send. See [`Recipe::p2p_blocks`].
    pub pp_overlap: bool,
    /// How FP8 GEMM operands are scaled (with `precision = "fp8"`).
    pub fp8_recipe: Fp8Recipe,
    /// What `recompute = "selective"` recomputes.
    pub recompute_modules: Vec<RecomputeModule>,
    /// The attention kernel.
    pub attention: AttentionKernel,
    /// The loss over the vocabulary.
    pub cross_entropy: CrossEntropy,
    /// How context parallelism exchanges keys and values.
    pub cp_comm: CpComm,
}

/// Megatron-Core's default gradient bucket, in parameters: max(40M, 1M x dp)
/// (megatron/core/distributed/distributed_data_parallel.py, `bucket_size`), which grows
/// with the data parallelism to amortize each collective's latency over its ranks.
fn default_bucket_params(dp: u32) -> f64 {
    (40e6f64).max(1e6 * dp as f64)
}

impl Recipe {
    /// The gradient bucket at data parallelism `dp`, in parameters: the one set, else
    /// Megatron's default.
    pub fn bucket_params(&self, dp: u32) -> f64 {
        self.ddp_bucket_size
            .map_or_else(|| default_bucket_params(dp), |b| b as f64)
    }

    /// The fields set otherwise than by default, as `name = value` in TOML's spelling, by
    /// name: what a report shows of the recipe. The FP8 scaling is left out (reports
    /// give it with the precision, where it applies).
    pub fn changes(&self) -> Vec<String> {
        let (Ok(serde_json::Value::Object(this)), Ok(serde_json::Value::Object(default))) = (
            serde_json::to_value(self),
            serde_json::to_value(Recipe::default()),
        ) else {
            return Vec::new();
        };
        let toml = |v: &serde_json::Value| match v {
            serde_json::Value::Array(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                format!("[{}]", items.join(", "))
            }
            v => v.to_string(),
        };
        this.iter()
            .filter(|(k, v)| *k != "fp8_recipe" && default.get(*k) != Some(v))
            .map(|(k, v)| format!("{k} = {}", toml(v)))
            .collect()
    }

    /// Whether a stage's compute waits for its pipeline sends: always in 1F1B without
    /// interleaving (`vpp` 1), and in an interleaved schedule without `pp_overlap`.
    pub fn p2p_blocks(&self, vpp: u32) -> bool {
        vpp <= 1 || !self.pp_overlap
    }
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            main_grads: None,
            optimizer_states: StatePrecision::Fp32,
            moe_dispatcher: Dispatcher::Alltoall,
            ep_overlap: false,
            dp_overlap: true,
            ddp_bucket_size: None,
            pp_overlap: true,
            fp8_recipe: Fp8Recipe::Delayed,
            recompute_modules: vec![RecomputeModule::CoreAttn],
            attention: AttentionKernel::Fused,
            cross_entropy: CrossEntropy::Fused,
            cp_comm: CpComm::P2p,
        }
    }
}

/// A step splits the global batch into dp x micro_batch equal parts: an error naming the
/// batch otherwise, with `why_dp` after it (how dp was settled, where it was not given).
pub fn batch_splits(global_batch: u64, dp: u64, micro_batch: u64, why_dp: &str) -> Result<()> {
    let per_step = dp.saturating_mul(micro_batch);
    if global_batch > 0 && per_step > 0 && global_batch.is_multiple_of(per_step) {
        return Ok(());
    }
    // The multiples either side, where the step splits at all.
    let below = global_batch / per_step.max(1) * per_step;
    let nearest = match below {
        _ if per_step == 0 => String::new(),
        0 => format!("; the least is {per_step}"),
        _ => format!("; the nearest are {below} and {}", below + per_step),
    };
    Err(Error::invalid(
        "training.global_batch",
        global_batch,
        format!(
            "a positive multiple of dp x micro_batch ({dp} x {micro_batch} = {per_step}){why_dp}{nearest}"
        ),
    ))
}

/// Whether context parallelism `cp` can split a sequence of `seq_len` tokens as causal CP
/// balances its load: each rank takes two of 2 x cp chunks (one early, one late).
pub fn cp_splits_sequence(cp: u64, seq_len: u64) -> bool {
    cp <= 1 || seq_len.is_multiple_of(2 * cp)
}

/// How the job is split over GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParallelPlan {
    /// Tensor parallel size.
    pub tp: u32,
    /// Pipeline parallel size (stages).
    pub pp: u32,
    /// Virtual pipeline chunks per stage.
    pub vpp: u32,
    /// Context parallel size.
    pub cp: u32,
    /// Expert parallel size: ep x etp divides tp x cp x dp.
    pub ep: u32,
    /// Expert tensor parallel size: how many ranks split each expert's weights (Megatron's
    /// `expert_tensor_parallel_size`; tp by default, 1 for fine-grained experts).
    pub etp: u32,
    /// Data parallel size.
    pub dp: u32,
    /// Sequences per micro-batch.
    pub micro_batch: u32,
    /// Megatron sequence parallelism (with tp).
    pub sequence_parallel: bool,
    /// Activation recomputation.
    pub recompute: Recompute,
    /// With full recomputation, Megatron's block method (`--recompute-method block
    /// --recompute-num-layers N`): only the first N layers of each model chunk (each
    /// virtual stage) recompute; the others keep their activations, as without
    /// recomputation. Unset: every layer (the uniform method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recompute_layers: Option<u32>,
    /// Optimizer state sharded over dp (ZeRO-1).
    pub distributed_optimizer: bool,
}

/// The run: batch, sequence, token budget, precision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRun {
    /// Sequences per optimizer step.
    pub global_batch: u64,
    /// Tokens per sequence.
    pub seq_len: u64,
    /// Tokens to train on.
    pub tokens: f64,
    /// GEMM precision.
    pub precision: Precision,
    /// Gradient and optimizer precision, MoE dispatch and overlap.
    pub recipe: Recipe,
}

#[cfg(test)]
impl TrainingRun {
    /// A run for tests: `global_batch` sequences of `seq_len`, 1e12 tokens (which no
    /// per-step figure reads), the default recipe.
    pub(crate) fn test(global_batch: u64, seq_len: u64, precision: Precision) -> TrainingRun {
        TrainingRun {
            global_batch,
            seq_len,
            tokens: 1e12,
            precision,
            recipe: Recipe::default(),
        }
    }
}

impl TrainingRun {
    /// Whether selective recomputation costs and saves nothing: it recomputes only the
    /// attention core, and the fused kernel recomputes its scores anyway. The planner
    /// then offers no recomputation rather than two plans that are the same.
    pub fn selective_is_free(&self) -> bool {
        self.recipe.attention.is_fused()
            && self
                .recipe
                .recompute_modules
                .iter()
                .all(|&m| m == RecomputeModule::CoreAttn)
    }

    /// Optimizer steps to train the token budget.
    pub fn steps(&self) -> f64 {
        (self.tokens / (self.global_batch * self.seq_len).max(1) as f64).ceil()
    }

    /// Tokens the steps train: the budget rounded up to whole steps (a budget under one
    /// step still runs a whole one).
    pub fn tokens_trained(&self) -> f64 {
        self.steps() * (self.global_batch * self.seq_len) as f64
    }

    /// Bytes per parameter of the main-gradient buffer. Unset, the BF16 buffer of
    /// Megatron-Core (`DistributedDataParallelConfig.grad_reduce_in_fp32 = False`) and of
    /// NVIDIA's performance recipes (see `workload::memory`).
    pub fn grad_buffer_bytes(&self) -> f64 {
        match self.recipe.main_grads {
            Some(GradPrecision::Fp32) => 4.0,
            Some(GradPrecision::Bf16) | None => 2.0,
        }
    }

    /// Bytes per parameter the data-parallel gradient reduction moves. Unset, FP32 for
    /// BF16 and FP8 runs, as Megatron-LM reduces (`accumulate_allreduce_grads_in_fp32` for
    /// BF16) ⚠: NeMo's recipes reduce in BF16 and the memory holds their BF16 buffer;
    /// with no recipe given, the traffic keeps the larger size, which the Megatron-LM
    /// cases bear out.
    pub fn grad_reduce_bytes(&self) -> f64 {
        match (self.recipe.main_grads, self.precision) {
            (Some(GradPrecision::Fp32), _) => 4.0,
            (Some(GradPrecision::Bf16), _) | (None, Precision::Fp16) => 2.0,
            (None, _) => 4.0,
        }
    }

    /// Bytes per parameter of the two Adam moments.
    pub fn moment_bytes(&self) -> f64 {
        match self.recipe.optimizer_states {
            StatePrecision::Fp32 => 8.0,
            StatePrecision::Bf16 => 4.0,
        }
    }

    /// Hours of work (no failures) at `step_s` seconds per step.
    pub fn work_hours(&self, step_s: f64) -> f64 {
        self.steps() * step_s / 3600.0
    }
}

/// Largest global batch accepted, in sequences (2^24).
pub const MAX_GLOBAL_BATCH: u64 = 1 << 24;

/// Longest sequence accepted, in tokens (2^24).
pub const MAX_SEQ_LEN: u64 = 1 << 24;

/// The run's bounds that hold whatever the plan (each checked where given): at most
/// [`MAX_GLOBAL_BATCH`] sequences per step, of 1 to [`MAX_SEQ_LEN`] tokens. A scenario
/// checks them before its plan, and the plan again for any run.
pub fn check_run_bounds(global_batch: Option<u64>, seq_len: Option<u64>) -> Result<()> {
    if let Some(gb) = global_batch.filter(|&gb| gb > MAX_GLOBAL_BATCH) {
        return Err(Error::invalid(
            "training.global_batch",
            gb,
            format!("at most {MAX_GLOBAL_BATCH} sequences per step"),
        ));
    }
    if let Some(s) = seq_len.filter(|&s| s == 0 || s > MAX_SEQ_LEN) {
        return Err(Error::invalid(
            "training.seq_len",
            s,
            format!("an integer from 1 to {MAX_SEQ_LEN}"),
        ));
    }
    Ok(())
}

/// Whether sequence parallelism is on where the user did not say: with every tp > 1 (as
/// Megatron's recipes run it) whose tp x cp divides the sequence (`seq`, where known),
/// since Megatron cannot scatter a sequence that does not split evenly over the ranks.
pub fn sequence_parallel_by_default(tp: u32, cp: u32, seq: Option<u64>) -> bool {
    tp > 1 && seq.is_none_or(|s| s.is_multiple_of(u64::from(tp) * u64::from(cp)))
}

impl ParallelPlan {
    /// One GPU, one sequence, nothing split: the reference for per-model counts.
    pub fn single() -> ParallelPlan {
        ParallelPlan {
            tp: 1,
            pp: 1,
            vpp: 1,
            cp: 1,
            ep: 1,
            etp: 1,
            dp: 1,
            micro_batch: 1,
            sequence_parallel: false,
            recompute: Recompute::None,
            recompute_layers: None,
            distributed_optimizer: false,
        }
    }

    /// Whether the layer at `position` in its model chunk (0 = the chunk's first)
    /// recomputes its whole forward in the backward.
    pub fn recomputes_layer(&self, position: u32) -> bool {
        position < self.recomputed_prefix()
    }

    /// How many of a chunk's first layers recompute their whole forward: all of them
    /// (`u32::MAX`) or the first `recompute_layers` under full recomputation, none
    /// otherwise.
    fn recomputed_prefix(&self) -> u32 {
        match self.recompute {
            Recompute::Full => self.recompute_layers.unwrap_or(u32::MAX),
            _ => 0,
        }
    }

    /// The kinds of a chunk's layers (as `LayerSplit::chunk` gives them), each with how
    /// many there are and whether they recompute their forward
    /// ([`Self::recomputes_layer`]: the chunk's first ones), counted by
    /// [`ModelSpec::kind_counts`], not layer by layer.
    pub fn chunk_kinds(
        &self,
        model: &ModelSpec,
        chunk: &[std::ops::Range<u32>],
    ) -> Vec<(LayerKind, u32, bool)> {
        let mut out = Vec::new();
        let ranges = chunk
            .iter()
            .map(|r| (r.clone(), model.kind_counts(r.clone())));
        self.for_each_kind_in(model, ranges, |k, n, recomputes| {
            out.push((k, n, recomputes))
        });
        out
    }

    /// [`Self::chunk_kinds`] of chunk `c` of stage `s` of `split` (this plan's), as calls
    /// of `f(kind, count, recomputes)` in the same order, with no allocation and the
    /// split's counts where a range is whole (the planner prices every chunk of every
    /// plan it weighs).
    pub fn for_each_chunk_kind(
        &self,
        model: &ModelSpec,
        split: &LayerSplit,
        (s, c): (usize, usize),
        f: impl FnMut(LayerKind, u32, bool),
    ) {
        self.for_each_kind_in(model, split.chunk_counted(s, c), f);
    }

    /// The chunk made of `ranges` (each with its kinds counted): its first layers
    /// recompute, the rest do not; a part that is a whole range takes its counts.
    fn for_each_kind_in(
        &self,
        model: &ModelSpec,
        ranges: impl Iterator<Item = (std::ops::Range<u32>, KindCounts)>,
        mut f: impl FnMut(LayerKind, u32, bool),
    ) {
        let mut left = self.recomputed_prefix();
        for (r, counts) in ranges {
            let cut = r.start + left.min(r.len() as u32);
            left -= cut - r.start;
            for (part, recomputes) in [(r.start..cut, true), (cut..r.end, false)] {
                let counts = if part == r {
                    counts
                } else {
                    model.kind_counts(part)
                };
                for (k, n) in counts {
                    f(k, n, recomputes);
                }
            }
        }
    }

    /// Under block recomputation, the plan the layers that do not recompute are priced
    /// and counted with (this one without recomputation); `None` where every layer
    /// follows the plan itself.
    pub fn keeping_activations(&self) -> Option<ParallelPlan> {
        (self.recompute == Recompute::Full && self.recompute_layers.is_some())
            .then(|| self.without_recompute())
    }

    /// The same plan keeping every activation (no recomputation at all).
    pub fn without_recompute(&self) -> ParallelPlan {
        ParallelPlan {
            recompute: Recompute::None,
            recompute_layers: None,
            ..self.clone()
        }
    }

    /// Decoder layers in the plan's largest model chunk: past them, a block of layers
    /// to recompute is every layer.
    pub fn largest_chunk(&self, model: &ModelSpec, run: &TrainingRun) -> u32 {
        self.layer_split(model, run).largest_chunk()
    }

    /// What the planner chose, as its notes name it: the layout, the micro-batch and the
    /// recomputation ("TP8 PP1 CP8 EP1 DP1, micro-batch 4, no recompute").
    pub fn chosen_label(&self) -> String {
        format!(
            "{}, micro-batch {}, {}",
            self.label(),
            self.micro_batch,
            self.recompute_label()
        )
    }

    /// "full recompute", "full recompute (2 layers a chunk)", for reports.
    pub fn recompute_label(&self) -> String {
        match (self.recompute, self.recompute_layers) {
            (Recompute::None, _) => "no recompute".into(),
            (Recompute::Selective, _) => "selective recompute".into(),
            (Recompute::Full, None) => "full recompute".into(),
            (Recompute::Full, Some(n)) => format!(
                "full recompute ({n} layer{} a chunk)",
                if n == 1 { "" } else { "s" }
            ),
        }
    }

    /// "TP8 PP16 (vpp 4) CP2 EP1 DP384", for reports.
    pub fn label(&self) -> String {
        let vpp = if self.vpp > 1 {
            format!(" (vpp {})", self.vpp)
        } else {
            String::new()
        };
        let etp = if self.etp != self.tp {
            format!(" ETP{}", self.etp)
        } else {
            String::new()
        };
        format!(
            "TP{} PP{}{vpp} CP{} EP{}{etp} DP{}",
            self.tp, self.pp, self.cp, self.ep, self.dp
        )
    }

    /// GPUs in the job: tp x pp x cp x dp.
    pub fn gpus(&self) -> u64 {
        u64::from(self.tp) * u64::from(self.pp) * u64::from(self.cp) * u64::from(self.dp)
    }

    /// Whether the backward recomputes `module` (selective recomputation of a module
    /// the recipe lists).
    pub fn recomputes(&self, run: &TrainingRun, module: RecomputeModule) -> bool {
        self.recompute == Recompute::Selective && run.recipe.recompute_modules.contains(&module)
    }

    /// Micro-batches per step per pipeline.
    pub fn micro_batches(&self, run: &TrainingRun) -> u64 {
        run.global_batch / (u64::from(self.dp) * u64::from(self.micro_batch))
    }

    /// Checks the fields the model's shape bounds, whatever the job's size: each factor
    /// in range, tp against the heads and widths, pp x vpp against the layers, ep and etp
    /// against the experts. A scenario checks these before the GPU count, so that a tp
    /// the heads refuse is named as such, not as a GPU count it does not divide.
    pub fn validate_shape(&self, model: &ModelSpec) -> Result<()> {
        for (name, v) in [
            ("tp", self.tp),
            ("pp", self.pp),
            ("vpp", self.vpp),
            ("cp", self.cp),
            ("ep", self.ep),
            ("etp", self.etp),
            ("dp", self.dp),
            ("micro_batch", self.micro_batch),
        ] {
            if v == 0 || v > 10_000_000 {
                return Err(Error::invalid(
                    format!("parallel.{name}"),
                    v,
                    "an integer from 1 to 10000000",
                ));
            }
        }
        if !model.heads.is_multiple_of(self.tp) {
            return Err(Error::invalid(
                "parallel.tp",
                self.tp,
                format!("a divisor of the model's attention heads ({})", model.heads),
            ));
        }
        // Megatron-Core splits the key-value groups over TP (`num_query_groups` divided
        // by the TP size, megatron/core/transformer/attention.py, from memory of the code
        // ⚠); it does not replicate them. MLA has no groups: `kv_heads` is `heads` there.
        if !model.kv_heads.is_multiple_of(self.tp) {
            return Err(Error::invalid(
                "parallel.tp",
                self.tp,
                format!(
                    "a divisor of the model's key-value heads ({}): Megatron splits the key-value groups over TP and does not replicate them",
                    model.kv_heads
                ),
            ));
        }
        if !model.ffn_hidden.is_multiple_of(u64::from(self.tp)) {
            return Err(Error::invalid(
                "parallel.tp",
                self.tp,
                format!("a divisor of the model's ffn_hidden ({})", model.ffn_hidden),
            ));
        }
        if let Some(m) = &model.moe {
            if !m.shared_ffn.is_multiple_of(u64::from(self.tp)) {
                return Err(Error::invalid(
                    "parallel.tp",
                    self.tp,
                    format!("a divisor of the model's moe_shared_ffn ({})", m.shared_ffn),
                ));
            }
        }
        if self.vpp > 1 && self.pp == 1 {
            return Err(Error::invalid(
                "parallel.vpp",
                self.vpp,
                "1 when pp = 1 (interleaving needs pipeline stages)",
            ));
        }
        let chunks = u64::from(self.pp) * u64::from(self.vpp);
        if chunks > u64::from(model.layers) {
            // Name the factor past the bound: vpp when pp alone fits.
            let (name, value) = if self.vpp > 1 && self.pp <= model.layers {
                ("parallel.vpp", self.vpp)
            } else {
                ("parallel.pp", self.pp)
            };
            let allowed = if self.pp > model.layers {
                format!("at most the model's layers ({})", model.layers)
            } else {
                format!(
                    "pp x vpp ({} x {} = {chunks}) at most the model's layers ({})",
                    self.pp, self.vpp, model.layers
                )
            };
            return Err(Error::invalid(name, value, allowed));
        }
        match &model.moe {
            None if self.ep > 1 => Err(Error::invalid(
                "parallel.ep",
                self.ep,
                "1 for a dense model (it has no experts)",
            )),
            None if self.etp != self.tp => Err(Error::invalid(
                "parallel.etp",
                self.etp,
                format!("tp ({}) for a dense model (it has no experts)", self.tp),
            )),
            None => Ok(()),
            Some(m) if !m.expert_ffn.is_multiple_of(u64::from(self.etp)) => Err(Error::invalid(
                "parallel.etp",
                self.etp,
                format!("a divisor of the model's moe_ffn_hidden ({})", m.expert_ffn),
            )),
            Some(m) if m.experts % self.ep != 0 => Err(Error::invalid(
                "parallel.ep",
                self.ep,
                format!("a divisor of the model's experts ({})", m.experts),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Checks the plan against the model and the run. Errors name the field.
    pub fn validate(&self, model: &ModelSpec, run: &TrainingRun) -> Result<()> {
        self.validate_shape(model)?;
        if let Some(n) = self.recompute_layers {
            recompute_layers_need_full(self.recompute)?;
            recompute_layers_within(
                n,
                self.largest_chunk(model, run),
                "this plan's largest chunk",
            )?;
        }
        let stage_ranks = u64::from(self.tp) * u64::from(self.cp) * u64::from(self.dp);
        if model.moe.is_some() {
            // The folding of ep and etp into the stage's ranks: etp's own rule first.
            if !stage_ranks.is_multiple_of(u64::from(self.etp)) {
                return Err(Error::invalid(
                    "parallel.etp",
                    self.etp,
                    format!(
                        "a divisor of tp x cp x dp ({} x {} x {} = {stage_ranks})",
                        self.tp, self.cp, self.dp
                    ),
                ));
            }
            let expert_model = u64::from(self.ep) * u64::from(self.etp);
            if !stage_ranks.is_multiple_of(expert_model) {
                return Err(Error::invalid(
                    "parallel.ep",
                    self.ep,
                    format!(
                        "a divisor of tp x cp x dp / etp ({} x {} x {} / {} = {}): expert layers fold the stage's ranks into etp x ep x expert-dp",
                        self.tp,
                        self.cp,
                        self.dp,
                        self.etp,
                        stage_ranks / u64::from(self.etp)
                    ),
                ));
            }
        }
        check_run_bounds(None, Some(run.seq_len))?;
        if !cp_splits_sequence(u64::from(self.cp), run.seq_len) {
            return Err(Error::invalid(
                "parallel.cp",
                self.cp,
                format!(
                    "a value with 2 x cp dividing seq_len ({}), for load-balanced causal CP",
                    run.seq_len
                ),
            ));
        }
        // Sequence parallelism scatters each CP rank's tokens over the tp ranks
        // (Megatron's reduce-scatter along the sequence needs it to divide evenly).
        let tc = u64::from(self.tp) * u64::from(self.cp);
        if self.sequence_parallel && self.tp > 1 && !run.seq_len.is_multiple_of(tc) {
            return Err(Error::invalid(
                "training.seq_len",
                run.seq_len,
                format!(
                    "a multiple of tp x cp ({} x {} = {tc}) with sequence_parallel, which splits each sequence over the tp ranks",
                    self.tp, self.cp
                ),
            ));
        }
        check_run_bounds(Some(run.global_batch), None)?;
        batch_splits(
            run.global_batch,
            self.dp.into(),
            self.micro_batch.into(),
            "",
        )?;
        let per_step = u64::from(self.dp) * u64::from(self.micro_batch);
        // Megatron's interleaved schedule runs micro-batches in groups of pp
        // (megatron/core/pipeline_parallel/schedules.py,
        // forward_backward_pipelining_with_interleaving: "number of microbatches is not
        // divisible by pipeline-model-parallel-size when using interleaved schedule").
        let micro_batches = run.global_batch / per_step;
        if self.vpp > 1 && !micro_batches.is_multiple_of(u64::from(self.pp)) {
            return Err(Error::invalid(
                "parallel.vpp",
                self.vpp,
                format!(
                    "1 (no interleaving) here, since Megatron's interleaving needs the micro-batches per pipeline ({micro_batches} = global_batch / (dp x micro_batch)) to be a multiple of pp ({}); or a global batch that makes them one",
                    self.pp
                ),
            ));
        }
        if !(run.tokens.is_finite() && run.tokens >= 1.0 && run.tokens <= 1e18) {
            return Err(Error::invalid(
                "training.tokens",
                run.tokens,
                "a number of tokens from 1 to 1e18",
            ));
        }
        Ok(())
    }

    /// Layers held by each pipeline stage when every layer weighs the same. When pp does
    /// not divide the layers, the extra layers go to the middle stages first: the first
    /// and last stages also carry the embedding and the LM head.
    pub fn stage_layers(&self, layers: u32) -> Vec<u32> {
        let pp = self.pp as usize;
        let base = layers / self.pp;
        let mut extra = (layers % self.pp) as usize;
        let mut out = vec![base; pp];
        // Middle stages (1..pp-1) first, then the first, then the last.
        let order: Vec<usize> = (1..pp.saturating_sub(1)).chain([0, pp - 1]).collect();
        for &s in order.iter().cycle().take(order.len().max(1) * 2) {
            if extra == 0 {
                break;
            }
            out[s] += 1;
            extra -= 1;
        }
        out
    }

    /// Which layers each pipeline stage and virtual chunk holds.
    ///
    /// Megatron splits the layers evenly by default; where layers differ (dense and MoE
    /// layers, local and global attention, MTP layers and the LM head on the last
    /// stage), its recipes give the first and last stages other layer counts
    /// (`--decoder-first-pipeline-num-layers`, `--decoder-last-pipeline-num-layers`)
    /// and the middle stages equal ones. memphis does the same: for a model whose layers
    /// are not all alike, it picks the first and last counts that minimise the largest
    /// stage's forward FLOPs (the even split wins ties). Each stage's layers are split
    /// over its vpp chunks, extra ones to early chunks; chunk c of stage s is virtual
    /// stage c x pp + s, in model order.
    pub fn layer_split(&self, model: &ModelSpec, run: &TrainingRun) -> LayerSplit {
        let even = self.stage_layers(model.layers);
        let stages = if model.kinds().len() > 1 || model.mtp_layers > 0 {
            balanced_stage_layers(model, run, even, self.vpp)
        } else {
            even
        };
        let (p, v) = (self.pp as usize, self.vpp);
        let mut chunks = vec![vec![0..0; v as usize]; p];
        let mut next = 0;
        for c in 0..v {
            for (s, &l) in stages.iter().enumerate() {
                let n = l / v + u32::from(c < l % v);
                chunks[s][c as usize] = next..next + n;
                next += n;
            }
        }
        let mtp = model.layers..model.layers + model.mtp_layers;
        let mut split = LayerSplit {
            counts: chunks
                .iter()
                .map(|stage| stage.iter().map(|r| model.kind_counts(r.clone())).collect())
                .collect(),
            mtp_counts: model.kind_counts(mtp.clone()),
            chunks,
            mtp,
            params: Vec::new(),
        };
        // Each stage's parameters, summed range by range as `ModelSpec::params_of`
        // counts them.
        split.params = (0..split.chunks.len())
            .map(|s| {
                (0..split.chunks[s].len())
                    .flat_map(|c| split.chunk_counted(s, c))
                    .map(|(_, counts)| model.params_of_counts(&counts))
                    .fold((0.0, 0.0), |(d, e), p| (d + p.dense, e + p.experts))
            })
            .collect();
        split
    }
}

/// The decoder layers of each pipeline stage and virtual chunk, and the MTP layers (on
/// the last stage's last chunk, after the decoder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSplit {
    /// `[stage][chunk]`: the chunk's decoder layers (0-based, half-open).
    pub chunks: Vec<Vec<std::ops::Range<u32>>>,
    /// The multi-token-prediction layers (`layers..layers + mtp_layers`).
    pub mtp: std::ops::Range<u32>,
    /// `[stage][chunk]`: the kinds of the chunk's decoder layers, counted once for every
    /// sum over them (the planner sums each plan's several times).
    #[serde(skip)]
    counts: Vec<Vec<KindCounts>>,
    /// The kinds of the MTP layers.
    #[serde(skip)]
    mtp_counts: KindCounts,
    /// `[stage]`: its layers' dense and expert parameters ([`Self::stage_params`]).
    #[serde(skip)]
    params: Vec<(f64, f64)>,
}

impl LayerSplit {
    /// The layers of chunk `c` of stage `s`, MTP layers included on the very last chunk.
    pub fn chunk(&self, s: usize, c: usize) -> Vec<std::ops::Range<u32>> {
        self.chunk_counted(s, c).map(|(r, _)| r).collect()
    }

    /// [`Self::chunk`]'s ranges, each with its layers counted by kind.
    pub fn chunk_counted(
        &self,
        s: usize,
        c: usize,
    ) -> impl Iterator<Item = (std::ops::Range<u32>, KindCounts)> + '_ {
        let last = s + 1 == self.chunks.len() && c + 1 == self.chunks[s].len();
        std::iter::once((self.chunks[s][c].clone(), self.counts[s][c]))
            .chain((last && !self.mtp.is_empty()).then(|| (self.mtp.clone(), self.mtp_counts)))
    }

    /// The dense and expert parameters of stage `s`'s layers (MTP layers included on the
    /// last stage; embedding and head not).
    pub fn stage_params(&self, s: usize) -> (f64, f64) {
        self.params[s]
    }

    /// The layers of stage `s` (all its chunks), MTP layers included on the last.
    pub fn stage(&self, s: usize) -> Vec<std::ops::Range<u32>> {
        (0..self.chunks[s].len())
            .flat_map(|c| self.chunk(s, c))
            .collect()
    }

    /// Decoder layers in the largest chunk (see [`ParallelPlan::largest_chunk`]).
    pub fn largest_chunk(&self) -> u32 {
        self.chunks
            .iter()
            .flatten()
            .map(|r| r.len() as u32)
            .max()
            .unwrap_or(1)
    }

    /// Decoder layers per stage (MTP layers not counted).
    pub fn stage_layers(&self) -> Vec<u32> {
        self.chunks
            .iter()
            .map(|ch| ch.iter().map(|r| r.len() as u32).sum())
            .collect()
    }
}

/// Per-stage layer counts with the first and last stages free and the middle ones equal,
/// minimising the largest stage's forward FLOPs per token; `even` is kept unless
/// strictly beaten. Every stage keeps at least one layer per virtual chunk (`vpp`),
/// except that the last may hold only the MTP layers and the head.
fn balanced_stage_layers(
    model: &ModelSpec,
    run: &TrainingRun,
    even: Vec<u32>,
    vpp: u32,
) -> Vec<u32> {
    let (l, pp) = (model.layers, even.len() as u32);
    if pp <= 1 {
        return even;
    }
    // Each kind's FLOPs once; prefix[i]: FLOPs of layers 0..i.
    let kinds = model.kinds();
    let per_kind: Vec<f64> = kinds
        .iter()
        .map(|&k| model.layer_flops_per_token(k, run.seq_len))
        .collect();
    let flops = |i: u32| per_kind[kinds.partition_point(|&k| k < model.layer_kind(i))];
    let mut prefix = Vec::with_capacity(l as usize + 1);
    prefix.push(0.0);
    for i in 0..l {
        prefix.push(prefix[i as usize] + flops(i));
    }
    // The LM head stays BF16 in FP8 runs (`step::costs`), where the layers' GEMMs run
    // at FP8's rate, twice BF16's on every FP8 GPU of the catalog (facts.md §2.1, §11):
    // it weighs twice its FLOPs there.
    let head_weight = if run.precision.fp8_gemms() { 2.0 } else { 1.0 };
    let tail: f64 = (model.layers..model.layers + model.mtp_layers)
        .map(flops)
        .sum::<f64>()
        + model.head_flops_per_token() * head_weight;
    let worst = |counts: &[u32]| -> f64 {
        let mut at = 0usize;
        let mut max = 0.0f64;
        for (s, &n) in counts.iter().enumerate() {
            let mut w = prefix[at + n as usize] - prefix[at];
            if s + 1 == counts.len() {
                w += tail;
            }
            max = max.max(w);
            at += n as usize;
        }
        max
    };
    let middle = pp - 2;
    // The heaviest stage of `first`, `middle` stages of `m`, then the rest (no allocation:
    // the planner splits every plan it weighs).
    let candidate = |first: u32, m: u32| -> f64 {
        let mut at = first as usize;
        let mut max = prefix[at];
        for _ in 0..middle {
            max = max.max(prefix[at + m as usize] - prefix[at]);
            at += m as usize;
        }
        max.max(prefix[l as usize] - prefix[at] + tail)
    };
    let mut best = (worst(&even), None);
    // Middle stages near the even share: the ends absorb what differs, and moving the
    // middle count by more than a couple of layers per stage only loads the ends further
    // (the even split, always a candidate, covers the rest). This bounds the search to
    // O(layers) per plan, which the planner runs for every candidate.
    let per = l / pp;
    let (lo, hi) = if middle == 0 {
        (0, 0)
    } else {
        (per.saturating_sub(2).max(1), per + 2)
    };
    let last_min = if model.mtp_layers > 0 { 0 } else { vpp };
    for m in lo.max(vpp)..=hi.max(vpp) {
        let Some(ends) = l.checked_sub(m * middle) else {
            continue;
        };
        // The first stage holds the most micro-batches in flight (pp of them under
        // 1F1B), so it takes no more layers than a middle stage: balancing its time must
        // not cost it the memory it is shortest of.
        let first_max = if middle == 0 { ends } else { m.min(ends) };
        for first in vpp..=first_max.saturating_sub(last_min.min(first_max)) {
            let last = ends - first;
            if last != 0 && last < vpp {
                continue;
            }
            let w = candidate(first, m);
            if w < best.0 * (1.0 - 1e-9) {
                best = (w, Some((first, m, ends - first)));
            }
        }
    }
    match best.1 {
        None => even,
        Some((first, m, last)) => {
            let mut counts = vec![m; pp as usize];
            counts[0] = first;
            counts[pp as usize - 1] = last;
            counts
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::model::MlpKind;

    #[test]
    fn a_recipe_shows_what_differs_from_the_default() {
        assert!(Recipe::default().changes().is_empty());
        let r = Recipe {
            pp_overlap: false,
            recompute_modules: vec![RecomputeModule::CoreAttn, RecomputeModule::Layernorm],
            fp8_recipe: Fp8Recipe::Tensorwise,
            ..Recipe::default()
        };
        assert_eq!(
            r.changes(),
            [
                "pp_overlap = false",
                r#"recompute_modules = ["core_attn", "layernorm"]"#
            ]
        );
    }

    fn plan(tp: u32, pp: u32, dp: u32) -> ParallelPlan {
        ParallelPlan {
            tp,
            pp,
            vpp: 1,
            cp: 1,
            ep: 1,
            etp: tp,
            dp,
            micro_batch: 1,
            sequence_parallel: true,
            recompute: Recompute::Selective,
            recompute_layers: None,
            distributed_optimizer: true,
        }
    }

    fn model() -> ModelSpec {
        ModelSpec::dense("t", 126, 16384, 128, 8, 53248, 128256, MlpKind::Gated)
    }

    fn run(gb: u64) -> TrainingRun {
        TrainingRun::test(gb, 8192, Precision::Bf16)
    }

    #[test]
    fn uneven_layers_go_to_middle_stages() {
        let p = plan(8, 16, 1);
        let s = p.stage_layers(126);
        assert_eq!(s.iter().sum::<u32>(), 126);
        assert_eq!(s[0], 7);
        assert_eq!(s[15], 7);
        assert!(s[1..15].iter().all(|&l| l == 8));
        let p = plan(1, 4, 1);
        assert_eq!(p.stage_layers(7), vec![2, 2, 2, 1]);
        assert_eq!(plan(1, 1, 1).stage_layers(5), vec![5]);
        assert_eq!(plan(1, 2, 1).stage_layers(5), vec![3, 2]);
    }

    #[test]
    fn validation_names_fields() {
        let m = model();
        assert!(plan(8, 16, 4).validate(&m, &run(64)).is_ok());
        let e = plan(3, 1, 1)
            .validate(&m, &run(64))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parallel.tp = 3"), "{e}");
        // 128 heads in 8 key-value groups: TP 16 would have to replicate them.
        let e = plan(16, 8, 4)
            .validate(&m, &run(64))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("parallel.tp = 16") && e.contains("key-value heads (8)"),
            "{e}"
        );
        let e = plan(8, 16, 4)
            .validate(&m, &run(65))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("training.global_batch = 65"), "{e}");
        let e = plan(8, 127, 1)
            .validate(&m, &run(64))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parallel.pp = 127"), "{e}");
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;
    use crate::workload::model::architecture_tests::deepseek_v3;
    use crate::workload::model::MlpKind;

    fn plan(pp: u32, vpp: u32) -> ParallelPlan {
        ParallelPlan {
            pp,
            vpp,
            ..ParallelPlan::single()
        }
    }

    fn run() -> TrainingRun {
        TrainingRun::test(64, 4096, Precision::Bf16)
    }

    /// Chunks in virtual-stage order (chunk c of stage s is c x pp + s) tile the layers.
    fn tiles(split: &LayerSplit, layers: u32) {
        let (p, v) = (split.chunks.len(), split.chunks[0].len());
        let mut next = 0;
        for c in 0..v {
            for s in 0..p {
                let r = &split.chunks[s][c];
                assert_eq!(r.start, next, "stage {s} chunk {c}");
                next = r.end;
            }
        }
        assert_eq!(next, layers);
    }

    #[test]
    fn alike_layers_keep_the_even_split() {
        let m = ModelSpec::dense("t", 126, 16384, 128, 8, 53248, 128256, MlpKind::Gated);
        for (pp, vpp) in [(16, 1), (16, 2), (4, 3), (1, 1)] {
            let p = plan(pp, vpp);
            let split = p.layer_split(&m, &run());
            assert_eq!(split.stage_layers(), p.stage_layers(126));
            tiles(&split, 126);
            assert!(split.mtp.is_empty());
        }
    }

    #[test]
    fn differing_layers_balance_first_and_last_stages() {
        let m = deepseek_v3();
        let p = plan(16, 1);
        let split = p.layer_split(&m, &run());
        tiles(&split, 61);
        let layers = split.stage_layers();
        // The middle stages are equal; the last one carries the MTP layer and two heads,
        // so it holds fewer decoder layers than the even split's 4.
        assert!(layers[1..15].windows(2).all(|w| w[0] == w[1]), "{layers:?}");
        assert!(layers[15] < layers[1], "{layers:?}");
        assert_eq!(split.mtp, 61..62);
        assert_eq!(
            split.chunk(15, 0),
            vec![split.chunks[15][0].clone(), 61..62]
        );
        // No stage is heavier than the even split's heaviest.
        let flops = |ranges: Vec<std::ops::Range<u32>>, last: bool| -> f64 {
            let layers: f64 = ranges
                .into_iter()
                .flatten()
                .map(|i| m.layer_flops_per_token(m.layer_kind(i), 4096))
                .sum();
            layers + if last { m.head_flops_per_token() } else { 0.0 }
        };
        let worst = (0..16)
            .map(|s| flops(split.stage(s), s == 15))
            .fold(0.0, f64::max);
        let mut even = vec![vec![]; 16];
        let mut at = 0;
        for (s, n) in p.stage_layers(61).into_iter().enumerate() {
            even[s] = std::iter::once(at..at + n).collect();
            at += n;
        }
        even[15].push(61..62);
        let even_worst = (0..16)
            .map(|s| flops(even[s].clone(), s == 15))
            .fold(0.0, f64::max);
        assert!(worst < even_worst, "{worst} vs {even_worst}");
        // With interleaving every chunk still gets its layers in model order, and every
        // stage at least one per chunk.
        for (pp, vpp) in [(8, 2), (16, 2), (4, 4)] {
            let split = plan(pp, vpp).layer_split(&m, &run());
            tiles(&split, 61);
            let layers = split.stage_layers();
            assert!(
                layers[..pp as usize - 1].iter().all(|&l| l >= vpp),
                "pp {pp} vpp {vpp}: {layers:?}"
            );
            // The first stage, fullest of activations, takes no more than a middle one.
            assert!(layers[0] <= layers[1], "pp {pp} vpp {vpp}: {layers:?}");
        }
    }

    #[test]
    fn the_last_stage_may_hold_only_the_mtp_layers_and_head() {
        // 61 layers over 32 stages: 2 per middle stage leaves the MTP layer and the two
        // heads alone on the last, lighter than 1 layer beside them.
        let m = deepseek_v3();
        let split = plan(32, 1).layer_split(&m, &run());
        tiles(&split, 61);
        let layers = split.stage_layers();
        assert_eq!(layers[31], 0, "{layers:?}");
        assert!(layers[1..31].iter().all(|&l| l == 2), "{layers:?}");
        assert_eq!(split.stage(31), vec![61..61, 61..62]);
    }
}

#[cfg(test)]
mod chunk_kind_tests {
    use super::*;
    use crate::workload::model::architecture_tests::deepseek_v3;

    /// `chunk_kinds` counts by kind; the oracle walks the chunk layer by layer, asking
    /// `recomputes_layer` of each position.
    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a chunk is a list of layer ranges
    fn a_chunks_kinds_are_those_of_its_layers_one_by_one() {
        let m = deepseek_v3(); // 3 dense layers, then MoE; one MTP layer
        let sorted = |mut v: Vec<(LayerKind, u32, bool)>| {
            v.sort_by_key(|&(k, _, r)| (k, r));
            v
        };
        let oracle = |p: &ParallelPlan, chunk: &[std::ops::Range<u32>]| {
            let mut v: Vec<(LayerKind, u32, bool)> = Vec::new();
            for (pos, i) in chunk.iter().cloned().flatten().enumerate() {
                let (k, r) = (m.layer_kind(i), p.recomputes_layer(pos as u32));
                match v.iter_mut().find(|(x, _, y)| *x == k && *y == r) {
                    Some((_, n, _)) => *n += 1,
                    None => v.push((k, 1, r)),
                }
            }
            sorted(v)
        };
        let chunks: [Vec<std::ops::Range<u32>>; 4] =
            [vec![0..8], vec![1..5], vec![55..61, 61..62], vec![]];
        for (recompute, layers) in [
            (Recompute::Full, None),
            (Recompute::Full, Some(2)),
            (Recompute::Full, Some(6)),
            (Recompute::Full, Some(0)),
            (Recompute::Selective, None),
            (Recompute::None, None),
        ] {
            let p = ParallelPlan {
                recompute,
                recompute_layers: layers,
                ..ParallelPlan::single()
            };
            for c in &chunks {
                assert_eq!(
                    sorted(p.chunk_kinds(&m, c)),
                    oracle(&p, c),
                    "{c:?} {layers:?}"
                );
            }
        }
    }

    /// What a split counts once (each chunk's kinds, each stage's parameters) is what
    /// counting its ranges afresh gives, whatever recomputes.
    #[test]
    fn a_splits_counts_are_its_ranges_counted_afresh() {
        let run = TrainingRun::test(64, 4096, Precision::Bf16);
        let m = deepseek_v3(); // 3 dense layers, then MoE; one MTP layer
        for (pp, vpp) in [(1, 1), (4, 1), (8, 2), (16, 3), (61, 1)] {
            for (recompute, layers) in [
                (Recompute::None, None),
                (Recompute::Full, None),
                (Recompute::Full, Some(1)),
                (Recompute::Full, Some(2)),
            ] {
                let p = ParallelPlan {
                    pp,
                    vpp,
                    recompute,
                    recompute_layers: layers,
                    ..ParallelPlan::single()
                };
                let split = p.layer_split(&m, &run);
                for s in 0..split.chunks.len() {
                    let ranges = split.stage(s);
                    let params = ranges
                        .iter()
                        .map(|r| m.params_of(r.clone()))
                        .fold((0.0, 0.0), |(d, e), q| (d + q.dense, e + q.experts));
                    assert_eq!(split.stage_params(s), params, "pp {pp} vpp {vpp} stage {s}");
                    for c in 0..split.chunks[s].len() {
                        let mut seen = Vec::new();
                        p.for_each_chunk_kind(&m, &split, (s, c), |k, n, r| seen.push((k, n, r)));
                        assert_eq!(seen, p.chunk_kinds(&m, &split.chunk(s, c)), "{s} {c}");
                    }
                }
            }
        }
    }
}
