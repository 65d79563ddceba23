//! `memphis collective`: an nccl-tests-style table of predicted collectives, and a
//! comparison with a user's own nccl-tests log.

use super::cluster::{cluster_arg, serde_name};
use crate::cli::CollectiveArgs;
use crate::errors::CliResult;
use crate::{input, sinks};
use memphis_core::api::collective::{
    self as api, op_name, CollectiveOptions, CollectiveReport, CollectiveRow, COMPARE_MIN_BYTES,
};
use memphis_core::collective::{nccl_tests, parse_size, CollectiveOp, FasterBecause};
use memphis_core::fabric::Routing;
use memphis_core::scenario::NetworkModel;
use std::fmt::Write;

pub fn run(a: CollectiveArgs) -> CliResult {
    sinks::report(&report(&a)?, a.json, a.output.as_deref(), render)
}

/// The report `collective` shows, without writing it.
pub fn report(a: &CollectiveArgs) -> CliResult<CollectiveReport> {
    let compare = match &a.compare {
        Some(p) => {
            let context = p.display().to_string();
            let log = nccl_tests::parse(&context, &input::read_text(p, "nccl-tests log")?)?;
            // The log's sizes are the sweep's.
            if a.min_bytes != "8" || a.max_bytes != "16G" || a.factor != 2 {
                sinks::note("--compare prices the log's own sizes: -b, -e and -f are not used");
            }
            Some(log)
        }
        None => None,
    };
    let c = cluster_arg(&a.cluster)?;
    let o = CollectiveOptions {
        op: a.op,
        gpus: a.gpus,
        per_server: a.per_server,
        min_bytes: parse_size("-b/--minbytes", &a.min_bytes)?,
        max_bytes: parse_size("-e/--maxbytes", &a.max_bytes)?,
        factor: a.factor,
        network: a.network,
        routing: a.routing.unwrap_or(Routing::Adaptive),
        compare,
    };
    if a.routing.is_some() && a.network == NetworkModel::Analytical {
        sinks::note(
            "--routing applies at flow level only (--network flow); the analytical network model has no paths to route",
        );
    }
    let r = api::sweep(&c, &o)?;
    if let (Some(path), Some(log)) = (&a.compare, &o.compare) {
        for note in nccl_tests::log_notes(&path.display().to_string(), log) {
            sinks::note(&note);
        }
    }
    if r.network == NetworkModel::Flow {
        // Contention the header reports but that sets no row's time: said, lest the
        // derating read as a cost (NVLink binds a rack-scale group, say).
        let alone = api::sweep(
            &c,
            &CollectiveOptions {
                network: NetworkModel::Analytical,
                ..o.clone()
            },
        )?;
        let same = r
            .rows
            .iter()
            .zip(&alone.rows)
            .all(|(a, b)| (a.time_us - b.time_us).abs() <= 1e-9 * b.time_us.abs());
        if same && r.fabric_fraction.is_some_and(|f| f < 1.0) {
            sinks::note(
                "the fabric's contention slows none of these sizes: each time is the analytical model's, set by NVLink, the NICs' own rate or latency",
            );
        }
    }
    if r.network == NetworkModel::Analytical {
        // The GPUs of the servers the group runs on, from the first: as the sweep placed it.
        let spanned = r.gpus.div_ceil(u64::from(r.per_server)) * u64::from(c.gpus_per_node);
        if let Some(note) = memphis_core::api::collective::oversubscribed_note(
            &c,
            spanned.min(c.gpus),
            "--network flow",
        ) {
            sinks::note(&note);
        }
    }
    Ok(r)
}

