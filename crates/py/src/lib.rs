//! `memphis._memphis`: the native half of the Python package (`python/memphis` is the
//! other). Each function takes a command's keyword arguments, turns them into the
//! command line the `memphis` binary would get, and runs it through the binary's own
//! code (`memphis_cli`): the same clap definitions parse the values, the same input
//! code builds the scenario's layers, the same words describe errors. So a Python call
//! and its command line cannot disagree, in figures or in messages, but that the
//! messages and notes name keywords where the binary's name flags (`tp=2` for `--tp 2`,
//! `errors::in_keywords`).
//!
//! Errors: bad input raises `ScenarioError` (a `ValueError`) with the line the binary
//! prints after `error: `; anything else (an I/O failure, a panic, which is caught here
//! and never unwinds into Python) raises `InternalError`.

use clap::Parser;
use memphis_cli::cli::{Cli, Command};
use memphis_cli::commands;
use memphis_cli::errors::{self, CliError, Kind};
use memphis_core::api::SimulationReport;
use memphis_core::scenario::{self, ScenarioLayers};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// Module `memphis`: where the package exports them, so pickle (a Dask worker's or a
// process pool's error) finds the class by its `__module__`.
create_exception!(
    memphis,
    ScenarioError,
    PyValueError,
    "Bad input (a scenario, a preset name, an option's value): the message is the line `memphis` prints after `error: `."
);
create_exception!(
    memphis,
    InternalError,
    PyRuntimeError,
    "A failure that is not the input's: an I/O error, or a fault in memphis (a caught panic)."
);

/// One keyword's value: a switch (`allow_oom=True`), the text its flag would take, or
/// a list's items as such texts. Python turns numbers into text
/// (`python/memphis/__init__.py`).
#[derive(Debug, Clone, FromPyObject)]
enum Opt {
    Flag(bool),
    Text(String),
    List(Vec<String>),
}

/// A command as the command line gives it: the positional argument (a scenario, a
/// collective's name), a scenario given inline as JSON (a Python dict), the options.
#[derive(Debug, Clone)]
struct Call {
    command: String,
    positional: Option<String>,
    inline: Option<String>,
    options: Vec<(String, Opt)>,
}

/// A failed call: the exit-code class and the line the binary prints after `error: `.
#[derive(Debug, Clone)]
struct Failure {
    kind: Kind,
    message: String,
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure {
            kind: e.kind,
            message: errors::one_line(&e.message),
        }
    }
}

impl Failure {
    fn bad(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::BadInput,
            message: errors::one_line(&message.into()),
        }
    }

    fn into_py(self) -> PyErr {
        match self.kind {
            Kind::BadInput => ScenarioError::new_err(self.message),
            Kind::Internal => InternalError::new_err(self.message),
        }
    }
}

/// Options that write files or pick a text format on the command line; in Python the
/// returned object is the output (`Report.to_json()`, `Report.to_html()`).
const OUTPUT_OPTIONS: &[&str] = &[
    "json", "output", "out", "html", "trace", "csv", "timing", "quiet",
];

/// How a long option takes its value, from clap's own definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// No value: a switch (`allow_oom=True` is `--allow-oom`, `False` nothing).
    Nothing,
    /// One value.
    One,
    /// Several, joined by a delimiter (`recompute_modules`: ',').
    Joined(char),
    /// Several, as separate values.
    Separate,
}

/// How each long option of a subcommand takes its value.
fn options_of(command: &str) -> &'static BTreeMap<String, Takes> {
    static ALL: OnceLock<BTreeMap<String, BTreeMap<String, Takes>>> = OnceLock::new();
    static NONE: BTreeMap<String, Takes> = BTreeMap::new();
    let all = ALL.get_or_init(|| {
        use clap::CommandFactory;
        Cli::command()
            .get_subcommands()
            .map(|sub| {
                let options = sub
                    .get_arguments()
                    .filter_map(|a| {
                        let takes = if !a.get_action().takes_values() {
                            Takes::Nothing
                        } else if let Some(d) = a.get_value_delimiter() {
                            Takes::Joined(d)
                        } else if a.get_num_args().is_some_and(|n| n.max_values() > 1) {
                            Takes::Separate
                        } else {
                            Takes::One
                        };
                        Some((a.get_long()?.to_string(), takes))
                    })
                    .collect();
                (sub.get_name().to_string(), options)
            })
            .collect()
    });
    all.get(command).unwrap_or(&NONE)
}

