//! Kernel cost model: a roofline whose compute ceiling depends on shape and precision.
//!
//! time = max(FLOPs / achievable FLOP/s, bytes / achievable HBM bandwidth).
//! The achievable FLOP/s of a GEMM is the GPU's measured maximum (MAMF) times a
//! sustained-training factor times two shape factors:
//! - wave quantization: output tiles of 128 x 256 are spread over the SMs in waves, and a
//!   partial last wave leaves SMs idle;
//! - the reduction length: each tile's main loop has a fixed prologue and epilogue, so a
//!   short k runs below the ceiling: k / (k + K_HALF).
//!
//! All constants are global; none is set per case.

use crate::hardware::{Generation, GpuSpec};
use crate::units::{Bandwidth, Bytes, FlopRate, Flops, Seconds};
use crate::workload::ops::Gemm;
use crate::workload::plan::{AttentionKernel, Fp8Recipe, BLOCKWISE_GEMM_SLOWDOWN_HOPPER};

/// MAMF is measured in short bursts at boost clock; a multi-hour training run sits at its
/// power limit and clocks lower, with other kernels in between. The sustained GEMM
/// ceiling of a typical GPU is taken as 0.85 of MAMF ⚠, consistent with H100's 700 W TDP
/// throttling the 1.98 GHz boost towards the 1.83 GHz tensor clock basis of the peak and
/// below (facts.md §2.1). It was 0.8, calibrated once, globally, against the public
/// training cases (A100 and H100 alike) when every job ran at a typical GPU's pace; now
/// that a job runs at its slowest GPU's ([`ComputeModel::synchronized_over`]), the same
/// calibration for one typical GPU is 0.8 times the geometric mean of that slowdown over
/// the public cases (1.061): 0.85. Re-expressed, not refitted. A GPU with a measured
/// sustained rate uses that instead (`GpuSpec::sustained_bf16_fraction`; A100's is 0.95
/// of its MAMF), and the 15 H100 cases alone keep this factor: their median error is
/// +0.1%, their mean -0.5%.
pub const SUSTAINED_FRACTION_OF_MAMF: f64 = 0.85;

/// Reduction length at which a GEMM reaches half its ceiling ⚠. Each output tile pays
/// a prologue (filling the multi-stage k pipeline) and an epilogue (converting and
/// storing the accumulators) worth a few k = 64 steps each; cuBLAS BF16 at M = N = 8192
/// reaches about 0.8 of its large-k rate at k = 1024 on H100, which puts the half point
/// near 256. Chosen from that reasoning, then checked (not fitted) on the public cases:
/// 128 to 384 moves their mean error by under 1 point.
pub const K_HALF: f64 = 256.0;

/// cuBLAS/CUTLASS output tile for large BF16 GEMMs on Ampere and Hopper: 128 x 256.
pub const TILE_M: f64 = 128.0;
/// See [`TILE_M`].
pub const TILE_N: f64 = 256.0;

/// Fused attention reaches 50–73% of peak forward on A100 (FlashAttention-2, Dao 2023,
/// §4.1) and 75% forward on H100 (FlashAttention-3, Shah et al. 2024); the backward runs
/// lower. 0.55 of the BF16 peak is taken for forward and backward together ⚠.
pub const ATTENTION_EFFICIENCY: f64 = 0.55;

/// How much longer FlashAttention-2 takes on Hopper than Hopper's own kernels, forward
/// and backward: FlashAttention-3 runs the forward "1.5-2.0x" faster (Shah et al. 2024,
/// arXiv 2407.08608, abstract; "only 35% utilization" for FlashAttention-2 against "up to
/// 75%") and the backward 1.5-1.75x (§4.1). The upper ends are taken ⚠: the speedups
/// grow with the sequence, and long sequences are where attention weighs in a step.
/// Applied to Blackwell as to Hopper ⚠.
pub const FLASH2_SLOWDOWN_HOPPER: AttentionPasses = AttentionPasses {
    forward: 2.0,
    backward: 1.75,
};

/// A factor for each pass of the fused attention kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionPasses {
    pub forward: f64,
    pub backward: f64,
}

