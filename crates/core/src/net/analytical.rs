//! Analytical collective model after NCCL's tuner (facts.md §3, `src/graph/tuning.cc`
//! @5067397c): for each algorithm and protocol, time = latency + bytes / bandwidth, and
//! the fastest wins, as NCCL's `ncclTopoGetAlgoTime` picks. The time predicted for the
//! winner adds what the tuner leaves out, so that mid-size messages ramp up as measured:
//! the fill of the NVLS pipelines, the whole steps a tree forwards at each network hop,
//! and the rate one CTA gives a ring channel. Choice and cost are one function
//! ([`NetworkParams::collective`]), which `memphis collective`, `validate` and the step's
//! TP, CP, EP and DP collectives (through `collective::CommModel`) all call.
//!
//! Bandwidths are per GPU. Inside one NVLink domain a GPU moves data at NCCL's NVLink
//! figure; across servers a group with r members per server drives r NICs in parallel, so
//! the bus bandwidth is min(NVLink, r x NIC) (rail-optimized: one NIC per GPU).

use crate::hardware::Generation;
use crate::units::{Bandwidth, Bytes, Seconds};
use serde::{Deserialize, Serialize};

/// How an all-to-all reaches peers in other servers ([`NetworkParams::all_to_all`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllToAllRoute {
    /// The share of the bytes for other servers that crosses the network: 1 for NCCL,
    /// less where one copy per server is forwarded over NVLink there (DeepEP).
    pub network_share: f64,
    /// Whether NCCL's proxy thread posts each send and receive to the NIC (NCCL's
    /// grouped sends), or the GPU does (DeepEP over NVSHMEM).
    pub proxy_posts: bool,
}

impl AllToAllRoute {
    /// NCCL's all-to-all: every byte for another server crosses the network, each peer's
    /// send and receive posted by the proxy.
    pub const NCCL: AllToAllRoute = AllToAllRoute {
        network_share: 1.0,
        proxy_posts: true,
    };
}

/// A collective operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CollectiveOp {
    /// Sum across ranks, result everywhere.
    #[cfg_attr(feature = "clap", value(name = "all_reduce", alias = "all-reduce"))]
    AllReduce,
    /// Concatenate shards everywhere.
    #[cfg_attr(feature = "clap", value(name = "all_gather", alias = "all-gather"))]
    AllGather,
    /// Sum, each rank keeps a shard.
    #[cfg_attr(
        feature = "clap",
        value(name = "reduce_scatter", alias = "reduce-scatter")
    )]
    ReduceScatter,
    /// Every rank sends a distinct block to every other.
    #[cfg_attr(feature = "clap", value(name = "all_to_all", aliases = ["alltoall", "all-to-all"]))]
    AllToAll,
}

impl CollectiveOp {
    /// nccl-tests bus-bandwidth factor: busbw = algbw x factor (facts.md §3.8).
    pub fn bus_factor(self, n: u32) -> f64 {
        let n = n.max(1) as f64;
        match self {
            CollectiveOp::AllReduce => 2.0 * (n - 1.0) / n,
            _ => (n - 1.0) / n,
        }
    }
}

/// Algorithm chosen for a collective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Flat ring over all ranks.
    Ring,
    /// Double binary tree (all-reduce).
    Tree,
    /// Direct sends to every peer (all-to-all).
    Direct,
    /// DeepEP's all-to-all: GPU-initiated sends, one copy per server forwarded over
    /// NVLink there (not an NCCL algorithm; `memphis collective` prices NCCL's).
    Deepep,
    /// NVLink SHARP: the NVSwitch reduces and multicasts (one NVLink domain).
    Nvls,
    /// NVLS inside each server, a tree between servers (multi-server all-reduce).
    NvlsTree,
    /// Parallel aggregated trees / halving-doubling: log-depth all-gather and
    /// reduce-scatter (NCCL enables it with one GPU per node).
    Pat,
    /// CollNet direct: every GPU of a server reduces through the server's NICs in the
    /// switches (SHARP).
    CollnetDirect,
    /// CollNet chain: a chain through each server's GPUs, its head reducing in the
    /// switches (SHARP).
    CollnetChain,
    /// NVLS inside each server and SHARP between them (multi-node NVLS).
    NvlsSharp,
}

/// NCCL protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Protocol {
    /// Low-latency, 8 B data + 8 B flag lines: half the bandwidth.
    LL,
    /// 128-B lines with 120 B of data.
    LL128,
    /// Plain copies with fences: full bandwidth, highest latency.
    Simple,
}

const PROTOCOLS: [Protocol; 3] = [Protocol::LL, Protocol::LL128, Protocol::Simple];

impl Algorithm {
    /// What NCCL's tuner leaves out of this algorithm's estimate that memphis prices
    /// (see [`NetworkParams::collective`]), in words.
    pub fn tuner_leaves_out(self) -> &'static str {
        match self {
            Algorithm::Nvls | Algorithm::NvlsTree => {
                "the NVLS pipeline: its fill and a sync per step"
            }
            Algorithm::Tree => "the whole steps the tree forwards at each network hop",
            Algorithm::Ring => "a ring channel's cap at one CTA's rate",
            _ => "what memphis adds to its estimate",
        }
    }

    /// The name `NCCL_ALGO` takes (env.rst); all-to-all's direct sends have none.
    pub fn nccl_name(self) -> Option<&'static str> {
        Some(match self {
            Algorithm::Ring => "Ring",
            Algorithm::Tree => "Tree",
            Algorithm::Nvls | Algorithm::NvlsSharp => "NVLS",
            Algorithm::NvlsTree => "NVLSTree",
            Algorithm::Pat => "PAT",
            Algorithm::CollnetDirect => "CollnetDirect",
            Algorithm::CollnetChain => "CollnetChain",
            Algorithm::Direct | Algorithm::Deepep => return None,
        })
    }
}

impl Protocol {
    fn index(self) -> usize {
        match self {
            Protocol::LL => 0,
            Protocol::LL128 => 1,
            Protocol::Simple => 2,
        }
    }
}

/// NCCL `baseLatencies` (µs) for Tree and Ring, by protocol (LL, LL128, Simple).
const BASE_LAT_TREE: [f64; 3] = [6.8, 14.0, 8.4];
const BASE_LAT_RING: [f64; 3] = [6.6, 14.0, 8.4];
/// NCCL `hwLatencies` (µs): NVLink and NET rows for Tree and Ring.
const NVLINK_LAT_TREE: [f64; 3] = [0.6, 1.25, 4.0];
const NVLINK_LAT_RING: [f64; 3] = [0.6, 1.9, 3.4];
const NET_LAT_TREE: [f64; 3] = [5.0, 8.5, 14.0];
const NET_LAT_RING: [f64; 3] = [2.7, 4.0, 14.0];
/// `getNetOverhead` for x86 Intel hosts, µs (x3 for Simple).
const NET_OVERHEAD_US: f64 = 1.0;

/// NCCL's `nvlsEfficiency` (tuning.cc): Hopper 0.85, Blackwell 0.74, none before.
fn nvls_efficiency(gen: Generation) -> f64 {
    match gen {
        Generation::Ampere => 0.0,
        Generation::Hopper => 0.85,
        Generation::Blackwell => 0.74,
    }
}

/// NVLS channels (CTAs) at run time on Hopper: `NCCL_NVLS_NCHANNELS` default 16
/// (facts.md §10, nvls.cc); each works on every head's share, so nvlsChannels x nHeads
/// chunks are in flight at once (NCCL's `concurrentOps`, enqueue.cc).
const NVLS_CHANNELS: f64 = 16.0;
/// NVLS chunk: `NCCL_NVLS_CHUNKSIZE` default 128 KiB (facts.md §10, nvls.cc L160).
const NVLS_CHUNK: f64 = 128.0 * 1024.0;
/// NVLS-tree chunk cap from 4 servers on (NCCL's tree chunk limit, 64 KiB; facts.md §10).
const NVLS_TREE_CHUNK_4_NODES: f64 = 64.0 * 1024.0;
/// hwLat[NVLINK][NVLS|NVLSTree][Simple], µs (tuning.cc @5067397c, facts.md §3.2).
const NVLS_LAT_US: f64 = 25.0;
/// hwLat[NET][NVLSTree][Simple], µs, as NCCL's tuner ranks NVLS-tree with it from 2.21 to
/// 2.27 (facts.md §3.9; the 14.0 of the float tables of PyPI's nvidia-nccl-cu12 2.26.2 and
/// 2.27.3 libnccl.so), the versions of the 2- and 8-node validation curves (the 2-node
/// post names 2.26.2). Hopper's tuner tables are otherwise the same in every version
/// (facts.md §3.9), so Hopper's choice is made with it. Blackwell's tables here are
/// 2.30.7's, whose tuner ranks with 20.9 µs, so Blackwell's choice is made as 2.30.7's.
const NET_NVLS_TREE_LAT_TUNER_HOPPER_US: f64 = 14.0;

/// hwLat[NET][NVLSTree][Simple] as NCCL re-measured it from 2.28 on (20.9 µs, 2.28.9's
/// double table and 2.30.7; facts.md §3.2, §3.9): what each tree level's network hop
/// costs, so the time predicted pays it whichever table chose the algorithm. Ranked with
/// 20.9 as well, the 8-node curve kept the tree (LL128) to 16 MiB where NCCL had moved to
/// NVLS-tree by 8 MiB (its in-place 8 MiB row: 321 µs, the NVLS-tree line), +20% at 16 MiB;
/// timed with 14, the 2-node curve came out 17% fast at 1 MiB.
const NET_NVLS_TREE_LAT_US: f64 = 20.9;

/// The NVLS-tree network latency NCCL's tuner ranks with, by the version whose tables
/// memphis holds for the generation (see [`NET_NVLS_TREE_LAT_TUNER_HOPPER_US`]).
fn net_nvls_tree_tuner_lat_us(generation: Generation) -> f64 {
    match generation {
        Generation::Blackwell => NET_NVLS_TREE_LAT_US,
        _ => NET_NVLS_TREE_LAT_TUNER_HOPPER_US,
    }
}

/// hwLat[NVLINK][CollNetDirect|CollNetChain][Simple] and hwLat[NET][...][Simple], µs,
/// and hwLat[NET][NVLS][Simple] for NVLS across servers over SHARP (tuning.cc, facts.md
/// §3.2).
const COLLNET_DIRECT_LAT_US: (f64, f64) = (3.7, 31.0);
const COLLNET_CHAIN_LAT_US: (f64, f64) = (2.8, 30.0);
const NET_NVLS_LAT_US: f64 = 18.0;

