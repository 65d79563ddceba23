//! Errors of the binary and their exit codes (README, "Exit codes"): 2 for bad input
//! (flags, values, files, output paths), 1 for the environment (a write or read that
//! failed: full disk, I/O error) and our own faults. [`one_line`] is how every error
//! line is printed.

/// What went wrong, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user's input (flags, files, values, output paths): exit 2.
    BadInput,
    /// The environment's fault (a full disk, an I/O error) or ours: exit 1.
    Internal,
}

impl Kind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Kind::BadInput => 2,
            Kind::Internal => 1,
        }
    }
}

/// One error, one line.
#[derive(Debug)]
pub struct CliError {
    /// Exit code class.
    pub kind: Kind,
    /// The line to print.
    pub message: String,
}

impl CliError {
    /// A bad-input error.
    pub fn bad(message: impl Into<String>) -> Self {
        CliError {
            kind: Kind::BadInput,
            message: message.into(),
        }
    }
    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        CliError {
            kind: Kind::Internal,
            message: message.into(),
        }
    }
    /// The environment failed us (a write to a full disk, an I/O error): exit 1, like an
    /// internal error.
    pub fn env(message: impl Into<String>) -> Self {
        CliError::internal(message)
    }
}

/// The longest quoted value (`'...'`, `"..."` or `` `...` ``) shown in an error, in
/// characters; longer ones are cut with an ellipsis.
pub const VALUE_MAX_CHARS: usize = 200;
/// The longest error line, in characters, after escaping; the middle of a longer one is
/// cut.
pub const LINE_MAX_CHARS: usize = 1000;

/// An error message made safe to print as one line on a terminal: quoted values longer
/// than [`VALUE_MAX_CHARS`] are cut, control characters (newlines, escape sequences) and
/// bidirectional overrides are escaped (`\n`, `\u{1b}`), and a line still longer than
/// [`LINE_MAX_CHARS`] loses its middle. Every error line of the binary goes through here.
pub fn one_line(message: &str) -> String {
    let escaped = escape(&cut_quoted(message));
    let n = escaped.chars().count();
    if n <= LINE_MAX_CHARS {
        return escaped;
    }
    let head: String = escaped.chars().take(LINE_MAX_CHARS * 6 / 10).collect();
    let tail: String = escaped.chars().skip(n - LINE_MAX_CHARS * 3 / 10).collect();
    let cut = n - head.chars().count() - tail.chars().count();
    format!("{head} … ({cut} characters cut) … {tail}")
}

/// Cuts each quoted span longer than [`VALUE_MAX_CHARS`]. A quote opens a span at the
/// start or after a space or an opening bracket (so the apostrophe of "doesn't" does
/// not); the span ends at the same quote character, or at the end of the message.
fn cut_quoted(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(4 * LINE_MAX_CHARS));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens = matches!(c, '\'' | '"' | '`')
            && (i == 0 || matches!(chars[i - 1], ' ' | '(' | '[' | '=' | ':' | ','));
        if !opens {
            out.push(c);
            i += 1;
            continue;
        }
        let end = chars[i + 1..]
            .iter()
            .position(|&d| d == c)
            .map_or(chars.len(), |p| i + 1 + p);
        let inner = &chars[i + 1..end];
        out.push(c);
        if inner.len() > VALUE_MAX_CHARS {
            out.extend(&inner[..VALUE_MAX_CHARS]);
            out.push('…');
        } else {
            out.extend(inner);
        }
        if end < chars.len() {
            out.push(c);
        }
        i = end + 1;
    }
    out
}

/// Escapes what a terminal would act on ([`memphis_core::text::escape_controls`]),
/// newlines too: a message is one line.
fn escape(s: &str) -> String {
    memphis_core::text::escape_controls(s, false)
}

impl From<memphis_core::Error> for CliError {
    fn from(mut e: memphis_core::Error) -> Self {
        // The value given is the user's: cut, like a quoted one (see `one_line`).
        if let memphis_core::Error::Invalid { value, .. } = &mut e {
            if let Some((i, _)) = value.char_indices().nth(VALUE_MAX_CHARS) {
                value.truncate(i);
                value.push('…');
            }
        }
        let (given, naming) = GIVEN
            .with(|g| g.borrow().clone())
            .unwrap_or_else(|| (std::env::args().collect(), Naming::Flags));
        CliError::bad(with_flag(e, &given, naming))
    }
}

