//! Flow-level network model: max-min fair rates by progressive filling, and completion
//! times as flows end.
//!
//! Progressive filling raises every unfrozen flow's rate together; when a resource fills,
//! its flows freeze at that level. The fast solver keeps a heap of the level at which each
//! resource would fill. Freezing flows only ever raises the other resources' fill levels
//! ((R − λ)/(n − 1) ≥ R/n whenever λ ≤ R/n), so stale heap entries are refreshed when
//! popped instead of on every change: each resource is pushed O(1) times on average. The
//! levels popped never decrease, so the heap is a radix heap.
//! [`max_min_reference`] is the plain O(rounds x flows x path) version, kept as the oracle.

/// Flows routed onto resources: the input of the max-min solver. The fabric fills it
/// (`Fabric::route`); it lives here so that the solver does not depend on the topology.
#[derive(Debug, Clone, Default)]
pub struct RoutedFlows {
    /// Capacity of each resource, bytes/s.
    pub capacity: Vec<f64>,
    /// CSR over flows: resources of flow f are `path[path_start[f]..path_start[f+1]]`
    /// (u32 offsets: `Fabric::route` refuses more than 2^32 path entries).
    pub path_start: Vec<u32>,
    /// Resource ids.
    pub path: Vec<u32>,
}

impl RoutedFlows {
    /// Number of flows.
    pub fn flows(&self) -> usize {
        self.path_start.len().saturating_sub(1)
    }

    /// Resources of flow f.
    pub fn resources(&self, f: usize) -> &[u32] {
        &self.path[self.path_start[f] as usize..self.path_start[f + 1] as usize]
    }
}

/// A monotone priority queue of (level, resource): a radix heap over the bits of the
/// level. Progressive filling pops levels in non-decreasing order and only ever pushes
/// levels at or above the last one popped (freezing flows raises the other resources'
/// levels), which is what a radix heap needs; each entry then moves down at most 64
/// buckets in all, instead of sifting through a binary heap of every resource.
struct RadixHeap {
    /// Bits of the last level popped (non-negative floats order as their bits).
    last: u64,
    /// Bucket i > 0 holds keys whose highest bit differing from `last` is bit i - 1;
    /// bucket 0 holds keys equal to `last`.
    buckets: [Vec<(u64, u32)>; 65],
    /// Bit i - 1 set when bucket i > 0 holds something: the next one is found at once.
    nonempty: u64,
    len: usize,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
            nonempty: 0,
            len: 0,
        }
    }
}

impl RadixHeap {
    /// Empties it, keeping the buckets' allocations.
    fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.last = 0;
        self.nonempty = 0;
        self.len = 0;
    }

    fn bucket(&self, key: u64) -> usize {
        64 - (key ^ self.last).leading_zeros() as usize
    }

    /// Pushes `level` (clamped to the last level popped: a level computed after some
    /// freezing may round just below it).
    fn push(&mut self, level: f64, resource: u32) {
        let key = level.max(0.0).to_bits().max(self.last);
        let b = self.bucket(key);
        self.buckets[b].push((key, resource));
        if b > 0 {
            self.nonempty |= 1 << (b - 1);
        }
        self.len += 1;
    }

    /// The lowest level, without taking it.
    fn peek(&mut self) -> Option<f64> {
        if self.len == 0 {
            return None;
        }
        self.refill();
        Some(f64::from_bits(self.last))
    }

    fn pop(&mut self) -> Option<(f64, u32)> {
        if self.len == 0 {
            return None;
        }
        self.refill();
        self.len -= 1;
        self.buckets[0].pop().map(|(k, r)| (f64::from_bits(k), r))
    }

    /// Moves the lowest keys into bucket 0 (it must hold something: `len > 0`).
    fn refill(&mut self) {
        if self.buckets[0].is_empty() {
            if self.nonempty == 0 {
                return;
            }
            let i = self.nonempty.trailing_zeros() as usize + 1;
            self.nonempty &= !(1 << (i - 1));
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|e| e.0).min().unwrap_or(self.last);
            // Every key moves to a lower bucket than i (they share bits above i - 1
            // with the new `last`).
            for e in &moved {
                let b = self.bucket(e.0);
                self.buckets[b].push(*e);
                if b > 0 {
                    self.nonempty |= 1 << (b - 1);
                }
            }
            // Keep the emptied bucket's allocation for later refills.
            let mut moved = moved;
            moved.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moved;
            }
        }
    }
}

