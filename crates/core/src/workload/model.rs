//! Decoder-only transformer shapes: dense or mixture-of-experts, multi-head (GQA) or
//! multi-head latent attention (MLA), full or sliding-window attention, and
//! multi-token-prediction layers. Layers may differ: [`ModelSpec::layer_kind`] says what
//! each one is, and every count (parameters, FLOPs, memory, communication) is built from
//! the kinds, so a pipeline stage holds exactly the work of its layers.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The feed-forward block's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MlpKind {
    /// Two matrices with GeLU or squared ReLU (GPT, GPT-NeoX); `gelu` and `relu` are
    /// accepted for it.
    #[serde(alias = "gelu", alias = "relu")]
    Standard,
    /// Three matrices with a gated activation: SwiGLU/GeGLU (Llama, Mistral, Gemma,
    /// DeepSeek, Grok-1); `swiglu` and `geglu` are accepted for it.
    #[serde(alias = "swiglu", alias = "geglu")]
    Gated,
}

impl MlpKind {
    /// Weight matrices of size hidden x ffn in one MLP.
    pub fn matrices(self) -> f64 {
        match self {
            MlpKind::Standard => 2.0,
            MlpKind::Gated => 3.0,
        }
    }
}

/// Switch Transformer's default capacity factor (Fedus et al., 2021, §2.2: 1.25): the
/// busiest expert is taken to see 1.25x the mean load unless the model says otherwise.
pub const DEFAULT_MOE_IMBALANCE: f64 = 1.25;

/// Mixture-of-experts: the MLP of every MoE layer is `experts` routed MLPs of width
/// `expert_ffn` (each token goes to `topk`), shared experts every token goes through,
/// and a router.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Moe {
    /// Routed experts per MoE layer.
    pub experts: u32,
    /// Routed experts each token goes to.
    pub topk: u32,
    /// Inner width of one routed expert (DeepSeek's and Qwen's `moe_intermediate_size`).
    pub expert_ffn: u64,
    /// Inner width of the shared experts together (0: none); they run on every token like
    /// a dense MLP.
    pub shared_ffn: u64,
    /// Layers (0-based) whose MLP is dense (`ffn_hidden` wide) instead: DeepSeek's first
    /// `first_k_dense_replace`, MoE every k-th layer, Qwen's `mlp_only_layers`.
    pub dense_layers: Vec<u32>,
    /// Tokens at the busiest expert over the mean (≥ 1): the expert GEMMs, their
    /// activations and the dispatch are sized for it.
    pub imbalance: f64,
    /// Group-limited routing (DeepSeek's `n_group`, `topk_group`): the experts fall into
    /// `groups` equal groups and each token's top-k come from its best `groups_per_token`
    /// of them (1 and 1: unlimited). DeepSeek-V3 puts a group on each server, so a token
    /// reaches at most 4 servers (arXiv 2412.19437, §2.1.2, "node-limited routing").
    pub groups: u32,
    /// See [`Moe::groups`].
    pub groups_per_token: u32,
}

impl Moe {
    /// The most [`Moe::imbalance`] can be: the busiest expert takes every token, which is
    /// experts / top-k times the mean.
    pub fn max_imbalance(experts: u32, topk: u32) -> f64 {
        f64::from(experts) / f64::from(topk.max(1))
    }

    /// Tokens at the busiest expert-parallel rank over the mean, when each of `ep` ranks
    /// holds L = experts / ep of the experts. Without a capacity that pads every expert
    /// (Megatron's dropless default), a rank's GEMMs and its share of the dispatch are
    /// sized by its experts' tokens together. The experts' loads sum to the whole, so a
    /// rank's L of them deviate from their mean as L draws without replacement from E do:
    /// by sqrt((E - L) / (L (E - 1))) of one expert's deviation. The busiest rank is taken
    /// to stand that far out as the busiest expert does ⚠ (an estimate: the same tail
    /// for ranks as for experts): I at one expert a rank, 1 (the mean) with every expert
    /// on each rank (ep 1), whatever the router favours. It is at most what a rank can
    /// receive: every token to min(L, top-k) of its experts.
    pub fn rank_imbalance(&self, ep: u32) -> f64 {
        let e = f64::from(self.experts.max(1));
        let local = (e / f64::from(ep.max(1))).clamp(1.0, e);
        if e <= 1.0 {
            return 1.0;
        }
        let k = f64::from(self.topk.max(1));
        let spread = ((e - local) / (local * (e - 1.0))).sqrt();
        let most = local.min(k) * e / (k * local);
        (1.0 + (self.imbalance - 1.0) * spread).min(most)
    }

    /// The imbalance a model that does not give one runs at: Switch Transformer's
    /// [`DEFAULT_MOE_IMBALANCE`], or every token to one expert where that is less.
    pub fn default_imbalance(experts: u32, topk: u32) -> f64 {
        DEFAULT_MOE_IMBALANCE.min(Moe::max_imbalance(experts, topk))
    }

    /// The servers a token's top-k experts lie on, in expectation, with `experts_on[i]`
    /// of the experts on server i (as expert parallelism places them: its ranks' share
    /// each), when the router's choice is uniform within what routing allows ⚠ (a
    /// trained router is not uniform; balanced routing is what load-balancing losses aim
    /// for). Server i receives nothing with probability C(E - e_i, k) / C(E, k). With
    /// grouped routing whose groups each live on one server (equal servers, `groups` a
    /// multiple of their count), a token draws `groups_per_token` of the groups, then its
    /// k experts among theirs: a server holding j of the drawn groups receives nothing
    /// with probability C((M - j) e, k) / C(M e, k), e the experts per group; groups that
    /// each span whole servers confine the token to the drawn groups' servers. Otherwise
    /// the groups are ignored, which counts servers a token may not reach.
    pub fn expected_servers(&self, experts_on: &[u32]) -> f64 {
        let (s, k) = (experts_on.len().max(1) as u64, self.topk as u64);
        let e = self.experts as u64;
        let (g, m) = (
            self.groups.max(1) as u64,
            self.groups_per_token.max(1) as u64,
        );
        let even = experts_on.windows(2).all(|w| w[0] == w[1]);
        if even && g > 1 && m < g && g.is_multiple_of(s) && e.is_multiple_of(g) {
            let (per_server, per_group) = (g / s, e / g);
            let pool = m * per_group;
            let missed: f64 = (0..=per_server.min(m))
                .map(|j| {
                    // j of the server's groups among the M drawn (hypergeometric).
                    let p_j = choose(per_server, j) * choose(g - per_server, m - j) / choose(g, m);
                    p_j * choose(pool - j * per_group, k) / choose(pool, k)
                })
                .sum();
            return s as f64 * (1.0 - missed);
        }
        if even && g > 1 && m < g && s.is_multiple_of(g) && e.is_multiple_of(s) {
            // Each group spans s/g servers: the drawn groups' m·s/g servers share the
            // token's k experts.
            let (reached, per_server) = (m * (s / g), e / s);
            let pool = reached * per_server;
            return reached as f64 * (1.0 - choose(pool - per_server, k) / choose(pool, k));
        }
        experts_on
            .iter()
            .map(|&on| 1.0 - choose(e.saturating_sub(on as u64), k) / choose(e, k))
            .sum::<f64>()
            .max(1.0)
    }
}