/// How an error names a field the user gave on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// As the flag it was given with: `--global-batch`.
    Flags,
    /// As the keyword an embedder's caller wrote (Python's `global_batch`), whose
    /// arguments were turned into flags.
    Keywords,
}

thread_local! {
    /// The arguments an embedder passed in place of the process's (see [`with_given`]).
    static GIVEN: std::cell::RefCell<Option<(Vec<String>, Naming)>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `given` standing for the command line, for the words of its errors (a
/// field given as a flag is named as `naming` says). The Python package runs commands
/// inside Python, whose own arguments are not the user's: it passes the arguments it
/// built from the keywords. On this thread only, so parallel sweeps do not mix them.
pub fn with_given<T>(given: Vec<String>, naming: Naming, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<(Vec<String>, Naming)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            GIVEN.with(|g| *g.borrow_mut() = before);
        }
    }
    let _restore = Restore(GIVEN.with(|g| g.borrow_mut().replace((given, naming))));
    f()
}

/// One line from clap's error: its first paragraph (the message, which may hold the
/// user's value with newlines in it, escaped here), with the valid values when it
/// lists them.
pub fn clap_line(rendered: &str) -> String {
    let mut paragraphs = rendered.trim_start().split("\n\n");
    let first = paragraphs.next().unwrap_or("");
    // clap's suggestion for a misspelt flag or value ("tip: a similar argument exists:
    // '--global-batch'"), kept on the line.
    let tip = paragraphs
        .map(str::trim)
        .find(|p| p.starts_with("tip:"))
        .map(|p| format!("; {}", one_line(p)))
        .unwrap_or_default();
    let (message, values) = match first.find("\n  [possible values:") {
        Some(i) => (&first[..i], Some(first[i..].trim())),
        None => (first, None),
    };
    let message = message.trim();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    // clap lists missing arguments on indented lines of their own: keep them, on the line.
    let joined;
    let message = if message.contains(":\n  ") {
        joined = message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        joined.as_str()
    } else {
        message
    };
    let message = if message.is_empty() {
        "bad arguments"
    } else {
        message
    };
    let line = one_line(message);
    match values {
        Some(v) => format!("error: {line} {}{tip} (see --help)", one_line(v)),
        None => format!("error: {line}{tip} (see --help)"),
    }
}

/// The keyword an embedder's caller writes for a command-line argument as clap names
/// it: `--global-batch <N>` is `global_batch`, `-g/--gpus` is `gpus`, the positional
/// `<OP>` is `op`.
pub fn keyword_of(arg: &str) -> String {
    // A group clap names whole (`<--slow-gpu <INDEX>|--slow-link <INDEX>>`): each one.
    if arg.contains('|') {
        let each: Vec<String> = arg.split('|').map(keyword_of).collect();
        let each: Vec<&str> = each.iter().map(String::as_str).collect();
        return memphis_core::text::or_list(&each);
    }
    let long = arg.rsplit_once("--").map_or(arg, |(_, long)| long);
    let name = long.trim_start_matches('-');
    let name = name.split([' ', '=']).next().unwrap_or(name);
    name.trim_matches(['<', '>'])
        .to_ascii_lowercase()
        .replace('-', "_")
}

/// Every long flag of the binary, with whether it takes a value (`--tp 2`) or is a
/// switch (`--allow-oom`), from clap's own definitions.
fn long_flags() -> &'static std::collections::BTreeMap<String, bool> {
    static ALL: std::sync::OnceLock<std::collections::BTreeMap<String, bool>> =
        std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        std::iter::once(&cli)
            .chain(cli.get_subcommands())
            .flat_map(|c| c.get_arguments())
            .filter_map(|a| Some((a.get_long()?.to_string(), a.get_action().takes_values())))
            .filter(|(long, _)| long != "help" && long != "version")
            .collect()
    })
}

