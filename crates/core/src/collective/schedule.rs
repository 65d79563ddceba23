//! Collective algorithms as explicit schedules: phases of chunk transfers between ranks.
//!
//! A schedule is what each algorithm does, step by step, and [`execute`] runs it on real
//! data, so tests can check that every rank ends with the exact reduction or the exact
//! gathered buffer, for any rank count. Within a phase every transfer reads the state at
//! the start of the phase (the steps are bulk-synchronous).

/// What a transfer does at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// dst[chunk] = src[chunk].
    Copy,
    /// dst[chunk] += src[chunk].
    Reduce,
}

/// One chunk moved from one rank to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Sending rank.
    pub src: u32,
    /// Receiving rank.
    pub dst: u32,
    /// Chunk index in the buffer.
    pub chunk: u32,
    /// Copy or reduce.
    pub kind: Kind,
}

/// A collective as phases of transfers over `chunks` equal chunks of the buffer.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Ranks.
    pub ranks: u32,
    /// Chunks the buffer is cut into.
    pub chunks: u32,
    /// Phases in order.
    pub phases: Vec<Vec<Transfer>>,
}

fn push_phase(phases: &mut Vec<Vec<Transfer>>, at: usize, t: Transfer) {
    while phases.len() <= at {
        phases.push(Vec::new());
    }
    phases[at].push(t);
}

/// Ring reduce-scatter over `ranks` (in ring order): `groups[j]` are the chunks that
/// `ranks[j]` ends up owning, fully reduced. n - 1 phases.
pub fn ring_reduce_scatter(ranks: &[u32], groups: &[Vec<u32>]) -> Vec<Vec<Transfer>> {
    let n = ranks.len();
    let mut phases = Vec::new();
    for k in 0..n.saturating_sub(1) {
        for i in 0..n {
            // Group j starts at ranks[j+1] and travels the ring to ranks[j].
            let j = (i + 2 * n - k - 1) % n;
            for &c in &groups[j] {
                push_phase(
                    &mut phases,
                    k,
                    Transfer {
                        src: ranks[i],
                        dst: ranks[(i + 1) % n],
                        chunk: c,
                        kind: Kind::Reduce,
                    },
                );
            }
        }
    }
    phases
}

/// Ring all-gather: `ranks[j]` starts with `groups[j]`; everyone ends with all. n - 1 phases.
pub fn ring_all_gather(ranks: &[u32], groups: &[Vec<u32>]) -> Vec<Vec<Transfer>> {
    let n = ranks.len();
    let mut phases = Vec::new();
    for k in 0..n.saturating_sub(1) {
        for i in 0..n {
            let j = (i + n - k) % n;
            for &c in &groups[j] {
                push_phase(
                    &mut phases,
                    k,
                    Transfer {
                        src: ranks[i],
                        dst: ranks[(i + 1) % n],
                        chunk: c,
                        kind: Kind::Copy,
                    },
                );
            }
        }
    }
    phases
}

fn singletons(n: u32) -> Vec<Vec<u32>> {
    (0..n).map(|c| vec![c]).collect()
}

/// Ring all-reduce: reduce-scatter then all-gather, 2(n - 1) phases.
pub fn ring_all_reduce(n: u32) -> Schedule {
    let ranks: Vec<u32> = (0..n).collect();
    let g = singletons(n);
    let mut phases = ring_reduce_scatter(&ranks, &g);
    phases.extend(ring_all_gather(&ranks, &g));
    Schedule {
        ranks: n,
        chunks: n,
        phases,
    }
}

/// Double binary tree all-reduce (NCCL): two binary trees, the second the mirror of the
/// first so that most inner nodes of one are leaves of the other; each reduces half the
/// buffer up to its root, then broadcasts it down.
pub fn tree_all_reduce(n: u32) -> Schedule {
    let depth = |i: u32| 32 - (i + 1).leading_zeros() - 1; // heap order
    let max_depth = if n == 0 { 0 } else { depth(n - 1) };
    let mut phases = Vec::new();
    for (chunk, map) in [(0u32, false), (1u32, true)] {
        let rank = |heap: u32| if map { n - 1 - heap } else { heap };
        // Up: deepest level first.
        for (step, d) in (1..=max_depth).rev().enumerate() {
            for i in 1..n {
                if depth(i) == d {
                    let t = Transfer {
                        src: rank(i),
                        dst: rank((i - 1) / 2),
                        chunk,
                        kind: Kind::Reduce,
                    };
                    push_phase(&mut phases, step, t);
                }
            }
        }
        // Down: root first.
        for (step, d) in (1..=max_depth).enumerate() {
            for i in 1..n {
                if depth(i) == d {
                    let t = Transfer {
                        src: rank((i - 1) / 2),
                        dst: rank(i),
                        chunk,
                        kind: Kind::Copy,
                    };
                    push_phase(&mut phases, max_depth as usize + step, t);
                }
            }
        }
    }
    Schedule {
        ranks: n,
        chunks: 2,
        phases,
    }
}

