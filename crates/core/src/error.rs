//! The one error type of the core. Every variant renders as a single line that names the
//! field, the value given and what is allowed, so the CLI can print it as is.

use thiserror::Error;

/// Result with the core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// An input the core cannot accept. Never a panic: every bad input maps to one of these.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// A field holds a value outside what the model allows.
    #[error("{field} = {value}: {allowed}")]
    Invalid {
        /// Dotted path of the field, e.g. `parallel.tp`.
        field: String,
        /// The value given, as text.
        value: String,
        /// What would be accepted.
        allowed: String,
    },
    /// Text that does not parse (TOML, JSON, a case file).
    #[error("{context}: {message}")]
    Parse {
        /// What was being parsed (a file name, "scenario", ...).
        context: String,
        /// The parser's message, on one line.
        message: String,
    },
    /// A name that is not in a catalog.
    #[error("unknown {kind} '{name}'{}; known: {known}", did_you_mean(.name, .known))]
    Unknown {
        /// What kind of thing: "gpu", "cluster preset", ...
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names that exist, comma separated.
        known: String,
    },
}

impl Error {
    /// The field an `Invalid` error names (`parallel.tp`), else None.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The same error inside a named part (`job 'a'`, `case t`): its field or context
    /// prefixed with it. An unknown name becomes an invalid value of that part, so that
    /// the part is named first as it is in every other error.
    pub fn within(self, part: &str) -> Error {
        match self {
            Error::Invalid {
                field,
                value,
                allowed,
            } => Error::Invalid {
                field: format!("{part}: {field}"),
                value,
                allowed,
            },
            Error::Parse { context, message } => Error::Parse {
                context: format!("{part}: {context}"),
                message,
            },
            Error::Unknown { kind, name, known } => {
                Error::Unknown { kind, name, known }.as_field(format!("{part}: {kind}"))
            }
        }
    }

    /// An unknown name said as the error of the field that holds it (`cluster.gpu = H100:
    /// one of ...`, with the nearest name); any other error as it is.
    pub fn as_field(self, field: impl Into<String>) -> Error {
        match self {
            Error::Unknown { name, known, .. } => {
                let hint = did_you_mean(&name, &known);
                Error::invalid(field, name, format!("one of {known}{hint}"))
            }
            e => e,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        allowed: impl Into<String>,
    ) -> Error {
        Error::Invalid {
            field: field.into(),
            value: compact_number(value.to_string()),
            allowed: allowed.into(),
        }
    }

    /// A TOML error on one line: where it is, the offending line, and what is wrong.
    pub fn toml(context: impl Into<String>, e: &toml::de::Error, source: &str) -> Error {
        Error::toml_said(context.into(), e, source, toml_message(e), false)
    }

    fn toml_said(
        context: String,
        e: &toml::de::Error,
        source: &str,
        message: String,
        by_key: bool,
    ) -> Error {
        if !by_key && serde_json::from_str::<serde_json::Value>(source).is_ok_and(|v| v.is_object())
        {
            // A JSON object where TOML was expected: most likely a model's config.json.
            return Error::Parse {
                context,
                message: "this is JSON, not TOML; a Hugging Face config.json is given as the model (--model FILE, or `preset = \"FILE\"` in a [model] section)".into(),
            };
        }
        let Some(span) = e.span() else {
            return Error::parse(context, message);
        };
        let start = span.start.min(source.len());
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = source[line_start..].lines().next().unwrap_or("").trim();
        let message = if by_key {
            // The table the line is in: the last header above it (`[training]`, `[a.b]`).
            let table = source[..line_start]
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.starts_with('['))
                .map(|h| h.trim_matches(|c| c == '[' || c == ']').trim());
            let shown: String = match (table, line.starts_with('[')) {
                (Some(t), false) if !t.is_empty() => format!("{t}.{line}"),
                _ => line.to_string(),
            };
            let shown: String = shown.chars().take(80).collect();
            format!("`{shown}`: {message}")
        } else {
            let line_no = source[..start].matches('\n').count() + 1;
            let column = source[line_start..start].chars().count() + 1;
            let shown: String = match line.chars().take(80).collect::<String>() {
                // Past the last line (an array or string left open): say so, not ``.
                l if l.is_empty() && source[start..].trim().is_empty() => {
                    "the end of the file".to_string()
                }
                l if l.is_empty() => "a blank line".to_string(),
                l => format!("`{l}`"),
            };
            format!("line {line_no}, column {column} ({shown}): {message}")
        };
        Error::Parse { context, message }
    }

