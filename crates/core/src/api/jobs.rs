//! `jobs` and `place`: several jobs on one fabric. Each job's scenario is resolved as
//! `simulate` resolves one (`api::resolve`, on the file's cluster); the jobs are placed
//! (`jobs::placement`), their collectives solved alone and together
//! (`jobs::contention`), and each job's step priced with both deratings by the one
//! step function's parts (`step::simulate_step_with`, the timeline).

use crate::api::simulate::{resolve_with, Hints};
use crate::collective::flow::FlowComm;
use crate::collective::GroupKind;
use crate::error::{Error, Result};
use crate::fabric::{Fabric, Inventory, Routing};
use crate::jobs::contention::{self, Contention, PlacedJob};
use crate::jobs::placement::{self, Request, Servers};
use crate::jobs::{Align, JobFile, JobsFile, Overlap, PlacementKind, MAX_JOBS};
use crate::power::PowerReport;
use crate::scenario::{
    scenario_preset, ClusterFile, ClusterSpec, NetworkModel, Scenario, ScenarioFile,
    ScenarioLayers, TrainingFile, DEFAULT_SCENARIO,
};
use crate::step::{self, Heterogeneity, StepResult};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// A mix ready to place: the cluster and every job's scenario.
#[derive(Debug, Clone)]
pub struct Mix {
    /// Display name.
    pub name: String,
    /// The cluster.
    pub cluster: ClusterSpec,
    /// Routing on the fabric.
    pub routing: Routing,
    /// How the jobs' phases meet.
    pub overlap: Overlap,
    /// The jobs, file order.
    pub jobs: Vec<MixJob>,
    /// The file it came from (its cluster filled in): `place` resolves each job again
    /// where each policy puts it.
    file: JobsFile,
}

/// One job of a mix.
#[derive(Debug, Clone)]
pub struct MixJob {
    /// The job's scenario.
    pub scenario: Scenario,
    /// Its placement request.
    pub request: Request,
    /// What the resolution decided for it (a plan picked by the planner, say).
    pub notes: Vec<String>,
    /// What it sends in another job's round when every job is busy.
    heaviest: GroupKind,
}

/// Resolves every job of a jobs file on its cluster; errors name the job and field.
pub fn resolve_mix(file: &JobsFile) -> Result<Mix> {
    if file.jobs.is_empty() || file.jobs.len() > MAX_JOBS {
        return Err(Error::invalid(
            "job",
            format!("{} jobs", file.jobs.len()),
            format!("1 to {MAX_JOBS} [[job]] sections"),
        ));
    }
    let mut file = file.clone();
    if file.cluster == ClusterFile::default() {
        file.cluster = scenario_preset(DEFAULT_SCENARIO)?.cluster;
    }
    let file = &file;
    let cluster = file.cluster.clone().resolved()?.validate("cluster")?;
    let routing = file.routing.unwrap_or(Routing::Adaptive);
    let mut names = std::collections::BTreeSet::new();
    let mut requests = Vec::new();
    for (i, j) in file.jobs.iter().enumerate() {
        let name = j
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                let given = if j.name.is_some() { "empty" } else { "missing" };
                Error::invalid(format!("job[{i}].name"), given, "a name for every job")
            })?;
        if !names.insert(name.clone()) {
            return Err(Error::invalid(
                format!("job[{i}].name"),
                &name,
                "a name no other job has",
            ));
        }
        requests.push(
            request(j, i, name.clone(), &cluster)
                .map_err(|e| e.within(&format!("job '{name}'")))?,
        );
    }
    // What no policy can mend is the file's error, for `jobs` and `place` alike.
    placement::check(servers_of(&cluster), &requests)?;
    let jobs = match placement::place(servers_of(&cluster), &requests) {
        Ok(placed) => resolve_on(
            file,
            &cluster,
            routing,
            requests,
            placed.into_iter().map(Some),
        ),
        // The file's own placement fails: `jobs` says why when it places them, and
        // `place` still compares the policies that can place them.
        Err(_) => resolve_on(file, &cluster, routing, requests, std::iter::repeat(None)),
    }?;
    Ok(Mix {
        // The reports say the cluster beside the name.
        name: file.name.clone().unwrap_or_else(|| {
            format!(
                "{} job{}",
                jobs.len(),
                if jobs.len() == 1 { "" } else { "s" }
            )
        }),
        cluster,
        routing,
        overlap: file.overlap.unwrap_or_default(),
        jobs,
        file: file.clone(),
    })
}

/// Each job's scenario where `requests` place it. Placement needs only each job's size
/// and placement fields, so it comes first: a plan the planner picks is then searched on
/// the servers the job runs on.
fn resolve_placed(
    file: &JobsFile,
    cluster: &ClusterSpec,
    routing: Routing,
    requests: Vec<Request>,
) -> Result<Vec<MixJob>> {
    let placed = placement::place(servers_of(cluster), &requests)?;
    resolve_on(
        file,
        cluster,
        routing,
        requests,
        placed.into_iter().map(Some),
    )
}

