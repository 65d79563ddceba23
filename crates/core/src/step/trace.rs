//! Chrome trace event JSON of a timeline (opens in Perfetto and chrome://tracing): one
//! process per pipeline stage, one track per stream, ops as complete events with their
//! FLOPs and bytes, and a counter of activation memory in use.

use super::timeline::{Stream, Timeline};
use crate::units::GIB;
use serde_json::{json, Value};

/// Most stages written; a deeper pipeline is sampled evenly (first and last kept).
pub const MAX_TRACE_STAGES: u32 = 32;

/// What an event's `bytes` counts, by its stream.
fn bytes_are(s: Stream) -> &'static str {
    match s {
        Stream::Compute => "HBM bytes read and written",
        Stream::Pp => "bytes each GPU sends to the neighbouring stage (the next one forward, the previous one backward)",
        _ => "bytes each GPU sends: the message x the collective's bus factor (nccl-tests' busbw convention), not the message",
    }
}

fn stream_name(s: Stream) -> &'static str {
    match s {
        Stream::Compute => "compute",
        Stream::Tp => "tp comm",
        Stream::Cp => "cp ring",
        Stream::Ep => "ep all-to-all",
        Stream::Pp => "pp send/recv",
        Stream::Dp => "dp comm",
    }
}

/// The stages a trace keeps.
pub fn sampled_stages(pp: u32) -> Vec<u32> {
    if pp <= MAX_TRACE_STAGES {
        return (0..pp).collect();
    }
    let mut v: Vec<u32> = (0..MAX_TRACE_STAGES)
        .map(|i| i * (pp - 1) / (MAX_TRACE_STAGES - 1))
        .collect();
    v.dedup();
    v
}

/// Most events a trace holds (about 150 MB of JSON); a longer step is refused with the
/// way to shrink it, rather than written as a file no viewer opens.
pub const MAX_TRACE_EVENTS: usize = 2_000_000;

/// Events the trace of `tl` would hold.
pub fn event_count(tl: &Timeline, pp: u32) -> usize {
    let keep = sampled_stages(pp);
    let kept = |s: u32| keep.binary_search(&s).is_ok();
    keep.len() * (2 + Stream::ALL.len())
        + tl.spans.iter().filter(|sp| kept(sp.stage)).count()
        + tl.memory.iter().filter(|m| kept(m.stage)).count()
}