/// One pass of the fused attention kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionPass {
    Forward,
    Backward,
}

/// Achievable HBM bandwidth for streaming kernels: 0.9 of spec (facts.md §2.4: 2.9–3.1
/// of 3.35 TB/s on H100, ⚠ an estimate).
pub const HBM_EFFICIENCY: f64 = 0.90;

/// GPU time each kernel costs beyond its work ⚠: the gap between two dependent kernels
/// on one stream (the next one's grid is scheduled only after the last block of the
/// previous one retires) plus a memory-bound kernel's ramp to full bandwidth and its
/// drain. An estimate of about 2 µs, not a measured constant; no source in facts.md.
/// It matters where kernels are short: small hidden sizes, small micro-batches.
pub const KERNEL_GAP_S: f64 = 2e-6;

/// Host time to issue one kernel from eager PyTorch ⚠ (Python, the dispatcher, the
/// launch call): about 8 µs, an estimate. The GPU cannot run a layer faster than the
/// host issues its kernels, so a layer with little work per kernel is host-bound. CUDA
/// graphs lift this floor; memphis does not model them.
pub const HOST_LAUNCH_S: f64 = 8e-6;

/// Job size at which PRISM measured GPU-time variability (facts.md §9: "9 % on a
/// frontier training job at 64k-GPU scale", arXiv 2510.15596).
pub const VARIABILITY_JOB_GPUS: u64 = 65_536;

/// That variability, read as how much slower the slowest GPU of the 64K-GPU job runs
/// than the typical one ⚠ (the abstract gives one figure; this reading is ours). With a
/// normal spread of per-GPU speed it sets the spread: σ = 0.09 / E[max of 64K standard
/// normals] ≈ 2.1 %. Consistent with PRISM's other figure (GEMM speed varies up to 14 %:
/// the expected range of about 1,500 such GPUs) and with Sinha et al. 2022 (8 % average
/// same-SKU variation, facts.md §9).
pub const SLOWEST_OF_VARIABILITY_JOB: f64 = 0.09;

/// Standard deviation of per-GPU speed, relative (see [`SLOWEST_OF_VARIABILITY_JOB`]).
pub fn gpu_speed_sigma() -> f64 {
    SLOWEST_OF_VARIABILITY_JOB / expected_max_of_normals(VARIABILITY_JOB_GPUS)
}

/// Expected maximum of `n` independent standard normals, by Blom's approximation
/// Φ⁻¹((n − 0.375) / (n + 0.25)) (Blom 1958; 4 % above the exact value at n = 2, 2 % at 4,
/// within 1 % from 10 on); 0 for one.
pub fn expected_max_of_normals(n: u64) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let n = n as f64;
    inverse_normal_cdf((n - 0.375) / (n + 0.25))
}

/// The `q` quantile (0 < q < 1) of the maximum of `n` independent standard normals:
/// P(max ≤ x) = Φ(x)ⁿ, so x = Φ⁻¹(q^(1/n)).
pub fn max_of_normals_quantile(n: u64, q: f64) -> f64 {
    inverse_normal_cdf(q.powf(1.0 / n.max(1) as f64))
}

/// Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation (relative error below 1.2e-9),
/// with one Halley step. Pure arithmetic: the same bytes everywhere.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The cost model of one GPU at one GEMM precision.
#[derive(Debug, Clone)]
pub struct ComputeModel<'a> {
    gpu: &'a GpuSpec,
    fp8: bool,
    /// Time multiplier of every kernel: the job's slowest GPU against a typical one.
    slowdown: f64,
    /// Time multiplier of FP8 GEMMs for the scaling recipe (1 but for blockwise on
    /// Hopper, whose GEMM is emulated).
    fp8_gemm_slowdown: f64,
    /// Time multiplier of the fused attention kernel's passes against
    /// [`ATTENTION_EFFICIENCY`] (1 but for FlashAttention-2 after Ampere).
    attention_slowdown: AttentionPasses,
}