fn render(r: &CollectiveReport) -> String {
    let mut o = String::new();
    let flow = match (r.network, r.fabric_fraction) {
        (NetworkModel::Flow, Some(f)) => {
            let tree = r
                .tree_fraction
                .map_or(String::new(), |t| format!(", tree {t:.3}"));
            let draws = if r.routing == Routing::Ecmp {
                format!(
                    " (the mean over {} ECMP hash draws; `fabric-bench` shows one)",
                    memphis_core::collective::flow::ECMP_DRAWS
                )
            } else {
                String::new()
            };
            format!(
                ", {} routing; fabric contention: {} {f:.3}{tree} of the NIC-bound rate{draws}",
                serde_name(&r.routing),
                if r.op == CollectiveOp::AllToAll {
                    "all-to-all"
                } else {
                    "ring"
                },
            )
        }
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "# memphis collective {} on {} GPUs of {} ({}), {} network{flow}",
        op_name(r.op),
        r.gpus,
        r.cluster,
        {
            // A last server partly filled is named: a ring runs at its pace.
            let last = r.gpus % u64::from(r.per_server);
            let last = if last > 0 && r.gpus > u64::from(r.per_server) {
                format!(", {last} on the last")
            } else {
                String::new()
            };
            if r.per_server < r.gpus_per_node {
                format!(
                    "{} of each server's {}{last}",
                    r.per_server, r.gpus_per_node
                )
            } else {
                format!("{} per server{last}", r.gpus_per_node)
            }
        },
        serde_name(&r.network),
    );
    let compared = r.rows.iter().any(|row| row.measured_busbw_gbps.is_some());
    let _ = write!(
        o,
        "#{:>14} {:>12} {:>10} {:>10} {:>13} {:>8}",
        "size(B)", "time(us)", "algbw", "busbw", "algorithm", "proto"
    );
    if compared {
        let _ = write!(o, " {:>10} {:>8}", "measured", "error");
    }
    o.push('\n');
    for row in &r.rows {
        let _ = write!(
            o,
            "{:>15} {:>12.2} {:>10.2} {:>10.2} {:>13} {:>8}",
            row.size_bytes,
            row.time_us,
            row.algbw_gbps,
            row.busbw_gbps,
            serde_name(&row.algorithm),
            serde_name(&row.protocol)
        );
        if let Some(m) = row.measured_busbw_gbps {
            let _ = write!(
                o,
                " {:>10.2} {:>8}",
                m,
                row.error_pct.map_or("-".into(), |e| format!("{e:+.1}%"))
            );
        }
        o.push('\n');
    }
    faster_notes(&mut o, &r.rows);
    if let Some(s) = &r.compare {
        let _ = writeln!(
            o,
            "# mean absolute busbw error over sizes >= {} MiB: {:.1}% ({} size{})",
            COMPARE_MIN_BYTES >> 20,
            s.mean_abs_error_pct,
            s.sizes,
            if s.sizes == 1 { "" } else { "s" }
        );
    }
    o
}

/// Where memphis prices another algorithm well below the tuner's pick: one comment line
/// per run of sizes with the same pick and the same faster choice.
fn faster_notes(o: &mut String, rows: &[CollectiveRow]) {
    let key = |r: &CollectiveRow| {
        r.faster_algorithm
            .zip(r.faster_protocol)
            .map(|f| (r.algorithm, r.protocol, f, r.faster_because))
    };
    let mut i = 0;
    while i < rows.len() {
        let Some(k) = key(&rows[i]) else {
            i += 1;
            continue;
        };
        let run = rows[i..].iter().take_while(|r| key(r) == Some(k)).count();
        let (first, last) = (&rows[i], &rows[i + run - 1]);
        let (algorithm, protocol) = k.2;
        let pin = algorithm.nccl_name().map_or(String::new(), |name| {
            format!(
                "; NCCL_ALGO={name} NCCL_PROTO={} would choose it (for every collective of the process)",
                serde_name(&protocol)
            )
        });
        let why = match k.3 {
            Some(FasterBecause::Fabric) => "the tuner ranks them at the NICs' nominal rates, blind to the fabric's contention above, which slows its pick more".to_string(),
            _ => format!(
                "the tuner's model leaves out {} (an estimate)",
                first.algorithm.tuner_leaves_out()
            ),
        };
        let sizes = if run == 1 {
            format!("{} B", first.size_bytes)
        } else {
            format!("{} to {} B", first.size_bytes, last.size_bytes)
        };
        let _ = writeln!(
            o,
            "# {sizes}: NCCL's tuner picks {} {}, which memphis prices slower than {} {} ({:.2} against {:.2} us at {} B): {why}{pin}",
            serde_name(&first.algorithm),
            serde_name(&first.protocol),
            serde_name(&algorithm),
            serde_name(&protocol),
            first.time_us,
            first.faster_time_us.unwrap_or(f64::NAN),
            first.size_bytes,
        );
        i += run;
    }
}
