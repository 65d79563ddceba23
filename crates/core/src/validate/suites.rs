//! The repository's validation suites (`validation/*.toml`), compiled in so that the
//! installed binary carries its ground truth and runs anywhere.
//!
//! `validation/` is the repository's copy of `shared/validation/`; a file copied in
//! there is listed here too (a test checks that every `*.toml` there is).

use super::{parse_cases, CaseFile};
use crate::error::{Error, Result};

/// One suite: a case file of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// The name `--suite` takes.
    pub name: &'static str,
    /// The file, relative to the repository root.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// Every suite, in the order `memphis validate` runs them.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "training",
        path: "validation/training_public.toml",
        text: include_str!("../../../../validation/training_public.toml"),
    },
    Suite {
        name: "collectives",
        path: "validation/collectives_public.toml",
        text: include_str!("../../../../validation/collectives_public.toml"),
    },
];

impl Suite {
    /// The suite called `name`, or an error listing the names.
    pub fn named(name: &str) -> Result<&'static Suite> {
        SUITES.iter().find(|s| s.name == name).ok_or_else(|| {
            let names = SUITES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
            let hint = crate::error::did_you_mean(name, &names);
            Error::invalid("suite", name, format!("one of {names}{hint}"))
        })
    }

    /// The suite's cases.
    pub fn cases(&self) -> Result<CaseFile> {
        parse_cases(self.path, self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_parses_and_names_are_unique() {
        for (i, s) in SUITES.iter().enumerate() {
            assert!(s.cases().is_ok(), "{}", s.path);
            assert!(SUITES[..i].iter().all(|o| o.name != s.name), "{}", s.name);
        }
        assert_eq!(Suite::named("training").unwrap().name, "training");
        let e = Suite::named("nope").unwrap_err().to_string();
        assert!(
            e.contains("suite") && e.contains("training, collectives"),
            "{e}"
        );
    }
}
