//! Flow-level collectives: each algorithm's scale-out phase becomes flows on the fabric
//! graph, with every concurrent group of the same kind sending at once, so that groups
//! contend for the same links.
//!
//! Collectives are bulk-synchronous and pipelined: a ring step sends the same bytes to
//! the same neighbour on every rank, so its flow pattern is fixed. The max-min rates of a
//! pattern are solved once; the slowest flow paces every step of the ring (the pipeline
//! runs at its rate). That rate, as a fraction of the NIC line rate, derates the NIC in
//! the analytical model for that group kind, which keeps NCCL's latencies and protocol
//! choice and replaces the ideal scale-out bandwidth by what the fabric delivers.

use super::{CommModel, GroupKind};
use crate::fabric::{Fabric, Routing};
use crate::net::analytical::{AllToAllRoute, CollectiveOp, GroupShape, NetworkParams};
use crate::net::flow::max_min_rates;
use crate::scenario::Scenario;
use crate::units::{Bytes, Seconds};
use crate::workload::layout::RankLayout;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// At flow level: a communicator kind's slowest flow, with the whole job's traffic on
/// the fabric at once, as a fraction of its NIC-bound rate (1 = no contention).
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Contention {
    /// The communicator kind: tp, cp, ep, dp, expert_dp, expert_tp, pp.
    pub group: String,
    /// Its slowest flow's rate over the NIC's (0 to 1).
    pub rate_fraction: f64,
}

/// Communication costed on the fabric graph.
#[derive(Debug, Clone)]
pub struct FlowComm {
    analytical: NetworkParams,
    /// Per group kind: the slowest flow's rate / line rate with all groups active.
    fractions: BTreeMap<GroupKind, f64>,
    /// Where the tree pattern's derating is kept, if it was solved (`for_groups`).
    tree_kind: Option<GroupKind>,
}

/// A group's members by server, the servers in the order the group's ranks reach them:
/// NCCL's ring across servers follows the ranks, so a placement that orders its servers
/// (an explicit list, `[0, 128, 1, 129, ...]`) orders the ring's hops, whatever the
/// servers' numbers.
fn by_server(group: &[u32], gpus_per_node: u32) -> Vec<Vec<u32>> {
    let mut slot: BTreeMap<u32, usize> = BTreeMap::new();
    let mut servers: Vec<Vec<u32>> = Vec::new();
    for &r in group {
        let i = *slot.entry(r / gpus_per_node).or_insert_with(|| {
            servers.push(Vec::new());
            servers.len() - 1
        });
        servers[i].push(r);
    }
    servers
}

/// The ring-step pattern of a set of concurrent groups (global GPU ids): inside each
/// group, member l of every server sends to member l of the next server (the
/// hierarchical algorithm's inter-server ring, which is the flat ring when there is one
/// member per server). Transfers inside a server ride NVLink and are not fabric flows.
pub fn ring_pattern(groups: &[Vec<u32>], gpus_per_node: u32) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    for g in groups {
        let nodes = by_server(g, gpus_per_node);
        if nodes.len() < 2 {
            continue;
        }
        let per = nodes.iter().map(|v| v.len()).min().unwrap_or(0);
        for l in 0..per {
            for m in 0..nodes.len() {
                pairs.push((nodes[m][l], nodes[(m + 1) % nodes.len()][l]));
            }
        }
    }
    pairs
}

/// Peers (servers) an all-to-all sends to at once ⚠: NCCL posts every peer's send and
/// receive in one group and runs them over its point-to-point channels, a few channels
/// per peer, so a GPU has on the order of 16 peers in flight (an estimate from NCCL's
/// defaults as we read them, not in facts.md); DeepEP sends to all at once. Concurrent
/// flows share the links, so ECMP's collisions average out over them.
pub const A2A_PEERS_IN_FLIGHT: usize = 16;

/// Windows of an all-to-all solved for its flow-level cost (the rest are alike).
const A2A_WINDOW_SAMPLES: usize = 8;

/// Flows of an all-to-all's windows solved per draw, at most (but one window whatever
/// its size): a 100,000-GPU all-to-all's window alone is 1.6 million flows.
const A2A_FLOWS_PER_DRAW: usize = 1 << 20;

