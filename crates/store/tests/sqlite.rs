//! The conformance suite on SQLite (in memory and on a file), and what only SQLite shows: the
//! append-only triggers, corrupt columns, WAL, reopening, and rollback checked on the raw
//! tables.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod conformance;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use comity_store::faulty::{FaultInjection, FaultyStore};
use comity_store::sqlite::SqliteStore;
use comity_store::{CaseFilter, CaseWrite, Change, Store, StoreError};
use conformance::{
    T0, assert_log_is, audit, bumped, case, dump, event, every_kind_of_write, leaf, log_key,
    message, published, received, seed,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, Connection};
use tempfile::TempDir;

async fn memory() -> SqliteStore {
    SqliteStore::open_in_memory().await.unwrap()
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("node.db")
}

async fn file(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(db_path(dir)).await.unwrap()
}

/// Runs each conformance function on a fresh in-memory store and a fresh file store.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::conformance::$name(crate::memory().await).await;
                }
            )*
        }
        mod file {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    crate::conformance::$name(crate::file(&dir).await).await;
                }
            )*
        }
    };
}

conformance!(
    round_trip_cases,
    case_filters,
    round_trip_events,
    round_trip_deadlines,
    round_trip_outbox,
    outbox_update_refusals,
    round_trip_inbound,
    round_trip_audit,
    audit_paging,
    round_trip_items,
    cas_conflict,
    concurrent_cas,
    insert_existing_conflict,
    event_seq_conflict,
    rows_need_their_case,
    duplicate_inbound,
    outbox_order_and_due,
    outbox_claims,
    outbox_claim_keeps_a_cases_order,
    deadline_filters,
    expiring_items,
    faults_every_write,
    faults_without_inbound,
    faults_new_case,
    fault_is_used_once,
    many_concurrent_applies,
    losers_fail_alone,
    log_appends_and_reads,
    a_failed_change_leaves_no_leaf,
    log_compare_and_swap,
    checkpoints_by_compare_and_swap,
    faults_at_log_writes,
);

/// A connection of its own to the database file, beside the store's pool.
async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

/// Every row of every table (schema bookkeeping included), each as the SQL literals of its
/// columns, sorted.
async fn raw_dump(conn: &mut SqliteConnection) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let mut out = vec![];
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut rows: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT {row} FROM \"{table}\"")))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        rows.sort();
        out.push((table, rows));
    }
    out
}

#[tokio::test]
async fn open_creates_the_file_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    assert!(!path.exists());
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.exists());
    let mut conn = raw(&path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'
           AND name NOT LIKE 'sqlite%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "alarms",
            "audit",
            "cases",
            "deadlines",
            "events",
            "inbound",
            "items",
            "log_checkpoint",
            "log_entries",
            "log_hashes",
            "outbox",
            "peer_checkpoints",
            "sessions",
            "users"
        ]
    );
    store.close().await;
}

