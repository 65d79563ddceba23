//! The costs of the pieces of one step on one GPU, computed once from the workload
//! (`workload::ops`), the compute model and the communication model over the job's rank
//! layout. Both step models consume them: the closed form (`analytical`) and the
//! discrete-event timeline (`timeline`), whose trace events carry their FLOPs and bytes.

use super::collectives::{CollectiveUse, Recorder};
use crate::collective::{CommModel, GroupKind};
use crate::compute::{AttentionPass, ComputeModel};
use crate::net::analytical::{AllToAllRoute, CollectiveOp, GroupShape};
use crate::scenario::Scenario;
use crate::units::{Bytes, Flops, Seconds};
use crate::workload::layout::RankLayout;
use crate::workload::model::LayerKind;
use crate::workload::ops::{head_work, layer_work, tokens_per_gpu, Gemm, LayerWork, HALF};
use crate::workload::plan::{CpComm, Dispatcher, LayerSplit, Recompute, RecomputeModule};
use serde::Serialize;

/// Time and work of one op on one GPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OpCost {
    /// Duration.
    pub time: Seconds,
    /// FLOPs executed.
    pub flops: Flops,
    /// Bytes moved: through HBM for computation (what the roofline counts: GEMM
    /// operands and element-wise traffic; fused attention is costed by its FLOPs), sent
    /// by this GPU for communication.
    pub bytes: Bytes,
}

impl OpCost {
    /// The op repeated `k` times.
    pub fn times(self, k: f64) -> OpCost {
        OpCost {
            time: self.time * k,
            flops: self.flops * k,
            bytes: self.bytes * k,
        }
    }

    /// Two ops, one after the other.
    pub fn then(self, o: OpCost) -> OpCost {
        OpCost {
            time: self.time + o.time,
            flops: self.flops + o.flops,
            bytes: self.bytes + o.bytes,
        }
    }
}

/// A forward and a backward (with recomputation) of one micro-batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FwdBwd<T> {
    /// Forward pass.
    pub forward: T,
    /// Backward pass.
    pub backward: T,
}

impl FwdBwd<OpCost> {
    fn plus(self, o: Self) -> Self {
        FwdBwd {
            forward: self.forward.then(o.forward),
            backward: self.backward.then(o.backward),
        }
    }
}

impl FwdBwd<Seconds> {
    fn plus(self, o: Self) -> Self {
        FwdBwd {
            forward: self.forward + o.forward,
            backward: self.backward + o.backward,
        }
    }
}

/// Communication of one layer of one kind (TP, CP or EP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LayerComm {
    /// All of it: time (overlapped or not) and bytes this GPU sends.
    pub whole: FwdBwd<OpCost>,
    /// The time the compute does not hide.
    pub exposed: FwdBwd<Seconds>,
}

/// Transformer layers (one, or a chunk's together) for one micro-batch on one GPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LayerCosts {
    /// Computation: time, FLOPs, HBM bytes.
    pub compute: FwdBwd<OpCost>,
    /// Tensor-parallel collectives (NVLink when tp fits a server).
    pub tp: LayerComm,
    /// Context-parallel ring exchange of K and V blocks.
    pub cp: LayerComm,
    /// Expert-parallel dispatch and combine all-to-all (never hidden).
    pub ep: LayerComm,
}

impl LayerComm {
    fn plus(self, o: Self) -> Self {
        LayerComm {
            whole: self.whole.plus(o.whole),
            exposed: self.exposed.plus(o.exposed),
        }
    }

    fn times(self, k: f64) -> Self {
        LayerComm {
            whole: FwdBwd {
                forward: self.whole.forward.times(k),
                backward: self.whole.backward.times(k),
            },
            exposed: FwdBwd {
                forward: self.exposed.forward * k,
                backward: self.exposed.backward * k,
            },
        }
    }
}

impl LayerCosts {
    /// Several layers one after the other.
    pub fn plus(self, o: Self) -> Self {
        LayerCosts {
            compute: self.compute.plus(o.compute),
            tp: self.tp.plus(o.tp),
            cp: self.cp.plus(o.cp),
            ep: self.ep.plus(o.ep),
        }
    }

    /// `n` such layers one after the other.
    pub fn times(self, n: u32) -> Self {
        let k = f64::from(n);
        LayerCosts {
            compute: FwdBwd {
                forward: self.compute.forward.times(k),
                backward: self.compute.backward.times(k),
            },
            tp: self.tp.times(k),
            cp: self.cp.times(k),
            ep: self.ep.times(k),
        }
    }

    /// Forward time on the compute stream: compute plus exposed communication.
    pub fn forward(&self) -> Seconds {
        self.compute.forward.time
            + self.tp.exposed.forward
            + self.cp.exposed.forward
            + self.ep.exposed.forward
    }

    /// Backward time on the compute stream, likewise.
    pub fn backward(&self) -> Seconds {
        self.compute.backward.time
            + self.tp.exposed.backward
            + self.cp.exposed.backward
            + self.ep.exposed.backward
    }
}

/// Data-parallel costs of one pipeline stage, once per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageDpCosts {
    /// Gradient reduce-scatter (all-reduce without the distributed optimizer), dense and
    /// expert weights.
    pub grad_reduce: OpCost,
    /// Parameter all-gather of the distributed optimizer (zero without it).
    pub param_gather: OpCost,
    /// The optimizer step over the parameters this GPU owns.
    pub optimizer: OpCost,
    /// Fraction of the stage's parameters in Megatron's last, unoverlappable bucket (the
    /// larger of the dense group's and the experts').
    pub last_bucket_fraction: f64,
    /// That last bucket's gradient reduction as a collective of its own: its bandwidth
    /// share and the whole latency of a collective over the data-parallel ranks, which
    /// grows with them (ring steps); no backward is left to hide it.
    pub last_bucket: Seconds,
    /// The first bucket's parameter all-gather (distributed optimizer; zero without it):
    /// the forward of a chunk waits for it.
    pub first_gather: Seconds,
}