/// The server shifts of an all-to-all over `servers` servers, in the windows that run
/// one after the other ([`A2A_PEERS_IN_FLIGHT`] shifts each), at most `samples` of them,
/// evenly spread.
pub fn a2a_windows(servers: usize, samples: usize) -> Vec<std::ops::Range<usize>> {
    let windows: Vec<_> = (1..servers.max(2))
        .step_by(A2A_PEERS_IN_FLIGHT)
        .map(|k| k..(k + A2A_PEERS_IN_FLIGHT).min(servers.max(2)))
        .collect();
    let (n, k) = (windows.len(), samples.max(1));
    if n <= k {
        return windows;
    }
    // The middle of each of k equal stretches: near shifts stay under one leaf switch
    // and far ones cross the top tiers, so a sample takes both in proportion.
    (0..k)
        .map(|i| windows[(2 * i + 1) * n / (2 * k)].clone())
        .collect()
}

/// The fabric flows of one window of an all-to-all inside each group: each server sends
/// to every member of the servers `shifts` ahead, from its own NIC on that member's rail.
/// Traffic between servers stays on its rail: NCCL's PXN sends through the NIC on the
/// destination's rail, reached over NVLink (`NCCL_P2P_PXN_LEVEL`, NCCL 2.12 on), and
/// DeepEP sends to the GPU of the same in-server index, which forwards over NVLink
/// (DeepSeek-V3, arXiv 2412.19437, §3.2.2). What a server's members send to one GPU
/// rides that one flow; a group whose members sit on different rails of different
/// servers borrows the other rails' NICs, as PXN does. A group of fewer servers than the
/// window reaches has sent to all of them already. Of a fabric of `gpus` GPUs: a partly
/// built last server sends from its group's own GPUs where it has no rail peer.
pub fn all_to_all_pattern(
    groups: &[Vec<u32>],
    shifts: std::ops::Range<usize>,
    gpus_per_node: u32,
    gpus: u32,
) -> Vec<(u32, u32)> {
    let gpn = gpus_per_node.max(1);
    let mut pairs = Vec::new();
    for g in groups {
        let nodes = by_server(g, gpn);
        let n = nodes.len();
        if n < 2 {
            continue;
        }
        for a in 0..n {
            let server = nodes[a][0] / gpn;
            for j in shifts.clone().filter(|&j| j < n) {
                for &d in &nodes[(a + j) % n] {
                    // The rail peer of d on this server sends; a cluster's partly built
                    // last server may have none, and one of its group's GPUs sends.
                    let peer = server * gpn + d % gpn;
                    let src = if peer < gpus {
                        peer
                    } else {
                        nodes[a][(d % gpn) as usize % nodes[a].len()]
                    };
                    pairs.push((src, d));
                }
            }
        }
    }
    pairs
}

/// The windows of an all-to-all in every group at once, as phases that run one after
/// the other, on a fabric of `cluster_gpus` GPUs.
pub fn all_to_all_phases(
    groups: &[Vec<u32>],
    gpus_per_node: u32,
    cluster_gpus: u32,
) -> Vec<Vec<(u32, u32)>> {
    let servers = groups
        .iter()
        .map(|g| by_server(g, gpus_per_node).len())
        .max()
        .unwrap_or(0);
    let gpus: usize = groups.iter().map(Vec::len).sum();
    let per_window = gpus * servers.saturating_sub(1).min(A2A_PEERS_IN_FLIGHT);
    let samples = (A2A_FLOWS_PER_DRAW / per_window.max(1)).clamp(1, A2A_WINDOW_SAMPLES);
    a2a_windows(servers, samples)
        .into_iter()
        .map(|w| all_to_all_pattern(groups, w, gpus_per_node, cluster_gpus))
        .collect()
}

/// ECMP hash draws a flow-level derating is the expectation over. ECMP hashes each
/// connection's headers (on RoCE the UDP source port, which each queue pair picks when
/// the job starts; on InfiniBand the path each connection is given), so which flows
/// share a link is a draw that changes from run to run: one draw alone moves a ring's
/// derating, and a MegaScale case's step, by a few per cent (salts 1 to 5 put the
/// 6,144-GPU case from +0.8% to +6.7%). The step's expected time is the mean over draws
/// of the time each gives. 8 draws, 8 solves of each pattern: the public cases' errors
/// then lie within 0.3 points of 32 draws' (`memphis validate`), where one draw's lie up
/// to 6 points apart.
pub const ECMP_DRAWS: u64 = 8;

