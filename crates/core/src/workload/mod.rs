//! The training job: the transformer, the parallel plan, the run, and what they imply per
//! GPU: FLOPs and bytes per op ([`ops`]) and memory ([`memory`]).

pub mod memory;
pub mod model;
pub mod ops;
pub mod plan;

pub use model::{MlpKind, ModelSpec, Moe};
pub use plan::{ParallelPlan, Precision, Recompute, TrainingRun};
