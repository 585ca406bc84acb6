//! Sealing, verifying and opening envelopes; one test per refusal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use comity_crypto::{EncryptionSecret, SigningSecret};
use comity_protocol::envelope::{
    MAX_ENVELOPE_BYTES, SealRandomness, parse_envelope, seal_envelope, verify_envelope,
};
use comity_protocol::{Directory, ProtocolError};
use common::*;
use serde_json::Value;

fn code(r: Result<impl std::fmt::Debug, ProtocolError>) -> &'static str {
    r.unwrap_err().code()
}

#[test]
fn plain_envelope_round_trip() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let out = seal(&dir, &ar, &es, 10, false);
    let text = String::from_utf8(out.bytes.clone()).unwrap();
    assert!(
        text.starts_with("{\"created\":\"2026-01-01T00:00:10Z\","),
        "{text}"
    );
    let v = verify_envelope(&out.bytes, &dir, at(20), Some(es.id())).unwrap();
    assert_eq!(v.envelope(), &out.envelope);
    assert!(!v.is_sealed());
    assert_eq!(v.open(None).unwrap(), payload());
    // a trailing line feed is accepted, nothing else
    let mut with_lf = out.bytes.clone();
    with_lf.push(b'\n');
    verify_envelope(&with_lf, &dir, at(20), None).unwrap();
    assert_eq!(parse_envelope(&out.bytes).unwrap(), out.envelope);
}

#[test]
fn sealed_envelope_round_trip() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let out = seal(&dir, &ar, &es, 10, true);
    let text = String::from_utf8(out.bytes.clone()).unwrap();
    assert!(
        !text.contains("Préservation"),
        "payload must not travel in the clear"
    );
    assert!(out.envelope.payload.is_none());
    let v = verify_envelope(&out.bytes, &dir, at(20), Some(es.id())).unwrap();
    assert!(v.is_sealed());
    assert_eq!(v.open(Some(&es.encryption)).unwrap(), payload());
    // only the recipient's key opens it
    assert_eq!(code(v.open(Some(&ar.encryption))), "sealed_payload");
    assert_eq!(code(v.open(None)), "sealed_payload");
    let stranger = EncryptionSecret::derive(&[0x55; 32]);
    assert_eq!(code(v.open(Some(&stranger))), "sealed_payload");
}

#[test]
fn sealed_payload_cannot_move_to_another_envelope() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let a = seal(&dir, &ar, &es, 10, true);
    let mut b = seal(&dir, &ar, &es, 11, true).envelope;
    // graft a's ciphertext into b: even re-signed by the sender, it does not open, because the
    // associated data binds the ciphertext to a's header
    b.sealed = a.envelope.sealed.clone();
    b.payload_hash = a.envelope.payload_hash;
    let mut value = serde_json::to_value(&b).unwrap();
    value.as_object_mut().unwrap().remove("signature");
    let sig = ar.signing.sign_with_context(
        comity_protocol::envelope::ENVELOPE_CONTEXT,
        &comity_protocol::jcs::canonicalize(&value).unwrap(),
    );
    b.signature = sig;
    let bytes = comity_protocol::jcs::canonicalize(&serde_json::to_value(&b).unwrap()).unwrap();
    let v = verify_envelope(&bytes, &dir, at(20), None).unwrap();
    assert_eq!(code(v.open(Some(&es.encryption))), "sealed_payload");
}