/// C(n, k) as a float (0 when k > n): products of ratios, exact enough for the
/// probabilities above at any size.
fn choose(n: u64, k: u64) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values pass through
/// low-rank latents; each head's query/key is `qk_nope_dim + qk_rope_dim` wide, its value
/// `v_dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Mla {
    /// Rank of the query latent (0: queries are projected at full rank).
    pub q_lora_rank: u64,
    /// Rank of the key/value latent.
    pub kv_lora_rank: u64,
    /// Per-head query/key width without rotary embedding.
    pub qk_nope_dim: u64,
    /// Per-head query/key width with rotary embedding (the key's part is shared by heads).
    pub qk_rope_dim: u64,
    /// Per-head value width.
    pub v_dim: u64,
}

/// Sliding-window (local) attention: a query sees only the last `tokens` keys, except in
/// the `global_layers`, which attend to the whole sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Window {
    /// Keys each query sees in a local layer (itself included).
    pub tokens: u64,
    /// Layers (0-based) with full attention.
    pub global_layers: Vec<u32>,
}

/// What one layer is: its MLP and how far its attention reaches. Few distinct kinds
/// exist per model, so costs are priced once per kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
pub struct LayerKind {
    /// The MLP is routed experts (otherwise the dense `ffn_hidden` MLP).
    pub moe: bool,
    /// Keys each query sees (None: the whole causal context).
    pub window: Option<u64>,
    /// A multi-token-prediction layer (after the decoder, on the last stage).
    pub mtp: bool,
}

/// A range of layers counted by kind, in kind order, none of count zero: at most
/// [`KindCounts::CAPACITY`] kinds (a decoder layer is MoE or dense, windowed or global,
/// and the MTP layers are one kind more), held inline so that counting allocates
/// nothing: the planner counts for every plan it weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindCounts {
    items: [(LayerKind, u32); KindCounts::CAPACITY],
    len: usize,
}

impl KindCounts {
    /// Distinct kinds a model can have: 2 MLPs x 2 reaches of attention, and MTP.
    pub const CAPACITY: usize = 5;

    /// Adds `n` layers of kind `k`, keeping kind order.
    fn add(&mut self, k: LayerKind, n: u32) {
        if n == 0 {
            return;
        }
        match self.items[..self.len].binary_search_by_key(&k, |&(x, _)| x) {
            Ok(at) => self.items[at].1 += n,
            Err(at) => {
                // Five kinds exist at most (above): a sixth is a broken invariant.
                assert!(
                    self.len < Self::CAPACITY,
                    "more layer kinds than exist: {k:?}"
                );
                self.items.copy_within(at..self.len, at + 1);
                self.items[at] = (k, n);
                self.len += 1;
            }
        }
    }
}

impl Default for KindCounts {
    fn default() -> Self {
        let none = LayerKind {
            moe: false,
            window: None,
            mtp: false,
        };
        KindCounts {
            items: [(none, 0); KindCounts::CAPACITY],
            len: 0,
        }
    }
}

impl std::ops::Deref for KindCounts {
    type Target = [(LayerKind, u32)];
    fn deref(&self) -> &Self::Target {
        &self.items[..self.len]
    }
}

impl IntoIterator for KindCounts {
    type Item = (LayerKind, u32);
    type IntoIter =
        std::iter::Take<std::array::IntoIter<(LayerKind, u32), { KindCounts::CAPACITY }>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter().take(self.len)
    }
}

/// One weight matrix of a layer: `input` x `output`, split over tensor-parallel ranks as
/// Megatron does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// What it computes.
    pub name: &'static str,
    /// Input width.
    pub input: f64,
    /// Output width.
    pub output: f64,
    /// How tensor parallelism splits it.
    pub split: Split,
    /// Bias entries (0: none).
    pub bias: f64,
    /// An MLA up-projection out of a latent: what Megatron's `mla_up_proj` recompute
    /// module recomputes instead of storing its output.
    pub from_latent: bool,
}

impl Projection {
    /// Its parameters.
    pub fn params(&self) -> f64 {
        self.input * self.output + self.bias
    }
}

/// A layer's attention projections: up to five, held inline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Projections {
    items: [Option<Projection>; 5],
    len: usize,
}

impl Projections {
    fn push(&mut self, p: Projection) {
        self.items[self.len] = Some(p);
        self.len += 1;
    }

    /// The projections, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Projection> {
        self.items[..self.len].iter().flatten()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// How tensor parallelism splits a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Output columns split (Megatron's ColumnParallelLinear).
    Column,
    /// Input rows split (RowParallelLinear), the output reduced.
    Row,
    /// Replicated on every TP rank (MLA's down-projections, the router).
    None,
}

