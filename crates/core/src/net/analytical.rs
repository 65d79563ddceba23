//! Analytical collective model after NCCL's tuner (facts.md §3, `src/graph/tuning.cc`
//! @5067397c): for each algorithm and protocol, time = latency + bytes / bandwidth, and
//! the fastest wins, as NCCL's `ncclTopoGetAlgoTime` picks.
//!
//! Bandwidths are per GPU. Inside one NVLink domain a GPU moves data at NCCL's NVLink
//! figure; across servers a group with r members per server drives r NICs in parallel, so
//! the bus bandwidth is min(NVLink, r x NIC) (rail-optimized: one NIC per GPU).

use crate::hardware::Generation;
use crate::units::{Bandwidth, Bytes, Seconds};
use serde::{Deserialize, Serialize};

/// A collective operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum CollectiveOp {
    /// Sum across ranks, result everywhere.
    #[cfg_attr(feature = "clap", value(name = "all_reduce"))]
    AllReduce,
    /// Concatenate shards everywhere.
    #[cfg_attr(feature = "clap", value(name = "all_gather"))]
    AllGather,
    /// Sum, each rank keeps a shard.
    #[cfg_attr(feature = "clap", value(name = "reduce_scatter"))]
    ReduceScatter,
    /// Every rank sends a distinct block to every other.
    #[cfg_attr(feature = "clap", value(name = "all_to_all", alias = "alltoall"))]
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
    /// Reduce-scatter inside the server, ring across servers, all-gather back.
    Hierarchical,
    /// Direct sends to every peer (all-to-all).
    Direct,
    /// NVLink SHARP: the NVSwitch reduces and multicasts (one NVLink domain).
    Nvls,
    /// Parallel aggregated trees / halving-doubling: log-depth all-gather and
    /// reduce-scatter (NCCL enables it with one GPU per node).
    Pat,
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

/// NVLS channels on Hopper (NCCL `NCCL_NVLS_NCHANNELS` default 16 ⚠, from init.cc).
const NVLS_CHANNELS: f64 = 16.0;
/// NVLS pipeline: NCCL_STEPS = 8 chunks in flight per channel (facts.md §3.3) of the
/// 128 KiB NVLS chunk (NCCL `NCCL_NVLS_CHUNKSIZE` default ⚠): the pipeline takes this
/// many bytes to fill before it streams at full rate.
const NVLS_PIPELINE_BYTES: f64 = 8.0 * 128.0 * 1024.0 * NVLS_CHANNELS;
/// hwLat[NVLINK][NVLS][Simple], µs.
const NVLS_LAT_US: f64 = 25.0;

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
    /// Servers the group spans.
    pub nodes: u32,
}

