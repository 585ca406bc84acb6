//! The treaty engine: treaty rules as data, compiled once, and a pure decision procedure that
//! turns a [`Scenario`] into a [`Decision`] citing the provision behind every conclusion.
//!
//! Rule files (`treaties/*.toml`, one per instrument) are what a lawyer reads beside the treaty
//! text; [`compile`] checks them and lays them out as arrays of codes and `Copy` citations, so
//! that [`decide`] allocates little and formats nothing. Text is produced by [`render`] only
//! when output is asked for.
//!
//! This crate does no IO and reads no clock: callers pass rule files as text and scenarios as
//! values.

mod compile;
pub mod decision;
mod engine;
mod file;
pub mod listing;
pub mod model;
pub mod render;
pub mod tomlpos;

pub use compile::{RULES_FORMAT, RuleError, RuleErrors, compile};
pub use decision::Decision;
pub use engine::decide;
pub use model::InstrumentRules;

use comity_types::{Code, Instrument, Scenario};
use std::sync::OnceLock;

/// The rule files built into the binary: (file name, text).
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("uncc.toml", include_str!("../treaties/uncc.toml")),
    ("bud.toml", include_str!("../treaties/bud.toml")),
    ("ap1.toml", include_str!("../treaties/ap1.toml")),
    ("sap2.toml", include_str!("../treaties/sap2.toml")),
];

/// All compiled rules: one [`InstrumentRules`] per instrument that has a rule file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    instruments: Vec<Option<InstrumentRules>>,
    files: Vec<String>,
}

impl RuleSet {
    pub(crate) fn from_parts(
        instruments: Vec<Option<InstrumentRules>>,
        files: Vec<String>,
    ) -> Self {
        Self { instruments, files }
    }

    /// The built-in rules, compiled once per process.
    pub fn builtin() -> Result<&'static RuleSet, &'static RuleErrors> {
        static BUILTIN: OnceLock<Result<RuleSet, RuleErrors>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let files: Vec<(String, String)> = BUILTIN_FILES
                    .iter()
                    .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                    .collect();
                compile(&files)
            })
            .as_ref()
    }

    /// The rules of `instrument`, if a file covers it.
    pub fn instrument(&self, instrument: Instrument) -> Option<&InstrumentRules> {
        self.instruments
            .get(instrument.index())
            .and_then(Option::as_ref)
    }

    /// Every instrument's rules, in canonical order.
    pub fn instruments(&self) -> impl Iterator<Item = &InstrumentRules> {
        self.instruments.iter().flatten()
    }

    /// The protocols to `instrument` that have rule files.
    pub fn protocols_of(&self, instrument: Instrument) -> impl Iterator<Item = &InstrumentRules> {
        self.instruments()
            .filter(move |r| r.protocol_to == Some(instrument))
    }

    /// The name of the rule file a rule came from.
    pub fn file_name(&self, origin: model::Origin) -> &str {
        self.files
            .get(usize::from(origin.file))
            .map_or("?", String::as_str)
    }

    /// Decides `scenario`; shorthand for [`decide`].
    pub fn decide(&self, scenario: &Scenario) -> Decision<'_> {
        decide(self, scenario)
    }
}