/// A decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ModelSpec {
    /// Display name.
    pub name: String,
    /// Decoder layers (multi-token-prediction layers not included).
    pub layers: u32,
    /// Hidden size h.
    pub hidden: u64,
    /// Attention (query) heads.
    pub heads: u32,
    /// Key/value heads (< heads: grouped-query attention; MLA: = heads).
    pub kv_heads: u32,
    /// Width of one attention head (usually hidden / heads; Llama 3.2, Mistral-Nemo,
    /// Qwen3 and Gemma 3 set it apart): q and o are heads x head_dim wide, k and v
    /// kv_heads x head_dim. With MLA, the query/key width (nope + rope).
    pub head_dim: u64,
    /// Inner size of the dense MLP (of every layer of a dense model, of the dense layers
    /// of an MoE).
    pub ffn_hidden: u64,
    /// Vocabulary size V.
    pub vocab: u64,
    /// MLP kind (dense MLP and experts alike).
    pub mlp: MlpKind,
    /// Mixture-of-experts, if any.
    pub moe: Option<Moe>,
    /// Multi-head latent attention instead of (grouped-query) multi-head attention.
    pub mla: Option<Mla>,
    /// Sliding-window attention, if any.
    pub window: Option<Window>,
    /// Multi-token-prediction depth (DeepSeek-V3's `num_nextn_predict_layers`): each is
    /// one more layer, a 2h -> h projection and a second pass through the shared LM head,
    /// on the last pipeline stage. Not counted in the parameters, as publishers do not.
    pub mtp_layers: u32,
    /// The LM head shares the input embedding's weights (`tie_word_embeddings`): one
    /// V x h matrix is stored; the head's GEMM still runs.
    pub tied_embeddings: bool,
    /// The attention projections carry biases (Qwen2's q/k/v, `attention_bias`).
    pub qkv_bias: bool,
    /// Queries and keys pass a per-head RMSNorm with weights (Qwen3, Gemma 3:
    /// `q_norm`, `k_norm`, head_dim each).
    #[serde(default)]
    pub qk_norm: bool,
    /// A norm after attention and after the MLP as well as before each (Gemma 2 and 3:
    /// four norms a layer).
    #[serde(default)]
    pub sandwich_norms: bool,
    /// Tokens the position encoding was trained for (a config's
    /// `max_position_embeddings`), when known: a longer sequence gets a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seq_len: Option<u64>,
}

/// The largest parameter count memphis takes: 2^53, below which f64 counts whole numbers
/// exactly (the reports print exact counts).
pub const MAX_EXACT_COUNT: f64 = 9_007_199_254_740_992.0;

/// Largest dimension accepted; keeps each product of two below f64's exact-integer range
/// (the parameter count is bounded on its own, [`MAX_EXACT_COUNT`]).
pub const MAX_DIM: u64 = 1 << 24;

/// Parameters of one layer, as data parallelism and the optimizer see them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LayerParams {
    /// Replicated over expert parallelism (attention, norms, router, shared experts, a
    /// dense MLP).
    pub dense: f64,
    /// All routed experts of the layer (sharded over expert parallelism).
    pub experts: f64,
    /// What one token uses of the routed experts (top-k of them).
    pub active_experts: f64,
}

impl LayerParams {
    /// Every parameter.
    pub fn total(&self) -> f64 {
        self.dense + self.experts
    }

    /// The parameters one token touches.
    pub fn active(&self) -> f64 {
        self.dense + self.active_experts
    }
}

impl ModelSpec {
    /// The model without what names or bounds it but does not change its work: its name
    /// and the sequence length its positions were trained for. Two models of one shape
    /// (a preset, a config.json or fields written out, as memphis reads them) are equal
    /// here.
    pub fn shape(&self) -> ModelSpec {
        ModelSpec {
            name: String::new(),
            max_seq_len: None,
            ..self.clone()
        }
    }