/// Each job's scenario on its servers (None: the cluster's first).
fn resolve_on(
    file: &JobsFile,
    cluster: &ClusterSpec,
    routing: Routing,
    requests: Vec<Request>,
    servers: impl Iterator<Item = Option<Vec<u32>>>,
) -> Result<Vec<MixJob>> {
    file.jobs
        .iter()
        .zip(requests)
        .zip(servers)
        .map(|((j, request), servers)| {
            let name = request.name.clone();
            resolve_job(file, j, request, servers, routing, cluster)
                .map_err(|e| e.within(&format!("job '{name}'")))
        })
        .collect()
}

/// A job's placement request, its fields checked against each other and the cluster.
fn request(j: &JobFile, index: usize, name: String, cluster: &ClusterSpec) -> Result<Request> {
    let (gpus, kind) = check_job(j, cluster)?;
    Ok(Request {
        name,
        gpus,
        servers: (gpus / u64::from(cluster.gpus_per_node)) as u32,
        kind,
        align: j.align.unwrap_or_default(),
        explicit: j.servers.clone().unwrap_or_default(),
        seed: j.seed.unwrap_or(index as u64),
    })
}

/// A job's scenario on the servers placement gave it (None: the cluster's first).
fn resolve_job(
    file: &JobsFile,
    j: &JobFile,
    request: Request,
    servers: Option<Vec<u32>>,
    routing: Routing,
    cluster: &ClusterSpec,
) -> Result<MixJob> {
    let name = request.name.as_str();
    let gpus = u64::from(request.servers) * u64::from(cluster.gpus_per_node);
    // The file's cluster replaces the job preset's whole (none of the preset's cluster
    // fields stay underneath), as a model read from a file replaces its model.
    let layers = ScenarioLayers {
        cluster: Some(file.cluster.clone()),
        model: j.model_file.clone(),
        file: Some(ScenarioFile {
            preset: j.preset.clone(),
            name: Some(name.to_string()),
            model: j.model.clone(),
            parallel: j.parallel.clone(),
            training: j.training.clone(),
            network: Some(NetworkModel::Flow),
            routing: Some(routing),
            ..Default::default()
        }),
        flags: ScenarioFile {
            training: TrainingFile {
                gpus: Some(gpus),
                ..Default::default()
            },
            ..Default::default()
        },
        servers: servers.clone(),
    };
    let mut r = resolve_with(&layers, false, Hints::JobsFile)?;
    // The job runs where it is placed, whoever chose its plan.
    r.scenario.servers = servers;
    // A plan that does not fit is refused, as `simulate` refuses it.
    let memory = super::simulate::memory(&r.scenario);
    if !memory.fits {
        return Err(super::simulate::does_not_fit(
            &r.scenario,
            &memory,
            Hints::JobsFile,
        ));
    }
    if r.scenario.job_gpus() != gpus {
        return Err(Error::invalid(
            "gpus",
            gpus,
            format!("the plan's tp x pp x cp x dp ({})", r.scenario.job_gpus()),
        ));
    }
    let heaviest = heaviest_kind(&step::simulate_step(&r.scenario));
    Ok(MixJob {
        request,
        scenario: r.scenario,
        notes: r.notes,
        heaviest,
    })
}

/// A job's GPUs and placement fields, checked against each other and the cluster.
fn check_job(j: &JobFile, cluster: &ClusterSpec) -> Result<(u64, PlacementKind)> {
    let gpn = u64::from(cluster.gpus_per_node);
    let most = cluster.gpus / gpn * gpn;
    let gpus = j
        .gpus
        .ok_or_else(|| Error::invalid("gpus", "missing", "the job's GPU count, whole servers"))?;
    if gpus == 0 || gpus % gpn != 0 || gpus > most {
        let allowed = format!("a multiple of {gpn} (whole servers) up to {most}");
        return Err(Error::invalid("gpus", gpus, allowed));
    }
    if let Some(g) = j.training.gpus.filter(|&g| g != gpus) {
        let allowed = format!("unset, or the job's gpus ({gpus})");
        return Err(Error::invalid("training.gpus", g, allowed));
    }
    let kind = j.placement.unwrap_or_default();
    let only = |field: &str, value: String, with: &str| {
        Error::invalid(field, value, format!("only with placement = \"{with}\""))
    };
    if let (Some(s), false) = (&j.servers, kind == PlacementKind::Explicit) {
        return Err(only("servers", format!("{} servers", s.len()), "explicit"));
    }
    if kind == PlacementKind::Explicit && j.servers.is_none() {
        let allowed = "the job's servers, a list, with placement = \"explicit\"";
        return Err(Error::invalid("servers", "missing", allowed));
    }
    if let (Some(a), false) = (j.align, kind == PlacementKind::Packed) {
        return Err(only("align", align_name(a).into(), "packed"));
    }
    if let (Some(s), false) = (j.seed, kind == PlacementKind::Scattered) {
        return Err(only("seed", s.to_string(), "scattered"));
    }
    Ok((gpus, kind))
}

