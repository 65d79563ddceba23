//! The scenario: what the user asks about, in two steps (as Shadow does).
//!
//! 1. Parse: TOML (or a Hugging Face `config.json` for the model) into the `*File`
//!    structs, where every field is optional and unknown keys are rejected.
//! 2. Validate: presets fill what is unset, command-line flags ([`ScenarioLayers`]) replace single
//!    fields, and [`ScenarioFile::validate`] checks everything and builds a [`Scenario`]
//!    whose invariants the engine relies on. Nothing is half-built: either a whole
//!    Scenario or one [`Error`] naming the field.

use crate::error::{Error, Result};
use crate::fabric::{FabricSpec, Routing};
use crate::hardware::{self, Generation, GpuSpec, NicSpec};
use crate::net::analytical::{NetworkParams, NET_EFFICIENCY};
use crate::power::{Cooling, GridMix, PowerConfig};
use crate::reliability::ReliabilityConfig;
use crate::units::Bandwidth;
use crate::workload::model::{Mla, Window};
use crate::workload::plan::{
    AttentionKernel, CpComm, CrossEntropy, Dispatcher, Fp8Recipe, GradPrecision, Recipe,
    RecomputeModule, StatePrecision,
};
use crate::workload::{MlpKind, ModelSpec, Moe, ParallelPlan, Precision, Recompute, TrainingRun};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use toml::Value;

/// The scale-out fabric technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FabricKind {
    /// InfiniBand.
    Infiniband,
    /// RDMA over Converged Ethernet (Spectrum-X).
    Roce,
    /// Plain Ethernet.
    Ethernet,
    /// Omni-Path.
    Omnipath,
}

impl FabricKind {
    /// Its name as people write it: InfiniBand, RoCE.
    pub fn display_name(self) -> &'static str {
        match self {
            FabricKind::Infiniband => "InfiniBand",
            FabricKind::Roce => "RoCE",
            FabricKind::Ethernet => "Ethernet",
            FabricKind::Omnipath => "Omni-Path",
        }
    }
}

/// `[cluster]`: a preset name and/or explicit fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Start from this cluster preset.
    pub preset: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// One line about it.
    pub description: Option<String>,
    /// GPU catalog name.
    pub gpu: Option<String>,
    /// GPUs in the cluster.
    pub gpus: Option<u64>,
    /// GPUs per server (one NVLink domain; default: the GPU's domain as built, 8 on
    /// HGX, 72 for GB200).
    pub gpus_per_node: Option<u32>,
    /// Servers per rack (default: 64 GPUs' worth, at least one server).
    pub nodes_per_rack: Option<u32>,
    /// Racks per array (first fabric tier unit).
    pub racks_per_array: Option<u32>,
    /// Scale-out Gb/s per GPU.
    pub nic_gbps: Option<f64>,
    /// Fabric technology.
    pub fabric: Option<FabricKind>,
    /// Switch tiers.
    pub tiers: Option<u32>,
    /// TP communication overlapped with GEMMs (default: Hopper and newer).
    pub tp_comm_overlap: Option<bool>,
    /// The switches reduce in the network (NVIDIA SHARP on InfiniBand, through NCCL's
    /// CollNet plugin): NCCL may run an all-reduce across servers as CollNet or as NVLS
    /// with SHARP (default false; InfiniBand only).
    pub sharp: Option<bool>,
    /// Switch ports at NIC speed (default: a 51.2 Tb/s Spectrum-4 SN5600, 51,200 / nic_gbps).
    pub switch_radix: Option<u32>,
    /// Oversubscription (down/up) of the leaf and spine tiers (default [1, 1]).
    pub oversubscription: Option<Vec<f64>>,
    /// Rail-optimized leaves (default: true for servers of up to 8 GPUs, whose GPU k
    /// all go to leaf k; false for an NVL72's, which has no 8 rails to align).
    pub rail_optimized: Option<bool>,
    /// Three tiers: arrays per pod, the block the spines join without the oversubscription
    /// above them (1: each array is a pod, as Meta's 3,072-GPU pods). Default: pods of as
    /// many leaves as a spine takes, whatever the arrays.
    pub arrays_per_pod: Option<u32>,
    /// `liquid` or `air` (default liquid).
    pub cooling: Option<Cooling>,
    /// Power of a server besides its GPUs and NICs, W: CPUs, memory, NVLink switches,
    /// fans (default the GPU's systems' figure per GPU, `GpuSpec::host_w_per_gpu`: 150 W
    /// but for GB200's 429 W; `[power] host_w_per_node` overrides).
    pub host_w_per_node: Option<f64>,
    /// NICs per server, GPU and CPU NICs together (default one per GPU and one more).
    pub nics_per_node: Option<f64>,
    /// GPUs behind one host (CPUs, memory, an OS): host and software failures, planned
    /// maintenance and hot spares count in hosts (default: the GPU's host as built, where
    /// it divides the server: the 8-GPU HGX server; a GB200 NVL72 rack is 18 hosts of 4).
    pub gpus_per_host: Option<u32>,
    /// The site's grid carbon intensity, g CO2e/kWh (default [`GridMix`]'s).
    pub grid_gco2_per_kwh: Option<f64>,
    /// Share of the site's energy from on-site gas turbines, 0 to 1 (default 0).
    pub turbine_share: Option<f64>,
    /// Gas turbine intensity, g CO2e/kWh.
    pub turbine_gco2_per_kwh: Option<f64>,
    /// The site's water, L per IT kWh.
    pub wue_site_l_per_kwh: Option<f64>,
    /// Water embedded in the site's electricity, L per kWh.
    pub wue_source_l_per_kwh: Option<f64>,
}

/// `[model]`: a preset name and/or explicit fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Start from this model preset.
    pub preset: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// One line about it.
    pub description: Option<String>,
    /// Transformer layers.
    pub layers: Option<u32>,
    /// Hidden size.
    pub hidden: Option<u64>,
    /// Attention heads.
    pub heads: Option<u32>,
    /// Key/value heads.
    pub kv_heads: Option<u32>,
    /// Width of one attention head (default hidden / heads).
    pub head_dim: Option<u64>,
    /// MLP inner size (per expert).
    pub ffn_hidden: Option<u64>,
    /// Vocabulary.
    pub vocab: Option<u64>,
    /// `standard` or `gated`.
    pub mlp: Option<MlpKind>,
    /// Experts per layer (0 = dense).
    pub moe_experts: Option<u32>,
    /// Experts per token.
    pub moe_topk: Option<u32>,
    /// Inner width of one routed expert (default ffn_hidden).
    pub moe_ffn_hidden: Option<u64>,
    /// Inner width of the shared experts together (default 0: none).
    pub moe_shared_ffn: Option<u64>,
    /// Layers (0-based, increasing) whose MLP is dense, `ffn_hidden` wide, instead of
    /// experts (default none).
    pub moe_dense_layers: Option<Vec<u32>>,
    /// Tokens at the busiest expert over the mean, 1 to experts / top-k (default 1.25); a
    /// rank of expert parallelism sees it with its other experts (`Moe::rank_imbalance`).
    pub moe_imbalance: Option<f64>,
    /// Group-limited routing: the experts' groups (Hugging Face `n_group`; default 1,
    /// none). DeepSeek-V3: 8, a server's experts each.
    pub moe_groups: Option<u32>,
    /// Group-limited routing: the groups each token's experts come from (`topk_group`;
    /// default moe_groups). DeepSeek-V3: 4.
    pub moe_groups_per_token: Option<u32>,
    /// Multi-head latent attention: the key/value latent's rank (setting it turns MLA
    /// on; kv_heads is then heads).
    pub mla_kv_lora_rank: Option<u64>,
    /// MLA: the query latent's rank (default 0: full-rank queries).
    pub mla_q_lora_rank: Option<u64>,
    /// MLA: per-head query/key width without rotary embedding (default head_dim).
    pub mla_qk_nope_dim: Option<u64>,
    /// MLA: per-head query/key width with rotary embedding (default 64).
    pub mla_qk_rope_dim: Option<u64>,
    /// MLA: per-head value width (default mla_qk_nope_dim).
    pub mla_v_dim: Option<u64>,
    /// Sliding-window attention: keys each query sees (default none: full attention).
    pub window: Option<u64>,
    /// Layers (0-based, increasing) with full attention when `window` is set (default
    /// none: every layer is windowed).
    pub window_global_layers: Option<Vec<u32>>,
    /// Multi-token-prediction layers after the decoder (default 0).
    pub mtp_layers: Option<u32>,
    /// The LM head shares the input embedding's weights (default false).
    pub tied_embeddings: Option<bool>,
    /// Biases on the q, k and v projections (default false).
    pub qkv_bias: Option<bool>,
    /// Per-head RMSNorm weights on queries and keys (Qwen3, Gemma 3; default false).
    pub qk_norm: Option<bool>,
    /// Norms after attention and the MLP as well as before (Gemma 2 and 3; default
    /// false).
    pub sandwich_norms: Option<bool>,
    /// Tokens the model's position encoding was trained for (a config.json's
    /// `max_position_embeddings`; default unknown): a longer `seq_len` gets a note.
    pub max_seq_len: Option<u64>,
    /// What a config.json reader saw but memphis does not model (one line each); not a
    /// file field.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// `[parallel]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ParallelFile {
    /// Tensor parallel.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub tp: Option<u32>,
    /// Pipeline parallel.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub pp: Option<u32>,
    /// Virtual pipeline chunks per stage.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub vpp: Option<u32>,
    /// Context parallel.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub cp: Option<u32>,
    /// Expert parallel (ep x etp divides tp x cp x dp).
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub ep: Option<u32>,
    /// Expert tensor parallel: ranks splitting each expert (default: tp).
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub etp: Option<u32>,
    /// Data parallel (default: the job's GPUs / (tp·pp·cp)).
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub dp: Option<u32>,
    /// Sequences per micro-batch.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u32))]
    pub micro_batch: Option<u32>,
    /// Sequence parallelism (default: on when tp > 1).
    #[cfg_attr(feature = "clap", arg(long, value_name = "BOOL", value_parser = any_case_bool))]
    pub sequence_parallel: Option<bool>,
    /// `none`, `selective` or `full`.
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub recompute: Option<Recompute>,
    /// With `recompute = "full"`: only the first N layers of each model chunk recompute,
    /// the others keep their activations (Megatron's `--recompute-method block
    /// --recompute-num-layers N`). Unset: every layer; a recompute given without it
    /// recomputes every layer, whatever the preset's count.
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub recompute_layers: Option<u32>,
    /// ZeRO-1 optimizer sharding.
    #[cfg_attr(feature = "clap", arg(long, value_name = "BOOL", value_parser = any_case_bool))]
    pub distributed_optimizer: Option<bool>,
}

/// `[training]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TrainingFile {
    /// GPUs in the job (default: tp·pp·cp·dp where dp is given, else the largest 2^k or
    /// 3·2^k GPUs that leaves the cluster at least 1% hot spares; on a cluster of up to 8 servers, all of it).
    #[cfg_attr(feature = "clap", arg(long, short = 'g', value_parser = count_u64))]
    pub gpus: Option<u64>,
    /// Sequences per step.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u64))]
    pub global_batch: Option<u64>,
    /// Tokens per sequence.
    #[cfg_attr(feature = "clap", arg(long, value_parser = count_u64))]
    pub seq_len: Option<u64>,
    /// Token budget: a number, or one with K, M, B or T (15T, 500B, 1.5e12).
    #[cfg_attr(feature = "clap", arg(long, value_parser = token_budget, allow_hyphen_values = true))]
    #[serde(default, deserialize_with = "token_budget_in_file")]
    pub tokens: Option<f64>,
    /// `fp16`, `bf16` or `fp8` (any case on the command line, as every choice flag: BF16 as
    /// papers write it).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub precision: Option<Precision>,
    /// Main gradient precision, buffer and reduction (default: a BF16 buffer reduced at
    /// FP32 size).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub main_grads: Option<GradPrecision>,
    /// Adam moment precision (default fp32).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub optimizer_states: Option<StatePrecision>,
    /// MoE token dispatcher (default alltoall).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub moe_dispatcher: Option<Dispatcher>,
    /// Hide expert-parallel communication behind compute (default false).
    #[cfg_attr(feature = "clap", arg(long, value_name = "BOOL", value_parser = any_case_bool))]
    pub ep_overlap: Option<bool>,
    /// Hide data-parallel communication behind compute (Megatron-Core's
    /// `--overlap-grad-reduce` and `--overlap-param-gather`; default true).
    #[cfg_attr(feature = "clap", arg(long, value_name = "BOOL", value_parser = any_case_bool))]
    pub dp_overlap: Option<bool>,
    /// Gradient bucket with dp_overlap, in parameters (Megatron-Core's
    /// `--ddp-bucket-size`): a number, or one with K, M or B (40M). Default Megatron's,
    /// max(40M, 1M x dp).
    #[cfg_attr(
        feature = "clap",
        arg(long, value_parser = param_count, value_name = "PARAMS")
    )]
    #[serde(default, deserialize_with = "param_count_in_file")]
    pub ddp_bucket_size: Option<f64>,
    /// Hide pipeline sends and receives behind compute in interleaved schedules
    /// (Megatron-Core's `--overlap-p2p-communication`; default true). 1F1B without
    /// interleaving always waits for them.
    #[cfg_attr(feature = "clap", arg(long, value_name = "BOOL", value_parser = any_case_bool))]
    pub pp_overlap: Option<bool>,
    /// FP8 scaling recipe, used with `precision = "fp8"`: delayed (the default),
    /// tensorwise, blockwise, or mxfp8 (Blackwell only).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub fp8_recipe: Option<Fp8Recipe>,
    /// What selective recompute recomputes, comma-separated (default core_attn).
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, ignore_case = true, value_delimiter = ',')
    )]
    pub recompute_modules: Option<Vec<RecomputeModule>>,
    /// Attention kernel: `fused` (FlashAttention-3 or cuDNN on Hopper; default), `flash2`
    /// (FlashAttention-2, slower after Ampere) or `unfused` (the scores in HBM,
    /// Megatron-LM before 2022).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub attention: Option<AttentionKernel>,
    /// The loss over the vocabulary: `fused` (Transformer Engine's kernel; default) or
    /// `unfused` (Megatron-LM's separate FP32 ops, before 2024).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub cross_entropy: Option<CrossEntropy>,
    /// Context parallelism's key-value exchange: `p2p` (a ring hidden behind attention;
    /// default) or `all_gather` (gathered before attention, exposed: Llama 3's).
    #[cfg_attr(feature = "clap", arg(long, value_enum, ignore_case = true))]
    pub cp_comm: Option<CpComm>,
}

