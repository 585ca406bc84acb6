//! The conformance suite on PostgreSQL, each test in a database of its own that the harness
//! creates on the server of `COMITY_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and drops afterwards, whether the test passed or
//! not. Without a reachable server every test skips with a visible message, except under
//! `CI=true`, where that fails. Then what only several stores on one database show: replicas
//! applying at once, the sequencer's lock, schemas side by side.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod conformance;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use comity_store::postgres::PgStore;
use comity_store::scratch::ScratchDatabase;
use comity_store::{Change, Store, StoreError};
use comity_store::{OutboxRow, OutboxUpdate};
use conformance::{T0, assert_log_is, audit, case, leaf, log_key, message, published};

/// A scratch database, or `None` after a visible skip.
async fn database() -> Option<ScratchDatabase> {
    let server = comity_testkit::test_database_url();
    match ScratchDatabase::create(&server, "comity_store_test").await {
        Ok(db) => Some(db),
        Err(e) => comity_testkit::skip_postgres(&e.to_string()),
    }
}

/// Runs `test` on a scratch database, then drops the database, also when the test panicked.
async fn with_database<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = database().await else {
        return;
    };
    let outcome = tokio::spawn(test(db.url().to_owned())).await;
    db.drop().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs each conformance function on a fresh PostgreSQL store.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod pg {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::with_database(|url| async move {
                        let store = comity_store::postgres::PgStore::open(&url).await.unwrap();
                        crate::conformance::$name(store).await;
                    })
                    .await;
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

/// A change with `leaves` leaves and an audit entry, as a logged use case writes.
fn logged(tag: &str, leaves: usize) -> Change {
    Change {
        audit: vec![audit(tag, None, T0)],
        leaves: (0..leaves).map(|i| leaf(&format!("{tag}-{i}"))).collect(),
        ..Change::default()
    }
}

/// Two stores on one database (two replicas of a node) append at once: every leaf is in the
/// log once, indexes dense, each change's leaves side by side, the tile hashes those of the
/// log as read back, the audit trail numbered 1..n without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_append_at_once() {
    with_database(|url| async move {
        let a = Arc::new(PgStore::open(&url).await.unwrap());
        let b = Arc::new(PgStore::open(&url).await.unwrap());
        let mut tasks = vec![];
        for i in 0..60 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                store.apply(&logged(&format!("r{i}"), 1 + i % 3)).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let head = a.log_head().await.unwrap();
        let expected: usize = (0..60).map(|i| 1 + i % 3).sum();
        assert_eq!(head.size, expected as u64);
        let entries = b.log_entries(0..head.size).await.unwrap();
        // Each change's leaves are consecutive and in order.
        let mut seen = BTreeSet::new();
        let mut i = 0;
        while i < entries.len() {
            let value: serde_json::Value = serde_json::from_slice(&entries[i]).unwrap();
            let name = value["leaf"].as_str().unwrap().to_owned();
            let (tag, first) = name.rsplit_once('-').unwrap();
            assert_eq!(first, "0", "a change's leaves start at its first");
            let tag = tag.to_owned();
            let n = 1 + tag.trim_start_matches('r').parse::<usize>().unwrap() % 3;
            for k in 0..n {
                assert_eq!(entries[i + k], leaf(&format!("{tag}-{k}")), "at {}", i + k);
            }
            assert!(seen.insert(tag));
            i += n;
        }
        assert_eq!(seen.len(), 60);
        // The tiles and root computed from the stored hashes are those of the entries.
        assert_log_is(&*a, &entries).await;
        published(&*b, &log_key()).await;
        let trail = a.audit(0, 1000).await.unwrap();
        let seqs: Vec<i64> = trail.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=60).collect::<Vec<_>>());
    })
    .await;
}

/// A change on one replica that fails after taking the sequencer's lock frees it at once, and
/// the other replica appends at the index the failed change would have had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sequencer_frees_the_lock() {
    with_database(|url| async move {
        use comity_store::faulty::FaultInjection;
        let a = PgStore::open(&url).await.unwrap();
        let b = PgStore::open(&url).await.unwrap();
        a.apply(&logged("first", 2)).await.unwrap();
        let err = a
            .apply_with_fault(&logged("lost", 3), Some(2))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            b.apply(&logged("next", 1)),
        )
        .await
        .expect("the lock was freed")
        .unwrap();
        let entries = a.log_entries(0..3).await.unwrap();
        assert_eq!(entries[2], leaf("next-0"));
        assert_eq!(a.log_head().await.unwrap().size, 3);
    })
    .await;
}

