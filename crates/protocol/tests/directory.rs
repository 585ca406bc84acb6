//! Directory versions: structure, maintainer signatures, and the chain between versions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use comity_crypto::{EncryptionSecret, SigningSecret};
use comity_protocol::{AuthorityEntry, Directory, ProtocolError};
use common::*;

fn code(r: Result<impl std::fmt::Debug, ProtocolError>) -> &'static str {
    r.unwrap_err().code()
}

#[test]
fn file_round_trip() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let d = genesis(&[&ar, &es]);
    let bytes = d.to_bytes().unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'));
    assert_eq!(Directory::from_bytes(&bytes).unwrap(), d);
    let v = Directory::from_bytes(&bytes).unwrap().verify().unwrap();
    assert_eq!(v.hash(), d.body_hash().unwrap());
    assert_eq!(v.tls_pins(at(1), Some(ar.id())).len(), 1);
    // an entry reads from any json spelling
    let pretty = serde_json::to_vec_pretty(&ar.entry).unwrap();
    assert_eq!(AuthorityEntry::from_json(&pretty).unwrap(), ar.entry);
    // but the directory file must be canonical
    let pretty = serde_json::to_vec_pretty(&d).unwrap();
    assert_eq!(code(Directory::from_bytes(&pretty)), "malformed");
}

#[test]
fn signatures_and_threshold() {
    let (ar, es, fr) = (node("AR", 1), node("ES", 2), node("FR", 3));
    let mut d = Directory::genesis("comity-test".parse().unwrap(), at(0));
    for n in [&ar, &es, &fr] {
        d.add_authority(n.entry.clone()).unwrap();
    }
    // no maintainers yet
    assert_eq!(code(d.clone().verify()), "invalid_directory");
    d.add_maintainer(ar.id()).unwrap();
    d.add_maintainer(es.id()).unwrap();
    d.set_threshold(2).unwrap();
    assert_eq!(code(d.clone().verify()), "not_enough_signatures");
    d.sign(ar.id(), &ar.signing).unwrap();
    assert_eq!(code(d.clone().verify()), "not_enough_signatures");
    // signing twice with the same key counts once
    d.sign(ar.id(), &ar.signing).unwrap();
    assert_eq!(d.signatures.len(), 1);
    d.sign(es.id(), &es.signing).unwrap();
    d.clone().verify().unwrap();
    // a non-maintainer cannot sign
    assert_eq!(
        code(d.clone().sign(fr.id(), &fr.signing)),
        "invalid_directory"
    );
    // a maintainer cannot sign with a key not its own
    assert_eq!(
        code(d.clone().sign(ar.id(), &es.signing)),
        "directory_signature"
    );
    // editing drops signatures
    let mut e = d.clone();
    e.set_threshold(1).unwrap();
    assert!(e.signatures.is_empty());
    // threshold above the number of maintainers
    let mut e = d.clone();
    e.set_threshold(3).unwrap();
    assert_eq!(code(e.sign(ar.id(), &ar.signing)), "invalid_directory");
}

#[test]
fn structural_rules() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let d = genesis(&[&ar, &es]);
    // the same authority twice
    let mut e = d.clone();
    assert_eq!(code(e.add_authority(ar.entry.clone())), "invalid_directory");
    // a key id that does not match its key
    let mut e = d.clone();
    e.authorities[0].signing_keys[0].kid = es.signing.key_id();
    assert_eq!(code(e.validate()), "invalid_directory");
    // two active signing keys
    let mut e = d.clone();
    let extra = SigningSecret::from_seed(&[0x77; 32]);
    e.authorities[0]
        .signing_keys
        .push(comity_protocol::KeyRecord::new(
            extra.key_id(),
            extra.public(),
            at(0),
        ));
    assert_eq!(code(e.validate()), "invalid_directory");
    // the same key listed for two authorities
    let mut e = d.clone();
    let k = e.authorities[0].encryption_keys[0].clone();
    e.authorities[1]
        .encryption_keys
        .push(comity_protocol::KeyRecord {
            rotated: Some(at(0)),
            ..k
        });
    assert_eq!(code(e.validate()), "invalid_directory");
    // a date after the version's issue time
    let mut e = d.clone();
    e.authorities[0].signing_keys[0].added = at(5);
    assert_eq!(code(e.validate()), "invalid_directory");
    // unsorted authorities
    let mut e = d.clone();
    e.authorities.swap(0, 1);
    assert_eq!(code(e.validate()), "invalid_directory");
    // version 1 with a predecessor
    let mut e = d.clone();
    e.previous = Some(d.body_hash().unwrap());
    assert_eq!(code(e.validate()), "invalid_directory");
    // a small-order signing key is refused
    let mut e = d.clone();
    let weak = comity_crypto::SigningPublicKey::from_bytes(&[0; 32]);
    if let Ok(weak) = weak {
        e.authorities[0].signing_keys[0] =
            comity_protocol::KeyRecord::new(weak.key_id(), weak, at(0));
        assert_eq!(code(e.validate()), "invalid_directory");
    }
}

