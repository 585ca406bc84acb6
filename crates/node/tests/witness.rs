#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Witnessing: a node cosigns another's checkpoints when they extend the last it saw (C2SP
//! tlog-witness), refuses what it cannot check, and raises an alarm, with the evidence, when a
//! log shows it two views; the log side asks, verifies the answers and attaches them.

mod common;

use comity_crypto::Sha256Digest;
use comity_node::*;
use comity_store::{Change, Store};
use comity_tlog::cosignature::{AddCheckpoint, verify_cosignature};
use comity_tlog::memory::MemoryLog;
use comity_tlog::note::{KeyType, Note, SignerKey};
use comity_tlog::{Checkpoint, Hash};
use common::*;

const AR_ORIGIN: &str = "comity-test/ar-central-authority";

/// The certificate fingerprint the test directory pins for an authority.
fn pin(id: &str) -> Sha256Digest {
    Sha256Digest::of(id.as_bytes())
}

fn ar_pin() -> Sha256Digest {
    pin("ar-central-authority")
}

/// Appends `n` entries to the node's log (witnessing cares about sizes and roots, not leaves).
async fn grow<S: Store>(node: &TestNode<S>, n: usize) {
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
}

fn checkpoint_of(note: &str) -> Checkpoint {
    Checkpoint::parse(Note::parse(note.as_bytes()).unwrap().text()).unwrap()
}

/// Asks `witness` to cosign `log`'s checkpoint from `old`, as `peer`; attaches the answer.
async fn witness_once<S: Store>(
    log: &TestNode<S>,
    witness: &TestNode<S>,
    old: u64,
) -> Result<Cosigned, WitnessError> {
    let request = log.witness_request(old).await.unwrap().unwrap();
    let cosigned = witness
        .add_checkpoint(&ar_pin(), request.to_body().as_bytes())
        .await?;
    let attached = log
        .attach_cosignatures(
            &witness.witness_vkey().unwrap(),
            cosigned.size,
            cosigned.body().as_bytes(),
        )
        .await
        .unwrap();
    assert!(
        matches!(attached, Attached::Cosigned { .. }),
        "{attached:?}"
    );
    Ok(cosigned)
}

#[tokio::test]
async fn a_witness_cosigns_checkpoints_that_extend_the_last_it_saw() {
    let p = pair().await;
    let bo_witness = p.bo.witness_vkey().unwrap();
    assert_eq!(
        bo_witness.name(),
        "comity-test/bo-central-authority/witness"
    );
    // AR's log side asks BO, and BO's asks AR: each is the other's witness
    let ar_asks: Vec<String> = p.ar.witnesses().iter().map(|w| w.id.to_string()).collect();
    assert_eq!(ar_asks, ["bo-central-authority"]);
    assert_eq!(p.ar.witnesses()[0].key, bo_witness);
    assert_eq!(
        p.ar.witness_request(0).await.unwrap(),
        None,
        "no checkpoint yet"
    );

    grow(&p.ar, 3).await;
    p.ar.checkpoint().await.unwrap();
    let first = witness_once(&p.ar, &p.bo, 0).await.unwrap();
    assert_eq!((first.origin.as_str(), first.size), (AR_ORIGIN, 3));
    let served = p.ar.log_checkpoint().await.unwrap().unwrap();
    let note = Note::parse(served.as_bytes()).unwrap();
    assert_eq!(
        verify_cosignature(&note, &bo_witness).unwrap(),
        p.clock.now().as_second() as u64,
        "cosigned at the witness's clock"
    );
    note.verify(&[p.ar.log_vkey().unwrap()]).unwrap();
    assert_eq!(p.ar.cosigners(&served), [bo_witness.name()]);
    assert_eq!(
        p.bo.store()
            .peer_checkpoint(AR_ORIGIN)
            .await
            .unwrap()
            .unwrap()
            .size,
        3
    );

    // the log grows: from the size held, with a consistency proof
    grow(&p.ar, 4).await;
    p.ar.checkpoint().await.unwrap();
    let fresh = p.ar.log_checkpoint().await.unwrap().unwrap();
    assert!(
        p.ar.cosigners(&fresh).is_empty(),
        "a new checkpoint, no cosignature yet"
    );
    let request = p.ar.witness_request(3).await.unwrap().unwrap();
    assert!(!request.proof.is_empty());
    assert!(
        !request.checkpoint.contains("witness"),
        "only the log's signature goes to a witness"
    );
    p.clock.advance(jiff::SignedDuration::from_secs(60));
    witness_once(&p.ar, &p.bo, 3).await.unwrap();
    let served = p.ar.log_checkpoint().await.unwrap().unwrap();
    let note = Note::parse(served.as_bytes()).unwrap();
    assert_eq!(checkpoint_of(&served).size(), 7);
    assert_eq!(
        note.signatures()
            .iter()
            .filter(|s| s.name() == bo_witness.name())
            .count(),
        1,
        "one cosignature by the witness, for this checkpoint only"
    );
    // the same checkpoint again (a retry): cosigned again, nothing else changes
    let again = witness_once(&p.ar, &p.bo, 7).await.unwrap();
    assert_eq!(again.size, 7);
    assert!(p.bo.log_alarms(0, 100).await.unwrap().is_empty());
    assert_eq!(
        p.ar.cosigners(&p.ar.log_checkpoint().await.unwrap().unwrap())
            .len(),
        1
    );

    // AR witnesses BO's log just as well
    grow(&p.bo, 2).await;
    p.bo.checkpoint().await.unwrap();
    let request = p.bo.witness_request(0).await.unwrap().unwrap();
    let cosigned =
        p.ar.add_checkpoint(&pin("bo-central-authority"), request.to_body().as_bytes())
            .await
            .unwrap();
    assert_eq!(cosigned.origin, "comity-test/bo-central-authority");
}

