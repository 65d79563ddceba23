//! `memphis model`: a model as memphis reads it (a preset, a TOML model file or a
//! Hugging Face config.json): layers by kind, attention and MLP shapes, parameters, and
//! what the config has that memphis does not model.

use crate::cli::ModelArgs;
use crate::errors::CliResult;
use crate::sinks::format::count;
use crate::{input, sinks};
use memphis_core::api::model::{self as api, AttentionKind, ModelReport};
use memphis_core::MlpKind;
use std::fmt::Write;

pub fn run(a: ModelArgs) -> CliResult {
    sinks::report(&report(&a)?, a.json, a.output.as_deref(), render)
}

/// The model as memphis reads it.
pub fn report(a: &ModelArgs) -> CliResult<ModelReport> {
    Ok(api::model_report(input::model_arg(&a.model)?)?)
}

/// Billions with two decimals: 671.03B.
fn billions(x: u64) -> String {
    format!("{:.2}B", x as f64 / 1e9)
}

/// "61: 3 dense + 58 MoE; 52 windowed + 10 global; + 1 MTP".
fn layers_line(r: &ModelReport) -> String {
    let mut parts = Vec::new();
    if r.moe_layers > 0 {
        parts.push(if r.dense_layers > 0 {
            format!("{} dense + {} MoE", r.dense_layers, r.moe_layers)
        } else {
            format!("{} MoE", r.moe_layers)
        });
    }
    if r.windowed_layers > 0 {
        parts.push(format!(
            "{} windowed + {} global",
            r.windowed_layers, r.global_layers
        ));
    }
    let mut line = r.layers.to_string();
    if !parts.is_empty() {
        line = format!("{line}: {}", parts.join("; "));
    }
    if r.mtp_layers > 0 {
        let _ = write!(line, ", + {} MTP after the decoder", r.mtp_layers);
    }
    line
}

fn attention_line(r: &ModelReport) -> String {
    let a = &r.attention;
    let mut line = match (a.kind, a.mla) {
        (AttentionKind::Mla, Some(m)) => {
            let q = if m.q_lora_rank == 0 {
                "full-rank queries".to_string()
            } else {
                format!("q rank {}", m.q_lora_rank)
            };
            format!(
                "MLA, {} heads: {q}, kv rank {}, qk {} + {} rope, v {}",
                a.heads, m.kv_lora_rank, m.qk_nope_dim, m.qk_rope_dim, m.v_dim
            )
        }
        (AttentionKind::Gqa, _) | (AttentionKind::Mqa, _) => format!(
            "{}, {} heads / {} KV heads x {}",
            if a.kind == AttentionKind::Mqa {
                "MQA"
            } else {
                "GQA"
            },
            a.heads,
            a.kv_heads,
            a.head_dim
        ),
        _ => format!("MHA, {} heads x {}", a.heads, a.head_dim),
    };
    if a.qkv_bias {
        line.push_str(", q/k/v biases");
    }
    line
}

fn render(r: &ModelReport) -> String {
    let mut o = String::new();
    match &r.description {
        Some(d) => {
            let _ = writeln!(o, "model {} ({d})", r.name);
        }
        None => {
            let _ = writeln!(o, "model {}", r.name);
        }
    }
    let _ = writeln!(o, "  layers       {}", layers_line(r));
    let _ = writeln!(o, "  hidden       {}", r.hidden);
    let _ = writeln!(o, "  attention    {}", attention_line(r));
    if let Some(w) = &r.attention.window {
        let _ = writeln!(
            o,
            "  window       {} tokens on {} layers; full attention on {}",
            count(w.tokens),
            r.windowed_layers,
            r.global_layers
        );
    }
    let kind = match r.mlp.kind {
        MlpKind::Gated => "gated (SwiGLU/GeGLU)",
        MlpKind::Standard => "standard (two matrices)",
    };
    match &r.mlp.moe {
        Some(_) if r.dense_layers == 0 => {
            let _ = writeln!(o, "  MLP          {kind}, experts only");
        }
        _ => {
            let _ = writeln!(o, "  MLP          {kind}, dense {} wide", r.mlp.ffn_hidden);
        }
    }
    if let Some(m) = &r.mlp.moe {
        let shared = if m.shared_ffn > 0 {
            format!(", shared {} wide", m.shared_ffn)
        } else {
            String::new()
        };
        let groups = if m.groups_per_token < m.groups {
            format!(" from {} of {} groups", m.groups_per_token, m.groups)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  experts      {} routed, top-{}{groups}, {} wide{shared}; busiest at {}x the mean load",
            m.experts, m.topk, m.expert_ffn, m.imbalance
        );
    }
    let _ = writeln!(
        o,
        "  vocab        {}, {}",
        count(r.vocab),
        if r.tied_embeddings { "tied" } else { "untied" }
    );
    if let Some(n) = r.attention.max_seq_len {
        let _ = writeln!(
            o,
            "  context      {} tokens (max_seq_len: what its positions were trained for)",
            count(n)
        );
    }
    let mut params = format!("{} ({})", billions(r.params), count(r.params));
    if r.active_params < r.params {
        let _ = write!(
            params,
            "; active {} ({})",
            billions(r.active_params),
            count(r.active_params)
        );
        if let Some(n) = r.active_params_without_input_embedding {
            let _ = write!(params, ", {} without the input embedding", billions(n));
        }
    }
    let _ = writeln!(o, "  parameters   {params}");
    if r.mtp_layers > 0 {
        let _ = writeln!(
            o,
            "  MTP          {} more (not in the parameters; its embedding and output head are the model's, shared, and not counted again)",
            billions(r.mtp_params)
        );
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings:");
        for w in &r.warnings {
            let _ = writeln!(o, "  {w}");
        }
    }
    o
}
