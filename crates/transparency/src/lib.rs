//! What a node's transparency log says, and what anyone can compute from it.
//!
//! Every cooperation event on a node (a request sent or received, an envelope refused, a
//! decision with its grounds, a clarification, a deadline met or missed, data delivered, a
//! preservation expired, a directory change) is appended to the node's log as one **leaf**: a
//! commitment that names the event, the Parties, the kind of request, the outcome, the grounds
//! and the day, and identifies the case only by a salted hash whose salt the two Parties alone
//! hold. No case content, no person, no officer. The format is `comity.leaf/1`
//! (docs/log-format.md): canonical JSON, so that one event has exactly one encoding.
//!
//! The **transparency report** ([`Report`]) is a pure function of the leaves: whoever holds a
//! copy of the log's entries recomputes it and gets the same bytes the node serves.
//!
//! This crate knows the leaf format and the report, nothing of the Merkle tree (`comity-tlog`),
//! storage or HTTP.

mod leaf;
mod report;

pub use leaf::{
    CaseCommitment, CaseRef, Event, LEAF_FORMAT, Leaf, LeafError, TeamRef, case_commitment,
};
pub use report::{
    Counts, CubeRow, Decisions, Notifications, REPORT_FORMAT, Report, ReportBuilder, ReportError,
    Requests, Row, Teams,
};