/// The command line of a call (`memphis simulate --gpus=16384 --tp=8 -- PRESET`).
fn argv(call: &Call) -> Result<Vec<String>, Failure> {
    let mut argv = vec!["memphis".to_string(), call.command.clone()];
    let options = options_of(&call.command);
    let is_switch = |flag: &str| options.get(flag) == Some(&Takes::Nothing);
    for (key, value) in &call.options {
        if OUTPUT_OPTIONS.contains(&key.as_str()) {
            return Err(Failure::bad(format!(
                "{key}: an output option of the command line; in Python the returned object is the output (to_dict(), to_json(), to_html())"
            )));
        }
        let flag = key.replace('_', "-");
        match value {
            Opt::Flag(on) if is_switch(&flag) => {
                if *on {
                    argv.push(format!("--{flag}"));
                }
            }
            Opt::Flag(on) => argv.push(format!("--{flag}={on}")),
            Opt::Text(v) if is_switch(&flag) => {
                return Err(Failure::bad(format!(
                    "{key} = {v:?}: True or False (a switch of {})",
                    call.command
                )));
            }
            // `--flag=value` keeps a value that starts with '-' a value, so a negative
            // number gets the message the binary gives for `--gpus -5`.
            Opt::Text(v) => argv.push(format!("--{flag}={v}")),
            Opt::List(items) => match options.get(&flag) {
                Some(Takes::Joined(delimiter)) => {
                    argv.push(format!("--{flag}={}", items.join(&delimiter.to_string())));
                }
                Some(Takes::Separate) => {
                    argv.push(format!("--{flag}"));
                    argv.extend(items.iter().cloned());
                }
                // A list where one value goes is a slip for a sweep, not values to join.
                _ => {
                    return Err(Failure::bad(format!(
                        "keyword {key} = [{}]: {key} takes one value; sweep(grid={{'{key}': [...]}}) runs one scenario per value",
                        items.join(", ")
                    )));
                }
            },
        }
    }
    if let Some(p) = &call.positional {
        argv.push("--".to_string());
        argv.push(p.clone());
    }
    Ok(argv)
}

/// Parses a call with the binary's definitions; clap's error as the binary words it.
fn parse(call: &Call) -> Result<(Command, Vec<String>), Failure> {
    let argv = argv(call)?;
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        // A keyword the command does not take is named as Python names it.
        if e.kind() == clap::error::ErrorKind::UnknownArgument {
            if let Some(flag) = e.get(clap::error::ContextKind::InvalidArg) {
                // clap's suggestion for a misspelt flag, as the keyword it is.
                // Not an output option, which Python refuses as a keyword.
                let near = e
                    .get(clap::error::ContextKind::SuggestedArg)
                    .map(|s| errors::keyword_of(&s.to_string()))
                    .filter(|k| !OUTPUT_OPTIONS.contains(&k.as_str()))
                    .map(|k| format!(" (did you mean '{k}'?)"))
                    .unwrap_or_default();
                return Failure::bad(format!(
                    "unexpected keyword '{}' for {}{near}: memphis.options('{}') lists the keywords it takes",
                    errors::keyword_of(&flag.to_string()),
                    call.command,
                    call.command
                ));
            }
        }
        let line = errors::clap_line(&e.render().to_string());
        let line = line.strip_prefix("error: ").unwrap_or(&line);
        // An argument is named by its keyword (clap names `'--gpus <GPUS>'`, `<OP>`, or
        // `--pattern <PATTERN>` missing), and the keywords' help is `memphis.options`.
        let args: Vec<String> = match e.get(clap::error::ContextKind::InvalidArg) {
            Some(clap::error::ContextValue::String(a)) => vec![a.clone()],
            Some(clap::error::ContextValue::Strings(a)) => a.clone(),
            _ => Vec::new(),
        };
        let mut line = line.to_string();
        for arg in &args {
            let keyword = format!("keyword {}", errors::keyword_of(arg));
            line = line
                .replace(&format!("'{arg}'"), &keyword)
                .replace(arg.as_str(), &keyword);
        }
        if !args.is_empty() {
            line = line.replace(
                " (see --help)",
                &format!(" (memphis.options('{}'))", call.command),
            );
        }
        Failure::bad(line)
    })?;
    Ok((cli.command, argv))
}