/// Stages a chunk passes in an NVLS all-reduce on one server before its result lands:
/// copied into the multicast buffer, reduced and multicast by the switch, copied out
/// ⚠ (our reading of NCCL's NVLS kernel: scatter, reduce/broadcast, gather warps). The
/// pipeline is full only after the first chunk has passed all of them.
const NVLS_STAGES: f64 = 3.0;
/// Stages each tree level adds to an NVLS-tree all-reduce ⚠: a level is one network
/// hop up and one down, which overlap, and each of the two trees carries half the data.
const NVLS_TREE_STAGES_PER_LEVEL: f64 = 0.5;

/// Data one step of a connection's FIFO carries, by protocol (LL, LL128, Simple): the
/// buffer over `NCCL_STEPS` = 8 (facts.md §3.3, §10): LL 512 KiB / 8 of which half is
/// data, LL128 4,915,200 B / 8 x 120/128, Simple 4 MiB / 8.
const STEP_DATA: [f64; 3] = [32768.0, 576000.0, 524288.0];

/// Fraction of NIC line rate NCCL sustains: 24 GB/s per channel x 16 channels over
/// 8 x 50 GB/s NICs = 0.96 (facts.md §3.7, from `sm90SpeedArrayInter`; RoCE's MTU-4096
/// goodput of 98%, §4, bounds it from above).
pub const NET_EFFICIENCY: f64 = 0.96;

/// The two tiers a collective can cross, per GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkParams {
    /// NVLink bandwidth per GPU per direction, as NCCL sees it.
    pub nvlink: Bandwidth,
    /// Scale-out bandwidth per GPU (one NIC per GPU), after [`NET_EFFICIENCY`], for
    /// ring-like algorithms.
    pub nic: Bandwidth,
    /// The same for the tree algorithm, whose traffic pattern differs (the flow level
    /// derates the two separately; analytically they are equal).
    pub tree_nic: Bandwidth,
    /// GPUs per NVLink domain.
    pub gpus_per_node: u32,
    /// GPU generation (NCCL's LL bandwidth caps).
    pub generation: Generation,
    /// The switches reduce in the network (SHARP): NCCL's CollNet algorithms, and NVLS
    /// across servers, are open to an all-reduce.
    pub collnet: bool,
}

/// How a communicator's ranks sit on servers (`workload::layout::RankLayout::shape`
/// measures it for a job's groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GroupShape {
    /// Ranks in the communicator.
    pub ranks: u32,
    /// Ranks per server: the fewest the group has on any of its servers, which is how
    /// many NICs carry its traffic there.
    pub ranks_per_node: u32,
    /// The most the group has on one server: the chain a tree runs inside its fullest
    /// server, which sets the tree's latency.
    pub most_per_node: u32,
    /// Servers the group spans.
    pub nodes: u32,
}

impl GroupShape {
    /// A group of `ranks` filling servers of `ranks_per_node` in order (at least 1 of
    /// each): full servers, then the remainder on the last one, which is then the fewest
    /// a server holds (`memphis collective -g 9` on 8-GPU servers: one GPU and its one
    /// NIC on the second server).
    pub fn uniform(ranks: u32, ranks_per_node: u32) -> GroupShape {
        let ranks = ranks.max(1);
        let per = ranks_per_node.clamp(1, ranks);
        let last = ranks % per;
        GroupShape {
            ranks,
            ranks_per_node: if last == 0 { per } else { last },
            most_per_node: per,
            nodes: ranks.div_ceil(per),
        }
    }
}

/// A predicted collective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CollectiveEstimate {
    /// Time of one operation.
    pub time: Seconds,
    /// Chosen algorithm.
    pub algorithm: Algorithm,
    /// Chosen protocol.
    pub protocol: Protocol,
    /// Another algorithm and protocol NCCL allows here that memphis prices at least
    /// [`FASTER_BY`] faster than the tuner's pick (its model leaves out the NVLS fill and
    /// the tree's whole steps), if any: what `NCCL_ALGO`/`NCCL_PROTO` would gain.
    pub faster: Option<Alternative>,
}

/// An algorithm and protocol the tuner did not pick, with its time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alternative {
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Protocol.
    pub protocol: Protocol,
    /// Time of one operation.
    pub time: Seconds,
    /// Why the tuner passed it over.
    pub because: FasterBecause,
}

/// Why NCCL's tuner picks an algorithm that memphis prices slower than another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FasterBecause {
    /// Its model leaves out a cost memphis prices ([`Algorithm::tuner_leaves_out`]).
    TunerModel,
    /// It ranks at the nominal rates and does not see the fabric's contention, which
    /// slows the pick more than the other (flow level).
    Fabric,
}

/// How much faster another choice must be priced for [`CollectiveEstimate::faster`] to
/// name it: 20%, well beyond the model's own error on the measured curves (at most 11%
/// from 1 MiB on, `memphis validate`), so that the advice is not the model's noise ⚠.
pub const FASTER_BY: f64 = 0.20;

fn ll_max_bw(gen: Generation, nodes: u32) -> f64 {
    // llMaxBws (GB/s): the compCap row for one node, the Intel-CPU row across nodes.
    let idx = node_index(nodes);
    let single = match gen {
        Generation::Ampere => [87.7, 22.5, 19.0],
        Generation::Hopper => [141.0, 45.0, 35.0],
        Generation::Blackwell => [282.0, 90.0, 70.0],
    };
    if nodes <= 1 {
        single[idx]
    } else {
        [39.0, 39.0, 20.4][idx]
    }
}

/// NCCL's column of its per-node-count tables: one server, two, more
/// (`nNodes <= 2 ? nNodes - 1 : 2`).
fn node_index(nodes: u32) -> usize {
    match nodes {
        0 | 1 => 0,
        2 => 1,
        _ => 2,
    }
}

/// Per-channel bandwidth caps (GB/s) of tuning.cc (facts.md §3.2), by generation and
/// [`node_index`]: ring LL128, tree LL128, tree Simple and NVLS-tree.
struct ChannelCaps {
    ring_ll128: f64,
    tree_ll128: [f64; 3],
    tree: [f64; 3],
    nvls_tree: [f64; 3],
}

fn channel_caps(gen: Generation) -> ChannelCaps {
    match gen {
        Generation::Ampere => ChannelCaps {
            ring_ll128: 20.0,
            tree_ll128: [20.0, 20.0, 20.0],
            tree: [24.0, 23.6, 17.8],
            nvls_tree: [24.0, 23.6, 17.8],
        },
        Generation::Hopper => ChannelCaps {
            ring_ll128: 36.7,
            tree_ll128: [36.7, 36.7, 29.0],
            tree: [38.7, 41.4, 36.0],
            nvls_tree: [0.0, 57.7, 45.5],
        },
        Generation::Blackwell => ChannelCaps {
            ring_ll128: 40.0,
            tree_ll128: [55.6, 31.67, 20.0],
            tree: [70.0, 42.8, 24.0],
            nvls_tree: [0.0, 96.0, 80.0],
        },
    }
}

/// NCCL's `treeCorrectionFactor` (tuning.cc, facts.md §3.6): the tuner's measured
/// derating of tree bandwidth by size, indexed by log2(bytes / 64), per protocol.
const TREE_CORRECTION: [[f64; 24]; 3] = [
    [
        1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8,
        0.9, 1.0, 1.0, 1.0, 1.0, 1.0,
    ],
    [
        1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9,
        0.9, 0.9, 0.9, 1.0, 1.0, 1.0,
    ],
    [
        0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8,
        0.7, 0.7, 0.8, 0.9, 0.9, 0.9,
    ],
];

fn tree_correction(size: Bytes, p: Protocol) -> f64 {
    let i = log2i((size.0 / 64.0).max(1.0) as u64);
    TREE_CORRECTION[p.index()]
        .get(i as usize)
        .copied()
        .unwrap_or(1.0)
}

/// Per-channel speeds (GB/s) NCCL's topology search tries inside a server, fastest first
/// (`sm90SpeedArrayIntra`, `sm100SpeedArrayIntra`, search.cc; facts.md §3.3).
const SPEEDS_INTRA_SM90: [f64; 11] = [
    60.0, 50.0, 40.0, 30.0, 24.0, 20.0, 15.0, 12.0, 11.0, 6.0, 3.0,
];
const SPEEDS_INTRA_SM100: [f64; 12] = [
    90.0, 80.0, 70.0, 60.0, 50.0, 45.0, 40.0, 30.0, 24.0, 20.0, 19.0, 18.0,
];
/// The lists the search tries when the communicator spans servers (`sm90SpeedArrayInter`,
/// `sm100SpeedArrayInter`, search.cc; facts.md §3.3). The search gives a graph one speed,
/// `bwIntra = bwInter`, so an NVLS graph across servers runs its network side at the
/// speed its NVLink side allows.
const SPEEDS_INTER_SM90: [f64; 17] = [
    48.0, 45.0, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5, 15.0, 12.0, 6.0, 3.0, 2.4, 1.2, 0.24,
    0.12,
];
const SPEEDS_INTER_SM100: [f64; 20] = [
    96.0, 86.0, 80.0, 48.0, 45.1, 42.0, 40.0, 30.0, 24.0, 22.0, 20.0, 17.5, 15.0, 12.0, 6.0, 3.0,
    2.4, 1.2, 0.24, 0.12,
];

/// Channels NCCL runs a ring or tree on inside one server when the message is large
/// (NCCL's usual count over NVLink on Hopper ⚠).
pub const MAX_CHANNELS: f64 = 16.0;

/// Channels NCCL keeps for a message of `size` out of `channels`. NCCL drops channels
/// while nBytes < nChannels x nThreads x threshold (enqueue.cc, facts.md §3.6): threads
/// are 512 (640 for LL128) and the threshold 64 B per thread for Simple, 8 for LL128, and
/// 8 x nRanks for ring LL. The share of the bandwidth kept is the share of channels.
pub fn channel_share(size: Bytes, p: Protocol, ranks: u32, channels: f64) -> f64 {
    let (threads, threshold) = match p {
        Protocol::LL => (512.0, 8.0 * ranks.max(1) as f64),
        Protocol::LL128 => (640.0, 8.0),
        Protocol::Simple => (512.0, 64.0),
    };
    let channels = channels.max(1.0);
    (size.0 / (threads * threshold))
        .floor()
        .clamp(1.0, channels)
        / channels
}

