//! Failures, checkpoints and goodput over the whole run.
//!
//! Failure rates per component are calibrated on the Llama 3 405B run (facts.md §6.1,
//! Llama 3 paper Table 5): 419 unexpected interruptions in 54 days on 16,384 H100s in
//! 2,048 servers, plus 47 planned ones. Each cause is charged to the component it names
//! and scaled by how many of those the job uses. Checkpoint cost comes from the state
//! size and the storage bandwidth; the interval from Young and Daly; the run from a
//! seeded Monte Carlo that also runs out of hot spares.

use crate::error::{Error, Result};
use crate::rng::SplitMix64;
use rayon::prelude::*;
use serde::Serialize;

/// The calibration run: Llama 3 405B pre-training snapshot (facts.md §6.1).
pub mod llama3 {
    /// GPUs in the job.
    pub const GPUS: f64 = 16_384.0;
    /// Servers (8 GPUs each).
    pub const NODES: f64 = 2_048.0;
    /// Days of the snapshot.
    pub const DAYS: f64 = 54.0;
    /// Planned interruptions in the snapshot.
    pub const PLANNED: f64 = 47.0;
}

/// What a failure takes down, which sets how its rate scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Per GPU (and its HBM, SRAM, GSP, thermal interface).
    Gpu,
    /// Per NIC (one per GPU).
    Nic,
    /// Per fabric link/switch port: scales with the GPUs attached.
    Network,
    /// Per server (host parts, host maintenance).
    Host,
    /// Per server process (software, NCCL watchdog, dependencies).
    Software,
}

/// One cause of interruption.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cause {
    /// Name.
    pub name: &'static str,
    /// Count in the Llama 3 snapshot (Table 5).
    pub llama3_count: f64,
    /// What it scales with.
    pub scope: Scope,
    /// Whether recovery needs a replacement server (a hot spare).
    pub needs_spare: bool,
}

/// Llama 3 Table 5, grouped by component (facts.md §6.1). Counts as printed there.
pub const CAUSES: [Cause; 9] = [
    Cause {
        name: "gpu",
        llama3_count: 148.0 + 6.0,
        scope: Scope::Gpu,
        needs_spare: true,
    }, // faulty GPU + thermal interface/sensor
    Cause {
        name: "hbm",
        llama3_count: 72.0,
        scope: Scope::Gpu,
        needs_spare: true,
    },
    Cause {
        name: "gpu_sram",
        llama3_count: 19.0,
        scope: Scope::Gpu,
        needs_spare: true,
    },
    Cause {
        name: "gpu_system_processor",
        llama3_count: 17.0,
        scope: Scope::Gpu,
        needs_spare: true,
    },
    Cause {
        name: "nic",
        llama3_count: 7.0,
        scope: Scope::Nic,
        needs_spare: true,
    },
    Cause {
        name: "network_switch_cable",
        llama3_count: 35.0,
        scope: Scope::Network,
        needs_spare: false,
    },
    // Host maintenance 32, SSD 3, power supply 3, chassis 2, IO board 2, CPU 2, memory 2.
    Cause {
        name: "host",
        llama3_count: 46.0,
        scope: Scope::Host,
        needs_spare: true,
    },
    // Software bug 54, NCCL watchdog timeouts 7, dependency 2.
    Cause {
        name: "software",
        llama3_count: 63.0,
        scope: Scope::Software,
        needs_spare: false,
    },
    Cause {
        name: "silent_data_corruption",
        llama3_count: 6.0,
        scope: Scope::Gpu,
        needs_spare: true,
    },
];

/// Checkpoint, restart and spare settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityConfig {
    /// Checkpoint interval in minutes; None = Daly's optimum.
    pub checkpoint_interval_min: Option<f64>,
    /// Asynchronous checkpointing: the step stalls only to copy the shard to host memory.
    pub async_checkpoint: bool,
    /// Storage write bandwidth, TB/s (Tectonic: 2 TB/s sustained, facts.md §6.1).
    pub storage_write_tbps: f64,
    /// Storage read bandwidth, TB/s (Tectonic: 7 TB/s peak).
    pub storage_read_tbps: f64,
    /// Minutes to detect a failure (NCCL watchdog / health checks) ⚠.
    pub detect_min: f64,
    /// Minutes to reschedule onto a spare and restart processes ⚠.
    pub reschedule_min: f64,
    /// Minutes of warm-up after reload (NCCL init, compilation, data loader) ⚠.
    pub warmup_min: f64,
    /// Hours to repair a failed server before it can serve as a spare again ⚠.
    pub repair_hours: f64,
    /// Restore a restart's state from peers' host memory (in-memory checkpoints) instead
    /// of storage.
    pub restore_from_memory: bool,
    /// Hot spare GPUs (None = the cluster's GPUs the job does not use).
    pub spare_gpus: Option<u64>,
    /// Monte Carlo trials: the first batch; more follow, up to [`MC_MAX_BATCHES`] as
    /// many, while the mean's standard error is over [`MC_TARGET_SE`].
    pub trials: u32,
    /// Seed.
    pub seed: u64,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        ReliabilityConfig {
            checkpoint_interval_min: None,
            async_checkpoint: true,
            storage_write_tbps: 2.0,
            storage_read_tbps: 7.0,
            detect_min: 3.0,
            reschedule_min: 2.0,
            warmup_min: 5.0,
            repair_hours: 72.0,
            restore_from_memory: false,
            spare_gpus: None,
            trials: 200,
            seed: 1,
        }
    }
}

impl ReliabilityConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self, cluster_gpus: u64, job_gpus: u64) -> Result<()> {
        if let Some(t) = self.checkpoint_interval_min {
            if !(t.is_finite() && t > 0.0 && t <= 1e6) {
                return Err(Error::invalid(
                    "reliability.checkpoint_interval_min",
                    t,
                    "a number of minutes above 0, at most 1e6",
                ));
            }
        }
        for (name, v) in [
            ("reliability.storage_write_tbps", self.storage_write_tbps),
            ("reliability.storage_read_tbps", self.storage_read_tbps),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1e6) {
                return Err(Error::invalid(
                    name,
                    v,
                    "a bandwidth in terabytes per second, above 0, at most 1e6",
                ));
            }
        }
        for (name, v, unit) in [
            ("reliability.detect_min", self.detect_min, "minutes"),
            ("reliability.reschedule_min", self.reschedule_min, "minutes"),
            ("reliability.warmup_min", self.warmup_min, "minutes"),
            ("reliability.repair_hours", self.repair_hours, "hours"),
        ] {
            if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                return Err(Error::invalid(
                    name,
                    v,
                    format!("a number of {unit} from 0 to 1e6"),
                ));
            }
        }
        if let Some(s) = self.spare_gpus {
            let free = cluster_gpus - job_gpus;
            if s > free {
                return Err(Error::invalid(
                    "reliability.spare_gpus",
                    s,
                    format!("at most the cluster's GPUs the job leaves free ({free})"),
                ));
            }
        }
        if self.trials == 0 || self.trials > 100_000 {
            return Err(Error::invalid(
                "reliability.trials",
                self.trials,
                "a whole number of Monte Carlo trials from 1 to 100,000",
            ));
        }
        Ok(())
    }
}

/// Interruption rate of each cause for a job, per hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureModel {
    /// (cause, interruptions per hour) for the job.
    pub rates: Vec<(Cause, f64)>,
    /// Planned interruptions per hour.
    pub planned_per_hour: f64,
}

impl FailureModel {
    /// Rates for a job of `gpus` GPUs on hosts of `gpus_per_host` (Llama 3's: 8-GPU
    /// servers, one host each).
    pub fn for_job(gpus: u64, gpus_per_host: u32) -> FailureModel {
        let hours = llama3::DAYS * 24.0;
        let g = gpus as f64;
        let nodes = (gpus as f64 / gpus_per_host.max(1) as f64).ceil();
        let rates = CAUSES
            .iter()
            .map(|c| {
                let (mine, theirs) = match c.scope {
                    Scope::Gpu | Scope::Nic | Scope::Network => (g, llama3::GPUS),
                    Scope::Host | Scope::Software => (nodes, llama3::NODES),
                };
                (*c, c.llama3_count / hours * mine / theirs)
            })
            .collect();
        FailureModel {
            rates,
            planned_per_hour: llama3::PLANNED / hours * nodes / llama3::NODES,
        }
    }

    /// Unexpected interruptions per hour.
    pub fn unexpected_per_hour(&self) -> f64 {
        self.rates.iter().map(|(_, r)| r).sum()
    }

    /// Share of unexpected interruptions that consume a spare server.
    pub fn spare_fraction(&self) -> f64 {
        let all = self.unexpected_per_hour();
        if all <= 0.0 {
            return 0.0;
        }
        self.rates
            .iter()
            .filter(|(c, _)| c.needs_spare)
            .map(|(_, r)| r)
            .sum::<f64>()
            / all
    }

    /// Mean time between unexpected interruptions, hours.
    pub fn job_mtbf_hours(&self) -> f64 {
        1.0 / self.unexpected_per_hour()
    }
}

/// Young (1974): τ = √(2δM).
pub fn young_interval(delta: f64, mtbf: f64) -> f64 {
    (2.0 * delta * mtbf).sqrt()
}

/// Daly (2006): τ = √(2δM)·[1 + ⅓·√(δ/(2M)) + δ/(18M)] − δ for δ < 2M, else M.
pub fn daly_interval(delta: f64, mtbf: f64) -> f64 {
    if delta >= 2.0 * mtbf {
        return mtbf;
    }
    let x = delta / (2.0 * mtbf);
    young_interval(delta, mtbf) * (1.0 + x.sqrt() / 3.0 + delta / (18.0 * mtbf)) - delta
}

