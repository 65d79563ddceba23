//! `memphis cluster`: the inventory of a cluster and its fabric.

use crate::cli::ClusterArgs;
use crate::errors::CliResult;
use crate::sinks::format::count;
use crate::{input, sinks};
use memphis_core::fabric::{Fabric, Inventory};
use memphis_core::scenario::{self, ClusterSpec};
use serde_json::json;
use std::fmt::Write;

pub fn run(a: ClusterArgs) -> CliResult {
    let base = input::scenario_arg(a.scenario.as_deref())?;
    let mut flags = scenario::ScenarioFile::default();
    flags.cluster.preset = a.cluster.clone();
    let merged = scenario::ScenarioLayers {
        file: base,
        flags,
        model: None,
    }
    .merge()?;
    let sc = scenario::build_for_planning(&merged.file)?;
    let c = &sc.cluster;
    let inv = Fabric::build(&c.fabric_spec).inventory();
    let text = if a.json {
        sinks::json_text(&to_json(c, &inv))?
    } else {
        render(c, &inv)
    };
    sinks::stdout(&text)
}

/// Servers, racks and arrays of a cluster.
pub fn packaging(c: &ClusterSpec) -> (u64, u64, u64) {
    let nodes = c.nodes();
    let racks = nodes.div_ceil(u64::from(c.nodes_per_rack));
    let arrays = racks.div_ceil(u64::from(c.racks_per_array));
    (nodes, racks, arrays)
}

fn to_json(c: &ClusterSpec, inv: &Inventory) -> serde_json::Value {
    let (nodes, racks, arrays) = packaging(c);
    json!({
        "name": c.name,
        "gpu": c.gpu.name,
        "gpus": c.gpus,
        "nodes": nodes,
        "racks": racks,
        "arrays": arrays,
        "nic_gbps": c.nic.gbps,
        "tiers": c.fabric_spec.tiers,
        "radix": c.fabric_spec.radix,
        "rail_optimized": c.fabric_spec.rail_optimized,
        "oversubscription": c.fabric_spec.oversubscription,
        "switches": inv.switches,
        "switches_by_tier": inv.switches_by_tier,
        "links": inv.links,
        "links_by_tier": inv.links_by_tier,
        "transceivers": inv.transceivers,
        "cables": inv.cables,
        "bisection_tbps": inv.bisection_tbps,
        "max_hops_links": inv.max_hops_links,
        "max_hops_switches": inv.max_hops_switches,
    })
}

fn render(c: &ClusterSpec, inv: &Inventory) -> String {
    let (nodes, racks, arrays) = packaging(c);
    let fs = &c.fabric_spec;
    let mut o = String::new();
    let _ = writeln!(o, "cluster {}", c.name);
    let _ = writeln!(o, "  GPUs          {} x {}", count(c.gpus), c.gpu.name);
    let _ = writeln!(
        o,
        "  servers       {} ({} GPUs each)",
        count(nodes),
        c.gpus_per_node
    );
    let _ = writeln!(
        o,
        "  racks         {} ({} servers each)",
        count(racks),
        c.nodes_per_rack
    );
    let _ = writeln!(
        o,
        "  arrays        {} ({} racks each)",
        count(arrays),
        c.racks_per_array
    );
    let _ = writeln!(
        o,
        "\nfabric: {}-tier {} fat-tree, radix {} x {:.0}G, oversubscription {}:1 / {}:1",
        fs.tiers,
        if fs.rail_optimized {
            "rail-optimized"
        } else {
            "plain"
        },
        fs.radix,
        fs.link_gbps,
        fs.oversubscription[0],
        fs.oversubscription[1]
    );
    let names = ["leaf", "spine", "core"];
    let link_names = ["GPU-leaf", "leaf-spine", "spine-core"];
    for (i, n) in inv.switches_by_tier.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:<6} switches {:>9}    {:<10} links {:>9}",
            names[i],
            count(*n),
            link_names[i],
            count(inv.links_by_tier[i])
        );
    }
    let _ = writeln!(
        o,
        "  total  switches {:>9}    all        links {:>9}",
        count(inv.switches),
        count(inv.links)
    );
    let _ = writeln!(
        o,
        "  transceivers   {:>10}    cables {:>10}",
        count(inv.transceivers),
        count(inv.cables)
    );
    let _ = writeln!(o, "  bisection      {:>10.1} Tb/s", inv.bisection_tbps);
    let _ = writeln!(
        o,
        "  farthest GPUs  {:>10} links, {} switch hops",
        inv.max_hops_links, inv.max_hops_switches
    );
    o
}
