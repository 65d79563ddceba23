//! `memphis simulate`: one step and the whole run of a scenario, rendered from the
//! core's report (text, JSON, HTML, trace).

use crate::cli::SimulateArgs;
use crate::errors::{CliError, CliResult};
use crate::sinks::format::{
    analytic_ettr, bytes, contention_line, count, days, days_spread, duration, energy_mwh,
    energy_per_token, few, pct, power_mw, run_amount, si, size_tb, spare_gpus, tenths,
};
use crate::{input, sinks};
use memphis_core::api::simulate::MemorySummary;
use memphis_core::api::{self, SimulateOptions, SimulationReport};
use memphis_core::scenario::{Scenario, ScenarioLayers};
use memphis_core::serde_name;
use memphis_core::step::Heterogeneity;
use std::fmt::Write;

pub fn run(a: SimulateArgs) -> CliResult {
    // Every output path is checked before the work; all are written after it.
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("-o", a.output.as_deref())?;
    let trace_out = outs.file("--trace", a.trace.as_deref())?;
    let html_out = outs.file("--html", a.html.as_deref())?;
    let (sc, report) = simulated(&a)?;
    sinks::report_notes(&report.notes, a.json, a.output.as_deref());
    if let (Some(slot), Some(tl)) = (trace_out, &report.timeline) {
        let text = memphis_core::step::trace::chrome_trace(tl, sc.plan.pp, &sc.name)?;
        outs.put(slot, text)?;
    }
    if let Some(slot) = html_out {
        let page = crate::sinks::html::report(&report);
        outs.put(slot, page)?;
    }
    let text = sinks::report_text(&report, a.json, render)?;
    outs.put(report_out, text)?;
    outs.commit()
}

/// The scenario `simulate` runs and its report, notes included (the resolution's
/// first), without writing anything: what the command and the Python package show.
pub fn simulated(a: &SimulateArgs) -> CliResult<(Scenario, SimulationReport)> {
    simulated_with(a, input::scenario_layers(&a.scenario)?)
}

/// The scenario of `layers` with its plan, or the planner's best for `--plan auto`: one
/// resolution for every command that runs a job (`simulate`, `reliability`, `power`).
pub fn resolve(
    plan: Option<&str>,
    layers: &ScenarioLayers,
    allow_oom: bool,
) -> CliResult<api::simulate::Resolved> {
    match plan {
        None => Ok(api::simulate::resolve_allowing_oom(layers, allow_oom)?),
        Some("auto") => Ok(api::simulate::plan_auto(layers)?),
        Some(other) => Err(memphis_core::Error::invalid(
            "--plan",
            other,
            "only `auto` (the planner's best plan)",
        )
        .into()),
    }
}

/// [`simulated`] on layers built by the caller (the Python package's scenario given as
/// a dict is parsed as a file would be, then takes the file's place).
pub fn simulated_with(
    a: &SimulateArgs,
    layers: ScenarioLayers,
) -> CliResult<(Scenario, SimulationReport)> {
    let resolved = resolve(a.plan.as_deref(), &layers, a.allow_oom)?;
    let sc = resolved.scenario;
    // Nothing runs on a job that does not fit (unless asked): checked before the work,
    // so that no output file is written either.
    refuse_unless_fits(&sc, a.allow_oom, &resolved.notes)?;
    let opts = SimulateOptions {
        step_model: a.step_model,
        stragglers: Heterogeneity::from_stragglers(
            &sc,
            a.slow_gpu,
            a.slow_server,
            a.slow_link,
            a.slowdown,
        )?,
    };
    if a.trace.is_some() && a.step_model != memphis_core::step::StepModel::Timeline {
        return Err(CliError::bad(
            "--trace needs --step-model timeline (the closed form has no timeline)",
        ));
    }
    if sc.network == memphis_core::scenario::NetworkModel::Flow {
        sinks::status("routing the job's traffic on the fabric ...");
    }
    let mut report = api::simulate(&sc, &opts)?;
    // The resolution's notes first, after the warning of a plan that does not fit.
    let at = usize::from(!report.fits).min(report.notes.len());
    report.notes.splice(at..at, resolved.notes);
    report.notes.extend(straggler_note(a, &sc));
    Ok((sc, report))
}

