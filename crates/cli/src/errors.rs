//! Errors of the binary and their exit codes: 2 for bad input, 1 for anything else.

/// What went wrong, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The user's input (flags, files, values): exit 2.
    BadInput,
    /// Our fault or the environment's (a write that failed mid-way): exit 1.
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
}

impl From<memphis_core::Error> for CliError {
    fn from(e: memphis_core::Error) -> Self {
        let given: Vec<String> = std::env::args().collect();
        CliError::bad(with_flag(e, &given))
    }
}

/// The core names fields (`parallel.tp`); when the user gave that field as a flag
/// (`--tp`), the message names the flag too.
fn with_flag(e: memphis_core::Error, given: &[String]) -> String {
    let memphis_core::Error::Invalid {
        field,
        value,
        allowed,
    } = &e
    else {
        return e.to_string();
    };
    let Some(flag) = flag_of(field) else {
        return e.to_string();
    };
    let passed = given
        .iter()
        .any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
    if !passed {
        return e.to_string();
    }
    if field.contains('.') {
        format!("{field} = {value} (given as {flag}): {allowed}")
    } else {
        format!("{flag} = {value}: {allowed}")
    }
}

/// The flag that sets a field, where one does.
fn flag_of(field: &str) -> Option<String> {
    let (section, key) = field.rsplit_once('.').unwrap_or(("", field));
    let flag = match (section, key) {
        ("cluster", "preset") => "cluster",
        ("model", "preset") => "model",
        ("reliability", "spare_gpus") => "spares",
        (_, k) if k.chars().all(|c| c.is_ascii_lowercase() || c == '_') => k,
        _ => return None,
    };
    Some(format!("--{}", flag.replace('_', "-")))
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

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
            with_flag(e.clone(), &given),
            "parallel.tp = 3 (given as --tp): a divisor of 8"
        );
        assert_eq!(with_flag(e, &given[..2]), "parallel.tp = 3: a divisor of 8");
        let e = memphis_core::Error::invalid("training.global_batch", 7, "x");
        let given = ["--global-batch=7".to_string()];
        assert_eq!(
            with_flag(e, &given),
            "training.global_batch = 7 (given as --global-batch): x"
        );
    }
}