/// `true` or `false` on the command line, in any case (`True`, `FALSE`), as the choice
/// flags take their words; `yes` and `no` too, as `plan`'s table prints them.
#[cfg(feature = "clap")]
pub fn any_case_bool(text: &str) -> std::result::Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("'{text}' is not true or false (or yes or no)")),
    }
}

/// A count given on the command line (GPUs, ranks, sequences, tokens): a whole number of
/// at least 1, said in those words whatever was typed (clap's own messages give the
/// type's range in digits, or "invalid digit" for a minus sign).
#[cfg(feature = "clap")]
pub fn count_u64(text: &str) -> std::result::Result<u64, String> {
    whole_number(text, 1)
}

/// A number of things that may be none (spare GPUs): a whole number from 0, said in those
/// words whatever was typed.
#[cfg(feature = "clap")]
pub fn count_or_none_u64(text: &str) -> std::result::Result<u64, String> {
    whole_number(text, 0)
}

/// A whole number of at least `least` (0 or 1), or what it is not, in words.
#[cfg(feature = "clap")]
fn whole_number(text: &str, least: u64) -> std::result::Result<u64, String> {
    let t = text.trim();
    match t.parse::<u64>() {
        Ok(v) if v >= least => Ok(v),
        Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "{text} is more than {}",
            crate::text::bound(u64::MAX)
        )),
        _ if least == 0 => Err(format!("{text} is not a whole number from 0")),
        _ => Err(format!("{text} is not a whole number of at least {least}")),
    }
}

/// A token budget in a file: a number (15e12), or text as the command line takes it
/// (`tokens = "15T"`).
fn token_budget_in_file<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    d.deserialize_any(Scaled {
        expecting: "a number of tokens (15e12) or one with K, M, B or T (\"15T\")",
        parse: token_budget,
    })
    .map(Some)
}

fn param_count_in_file<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    d.deserialize_any(Scaled {
        expecting: "a number of parameters (4e7) or one with K, M or B (\"40M\")",
        parse: param_count,
    })
    .map(Some)
}

/// A file's number, or text with a suffix that `parse` reads.
struct Scaled {
    expecting: &'static str,
    parse: fn(&str) -> std::result::Result<f64, String>,
}

impl serde::de::Visitor<'_> for Scaled {
    type Value = f64;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<f64, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// A token budget on the command line (or as text in a file): a number, or one with a
/// K, M, B (or G) or T suffix as reports print it (15T). Its range (NaN and infinity
/// out) is checked with the scenario's, whose message names the field.
pub fn token_budget(text: &str) -> std::result::Result<f64, String> {
    scaled_number(text)
        .ok_or_else(|| format!("'{text}' is not a number of tokens (15T, 500B, 1.5e12)"))
}

/// A count of parameters on the command line (or as text in a file), as
/// [`token_budget`] reads tokens: 40M, 1.5B, 4e7.
pub fn param_count(text: &str) -> std::result::Result<f64, String> {
    scaled_number(text).ok_or_else(|| {
        format!("'{text}' is not a number of parameters (40M, 1.5B, 4e7; from 1 to 1e15)")
    })
}

/// A number, or one with a K, M, B (or G) or T suffix as reports print them.
fn scaled_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, scale) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('B' | 'G') => (&t[..t.len() - 1], 1e9),
        Some('T') => (&t[..t.len() - 1], 1e12),
        _ => (t, 1.0),
    };
    num.trim().parse::<f64>().ok().map(|v| v * scale)
}

/// [`count_u64`] for the 32-bit counts (parallel sizes, micro-batch).
#[cfg(feature = "clap")]
fn count_u32(text: &str) -> std::result::Result<u32, String> {
    let n = count_u64(text)?;
    u32::try_from(n).map_err(|_| {
        format!(
            "{text} is more than {}",
            crate::text::bound(u32::MAX.into())
        )
    })
}

/// A scenario file as parsed, before validation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Start from this scenario preset.
    pub preset: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// One line about it.
    pub description: Option<String>,
    /// The cluster.
    #[serde(default)]
    pub cluster: ClusterFile,
    /// The model.
    #[serde(default)]
    pub model: ModelFile,
    /// The parallel plan.
    #[serde(default)]
    pub parallel: ParallelFile,
    /// The run.
    #[serde(default)]
    pub training: TrainingFile,
    /// Network fidelity: `analytical` (default) or `flow`.
    pub network: Option<NetworkModel>,
    /// Routing on the fabric at flow level: `adaptive` (default) or `ecmp`.
    pub routing: Option<Routing>,
    /// Power, cooling, carbon and water settings.
    #[serde(default)]
    pub power: PowerFile,
    /// Checkpoint, restart and spare settings.
    #[serde(default)]
    pub reliability: ReliabilityFile,
}

/// `[power]`: every field optional (see [`PowerConfig`] for defaults and sources). The
/// grid and water fields override the cluster's (its site's) values.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PowerFile {
    pub pue: Option<f64>,
    pub host_w_per_node: Option<f64>,
    pub switch_w: Option<f64>,
    pub storage_mw: Option<f64>,
    pub grid_gco2_per_kwh: Option<f64>,
    pub turbine_share: Option<f64>,
    pub turbine_gco2_per_kwh: Option<f64>,
    pub wue_site_l_per_kwh: Option<f64>,
    pub wue_source_l_per_kwh: Option<f64>,
}

/// `[reliability]`: every field optional (see [`ReliabilityConfig`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ReliabilityFile {
    pub checkpoint_interval_min: Option<f64>,
    pub async_checkpoint: Option<bool>,
    pub storage_write_tbps: Option<f64>,
    pub storage_read_tbps: Option<f64>,
    pub detect_min: Option<f64>,
    pub reschedule_min: Option<f64>,
    pub warmup_min: Option<f64>,
    pub repair_hours: Option<f64>,
    pub restore_from_memory: Option<bool>,
    pub spare_gpus: Option<u64>,
    pub trials: Option<u32>,
    pub seed: Option<u64>,
}

/// Network fidelity of the step simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum NetworkModel {
    /// NCCL's alpha-beta model, groups independent.
    Analytical,
    /// DP, CP, EP and PP traffic routed on the fabric graph, all groups at once.
    Flow,
}

/// A validated cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSpec {
    /// Display name.
    pub name: String,
    /// The GPU.
    pub gpu: &'static GpuSpec,
    /// GPUs in the cluster.
    pub gpus: u64,
    /// GPUs per server.
    pub gpus_per_node: u32,
    /// Servers per rack.
    pub nodes_per_rack: u32,
    /// Racks per array.
    pub racks_per_array: u32,
    /// The NIC (one per GPU).
    pub nic: NicSpec,
    /// Fabric technology.
    pub fabric: FabricKind,
    /// Switch tiers.
    pub tiers: u32,
    /// Whether TP communication overlaps GEMMs.
    pub tp_comm_overlap: bool,
    /// Whether the switches reduce in the network (SHARP, NCCL's CollNet).
    pub sharp: bool,
    /// The scale-out fabric.
    pub fabric_spec: FabricSpec,
    /// Power of a server besides its GPUs and NICs, W.
    pub host_w_per_node: f64,
    /// NICs per server.
    pub nics_per_node: f64,
    /// GPUs per host: the unit of host failures and spares.
    pub gpus_per_host: u32,
}

impl ClusterSpec {
    /// Per-GPU bandwidths of the two tiers, for the analytical network model.
    pub fn network(&self) -> NetworkParams {
        NetworkParams {
            nvlink: self.gpu.nccl_nvlink_bw,
            nic: Bandwidth::from_gbit_per_s(self.nic.gbps) * NET_EFFICIENCY,
            tree_nic: Bandwidth::from_gbit_per_s(self.nic.gbps) * NET_EFFICIENCY,
            gpus_per_node: self.gpus_per_node,
            generation: self.gpu.generation,
            collnet: self.sharp,
        }
    }

    /// Servers in the cluster (the last may be partly filled).
    pub fn nodes(&self) -> u64 {
        self.gpus.div_ceil(u64::from(self.gpus_per_node))
    }
}

/// A validated scenario: everything the engine needs, consistent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Display name.
    pub name: String,
    /// The cluster.
    pub cluster: ClusterSpec,
    /// The model.
    pub model: ModelSpec,
    /// The plan.
    pub plan: ParallelPlan,
    /// The run.
    pub run: TrainingRun,
    /// Network fidelity.
    pub network: NetworkModel,
    /// Routing at flow level.
    pub routing: Routing,
    /// Power settings.
    pub power: PowerConfig,
    /// Reliability settings.
    pub reliability: ReliabilityConfig,
    /// The servers the job's ranks run on, in rank order (where `jobs` placed it);
    /// None: the cluster's first servers, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<u32>>,
}

impl Scenario {
    /// GPUs the job uses.
    pub fn job_gpus(&self) -> u64 {
        self.plan.gpus()
    }
    /// The cluster GPU a job rank runs on ([`Scenario::servers`]).
    pub fn gpu_of_rank(&self, rank: u32) -> u32 {
        match &self.servers {
            Some(servers) => placed_gpu(servers, self.cluster.gpus_per_node, rank),
            None => rank,
        }
    }
    /// Cluster GPUs the job leaves free (hot spares).
    pub fn spare_gpus(&self) -> u64 {
        self.cluster.gpus - self.job_gpus()
    }
    /// Bytes of one checkpoint: every parameter the run trains (multi-token-prediction
    /// layers included) at the bytes its recipe keeps of each
    /// ([`crate::workload::memory::checkpoint_bytes_per_param`]).
    pub fn checkpoint_bytes(&self) -> f64 {
        (self.model.total_params() + self.model.mtp_params())
            * crate::workload::memory::checkpoint_bytes_per_param(&self.run)
    }

