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
    if looks_like_path(arg) || p.exists() {
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
    if looks_like_path(arg) || p.exists() {
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
    flags.cluster.preset = a.cluster.clone();
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
    Ok(ScenarioLayers { file, flags, model })
}