    /// A dense GQA transformer with nothing else: the shape most tests start from.
    #[allow(clippy::too_many_arguments)]
    pub fn dense(
        name: &str,
        layers: u32,
        hidden: u64,
        heads: u32,
        kv_heads: u32,
        ffn_hidden: u64,
        vocab: u64,
        mlp: MlpKind,
    ) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            layers,
            hidden,
            heads,
            kv_heads,
            head_dim: hidden / u64::from(heads.max(1)),
            ffn_hidden,
            vocab,
            mlp,
            moe: None,
            mla: None,
            window: None,
            mtp_layers: 0,
            tied_embeddings: false,
            qkv_bias: false,
            qk_norm: false,
            sandwich_norms: false,
            max_seq_len: None,
        }
    }

    /// Checks the shape; every error names the field.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let f = |n: &str| format!("{prefix}.{n}");
        if self.layers == 0 || self.layers > 100_000 {
            return Err(Error::invalid(
                f("layers"),
                self.layers,
                "an integer from 1 to 100000",
            ));
        }
        if self.max_seq_len == Some(0) {
            return Err(Error::invalid(
                f("max_seq_len"),
                0,
                "a context of at least 1 token, or unset",
            ));
        }
        let dim = |name: &str, v: u64| -> Result<()> {
            if v == 0 || v > MAX_DIM {
                return Err(Error::invalid(
                    f(name),
                    v,
                    format!("an integer from 1 to {MAX_DIM}"),
                ));
            }
            Ok(())
        };
        dim("hidden", self.hidden)?;
        dim("ffn_hidden", self.ffn_hidden)?;
        dim("vocab", self.vocab)?;
        if self.heads == 0 || u64::from(self.heads) > self.hidden {
            return Err(Error::invalid(
                f("heads"),
                self.heads,
                "an integer from 1 to hidden",
            ));
        }
        if self.head_dim == 0 || self.head_dim > MAX_DIM / u64::from(self.heads) {
            return Err(Error::invalid(
                f("head_dim"),
                self.head_dim,
                format!(
                    "an integer from 1 to {} (heads x head_dim at most {MAX_DIM})",
                    MAX_DIM / u64::from(self.heads)
                ),
            ));
        }
        if self.kv_heads == 0 || !self.heads.is_multiple_of(self.kv_heads) {
            return Err(Error::invalid(
                f("kv_heads"),
                self.kv_heads,
                format!("a divisor of heads ({}), at least 1", self.heads),
            ));
        }
        if let Some(m) = &self.moe {
            self.validate_moe(m, &f)?;
        }
        if let Some(a) = self.mla {
            for (name, v) in [
                ("mla_kv_lora_rank", a.kv_lora_rank),
                ("mla_qk_nope_dim", a.qk_nope_dim),
                ("mla_v_dim", a.v_dim),
            ] {
                dim(name, v)?;
            }
            for (name, v) in [
                ("mla_q_lora_rank", a.q_lora_rank),
                ("mla_qk_rope_dim", a.qk_rope_dim),
            ] {
                if v > MAX_DIM {
                    return Err(Error::invalid(
                        f(name),
                        v,
                        format!("an integer from 0 to {MAX_DIM}"),
                    ));
                }
            }
            if u64::from(self.heads) * (a.qk_nope_dim + a.qk_rope_dim + a.v_dim) > MAX_DIM {
                return Err(Error::invalid(
                    f("heads"),
                    self.heads,
                    format!("heads x (qk_nope + qk_rope + v) at most {MAX_DIM}"),
                ));
            }
        }
        if let Some(w) = &self.window {
            if w.tokens == 0 || w.tokens > MAX_DIM {
                return Err(Error::invalid(
                    f("window"),
                    w.tokens,
                    format!("an integer from 1 to {MAX_DIM} tokens"),
                ));
            }
            self.check_layer_list(&f("window_global_layers"), &w.global_layers)?;
        }
        if self.mtp_layers > 16 {
            return Err(Error::invalid(
                f("mtp_layers"),
                self.mtp_layers,
                "an integer from 0 to 16",
            ));
        }
        // Each width is bounded, their product is not: past 2^53 a count is no longer a
        // whole number in f64 (nor, further on, in the reports' u64).
        let params = self.total_params() + self.mtp_params();
        if params > MAX_EXACT_COUNT {
            let per_layer = params / self.layers as f64;
            return Err(Error::invalid(
                f("layers"),
                self.layers,
                format!(
                    "at most {} at these widths: the model would have {params:.3e} parameters, past 2^53 ({MAX_EXACT_COUNT:.3e}), where counts stop being exact",
                    ((MAX_EXACT_COUNT / per_layer).floor() as u64).max(1)
                ),
            ));
        }
        Ok(())
    }

    fn validate_moe(&self, m: &Moe, f: &dyn Fn(&str) -> String) -> Result<()> {
        if m.experts < 2 || m.experts > 4096 {
            return Err(Error::invalid(
                f("moe_experts"),
                m.experts,
                "0 (dense) or 2 to 4096",
            ));
        }
        if m.topk == 0 || m.topk > m.experts {
            return Err(Error::invalid(
                f("moe_topk"),
                m.topk,
                format!("1 to moe_experts ({})", m.experts),
            ));
        }
        if m.expert_ffn == 0 || m.expert_ffn > MAX_DIM {
            return Err(Error::invalid(
                f("moe_ffn_hidden"),
                m.expert_ffn,
                format!("an integer from 1 to {MAX_DIM}"),
            ));
        }
        if m.shared_ffn > MAX_DIM {
            return Err(Error::invalid(
                f("moe_shared_ffn"),
                m.shared_ffn,
                format!("an integer from 0 to {MAX_DIM}"),
            ));
        }
        if m.groups == 0 || !m.experts.is_multiple_of(m.groups) {
            return Err(Error::invalid(
                f("moe_groups"),
                m.groups,
                format!("a divisor of moe_experts ({}), 1 for none", m.experts),
            ));
        }
        if m.groups_per_token == 0 || m.groups_per_token > m.groups {
            return Err(Error::invalid(
                f("moe_groups_per_token"),
                m.groups_per_token,
                format!("1 to moe_groups ({})", m.groups),
            ));
        }
        let reachable = m.groups_per_token * (m.experts / m.groups);
        if m.topk > reachable {
            return Err(Error::invalid(
                f("moe_topk"),
                m.topk,
                format!(
                    "at most the experts of moe_groups_per_token groups ({} x {} = {reachable})",
                    m.groups_per_token,
                    m.experts / m.groups
                ),
            ));
        }
        let most = Moe::max_imbalance(m.experts, m.topk);
        if !(m.imbalance.is_finite() && (1.0..=most).contains(&m.imbalance)) {
            return Err(Error::invalid(
                f("moe_imbalance"),
                m.imbalance,
                format!(
                    "a load ratio from 1 (perfectly balanced) to moe_experts / moe_topk = {} / {} = {} (the busiest expert taking every token)",
                    m.experts,
                    m.topk,
                    if most.fract() == 0.0 {
                        format!("{most}")
                    } else {
                        crate::text::sig3(most)
                    }
                ),
            ));
        }
        self.check_layer_list(&f("moe_dense_layers"), &m.dense_layers)?;
        if m.dense_layers.len() >= self.layers as usize {
            return Err(Error::invalid(
                f("moe_dense_layers"),
                format!("{} layers", m.dense_layers.len()),
                format!(
                    "fewer than the model's layers ({}): an MoE needs one MoE layer",
                    self.layers
                ),
            ));
        }
        Ok(())
    }

    /// A list of layer indices: each below `layers`, sorted, no repeats.
    fn check_layer_list(&self, field: &str, list: &[u32]) -> Result<()> {
        if let Some(&bad) = list.iter().find(|&&i| i >= self.layers) {
            return Err(Error::invalid(
                field,
                bad,
                format!("layer indices from 0 to {} (0-based)", self.layers - 1),
            ));
        }
        if list.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                field,
                format!("{list:?}"),
                "layer indices in increasing order, each once",
            ));
        }
        Ok(())
    }

    /// What layer `i` is (0-based; `layers..layers + mtp_layers` are the MTP layers,
    /// which take the last decoder layer's MLP and attention).
    pub fn layer_kind(&self, i: u32) -> LayerKind {
        let mtp = i >= self.layers;
        let d = i.min(self.layers - 1);
        LayerKind {
            moe: self
                .moe
                .as_ref()
                .is_some_and(|m| m.dense_layers.binary_search(&d).is_err()),
            window: self
                .window
                .as_ref()
                .filter(|w| w.global_layers.binary_search(&d).is_err())
                .map(|w| w.tokens),
            mtp,
        }
    }

    /// Calls `f` on each decoder layer the dense-layer and global-layer lists name, in
    /// increasing order, each once: the only ones whose kind may differ from the rest's.
    /// Both lists are increasing (checked where the model is validated), so they are
    /// merged as they stand, with no allocation: the planner asks for every plan. `f`
    /// returns whether to go on.
    fn for_each_named_layer(&self, mut f: impl FnMut(u32) -> bool) {
        let empty: &[u32] = &[];
        let a = self.moe.as_ref().map_or(empty, |m| &m.dense_layers[..]);
        let b = self.window.as_ref().map_or(empty, |w| &w.global_layers[..]);
        let (mut i, mut j) = (0, 0);
        let mut last = None;
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x <= y => {
                    i += 1;
                    x
                }
                (Some(_), Some(&y)) | (None, Some(&y)) => {
                    j += 1;
                    y
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (None, None) => unreachable!("the loop's condition"),
            };
            if next < self.layers && last != Some(next) {
                last = Some(next);
                if !f(next) {
                    return;
                }
            }
        }
    }

    /// The distinct kinds of the model's layers (MTP layers included), in order.
    pub fn kinds(&self) -> Vec<LayerKind> {
        self.kind_counts(0..self.layers + self.mtp_layers)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// How many layers of each kind `layers` holds (MTP layers included), in kind order,
    /// none of count zero. Only the layers the lists name are looked at one by one (every
    /// other decoder layer is of one kind, and every MTP layer of another), so the cost
    /// follows the lists, not the depth: the planner asks for every plan it weighs, and a
    /// model may have 100,000 layers.
    pub fn kind_counts(&self, layers: std::ops::Range<u32>) -> KindCounts {
        let mut counts = KindCounts::default();
        let decoder = layers.start.min(self.layers)..layers.end.min(self.layers);
        if !decoder.is_empty() {
            let mut in_range = 0u32;
            // The first layer neither list names is of the kind every unnamed layer has.
            let mut unnamed = 0u32;
            self.for_each_named_layer(|i| {
                if decoder.contains(&i) {
                    counts.add(self.layer_kind(i), 1);
                    in_range += 1;
                }
                if i == unnamed {
                    unnamed += 1;
                }
                // Go on while a later named layer may still be in range or close the
                // gap-free run from layer 0.
                i + 1 < decoder.end || unnamed == i + 1
            });
            if unnamed < self.layers {
                counts.add(self.layer_kind(unnamed), decoder.len() as u32 - in_range);
            }
        }
        let mtp = layers.start.max(self.layers)..layers.end.min(self.layers + self.mtp_layers);
        counts.add(self.layer_kind(self.layers), mtp.len() as u32);
        counts
    }

    /// Per-head query/key width.
    pub fn qk_dim(&self) -> f64 {
        match self.mla {
            Some(a) => (a.qk_nope_dim + a.qk_rope_dim) as f64,
            None => self.head_dim as f64,
        }
    }

    /// Per-head value width.
    pub fn v_dim(&self) -> f64 {
        match self.mla {
            Some(a) => a.v_dim as f64,
            None => self.head_dim as f64,
        }
    }

    /// Width of the queries: heads x query width.
    pub fn q_width(&self) -> f64 {
        self.heads as f64 * self.qk_dim()
    }

    /// Width of the attention output (the input of the output projection).
    pub fn attn_out_width(&self) -> f64 {
        self.heads as f64 * self.v_dim()
    }

    /// Width of the keys and values the attention core reads per token (what context
    /// parallelism passes around): GQA's kv_heads x 2 x head_dim; MLA's per-head keys
    /// and values after their up-projection.
    pub fn kv_width(&self) -> f64 {
        match self.mla {
            Some(_) => self.heads as f64 * (self.qk_dim() + self.v_dim()),
            None => 2.0 * self.kv_heads as f64 * self.head_dim as f64,
        }
    }

    /// The attention projections of one layer (at most five: no allocation, as the
    /// planner asks for every plan).
    pub fn attention_projections(&self) -> Projections {
        let h = self.hidden as f64;
        let heads = self.heads as f64;
        let p = |name, input, output, split, bias| Projection {
            name,
            input,
            output,
            split,
            bias,
            from_latent: false,
        };
        let up = |name, input, output| Projection {
            from_latent: true,
            ..p(name, input, output, Split::Column, 0.0)
        };
        let bias = |w: f64| if self.qkv_bias { w } else { 0.0 };
        let out = p("attn_out", self.attn_out_width(), h, Split::Row, 0.0);
        let mut v = Projections::default();
        match self.mla {
            None => {
                let qkv = self.q_width() + 2.0 * self.kv_heads as f64 * self.head_dim as f64;
                v.push(p("qkv", h, qkv, Split::Column, bias(qkv)));
                v.push(out);
            }
            // Megatron's MLASelfAttention: the down-projections to the latents are
            // replicated over TP, the up-projections split by heads (column parallel).
            Some(a) => {
                let (ql, kvl) = (a.q_lora_rank as f64, a.kv_lora_rank as f64);
                let rope = a.qk_rope_dim as f64;
                if a.q_lora_rank > 0 {
                    v.push(p("q_down", h, ql, Split::None, 0.0));
                    v.push(up("q_up", ql, self.q_width()));
                } else {
                    v.push(p("q", h, self.q_width(), Split::Column, 0.0));
                }
                v.push(p("kv_down", h, kvl + rope, Split::None, 0.0));
                let kv_up = heads * (a.qk_nope_dim + a.v_dim) as f64;
                v.push(up("kv_up", kvl, kv_up));
                v.push(out);
            }
        }
        v
    }

    /// Norm weights of one layer: two RMS/LayerNorms of h (four with sandwich norms),
    /// MLA's latent norms, and the per-head query and key norms.
    fn norm_params(&self) -> f64 {
        let latent = self
            .mla
            .map_or(0.0, |a| (a.q_lora_rank + a.kv_lora_rank) as f64);
        let norms = if self.sandwich_norms { 4.0 } else { 2.0 };
        let qk = if self.qk_norm {
            2.0 * self.head_dim as f64
        } else {
            0.0
        };
        norms * self.hidden as f64 + latent + qk
    }

    /// The two projections of an MLP `ffn` wide (gated: the first is gate and up fused).
    pub fn mlp_projections(&self, ffn: u64, prefix: MlpPart) -> [Projection; 2] {
        let (h, f) = (self.hidden as f64, ffn as f64);
        let (inp, outp) = prefix.names();
        [
            Projection {
                name: inp,
                input: h,
                output: f * (self.mlp.matrices() - 1.0),
                split: Split::Column,
                bias: 0.0,
                from_latent: false,
            },
            Projection {
                name: outp,
                input: f,
                output: h,
                split: Split::Row,
                bias: 0.0,
                from_latent: false,
            },
        ]
    }

    /// Parameters of one MLP `ffn` wide.
    fn mlp_params(&self, ffn: u64) -> f64 {
        self.mlp.matrices() * self.hidden as f64 * ffn as f64
    }

    /// Parameters of one layer of kind `k`.
    pub fn layer_params(&self, k: LayerKind) -> LayerParams {
        let h = self.hidden as f64;
        let attention: f64 = self
            .attention_projections()
            .iter()
            .map(|p| p.params())
            .sum();
        let mut dense = attention + self.norm_params();
        let (mut experts, mut active_experts) = (0.0, 0.0);
        match self.moe.as_ref().filter(|_| k.moe) {
            Some(m) => {
                dense += h * m.experts as f64 + self.mlp_params(m.shared_ffn);
                let one = self.mlp_params(m.expert_ffn);
                experts = m.experts as f64 * one;
                active_experts = m.topk as f64 * one;
            }
            None => dense += self.mlp_params(self.ffn_hidden),
        }
        if k.mtp {
            // DeepSeek-V3's MTP module: two more norms and the 2h -> h projection of the
            // normed hidden state and the next token's embedding.
            dense += 2.0 * h + 2.0 * h * h;
        }
        LayerParams {
            dense,
            experts,
            active_experts,
        }
    }

    /// Input embedding (or output head) parameters: V x h.
    pub fn embedding_params(&self) -> f64 {
        self.vocab as f64 * self.hidden as f64
    }

    /// Input embedding and output head parameters: two V x h matrices, one when tied.
    pub fn embedding_and_head_params(&self) -> f64 {
        let copies = if self.tied_embeddings { 1.0 } else { 2.0 };
        copies * self.embedding_params()
    }

    /// Embedding and head parameters a pipeline stage holds: the input embedding on the
    /// first stage, the head on the last. Tied weights are stored once when one stage
    /// holds both; across stages Megatron keeps a copy on each end.
    pub fn stage_embedding_params(&self, first: bool, last: bool) -> f64 {
        match (first, last) {
            (true, true) => self.embedding_and_head_params(),
            (true, false) | (false, true) => self.embedding_params(),
            (false, false) => 0.0,
        }
    }

    /// The parameters of the decoder layers `range` (MTP layers are `layers..`).
    pub fn params_of(&self, range: std::ops::Range<u32>) -> LayerParams {
        // A layer's parameters depend only on its MLP and on being an MTP layer (not on
        // its window).
        self.params_of_counts(&self.kind_counts(range))
    }

    /// [`Self::params_of`] the layers `counts` counts.
    pub fn params_of_counts(&self, counts: &KindCounts) -> LayerParams {
        counts.iter().fold(LayerParams::default(), |a, &(k, n)| {
            let p = self.layer_params(LayerKind { window: None, ..k });
            let n = f64::from(n);
            LayerParams {
                dense: a.dense + n * p.dense,
                experts: a.experts + n * p.experts,
                active_experts: a.active_experts + n * p.active_experts,
            }
        })
    }

    /// Total parameters: embedding, decoder layers, final norm and head (MTP layers
    /// excluded, as published counts do).
    pub fn total_params(&self) -> f64 {
        self.params_of(0..self.layers).total()
            + self.embedding_and_head_params()
            + self.hidden as f64
    }

    /// Parameters each token touches (the "active" count of an MoE), embedding included.
    pub fn active_params(&self) -> f64 {
        self.params_of(0..self.layers).active()
            + self.embedding_and_head_params()
            + self.hidden as f64
    }

    /// Parameters of the multi-token-prediction layers (not in the totals).
    pub fn mtp_params(&self) -> f64 {
        self.params_of(self.layers..self.layers + self.mtp_layers)
            .total()
    }

    /// Forward FLOPs per token of layer kind `k` over `seq_len`-token sequences: what the
    /// pipeline split balances (GEMMs from the active parameters, the attention core
    /// over the keys each query sees).
    pub fn layer_flops_per_token(&self, k: LayerKind, seq_len: u64) -> f64 {
        let p = self.layer_params(k);
        2.0 * (p.active() - self.norm_params())
            + 2.0
                * self.heads as f64
                * (self.qk_dim() + self.v_dim())
                * attended_keys(k.window, seq_len)
    }

    /// Forward FLOPs per token of the LM head (MTP heads included).
    pub fn head_flops_per_token(&self) -> f64 {
        2.0 * self.embedding_params() * f64::from(1 + self.mtp_layers)
    }
}

