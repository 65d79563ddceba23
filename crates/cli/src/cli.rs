//! Command-line definitions (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// memphis: predict how a training job runs on a GPU supercluster, in seconds.
#[derive(Debug, Parser)]
#[command(name = "memphis", version, about, long_about = None, allow_negative_numbers = true, after_help = "Examples:\n  memphis simulate                    the default: Llama 3.1 405B on the 100,000-GPU Memphis cluster\n  memphis simulate --model config.json --gpus 1024 --tp 8 --pp 4\n  memphis validate                    the published training runs and collectives\n\nExit codes: 0 success, 2 bad input, 1 internal error.")]
pub struct Cli {
    /// No progress bars or status lines on stderr.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict one training step and the whole run of a scenario.
    #[command(
        after_help = "Examples:\n  memphis simulate\n  memphis simulate dgx-h100-llama3-70b --json\n  memphis simulate my.toml --tp 4 --pp 8 --global-batch 2048\n  memphis simulate --model ./config.json --cluster dgx-h100 --gpus 512 --tp 8 --global-batch 512 --seq-len 4096"
    )]
    Simulate(Box<SimulateArgs>),
    /// Compare predictions with published measurements (case format v1).
    #[command(
        after_help = "Examples:\n  memphis validate                           every suite in the repository (validation/)\n  memphis validate --suite training --json\n  memphis validate --cases my_cases.toml     any file in case format v1"
    )]
    Validate(ValidateArgs),
    /// Print the cluster's inventory: GPUs, servers, racks, switches, links, bisection.
    #[command(after_help = "Examples:\n  memphis cluster\n  memphis cluster dgx-h100 --json")]
    Cluster(ClusterArgs),
    /// Solve one traffic pattern on the cluster's fabric (max-min fair flow rates).
    #[command(
        name = "fabric-bench",
        after_help = "Examples:\n  memphis fabric-bench --pattern permutation --gpus 100000 --routing ecmp\n  memphis fabric-bench --pattern all-to-all --gpus 8192 --routing adaptive --json"
    )]
    FabricBench(FabricBenchArgs),
    /// Predict a collective over a range of sizes, nccl-tests style.
    #[command(
        after_help = "Examples:\n  memphis collective all_reduce -g 8 -b 8 -e 16G\n  memphis collective all_reduce -g 100000 -b 1G -e 1G --network flow --routing ecmp\n  memphis collective all_reduce --compare all_reduce_perf.log"
    )]
    Collective(CollectiveArgs),
    /// Failures, checkpoints and goodput: job MTBF, the checkpoint interval, ETTR, spares.
    #[command(
        after_help = "Examples:\n  memphis reliability --gpus 16384 --days 54      the Llama 3 405B setting\n  memphis reliability --json"
    )]
    Reliability(ReliabilityArgs),
    /// Search the parallel plans for the fastest that fits; shard a sweep over many machines.
    #[command(
        after_help = "Examples:\n  memphis plan --top 5\n  memphis plan dgx-h100-llama3-70b --objective time-to-train --json\n  memphis plan --shard 3/8 --out shard3.json        # one slice of a sweep\n  memphis plan --merge shard*.json                  # the same top K as one run"
    )]
    Plan(PlanArgs),
    /// Print shell completions for bash, zsh or fish.
    #[command(
        after_help = "Example:\n  memphis completions bash > /etc/bash_completion.d/memphis"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// List the embedded clusters, models and scenarios.
    #[command(after_help = "Example:\n  memphis presets")]
    Presets,
}