/// The hash salts a flow-level derating is solved with from `seed`: [`ECMP_DRAWS`] of
/// them for ECMP, one for adaptive routing (which hashes nothing).
pub fn salts(routing: Routing, seed: u64) -> std::ops::Range<u64> {
    let draws = match routing {
        Routing::Ecmp => ECMP_DRAWS,
        Routing::Adaptive => 1,
    };
    seed..seed + draws
}

/// The rate fraction of the expected time over draws whose fractions are given: each
/// draw takes 1/f of the line-rate time, so the mean time's fraction is their harmonic
/// mean (the same rule as phases run one after the other).
pub fn expected_fraction(per_draw: &[f64]) -> f64 {
    sequential_fraction(per_draw)
}

/// How much the fabric slows a pattern down: the smallest ratio, over flows, of its
/// max-min rate on the fabric to its rate if only the NICs limited it (1 when nothing
/// crosses the fabric, or when the fabric adds no contention), in expectation over the
/// ECMP draws ([`salts`]). The NICs' own sharing between a GPU's flows is the analytical
/// model's business, so it is factored out.
pub fn min_rate_fraction(
    fabric: &Fabric,
    pairs: &[(u32, u32)],
    routing: Routing,
    seed: u64,
) -> f64 {
    if pairs.is_empty() {
        return 1.0;
    }
    let per_draw: Vec<f64> = salts(routing, seed)
        .into_par_iter()
        .map(|salt| slowest_fraction(fabric, pairs, routing, salt))
        .collect();
    expected_fraction(&per_draw)
}

/// One draw of [`min_rate_fraction`]: the slowest flow's fraction with the hash `salt`.
fn slowest_fraction(fabric: &Fabric, pairs: &[(u32, u32)], routing: Routing, salt: u64) -> f64 {
    if pairs.is_empty() {
        return 1.0;
    }
    let (_, _, fractions) = rate_fractions(fabric, pairs, routing, salt);
    fractions.into_iter().fold(1.0f64, f64::min)
}

/// Each flow's max-min rate on the fabric (bytes/s) and its ratio to its rate if only
/// the NICs limited it (1 for a flow no NIC limits), with the routed flows: the
/// per-flow form of [`min_rate_fraction`], for callers that read groups of flows apart.
pub fn rate_fractions(
    fabric: &Fabric,
    pairs: &[(u32, u32)],
    routing: Routing,
    seed: u64,
) -> (crate::net::flow::RoutedFlows, Vec<f64>, Vec<f64>) {
    let rf = fabric.route(routing, pairs, seed);
    let rates = max_min_rates(&rf, None);
    // The same flows with only their two NIC links as resources.
    let mut nic_only = crate::net::flow::RoutedFlows {
        capacity: rf.capacity.clone(),
        path_start: vec![0],
        path: Vec::with_capacity(2 * pairs.len()),
    };
    for f in 0..rf.flows() {
        let r = rf.resources(f);
        if let (Some(&a), Some(&b)) = (r.first(), r.last()) {
            nic_only.path.push(a);
            if b != a {
                nic_only.path.push(b);
            }
        }
        nic_only.path_start.push(nic_only.path.len() as u32);
    }
    let ideal = max_min_rates(&nic_only, None);
    let fractions = rates
        .iter()
        .zip(&ideal)
        .map(|(r, i)| {
            if i.is_finite() && *i > 0.0 {
                r / i
            } else {
                1.0
            }
        })
        .collect();
    (rf, rates, fractions)
}

/// The double binary tree's pattern across servers: for each member slot, each server
/// and its parent exchange (reduce up, broadcast down), in both trees, all at once as
/// the pipelined tree runs. The trees are NCCL's over the servers in order
/// ([`btree_parent`]), whose edges join servers a power of two apart, so a tree crosses
/// a split of the servers into contiguous pods a few times a level, not once a server.
pub fn tree_pattern(groups: &[Vec<u32>], gpus_per_node: u32) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    for g in groups {
        let nodes = by_server(g, gpus_per_node);
        let n = nodes.len();
        if n < 2 {
            continue;
        }
        let per = nodes.iter().map(|v| v.len()).min().unwrap_or(0);
        for l in 0..per {
            for second in [false, true] {
                for node in 0..n {
                    let parent = if second {
                        dtree_second_parent(node, n)
                    } else {
                        btree_parent(node, n)
                    };
                    if let Some(parent) = parent {
                        let (child, parent) = (nodes[node][l], nodes[parent][l]);
                        pairs.push((child, parent));
                        pairs.push((parent, child));
                    }
                }
            }
        }
    }
    pairs
}