    /// The recipe fields, of those `written` (`[training]`'s names), that this run does
    /// not use whatever its plan, each said as a note: an FP8 recipe without FP8 GEMMs,
    /// modules to recompute that the model has none of, MoE settings on a dense model. `set(section, field)` says how to set a field (a
    /// flag, or a file's field). `simulate`, `plan` and `validate` all say these, from
    /// here; [`Scenario::unused_recipe_in_plan`] has those that rest on the plan.
    pub fn unused_recipe(
        &self,
        written: impl Fn(&str) -> bool,
        assign: impl Fn(&str, &str, &str) -> String,
    ) -> Vec<String> {
        let r = &self.run.recipe;
        let mut notes = Vec::new();
        if written("fp8_recipe") && !self.run.precision.fp8_gemms() {
            // The advice is one the GPU can take: FP8 where it has it, MXFP8 on Blackwell.
            let gpu = self.cluster.gpu;
            let advice = if gpu.peak_fp8.is_none() {
                format!("{} has no FP8", gpu.name)
            } else if r.fp8_recipe == Fp8Recipe::Mxfp8 && gpu.generation != Generation::Blackwell {
                format!(
                    "and MXFP8 needs Blackwell (B200, GB200); on {} FP8 runs delayed, tensorwise or blockwise",
                    gpu.name
                )
            } else {
                format!("set {}", assign("training", "precision", "\"fp8\""))
            };
            notes.push(format!(
                "fp8_recipe = {} applies with precision = fp8; this run's GEMMs are {} ({advice})",
                crate::serde_name(&r.fp8_recipe),
                crate::serde_name(&self.run.precision),
            ));
        }
        // Modules the model has none of recompute nothing.
        if written("recompute_modules") {
            use crate::workload::plan::RecomputeModule;
            let absent: Vec<String> = r
                .recompute_modules
                .iter()
                .filter(|m| match m {
                    RecomputeModule::MoeAct => self.model.moe.is_none(),
                    RecomputeModule::MlaUpProj => self.model.mla.is_none(),
                    _ => false,
                })
                .map(crate::serde_name)
                .collect();
            if !absent.is_empty() {
                notes.push(format!(
                    "recompute_modules {} {}: {} has no {}",
                    absent.join(" and "),
                    if absent.len() > 1 {
                        "recompute nothing"
                    } else {
                        "recomputes nothing"
                    },
                    self.model.name,
                    absent
                        .iter()
                        .map(|m| if m == "moe_act" { "experts" } else { "MLA" })
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
        }
        if self.model.moe.is_none() {
            let moe_only: Vec<&str> = ["ep_overlap", "moe_dispatcher"]
                .into_iter()
                .filter(|f| written(f))
                .collect();
            if !moe_only.is_empty() {
                let verb = if moe_only.len() > 1 {
                    "apply"
                } else {
                    "applies"
                };
                notes.push(format!(
                    "{} {verb} to MoE models; {} is dense",
                    moe_only.join(" and "),
                    self.model.name
                ));
            }
        }
        notes
    }

    /// [`Scenario::unused_recipe`]'s notes that rest on the plan: the context-parallel
    /// exchange at cp 1, pipeline overlap turned on without an interleaved schedule,
    /// data-parallel overlap with no gradients to reduce (turned off, they say what
    /// runs), and what selective recompute recomputes under another recompute. Apart,
    /// because `plan` says the others before it has a plan.
    pub fn unused_recipe_in_plan(
        &self,
        written: impl Fn(&str) -> bool,
        set: impl Fn(&str, &str) -> String,
    ) -> Vec<String> {
        let r = &self.run.recipe;
        let p = &self.plan;
        let mut notes = Vec::new();
        if written("cp_comm") && p.cp <= 1 {
            notes.push(format!(
                "cp_comm = {} applies with context parallelism (cp > 1); this plan has cp = 1",
                crate::serde_name(&r.cp_comm)
            ));
        }
        // Overlap turned off where there is nothing to overlap is what runs: no note.
        if written("pp_overlap") && r.pp_overlap && p.vpp <= 1 {
            notes.push(format!(
                "pp_overlap applies to interleaved schedules (vpp > 1); this plan has pp = {}, vpp = {}, {}",
                p.pp,
                p.vpp,
                if p.pp > 1 {
                    "whose 1F1B waits for each send either way"
                } else {
                    "no pipeline sends"
                }
            ));
        }
        let layout = crate::workload::layout::RankLayout::new(p, self.cluster.gpus_per_node);
        let reduces = layout.size(crate::workload::layout::GroupKind::Dp) > 1
            || (self.model.moe.is_some()
                && layout.size(crate::workload::layout::GroupKind::ExpertDp) > 1);
        if written("ddp_bucket_size") && reduces && !r.dp_overlap {
            notes.push(
                "ddp_bucket_size applies with dp_overlap; without it Megatron reduces each gradient buffer whole, after the backward"
                    .to_string(),
            );
        }
        if written("dp_overlap") && r.dp_overlap && !reduces {
            notes.push(
                "dp_overlap applies with data parallelism; this plan has dp x cp = 1, no gradients to reduce between replicas"
                    .to_string(),
            );
        }
        if written("recompute_modules") && p.recompute != Recompute::Selective {
            notes.push(format!(
                "recompute_modules applies with recompute = selective; this plan's recompute is {} (set {} to selective to use it)",
                crate::serde_name(&p.recompute),
                set("parallel", "recompute")
            ));
        }
        notes
    }
}

/// The cluster GPU of a job rank when the job runs on `servers` (rank order): ranks fill
/// each server's GPUs in turn, as they fill the cluster's first servers.
pub fn placed_gpu(servers: &[u32], gpus_per_node: u32, rank: u32) -> u32 {
    servers[(rank / gpus_per_node) as usize] * gpus_per_node + rank % gpus_per_node
}

// ---------------------------------------------------------------- presets

/// An embedded preset: name, one-line description, TOML text.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Name used on the command line.
    pub name: &'static str,
    /// TOML source.
    pub toml: &'static str,
}

macro_rules! presets {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(Preset { name: $name, toml: include_str!(concat!("../../../presets/", $dir, "/", $name, ".toml")) }),*]
    };
}

/// Cluster presets.
pub const CLUSTER_PRESETS: &[Preset] = presets!("clusters": "memphis", "dgx-a100", "dgx-h100", "h800-2048", "dgx-h200", "dgx-b200", "gb200-nvl72", "meta-24k");
/// Model presets.
pub const MODEL_PRESETS: &[Preset] = presets!("models": "gpt3-175b", "llama3-8b", "llama3-70b", "llama3-405b", "grok-1", "deepseek-v3");
/// Scenario presets; the first is the default.
pub const SCENARIO_PRESETS: &[Preset] = presets!("scenarios": "memphis-405b", "memphis-grok1", "dgx-h100-llama3-70b", "dgx-a100-gpt3-175b", "deepseek-v3-h800", "meta-llama3-405b");

/// The default scenario's name.
pub const DEFAULT_SCENARIO: &str = "memphis-405b";

/// A scenario preset as messages name it; the default as such, since a user who gave no
/// scenario never named it.
pub(crate) fn preset_named(preset: &str) -> String {
    if preset == DEFAULT_SCENARIO {
        format!("the default scenario ('{preset}')")
    } else {
        format!("preset '{preset}'")
    }
}

fn find<'a>(list: &'a [Preset], kind: &'static str, name: &str) -> Result<&'a Preset> {
    list.iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let mut known = list.iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
            // A file named here was not read as one: only a scenario file's section or
            // --model/--cluster read files.
            if names_a_file(name) {
                known.push_str(
                    " (a file is read where a scenario file's [model] or [cluster] preset names it, or with --model FILE / --cluster FILE)",
                );
            } else if let Some(file) = match kind {
                "model preset" => Some("a Hugging Face config.json or a model TOML"),
                "cluster preset" => Some("a cluster TOML"),
                _ => None,
            } {
                known.push_str(&format!("; or the path of {file}"));
            } else if kind == "scenario preset" {
                // A model's or a cluster's name where a scenario's goes.
                let named = |list: &[Preset]| find(list, "", name).is_ok();
                if named(MODEL_PRESETS) {
                    known.push_str(&format!(" ('{name}' is a model preset: --model {name})"));
                } else if named(CLUSTER_PRESETS) {
                    known.push_str(&format!(" ('{name}' is a cluster preset: --cluster {name})"));
                }
            }
            Error::Unknown {
                kind,
                name: name.to_string(),
                known,
            }
        })
}

/// The description line of a preset (its `description` key).
pub fn preset_description(p: &Preset) -> String {
    toml::from_str::<toml::Table>(p.toml)
        .ok()
        .and_then(|t| {
            t.get("description")
                .and_then(|d| d.as_str().map(String::from))
        })
        .unwrap_or_default()
}

fn parse_toml<T: serde::de::DeserializeOwned>(context: &str, text: &str) -> Result<T> {
    crate::error::from_toml(context, text, false)
}

/// Parses a scenario file's text.
pub fn parse_scenario(context: &str, text: &str) -> Result<ScenarioFile> {
    parse_toml(context, text)
}

/// Parses a scenario text memphis wrote itself from a mapping (Python's dict): its
/// errors name the dotted key (`training.gpus = 512.5`), not a line of that text.
pub fn parse_written_scenario(context: &str, text: &str) -> Result<ScenarioFile> {
    crate::error::from_toml(context, text, true)
}

/// Parses a model file's text (the fields of `[model]`, at top level), or a scenario
/// file's model: its `[model]` over its scenario preset's, by the merge rule. A file is
/// a scenario when it has sections (a model file has none) or names a scenario preset.
pub fn parse_model(context: &str, text: &str) -> Result<ModelFile> {
    if is_scenario_text(text) {
        let file = parse_scenario(context, text)?;
        let layers = ScenarioLayers {
            file: Some(file),
            ..Default::default()
        };
        return Ok(layers.merge()?.file.model);
    }
    parse_toml(context, text)
}

/// Whether a TOML text is a scenario (it has sections, or its `preset` names a scenario
/// preset) rather than a model's or a cluster's fields.
pub fn is_scenario_text(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| {
        let preset = t.get("preset").and_then(toml::Value::as_str);
        t.values().any(toml::Value::is_table)
            || preset.is_some_and(|p| find(SCENARIO_PRESETS, "", p).is_ok())
    })
}

/// Whether a name given where a preset or a file may go names a file: no preset name has
/// a dot or a slash, so one with either (`my.toml`, a mistyped `my.tom`, `cfg/x`) does.
pub fn names_a_file(name: &str) -> bool {
    name.contains(['/', '\\', '.'])
}

/// The embedded scenario preset `name`, built (for tests).
#[cfg(test)]
pub(crate) fn preset_scenario(name: &str) -> Scenario {
    build(&ScenarioLayers {
        file: Some(scenario_preset(name).expect("an embedded preset")),
        ..Default::default()
    })
    .expect("an embedded preset builds")
}

/// The embedded scenario preset `name`.
pub fn scenario_preset(name: &str) -> Result<ScenarioFile> {
    let p = find(SCENARIO_PRESETS, "scenario preset", name)?;
    parse_scenario(&format!("preset scenario '{}'", p.name), p.toml)
}

/// The embedded model preset `name`.
pub fn model_preset(name: &str) -> Result<ModelFile> {
    let p = find(MODEL_PRESETS, "model preset", name)?;
    parse_model(&format!("preset model '{}'", p.name), p.toml)
}

/// The embedded cluster preset `name`.
pub fn cluster_preset(name: &str) -> Result<ClusterFile> {
    let p = find(CLUSTER_PRESETS, "cluster preset", name)?;
    parse_toml(&format!("preset cluster '{}'", p.name), p.toml)
}

// ---------------------------------------------------------------- merging
//
// One rule for every field: layers are overlaid as TOML values (unset fields are absent,
// NaN and infinities survive to validation), the upper layer's fields winning (preset <
// the user's file < command-line flags). A section that names a preset replaces the
// section below it; single fields are merged. No field is listed by hand here, so a
// field added to a `*File` struct is merged like the others.

/// The command-line flag that sets a scenario field (`training.global_batch` ->
/// `--global-batch`), where one does: a `[parallel]` or `[training]` field's name (or a
/// top-level one's) in kebab case, the presets (`--cluster`, `--model`), the GPU, the
/// spares (`--spares`), the checkpoint interval and the seed. Other fields have none:
/// `cluster.gpus` is not `--gpus`, which sets `training.gpus`.
pub fn flag_of(field: &str) -> Option<String> {
    let (section, key) = field.rsplit_once('.').unwrap_or(("", field));
    let flag = match (section, key) {
        ("cluster", "preset") => "cluster",
        ("cluster", "gpu") => "gpu",
        ("model", "preset") => "model",
        ("reliability", "spare_gpus") => "spares",
        ("reliability", "checkpoint_interval_min") => "checkpoint_interval_min",
        ("reliability", "seed") => "seed",
        ("" | "parallel" | "training", k)
            if k.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            k
        }
        _ => return None,
    };
    Some(format!("--{}", flag.replace('_', "-")))
}

fn to_value<T: Serialize>(t: &T) -> Result<Value> {
    Value::try_from(t).map_err(|e| {
        // TOML's integers are i64: name the field a larger u64 came in (a flag's).
        let json = serde_json::to_value(t).unwrap_or_default();
        too_large(&json, "").map_or_else(
            || Error::parse("scenario", e),
            |(field, v)| {
                Error::invalid(
                    field,
                    v,
                    format!("at most {}", crate::text::bound(i64::MAX.unsigned_abs())),
                )
            },
        )
    })
}

/// The first integer in `v` past TOML's range, with its dotted path.
fn too_large(v: &serde_json::Value, prefix: &str) -> Option<(String, u64)> {
    match v {
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            too_large(v, &path)
        }),
        serde_json::Value::Array(a) => a.iter().find_map(|v| too_large(v, prefix)),
        serde_json::Value::Number(n) => n
            .as_u64()
            .filter(|&x| x > i64::MAX as u64)
            .map(|x| (prefix.to_string(), x)),
        _ => None,
    }
}

fn from_value<T: serde::de::DeserializeOwned>(context: &str, v: Value) -> Result<T> {
    v.try_into()
        .map_err(|e: toml::de::Error| Error::parse(context, e))
}

/// `top` over `base`: tables key by key, anything else replaced.
fn overlay(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Table(b), Value::Table(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => overlay(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, t) => *slot = t,
    }
}