/// The kind with the most exposed time in a step priced by the analytical network.
fn heaviest_kind(s: &StepResult) -> GroupKind {
    let b = &s.breakdown;
    [
        (GroupKind::Dp, b.dp_comm),
        (GroupKind::Cp, b.cp_comm),
        (GroupKind::Pp, b.pp_comm),
        (GroupKind::Ep, b.ep_comm),
    ]
    .into_iter()
    .fold((GroupKind::Dp, -1.0), |best, (k, t)| {
        if t.0 > best.1 {
            (k, t.0)
        } else {
            best
        }
    })
    .0
}

/// The servers placement sees.
fn servers_of(c: &ClusterSpec) -> Servers {
    Servers {
        count: (c.gpus / u64::from(c.gpus_per_node)) as u32,
        per_rack: c.nodes_per_rack,
        per_array: c.fabric_spec.servers_per_array,
    }
}

/// A job's row in the reports.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct JobRow {
    /// The job's name.
    pub name: String,
    /// Its model.
    pub model: String,
    /// Its plan, "TP8 PP16 (vpp 4) CP2 EP1 DP256".
    pub plan: String,
    /// GPUs.
    pub gpus: u64,
    /// Servers.
    pub servers: u64,
    /// Arrays it has servers in.
    pub arrays: u64,
    /// How it was placed: "packed", "packed, align array", "scattered, seed 3", "explicit".
    pub placement: String,
    /// Its lowest and highest server.
    pub server_range: [u32; 2],
    /// Step time alone on the same servers, s.
    pub step_alone_s: f64,
    /// Step time with the other jobs, s.
    pub step_s: f64,
    /// step_s / step_alone_s - 1 (0.05 = 5% slower).
    pub slowdown: f64,
    /// The job's average IT power at its step with the others, MW: its GPUs, and its
    /// share of hosts, NICs, switches and storage, as `simulate` accounts a job (a
    /// slower step waits more, and its GPUs draw less on average).
    pub it_mw: f64,
    /// The same at the facility (IT x PUE), MW.
    pub facility_mw: f64,
    /// Per communicator kind on the fabric: its slowest flow's rate / line rate.
    pub kinds: Vec<KindRow>,
}

/// The site with every job of the mix training together: the jobs' GPUs at their
/// steps with the others, the GPUs no job holds at idle power, and the rest of the site
/// (hosts, NICs, switches, storage) as `simulate` accounts it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MixSite {
    /// GPUs in the cluster.
    pub gpus: u64,
    /// GPUs no job holds, at idle power.
    pub idle_gpus: u64,
    /// Average IT power, MW.
    pub it_mw: f64,
    /// Average facility power, MW: IT x the PUE of the first job's scenario.
    pub facility_mw: f64,
}

/// A communicator kind's derating, alone and shared.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct KindRow {
    /// dp, cp, pp, expert_dp or ep.
    pub kind: String,
    /// Alone on the job's servers.
    pub alone: f64,
    /// With the other jobs.
    pub shared: f64,
}

/// A shared link (or adaptive pool) that bounds some job's slowest flow.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LinkRow {
    /// leaf-spine or spine-core.
    pub tier: String,
    /// "leaf 3 -> spine 17", switches numbered within their tier.
    pub link: String,
    /// Resource id in the routed flows.
    pub id: u32,
    /// The round: the kind the jobs were sending.
    pub round: String,
    /// Jobs whose slowest flow it bounds.
    pub binds: Vec<String>,
    /// Jobs with flows on it.
    pub jobs: Vec<String>,
}

/// Saturated links of one round by tier.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RoundRow {
    /// The kind every job was sending.
    pub round: String,
    /// Flows solved (all phases).
    pub flows: u64,
    /// Per tier.
    pub tiers: Vec<TierRow>,
}

/// Saturated resources of one tier (the most in any phase of the round).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TierRow {
    /// gpu-leaf, leaf-spine or spine-core.
    pub tier: String,
    /// Resources at capacity.
    pub saturated: u64,
    /// Of those, the ones several jobs use.
    pub shared: u64,
}

/// `memphis jobs`: a placement of several jobs solved together.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct JobsReport {
    /// The mix.
    pub name: String,
    /// The cluster.
    pub cluster: String,
    /// Routing.
    pub routing: Routing,
    /// How the jobs' phases meet.
    pub overlap: Overlap,
    /// The jobs, file order.
    pub jobs: Vec<JobRow>,
    /// The shared links that bind, by round and id.
    pub binding_links: Vec<LinkRow>,
    /// Saturation by round and tier.
    pub rounds: Vec<RoundRow>,
    /// The site's power with every job training.
    pub site: MixSite,
    /// What memphis decided on the jobs' behalf.
    pub notes: Vec<String>,
}

/// Places the mix as its file says and solves it.
pub fn jobs(mix: &Mix, fabric: &Fabric) -> Result<JobsReport> {
    let requests: Vec<Request> = mix.jobs.iter().map(|j| j.request.clone()).collect();
    solve(mix, fabric, &requests)
}