/// The parent of node `r` of `n` in NCCL's binary tree (src/graph/trees.cc,
/// `ncclGetBtree`, from memory of the code ⚠): node 0 is the root; another node's parent
/// is `(r ^ b) | (b << 1)` for `b` its lowest set bit, or `r ^ b` where that is out of
/// range. Leaves are the odd nodes, each a neighbour's child.
pub fn btree_parent(r: usize, n: usize) -> Option<usize> {
    if r == 0 || r >= n {
        return None;
    }
    let bit = r & r.wrapping_neg();
    let up = (r ^ bit) | (bit << 1);
    Some(if up >= n { r ^ bit } else { up })
}

/// The parent of node `r` in the second tree of NCCL's double binary tree
/// (`ncclGetDtree`): the first mirrored (node `n - 1 - r`'s) for an even count, shifted
/// by one node for an odd one, so that a leaf of one tree is inside the other.
pub fn dtree_second_parent(r: usize, n: usize) -> Option<usize> {
    if n.is_multiple_of(2) {
        btree_parent(n - 1 - r, n).map(|u| n - 1 - u)
    } else {
        btree_parent((r + n - 1) % n, n).map(|u| (u + 1) % n)
    }
}

/// Phases that run one after the other: their times add, so their rate fractions
/// combine harmonically.
pub fn sequential_fraction(fractions: &[f64]) -> f64 {
    if fractions.is_empty() {
        return 1.0;
    }
    let inv: f64 = fractions.iter().map(|f| 1.0 / f.max(1e-9)).sum();
    fractions.len() as f64 / inv
}

/// The fabric's derating of an all-to-all in every group at once.
fn all_to_all_fraction(
    fabric: &Fabric,
    groups: &[Vec<u32>],
    gpn: u32,
    routing: Routing,
    seed: u64,
) -> f64 {
    let gpus = u32::try_from(fabric.spec.endpoints).unwrap_or(u32::MAX);
    let phases = all_to_all_phases(groups, gpn, gpus);
    phases_fraction(fabric, GroupKind::Ep, &phases, routing, seed)
}

/// The ECMP salt of a job's own flows (one set of queue pairs).
pub const JOB_SALT: u64 = 1;

/// The fabric flows of each communicator kind a job uses, as phases that run one after
/// the other: one phase for a ring (DP, CP, PP, expert DP), the sampled windows of the
/// all-to-all for EP. `gpu_of_rank` maps the job's ranks to fabric endpoints
/// (the identity when the job starts at GPU 0; its servers when it is placed).
pub fn job_patterns(
    sc: &Scenario,
    gpu_of_rank: impl Fn(u32) -> u32,
) -> BTreeMap<GroupKind, Vec<Vec<(u32, u32)>>> {
    let gpn = sc.cluster.gpus_per_node;
    let layout = RankLayout::new(&sc.plan, gpn);
    let mapped = |kind| -> Vec<Vec<u32>> {
        let mut groups = layout.groups(kind);
        for r in groups.iter_mut().flatten() {
            *r = gpu_of_rank(*r);
        }
        groups
    };
    let mut kinds = vec![GroupKind::Dp, GroupKind::Cp, GroupKind::Pp];
    if sc.model.moe.is_some() {
        kinds.push(GroupKind::ExpertDp);
    }
    let mut out = BTreeMap::new();
    for kind in kinds {
        if layout.size(kind) > 1 {
            out.insert(kind, vec![ring_pattern(&mapped(kind), gpn)]);
        }
    }
    if layout.size(GroupKind::Ep) > 1 {
        out.insert(
            GroupKind::Ep,
            all_to_all_phases(
                &mapped(GroupKind::Ep),
                gpn,
                u32::try_from(sc.cluster.gpus).unwrap_or(u32::MAX),
            ),
        );
    }
    out
}

