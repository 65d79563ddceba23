//! Command-line definitions (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use memphis_core::collective::CollectiveOp;
use memphis_core::fabric::bench::Pattern;
use memphis_core::fabric::Routing;
use memphis_core::plan::Objective;
use memphis_core::scenario::NetworkModel;
use memphis_core::scenario::{ParallelFile, TrainingFile};
use memphis_core::step::StepModel;
use std::path::PathBuf;

/// memphis: predict how a training job runs on a GPU supercluster, in seconds.
#[derive(Debug, Parser)]
#[command(name = "memphis", version, about, long_about = None, allow_negative_numbers = true, after_help = "Examples:\n  memphis simulate                    the default: Llama 3.1 405B on the 100,000-GPU Memphis cluster\n  memphis simulate --model config.json --gpus 1024 --tp 8 --pp 4\n  memphis model config.json           what memphis reads from a Hugging Face config.json\n  memphis validate                    the published training runs and collectives\n\nExit codes: 0 success, 2 bad input (an output path whose directory is missing or not writable included), 1 an output that could not be written once the work was done (a full disk) or an internal error.")]
pub struct Cli {
    /// Nothing on stderr but errors: no progress bars, status lines, notes or warnings (a
    /// report's own notes stay in it).
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
        after_help = "Examples:\n  memphis simulate\n  memphis simulate dgx-h100-llama3-70b --json\n  memphis simulate my.toml --tp 4 --pp 8 --global-batch 2048\n  memphis simulate --model ./config.json --cluster dgx-h100 --gpus 512 --tp 8 --global-batch 512 --seq-len 4096\n\nBounds: a timeline of at most 4,000,000 ops (past it, an error suggests --step-model analytical); clusters up to 4,000,000 GPUs; the failure Monte Carlo simulates up to 50,000 interruptions per trial (past it, the analytic expectation, said in a note); a plan that does not fit in memory is refused (--allow-oom runs it). Past 1 s on a terminal, a line on stderr shows which computation runs and how far it has got."
    )]
    Simulate(Box<SimulateArgs>),
    /// Compare predictions with published measurements (case formats v1 and v2).
    #[command(
        after_help = "Examples:\n  memphis validate                           every suite in the repository (validation/)\n  memphis validate --suite training --json\n  memphis validate --cases my_cases.toml     any file in case format v1 or v2\n  memphis validate --cases examples/cases/deepseek_v3.toml   a v2 case (in the repository): the model as a [case.model] table\n  memphis validate --scenario megatron_h100_weak_32B -o c.toml && memphis simulate c.toml   where a case's time goes\n\nCase formats (validation/README.md in the repository): v1 gives the model as flat fields (layers, hidden,\nheads, ...); v2 as a [case.model] table with the fields of a scenario's [model] section\n(MoE widths, shared experts, dense layers, MLA, windows, MTP, a preset or a config.json\nas preset = \"FILE\", found from the case file's folder) and adds etp.\nA case with a [case.model] table is v2; one file may hold both."
    )]
    Validate(ValidateArgs),
    /// Print the cluster's inventory: GPUs, servers, racks, switches, links, bisection.
    #[command(
        after_help = "Examples:\n  memphis cluster                             # the Memphis cluster\n  memphis cluster --cluster dgx-a100\n  memphis cluster --cluster dgx-h100 --json\n  memphis cluster dgx-h100-llama3-70b         # a scenario's cluster\n  memphis cluster --cluster presets/clusters/dgx-h100.toml   # a cluster file (from the repository root)"
    )]
    Cluster(ClusterArgs),
    /// Solve one traffic pattern on the cluster's fabric (max-min fair flow rates).
    #[command(
        name = "fabric-bench",
        after_help = "Examples:\n  memphis fabric-bench --pattern permutation --routing ecmp   # ECMP collisions at 100,000 GPUs\n  memphis fabric-bench --pattern ring --cluster dgx-h100 --gpus 8192\n  memphis fabric-bench --pattern all-to-all --gpus 1024 --routing adaptive --json\n  memphis fabric-bench --pattern permutation --cluster dgx-a100 --timing"
    )]
    FabricBench(FabricBenchArgs),
    /// Predict a collective over a range of sizes, nccl-tests style.
    #[command(
        after_help = "Examples:\n  memphis collective all_reduce -g 8 -b 8 -e 16G\n  memphis collective all_gather --cluster dgx-h100 -g 64 -b 1K -e 1G -f 4 --json\n  memphis collective all_reduce -g 100000 -b 1G -e 1G --network flow --routing ecmp\n  all_reduce_perf -b 8 -e 8G -f 2 -g 8 > ar.log   # nccl-tests, on your cluster\n  memphis collective all_reduce --compare ar.log"
    )]
    Collective(CollectiveArgs),
    /// Failures, checkpoints and goodput: job MTBF, the checkpoint interval, ETTR, spares.
    #[command(
        after_help = "Examples:\n  memphis reliability --gpus 16384 --days 54      # the Llama 3 405B setting\n  memphis reliability --json\n\nBounds: the Monte Carlo jumps from failure to failure (its work grows with failures, not checkpoints), up to 50,000 interruptions per trial (past it, the analytic expectation, said in a note) and 100,000 trials, fewer (at least 20) where they would simulate more than 2,000,000 interruptions in all. Past 1 s on a terminal, a line on stderr shows how far it has got."
    )]
    Reliability(ReliabilityArgs),
    /// The grid's view: the site's facility power over a window, its ramps, spectrum and
    /// drops, and what a power floor, a cap, a battery or a staggered restart changes.
    #[command(
        after_help = "Examples:\n  memphis power                                  10 minutes of the default job at 100 ms\n  memphis power --window 1h --failure-at 20m --json\n  memphis power --mitigation battery --ramp-limit 1 --csv power.csv --html power.html\n  memphis power dgx-h100-llama3-70b --window 30s --resolution 1ms\n\nDurations: a number with a unit, ms, s, m, h or d (1.5h, 100ms); a bare number is seconds.\n\nBounds: a window from 1 ms to 7 days; a resolution from 1 ms to the window; at most 2,000,000 samples (window / resolution: 1 day at 50 ms, 1 h at 2 ms) and 5,000,000 training steps per window. Past a bound, an error names the flag (exit 2). A window not a whole number of samples is rounded up, a --drop-within under one sample raised to one, each with a note; a note also warns when the step rate or its 2nd or 3rd harmonic is past the Nyquist frequency (the spectrum's lines there are aliases), and when 10 ms samples see training ramp over 1.25 times faster than the samples asked, and past the ramp limit (ramps are changes between samples: coarse ones average short swings away).\n\nDrops: the largest is the largest fall within --drop-within anywhere, whatever --drop-mw; the count is of distinct falls over --drop-mw. The battery's energy cost is its losses; the charge left in it at the end is shown apart."
    )]
    Power(Box<PowerArgs>),
    /// Search the parallel plans for the fastest that fits; shard a sweep over many machines.
    #[command(
        after_help = "Examples:\n  memphis plan --top 5\n  memphis plan dgx-h100-llama3-70b --objective time-to-train --json\n  memphis plan --shard 3/8 --out shard3.json        # one slice of a sweep\n  memphis plan --merge shard*.json                  # the same top K as one run\n\nBounds: every plan is priced by the closed form (plans that do not fit are rejected on memory first); the best 256 are re-ranked by the timeline within 8,000,000 timeline ops together. Past 1 s on a terminal, a line on stderr shows how far the search has got."
    )]
    Plan(PlanArgs),
    /// Show a model as memphis reads it: layers by kind, attention, MLP, parameters.
    #[command(
        after_help = "Examples:\n  memphis model llama3-405b                    # a preset (see `memphis presets`)\n  memphis model path/to/config.json            # a Hugging Face config.json (MoE, MLA, windows, MTP)\n  memphis model crates/core/testdata/hf/deepseek-v3.json --json   # (from the repository root)\n  memphis model presets/models/grok-1.toml     # a TOML model file (the fields of [model]; from the repository root)\n\nWhat the config has that memphis does not model is listed under \"warnings\"; a hybrid\n(Mamba, linear attention) is an error."
    )]
    Model(ModelArgs),
    /// Several jobs on one fabric: each job's step alone and with the others, and the
    /// shared links that bind.
    #[command(
        after_help = "Examples (the files are in the repository's examples/jobs/):\n  memphis jobs examples/jobs/memphis-mix.toml\n  memphis jobs examples/jobs/memphis-mix.toml --routing ecmp --overlap busy --json\n  memphis jobs examples/jobs/two-jobs.toml --html jobs.html\n\nThe file: a [cluster] section (as in a scenario; default the Memphis cluster), optional routing and overlap, and [[job]] sections: name, gpus (whole servers), a scenario (preset = a scenario preset, and/or [job.model], [job.parallel], [job.training]), placement = packed (the default; align = server|rack|array), scattered (seed) or explicit (servers = [...]); a plan that does not fit in memory is refused, as simulate refuses it.\n\nWhat is modelled: each job's DP, CP, PP, expert-DP rings and EP all-to-all phases as fabric flows from its servers' GPUs, solved max-min fair with the other jobs' (one round per kind: `aligned` has every job with that kind sending it at once, `busy` has every job without that kind send its heaviest meanwhile); each kind's slowest-flow rate derates that kind's collectives in the job's step, against the same solve alone on the same servers.\n\nBounds: 1 to 256 jobs, each of whole servers, none sharing a server, on a cluster of up to 4,000,000 GPUs; each job's timeline at most 4,000,000 ops. Past a bound, or a job that does not fit, an error names the job, field and value (exit 2)."
    )]
    Jobs(JobsArgs),
    /// Compare placement policies for several jobs: which keeps the first (frontier)
    /// job's slowdown under a target.
    #[command(
        after_help = "Examples (the files are in the repository's examples/jobs/):\n  memphis place examples/jobs/memphis-mix.toml\n  memphis place examples/jobs/memphis-mix.toml --routing ecmp --target-slowdown 2% --json\n  memphis place examples/jobs/memphis-mix.toml --html place.html\n\nPolicies: the file's own placements, every job packed, packed within arrays (align = array), scattered. A job's slowdown: its step with the others over its fastest step alone under any of the policies, so a placement slow by itself counts. The recommendation: among the policies within the target for the first job, the one whose worst job slows down least.\n\nBounds: 1 to 256 jobs, each of whole servers, none sharing a server, on a cluster of up to 4,000,000 GPUs; each job's timeline at most 4,000,000 ops. Past a bound, or a job that does not fit, an error names the job, field and value (exit 2)."
    )]
    Place(PlaceArgs),
    /// Print shell completions for bash, zsh or fish.
    #[command(
        after_help = "Example:\n  memphis completions bash > /etc/bash_completion.d/memphis"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum, ignore_case = true)]
        shell: ShellArg,
    },
    /// Print the JSON Schema of a command's `--json` report.
    #[command(
        after_help = "Examples:\n  memphis schema simulate > simulate.schema.json\n  memphis schema collective"
    )]
    Schema {
        /// The command whose report to describe.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(memphis_core::api::REPORTS))]
        report: String,
    },
    /// List the embedded clusters, models and scenarios.
    #[command(after_help = "Example:\n  memphis presets")]
    Presets,
}