fn log2i(n: u64) -> f64 {
    if n <= 1 {
        0.0
    } else {
        (63 - n.leading_zeros()) as f64
    }
}

/// The channels of a ring or tree graph: how many, and their bus bandwidth together.
#[derive(Debug, Clone, Copy)]
struct Graph {
    channels: f64,
    bus: Bandwidth,
}

/// One algorithm and protocol: NCCL's estimate, which its tuner ranks by, and the time we
/// predict it takes (the same unless the tuner leaves a cost out).
#[derive(Clone, Copy)]
struct Candidate {
    tuned: Seconds,
    time: Seconds,
    algorithm: Algorithm,
    protocol: Protocol,
}

/// What a GPU's links allow a collective's measured bus bandwidth ([`NetworkParams::
/// busbw_ceiling`]): the rate, and what it is made of, for a message that says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusbwCeiling {
    /// The most bus bandwidth a measurement can show, per GPU.
    pub busbw: Bandwidth,
    /// NVLink per GPU, where the group has two GPUs or more on a server.
    pub nvlink: Option<Bandwidth>,
    /// The NIC's line rate per GPU, where the group spans servers.
    pub nic: Option<Bandwidth>,
    /// Whether the switches may reduce (NVLS on the server, SHARP across): twice the
    /// larger rate, for an all-reduce.
    pub in_network: bool,
    /// An all-to-all across servers: the share of the bytes its busbw counts that leave
    /// the server, (n - k) / (n - 1) with k the fewest ranks a server has. Each rank's
    /// block for another server is its own, so no link inside the server carries it,
    /// and the NICs bound the busbw to their rate over this share.
    pub off_server_share: Option<f64>,
}

impl NetworkParams {
    /// The most bus bandwidth `op` over `g` can show on these links (an all-to-all
    /// across servers: its NICs' rate over the share of its bytes that leave the server,
    /// [`BusbwCeiling::off_server_share`]); else the larger of
    /// NVLink's rate per GPU (the group's GPUs on one server) and the NIC's line rate
    /// (before [`NET_EFFICIENCY`]: a measurement may beat NCCL's share; the group across
    /// servers), twice that for an all-reduce where the switches reduce (NVLS on a GPU
    /// with it, SHARP across servers): each GPU then sends and receives the buffer once,
    /// where nccl-tests' bus factor counts it twice. Not a bound on every algorithm's
    /// traffic (a hierarchical all-gather may draw on both NVLink and the NIC), but past
    /// it a measurement is of other links than the case gives, or a slip.
    pub fn busbw_ceiling(&self, op: CollectiveOp, g: GroupShape) -> BusbwCeiling {
        let nvlink = (g.most_per_node > 1).then_some(self.nvlink);
        let nic = (g.nodes > 1).then_some(self.nic * (1.0 / NET_EFFICIENCY));
        let nvls = nvls_efficiency(self.generation) > 0.0 && g.ranks_per_node > 1;
        let sharp = self.collnet && g.nodes > 1;
        let in_network = op == CollectiveOp::AllReduce && (nvls || sharp);
        if let (CollectiveOp::AllToAll, Some(nic)) = (op, nic) {
            let (n, k) = (f64::from(g.ranks), f64::from(g.ranks_per_node));
            let share = (n - k) / (n - 1.0).max(1.0);
            return BusbwCeiling {
                busbw: nic * (1.0 / share.max(1e-9)),
                nvlink: None,
                nic: Some(nic),
                in_network: false,
                off_server_share: Some(share),
            };
        }
        let links = nvlink
            .unwrap_or(Bandwidth(0.0))
            .0
            .max(nic.unwrap_or(Bandwidth(0.0)).0);
        BusbwCeiling {
            busbw: Bandwidth(links * if in_network { 2.0 } else { 1.0 }),
            nvlink,
            nic,
            in_network,
            off_server_share: None,
        }
    }

    /// Bus bandwidth of a ring over this group, per GPU.
    pub fn ring_bus_bw(&self, g: GroupShape) -> Bandwidth {
        self.graph(g, self.nic).bus
    }

    /// The ring or tree graph NCCL's search finds for a group (facts.md §3.3). Inside a
    /// server: [`MAX_CHANNELS`] over NVLink. Across servers: one channel per NIC the
    /// group drives (r per server) at the NIC's rate, doubled (at half the rate each) only
    /// when a channel would carry 50 GB/s or more or there are at most 4 of them, as
    /// NCCL's `ncclTopoDupChannels` does on Hopper and later ⚠ (search.cc, from memory of
    /// the code, not in facts.md); Ampere always doubles. The bus bandwidth is r NICs,
    /// capped by NVLink.
    fn graph(&self, g: GroupShape, nic: Bandwidth) -> Graph {
        if g.nodes <= 1 {
            return Graph {
                channels: MAX_CHANNELS,
                bus: self.nvlink,
            };
        }
        let r = g.ranks_per_node.max(1) as f64;
        let per_channel = nic.gbyte_per_s();
        let dup = self.generation == Generation::Ampere || per_channel >= 50.0 || r <= 4.0;
        Graph {
            channels: if dup { 2.0 * r } else { r },
            bus: self.nvlink.min(nic * r),
        }
    }

    /// Ring bus bandwidth of one protocol after NCCL's refinements (tuning.cc): LL moves
    /// half and is capped by `llMaxBws`; LL128 moves 120 of 128 B (0.92) up to its
    /// per-channel cap.
    fn ring_protocol_bw(&self, graph: Graph, p: Protocol, nodes: u32) -> Bandwidth {
        match p {
            Protocol::LL => (graph.bus * 0.5).min(Bandwidth::from_gbyte_per_s(ll_max_bw(
                self.generation,
                nodes,
            ))),
            Protocol::LL128 => (graph.bus * 0.92).min(Bandwidth::from_gbyte_per_s(
                graph.channels * channel_caps(self.generation).ring_ll128,
            )),
            Protocol::Simple => graph.bus,
        }
    }

    /// NVLS heads and the per-channel speed NCCL's search settles on for them: each of
    /// the h channels crosses every GPU's NVLink once and its head's twice, so
    /// (h + 1) x speed must fit the GPU's NVLink (search.cc `ncclTopoSearchTryNvls` ⚠),
    /// at the fastest speed of the list that does: the intra-server list on one server,
    /// the inter-server list across servers (facts.md §3.3).
    fn nvls_speed(&self, heads: u32, multi_node: bool) -> f64 {
        let budget = self.nvlink.gbyte_per_s() / (heads as f64 + 1.0);
        let speeds: &[f64] = match (self.generation, multi_node) {
            (Generation::Blackwell, false) => &SPEEDS_INTRA_SM100,
            (Generation::Blackwell, true) => &SPEEDS_INTER_SM100,
            (_, false) => &SPEEDS_INTRA_SM90,
            (_, true) => &SPEEDS_INTER_SM90,
        };
        speeds
            .iter()
            .copied()
            .find(|&s| s <= budget)
            .unwrap_or(speeds[speeds.len() - 1])
    }

    /// Predicts one collective. `size` follows nccl-tests: the buffer for all-reduce, the
    /// whole gathered/scattered array for all-gather and reduce-scatter, and each rank's
    /// send buffer for all-to-all.
    ///
    /// NCCL picks the algorithm and protocol its own cost model ranks fastest
    /// (`ncclTopoGetAlgoTime`); the time predicted for that choice adds what the model
    /// leaves out, the fill of the NVLS pipelines.
    pub fn collective(&self, op: CollectiveOp, size: Bytes, g: GroupShape) -> CollectiveEstimate {
        self.collective_tuned_by(self, op, size, g)
    }

    /// [`Self::collective`] on these rates, with the algorithm and protocol that NCCL's
    /// tuner picks on `tuner`'s. NCCL's tuning model knows the GPUs' links and NICs from
    /// the topology it detects, not what the fabric beyond them delivers (an oversubscribed
    /// tier, ECMP's collisions): it assumes a non-blocking network (facts.md §3.3-3.4). So
    /// at flow level the pick is made at the nominal rates and priced at the derated ones,
    /// and an algorithm the derating favours is named in `faster`, as `NCCL_ALGO` would
    /// choose it.
    pub fn collective_tuned_by(
        &self,
        tuner: &NetworkParams,
        op: CollectiveOp,
        size: Bytes,
        g: GroupShape,
    ) -> CollectiveEstimate {
        if g.ranks <= 1 || size.0 <= 0.0 {
            return CollectiveEstimate {
                time: Seconds::ZERO,
                algorithm: Algorithm::Ring,
                protocol: Protocol::Simple,
                faster: None,
            };
        }
        if op == CollectiveOp::AllToAll {
            return CollectiveEstimate {
                time: self.all_to_all(size, g, AllToAllRoute::NCCL),
                algorithm: Algorithm::Direct,
                protocol: Protocol::Simple,
                faster: None,
            };
        }
        let priced = self.candidates(op, size, g);
        let tuned;
        let ranked = if std::ptr::eq(tuner, self) {
            &priced
        } else {
            tuned = tuner.candidates(op, size, g);
            &tuned
        };
        let pick = ranked
            .iter()
            .min_by(|a, b| a.tuned.0.total_cmp(&b.tuned.0))
            .expect("at least one algorithm is considered");
        let same = |c: &&Candidate| c.algorithm == pick.algorithm && c.protocol == pick.protocol;
        let b = priced.iter().find(same).copied().unwrap_or(*pick);
        // At the nominal rates, was the other already that much faster?
        let nominal = |a: Algorithm, p: Protocol| {
            ranked
                .iter()
                .find(|c| c.algorithm == a && c.protocol == p)
                .map_or(f64::INFINITY, |c| c.time.0)
        };
        let faster = priced
            .iter()
            .min_by(|a, b| a.time.0.total_cmp(&b.time.0))
            .filter(|q| q.time.0 < b.time.0 * (1.0 - FASTER_BY))
            .map(|q| Alternative {
                algorithm: q.algorithm,
                protocol: q.protocol,
                time: q.time,
                because: if nominal(q.algorithm, q.protocol)
                    < nominal(b.algorithm, b.protocol) * (1.0 - FASTER_BY)
                {
                    FasterBecause::TunerModel
                } else {
                    FasterBecause::Fabric
                },
            });
        CollectiveEstimate {
            time: b.time,
            algorithm: b.algorithm,
            protocol: b.protocol,
            faster,
        }
    }

