//! The `memphis` command line as a library: everything the binary does but `main`.
//! Embedders (the Python package, `crates/py`) reuse the flag definitions ([`cli`]), the
//! input reading and layer building ([`input`]), the error wording ([`errors`]), each
//! command's report ([`commands`]) and the HTML report ([`sinks::html`]).

pub mod cli;
pub mod commands;
pub mod errors;
pub mod input;
pub mod sinks;