/// Places the requests and solves the mix.
fn solve(mix: &Mix, fabric: &Fabric, requests: &[Request]) -> Result<JobsReport> {
    let placed = placement::place(servers_of(&mix.cluster), requests)?;
    let pj: Vec<PlacedJob> = mix
        .jobs
        .iter()
        .zip(&placed)
        .map(|(j, s)| PlacedJob {
            scenario: &j.scenario,
            servers: s,
            heaviest: Some(j.heaviest),
        })
        .collect();
    let c = contention::solve(fabric, &pj, mix.routing, mix.overlap);
    let inv = fabric.inventory();
    let (rows, powers): (Vec<JobRow>, Vec<PowerReport>) = (0..mix.jobs.len())
        .into_par_iter()
        .map(|i| job_row(mix, i, &requests[i], &placed[i], &c, &inv))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let name = |j: &usize| mix.jobs[*j].request.name.clone();
    Ok(JobsReport {
        name: mix.name.clone(),
        cluster: mix.cluster.name.clone(),
        routing: mix.routing,
        overlap: mix.overlap,
        jobs: rows,
        binding_links: c
            .bindings
            .iter()
            .map(|b| {
                let (tier, link) = fabric.resource_name(b.resource);
                LinkRow {
                    tier: tier.to_string(),
                    link,
                    id: b.resource,
                    round: b.kind.name().to_string(),
                    binds: b.binds.iter().map(name).collect(),
                    jobs: b.jobs.iter().map(name).collect(),
                }
            })
            .collect(),
        rounds: c.rounds.iter().map(round_row).collect(),
        site: mix_site(&powers, &mix.jobs),
        notes: mix_notes(mix)
            .into_iter()
            .chain(busy_as_aligned(mix.overlap, &c))
            .collect(),
    })
}

/// Said when `busy` added no sender: every round's kind belongs to every job (or to one
/// job alone), so the rates are `aligned`'s, not a worse case.
fn busy_as_aligned(overlap: Overlap, c: &contention::Contention) -> Option<String> {
    (overlap == Overlap::Busy && !c.background).then(|| {
        "overlap = busy solved what aligned does: every job has each kind the others send, so none is ever quiet to fill in (busy makes a job without a kind send its heaviest meanwhile)".to_string()
    })
}

/// What resolving each job said (a model's unmodelled fields, a plan the planner chose),
/// each note once, naming every job that said it (jobs from one preset say the same),
/// in the order first said; a warning stays one.
fn mix_notes(mix: &Mix) -> Vec<String> {
    // (warning, text, the jobs that said it)
    let mut said: Vec<(bool, &str, Vec<String>)> = Vec::new();
    for j in &mix.jobs {
        for n in &j.notes {
            let (warning, text) = match n.strip_prefix("warning: ") {
                Some(w) => (true, w),
                None => (false, n.as_str()),
            };
            let name = format!("'{}'", j.request.name);
            match said.iter_mut().find(|s| s.0 == warning && s.1 == text) {
                Some(s) => s.2.push(name),
                None => said.push((warning, text, vec![name])),
            }
        }
    }
    said.into_iter()
        .map(|(warning, text, names)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            format!(
                "{}{} {}: {text}",
                if warning { "warning: " } else { "" },
                if names.len() == 1 { "job" } else { "jobs" },
                crate::text::and_list(&names)
            )
        })
        .collect()
}

fn round_row(r: &contention::RoundLinks) -> RoundRow {
    RoundRow {
        round: r.kind.name().to_string(),
        flows: r.flows,
        tiers: r
            .saturated
            .iter()
            .map(|&(t, n, s)| TierRow {
                tier: t.to_string(),
                saturated: n,
                shared: s,
            })
            .collect(),
    }
}

/// The step with a derating per kind: the one step function's parts, timeline model.
fn step_with(
    sc: &Scenario,
    fractions: &BTreeMap<GroupKind, f64>,
    inv: &Inventory,
) -> Result<(f64, PowerReport)> {
    let comm = FlowComm::with_fractions(sc.cluster.network(), fractions.clone());
    let base = step::simulate_step_with(sc, &comm);
    let (r, tl) = step::simulate_timeline_step(sc, base, &Heterogeneity::default())?;
    Ok((r.time.0, crate::run::power_of(sc, &r, Some(&tl), inv)))
}

/// The site with every job training: the whole site idle (the first job's account of
/// it), plus what each job's training adds over its GPUs idling. The ledger is linear
/// (`power::account`): with one job this is `simulate`'s site.
fn mix_site(powers: &[PowerReport], jobs: &[MixJob]) -> MixSite {
    let site = &powers[0].site;
    let it_mw = site.idle_it_mw + powers.iter().map(|p| p.it_mw - p.idle_it_mw).sum::<f64>();
    let held: u64 = jobs.iter().map(|j| j.scenario.job_gpus()).sum();
    MixSite {
        gpus: site.gpus,
        idle_gpus: site.gpus.saturating_sub(held),
        it_mw,
        facility_mw: it_mw * powers[0].pue,
    }
}