#[tokio::test]
async fn a_stale_old_size_is_answered_with_the_size_held() {
    let p = pair().await;
    grow(&p.ar, 5).await;
    p.ar.checkpoint().await.unwrap();
    witness_once(&p.ar, &p.bo, 0).await.unwrap();
    grow(&p.ar, 1).await;
    p.ar.checkpoint().await.unwrap();
    for old in [0, 3] {
        let request = p.ar.witness_request(old).await.unwrap().unwrap();
        let e =
            p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
                .await
                .unwrap_err();
        assert!(
            matches!(e, WitnessError::SizeConflict { held: 5, .. }),
            "{e:?}"
        );
        assert_eq!(e.code(), "size_conflict");
    }
    // then from the size the witness said
    witness_once(&p.ar, &p.bo, 5).await.unwrap();
    // `old` above the checkpoint's own size is malformed
    let mut request = p.ar.witness_request(6).await.unwrap().unwrap();
    request.old_size = 9;
    let e =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_old_size", "{e}");
    // the log cannot prove a size it never had
    assert_eq!(
        p.ar.witness_request(9).await.unwrap_err().code(),
        "bad_input"
    );
    for body in [&b""[..], b"old 0\n", b"old x\n\nx", b"old 0\nAAAA\n\nx"] {
        let e = p.bo.add_checkpoint(&ar_pin(), body).await.unwrap_err();
        assert_eq!(e.code(), "malformed", "{e}");
    }
    for body in [&b"old 0\n\nnot a note"[..], b"old 0\n\no\n1\nAAAA\n\n"] {
        let e = p.bo.add_checkpoint(&ar_pin(), body).await.unwrap_err();
        assert_eq!(e.code(), "malformed_checkpoint", "{e}");
    }
    assert!(p.bo.log_alarms(0, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn forged_signatures_and_other_logs_are_refused() {
    let t = trio().await;
    grow(&t.ar, 2).await;
    t.ar.checkpoint().await.unwrap();
    let honest = t.ar.witness_request(0).await.unwrap().unwrap();
    let cp = checkpoint_of(&honest.checkpoint);

    // signed by another key under the log's name: no known signature
    let forger = SignerKey::from_seed(AR_ORIGIN, KeyType::Ed25519, &[99; 32]).unwrap();
    let forged = AddCheckpoint {
        checkpoint: cp.sign(&forger).unwrap(),
        ..honest.clone()
    };
    let e =
        t.bo.add_checkpoint(&ar_pin(), forged.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_signature", "{e}");
    // the log key's name and id, with a signature that does not verify
    let mut bytes = honest.checkpoint.clone().into_bytes();
    let at = bytes.len() - 6;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let broken = AddCheckpoint {
        checkpoint: String::from_utf8(bytes).unwrap(),
        ..honest.clone()
    };
    let e =
        t.bo.add_checkpoint(&ar_pin(), broken.to_body().as_bytes())
            .await
            .unwrap_err();
    assert!(
        matches!(e.code(), "bad_signature" | "malformed_checkpoint"),
        "{e}"
    );

    // AR's checkpoint carried by the service provider's certificate: not its log
    let e =
        t.bo.add_checkpoint(&pin("bo-service-provider"), honest.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "peer_not_log", "{e}");
    // a log the directory does not list
    let stranger = SignerKey::from_seed(
        "comity-test/xx-central-authority",
        KeyType::Ed25519,
        &[5; 32],
    )
    .unwrap();
    let unknown = AddCheckpoint {
        checkpoint: Checkpoint::new("comity-test/xx-central-authority", 2, *cp.root())
            .unwrap()
            .sign(&stranger)
            .unwrap(),
        ..honest.clone()
    };
    let e =
        t.bo.add_checkpoint(&ar_pin(), unknown.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "unknown_log", "{e}");
    // a node does not witness its own log
    let e =
        t.ar.add_checkpoint(&ar_pin(), honest.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "unknown_log", "{e}");
    // nothing was held or alarmed
    assert!(
        t.bo.store()
            .peer_checkpoint(AR_ORIGIN)
            .await
            .unwrap()
            .is_none()
    );
    assert!(t.bo.log_alarms(0, 100).await.unwrap().is_empty());
    // and the honest request goes through
    t.bo.add_checkpoint(&ar_pin(), honest.to_body().as_bytes())
        .await
        .unwrap();
}

/// Two checkpoints of one size with different roots, both signed by the log's key: an alarm
/// with both notes, and no cosignature for that log until an operator resolves it.
#[tokio::test]
async fn a_split_view_raises_an_alarm_and_the_log_is_refused_until_resolved() {
    let p = pair().await;
    let ar_log = keys("AR", 1).log;
    grow(&p.ar, 4).await;
    p.ar.checkpoint().await.unwrap();
    witness_once(&p.ar, &p.bo, 0).await.unwrap();
    let held = p.ar.log_checkpoint().await.unwrap().unwrap();

    // the log's key signs another tree of the same size
    let mut other = MemoryLog::new();
    other.append(&[b"a", b"b", b"c", b"d"]).unwrap();
    let fork = Checkpoint::new(AR_ORIGIN, 4, other.root())
        .unwrap()
        .sign(&ar_log)
        .unwrap();
    p.clock.advance(jiff::SignedDuration::from_secs(5));
    // whatever `old` says (here the wrong size: the root alone gives it away)
    let request = AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: fork.clone(),
    };
    let e =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "inconsistent_log", "{e}");
    assert!(matches!(
        e,
        WitnessError::Inconsistent {
            same_size: true,
            ..
        }
    ));
    // asked again, with the right size: refused, without another alarm
    let request = AddCheckpoint {
        old_size: 4,
        ..request
    };
    let e =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "alarm_open", "{e}");

    let alarms = p.bo.log_alarms(0, 100).await.unwrap();
    assert_eq!(
        alarms.len(),
        1,
        "one alarm; later requests are refused, not alarmed"
    );
    let a = &alarms[0];
    assert!(a.open);
    assert_eq!(a.origin, AR_ORIGIN);
    assert!(held.starts_with(a.held_note.lines().next().unwrap()));
    assert_eq!(
        checkpoint_of(&a.held_note).root(),
        checkpoint_of(&held).root()
    );
    assert_eq!(a.seen_note, fork);
    assert_eq!(a.evidence["kind"], "equal_size_roots_differ");
    assert_eq!(a.evidence["held"]["size"], 4);
    assert_eq!(a.evidence["seen"]["size"], 4);
    assert_eq!(a.evidence["seen"]["root"], other.root().to_base64());
    assert_eq!(a.evidence["authority"], "ar-central-authority");
    assert_eq!(a.evidence["log_vkey"], p.ar.log_vkey().unwrap().to_string());
    // both notes verify with the log's key: the evidence stands on its own
    for n in [&a.held_note, &a.seen_note] {
        Note::parse(n.as_bytes())
            .unwrap()
            .verify(&[p.ar.log_vkey().unwrap()])
            .unwrap();
    }
    assert_eq!(p.bo.alarm_counts().await.unwrap(), (1, 1));

    // the honest log grows: still refused while the alarm is open
    grow(&p.ar, 3).await;
    p.ar.checkpoint().await.unwrap();
    let e = witness_once(&p.ar, &p.bo, 4).await.unwrap_err();
    assert_eq!(e.code(), "alarm_open", "{e}");
    assert!(matches!(e, WitnessError::AlarmOpen { alarm, .. } if alarm == a.seq));
    // even as time passes
    p.clock.advance(jiff::SignedDuration::from_secs(3600));
    assert_eq!(
        witness_once(&p.ar, &p.bo, 4).await.unwrap_err().code(),
        "alarm_open"
    );

    // an operator looks, and keeps the checkpoint held: the forked view was the fault
    assert_eq!(
        p.bo.resolve_alarm("auditor", a.seq, Keep::Held, " ")
            .await
            .unwrap_err()
            .code(),
        "bad_input",
        "reasons required"
    );
    let resolved =
        p.bo.resolve_alarm(
            "auditor",
            a.seq,
            Keep::Held,
            "AR restored a stale replica; see ticket 7",
        )
        .await
        .unwrap();
    assert!(!resolved.open);
    assert_eq!(
        p.bo.resolve_alarm("auditor", a.seq, Keep::Held, "again")
            .await
            .unwrap_err()
            .code(),
        "illegal_transition"
    );
    let audit = p.bo.store().audit(0, 100).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "resolve_alarm").unwrap();
    assert_eq!(entry.actor, "auditor");
    assert_eq!(entry.data["alarm"], a.seq);
    assert_eq!(entry.data["keep"], "held");
    assert!(!p.bo.log_alarms(0, 100).await.unwrap()[0].open);
    assert_eq!(p.bo.alarm_counts().await.unwrap(), (1, 0));
    // and cosigns the log again from there
    let cosigned = witness_once(&p.ar, &p.bo, 4).await.unwrap();
    assert_eq!(cosigned.size, 7);
    // the fork again, now that the witness holds 7: without a proof from 7 it is only a
    // request from the wrong size
    let e =
        p.bo.add_checkpoint(
            &ar_pin(),
            AddCheckpoint {
                old_size: 4,
                proof: Vec::new(),
                checkpoint: fork,
            }
            .to_body()
            .as_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "size_conflict", "the witness is at 7 now: {e}");
}