#[tokio::test]
async fn open_fails_cleanly_where_no_file_can_be() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("missing").join("node.db"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let cases = ["c-a", "c-b"];
    let envelopes = ["e-0", "e-1"];
    let before = {
        let store = file(&dir).await;
        let a = seed(&store).await;
        store.apply(&every_kind_of_write(&a)).await.unwrap();
        let d = dump(&store, &cases, &envelopes).await;
        store.close().await;
        d
    };
    // reopening runs the migrations again, which must find nothing to do
    let store = file(&dir).await;
    assert_eq!(dump(&store, &cases, &envelopes).await, before);
    // and numbering goes on where it stopped
    store
        .apply(&Change {
            audit: vec![audit("viewed", None, T0)],
            ..Change::default()
        })
        .await
        .unwrap();
    assert_eq!(store.audit(3, 10).await.unwrap()[0].seq, 4);
    store.close().await;
    let store = file(&dir).await;
    assert_eq!(store.audit(0, 10).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_closed_store_fails_cleanly() {
    let store = memory().await;
    store.close().await;
    let err = store.case("c-1").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn audit_and_events_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = file(&dir).await;
    store
        .apply(&Change {
            cases: vec![CaseWrite::Insert(case("c-1", "draft", T0))],
            events: vec![event("c-1", 1, "drafted")],
            audit: vec![
                audit("viewed", Some("c-1"), T0),
                audit("decided", Some("c-1"), T0 + 1),
            ],
            ..Change::default()
        })
        .await
        .unwrap();
    let audit_before = store.audit(0, 100).await.unwrap();
    let events_before = store.events("c-1").await.unwrap();
    let mut conn = raw(&path).await;
    for sql in [
        "UPDATE audit SET actor = 'someone else' WHERE seq = 1",
        "UPDATE audit SET data = '{}'",
        "DELETE FROM audit WHERE seq = 2",
        "DELETE FROM audit",
        "INSERT OR REPLACE INTO audit (seq, at, actor, action, case_id, data)
         VALUES (1, 0, 'someone else', 'nothing', NULL, '{}')",
        "REPLACE INTO audit (seq, at, actor, action, case_id, data)
         VALUES (2, 0, 'someone else', 'nothing', NULL, '{}')",
    ] {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        assert!(
            err.to_string().contains("the audit trail is append-only"),
            "{sql}: {err}"
        );
    }
    for sql in [
        "UPDATE events SET actor = 'someone else'",
        "DELETE FROM events",
    ] {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        assert!(
            err.to_string().contains("events are append-only"),
            "{sql}: {err}"
        );
    }
    // a replacing insert of an event is skipped
    sqlx::query(
        "INSERT OR REPLACE INTO events (case_id, seq, at, kind, actor, data)
         VALUES ('c-1', 1, 0, 'forged', 'someone else', '{}')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(store.audit(0, 100).await.unwrap(), audit_before);
    assert_eq!(store.events("c-1").await.unwrap(), events_before);
    // appending still works
    let mut more = audit("exported", None, T0 + 2);
    store
        .apply(&Change {
            audit: vec![more.clone()],
            ..Change::default()
        })
        .await
        .unwrap();
    more.seq = 3;
    assert_eq!(store.audit(2, 100).await.unwrap(), vec![more]);
}

#[tokio::test]
async fn corrupt_columns_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = file(&dir).await;
    let a = seed(&store).await;
    store.apply(&every_kind_of_write(&a)).await.unwrap();
    let mut conn = raw(&path).await;
    let corrupt = |r: Result<(), StoreError>, table: &str| match r {
        Err(StoreError::Corrupt { table: t, reason }) => {
            assert_eq!(t, table, "{reason}");
            // the message names the table
            let shown = StoreError::Corrupt { table: t, reason }.to_string();
            assert!(shown.contains(&format!("`{table}`")), "{shown}");
        }
        other => panic!("expected a corrupt `{table}`, got {other:?}"),
    };
    let exec = |sql: &'static str| sqlx::query(sql);

    exec("UPDATE cases SET doc = 'not json' WHERE id = 'c-b'")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.case("c-b").await.map(drop), "cases");
    corrupt(store.cases(&CaseFilter::default()).await.map(drop), "cases");
    assert!(store.case("c-a").await.unwrap().is_some());

    exec("INSERT INTO events VALUES ('c-a', 9, 0, 'x', 'y', '{\"open\": ')")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.events("c-a").await.map(drop), "events");

    exec("UPDATE deadlines SET data = '' WHERE name = 'respond'")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.case_deadlines("c-a").await.map(drop), "deadlines");
    corrupt(store.deadlines(&[], None).await.map(drop), "deadlines");

    exec("UPDATE inbound SET result = 'nul' WHERE envelope_id = 'e-1'")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.inbound("e-1").await.map(drop), "inbound");

    exec("INSERT INTO audit (at, actor, action, data) VALUES (0, 'x', 'y', '[1,')")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.audit(0, 100).await.map(drop), "audit");
    assert_eq!(store.audit(0, 3).await.unwrap().len(), 3);

    exec("UPDATE items SET data = '{''single'': 1}' WHERE id = 'i-1'")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.items("c-a").await.map(drop), "items");

    // a number out of the row type's range
    exec("UPDATE outbox SET priority = 4294967296 WHERE id = 'm-3'")
        .execute(&mut conn)
        .await
        .unwrap();
    corrupt(store.outbox(None).await.map(drop), "outbox");
    corrupt(store.outbox_due(i64::MAX, 100).await.map(drop), "outbox");
}

