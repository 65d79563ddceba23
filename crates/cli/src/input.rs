//! Reading the user's files: scenarios, models, case files. Every failure is one line
//! that names the path.

use crate::errors::{CliError, CliResult};
use memphis_core::scenario::{self, ClusterFile, ModelFile, ScenarioFile, ScenarioLayers};
use std::path::Path;

/// The largest data file read (nccl-tests logs, plan shards): far above any real one,
/// low enough that a wrong path cannot exhaust memory (their parsers need about their
/// size again).
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// The largest configuration read (scenarios, model and cluster files, config.json,
/// case files; real ones are kilobytes). Lower than [`MAX_INPUT_BYTES`] because parsing
/// TOML takes up to about 90 bytes of memory and 0.3 µs per byte of input: 8 MiB stays
/// under 1 GiB and 3 s.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;

/// Reads a data file (an nccl-tests log, a plan shard) of at most [`MAX_INPUT_BYTES`];
/// see [`read_limited`].
pub fn read_text(path: &Path, what: &str) -> CliResult<String> {
    read_limited(path, what, MAX_INPUT_BYTES)
}

/// Reads a configuration file (TOML, config.json) of at most [`MAX_CONFIG_BYTES`]; see
/// [`read_limited`].
pub fn read_config(path: &Path, what: &str) -> CliResult<String> {
    read_limited(path, what, MAX_CONFIG_BYTES)
}

/// Reads a text file of at most `limit` bytes, with clear errors for missing,
/// directory, non-regular (a FIFO, a device), oversized, empty and binary files.
/// Nothing is read from a file that is refused; a UTF-8 byte order mark is dropped.
pub fn read_limited(path: &Path, what: &str, limit: u64) -> CliResult<String> {
    let shown = path.display();
    remember_input(path, what);
    let bad = |why: &str| CliError::bad(format!("{what} '{shown}': {why}"));
    let meta = std::fs::metadata(path).map_err(|e| bad(&io_reason(&e)))?;
    check_regular(&meta, limit).map_err(|why| bad(&why))?;
    // Non-blocking: should the path have become a FIFO since, opening it does not wait
    // for a writer; the opened file is checked again.
    let file = open_nonblocking(path).map_err(|e| bad(&io_reason(&e)))?;
    let meta = file.metadata().map_err(|e| bad(&io_reason(&e)))?;
    check_regular(&meta, limit).map_err(|why| bad(&why))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .map_err(|e| CliError::env(format!("{what} '{shown}': cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > limit {
        return Err(bad(&too_big(None, limit)));
    }
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    if bytes.is_empty() {
        return Err(bad("the file is empty"));
    }
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text (a binary file?)"))
}

/// The files this run has read (canonical path, what it was), so that no output
/// replaces one of them (`sinks::output`). Kept by the binary only, which runs one
/// command a process; embedded (Python), calls share the process and write no files.
static INPUTS: std::sync::Mutex<Vec<(std::path::PathBuf, String)>> =
    std::sync::Mutex::new(Vec::new());

fn remember_input(path: &Path, what: &str) {
    if crate::sinks::embedded() {
        return;
    }
    if let (Ok(p), Ok(mut inputs)) = (std::fs::canonicalize(path), INPUTS.lock()) {
        inputs.push((p, what.to_string()));
    }
}

/// What the run read from `path` (its description), if it is one of its inputs.
pub fn input_at(path: &Path) -> Option<String> {
    let p = std::fs::canonicalize(path).ok()?;
    let inputs = INPUTS.lock().ok()?;
    inputs.iter().find(|(q, _)| *q == p).map(|(_, w)| w.clone())
}

/// A regular file within the size limit, or why not.
fn check_regular(meta: &std::fs::Metadata, limit: u64) -> Result<(), String> {
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err("is a directory, expected a file".into());
    }
    if !ft.is_file() {
        return Err(format!(
            "is {}, not a regular file; inputs are read from regular files only",
            special_kind(&ft)
        ));
    }
    if meta.len() > limit {
        return Err(too_big(Some(meta.len()), limit));
    }
    Ok(())
}

fn too_big(len: Option<u64>, limit: u64) -> String {
    let mib = |n: u64| n as f64 / (1u64 << 20) as f64;
    let size = len.map_or(format!("more than {} MiB", limit >> 20), |n| {
        format!("{:.1} MiB", mib(n))
    });
    format!(
        "{size}, over the limit of {} MiB for this file",
        limit >> 20
    )
}

/// What a file that is neither a regular file nor a directory is, in words.
pub fn special_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_symlink() {
        return "a symbolic link";
    }
    "a special file"
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// An I/O error in a few words (no "(os error 2)").
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// A scenario argument: a preset name, or a path to a TOML file.
pub fn scenario_arg(arg: Option<&str>) -> CliResult<Option<ScenarioFile>> {
    let Some(arg) = arg else { return Ok(None) };
    let p = Path::new(arg);
    if is_file_arg(arg, scenario::SCENARIO_PRESETS) {
        let text = read_config(p, "scenario")?;
        match scenario::parse_scenario(arg, &text) {
            Ok(file) => Ok(Some(file)),
            Err(e) => Err(wrong_kind_of_file(arg, &text, FileKind::Scenario).unwrap_or(e.into())),
        }
    } else {
        // A preset by name is the base layer: the user wrote none of its fields.
        scenario::scenario_preset(arg)?;
        Ok(Some(ScenarioFile {
            preset: Some(arg.to_string()),
            ..Default::default()
        }))
    }
}

/// The kinds of TOML file memphis reads, each where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A scenario: the argument without a flag.
    Scenario,
    /// A cluster's fields: `--cluster FILE`.
    Cluster,
    /// A model's fields: `--model FILE`.
    Model,
    /// Several jobs: `memphis jobs FILE`, `memphis place FILE`.
    Jobs,
}