    /// Shorthand for [`Error::Parse`]; folds the message onto one line.
    pub fn parse(context: impl Into<String>, message: impl ToString) -> Error {
        let message = message
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.trim_matches('|').trim() != "" && !l.starts_with('^'))
            .collect::<Vec<_>>()
            .join(" ");
        Error::Parse {
            context: context.into(),
            message,
        }
    }
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a message that
/// suggests the nearest known key.
pub fn suggest_key(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((bad, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    // A section that takes a preset reads a file through it: say so to a user who
    // reached for another word.
    const FILE_WORDS: [&str; 6] = ["config", "config_json", "file", "path", "hf_config", "from"];
    if FILE_WORDS.contains(&bad) && known.contains(&"preset") {
        return format!(
            "unknown key `{bad}`: a file (a config.json, a TOML) is named by `preset = \"FILE\"` (known keys: {})",
            known.join(", ")
        );
    }
    match nearest(bad, known.iter().copied()) {
        Some(k) => {
            format!(
                "unknown key `{bad}`: did you mean `{k}`? (known keys: {})",
                known.join(", ")
            )
        }
        _ => format!("unknown key `{bad}` (known keys: {})", known.join(", ")),
    }
}

/// serde's Rust type names in words: "expected u32" says what a user may write.
fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 7] = [
        // The type's range, not the field's: a field that must be 1 or more says so once
        // it is read.
        (
            "expected u32",
            "expected a whole number, not negative, at most 4,294,967,295",
        ),
        ("expected u64", "expected a whole number, not negative"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list, as [1, 2]"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a string in quotes"),
    ];
    let mut out = message.to_string();
    // A section given as a value (`model = "x.json"`): serde names the Rust type.
    if let Some(at) = out.rfind("expected struct ") {
        out.replace_range(
            at..,
            "expected a section of fields (a table, as [model] or [cluster]: its preset = \"...\" names a preset or a file)",
        );
    }
    for (from, to) in WORDS {
        if let Some(at) = out.rfind(from) {
            // Only at the end: "expected u32" and not "expected u32x".
            if at + from.len() == out.len() {
                out.replace_range(at.., to);
            }
        }
    }
    out
}

/// A TOML error's message, said plainly (types as a user names them, a misspelt key's
/// nearest field).
pub(crate) fn toml_message(e: &toml::de::Error) -> String {
    // toml puts what it wanted on a line of its own: "invalid array\nexpected `]`".
    let one_line = e
        .message()
        .replace("\nexpected", ": expected")
        .replace('\n', " ");
    plain_types(&suggest_key(&one_line))
}

/// `text` as a `T`, its errors said by line ([`Error::toml`]) or, for a text memphis
/// wrote itself from a mapping (a Python dict), by the dotted key (`training.gpus =
/// 512.5`): its line number is in no text the user wrote. A field that takes one of a
/// few names given something else (`recompute = 3`) is told those names: TOML's own
/// message ("wanted string or table") has none, so the value is tried again as a
/// string, and serde's "unknown variant" error lists them.
pub fn from_toml<T: serde::de::DeserializeOwned>(
    context: &str,
    text: &str,
    by_key: bool,
) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let message = names_wanted::<T>(&e, text).unwrap_or_else(|| toml_message(&e));
        Error::toml_said(context.into(), &e, text, message, by_key)
    })
}

/// The names an enum field takes, where `e` is TOML's "wanted string or table" for it.
fn names_wanted<T: serde::de::DeserializeOwned>(e: &toml::de::Error, text: &str) -> Option<String> {
    if !e.message().starts_with("wanted string or table") {
        return None;
    }
    let span = e.span()?;
    let given = text.get(span.clone())?.trim();
    let quoted = format!("\"{}\"", given.replace(['"', '\\'], ""));
    let retried = format!("{}{quoted}{}", &text[..span.start], &text[span.end..]);
    match toml::from_str::<T>(&retried) {
        Ok(_) => Some(format!("wanted a string, in quotes: {quoted}")),
        Err(e2) => {
            let m = e2.message();
            let expected = m
                .strip_prefix("unknown variant ")?
                .split_once(", expected ")?
                .1;
            Some(format!("wanted a string: {}", expected.trim_end()))
        }
    }
}

