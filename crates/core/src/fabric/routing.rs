//! Up-down routing on the fat-tree, from tree coordinates (no all-pairs search).
//!
//! - ECMP: at each upward hop a deterministic hash of the flow's identity picks one of
//!   the equal-cost links, for the whole flow, as a switch hashing the 5-tuple does.
//! - Adaptive (packet spraying, Spectrum-X): a flow spreads evenly over all its
//!   equal-cost paths. In the fluid limit that is the same as sharing pooled resources:
//!   the uplinks of the source leaf, the uplinks of the source pod's spines, the
//!   core-to-spine links into the destination pod, and the spine-to-leaf links into the
//!   destination leaf. Each pool's capacity is the sum of its links'.

use super::topology::Fabric;
use crate::net::flow::RoutedFlows;
use crate::rng::flow_hash;
use serde::{Deserialize, Serialize};

/// How flows pick among equal-cost paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// One hashed path per flow.
    Ecmp,
    /// Spread over all equal-cost paths.
    Adaptive,
}

/// Ids of the pooled resources of adaptive routing, after the links.
struct Pools {
    leaf_up: u32,
    leaf_down: u32,
    pod_up: u32,
    pod_down: u32,
}

impl Fabric {
    /// Routes `(src, dst)` endpoint pairs. `salt` varies the ECMP hash (a new set of
    /// queue pairs); it does not matter for adaptive routing.
    pub fn route(&self, routing: Routing, pairs: &[(u32, u32)], salt: u64) -> RoutedFlows {
        let rate = self.link_rate.0;
        let links = self.links() as u32;
        let leaves = self.tier_start[2] - self.tier_start[1];
        let pools = self.pools();
        let mut capacity = vec![rate; links as usize];
        if routing == Routing::Adaptive {
            capacity.resize((links + 2 * leaves + 2 * self.pods) as usize, 0.0);
            for (&s, &d) in self.link_src.iter().zip(&self.link_dst) {
                let (ts, td) = (self.tier(s), self.tier(d));
                let pool = match (ts, td) {
                    (1, 2) => Some(pools.leaf_up + (s - self.tier_start[1])),
                    (2, 1) => Some(pools.leaf_down + (d - self.tier_start[1])),
                    (2, 3) => Some(pools.pod_up + self.pod_of_spine(s)),
                    (3, 2) => Some(pools.pod_down + self.pod_of_spine(d)),
                    _ => None,
                };
                if let Some(p) = pool {
                    capacity[p as usize] += rate;
                }
            }
        }
        let mut path_start = Vec::with_capacity(pairs.len() + 1);
        let mut path = Vec::with_capacity(pairs.len() * 6);
        path_start.push(0);
        for &(src, dst) in pairs {
            match routing {
                Routing::Ecmp => self.ecmp_path(src, dst, salt, &mut path),
                Routing::Adaptive => self.adaptive_path(src, dst, &pools, &mut path),
            }
            // At most 6 resources per flow; route() callers bound the flow count (see
            // bench::MAX_ALL_TO_ALL_GPUS), so this cannot overflow.
            path_start.push(u32::try_from(path.len()).expect("fewer than 2^32 path entries"));
        }
        RoutedFlows {
            capacity,
            path_start,
            path,
        }
    }

    /// Where adaptive routing's pooled resources start (after the links).
    fn pools(&self) -> Pools {
        let links = self.links() as u32;
        let leaves = self.tier_start[2] - self.tier_start[1];
        Pools {
            leaf_up: links,
            leaf_down: links + leaves,
            pod_up: links + 2 * leaves,
            pod_down: links + 2 * leaves + self.pods,
        }
    }

