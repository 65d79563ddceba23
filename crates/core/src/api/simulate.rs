//! `simulate`: one step and the whole run of a scenario.

use crate::error::Result;
use crate::fabric::Routing;
use crate::plan::{self, Objective};
use crate::power::{Cooling, PowerReport};
use crate::run::RunReport;
use crate::scenario::{MergedScenario, NetworkModel, ParallelFile, Scenario, ScenarioLayers};
use crate::step::{self, Breakdown, Heterogeneity, StepModel, StepResult, Timeline};
use crate::workload::memory::{fills_tightly, memory_per_stage, tight_memory_caveat};
use crate::workload::{ParallelPlan, Precision};
use serde::Serialize;

/// A scenario ready to simulate, and what memphis decided on the user's behalf.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The validated scenario.
    pub scenario: Scenario,
    /// Decisions worth telling the user (a plan chosen by the planner, say).
    pub notes: Vec<String>,
}

/// Where the user sets a field, for the hints in notes and errors: command-line flags
/// (`simulate`, `plan`, `reliability`, `power`: `--tokens`, `--plan auto`,
/// `--allow-oom`), or a jobs file's `[[job]]` sections (`jobs`, `place`), which have no
/// planner and no `--allow-oom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hints {
    /// Command-line flags.
    Flags,
    /// A jobs file.
    JobsFile,
}

impl Hints {
    /// How to set the fields `names` of a scenario `section`: `--tokens, --seq-len`, or
    /// `tokens, seq_len in the job's [job.training]`.
    fn set(self, section: &str, names: &[&str]) -> String {
        match self {
            Hints::Flags => names
                .iter()
                .filter_map(|n| crate::scenario::flag_of(&format!("{section}.{n}")))
                .collect::<Vec<_>>()
                .join(", "),
            Hints::JobsFile => format!("{} in the job's [job.{section}]", names.join(", ")),
        }
    }

    /// How to give field `name` of `section` the value `value` (as TOML writes it):
    /// `--recompute full`, or `recompute = "full" in the job's [job.parallel]`.
    fn assign(self, section: &str, name: &str, value: &str) -> String {
        match self {
            Hints::Flags => {
                let bare = value.trim_matches('"');
                format!("{} {bare}", self.set(section, &[name]))
            }
            Hints::JobsFile => format!("{name} = {value} in the job's [job.{section}]"),
        }
    }
}

/// Builds the scenario from its layers. When the user wrote no plan field and the
/// preset's plan does not suit the model, cluster or job they chose (it is invalid, or
/// does not fit in memory), the planner picks one, and a note says so.
pub fn resolve(layers: &ScenarioLayers) -> Result<Resolved> {
    resolve_allowing_oom(layers, false)
}

/// [`resolve`], but with `allow_oom` a preset plan that does not fit is kept (the user
/// asked to run it anyway) instead of replaced by the planner's.
pub fn resolve_allowing_oom(layers: &ScenarioLayers, allow_oom: bool) -> Result<Resolved> {
    resolve_with(layers, allow_oom, Hints::Flags)
}

/// [`resolve_allowing_oom`], its notes worded for where the user sets fields.
pub fn resolve_with(layers: &ScenarioLayers, allow_oom: bool, hints: Hints) -> Result<Resolved> {
    let merged = layers.merge()?;
    let (r, planned) = resolve_plan(&merged, allow_oom, hints)?;
    Ok(with_context(layers, &merged, r, !planned, hints))
}

/// The notes every resolution ends with: what the model's config.json has that memphis
/// does not model (first), then what was inherited from the preset.
fn with_context(
    layers: &ScenarioLayers,
    merged: &MergedScenario,
    mut r: Resolved,
    plan_kept: bool,
    hints: Hints,
) -> Resolved {
    r.notes
        .extend(inherited(merged, &r.scenario, plan_kept, hints));
    r.notes.extend(straddling(&r.scenario));
    r.notes.extend(part_server_note(&r.scenario));
    r.notes.extend(one_bucket_note(&r.scenario, hints));
    r.notes.extend(scenario_notes(merged, &r.scenario, hints));
    r.notes.extend(r.scenario.unused_recipe_in_plan(
        |f| merged.wrote(&format!("training.{f}")),
        |section, field| hints.set(section, &[field]),
    ));
    if merged.wrote("routing") && r.scenario.network == crate::scenario::NetworkModel::Analytical {
        r.notes.push(format!(
            "routing = {} applies at flow level only (--network flow); the analytical network model has no paths to route",
            crate::serde_name(&r.scenario.routing)
        ));
    }
    if let Some(m) = &layers.model {
        r.notes.splice(0..0, m.warnings.iter().cloned());
    }
    r
}

/// The planner's plan for a model other than the preset's (`made_for`), around the plan
/// fields given; `None` where the preset's plan stands instead (a whole plan given, or
/// with `allow_oom` when no plan fits), checked by the caller.
fn plan_for_other_model(
    merged: &MergedScenario,
    made_for: &str,
    allow_oom: bool,
    hints: Hints,
) -> Result<Option<(Resolved, bool)>> {
    let written = merged.written_plan();
    // The scenario with a trivial plan: what fails here is not the plan's doing (a bad
    // token count, say), and is said as it is; but for the job's GPUs derived from a dp
    // given (with the plan fields not given), the plan's own check says it in those terms.
    let base = match merged.for_planning() {
        Ok(base) => base,
        Err(e) if merged.wrote("parallel.dp") && !merged.wrote("training.gpus") => {
            return Err(merged.validate().err().unwrap_or_else(|| merged.blame(e)));
        }
        Err(e) => return Err(e),
    };
    // A plan given whole but for the fields with defaults is completed with them.
    let moe = base.model.moe.is_some();
    let completed = written.completed(moe, merged.file.training.seq_len);
    let fixed = completed.clone().unwrap_or_else(|| written.clone());
    let whole = fixed.sets_all_of(&base.plan);
    let pick = match best_plan(&base, &fixed) {
        // The planner refuses the plan fields given (none of its plans has them all):
        // its reason, not a plan that fills the rest in from the preset's plan for
        // another model (or the rule the fields given break, `plan_refused`).
        Err(e) if !whole => return Err(merged.plan_refused(e, moe)),
        Ok(None) if !allow_oom && !whole => {
            // No plan for this model fits: say so, not what the preset's plan breaks.
            return Err(none_fits(&base, &fixed));
        }
        Ok(None) if !whole => {
            // With --allow-oom and no plan that fits: the plan with the fields given that
            // needs the least memory runs, as asked, not the preset's plan for another
            // model filled in under them.
            let Some(least) = plan::least_memory(&base, &fixed) else {
                return Err(none_fits(&base, &fixed));
            };
            let mut scenario = base.clone();
            scenario.plan = least.plan;
            let notes = vec![format!(
                "no plan of {} {}fits; as allowed, the one that needs the least memory runs: {} ({:.1} GiB a GPU of {:.1})",
                scenario.model.name,
                if merged.wrote_in("parallel") { "with the plan fields you gave " } else { "" },
                scenario.plan.chosen_label(),
                least.total.gib(),
                scenario.cluster.gpu.hbm_capacity.gib()
            )];
            return Ok(Some((Resolved { scenario, notes }, true)));
        }
        Ok(Some(pick)) => pick,
        // A whole plan the planner does not search (or that does not fit, with
        // --allow-oom): run as given, the rest at memphis's defaults, not the preset's.
        _ => {
            let Some(plan) = completed else {
                return Ok(None);
            };
            let notes = defaults_note(&written, &plan, moe);
            let scenario = merged.with_plan(plan)?;
            return Ok(Some((Resolved { scenario, notes }, true)));
        }
    };
    if fixed.sets_all_of(&pick.best.plan) {
        // Every plan field given (or defaulted): the plan is the user's, not the
        // planner's.
        let r = Resolved {
            scenario: pick.best.apply(&base),
            notes: defaults_note(&written, &fixed, moe),
        };
        return Ok(Some((r, true)));
    }
    // Where few fields were left to it, the note names them: the label alone reads as if
    // the planner had chosen the whole plan.
    // The planner also chooses etp for an MoE model where none is given; said where its
    // choice is not the default (tp), which a reader of the flags would assume.
    let mut left = written.missing_to_complete(moe);
    if moe && written.etp.is_none() && pick.best.plan.etp != pick.best.plan.tp {
        left.push("etp");
    }
    let around = match left.as_slice() {
        _ if !merged.wrote_in("parallel") => String::new(),
        few @ [_, ..] if few.len() <= 3 => format!(
            " around the plan fields you gave (the field{} it chose: {})",
            if few.len() == 1 { "" } else { "s" },
            crate::text::and_list(few)
        ),
        _ => " around the plan fields you gave".to_string(),
    };
    let whose = merged.source();
    let r = chosen(merged, &base, &fixed, &pick, hints, |sc| {
        format!(
            "the plan of {whose} was made for {made_for}; the planner chose {} for {}{around}{}",
            sc.plan.chosen_label(),
            sc.model.name,
            where_planned(merged)
        )
    });
    Ok(Some((r, true)))
}

/// The planner's `pick` on `base` as resolved: the note `why` words first, then
/// [`room_note`]'s and [`fewer_gpus_note`]'s, if any.
fn chosen(
    merged: &MergedScenario,
    base: &Scenario,
    fixed: &ParallelFile,
    pick: &Pick,
    hints: Hints,
    why: impl FnOnce(&Scenario) -> String,
) -> Resolved {
    let best = &pick.best;
    let scenario = best.apply(base);
    let mut notes = vec![why(&scenario)];
    notes.extend(room_note(
        base,
        best,
        pick.with_room.as_ref(),
        Objective::Step,
        hints,
    ));
    notes.extend(fewer_gpus_note(
        &merged.file,
        base,
        fixed,
        Objective::Step,
        best,
        hints,
    ));
    Resolved { scenario, notes }
}

/// Where the planner's best fills the GPU tightly, its best plan that leaves room:
/// how much slower, and the flags (or a jobs file's fields) that run it.
pub fn room_note(
    sc: &Scenario,
    best: &plan::PlanResult,
    with_room: Option<&plan::PlanResult>,
    objective: Objective,
    hints: Hints,
) -> Option<String> {
    let r = with_room.filter(|_| best.memory_tight)?;
    let (theirs, ours) = by_objective(objective, r, best);
    let slower = 100.0 * (r.score(objective) / best.score(objective) - 1.0);
    let than = match objective {
        Objective::Step => "slower than",
        Objective::TimeToTrain => "more than",
    };
    Some(format!(
        "the planner's best plan that leaves room is {} at {:.1} GiB of {:.1} GiB: {theirs}, {slower:.1}% {than} the best's {ours}; to run it, {}",
        r.plan.chosen_label(),
        r.memory_gib,
        sc.cluster.gpu.hbm_capacity.gib(),
        whole_plan_hint(&r.plan, sc.model.moe.is_some(), hints)
    ))
}