/// The costs of the pieces of a step, consumed by both step models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCosts {
    /// One layer of each kind the model has (`ModelSpec::kinds`).
    pub kinds: Vec<(LayerKind, LayerCosts)>,
    /// Which layers each stage and chunk holds.
    pub split: LayerSplit,
    /// `[stage][chunk]`: the layers of each virtual pipeline chunk together.
    pub chunks: Vec<Vec<LayerCosts>>,
    /// LM head and loss (last stage), with each MTP layer's projection, head and loss.
    pub head: FwdBwd<OpCost>,
    /// Embedding lookup (first stage).
    pub embedding: FwdBwd<OpCost>,
    /// One pipeline send of a micro-batch's activations.
    pub p2p: OpCost,
    /// Per pipeline stage.
    pub dp: Vec<StageDpCosts>,
    /// The collectives priced, one per communicator and operation.
    pub collectives: Vec<CollectiveUse>,
}

/// Bytes each rank sends in one bandwidth-optimal collective of `size`: the nccl-tests
/// bus-bandwidth factor (facts.md §3.8) is exactly that share of the size.
fn sent(op: CollectiveOp, size: Bytes, ranks: u32) -> Bytes {
    size * op.bus_factor(ranks)
}

/// FLOPs of one AdamW update per parameter it owns, counted from the update rule
/// (Loshchilov & Hutter 2019, Algorithm 2): first moment 3, second moment 4, bias
/// corrections 2, square root and epsilon 2, division 1, learning-rate step 2,
/// decoupled weight decay 2.
const ADAM_FLOPS_PER_PARAM: f64 = 16.0;

/// FLOPs of the gradient-norm pass per gradient element: square and accumulate.
const GRAD_NORM_FLOPS_PER_PARAM: f64 = 2.0;

/// Exposed part of a TP collective of duration `comm` overlapped with GEMMs of duration
/// `gemm`: the pipelined overlap splits it into tp chunks, the first (or last) of which
/// cannot hide; the rest hides up to the GEMM time.
pub(crate) fn tp_exposed(comm: Seconds, gemm: Seconds, tp: u32, overlap: bool) -> Seconds {
    if !overlap || tp <= 1 {
        return comm;
    }
    let chunk = comm / tp as f64;
    chunk + (comm - chunk - gemm).max(Seconds::ZERO)
}

/// HBM bytes of one FP8 cast per element, by the scenario's recipe and GPU.
fn cast_bytes(sc: &Scenario) -> f64 {
    let native = sc.cluster.gpu.generation.fp8_native_layouts();
    sc.run.recipe.fp8_recipe.cast_bytes(native)
}

/// Everything a step is built from, with communication costed by `net`.
pub(crate) fn step_costs(sc: &Scenario, net: &dyn CommModel) -> StepCosts {
    step_costs_split(sc, net, sc.plan.layer_split(&sc.model, &sc.run))
}

/// [`step_costs`] over the plan's layer split already made (`plan.layer_split`).
pub(crate) fn step_costs_split(sc: &Scenario, net: &dyn CommModel, split: LayerSplit) -> StepCosts {
    debug_assert_eq!(split, sc.plan.layer_split(&sc.model, &sc.run));
    let recorder = Recorder::new(net);
    let net: &dyn CommModel = &recorder;
    let layout = RankLayout::new(&sc.plan, sc.cluster.gpus_per_node);
    let cm = ComputeModel::new(sc.cluster.gpu, sc.run.precision.fp8_gemms())
        .with_fp8_recipe(sc.run.recipe.fp8_recipe)
        .with_attention(sc.run.recipe.attention)
        .synchronized_over(sc.job_gpus());
    let model = &sc.model;
    let priced = |sc: &Scenario| -> Vec<(LayerKind, LayerCosts)> {
        model
            .kinds()
            .into_iter()
            .map(|k| {
                let lw = layer_work(model, &sc.plan, &sc.run, k);
                (k, layer_costs(sc, net, &layout, &cm, &lw))
            })
            .collect()
    };
    let kinds = priced(sc);
    // Block recomputation: the layers past the first N of a chunk keep their
    // activations and are priced as without recomputation.
    let keeping = sc.plan.keeping_activations().map(|plan| {
        let mut kept = sc.clone();
        kept.plan = plan;
        priced(&kept)
    });
    // A chunk's layers by kind, those past its first N priced as keeping their
    // activations under block recomputation.
    let chunks = (0..split.chunks.len())
        .map(|s| {
            (0..split.chunks[s].len())
                .map(|c| {
                    let mut a = LayerCosts::default();
                    sc.plan
                        .for_each_chunk_kind(model, &split, (s, c), |k, n, recomputes| {
                            let table = match &keeping {
                                Some(kept) if !recomputes => kept,
                                _ => &kinds,
                            };
                            a = a.plus(table[table.partition_point(|(x, _)| *x < k)].1.times(n));
                        });
                    a
                })
                .collect()
        })
        .collect();
    let (head, embedding) = head_costs(sc, &cm);
    let dp = dp_costs(sc, net, &layout, &cm, &split);
    let p2p = p2p_cost(sc, net, &layout);
    StepCosts {
        dp,
        kinds,
        split,
        chunks,
        head,
        embedding,
        p2p,
        collectives: recorder.into_uses(),
    }
}

impl StepCosts {
    /// The layers of stage `s` together (all its chunks).
    pub fn stage(&self, s: usize) -> LayerCosts {
        self.chunks[s]
            .iter()
            .fold(LayerCosts::default(), |a, &c| a.plus(c))
    }
}

/// GEMM, fused attention and element-wise parts of one layer's forward and backward.
struct LayerCompute {
    gemm_fwd: Seconds,
    gemm_bwd: Seconds,
    /// The attention core's forward and backward: what a context-parallel ring hides
    /// its exchanges behind.
    attn: FwdBwd<Seconds>,
    cost: FwdBwd<OpCost>,
}

