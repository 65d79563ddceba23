//! Several jobs on one fabric: the jobs file (`[cluster]` and a `[[job]]` list), where
//! each job's servers are ([`placement`]), and how their collectives contend
//! ([`contention`]). `api::jobs` resolves each job's scenario and reports.

pub mod contention;
pub mod placement;

use crate::fabric::Routing;
use crate::scenario::{ClusterFile, ModelFile, ParallelFile, TrainingFile};
use serde::{Deserialize, Serialize};

/// Most jobs in one file (each is resolved and simulated twice per placement).
pub const MAX_JOBS: usize = 256;

/// A jobs file as parsed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobsFile {
    /// Display name of the mix.
    pub name: Option<String>,
    /// The cluster every job runs on (a preset and/or fields, as in a scenario).
    #[serde(default)]
    pub cluster: ClusterFile,
    /// Routing on the fabric: `adaptive` (default) or `ecmp`.
    pub routing: Option<Routing>,
    /// How the jobs' communication phases meet: `aligned` (default) or `busy`.
    pub overlap: Option<Overlap>,
    /// The jobs, placed in this order (explicit placements first).
    #[serde(default, rename = "job")]
    pub jobs: Vec<JobFile>,
}

/// `[[job]]`: a name, a scenario (a scenario preset and/or its model, parallel and
/// training sections), a GPU count and a placement.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// The job's name (required, unique).
    pub name: Option<String>,
    /// A scenario preset to start from (its cluster is replaced by the file's).
    pub preset: Option<String>,
    /// GPUs of the job: whole servers.
    pub gpus: Option<u64>,
    /// `packed` (default), `scattered` or `explicit`.
    pub placement: Option<PlacementKind>,
    /// For `packed`: start on a server, rack or array boundary (default `server`); a job
    /// no larger than the unit then stays inside one.
    pub align: Option<Align>,
    /// For `explicit`: the job's servers, rank order.
    pub servers: Option<Vec<u32>>,
    /// For `scattered`: the shuffle's seed (default: the job's index).
    pub seed: Option<u64>,
    /// The model section of a scenario.
    #[serde(default)]
    pub model: ModelFile,
    /// The parallel section of a scenario.
    #[serde(default)]
    pub parallel: ParallelFile,
    /// The training section of a scenario (`gpus` comes from the job's).
    #[serde(default)]
    pub training: TrainingFile,
    /// A whole model section read from the file `model.preset` names (the CLI reads it,
    /// as for a scenario file); it replaces the preset's model. Not a file field.
    #[serde(skip)]
    pub model_file: Option<ModelFile>,
}

/// Where a job's servers come from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum PlacementKind {
    /// Contiguous free servers, the first that fit (on the `align` unit's boundary).
    #[default]
    Packed,
    /// A seeded shuffle of the free servers: what a busy scheduler leaves.
    Scattered,
    /// The servers listed.
    Explicit,
}

/// The boundary a packed job starts on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Any server.
    #[default]
    Server,
    /// A rack.
    Rack,
    /// An array (the first fabric tier's unit).
    Array,
}

/// How the jobs' communication phases meet in time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Each kind of collective (DP, CP, PP, expert DP, EP) of every job at once; a job
    /// without that kind is quiet meanwhile.
    #[default]
    Aligned,
    /// No job is quiet: while the jobs with a kind send it, every job without that kind
    /// sends its heaviest (the kind with the most exposed time in its step). Jobs that
    /// all have the same kinds meet as in `aligned`.
    Busy,
}

/// Parses a jobs file; errors name the line.
pub fn parse_jobs(context: &str, text: &str) -> crate::Result<JobsFile> {
    crate::error::from_toml(context, text, false)
}
