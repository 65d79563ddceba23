//! `memphis cluster`: the inventory of a cluster and its fabric. Also the `--cluster`
//! argument that the cluster commands (cluster, fabric-bench, collective) share.

use crate::cli::ClusterArgs;
use crate::errors::CliResult;
use crate::sinks::format::count;
use crate::{input, sinks};
use memphis_core::api::cluster::{self as api, ClusterReport, DEFAULT_CLUSTER};
use memphis_core::scenario::ClusterSpec;
use std::fmt::Write;

pub fn run(a: ClusterArgs) -> CliResult {
    sinks::report(&report(&a)?, a.json, a.output.as_deref(), render)
}

/// The report `cluster` shows, without writing it.
pub fn report(a: &ClusterArgs) -> CliResult<ClusterReport> {
    // The positional argument is checked even when --cluster replaces it.
    let positional = a.scenario.as_deref().map(scenario_cluster).transpose()?;
    let c = match (&a.cluster, positional) {
        (Some(arg), _) => cluster_arg(arg)?,
        (None, Some(c)) => c,
        (None, None) => cluster_arg(DEFAULT_CLUSTER)?,
    };
    let r = api::cluster_report(&c);
    if let Some(note) = api::ratio_off_as_built(&r) {
        sinks::note(&note);
    }
    Ok(r)
}

/// The positional argument: a scenario (preset or file) whose cluster to take, or, for
/// a name that is no scenario preset, a cluster preset (`memphis cluster dgx-h100`).
fn scenario_cluster(arg: &str) -> CliResult<ClusterSpec> {
    match input::scenario_arg(Some(arg)) {
        Ok(Some(mut sf)) => match input::section_files(&mut sf, Some(arg), (true, true))?.cluster {
            Some(file) => Ok(file.validate("cluster")?),
            None => Ok(api::from_scenario(sf)?),
        },
        Ok(None) => cluster_arg(DEFAULT_CLUSTER),
        Err(e) => api::preset(arg).map_err(|_| e),
    }
}

/// A `--cluster` argument: a preset name, or a TOML file holding a cluster's fields (a
/// scenario's `[cluster]` section at top level, like `presets/clusters/*.toml`).
pub fn cluster_arg(arg: &str) -> CliResult<ClusterSpec> {
    let c = match input::cluster_file_arg(arg)? {
        Some(file) => file.validate("cluster")?,
        None => api::preset(arg)?,
    };
    for w in api::oversized_domain(&c)
        .into_iter()
        .chain(api::unbuilt_ratio(&c))
    {
        crate::sinks::note(&w);
    }
    Ok(c)
}

pub use memphis_core::serde_name;