/// Mean keys a query attends to in a causal sequence of `seq_len` tokens with an optional
/// window: s/2 with full attention (half the score matrix), w - w²/2s with a window
/// w < s (the two agree at w = s).
pub fn attended_keys(window: Option<u64>, seq_len: u64) -> f64 {
    let s = seq_len as f64;
    match window {
        Some(w) if w < seq_len => {
            let w = w as f64;
            w - w * w / (2.0 * s)
        }
        _ => s / 2.0,
    }
}

/// Which MLP a projection belongs to, for the GEMM names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpPart {
    /// The dense MLP.
    Dense,
    /// The shared experts.
    Shared,
    /// A routed expert.
    Expert,
}

impl MlpPart {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            MlpPart::Dense => ("mlp_in", "mlp_out"),
            MlpPart::Shared => ("shared_in", "shared_out"),
            MlpPart::Expert => ("expert_in", "expert_out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama405() -> ModelSpec {
        ModelSpec::dense(
            "llama3-405b",
            126,
            16384,
            128,
            8,
            53248,
            128256,
            MlpKind::Gated,
        )
    }

    #[test]
    fn llama3_405b_has_405b_parameters() {
        let p = llama405().total_params();
        assert!((p / 1e9 - 405.8).abs() < 1.0, "{}", p / 1e9);
    }

