//! What a cluster is made of (`memphis cluster`), and how to get a cluster without a
//! job: a preset, a cluster file (the fields of `[cluster]` at top level, like
//! `presets/clusters/*.toml`), or a scenario's `[cluster]` section.

use crate::error::Result;
use crate::fabric::Fabric;
use crate::scenario::{self, ClusterFile, ClusterSpec, FabricKind, ScenarioFile};
use serde::Serialize;

/// The cluster the cluster commands use when none is named.
pub const DEFAULT_CLUSTER: &str = "memphis";

/// Parses a cluster file's text: the fields of a scenario's `[cluster]` section at top
/// level (`preset` included); unknown keys are rejected. Validate the result with
/// [`ClusterFile::validate`].
pub fn parse_cluster(context: &str, text: &str) -> Result<ClusterFile> {
    crate::error::from_toml(context, text, false)
}

/// The embedded cluster preset `name`, validated.
pub fn preset(name: &str) -> Result<ClusterSpec> {
    ClusterFile {
        preset: Some(name.to_string()),
        ..Default::default()
    }
    .validate("cluster")
}

/// The cluster of a scenario, without its job: the file's `[cluster]` over its scenario
/// preset's (when it names one), validated. The model, plan and run are not looked at.
pub fn from_scenario(sf: ScenarioFile) -> Result<ClusterSpec> {
    let merged = scenario::ScenarioLayers {
        file: Some(sf),
        ..Default::default()
    }
    .merge()?;
    merged.file.cluster.validate("cluster")
}

/// The inventory of a cluster: packaging, fabric shape and the counts of its parts.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClusterReport {
    /// Display name.
    pub name: String,
    /// GPU catalog name.
    pub gpu: String,
    /// GPUs.
    pub gpus: u64,
    /// GPUs per server.
    pub gpus_per_node: u32,
    /// Servers (the last may be partly filled).
    pub nodes: u64,
    /// Servers per rack.
    pub nodes_per_rack: u32,
    /// Racks.
    pub racks: u64,
    /// Racks per array.
    pub racks_per_array: u32,
    /// Arrays (the first fabric tier unit).
    pub arrays: u64,
    /// Scale-out Gb/s per GPU (also the switch port speed the radix counts in).
    pub nic_gbps: f64,
    /// Fabric technology.
    pub fabric: FabricKind,
    /// Switch tiers.
    pub tiers: u32,
    /// Switch ports at NIC speed.
    pub radix: u32,
    /// The same, under the name a cluster file gives it.
    pub switch_radix: u32,
    /// Rail-optimized leaves.
    pub rail_optimized: bool,
    /// The switches reduce in the network (SHARP).
    pub sharp: bool,
    /// Oversubscription (down/up) of the leaf and spine tiers, as asked.
    pub oversubscription: [f64; 2],
    /// Oversubscription as built: links below over links above, leaf tier first.
    pub oversubscription_built: Vec<f64>,
    /// All switches.
    pub switches: u64,
    /// Switches per tier, leaf first.
    pub switches_by_tier: Vec<u64>,
    /// All bidirectional links.
    pub links: u64,
    /// Links per tier: GPU-leaf, leaf-spine, spine-core.
    pub links_by_tier: Vec<u64>,
    /// Optical transceivers.
    pub transceivers: u64,
    /// Cables.
    pub cables: u64,
    /// Bisection bandwidth, Tb/s.
    pub bisection_tbps: f64,
    /// Links on the longest shortest path between two GPUs.
    pub max_hops_links: u32,
    /// Switches on that path.
    pub max_hops_switches: u32,
    /// Pods under their own spines, which the core tier joins (1 below three tiers).
    pub pods: u32,
    /// GPUs in the largest pod.
    pub pod_gpus: u64,
}

/// A server with more GPUs than the GPU's NVLink domains join (A100s 72 to a server,
/// as `--gpu A100-SXM4-80GB` on an NVL72 cluster makes): priced as asked, one NVLink
/// domain at the GPU's own NVLink rate, but no such system is built. Said by every
/// command that takes a cluster.
pub fn oversized_domain(c: &ClusterSpec) -> Option<String> {
    let (gpu, gpn) = (&c.gpu, c.gpus_per_node);
    (gpn > gpu.nvlink_domain_gpus).then(|| {
        format!(
            "warning: {gpn} GPUs a server share one NVLink domain here, but {} systems join at most {} (cluster.gpus_per_node); memphis prices the {gpn} as one domain at the {}'s NVLink rate, as asked",
            gpu.name, gpu.nvlink_domain_gpus, gpu.name
        )
    })
}

/// A spine-tier oversubscription the fabric does not build: three tiers asked for, but
/// every GPU fits under one pod's spines, so no core tier joins pods and the ratio above
/// the spines moves no traffic. Said by every command that takes a cluster, as `cluster`
/// shows the tier as not built.
pub fn unbuilt_ratio(c: &ClusterSpec) -> Option<String> {
    let fs = &c.fabric_spec;
    let ratio = fs.oversubscription[1];
    let one_pod = fs.gpus_below_tiers().1 >= fs.endpoints;
    (fs.tiers == 3 && ratio > 1.0 && one_pod).then(|| {
        format!(
            "cluster.oversubscription = [{}, {ratio}]: its {ratio}:1 above the spines moves no traffic, as all {} GPUs fit under one pod's spines and no core tier is built (cluster.arrays_per_pod sets smaller pods, which a core joins)",
            fs.oversubscription[0],
            crate::text::grouped(fs.endpoints)
        )
    })
}