/// `simulate` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
#[command(group(clap::ArgGroup::new("straggler").multiple(true)))]
pub struct SimulateArgs {
    /// Print JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// `auto`: replace the scenario's plan by the planner's best. It keeps the plan
    /// fields you wrote (flags, your scenario file's [parallel]) and chooses the rest; a
    /// preset's plan it replaces.
    #[arg(long, value_name = "auto")]
    pub plan: Option<String>,
    /// Step model: the discrete-event timeline (default) or the closed form.
    #[arg(long, value_enum, ignore_case = true, default_value = "timeline")]
    pub step_model: StepModel,
    /// Write a self-contained HTML report (no network needed to view it).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Write the step's timeline as Chrome trace JSON (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,
    /// A straggler: this job GPU's speed drops by --slowdown percent.
    #[arg(long, value_name = "INDEX", group = "straggler", value_parser = memphis_core::scenario::count_or_none_u64, allow_hyphen_values = true)]
    pub slow_gpu: Option<u64>,
    /// A straggler server (job server index).
    #[arg(long, value_name = "INDEX", group = "straggler", value_parser = memphis_core::scenario::count_or_none_u64, allow_hyphen_values = true)]
    pub slow_server: Option<u64>,
    /// A slow NIC link (of this job GPU).
    #[arg(long, value_name = "INDEX", group = "straggler", value_parser = memphis_core::scenario::count_or_none_u64, allow_hyphen_values = true)]
    pub slow_link: Option<u64>,
    /// How much the straggler's speed drops, percent (0 to 99; with --slow-gpu,
    /// --slow-server or --slow-link): its work takes 1 / (1 - PCT/100) as long, so 50
    /// doubles it, 10 adds 11%.
    #[arg(
        long,
        value_name = "PCT",
        default_value_t = 10.0,
        requires = "straggler"
    )]
    pub slowdown: f64,
    /// Run a plan that does not fit in GPU memory anyway; the report says so first.
    /// Without it such a plan is refused: its memory is shown, exit code 2.
    #[arg(long)]
    pub allow_oom: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// The scenario and the flags that override single fields of it: the same for every