    /// A resource of [`Fabric::route`]'s output by tier and name: a link
    /// (`("leaf-spine", "leaf 3 -> spine 17")`, switches numbered within their tier) or,
    /// with adaptive routing, a pool (`("spine-core", "pod 2 up (pool)")`).
    pub fn resource_name(&self, r: u32) -> (&'static str, String) {
        const NAMES: [&str; 4] = ["gpu", "leaf", "spine", "core"];
        let tier = self.resource_tier(r);
        if (r as usize) < self.links() {
            let (s, d) = (self.link_src[r as usize], self.link_dst[r as usize]);
            let (ts, td) = (self.tier(s), self.tier(d));
            // A switch holding several of the graph's spines (or cores) is named with
            // the one the link belongs to.
            let at = |v: u32, t: u8| {
                let logical = v - self.tier_start[t as usize];
                let t = usize::from(t);
                if t == 0 {
                    return format!("gpu {logical}");
                }
                let physical = self.switch_of[(v - self.tier_start[1]) as usize];
                let logical_count = self.tier_start[t + 1] - self.tier_start[t];
                if self.switches_in_tier(t) == logical_count {
                    format!("{} {logical}", NAMES[t])
                } else {
                    format!("{} {physical} (logical {logical})", NAMES[t])
                }
            };
            return (tier, format!("{} -> {}", at(s, ts), at(d, td)));
        }
        let p = self.pools();
        let name = match r {
            _ if r < p.leaf_down => format!("leaf {} up (pool)", r - p.leaf_up),
            _ if r < p.pod_up => format!("leaf {} down (pool)", r - p.leaf_down),
            _ if r < p.pod_down => format!("pod {} up (pool)", r - p.pod_up),
            _ => format!("pod {} down (pool)", r - p.pod_down),
        };
        (tier, name)
    }