/// The fabric's derating of a kind's phases (see [`combine_phases`]), in expectation over
/// the ECMP draws: each draw's phases are combined, then the draws (see [`salts`]).
pub fn phases_fraction(
    fabric: &Fabric,
    kind: GroupKind,
    phases: &[Vec<(u32, u32)>],
    routing: Routing,
    seed: u64,
) -> f64 {
    let draws = salts(routing, seed);
    let task = crate::progress::begin(
        crate::progress::Stage::FlowSolve,
        phases.len() as u64 * (draws.end - draws.start),
    );
    let per_draw: Vec<f64> = draws
        .into_par_iter()
        .map(|salt| {
            let fractions: Vec<f64> = phases
                .iter()
                .map(|p| {
                    task.tick(1);
                    slowest_fraction(fabric, p, routing, salt)
                })
                .collect();
            combine_phases(kind, &fractions)
        })
        .collect();
    expected_fraction(&per_draw)
}

/// A kind's derating from its phases' fractions: a ring has one phase; the phases of
/// an all-to-all (EP) run one after the other, so they combine harmonically.
pub fn combine_phases(kind: GroupKind, fractions: &[f64]) -> f64 {
    match (kind, fractions) {
        (GroupKind::Ep, _) => sequential_fraction(fractions),
        (_, [f]) => *f,
        _ => fractions.iter().copied().fold(1.0, f64::min),
    }
}

impl FlowComm {
    /// A model from fractions solved elsewhere (several jobs on one fabric): per group
    /// kind, the slowest flow's rate / line rate.
    pub fn with_fractions(
        analytical: NetworkParams,
        fractions: BTreeMap<GroupKind, f64>,
    ) -> FlowComm {
        FlowComm {
            analytical,
            fractions,
            tree_kind: None,
        }
    }

    /// Solves the fabric for every communicator kind the job uses, with the groups of
    /// the job's rank layout.
    pub fn for_scenario(sc: &Scenario, fabric: &Fabric, routing: Routing, seed: u64) -> FlowComm {
        let patterns = job_patterns(sc, |r| sc.gpu_of_rank(r));
        let fractions = patterns
            .iter()
            .map(|(&kind, phases)| (kind, phases_fraction(fabric, kind, phases, routing, seed)))
            .collect();
        FlowComm::with_fractions(sc.cluster.network(), fractions)
    }

    /// A model for one set of groups running one collective (the `collective` command).
    pub fn for_groups(
        net: NetworkParams,
        fabric: &Fabric,
        groups: &[Vec<u32>],
        op: CollectiveOp,
        routing: Routing,
        seed: u64,
    ) -> FlowComm {
        let gpn = net.gpus_per_node;
        let mut fractions = BTreeMap::new();
        if op == CollectiveOp::AllToAll {
            fractions.insert(
                GroupKind::Dp,
                all_to_all_fraction(fabric, groups, gpn, routing, seed),
            );
        } else {
            fractions.insert(
                GroupKind::Dp,
                min_rate_fraction(fabric, &ring_pattern(groups, gpn), routing, seed),
            );
            if op == CollectiveOp::AllReduce {
                fractions.insert(
                    GroupKind::Tp,
                    min_rate_fraction(fabric, &tree_pattern(groups, gpn), routing, seed),
                );
                return FlowComm {
                    analytical: net,
                    fractions,
                    tree_kind: Some(GroupKind::Tp),
                };
            }
        }
        FlowComm {
            analytical: net,
            fractions,
            tree_kind: None,
        }
    }

    /// Every communicator kind's derating, kinds in order (what a report shows).
    pub fn contention(&self) -> Vec<Contention> {
        self.fractions
            .iter()
            .map(|(&kind, &rate_fraction)| Contention {
                group: kind.name().to_string(),
                rate_fraction,
            })
            .collect()
    }

    /// The derating of a group kind (1 = line rate).
    pub fn fraction(&self, kind: GroupKind) -> f64 {
        self.fractions.get(&kind).copied().unwrap_or(1.0)
    }

    fn derated(&self, kind: GroupKind) -> NetworkParams {
        let mut n = self.analytical.clone();
        n.nic = n.nic * self.fraction(kind);
        n.tree_nic = n.tree_nic
            * self
                .tree_kind
                .map_or(self.fraction(kind), |k| self.fraction(k));
        n
    }

