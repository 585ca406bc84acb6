//! The log side of witnessing over real mutual TLS: a node asks its peer to cosign its
//! checkpoint, follows the witness's 409 to the size it holds, attaches what verifies, leaves
//! alone a checkpoint already cosigned, and shrugs off a witness that is down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use comity_store::{Change, Store};
use comity_transport::{WitnessOptions, WitnessTally, Witnessing};
use common::*;

async fn grow(node: &TestNode, n: usize) {
    let start = node.log_head().await.unwrap().size;
    let leaves = (0..n)
        .map(|i| format!("entry {}", start + i as u64).into_bytes())
        .collect();
    node.store()
        .apply(&Change {
            leaves,
            ..Change::default()
        })
        .await
        .unwrap();
    node.checkpoint().await.unwrap();
}

fn opts() -> WitnessOptions {
    WitnessOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(3),
        interval: Duration::from_secs(60),
        ..WitnessOptions::default()
    }
}

fn tally(cosigned: usize, already: usize, failed: usize) -> WitnessTally {
    WitnessTally {
        cosigned,
        already,
        superseded: 0,
        failed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_is_cosigned_by_its_peer_over_mutual_tls() {
    let mut n = net().await;
    let bo_witness = n.bo.witness_vkey().unwrap();
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), Behaviour::new(Duration::ZERO)),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let witnessing = Witnessing::new(n.ar.clone(), ar_tls(), opts());
    // nothing to cosign before the first checkpoint
    assert_eq!(witnessing.run_once().await, WitnessTally::default());

    grow(&n.ar, 3).await;
    assert_eq!(witnessing.run_once().await, tally(1, 0, 0));
    let note = n.ar.log_checkpoint().await.unwrap().unwrap();
    assert_eq!(n.ar.cosigners(&note), [bo_witness.name()]);
    // cosigned already: not asked again
    assert_eq!(witnessing.run_once().await, tally(0, 1, 0));

    // the log grows: asked from size 3, with a proof
    grow(&n.ar, 4).await;
    assert_eq!(witnessing.run_once().await, tally(1, 0, 0));
    // a restarted log side knows nothing: the witness's 409 says it holds 7
    grow(&n.ar, 2).await;
    let fresh = Witnessing::new(n.ar.clone(), ar_tls(), opts());
    assert_eq!(fresh.run_once().await, tally(1, 0, 0));
    let note = n.ar.log_checkpoint().await.unwrap().unwrap();
    assert!(
        note.starts_with("comity-test/ar-central-authority\n9\n"),
        "{note}"
    );
    assert_eq!(n.ar.cosigners(&note), [bo_witness.name()]);
    assert_eq!(
        n.bo.store()
            .peer_checkpoint("comity-test/ar-central-authority")
            .await
            .unwrap()
            .unwrap()
            .size,
        9
    );

    // a witness that is down: a failure, nothing else changes, and later it answers again
    bo_srv.stop().await;
    grow(&n.ar, 1).await;
    assert_eq!(fresh.run_once().await, tally(0, 0, 1));
    let note = n.ar.log_checkpoint().await.unwrap().unwrap();
    assert!(n.ar.cosigners(&note).is_empty());
    n.ar.attach_cosignatures(&bo_witness, 10, b"")
        .await
        .unwrap_err();
    // BO's node, reached by a client whose certificate it does not pin, refuses at the TLS
    // layer; with AR's pinned it cosigns
    let listener = tokio::net::TcpListener::bind(n.bo_addr).await.unwrap();
    let bo_srv = serve(
        listener,
        router(Some(n.bo.clone()), Behaviour::new(Duration::ZERO)),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let rogue = Witnessing::new(n.ar.clone(), rogue_tls(), opts());
    assert_eq!(rogue.run_once().await, tally(0, 0, 1));
    assert_eq!(fresh.run_once().await, tally(1, 0, 0));

    // the running loop: woken when the checkpoint changes
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = fresh.spawn(wake.clone(), async {
        let _ = stopped.await;
    });
    grow(&n.ar, 5).await;
    wake.notify_one();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let note = n.ar.log_checkpoint().await.unwrap().unwrap();
        if note.starts_with("comity-test/ar-central-authority\n15\n")
            && n.ar.cosigners(&note).len() == 1
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not cosigned in time");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    bo_srv.stop().await;
}