/// A scenario given inline (a Python dict, as JSON): parsed as the binary parses a TOML
/// file, so it takes a file's place with the same checks and messages (unknown keys,
/// wrong types); the context is `scenario dict` where a file's is its path.
fn inline_scenario(json: &str) -> Result<scenario::ScenarioFile, Failure> {
    let bad = |why: String| Failure::bad(format!("scenario dict: {why}"));
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| bad(format!("not a mapping of TOML values: {e}")))?;
    if !value.is_object() {
        return Err(bad("not a mapping of a scenario's sections".into()));
    }
    let table = toml::Value::try_from(&value).map_err(|e| bad(format!("not TOML values: {e}")))?;
    let text = toml::to_string(&table).map_err(|e| bad(format!("not TOML values: {e}")))?;
    Ok(scenario::parse_written_scenario("scenario dict", &text).map_err(CliError::from)?)
}

/// The layers of a call: the binary's, with an inline scenario in the file's place.
fn layers(
    args: &memphis_cli::cli::ScenarioArgs,
    inline: Option<&str>,
) -> Result<ScenarioLayers, Failure> {
    let mut layers = memphis_cli::input::scenario_layers(args)?;
    if let Some(json) = inline {
        if args.scenario.is_some() {
            return Err(Failure::bad(
                "a scenario both named and given as a dict: give one",
            ));
        }
        let mut file = inline_scenario(json)?;
        // Sections naming files (a config.json as [model] preset) read them, as a
        // scenario file's do; a model or cluster flag replaces its section whole.
        let sections = memphis_cli::input::inline_section_files(
            &mut file,
            (args.model.is_none(), args.cluster.is_none()),
        )?;
        layers.model = layers.model.take().or(sections.model);
        layers.cluster = layers.cluster.take().or(sections.cluster);
        layers.file = Some(file);
    }
    Ok(layers)
}

/// Runs `f`, with errors worded for the call (a field given as a keyword is named by
/// it), a panic turned into an internal error.
fn guarded<T>(argv: Vec<String>, f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(|| {
        errors::with_given(argv, errors::Naming::Keywords, f)
    })) {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Err(Failure {
                kind: Kind::Internal,
                message: errors::one_line(&format!("internal error (a bug in memphis): {what}")),
            })
        }
    }
}

/// The module's rayon thread pools, one per thread count (`None`: all cores), owned by
/// the process that built them. Nothing here uses rayon's global pool: its threads do
/// not survive `fork`, so a child of a process that had used it (a
/// `ProcessPoolExecutor` on Linux) would wait forever on work sent to them. A child
/// sees another process id and builds pools of its own; the parent's copies, whose
/// threads are not there, are leaked (`mem::forget`), since dropping them would signal
/// threads that do not exist.
struct Pools {
    pid: u32,
    by_threads: BTreeMap<Option<usize>, Arc<rayon::ThreadPool>>,
}

fn pool(threads: Option<usize>) -> Result<Arc<rayon::ThreadPool>, Failure> {
    static POOLS: Mutex<Option<Pools>> = Mutex::new(None);
    let threads = threads.map(|n| n.max(1));
    let pid = std::process::id();
    let mut guard = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_some_and(|p| p.pid != pid) {
        std::mem::forget(guard.take());
    }
    let pools = guard.get_or_insert_with(|| Pools {
        pid,
        by_threads: BTreeMap::new(),
    });
    if let Some(p) = pools.by_threads.get(&threads) {
        return Ok(p.clone());
    }
    let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("memphis-{i}"));
    if let Some(n) = threads {
        builder = builder.num_threads(n);
    }
    let built = Arc::new(builder.build().map_err(|e| Failure {
        kind: Kind::Internal,
        message: format!("starting {} threads: {e}", threads.unwrap_or(0)),
    })?);
    pools.by_threads.insert(threads, built.clone());
    Ok(built)
}

