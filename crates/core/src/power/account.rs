//! The job's account and the site's: who draws what.
//!
//! Each component of the site is split three ways, and the three add up to the site:
//!
//! | component | the job | idle | unassigned |
//! |---|---|---|---|
//! | GPUs | its GPUs, by phase | the other GPUs, at idle power | — |
//! | hosts, NICs | the servers it occupies (ceil(job GPUs / GPUs per server)) | the other servers | — |
//! | switches | its share of the ports in use: job GPUs / cluster GPUs | the idle GPUs' share | ports no link uses |
//! | storage | per GPU of the cluster x job GPUs | the idle GPUs' share | — |
//! | cooling | (PUE − 1) x its IT | (PUE − 1) x idle IT | (PUE − 1) x unassigned IT |
//!
//! Switch power is split by ports (power per switch / its radix): in a fat tree every
//! endpoint's leaf port carries its up-links with it, so the job's share of the ports in
//! use is its share of the endpoints. Hosts, NICs, switches and storage draw the same
//! whether the GPUs work or idle ⚠, so the site's total depends on the job only through
//! its GPUs' activity.

use super::{Cooling, GpuState, PowerConfig, STORAGE_W_PER_GPU};
use serde::Serialize;

/// The site's hardware and the job's size: plain counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerInputs {
    /// GPUs in the cluster.
    pub cluster_gpus: u64,
    /// GPUs the job uses.
    pub job_gpus: u64,
    /// GPUs per server.
    pub gpus_per_node: u32,
    /// GPU TDP, W.
    pub gpu_tdp_w: f64,
    /// Power of one NIC, W.
    pub nic_w: f64,
    /// Fabric switches.
    pub switches: u64,
    /// Ports of all switches (switches x radix).
    pub switch_ports: u64,
    /// Ports with a link (endpoint links count one switch port, switch-switch links two).
    pub switch_ports_used: u64,
}

impl PowerInputs {
    /// Servers in the cluster (the last may be partly filled).
    pub fn nodes(&self) -> u64 {
        self.cluster_gpus
            .div_ceil(u64::from(self.gpus_per_node.max(1)))
    }
    /// GPUs the job uses, at most the cluster's.
    pub fn job(&self) -> u64 {
        self.job_gpus.min(self.cluster_gpus)
    }
    /// Servers the job occupies.
    pub fn job_nodes(&self) -> u64 {
        self.job()
            .div_ceil(u64::from(self.gpus_per_node.max(1)))
            .min(self.nodes())
    }
    /// GPUs no job uses (powered, idle).
    pub fn idle_gpus(&self) -> u64 {
        self.cluster_gpus - self.job()
    }
}

/// A phase of the step with the state of the job's GPUs during it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    /// Name.
    pub name: &'static str,
    /// Seconds per step.
    pub seconds: f64,
    /// What the GPUs do.
    pub state: GpuState,
}

/// In one time bin, the fractions of the job's GPU-time spent computing and in
/// memory-bound work; the rest waits.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Busy {
    /// Compute-bound fraction, 0 to 1.
    pub compute: f64,
    /// Memory-bound fraction, 0 to 1.
    pub memory: f64,
}

/// The job's GPUs over one step, sampled in equal bins.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct BusyProfile {
    /// Step time, s.
    pub step_s: f64,
    /// One entry per bin, in time order.
    pub samples: Vec<Busy>,
}

/// One component's draw, split between the job, the rest of the site and nobody.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Share {
    /// Component.
    pub name: &'static str,
    /// The job's part, MW.
    pub job_mw: f64,
    /// The idle GPUs' and servers' part, MW.
    pub idle_mw: f64,
    /// Nobody's part (switch ports without a link), MW.
    pub unassigned_mw: f64,
    /// The site's total: job + idle + unassigned, MW.
    pub site_mw: f64,
}

impl Share {
    fn new(name: &'static str, job: f64, idle: f64, unassigned: f64) -> Share {
        Share {
            name,
            job_mw: job,
            idle_mw: idle,
            unassigned_mw: unassigned,
            site_mw: job + idle + unassigned,
        }
    }
}

