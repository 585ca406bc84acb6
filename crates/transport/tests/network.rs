#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Delivery between two nodes over pinned mutual TLS on loopback: a request and its reply, retries
//! with backoff while the peer is down, refusals for good, the emergency lane, graceful shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use comity_node::{DecideInput, Disposition, State};
use comity_store::Store;
use comity_transport::{DeliveryOptions, Tally};
use common::*;
use tokio::net::TcpListener;

fn executed() -> DecideInput {
    DecideInput {
        disposition: Disposition::Executed,
        grounds: vec![],
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    }
}

fn tally(delivered: usize, retried: usize, refused: usize) -> Tally {
    Tally {
        delivered,
        retried,
        refused,
    }
}

/// A request goes from AR to BO and BO's decision comes back, each carried by a running
/// delivery loop that is woken through its `Notify` (the poll interval is a minute, so only the
/// wake-up can explain a prompt delivery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_delivered_and_the_reply_comes_back() {
    let mut n = net().await;
    let ar_srv = serve(
        n.ar_listener.take().unwrap(),
        router(Some(n.ar.clone()), Behaviour::new(Duration::ZERO)),
        ar_tls(),
        comity_transport::peer_pins(&n.ar),
    );
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), Behaviour::new(Duration::ZERO)),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let slow_poll = DeliveryOptions {
        poll_interval: Duration::from_secs(60),
        ..options()
    };
    let ar_out = deliverer(&n.ar, ar_tls(), slow_poll.clone());
    let bo_out = deliverer(&n.bo, bo_tls(), slow_poll);
    let (ar_stop, ar_stopped) = tokio::sync::oneshot::channel::<()>();
    let (bo_stop, bo_stopped) = tokio::sync::oneshot::channel::<()>();
    let ar_loop = ar_out.spawn(async {
        let _ = ar_stopped.await;
    });
    let bo_loop = bo_out.spawn(async {
        let _ = bo_stopped.await;
    });
    // let both loops make their first (empty) pass and go to sleep
    tokio::time::sleep(Duration::from_millis(100)).await;

    let case = send_request(&n.ar, false).await;
    ar_out.notify().notify_one();
    eventually("BO to receive the request", || has_case(&n.bo, &case)).await;
    eventually("AR to record the delivery", || async {
        n.ar.outbox_due(10).await.unwrap().is_empty()
    })
    .await;
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    assert!(row.delivered_at.is_some());
    assert_eq!(row.attempts, 1);

    n.bo.decide("bruno", &case, executed()).await.unwrap();
    bo_out.notify().notify_one();
    eventually("AR to receive the decision", || async {
        n.ar.show("ana", &case).await.unwrap().case.state == State::Decided
    })
    .await;

    let _ = ar_stop.send(());
    let _ = bo_stop.send(());
    tokio::time::timeout(WAIT, ar_loop).await.unwrap().unwrap();
    tokio::time::timeout(WAIT, bo_loop).await.unwrap().unwrap();
    ar_srv.stop().await;
    bo_srv.stop().await;
}

/// While BO is down each attempt fails and waits longer (1 s, then 2 s, less jitter); once BO
/// is up and the attempt is due, the message is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_backoff_while_the_peer_is_down() {
    let mut n = net().await;
    let bo_addr = n.bo_addr;
    drop(n.bo_listener.take()); // BO is down: its port refuses connections
    let out = deliverer(&n.ar, ar_tls(), options());
    let case = send_request(&n.ar, false).await;

    assert_eq!(out.run_once().await.unwrap(), tally(0, 1, 0));
    let now = n.ar.now().as_millisecond();
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    assert_eq!(row.attempts, 1);
    assert!(row.delivered_at.is_none());
    let wait = row.next_attempt_at - now;
    assert!((500..=1000).contains(&wait), "first backoff {wait} ms");
    let error = row.last_error.unwrap();
    assert!(error.contains("connect"), "{error}");

    // not due yet: nothing is attempted
    assert_eq!(out.run_once().await.unwrap(), tally(0, 0, 0));

    n.clock.advance(jiff::SignedDuration::from_secs(1));
    assert_eq!(out.run_once().await.unwrap(), tally(0, 1, 0));
    let now = n.ar.now().as_millisecond();
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    assert_eq!(row.attempts, 2);
    let wait = row.next_attempt_at - now;
    assert!((1000..=2000).contains(&wait), "second backoff {wait} ms");

    // BO comes up on its port
    let listener = TcpListener::bind(bo_addr).await.unwrap();
    let bo_srv = serve(
        listener,
        router(Some(n.bo.clone()), Behaviour::new(Duration::ZERO)),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    assert_eq!(
        out.run_once().await.unwrap(),
        tally(0, 0, 0),
        "still waiting"
    );
    assert!(!has_case(&n.bo, &case).await);
    n.clock.advance(jiff::SignedDuration::from_secs(2));
    assert_eq!(out.run_once().await.unwrap(), tally(1, 0, 0));
    assert!(has_case(&n.bo, &case).await);
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    assert_eq!(row.attempts, 3);
    assert!(row.delivered_at.is_some());
    bo_srv.stop().await;
}