/// A checkpoint, signed by the log, whose consistency proof from the held size fails: an alarm
/// with the proof as evidence; resolving it by following the view seen moves the witness on.
#[tokio::test]
async fn an_inconsistent_proof_raises_an_alarm_with_the_evidence() {
    let p = pair().await;
    let ar_log = keys("AR", 1).log;
    grow(&p.ar, 3).await;
    p.ar.checkpoint().await.unwrap();
    witness_once(&p.ar, &p.bo, 0).await.unwrap();

    // a tree of 6 that does not start with the log's 3 entries, signed with the log's key
    let mut other = MemoryLog::new();
    other
        .append(&[b"x0", b"x1", b"x2", b"x3", b"x4", b"x5"])
        .unwrap();
    let fork = Checkpoint::new(AR_ORIGIN, 6, other.root())
        .unwrap()
        .sign(&ar_log)
        .unwrap();
    let proof: Vec<Hash> = comity_tlog::store::consistency_proof(&other, 3, 6).unwrap();
    let request = AddCheckpoint {
        old_size: 3,
        proof: proof.clone(),
        checkpoint: fork.clone(),
    };
    let e =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "inconsistent_log", "{e}");
    assert!(matches!(
        e,
        WitnessError::Inconsistent {
            same_size: false,
            ..
        }
    ));
    let a = p.bo.log_alarms(0, 100).await.unwrap().remove(0);
    assert!(a.open);
    assert_eq!(a.evidence["kind"], "consistency_proof_failed");
    assert_eq!(a.evidence["old_size"], 3);
    assert_eq!(a.evidence["held"]["size"], 3);
    assert_eq!(a.evidence["seen"]["size"], 6);
    let sent: Vec<String> = proof.iter().map(Hash::to_base64).collect();
    assert_eq!(a.evidence["proof"], serde_json::json!(sent));
    assert_eq!(a.seen_note, fork);
    // nothing was held from it
    assert_eq!(
        p.bo.store()
            .peer_checkpoint(AR_ORIGIN)
            .await
            .unwrap()
            .unwrap()
            .size,
        3
    );
    // a proof of the wrong length is no better
    let e =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "alarm_open");

    // the operator follows the view seen: the witness now holds size 6 with the other root
    p.bo.resolve_alarm(
        "auditor",
        a.seq,
        Keep::Seen,
        "the log was rebuilt; accepted",
    )
    .await
    .unwrap();
    let held =
        p.bo.store()
            .peer_checkpoint(AR_ORIGIN)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(held.size, 6);
    assert_eq!(held.note, fork);
    // AR's real log (3 entries, then 4 more) is not a continuation of that: a new alarm
    grow(&p.ar, 4).await;
    p.ar.checkpoint().await.unwrap();
    let e = witness_once(&p.ar, &p.bo, 6).await.unwrap_err();
    assert_eq!(e.code(), "inconsistent_log", "{e}");
    assert_eq!(p.bo.alarm_counts().await.unwrap(), (2, 1));
}

