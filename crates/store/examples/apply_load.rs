//! The store alone under load: N writers at once, each applying the change a node makes when
//! another node's request arrives (inbound record, new case, its event, an audit entry), one
//! after another, for a few seconds per level. Prints changes committed per second and the
//! latency of `apply`, on a file in a temporary directory (WAL, `synchronous = FULL`).
//!
//! ```sh
//! cargo run --release -p comity-store --example apply_load            # levels 1,8,32,64; 5 s each
//! cargo run --release -p comity-store --example apply_load -- 2 1,64   # seconds, levels
//! ```

// A command-line tool: its output is the point.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use comity_store::sqlite::SqliteStore;
use comity_store::{AuditRow, CaseRow, CaseWrite, Change, EventRow, InboundRow, Store};
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
            case_id: Some(id),
            data: json!({}),
        }],
        ..Change::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn level(store: &Arc<SqliteStore>, writers: usize, seconds: f64) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = Arc::clone(store);
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < until {
                let t = Instant::now();
                store
                    .apply(&change(w + writers * 1000, n))
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
        "{writers:>7} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>8.2}",
        all.len(),
        all.len() as f64 / wall.as_secs_f64(),
        pick(0.5),
        pick(0.99),
        all.last().copied().map_or(f64::NAN, ms),
    );
    Ok(())
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
        None => vec![1, 8, 32, 64],
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Arc::new(
        SqliteStore::open(dir.path().join("node.db"))
            .await
            .map_err(|e| e.to_string())?,
    );
    println!("writers   changes   per s    p50 ms   p99 ms   max ms");
    for writers in levels {
        level(&store, writers, seconds).await?;
    }
    store.close().await;
    Ok(())
}