#[test]
fn chain_of_versions() {
    let (ar, es, fr) = (node("AR", 1), node("ES", 2), node("FR", 3));
    let v1 = verified(&[&ar, &es]);

    // v2 adds FR, signed by the maintainer
    let mut v2 = v1.directory().next_version(at(100)).unwrap();
    v2.add_authority(fr.entry.clone()).unwrap();
    v2.sign(ar.id(), &ar.signing).unwrap();
    let v2 = v2.verify_successor(&v1).unwrap();
    assert_eq!(v2.directory().previous, Some(v1.hash()));

    // v3 rotates AR's signing key and encryption key; the outgoing signing key signs
    let new_sig = SigningSecret::from_seed(&[0x21; 32]);
    let new_enc = EncryptionSecret::derive(&[0x22; 32]);
    let mut v3 = v2.directory().next_version(at(200)).unwrap();
    let old = v3.rotate_signing_key(ar.id(), new_sig.public()).unwrap();
    assert_eq!(old, Some(ar.signing.key_id()));
    v3.rotate_encryption_key(ar.id(), new_enc.public()).unwrap();
    let signed_by_new_only = {
        let mut d = v3.clone();
        d.sign(ar.id(), &new_sig).unwrap();
        d
    };
    // on its own, a signature by the new key is acceptable ...
    signed_by_new_only.clone().verify().unwrap();
    // ... but the chain demands a key that was active in the previous version: a directory
    // operator who adds a key cannot endorse the change with it
    assert_eq!(
        code(signed_by_new_only.verify_successor(&v2)),
        "broken_chain"
    );
    v3.sign(ar.id(), &ar.signing).unwrap();
    let v3 = v3.verify_successor(&v2).unwrap();
    let entry = v3.authority(ar.id()).unwrap();
    assert_eq!(entry.active_signing_key().unwrap().kid, new_sig.key_id());
    assert_eq!(entry.active_encryption_key().unwrap().kid, new_enc.key_id());
    assert_eq!(entry.signing_keys.len(), 2, "history is kept");

    // v4 may not be signed by the rotated key
    let mut v4 = v3.directory().next_version(at(300)).unwrap();
    v4.set_threshold(1).unwrap();
    assert_eq!(
        code(v4.clone().sign(ar.id(), &ar.signing)),
        "directory_signature"
    );
    v4.sign(ar.id(), &new_sig).unwrap();
    let v4 = v4.verify_successor(&v3).unwrap();

    // broken links
    let mut skip = v4.directory().next_version(at(400)).unwrap();
    skip.sign(ar.id(), &new_sig).unwrap();
    assert_eq!(code(skip.clone().verify_successor(&v3)), "broken_chain"); // wrong predecessor
    let mut renum = skip.clone();
    renum.version += 1;
    renum.signatures.clear();
    renum.sign(ar.id(), &new_sig).unwrap();
    assert_eq!(code(renum.verify_successor(&v4)), "broken_chain");
    let mut early = v4.directory().next_version(at(300)).unwrap();
    early.issued = at(250);
    early.sign(ar.id(), &new_sig).unwrap();
    assert_eq!(code(early.verify_successor(&v4)), "broken_chain");
    // history cannot be rewritten: dropping a rotated key or un-revoking
    let mut rewrite = v4.directory().next_version(at(400)).unwrap();
    rewrite.authorities[0].signing_keys.remove(0);
    rewrite.sign(ar.id(), &new_sig).unwrap();
    assert_eq!(code(rewrite.verify_successor(&v4)), "broken_chain");
    let mut removed = v4.directory().next_version(at(400)).unwrap();
    removed.authorities.retain(|a| a.id != *fr.id());
    removed.sign(ar.id(), &new_sig).unwrap();
    assert_eq!(code(removed.verify_successor(&v4)), "broken_chain");
    skip.verify_successor(&v4).unwrap();
}

