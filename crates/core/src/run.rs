//! The run projection: from one step to the whole training run. Failures and
//! checkpoints stretch the ideal time ([`reliability`](crate::reliability)); the power
//! model turns time into energy, carbon and water ([`power`](crate::power)).
//!
//! This is the pipeline layer: it reads the [`Scenario`], the [`StepResult`] and the
//! [`Timeline`] and hands the power model plain numbers (counts, phase times, sampled
//! busy fractions), so that `power` depends on neither `step` nor `scenario`.

use crate::fabric::Inventory;
use crate::power::{
    power_report, run_footprint, Busy, BusyProfile, GpuState, Phase, PowerInputs, PowerReport,
    RunFootprint,
};
use crate::reliability::{project_run, RunProjection};
use crate::scenario::Scenario;
use crate::step::timeline::Stream;
use crate::step::{StepResult, Timeline};
use serde::Serialize;

/// Points of the power-over-time profile of one step.
pub const POWER_SAMPLES: usize = 200;

/// Everything past the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Optimizer steps to train the token budget.
    pub steps: f64,
    /// Failure-free training time, days.
    pub ideal_days: f64,
    /// Goodput and time to train.
    pub reliability: RunProjection,
    /// Power during training: the job's, with the site's beside it.
    pub power: PowerReport,
    /// Energy, carbon and water of the run (p50 wall time): the job's and the site's.
    pub footprint: RunFootprint,
    /// Job GPUs x p50 wall-clock hours.
    pub gpu_hours: f64,
}

/// Projects the run of a scenario from its step (and its timeline, when the step was
/// simulated as one: the power over the step then comes from it). Builds the fabric
/// once, for its switch inventory.
#[cfg(test)]
pub fn project(sc: &Scenario, step: &StepResult, timeline: Option<&Timeline>) -> RunReport {
    let inv = crate::fabric::Fabric::build(&sc.cluster.fabric_spec).inventory();
    project_with(sc, step, timeline, &inv)
}

/// [`project`] with the fabric's inventory already at hand.
pub fn project_with(
    sc: &Scenario,
    step: &StepResult,
    timeline: Option<&Timeline>,
    inv: &Inventory,
) -> RunReport {
    let steps = sc.run.steps();
    let work_hours = sc.run.work_hours(step.time.0);
    let reliability = reliability_of(sc, step.time.0, work_hours, &sc.reliability);
    let power = power_of(sc, step, timeline, inv);
    let wall_hours = reliability.days_p50 * 24.0;
    // Energy per token over the tokens the whole steps train, not the budget asked for.
    let footprint = run_footprint(
        &power,
        &sc.power,
        work_hours,
        wall_hours,
        sc.run.tokens_trained(),
    );
    RunReport {
        steps,
        ideal_days: work_hours / 24.0,
        gpu_hours: sc.job_gpus() as f64 * wall_hours,
        reliability,
        power,
        footprint,
    }
}

/// The job's power over its step and the site's beside it, from the timeline when the
/// step was simulated as one: `simulate`'s, and each job's of a mix (`jobs`).
pub fn power_of(
    sc: &Scenario,
    step: &StepResult,
    timeline: Option<&Timeline>,
    inv: &Inventory,
) -> PowerReport {
    let busy = timeline.map(|tl| busy_profile(tl, sc.plan.pp, POWER_SAMPLES));
    power_report(
        &power_inputs(sc, inv),
        &sc.power,
        step.time.0,
        &step_phases(step),
        busy.as_ref(),
    )
}

/// Failures, checkpoints and spares over `work_hours` of training at `step_s` per step:
/// the one projection `simulate`, `plan` and `reliability` share.
pub fn reliability_of(
    sc: &Scenario,
    step_s: f64,
    work_hours: f64,
    cfg: &crate::reliability::ReliabilityConfig,
) -> RunProjection {
    // A failure takes a whole host out, so only whole hosts stand in for one.
    let per_host = u64::from(sc.cluster.gpus_per_host.max(1));
    let spares = cfg.spare_gpus.unwrap_or(sc.spare_gpus()) / per_host * per_host;
    project_run(
        work_hours,
        step_s,
        sc.checkpoint_bytes(),
        sc.job_gpus(),
        sc.cluster.gpus_per_host,
        spares,
        cfg,
    )
}