fn job_row(
    mix: &Mix,
    i: usize,
    req: &Request,
    servers: &[u32],
    c: &Contention,
    inv: &Inventory,
) -> Result<(JobRow, PowerReport)> {
    let j = &mix.jobs[i];
    let sc = &j.scenario;
    let name = &req.name;
    let within = |e: Error| e.within(&format!("job '{name}'"));
    let (alone, alone_power) = step_with(sc, &c.alone[i], inv).map_err(within)?;
    let (shared, power) = if c.shared[i] == c.alone[i] {
        (alone, alone_power)
    } else {
        step_with(sc, &c.shared[i], inv).map_err(within)?
    };
    let per_array = u64::from(servers_of(&mix.cluster).per_array.max(1));
    let arrays: std::collections::BTreeSet<u64> =
        servers.iter().map(|&s| u64::from(s) / per_array).collect();
    let row = JobRow {
        name: name.clone(),
        model: sc.model.name.clone(),
        plan: sc.plan.label(),
        gpus: sc.job_gpus(),
        servers: servers.len() as u64,
        arrays: arrays.len() as u64,
        placement: placement_label(req),
        server_range: [
            servers.iter().copied().min().unwrap_or(0),
            servers.iter().copied().max().unwrap_or(0),
        ],
        step_alone_s: alone,
        step_s: shared,
        slowdown: shared / alone - 1.0,
        it_mw: power.it_mw,
        facility_mw: power.facility_mw,
        kinds: c.alone[i]
            .iter()
            .map(|(k, a)| KindRow {
                kind: k.name().to_string(),
                alone: *a,
                shared: c.shared[i].get(k).copied().unwrap_or(*a),
            })
            .collect(),
    };
    Ok((row, power))
}

fn placement_label(r: &Request) -> String {
    match (r.kind, r.align) {
        (PlacementKind::Packed, Align::Server) => "packed".into(),
        (PlacementKind::Packed, a) => format!("packed, align {}", align_name(a)),
        (PlacementKind::Scattered, _) => format!("scattered, seed {}", r.seed),
        (PlacementKind::Explicit, _) => "explicit".into(),
    }
}

fn align_name(a: Align) -> &'static str {
    match a {
        Align::Server => "server",
        Align::Rack => "rack",
        Align::Array => "array",
    }
}

/// A placement policy applied to every job of a mix (`memphis place`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Each job as its file says.
    AsWritten,
    /// Every job packed, on any server boundary.
    Packed,
    /// Every job packed on an array boundary (inside one array when it fits).
    PackedArrays,
    /// Every job scattered over the free servers.
    Scattered,
}

impl Policy {
    /// Every policy `place` compares, in order.
    pub const ALL: [Policy; 4] = [
        Policy::AsWritten,
        Policy::Packed,
        Policy::PackedArrays,
        Policy::Scattered,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::AsWritten => "as written",
            Policy::Packed => "packed",
            Policy::PackedArrays => "packed within arrays",
            Policy::Scattered => "scattered",
        }
    }

    fn apply(self, r: &Request) -> Request {
        let mut r = r.clone();
        let (kind, align) = match self {
            Policy::AsWritten => return r,
            Policy::Packed => (PlacementKind::Packed, Align::Server),
            Policy::PackedArrays => (PlacementKind::Packed, Align::Array),
            Policy::Scattered => (PlacementKind::Scattered, Align::Server),
        };
        r.kind = kind;
        r.align = align;
        r
    }
}

/// A slowdown too small to name a job for: under 0.05%, what a report shows as 0.0%.
pub const NEGLIGIBLE_SLOWDOWN: f64 = 0.0005;

/// One policy's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PolicyRow {
    /// as written, packed, packed within arrays, scattered.
    pub policy: String,
    /// Why it could not place the mix (then the figures are absent).
    pub error: Option<String>,
    /// The first (frontier) job's step with the other jobs, s.
    pub frontier_step_s: Option<f64>,
    /// The first (frontier) job's slowdown: its step with the others over its fastest
    /// step alone under any policy compared (a placement slow by itself counts).
    pub frontier_slowdown: Option<f64>,
    /// The largest slowdown of any job, each against its own fastest step alone.
    pub worst_slowdown: Option<f64>,
    /// The job with the largest slowdown; none where no job slows by 0.05% or more
    /// (`NEGLIGIBLE_SLOWDOWN`: what a report shows as 0.0%).
    pub worst_job: Option<String>,
    /// Whether the frontier job's slowdown is within the target.
    pub meets_target: bool,
    /// The solved placement.
    pub report: Option<JobsReport>,
}