fn render(r: &ClusterReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "cluster {}", r.name);
    let _ = writeln!(o, "  GPUs          {} x {}", count(r.gpus), r.gpu);
    let last = r.gpus % u64::from(r.gpus_per_node.max(1));
    let _ = writeln!(
        o,
        "  servers       {} ({} GPUs each{})",
        count(r.nodes),
        r.gpus_per_node,
        if last > 0 {
            format!("; the last holds {last}")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "  racks         {} ({} server{} each)",
        count(r.racks),
        r.nodes_per_rack,
        if r.nodes_per_rack == 1 { "" } else { "s" }
    );
    // One array, partly filled: its size as configured is not what it holds.
    let arrays = if r.arrays == 1 && r.racks < u64::from(r.racks_per_array) {
        format!(
            "1 ({} racks of the {} an array holds)",
            count(r.racks),
            r.racks_per_array
        )
    } else {
        format!("{} ({} racks each)", count(r.arrays), r.racks_per_array)
    };
    let _ = writeln!(o, "  arrays        {arrays}");
    // Tiers the size does not need are not built (`not built` below says why).
    let built = r.switches_by_tier.iter().filter(|&&n| n > 0).count() as u32;
    let tiers = if built > 0 && built < r.tiers {
        format!("{built}-tier as built (tiers = {})", r.tiers)
    } else {
        format!("{}-tier", r.tiers)
    };
    let _ = writeln!(
        o,
        "\nfabric: {} {tiers} {} fat-tree, radix {} x {:.0}G, {}{}",
        r.fabric.display_name(),
        if r.rail_optimized {
            "rail-optimized"
        } else {
            "plain"
        },
        r.radix,
        r.nic_gbps,
        oversubscription(r),
        if r.sharp {
            ", SHARP (in-network reduction)"
        } else {
            ""
        }
    );
    let names = ["leaf", "spine", "core"];
    let link_names = ["GPU-leaf", "leaf-spine", "spine-core"];
    for (i, n) in r.switches_by_tier.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:<6} switches {:>9}    {:<10} links {:>9}",
            names.get(i).unwrap_or(&"tier"),
            count(*n),
            link_names.get(i).unwrap_or(&"tier"),
            count(r.links_by_tier.get(i).copied().unwrap_or(0))
        );
    }
    let _ = writeln!(
        o,
        "  total  switches {:>9}    all        links {:>9}",
        count(r.switches),
        count(r.links)
    );
    let _ = writeln!(
        o,
        "  transceivers   {:>10}    cables {:>10}",
        count(r.transceivers),
        count(r.cables)
    );
    if r.pods > 1 {
        // Pods follow the switches' radix unless the cluster groups them by arrays: say
        // so where they cut across arrays (NVL72 racks in 576-GPU units, 1,024-GPU pods).
        let array_gpus =
            u64::from(r.gpus_per_node) * u64::from(r.nodes_per_rack) * u64::from(r.racks_per_array);
        let across = r.arrays > 1 && array_gpus > 0 && !r.pod_gpus.is_multiple_of(array_gpus);
        let _ = writeln!(
            o,
            "  pods           {:>10}    of up to {} GPUs each, joined by the core tier{}",
            count(u64::from(r.pods)),
            count(r.pod_gpus),
            if across {
                format!(
                    " (a pod is as many leaves as a spine has ports down, so pods cut across the {}-GPU arrays; arrays_per_pod = 1 makes each array a pod)",
                    count(array_gpus)
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(o, "  bisection      {:>10.1} Tb/s", r.bisection_tbps);
    // A tier the size does not need is not built, and its ratio does not apply.
    let unbuilt: Vec<&str> = ["leaf", "spine", "core"]
        .iter()
        .zip(&r.switches_by_tier)
        .take(r.tiers as usize)
        .filter(|(_, &n)| n == 0)
        .map(|(name, _)| *name)
        .collect();
    if !unbuilt.is_empty() {
        let _ = writeln!(
            o,
            "  not built      {} tier: the tiers below reach every GPU at this size, so no ratio above them applies",
            unbuilt.join(", ")
        );
    }
    if !r.oversubscription_built.is_empty() {
        let built: Vec<String> = r
            .oversubscription_built
            .iter()
            .map(|x| format!("{x:.2}:1"))
            .collect();
        let _ = writeln!(
            o,
            "  as built       {:>10} (links below : links above, leaf first)",
            built.join(" / ")
        );
    }
    let _ = writeln!(
        o,
        "  farthest GPUs  {:>10} links, {} switch {}",
        r.max_hops_links,
        r.max_hops_switches,
        if r.max_hops_switches == 1 {
            "hop"
        } else {
            "hops"
        }
    );
    o
}

/// The oversubscription asked of each tier with one above it (leaf first): one ratio in
/// two tiers, two in three, none in a single switch tier.
fn oversubscription(r: &ClusterReport) -> String {
    let ratios: Vec<String> = r
        .oversubscription
        .iter()
        .take(r.tiers.saturating_sub(1) as usize)
        .map(|x| format!("{x}:1"))
        .collect();
    if ratios.is_empty() {
        "one switch tier, no oversubscription".into()
    } else {
        format!("oversubscription {}", ratios.join(" / "))
    }
}
