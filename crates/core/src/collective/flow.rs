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
use crate::net::analytical::{CollectiveOp, GroupShape, NetworkParams};
use crate::net::flow::max_min_rates;
use crate::scenario::Scenario;
use crate::units::{Bytes, Seconds};
use crate::workload::layout::RankLayout;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Communication costed on the fabric graph.
#[derive(Debug, Clone)]
pub struct FlowComm {
    analytical: NetworkParams,
    /// Per group kind: the slowest flow's rate / line rate with all groups active.
    fractions: BTreeMap<GroupKind, f64>,
    /// Where the tree pattern's derating is kept, if it was solved (`for_groups`).
    tree_kind: Option<GroupKind>,
}

/// A group's members by server, servers in order.
fn by_server(group: &[u32], gpus_per_node: u32) -> Vec<Vec<u32>> {
    let mut m: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &r in group {
        m.entry(r / gpus_per_node).or_default().push(r);
    }
    m.into_values().collect()
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

/// Pattern of phase k of a pairwise all-to-all inside each group.
pub fn shift_pattern(groups: &[Vec<u32>], k: usize, gpus_per_node: u32) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    for g in groups {
        let n = g.len();
        for i in 0..n {
            let (s, d) = (g[i], g[(i + k) % n]);
            if s / gpus_per_node != d / gpus_per_node {
                pairs.push((s, d));
            }
        }
    }
    pairs
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

/// The double binary tree's pattern across servers: for each member slot, server i and
/// its parent in heap order exchange (reduce up, broadcast down), in the tree and in its
/// mirror, all at once as the pipelined tree runs.
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
            for mirror in [false, true] {
                let at = |h: usize| {
                    if mirror {
                        nodes[n - 1 - h][l]
                    } else {
                        nodes[h][l]
                    }
                };
                for i in 1..n {
                    let (child, parent) = (at(i), at((i - 1) / 2));
                    pairs.push((child, parent));
                    pairs.push((parent, child));
                }
            }
        }
    }
    pairs
}

/// Phases of an all-to-all sampled for its flow level cost (the rest are alike).
const A2A_PHASE_SAMPLES: usize = 8;

/// The phases k (shift by k ranks) of a pairwise all-to-all in groups of `n` that are
/// solved for its flow-level cost: at most [`A2A_PHASE_SAMPLES`], evenly spread.
pub fn a2a_phases(n: usize) -> Vec<usize> {
    let n = n.max(2);
    (1..n)
        .step_by(((n - 1) / A2A_PHASE_SAMPLES).max(1))
        .collect()
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

/// The fabric's derating of a pairwise all-to-all in every group at once.
fn all_to_all_fraction(
    fabric: &Fabric,
    groups: &[Vec<u32>],
    gpn: u32,
    routing: Routing,
    seed: u64,
) -> f64 {
    let ks = a2a_phases(groups.first().map_or(0, |g| g.len()));
    let phases: Vec<_> = ks.iter().map(|&k| shift_pattern(groups, k, gpn)).collect();
    phases_fraction(fabric, GroupKind::Ep, &phases, routing, seed)
}

/// The ECMP salt of a job's own flows (one set of queue pairs).
pub const JOB_SALT: u64 = 1;

/// The fabric flows of each communicator kind a job uses, as phases that run one after
/// the other: one phase for a ring (DP, CP, PP, expert DP), the sampled shifts of the
/// pairwise all-to-all for EP. `gpu_of_rank` maps the job's ranks to fabric endpoints
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
        let groups = mapped(GroupKind::Ep);
        let ks = a2a_phases(groups.first().map_or(0, |g| g.len()));
        let phases = ks.iter().map(|&k| shift_pattern(&groups, k, gpn)).collect();
        out.insert(GroupKind::Ep, phases);
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
        let patterns = job_patterns(sc, |r| r);
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

    /// The derating of a group kind (1 = line rate).
    pub fn fraction(&self, kind: GroupKind) -> f64 {
        self.fractions.get(&kind).copied().unwrap_or(1.0)
    }

    /// The full estimate (algorithm, protocol) of one collective on groups of `kind`.
    pub fn estimate(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> crate::net::analytical::CollectiveEstimate {
        self.derated(kind).collective(op, size, shape)
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
    fn collective(
        &self,
        op: CollectiveOp,
        size: Bytes,
        kind: GroupKind,
        shape: GroupShape,
    ) -> Seconds {
        self.derated(kind).collective(op, size, shape).time
    }
    fn p2p(&self, size: Bytes, same_node: bool) -> Seconds {
        self.derated(GroupKind::Pp).p2p(size, same_node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_pattern_crosses_servers_on_each_rail() {
        // One group of 4 servers x 2 members: 2 rings of 4 hops.
        let g = vec![vec![0, 1, 8, 9, 16, 17, 24, 25]];
        let p = ring_pattern(&g, 8);
        assert_eq!(p.len(), 8);
        assert!(p.contains(&(0, 8)) && p.contains(&(24, 0)) && p.contains(&(1, 9)));
        // A group inside one server has no fabric flows.
        assert!(ring_pattern(&[vec![0, 1, 2, 3]], 8).is_empty());
    }
}