#[tokio::test]
async fn the_log_side_keeps_only_verified_cosignatures_of_its_current_checkpoint() {
    let p = pair().await;
    let bo_witness = p.bo.witness_vkey().unwrap();
    grow(&p.ar, 2).await;
    p.ar.checkpoint().await.unwrap();
    let request = p.ar.witness_request(0).await.unwrap().unwrap();
    let cosigned =
        p.bo.add_checkpoint(&ar_pin(), request.to_body().as_bytes())
            .await
            .unwrap();
    let before = p.ar.log_checkpoint().await.unwrap().unwrap();
    // an answer by another key, or that is no answer, or that verifies with nothing
    for (key, body) in [
        (p.ar.witness_vkey().unwrap(), cosigned.body()),
        (bo_witness.clone(), "garbage".to_owned()),
        (bo_witness.clone(), String::new()),
    ] {
        let e =
            p.ar.attach_cosignatures(&key, 2, body.as_bytes())
                .await
                .unwrap_err();
        assert_eq!(e.code(), "bad_input", "{e}");
    }
    // BO's cosignature of another checkpoint (size 2 signed anew at another time is the same
    // text; a cosignature of another size does not verify on this one)
    let other = SignerKey::from_seed(
        "comity-test/bo-central-authority/witness",
        KeyType::CosignatureV1,
        &[1; 32],
    )
    .unwrap();
    let wrong = other
        .cosign(Note::parse(before.as_bytes()).unwrap().text(), 1)
        .unwrap();
    let e =
        p.ar.attach_cosignatures(
            &bo_witness,
            2,
            comity_tlog::cosignature::cosignature_response(&[wrong]).as_bytes(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input", "{e}");
    assert_eq!(p.ar.log_checkpoint().await.unwrap().unwrap(), before);

    // the log grew and signed again before the answer came: the answer is dropped
    grow(&p.ar, 1).await;
    p.ar.checkpoint().await.unwrap();
    let attached =
        p.ar.attach_cosignatures(&bo_witness, 2, cosigned.body().as_bytes())
            .await
            .unwrap();
    assert_eq!(attached, Attached::Superseded { size: 2 });
    let served = p.ar.log_checkpoint().await.unwrap().unwrap();
    assert!(p.ar.cosigners(&served).is_empty());
    // and when the log grows after a cosignature, the new checkpoint starts without it
    witness_once(&p.ar, &p.bo, 2).await.unwrap();
    assert_eq!(
        p.ar.cosigners(&p.ar.log_checkpoint().await.unwrap().unwrap())
            .len(),
        1
    );
    grow(&p.ar, 1).await;
    let next = p.ar.checkpoint().await.unwrap();
    assert_eq!(checkpoint_of(&next).size(), 4);
    assert!(p.ar.cosigners(&next).is_empty());
    // the log's signature is always there
    Note::parse(next.as_bytes())
        .unwrap()
        .verify(&[p.ar.log_vkey().unwrap()])
        .unwrap();
}

#[tokio::test]
async fn a_node_without_a_witness_key_witnesses_nothing_and_keys_must_match() {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    // a key other than the directory's
    let mut cfg = config(&bo, &dir);
    cfg.witness_key = Some(
        SignerKey::from_seed(
            "comity-test/bo-central-authority/witness",
            KeyType::CosignatureV1,
            &[42; 32],
        )
        .unwrap(),
    );
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let clock = std::sync::Arc::new(ManualClock::at(t0()));
    let e = Node::new(store, clock.clone(), SeededEntropy::new([1; 32]), cfg).unwrap_err();
    assert!(e.to_string().contains("witness key"), "{e}");
    // a log key in the witness's place
    let mut cfg = config(&bo, &dir);
    cfg.witness_key = Some(bo.log.clone());
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let e = Node::new(store, clock.clone(), SeededEntropy::new([1; 32]), cfg).unwrap_err();
    assert!(e.to_string().contains("cosignature/v1"), "{e}");
    // none at all: the node runs, and refuses to witness
    let mut cfg = config(&bo, &dir);
    cfg.witness_key = None;
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let node = Node::new(store, clock, SeededEntropy::new([1; 32]), cfg).unwrap();
    let e = node
        .add_checkpoint(&ar_pin(), b"old 0\n\nx")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "not_a_witness");
}
