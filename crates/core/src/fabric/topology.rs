//! The fabric graph: nodes are endpoints, then leaves, spines and cores; directed links
//! are stored once in flat arrays and indexed by source in CSR form.

use super::FabricSpec;
use crate::units::Bandwidth;
use serde::Serialize;

/// Node tiers.
pub const TIER_ENDPOINT: u8 = 0;
/// Leaf switches.
pub const TIER_LEAF: u8 = 1;
/// Spine switches.
pub const TIER_SPINE: u8 = 2;
/// Core switches.
pub const TIER_CORE: u8 = 3;

/// The built fabric.
#[derive(Debug, Clone)]
pub struct Fabric {
    /// What it was built from.
    pub spec: FabricSpec,
    /// First node id of each tier: [endpoints, leaves, spines, cores, end].
    pub tier_start: [u32; 5],
    /// Leaf of each endpoint.
    pub leaf_of: Vec<u32>,
    /// Pod of each leaf (index by leaf - tier_start[1]).
    pub pod_of_leaf: Vec<u32>,
    /// Pods.
    pub pods: u32,
    /// Uplinks of each leaf (index by leaf - tier_start[1]): to spines 0.. of its pod.
    pub leaf_up: Vec<u32>,
    /// Spines of pod p are `spine_base[p]..spine_base[p+1]` (after tier_start[2]).
    pub spine_base: Vec<u32>,
    /// Pod of each spine (index by spine - tier_start[2]).
    pub pod_of_spine: Vec<u32>,
    /// CSR: out-links of node v are `out_start[v]..out_start[v+1]`, sorted by target.
    pub out_start: Vec<u32>,
    /// Link target node, in CSR order (link id = position).
    pub link_dst: Vec<u32>,
    /// Link source node.
    pub link_src: Vec<u32>,
    /// Link capacity (all links run at the endpoint rate).
    pub link_rate: Bandwidth,
    /// Routing index: the leaf-to-endpoint link of each endpoint.
    pub ep_down: Vec<u32>,
    /// Routing index: first uplink of each node (leaf: to spine 0 of its pod; spine: to
    /// its first core); `u32::MAX` where there is none.
    pub up_start: Vec<u32>,
    /// Routing index: for core c, its links to pod p's spine are
    /// `core_pod[c·(pods+1) + p] .. core_pod[c·(pods+1) + p + 1]`.
    pub core_pod: Vec<u32>,
    /// The physical switch, numbered within its tier, of each switch node (index by
    /// node - tier_start[1]); see [`pack_switches`].
    pub switch_of: Vec<u32>,
    /// Physical switches per tier (index by tier: 1 leaf, 2 spine, 3 core), from
    /// `switch_of`.
    physical: [u32; 4],
}

/// Counts for `memphis cluster`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// GPUs (endpoints).
    pub gpus: u64,
    /// Switches per tier, leaf first.
    pub switches_by_tier: Vec<u64>,
    /// All switches.
    pub switches: u64,
    /// Bidirectional links per tier: endpoint-leaf, leaf-spine, spine-core.
    pub links_by_tier: Vec<u64>,
    /// All bidirectional links.
    pub links: u64,
    /// Optical transceivers: one per NIC, one per 2 switch ports (800G twin-port OSFP
    /// carrying 2 x 400G), two per switch-switch link end pair counted the same way.
    pub transceivers: u64,
    /// Cables: one per link.
    pub cables: u64,
    /// Bisection bandwidth, Tb/s.
    pub bisection_tbps: f64,
    /// Oversubscription as built, per switch tier below the top: the links each tier
    /// serves below over its links up (1 = non-blocking; below 1 where a switch keeps
    /// an uplink per core).
    pub oversubscription_built: Vec<f64>,
    /// Links on the longest shortest path between two GPUs.
    pub max_hops_links: u32,
    /// Switches on that path.
    pub max_hops_switches: u32,
    /// Pods: groups of leaves under their own spines, which the core tier joins (three
    /// tiers; one otherwise).
    pub pods: u32,
    /// GPUs in the largest pod.
    pub pod_gpus: u64,
}