/// Two plans by the objective, as the notes that weigh one against the planner's best
/// say them: ("2.924 s a step", "2.844 s"), or in days to train.
fn by_objective(
    objective: Objective,
    other: &plan::PlanResult,
    best: &plan::PlanResult,
) -> (String, String) {
    match objective {
        // The days too: a plan ranked by its step may still train slower or faster
        // for its failures (spares that another GPU count leaves, or takes).
        Objective::Step => (
            format!(
                "{:.3} s a step ({} days to train)",
                other.step_time_s,
                crate::text::sig3(other.days_to_train)
            ),
            format!(
                "{:.3} s ({} days)",
                best.step_time_s,
                crate::text::sig3(best.days_to_train)
            ),
        ),
        Objective::TimeToTrain => (
            format!("{} days to train", crate::text::sig3(other.days_to_train)),
            format!("{} days", crate::text::sig3(best.days_to_train)),
        ),
    }
}

/// The flags (or a jobs file's fields) that give `plan` whole, so that it runs as the
/// planner found it.
fn whole_plan_hint(plan: &crate::workload::ParallelPlan, moe: bool, hints: Hints) -> String {
    let Ok(toml::Value::Table(fields)) = toml::Value::try_from(plan) else {
        return String::new();
    };
    // Every field of the plan but dp (which follows the GPUs), and those that mean
    // nothing here: ep and etp for a dense model, vpp without a pipeline.
    let given: Vec<(&str, String)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_string()))
        .filter(|(n, _)| *n != "dp")
        .filter(|(n, _)| moe || !["ep", "etp"].contains(n))
        .filter(|(n, _)| *n != "vpp" || plan.pp > 1)
        .collect();
    match hints {
        Hints::Flags => given
            .iter()
            .map(|(n, v)| hints.assign("parallel", n, v))
            .collect::<Vec<_>>()
            .join(" "),
        Hints::JobsFile => format!(
            "{} in the job's [job.parallel]",
            given
                .iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The plan fields a whole plan left to memphis's defaults ([`ParallelFile::completed`]),
/// named (ep and etp only for an MoE model, where they mean something).
fn defaults_note(written: &ParallelFile, completed: &ParallelFile, moe: bool) -> Vec<String> {
    let filled = defaulted_fields(written, completed, moe);
    if filled.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "the plan fields you did not give take memphis's defaults, as a scenario file does: {}",
        filled.join(", ")
    )]
}

/// The fields of `completed` that `written` does not give, as `name = value` (those
/// that mean something here: not dp, which follows from the GPUs, nor ep and etp for a
/// dense model, vpp without a pipeline or sequence parallelism without tp).
fn defaulted_fields(written: &ParallelFile, completed: &ParallelFile, moe: bool) -> Vec<String> {
    let table = |p: &ParallelFile| match toml::Value::try_from(p) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let given = table(written);
    table(completed)
        .into_iter()
        .filter(|(k, _)| !given.contains_key(k) && k != "dp")
        .filter(|(k, _)| moe || (k != "ep" && k != "etp"))
        .filter(|(k, _)| !(k == "vpp" && completed.pp == Some(1)))
        .filter(|(k, _)| !(k == "sequence_parallel" && completed.tp == Some(1)))
        .map(|(k, v)| format!("{k} = {v}"))
        .collect()
}

/// The scenario, and whether the planner chose its plan (else it is the one written,
/// with the preset's fields, some perhaps derived again: the notes say which).
fn resolve_plan(
    merged: &MergedScenario,
    allow_oom: bool,
    hints: Hints,
) -> Result<(Resolved, bool)> {
    // A preset's plan was made for the preset's model. For another model (--model, a
    // config.json, a [model] of the user's) the planner plans this one around any plan
    // fields given; only where no plan fits does the preset's plan stand, with its own
    // checks below.
    if let Some(made_for) = other_model(merged) {
        if let Some(r) = plan_for_other_model(merged, &made_for, allow_oom, hints)? {
            return Ok(r);
        }
    }
    if merged.wrote_in("parallel") {
        // The plan fields the user gave are kept; when the preset's others cannot go
        // with them, the planner fills those in (the user's fixed), and says so.
        let e = match merged.validate_with_notes() {
            Ok((scenario, notes)) => return Ok((Resolved { scenario, notes }, false)),
            Err(e) => e,
        };
        let fixed = merged.written_plan();
        let Ok(base) = merged.for_planning() else {
            return Err(e);
        };
        let Ok(Some(pick)) = best_plan(&base, &fixed) else {
            return Err(e);
        };
        let r = chosen(merged, &base, &fixed, &pick, hints, |sc| {
            format!(
                "the plan fields you gave do not go with the rest of {}'s plan ({e}); the planner chose {} around them{}",
                merged.preset.as_deref().unwrap_or("the scenario"),
                sc.plan.chosen_label(),
                where_planned(merged)
            )
        });
        return Ok((r, true));
    }
    let strict = merged.file.clone().validate();
    let reason = match &strict {
        Ok(sc) => {
            let s = crate::step::simulate_step(sc);
            if s.fits || allow_oom {
                let scenario = strict?;
                return Ok((
                    Resolved {
                        scenario,
                        notes: Vec::new(),
                    },
                    false,
                ));
            }
            format!(
                "needs {:.1} GiB per GPU of {:.1}",
                s.memory.total().gib(),
                sc.cluster.gpu.hbm_capacity.gib()
            )
        }
        Err(e) => e.to_string(),
    };
    // The preset's plan does not suit this job: plan it. Where the rest of the scenario
    // cannot be planned for, the first error stands, unless it is the preset's plan's
    // (which the user did not write): then what keeps the planner out is the error.
    let base = match merged.for_planning() {
        Ok(base) => base,
        Err(planning) => {
            let first = merged.validate().err().unwrap_or(planning.clone());
            // A batch that is no multiple of the default plan's dp is the plan's doing.
            let of_the_plan = first.field().is_some_and(|f| {
                f.starts_with("parallel") || f == "training.gpus" || f == "training.global_batch"
            });
            return Err(if of_the_plan { planning } else { first });
        }
    };
    let pick = match best_plan(&base, &Default::default()) {
        Ok(Some(b)) => b,
        // Plans there are, but none fits: that is what is wrong, whatever the preset's
        // plan (which the user did not write) says.
        Ok(None) => return Err(none_fits(&base, &Default::default())),
        // No plan either. The rest of the scenario is valid (it was built for
        // planning), so what the preset's plan breaks matters less than why no plan
        // exists, which the planner's error names (10,000 GPUs and a global batch of
        // 12,288 share no dp). A field the user did not write (the preset's batch) is
        // said as the conflict it is with the fields they did, as `plan` says it.
        Err(e) => {
            return Err(match e.field() {
                Some(f) if !merged.wrote(f) => merged.blame(e),
                _ => e,
            })
        }
    };
    // No preset and no plan written: memphis's default plan (every GPU data-parallel).
    let from = match merged.preset.as_deref() {
        Some(p) => format!("the plan of {}", crate::scenario::preset_named(p)),
        None => "the default plan (TP1 PP1 CP1, every GPU data-parallel)".to_string(),
    };
    // The reason last, unbracketed: it may hold brackets of its own.
    let r = chosen(merged, &base, &Default::default(), &pick, hints, |sc| {
        format!(
            "the planner chose {}{}, since {from} does not suit this job: {reason}",
            sc.plan.chosen_label(),
            where_planned(merged)
        )
    });
    Ok((r, true))
}

/// Where the sequence decided sequence parallelism for the user: off for a tp the
/// sequence does not split over, or, asked for, keeping tp at 1 for an odd sequence.
fn sequence_parallel_notes(merged: &MergedScenario, sc: &Scenario, hints: Hints) -> Vec<String> {
    let mut notes = Vec::new();
    if sc.plan.tp == 1
        && sc.plan.sequence_parallel
        && merged.wrote("parallel.sequence_parallel")
        && !merged.wrote("parallel.tp")
        && !sc.run.seq_len.is_multiple_of(2)
    {
        notes.push(format!(
            "sequence_parallel = true keeps tp at 1: an odd seq_len ({}) splits over no tp of 2 or more; {} opens them",
            sc.run.seq_len,
            hints.assign("parallel", "sequence_parallel", "false")
        ));
    }
    let p = &sc.plan;
    let tc = u64::from(p.tp) * u64::from(p.cp);
    if p.tp > 1
        && !p.sequence_parallel
        && !merged.wrote("parallel.sequence_parallel")
        && !sc.run.seq_len.is_multiple_of(tc)
    {
        notes.push(format!(
            "sequence parallelism is off: seq_len = {} does not split over tp x cp = {tc}, so each tp rank keeps the whole sequence's norm and dropout activations; a seq_len that is a multiple of {tc} would shard them",
            sc.run.seq_len
        ));
    }
    notes
}

/// `[power]` fields that replace the cluster's own (its site's) value of the same field
/// with another: as documented, but said, since both were written somewhere.
fn power_over_cluster(merged: &MergedScenario) -> Vec<String> {
    let table = |v: Option<toml::Value>| match v {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let cluster = table(
        merged
            .file
            .cluster
            .clone()
            .resolved()
            .ok()
            .and_then(|c| toml::Value::try_from(c).ok()),
    );
    let power = table(toml::Value::try_from(&merged.file.power).ok());
    power
        .iter()
        .filter_map(|(k, v)| {
            let theirs = cluster.get(k).filter(|c| *c != v)?;
            Some(format!(
                "power.{k} = {v} replaces the cluster's {k} = {theirs} (a scenario's [power] overrides its cluster's site)"
            ))
        })
        .collect()
}

/// Where the planner planned, when the job is placed (`jobs`): its flows were solved on
/// those servers, not the cluster's first.
fn where_planned(merged: &MergedScenario) -> &'static str {
    if merged.servers.is_some() {
        ", for the servers the job is placed on"
    } else {
        ""
    }
}