/// 409 and 5xx are retried; another 4xx is a refusal for good: recorded with its error and a
/// next attempt at the end of time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_server_errors_are_retried_other_client_errors_are_final() {
    let mut n = net().await;
    let behaviour = Behaviour::new(Duration::ZERO);
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), behaviour.clone()),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let out = deliverer(&n.ar, ar_tls(), options());
    let case = send_request(&n.ar, false).await;

    for (status, failures) in [(409, 1), (503, 2), (429, 3)] {
        behaviour.force.store(status, Ordering::SeqCst);
        assert_eq!(out.run_once().await.unwrap(), tally(0, 1, 0), "{status}");
        let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
        assert_eq!(row.attempts, failures);
        assert!(row.last_error.unwrap().contains(&status.to_string()));
        n.clock.advance(jiff::SignedDuration::from_secs(10));
    }

    behaviour.force.store(400, Ordering::SeqCst);
    assert_eq!(out.run_once().await.unwrap(), tally(0, 0, 1));
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    let error = row.last_error.unwrap();
    assert!(
        error.starts_with("refused for good") && error.contains("400"),
        "{error}"
    );
    assert_eq!(row.next_attempt_at, jiff::Timestamp::MAX.as_millisecond());
    n.clock
        .advance(jiff::SignedDuration::from_secs(365 * 86_400));
    assert_eq!(out.run_once().await.unwrap(), tally(0, 0, 0));
    assert_eq!(behaviour.hits(), 4);
    assert!(!has_case(&n.bo, &case).await);
    bo_srv.stop().await;
}

/// A backlog of ordinary messages to a slow peer (one at a time, 150 ms each) does not hold
/// up an emergency: it is delivered on its own lane while most of the backlog still waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_overtakes_a_backlog() {
    let mut n = net().await;
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(
            Some(n.bo.clone()),
            Behaviour::new(Duration::from_millis(150)),
        ),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let mut backlog = Vec::new();
    for _ in 0..20 {
        backlog.push(send_request(&n.ar, false).await);
    }
    let out = deliverer(
        &n.ar,
        ar_tls(),
        DeliveryOptions {
            per_peer: 1,
            ..options()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = out.spawn(async {
        let _ = stopped.await;
    });
    eventually("the backlog to start moving", || async {
        n.ar.outbox_due(100).await.unwrap().len() < 20
    })
    .await;

    let urgent = send_request(&n.ar, true).await;
    out.notify().notify_one();
    eventually("the emergency to arrive", || has_case(&n.bo, &urgent)).await;
    let mut arrived = 0;
    for id in &backlog {
        arrived += usize::from(has_case(&n.bo, id).await);
    }
    assert!(arrived < 15, "{arrived} of 20 ordinary requests went first");

    eventually("the backlog to drain", || async {
        n.ar.outbox_due(100).await.unwrap().is_empty()
    })
    .await;
    let _ = stop.send(());
    tokio::time::timeout(WAIT, running).await.unwrap().unwrap();
    for id in &backlog {
        assert!(has_case(&n.bo, id).await);
    }
    bo_srv.stop().await;
}

/// Shutting the listener down closes its port at once, lets the request in flight finish (and
/// be recorded as delivered), then returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let mut n = net().await;
    let behaviour = Behaviour::new(Duration::from_millis(600));
    let mut bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), behaviour.clone()),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let case = send_request(&n.ar, false).await;
    let out = deliverer(&n.ar, ar_tls(), options());
    let pass = tokio::spawn({
        let out = out.clone();
        async move { out.run_once().await.unwrap() }
    });
    eventually("the request to reach BO", || async {
        behaviour.hits() == 1
    })
    .await;

    bo_srv.signal();
    eventually("the port to close", || async {
        tokio::net::TcpStream::connect(n.bo_addr).await.is_err()
    })
    .await;
    assert_eq!(
        tokio::time::timeout(WAIT, pass).await.unwrap().unwrap(),
        tally(1, 0, 0),
        "the request in flight finished"
    );
    assert!(has_case(&n.bo, &case).await);
    bo_srv.stop().await;

    // and the delivery loop stops promptly too
    let idle = Arc::new(tokio::sync::Notify::new());
    let running = out.spawn({
        let idle = idle.clone();
        async move { idle.notified().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    idle.notify_one();
    tokio::time::timeout(WAIT, running).await.unwrap().unwrap();
}