/// One part's average draw.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Part {
    /// Name.
    pub name: &'static str,
    /// Average MW.
    pub mw: f64,
}

/// A piece of the step's power profile.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProfileSegment {
    /// Phase name.
    pub phase: &'static str,
    /// Seconds.
    pub seconds: f64,
    /// The job's facility MW during it.
    pub facility_mw: f64,
}

/// The site: every GPU of the cluster, the job's and the idle ones.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SitePower {
    /// GPUs in the cluster.
    pub gpus: u64,
    /// GPUs outside the job, at idle power.
    pub idle_gpus: u64,
    /// Servers in the cluster.
    pub nodes: u64,
    /// Servers the job occupies.
    pub job_nodes: u64,
    /// Average IT power while the job trains, MW.
    pub it_mw: f64,
    /// Average facility power (IT x PUE), MW.
    pub facility_mw: f64,
    /// IT power at the job's highest draw over the step (its timeline's, else every GPU
    /// computing), MW.
    pub peak_it_mw: f64,
    /// IT power with the job idle too (restarts), MW.
    pub idle_it_mw: f64,
    /// Facility MW with the other cooling.
    pub facility_mw_other_cooling: f64,
    /// Facility energy of one step, MWh.
    pub step_mwh: f64,
    /// Each component split job / idle / unassigned (cooling last).
    pub ledger: Vec<Share>,
}

impl SitePower {
    /// The site's loads for the time series: the ledger's rows (in the order
    /// [`power_report`] builds them: GPUs, hosts, NICs, switches, storage, cooling).
    pub fn loads(&self, pue: f64) -> super::series::Loads {
        let row = |i: usize| self.ledger.get(i).map_or(0.0, |s| s.site_mw);
        let gpus = self.ledger.first();
        super::series::Loads {
            idle_gpus_mw: gpus.map_or(0.0, |s| s.idle_mw),
            hosts_mw: row(1),
            network_mw: row(2) + row(3),
            storage_mw: row(4),
            pue,
        }
    }
}

/// Power of the job, with the site's beside it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PowerReport {
    /// The job's average IT power over a step, MW.
    pub it_mw: f64,
    /// The job's average facility power (IT x PUE), MW.
    pub facility_mw: f64,
    /// The power swing: max − min of the job's facility power over one step, from the
    /// timeline when there is one, else from the phases. Cooling and power delivery hold
    /// their mean over a step (they follow the load over about a minute), so this is the
    /// IT load's swing; the rest of the site draws a constant, so it is the site's
    /// swing too. MW.
    pub swing_mw: f64,
    /// Where the swing comes from: `timeline` or `phases`.
    pub swing_source: &'static str,
    /// The job's highest IT power over the step: its timeline's where the step was
    /// simulated as one, else with all its GPUs computing, MW.
    pub peak_it_mw: f64,
    /// The job's IT power with its GPUs idle (restarts), MW.
    pub idle_it_mw: f64,
    /// PUE used.
    pub pue: f64,
    /// The job's average draw by part, largest first.
    pub parts: Vec<Part>,
    /// The job's facility power over one step, phase by phase (its IT power in each,
    /// cooling and power delivery at their mean). The phases are averaged over the job's
    /// GPUs, not the critical stage's as the step's breakdown is: compute is the stages'
    /// mean, and the critical stage's compute past it counts as waiting, in the bubble.
    pub profile: Vec<ProfileSegment>,
    /// The job's facility power over one step from the timeline: (seconds, MW) at the
    /// middle of each bin, cooling and power delivery at their mean. None without a
    /// timeline.
    pub timeline: Option<Vec<(f64, f64)>>,
    /// The job's facility MW with the other cooling (liquid vs air comparison).
    pub facility_mw_other_cooling: f64,
    /// The other cooling.
    pub other_cooling: Cooling,
    /// The job's facility energy of one step, MWh.
    pub step_mwh: f64,
    /// The site.
    pub site: SitePower,
}

