//! What the cluster draws: power by component and phase, cooling, energy, water, carbon.
//!
//! GPU power depends on what the GPU is doing. A step is split into its phases (from the
//! step breakdown): compute, exposed communication and pipeline bubble (the GPU spins in
//! NCCL kernels, clocks up, tensor cores idle), and the optimizer (memory-bound). The
//! facility draws IT power times the PUE of its cooling.

use crate::error::{Error, Result};
use crate::step::StepResult;
use serde::{Deserialize, Serialize};

/// How the heat leaves the racks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cooling {
    /// Direct-to-chip liquid cooling (Colossus: cold plates, rack CDUs, facility loop).
    Liquid,
    /// Air cooling.
    Air,
}

impl Cooling {
    /// Default PUE: liquid 1.15, air 1.5 (facts.md §5 presets: liquid 1.1–1.25,
    /// air 1.4–1.6 ⚠, midpoints).
    pub fn default_pue(self) -> f64 {
        match self {
            Cooling::Liquid => 1.15,
            Cooling::Air => 1.5,
        }
    }
}

/// GPU power in each phase as a fraction of TDP ⚠. Compute-bound training runs at the
/// power cap (facts.md §5: 700 W TDP; nodes measured at 8.4 kW max). Memory-bound
/// kernels draw less; a GPU waiting in a collective keeps its clocks but not its tensor
/// cores busy; idle H100s draw ~70–100 W.
pub mod gpu_phase {
    /// GEMM- and attention-bound compute.
    pub const COMPUTE: f64 = 1.0;
    /// Memory-bound kernels (optimizer, element-wise).
    pub const MEMORY: f64 = 0.75;
    /// Waiting on communication or a pipeline bubble.
    pub const COMM_WAIT: f64 = 0.45;
    /// Idle (restarts, spares).
    pub const IDLE: f64 = 0.12;
}

/// Power and environment settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerConfig {
    /// Cooling.
    pub cooling: Cooling,
    /// Power usage effectiveness; None = the cooling's default.
    pub pue: Option<f64>,
    /// Host power per server besides GPUs and NICs, W: 2 Xeon 8480C (~350 W TDP each),
    /// 2 TB DDR5, 4 NVSwitch chips, PCIe switches, drives ⚠ (facts.md §5).
    pub host_w_per_node: f64,
    /// Power per fabric switch, W: Spectrum-4 ASIC ~500 W plus up to 18 W per OSFP port
    /// x 64 (facts.md §5) ⚠: 1,700 W.
    pub switch_w: f64,
    /// NICs per server (8 GPU NICs + 1 CPU NIC at Colossus, facts.md §1.3).
    pub nics_per_node: f64,
    /// Storage and CPU-only servers, MW ⚠ (facts.md §1.2: flash storage servers; no
    /// published figure).
    pub storage_mw: f64,
    /// Grid carbon intensity, g CO2e per kWh (TVA 2023: 283.5, facts.md §5).
    pub grid_gco2_per_kwh: f64,
    /// Share of energy from on-site gas turbines, 0 to 1.
    pub turbine_share: f64,
    /// Gas turbine intensity, g/kWh: 53.06 kg/MMBtu x 9.5–11 MMBtu/MWh = 500–585
    /// (facts.md §5), midpoint 540 ⚠.
    pub turbine_gco2_per_kwh: f64,
    /// On-site water, L per IT kWh (US average WUE 1.8, LBNL 2016, facts.md §5).
    pub wue_site_l_per_kwh: f64,
    /// Water embedded in electricity generation, L per kWh (7.6, same source).
    pub wue_source_l_per_kwh: f64,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            cooling: Cooling::Liquid,
            pue: None,
            host_w_per_node: 1200.0,
            switch_w: 1700.0,
            nics_per_node: 9.0,
            storage_mw: 2.0,
            grid_gco2_per_kwh: 283.5,
            turbine_share: 0.0,
            turbine_gco2_per_kwh: 540.0,
            wue_site_l_per_kwh: 1.8,
            wue_source_l_per_kwh: 7.6,
        }
    }
}

