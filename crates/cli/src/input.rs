//! Reading the user's files: scenarios, models, case files. Every failure is one line
//! that names the path.

use crate::errors::{CliError, CliResult};
use memphis_core::scenario::{self, ModelFile, ScenarioFile, ScenarioLayers};
use std::path::Path;

/// Reads a text file, with clear errors for missing, directory, empty and binary files.
pub fn read_text(path: &Path, what: &str) -> CliResult<String> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::bad(format!("{what} '{shown}': {}", io_reason(&e))))?;
    if meta.is_dir() {
        return Err(CliError::bad(format!(
            "{what} '{shown}': is a directory, expected a file"
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::bad(format!("{what} '{shown}': {}", io_reason(&e))))?;
    if bytes.is_empty() {
        return Err(CliError::bad(format!(
            "{what} '{shown}': the file is empty"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| CliError::bad(format!("{what} '{shown}': not UTF-8 text (a binary file?)")))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// A scenario argument: a preset name, or a path to a TOML file.
pub fn scenario_arg(arg: Option<&str>) -> CliResult<Option<ScenarioFile>> {
    let Some(arg) = arg else { return Ok(None) };
    let p = Path::new(arg);
    if is_file_arg(arg, scenario::SCENARIO_PRESETS) {
        let text = read_text(p, "scenario")?;
        Ok(Some(scenario::parse_scenario(arg, &text)?))
    } else {
        // A preset by name is the base layer: the user wrote none of its fields.
        scenario::scenario_preset(arg)?;
        Ok(Some(ScenarioFile {
            preset: Some(arg.to_string()),
            ..Default::default()
        }))
    }
}

/// A model argument: a preset name, a Hugging Face `config.json`, or a TOML model file.
pub fn model_arg(arg: &str) -> CliResult<ModelFile> {
    let p = Path::new(arg);
    if is_file_arg(arg, scenario::MODEL_PRESETS) {
        let text = read_text(p, "model")?;
        if arg.ends_with(".json") || text.trim_start().starts_with('{') {
            Ok(scenario::model_from_hf_config(arg, &text)?)
        } else {
            Ok(scenario::parse_model(arg, &text)?)
        }
    } else {
        Ok(ModelFile {
            preset: Some(arg.to_string()),
            ..Default::default()
        })
    }
}

fn looks_like_path(arg: &str) -> bool {
    arg.contains('/') || arg.contains('\\') || arg.ends_with(".toml") || arg.ends_with(".json")
}

/// Whether an argument that may be a preset name or a file names a file: one that looks
/// like a path does; a preset's name is the preset even if a file of that name is in
/// the working folder; otherwise an existing file.
pub fn is_file_arg(arg: &str, presets: &[scenario::Preset]) -> bool {
    if looks_like_path(arg) {
        return true;
    }
    let is_preset = presets.iter().any(|p| p.name.eq_ignore_ascii_case(arg));
    !is_preset && Path::new(arg).exists()
}

/// A cluster argument that names a file: the file's fields (a cluster TOML, the
/// `[cluster]` fields at top level). None for a preset name.
pub fn cluster_file_arg(arg: &str) -> CliResult<Option<memphis_core::scenario::ClusterFile>> {
    if !is_file_arg(arg, scenario::CLUSTER_PRESETS) {
        return Ok(None);
    }
    let text = read_text(Path::new(arg), "cluster")?;
    Ok(Some(memphis_core::api::cluster::parse_cluster(arg, &text)?))
}

/// The scenario's layers from the command line: the scenario file (or preset), then the
/// flags that override single fields. The core merges them by its one rule.
pub fn scenario_layers(a: &crate::cli::ScenarioArgs) -> CliResult<ScenarioLayers> {
    let file = scenario_arg(a.scenario.as_deref())?;
    let mut flags = ScenarioFile {
        parallel: a.parallel.clone(),
        training: a.training.clone(),
        network: a.network,
        routing: a.routing,
        ..Default::default()
    };
    let mut cluster = None;
    if let Some(c) = a.cluster.as_deref() {
        match cluster_file_arg(c)? {
            Some(file) => cluster = Some(file),
            None => flags.cluster.preset = Some(c.to_string()),
        }
    }
    flags.cluster.gpu = a.gpu.clone();
    flags.reliability.seed = a.seed;
    let mut model = None;
    if let Some(m) = a.model.as_deref() {
        let parsed = model_arg(m)?;
        if parsed.preset.is_some() {
            flags.model = parsed;
        } else {
            model = Some(parsed);
        }
    }
    Ok(ScenarioLayers {
        file,
        flags,
        model,
        cluster,
    })
}
