//! One training step. [`costs`] prices its pieces once (compute, communication over the
//! job's rank layout, optimizer). [`analytical`] is the closed form over them: per-stage
//! micro-batch times, the pipeline schedule, and what communication is left exposed after
//! overlap; the planner uses it for speed. [`timeline`] replays the same costs as a
//! discrete-event simulation of Megatron's schedule (the default step model), and
//! [`trace`] writes it for Perfetto, each op with its FLOPs and bytes.

pub mod analytical;
pub mod collectives;
pub mod costs;
pub mod timeline;
pub mod trace;

pub use analytical::{simulate_step, simulate_step_with, Breakdown, StageTiming, StepResult};
pub use costs::{FwdBwd, LayerComm, LayerCosts, OpCost, StageDpCosts, StepCosts};
pub use timeline::{Heterogeneity, Timeline};

use crate::scenario::{NetworkModel, Scenario};
use crate::units::Seconds;

/// Folds a timeline into a step result: its time, and a breakdown that adds up to it
/// (the per-micro-batch parts from the closed form; DP as the timeline exposed it, after
/// the last backward, before the first forward and while first forwards waited for the
/// parameter gather; blocking pipeline sends as long as
/// they held that stage's compute; the
/// rest is pipeline bubble and waiting on slower stages). A straggler on the stage whose
/// layers the breakdown shows (the critical stage) slows them as the timeline ran them:
/// compute and the TP, CP and EP waits.
pub fn with_timeline(mut step: StepResult, tl: &Timeline, het: &Heterogeneity) -> StepResult {
    let time = tl.time.as_seconds();
    let s = tl.last_stage as usize;
    let slowed = het.compute_factor(step.critical_stage);
    let opt = step
        .costs
        .dp
        .get(s)
        .map_or(Seconds::ZERO, |d| d.optimizer.time);
    let gather_hold = tl
        .stage_gather_hold
        .get(s)
        .copied()
        .unwrap_or_default()
        .as_seconds();
    // The optimizer's time is not whole nanoseconds of the clock: less than one left
    // after it is rounding, not a reduction.
    let after = tl.stage_end[s].as_seconds() - tl.stage_compute_end[s].as_seconds() - opt;
    let after = if after.0 < 1e-9 { Seconds::ZERO } else { after };
    let dp = after + tl.first_forward.as_seconds() + gather_hold;
    let b = &mut step.breakdown;
    for part in [
        &mut b.compute,
        &mut b.tp_comm,
        &mut b.cp_comm,
        &mut b.ep_comm,
    ] {
        *part = *part * slowed;
    }
    b.dp_comm = dp;
    b.optimizer = opt;
    if let Some(hold) = &tl.stage_send_hold {
        // Sends that hold the compute: what the timeline measured on that stage, in
        // place of the closed form's count.
        b.pp_comm = hold.get(s).copied().unwrap_or_default().as_seconds();
    }
    let others =
        b.compute + b.tp_comm + b.cp_comm + b.ep_comm + b.pp_comm + b.dp_comm + b.optimizer;
    // Under a microsecond is the rounding of the timeline's nanosecond clock over its
    // ops, not a bubble.
    let bubble = (time - others).max(Seconds::ZERO);
    b.bubble = if bubble.0 < 1e-6 {
        Seconds::ZERO
    } else {
        bubble
    };
    // Keep the sum exact even if the closed-form parts exceed the simulated time.
    let total = b.total();
    if total.0 > time.0 && total.0 > 0.0 {
        let k = time.0 / total.0;
        for part in [
            &mut b.compute,
            &mut b.tp_comm,
            &mut b.cp_comm,
            &mut b.ep_comm,
            &mut b.pp_comm,
            &mut b.dp_comm,
            &mut b.optimizer,
        ] {
            *part = *part * k;
        }
    }
    let ratio = step.time.0 / time.0;
    step.time = time;
    step.mfu *= ratio;
    step.tflops_per_gpu *= ratio;
    step.tokens_per_s *= ratio;
    step
}

