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

use super::costs::{step_costs, step_costs_split, LayerComm, StepCosts};
use crate::collective::CommModel;
use crate::hardware::GpuSpec;
use crate::scenario::Scenario;
use crate::units::{Flops, Seconds};
use crate::workload::memory::{peak_memory_split, MemoryBreakdown};
use crate::workload::ops::{model_flops_per_step, AttentionCount};
use crate::workload::plan::LayerSplit;
use crate::workload::{ModelSpec, TrainingRun};
use serde::Serialize;

/// Exposed seconds of one step by kind; they add up to the step time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Breakdown {
    /// Computation on the critical stage.
    pub compute: Seconds,
    /// Pipeline fill and drain, and waiting on slower stages.
    pub bubble: Seconds,
    /// Tensor-parallel collectives not hidden behind GEMMs.
    pub tp_comm: Seconds,
    /// Context-parallel ring exchange not hidden behind attention.
    pub cp_comm: Seconds,
    /// An MoE layer's token dispatch and combine: the all-to-all over the EP ranks, and
    /// with expert tensor parallelism (etp > 1, even at ep 1) its all-gather and
    /// reduce-scatter.
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// MoE dispatch and combine (EP all-to-all, expert-TP gathers) of forward + backward.
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

impl StepResult {
    /// The MFU counting only the causal half of attention (what the kernels compute), as
    /// sources that report useful FLOPs do: `mfu` scaled by the two counts' ratio.
    pub fn mfu_causal(&self, model: &ModelSpec, run: &TrainingRun) -> f64 {
        let causal = model_flops_per_step(model, run, AttentionCount::Causal);
        self.mfu * (causal / self.model_flops)
    }
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

/// Whether a GPU's memory holds `memory` (the one test of fitting, for the step and the
/// planner's early rejection alike).
pub(crate) fn fits_in(memory: &MemoryBreakdown, gpu: &GpuSpec) -> bool {
    memory.total().0 <= gpu.hbm_capacity.0
}

/// Simulates one step of a validated scenario with the analytical network model.
pub fn simulate_step(sc: &Scenario) -> StepResult {
    simulate_step_with(sc, &sc.cluster.network())
}

/// Simulates one step with communication costed by `net` (analytical or flow level).
pub fn simulate_step_with(sc: &Scenario, net: &dyn CommModel) -> StepResult {
    closed_form(sc, step_costs(sc, net), None)
}

/// [`simulate_step`] of a plan whose layer split and peak memory the caller has made
/// already (the planner, which tests memory first: most plans do not fit).
pub(crate) fn simulate_step_split(
    sc: &Scenario,
    split: LayerSplit,
    memory: MemoryBreakdown,
) -> StepResult {
    let net = sc.cluster.network();
    closed_form(sc, step_costs_split(sc, &net, split), Some(memory))
}

/// Each stage's forward and backward of one micro-batch, before data parallelism.
fn stage_timings(c: &StepCosts) -> Vec<StageTiming> {
    let layers = c.split.stage_layers();
    let pp = layers.len();
    let (emb, head) = (&c.embedding, &c.head);
    let exposed = |x: &LayerComm| x.exposed.forward + x.exposed.backward;
    layers
        .iter()
        .enumerate()
        .map(|(s, &l)| {
            let lc = c.stage(s);
            let (mut forward, mut backward) = (lc.forward(), lc.backward());
            let mut compute = lc.compute.forward.time + lc.compute.backward.time;
            if s == 0 {
                forward += emb.forward.time;
                backward += emb.backward.time;
                compute += emb.forward.time + emb.backward.time;
            }
            if s + 1 == pp {
                forward += head.forward.time;
                backward += head.backward.time;
                compute += head.forward.time + head.backward.time;
            }
            StageTiming {
                stage: s as u32,
                layers: l,
                forward,
                backward,
                compute,
                tp_comm: exposed(&lc.tp),
                cp_comm: exposed(&lc.cp),
                ep_comm: exposed(&lc.ep),
                dp_exposed: Seconds::ZERO,
                optimizer: Seconds::ZERO,
            }
        })
        .collect()
}

/// Pipeline sends on the critical path. Where the compute waits for them
/// ([`Recipe::p2p_blocks`](crate::workload::plan::Recipe::p2p_blocks)), each of the
/// schedule's m·v + pp − 1 slots pays a forward and a backward send; an overlapped
/// interleaved schedule pays them only during fill and drain.
fn pp_exposed(sc: &Scenario, p2p: Seconds, m: u64) -> Seconds {
    let plan = &sc.plan;
    if plan.pp <= 1 {
        return Seconds::ZERO;
    }
    let crossings = if sc.run.recipe.p2p_blocks(plan.vpp) {
        (m * u64::from(plan.vpp) + u64::from(plan.pp) - 1) as f64
    } else {
        (plan.pp - 1) as f64
    };
    p2p * (2.0 * crossings)
}

/// DP exposure and optimizer per stage. Stage s finishes its last backward s·T/v before
/// stage 0 does, which hides more of its gradient reduction.
fn expose_dp(sc: &Scenario, c: &StepCosts, stages: &mut [StageTiming]) {
    let pp = stages.len().max(1) as f64;
    let v = sc.plan.vpp as f64;
    let dist = sc.plan.distributed_optimizer;
    let bwd_avg = stages.iter().map(|s| s.backward).sum::<Seconds>() / pp;
    let fwd_avg = stages.iter().map(|s| s.forward).sum::<Seconds>() / pp;
    for (s, st) in stages.iter_mut().enumerate() {
        let d = c.dp.get(s).copied().unwrap_or_default();
        let (reduce, gather) = (d.grad_reduce.time, d.param_gather.time);
        let slack_b = bwd_avg * (s as f64 / v);
        let slack_f = fwd_avg * (s as f64 / v);
        let (exposed_reduce, exposed_gather) = if !sc.run.recipe.dp_overlap {
            // Each runs whole, between the backward and the next forward.
            (reduce, if dist { gather } else { Seconds::ZERO })
        } else if v > 1.0 {
            // Interleaved: as the timeline runs them, a chunk at a time. In the cool-down
            // the chunks' last backwards come pp chunk-backwards apart (last chunk
            // first); each chunk's reduction streams from the start of its last backward
            // and its last bucket waits for that backward's end. In the warm-up each
            // chunk's first forward comes pp chunk-forwards after the previous one's,
            // and its gather, queued behind the earlier chunks', paces that forward (it
            // waits for each bucket), so the forward ends no sooner than the gather and
            // then the forward of the last bucket's layers.
            let (chunk_b, chunk_f) = (st.backward / v, st.forward / v);
            let (r, g) = (reduce / v, gather / v);
            let mut free = f64::NEG_INFINITY;
            for k in 0..sc.plan.vpp {
                let end = -(v - 1.0 - f64::from(k)) * pp * chunk_b.0;
                let start = (end - chunk_b.0).max(free);
                free = (start + r.0).max(end + d.last_bucket.min(r).0);
            }
            let exposed_reduce = Seconds((free - slack_b.0).max(0.0));
            let exposed_gather = if dist {
                let unhidden = chunk_f.0 * (1.0 - (d.last_bucket_fraction * v).min(1.0));
                let late = (0..sc.plan.vpp)
                    .map(|c| f64::from(c) * (g.0 - pp * chunk_f.0) + (g.0 - unhidden))
                    .fold(0.0, f64::max);
                Seconds(late - slack_f.0).max(d.first_gather.min(g))
            } else {
                Seconds::ZERO
            };
            (exposed_reduce, exposed_gather)
        } else {
            // The reduction streams from the start of the last backward; only its last
            // bucket must wait for that backward's end (as the timeline runs it).
            let exposed_reduce = (reduce - st.backward - slack_b)
                .max(d.last_bucket.min(reduce))
                .max(Seconds::ZERO);
            // Its gather: the forward waits for the first bucket, and ends no sooner
            // than the whole gather and then the forward of the last bucket's layers.
            let exposed_gather = if dist {
                let unhidden = st.forward * (1.0 - d.last_bucket_fraction.min(1.0));
                (gather - unhidden - slack_f).max(d.first_gather.min(gather))
            } else {
                Seconds::ZERO
            };
            (exposed_reduce, exposed_gather)
        };
        st.dp_exposed = exposed_reduce + exposed_gather;
        st.optimizer = d.optimizer.time;
    }
}

/// The closed form over the step's costs: stages, pipeline, exposed DP, optimizer.
/// `memory`: the plan's peak memory, where the caller has it (from `costs.split`).
fn closed_form(sc: &Scenario, costs: StepCosts, memory: Option<MemoryBreakdown>) -> StepResult {
    let (model, plan, run, gpu) = (&sc.model, &sc.plan, &sc.run, sc.cluster.gpu);
    let m = plan.micro_batches(run);
    let mut stages = stage_timings(&costs);
    let per_stage: Vec<Seconds> = stages.iter().map(StageTiming::per_microbatch).collect();
    let (critical, t_max) =
        per_stage
            .iter()
            .enumerate()
            .fold((0u32, Seconds::ZERO), |acc, (s, &t)| {
                if t.0 > acc.1 .0 {
                    (s as u32, t)
                } else {
                    acc
                }
            });
    let t_pipe = pipeline_time(&per_stage, m, plan.vpp);
    expose_dp(sc, &costs, &mut stages);
    let max_of =
        |f: fn(&StageTiming) -> Seconds| stages.iter().map(f).fold(Seconds::ZERO, Seconds::max);
    let (dp_comm, optimizer) = (max_of(|s| s.dp_exposed), max_of(|s| s.optimizer));

    let crit = stages.get(critical as usize).cloned().unwrap_or_default();
    let mf = m as f64;
    let breakdown = Breakdown {
        compute: crit.compute * mf,
        bubble: t_pipe - t_max * mf,
        tp_comm: crit.tp_comm * mf,
        cp_comm: crit.cp_comm * mf,
        ep_comm: crit.ep_comm * mf,
        pp_comm: pp_exposed(sc, costs.p2p.time, m),
        dp_comm,
        optimizer,
    };
    let time = breakdown.total();

    let model_flops = model_flops_per_step(model, run, AttentionCount::Full);
    let gpus = plan.gpus() as f64;
    let tflops_per_gpu = model_flops.0 / time.0 / gpus / 1e12;
    let mfu = tflops_per_gpu * 1e12 / gpu.peak_bf16.0;
    let tokens_per_s = (run.global_batch * run.seq_len) as f64 / time.0;
    let memory = memory.unwrap_or_else(|| peak_memory_split(model, plan, run, gpu, &costs.split));
    let fits = fits_in(&memory, gpu);
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
}
