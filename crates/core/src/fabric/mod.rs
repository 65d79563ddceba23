//! The scale-out fabric: a multi-tier fat-tree (leaf, spine, core), rail-optimized or
//! plain, built as a compact graph (CSR, u32 ids), with up-down routing by ECMP hashing
//! or adaptive spraying.
//!
//! # Counting (radix k at endpoint speed, tier oversubscription o = down/up)
//!
//! - Leaf: d1 = floor(k·o1/(1+o1)) endpoint ports, u1 = k − d1 uplinks.
//!   Rail-optimized: the servers of an array (`servers_per_array`) put their GPU r on the
//!   leaves of rail r of that array: ceil(S_a/d1) leaves per (array, rail). Plain: the
//!   endpoints fill leaves in order, d1 each. L1 = number of leaves.
//! - Spine (3 tiers): d2 = floor(k·o2/(1+o2)) leaf ports, u2 = k − d2 uplinks. Leaves are
//!   grouped in pods of d2 (or, with `arrays_per_pod`, in pods of that many whole arrays,
//!   an array of more than d2 leaves split in pods of d2); each pod has u1 spines and every
//!   leaf of the pod links once to each: pods = ceil(L1/d2) by default, L2 = pods·u1
//!   spines, leaf-spine links = L1·u1.
//! - Core (3 tiers): spine j of every pod belongs to plane j; plane j has
//!   C = ceil(pods·u2/k) cores and spine uplink i goes to core i mod C of its plane:
//!   L3 = u1·C cores, spine-core links = L2·u2.
//! - 2 tiers: the spines are the top (all k ports down): u1 spines, L1 ≤ k.
//! - 1 tier: one switch, N ≤ k.
//!
//! Maximum endpoints: 1 tier k; 2 tiers d1·k; 3 tiers d1·d2·k (k³/4 when non-blocking).
//! Bisection bandwidth: half of the smallest per-tier capacity,
//! min(N, L1·u1, L2·u2)·rate/2.

pub mod bench;
pub mod routing;
pub mod topology;

pub use crate::net::flow::{max_min_rates, RoutedFlows};
pub use routing::Routing;
pub use topology::{Fabric, Inventory};

use crate::error::{Error, Result};
use serde::Serialize;

/// What to build.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FabricSpec {
    /// Endpoints (GPUs, one NIC each).
    pub endpoints: u64,
    /// GPUs per server: the rails.
    pub gpus_per_node: u32,
    /// Servers per array, the first-tier unit of a rail-optimized fabric.
    pub servers_per_array: u32,
    /// Switch ports at endpoint speed (SN5600: 64 x 800G = 128 x 400G).
    pub radix: u32,
    /// Endpoint link speed, Gb/s.
    pub link_gbps: f64,
    /// Switch tiers: 1, 2 or 3.
    pub tiers: u32,
    /// Oversubscription (down/up) of the leaf and spine tiers.
    pub oversubscription: [f64; 2],
    /// Rail-optimized (GPU r of every server on rail r's leaves) or plain.
    pub rail_optimized: bool,
    /// Three tiers: whole arrays under one set of spines (a pod), the tier above joining
    /// pods; None: pods of as many leaves as a spine takes, whatever the arrays.
    pub arrays_per_pod: Option<u32>,
}

/// Largest fabric accepted, to keep ids in u32 and memory bounded.
pub const MAX_ENDPOINTS: u64 = 4_000_000;

/// Most switch tiers a fabric is built with.
pub const MAX_TIERS: u32 = 3;

impl FabricSpec {
    /// Leaf down ports d1 and uplinks u1 (u1 = 0 for a single tier). Without rails all
    /// of a server's NICs go to its leaf, so a leaf with room for a server takes whole
    /// servers: the ports the ratio leaves over a multiple of gpus_per_node stay unused,
    /// rather than a server straddling two leaves and a last leaf of a few GPUs.
    pub fn leaf_ports(&self) -> (u32, u32) {
        if self.tiers == 1 {
            return (self.radix, 0);
        }
        let (down, up) = split_ports(self.radix, self.oversubscription[0]);
        let g = self.gpus_per_node.max(1);
        if !self.rail_optimized && down >= g {
            return (down / g * g, up);
        }
        (down, up)
    }

    /// Spine down ports d2 and uplinks u2 (u2 = 0 when the spine is the top tier).
    pub fn spine_ports(&self) -> (u32, u32) {
        match self.tiers {
            3 => split_ports(self.radix, self.oversubscription[1]),
            _ => (self.radix, 0),
        }
    }

    /// The GPUs a job placed from GPU 0 can hold before its traffic crosses each
    /// oversubscribable tier: (under one leaf, under one pod). A rail-optimized array
    /// keeps each rail's traffic in its leaf while its servers fill that leaf's ports
    /// (the first leaf of a rail takes the array's first d1 servers); a pod, in its
    /// spines. One tier: the whole fabric.
    pub fn gpus_below_tiers(&self) -> (u64, u64) {
        if self.tiers <= 1 {
            return (self.endpoints, self.endpoints);
        }
        let g = u64::from(self.gpus_per_node.max(1));
        let d1 = u64::from(self.leaf_ports().0.max(1));
        // GPUs on one leaf, and under the leaves one job reaches before going up: a
        // rail's leaf takes its array's servers (while they fit its ports), all rails
        // of the array side by side.
        let (per_leaf, leaf) = if self.rail_optimized {
            let servers = u64::from(self.servers_per_array.max(1)).min(d1);
            (servers, servers * g)
        } else {
            (d1, d1)
        };
        let pod = match self.tiers {
            3 => {
                let leaves = topology::pod_of_leaves(self);
                leaves.iter().take_while(|&&p| p == 0).count() as u64 * per_leaf
            }
            _ => self.endpoints,
        };
        (leaf.min(self.endpoints), pod.min(self.endpoints))
    }