/// `memphis place`: the placement policies compared for a mix.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PlaceReport {
    /// The mix.
    pub name: String,
    /// The cluster.
    pub cluster: String,
    /// Routing.
    pub routing: Routing,
    /// How the jobs' phases meet.
    pub overlap: Overlap,
    /// The first job, whose slowdown the target bounds.
    pub frontier: String,
    /// The most slowdown accepted for it (0.05 = 5%).
    pub target_slowdown: f64,
    /// The frontier job's fastest step alone under any policy compared, s: what its
    /// slowdowns are measured against.
    pub frontier_best_alone_s: f64,
    /// The policy that gives it (the first such in order).
    pub frontier_best_alone_policy: String,
    /// One row per policy.
    pub policies: Vec<PolicyRow>,
    /// The policy recommended: within the target, then the smallest worst slowdown of
    /// any job (the first such in order); None when no policy meets the target.
    pub recommended: Option<String>,
    /// What resolving each job as the file places it said, as `jobs` says it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Compares the placement policies for a mix.
pub fn place(mix: &Mix, fabric: &Fabric, target_slowdown: f64) -> Result<PlaceReport> {
    if !(target_slowdown.is_finite() && (0.0..=10.0).contains(&target_slowdown)) {
        return Err(Error::invalid(
            "--target-slowdown",
            target_slowdown,
            "0% to 1000%",
        ));
    }
    let solved: Vec<Result<JobsReport>> = Policy::ALL
        .par_iter()
        .map(|&p| {
            let requests: Vec<Request> = mix.jobs.iter().map(|j| p.apply(&j.request)).collect();
            // Each job resolved where this policy puts it: a job the planner plans is
            // planned on those servers, as `jobs` plans it on the file's.
            resolve_placed(&mix.file, &mix.cluster, mix.routing, requests.clone()).and_then(
                |jobs| {
                    let placed = Mix {
                        jobs,
                        ..mix.clone()
                    };
                    solve(&placed, fabric, &requests)
                },
            )
        })
        .collect();
    // Jobs that no policy can place together are an error, as `jobs` makes them.
    if solved.iter().all(|r| r.is_err()) {
        return Err(solved
            .into_iter()
            .find_map(|r| r.err())
            .expect("four policies"));
    }
    // Each job's reference is its fastest step alone under any policy: a placement that
    // slows a job by itself (its rings scattered over the fabric) costs it as contention
    // does, and each policy is judged against the same figure.
    let best_alone: Vec<(f64, usize)> = (0..mix.jobs.len())
        .map(|i| {
            solved
                .iter()
                .enumerate()
                .filter_map(|(k, r)| r.as_ref().ok().map(|r| (r.jobs[i].step_alone_s, k)))
                .fold((f64::INFINITY, 0), |b, x| if x.0 < b.0 { x } else { b })
        })
        .collect();
    let best: Vec<f64> = best_alone.iter().map(|b| b.0).collect();
    let policies: Vec<PolicyRow> = Policy::ALL
        .iter()
        .zip(solved)
        .map(|(&p, solved)| match solved {
            Ok(r) => policy_row(p, r, &best, target_slowdown),
            Err(e) => PolicyRow {
                policy: p.name().into(),
                error: Some(e.to_string()),
                frontier_step_s: None,
                frontier_slowdown: None,
                worst_slowdown: None,
                worst_job: None,
                meets_target: false,
                report: None,
            },
        })
        .collect();
    let recommended = policies
        .iter()
        .filter(|p| p.meets_target)
        .fold(None::<&PolicyRow>, |best, p| match best {
            Some(b) if b.worst_slowdown <= p.worst_slowdown => Some(b),
            _ => Some(p),
        })
        .map(|p| p.policy.clone());
    Ok(PlaceReport {
        name: mix.name.clone(),
        cluster: mix.cluster.name.clone(),
        routing: mix.routing,
        overlap: mix.overlap,
        frontier: mix.jobs[0].request.name.clone(),
        target_slowdown,
        frontier_best_alone_s: best[0],
        frontier_best_alone_policy: Policy::ALL[best_alone[0].1].name().into(),
        notes: place_notes(mix, &policies),
        policies,
        recommended,
    })
}

/// What resolving the jobs said as the file places them, then what a policy's own
/// resolution said otherwise (a planner planning on other servers may choose another
/// plan), under the policy's name: the rows' plans are each policy's.
fn place_notes(mix: &Mix, policies: &[PolicyRow]) -> Vec<String> {
    let mut notes = mix_notes(mix);
    let as_written = notes.clone();
    for p in policies {
        let Some(r) = &p.report else { continue };
        for n in r.notes.iter().filter(|n| !as_written.contains(n)) {
            let said = match n.strip_prefix("warning: ") {
                Some(w) => format!("warning: {}: {w}", p.policy),
                None => format!("{}: {n}", p.policy),
            };
            if !notes.contains(&said) {
                notes.push(said);
            }
        }
    }
    notes
}