    /// Every algorithm and protocol NCCL allows for `op` on `g` (more than one rank, a
    /// collective other than all-to-all), each with the tuner's estimate and our price.
    fn candidates(&self, op: CollectiveOp, size: Bytes, g: GroupShape) -> Vec<Candidate> {
        let n = g.ranks;
        // The least time the wires allow each algorithm: NVLS moves data at NCCL's
        // nvlsEfficiency of the links at best (tuning.cc). NCCL's tuning model gives NVLS
        // a bandwidth that grows with the heads, which passes that floor on a large NVLink
        // domain (72 GPUs of an NVL72 rack) where it was not measured; there NVLS would be
        // picked for a speed it cannot reach, slower than the ring beside it ⚠. So each
        // candidate is ranked, as it is priced, no faster than its floor.
        // Tree-shaped algorithms cross the fabric as a tree does, at the tree's NIC rate
        // (the flow level derates a ring's and a tree's apart).
        let (wires, wires_tree, wires_in_network) = (
            self.wire_floor(op, size, g, false, self.nic),
            self.wire_floor(op, size, g, false, self.tree_nic),
            self.wire_floor(op, size, g, true, self.tree_nic),
        );
        let eff = nvls_efficiency(self.generation).max(1e-9);
        let floor = |a: Algorithm| match a {
            Algorithm::Nvls => wires / eff,
            Algorithm::NvlsTree => wires_tree / eff,
            Algorithm::NvlsSharp => wires_in_network / eff,
            Algorithm::CollnetDirect | Algorithm::CollnetChain => wires_in_network,
            Algorithm::Tree => wires_tree,
            _ => wires,
        };
        let mut all = Vec::new();
        let mut consider = |mut c: Candidate| {
            let least = floor(c.algorithm);
            c.tuned = c.tuned.max(least);
            c.time = c.time.max(least);
            all.push(c);
        };
        let nodes = g.nodes;
        let ring = self.graph(g, self.nic);
        let tree = self.graph(g, self.tree_nic);
        let caps = channel_caps(self.generation);
        let us = |x: f64| Seconds(x * 1e-6);
        for p in PROTOCOLS {
            let i = p.index();
            // Ring: steps inside servers cost the NVLink latency, steps across the NET one.
            let nsteps = if op == CollectiveOp::AllReduce {
                2 * (n - 1)
            } else {
                n - 1
            };
            let inter_steps = if nodes <= 1 {
                0
            } else if op == CollectiveOp::AllReduce {
                2 * (nodes - 1)
            } else {
                nodes - 1
            };
            let mut intra_lat = NVLINK_LAT_RING[i];
            if nodes > 1 {
                let overhead = NET_OVERHEAD_US * if p == Protocol::Simple { 3.0 } else { 1.0 };
                intra_lat = intra_lat.max(overhead);
            }
            let mut lat = BASE_LAT_RING[i]
                + (nsteps - inter_steps) as f64 * intra_lat
                + inter_steps as f64 * NET_LAT_RING[i];
            if p == Protocol::Simple && nodes > 1 && op == CollectiveOp::AllReduce {
                lat *= 1.4; // NCCL's plateau factor for multi-node ring Simple (sm >= 80)
            }
            let share = channel_share(size, p, n, ring.channels);
            let bw = self.ring_protocol_bw(ring, p, nodes);
            let t = us(lat) + size * op.bus_factor(n) / (bw * share);
            // What the tuner leaves out: a channel is one CTA, and one CTA reducing Simple
            // data (receive, reduce, send) goes no faster than NCCL's per-channel tree
            // Simple cap inside a server, `perChMaxTreeBws[1 node]` (tuning.cc, facts.md
            // §3.2), which the tuner applies to the tree only ⚠ (a reducing ring's CTA
            // does the same work; an all-gather only copies). It binds where few channels
            // each carry a whole NIC: a ring over full servers on Hopper keeps 8 channels
            // of 48 GB/s (`graph`).
            let reduces = op != CollectiveOp::AllGather;
            let actual = if p == Protocol::Simple && reduces {
                bw.min(Bandwidth::from_gbyte_per_s(ring.channels * caps.tree[0]))
            } else {
                bw
            };
            consider(Candidate {
                tuned: t,
                time: us(lat) + size * op.bus_factor(n) / (actual * share),
                algorithm: Algorithm::Ring,
                protocol: p,
            });

            if op == CollectiveOp::AllReduce {
                // Tree: up and down a tree of servers; algbw = 0.5 x the bus bandwidth
                // after the protocol's factor and per-channel cap, derated by size as
                // NCCL's tuner does.
                // The chain inside a server is as long as the fullest server's (NCCL's
                // tuner takes nRanks / nNodes, the same for the uniform groups it
                // expects; with a partly filled server the fullest keeps the latency
                // from falling as ranks are added).
                let ppn = g.most_per_node.max(1) as f64;
                let lat = BASE_LAT_TREE[i]
                    + 2.0
                        * ((ppn - 1.0) * NVLINK_LAT_TREE[i]
                            + log2i(nodes as u64) * NET_LAT_TREE[i]);
                let k = node_index(nodes);
                let cap = |c: f64| Bandwidth::from_gbyte_per_s(tree.channels * c);
                // NCCL's refinements apply in turn (tuning.cc, facts.md §10): the tree
                // all-reduce's 0.92 and per-channel cap for every protocol, then LL's or
                // LL128's own on top.
                let all_reduce = (tree.bus * 0.92).min(cap(caps.tree[k]));
                let tree_bw = match p {
                    Protocol::LL => (all_reduce / 3.8).min(Bandwidth::from_gbyte_per_s(ll_max_bw(
                        self.generation,
                        nodes,
                    ))),
                    Protocol::LL128 => (all_reduce
                        * (if nodes == 1 { 7.0 / 9.0 } else { 120.0 / 128.0 }))
                    .min(cap(caps.tree_ll128[k])),
                    Protocol::Simple => all_reduce,
                };
                let share = channel_share(size, p, 1, tree.channels);
                let algbw = tree_bw * (0.5 * share * tree_correction(size, p));
                let t = us(lat) + size / algbw;
                consider(Candidate {
                    tuned: t,
                    time: t + self.tree_net_fill(size, p, g, tree, share),
                    algorithm: Algorithm::Tree,
                    protocol: p,
                });
            }

            if p == Protocol::Simple {
                if let Some(c) = self.nvls(op, size, g) {
                    consider(c);
                }
                if self.collnet && op == CollectiveOp::AllReduce && nodes > 1 {
                    self.sharp(size, g).into_iter().for_each(&mut consider);
                }
            }

            if p == Protocol::Simple && g.ranks_per_node == 1 && op != CollectiveOp::AllReduce {
                // PAT (AG/RS, one GPU per node): lat = 8 + log2(nNodes) x NET/3.5 +
                // nRanks x 2.8 µs; bandwidth x 0.75 (tuning.cc).
                let lat = 8.0 + log2i(nodes as u64) * NET_LAT_RING[2] / 3.5 + n as f64 * 2.8;
                let t = us(lat) + size * op.bus_factor(n) / (ring.bus * 0.75);
                consider(Candidate {
                    tuned: t,
                    time: t,
                    algorithm: Algorithm::Pat,
                    protocol: p,
                });
            }
        }
        all
    }

    /// The least time the wires allow, whatever NCCL's tuning model says (its NVLS and
    /// NVLS-tree bandwidths grow with the heads and can pass it): each GPU receives
    /// (n-1)/n of the buffer over its NVLink (sends, for reduce-scatter), and across
    /// servers each server moves 2(N-1)/N of it (all-reduce; (N-1)/N for all-gather and
    /// reduce-scatter) through its NICs, as no switch reduces in the network; with
    /// SHARP (`in_network`) a server sends its data up once and takes the result once,
    /// each GPU's NIC at `nic`.
    fn wire_floor(
        &self,
        op: CollectiveOp,
        size: Bytes,
        g: GroupShape,
        in_network: bool,
        nic: Bandwidth,
    ) -> Seconds {
        let n = g.ranks.max(1) as f64;
        let gpu = size * ((n - 1.0) / n) / self.nvlink;
        if g.nodes <= 1 {
            return gpu;
        }
        let nodes = g.nodes as f64;
        let crossings = match (op, in_network) {
            (_, true) => 1.0,
            (CollectiveOp::AllReduce, false) => 2.0 * (nodes - 1.0) / nodes,
            _ => (nodes - 1.0) / nodes,
        };
        let server = size * crossings / (nic * g.ranks_per_node.max(1) as f64);
        gpu.max(server)
    }

    /// What the tuner leaves out of a tree across servers: a network hop forwards whole
    /// steps. NCCL's proxy posts a step to the NIC once the GPU has filled it (net.cc
    /// `sendProxyProgress`: LL and LL128 after checking every line's flag, Simple when
    /// the kernel posts the step ⚠, from memory of the code), so each of the 2 log2(nodes)
    /// network hops up and down the tree holds a channel's chunk for chunk / (its share of
    /// the NICs) before the next level can start on it; over NVLink, LL and LL128 forward
    /// line by line. The chunk is one step of data ([`STEP_DATA`]), or the channel's
    /// whole part of a smaller message. This is how a mid-size message ramps up on a tree.
    fn tree_net_fill(
        &self,
        size: Bytes,
        p: Protocol,
        g: GroupShape,
        tree: Graph,
        share: f64,
    ) -> Seconds {
        if g.nodes <= 1 {
            return Seconds::ZERO;
        }
        let hops = 2.0 * log2i(g.nodes as u64);
        let active = (tree.channels * share).max(1.0);
        let chunk = Bytes(STEP_DATA[p.index()].min(size.0 / active));
        // The graph's channels share the group's r NICs (2 per NIC when duplicated).
        let nics_per_channel = (g.ranks_per_node.max(1) as f64 / tree.channels).min(1.0);
        chunk * hops / (self.tree_nic * nics_per_channel)
    }

