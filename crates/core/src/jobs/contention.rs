//! The jobs' collectives solved together on one fabric.
//!
//! What is modelled: each job's fabric flows per communicator kind (DP, CP and PP rings,
//! the expert-DP ring, the sampled windows of the EP all-to-all) as
//! `collective::flow::job_patterns` builds them for one job, its ranks mapped to its
//! servers' GPUs. A kind's derating alone is what `FlowComm` solves for one job; shared,
//! it is the same ratio (the kind's slowest flow against its NIC-only rate) in a solve
//! where the other jobs send too. Rounds: one per kind (and EP phase); in a round, every
//! job that has the kind sends it; with [`Overlap::Busy`] no job is quiet: one without
//! the kind sends its heaviest kind meanwhile. The step then prices each kind's
//! collectives with its derating, as for one job: volumes, algorithms and overlap come
//! from the step model.
//!
//! Not modelled: the jobs' step timelines drifting against each other (phases are
//! either aligned by kind or always on), nor NIC sharing between jobs (they hold whole
//! servers).

use super::Overlap;
use crate::collective::flow::{
    combine_phases, expected_fraction, job_patterns, rate_fractions, salts, JOB_SALT,
};
use crate::collective::GroupKind;
use crate::fabric::{Fabric, Routing};
use crate::scenario::{placed_gpu, Scenario};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Rounds in order: the kinds solved together.
pub const ROUNDS: [GroupKind; 5] = [
    GroupKind::Dp,
    GroupKind::Cp,
    GroupKind::Pp,
    GroupKind::ExpertDp,
    GroupKind::Ep,
];

/// A job with its servers.
#[derive(Debug, Clone, Copy)]
pub struct PlacedJob<'a> {
    /// The job's scenario (its cluster is the whole cluster).
    pub scenario: &'a Scenario,
    /// Its servers, rank order.
    pub servers: &'a [u32],
    /// What it sends in another job's round when every job is busy.
    pub heaviest: Option<GroupKind>,
}

/// Per kind: its phases' flows.
type Patterns = BTreeMap<GroupKind, Vec<Vec<(u32, u32)>>>;

/// A link (or adaptive pool) that bounds a job's slowest flow in a round, shared by
/// several jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The resource id in `Fabric::route`'s output.
    pub resource: u32,
    /// The round (the kind every job was sending).
    pub kind: GroupKind,
    /// The jobs whose slowest flow it bounds (indices).
    pub binds: Vec<usize>,
    /// Every job with flows on it (indices).
    pub jobs: Vec<usize>,
}

/// Saturated resources of one round, per tier (`Fabric::resource_name`'s tiers).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundLinks {
    /// The round's kind.
    pub kind: GroupKind,
    /// Flows solved in the round (all phases).
    pub flows: u64,
    /// (tier, saturated resources, of those the ones several jobs share).
    pub saturated: Vec<(&'static str, u64, u64)>,
}

/// The solved mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Contention {
    /// Per job: each kind's derating alone on its placement.
    pub alone: Vec<BTreeMap<GroupKind, f64>>,
    /// Per job: each kind's derating with the other jobs sending.
    pub shared: Vec<BTreeMap<GroupKind, f64>>,
    /// The shared links that bind, by round.
    pub bindings: Vec<Binding>,
    /// Saturation per round and tier.
    pub rounds: Vec<RoundLinks>,
    /// Whether any round had jobs without its kind send their heaviest ([`Overlap::Busy`]
    /// where some job lacks a kind another has); if not, busy solved what aligned does.
    pub background: bool,
}