/// The name of the preset's model when the merged scenario runs another (its fields
/// differ, names aside), so that the preset's plan was not made for it.
fn other_model(merged: &MergedScenario) -> Option<String> {
    let preset = crate::scenario::scenario_preset(merged.preset.as_deref()?).ok()?;
    let theirs = preset.resolved_model().ok()?;
    let ours = merged.file.model.clone().resolved().ok()?;
    // Compared as memphis reads them, names aside: a field a config.json writes with
    // its default value (tie_word_embeddings = false) is the preset's model all the same.
    let content = |m: &crate::scenario::ModelFile| {
        let spec = m.clone().validate("model").ok()?;
        Some(crate::workload::ModelSpec {
            name: String::new(),
            ..spec
        })
    };
    let unnamed = |m: &crate::scenario::ModelFile| crate::scenario::ModelFile {
        name: None,
        description: None,
        ..m.clone()
    };
    let differs = match (content(&theirs), content(&ours)) {
        (Some(a), Some(b)) => a != b,
        _ => unnamed(&theirs) != unnamed(&ours),
    };
    differs.then(|| {
        theirs
            .name
            .clone()
            .unwrap_or_else(|| "its model".to_string())
    })
}

/// Groups small enough for one NVLink domain that straddle two, as consecutive ranks
/// do when their size does not divide the domain (TP 16 on 72-GPU racks): the slowest
/// group crosses the scale-out NICs and the step waits for it.
fn straddling(sc: &Scenario) -> Vec<String> {
    use crate::workload::layout::{GroupKind, RankLayout};
    let gpn = sc.cluster.gpus_per_node;
    let layout = RankLayout::new(&sc.plan, gpn);
    [(GroupKind::Tp, "TP"), (GroupKind::Ep, "EP"), (GroupKind::Cp, "CP")]
        .into_iter()
        .filter_map(|(kind, name)| {
            let shape = layout.shape(kind);
            // A group strided past the server (CP after TP 8) spans servers by design.
            let span = (u64::from(shape.ranks) - 1) * layout.stride(kind) + 1;
            (shape.ranks > 1 && span <= u64::from(gpn) && shape.nodes > 1).then(|| {
                format!(
                    "{name} groups of {} straddle the {gpn}-GPU NVLink domains: the worst spans {} servers with {} of its GPUs on one, and its traffic crosses the scale-out NICs (a group size that tiles {gpn} keeps each group inside one)",
                    shape.ranks, shape.nodes, shape.ranks_per_node
                )
            })
        })
        .collect()
}

/// A pipeline the user or the planner shaped whose chunks hold different layer counts:
/// memphis runs it as Megatron-Core can, told the counts (its default refuses layers that
/// do not divide).
pub(crate) fn uneven_split_note(sc: &Scenario) -> Option<String> {
    let split = sc.plan.layer_split(&sc.model, &sc.run);
    let sizes: std::collections::BTreeSet<u32> = split
        .chunks
        .iter()
        .flatten()
        .map(|r| r.end - r.start)
        .collect();
    if sizes.len() < 2 {
        return None;
    }
    let sizes: Vec<String> = sizes.iter().rev().map(u32::to_string).collect();
    let (pp, vpp) = (sc.plan.pp, sc.plan.vpp);
    let (over, unit) = if vpp > 1 {
        (
            format!("pp x vpp = {pp} x {vpp} = {} chunks", pp * vpp),
            "chunks",
        )
    } else {
        (format!("pp = {pp} stages"), "stages")
    };
    let parts = pp * vpp;
    let given = "--decoder-first/last-pipeline-num-layers or --pipeline-model-parallel-layout";
    Some(if sc.model.layers.is_multiple_of(parts) {
        // Even counts were possible: the split is the balancing of `layer_split`.
        format!(
            "the {unit} hold {} layers, not {} each: memphis balances the work of {over}, whose layers differ (in attention, MLP, or the LM head and MTP layers on the last stage), as Megatron-Core's recipes do with {given}; by default Megatron-Core splits the layers evenly",
            sizes.join(" or "),
            sc.model.layers / parts
        )
    } else {
        format!(
            "the {} layers do not split evenly over {over}: the {unit} hold {} layers (Megatron-Core runs such a split when given the counts, {given}; by default it refuses it)",
            sc.model.layers,
            sizes.join(" or ")
        )
    })
}

/// Where the MFU's full count of attention (Megatron's formula, memphis's headline)
/// passes the work a causal kernel does by a quarter or more, as at long sequences:
/// say so, with the share, so that the causal figure is the one compared with measured
/// utilization.
/// Sliding-window layers under context parallelism: each one's exchange is priced as the
/// whole keys and values, while its attention is priced over the window.
fn windowed_cp_note(sc: &Scenario) -> Option<String> {
    let w = sc
        .model
        .window
        .as_ref()
        .filter(|w| sc.plan.cp > 1 && w.tokens < sc.run.seq_len)?;
    let windowed = (0..sc.model.layers)
        .filter(|&i| sc.model.layer_kind(i).window.is_some())
        .count();
    (windowed > 0).then(|| {
        format!(
            "cp = {} with sliding-window attention ({windowed} of the {} layers, windows of {} tokens): each windowed layer's context-parallel exchange is priced as every rank's keys and values, as an all-gather moves them, and its attention over the window. Transformer Engine runs windowed attention under context parallelism only with cp_comm all_gather or a2a (⚠ from memory of its code); a ring that passed only the window's keys would move less",
            sc.plan.cp,
            sc.model.layers,
            crate::text::grouped(w.tokens),
        )
    })
}

/// A job that ends part-way through a server (an NVLink domain): memphis runs it there,
/// while a jobs file places jobs on whole servers only, so the same job cannot be put
/// to `jobs` as it is.
fn part_server_note(sc: &Scenario) -> Option<String> {
    let (gpus, per) = (sc.job_gpus(), u64::from(sc.cluster.gpus_per_node));
    let rest = gpus % per;
    (per > 1 && rest > 0).then(|| {
        let taken = match gpus / per {
            0 => format!("{rest} of one server's {per} GPUs (an NVLink domain)"),
            whole => format!(
                "{} whole server{} of {per} GPUs (NVLink domains) and {rest} GPUs of one more",
                crate::text::grouped(whole),
                if whole == 1 { "" } else { "s" }
            ),
        };
        format!(
            "the job's {} GPUs take {taken}; memphis runs that part-server as the rank layout places it and counts its hosts' power, while a jobs file (`memphis jobs`) places jobs on whole servers only",
            crate::text::grouped(gpus),
        )
    })
}

/// Overlap asked for where Megatron's default bucket holds each stage's whole gradient:
/// it hides nothing, and the report's DP time is the same as without it.
fn one_bucket_note(sc: &Scenario, hints: Hints) -> Option<String> {
    let (bucket, largest) = crate::step::costs::overlap_in_one_bucket(sc)?;
    // Megatron's default where it is smaller than the buffer (a bucket set larger than
    // it), else a quarter of the buffer.
    let default = crate::workload::plan::Recipe::default().bucket_params(sc.plan.dp);
    let (suggested, which) = if default < largest {
        (default, "Megatron's default at this dp")
    } else {
        (largest / 4.0, "a quarter of that buffer, say")
    };
    let whose = match sc.run.recipe.ddp_bucket_size {
        Some(_) => format!("the gradient bucket of {}", crate::text::si(bucket)),
        None => format!(
            "Megatron's default gradient bucket, max(40M, 1M x dp) = {}",
            crate::text::si(bucket)
        ),
    };
    Some(format!(
        "dp_overlap hides nothing at dp = {}: {whose} parameters holds each stage's whole gradient buffer ({} a GPU at most), so the reduction starts after the backward{}; a smaller bucket overlaps them ({}, {which}; Megatron's flag of that name), but each bucket pays the collective's whole latency over the dp ranks, so many small ones cost more than they hide (the planner does not search it)",
        sc.plan.dp,
        crate::text::si(largest),
        if sc.plan.distributed_optimizer {
            " and the first forward waits for the whole parameter gather"
        } else {
            ""
        },
        hints.assign(
            "training",
            "ddp_bucket_size",
            &format!("\"{}\"", crate::text::si(suggested))
        ),
    ))
}

fn masked_attention_note(sc: &Scenario) -> Option<String> {
    use crate::workload::ops::{model_flops_per_step, AttentionCount};
    let full = model_flops_per_step(&sc.model, &sc.run, AttentionCount::Full);
    let causal = model_flops_per_step(&sc.model, &sc.run, AttentionCount::Causal);
    (full.0 > 1.25 * causal.0).then(|| {
        format!(
            "at {} tokens a sequence, the MFU counts attention's masked half as work, as Megatron's formula does: {:.0}% of the FLOPs it counts are skipped by the causal mask, so the figure \"counting causal attention\" is the work done",
            sc.run.seq_len,
            (1.0 - causal.0 / full.0) * 100.0
        )
    })
}

/// The notes on a scenario that hold whatever the plan: fields written that this run
/// does not use (a section a flag replaced, MoE fields on a dense model, an FP8 recipe
/// without FP8), and a sequence past the model's trained context. `plan` prints them
/// too.
pub fn scenario_notes(merged: &MergedScenario, sc: &Scenario, hints: Hints) -> Vec<String> {
    let mut notes = Vec::new();
    notes.extend(super::cluster::oversized_domain(&sc.cluster));
    if sc.cluster.gpu.liquid_only && sc.power.cooling == crate::power::Cooling::Air {
        notes.push(format!(
            "cooling = air: {} systems are built liquid-cooled only (GPUs and CPUs on cold plates); memphis prices air cooling's PUE as asked",
            sc.cluster.gpu.name
        ));
    }
    notes.extend(super::cluster::unbuilt_ratio(&sc.cluster));
    notes.extend(super::spares_note(sc));
    notes.extend(masked_attention_note(sc));
    notes.extend(windowed_cp_note(sc));
    if sc.network == NetworkModel::Analytical && hints == Hints::Flags {
        notes.extend(super::collective::oversubscribed_note(
            &sc.cluster,
            sc.job_gpus(),
            "--network flow",
        ));
    }
    // Said for a pipeline the user or the planner shaped, not for a preset's own.
    let presets_shape = merged.file.parallel.pp == Some(sc.plan.pp)
        && merged.file.parallel.vpp.unwrap_or(1) == sc.plan.vpp;
    if merged.wrote("parallel.pp") || merged.wrote("parallel.vpp") || !presets_shape {
        notes.extend(uneven_split_note(sc));
    }
    notes.extend(power_over_cluster(merged));
    notes.extend(sequence_parallel_notes(merged, sc, hints));
    notes.extend(sc.unused_recipe(
        |f| merged.wrote(&format!("training.{f}")),
        |section, field, value| hints.assign(section, field, value),
    ));
    for section in ["model", "cluster"] {
        let prefix = format!("{section}.");
        let unused: Vec<&str> = merged
            .replaced
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix))
            .collect();
        if !unused.is_empty() {
            notes.push(format!(
                "--{section} replaces the scenario's [{section}] section: its {} not used",
                match unused.as_slice() {
                    [one] => format!("{one} is"),
                    many => format!("{} are", many.join(", ")),
                }
            ));
        }
    }
    if let Some(n) = sc.model.max_seq_len.filter(|&n| sc.run.seq_len > n) {
        notes.push(format!(
            "seq_len = {} is longer than {}'s max_seq_len = {n}, the longest context it was trained for (the timing holds, but positions past {n} are untrained: extend its context, RoPE scaling, or set {})",
            sc.run.seq_len,
            sc.model.name,
            hints.set("training", &["seq_len"])
        ));
    }
    notes
}