    /// NVLink SHARP (Simple only, Hopper and later, at least 3 ranks): on one server the
    /// switch reduces and multicasts (NVLS); across servers the all-reduce runs NVLS inside
    /// each server and a tree between them (NVLS-tree; NVLS proper across servers needs
    /// a CollNet/SHARP fabric plugin, facts.md §10, and all-gather/reduce-scatter across
    /// servers then fall back to the ring). NCCL's bandwidth model (tuning.cc, facts.md
    /// §3.4), per NVLS head h (one per GPU of the server, each with its NIC):
    /// intra = speed x nvlsEfficiency x (h - 1)/h, x 2 for all-reduce, else x (h - 1)/h;
    /// inter = the graph's speed (`bwInter`, at most the NIC), x 2 for up to 2 servers;
    /// the per-channel NVLS-tree cap; bus = h x the least. Latency: 25 µs over NVLink, +
    /// 2 log2(nodes) x 14 µs for the tree as the tuner ranks it, 20.9 µs as it costs.
    ///
    /// NCCL's tuner ranks NVLS as latency + bytes / bandwidth; the time predicted prices
    /// its pipeline, which the tuner does not model. `concurrentOps` = channels x heads
    /// chunks are in flight (a wave), and NCCL shrinks the chunk for small messages
    /// (enqueue.cc, facts.md §10), so how long a message takes depends on its chunk:
    ///
    /// - on one server, [`nvls_pipeline`](Self::nvls_pipeline): each wave is one step of a
    ///   [`NVLS_STAGES`]-stage pipeline that syncs over NVLink once a step;
    /// - across servers (NVLS-tree), the tuner's time plus the fill: a chunk passes
    ///   [`NVLS_STAGES`] stages (+ [`NVLS_TREE_STAGES_PER_LEVEL`] per tree level) before
    ///   results stream at the full rate, so a long message pays (stages - 1) waves. A
    ///   message shorter than that fill pays its own transfer time once more instead: its
    ///   few chunks go through the stages on links (NVLink in, the switch, NVLink out, the
    ///   NIC) that no later chunk is using yet, so the stages overlap within it ⚠ (the
    ///   shape of nccl-tests' NVLS-tree curves from 1 to 32 MiB, not a constant of NCCL's).
    ///   Priced as on one server (launch + 2 log2 N x 20.9 µs + waves), the 2-node curve
    ///   came out 32% slow at 1 MiB: there the network latency overlaps the fill ⚠.
    fn nvls(&self, op: CollectiveOp, size: Bytes, g: GroupShape) -> Option<Candidate> {
        let eff = nvls_efficiency(self.generation);
        let h = g.ranks_per_node;
        let all_reduce = op == CollectiveOp::AllReduce;
        if eff <= 0.0 || h < 2 || g.ranks <= 2 || (g.nodes > 1 && !all_reduce) {
            return None;
        }
        let hf = h as f64;
        let speed = self.nvls_speed(h, g.nodes > 1);
        let intra = speed * eff * (hf - 1.0) / hf * if all_reduce { 2.0 } else { (hf - 1.0) / hf };
        let concurrent = NVLS_CHANNELS * hf;
        let bus_factor = op.bus_factor(g.ranks);
        if g.nodes <= 1 {
            // Chunk: 128 KiB, 64 KiB below 64 waves, 32 KiB below 8, 16 KiB below 2 (the
            // sizes are facts.md §10's; the wave counts ⚠ from enqueue.cc as we read it).
            let mut c = NVLS_CHUNK;
            for (waves, to) in [(64.0, 65536.0), (8.0, 32768.0), (2.0, 16384.0)] {
                if size.0 < waves * concurrent * c && c > to {
                    c = to;
                }
            }
            // nccl-tests bus bandwidth = h x per-channel; the algorithm bandwidth follows.
            let bus = Bandwidth::from_gbyte_per_s(hf * intra);
            return Some(Candidate {
                tuned: Seconds(NVLS_LAT_US * 1e-6) + size * bus_factor / bus,
                // No faster than NCCL's own latency for NVLS, which is what it measured
                // small messages at: the pipeline is read from 2 MiB up ⚠.
                time: Self::nvls_pipeline(size, bus_factor, bus, concurrent, c)
                    .max(Seconds(NVLS_LAT_US * 1e-6)),
                algorithm: Algorithm::Nvls,
                protocol: Protocol::Simple,
            });
        }
        let k = node_index(g.nodes);
        let doubled = if g.nodes <= 2 { 2.0 } else { 1.0 };
        // interBw = the graph's bwInter, its search speed (no faster than the NIC it leaves
        // by, which the flow level may derate), x 2 up to 2 servers.
        let inter = self.tree_nic.gbyte_per_s().min(speed) * doubled;
        let cap = channel_caps(self.generation).nvls_tree[k];
        let levels = log2i(g.nodes as u64);
        // Chunk: 128 KiB (64 KiB from 4 servers), stepping down to 256/128/64/32 KiB below
        // 32/16/4/1 waves (sizes facts.md §10; wave counts ⚠ as on one server).
        let mut c = if g.nodes >= 4 {
            NVLS_TREE_CHUNK_4_NODES
        } else {
            NVLS_CHUNK
        };
        for (waves, to) in [
            (32.0, 262144.0),
            (16.0, 131072.0),
            (4.0, 65536.0),
            (1.0, 32768.0),
        ] {
            if size.0 < waves * concurrent * c && c > to {
                c = to;
            }
        }
        let bus = Bandwidth::from_gbyte_per_s(hf * intra.min(inter).min(cap));
        // Each GPU moves through NVLink what NVLS on one server moves (the whole buffer to
        // the switch and back), so the time is no shorter than there, whatever speed the
        // multi-node search settles at (its array can sit above the one-server one, as on
        // H800's 8 links: 42 against 40 GB/s).
        let one_server = self.nvls_speed(h, false) * eff * (hf - 1.0) / hf * 2.0;
        let time_bus = Bandwidth::from_gbyte_per_s(hf * intra.min(one_server).min(inter).min(cap));
        let tuner_lat = NVLS_LAT_US + 2.0 * levels * net_nvls_tree_tuner_lat_us(self.generation);
        // What the hops cost beyond the latency the tuner ranks with.
        let unranked =
            2.0 * levels * (NET_NVLS_TREE_LAT_US - net_nvls_tree_tuner_lat_us(self.generation));
        let tuned = Seconds(tuner_lat * 1e-6) + size * bus_factor / bus;
        let stages = NVLS_STAGES + NVLS_TREE_STAGES_PER_LEVEL * levels;
        let fill = Bytes(size.0.min((stages - 1.0) * concurrent * c));
        Some(Candidate {
            tuned,
            time: Seconds((tuner_lat + unranked) * 1e-6) + (size + fill) * bus_factor / time_bus,
            algorithm: Algorithm::NvlsTree,
            protocol: Protocol::Simple,
        })
    }

    /// An NVLS collective on one server, as its pipeline runs: the kernel's launch, then
    /// (waves + [`NVLS_STAGES`] - 1) steps, each moving one wave of `concurrent` chunks
    /// and syncing the GPUs once over NVLink. NCCL shrinks the chunk for small messages,
    /// so the sync weighs more there: nccl-tests' 1-server curve streams 32 KiB chunks at
    /// 375 GB/s busbw, 64 KiB at 448 and 128 KiB at 481. Costs are NCCL's own: the launch
    /// is a Simple kernel's base latency ([`BASE_LAT_TREE`], 8.4 µs) and the sync a Simple
    /// step over NVLink (`hwLat[NVLINK][TREE][SIMPLE]`, 4.0 µs; the reduce-then-multicast
    /// step is a tree's step ⚠; the ring's 3.4 µs moves the worst of that curve from 4%
    /// to 6%). The tuner's bandwidth is taken as what the full 128 KiB chunk streams at,
    /// sync included ⚠ (NCCL's tables were measured at its default chunk), and its 25 µs
    /// latency is then about the launch and two steps of 16 KiB chunks (31 µs). A message
    /// of less than a wave moves its chunks at each step, not a wave's; the caller keeps
    /// the time no shorter than that latency, as no measured curve says what NVLS takes
    /// below 1 MiB.
    /// `bus_factor` turns the bytes a wave carries into bytes at the bus bandwidth.
    fn nvls_pipeline(
        size: Bytes,
        bus_factor: f64,
        bus: Bandwidth,
        concurrent: f64,
        chunk: f64,
    ) -> Seconds {
        let full_wave = (Bytes(NVLS_CHUNK * concurrent) * bus_factor / bus).0;
        let sync = NVLINK_LAT_TREE[Protocol::Simple.index()] * 1e-6;
        let waves = size.0 / (concurrent * chunk);
        // A message of less than a wave moves only its own chunks at each step.
        let step = waves.min(1.0) * chunk / NVLS_CHUNK * (full_wave - sync).max(0.0) + sync;
        Seconds(BASE_LAT_TREE[Protocol::Simple.index()] * 1e-6 + (waves + NVLS_STAGES - 1.0) * step)
    }