impl GroupShape {
    /// A group of `ranks` with `ranks_per_node` on each of its servers (at least 1 of
    /// each).
    pub fn uniform(ranks: u32, ranks_per_node: u32) -> GroupShape {
        let ranks = ranks.max(1);
        let per = ranks_per_node.clamp(1, ranks);
        GroupShape {
            ranks,
            ranks_per_node: per,
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
}

fn ll_max_bw(gen: Generation, nodes: u32) -> f64 {
    // llMaxBws (GB/s): the compCap row for one node, the Intel-CPU row across nodes.
    let idx = match nodes {
        0 | 1 => 0,
        2 => 1,
        _ => 2,
    };
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

/// Channels NCCL runs a ring or tree on when the message is large (16: two per NIC on
/// an 8-NIC server, and NCCL's usual count over NVLink on Hopper ⚠).
pub const MAX_CHANNELS: f64 = 16.0;

/// Share of the channels a message keeps. NCCL drops channels while
/// nBytes < nChannels x nThreads x threshold (enqueue.cc, facts.md §3.6): threads are 512
/// (640 for LL128) and the threshold 64 B per thread for Simple, 8 for LL128, and 8 x
/// nRanks for ring LL. Each channel carries 1/16 of the bandwidth.
pub fn channel_share(size: Bytes, p: Protocol, ranks: u32) -> f64 {
    let (threads, threshold) = match p {
        Protocol::LL => (512.0, 8.0 * ranks.max(1) as f64),
        Protocol::LL128 => (640.0, 8.0),
        Protocol::Simple => (512.0, 64.0),
    };
    let channels = (size.0 / (threads * threshold))
        .floor()
        .clamp(1.0, MAX_CHANNELS);
    channels / MAX_CHANNELS
}

fn log2i(n: u32) -> f64 {
    if n <= 1 {
        0.0
    } else {
        (31 - n.leading_zeros()) as f64
    }
}

impl NetworkParams {
    /// Bus bandwidth of a ring over this group, per GPU.
    pub fn ring_bus_bw(&self, g: GroupShape) -> Bandwidth {
        if g.nodes <= 1 {
            self.nvlink
        } else {
            self.nvlink.min(self.nic * g.ranks_per_node as f64)
        }
    }

    /// Apply a protocol's bandwidth factor and caps to a bus bandwidth.
    fn protocol_bw(&self, bw: Bandwidth, p: Protocol, nodes: u32) -> Bandwidth {
        match p {
            Protocol::LL => (bw * 0.5).min(Bandwidth::from_gbyte_per_s(ll_max_bw(
                self.generation,
                nodes,
            ))),
            Protocol::LL128 => bw * 0.92,
            Protocol::Simple => bw,
        }
    }

    /// Predicts one collective. `size` follows nccl-tests: the buffer for all-reduce, the
    /// whole gathered/scattered array for all-gather and reduce-scatter, and each rank's
    /// send buffer for all-to-all.
    pub fn collective(&self, op: CollectiveOp, size: Bytes, g: GroupShape) -> CollectiveEstimate {
        let n = g.ranks;
        if n <= 1 || size.0 <= 0.0 {
            return CollectiveEstimate {
                time: Seconds::ZERO,
                algorithm: Algorithm::Ring,
                protocol: Protocol::Simple,
            };
        }
        if op == CollectiveOp::AllToAll {
            return CollectiveEstimate {
                time: self.all_to_all(size, g),
                algorithm: Algorithm::Direct,
                protocol: Protocol::Simple,
            };
        }
        let mut best: Option<CollectiveEstimate> = None;
        let mut consider = |time: Seconds, algorithm, protocol| {
            if best.is_none_or(|b: CollectiveEstimate| time.0 < b.time.0) {
                best = Some(CollectiveEstimate {
                    time,
                    algorithm,
                    protocol,
                });
            }
        };
        let nodes = g.nodes;
        let ring_bw = self.ring_bus_bw(g);
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
            let bw = self.protocol_bw(ring_bw, p, nodes) * channel_share(size, p, n);
            let t = Seconds(lat * 1e-6) + size * op.bus_factor(n) / bw;
            consider(t, Algorithm::Ring, p);

            if op == CollectiveOp::AllReduce {
                // Tree: up and down a tree of servers; algbw = 0.5 x 0.92 x bus bandwidth.
                let ppn = g.ranks_per_node as f64;
                let lat = BASE_LAT_TREE[i]
                    + 2.0 * ((ppn - 1.0) * NVLINK_LAT_TREE[i] + log2i(nodes) * NET_LAT_TREE[i]);
                let tree_shape_bw = if nodes <= 1 {
                    self.nvlink
                } else {
                    self.nvlink.min(self.tree_nic * g.ranks_per_node as f64)
                };
                let tree_bw = match p {
                    Protocol::LL => (tree_shape_bw / 3.8).min(Bandwidth::from_gbyte_per_s(
                        ll_max_bw(self.generation, nodes),
                    )),
                    Protocol::LL128 => {
                        tree_shape_bw * (if nodes == 1 { 7.0 / 9.0 } else { 120.0 / 128.0 })
                    }
                    Protocol::Simple => tree_shape_bw * 0.92,
                };
                let t = Seconds(lat * 1e-6) + size / (tree_bw * 0.5 * channel_share(size, p, 1));
                consider(t, Algorithm::Tree, p);
            }

            if p == Protocol::Simple
                && nodes == 1
                && nvls_efficiency(self.generation) > 0.0
                && n > 2
            {
                // NVLS: each GPU pushes its data into the switch, which reduces, and pulls
                // the result: algbw = NVLink x nvlsEfficiency x (nCh - 1)/nCh for
                // all-reduce (NCCL's bandwidth model), plus the pipeline's fill.
                let algbw = self.nvlink
                    * (nvls_efficiency(self.generation) * (NVLS_CHANNELS - 1.0) / NVLS_CHANNELS);
                let fill = Bytes(NVLS_PIPELINE_BYTES) / algbw;
                let t = match op {
                    CollectiveOp::AllReduce => Seconds(NVLS_LAT_US * 1e-6) + fill + size / algbw,
                    _ => Seconds(NVLS_LAT_US * 1e-6) + fill + size * op.bus_factor(n) / algbw,
                };
                consider(t, Algorithm::Nvls, p);
            }

            if p == Protocol::Simple && g.ranks_per_node == 1 && op != CollectiveOp::AllReduce {
                // PAT (AG/RS, one GPU per node): lat = 8 + log2(nNodes) x NET/3.5 +
                // nRanks x 2.8 µs; bandwidth x 0.75 (tuning.cc).
                let lat = 8.0 + log2i(nodes) * NET_LAT_RING[2] / 3.5 + n as f64 * 2.8;
                let t = Seconds(lat * 1e-6) + size * op.bus_factor(n) / (ring_bw * 0.75);
                consider(t, Algorithm::Pat, p);
            }

            if nodes > 1 && g.ranks_per_node > 1 {
                // Hierarchical: intra-server reduce-scatter, r parallel inter-server
                // collectives on 1/r of the data each, intra-server all-gather.
                let r = g.ranks_per_node;
                let intra = GroupShape::uniform(r, r);
                let inter = GroupShape::uniform(nodes, 1);
                let (first, second) = match op {
                    CollectiveOp::AllReduce => {
                        (CollectiveOp::ReduceScatter, CollectiveOp::AllGather)
                    }
                    other => (other, other),
                };
                let t_intra =
                    self.ring_time(first, size, intra, p) + self.ring_time(second, size, intra, p);
                let t_inter = self.ring_time(op, size / r as f64, inter, p);
                let t = if op == CollectiveOp::AllReduce {
                    t_intra + t_inter
                } else {
                    t_intra * 0.5 + t_inter
                };
                consider(t, Algorithm::Hierarchical, p);
            }
        }
        best.expect("at least one algorithm is considered")
    }

    /// A plain ring with one protocol (used inside the hierarchical algorithm).
    fn ring_time(&self, op: CollectiveOp, size: Bytes, g: GroupShape, p: Protocol) -> Seconds {
        let n = g.ranks;
        if n <= 1 {
            return Seconds::ZERO;
        }
        let i = p.index();
        let nodes = g.nodes;
        let nsteps = if op == CollectiveOp::AllReduce {
            2 * (n - 1)
        } else {
            n - 1
        } as f64;
        let hop = if nodes > 1 {
            NET_LAT_RING[i]
        } else {
            NVLINK_LAT_RING[i]
        };
        let lat = BASE_LAT_RING[i] + nsteps * hop;
        let bw = self.protocol_bw(self.ring_bus_bw(g), p, nodes);
        Seconds(lat * 1e-6) + size * op.bus_factor(n) / bw
    }

    /// All-to-all: each rank sends (n-1)/n of its buffer; the part for peers in the same
    /// server rides NVLink, the rest the NIC, concurrently.
    fn all_to_all(&self, size: Bytes, g: GroupShape) -> Seconds {
        let n = g.ranks as f64;
        let r = g.ranks_per_node as f64;
        let intra = size * ((r - 1.0) / n) / self.nvlink;
        let inter = size * ((n - r) / n) / self.nic;
        let hop = if g.nodes > 1 {
            NET_LAT_RING[2]
        } else {
            NVLINK_LAT_RING[2]
        };
        Seconds((BASE_LAT_RING[2] + hop) * 1e-6) + intra.max(inter)
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
        }
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
        // One H100 server: NVLS wins; its algbw is NVLink x 0.85 x 15/16.
        let e = net.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(8, 8));
        assert_eq!(e.algorithm, Algorithm::Nvls);
        let algbw = s.0 / e.time.0 / 1e9;
        assert!(
            (algbw / (370.8 * 0.85 * 15.0 / 16.0) - 1.0).abs() < 0.01,
            "{algbw}"
        );
        // Two servers: no NVLS across servers; the ring runs at min(NVLink, 8 NICs).
        let e = net.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(16, 8));
        assert_ne!(e.algorithm, Algorithm::Nvls);
        let busbw = s.0 / e.time.0 * CollectiveOp::AllReduce.bus_factor(16) / 1e9;
        assert!((busbw - 370.8).abs() / 370.8 < 0.03, "{busbw}");
        // Ampere has no NVLS.
        let a100 = NetworkParams {
            generation: Generation::Ampere,
            ..net
        };
        let e = a100.collective(CollectiveOp::AllReduce, s, GroupShape::uniform(8, 8));
        assert_eq!(e.algorithm, Algorithm::Ring);
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
        assert_eq!(channel_share(Bytes(1e9), Protocol::Simple, 8), 1.0);
        // 64 KiB at 512 threads x 64 B = 32 KiB per channel: 2 of 16.
        assert_eq!(
            channel_share(Bytes(65536.0), Protocol::Simple, 8),
            2.0 / 16.0
        );
        assert_eq!(channel_share(Bytes(8.0), Protocol::LL, 8), 1.0 / 16.0);
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
}
