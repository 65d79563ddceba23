//! `memphis simulate`: one step and the whole run of a scenario.

use crate::cli::{
    NetworkArg, OverrideArgs, PrecisionArg, RecomputeArg, RoutingArg, SimulateArgs, StepModelArg,
};
use crate::errors::{CliError, CliResult};
use crate::sinks::format::{count, duration, pct, si};
use crate::{input, sinks};
use memphis_core::collective::flow::FlowComm;
use memphis_core::fabric::{Fabric, Routing};
use memphis_core::run::RunReport;
use memphis_core::scenario::{self, NetworkModel, Overrides, Scenario};
use memphis_core::step::Timeline;
use memphis_core::step::{
    simulate_step, simulate_step_with, simulate_timeline_step, Heterogeneity, StepResult,
};
use memphis_core::workload::{Precision, Recompute};
use serde_json::json;
use std::fmt::Write;

pub fn run(a: SimulateArgs) -> CliResult {
    let base = input::scenario_arg(a.scenario.as_deref())?;
    let overrides = overrides(&a.overrides)?;
    let sc = match a.plan.as_deref() {
        None => scenario::build(base, &overrides)?,
        // The planner picks the plan, so the file's own plan need not fit the new job.
        Some("auto") => {
            let sc = scenario::build_for_planning(base, &overrides)?;
            super::plan::best_plan(&sc)?.apply(&sc)
        }
        Some(other) => {
            return Err(CliError::bad(format!(
                "--plan = {other}: only `auto` (the planner's best plan)"
            )))
        }
    };
    let het =
        Heterogeneity::from_stragglers(&sc, a.slow_gpu, a.slow_server, a.slow_link, a.slowdown)?;
    let base = run_step(&sc);
    let (step, timeline) = match a.step_model {
        StepModelArg::Analytical => {
            if a.trace.is_some() || !het.slow_compute.is_empty() || !het.slow_link.is_empty() {
                return Err(CliError::bad(
                    "--trace and the straggler flags need --step-model timeline",
                ));
            }
            (base, None)
        }
        StepModelArg::Timeline => {
            let (s, t) = simulate_timeline_step(&sc, base, &het)?;
            (s, Some(t))
        }
    };
    if let (Some(path), Some(tl)) = (&a.trace, &timeline) {
        let m = &step.memory;
        let static_gib = (m.weights + m.gradients + m.optimizer + m.reserved).gib();
        let trace = memphis_core::step::trace::chrome_trace(tl, sc.plan.pp, &sc.name, static_gib);
        let text = serde_json::to_string(&trace).map_err(|e| CliError::internal(e.to_string()))?;
        sinks::write_atomic(path, text.as_bytes())?;
    }
    // One fabric build: its inventory serves the power model and the HTML report.
    let inv = Fabric::build(&sc.cluster.fabric_spec).inventory();
    let run = memphis_core::run::project_with(&sc, &step, timeline.as_ref(), &inv);
    if let Some(path) = &a.html {
        let page = crate::sinks::html::report(&sc, &step, &run, timeline.as_ref(), &inv);
        sinks::write_atomic(path, page.as_bytes())?;
    }
    let text = if a.json {
        sinks::json_text(&to_json(&sc, &step, &run, timeline.as_ref()))?
    } else {
        render(&sc, &step, &run)
    };
    sinks::emit(a.output.as_deref(), &text)
}

/// One step at the scenario's network fidelity.
pub fn run_step(sc: &Scenario) -> StepResult {
    match sc.network {
        NetworkModel::Analytical => simulate_step(sc),
        NetworkModel::Flow => {
            sinks::status("routing the job's traffic on the fabric ...");
            let fabric = Fabric::build(&sc.cluster.fabric_spec);
            let comm = FlowComm::for_scenario(sc, &fabric, sc.routing, 1);
            simulate_step_with(sc, &comm)
        }
    }
}