/// Leaves needed for the spec (see the module docs for the formula).
pub fn leaf_count(spec: &FabricSpec) -> u64 {
    let (d1, _) = spec.leaf_ports();
    let d1 = u64::from(d1.max(1));
    if spec.tiers == 1 {
        return 1;
    }
    if !spec.rail_optimized {
        return spec.endpoints.div_ceil(d1);
    }
    let g = u64::from(spec.gpus_per_node);
    let servers = spec.endpoints.div_ceil(g);
    let sa = u64::from(spec.servers_per_array);
    let full_arrays = servers / sa;
    let rest = servers % sa;
    g * (full_arrays * sa.div_ceil(d1) + rest.div_ceil(d1))
}

/// The physical switch of each switch node in `nodes`, numbered from 0. The graph has a
/// spine per leaf uplink in each pod (spine j is plane j: leaf uplink j goes to it) and a
/// core group per plane. Where a pod has fewer leaves than a spine has ports (a small
/// two-tier fabric, a pod partly filled), that plane uses few of a switch's ports, and
/// one switch of `radix` ports holds several planes, each leaf linking to it once per
/// plane: a bundle of parallel links, as small Clos fabrics are cabled (NVIDIA's DGX
/// SuperPOD reference architecture links each leaf to each spine by two or more links).
/// Consecutive nodes of a `group` (a pod's spines) share a switch while their links fit
/// its ports; a node never spans two. The paths through the fabric are the planes'
/// either way, so routing and rates are unchanged; the switch count, their power and
/// the ports no link uses are the physical ones.
fn pack_switches(
    nodes: std::ops::Range<u32>,
    group: impl Fn(u32) -> u32,
    ports: impl Fn(u32) -> u32,
    radix: u32,
) -> Vec<u32> {
    let mut out = Vec::with_capacity(nodes.len());
    let (mut switch, mut used, mut last_group) = (0u32, 0u32, None);
    for v in nodes {
        let (g, p) = (group(v), ports(v));
        match last_group {
            None => {}
            Some(lg) if lg == g && used + p <= radix => {}
            Some(_) => {
                switch += 1;
                used = 0;
            }
        }
        used += p;
        last_group = Some(g);
        out.push(switch);
    }
    out
}

/// Uplinks for `down` attached ports at oversubscription `o` (down/up): ceil(down / o),
/// at least one, at most the switch's `full_up`.
fn sized_up(down: u32, o: f64, full_up: u32) -> u32 {
    if down == 0 || full_up == 0 {
        return 0;
    }
    let need = (f64::from(down) / o).ceil() as u32;
    need.clamp(1, full_up)
}

/// The spine-to-core wiring of a 3-tier fabric.
#[derive(Default)]
struct SpineUplinks {
    /// Per spine: (plane, uplinks, offset of its first uplink in the plane's round robin).
    of_spine: Vec<(u32, u32, u32)>,
    /// Cores of plane j are `core_base[j]..core_base[j+1]`.
    core_base: Vec<u32>,
}

/// Spine j of every pod belongs to plane j. A spine gets the uplinks its leaves need
/// (as a leaf does); plane j has C_j = ceil(its uplinks / k) cores, and spine uplinks
/// are dealt round robin over them. A spine keeps at least one uplink per core of its
/// plane (C_j <= u2 since pods <= k), so every core reaches every pod and a path may
/// climb to any core.
fn spine_uplinks(
    leaf_up: &[u32],
    pod_of_leaf: &[u32],
    spine_base: &[u32],
    o2: f64,
    [u2, k]: [u32; 2],
) -> SpineUplinks {
    let spines = *spine_base.last().unwrap_or(&0) as usize;
    let mut down = vec![0u32; spines];
    for (l, &u) in leaf_up.iter().enumerate() {
        let b = spine_base[pod_of_leaf[l] as usize] as usize;
        for d in &mut down[b..b + u as usize] {
            *d += 1;
        }
    }
    let pods = spine_base.len() - 1;
    let planes = (0..pods)
        .map(|p| spine_base[p + 1] - spine_base[p])
        .max()
        .unwrap_or(0);
    let mut of_spine = vec![(0u32, 0u32, 0u32); spines];
    let mut core_base = vec![0u32; planes as usize + 1];
    for j in 0..planes {
        let members: Vec<usize> = (0..pods)
            .filter(|&p| spine_base[p] + j < spine_base[p + 1])
            .map(|p| (spine_base[p] + j) as usize)
            .collect();
        let mut up: Vec<u32> = members.iter().map(|&s| sized_up(down[s], o2, u2)).collect();
        let mut cores = 0;
        // Raising a spine to C_j uplinks may raise C_j: iterate to the fixed point
        // (C_j only grows and is at most u2).
        loop {
            let total: u32 = up.iter().sum();
            let c = total.div_ceil(k).max(1);
            if c == cores {
                break;
            }
            cores = c;
            for u in &mut up {
                *u = (*u).max(cores.min(u2));
            }
        }
        let mut offset = 0;
        for (&s, &u) in members.iter().zip(&up) {
            of_spine[s] = (j, u, offset);
            offset += u;
        }
        core_base[j as usize + 1] = core_base[j as usize] + cores;
    }
    SpineUplinks {
        of_spine,
        core_base,
    }
}

