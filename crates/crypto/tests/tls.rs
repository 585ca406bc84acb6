//! Mutual TLS between two nodes whose certificates are pinned, in memory (no sockets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use comity_crypto::tls::{PinnedPeers, TlsIdentity, client_config, server_config};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

const NOT_BEFORE: i64 = 1_767_225_600; // 2026-01-01
const NOT_AFTER: i64 = NOT_BEFORE + 365 * 86_400;

fn identity(seed: u8, name: &str) -> TlsIdentity {
    TlsIdentity::issue(&[seed; 32], name, NOT_BEFORE, NOT_AFTER).unwrap()
}

/// Runs the handshake to completion or to the first error, then exchanges one message.
fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), rustls::Error> {
    for _ in 0..20 {
        let mut buf = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
        }
        let mut buf = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

fn connect(
    client_id: &TlsIdentity,
    client_pins: PinnedPeers,
    server_id: &TlsIdentity,
    server_pins: PinnedPeers,
) -> Result<(), rustls::Error> {
    let cc = Arc::new(client_config(client_id, client_pins).unwrap());
    let sc = Arc::new(server_config(server_id, server_pins).unwrap());
    let name = ServerName::try_from("es-central-authority").unwrap();
    let mut client = ClientConnection::new(cc, name).unwrap();
    let mut server = ServerConnection::new(sc).unwrap();
    handshake(&mut client, &mut server)
}

#[test]
fn pinned_peers_complete_a_mutual_handshake() {
    let a = identity(1, "ar-central-authority");
    let b = identity(2, "es-central-authority");
    connect(
        &a,
        PinnedPeers::new([b.fingerprint()]),
        &b,
        PinnedPeers::new([a.fingerprint()]),
    )
    .unwrap();
}

#[test]
fn client_refuses_an_unpinned_server() {
    let a = identity(1, "ar-central-authority");
    let b = identity(2, "es-central-authority");
    let err = connect(
        &a,
        PinnedPeers::new([]),
        &b,
        PinnedPeers::new([a.fingerprint()]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn server_refuses_an_unpinned_client() {
    let a = identity(1, "ar-central-authority");
    let b = identity(2, "es-central-authority");
    let mallory = identity(3, "ar-central-authority");
    let err = connect(
        &mallory,
        PinnedPeers::new([b.fingerprint()]),
        &b,
        PinnedPeers::new([a.fingerprint()]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn issuance_is_deterministic_and_pem_round_trips() {
    let a = identity(1, "ar-central-authority");
    let again = identity(1, "ar-central-authority");
    assert_eq!(a.cert_der(), again.cert_der());
    assert_eq!(a.fingerprint(), again.fingerprint());
    let back = TlsIdentity::from_pem(&a.cert_pem(), &a.key_pem()).unwrap();
    assert_eq!(back.fingerprint(), a.fingerprint());
    // a reloaded identity still authenticates
    let b = identity(2, "es-central-authority");
    connect(
        &back,
        PinnedPeers::new([b.fingerprint()]),
        &b,
        PinnedPeers::new([a.fingerprint()]),
    )
    .unwrap();
    assert!(format!("{a:?}").contains("<redacted>"));
    assert!(TlsIdentity::from_pem("not pem", "not pem").is_err());
    assert!(TlsIdentity::issue(&[1; 32], "x", NOT_AFTER, NOT_BEFORE).is_err());
}

/// Feature unification that enables aws-lc-rs beside ring makes rustls's provider selection
/// panic at run time; the lockfile must never contain it.
#[test]
fn the_workspace_has_one_rustls_provider() {
    let root = comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    assert!(
        !lock.contains("name = \"aws-lc-rs\""),
        "aws-lc-rs is in Cargo.lock"
    );
    assert!(
        !lock.contains("name = \"aws-lc-sys\""),
        "aws-lc-sys is in Cargo.lock"
    );
    assert!(lock.contains("name = \"ring\""));
    // configurations carry their provider, so they work whether or not a default is installed
    let _ = comity_crypto::tls::install_default_provider();
    assert!(
        !comity_crypto::tls::install_default_provider(),
        "a second install reports false"
    );
    let a = identity(1, "ar-central-authority");
    client_config(&a, PinnedPeers::new([])).unwrap();
    server_config(&a, PinnedPeers::new([])).unwrap();
}
