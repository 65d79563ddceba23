//! Where a job's ranks sit and which communicators they form: the one place that knows
//! the rank layout. The analytical step and the flow-level network model both take their
//! groups from here, so they cost the same communicators.
//!
//! Megatron order (megatron/core/parallel_state.py, `RankGenerator`, order
//! "tp-cp-ep-dp-pp"): rank = t + tp·(c + cp·(d + dp·s)), tp fastest, then cp, dp, pp.
//! Rank r runs on server r / gpus_per_node (the job starts at GPU 0).
//!
//! Expert layers use Megatron's separate expert grid ("MoE parallel folding",
//! Megatron-Core 0.10+: `expert_decoder_rank_generator`, order tp-ep-dp-pp over the
//! expert tensor parallel size etp, with no cp): the tp·cp·dp ranks of a stage are
//! regrouped as etp x ep x (tp·cp·dp / (etp·ep)), so an EP group is drawn from TP x CP x
//! DP at stride etp, an expert-TP group is etp consecutive ranks, and expert data
//! parallelism spans the remaining ranks at stride etp·ep. With etp = tp (the default)
//! EP groups come from CP x DP alone.
//!
//! Every communicator kind is then one arithmetic progression repeated over the job:
//! `size` members at rank distance `stride`, the groups' first ranks being
//! low + stride·size·high for low < stride. That makes shapes and groups arithmetic.

use crate::net::analytical::GroupShape;
use crate::workload::plan::ParallelPlan;

/// Which communicator of a training job a collective runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKind {
    /// Tensor parallel (inside the NVLink domain when tp <= GPUs per server).
    Tp,
    /// Context parallel.
    Cp,
    /// Expert parallel.
    Ep,
    /// Data parallel of dense weights (dp x cp ranks: gradients are reduced over both).
    Dp,
    /// Data parallel of expert weights (tp x cp x dp / (etp x ep) ranks).
    ExpertDp,
    /// Expert tensor parallel: the ranks that split each expert's weights.
    ExpertTp,
    /// Pipeline stages.
    Pp,
}

impl GroupKind {
    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            GroupKind::Tp => "tp",
            GroupKind::Cp => "cp",
            GroupKind::Ep => "ep",
            GroupKind::Dp => "dp",
            GroupKind::ExpertDp => "expert_dp",
            GroupKind::ExpertTp => "expert_tp",
            GroupKind::Pp => "pp",
        }
    }

    /// Every kind.
    pub const ALL: [GroupKind; 7] = [
        GroupKind::Tp,
        GroupKind::Cp,
        GroupKind::Ep,
        GroupKind::Dp,
        GroupKind::ExpertDp,
        GroupKind::ExpertTp,
        GroupKind::Pp,
    ];
}

/// A job's ranks on servers and its communicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RankLayout {
    tp: u64,
    cp: u64,
    dp: u64,
    pp: u64,
    ep: u64,
    etp: u64,
    gpus_per_node: u64,
    /// The shape of each kind, in [`GroupKind::ALL`] order (measured once).
    shapes: [GroupShape; 7],
}

impl RankLayout {
    /// The layout of `plan` on servers of `gpus_per_node` GPUs. Meant for a validated
    /// plan (ep x etp divides tp x cp x dp); zero sizes count as 1.
    pub fn new(plan: &ParallelPlan, gpus_per_node: u32) -> RankLayout {
        let f = |v: u32| u64::from(v.max(1));
        let mut l = RankLayout {
            tp: f(plan.tp),
            cp: f(plan.cp),
            dp: f(plan.dp),
            pp: f(plan.pp),
            ep: f(plan.ep),
            etp: f(plan.etp),
            gpus_per_node: f(gpus_per_node),
            shapes: [GroupShape::uniform(1, 1); 7],
        };
        l.shapes = GroupKind::ALL.map(|k| l.measure(k));
        l
    }

    /// Ranks in the job: tp x cp x dp x pp.
    pub fn gpus(&self) -> u64 {
        self.tp
            .saturating_mul(self.cp)
            .saturating_mul(self.dp)
            .saturating_mul(self.pp)
    }