/// command that runs a job (`simulate`, `plan`, `reliability`, `power`).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Scenario")]
pub struct ScenarioArgs {
    /// Scenario: a preset name (see `memphis presets`) or a TOML file. Default: memphis-405b.
    pub scenario: Option<String>,
    /// The cluster: a preset (see `memphis presets`) or a TOML file with the fields of a
    /// scenario's [cluster] section (replaces the scenario's cluster).
    #[arg(long, value_name = "PRESET|FILE.toml")]
    pub cluster: Option<String>,
    /// Model: a preset name, a Hugging Face config.json, or a TOML model file.
    #[arg(long, value_name = "NAME|FILE")]
    pub model: Option<String>,
    /// GPU catalog name (e.g. H200-SXM-141GB, B200).
    #[arg(long)]
    pub gpu: Option<String>,
    #[command(flatten)]
    pub parallel: ParallelFile,
    #[command(flatten)]
    pub training: TrainingFile,
    /// Network fidelity: analytical (fast, default) or flow (the fabric graph).
    #[arg(long, value_enum, ignore_case = true)]
    pub network: Option<NetworkModel>,
    /// Routing on the fabric at flow level.
    #[arg(long, value_enum, ignore_case = true)]
    pub routing: Option<Routing>,
    /// Seed of the failure Monte Carlo (and of `power`'s step-to-step jitter).
    #[arg(long, value_parser = seed_value, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// Hot spare GPUs, counted in whole servers (a failure takes a whole server out).
    /// Default: the cluster's GPUs the job leaves free. [reliability] spare_gpus.
    #[arg(long, value_parser = memphis_core::scenario::count_or_none_u64)]
    pub spares: Option<u64>,
    /// Checkpoint interval, to the nearest whole step: a bare number is minutes, or give
    /// a unit (90s, 1.5h). Default: Daly's optimum. [reliability] checkpoint_interval_min.
    #[arg(long, value_name = "MIN", value_parser = parse_minutes, allow_hyphen_values = true)]
    pub checkpoint_interval_min: Option<f64>,
}