    /// The busiest rank's load: the busiest expert's where a rank holds one expert,
    /// the mean where one rank holds them all, between for a few experts a rank, and
    /// never more than a rank can receive.
    #[test]
    fn a_ranks_imbalance_spreads_the_busiest_experts_over_its_experts() {
        let moe = |experts: u32, imbalance: f64| Moe {
            experts,
            topk: 2,
            expert_ffn: 1,
            shared_ffn: 0,
            dense_layers: vec![],
            imbalance,
            groups: 1,
            groups_per_token: 1,
        };
        let m = moe(8, 3.0);
        assert_eq!(m.rank_imbalance(8), 3.0);
        assert!((m.rank_imbalance(1) - 1.0).abs() < 1e-12);
        // 4 experts on a rank: 1 + 2 x sqrt(4 / (4 x 7)).
        let four = 1.0 + 2.0 * (4.0f64 / 28.0).sqrt();
        assert!((m.rank_imbalance(2) - four).abs() < 1e-12);
        for ep in [1, 2, 4, 8] {
            assert!((moe(8, 1.0).rank_imbalance(ep) - 1.0).abs() < 1e-12);
        }
        assert!(m.rank_imbalance(2) < m.rank_imbalance(4) && m.rank_imbalance(4) < 3.0);
        // Every token to the busiest expert (top-2 of 8: 4x the mean): a rank of 4
        // experts receives at most every token twice, 2x its mean.
        assert_eq!(moe(8, 4.0).rank_imbalance(2), 2.0);
    }

