//! Traffic patterns for `fabric-bench`, and their max-min fair rates on the fabric.

use super::routing::Routing;
use super::topology::Fabric;
use crate::error::{Error, Result};
use crate::net::flow::max_min_rates;
use crate::rng::SplitMix64;
use serde::{Deserialize, Serialize};

/// A synthetic traffic pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Pattern {
    /// Each GPU sends to the same-rail GPU of the next server (a ring per rail).
    Ring,
    /// A random cyclic permutation, seeded: every GPU sends to one and receives from one.
    Permutation,
    /// Every GPU sends to every other.
    #[cfg_attr(feature = "clap", value(aliases = ["all_to_all", "alltoall"]))]
    AllToAll,
}

/// Largest all-to-all accepted: n(n-1) flows; 8,192 GPUs (67M flows) peak at 3.9 GB, so
/// 10,000 GPUs (100M flows) stays under about 6 GB.
pub const MAX_ALL_TO_ALL_GPUS: u32 = 10_000;

/// The (src, dst) pairs of a pattern over the first `gpus` endpoints that cross the
/// fabric: pairs on one server ride NVLink, not the NICs, and are left out.
pub fn pattern_pairs(
    pattern: Pattern,
    gpus: u32,
    gpus_per_node: u32,
    seed: u64,
) -> Result<Vec<(u32, u32)>> {
    if gpus < 2 {
        return Err(Error::invalid(
            "-g/--gpus",
            gpus,
            "at least 2 GPUs for a traffic pattern",
        ));
    }
    let mut pairs = match pattern {
        Pattern::Ring => {
            let g = gpus_per_node.max(1);
            let mut pairs = Vec::with_capacity(gpus as usize);
            for rail in 0..g.min(gpus) {
                let members: Vec<u32> = (rail..gpus).step_by(g as usize).collect();
                if members.len() < 2 {
                    continue;
                }
                for (i, &m) in members.iter().enumerate() {
                    pairs.push((m, members[(i + 1) % members.len()]));
                }
            }
            pairs
        }
        Pattern::Permutation => {
            let mut order: Vec<u32> = (0..gpus).collect();
            SplitMix64::new(seed).shuffle(&mut order);
            (0..gpus as usize)
                .map(|i| (order[i], order[(i + 1) % gpus as usize]))
                .collect()
        }
        Pattern::AllToAll => {
            if gpus > MAX_ALL_TO_ALL_GPUS {
                return Err(Error::invalid(
                    "-g/--gpus",
                    gpus,
                    format!("at most {MAX_ALL_TO_ALL_GPUS} for all-to-all (n² flows: memory grows as the square)"),
                ));
            }
            let mut pairs = Vec::with_capacity(gpus as usize * (gpus as usize - 1));
            for s in 0..gpus {
                for d in 0..gpus {
                    if s != d {
                        pairs.push((s, d));
                    }
                }
            }
            pairs
        }
    };
    let g = gpus_per_node.max(1);
    pairs.retain(|&(s, d)| s / g != d / g);
    if pairs.is_empty() {
        return Err(Error::invalid(
            "-g/--gpus",
            gpus,
            format!(
                "GPUs on at least 2 servers ({g} per server): traffic inside a server rides NVLink, not the fabric"
            ),
        ));
    }
    Ok(pairs)
}

/// Rates of one pattern, as fractions of the NIC line rate.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BenchResult {
    /// Flows solved.
    pub flows: usize,
    /// Mean flow rate / line rate.
    pub mean_rate_fraction: f64,
    /// Slowest flow rate / line rate.
    pub min_rate_fraction: f64,
    /// 10th percentile.
    pub p10_rate_fraction: f64,
    /// For all-to-all, each GPU's total send rate / line rate, averaged; else = mean.
    pub mean_injection_fraction: f64,
}