/// Runs `f` on the module's pool (all cores): every native entry point's work, with
/// whatever rayon it uses inside (the planner, the failure Monte Carlo), runs there.
fn in_pool<T: Send>(f: impl FnOnce() -> Result<T, Failure> + Send) -> Result<T, Failure> {
    pool(None)?.install(f)
}

/// A failure's message with the command-line flags it names as keywords.
fn in_keywords(f: Failure) -> Failure {
    Failure {
        message: errors::in_keywords(&f.message),
        ..f
    }
}

/// Every `notes` list of a report (at any depth) with its flags as keywords.
fn notes_in_keywords_of(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match (k.as_str(), x) {
                    ("notes", serde_json::Value::Array(notes)) => {
                        for n in notes.iter_mut() {
                            if let serde_json::Value::String(t) = n {
                                *t = errors::in_keywords(t);
                            }
                        }
                    }
                    (_, x) => notes_in_keywords_of(x),
                }
            }
        }
        serde_json::Value::Array(xs) => xs.iter_mut().for_each(notes_in_keywords_of),
        _ => {}
    }
}

/// `simulate`: the scenario and its report, its notes and errors in keywords.
fn simulate_call(call: &Call) -> Result<SimulationReport, Failure> {
    let (command, argv) = guarded(Vec::new(), || parse(call))?;
    let mut report = guarded(argv, || match command {
        Command::Simulate(a) => {
            let layers = layers(&a.scenario, call.inline.as_deref())?;
            Ok(commands::simulate::simulated_with(&a, layers)?.1)
        }
        _ => Err(Failure::bad(format!("{}: not simulate", call.command))),
    })
    .map_err(in_keywords)?;
    for n in &mut report.notes {
        *n = errors::in_keywords(n);
    }
    Ok(report)
}

/// Every other command's report, as the JSON `--json` prints, its notes and errors in
/// keywords.
fn report_call(call: &Call) -> Result<serde_json::Value, Failure> {
    let mut value = command_report(call).map_err(in_keywords)?;
    notes_in_keywords_of(&mut value);
    Ok(value)
}

/// Every other command's report, as the JSON `--json` prints.
fn command_report(call: &Call) -> Result<serde_json::Value, Failure> {
    let (command, argv) = guarded(Vec::new(), || parse(call))?;
    let json = |v: &dyn erased::Ser| v.value();
    guarded(argv, || {
        let inline = call.inline.as_deref();
        let no_inline = || match inline {
            Some(_) => Err(Failure::bad(format!(
                "{}: takes no scenario dict",
                call.command
            ))),
            None => Ok(()),
        };
        match command {
            Command::Simulate(a) => {
                let layers = layers(&a.scenario, inline)?;
                json(&commands::simulate::simulated_with(&a, layers)?.1)
            }
            Command::Plan(a) => {
                let layers = layers(&a.scenario, inline)?;
                json(&commands::plan::searched_with(&a, layers, &|_, _| {})?)
            }
            Command::Reliability(a) => {
                let layers = layers(&a.scenario, inline)?;
                json(&commands::reliability::report_with(&a, layers)?)
            }
            Command::Cluster(a) => {
                no_inline()?;
                json(&commands::cluster::report(&a)?)
            }
            Command::Collective(a) => {
                no_inline()?;
                json(&commands::collective::report(&a)?)
            }
            Command::Validate(a) => {
                no_inline()?;
                if let Some(id) = &a.scenario {
                    // The case's scenario file, as the command line prints it.
                    return Ok(serde_json::Value::String(
                        commands::validate::case_scenario(&a, id)?,
                    ));
                }
                match commands::validate::report(&a)? {
                    commands::validate::Validated::One(r) => json(&r),
                    commands::validate::Validated::Suites(s) => {
                        json(&commands::validate::suites_report(&s))
                    }
                }
            }
            Command::Power(a) => {
                let opts = commands::power::options(&a)?;
                let layers = layers(&a.scenario, inline)?;
                json(&commands::power::report_with(&a, opts, layers)?)
            }
            Command::Model(a) => {
                no_inline()?;
                json(&commands::model::report(&a)?)
            }
            Command::Jobs(a) => {
                no_inline()?;
                json(&commands::jobs::report(&a)?)
            }
            Command::Place(a) => {
                no_inline()?;
                json(&commands::jobs::place_report(&a)?)
            }
            Command::FabricBench(a) => {
                no_inline()?;
                json(&commands::fabric_bench::report(&a)?)
            }
            _ => Err(Failure::bad(format!(
                "{}: not a command of the Python package",
                call.command
            ))),
        }
    })
}

