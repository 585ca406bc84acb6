//! The storage conformance suite: what every [`Store`] backend must do, written once as generic
//! async functions. Each function takes a fresh, empty store; `tests/sqlite.rs` runs them all on
//! SQLite in memory and on a file, and a PostgreSQL backend runs the same functions.

use comity_store::faulty::{FaultInjection, FaultyStore};
use comity_store::{
    AlarmRow, AuditRow, CaseFilter, CaseRow, CaseWrite, Change, CheckpointRow, CheckpointSwap,
    DeadlineRow, EventRow, InboundRow, ItemRow, LogHead, Millis, OutboxRow, OutboxUpdate,
    PeerCheckpointRow, PeerCheckpointSwap, SessionRow, SessionWrite, Store, StoreError, UserRow,
};
use comity_tlog::memory::MemoryLog;
use comity_tlog::note::{KeyType, SignerKey};
use comity_tlog::{TilePath, hash_leaf, merkle};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const T0: Millis = 1_700_000_000_000;
const HOUR: Millis = 3_600_000;

// ---- rows ----

pub fn case(id: &str, state: &str, created_at: Millis) -> CaseRow {
    CaseRow {
        id: id.to_owned(),
        version: 1,
        side: "requested".to_owned(),
        kind: "preservation".to_owned(),
        basis: "UNCC".to_owned(),
        state: state.to_owned(),
        counterpart: "FR/central_authority".to_owned(),
        emergency: false,
        created_at,
        updated_at: created_at,
        doc: json!({
            "facts": { "offence": "fraud", "data": ["traffic", "content"], "max_years": 4.5 },
            "decision": null,
            "notes": "ünïcödé ✓ \"quoted\" \n newline",
            "big": 9_007_199_254_740_993_u64,
            "negative": -42,
            "empty": {},
        }),
    }
}

pub fn bumped(row: &CaseRow, state: &str, at: Millis) -> CaseWrite {
    let mut next = row.clone();
    next.version = row.version + 1;
    next.state = state.to_owned();
    next.updated_at = at;
    next.doc = json!({ "state": state, "previous": row.doc.clone() });
    CaseWrite::Update {
        row: next,
        expected_version: row.version,
    }
}

pub fn event(case_id: &str, seq: i64, kind: &str) -> EventRow {
    EventRow {
        case_id: case_id.to_owned(),
        seq,
        at: T0 + seq,
        kind: kind.to_owned(),
        actor: "officer:ana".to_owned(),
        data: json!({ "seq": seq, "list": [1, 2.5, "three", true, null] }),
    }
}

pub fn deadline(case_id: &str, name: &str, due_at: Millis, state: &str) -> DeadlineRow {
    DeadlineRow {
        case_id: case_id.to_owned(),
        name: name.to_owned(),
        due_at,
        state: state.to_owned(),
        data: json!({ "cites": "UNCC 42(7)", "days": 60 }),
    }
}

pub fn message(id: &str, case_id: Option<&str>, priority: i32, created_at: Millis) -> OutboxRow {
    OutboxRow {
        id: id.to_owned(),
        case_id: case_id.map(str::to_owned),
        to: "FR/central_authority".to_owned(),
        kind: "request".to_owned(),
        priority,
        // every byte value, so that nothing is read as text
        bytes: (0..=255).collect(),
        created_at,
        attempts: 0,
        next_attempt_at: created_at,
        delivered_at: None,
        last_error: None,
    }
}

pub fn inbound(envelope_id: &str, case_id: Option<&str>) -> InboundRow {
    InboundRow {
        envelope_id: envelope_id.to_owned(),
        from: "FR/central_authority".to_owned(),
        case_id: case_id.map(str::to_owned),
        received_at: T0,
        wire_hash: vec![0xab; 32],
        result: json!({ "status": "accepted", "receipt": { "id": envelope_id } }),
    }
}

pub fn audit(action: &str, case_id: Option<&str>, at: Millis) -> AuditRow {
    AuditRow {
        // ignored by the store
        seq: 999,
        at,
        actor: "officer:ana".to_owned(),
        action: action.to_owned(),
        case_id: case_id.map(str::to_owned),
        data: json!({ "ip": "127.0.0.1", "what": action }),
    }
}

pub fn item(id: &str, case_id: &str, retain_until: Option<Millis>) -> ItemRow {
    ItemRow {
        id: id.to_owned(),
        case_id: case_id.to_owned(),
        sha256: vec![7; 32],
        sealed: Some(vec![0, 1, 2, 255]),
        key: Some(vec![9; 32]),
        retain_until,
        deleted_at: None,
        data: json!({ "use_limitation": "only for case", "custody": [{ "who": "x", "at": T0 }] }),
    }
}

pub fn leaf(name: &str) -> Vec<u8> {
    format!("{{\"leaf\":\"{name}\"}}").into_bytes()
}

pub fn alarm(origin: &str, at: Millis) -> AlarmRow {
    AlarmRow {
        // ignored by the store
        seq: 999,
        origin: origin.to_owned(),
        held_note: format!("{origin}\n5\nAAAA\n\n\u{2014} held\n"),
        seen_note: format!("{origin}\n5\nBBBB\n\n\u{2014} seen\n"),
        evidence: json!({ "why": "equal sizes, different roots", "size": 5 }),
        detected_at: at,
    }
}

pub fn deleted(row: &ItemRow, at: Millis) -> ItemRow {
    ItemRow {
        sealed: None,
        key: None,
        deleted_at: Some(at),
        ..row.clone()
    }
}

async fn apply<S: Store>(store: &S, change: Change) {
    store.apply(&change).await.expect("apply");
}

async fn new_case<S: Store>(store: &S, row: &CaseRow) {
    apply(
        store,
        Change {
            cases: vec![CaseWrite::Insert(row.clone())],
            ..Change::default()
        },
    )
    .await;
}

fn all_cases() -> CaseFilter {
    CaseFilter::default()
}

// ---- a full dump, through the trait only ----

/// Everything the trait can show, for the cases and envelope ids named.
#[derive(Debug, PartialEq)]
pub struct Dump {
    cases: Vec<CaseRow>,
    events: Vec<Vec<EventRow>>,
    deadlines: Vec<DeadlineRow>,
    case_deadlines: Vec<Vec<DeadlineRow>>,
    outbox: Vec<OutboxRow>,
    outbox_due: Vec<OutboxRow>,
    inbound: Vec<Option<InboundRow>>,
    audit: Vec<AuditRow>,
    items: Vec<Vec<ItemRow>>,
    items_expiring: Vec<ItemRow>,
    log_head: LogHead,
    log_entries: Vec<Vec<u8>>,
    checkpoint: Option<CheckpointRow>,
    peer_checkpoints: Vec<Option<PeerCheckpointRow>>,
    alarms: Vec<AlarmRow>,
}

pub async fn dump<S: Store>(store: &S, case_ids: &[&str], envelope_ids: &[&str]) -> Dump {
    let mut d = Dump {
        cases: store.cases(&all_cases()).await.unwrap(),
        events: vec![],
        deadlines: store.deadlines(&[], None).await.unwrap(),
        case_deadlines: vec![],
        outbox: store.outbox(None).await.unwrap(),
        outbox_due: store.outbox_due(Millis::MAX, u32::MAX).await.unwrap(),
        inbound: vec![],
        audit: store.audit(0, u32::MAX).await.unwrap(),
        items: vec![],
        items_expiring: store.items_expiring(Millis::MAX).await.unwrap(),
        log_head: store.log_head().await.unwrap(),
        log_entries: vec![],
        checkpoint: store.checkpoint().await.unwrap(),
        peer_checkpoints: vec![],
        alarms: store.alarms(0, u32::MAX).await.unwrap(),
    };
    d.log_entries = store.log_entries(0..d.log_head.size).await.unwrap();
    for origin in ["peer.example/a", "peer.example/b"] {
        d.peer_checkpoints
            .push(store.peer_checkpoint(origin).await.unwrap());
    }
    for id in case_ids {
        d.events.push(store.events(id).await.unwrap());
        d.case_deadlines
            .push(store.case_deadlines(id).await.unwrap());
        d.items.push(store.items(id).await.unwrap());
    }
    for id in envelope_ids {
        d.inbound.push(store.inbound(id).await.unwrap());
    }
    d
}