/// The notes `plan` says before its ranking: what the run inherits from the preset (or
/// memphis's defaults) without the user's asking, as `simulate` says it, then
/// [`scenario_notes`]. The plan itself is the planner's, so nothing is said of it.
pub fn plan_notes(merged: &MergedScenario, sc: &Scenario, hints: Hints) -> Vec<String> {
    let mut notes = inherited(merged, sc, false, hints);
    notes.extend(part_server_note(sc));
    notes.extend(scenario_notes(merged, sc, hints));
    notes
}

/// What a user who changed the model or the cluster gets from the preset without
/// asking: the run, and a job size derived from the new cluster. A scenario file with
/// no preset gets the same notes for memphis's own defaults.
fn inherited(merged: &MergedScenario, sc: &Scenario, plan_kept: bool, hints: Hints) -> Vec<String> {
    let mut notes = Vec::new();
    let changed = merged.wrote_in("model") || merged.wrote_in("cluster");
    let preset = match merged.preset.as_deref() {
        Some(p) if changed => crate::scenario::preset_named(p),
        Some(_) => return notes,
        None => "memphis's defaults".to_string(),
    };
    let (keys, run): (Vec<&str>, Vec<String>) = [
        (
            "tokens",
            format!("{} tokens", crate::text::si(sc.run.tokens)),
        ),
        (
            "global_batch",
            format!(
                "steps of {} sequences",
                crate::text::grouped(sc.run.global_batch)
            ),
        ),
        (
            "seq_len",
            format!(
                "sequences of {} tokens",
                crate::text::grouped(sc.run.seq_len)
            ),
        ),
    ]
    .into_iter()
    .filter(|(k, _)| !merged.wrote(&format!("training.{k}")))
    .unzip();
    if !run.is_empty() {
        // Only the fields still to set: those the user wrote are not suggested again.
        notes.push(format!(
            "from {preset}: {} (set {})",
            run.join(", "),
            hints.set("training", &keys)
        ));
    }
    let or_auto = match hints {
        Hints::Flags => ", or --plan auto",
        Hints::JobsFile => "",
    };
    if plan_kept && !merged.wrote_in("parallel") {
        let fields = match hints {
            Hints::Flags => "plan flags",
            Hints::JobsFile => "the job's [job.parallel]",
        };
        notes.push(format!(
            "the plan comes from {preset}: {} (set {fields}{or_auto})",
            sc.plan.label()
        ));
    } else if plan_kept {
        // Some plan fields are the user's, the others still the preset's (or memphis's
        // defaults, where no preset is beneath): name those.
        let kept = match merged.preset {
            Some(_) => merged.unwritten_plan_fields(&sc.plan),
            None => {
                let plan = toml::Value::try_from(&sc.plan)
                    .ok()
                    .and_then(|v| v.try_into::<ParallelFile>().ok())
                    .unwrap_or_default();
                defaulted_fields(&merged.written_plan(), &plan, sc.model.moe.is_some())
            }
        };
        if !kept.is_empty() {
            let whereabouts = match hints {
                Hints::Flags => "",
                Hints::JobsFile => " in the job's [job.parallel]",
            };
            notes.push(format!(
                "from {preset}, the plan fields you did not give: {} (set them{whereabouts}{or_auto})",
                kept.join(", ")
            ));
        }
    }
    if merged.file.training.gpus.is_none()
        && !merged.wrote("parallel.dp")
        && sc.job_gpus() < sc.cluster.gpus
    {
        // The spares given say how many of the rest stand by; else all of them do.
        let free = sc.cluster.gpus - sc.job_gpus();
        let rest = if merged.wrote("reliability.spare_gpus") {
            ""
        } else if free < u64::from(sc.cluster.gpus_per_host.max(1)) {
            // Fewer than a host: no hot spare (a failure takes out a whole host).
            ", the rest stand idle"
        } else {
            ", the rest are hot spares"
        };
        notes.push(format!(
            "the job uses {} of the cluster's {} GPUs{rest} (set {})",
            sc.job_gpus(),
            sc.cluster.gpus,
            hints.set("training", &["gpus"])
        ));
    }
    notes
}

/// How to simulate.
#[derive(Debug, Clone, Default)]
pub struct SimulateOptions {
    /// The step model (the timeline by default).
    pub step_model: StepModel,
    /// Stragglers (timeline only).
    pub stragglers: Heterogeneity,
}

/// The answer to "how does this job run?": its serde output is `simulate --json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SimulationReport {
    /// Scenario name.
    pub scenario: String,
    /// Whether the plan fits in GPU memory (`memory.fits`, here at the top for a JSON
    /// consumer). `false` only when the caller ran it anyway (`--allow-oom`): no real
    /// job could run it, and the first note says so.
    pub fits: bool,
    /// What memphis decided on the user's behalf.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The cluster.
    pub cluster: ClusterSummary,
    /// The model.
    pub model: ModelSummary,
    /// The plan and the batch.
    pub plan: PlanSummary,
    /// Network fidelity.
    pub network: NetworkModel,
    /// Routing, at flow level; absent on the analytical network model, which routes
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// At flow level, each communicator kind's slowest flow with the whole job's
    /// traffic on the fabric, as a fraction of its NIC-bound rate (under ECMP the mean
    /// over the hash draws); absent on the analytical network model, and where no
    /// communicator's traffic leaves its server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contention: Vec<crate::collective::flow::Contention>,
    /// The collectives the step prices, one per communicator and operation (the
    /// largest call): the group, the message, and the algorithm and protocol NCCL's
    /// tuner picks, as `memphis collective` prices them.
    pub collectives: Vec<crate::step::collectives::CollectiveUse>,
    /// One step.
    pub step: StepSummary,
    /// Memory of the fullest GPU.
    pub memory: MemorySummary,
    /// Each pipeline stage: its layers, its time per micro-batch and its memory (the
    /// split balances stages whose layers differ).
    pub stages: Vec<StageSummary>,
    /// The whole run.
    pub run: RunSummary,
    /// Failures and checkpoints.
    pub reliability: ReliabilitySummary,
    /// Power during training.
    pub power: PowerSection,
    /// Energy of a step and of the run.
    pub energy: EnergySection,
    /// Carbon of the run.
    pub carbon: CarbonSection,
    /// Water of the run.
    pub water: WaterSection,
    /// The step's timeline, for the trace and the HTML report (not in the JSON).
    #[serde(skip)]
    pub timeline: Option<Timeline>,
    /// The full step result, for renderers that draw per-stage detail.
    #[serde(skip)]
    pub step_result: StepResult,
}

/// The cluster: its inventory, as `memphis cluster` reports it, and the GPU's memory.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClusterSummary {
    /// Packaging, fabric shape and the counts of its parts.
    #[serde(flatten)]
    pub inventory: super::cluster::ClusterReport,
    /// HBM per GPU, GiB.
    pub hbm_gib: f64,
}

/// The model, briefly.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModelSummary {
    /// Name.
    pub name: String,
    /// Parameters.
    pub params: f64,
    /// Parameters active per token (all of them for a dense model).
    pub active_params: f64,
    /// Experts and experts per token, for a MoE model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<(u32, u32)>,
}

/// The plan and the batch.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlanSummary {
    /// The parallel plan.
    #[serde(flatten)]
    pub plan: ParallelPlan,
    /// The plan as reports write it: "TP8 PP16 (vpp 4) CP2 EP1 DP384" (ETP where it
    /// is not tp).
    pub label: String,
    /// Micro-batches per step per pipeline.
    pub micro_batches: u64,
    /// Sequences per step.
    pub global_batch: u64,
    /// Tokens per sequence.
    pub seq_len: u64,
    /// GEMM precision.
    pub precision: Precision,
    /// The FP8 scaling recipe (absent unless the GEMMs run in FP8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_recipe: Option<crate::workload::plan::Fp8Recipe>,
    /// The recipe: precisions, dispatcher, overlaps, kernels, recompute modules.
    pub recipe: crate::workload::plan::Recipe,
    /// Bytes per parameter the data-parallel gradient reduction moves: 4 (FP32) or 2,
    /// from `recipe.main_grads`, or where it is unset from the precision (FP32 for BF16
    /// and FP8, as Megatron-LM reduces).
    pub grad_reduce_bytes: f64,
}

/// One step.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepSummary {
    /// Seconds per step.
    pub time_s: f64,
    /// Model FLOP utilization against the dense BF16 peak, counting attention over the
    /// whole score matrix (Megatron's formula).
    pub mfu: f64,
    /// The same counting only the causal half of attention (what the kernels compute),
    /// as sources that report useful FLOPs do; lower at long sequences.
    pub mfu_causal: f64,
    /// An FP8 run's MFU against the dense FP8 peak, the ceiling its GEMMs run against
    /// (`mfu` is of the BF16 peak, as published MFU is, and passes 50% in FP8); none for
    /// other precisions.
    pub mfu_of_fp8_peak: Option<f64>,
    /// Model TFLOP/s per GPU.
    pub tflops_per_gpu: f64,
    /// Tokens per second, whole job.
    pub tokens_per_s: f64,
    /// Model FLOPs of one step, whole job.
    pub model_flops: f64,
    /// The stage whose micro-batch time bounds the pipeline.
    pub critical_stage: u32,
    /// The stage that finished last (the timeline's), else the critical stage.
    pub slowest_stage: u32,
    /// Which step model answered.
    pub model: StepModel,
    /// Exposed seconds by kind; they add up to `time_s`.
    pub breakdown: Breakdown,
    /// How sure: the 10th and 90th percentiles of the step time over the GPUs a job of
    /// this size may draw. Each step waits for the job's slowest GPU and per-GPU speed
    /// varies (facts.md §9), so the slowest of N is a random variable: its quantiles
    /// scale the compute (with the bubble and optimizer it paces); communication stays.
    pub band: StepBand,
}