/// A number Rust writes out in full (`1e300` as 301 digits, `1e-300` as 300 zeros) in
/// exponent form, as a user would write it. Up to 21 characters, only a whole number
/// ending in ten zeros or more (`10000000000000000000`, `1e19` given) is shortened:
/// other whole numbers (any u64, 4000000000) stay digit for digit.
fn compact_number(value: String) -> String {
    const LONGEST_PLAIN: usize = 21;
    // A whole number ending in this many zeros is said in exponent form.
    const ZEROS_WRITTEN_OUT: usize = 10;
    let Ok(v) = value.parse::<f64>() else {
        return value;
    };
    let zeros = value.len() - value.trim_end_matches('0').len();
    let round = format!("{v}") == value && zeros >= ZEROS_WRITTEN_OUT;
    let short = format!("{v:e}");
    if v.is_finite() && (value.len() > LONGEST_PLAIN || round) {
        short
    } else {
        value
    }
}

/// The known name closest to `bad`, where one is near enough to be a slip: an edit per
/// three letters, or two, and never half the name.
pub(crate) fn nearest<'a>(bad: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let bad_lower = bad.to_ascii_lowercase();
    let known: Vec<&str> = known.into_iter().collect();
    // A name cut short (`H100` for `H100-SXM5-80GB`) is the one name it begins, if one.
    let begun: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| bad.len() >= 2 && k.to_ascii_lowercase().starts_with(&bad_lower))
        .collect();
    if let [only] = begun[..] {
        return Some(only);
    }
    known
        .into_iter()
        .map(|k| (edit_distance(&bad_lower, &k.to_ascii_lowercase()), k))
        .min()
        .filter(|&(d, _)| d <= 2.max(bad.len() / 3) && 2 * d <= bad.len())
        .map(|(_, k)| k)
}

/// " (did you mean 'X'?)" where a name of `known` is near `name`. `known` is the list,
/// comma separated, before any remark (after `;` or `(`).
pub fn did_you_mean(name: &str, known: &str) -> String {
    let list = known.split([';', '(']).next().unwrap_or("");
    let names = list.split(',').map(str::trim).filter(|w| !w.is_empty());
    nearest(name, names).map_or(String::new(), |k| format!(" (did you mean '{k}'?)"))
}