/// The array of each leaf (its first endpoint's): leaves are laid out array-major, so
/// each array's leaves are contiguous.
fn leaf_arrays(spec: &FabricSpec) -> Vec<u32> {
    let leaves = leaf_count(spec) as u32;
    let (d1, _) = spec.leaf_ports();
    let (g, sa) = (spec.gpus_per_node.max(1), spec.servers_per_array.max(1));
    if spec.rail_optimized {
        let servers = spec.endpoints.div_ceil(u64::from(g));
        let full_arrays = (servers / u64::from(sa)) as u32;
        let per_array = g * sa.div_ceil(d1.max(1));
        (0..leaves)
            .map(|l| (l / per_array).min(full_arrays))
            .collect()
    } else {
        (0..leaves)
            .map(|l| ((u64::from(l) * u64::from(d1) / u64::from(g)) / u64::from(sa)) as u32)
            .collect()
    }
}

/// With `arrays_per_pod`: the most leaves a group of that many arrays has, and the most
/// an array has ((0, 0) without).
pub fn pod_leaves(spec: &FabricSpec) -> (u32, u32) {
    let Some(a) = spec.arrays_per_pod else {
        return (0, 0);
    };
    let arrays = leaf_arrays(spec);
    let count = |key: &dyn Fn(u32) -> u32| {
        let mut n = std::collections::BTreeMap::<u32, u32>::new();
        for &x in &arrays {
            *n.entry(key(x)).or_default() += 1;
        }
        n.values().copied().max().unwrap_or(0)
    };
    (count(&|x| x / a.max(1)), count(&|x| x))
}

/// The pod of each leaf (three tiers; one pod otherwise): consecutive leaves, at most d2
/// a pod (a spine links once to each), and with `arrays_per_pod` a new pod at each group
/// of that many arrays.
pub fn pod_of_leaves(spec: &FabricSpec) -> Vec<u32> {
    let leaves = leaf_count(spec) as usize;
    if spec.tiers != 3 {
        return vec![0; leaves];
    }
    let (d2, _) = spec.spine_ports();
    let group: Vec<u32> = match spec.arrays_per_pod {
        Some(a) => leaf_arrays(spec).iter().map(|&x| x / a.max(1)).collect(),
        None => vec![0; leaves],
    };
    let mut out = Vec::with_capacity(leaves);
    let (mut pod, mut in_pod) = (0u32, 0u32);
    for (l, &gr) in group.iter().enumerate() {
        if l > 0 && (gr != group[l - 1] || in_pod == d2) {
            pod += 1;
            in_pod = 0;
        }
        out.push(pod);
        in_pod += 1;
    }
    out
}