/// `validate` flags.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Step model for training cases.
    #[arg(long, value_enum, ignore_case = true, default_value = "timeline")]
    pub step_model: StepModel,
    /// Case file (format v1 or v2): training or collective cases. Default: every suite of the
    /// repository (`validation/`), compiled into the binary.
    #[arg(long, value_name = "FILE", conflicts_with = "suite")]
    pub cases: Option<PathBuf>,
    /// Run only this compiled-in suite: `training` or `collectives`.
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    /// Print the scenario (TOML) that training case ID runs as, instead of comparing: run
    /// it through `simulate` to see where the case's predicted time goes. The case is
    /// looked up in --cases or --suite, else in every suite. The step model is not part
    /// of a scenario: give `simulate` its --step-model.
    #[arg(long, value_name = "ID", conflicts_with_all = ["json", "step_model"])]
    pub scenario: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report (or the scenario) to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `cluster` flags.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Scenario (preset or TOML file) whose cluster to describe (its job is not looked at),
    /// or a cluster preset.
    pub scenario: Option<String>,
    /// The cluster: a preset (see `memphis presets`) or a TOML file with the fields of a
    /// scenario's [cluster] section. Wins over SCENARIO. Default: memphis.
    #[arg(long, value_name = "PRESET|FILE.toml")]
    pub cluster: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `model` flags.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: a preset name, a Hugging Face config.json, a TOML model file, or a
    /// scenario file (its model).
    #[arg(value_name = "PRESET|FILE")]
    pub model: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `fabric-bench` flags.