/// Which step model answers: the discrete-event timeline (the default, what every
/// command reports) or the closed form (the planner's prefilter).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum StepModel {
    /// Discrete-event simulation of the pipeline schedule.
    #[default]
    Timeline,
    /// Closed form (what the planner prefilters with).
    Analytical,
}

/// One simulated step: the result, and the timeline when the timeline model ran.
#[derive(Debug, Clone)]
pub struct Step {
    /// Time, breakdown, memory, MFU.
    pub result: StepResult,
    /// The discrete-event timeline (None with the closed form).
    pub timeline: Option<Timeline>,
    /// At flow level, each communicator kind's derating on the fabric (empty on the
    /// analytical network model, where no group sees another).
    pub contention: Vec<crate::collective::flow::Contention>,
}

/// The one step function: every command that needs a step time calls this, so that
/// `simulate`, `plan`, `reliability` and `validate` agree. The network fidelity is the
/// scenario's (`network`); stragglers need the timeline.
pub fn simulate(sc: &Scenario, model: StepModel, het: &Heterogeneity) -> crate::Result<Step> {
    match sc.network {
        NetworkModel::Analytical => simulate_on(sc, None, model, het),
        NetworkModel::Flow => {
            let fabric = crate::fabric::Fabric::build(&sc.cluster.fabric_spec);
            simulate_on(sc, Some(&fabric), model, het)
        }
    }
}

/// [`simulate`] on a fabric already built (used at flow level; ignored otherwise).
pub fn simulate_on(
    sc: &Scenario,
    fabric: Option<&crate::fabric::Fabric>,
    model: StepModel,
    het: &Heterogeneity,
) -> crate::Result<Step> {
    let (base, contention) = match (sc.network, fabric) {
        (NetworkModel::Flow, Some(fabric)) => {
            let comm = crate::collective::flow::FlowComm::for_scenario(
                sc,
                fabric,
                sc.routing,
                crate::collective::flow::JOB_SALT,
            );
            (simulate_step_with(sc, &comm), comm.contention())
        }
        (NetworkModel::Flow, None) => return simulate(sc, model, het),
        (NetworkModel::Analytical, _) => (simulate_step(sc), Vec::new()),
    };
    match model {
        StepModel::Analytical => {
            if !het.is_empty() {
                return Err(crate::Error::invalid(
                    "step model",
                    "analytical",
                    "timeline when a straggler (slow GPU, server or link) is given",
                ));
            }
            Ok(Step {
                result: base,
                timeline: None,
                contention,
            })
        }
        StepModel::Timeline => {
            let (result, tl) = simulate_timeline_step(sc, base, het)?;
            Ok(Step {
                result,
                timeline: Some(tl),
                contention,
            })
        }
    }
}

/// Most chunk forward/backward ops the timeline simulates in one step.
pub const MAX_TIMELINE_OPS: u64 = 4_000_000;

/// The step with the timeline as the step model. Refuses steps of more than
/// [`MAX_TIMELINE_OPS`] ops (the closed form has no such limit).
pub fn simulate_timeline_step(
    sc: &crate::scenario::Scenario,
    base: StepResult,
    het: &Heterogeneity,
) -> crate::Result<(StepResult, Timeline)> {
    let ops = 2 * base.micro_batches * u64::from(sc.plan.vpp) * u64::from(sc.plan.pp);
    if ops > MAX_TIMELINE_OPS {
        return Err(crate::Error::invalid(
            "step model",
            format!("timeline of {ops} ops"),
            format!("at most {MAX_TIMELINE_OPS} ops (2 x micro-batches x vpp x pp): a larger micro_batch, or the analytical step model"),
        ));
    }
    let tl = timeline::simulate_timeline(sc, &base, het);
    Ok((with_timeline(base, &tl, het), tl))
}

#[cfg(test)]
mod robustness {
    //! The proptest twin of the `simulate` fuzz target: any scenario the validator accepts
    //! simulates to a finite, positive step; anything else is an error, never a panic.
    use crate::scenario::{ClusterFile, ModelFile, ParallelFile, ScenarioFile, TrainingFile};
    use crate::workload::{MlpKind, Precision, Recompute};
    use proptest::prelude::*;