/// Relative tolerance for "the same level".
const EPS: f64 = 1e-12;

/// Max-min fair rates (bytes/s) of the flows where `active[f]` (all flows when `None`).
/// Inactive flows get 0; a flow with no resources (src = dst) gets infinity.
pub fn max_min_rates(rf: &RoutedFlows, active: Option<&[bool]>) -> Vec<f64> {
    // The solver's buffers are kept per thread between solves: a solve at 100,000 GPUs
    // otherwise spends a good part of its time faulting in fresh zeroed pages.
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => solve(rf, active, &mut scratch),
        Err(_) => solve(rf, active, &mut Scratch::default()),
    })
}

/// Buffers of a solve, reused by the next one on the same thread.
#[derive(Default)]
struct Scratch {
    n_live: Vec<u32>,
    start: Vec<u32>,
    fill: Vec<u32>,
    flows_of: Vec<u32>,
    frozen: Vec<f64>,
    caps: Vec<(f64, u32)>,
    heap: RadixHeap,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// `v` as `n` copies of `x`, in its own allocation.
fn reset<T: Copy>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

fn solve(rf: &RoutedFlows, active: Option<&[bool]>, scratch: &mut Scratch) -> Vec<f64> {
    let Scratch {
        n_live,
        start,
        fill,
        flows_of,
        frozen,
        caps,
        heap,
    } = scratch;
    let nf = rf.flows();
    let nr = rf.capacity.len();
    let is_active = |f: usize| active.is_none_or(|a| a[f]);
    let mut rate = vec![0.0f64; nf];
    // One bit per flow: small enough to stay in cache while lists are scanned.
    let mut live = BitSet::new(nf);
    // Live flows on each resource.
    reset(n_live, nr, 0);
    for f in 0..nf {
        if !is_active(f) {
            continue;
        }
        let res = rf.resources(f);
        if res.is_empty() {
            rate[f] = f64::INFINITY;
            continue;
        }
        live.set(f);
        for &r in res {
            n_live[r as usize] += 1;
        }
    }
    // A resource of one flow only caps that flow at its capacity: it becomes an event of
    // the flow (`caps`), not a heap entry. Only shared resources get flow lists (CSR) and
    // a place in the heap. Most links of a permutation carry one flow or none.
    reset(start, nr + 1, 0);
    for r in 0..nr {
        let shared = if n_live[r] >= 2 { n_live[r] } else { 0 };
        start[r + 1] = start[r] + shared;
    }
    let is_shared = |r: usize, start: &[u32]| start[r + 1] > start[r];
    fill.clear();
    fill.extend_from_slice(start);
    reset(flows_of, start[nr] as usize, 0);
    caps.clear();
    for f in 0..nf {
        if !live.get(f) {
            continue;
        }
        let mut cap = f64::INFINITY;
        for &r in rf.resources(f) {
            let r = r as usize;
            if is_shared(r, start) {
                flows_of[fill[r] as usize] = f as u32;
                fill[r] += 1;
            } else {
                cap = cap.min(rf.capacity[r]);
            }
        }
        if cap.is_finite() {
            caps.push((cap, f as u32));
        }
    }
    // Flows' caps in increasing order (ties by flow: deterministic); equal caps, as on a
    // fabric of one link speed, need no sort.
    let equal = caps.windows(2).all(|w| w[0].0 == w[1].0);
    if !equal {
        caps.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    reset(frozen, nr, 0.0);
    let level_of =
        |r: usize, n: &[u32], fr: &[f64]| (rf.capacity[r] - fr[r]).max(0.0) / n[r] as f64;
    heap.clear();
    for r in 0..nr {
        if is_shared(r, start) {
            heap.push(level_of(r, n_live, frozen), r as u32);
        }
    }
    // Freezes flow f at `at`, unless it is frozen already.
    let mut freeze = |f: usize, at: f64, n_live: &mut [u32], frozen: &mut [f64]| {
        if !live.get(f) {
            return;
        }
        live.clear(f);
        rate[f] = at;
        for &q in rf.resources(f) {
            let q = q as usize;
            if is_shared(q, start) {
                n_live[q] -= 1;
                frozen[q] += at;
            }
        }
    };
    let mut next_cap = 0;
    loop {
        // The lower of the heap's next level and the next flow's cap fills first.
        let heap_level = heap.peek();
        let cap = caps.get(next_cap).copied();
        let from_heap = match (heap_level, cap) {
            (Some(l), Some((c, _))) => l <= c,
            (Some(_), None) => true,
            (None, Some(_)) => {
                // No shared resource left: the remaining flows take their caps, and
                // nothing else needs their bookkeeping.
                for &(c, f) in &caps[next_cap..] {
                    let f = f as usize;
                    if live.get(f) {
                        rate[f] = c;
                    }
                }
                break;
            }
            (None, None) => break,
        };
        if !from_heap {
            let (c, f) = cap.expect("a cap event");
            next_cap += 1;
            freeze(f as usize, c, n_live, frozen);
            continue;
        }
        let (level, resource) = heap.pop().expect("the heap's next level");
        let r = resource as usize;
        if n_live[r] == 0 {
            continue;
        }
        let now = level_of(r, n_live, frozen);
        if now > level * (1.0 + EPS) + f64::MIN_POSITIVE {
            heap.push(now, resource);
            continue;
        }
        for i in start[r]..start[r + 1] {
            freeze(flows_of[i as usize] as usize, now, n_live, frozen);
        }
    }
    rate
}

/// A fixed-size set of bits.
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64)])
    }
    fn get(&self, i: usize) -> bool {
        self.0[i >> 6] >> (i & 63) & 1 == 1
    }
    fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }
    fn clear(&mut self, i: usize) {
        self.0[i >> 6] &= !(1 << (i & 63));
    }
}

