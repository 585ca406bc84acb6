//! Issue 11, hardening: two nodes as separate `comity serve` processes, talking over their
//! mutual-TLS endpoints on loopback, with a plan of requests in flight between them (filed,
//! sent, decided, answered, delivered and closed through both officer APIs; see
//! `traffic/mod.rs` for the four flows and their final states). Meanwhile either node is
//! killed with SIGKILL at random points and started again, cycle after cycle. Afterwards every
//! request is in exactly its final state on both sides, with no case, event, message, receipt
//! or log leaf twice, every message delivered, and both logs verify with their leaves matching
//! the events one for one.
//!
//! CI runs 100 requests and 4 kill cycles; `COMITY_FULL=1` runs 1,000 requests and 20 cycles.
//! The random choices (when, which node, how long it stays down) come from a seed, printed;
//! `COMITY_SEED=N` repeats a run's choices (not its timing, which the scheduler decides).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod federation;
mod logcheck;
mod traffic;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use comity_store::postgres::PgStore;
use comity_store::scratch::ScratchDatabase;
use comity_store::sqlite::SqliteStore;
use federation::{AR, BO, Federation, Setup};
use traffic::{Flow, Officers, Pace, Progress, Rng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_killed_at_random_points_finish_every_request_once() {
    let full = traffic::full();
    let (requests, cycles) = if full { (1000, 20) } else { (100, 4) };
    run(requests, cycles, None).await;
}

/// The same with AR on PostgreSQL, its outbox claims leased for 1 s: a killed node's claims
/// lapse and the restarted one takes its messages over, and whatever was sent twice is kept
/// once by the receiver (BO, on SQLite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_postgresql_killed_at_random_points_finishes_every_request_once() {
    let server = comity_testkit::test_database_url();
    let db = match ScratchDatabase::create(&server, "comity_crash_recovery").await {
        Ok(db) => db,
        Err(e) => {
            comity_testkit::skip_postgres::<()>(&e.to_string());
            return;
        }
    };
    let url = db.url().to_owned();
    let full = traffic::full();
    let (requests, cycles) = if full { (1000, 20) } else { (60, 3) };
    let outcome = tokio::spawn(run(requests, cycles, Some(url))).await;
    db.drop().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs the plan through `cycles` kills; AR's store is `ar_database` (PostgreSQL) if given.
async fn run(requests: usize, cycles: usize, ar_database: Option<String>) {
    let full = traffic::full();
    let seed = traffic::seed();
    let store = if ar_database.is_some() {
        "AR on PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "crash_recovery ({store}): seed {seed} (COMITY_SEED={seed} repeats its choices), {requests} requests, {cycles} kill cycles{}",
        if full {
            ""
        } else {
            " (COMITY_FULL=1: 1,000 and 20)"
        }
    );
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut config = Vec::new();
    if let Some(url) = &ar_database {
        let migrated = federation::comity(&["migrate", "--database-url", url]);
        assert!(migrated.contains("schema at version"), "{migrated}");
        config.push(format!("database_url = \"{url}\"\nclaim_lease_seconds = 1"));
    }
    let fed = Arc::new(
        Federation::start_with(Setup {
            nodes: 2,
            listed_peer: Vec::new(),
            config,
        })
        .await,
    );
    let progress = Arc::new(Progress::default());
    let deadline = started + Duration::from_secs(if full { 1500 } else { 240 });
    let driver = tokio::spawn(traffic::drive(
        Officers::of(&fed),
        Pace {
            requests,
            every: Duration::ZERO,
            concurrency: 16,
        },
        progress.clone(),
        deadline,
    ));

    // Cycle k kills when the plan's steps reach a point drawn in the k-th of `cycles` equal
    // slices of its first 90 %, so that kills fall while requests are in every stage.
    let total: usize = (0..requests).map(|i| Flow::of(i).steps()).sum();
    let slice = total * 9 / 10 / cycles;
    let mut kills = Vec::new();
    for k in 0..cycles {
        let at = k * slice + usize::try_from(rng.between(0..slice as u64)).unwrap();
        let who = usize::try_from(rng.between(0..2)).unwrap();
        let delay = Duration::from_millis(rng.between(0..150));
        let down = Duration::from_millis(rng.between(0..1000));
        loop {
            let done =
                progress.steps.load(Ordering::Relaxed) + progress.stale.load(Ordering::Relaxed);
            if done >= at {
                break;
            }
            assert!(
                !driver.is_finished(),
                "the plan ended before kill {k} (at step {at} of {total}): {:?}",
                driver.await
            );
            assert!(
                Instant::now() < deadline,
                "step {at} of {total} not reached in time for kill {k} ({done} done)"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(delay).await;
        let step = progress.steps.load(Ordering::Relaxed);
        fed.sigkill(who).await;
        let killed = Instant::now();
        tokio::time::sleep(down).await;
        fed.restart(who).await;
        kills.push(format!(
            "{} at step {step} of {total}, down {} ms",
            fed.node(who).id,
            killed.elapsed().as_millis()
        ));
    }
    eprintln!("kills:\n  {}", kills.join("\n  "));
    let ids = match driver.await.unwrap() {
        Ok(ids) => ids,
        Err(e) => panic!("after {} kills (seed {seed}): {e}", kills.len()),
    };
    let finished = started.elapsed();
    // Every request is final on both sides; the last answers may still be on their way to
    // the outboxes' records.
    // A sender that never learnt of a receipt sends again after its backoff, up to a minute.
    fed.quiet_within(AR, Duration::from_secs(90)).await;
    fed.quiet_within(BO, Duration::from_secs(90)).await;
    let ar_retries = traffic::retries_logged(&fed, AR);
    let bo_retries = traffic::retries_logged(&fed, BO);
    traffic::in_order(&ar_retries, "AR");
    traffic::in_order(&bo_retries, "BO");
    let repeats = |who| {
        std::fs::read_to_string(&fed.node(who).log)
            .unwrap_or_default()
            .matches("envelope received again")
            .count()
    };
    let (ar_repeats, bo_repeats) = (repeats(AR), repeats(BO));
    let dirs = [fed.node(AR).dir.clone(), fed.node(BO).dir.clone()];
    let fed = Arc::into_inner(fed).expect("the driver holds no federation");
    let files = fed.stop().await;
    let checked = match &ar_database {
        None => traffic::verify(&dirs[0], &dirs[1], &ids).await,
        Some(url) => {
            let ar = PgStore::open(url).await.unwrap();
            let bo = SqliteStore::open(dirs[1].join("node.db")).await.unwrap();
            let checked = traffic::verify_stores(&dirs[0], &ar, &dirs[1], &bo, &ids).await;
            ar.close().await;
            bo.close().await;
            checked
        }
    };
    drop(files);
    eprintln!(
        "crash_recovery ({store}): seed {seed}: {requests} requests final on both sides after {} kills in {:.1} s \
         ({} officer steps, {} calls to a node that was down, {} steps repeated after a lost answer); \
         envelopes AR→BO {} and BO→AR {}, delivery retries logged {ar_retries} by AR and \
         {bo_retries} by BO, envelopes received again {bo_repeats} by BO and {ar_repeats} by AR; \
         logs of {} and {} leaves verified; {:.1} s in all",
        kills.len(),
        finished.as_secs_f64(),
        progress.steps.load(Ordering::Relaxed),
        progress.unavailable.load(Ordering::Relaxed),
        progress.stale.load(Ordering::Relaxed),
        checked.ar_sent,
        checked.bo_sent,
        checked.ar_log,
        checked.bo_log,
        started.elapsed().as_secs_f64()
    );
}