// ---- round trips ----

pub async fn round_trip_cases<S: Store>(store: S) {
    let mut a = case("c-a", "received", T0);
    a.emergency = true;
    a.side = "requesting".to_owned();
    let b = case("c-b", "draft", T0 + 1);
    apply(
        &store,
        Change {
            cases: vec![CaseWrite::Insert(a.clone()), CaseWrite::Insert(b.clone())],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(store.case("c-a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.case("c-b").await.unwrap(), Some(b.clone()));
    assert_eq!(store.case("c-none").await.unwrap(), None);
    assert_eq!(
        store.cases(&all_cases()).await.unwrap(),
        vec![a.clone(), b.clone()]
    );

    let update = bumped(&a, "decided", T0 + 10);
    let CaseWrite::Update { row: a2, .. } = update.clone() else {
        unreachable!()
    };
    apply(
        &store,
        Change {
            cases: vec![update],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(store.case("c-a").await.unwrap(), Some(a2.clone()));
    assert_eq!(a2.version, 2);
    assert_eq!(store.case("c-b").await.unwrap(), Some(b));
}

pub async fn case_filters<S: Store>(store: S) {
    // inserted out of age order: listing is by age
    let rows = [
        case("c-3", "received", T0 + 3),
        case("c-1", "received", T0 + 1),
        case("c-2", "draft", T0 + 2),
        CaseRow {
            side: "requesting".to_owned(),
            ..case("c-4", "received", T0 + 4)
        },
    ];
    apply(
        &store,
        Change {
            cases: rows.iter().cloned().map(CaseWrite::Insert).collect(),
            ..Change::default()
        },
    )
    .await;
    let ids = |v: Vec<CaseRow>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.cases(&all_cases()).await.unwrap()),
        ["c-1", "c-2", "c-3", "c-4"]
    );
    let received = CaseFilter {
        state: Some("received".to_owned()),
        ..CaseFilter::default()
    };
    assert_eq!(
        ids(store.cases(&received).await.unwrap()),
        ["c-1", "c-3", "c-4"]
    );
    let requested_received = CaseFilter {
        side: Some("requested".to_owned()),
        ..received.clone()
    };
    assert_eq!(
        ids(store.cases(&requested_received).await.unwrap()),
        ["c-1", "c-3"]
    );
    let requesting = CaseFilter {
        side: Some("requesting".to_owned()),
        ..CaseFilter::default()
    };
    assert_eq!(ids(store.cases(&requesting).await.unwrap()), ["c-4"]);
    let two = CaseFilter {
        limit: Some(2),
        ..CaseFilter::default()
    };
    assert_eq!(ids(store.cases(&two).await.unwrap()), ["c-1", "c-2"]);
    let none = CaseFilter {
        limit: Some(0),
        ..CaseFilter::default()
    };
    assert!(store.cases(&none).await.unwrap().is_empty());
    let unknown = CaseFilter {
        state: Some("closed".to_owned()),
        ..CaseFilter::default()
    };
    assert!(store.cases(&unknown).await.unwrap().is_empty());
}

pub async fn round_trip_events<S: Store>(store: S) {
    new_case(&store, &case("c-1", "draft", T0)).await;
    new_case(&store, &case("c-2", "draft", T0)).await;
    let e = [
        event("c-1", 2, "sent"),
        event("c-1", 1, "drafted"),
        event("c-2", 1, "drafted"),
    ];
    apply(
        &store,
        Change {
            events: e.to_vec(),
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        store.events("c-1").await.unwrap(),
        vec![e[1].clone(), e[0].clone()]
    );
    assert_eq!(store.events("c-2").await.unwrap(), vec![e[2].clone()]);
    assert!(store.events("c-none").await.unwrap().is_empty());
    assert_eq!(store.inbound("e-orphan").await.unwrap(), None);
}

pub async fn round_trip_deadlines<S: Store>(store: S) {
    new_case(&store, &case("c-1", "received", T0)).await;
    let first = deadline("c-1", "respond", T0 + 48 * HOUR, "open");
    let other = deadline("c-1", "acknowledge", T0 + HOUR, "open");
    apply(
        &store,
        Change {
            deadlines: vec![first.clone(), other.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        store.case_deadlines("c-1").await.unwrap(),
        vec![other.clone(), first.clone()]
    );

    // replaced whole by (case_id, name)
    let replaced = DeadlineRow {
        due_at: T0 + 72 * HOUR,
        state: "due".to_owned(),
        data: json!({ "extended": true }),
        ..first.clone()
    };
    apply(
        &store,
        Change {
            deadlines: vec![replaced.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        store.case_deadlines("c-1").await.unwrap(),
        vec![other, replaced]
    );
    assert!(store.case_deadlines("c-none").await.unwrap().is_empty());
}

pub async fn round_trip_outbox<S: Store>(store: S) {
    new_case(&store, &case("c-1", "draft", T0)).await;
    let a = message("m-a", Some("c-1"), 5, T0);
    let b = OutboxRow {
        bytes: vec![],
        attempts: 3,
        next_attempt_at: T0 + 99,
        last_error: Some("connection refused".to_owned()),
        ..message("m-b", None, -1, T0 + 1)
    };
    let c = OutboxRow {
        delivered_at: Some(T0 + 5),
        ..message("m-c", Some("c-1"), 0, T0 + 2)
    };
    apply(
        &store,
        Change {
            outbox: vec![a.clone(), b.clone(), c.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        store.outbox(None).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        store.outbox(Some("c-1")).await.unwrap(),
        vec![a.clone(), c.clone()]
    );
    assert!(store.outbox(Some("c-none")).await.unwrap().is_empty());

    // the delivery loop's bookkeeping: each outcome counts one attempt
    apply(
        &store,
        Change {
            outbox_updates: vec![
                OutboxUpdate::Failed {
                    id: "m-a".to_owned(),
                    error: "timeout".to_owned(),
                    next_attempt_at: T0 + 1000,
                },
                OutboxUpdate::Delivered {
                    id: "m-b".to_owned(),
                    at: T0 + 7,
                },
            ],
            ..Change::default()
        },
    )
    .await;
    let a2 = OutboxRow {
        attempts: 1,
        last_error: Some("timeout".to_owned()),
        next_attempt_at: T0 + 1000,
        ..a
    };
    let b2 = OutboxRow {
        attempts: 4,
        delivered_at: Some(T0 + 7),
        ..b
    };
    assert_eq!(store.outbox(None).await.unwrap(), vec![a2, b2, c]);
}

pub async fn outbox_update_refusals<S: Store>(store: S) {
    let delivered = OutboxRow {
        delivered_at: Some(T0),
        ..message("m-d", None, 0, T0)
    };
    let pending = message("m-p", None, 0, T0);
    apply(
        &store,
        Change {
            outbox: vec![delivered, pending.clone()],
            ..Change::default()
        },
    )
    .await;
    let before = store.outbox(None).await.unwrap();
    for update in [
        OutboxUpdate::Delivered {
            id: "m-none".to_owned(),
            at: T0,
        },
        OutboxUpdate::Delivered {
            id: "m-d".to_owned(),
            at: T0 + 1,
        },
        OutboxUpdate::Failed {
            id: "m-d".to_owned(),
            error: "x".to_owned(),
            next_attempt_at: T0,
        },
    ] {
        // the pending message's update, applied first, is rolled back with the refused one
        let change = Change {
            outbox_updates: vec![
                OutboxUpdate::Delivered {
                    id: "m-p".to_owned(),
                    at: T0 + 3,
                },
                update,
            ],
            ..Change::default()
        };
        let err = store.apply(&change).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        assert_eq!(store.outbox(None).await.unwrap(), before);
    }
    // an outbox id is never written twice
    let err = store
        .apply(&Change {
            outbox: vec![pending],
            ..Change::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(store.outbox(None).await.unwrap(), before);
}

pub async fn round_trip_inbound<S: Store>(store: S) {
    let a = inbound("e-a", Some("c-elsewhere"));
    let b = InboundRow {
        wire_hash: vec![],
        result: json!("refused"),
        ..inbound("e-b", None)
    };
    apply(
        &store,
        Change {
            inbound: vec![a.clone(), b.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(store.inbound("e-a").await.unwrap(), Some(a));
    assert_eq!(store.inbound("e-b").await.unwrap(), Some(b));
    assert_eq!(store.inbound("e-none").await.unwrap(), None);
}

pub async fn round_trip_audit<S: Store>(store: S) {
    let rows = [
        audit("viewed", Some("c-1"), T0),
        audit("exported", None, T0 + 1),
        audit("decided", Some("c-1"), T0 + 2),
    ];
    apply(
        &store,
        Change {
            audit: rows[..2].to_vec(),
            ..Change::default()
        },
    )
    .await;
    apply(
        &store,
        Change {
            audit: rows[2..].to_vec(),
            ..Change::default()
        },
    )
    .await;
    let read = store.audit(0, 100).await.unwrap();
    let expected: Vec<AuditRow> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| AuditRow {
            seq: i64::try_from(i).unwrap() + 1,
            ..r.clone()
        })
        .collect();
    assert_eq!(read, expected);
}

pub async fn audit_paging<S: Store>(store: S) {
    for i in 0..5 {
        apply(
            &store,
            Change {
                audit: vec![audit("viewed", None, T0 + i)],
                ..Change::default()
            },
        )
        .await;
    }
    let seqs = |v: Vec<AuditRow>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(store.audit(0, 100).await.unwrap()), [1, 2, 3, 4, 5]);
    assert_eq!(seqs(store.audit(2, 100).await.unwrap()), [3, 4, 5]);
    assert_eq!(seqs(store.audit(1, 2).await.unwrap()), [2, 3]);
    assert!(store.audit(5, 100).await.unwrap().is_empty());
    assert!(store.audit(0, 0).await.unwrap().is_empty());
    // numbers keep growing: a failed change takes none
    let failing = Change {
        audit: vec![audit("viewed", None, T0)],
        inbound: vec![inbound("e", None)],
        ..Change::default()
    };
    apply(
        &store,
        Change {
            inbound: vec![inbound("e", None)],
            ..Change::default()
        },
    )
    .await;
    assert!(store.apply(&failing).await.is_err());
    apply(
        &store,
        Change {
            audit: vec![audit("viewed", None, T0 + 9)],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(seqs(store.audit(0, 100).await.unwrap()), [1, 2, 3, 4, 5, 6]);
}

pub async fn round_trip_items<S: Store>(store: S) {
    new_case(&store, &case("c-1", "executed", T0)).await;
    let a = item("i-a", "c-1", Some(T0 + 100));
    let b = ItemRow {
        sealed: Some(vec![]),
        data: json!([]),
        ..item("i-b", "c-1", None)
    };
    apply(
        &store,
        Change {
            items: vec![b.clone(), a.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        store.items("c-1").await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    // deleting is an upsert that drops the key and the sealed bytes
    let gone = deleted(&a, T0 + 200);
    apply(
        &store,
        Change {
            items: vec![gone.clone()],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(store.items("c-1").await.unwrap(), vec![gone, b]);
    assert!(store.items("c-none").await.unwrap().is_empty());
}

// ---- compare-and-swap and exactly-once ----

pub async fn cas_conflict<S: Store>(store: S) {
    let a = case("c-1", "received", T0);
    new_case(&store, &a).await;
    let winner = bumped(&a, "decided", T0 + 1);
    apply(
        &store,
        Change {
            cases: vec![winner],
            ..Change::default()
        },
    )
    .await;
    let stored = store.case("c-1").await.unwrap();
    let before = dump(&store, &["c-1"], &[]).await;

    // a writer that read version 1 loses, and nothing of its change is written
    let loser = Change {
        cases: vec![bumped(&a, "refused", T0 + 2)],
        events: vec![event("c-1", 1, "refused")],
        outbox: vec![message("m-1", Some("c-1"), 1, T0 + 2)],
        audit: vec![audit("decided", Some("c-1"), T0 + 2)],
        ..Change::default()
    };
    match store.apply(&loser).await {
        Err(StoreError::Conflict(id)) => assert_eq!(id, "c-1"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(dump(&store, &["c-1"], &[]).await, before);
    assert_eq!(store.case("c-1").await.unwrap(), stored);

    // an update of a case that does not exist conflicts too
    let ghost = bumped(&case("c-ghost", "received", T0), "decided", T0);
    let err = store
        .apply(&Change {
            cases: vec![ghost],
            ..Change::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref id) if id == "c-ghost"),
        "{err:?}"
    );

    // the new version must follow the expected one
    let Some(current) = stored else {
        unreachable!()
    };
    let skipping = CaseWrite::Update {
        row: CaseRow {
            version: current.version + 2,
            ..current.clone()
        },
        expected_version: current.version,
    };
    let err = store
        .apply(&Change {
            cases: vec![skipping],
            ..Change::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(dump(&store, &["c-1"], &[]).await, before);
}

pub async fn concurrent_cas<S: Store>(store: S) {
    let a = case("c-1", "received", T0);
    new_case(&store, &a).await;
    let one = Change {
        cases: vec![bumped(&a, "decided", T0 + 1)],
        outbox: vec![message("m-1", Some("c-1"), 1, T0 + 1)],
        ..Change::default()
    };
    let two = Change {
        cases: vec![bumped(&a, "refused", T0 + 2)],
        outbox: vec![message("m-2", Some("c-1"), 1, T0 + 2)],
        ..Change::default()
    };
    let (r1, r2) = tokio::join!(store.apply(&one), store.apply(&two));
    let won = usize::from(r1.is_ok()) + usize::from(r2.is_ok());
    assert_eq!(won, 1, "{r1:?} {r2:?}");
    for r in [r1, r2] {
        assert!(matches!(r, Ok(()) | Err(StoreError::Conflict(_))), "{r:?}");
    }
    assert_eq!(store.case("c-1").await.unwrap().unwrap().version, 2);
    assert_eq!(store.outbox(None).await.unwrap().len(), 1);
}

pub async fn insert_existing_conflict<S: Store>(store: S) {
    let a = case("c-1", "draft", T0);
    new_case(&store, &a).await;
    let before = dump(&store, &["c-1"], &[]).await;
    let again = Change {
        cases: vec![CaseWrite::Insert(case("c-1", "received", T0 + 5))],
        events: vec![event("c-1", 1, "received")],
        ..Change::default()
    };
    match store.apply(&again).await {
        Err(StoreError::Conflict(id)) => assert_eq!(id, "c-1"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(dump(&store, &["c-1"], &[]).await, before);
    assert_eq!(store.case("c-1").await.unwrap(), Some(a));
}

pub async fn event_seq_conflict<S: Store>(store: S) {
    new_case(&store, &case("c-1", "draft", T0)).await;
    apply(
        &store,
        Change {
            events: vec![event("c-1", 1, "drafted")],
            ..Change::default()
        },
    )
    .await;
    let before = dump(&store, &["c-1"], &[]).await;
    let again = Change {
        events: vec![event("c-1", 2, "checked"), event("c-1", 1, "other")],
        ..Change::default()
    };
    let err = store.apply(&again).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref id) if id == "c-1"),
        "{err:?}"
    );
    assert_eq!(dump(&store, &["c-1"], &[]).await, before);
}

pub async fn rows_need_their_case<S: Store>(store: S) {
    // events, deadlines and items belong to a stored case; outbox, inbound and audit may name a
    // case this node does not hold
    let before = dump(&store, &["c-none"], &[]).await;
    for change in [
        Change {
            events: vec![event("c-none", 1, "x")],
            ..Change::default()
        },
        Change {
            deadlines: vec![deadline("c-none", "x", T0, "open")],
            ..Change::default()
        },
        Change {
            items: vec![item("i", "c-none", None)],
            ..Change::default()
        },
    ] {
        let err = store.apply(&change).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        assert_eq!(dump(&store, &["c-none"], &[]).await, before);
    }
    apply(
        &store,
        Change {
            outbox: vec![message("m", Some("c-none"), 0, T0)],
            inbound: vec![inbound("e", Some("c-none"))],
            audit: vec![audit("viewed", Some("c-none"), T0)],
            ..Change::default()
        },
    )
    .await;
}

pub async fn duplicate_inbound<S: Store>(store: S) {
    let first = inbound("e-1", Some("c-1"));
    apply(
        &store,
        Change {
            cases: vec![CaseWrite::Insert(case("c-1", "received", T0))],
            inbound: vec![first.clone()],
            ..Change::default()
        },
    )
    .await;
    let before = dump(&store, &["c-1", "c-2"], &["e-1"]).await;

    // the same envelope id again, whatever else the change holds, changes nothing
    let repeat = Change {
        cases: vec![CaseWrite::Insert(case("c-2", "received", T0 + 1))],
        inbound: vec![InboundRow {
            wire_hash: vec![1; 32],
            result: json!("other"),
            ..inbound("e-1", Some("c-2"))
        }],
        outbox: vec![message("m-1", Some("c-2"), 0, T0 + 1)],
        audit: vec![audit("received", Some("c-2"), T0 + 1)],
        ..Change::default()
    };
    match store.apply(&repeat).await {
        Err(StoreError::Duplicate(id)) => assert_eq!(id, "e-1"),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(dump(&store, &["c-1", "c-2"], &["e-1"]).await, before);
    assert_eq!(store.inbound("e-1").await.unwrap(), Some(first));
}

// ---- many writers at once ----

/// The change a request from another node makes: the inbound record, a new case, its first
/// event, an acknowledgement in the outbox and an audit entry.
pub fn received(n: usize) -> Change {
    let id = format!("c-{n:03}");
    Change {
        inbound: vec![inbound(&format!("e-{n:03}"), Some(&id))],
        cases: vec![CaseWrite::Insert(case(&id, "received", T0 + n as Millis))],
        events: vec![event(&id, 1, "received")],
        outbox: vec![message(&format!("m-{n:03}"), Some(&id), 1, T0)],
        audit: vec![audit("received", Some(&id), T0)],
        leaves: vec![leaf(&format!("received {n:03}"))],
        ..Change::default()
    }
}

/// Applies every change at once, each from a task of its own, and returns the results in the
/// order of `changes`.
pub async fn apply_all<S: Store + 'static>(
    store: &Arc<S>,
    changes: Vec<Change>,
) -> Vec<Result<(), StoreError>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, change) in changes.into_iter().enumerate() {
        let store = Arc::clone(store);
        tasks.spawn(async move { (i, store.apply(&change).await) });
    }
    let mut results: Vec<_> = tasks.join_all().await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// 200 writers at once: every change is committed, whole, once.
pub async fn many_concurrent_applies<S: Store + 'static>(store: S) {
    const N: usize = 200;
    let store = Arc::new(store);
    let results = apply_all(&store, (0..N).map(received).collect()).await;
    for (n, r) in results.iter().enumerate() {
        assert!(r.is_ok(), "change {n}: {r:?}");
    }
    let cases = store.cases(&all_cases()).await.unwrap();
    assert_eq!(cases.len(), N);
    for n in 0..N {
        let id = format!("c-{n:03}");
        assert_eq!(store.events(&id).await.unwrap().len(), 1, "{id}");
        let inbound = store.inbound(&format!("e-{n:03}")).await.unwrap().unwrap();
        assert_eq!(inbound.case_id.as_deref(), Some(id.as_str()));
    }
    assert_eq!(store.outbox(None).await.unwrap().len(), N);
    // the store numbers audit entries 1..=N without gaps or repeats, whatever the interleaving
    let seqs: Vec<i64> = store
        .audit(0, u32::MAX)
        .await
        .unwrap()
        .iter()
        .map(|a| a.seq)
        .collect();
    assert_eq!(seqs, (1..=N as i64).collect::<Vec<_>>());
}

/// Writers that lose fail alone: among many good changes applied at once, ten updates of one
/// case from the same version (one wins, nine conflict), a repeat of a recorded envelope, two
/// changes recording the same new envelope (one wins, one is a duplicate) and a change whose
/// event names no case. Each loser gets its own error and leaves no row; every other change is
/// committed whole.
pub async fn losers_fail_alone<S: Store + 'static>(store: S) {
    let store = Arc::new(store);
    let a = case("c-a", "received", T0);
    apply(
        &*store,
        Change {
            cases: vec![CaseWrite::Insert(a.clone())],
            inbound: vec![inbound("e-seen", Some("c-a"))],
            ..Change::default()
        },
    )
    .await;

    let mut changes: Vec<Change> = (0..40).map(received).collect();
    let racers = changes.len();
    for r in 0..10 {
        changes.push(Change {
            cases: vec![bumped(&a, &format!("state-{r}"), T0 + r)],
            outbox: vec![message(&format!("m-race-{r}"), Some("c-a"), 1, T0)],
            audit: vec![audit(&format!("race-{r}"), Some("c-a"), T0)],
            leaves: vec![leaf(&format!("race-{r}")), leaf(&format!("race-{r} again"))],
            ..Change::default()
        });
    }
    let repeat = changes.len();
    changes.push(Change {
        inbound: vec![inbound("e-seen", Some("c-x"))],
        cases: vec![CaseWrite::Insert(case("c-x", "received", T0))],
        outbox: vec![message("m-x", Some("c-x"), 1, T0)],
        leaves: vec![leaf("repeat")],
        ..Change::default()
    });
    let twins = changes.len();
    for t in 0..2 {
        let id = format!("c-twin-{t}");
        changes.push(Change {
            inbound: vec![inbound("e-twin", Some(&id))],
            cases: vec![CaseWrite::Insert(case(&id, "received", T0))],
            audit: vec![audit("twin", Some(&id), T0)],
            leaves: vec![leaf(&format!("twin {t}"))],
            ..Change::default()
        });
    }
    let orphan = changes.len();
    // the inbound row is written before the event that fails, and must go with it
    changes.push(Change {
        inbound: vec![inbound("e-orphan", None)],
        events: vec![event("c-none", 1, "x")],
        audit: vec![audit("orphan", None, T0)],
        leaves: vec![leaf("orphan")],
        ..Change::default()
    });
    // interleave the losers with the good changes
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by_key(|&i| (i * 7919) % changes.len());
    let shuffled: Vec<Change> = order.iter().map(|&i| changes[i].clone()).collect();
    let mut results: Vec<Option<Result<(), StoreError>>> =
        (0..changes.len()).map(|_| None).collect();
    for (r, &i) in apply_all(&store, shuffled).await.into_iter().zip(&order) {
        results[i] = Some(r);
    }
    let results: Vec<Result<(), StoreError>> = results.into_iter().map(Option::unwrap).collect();

    for (n, r) in results[..racers].iter().enumerate() {
        assert!(r.is_ok(), "good change {n}: {r:?}");
    }
    let race = &results[racers..repeat];
    let winners: Vec<usize> = (0..race.len()).filter(|&r| race[r].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{race:?}");
    for r in race.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(r, Err(StoreError::Conflict(id)) if id == "c-a"),
            "{r:?}"
        );
    }
    assert!(
        matches!(&results[repeat], Err(StoreError::Duplicate(id)) if id == "e-seen"),
        "{:?}",
        results[repeat]
    );
    let twin = &results[twins..orphan];
    assert_eq!(twin.iter().filter(|r| r.is_ok()).count(), 1, "{twin:?}");
    assert!(
        twin.iter()
            .any(|r| matches!(r, Err(StoreError::Duplicate(id)) if id == "e-twin")),
        "{twin:?}"
    );
    assert!(
        matches!(results[orphan], Err(StoreError::Backend(_))),
        "{:?}",
        results[orphan]
    );

    // what the winners wrote, and nothing of the losers
    let w = winners[0];
    let stored = store.case("c-a").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.state.as_str()),
        (2, format!("state-{w}").as_str())
    );
    let outbox: Vec<String> = store
        .outbox(None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(outbox.len(), racers + 1, "{outbox:?}");
    assert!(outbox.contains(&format!("m-race-{w}")), "{outbox:?}");
    assert!(!outbox.contains(&"m-x".to_owned()), "{outbox:?}");
    let actions: Vec<String> = store
        .audit(0, u32::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions.len(), racers + 2, "{actions:?}");
    assert!(actions.contains(&format!("race-{w}")), "{actions:?}");
    assert!(!actions.contains(&"orphan".to_owned()), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "twin").count(), 1);
    let twin_case = store
        .inbound("e-twin")
        .await
        .unwrap()
        .unwrap()
        .case_id
        .unwrap();
    let cases: Vec<String> = store
        .cases(&all_cases())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(cases.len(), 1 + racers + 1, "{cases:?}");
    assert!(cases.contains(&twin_case), "{cases:?}");
    assert!(!cases.contains(&"c-x".to_owned()), "{cases:?}");
    assert_eq!(
        store
            .inbound("e-seen")
            .await
            .unwrap()
            .unwrap()
            .case_id
            .as_deref(),
        Some("c-a")
    );
    assert!(store.events("c-none").await.unwrap().is_empty());
    assert_eq!(store.inbound("e-orphan").await.unwrap(), None);

    // the log holds the winners' leaves and nothing of the losers, at dense indexes, each
    // change's leaves together and in order
    let head = store.log_head().await.unwrap();
    let entries = store.log_entries(0..head.size).await.unwrap();
    let text: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.clone()).unwrap())
        .collect();
    assert_eq!(entries.len(), racers + 2 + 1, "{text:?}");
    let at = |name: &str| entries.iter().position(|e| *e == leaf(name));
    for n in 0..racers {
        assert!(at(&format!("received {n:03}")).is_some(), "{n}");
    }
    let first = at(&format!("race-{w}")).unwrap();
    assert_eq!(at(&format!("race-{w} again")), Some(first + 1));
    for name in ["repeat", "orphan"] {
        assert_eq!(at(name), None, "{name}");
    }
    assert_eq!(
        text.iter().filter(|e| e.contains("twin")).count(),
        1,
        "{text:?}"
    );
    assert_log_is(&*store, &entries).await;
}

// ---- queries ----

pub async fn outbox_order_and_due<S: Store>(store: S) {
    let rows = vec![
        message("m-late-low", None, 5, T0),
        message("m-urgent-new", None, 0, T0 + 20),
        message("m-urgent-old", None, 0, T0 + 10),
        OutboxRow {
            next_attempt_at: T0 + 500,
            ..message("m-backoff", None, 0, T0 + 1)
        },
        OutboxRow {
            delivered_at: Some(T0 + 2),
            ..message("m-delivered", None, 0, T0)
        },
        message("m-mid", None, 3, T0 + 30),
        // same priority and age: the order they were written (a case's messages keep their order)
        message("m-tie-b", None, 3, T0 + 30),
        message("m-tie-a", None, 3, T0 + 30),
    ];
    apply(
        &store,
        Change {
            outbox: rows,
            ..Change::default()
        },
    )
    .await;
    let ids = |v: Vec<OutboxRow>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.outbox_due(T0 + 100, 100).await.unwrap()),
        [
            "m-urgent-old",
            "m-urgent-new",
            "m-mid",
            "m-tie-b",
            "m-tie-a",
            "m-late-low"
        ]
    );
    assert_eq!(
        ids(store.outbox_due(T0 + 100, 2).await.unwrap()),
        ["m-urgent-old", "m-urgent-new"]
    );
    // due is inclusive; not yet due is left out
    assert_eq!(
        ids(store.outbox_due(T0 + 10, 100).await.unwrap()),
        ["m-urgent-old", "m-late-low"]
    );
    assert!(store.outbox_due(T0 - 1, 100).await.unwrap().is_empty());
    assert_eq!(
        ids(store.outbox_due(T0 + 500, 100).await.unwrap()),
        [
            "m-backoff",
            "m-urgent-old",
            "m-urgent-new",
            "m-mid",
            "m-tie-b",
            "m-tie-a",
            "m-late-low"
        ]
    );
    // a failure reschedules, a delivery removes from the due list
    apply(
        &store,
        Change {
            outbox_updates: vec![
                OutboxUpdate::Failed {
                    id: "m-urgent-old".to_owned(),
                    error: "503".to_owned(),
                    next_attempt_at: T0 + 200,
                },
                OutboxUpdate::Delivered {
                    id: "m-urgent-new".to_owned(),
                    at: T0 + 101,
                },
            ],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(
        ids(store.outbox_due(T0 + 100, 100).await.unwrap()),
        ["m-mid", "m-tie-b", "m-tie-a", "m-late-low"]
    );
    assert_eq!(
        ids(store.outbox_due(T0 + 200, 100).await.unwrap()),
        ["m-urgent-old", "m-mid", "m-tie-b", "m-tie-a", "m-late-low"]
    );
}

/// What every backend's claim does (one claimant): the due messages of the priorities asked
/// for, in `outbox_due`'s order, at most `limit`.
pub async fn outbox_claims<S: Store>(store: S) {
    apply(
        &store,
        Change {
            outbox: vec![
                message("m-low", None, 5, T0),
                message("m-urgent", None, 0, T0 + 10),
                message("m-mid", None, 3, T0 + 20),
                OutboxRow {
                    next_attempt_at: T0 + 500,
                    ..message("m-later", None, 3, T0)
                },
            ],
            ..Change::default()
        },
    )
    .await;
    let ids = |v: Vec<OutboxRow>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let lease = T0 + 100 + HOUR;
    assert_eq!(
        ids(store
            .outbox_claim(T0 + 100, 10, i32::MIN..=0, lease)
            .await
            .unwrap()),
        ["m-urgent"]
    );
    assert_eq!(
        ids(store
            .outbox_claim(T0 + 100, 10, 1..=i32::MAX, lease)
            .await
            .unwrap()),
        ["m-mid", "m-low"]
    );
    // The rows come back as written.
    let claimed = store
        .outbox_claim(T0 + 600, 10, i32::MIN..=i32::MAX, T0 + 600 + HOUR)
        .await
        .unwrap();
    for row in claimed {
        assert_eq!(row.bytes, (0..=255).collect::<Vec<u8>>());
    }
}

/// A claim never gives a case's later message while an earlier one to the same recipient waits
/// for its next attempt, so a case's messages leave in order even from a deliverer that has
/// just started and knows nothing of what backs off; other cases and recipients go on.
pub async fn outbox_claim_keeps_a_cases_order<S: Store>(store: S) {
    let to = |row: OutboxRow, to: &str| OutboxRow {
        to: to.to_owned(),
        ..row
    };
    apply(
        &store,
        Change {
            outbox: vec![
                // c-1's decision failed and waits until T0 + 500; its results are due.
                OutboxRow {
                    attempts: 2,
                    next_attempt_at: T0 + 500,
                    ..message("c1-decision", Some("c-1"), 5, T0)
                },
                message("c1-results", Some("c-1"), 5, T0 + 10),
                // the same case to another recipient, another case, no case: all free.
                to(
                    message("c1-other", Some("c-1"), 5, T0 + 20),
                    "XY/central_authority",
                ),
                message("c2-request", Some("c-2"), 5, T0 + 30),
                message("no-case", None, 5, T0 + 40),
                // c-3's first message was delivered: its second is free.
                OutboxRow {
                    delivered_at: Some(T0 + 5),
                    ..message("c3-first", Some("c-3"), 5, T0)
                },
                message("c3-second", Some("c-3"), 5, T0 + 50),
            ],
            ..Change::default()
        },
    )
    .await;
    let ids = |v: Vec<OutboxRow>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let claimed = store
        .outbox_claim(T0 + 100, 10, i32::MIN..=i32::MAX, T0 + 200)
        .await
        .unwrap();
    assert_eq!(
        ids(claimed),
        ["c1-other", "c2-request", "no-case", "c3-second"]
    );
    // Once the decision is due again it comes first, its results behind it.
    let claimed = store
        .outbox_claim(T0 + 600, 10, i32::MIN..=i32::MAX, T0 + 700)
        .await
        .unwrap();
    assert_eq!(&ids(claimed)[..2], ["c1-decision", "c1-results"]);
}

pub async fn deadline_filters<S: Store>(store: S) {
    new_case(&store, &case("c-1", "received", T0)).await;
    new_case(&store, &case("c-2", "received", T0)).await;
    let rows = vec![
        deadline("c-1", "acknowledge", T0 + HOUR, "open"),
        deadline("c-1", "respond", T0 + 10 * HOUR, "open"),
        deadline("c-2", "acknowledge", T0 + 2 * HOUR, "due"),
        deadline("c-2", "preserve", T0 + 3 * HOUR, "met"),
        deadline("c-2", "respond", T0 + 5 * HOUR, "overdue"),
        deadline("c-2", "extend", T0 + HOUR, "cancelled"),
    ];
    apply(
        &store,
        Change {
            deadlines: rows,
            ..Change::default()
        },
    )
    .await;
    let keys = |v: Vec<DeadlineRow>| {
        v.into_iter()
            .map(|d| format!("{}/{}", d.case_id, d.name))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(
            store
                .deadlines(&["open", "due"], Some(T0 + 2 * HOUR))
                .await
                .unwrap()
        ),
        ["c-1/acknowledge", "c-2/acknowledge"]
    );
    assert_eq!(
        keys(
            store
                .deadlines(&["open", "due"], Some(T0 + 2 * HOUR - 1))
                .await
                .unwrap()
        ),
        ["c-1/acknowledge"]
    );
    assert_eq!(
        keys(
            store
                .deadlines(&["open", "due", "overdue"], None)
                .await
                .unwrap()
        ),
        [
            "c-1/acknowledge",
            "c-2/acknowledge",
            "c-2/respond",
            "c-1/respond"
        ]
    );
    assert_eq!(
        keys(store.deadlines(&["met"], None).await.unwrap()),
        ["c-2/preserve"]
    );
    assert!(
        store
            .deadlines(&["nonesuch"], None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .deadlines(&["open"], Some(T0))
            .await
            .unwrap()
            .is_empty()
    );
    // no states: every state
    assert_eq!(
        keys(store.deadlines(&[], Some(T0 + HOUR)).await.unwrap()),
        ["c-1/acknowledge", "c-2/extend"]
    );
    assert_eq!(store.deadlines(&[], None).await.unwrap().len(), 6);
}

pub async fn expiring_items<S: Store>(store: S) {
    new_case(&store, &case("c-1", "executed", T0)).await;
    new_case(&store, &case("c-2", "executed", T0)).await;
    let soon = item("i-soon", "c-2", Some(T0 + 10));
    let later = item("i-later", "c-1", Some(T0 + 20));
    let forever = item("i-forever", "c-1", None);
    let gone = deleted(&item("i-gone", "c-1", Some(T0)), T0 + 1);
    apply(
        &store,
        Change {
            items: vec![later.clone(), forever, gone, soon.clone()],
            ..Change::default()
        },
    )
    .await;
    assert!(store.items_expiring(T0 + 9).await.unwrap().is_empty());
    assert_eq!(
        store.items_expiring(T0 + 10).await.unwrap(),
        vec![soon.clone()]
    );
    assert_eq!(
        store.items_expiring(T0 + 1000).await.unwrap(),
        vec![soon.clone(), later.clone()]
    );
    // once its deletion is recorded an item is no longer held
    apply(
        &store,
        Change {
            items: vec![deleted(&soon, T0 + 11)],
            ..Change::default()
        },
    )
    .await;
    assert_eq!(store.items_expiring(T0 + 1000).await.unwrap(), vec![later]);
}

// ---- faults ----

/// For a change with k writes, a fault at each write in turn leaves the store exactly as it
/// was; a fault at k does not fire, so the change applies once; applying it again fails with
/// `Conflict` or `Duplicate` and writes nothing (no message twice).
async fn fault_every_write<S: FaultInjection>(
    store: &FaultyStore<S>,
    change: &Change,
    case_ids: &[&str],
    envelope_ids: &[&str],
) -> StoreError {
    let before = dump(store, case_ids, envelope_ids).await;
    let k = change.write_count();
    for i in 0..k {
        store.fail_at(i);
        let err = store.apply(change).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Backend(_)),
            "fault at write {i} of {k}: {err:?}"
        );
        assert_eq!(
            dump(store, case_ids, envelope_ids).await,
            before,
            "fault at write {i} of {k}"
        );
    }
    store.fail_at(k);
    store
        .apply(change)
        .await
        .expect("a fault past the last write does not fire");
    let after = dump(store, case_ids, envelope_ids).await;
    assert_ne!(after, before);
    let err = store.apply(change).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_) | StoreError::Duplicate(_)),
        "{err:?}"
    );
    assert_eq!(dump(store, case_ids, envelope_ids).await, after);
    // each message of the change is in the outbox exactly once
    let outbox = store.outbox(None).await.unwrap();
    for m in &change.outbox {
        assert_eq!(
            outbox.iter().filter(|o| o.id == m.id).count(),
            1,
            "{}",
            m.id
        );
    }
    err
}

/// The stored state the fault changes start from: a case with events, a deadline, two pending
/// messages and an item.
pub async fn seed<S: Store>(store: &S) -> CaseRow {
    let a = case("c-a", "received", T0);
    apply(
        store,
        Change {
            cases: vec![CaseWrite::Insert(a.clone())],
            events: vec![event("c-a", 1, "received")],
            deadlines: vec![deadline("c-a", "acknowledge", T0 + HOUR, "open")],
            outbox: vec![
                message("m-0", Some("c-a"), 1, T0),
                message("m-1", Some("c-a"), 1, T0),
            ],
            inbound: vec![inbound("e-0", Some("c-a"))],
            audit: vec![audit("received", Some("c-a"), T0)],
            items: vec![item("i-0", "c-a", Some(T0 + 100))],
            leaves: vec![leaf("seed")],
            ..Change::default()
        },
    )
    .await;
    a
}

/// A change that writes every kind of row, updating some and inserting others: 22 writes.
pub fn every_kind_of_write(a: &CaseRow) -> Change {
    Change {
        cases: vec![
            bumped(a, "decided", T0 + 5),
            CaseWrite::Insert(case("c-b", "draft", T0 + 5)),
        ],
        events: vec![event("c-a", 2, "decided"), event("c-b", 1, "drafted")],
        deadlines: vec![
            deadline("c-a", "acknowledge", T0 + HOUR, "met"),
            deadline("c-a", "respond", T0 + 30 * HOUR, "open"),
        ],
        outbox: vec![
            message("m-2", Some("c-a"), 0, T0 + 5),
            message("m-3", None, 2, T0 + 5),
        ],
        outbox_updates: vec![
            OutboxUpdate::Delivered {
                id: "m-0".to_owned(),
                at: T0 + 5,
            },
            OutboxUpdate::Failed {
                id: "m-1".to_owned(),
                error: "refused".to_owned(),
                next_attempt_at: T0 + 60,
            },
        ],
        inbound: vec![inbound("e-1", Some("c-a"))],
        audit: vec![
            audit("decided", Some("c-a"), T0 + 5),
            audit("viewed", Some("c-b"), T0 + 5),
        ],
        items: vec![
            deleted(&item("i-0", "c-a", Some(T0 + 100)), T0 + 5),
            item("i-1", "c-a", None),
        ],
        leaves: vec![leaf("decided"), leaf("drafted")],
        log_size: None,
        checkpoint: Some(CheckpointSwap {
            expected: None,
            new: CheckpointRow {
                size: 1,
                note: "a note of size 1".to_owned(),
            },
        }),
        peer_checkpoints: vec![PeerCheckpointSwap {
            expected: None,
            row: PeerCheckpointRow {
                origin: "peer.example/a".to_owned(),
                size: 7,
                note: "a note of size 7".to_owned(),
                updated_at: T0 + 5,
            },
        }],
        alarms: vec![alarm("peer.example/b", T0 + 5)],
        users: vec![UserRow {
            username: "ana".to_owned(),
            display_name: "Ana".to_owned(),
            role: "officer".to_owned(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            disabled: false,
            created_at: T0 + 5,
            updated_at: T0 + 5,
        }],
        sessions: vec![SessionWrite::Insert(SessionRow {
            id_hash: vec![7; 32],
            username: "ana".to_owned(),
            csrf: "token".to_owned(),
            created_at: T0 + 5,
            expires_at: T0 + HOUR,
        })],
    }
}

pub async fn faults_every_write<S: FaultInjection>(store: S) {
    let store = FaultyStore::new(store);
    let a = seed(&store).await;
    let change = every_kind_of_write(&a);
    assert_eq!(change.write_count(), 22);
    let err = fault_every_write(&store, &change, &["c-a", "c-b"], &["e-0", "e-1"]).await;
    // the envelope is recorded first, so the repeat is reported as such
    assert!(
        matches!(err, StoreError::Duplicate(ref id) if id == "e-1"),
        "{err:?}"
    );
}

pub async fn faults_without_inbound<S: FaultInjection>(store: S) {
    let store = FaultyStore::new(store);
    let a = seed(&store).await;
    let change = Change {
        inbound: vec![],
        ..every_kind_of_write(&a)
    };
    let err = fault_every_write(&store, &change, &["c-a", "c-b"], &["e-0"]).await;
    assert!(
        matches!(err, StoreError::Conflict(ref id) if id == "c-a"),
        "{err:?}"
    );
}

pub async fn faults_new_case<S: FaultInjection>(store: S) {
    // a node drafting a case: insert, event, deadline, message, audit
    let store = FaultyStore::new(store);
    let change = Change {
        cases: vec![CaseWrite::Insert(case("c-n", "sent", T0))],
        events: vec![event("c-n", 1, "drafted"), event("c-n", 2, "sent")],
        deadlines: vec![deadline("c-n", "reply", T0 + 24 * HOUR, "open")],
        outbox: vec![message("m-n", Some("c-n"), 0, T0)],
        audit: vec![audit("sent", Some("c-n"), T0)],
        leaves: vec![leaf("sent")],
        ..Change::default()
    };
    let err = fault_every_write(&store, &change, &["c-n"], &[]).await;
    assert!(
        matches!(err, StoreError::Conflict(ref id) if id == "c-n"),
        "{err:?}"
    );
}

pub async fn fault_is_used_once<S: FaultInjection>(store: S) {
    let store = FaultyStore::new(store);
    let one = Change {
        audit: vec![audit("viewed", None, T0)],
        ..Change::default()
    };
    // armed past the change's writes: applied, and the fault is used up
    store.fail_at(1);
    store.apply(&one).await.unwrap();
    store.apply(&one).await.unwrap();
    store.fail_at(0);
    assert!(store.apply(&one).await.is_err());
    store.apply(&one).await.unwrap();
    store.fail_at(0);
    store.clear();
    store.apply(&one).await.unwrap();
    assert_eq!(store.audit(0, 100).await.unwrap().len(), 4);
    // reads pass through
    assert_eq!(store.inner().audit(0, 100).await.unwrap().len(), 4);
    let _: &Value = &store.audit(0, 1).await.unwrap()[0].data;
}

// ---- the transparency log ----

/// The log's head, entries, tiles and bundles are those of a [`MemoryLog`] holding `entries`.
pub async fn assert_log_is<S: Store>(store: &S, entries: &[Vec<u8>]) {
    let mut memory = MemoryLog::new();
    memory.append(entries).unwrap();
    let size = entries.len() as u64;
    let head = store.log_head().await.unwrap();
    assert_eq!(head.size, size);
    assert_eq!(head.root, memory.root());
    assert_eq!(store.log_entries(0..size).await.unwrap(), entries);
    for path in comity_tlog::tile::tiles_between(0, size) {
        assert_eq!(
            store.log_tile(size, path).await.unwrap(),
            Some(memory.resource(&path).unwrap()),
            "{path}"
        );
    }
}

/// The whole published log of `store` (every tile and bundle, and a checkpoint signed by `key`)
/// as files, for the auditor.
pub async fn published<S: Store>(store: &S, key: &SignerKey) -> BTreeMap<String, Vec<u8>> {
    let head = store.log_head().await.unwrap();
    let note = comity_tlog::sign_checkpoint(key.name(), head.size, head.root, key).unwrap();
    let mut files = BTreeMap::new();
    files.insert("checkpoint".to_owned(), note.into_bytes());
    for path in comity_tlog::tile::tiles_between(0, head.size) {
        let bytes = store.log_tile(head.size, path).await.unwrap().unwrap();
        files.insert(path.to_string(), bytes);
    }
    files
}

pub fn log_key() -> SignerKey {
    SignerKey::from_seed("store.example/log", KeyType::Ed25519, &[5; 32]).unwrap()
}

/// Appends in changes of many sizes across tile boundaries (a change of 300 leaves fills one
/// tile and starts another): the store's head, entries, tiles and bundles are a memory log's,
/// its proofs the reference's, and the auditor accepts the published log.
pub async fn log_appends_and_reads<S: Store>(store: S) {
    let empty = store.log_head().await.unwrap();
    assert_eq!(empty.size, 0);
    assert_eq!(empty.root, comity_tlog::EMPTY_ROOT);
    assert!(store.log_entries(0..0).await.unwrap().is_empty());
    let mut all = Vec::new();
    let mut n = 0;
    for batch in [1usize, 2, 252, 1, 300, 3, 211, 256, 1] {
        let leaves: Vec<Vec<u8>> = (n..n + batch).map(|i| leaf(&format!("e{i}"))).collect();
        n += batch;
        apply(
            &store,
            Change {
                leaves: leaves.clone(),
                ..Change::default()
            },
        )
        .await;
        all.extend(leaves);
        let head = store.log_head().await.unwrap();
        assert_eq!(head.size, all.len() as u64);
    }
    assert_log_is(&store, &all).await;
    let size = all.len() as u64;
    let hashes: Vec<_> = all.iter().map(|e| hash_leaf(e)).collect();
    for index in [0, 1, 255, 256, 511, 700, size - 1] {
        assert_eq!(
            store.log_inclusion_proof(size, index).await.unwrap(),
            merkle::inclusion_proof(&hashes, index).unwrap(),
            "index {index}"
        );
        let smaller = index + 1;
        assert_eq!(
            store.log_inclusion_proof(smaller, index).await.unwrap(),
            merkle::inclusion_proof(&hashes[..smaller as usize], index).unwrap(),
        );
    }
    for size1 in [1, 3, 255, 256, 257, 600, size - 1, size] {
        assert_eq!(
            store.log_consistency_proof(size1, size).await.unwrap(),
            merkle::consistency_proof(&hashes, size1).unwrap(),
            "{size1} -> {size}"
        );
    }
    assert_eq!(
        store.log_consistency_proof(3, 700).await.unwrap(),
        merkle::consistency_proof(&hashes[..700], 3).unwrap(),
    );
    // tiles of an earlier size: partial tiles as they were
    let old = store
        .log_tile(300, TilePath::hashes(0, 1, 44).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.len(), 44 * 32);
    // what the tree does not have
    fn out<T>(r: Result<T, StoreError>) -> bool {
        matches!(r, Err(StoreError::OutOfRange(_)))
    }
    assert!(out(store.log_entries(size - 1..size + 1).await));
    assert!(out(store.log_inclusion_proof(size, size).await));
    assert!(out(store.log_inclusion_proof(size + 1, 0).await));
    assert!(out(store.log_consistency_proof(5, size + 1).await));
    assert!(out(store.log_consistency_proof(9, 5).await));
    assert!(out(store
        .log_tile(size + 1, TilePath::entries(0, 1).unwrap())
        .await));
    let width = (size % 256) as u16;
    let last = size / 256;
    for missing in [
        TilePath::hashes(0, last, width + 1).unwrap(),
        TilePath::hashes(0, last, 256).unwrap(),
        TilePath::hashes(0, last + 1, 1).unwrap(),
        TilePath::hashes(2, 0, 1).unwrap(),
        TilePath::entries(last, width + 1).unwrap(),
        TilePath::entries(last + 1, 1).unwrap(),
    ] {
        assert_eq!(
            store.log_tile(size, missing).await.unwrap(),
            None,
            "{missing}"
        );
    }
    // the auditor, as an outsider, accepts what the store publishes
    let key = log_key();
    let files = published(&store, &key).await;
    let report = comity_tlog::audit(&files, &key.verifier_key(), None, |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), size);
    assert_eq!(report.entries, size);
}

/// A change that fails, for whatever reason, appends nothing: the next change's leaves get
/// the next indexes.
/// `Change::log_size`: leaves appended only at the size expected, else `Stale` and nothing of
/// the change written.
pub async fn log_compare_and_swap<S: Store>(store: S) {
    let at = |size: u64, name: &str| Change {
        leaves: vec![leaf(name)],
        audit: vec![audit(name, None, T0)],
        log_size: Some(size),
        ..Change::default()
    };
    apply(&store, at(0, "first")).await;
    let err = store.apply(&at(0, "again")).await.unwrap_err();
    assert!(matches!(err, StoreError::Stale(_)), "{err:?}");
    apply(&store, at(1, "second")).await;
    assert_log_is(&store, &[leaf("first"), leaf("second")]).await;
    assert_eq!(store.audit(0, 10).await.unwrap().len(), 2);
}

pub async fn a_failed_change_leaves_no_leaf<S: Store>(store: S) {
    let a = case("c-a", "received", T0);
    apply(
        &store,
        Change {
            cases: vec![CaseWrite::Insert(a.clone())],
            leaves: vec![leaf("0")],
            ..Change::default()
        },
    )
    .await;
    // a conflict: the case is not at the version expected
    let stale = Change {
        cases: vec![CaseWrite::Update {
            row: CaseRow {
                version: a.version,
                ..a.clone()
            },
            expected_version: a.version - 1,
        }],
        leaves: vec![leaf("lost 1"), leaf("lost 2")],
        ..Change::default()
    };
    assert!(matches!(
        store.apply(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    // a leaf too long for an entry bundle fails its whole change, the leaf before it too
    let long = Change {
        audit: vec![audit("long", None, T0)],
        leaves: vec![leaf("lost 3"), vec![b'x'; 70_000]],
        ..Change::default()
    };
    assert!(matches!(
        store.apply(&long).await,
        Err(StoreError::Backend(_))
    ));
    assert!(store.audit(0, 100).await.unwrap().is_empty());
    apply(
        &store,
        Change {
            leaves: vec![leaf("1"), leaf("2")],
            ..Change::default()
        },
    )
    .await;
    assert_log_is(&store, &[leaf("0"), leaf("1"), leaf("2")]).await;
}

/// The checkpoint, the held checkpoints of other logs, and alarms.
pub async fn checkpoints_by_compare_and_swap<S: Store>(store: S) {
    assert_eq!(store.checkpoint().await.unwrap(), None);
    let at = |size: u64| CheckpointRow {
        size,
        note: format!("note of size {size}"),
    };
    let stale = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Stale(_)));
    // expecting one where there is none is stale
    assert!(stale(store.swap_checkpoint(Some(0), &at(1)).await));
    store.swap_checkpoint(None, &at(0)).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), Some(at(0)));
    // a second first one loses
    assert!(stale(store.swap_checkpoint(None, &at(3)).await));
    store.swap_checkpoint(Some(0), &at(3)).await.unwrap();
    // a stale old size is refused, whatever the new one
    assert!(stale(store.swap_checkpoint(Some(0), &at(5)).await));
    assert!(stale(store.swap_checkpoint(Some(2), &at(5)).await));
    // never to a smaller tree
    assert!(store.swap_checkpoint(Some(3), &at(2)).await.is_err());
    assert_eq!(store.checkpoint().await.unwrap(), Some(at(3)));
    // the same size again (a note signed anew) is allowed
    let again = CheckpointRow {
        size: 3,
        note: "re-signed".to_owned(),
    };
    store.swap_checkpoint(Some(3), &again).await.unwrap();
    store.swap_checkpoint(Some(3), &at(9)).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), Some(at(9)));

    let peer = |origin: &str, size: u64| PeerCheckpointRow {
        origin: origin.to_owned(),
        size,
        note: format!("{origin} at {size}"),
        updated_at: T0 + size as Millis,
    };
    assert_eq!(store.peer_checkpoint("peer.example/a").await.unwrap(), None);
    store
        .swap_peer_checkpoint(None, &peer("peer.example/a", 4))
        .await
        .unwrap();
    store
        .swap_peer_checkpoint(None, &peer("peer.example/b", 1))
        .await
        .unwrap();
    assert!(stale(
        store
            .swap_peer_checkpoint(None, &peer("peer.example/a", 5))
            .await
    ));
    assert!(stale(
        store
            .swap_peer_checkpoint(Some(3), &peer("peer.example/a", 5))
            .await
    ));
    assert!(
        store
            .swap_peer_checkpoint(Some(4), &peer("peer.example/a", 2))
            .await
            .is_err()
    );
    store
        .swap_peer_checkpoint(Some(4), &peer("peer.example/a", 8))
        .await
        .unwrap();
    assert_eq!(
        store.peer_checkpoint("peer.example/a").await.unwrap(),
        Some(peer("peer.example/a", 8))
    );
    assert_eq!(
        store.peer_checkpoint("peer.example/b").await.unwrap(),
        Some(peer("peer.example/b", 1))
    );
    assert_eq!(store.peer_checkpoint("peer.example/c").await.unwrap(), None);

    assert!(store.alarms(0, 10).await.unwrap().is_empty());
    for (i, origin) in ["peer.example/a", "peer.example/b", "peer.example/a"]
        .iter()
        .enumerate()
    {
        store
            .add_alarm(&alarm(origin, T0 + i as Millis))
            .await
            .unwrap();
    }
    let alarms = store.alarms(0, 10).await.unwrap();
    assert_eq!(alarms.iter().map(|a| a.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        alarms[1],
        AlarmRow {
            seq: 2,
            ..alarm("peer.example/b", T0 + 1)
        }
    );
    assert_eq!(store.alarms(1, 1).await.unwrap(), alarms[1..2].to_vec());
    assert!(store.alarms(3, 10).await.unwrap().is_empty());
}

/// Fault injection counts each leaf, the checkpoint and each alarm as a write point; a fault at
/// any of them leaves neither a leaf nor a gap, and the checkpoint as it was.
pub async fn faults_at_log_writes<S: FaultInjection>(store: S) {
    let store = FaultyStore::new(store);
    apply(
        &store,
        Change {
            leaves: vec![leaf("0")],
            ..Change::default()
        },
    )
    .await;
    let change = Change {
        audit: vec![audit("logged", None, T0)],
        leaves: (1..=3).map(|i| leaf(&i.to_string())).collect(),
        checkpoint: Some(CheckpointSwap {
            expected: None,
            new: CheckpointRow {
                size: 4,
                note: "four".to_owned(),
            },
        }),
        alarms: vec![alarm("peer.example/a", T0)],
        ..Change::default()
    };
    assert_eq!(change.write_count(), 6);
    for i in 0..change.write_count() {
        store.fail_at(i);
        assert!(store.apply(&change).await.is_err(), "fault at {i}");
        assert_log_is(&store, &[leaf("0")]).await;
        assert_eq!(store.checkpoint().await.unwrap(), None);
        assert!(store.alarms(0, 10).await.unwrap().is_empty());
    }
    store.apply(&change).await.unwrap();
    let want: Vec<Vec<u8>> = (0..=3).map(|i| leaf(&i.to_string())).collect();
    assert_log_is(&store, &want).await;
    // the checkpoint's own change is a write point too
    store.fail_at(0);
    let again = CheckpointRow {
        size: 4,
        note: "four again".to_owned(),
    };
    assert!(store.swap_checkpoint(Some(4), &again).await.is_err());
    assert_eq!(store.checkpoint().await.unwrap().unwrap().note, "four");
    store.swap_checkpoint(Some(4), &again).await.unwrap();
    assert_eq!(store.checkpoint().await.unwrap(), Some(again));
}