/// Bruck all-gather (any n, ceil(log2 n) phases): at step k rank i passes everything it
/// has, up to 2^k chunks, to rank i - 2^k.
pub fn bruck_all_gather(n: u32) -> Schedule {
    let mut phases = Vec::new();
    let mut have = 1u32; // rank i holds chunks i .. i + have - 1 (mod n)
    let mut step = 0;
    while have < n {
        let d = have;
        let send = d.min(n - have);
        for i in 0..n {
            let dst = (i + n - d) % n;
            for c in 0..send {
                push_phase(
                    &mut phases,
                    step,
                    Transfer {
                        src: i,
                        dst,
                        chunk: (i + c) % n,
                        kind: Kind::Copy,
                    },
                );
            }
        }
        have += send;
        step += 1;
    }
    Schedule {
        ranks: n,
        chunks: n,
        phases,
    }
}

/// Recursive halving reduce-scatter (Rabenseifner), any n: the n - p ranks beyond the
/// largest power of two p first fold their buffers into ranks 0..n-p; p ranks then halve
/// the chunk range log2 p times; finally each chunk is copied to its owner.
pub fn halving_reduce_scatter(n: u32) -> Schedule {
    let (phases, _) = halving_core(n);
    let mut s = Schedule {
        ranks: n,
        chunks: n,
        phases,
    };
    // Hand each fully reduced chunk to its owner.
    let ranges = final_ranges(n);
    let mut last = Vec::new();
    for (q, (lo, hi)) in ranges.iter().enumerate() {
        for c in *lo..*hi {
            if c != q as u32 {
                last.push(Transfer {
                    src: q as u32,
                    dst: c,
                    chunk: c,
                    kind: Kind::Copy,
                });
            }
        }
    }
    if !last.is_empty() {
        s.phases.push(last);
    }
    s
}

/// Rabenseifner all-reduce: recursive halving, then recursive doubling, then unfold.
pub fn halving_doubling_all_reduce(n: u32) -> Schedule {
    let (mut phases, p) = halving_core(n);
    let ranges = final_ranges(n);
    let mut d = 1;
    while d < p {
        let mut phase = Vec::new();
        for i in 0..p {
            let partner = i ^ d;
            // Rank i holds the ranges of its aligned block of d ranks; after the exchange
            // both partners hold their block of 2d.
            let own = block_range(&ranges, i & !(d - 1), d);
            for c in own.0..own.1 {
                phase.push(Transfer {
                    src: i,
                    dst: partner,
                    chunk: c,
                    kind: Kind::Copy,
                });
            }
        }
        phases.push(phase);
        d *= 2;
    }
    let mut unfold = Vec::new();
    for e in p..n {
        for c in 0..n {
            unfold.push(Transfer {
                src: e - p,
                dst: e,
                chunk: c,
                kind: Kind::Copy,
            });
        }
    }
    if !unfold.is_empty() {
        phases.push(unfold);
    }
    Schedule {
        ranks: n,
        chunks: n,
        phases,
    }
}

/// Chunk range [lo, hi) covered by ranks start .. start + len of the halving's result.
fn block_range(ranges: &[(u32, u32)], start: u32, len: u32) -> (u32, u32) {
    let lo = (start..start + len)
        .map(|q| ranges[q as usize].0)
        .min()
        .unwrap_or(0);
    let hi = (start..start + len)
        .map(|q| ranges[q as usize].1)
        .max()
        .unwrap_or(0);
    (lo, hi)
}

fn pow2_floor(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        1 << (31 - n.leading_zeros())
    }
}

/// The chunk range each of the p core ranks holds after recursive halving. The halving
/// pairs i with i ^ d for d = p/2 .. 1; the rank with bit d clear keeps the lower half.
fn final_ranges(n: u32) -> Vec<(u32, u32)> {
    let p = pow2_floor(n);
    (0..p)
        .map(|i| {
            let (mut lo, mut hi) = (0, n);
            let mut d = p / 2;
            while d >= 1 {
                let mid = lo + (hi - lo) / 2;
                if i & d == 0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
                d /= 2;
            }
            (lo, hi)
        })
        .collect()
}