fn layer_compute(sc: &Scenario, cm: &ComputeModel, lw: &LayerWork) -> LayerCompute {
    let gemm_fwd: Seconds = lw.gemms.iter().map(|g| cm.gemm_time(g)).sum();
    let gemm_bwd: Seconds = lw.gemms.iter().map(|g| cm.gemm_backward_time(g)).sum();
    let gemm_flops: Flops = lw.gemms.iter().map(|g| g.flops()).sum();
    let gemm_bytes: Bytes = lw.gemms.iter().map(|g| cm.gemm_bytes(g)).sum();
    // Unfused attention: its batched GEMMs (never FP8: Transformer Engine quantizes only
    // the Linear layers, facts.md §8) and the score passes of its softmax and dropout.
    let half = cm.bf16();
    let unfused_gemms: Seconds = lw.attention_gemms.iter().map(|g| half.gemm_time(g)).sum();
    // Their backward at its own shapes, as every GEMM's.
    let unfused_gemms_bwd: Seconds = lw
        .attention_gemms
        .iter()
        .map(|g| half.gemm_backward_time(g))
        .sum();
    let unfused = OpCost {
        time: unfused_gemms + cm.memory_time(lw.attention_bytes),
        flops: lw.attention_gemms.iter().map(|g| g.flops()).sum(),
        bytes: lw
            .attention_gemms
            .iter()
            .map(|g| half.gemm_bytes(g))
            .sum::<Bytes>()
            + lw.attention_bytes,
    };
    let unfused_bwd_bytes = OpCost {
        time: cm.memory_time(lw.attention_bwd_bytes),
        flops: Flops::ZERO,
        bytes: lw.attention_bwd_bytes,
    };
    let attn_fwd = cm.attention_time(lw.attention_flops, AttentionPass::Forward) + unfused.time;
    let attn_bwd = cm.attention_time(lw.attention_flops * 2.5, AttentionPass::Backward)
        + unfused_gemms_bwd
        + unfused_bwd_bytes.time;
    let cast = Bytes(lw.fp8_cast_elements * cast_bytes(sc));
    let cast_bwd = Bytes(lw.fp8_cast_bwd_elements * cast_bytes(sc));
    let forward = OpCost {
        time: cm.launched(
            gemm_fwd + attn_fwd + cm.memory_time(lw.elementwise_bytes + cast),
            lw.kernels,
        ),
        flops: gemm_flops + lw.attention_flops + unfused.flops,
        bytes: gemm_bytes + lw.elementwise_bytes + cast + unfused.bytes,
    };
    // Backward: data + weight gradients (2x the GEMMs' FLOPs, each at its own shape),
    // fused attention backward 2.5x,
    // element-wise about 2x (see `ops`). Full recompute repeats the forward; selective
    // recompute of the attention core is already part of the fused attention backward,
    // while the unfused core runs its forward again (Korthikanti et al. 2022, §5).
    let mut backward = OpCost {
        time: cm.launched(
            gemm_bwd
                + cm.attention_time(lw.attention_flops * 2.5, AttentionPass::Backward)
                + cm.memory_time(lw.elementwise_bwd_bytes + cast_bwd),
            lw.kernels * 2.0,
        ),
        flops: gemm_flops * 2.0 + lw.attention_flops * 2.5,
        bytes: gemm_bytes * 2.0 + lw.elementwise_bwd_bytes + cast_bwd,
    };
    if !lw.attention_gemms.is_empty() {
        let gemms_bwd = OpCost {
            time: unfused_gemms_bwd,
            flops: unfused.flops * 2.0,
            bytes: (unfused.bytes - lw.attention_bytes) * 2.0,
        };
        backward = backward.then(gemms_bwd).then(unfused_bwd_bytes);
        if sc.plan.recomputes(&sc.run, RecomputeModule::CoreAttn) {
            backward = backward.then(unfused);
        }
    }
    if sc.plan.recompute == Recompute::Full {
        backward = backward.then(forward);
    }
    // Selective recomputation of the recipe's modules beyond the attention core.
    for g in &lw.recompute_gemms {
        backward = backward.then(OpCost {
            time: cm.gemm_time(g),
            flops: g.flops(),
            bytes: cm.gemm_bytes(g),
        });
    }
    backward = backward.then(OpCost {
        time: cm.memory_time(lw.recompute_bytes),
        flops: Flops::ZERO,
        bytes: lw.recompute_bytes,
    });
    LayerCompute {
        gemm_fwd,
        gemm_bwd,
        attn: FwdBwd {
            forward: attn_fwd,
            backward: attn_bwd,
        },
        cost: FwdBwd { forward, backward },
    }
}

fn layer_costs(
    sc: &Scenario,
    net: &dyn CommModel,
    layout: &RankLayout,
    cm: &ComputeModel,
    lw: &LayerWork,
) -> LayerCosts {
    let c = layer_compute(sc, cm, lw);
    LayerCosts {
        compute: c.cost,
        tp: tp_comm(
            sc,
            net,
            layout.shape(GroupKind::Tp),
            lw,
            c.gemm_fwd,
            c.gemm_bwd,
        ),
        cp: cp_comm(sc, net, layout.shape(GroupKind::Cp), lw, c.attn),
        ep: ep_comm(sc, net, layout, lw, &c.cost),
    }
}

/// The backward repeats the forward's communication once more under full recompute.
fn recompute_factor(sc: &Scenario) -> f64 {
    if sc.plan.recompute == Recompute::Full {
        2.0
    } else {
        1.0
    }
}

/// TP: two all-reduces per layer forward, or all-gather + reduce-scatter pairs with
/// sequence parallelism (same bytes); the backward mirrors them. With overlap they hide
/// behind the GEMMs but for one chunk.
fn tp_comm(
    sc: &Scenario,
    net: &dyn CommModel,
    g: GroupShape,
    lw: &LayerWork,
    gemm_fwd: Seconds,
    gemm_bwd: Seconds,
) -> LayerComm {
    let (plan, tp) = (&sc.plan, sc.plan.tp);
    if tp <= 1 {
        return LayerComm::default();
    }
    let msg = lw.tp_message;
    let per = if plan.sequence_parallel {
        net.collective(CollectiveOp::AllGather, msg, GroupKind::Tp, g)
            + net.collective(CollectiveOp::ReduceScatter, msg, GroupKind::Tp, g)
    } else {
        net.collective(CollectiveOp::AllReduce, msg, GroupKind::Tp, g)
    };
    let n = lw.tp_collectives_fwd as f64;
    let forward = OpCost {
        time: per * n,
        flops: Flops::ZERO,
        bytes: sent(CollectiveOp::AllReduce, msg, g.ranks) * n,
    };
    let overlap = sc.cluster.tp_comm_overlap;
    let fwd = tp_exposed(forward.time, gemm_fwd, tp, overlap);
    let mut bwd = tp_exposed(forward.time, gemm_bwd, tp, overlap);
    if plan.recompute == Recompute::Full {
        bwd += fwd;
    }
    LayerComm {
        whole: FwdBwd {
            forward,
            backward: forward.times(recompute_factor(sc)),
        },
        exposed: FwdBwd {
            forward: fwd,
            backward: bwd,
        },
    }
}