/// `simulate` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct SimulateArgs {
    /// Scenario: a preset name (see `memphis presets`) or a TOML file. Default: memphis-405b.
    pub scenario: Option<String>,
    /// Print JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// `auto`: replace the scenario's plan by the planner's best.
    #[arg(long, value_name = "auto")]
    pub plan: Option<String>,
    /// Step model: the discrete-event timeline (default) or the closed form.
    #[arg(long, value_enum, default_value = "timeline")]
    pub step_model: StepModelArg,
    /// Write a self-contained HTML report (no network needed to view it).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Write the step's timeline as Chrome trace JSON (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,
    /// A straggler: this job GPU runs slower by --slowdown percent.
    #[arg(long, value_name = "INDEX")]
    pub slow_gpu: Option<u64>,
    /// A straggler server (job server index).
    #[arg(long, value_name = "INDEX")]
    pub slow_server: Option<u64>,
    /// A slow NIC link (of this job GPU).
    #[arg(long, value_name = "INDEX")]
    pub slow_link: Option<u64>,
    /// How much slower the straggler is, percent (0 to <100).
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub slowdown: f64,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// Flags that override single fields of the scenario.
#[derive(Debug, Args, Default)]
pub struct OverrideArgs {
    /// Cluster preset (replaces the scenario's cluster).
    #[arg(long, value_name = "PRESET")]
    pub cluster: Option<String>,
    /// Model: a preset name, a Hugging Face config.json, or a TOML model file.
    #[arg(long, value_name = "NAME|FILE")]
    pub model: Option<String>,
    /// GPU catalog name (e.g. H200-SXM-141GB).
    #[arg(long)]
    pub gpu: Option<String>,
    /// GPUs in the job (dp is re-derived).
    #[arg(long, short = 'g')]
    pub gpus: Option<u64>,
    /// Tensor parallel size.
    #[arg(long)]
    pub tp: Option<u32>,
    /// Pipeline parallel size.
    #[arg(long)]
    pub pp: Option<u32>,
    /// Virtual pipeline chunks per stage (interleaved 1F1B when > 1).
    #[arg(long)]
    pub vpp: Option<u32>,
    /// Context parallel size.
    #[arg(long)]
    pub cp: Option<u32>,
    /// Expert parallel size (divides dp).
    #[arg(long)]
    pub ep: Option<u32>,
    /// Data parallel size.
    #[arg(long)]
    pub dp: Option<u32>,
    /// Sequences per micro-batch.
    #[arg(long)]
    pub micro_batch: Option<u32>,
    /// Sequences per optimizer step.
    #[arg(long)]
    pub global_batch: Option<u64>,
    /// Tokens per sequence.
    #[arg(long)]
    pub seq_len: Option<u64>,
    /// Tokens to train on (e.g. 15e12).
    #[arg(long)]
    pub tokens: Option<f64>,
    /// GEMM precision.
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// Activation recomputation.
    #[arg(long, value_enum)]
    pub recompute: Option<RecomputeArg>,
    /// Sequence parallelism with TP.
    #[arg(long, value_name = "BOOL")]
    pub sequence_parallel: Option<bool>,
    /// Optimizer state sharded over DP.
    #[arg(long, value_name = "BOOL")]
    pub distributed_optimizer: Option<bool>,
    /// Network fidelity: analytical (fast, default) or flow (the fabric graph).
    #[arg(long, value_enum)]
    pub network: Option<NetworkArg>,
    /// Routing on the fabric at flow level.
    #[arg(long, value_enum)]
    pub routing: Option<RoutingArg>,
    /// Seed of the failure Monte Carlo.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `--precision` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrecisionArg {
    /// FP16 with loss scaling.
    Fp16,
    /// BF16.
    Bf16,
    /// FP8 GEMMs.
    Fp8,
}

/// `--recompute` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RecomputeArg {
    /// Keep all activations.
    None,
    /// Recompute the attention core.
    Selective,
    /// Recompute whole layers.
    Full,
}

/// Step models.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StepModelArg {
    /// Discrete-event simulation of the pipeline schedule.
    Timeline,
    /// Closed form (what the planner uses).
    Analytical,
}

/// `validate` flags.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Step model for training cases.
    #[arg(long, value_enum, default_value = "timeline")]
    pub step_model: StepModelArg,
    /// Case file (format v1): training or collective cases. Default: every suite of the
    /// repository (`validation/`), compiled into the binary.
    #[arg(long, value_name = "FILE", conflicts_with = "suite")]
    pub cases: Option<PathBuf>,
    /// Run only this compiled-in suite: `training` or `collectives`.
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `cluster` flags.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Scenario (preset or TOML file) whose cluster to describe. Default: memphis-405b.
    pub scenario: Option<String>,
    /// A cluster preset instead of the scenario's.
    #[arg(long, value_name = "PRESET")]
    pub cluster: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Traffic patterns.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PatternArg {
    /// Each GPU to the same-rail GPU of the next server.
    Ring,
    /// A random permutation (seeded).
    Permutation,
    /// Every GPU to every other.
    AllToAll,
}