/// Maps the flags onto the core's overrides.
pub fn overrides(o: &OverrideArgs) -> CliResult<Overrides> {
    Ok(Overrides {
        cluster_preset: o.cluster.clone(),
        model: o.model.as_deref().map(input::model_arg).transpose()?,
        gpu: o.gpu.clone(),
        gpus: o.gpus,
        tp: o.tp,
        pp: o.pp,
        vpp: o.vpp,
        cp: o.cp,
        ep: o.ep,
        dp: o.dp,
        micro_batch: o.micro_batch,
        global_batch: o.global_batch,
        seq_len: o.seq_len,
        tokens: o.tokens,
        precision: o.precision.map(|p| match p {
            PrecisionArg::Fp16 => Precision::Fp16,
            PrecisionArg::Bf16 => Precision::Bf16,
            PrecisionArg::Fp8 => Precision::Fp8,
        }),
        recompute: o.recompute.map(|r| match r {
            RecomputeArg::None => Recompute::None,
            RecomputeArg::Selective => Recompute::Selective,
            RecomputeArg::Full => Recompute::Full,
        }),
        sequence_parallel: o.sequence_parallel,
        distributed_optimizer: o.distributed_optimizer,
        network: o.network.map(|n| match n {
            NetworkArg::Analytical => NetworkModel::Analytical,
            NetworkArg::Flow => NetworkModel::Flow,
        }),
        routing: o.routing.map(|r| match r {
            RoutingArg::Ecmp => Routing::Ecmp,
            RoutingArg::Adaptive => Routing::Adaptive,
        }),
        seed: o.seed,
    })
}

fn to_json(
    sc: &Scenario,
    step: &StepResult,
    run: &RunReport,
    timeline: Option<&Timeline>,
) -> serde_json::Value {
    let rel = &run.reliability;
    let pw = &run.power;
    let bd: serde_json::Map<String, serde_json::Value> = step
        .breakdown
        .entries()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.0)))
        .collect();
    let mem = &step.memory;
    let gib = |b: memphis_core::units::Bytes| b.gib();
    let p = &sc.plan;
    json!({
        "scenario": sc.name,
        "cluster": {
            "name": sc.cluster.name,
            "gpu": sc.cluster.gpu.name,
            "gpus": sc.cluster.gpus,
            "gpus_per_node": sc.cluster.gpus_per_node,
            "nic_gbps": sc.cluster.nic.gbps,
        },
        "model": {
            "name": sc.model.name,
            "params": sc.model.total_params(),
            "active_params": sc.model.active_params(),
        },
        "plan": {
            "tp": p.tp, "pp": p.pp, "vpp": p.vpp, "cp": p.cp, "ep": p.ep, "dp": p.dp,
            "micro_batch": p.micro_batch, "micro_batches": step.micro_batches,
            "sequence_parallel": p.sequence_parallel, "recompute": p.recompute,
            "distributed_optimizer": p.distributed_optimizer,
            "global_batch": sc.run.global_batch, "seq_len": sc.run.seq_len,
            "precision": sc.run.precision,
        },
        "network": sc.network,
        "routing": sc.routing,
        "step": {
            "time_s": step.time.0,
            "mfu": step.mfu,
            "tflops_per_gpu": step.tflops_per_gpu,
            "tokens_per_s": step.tokens_per_s,
            "model_flops": step.model_flops.0,
            "critical_stage": step.critical_stage,
            "slowest_stage": timeline.as_ref().map_or(step.critical_stage, |t| t.slowest_stage),
            "model": if timeline.is_some() { "timeline" } else { "analytical" },
            "breakdown": bd,
        },
        "memory": {
            "per_gpu_gib": gib(mem.total()),
            "capacity_gib": gib(sc.cluster.gpu.hbm_capacity),
            "fits": step.fits,
            "stage": mem.stage,
            "weights_gib": gib(mem.weights),
            "gradients_gib": gib(mem.gradients),
            "optimizer_gib": gib(mem.optimizer),
            "activations_gib": gib(mem.activations),
            "reserved_gib": gib(mem.reserved),
        },
        "run": {
            "gpus": sc.job_gpus(),
            "spare_gpus": sc.spare_gpus(),
            "tokens": sc.run.tokens,
            "steps": run.steps,
            "ideal_days": run.ideal_days,
            "days_p10": rel.days_p10,
            "days_p50": rel.days_p50,
            "days_p90": rel.days_p90,
            "gpu_hours": run.gpu_hours,
        },
        "reliability": {
            "job_mtbf_hours": rel.job_mtbf_hours,
            "interruptions": rel.interruptions,
            "planned_interruptions": rel.planned_interruptions,
            "checkpoint_interval_min": rel.checkpoint_interval_min,
            "checkpoint_size_tb": rel.checkpoint.size_bytes / 1e12,
            "checkpoint_stall_s": rel.checkpoint.stall_s,
            "restart_min": rel.checkpoint.restart_s / 60.0,
            "ettr": rel.ettr,
            "ettr_expected": rel.ettr_expected,
            "spare_gpus": rel.spare_gpus,
            "spare_wait_hours": rel.spare_wait_hours,
        },
        // The job's figures under the historical keys, the site's beside them.
        "power": {
            "it_mw": pw.it_mw,
            "facility_mw": pw.facility_mw,
            "swing_mw": pw.swing_mw,
            "swing_source": pw.swing_source,
            "peak_it_mw": pw.peak_it_mw,
            "pue": pw.pue,
            "cooling": sc.power.cooling,
            "facility_mw_other_cooling": pw.facility_mw_other_cooling,
            "other_cooling": pw.other_cooling,
            "parts": pw.parts,
            "profile": pw.profile,
            "timeline": pw.timeline,
            // The same figure as swing_mw when it comes from the timeline.
            "timeline_swing_mw": pw.timeline.as_ref().map(|_| pw.swing_mw),
            "site": pw.site,
        },
        "energy": {
            "step_mwh": pw.step_mwh,
            "run_mwh": run.footprint.run_mwh,
            "run_mwh_other_cooling": run.footprint.run_mwh_other_cooling,
            "j_per_token": run.footprint.j_per_token,
            "site": {
                "step_mwh": pw.site.step_mwh,
                "run_mwh": run.footprint.site.run_mwh,
                "run_mwh_other_cooling": run.footprint.site.run_mwh_other_cooling,
            },
        },
        "carbon": {
            "run_tco2e": run.footprint.run_tco2e,
            "gco2_per_kwh": sc.power.gco2_per_kwh(),
            "turbine_share": sc.power.grid.turbine_share,
            "grid_gco2_per_kwh": sc.power.grid.grid_gco2_per_kwh,
            "site": { "run_tco2e": run.footprint.site.run_tco2e },
        },
        "water": {
            "run_m3": run.footprint.run_m3,
            "site": { "run_m3": run.footprint.site.run_m3 },
        },
    })
}