#[test]
fn refusals_each_have_their_own_error() {
    let (ar, es, fr) = (node("AR", 1), node("ES", 2), node("FR", 3));
    let dir = verified(&[&ar, &es, &fr]);
    let out = seal(&dir, &ar, &es, 10, false);
    let good = out.bytes.clone();

    // bad signature: flip a bit of the signature
    let mut env = out.envelope.clone();
    let mut sig = *env.signature.as_bytes();
    sig[0] ^= 1;
    env.signature = comity_crypto::Signature::from_bytes(sig);
    let bytes = comity_protocol::jcs::canonicalize(&serde_json::to_value(&env).unwrap()).unwrap();
    assert_eq!(
        code(verify_envelope(&bytes, &dir, at(20), None)),
        "bad_signature"
    );

    // bad signature: change the kind (the payload hash still matches)
    let bytes = String::from_utf8(good.clone())
        .unwrap()
        .replace("request.preservation", "request.production");
    assert_eq!(
        code(verify_envelope(bytes.as_bytes(), &dir, at(20), None)),
        "bad_signature"
    );

    // unknown key
    let stranger = SigningSecret::from_seed(&[0x66; 32]);
    let dir_without_stranger = &dir;
    let mut rogue = dir.directory().clone();
    let mut entry = rogue.authority(ar.id()).unwrap().clone();
    entry.signing_keys[0] =
        comity_protocol::KeyRecord::new(stranger.key_id(), stranger.public(), at(0));
    rogue.authorities[0] = entry;
    rogue.signatures.clear();
    let mut ar_rogue = node("AR", 1);
    ar_rogue.signing = SigningSecret::from_seed(&[0x66; 32]);
    let rogue_dir = {
        rogue.sign(ar.id(), &stranger).unwrap();
        rogue.verify().unwrap()
    };
    let forged = seal(&rogue_dir, &ar_rogue, &es, 10, false);
    assert_eq!(
        code(verify_envelope(
            &forged.bytes,
            dir_without_stranger,
            at(20),
            None
        )),
        "unknown_key"
    );

    // key of another authority: FR's key signing as AR
    let mut env = out.envelope.clone();
    env.signer = fr.signing.key_id();
    let mut value = serde_json::to_value(&env).unwrap();
    value.as_object_mut().unwrap().remove("signature");
    env.signature = fr.signing.sign_with_context(
        comity_protocol::envelope::ENVELOPE_CONTEXT,
        &comity_protocol::jcs::canonicalize(&value).unwrap(),
    );
    let bytes = comity_protocol::jcs::canonicalize(&serde_json::to_value(&env).unwrap()).unwrap();
    assert_eq!(
        code(verify_envelope(&bytes, &dir, at(20), None)),
        "key_not_owned_by_sender"
    );

    // wrong recipient
    assert_eq!(
        code(verify_envelope(&good, &dir, at(20), Some(fr.id()))),
        "wrong_recipient"
    );
    // expired, and exactly at expiry
    assert_eq!(
        code(verify_envelope(&good, &dir, at(10 + 3600), None)),
        "expired"
    );
    assert_eq!(
        code(verify_envelope(&good, &dir, at(10 + 7200), None)),
        "expired"
    );
    // not yet valid (beyond the 300 s skew), but within the skew is fine
    assert_eq!(
        code(verify_envelope(&good, &dir, at(10 - 301), None)),
        "not_yet_valid"
    );
    verify_envelope(&good, &dir, at(10 - 300), None).unwrap();
    // malformed
    for bad in [&b"not json"[..], b"{}", b"[]", b"", b"{\"id\":1}"] {
        assert_eq!(
            code(verify_envelope(bad, &dir, at(20), None)),
            "malformed",
            "{bad:?}"
        );
    }
    let pretty = serde_json::to_vec_pretty(&out.envelope).unwrap();
    assert_eq!(
        code(verify_envelope(&pretty, &dir, at(20), None)),
        "malformed"
    );
    // oversized
    let huge = vec![b' '; MAX_ENVELOPE_BYTES + 1];
    assert_eq!(
        code(verify_envelope(&huge, &dir, at(20), None)),
        "oversized"
    );
    // payload hash
    let tampered = String::from_utf8(good.clone())
        .unwrap()
        .replace("subscriber", "subscribes");
    assert_eq!(
        code(verify_envelope(tampered.as_bytes(), &dir, at(20), None)),
        "payload_hash_mismatch"
    );
}

#[test]
fn revoked_and_rotated_keys() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let v1 = verified(&[&ar, &es]);
    let before = seal(&v1, &ar, &es, 100, false);
    let after = seal(&v1, &ar, &es, 2000, false);

    // version 2, issued at +1000, rotates AR's signing key
    let new_key = SigningSecret::from_seed(&[0x11; 32]);
    let mut v2 = v1.directory().next_version(at(1000)).unwrap();
    v2.rotate_signing_key(ar.id(), new_key.public()).unwrap();
    v2.sign(ar.id(), &ar.signing).unwrap(); // the outgoing key signs its rotation
    let v2 = v2.verify_successor(&v1).unwrap();
    verify_envelope(&before.bytes, &v2, at(200), None).unwrap();
    assert_eq!(
        code(verify_envelope(&after.bytes, &v2, at(2100), None)),
        "rotated_key"
    );
    // the new key is accepted from its rotation on, and not before
    let mut ar2 = node("AR", 1);
    ar2.signing = SigningSecret::from_seed(&[0x11; 32]);
    let fresh = seal(&v2, &ar2, &es, 1000, false);
    verify_envelope(&fresh.bytes, &v2, at(1001), None).unwrap();
    let err = seal_envelope(
        &v2,
        header(&ar2, &es, 999),
        payload(),
        &ar2.signing,
        SealRandomness {
            id: [0; 10],
            hpke_seed: None,
        },
    );
    assert_eq!(code(err), "key_not_yet_added");
    // and the sender cannot seal with its rotated key any more
    let err = seal_envelope(
        &v2,
        header(&ar, &es, 1000),
        payload(),
        &ar.signing,
        SealRandomness {
            id: [0; 10],
            hpke_seed: None,
        },
    );
    assert_eq!(code(err), "rotated_key");

    // version 3 revokes the old key: even what it signed before is refused now
    let mut v3 = v2.directory().next_version(at(3000)).unwrap();
    v3.revoke_key(&ar.signing.key_id()).unwrap();
    v3.sign(ar.id(), &new_key).unwrap();
    let v3 = v3.verify_successor(&v2).unwrap();
    assert_eq!(
        code(verify_envelope(&before.bytes, &v3, at(200), None)),
        "revoked_key"
    );
    verify_envelope(&fresh.bytes, &v3, at(1001), None).unwrap();
}