/// A tier whose oversubscription as built is off the one asked for by more than 5%:
/// switches have whole ports, a plain leaf takes whole servers, and spines and cores come
/// in whole switches, so a ratio such as 64:1 on radix 64 (one uplink for 56 GPUs) cannot
/// be built as written. Said by `cluster`, which shows both.
pub fn ratio_off_as_built(r: &ClusterReport) -> Option<String> {
    let tiers = ["leaf", "spine"];
    let off: Vec<String> = r
        .oversubscription
        .iter()
        .zip(&r.oversubscription_built)
        .zip(tiers)
        .filter(|((asked, built), _)| (*built / *asked - 1.0).abs() > 0.05)
        .map(|((asked, built), tier)| {
            format!("the {tier} tier's {asked}:1 is built as {built:.2}:1")
        })
        .collect();
    (!off.is_empty()).then(|| {
        format!(
            "cluster.oversubscription: {}, as near as whole switch ports, whole servers to a plain leaf and whole switches allow at radix {}",
            off.join(", "),
            r.radix
        )
    })
}

/// The inventory of `c`: builds its fabric and counts.
pub fn cluster_report(c: &ClusterSpec) -> ClusterReport {
    report_of(c, &Fabric::build(&c.fabric_spec).inventory())
}

/// The inventory of `c`, whose fabric's counts are `inv`.
pub fn report_of(c: &ClusterSpec, inv: &crate::fabric::Inventory) -> ClusterReport {
    let inv = inv.clone();
    let fs = &c.fabric_spec;
    let nodes = c.nodes();
    let racks = nodes.div_ceil(u64::from(c.nodes_per_rack.max(1)));
    let arrays = racks.div_ceil(u64::from(c.racks_per_array.max(1)));
    ClusterReport {
        name: c.name.clone(),
        gpu: c.gpu.name.to_string(),
        gpus: c.gpus,
        gpus_per_node: c.gpus_per_node,
        nodes,
        nodes_per_rack: c.nodes_per_rack,
        racks,
        racks_per_array: c.racks_per_array,
        arrays,
        nic_gbps: c.nic.gbps,
        fabric: c.fabric,
        tiers: fs.tiers,
        radix: fs.radix,
        switch_radix: fs.radix,
        rail_optimized: fs.rail_optimized,
        sharp: c.sharp,
        oversubscription: fs.oversubscription,
        oversubscription_built: inv.oversubscription_built,
        switches: inv.switches,
        switches_by_tier: inv.switches_by_tier,
        links: inv.links,
        links_by_tier: inv.links_by_tier,
        transceivers: inv.transceivers,
        cables: inv.cables,
        bisection_tbps: inv.bisection_tbps,
        max_hops_links: inv.max_hops_links,
        max_hops_switches: inv.max_hops_switches,
        pods: inv.pods,
        pod_gpus: inv.pod_gpus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_without_a_job() {
        // dgx-a100 is smaller than the default job: it once failed on the job's dp.
        let r = cluster_report(&preset("dgx-a100").unwrap());
        assert_eq!((r.gpus, r.nodes, r.racks, r.arrays), (4480, 560, 140, 28));
        assert_eq!(r.gpu, "A100-SXM4-80GB");
        assert_eq!(r.nic_gbps, 200.0);
        let r = cluster_report(&preset("dgx-h100").unwrap());
        assert_eq!((r.gpus, r.nodes), (10_752, 1_344));
        let r = cluster_report(&preset(DEFAULT_CLUSTER).unwrap());
        assert_eq!((r.gpus, r.nodes, r.racks), (100_000, 12_500, 1_563));
        assert_eq!(r.bisection_tbps, 20_000.0);
        assert_eq!(r.switches, r.switches_by_tier.iter().sum::<u64>());
        assert_eq!(r.links, r.links_by_tier.iter().sum::<u64>());
    }

    #[test]
    fn a_cluster_file_is_the_cluster_section_at_top_level() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../presets/clusters/dgx-h100.toml"
        ))
        .unwrap();
        let from_file = parse_cluster("dgx-h100.toml", &text)
            .unwrap()
            .validate("cluster")
            .unwrap();
        assert_eq!(from_file, preset("dgx-h100").unwrap());
        // A preset with one field changed.
        let c = parse_cluster("c.toml", "preset = \"dgx-h100\"\ngpus = 4096\n")
            .unwrap()
            .validate("cluster")
            .unwrap();
        assert_eq!((c.gpus, c.name.as_str()), (4096, "dgx-h100"));
    }

    /// A cluster file that gives its GPU and not its servers, racks or rails gets the
    /// defaults that suit the systems built of it: 8-GPU HGX servers 8 to a rack on
    /// rails, an NVL72 (hosts of 4) a rack of its own without.
    #[test]
    fn rack_and_rail_defaults_follow_the_server() {
        let c = |text: &str| {
            parse_cluster("c.toml", text)
                .unwrap()
                .validate("cluster")
                .unwrap()
        };
        let hgx = c("gpu = \"H100-SXM5-80GB\"\ngpus = 1024\nnic_gbps = 400\n");
        assert_eq!((hgx.gpus_per_node, hgx.gpus_per_host), (8, 8));
        assert_eq!(
            (hgx.nodes_per_rack, hgx.fabric_spec.rail_optimized),
            (8, true)
        );
        assert_eq!(oversized_domain(&hgx), None);
        // A GB200 file that gives no server size gets the NVL72's, hosts of 4 and all.
        let nvl = c("gpu = \"GB200\"\ngpus = 576\nnic_gbps = 400\n");
        assert_eq!((nvl.gpus_per_node, nvl.gpus_per_host), (72, 4));
        assert_eq!(
            (nvl.nodes_per_rack, nvl.fabric_spec.rail_optimized),
            (1, false)
        );
        assert_eq!(oversized_domain(&nvl), None);
        // 72 H100s to an NVLink domain: priced as asked, and said.
        let h72 = c("gpu = \"H100-SXM5-80GB\"\ngpus = 144\ngpus_per_node = 72\nnic_gbps = 400\n");
        assert!(oversized_domain(&h72).is_some_and(|w| w.contains("join at most 8")));
    }

    /// Three tiers asked of 4,096 GPUs that one pod's spines reach: the core tier is
    /// not built, so its 3:1 is said to move nothing; with pods of two arrays a core
    /// joins them and the ratio applies, unsaid.
    #[test]
    fn a_ratio_above_an_unbuilt_tier_is_said() {
        let text = "preset = \"memphis\"\ngpus = 4096\ntiers = 3\noversubscription = [1, 3]\nrail_optimized = false\nnodes_per_rack = 4\nracks_per_array = 8\n";
        let c = |extra: &str| {
            parse_cluster("c.toml", &format!("{text}{extra}"))
                .unwrap()
                .validate("cluster")
                .unwrap()
        };
        let one_pod = c("");
        assert_eq!(cluster_report(&one_pod).switches_by_tier[2], 0);
        let note = unbuilt_ratio(&one_pod).expect("said");
        assert!(
            note.contains("its 3:1 above the spines moves no traffic"),
            "{note}"
        );
        let pods = c("arrays_per_pod = 2\n");
        assert!(cluster_report(&pods).switches_by_tier[2] > 0);
        assert_eq!(unbuilt_ratio(&pods), None);
    }

    #[test]
    fn bad_clusters_name_the_field() {
        let err = |text: &str| {
            parse_cluster("c.toml", text)
                .and_then(|c| c.validate("cluster"))
                .unwrap_err()
                .to_string()
        };
        assert!(err("gpus = 8\n").starts_with("cluster.gpu = missing"));
        let e = err("preset = \"memphis\"\ngpus = 0\n");
        assert!(e.starts_with("cluster.gpus = 0: an integer from 1"), "{e}");
        let e = err("preset = \"memphis\"\ngpux = 8\n");
        assert!(e.contains("unknown key `gpux`: did you mean"), "{e}");
        let e = err("preset = \"colossus\"\n");
        assert!(
            e.starts_with("unknown cluster preset 'colossus'; known: memphis"),
            "{e}"
        );
        let e = err("preset = \"memphis\"\nnic_gbps = 0\n");
        assert!(e.contains("nic_gbps = 0"), "{e}");
        let e = err("[cluster]\npreset = \"memphis\"\n");
        assert!(e.contains("unknown key `cluster`"), "{e}");
        assert!(preset("nope").is_err());
    }

    #[test]
    fn a_scenario_gives_its_cluster_and_nothing_of_its_job() {
        let c = from_scenario(scenario::scenario_preset("dgx-a100-gpt3-175b").unwrap()).unwrap();
        assert_eq!(c, preset("dgx-a100").unwrap());
        // A scenario file over a preset: its [cluster] fields win, the preset fills the rest.
        let sf = scenario::parse_scenario(
            "s.toml",
            "preset = \"memphis-405b\"\n[cluster]\ngpus = 2048\n[parallel]\ndp = 7\n",
        )
        .unwrap();
        let c = from_scenario(sf).unwrap();
        assert_eq!((c.gpus, c.name.as_str()), (2048, "memphis"));
        // Non-finite values survive the merge and are refused.
        let sf = scenario::parse_scenario(
            "s.toml",
            "preset = \"memphis-405b\"\n[cluster]\nnic_gbps = inf\n",
        )
        .unwrap();
        let e = from_scenario(sf).unwrap_err().to_string();
        assert!(e.starts_with("cluster.nic_gbps = inf"), "{e}");
        let sf = scenario::parse_scenario("s.toml", "preset = \"nope\"\n").unwrap();
        assert!(from_scenario(sf).is_err());
    }
}