fn render(sc: &Scenario, step: &StepResult, run: &RunReport) -> String {
    let p = &sc.plan;
    let mut o = String::new();
    let _ = writeln!(o, "memphis · {}", sc.name);
    let _ = writeln!(
        o,
        "  cluster  {}: {} x {} ({} per server, {:.0}G NIC per GPU)",
        sc.cluster.name,
        count(sc.cluster.gpus),
        sc.cluster.gpu.name,
        sc.cluster.gpus_per_node,
        sc.cluster.nic.gbps
    );
    let moe = sc
        .model
        .moe
        .map(|m| format!(", MoE {}x top-{}", m.experts, m.topk))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "  model    {}: {} parameters{moe}",
        sc.model.name,
        si(sc.model.total_params())
    );
    let _ =
        writeln!(
        o,
        "  plan     {} = {} GPUs ({} spare) · micro-batch {} x {} · {} seq {} · {:?} recompute{}{}",
        p.label(),
        count(sc.job_gpus()),
        count(sc.spare_gpus()),
        p.micro_batch,
        step.micro_batches,
        count(sc.run.global_batch),
        count(sc.run.seq_len),
        p.recompute,
        if p.sequence_parallel { " · SP" } else { "" },
        if p.distributed_optimizer { " · dist-opt" } else { "" },
    );
    let _ = writeln!(o, "\n{}", sinks::heading("step"));
    let _ = writeln!(o, "  time         {}", duration(step.time.0));
    let _ = writeln!(o, "  MFU          {}", pct(step.mfu));
    let _ = writeln!(o, "  per GPU      {:.0} TFLOP/s", step.tflops_per_gpu);
    let _ = writeln!(o, "  throughput   {} tokens/s", si(step.tokens_per_s));
    let _ = writeln!(
        o,
        "\nbreakdown (exposed time, critical stage {})",
        step.critical_stage
    );
    let total = step.time.0.max(1e-30);
    for (k, v) in step.breakdown.entries() {
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
    let mem = &step.memory;
    let cap = sc.cluster.gpu.hbm_capacity.gib();
    let _ = writeln!(o, "\nmemory per GPU (stage {})", mem.stage);
    for (k, v) in [
        ("weights", mem.weights),
        ("gradients", mem.gradients),
        ("optimizer", mem.optimizer),
        ("activations", mem.activations),
        ("reserved", mem.reserved),
    ] {
        let _ = writeln!(o, "  {:<12} {:>7.1} GiB", k, v.gib());
    }
    let verdict = if step.fits { "fits" } else { "DOES NOT FIT" };
    let _ = writeln!(
        o,
        "  {:<12} {:>7.1} GiB of {:.1} GiB: {verdict}",
        "total",
        mem.total().gib(),
        cap
    );
    let _ = writeln!(o, "\n{}", sinks::heading("run"));
    let _ = writeln!(
        o,
        "  tokens       {} in {} steps",
        si(sc.run.tokens),
        count(run.steps as u64)
    );
    let _ = writeln!(
        o,
        "  ideal time   {:.1} days (no failures, no checkpoints)",
        run.ideal_days
    );
    let rel = &run.reliability;
    let _ = writeln!(
        o,
        "  with failures {:.1} days p50 ({:.1} p10, {:.1} p90) · {} GPU-hours",
        rel.days_p50,
        rel.days_p10,
        rel.days_p90,
        si(run.gpu_hours)
    );
    let _ = writeln!(o, "\n{}", sinks::heading("reliability"));
    let _ = writeln!(
        o,
        "  job MTBF     {} ({:.0} interruptions over the run, {:.0} planned)",
        duration(rel.job_mtbf_hours * 3600.0),
        rel.interruptions,
        rel.planned_interruptions
    );
    let _ = writeln!(
        o,
        "  checkpoint   every {} · {:.1} TB · stall {} ({}) · restart {}",
        duration(rel.checkpoint_interval_min * 60.0),
        rel.checkpoint.size_bytes / 1e12,
        duration(rel.checkpoint.stall_s),
        if sc.reliability.async_checkpoint {
            "async"
        } else {
            "sync"
        },
        duration(rel.checkpoint.restart_s)
    );
    let _ = writeln!(
        o,
        "  ETTR         {} (analytic {}) · {} spare GPUs",
        pct(rel.ettr),
        pct(rel.ettr_expected),
        count(rel.spare_gpus)
    );
    if rel.spare_wait_hours > 0.0 {
        let _ = writeln!(
            o,
            "  spares ran out: {:.1} h waiting for repairs",
            rel.spare_wait_hours
        );
    }
    let pw = &run.power;
    let site = &pw.site;
    let _ = writeln!(
        o,
        "\npower of the job ({:?} cooling, PUE {:.2})",
        sc.power.cooling, pw.pue
    );
    let _ = writeln!(
        o,
        "  IT           {:.2} MW average, {:.2} MW peak ({} GPUs on {} servers)",
        pw.it_mw,
        pw.peak_it_mw,
        count(sc.job_gpus()),
        count(site.job_nodes)
    );
    let _ = writeln!(
        o,
        "  facility     {:.2} MW ({:?} cooling would draw {:.2} MW)",
        pw.facility_mw, pw.other_cooling, pw.facility_mw_other_cooling
    );
    let _ = writeln!(
        o,
        "  swing        {:.2} MW facility over one step (from the {})",
        pw.swing_mw, pw.swing_source
    );
    let total_mw: f64 = pw.parts.iter().map(|p| p.mw).sum();
    for part in pw.parts.iter().filter(|p| p.mw > 0.0) {
        let _ = writeln!(
            o,
            "    {:<30} {:>8.2} MW  {:>6}",
            part.name,
            part.mw,
            pct(part.mw / total_mw.max(1e-30))
        );
    }
    let _ = writeln!(
        o,
        "  site         {:.2} MW IT, {:.2} MW facility: {} GPUs, {} idle at idle power",
        site.it_mw,
        site.facility_mw,
        count(site.gpus),
        count(site.idle_gpus)
    );
    let fp = &run.footprint;
    let _ = writeln!(o, "\nenergy, carbon, water of the job (whole run, p50)");
    let _ = writeln!(
        o,
        "  energy       {} MWh ({:.1} kWh per step, {:.2} J per token; {:?} cooling: {} MWh)",
        si(fp.run_mwh),
        pw.step_mwh * 1000.0,
        fp.j_per_token,
        pw.other_cooling,
        si(fp.run_mwh_other_cooling)
    );
    let _ = writeln!(
        o,
        "  carbon       {} t CO2e ({:.0} g/kWh, {} from gas turbines)",
        si(fp.run_tco2e),
        sc.power.gco2_per_kwh(),
        pct(sc.power.grid.turbine_share)
    );
    let _ = writeln!(
        o,
        "  water        {} m³ (on site and upstream)",
        si(fp.run_m3)
    );
    let _ = writeln!(
        o,
        "  site         {} MWh · {} t CO2e · {} m³ over the same time",
        si(fp.site.run_mwh),
        si(fp.site.run_tco2e),
        si(fp.site.run_m3)
    );
    if !step.fits {
        let _ = writeln!(
            o,
            "\nwarning: this plan needs {:.1} GiB per GPU but the {} has {:.1} GiB; raise tp/pp, use recompute or the distributed optimizer",
            mem.total().gib(),
            sc.cluster.gpu.name,
            cap
        );
    }
    o
}
