//! One entry point per question. The CLI, the HTML report and a Python package render
//! these reports; their serde output is the JSON, so a field added to a report appears
//! everywhere. This is the top layer of the core: it may use every other module, and no
//! other module uses it.

pub mod cluster;
pub mod collective;
pub mod fabric_bench;
pub mod reliability;
pub mod simulate;

pub use reliability::{reliability, ReliabilityOptions, ReliabilityReport};
pub use simulate::{resolve, simulate, Resolved, SimulateOptions, SimulationReport};