impl Fabric {
    /// Builds the graph. The spec must have passed [`FabricSpec::validate`].
    pub fn build(spec: &FabricSpec) -> Fabric {
        let n = spec.endpoints as u32;
        let g = spec.gpus_per_node;
        let (d1, u1) = spec.leaf_ports();
        let (_, u2) = spec.spine_ports();
        let k = spec.radix;

        // Leaf of each endpoint.
        let mut leaf_of = vec![0u32; n as usize];
        if spec.tiers == 1 {
            // One switch.
        } else if spec.rail_optimized {
            // Array-major, then rail, then the leaf within (array, rail). The last array
            // may be partial and then has fewer leaves per rail.
            let sa = spec.servers_per_array;
            let servers = n.div_ceil(g);
            let full_arrays = servers / sa;
            let per_rail = sa.div_ceil(d1);
            let per_rail_last = (servers % sa).div_ceil(d1);
            for e in 0..n {
                let (server, rail) = (e / g, e % g);
                let (array, sub) = (server / sa, (server % sa) / d1);
                let stride = if array < full_arrays {
                    per_rail
                } else {
                    per_rail_last
                };
                leaf_of[e as usize] = array * g * per_rail + rail * stride + sub;
            }
        } else {
            for e in 0..n {
                leaf_of[e as usize] = e / d1;
            }
        }
        let leaves = if spec.tiers == 1 {
            1
        } else {
            leaf_count(spec) as u32
        };
        // Each leaf gets the uplinks its endpoints need at the leaf tier's
        // oversubscription (a full leaf has u1), so a partly filled leaf is not wired
        // as if full.
        let mut attached = vec![0u32; leaves as usize];
        for &l in &leaf_of {
            attached[l as usize] += 1;
        }
        let leaf_up: Vec<u32> = attached
            .iter()
            .map(|&a| sized_up(a, spec.oversubscription[0], u1))
            .collect();
        let pod_of_leaf = pod_of_leaves(spec);
        let pods = pod_of_leaf.last().map_or(1, |&p| p + 1);
        // Spine j of a pod serves the pod's leaves with more than j uplinks: a pod has as
        // many spines as its most-connected leaf has uplinks.
        let mut spine_base = vec![0u32; pods as usize + 1];
        if spec.tiers >= 2 {
            for (l, &u) in leaf_up.iter().enumerate() {
                let p = pod_of_leaf[l] as usize;
                spine_base[p + 1] = spine_base[p + 1].max(u);
            }
        }
        for p in 0..pods as usize {
            spine_base[p + 1] += spine_base[p];
        }
        let spines = spine_base[pods as usize];
        let mut pod_of_spine = vec![0u32; spines as usize];
        for p in 0..pods as usize {
            pod_of_spine[spine_base[p] as usize..spine_base[p + 1] as usize].fill(p as u32);
        }
        // One pod needs no cores: its spines are the top tier.
        let spine_up = if spec.tiers == 3 && pods > 1 {
            spine_uplinks(
                &leaf_up,
                &pod_of_leaf,
                &spine_base,
                spec.oversubscription[1],
                [u2, k],
            )
        } else {
            SpineUplinks::default()
        };
        let cores = *spine_up.core_base.last().unwrap_or(&0);
        let leaf0 = n;
        let spine0 = leaf0 + leaves;
        let core0 = spine0 + spines;
        let end = core0 + cores;

        // Links as (src, dst) pairs, both directions.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(2 * (n as usize) * spec.tiers as usize);
        for e in 0..n {
            let l = leaf0 + leaf_of[e as usize];
            pairs.push((e, l));
            pairs.push((l, e));
        }
        if spec.tiers >= 2 {
            for l in 0..leaves {
                let pod = pod_of_leaf[l as usize];
                for j in 0..leaf_up[l as usize] {
                    let s = spine0 + spine_base[pod as usize] + j;
                    pairs.push((leaf0 + l, s));
                    pairs.push((s, leaf0 + l));
                }
            }
        }
        for (i, &(plane, up, offset)) in spine_up.of_spine.iter().enumerate() {
            let (base, c) = (
                spine_up.core_base[plane as usize],
                spine_up.core_base[plane as usize + 1] - spine_up.core_base[plane as usize],
            );
            for u in 0..up {
                let core = core0 + base + (offset + u) % c;
                pairs.push((spine0 + i as u32, core));
                pairs.push((core, spine0 + i as u32));
            }
        }
        pairs.sort_unstable();
        let mut out_start = vec![0u32; end as usize + 1];
        for &(s, _) in &pairs {
            out_start[s as usize + 1] += 1;
        }
        for v in 0..end as usize {
            out_start[v + 1] += out_start[v];
        }
        let link_src: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        let link_dst: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        drop(pairs);

        // Routing indexes, so that a path is found by arithmetic, not by search.
        let mut ep_down = vec![0u32; n as usize];
        let mut up_start = vec![u32::MAX; end as usize];
        for v in leaf0..end {
            let (a, b) = (out_start[v as usize], out_start[v as usize + 1]);
            for id in a..b {
                let t = link_dst[id as usize];
                if t < n {
                    ep_down[t as usize] = id;
                } else if t > v && up_start[v as usize] == u32::MAX {
                    up_start[v as usize] = id;
                }
            }
        }
        let mut core_pod = Vec::with_capacity((cores * (pods + 1)) as usize);
        for c in core0..end {
            let (a, b) = (out_start[c as usize], out_start[c as usize + 1]);
            let mut id = a;
            for p in 0..pods {
                core_pod.push(id);
                while id < b && pod_of_spine[(link_dst[id as usize] - spine0) as usize] <= p {
                    id += 1;
                }
            }
            core_pod.push(id);
        }
        let ports = |v: u32| out_start[v as usize + 1] - out_start[v as usize];
        let mut switch_of: Vec<u32> = (0..leaves).collect();
        switch_of.extend(pack_switches(
            spine0..core0,
            |v| pod_of_spine[(v - spine0) as usize],
            ports,
            k,
        ));
        switch_of.extend(pack_switches(core0..end, |_| 0, ports, k));
        let mut physical = [0u32; 4];
        for (t, count) in physical.iter_mut().enumerate().skip(1) {
            let tier = [leaf0, spine0, core0, end];
            *count = (tier[t - 1]..tier[t])
                .map(|v| switch_of[(v - leaf0) as usize] + 1)
                .max()
                .unwrap_or(0);
        }
        Fabric {
            spec: spec.clone(),
            tier_start: [0, leaf0, spine0, core0, end],
            leaf_of,
            pod_of_leaf,
            pods,
            leaf_up,
            spine_base,
            pod_of_spine,
            out_start,
            link_dst,
            link_src,
            link_rate: Bandwidth::from_gbit_per_s(spec.link_gbps),
            ep_down,
            up_start,
            core_pod,
            switch_of,
            physical,
        }
    }

