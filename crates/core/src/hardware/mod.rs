//! Hardware catalog: GPUs and NICs, with the source of every number.
//!
//! Sources are abbreviated as in `shared/reference/facts.md` (section numbers given).

use crate::error::{Error, Result};
use crate::units::{Bandwidth, Bytes, FlopRate, Watts, GIB, MIB};
use serde::Serialize;

/// GPU architecture generation; selects NCCL's tables and framework behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// A100 (sm80).
    Ampere,
    /// H100/H800/H200 (sm90).
    Hopper,
    /// B200 (sm100).
    Blackwell,
}

impl Generation {
    /// Whether TP communication overlaps its GEMMs by default. Transformer Engine's
    /// userbuffer overlap (Megatron `--tp-comm-overlap`) is what the published
    /// Hopper-era runs use; the A100-era runs (2021–2022) predate it.
    pub fn tp_comm_overlap_default(self) -> bool {
        !matches!(self, Generation::Ampere)
    }

    /// Whether FP8 GEMMs take every operand layout (TN, NT, NN), so that no transposed
    /// FP8 copy is needed: Blackwell; Hopper takes only TN (facts.md §8).
    pub fn fp8_native_layouts(self) -> bool {
        self == Generation::Blackwell
    }
}

/// One GPU model. Peaks are dense (no sparsity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuSpec {
    /// Catalog name, as used in case files.
    pub name: &'static str,
    /// Architecture generation.
    pub generation: Generation,
    /// Dense FP16/BF16 tensor-core peak.
    pub peak_bf16: FlopRate,
    /// Dense FP8 tensor-core peak (None where the GPU has no FP8).
    pub peak_fp8: Option<FlopRate>,
    /// Maximum achievable matmul FLOP/s (MAMF) as a fraction of the BF16 peak.
    pub mamf_bf16_fraction: f64,
    /// MAMF as a fraction of the FP8 peak.
    pub mamf_fp8_fraction: f64,
    /// A measured sustained BF16 GEMM rate under the power limit, as a fraction of the
    /// peak, where one is published: it replaces MAMF x the sustained factor the compute
    /// model otherwise assumes.
    pub sustained_bf16_fraction: Option<f64>,
    /// HBM capacity.
    pub hbm_capacity: Bytes,
    /// HBM bandwidth (spec).
    pub hbm_bandwidth: Bandwidth,
    /// NVLink bandwidth per direction (spec).
    pub nvlink_bw_per_dir: Bandwidth,
    /// NVLink bandwidth per direction as NCCL's topology search sees it
    /// (links x per-link constant of `src/graph/topo.h`).
    pub nccl_nvlink_bw: Bandwidth,
    /// Thermal design power.
    pub tdp: Watts,
    /// Streaming multiprocessors (for GEMM wave quantization).
    pub sms: u32,
    /// The most GPUs of this model one NVLink domain joins in the systems built of it:
    /// 8 on an HGX board (A100, H100, H800, H200, B200: facts.md §2.2), 72 in a GB200
    /// NVL72 rack ([NVL72RA]). A cluster with more GPUs a server than this is warned
    /// about, not refused (NVIDIA's NVLink Switch System joined 256 H100s ⚠, rarely
    /// built).
    pub nvlink_domain_gpus: u32,
    /// GPUs behind one host (CPUs, memory, an OS) in the systems built of it: the whole
    /// 8-GPU HGX server, or a GB200 NVL72's compute tray of 4 (2 Grace + 4 Blackwell,
    /// facts.md §11). A cluster's hosts default to it.
    pub gpus_per_host: u32,
    /// What the systems built of it draw besides the GPUs and NICs, per GPU, W (CPUs,
    /// memory, NVLink switches, drives, fans): a cluster's `host_w_per_node` defaults to
    /// it times the GPUs a server.
    pub host_w_per_gpu: f64,
    /// Whether the systems built of it are liquid-cooled only: GB200's compute trays
    /// hold their GPUs and CPUs on cold plates ([GBUG], facts.md §11); HGX boards ship
    /// air-cooled too.
    pub liquid_only: bool,
}

impl GpuSpec {
    /// The dense tensor peak for a precision of the GEMMs.
    pub fn peak(&self, fp8: bool) -> FlopRate {
        match (fp8, self.peak_fp8) {
            (true, Some(p)) => p,
            _ => self.peak_bf16,
        }
    }
}

const TB: f64 = 1e12;
const GB: f64 = 1e9;