#[derive(Debug, Args)]
pub struct FabricBenchArgs {
    /// Traffic pattern.
    #[arg(long, value_enum, ignore_case = true)]
    pub pattern: Pattern,
    /// GPUs taking part (the first N of the cluster). Default: all.
    #[arg(long, short = 'g', value_parser = whole_gpus, allow_hyphen_values = true)]
    pub gpus: Option<u64>,
    /// Routing mode: adaptive by default, as simulate, collective and jobs route; ecmp
    /// shows what hash collisions cost.
    #[arg(long, value_enum, ignore_case = true, default_value = "adaptive")]
    pub routing: Routing,
    /// The cluster: a preset (see `memphis presets`) or a TOML file with the fields of a
    /// scenario's [cluster] section.
    #[arg(long, value_name = "PRESET|FILE.toml", default_value = "memphis")]
    pub cluster: String,
    /// Seed of the permutation and of the ECMP hash.
    #[arg(long, default_value_t = 1, value_parser = memphis_core::scenario::count_or_none_u64, allow_hyphen_values = true)]
    pub seed: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Add the solve's wall time and the peak memory (solve_ms, peak_rss_mib), which vary
    /// from run to run, to the output.
    #[arg(long)]
    pub timing: bool,
}

/// `collective` flags.
#[derive(Debug, Args)]
pub struct CollectiveArgs {
    /// The collective, named as nccl-tests names it (any case).
    #[arg(value_enum, ignore_case = true)]
    pub op: CollectiveOp,
    /// GPUs in the communicator (the first N of the cluster). Default: 8, or the log's ranks.
    #[arg(short = 'g', long, value_parser = whole_gpus, allow_hyphen_values = true)]
    pub gpus: Option<u64>,
    /// Ranks of the communicator on each server: the first N GPUs of each server in turn,
    /// as a training job's data-parallel group has 1 a server under TP8 and 2 under TP4
    /// (`simulate` lists its groups so). Default: every GPU of a server.
    #[arg(long, value_name = "N", value_parser = per_server_count, allow_hyphen_values = true)]
    pub per_server: Option<u32>,
    /// Smallest size (8, 64K, 1M, 16G).
    #[arg(
        short = 'b',
        long = "minbytes",
        allow_hyphen_values = true,
        default_value = "8"
    )]
    pub min_bytes: String,
    /// Largest size.
    #[arg(
        short = 'e',
        long = "maxbytes",
        allow_hyphen_values = true,
        default_value = "16G"
    )]
    pub max_bytes: String,
    /// Size step factor: each size is the last times it, as nccl-tests' -f.
    #[arg(short = 'f', long = "stepfactor", default_value_t = 2, value_parser = step_factor, allow_hyphen_values = true)]
    pub factor: u64,
    /// The cluster: a preset (see `memphis presets`) or a TOML file with the fields of a
    /// scenario's [cluster] section.
    #[arg(long, value_name = "PRESET|FILE.toml", default_value = "memphis")]
    pub cluster: String,
    /// Network fidelity: analytical (NCCL's alpha-beta model) or flow (this
    /// communicator's ring or all-to-all routed alone on the fabric graph, its binding
    /// links derating the NIC-bound rate).
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value = "analytical",
        hide_possible_values = true
    )]
    pub network: NetworkModel,
    /// Routing (flow level) [default: adaptive].
    #[arg(long, value_enum, ignore_case = true)]
    pub routing: Option<Routing>,
    /// nccl-tests output to compare against, size by size.
    #[arg(long, value_name = "LOG")]
    pub compare: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `reliability` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ReliabilityArgs {
    /// Report the interruptions expected in this many calendar days, at the job's rates
    /// (as Llama 3's 54-day count was taken; `over the run` counts the run's own days).
    #[arg(long)]
    pub days: Option<f64>,
    /// `auto`: replace the scenario's plan by the planner's best, as `simulate --plan
    /// auto` does.
    #[arg(long, value_name = "auto")]
    pub plan: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run a plan that does not fit in GPU memory anyway; the report says so first.
    /// Without it such a plan is refused: its memory is shown, exit code 2.
    #[arg(long)]
    pub allow_oom: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// `power` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct PowerArgs {
    /// `auto`: replace the scenario's plan by the planner's best, as `simulate --plan
    /// auto` does.
    #[arg(long, value_name = "auto")]
    pub plan: Option<String>,
    /// How long a stretch of training to show: 1 ms to 7 d; rounded up to a
    /// whole number of samples (a note says so).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration, allow_hyphen_values = true)]
    pub window: f64,
    /// Width of one sample: 1 ms to the window, at most 2,000,000 samples per window.
    /// Default: 100 ms, coarser where the window needs it (0.5 s for 7 d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub resolution: Option<f64>,
    /// A failure at this time into the window (above 0, before its end): the job stops,
    /// restarts, warms up.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub failure_at: Option<f64>,
    /// The mitigation in the headline figures, the series and the CSV (all four are
    /// compared in any case).
    #[arg(long, value_enum, ignore_case = true)]
    pub mitigation: Option<memphis_core::api::Mitigation>,
    /// The grid's ramp limit, MW/s: the battery is sized to hold it.
    #[arg(long, value_name = "MW_PER_S", default_value_t = 1.0)]
    pub ramp_limit: f64,
    /// Count drops larger than this, MW (the largest is reported whatever it is) ...
    #[arg(long, value_name = "MW", default_value_t = 10.0)]
    pub drop_mw: f64,
    /// ... within this long: whole samples, at least one (shorter is raised to one
    /// sample, with a note).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, allow_hyphen_values = true)]
    pub drop_within: f64,
    /// Print JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the series as CSV (t_s, facility_mw, then each load), atomically.
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
    /// Write a self-contained HTML report: the series, its spectrum, each mitigation.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Run a plan that does not fit in GPU memory anyway.
    #[arg(long)]
    pub allow_oom: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

/// `--top`: a count, as the scenario's counts are read.
fn top_count(text: &str) -> Result<usize, String> {
    memphis_core::scenario::count_u64(text).and_then(|n| {
        usize::try_from(n).map_err(|_| {
            format!(
                "{text} is more than {}",
                memphis_core::text::bound(usize::MAX as u64)
            )
        })
    })
}

/// `--per-server`: a count, as the scenario's counts are read.
fn per_server_count(text: &str) -> Result<u32, String> {
    memphis_core::scenario::count_u64(text).and_then(|n| {
        u32::try_from(n).map_err(|_| {
            format!(
                "{text} is more than {}",
                memphis_core::text::bound(u32::MAX as u64)
            )
        })
    })
}

/// `--seed`: a whole number. Past u64 the bound said is the seed's own (TOML's
/// integers, 2^63 - 1), which the scenario's check names for any u64 past it too.
fn seed_value(text: &str) -> Result<u64, String> {
    match memphis_core::scenario::count_or_none_u64(text) {
        Err(e) if e.contains(" is more than ") => Err(format!(
            "{text} is more than {}",
            memphis_core::text::bound(i64::MAX as u64)
        )),
        r => r,
    }
}

/// `-g`: a whole number, whose range the command checks against the cluster (and says
/// so, with the cluster's size).
fn whole_gpus(text: &str) -> Result<u64, String> {
    match memphis_core::scenario::count_or_none_u64(text) {
        Err(e) if !e.contains(" is more than ") => Err(format!("{text} is not a whole number")),
        r => r,
    }
}

/// nccl-tests' -f: a whole factor of at least 2 (it multiplies; it does not add).
fn step_factor(text: &str) -> Result<u64, String> {
    match memphis_core::scenario::count_u64(text) {
        Ok(n) if n >= 2 => Ok(n),
        // Too large to be a number at all: said as such.
        Err(e) if e.contains(" is more than ") => Err(e),
        _ => Err(format!(
            "{text} is not a whole number of at least 2 (each size is the last times it, as nccl-tests' -f)"
        )),
    }
}

/// A duration: a number and a unit (ms, s, m, h, d), or a bare number of seconds; or
/// several with units, added up as a clock reads them (1h30m, 9m59.5s).
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    // Parts begin where a digit follows a unit's letter ("1h30m": "1h", "30m"); an
    // exponent's sign or digits follow an "e", which is no unit.
    let starts: Vec<usize> = t
        .char_indices()
        .zip(t.chars().skip(1))
        .filter(|((_, c), next)| {
            c.is_ascii_alphabetic() && *c != 'e' && *c != 'E' && next.is_ascii_digit()
        })
        .map(|((i, c), _)| i + c.len_utf8())
        .collect();
    if !starts.is_empty() {
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(starts)
            .chain(std::iter::once(t.len()))
            .collect();
        let mut total = 0.0;
        for w in bounds.windows(2) {
            let part = &t[w[0]..w[1]];
            // Each part with its own unit, none negative: `1h-30m` is no clock's reading.
            if !part.ends_with(|c: char| c.is_ascii_alphabetic()) || part.starts_with(['-', '+']) {
                return Err(format!(
                    "'{part}' of '{t}' is not a number with a unit: a duration is {DURATION_ALLOWED}"
                ));
            }
            total += parse_one_duration(part)?;
        }
        return Ok(total);
    }
    parse_one_duration(t)
}