    /// Physical switches of tier `t` (1 leaf, 2 spine, 3 core).
    pub fn switches_in_tier(&self, t: usize) -> u32 {
        self.physical.get(t).copied().unwrap_or(0)
    }

    /// Directed links.
    pub fn links(&self) -> usize {
        self.link_dst.len()
    }

    /// Tier of a node.
    pub fn tier(&self, v: u32) -> u8 {
        match v {
            _ if v < self.tier_start[1] => TIER_ENDPOINT,
            _ if v < self.tier_start[2] => TIER_LEAF,
            _ if v < self.tier_start[3] => TIER_SPINE,
            _ => TIER_CORE,
        }
    }

    /// Out-links of node v from u to targets in [lo, hi): a contiguous id range.
    pub fn links_to(&self, u: u32, lo: u32, hi: u32) -> std::ops::Range<u32> {
        let (a, b) = (
            self.out_start[u as usize] as usize,
            self.out_start[u as usize + 1] as usize,
        );
        let t = &self.link_dst[a..b];
        let first = t.partition_point(|&x| x < lo);
        let last = t.partition_point(|&x| x < hi);
        (a + first) as u32..(a + last) as u32
    }

    /// The inventory: counts per tier, transceivers, cables, bisection, diameter.
    pub fn inventory(&self) -> Inventory {
        let s = &self.spec;
        let switches_by_tier: Vec<u64> = (1..=s.tiers as usize)
            .map(|t| u64::from(self.switches_in_tier(t)))
            .collect();
        let mut links_by_tier = vec![0u64; s.tiers as usize];
        for (i, &src) in self.link_src.iter().enumerate() {
            let (a, b) = (self.tier(src), self.tier(self.link_dst[i]));
            if a < b {
                links_by_tier[a as usize] += 1;
            }
        }
        let links: u64 = links_by_tier.iter().sum();
        let switch_links: u64 = links - links_by_tier[0];
        // NIC side: one 400G transceiver per NIC; switch side: 800G twin-port OSFPs carry
        // two 400G links each, so one per two switch ports in use.
        let switch_ports_used = links_by_tier[0] + 2 * switch_links;
        let transceivers = s.endpoints + switch_ports_used.div_ceil(2);
        let rate_tbps = s.link_gbps / 1000.0;
        let mut cap = s.endpoints as f64;
        // Tiers not built (no cores for one pod) do not cut the fabric.
        for &l in links_by_tier[1..].iter().filter(|&&l| l > 0) {
            cap = cap.min(l as f64);
        }
        let bisection_tbps = cap * rate_tbps / 2.0;
        let max_hops_links = if s.endpoints <= 1 {
            0
        } else {
            2 * self.top_tier_needed()
        };
        let oversubscription_built = links_by_tier
            .windows(2)
            .take_while(|w| w[1] > 0)
            .map(|w| w[0] as f64 / w[1] as f64)
            .collect();
        let mut per_pod = vec![0u64; self.pods.max(1) as usize];
        for &l in &self.leaf_of {
            if let Some(n) = self
                .pod_of_leaf
                .get(l as usize)
                .and_then(|&p| per_pod.get_mut(p as usize))
            {
                *n += 1;
            }
        }
        Inventory {
            pods: self.pods.max(1),
            pod_gpus: per_pod.iter().copied().max().unwrap_or(0),
            oversubscription_built,
            gpus: s.endpoints,
            switches: switches_by_tier.iter().sum(),
            switches_by_tier,
            links_by_tier,
            links,
            transceivers,
            cables: links,
            bisection_tbps,
            max_hops_links,
            max_hops_switches: max_hops_links.saturating_sub(1),
        }
    }

