//! The one integration-test binary: runs the real `memphis` executable. One module per
//! topic; `util` holds the helpers.

mod cluster_commands;
mod consistency;
mod fabric;
#[cfg(unix)]
mod files;
mod hardening;
mod jobs;
mod model;
mod oom;
mod plan;
mod power;
mod presets;
mod reliability;
mod report;
mod schema;
mod simulate;
mod util;
mod validate;