/// Dotted paths of the fields set in a value (`parallel.tp`, `cluster.preset`, ...).
fn field_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Table(m) = v {
        for (k, v) in m {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_table() {
                field_paths(v, &path, out);
            } else {
                out.insert(path);
            }
        }
    }
}

/// `file`'s fields over the preset's, with the preset key removed.
fn over_preset<T: Serialize + serde::de::DeserializeOwned>(file: &T, preset: &T) -> Result<T> {
    let mut v = to_value(preset)?;
    let mut top = to_value(file)?;
    if let Value::Table(m) = &mut top {
        m.remove("preset");
    }
    overlay(&mut v, top);
    from_value("preset", v)
}

/// A section read from a file (`base`: a model's config.json or TOML, a cluster's TOML)
/// under the fields a scenario file's section writes beside it (`written`, whose
/// `preset` named that file): what `[model] preset = "config.json"` means.
pub fn section_under<T: Serialize + serde::de::DeserializeOwned>(
    written: &T,
    base: &T,
) -> Result<T> {
    over_preset(written, base)
}

impl ClusterFile {
    /// The preset's fields filled in under the ones given.
    pub(crate) fn resolved(self) -> Result<ClusterFile> {
        match &self.preset {
            None => Ok(self),
            Some(p) => over_preset(&self, &cluster_preset(p)?),
        }
    }