impl<'a> ComputeModel<'a> {
    /// A model for `gpu`; `fp8` selects FP8 GEMMs where the GPU has them.
    pub fn new(gpu: &'a GpuSpec, fp8: bool) -> Self {
        let fp8 = fp8 && gpu.peak_fp8.is_some();
        ComputeModel {
            gpu,
            fp8,
            slowdown: 1.0,
            fp8_gemm_slowdown: 1.0,
            attention_slowdown: AttentionPasses {
                forward: 1.0,
                backward: 1.0,
            },
        }
    }

    /// Fused attention as `kernel` runs it: FlashAttention-2 [`FLASH2_SLOWDOWN_HOPPER`]
    /// slower than the native kernels after Ampere, for which it was written.
    pub fn with_attention(mut self, kernel: AttentionKernel) -> Self {
        if kernel == AttentionKernel::Flash2 && self.gpu.generation != Generation::Ampere {
            self.attention_slowdown = FLASH2_SLOWDOWN_HOPPER;
        }
        self
    }

    /// FP8 GEMMs as `recipe` runs them: Hopper emulates blockwise scaling in software
    /// ([`BLOCKWISE_GEMM_SLOWDOWN_HOPPER`]); Blackwell runs it as MXFP8 (facts.md §8).
    pub fn with_fp8_recipe(mut self, recipe: Fp8Recipe) -> Self {
        self.fp8_gemm_slowdown = match (recipe, self.gpu.generation) {
            (Fp8Recipe::Blockwise, Generation::Hopper) => BLOCKWISE_GEMM_SLOWDOWN_HOPPER,
            _ => 1.0,
        };
        self
    }

    /// The same GPU with BF16 GEMMs (what stays out of FP8), same job.
    pub fn bf16(&self) -> Self {
        ComputeModel {
            fp8: false,
            ..self.clone()
        }
    }

    /// The pace of a synchronous job over `gpus` GPUs. Every step waits for its slowest
    /// GPU: TP peers meet at each layer's collectives, pipeline stages at each send, and
    /// data-parallel replicas at the gradient reduction, so whichever GPU is slowest
    /// paces its stage, that stage its pipeline, and that pipeline the step. Per-GPU
    /// speed varies persistently (facts.md §9), so the job runs at the expected slowest
    /// of `gpus` draws: 1 + σ·E[max of n normals], which grows as √(2 ln n).
    pub fn synchronized_over(mut self, gpus: u64) -> Self {
        self.slowdown = 1.0 + gpu_speed_sigma() * expected_max_of_normals(gpus);
        self
    }

    /// The time multiplier [`Self::synchronized_over`] set (1 for one GPU).
    #[cfg(test)]
    pub fn slowdown(&self) -> f64 {
        self.slowdown
    }

    /// The sustained GEMM ceiling before shape effects: a measured sustained rate where
    /// the GPU has one, else MAMF x [`SUSTAINED_FRACTION_OF_MAMF`].
    pub fn gemm_ceiling(&self) -> FlopRate {
        let fraction = match (self.fp8, self.gpu.sustained_bf16_fraction) {
            (false, Some(measured)) => measured,
            (true, _) => self.gpu.mamf_fp8_fraction * SUSTAINED_FRACTION_OF_MAMF,
            (false, None) => self.gpu.mamf_bf16_fraction * SUSTAINED_FRACTION_OF_MAMF,
        };
        self.gpu.peak(self.fp8) * fraction
    }

    /// Fraction of the ceiling a GEMM of this shape reaches (0, 1].
    #[cfg(test)]
    pub fn shape_efficiency(&self, m: f64, n: f64, k: f64) -> f64 {
        self.batched_shape_efficiency(m, n, k, 1.0)
    }