    fn pick<T: Clone + std::fmt::Debug + 'static>(v: Vec<T>) -> impl Strategy<Value = T> {
        proptest::sample::select(v)
    }

    prop_compose! {
        fn scenario()(
            gpu in pick(vec!["A100-SXM4-80GB", "H100-SXM5-80GB", "H800-SXM5-80GB", "H200-SXM-141GB", "B200", "nope"]),
            gpus in pick(vec![0u64, 1, 7, 8, 64, 512, 4096, 100_000, 1 << 30]),
            gpn in pick(vec![0u32, 1, 4, 8, 72]),
            nic in pick(vec![0.0f64, 200.0, 400.0, 800.0, f64::NAN]),
            layers in pick(vec![0u32, 1, 2, 7, 32, 126]),
            hidden in pick(vec![0u64, 64, 1024, 4096, 1 << 40]),
            heads in pick(vec![0u32, 1, 8, 32, 48]),
            kv in pick(vec![1u32, 2, 8]),
            ffn in pick(vec![0u64, 256, 14336]),
            vocab in pick(vec![0u64, 8, 32000]),
            moe in pick(vec![(0u32, 0u32), (8, 2), (2, 3)]),
            (tp, pp, vpp, cp, ep) in (pick(vec![0u32, 1, 2, 8]), pick(vec![0u32, 1, 2, 4, 16]), pick(vec![0u32, 1, 2, 3]), pick(vec![0u32, 1, 2]), pick(vec![1u32, 2, 8])),
            mb in pick(vec![0u32, 1, 2]),
            gb in pick(vec![0u64, 1, 64, 1000, 1 << 30]),
            seq in pick(vec![0u64, 1, 2048, 8192]),
            tokens in pick(vec![-1.0f64, 0.0, 1e9, 1e13, f64::INFINITY]),
            precision in pick(vec![Precision::Fp16, Precision::Bf16, Precision::Fp8]),
            recompute in pick(vec![Recompute::None, Recompute::Selective, Recompute::Full]),
            recompute_layers in pick(vec![None, Some(0u32), Some(1), Some(3), Some(200)]),
        ) -> ScenarioFile {
            ScenarioFile {
                cluster: ClusterFile { gpu: Some(gpu.into()), gpus: Some(gpus), gpus_per_node: Some(gpn), nic_gbps: Some(nic), ..Default::default() },
                model: ModelFile { layers: Some(layers), hidden: Some(hidden), heads: Some(heads), kv_heads: Some(kv), ffn_hidden: Some(ffn), vocab: Some(vocab), mlp: Some(MlpKind::Gated), moe_experts: Some(moe.0), moe_topk: Some(moe.1), ..Default::default() },
                parallel: ParallelFile { tp: Some(tp), pp: Some(pp), vpp: Some(vpp), cp: Some(cp), ep: Some(ep), micro_batch: Some(mb), recompute: Some(recompute), recompute_layers, ..Default::default() },
                training: TrainingFile { global_batch: Some(gb), seq_len: Some(seq), tokens: Some(tokens), precision: Some(precision), ..Default::default() },
                ..Default::default()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn validated_scenarios_simulate(sf in scenario()) {
            if let Ok(sc) = sf.validate() {
                let s = super::simulate_step(&sc);
                prop_assert!(s.time.0.is_finite() && s.time.0 > 0.0, "step {}", s.time.0);
                prop_assert!(s.mfu.is_finite() && s.mfu >= 0.0);
                if let Ok((t, _)) = super::simulate_timeline_step(&sc, s, &Default::default()) {
                    prop_assert!(t.time.0.is_finite() && t.time.0 > 0.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod block_recompute {
    use super::*;

    #[test]
    fn each_layer_recomputed_costs_time_up_to_the_uniform_method() {
        // GPT-3 175B at PP8 vpp2: six layers a chunk, every one recomputed by the preset.
        let mut sc = crate::scenario::preset_scenario("dgx-a100-gpt3-175b");
        assert_eq!(sc.plan.recompute, crate::workload::Recompute::Full);
        let none = Heterogeneity::default();
        for model in [StepModel::Analytical, StepModel::Timeline] {
            let step = |sc: &crate::scenario::Scenario| simulate(sc, model, &none).unwrap().result;
            sc.plan.recompute_layers = None;
            let uniform = step(&sc);
            let mut last = Seconds::ZERO;
            for n in 1..=6 {
                sc.plan.recompute_layers = Some(n);
                let t = step(&sc).time;
                assert!(t > last, "{model:?}: {n} layers {t:?} after {last:?}");
                last = t;
            }
            assert!(
                (last - uniform.time).0.abs() < 1e-9 * uniform.time.0,
                "{model:?}: all six {last:?} vs the uniform method {:?}",
                uniform.time
            );
        }
    }
}

#[cfg(test)]
mod dp_overlap {
    use super::*;

    fn gpt3() -> crate::scenario::Scenario {
        crate::scenario::preset_scenario("dgx-a100-gpt3-175b")
    }

    #[test]
    fn without_overlap_the_whole_reduction_and_gather_are_exposed() {
        let mut sc = gpt3();
        assert!(sc.plan.dp > 1);
        let none = Heterogeneity::default();
        for (model, dist) in [StepModel::Analytical, StepModel::Timeline]
            .into_iter()
            .flat_map(|m| [(m, false), (m, true)])
        {
            sc.plan.distributed_optimizer = dist;
            sc.run.recipe.dp_overlap = true;
            let hidden = simulate(&sc, model, &none).unwrap().result;
            sc.run.recipe.dp_overlap = false;
            let shown = simulate(&sc, model, &none).unwrap().result;
            // The critical stage's reduction and gather, whole, on top of the compute.
            let d = shown.costs.dp.iter().fold(Seconds::ZERO, |a, d| {
                a.max(d.grad_reduce.time + d.param_gather.time)
            });
            let expected = hidden.time - hidden.breakdown.dp_comm + d;
            assert!(d.0 > 0.0, "{model:?}");
            assert!(
                (shown.time - expected).0.abs() < 0.1 * d.0,
                "{model:?}, distributed optimizer {dist}: {:?} against {expected:?} ({d:?} whole)",
                shown.time
            );
            assert!(
                (shown.breakdown.dp_comm - d).0.abs() < 0.1 * d.0,
                "{model:?} {dist}: {:?} {d:?}",
                shown.breakdown
            );
        }
    }
}

#[cfg(test)]
mod pp_overlap {
    use super::*;

    /// GPT-3 175B, TP8 PP8 (vpp 2): an interleaved schedule.
    fn gpt3() -> crate::scenario::Scenario {
        crate::scenario::preset_scenario("dgx-a100-gpt3-175b")
    }

    /// Without overlap, each of the schedule's m·v + pp − 1 slots pays a forward and a
    /// backward send on the compute stream (where the overlapped schedule paid them in
    /// the pp − 1 of fill and drain); 1F1B without interleaving always does.
    #[test]
    fn blocking_sends_cost_every_slot_of_the_schedule() {
        let mut sc = gpt3();
        assert!(sc.plan.pp > 1 && sc.plan.vpp > 1);
        let none = Heterogeneity::default();
        for model in [StepModel::Analytical, StepModel::Timeline] {
            sc.run.recipe.pp_overlap = true;
            let hidden = simulate(&sc, model, &none).unwrap().result;
            sc.run.recipe.pp_overlap = false;
            let shown = simulate(&sc, model, &none).unwrap().result;
            let p2p = shown.costs.p2p.time;
            let slots =
                (shown.micro_batches * u64::from(sc.plan.vpp) + u64::from(sc.plan.pp) - 1) as f64;
            let added = shown.time - hidden.time;
            let expected = p2p * (2.0 * (slots - f64::from(sc.plan.pp - 1)));
            assert!(p2p.0 > 0.0, "{model:?}");
            // The closed form counts exactly that; in the timeline an overlapped stage
            // already waits for a send wherever its input arrives just in time, so
            // blocking adds less, but most of it.
            let (lo, hi) = match model {
                StepModel::Analytical => (0.99, 1.01),
                StepModel::Timeline => (0.5, 1.01),
            };
            assert!(
                added.0 > lo * expected.0 && added.0 < hi * expected.0,
                "{model:?}: {added:?} added, {expected:?} expected ({p2p:?} a send)"
            );
            // The breakdown says where the time went: the sends, not less compute (the
            // same sum of parts, to the last bits of its floating-point order).
            let (a, b) = (shown.breakdown.compute.0, hidden.breakdown.compute.0);
            assert!((a - b).abs() <= 1e-12 * b, "{model:?}: {a} against {b}");
            let more_pp = shown.breakdown.pp_comm - hidden.breakdown.pp_comm;
            assert!(
                (more_pp - added).0.abs() < 0.1 * added.0,
                "{model:?}: pp_comm {more_pp:?} more for {added:?}"
            );
            assert!((shown.breakdown.total() - shown.time).0.abs() < 1e-9 * shown.time.0);
            // 1F1B waits whatever the flag says.
            let mut one = sc.clone();
            one.plan.vpp = 1;
            one.run.recipe.pp_overlap = true;
            let a = simulate(&one, model, &none).unwrap().result;
            one.run.recipe.pp_overlap = false;
            let b = simulate(&one, model, &none).unwrap().result;
            assert_eq!(a.time, b.time, "{model:?}");
        }
    }
}

#[cfg(test)]
mod fp8_recipes {
    use super::*;
    use crate::scenario::{build, ScenarioFile, ScenarioLayers};
    use crate::workload::plan::Fp8Recipe;

    fn llama70b(gpu: Option<&str>, recipe: Fp8Recipe) -> crate::Result<crate::scenario::Scenario> {
        let mut f = ScenarioFile {
            preset: Some("dgx-h100-llama3-70b".into()),
            ..Default::default()
        };
        f.cluster.gpu = gpu.map(String::from);
        f.training.fp8_recipe = Some(recipe);
        build(&ScenarioLayers {
            file: Some(f),
            ..Default::default()
        })
    }

    fn step(sc: &crate::scenario::Scenario) -> f64 {
        simulate(sc, StepModel::Analytical, &Heterogeneity::default())
            .unwrap()
            .result
            .time
            .0
    }

    #[test]
    fn each_cast_moves_what_its_recipe_reads_and_writes() {
        // Hopper: the BF16 read, the FP8 copy and its transpose; Blackwell: no transpose.
        assert_eq!(Fp8Recipe::Delayed.cast_bytes(false), 4.0);
        assert_eq!(Fp8Recipe::Delayed.cast_bytes(true), 3.0);
        // The amax pass reads the source once more.
        assert_eq!(Fp8Recipe::Tensorwise.cast_bytes(false), 6.0);
        // MXFP8 keeps row- and column-wise copies with a 1-byte scale per 32.
        assert_eq!(
            Fp8Recipe::Mxfp8.cast_bytes(true),
            2.0 + 2.0 * (1.0 + 1.0 / 32.0)
        );
        assert!(Fp8Recipe::Blockwise.cast_bytes(false) > 4.0);
    }

    #[test]
    fn recipes_cost_what_they_add_and_mxfp8_needs_blackwell() {
        let h100 = |r| step(&llama70b(None, r).unwrap());
        let delayed = h100(Fp8Recipe::Delayed);
        // The amax pass costs memory time; blockwise's emulated GEMM costs more.
        assert!(h100(Fp8Recipe::Tensorwise) > delayed);
        assert!(h100(Fp8Recipe::Blockwise) > h100(Fp8Recipe::Tensorwise));
        let e = llama70b(None, Fp8Recipe::Mxfp8).unwrap_err().to_string();
        assert!(
            e.contains("training.fp8_recipe") && e.contains("mxfp8") && e.contains("Blackwell"),
            "{e}"
        );
        // On B200 blockwise runs as MXFP8 GEMMs (no emulation): close to MXFP8 itself,
        // both a little slower than per-tensor scaling, which needs no second copy there.
        let b200 = |r| step(&llama70b(Some("B200"), r).unwrap());
        let (d, m, b) = (
            b200(Fp8Recipe::Delayed),
            b200(Fp8Recipe::Mxfp8),
            b200(Fp8Recipe::Blockwise),
        );
        assert!(d < m && (b - m).abs() / m < 0.01, "{d} {m} {b}");
    }
}

#[cfg(test)]
mod cross_entropy {
    use super::*;
    use crate::scenario::{build, ScenarioFile, ScenarioLayers};
    use crate::workload::plan::CrossEntropy;

    #[test]
    fn the_unfused_loss_costs_time_and_keeps_its_fp32_softmax() {
        let run = |ce: CrossEntropy| {
            let mut f = ScenarioFile {
                preset: Some("dgx-h100-llama3-70b".into()),
                ..Default::default()
            };
            f.training.cross_entropy = Some(ce);
            let sc = build(&ScenarioLayers {
                file: Some(f),
                ..Default::default()
            })
            .unwrap();
            let step = simulate(&sc, StepModel::Analytical, &Heterogeneity::default())
                .unwrap()
                .result;
            let last = crate::workload::memory::memory_per_stage(
                &sc.model,
                &sc.plan,
                &sc.run,
                sc.cluster.gpu,
            )
            .last()
            .unwrap()
            .activations;
            let logits = crate::workload::ops::tokens_per_gpu(&sc.plan, &sc.run)
                * sc.model.vocab as f64
                / sc.plan.tp as f64;
            (step.costs.head, last, logits)
        };
        let (fused, fused_mem, logits) = run(CrossEntropy::Fused);
        let (unfused, unfused_mem, _) = run(CrossEntropy::Unfused);
        // 38 + 14 bytes per logit against 6 + 4; the GEMMs are the same.
        let extra = (unfused.forward.bytes - fused.forward.bytes).0
            + (unfused.backward.bytes - fused.backward.bytes).0;
        assert!((extra / logits - 42.0).abs() < 1e-6, "{}", extra / logits);
        assert!(unfused.forward.time > fused.forward.time);
        // The FP32 softmax, 4 bytes per logit, on the last stage.
        assert!(((unfused_mem - fused_mem).0 / logits - 4.0).abs() < 1e-6);
    }
}

#[cfg(test)]
mod moe_dispatch {
    use super::*;
    use crate::workload::plan::Dispatcher;

    /// DeepEP sends a token over the network once per server its experts are on: the
    /// EP all-to-all (network-bound here) shrinks by the servers a token reaches over the
    /// experts it takes, and reaches fewer with DeepSeek's 4-of-8-group routing.
    #[test]
    fn deepep_sends_a_token_once_per_server() {
        let mut sc = crate::scenario::preset_scenario("deepseek-v3-h800");
        sc.run.recipe.ep_overlap = false;
        let none = Heterogeneity::default();
        let ep_comm = |d: Dispatcher, sc: &crate::scenario::Scenario| {
            let mut sc = sc.clone();
            sc.run.recipe.moe_dispatcher = d;
            simulate(&sc, StepModel::Analytical, &none)
                .unwrap()
                .result
                .breakdown
                .ep_comm
        };
        let nccl = ep_comm(Dispatcher::Alltoall, &sc);
        let limited = ep_comm(Dispatcher::Deepep, &sc);
        let moe = sc.model.moe.clone().unwrap();
        // EP64 at TP1: 8 servers.
        let share = moe.expected_servers(&[32; 8]) / f64::from(moe.topk);
        assert!(share > 0.4 && share < 0.5, "{share}");
        let ratio = limited / nccl;
        assert!((ratio - share).abs() < 0.03, "{ratio} against {share}");
        // Unlimited routing reaches 5.3 servers of 8: more than 4-of-8, less than NCCL.
        if let Some(m) = sc.model.moe.as_mut() {
            (m.groups, m.groups_per_token) = (1, 1);
        }
        let free = ep_comm(Dispatcher::Deepep, &sc);
        assert!(
            limited < free && free < nccl,
            "{limited:?} {free:?} {nccl:?}"
        );
        // The plain all-to-all does not care how tokens are routed.
        assert_eq!(ep_comm(Dispatcher::Alltoall, &sc), nccl);
    }
}
