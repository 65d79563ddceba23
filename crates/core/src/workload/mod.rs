//! The training job: the transformer, the parallel plan, the run, and what they imply per
//! GPU: FLOPs and bytes per op ([`ops`]), memory ([`memory`]), and where the ranks sit
//! and which communicators they form ([`layout`]).

pub mod layout;
pub mod memory;
pub mod model;
pub mod ops;
pub mod plan;
pub mod schedule;

pub(crate) use layout::RankLayout;
pub use model::{MlpKind, ModelSpec, Moe};
pub use plan::{ParallelPlan, Precision, Recompute, TrainingRun};