/// Expected effective-training-time ratio for interval τ, stall δ, restart u0 and MTBF M
/// with exponential failures: a segment of τ + δ must run without a failure, and each
/// failure costs the time lost plus a restart, so a segment takes (e^{(τ+δ)/M} − 1)(M + R)
/// on average (the renewal argument behind Daly 2006, eq. 8) and ETTR = τ over that.
/// Failures strike restarts too, and each starts the restart over, so a restart of u0
/// takes R = M(e^{u0/M} − 1) on average, and M + R = M e^{u0/M}. To first order it is
/// Kokolis et al. 2024's (1 − (u0 + τ/2)/M) / (1 + δ/τ) (facts.md §6.2); unlike that, it
/// stays right when a step or a restart is as long as the MTBF.
///
/// Planned interruptions, `planned` per hour of training, end a segment too: each
/// checkpoints first, so nothing is lost (their restarts are counted apart). A segment's
/// work is then L = min(τ, X), X ~ Exp(planned), drawn afresh at each attempt (the
/// planned clock is memoryless). Over attempts (renewal-reward): one succeeds with
/// S = E[e^{−(L+δ)/M}] and lasts (1 − S) M on average, a failed one costs a restart more,
/// so ETTR = E[L e^{−(L+δ)/M}] / ((1 − S)(M + R)). With none planned, L = τ and this is
/// the formula above. It matters where τ is a sizeable share of the time between planned
/// stops (an interval of days): they then checkpoint more often than τ does.
pub fn ettr_expected(tau: f64, delta: f64, restart: f64, mtbf: f64, planned: f64) -> f64 {
    if !(tau > 0.0 && mtbf > 0.0) {
        return 0.0;
    }
    let (c, p) = (1.0 / mtbf, planned.max(0.0));
    let k = c + p;
    let x = k * tau;
    let survive_tau = (-x).exp();
    // 1 − e^{−x}(1 + x), without cancellation for small x.
    let g = if x < 1e-3 {
        x * x * (0.5 - x / 3.0 + x * x / 8.0)
    } else {
        -(-x).exp_m1() - x * survive_tau
    };
    // E[L e^{−L/M}] and 1 − S (k(1 − S) = c(1 − e^{−kτ}) + (1 − e^{−cδ})(p + c e^{−kτ})).
    let work = p / (k * k) * g + tau * survive_tau;
    let lost_stall = -(-c * delta).exp_m1();
    let fail = (c * -(-x).exp_m1() + lost_stall * (p + c * survive_tau)) / k;
    let per_attempt = fail * mtbf * (restart / mtbf).exp();
    let ettr = (-c * delta).exp() * work / per_attempt;
    if !ettr.is_finite() {
        return 0.0;
    }
    ettr.clamp(0.0, 1.0)
}

/// Share of the time a job is not waiting for a repaired server, when failures that
/// take a server out come at `rate` per hour of training, repairs take `repair_h` and the
/// job starts with `spares` servers in reserve. The servers in repair form an Erlang loss
/// system: S + 1 places (the spares, and the job's own server when none is left) offered
/// rate x repair, and the job stops exactly when all are taken: 1 - B(S + 1, rate x repair),
/// Erlang's B, which holds whatever the repair time's distribution. With no spare it is
/// 1 / (1 + rate x repair): each such failure waits a whole repair.
pub fn spare_availability(rate: f64, repair_h: f64, spares: u64) -> f64 {
    let a = rate * repair_h;
    if !(a.is_finite() && a > 0.0) {
        return 1.0;
    }
    // B(0) = 1; B(k) = a B(k-1) / (k + a B(k-1)); it only falls with k, so stop once it
    // is negligible (a cluster's thousands of spares need not all be counted).
    let mut b = 1.0;
    for k in 1..=spares.saturating_add(1) {
        b = a * b / (k as f64 + a * b);
        if b < 1e-12 {
            break;
        }
    }
    1.0 - b
}

/// Checkpoint costs of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointCost {
    /// Bytes of one checkpoint: 16-bit weights, FP32 master weights and the Adam moments.
    pub size_bytes: f64,
    /// Seconds the training stalls per checkpoint.
    pub stall_s: f64,
    /// Seconds the write takes in all (background when asynchronous).
    pub write_s: f64,
    /// Seconds to restart: detect, reschedule, reload, warm up.
    pub restart_s: f64,
    /// Seconds to copy each GPU's shard to a peer's host memory (in-memory checkpoints).
    pub peer_copy_s: f64,
}

/// PCIe Gen5 x16 device-to-host, ~55 GB/s measured (facts.md §2.1).
pub const PCIE_BYTES_PER_S: f64 = 55e9;

/// A shard fetched from a peer's host memory over one 400G NIC: 50 GB/s (facts.md §3:
/// NCCL's NIC bandwidth is speed / 8000 GB/s) ⚠ (the NIC of the scenario is not used).
pub const PEER_RESTORE_BYTES_PER_S: f64 = 50e9;

/// A recovery technique of the sites that recover fastest, as the change it makes to the
/// restart. Constants are estimates (⚠) unless a source is given.
#[derive(Debug, Clone, Copy)]
pub struct Recovery {
    /// Name.
    pub name: &'static str,
    /// What it does (the figures it changes are said by [`Recovery::changes`]).
    pub what: &'static str,
    /// Whether it needs spare servers standing by (none where the job has no spares).
    pub needs_spares: bool,
    /// The change.
    pub apply: fn(&mut ReliabilityConfig),
}

/// The techniques `reliability` compares, each alone and all together (sources:
/// facts.md §12; the texts are what users read, so they name the work, not the file).
pub const RECOVERIES: &[Recovery] = &[
    Recovery {
        name: "in-memory checkpoints",
        what: "restore from peers' host memory, not storage (GEMINI, SOSP 2023: 13x faster recovery)",
        needs_spares: false,
        apply: |c| c.restore_from_memory = true,
    },
    Recovery {
        name: "fast detection",
        what: "flag a failure in 30 s, as NCCL's InfiniBand error detection does",
        needs_spares: false,
        apply: |c| c.detect_min = c.detect_min.min(0.5),
    },
    Recovery {
        name: "hot-spare swap",
        what: "a standby server with its processes up takes the failed one's place (ByteRobust's warm-standby backups): 30 s to reschedule ⚠",
        needs_spares: true,
        apply: |c| c.reschedule_min = c.reschedule_min.min(0.5),
    },
    Recovery {
        name: "warm standby",
        what: "communicators, compiled kernels and data loaders kept warm (ByteRobust's in-place hot update): 1 min of warm-up ⚠",
        needs_spares: false,
        apply: |c| c.warmup_min = c.warmup_min.min(1.0),
    },
    Recovery {
        name: "in-place replica restart",
        what: "only the failed data-parallel replica restarts, its state copied from a healthy replica's memory; the others keep their processes and communicators (TorchFT-style replica groups) ⚠: 2 min of warm-up",
        needs_spares: false,
        apply: |c| {
            c.restore_from_memory = true;
            c.warmup_min = c.warmup_min.min(2.0);
        },
    },
];

impl Recovery {
    /// What applying the technique to `cfg` changes, from the scenario's own settings
    /// ("detect 3 -> 0.5 min"), and what it would change but the scenario already has
    /// ("warm-up already 1 min"); `None` where its text says it all (a reload from
    /// peers' memory, the scenario's restore from storage).
    pub fn changes(&self, cfg: &ReliabilityConfig) -> Option<String> {
        let mut after = cfg.clone();
        (self.apply)(&mut after);
        // Which fields the technique sets: those it lowers from a restart that slow.
        let mut slow = ReliabilityConfig {
            detect_min: f64::MAX,
            reschedule_min: f64::MAX,
            warmup_min: f64::MAX,
            restore_from_memory: false,
            ..cfg.clone()
        };
        (self.apply)(&mut slow);
        let mut parts = Vec::new();
        for (name, a, b, sets) in [
            ("detect", cfg.detect_min, after.detect_min, slow.detect_min),
            (
                "reschedule",
                cfg.reschedule_min,
                after.reschedule_min,
                slow.reschedule_min,
            ),
            ("warm-up", cfg.warmup_min, after.warmup_min, slow.warmup_min),
        ] {
            if a != b {
                parts.push(format!("{name} {a} -> {b} min"));
            } else if sets != f64::MAX {
                parts.push(format!("{name} already {a} min"));
            }
        }
        if slow.restore_from_memory && cfg.restore_from_memory {
            parts.push("already restoring from peers' memory".to_string());
        }
        let changed = parts.iter().any(|p| p.contains("->"))
            || (after.restore_from_memory && !cfg.restore_from_memory);
        match (parts.is_empty(), changed) {
            (true, _) => None,
            (false, false) => Some(format!("no change: {}", parts.join(", "))),
            (false, true) => Some(parts.join(", ")),
        }
    }
}