/// The fault test again, comparing every row of every table (and SQLite's AUTOINCREMENT
/// counter) rather than what the trait shows.
#[tokio::test]
async fn faults_leave_every_table_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = FaultyStore::new(file(&dir).await);
    let a = seed(&store).await;
    let change = every_kind_of_write(&a);
    let mut conn = raw(&path).await;
    let before = raw_dump(&mut conn).await;
    for i in 0..change.write_count() {
        store.fail_at(i);
        let err = store.apply(&change).await.unwrap_err();
        let StoreError::Backend(message) = err else {
            panic!("{err:?}")
        };
        assert_eq!(message, format!("injected fault at write {i}"));
        assert_eq!(raw_dump(&mut conn).await, before, "fault at write {i}");
    }
    store.apply(&change).await.unwrap();
    let after = raw_dump(&mut conn).await;
    assert_ne!(after, before);
    assert!(store.apply(&change).await.is_err());
    assert_eq!(raw_dump(&mut conn).await, after);
}

/// The write order is documented; check that write `n` is the one the order names, by failing
/// a change whose n-th write is itself refused: the refusal wins only if it comes first.
#[tokio::test]
async fn writes_happen_in_the_documented_order() {
    assert_eq!(
        comity_store::sqlite::WRITE_ORDER,
        [
            "inbound",
            "cases",
            "events",
            "deadlines",
            "outbox",
            "outbox_updates",
            "audit",
            "items",
            "leaves",
            "checkpoint",
            "peer_checkpoints",
            "alarms",
            "users",
            "sessions"
        ]
    );
    let store = FaultyStore::new(memory().await);
    let a = seed(&store).await;
    // the inbound envelope e-0 is a duplicate and the case update a conflict: inbound comes
    // first, so Duplicate is what is reported
    let change = Change {
        inbound: vec![conformance::inbound("e-0", None)],
        cases: vec![CaseWrite::Update {
            row: a.clone(),
            expected_version: a.version - 1,
        }],
        ..Change::default()
    };
    let err = store.apply(&change).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    // a fault at write 0 fires after the inbound row was written: a fresh envelope id gets
    // the injected error, not the case conflict behind it
    let change = Change {
        inbound: vec![conformance::inbound("e-9", None)],
        ..change
    };
    store.fail_at(0);
    let StoreError::Backend(message) = store.apply(&change).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(message, "injected fault at write 0");
    let err = store.apply(&change).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.inbound("e-9").await.unwrap(), None);
}