    /// Members of one group of `kind`.
    pub fn size(&self, kind: GroupKind) -> u64 {
        match kind {
            GroupKind::Tp => self.tp,
            GroupKind::Cp => self.cp,
            GroupKind::Ep => self.ep,
            GroupKind::Dp => self.cp.saturating_mul(self.dp),
            GroupKind::ExpertDp => (self.stage_ranks() / self.ep.saturating_mul(self.etp)).max(1),
            GroupKind::ExpertTp => self.etp,
            GroupKind::Pp => self.pp,
        }
    }

    /// Rank distance between consecutive members of a group of `kind`.
    pub fn stride(&self, kind: GroupKind) -> u64 {
        match kind {
            GroupKind::Tp | GroupKind::ExpertTp => 1,
            GroupKind::Cp | GroupKind::Dp => self.tp,
            GroupKind::Ep => self.etp,
            GroupKind::ExpertDp => self.etp.saturating_mul(self.ep),
            GroupKind::Pp => self.stage_ranks(),
        }
    }

    /// Ranks of one pipeline stage: tp x cp x dp.
    fn stage_ranks(&self) -> u64 {
        self.tp.saturating_mul(self.cp).saturating_mul(self.dp)
    }

    /// Number of groups of `kind` (they partition the job's ranks).
    pub fn group_count(&self, kind: GroupKind) -> u64 {
        self.gpus() / self.size(kind)
    }

    /// First rank of group `index` of `kind` (groups in order of their first rank).
    fn base(&self, kind: GroupKind, index: u64) -> u64 {
        let s = self.stride(kind);
        (index % s).saturating_add(s.saturating_mul(self.size(kind)).saturating_mul(index / s))
    }

    /// Members of group `index` of `kind`, ascending (empty past the last group).
    pub fn group(&self, kind: GroupKind, index: u64) -> impl Iterator<Item = u64> {
        let (n, s) = (self.size(kind), self.stride(kind));
        let b = self.base(kind, index);
        let n = if index < self.group_count(kind) { n } else { 0 };
        (0..n).map(move |k| b.saturating_add(k.saturating_mul(s)))
    }

    /// Every group of `kind` as global GPU ids (the job starts at GPU 0), in order of
    /// their first rank. Empty when the ranks do not fit in u32.
    pub fn groups(&self, kind: GroupKind) -> Vec<Vec<u32>> {
        if u32::try_from(self.gpus()).is_err() {
            return Vec::new();
        }
        (0..self.group_count(kind))
            .map(|i| self.group(kind, i).map(|r| r as u32).collect())
            .collect()
    }

    /// Pipeline stage of a rank.
    pub fn stage_of(&self, rank: u64) -> u32 {
        let per_stage = self.stride(GroupKind::Pp);
        u32::try_from(rank / per_stage).unwrap_or(u32::MAX)
    }

    /// How the groups of `kind` sit on servers, as the slowest of them sees it: the most
    /// servers any group spans and the fewest members any group has on one of its
    /// servers (the NICs that carry its traffic there). Uniform groups are exact.
    pub fn shape(&self, kind: GroupKind) -> GroupShape {
        let i = GroupKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
        self.shapes[i]
    }

    fn measure(&self, kind: GroupKind) -> GroupShape {
        let n = self.size(kind);
        let (nodes, per_node) = spread(
            n,
            self.stride(kind),
            self.group_count(kind),
            self.gpus_per_node,
        );
        let c = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        // At most a server's GPUs at the group's stride (its members on one server).
        let stride = self.stride(kind).max(1);
        let most = if stride < self.gpus_per_node {
            n.min(self.gpus_per_node.div_ceil(stride))
        } else {
            1
        };
        GroupShape {
            ranks: c(n),
            ranks_per_node: c(per_node),
            most_per_node: c(most.max(per_node)),
            nodes: c(nodes),
        }
    }
}