/// A policy's row: each job's step with the others against its fastest alone (`best`).
fn policy_row(p: Policy, r: JobsReport, best: &[f64], target: f64) -> PolicyRow {
    let slowdown = |i: usize| r.jobs[i].step_s / best[i] - 1.0;
    let frontier = slowdown(0);
    let worst = (1..r.jobs.len()).fold(0, |w, i| if slowdown(i) > slowdown(w) { i } else { w });
    PolicyRow {
        policy: p.name().into(),
        error: None,
        frontier_step_s: Some(r.jobs[0].step_s),
        frontier_slowdown: Some(frontier),
        worst_slowdown: Some(slowdown(worst)),
        worst_job: (slowdown(worst) >= NEGLIGIBLE_SLOWDOWN).then(|| r.jobs[worst].name.clone()),
        meets_target: frontier <= target,
        report: Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::parse_jobs;

    /// Two arrays of 64 servers; two Llama 3 8B jobs of one array each.
    fn two_jobs(placement: &str, routing: &str) -> JobsReport {
        let text = format!(
            r#"
routing = "{routing}"
[cluster]
preset = "memphis"
gpus = 1024
[[job]]
name = "a"
gpus = 512
{placement}
[job.model]
preset = "llama3-8b"
[job.parallel]
tp = 8
pp = 1
cp = 1
[job.training]
global_batch = 64
seq_len = 4096
[[job]]
name = "b"
gpus = 512
{placement}
[job.model]
preset = "llama3-8b"
[job.parallel]
tp = 8
pp = 1
cp = 1
[job.training]
global_batch = 64
seq_len = 4096
"#
        );
        let mix = resolve_mix(&parse_jobs("test", &text).unwrap()).unwrap();
        let fabric = Fabric::build(&mix.cluster.fabric_spec);
        jobs(&mix, &fabric).unwrap()
    }

    #[test]
    fn two_jobs_packed_in_separate_arrays_do_not_slow_each_other() {
        let r = two_jobs("placement = \"packed\"\nalign = \"array\"", "ecmp");
        for j in &r.jobs {
            assert_eq!(j.arrays, 1, "{j:?}");
            assert_eq!(j.slowdown, 0.0, "{j:?}");
        }
        assert!(r.binding_links.is_empty(), "{:?}", r.binding_links);
    }

    #[test]
    fn a_note_two_jobs_share_is_said_once_naming_both() {
        let r = two_jobs("placement = \"packed\"", "ecmp");
        assert!(!r.notes.is_empty());
        for n in &r.notes {
            assert!(n.starts_with("jobs 'a' and 'b': "), "{n}");
            assert_eq!(r.notes.iter().filter(|m| *m == n).count(), 1, "{n}");
        }
    }

    #[test]
    fn two_jobs_scattered_over_the_same_arrays_slow_down_under_ecmp() {
        let r = two_jobs("placement = \"scattered\"", "ecmp");
        for j in &r.jobs {
            assert_eq!(j.arrays, 2, "{j:?}");
        }
        assert!(r.jobs.iter().any(|j| j.slowdown > 0.01), "{:?}", r.jobs);
        let named = &r.binding_links[0];
        assert!(
            named.link.contains("->") && named.jobs.len() == 2,
            "{named:?}"
        );
    }

    /// One job of 256 H100s on a 4:1 plain RoCE fabric, its plan left to the planner.
    fn planned_job(placement: &str) -> String {
        format!(
            r#"
routing = "ecmp"
[cluster]
gpu = "H100-SXM5-80GB"
gpus = 1024
gpus_per_node = 8
nic_gbps = 400
fabric = "roce"
tiers = 2
rail_optimized = false
oversubscription = [4.0, 1.0]
[[job]]
name = "a"
gpus = 256
{placement}
[job.model]
preset = "llama3-70b"
[job.training]
global_batch = 256
seq_len = 4096
"#
        )
    }

    /// `place` plans a planned job where each policy puts it, as `jobs` does where its
    /// file puts it: the scattered policy's row is the scattered file's.
    #[test]
    fn place_plans_a_planned_job_where_each_policy_puts_it() {
        let packed = resolve_mix(&parse_jobs("t", &planned_job("")).unwrap()).unwrap();
        let fabric = Fabric::build(&packed.cluster.fabric_spec);
        let r = place(&packed, &fabric, 0.05).unwrap();
        let row = |name: &str| {
            let p = r.policies.iter().find(|p| p.policy == name).unwrap();
            p.report.as_ref().unwrap().jobs[0].clone()
        };
        let scattered_file = planned_job("placement = \"scattered\"\nseed = 0");
        let scattered = resolve_mix(&parse_jobs("t", &scattered_file).unwrap()).unwrap();
        let alone = jobs(&scattered, &fabric).unwrap().jobs[0].clone();
        let s = row("scattered");
        assert_eq!(
            (s.plan.as_str(), s.step_alone_s),
            (alone.plan.as_str(), alone.step_alone_s)
        );
        assert_eq!(row("as written").plan, packed.jobs[0].scenario.plan.label());
        // What `jobs` says of the mix as the file places it, `place` says too, first;
        // then each policy whose planner chose another plan says it under its name.
        let said = jobs(&packed, &fabric).unwrap().notes;
        assert!(!said.is_empty());
        assert!(r.notes.starts_with(&said), "{:?}", r.notes);
        for note in &r.notes[said.len()..] {
            assert!(
                r.policies
                    .iter()
                    .any(|p| note.starts_with(&format!("{}: ", p.policy))),
                "{note}"
            );
        }
    }

    /// A file whose own placement fails still resolves: `jobs` says why it cannot place
    /// it, and `place` compares the policies that can. Explicit lists that overlap are
    /// the file's error, for both.
    #[test]
    fn place_compares_policies_when_the_files_own_placement_fails() {
        let job = |name: &str, gpus: u32, placed: &str| {
            format!(
                "[[job]]\nname = \"{name}\"\ngpus = {gpus}\n{placed}\n[job.model]\npreset = \"llama3-8b\"\n[job.training]\nglobal_batch = 48\nseq_len = 4096\n"
            )
        };
        let explicit = |servers: &str| format!("placement = \"explicit\"\nservers = {servers}");
        let cluster = "[cluster]\npreset = \"dgx-h100\"\ngpus = 32\n";
        // Server 1 taken leaves no three servers in a row for b.
        let text = format!(
            "{cluster}{}{}",
            job("a", 8, &explicit("[1]")),
            job("b", 24, "")
        );
        let mix = resolve_mix(&parse_jobs("t", &text).unwrap()).unwrap();
        let fabric = Fabric::build(&mix.cluster.fabric_spec);
        let e = jobs(&mix, &fabric).unwrap_err().to_string();
        assert!(e.contains("job 'b'"), "{e}");
        let r = place(&mix, &fabric, 0.05).unwrap();
        assert!(r.policies[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("job 'b'")));
        let placed = |name: &str| {
            r.policies
                .iter()
                .any(|p| p.policy == name && p.error.is_none())
        };
        assert!(placed("packed") && placed("scattered"), "{:?}", r.policies);
        let overlap = format!(
            "{cluster}{}{}",
            job("a", 16, &explicit("[0, 1]")),
            job("b", 16, &explicit("[1, 2]"))
        );
        let e = resolve_mix(&parse_jobs("t", &overlap).unwrap()).unwrap_err();
        assert!(
            e.to_string()
                .contains("job 'b': servers = 1: servers no other job holds"),
            "{e}"
        );
    }

    /// Where a policy's planner chooses another plan than the file's placement gets, the
    /// notes say it under the policy's name; a row where no job slows names no job.
    #[test]
    fn place_says_each_policys_own_plan_and_names_no_job_where_none_slows() {
        // (Which job shape shows a policy planning otherwise moves with the step model:
        // Llama 3 70B on 256 GPUs does, packed choosing TP4 PP4 where scattered keeps
        // TP8 PP2.)
        let text = planned_job("placement = \"scattered\"");
        let mix = resolve_mix(&parse_jobs("t", &text).unwrap()).unwrap();
        let fabric = Fabric::build(&mix.cluster.fabric_spec);
        let r = place(&mix, &fabric, 0.05).unwrap();
        let as_written = &r.policies[0].report.as_ref().unwrap().jobs[0].plan;
        let mut differ = 0;
        for p in &r.policies[1..] {
            let plan = &p.report.as_ref().unwrap().jobs[0].plan;
            let said = r.notes.iter().any(|n| {
                n.starts_with(&format!("{}: job 'a': the planner chose {plan}", p.policy))
            });
            assert_eq!(
                said,
                plan != as_written,
                "{}: {plan} {:?}",
                p.policy,
                r.notes
            );
            differ += usize::from(plan != as_written);
            // A job is named only where one slows (here, by a placement slower alone).
            let slows = p.worst_slowdown.unwrap() >= NEGLIGIBLE_SLOWDOWN;
            assert_eq!(p.worst_job.is_some(), slows, "{}", p.policy);
        }
        assert!(differ > 0, "{:?}", r.notes);
        assert!(r.policies.iter().any(|p| p.worst_job.is_none()));
    }

    #[test]
    fn a_job_the_planner_plans_is_planned_where_it_is_placed() {
        let text = planned_job("placement = \"scattered\"");
        let mix = resolve_mix(&parse_jobs("test", &text).unwrap()).unwrap();
        let job = &mix.jobs[0];
        let placed =
            placement::place(servers_of(&mix.cluster), std::slice::from_ref(&job.request)).unwrap();
        assert_eq!(job.scenario.servers.as_ref(), Some(&placed[0]));
        assert!(
            job.notes
                .iter()
                .any(|n| n.contains("for the servers the job is placed on")),
            "{:?}",
            job.notes
        );
        // The flows the planner solved are those servers', not the cluster's first:
        // scattered, each leaf holds fewer of the job's GPUs over the same 4:1 uplinks,
        // while more of its DP rings cross leaves, so the rate differs.
        let fabric = Fabric::build(&mix.cluster.fabric_spec);
        let dp = |sc: &Scenario| {
            FlowComm::for_scenario(sc, &fabric, mix.routing, crate::collective::flow::JOB_SALT)
                .fraction(GroupKind::Dp)
        };
        let first = Scenario {
            servers: None,
            ..job.scenario.clone()
        };
        assert!(
            (dp(&job.scenario) - dp(&first)).abs() > 0.01,
            "{} {}",
            dp(&job.scenario),
            dp(&first)
        );
    }
}
