//! One entry point per question: the CLI, the HTML report and a Python package render
//! these reports; their serde output is the JSON.

pub mod cluster;
pub mod collective;
pub mod fabric_bench;
