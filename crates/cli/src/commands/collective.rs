//! `memphis collective`: an nccl-tests-style table of predicted collectives, and a
//! comparison with a user's own nccl-tests log.

use crate::cli::{CollectiveArgs, NetworkArg, OpArg, RoutingArg};
use crate::errors::{CliError, CliResult};
use crate::{input, sinks};
use memphis_core::collective::flow::FlowComm;
use memphis_core::collective::{nccl_tests, parse_size, CollectiveOp, GroupKind, GroupShape};
use memphis_core::fabric::{Fabric, Routing};
use memphis_core::scenario::{self, Overrides};
use memphis_core::units::Bytes;
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
struct Row {
    size_bytes: u64,
    time_us: f64,
    algbw_gbps: f64,
    busbw_gbps: f64,
    algorithm: String,
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured_busbw_gbps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_pct: Option<f64>,
}

pub fn run(a: CollectiveArgs) -> CliResult {
    let op = match a.op {
        OpArg::AllReduce => CollectiveOp::AllReduce,
        OpArg::AllGather => CollectiveOp::AllGather,
        OpArg::ReduceScatter => CollectiveOp::ReduceScatter,
        OpArg::AllToAll => CollectiveOp::AllToAll,
    };
    let log = match &a.compare {
        Some(p) => Some(nccl_tests::parse(
            &p.display().to_string(),
            &input::read_text(p, "nccl-tests log")?,
        )?),
        None => None,
    };
    let sc = scenario::build(
        None,
        &Overrides {
            cluster_preset: Some(a.cluster.clone()),
            ..Default::default()
        },
    )?;
    let c = &sc.cluster;
    let gpus = a
        .gpus
        .or(log.as_ref().and_then(|l| l.ranks.map(u64::from)))
        .unwrap_or(8);
    if gpus < 2 || gpus > c.gpus {
        return Err(CliError::bad(format!(
            "-g/--gpus = {gpus}: from 2 to the cluster's {} GPUs",
            c.gpus
        )));
    }
    let sizes: Vec<u64> = match &log {
        Some(l) => l
            .rows
            .iter()
            .map(|r| r.size_bytes)
            .filter(|&s| s > 0)
            .collect(),
        None => {
            let lo = parse_size("-b/--minbytes", &a.min_bytes)?;
            let hi = parse_size("-e/--maxbytes", &a.max_bytes)?;
            if hi < lo {
                return Err(CliError::bad(format!(
                    "-e/--maxbytes = {}: at least -b/--minbytes ({})",
                    a.max_bytes, a.min_bytes
                )));
            }
            if a.factor < 2 {
                return Err(CliError::bad(format!(
                    "-f/--stepfactor = {}: at least 2",
                    a.factor
                )));
            }
            let mut v = vec![lo];
            while let Some(next) = v.last().unwrap().checked_mul(a.factor) {
                if next > hi {
                    break;
                }
                v.push(next);
            }
            v
        }
    };
    let gpn = c.gpus_per_node;
    let shape = GroupShape::uniform(gpus as u32, gpn.min(gpus as u32));
    let routing = match a.routing {
        RoutingArg::Ecmp => Routing::Ecmp,
        RoutingArg::Adaptive => Routing::Adaptive,
    };
    let model = if a.network == NetworkArg::Flow {
        let fabric = Fabric::build(&c.fabric_spec);
        let group: Vec<u32> = (0..gpus as u32).collect();
        FlowComm::for_groups(c.network(), &fabric, &[group], op, routing, 1)
    } else {
        FlowComm::for_groups(
            c.network(),
            &Fabric::build(&tiny_spec(c)),
            &[],
            op,
            routing,
            1,
        )
    };
    let n = gpus as u32;
    let mut rows = Vec::with_capacity(sizes.len());
    for (i, &size) in sizes.iter().enumerate() {
        let e = model.estimate(op, Bytes(size as f64), GroupKind::Dp, shape);
        let algbw = size as f64 / e.time.0 / 1e9;
        let busbw = algbw * op.bus_factor(n);
        let measured = log.as_ref().map(|l| l.rows[i].busbw_gbps);
        rows.push(Row {
            size_bytes: size,
            time_us: e.time.0 * 1e6,
            algbw_gbps: algbw,
            busbw_gbps: busbw,
            algorithm: format!("{:?}", e.algorithm).to_lowercase(),
            protocol: format!("{:?}", e.protocol),
            measured_busbw_gbps: measured,
            error_pct: measured
                .filter(|&m| m > 0.0)
                .map(|m| (busbw - m) / m * 100.0),
        });
    }
    let text = if a.json {
        sinks::json_text(&rows)?
    } else {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# memphis collective {} on {} GPUs of {} ({} per server), {} network{}",
            serde_json::to_value(op)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            gpus,
            c.name,
            gpn,
            if a.network == NetworkArg::Flow {
                "flow"
            } else {
                "analytical"
            },
            if a.network == NetworkArg::Flow {
                let tree = model
                    .tree_fraction()
                    .map_or(String::new(), |t| format!(", tree {t:.3}"));
                format!(
                    ", {routing:?} routing; fabric contention: {} {:.3}{tree} of the NIC-bound rate",
                    if op == CollectiveOp::AllToAll { "all-to-all" } else { "ring" },
                    model.fraction(GroupKind::Dp)
                )
                .to_lowercase()
            } else {
                String::new()
            },
        );
        let _ = write!(
            o,
            "#{:>14} {:>12} {:>10} {:>10} {:>13} {:>8}",
            "size(B)", "time(us)", "algbw", "busbw", "algorithm", "proto"
        );
        if log.is_some() {
            let _ = write!(o, " {:>10} {:>8}", "measured", "error");
        }
        o.push('\n');
        for r in &rows {
            let _ = write!(
                o,
                "{:>15} {:>12.2} {:>10.2} {:>10.2} {:>13} {:>8}",
                r.size_bytes, r.time_us, r.algbw_gbps, r.busbw_gbps, r.algorithm, r.protocol
            );
            if let (Some(m), e) = (r.measured_busbw_gbps, r.error_pct) {
                let _ = write!(
                    o,
                    " {:>10.2} {:>8}",
                    m,
                    e.map_or("-".into(), |e| format!("{e:+.1}%"))
                );
            }
            o.push('\n');
        }
        if log.is_some() {
            let big: Vec<f64> = rows
                .iter()
                .filter(|r| r.size_bytes >= 1 << 20)
                .filter_map(|r| r.error_pct.map(f64::abs))
                .collect();
            if !big.is_empty() {
                let _ = writeln!(
                    o,
                    "# mean absolute busbw error over sizes >= 1 MiB: {:.1}% ({} sizes)",
                    big.iter().sum::<f64>() / big.len() as f64,
                    big.len()
                );
            }
        }
        o
    };
    sinks::stdout(&text)
}

/// A one-switch fabric: the analytical path needs no graph, but shares the code path.
fn tiny_spec(c: &memphis_core::scenario::ClusterSpec) -> memphis_core::fabric::FabricSpec {
    memphis_core::fabric::FabricSpec {
        endpoints: 1,
        tiers: 1,
        ..c.fabric_spec.clone()
    }
}