    /// Validates into a [`ClusterSpec`] (the preset resolved first); `prefix` names the
    /// section in errors (`cluster` in a scenario).
    pub fn validate(self, prefix: &str) -> Result<ClusterSpec> {
        let c = self.resolved()?;
        // The site's grid and water fields are checked here too, so that every command
        // reading a cluster refuses what `simulate` refuses.
        site_grid_mix(&c, &PowerFile::default())?;
        let need = |name: &str| {
            Error::invalid(
                format!("{prefix}.{name}"),
                "missing",
                "a value (or a cluster preset)",
            )
        };
        // An unknown GPU is the field's error: `cluster.gpu = H100: one of ...`.
        let gpu = hardware::gpu(c.gpu.as_deref().ok_or_else(|| need("gpu"))?)
            .map_err(|e| e.as_field(format!("{prefix}.gpu")))?;
        let gpus = c.gpus.ok_or_else(|| need("gpus"))?;
        if gpus == 0 || gpus > MAX_CLUSTER_GPUS {
            return Err(Error::invalid(
                format!("{prefix}.gpus"),
                gpus,
                format!("an integer from 1 to {MAX_CLUSTER_GPUS}"),
            ));
        }
        // By default a server is the GPU's NVLink domain as built: 8 on HGX, 72 in an
        // NVL72.
        let gpn = c.gpus_per_node.unwrap_or(gpu.nvlink_domain_gpus);
        if gpn == 0 || gpn > 576 {
            return Err(Error::invalid(
                format!("{prefix}.gpus_per_node"),
                gpn,
                "an integer from 1 to 576 (the NVLink domain)",
            ));
        }
        for (name, v) in [
            (format!("{prefix}.nodes_per_rack"), c.nodes_per_rack),
            (format!("{prefix}.racks_per_array"), c.racks_per_array),
            (format!("{prefix}.arrays_per_pod"), c.arrays_per_pod),
        ] {
            if let Some(v) = v {
                if v == 0 || v > 1024 {
                    return Err(Error::invalid(name, v, "an integer from 1 to 1024"));
                }
            }
        }
        let tiers = c.tiers.unwrap_or(3);
        if !(1..=crate::fabric::MAX_TIERS).contains(&tiers) {
            return Err(Error::invalid(
                format!("{prefix}.tiers"),
                tiers,
                format!("1 to {} switch tiers", crate::fabric::MAX_TIERS),
            ));
        }
        let nic_gbps = c.nic_gbps.ok_or_else(|| need("nic_gbps"))?;
        if !nic_gbps.is_finite() {
            return Err(Error::invalid(
                format!("{prefix}.nic_gbps"),
                nic_gbps,
                hardware::NIC_GBPS_ALLOWED,
            ));
        }
        let nic = hardware::nic_for_gbps(nic_gbps)?;
        let radix = c
            .switch_radix
            .unwrap_or_else(|| default_switch_radix(c.fabric, nic_gbps));
        let mut over = c.oversubscription.clone().unwrap_or_else(|| vec![1.0, 1.0]);
        // A fabric of at most 2 tiers has no tier above its spines: its one ratio is the
        // leaves'.
        if tiers <= 2 && over.len() == 1 {
            over.push(1.0);
        }
        let spine_less = tiers <= 2 && over.get(1).is_some_and(|&r| r != 1.0);
        // One tier has no uplinks at all: no ratio to oversubscribe.
        let leaf_less = tiers == 1 && over.first().is_some_and(|&r| r != 1.0);
        if over.len() != 2 || spine_less || leaf_less {
            let allowed = if tiers == 1 {
                "for 1 tier, [1] or left out: its one switch tier has no uplinks to oversubscribe"
                    .to_string()
            } else if tiers <= 2 {
                format!("for {tiers} tier(s), one ratio, [leaf] (or [leaf, 1]: no tier above the spines), from 1 (non-blocking) to 64")
            } else {
                "two ratios, [leaf, spine], each from 1 (non-blocking) to 64".to_string()
            };
            return Err(Error::invalid(
                format!("{prefix}.oversubscription"),
                // As written ([2]), not as completed ([2.0, 1.0]).
                format!(
                    "[{}]",
                    c.oversubscription
                        .as_deref()
                        .unwrap_or(&over)
                        .iter()
                        .map(f64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                allowed,
            ));
        }
        let sharp = c.sharp.unwrap_or(false);
        let fabric = c.fabric.unwrap_or(FabricKind::Infiniband);
        if sharp && fabric != FabricKind::Infiniband {
            return Err(Error::invalid(
                format!("{prefix}.sharp"),
                sharp,
                format!(
                    "true only on an InfiniBand fabric (fabric = \"infiniband\"), whose switches reduce in the network; this one is {}",
                    crate::serde_name(&fabric)
                ),
            ));
        }
        // By default 64 GPUs a rack, and at least a server: 8 HGX servers, or one
        // NVL72 (a rack of its own, as the gb200-nvl72 preset has it).
        const RACK_GPUS: u32 = 64;
        // An HGX server's rails: one leaf for each of its 8 GPUs (facts.md §2.2).
        const RAIL_GPUS: u32 = 8;
        let nodes_per_rack = c.nodes_per_rack.unwrap_or((RACK_GPUS / gpn).max(1));
        let racks_per_array = c.racks_per_array.unwrap_or(8);
        let fabric_spec = FabricSpec {
            endpoints: gpus,
            gpus_per_node: gpn,
            servers_per_array: nodes_per_rack * racks_per_array,
            radix,
            link_gbps: nic_gbps,
            tiers,
            oversubscription: [over[0], over[1]],
            rail_optimized: c.rail_optimized.unwrap_or(gpn <= RAIL_GPUS),
            arrays_per_pod: c.arrays_per_pod,
        };
        fabric_spec.validate()?;
        let host_w_per_node = c
            .host_w_per_node
            .unwrap_or(gpu.host_w_per_gpu * f64::from(gpn));
        let nics_per_node = c.nics_per_node.unwrap_or(f64::from(gpn) + 1.0);
        // The network model gives every GPU its NIC: a server has at least as many.
        for (name, v, least, most, why) in [
            ("host_w_per_node", host_w_per_node, 0.0, 1e6, ""),
            (
                "nics_per_node",
                nics_per_node,
                f64::from(gpn),
                4096.0,
                " (one per GPU at least: the network model gives each GPU its own NIC; for GPUs that share fewer NICs, give nic_gbps as each GPU's share of them)",
            ),
        ] {
            if !(v.is_finite() && (least..=most).contains(&v)) {
                return Err(Error::invalid(
                    format!("{prefix}.{name}"),
                    v,
                    format!("a number from {least} to {most}{why}"),
                ));
            }
        }
        // By default the GPU's host as built (an NVL72's tray of 4), where it divides
        // the server; else the server.
        let gpus_per_host = c
            .gpus_per_host
            .unwrap_or(if gpn.is_multiple_of(gpu.gpus_per_host) {
                gpu.gpus_per_host
            } else {
                gpn
            });
        if gpus_per_host == 0 || gpn % gpus_per_host != 0 {
            return Err(Error::invalid(
                format!("{prefix}.gpus_per_host"),
                gpus_per_host,
                format!("a divisor of gpus_per_node ({gpn})"),
            ));
        }
        Ok(ClusterSpec {
            name: crate::text::printable(&c.name.unwrap_or_else(|| "custom".into())),
            gpu,
            gpus,
            gpus_per_node: gpn,
            nodes_per_rack,
            racks_per_array,
            nic,
            fabric,
            tiers,
            tp_comm_overlap: c
                .tp_comm_overlap
                .unwrap_or_else(|| gpu.generation.tp_comm_overlap_default()),
            sharp,
            fabric_spec,
            host_w_per_node,
            nics_per_node,
            gpus_per_host,
        })
    }
}

impl ModelFile {
    /// The preset's fields filled in under the ones given.
    pub(crate) fn resolved(self) -> Result<ModelFile> {
        match &self.preset {
            None => Ok(self),
            Some(p) => self.over(&model_preset(p)?),
        }
    }

    /// These fields over `base`'s (a preset, or the file `preset` names). A model changed
    /// from its base and given no name of its own is named for the change, so that no
    /// report calls a 16-layer Llama 3 8B `llama3-8b`.
    pub fn over(&self, base: &ModelFile) -> Result<ModelFile> {
        let mut merged: ModelFile = over_preset(self, base)?;
        // Not file fields, so not merged as values: the base's warnings still hold.
        merged.warnings = [&base.warnings[..], &self.warnings[..]].concat();
        if self.name.is_some() {
            return Ok(merged);
        }
        let (written, was) = (to_value(self)?, to_value(base)?);
        let changed: Vec<String> = match &written {
            Value::Table(m) => m
                .iter()
                .filter(|(k, v)| {
                    !["preset", "description"].contains(&k.as_str())
                        && was.get(k.as_str()) != Some(*v)
                })
                .map(|(k, v)| format!("{k} = {v}"))
                .collect(),
            _ => Vec::new(),
        };
        if let (Some(name), false) = (&base.name, changed.is_empty()) {
            merged.name = Some(if changed.len() <= 3 {
                format!("{name} with {}", changed.join(", "))
            } else {
                format!("{name} with {} fields changed", changed.len())
            });
            // The base's line describes the base ("80 layers"), not this model.
            merged.description = self.description.clone();
        }
        Ok(merged)
    }

    /// Validates into a [`ModelSpec`]; `prefix` names the section in errors.
    pub fn validate(self, prefix: &str) -> Result<ModelSpec> {
        if self == ModelFile::default() {
            return Err(Error::invalid(
                prefix,
                "none given",
                "a model: a [model] section (a preset or the fields), --model, or a scenario preset",
            ));
        }
        let m = self.resolved()?;
        let need = |name: &str| {
            Error::invalid(
                format!("{prefix}.{name}"),
                "missing",
                "a value (or a model preset)",
            )
        };
        let experts = m.moe_experts.unwrap_or(0);
        let ffn_hidden = m.ffn_hidden.ok_or_else(|| need("ffn_hidden"))?;
        let moe = if experts == 0 {
            None
        } else {
            Some(Moe {
                experts,
                topk: m.moe_topk.unwrap_or(2),
                expert_ffn: m.moe_ffn_hidden.unwrap_or(ffn_hidden),
                shared_ffn: m.moe_shared_ffn.unwrap_or(0),
                dense_layers: m.moe_dense_layers.clone().unwrap_or_default(),
                imbalance: m
                    .moe_imbalance
                    .unwrap_or_else(|| Moe::default_imbalance(experts, m.moe_topk.unwrap_or(2))),
                groups: m.moe_groups.unwrap_or(1),
                groups_per_token: m.moe_groups_per_token.unwrap_or(m.moe_groups.unwrap_or(1)),
            })
        };
        if experts == 0 {
            for (field, set) in [
                ("moe_topk", m.moe_topk.unwrap_or(0) > 0),
                ("moe_ffn_hidden", m.moe_ffn_hidden.is_some()),
                ("moe_shared_ffn", m.moe_shared_ffn.unwrap_or(0) > 0),
                ("moe_dense_layers", m.moe_dense_layers.is_some()),
                ("moe_imbalance", m.moe_imbalance.is_some()),
                ("moe_groups", m.moe_groups.is_some()),
                ("moe_groups_per_token", m.moe_groups_per_token.is_some()),
            ] {
                if set {
                    return Err(Error::invalid(
                        format!("{prefix}.{field}"),
                        "set",
                        "unset for a dense model (moe_experts = 0)",
                    ));
                }
            }
        }
        let heads = m.heads.ok_or_else(|| need("heads"))?;
        let hidden = m.hidden.ok_or_else(|| need("hidden"))?;
        let mla = m.mla_kv_lora_rank.map(|kv_lora_rank| {
            let nope = m.mla_qk_nope_dim.or(m.head_dim).unwrap_or(128);
            Mla {
                q_lora_rank: m.mla_q_lora_rank.unwrap_or(0),
                kv_lora_rank,
                qk_nope_dim: nope,
                qk_rope_dim: m.mla_qk_rope_dim.unwrap_or(64),
                v_dim: m.mla_v_dim.unwrap_or(nope),
            }
        });
        if mla.is_none() {
            for (field, set) in [
                ("mla_q_lora_rank", m.mla_q_lora_rank.is_some()),
                ("mla_qk_nope_dim", m.mla_qk_nope_dim.is_some()),
                ("mla_qk_rope_dim", m.mla_qk_rope_dim.is_some()),
                ("mla_v_dim", m.mla_v_dim.is_some()),
            ] {
                if set {
                    return Err(Error::invalid(
                        format!("{prefix}.{field}"),
                        "set",
                        "unset unless mla_kv_lora_rank turns MLA on",
                    ));
                }
            }
        }
        if m.window.is_none() && m.window_global_layers.is_some() {
            return Err(Error::invalid(
                format!("{prefix}.window_global_layers"),
                "set",
                "unset unless window is set",
            ));
        }
        let head_dim = match (mla, m.head_dim) {
            (Some(a), _) => a.qk_nope_dim + a.qk_rope_dim,
            (None, Some(d)) => d,
            (None, None) if heads == 0 => 0, // refused below, naming heads
            (None, None) if !hidden.is_multiple_of(u64::from(heads)) => {
                return Err(Error::invalid(
                    format!("{prefix}.heads"),
                    heads,
                    format!("a divisor of hidden ({hidden}), or set head_dim"),
                ))
            }
            (None, None) => hidden / u64::from(heads),
        };
        let spec = ModelSpec {
            name: crate::text::printable(&m.name.unwrap_or_else(|| "custom".into())),
            layers: m.layers.ok_or_else(|| need("layers"))?,
            hidden,
            heads,
            kv_heads: if mla.is_some() {
                heads
            } else {
                m.kv_heads.unwrap_or(heads)
            },
            head_dim,
            ffn_hidden,
            vocab: m.vocab.ok_or_else(|| need("vocab"))?,
            mlp: m.mlp.unwrap_or(MlpKind::Standard),
            moe,
            mla,
            window: m.window.map(|tokens| Window {
                tokens,
                global_layers: m.window_global_layers.clone().unwrap_or_default(),
            }),
            mtp_layers: m.mtp_layers.unwrap_or(0),
            tied_embeddings: m.tied_embeddings.unwrap_or(false),
            qkv_bias: m.qkv_bias.unwrap_or(false),
            qk_norm: m.qk_norm.unwrap_or(false),
            sandwich_norms: m.sandwich_norms.unwrap_or(false),
            max_seq_len: m.max_seq_len,
        };
        spec.validate(prefix)?;
        Ok(spec)
    }
}

/// The run's precision and FP8 recipe on `gpu`: FP8 needs FP8 tensor cores, MXFP8
/// Blackwell's. A recipe without FP8 GEMMs is not checked (it has nothing to scale; the
/// resolution notes say so).
fn precision_on(gpu: &GpuSpec, t: &TrainingFile) -> Result<()> {
    if t.precision != Some(Precision::Fp8) {
        return Ok(());
    }
    if gpu.peak_fp8.is_none() {
        return Err(Error::invalid(
            "training.precision",
            "fp8",
            format!("fp16 or bf16 on {} (it has no FP8)", gpu.name),
        ));
    }
    if t.fp8_recipe == Some(Fp8Recipe::Mxfp8) && gpu.generation != Generation::Blackwell {
        return Err(Error::invalid(
            "training.fp8_recipe",
            "mxfp8",
            format!(
                "delayed, tensorwise or blockwise on {} (MXFP8 needs Blackwell: B200, GB200)",
                gpu.name
            ),
        ));
    }
    Ok(())
}

impl ScenarioFile {
    /// The cluster and model presets expanded into their fields.
    fn sections_resolved(mut self) -> Result<ScenarioFile> {
        self.cluster = self.cluster.resolved()?;
        self.model = self.model.resolved()?;
        Ok(self)
    }

    /// `upper` over `self`: a section of `upper` that names a preset replaces this one's.
    fn overlaid(self, upper: &ScenarioFile) -> Result<ScenarioFile> {
        let mut lower = self.sections_resolved()?;
        if upper.cluster.preset.is_some() {
            lower.cluster = ClusterFile::default();
        }
        if upper.model.preset.is_some() {
            lower.model = ModelFile::default();
        }
        let mut v = to_value(&lower)?;
        let mut top = to_value(&upper.clone().sections_resolved()?)?;
        if let Value::Table(m) = &mut top {
            m.remove("preset");
        }
        overlay(&mut v, top);
        from_value("scenario", v)
    }

    /// The model this scenario runs, its presets expanded.
    pub(crate) fn resolved_model(self) -> Result<ModelFile> {
        self.resolved()?.model.resolved()
    }

    /// The scenario preset (if any) expanded, with this file's fields over it.
    fn resolved(self) -> Result<ScenarioFile> {
        match &self.preset {
            None => self.sections_resolved(),
            Some(p) => scenario_preset(p)?.resolved()?.overlaid(&self),
        }
    }

    /// Checks everything and builds the [`Scenario`].
    pub fn validate(self) -> Result<Scenario> {
        let sf = self.resolved()?;
        let c = sf.cluster.resolved()?;
        let cooling = c.cooling;
        let site = site_grid_mix(&c, &sf.power)?;
        let cluster = c.validate("cluster")?;
        let (gpu, gpus) = (cluster.gpu, cluster.gpus);

        let model = sf.model.validate("model")?;
        // What the GPU can run comes before the plan: no plan changes it.
        precision_on(gpu, &sf.training)?;
        // So do the run's own bounds: a batch past them is its own error, not a conflict
        // with a plan field (and never the start of a plan search).
        crate::workload::plan::check_run_bounds(sf.training.global_batch, sf.training.seq_len)?;

        let p = &sf.parallel;
        let tp = p.tp.unwrap_or(1);
        let pp = p.pp.unwrap_or(1);
        let cp = p.cp.unwrap_or(1);
        for (name, v) in [
            ("parallel.tp", tp),
            ("parallel.pp", pp),
            ("parallel.cp", cp),
        ] {
            if v == 0 || u64::from(v) > MAX_CLUSTER_GPUS {
                return Err(Error::invalid(
                    name,
                    v,
                    "an integer from 1 to the cluster's GPUs",
                ));
            }
        }
        // The plan but its dp: what the model's shape bounds is checked before the GPU
        // count, which would otherwise take the blame for a tp the heads refuse.
        let d = p.defaulted(tp, sf.training.seq_len);
        let plan = ParallelPlan {
            tp,
            pp,
            vpp: d.vpp,
            cp,
            ep: d.ep,
            etp: d.etp,
            dp: 1,
            micro_batch: p.micro_batch.unwrap_or(1),
            sequence_parallel: d.sequence_parallel,
            // Block recomputation is full recomputation of some layers.
            recompute: p.recompute.unwrap_or(if p.recompute_layers.is_some() {
                Recompute::Full
            } else {
                Recompute::Selective
            }),
            recompute_layers: p.recompute_layers,
            distributed_optimizer: d.distributed_optimizer,
        };
        plan.validate_shape(&model)?;
        let model_par = u64::from(tp) * u64::from(pp) * u64::from(cp);
        let job_gpus = sf.training.gpus;
        if let Some(g) = job_gpus {
            check_job_gpus(g, gpus)?;
        }
        let dp = match (p.dp, job_gpus) {
            (Some(dp), Some(g)) => {
                if model_par * u64::from(dp) != g {
                    // The dp that would fit, where one does.
                    let fits = match g % model_par {
                        0 => format!(": dp = {}", g / model_par),
                        _ => format!(": no dp does ({g} is no multiple of {model_par})"),
                    };
                    return Err(Error::invalid(
                        "parallel.dp",
                        dp,
                        format!(
                            "tp x pp x cp x dp = training.gpus ({tp} x {pp} x {cp} x dp = {g}){fits}"
                        ),
                    ));
                }
                dp
            }
            (Some(dp), None) => dp,
            (None, g) => {
                let g = g.unwrap_or_else(|| default_job_gpus(gpus, cluster.gpus_per_node));
                if g % model_par != 0 {
                    let allowed =
                        format!("a multiple of tp x pp x cp = {tp} x {pp} x {cp} = {model_par}");
                    return Err(if job_gpus.is_some() {
                        Error::invalid("training.gpus", g, allowed)
                    } else {
                        Error::invalid(
                            "training.gpus",
                            format!("{g} (the default for a cluster of {gpus})"),
                            format!("{allowed}; set training.gpus"),
                        )
                    });
                }
                u32::try_from(g / model_par)
                    .map_err(|_| Error::invalid("parallel.dp", g / model_par, "below 2^32"))?
            }
        };
        let plan = ParallelPlan { dp, ..plan };
        if plan.gpus() > gpus {
            return Err(Error::invalid(
                "parallel.dp",
                dp,
                format!(
                    "small enough that tp x pp x cp x dp ({}) fits the cluster's {} GPUs",
                    crate::text::grouped(plan.gpus()),
                    crate::text::grouped(gpus)
                ),
            ));
        }
        let t = &sf.training;
        let ddp_bucket_size = t
            .ddp_bucket_size
            .map(|b| {
                if b.is_finite() && (1.0..=1e15).contains(&b) {
                    Ok(b.round() as u64)
                } else {
                    Err(Error::invalid(
                        "training.ddp_bucket_size",
                        b,
                        "a number of parameters from 1 to 1e15 (40M, 1.5B)",
                    ))
                }
            })
            .transpose()?;
        let run = TrainingRun {
            global_batch: t.global_batch.ok_or_else(|| {
                Error::invalid(
                    "training.global_batch",
                    "missing",
                    "a number of sequences per step",
                )
            })?,
            seq_len: t.seq_len.ok_or_else(|| {
                Error::invalid("training.seq_len", "missing", "tokens per sequence")
            })?,
            tokens: t.tokens.unwrap_or(1e12),
            precision: t.precision.unwrap_or(Precision::Bf16),
            recipe: Recipe {
                main_grads: t.main_grads,
                optimizer_states: t.optimizer_states.unwrap_or(StatePrecision::Fp32),
                moe_dispatcher: t.moe_dispatcher.unwrap_or(Dispatcher::Alltoall),
                ep_overlap: t.ep_overlap.unwrap_or(false),
                dp_overlap: t.dp_overlap.unwrap_or(true),
                ddp_bucket_size,
                pp_overlap: t.pp_overlap.unwrap_or(true),
                fp8_recipe: t.fp8_recipe.unwrap_or_default(),
                recompute_modules: t
                    .recompute_modules
                    .clone()
                    .unwrap_or_else(|| vec![RecomputeModule::CoreAttn]),
                attention: t.attention.unwrap_or_default(),
                cross_entropy: t.cross_entropy.unwrap_or_default(),
                cp_comm: t.cp_comm.unwrap_or_default(),
            },
        };
        plan.validate(&model, &run)?;
        let d = PowerConfig::default();
        let pw = &sf.power;
        let power = PowerConfig {
            cooling: cooling.unwrap_or(Cooling::Liquid),
            pue: pw.pue,
            host_w_per_node: pw.host_w_per_node.unwrap_or(cluster.host_w_per_node),
            switch_w: pw.switch_w.unwrap_or(d.switch_w),
            nics_per_node: cluster.nics_per_node,
            storage_mw: pw.storage_mw,
            grid: site,
        };
        power.validate()?;
        let r = ReliabilityConfig::default();
        let rf = &sf.reliability;
        let reliability = ReliabilityConfig {
            checkpoint_interval_min: rf.checkpoint_interval_min,
            async_checkpoint: rf.async_checkpoint.unwrap_or(r.async_checkpoint),
            storage_write_tbps: rf.storage_write_tbps.unwrap_or(r.storage_write_tbps),
            storage_read_tbps: rf.storage_read_tbps.unwrap_or(r.storage_read_tbps),
            detect_min: rf.detect_min.unwrap_or(r.detect_min),
            reschedule_min: rf.reschedule_min.unwrap_or(r.reschedule_min),
            warmup_min: rf.warmup_min.unwrap_or(r.warmup_min),
            repair_hours: rf.repair_hours.unwrap_or(r.repair_hours),
            restore_from_memory: rf.restore_from_memory.unwrap_or(r.restore_from_memory),
            spare_gpus: rf.spare_gpus,
            trials: rf.trials.unwrap_or(r.trials),
            seed: rf.seed.unwrap_or(r.seed),
        };
        reliability.validate(cluster.gpus, plan.gpus())?;
        Ok(Scenario {
            name: crate::text::printable(
                &sf.name
                    .unwrap_or_else(|| format!("{} on {}", model.name, cluster.name)),
            ),
            cluster,
            model,
            plan,
            run,
            network: sf.network.unwrap_or(NetworkModel::Analytical),
            routing: sf.routing.unwrap_or(Routing::Adaptive),
            power,
            reliability,
            servers: None,
        })
    }
}

/// The grid mix belongs to the site: the cluster's fields, then `[power]`'s over them,
/// then defaults. Generic over [`GridMix`]'s fields, so none is listed here.
fn site_grid_mix(cluster: &ClusterFile, power: &PowerFile) -> Result<GridMix> {
    let mut v = to_value(&GridMix::default())?;
    if let Value::Table(t) = &mut v {
        for layer in [to_value(cluster)?, to_value(power)?] {
            if let Value::Table(l) = layer {
                for (k, x) in l {
                    if t.contains_key(&k) {
                        t.insert(k, x);
                    }
                }
            }
        }
    }
    let mix: GridMix = from_value("site", v)?;
    // An error names the section the bad value came from.
    mix.validate("cluster").map_err(|e| match e {
        Error::Invalid {
            field,
            value,
            allowed,
        } => {
            let key = field.trim_start_matches("cluster.");
            let from_power = to_value(power)
                .ok()
                .and_then(|p| p.get(key).cloned())
                .is_some();
            let field = if from_power {
                format!("power.{key}")
            } else {
                field
            };
            Error::Invalid {
                field,
                value,
                allowed,
            }
        }
        other => other,
    })?;
    Ok(mix)
}

/// The job's GPUs when neither `training.gpus` nor `dp` says: the largest 2^k or 3·2^k
/// GPUs (sizes that split into tp, pp, cp and dp) that leaves at least 1% of the cluster
/// as hot spares, as Memphis's default does (98,304 of 100,000); a cluster of up to
/// eight servers is used whole.
pub fn default_job_gpus(cluster_gpus: u64, gpus_per_node: u32) -> u64 {
    if cluster_gpus <= 8 * u64::from(gpus_per_node) {
        return cluster_gpus;
    }
    smooth_gpus_up_to(cluster_gpus - cluster_gpus.div_ceil(100))
}

/// The largest 2^k or 3·2^k at most `limit` (at least 1): a GPU count that splits into
/// tp, pp, cp and dp every way the planner tries.
pub fn smooth_gpus_up_to(limit: u64) -> u64 {
    pow2_up_to(limit).max(3 * pow2_up_to(limit / 3)).max(1)
}

/// The largest power of two at most `limit` (0 for 0).
pub fn pow2_up_to(limit: u64) -> u64 {
    if limit == 0 {
        0
    } else {
        1u64 << (63 - limit.leading_zeros())
    }
}

/// Switching capacity of one Spectrum-4 SN5600, Tb/s (facts.md §1.3).
pub const SWITCH_TBPS: f64 = 51.2;

/// The ports of the switch a fabric of this kind and speed is built from, when the
/// cluster does not say. InfiniBand by generation (facts.md, switch table): HDR
/// QM8700/8790 40 x 200G, NDR Quantum-2 QM9700 64 x 400G, XDR Quantum-X800 Q3400
/// 144 x 800G ⚠ (secondary sources there). Ethernet, RoCE and the rest: the SN5600's
/// 51.2 Tb/s split at the NIC's speed (128 x 400G, 64 x 800G), at most 256 ports (256 x
/// 200G) whatever the speed (facts.md §1.3).
fn default_switch_radix(fabric: Option<FabricKind>, nic_gbps: f64) -> u32 {
    match fabric {
        Some(FabricKind::Infiniband) if nic_gbps <= 200.0 => 40,
        Some(FabricKind::Infiniband) if nic_gbps <= 400.0 => 64,
        Some(FabricKind::Infiniband) => 144,
        _ => ((SWITCH_TBPS * 1000.0 / nic_gbps) as u32).clamp(4, 256),
    }
}

/// A job's GPU count against its cluster's (`training.gpus`).
fn check_job_gpus(job: u64, cluster_gpus: u64) -> Result<()> {
    if job == 0 || job > cluster_gpus {
        return Err(Error::invalid(
            "training.gpus",
            job,
            format!(
                "an integer from 1 to the cluster's {} GPUs",
                crate::text::grouped(cluster_gpus)
            ),
        ));
    }
    Ok(())
}

/// Largest cluster accepted: the fabric's limit (its owner), far beyond any built.
pub const MAX_CLUSTER_GPUS: u64 = crate::fabric::MAX_ENDPOINTS;

/// Builds a scenario for the planner, which chooses the plan itself: the merged file's
/// plan is replaced by a trivial one and the batch is checked only for being positive;
/// the job size comes from `training.gpus`, else from the file's plan, else the cluster.
pub fn build_for_planning(merged: &ScenarioFile) -> Result<Scenario> {
    let mut sf = merged.clone().resolved()?;
    let p = &sf.parallel;
    let job = sf.training.gpus.or_else(|| {
        p.dp.map(|dp| {
            u64::from(dp)
                * u64::from(p.tp.unwrap_or(1))
                * u64::from(p.pp.unwrap_or(1))
                * u64::from(p.cp.unwrap_or(1))
        })
    });
    let batch = sf.training.global_batch;
    sf.parallel = ParallelFile {
        tp: Some(1),
        pp: Some(1),
        vpp: Some(1),
        cp: Some(1),
        ep: Some(1),
        recompute: sf.parallel.recompute,
        ..Default::default()
    };
    // No job size given: the default share of the cluster. One given is checked against
    // the cluster first: the trivial plan below would blame its batch.
    let c = sf.cluster.clone().validate("cluster")?;
    let job = match job {
        Some(j) => {
            check_job_gpus(j, c.gpus)?;
            j
        }
        None => default_job_gpus(c.gpus, c.gpus_per_node),
    };
    sf.training.gpus = Some(job);
    // Any positive batch passes here; the planner checks it against every plan.
    let gb = batch.ok_or_else(|| {
        Error::invalid(
            "training.global_batch",
            "missing",
            "a number of sequences per step",
        )
    })?;
    if gb == 0 {
        return Err(Error::invalid(
            "training.global_batch",
            0,
            "a positive number of sequences per step",
        ));
    }
    // Checked before any plan is searched: the search walks the batch's divisors.
    crate::workload::plan::check_run_bounds(sf.training.global_batch, sf.training.seq_len)?;
    sf.training.global_batch = Some(job.max(1));
    let mut sc = sf.validate()?;
    sc.run.global_batch = gb;
    Ok(sc)
}

/// Builds the scenario from its layers, strictly: the merged plan must be valid.
pub fn build(layers: &ScenarioLayers) -> Result<Scenario> {
    layers.merge()?.validate()
}

/// What a scenario is built from, lowest first: a scenario preset (the one the file
/// names, or the default when there is no file), the user's file, then the
/// command-line flags. [`ScenarioLayers::merge`] applies the one merge rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScenarioLayers {
    /// The user's scenario file (its `preset` names the base), or None for the default.
    pub file: Option<ScenarioFile>,
    /// Fields given on the command line; they win over the file.
    pub flags: ScenarioFile,
    /// A whole model (`--model FILE`): replaces the model section.
    pub model: Option<ModelFile>,
    /// A whole cluster (`--cluster FILE`): replaces the cluster section.
    pub cluster: Option<ClusterFile>,
    /// Where the job runs ([`Scenario::servers`]), for the planner to plan there.
    pub servers: Option<Vec<u32>>,
}

/// The merged scenario file, and which fields the user wrote (in the file or as flags,
/// not inherited from a preset).
#[derive(Debug, Clone, PartialEq)]
pub struct MergedScenario {
    /// All layers merged, derived fields cleared where they must be derived again.
    pub file: ScenarioFile,
    /// Dotted paths of the fields the user wrote (`parallel.tp`, `cluster.preset`, ...).
    pub written: BTreeSet<String>,
    /// The scenario preset underneath, if any.
    pub preset: Option<String>,
    /// Fields the scenario file wrote in a section that `--model` or `--cluster`
    /// replaced whole (dotted paths): they are not used.
    pub replaced: Vec<String>,
    /// Where the job runs ([`ScenarioLayers::servers`]).
    pub servers: Option<Vec<u32>>,
}

impl MergedScenario {
    /// Whether the user wrote this field.
    pub fn wrote(&self, path: &str) -> bool {
        self.written.contains(path)
    }

