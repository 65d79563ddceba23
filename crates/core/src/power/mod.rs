//! What a job draws, and what its site draws: power by component and phase, cooling,
//! energy, water, carbon.
//!
//! GPU power depends on what the GPU is doing. A step is split into phases (compute,
//! memory-bound work, waiting in a collective or a pipeline bubble) or sampled from a
//! timeline of busy fractions; each state draws a fraction of TDP ([`GpuState`]).
//!
//! Two accounts ([`account`]): **the job** (its GPUs, the servers it occupies with their
//! hosts and NICs, its share of the fabric's switch ports and of storage, and the
//! cooling of all that) and **the site** (every GPU of the cluster, idle ones at idle
//! power, and everything the job does not use). Each component is split into
//! job + idle + unassigned = site.
//!
//! Over time ([`series`]): the site's facility power as a series, step by step, with
//! checkpoints, a failure, the restart's ramp and each load's time constant; and what the
//! grid sees in it ([`grid`]): ramps, spectrum, drops, the battery that would smooth it.
//!
//! This module takes plain inputs (counts, phase times, sampled busy fractions): it does
//! not know about scenarios or step models. [`crate::run`] feeds it.

pub mod account;
pub mod footprint;
pub mod grid;
pub mod series;

pub use account::{
    power_report, Busy, BusyProfile, Part, Phase, PowerInputs, PowerReport, ProfileSegment, Share,
    SitePower,
};
pub use footprint::{run_footprint, RunFootprint};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the heat leaves the racks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

    /// The other kind (for the liquid-vs-air comparison).
    pub fn other(self) -> Cooling {
        match self {
            Cooling::Liquid => Cooling::Air,
            Cooling::Air => Cooling::Liquid,
        }
    }
}

/// GPU power in each state as a fraction of TDP ⚠. Compute-bound training runs at the
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
    /// Idle (restarts, spares, GPUs no job uses).
    pub const IDLE: f64 = 0.12;
}

/// What a GPU is doing, for its power draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuState {
    /// GEMM- and attention-bound compute.
    Compute,
    /// Memory-bound kernels (the optimizer).
    Memory,
    /// Waiting on communication or in a pipeline bubble.
    Wait,
    /// No work (restarts, GPUs outside the job).
    Idle,
}

impl GpuState {
    /// Draw as a fraction of TDP ([`gpu_phase`]).
    pub fn tdp_fraction(self) -> f64 {
        match self {
            GpuState::Compute => gpu_phase::COMPUTE,
            GpuState::Memory => gpu_phase::MEMORY,
            GpuState::Wait => gpu_phase::COMM_WAIT,
            GpuState::Idle => gpu_phase::IDLE,
        }
    }
}

/// Storage and CPU-only servers per GPU of the cluster, W ⚠: 20 W x 100,000 GPUs = the
/// 2 MW estimated for Memphis's flash storage servers (facts.md §1.2 names them, no
/// power figure is published). A job is charged this per GPU it uses (storage serves
/// every job in proportion to its GPUs; checkpoint bandwidth would be the alternative
/// key, but the storage is provisioned for the site, not the job).
pub const STORAGE_W_PER_GPU: f64 = 20.0;

/// The site's electricity and water: where its energy comes from and what it costs in
/// carbon and water. It belongs to the cluster (its preset or `[cluster]` section); a
/// scenario's `[power]` may override it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct GridMix {
    /// Grid carbon intensity, g CO2e per kWh.
    pub grid_gco2_per_kwh: f64,
    /// Share of energy from on-site gas turbines, 0 to 1.
    pub turbine_share: f64,
    /// Gas turbine intensity, g/kWh.
    pub turbine_gco2_per_kwh: f64,
    /// On-site water, L per IT kWh.
    pub wue_site_l_per_kwh: f64,
    /// Water embedded in electricity generation, L per kWh.
    pub wue_source_l_per_kwh: f64,
}

impl Default for GridMix {
    /// A US grid: 367 g CO2/kWh ⚠ (EIA, US utility-scale generation 2023: 0.81 lb
    /// CO2/kWh; not in facts.md), no turbines; gas turbines at 53.06 kg/MMBtu x 9.5–11
    /// MMBtu/MWh = 500–585 g/kWh, midpoint 540 ⚠ (facts.md §5); water 1.8 L/kWh on site
    /// and 7.6 L/kWh upstream (US averages, LBNL 2016, facts.md §5).
    fn default() -> Self {
        GridMix {
            grid_gco2_per_kwh: 367.0,
            turbine_share: 0.0,
            turbine_gco2_per_kwh: 540.0,
            wue_site_l_per_kwh: 1.8,
            wue_source_l_per_kwh: 7.6,
        }
    }
}

