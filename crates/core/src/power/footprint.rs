//! Energy, carbon and water of a whole run: the job's and the site's over the same
//! wall-clock time.

use super::{PowerConfig, PowerReport};
use serde::Serialize;

/// Energy, carbon and water of one account over the run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Footprint {
    /// Facility energy, MWh.
    pub run_mwh: f64,
    /// The same with the other cooling, MWh.
    pub run_mwh_other_cooling: f64,
    /// Carbon, tonnes CO2e.
    pub run_tco2e: f64,
    /// Water on site and upstream, m³.
    pub run_m3: f64,
}

/// The job's footprint, with the site's beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunFootprint {
    /// Facility energy of the job, MWh.
    pub run_mwh: f64,
    /// The same with the other cooling, MWh.
    pub run_mwh_other_cooling: f64,
    /// The job's carbon, tonnes CO2e.
    pub run_tco2e: f64,
    /// The job's water on site and upstream, m³.
    pub run_m3: f64,
    /// The job's facility energy per training token, J (0 without tokens).
    pub j_per_token: f64,
    /// The site (every GPU, idle ones included) over the job's wall-clock time.
    pub site: Footprint,
}

fn fin(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// One account: `it_train` MW while training for `train_hours`, `it_idle` MW for the
/// `lost_hours` of restarts and waits.
fn account(
    it_train: f64,
    it_idle: f64,
    p: &PowerReport,
    cfg: &PowerConfig,
    train_hours: f64,
    lost_hours: f64,
) -> Footprint {
    let it_mwh = it_train * train_hours + it_idle * lost_hours;
    let run_mwh = it_mwh * p.pue;
    let kwh = run_mwh * 1000.0;
    let g = &cfg.grid;
    Footprint {
        run_mwh: fin(run_mwh),
        run_mwh_other_cooling: fin(it_mwh * p.other_cooling.default_pue()),
        run_tco2e: fin(kwh * g.gco2_per_kwh() / 1e6),
        run_m3: fin(
            (it_mwh * 1000.0 * g.wue_site_l_per_kwh + kwh * g.wue_source_l_per_kwh) / 1000.0,
        ),
    }
}

/// Energy of a run of `tokens` with `train_hours` of training and `wall_hours` in all:
/// the rest is restarts and waits, at idle power. The site's is over the same wall time.
pub fn run_footprint(
    p: &PowerReport,
    cfg: &PowerConfig,
    train_hours: f64,
    wall_hours: f64,
    tokens: f64,
) -> RunFootprint {
    let train = fin(train_hours).max(0.0);
    let lost = (fin(wall_hours) - train).max(0.0);
    let job = account(p.it_mw, p.idle_it_mw, p, cfg, train, lost);
    let site = account(p.site.it_mw, p.site.idle_it_mw, p, cfg, train, lost);
    let j_per_token = if tokens.is_finite() && tokens > 0.0 {
        fin(job.run_mwh * 3.6e9 / tokens)
    } else {
        0.0
    };
    RunFootprint {
        run_mwh: job.run_mwh,
        run_mwh_other_cooling: job.run_mwh_other_cooling,
        run_tco2e: job.run_tco2e,
        run_m3: job.run_m3,
        j_per_token,
        site,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::{power_report, GpuState, GridMix, Phase, PowerInputs};

    #[test]
    fn formulas() {
        let inp = PowerInputs {
            cluster_gpus: 1000,
            job_gpus: 500,
            gpus_per_node: 8,
            gpu_tdp_w: 700.0,
            nic_w: 25.0,
            switches: 10,
            switch_ports: 1000,
            switch_ports_used: 1000,
        };
        let cfg = PowerConfig {
            grid: GridMix {
                grid_gco2_per_kwh: 283.5,
                ..Default::default()
            },
            ..Default::default()
        };
        let ph = [Phase {
            name: "compute",
            seconds: 1.0,
            state: GpuState::Compute,
        }];
        let p = power_report(&inp, &cfg, 1.0, &ph, None);
        let f = run_footprint(&p, &cfg, 10.0, 10.0, 1e9);
        assert!((f.run_mwh - p.facility_mw * 10.0).abs() < 1e-9);
        assert!((f.run_tco2e - f.run_mwh * 283.5 / 1000.0).abs() < 1e-9);
        assert!((f.run_m3 - (p.it_mw * 10.0 * 1.8 + f.run_mwh * 7.6)).abs() < 1e-6);
        assert!((f.j_per_token - f.run_mwh * 3.6e9 / 1e9).abs() < 1e-9);
        assert!((f.site.run_mwh - p.site.facility_mw * 10.0).abs() < 1e-9);
        // Lost hours at idle power, for the job and the site.
        let g = run_footprint(&p, &cfg, 10.0, 12.0, 0.0);
        assert!((g.run_mwh - f.run_mwh - p.idle_it_mw * 2.0 * p.pue).abs() < 1e-9);
        assert!((g.site.run_mwh - f.site.run_mwh - p.site.idle_it_mw * 2.0 * p.pue).abs() < 1e-9);
        assert_eq!(g.j_per_token, 0.0);
        let h = run_footprint(&p, &cfg, f64::NAN, f64::INFINITY, f64::NAN);
        assert!(h.run_mwh.is_finite() && h.site.run_m3.is_finite());
    }
}