/// Solves each job alone and all together. Deterministic: the solves run in parallel
/// but each is sequential and results are gathered in order.
pub fn solve(
    fabric: &Fabric,
    jobs: &[PlacedJob],
    routing: Routing,
    overlap: Overlap,
) -> Contention {
    let patterns: Vec<Patterns> = jobs.par_iter().map(|j| placed_patterns(j)).collect();
    let alone: Vec<BTreeMap<GroupKind, f64>> = patterns
        .par_iter()
        .map(|p| {
            p.iter()
                .map(|(&k, phases)| {
                    let f = crate::collective::flow::phases_fraction(
                        fabric, k, phases, routing, JOB_SALT,
                    );
                    (k, f)
                })
                .collect()
        })
        .collect();
    let mut shared = alone.clone();
    let mut bindings = Vec::new();
    let mut rounds = Vec::new();
    let mut any_background = false;
    for kind in ROUNDS {
        let senders: Vec<usize> = (0..jobs.len())
            .filter(|&j| patterns[j].contains_key(&kind))
            .collect();
        let background = overlap == Overlap::Busy && senders.len() < jobs.len();
        if senders.is_empty() || (senders.len() == 1 && !background) {
            continue;
        }
        any_background |= background;
        let r = solve_round(fabric, jobs, &patterns, kind, &senders, routing, overlap);
        for (j, f) in r.fractions {
            shared[j].insert(kind, f);
        }
        bindings.extend(r.bindings);
        rounds.push(r.links);
    }
    Contention {
        alone,
        shared,
        bindings,
        rounds,
        background: any_background,
    }
}

fn placed_patterns(j: &PlacedJob) -> Patterns {
    let gpn = j.scenario.cluster.gpus_per_node;
    job_patterns(j.scenario, |r| placed_gpu(j.servers, gpn, r))
}

/// One round's results.
struct Round {
    fractions: Vec<(usize, f64)>,
    bindings: Vec<Binding>,
    links: RoundLinks,
}

/// The flows of phase `s` of a round: (pairs, owning job, whether it is the round's kind).
fn round_flows(
    jobs: &[PlacedJob],
    patterns: &[Patterns],
    kind: GroupKind,
    s: usize,
    overlap: Overlap,
) -> (Vec<(u32, u32)>, Vec<u32>, Vec<bool>) {
    let (mut pairs, mut owner, mut fg) = (Vec::new(), Vec::new(), Vec::new());
    for (j, p) in patterns.iter().enumerate() {
        // Busy: a job without the kind sends its heaviest (or else its first) kind.
        let background = || {
            jobs[j]
                .heaviest
                .and_then(|h| p.get(&h))
                .or(p.values().next())
        };
        let (pattern, mine) = match (p.get(&kind), overlap) {
            (Some(ph), _) => (&ph[s % ph.len()], true),
            (None, Overlap::Busy) => match background() {
                Some(ph) => (&ph[s % ph.len()], false),
                None => continue,
            },
            _ => continue,
        };
        pairs.extend_from_slice(pattern);
        owner.extend(std::iter::repeat_n(j as u32, pattern.len()));
        fg.extend(std::iter::repeat_n(mine, pattern.len()));
    }
    (pairs, owner, fg)
}

fn solve_round(
    fabric: &Fabric,
    jobs: &[PlacedJob],
    patterns: &[Patterns],
    kind: GroupKind,
    senders: &[usize],
    routing: Routing,
    overlap: Overlap,
) -> Round {
    let phases = senders
        .iter()
        .map(|&j| patterns[j][&kind].len())
        .max()
        .unwrap_or(1);
    // Each ECMP draw solves every phase, as each job's own patterns are solved alone
    // (`phases_fraction`): the phases combine within a draw, then the draws.
    let draws: Vec<Vec<Phase>> = salts(routing, JOB_SALT)
        .into_par_iter()
        .map(|salt| {
            (0..phases)
                .into_par_iter()
                .map(|s| {
                    let (pairs, owner, fg) = round_flows(jobs, patterns, kind, s, overlap);
                    solve_phase(fabric, &pairs, &owner, &fg, jobs.len(), routing, salt)
                })
                .collect()
        })
        .collect();
    let fractions = senders
        .iter()
        .map(|&j| {
            let n = patterns[j][&kind].len();
            let per_draw: Vec<f64> = draws
                .iter()
                .map(|solved| {
                    let per: Vec<f64> = solved.iter().take(n).map(|p| p.slowest[j].1).collect();
                    combine_phases(kind, &per)
                })
                .collect();
            (j, expected_fraction(&per_draw))
        })
        .collect();
    let mut by_resource: BTreeMap<u32, (BTreeSet<usize>, BTreeSet<usize>)> = BTreeMap::new();
    let mut saturated: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    // The links that bind and saturate in any draw; the flows of one draw.
    let solved = &draws[0];
    for p in draws.iter().flatten() {
        for (r, binds, on) in &p.bindings {
            let e = by_resource.entry(*r).or_default();
            e.0.extend(binds);
            e.1.extend(on);
        }
        for (tier, n, sh) in &p.saturated {
            let e = saturated.entry(tier).or_default();
            e.0 = e.0.max(*n);
            e.1 = e.1.max(*sh);
        }
    }
    Round {
        fractions,
        bindings: by_resource
            .into_iter()
            .map(|(resource, (b, j))| Binding {
                resource,
                kind,
                binds: b.into_iter().collect(),
                jobs: j.into_iter().collect(),
            })
            .collect(),
        links: RoundLinks {
            kind,
            flows: solved.iter().map(|p| p.flows).sum(),
            saturated: saturated.into_iter().map(|(t, (n, s))| (t, n, s)).collect(),
        },
    }
}