/// CP: K/V blocks travel the ring while attention computes; the backward also returns
/// dK/dV (twice the traffic).
fn cp_comm(
    sc: &Scenario,
    net: &dyn CommModel,
    g: GroupShape,
    lw: &LayerWork,
    attn: FwdBwd<Seconds>,
) -> LayerComm {
    if sc.plan.cp <= 1 {
        return LayerComm::default();
    }
    // Passing each rank's block around the ring cp - 1 times is an all-gather.
    let cp = sc.plan.cp as f64;
    let size = lw.cp_ring_bytes * (cp / (cp - 1.0));
    let t = net.collective(CollectiveOp::AllGather, size, GroupKind::Cp, g);
    // The backward moves twice the forward's bytes either way (the keys and values
    // again, and their gradients back): a ring hides them behind attention, a gather
    // and a reduce-scatter wait for them.
    let (f, mut b) = match sc.run.recipe.cp_comm {
        CpComm::P2p => (
            (t - attn.forward).max(Seconds::ZERO),
            (t * 2.0 - attn.backward).max(Seconds::ZERO),
        ),
        CpComm::AllGather => (t, t * 2.0),
    };
    if sc.plan.recompute == Recompute::Full {
        b += f;
    }
    let forward = OpCost {
        time: t,
        flops: Flops::ZERO,
        bytes: sent(CollectiveOp::AllGather, size, g.ranks),
    };
    let k = recompute_factor(sc) - 1.0;
    LayerComm {
        whole: FwdBwd {
            forward,
            backward: forward.times(2.0 + k),
        },
        exposed: FwdBwd {
            forward: f,
            backward: b,
        },
    }
}

/// How an EP all-to-all reaches other servers: NCCL sends each token once per expert,
/// each peer's send and receive posted by its proxy; DeepEP sends once per server, which
/// is the servers a token reaches over the experts it takes
/// ([`crate::workload::model::Moe`]), from the GPU. The group fills its servers in order,
/// each rank holding experts / ep of the experts.
fn ep_route(sc: &Scenario, g: GroupShape) -> AllToAllRoute {
    match (sc.run.recipe.moe_dispatcher, &sc.model.moe) {
        (Dispatcher::Deepep, Some(moe)) => {
            let network_share = if g.nodes > 1 {
                let per_rank = moe.experts / sc.plan.ep.max(1);
                let full = g.most_per_node.max(1);
                let last = g.ranks.saturating_sub(full * (g.nodes - 1)).max(1);
                let mut experts_on = vec![full * per_rank; g.nodes as usize - 1];
                experts_on.push(last * per_rank);
                moe.expected_servers(&experts_on) / moe.topk.max(1) as f64
            } else {
                1.0
            };
            AllToAllRoute {
                network_share,
                proxy_posts: false,
            }
        }
        _ => AllToAllRoute::NCCL,
    }
}

/// EP: the dispatch and combine (all-to-all, or all-gather and reduce-scatter) in the
/// forward, with the expert-TP all-gather after the dispatch and reduce-scatter before
/// the combine; their transposes in the backward. The experts wait for their tokens, so
/// none of it hides unless the recipe overlaps it with another micro-batch's compute
/// (Megatron-Core's `--overlap-moe-expert-parallel-comm`, DeepSeek-V3's DualPipe): then
/// only what outlasts the layer's compute in the same direction shows.
fn ep_comm(
    sc: &Scenario,
    net: &dyn CommModel,
    layout: &RankLayout,
    lw: &LayerWork,
    compute: &FwdBwd<OpCost>,
) -> LayerComm {
    let (ep, g) = (sc.plan.ep, layout.shape(GroupKind::Ep));
    let mut forward = OpCost::default();
    if ep > 1 && lw.ep_a2a_bytes.0 > 0.0 {
        let send_buffer = lw.ep_a2a_bytes * (ep as f64 / (ep as f64 - 1.0));
        let one = net.all_to_all(send_buffer, ep_route(sc, g), GroupKind::Ep, g);
        forward = OpCost {
            time: one * 2.0,
            flops: Flops::ZERO,
            bytes: sent(CollectiveOp::AllToAll, send_buffer, g.ranks) * 2.0,
        };
    }
    if ep > 1 && lw.ep_gather_message.0 > 0.0 {
        let msg = lw.ep_gather_message;
        forward = forward.then(OpCost {
            time: net.collective(CollectiveOp::AllGather, msg, GroupKind::Ep, g)
                + net.collective(CollectiveOp::ReduceScatter, msg, GroupKind::Ep, g),
            flops: Flops::ZERO,
            bytes: sent(CollectiveOp::AllGather, msg, g.ranks) * 2.0,
        });
    }
    if sc.plan.etp > 1 && sc.model.moe.is_some() {
        let (msg, t) = (lw.etp_message, layout.shape(GroupKind::ExpertTp));
        forward = forward.then(OpCost {
            time: net.collective(CollectiveOp::AllGather, msg, GroupKind::ExpertTp, t)
                + net.collective(CollectiveOp::ReduceScatter, msg, GroupKind::ExpertTp, t),
            flops: Flops::ZERO,
            bytes: sent(CollectiveOp::AllGather, msg, t.ranks) * 2.0,
        });
    }
    if forward.time.0 == 0.0 {
        return LayerComm::default();
    }
    let backward = forward.times(recompute_factor(sc));
    let shown = |comm: Seconds, behind: Seconds| {
        if sc.run.recipe.ep_overlap {
            (comm - behind).max(Seconds::ZERO)
        } else {
            comm
        }
    };
    LayerComm {
        whole: FwdBwd { forward, backward },
        exposed: FwdBwd {
            forward: shown(forward.time, compute.forward.time),
            backward: shown(backward.time, compute.backward.time),
        },
    }
}