    /// The same for a strided-batched GEMM of `batch` such products in one kernel
    /// (cuBLAS `gemmStridedBatched`): the output tiles of the whole batch share the waves.
    pub fn batched_shape_efficiency(&self, m: f64, n: f64, k: f64, batch: f64) -> f64 {
        // Libraries pick smaller tiles for skinny GEMMs: down to 16 in either dimension.
        let tile_m = TILE_M.min(m.max(1.0).log2().ceil().exp2()).max(16.0);
        let tile_n = TILE_N.min(n.max(1.0).log2().ceil().exp2()).max(16.0);
        let (tm, tn) = ((m / tile_m).ceil().max(1.0), (n / tile_n).ceil().max(1.0));
        let tiles = tm * tn * batch.max(1.0).ceil();
        let sms = self.gpu.sms as f64;
        let waves = (tiles / sms).ceil();
        let wave_eff = tiles / (waves * sms);
        // Partial tiles at the edges do full work for partial output.
        let tile_eff = (m * n) / (tm * tile_m * tn * tile_n);
        // The prologue and epilogue take the same time at any precision, while FP8's main
        // loop runs peak_fp8 / peak_bf16 times faster per k: its half point moves up.
        let k_half = K_HALF * (self.gpu.peak(self.fp8) / self.gpu.peak_bf16);
        let k_eff = k / (k + k_half);
        (wave_eff * tile_eff * k_eff).clamp(1e-6, 1.0)
    }

    /// Time of all of a GEMM's repetitions: one kernel each, or one grouped (or
    /// strided-batched) kernel whose tiles share the waves.
    pub fn gemm_time(&self, g: &Gemm) -> Seconds {
        if g.count <= 0.0 || g.m <= 0.0 {
            return Seconds::ZERO;
        }
        let batch = if g.grouped { g.count } else { 1.0 };
        let rate = self.gemm_ceiling() * self.batched_shape_efficiency(g.m, g.n, g.k, batch);
        let compute = g.flops() / rate;
        let memory = self.gemm_bytes(g) / self.hbm_bandwidth();
        let recipe = if self.fp8 {
            self.fp8_gemm_slowdown
        } else {
            1.0
        };
        compute.max(memory) * self.slowdown * recipe
    }

    /// Time of a GEMM's backward: the data gradient (m x n by n x k: the reduction runs
    /// over the output width) and the weight gradient (k x m by m x n: the reduction runs
    /// over the tokens), each priced at its own shape. A weight gradient over few tokens
    /// (an expert's share of a micro-batch) pays its tiles' prologue and epilogue over a
    /// short reduction, as [`K_HALF`] has it for any GEMM.
    pub fn gemm_backward_time(&self, g: &Gemm) -> Seconds {
        let data = Gemm {
            n: g.k,
            k: g.n,
            ..g.clone()
        };
        let weight = Gemm {
            m: g.k,
            k: g.m,
            ..g.clone()
        };
        self.gemm_time(&data) + self.gemm_time(&weight)
    }

    /// HBM bytes of all of a GEMM's repetitions at this model's operand precision.
    pub fn gemm_bytes(&self, g: &Gemm) -> Bytes {
        let elem = if self.fp8 { 1.0 } else { 2.0 };
        g.bytes(elem)
    }

    /// Time of one pass of the fused attention core for `flops` executed FLOPs (BF16
    /// either way).
    pub fn attention_time(&self, flops: Flops, pass: AttentionPass) -> Seconds {
        let kernel = match pass {
            AttentionPass::Forward => self.attention_slowdown.forward,
            AttentionPass::Backward => self.attention_slowdown.backward,
        };
        flops / (self.gpu.peak_bf16 * ATTENTION_EFFICIENCY) * (kernel * self.slowdown)
    }

    /// Achievable HBM bandwidth.
    pub fn hbm_bandwidth(&self) -> Bandwidth {
        self.gpu.hbm_bandwidth * HBM_EFFICIENCY
    }

    /// The time of a pass whose kernels take `work` on the GPU, `kernels` of them: each
    /// pays [`KERNEL_GAP_S`], and the pass is no faster than the host issues them
    /// ([`HOST_LAUNCH_S`] each).
    pub fn launched(&self, work: Seconds, kernels: f64) -> Seconds {
        let gaps = Seconds(kernels * KERNEL_GAP_S) * self.slowdown;
        (work + gaps).max(Seconds(kernels * HOST_LAUNCH_S))
    }