fn halving_core(n: u32) -> (Vec<Vec<Transfer>>, u32) {
    let p = pow2_floor(n);
    let mut phases = Vec::new();
    let mut fold = Vec::new();
    for e in p..n {
        for c in 0..n {
            fold.push(Transfer {
                src: e,
                dst: e - p,
                chunk: c,
                kind: Kind::Reduce,
            });
        }
    }
    if !fold.is_empty() {
        phases.push(fold);
    }
    let mut range = vec![(0u32, n); p as usize];
    let mut d = p / 2;
    while d >= 1 {
        let mut phase = Vec::new();
        let mut next = range.clone();
        for i in 0..p {
            let (lo, hi) = range[i as usize];
            let mid = lo + (hi - lo) / 2;
            let (keep, give) = if i & d == 0 {
                ((lo, mid), (mid, hi))
            } else {
                ((mid, hi), (lo, mid))
            };
            for c in give.0..give.1 {
                phase.push(Transfer {
                    src: i,
                    dst: i ^ d,
                    chunk: c,
                    kind: Kind::Reduce,
                });
            }
            next[i as usize] = keep;
        }
        range = next;
        phases.push(phase);
        d /= 2;
    }
    (phases, p)
}

/// NVLS all-reduce: every rank pushes chunk c into the switch, which reduces it for the
/// owner of c; the owner's result is multicast back. Two phases of direct transfers.
pub fn nvls_all_reduce(n: u32) -> Schedule {
    let mut reduce = Vec::new();
    let mut multicast = Vec::new();
    for c in 0..n {
        for r in 0..n {
            if r != c {
                reduce.push(Transfer {
                    src: r,
                    dst: c,
                    chunk: c,
                    kind: Kind::Reduce,
                });
                multicast.push(Transfer {
                    src: c,
                    dst: r,
                    chunk: c,
                    kind: Kind::Copy,
                });
            }
        }
    }
    Schedule {
        ranks: n,
        chunks: n,
        phases: vec![reduce, multicast],
    }
}

/// Hierarchical all-reduce over `nodes` x `per_node` ranks (rank = node x per_node +
/// local): ring reduce-scatter inside each node, a ring all-reduce across nodes of each
/// local rank's share, ring all-gather inside each node.
pub fn hierarchical_all_reduce(nodes: u32, per_node: u32) -> Schedule {
    let n = nodes * per_node;
    let chunks = n;
    // Local rank l owns chunks l*nodes .. (l+1)*nodes after the intra-node stage; across
    // nodes, node m's rank l owns chunk l*nodes + m.
    let local_groups: Vec<Vec<u32>> = (0..per_node)
        .map(|l| (l * nodes..(l + 1) * nodes).collect())
        .collect();
    let mut phases: Vec<Vec<Transfer>> = Vec::new();
    let merge = |stage: Vec<Vec<Transfer>>, phases: &mut Vec<Vec<Transfer>>, base: usize| {
        for (k, ph) in stage.into_iter().enumerate() {
            for t in ph {
                push_phase(phases, base + k, t);
            }
        }
    };
    for m in 0..nodes {
        let ranks: Vec<u32> = (0..per_node).map(|l| m * per_node + l).collect();
        merge(ring_reduce_scatter(&ranks, &local_groups), &mut phases, 0);
    }
    let base = phases.len();
    for l in 0..per_node {
        let ranks: Vec<u32> = (0..nodes).map(|m| m * per_node + l).collect();
        let groups: Vec<Vec<u32>> = (0..nodes).map(|m| vec![l * nodes + m]).collect();
        let mut stage = ring_reduce_scatter(&ranks, &groups);
        stage.extend(ring_all_gather(&ranks, &groups));
        merge(stage, &mut phases, base);
    }
    let base = phases.len();
    for m in 0..nodes {
        let ranks: Vec<u32> = (0..per_node).map(|l| m * per_node + l).collect();
        merge(ring_all_gather(&ranks, &local_groups), &mut phases, base);
    }
    Schedule {
        ranks: n,
        chunks,
        phases,
    }
}

/// Pairwise all-to-all: in phase k, rank i sends its block for rank (i + k) mod n.
/// Chunk index = destination rank (in the sender's send buffer).
pub fn pairwise_all_to_all(n: u32) -> Schedule {
    let phases = (1..n)
        .map(|k| {
            (0..n)
                .map(|i| Transfer {
                    src: i,
                    dst: (i + k) % n,
                    chunk: (i + k) % n,
                    kind: Kind::Copy,
                })
                .collect()
        })
        .collect();
    Schedule {
        ranks: n,
        chunks: n,
        phases,
    }
}