impl PowerConfig {
    /// The PUE in force.
    pub fn pue(&self) -> f64 {
        self.pue.unwrap_or_else(|| self.cooling.default_pue())
    }

    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(p) = self.pue {
            if !(p.is_finite() && (1.0..=5.0).contains(&p)) {
                return Err(Error::invalid(
                    "power.pue",
                    p,
                    "a ratio from 1.0 (no overhead) to 5.0",
                ));
            }
        }
        for (name, v) in [
            ("power.grid_gco2_per_kwh", self.grid_gco2_per_kwh),
            ("power.turbine_gco2_per_kwh", self.turbine_gco2_per_kwh),
            ("power.host_w_per_node", self.host_w_per_node),
            ("power.switch_w", self.switch_w),
            ("power.nics_per_node", self.nics_per_node),
            ("power.storage_mw", self.storage_mw),
            ("power.wue_site_l_per_kwh", self.wue_site_l_per_kwh),
            ("power.wue_source_l_per_kwh", self.wue_source_l_per_kwh),
        ] {
            if !(v.is_finite() && (0.0..=1e7).contains(&v)) {
                return Err(Error::invalid(name, v, "a number at least 0"));
            }
        }
        if !(self.turbine_share.is_finite() && (0.0..=1.0).contains(&self.turbine_share)) {
            return Err(Error::invalid(
                "power.turbine_share",
                self.turbine_share,
                "a fraction from 0 to 1",
            ));
        }
        Ok(())
    }

    /// Carbon intensity of the mix, g/kWh.
    pub fn gco2_per_kwh(&self) -> f64 {
        self.turbine_share * self.turbine_gco2_per_kwh
            + (1.0 - self.turbine_share) * self.grid_gco2_per_kwh
    }
}

/// The cluster's hardware counts for power.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerInputs {
    /// GPUs training.
    pub job_gpus: u64,
    /// GPUs powered but idle (spares).
    pub idle_gpus: u64,
    /// Servers.
    pub nodes: u64,
    /// Fabric switches.
    pub switches: u64,
    /// GPU TDP, W.
    pub gpu_tdp_w: f64,
}

/// One part's average draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// Name.
    pub name: &'static str,
    /// Average MW.
    pub mw: f64,
}

/// A piece of the step's power profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileSegment {
    /// Phase name.
    pub phase: &'static str,
    /// Seconds.
    pub seconds: f64,
    /// Facility MW during it.
    pub facility_mw: f64,
}

/// Power of the cluster during training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerReport {
    /// Average IT power over a step, MW.
    pub it_mw: f64,
    /// Average facility power (IT x PUE), MW.
    pub facility_mw: f64,
    /// IT swing between the compute phase and a communication or checkpoint wait, MW.
    pub swing_mw: f64,
    /// IT power with every GPU computing, MW.
    pub peak_it_mw: f64,
    /// IT power with the job idle (restarts), MW.
    pub idle_it_mw: f64,
    /// PUE used.
    pub pue: f64,
    /// Average draw by part, largest first.
    pub parts: Vec<Part>,
    /// Facility power over one step, phase by phase.
    pub profile: Vec<ProfileSegment>,
    /// Facility MW with the other cooling (liquid vs air comparison).
    pub facility_mw_other_cooling: f64,
    /// The other cooling.
    pub other_cooling: Cooling,
    /// Energy of one step, MWh.
    pub step_mwh: f64,
}

/// IT MW of the non-GPU parts.
fn fixed_it_mw(inp: &PowerInputs, cfg: &PowerConfig, nic_w: f64) -> (f64, f64, f64, f64) {
    let hosts = inp.nodes as f64 * cfg.host_w_per_node / 1e6;
    let nics = inp.nodes as f64 * cfg.nics_per_node * nic_w / 1e6;
    let switches = inp.switches as f64 * cfg.switch_w / 1e6;
    (hosts, nics, switches, cfg.storage_mw)
}