/// The p10–p90 band of the step time.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepBand {
    /// 10th percentile, seconds.
    pub p10_s: f64,
    /// 90th percentile, seconds.
    pub p90_s: f64,
}

impl StepBand {
    /// The band of a step of `time` whose `paced` seconds run at the slowest of `gpus`
    /// GPUs' pace (the expected slowest, as every step time is priced).
    pub fn of(time: f64, paced: f64, gpus: u64) -> StepBand {
        StepBand {
            p10_s: Self::at(time, paced, gpus, 0.1),
            p90_s: Self::at(time, paced, gpus, 0.9),
        }
    }

    /// The `q` quantile (0 < q < 1) of the step time: its `paced` seconds at the pace of
    /// the slowest of `gpus` GPUs drawn, relative to the expected slowest. `power` draws
    /// each step's time from it.
    pub fn at(time: f64, paced: f64, gpus: u64, q: f64) -> f64 {
        use crate::compute::{expected_max_of_normals, gpu_speed_sigma, max_of_normals_quantile};
        let sigma = gpu_speed_sigma();
        let mean = 1.0 + sigma * expected_max_of_normals(gpus);
        let k = (1.0 + sigma * max_of_normals_quantile(gpus, q)) / mean;
        time + paced.min(time) * (k - 1.0)
    }
}

/// Memory per GPU, GiB.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MemorySummary {
    /// Total.
    pub per_gpu_gib: f64,
    /// HBM.
    pub capacity_gib: f64,
    /// Whether it fits.
    pub fits: bool,
    /// Whether it fits with less room than `memory::TIGHT_MEMORY_SHARE` leaves (what
    /// `plan` calls `memory_tight`): the estimate of the memory held back then decides
    /// whether it runs, and a warning says so.
    pub tight: bool,
    /// The stage of the fullest GPU.
    pub stage: u32,
    /// Weights.
    pub weights_gib: f64,
    /// Gradients.
    pub gradients_gib: f64,
    /// Optimizer state.
    pub optimizer_gib: f64,
    /// Activations.
    pub activations_gib: f64,
    /// Allocator and framework reserve.
    pub reserved_gib: f64,
}

/// One pipeline stage.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StageSummary {
    /// Stage index.
    pub stage: u32,
    /// Decoder layers it holds.
    pub layers: u32,
    /// Of them, MoE layers.
    pub moe_layers: u32,
    /// Of them, layers with windowed (local) attention.
    pub windowed_layers: u32,
    /// Multi-token-prediction layers it holds (the last stage).
    pub mtp_layers: u32,
    /// The decoder layers of each of its virtual chunks, as [first, end) (0-based).
    pub chunks: Vec<[u32; 2]>,
    /// Forward and backward of one micro-batch on its compute stream, exposed
    /// communication included, s.
    pub micro_batch_s: f64,
    /// Memory per GPU, GiB.
    pub memory_gib: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunSummary {
    /// Job GPUs.
    pub gpus: u64,
    /// Cluster GPUs the job leaves free; the hot spares among them (whole hosts'
    /// worth, as many as `reliability.spare_gpus` gives) are the reliability section's
    /// `spare_gpus`.
    pub spare_gpus: u64,
    /// Token budget.
    pub tokens: f64,
    /// Optimizer steps.
    pub steps: f64,
    /// Days without failures or checkpoints.
    pub ideal_days: f64,
    /// Days with failures, 10th percentile.
    pub days_p10: f64,
    /// Median.
    pub days_p50: f64,
    /// 90th percentile.
    pub days_p90: f64,
    /// Job GPUs x p50 wall hours.
    pub gpu_hours: f64,
}

/// Failures and checkpoints over the run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ReliabilitySummary {
    /// MTBF, interruptions, checkpoints, restarts, ETTR, spares.
    #[serde(flatten)]
    pub failures: FailureSummary,
}

/// What failures and checkpoints cost a run: the figures `simulate` and `reliability`
/// both report, built in one place from the run's projection.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FailureSummary {
    /// Mean time between unexpected interruptions of the job, hours.
    pub job_mtbf_hours: f64,
    /// Unexpected interruptions over the run, expected: the job's failure rate over the
    /// mean hours the Monte Carlo trials are open to failures (their waits for repairs
    /// and planned restarts aside), or where the run is too long for them (`monte_carlo`
    /// false), over its expected wall time.
    pub interruptions: f64,
    /// Planned interruptions over the run.
    pub planned_interruptions: f64,
    /// Checkpoint interval, minutes (unless set: Daly's optimum, no more often than the
    /// storage or the copy to a peer allows, in whole steps).
    pub checkpoint_interval_min: f64,
    /// Why the interval is what it is, in words.
    pub checkpoint_interval_why: String,
    /// What set the interval.
    pub checkpoint_interval_rule: crate::reliability::IntervalRule,
    /// Storage write bandwidth assumed, TB/s.
    pub storage_write_tbps: f64,
    /// Seconds to write one checkpoint to storage (in the background when asynchronous).
    pub checkpoint_write_s: f64,
    /// Checkpoint size, TB.
    pub checkpoint_size_tb: f64,
    /// Training stall per checkpoint, s.
    pub checkpoint_stall_s: f64,
    /// Whether checkpoints are written asynchronously.
    pub async_checkpoint: bool,
    /// Restart after an interruption, minutes.
    pub restart_min: f64,
    /// Effective training time ratio (Monte Carlo).
    pub ettr: f64,
    /// Analytic ETTR.
    pub ettr_expected: f64,
    /// Hot spare GPUs at the start: whole hosts' worth of those given (or of the GPUs
    /// the job leaves free), since a failure takes a whole host out.
    pub spare_gpus: u64,
    /// Hours waiting for repairs when spares ran out.
    pub spare_wait_hours: f64,
    /// Mean wall-clock days, the ETTR's (the percentiles stay at the failure-free time
    /// when a rare long wait moves the mean).
    pub days_mean: f64,
    /// Whether the days come from the Monte Carlo trials (false: too many interruptions
    /// to simulate, and the analytic ETTR gives them).
    pub monte_carlo: bool,
}

impl FailureSummary {
    pub(crate) fn of(
        rel: &crate::reliability::RunProjection,
        cfg: &crate::reliability::ReliabilityConfig,
    ) -> Self {
        FailureSummary {
            job_mtbf_hours: rel.job_mtbf_hours,
            interruptions: rel.interruptions,
            planned_interruptions: rel.planned_interruptions,
            checkpoint_interval_min: rel.checkpoint_interval_min,
            checkpoint_interval_why: rel.interval_rule.why(),
            checkpoint_interval_rule: rel.interval_rule,
            storage_write_tbps: cfg.storage_write_tbps,
            checkpoint_write_s: rel.checkpoint.write_s,
            checkpoint_size_tb: rel.checkpoint.size_bytes / 1e12,
            checkpoint_stall_s: rel.checkpoint.stall_s,
            async_checkpoint: cfg.async_checkpoint,
            restart_min: rel.checkpoint.restart_s / 60.0,
            ettr: rel.ettr,
            ettr_expected: rel.ettr_expected,
            spare_gpus: rel.spare_gpus,
            spare_wait_hours: rel.spare_wait_hours,
            days_mean: rel.days_mean,
            monte_carlo: rel.monte_carlo,
        }
    }
}

/// Simulates one step with the chosen model and projects the run.
pub fn simulate(sc: &Scenario, opts: &SimulateOptions) -> Result<SimulationReport> {
    // The fabric is built once: for the flow-level network, the power of its switches
    // and the inventory in the report.
    let fabric = crate::fabric::Fabric::build(&sc.cluster.fabric_spec);
    let s = step::simulate_on(sc, Some(&fabric), opts.step_model, &opts.stragglers)?;
    let inv = fabric.inventory();
    let run = crate::run::project_with(sc, &s.result, s.timeline.as_ref(), &inv);
    let mut notes = super::progress_notes(sc, &run.reliability, s.result.time.0)?;
    let mut r = report(sc, s, &run, opts.step_model, &inv);
    if let Some(w) = memory_warning(sc, &r.memory) {
        notes.insert(0, w);
    }
    r.notes = notes;
    Ok(r)
}

/// Memory per GPU of the scenario's plan (its fullest GPU), as `simulate` reports it,
/// from the closed form alone: what a command checks before it runs a plan.
pub fn memory(sc: &Scenario) -> MemorySummary {
    MemorySummary::of(sc, &step::simulate_step(sc))
}

/// What `simulate` and `reliability` (and `jobs`) answer for a plan that does not fit
/// in memory (`m.fits` false): one error naming the plan, what it needs and what would
/// help.
pub fn does_not_fit(sc: &Scenario, m: &MemorySummary, hints: Hints) -> crate::Error {
    let p = &sc.plan;
    // Experts sharded over more ranks hold fewer each: for an MoE model, ep first.
    let mut fixes = match &sc.model.moe {
        Some(moe) if p.ep < moe.experts => vec!["more ep, pp or tp".to_string()],
        _ => vec!["more pp or tp".to_string()],
    };
    if p.recompute != crate::workload::Recompute::Full {
        fixes.push(hints.assign("parallel", "recompute", "\"full\""));
    } else if let Some(n) = p.recompute_layers {
        // A recompute written without recompute_layers recomputes every layer (the
        // merge drops the preset's count).
        let every = match hints {
            Hints::Flags => format!(
                "{} alone",
                hints.assign("parallel", "recompute", "\"full\"")
            ),
            Hints::JobsFile => "recompute = \"full\" without recompute_layers".to_string(),
        };
        fixes.push(format!(
            "more than {n} {} (or {every}: every layer)",
            hints.set("parallel", &["recompute_layers"])
        ));
    }
    if !p.distributed_optimizer && p.dp > 1 {
        fixes.push(hints.assign("parallel", "distributed_optimizer", "true"));
    }
    if p.micro_batch > 1 {
        fixes.push(format!(
            "a smaller {}",
            hints.set("parallel", &["micro_batch"])
        ));
    }
    fixes.push("more GPUs".into());
    let rest = match hints {
        Hints::Flags => {
            ", or --plan auto (the planner's best plan that fits around the plan fields you gave); --allow-oom runs it anyway"
        }
        Hints::JobsFile => "",
    };
    crate::Error::invalid(
        "parallel",
        format!("{} ({:.1} GiB per GPU)", p.label(), m.per_gpu_gib),
        format!(
            "a plan that fits in the GPU's {:.1} GiB ({}); this one does not: {}{rest}",
            m.capacity_gib,
            sc.cluster.gpu.name,
            fixes.join(", ")
        ),
    )
}