/// The oracle: the textbook progressive-filling loop, no cleverness.
#[cfg(test)]
pub fn max_min_reference(rf: &RoutedFlows) -> Vec<f64> {
    let nf = rf.flows();
    let nr = rf.capacity.len();
    let mut rate = vec![0.0f64; nf];
    let mut live: Vec<bool> = (0..nf).map(|f| !rf.resources(f).is_empty()).collect();
    for f in 0..nf {
        if !live[f] {
            rate[f] = f64::INFINITY;
        }
    }
    loop {
        let mut n = vec![0u32; nr];
        let mut used = vec![0.0f64; nr];
        for f in 0..nf {
            for &r in rf.resources(f) {
                if live[f] {
                    n[r as usize] += 1;
                } else if rate[f].is_finite() {
                    used[r as usize] += rate[f];
                }
            }
        }
        let level = (0..nr)
            .filter(|&r| n[r] > 0)
            .map(|r| (rf.capacity[r] - used[r]).max(0.0) / n[r] as f64)
            .fold(f64::INFINITY, f64::min);
        if !level.is_finite() {
            return rate;
        }
        let full: Vec<bool> = (0..nr)
            .map(|r| {
                n[r] > 0
                    && (rf.capacity[r] - used[r]).max(0.0) / n[r] as f64 <= level * (1.0 + 1e-9)
            })
            .collect();
        for f in 0..nf {
            if live[f] && rf.resources(f).iter().any(|&r| full[r as usize]) {
                live[f] = false;
                rate[f] = level;
            }
        }
    }
}

