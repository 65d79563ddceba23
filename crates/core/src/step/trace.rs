//! Chrome trace event JSON of a timeline (opens in Perfetto and chrome://tracing): one
//! process per pipeline stage, one track per stream, ops as complete events with their
//! FLOPs and bytes, and a counter of activation memory in use.

use super::timeline::{Stream, Timeline};
use serde_json::{json, Value};

/// Most stages written; a deeper pipeline is sampled evenly (first and last kept).
pub const MAX_TRACE_STAGES: u32 = 32;

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

/// Builds the trace. `title` names the run; `static_gib` is the memory that does not
/// change during the step (weights, gradients, optimizer), added to the counter.
pub fn chrome_trace(tl: &Timeline, pp: u32, title: &str, static_gib: f64) -> Value {
    let keep = sampled_stages(pp);
    let kept = |s: u32| keep.binary_search(&s).is_ok();
    let mut events = Vec::new();
    for &s in &keep {
        events.push(json!({"name": "process_name", "ph": "M", "pid": s, "args": {"name": format!("stage {s}")}}));
        events.push(
            json!({"name": "process_sort_index", "ph": "M", "pid": s, "args": {"sort_index": s}}),
        );
        for (k, st) in Stream::ALL.iter().enumerate() {
            events.push(json!({"name": "thread_name", "ph": "M", "pid": s, "tid": k, "args": {"name": stream_name(*st)}}));
        }
    }
    for sp in tl.spans.iter().filter(|sp| kept(sp.stage)) {
        let tid = Stream::ALL
            .iter()
            .position(|s| *s == sp.stream)
            .unwrap_or(0);
        events.push(json!({
            "name": sp.name, "cat": stream_name(sp.stream), "ph": "X", "pid": sp.stage, "tid": tid,
            "ts": sp.start.0 as f64 / 1e3, "dur": sp.dur.0 as f64 / 1e3,
            "args": {"flops": sp.flops, "bytes": sp.bytes},
        }));
    }
    for m in tl.memory.iter().filter(|m| kept(m.stage)) {
        events.push(json!({
            "name": "memory in use (GiB)", "ph": "C", "pid": m.stage, "ts": m.at.0 as f64 / 1e3,
            "args": {"GiB": static_gib + m.activation_bytes / (1u64 << 30) as f64},
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "title": title,
            "step_time_s": tl.time.as_seconds().0,
            "slowest_stage": tl.slowest_stage,
            "stages_total": pp,
            "stages_in_trace": keep.len(),
        },
    })
}