/// The first note of a report on a plan that does not fit, run anyway, or that fits with
/// less room than [`crate::workload::memory::TIGHT_MEMORY_SHARE`] leaves.
pub fn memory_warning(sc: &Scenario, m: &MemorySummary) -> Option<String> {
    if !m.fits {
        return Some(format!(
            "warning: DOES NOT FIT: {} needs {:.1} GiB per GPU, the {} has {:.1} GiB; simulated anyway (--allow-oom): a real job would run out of memory",
            sc.plan.label(),
            m.per_gpu_gib,
            sc.cluster.gpu.name,
            m.capacity_gib
        ));
    }
    m.tight.then(|| {
        format!(
            "warning: {} fills {:.1} GiB of the {}'s {:.1} GiB ({:.0}%): {}; {} leave room",
            sc.plan.label(),
            m.per_gpu_gib,
            sc.cluster.gpu.name,
            m.capacity_gib,
            100.0 * m.per_gpu_gib / m.capacity_gib,
            tight_memory_caveat(m.reserved_gib),
            room_makers(sc)
        )
    })
}

/// What of the plan could still give memory back: more tp (up to a server's GPUs), more
/// pp, more recomputation (short of full on every layer), a smaller micro-batch.
fn room_makers(sc: &Scenario) -> String {
    let p = &sc.plan;
    let recompute_left =
        p.recompute != crate::workload::Recompute::Full || p.recompute_layers.is_some();
    let levers = [
        (p.tp < sc.cluster.gpus_per_node, "more tp"),
        (true, "more pp"),
        (recompute_left, "more recomputation"),
        (p.micro_batch > 1, "a smaller micro-batch"),
    ];
    let said: Vec<&str> = levers.iter().filter(|l| l.0).map(|l| l.1).collect();
    crate::text::or_list(&said)
}

impl MemorySummary {
    /// The memory of a step result.
    pub(crate) fn of(sc: &Scenario, step: &StepResult) -> MemorySummary {
        let mem = &step.memory;
        let (per_gpu_gib, capacity_gib) = (mem.total().gib(), sc.cluster.gpu.hbm_capacity.gib());
        MemorySummary {
            per_gpu_gib,
            capacity_gib,
            fits: step.fits,
            tight: step.fits && fills_tightly(per_gpu_gib, capacity_gib),
            stage: mem.stage,
            weights_gib: mem.weights.gib(),
            gradients_gib: mem.gradients.gib(),
            optimizer_gib: mem.optimizer.gib(),
            activations_gib: mem.activations.gib(),
            reserved_gib: mem.reserved.gib(),
        }
    }
}

fn report(
    sc: &Scenario,
    s: step::Step,
    run: &RunReport,
    model: StepModel,
    inv: &crate::fabric::Inventory,
) -> SimulationReport {
    let step = &s.result;
    let rel = &run.reliability;
    let (power, energy, carbon, water) = footprint_sections(sc, run);
    SimulationReport {
        scenario: sc.name.clone(),
        fits: step.fits,
        notes: Vec::new(),
        cluster: ClusterSummary {
            inventory: super::cluster::report_of(&sc.cluster, inv),
            hbm_gib: sc.cluster.gpu.hbm_capacity.gib(),
        },
        model: ModelSummary {
            name: sc.model.name.clone(),
            params: sc.model.total_params(),
            active_params: sc.model.active_params(),
            moe: sc.model.moe.as_ref().map(|m| (m.experts, m.topk)),
        },
        plan: PlanSummary {
            plan: sc.plan.clone(),
            label: sc.plan.label(),
            micro_batches: step.micro_batches,
            global_batch: sc.run.global_batch,
            seq_len: sc.run.seq_len,
            precision: sc.run.precision,
            fp8_recipe: sc
                .run
                .precision
                .fp8_gemms()
                .then_some(sc.run.recipe.fp8_recipe),
            recipe: sc.run.recipe.clone(),
            grad_reduce_bytes: sc.run.grad_reduce_bytes(),
        },
        network: sc.network,
        routing: (sc.network == NetworkModel::Flow).then_some(sc.routing),
        contention: s.contention.clone(),
        collectives: step.costs.collectives.clone(),
        step: StepSummary {
            time_s: step.time.0,
            mfu: step.mfu,
            mfu_causal: step.mfu_causal(&sc.model, &sc.run),
            mfu_of_fp8_peak: sc
                .cluster
                .gpu
                .peak_fp8
                .filter(|_| sc.run.precision.fp8_gemms())
                .map(|fp8| step.mfu * (sc.cluster.gpu.peak_bf16 / fp8)),
            tflops_per_gpu: step.tflops_per_gpu,
            tokens_per_s: step.tokens_per_s,
            model_flops: step.model_flops.0,
            critical_stage: step.critical_stage,
            slowest_stage: s
                .timeline
                .as_ref()
                .map_or(step.critical_stage, |t| t.slowest_stage),
            model,
            breakdown: step.breakdown.clone(),
            band: StepBand::of(
                step.time.0,
                (step.breakdown.compute + step.breakdown.bubble + step.breakdown.optimizer).0,
                sc.job_gpus(),
            ),
        },
        memory: MemorySummary::of(sc, step),
        stages: stage_summaries(sc, step),
        run: RunSummary {
            gpus: sc.job_gpus(),
            spare_gpus: sc.spare_gpus(),
            tokens: sc.run.tokens,
            steps: run.steps,
            ideal_days: run.ideal_days,
            days_p10: rel.days_p10,
            days_p50: rel.days_p50,
            days_p90: rel.days_p90,
            gpu_hours: run.gpu_hours,
        },
        reliability: ReliabilitySummary {
            failures: FailureSummary::of(rel, &sc.reliability),
        },
        power,
        energy,
        carbon,
        water,
        timeline: s.timeline,
        step_result: s.result,
    }
}

/// Each stage's layers (from the step's own split), time per micro-batch and memory.
fn stage_summaries(sc: &Scenario, step: &StepResult) -> Vec<StageSummary> {
    let split = &step.costs.split;
    let memory = memory_per_stage(&sc.model, &sc.plan, &sc.run, sc.cluster.gpu);
    step.stages
        .iter()
        .zip(&memory)
        .enumerate()
        .map(|(s, (timing, mem))| {
            let count = |f: &dyn Fn(crate::LayerKind) -> bool| -> u32 {
                split.chunks[s]
                    .iter()
                    .flat_map(|r| r.clone())
                    .filter(|&i| f(sc.model.layer_kind(i)))
                    .count() as u32
            };
            StageSummary {
                stage: s as u32,
                layers: timing.layers,
                moe_layers: count(&|k| k.moe),
                windowed_layers: count(&|k| k.window.is_some()),
                mtp_layers: if s + 1 == split.chunks.len() {
                    split.mtp.len() as u32
                } else {
                    0
                },
                chunks: split.chunks[s].iter().map(|r| [r.start, r.end]).collect(),
                micro_batch_s: timing.per_microbatch().0,
                memory_gib: mem.total().gib(),
            }
        })
        .collect()
}

/// Power during training: the job's figures (its GPUs and their share of hosts, NICs,
/// switches, storage and cooling), the site's beside them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PowerSection {
    /// The job's power (IT average, facility, swing, parts, profile, timeline) and the
    /// site's (`site`).
    #[serde(flatten)]
    pub report: PowerReport,
    /// Cooling.
    pub cooling: Cooling,
    /// The swing again when it comes from the timeline (as older reports named it).
    pub timeline_swing_mw: Option<f64>,
}

/// Energy.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EnergySection {
    /// One training step of the job, MWh (its power over the step time; no waits).
    pub step_mwh: f64,
    /// The job's run (p50 wall time), MWh.
    pub run_mwh: f64,
    /// The job's run with the other cooling, MWh.
    pub run_mwh_other_cooling: f64,
    /// Joules per trained token: the job's facility energy over the whole run, the
    /// restarts and the waits for repair (at idle power) included, so more than
    /// `step_mwh` over a step's tokens wherever failures cost time.
    pub j_per_token: f64,
    /// The site over the same time.
    pub site: SiteEnergy,
}

/// The site's energy over the job's run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SiteEnergy {
    /// One step, MWh.
    pub step_mwh: f64,
    /// The run, MWh.
    pub run_mwh: f64,
    /// The run with the other cooling, MWh.
    pub run_mwh_other_cooling: f64,
}

/// Carbon.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CarbonSection {
    /// The job's run, t CO2e.
    pub run_tco2e: f64,
    /// Carbon intensity of the site's supply (grid and turbines), g/kWh.
    pub gco2_per_kwh: f64,
    /// Share from on-site gas turbines.
    pub turbine_share: f64,
    /// The grid's intensity, g/kWh.
    pub grid_gco2_per_kwh: f64,
    /// The site over the same time.
    pub site: SiteCarbon,
}

/// The site's carbon.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SiteCarbon {
    /// t CO2e.
    pub run_tco2e: f64,
}

/// Water.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WaterSection {
    /// The job's run, on site and upstream, m³.
    pub run_m3: f64,
    /// The site over the same time.
    pub site: SiteWater,
}

/// The site's water.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SiteWater {
    /// m³.
    pub run_m3: f64,
}

fn footprint_sections(
    sc: &Scenario,
    run: &RunReport,
) -> (PowerSection, EnergySection, CarbonSection, WaterSection) {
    let pw = &run.power;
    let fp = &run.footprint;
    (
        PowerSection {
            report: pw.clone(),
            cooling: sc.power.cooling,
            timeline_swing_mw: pw.timeline.as_ref().map(|_| pw.swing_mw),
        },
        EnergySection {
            step_mwh: pw.step_mwh,
            run_mwh: fp.run_mwh,
            run_mwh_other_cooling: fp.run_mwh_other_cooling,
            j_per_token: fp.j_per_token,
            site: SiteEnergy {
                step_mwh: pw.site.step_mwh,
                run_mwh: fp.site.run_mwh,
                run_mwh_other_cooling: fp.site.run_mwh_other_cooling,
            },
        },
        CarbonSection {
            run_tco2e: fp.run_tco2e,
            gco2_per_kwh: sc.power.gco2_per_kwh(),
            turbine_share: sc.power.grid.turbine_share,
            grid_gco2_per_kwh: sc.power.grid.grid_gco2_per_kwh,
            site: SiteCarbon {
                run_tco2e: fp.site.run_tco2e,
            },
        },
        WaterSection {
            run_m3: fp.run_m3,
            site: SiteWater {
                run_m3: fp.site.run_m3,
            },
        },
    )
}