    /// The highest tier a path must climb to between the farthest endpoints.
    fn top_tier_needed(&self) -> u32 {
        let leaves = self.tier_start[2] - self.tier_start[1];
        if leaves <= 1 {
            1
        } else if self.pods <= 1 {
            2
        } else {
            3
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_follow_arrays_when_asked() {
        // Plain, radix 16 (8 down): 256 GPUs on 32 leaves; arrays of 4 servers = 4 leaves;
        // a spine takes 8 leaves, so by default pods of 8 leaves straddle 2 arrays.
        let mut s = spec(256, 16, 3, false);
        let default = pod_of_leaves(&s);
        assert_eq!(default, (0..32).map(|l| l / 8).collect::<Vec<u32>>());
        s.arrays_per_pod = Some(1);
        let pods = pod_of_leaves(&s);
        assert_eq!(pods, (0..32).map(|l| l / 4).collect::<Vec<u32>>());
        // Built so, each pod's spines serve its array's leaves alone.
        let f = Fabric::build(&s);
        assert_eq!(f.pods, 8);
        // A spine takes 8 leaves: pods of 2 arrays fit, of 3 (12 leaves) do not.
        s.arrays_per_pod = Some(2);
        assert!(s.validate().is_ok());
        s.arrays_per_pod = Some(3);
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("arrays_per_pod = 3: from 1 to 2"), "{e}");
        // Rail-optimized, radix 32 (16 down): 8 arrays of 4 servers, a leaf per rail, 8
        // leaves an array; by default a spine's 16 leaves make a pod of 2 arrays.
        let mut r = spec(256, 32, 3, true);
        assert_eq!(
            pod_of_leaves(&r),
            (0..64).map(|l| l / 16).collect::<Vec<u32>>()
        );
        r.arrays_per_pod = Some(1);
        assert_eq!(
            pod_of_leaves(&r),
            (0..64).map(|l| l / 8).collect::<Vec<u32>>()
        );
        // Arrays of more leaves than a spine takes are split.
        r.arrays_per_pod = Some(4);
        assert_eq!(
            pod_of_leaves(&r),
            (0..64).map(|l| l / 16).collect::<Vec<u32>>()
        );
    }

    fn spec(n: u64, k: u32, tiers: u32, rail: bool) -> FabricSpec {
        FabricSpec {
            endpoints: n,
            gpus_per_node: 8,
            servers_per_array: 4,
            radix: k,
            link_gbps: 400.0,
            tiers,
            oversubscription: [1.0, 1.0],
            rail_optimized: rail,
            arrays_per_pod: None,
        }
    }

    /// The GPUs a job holds below each tier (what the oversubscription note reads)
    /// agree with the built fabric: a pod's GPUs as its inventory counts them, a plain
    /// leaf's down ports, a rail-optimized array's servers.
    #[test]
    fn gpus_below_tiers_match_the_built_fabric() {
        for rail in [false, true] {
            let s = spec(1024, 32, 3, rail);
            s.validate().unwrap();
            let inv = Fabric::build(&s).inventory();
            assert_eq!(s.gpus_below_tiers().1, inv.pod_gpus, "rail {rail}");
            assert!(inv.pods > 1);
        }
        assert_eq!(spec(32, 8, 2, false).gpus_below_tiers(), (4, 32));
        assert_eq!(spec(64, 16, 2, true).gpus_below_tiers(), (32, 64));
        assert_eq!(spec(8, 64, 1, false).gpus_below_tiers(), (8, 8));
    }

    #[test]
    fn hand_counted_two_tier_tree() {
        // 32 GPUs, radix 8: leaves have 4 down / 4 up. Plain: 8 leaves, 4 spines,
        // 8 x 4 = 32 leaf-spine links, 32 endpoint links.
        let s = spec(32, 8, 2, false);
        s.validate().unwrap();
        let f = Fabric::build(&s);
        let inv = f.inventory();
        assert_eq!(inv.switches_by_tier, vec![8, 4]);
        assert_eq!(inv.links_by_tier, vec![32, 32]);
        assert_eq!(f.links(), 2 * 64);
        assert_eq!(inv.max_hops_links, 4);
        assert_eq!(inv.bisection_tbps, 32.0 * 0.4 / 2.0);
        assert_eq!(s.max_endpoints(), 4 * 8);
        // 512 GPUs, radix 128: 8 leaves of 64 down / 64 up; 64 planes of 8 links each,
        // 16 to a switch: 4 spines, each leaf linking to each by 16 parallel links.
        let f = Fabric::build(&spec(512, 128, 2, false));
        let inv = f.inventory();
        assert_eq!(inv.switches_by_tier, vec![8, 4]);
        assert_eq!(inv.links_by_tier, vec![512, 512]);
        assert_eq!(f.tier_start[3] - f.tier_start[2], 64);
    }

    #[test]
    fn hand_counted_three_tier_tree() {
        // k = 4: k^3/4 = 16 endpoints. Leaves 2 down/2 up: 8 leaves; pods of 2 leaves:
        // 4 pods x 2 spines = 8 spines; cores per plane = ceil(4 x 2 / 4) = 2, 2 planes:
        // 4 cores. Links: 16 + 16 + 16.
        let s = spec(16, 4, 3, false);
        s.validate().unwrap();
        let inv = Fabric::build(&s).inventory();
        assert_eq!(inv.switches_by_tier, vec![8, 8, 4]);
        assert_eq!(inv.links_by_tier, vec![16, 16, 16]);
        assert_eq!(inv.switches, 20);
        assert_eq!(inv.max_hops_links, 6);
        assert_eq!(inv.max_hops_switches, 5);
        assert!(spec(17, 4, 3, false).validate().is_err());
    }

    #[test]
    fn partly_filled_leaves_get_the_uplinks_they_need() {
        // 10 GPUs, radix 8 (4 down, 4 up), plain: leaves of 4, 4 and 2 GPUs with 4, 4
        // and 2 uplinks: 10 leaf-spine links on 4 planes of 3, 3, 2 and 2 links. A
        // radix-8 switch holds the first three (8 ports), a second the last.
        let s = spec(10, 8, 2, false);
        let f = Fabric::build(&s);
        assert_eq!(f.leaf_up, vec![4, 4, 2]);
        assert_eq!(f.tier_start[3] - f.tier_start[2], 4);
        let inv = f.inventory();
        assert_eq!(inv.switches_by_tier, vec![3, 2]);
        assert_eq!(inv.links_by_tier, vec![10, 10]);
        // 3 GPUs on one leaf of a 2-tier radix-8 fabric: 3 uplinks, all to one spine.
        let f = Fabric::build(&spec(3, 8, 2, false));
        assert_eq!(f.inventory().switches_by_tier, vec![1, 1]);
        let leaf_spine = (0..f.links() as u32)
            .map(|r| f.resource_name(r))
            .find(|(tier, _)| *tier == "leaf-spine")
            .unwrap();
        assert_eq!(leaf_spine.1, "leaf 0 -> spine 0 (logical 0)");
        // At 3:1 a leaf of 6 down / 2 up with 4 GPUs needs ceil(4 / 3) = 2 uplinks, with
        // 2 GPUs 1.
        let s = FabricSpec {
            oversubscription: [3.0, 1.0],
            ..spec(10, 8, 2, false)
        };
        assert_eq!(Fabric::build(&s).leaf_up, vec![2, 2]);
        // 3 tiers, radix 4 (2 down, 2 up), 10 GPUs: 5 leaves, pods of 2 leaves: 3 pods,
        // the last with one leaf; 6 spines; plane j has 2 + 2 + 1 = 5 uplinks on
        // ceil(5 / 4) = 2 cores, and the last pod's spine is raised to 2 so both cores
        // reach it: 6 uplinks per plane, 12 spine-core links, 4 cores.
        let f = Fabric::build(&spec(10, 4, 3, false));
        let inv = f.inventory();
        assert_eq!(inv.switches_by_tier, vec![5, 6, 4]);
        assert_eq!(inv.links_by_tier, vec![10, 10, 12]);
    }

    #[test]
    fn rail_optimized_puts_each_rail_on_its_own_leaf() {
        // 8 servers x 8 GPUs, arrays of 4 servers, radix 16 (8 down): one leaf per
        // (array, rail) = 2 x 8 = 16 leaves.
        let s = FabricSpec {
            radix: 16,
            ..spec(64, 16, 2, true)
        };
        s.validate().unwrap();
        let f = Fabric::build(&s);
        assert_eq!(f.tier_start[2] - f.tier_start[1], 16);
        // GPU 3 of servers 0..3 share a leaf; GPU 3 of server 4 is on another (array 1).
        let l = |server: u32, rail: u32| f.leaf_of[(server * 8 + rail) as usize];
        assert_eq!(l(0, 3), l(3, 3));
        assert_ne!(l(0, 3), l(0, 4));
        assert_ne!(l(0, 3), l(4, 3));
        // Leaves are numbered array-major, then rail.
        assert_eq!(l(0, 0), 0);
        assert_eq!(l(0, 1), 1);
        assert_eq!(l(4, 0), 8);
    }

    /// Without rails a leaf takes whole servers: at 4:1 a radix-64 leaf has 51 ports for
    /// GPUs, six servers' worth (48) and 12 uplinks, so 2,048 GPUs make 42 full leaves
    /// and one of four servers, each 4:1, not 40 leaves of 51 GPUs and one of a single
    /// server that every ring crossing it shares two uplinks of.
    #[test]
    fn plain_leaves_hold_whole_servers() {
        let s = FabricSpec {
            oversubscription: [4.0, 1.0],
            ..spec(2048, 64, 2, false)
        };
        s.validate().unwrap();
        assert_eq!(s.leaf_ports().0, 48);
        let f = Fabric::build(&s);
        let inv = f.inventory();
        assert_eq!(inv.switches_by_tier[0], 43);
        assert_eq!(inv.links_by_tier[1], 2048 / 4);
        for server in 0..256u32 {
            let l = f.leaf_of[(server * 8) as usize];
            assert!((1..8).all(|g| f.leaf_of[(server * 8 + g) as usize] == l));
        }
    }

    #[test]
    fn memphis_scale_builds() {
        let s = FabricSpec {
            endpoints: 100_000,
            gpus_per_node: 8,
            servers_per_array: 64,
            radix: 128,
            link_gbps: 400.0,
            tiers: 3,
            oversubscription: [1.0, 1.0],
            rail_optimized: true,
            arrays_per_pod: None,
        };
        s.validate().unwrap();
        let f = Fabric::build(&s);
        let inv = f.inventory();
        // 12,500 servers = 195 arrays of 64 + 20 servers: 195 x 8 + 8 leaves = 1,568.
        assert_eq!(inv.switches_by_tier[0], 1568);
        assert_eq!(inv.links_by_tier[0], 100_000);
        // At 1:1 the leaves have as many uplinks as GPUs attached.
        assert_eq!(inv.links_by_tier[1], 100_000);
        assert!(
            inv.switches > 3800 && inv.switches < 4100,
            "{}",
            inv.switches
        );
        assert!((inv.bisection_tbps - 100_000.0 * 0.4 / 2.0).abs() < 1e-6);
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(spec(0, 8, 2, false)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("fabric.endpoints"));
        assert!(spec(10, 2, 3, false)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("switch_radix"));
        let mut s = spec(10, 8, 2, false);
        s.oversubscription = [0.5, 1.0];
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("oversubscription"));
        let e = spec(10_000, 8, 2, false)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 32 GPUs"), "{e}");
    }
}