    /// The tree pattern's derating, when solved.
    pub fn tree_fraction(&self) -> Option<f64> {
        self.tree_kind.map(|k| self.fraction(k))
    }
}

impl CommModel for FlowComm {
    fn estimate(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> crate::net::analytical::CollectiveEstimate {
        // NCCL's tuner picks at the nominal rates; the fabric prices the pick.
        self.derated(kind)
            .collective_tuned_by(&self.analytical, op, size, shape)
    }
    fn all_to_all(
        &self,
        size: Bytes,
        route: AllToAllRoute,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        self.derated(kind).all_to_all(size, shape, route)
    }
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        self.derated(GroupKind::Pp).p2p(size, same_node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NCCL's trees as trees.cc draws them for 13 nodes (odd: the second is shifted) and
    /// 12 (even: mirrored).
    #[test]
    fn the_trees_are_nccls() {
        let parents = |n: usize, second: bool| -> Vec<Option<usize>> {
            (0..n)
                .map(|r| {
                    if second {
                        dtree_second_parent(r, n)
                    } else {
                        btree_parent(r, n)
                    }
                })
                .collect()
        };
        //            0---------------8
        //                   ______/ \______
        //                  4               12
        //                /   \            /  \
        //              2       6       10     \
        //             / \     / \     /  \     \
        //            1   3   5   7   9   11    13
        // (trees.cc draws 14 nodes; of 13, node 13 is gone and the rest keep their parents)
        let first: Vec<Option<usize>> = [
            None,
            Some(2),
            Some(4),
            Some(2),
            Some(8),
            Some(6),
            Some(4),
            Some(6),
            Some(0),
            Some(10),
            Some(12),
            Some(10),
            Some(8),
        ]
        .to_vec();
        assert_eq!(parents(13, false), first);
        // Shifted by one node (trees.cc's second drawing): 1 is the root, 9 its child,
        // 0 and 5 under 9, 11 under 0.
        let second = parents(13, true);
        assert_eq!(
            (second[1], second[9], second[0], second[5], second[11]),
            (None, Some(1), Some(9), Some(9), Some(0))
        );
        // Mirrored for 12 nodes: 11 is the root, 3 its child, 1 and 7 under 3, 0 under 1.
        let mirror = parents(12, true);
        assert_eq!(
            (mirror[11], mirror[3], mirror[1], mirror[7], mirror[0]),
            (None, Some(11), Some(3), Some(3), Some(1))
        );
        // Every node reaches a root; a leaf of one tree is inside the other, for odd
        // and even counts.
        for n in 2..300 {
            let mut has_children = [vec![false; n], vec![false; n]];
            for (t, second) in [false, true].into_iter().enumerate() {
                let p = parents(n, second);
                assert_eq!(p.iter().filter(|x| x.is_none()).count(), 1, "{n}");
                for mut r in 0..n {
                    if let Some(u) = p[r] {
                        has_children[t][u] = true;
                    }
                    let mut hops = 0;
                    while let Some(u) = p[r] {
                        r = u;
                        hops += 1;
                        assert!(hops <= 2 * n, "{n}: a cycle");
                    }
                }
            }
            let leaf_in_both = (0..n).find(|&r| !has_children[0][r] && !has_children[1][r]);
            assert_eq!(leaf_in_both, None, "{n}");
        }
        // Edges join nodes a power of two apart: a tree of 768 crosses the middle a few
        // times (a heap-ordered one would cross it 384 times).
        let n = 768;
        for second in [false, true] {
            let crossing = parents(n, second)
                .iter()
                .enumerate()
                .filter(|(r, u)| u.is_some_and(|u| (*r < n / 2) != (u < n / 2)))
                .count();
            assert!(crossing <= 4, "{crossing}");
        }
    }

    #[test]
    fn ring_pattern_crosses_servers_on_each_rail() {
        // One group of 4 servers x 2 members: 2 rings of 4 hops.
        let g = vec![vec![0, 1, 8, 9, 16, 17, 24, 25]];
        let p = ring_pattern(&g, 8);
        assert_eq!(p.len(), 8);
        assert!(p.contains(&(0, 8)) && p.contains(&(24, 0)) && p.contains(&(1, 9)));
        // A group inside one server has no fabric flows.
        assert!(ring_pattern(&[vec![0, 1, 2, 3]], 8).is_empty());
        // The ring visits servers in the ranks' order, not by number: ranks placed on
        // servers 0, 2, 1 hop 0 -> 2 -> 1 -> 0 (helper-125: an explicit order that
        // crossed leaves at every hop priced as the packed one).
        let p = ring_pattern(&[vec![0, 16, 8]], 8);
        assert_eq!(p, [(0, 16), (16, 8), (8, 0)]);
    }

    #[test]
    fn all_to_all_flows_stay_on_their_rail_in_windows_of_servers() {
        // One group of 4 servers x 2 members: every member sends to its rail peer on
        // each of the 3 other servers, in one window.
        let g = vec![vec![0, 1, 8, 9, 16, 17, 24, 25]];
        let phases = all_to_all_phases(&g, 8, 64);
        assert_eq!(phases.len(), 1);
        assert_eq!(phases[0].len(), 2 * 4 * 3);
        assert!(phases[0]
            .iter()
            .all(|&(s, d)| s % 8 == d % 8 && s / 8 != d / 8));
        // A group on different rails of its two servers (EP 12 on 8-GPU servers: GPUs
        // 12-23) sends from the NIC on each destination's rail.
        let g = vec![(12..24).collect::<Vec<u32>>()];
        let p = &all_to_all_phases(&g, 8, 64)[0];
        assert_eq!(p.len(), 8 + 4);
        assert!(
            p.iter().all(|&(s, d)| s % 8 == d % 8 && s / 8 != d / 8),
            "{p:?}"
        );
        // Inside one server: nothing on the fabric.
        assert!(all_to_all_phases(&[vec![0, 1, 2, 3]], 8, 64)
            .iter()
            .all(|p| p.is_empty()));
        // 1,000 servers: 63 windows of A2A_PEERS_IN_FLIGHT shifts, 8 solved, from the
        // middle of each eighth: near and far shifts alike.
        let w = a2a_windows(1000, A2A_WINDOW_SAMPLES);
        assert_eq!(w.len(), A2A_WINDOW_SAMPLES);
        assert!(w
            .iter()
            .all(|r| r.len() == A2A_PEERS_IN_FLIGHT && r.end <= 1000));
        assert!(w[0].start < 100 && w[7].start > 900, "{w:?}");
        assert_eq!(a2a_windows(5, 8), vec![1..5]);
        // A group too large for the flow budget is sampled by one window, a far one.
        let huge = vec![(0..100_000).collect::<Vec<u32>>()];
        let phases = all_to_all_phases(&huge, 8, u32::MAX);
        assert_eq!(phases.len(), 1);
        assert_eq!(phases[0].len(), 100_000 * A2A_PEERS_IN_FLIGHT);
        assert!(phases[0][0].1 > 6000 * 8, "{:?}", phases[0][0]);
    }

    #[test]
    fn ecmp_slows_an_all_to_all_window_at_its_most_collided_link() {
        // 512 GPUs on a non-blocking rail-optimized 3-tier fabric of radix 16, one group.
        let spec = crate::fabric::FabricSpec {
            endpoints: 512,
            gpus_per_node: 8,
            servers_per_array: 8,
            radix: 16,
            link_gbps: 400.0,
            tiers: 3,
            oversubscription: [1.0, 1.0],
            rail_optimized: true,
            arrays_per_pod: None,
        };
        spec.validate().unwrap();
        let f = Fabric::build(&spec);
        let groups = vec![(0..512).collect::<Vec<u32>>()];
        let a2a = |r| all_to_all_fraction(&f, &groups, 8, r, JOB_SALT);
        let ring = min_rate_fraction(&f, &ring_pattern(&groups, 8), Routing::Ecmp, JOB_SALT);
        assert!((a2a(Routing::Adaptive) - 1.0).abs() < 1e-9);
        // Both run at their most collided link: a ring's one flow per NIC, an
        // all-to-all window's 16 per NIC, whose collisions even out somewhat.
        let ecmp = a2a(Routing::Ecmp);
        assert!(ring < 0.6 && ecmp > ring && ecmp < 0.8, "{ring} {ecmp}");
    }
}
