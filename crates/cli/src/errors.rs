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
        CliError::bad(e.to_string())
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