/// Runs a schedule on buffers `data[rank][chunk]` (wrapping integer sums are exact).
pub fn execute(s: &Schedule, data: &mut [Vec<i64>]) {
    for phase in &s.phases {
        let before: Vec<Vec<i64>> = data.to_vec();
        for t in phase {
            let v = before[t.src as usize][t.chunk as usize];
            let d = &mut data[t.dst as usize][t.chunk as usize];
            match t.kind {
                Kind::Copy => *d = v,
                Kind::Reduce => *d = d.wrapping_add(v),
            }
        }
    }
}

/// Runs an all-to-all schedule: `send[i][j]` is rank i's block for rank j; returns
/// `recv[j][i]`.
pub fn execute_all_to_all(s: &Schedule, send: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let n = s.ranks as usize;
    let mut recv = vec![vec![0i64; n]; n];
    for i in 0..n {
        recv[i][i] = send[i][i];
    }
    for phase in &s.phases {
        for t in phase {
            recv[t.dst as usize][t.src as usize] = send[t.src as usize][t.chunk as usize];
        }
    }
    recv
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct values per (rank, chunk) so that any misrouted chunk shows.
    fn inputs(n: u32, chunks: u32) -> Vec<Vec<i64>> {
        (0..n)
            .map(|r| {
                (0..chunks)
                    .map(|c| (r as i64 + 1) * 1_000_003 + c as i64 * 7919)
                    .collect()
            })
            .collect()
    }

    fn sums(data: &[Vec<i64>], chunks: u32) -> Vec<i64> {
        (0..chunks as usize)
            .map(|c| {
                data.iter()
                    .map(|d| d[c])
                    .fold(0i64, |a, b| a.wrapping_add(b))
            })
            .collect()
    }

    const COUNTS: [u32; 12] = [1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 48, 64];

    fn check_all_reduce(s: &Schedule) {
        let mut d = inputs(s.ranks, s.chunks);
        let want = sums(&d, s.chunks);
        execute(s, &mut d);
        for (r, row) in d.iter().enumerate() {
            assert_eq!(row, &want, "rank {r} of {}", s.ranks);
        }
    }

    #[test]
    fn all_reduce_algorithms_give_the_exact_sum() {
        for n in COUNTS {
            check_all_reduce(&ring_all_reduce(n));
            check_all_reduce(&tree_all_reduce(n));
            check_all_reduce(&halving_doubling_all_reduce(n));
            check_all_reduce(&nvls_all_reduce(n));
        }
        for (nodes, per) in [(1, 8), (2, 4), (3, 8), (8, 8), (5, 3)] {
            check_all_reduce(&hierarchical_all_reduce(nodes, per));
        }
    }

    #[test]
    fn reduce_scatter_leaves_each_rank_its_reduced_chunk() {
        for n in COUNTS {
            let ranks: Vec<u32> = (0..n).collect();
            let ring = Schedule {
                ranks: n,
                chunks: n,
                phases: ring_reduce_scatter(&ranks, &singletons(n)),
            };
            for s in [ring, halving_reduce_scatter(n)] {
                let mut d = inputs(n, n);
                let want = sums(&d, n);
                execute(&s, &mut d);
                for r in 0..n as usize {
                    assert_eq!(d[r][r], want[r], "n={n} rank {r}");
                }
            }
        }
    }

    #[test]
    fn all_gather_leaves_every_rank_every_chunk() {
        for n in COUNTS {
            let ranks: Vec<u32> = (0..n).collect();
            let ring = Schedule {
                ranks: n,
                chunks: n,
                phases: ring_all_gather(&ranks, &singletons(n)),
            };
            for s in [ring, bruck_all_gather(n)] {
                // Rank r starts with only its own chunk r.
                let full = inputs(1, n).remove(0);
                let mut d: Vec<Vec<i64>> = (0..n as usize)
                    .map(|r| {
                        (0..n as usize)
                            .map(|c| if c == r { full[c] } else { 0 })
                            .collect()
                    })
                    .collect();
                execute(&s, &mut d);
                for row in &d {
                    assert_eq!(row, &full, "n={n}");
                }
            }
        }
    }

    #[test]
    fn all_to_all_transposes() {
        for n in COUNTS {
            let send = inputs(n, n);
            let recv = execute_all_to_all(&pairwise_all_to_all(n), &send);
            for i in 0..n as usize {
                for j in 0..n as usize {
                    assert_eq!(recv[j][i], send[i][j]);
                }
            }
        }
    }

    #[test]
    fn phase_counts() {
        assert_eq!(ring_all_reduce(8).phases.len(), 14);
        assert_eq!(bruck_all_gather(5).phases.len(), 3);
        assert_eq!(tree_all_reduce(8).phases.len(), 6);
        // 6 ranks: fold, 2 halvings, 2 doublings, unfold.
        assert_eq!(halving_doubling_all_reduce(6).phases.len(), 6);
    }
}