/// LM head (logits GEMM and the loss over the vocabulary) and embedding lookup.
fn head_costs(sc: &Scenario, cm: &ComputeModel) -> (FwdBwd<OpCost>, FwdBwd<OpCost>) {
    let hw = head_work(&sc.model, &sc.plan, &sc.run);
    // The output layer is Megatron-Core's own `tensor_parallel.ColumnParallelLinear`
    // (megatron/core/models/gpt/gpt_model.py), not a Transformer Engine module, and only
    // TE's Linear GEMMs run in FP8 (facts.md §8): the logits stay BF16 in FP8 runs.
    let half = cm.bf16();
    let logits = OpCost {
        time: half.gemm_time(&hw.logits),
        flops: hw.logits.flops(),
        bytes: half.gemm_bytes(&hw.logits),
    };
    let logits_bwd = OpCost {
        time: half.gemm_backward_time(&hw.logits),
        ..logits.times(2.0)
    };
    let loss = OpCost {
        time: cm.memory_time(hw.loss_bytes),
        flops: Flops::ZERO,
        bytes: hw.loss_bytes,
    };
    let loss_bwd = OpCost {
        time: cm.memory_time(hw.loss_bwd_bytes),
        flops: Flops::ZERO,
        bytes: hw.loss_bwd_bytes,
    };
    let emb = OpCost {
        time: cm.memory_time(hw.embedding_bytes),
        flops: Flops::ZERO,
        bytes: hw.embedding_bytes,
    };
    // Each MTP layer adds its own pass through the shared head and loss, and its 2h -> h
    // projection (column parallel) of the normed hidden state and next-token embedding.
    let mtp = f64::from(sc.model.mtp_layers);
    let h = sc.model.hidden as f64;
    let proj = Gemm {
        name: "mtp_proj",
        m: tokens_per_gpu(&sc.plan, &sc.run),
        n: h / sc.plan.tp as f64,
        k: 2.0 * h,
        count: mtp,
        grouped: false,
    };
    let proj_bwd = OpCost {
        time: cm.gemm_backward_time(&proj),
        flops: proj.flops() * 2.0,
        bytes: cm.gemm_bytes(&proj) * 2.0,
    };
    let proj = OpCost {
        time: cm.gemm_time(&proj),
        flops: proj.flops(),
        bytes: cm.gemm_bytes(&proj),
    };
    let once = logits.then(loss);
    let head = FwdBwd {
        forward: once.times(1.0 + mtp).then(proj),
        backward: logits_bwd.then(loss_bwd).times(1.0 + mtp).then(proj_bwd),
    };
    let emb_grad = OpCost {
        time: cm.memory_time(hw.embedding_grad_bytes),
        flops: Flops::ZERO,
        bytes: hw.embedding_grad_bytes,
    };
    let embedding = FwdBwd {
        forward: emb,
        backward: emb.times(2.0).then(emb_grad),
    };
    (head, embedding)
}

/// Pipeline send of one micro-batch's activations, sharded by tp (Megatron's
/// scatter-gather optimization, or sequence parallelism).
fn p2p_cost(sc: &Scenario, net: &dyn CommModel, layout: &RankLayout) -> OpCost {
    if sc.plan.pp <= 1 {
        return OpCost::default();
    }
    let bytes = Bytes(
        tokens_per_gpu(&sc.plan, &sc.run) * sc.model.hidden as f64 * HALF / sc.plan.tp as f64,
    );
    OpCost {
        time: net.p2p(bytes, layout.shape(GroupKind::Pp).nodes <= 1),
        flops: Flops::ZERO,
        bytes,
    }
}

/// Per GPU, the parameters whose gradients a pipeline stage reduces over its data-parallel
/// groups: its layers' dense weights (sharded by tp), its experts' (by etp x ep), and its
/// embeddings' (the first and the last stage; by tp).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StageGradParams {
    pub layers_dense: f64,
    pub experts: f64,
    pub embedding: f64,
}

impl StageGradParams {
    pub fn of(sc: &Scenario, split: &LayerSplit, s: usize) -> Self {
        let (plan, pp) = (&sc.plan, split.chunks.len());
        let tp = plan.tp as f64;
        let (d, e) = split.stage_params(s);
        StageGradParams {
            layers_dense: d / tp,
            experts: e / (plan.etp as f64 * plan.ep as f64),
            embedding: sc.model.stage_embedding_params(s == 0, s + 1 == pp) / tp,
        }
    }

    /// The dense gradient buffer: the layers' dense weights and the embeddings.
    pub fn dense(&self) -> f64 {
        self.layers_dense + self.embedding
    }
}

/// With `dp_overlap` and no interleaving, where the gradient bucket
/// ([`Recipe::bucket_params`]: Megatron's default unless set) holds every stage's whole
/// dense and expert gradient buffers (a data parallelism so large that the bucket
/// outgrows them), so that nothing overlaps:
/// the reduction waits for the backward's end and the first forward for the whole
/// parameter gather. (Interleaved, each chunk has buffers of its own, and a chunk's
/// reduction and gather still run behind the other chunks' work.) The bucket and the
/// largest buffer it holds, per GPU, in parameters; `None` where some bucket is smaller
/// than its buffer, or with nothing to overlap.
pub fn overlap_in_one_bucket(sc: &Scenario) -> Option<(f64, f64)> {
    let plan = &sc.plan;
    let layout = RankLayout::new(plan, sc.cluster.gpus_per_node);
    let reduced = layout.size(GroupKind::Dp) > 1 || layout.size(GroupKind::ExpertDp) > 1;
    if !sc.run.recipe.dp_overlap || !reduced || plan.vpp > 1 {
        return None;
    }
    let split = plan.layer_split(&sc.model, &sc.run);
    let largest = (0..split.chunks.len())
        .map(|s| {
            let g = StageGradParams::of(sc, &split, s);
            g.dense().max(g.experts)
        })
        .fold(0.0, f64::max);
    let bucket = sc.run.recipe.bucket_params(plan.dp);
    (largest > 0.0 && largest <= bucket).then_some((bucket, largest))
}