/// The cluster's power over a step.
pub fn power_report(
    step: &StepResult,
    inp: &PowerInputs,
    cfg: &PowerConfig,
    nic_w: f64,
) -> PowerReport {
    let w = |f: f64| inp.gpu_tdp_w * f;
    let bd = &step.breakdown;
    let comm = bd.tp_comm.0 + bd.cp_comm.0 + bd.ep_comm.0 + bd.pp_comm.0 + bd.dp_comm.0;
    let phases: [(&'static str, f64, f64); 4] = [
        ("compute", bd.compute.0, w(gpu_phase::COMPUTE)),
        ("communication", comm, w(gpu_phase::COMM_WAIT)),
        ("bubble", bd.bubble.0, w(gpu_phase::COMM_WAIT)),
        ("optimizer", bd.optimizer.0, w(gpu_phase::MEMORY)),
    ];
    let t = step.time.0.max(1e-12);
    let gpu_avg_w: f64 = phases.iter().map(|(_, s, p)| s * p).sum::<f64>() / t;
    let job = inp.job_gpus as f64;
    let idle_gpus_mw = inp.idle_gpus as f64 * w(gpu_phase::IDLE) / 1e6;
    let (hosts, nics, switches, storage) = fixed_it_mw(inp, cfg, nic_w);
    let fixed = idle_gpus_mw + hosts + nics + switches + storage;
    let gpus_mw = job * gpu_avg_w / 1e6;
    let it = gpus_mw + fixed;
    let pue = cfg.pue();
    let peak_it = job * w(gpu_phase::COMPUTE) / 1e6 + fixed;
    let wait_it = job * w(gpu_phase::COMM_WAIT) / 1e6 + fixed;
    let idle_it = job * w(gpu_phase::IDLE) / 1e6 + fixed;
    let mut parts = vec![
        Part {
            name: "gpus (training)",
            mw: gpus_mw,
        },
        Part {
            name: "gpus (spare, idle)",
            mw: idle_gpus_mw,
        },
        Part {
            name: "hosts (cpu, memory, nvswitch)",
            mw: hosts,
        },
        Part {
            name: "nics",
            mw: nics,
        },
        Part {
            name: "switches",
            mw: switches,
        },
        Part {
            name: "storage",
            mw: storage,
        },
        Part {
            name: "cooling and power delivery",
            mw: it * (pue - 1.0),
        },
    ];
    parts.sort_by(|a, b| b.mw.total_cmp(&a.mw).then(a.name.cmp(b.name)));
    let profile = phases
        .iter()
        .filter(|(_, s, _)| *s > 0.0)
        .map(|(name, s, p)| ProfileSegment {
            phase: name,
            seconds: *s,
            facility_mw: (job * p / 1e6 + fixed) * pue,
        })
        .collect();
    let other = match cfg.cooling {
        Cooling::Liquid => Cooling::Air,
        Cooling::Air => Cooling::Liquid,
    };
    PowerReport {
        it_mw: it,
        facility_mw: it * pue,
        swing_mw: peak_it - wait_it,
        peak_it_mw: peak_it,
        idle_it_mw: idle_it,
        pue,
        parts,
        profile,
        facility_mw_other_cooling: it * other.default_pue(),
        other_cooling: other,
        step_mwh: it * pue * t / 3600.0,
    }
}

/// Energy, carbon and water of the whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFootprint {
    /// Facility energy, MWh.
    pub run_mwh: f64,
    /// The same with the other cooling, MWh.
    pub run_mwh_other_cooling: f64,
    /// Carbon, tonnes CO2e.
    pub run_tco2e: f64,
    /// Water on site and upstream, m³.
    pub run_m3: f64,
}

