//! `memphis validate`: predictions against published measurements. With no `--cases`,
//! every suite compiled into the binary (the repository's `validation/`); `--suite`
//! picks one.

use crate::cli::ValidateArgs;
use crate::errors::{CliError, CliResult};
use crate::{input, sinks};
use memphis_core::api::{SuiteReport, SuitesReport};
use memphis_core::serde_name;
use memphis_core::validate::{
    parse_cases_with, run_cases, CaseFile, Report, Suite, TrainingCase, SUITES,
};
use std::fmt::Write;

pub fn run(a: ValidateArgs) -> CliResult {
    let mut outs = sinks::Outputs::default();
    let report_out = outs.report("-o", a.output.as_deref())?;
    if let Some(id) = &a.scenario {
        outs.put(report_out, case_scenario(&a, id)?)?;
        return outs.commit();
    }
    let validated = report(&a)?;
    let text = match &validated {
        Validated::One(report) => sinks::report_text(report, a.json, render)?,
        Validated::Suites(reports) => {
            if a.json {
                sinks::json_text(&suites_report(reports))?
            } else {
                let mut o = String::new();
                for (i, (s, r)) in reports.iter().enumerate() {
                    if i > 0 {
                        o.push('\n');
                    }
                    let _ = writeln!(o, "== suite {} ({})\n", s.name, s.path);
                    o.push_str(&render(r));
                }
                o
            }
        }
    };
    outs.put(report_out, text)?;
    outs.commit()?;
    not_simulated(&validated)
}