/// The stragglers the user gave, each said with what it slows: else their cost would
/// show only as a longer bubble or communication time on their stages.
/// The cluster's GPUs beside the job: the hot spares the run draws on, and any others
/// (fewer spares given than the cluster leaves free) idle.
fn spares_label(free: u64, spares: u64) -> String {
    if spares >= free {
        format!("{} spare", count(free))
    } else {
        format!("{} spare, {} idle", count(spares), count(free - spares))
    }
}

fn straggler_note(a: &SimulateArgs, sc: &Scenario) -> Option<String> {
    if a.slowdown <= 0.0 {
        return None; // 0% slow: no straggler
    }
    let one = |gpu, server, link, who: String, work: &str| -> Option<String> {
        let het = Heterogeneity::from_stragglers(sc, gpu, server, link, a.slowdown).ok()?;
        let slowed = if link.is_some() {
            het.slow_link
        } else {
            het.slow_compute
        };
        let stages: Vec<String> = slowed.iter().map(|(s, _)| s.to_string()).collect();
        let factor = slowed.iter().map(|&(_, f)| f).fold(1.0, f64::max);
        Some(format!(
            "{who} is {}% slow: the {work} on pipeline stage{} {} takes {factor:.2}x as long",
            a.slowdown,
            if stages.len() == 1 { "" } else { "s" },
            stages.join(", ")
        ))
    };
    let said: Vec<String> = [
        a.slow_gpu
            .and_then(|g| one(Some(g), None, None, format!("GPU {g}"), "compute")),
        a.slow_server
            .and_then(|s| one(None, Some(s), None, format!("server {s}"), "compute")),
        a.slow_link.and_then(|g| {
            one(
                None,
                None,
                Some(g),
                format!("GPU {g}'s NIC link"),
                "NIC traffic",
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!said.is_empty()).then(|| {
        format!(
            "straggler{}: {}; the step and its breakdown include {} (the other stages wait for a slow stage in the bubble, the other replicas at the collectives)",
            if said.len() == 1 { "" } else { "s" },
            said.join("; "),
            if said.len() == 1 { "it" } else { "them" }
        )
    })
}

/// Refuses a plan that does not fit in GPU memory, unless `allow_oom`: the resolution's
/// `notes` (how the plan came about) and the memory per GPU go to stderr, then one error
/// line. Exit 2, bad input: the plan is the user's input (or the preset's they chose),
/// the same input is always refused, and nothing failed in memphis or the machine.
/// For every command that runs a plan.
pub(crate) fn refuse_unless_fits(sc: &Scenario, allow_oom: bool, notes: &[String]) -> CliResult {
    let m = api::simulate::memory(sc);
    if m.fits || allow_oom {
        return Ok(());
    }
    if !sinks::embedded() {
        for n in notes {
            sinks::note(n);
        }
        let lines = memory_lines(&m);
        sinks::progress::cleared(|| eprint!("{lines}"));
    }
    Err(api::simulate::does_not_fit(sc, &m, api::simulate::Hints::Flags).into())
}

/// The memory per GPU, part by part, and the verdict.
fn memory_lines(mem: &MemorySummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "memory per GPU (stage {})", mem.stage);
    for (k, v) in [
        ("weights", mem.weights_gib),
        ("gradients", mem.gradients_gib),
        ("optimizer", mem.optimizer_gib),
        ("activations", mem.activations_gib),
        ("reserved", mem.reserved_gib),
    ] {
        let _ = writeln!(o, "  {k:<12} {v:>7.1} GiB");
    }
    let verdict = if mem.fits { "fits" } else { "DOES NOT FIT" };
    let _ = writeln!(
        o,
        "  {:<12} {:>7.1} GiB of {:.1} GiB: {verdict}",
        "total", mem.per_gpu_gib, mem.capacity_gib
    );
    o
}

fn render(r: &SimulationReport) -> String {
    let p = &r.plan.plan;
    let mut o = String::new();
    // A plan that does not fit (run with --allow-oom): the warning comes first of all.
    let oom = (!r.fits).then(|| r.notes.first()).flatten();
    if let Some(w) = oom {
        let _ = writeln!(o, "{w}");
    }
    let _ = writeln!(o, "memphis · {}", r.scenario);
    crate::sinks::note_lines(&mut o, &r.notes[usize::from(oom.is_some())..]);
    let c = &r.cluster.inventory;
    let _ = writeln!(
        o,
        "  cluster  {}: {} x {} ({} per server, {:.0}G NIC per GPU{})",
        c.name,
        count(c.gpus),
        c.gpu,
        c.gpus_per_node,
        c.nic_gbps,
        if c.sharp { ", SHARP" } else { "" }
    );
    let moe = r
        .model
        .moe
        .map(|(e, k)| format!(" ({} active), MoE {e}x top-{k}", si(r.model.active_params)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "  model    {}: {} parameters{moe}",
        r.model.name,
        si(r.model.params)
    );
    let _ = writeln!(
        o,
        "  plan     {} = {} GPU{} ({}) · micro-batch {} x {} · {} seq {} · {} · {}{}{}",
        p.label(),
        count(r.run.gpus),
        if r.run.gpus == 1 { "" } else { "s" },
        spares_label(r.run.spare_gpus, r.reliability.failures.spare_gpus),
        p.micro_batch,
        r.plan.micro_batches,
        count(r.plan.global_batch),
        count(r.plan.seq_len),
        r.plan.precision.label(r.plan.fp8_recipe),
        p.recompute_label(),
        if p.sequence_parallel && p.tp > 1 {
            " · SP"
        } else {
            ""
        },
        // Sharding over one rank shards nothing: dense weights shard over dp x cp,
        // experts over tp x cp x dp / (etp x ep).
        if p.distributed_optimizer
            && (p.dp * p.cp > 1 || (r.model.moe.is_some() && p.tp * p.cp * p.dp > p.etp * p.ep))
        {
            " · dist-opt"
        } else {
            ""
        },
    );
    let changes = r.plan.recipe.changes();
    if !changes.is_empty() {
        let _ = writeln!(o, "  recipe   {}", changes.join(" · "));
    }
    if let Some(line) = contention_line(r) {
        let _ = writeln!(o, "  network  {line}");
    }
    let st = &r.step;
    let _ = writeln!(o, "\n{}", sinks::heading("step"));
    let (p10, p90) = sinks::format::duration_band(st.band.p10_s, st.band.p90_s);
    let _ = writeln!(
        o,
        "  time         {} (p10-p90 {p10} to {p90}: the slowest GPU the job draws)",
        duration(st.time_s),
    );
    let _ = writeln!(
        o,
        "  MFU          {} (of the dense BF16 peak{}; {} counting causal attention)",
        pct(st.mfu),
        st.mfu_of_fp8_peak
            .map_or(String::new(), |m| format!(", {} of the FP8 peak", pct(m))),
        pct(st.mfu_causal)
    );
    let _ = writeln!(o, "  per GPU      {:.0} TFLOP/s", st.tflops_per_gpu);
    let _ = writeln!(o, "  throughput   {} tokens/s", si(st.tokens_per_s));
    let _ = writeln!(
        o,
        "\nbreakdown (exposed time, critical stage {})",
        st.critical_stage
    );
    let total = st.time_s.max(1e-30);
    for (k, v) in st.breakdown.entries() {
        if v.0 <= 0.0 {
            continue;
        }
        let bar = "█".repeat(((v.0 / total) * 40.0).round() as usize);
        let _ = writeln!(
            o,
            "  {:<10} {:>10}  {:>6}  {bar}",
            k,
            duration(v.0),
            pct(v.0 / total)
        );
    }
    render_collectives(&mut o, r);
    let _ = write!(o, "\n{}", memory_lines(&r.memory));
    render_stages(&mut o, r);
    let run = &r.run;
    let _ = writeln!(o, "\n{}", sinks::heading("run"));
    // Whole steps train more than a budget that does not fill the last one.
    let trained = run.steps * (r.plan.global_batch * r.plan.seq_len) as f64;
    let _ = writeln!(
        o,
        "  tokens       {} in {} step{}{}",
        si(run.tokens),
        count(run.steps as u64),
        if run.steps as u64 == 1 { "" } else { "s" },
        if trained > 1.01 * run.tokens {
            format!(
                " (which train {}: energy per token counts them)",
                si(trained)
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "  ideal time   {} (no failures, no checkpoints)",
        days(run.ideal_days)
    );
    let _ = writeln!(
        o,
        "  with failures {} · {} GPU-hours",
        days_spread(
            run.days_p10,
            run.days_p50,
            run.days_p90,
            &r.reliability.failures
        ),
        si(run.gpu_hours)
    );
    let rel = &r.reliability.failures;
    let _ = writeln!(o, "\n{}", sinks::heading("reliability"));
    let _ = writeln!(
        o,
        "  job MTBF     {} ({} unexpected and {} planned interruptions over the run)",
        duration(rel.job_mtbf_hours * 3600.0),
        few(rel.interruptions),
        few(rel.planned_interruptions)
    );
    let _ = writeln!(
        o,
        "  checkpoint   every {} ({}) · {} · stall {} ({}) · restart {}",
        duration(rel.checkpoint_interval_min * 60.0),
        rel.checkpoint_interval_why,
        size_tb(rel.checkpoint_size_tb),
        duration(rel.checkpoint_stall_s),
        if rel.async_checkpoint {
            "async"
        } else {
            "sync"
        },
        duration(rel.restart_min * 60.0)
    );
    let _ = writeln!(
        o,
        "  ETTR         {} ({}) · {}",
        pct(rel.ettr),
        analytic_ettr(rel),
        spare_gpus(rel.spare_gpus)
    );
    // Said when it shows at the line's precision (a tenth of an hour): a wait of
    // seconds over a whole run is no news.
    if rel.spare_wait_hours >= 0.05 {
        let _ = writeln!(
            o,
            "  spares ran out: {} h waiting for repairs",
            tenths(rel.spare_wait_hours)
        );
    }
    render_power(&mut o, r);
    o
}

/// The pipeline stages, runs of alike stages on one line: their layers by kind, the time
/// of one micro-batch and the memory per GPU (shown when there is a pipeline).
fn render_stages(o: &mut String, r: &SimulationReport) {
    let stages = &r.stages;
    if stages.len() < 2 {
        return;
    }
    let _ = writeln!(o, "\npipeline stages (layers split {})", {
        let n: Vec<String> = stages.iter().map(|s| s.layers.to_string()).collect();
        n.join("/")
    });
    let moe_model = stages.iter().any(|s| s.moe_layers > 0);
    let what = |s: &memphis_core::api::simulate::StageSummary| {
        let mut parts = Vec::new();
        let dense = s.layers - s.moe_layers;
        let noun = if s.layers == 1 { "layer" } else { "layers" };
        if s.layers == 0 {
            parts.push("no decoder layer".to_string());
        } else if s.moe_layers > 0 && dense > 0 {
            parts.push(format!("{dense} dense + {} MoE {noun}", s.moe_layers));
        } else if s.moe_layers > 0 {
            parts.push(format!("{} MoE {noun}", s.moe_layers));
        } else if moe_model {
            parts.push(format!("{} dense {noun}", s.layers));
        } else {
            parts.push(format!("{} {noun}", s.layers));
        }
        if s.windowed_layers > 0 {
            parts.push(format!("{} windowed", s.windowed_layers));
        }
        if s.mtp_layers > 0 {
            parts.push(format!("{} MTP", s.mtp_layers));
        }
        // Chunks of unequal size are what a vpp that does not divide the stage's layers
        // gives (Megatron-Core lays them out with --pipeline-model-parallel-layout).
        let sizes: Vec<u32> = s.chunks.iter().map(|[a, b]| b - a).collect();
        if sizes.iter().any(|&n| n != sizes[0]) {
            let sizes: Vec<String> = sizes.iter().map(u32::to_string).collect();
            parts.push(format!("chunks of {}", sizes.join("/")));
        }
        parts.join(", ")
    };
    let mut i = 0;
    while i < stages.len() {
        let s = &stages[i];
        let mut j = i;
        while j + 1 < stages.len()
            && what(&stages[j + 1]) == what(s)
            && (stages[j + 1].micro_batch_s - s.micro_batch_s).abs() <= 1e-9 * s.micro_batch_s
        {
            j += 1;
        }
        let label = if j > i {
            format!("{}-{}", s.stage, stages[j].stage)
        } else {
            s.stage.to_string()
        };
        let (lo, hi) = stages[i..=j]
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), x| {
                (lo.min(x.memory_gib), hi.max(x.memory_gib))
            });
        let mem = if hi - lo < 0.05 {
            format!("{hi:.1} GiB")
        } else {
            format!("{lo:.1}-{hi:.1} GiB")
        };
        let _ = writeln!(
            o,
            "  {label:<7} {:<34} {:>9} per micro-batch  {mem}",
            what(s),
            duration(s.micro_batch_s)
        );
        i = j + 1;
    }
}

fn render_power(o: &mut String, r: &SimulationReport) {
    let pw = &r.power.report;
    let site = &pw.site;
    // A PUE of the user's ([power] pue) is said as theirs, beside the cooling's own.
    let default_pue = r.power.cooling.default_pue();
    let pue = if (pw.pue - default_pue).abs() > 1e-9 {
        format!(
            "PUE {:.2} as set; {:?} cooling's default {default_pue:.2}",
            pw.pue, r.power.cooling
        )
    } else {
        format!("PUE {:.2}", pw.pue)
    };
    let _ = writeln!(
        o,
        "\npower of the job ({:?} cooling, {pue})",
        r.power.cooling
    );
    let _ = writeln!(
        o,
        "  IT           {} average, {} peak ({} GPU{} on {} server{})",
        power_mw(pw.it_mw),
        power_mw(pw.peak_it_mw),
        count(r.run.gpus),
        if r.run.gpus == 1 { "" } else { "s" },
        count(site.job_nodes),
        if site.job_nodes == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        o,
        "  facility     {} ({:?} cooling would draw {} at its default PUE {:.2})",
        power_mw(pw.facility_mw),
        pw.other_cooling,
        power_mw(pw.facility_mw_other_cooling),
        pw.other_cooling.default_pue()
    );
    let _ = writeln!(
        o,
        "  swing        {} facility over one step (the {}'s phases, unsmoothed; cooling holds its mean, as it follows over a minute)",
        power_mw(pw.swing_mw),
        pw.swing_source
    );
    let _ = writeln!(
        o,
        "               as the grid sees it (smoothed, over minutes, with ramps, spectrum, a failure and mitigations): memphis power"
    );
    let total_mw: f64 = pw.parts.iter().map(|p| p.mw).sum();
    for part in pw.parts.iter().filter(|p| p.mw > 0.0) {
        let _ = writeln!(
            o,
            "    {:<30} {:>11}  {:>6}",
            part.name,
            power_mw(part.mw),
            pct(part.mw / total_mw.max(1e-30))
        );
    }
    // The ledger's IT rows (cooling is last): what no job or idle GPU accounts for is
    // the switch ports without a link, which the site draws all the same.
    let it_rows = &site.ledger[..site.ledger.len().saturating_sub(1)];
    let unlinked_mw: f64 = it_rows.iter().map(|s| s.unassigned_mw).sum();
    let unlinked = if unlinked_mw >= 0.005 {
        format!(
            ", and {} IT in switch ports no link uses",
            power_mw(unlinked_mw)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "  site         {} IT, {} facility: {} GPUs, {} idle at idle power{unlinked}",
        power_mw(site.it_mw),
        power_mw(site.facility_mw),
        count(site.gpus),
        count(site.idle_gpus)
    );
    let (e, c, w) = (&r.energy, &r.carbon, &r.water);
    let _ = writeln!(o, "\nenergy, carbon, water of the job (whole run, p50)");
    let _ = writeln!(
        o,
        "  energy       {} ({} a training step; {} per token over the run, waits included; {:?} cooling: {})",
        run_amount(e.run_mwh, "MWh", "kWh"),
        energy_mwh(e.step_mwh),
        energy_per_token(e.j_per_token),
        pw.other_cooling,
        run_amount(e.run_mwh_other_cooling, "MWh", "kWh")
    );
    let _ = writeln!(
        o,
        "  carbon       {} CO2e ({:.0} g/kWh, {} from gas turbines)",
        run_amount(c.run_tco2e, "t", "kg"),
        c.gco2_per_kwh,
        pct(c.turbine_share)
    );
    let _ = writeln!(
        o,
        "  water        {} (on site and upstream)",
        run_amount(w.run_m3, "m³", "L")
    );
    let _ = writeln!(
        o,
        "  site         {} · {} CO2e · {} over the same time",
        run_amount(e.site.run_mwh, "MWh", "kWh"),
        run_amount(c.site.run_tco2e, "t", "kg"),
        run_amount(w.site.run_m3, "m³", "L")
    );
}

/// The collectives the step priced, one line per communicator and operation.
fn render_collectives(o: &mut String, r: &SimulationReport) {
    if r.collectives.is_empty() {
        return;
    }
    let priced = if r.network == memphis_core::scenario::NetworkModel::Flow {
        "at the rates the network line gives with the whole job's traffic: what NCCL's tuner picks at the nominal rates, priced at those; `memphis collective --network flow` places one group alone"
    } else {
        "alone: what NCCL's tuner picks, as `memphis collective` prices it, --per-server placing the group's ranks"
    };
    let _ = writeln!(o, "\ncollectives (the largest call of each, {priced})");
    // A group split unevenly is priced by its fewest ranks on a server.
    let uneven = |c: &&memphis_core::step::collectives::CollectiveUse| {
        u64::from(c.ranks_per_server) * u64::from(c.servers) != u64::from(c.ranks)
    };
    let groups: Vec<String> = r
        .collectives
        .iter()
        .map(|c| {
            format!(
                "{} ranks on {} server{}{}",
                c.ranks,
                c.servers,
                if c.servers == 1 { "" } else { "s" },
                if uneven(&c) {
                    format!(", {} on the fewest", c.ranks_per_server)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let width = groups
        .iter()
        .map(|g| g.chars().count())
        .max()
        .unwrap_or(0)
        .max(26);
    for (c, group) in r.collectives.iter().zip(groups) {
        let how = format!("{} {}", serde_name(&c.algorithm), serde_name(&c.protocol));
        let _ = writeln!(
            o,
            "  {:<9} {:<14} {:>10}  {:<width$} {:<16} {:>10}",
            c.group,
            serde_name(&c.op),
            bytes(c.size_bytes),
            group,
            how,
            duration(c.time_s)
        );
    }
    if r.collectives.iter().any(|c| uneven(&c)) {
        let _ = writeln!(
            o,
            "  a group split unevenly over its servers is priced by its fewest ranks on one (their NICs carry its traffic there), which `memphis collective --per-server` cannot place"
        );
    }
    if r.collectives
        .iter()
        .any(|c| c.group == "dp" || c.group == "expert_dp")
    {
        if r.plan.recipe.dp_overlap {
            let _ = writeln!(
                o,
                "  dp: the largest call: with dp_overlap Megatron reduces (gathers) a stage's buffer in buckets of {} parameters, one call each, and the backward (forward) hides what it can",
                si(r.plan.recipe.bucket_params(r.plan.plan.dp))
            );
        } else {
            let _ = writeln!(
                o,
                "  dp: a stage's whole gradient reduction (weight gather) as one call, between the steps (dp_overlap = false)"
            );
        }
        // An unset gradient recipe reduces BF16 and FP8 runs' gradients in FP32 over a
        // 16-bit buffer: twice FP16's traffic on the same plan, which is worth a word.
        if r.plan.recipe.main_grads.is_none() && r.plan.grad_reduce_bytes > 2.0 {
            let _ = writeln!(
                o,
                "  dp: gradients reduced in FP32 from a buffer counted in BF16 (main_grads unset: Megatron-LM's reduction for BF16 and FP8, the memory of NeMo's buffer ⚠), twice FP16's bytes; --main-grads fp32 holds an FP32 buffer too (2 B more a parameter), --main-grads bf16 reduces in BF16 as NeMo's recipes do"
            );
        }
    }
    if r.collectives
        .iter()
        .any(|c| c.algorithm == memphis_core::collective::Algorithm::Deepep)
    {
        let _ = writeln!(
            o,
            "  deepep: DeepEP's dispatch and combine (the GPU posts its sends, one copy per server crosses the network), not NCCL's all_to_all, which `memphis collective` prices"
        );
    }
    let ring = r.plan.recipe.cp_comm == memphis_core::CpComm::P2p;
    if ring && r.collectives.iter().any(|c| c.group == "cp") {
        let _ = writeln!(
            o,
            "  cp: the ring's sends (cp_comm = \"p2p\"), priced as the all_gather they add up to; attention hides them where it takes longer"
        );
    }
}