/// Per stage: gradient reduction, parameter gathering and the optimizer.
fn dp_costs(
    sc: &Scenario,
    net: &dyn CommModel,
    layout: &RankLayout,
    cm: &ComputeModel,
    split: &LayerSplit,
) -> Vec<StageDpCosts> {
    let (model, plan) = (&sc.model, &sc.plan);
    let pp = split.chunks.len();
    let tp = plan.tp as f64;
    // Stages alike (the middle ones, mostly) cost alike: each distinct stage is priced
    // once, keyed by the bits of what its price depends on.
    let mut priced: Vec<([u64; 3], StageDpCosts)> = Vec::new();
    (0..pp)
        .map(|s| {
            let g = StageGradParams::of(sc, split, s);
            let (dense, experts) = (g.dense(), g.experts);
            let layer_weights = g.layers_dense + experts;
            // Megatron buckets the gradients in reverse order of the parameters and never
            // splits one, so the first stage's last bucket holds at least the input
            // embedding, whose gradient the backward produces last.
            let last_bucket = if s == 0 {
                sc.run
                    .recipe
                    .bucket_params(plan.dp)
                    .max(model.embedding_params() / tp)
            } else {
                sc.run.recipe.bucket_params(plan.dp)
            };
            let key = [dense.to_bits(), experts.to_bits(), last_bucket.to_bits()];
            let mut dp = match priced.iter().find(|(k, _)| *k == key) {
                Some((_, dp)) => *dp,
                None => {
                    let dp = stage_dp(sc, net, layout, cm, dense, experts, last_bucket);
                    priced.push((key, dp));
                    dp
                }
            };
            if sc.run.precision.fp8_gemms() {
                // Transformer Engine casts each Linear weight to FP8 once per step, at the
                // first micro-batch (Megatron passes `is_first_microbatch`), as the recipe
                // casts (with the transposed copy Hopper's backward needs). Embedding and
                // output layer are not TE modules.
                let b = Bytes(layer_weights * cast_bytes(sc));
                dp.optimizer = dp.optimizer.then(OpCost {
                    time: cm.memory_time(b),
                    flops: Flops::ZERO,
                    bytes: b,
                });
            }
            dp
        })
        .collect()
}

