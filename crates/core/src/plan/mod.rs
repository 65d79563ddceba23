//! The planner: search TP, PP, vpp, CP, EP (over TP x CP x DP), ETP, DP, micro-batch,
//! recompute and the distributed optimizer for the fastest plan that fits. The closed form
//! prefilters the whole space; the finalists are ranked by the step model `simulate`
//! reports.
//!
//! The space is enumerated in a fixed order and every candidate gets an index, so a
//! sweep can be cut into shards (`index % n == i`) that evaluate disjoint slices; each
//! shard keeps its own top K, and the top K of the shards' top Ks is the top K of the
//! whole space. Ranking is by (objective, index), so ties break the same way whatever
//! the thread count or the sharding.

use crate::error::{Error, Result};
use crate::reliability::{checkpoint_cost, daly_interval, renewal_ettr, FailureModel};
use crate::scenario::{ParallelFile, Scenario};
use crate::step::analytical::{fits_in, simulate_step_split};
use crate::step::{Heterogeneity, StepModel};
use crate::workload::memory::{peak_memory, peak_memory_split};
use crate::workload::plan::{cp_splits_sequence, LayerSplit};
use crate::workload::{ParallelPlan, Recompute};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What to rank plans by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Step time.
    Step,
    /// Time to train the token budget with failures: the days p50 that `simulate`
    /// reports (the Monte Carlo over failures, checkpoints and spares), the prefilter
    /// estimating it by the analytic ETTR at Daly's interval.
    TimeToTrain,
}

/// One evaluated plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanResult {
    /// Position in the enumeration.
    pub index: u64,
    /// The plan.
    #[serde(flatten)]
    pub plan: ParallelPlan,
    /// Step time, s.
    pub step_time_s: f64,
    /// MFU (attention over the whole score matrix, as Megatron counts it).
    pub mfu: f64,
    /// MFU counting only the causal half of attention.
    #[serde(default)]
    pub mfu_causal: f64,
    /// Peak memory per GPU, GiB.
    pub memory_gib: f64,
    /// Whether it fits.
    pub fits: bool,
    /// It fits, but fills past `TIGHT_MEMORY_SHARE` of the GPU's memory and may still
    /// run out (what `simulate` warns of).
    #[serde(default)]
    pub memory_tight: bool,
    /// Time to train, days (analytic goodput).
    pub days_to_train: f64,
    /// Breakdown, seconds: compute, bubble, tp, cp, ep, pp, dp, optimizer.
    pub breakdown: Vec<(String, f64)>,
}

/// A plan that fills the GPU (`memory_tight`) ranks as if this much slower: a policy
/// ⚠, not a measurement. Within 1 %, a plan that leaves room is the better choice than
/// one that may run out of memory (its held-back memory is an estimate, and
/// fragmentation grows with the run); past it, speed wins and the `*` warns.
pub const TIGHT_MEMORY_RANK_PENALTY: f64 = 0.01;

impl PlanResult {
    /// The value the objective measures.
    pub fn score(&self, o: Objective) -> f64 {
        match o {
            Objective::Step => self.step_time_s,
            Objective::TimeToTrain => self.days_to_train,
        }
    }

    /// The value ranked on: the score, [`TIGHT_MEMORY_RANK_PENALTY`] worse for a plan
    /// that fills the GPU.
    pub fn rank_score(&self, o: Objective) -> f64 {
        let penalty = if self.memory_tight {
            1.0 + TIGHT_MEMORY_RANK_PENALTY
        } else {
            1.0
        };
        self.score(o) * penalty
    }

    /// The plan, applied to a scenario.
    pub fn apply(&self, sc: &Scenario) -> Scenario {
        let mut s = sc.clone();
        s.plan = self.plan.clone();
        s
    }
}

/// The outcome of a (possibly sharded) search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SearchResult {
    /// Fingerprint of the scenario, objective and K: shards must agree on it.
    pub fingerprint: String,
    /// The job searched, in words ([`job_label`]): model, GPUs of which cluster,
    /// precision, batch, sequence and tokens. Empty in a shard file from before it.
    #[serde(default)]
    pub job: String,
    /// Shard "i/n" (1-based) or "all".
    pub shard: String,
    /// Candidates evaluated (valid plans).
    pub plans_evaluated: u64,
    /// Of those, the ones that fit in memory.
    pub plans_feasible: u64,
    /// Rejected for memory.
    pub plans_rejected_memory: u64,
    /// The objective.
    pub objective: Objective,
    /// The best K, best first.
    pub top: Vec<PlanResult>,
    /// Where the best plan fills the GPU tightly (`memory_tight`), the best of the
    /// finalists that leaves room, whether or not among the K: the plan to run where
    /// the estimate of the memory held back is not to be leaned on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_with_room: Option<PlanResult>,
    /// What `simulate` would say of the scenario whatever the plan (fields the run does
    /// not use, defaults taken), then its warnings of the best plan's run. The search
    /// leaves it empty; `memphis plan` fills it in for the whole search (a merge of
    /// shards says it again), so shards need not agree on it.
    #[serde(default)]
    pub notes: Vec<String>,
}

fn divisors(n: u64) -> Vec<u64> {
    let mut d = Vec::new();
    let mut i = 1;
    while i * i <= n {
        if n.is_multiple_of(i) {
            d.push(i);
            d.push(n / i);
        }
        i += 1;
    }
    d.sort_unstable();
    d.dedup();
    d
}

/// Every plan in the space for the scenario's model, job size and batch, in a fixed
/// order. Plans that break a rule (divisibility, layers) are left out.
pub fn enumerate(sc: &Scenario) -> Vec<ParallelPlan> {
    enumerate_with(sc, None, None)
}