/// The GPU catalog.
/// A100's sustained BF16 GEMM rate: an 8192³ matmul of random data runs at 257 TFLOP/s,
/// clocked down by the 400 W power limit (all-zero inputs, which draw less, 295): 0.824
/// of the 312 peak (facts.md §9, Horace He, "strangely, matrix multiplications..."; the
/// GPU is inferred to be an A100 from its "83% of peak" ⚠).
pub const A100_SUSTAINED_BF16: f64 = 257.0 / 312.0;

///
/// - H100 SXM5: dense BF16 989.4, FP8 1,978.9 TFLOP/s; 80 GB HBM3 at 3.35 TB/s; NVLink 4
///   900 GB/s bidirectional = 450 GB/s per direction; 700 W. facts.md §2.1 (Klockwood,
///   hpctech). MAMF BF16 80.3%, FP8 70.9%: facts.md §2.4 (ml-engineering @744d01e1).
///   NCCL sees 18 links x `SM90_NVLINK_BW` 20.6 = 370.8 GB/s: facts.md §3.3.
/// - H800 SXM5: the H100 die with NVLink cut to 8 links = 400 GB/s bidirectional
///   (NVIDIA H800 datasheet; not in facts.md ⚠). Compute and memory as H100.
/// - H200 SXM: same GH100 compute; 141 GB HBM3e at 4.8 TB/s; NVLink 900 GB/s; 700 W.
///   facts.md §2.3. MAMF BF16 taken as GH200's 83.8%, FP8 73.4% (H200 row): facts.md §2.4.
/// - A100 SXM4 80GB: dense BF16 312 TFLOP/s, no FP8; HBM2e 2.039 TB/s; NVLink 3 600 GB/s
///   bidirectional = 300 per direction, 12 links; 400 W (NVIDIA A100 datasheet ⚠ not in
///   facts.md). NCCL: 12 x `SM80_NVLINK_BW` 20.0 = 240 GB/s (facts.md §3.3).
///   MAMF 86.9% (ml-engineering MAMF table, A100 SXM row ⚠ not copied into facts.md);
///   the sustained GEMM ceiling is measured instead: [`A100_SUSTAINED_BF16`].
/// - B200: dense BF16 2,250, FP8 4,500 TFLOP/s; 180 GB HBM3e at 7.7 TB/s; NVLink 5
///   1.8 TB/s bidirectional; 1,000 W. facts.md §2.3. MAMF BF16 77.6%, FP8 76.3%: §2.4.
///   NCCL: 18 x `SM100_NVLINK_BW` 40.1 = 721.8 GB/s (facts.md §3.3).
///
/// - GB200 (the B200 of a GB200 NVL72, 1,200 W): dense BF16 2,500, FP8 5,000 TFLOP/s ⚠;
///   186 GB HBM3e as software sees it, at 8 TB/s ⚠; NVLink 5 as B200. facts.md §11.
///   MAMF and SMs as B200 ⚠.
///
/// HBM capacities are what nvidia-smi reports, which the parts' names round: 81,559 MiB
/// (79.6 GiB) for the 80 GB parts, 143,771 MiB for H200 "141 GB", 183,359 MiB (179.1
/// GiB) for B200 "180 GB" ⚠ (from memory of public nvidia-smi logs, not in facts.md);
/// GB200's 186 GiB is taken at face value ⚠.
/// SMs: A100 108, H100/H200 132 (facts.md §2.1), B200 148 ⚠ (NVIDIA Blackwell brief).
pub fn gpu_catalog() -> &'static [GpuSpec] {
    static CATALOG: std::sync::OnceLock<Vec<GpuSpec>> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        vec![
            GpuSpec {
                name: "A100-SXM4-80GB",
                generation: Generation::Ampere,
                peak_bf16: FlopRate(312.0 * TB),
                peak_fp8: None,
                mamf_bf16_fraction: 0.869,
                mamf_fp8_fraction: 0.869,
                sustained_bf16_fraction: Some(A100_SUSTAINED_BF16),
                hbm_capacity: Bytes(80.0 * GIB),
                hbm_bandwidth: Bandwidth(2.039 * TB),
                nvlink_bw_per_dir: Bandwidth(300.0 * GB),
                nccl_nvlink_bw: Bandwidth(12.0 * 20.0 * GB),
                tdp: Watts(400.0),
                sms: 108,
                nvlink_domain_gpus: 8,
                gpus_per_host: 8,
                host_w_per_gpu: crate::power::HOST_W_PER_GPU,
                liquid_only: false,
            },
            GpuSpec {
                name: "H100-SXM5-80GB",
                generation: Generation::Hopper,
                peak_bf16: FlopRate(989.4 * TB),
                peak_fp8: Some(FlopRate(1978.9 * TB)),
                mamf_bf16_fraction: 0.803,
                mamf_fp8_fraction: 0.709,
                sustained_bf16_fraction: None,
                // What the driver leaves to CUDA: nvidia-smi's 81,559 MiB total, not the 80 GiB
                // of HBM3 stacks ⚠ (as nvidia-smi commonly shows it; not in facts.md).
                hbm_capacity: Bytes(81_559.0 * MIB),
                hbm_bandwidth: Bandwidth(3.35 * TB),
                nvlink_bw_per_dir: Bandwidth(450.0 * GB),
                nccl_nvlink_bw: Bandwidth(18.0 * 20.6 * GB),
                tdp: Watts(700.0),
                sms: 132,
                nvlink_domain_gpus: 8,
                gpus_per_host: 8,
                host_w_per_gpu: crate::power::HOST_W_PER_GPU,
                liquid_only: false,
            },
            GpuSpec {
                name: "H800-SXM5-80GB",
                generation: Generation::Hopper,
                peak_bf16: FlopRate(989.4 * TB),
                peak_fp8: Some(FlopRate(1978.9 * TB)),
                mamf_bf16_fraction: 0.803,
                mamf_fp8_fraction: 0.709,
                sustained_bf16_fraction: None,
                // As H100's: the same HBM3 and driver (81,559 MiB ⚠).
                hbm_capacity: Bytes(81_559.0 * MIB),
                hbm_bandwidth: Bandwidth(3.35 * TB),
                nvlink_bw_per_dir: Bandwidth(200.0 * GB),
                nccl_nvlink_bw: Bandwidth(8.0 * 20.6 * GB),
                tdp: Watts(700.0),
                sms: 132,
                nvlink_domain_gpus: 8,
                gpus_per_host: 8,
                host_w_per_gpu: crate::power::HOST_W_PER_GPU,
                liquid_only: false,
            },
            GpuSpec {
                name: "H200-SXM-141GB",
                generation: Generation::Hopper,
                peak_bf16: FlopRate(989.4 * TB),
                peak_fp8: Some(FlopRate(1978.9 * TB)),
                mamf_bf16_fraction: 0.838,
                mamf_fp8_fraction: 0.734,
                sustained_bf16_fraction: None,
                // nvidia-smi's 143,771 MiB total (the "141 GB" of the spec sheet) ⚠.
                hbm_capacity: Bytes(143_771.0 * MIB),
                hbm_bandwidth: Bandwidth(4.8 * TB),
                nvlink_bw_per_dir: Bandwidth(450.0 * GB),
                nccl_nvlink_bw: Bandwidth(18.0 * 20.6 * GB),
                tdp: Watts(700.0),
                sms: 132,
                nvlink_domain_gpus: 8,
                gpus_per_host: 8,
                host_w_per_gpu: crate::power::HOST_W_PER_GPU,
                liquid_only: false,
            },
            GpuSpec {
                name: "B200",
                generation: Generation::Blackwell,
                peak_bf16: FlopRate(2250.0 * TB),
                peak_fp8: Some(FlopRate(4500.0 * TB)),
                mamf_bf16_fraction: 0.776,
                mamf_fp8_fraction: 0.763,
                sustained_bf16_fraction: None,
                hbm_capacity: Bytes(183_359.0 * MIB),
                hbm_bandwidth: Bandwidth(7.7 * TB),
                nvlink_bw_per_dir: Bandwidth(900.0 * GB),
                nccl_nvlink_bw: Bandwidth(18.0 * 40.1 * GB),
                tdp: Watts(1000.0),
                sms: 148,
                nvlink_domain_gpus: 8,
                gpus_per_host: 8,
                host_w_per_gpu: crate::power::HOST_W_PER_GPU,
                liquid_only: false,
            },
            GpuSpec {
                name: "GB200",
                generation: Generation::Blackwell,
                peak_bf16: FlopRate(2500.0 * TB),
                peak_fp8: Some(FlopRate(5000.0 * TB)),
                mamf_bf16_fraction: 0.776,
                mamf_fp8_fraction: 0.763,
                sustained_bf16_fraction: None,
                hbm_capacity: Bytes(186.0 * GIB),
                hbm_bandwidth: Bandwidth(8.0 * TB),
                nvlink_bw_per_dir: Bandwidth(900.0 * GB),
                nccl_nvlink_bw: Bandwidth(18.0 * 40.1 * GB),
                tdp: Watts(1200.0),
                sms: 148,
                nvlink_domain_gpus: 72,
                gpus_per_host: 4,
                // A rack besides its GPUs and NICs: ~120 kW per rack (facts.md §11,
                // ServeTheHome ⚠) less 72 GPUs at 1,200 W and 108 NICs at 25 W: 30.9 kW
                // for 36 Grace CPUs, 18 NVLink switch chips, memory, fans and conversion
                // ⚠ (an upper estimate: the rack figure is a maximum), over 72 GPUs.
                host_w_per_gpu: 30_900.0 / 72.0,
                liquid_only: true,
            },
        ]
    })
}