    /// The scenario for the planner ([`build_for_planning`]), on the servers where the
    /// job runs, so that each plan's flows are solved there.
    pub fn for_planning(&self) -> Result<Scenario> {
        let mut sc = build_for_planning(&self.file).map_err(|e| self.missing_from_nothing(e))?;
        sc.servers = self.servers.clone();
        Ok(sc)
    }

    /// Whether the user wrote any field of this section.
    pub fn wrote_in(&self, section: &str) -> bool {
        let p = format!("{section}.");
        self.written.iter().any(|w| w.starts_with(&p))
    }

    /// The fields the user wrote in a section, for messages.
    fn written_in(&self, section: &str) -> Vec<&str> {
        let p = format!("{section}.");
        self.written
            .iter()
            .filter(|w| w.starts_with(&p))
            .map(String::as_str)
            .collect()
    }

    /// Validates the merged file. A plan field kept from the preset that no longer suits
    /// what the user wrote (vpp 4 with pp 1, say) is derived again, with a note. Any
    /// other error about a field the user did not write names the fields the user wrote.
    pub fn validate(&self) -> Result<Scenario> {
        self.validate_with_notes().map(|(sc, _)| sc)
    }

    /// [`MergedScenario::validate`], with the notes on what was derived again.
    pub fn validate_with_notes(&self) -> Result<(Scenario, Vec<String>)> {
        let mut file = self.file.clone();
        let mut rederived = Vec::new();
        loop {
            match file.clone().validate() {
                Ok(sc) => {
                    // Each note says what the field became.
                    let now = to_value(&sc.plan)?;
                    let notes = rederived
                        .into_iter()
                        .map(|(key, was): (String, String)| {
                            let v = now.get(&key).map_or("?".to_string(), |v| v.to_string());
                            format!(
                                "parallel.{key} = {was} from {} does not suit the plan you gave; derived again: {key} = {v}",
                                self.source()
                            )
                        })
                        .collect();
                    return Ok((sc, notes));
                }
                Err(e) => match self.rederivable(&e, &file.parallel)? {
                    Some((key, parallel)) => {
                        if let Error::Invalid { value, .. } = &e {
                            rederived.push((key, value.clone()));
                        }
                        file.parallel = parallel;
                    }
                    None => return Err(self.blame(e)),
                },
            }
        }
    }

    /// The plan section without the field `e` is about, when that field came from the
    /// preset and the user wrote some other plan field.
    fn rederivable(&self, e: &Error, p: &ParallelFile) -> Result<Option<(String, ParallelFile)>> {
        let Error::Invalid { field, .. } = e else {
            return Ok(None);
        };
        let Some(key) = field.strip_prefix("parallel.") else {
            return Ok(None);
        };
        if self.wrote(field) || !self.wrote_in("parallel") {
            return Ok(None);
        }
        let mut v = to_value(p)?;
        let removed = match &mut v {
            Value::Table(t) => t.remove(key).is_some(),
            _ => false,
        };
        removed
            .then(|| from_value("parallel", v).map(|p| (key.to_string(), p)))
            .transpose()
    }

    /// Where the scenario comes from, as messages name it.
    pub(crate) fn source(&self) -> String {
        self.preset
            .as_deref()
            .map_or("the scenario".to_string(), preset_named)
    }

    /// An error about a field the user wrote that rests on plan factors the user did not
    /// (the job's GPUs, a multiple of tp x pp x cp, against the preset's pp and cp): it
    /// says which are the preset's.
    fn with_preset_factors(&self, e: Error) -> Error {
        let Error::Invalid {
            field,
            value,
            allowed,
        } = e
        else {
            return e;
        };
        let plan = to_value(&self.file.parallel).ok();
        let kept: Vec<String> = if allowed.contains("tp x pp x cp") {
            ["tp", "pp", "cp"]
                .into_iter()
                .filter(|f| !self.wrote(&format!("parallel.{f}")))
                .filter_map(|f| Some(format!("{f} = {}", plan.as_ref()?.get(f)?)))
                .collect()
        } else {
            Vec::new()
        };
        let allowed = if kept.is_empty() || self.preset.is_none() {
            allowed
        } else {
            format!(
                "{allowed} ({} from {}: set them, or --plan auto)",
                kept.join(", "),
                self.source()
            )
        };
        Error::Invalid {
            field,
            value,
            allowed,
        }
    }