#[test]
fn authorities_out_of_their_validity() {
    let (mut ar, es) = (node("AR", 1), node("ES", 2));
    ar.entry.valid_until = at(500);
    let dir = verified(&[&ar, &es]);
    let ok = seal(&dir, &ar, &es, 100, false);
    verify_envelope(&ok.bytes, &dir, at(101), None).unwrap();
    let err = seal_envelope(
        &dir,
        header(&ar, &es, 600),
        payload(),
        &ar.signing,
        SealRandomness {
            id: [0; 10],
            hpke_seed: None,
        },
    );
    assert_eq!(code(err), "authority_not_valid");
    // unknown recipient
    let fr = node("FR", 3);
    let err = seal_envelope(
        &dir,
        header(&ar, &fr, 100),
        payload(),
        &ar.signing,
        SealRandomness {
            id: [0; 10],
            hpke_seed: None,
        },
    );
    assert_eq!(code(err), "unknown_authority");
}

#[test]
fn header_rules() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let rnd = SealRandomness {
        id: [0; 10],
        hpke_seed: None,
    };
    let mut h = header(&ar, &es, 100);
    h.expires = h.created;
    assert_eq!(
        code(seal_envelope(&dir, h, payload(), &ar.signing, rnd)),
        "malformed"
    );
    let mut h = header(&ar, &es, 100);
    h.expires = h.created.plus_seconds(31 * 86_400);
    assert_eq!(
        code(seal_envelope(&dir, h, payload(), &ar.signing, rnd)),
        "malformed"
    );
    // integers that JSON peers would round are refused, with their path
    let mut p = payload();
    p.insert("account".into(), Value::from(u64::MAX));
    let err = seal_envelope(&dir, header(&ar, &es, 100), p, &ar.signing, rnd).unwrap_err();
    assert!(err.to_string().contains("$.account"), "{err}");
    // replies carry in_reply_to
    let first = seal(&dir, &ar, &es, 100, false);
    let mut h = header(&es, &ar, 200);
    h.in_reply_to = Some(first.envelope.id);
    let reply = seal_envelope(&dir, h, payload(), &es.signing, rnd).unwrap();
    let v = verify_envelope(&reply.bytes, &dir, at(201), Some(ar.id())).unwrap();
    assert_eq!(v.envelope().in_reply_to, Some(first.envelope.id));
}

#[test]
fn ids_are_v7_and_distinct() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let rnd = |b| SealRandomness {
        id: [b; 10],
        hpke_seed: None,
    };
    let a = seal_envelope(&dir, header(&ar, &es, 100), payload(), &ar.signing, rnd(1)).unwrap();
    let b = seal_envelope(&dir, header(&ar, &es, 100), payload(), &ar.signing, rnd(2)).unwrap();
    assert_ne!(a.envelope.id, b.envelope.id);
    assert_eq!(a.envelope.id.as_uuid().get_version_num(), 7);
    let _ = Directory::genesis("x1".parse().unwrap(), at(0));
}

#[test]
fn the_id_carries_the_creation_time() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let out = seal(&dir, &ar, &es, 10, false);
    assert_eq!(out.envelope.id.unix_millis(), (T0 as u64 + 10) * 1000);
    // an id from another time, even correctly signed, is malformed
    let mut env = out.envelope.clone();
    env.id = comity_protocol::EnvelopeId::new_v7(at(11), [7; 10]);
    let mut value = serde_json::to_value(&env).unwrap();
    value.as_object_mut().unwrap().remove("signature");
    env.signature = ar.signing.sign_with_context(
        comity_protocol::envelope::ENVELOPE_CONTEXT,
        &comity_protocol::jcs::canonicalize(&value).unwrap(),
    );
    let bytes = comity_protocol::jcs::canonicalize(&serde_json::to_value(&env).unwrap()).unwrap();
    let err = verify_envelope(&bytes, &dir, at(20), None).unwrap_err();
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("`id`"), "{err}");
}