#[test]
fn revocation() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let v1 = verified(&[&ar, &es]);
    let mut v2 = v1.directory().next_version(at(100)).unwrap();
    let owner = v2.revoke_key(&es.signing.key_id()).unwrap();
    assert_eq!(&owner, es.id());
    assert_eq!(
        code(v2.revoke_key(&es.signing.key_id())),
        "invalid_directory"
    );
    assert_eq!(
        code(v2.revoke_key(&SigningSecret::from_seed(&[9; 32]).key_id())),
        "unknown_key"
    );
    v2.sign(ar.id(), &ar.signing).unwrap();
    let v2 = v2.verify_successor(&v1).unwrap();
    let rec = v2
        .authority(es.id())
        .unwrap()
        .signing_key(&es.signing.key_id())
        .unwrap();
    assert_eq!(rec.revoked, Some(at(100)));
    assert!(
        v2.authority(es.id())
            .unwrap()
            .active_signing_key()
            .is_none()
    );
}

#[test]
fn tls_pins_come_from_the_directory() {
    let (mut ar, es, mut fr) = (node("AR", 1), node("ES", 2), node("FR", 3));
    ar.entry.tls_fingerprints = vec![comity_crypto::Sha256Digest::of(b"ar cert")];
    fr.entry.valid_until = at(100);
    fr.entry.tls_fingerprints = vec![comity_crypto::Sha256Digest::of(b"fr cert")];
    let dir = verified(&[&ar, &es, &fr]);
    let pins = dir.tls_pins(at(50), Some(ar.id()));
    assert_eq!(pins.len(), 2, "ES and FR, not AR itself");
    assert!(!pins.contains(&comity_crypto::Sha256Digest::of(b"ar cert")));
    let later = dir.tls_pins(at(200), Some(ar.id()));
    assert_eq!(later, es.entry.tls_fingerprints, "FR's entry has ended");
    let peers = comity_crypto::tls::PinnedPeers::new(later);
    assert!(peers.contains(&es.entry.tls_fingerprints[0]));
}

/// `log_vkey`: an Ed25519 signed-note key named `<network>/<authority id>`, absent (never
/// `null`) when the authority publishes no log; a version with it signs, verifies and reads
/// back, and the versions before it keep their bytes.
#[test]
fn log_verifier_keys() {
    use comity_tlog::note::{KeyType, SignerKey};
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let without = genesis(&[&ar, &es]);
    let bytes = without.to_bytes().unwrap();
    assert!(
        !String::from_utf8(bytes.clone())
            .unwrap()
            .contains("log_vkey")
    );
    let key = |name: &str, kind| {
        SignerKey::from_seed(name, kind, &[9; 32])
            .unwrap()
            .verifier_key()
            .to_string()
    };
    let origin = comity_protocol::log_origin(&without.network, ar.id());
    assert_eq!(origin, "comity-test/ar-central-authority");

    let mut with = Directory::genesis(without.network.clone(), at(0));
    let mut entry = ar.entry.clone();
    entry.log_vkey = Some(key(&origin, KeyType::Ed25519));
    with.add_authority(entry.clone()).unwrap();
    with.add_authority(es.entry.clone()).unwrap();
    with.add_maintainer(ar.id()).unwrap();
    with.sign(ar.id(), &ar.signing).unwrap();
    let read = Directory::from_bytes(&with.to_bytes().unwrap()).unwrap();
    assert_eq!(read, with);
    let verified = read.verify().unwrap();
    let vkey = verified
        .authority(ar.id())
        .unwrap()
        .log_verifier()
        .unwrap()
        .unwrap();
    assert_eq!(vkey.name(), origin);
    assert!(
        verified
            .authority(es.id())
            .unwrap()
            .log_verifier()
            .is_none()
    );
    // the entry alone, as `comity init` writes it
    let json = serde_json::to_vec(&entry).unwrap();
    assert_eq!(AuthorityEntry::from_json(&json).unwrap(), entry);

    // null is not how "none" is written here
    let text = String::from_utf8(without.to_bytes().unwrap())
        .unwrap()
        .replacen(
            "\"id\":\"es-central-authority\"",
            "\"id\":\"es-central-authority\",\"log_vkey\":null",
            1,
        );
    assert_eq!(code(Directory::from_bytes(text.as_bytes())), "malformed");

    for bad in [
        "not a key".to_owned(),
        // another authority's log
        key("comity-test/es-central-authority", KeyType::Ed25519),
        // no network
        key("ar-central-authority", KeyType::Ed25519),
        // a witness key, not a log key
        key(&origin, KeyType::CosignatureV1),
    ] {
        let mut e = ar.entry.clone();
        e.log_vkey = Some(bad.clone());
        assert_eq!(code(e.validate(None)), "invalid_directory", "{bad}");
    }
    // the entry alone accepts any network; the directory only its own
    let mut e = ar.entry.clone();
    e.log_vkey = Some(key("comity-pilot/ar-central-authority", KeyType::Ed25519));
    e.validate(None).unwrap();
    let mut d = Directory::genesis(without.network.clone(), at(0));
    assert_eq!(code(d.add_authority(e)), "invalid_directory");
}