/// `--plan auto`: the planner's best plan for the merged scenario, keeping the plan
/// fields the user wrote (`--tp 8`), whatever else the scenario's plan holds.
pub fn plan_auto(layers: &ScenarioLayers) -> Result<Resolved> {
    let merged = layers.merge()?;
    let base = merged.for_planning()?;
    let fixed = merged.written_plan();
    let pick = best_plan(&base, &fixed)?.ok_or_else(|| none_fits(&base, &fixed))?;
    let mut r = chosen(&merged, &base, &fixed, &pick, Hints::Flags, |sc| {
        format!("the planner chose {}", sc.plan.chosen_label())
    });
    r.notes.extend(one_plan_note(pick.evaluated, &fixed));
    Ok(with_context(layers, &merged, r, false, Hints::Flags))
}

/// How much better the planner's best on fewer GPUs must be (a share of the objective)
/// for [`fewer_gpus_note`] to say so.
pub const FEWER_GPUS_GAIN: f64 = 0.05;

/// A note when fewer GPUs train faster. Where the job's GPU count splits badly: 100 GPUs
/// (4 x 25) leave only plans with pp or cp of 5 or 25, and 96 of them, the rest spare,
/// can beat `best` there; so can 2,000 of 2,048 at a global batch of 2,000. Where it
/// splits well, a batch too small for it can still leave the step slower than on fewer:
/// 98,304 GPUs at a batch of 2,048 take pp 48 where 65,536 take pp 8, so the next 2^k or
/// 3·2^k below is tried, and the power of two below (1,024 GPUs at a batch of 8 step
/// slower than 512, while 768 is no faster than 1,024). The counts tried are the larger
/// of [`plan::fewer_gpus_to_try`]'s and the next 2^k or 3·2^k, and that power of two; of
/// them, the faster one's note is said when the planner's best on it beats `best` by more than
/// [`FEWER_GPUS_GAIN`]. `None` for a placed job, or where the fields given rule the
/// other count out.
pub fn fewer_gpus_note(
    file: &crate::scenario::ScenarioFile,
    base: &Scenario,
    fixed: &ParallelFile,
    objective: Objective,
    best: &plan::PlanResult,
    hints: Hints,
) -> Option<String> {
    let gpus = base.job_gpus();
    if base.servers.is_some() {
        return None;
    }
    let next_smooth = (gpus > 1).then(|| crate::scenario::smooth_gpus_up_to(gpus - 1));
    let first = plan::fewer_gpus_to_try(gpus, base.run.global_batch, base.cluster.gpus_per_node)
        .max(next_smooth)?;
    // And the power of two below: 1,024 GPUs at a batch of 8 step slower than 512, and
    // 768 (the next below) no faster than 1,024.
    let half = (gpus > 1).then(|| crate::scenario::pow2_up_to(gpus - 1));
    let counts = std::iter::once(first).chain(half.filter(|&h| h != first && h < gpus));
    let (fewer, alt) = counts
        .filter_map(|n| {
            let mut f = file.clone();
            f.training.gpus = Some(n);
            let sc = crate::scenario::build_for_planning(&f).ok()?;
            let r = plan::search_within(&sc, fixed, objective, 1, None, &|_, _| {}).ok()?;
            Some((n, r.top.into_iter().next()?))
        })
        .min_by(|a, b| a.1.score(objective).total_cmp(&b.1.score(objective)))?;
    if alt.score(objective) >= (1.0 - FEWER_GPUS_GAIN) * best.score(objective) {
        return None;
    }
    let (theirs, ours) = by_objective(objective, &alt, best);
    Some(format!(
        "{fewer} of the {gpus} GPUs train faster, the other {} spare: {theirs} with the planner's best there ({}), against {ours} with its best on all {gpus} ({}): {}",
        gpus - fewer,
        alt.plan.chosen_label(),
        best.plan.label(),
        // A jobs file gives a job's GPUs in its [[job]], not in [job.training].
        match hints {
            Hints::Flags => hints.assign("training", "gpus", &fewer.to_string()),
            Hints::JobsFile => format!("gpus = {fewer} in the [[job]]"),
        }
    ))
}

/// The planner's pick: its best plan, and where that fills the GPU tightly, its best that
/// leaves room ([`plan::SearchResult::best_with_room`]).
struct Pick {
    best: plan::PlanResult,
    with_room: Option<plan::PlanResult>,
    /// Plans the search priced: 1 where the fields written leave no choice.
    evaluated: u64,
}

/// Where the plan fields the user wrote (a scenario file's `[parallel]`, flags) leave
/// the planner one plan to price: a search that keeps what was written, as `plan` and
/// `--plan auto` do, chose nothing, and a user who exported a scenario with its whole
/// plan expects it to.
pub fn one_plan_note(evaluated: u64, fixed: &ParallelFile) -> Option<String> {
    (evaluated == 1 && *fixed != ParallelFile::default()).then(|| {
        "the plan fields written (the scenario file's [parallel] and the flags) leave the planner one plan to price: it keeps every one written; leave out of [parallel] the fields it should choose".to_string()
    })
}

/// The planner's best plan keeping the `fixed` fields ([`plan::best`]), or `None` when
/// there are valid plans but none fits in memory; an error when there is no valid plan.
fn best_plan(base: &Scenario, fixed: &ParallelFile) -> Result<Option<Pick>> {
    let r = plan::search_within(base, fixed, Objective::Step, 1, None, &|_, _| {})?;
    let with_room = r.best_with_room;
    let evaluated = r.plans_evaluated;
    Ok(r.top.into_iter().next().map(|best| Pick {
        best,
        with_room,
        evaluated,
    }))
}

/// Whether `fixed` sets every field that shares the weights over GPUs (tp and pp, and
/// for experts ep and etp), so that no GPU count admits a plan holding fewer of them.
fn fixes_the_weights_share(sc: &Scenario, fixed: &ParallelFile) -> bool {
    let experts = sc.model.moe.is_some();
    fixed.tp.is_some()
        && fixed.pp.is_some()
        && (!experts || (fixed.ep.is_some() && fixed.etp.is_some()))
}

/// Whether `fixed` sets every field that shapes a micro-batch's activations on a GPU
/// and the weights beside them (tp, pp, cp, the micro-batch, recomputation, and for
/// experts ep), so that only shorter sequences shrink them. Expert-TP is left to the
/// planner's values, the same at any GPU count (it moves weights, not activations).
fn fixes_the_activations(sc: &Scenario, fixed: &ParallelFile) -> bool {
    let experts = sc.model.moe.is_some();
    fixed.tp.is_some()
        && fixed.pp.is_some()
        && fixed.cp.is_some()
        && fixed.micro_batch.is_some()
        && fixed.recompute.is_some()
        && (!experts || fixed.ep.is_some())
}

