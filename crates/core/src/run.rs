//! The run projection: from one step to the whole training run. Failures and
//! checkpoints stretch the ideal time ([`reliability`](crate::reliability)); the power
//! model turns time into energy, carbon and water ([`power`](crate::power)).

use crate::fabric::Fabric;
use crate::power::{power_report, run_footprint, PowerInputs, PowerReport, RunFootprint};
use crate::reliability::{project_run, RunProjection};
use crate::scenario::Scenario;
use crate::step::StepResult;
use serde::Serialize;

/// Everything past the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Optimizer steps to train the token budget.
    pub steps: f64,
    /// Failure-free training time, days.
    pub ideal_days: f64,
    /// Goodput and time to train.
    pub reliability: RunProjection,
    /// Power during training.
    pub power: PowerReport,
    /// Energy, carbon and water of the run (p50 wall time).
    pub footprint: RunFootprint,
    /// Job GPUs x p50 wall-clock hours.
    pub gpu_hours: f64,
}

/// Projects the run of a scenario from its step.
pub fn project(sc: &Scenario, step: &StepResult) -> RunReport {
    let steps = sc.run.steps();
    let work_hours = sc.run.work_hours(step.time.0);
    let reliability = reliability_of(sc, step.time.0, work_hours, &sc.reliability);
    let switches = Fabric::build(&sc.cluster.fabric_spec).inventory().switches;
    let inputs = PowerInputs {
        job_gpus: sc.job_gpus(),
        idle_gpus: sc.spare_gpus(),
        nodes: sc.cluster.nodes(),
        switches,
        gpu_tdp_w: sc.cluster.gpu.tdp.0,
    };
    let power = power_report(step, &inputs, &sc.power, sc.cluster.nic.power.0);
    let wall_hours = reliability.days_p50 * 24.0;
    let footprint = run_footprint(&power, &sc.power, work_hours, wall_hours);
    RunReport {
        steps,
        ideal_days: work_hours / 24.0,
        gpu_hours: sc.job_gpus() as f64 * wall_hours,
        reliability,
        power,
        footprint,
    }
}

/// Failures, checkpoints and spares over `work_hours` of training at `step_s` per step:
/// the one projection `simulate`, `plan` and `reliability` share.
pub fn reliability_of(
    sc: &Scenario,
    step_s: f64,
    work_hours: f64,
    cfg: &crate::reliability::ReliabilityConfig,
) -> RunProjection {
    let spares = cfg.spare_gpus.unwrap_or(sc.spare_gpus());
    project_run(
        work_hours,
        step_s,
        sc.model.total_params(),
        sc.job_gpus(),
        sc.cluster.gpus_per_node,
        spares,
        cfg,
    )
}
