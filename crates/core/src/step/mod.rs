//! One training step. [`analytical`] is the closed form: per-stage micro-batch times, the
//! pipeline schedule, and what communication is left exposed after overlap.

pub mod analytical;

pub use analytical::{simulate_step, simulate_step_with, Breakdown, StageTiming, StepResult};
