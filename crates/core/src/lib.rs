//! memphis-core: the engine of memphis, a digital twin of AI training superclusters.
//!
//! Data flows one way (see ARCHITECTURE.md at the repository root):
//! [`scenario`] (parse, then validate) -> [`workload`] + [`hardware`] ->
//! [`step`] (using [`compute`] and [`net`]) -> results; [`validate`] compares results
//! with published runs. The core does no I/O and reads no clock.

#![warn(missing_docs)]
// Numerical loops over parallel arrays read more plainly with an index.
#![allow(clippy::needless_range_loop)]

pub mod api;
pub mod collective;
pub mod compute;
pub mod error;
pub mod fabric;
pub mod hardware;
pub mod net;
pub mod plan;
pub mod power;
pub mod reliability;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod step;
pub mod units;
pub mod validate;
pub mod workload;

pub use error::{Error, Result};