/// Serializing any report to a JSON value, behind one object-safe trait.
mod erased {
    pub trait Ser {
        fn value(&self) -> Result<serde_json::Value, super::Failure>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> Result<serde_json::Value, super::Failure> {
            serde_json::to_value(self).map_err(|e| super::Failure {
                kind: super::Kind::Internal,
                message: format!("serializing the report: {e}"),
            })
        }
    }
}

/// A simulation's report: its JSON (what `memphis simulate --json` prints) and the
/// report itself, for the HTML page.
#[pyclass(frozen, module = "memphis._memphis")]
struct NativeReport {
    report: SimulationReport,
}

#[pymethods]
impl NativeReport {
    /// The JSON text `memphis simulate --json` prints.
    fn json(&self) -> PyResult<String> {
        serde_json::to_string(&self.report)
            .map_err(|e| InternalError::new_err(format!("serializing the report: {e}")))
    }

    /// The self-contained HTML page `memphis simulate --html` writes.
    fn html(&self) -> String {
        memphis_cli::sinks::html::report(&self.report)
    }
}

fn call_of(
    command: String,
    positional: Option<String>,
    inline: Option<String>,
    options: Vec<(String, Opt)>,
) -> Call {
    Call {
        command,
        positional,
        inline,
        options,
    }
}

/// `memphis simulate`: the report of one scenario. The GIL is released while it runs.
#[pyfunction]
#[pyo3(signature = (positional, inline, options))]
fn simulate(
    py: Python<'_>,
    positional: Option<String>,
    inline: Option<String>,
    options: Vec<(String, Opt)>,
) -> PyResult<NativeReport> {
    let call = call_of("simulate".into(), positional, inline, options);
    let report = py
        .allow_threads(|| in_pool(|| simulate_call(&call)))
        .map_err(Failure::into_py)?;
    Ok(NativeReport { report })
}

/// Any other command (`plan`, `reliability`, `cluster`, `collective`, `validate`): its
/// `--json` report as JSON text. The GIL is released while it runs.
#[pyfunction]
#[pyo3(signature = (command, positional, inline, options))]
fn report(
    py: Python<'_>,
    command: String,
    positional: Option<String>,
    inline: Option<String>,
    options: Vec<(String, Opt)>,
) -> PyResult<String> {
    let call = call_of(command, positional, inline, options);
    let value = py
        .allow_threads(|| in_pool(|| report_call(&call)))
        .map_err(Failure::into_py)?;
    serde_json::to_string(&value)
        .map_err(|e| InternalError::new_err(format!("serializing the report: {e}")))
}

/// One row of a sweep: the main figures of a simulation, with their units in the names.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    scenario: String,
    fits: bool,
    model: String,
    gpu: String,
    gpus: u64,
    tp: u32,
    pp: u32,
    vpp: u32,
    cp: u32,
    ep: u32,
    dp: u32,
    micro_batch: u32,
    /// `none`, `selective` or `full`, as the plan's `recompute`.
    recompute: String,
    global_batch: u64,
    seq_len: u64,
    /// The precision the run ran at (`bf16`, `fp8`, ...), whether given or not.
    precision: String,
    step_time_s: f64,
    mfu: f64,
    mfu_causal: f64,
    tflops_per_gpu: f64,
    tokens_per_s: f64,
    memory_gib: f64,
    /// Fits with less room than memphis stands behind without a warning.
    memory_tight: bool,
    ideal_days: f64,
    days: f64,
    days_p90: f64,
    days_mean: f64,
    gpu_hours: f64,
    ettr: f64,
    it_mw: f64,
    facility_mw: f64,
    run_mwh: f64,
    run_tco2e: f64,
    /// What memphis decided on the user's behalf (the report's `notes`), joined by
    /// [`NOTES_SEPARATOR`]; empty when none.
    notes: String,
}