/// (servers spanned, fewest members on a server) of one group of `n` members at `stride`
/// whose first member sits at offset `o` < `gpn` in its server, for `stride` < `gpn`.
fn spread_from(o: u64, n: u64, stride: u64, gpn: u64) -> (u64, u64) {
    let last = o.saturating_add((n - 1).saturating_mul(stride));
    let nodes = last / gpn + 1;
    if nodes == 1 {
        return (1, n);
    }
    let first = (gpn - o).div_ceil(stride);
    let mut fewest = first.min((last % gpn) / stride + 1);
    // Interior servers: each holds ceil((gpn - u) / stride) members, u being the offset
    // of its first one; u cycles with a period of at most `stride` servers.
    let u0 = o + first * stride - gpn;
    let mut u = u0;
    for _ in 1..nodes - 1 {
        let c = (gpn - u).div_ceil(stride);
        fewest = fewest.min(c);
        u = u + c * stride - gpn;
        if u == u0 {
            break;
        }
    }
    (nodes, fewest)
}

/// (most servers spanned, fewest members on a server) over `groups` groups of `n`
/// members at `stride`, first ranks low + stride·n·high (low < stride).
fn spread(n: u64, stride: u64, groups: u64, gpn: u64) -> (u64, u64) {
    if n <= 1 {
        return (1, 1);
    }
    if stride >= gpn {
        return (n, 1);
    }
    if groups.saturating_mul(n) <= gpn {
        return (1, n); // the whole job in one server
    }
    // A group's spread depends only on its first rank's offset in its server. Offsets
    // are (low + step·high) mod gpn, which repeat after gpn / gcd(step, gpn) highs.
    let step = stride * (n % gpn) % gpn; // stride < gpn: no overflow
    let period = if step == 0 { 1 } else { gpn / gcd(step, gpn) };
    let highs = (groups / stride).min(period);
    // Offsets already measured, one bit each (a cache: offsets past 1,024, beyond any
    // NVLink domain, are measured every time).
    let mut seen = [0u64; 16];
    let (mut nodes, mut fewest) = (1, n);
    for h in 0..highs {
        let t = step * h % gpn;
        for low in 0..stride {
            let o = (t + low) % gpn;
            let (word, bit) = ((o / 64) as usize, 1u64 << (o % 64));
            let done = seen.get(word).is_some_and(|w| w & bit != 0);
            if let Some(w) = seen.get_mut(word) {
                *w |= bit;
            }
            if !done {
                let (a, b) = spread_from(o, n, stride, gpn);
                nodes = nodes.max(a);
                fewest = fewest.min(b);
            }
        }
    }
    (nodes, fewest)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(tp: u32, cp: u32, dp: u32, pp: u32, ep: u32, gpn: u32) -> RankLayout {
        folded(tp, cp, dp, pp, ep, tp, gpn)
    }

    fn folded(tp: u32, cp: u32, dp: u32, pp: u32, ep: u32, etp: u32, gpn: u32) -> RankLayout {
        let plan = ParallelPlan {
            tp,
            cp,
            dp,
            pp,
            ep,
            etp,
            ..ParallelPlan::single()
        };
        RankLayout::new(&plan, gpn)
    }

    /// (size, stride, most servers spanned, fewest members on a server) of the groups.
    fn measure(groups: &[Vec<u32>], gpn: u32) -> (u64, u64, u64, u64) {
        let size = groups[0].len() as u64;
        let stride = groups[0].get(1).map_or(1, |&b| u64::from(b - groups[0][0]));
        let (mut nodes, mut fewest) = (0, u64::MAX);
        for g in groups {
            assert_eq!(g.len() as u64, size, "groups of one kind are alike");
            for w in g.windows(2) {
                assert_eq!(u64::from(w[1] - w[0]), stride, "constant stride in {g:?}");
            }
            let mut per: std::collections::BTreeMap<u32, u64> = Default::default();
            for &r in g {
                *per.entry(r / gpn).or_default() += 1;
            }
            nodes = nodes.max(per.len() as u64);
            fewest = fewest.min(per.values().copied().min().unwrap_or(0));
        }
        (size, stride, nodes, fewest)
    }

    #[test]
    fn shapes_match_the_groups_and_groups_partition_the_job() {
        let mut checked = 0;
        for gpn in [1u32, 4, 8, 72] {
            for tp in [1u32, 2, 3, 4, 6, 8, 16] {
                for cp in [1u32, 2, 3, 4] {
                    for dp in [1u32, 2, 4, 6, 8] {
                        for pp in [1u32, 2, 3] {
                            let experts = [(1u32, tp), (2, tp), (4, tp), (2, 1), (8, 1), (4, 2)];
                            for (ep, etp) in experts
                                .into_iter()
                                .filter(|&(e, t)| (tp * cp * dp) % (e * t) == 0 && tp % t == 0)
                            {
                                let l = folded(tp, cp, dp, pp, ep, etp, gpn);
                                for kind in GroupKind::ALL {
                                    let groups = l.groups(kind);
                                    assert_eq!(groups.len() as u64, l.group_count(kind));
                                    let mut seen = vec![0u32; l.gpus() as usize];
                                    for &r in groups.iter().flatten() {
                                        seen[r as usize] += 1;
                                    }
                                    assert!(seen.iter().all(|&c| c == 1), "partition");
                                    let (size, stride, nodes, fewest) = measure(&groups, gpn);
                                    let shape = l.shape(kind);
                                    let ctx = format!(
                                        "{kind:?} tp{tp} cp{cp} dp{dp} pp{pp} ep{ep} etp{etp} gpn{gpn}"
                                    );
                                    assert_eq!(size, l.size(kind), "{ctx}");
                                    if size > 1 {
                                        assert_eq!(stride, l.stride(kind), "{ctx}");
                                    }
                                    assert_eq!(u64::from(shape.ranks), size, "{ctx}");
                                    assert_eq!(u64::from(shape.nodes), nodes, "{ctx}");
                                    assert_eq!(u64::from(shape.ranks_per_node), fewest, "{ctx}");
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn groups_follow_megatron() {
        // tp2 cp2 dp4 pp2, ep2 on 8-GPU servers: 32 ranks.
        let l = layout(2, 2, 4, 2, 2, 8);
        assert_eq!(l.groups(GroupKind::Tp)[1], [2, 3]);
        assert_eq!(l.groups(GroupKind::Cp)[1], [1, 3]);
        assert_eq!(l.groups(GroupKind::Dp)[0], [0, 2, 4, 6, 8, 10, 12, 14]);
        assert_eq!(l.groups(GroupKind::Pp)[5], [5, 21]);
        // Expert grid tp x ep x (cp dp / ep): EP at stride tp, expert DP at tp x ep.
        assert_eq!(l.groups(GroupKind::Ep)[0], [0, 2]);
        assert_eq!(l.groups(GroupKind::ExpertDp)[1], [1, 5, 9, 13]);
        assert_eq!(l.stage_of(15), 0);
        assert_eq!(l.stage_of(16), 1);
        // Folded: tp4 dp4 with etp1 ep8: an EP group is 8 consecutive ranks (one server),
        // spanning TP and DP; expert DP pairs ranks 8 apart; expert TP is one rank.
        let f = folded(4, 1, 4, 1, 8, 1, 8);
        assert_eq!(f.groups(GroupKind::Ep)[1], (8..16).collect::<Vec<u32>>());
        assert_eq!(f.groups(GroupKind::ExpertDp)[3], [3, 11]);
        assert_eq!(f.shape(GroupKind::Ep).nodes, 1);
        assert_eq!(f.size(GroupKind::ExpertTp), 1);
        // TP 16 spans two 8-GPU servers, 8 on each.
        let s = layout(16, 1, 2, 1, 1, 8).shape(GroupKind::Tp);
        assert_eq!((s.ranks, s.ranks_per_node, s.nodes), (16, 8, 2));
        // TP 6 on 8-GPU servers: ranks 6..12 straddle two servers, 2 and 4 members.
        let s = layout(6, 1, 4, 1, 1, 8).shape(GroupKind::Tp);
        assert_eq!((s.ranks, s.ranks_per_node, s.nodes), (6, 2, 2));
    }

    #[test]
    fn no_panic_on_degenerate_input() {
        let l = layout(0, 0, 0, 0, 0, 0);
        for kind in GroupKind::ALL {
            assert_eq!(l.groups(kind), vec![vec![0u32]]);
            assert_eq!(l.shape(kind), GroupShape::uniform(1, 1));
        }
        let huge = layout(1 << 20, 1 << 20, 1 << 20, 1 << 20, 1, 8);
        assert!(huge.groups(GroupKind::Tp).is_empty());
        let _ = huge.shape(GroupKind::Pp);
        assert_eq!(huge.group(GroupKind::Tp, u64::MAX).count(), 0);
    }
}