    #[test]
    fn moe_active_is_smaller_than_total() {
        let mut m = llama405();
        m.moe = Some(Moe {
            experts: 8,
            topk: 2,
            expert_ffn: m.ffn_hidden,
            shared_ffn: 0,
            dense_layers: vec![],
            imbalance: DEFAULT_MOE_IMBALANCE,
            groups: 1,
            groups_per_token: 1,
        });
        assert!(m.active_params() < m.total_params());
        assert!(m.validate("model").is_ok());
    }

    /// The slow oracle for [`Moe::expected_servers`]: route tokens at random as the
    /// formula assumes (M of the groups, then k of their experts, uniformly) and count
    /// the servers each reaches.
    fn sampled_servers(m: &Moe, experts_on: &[u32], tokens: u32) -> f64 {
        // The server of each expert, in order.
        let server_of: Vec<usize> = experts_on
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| std::iter::repeat_n(i, n as usize))
            .collect();
        let mut rng = crate::rng::SplitMix64::new(7);
        let (e, g) = (m.experts as usize, m.groups.max(1) as usize);
        let grouped = g > 1 && m.groups_per_token < m.groups;
        let mut total = 0usize;
        for _ in 0..tokens {
            let mut pool: Vec<usize> = (0..e).collect();
            if grouped {
                let mut gs: Vec<usize> = (0..g).collect();
                rng.shuffle(&mut gs);
                let per = e / g;
                pool = gs[..m.groups_per_token as usize]
                    .iter()
                    .flat_map(|&x| x * per..(x + 1) * per)
                    .collect();
            }
            rng.shuffle(&mut pool);
            let mut hit: Vec<usize> = pool[..m.topk as usize]
                .iter()
                .map(|&x| server_of[x])
                .collect();
            hit.sort_unstable();
            hit.dedup();
            total += hit.len();
        }
        total as f64 / tokens as f64
    }

    #[test]
    fn a_token_reaches_the_servers_sampling_says() {
        let mut m = super::architecture_tests::deepseek_v3();
        let mut moe = m.moe.take().unwrap();
        let even = |servers: u32| vec![256 / servers; servers as usize];
        // DeepSeek-V3 without its group limit, over 8 servers: 8 (1 - C(224,8)/C(256,8)).
        let free = moe.expected_servers(&even(8));
        assert!((free - 5.29465).abs() < 1e-4, "{free}");
        let uneven = [40, 40, 40, 40, 40, 40, 16];
        for (groups, kept, experts_on) in [
            (1, 1, even(8)),
            (1, 1, even(64)),
            (8, 4, even(8)),
            (8, 4, even(4)),
            (8, 2, even(8)),
            (8, 4, even(16)),
            (8, 4, even(32)),
            (8, 2, even(64)),
            (1, 1, uneven.to_vec()),
            (8, 4, uneven.to_vec()),
        ] {
            moe.groups = groups;
            moe.groups_per_token = kept;
            let exact = moe.expected_servers(&experts_on);
            let sampled = sampled_servers(&moe, &experts_on, 20_000);
            let servers = experts_on.len() as u32;
            // Groups that neither fill whole servers nor span them are ignored: an upper
            // bound, exact without groups.
            let even = experts_on.windows(2).all(|w| w[0] == w[1]);
            let aligned = groups.is_multiple_of(servers) || servers.is_multiple_of(groups);
            if groups == 1 || (even && aligned) {
                assert!(
                    (exact / sampled - 1.0).abs() < 0.02,
                    "{groups}/{kept} on {experts_on:?}: {exact} {sampled}"
                );
            } else {
                assert!(exact > sampled, "{exact} {sampled}");
            }
            assert!(exact <= (servers.min(moe.topk)) as f64 + 1e-9);
        }
        // Node-limited: at most 4 servers, 3.6 on average.
        moe.groups = 8;
        moe.groups_per_token = 4;
        let limited = moe.expected_servers(&even(8));
        assert!(limited < 4.0 && limited > 3.5, "{limited}");
        // One server, or one expert a token: one server.
        assert_eq!(moe.expected_servers(&even(1)), 1.0);
        moe.topk = 1;
        assert!((moe.expected_servers(&even(8)) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_shapes_name_the_field() {
        let mut m = llama405();
        m.layers = 0;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .starts_with("model.layers = 0"));
        let mut m = llama405();
        m.kv_heads = 7;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .contains("model.kv_heads"));
        let mut m = llama405();
        m.hidden = 1 << 40;
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .contains("model.hidden"));
        // Group-limited routing: groups divide the experts, a token keeps at most all
        // of them, and its k experts fit in those it keeps.
        for (groups, kept, topk, field) in [
            (3, 1, 8, "model.moe_groups = 3"),
            (8, 9, 8, "model.moe_groups_per_token = 9"),
            (64, 1, 8, "model.moe_topk = 8"),
        ] {
            let mut m = super::architecture_tests::deepseek_v3();
            if let Some(e) = m.moe.as_mut() {
                (e.groups, e.groups_per_token, e.topk) = (groups, kept, topk);
            }
            let e = m.validate("model").unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
    }
}