/// [`enumerate`], with `etp` (a MoE model's expert tensor parallelism the user gave)
/// searched beside the two the space holds (tp and 1), and sequence parallelism as the
/// user said (`sp`; else on with every tp > 1 whose tp x cp divides seq_len, as
/// Megatron's recipes run it), so that
/// the plans its rules keep are those of the user's word.
fn enumerate_with(sc: &Scenario, etp: Option<u32>, sp: Option<bool>) -> Vec<ParallelPlan> {
    let gpus = sc.job_gpus();
    let m = &sc.model;
    let run = &sc.run;
    let gpn = u64::from(sc.cluster.gpus_per_node);
    let mut out = Vec::new();
    let tps: Vec<u32> = [1u32, 2, 4, 8, 16]
        .into_iter()
        .filter(|&t| u64::from(t) <= gpn.max(1) && m.heads.is_multiple_of(t))
        .collect();
    let cps = [1u32, 2, 4, 8, 16];
    let experts = m.moe.as_ref().map_or(1, |x| x.experts);
    for &tp in &tps {
        for &cp in &cps {
            if !cp_splits_sequence(u64::from(cp), run.seq_len) {
                continue;
            }
            let tc = u64::from(tp) * u64::from(cp);
            if !gpus.is_multiple_of(tc) {
                continue;
            }
            for pp in divisors(gpus / tc) {
                if pp > u64::from(m.layers) || pp > 256 {
                    continue;
                }
                let dp = gpus / tc / pp;
                if dp == 0 || dp > u64::from(u32::MAX) || !run.global_batch.is_multiple_of(dp) {
                    continue;
                }
                let per_replica = run.global_batch / dp;
                // Off where the sequence does not split over tp x cp, so tp stays open
                // to a seq_len like 8191.
                let sp_default =
                    crate::workload::plan::sequence_parallel_by_default(tp, cp, Some(run.seq_len));
                // Expert layers fold the stage's tp x cp x dp ranks into etp x ep x
                // expert-dp: EP may span TP, CP and DP; each expert is split over etp
                // ranks: tp (Megatron's default) or 1 (the folded layout of fine-grained
                // MoE recipes); tp alone for a dense model.
                let mut etps: Vec<u32> = if m.moe.is_some() && tp > 1 {
                    vec![tp, 1]
                } else {
                    vec![tp]
                };
                if let Some(e) = etp.filter(|e| m.moe.is_some() && !etps.contains(e)) {
                    etps.push(e);
                }
                let stage_ranks = tc * dp;
                let expert_layouts: Vec<(u32, u32)> = etps
                    .iter()
                    .flat_map(|&etp| {
                        divisors(u64::from(experts))
                            .into_iter()
                            .filter(move |&e| stage_ranks.is_multiple_of(e * u64::from(etp)))
                            .map(move |e| (e as u32, etp))
                    })
                    .collect();
                for &(ep, etp) in &expert_layouts {
                    let vpps: Vec<u32> = if pp == 1 {
                        vec![1]
                    } else {
                        (1..=8)
                            .filter(|&v| pp * u64::from(v) <= u64::from(m.layers))
                            .collect()
                    };
                    for &vpp in &vpps {
                        for mb in divisors(per_replica).into_iter().filter(|&b| b <= 32) {
                            for recompute in
                                [Recompute::None, Recompute::Selective, Recompute::Full]
                                    .into_iter()
                                    .filter(|&r| {
                                        r != Recompute::Selective || !run.selective_is_free()
                                    })
                            {
                                for distributed_optimizer in [true, false] {
                                    let plan = ParallelPlan {
                                        tp,
                                        pp: pp as u32,
                                        vpp,
                                        cp,
                                        ep,
                                        etp,
                                        dp: dp as u32,
                                        micro_batch: mb as u32,
                                        sequence_parallel: sp.unwrap_or(sp_default),
                                        recompute,
                                        recompute_layers: None,
                                        distributed_optimizer,
                                    };
                                    if plan.validate(m, run).is_ok() {
                                        out.push(plan);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Each plan with full recomputation, followed by its block variant where one fits
    // (found in parallel, kept in order).
    let splits = Splits::of(sc, &out);
    let blocks: Vec<Option<ParallelPlan>> = out
        .par_iter()
        .map(|p| block_recompute(sc, p, splits.of_plan(p)))
        .collect();
    out.into_iter()
        .zip(blocks)
        .flat_map(|(p, b)| std::iter::once(p).chain(b))
        .collect()
}

/// Under full recomputation, the plan that recomputes the fewest layers a chunk and
/// still fits (Megatron's block method), when that is some layers but not all: between
/// keeping every activation (which does not fit) and recomputing every layer, it is the
/// fastest that fits, as each layer recomputed costs a forward. Fewer recomputed layers
/// never take less memory, so the count is found by bisection.
fn block_recompute(sc: &Scenario, plan: &ParallelPlan, split: &LayerSplit) -> Option<ParallelPlan> {
    if plan.recompute != Recompute::Full {
        return None;
    }
    let gpu = sc.cluster.gpu;
    // How many layers recompute does not move them between stages: one split serves.
    let fits =
        |p: &ParallelPlan| fits_in(&peak_memory_split(&sc.model, p, &sc.run, gpu, split), gpu);
    let most = split.largest_chunk();
    let with = |n: u32| ParallelPlan {
        recompute_layers: Some(n),
        ..plan.clone()
    };
    if most < 2 || fits(&plan.without_recompute()) || !fits(plan) {
        return None;
    }
    // fits(with(most)) holds (every layer recomputes); find the least n that fits.
    let (mut lo, mut hi) = (1u32, most);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(&with(mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (lo < most).then(|| with(lo))
}

/// The layer split of every (pp, vpp) a list of plans holds, made once: a plan's split
/// depends on nothing else of it ([`ParallelPlan::layer_split`]), and the search asks
/// for it several times for each of hundreds of thousands of plans.
struct Splits(HashMap<(u32, u32), LayerSplit>);

impl Splits {
    fn of(sc: &Scenario, plans: &[ParallelPlan]) -> Splits {
        let mut splits = HashMap::new();
        for p in plans {
            splits
                .entry((p.pp, p.vpp))
                .or_insert_with(|| p.layer_split(&sc.model, &sc.run));
        }
        Splits(splits)
    }

    /// The split of `plan`, one of the plans these were made of.
    fn of_plan(&self, plan: &ParallelPlan) -> &LayerSplit {
        &self.0[&(plan.pp, plan.vpp)]
    }
}

/// Plans the closed form passes to the timeline: the best this many by the closed
/// form's objective, over the whole space, are re-simulated with the step model that
/// `simulate` reports, and ranked by it. The closed form is within a few per cent of the
/// timeline, so the best plan is among these.
pub const FINALISTS: usize = 256;

/// Timeline ops the finalists may take together (about 3 s on 2 cores): past it, fewer
/// finalists are re-ranked.
pub const FINALIST_OPS: u64 = 8_000_000;

/// The closed form's verdict on one plan: its prefilter score, and whether it fits.
fn prefilter(
    sc: &Scenario,
    plan: &ParallelPlan,
    split: &LayerSplit,
    objective: Objective,
) -> (f64, bool) {
    // Most of the space does not fit, and memory alone settles that, before the step.
    let memory = peak_memory_split(&sc.model, plan, &sc.run, sc.cluster.gpu, split);
    if !fits_in(&memory, sc.cluster.gpu) {
        return (f64::INFINITY, false);
    }
    let mut s = sc.clone();
    s.plan = plan.clone();
    let step = simulate_step_split(&s, split.clone(), memory);
    let score = match objective {
        Objective::Step => step.time.0,
        Objective::TimeToTrain => analytic_days(&s, step.time.0),
    };
    (score, step.fits)
}

/// Days to train at the analytic ETTR at Daly's interval (the prefilter's estimate).
fn analytic_days(s: &Scenario, step_s: f64) -> f64 {
    let ideal_h = s.run.work_hours(step_s);
    let fm = FailureModel::for_job(s.job_gpus(), s.cluster.gpus_per_node);
    let mtbf = fm.job_mtbf_hours();
    let ck = checkpoint_cost(s.checkpoint_bytes(), s.job_gpus(), &s.reliability);
    let stall = ck.stall_s / 3600.0;
    let tau = daly_interval(stall.max(1e-9), mtbf)
        .max(step_s / 3600.0)
        .max(ck.write_s / 3600.0);
    let ettr = renewal_ettr(tau.min(ideal_h), &s.reliability, &ck, &fm).max(1e-6);
    ideal_h / ettr / 24.0
}

/// Evaluates one plan's step as `simulate` does (the default step model). None when
/// the step model refuses the plan (a timeline too long). Days to train are filled in
/// by [`with_days`], which costs a Monte Carlo.
pub fn evaluate(sc: &Scenario, index: u64, plan: &ParallelPlan) -> Option<PlanResult> {
    let mut s = sc.clone();
    s.plan = plan.clone();
    let step = crate::step::simulate(&s, StepModel::Timeline, &Heterogeneity::default()).ok()?;
    let step = step.result;
    Some(PlanResult {
        index,
        plan: plan.clone(),
        step_time_s: step.time.0,
        mfu: step.mfu,
        mfu_causal: step.mfu_causal(&s.model, &s.run),
        memory_gib: step.memory.total().gib(),
        fits: step.fits,
        memory_tight: step.fits
            && crate::workload::memory::fills_tightly(
                step.memory.total().gib(),
                s.cluster.gpu.hbm_capacity.gib(),
            ),
        days_to_train: f64::NAN,
        breakdown: step
            .breakdown
            .entries()
            .iter()
            .map(|(k, v)| (k.to_string(), v.0))
            .collect(),
    })
}

/// Days to train with failures (p50), by the projection `simulate` reports.
fn with_days(sc: &Scenario, mut r: PlanResult) -> PlanResult {
    let s = r.apply(sc);
    let work_hours = s.run.work_hours(r.step_time_s);
    r.days_to_train =
        crate::run::reliability_of(&s, r.step_time_s, work_hours, &s.reliability).days_p50;
    r
}

/// Keeps the best `n` of (score, index) pairs: sorted, bounded.
fn keep_best(mut v: Vec<(f64, u64)>, n: usize) -> Vec<(f64, u64)> {
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    v.truncate(n);
    v
}

/// A shard of the sweep: `index` of `count`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses "I/N" with 1 <= I <= N.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::invalid("shard", text, "I/N with 1 <= I <= N, e.g. 3/8");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (i, n): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if n == 0 || i == 0 || i > n {
            return Err(bad());
        }
        Ok(Shard { index: i, count: n })
    }
}

/// The job a search is for, in words: "llama3-8b on 64 of dgx-h100's 10,752
/// H100-SXM5-80GB · BF16 · 12,288 seq 8,192 · 15.0T tokens", then the recipe's fields
/// set otherwise than by default ("· dp_overlap = false").
pub fn job_label(sc: &Scenario) -> String {
    let g = crate::text::grouped;
    let recipe = sc
        .run
        .precision
        .fp8_gemms()
        .then_some(sc.run.recipe.fp8_recipe);
    format!(
        "{} on {} of {}'s {} {} · {} · {} seq {} · {} tokens",
        sc.model.name,
        g(sc.job_gpus()),
        sc.cluster.name,
        g(sc.cluster.gpus),
        sc.cluster.gpu.name,
        sc.run.precision.label(recipe),
        g(sc.run.global_batch),
        g(sc.run.seq_len),
        crate::text::si(sc.run.tokens)
    ) + &sc
        .run
        .recipe
        .changes()
        .iter()
        .map(|c| format!(" · {c}"))
        .collect::<String>()
}

/// A stable fingerprint of what a search is about.
pub fn fingerprint(
    sc: &Scenario,
    fixed: &ParallelFile,
    objective: Objective,
    top: usize,
) -> String {
    let mut s = sc.clone();
    s.plan = ParallelPlan::single();
    let text = format!(
        "{}|{}|{:?}|{top}",
        serde_json::to_string(&s).unwrap_or_default(),
        serde_json::to_string(fixed).unwrap_or_default(),
        objective
    );
    // FNV-1a, 64 bits.
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

/// A GPU count below `gpus` worth planning for too, when `gpus` splits badly: the larger
/// of the largest 2^k or 3·2^k ([`crate::scenario::smooth_gpus_up_to`]: 96 for 100) and
/// the largest tp x d with tp a power of two up to a server's GPUs and d a divisor of the
/// global batch, a dp it takes whole (2,000 for 2,048 GPUs at a batch of 2,000). `None`
/// where `gpus` is such a tp x d itself, or neither count is below it.
pub fn fewer_gpus_to_try(gpus: u64, global_batch: u64, per_server: u32) -> Option<u64> {
    let largest_divisor_up_to = |m: u64| {
        (1..=m.min(global_batch))
            .rev()
            .find(|d| global_batch.is_multiple_of(*d))
            .unwrap_or(1)
    };
    let fitted = (0..u64::BITS)
        .map(|k| 1u64 << k)
        .take_while(|&tp| tp <= u64::from(per_server.max(1)) && tp <= gpus)
        .map(|tp| tp * largest_divisor_up_to(gpus / tp))
        .max()?;
    if fitted == gpus {
        return None;
    }
    [crate::scenario::smooth_gpus_up_to(gpus), fitted]
        .into_iter()
        .filter(|&n| n < gpus)
        .max()
}

/// The prime factors of `n`, smallest first, with repeats (none for 1).
fn prime_factors(mut n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut p = 2;
    while p * p <= n {
        while n.is_multiple_of(p) {
            out.push(p);
            n /= p;
        }
        p += 1;
    }
    if n > 1 {
        out.push(n);
    }
    out
}

/// Explains why no plan exists, when that is the case: the run itself out of range (a
/// one-GPU plan refuses it too), else the divisibility of the global batch.
fn no_plan_reason(sc: &Scenario) -> Error {
    if let Err(e) = ParallelPlan::single().validate(&sc.model, &sc.run) {
        return e;
    }
    let gpus = sc.job_gpus();
    // The GPU count's odd part must go to pp (or dp): say so when it is the obstacle.
    let odd_part = gpus >> gpus.trailing_zeros();
    // A power of two or three times one is not the obstacle (the batch is).
    let smooth = crate::scenario::smooth_gpus_up_to(gpus);
    let odd = if odd_part > 1 && smooth < gpus {
        let primes = prime_factors(odd_part);
        let joined = primes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" x ");
        let factored = match gpus / odd_part {
            1 if primes.len() == 1 => format!("{gpus} is prime"),
            1 => format!("{gpus} = {joined}"),
            two => format!("{gpus} = {two} x {joined}"),
        };
        format!(
            " ({factored}: tp and cp are powers of two, so the odd factor {odd_part} has to go to pp or dp; a power of two or three times one, or a tp x dp whose dp divides the batch, avoids it: {}, say)",
            // The count `plan` and `simulate` would also search (1,000 for 1,001 GPUs at
            // a batch of 1,000), else the 2^k or 3·2^k below.
            fewer_gpus_to_try(gpus, sc.run.global_batch, sc.cluster.gpus_per_node).unwrap_or(smooth)
        )
    } else {
        String::new()
    };
    Error::invalid(
        "training.global_batch",
        sc.run.global_batch,
        format!(
            "no plan exists: the global batch must be a multiple of dp x micro_batch, and every dp = {gpus} GPUs / (tp x pp x cp) that the model allows leaves a remainder; choose a GPU count whose factors tp, cp, pp (up to the model's layers) and a dp dividing the batch can take up{odd}, or a global batch that one such dp divides"
        ),
    )
}

/// Searches the space (or one shard of it) and keeps the best `top` plans that fit.
/// `progress` is called with (done, total) from worker threads, for a progress bar.
pub fn search(
    sc: &Scenario,
    objective: Objective,
    top: usize,
    shard: Option<Shard>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SearchResult> {
    search_within(
        sc,
        &ParallelFile::default(),
        objective,
        top,
        shard,
        progress,
    )
}

/// The plans a search walks for `fixed`: the enumeration, read as the user wrote the
/// recompute fields (selective that recomputes nothing, a count of layers, or full alone,
/// which is every layer).
fn candidates(sc: &Scenario, fixed: &ParallelFile) -> Result<Vec<ParallelPlan>> {
    let mut all = enumerate_with(sc, fixed.etp, fixed.sequence_parallel);
    if all.is_empty() {
        return Err(no_plan_reason(sc));
    }
    if fixed.recompute == Some(Recompute::Selective) && sc.run.selective_is_free() {
        // Selective recomputation that recomputes nothing is the plan without it, which
        // the enumeration keeps alone; the plans keep the user's word for it.
        for p in all.iter_mut().filter(|p| p.recompute == Recompute::None) {
            p.recompute = Recompute::Selective;
        }
    }
    if let Some(n) = fixed.recompute_layers {
        // The user's count for every plan with full recomputation, in place of the
        // planner's own block plans.
        if let Some(r) = fixed.recompute {
            crate::workload::plan::recompute_layers_need_full(r)?;
        }
        all.retain(|p| p.recompute_layers.is_none());
        // Over the plans the user's other fields admit.
        let others = ParallelFile {
            recompute_layers: None,
            ..fixed.clone()
        };
        let most = all
            .iter()
            .filter(|p| p.recompute == Recompute::Full && others.admits(p))
            .map(|p| p.largest_chunk(&sc.model, &sc.run))
            .max();
        // No plan has the other fields: that is the error to name (`search_within`
        // says which field), not a count measured against no chunk.
        if let Some(most) = most {
            crate::workload::plan::recompute_layers_within(
                n,
                most,
                "the largest chunk of the plans the planner searches for this model and job",
            )?;
        }
        for p in all.iter_mut().filter(|p| p.recompute == Recompute::Full) {
            p.recompute_layers = Some(n);
        }
        all.retain(|p| p.validate(&sc.model, &sc.run).is_ok());
    } else if fixed.recompute == Some(Recompute::Full) {
        // Full recomputation given without a count is every layer, as a scenario reads
        // it: the planner's block plans are not what was asked for.
        all.retain(|p| p.recompute_layers.is_none());
    }
    Ok(all)
}

/// Why no plan the planner searches has `field = value`, and whether that is a rule every
/// plan keeps (`simulate` refuses a plan that breaks it too) rather than the planner's
/// own bounds. A GPU-splitting field that does not divide the job says so first.
fn why_no_plan_has(
    sc: &Scenario,
    fixed: &ParallelFile,
    field: &str,
    value: &str,
) -> (String, bool) {
    let gpus = sc.job_gpus();
    let splits = ["tp", "pp", "cp", "dp"].contains(&field);
    let seq = sc.run.seq_len;
    let gpn = sc.cluster.gpus_per_node;
    let tc = u64::from(fixed.tp.unwrap_or(1)) * u64::from(fixed.cp.unwrap_or(1));
    let sp = fixed.sequence_parallel != Some(false);
    match value.parse::<u64>() {
        Ok(v) if splits && v > 0 && !gpus.is_multiple_of(v) => {
            (format!("{v} does not divide the job's {gpus} GPUs; "), true)
        }
        // The rules `ParallelPlan::validate` names for a whole plan.
        Ok(v) if field == "cp" && !cp_splits_sequence(v, seq) => (
            format!("2 x cp does not divide seq_len ({seq}), as load-balanced causal CP needs; "),
            true,
        ),
        Ok(v) if field == "tp" && v > u64::from(gpn) => (
            format!("the planner keeps tp within a server ({gpn} GPUs); "),
            false,
        ),
        Ok(_) if ["tp", "cp"].contains(&field)
            && sp
            && fixed.tp.unwrap_or(1) > 1
            && !seq.is_multiple_of(tc) =>
        {
            (format!("sequence parallelism needs seq_len ({seq}) to be a multiple of tp x cp ({tc}): another seq_len, or sequence_parallel = false (--sequence-parallel false); "), true)
        }
        // Expert layers fold a stage's tp x cp x dp ranks (GPUs / pp) into etp x ep x
        // expert-dp, as `ParallelPlan::validate` has it.
        Ok(v) if field == "etp" && v > 0 && !(gpus / u64::from(fixed.pp.unwrap_or(1))).is_multiple_of(v) => (
            format!(
                "{v} does not divide tp x cp x dp (the job's {gpus} GPUs / pp {} = {}), the ranks expert layers fold into etp x ep x expert-dp; ",
                fixed.pp.unwrap_or(1),
                gpus / u64::from(fixed.pp.unwrap_or(1))
            ),
            true,
        ),
        Ok(v) if field == "micro_batch" && v > 32 => (
            "the planner tries micro-batches up to 32 that divide the batch per replica (global_batch / dp); ".to_string(),
            false,
        ),
        Ok(_) if field == "micro_batch" => (
            "a micro-batch divides the batch per replica (global_batch / dp): another global_batch, or another micro_batch; ".to_string(),
            true,
        ),
        _ => (String::new(), false),
    }
}

/// The job's GPUs against two or more GPU-splitting fields given (tp, pp, cp, dp):
/// their product must divide the GPUs, and be them when all four are given. Said of
/// the GPU count, not as one of the fields that no plan has.
fn gpus_hold_the_fields(gpus: u64, fixed: &ParallelFile) -> Result<()> {
    let given: Vec<(&str, u64)> = [
        ("tp", fixed.tp),
        ("pp", fixed.pp),
        ("cp", fixed.cp),
        ("dp", fixed.dp),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| (name, u64::from(v))))
    .collect();
    let product: u64 = given.iter().map(|&(_, v)| v).product();
    let whole = given.len() == 4;
    // One field alone is named with the values the plans have (`unmatched`).
    if given.len() < 2 || (gpus.is_multiple_of(product) && (!whole || product == gpus)) {
        return Ok(());
    }
    let names: Vec<&str> = given.iter().map(|&(n, _)| n).collect();
    let values: Vec<String> = given.iter().map(|&(_, v)| v.to_string()).collect();
    Err(Error::invalid(
        "training.gpus",
        gpus,
        format!(
            "{} the plan fields given, {} = {} = {product}",
            if whole { "equal to" } else { "a multiple of" },
            names.join(" x "),
            values.join(" x ")
        ),
    ))
}

/// The global batch against the data parallelism the fields given settle (dp itself, or
/// tp, pp and cp, which leave dp = GPUs / (tp x pp x cp)): each step splits the batch
/// into dp x micro_batch equal parts. Said of the batch, as `simulate` says it of a
/// whole plan, not as fields that no plan has.
fn batch_holds_the_fields(sc: &Scenario, fixed: &ParallelFile) -> Result<()> {
    let gpus = sc.job_gpus();
    let dp = match (fixed.dp, fixed.tp, fixed.pp, fixed.cp) {
        (Some(dp), ..) => u64::from(dp),
        (None, Some(tp), Some(pp), Some(cp)) => {
            let split = u64::from(tp) * u64::from(pp) * u64::from(cp);
            if split == 0 || !gpus.is_multiple_of(split) {
                return Ok(());
            }
            gpus / split
        }
        _ => return Ok(()),
    };
    let dp_from = if fixed.dp.is_some() {
        String::new()
    } else {
        format!(
            "; dp = gpus / (tp x pp x cp) = {gpus} / {}",
            gpus / dp.max(1)
        )
    };
    let mb = u64::from(fixed.micro_batch.unwrap_or(1));
    if dp == 0 || mb == 0 {
        return Ok(()); // A zero is the field's own error, said where fields are checked.
    }
    crate::workload::plan::batch_splits(sc.run.global_batch, dp, mb, &dp_from)
}

/// The global batch, when it alone keeps every plan with the fields given out: at a
/// batch that any dp splits, some plans have them all, but none splits this batch into
/// dp x micro_batch equal parts. Said of the batch, with the nearest batches such plans
/// split, not as a field that no plan has (tp = 4 and pp = 4 are plans of 768 GPUs, but
/// not of a batch of 100).
fn batch_admits_the_fields(sc: &Scenario, fixed: &ParallelFile) -> Result<()> {
    let gb = sc.run.global_batch;
    let mut free = sc.clone();
    // dp divides the job's GPUs and the planner's micro-batches go up to 32.
    free.run.global_batch = sc.job_gpus().saturating_mul(32);
    let Ok(all) = candidates(&free, fixed) else {
        return Ok(());
    };
    let per_step: std::collections::BTreeSet<u64> = all
        .iter()
        .filter(|p| fixed.admits(p))
        .map(|p| u64::from(p.dp) * u64::from(p.micro_batch))
        .collect();
    let Some(&least) = per_step.first() else {
        return Ok(()); // No batch helps: a field is what no plan has.
    };
    if per_step.iter().any(|&s| gb.is_multiple_of(s)) {
        return Ok(());
    }
    let below = per_step.iter().map(|&s| gb / s * s).max().unwrap_or(0);
    let above = per_step
        .iter()
        .map(|&s| (gb / s + 1) * s)
        .min()
        .unwrap_or(least);
    let nearest = if below == 0 {
        format!("the least is {above}")
    } else {
        format!("the nearest are {below} and {above}")
    };
    let given = toml::to_string(fixed).unwrap_or_default();
    let given: Vec<&str> = given.lines().collect();
    Err(Error::invalid(
        "training.global_batch",
        gb,
        format!(
            "a batch that some plan with {} splits into dp x micro_batch equal parts (dp = the job's {} GPUs / (tp x pp x cp)); {nearest}, or drop one of those fields",
            given.join(", "),
            sc.job_gpus()
        ),
    ))
}

/// [`search`] over the plans that keep the `fixed` fields (those the user wrote).
pub fn search_within(
    sc: &Scenario,
    fixed: &ParallelFile,
    objective: Objective,
    top: usize,
    shard: Option<Shard>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<SearchResult> {
    let all = candidates(sc, fixed)?;
    let kept: Vec<ParallelPlan> = all.iter().filter(|p| fixed.admits(p)).cloned().collect();
    if kept.is_empty() {
        // A fixed field the model's shape refuses is named for that, as `simulate` names
        // it: the fields given, the rest at their least, and no rule that a field not
        // given would break (vpp without pp, etp against a dense model's tp).
        let tp = fixed.tp.unwrap_or(1);
        let least = ParallelPlan {
            tp,
            pp: fixed.pp.unwrap_or(1),
            vpp: fixed.pp.and(fixed.vpp).unwrap_or(1),
            cp: fixed.cp.unwrap_or(1),
            ep: fixed.ep.unwrap_or(1),
            etp: sc.model.moe.as_ref().and(fixed.etp).unwrap_or(tp),
            ..ParallelPlan::single()
        };
        least.validate_shape(&sc.model)?;
        gpus_hold_the_fields(sc.job_gpus(), fixed)?;
        // A dp that cannot divide the GPUs is named for that (`unmatched`, below), not
        // for the batch it would split.
        if fixed
            .dp
            .is_none_or(|d| sc.job_gpus().is_multiple_of(u64::from(d)))
        {
            batch_holds_the_fields(sc, fixed)?;
        }
        batch_admits_the_fields(sc, fixed)?;
        if let Some((field, value, had)) = fixed.unmatched(&all) {
            let (why, rule) = why_no_plan_has(sc, fixed, &field, &value);
            let missing = fixed.missing_to_complete(sc.model.moe.is_some());
            let simulate = if rule {
                String::new()
            } else if missing.is_empty() {
                " (`simulate` runs a plan you give whole whatever these)".to_string()
            } else {
                format!(
                    " (`simulate` runs a plan you give whole whatever these: give {} too)",
                    crate::text::and_list(&missing)
                )
            };
            return Err(Error::invalid(
                format!("parallel.{field}"),
                value,
                format!(
                    "{why}one of {} for the planner, the values it searches for this model, job and batch{simulate}",
                    had.join(", ")
                ),
            ));
        }
        let given = toml::to_string(fixed).unwrap_or_default();
        let given: Vec<&str> = given.lines().collect();
        return Err(Error::invalid(
            "parallel",
            given.join(", "),
            "each of these fields is in some plan the planner searches for this model, job and batch, but no plan has them all; drop one, or give the whole plan to `simulate`",
        ));
    }
    let all = kept;
    let (si, sn) = shard.map_or((0, 1), |s| (s.index - 1, s.count));
    let mine = |i: u64| i % u64::from(sn) == u64::from(si);
    let total = all.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let task = crate::progress::begin(crate::progress::Stage::PlanSpace, total);
    // 1. The closed form over the whole space (cheap), so that every shard agrees on the
    //    finalists; the counts are of this shard's slice.
    let n_final = FINALISTS.max(top);
    let splits = Splits::of(sc, &all);
    let (best, evaluated, feasible) = all
        .par_iter()
        .enumerate()
        .fold(
            || (Vec::new(), 0u64, 0u64),
            |(mut best, mut ev, mut fe), (i, p)| {
                let (score, fits) = prefilter(sc, p, splits.of_plan(p), objective);
                let i = i as u64;
                if mine(i) {
                    ev += 1;
                    fe += u64::from(fits);
                }
                if fits {
                    best.push((score, i));
                    if best.len() >= 4 * n_final {
                        best = keep_best(best, n_final);
                    }
                }
                let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if d.is_multiple_of(4096) || d == total {
                    progress(d, total);
                    task.tick(if d == total { total % 4096 } else { 4096 });
                }
                (best, ev, fe)
            },
        )
        .reduce(
            || (Vec::new(), 0, 0),
            |a, b| {
                let mut v = a.0;
                v.extend(b.0);
                (keep_best(v, n_final), a.1 + b.1, a.2 + b.2)
            },
        );
    // 2. This shard's finalists, with the step model `simulate` reports, ranked by it.
    //    The timeline's cost grows with the micro-batches: the finalists share a budget of
    //    ops (the first `top` always run), taken in rank order so that every shard agrees.
    let mut spent = 0u64;
    let finalists: Vec<u64> = keep_best(best, n_final)
        .into_iter()
        .enumerate()
        .take_while(|&(rank, (_, i))| {
            let p = &all[i as usize];
            spent += 2 * p.micro_batches(&sc.run) * u64::from(p.vpp) * u64::from(p.pp);
            rank < top || spent <= FINALIST_OPS
        })
        .map(|(_, (_, i))| i)
        .filter(|&i| mine(i))
        .collect();
    task.phase(
        crate::progress::Stage::PlanFinalists,
        finalists.len() as u64,
    );
    let mut results: Vec<PlanResult> = finalists
        .par_iter()
        .filter_map(|&i| {
            let r = evaluate(sc, i, &all[i as usize]);
            task.tick(1);
            r
        })
        .filter(|r| r.fits)
        .collect();
    let mut roomy = None;
    if objective == Objective::Step {
        rank(&mut results, objective);
        roomy = with_room(&results).map(|r| with_days(sc, r));
        results.truncate(top);
    }
    let mut results: Vec<PlanResult> = results.into_par_iter().map(|r| with_days(sc, r)).collect();
    rank(&mut results, objective);
    if objective != Objective::Step {
        roomy = with_room(&results);
    }
    results.truncate(top);
    Ok(SearchResult {
        fingerprint: fingerprint(sc, fixed, objective, top),
        job: job_label(sc),
        shard: shard.map_or("all".into(), |s| format!("{}/{}", s.index, s.count)),
        plans_evaluated: evaluated,
        plans_feasible: feasible,
        plans_rejected_memory: evaluated - feasible,
        objective,
        top: results,
        best_with_room: roomy,
        notes: Vec::new(),
    })
}

/// Of plans ranked best first, the best that leaves room when the first does not.
fn with_room(ranked: &[PlanResult]) -> Option<PlanResult> {
    let first = ranked.first()?;
    if !first.memory_tight {
        return None;
    }
    ranked.iter().find(|r| !r.memory_tight).cloned()
}

/// The best plan that fits, by the objective, keeping the `fixed` fields (what
/// `simulate --plan auto` runs).
pub fn best(sc: &Scenario, fixed: &ParallelFile, objective: Objective) -> Result<PlanResult> {
    let r = search_within(sc, fixed, objective, 1, None, &|_, _| {})?;
    r.top.into_iter().next().ok_or_else(|| {
        Error::invalid(
            "parallel",
            "any plan",
            format!(
                "none fits in memory for {} on {} GPUs at global batch {}: {}",
                sc.model.name,
                sc.job_gpus(),
                sc.run.global_batch,
                what_makes_room(sc)
            ),
        )
    })
}

/// How far from fitting the plans `fixed` admits are, when none fits.
#[derive(Debug, Clone)]
pub struct LeastMemory {
    /// The admitted plan needing the least memory.
    pub plan: ParallelPlan,
    /// What it needs (its fullest GPU).
    pub total: crate::units::Bytes,
    /// The least any admitted plan holds that more GPUs, a smaller batch or shorter
    /// sequences do not shrink: its weights, gradients and reserved memory (the
    /// distributed optimizer shards only the optimizer over more data-parallel ranks).
    pub floor: crate::units::Bytes,
    /// The least any admitted plan holds with one micro-batch in flight, the fewest a
    /// batch or GPU count can leave it: `floor` and that micro-batch's activations.
    /// Only shorter sequences (or other plan fields) lower it.
    pub floor_one_micro_batch: crate::units::Bytes,
}

/// The plan of the search space that `fixed` admits needing the least memory, that
/// memory, and the floor no GPU count lowers ([`LeastMemory`]).
pub fn least_memory(sc: &Scenario, fixed: &ParallelFile) -> Option<LeastMemory> {
    let all = candidates(sc, fixed).ok()?;
    let need: Vec<(usize, f64, f64, f64)> = all
        .par_iter()
        .enumerate()
        .filter(|(_, p)| fixed.admits(p))
        .map(|(i, p)| {
            let m = peak_memory(&sc.model, p, &sc.run, sc.cluster.gpu);
            let one = crate::workload::TrainingRun {
                global_batch: u64::from(p.dp) * u64::from(p.micro_batch),
                ..sc.run.clone()
            };
            let m1 = peak_memory(&sc.model, p, &one, sc.cluster.gpu);
            let states = (m.weights + m.gradients + m.reserved).0;
            (i, m.total().0, states, (m1.total() - m1.optimizer).0)
        })
        .collect();
    // Ties go to the first enumerated, whatever the threads.
    let &(i, total, _, _) = need
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
    let least = |f: fn(&(usize, f64, f64, f64)) -> f64| {
        crate::units::Bytes(need.iter().map(f).fold(f64::INFINITY, f64::min))
    };
    Some(LeastMemory {
        plan: all[i].clone(),
        total: crate::units::Bytes(total),
        floor: least(|n| n.2),
        floor_one_micro_batch: least(|n| n.3),
    })
}

/// What would let a plan fit when none does. The model's states (weights, gradients,
/// optimizer, as the memory model counts them a parameter) spread over every GPU of the
/// job are the least any plan holds a GPU: past the GPU's memory, only more GPUs help.
pub fn what_makes_room(sc: &Scenario) -> String {
    let gpus = sc.job_gpus();
    let (w, g, o) = crate::workload::memory::bytes_per_param(&sc.run, sc.cluster.gpu);
    let states = sc.model.total_params() * (w + g + o) / gpus.max(1) as f64;
    if states > sc.cluster.gpu.hbm_capacity.0 {
        format!(
            "more GPUs: the weights, gradients and optimizer states alone need {:.1} GiB a GPU spread over all {gpus}",
            states / crate::units::GIB
        )
    } else {
        "more GPUs, a smaller batch or shorter sequences".to_string()
    }
}

fn rank(v: &mut [PlanResult], o: Objective) {
    v.sort_by(|a, b| {
        a.rank_score(o)
            .total_cmp(&b.rank_score(o))
            .then(a.index.cmp(&b.index))
    });
}

/// Combines shard results into the result of one unsharded search.
/// `expected` is the fingerprint of the search the shards must belong to (the scenario,
/// plan fields, objective and K of this merge), and `sc` its scenario: each shard is
/// checked against them, and every figure in it for sense, before it is trusted.
pub fn merge(parts: &[SearchResult], expected: &str, sc: &Scenario) -> Result<SearchResult> {
    let first = parts
        .first()
        .ok_or_else(|| Error::invalid("merge", "no files", "at least one shard file"))?;
    for p in parts {
        if p.fingerprint != expected {
            return Err(Error::invalid(
                "merge",
                format!("shard {} (fingerprint {})", p.shard, p.fingerprint),
                format!(
                    "shards of this search (fingerprint {expected}): give the merge the scenario, plan flags, --objective and --top the shards were made with"
                ),
            ));
        }
        check_shard(p, sc)?;
    }
    let mut shards: Vec<&str> = parts.iter().map(|p| p.shard.as_str()).collect();
    // In shard order (2/16 before 10/16), not the text's.
    let index = |s: &str| -> u64 {
        s.split_once('/')
            .and_then(|(i, _)| i.parse().ok())
            .unwrap_or(u64::MAX)
    };
    shards.sort_unstable_by(|a, b| index(a).cmp(&index(b)).then(a.cmp(b)));
    let n = parts.len();
    let count = shards
        .first()
        .and_then(|s| s.split_once('/'))
        .and_then(|(_, c)| c.parse::<usize>().ok())
        .unwrap_or(n);
    let want: Vec<String> = (1..=count).map(|k| format!("{k}/{count}")).collect();
    if shards != want {
        let missing: Vec<&String> = want
            .iter()
            .filter(|w| !shards.contains(&w.as_str()))
            .collect();
        return Err(Error::invalid(
            "merge",
            format!("shards {}", shards.join(", ")),
            if missing.is_empty() {
                format!("each of the shards 1/{count} .. {count}/{count} once")
            } else {
                format!(
                    "all the shards 1/{count} .. {count}/{count}; missing: {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ));
    }
    let k = parts.iter().map(|p| p.top.len()).max().unwrap_or(0);
    let mut top: Vec<PlanResult> = parts.iter().flat_map(|p| p.top.iter().cloned()).collect();
    rank(&mut top, first.objective);
    // The best with room of all the shards' finalists: each shard's own, and its top's.
    let mut roomy: Vec<PlanResult> = parts
        .iter()
        .flat_map(|p| p.best_with_room.iter().chain(&p.top))
        .filter(|r| !r.memory_tight)
        .cloned()
        .collect();
    rank(&mut roomy, first.objective);
    let best_with_room = top
        .first()
        .filter(|b| b.memory_tight)
        .and(roomy.into_iter().next());
    top.truncate(k);
    let sum = |f: fn(&SearchResult) -> u64| {
        parts
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(f(p)))
            .ok_or_else(|| {
                Error::invalid(
                    "merge",
                    "plan counts",
                    "counts that add up without overflow",
                )
            })
    };
    let evaluated = sum(|p| p.plans_evaluated)?;
    let feasible = sum(|p| p.plans_feasible)?;
    Ok(SearchResult {
        fingerprint: first.fingerprint.clone(),
        job: first.job.clone(),
        shard: "all".into(),
        plans_evaluated: evaluated,
        plans_feasible: feasible,
        plans_rejected_memory: evaluated - feasible,
        objective: first.objective,
        top,
        best_with_room,
        notes: Vec::new(),
    })
}

/// A shard's figures make sense for this scenario: counts that add up, plans of the
/// job's size, finite positive times, an MFU between 0 and 1, distinct indices.
fn check_shard(p: &SearchResult, sc: &Scenario) -> Result<()> {
    let bad = |what: String, allowed: &str| {
        Err(Error::invalid(
            "merge",
            format!("shard {}: {what}", p.shard),
            format!("{allowed} (a corrupted or edited shard file?)"),
        ))
    };
    if p.plans_feasible > p.plans_evaluated
        || p.plans_rejected_memory != p.plans_evaluated - p.plans_feasible
    {
        return bad(
            format!(
                "{} evaluated, {} feasible, {} rejected",
                p.plans_evaluated, p.plans_feasible, p.plans_rejected_memory
            ),
            "feasible + rejected = evaluated",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    // The plan with room may be one of the top too: its index is not a repeat.
    let roomy = p
        .best_with_room
        .iter()
        .filter(|r| !p.top.iter().any(|t| t.index == r.index));
    for r in p.top.iter().chain(roomy) {
        let plan_ok = r.plan.gpus() == sc.job_gpus() && r.plan.validate(&sc.model, &sc.run).is_ok();
        if !plan_ok {
            return bad(
                format!("plan {}", r.plan.label()),
                "valid plans of this job",
            );
        }
        let finite = [r.step_time_s, r.memory_gib, r.days_to_train, r.mfu]
            .iter()
            .all(|x| x.is_finite());
        if !finite || r.step_time_s <= 0.0 || r.days_to_train <= 0.0 || r.memory_gib < 0.0 {
            return bad(
                format!(
                    "step {} s, {} GiB, {} days",
                    r.step_time_s, r.memory_gib, r.days_to_train
                ),
                "finite, positive times and memory",
            );
        }
        if !(r.mfu > 0.0 && r.mfu <= 1.0 && r.fits) {
            return bad(
                format!("MFU {}, fits {}", r.mfu, r.fits),
                "an MFU in (0, 1] of a plan that fits",
            );
        }
        if !seen.insert(r.index) {
            return bad(format!("index {} twice", r.index), "each plan once");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{build, ParallelFile, ScenarioFile, ScenarioLayers, TrainingFile};

    #[test]
    fn fewer_gpus_are_tried_where_the_count_or_the_batch_splits_badly() {
        // 100 = 4 x 25 at a batch of 96: 96 (3 x 32, and dp 96).
        assert_eq!(fewer_gpus_to_try(100, 96, 8), Some(96));
        // 2,048 at a batch of 2,000: a dp of 250 with tp 8 fills 2,000.
        assert_eq!(fewer_gpus_to_try(2048, 2000, 8), Some(2000));
        // A batch of 15,360 (2^10 x 15) on 2,000: dp 1,920 beats 1,536.
        assert_eq!(fewer_gpus_to_try(2000, 15_360, 8), Some(1920));
        // Counts that a tp and a dp of the batch fill: nothing to try.
        for (gpus, batch) in [(1024, 1024), (98_304, 12_288), (1000, 1000), (16_384, 2048)] {
            assert_eq!(fewer_gpus_to_try(gpus, batch, 8), None, "{gpus} {batch}");
        }
    }

    #[test]
    fn a_plan_that_fills_the_gpu_ranks_after_one_that_leaves_room_within_the_penalty() {
        let noop = |_: u64, _: u64| {};
        let one = search(&small(), Objective::Step, 1, None, &noop)
            .unwrap()
            .top[0]
            .clone();
        let plan = |index, step_time_s, memory_tight| PlanResult {
            index,
            step_time_s,
            memory_tight,
            ..one.clone()
        };
        // 1.000 s tight ranks as 1.010: after 1.005 s with room, before 1.020 s.
        let mut v = vec![
            plan(0, 1.000, true),
            plan(1, 1.005, false),
            plan(2, 1.020, false),
            plan(3, 1.011, true),
        ];
        rank(&mut v, Objective::Step);
        let order: Vec<u64> = v.iter().map(|r| r.index).collect();
        assert_eq!(order, [1, 0, 2, 3]);
    }

    #[test]
    fn past_the_states_only_more_gpus_make_room() {
        // Llama 3 405B: 20 B a parameter (BF16 weights and grads, FP32 master, moments
        // and grad copy), 7.4 TiB: over 256 GPUs it fits in 80 GB (a smaller batch may
        // help); over 8 it cannot.
        let mut sc = crate::scenario::preset_scenario("memphis-405b");
        sc.plan.dp = 1;
        assert_eq!(sc.job_gpus(), 256);
        assert_eq!(
            what_makes_room(&sc),
            "more GPUs, a smaller batch or shorter sequences"
        );
        (sc.plan.tp, sc.plan.pp, sc.plan.cp) = (8, 1, 1);
        let room = what_makes_room(&sc);
        assert!(
            room.starts_with("more GPUs: the weights, gradients and optimizer states alone need"),
            "{room}"
        );
        assert!(room.ends_with("spread over all 8"), "{room}");
    }

    fn small() -> Scenario {
        let mut flags = ScenarioFile {
            parallel: ParallelFile {
                tp: Some(1),
                pp: Some(1),
                vpp: Some(1),
                cp: Some(1),
                ..Default::default()
            },
            training: TrainingFile {
                gpus: Some(64),
                global_batch: Some(128),
                seq_len: Some(4096),
                ..Default::default()
            },
            ..Default::default()
        };
        flags.model.preset = Some("llama3-8b".into());
        build(&ScenarioLayers::flags(flags)).unwrap()
    }

    /// A sequence that does not split over tp x cp leaves tp open, without sequence
    /// parallelism (which Megatron cannot run on it), unless the user asked for it.
    #[test]
    fn a_sequence_tp_cannot_split_keeps_tp_without_sequence_parallelism() {
        let mut sc = crate::scenario::preset_scenario("memphis-405b");
        sc.run.seq_len = 8191;
        let all = enumerate(&sc);
        assert!(all.iter().any(|p| p.tp == 8));
        for p in &all {
            let even = sc.run.seq_len.is_multiple_of(u64::from(p.tp * p.cp));
            assert_eq!(p.sequence_parallel, p.tp > 1 && even, "{}", p.label());
        }
        assert!(enumerate_with(&sc, None, Some(true))
            .iter()
            .all(|p| p.tp == 1));
    }

    #[test]
    fn moe_plans_fold_experts_over_tp_cp_and_dp() {
        // DeepSeek-V3 on its 2,048 H800: the space holds EP spanning TP (etp 1 with
        // ep > dp) and experts split over TP (etp = tp), and nothing else.
        let sc = crate::scenario::preset_scenario("deepseek-v3-h800");
        let all = enumerate(&sc);
        assert!(all.iter().all(|p| p.etp == p.tp || p.etp == 1));
        assert!(all.iter().any(|p| p.tp > 1 && p.etp == 1 && p.ep > p.dp));
        assert!(all.iter().any(|p| p.tp > 1 && p.etp == p.tp && p.ep > 1));
        for p in &all {
            let stage = u64::from(p.tp) * u64::from(p.cp) * u64::from(p.dp);
            assert_eq!(
                stage % (u64::from(p.ep) * u64::from(p.etp)),
                0,
                "{}",
                p.label()
            );
            assert_eq!(256 % p.ep, 0);
        }
    }

    #[test]
    fn shards_merge_to_the_unsharded_result() {
        let sc = small();
        let noop = |_: u64, _: u64| {};
        let whole = search(&sc, Objective::Step, 5, None, &noop).unwrap();
        assert!(whole.plans_evaluated > 100);
        let expected = fingerprint(&sc, &ParallelFile::default(), Objective::Step, 5);
        // Three shards, and twelve given in the text's order (10/12 before 2/12).
        for count in [3, 12] {
            let mut parts: Vec<SearchResult> = (1..=count)
                .map(|i| {
                    let shard = Some(Shard { index: i, count });
                    search(&sc, Objective::Step, 5, shard, &noop).unwrap()
                })
                .collect();
            parts.sort_by(|a, b| a.shard.cmp(&b.shard));
            let merged = merge(&parts, &expected, &sc).unwrap();
            assert_eq!(
                serde_json::to_string(&merged).unwrap(),
                serde_json::to_string(&whole).unwrap(),
                "{count} shards"
            );
        }
        // Results do not depend on the thread count.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| search(&sc, Objective::Step, 5, None, &noop).unwrap());
        assert_eq!(one, whole);
    }

    #[test]
    fn bad_shards_and_merges() {
        assert!(Shard::parse("0/4").is_err());
        assert!(Shard::parse("5/4").is_err());
        assert!(Shard::parse("x").is_err());
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        let noop = |_: u64, _: u64| {};
        let a = search(
            &small(),
            Objective::Step,
            3,
            Some(Shard { index: 1, count: 2 }),
            &noop,
        )
        .unwrap();
        let mut other = small();
        other.run.seq_len = 2048;
        let b = search(
            &other,
            Objective::Step,
            3,
            Some(Shard { index: 2, count: 2 }),
            &noop,
        )
        .unwrap();
        let expected = fingerprint(&small(), &ParallelFile::default(), Objective::Step, 3);
        assert!(merge(&[a, b], &expected, &small())
            .unwrap_err()
            .to_string()
            .contains("fingerprint"));
    }

    #[test]
    fn a_batch_no_plan_divides_is_explained() {
        // 98,304 GPUs need dp >= 8 (tp <= 8, cp <= 16, pp <= 126 layers): an odd batch
        // has no plan.
        let mut sc = build(&ScenarioLayers::default()).unwrap();
        sc.run.global_batch = 1001;
        let noop = |_: u64, _: u64| {};
        let e = search(&sc, Objective::Step, 3, None, &noop)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no plan exists"), "{e}");
    }

    #[test]
    fn the_planner_recomputes_the_fewest_layers_that_fit() {
        // Llama 3.1 405B at TP8 PP16 on 8,192 GPUs (Meta's 8K layout): selective
        // recomputation does not fit at vpp 4, recomputing every layer does. The planner
        // offers the block method in between and it wins: it fits and is faster.
        let mut sc = build(&ScenarioLayers::default()).unwrap();
        (sc.plan.cp, sc.plan.dp) = (1, 64); // the job's GPUs: tp x pp x cp x dp = 8,192
        sc.run.global_batch = 2048;
        let fixed = ParallelFile {
            tp: Some(8),
            pp: Some(16),
            cp: Some(1),
            micro_batch: Some(1),
            ..Default::default()
        };
        let r = search_within(&sc, &fixed, Objective::Step, 3, None, &|_, _| {}).unwrap();
        let best = &r.top[0];
        assert!(best.fits);
        assert_eq!((best.plan.dp, best.plan.cp), (64, 1), "{best:?}");
        let n = best.plan.recompute_layers.expect("a block plan wins");
        assert_eq!(best.plan.recompute, Recompute::Full);
        let uniform = ParallelPlan {
            recompute_layers: None,
            ..best.plan.clone()
        };
        let u = evaluate(&sc, 0, &uniform).unwrap();
        assert!(
            best.step_time_s < u.step_time_s,
            "{n} layers: {best:?} vs {u:?}"
        );
        // One layer fewer does not fit.
        if n > 1 {
            let fewer = ParallelPlan {
                recompute_layers: Some(n - 1),
                ..best.plan.clone()
            };
            assert!(!evaluate(&sc, 0, &fewer).unwrap().fits);
        }
        // Full recomputation asked for without a count is every layer: no block plans.
        let every = ParallelFile {
            recompute: Some(Recompute::Full),
            ..fixed
        };
        let r = search_within(&sc, &every, Objective::Step, 3, None, &|_, _| {}).unwrap();
        assert!(!r.top.is_empty());
        assert!(r.top.iter().all(|t| t.plan.recompute_layers.is_none()));
    }

    #[test]
    fn selective_recompute_that_recomputes_nothing_can_be_asked_for() {
        // Fused attention recomputing only its core: the enumeration keeps it as
        // `none`, but a user who writes `selective` (the presets' default) gets plans.
        let sc = small();
        assert!(sc.run.selective_is_free());
        let fixed = ParallelFile {
            recompute: Some(Recompute::Selective),
            ..Default::default()
        };
        let r = search_within(&sc, &fixed, Objective::Step, 2, None, &|_, _| {}).unwrap();
        assert!(!r.top.is_empty());
        assert!(r
            .top
            .iter()
            .all(|p| p.plan.recompute == Recompute::Selective));
    }

    #[test]
    fn a_fixed_field_no_plan_has_is_named_with_the_values_plans_have() {
        let sc = small();
        let search = |fixed: ParallelFile| {
            search_within(&sc, &fixed, Objective::Step, 1, None, &|_, _| {})
                .unwrap_err()
                .to_string()
        };
        // What the model's shape refuses is named for that, as `simulate` names it.
        let e = search(ParallelFile {
            tp: Some(3),
            ..Default::default()
        });
        assert!(
            e.contains("parallel.tp = 3") && e.contains("attention heads (32)"),
            "{e}"
        );
        // What the job refuses is named with the values valid plans have.
        let e = search(ParallelFile {
            cp: Some(3),
            ..Default::default()
        });
        assert!(
            e.contains("parallel.cp = 3") && e.contains("one of 1, 2, 4"),
            "{e}"
        );
        // Each alone is possible (64 GPUs), together they need 128: said of the GPUs.
        let e = search(ParallelFile {
            tp: Some(8),
            pp: Some(2),
            cp: Some(8),
            ..Default::default()
        });
        assert!(
            e.contains("training.gpus = 64: a multiple of the plan fields given, tp x pp x cp = 8 x 2 x 8 = 128"),
            "{e}"
        );
        // DP 64 leaves 2 sequences a replica, too few for micro-batches of 4; each alone
        // is in some plan: said of the batch.
        let e = search(ParallelFile {
            dp: Some(64),
            micro_batch: Some(4),
            ..Default::default()
        });
        assert!(
            e.contains("training.global_batch = 128: a positive multiple of dp x micro_batch (64 x 4 = 256)"),
            "{e}"
        );
        // TP1 PP2 leaves dp = 32 / cp, at least 2 (cp stops at 16): no plan with them
        // splits an odd batch, though each is a plan of 64 GPUs. Said of the batch, not
        // of pp.
        let mut odd = sc.clone();
        odd.run.global_batch = 99;
        let e = search_within(
            &odd,
            &ParallelFile {
                tp: Some(1),
                pp: Some(2),
                ..Default::default()
            },
            Objective::Step,
            1,
            None,
            &|_, _| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "training.global_batch = 99: a batch that some plan with tp = 1, pp = 2 splits"
            ) && e.contains("the nearest are 98 and 100"),
            "{e}"
        );
    }

    #[test]
    fn no_plan_for_an_odd_gpu_count_names_its_odd_factor() {
        let mut sc = small();
        sc.plan.dp = 1003; // tp = pp = cp = 1: the job's GPUs
        sc.run.global_batch = 1024;
        let e = no_plan_reason(&sc).to_string();
        assert!(
            e.contains("(1003 = 17 x 59: tp and cp are powers of two, so the odd factor 1003 has to go to pp or dp"),
            "{e}"
        );
        sc.plan.dp = 24 * 17;
        let e = no_plan_reason(&sc).to_string();
        assert!(
            e.contains("(408 = 8 x 3 x 17: tp and cp are powers of two, so the odd factor 51 has"),
            "{e}"
        );
        // 3 x 2^k GPUs are not the obstacle: an odd batch is.
        sc.plan.dp = 3 * 256;
        sc.run.global_batch = 7;
        let e = no_plan_reason(&sc).to_string();
        assert!(e.contains("dp divides") && !e.contains("odd factor"), "{e}");
        assert_eq!(prime_factors(1), Vec::<u64>::new());
        assert_eq!(prime_factors(97), vec![97]);
    }

    #[test]
    fn corrupted_or_foreign_shards_are_refused() {
        let sc = small();
        let noop = |_: u64, _: u64| {};
        let one = Some(Shard { index: 1, count: 1 });
        let whole = search(&sc, Objective::Step, 3, one, &noop).unwrap();
        let fp = fingerprint(&sc, &ParallelFile::default(), Objective::Step, 3);
        assert!(merge(std::slice::from_ref(&whole), &fp, &sc).is_ok());
        let corrupt = |f: &dyn Fn(&mut SearchResult)| {
            let mut p = whole.clone();
            f(&mut p);
            merge(&[p], &fp, &sc).unwrap_err().to_string()
        };
        assert!(corrupt(&|p| p.top[0].step_time_s = -5.0).contains("finite, positive"));
        assert!(corrupt(&|p| p.top[0].mfu = 7.5).contains("MFU"));
        assert!(corrupt(&|p| p.top[0].plan.tp = 0).contains("valid plans"));
        assert!(corrupt(&|p| p.plans_rejected_memory = u64::MAX).contains("evaluated"));
        assert!(corrupt(&|p| p.top[1].index = p.top[0].index).contains("twice"));
        // Another --top, objective or scenario: another fingerprint.
        let other = fingerprint(&sc, &ParallelFile::default(), Objective::Step, 4);
        assert!(merge(&[whole], &other, &sc)
            .unwrap_err()
            .to_string()
            .contains("fingerprint"));
    }
}