/// A validation that left cases out is no pass: the whole report is written (the rows
/// say why each was not simulated), then the run fails, so that CI cannot pass on a
/// file whose broken cases the summary quietly drops.
fn not_simulated(v: &Validated) -> CliResult {
    let reports: Vec<(&str, &Report)> = match v {
        Validated::One(r) => vec![("", r)],
        Validated::Suites(s) => s.iter().map(|(s, r)| (s.name, r)).collect(),
    };
    let mut failed = Vec::new();
    let mut total = 0;
    for (suite, r) in reports {
        if let Report::Training { cases, .. } = r {
            total += cases.len();
            failed.extend(cases.iter().filter_map(|c| {
                c.error.as_ref().map(|e| match suite {
                    "" => format!("{}: {e}", c.id),
                    s => format!("{s}: {}: {e}", c.id),
                })
            }));
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(CliError::bad(format!(
        "{} of {total} cases could not be simulated, and the summary leaves them out: {}",
        failed.len(),
        first_few(&failed)
    )))
}

/// The first three of `items`, joined, and how many more there are.
fn first_few(items: &[String]) -> String {
    let shown = items.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
    match items.len().saturating_sub(3) {
        0 => shown,
        more => format!("{shown}; and {more} more (see the report)"),
    }
}

/// What `validate` compared: one case file (or suite), or every suite.
pub enum Validated {
    /// `--cases FILE` or `--suite NAME`.
    One(Report),
    /// Every suite of the repository, in the order of [`SUITES`].
    Suites(Vec<(&'static Suite, Report)>),
}

/// Every suite's report as `--json` prints it.
pub fn suites_report(reports: &[(&'static Suite, Report)]) -> SuitesReport {
    let suites = reports
        .iter()
        .map(|(s, r)| SuiteReport {
            suite: s.name.to_string(),
            file: s.path.to_string(),
            report: r.clone(),
        })
        .collect();
    SuitesReport { suites }
}

/// The comparison `validate` shows, without writing it.
pub fn report(a: &ValidateArgs) -> CliResult<Validated> {
    let timeline = a.step_model == memphis_core::step::StepModel::Timeline;
    let single = match (&a.cases, &a.suite) {
        (Some(path), _) => Some(read_cases(path)?),
        (None, Some(name)) => Some(Suite::named(name)?.cases()?),
        (None, None) => None,
    };
    if let Some(file) = single {
        if let (Some(_), CaseFile::Training(cases)) = (&a.cases, &file) {
            if !sinks::embedded() {
                suite_differences(cases);
            }
        }
        // How `--scenario` finds a case of this file again.
        let from = match (&a.cases, &a.suite) {
            (Some(path), _) => format!("--cases {} ", path.display()),
            (None, Some(name)) => format!("--suite {name} "),
            (None, None) => String::new(),
        };
        return Ok(Validated::One(evaluate(&file, timeline, "", &from)?));
    }
    let mut reports = Vec::with_capacity(SUITES.len());
    for s in SUITES {
        let label = format!("{}: ", s.name);
        reports.push((s, evaluate(&s.cases()?, timeline, &label, "")?));
    }
    Ok(Validated::Suites(reports))
}

/// The scenario training case `id` runs as, as a scenario file (TOML): from `--cases` or
/// `--suite` where given, else from the first suite that has it.
pub fn case_scenario(a: &ValidateArgs, id: &str) -> CliResult<String> {
    let files = match (&a.cases, &a.suite) {
        (Some(path), _) => vec![read_cases(path)?],
        (None, Some(name)) => vec![Suite::named(name)?.cases()?],
        (None, None) => SUITES.iter().map(|s| s.cases()).collect::<Result<_, _>>()?,
    };
    let mut ids = Vec::new();
    for file in &files {
        // A collective case has a curve, not a job: nothing for `simulate` to run.
        if let CaseFile::Collective(cases) = file {
            if cases.iter().any(|c| c.id == id) {
                return Err(CliError::bad(format!(
                    "--scenario: '{id}' is a collective case (a bus-bandwidth curve), not a training run: only training cases export a scenario; `memphis collective` runs its collective"
                )));
            }
        }
        if let CaseFile::Training(cases) = file {
            if let Some(c) = cases.iter().find(|c| c.id == id) {
                // A case the model refuses exports no scenario that `simulate` would
                // refuse in turn: its error now, as its row in the report says it.
                c.scenario()
                    .validate()
                    .map_err(|e| CliError::bad(format!("--scenario {id}: not simulated: {e}")))?;
                return Ok(c.scenario_toml()?);
            }
            ids.extend(cases.iter().map(|c| c.id.as_str()));
        }
    }
    let some = ids.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    let near = memphis_core::error::did_you_mean(id, &ids.join(", "));
    Err(CliError::bad(match ids.len() {
        0 => format!("--scenario: no training case '{id}': there are no training cases here"),
        n => format!("--scenario: no training case '{id}' among the {n} here{near} (e.g. {some})"),
    }))
}

/// The case file at `path`, each `[case.model]` preset that names a file (a config.json,
/// a scenario) read from the case file's folder, as a scenario file's are from its own.
fn read_cases(path: &std::path::Path) -> CliResult<CaseFile> {
    let text = input::read_config(path, "case file")?;
    let folder = path.parent().unwrap_or(std::path::Path::new(""));
    let model_file = |name: &str| {
        let at = folder.join(name);
        input::model_arg(&at.to_string_lossy())
            .map_err(|e| memphis_core::Error::parse("model.preset", e.message))
    };
    Ok(parse_cases_with(
        &path.display().to_string(),
        &text,
        &model_file,
    )?)
}

/// Runs one case file; warns on stderr (prefixed by `label`) about cases the model
/// refused. `from` is the arguments by which `validate --scenario` finds the file's
/// cases (`--cases FILE `), for the warning about cases that do not fit.
fn evaluate(file: &CaseFile, timeline: bool, label: &str, from: &str) -> CliResult<Report> {
    if let CaseFile::Training(cases) = file {
        if !sinks::embedded() {
            assumed_notes(cases, label);
        }
    }
    let report = run_cases(file, timeline)?;
    if let Report::Training { cases, summary, .. } = &report {
        // Nothing compared is no validation: fail, so that CI cannot pass on it.
        if summary.n == 0 {
            let why: Vec<String> = cases
                .iter()
                .filter_map(|c| c.error.as_ref().map(|e| format!("case {}: {e}", c.id)))
                .collect();
            let why = match why.is_empty() {
                true => "the file has no cases".to_string(),
                false => first_few(&why),
            };
            return Err(CliError::bad(format!(
                "{label}no case could be simulated: {why}"
            )));
        }
        let oom: Vec<&str> = cases
            .iter()
            .filter(|c| c.memory.as_ref().is_some_and(|m| !m.fits))
            .map(|c| c.id.as_str())
            .collect();
        if let Some(first) = oom.first() {
            // Plain `simulate` refuses such a plan: say how to run one anyway.
            sinks::note(&format!(
                "warning: {label}{} of {} cases do not fit in memory by memphis's count; they ran, so they are compared all the same (to simulate one, e.g. {first}: `memphis validate {from}--scenario {first} -o out.toml`, then `memphis simulate out.toml --allow-oom`, as plain simulate refuses a plan that does not fit)",
                oom.len(),
                cases.len()
            ));
        }
        for c in cases {
            for n in &c.notes {
                sinks::note(&format!("{label}case {}: {n}", c.id));
            }
        }
    }
    if let Report::Collective { cases, .. } = &report {
        for c in cases {
            for n in &c.notes {
                sinks::note(&format!("warning: {label}case {}: {n}", c.id));
            }
        }
    }
    Ok(report)
}

/// Says on stderr when cases of a file share their ids with the repository's suites but
/// run otherwise there (the suite states recipe values the file does not): the same ids,
/// other figures, and why.
fn suite_differences(cases: &[TrainingCase]) {
    let recipe = |c: &TrainingCase| {
        let mut fields: Vec<(String, String)> = serde_json::to_value(&c.recipe)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        if let Some(r) = c.routing {
            fields.push(("routing".into(), format!("\"{}\"", serde_name(&r))));
        }
        fields
    };
    for suite in SUITES {
        let Ok(CaseFile::Training(theirs)) = suite.cases() else {
            continue;
        };
        let mut differing = Vec::new();
        let mut stated: Vec<(String, usize)> = Vec::new();
        for c in cases {
            let Some(t) = theirs.iter().find(|t| t.id == c.id) else {
                continue;
            };
            let mine = recipe(c);
            let extra: Vec<String> = recipe(t)
                .into_iter()
                .filter(|f| !mine.contains(f))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            if extra.is_empty() {
                continue;
            }
            differing.push(c.id.as_str());
            for f in extra {
                match stated.iter_mut().find(|(k, _)| *k == f) {
                    Some((_, n)) => *n += 1,
                    None => stated.push((f, 1)),
                }
            }
        }
        if !differing.is_empty() {
            let list: Vec<String> = stated.iter().map(|(k, n)| format!("{k} ({n})")).collect();
            sinks::note(&format!(
                "{} of these cases share their ids with the suite '{}' ({}), which gives them recipe values this file does not: {} (`validate --suite {}` runs them so)",
                differing.len(),
                suite.name,
                suite.path,
                list.join(", "),
                suite.name
            ));
        }
    }
}

/// Says on stderr which recipe values cases took from their `assumed` entries, and
/// warns of entries that name a recipe field with a value it does not take.
fn assumed_notes(cases: &[TrainingCase], label: &str) {
    let mut read: Vec<(&str, usize)> = Vec::new();
    for s in cases.iter().flat_map(|c| &c.recipe_assumed) {
        match read.iter_mut().find(|(k, _)| *k == s.as_str()) {
            Some((_, n)) => *n += 1,
            None => read.push((s.as_str(), 1)),
        }
    }
    let taking: Vec<&str> = cases
        .iter()
        .filter(|c| !c.recipe_assumed.is_empty())
        .map(|c| c.id.as_str())
        .collect();
    if !taking.is_empty() {
        let list: Vec<String> = read.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        const SHOWN: usize = 4;
        let more = match taking.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        sinks::note(&format!(
            "{label}{} of {} cases take recipe values from their `assumed` entries: {} (cases {}{more}; `validate --scenario ID` shows one's)",
            taking.len(),
            cases.len(),
            list.join(", "),
            taking[..taking.len().min(SHOWN)].join(", ")
        ));
    }
    for c in cases {
        for why in &c.assumed_unread {
            sinks::note(&format!("warning: {label}case {}: {why}", c.id));
        }
    }
}

fn render(r: &Report) -> String {
    let mut o = String::new();
    match r {
        Report::Training {
            cases,
            summary,
            series,
        } => {
            let w = cases.iter().map(|c| c.id.len()).max().unwrap_or(2).max(4);
            let _ = writeln!(
                o,
                "{:<w$}  {:>12}  {:>12}  {:>8}",
                "case", "measured s", "predicted s", "error"
            );
            for c in cases {
                match (c.predicted_step_time_s, c.error_pct, &c.error) {
                    (Some(p), Some(e), _) => {
                        let _ = write!(
                            o,
                            "{:<w$}  {:>12.3}  {:>12.3}  {:>+7.1}%",
                            c.id, c.measured_step_time_s, p, e
                        );
                        match c.memory.as_ref().filter(|m| !m.fits) {
                            Some(m) => {
                                let _ = writeln!(
                                    o,
                                    "   does not fit by memphis's count: {:.1} GiB per GPU of {:.1} (the run ran; compared all the same)",
                                    m.per_gpu_gib, m.capacity_gib
                                );
                            }
                            None => o.push('\n'),
                        }
                    }
                    (_, _, err) => {
                        let _ = writeln!(
                            o,
                            "{:<w$}  {:>12.3}  {:>12}  {:>8}   not simulated: {}",
                            c.id,
                            c.measured_step_time_s,
                            "-",
                            "-",
                            err.as_deref().unwrap_or("?")
                        );
                    }
                }
            }
            let left_out = summary.not_simulated;
            let _ = writeln!(
                o,
                "\n{} {}: {}{}",
                summary.n,
                if summary.n == 1 { "case" } else { "cases" },
                figures(summary, "mean absolute error", "no case was simulated"),
                match left_out {
                    0 => String::new(),
                    k => format!("; {k} of {} not simulated, left out", cases.len()),
                }
            );
            if !series.is_empty() {
                // Each column as wide as its header and its widest entry: short case ids
                // leave the header wider than the ids, long GPU counts their column.
                const FIRST: &str = "series (fewest GPUs)";
                let gpus: Vec<String> = series
                    .iter()
                    .map(|r| format!("{} -> {}", r.gpus.0, r.gpus.1))
                    .collect();
                let ws = series
                    .iter()
                    .map(|r| r.ids[0].chars().count())
                    .chain([w, FIRST.len()])
                    .max()
                    .unwrap_or(w);
                let wg = gpus.iter().map(String::len).chain([13]).max().unwrap_or(13);
                let _ = writeln!(
                    o,
                    "\nscaling series: step time at the most GPUs over that at the fewest\n{:<ws$}  {:>6}  {:>wg$}  {:>9}  {:>9}  {:>8}",
                    FIRST, "kind", "GPUs", "measured", "predicted", "error"
                );
                for (r, g) in series.iter().zip(&gpus) {
                    let _ = writeln!(
                        o,
                        "{:<ws$}  {:>6}  {:>wg$}  {:>9.3}  {:>9.3}  {:>+7.1}%",
                        r.ids[0],
                        serde_name(&r.scaling),
                        g,
                        r.measured_ratio,
                        r.predicted_ratio,
                        r.error_pct
                    );
                }
            }
        }
        Report::Collective { cases, summary } => {
            for c in cases {
                let _ = writeln!(o, "{}", c.id);
                let _ = writeln!(
                    o,
                    "  {:>12}  {:>11}  {:>11}  {:>11}  {:>8}",
                    "size B", "pred µs", "meas busbw", "pred busbw", "error"
                );
                for i in 0..c.size_bytes.len() {
                    let _ = writeln!(
                        o,
                        "  {:>12}  {:>11.2}  {:>11.2}  {:>11.2}  {:>8}",
                        c.size_bytes[i],
                        c.predicted_time_us[i],
                        c.measured_busbw_gbps[i],
                        c.predicted_busbw_gbps[i],
                        c.error_pct[i].map_or("n/a".to_string(), |e| format!("{e:+.1}%"))
                    );
                }
            }
            for c in cases {
                if let Some(l) = c.latency_error_pct {
                    let _ = writeln!(
                        o,
                        "{}: latency at the smallest size ({} B) error {l:+.1}%",
                        c.id, c.size_bytes[0]
                    );
                }
            }
            let _ = writeln!(
                o,
                "\n{} size{} >= 1 MiB: {}",
                summary.n,
                if summary.n == 1 { "" } else { "s" },
                figures(
                    summary,
                    "mean absolute busbw error",
                    "no size of at least 1 MiB was compared"
                )
            );
        }
    }
    o
}

/// A summary's figures, `what` first: mean, median and worst, or n/a and why where
/// nothing was compared.
fn figures(s: &memphis_core::validate::Summary, what: &str, none: &str) -> String {
    match (s.mape_pct, s.median_ape_pct, s.max_ape_pct, &s.worst) {
        (Some(mean), Some(median), Some(max), Some(worst)) => {
            format!("{what} {mean:.1}%, median {median:.1}%, worst {max:.1}% ({worst})")
        }
        _ => format!("{what} n/a ({none})"),
    }
}