/// A message's command-line flags as an embedder's caller writes them (Python's
/// keywords): `--tp 2` is `tp=2`, `--recompute full` is `recompute="full"`, `--model
/// FILE` is `model=FILE`, `--allow-oom` is `allow_oom=True`, and a flag named without a
/// value (`set --tokens, --seq-len`) is its keyword. Text in backticks (a command
/// line: `memphis power`) is kept as it is.
pub fn in_keywords(text: &str) -> String {
    let flags = long_flags();
    let value_of = |v: &str| -> String {
        if v.parse::<f64>().is_ok() || v.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            v.to_string()
        } else if v == "true" || v == "false" {
            if v == "true" { "True" } else { "False" }.to_string()
        } else {
            format!("\"{v}\"")
        }
    };
    // A word's parts: what leads the flag or value ("("), its core, what trails it.
    let split = |w: &str| -> (String, String, String) {
        let lead: String = w.chars().take_while(|c| *c == '(').collect();
        let rest = &w[lead.len()..];
        let core = rest.trim_end_matches([',', ';', ':', ')', '.']);
        (lead, core.to_string(), rest[core.len()..].to_string())
    };
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                return part.to_string();
            }
            let words: Vec<&str> = part.split(' ').collect();
            let mut out: Vec<String> = Vec::with_capacity(words.len());
            // Keywords one after another are arguments of one call: comma-separated.
            let mut open_keyword = false;
            let keyword = |out: &mut Vec<String>, open: &mut bool, word: String, bare: bool| {
                if *open {
                    if let Some(last) = out.last_mut() {
                        last.push(',');
                    }
                }
                out.push(word);
                *open = bare;
            };
            let mut k = 0;
            while k < words.len() {
                let (lead, core, trail) = split(words[k]);
                // `-b/--minbytes` is its long flag's keyword.
                let known = core
                    .strip_prefix("--")
                    .or_else(|| {
                        core.split_once("/--")
                            .filter(|(short, _)| short.starts_with('-'))
                            .map(|(_, long)| long)
                    })
                    .and_then(|name| flags.get(name).map(|&v| (name, v)));
                let Some((name, takes_value)) = known else {
                    out.push(words[k].to_string());
                    open_keyword = false;
                    k += 1;
                    continue;
                };
                let key = name.replace('-', "_");
                // A value is a word with a core (not "," alone) that is no flag itself.
                // A word in brackets is said of the flag ("at least --minbytes (1024)"), not
                // its value.
                let next = words.get(k + 1).filter(|n| {
                    !n.starts_with("--") && !n.starts_with('(') && !split(n).1.is_empty()
                });
                match (takes_value, trail.is_empty(), next) {
                    (true, true, Some(n)) => {
                        let (_, v, after) = split(n);
                        let bare = after.is_empty();
                        keyword(
                            &mut out,
                            &mut open_keyword,
                            format!("{lead}{key}={}{after}", value_of(&v)),
                            bare,
                        );
                        k += 2;
                    }
                    (true, _, _) => {
                        out.push(format!("{lead}{key}{trail}"));
                        open_keyword = false;
                        k += 1;
                    }
                    (false, _, _) => {
                        let bare = trail.is_empty();
                        keyword(
                            &mut out,
                            &mut open_keyword,
                            format!("{lead}{key}=True{trail}"),
                            bare,
                        );
                        k += 1;
                    }
                }
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// The core names fields (`parallel.tp`); when the user gave that field as a flag
/// (`--tp`), the message names the flag (or its keyword) too.
fn with_flag(e: memphis_core::Error, given: &[String], naming: Naming) -> String {
    let memphis_core::Error::Invalid {
        field,
        value,
        allowed,
    } = &e
    else {
        return e.to_string();
    };
    // An option the binary checks itself is named by its flag (`--window = 30 d`): a
    // keyword's caller reads the keyword.
    if naming == Naming::Keywords && field.starts_with('-') {
        return format!("{} = {value}: {}", keyword_of(field), in_keywords(allowed));
    }
    let Some(flag) = memphis_core::scenario::flag_of(field) else {
        return e.to_string();
    };
    let passed = given
        .iter()
        .any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
    if !passed {
        return e.to_string();
    }
    let (flag, given_as) = match naming {
        Naming::Flags => (flag.to_string(), flag.to_string()),
        Naming::Keywords => {
            let key = keyword_of(&flag);
            (key.clone(), format!("keyword {key}"))
        }
    };
    if field.contains('.') {
        format!("{field} = {value} (given as {given_as}): {allowed}")
    } else {
        format!("{flag} = {value}: {allowed}")
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_in_a_message_read_as_keywords() {
        for (cli, py) in [
            (
                "more pp or tp, --recompute full, more GPUs, or --plan auto (the planner's best plan that fits); --allow-oom runs it anyway",
                "more pp or tp, recompute=\"full\", more GPUs, or plan=\"auto\" (the planner's best plan that fits); allow_oom=True runs it anyway",
            ),
            (
                "15.0T tokens (set --tokens, --global-batch, --seq-len)",
                "15.0T tokens (set tokens, global_batch, seq_len)",
            ),
            (
                "to run it, --cp 1 --micro-batch 2 --recompute none --sequence-parallel true --tp 8",
                "to run it, cp=1, micro_batch=2, recompute=\"none\", sequence_parallel=True, tp=8",
            ),
            (
                "a config.json is given as the model (--model FILE, or in a scenario)",
                "a config.json is given as the model (model=FILE, or in a scenario)",
            ),
            ("with the flag to give: --gpus 96)", "with the flag to give: gpus=96)"),
            // A flag before punctuation alone names the keyword, with no empty value.
            ("set --tokens , or --seq-len", "set tokens , or seq_len"),
            // A short and long flag together, and a bracket said of it, not its value.
            ("at least -b/--minbytes (1073741824)", "at least minbytes (1073741824)"),
            // A command line in backticks stays one; a word that is no flag stays too.
            (
                "`memphis collective --network flow` places one group -- alone --nope",
                "`memphis collective --network flow` places one group -- alone --nope",
            ),
        ] {
            assert_eq!(in_keywords(cli), py);
        }
    }

    #[test]
    fn an_argument_is_named_by_its_keyword() {
        for (arg, key) in [
            ("--global-batch <N>", "global_batch"),
            ("-g/--gpus", "gpus"),
            ("<OP>", "op"),
            ("--pattern <PATTERN>", "pattern"),
            ("--tp=3", "tp"),
            (
                "<--slow-gpu <INDEX>|--slow-server <INDEX>|--slow-link <INDEX>>",
                "slow_gpu, slow_server or slow_link",
            ),
        ] {
            assert_eq!(keyword_of(arg), key, "{arg}");
        }
    }

    #[test]
    fn fields_given_as_flags_name_the_flag() {
        let e = memphis_core::Error::invalid("parallel.tp", 3, "a divisor of 8");
        let given = [
            "memphis".to_string(),
            "simulate".into(),
            "--tp".into(),
            "3".into(),
        ];
        assert_eq!(
            with_flag(e.clone(), &given, Naming::Flags),
            "parallel.tp = 3 (given as --tp): a divisor of 8"
        );
        assert_eq!(
            with_flag(e, &given[..2], Naming::Flags),
            "parallel.tp = 3: a divisor of 8"
        );
        let e = memphis_core::Error::invalid("training.global_batch", 7, "x");
        let given = ["--global-batch=7".to_string()];
        assert_eq!(
            with_flag(e, &given, Naming::Flags),
            "training.global_batch = 7 (given as --global-batch): x"
        );
        let e = memphis_core::Error::invalid("--window", "30 d", "at most 7 d");
        assert_eq!(
            with_flag(e.clone(), &[], Naming::Flags),
            "--window = 30 d: at most 7 d"
        );
        assert_eq!(
            with_flag(e, &[], Naming::Keywords),
            "window = 30 d: at most 7 d"
        );
        let e = memphis_core::Error::invalid("-g/--gpus", 0, "from 2");
        assert_eq!(with_flag(e, &[], Naming::Keywords), "gpus = 0: from 2");
        // A Python caller wrote a keyword, which became the flag.
        let e = memphis_core::Error::invalid("training.global_batch", 7, "x");
        assert_eq!(
            with_flag(e, &given, Naming::Keywords),
            "training.global_batch = 7 (given as keyword global_batch): x"
        );
    }

    #[test]
    fn error_lines_are_one_safe_line() {
        assert_eq!(one_line("plain: 'value' doesn't"), "plain: 'value' doesn't");
        assert_eq!(
            one_line("scenario 'a\nb\u{1b}[31mred\u{7}': no such file"),
            "scenario 'a\\nb\\u{1b}[31mred\\u{7}': no such file"
        );
        assert_eq!(one_line("x \u{202e}abc\u{9b}"), "x \\u{202e}abc\\u{9b}");
        let long = "9".repeat(5000);
        let line = one_line(&format!("model '{long}': unknown"));
        assert_eq!(line, format!("model '{}…': unknown", &long[..200]));
        // An unclosed quote is cut too.
        let line = one_line(&format!("value \"{long}"));
        assert_eq!(line, format!("value \"{}…", &long[..200]));
        // A long unquoted line keeps its start and end.
        let line = one_line(&format!("field = [{}]: a number", "1, ".repeat(100_000)));
        assert!(line.chars().count() < LINE_MAX_CHARS + 60, "{}", line.len());
        assert!(line.starts_with("field = [1, 1") && line.ends_with("]: a number"));
        assert!(line.contains("characters cut"));
        assert!(!line.contains('\n'));
    }
}