    /// Time of a memory-bound kernel moving `bytes`.
    pub fn memory_time(&self, bytes: Bytes) -> Seconds {
        bytes / self.hbm_bandwidth() * self.slowdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::gpu;

    #[test]
    fn big_gemms_approach_the_ceiling_small_ones_do_not() {
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let cm = ComputeModel::new(h100, false);
        let big = cm.shape_efficiency(16384.0, 16896.0, 16384.0);
        assert!(big > 0.95, "{big}");
        let skinny = cm.shape_efficiency(4096.0, 256.0, 256.0);
        assert!(skinny < 0.5, "{skinny}");
        // One tile more than a full wave nearly halves the efficiency of that GEMM.
        let full = cm.shape_efficiency(128.0 * 132.0, 256.0, 1e9);
        let over = cm.shape_efficiency(128.0 * 133.0, 256.0, 1e9);
        assert!(full > 0.99 && over < 0.52, "{full} {over}");
    }

    #[test]
    fn flash_attention_2_is_slower_only_after_ampere() {
        let f = Flops(1e15);
        // The FlashAttention-3 paper's forward and backward speedups, on Hopper only.
        for (name, pass, ratio) in [
            ("A100-SXM4-80GB", AttentionPass::Forward, 1.0),
            ("A100-SXM4-80GB", AttentionPass::Backward, 1.0),
            ("H100-SXM5-80GB", AttentionPass::Forward, 2.0),
            ("H100-SXM5-80GB", AttentionPass::Backward, 1.75),
        ] {
            let g = gpu(name).unwrap();
            let native = ComputeModel::new(g, false).with_attention(AttentionKernel::Fused);
            let fa2 = ComputeModel::new(g, false).with_attention(AttentionKernel::Flash2);
            let r = fa2.attention_time(f, pass) / native.attention_time(f, pass);
            assert!((r - ratio).abs() < 1e-12, "{name} {pass:?}: {r}");
        }
    }

    #[test]
    fn a_measured_sustained_rate_replaces_the_assumed_one() {
        // A100: the measured 257 TFLOP/s under its power limit (facts.md §9).
        let a100 = gpu("A100-SXM4-80GB").unwrap();
        let c = ComputeModel::new(a100, false).gemm_ceiling();
        assert!((c.0 - 257e12).abs() < 1e3, "{c:?}");
        // H100 has none: MAMF x the sustained factor.
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let c = ComputeModel::new(h100, false).gemm_ceiling();
        let assumed = 989.4e12 * 0.803 * SUSTAINED_FRACTION_OF_MAMF;
        assert!((c.0 / assumed - 1.0).abs() < 1e-12, "{c:?}");
    }

    #[test]
    fn short_kernels_pay_their_gaps_and_wait_for_the_host() {
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let cm = ComputeModel::new(h100, false);
        // Long kernels: each adds its gap to the work.
        let long = cm.launched(Seconds(1e-3), 10.0);
        assert!((long.0 - (1e-3 + 10.0 * KERNEL_GAP_S)).abs() < 1e-15);
        // Short ones: the host issues them no faster than HOST_LAUNCH_S apiece.
        let short = cm.launched(Seconds(1e-6), 10.0);
        assert_eq!(short, Seconds(10.0 * HOST_LAUNCH_S));
    }

    #[test]
    fn the_slowest_of_n_gpus_grows_as_extreme_values_do() {
        // Φ⁻¹ against known quantiles.
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959964),
            (0.999, 3.090232),
            (1e-6, -4.753424),
        ] {
            assert!((inverse_normal_cdf(p) - z).abs() < 1e-5, "{p}");
        }
        // Expected maxima of n standard normals (exact values: Harter 1961): 1.0294 (4),
        // 1.5388 (10), 2.5076 (100), 3.2414 (1000); Blom's within 2 %, then 1 %.
        for (n, e, tol) in [
            (4, 1.0294, 0.02),
            (10, 1.5388, 0.01),
            (100, 2.5076, 0.01),
            (1000, 3.2414, 0.01),
        ] {
            let got = expected_max_of_normals(n);
            assert!((got / e - 1.0).abs() < tol, "{n}: {got}");
        }
        assert_eq!(expected_max_of_normals(1), 0.0);
        // PRISM's 9 % at 64K GPUs comes back out, and a smaller job runs faster.
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let at = |n| {
            ComputeModel::new(h100, false)
                .synchronized_over(n)
                .slowdown()
        };
        assert!((at(65_536) - 1.09).abs() < 1e-9);
        assert_eq!(at(1), 1.0);
        let (a, b, c) = (at(16), at(2048), at(100_000));
        assert!(1.0 < a && a < b && b < c && c < 1.1, "{a} {b} {c}");
        // Every kernel slows alike.
        let g = Gemm {
            name: "big",
            m: 8192.0,
            n: 8192.0,
            k: 8192.0,
            count: 1.0,
            grouped: false,
        };
        let one = ComputeModel::new(h100, false);
        let many = ComputeModel::new(h100, false).synchronized_over(2048);
        assert!((many.gemm_time(&g) / one.gemm_time(&g) - b).abs() < 1e-12);
        assert!((many.memory_time(Bytes(1e9)) / one.memory_time(Bytes(1e9)) - b).abs() < 1e-12);
    }

    #[test]
    fn the_slowest_gpus_quantiles_bracket_its_mean() {
        for n in [2u64, 64, 4096, 100_000] {
            let (lo, hi) = (
                max_of_normals_quantile(n, 0.1),
                max_of_normals_quantile(n, 0.9),
            );
            let mean = expected_max_of_normals(n);
            assert!(lo < mean && mean < hi, "{n}: {lo} {mean} {hi}");
        }
        // One GPU: the normal's own deciles.
        assert!((max_of_normals_quantile(1, 0.9) - 1.281552).abs() < 1e-5);
        // The maximum concentrates as n grows (Gumbel scale 1/√(2 ln n)).
        let width = |n| max_of_normals_quantile(n, 0.9) - max_of_normals_quantile(n, 0.1);
        assert!(width(100_000) < width(64));
    }

    /// 64 fine-grained experts with 384 tokens each (DeepSeek-V2-Lite at EP1, a 4,096-token
    /// micro-batch, top-6): one expert's 18 tiles fill an eighth of H100's 132 SMs, while
    /// one grouped kernel's 1,152 tiles fill its waves.
    #[test]
    fn grouped_experts_share_the_waves_and_their_weight_gradient_is_short() {
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let cm = ComputeModel::new(h100, false);
        let experts = Gemm {
            name: "expert_fc1",
            m: 384.0,
            n: 1408.0,
            k: 2048.0,
            count: 64.0,
            grouped: true,
        };
        let one_by_one = Gemm {
            grouped: false,
            ..experts.clone()
        };
        let (grouped, apart) = (cm.gemm_time(&experts), cm.gemm_time(&one_by_one));
        assert!(grouped * 4.0 < apart, "{grouped:?} {apart:?}");
        // Its weight gradient reduces over the 384 tokens, not the 2,048 inputs: the
        // backward takes more than twice the forward. A big square GEMM's does not.
        assert!(cm.gemm_backward_time(&experts) > grouped * 2.2);
        let square = Gemm {
            name: "square",
            m: 8192.0,
            n: 8192.0,
            k: 8192.0,
            count: 1.0,
            grouped: false,
        };
        let ratio = cm.gemm_backward_time(&square) / cm.gemm_time(&square);
        assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn roofline_takes_the_slower_bound() {
        let h100 = gpu("H100-SXM5-80GB").unwrap();
        let cm = ComputeModel::new(h100, false);
        // A GEMV-like GEMM is memory bound.
        let g = Gemm {
            name: "gemv",
            m: 1.0,
            n: 16384.0,
            k: 16384.0,
            count: 1.0,
            grouped: false,
        };
        let t = cm.gemm_time(&g);
        let mem = cm.memory_time(g.bytes(2.0));
        assert_eq!(t, mem);
        // FP8 doubles the peak but not the time: MAMF fraction is lower.
        let g = Gemm {
            name: "big",
            m: 8192.0,
            n: 8192.0,
            k: 8192.0,
            count: 1.0,
            grouped: false,
        };
        let bf16 = cm.gemm_time(&g);
        let fp8 = ComputeModel::new(h100, true).gemm_time(&g);
        let speedup = bf16 / fp8;
        assert!(speedup > 1.5 && speedup < 1.9, "{speedup}");
    }
}
