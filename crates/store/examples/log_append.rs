//! The log's append rate on each backend, in one run: N writers at once, each applying the
//! change a node makes when a request arrives (inbound record, new case, its event, an audit
//! entry and the `request_received` leaf of the transparency log), one after another, on
//!
//! - SQLite: a file in a temporary directory (WAL, `synchronous = FULL`, group commit);
//! - PostgreSQL, one store: a scratch database on the server of `COMITY_TEST_DATABASE_URL`
//!   (default `postgres://postgres@127.0.0.1:5432/test`), created and dropped here;
//! - PostgreSQL, two stores on that database: two replicas of one node, the writers split
//!   between them, every leaf sequenced under the one advisory lock.
//!
//! Prints changes (each one leaf) committed per second and `apply`'s latency, then checks that
//! each log is dense and its root that of its entries.
//!
//! ```sh
//! cargo run --release -p comity-store --example log_append            # 32 writers, 5 s each
//! cargo run --release -p comity-store --example log_append -- 2 1,32   # seconds, levels
//! ```

// A command-line tool: its output is the point.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use comity_store::postgres::PgStore;
use comity_store::scratch::ScratchDatabase;
use comity_store::sqlite::SqliteStore;
use comity_store::{AnyStore, AuditRow, CaseRow, CaseWrite, Change, EventRow, InboundRow, Store};
use serde_json::json;

fn change(writer: usize, n: usize) -> Change {
    let id = format!("c-{writer}-{n}");
    let at = 1_700_000_000_000;
    Change {
        inbound: vec![InboundRow {
            envelope_id: format!("e-{writer}-{n}"),
            from: "ar-central-authority".to_owned(),
            case_id: Some(id.clone()),
            received_at: at,
            wire_hash: vec![0xab; 32],
            result: json!({ "accepted": true, "case": id }),
        }],
        cases: vec![CaseWrite::Insert(CaseRow {
            id: id.clone(),
            version: 1,
            side: "requested".to_owned(),
            kind: "mla".to_owned(),
            basis: "UNCC".to_owned(),
            state: "received".to_owned(),
            counterpart: "ar-central-authority".to_owned(),
            emergency: false,
            created_at: at,
            updated_at: at,
            doc: json!({ "facts": { "offence": "fraud", "max_years": 5 }, "pad": "x".repeat(1500) }),
        })],
        events: vec![EventRow {
            case_id: id.clone(),
            seq: 1,
            at,
            kind: "received".to_owned(),
            actor: "ar-central-authority".to_owned(),
            data: json!({ "envelope": format!("e-{writer}-{n}") }),
        }],
        audit: vec![AuditRow {
            seq: 0,
            at,
            actor: "ar-central-authority".to_owned(),
            action: "received".to_owned(),
            case_id: Some(id.clone()),
            data: json!({}),
        }],
        // About the size of a `comity.leaf/1` leaf.
        leaves: vec![
            format!(
                r#"{{"v":"comity.leaf/1","event":"request_received","case":"{id:0>64}","day":"2027-03-15"}}"#
            )
            .into_bytes(),
        ],
        ..Change::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `writers` writers for `seconds`, writer `w` on `stores[w % stores.len()]`.
async fn level(
    name: &str,
    stores: &[Arc<AnyStore>],
    writers: usize,
    seconds: f64,
    round: usize,
) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = stores
            .get(w % stores.len())
            .cloned()
            .ok_or_else(|| "no store".to_owned())?;
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < until {
                let t = Instant::now();
                store
                    .apply(&change(w + 1000 * round, n))
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                n += 1;
            }
            Ok::<_, String>(latencies)
        });
    }
    let mut all = Vec::new();
    for r in tasks.join_all().await {
        all.extend(r?);
    }
    let wall = started.elapsed();
    all.sort();
    let pick = |p: f64| {
        let i = ((all.len() as f64 * p).ceil() as usize).saturating_sub(1);
        all.get(i).copied().map_or(f64::NAN, ms)
    };
    println!(
        "{name:<22} {writers:>7} {:>8} {:>8.0} {:>8.2} {:>8.2}",
        all.len(),
        all.len() as f64 / wall.as_secs_f64(),
        pick(0.5),
        pick(0.99),
    );
    Ok(())
}

/// The log is dense and its root is that of its entries.
async fn check(store: &AnyStore) -> Result<u64, String> {
    let head = store.log_head().await.map_err(|e| e.to_string())?;
    let entries = store
        .log_entries(0..head.size)
        .await
        .map_err(|e| e.to_string())?;
    let hashes: Vec<_> = entries.iter().map(|e| comity_tlog::hash_leaf(e)).collect();
    if comity_tlog::merkle::root(&hashes) != head.root {
        return Err("the root is not that of the entries".to_owned());
    }
    Ok(head.size)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = match args.next() {
        Some(s) => s.parse().map_err(|e| format!("seconds `{s}`: {e}"))?,
        None => 5.0,
    };
    let levels: Vec<usize> = match args.next() {
        Some(s) => s
            .split(',')
            .map(|n| n.parse().map_err(|e| format!("level `{n}`: {e}")))
            .collect::<Result<_, _>>()?,
        None => vec![32],
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let sqlite = Arc::new(AnyStore::from(
        SqliteStore::open(dir.path().join("node.db"))
            .await
            .map_err(|e| e.to_string())?,
    ));
    let server = std::env::var("COMITY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = ScratchDatabase::create(&server, "comity_bench")
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        let one = Arc::new(AnyStore::from(
            PgStore::open_in_schema(db.url(), "one")
                .await
                .map_err(|e| e.to_string())?,
        ));
        let two = [
            Arc::new(AnyStore::from(
                PgStore::open_in_schema(db.url(), "two")
                    .await
                    .map_err(|e| e.to_string())?,
            )),
            Arc::new(AnyStore::from(
                PgStore::open_in_schema(db.url(), "two")
                    .await
                    .map_err(|e| e.to_string())?,
            )),
        ];
        println!("backend                writers  changes    per s   p50 ms   p99 ms");
        for (round, writers) in levels.into_iter().enumerate() {
            level(
                "sqlite",
                std::slice::from_ref(&sqlite),
                writers,
                seconds,
                round,
            )
            .await?;
            level(
                "postgres, 1 replica",
                std::slice::from_ref(&one),
                writers,
                seconds,
                round,
            )
            .await?;
            level("postgres, 2 replicas", &two, writers, seconds, round).await?;
        }
        for (name, store) in [
            ("sqlite", &sqlite),
            ("postgres, 1", &one),
            ("postgres, 2", &two[0]),
        ] {
            let size = check(store).await?;
            println!("{name}: log of {size} leaves, dense, root checked");
        }
        for s in [&one, &two[0], &two[1]] {
            s.close().await;
        }
        Ok::<_, String>(())
    }
    .await;
    sqlite.close().await;
    db.drop().await.map_err(|e| e.to_string())?;
    result
}