impl FileKind {
    fn noun(self) -> &'static str {
        match self {
            FileKind::Scenario => "a scenario",
            FileKind::Cluster => "a cluster file",
            FileKind::Model => "a model file",
            FileKind::Jobs => "a jobs file",
        }
    }

    fn how(self, arg: &str) -> String {
        match self {
            FileKind::Scenario => format!(
                "give it as the scenario, without a flag (`memphis simulate {arg}`; `collective` and `fabric-bench` take a cluster file only)"
            ),
            FileKind::Cluster => format!("give it as --cluster {arg}"),
            FileKind::Model => format!("give it as --model {arg}"),
            FileKind::Jobs => format!("run `memphis jobs {arg}` or `memphis place {arg}`"),
        }
    }

    /// What a file's text reads as, most specific first: jobs ([[job]] sections), a
    /// scenario (sections), a cluster's fields, a model's; None for an empty file or
    /// one that reads as none.
    fn of(arg: &str, text: &str) -> Option<FileKind> {
        if text.trim().is_empty() {
            return None;
        }
        if memphis_core::jobs::parse_jobs(arg, text).is_ok_and(|j| !j.jobs.is_empty()) {
            Some(FileKind::Jobs)
        } else if scenario::is_scenario_text(text) && scenario::parse_scenario(arg, text).is_ok() {
            Some(FileKind::Scenario)
        } else if memphis_core::api::cluster::parse_cluster(arg, text).is_ok() {
            Some(FileKind::Cluster)
        } else if scenario::parse_model(arg, text).is_ok() {
            Some(FileKind::Model)
        } else {
            None
        }
    }
}

/// A file given as `asked` that reads as another kind: what it is and where it goes, in
/// place of the parser's complaint about its first key.
pub fn wrong_kind_of_file(arg: &str, text: &str, asked: FileKind) -> Option<CliError> {
    let kind = FileKind::of(arg, text).filter(|&k| k != asked)?;
    Some(CliError::bad(format!(
        "{arg} is {}, not {}: {}",
        kind.noun(),
        asked.noun(),
        kind.how(arg)
    )))
}

/// The sections of a scenario file whose `preset` names a file (a path, relative to
/// the scenario file's folder) instead of a preset: `[model] preset = "config.json"`,
/// `[cluster] preset = "my-cluster.toml"`. Each is taken out of the file as a whole
/// section, as `--model FILE` and `--cluster FILE` give one: that file's fields under
/// the ones the section writes beside its `preset`.
#[derive(Debug, Default)]
pub struct SectionFiles {
    /// The model section, read from its file.
    pub model: Option<ModelFile>,
    /// The cluster section, read from its file.
    pub cluster: Option<ClusterFile>,
}

