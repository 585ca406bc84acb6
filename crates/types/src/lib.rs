//! The vocabulary of Comity: instruments, Parties, citations, request kinds, offences, grounds,
//! and the in-memory scenario that the treaty engine decides on.
//!
//! Everything here is a value: identifiers are newtypes that validate on construction, and sets
//! of codes are bitsets so that a scenario is cheap to copy and compare. No IO, no clock, no
//! serialisation format: the scenario file format lives in `comity-scenario`.

mod citation;
mod codes;
mod scenario;

pub use citation::{Citation, CitationError};
pub use codes::*;
pub use scenario::{Facts, Offence, Party, PartyCode, Penalty, PenaltyError, Request, Scenario};