/// One solve: per job, its slowest own flow (index, fraction; 1 without flows); the
/// shared resources that bind a job's slowest flow; saturation by tier.
struct Phase {
    flows: u64,
    slowest: Vec<(usize, f64)>,
    bindings: Vec<(u32, Vec<usize>, Vec<usize>)>,
    saturated: Vec<(&'static str, u64, u64)>,
}

/// A resource's users: the first job seen, and whether another job uses it too.
const NOBODY: u32 = u32::MAX;

/// Resources at least this full (of capacity) are saturated.
const FULL: f64 = 1.0 - 1e-6;

fn solve_phase(
    fabric: &Fabric,
    pairs: &[(u32, u32)],
    owner: &[u32],
    fg: &[bool],
    jobs: usize,
    routing: Routing,
    salt: u64,
) -> Phase {
    let (rf, rates, fractions) = rate_fractions(fabric, pairs, routing, salt);
    let mut slowest = vec![(usize::MAX, 1.0f64); jobs];
    for f in 0..rf.flows() {
        let j = owner[f] as usize;
        if fg[f] && fractions[f] < slowest[j].1 {
            slowest[j] = (f, fractions[f]);
        }
    }
    let use_ = Usage::of(&rf, &rates, owner);
    let full = |r: u32| use_.load[r as usize] >= FULL * rf.capacity[r as usize];
    // The bottleneck of each job's slowest flow: its first full resource that another
    // job also uses (the NIC links at either end are the job's own).
    let mut binds: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (j, &(f, frac)) in slowest.iter().enumerate() {
        if f == usize::MAX || frac >= FULL {
            continue;
        }
        let shared_full = |r: &&u32| full(**r) && use_.multi[**r as usize];
        if let Some(&r) = rf.resources(f).iter().find(shared_full) {
            binds.entry(r).or_default().push(j);
        }
    }
    let mut users: BTreeMap<u32, BTreeSet<usize>> =
        binds.keys().map(|&r| (r, BTreeSet::new())).collect();
    for f in 0..rf.flows() {
        for r in rf.resources(f) {
            if let Some(u) = users.get_mut(r) {
                u.insert(owner[f] as usize);
            }
        }
    }
    let mut saturated: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for r in (0..rf.capacity.len() as u32).filter(|&r| use_.first[r as usize] != NOBODY && full(r))
    {
        let e = saturated.entry(fabric.resource_tier(r)).or_default();
        e.0 += 1;
        e.1 += u64::from(use_.multi[r as usize]);
    }
    Phase {
        flows: rf.flows() as u64,
        slowest,
        bindings: binds
            .into_iter()
            .map(|(r, b)| {
                (
                    r,
                    b,
                    users.remove(&r).unwrap_or_default().into_iter().collect(),
                )
            })
            .collect(),
        saturated: saturated.into_iter().map(|(t, (n, s))| (t, n, s)).collect(),
    }
}

/// Each resource's load (bytes/s), its first user and whether another job uses it too.
struct Usage {
    load: Vec<f64>,
    first: Vec<u32>,
    multi: Vec<bool>,
}

impl Usage {
    fn of(rf: &crate::net::flow::RoutedFlows, rates: &[f64], owner: &[u32]) -> Usage {
        let n = rf.capacity.len();
        let mut u = Usage {
            load: vec![0.0; n],
            first: vec![NOBODY; n],
            multi: vec![false; n],
        };
        for f in 0..rf.flows() {
            for &r in rf.resources(f) {
                let r = r as usize;
                u.load[r] += rates[f];
                match u.first[r] {
                    NOBODY => u.first[r] = owner[f],
                    o if o != owner[f] => u.multi[r] = true,
                    _ => {}
                }
            }
        }
        u
    }
}