/// Takes [`SectionFiles`] out of `file`, read from `scenario`'s scenario file (none for
/// a scenario preset); `model` and `cluster` say which sections to take (not those a
/// flag replaces: the merge then notes the file's section unused).
pub fn section_files(
    file: &mut ScenarioFile,
    scenario: Option<&str>,
    take: (bool, bool),
) -> CliResult<SectionFiles> {
    match scenario.filter(|s| is_file_arg(s, scenario::SCENARIO_PRESETS)) {
        Some(s) => section_files_within(file, folder_of(s), take, 0),
        None => Ok(SectionFiles::default()),
    }
}

/// [`section_files`] for a scenario given inline (the Python package's dict): the files
/// its sections name are found from the working folder, as a scenario file's are from
/// its own folder.
pub fn inline_section_files(
    file: &mut ScenarioFile,
    take: (bool, bool),
) -> CliResult<SectionFiles> {
    section_files_within(file, Path::new(""), take, 0)
}

/// A jobs file's `[cluster]` and each `[job.model]` whose `preset` names a file, read as
/// a scenario file's are ([`section_files`]).
pub fn jobs_section_files(file: &mut memphis_core::jobs::JobsFile, at: &str) -> CliResult<()> {
    let mut wrapper = ScenarioFile {
        cluster: std::mem::take(&mut file.cluster),
        ..Default::default()
    };
    let sections = section_files(&mut wrapper, Some(at), (false, true))?;
    file.cluster = sections.cluster.unwrap_or(wrapper.cluster);
    for (i, job) in file.jobs.iter_mut().enumerate() {
        let mut wrapper = ScenarioFile {
            model: std::mem::take(&mut job.model),
            ..Default::default()
        };
        let sections = section_files(&mut wrapper, Some(at), (true, false)).map_err(|e| {
            let name = job.name.clone().unwrap_or_else(|| format!("job[{i}]"));
            CliError {
                message: format!("job '{name}': {}", e.message),
                ..e
            }
        })?;
        job.model = wrapper.model;
        job.model_file = sections.model;
    }
    Ok(())
}

/// The folder of the file `at` (the working folder for a bare name).
fn folder_of(at: &str) -> &Path {
    Path::new(at).parent().unwrap_or(Path::new(""))
}

/// `file`'s sections whose preset names a file, read from `dir` (a relative name) or
/// as given (an absolute one).
fn section_files_within(
    file: &mut ScenarioFile,
    dir: &Path,
    (model, cluster): (bool, bool),
    depth: u32,
) -> CliResult<SectionFiles> {
    let mut out = SectionFiles::default();
    let at = |name: &str| dir.join(name).to_string_lossy().into_owned();
    if let Some(name) = file
        .model
        .preset
        .clone()
        .filter(|n| model && scenario::names_a_file(n))
    {
        let base = model_arg_within(&at(&name), depth)?;
        let model = std::mem::take(&mut file.model).over(&base)?;
        // Checked here, so that an error names the file it comes from.
        model.clone().validate("model").map_err(|e| {
            e.within(&origin(
                "[model]",
                &at(&name),
                base.validate("model").is_ok(),
            ))
        })?;
        out.model = Some(model);
    }
    if let Some(name) = file
        .cluster
        .preset
        .clone()
        .filter(|n| cluster && scenario::names_a_file(n))
    {
        if let Some(base) = cluster_file_arg(&at(&name))? {
            let written = std::mem::take(&mut file.cluster);
            let cluster = scenario::section_under(&written, &base)?;
            cluster.clone().validate("cluster").map_err(|e| {
                e.within(&origin(
                    "[cluster]",
                    &at(&name),
                    base.clone().validate("cluster").is_ok(),
                ))
            })?;
            out.cluster = Some(cluster);
        }
    }
    Ok(out)
}

/// Where a section's bad field comes from: the file its preset names, or, where that file
/// alone is sound (`file_sound`), the fields the section writes beside it.
fn origin(section: &str, file: &str, file_sound: bool) -> String {
    if file_sound {
        format!("{section} (its fields beside preset '{file}')")
    } else {
        format!("{section} from '{file}'")
    }
}

/// A model argument: a preset name, a Hugging Face `config.json`, or a TOML model file
/// (a scenario file: its model section). A TOML file's `preset` may name another file,
/// relative to it, as a scenario file's sections may.
pub fn model_arg(arg: &str) -> CliResult<ModelFile> {
    model_arg_within(arg, 0)
}

/// How deep model files may name one another (a file naming itself stops here).
const MODEL_FILE_DEPTH: u32 = 8;

