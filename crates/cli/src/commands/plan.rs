//! `memphis plan`: the fastest plans that fit, and sharded sweeps.

use crate::cli::PlanArgs;
use crate::errors::{CliError, CliResult};
use crate::sinks::format::{count, duration, pct, sig3};
use crate::{input, sinks};
use memphis_core::plan::{fingerprint, merge, search_within, SearchResult, Shard};
use memphis_core::{api, scenario};
use std::fmt::Write;
use std::time::Instant;

pub fn run(a: PlanArgs) -> CliResult {
    if a.top == 0 {
        return Err(CliError::bad("--top = 0: at least 1"));
    }
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("--out", a.out.as_deref())?;
    let started = Instant::now();
    // The progress line (sinks::progress) follows the planner's own counters.
    let progress = |_: u64, _: u64| {};
    let result = searched(&a, &progress)?;
    let elapsed = started.elapsed().as_secs_f64();
    // Wall time goes to stderr: stdout depends only on the input.
    if a.merge.is_empty() {
        sinks::status(&format!(
            "searched in {} ({:.0} plans/s)",
            duration(elapsed),
            result.plans_evaluated as f64 / elapsed.max(1e-9)
        ));
    }
    let text = if a.json || a.out.is_some() {
        // In the report, and on stderr for whoever reads the terminal meanwhile.
        result.notes.iter().for_each(|n| sinks::note(n));
        sinks::json_text(&result)?
    } else {
        let mut text = render(&result);
        for n in result.notes.iter().rev() {
            text.insert_str(0, &format!("{}\n", crate::sinks::labelled_note(n)));
        }
        text
    };
    outs.put(report_out, text)?;
    outs.commit()
}

/// The search `plan` runs (or the merge of its shard files), reporting `progress` as
/// (plans done, plans in all), without writing the result.
pub fn searched(a: &PlanArgs, progress: &(dyn Fn(u64, u64) + Sync)) -> CliResult<SearchResult> {
    searched_with(a, input::scenario_layers(&a.scenario)?, progress)
}

