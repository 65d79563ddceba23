//! Closed-form step model.
//!
//! Per pipeline stage, one micro-batch costs T_s = forward + backward, each made of the
//! compute of its layers (and the embedding or LM head on the first and last stage) plus
//! the TP, CP and EP communication left exposed. The pipeline then takes
//!
//!   t_pipe = m · max_s T_s + (Σ_s T_s − max_s T_s) / v
//!
//! which is (m + p − 1)·T for p equal stages and 1F1B, and m·T + (p − 1)·T/v when
//! interleaved: the bubble fraction is (p − 1)/(v·m). Uneven stages are bounded by the
//! slowest. After the pipeline drains, whatever data-parallel traffic did not hide behind
//! the backward (and, with the distributed optimizer, the parameter all-gather behind the
//! next forward) is exposed, and the optimizer step runs.

use crate::collective::{CommModel, GroupKind};
use crate::compute::ComputeModel;
use crate::net::analytical::CollectiveOp;
use crate::scenario::Scenario;
use crate::units::{Bytes, Flops, Seconds};
use crate::workload::layout::RankLayout;
use crate::workload::memory::{peak_memory, MemoryBreakdown};
use crate::workload::ops::{head_work, layer_work, model_flops_per_step, tokens_per_gpu, HALF};
use crate::workload::plan::{Precision, Recompute};
use serde::Serialize;

/// Exposed seconds of one step by kind; they add up to the step time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Breakdown {
    /// Computation on the critical stage.
    pub compute: Seconds,
    /// Pipeline fill and drain, and waiting on slower stages.
    pub bubble: Seconds,
    /// Tensor-parallel collectives not hidden behind GEMMs.
    pub tp_comm: Seconds,
    /// Context-parallel ring exchange not hidden behind attention.
    pub cp_comm: Seconds,
    /// Expert-parallel all-to-all.
    pub ep_comm: Seconds,
    /// Pipeline sends and receives on the critical path.
    pub pp_comm: Seconds,
    /// Data-parallel gradient reduction and parameter gathering left exposed.
    pub dp_comm: Seconds,
    /// The optimizer step.
    pub optimizer: Seconds,
}

impl Breakdown {
    /// Sum of all parts.
    pub fn total(&self) -> Seconds {
        self.compute
            + self.bubble
            + self.tp_comm
            + self.cp_comm
            + self.ep_comm
            + self.pp_comm
            + self.dp_comm
            + self.optimizer
    }

    /// (key, seconds) pairs in a fixed order, for reports.
    pub fn entries(&self) -> [(&'static str, Seconds); 8] {
        [
            ("compute", self.compute),
            ("bubble", self.bubble),
            ("tp_comm", self.tp_comm),
            ("cp_comm", self.cp_comm),
            ("ep_comm", self.ep_comm),
            ("pp_comm", self.pp_comm),
            ("dp_comm", self.dp_comm),
            ("optimizer", self.optimizer),
        ]
    }
}

/// One stage's cost for one micro-batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTiming {
    /// Stage index.
    pub stage: u32,
    /// Transformer layers on this stage.
    pub layers: u32,
    /// Forward time including exposed communication.
    pub forward: Seconds,
    /// Backward time (with recomputation) including exposed communication.
    pub backward: Seconds,
    /// Compute part of forward + backward.
    pub compute: Seconds,
    /// Exposed TP communication of forward + backward.
    pub tp_comm: Seconds,
    /// Exposed CP communication of forward + backward.
    pub cp_comm: Seconds,
    /// EP all-to-all of forward + backward.
    pub ep_comm: Seconds,
    /// Data-parallel time left exposed at the end of the step.
    pub dp_exposed: Seconds,
    /// Optimizer step time.
    pub optimizer: Seconds,
}

impl StageTiming {
    /// Forward + backward of one micro-batch.
    pub fn per_microbatch(&self) -> Seconds {
        self.forward + self.backward
    }
}

/// The predicted step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// Seconds per optimizer step.
    pub time: Seconds,
    /// Where the time goes.
    pub breakdown: Breakdown,
    /// Per-stage costs.
    pub stages: Vec<StageTiming>,
    /// The stage whose micro-batch time bounds the pipeline.
    pub critical_stage: u32,
    /// Micro-batches per step per pipeline.
    pub micro_batches: u64,
    /// Model FLOPs of one step, whole job.
    pub model_flops: Flops,
    /// Model FLOP utilization against the dense BF16 peak (0 to 1).
    pub mfu: f64,
    /// Achieved model TFLOP/s per GPU.
    pub tflops_per_gpu: f64,
    /// Tokens per second, whole job.
    pub tokens_per_s: f64,
    /// Memory of the fullest GPU.
    pub memory: MemoryBreakdown,
    /// Whether that fits in HBM.
    pub fits: bool,
    /// The per-op costs the totals were built from (the timeline replays them).
    pub costs: StepCosts,
}