#[cfg(test)]
pub(crate) mod architecture_tests {
    use super::*;

    /// DeepSeek-V3's shape (Hugging Face config.json; arXiv 2412.19437 §2, §4.2).
    pub(crate) fn deepseek_v3() -> ModelSpec {
        let mut m = ModelSpec::dense(
            "deepseek-v3",
            61,
            7168,
            128,
            128,
            18432,
            129280,
            MlpKind::Gated,
        );
        m.head_dim = 192;
        m.mla = Some(Mla {
            q_lora_rank: 1536,
            kv_lora_rank: 512,
            qk_nope_dim: 128,
            qk_rope_dim: 64,
            v_dim: 128,
        });
        m.moe = Some(Moe {
            experts: 256,
            topk: 8,
            expert_ffn: 2048,
            shared_ffn: 2048,
            dense_layers: vec![0, 1, 2],
            imbalance: DEFAULT_MOE_IMBALANCE,
            groups: 1,
            groups_per_token: 1,
        });
        m.mtp_layers = 1;
        m
    }

    #[test]
    fn mla_attention_counts_each_projection() {
        let m = deepseek_v3();
        // q down 7168x1536, q up 1536x(128x192), kv down 7168x(512+64), kv up
        // 512x(128x(128+128)), out (128x128)x7168, and the norms: 2 x 7168 + 1536 + 512.
        let attention =
            7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168;
        let norms = 2 * 7168 + 1536 + 512;
        let dense_mlp = 3 * 7168 * 18432;
        let p = m.layer_params(m.layer_kind(0));
        assert_eq!(p.total(), (attention + norms + dense_mlp) as f64);
        assert_eq!(m.kv_width(), 128.0 * (192.0 + 128.0));
        assert_eq!(m.attn_out_width(), 128.0 * 128.0);
    }

    #[test]
    fn deepseek_v3_counts_671b_and_37b_active() {
        // INDEX.md of the shared model configs: 671,026,419,200 total (MTP excluded),
        // 37,552,297,472 active; the router's correction bias (256 per layer) is not
        // modelled, so within 0.01%.
        let m = deepseek_v3();
        let (total, active) = (m.total_params(), m.active_params());
        assert!((total / 671_026_419_200.0 - 1.0).abs() < 1e-4, "{total}");
        assert!((active / 37_552_297_472.0 - 1.0).abs() < 1e-4, "{active}");
        // The MTP layer: one MoE layer and its 2h -> h projection (~11.6B, INDEX.md).
        assert!(
            (m.mtp_params() / 1e9 - 11.6).abs() < 0.2,
            "{}",
            m.mtp_params()
        );
    }

    /// `kinds` reads only the layers the lists name; the oracle looks at every layer.
    #[test]
    fn the_kinds_are_those_of_every_layer() {
        let every = |m: &ModelSpec| {
            let mut k: Vec<LayerKind> = (0..m.layers + m.mtp_layers)
                .map(|i| m.layer_kind(i))
                .collect();
            k.sort();
            k.dedup();
            k
        };
        // Counts of each kind in a range, one layer at a time.
        let counted = |m: &ModelSpec, r: std::ops::Range<u32>| {
            let mut c: Vec<(LayerKind, u32)> = Vec::new();
            for i in r {
                let k = m.layer_kind(i);
                match c.iter_mut().find(|(x, _)| *x == k) {
                    Some((_, n)) => *n += 1,
                    None => c.push((k, 1)),
                }
            }
            c.sort_by_key(|&(k, _)| k);
            c
        };
        let check = |m: &ModelSpec| {
            assert_eq!(m.kinds(), every(m), "{:?}", m.window);
            let end = m.layers + m.mtp_layers;
            // Every range between these bounds: the lists' ends, gaps and the MTP layers.
            let bounds = [0, 1, 2, 3, 4, 5, 30, 59, 60, m.layers, end];
            let ranges = bounds
                .iter()
                .flat_map(|&a| bounds.iter().map(move |&b| a..b))
                .filter(|r| r.start <= r.end && r.end <= end);
            for r in ranges {
                assert_eq!(
                    m.kind_counts(r.clone()).to_vec(),
                    counted(m, r.clone()),
                    "{r:?}"
                );
            }
        };
        let mut m = deepseek_v3();
        check(&m);
        for (dense, global) in [
            (vec![], vec![]),
            (vec![0, 1, 2], vec![]),
            (vec![], vec![0, 1, 2]),
            (vec![1, 3], vec![3, 60]),
            ((0..60).collect(), vec![60]),
            ((0..61).step_by(2).collect(), (1..61).step_by(2).collect()),
        ] {
            m.moe.as_mut().unwrap().dense_layers = dense;
            m.window = Some(Window {
                tokens: 4096,
                global_layers: global,
            });
            for mtp in [0, 1, 2] {
                m.mtp_layers = mtp;
                check(&m);
            }
        }
        m.moe = None;
        m.window = None;
        check(&m);
    }

    #[test]
    fn layer_kinds_follow_dense_layers_and_windows() {
        let mut m = deepseek_v3();
        assert!(!m.layer_kind(2).moe && m.layer_kind(3).moe);
        assert!(m.layer_kind(61).mtp && m.layer_kind(61).moe);
        assert_eq!(m.kinds().len(), 3); // dense, MoE, MTP
        m.window = Some(Window {
            tokens: 1024,
            global_layers: vec![5, 11],
        });
        assert_eq!(m.layer_kind(4).window, Some(1024));
        assert_eq!(m.layer_kind(5).window, None);
        m.window.as_mut().unwrap().global_layers = vec![70];
        assert!(m
            .validate("model")
            .unwrap_err()
            .to_string()
            .contains("window_global_layers"));
    }

    #[test]
    fn windows_bound_the_keys_a_query_sees() {
        assert_eq!(attended_keys(None, 8192), 4096.0);
        assert_eq!(attended_keys(Some(8192), 8192), 4096.0);
        assert_eq!(attended_keys(Some(1 << 20), 8192), 4096.0);
        // A 1024 window over 8192 tokens: 1024 - 1024²/16384 = 960 keys on average.
        assert_eq!(attended_keys(Some(1024), 8192), 960.0);
    }
}