/// The site's counts and the job's size for the power model.
pub fn power_inputs(sc: &Scenario, inv: &Inventory) -> PowerInputs {
    let endpoint_links = inv.links_by_tier.first().copied().unwrap_or(0);
    let switch_links = inv.links.saturating_sub(endpoint_links);
    PowerInputs {
        cluster_gpus: sc.cluster.gpus,
        job_gpus: sc.job_gpus(),
        gpus_per_node: sc.cluster.gpus_per_node,
        gpu_tdp_w: sc.cluster.gpu.tdp.0,
        nic_w: sc.cluster.nic.power.0,
        switches: inv.switches,
        switch_ports: inv
            .switches
            .saturating_mul(u64::from(sc.cluster.fabric_spec.radix)),
        switch_ports_used: endpoint_links.saturating_add(switch_links.saturating_mul(2)),
    }
}

/// The step's phases, averaged over the job's GPUs: compute, exposed communication and
/// the bubble (GPUs wait), the optimizer (memory-bound). The critical stage's breakdown
/// gives them, but every other stage computes for less of the step (it waits on the
/// critical one), and stages hold equal shares of the GPUs: the compute is the stages'
/// mean, the rest of the critical stage's compute waits.
pub fn step_phases(step: &StepResult) -> [Phase; 4] {
    let bd = &step.breakdown;
    let comm = bd.tp_comm.0 + bd.cp_comm.0 + bd.ep_comm.0 + bd.pp_comm.0 + bd.dp_comm.0;
    let critical = step
        .stages
        .get(step.critical_stage as usize)
        .map_or(0.0, |s| s.compute.0);
    let share = if critical > 0.0 && !step.stages.is_empty() {
        let mean = step.stages.iter().map(|s| s.compute.0).sum::<f64>() / step.stages.len() as f64;
        (mean / critical).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let compute = bd.compute.0 * share;
    [
        Phase {
            name: "compute",
            seconds: compute,
            state: GpuState::Compute,
        },
        Phase {
            name: "communication",
            seconds: comm,
            state: GpuState::Wait,
        },
        Phase {
            name: "bubble",
            seconds: bd.bubble.0 + (bd.compute.0 - compute),
            state: GpuState::Wait,
        },
        Phase {
            name: "optimizer",
            seconds: bd.optimizer.0,
            state: GpuState::Memory,
        },
    ]
}

/// The job's GPUs over one step from the timeline, in `samples` equal bins: each
/// stage's compute stream is busy (compute-bound, or memory-bound for the optimizer) or
/// not (waiting); stages hold equal shares of the job's GPUs.
pub fn busy_profile(tl: &Timeline, stages: u32, samples: usize) -> BusyProfile {
    let n = samples.max(2);
    let total = tl.time.0.max(1) as f64;
    let bin = total / n as f64;
    let stages = tl
        .spans
        .iter()
        .map(|s| s.stage as usize + 1)
        .max()
        .unwrap_or(0)
        .max(stages.max(1) as usize);
    // Per stage and bin: compute-bound and memory-bound busy time, in bins.
    let mut busy = vec![vec![Busy::default(); n]; stages];
    for sp in tl.spans.iter().filter(|s| s.stream == Stream::Compute) {
        let memory = sp.name == crate::step::timeline::SpanLabel::Optimizer;
        // The share of the span its GPU computes; it waits (at wait power) for the
        // exposed communication priced into it, spread evenly over the span.
        let computing = 1.0 - sp.exposed.0 as f64 / sp.dur.0.max(1) as f64;
        let (a, b) = (
            sp.start.0 as f64,
            sp.start.0.saturating_add(sp.dur.0) as f64,
        );
        let first = (a / bin) as usize;
        let last = ((b / bin) as usize).min(n - 1);
        for k in first..=last {
            let lo = (k as f64 * bin).max(a);
            let hi = ((k + 1) as f64 * bin).min(b);
            if hi > lo {
                let cell = &mut busy[sp.stage as usize][k];
                if memory {
                    cell.memory += (hi - lo) / bin;
                } else {
                    cell.compute += (hi - lo) / bin * computing;
                }
            }
        }
    }
    let per_stage = 1.0 / stages as f64;
    let samples = (0..n)
        .map(|k| {
            busy.iter().fold(Busy::default(), |acc, st| {
                let c = st[k].compute.min(1.0);
                let m = st[k].memory.min(1.0 - c);
                Busy {
                    compute: acc.compute + c * per_stage,
                    memory: acc.memory + m * per_stage,
                }
            })
        })
        .collect();
    BusyProfile {
        step_s: tl.time.as_seconds().0,
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, ScenarioFile, ScenarioLayers};
    use crate::step::{simulate_step, simulate_timeline_step};

    fn scenario(name: &str) -> Scenario {
        let file = scenario::scenario_preset(name).unwrap();
        scenario::build(&ScenarioLayers {
            file: Some(file),
            ..Default::default()
        })
        .unwrap()
    }

    fn run_of(sc: &Scenario) -> RunReport {
        let step = simulate_step(sc);
        let (step, tl) = simulate_timeline_step(sc, step, &Default::default()).unwrap();
        project(sc, &step, Some(&tl))
    }

    #[test]
    fn busy_profile_follows_the_compute_stream() {
        use crate::step::timeline::{Span, SpanLabel};
        use crate::units::SimTime;
        let f = SpanLabel::Op {
            backward: false,
            mb: 0,
            chunk: 0,
        };
        let span = |stage, name: SpanLabel, start: u64, dur: u64| Span {
            stage,
            stream: Stream::Compute,
            name,
            start: SimTime(start),
            dur: SimTime(dur),
            flops: 0.0,
            bytes: 0.0,
            exposed: SimTime(0),
        };
        // Two stages over a 4 s step: stage 0 computes for the first 2 s, stage 1 for
        // the third second, then runs the optimizer for the last.
        let tl = Timeline {
            time: SimTime(4_000_000_000),
            stage_compute_end: vec![],
            stage_end: vec![],
            slowest_stage: 0,
            stage_busy: vec![],
            last_stage: 0,
            first_forward: SimTime::ZERO,
            stage_send_hold: None,
            stage_gather_hold: vec![],
            unscheduled_ops: 0,
            spans: vec![
                span(0, f, 0, 2_000_000_000),
                span(1, f, 2_000_000_000, 1_000_000_000),
                span(1, SpanLabel::Optimizer, 3_000_000_000, 1_000_000_000),
            ],
            memory: vec![],
        };
        let b = busy_profile(&tl, 2, 4);
        assert_eq!(b.step_s, 4.0);
        let got: Vec<(f64, f64)> = b.samples.iter().map(|s| (s.compute, s.memory)).collect();
        assert_eq!(got, vec![(0.5, 0.0), (0.5, 0.0), (0.5, 0.0), (0.0, 0.5)]);
        // A span on a stage beyond `stages` widens the count instead of panicking.
        let b = busy_profile(&tl, 1, 4);
        assert_eq!(b.samples[0].compute, 0.5);
    }

    /// A budget under one step still runs a whole step: its energy per token counts the
    /// tokens that step trains (it once divided by the budget, 100x too high).
    #[test]
    fn energy_per_token_counts_the_tokens_whole_steps_train() {
        let mut one = scenario("dgx-h100-llama3-70b");
        let step_tokens = (one.run.global_batch * one.run.seq_len) as f64;
        one.run.tokens = step_tokens;
        let mut tiny = one.clone();
        tiny.run.tokens = step_tokens / 100.0;
        let (a, b) = (run_of(&one), run_of(&tiny));
        assert_eq!((a.steps, b.steps), (1.0, 1.0));
        let (ja, jb) = (a.footprint.j_per_token, b.footprint.j_per_token);
        assert!(ja > 0.0 && (jb / ja - 1.0).abs() < 1e-9, "{ja} vs {jb}");
    }

    #[test]
    fn a_small_job_pays_for_its_share_not_the_site() {
        let small = scenario("dgx-h100-llama3-70b");
        assert_eq!(small.job_gpus(), 1024);
        let r = run_of(&small);
        let p = &r.power;
        assert!(p.it_mw < 3.0, "job IT {} MW", p.it_mw);
        // The job's GPUs are most of its draw, and the site is far bigger.
        let gpus = p
            .parts
            .iter()
            .find(|x| x.name == "gpus (training)")
            .unwrap();
        assert!(gpus.mw > 0.4 * p.it_mw, "{:?}", p.parts);
        assert!(
            p.site.it_mw > 3.0 * p.it_mw,
            "site {} job {}",
            p.site.it_mw,
            p.it_mw
        );
        assert_eq!(p.site.idle_gpus, small.cluster.gpus - 1024);
        assert_eq!(p.site.job_nodes, 128);
        // Every component: job + idle + unassigned = site.
        for s in &p.site.ledger {
            let sum = s.job_mw + s.idle_mw + s.unassigned_mw;
            assert!(
                (sum - s.site_mw).abs() <= 1e-9 * s.site_mw.max(1.0),
                "{s:?}"
            );
        }
        let site: f64 = p.site.ledger.iter().map(|s| s.site_mw).sum();
        assert!((site - p.site.facility_mw).abs() < 1e-9 * site);
        // Energy per token below the 405B default's (a model 5.8x bigger per token).
        let big = run_of(&scenario(scenario::DEFAULT_SCENARIO));
        assert!(
            r.footprint.j_per_token < 0.5 * big.footprint.j_per_token,
            "{} vs {} J/token",
            r.footprint.j_per_token,
            big.footprint.j_per_token
        );
        assert!(r.footprint.site.run_mwh > r.footprint.run_mwh);
        // The default job is nearly the whole site.
        let bp = &big.power;
        assert!(bp.it_mw > 0.95 * bp.site.it_mw && bp.it_mw < bp.site.it_mw);
        assert!(bp.swing_mw > 10.0 && bp.swing_source == "timeline");
        assert_eq!(bp.timeline.as_ref().map(Vec::len), Some(POWER_SAMPLES));
        // The peak is the timeline's highest draw, under every GPU computing at once
        // (a pipeline's stages never all do), over the average.
        let top = bp
            .timeline
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.1)
            .fold(0.0, f64::max);
        // Cooling and power delivery hold their mean over a step.
        let cooling = bp.it_mw * (bp.pue - 1.0);
        assert!(
            (bp.peak_it_mw - (top - cooling)).abs() < 1e-9,
            "{}",
            bp.peak_it_mw
        );
        assert!(bp.peak_it_mw > bp.it_mw);
        let site_gap = bp.site.peak_it_mw - bp.peak_it_mw;
        assert!((site_gap - (bp.site.it_mw - bp.it_mw)).abs() < 1e-9);
    }

    #[test]
    fn the_site_depends_on_the_job_only_through_busy_versus_idle_gpus() {
        let base = scenario("dgx-h100-llama3-70b");
        let mut f = scenario::scenario_preset("dgx-h100-llama3-70b").unwrap();
        f.parallel.dp = Some(64);
        f.training.gpus = None;
        f.training.global_batch = Some(1024);
        let bigger = scenario::build(&ScenarioLayers {
            file: Some(f),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(bigger.job_gpus(), 2048);
        let (a, b) = (run_of(&base).power, run_of(&bigger).power);
        let gpu_site = |p: &PowerReport| p.site.ledger[0].site_mw;
        let d_site = b.site.it_mw - a.site.it_mw;
        let d_gpus = gpu_site(&b) - gpu_site(&a);
        assert!((d_site - d_gpus).abs() < 1e-9, "{d_site} vs {d_gpus}");
        for (x, y) in a.site.ledger.iter().zip(&b.site.ledger).skip(1) {
            if x.name != "cooling and power delivery" {
                assert!((x.site_mw - y.site_mw).abs() < 1e-12, "{x:?} {y:?}");
            }
        }
        assert!((a.site.idle_it_mw - b.site.idle_it_mw).abs() < 1e-12);
        assert!(b.it_mw > 1.8 * a.it_mw);
    }

    #[test]
    fn the_grid_mix_comes_from_the_cluster() {
        let memphis = scenario(scenario::DEFAULT_SCENARIO);
        assert_eq!(memphis.power.grid.turbine_share, 0.25);
        assert_eq!(memphis.power.grid.grid_gco2_per_kwh, 283.5);
        let dgx = scenario("dgx-h100-llama3-70b");
        assert_eq!(dgx.power.grid.turbine_share, 0.0);
        // Another cluster under Memphis's scenario takes that cluster's grid.
        let mut flags = ScenarioFile::default();
        flags.cluster.preset = Some("dgx-h100".into());
        flags.training.gpus = Some(1024);
        let merged = ScenarioLayers::flags(flags).merge().unwrap();
        let moved = scenario::build_for_planning(&merged.file).unwrap();
        assert_eq!(moved.power.grid, dgx.power.grid);
        // A scenario's [power] still overrides the site.
        let mut f = scenario::scenario_preset("dgx-h100-llama3-70b").unwrap();
        f.power.turbine_share = Some(0.5);
        let sc = scenario::build(&ScenarioLayers {
            file: Some(f),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(sc.power.grid.turbine_share, 0.5);
    }

    #[test]
    fn projection_is_deterministic() {
        let sc = scenario("dgx-h100-llama3-70b");
        let (a, b) = (run_of(&sc), run_of(&sc));
        let text = |r: &RunReport| serde_json::to_string(&(&r.power, &r.footprint)).unwrap();
        assert_eq!(text(&a), text(&b));
        assert!(
            !text(&a).contains("null"),
            "a NaN became null: {}",
            text(&a)
        );
    }
}