    /// The most endpoints this radix, tier count and oversubscription can attach.
    pub fn max_endpoints(&self) -> u64 {
        let k = u64::from(self.radix);
        let (d1, _) = self.leaf_ports();
        let (d2, _) = self.spine_ports();
        match self.tiers {
            1 => k,
            2 => u64::from(d1) * k,
            _ => u64::from(d1) * u64::from(d2) * k,
        }
    }

    /// Checks the spec; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.endpoints == 0 {
            return Err(Error::invalid("fabric.endpoints", 0, "at least 1 GPU"));
        }
        if self.endpoints > MAX_ENDPOINTS {
            return Err(Error::invalid(
                "fabric.endpoints",
                self.endpoints,
                format!("at most {MAX_ENDPOINTS}"),
            ));
        }
        if !(1..=MAX_TIERS).contains(&self.tiers) {
            return Err(Error::invalid(
                "cluster.tiers",
                self.tiers,
                "1, 2 or 3 switch tiers",
            ));
        }
        for (i, o) in self.oversubscription.iter().enumerate() {
            if !(o.is_finite() && *o >= 1.0 && *o <= 64.0) {
                let name = if i == 0 {
                    "cluster.oversubscription[0] (leaf)"
                } else {
                    "cluster.oversubscription[1] (spine)"
                };
                return Err(Error::invalid(
                    name,
                    o,
                    "a ratio from 1 (non-blocking) to 64",
                ));
            }
        }
        let min_radix = if self.tiers == 1 { 2 } else { 4 };
        if self.radix < min_radix || self.radix > 4096 {
            return Err(Error::invalid(
                "cluster.switch_radix",
                self.radix,
                format!(
                    "{min_radix} to 4096 ports at endpoint speed for {} tier(s)",
                    self.tiers
                ),
            ));
        }
        let (d1, u1) = self.leaf_ports();
        let (d2, _) = self.spine_ports();
        if d1 == 0 || (self.tiers > 1 && u1 == 0) || (self.tiers == 3 && d2 == 0) {
            return Err(Error::invalid(
                "cluster.switch_radix",
                self.radix,
                "enough ports for both endpoint and uplink ports at this oversubscription",
            ));
        }
        if !(self.link_gbps.is_finite() && self.link_gbps > 0.0) {
            return Err(Error::invalid(
                "cluster.nic_gbps",
                self.link_gbps,
                "a positive link rate in Gb/s",
            ));
        }
        if self.gpus_per_node == 0 || self.servers_per_array == 0 {
            return Err(Error::invalid(
                "cluster.gpus_per_node",
                self.gpus_per_node,
                "at least 1",
            ));
        }
        if let Some(a) = self.arrays_per_pod.filter(|_| self.tiers == 3) {
            // A pod's spines link once to each of its leaves: a pod of `a` arrays must
            // fit a spine's leaf ports, and a core must reach every pod.
            let (most, per_array) = topology::pod_leaves(self);
            let (d2, _) = self.spine_ports();
            let pods = topology::pod_of_leaves(self).last().map_or(0, |&p| p + 1);
            let fit = d2 / per_array.max(1);
            if a == 0 || most > d2 || pods > self.radix {
                let allowed = if fit == 0 {
                    format!("none fits: an array's {per_array} leaves are more than a spine's {d2} leaf ports (fewer racks per array, or leave arrays_per_pod unset)")
                } else if most > d2 || a == 0 {
                    format!("from 1 to {fit}: a pod's leaves ({most} here, {per_array} an array) must fit a spine's {d2} leaf ports")
                } else {
                    format!(
                        "more arrays a pod: {pods} pods are more than a core switch's {} ports reach",
                        self.radix
                    )
                };
                return Err(Error::invalid("cluster.arrays_per_pod", a, allowed));
            }
        }
        let max = self.max_endpoints();
        if self.endpoints > max {
            return Err(Error::invalid(
                "cluster.gpus",
                self.endpoints,
                format!(
                    "at most {max} GPUs: a {}-tier fat-tree of radix {} attaches no more (raise {})",
                    self.tiers,
                    self.radix,
                    if self.tiers < MAX_TIERS {
                        "the radix or the tier count"
                    } else {
                        "the radix: 3 tiers is the most memphis builds"
                    }
                ),
            ));
        }
        // Rail-optimized: each (array, rail) needs its own leaves; that must also fit.
        if self.rail_optimized && self.tiers > 1 {
            let leaves = topology::leaf_count(self);
            let cap = match self.tiers {
                2 => u64::from(self.radix),
                _ => u64::from(d2) * u64::from(self.radix),
            };
            if leaves > cap {
                return Err(Error::invalid(
                    "cluster.gpus",
                    self.endpoints,
                    format!("fewer GPUs: the rail-optimized layout needs {leaves} leaves, the fabric holds {cap}"),
                ));
            }
        }
        Ok(())
    }
}

fn split_ports(k: u32, o: f64) -> (u32, u32) {
    let down = ((k as f64) * o / (1.0 + o)).floor() as u32;
    (down, k - down)
}