    /// An all-reduce across servers that the switches reduce (SHARP, through NCCL's
    /// CollNet plugin), as NCCL's tuning model prices it (tuning.cc, facts.md §3.4-3.5):
    ///
    /// - CollNet direct (at most 8 GPUs a server): the graph's bus bandwidth over
    ///   f = r − (r − 1)/2, r = ppn / channels (at least 1 here ⚠: NCCL's search gives
    ///   the CollNet graph a channel per NIC), x 0.85 from Hopper on; latency
    ///   2 (min(1, ppn − 1) x 3.7 + (ppn − 1) x 0.4) + 31 µs;
    /// - CollNet chain: the bus bandwidth; latency 2 (ppn − 1) x 2.8 + 30 µs;
    /// - NVLS with SHARP between servers (Hopper on): NVLS's bandwidth with the graph's
    ///   inter-server speed (not doubled, no NVLS-tree cap); latency 25 + 18 µs.
    ///
    /// CollNet's algorithm bandwidth is half the bus's, as the tree's. The inter-server
    /// side runs at the tree's NIC rate (the flow level derates it as a tree's). No
    /// measured curve says what this model leaves out, so the time predicted is the
    /// tuner's own ⚠ (no pipeline is priced, as it is for NVLS and NVLS-tree): a
    /// SHARP path is taken only where it is faster, and SHARP never slows an
    /// all-reduce down. NCCL's model credits SHARP with its lower latency at scale, not
    /// with halving the bytes each server sends.
    fn sharp(&self, size: Bytes, g: GroupShape) -> Vec<Candidate> {
        let ppn = g.most_per_node.max(1) as f64;
        let graph = self.graph(g, self.tree_nic);
        let us = |x: f64| Seconds(x * 1e-6);
        let mut out = Vec::new();
        if g.most_per_node <= 8 {
            let r = (ppn / graph.channels).max(1.0);
            let f = r - (r - 1.0) / 2.0;
            let hopper = if self.generation == Generation::Ampere {
                1.0
            } else {
                0.85
            };
            let algbw = graph.bus * (0.5 * hopper / f);
            let (intra, inter) = COLLNET_DIRECT_LAT_US;
            let lat = 2.0 * ((ppn - 1.0).min(1.0) * intra + (ppn - 1.0) * 0.4) + inter;
            let t = us(lat) + size / algbw;
            out.push(Candidate {
                tuned: t,
                time: t,
                algorithm: Algorithm::CollnetDirect,
                protocol: Protocol::Simple,
            });
        }
        let (intra, inter) = COLLNET_CHAIN_LAT_US;
        let t = us(2.0 * (ppn - 1.0) * intra + inter) + size / (graph.bus * 0.5);
        out.push(Candidate {
            tuned: t,
            time: t,
            algorithm: Algorithm::CollnetChain,
            protocol: Protocol::Simple,
        });
        let eff = nvls_efficiency(self.generation);
        let h = g.ranks_per_node;
        if eff > 0.0 && h >= 2 {
            let hf = h as f64;
            let speed = self.nvls_speed(h, true);
            let intra = speed * eff * (hf - 1.0) / hf * 2.0;
            let inter = self.tree_nic.gbyte_per_s().min(speed);
            let bus = Bandwidth::from_gbyte_per_s(hf * intra.min(inter));
            let factor = CollectiveOp::AllReduce.bus_factor(g.ranks);
            let t = us(NVLS_LAT_US + NET_NVLS_LAT_US) + size * factor / bus;
            out.push(Candidate {
                tuned: t,
                time: t,
                algorithm: Algorithm::NvlsSharp,
                protocol: Protocol::Simple,
            });
        }
        out
    }

    /// All-to-all: each rank sends (n-1)/n of its buffer; the part for peers in the same
    /// server rides NVLink, the rest the NIC, concurrently. Of the part for other servers,
    /// `route.network_share` crosses the network: 1 for NCCL's, less where one copy per
    /// server is forwarded over NVLink there (DeepEP); the forwarding itself is not priced
    /// ⚠ (NVLink carries it at several times the NIC's rate).
    ///
    /// NCCL's all-to-all is a group of sends and receives, one pair per peer, and its proxy
    /// thread posts each of them to the NIC for a peer in another server, one after
    /// another (proxy.cc ⚠, from memory of the code). Each post costs the network post
    /// overhead NCCL's own tuner charges a network step (`getNetOverhead`, 1 µs on x86,
    /// facts.md §3.2), so with many peers the posting, not the bytes, sets the time: 2 µs
    /// per peer in another server, 2 ms at 1,024 ranks. GPU-initiated sends (DeepEP over
    /// NVSHMEM) post nothing through a proxy.
    pub fn all_to_all(&self, size: Bytes, g: GroupShape, route: AllToAllRoute) -> Seconds {
        let n = g.ranks as f64;
        let r = g.ranks_per_node as f64;
        let intra = size * ((r - 1.0) / n) / self.nvlink;
        let inter = size * ((n - r) / n * route.network_share.clamp(0.0, 1.0)) / self.nic;
        let hop = if g.nodes > 1 {
            NET_LAT_RING[2]
        } else {
            NVLINK_LAT_RING[2]
        };
        let posting = if route.proxy_posts && g.nodes > 1 {
            Seconds(2.0 * (n - r) * NET_OVERHEAD_US * 1e-6)
        } else {
            Seconds::ZERO
        };
        Seconds((BASE_LAT_RING[2] + hop) * 1e-6) + intra.max(inter).max(posting)
    }