/// Checkpoint cost for a checkpoint of `size` bytes ([`crate::scenario::Scenario::checkpoint_bytes`])
/// sharded over `gpus` GPUs.
pub fn checkpoint_cost(size: f64, gpus: u64, cfg: &ReliabilityConfig) -> CheckpointCost {
    let write = size / (cfg.storage_write_tbps * 1e12);
    let shard = size / gpus.max(1) as f64;
    // Asynchronous: the step waits for the copy to host memory. Synchronous: for the
    // checkpoint to land where a restart reads it, storage or (in-memory checkpoints) a
    // peer's memory, over PCIe and then the NIC.
    let stall = if cfg.async_checkpoint {
        shard / PCIE_BYTES_PER_S
    } else if cfg.restore_from_memory {
        shard / PCIE_BYTES_PER_S + shard / PEER_RESTORE_BYTES_PER_S
    } else {
        write
    };
    // From storage, the whole checkpoint at the storage's read bandwidth; from peers'
    // memory, each GPU's shard over its NIC and then PCIe.
    let reload = if cfg.restore_from_memory {
        shard / PEER_RESTORE_BYTES_PER_S + shard / PCIE_BYTES_PER_S
    } else {
        size / (cfg.storage_read_tbps * 1e12) + shard / PCIE_BYTES_PER_S
    };
    let restart = (cfg.detect_min + cfg.reschedule_min + cfg.warmup_min) * 60.0 + reload;
    CheckpointCost {
        size_bytes: size,
        stall_s: stall,
        write_s: write,
        restart_s: restart,
        peer_copy_s: shard / PEER_RESTORE_BYTES_PER_S,
    }
}

/// Share of the storage's sustained write bandwidth that checkpoints may take on average
/// ⚠ (estimate): the rest serves the data loader, logs and the site's other jobs. With
/// Llama 3's 2 TB/s (facts.md §12) a 405B checkpoint is written in ~3 s, so the storage
/// bounds the interval long before Daly's optimum does (an asynchronous checkpoint stalls
/// the step for milliseconds only).
pub const CHECKPOINT_STORAGE_SHARE: f64 = 0.25;

/// What set the checkpoint interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalRule {
    /// The user's interval, rounded up to whole steps.
    Set,
    /// Daly's optimum for the stall and the job's MTBF.
    Daly,
    /// The storage: a checkpoint every `write / CHECKPOINT_STORAGE_SHARE`.
    Storage,
    /// The write itself: the storage's share would cost more than a point of ETTR, so
    /// checkpoints follow each other as fast as the storage writes them.
    WriteTime,
    /// Copying the shard to a peer's host memory (in-memory checkpoints).
    PeerCopy,
    /// One step: checkpoints are taken between steps.
    Step,
}

impl IntervalRule {
    /// Why, in words.
    pub fn why(self) -> String {
        match self {
            IntervalRule::Set => "as set, to the nearest whole step, at least one".into(),
            IntervalRule::Daly => "Daly's optimum".into(),
            IntervalRule::Storage => format!(
                "bounded by storage: checkpoints take at most {:.0}% of its writes ⚠",
                CHECKPOINT_STORAGE_SHARE * 100.0
            ),
            IntervalRule::WriteTime => format!(
                "as fast as storage writes them: keeping checkpoints to {:.0}% of its writes would cost over a point of ETTR",
                CHECKPOINT_STORAGE_SHARE * 100.0
            ),
            IntervalRule::PeerCopy => "bounded by the copy to a peer's memory".into(),
            IntervalRule::Step => "every step".into(),
        }
    }
}

/// Seconds for a checkpoint to land where a restart reads it: written to storage, or
/// copied to a peer's memory with in-memory checkpoints.
pub fn landing_s(cfg: &ReliabilityConfig, ck: &CheckpointCost) -> f64 {
    if cfg.restore_from_memory {
        ck.peer_copy_s
    } else {
        ck.write_s
    }
}

/// Seconds after its stall that a checkpoint is still landing, when a failure loses it
/// and the job falls back to the one before: an asynchronous checkpoint's write to
/// storage (or copy to a peer) goes on behind training; a synchronous one has landed
/// when its stall ends.
pub fn at_risk_after_stall_s(cfg: &ReliabilityConfig, ck: &CheckpointCost) -> f64 {
    if cfg.async_checkpoint {
        landing_s(cfg, ck)
    } else {
        0.0
    }
}

/// [`ettr_expected`] for checkpoints every `tau_h` hours and a job MTBF of `mtbf_h`, with
/// the stall and restart of `ck`. A failure while an asynchronous checkpoint lands loses
/// the segment before it too: on average each failure then loses the landing time more
/// (a failure at a point x of a cycle τ loses x, and τ more when x falls in the landing
/// window W: τ/2 + W on average, for W ≤ τ, which the interval keeps), which is the
/// renewal formula's with the restart longer by W.
pub fn renewal_ettr(
    tau_h: f64,
    cfg: &ReliabilityConfig,
    ck: &CheckpointCost,
    fm: &FailureModel,
) -> f64 {
    let restart_h = (ck.restart_s + at_risk_after_stall_s(cfg, ck)) / 3600.0;
    ettr_expected(
        tau_h,
        ck.stall_s / 3600.0,
        restart_h,
        fm.job_mtbf_hours(),
        fm.planned_per_hour,
    )
}

/// `h` hours rounded up to whole steps of `step_s` (at least one): checkpoints are taken
/// between steps. A count a rounding error past a whole number stays that number.
pub fn whole_steps(h: f64, step_s: f64) -> f64 {
    in_steps(h, step_s, |steps| (steps * (1.0 - 1e-12)).ceil())
}

/// `h` hours as whole steps of `step_s` (at least one), the count rounded by `round`.
fn in_steps(h: f64, step_s: f64, round: impl Fn(f64) -> f64) -> f64 {
    let step_h = step_s / 3600.0;
    if step_h > 0.0 {
        round(h / step_h).max(1.0) * step_h
    } else {
        h
    }
}

/// The shortest checkpoint interval possible, hours: a step, or the time an asynchronous
/// checkpoint goes on landing behind training, in whole steps (one lands before the next
/// starts). A synchronous one has landed when its stall ends, so a step will do.
pub fn min_interval_h(cfg: &ReliabilityConfig, ck: &CheckpointCost, step_s: f64) -> f64 {
    whole_steps(at_risk_after_stall_s(cfg, ck) / 3600.0, step_s)
}

/// The checkpoint interval in hours, and what set it. Unless the user set it: Daly's
/// optimum for the stall, but no more often than the storage (or, with in-memory
/// checkpoints, the copy to a peer) can absorb, in whole steps.
pub fn checkpoint_interval(
    cfg: &ReliabilityConfig,
    ck: &CheckpointCost,
    step_s: f64,
    fm: &FailureModel,
) -> (f64, IntervalRule) {
    let step_h = step_s / 3600.0;
    let whole_steps = |h: f64| whole_steps(h, step_s);
    if let Some(m) = cfg.checkpoint_interval_min {
        // An interval asked for is a count of steps (Megatron's --save-interval): the
        // nearest, not a floor to stay above.
        return (in_steps(m / 60.0, step_s, f64::round), IntervalRule::Set);
    }
    let stall_h = ck.stall_s / 3600.0;
    let daly = daly_interval(stall_h.max(1e-9), fm.job_mtbf_hours());
    // In-memory checkpoints go to a peer over the scale-out NIC (GEMINI); storage then
    // only keeps a copy now and then, off the critical path of a restart.
    let copy_h = landing_s(cfg, ck) / 3600.0;
    let floor_rule = if cfg.restore_from_memory {
        IntervalRule::PeerCopy
    } else {
        IntervalRule::Storage
    };
    let pick = |floor: (f64, IntervalRule)| {
        [
            (daly, IntervalRule::Daly),
            floor,
            (step_h, IntervalRule::Step),
        ]
        .into_iter()
        .fold(
            (0.0, IntervalRule::Step),
            |a, b| if b.0 > a.0 { b } else { a },
        )
    };
    let (h, rule) = pick((copy_h / CHECKPOINT_STORAGE_SHARE, floor_rule));
    // The share is a courtesy to the site; the write time is a hard floor (a checkpoint
    // must land before the next starts). Where the courtesy costs over a point of ETTR
    // (slow storage, short MTBF), checkpoints follow each other at the write time.
    let ettr = |h: f64| renewal_ettr(whole_steps(h), cfg, ck, fm);
    let (hard, hard_rule) = pick((copy_h, floor_rule));
    let (h, rule) = if rule == floor_rule && ettr(hard) > ettr(h) + 0.01 {
        let rule = if hard_rule == floor_rule && floor_rule == IntervalRule::Storage {
            IntervalRule::WriteTime
        } else {
            hard_rule
        };
        (hard, rule)
    } else {
        (h, rule)
    };
    (whole_steps(h), rule)
}

/// The run projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunProjection {
    /// Mean time between unexpected interruptions, hours.
    pub job_mtbf_hours: f64,
    /// Checkpoint interval used, minutes.
    pub checkpoint_interval_min: f64,
    /// What set the interval.
    pub interval_rule: IntervalRule,
    /// The shortest interval possible, minutes: a step, or the write (the copy to a peer
    /// with in-memory checkpoints) if longer: a checkpoint lands before the next starts.
    pub min_interval_min: f64,
    /// Checkpoint costs.
    pub checkpoint: CheckpointCost,
    /// Unexpected interruptions over the run, expected: the job's failure rate over the
    /// mean hours the Monte Carlo trials are open to failures (each of its own length;
    /// Wald's identity, with less spread than the counts the trials draw), or over the
    /// expected wall time where there is no Monte Carlo. `reliability --days D` counts
    /// those of D days at the rate instead.
    pub interruptions: f64,
    /// Planned interruptions over the run: at their rate over the hours training (one
    /// due while the job is down is taken at its restart), so fewer than the rate times
    /// the wall time that `reliability --days` counts.
    pub planned_interruptions: f64,
    /// Mean ETTR over the trials (useful training time / wall time).
    pub ettr: f64,
    /// Analytic ETTR for comparison.
    pub ettr_expected: f64,
    /// Wall-clock days at p10, p50, p90.
    pub days_p10: f64,
    /// Median.
    pub days_p50: f64,
    /// 90th percentile.
    pub days_p90: f64,
    /// Mean wall-clock days: the work over the ETTR. Rare long waits (a repair with no
    /// spare left) move it while the percentiles stay at the failure-free time.
    pub days_mean: f64,
    /// Mean hours the job waited for repairs when spares ran out.
    pub spare_wait_hours: f64,
    /// Spare GPUs available at the start (whole hosts' worth).
    pub spare_gpus: u64,
    /// Whether the spread comes from the Monte Carlo (false: the run would see more than
    /// [`MC_MAX_EVENTS`] interruptions per trial, and the analytic ETTR is used instead).
    pub monte_carlo: bool,
}