/// Completion time (s) of each flow of `bytes`, all starting at 0: rates are re-solved
/// each time a group of flows ends.
#[cfg(test)]
pub fn completion_times(rf: &RoutedFlows, bytes: &[f64]) -> Vec<f64> {
    let nf = rf.flows();
    let mut remaining = bytes.to_vec();
    let mut done = vec![f64::NAN; nf];
    let mut active: Vec<bool> = (0..nf).map(|f| bytes[f] > 0.0).collect();
    for f in 0..nf {
        if !active[f] {
            done[f] = 0.0;
        }
    }
    let mut t = 0.0;
    while active.iter().any(|&a| a) {
        let rate = max_min_rates(rf, Some(&active));
        let dt = (0..nf)
            .filter(|&f| active[f])
            .map(|f| {
                if rate[f].is_infinite() {
                    0.0
                } else {
                    remaining[f] / rate[f]
                }
            })
            .fold(f64::INFINITY, f64::min);
        if !dt.is_finite() {
            break; // zero-capacity resources: the remaining flows never finish
        }
        t += dt;
        for f in 0..nf {
            if !active[f] {
                continue;
            }
            remaining[f] -= rate[f] * dt;
            if rate[f].is_infinite() || remaining[f] <= bytes[f] * 1e-9 {
                active[f] = false;
                done[f] = t;
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn problem(caps: Vec<f64>, paths: Vec<Vec<u32>>) -> RoutedFlows {
        let mut path_start = vec![0];
        let mut path = vec![];
        for p in paths {
            path.extend(p);
            path_start.push(path.len() as u32);
        }
        RoutedFlows {
            capacity: caps,
            path_start,
            path,
        }
    }

    #[test]
    fn textbook_example() {
        // Two links of 10; flow A uses both, B the first, C the second: all get 5.
        // Then a third link of 2 on C: C gets 2, A and B share the rest of link 0: 5 each,
        // and A is also bounded by link 1 (10 - 2 = 8): still 5.
        let p = problem(vec![10.0, 10.0], vec![vec![0, 1], vec![0], vec![1]]);
        assert_eq!(max_min_rates(&p, None), vec![5.0, 5.0, 5.0]);
        let p = problem(vec![10.0, 10.0, 2.0], vec![vec![0, 1], vec![0], vec![1, 2]]);
        assert_eq!(max_min_rates(&p, None), vec![5.0, 5.0, 2.0]);
    }

    #[test]
    fn completion_after_short_flows_speeds_up_long_ones() {
        // Two flows share a link of 1 B/s; 1 B and 3 B: the first ends at 2 s, the second
        // then runs alone and ends at 2 + 2 = 4 s.
        let p = problem(vec![1.0], vec![vec![0], vec![0]]);
        let t = completion_times(&p, &[1.0, 3.0]);
        assert!(
            (t[0] - 2.0).abs() < 1e-12 && (t[1] - 4.0).abs() < 1e-12,
            "{t:?}"
        );
    }

    fn arb_problem() -> impl Strategy<Value = RoutedFlows> {
        (1usize..12).prop_flat_map(|nr| {
            let caps = proptest::collection::vec(0.5f64..100.0, nr);
            let paths = proptest::collection::vec(
                proptest::collection::btree_set(0u32..nr as u32, 1..=nr.min(5)),
                1..40,
            );
            (caps, paths).prop_map(|(c, p)| {
                problem(c, p.into_iter().map(|s| s.into_iter().collect()).collect())
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn fast_solver_is_max_min_fair(p in arb_problem()) {
            let rate = max_min_rates(&p, None);
            let nr = p.capacity.len();
            let mut load = vec![0.0; nr];
            for f in 0..p.flows() {
                for &r in p.resources(f) { load[r as usize] += rate[f]; }
            }
            // No resource above capacity.
            for r in 0..nr {
                prop_assert!(load[r] <= p.capacity[r] * (1.0 + 1e-9), "resource {} over: {} > {}", r, load[r], p.capacity[r]);
            }
            // Every flow has a bottleneck: a full resource where no flow gets more.
            for f in 0..p.flows() {
                let bottleneck = p.resources(f).iter().any(|&r| {
                    let r = r as usize;
                    let full = load[r] >= p.capacity[r] * (1.0 - 1e-9);
                    let top = (0..p.flows()).filter(|&g| p.resources(g).contains(&(r as u32))).all(|g| rate[g] <= rate[f] * (1.0 + 1e-9));
                    full && top
                });
                prop_assert!(bottleneck, "flow {} has no bottleneck", f);
            }
            // The oracle agrees; identical input gives identical output.
            let oracle = max_min_reference(&p);
            for f in 0..p.flows() {
                prop_assert!((rate[f] - oracle[f]).abs() <= 1e-9 * oracle[f].max(1.0), "flow {}: {} vs {}", f, rate[f], oracle[f]);
            }
            prop_assert_eq!(rate, max_min_rates(&p, None));
        }
    }
}