/// Looks a GPU up by catalog name (case-insensitive).
pub fn gpu(name: &str) -> Result<&'static GpuSpec> {
    gpu_catalog()
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::Unknown {
            kind: "gpu",
            name: name.to_string(),
            known: gpu_catalog()
                .iter()
                .map(|g| g.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A scale-out NIC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NicSpec {
    /// Catalog name.
    pub name: &'static str,
    /// Line rate in Gb/s.
    pub gbps: f64,
    /// Typical power.
    pub power: Watts,
}

/// NICs of 200, 400 and 800 Gb/s.
///
/// - 200G: ConnectX-6 HDR, as in DGX A100 (8 x 200G IB). Power ~ 15 W ⚠ (vendor
///   datasheets; not in facts.md).
/// - 400G: BlueField-3 B3140H SuperNIC / ConnectX-7 NDR, 400 Gb/s = 50 GB/s (facts.md §4).
///   Power ~ 25 W ⚠ (facts.md §7 says no primary source was found for BF-3 power).
/// - 800G: ConnectX-8 SuperNIC, 800 Gb/s. Power ~ 30 W ⚠ (estimate).
pub fn nic_catalog() -> &'static [NicSpec] {
    const NICS: [NicSpec; 3] = [
        NicSpec {
            name: "CX6-200G",
            gbps: 200.0,
            power: Watts(15.0),
        },
        NicSpec {
            name: "BF3-400G",
            gbps: 400.0,
            power: Watts(25.0),
        },
        NicSpec {
            name: "CX8-800G",
            gbps: 800.0,
            power: Watts(30.0),
        },
    ];
    &NICS
}

/// The NIC line rates a cluster may give, in words.
pub const NIC_GBPS_ALLOWED: &str =
    "a line rate from 1 to 3200 Gb/s per GPU (catalog: 200, 400, 800)";

/// The NIC for a line rate in Gb/s: the catalog's at 200, 400 and 800; any other rate
/// from 1 to 3,200 Gb/s (older or future clusters) gets a generic NIC whose power is
/// interpolated between the catalog's ⚠.
pub fn nic_for_gbps(gbps: f64) -> Result<NicSpec> {
    if let Some(n) = nic_catalog().iter().find(|n| n.gbps == gbps) {
        return Ok(n.clone());
    }
    if !(gbps.is_finite() && (1.0..=3200.0).contains(&gbps)) {
        return Err(Error::invalid("cluster.nic_gbps", gbps, NIC_GBPS_ALLOWED));
    }
    let power = (10.0 + gbps / 40.0).min(40.0);
    Ok(NicSpec {
        name: "generic",
        gbps,
        power: Watts(power),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_lookup() {
        let h = gpu("h100-sxm5-80gb").unwrap();
        assert_eq!(h.tdp, Watts(700.0));
        assert!((h.peak(true).tflops() - 1978.9).abs() < 1e-9);
        let a = gpu("A100-SXM4-80GB").unwrap();
        assert_eq!(
            a.peak(true),
            a.peak_bf16,
            "A100 has no FP8: falls back to BF16"
        );
        let err = gpu("Z9000").unwrap_err().to_string();
        assert!(
            err.contains("unknown gpu 'Z9000'") && err.contains("H100-SXM5-80GB"),
            "{err}"
        );
        assert_eq!(nic_for_gbps(400.0).unwrap().name, "BF3-400G");
        assert_eq!(nic_for_gbps(100.0).unwrap().name, "generic");
        assert!(nic_for_gbps(0.0).is_err());
        assert!(nic_for_gbps(f64::NAN).is_err());
    }
}