/// Costs of the pieces of a step, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCosts {
    /// One layer's forward for one micro-batch: compute plus exposed TP, CP, EP.
    pub layer_fwd: Seconds,
    /// One layer's backward (with recomputation), likewise.
    pub layer_bwd: Seconds,
    /// TP communication per layer forward / backward (total, overlapped or not).
    pub layer_tp: (Seconds, Seconds),
    /// CP ring exchange per layer forward / backward (total).
    pub layer_cp: (Seconds, Seconds),
    /// EP all-to-all per layer forward / backward.
    pub layer_ep: (Seconds, Seconds),
    /// FLOPs executed by one layer's forward on one GPU.
    pub layer_fwd_flops: f64,
    /// Bytes one layer's forward moves through HBM (element-wise) and over TP.
    pub layer_fwd_bytes: f64,
    /// LM head forward / backward (last stage).
    pub head: (Seconds, Seconds),
    /// Embedding forward / backward (first stage).
    pub embedding: (Seconds, Seconds),
    /// One pipeline send of a micro-batch's activations.
    pub p2p: Seconds,
    /// Per stage: DP gradient reduction, parameter all-gather, optimizer, and the
    /// fraction of the stage's parameters in Megatron's last (unoverlappable) bucket.
    pub dp: Vec<(Seconds, Seconds, Seconds, f64)>,
    /// Activation bytes one layer keeps per micro-batch.
    pub layer_activation_bytes: f64,
}

/// Bucket of Megatron's gradient buffer: max(40M, 1M x dp) elements
/// (megatron/core/distributed/distributed_data_parallel.py, `bucket_size`).
fn bucket_params(dp: u32) -> f64 {
    (40e6f64).max(1e6 * dp as f64)
}

/// Exposed part of a TP collective of duration `comm` overlapped with GEMMs of duration
/// `gemm`: the pipelined overlap splits it into tp chunks, the first (or last) of which
/// cannot hide; the rest hides up to the GEMM time.
fn tp_exposed(comm: Seconds, gemm: Seconds, tp: u32, overlap: bool) -> Seconds {
    if !overlap || tp <= 1 {
        return comm;
    }
    let chunk = comm / tp as f64;
    chunk + (comm - chunk - gemm).max(Seconds::ZERO)
}

/// Time of the forward and backward passes of `m` micro-batches through stages whose
/// micro-batch times are `per_stage`, with `v` chunks per stage:
/// m · max T + (Σ T − max T) / v. For equal stages the bubble fraction, (t − m·T)/(m·T),
/// is (p − 1)/(v · m).
pub fn pipeline_time(per_stage: &[Seconds], m: u64, v: u32) -> Seconds {
    let t_max = per_stage.iter().copied().fold(Seconds::ZERO, Seconds::max);
    let t_sum: Seconds = per_stage.iter().copied().sum();
    t_max * m as f64 + (t_sum - t_max) / v.max(1) as f64
}

/// Simulates one step of a validated scenario with the analytical network model.
pub fn simulate_step(sc: &Scenario) -> StepResult {
    simulate_step_with(sc, &sc.cluster.network())
}

