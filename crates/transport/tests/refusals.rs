#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! What the node-to-node port refuses at the TLS layer, on loopback: a client whose certificate
//! is not pinned, plain HTTP; and what the client refuses: a server whose certificate is not
//! the recipient's pinned one. Nothing reaches a router and no state changes.

mod common;

use std::time::Duration;

use comity_crypto::tls::client_config;
use comity_store::{CaseFilter, Store};
use comity_transport::Tally;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client presenting a certificate that is not pinned by BO is refused during the handshake:
/// the request fails with a TLS error and BO's router never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_certificate_is_not_pinned_is_refused() {
    let mut n = net().await;
    let behaviour = Behaviour::new(Duration::ZERO);
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), behaviour.clone()),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let case = send_request(&n.ar, false).await;
    let bytes = n.ar.outbox_due(1).await.unwrap().remove(0).bytes;

    // The rogue client trusts BO's real certificate, so only BO's pin check can refuse it.
    let mut tls = client_config(&rogue_tls(), pins(&[&bo_tls()])).unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("https://{}/v1/envelopes", n.bo_addr);
    let e = client.post(&url).body(bytes).send().await.unwrap_err();
    assert!(!e.is_timeout(), "refused, not timed out: {e:?}");
    assert_eq!(behaviour.hits(), 0);
    assert!(!has_case(&n.bo, &case).await);
    assert!(n.bo.list(&CaseFilter::default()).await.unwrap().is_empty());

    // The genuine sender, with the same bytes, gets through.
    let out = deliverer(&n.ar, ar_tls(), options());
    assert_eq!(out.run_once().await.unwrap().delivered, 1);
    assert!(has_case(&n.bo, &case).await);
    bo_srv.stop().await;
}

/// Plain HTTP to the mutual-TLS port gets no HTTP answer: the connection is closed at the TLS
/// layer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_mtls_port_fails() {
    let mut n = net().await;
    let behaviour = Behaviour::new(Duration::ZERO);
    let bo_srv = serve(
        n.bo_listener.take().unwrap(),
        router(Some(n.bo.clone()), behaviour.clone()),
        bo_tls(),
        comity_transport::peer_pins(&n.bo),
    );
    let mut tcp = tokio::net::TcpStream::connect(n.bo_addr).await.unwrap();
    let request = "POST /v1/envelopes HTTP/1.1\r\nHost: bo\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    // either closed cleanly after a TLS alert, or reset
    if read.is_ok() {
        assert!(
            !answer.starts_with(b"HTTP/"),
            "got an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    // the same through an HTTP client (whose default TLS setup needs the process-wide provider)
    comity_crypto::tls::install_default_provider();
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let e = plain
        .post(format!("http://{}/v1/envelopes", n.bo_addr))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout(), "{e:?}");
    assert_eq!(behaviour.hits(), 0);
    bo_srv.stop().await;
}

/// A server at BO's address that presents a certificate other than BO's pinned one (even one
/// that would accept AR) is refused by AR's client: the delivery fails with a certificate error
/// and is retried later; nothing is sent to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_certificate_is_not_pinned_is_refused() {
    let mut n = net().await;
    let behaviour = Behaviour::new(Duration::ZERO);
    let impostor = serve(
        n.bo_listener.take().unwrap(),
        router(None, behaviour.clone()),
        rogue_tls(),
        pins(&[&ar_tls()]),
    );
    let case = send_request(&n.ar, false).await;
    let out = deliverer(&n.ar, ar_tls(), options());
    assert_eq!(
        out.run_once().await.unwrap(),
        Tally {
            delivered: 0,
            retried: 1,
            refused: 0
        }
    );
    let row = n.ar.store().outbox(Some(&case)).await.unwrap().remove(0);
    assert!(row.delivered_at.is_none());
    let error = row.last_error.unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(behaviour.hits(), 0);
    impostor.stop().await;
}