/// Holds the database's write lock from a connection of its own until `release`, so that the
/// store's writer waits at its next `BEGIN IMMEDIATE` and what comes after queues behind it.
async fn hold_write_lock(path: &Path) -> SqliteConnection {
    let mut conn = raw(path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn release(mut conn: SqliteConnection) {
    sqlx::query("COMMIT").execute(&mut conn).await.unwrap();
}

/// Changes queued together are committed in one transaction, each in a savepoint of its own:
/// a conflict, a duplicate envelope, a constraint violation and an injected fault each fail
/// alone, with their own error, and leave nothing; the rest of the batch commits.
#[tokio::test]
async fn one_transaction_for_a_batch_and_losers_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(file(&dir).await);
    let a = case("c-a", "received", T0);
    store
        .apply(&Change {
            cases: vec![CaseWrite::Insert(a.clone())],
            inbound: vec![conformance::inbound("e-seen", Some("c-a"))],
            ..Change::default()
        })
        .await
        .unwrap();
    let before = store.writer_stats();

    let lock = hold_write_lock(&path).await;
    // the first change waits alone at BEGIN; everything after it queues
    let first = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.apply(&received(100)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tasks = tokio::task::JoinSet::new();
    let spawn = |tasks: &mut tokio::task::JoinSet<_>, name: &'static str, change: Change, fault| {
        let store = Arc::clone(&store);
        tasks.spawn(async move { (name, store.apply_with_fault(&change, fault).await) });
    };
    for n in 0..20 {
        spawn(&mut tasks, "good", received(n), None);
    }
    spawn(
        &mut tasks,
        "winner",
        Change {
            cases: vec![bumped(&a, "decided", T0 + 1)],
            outbox: vec![message("m-winner", Some("c-a"), 1, T0)],
            ..Change::default()
        },
        None,
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    spawn(
        &mut tasks,
        "conflict",
        Change {
            cases: vec![bumped(&a, "refused", T0 + 2)],
            outbox: vec![message("m-loser", Some("c-a"), 1, T0)],
            ..Change::default()
        },
        None,
    );
    spawn(
        &mut tasks,
        "duplicate",
        Change {
            inbound: vec![conformance::inbound("e-seen", Some("c-dup"))],
            cases: vec![CaseWrite::Insert(case("c-dup", "received", T0))],
            ..Change::default()
        },
        None,
    );
    spawn(
        &mut tasks,
        "constraint",
        Change {
            inbound: vec![conformance::inbound("e-orphan", None)],
            deadlines: vec![conformance::deadline("c-none", "x", T0, "open")],
            ..Change::default()
        },
        None,
    );
    spawn(&mut tasks, "fault", received(50), Some(3));
    for n in 20..40 {
        spawn(&mut tasks, "good", received(n), None);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // nobody has an answer while the lock is held: they wait in the queue, not in SQLite
    assert!(!first.is_finished());
    assert!(tasks.try_join_next().is_none());
    release(lock).await;

    first.await.unwrap().unwrap();
    let results = tasks.join_all().await;
    let mut good = 0;
    for (name, r) in results {
        match name {
            "good" | "winner" => {
                assert!(r.is_ok(), "{name}: {r:?}");
                good += 1;
            }
            "conflict" => assert!(
                matches!(&r, Err(StoreError::Conflict(id)) if id == "c-a"),
                "{r:?}"
            ),
            "duplicate" => assert!(
                matches!(&r, Err(StoreError::Duplicate(id)) if id == "e-seen"),
                "{r:?}"
            ),
            "constraint" => assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}"),
            "fault" => {
                let Err(StoreError::Backend(message)) = r else {
                    panic!("{r:?}")
                };
                assert_eq!(message, "injected fault at write 3");
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(good, 41);
    // the first change alone, then all 45 queued behind it in one transaction
    let stats = store.writer_stats();
    assert_eq!(stats.transactions - before.transactions, 2, "{stats:?}");
    assert_eq!(stats.committed - before.committed, 42, "{stats:?}");
    assert_eq!(stats.refused - before.refused, 4, "{stats:?}");

    // the losers left nothing; the winners everything
    let stored = store.case("c-a").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.state.as_str()), (2, "decided"));
    let outbox: Vec<String> = store
        .outbox(None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(outbox.len(), 42);
    assert!(outbox.contains(&"m-winner".to_owned()));
    assert!(!outbox.contains(&"m-loser".to_owned()));
    assert!(!outbox.contains(&"m-050".to_owned()));
    assert!(store.case("c-dup").await.unwrap().is_none());
    assert!(store.case("c-050").await.unwrap().is_none());
    assert!(store.events("c-050").await.unwrap().is_empty());
    assert_eq!(store.inbound("e-050").await.unwrap(), None);
    assert_eq!(store.inbound("e-orphan").await.unwrap(), None);
    assert_eq!(store.cases(&CaseFilter::default()).await.unwrap().len(), 42);
    assert_eq!(store.audit(0, u32::MAX).await.unwrap().len(), 41);
}

/// More writers than the queue holds while the writer is stuck: they wait for room (no error,
/// no unbounded memory), then `close` lets the writer finish what it accepted. Every change
/// answered Ok is in the file after reopening; every change refused because the store closed
/// is not; applying after close fails cleanly, and closing twice is harmless.
#[tokio::test]
async fn queued_changes_are_committed_on_close_and_survive_reopening() {
    const N: usize = 600;
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(file(&dir).await);
    let lock = hold_write_lock(&path).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..N {
        let store = Arc::clone(&store);
        tasks.spawn(async move { (n, store.apply(&received(n)).await) });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tasks.try_join_next().is_none());
    let closing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.close().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // a change sent after close began: accepted (if it found room in the queue before the
    // writer took the close) or refused, never lost
    let late = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.apply(&received(N)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    release(lock).await;
    closing.await.unwrap();
    let late = late.await.unwrap();
    let mut committed = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for (n, r) in tasks.join_all().await.into_iter().chain([(N, late)]) {
        match r {
            Ok(()) => committed.insert(n),
            Err(StoreError::Backend(_)) => refused.insert(n),
            Err(e) => panic!("{n}: {e:?}"),
        };
    }
    // every writer that was waiting for room when close began got in before it
    assert!(
        (0..N).all(|n| committed.contains(&n)),
        "refused: {refused:?}"
    );
    // closed: more applies fail cleanly, closing again is harmless
    let Err(StoreError::Backend(message)) = store.apply(&received(N + 1)).await else {
        panic!()
    };
    assert_eq!(message, "the store is closed");
    store.close().await;

    let reopened = SqliteStore::open(&path).await.unwrap();
    for n in 0..=N + 1 {
        let stored = reopened.case(&format!("c-{n:03}")).await.unwrap();
        assert_eq!(stored.is_some(), committed.contains(&n), "change {n}");
        assert_eq!(
            reopened
                .inbound(&format!("e-{n:03}"))
                .await
                .unwrap()
                .is_some(),
            committed.contains(&n),
            "change {n}"
        );
    }
    assert_eq!(
        reopened.audit(0, u32::MAX).await.unwrap().len(),
        committed.len()
    );
    reopened.close().await;
}

/// The in-memory store is one database for its readers and its writer.
#[tokio::test]
async fn in_memory_stores_are_separate_and_shared_by_clones() {
    let one = memory().await;
    let two = memory().await;
    let clone = one.clone();
    clone.apply(&received(1)).await.unwrap();
    assert!(one.case("c-001").await.unwrap().is_some());
    assert!(two.case("c-001").await.unwrap().is_none());
    one.close().await;
    assert!(clone.apply(&received(2)).await.is_err());
    two.apply(&received(2)).await.unwrap();
}

/// Appends `leaves` in one change of their own.
async fn append(store: &impl Store, leaves: Vec<Vec<u8>>) {
    store
        .apply(&Change {
            leaves,
            ..Change::default()
        })
        .await
        .unwrap();
}

/// The log goes on where it stopped after the store is closed and opened again: the writer
/// reads its sequencer back from the stored tiles (mid-tile, and on a tile boundary).
#[tokio::test]
async fn reopening_continues_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<Vec<u8>> = Vec::new();
    for (round, count) in [300usize, 212, 1, 0, 300].into_iter().enumerate() {
        let store = file(&dir).await;
        assert_log_is(&store, &all).await;
        let leaves: Vec<Vec<u8>> = (0..count)
            .map(|i| leaf(&format!("round {round} leaf {i}")))
            .collect();
        // in changes of up to 7 leaves
        for chunk in leaves.chunks(7) {
            append(&store, chunk.to_vec()).await;
        }
        all.extend(leaves);
        assert_log_is(&store, &all).await;
        store.close().await;
    }
    let store = file(&dir).await;
    let key = log_key();
    let files = published(&store, &key).await;
    comity_tlog::audit(&files, &key.verifier_key(), None, |_| {}).unwrap();
}

/// Two stores on one file stand for two processes (`comity serve` and an operator's command):
/// each writer notices, under the write lock, that the other appended, and continues from the
/// stored log instead of its own stale sequencer.
#[tokio::test]
async fn two_writers_on_one_file_keep_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let one = file(&dir).await;
    let two = file(&dir).await;
    let mut all = Vec::new();
    for i in 0..40 {
        let store = if i % 3 == 0 { &two } else { &one };
        let leaves: Vec<Vec<u8>> = (0..(i % 5 + 1))
            .map(|j| leaf(&format!("{i}.{j}")))
            .collect();
        append(store, leaves.clone()).await;
        all.extend(leaves);
    }
    assert_log_is(&one, &all).await;
    assert_log_is(&two, &all).await;
    one.close().await;
    two.close().await;
}

/// Nobody rewrites the log through SQL either: no update, delete, replacement or gap.
#[tokio::test]
async fn the_log_tables_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = file(&dir).await;
    let leaves: Vec<Vec<u8>> = (0..300).map(|i| leaf(&i.to_string())).collect();
    append(&store, leaves.clone()).await;
    store
        .swap_checkpoint(
            None,
            &comity_store::CheckpointRow {
                size: 300,
                note: "n".into(),
            },
        )
        .await
        .unwrap();
    store.add_alarm(&conformance::alarm("x", T0)).await.unwrap();
    let mut conn = raw(&path).await;
    for (sql, why) in [
        (
            "UPDATE log_entries SET entry = x'00' WHERE idx = 3",
            "append-only",
        ),
        ("DELETE FROM log_entries WHERE idx = 299", "append-only"),
        (
            "INSERT OR REPLACE INTO log_entries (idx, entry, leaf_hash) VALUES (2, x'00', zeroblob(32))",
            "next index",
        ),
        (
            "INSERT INTO log_entries (idx, entry, leaf_hash) VALUES (301, x'00', zeroblob(32))",
            "next index",
        ),
        ("UPDATE log_hashes SET hash = zeroblob(32)", "append-only"),
        ("DELETE FROM log_hashes", "append-only"),
        (
            "INSERT OR REPLACE INTO log_hashes (level, idx, hash) VALUES (1, 0, zeroblob(32))",
            "append-only",
        ),
        ("UPDATE log_checkpoint SET size = 5", "larger or equal"),
        ("DELETE FROM log_checkpoint", "never deleted"),
        ("UPDATE alarms SET origin = 'y'", "append-only"),
        ("DELETE FROM alarms", "append-only"),
    ] {
        let err = sqlx::query(AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(why), "{sql}: {err}");
    }
    assert_log_is(&store, &leaves).await;
    append(&store, vec![leaf("300")]).await;
    store.close().await;
}

/// A batch holding changes with leaves, some of which fail (a conflict, an injected fault at
/// a leaf, a duplicate envelope), commits the others' leaves at dense indexes.
#[tokio::test]
async fn a_batch_with_losers_keeps_the_log_dense() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = Arc::new(file(&dir).await);
    let a = case("c-a", "received", T0);
    store
        .apply(&Change {
            cases: vec![CaseWrite::Insert(a.clone())],
            inbound: vec![conformance::inbound("e-seen", Some("c-a"))],
            leaves: vec![leaf("first")],
            ..Change::default()
        })
        .await
        .unwrap();
    let lock = hold_write_lock(&path).await;
    let mut tasks = tokio::task::JoinSet::new();
    let spawn = |tasks: &mut tokio::task::JoinSet<_>, n: usize, change: Change, fault| {
        let store = Arc::clone(&store);
        tasks.spawn(async move { (n, store.apply_with_fault(&change, fault).await) });
    };
    let with = |n: usize, leaves: usize, change: Change| Change {
        leaves: (0..leaves).map(|j| leaf(&format!("{n}.{j}"))).collect(),
        ..change
    };
    let mut expected_ok = Vec::new();
    for n in 0..30 {
        let (change, fault, ok) = match n % 5 {
            // a conflict on the case
            1 => (
                with(
                    n,
                    2,
                    Change {
                        cases: vec![bumped(&a, "stale", T0)],
                        ..Change::default()
                    },
                ),
                None,
                n == 1,
            ),
            // an injected fault at its second leaf
            2 => (with(n, 3, Change::default()), Some(1), false),
            // a repeated envelope
            3 => (
                with(
                    n,
                    1,
                    Change {
                        inbound: vec![conformance::inbound("e-seen", None)],
                        ..Change::default()
                    },
                ),
                None,
                false,
            ),
            _ => (with(n, n % 4 + 1, Change::default()), None, true),
        };
        if ok {
            expected_ok.push(n);
        }
        spawn(&mut tasks, n, change, fault);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    release(lock).await;
    let mut results = tasks.join_all().await;
    results.sort_by_key(|(n, _)| *n);
    let ok: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(n, _)| *n)
        .collect();
    // the first update of c-a wins (queue order), the others conflict
    assert_eq!(ok, expected_ok, "{results:?}");
    // leaves in commit order, which is queue order within the batch: compare as sets, then
    // check each change's leaves are together and in order
    let head = store.log_head().await.unwrap();
    let entries = store.log_entries(0..head.size).await.unwrap();
    let mut want: Vec<Vec<u8>> = vec![leaf("first")];
    for &n in &ok {
        let count = if n % 5 == 1 { 2 } else { n % 4 + 1 };
        want.extend((0..count).map(|j| leaf(&format!("{n}.{j}"))));
    }
    let mut sorted_entries = entries.clone();
    sorted_entries.sort();
    want.sort();
    assert_eq!(sorted_entries, want);
    assert_log_is(&*store, &entries).await;
    let key = log_key();
    let files = published(&*store, &key).await;
    comity_tlog::audit(&files, &key.verifier_key(), None, |_| {}).unwrap();
}