/// `x` if finite, else 0: no NaN or infinity reaches a report.
fn fin(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Max − min of a series (0 for an empty one).
fn range(v: impl Iterator<Item = f64>) -> f64 {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if hi >= lo {
        hi - lo
    } else {
        0.0
    }
}

/// The job's power over a step and the site's beside it.
///
/// `phases` are the step's phases (time not covered up to `step_s` counts as waiting);
/// `busy`, when given, is the sampled timeline and sets the average and the swing.
pub fn power_report(
    inp: &PowerInputs,
    cfg: &PowerConfig,
    step_s: f64,
    phases: &[Phase],
    busy: Option<&BusyProfile>,
) -> PowerReport {
    let tdp = fin(inp.gpu_tdp_w).max(0.0);
    let w = |s: GpuState| tdp * s.tdp_fraction();
    let pue = cfg.pue();
    let job = inp.job() as f64;
    let idle_gpus = inp.idle_gpus() as f64;

    // The job's GPUs, by phase.
    let phase_s = |p: &Phase| fin(p.seconds).max(0.0);
    let covered: f64 = phases.iter().map(phase_s).sum();
    let t = fin(step_s).max(covered);
    // Rounding in the phases' sum is no phase of its own.
    let uncovered = Some(t - covered).filter(|&u| u > 1e-9 * t).unwrap_or(0.0);
    let phase_avg_w = if t > 0.0 {
        (phases.iter().map(|p| phase_s(p) * w(p.state)).sum::<f64>()
            + uncovered * w(GpuState::Wait))
            / t
    } else {
        w(GpuState::Wait)
    };
    // The same from the timeline: the draw of each bin.
    let sample_w = |b: &Busy| {
        let c = fin(b.compute).clamp(0.0, 1.0);
        let m = fin(b.memory).clamp(0.0, 1.0 - c);
        c * w(GpuState::Compute) + m * w(GpuState::Memory) + (1.0 - c - m) * w(GpuState::Wait)
    };
    let sampled = busy.filter(|b| !b.samples.is_empty());
    let gpu_avg_w = match sampled {
        Some(b) => b.samples.iter().map(sample_w).sum::<f64>() / b.samples.len() as f64,
        None => phase_avg_w,
    };

    // The ledger, IT parts in MW.
    let nodes = inp.nodes() as f64;
    let job_nodes = inp.job_nodes() as f64;
    let idle_nodes = nodes - job_nodes;
    let host_w = cfg.host_w_per_node;
    let nic_node_w = cfg.nics_per_node * fin(inp.nic_w).max(0.0);
    let gpu_share = |n: f64| {
        if inp.cluster_gpus > 0 {
            n / inp.cluster_gpus as f64
        } else {
            0.0
        }
    };
    let ports = inp.switch_ports as f64;
    let used = (inp.switch_ports_used.min(inp.switch_ports)) as f64;
    let switches_mw = inp.switches as f64 * cfg.switch_w / 1e6;
    let (sw_job, sw_idle, sw_unassigned) = if ports > 0.0 {
        let per_port = switches_mw / ports;
        (
            per_port * used * gpu_share(job),
            per_port * used * gpu_share(idle_gpus),
            per_port * (ports - used),
        )
    } else {
        (0.0, 0.0, switches_mw)
    };
    let storage_mw = cfg
        .storage_mw
        .unwrap_or(inp.cluster_gpus as f64 * STORAGE_W_PER_GPU / 1e6);
    let it = [
        Share::new(
            "gpus",
            job * gpu_avg_w / 1e6,
            idle_gpus * w(GpuState::Idle) / 1e6,
            0.0,
        ),
        Share::new(
            "hosts (cpu, memory, nvswitch)",
            job_nodes * host_w / 1e6,
            idle_nodes * host_w / 1e6,
            0.0,
        ),
        Share::new(
            "nics",
            job_nodes * nic_node_w / 1e6,
            idle_nodes * nic_node_w / 1e6,
            0.0,
        ),
        Share::new("switches (by ports)", sw_job, sw_idle, sw_unassigned),
        Share::new(
            "storage",
            storage_mw * gpu_share(job),
            storage_mw * gpu_share(idle_gpus),
            0.0,
        ),
    ];
    let sum = |f: fn(&Share) -> f64| it.iter().map(f).sum::<f64>();
    let (job_it, idle_it, unassigned_it) = (
        sum(|s| s.job_mw),
        sum(|s| s.idle_mw),
        sum(|s| s.unassigned_mw),
    );
    let mut ledger = it.to_vec();
    ledger.push(Share::new(
        "cooling and power delivery",
        job_it * (pue - 1.0),
        idle_it * (pue - 1.0),
        unassigned_it * (pue - 1.0),
    ));

    // The job's figures.
    let job_gpus_mw = ledger[0].job_mw;
    let job_fixed = job_it - job_gpus_mw;
    let gpus_in = |s: GpuState| job * w(s) / 1e6;
    let peak_it = gpus_in(GpuState::Compute) + job_fixed;
    // Cooling and power delivery over one step: at the step's mean. They follow the IT
    // load over about a minute (`power`'s filter), not within a step, so the facility
    // swings by the IT load's swing, not by PUE times it.
    let cooling_mw = job_it * (pue - 1.0);
    let idle_job_it = gpus_in(GpuState::Idle) + job_fixed;
    let mut parts: Vec<Part> = ledger
        .iter()
        .map(|s| Part {
            name: if s.name == "gpus" {
                "gpus (training)"
            } else {
                s.name
            },
            mw: s.job_mw,
        })
        .collect();
    parts.sort_by(|a, b| b.mw.total_cmp(&a.mw).then(a.name.cmp(b.name)));
    let wait = Phase {
        name: "waiting",
        seconds: uncovered,
        state: GpuState::Wait,
    };
    let profile: Vec<ProfileSegment> = phases
        .iter()
        .chain(std::iter::once(&wait))
        .filter(|p| phase_s(p) > 0.0)
        .map(|p| ProfileSegment {
            phase: p.name,
            seconds: phase_s(p),
            facility_mw: gpus_in(p.state) + job_fixed + cooling_mw,
        })
        .collect();
    let timeline: Option<Vec<(f64, f64)>> = sampled.map(|b| {
        let n = b.samples.len() as f64;
        let bin = fin(b.step_s).max(0.0) / n;
        b.samples
            .iter()
            .enumerate()
            .map(|(k, s)| {
                (
                    (k as f64 + 0.5) * bin,
                    job * sample_w(s) / 1e6 + job_fixed + cooling_mw,
                )
            })
            .collect()
    });
    // The highest IT draw over the step: the timeline's where there is one (a pipeline's
    // stages and an MoE's phases never all compute at once), else every GPU computing.
    let peak_it = match &timeline {
        Some(tl) => tl
            .iter()
            .map(|p| p.1 - cooling_mw)
            .fold(0.0, f64::max)
            .min(peak_it),
        None => peak_it,
    };
    let (swing_mw, swing_source) = match &timeline {
        Some(tl) => (range(tl.iter().map(|p| p.1)), "timeline"),
        None => (range(profile.iter().map(|p| p.facility_mw)), "phases"),
    };
    let other = cfg.cooling.other();
    let other_pue = other.default_pue();
    let site_it = job_it + idle_it + unassigned_it;
    let site_fixed = site_it - ledger[0].site_mw;
    let site = SitePower {
        gpus: inp.cluster_gpus,
        idle_gpus: inp.idle_gpus(),
        nodes: inp.nodes(),
        job_nodes: inp.job_nodes(),
        it_mw: site_it,
        facility_mw: site_it * pue,
        peak_it_mw: site_it - job_it + peak_it,
        idle_it_mw: site_fixed + (job + idle_gpus) * w(GpuState::Idle) / 1e6,
        facility_mw_other_cooling: site_it * other_pue,
        step_mwh: site_it * pue * t / 3600.0,
        ledger,
    };
    PowerReport {
        it_mw: job_it,
        facility_mw: job_it * pue,
        swing_mw,
        swing_source,
        peak_it_mw: peak_it,
        idle_it_mw: idle_job_it,
        pue,
        parts,
        profile,
        timeline,
        facility_mw_other_cooling: job_it * other_pue,
        other_cooling: other,
        step_mwh: job_it * pue * t / 3600.0,
        site,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(job: u64) -> PowerInputs {
        PowerInputs {
            cluster_gpus: 1000,
            job_gpus: job,
            gpus_per_node: 8,
            gpu_tdp_w: 700.0,
            nic_w: 25.0,
            switches: 10,
            switch_ports: 1000,
            switch_ports_used: 800,
        }
    }

    fn phases(compute: f64, comm: f64) -> Vec<Phase> {
        vec![
            Phase {
                name: "compute",
                seconds: compute,
                state: GpuState::Compute,
            },
            Phase {
                name: "communication",
                seconds: comm,
                state: GpuState::Wait,
            },
        ]
    }

    fn cfg() -> PowerConfig {
        PowerConfig {
            storage_mw: Some(0.0),
            ..Default::default()
        }
    }

    #[test]
    fn formulas() {
        // The whole cluster computing: 1000 GPUs x 700 W + 125 x (1200 + 9 x 25) W +
        // 10 x 1700 W of switches, 80% of their ports in use.
        let p = power_report(&inputs(1000), &cfg(), 1.0, &phases(1.0, 0.0), None);
        let it = 0.7 + 125.0 * (1200.0 + 225.0) / 1e6 + 0.017 * 0.8;
        assert!((p.it_mw - it).abs() < 1e-9, "{}", p.it_mw);
        assert!((p.site.it_mw - (it + 0.017 * 0.2)).abs() < 1e-9);
        assert!((p.facility_mw - it * 1.15).abs() < 1e-9);
        assert_eq!(p.swing_mw, 0.0, "nothing but compute: no swing");
        assert!((p.step_mwh - it * 1.15 / 3600.0).abs() < 1e-12);
        // Half the step waiting: the GPU average is the mean of the two states, and the
        // swing is the two states' difference in IT power (cooling holds its mean over
        // a step).
        let q = power_report(&inputs(1000), &cfg(), 2.0, &phases(1.0, 1.0), None);
        assert!((q.it_mw - (it - 0.7 + 0.7 * 0.725)).abs() < 1e-9);
        assert!((q.swing_mw - 0.7 * 0.55).abs() < 1e-9);
        assert_eq!(q.swing_source, "phases");
        assert!((q.facility_mw_other_cooling / q.facility_mw - 1.5 / 1.15).abs() < 1e-9);
        // Time the phases do not cover waits.
        let r = power_report(&inputs(1000), &cfg(), 2.0, &phases(1.0, 0.0), None);
        assert!((r.it_mw - q.it_mw).abs() < 1e-12);
    }

    #[test]
    fn job_idle_and_unassigned_add_up_to_the_site() {
        for job in [0, 1, 8, 9, 500, 999, 1000] {
            let c = PowerConfig {
                storage_mw: None,
                pue: Some(1.3),
                ..Default::default()
            };
            let p = power_report(&inputs(job), &c, 2.0, &phases(1.5, 0.5), None);
            let mut total = 0.0;
            for s in &p.site.ledger {
                let sum = s.job_mw + s.idle_mw + s.unassigned_mw;
                assert!((sum - s.site_mw).abs() < 1e-12, "{job} {s:?}");
                assert!(s.job_mw >= 0.0 && s.idle_mw >= 0.0 && s.unassigned_mw >= 0.0);
                total += s.site_mw;
            }
            assert!((total - p.site.facility_mw).abs() < 1e-9, "{job}");
            let job_total: f64 = p.site.ledger.iter().map(|s| s.job_mw).sum();
            assert!((job_total - p.facility_mw).abs() < 1e-9);
            let parts: f64 = p.parts.iter().map(|s| s.mw).sum();
            assert!((parts - p.facility_mw).abs() < 1e-9);
            assert_eq!(p.site.idle_gpus, 1000 - job);
            assert_eq!(p.site.job_nodes, job.div_ceil(8));
        }
    }

    #[test]
    fn site_changes_with_the_job_only_by_its_gpus_activity() {
        let c = cfg();
        let ph = phases(1.0, 1.0);
        let small = power_report(&inputs(100), &c, 2.0, &ph, None);
        let big = power_report(&inputs(900), &c, 2.0, &ph, None);
        let busy_minus_idle = 700.0 * (0.725 - 0.12) / 1e6;
        let d = big.site.it_mw - small.site.it_mw;
        assert!((d - 800.0 * busy_minus_idle).abs() < 1e-9, "{d}");
        // With everything idle the site does not depend on the job at all.
        assert!((big.site.idle_it_mw - small.site.idle_it_mw).abs() < 1e-12);
        // And the job's share grows with the job.
        assert!(big.it_mw > 8.0 * small.it_mw * 0.99);
    }

    #[test]
    fn the_timeline_sets_the_average_and_the_swing() {
        // Computing for the first half of a 2 s step, waiting for the second.
        let b = BusyProfile {
            step_s: 2.0,
            samples: vec![
                Busy {
                    compute: 1.0,
                    memory: 0.0,
                },
                Busy {
                    compute: 1.0,
                    memory: 0.0,
                },
                Busy::default(),
                Busy {
                    compute: 0.0,
                    memory: 1.0,
                },
            ],
        };
        let inp = PowerInputs {
            switches: 0,
            switch_ports: 0,
            switch_ports_used: 0,
            gpus_per_node: 1000,
            ..inputs(1000)
        };
        let c = PowerConfig {
            host_w_per_node: 0.0,
            nics_per_node: 0.0,
            ..cfg()
        };
        let p = power_report(&inp, &c, 2.0, &phases(2.0, 0.0), Some(&b));
        let tl = p.timeline.as_ref().unwrap();
        assert_eq!(tl.len(), 4);
        assert!((tl[0].0 - 0.25).abs() < 1e-12 && (tl[3].0 - 1.75).abs() < 1e-12);
        // Each bin: its IT draw, and cooling at the step's mean (0.15 of it); so the
        // bins average the facility power, and swing by the IT swing.
        let avg = 0.7 * (1.0 + 1.0 + 0.45 + 0.75) / 4.0;
        let cooling = 0.15 * avg;
        assert!((tl[0].1 - (0.7 + cooling)).abs() < 1e-9);
        assert!((tl[2].1 - (0.7 * 0.45 + cooling)).abs() < 1e-9);
        assert!((tl[3].1 - (0.7 * 0.75 + cooling)).abs() < 1e-9);
        let mean = tl.iter().map(|p| p.1).sum::<f64>() / 4.0;
        assert!(
            (mean - p.facility_mw).abs() < 1e-9,
            "{mean} vs {}",
            p.facility_mw
        );
        assert_eq!(p.swing_source, "timeline");
        assert!((p.swing_mw - 0.7 * 0.55).abs() < 1e-9);
        assert!((p.it_mw - avg).abs() < 1e-9, "{}", p.it_mw);
    }

    #[test]
    fn degenerate_inputs_stay_finite() {
        let inp = PowerInputs {
            cluster_gpus: 0,
            job_gpus: 5,
            gpus_per_node: 0,
            gpu_tdp_w: f64::NAN,
            nic_w: f64::INFINITY,
            switches: 3,
            switch_ports: 0,
            switch_ports_used: 9,
        };
        let b = BusyProfile {
            step_s: f64::NAN,
            samples: vec![Busy {
                compute: f64::NAN,
                memory: 7.0,
            }],
        };
        let p = power_report(&inp, &cfg(), f64::NAN, &phases(f64::NAN, -1.0), Some(&b));
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("null"), "a NaN became null: {json}");
        for v in [p.it_mw, p.facility_mw, p.swing_mw, p.site.it_mw, p.step_mwh] {
            assert!(v.is_finite(), "{json}");
        }
    }
}