    /// A field missing because the scenario file names no preset, said so (once).
    fn missing_from_nothing(&self, e: Error) -> Error {
        const HINT: &str = "a scenario file without `preset` starts from nothing";
        match e {
            Error::Invalid {
                field,
                value,
                allowed,
            } if value == "missing" && self.preset.is_none() && !allowed.contains(HINT) => {
                Error::invalid(
                    field,
                    value,
                    format!("{allowed}; {HINT}, and `preset = \"{DEFAULT_SCENARIO}\"` starts it from the default"),
                )
            }
            e => e,
        }
    }

    pub(crate) fn blame(&self, e: Error) -> Error {
        let Error::Invalid {
            field,
            value,
            allowed,
        } = &e
        else {
            return e;
        };
        let section = field.split('.').next().unwrap_or("");
        if self.wrote(field) {
            return self.with_preset_factors(e);
        }
        // A field nobody gave is missing, not in conflict with what the user wrote; in a
        // file that names no scenario preset, because it starts from nothing.
        if value == "missing" && self.preset.is_none() {
            return self.missing_from_nothing(e);
        }
        if !matches!(section, "parallel" | "training") || value == "missing" {
            return e;
        }
        // The user's plan and job fields first: those are what conflicts with a plan field;
        // the cluster first for the precision (the GPU decides which it runs).
        let order = if field == "training.precision" {
            ["cluster", "parallel", "training", "model"]
        } else {
            ["parallel", "training", "cluster", "model"]
        };
        let mine: Vec<&str> = order
            .iter()
            .map(|s| self.written_in(s))
            .find(|w| !w.is_empty())
            .unwrap_or_default();
        if mine.is_empty() {
            return e;
        }
        // The values as the user wrote them (merged), in the same order as the fields.
        let merged = toml::Value::try_from(&self.file).ok();
        let value_of = |path: &str| {
            let (section, key) = path.split_once('.')?;
            let table = merged.as_ref()?.get(section)?;
            // A preset's section is merged in its place: its name stands for it.
            let v = table
                .get(key)
                .or_else(|| (key == "preset").then(|| table.get("name")).flatten())?;
            Some(match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        let values: Vec<String> = mine
            .iter()
            .map(|p| value_of(p).unwrap_or_else(|| "as given".to_string()))
            .collect();
        // Most rules name what the field must be ("a multiple of 8"); the planner's says
        // why none of its values can be ("no plan exists: ...").
        let rule = if allowed.starts_with("no ") {
            format!(": {allowed}")
        } else {
            format!(", which must be {allowed}")
        };
        Error::invalid(
            mine.join(", "),
            values.join(", "),
            format!(
                "conflicts with {field} = {value} kept from {}{rule}; set {field} too",
                self.source()
            ),
        )
    }
}

impl ScenarioLayers {
    /// Only command-line flags over the default scenario.
    pub fn flags(flags: ScenarioFile) -> ScenarioLayers {
        ScenarioLayers {
            flags,
            ..Default::default()
        }
    }

    /// Merges the layers by the one rule, then clears the fields derived from others
    /// (dp from the job's GPUs, the job's GPUs from dp or the cluster, the name from the
    /// model and cluster) unless the user wrote them, so that they are derived again.
    pub fn merge(&self) -> Result<MergedScenario> {
        let (preset, mut user) = match &self.file {
            None => (Some(DEFAULT_SCENARIO.to_string()), ScenarioFile::default()),
            Some(f) => {
                let mut u = f.clone();
                (u.preset.take(), u)
            }
        };
        let mut written = BTreeSet::new();
        // What the file wrote in a section a whole --model or --cluster replaces.
        let mut dropped = BTreeSet::new();
        if self.model.is_some() || self.flags.model.preset.is_some() {
            field_paths(&to_value(&user.model)?, "model", &mut dropped);
        }
        if self.cluster.is_some() || self.flags.cluster.preset.is_some() {
            field_paths(&to_value(&user.cluster)?, "cluster", &mut dropped);
        }
        user = user_over(user, &self.flags)?;
        if let Some(m) = &self.model {
            user.model = m.clone();
        }
        // A whole cluster still takes the cluster flags (`--gpu`) over its fields (a
        // flag's preset, if any, does not apply to a whole section).
        let cluster = match &self.cluster {
            Some(c) => Some(over_preset(&self.flags.cluster, c)?),
            None => None,
        };
        if let Some(c) = &cluster {
            user.cluster = c.clone();
        }
        field_paths(&to_value(&user)?, "", &mut written);
        let base = match &preset {
            Some(p) => scenario_preset(p)?.resolved()?,
            None => ScenarioFile::default(),
        };
        let mut file = base.overlaid(&user)?;
        if let Some(m) = &self.model {
            file.model = m.clone().resolved()?;
        }
        if let Some(c) = cluster {
            file.cluster = c.resolved()?;
        }
        let mut merged = MergedScenario {
            file,
            written,
            preset,
            replaced: dropped.into_iter().collect(),
            servers: self.servers.clone(),
        };
        merged.derive_again();
        Ok(merged)
    }
}

/// The plan fields beside its shape, with memphis's defaults where not given
/// ([`ParallelFile::defaulted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanDefaults {
    /// Virtual pipeline stages per stage.
    pub vpp: u32,
    /// Expert parallelism.
    pub ep: u32,
    /// Expert tensor parallelism.
    pub etp: u32,
    /// Sequence parallelism.
    pub sequence_parallel: bool,
    /// The distributed optimizer.
    pub distributed_optimizer: bool,
}

impl ParallelFile {
    /// Whether `plan` has every field this section sets (what a search may not change).
    /// Compared field by field through their serde names, so no field is listed here.
    pub fn admits(&self, plan: &ParallelPlan) -> bool {
        // Nothing fixed admits every plan; the planner asks of every plan it weighs.
        if *self == ParallelFile::default() {
            return true;
        }
        match (to_value(self), to_value(plan)) {
            (Ok(Value::Table(fixed)), Ok(Value::Table(p))) => {
                fixed.iter().all(|(k, v)| p.get(k) == Some(v))
            }
            _ => false,
        }
    }

    /// The fields beside the plan's shape, given or at memphis's defaults, the ones a
    /// scenario file reads: vpp 1, ep 1, etp = tp, sequence parallelism with tp > 1 where
    /// the sequence (`seq`) splits over tp x cp
    /// ([`crate::workload::plan::sequence_parallel_by_default`]), the distributed
    /// optimizer.
    pub fn defaulted(&self, tp: u32, seq: Option<u64>) -> PlanDefaults {
        let cp = self.cp.unwrap_or(1);
        PlanDefaults {
            vpp: self.vpp.unwrap_or(1),
            ep: self.ep.unwrap_or(1),
            etp: self.etp.unwrap_or(tp),
            sequence_parallel: self.sequence_parallel.unwrap_or(
                crate::workload::plan::sequence_parallel_by_default(tp, cp, seq),
            ),
            distributed_optimizer: self.distributed_optimizer.unwrap_or(true),
        }
    }

    /// The plan fields given, completed where every field that shapes the plan is
    /// given (tp, pp, and vpp when pp > 1, cp, micro_batch, recompute, and ep for an MoE
    /// model): the rest take the defaults a scenario file takes ([`Self::defaulted`]).
    /// dp may be left to the GPU count. None where a shaping field is missing: the
    /// planner fills that in.
    pub fn completed(&self, moe: bool, seq: Option<u64>) -> Option<ParallelFile> {
        if !self.missing_to_complete(moe).is_empty() {
            return None;
        }
        let tp = self.tp?;
        let d = self.defaulted(tp, seq);
        Some(ParallelFile {
            vpp: Some(d.vpp),
            ep: Some(d.ep),
            etp: Some(d.etp),
            sequence_parallel: Some(d.sequence_parallel),
            distributed_optimizer: Some(d.distributed_optimizer),
            ..self.clone()
        })
    }