fn model_arg_within(arg: &str, depth: u32) -> CliResult<ModelFile> {
    let p = Path::new(arg);
    if depth > MODEL_FILE_DEPTH {
        return Err(CliError::bad(format!(
            "model '{arg}': model files name one another more than {MODEL_FILE_DEPTH} deep (a file that names itself?)"
        )));
    }
    if is_file_arg(arg, scenario::MODEL_PRESETS) {
        let text = read_config(p, "model")?;
        if arg.ends_with(".json") || text.trim_start().starts_with('{') {
            return Ok(memphis_core::hf_config::model_from_hf_config(arg, &text)?);
        }
        if scenario::is_scenario_text(&text) {
            // A scenario's model is read; a jobs file has sections too, but is none.
            let mut file = match scenario::parse_scenario(arg, &text) {
                Ok(f) => f,
                Err(e) => {
                    return Err(wrong_kind_of_file(arg, &text, FileKind::Model).unwrap_or(e.into()))
                }
            };
            let sections =
                section_files_within(&mut file, folder_of(arg), (true, true), depth + 1)?;
            let mut m = match sections.model {
                Some(m) => m,
                None => {
                    let layers = ScenarioLayers {
                        file: Some(file),
                        cluster: sections.cluster,
                        ..Default::default()
                    };
                    layers.merge()?.file.model
                }
            };
            if m != ModelFile::default() {
                m.warnings.push(format!(
                    "'{arg}' is a scenario: its model is read, its other sections are not"
                ));
            }
            return Ok(m);
        }
        // A model file whose preset names a file: read as a scenario's [model] is.
        let model = match scenario::parse_model(arg, &text) {
            Ok(m) => m,
            Err(e) => {
                return Err(wrong_kind_of_file(arg, &text, FileKind::Model).unwrap_or_else(
                    || {
                        // Not TOML at all (a README, a log): say what a model file is.
                        if arg.ends_with(".toml") {
                            e.into()
                        } else {
                            CliError::bad(format!(
                                "{e}; a model is a preset name (`memphis presets`), a Hugging Face config.json or a TOML model file"
                            ))
                        }
                    },
                ));
            }
        };
        let mut file = ScenarioFile {
            model,
            ..Default::default()
        };
        let sections = section_files_within(&mut file, folder_of(arg), (true, false), depth + 1)?;
        Ok(sections.model.unwrap_or(file.model))
    } else {
        Ok(ModelFile {
            preset: Some(arg.to_string()),
            ..Default::default()
        })
    }
}

/// Whether an argument that may be a preset name or a file names a file: one that looks
/// like a path does; a preset's name is the preset even if a file of that name is in
/// the working folder; otherwise an existing file.
pub fn is_file_arg(arg: &str, presets: &[scenario::Preset]) -> bool {
    if scenario::names_a_file(arg) {
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
    let text = read_config(Path::new(arg), "cluster")?;
    match memphis_core::api::cluster::parse_cluster(arg, &text) {
        Ok(c) => Ok(Some(c)),
        Err(e) => Err(wrong_kind_of_file(arg, &text, FileKind::Cluster).unwrap_or(e.into())),
    }
}

/// The scenario's layers from the command line: the scenario file (or preset), then the
/// flags that override single fields. The core merges them by its one rule.
pub fn scenario_layers(a: &crate::cli::ScenarioArgs) -> CliResult<ScenarioLayers> {
    let mut file = scenario_arg(a.scenario.as_deref())?;
    let sections = match file.as_mut() {
        Some(f) => section_files(
            f,
            a.scenario.as_deref(),
            (a.model.is_none(), a.cluster.is_none()),
        )?,
        None => SectionFiles::default(),
    };
    let mut flags = ScenarioFile {
        parallel: a.parallel.clone(),
        training: a.training.clone(),
        network: a.network,
        routing: a.routing,
        ..Default::default()
    };
    // A section the file reads from a file is a whole section, as the flag's is.
    let mut cluster = sections.cluster;
    if let Some(c) = a.cluster.as_deref() {
        match cluster_file_arg(c)? {
            Some(file) => cluster = Some(file),
            None => flags.cluster.preset = Some(c.to_string()),
        }
    }
    flags.cluster.gpu = a.gpu.clone();
    flags.reliability.seed = a.seed;
    flags.reliability.spare_gpus = a.spares;
    flags.reliability.checkpoint_interval_min = a.checkpoint_interval_min;
    let mut model = sections.model;
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
        servers: None,
    })
}