/// Energy of a run with `train_hours` of training and `wall_hours` in all: the rest is
/// restarts and waits, at idle power.
pub fn run_footprint(
    p: &PowerReport,
    cfg: &PowerConfig,
    train_hours: f64,
    wall_hours: f64,
) -> RunFootprint {
    let lost = (wall_hours - train_hours).max(0.0);
    let it_mwh = p.it_mw * train_hours + p.idle_it_mw * lost;
    let run_mwh = it_mwh * p.pue;
    let kwh = run_mwh * 1000.0;
    RunFootprint {
        run_mwh,
        run_mwh_other_cooling: it_mwh * p.other_cooling.default_pue(),
        run_tco2e: kwh * cfg.gco2_per_kwh() / 1e6,
        run_m3: (it_mwh * 1000.0 * cfg.wue_site_l_per_kwh + kwh * cfg.wue_source_l_per_kwh)
            / 1000.0,
    }
}

/// Facility power over one step from the timeline: each stage's GPUs draw compute power
/// while their compute stream is busy and waiting power otherwise; the rest of the IT
/// load is constant. `samples` evenly spaced points: (seconds, facility MW).
pub fn timeline_profile(
    tl: &crate::step::Timeline,
    inp: &PowerInputs,
    cfg: &PowerConfig,
    nic_w: f64,
    pp: u32,
    samples: usize,
) -> Vec<(f64, f64)> {
    use crate::step::timeline::Stream;
    let total = tl.time.0.max(1);
    let n = samples.max(2);
    let per_stage_gpus = inp.job_gpus as f64 / pp.max(1) as f64;
    let w = |f: f64| inp.gpu_tdp_w * f;
    let (hosts, nics, switches, storage) = fixed_it_mw(inp, cfg, nic_w);
    let fixed = inp.idle_gpus as f64 * w(gpu_phase::IDLE) / 1e6 + hosts + nics + switches + storage;
    // Busy fraction of each stage's compute stream in each time bin.
    let mut busy = vec![vec![0.0f64; n]; pp.max(1) as usize];
    let bin = total as f64 / n as f64;
    for sp in tl.spans.iter().filter(|s| s.stream == Stream::Compute) {
        let (a, b) = (sp.start.0 as f64, (sp.start.0 + sp.dur.0) as f64);
        let (first, last) = ((a / bin) as usize, ((b / bin) as usize).min(n - 1));
        for k in first..=last {
            let lo = (k as f64 * bin).max(a);
            let hi = ((k + 1) as f64 * bin).min(b);
            if hi > lo {
                busy[sp.stage as usize][k] += (hi - lo) / bin;
            }
        }
    }
    (0..n)
        .map(|k| {
            let gpu_mw: f64 = busy
                .iter()
                .map(|b| {
                    let f = b[k].min(1.0);
                    per_stage_gpus
                        * (f * w(gpu_phase::COMPUTE) + (1.0 - f) * w(gpu_phase::COMM_WAIT))
                        / 1e6
                })
                .sum();
            ((k as f64 + 0.5) * bin / 1e9, (gpu_mw + fixed) * cfg.pue())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Breakdown;
    use crate::units::Seconds;
    use crate::units::{Bytes, Flops};
    use crate::workload::memory::MemoryBreakdown;

    fn step(compute: f64, comm: f64, bubble: f64) -> StepResult {
        let breakdown = Breakdown {
            compute: Seconds(compute),
            dp_comm: Seconds(comm),
            bubble: Seconds(bubble),
            ..Default::default()
        };
        StepResult {
            time: breakdown.total(),
            breakdown,
            stages: vec![],
            critical_stage: 0,
            micro_batches: 1,
            model_flops: Flops(0.0),
            mfu: 0.0,
            tflops_per_gpu: 0.0,
            tokens_per_s: 0.0,
            memory: MemoryBreakdown {
                stage: 0,
                weights: Bytes(0.0),
                gradients: Bytes(0.0),
                optimizer: Bytes(0.0),
                activations: Bytes(0.0),
                reserved: Bytes(0.0),
            },
            fits: true,
            costs: crate::step::StepCosts::default(),
        }
    }

    fn inputs() -> PowerInputs {
        PowerInputs {
            job_gpus: 1000,
            idle_gpus: 0,
            nodes: 125,
            switches: 10,
            gpu_tdp_w: 700.0,
        }
    }

    #[test]
    fn formulas() {
        let cfg = PowerConfig {
            storage_mw: 0.0,
            ..Default::default()
        };
        // All compute: 1000 GPUs x 700 W + 125 x (1200 + 9 x 25) W + 10 x 1700 W.
        let p = power_report(&step(1.0, 0.0, 0.0), &inputs(), &cfg, 25.0);
        let it = 0.7 + 125.0 * (1200.0 + 225.0) / 1e6 + 0.017;
        assert!((p.it_mw - it).abs() < 1e-9, "{}", p.it_mw);
        assert!((p.facility_mw - it * 1.15).abs() < 1e-9);
        assert!((p.swing_mw - 1000.0 * 700.0 * (1.0 - 0.45) / 1e6).abs() < 1e-9);
        assert!((p.step_mwh - it * 1.15 / 3600.0).abs() < 1e-12);
        // Half the step waiting: the GPU average is the mean of the two phases.
        let q = power_report(&step(1.0, 1.0, 0.0), &inputs(), &cfg, 25.0);
        assert!((q.it_mw - (it - 0.7 + 1000.0 * 700.0 * 0.725 / 1e6)).abs() < 1e-9);
        assert!((p.facility_mw_other_cooling / p.facility_mw - 1.5 / 1.15).abs() < 1e-9);
        let f = run_footprint(&p, &cfg, 10.0, 10.0);
        assert!((f.run_mwh - p.facility_mw * 10.0).abs() < 1e-9);
        assert!((f.run_tco2e - f.run_mwh * 283.5 / 1000.0).abs() < 1e-9);
        assert!((f.run_m3 - (p.it_mw * 10.0 * 1.8 + f.run_mwh * 7.6)).abs() < 1e-6);
        let mixed = PowerConfig {
            turbine_share: 0.5,
            ..cfg.clone()
        };
        assert!((mixed.gco2_per_kwh() - (0.5 * 540.0 + 0.5 * 283.5)).abs() < 1e-9);
    }

    #[test]
    fn timeline_profile_follows_the_compute_stream() {
        use crate::step::timeline::{Span, Stream, Timeline};
        use crate::units::SimTime;
        // One stage, computing for the first half of a 2 s step.
        let tl = Timeline {
            time: SimTime(2_000_000_000),
            stage_compute_end: vec![SimTime(1_000_000_000)],
            stage_end: vec![SimTime(2_000_000_000)],
            slowest_stage: 0,
            stage_busy: vec![SimTime(1_000_000_000)],
            last_stage: 0,
            unscheduled_ops: 0,
            spans: vec![Span {
                stage: 0,
                stream: Stream::Compute,
                name: "F".into(),
                start: SimTime(0),
                dur: SimTime(1_000_000_000),
                flops: 0.0,
                bytes: 0.0,
            }],
            memory: vec![],
        };
        let cfg = PowerConfig {
            storage_mw: 0.0,
            ..Default::default()
        };
        let inp = PowerInputs {
            job_gpus: 1000,
            idle_gpus: 0,
            nodes: 0,
            switches: 0,
            gpu_tdp_w: 700.0,
        };
        let p = timeline_profile(&tl, &inp, &cfg, 25.0, 1, 4);
        assert_eq!(p.len(), 4);
        assert!((p[0].1 - 0.7 * 1.15).abs() < 1e-9 && (p[1].1 - 0.7 * 1.15).abs() < 1e-9);
        assert!((p[3].1 - 0.7 * 0.45 * 1.15).abs() < 1e-9);
        assert!((p[0].0 - 0.25).abs() < 1e-12);
    }

    #[test]
    fn bad_settings_are_refused() {
        let e = PowerConfig {
            pue: Some(0.9),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("power.pue = 0.9"), "{e}");
        let e = PowerConfig {
            grid_gco2_per_kwh: -1.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("power.grid_gco2_per_kwh = -1"), "{e}");
        let e = PowerConfig {
            turbine_share: 1.5,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("power.turbine_share = 1.5"), "{e}");
    }
}