/// Levenshtein distance.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_number_is_echoed_as_written() {
        assert_eq!(compact_number("10000000000000000000".into()), "1e19");
        assert_eq!(compact_number("15000000000000".into()), "1.5e13");
        assert_eq!(compact_number("4000000000".into()), "4000000000");
        // Digits that carry information stay, as do short round numbers.
        assert_eq!(
            compact_number("18446744073709551615".into()),
            "18446744073709551615"
        );
        assert_eq!(compact_number("1000000".into()), "1000000");
        assert_eq!(compact_number("0.5".into()), "0.5");
        assert_eq!(compact_number("abc".into()), "abc");
        assert_eq!(compact_number(format!("{}", 1e-300)), "1e-300");
    }

    #[test]
    fn a_name_field_given_a_number_is_told_the_names() {
        let e = crate::scenario::parse_scenario("f.toml", "[parallel]\nrecompute = 3\n");
        let e = e.unwrap_err().to_string();
        assert_eq!(
            e,
            "f.toml: line 2, column 13 (`recompute = 3`): wanted a string: one of `none`, `selective`, `full`"
        );
        // A Python dict's scenario: said by key, not by a line of the text made of it.
        let e =
            crate::scenario::parse_written_scenario("scenario dict", "[cluster]\ncooling = 1.3\n");
        let e = e.unwrap_err().to_string();
        assert_eq!(
            e,
            "scenario dict: `cluster.cooling = 1.3`: wanted a string: `liquid` or `air`"
        );
        // A number where a number is wanted keeps serde's words.
        let e = crate::scenario::parse_scenario("f.toml", "[parallel]\ntp = \"x\"\n");
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("invalid type: string \"x\""));
    }

    #[test]
    fn a_wrong_type_is_said_in_words() {
        for (text, words) in [
            (
                "[parallel]\ntp = -2\n",
                "expected a whole number, not negative, at most 4,294,967,295",
            ),
            (
                "[training]\ngpus = 64.0\n",
                "expected a whole number, not negative",
            ),
            (
                "[cluster]\noversubscription = 2.0\n",
                "expected a list, as [1, 2]",
            ),
            (
                "[parallel]\nsequence_parallel = 1\n",
                "expected true or false",
            ),
        ] {
            let e = crate::scenario::parse_scenario("s.toml", text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(words) && !e.contains("expected u"), "{e}");
        }
    }

    #[test]
    fn suggests_the_nearest_key() {
        let m = suggest_key("unknown field `tpx`, expected one of `tp`, `pp`, `vpp`");
        assert!(
            m.starts_with("unknown key `tpx`: did you mean `tp`?"),
            "{m}"
        );
        let m = suggest_key("unknown field `zzzzzz`, expected one of `tp`, `pp`");
        assert!(m.starts_with("unknown key `zzzzzz` (known keys"), "{m}");
        let m = suggest_key("unknown field `config`, expected one of `preset`, `name`");
        assert!(
            m.starts_with(
                "unknown key `config`: a file (a config.json, a TOML) is named by `preset"
            ),
            "{m}"
        );
        assert_eq!(suggest_key("something else"), "something else");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn an_error_within_a_part_names_the_part_first() {
        let e = Error::invalid("gpus", 3, "a multiple of 8").within("job 'a'");
        assert_eq!(e.to_string(), "job 'a': gpus = 3: a multiple of 8");
        let e = Error::Parse {
            context: "file".into(),
            message: "bad".into(),
        };
        assert_eq!(e.within("case t").to_string(), "case t: file: bad");
        let e = Error::Unknown {
            kind: "gpu",
            name: "X".into(),
            known: "A, B".into(),
        };
        assert_eq!(
            e.within("case t").to_string(),
            "case t: gpu = X: one of A, B"
        );
    }

    /// A number too long to read is said in exponent form; others as given.
    #[test]
    fn numbers_in_errors_are_said_as_written() {
        let value = |v: f64| Error::invalid("f", v, "a").to_string();
        assert_eq!(value(1e300), "f = 1e300: a");
        assert_eq!(value(1e-300), "f = 1e-300: a");
        assert_eq!(value(2.5e-7), "f = 0.00000025: a");
        assert_eq!(value(3201.0), "f = 3201: a");
        assert_eq!(
            Error::invalid("f", u64::MAX, "a").to_string(),
            "f = 18446744073709551615: a"
        );
        assert_eq!(
            Error::invalid("f", "x".repeat(30), "a").to_string(),
            format!("f = {}: a", "x".repeat(30))
        );
    }

    /// A name one slip from a known one is suggested, in any case; remarks after the
    /// list are not names.
    #[test]
    fn a_near_miss_name_gets_a_suggestion() {
        let unknown = |name: &str, known: &str| {
            Error::Unknown {
                kind: "model preset",
                name: name.into(),
                known: known.into(),
            }
            .to_string()
        };
        let known = "llama3-8b, llama3-70b; or the path of a file";
        assert_eq!(
            unknown("Llama-3-70B", known),
            "unknown model preset 'Llama-3-70B' (did you mean 'llama3-70b'?); known: llama3-8b, llama3-70b; or the path of a file"
        );
        assert!(!unknown("fo", known).contains("did you mean"));
        assert!(!unknown("gpt3-175b", known).contains("did you mean"));
        assert!(!unknown("pat", "dgx-a100 (a file is read with --path)").contains("did you mean"));
        // A name cut short is the one name it begins, not a near one of the same length.
        let gpus = "A100-SXM4-80GB, H100-SXM5-80GB, H200-SXM-141GB, B200";
        assert!(unknown("A100", gpus).contains("(did you mean 'A100-SXM4-80GB'?)"));
        assert!(unknown("h200", gpus).contains("(did you mean 'H200-SXM-141GB'?)"));
        // Two names begun: neither is said.
        assert!(!unknown("llama3", known).contains("did you mean"));
    }
}