/// What a duration may be, as errors say it.
const DURATION_ALLOWED: &str = "one number with a unit, ms, s, m, h or d (100ms, 10m, 1.5h), several added up (1h30m), or a bare number of seconds";

/// One number and its unit (or none: seconds).
fn parse_one_duration(t: &str) -> Result<f64, String> {
    // The unit is the trailing letters, so that an exponent (1e3, 1.5e3s) is the number's.
    let num = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[num.len()..];
    const ALLOWED: &str = DURATION_ALLOWED;
    // No number before the letters (NaN, inf, abc): not a duration at all, whatever
    // the letters would be as a unit.
    if !num.chars().any(|c| c.is_ascii_digit()) {
        return Err(format!("not a number: a duration is {ALLOWED}"));
    }
    let scale = unit_seconds(unit)?;
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v * scale),
        _ => Err(format!("not a finite number: a duration is {ALLOWED}")),
    }
}

/// Seconds in one of a duration's units (none is seconds).
fn unit_seconds(unit: &str) -> Result<f64, String> {
    Ok(match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("unknown unit '{unit}': use ms, s, m, h or d")),
    })
}

/// Minutes, for a flag named in minutes: a bare number is minutes, one with a unit
/// ([`parse_duration`]'s) is converted (90s is 1.5).
pub fn parse_minutes(text: &str) -> Result<f64, String> {
    const ALLOWED: &str =
        "minutes as a bare number (30, 0.5), or a duration with units, ms, s, m, h or d (90s, 1.5h, 1h30m)";
    let t = text.trim();
    let num = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if num.trim().is_empty() {
        return Err(ALLOWED.into());
    }
    // The range is the scenario's to check, so that its message names the field.
    if num.len() == t.len() {
        return num.trim().parse::<f64>().map_err(|_| ALLOWED.into());
    }
    parse_duration(t).map(|s| s / 60.0).map_err(|e| {
        if e.starts_with("unknown unit") {
            e
        } else {
            ALLOWED.into()
        }
    })
}

