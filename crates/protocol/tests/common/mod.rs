//! Fixtures shared by the integration tests: authorities with keys from fixed seeds, and
//! directories signed by them.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_protocol::directory::KeyRecord;
use comity_protocol::envelope::{Outgoing, SealRandomness, seal_envelope};
use comity_protocol::{
    AuthorityEntry, AuthorityId, Directory, EnvelopeHeader, PartyCode, Role, Timestamp,
    VerifiedDirectory,
};
use serde_json::{Map, Value, json};

pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

pub fn at(seconds_after_t0: i64) -> Timestamp {
    Timestamp::from_unix_seconds(T0 + seconds_after_t0).unwrap()
}

pub struct Node {
    pub entry: AuthorityEntry,
    pub signing: SigningSecret,
    pub encryption: EncryptionSecret,
}

impl Node {
    pub fn id(&self) -> &AuthorityId {
        &self.entry.id
    }
}

pub fn node(party: &str, seed: u8) -> Node {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, Role::CentralAuthority);
    let signing = SigningSecret::from_seed(&[seed; 32]);
    let encryption = EncryptionSecret::derive(&[seed.wrapping_add(100); 32]);
    let entry = AuthorityEntry {
        id: id.clone(),
        party,
        role: Role::CentralAuthority,
        name: format!("Central Authority {seed}").parse().unwrap(),
        officer_endpoint: format!("https://{id}.example/").parse().unwrap(),
        node_endpoint: format!("https://{id}.example:4433/").parse().unwrap(),
        signing_keys: vec![KeyRecord::new(signing.key_id(), signing.public(), at(0))],
        encryption_keys: vec![KeyRecord::new(
            encryption.key_id(),
            encryption.public(),
            at(0),
        )],
        tls_fingerprints: vec![Sha256Digest::of(id.as_str().as_bytes())],
        valid_from: at(0),
        valid_until: at(10 * 365 * 86_400),
        log_vkey: None,
        witness_vkey: None,
    };
    Node {
        entry,
        signing,
        encryption,
    }
}

/// Version 1 listing `nodes`, maintained and signed by the first.
pub fn genesis(nodes: &[&Node]) -> Directory {
    let mut d = Directory::genesis("comity-test".parse().unwrap(), at(0));
    for n in nodes {
        d.add_authority(n.entry.clone()).unwrap();
    }
    d.add_maintainer(nodes[0].id()).unwrap();
    d.sign(nodes[0].id(), &nodes[0].signing).unwrap();
    d
}

pub fn verified(nodes: &[&Node]) -> VerifiedDirectory {
    genesis(nodes).verify().unwrap()
}

pub fn payload() -> Map<String, Value> {
    match json!({
        "request": {"kind": "preservation", "data": ["subscriber", "traffic"]},
        "note": "Préservation urgente — 30 días",
        "n": 1.5
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

pub fn header(from: &Node, to: &Node, created: i64) -> EnvelopeHeader {
    EnvelopeHeader {
        from: from.id().clone(),
        to: to.id().clone(),
        kind: "request.preservation".parse().unwrap(),
        created: at(created),
        expires: at(created + 3600),
        in_reply_to: None,
    }
}

pub fn seal(
    dir: &VerifiedDirectory,
    from: &Node,
    to: &Node,
    created: i64,
    sealed: bool,
) -> Outgoing {
    seal_envelope(
        dir,
        header(from, to, created),
        payload(),
        &from.signing,
        SealRandomness {
            id: [7; 10],
            hpke_seed: sealed.then_some([9; 32]),
        },
    )
    .unwrap()
}
