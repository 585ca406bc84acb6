//! Checks a node directory's transparency log as an outsider and against the node's database:
//! the published log (every tile and entry bundle, and a checkpoint) passes `comity_tlog`'s
//! auditor under the log key the directory lists, and every event that calls for a leaf has
//! exactly its leaf, and every leaf its event (docs/log-format.md, section 1).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::Path;

use comity_store::sqlite::SqliteStore;
use comity_transparency::{CaseCommitment, Event, Leaf, case_commitment};

/// What a check found: leaves per event, and the log's size.
#[derive(Debug)]
pub struct Checked {
    pub counts: BTreeMap<Event, usize>,
    pub size: u64,
    /// Whether the node had signed a checkpoint of the whole log itself.
    pub signed_by_node: bool,
}

/// The leaf a case event calls for, if any.
fn leaf_of_event(kind: &str, data: &serde_json::Value) -> Option<Event> {
    Some(match kind {
        "sent" => Event::RequestSent,
        "received" => Event::RequestReceived,
        "clarification_asked" | "clarification_requested" => Event::ClarificationAsked,
        "clarification_answered" => Event::ClarificationAnswered,
        "decided" | "decision_received" => Event::Decision,
        "delivered" | "results_received" => Event::DataDelivered,
        "deadline_met" => Event::DeadlineMet,
        // The notification lifecycle: each change's event is named after its leaf, on both
        // sides.
        "notification_restricted" => Event::NotificationRestricted,
        "restriction_rejustified" => Event::RestrictionRejustified,
        "restriction_lifted" => Event::RestrictionLifted,
        "restriction_lapsed" => Event::RestrictionLapsed,
        "subject_notified" => Event::SubjectNotified,
        "deadline_overdue" => match data["deadline"].as_str() {
            Some("respond") => Event::DeadlineMissed,
            Some("preservation_period") => Event::PreservationExpired,
            _ => return None,
        },
        _ => return None,
    })
}

/// Checks the log of the node in `node_dir` (made by `comity init`, with its `directory.json`
/// and `node.db`); the node must not be writing. When the node has signed no checkpoint of its
/// whole log (an officer command appends but does not sign), the check signs one with the
/// node's `keys/log.key`.
pub async fn check(node_dir: &Path) -> Checked {
    let store = SqliteStore::open(node_dir.join("node.db")).await.unwrap();
    let checked = check_store(node_dir, &store).await;
    store.close().await;
    checked
}

/// [`check`] on the node's store, wherever it lives (a node's replicas on PostgreSQL).
pub async fn check_store<S: comity_store::Store>(node_dir: &Path, store: &S) -> Checked {
    let entry: comity_protocol::AuthorityEntry = comity_protocol::AuthorityEntry::from_json(
        &std::fs::read(node_dir.join("authority.json")).unwrap(),
    )
    .unwrap();
    let directory = comity_protocol::Directory::from_bytes(
        &std::fs::read(node_dir.join("directory.json")).unwrap(),
    )
    .unwrap()
    .verify()
    .unwrap();
    let listed = directory.authority(&entry.id).unwrap();
    let vkey = listed.log_verifier().unwrap().unwrap();
    let local = std::fs::read_to_string(node_dir.join("log.vkey")).unwrap();
    assert_eq!(local.trim(), vkey.to_string(), "{}: log.vkey", entry.id);
    let head = store.log_head().await.unwrap();
    let stored = store.checkpoint().await.unwrap();
    let signed_by_node = stored.as_ref().is_some_and(|c| c.size == head.size);
    let note = match stored.filter(|c| c.size == head.size) {
        Some(c) => c.note,
        None => {
            let key = std::fs::read_to_string(node_dir.join("keys/log.key")).unwrap();
            let key = comity_tlog::SignerKey::parse(key.trim()).unwrap();
            comity_tlog::sign_checkpoint(key.name(), head.size, head.root, &key).unwrap()
        }
    };
    let mut files = BTreeMap::new();
    files.insert("checkpoint".to_owned(), note.into_bytes());
    for path in comity_tlog::tile::tiles_between(0, head.size) {
        let bytes = store.log_tile(head.size, path).await.unwrap().unwrap();
        files.insert(path.to_string(), bytes);
    }
    let report = comity_tlog::audit(&files, &vkey, None, |_| {})
        .unwrap_or_else(|e| panic!("{}: the log does not verify: {e}", entry.id));
    assert_eq!(report.checkpoint.size(), head.size);
    assert_eq!(report.checkpoint.origin(), vkey.name());

    let mut leaves = Vec::new();
    let mut at = 0;
    while at < head.size {
        let end = (at + 1000).min(head.size);
        for e in store.log_entries(at..end).await.unwrap() {
            leaves.push(Leaf::decode(&e).unwrap());
        }
        at = end;
    }
    let mut by_case: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for l in &leaves {
        if let Some(c) = l.case {
            by_case.entry(c.to_string()).or_default().push(l.event);
        }
    }
    let mut problems = Vec::new();
    for row in store
        .cases(&comity_store::CaseFilter::default())
        .await
        .unwrap()
    {
        let mut want: Vec<Event> = store
            .events(&row.id)
            .await
            .unwrap()
            .iter()
            .filter_map(|e| leaf_of_event(&e.kind, &e.data))
            .collect();
        if !row.doc["production_order"].is_null() {
            continue;
        }
        let salt: CaseCommitment = row.doc["salt"].as_str().unwrap().parse().unwrap();
        let commitment = case_commitment(&salt.0, &row.id).to_string();
        let mut got = by_case.remove(&commitment).unwrap_or_default();
        want.sort();
        got.sort();
        if got != want {
            problems.push(format!("case {}: leaves {got:?}, events {want:?}", row.id));
        }
    }
    assert!(problems.is_empty(), "{}: {problems:#?}", entry.id);
    assert!(
        by_case.is_empty(),
        "{}: leaves of no case: {by_case:?}",
        entry.id
    );
    let audit = store.audit(0, u32::MAX).await.unwrap();
    let mut counts = BTreeMap::new();
    for l in &leaves {
        *counts.entry(l.event).or_insert(0) += 1;
    }
    for (event, action) in [
        (Event::EnvelopeRefused, "refuse_envelope"),
        (Event::DirectoryChanged, "adopt_directory"),
    ] {
        assert_eq!(
            counts.get(&event).copied().unwrap_or(0),
            audit.iter().filter(|a| a.action == action).count(),
            "{}: {event}",
            entry.id
        );
    }
    Checked {
        counts,
        size: head.size,
        signed_by_node,
    }
}
