//! One synthetic traffic pattern on a cluster's fabric (`memphis fabric-bench`): the
//! max-min fair rate of every flow, as a fraction of the NIC line rate.

use crate::error::{Error, Result};
use crate::fabric::bench::{pattern_pairs, run_pattern, BenchResult, Pattern};
use crate::fabric::{Fabric, Routing};
use crate::scenario::ClusterSpec;
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct FabricBenchOptions {
    /// The traffic pattern.
    pub pattern: Pattern,
    /// GPUs taking part, the first N of the cluster (default: all).
    pub gpus: Option<u64>,
    /// How flows use the equal-cost paths.
    pub routing: Routing,
    /// Seed of the permutation and of the ECMP hash.
    pub seed: u64,
}

impl FabricBenchOptions {
    /// `pattern` on the whole cluster, ECMP routing, seed 1 (the command's defaults).
    pub fn new(pattern: Pattern) -> FabricBenchOptions {
        FabricBenchOptions {
            pattern,
            gpus: None,
            routing: Routing::Ecmp,
            seed: 1,
        }
    }
}

/// The rates of one pattern. Deterministic: the same cluster and options give the same
/// report, bit for bit (no wall time or memory figures in it).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FabricBenchReport {
    /// The pattern.
    pub pattern: Pattern,
    /// GPUs taking part.
    pub gpus: u64,
    /// The routing.
    pub routing: Routing,
    /// The cluster's name.
    pub cluster: String,
    /// The seed.
    pub seed: u64,
    /// Flows and their rates.
    #[serde(flatten)]
    pub rates: BenchResult,
}

/// Routes the pattern on the cluster's fabric and solves the max-min fair rates.
pub fn run(c: &ClusterSpec, o: &FabricBenchOptions) -> Result<FabricBenchReport> {
    let gpus = o.gpus.unwrap_or(c.gpus);
    // Traffic inside a server rides NVLink: the fabric needs GPUs on two servers.
    let least = u64::from(c.gpus_per_node) + 1;
    if gpus < least || gpus > c.gpus {
        let allowed = if least > c.gpus {
            format!(
                "none: the cluster's {} GPUs share one server, whose traffic rides NVLink, not the fabric",
                c.gpus
            )
        } else {
            format!(
                "from {least} (more than one server's {}: traffic within a server rides NVLink, not the fabric) to the cluster's {} GPUs",
                c.gpus_per_node,
                crate::text::grouped(c.gpus)
            )
        };
        return Err(Error::invalid("-g/--gpus", gpus, allowed));
    }
    let n = u32::try_from(gpus).map_err(|_| Error::invalid("-g/--gpus", gpus, "below 2^32"))?;
    let pairs = pattern_pairs(o.pattern, n, c.gpus_per_node, o.seed)?;
    let fabric = Fabric::build(&c.fabric_spec);
    let rates = run_pattern(&fabric, &pairs, o.routing, o.seed);
    Ok(FabricBenchReport {
        pattern: o.pattern,
        gpus,
        routing: o.routing,
        cluster: c.name.clone(),
        seed: o.seed,
        rates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::preset;

    #[test]
    fn a_ring_on_dgx_h100_runs_at_line_rate_every_time() {
        let c = preset("dgx-h100").unwrap();
        let o = FabricBenchOptions {
            gpus: Some(8192),
            ..FabricBenchOptions::new(Pattern::Ring)
        };
        let r = run(&c, &o).unwrap();
        assert_eq!(
            (r.gpus, r.rates.flows, r.cluster.as_str()),
            (8192, 8192, "dgx-h100")
        );
        assert!(r.rates.min_rate_fraction > 0.99, "{r:?}");
        assert_eq!(run(&c, &o).unwrap(), r);
    }

    #[test]
    fn json_keys_are_the_commands() {
        let c = preset("dgx-a100").unwrap();
        let o = FabricBenchOptions {
            gpus: Some(256),
            routing: Routing::Adaptive,
            ..FabricBenchOptions::new(Pattern::Permutation)
        };
        let v = serde_json::to_value(run(&c, &o).unwrap()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "pattern",
            "gpus",
            "routing",
            "cluster",
            "seed",
            "flows",
            "mean_rate_fraction",
            "min_rate_fraction",
            "p10_rate_fraction",
            "mean_injection_fraction",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(v["pattern"], "permutation");
        assert_eq!(v["routing"], "adaptive");
    }

    #[test]
    fn gpus_out_of_range_are_refused() {
        let c = preset("dgx-a100").unwrap();
        for g in [0, 1, 8, 4481] {
            let o = FabricBenchOptions {
                gpus: Some(g),
                ..FabricBenchOptions::new(Pattern::Ring)
            };
            let e = run(&c, &o).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "-g/--gpus = {g}: from 9 (more than one server's 8: traffic within a server rides NVLink, not the fabric) to the cluster's 4,480 GPUs"
                )),
                "{e}"
            );
        }
        let o = FabricBenchOptions::new(Pattern::AllToAll);
        let e = run(&preset("dgx-h100").unwrap(), &o)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 10000 for all-to-all"), "{e}");
    }
}