impl GridMix {
    /// Carbon intensity of the mix, g/kWh.
    pub fn gco2_per_kwh(&self) -> f64 {
        self.turbine_share * self.turbine_gco2_per_kwh
            + (1.0 - self.turbine_share) * self.grid_gco2_per_kwh
    }

    /// Checks the values; errors name `section.field`.
    pub fn validate(&self, section: &str) -> Result<()> {
        for (name, v, unit) in [
            (
                "grid_gco2_per_kwh",
                self.grid_gco2_per_kwh,
                "g CO2e per kWh",
            ),
            (
                "turbine_gco2_per_kwh",
                self.turbine_gco2_per_kwh,
                "g CO2e per kWh",
            ),
            (
                "wue_site_l_per_kwh",
                self.wue_site_l_per_kwh,
                "litres per kWh",
            ),
            (
                "wue_source_l_per_kwh",
                self.wue_source_l_per_kwh,
                "litres per kWh",
            ),
        ] {
            if !(v.is_finite() && (0.0..=1e7).contains(&v)) {
                return Err(Error::invalid(
                    format!("{section}.{name}"),
                    v,
                    format!("{unit}, from 0 to 1e7"),
                ));
            }
        }
        if !(self.turbine_share.is_finite() && (0.0..=1.0).contains(&self.turbine_share)) {
            return Err(Error::invalid(
                format!("{section}.turbine_share"),
                self.turbine_share,
                "a fraction from 0 to 1",
            ));
        }
        Ok(())
    }
}

/// Host power per GPU when the cluster does not say, W: a DGX H100's 1,200 W of CPUs,
/// memory, NVSwitches and drives over its 8 GPUs (facts.md §5) ⚠.
pub const HOST_W_PER_GPU: f64 = 150.0;

/// Power and environment settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerConfig {
    /// Cooling.
    pub cooling: Cooling,
    /// Power usage effectiveness; None = the cooling's default.
    pub pue: Option<f64>,
    /// Host power per server besides GPUs and NICs, W: 2 Xeon 8480C (~350 W TDP each),
    /// 2 TB DDR5, 4 NVSwitch chips, PCIe switches, drives ⚠ (facts.md §5). Drawn
    /// whether the server's GPUs work or idle ⚠.
    pub host_w_per_node: f64,
    /// Power per fabric switch, W: Spectrum-4 ASIC ~500 W plus up to 18 W per OSFP port
    /// x 64 (facts.md §5) ⚠: 1,700 W.
    pub switch_w: f64,
    /// NICs per server (8 GPU NICs + 1 CPU NIC at Colossus, facts.md §1.3).
    pub nics_per_node: f64,
    /// The site's storage and CPU-only servers, MW; None = [`STORAGE_W_PER_GPU`] x the
    /// cluster's GPUs.
    pub storage_mw: Option<f64>,
    /// The site's grid mix and water factors.
    #[serde(flatten)]
    pub grid: GridMix,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            cooling: Cooling::Liquid,
            pue: None,
            host_w_per_node: HOST_W_PER_GPU * 8.0,
            switch_w: 1700.0,
            nics_per_node: 9.0,
            storage_mw: None,
            grid: GridMix::default(),
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
        for (name, v, unit) in [
            ("power.host_w_per_node", Some(self.host_w_per_node), "watts"),
            ("power.switch_w", Some(self.switch_w), "watts"),
            ("power.nics_per_node", Some(self.nics_per_node), "NICs"),
            ("power.storage_mw", self.storage_mw, "megawatts"),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=1e7).contains(&v)) {
                    return Err(Error::invalid(name, v, format!("{unit}, from 0 to 1e7")));
                }
            }
        }
        self.grid.validate("power")
    }

    /// Carbon intensity of the site's mix, g/kWh.
    pub fn gco2_per_kwh(&self) -> f64 {
        self.grid.gco2_per_kwh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let bad = |grid: GridMix| {
            PowerConfig {
                grid,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .to_string()
        };
        let e = bad(GridMix {
            grid_gco2_per_kwh: -1.0,
            ..Default::default()
        });
        assert!(e.starts_with("power.grid_gco2_per_kwh = -1"), "{e}");
        let e = bad(GridMix {
            turbine_share: 1.5,
            ..Default::default()
        });
        assert!(e.starts_with("power.turbine_share = 1.5"), "{e}");
        let e = GridMix {
            turbine_share: f64::NAN,
            ..Default::default()
        }
        .validate("cluster")
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("cluster.turbine_share"), "{e}");
        let e = PowerConfig {
            storage_mw: Some(f64::INFINITY),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("power.storage_mw"), "{e}");
    }

    #[test]
    fn mix_weights_the_turbines() {
        let m = GridMix {
            grid_gco2_per_kwh: 283.5,
            turbine_share: 0.5,
            ..Default::default()
        };
        assert!((m.gco2_per_kwh() - (0.5 * 540.0 + 0.5 * 283.5)).abs() < 1e-9);
    }
}