/// DP costs of a stage holding `dense` and `experts` parameters per GPU.
fn stage_dp(
    sc: &Scenario,
    net: &dyn CommModel,
    layout: &RankLayout,
    cm: &ComputeModel,
    dense: f64,
    experts: f64,
    last_bucket_params: f64,
) -> StageDpCosts {
    let plan = &sc.plan;
    let grad_bytes = sc.run.grad_reduce_bytes();
    let (dense_g, expert_g) = (
        layout.shape(GroupKind::Dp),
        layout.shape(GroupKind::ExpertDp),
    );
    // The dense and the expert gradient buffers, each on its data-parallel group, one
    // pair per virtual pipeline chunk (each chunk is a DDP module of its own). With
    // overlap Megatron reduces (and gathers) a buffer bucket by bucket, one collective
    // each, one after the other on the group's communicator, so each bucket pays the
    // collective's whole latency, which grows with the ranks: that is why its default
    // bucket grows with dp. Without overlap a buffer is one bucket (Megatron sets no
    // bucket size then), reduced whole.
    let bucket_size = sc.run.recipe.bucket_params(plan.dp);
    let chunks = plan.vpp.max(1) as f64;
    let calls = |op: CollectiveOp, params: f64, per_param: f64, kind, g: GroupShape| {
        let buffer = params / chunks;
        if !sc.run.recipe.dp_overlap || buffer <= bucket_size {
            return net.collective(op, Bytes(buffer * per_param), kind, g) * chunks;
        }
        let full = (buffer / bucket_size).floor();
        let rest = buffer - full * bucket_size;
        let mut t = net.collective(op, Bytes(bucket_size * per_param), kind, g) * full;
        if rest > 0.0 {
            t += net.collective(op, Bytes(rest * per_param), kind, g);
        }
        t * chunks
    };
    let both = |op: CollectiveOp, per_param: f64| {
        let (d, e) = (Bytes(dense * per_param), Bytes(experts * per_param));
        OpCost {
            time: calls(op, dense, per_param, GroupKind::Dp, dense_g)
                + calls(op, experts, per_param, GroupKind::ExpertDp, expert_g),
            flops: Flops::ZERO,
            bytes: sent(op, d, dense_g.ranks) + sent(op, e, expert_g.ranks),
        }
    };
    let (grad_reduce, param_gather) = if plan.distributed_optimizer {
        (
            both(CollectiveOp::ReduceScatter, grad_bytes),
            both(CollectiveOp::AllGather, HALF),
        )
    } else {
        (both(CollectiveOp::AllReduce, grad_bytes), OpCost::default())
    };
    // One bucket of each group (Megatron buckets dense and expert gradients apart): the
    // last to reduce and the first to gather, each a collective of its own size. Each
    // buffer's last bucket is final only as the backward ends (the dense one holds the
    // first layers and the embedding, the experts' the first MoE layer), so both reduce
    // after it, one after the other on the NICs: their times add (as the whole
    // reductions' do), and a bucket that holds its whole buffer hides nothing.
    let bucket = last_bucket_params;
    let one_bucket = |op: CollectiveOp, per_param: f64| {
        // A chunk's buffer, or a bucket of it; the first stage's last bucket holds at
        // least the embedding, which its first chunk holds whole.
        let part = |n: f64, b: f64, kind: GroupKind, g: GroupShape| {
            if n > 0.0 {
                let held = if b > bucket_size { b.min(n) } else { 0.0 };
                let size = (n / chunks).min(b).max(held);
                net.collective(op, Bytes(size * per_param), kind, g)
            } else {
                Seconds::ZERO
            }
        };
        part(dense, bucket, GroupKind::Dp, dense_g)
            + part(experts, bucket_size, GroupKind::ExpertDp, expert_g)
    };
    let (last_bucket, first_gather) = if plan.distributed_optimizer {
        (
            one_bucket(CollectiveOp::ReduceScatter, grad_bytes),
            one_bucket(CollectiveOp::AllGather, HALF),
        )
    } else {
        (
            one_bucket(CollectiveOp::AllReduce, grad_bytes),
            Seconds::ZERO,
        )
    };
    let params = dense + experts;
    // Adam: read the FP32 grad (4 B), master weight and moments, write them back, and
    // the BF16 weight (2 B): 30 B per parameter it owns with FP32 moments; plus the
    // gradient-norm pass over the buffer.
    let owned = if plan.distributed_optimizer {
        dense / dense_g.ranks as f64 + experts / expert_g.ranks as f64
    } else {
        params
    };
    let state = 4.0 + sc.run.moment_bytes();
    let bytes = Bytes(owned * (4.0 + 2.0 * state + HALF) + params * grad_bytes);
    StageDpCosts {
        grad_reduce,
        param_gather,
        optimizer: OpCost {
            time: cm.memory_time(bytes),
            flops: Flops(owned * ADAM_FLOPS_PER_PARAM + params * GRAD_NORM_FLOPS_PER_PARAM),
            bytes,
        },
        last_bucket_fraction: (bucket.min(dense).max(bucket_size.min(experts)) / params.max(1.0))
            .min(1.0),
        last_bucket,
        first_gather,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::memory::activation_bytes_per_layer;
    use crate::workload::plan::AttentionKernel;

    #[test]
    fn tp_overlap_hides_all_but_one_chunk_when_gemms_are_long() {
        let c = Seconds(8.0);
        assert_eq!(tp_exposed(c, Seconds(100.0), 8, true), Seconds(1.0));
        assert_eq!(tp_exposed(c, Seconds(3.0), 8, true), Seconds(1.0 + 4.0));
        assert_eq!(tp_exposed(c, Seconds(100.0), 8, false), c);
    }

    fn deepseek() -> Scenario {
        crate::scenario::preset_scenario("deepseek-v3-h800")
    }

    /// With overlap each bucket is a collective of its own, one after the other, and
    /// pays the collective's whole latency: a million-parameter bucket takes the 70B
    /// preset's reduction (DP 32) well past its default buckets', and without overlap
    /// the buffer goes whole, one latency. Tiny buckets had cost nothing (helper-128).
    #[test]
    fn each_bucket_pays_its_collectives_latency() {
        let mut sc = crate::scenario::preset_scenario("dgx-h100-llama3-70b");
        let reduce = |sc: &Scenario| step_costs(sc, &sc.cluster.network()).dp[0].grad_reduce.time;
        let default = reduce(&sc);
        sc.run.recipe.ddp_bucket_size = Some(1_000_000);
        let small = reduce(&sc);
        assert!(small.0 > 1.5 * default.0, "{small:?} vs {default:?}");
        sc.run.recipe.dp_overlap = false;
        let whole = reduce(&sc);
        assert!(whole < default, "{whole:?} vs {default:?}");
    }

    #[test]
    fn an_all_gathered_context_exchange_waits_where_a_ring_hides() {
        // The default: Llama 3.1 405B at CP2, 8K tokens. Both move the same bytes; the
        // ring hides them behind attention, the gather and reduce-scatter do not.
        let mut sc = crate::scenario::preset_scenario("memphis-405b");
        assert!(sc.plan.cp > 1);
        let cp = |sc: &Scenario| step_costs(sc, &sc.cluster.network()).kinds[0].1.cp;
        let ring = cp(&sc);
        sc.run.recipe.cp_comm = CpComm::AllGather;
        let gather = cp(&sc);
        assert_eq!(ring.whole, gather.whole);
        assert_eq!(gather.exposed.forward, gather.whole.forward.time);
        assert_eq!(gather.exposed.backward, gather.whole.backward.time);
        assert!(ring.exposed.forward < gather.exposed.forward);
        assert!(ring.exposed.backward < gather.exposed.backward);
    }

    #[test]
    fn a_slower_attention_kernel_never_shortens_a_layer() {
        // A context-parallel ring hides its exchange behind the attention of each pass;
        // a slower kernel can hide at most its own extra time, so compute plus exposed
        // ring time never falls. Llama 3 8B at TP8: at 8K tokens and CP4 the ring's
        // backward is the longer of the two.
        for (cp, seq) in [(2, 8192), (4, 8192), (4, 32768)] {
            let toml = format!(
                "[cluster]\npreset = \"dgx-h100\"\n[model]\npreset = \"llama3-8b\"\n\
                 [parallel]\ntp = 8\npp = 1\ncp = {cp}\nmicro_batch = 1\n\
                 [training]\ngpus = {}\nglobal_batch = 8\nseq_len = {seq}\n",
                8 * cp
            );
            let mut sc = crate::scenario::build(&crate::scenario::ScenarioLayers {
                file: Some(crate::scenario::parse_scenario("test", &toml).unwrap()),
                ..Default::default()
            })
            .unwrap();
            let total = |sc: &Scenario| {
                let c = step_costs(sc, &sc.cluster.network()).kinds[0].1;
                (c.compute.forward.time + c.cp.exposed.forward).0
                    + (c.compute.backward.time + c.cp.exposed.backward).0
            };
            sc.run.recipe.attention = AttentionKernel::Fused;
            let fused = total(&sc);
            sc.run.recipe.attention = AttentionKernel::Flash2;
            let flash2 = total(&sc);
            assert!(
                flash2 >= fused * (1.0 - 1e-12),
                "cp {cp}, {seq}: {flash2} < {fused}"
            );
        }
    }

    #[test]
    fn chunks_hold_exactly_their_layers() {
        let sc = deepseek();
        let c = step_costs(&sc, &sc.cluster.network());
        let of = |i: u32| {
            c.kinds
                .iter()
                .find(|(k, _)| *k == sc.model.layer_kind(i))
                .unwrap()
                .1
        };
        let mut all = LayerCosts::default();
        for i in 0..sc.model.layers + sc.model.mtp_layers {
            all = all.plus(of(i));
        }
        let stages = (0..c.chunks.len()).fold(LayerCosts::default(), |a, s| a.plus(c.stage(s)));
        for (got, want) in [
            (stages.compute.forward.flops.0, all.compute.forward.flops.0),
            (
                stages.ep.whole.backward.bytes.0,
                all.ep.whole.backward.bytes.0,
            ),
        ] {
            assert!((got / want - 1.0).abs() < 1e-12, "{got} vs {want}");
        }
        // Dense layers have no expert traffic; the first stage holds them.
        let dense = of(0);
        assert_eq!(dense.ep.whole.forward.bytes.0, 0.0);
        assert!(c.stage(0).ep.whole.forward.bytes.0 < c.stage(1).ep.whole.forward.bytes.0);
    }

    #[test]
    fn ep_overlap_shows_only_what_outlasts_compute() {
        let mut sc = deepseek();
        let moe = |sc: &Scenario| {
            let c = step_costs(sc, &sc.cluster.network());
            c.kinds.iter().find(|(k, _)| k.moe && !k.mtp).unwrap().1
        };
        let hidden = moe(&sc);
        sc.run.recipe.ep_overlap = false;
        let shown = moe(&sc);
        assert_eq!(shown.ep.exposed.forward, shown.ep.whole.forward.time);
        assert_eq!(hidden.ep.whole, shown.ep.whole);
        let f = hidden.ep.whole.forward.time - hidden.compute.forward.time;
        assert_eq!(hidden.ep.exposed.forward, f.max(Seconds::ZERO));
    }

    #[test]
    fn recomputed_modules_cost_backward_work() {
        let mut sc = deepseek();
        let moe = |sc: &Scenario| {
            let c = step_costs(sc, &sc.cluster.network());
            c.kinds.iter().find(|(k, _)| k.moe && !k.mtp).unwrap().1
        };
        // And it stores less.
        let held = |sc: &Scenario| {
            let kind = *sc.model.kinds().iter().find(|k| k.moe && !k.mtp).unwrap();
            activation_bytes_per_layer(&sc.model, &sc.plan, &sc.run, kind).0
        };
        let (with, held_with) = (moe(&sc), held(&sc));
        sc.run.recipe.recompute_modules = vec![crate::workload::plan::RecomputeModule::CoreAttn];
        let (without, held_without) = (moe(&sc), held(&sc));
        assert_eq!(with.compute.forward, without.compute.forward);
        // The MLA up-projections again: (1536 x 128·192 + 512 x 128·256) x 2 FLOPs per token.
        let up = 2.0 * 4096.0 * (1536.0 * 128.0 * 192.0 + 512.0 * 128.0 * 256.0);
        let extra = (with.compute.backward.flops - without.compute.backward.flops).0;
        assert!((extra / up - 1.0).abs() < 1e-12, "{extra} vs {up}");
        assert!(held_with < held_without);
    }

    #[test]
    fn unfused_attention_prices_its_score_passes() {
        use crate::workload::plan::AttentionKernel;
        // Narayanan et al. 2021's 1.7B GPT (24 heads of 96, s = 2048, micro-batch 16).
        let mut sc = deepseek();
        sc.model = crate::workload::ModelSpec::dense(
            "gpt",
            24,
            2304,
            24,
            24,
            9216,
            51200,
            crate::workload::MlpKind::Standard,
        );
        sc.plan = crate::workload::ParallelPlan {
            micro_batch: 16,
            ..crate::workload::ParallelPlan::single()
        };
        sc.run.seq_len = 2048;
        sc.run.global_batch = 16;
        sc.run.precision = crate::workload::Precision::Bf16;
        let layer = |sc: &Scenario| step_costs(sc, &sc.cluster.network()).kinds[0].1;
        let held = |sc: &Scenario| {
            let kind = sc.model.kinds()[0];
            activation_bytes_per_layer(&sc.model, &sc.plan, &sc.run, kind).0
        };
        let fused = layer(&sc);
        sc.run.recipe.attention = AttentionKernel::Unfused;
        sc.plan.recompute = Recompute::None;
        let (unfused, unfused_held) = (layer(&sc), held(&sc));
        // The unfused forward moves at least the 9 bytes per score of its softmax and
        // dropout, and the 2 x 2 bytes its GEMMs write and read, over 16 x 24 x 2048².
        let scores = 16.0 * 24.0 * 2048.0 * 2048.0;
        let extra = (unfused.compute.forward.bytes - fused.compute.forward.bytes).0;
        assert!(extra > 13.0 * scores, "{extra}");
        assert!(unfused.compute.forward.time > fused.compute.forward.time);
        // It executes the whole score matrix: twice the causal half the fused kernel runs.
        let ratio = unfused.compute.forward.flops.0 - fused.compute.forward.flops.0;
        assert!(ratio > 0.0, "{ratio}");
        // Selective recompute of the core runs its forward again in the backward, and
        // stores no scores.
        sc.plan.recompute = Recompute::Selective;
        let selective = layer(&sc);
        assert!(selective.compute.backward.time > unfused.compute.backward.time);
        assert!(held(&sc) + 5.0 * scores <= unfused_held + 1.0);
    }

    #[test]
    fn the_output_layer_stays_bf16_in_fp8_runs() {
        let mut sc = deepseek();
        sc.cluster.gpu = crate::hardware::gpu("H100-SXM5-80GB").unwrap();
        sc.model.mtp_layers = 0; // the MTP projection is a TE Linear: FP8
        sc.run.precision = crate::workload::Precision::Bf16;
        let bf16 = step_costs(&sc, &sc.cluster.network());
        sc.run.precision = crate::workload::Precision::Fp8;
        let fp8 = step_costs(&sc, &sc.cluster.network());
        // Same logits GEMM time; the layers do get faster.
        let logits = |c: &StepCosts| c.head.forward.flops;
        assert_eq!(logits(&bf16), logits(&fp8));
        assert_eq!(bf16.head.forward.time, fp8.head.forward.time);
        assert!(fp8.kinds[1].1.compute.forward.time < bf16.kinds[1].1.compute.forward.time);
        // Once a step, every layer weight is cast to FP8 with its transpose: 4 B each.
        let extra = (fp8.dp[1].optimizer.bytes - bf16.dp[1].optimizer.bytes).0;
        assert!(extra > 0.0, "{extra}");
    }

    #[test]
    fn the_last_bucket_is_a_collective_of_its_own() {
        let sc = deepseek();
        let c = step_costs(&sc, &sc.cluster.network());
        for (s, d) in c.dp.iter().enumerate() {
            // A bucket's collective pays the whole latency but only its share of the
            // bytes: more than that share of the whole reduction, never more than it
            // (checked where one bucket size holds for the dense and expert groups).
            assert!(d.last_bucket.0 > 0.0 && d.last_bucket <= d.grad_reduce.time);
            if s > 0 {
                let share = d.grad_reduce.time.0 * d.last_bucket_fraction;
                assert!(d.last_bucket.0 >= share * 0.99);
            }
            assert!(d.first_gather.0 > 0.0 && d.first_gather <= d.param_gather.time);
        }
        // The first stage's last bucket is at least its input embedding (never split),
        // larger than a standard bucket.
        let emb = sc.model.embedding_params() / sc.plan.tp as f64;
        assert!(emb > sc.run.recipe.bucket_params(sc.plan.dp));
        assert!(c.dp[0].last_bucket > c.dp[1].last_bucket);
        assert!(c.dp[0].last_bucket_fraction > c.dp[1].last_bucket_fraction);
    }

    #[test]
    fn megatron_bucket_size() {
        assert_eq!(
            crate::workload::plan::Recipe::default().bucket_params(8),
            40e6
        );
        assert_eq!(
            crate::workload::plan::Recipe::default().bucket_params(128),
            128e6
        );
    }
}