/// `witness_vkey`: a cosignature/v1 key named `<network>/<authority id>/witness`, its own key
/// (never the log key), absent (never `null`) when the authority witnesses nothing.
#[test]
fn witness_verifier_keys() {
    use comity_tlog::note::{KeyType, SignerKey};
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let without = genesis(&[&ar, &es]);
    assert!(
        !String::from_utf8(without.to_bytes().unwrap())
            .unwrap()
            .contains("witness_vkey")
    );
    let key = |name: &str, kind, seed: u8| {
        SignerKey::from_seed(name, kind, &[seed; 32])
            .unwrap()
            .verifier_key()
            .to_string()
    };
    let name = comity_protocol::witness_name(&without.network, ar.id());
    assert_eq!(name, "comity-test/ar-central-authority/witness");
    let origin = comity_protocol::log_origin(&without.network, ar.id());

    let mut with = Directory::genesis(without.network.clone(), at(0));
    let mut entry = ar.entry.clone();
    entry.log_vkey = Some(key(&origin, KeyType::Ed25519, 8));
    entry.witness_vkey = Some(key(&name, KeyType::CosignatureV1, 9));
    with.add_authority(entry.clone()).unwrap();
    with.add_authority(es.entry.clone()).unwrap();
    with.add_maintainer(ar.id()).unwrap();
    with.sign(ar.id(), &ar.signing).unwrap();
    let verified = Directory::from_bytes(&with.to_bytes().unwrap())
        .unwrap()
        .verify()
        .unwrap();
    let vkey = verified
        .authority(ar.id())
        .unwrap()
        .witness_verifier()
        .unwrap()
        .unwrap();
    assert_eq!(vkey.name(), name);
    assert_eq!(vkey.key_type(), KeyType::CosignatureV1);
    assert!(
        verified
            .authority(es.id())
            .unwrap()
            .witness_verifier()
            .is_none()
    );
    let json = serde_json::to_vec(&entry).unwrap();
    assert_eq!(AuthorityEntry::from_json(&json).unwrap(), entry);

    let text = String::from_utf8(without.to_bytes().unwrap())
        .unwrap()
        .replacen(
            "\"id\":\"es-central-authority\"",
            "\"id\":\"es-central-authority\",\"witness_vkey\":null",
            1,
        );
    assert_eq!(code(Directory::from_bytes(text.as_bytes())), "malformed");

    for bad in [
        "not a key".to_owned(),
        // an Ed25519 note key, not a cosignature/v1 key
        key(&name, KeyType::Ed25519, 9),
        // named like the log, or for another authority, or without a network
        key(&origin, KeyType::CosignatureV1, 9),
        key(
            "comity-test/es-central-authority/witness",
            KeyType::CosignatureV1,
            9,
        ),
        key("ar-central-authority/witness", KeyType::CosignatureV1, 9),
    ] {
        let mut e = ar.entry.clone();
        e.witness_vkey = Some(bad.clone());
        assert_eq!(code(e.validate(None)), "invalid_directory", "{bad}");
    }
    // key separation: the log's Ed25519 key again, under the witness name and type
    let mut e = ar.entry.clone();
    e.log_vkey = Some(key(&origin, KeyType::Ed25519, 8));
    e.witness_vkey = Some(key(&name, KeyType::CosignatureV1, 8));
    let err = e.validate(None).unwrap_err();
    assert!(err.to_string().contains("same Ed25519 key"), "{err}");
    // the entry alone accepts any network; the directory only its own
    let mut e = ar.entry.clone();
    e.witness_vkey = Some(key(
        "comity-pilot/ar-central-authority/witness",
        KeyType::CosignatureV1,
        9,
    ));
    e.validate(None).unwrap();
    let mut d = Directory::genesis(without.network.clone(), at(0));
    assert_eq!(code(d.add_authority(e)), "invalid_directory");
}