/// Between two notes in a sweep's `notes` column (a note itself may hold `; `).
const NOTES_SEPARATOR: &str = " | ";

/// A sweep row's columns, in order (`Row::to_py` sets each).
const COLUMNS: &[&str] = &[
    "scenario",
    "fits",
    "model",
    "gpu",
    "gpus",
    "tp",
    "pp",
    "vpp",
    "cp",
    "ep",
    "dp",
    "micro_batch",
    "recompute",
    "global_batch",
    "seq_len",
    "precision",
    "step_time_s",
    "mfu",
    "mfu_causal",
    "tflops_per_gpu",
    "tokens_per_s",
    "memory_gib",
    "memory_tight",
    "ideal_days",
    "days",
    "days_p90",
    "days_mean",
    "gpu_hours",
    "ettr",
    "it_mw",
    "facility_mw",
    "run_mwh",
    "run_tco2e",
    "notes",
];

impl Row {
    fn of(r: &SimulationReport) -> Row {
        let p = &r.plan.plan;
        Row {
            scenario: r.scenario.clone(),
            fits: r.fits,
            model: r.model.name.clone(),
            gpu: r.cluster.inventory.gpu.clone(),
            gpus: r.run.gpus,
            tp: p.tp,
            pp: p.pp,
            vpp: p.vpp,
            cp: p.cp,
            ep: p.ep,
            dp: p.dp,
            micro_batch: p.micro_batch,
            recompute: memphis_core::serde_name(&p.recompute),
            global_batch: r.plan.global_batch,
            seq_len: r.plan.seq_len,
            precision: memphis_core::serde_name(&r.plan.precision),
            step_time_s: r.step.time_s,
            mfu: r.step.mfu,
            mfu_causal: r.step.mfu_causal,
            tflops_per_gpu: r.step.tflops_per_gpu,
            tokens_per_s: r.step.tokens_per_s,
            memory_gib: r.memory.per_gpu_gib,
            memory_tight: r.memory.tight,
            ideal_days: r.run.ideal_days,
            days: r.run.days_p50,
            days_p90: r.run.days_p90,
            days_mean: r.reliability.failures.days_mean,
            gpu_hours: r.run.gpu_hours,
            ettr: r.reliability.failures.ettr,
            it_mw: r.power.report.it_mw,
            facility_mw: r.power.report.facility_mw,
            run_mwh: r.energy.run_mwh,
            run_tco2e: r.carbon.run_tco2e,
            notes: r.notes.join(NOTES_SEPARATOR),
        }
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("scenario", &self.scenario)?;
        d.set_item("fits", self.fits)?;
        d.set_item("model", &self.model)?;
        d.set_item("gpu", &self.gpu)?;
        d.set_item("gpus", self.gpus)?;
        d.set_item("tp", self.tp)?;
        d.set_item("pp", self.pp)?;
        d.set_item("vpp", self.vpp)?;
        d.set_item("cp", self.cp)?;
        d.set_item("ep", self.ep)?;
        d.set_item("dp", self.dp)?;
        d.set_item("micro_batch", self.micro_batch)?;
        d.set_item("recompute", &self.recompute)?;
        d.set_item("global_batch", self.global_batch)?;
        d.set_item("seq_len", self.seq_len)?;
        d.set_item("precision", &self.precision)?;
        d.set_item("step_time_s", self.step_time_s)?;
        d.set_item("mfu", self.mfu)?;
        d.set_item("mfu_causal", self.mfu_causal)?;
        d.set_item("tflops_per_gpu", self.tflops_per_gpu)?;
        d.set_item("tokens_per_s", self.tokens_per_s)?;
        d.set_item("memory_gib", self.memory_gib)?;
        d.set_item("memory_tight", self.memory_tight)?;
        d.set_item("ideal_days", self.ideal_days)?;
        d.set_item("days", self.days)?;
        d.set_item("days_p90", self.days_p90)?;
        d.set_item("days_mean", self.days_mean)?;
        d.set_item("gpu_hours", self.gpu_hours)?;
        d.set_item("ettr", self.ettr)?;
        d.set_item("it_mw", self.it_mw)?;
        d.set_item("facility_mw", self.facility_mw)?;
        d.set_item("run_mwh", self.run_mwh)?;
        d.set_item("run_tco2e", self.run_tco2e)?;
        d.set_item("notes", &self.notes)?;
        debug_assert_eq!(d.len(), COLUMNS.len());
        Ok(d)
    }
}

