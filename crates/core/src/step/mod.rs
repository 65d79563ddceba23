//! One training step. [`analytical`] is the closed form: per-stage micro-batch times, the
//! pipeline schedule, and what communication is left exposed after overlap; the planner
//! uses it for speed. [`timeline`] replays the same costs as a discrete-event simulation
//! of Megatron's schedule (the default step model), and [`trace`] writes it for Perfetto.

pub mod analytical;
pub mod timeline;
pub mod trace;

pub use analytical::{simulate_step, simulate_step_with, Breakdown, StageTiming, StepResult};
pub use timeline::{Heterogeneity, Timeline};

use crate::units::Seconds;

/// Folds a timeline into a step result: its time, and a breakdown that adds up to it
/// (the per-micro-batch parts from the closed form; DP as the timeline exposed it; the
/// rest is pipeline bubble and waiting on slower stages).
pub fn with_timeline(mut step: StepResult, tl: &Timeline) -> StepResult {
    let time = tl.time.as_seconds();
    let s = tl.last_stage as usize;
    let opt = step.costs.dp.get(s).map_or(Seconds::ZERO, |d| d.2);
    let dp = (tl.stage_end[s].as_seconds() - tl.stage_compute_end[s].as_seconds() - opt)
        .max(Seconds::ZERO);
    let b = &mut step.breakdown;
    b.dp_comm = dp;
    b.optimizer = opt;
    let others =
        b.compute + b.tp_comm + b.cp_comm + b.ep_comm + b.pp_comm + b.dp_comm + b.optimizer;
    b.bubble = (time - others).max(Seconds::ZERO);
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

/// The step with the timeline as the step model.
pub fn simulate_timeline_step(
    sc: &crate::scenario::Scenario,
    base: StepResult,
    het: &Heterogeneity,
) -> (StepResult, Timeline) {
    let tl = timeline::simulate_timeline(sc, &base, het);
    (with_timeline(base, &tl), tl)
}