/// [`searched`] on layers built by the caller (see `simulate::simulated_with`).
pub fn searched_with(
    a: &PlanArgs,
    layers: scenario::ScenarioLayers,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> CliResult<SearchResult> {
    if a.top == 0 {
        return Err(CliError::bad("--top = 0: at least 1"));
    }
    // What a config.json has that memphis does not model, said first, as `simulate` does.
    let model_warnings = layers.model.as_ref().map(|m| m.warnings.clone());
    // The search this run is about: shards to merge must belong to it.
    let merged = layers.merge()?;
    let sc = scenario::build_for_planning(&merged.file)?;
    let fixed = merged.written_plan();
    let result = if !a.merge.is_empty() {
        let mut parts = Vec::new();
        for p in &a.merge {
            let text = input::read_text(p, "shard file")?;
            let part: SearchResult = serde_json::from_str(&text).map_err(|e| {
                CliError::bad(format!(
                    "shard file '{}': not a `memphis plan --shard` result: {e}",
                    p.display()
                ))
            })?;
            parts.push(part);
        }
        merge(&parts, &fingerprint(&sc, &fixed, a.objective, a.top), &sc)?
    } else {
        let shard = a.shard.as_deref().map(Shard::parse).transpose()?;
        search_within(&sc, &fixed, a.objective, a.top, shard, progress)
            .map_err(|e| merged.plan_refused(e, sc.model.moe.is_some()))?
    };
    // A whole search (not one shard of it) with no plan that fits is an error, as it is
    // for `simulate --plan auto`.
    if result.top.is_empty() && a.shard.is_none() {
        return Err(memphis_core::api::simulate::none_fits(&sc, &fixed).into());
    }
    // The scenario's notes that hold whatever plan is found (`simulate` prints them
    // too), then the warnings `simulate` would give of the best plan's run.
    let mut result = result;
    result.notes = model_warnings.unwrap_or_default();
    result.notes.extend(api::simulate::plan_notes(
        &merged,
        &sc,
        api::simulate::Hints::Flags,
    ));
    if a.shard.is_none() {
        result
            .notes
            .extend(api::simulate::one_plan_note(result.plans_evaluated, &fixed));
    }
    if let Some(best) = result.top.first() {
        result.notes.extend(api::best_plan_notes(&sc, best));
        result.notes.extend(api::simulate::room_note(
            &sc,
            best,
            result.best_with_room.as_ref(),
            a.objective,
            api::simulate::Hints::Flags,
        ));
        if a.shard.is_none() {
            result.notes.extend(api::simulate::fewer_gpus_note(
                &merged.file,
                &sc,
                &fixed,
                a.objective,
                best,
                api::simulate::Hints::Flags,
            ));
        }
    }
    Ok(result)
}

fn render(r: &SearchResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "plan search ({}): {} plans evaluated, {} fit, {} rejected for memory; the best {} by the closed form ranked by the timeline",
        r.shard,
        count(r.plans_evaluated),
        count(r.plans_feasible),
        count(r.plans_rejected_memory),
        // As many finalists as rows asked for, and no more than plans that fit.
        memphis_core::plan::FINALISTS
            .max(r.top.len())
            .min(r.plans_feasible as usize)
    );
    if !r.job.is_empty() {
        let _ = writeln!(o, "  job      {}", r.job);
    }
    let _ = writeln!(o, "\n  #  TP  PP vpp  CP  EP ETP     DP  mb  recompute  dist-opt      step    MFU causal   memory  days p50");
    for (i, res) in r.top.iter().enumerate() {
        let p = &res.plan;
        let _ = writeln!(
            o,
            "{:>3} {:>3} {:>3} {:>3} {:>3} {:>3} {:>3} {:>6} {:>3}  {:<9}  {:<8} {:>9} {:>6} {:>6} {:>6.1} GiB{} {:>7}",
            i + 1,
            p.tp,
            p.pp,
            p.vpp,
            p.cp,
            p.ep,
            p.etp,
            p.dp,
            p.micro_batch,
            match p.recompute_layers {
                Some(n) => format!("full:{n}"),
                None => format!("{:?}", p.recompute).to_lowercase(),
            },
            if p.distributed_optimizer { "yes" } else { "no" },
            duration(res.step_time_s),
            pct(res.mfu),
            pct(res.mfu_causal),
            res.memory_gib,
            if res.memory_tight { "*" } else { " " },
            // Three figures, so that a run of hours does not read 0.0.
            sig3(res.days_to_train)
        );
        let parts: Vec<String> = res
            .breakdown
            .iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(k, v)| format!("{k} {}", duration(*v)))
            .collect();
        let _ = writeln!(o, "      {}", parts.join(" · "));
    }
    if !r.top.is_empty() {
        let _ = writeln!(
            o,
            "\n  MFU, causal: the model's FLOPs over the GPUs' dense BF16 peak, whatever the precision (an FP8 run can pass 50%); causal counts attention's unmasked half only"
        );
    }
    if r.top.iter().any(|res| res.memory_tight) {
        let _ = writeln!(
            o,
            "\n  * fills over {:.0}% of the GPU's memory: {}; it ranks as if {:.0}% slower ⚠, so a plan that leaves room and is within that comes first",
            100.0 * memphis_core::TIGHT_MEMORY_SHARE,
            memphis_core::tight_memory_caveat(memphis_core::RESERVED_GIB),
            100.0 * memphis_core::plan::TIGHT_MEMORY_RANK_PENALTY
        );
    }
    if r.top.iter().any(|res| res.plan.recompute_layers.is_some()) {
        let _ = writeln!(
            o,
            "\n  full:N = full recomputation of the first N layers of each chunk: --recompute full --recompute-layers N"
        );
    }
    o
}