    /// A point-to-point send of `size` between pipeline stages (different servers unless
    /// the whole pipeline fits in one).
    pub fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        if same_node {
            Seconds(NVLINK_LAT_RING[2] * 1e-6) + size / self.nvlink
        } else {
            Seconds(NET_LAT_RING[2] * 1e-6) + size / self.nic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h100_ib() -> NetworkParams {
        NetworkParams {
            nvlink: Bandwidth::from_gbyte_per_s(370.8),
            nic: Bandwidth::from_gbit_per_s(400.0) * NET_EFFICIENCY,
            tree_nic: Bandwidth::from_gbit_per_s(400.0) * NET_EFFICIENCY,
            gpus_per_node: 8,
            generation: Generation::Hopper,
            collnet: false,
        }
    }

    /// What the links allow a measured busbw: the larger of NVLink and the NIC's line
    /// rate, twice that for an all-reduce the switches reduce.
    #[test]
    fn busbw_ceiling_is_the_larger_link_doubled_where_switches_reduce() {
        let gb = |b: Bandwidth| b.gbyte_per_s();
        // 16 A100s on 200 Gb/s NICs: 240 GB/s of NVLink, no NVLS; 362 GB/s is past it.
        let a100 = NetworkParams {
            nvlink: Bandwidth::from_gbyte_per_s(240.0),
            nic: Bandwidth::from_gbit_per_s(200.0) * NET_EFFICIENCY,
            tree_nic: Bandwidth::from_gbit_per_s(200.0) * NET_EFFICIENCY,
            generation: Generation::Ampere,
            ..h100_ib()
        };
        let two = GroupShape::uniform(16, 8);
        let c = a100.busbw_ceiling(CollectiveOp::AllGather, two);
        assert!((gb(c.busbw) - 240.0).abs() < 1e-9, "{c:?}");
        assert!((gb(c.nic.unwrap()) - 25.0).abs() < 1e-9, "{c:?}");
        assert!(!c.in_network);
        assert!(!a100.busbw_ceiling(CollectiveOp::AllReduce, two).in_network);
        // Two H100 servers: NVLS doubles the all-reduce's 370.8, not the all-gather's.
        let h = h100_ib();
        let ar = h.busbw_ceiling(CollectiveOp::AllReduce, two);
        assert!(
            ar.in_network && (gb(ar.busbw) - 741.6).abs() < 1e-9,
            "{ar:?}"
        );
        assert!(gb(ar.busbw) < 900.0);
        let ag = h.busbw_ceiling(CollectiveOp::AllGather, two);
        assert!((gb(ag.busbw) - 370.8).abs() < 1e-9, "{ag:?}");
        // One GPU a server: the NIC alone, doubled only by SHARP.
        let spread = GroupShape::uniform(16, 1);
        let c = h.busbw_ceiling(CollectiveOp::AllReduce, spread);
        assert_eq!((c.nvlink, c.in_network), (None, false));
        assert!((gb(c.busbw) - 50.0).abs() < 1e-9, "{c:?}");
        let sharp = NetworkParams {
            collnet: true,
            ..h100_ib()
        };
        let c = sharp.busbw_ceiling(CollectiveOp::AllReduce, spread);
        assert!(c.in_network && (gb(c.busbw) - 100.0).abs() < 1e-9, "{c:?}");
    }

    /// A GB200 NVL72 rack's NVLink domain: 72 GPUs at 721.8 GB/s as NCCL sees it.
    fn nvl72() -> NetworkParams {
        NetworkParams {
            nvlink: Bandwidth::from_gbyte_per_s(721.8),
            generation: Generation::Blackwell,
            gpus_per_node: 72,
            ..h100_ib()
        }
    }

    /// Adding ranks never makes a small all-reduce faster on the same algorithm: a
    /// partly filled last server keeps the chain of its fullest ones. (A rank more can
    /// make another algorithm possible: NVLS-tree once every server holds two.)
    #[test]
    fn small_message_latency_grows_with_ranks() {
        for (net, per) in [(h100_ib(), 8), (nvl72(), 72)] {
            let mut last: Option<CollectiveEstimate> = None;
            for ranks in 2..=1200 {
                let g = GroupShape::uniform(ranks, per);
                let e = net.collective(CollectiveOp::AllReduce, Bytes(8.0), g);
                if let Some(l) =
                    last.filter(|l| (l.algorithm, l.protocol) == (e.algorithm, e.protocol))
                {
                    assert!(
                        e.time.0 >= l.time.0 - 0.1e-6,
                        "{per} per server, {ranks}: {e:?} < {l:?}"
                    );
                }
                last = Some(e);
            }
        }
    }

    /// With SHARP, an all-reduce over many servers takes a CollNet or NVLS-SHARP path
    /// where it is faster: its latency no longer grows with log2 of the servers, and no
    /// path beats a server sending its data up once and taking the result once.
    #[test]
    fn sharp_cuts_all_reduce_latency_at_scale() {
        let sharp = NetworkParams {
            collnet: true,
            ..h100_ib()
        };
        let g = GroupShape::uniform(8192, 8);
        for size in [65536.0, 4.0 * 1048576.0, 1e9] {
            let s = Bytes(size);
            let with = sharp.collective(CollectiveOp::AllReduce, s, g);
            let without = h100_ib().collective(CollectiveOp::AllReduce, s, g);
            assert!(
                matches!(
                    with.algorithm,
                    Algorithm::CollnetDirect | Algorithm::CollnetChain | Algorithm::NvlsSharp
                ),
                "{size}: {with:?}"
            );
            assert!(with.time.0 < without.time.0, "{size}: {with:?} {without:?}");
            assert!(
                with.time.0 >= size / (sharp.nic.0 * 8.0) * 0.999,
                "{size}: {with:?}"
            );
        }
        // Never slower, at any shape and size.
        for (net, per) in [(h100_ib(), 8), (h100_ib(), 1), (nvl72(), 72)] {
            let on = NetworkParams {
                collnet: true,
                ..net.clone()
            };
            for ranks in [2, 16, 24, 64, 145, 1000, 8192] {
                let g = GroupShape::uniform(ranks, per);
                for k in 3..34 {
                    let s = Bytes((1u64 << k) as f64);
                    let (a, b) = (
                        on.collective(CollectiveOp::AllReduce, s, g),
                        net.collective(CollectiveOp::AllReduce, s, g),
                    );
                    assert!(
                        a.time.0 <= b.time.0 * (1.0 + 1e-12),
                        "{per} {ranks} {s:?}: {a:?} {b:?}"
                    );
                }
            }
        }
        // Small messages: about the switch's latency, whatever the scale.
        let small = sharp.collective(CollectiveOp::AllReduce, Bytes(8.0), g);
        assert!(small.time.0 < 60e-6, "{small:?}");
        // Only all-reduce: all-gather and reduce-scatter keep their algorithms.
        for op in [CollectiveOp::AllGather, CollectiveOp::ReduceScatter] {
            assert_eq!(
                sharp.collective(op, Bytes(1e8), g),
                h100_ib().collective(op, Bytes(1e8), g)
            );
        }
    }

    #[test]
    fn no_collective_beats_its_wires() {
        // B200-like: NVLink 721.8 GB/s, 8 x 400G NICs per server. NCCL's NVLS-tree model
        // doubles the inter-server rate on 2 servers; the server's NICs still bound it.
        let net = NetworkParams {
            nvlink: Bandwidth::from_gbyte_per_s(721.8),
            generation: Generation::Blackwell,
            ..h100_ib()
        };
        let s = Bytes(16e9);
        for (ranks, per) in [(16, 8), (72, 72), (8, 8), (64, 8)] {
            let g = GroupShape::uniform(ranks, per);
            for op in [
                CollectiveOp::AllReduce,
                CollectiveOp::AllGather,
                CollectiveOp::ReduceScatter,
            ] {
                let e = net.collective(op, s, g);
                let t = e.time;
                let n = ranks as f64;
                // NVLS at NCCL's nvlsEfficiency of the links at best.
                let eff = match e.algorithm {
                    Algorithm::Nvls | Algorithm::NvlsTree => nvls_efficiency(net.generation),
                    _ => 1.0,
                };
                assert!(
                    t.0 >= s.0 * (n - 1.0) / n / (net.nvlink.0 * eff) * 0.999,
                    "{op:?} {ranks}: {t:?}"
                );
                if g.nodes > 1 {
                    let k = if op == CollectiveOp::AllReduce {
                        2.0
                    } else {
                        1.0
                    };
                    let nodes = g.nodes as f64;
                    let per_server = s.0 * k * (nodes - 1.0) / nodes;
                    assert!(
                        t.0 >= per_server / (net.nic.0 * per as f64) * 0.999,
                        "{op:?} {ranks}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_nvlink_domain_is_no_slower_than_two_joined_by_nics() {
        // NCCL's tuning model overrates NVLS on 72 heads; ranked at what its wires allow,
        // it loses to the ring, and a collective inside one NVL72 rack beats the same
        // across two racks.
        let net = nvl72();
        let s = Bytes(16.0 * crate::units::GIB);
        for op in [CollectiveOp::AllGather, CollectiveOp::ReduceScatter] {
            let one = net.collective(op, s, GroupShape::uniform(72, 72));
            let two = net.collective(op, s, GroupShape::uniform(144, 72));
            let (b1, b2) = (busbw(op, s, 72, one.time), busbw(op, s, 144, two.time));
            assert!(
                b1 >= b2,
                "{op:?}: {b1:.0} GB/s in one rack, {b2:.0} across two"
            );
            assert!(b1 <= 721.8 + 1e-6, "{op:?}: {b1:.0} GB/s past the NVLink");
        }
    }

    #[test]
    fn a_partly_filled_server_limits_the_group_to_its_nics() {
        let g = GroupShape::uniform(9, 8);
        assert_eq!((g.ranks, g.ranks_per_node, g.nodes), (9, 1, 2));
        assert_eq!(GroupShape::uniform(16, 8).ranks_per_node, 8);
        // 1 GiB all-reduce over 9 GPUs: the ninth GPU's one NIC must carry about 2 x 8/9
        // of the buffer each way, no faster than its line rate.
        let net = h100_ib();
        let s = Bytes(1024.0 * 1024.0 * 1024.0);
        let t = net.collective(CollectiveOp::AllReduce, s, g).time;
        assert!(t.0 >= s.0 * 2.0 * 8.0 / 9.0 / net.nic.0, "{t:?}");
    }

    #[test]
    fn bus_factors_follow_nccl_tests() {
        assert_eq!(CollectiveOp::AllReduce.bus_factor(8), 1.75);
        assert_eq!(CollectiveOp::AllGather.bus_factor(4), 0.75);
        assert_eq!(CollectiveOp::AllToAll.bus_factor(1), 0.0);
    }

    #[test]
    fn large_allreduce_runs_at_bus_bandwidth() {
        let net = h100_ib();
        let s = Bytes(8.0 * (1u64 << 30) as f64);
        // One H100 server: NVLS wins. 8 heads at 40 GB/s (9 x 40 fits 370.8 GB/s of
        // NVLink), x 0.85 x 7/8 x 2: busbw 476 GB/s, as nccl-tests measures (~480).
        let e = net.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(8, 8));
        assert_eq!(e.algorithm, Algorithm::Nvls);
        let busbw = s.0 / e.time.0 * CollectiveOp::AllReduce.bus_factor(8) / 1e9;
        assert!((busbw / 476.0 - 1.0).abs() < 0.01, "{busbw}");
        // Two servers: NVLS-tree, capped at 57.7 GB/s per head: 461.6 GB/s, above the
        // NICs' 384 (the "aberration" of 2-node NVLS-tree).
        let e = net.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(16, 8));
        assert_eq!(e.algorithm, Algorithm::NvlsTree);
        let busbw = s.0 / e.time.0 * CollectiveOp::AllReduce.bus_factor(16) / 1e9;
        assert!((busbw / 461.6 - 1.0).abs() < 0.01, "{busbw}");
        // Ampere has no NVLS.
        let a100 = NetworkParams {
            generation: Generation::Ampere,
            ..net
        };
        let e = a100.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(8, 8));
        assert_eq!(e.algorithm, Algorithm::Ring);
    }

    #[test]
    fn nvls_on_one_server_pays_a_sync_per_pipeline_step() {
        // 16 MiB on one server: 32 KiB chunks x 128 in flight = 4 waves, + 2 steps to fill.
        // A step moves a quarter of a 128 KiB wave (30.8 µs at the tuner's 476 GB/s busbw,
        // less the 4 µs sync) and syncs once: 10.7 µs; 8.4 µs launch.
        let net = h100_ib();
        let g = GroupShape::uniform(8, 8);
        let s = Bytes(16.0 * 1048576.0);
        let e = net.collective(CollectiveOp::AllReduce, s, g);
        assert_eq!(e.algorithm, Algorithm::Nvls);
        let full_wave = 128.0 * 131072.0 * 1.75 / 476.0e9;
        let step = (full_wave - 4e-6) / 4.0 + 4e-6;
        let expected = 8.4e-6 + 6.0 * step;
        assert!((e.time.0 / expected - 1.0).abs() < 0.01, "{:?}", e);
        // The sync weighs more on small chunks: 32 KiB chunks stream slower than 128 KiB.
        let marginal = |a: f64, b: f64| {
            let t = |x: f64| net.collective(CollectiveOp::AllReduce, Bytes(x), g).time.0;
            (b - a) / (t(b) - t(a))
        };
        let mib = 1048576.0;
        let (small, large) = (
            marginal(16.0 * mib, 32.0 * mib),
            marginal(2048.0 * mib, 4096.0 * mib),
        );
        assert!(small < 0.85 * large, "{small} vs {large}");
        // Long messages stream at the tuner's bandwidth, sync included.
        let s = Bytes(16.0 * 1024.0 * mib);
        let e = net.collective(CollectiveOp::AllReduce, s, g);
        let b = busbw(CollectiveOp::AllReduce, s, 8, e.time);
        assert!(b < 476.0 && b > 470.0, "{b}");
        // Below the sizes the pipeline was read from, NCCL's own 25 µs holds.
        let tiny = net.nvls(CollectiveOp::AllReduce, Bytes(4096.0), g).unwrap();
        assert!((tiny.time.0 - 25e-6).abs() < 1e-12, "{:?}", tiny.time);
    }

    fn busbw(op: CollectiveOp, s: Bytes, n: u32, t: Seconds) -> f64 {
        s.0 / t.0 * op.bus_factor(n) / 1e9
    }

    #[test]
    fn nvls_tree_runs_at_its_graph_speed_across_servers() {
        // From 4 servers the NVLS graph's speed (40 GB/s: 9 x 40 fits 370.8 GB/s of
        // NVLink, 9 x 42 does not) is below the NIC's 48 and the 45.5 cap: 8 x 40 = 320.
        let net = h100_ib();
        let s = Bytes(8.0 * (1u64 << 30) as f64);
        let g = GroupShape::uniform(64, 8);
        let c = net.nvls(CollectiveOp::AllReduce, s, g).unwrap();
        assert_eq!(c.algorithm, Algorithm::NvlsTree);
        let b = busbw(CollectiveOp::AllReduce, s, 64, c.tuned);
        assert!((b / 320.0 - 1.0).abs() < 0.01, "{b}");
        // A slower NIC (or the flow level's derating) binds below the graph speed.
        let slow = NetworkParams {
            tree_nic: Bandwidth::from_gbyte_per_s(30.0),
            ..net
        };
        let c = slow.nvls(CollectiveOp::AllReduce, s, g).unwrap();
        let b = busbw(CollectiveOp::AllReduce, s, 64, c.tuned);
        assert!((b / 240.0 - 1.0).abs() < 0.01, "{b}");
    }

    #[test]
    fn a_ring_channel_moves_what_one_cta_can() {
        // 8 full servers, 16 GiB: the tuner's ring (NIC-bound, 370.8 GB/s) wins, but its 8
        // channels each move at most 38.7 GB/s: busbw ~ 309.6 less the latency.
        let net = h100_ib();
        let s = Bytes(16.0 * (1u64 << 30) as f64);
        let e = net.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(64, 8));
        assert_eq!(
            (e.algorithm, e.protocol),
            (Algorithm::Ring, Protocol::Simple)
        );
        let b = busbw(CollectiveOp::AllReduce, s, 64, e.time);
        assert!(b < 309.6 && b > 300.0, "{b}");
        // An all-gather only copies: the NICs bind.
        let e = net.collective(CollectiveOp::AllGather, s, GroupShape::uniform(64, 8));
        let b = busbw(CollectiveOp::AllGather, s, 64, e.time);
        assert!(b > 0.95 * net.nvlink.gbyte_per_s(), "{b} {e:?}");
        // One GPU per server: 2 channels of 24 GB/s, under the cap; the NIC binds.
        let g = GroupShape::uniform(64, 1);
        let e = net.collective(CollectiveOp::ReduceScatter, s, g);
        let b = busbw(CollectiveOp::ReduceScatter, s, 64, e.time);
        assert!(b > 0.95 * net.nic.gbyte_per_s(), "{b} {e:?}");
    }

    #[test]
    fn tree_network_hops_forward_whole_steps() {
        // 8 servers, 2 MiB: tree LL128 on 8 channels; each channel's 256 KiB crosses
        // 6 network hops (3 up, 3 down) at one NIC each, on top of the tuner's time.
        let net = h100_ib();
        let g = GroupShape::uniform(64, 8);
        let s = Bytes(2.0 * 1048576.0);
        let e = net.collective(CollectiveOp::AllReduce, s, g);
        assert_eq!(
            (e.algorithm, e.protocol),
            (Algorithm::Tree, Protocol::LL128)
        );
        let tuned = 82.5e-6 + s.0 / (8.0 * 29.0e9 * 0.5 * 0.6);
        let fill = 6.0 * 262144.0 / net.nic.0;
        assert!((e.time.0 / (tuned + fill) - 1.0).abs() < 1e-3, "{e:?}");
        // Above a step per channel the chunk stops growing: the fill is bounded.
        let big = net.tree_net_fill(Bytes(1e9), Protocol::LL128, g, net.graph(g, net.nic), 1.0);
        assert!((big.0 / (6.0 * 576000.0 / net.nic.0) - 1.0).abs() < 1e-9);
        // One server: no network hop.
        let one = GroupShape::uniform(8, 8);
        let graph = net.graph(one, net.nic);
        assert_eq!(
            net.tree_net_fill(s, Protocol::LL128, one, graph, 1.0),
            Seconds::ZERO
        );
    }

    #[test]
    fn mid_size_messages_ramp_up() {
        // Bus bandwidth grows with size on every shape, and a short NVLS-tree message
        // pays its own time once more, not once per stage.
        let net = h100_ib();
        for g in [
            GroupShape::uniform(8, 8),
            GroupShape::uniform(16, 8),
            GroupShape::uniform(64, 8),
            GroupShape::uniform(1024, 8),
        ] {
            let mut last = 0.0;
            for k in 20..34 {
                let s = Bytes((1u64 << k) as f64);
                let e = net.collective(CollectiveOp::AllReduce, s, g);
                let b = busbw(CollectiveOp::AllReduce, s, g.ranks, e.time);
                assert!(b > 0.9 * last, "{g:?} {k} {b} {last}");
                last = last.max(b);
            }
        }
        let g = GroupShape::uniform(16, 8);
        let s = Bytes(4.0 * 1048576.0);
        let c = net.nvls(CollectiveOp::AllReduce, s, g).unwrap();
        let own = s * CollectiveOp::AllReduce.bus_factor(16) / Bandwidth::from_gbyte_per_s(461.6);
        // Beyond the tuner's time: its own transfer once more, and the tree level's two
        // network hops at the latency NCCL re-measured.
        let hops = Seconds(2.0 * (NET_NVLS_TREE_LAT_US - NET_NVLS_TREE_LAT_TUNER_HOPPER_US) * 1e-6);
        assert!(
            ((c.time.0 - c.tuned.0 - hops.0) / own.0 - 1.0).abs() < 0.01,
            "{:?}",
            c.time
        );
    }

    #[test]
    fn nvls_tree_is_chosen_with_the_tuners_latency_and_timed_with_the_measured_one() {
        // 8 DGX H100 servers: NCCL 2.26/2.27 moved from the tree (LL128) to NVLS-tree
        // between 4 and 8 MiB (nccl-tests #309: 4 MiB 203.8 µs, 8 MiB in place 321 µs,
        // 16 MiB 378.1 µs on the NVLS-tree line).
        let net = h100_ib();
        let g = GroupShape::uniform(64, 8);
        let at = |mib: f64| net.collective(CollectiveOp::AllReduce, Bytes(mib * 1048576.0), g);
        assert_eq!(at(4.0).algorithm, Algorithm::Tree);
        assert_eq!(at(8.0).algorithm, Algorithm::NvlsTree);
        assert_eq!(at(16.0).algorithm, Algorithm::NvlsTree);
        // The time pays 3 levels x 2 hops at 20.9 µs, not the tuner's 14.
        let c = net
            .nvls(CollectiveOp::AllReduce, Bytes(16.0 * 1048576.0), g)
            .unwrap();
        let tuner_lat = Seconds((NVLS_LAT_US + 6.0 * NET_NVLS_TREE_LAT_TUNER_HOPPER_US) * 1e-6);
        let bus = 16.0 * 1048576.0 * CollectiveOp::AllReduce.bus_factor(64);
        assert!(c.tuned.0 - tuner_lat.0 > 0.0 && c.tuned.0 - tuner_lat.0 < bus / 300e9);
        assert!(c.time.0 - c.tuned.0 >= 6.0 * 6.9e-6);
    }

    /// NCCL's tuner sees the NICs, not the fabric beyond them: with the tree's flows
    /// slowed to a fifth (ECMP's collisions at flow level), it still picks what it picks
    /// at line rate, and that pick is priced at the slowed rate, with the ring named as
    /// faster because of the fabric.
    #[test]
    fn the_tuner_picks_at_nominal_rates_and_the_fabric_prices_the_pick() {
        let nominal = h100_ib();
        let slowed = NetworkParams {
            tree_nic: nominal.tree_nic * 0.2,
            ..nominal.clone()
        };
        let (op, size, g) = (
            CollectiveOp::AllReduce,
            Bytes(4.0 * 1073741824.0),
            GroupShape::uniform(4096, 8),
        );
        let pick = nominal.collective(op, size, g);
        assert_eq!(pick.algorithm, Algorithm::NvlsTree);
        assert_eq!(pick.faster, None);
        // Seen by the slowed rates alone, the ring would be picked.
        let blind = slowed.collective(op, size, g);
        assert_eq!(blind.algorithm, Algorithm::Ring);
        let e = slowed.collective_tuned_by(&nominal, op, size, g);
        assert_eq!((e.algorithm, e.protocol), (pick.algorithm, pick.protocol));
        assert!(e.time.0 > 2.0 * pick.time.0, "{e:?} against {pick:?}");
        let f = e.faster.expect("the ring is faster on the slowed fabric");
        assert_eq!(f.algorithm, Algorithm::Ring);
        assert_eq!(f.because, FasterBecause::Fabric);
        assert!((f.time.0 - blind.time.0).abs() < 1e-12);
        // Unslowed, the same call is the plain one.
        assert_eq!(
            nominal.collective_tuned_by(&nominal.clone(), op, size, g),
            pick
        );
    }

    #[test]
    fn multi_node_graph_has_a_channel_per_nic() {
        let net = h100_ib();
        // 8 NICs at 48 GB/s: no duplication on Hopper (< 50 GB/s, > 4 channels).
        let g = net.graph(GroupShape::uniform(64, 8), net.nic);
        assert_eq!(g.channels, 8.0);
        // One rank per server: 1 channel, duplicated.
        let g = net.graph(GroupShape::uniform(64, 1), net.nic);
        assert_eq!(g.channels, 2.0);
        assert_eq!(net.nvls_speed(8, false), 40.0);
        assert_eq!(net.nvls_speed(8, true), 40.0);
    }

    #[test]
    fn small_messages_pick_low_latency_protocols_and_trees() {
        let net = h100_ib();
        let g = GroupShape::uniform(1024, 1);
        let e = net.collective(CollectiveOp::AllReduce, Bytes(8.0), g);
        assert_eq!(e.algorithm, Algorithm::Tree);
        assert_eq!(e.protocol, Protocol::LL);
        // The flat ring at 100k ranks costs ~1 s of latency (facts.md §3.7); the tree far less.
        let g = GroupShape::uniform(100_000, 8);
        let e = net.collective(CollectiveOp::AllReduce, Bytes(8.0), g);
        assert!(e.time.0 < 1e-3, "{:?}", e);
    }

    #[test]
    fn small_messages_use_fewer_channels() {
        assert_eq!(channel_share(Bytes(1e9), Protocol::Simple, 8, 16.0), 1.0);
        // 64 KiB at 512 threads x 64 B = 32 KiB per channel: 2 of 16.
        assert_eq!(
            channel_share(Bytes(65536.0), Protocol::Simple, 8, 16.0),
            2.0 / 16.0
        );
        assert_eq!(channel_share(Bytes(8.0), Protocol::LL, 8, 16.0), 1.0 / 16.0);
    }

    #[test]
    fn cross_node_ring_is_nic_bound() {
        let net = h100_ib();
        let g = GroupShape::uniform(64, 1); // one rank per server
        assert_eq!(g.ranks_per_node, 1);
        assert_eq!(g.nodes, 64);
        assert_eq!(net.ring_bus_bw(g), net.nic);
        let g = GroupShape::uniform(64, 8); // 8 per server
        assert_eq!(net.ring_bus_bw(g), net.nvlink.min(net.nic * 8.0));
    }

    /// NCCL's all-to-all posts a send and a receive per peer in another server through
    /// the proxy, so a small one slows as the group grows; a large one stays bound by the
    /// NIC; GPU-initiated sends (DeepEP) post nothing.
    #[test]
    fn all_to_all_latency_grows_with_peers_across_servers() {
        let net = h100_ib();
        let t = |n: u32, size: f64, route| {
            net.all_to_all(Bytes(size), GroupShape::uniform(n, 8), route)
        };
        let small: Vec<f64> = [8, 16, 64, 1024]
            .map(|n| t(n, 8.0, AllToAllRoute::NCCL).0)
            .to_vec();
        assert!(small.windows(2).all(|w| w[1] > w[0]), "{small:?}");
        // 1,016 peers in other servers x 2 posts x 1 µs, above the 22.4 µs latency.
        assert!(
            (small[3] - (22.4 + 2032.0) * 1e-6).abs() < 1e-9,
            "{}",
            small[3]
        );
        let gpu_initiated = AllToAllRoute {
            network_share: 1.0,
            proxy_posts: false,
        };
        assert!((t(1024, 8.0, gpu_initiated).0 - 22.4e-6).abs() < 1e-9);
        // 1 GiB over 1,024 ranks: the bytes for other servers at the NIC's rate.
        let big = t(1024, 1073741824.0, AllToAllRoute::NCCL);
        let bytes = 1073741824.0 * 1016.0 / 1024.0;
        assert!((big.0 - 22.4e-6 - bytes / (net.nic.gbyte_per_s() * 1e9)).abs() < 1e-9);
    }
}