/// Most interruptions one Monte Carlo trial may simulate; beyond it the analytic
/// expectation stands in (it converges there anyway), so that absurd runs cannot hang.
pub const MC_MAX_EVENTS: f64 = 50_000.0;

/// Most interruptions one Monte Carlo run simulates over all its trials: a run with many
/// interruptions per trial takes fewer trials (at least [`MC_MIN_TRIALS`]), whose spread
/// is narrow anyway. It bounds `simulate` and each row `reliability` explores to well
/// under a second.
pub const MC_EVENT_BUDGET: f64 = 2_000_000.0;

/// Fewest trials the event budget leaves.
pub const MC_MIN_TRIALS: u32 = 20;

/// The standard error of the mean wall time that the Monte Carlo stops at, relative ⚠ (a
/// choice: the ETTR it prints then moves by about 0.2 points between seeds at 2 sigma,
/// under the 0.1% it is printed to). A run that waits for repaired servers has a long
/// tail: 200 trials left its ETTR 2 points apart between seeds (helper-100's trial).
pub const MC_TARGET_SE: f64 = 0.0025;

/// Most batches of the trials asked for that the Monte Carlo runs to reach
/// [`MC_TARGET_SE`].
pub const MC_MAX_BATCHES: u32 = 25;

/// Whether the trials' mean wall time is known to [`MC_TARGET_SE`].
fn precise(outcomes: &[TrialOutcome]) -> bool {
    let n = outcomes.len() as f64;
    if n < 2.0 {
        return false;
    }
    let mean = outcomes.iter().map(|o| o.wall_h).sum::<f64>() / n;
    let var = outcomes
        .iter()
        .map(|o| (o.wall_h - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (var / n).sqrt() <= MC_TARGET_SE * mean
}

/// One Monte Carlo trial of the whole run.
#[derive(Debug, Clone, Copy)]
struct TrialOutcome {
    /// Wall hours to the end of the run.
    wall_h: f64,
    /// Unexpected interruptions it drew: the tests' check of `exposed_h`.
    #[cfg_attr(not(test), allow(dead_code))]
    failures: u64,
    /// Planned interruptions it drew: the tests' check of `trained_h`.
    #[cfg_attr(not(test), allow(dead_code))]
    planned: u64,
    /// Hours waiting for a spare (or a repair).
    waited_h: f64,
    /// Hours open to failures: the wall time less the waits and planned restarts, when
    /// none strikes. Failures arrive at the job's rate over exactly these hours, so
    /// that rate times their mean is the expected count (Wald's identity), with less
    /// spread than the count drawn.
    exposed_h: f64,
    /// Hours training (checkpoint stalls included): planned interruptions come only
    /// then (one due while the job is down is taken at its restart, not counted
    /// twice), so their rate times these hours is their expected count.
    trained_h: f64,
}

/// A trial's checkpoints, hours: one every `tau_h` of work, stalling training for
/// `stall_h`, then landing `land_h` later (asynchronous: written behind training).
#[derive(Debug, Clone, Copy)]
struct Checkpoints {
    tau_h: f64,
    stall_h: f64,
    land_h: f64,
}

/// One trial of the whole run.
fn trial(
    rng: &mut SplitMix64,
    work_h: f64,
    ck: Checkpoints,
    restart_h: f64,
    fm: &FailureModel,
    spares_nodes: u64,
    repair_h: f64,
) -> TrialOutcome {
    let lam = fm.unexpected_per_hour();
    let planned = fm.planned_per_hour;
    let spare_p = fm.spare_fraction();
    let exp = |rng: &mut SplitMix64, rate: f64| {
        if rate > 0.0 {
            -(1.0 - rng.next_f64()).ln() / rate
        } else {
            f64::INFINITY
        }
    };
    let stall_h = ck.stall_h;
    let mut t = Training {
        wall: 0.0,
        done: 0.0,
        since_ckpt: 0.0,
        lands_at: 0.0,
        work_h,
        ck,
    };
    let mut failures = 0u64;
    let mut planned_n = 0u64;
    let mut waited = 0.0;
    let mut planned_h = 0.0;
    let mut trained_h = 0.0;
    let mut spares = spares_nodes;
    let mut repairs: Vec<f64> = Vec::new(); // wall times when repaired servers return
    let mut next_fail = exp(rng, lam);
    let mut next_planned = exp(rng, planned);
    // Train from one interruption to the next: the checkpoints between them are counted
    // in bulk, so a trial costs O(interruptions), whatever the checkpoint interval.
    while t.done < work_h {
        let event = next_fail.min(next_planned);
        let from = t.wall;
        let done = t.advance_until(event);
        trained_h += t.wall - from;
        if done {
            break;
        }
        t.wall = t.wall.max(event);
        if next_planned < next_fail {
            // Planned: checkpoint first and let it land, nothing lost; restart.
            planned_n += 1;
            t.wall += stall_h + ck.land_h + restart_h;
            planned_h += stall_h + ck.land_h + restart_h;
            t.since_ckpt = 0.0;
            t.lands_at = 0.0;
            next_planned = t.wall + exp(rng, planned);
            if next_fail < t.wall {
                next_fail = t.wall + exp(rng, lam);
            }
            continue;
        }
        // Lose the work since the last checkpoint that landed (the step in flight
        // included), and nothing that such a checkpoint holds.
        t.done -= t.since_ckpt;
        if t.wall < t.lands_at {
            t.done -= ck.tau_h;
        }
        t.since_ckpt = 0.0;
        t.lands_at = 0.0;
        // Restart; a failure during the restart (or while waiting for a spare) is one
        // more interruption, and the restart begins again after it.
        loop {
            failures += 1;
            if rng.next_f64() < spare_p {
                waited += take_spare(&mut t.wall, &mut spares, &mut repairs, repair_h);
            }
            next_fail = t.wall + exp(rng, lam);
            if next_fail >= t.wall + restart_h {
                break;
            }
            t.wall = next_fail;
        }
        t.wall += restart_h;
        if next_planned < t.wall {
            next_planned = t.wall + exp(rng, planned);
        }
    }
    TrialOutcome {
        wall_h: t.wall,
        failures,
        planned: planned_n,
        waited_h: waited,
        exposed_h: t.wall - waited - planned_h,
        trained_h,
    }
}

/// A failure that takes a server out: swap in a spare, or, with none left, wait (from
/// `*wall`) for the earliest repair. The server goes to repair either way. Returns the
/// hours waited.
fn take_spare(wall: &mut f64, spares: &mut u64, repairs: &mut Vec<f64>, repair_h: f64) -> f64 {
    let now = *wall;
    repairs.retain(|&back| {
        if back <= now {
            *spares += 1;
            false
        } else {
            true
        }
    });
    let mut waited = 0.0;
    if *spares == 0 {
        let back = repairs.iter().copied().fold(f64::INFINITY, f64::min);
        if back.is_finite() {
            waited = back - now;
            *wall = back;
            repairs.retain(|&r| r > back);
        } else {
            // Nothing in repair to take: the job waits for the failed server itself,
            // which then rejoins it (it is not also a spare to come).
            *wall += repair_h;
            return repair_h;
        }
    } else {
        *spares -= 1;
    }
    // The failed server's repair starts when it fails, not when the job resumes.
    repairs.push(now + repair_h);
    waited
}

/// The state of training within one Monte Carlo trial (hours).
struct Training {
    wall: f64,
    done: f64,
    /// Work since the last checkpoint was taken.
    since_ckpt: f64,
    /// When that checkpoint lands: a failure before then loses the segment it holds
    /// (`tau_h` of work) too. 0 when none is landing.
    lands_at: f64,
    work_h: f64,
    ck: Checkpoints,
}

impl Training {
    /// Trains until wall time `event` or the end of the work, checkpointing every
    /// `tau_h` of work (each costing `stall_h` of wall time). Returns whether the work
    /// is done. Whole checkpoint cycles are taken in one step, so the cost is O(1).
    /// A checkpoint whose stall the event interrupts is not taken.
    fn advance_until(&mut self, event: f64) -> bool {
        let Checkpoints {
            tau_h,
            stall_h,
            land_h,
        } = self.ck;
        loop {
            let budget = event - self.wall;
            let to_end = self.work_h - self.done;
            let to_ckpt = tau_h - self.since_ckpt;
            if to_end <= to_ckpt {
                if to_end <= budget {
                    self.wall += to_end;
                    self.done = self.work_h;
                    return true;
                }
                self.run(budget.max(0.0));
                return false;
            }
            if to_ckpt > budget {
                self.run(budget.max(0.0));
                return false;
            }
            // Reach the checkpoint, then take the whole cycles that fit before the event
            // and leave work after them (no stall after the last piece of work).
            self.run(to_ckpt);
            if self.wall + stall_h > event {
                // The event strikes during the stall (a synchronous write, say): the
                // checkpoint is not taken, and its work stays at risk.
                self.wall = event;
                return false;
            }
            self.since_ckpt = 0.0;
            self.wall += stall_h;
            let cycle = tau_h + stall_h;
            let left = self.work_h - self.done;
            let by_time = ((event - self.wall) / cycle).floor().max(0.0);
            let by_work = ((left / tau_h).ceil() - 1.0).max(0.0);
            let k = by_time.min(by_work);
            self.wall += k * cycle;
            self.done += k * tau_h;
            self.lands_at = self.wall + land_h;
            if self.wall >= event {
                return false;
            }
        }
    }

    fn run(&mut self, h: f64) {
        self.wall += h;
        self.done += h;
        self.since_ckpt += h;
    }
}

/// Runs of at most this many checkpoint intervals are priced as the run they are
/// ([`finite_run_hours`]); longer ones by the renewal formula, whose error is then the
/// last segment's share.
pub const FINITE_RUN_SEGMENTS: f64 = 64.0;

/// Points of [`finite_run_hours`]' grid over the run's work.
const FINITE_RUN_POINTS: usize = 512;

/// Expected hours to train `work_h` of work (lost work and failure restarts included;
/// planned restarts and waits for repairs apart), checkpointing every `tau_h` of work
/// and at each planned stop. G(w), the time left with w of work to do after a
/// checkpoint, solves a renewal equation over one attempt at the next segment s =
/// min(τ, w): a failure (rate c) costs its time and a restart R = M(e^{u/M} − 1) and
/// starts over at w; a planned stop at x < s (rate p) leaves w − x; a segment done
/// (surviving s + δ, no stall after the last) leaves w − s:
/// G(w)(1 − P_fail) = T + P_fail R + ∫₀ˢ p e^{−kx} G(w − x) dx + P_done G(w − s), k = c + p.
/// Solved on a grid (trapezoid; the x = 0 end moves to the left). With no planned stop
/// and one segment it is the renewal formula's (e^{(w+δ)/M} − 1)(M + R).
fn finite_run_hours(
    work_h: f64,
    tau_h: f64,
    cfg: &ReliabilityConfig,
    ck: &CheckpointCost,
    fm: &FailureModel,
) -> f64 {
    let c = fm.unexpected_per_hour();
    let p = fm.planned_per_hour.max(0.0);
    let k = c + p;
    let delta = ck.stall_s / 3600.0;
    let u = (ck.restart_s + at_risk_after_stall_s(cfg, ck)) / 3600.0;
    let m = 1.0 / c.max(1e-300);
    let restart = m * (u / m).exp_m1();
    let n = FINITE_RUN_POINTS;
    let h = work_h / n as f64;
    let mut g = vec![0.0f64; n + 1];
    // G between grid points, linearly.
    let at = |g: &[f64], w: f64| {
        let x = (w / h).clamp(0.0, n as f64);
        let i = (x.floor() as usize).min(n - 1);
        g[i] + (x - i as f64) * (g[i + 1] - g[i])
    };
    for i in 1..=n {
        let w = i as f64 * h;
        let last = tau_h >= w * (1.0 - 1e-12);
        let s = tau_h.min(w);
        let stall = if last { 0.0 } else { delta };
        let ks = k * s;
        let survive = (-ks).exp();
        let stall_survive = (-c * stall).exp();
        let attempt = -(-ks).exp_m1() / k + survive * (-(-c * stall).exp_m1()) / c.max(1e-300);
        let fail = c * -(-ks).exp_m1() / k + survive * -(-c * stall).exp_m1();
        let done = survive * stall_survive;
        // ∫₀ˢ p e^{−kx} G(w − x) dx by the trapezoid over x = 0, h, 2h, … and s; the
        // x = 0 end holds G(w) itself, whose weight moves to the left.
        let steps = ((s / h) * (1.0 + 1e-12)).floor() as usize;
        let mut nodes: Vec<f64> = (0..=steps).map(|j| j as f64 * h).collect();
        if s - steps as f64 * h > 1e-9 * h {
            nodes.push(s);
        }
        let mut planned = 0.0;
        let mut self_weight = 0.0;
        for (j, &x) in nodes.iter().enumerate() {
            let left = if j > 0 { x - nodes[j - 1] } else { 0.0 };
            let right = nodes.get(j + 1).map_or(0.0, |&next| next - x);
            let weight = 0.5 * (left + right) * p * (-k * x).exp();
            if j == 0 {
                self_weight = weight;
            } else {
                planned += weight * at(&g, w - x);
            }
        }
        let lhs = 1.0 - fail - self_weight;
        let rhs = attempt + fail * restart + planned + done * at(&g, w - s);
        g[i] = if lhs > 1e-300 {
            rhs / lhs
        } else {
            f64::INFINITY
        };
        if !g[i].is_finite() {
            return f64::INFINITY;
        }
    }
    g[n]
}

/// Projects a run of `work_hours` of failure-free training (steps of `step_s`) on a job
/// of `gpus` GPUs whose checkpoint is `checkpoint_bytes`.
pub fn project_run(
    work_hours: f64,
    step_s: f64,
    checkpoint_bytes: f64,
    gpus: u64,
    gpus_per_host: u32,
    spare_gpus: u64,
    cfg: &ReliabilityConfig,
) -> RunProjection {
    let fm = FailureModel::for_job(gpus, gpus_per_host);
    let mtbf_h = fm.job_mtbf_hours();
    let ck = checkpoint_cost(checkpoint_bytes, gpus, cfg);
    let stall_h = ck.stall_s / 3600.0;
    let restart_h = ck.restart_s / 3600.0;
    let land_h = at_risk_after_stall_s(cfg, &ck) / 3600.0;
    let (tau_h, interval_rule) = checkpoint_interval(cfg, &ck, step_s, &fm);
    let min_interval_min = min_interval_h(cfg, &ck, step_s) * 60.0;
    let spares_nodes = spare_gpus / u64::from(gpus_per_host.max(1));
    // The analytic run: the renewal ETTR, times the share of time the job is not waiting
    // for a repaired server.
    // Past the run's work no checkpoint is taken: the run is one segment.
    let tau_run = tau_h.min(work_hours);
    let renewal = renewal_ettr(tau_run, cfg, &ck, &fm);
    let avail = spare_availability(
        fm.unexpected_per_hour() * fm.spare_fraction(),
        cfg.repair_hours,
        spares_nodes,
    );
    // The analytic run, hours: the renewal's time (training, lost work included, and
    // the restarts after failures, which are each cut short by the next failure at M (1
    // - e^{-u/M}) on average, so take a share λ M (1 - e^{-u/M}) of it); planned
    // interruptions (checkpoint, let it land, restart: nothing lost; the renewal counts
    // the checkpoint's stall, as it ends a segment) come at their rate over the hours
    // training, as the trials count them; and the waits for repaired servers, 1 - avail
    // of the wall time.
    // The renewal prices every segment as τ. Where the run holds few (τ a good share
    // of it), its segments are what is left of it, shorter and so cheaper (a segment's
    // cost grows as e^{τ/M}), and a planned stop leaves less than τ after it: the
    // run's own expectation ([`finite_run_hours`]). Else whole intervals at the
    // renewal's ETTR, the last segment at its own length.
    let whole = (work_hours / tau_run).floor();
    let rest = work_hours - whole * tau_run;
    let renewal_h = if whole <= FINITE_RUN_SEGMENTS {
        finite_run_hours(work_hours, tau_run, cfg, &ck, &fm)
    } else {
        whole * tau_run / renewal.max(1e-12)
            + if rest > 1e-9 * work_hours {
                rest / renewal_ettr(rest, cfg, &ck, &fm).max(1e-12)
            } else {
                0.0
            }
    };
    let restarting_share = -(-restart_h / mtbf_h).exp_m1();
    let training_h = renewal_h * (1.0 - restarting_share);
    let planned = fm.planned_per_hour * training_h;
    let running_h = renewal_h + planned * (restart_h + land_h);
    let wall_h = running_h / avail.max(1e-12);
    let analytic = (work_hours / wall_h).min(1.0);
    let expected_events = renewal_h * (fm.unexpected_per_hour() + fm.planned_per_hour);
    if !(expected_events.is_finite() && expected_events <= MC_MAX_EVENTS) {
        let ettr = analytic.max(1e-6);
        let days = work_hours / ettr / 24.0;
        return RunProjection {
            job_mtbf_hours: mtbf_h,
            checkpoint_interval_min: tau_h * 60.0,
            interval_rule,
            min_interval_min,
            // Failures strike while the job runs, not in waits or planned restarts.
            interruptions: fm.unexpected_per_hour() * renewal_h,
            planned_interruptions: planned,
            ettr,
            ettr_expected: ettr,
            days_p10: days,
            days_p50: days,
            days_p90: days,
            days_mean: days,
            spare_wait_hours: days * 24.0 * (1.0 - avail),
            checkpoint: ck,
            spare_gpus,
            monte_carlo: false,
        };
    }
    // Each trial draws from its own stream (the seed and the trial's index), so trials
    // run in parallel and the answer does not depend on the thread count. The first
    // batch is the trials asked for; while the mean's standard error is over
    // MC_TARGET_SE, batches as large again follow, within the event budget and
    // MC_MAX_BATCHES batches.
    let affordable = ((MC_EVENT_BUDGET / expected_events.max(1.0)) as u32).max(MC_MIN_TRIALS);
    let batch = affordable
        .clamp(MC_MIN_TRIALS, cfg.trials.max(MC_MIN_TRIALS))
        .min(cfg.trials);
    let most = affordable
        .min(batch.saturating_mul(MC_MAX_BATCHES))
        .max(batch);
    let task = crate::progress::begin(crate::progress::Stage::MonteCarlo, u64::from(batch));
    let run_trials = |from: u32, to: u32| -> Vec<TrialOutcome> {
        (from..to)
            .into_par_iter()
            .map(|i| {
                task.tick(1);
                let mut rng = SplitMix64::new(crate::rng::mix64(
                    cfg.seed ^ crate::rng::mix64(u64::from(i)),
                ));
                trial(
                    &mut rng,
                    work_hours,
                    Checkpoints {
                        tau_h,
                        stall_h,
                        land_h,
                    },
                    restart_h,
                    &fm,
                    spares_nodes,
                    cfg.repair_hours,
                )
            })
            .collect()
    };
    let mut outcomes = run_trials(0, batch);
    while outcomes.len() < most as usize && !precise(&outcomes) {
        let from = outcomes.len() as u32;
        outcomes.extend(run_trials(from, (from + batch).min(most)));
    }
    let trials = outcomes.len();
    let mut walls: Vec<f64> = outcomes.iter().map(|o| o.wall_h).collect();
    let exposed: f64 = outcomes.iter().map(|o| o.exposed_h).sum();
    let waited: f64 = outcomes.iter().map(|o| o.waited_h).sum();
    let trained: f64 = outcomes.iter().map(|o| o.trained_h).sum();
    let n = trials as f64;
    let mean_wall = walls.iter().sum::<f64>() / n;
    walls.sort_by(f64::total_cmp);
    let q = |p: f64| {
        walls[((p * (walls.len() - 1) as f64).round() as usize).min(walls.len() - 1)] / 24.0
    };
    let days_p50 = q(0.5);
    RunProjection {
        job_mtbf_hours: mtbf_h,
        checkpoint_interval_min: tau_h * 60.0,
        interval_rule,
        min_interval_min,
        interruptions: fm.unexpected_per_hour() * exposed / n,
        planned_interruptions: fm.planned_per_hour * trained / n,
        ettr: (work_hours / mean_wall).min(1.0),
        ettr_expected: analytic,
        days_p10: q(0.1),
        days_p50,
        days_p90: q(0.9),
        days_mean: mean_wall / 24.0,
        spare_wait_hours: waited / n,
        checkpoint: ck,
        spare_gpus,
        monte_carlo: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_reproduces_llama3() {
        let fm = FailureModel::for_job(16_384, 8);
        let unexpected = fm.unexpected_per_hour() * 54.0 * 24.0;
        assert!((unexpected - 419.0).abs() < 1e-9, "{unexpected}");
        assert!((fm.planned_per_hour * 54.0 * 24.0 - 47.0).abs() < 1e-9);
        // 3.09 h MTBF (facts.md §6.1); ~30 min at 100k GPUs.
        assert!((fm.job_mtbf_hours() - 3.093).abs() < 0.01);
        let big = FailureModel::for_job(100_000, 8);
        assert!(
            (big.job_mtbf_hours() * 60.0 - 30.4).abs() < 1.0,
            "{}",
            big.job_mtbf_hours() * 60.0
        );
    }

    #[test]
    fn young_and_daly_match_the_sources() {
        // facts.md §6.4: M = 30.4 min, δ = 10 s -> τ ≈ 191 s (Young); δ = 60 s -> 468 s.
        assert!((young_interval(10.0, 30.4 * 60.0) - 191.0).abs() < 1.0);
        assert!((young_interval(60.0, 30.4 * 60.0) - 468.0).abs() < 1.5);
        // Daly's worked example (R = 10, δ = 5 min): M = 24 h -> 117 min; 6 h -> 57 min.
        assert!(
            (daly_interval(5.0, 24.0 * 60.0) - 117.0).abs() < 1.5,
            "{}",
            daly_interval(5.0, 1440.0)
        );
        assert!(
            (daly_interval(5.0, 6.0 * 60.0) - 57.0).abs() < 1.5,
            "{}",
            daly_interval(5.0, 360.0)
        );
        assert_eq!(daly_interval(100.0, 40.0), 40.0);
    }

    #[test]
    fn monte_carlo_converges_to_the_analytic_ettr() {
        let cfg = ReliabilityConfig {
            trials: 400,
            spare_gpus: Some(1_000_000),
            ..Default::default()
        };
        // Plenty of spares: the MC mean should match the analytic expectation closely.
        let p = project_run(24.0 * 30.0, 10.0, 70e9 * 14.0, 16_384, 8, 1_000_000, &cfg);
        assert!(
            (p.ettr - p.ettr_expected).abs() < 0.02,
            "mc {} vs analytic {}",
            p.ettr,
            p.ettr_expected
        );
        assert!(p.days_p10 <= p.days_p50 && p.days_p50 <= p.days_p90);
    }

    /// One failure cause at `per_hour`, no planned interruptions.
    fn only_failures(per_hour: f64) -> FailureModel {
        FailureModel {
            rates: vec![(CAUSES[0], per_hour)],
            planned_per_hour: 0.0,
        }
    }

    /// The test oracle: a slow step-by-step trial (steps of `dt`) with its own
    /// bookkeeping, for the event-jumping [`trial`] to match. Checkpoints every `ck.tau_h`
    /// of work stall for `ck.stall_h` (a failure then loses the checkpoint) and land
    /// `ck.land_h` later (a failure before loses the work the checkpoint holds too).
    fn reference_trial(
        rng: &mut SplitMix64,
        work: f64,
        ck: Checkpoints,
        restart: f64,
        lam: f64,
        dt: f64,
    ) -> (f64, u64) {
        let p = -(-lam * dt).exp_m1();
        let (mut wall, mut done, mut since, mut failures) = (0.0, 0.0, 0.0, 0u64);
        let (mut stall_left, mut landing, mut land_left) = (0.0, 0.0, 0.0);
        while done < work - 1e-9 {
            wall += dt;
            land_left = f64::max(land_left - dt, 0.0);
            if rng.next_f64() < p {
                failures += 1;
                done -= since;
                if land_left > 1e-9 {
                    done -= landing;
                }
                (since, stall_left, land_left) = (0.0, 0.0, 0.0);
                let mut r = 0.0;
                while r < restart - 1e-9 {
                    wall += dt;
                    if rng.next_f64() < p {
                        failures += 1;
                        r = 0.0;
                    } else {
                        r += dt;
                    }
                }
                continue;
            }
            if stall_left > 1e-9 {
                stall_left -= dt;
                if stall_left <= 1e-9 {
                    (landing, since, land_left) = (since, 0.0, ck.land_h);
                }
                continue;
            }
            done += dt;
            since += dt;
            if since >= ck.tau_h - 1e-9 && done < work - 1e-9 {
                if ck.stall_h > 1e-9 {
                    stall_left = ck.stall_h;
                } else {
                    (landing, since, land_left) = (since, 0.0, ck.land_h);
                }
            }
        }
        (wall, failures)
    }

    /// Checkpoints every `tau_h` that neither stall nor land late.
    fn only_tau(tau_h: f64) -> Checkpoints {
        Checkpoints {
            tau_h,
            stall_h: 0.0,
            land_h: 0.0,
        }
    }

    /// A checkpoint is safe only once it has landed: a failure during a synchronous
    /// write (the stall) loses the checkpoint, and one during an asynchronous write loses
    /// the work that checkpoint holds. The event-jumping trial, the step-by-step oracle
    /// and the renewal formula (the landing as a longer restart) agree; a trial that took
    /// checkpoints as safe when begun would be far faster (helper-100: a 3.2 h
    /// synchronous write against a 3.1 h MTBF ran at 33% ETTR against the formula's 13%).
    #[test]
    fn a_checkpoint_is_safe_once_it_has_landed() {
        let fm = only_failures(1.0);
        let (work, restart, trials) = (40.0, 0.2, 400);
        for (ck, cfg_async) in [
            // Synchronous: the write is the stall, as long as half the MTBF.
            (
                Checkpoints {
                    tau_h: 1.0,
                    stall_h: 0.5,
                    land_h: 0.0,
                },
                false,
            ),
            // Asynchronous: a short stall, then 0.4 h landing behind training.
            (
                Checkpoints {
                    tau_h: 1.0,
                    stall_h: 0.01,
                    land_h: 0.4,
                },
                true,
            ),
        ] {
            let (mut fast, mut slow) = (0.0, 0.0);
            let mut rng = SplitMix64::new(21);
            for _ in 0..trials {
                fast += trial(&mut rng, work, ck, restart, &fm, 1 << 40, 1.0).wall_h;
            }
            let mut rng = SplitMix64::new(22);
            for _ in 0..trials {
                slow += reference_trial(&mut rng, work, ck, restart, 1.0, 0.002).0;
            }
            let (fast, slow) = (fast / trials as f64, slow / trials as f64);
            let cfg = ReliabilityConfig {
                async_checkpoint: cfg_async,
                ..Default::default()
            };
            let cost = CheckpointCost {
                size_bytes: 1.0,
                stall_s: ck.stall_h * 3600.0,
                write_s: (ck.stall_h + ck.land_h) * 3600.0,
                restart_s: restart * 3600.0,
                peer_copy_s: 0.0,
            };
            if cfg_async {
                assert_eq!(at_risk_after_stall_s(&cfg, &cost), cost.write_s);
            }
            let formula = work / renewal_ettr(ck.tau_h, &cfg, &cost, &only_failures(1.0));
            assert!((fast / slow - 1.0).abs() < 0.05, "{ck:?}: {fast} vs {slow}");
            assert!(
                (fast / formula - 1.0).abs() < 0.05,
                "{ck:?}: {fast} vs {formula}"
            );
            // Counting checkpoints as safe when they begin is 15% faster or more.
            let naive = work / ettr_expected(ck.tau_h, ck.stall_h, restart, 1.0, 0.0);
            let naive = if cfg_async {
                naive
            } else {
                work / ettr_expected(ck.tau_h, 0.0, restart, 1.0, 0.0)
                    * (1.0 + ck.stall_h / ck.tau_h)
            };
            assert!(fast > naive * 1.15, "{ck:?}: {fast} vs {naive}");
        }
    }

    #[test]
    fn failures_strike_restarts_too() {
        // A restart as long as the MTBF: half of them are struck. The event-jumping trial,
        // the slow step-by-step reference and the renewal formula agree, and the
        // interruptions are counted over the wall time, restarts included.
        let (work, tau, restart, mtbf) = (50.0, 0.5, 1.0, 1.0);
        let fm = only_failures(1.0 / mtbf);
        let trials = 300;
        let (mut fast_wall, mut fast_fails, mut fast_expected) = (0.0, 0.0, 0.0);
        let mut rng = SplitMix64::new(11);
        for _ in 0..trials {
            let o = trial(&mut rng, work, only_tau(tau), restart, &fm, 1 << 40, 1.0);
            assert_eq!(o.waited_h, 0.0);
            fast_wall += o.wall_h / trials as f64;
            fast_fails += o.failures as f64 / trials as f64;
            fast_expected += o.exposed_h / mtbf / trials as f64;
        }
        let (mut slow_wall, mut slow_fails) = (0.0, 0.0);
        let mut rng = SplitMix64::new(12);
        for _ in 0..trials {
            let (w, f) = reference_trial(&mut rng, work, only_tau(tau), restart, 1.0 / mtbf, 0.002);
            slow_wall += w / trials as f64;
            slow_fails += f as f64 / trials as f64;
        }
        let analytic = work / ettr_expected(tau, 0.0, restart, mtbf, 0.0);
        for (name, wall) in [("fast", fast_wall), ("reference", slow_wall)] {
            assert!(
                (wall / analytic - 1.0).abs() < 0.03,
                "{name} {wall} h vs {analytic} h"
            );
        }
        assert!(
            (fast_fails / slow_fails - 1.0).abs() < 0.05,
            "{fast_fails} vs {slow_fails}"
        );
        // Failures arrive at 1/MTBF over the whole wall time.
        assert!(
            (fast_fails / (fast_wall / mtbf) - 1.0).abs() < 0.05,
            "{fast_fails} in {fast_wall} h"
        );
        // The count reported, the rate over the hours exposed (no waits or planned
        // restarts here), is the count drawn in expectation.
        assert!(
            (fast_expected / fast_fails - 1.0).abs() < 0.05,
            "{fast_expected} vs {fast_fails} drawn"
        );
        // Without failures in restarts the run would be shorter: e^{u/M} vs 1 + u/M.
        let no_restart_failures = work / (tau / (((tau / mtbf).exp_m1()) * (mtbf + restart)));
        assert!(
            fast_wall > no_restart_failures * 1.1,
            "{fast_wall} vs {no_restart_failures}"
        );
    }

    /// With waits for repairs (no spare server) and planned restarts, the rate over the
    /// hours exposed is still the count drawn, in expectation; over the wall time it
    /// would count failures in hours none can strike.
    #[test]
    fn interruptions_are_the_rate_over_the_hours_exposed() {
        let fm = FailureModel {
            rates: vec![(CAUSES[0], 0.05)],
            planned_per_hour: 0.02,
        };
        assert!(fm.spare_fraction() > 0.0);
        let trials = 10000;
        let (mut drawn, mut expected, mut over_wall, mut waited) = (0.0, 0.0, 0.0, 0.0);
        let (mut planned, mut planned_expected) = (0.0, 0.0);
        let mut rng = SplitMix64::new(5);
        for _ in 0..trials {
            let ck = Checkpoints {
                stall_h: 0.01,
                ..only_tau(1.0)
            };
            let o = trial(&mut rng, 100.0, ck, 2.0, &fm, 0, 24.0);
            drawn += o.failures as f64 / trials as f64;
            expected += 0.05 * o.exposed_h / trials as f64;
            over_wall += 0.05 * o.wall_h / trials as f64;
            waited += o.waited_h / trials as f64;
            planned += o.planned as f64 / trials as f64;
            planned_expected += 0.02 * o.trained_h / trials as f64;
        }
        assert!(waited > 10.0, "{waited} h waited");
        assert!(
            (expected / drawn - 1.0).abs() < 0.03,
            "{expected} vs {drawn} drawn"
        );
        assert!(over_wall > drawn * 1.1, "{over_wall} vs {drawn}");
        // Planned interruptions come only while the job trains: their rate over those
        // hours is the count drawn; over the wall time (repairs waited for included)
        // it would overcount.
        assert!(
            (planned_expected / planned - 1.0).abs() < 0.03,
            "{planned_expected} vs {planned} drawn"
        );
        let planned_over_wall = over_wall * 0.02 / 0.05;
        assert!(
            planned_over_wall > planned * 1.1,
            "{planned_over_wall} vs {planned}"
        );
    }

    #[test]
    fn the_monte_carlo_and_the_analytic_agree_on_spares() {
        // 16,384 GPUs, 30 days of work: from no spare server (each failure that takes
        // one out waits a whole repair) to more than enough.
        let cfg = ReliabilityConfig {
            trials: 100,
            ..Default::default()
        };
        for spare_servers in [0u64, 4, 16, 64, 512] {
            let r = project_run(
                24.0 * 30.0,
                10.0,
                70e9 * 14.0,
                16_384,
                8,
                spare_servers * 8,
                &cfg,
            );
            assert!(r.monte_carlo);
            assert!(
                (r.ettr - r.ettr_expected).abs() < 0.03,
                "{spare_servers} spares: MC {} vs analytic {}",
                r.ettr,
                r.ettr_expected
            );
        }
        // No spare: 1 / (1 + 5); Erlang B(2, 5) = 25 / 37; many spares: all the time.
        assert!((spare_availability(0.5, 10.0, 0) - 1.0 / 6.0).abs() < 1e-12);
        assert!((spare_availability(0.5, 10.0, 1) - 12.0 / 37.0).abs() < 1e-12);
        assert!(spare_availability(0.5, 10.0, 40) > 0.999_999);
    }

    #[test]
    fn running_out_of_spares_costs_time() {
        let cfg = ReliabilityConfig {
            trials: 50,
            ..Default::default()
        };
        let plenty = project_run(24.0 * 20.0, 10.0, 405e9 * 14.0, 100_000, 8, 100_000, &cfg);
        let none = project_run(24.0 * 20.0, 10.0, 405e9 * 14.0, 100_000, 8, 0, &cfg);
        assert!(
            none.days_p50 > plenty.days_p50 * 1.5,
            "{} vs {}",
            none.days_p50,
            plenty.days_p50
        );
        assert!(none.spare_wait_hours > 0.0 && plenty.spare_wait_hours == 0.0);
    }

    /// A run that waits for repaired servers (2,048 GPUs, two spare servers) has a long
    /// tail: the Monte Carlo runs more trials until the mean is known to MC_TARGET_SE, so
    /// that seeds agree on the ETTR to a few tenths of a point. 200 trials alone left
    /// them 2 points apart.
    #[test]
    fn a_long_tail_runs_trials_until_its_mean_is_known() {
        let at = |seed: u64, trials: u32| {
            let cfg = ReliabilityConfig {
                seed,
                trials,
                ..Default::default()
            };
            project_run(24.0 * 10.0, 5.0, 70e9 * 14.0, 2048, 8, 16, &cfg).ettr
        };
        let ettrs: Vec<f64> = (1..=4).map(|seed| at(seed, 200)).collect();
        let spread = ettrs.iter().copied().fold(f64::MIN, f64::max)
            - ettrs.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread < 0.006, "{ettrs:?}");
        // Those trials are the ones a larger first batch would run.
        assert!((at(1, 200) - at(1, 5000)).abs() < 0.006);
        // A narrow run stops at its first batch: more asked for, the same figures
        // but for the noise of more trials.
        let narrow = |trials| {
            let cfg = ReliabilityConfig {
                trials,
                ..Default::default()
            };
            project_run(24.0 * 20.0, 10.0, 405e9 * 14.0, 100_000, 8, 100_000, &cfg).days_mean
        };
        assert!((narrow(200) / narrow(1000) - 1.0).abs() < 0.005);
    }

    /// Past MC_MAX_EVENTS the analytic expectation stands in; it counts interruptions of
    /// both kinds over the same hours the trials do (planned ones while training, not in
    /// restarts), so a run ten times as long has ten times as many of each.
    #[test]
    fn the_analytic_fallback_counts_interruptions_as_the_trials_do() {
        let cfg = ReliabilityConfig::default();
        let per_work_day = |days: f64| {
            let r = project_run(24.0 * days, 5.6, 405e9 * 14.0, 98_304, 8, 1_696, &cfg);
            (
                r.monte_carlo,
                r.interruptions / days,
                r.planned_interruptions / days,
            )
        };
        let (mc, unexpected, planned) = per_work_day(130.0);
        let (fallback, unexpected_far, planned_far) = per_work_day(1300.0);
        assert!(mc && !fallback);
        assert!(
            (unexpected_far / unexpected - 1.0).abs() < 0.02,
            "{unexpected} {unexpected_far}"
        );
        assert!(
            (planned_far / planned - 1.0).abs() < 0.02,
            "{planned} {planned_far}"
        );
        // The ETTR does not step at the switch: the analytic one counts planned restarts
        // over the hours training too (it had read 69.3% against the trials' 70.0%).
        let run = |days: f64| project_run(24.0 * days, 5.6, 405e9 * 14.0, 98_304, 8, 1_696, &cfg);
        let (near, far) = (run(130.0), run(1300.0));
        assert!(
            (near.ettr - far.ettr).abs() < 0.003,
            "{} {}",
            near.ettr,
            far.ettr
        );
        assert!((near.ettr - near.ettr_expected).abs() < 0.003);
    }

    #[test]
    fn same_seed_same_answer() {
        let cfg = ReliabilityConfig {
            trials: 20,
            seed: 7,
            ..Default::default()
        };
        let a = project_run(500.0, 5.0, 405e9 * 14.0, 98_304, 8, 1_696, &cfg);
        let b = project_run(500.0, 5.0, 405e9 * 14.0, 98_304, 8, 1_696, &cfg);
        assert_eq!(a, b);
    }

    #[test]
    fn failures_outpacing_checkpoints_lose_only_uncheckpointed_work() {
        // A step (the shortest checkpoint interval) as long as the job's MTBF: the
        // Monte Carlo still converges to the exact renewal ETTR, and goes forward.
        let cfg = ReliabilityConfig {
            trials: 400,
            ..Default::default()
        };
        let fm = FailureModel::for_job(98_304, 8);
        let step_s = fm.job_mtbf_hours() * 3600.0;
        let p = project_run(24.0 * 10.0, step_s, 405e9 * 14.0, 98_304, 8, 1_696, &cfg);
        assert!(p.monte_carlo);
        assert!(p.ettr > 0.1 && p.ettr < 0.6, "{}", p.ettr);
        assert!(
            (p.ettr - p.ettr_expected).abs() < 0.05,
            "{} vs {}",
            p.ettr,
            p.ettr_expected
        );
        // Each checkpoint is a step: a checkpoint interval below a step is rounded up.
        let short = ReliabilityConfig {
            checkpoint_interval_min: Some(1e-9),
            ..cfg.clone()
        };
        let q = project_run(24.0, 5.0, 405e9 * 14.0, 98_304, 8, 1_696, &short);
        assert!((q.checkpoint_interval_min - 5.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn the_analytic_run_prices_its_last_segment_as_its_own_length() {
        // 16,384 GPUs (a 3.1 h MTBF), 16 h of work, a checkpoint every 12 h: a 12 h
        // segment and a 4 h one. Priced as 16/12 segments of 12 h, the analytic ETTR
        // read 14.5% against the trials' 17.9%; each at its own length, they agree.
        let r = sixteen_hours_on_16k_gpus(12.0 * 60.0);
        assert!(r.monte_carlo);
        assert!(
            (r.ettr_expected / r.ettr - 1.0).abs() < 0.06,
            "{} vs {}",
            r.ettr_expected,
            r.ettr
        );
    }

    /// 16 h of Llama 3 405B work on 16,384 GPUs (30 s steps, spares aplenty), with a
    /// checkpoint every `interval_min`, over 2,000 trials.
    fn sixteen_hours_on_16k_gpus(interval_min: f64) -> RunProjection {
        let cfg = ReliabilityConfig {
            checkpoint_interval_min: Some(interval_min),
            trials: 2_000,
            ..ReliabilityConfig::default()
        };
        project_run(16.0, 30.0, 405e9 * 14.0, 16_384, 8, 1 << 20, &cfg)
    }

    #[test]
    fn a_run_of_few_segments_is_priced_as_the_run_it_is() {
        // No planned stop, one segment: the renewal formula's own time, exactly.
        let cfg = ReliabilityConfig::default();
        let ck = CheckpointCost {
            size_bytes: 1.0,
            stall_s: 36.0,
            write_s: 36.0,
            restart_s: 600.0,
            peer_copy_s: 0.0,
        };
        let fm = only_failures(0.5);
        let one = finite_run_hours(3.0, 10.0, &cfg, &ck, &fm);
        let restart = (ck.restart_s + at_risk_after_stall_s(&cfg, &ck)) / 3600.0;
        let formula = (3.0f64 / 2.0).exp_m1() * 2.0 * (restart / 2.0).exp();
        assert!((one / formula - 1.0).abs() < 1e-9, "{one} vs {formula}");
        // 16,384 GPUs, 16 h of work, no checkpoint within it: planned stops are the only
        // ones. The trials and the analytic run agree (the renewal formula read 10.9%
        // against 15.5%).
        let r = sixteen_hours_on_16k_gpus(40.0 * 1440.0);
        assert!(
            (r.ettr_expected / r.ettr - 1.0).abs() < 0.03,
            "{} vs {}",
            r.ettr_expected,
            r.ettr
        );
    }

    #[test]
    fn planned_stops_checkpoint_so_the_analytic_ettr_counts_them() {
        // An interval three MTBFs long, and a planned stop every five MTBFs on average:
        // the trials (each planned stop checkpoints first) and the renewal formula agree,
        // and both keep far more than the fixed-interval formula, which ignores them.
        let (mtbf, tau, restart, work) = (1.0, 3.0, 0.05, 400.0);
        let fm = FailureModel {
            rates: vec![(CAUSES[0], 1.0 / mtbf)],
            planned_per_hour: 0.2,
        };
        let ck = Checkpoints {
            tau_h: tau,
            stall_h: 0.01,
            land_h: 0.0,
        };
        let trials = 200;
        let mut rng = SplitMix64::new(5);
        let (mut wall, mut planned_h) = (0.0, 0.0);
        for _ in 0..trials {
            let o = trial(&mut rng, work, ck, restart, &fm, 1 << 40, 1.0);
            wall += o.wall_h / trials as f64;
            planned_h += o.planned as f64 * (ck.stall_h + restart) / trials as f64;
        }
        // The trials' time less the planned stops' stalls and restarts, which the
        // formula leaves to the caller.
        let trials_ettr = work / (wall - planned_h);
        let formula = ettr_expected(tau, ck.stall_h, restart, mtbf, 0.2);
        let fixed = ettr_expected(tau, ck.stall_h, restart, mtbf, 0.0);
        assert!(
            (trials_ettr / formula - 1.0).abs() < 0.04,
            "{trials_ettr} vs {formula}"
        );
        assert!(formula > 1.5 * fixed, "{formula} vs {fixed}");
        // None planned: the fixed-interval formula exactly.
        let none = ettr_expected(tau, ck.stall_h, restart, mtbf, 0.0);
        let by_hand = tau / (((tau + ck.stall_h) / mtbf).exp_m1() * mtbf * (restart / mtbf).exp());
        assert!((none / by_hand - 1.0).abs() < 1e-12, "{none} vs {by_hand}");
    }

    #[test]
    fn the_exact_ettr_matches_kokolis_to_first_order() {
        // τ = 1 h, δ = 1 min, u0 = 10 min, M = 100 h: the first-order form of facts.md §6.2.
        let (tau, delta, u0, m) = (1.0, 1.0 / 60.0, 10.0 / 60.0, 100.0);
        let kokolis = (1.0 - (u0 + tau / 2.0) / m) / (1.0 + delta / tau);
        assert!((ettr_expected(tau, delta, u0, m, 0.0) - kokolis).abs() < 1e-3);
        // A segment far longer than the MTBF: almost no progress, and no NaN.
        assert!(ettr_expected(1e4, 0.0, 0.1, 1.0, 0.0) < 1e-12);
    }

    #[test]
    fn interval_is_bounded_by_storage_then_by_the_peer_copy() {
        // 1e12 parameters: 14 TB, 7 s at 2 TB/s; 10,000 GPUs, 1.4 GB a shard.
        let cfg = ReliabilityConfig::default();
        let ck = checkpoint_cost(1e12 * 14.0, 10_000, &cfg);
        assert!((ck.write_s - 7.0).abs() < 1e-9);
        // A 1 s step and a 30 min MTBF: Daly wants ~9.6 s (stall 25 ms), storage allows
        // one every 7 s / 25% = 28 s: 28 steps.
        let (h, rule) = checkpoint_interval(&cfg, &ck, 1.0, &only_failures(2.0));
        assert_eq!(rule, IntervalRule::Storage);
        assert!((h * 3600.0 - 28.0).abs() < 1e-6, "{}", h * 3600.0);
        // In memory: 1.4 GB over 50 GB/s is 28 ms, / 25% = 112 ms: Daly's 9.6 s stands,
        // rounded up to 10 steps.
        let mem = ReliabilityConfig {
            restore_from_memory: true,
            ..cfg.clone()
        };
        let (h, rule) = checkpoint_interval(
            &mem,
            &checkpoint_cost(1e12 * 14.0, 10_000, &mem),
            1.0,
            &only_failures(2.0),
        );
        assert_eq!(rule, IntervalRule::Daly);
        assert!((h * 3600.0 - 10.0).abs() < 1e-6, "{}", h * 3600.0);
        // A step longer than all of them: every step.
        let (h, rule) = checkpoint_interval(
            &mem,
            &checkpoint_cost(1e12 * 14.0, 10_000, &mem),
            60.0,
            &only_failures(2.0),
        );
        assert_eq!(rule, IntervalRule::Step);
        assert!((h * 3600.0 - 60.0).abs() < 1e-6);
        // A long MTBF: Daly's optimum wins, in whole steps.
        let (h, rule) = checkpoint_interval(&cfg, &ck, 1.0, &only_failures(1e-3));
        assert_eq!(rule, IntervalRule::Daly);
        assert_eq!((h * 3600.0).fract(), 0.0);
        // Set: rounded up to whole steps.
        let set = ReliabilityConfig {
            checkpoint_interval_min: Some(0.5 / 60.0),
            ..cfg
        };
        let (h, rule) = checkpoint_interval(&set, &ck, 1.0, &only_failures(2.0));
        assert_eq!(rule, IntervalRule::Set);
        assert!((h * 3600.0 - 1.0).abs() < 1e-9);
    }
}