/// Routes and solves a pattern.
pub fn run_pattern(
    fabric: &Fabric,
    pairs: &[(u32, u32)],
    routing: Routing,
    seed: u64,
) -> BenchResult {
    let rf = fabric.route(routing, pairs, seed);
    let rate = max_min_rates(&rf, None);
    let line = fabric.link_rate.0;
    let mut frac: Vec<f64> = rate.iter().map(|r| r / line).collect();
    let n = frac.len().max(1) as f64;
    let mean = frac.iter().sum::<f64>() / n;
    let mut sent = vec![0.0f64; fabric.spec.endpoints as usize];
    for (i, &(s, _)) in pairs.iter().enumerate() {
        sent[s as usize] += frac[i];
    }
    let senders: Vec<f64> = sent.into_iter().filter(|&x| x > 0.0).collect();
    let injection = senders.iter().sum::<f64>() / senders.len().max(1) as f64;
    let min = frac.iter().copied().fold(f64::INFINITY, f64::min);
    let tenth = frac.len() / 10;
    let p10 = if frac.is_empty() {
        0.0
    } else {
        *frac.select_nth_unstable_by(tenth, f64::total_cmp).1
    };
    BenchResult {
        flows: pairs.len(),
        mean_rate_fraction: mean,
        min_rate_fraction: if min.is_finite() { min } else { 0.0 },
        p10_rate_fraction: p10,
        mean_injection_fraction: injection,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::FabricSpec;

    fn tree(n: u64, k: u32) -> Fabric {
        let s = FabricSpec {
            endpoints: n,
            gpus_per_node: 8,
            servers_per_array: k / 2,
            radix: k,
            link_gbps: 400.0,
            tiers: 3,
            oversubscription: [1.0, 1.0],
            rail_optimized: true,
            arrays_per_pod: None,
        };
        s.validate().unwrap();
        Fabric::build(&s)
    }

    #[test]
    fn patterns_are_well_formed() {
        let ring = pattern_pairs(Pattern::Ring, 64, 8, 0).unwrap();
        assert_eq!(ring.len(), 64);
        assert!(ring.iter().all(|&(s, d)| s % 8 == d % 8 && s != d));
        let perm = pattern_pairs(Pattern::Permutation, 100, 8, 3).unwrap();
        let mut dsts: Vec<u32> = perm.iter().map(|p| p.1).collect();
        dsts.sort();
        dsts.dedup();
        assert_eq!(dsts.len(), perm.len());
        assert!(perm.len() > 90 && perm.iter().all(|&(s, d)| s / 8 != d / 8));
        // 10 GPUs on 8-GPU servers: 90 pairs, less the 8 x 7 + 2 x 1 on one server.
        assert_eq!(
            pattern_pairs(Pattern::AllToAll, 10, 8, 0).unwrap().len(),
            32
        );
        assert!(pattern_pairs(Pattern::Ring, 1, 8, 0).is_err());
        // One server: nothing crosses the fabric.
        assert!(pattern_pairs(Pattern::AllToAll, 8, 8, 0).is_err());
    }

    #[test]
    fn adaptive_spraying_runs_a_permutation_at_line_rate_and_ecmp_does_not() {
        let f = tree(4096, 32);
        let pairs = pattern_pairs(Pattern::Permutation, 4096, 8, 1).unwrap();
        let adaptive = run_pattern(&f, &pairs, Routing::Adaptive, 1);
        let ecmp = run_pattern(&f, &pairs, Routing::Ecmp, 1);
        assert!(adaptive.mean_rate_fraction > 0.999, "{adaptive:?}");
        assert!(ecmp.mean_rate_fraction < 0.8, "{ecmp:?}");
        assert!(ecmp.min_rate_fraction < adaptive.min_rate_fraction);
    }

    #[test]
    fn all_to_all_is_bounded_by_the_nic() {
        let f = tree(256, 16);
        let pairs = pattern_pairs(Pattern::AllToAll, 256, 8, 0).unwrap();
        let r = run_pattern(&f, &pairs, Routing::Adaptive, 0);
        assert!((r.mean_injection_fraction - 1.0).abs() < 1e-9, "{r:?}");
    }
}