/// `plan` flags.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct PlanArgs {
    /// How many plans to show.
    #[arg(long, default_value_t = 5, value_parser = top_count, allow_hyphen_values = true)]
    pub top: usize,
    /// What to rank by.
    #[arg(long, value_enum, ignore_case = true, default_value = "step")]
    pub objective: Objective,
    /// Evaluate only slice I of N (1-based), for a sweep over many machines.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Write the (shard's) result as JSON to FILE.
    #[arg(long, short = 'o', visible_alias = "output", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Merge shard files into the result of one unsharded search.
    #[arg(long, value_name = "FILES", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// The bounds `--help` states are the engine's own constants.
    #[test]
    fn help_states_the_engines_bounds() {
        let mut cmd = Cli::command();
        let help = |name: &str, cmd: &mut clap::Command| {
            cmd.find_subcommand_mut(name)
                .unwrap()
                .render_long_help()
                .to_string()
        };
        let thousands = |n: u64| {
            let s = n.to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        let simulate = help("simulate", &mut cmd);
        for n in [
            memphis_core::step::MAX_TIMELINE_OPS,
            memphis_core::fabric::MAX_ENDPOINTS,
        ] {
            assert!(
                simulate.contains(&thousands(n)),
                "{n} missing from simulate --help"
            );
        }
        let plan = help("plan", &mut cmd);
        assert!(plan.contains(&thousands(memphis_core::plan::FINALIST_OPS)));
        assert!(plan.contains(&memphis_core::plan::FINALISTS.to_string()));
        let power = help("power", &mut cmd);
        let p = memphis_core::api::power::MAX_SAMPLES;
        let steps = memphis_core::api::power::MAX_STEPS as u64;
        assert!(power.contains(&thousands(p)) && power.contains(&thousands(steps)));
        assert!(
            memphis_core::api::power::MAX_WINDOW_S == 7.0 * 86_400.0 && power.contains("7 days")
        );
        let reliability = help("reliability", &mut cmd);
        let events = memphis_core::api::reliability::MC_MAX_EVENTS as u64;
        assert!(reliability.contains(&thousands(events)) && simulate.contains(&thousands(events)));
        let budget = memphis_core::api::reliability::MC_EVENT_BUDGET as u64;
        let least = memphis_core::api::reliability::MC_MIN_TRIALS;
        assert!(reliability.contains(&thousands(budget)));
        assert!(reliability.contains(&format!("at least {least})")));
    }

    #[test]
    fn token_budgets_read_as_reports_print_them() {
        use memphis_core::scenario::token_budget as t;
        assert_eq!(t("15T"), Ok(15e12));
        assert_eq!(t("500b"), Ok(500e9));
        assert_eq!(t("1.5e12"), Ok(1.5e12));
        assert_eq!(t("2k"), Ok(2e3));
        // The range is the scenario's to check, so that its message names the field.
        assert_eq!(t("-1"), Ok(-1.0));
        assert!(t("inf").unwrap().is_infinite());
        assert!(t("abc").is_err() && t("T").is_err() && t("1.5.3B").is_err());
    }

    #[test]
    fn durations() {
        use super::parse_duration as p;
        assert_eq!(p("10m"), Ok(600.0));
        assert_eq!(p("100ms"), Ok(0.1));
        assert_eq!(p("1.5h"), Ok(5400.0));
        assert_eq!(p("2d"), Ok(172_800.0));
        assert_eq!(p("30"), Ok(30.0));
        assert_eq!(p("-1s"), Ok(-1.0));
        assert_eq!(p("1e3"), Ok(1000.0));
        assert_eq!(p("1.5e3s"), Ok(1500.0));
        // Several parts, each with its unit, added up as a clock reads them.
        assert_eq!(p("1h30m"), Ok(5400.0));
        assert_eq!(p("9m59.5s"), Ok(599.5));
        assert_eq!(p("1d2h3m4s"), Ok(93_784.0));
        assert!(p("1h30")
            .unwrap_err()
            .starts_with("'30' of '1h30' is not a number with a unit"));
        assert!(p("1h-30m").is_err() && p("1h30x").is_err());
        assert!(p("10x").is_err() && p("m").is_err() && p("infs").is_err());
        // Not a number: said so, not read as a unit ("unknown unit 'NaN'").
        for bad in ["NaN", "nan", "inf", "-inf", "abc", "m"] {
            let e = p(bad).unwrap_err();
            assert!(
                e.starts_with("not a number: a duration is one number with a unit"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn minutes_bare_or_with_a_unit() {
        use super::parse_minutes as p;
        assert_eq!(p("30"), Ok(30.0));
        assert_eq!(p("90s"), Ok(1.5));
        assert_eq!(p("1.5h"), Ok(90.0));
        assert_eq!(p("2m"), Ok(2.0));
        assert_eq!(p("1e1"), Ok(10.0));
        assert_eq!(p("-1"), Ok(-1.0));
        assert!(p("10x").is_err() && p("abc").is_err() && p("").is_err());
        assert_eq!(p("1h30m"), Ok(90.0));
        assert_eq!(p("1h30"), Err(p("abc").unwrap_err()));
    }
}

/// `jobs` flags.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// The jobs file (TOML): [cluster] and [[job]] sections.
    #[arg(value_name = "JOBS.toml")]
    pub file: PathBuf,
    /// Routing on the fabric (default: the file's, else adaptive).
    #[arg(long, value_enum, ignore_case = true)]
    pub routing: Option<Routing>,
    /// How the jobs' communication phases meet (default: the file's, else aligned).
    #[arg(long, value_enum, ignore_case = true)]
    pub overlap: Option<memphis_core::jobs::Overlap>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
}

/// `place` flags.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    #[command(flatten)]
    pub jobs: JobsArgs,
    /// The most slowdown accepted for the first job: a percentage (5% or 5; below 1,
    /// with its sign: 0.5%).
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = parse_percent, allow_hyphen_values = true)]
    pub target_slowdown: f64,
}

/// A percentage, "5%" or "5", as a fraction (0.05).
fn parse_percent(s: &str) -> Result<f64, String> {
    let signed = s.trim().strip_suffix('%');
    let v: f64 = signed
        .unwrap_or(s.trim())
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': a percentage such as 5% or 0.5%"))?;
    if !(v.is_finite() && (0.0..=1000.0).contains(&v)) {
        return Err(format!("'{s}': a percentage from 0% to 1000%"));
    }
    // A bare fraction of one is a fraction or a percentage, by habit: 0.05 could be 5%
    // or 0.05%, a target 100 times stricter. The sign says which.
    if signed.is_none() && v > 0.0 && v < 1.0 {
        return Err(format!(
            "'{s}': below 1, a percentage needs its sign: {}% (a fraction of {s}) or {s}%",
            v * 100.0
        ));
    }
    // -0 is 0: no "-0.0%" in the report.
    Ok(v / 100.0 + 0.0)
}