    /// The fields that shape the plan ([`Self::completed`]) this section leaves out.
    pub fn missing_to_complete(&self, moe: bool) -> Vec<&'static str> {
        let pp = self.pp.unwrap_or(1);
        [
            ("tp", self.tp.is_none()),
            ("pp", self.pp.is_none()),
            ("vpp", pp > 1 && self.vpp.is_none()),
            ("cp", self.cp.is_none()),
            ("ep", moe && self.ep.is_none()),
            ("micro_batch", self.micro_batch.is_none()),
            ("recompute", self.recompute.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect()
    }

    /// Whether this section gives every field of `plan` but dp (which follows the job's
    /// GPUs): a search around it has nothing left to choose.
    pub fn sets_all_of(&self, plan: &ParallelPlan) -> bool {
        match (to_value(self), to_value(plan)) {
            (Ok(Value::Table(fixed)), Ok(Value::Table(p))) => {
                p.keys().all(|k| k == "dp" || fixed.contains_key(k))
            }
            _ => false,
        }
    }

    /// Why no plan of `plans` admits this section: the first field no plan has, as
    /// `(name, value, the values the plans have)`; `None` when each field alone is had
    /// by some plan (only their combination is not).
    pub fn unmatched(&self, plans: &[ParallelPlan]) -> Option<(String, String, Vec<String>)> {
        let Ok(Value::Table(fixed)) = to_value(self) else {
            return None;
        };
        let tables: Vec<toml::Table> = plans
            .iter()
            .filter_map(|p| match to_value(p) {
                Ok(Value::Table(t)) => Some(t),
                _ => None,
            })
            .collect();
        fixed.iter().find_map(|(k, v)| {
            if tables.iter().any(|t| t.get(k) == Some(v)) {
                return None;
            }
            let mut had: Vec<&Value> = tables.iter().filter_map(|t| t.get(k)).collect();
            had.sort_by(|a, b| match (a.as_integer(), b.as_integer()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => a.to_string().cmp(&b.to_string()),
            });
            had.dedup();
            Some((
                k.clone(),
                v.to_string(),
                had.iter().map(|v| v.to_string()).collect(),
            ))
        })
    }
}

impl MergedScenario {
    /// The plan fields the user did not write but the merged file sets (the preset's),
    /// as `name = value`, in the section's order.
    pub fn unwritten_plan_fields(&self, plan: &ParallelPlan) -> Vec<String> {
        // Those the plan kept as the file has them: a field derived again to suit the
        // fields the user wrote has a note of its own, and sequence parallelism without
        // tensor parallelism does nothing.
        let resolved = match to_value(plan) {
            Ok(Value::Table(t)) => t,
            _ => Default::default(),
        };
        match to_value(&self.file.parallel) {
            Ok(Value::Table(t)) => t
                .iter()
                .filter(|(k, _)| !self.wrote(&format!("parallel.{k}")))
                .filter(|(k, v)| resolved.get(*k).is_none_or(|r| r == *v))
                .filter(|(k, _)| !(k.as_str() == "sequence_parallel" && plan.tp == 1))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The scenario with `plan` as its whole [parallel] section, the preset's plan
    /// fields dropped (as a scenario file giving just `plan` reads).
    pub fn with_plan(&self, plan: ParallelFile) -> Result<Scenario> {
        let mut file = self.file.clone().resolved()?;
        file.parallel = plan;
        file.validate()
    }

    /// Why the planner refused the plan fields the user wrote (`search`, its error):
    /// where those fields, the rest at their defaults (as a scenario file giving just
    /// them reads), break a rule on a plan field the user wrote (interleaving against the
    /// batch, say), that rule is the reason, in place of the search's "no plan has them
    /// all"; for a whole plan ([`ParallelFile::completed`]) a rule on any field the user
    /// wrote (the batch, the sequence) is, in place of any search error.
    pub fn plan_refused(&self, search: Error, moe: bool) -> Error {
        // Only the search's "no plan has them all" (said of the whole section) gives
        // way, or any refusal of a whole plan: a field the search names in a partial
        // plan has its own reason.
        let written = self.written_plan();
        let whole = written.completed(moe, self.file.training.seq_len);
        if search.field() != Some("parallel") && whole.is_none() {
            // A field the user did not write (the preset's global batch against the dp
            // given) is said as the conflict it is, with the user's fields first.
            return match search.field() {
                Some(f) if !self.wrote(f) => self.blame(search),
                _ => search,
            };
        }
        let is_whole = whole.is_some();
        match self.with_plan(whole.unwrap_or(written)) {
            Err(own)
                if own
                    .field()
                    .is_some_and(|f| (is_whole || f.starts_with("parallel.")) && self.wrote(f)) =>
            {
                own
            }
            _ => search,
        }
    }

    /// The plan fields the user wrote, alone: what a search keeps fixed.
    pub fn written_plan(&self) -> ParallelFile {
        let mut v = to_value(&self.file.parallel).unwrap_or(Value::Table(Default::default()));
        if let Value::Table(t) = &mut v {
            t.retain(|k, _| self.wrote(&format!("parallel.{k}")));
        }
        from_value("parallel", v).unwrap_or_default()
    }
}

/// The flags over the user's file (both written by the user).
fn user_over(file: ScenarioFile, flags: &ScenarioFile) -> Result<ScenarioFile> {
    let mut file = file;
    if flags.cluster.preset.is_some() {
        file.cluster = ClusterFile::default();
    }
    if flags.model.preset.is_some() {
        file.model = ModelFile::default();
    }
    let mut v = to_value(&file)?;
    overlay(&mut v, to_value(flags)?);
    from_value("scenario", v)
}

impl MergedScenario {
    /// Clears the derived fields the user did not write, so that they are derived again.
    fn derive_again(&mut self) {
        let mut f = std::mem::take(&mut self.file);
        if !self.wrote("parallel.dp") {
            f.parallel.dp = None;
        }
        if !self.wrote("training.gpus") {
            let too_many = match (f.training.gpus, f.cluster.gpus) {
                (Some(job), Some(cluster)) => job > cluster,
                _ => false,
            };
            if self.wrote("parallel.dp") || too_many {
                f.training.gpus = None;
            }
        }
        if self.wrote("parallel.recompute") && !self.wrote("parallel.recompute_layers") {
            // A count of layers goes with the recompute it was written with: the user's
            // own recompute, given alone, covers every layer.
            f.parallel.recompute_layers = None;
        }
        if !self.wrote("name") && (self.wrote_in("cluster") || self.wrote_in("model")) {
            f.name = None;
            f.description = None;
        }
        self.file = f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        for p in SCENARIO_PRESETS {
            let s = scenario_preset(p.name).unwrap().validate();
            assert!(s.is_ok(), "{}: {:?}", p.name, s.err());
            assert!(
                !preset_description(p).is_empty(),
                "{} has no description",
                p.name
            );
        }
        for p in MODEL_PRESETS {
            model_preset(p.name).unwrap().validate("model").unwrap();
        }
        for p in CLUSTER_PRESETS {
            cluster_preset(p.name).unwrap();
        }
    }

    #[test]
    fn a_files_token_budget_is_a_number_or_the_flags_text() {
        let tokens = |v: &str| {
            parse_scenario("f.toml", &format!("[training]\ntokens = {v}\n"))
                .map(|f| f.training.tokens)
                .map_err(|e| e.to_string())
        };
        assert_eq!(tokens("\"15T\""), Ok(Some(15e12)));
        assert_eq!(tokens("\"500B\""), Ok(Some(500e9)));
        assert_eq!(tokens("15e12"), Ok(Some(15e12)));
        assert_eq!(tokens("4096"), Ok(Some(4096.0)));
        let e = tokens("\"15X\"").unwrap_err();
        assert!(
            e.ends_with("'15X' is not a number of tokens (15T, 500B, 1.5e12)"),
            "{e}"
        );
        let e = tokens("true").unwrap_err();
        assert!(e.contains("expected a number of tokens (15e12)"), "{e}");
    }

    #[test]
    fn default_uses_memphis_with_spares() {
        let s = build(&ScenarioLayers::default()).unwrap();
        assert_eq!(s.cluster.gpus, 100_000);
        assert_eq!(s.model.name, "llama3-405b");
        assert!(s.job_gpus() as f64 >= 0.96 * 100_000.0, "{}", s.job_gpus());
        assert!(s.spare_gpus() > 0);
        assert_eq!(s.run.tokens, 15e12);
    }

    /// Each recipe field a run has no use for is said once, and only when written; an
    /// overlap turned off where there is nothing to overlap is what runs, so it is not.
    #[test]
    fn recipe_fields_a_run_does_not_use_are_said() {
        let mut sc = preset_scenario("dgx-h100-llama3-70b");
        sc.plan.cp = 1;
        sc.plan.vpp = 1;
        sc.plan.recompute = Recompute::Full;
        sc.run.precision = Precision::Bf16;
        let all = |_: &str| true;
        let set = |s: &str, f: &str| format!("{s}.{f}");
        let assign = |s: &str, f: &str, v: &str| format!("{s}.{f} = {v}");
        let said = |sc: &Scenario, written: &dyn Fn(&str) -> bool| {
            let mut n = sc.unused_recipe(written, assign);
            n.extend(sc.unused_recipe_in_plan(written, set));
            n
        };
        let notes = said(&sc, &all);
        let starts: Vec<&str> = notes
            .iter()
            .map(|n| n.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(
            starts,
            [
                "fp8_recipe",
                "ep_overlap",
                "cp_comm",
                "pp_overlap",
                "recompute_modules"
            ],
            "{notes:#?}"
        );
        assert!(
            notes[0].ends_with("(set training.precision = \"fp8\")"),
            "{}",
            notes[0]
        );
        // MXFP8 on Hopper: no advice to set FP8 that the next run would refuse.
        let mut mx = sc.clone();
        mx.run.recipe.fp8_recipe = Fp8Recipe::Mxfp8;
        let n = mx.unused_recipe(|f| f == "fp8_recipe", assign);
        assert!(
            n[0].ends_with("(and MXFP8 needs Blackwell (B200, GB200); on H100-SXM5-80GB FP8 runs delayed, tensorwise or blockwise)"),
            "{}",
            n[0]
        );
        assert!(notes[4].contains("recompute is full"), "{}", notes[4]);
        // Nothing written, nothing said.
        assert!(said(&sc, &|_| false).is_empty());
        // Turned off, the overlaps are what runs.
        sc.run.recipe.pp_overlap = false;
        assert!(said(&sc, &|f| f == "pp_overlap").is_empty());
        // One data-parallel replica reduces nothing between replicas.
        sc.plan.dp = 1;
        let dp = said(&sc, &|f| f == "dp_overlap");
        assert_eq!(dp.len(), 1, "{dp:?}");
        assert!(dp[0].starts_with("dp_overlap applies with data parallelism"));
        sc.run.recipe.dp_overlap = false;
        assert!(said(&sc, &|f| f == "dp_overlap").is_empty());
        // Modules the model has none of.
        sc.run.recipe.recompute_modules = vec![
            crate::workload::plan::RecomputeModule::CoreAttn,
            crate::workload::plan::RecomputeModule::MoeAct,
        ];
        let modules = sc.unused_recipe(|f| f == "recompute_modules", assign);
        assert_eq!(
            modules,
            ["recompute_modules moe_act recomputes nothing: llama3-70b has no experts"]
        );
    }

    fn flags(f: impl FnOnce(&mut ScenarioFile)) -> ScenarioLayers {
        let mut sf = ScenarioFile::default();
        f(&mut sf);
        ScenarioLayers::flags(sf)
    }

    #[test]
    fn flags_replace_single_fields() {
        let s = build(&flags(|f| {
            f.parallel.tp = Some(4);
            f.training.gpus = Some(4096);
        }))
        .unwrap();
        assert_eq!(s.plan.tp, 4);
        assert_eq!(s.plan.gpus(), 4096);
        // The preset's other plan fields are kept: vpp 4 with a new pp.
        let s = build(&flags(|f| f.parallel.pp = Some(8))).unwrap();
        assert_eq!((s.plan.pp, s.plan.vpp), (8, 4));
        assert_eq!(s.job_gpus(), 98_304, "dp derived again from the job's GPUs");
    }

    #[test]
    fn derived_fields_are_derived_again_unless_written() {
        // A file that starts from a preset and changes tp: dp follows the job's GPUs.
        let file =
            parse_scenario("f.toml", "preset = \"memphis-405b\"\n[parallel]\ntp = 4\n").unwrap();
        let layers = ScenarioLayers {
            file: Some(file),
            ..Default::default()
        };
        let s = build(&layers).unwrap();
        assert_eq!((s.plan.tp, s.plan.dp, s.job_gpus()), (4, 768, 98_304));
        // dp written: the job's GPUs follow dp.
        let s = build(&flags(|f| f.parallel.dp = Some(16))).unwrap();
        assert_eq!(s.job_gpus(), 8 * 16 * 2 * 16);
        // Another cluster, smaller than the preset's job: the job is the whole cluster.
        let m = flags(|f| f.cluster.preset = Some("dgx-h100".into()))
            .merge()
            .unwrap();
        assert_eq!(m.file.training.gpus, None);
        assert!(m.wrote_in("cluster") && !m.wrote_in("parallel"));
        assert_eq!(m.file.name, None, "the name is derived again");
        // Another GPU type: the job's size stays.
        let s = build(&flags(|f| f.cluster.gpu = Some("B200".into()))).unwrap();
        assert_eq!(s.job_gpus(), 98_304);
        // A whole cluster section (`--cluster FILE`) still takes `--gpu`, over its own.
        let mut layers = flags(|f| f.cluster.gpu = Some("B200".into()));
        layers.cluster = Some(ClusterFile {
            gpu: Some("H200-SXM-141GB".into()),
            gpus: Some(2048),
            ..Default::default()
        });
        let m = layers.merge().unwrap();
        assert_eq!(m.file.cluster.gpu.as_deref(), Some("B200"));
        assert_eq!(m.file.cluster.gpus, Some(2048));
        assert!(m.wrote("cluster.gpu"));
        // A recompute given alone drops the preset's count of recomputed layers; with
        // its own count, that count stands.
        let on = |f: fn(&mut ScenarioFile)| {
            let mut layers = flags(f);
            layers.file = Some(parse_scenario("f", "preset = \"meta-llama3-405b\"").unwrap());
            layers.merge().unwrap().file.parallel.recompute_layers
        };
        assert_eq!(on(|_| ()), Some(1));
        assert_eq!(on(|f| f.parallel.recompute = Some(Recompute::Full)), None);
        assert_eq!(
            on(|f| {
                f.parallel.recompute = Some(Recompute::Full);
                f.parallel.recompute_layers = Some(2);
            }),
            Some(2)
        );
    }

    #[test]
    fn the_default_job_leaves_hot_spares() {
        assert_eq!(default_job_gpus(100_000, 8), 98_304);
        assert_eq!(default_job_gpus(10_752, 8), 8_192);
        assert_eq!(default_job_gpus(4_480, 8), 4_096);
        assert_eq!(default_job_gpus(64, 8), 64);
        assert_eq!(default_job_gpus(1, 8), 1);
    }

    #[test]
    fn a_field_that_cannot_be_kept_names_what_the_user_wrote() {
        // pp 7 leaves vpp 4 from the preset invalid: the error names parallel.pp.
        let e = build(&flags(|f| f.parallel.pp = Some(7)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parallel.pp"), "{e}");
        assert!(e.contains("the default scenario ('memphis-405b')"), "{e}");
    }

    #[test]
    fn a_section_preset_replaces_the_section() {
        // The model preset replaces the whole model, MoE fields included.
        let file = parse_scenario(
            "f.toml",
            "preset = \"memphis-grok1\"\n[model]\npreset = \"llama3-70b\"\n",
        )
        .unwrap();
        let m = ScenarioLayers {
            file: Some(file),
            ..Default::default()
        }
        .merge()
        .unwrap();
        assert_eq!(m.file.model.moe_experts, None);
        assert_eq!(m.file.model.layers, Some(80));
        // A field without a preset is merged into the section.
        let m = flags(|f| f.model.layers = Some(64)).merge().unwrap();
        assert_eq!(
            (m.file.model.layers, m.file.model.hidden),
            (Some(64), Some(16384))
        );
    }

    #[test]
    fn a_model_changed_from_its_preset_is_named_for_the_change() {
        let model = |toml: &str| {
            parse_scenario("f.toml", toml)
                .unwrap()
                .model
                .validate("model")
                .unwrap()
                .name
        };
        let base = "[model]\npreset = \"llama3-8b\"\n";
        assert_eq!(model(base), "llama3-8b");
        // A field at the preset's own value changes nothing.
        assert_eq!(model(&format!("{base}layers = 32\n")), "llama3-8b");
        assert_eq!(
            model(&format!("{base}layers = 16\n")),
            "llama3-8b with layers = 16"
        );
        assert_eq!(
            model(&format!("{base}layers = 16\nname = \"half\"\n")),
            "half",
            "a name given wins"
        );
        let many = "layers = 16\nhidden = 2048\nheads = 16\nkv_heads = 4\n";
        assert_eq!(
            model(&format!("{base}{many}")),
            "llama3-8b with 4 fields changed"
        );
    }
    #[test]
    fn errors_name_the_field() {
        let e = build(&flags(|f| f.training.gpus = Some(1000)))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("training.gpus = 1000: a multiple of tp x pp x cp"),
            "{e}"
        );
        let e = parse_scenario("x.toml", "[parallel]\ntpp = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tpp"), "{e}");
        let e = parse_scenario("x.toml", "[parallel\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:"), "{e}");
        let mut sf = scenario_preset(DEFAULT_SCENARIO).unwrap();
        sf.cluster.gpu = Some("Z100".into());
        assert!(sf
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("cluster.gpu = Z100: one of A100-SXM4-80GB"));
        let mut sf = scenario_preset(DEFAULT_SCENARIO).unwrap();
        sf.model.preset = None;
        sf.model.layers = Some(0);
        sf.model.hidden = Some(4096);
        sf.model.heads = Some(32);
        sf.model.ffn_hidden = Some(4096);
        sf.model.vocab = Some(32000);
        let e = sf.validate().unwrap_err().to_string();
        assert!(e.starts_with("model.layers = 0"), "{e}");
    }
}