/// The one error for "no plan fits": which plans were tried (the fields the user fixed
/// named) and what would make room.
pub fn none_fits(sc: &Scenario, fixed: &ParallelFile) -> crate::Error {
    let given = toml::to_string(fixed).unwrap_or_default();
    let given: Vec<&str> = given.lines().collect();
    let (value, with, fewer) = if given.is_empty() {
        ("any plan".to_string(), "", "")
    } else {
        (
            format!("any plan with {}", given.join(", ")),
            " with these fields",
            ", or fewer of the plan fields you gave",
        )
    };
    let gpus = sc.job_gpus();
    let hbm = sc.cluster.gpu.hbm_capacity;
    let least = plan::least_memory(sc, fixed);
    // Without the fields given, do plans fit? Else what would make room for any.
    let without_them = || {
        if plan::least_memory(sc, &ParallelFile::default()).is_some_and(|f| f.total <= hbm) {
            " (without them, plans fit)".to_string()
        } else {
            format!(
                "; without them no plan fits either: {}",
                plan::what_makes_room(sc)
            )
        }
    };
    let room = match &least {
        Some(l) if !fewer.is_empty() && l.floor > hbm && fixes_the_weights_share(sc, fixed) => {
            // No count of GPUs, batch or sequence makes room: only the fields given do.
            format!(
                "the weights, gradients and reserved memory alone need {:.1} GiB a GPU with these fields, whatever the GPUs, batch or sequence length: give fewer of the plan fields, or ones that share the weights over more GPUs{}",
                l.floor.gib(),
                without_them()
            )
        }
        Some(l)
            if !fewer.is_empty()
                && l.floor_one_micro_batch > hbm
                && fixes_the_activations(sc, fixed) =>
        {
            // One micro-batch in flight, the least a batch or GPU count leaves: still over.
            format!(
                "with one micro-batch in flight, the fewest any batch or GPU count leaves, these fields need {:.1} GiB a GPU: shorter sequences, or fewer of the plan fields{}",
                l.floor_one_micro_batch.gib(),
                without_them()
            )
        }
        _ => format!("{}{fewer}", plan::what_makes_room(sc)),
    };
    let least = least
        .map(|l| {
            format!(
                " (the least any needs is {:.1} GiB, {})",
                l.total.gib(),
                l.plan.label()
            )
        })
        .unwrap_or_default();
    crate::Error::invalid(
        "parallel",
        value,
        format!(
            "a plan that fits in memory, but no plan of {}{with} on {gpus} GPU{}, global batch {} of {} tokens, fits in the GPU's {:.1} GiB ({}){least}: {room}",
            sc.model.name,
            if gpus == 1 { "" } else { "s" },
            sc.run.global_batch,
            sc.run.seq_len,
            sc.cluster.gpu.hbm_capacity.gib(),
            sc.cluster.gpu.name,
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_step_band_brackets_the_step_and_scales_only_the_paced_part() {
        let b = super::StepBand::of(10.0, 8.0, 16_384);
        assert!(b.p10_s < 10.0 && 10.0 < b.p90_s, "{b:?}");
        // The slowest of 16K normals lies within about ±0.6 σ (σ ≈ 2.1 %) of its mean.
        assert!(b.p90_s - b.p10_s < 8.0 * 0.021 * 1.2, "{b:?}");
        let none = super::StepBand::of(10.0, 0.0, 16_384);
        assert_eq!((none.p10_s, none.p90_s), (10.0, 10.0));
    }

    use super::*;
    use crate::scenario::{scenario_preset, ScenarioFile, ScenarioLayers};

    /// The default scenario under flags setting the model and the job.
    fn with_model(model: &str, tp: Option<u32>) -> Resolved {
        let mut flags = ScenarioFile::default();
        flags.model.preset = Some(model.into());
        flags.training.gpus = Some(512);
        flags.training.global_batch = Some(1024);
        flags.parallel.tp = tp;
        resolve(&ScenarioLayers::flags(flags)).unwrap()
    }

    /// A tight plan is told only the levers it has left.
    #[test]
    fn room_is_sought_only_where_the_plan_has_some_left() {
        let mut sc = scenario_preset(crate::scenario::DEFAULT_SCENARIO)
            .unwrap()
            .validate()
            .unwrap();
        // TP8 on servers of 8, selective recompute, micro-batch 1.
        assert_eq!(room_makers(&sc), "more pp or more recomputation");
        sc.plan.tp = 4;
        sc.plan.micro_batch = 2;
        sc.plan.recompute = crate::workload::Recompute::Full;
        assert_eq!(
            room_makers(&sc),
            "more tp, more pp or a smaller micro-batch"
        );
    }

    /// A preset's plan was made for its model: another model is planned for, the
    /// preset's own keeps it, and a plan field given is kept either way.
    #[test]
    fn another_model_gets_its_own_plan() {
        let preset = scenario_preset(crate::scenario::DEFAULT_SCENARIO)
            .unwrap()
            .validate()
            .unwrap()
            .plan;
        let other = with_model("llama3-70b", None);
        assert!(
            other.notes[0].starts_with(
                "the plan of the default scenario ('memphis-405b') was made for llama3-405b; the planner chose"
            ),
            "{:?}",
            other.notes
        );
        let best = best_plan(
            &crate::scenario::build_for_planning(
                &ScenarioLayers::flags({
                    let mut f = ScenarioFile::default();
                    f.model.preset = Some("llama3-70b".into());
                    f.training.gpus = Some(512);
                    f.training.global_batch = Some(1024);
                    f
                })
                .merge()
                .unwrap()
                .file,
            )
            .unwrap(),
            &Default::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(other.scenario.plan.label(), best.best.plan.label());
        let same = with_model("llama3-405b", None);
        assert!(
            same.notes.iter().all(|n| !n.contains("was made for")),
            "{:?}",
            same.notes
        );
        assert_eq!(
            (same.scenario.plan.tp, same.scenario.plan.pp),
            (preset.tp, preset.pp)
        );
        // A plan field given is kept, and the planner plans the rest around it, not
        // the preset's (PP16 CP2, made for 405B).
        let given = with_model("llama3-70b", Some(2));
        assert_eq!(given.scenario.plan.tp, 2);
        assert!(
            given.notes[0].ends_with("around the plan fields you gave"),
            "{:?}",
            given.notes
        );
        assert_ne!(
            (given.scenario.plan.pp, given.scenario.plan.cp),
            (preset.pp, preset.cp)
        );
        // With few fields left to the planner, the note names them.
        let mut flags = ScenarioFile::default();
        flags.model.preset = Some("llama3-70b".into());
        let p = &mut flags.parallel;
        (p.tp, p.pp, p.cp, p.micro_batch) = (Some(8), Some(4), Some(1), Some(1));
        p.recompute = Some(crate::workload::plan::Recompute::Selective);
        let r = resolve(&ScenarioLayers::flags(flags)).unwrap();
        assert!(
            r.notes[0].ends_with("around the plan fields you gave (the field it chose: vpp)"),
            "{:?}",
            r.notes
        );
    }

    /// The preset's model read another way (a config.json writes `tie_word_embeddings =
    /// false`, the preset leaves it at that default) is the preset's model: its plan
    /// stands. A field that changes the model is another model, and is planned for.
    #[test]
    fn the_same_model_written_otherwise_keeps_the_preset_plan() {
        let run = |model: crate::scenario::ModelFile| {
            let file = ScenarioFile {
                preset: Some("dgx-h100-llama3-70b".into()),
                model,
                ..Default::default()
            };
            resolve(&ScenarioLayers {
                file: Some(file),
                ..Default::default()
            })
            .unwrap()
        };
        let mut same = crate::scenario::ModelFile {
            preset: Some("llama3-70b".into()),
            ..Default::default()
        }
        .resolved()
        .unwrap();
        same.preset = None;
        same.name = Some("Llama-3.1-70B from its config.json".into());
        same.tied_embeddings = Some(false);
        same.qkv_bias = Some(false);
        let kept = run(same.clone());
        assert!(
            kept.notes.iter().all(|n| !n.contains("was made for")),
            "{:?}",
            kept.notes
        );
        let preset = scenario_preset("dgx-h100-llama3-70b")
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(kept.scenario.plan, preset.plan);
        same.tied_embeddings = Some(true);
        let other = run(same);
        assert!(
            other.notes[0].contains("was made for llama3-70b"),
            "{:?}",
            other.notes
        );
    }

    /// For another model, the plan fields given hold: sequence parallelism turned off
    /// is planned around (not answered by the preset's plan for 405B), a field the
    /// planner refuses gets its reason, and a bad field outside the plan is named as it
    /// is, not as a conflict with the preset's plan.
    #[test]
    fn another_model_plans_around_every_plan_field_given() {
        let flags = |f: &dyn Fn(&mut ScenarioFile)| {
            let mut flags = ScenarioFile::default();
            flags.model.preset = Some("grok-1".into());
            flags.training.gpus = Some(512);
            flags.training.global_batch = Some(1024);
            flags.training.seq_len = Some(4096);
            f(&mut flags);
            resolve(&ScenarioLayers::flags(flags))
        };
        let r = flags(&|f| {
            f.parallel.tp = Some(4);
            f.parallel.sequence_parallel = Some(false);
        })
        .unwrap();
        let p = &r.scenario.plan;
        assert_eq!((p.tp, p.sequence_parallel), (4, false));
        // Planned for Grok-1, not the 405B preset's TP8 PP16 CP2 with tp swapped in.
        assert!(p.pp < 16, "{}", p.label());
        assert!(
            r.notes[0].ends_with("around the plan fields you gave"),
            "{:?}",
            r.notes
        );
        // The note names the micro-batch the planner chose with the layout.
        let chose = format!(
            "the planner chose {}, micro-batch {}, ",
            p.label(),
            p.micro_batch
        );
        assert!(r.notes[0].contains(&chose), "{:?}", r.notes);
        // A CP that does not halve-and-split the sequence says so.
        let e = flags(&|f| {
            f.parallel.cp = Some(8);
            f.training.seq_len = Some(4104);
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("parallel.cp = 8: 2 x cp does not divide seq_len (4104)"),
            "{e}"
        );
        // An expert tensor parallelism the space does not hold (above tp) is searched
        // when given.
        let r = flags(&|f| {
            f.parallel.tp = Some(1);
            f.parallel.ep = Some(8);
            f.parallel.etp = Some(2);
        })
        .unwrap();
        let p = &r.scenario.plan;
        assert_eq!((p.tp, p.ep, p.etp), (1, 8, 2), "{}", p.label());
        let e = flags(&|f| f.parallel.pp = Some(3)).unwrap_err().to_string();
        assert!(
            e.starts_with("parallel.pp = 3: 3 does not divide the job's") && e.contains("one of"),
            "{e}"
        );
        let e = flags(&|f| f.training.tokens = Some(-1.0))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("training.tokens = -1"), "{e}");
    }

    /// A pipeline the user shaped that splits the layers unevenly says so; an even one,
    /// or one the user did not shape, does not.
    #[test]
    fn an_uneven_pipeline_the_user_shaped_is_noted() {
        let notes = |pp: u32, vpp: u32| {
            let mut flags = ScenarioFile::default();
            flags.model.preset = Some("llama3-8b".into());
            flags.training.gpus = Some(96);
            flags.training.global_batch = Some(96);
            flags.parallel.pp = Some(pp);
            flags.parallel.vpp = Some(vpp);
            resolve(&ScenarioLayers::flags(flags)).unwrap().notes
        };
        let uneven = notes(3, 1);
        assert!(
            uneven.iter().any(|n| n.starts_with(
                "the 32 layers do not split evenly over pp = 3 stages: the stages hold 11 or 10 layers"
            )),
            "{uneven:?}"
        );
        let even = notes(4, 2);
        assert!(
            even.iter().all(|n| !n.contains("do not split evenly")),
            "{even:?}"
        );
        // Layers that could split evenly, moved off the last stage by its MTP layer: said
        // as memphis's balancing, not as a split that does not divide.
        let mut flags = ScenarioFile::default();
        flags.model.preset = Some("llama3-8b".into());
        flags.model.mtp_layers = Some(1);
        flags.training.gpus = Some(32);
        flags.training.global_batch = Some(64);
        flags.parallel.pp = Some(4);
        flags.parallel.vpp = Some(1);
        let balanced = resolve(&ScenarioLayers::flags(flags)).unwrap().notes;
        assert!(
            balanced
                .iter()
                .any(|n| n.contains("layers, not 8 each: memphis balances")),
            "{balanced:?}"
        );
        // The default scenario's 126 layers over pp x vpp = 16 x 4 chunks split unevenly
        // too, by the preset's design: no note.
        let preset = resolve(&ScenarioLayers::default()).unwrap();
        assert!(
            preset
                .scenario
                .plan
                .layer_split(&preset.scenario.model, &preset.scenario.run)
                .chunks
                .iter()
                .flatten()
                .map(|r| r.end - r.start)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        );
        assert!(
            preset
                .notes
                .iter()
                .all(|n| !n.contains("do not split evenly")),
            "{:?}",
            preset.notes
        );
    }

    /// The memory a command checks before it runs a plan is the memory the report shows.
    #[test]
    fn the_memory_checked_first_is_the_memory_reported() {
        let sc = scenario_preset("dgx-h100-llama3-70b")
            .unwrap()
            .validate()
            .unwrap();
        let mut oom = sc.clone();
        oom.plan.tp = 1;
        oom.plan.pp = 1;
        oom.plan.vpp = 1;
        oom.plan.dp *= 16;
        oom.plan.sequence_parallel = false;
        for (sc, fits) in [(sc, true), (oom, false)] {
            let m = memory(&sc);
            assert_eq!(m.fits, fits);
            let opts = SimulateOptions::default();
            let r = simulate(&sc, &opts).unwrap();
            assert_eq!(r.fits, fits);
            assert_eq!(r.memory.per_gpu_gib, m.per_gpu_gib);
            assert_eq!(r.memory.activations_gib, m.activations_gib);
            // Run anyway, a plan that does not fit says so in its first note.
            assert_eq!(
                r.notes.first().is_some_and(|n| n.contains("DOES NOT FIT")),
                !fits
            );
            if !fits {
                let e = does_not_fit(&sc, &m, Hints::Flags).to_string();
                assert!(e.starts_with("parallel = TP1 PP1"), "{e}");
                assert!(e.contains("--plan auto"), "{e}");
            }
        }
    }
}