    /// The tier of [`Self::resource_name`] alone, without building the name (counted per
    /// resource of every fabric solve).
    pub fn resource_tier(&self, r: u32) -> &'static str {
        if (r as usize) < self.links() {
            let (s, d) = (self.link_src[r as usize], self.link_dst[r as usize]);
            let (ts, td) = (self.tier(s), self.tier(d));
            return match ts.min(td) {
                0 => "gpu-leaf",
                1 => "leaf-spine",
                _ => "spine-core",
            };
        }
        if r < self.pools().pod_up {
            "leaf-spine"
        } else {
            "spine-core"
        }
    }

    fn pod_of_spine(&self, s: u32) -> u32 {
        self.pod_of_spine[(s - self.tier_start[2]) as usize]
    }

    fn ecmp_path(&self, src: u32, dst: u32, salt: u64, out: &mut Vec<u32>) {
        if src == dst {
            return;
        }
        let [_, leaf0, spine0, _, _] = self.tier_start;
        let (ls, ld) = (self.leaf_of[src as usize], self.leaf_of[dst as usize]);
        out.push(self.out_start[src as usize]); // an endpoint's only link: to its leaf
        if ls != ld {
            let (ps, pd) = (self.pod_of_leaf[ls as usize], self.pod_of_leaf[ld as usize]);
            // Plane j must reach both leaves: a partly filled leaf has fewer uplinks.
            let planes = self.leaf_up[ls as usize].min(self.leaf_up[ld as usize]);
            let j = (flow_hash(src, dst, salt, 1) % u64::from(planes)) as u32;
            out.push(self.up_start[(leaf0 + ls) as usize] + j);
            let spine_s = spine0 + self.spine_base[ps as usize] + j;
            let spine_d = spine0 + self.spine_base[pd as usize] + j;
            if ps != pd {
                let first = self.up_start[spine_s as usize];
                let ups = self.out_start[spine_s as usize + 1] - first;
                let up = first + (flow_hash(src, dst, salt, 2) % u64::from(ups)) as u32;
                out.push(up);
                let core = self.link_dst[up as usize] - self.tier_start[3];
                let row = (core * (self.pods + 1) + pd) as usize;
                let (a, b) = (self.core_pod[row], self.core_pod[row + 1]);
                out.push(a + (flow_hash(src, dst, salt, 3) % u64::from(b - a)) as u32);
            }
            out.push(self.links_to(spine_d, leaf0 + ld, leaf0 + ld + 1).start);
        }
        out.push(self.ep_down[dst as usize]);
    }

    fn adaptive_path(&self, src: u32, dst: u32, pools: &Pools, out: &mut Vec<u32>) {
        if src == dst {
            return;
        }
        let (ls, ld) = (self.leaf_of[src as usize], self.leaf_of[dst as usize]);
        out.push(self.out_start[src as usize]);
        if ls != ld {
            out.push(pools.leaf_up + ls);
            let (ps, pd) = (self.pod_of_leaf[ls as usize], self.pod_of_leaf[ld as usize]);
            if ps != pd {
                out.push(pools.pod_up + ps);
                out.push(pools.pod_down + pd);
            }
            out.push(pools.leaf_down + ld);
        }
        out.push(self.ep_down[dst as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::FabricSpec;

    fn fabric() -> Fabric {
        fabric_of(16)
    }

    fn fabric_of(endpoints: u64) -> Fabric {
        let s = FabricSpec {
            endpoints,
            gpus_per_node: 1,
            servers_per_array: 1,
            radix: 4,
            link_gbps: 400.0,
            tiers: 3,
            oversubscription: [1.0, 1.0],
            rail_optimized: false,
            arrays_per_pod: None,
        };
        s.validate().unwrap();
        Fabric::build(&s)
    }

    #[test]
    fn ecmp_paths_are_connected_up_down_paths() {
        // Full, and partly filled (leaves, pods and spines with fewer links).
        for n in [16u32, 13, 10, 7] {
            ecmp_paths_connect(&fabric_of(u64::from(n)), n);
        }
    }

    fn ecmp_paths_connect(f: &Fabric, n: u32) {
        for src in 0..n {
            for dst in 0..n {
                if src == dst {
                    continue;
                }
                for salt in 0..8 {
                    let r = f.route(Routing::Ecmp, &[(src, dst)], salt);
                    let p = r.resources(0);
                    assert_eq!(f.link_src[p[0] as usize], src);
                    assert_eq!(f.link_dst[*p.last().unwrap() as usize], dst);
                    for w in p.windows(2) {
                        assert_eq!(
                            f.link_dst[w[0] as usize], f.link_src[w[1] as usize],
                            "{src}->{dst}: {p:?}"
                        );
                    }
                    let same_leaf = f.leaf_of[src as usize] == f.leaf_of[dst as usize];
                    let same_pod = f.pod_of_leaf[f.leaf_of[src as usize] as usize]
                        == f.pod_of_leaf[f.leaf_of[dst as usize] as usize];
                    let expect = if same_leaf {
                        2
                    } else if same_pod {
                        4
                    } else {
                        6
                    };
                    assert_eq!(p.len(), expect);
                }
            }
        }
    }

    #[test]
    fn ecmp_is_deterministic_and_salted() {
        let f = fabric();
        let pairs: Vec<(u32, u32)> = (0..16).map(|i| (i, 15 - i)).collect();
        let a = f.route(Routing::Ecmp, &pairs, 1);
        let b = f.route(Routing::Ecmp, &pairs, 1);
        assert_eq!(a.path, b.path);
        let differs = (2..50).any(|salt| f.route(Routing::Ecmp, &pairs, salt).path != a.path);
        assert!(differs);
    }

    #[test]
    fn adaptive_pools_sum_their_links() {
        let f = fabric();
        let r = f.route(Routing::Adaptive, &[(0, 15)], 0);
        let p = r.resources(0);
        assert_eq!(p.len(), 6);
        let rate = f.link_rate.0;
        // leaf-up pool: 2 uplinks; pod-up pool: 2 spines x 2 uplinks.
        assert_eq!(r.capacity[p[1] as usize], 2.0 * rate);
        assert_eq!(r.capacity[p[2] as usize], 4.0 * rate);
    }

    #[test]
    fn resources_are_named_by_tier_and_switch() {
        let f = fabric();
        // Endpoints 0 and 15 are in different pods: every tier is crossed.
        let e = f.route(Routing::Ecmp, &[(0, 15)], 1);
        let names: Vec<_> = e.resources(0).iter().map(|&r| f.resource_name(r)).collect();
        let tiers: Vec<&str> = names.iter().map(|n| n.0).collect();
        assert_eq!(
            tiers,
            [
                "gpu-leaf",
                "leaf-spine",
                "spine-core",
                "spine-core",
                "leaf-spine",
                "gpu-leaf"
            ]
        );
        assert!(names[0].1.starts_with("gpu 0 -> leaf "), "{names:?}");
        assert!(
            names[2].1.starts_with("spine ") && names[2].1.contains("-> core "),
            "{names:?}"
        );
        let a = f.route(Routing::Adaptive, &[(0, 15)], 1);
        let pools: Vec<String> = a
            .resources(0)
            .iter()
            .map(|&r| f.resource_name(r).1)
            .collect();
        assert_eq!(pools[1], "leaf 0 up (pool)");
        assert!(
            pools[2].ends_with("up (pool)") && pools[3].ends_with("down (pool)"),
            "{pools:?}"
        );
        assert_eq!(pools[2], "pod 0 up (pool)");
    }
}