/// Simulates one step with communication costed by `net` (analytical or flow level).
pub fn simulate_step_with(sc: &Scenario, net: &dyn CommModel) -> StepResult {
    let (model, plan, run, cluster) = (&sc.model, &sc.plan, &sc.run, &sc.cluster);
    let gpu = cluster.gpu;
    let cm = ComputeModel::new(gpu, run.precision.fp8_gemms());
    let layout = RankLayout::new(plan, cluster.gpus_per_node);
    let tp = plan.tp;
    let m = plan.micro_batches(run);
    let v = plan.vpp as f64;

    // ---- one layer, one micro-batch
    let lw = layer_work(model, plan, run);
    let gemm_fwd: Seconds = lw.gemms.iter().map(|g| cm.gemm_time(g)).sum();
    let attn_fwd = cm.attention_time(lw.attention_flops);
    let elem_fwd = cm.memory_time(lw.elementwise_bytes);
    let elem_bwd = cm.memory_time(lw.elementwise_bwd_bytes);
    let compute_fwd = gemm_fwd + attn_fwd + elem_fwd;
    // Backward: data + weight gradients (2x GEMMs), fused attention backward 2.5x,
    // element-wise about 2x (see `ops`). Full recompute repeats the forward; selective recompute of the
    // attention core is already part of the fused attention backward.
    let mut compute_bwd = gemm_fwd * 2.0 + attn_fwd * 2.5 + elem_bwd;
    if plan.recompute == Recompute::Full {
        compute_bwd += compute_fwd;
    }

    let tp_group = layout.shape(GroupKind::Tp);
    let tp_overlap = cluster.tp_comm_overlap;
    let tp_comm_fwd = if tp > 1 {
        let per = if plan.sequence_parallel {
            net.collective(
                CollectiveOp::AllGather,
                lw.tp_message,
                GroupKind::Tp,
                tp_group,
            ) + net.collective(
                CollectiveOp::ReduceScatter,
                lw.tp_message,
                GroupKind::Tp,
                tp_group,
            )
        } else {
            net.collective(
                CollectiveOp::AllReduce,
                lw.tp_message,
                GroupKind::Tp,
                tp_group,
            )
        };
        per * lw.tp_collectives_fwd as f64
    } else {
        Seconds::ZERO
    };
    let tp_fwd = tp_exposed(tp_comm_fwd, gemm_fwd, tp, tp_overlap);
    let mut tp_bwd = tp_exposed(tp_comm_fwd, gemm_fwd * 2.0, tp, tp_overlap);
    if plan.recompute == Recompute::Full {
        tp_bwd += tp_fwd;
    }

    // CP: K/V blocks travel the ring while attention computes; backward also returns dK/dV.
    let (cp_fwd, cp_bwd) = if plan.cp > 1 {
        let cp_group = layout.shape(GroupKind::Cp);
        // Passing each rank's block around the ring cp - 1 times is an all-gather.
        let cp = plan.cp as f64;
        let t = net.collective(
            CollectiveOp::AllGather,
            lw.cp_ring_bytes * (cp / (cp - 1.0)),
            GroupKind::Cp,
            cp_group,
        );
        let f = (t - attn_fwd).max(Seconds::ZERO);
        let mut b = (t * 2.0 - attn_fwd * 2.5).max(Seconds::ZERO);
        if plan.recompute == Recompute::Full {
            b += f;
        }
        (f, b)
    } else {
        (Seconds::ZERO, Seconds::ZERO)
    };

    // EP: dispatch and combine all-to-all in forward, their transposes in backward.
    let (ep_fwd, ep_bwd) = if plan.ep > 1 {
        let ep_group = layout.shape(GroupKind::Ep);
        let send_buffer = lw.ep_a2a_bytes * (plan.ep as f64 / (plan.ep as f64 - 1.0));
        let one = net.collective(CollectiveOp::AllToAll, send_buffer, GroupKind::Ep, ep_group);
        let f = one * 2.0;
        let b = if plan.recompute == Recompute::Full {
            f * 2.0
        } else {
            f
        };
        (f, b)
    } else {
        (Seconds::ZERO, Seconds::ZERO)
    };

    // ---- embedding and LM head
    let hw = head_work(model, plan, run);
    let head_fwd = cm.gemm_time(&hw.logits) + cm.memory_time(hw.loss_bytes);
    let head_bwd = cm.gemm_time(&hw.logits) * 2.0 + cm.memory_time(hw.loss_bytes);
    let emb_fwd = cm.memory_time(hw.embedding_bytes);
    let emb_bwd = emb_fwd * 2.0;

    // ---- data-parallel traffic per stage
    let grad_bytes = if run.precision == Precision::Fp16 {
        2.0
    } else {
        4.0
    };
    let dense_dp = plan.dp * plan.cp;
    let dense_group = layout.shape(GroupKind::Dp);
    let expert_group = layout.shape(GroupKind::ExpertDp);
    let expert_dp = expert_group.ranks;
    let reduce_op = if plan.distributed_optimizer {
        CollectiveOp::ReduceScatter
    } else {
        CollectiveOp::AllReduce
    };

    let layers = plan.stage_layers(model.layers);
    let pp = plan.pp as usize;
    let per_layer_fwd = compute_fwd + tp_fwd + cp_fwd + ep_fwd;
    let per_layer_bwd = compute_bwd + tp_bwd + cp_bwd + ep_bwd;

    let mut stages: Vec<StageTiming> = layers
        .iter()
        .enumerate()
        .map(|(s, &l)| {
            let lf = l as f64;
            let (mut fwd, mut bwd) = (per_layer_fwd * lf, per_layer_bwd * lf);
            let mut compute = (compute_fwd + compute_bwd) * lf;
            if s == 0 {
                fwd += emb_fwd;
                bwd += emb_bwd;
                compute += emb_fwd + emb_bwd;
            }
            if s + 1 == pp {
                fwd += head_fwd;
                bwd += head_bwd;
                compute += head_fwd + head_bwd;
            }
            StageTiming {
                stage: s as u32,
                layers: l,
                forward: fwd,
                backward: bwd,
                compute,
                tp_comm: (tp_fwd + tp_bwd) * lf,
                cp_comm: (cp_fwd + cp_bwd) * lf,
                ep_comm: (ep_fwd + ep_bwd) * lf,
                dp_exposed: Seconds::ZERO,
                optimizer: Seconds::ZERO,
            }
        })
        .collect();

    // ---- pipeline
    let t_of = |st: &StageTiming| st.per_microbatch();
    let (critical, t_max) =
        stages
            .iter()
            .map(|st| (st.stage, t_of(st)))
            .fold((0u32, Seconds::ZERO), |acc, (s, t)| {
                if t.0 > acc.1 .0 {
                    (s, t)
                } else {
                    acc
                }
            });
    let per_stage: Vec<Seconds> = stages.iter().map(t_of).collect();
    let t_pipe = pipeline_time(&per_stage, m, plan.vpp);

    // Pipeline p2p: activations of one micro-batch, sharded by tp (Megatron's
    // scatter-gather optimization, or sequence parallelism).
    let p2p = if plan.pp > 1 {
        let bytes = Bytes(tokens_per_gpu(plan, run) * model.hidden as f64 * HALF / tp as f64);
        net.p2p(bytes, layout.shape(GroupKind::Pp).nodes <= 1)
    } else {
        Seconds::ZERO
    };
    let pp_comm = if plan.pp > 1 {
        let t = p2p;
        // 1F1B blocks on each send/receive pair; interleaved overlaps them except during
        // fill and drain.
        let crossings = if plan.vpp > 1 {
            (plan.pp - 1) as f64
        } else {
            (m + u64::from(plan.pp) - 1) as f64
        };
        t * (2.0 * crossings)
    } else {
        Seconds::ZERO
    };

    // DP exposure and optimizer per stage. Stage s finishes its last backward s·T/v before
    // stage 0 does, which hides more of its gradient reduction.
    let bwd_avg = stages.iter().map(|s| s.backward).sum::<Seconds>() / pp as f64;
    let fwd_avg = stages.iter().map(|s| s.forward).sum::<Seconds>() / pp as f64;
    let hbm = cm.hbm_bandwidth();
    let mut dp_costs = Vec::with_capacity(pp);
    for (s, st) in stages.iter_mut().enumerate() {
        let l = layers[s] as f64;
        let mut dense = l * model.dense_params_per_layer() / tp as f64;
        if s == 0 || s + 1 == pp {
            dense += model.embedding_params() / tp as f64;
        }
        let experts = l * model.expert_params_per_layer() / (tp as f64 * plan.ep as f64);
        let reduce = net.collective(
            reduce_op,
            Bytes(dense * grad_bytes),
            GroupKind::Dp,
            dense_group,
        ) + net.collective(
            reduce_op,
            Bytes(experts * grad_bytes),
            GroupKind::ExpertDp,
            expert_group,
        );
        let gather = if plan.distributed_optimizer {
            net.collective(
                CollectiveOp::AllGather,
                Bytes(dense * HALF),
                GroupKind::Dp,
                dense_group,
            ) + net.collective(
                CollectiveOp::AllGather,
                Bytes(experts * HALF),
                GroupKind::ExpertDp,
                expert_group,
            )
        } else {
            Seconds::ZERO
        };
        let params = dense + experts;
        let tail = (bucket_params(plan.dp) / params.max(1.0)).min(1.0);
        let slack_b = bwd_avg * (s as f64 / v);
        let slack_f = fwd_avg * (s as f64 / v);
        let exposed_reduce = (reduce - st.backward - slack_b).max(Seconds::ZERO) + reduce * tail;
        let exposed_gather = if plan.distributed_optimizer {
            (gather - st.forward - slack_f).max(Seconds::ZERO) + gather * tail
        } else {
            Seconds::ZERO
        };
        st.dp_exposed = exposed_reduce + exposed_gather;
        // Adam: read grad (4 B), master weight, m, v (12 B), write master, m, v (12 B) and
        // the BF16 weight (2 B) = 30 B per parameter it owns; plus the gradient-norm pass.
        let dense_owned = if plan.distributed_optimizer {
            dense / dense_dp as f64
        } else {
            dense
        };
        let expert_owned = if plan.distributed_optimizer {
            experts / expert_dp as f64
        } else {
            experts
        };
        st.optimizer = Bytes((dense_owned + expert_owned) * 30.0 + params * grad_bytes) / hbm;
        dp_costs.push((reduce, gather, st.optimizer, tail));
    }
    let dp_comm = stages
        .iter()
        .map(|s| s.dp_exposed)
        .fold(Seconds::ZERO, Seconds::max);
    let optimizer = stages
        .iter()
        .map(|s| s.optimizer)
        .fold(Seconds::ZERO, Seconds::max);

    let crit = &stages[critical as usize];
    let mf = m as f64;
    let breakdown = Breakdown {
        compute: crit.compute * mf,
        bubble: t_pipe - t_max * mf,
        tp_comm: crit.tp_comm * mf,
        cp_comm: crit.cp_comm * mf,
        ep_comm: crit.ep_comm * mf,
        pp_comm,
        dp_comm,
        optimizer,
    };
    let time = breakdown.total();

    let model_flops = model_flops_per_step(model, run);
    let gpus = plan.gpus() as f64;
    let tflops_per_gpu = model_flops.0 / time.0 / gpus / 1e12;
    let mfu = tflops_per_gpu * 1e12 / gpu.peak_bf16.0;
    let tokens_per_s = (run.global_batch * run.seq_len) as f64 / time.0;
    let memory = peak_memory(model, plan, run);
    let fits = memory.total().0 <= gpu.hbm_capacity.0;

    let costs = StepCosts {
        layer_fwd: per_layer_fwd,
        layer_bwd: per_layer_bwd,
        layer_tp: (
            tp_comm_fwd,
            tp_comm_fwd
                * if plan.recompute == Recompute::Full {
                    2.0
                } else {
                    1.0
                },
        ),
        layer_cp: (cp_fwd, cp_bwd),
        layer_ep: (ep_fwd, ep_bwd),
        layer_fwd_flops: lw.gemms.iter().map(|g| g.flops().0).sum::<f64>() + lw.attention_flops.0,
        layer_fwd_bytes: lw.elementwise_bytes.0 + lw.tp_message.0 * lw.tp_collectives_fwd as f64,
        head: (head_fwd, head_bwd),
        embedding: (emb_fwd, emb_bwd),
        p2p,
        dp: dp_costs,
        layer_activation_bytes: crate::workload::memory::activation_bytes_per_layer(
            model, plan, run,
        )
        .0,
    };
    StepResult {
        costs,
        time,
        breakdown,
        stages,
        critical_stage: critical,
        micro_batches: m,
        model_flops,
        mfu,
        tflops_per_gpu,
        tokens_per_s,
        memory,
        fits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tp_overlap_hides_all_but_one_chunk_when_gemms_are_long() {
        let c = Seconds(8.0);
        assert_eq!(tp_exposed(c, Seconds(100.0), 8, true), Seconds(1.0));
        assert_eq!(tp_exposed(c, Seconds(3.0), 8, true), Seconds(1.0 + 4.0));
        assert_eq!(tp_exposed(c, Seconds(100.0), 8, false), c);
    }

    #[test]
    fn bubble_fraction_is_p_minus_1_over_v_m() {
        for (p, m, v) in [
            (4usize, 8u64, 1u32),
            (8, 16, 1),
            (8, 16, 3),
            (16, 32, 4),
            (2, 2, 1),
        ] {
            let stages = vec![Seconds(0.25); p];
            let t = pipeline_time(&stages, m, v);
            let ideal = 0.25 * m as f64;
            let bubble = (t.0 - ideal) / ideal;
            let expected = (p as f64 - 1.0) / (v as f64 * m as f64);
            assert!(
                (bubble - expected).abs() < 1e-12,
                "p={p} m={m} v={v}: {bubble} vs {expected}"
            );
        }
        // An uneven pipeline runs at the pace of its slowest stage.
        let t = pipeline_time(&[Seconds(1.0), Seconds(2.0), Seconds(1.0)], 10, 1);
        assert_eq!(t, Seconds(2.0 * 10.0 + 2.0));
    }

    #[test]
    fn megatron_bucket_size() {
        assert_eq!(bucket_params(8), 40e6);
        assert_eq!(bucket_params(128), 128e6);
    }
}