/// Writes the trace as JSON. `title` names the run. Events are written one by one (memory stays that of the text), and a trace
/// over [`MAX_TRACE_EVENTS`] is refused.
pub fn chrome_trace(tl: &Timeline, pp: u32, title: &str) -> crate::Result<String> {
    let n = event_count(tl, pp);
    if n > MAX_TRACE_EVENTS {
        return Err(crate::Error::invalid(
            "trace",
            format!("{n} events"),
            format!("at most {MAX_TRACE_EVENTS} events: trace a step with fewer micro-batches (a smaller global batch shows the same schedule)"),
        ));
    }
    let keep = sampled_stages(pp);
    let kept = |s: u32| keep.binary_search(&s).is_ok();
    let mut out = String::with_capacity(n * 160 + 256);
    out.push_str("{\"traceEvents\":[");
    let mut first = true;
    let mut push = |v: Value| {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&v.to_string());
    };
    for &s in &keep {
        push(
            json!({"name": "process_name", "ph": "M", "pid": s, "args": {"name": format!("stage {s}")}}),
        );
        push(json!({"name": "process_sort_index", "ph": "M", "pid": s, "args": {"sort_index": s}}));
        for (k, st) in Stream::ALL.iter().enumerate() {
            push(
                json!({"name": "thread_name", "ph": "M", "pid": s, "tid": k, "args": {"name": stream_name(*st)}}),
            );
        }
    }
    for sp in tl.spans.iter().filter(|sp| kept(sp.stage)) {
        let tid = Stream::ALL
            .iter()
            .position(|s| *s == sp.stream)
            .unwrap_or(0);
        let mut event = json!({
            "name": sp.name.to_string(), "cat": stream_name(sp.stream), "ph": "X", "pid": sp.stage, "tid": tid,
            "ts": sp.start.0 as f64 / 1e3, "dur": sp.dur.0 as f64 / 1e3,
            // Of `dur`, the exposed TP, CP or EP communication priced into the op: the
            // text breakdown counts it under its own name, not under compute.
            "args": {"flops": sp.flops, "bytes": sp.bytes, "bytes_are": bytes_are(sp.stream), "exposed_comm_us": sp.exposed.0 as f64 / 1e3},
        });
        if let super::timeline::SpanLabel::ReduceGrads {
            overlapped: true, ..
        } = sp.name
        {
            event["args"]["span"] = json!("from the start of the chunk's last backward, which the reduction streams alongside (overlap-grad-reduce), to the end of its last bucket");
        }
        push(event);
    }
    for m in tl.memory.iter().filter(|m| kept(m.stage)) {
        push(json!({
            "name": "memory in use (GiB)", "ph": "C", "pid": m.stage, "ts": m.at.0 as f64 / 1e3,
            "args": {"GiB": m.bytes / GIB},
        }));
    }
    let other = json!({
        "title": title,
        "step_time_s": tl.time.as_seconds().0,
        "slowest_stage": tl.slowest_stage,
        "stages_total": pp,
        "stages_in_trace": keep.len(),
    });
    out.push_str("],\"displayTimeUnit\":\"ms\",\"otherData\":");
    out.push_str(&other.to_string());
    out.push('}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{
        build, ModelFile, ParallelFile, ScenarioFile, ScenarioLayers, TrainingFile,
    };
    use crate::step::timeline::Heterogeneity;
    use crate::workload::ops::layer_work;
    use crate::workload::MlpKind;

    /// A small MoE job that uses every stream: TP2 CP2 PP2 EP2 DP2 on one DGX H100 pair.
    fn scenario() -> crate::scenario::Scenario {
        let model = ModelFile {
            name: Some("tiny-moe".into()),
            layers: Some(4),
            hidden: Some(1024),
            heads: Some(8),
            kv_heads: Some(8),
            ffn_hidden: Some(4096),
            vocab: Some(32000),
            mlp: Some(MlpKind::Gated),
            moe_experts: Some(4),
            moe_topk: Some(2),
            ..Default::default()
        };
        let mut flags = ScenarioFile {
            parallel: ParallelFile {
                tp: Some(2),
                pp: Some(2),
                vpp: Some(1),
                cp: Some(2),
                ep: Some(2),
                dp: Some(4),
                sequence_parallel: Some(true),
                distributed_optimizer: Some(true),
                ..Default::default()
            },
            training: TrainingFile {
                gpus: Some(32),
                global_batch: Some(16),
                seq_len: Some(4096),
                ..Default::default()
            },
            ..Default::default()
        };
        flags.cluster.preset = Some("dgx-h100".into());
        build(&ScenarioLayers {
            file: None,
            flags,
            model: Some(model),
            cluster: None,
            servers: None,
        })
        .unwrap()
    }

    #[test]
    fn trace_events_carry_the_ops_flops_and_bytes() {
        let sc = scenario();
        let step = crate::step::simulate_step(&sc);
        let tl = crate::step::timeline::simulate_timeline(&sc, &step, &Heterogeneity::default());
        let trace: Value =
            serde_json::from_str(&chrome_trace(&tl, sc.plan.pp, "t").unwrap()).unwrap();
        let ops: Vec<&Value> = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .collect();
        let arg = |e: &Value, k: &str| e["args"][k].as_f64().unwrap();
        // Every op moves bytes; every compute op also executes FLOPs.
        for cat in [
            "compute",
            "tp comm",
            "cp ring",
            "ep all-to-all",
            "pp send/recv",
            "dp comm",
        ] {
            let of: Vec<_> = ops.iter().filter(|e| e["cat"] == cat).collect();
            assert!(!of.is_empty(), "{cat}");
            assert!(of.iter().all(|e| arg(e, "bytes") > 0.0), "{cat} bytes");
            let flops = of.iter().all(|e| arg(e, "flops") > 0.0);
            assert_eq!(flops, cat == "compute", "{cat} flops");
            // Each says what its bytes count: HBM traffic or bytes sent.
            let sent = of.iter().all(|e| {
                e["args"]["bytes_are"]
                    .as_str()
                    .is_some_and(|s| s.contains("sends"))
            });
            assert_eq!(sent, cat != "compute", "{cat} bytes_are");
        }
        // Per stage, the ops add up to the step's costs.
        let c = &step.costs;
        let m = step.micro_batches as f64;
        for s in 0..c.chunks.len() {
            let sum = |cat: &str, k: &str| -> f64 {
                ops.iter()
                    .filter(|e| e["cat"] == cat && e["pid"] == s as u64)
                    .map(|e| arg(e, k))
                    .sum()
            };
            let lc = c.stage(s);
            let ends = if s == 0 { &c.embedding } else { &c.head };
            let flops = m
                * ((lc.compute.forward.flops + lc.compute.backward.flops).0
                    + (ends.forward.flops + ends.backward.flops).0)
                + c.dp[s].optimizer.flops.0;
            let tp = m * (lc.tp.whole.forward.bytes + lc.tp.whole.backward.bytes).0;
            let dp = (c.dp[s].grad_reduce.bytes + c.dp[s].param_gather.bytes).0;
            for (got, want) in [
                (sum("compute", "flops"), flops),
                (sum("tp comm", "bytes"), tp),
                (sum("dp comm", "bytes"), dp),
            ] {
                assert!(
                    (got / want - 1.0).abs() < 1e-9,
                    "stage {s}: {got} vs {want}"
                );
            }
        }
        // From first principles: with sequence parallelism each layer's forward runs two
        // all-gathers and two reduce-scatters of the b x s/cp x h activations; on 2 ranks
        // each sends half of every one. The forward executes its GEMMs and attention.
        let kind = sc.model.layer_kind(0);
        let lw = layer_work(&sc.model, &sc.plan, &sc.run, kind);
        let layer = &c.kinds[0].1;
        assert_eq!(c.kinds.len(), 1);
        assert_eq!(layer.tp.whole.forward.bytes, lw.tp_message * 2.0);
        let gemm: f64 = lw.gemms.iter().map(|g| g.flops().0).sum();
        assert_eq!(layer.compute.forward.flops.0, gemm + lw.attention_flops.0);
    }
}