/// The database refuses to rewrite the log, the audit trail or a checkpoint to a smaller size,
/// and an index that is not the next one, whoever writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_rewrites() {
    with_database(|url| async move {
        let store = PgStore::open(&url).await.unwrap();
        store.apply(&logged("x", 2)).await.unwrap();
        store
            .swap_checkpoint(
                None,
                &comity_store::CheckpointRow {
                    size: 2,
                    note: "n".into(),
                },
            )
            .await
            .unwrap();
        let pool = store.pool();
        for sql in [
            "UPDATE log_entries SET entry = 'x' WHERE idx = 0",
            "DELETE FROM log_entries WHERE idx = 1",
            "TRUNCATE log_entries CASCADE",
            "INSERT INTO log_entries (idx, entry, leaf_hash) VALUES (5, 'x', decode(repeat('00', 32), 'hex'))",
            "UPDATE audit SET actor = 'someone else'",
            "DELETE FROM audit",
            "UPDATE log_checkpoint SET size = 1",
            "DELETE FROM log_checkpoint",
        ] {
            let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(pool).await;
            assert!(r.is_err(), "{sql} was allowed");
        }
        assert_eq!(store.log_head().await.unwrap().size, 2);
        assert_eq!(store.audit(0, 10).await.unwrap().len(), 1);
    })
    .await;
}

/// Two nodes in two schemas of one database: each its own log, from index 0, and neither waits
/// for the other's sequencer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_side_by_side() {
    with_database(|url| async move {
        let a = PgStore::open_in_schema(&url, "node_a").await.unwrap();
        let b = PgStore::open_in_schema(&url, "node_b").await.unwrap();
        assert_eq!(a.schema(), "node_a");
        a.apply(&logged("a", 3)).await.unwrap();
        b.apply(&logged("b", 1)).await.unwrap();
        assert_eq!(a.log_head().await.unwrap().size, 3);
        assert_eq!(b.log_entries(0..1).await.unwrap(), vec![leaf("b-0")]);
        // Reopening finds the schema migrated already.
        let again = PgStore::open_in_schema(&url, "node_a").await.unwrap();
        assert_eq!(again.log_head().await.unwrap().size, 3);
        let err = PgStore::open_in_schema(&url, "bad name;")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("schema name"), "{err}");
        drop(case("unused", "x", T0));
    })
    .await;
}

/// An unsupported URL is refused with a message that names it, without the password.
#[tokio::test]
async fn bad_urls_are_named() {
    let err = PgStore::open("postgres://ana:secret@127.0.0.1:1/x?sslmode=bogus")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("ana:***@127.0.0.1"), "{text}");
}

fn ids(rows: Vec<OutboxRow>) -> Vec<String> {
    rows.into_iter().map(|m| m.id).collect()
}

/// Two replicas claim the outbox at once: each message goes to one of them; a case's later
/// message waits behind its earlier one (claimed, or waiting for its next attempt); a failure
/// frees a message at its next attempt, a dead claimant's lease frees it when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_claim_the_outbox() {
    with_database(|url| async move {
        let a = Arc::new(PgStore::open(&url).await.unwrap());
        let b = Arc::new(PgStore::open(&url).await.unwrap());
        let mut rows: Vec<OutboxRow> = (0..200)
            .map(|i| message(&format!("m-{i:03}"), None, 5, T0 + i))
            .collect();
        rows.push(message("x-1", Some("c-x"), 5, T0 + 1000));
        rows.push(message("x-2", Some("c-x"), 5, T0 + 1001));
        a.apply(&Change {
            outbox: rows,
            ..Change::default()
        })
        .await
        .unwrap();
        let now = T0 + 2000;
        let lease = now + 60_000;
        // Claims at once from both, in small batches, until nothing is left.
        let claim = |store: Arc<PgStore>| {
            tokio::spawn(async move {
                let mut got = vec![];
                loop {
                    let batch = store.outbox_claim(now, 7, 1..=10, lease).await.unwrap();
                    if batch.is_empty() {
                        break got;
                    }
                    got.extend(ids(batch));
                }
            })
        };
        let (ga, gb) = (claim(a.clone()), claim(b.clone()));
        let (ga, gb) = (ga.await.unwrap(), gb.await.unwrap());
        let mut all: Vec<String> = ga.iter().chain(&gb).cloned().collect();
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len(), "a message was claimed twice");
        // x-2 stays behind x-1 (claimed, lease running) unless both came in one batch.
        let x2_alone = all.contains(&"x-2".to_owned())
            && !(ga.contains(&"x-1".to_owned()) && ga.contains(&"x-2".to_owned()))
            && !(gb.contains(&"x-1".to_owned()) && gb.contains(&"x-2".to_owned()));
        assert!(!x2_alone, "x-2 was claimed apart from x-1");
        assert!(all.len() >= 201, "{}", all.len());
        // Nothing is free while the leases run.
        assert!(
            b.outbox_claim(now, 10, 1..=10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        // A failure frees x-1 at its next attempt, and x-2 waits behind it until then.
        a.apply(&Change {
            outbox_updates: vec![OutboxUpdate::Failed {
                id: "x-1".into(),
                error: "503".into(),
                next_attempt_at: now + 10,
            }],
            ..Change::default()
        })
        .await
        .unwrap();
        assert!(
            b.outbox_claim(now + 5, 10, 1..=10, lease)
                .await
                .unwrap()
                .is_empty()
        );
        let freed = b
            .outbox_claim(now + 10, 10, 1..=10, now + 20)
            .await
            .unwrap();
        assert_eq!(ids(freed)[0], "x-1");
        // The claimant of x-1 dies: when its lease ends, x-1 is free for another.
        assert_eq!(
            ids(a.outbox_claim(now + 20, 1, 1..=10, now + 30).await.unwrap()),
            ["x-1"]
        );
    })
    .await;
}