/// Routing modes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoutingArg {
    /// One hashed path per flow.
    Ecmp,
    /// Packet spraying over all equal-cost paths.
    Adaptive,
}

/// `fabric-bench` flags.
#[derive(Debug, Args)]
pub struct FabricBenchArgs {
    /// Traffic pattern.
    #[arg(long, value_enum)]
    pub pattern: PatternArg,
    /// GPUs taking part (the first N of the cluster). Default: all.
    #[arg(long, short = 'g')]
    pub gpus: Option<u64>,
    /// Routing mode.
    #[arg(long, value_enum, default_value = "ecmp")]
    pub routing: RoutingArg,
    /// Cluster preset. Default: memphis.
    #[arg(long, value_name = "PRESET", default_value = "memphis")]
    pub cluster: String,
    /// Seed of the permutation and of the ECMP hash.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Collective operations, named as nccl-tests names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OpArg {
    /// all_reduce_perf
    #[value(name = "all_reduce")]
    AllReduce,
    /// all_gather_perf
    #[value(name = "all_gather")]
    AllGather,
    /// reduce_scatter_perf
    #[value(name = "reduce_scatter")]
    ReduceScatter,
    /// alltoall_perf
    #[value(name = "all_to_all", alias = "alltoall")]
    AllToAll,
}

/// Network fidelity.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum NetworkArg {
    /// NCCL's alpha-beta model per tier.
    Analytical,
    /// Flows on the fabric graph, all groups at once.
    Flow,
}

/// `collective` flags.
#[derive(Debug, Args)]
pub struct CollectiveArgs {
    /// The collective.
    #[arg(value_enum)]
    pub op: OpArg,
    /// GPUs in the communicator (the first N of the cluster). Default: 8, or the log's ranks.
    #[arg(short = 'g', long)]
    pub gpus: Option<u64>,
    /// Smallest size (8, 64K, 1M, 16G).
    #[arg(short = 'b', long = "minbytes", default_value = "8")]
    pub min_bytes: String,
    /// Largest size.
    #[arg(short = 'e', long = "maxbytes", default_value = "16G")]
    pub max_bytes: String,
    /// Size step factor.
    #[arg(short = 'f', long = "stepfactor", default_value_t = 2)]
    pub factor: u64,
    /// Cluster preset.
    #[arg(long, default_value = "memphis")]
    pub cluster: String,
    /// Network fidelity.
    #[arg(long, value_enum, default_value = "analytical")]
    pub network: NetworkArg,
    /// Routing (flow level).
    #[arg(long, value_enum, default_value = "adaptive")]
    pub routing: RoutingArg,
    /// nccl-tests output to compare against, size by size.
    #[arg(long, value_name = "LOG")]
    pub compare: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `reliability` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ReliabilityArgs {
    /// Scenario (preset or TOML file). Default: memphis-405b.
    pub scenario: Option<String>,
    /// GPUs in the job (of the scenario's GPU type). Default: the scenario's job.
    #[arg(long, short = 'g')]
    pub gpus: Option<u64>,
    /// Report the interruptions expected in this many days of training.
    #[arg(long)]
    pub days: Option<f64>,
    /// Hot spare GPUs. Default: the cluster's GPUs the job leaves free.
    #[arg(long)]
    pub spares: Option<u64>,
    /// Checkpoint interval in minutes. Default: Daly's optimum.
    #[arg(long, value_name = "MIN")]
    pub checkpoint_interval_min: Option<f64>,
    /// Seed of the Monte Carlo.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Planner objectives.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Step time.
    Step,
    /// Time to train the token budget, with failures.
    TimeToTrain,
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Scenario (preset or TOML file). Default: memphis-405b.
    pub scenario: Option<String>,
    /// How many plans to show.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// What to rank by.
    #[arg(long, value_enum, default_value = "step")]
    pub objective: ObjectiveArg,
    /// Evaluate only slice I of N (1-based), for a sweep over many machines.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Write the (shard's) result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Merge shard files into the result of one unsharded search.
    #[arg(long, value_name = "FILES", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Shells with completions.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShellArg {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}