type Item = (Option<String>, Option<String>, Vec<(String, Opt)>);

/// Runs every call on `threads` threads (None: all cores), results in input order
/// whatever the thread count. `done` counts finished calls; `cancel` stops the rest.
fn run_all(
    calls: &[Call],
    threads: Option<usize>,
    done: &AtomicU64,
    cancel: &AtomicBool,
) -> Result<Vec<Result<Row, Failure>>, Failure> {
    let work = || {
        calls
            .par_iter()
            .map(|c| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(Failure::bad("cancelled"));
                }
                let r = simulate_call(c).map(|r| Row::of(&r));
                done.fetch_add(1, Ordering::Relaxed);
                r
            })
            .collect()
    };
    Ok(pool(threads)?.install(work))
}

/// `simulate` over many scenarios in parallel with the GIL released: a list, in input
/// order, of (row as a dict, None) or (None, (error class, message)). `progress` (a
/// callable taking the count done) is called from this thread about ten times a second.
#[pyfunction]
#[pyo3(signature = (items, threads=None, progress=None))]
#[allow(clippy::type_complexity)]
fn sweep<'py>(
    py: Python<'py>,
    items: Vec<Item>,
    threads: Option<usize>,
    progress: Option<PyObject>,
) -> PyResult<Vec<(Option<Bound<'py, PyDict>>, Option<(bool, String)>)>> {
    let calls: Vec<Call> = items
        .into_iter()
        .map(|(p, i, o)| call_of("simulate".into(), p, i, o))
        .collect();
    let done = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let mut interrupted: Option<PyErr> = None;
    let results = py.allow_threads(|| {
        std::thread::scope(|s| {
            let worker = s.spawn(|| run_all(&calls, threads, &done, &cancel));
            // This thread reports progress and watches for Ctrl-C; the work runs on
            // rayon's threads.
            let mut last = u64::MAX;
            while !worker.is_finished() {
                std::thread::sleep(Duration::from_millis(100));
                let n = done.load(Ordering::Relaxed);
                Python::with_gil(|py| {
                    if let Err(e) = py.check_signals() {
                        cancel.store(true, Ordering::Relaxed);
                        interrupted.get_or_insert(e);
                    }
                    if let (Some(cb), true) = (&progress, n != last) {
                        if let Err(e) = cb.call1(py, (n,)) {
                            cancel.store(true, Ordering::Relaxed);
                            interrupted.get_or_insert(e);
                        }
                    }
                });
                last = n;
            }
            worker.join()
        })
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    let results = results
        .map_err(|_| InternalError::new_err("the sweep's thread panicked"))?
        .map_err(Failure::into_py)?;
    if let Some(cb) = &progress {
        cb.call1(py, (calls.len() as u64,))?;
    }
    results
        .into_iter()
        .map(|r| match r {
            Ok(row) => Ok((Some(row.to_py(py)?), None)),
            Err(f) => Ok((None, Some((f.kind == Kind::BadInput, f.message)))),
        })
        .collect()
}

/// The benchmark's reference: the same calls through the Rust core in this process, on
/// the same threads, with no Python in the loop: (seconds, rows that succeeded).
#[pyfunction]
#[pyo3(signature = (items, threads=None))]
fn sweep_in_rust(
    py: Python<'_>,
    items: Vec<Item>,
    threads: Option<usize>,
) -> PyResult<(f64, usize)> {
    let calls: Vec<Call> = items
        .into_iter()
        .map(|(p, i, o)| call_of("simulate".into(), p, i, o))
        .collect();
    py.allow_threads(|| {
        let started = Instant::now();
        let r = run_all(&calls, threads, &AtomicU64::new(0), &AtomicBool::new(false));
        let elapsed = started.elapsed().as_secs_f64();
        r.map(|rows| (elapsed, rows.iter().filter(|r| r.is_ok()).count()))
    })
    .map_err(Failure::into_py)
}

/// (keyword, flag, help, is a switch, default, the values it takes where they are a
/// list): one row of [`options`].
type OptionRow = (String, String, String, bool, Option<String>, Option<String>);

/// A command's keywords, from clap's definitions: (keyword, flag, help, is a switch,
/// default, choices), in the order `--help` lists them, without the output options
/// (files and text formats, which the returned objects replace) and `--help` itself.
#[pyfunction]
fn options(command: &str) -> PyResult<Vec<OptionRow>> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let sub = cli
        .get_subcommands()
        .find(|s| s.get_name() == command)
        .ok_or_else(|| ScenarioError::new_err(format!("{command}: not a memphis command")))?;
    Ok(sub
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter_map(|a| a.get_long().map(|long| (a, long)))
        .filter(|(_, long)| {
            *long != "help" && !OUTPUT_OPTIONS.contains(&long.replace('-', "_").as_str())
        })
        .map(|(a, long)| {
            let defaults: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            // What `--help` lists as "Possible values" (none for a switch).
            let choices: Vec<String> = a
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            let choices = (a.get_action().takes_values() && !choices.is_empty())
                .then(|| choices.join(","));
            (
                long.replace('-', "_"),
                format!("--{long}"),
                a.get_help().map(|h| h.to_string()).unwrap_or_default(),
                !a.get_action().takes_values(),
                (!defaults.is_empty()).then(|| defaults.join(",")),
                choices,
            )
        })
        .collect())
}

/// The embedded presets as (kind, name, description, default) rows.
#[pyfunction]
fn presets() -> Vec<(String, String, String, bool)> {
    let mut out = Vec::new();
    for (kind, list) in [
        ("cluster", scenario::CLUSTER_PRESETS),
        ("model", scenario::MODEL_PRESETS),
        ("scenario", scenario::SCENARIO_PRESETS),
    ] {
        for p in list {
            out.push((
                kind.to_string(),
                p.name.to_string(),
                scenario::preset_description(p),
                p.name == scenario::DEFAULT_SCENARIO,
            ));
        }
    }
    out
}

/// A command's `--json` output as the Python function returns it: its notes with the
/// flags they name as keywords. For checking the package against the binary.
#[pyfunction]
fn notes_in_keywords(json: &str) -> PyResult<String> {
    let mut value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ScenarioError::new_err(format!("not JSON: {e}")))?;
    notes_in_keywords_of(&mut value);
    serde_json::to_string(&value)
        .map_err(|e| InternalError::new_err(format!("serializing the report: {e}")))
}

/// A message of the binary's as the Python package words it: the flags it names as
/// keywords (`--tp 2` is `tp=2`). For checking the package against the binary.
#[pyfunction]
fn flags_as_keywords(text: &str) -> String {
    errors::in_keywords(text)
}

#[pymodule]
fn _memphis(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Nothing on stderr from inside Python: notes are in the reports.
    memphis_cli::sinks::set_embedded(true);
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("InternalError", m.py().get_type::<InternalError>())?;
    m.add_class::<NativeReport>()?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_in_rust, m)?)?;
    m.add("SWEEP_COLUMNS", COLUMNS.to_vec())?;
    m.add("NOTES_SEPARATOR", NOTES_SEPARATOR)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(options, m)?)?;
    m.add_function(wrap_pyfunction!(notes_in_keywords, m)?)?;
    m.add_function(wrap_pyfunction!(flags_as_keywords, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
