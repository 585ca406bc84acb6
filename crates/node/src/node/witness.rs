//! Witnessing between nodes (docs/log-format.md, section 5): each node cosigns the checkpoints
//! of the other authorities' logs after checking that they extend the last one it saw (C2SP
//! tlog-witness `add-checkpoint`, C2SP tlog-cosignature `cosignature/v1`), and raises an alarm
//! when a log shows it two views that cannot both be true.
//!
//! - **Witness side**: [`Node::add_checkpoint`] answers a peer's request; [`Node::log_alarms`]
//!   and [`Node::resolve_alarm`] are the operator's.
//! - **Log side**: [`Node::witnesses`] says whom to ask, [`Node::witness_request`] what to
//!   send, [`Node::attach_cosignatures`] verifies an answer and adds it to the stored
//!   checkpoint. The HTTP client that carries them is the transport's.
//!
//! # Alarms, and why they stay open
//!
//! An alarm is raised against the checkpoint the witness holds of a log. It is **open** while
//! that checkpoint is still the one held: while the held checkpoint's `updated_at` is not after
//! the alarm's `detected_at`. Three rules make that exact whatever the clock does: the held
//! checkpoint's `updated_at` never decreases, an alarm is stamped no earlier than the held
//! checkpoint it is raised against, and nothing but [`Node::resolve_alarm`] replaces the held
//! checkpoint of an origin with an open alarm — it stamps its choice after every alarm of the
//! origin. Every request for an origin with an open alarm is refused (`alarm_open`) without
//! being looked at, so a log that forked gets no cosignature for either branch until a person
//! has looked at the evidence and chosen which checkpoint the witness goes on from.

use comity_crypto::Sha256Digest;
use comity_protocol::{AuthorityEntry, AuthorityId};
use comity_store::{
    AlarmRow, AuditRow, Change, CheckpointRow, Millis, PeerCheckpointRow, PeerCheckpointSwap,
    Store, StoreError,
};
use comity_tlog::cosignature::{
    AddCheckpoint, cosignature_response, parse_cosignature_response, verify_cosignature,
    witness_check,
};
use comity_tlog::{Checkpoint, Error as TlogError, Hash, Note, NoteSignature, VerifierKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Node, ms_to_text, text_required};
use crate::env::{Clock, Entropy};
use crate::error::NodeError;

/// Alarms read from the store at a time.
const ALARM_PAGE: u32 = 1000;

/// Why a witness does not cosign. Each maps to the status C2SP tlog-witness gives it (see
/// [`WitnessError::code`] and the API's peer table).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// This node has no witness key.
    #[error("this node is not a witness: it has no witness key")]
    NotAWitness,
    /// The body is not an `add-checkpoint` request (its `old` line, proof or framing).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// The checkpoint it carries is not a signed note of a checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// No authority of the directory (other than this node's) has a log of that origin, or it
    /// is not valid now.
    #[error("{0}")]
    UnknownLog(String),
    /// The checkpoint is of an authority whose pinned certificates do not include the one that
    /// carried the request: a node asks for cosignatures of its own log only.
    #[error(
        "the checkpoint is of `{origin}`, the log of `{authority}`, but the TLS client certificate that carried it ({peer}) is not pinned for `{authority}`"
    )]
    PeerNotLog {
        origin: String,
        authority: String,
        peer: String,
    },
    /// The log's key does not verify the checkpoint.
    #[error("the checkpoint is not signed by the log's key: {0}")]
    BadSignature(String),
    /// `old` is above the checkpoint's own size.
    #[error("old size {old} is above the checkpoint's size {size}")]
    OldSizeTooLarge { old: u64, size: u64 },
    /// `old` is not the size this witness holds (`held`, 0 if none): the log asks again from
    /// there.
    #[error("old size {old} is not the size this witness holds of the log, {held}")]
    SizeConflict { old: u64, held: u64 },
    /// The checkpoint, validly signed, contradicts the one held: same size with another root
    /// (`same_size`), or a consistency proof from the held size that fails. Alarm `alarm` was
    /// recorded with the evidence; nothing was cosigned.
    #[error(
        "the log `{origin}` is inconsistent with the checkpoint this witness holds ({why}): alarm {alarm} recorded, not cosigned"
    )]
    Inconsistent {
        origin: String,
        alarm: i64,
        same_size: bool,
        why: String,
    },
    /// An earlier alarm on this origin is open.
    #[error(
        "alarm {alarm} on the log `{origin}` is open: this witness cosigns none of its checkpoints until an operator resolves it"
    )]
    AlarmOpen { origin: String, alarm: i64 },
    /// Storage or an internal fault: nothing was held or cosigned.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl WitnessError {
    /// A stable code for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAWitness => "not_a_witness",
            Self::Malformed(_) => "malformed",
            Self::MalformedCheckpoint(_) => "malformed_checkpoint",
            Self::UnknownLog(_) => "unknown_log",
            Self::PeerNotLog { .. } => "peer_not_log",
            Self::BadSignature(_) => "bad_signature",
            Self::OldSizeTooLarge { .. } => "bad_old_size",
            Self::SizeConflict { .. } => "size_conflict",
            Self::Inconsistent { .. } => "inconsistent_log",
            Self::AlarmOpen { .. } => "alarm_open",
            Self::Node(e) => e.code(),
        }
    }
}

impl From<StoreError> for WitnessError {
    fn from(e: StoreError) -> Self {
        Self::Node(e.into())
    }
}

/// A witness's cosignature of a checkpoint it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub origin: String,
    pub size: u64,
    /// The cosignature lines (one, by this node's witness key).
    pub signatures: Vec<NoteSignature>,
}

impl Cosigned {
    /// The response body: the cosignature lines, each ending in a newline.
    pub fn body(&self) -> String {
        cosignature_response(&self.signatures)
    }
}

/// An alarm as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmView {
    pub seq: i64,
    /// The log's origin.
    pub origin: String,
    pub detected_at: String,
    /// Whether the witness still refuses the log because of it (see the module documentation).
    pub open: bool,
    /// The checkpoint held when the alarm was raised, and the one seen, as signed notes.
    pub held_note: String,
    pub seen_note: String,
    /// What was checked: `kind` (`equal_size_roots_differ` or `consistency_proof_failed`),
    /// `why`, the sizes and roots, `old_size` and `proof` (base64 hashes) as sent, the log's
    /// authority and key, and the certificate that carried the request.
    pub evidence: Value,
}

/// Which checkpoint a witness goes on from when an operator resolves an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The checkpoint held when the alarm was raised: the log's other view was the fault.
    Held,
    /// The checkpoint seen: the witness follows the log's current view (not smaller).
    Seen,
}

/// Another authority that witnesses this node's log: whom the log side asks, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPeer {
    pub id: AuthorityId,
    /// Its `witness_vkey`: what its cosignatures are verified with.
    pub key: VerifierKey,
    /// Its node-to-node endpoint and pinned certificates.
    pub node_endpoint: String,
    pub tls_fingerprints: Vec<Sha256Digest>,
}

/// What became of a witness's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// Its cosignature (at `timestamp`, Unix seconds) is now on the stored checkpoint of `size`.
    Cosigned { size: u64, timestamp: u64 },
    /// The stored checkpoint is no longer of the size cosigned (the log grew meanwhile): the
    /// cosignature was for a checkpoint that is not served any more, and was dropped.
    Superseded { size: u64 },
}

fn malformed(e: TlogError) -> WitnessError {
    WitnessError::Malformed(e.to_string())
}

fn malformed_checkpoint(e: TlogError) -> WitnessError {
    WitnessError::MalformedCheckpoint(e.to_string())
}

fn b64(h: &Hash) -> String {
    h.to_base64()
}

/// The checkpoint in a held row (stored by this node after verifying it).
fn held_checkpoint(row: &PeerCheckpointRow) -> Result<Checkpoint, NodeError> {
    Note::parse(row.note.as_bytes())
        .and_then(|n| Checkpoint::parse(n.text()))
        .map_err(|e| {
            NodeError::Internal(format!(
                "the checkpoint held of `{}` does not parse: {e}",
                row.origin
            ))
        })
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    // ----- the witness side ----------------------------------------------------------------

    /// The verifier key of this node's cosignatures (the directory's `witness_vkey` for it).
    pub fn witness_vkey(&self) -> Option<VerifierKey> {
        self.cfg.witness_key.as_ref().map(|k| k.verifier_key())
    }

    /// Answers a tlog-witness `add-checkpoint` request (`body`) carried by the TLS client
    /// certificate `peer`: checks that the checkpoint is of the log of the authority that
    /// certificate is pinned for, signed by that log's key (the directory's `log_vkey`), and
    /// consistent with the checkpoint this node holds of the log; then holds it (by
    /// compare-and-swap) and cosigns it at the clock's time. A checkpoint that contradicts the
    /// held one raises an alarm (see the module documentation) and is refused.
    pub async fn add_checkpoint(
        &self,
        peer: &Sha256Digest,
        body: &[u8],
    ) -> Result<Cosigned, WitnessError> {
        let key = self
            .cfg
            .witness_key
            .as_ref()
            .ok_or(WitnessError::NotAWitness)?;
        let request = AddCheckpoint::parse(body).map_err(malformed)?;
        let origin = request.origin().map_err(malformed_checkpoint)?;
        let (authority, log_key) = self.log_of(&origin, peer)?;
        let _turn = self.witness_lock.lock().await;
        let held = self.store.peer_checkpoint(&origin).await?;
        if let Some(h) = &held
            && let Some(alarm) = self.open_alarm(&origin, h).await?
        {
            return Err(WitnessError::AlarmOpen {
                origin,
                alarm: alarm.seq,
            });
        }
        // The log's signature first: nothing a checkpoint says counts before it is the log's.
        let note = Note::parse(request.checkpoint.as_bytes()).map_err(malformed_checkpoint)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(malformed_checkpoint)?;
        note.verify(std::slice::from_ref(&log_key))
            .map_err(|e| WitnessError::BadSignature(e.to_string()))?;
        let held = match held {
            Some(row) => {
                let cp = held_checkpoint(&row)?;
                Some((row, cp))
            }
            None => None,
        };
        let alarm = |kind: &'static str, why: String| Suspect {
            origin: &origin,
            authority: &authority,
            log_key: &log_key,
            peer,
            request: &request,
            seen: &checkpoint,
            kind,
            why,
        };
        // Another root for the size held is a second view of the log, whatever `old` says.
        if let Some((row, cp)) = &held
            && checkpoint.size() == cp.size()
            && checkpoint.root() != cp.root()
        {
            let why = format!("two checkpoints of size {} with different roots", cp.size());
            let seq = self
                .raise_alarm(row, cp, alarm("equal_size_roots_differ", why.clone()))
                .await?;
            return Err(WitnessError::Inconsistent {
                origin,
                alarm: seq,
                same_size: true,
                why,
            });
        }
        let (held_size, held_root) = held
            .as_ref()
            .map_or((0, None), |(_, cp)| (cp.size(), Some(*cp.root())));
        match witness_check(
            &request,
            std::slice::from_ref(&log_key),
            held_size,
            held_root.as_ref(),
        ) {
            Ok(_) => {}
            Err(TlogError::WitnessOldSizeTooLarge { old, size }) => {
                return Err(WitnessError::OldSizeTooLarge { old, size });
            }
            Err(TlogError::WitnessSizeConflict { old, latest }) => {
                return Err(WitnessError::SizeConflict { old, held: latest });
            }
            Err(
                e @ (TlogError::ProofLength { .. }
                | TlogError::RootMismatch
                | TlogError::EqualSizeRootsDiffer { .. }
                | TlogError::SizeDecreased { .. }
                | TlogError::EmptyTreeConsistency),
            ) => {
                // The log signed this checkpoint and cannot show it extends the one held.
                let Some((row, cp)) = &held else {
                    return Err(WitnessError::Malformed(e.to_string()));
                };
                let why = format!(
                    "the consistency proof from size {} to size {} fails: {e}",
                    cp.size(),
                    checkpoint.size()
                );
                let seq = self
                    .raise_alarm(row, cp, alarm("consistency_proof_failed", why.clone()))
                    .await?;
                return Err(WitnessError::Inconsistent {
                    origin,
                    alarm: seq,
                    same_size: false,
                    why,
                });
            }
            Err(e) => return Err(WitnessError::BadSignature(e.to_string())),
        }
        if held
            .as_ref()
            .is_none_or(|(_, cp)| cp.size() < checkpoint.size())
        {
            let row = PeerCheckpointRow {
                origin: origin.clone(),
                size: checkpoint.size(),
                note: request.checkpoint.clone(),
                // Never earlier than the row it replaces (see the module documentation).
                updated_at: held
                    .as_ref()
                    .map_or(self.now_ms(), |(h, _)| self.now_ms().max(h.updated_at)),
            };
            match self
                .store
                .swap_peer_checkpoint(held.as_ref().map(|(h, _)| h.size), &row)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Stale(_)) => {
                    // Another process holds the database too; tell the log where it is now.
                    let now = self.store.peer_checkpoint(&origin).await?;
                    return Err(WitnessError::SizeConflict {
                        old: request.old_size,
                        held: now.map_or(0, |r| r.size),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        let timestamp = u64::try_from(self.now().as_second())
            .map_err(|_| NodeError::Internal("the clock is before 1970".into()))?;
        let signature = key
            .cosign(note.text(), timestamp)
            .map_err(|e| NodeError::Internal(format!("cosigning: {e}")))?;
        Ok(Cosigned {
            origin,
            size: checkpoint.size(),
            signatures: vec![signature],
        })
    }

    /// The authority whose log is `origin` and that log's key, if `peer` is pinned for it.
    fn log_of(
        &self,
        origin: &str,
        peer: &Sha256Digest,
    ) -> Result<(AuthorityId, VerifierKey), WitnessError> {
        let directory = self.cfg.directory.directory();
        let found = directory
            .authorities
            .iter()
            .find_map(|a| match a.log_verifier() {
                Some(Ok(key)) if key.name() == origin => Some((a, key)),
                _ => None,
            });
        let Some((entry, key)) = found else {
            return Err(WitnessError::UnknownLog(format!(
                "no authority of directory version {} has a log named `{origin}`",
                directory.version
            )));
        };
        if entry.id == self.cfg.id {
            return Err(WitnessError::UnknownLog(format!(
                "`{origin}` is this node's own log"
            )));
        }
        let valid = self.wire_now().is_ok_and(|now| entry.is_valid_at(now));
        if !valid {
            return Err(WitnessError::UnknownLog(format!(
                "`{}`, whose log is `{origin}`, is not valid now",
                entry.id
            )));
        }
        if !entry.tls_fingerprints.contains(peer) {
            return Err(WitnessError::PeerNotLog {
                origin: origin.to_owned(),
                authority: entry.id.to_string(),
                peer: peer.to_string(),
            });
        }
        Ok((entry.id.clone(), key))
    }

    /// Every alarm, oldest first.
    async fn all_alarms(&self) -> Result<Vec<AlarmRow>, StoreError> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.alarms(after, ALARM_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(all);
            };
            after = last.seq;
            let full = page.len() == ALARM_PAGE as usize;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }

    /// The latest open alarm of `origin`, given the checkpoint held of it. Alarms are rare
    /// (one per fork and resolution), so reading them all is cheap.
    async fn open_alarm(
        &self,
        origin: &str,
        held: &PeerCheckpointRow,
    ) -> Result<Option<AlarmRow>, StoreError> {
        Ok(self
            .all_alarms()
            .await?
            .into_iter()
            .rfind(|a| a.origin == origin && a.detected_at >= held.updated_at))
    }

    /// Records an alarm against the held checkpoint `row`; its sequence number.
    async fn raise_alarm(
        &self,
        row: &PeerCheckpointRow,
        held: &Checkpoint,
        s: Suspect<'_>,
    ) -> Result<i64, WitnessError> {
        let evidence = json!({
            "kind": s.kind,
            "why": s.why,
            "authority": s.authority.as_str(),
            "log_vkey": s.log_key.to_string(),
            "peer_certificate": s.peer.to_string(),
            "held": {"size": held.size(), "root": b64(held.root())},
            "seen": {"size": s.seen.size(), "root": b64(s.seen.root())},
            "old_size": s.request.old_size,
            "proof": s.request.proof.iter().map(b64).collect::<Vec<_>>(),
        });
        let alarm = AlarmRow {
            seq: 0,
            origin: s.origin.to_owned(),
            held_note: row.note.clone(),
            seen_note: s.request.checkpoint.clone(),
            evidence,
            // Never before the held checkpoint it is raised against, or it would not be open.
            detected_at: self.now_ms().max(row.updated_at),
        };
        self.store.add_alarm(&alarm).await?;
        // The witness lock is held: the origin's last alarm is this one.
        let seq = self
            .all_alarms()
            .await?
            .iter()
            .rev()
            .find(|a| a.origin == s.origin)
            .map_or(0, |a| a.seq);
        Ok(seq)
    }

    /// Alarms with `seq > after`, oldest first, at most `limit`, each saying whether it is
    /// open.
    pub async fn log_alarms(&self, after: i64, limit: u32) -> Result<Vec<AlarmView>, NodeError> {
        let rows = self.store.alarms(after, limit).await?;
        let mut held: Vec<(String, Option<Millis>)> = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            let updated = match held.iter().find(|(o, _)| *o == a.origin) {
                Some((_, u)) => *u,
                None => {
                    let u = self
                        .store
                        .peer_checkpoint(&a.origin)
                        .await?
                        .map(|r| r.updated_at);
                    held.push((a.origin.clone(), u));
                    u
                }
            };
            out.push(AlarmView {
                seq: a.seq,
                open: updated.is_some_and(|u| a.detected_at >= u),
                detected_at: ms_to_text(a.detected_at),
                origin: a.origin,
                held_note: a.held_note,
                seen_note: a.seen_note,
                evidence: a.evidence,
            });
        }
        Ok(out)
    }

    /// How many alarms were ever recorded, and how many are open.
    pub async fn alarm_counts(&self) -> Result<(usize, usize), NodeError> {
        let all = self.log_alarms(0, u32::MAX).await?;
        Ok((all.len(), all.iter().filter(|a| a.open).count()))
    }

    /// Resolves open alarm `seq` as an officer decided after looking at its evidence: the
    /// witness goes on from the checkpoint held when it was raised (`Keep::Held`) or from the
    /// one seen (`Keep::Seen`, if not smaller), and cosigns the log again from there. Closes
    /// every alarm of the origin; the decision and its reasons go into the audit trail.
    pub async fn resolve_alarm(
        &self,
        officer: &str,
        seq: i64,
        keep: Keep,
        reason: &str,
    ) -> Result<AlarmView, NodeError> {
        text_required("reason", reason)?;
        let _turn = self.witness_lock.lock().await;
        let all = self.all_alarms().await?;
        let alarm = all
            .iter()
            .find(|a| a.seq == seq)
            .ok_or_else(|| NodeError::NotFound(format!("no alarm {seq}")))?;
        let held = self.store.peer_checkpoint(&alarm.origin).await?;
        let Some(held) = held.filter(|h| alarm.detected_at >= h.updated_at) else {
            return Err(NodeError::IllegalTransition {
                case: format!("alarm {seq}"),
                state: "resolved".into(),
                action: "resolve",
                allowed: "open alarms".into(),
            });
        };
        let note = match keep {
            Keep::Held => held.note.clone(),
            Keep::Seen => alarm.seen_note.clone(),
        };
        let size = Note::parse(note.as_bytes())
            .and_then(|n| Checkpoint::parse(n.text()))
            .map_err(|e| NodeError::Internal(format!("alarm {seq}: a note does not parse: {e}")))?
            .size();
        if size < held.size {
            return Err(NodeError::BadInput(format!(
                "the checkpoint seen (size {size}) is smaller than the one held (size {}): a witness never goes back",
                held.size
            )));
        }
        let last = all
            .iter()
            .filter(|a| a.origin == alarm.origin)
            .map(|a| a.detected_at)
            .max()
            .unwrap_or(alarm.detected_at);
        // Stamped after every alarm of the origin, so that all of them are closed.
        let updated_at = self.now_ms().max(last.saturating_add(1));
        let now = self.now_ms();
        let change = Change {
            peer_checkpoints: vec![PeerCheckpointSwap {
                expected: Some(held.size),
                row: PeerCheckpointRow {
                    origin: alarm.origin.clone(),
                    size,
                    note,
                    updated_at,
                },
            }],
            audit: vec![AuditRow {
                seq: 0,
                at: now,
                actor: officer.to_owned(),
                action: "resolve_alarm".into(),
                case_id: None,
                data: json!({
                    "alarm": seq,
                    "origin": alarm.origin,
                    "keep": keep,
                    "size": size,
                    "reason": reason,
                }),
            }],
            ..Change::default()
        };
        self.store.apply(&change).await?;
        Ok(AlarmView {
            seq,
            origin: alarm.origin.clone(),
            detected_at: ms_to_text(alarm.detected_at),
            open: false,
            held_note: alarm.held_note.clone(),
            seen_note: alarm.seen_note.clone(),
            evidence: alarm.evidence.clone(),
        })
    }

    // ----- the log side --------------------------------------------------------------------

    /// The other authorities of the directory, valid now, that list a `witness_vkey`: the
    /// witnesses this node's log asks to cosign.
    pub fn witnesses(&self) -> Vec<WitnessPeer> {
        let now = self.wire_now().ok();
        self.cfg
            .directory
            .directory()
            .authorities
            .iter()
            .filter(|a| a.id != self.cfg.id && now.is_some_and(|t| a.is_valid_at(t)))
            .filter_map(|a: &AuthorityEntry| {
                let key = a.witness_verifier()?.ok()?;
                Some(WitnessPeer {
                    id: a.id.clone(),
                    key,
                    node_endpoint: a.node_endpoint.as_str().to_owned(),
                    tls_fingerprints: a.tls_fingerprints.clone(),
                })
            })
            .collect()
    }

    /// The `add-checkpoint` request for a witness that last cosigned size `old_size` of this
    /// log (0: never): the stored checkpoint with the log's signature alone (cosignatures
    /// already attached are no business of another witness), and the consistency proof from
    /// `old_size`. `None` when no checkpoint is stored yet.
    pub async fn witness_request(&self, old_size: u64) -> Result<Option<AddCheckpoint>, NodeError> {
        let Some(vkey) = self.log_vkey() else {
            return Ok(None);
        };
        let Some(stored) = self.store.checkpoint().await? else {
            return Ok(None);
        };
        let note = Note::parse(stored.note.as_bytes())
            .map_err(|e| NodeError::Internal(format!("the stored checkpoint: {e}")))?;
        let own: Vec<NoteSignature> = note
            .signatures()
            .iter()
            .filter(|s| s.name() == vkey.name() && s.key_id() == vkey.key_id())
            .cloned()
            .collect();
        let note = Note::new(note.text(), own)
            .map_err(|e| NodeError::Internal(format!("the stored checkpoint: {e}")))?;
        if old_size > stored.size {
            return Err(NodeError::BadInput(format!(
                "the witness holds size {old_size} of this log, which is of size {}: no proof leads there",
                stored.size
            )));
        }
        let proof = if old_size == 0 || old_size == stored.size {
            Vec::new()
        } else {
            self.store
                .log_consistency_proof(old_size, stored.size)
                .await?
        };
        Ok(Some(AddCheckpoint {
            old_size,
            proof,
            checkpoint: note.to_text(),
        }))
    }

    /// Verifies a witness's answer (`response`, its cosignature lines) with its key for the
    /// checkpoint of `size`, and attaches it to the stored checkpoint by compare-and-swap on
    /// that size, in place of any earlier cosignature by the same key. The log's own signature
    /// and the other witnesses' cosignatures stay. If the stored checkpoint is no longer of that
    /// size, the cosignature is dropped ([`Attached::Superseded`]): a checkpoint carries only
    /// cosignatures of itself.
    pub async fn attach_cosignatures(
        &self,
        witness: &VerifierKey,
        size: u64,
        response: &[u8],
    ) -> Result<Attached, NodeError> {
        let bad = |why: String| NodeError::BadInput(format!("witness `{}`: {why}", witness.name()));
        let lines = parse_cosignature_response(response).map_err(|e| bad(e.to_string()))?;
        if let Some(other) = lines
            .iter()
            .find(|l| l.name() != witness.name() || l.key_id() != witness.key_id())
        {
            return Err(bad(format!(
                "answered with a signature by `{}` (key id {:08x})",
                other.name(),
                other.key_id()
            )));
        }
        let log_key = self.log_vkey().ok_or_else(|| {
            NodeError::BadInput("this node has no log key: it has nothing to cosign".into())
        })?;
        // Each round either returns or lost a race to a writer that made progress.
        for _ in 0..16 {
            let Some(stored) = self.store.checkpoint().await? else {
                return Ok(Attached::Superseded { size });
            };
            if stored.size != size {
                return Ok(Attached::Superseded { size });
            }
            let note = Note::parse(stored.note.as_bytes())
                .map_err(|e| NodeError::Internal(format!("the stored checkpoint: {e}")))?;
            let mut signatures: Vec<NoteSignature> = note
                .signatures()
                .iter()
                .filter(|s| s.name() != witness.name() || s.key_id() != witness.key_id())
                .cloned()
                .collect();
            signatures.extend(lines.iter().cloned());
            let candidate = Note::new(note.text(), signatures).map_err(|e| bad(e.to_string()))?;
            let timestamp = verify_cosignature(&candidate, witness)
                .map_err(|e| bad(format!("its cosignature does not verify: {e}")))?;
            // Never store a checkpoint the log's own key no longer opens.
            candidate
                .verify(std::slice::from_ref(&log_key))
                .map_err(|e| NodeError::Internal(format!("the stored checkpoint: {e}")))?;
            let text = candidate.to_text();
            if text == stored.note {
                return Ok(Attached::Cosigned { size, timestamp });
            }
            let row = CheckpointRow { size, note: text };
            match self.store.swap_checkpoint(Some(size), &row).await {
                Ok(()) => return Ok(Attached::Cosigned { size, timestamp }),
                Err(StoreError::Stale(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NodeError::Conflict)
    }

    /// The witnesses of the directory (other authorities' `witness_vkey`s) whose cosignatures
    /// on the signed checkpoint `note` verify: their key names, in directory order. A
    /// cosignature that does not verify, or by a key the directory does not list, names
    /// nobody.
    pub fn cosigners(&self, note: &str) -> Vec<String> {
        let Ok(note) = Note::parse(note.as_bytes()) else {
            return Vec::new();
        };
        self.cfg
            .directory
            .directory()
            .authorities
            .iter()
            .filter_map(|a| a.witness_verifier()?.ok())
            .filter(|key| verify_cosignature(&note, key).is_ok())
            .map(|key| key.name().to_owned())
            .collect()
    }
}

/// What an alarm records besides the held checkpoint.
struct Suspect<'a> {
    origin: &'a str,
    authority: &'a AuthorityId,
    log_key: &'a VerifierKey,
    peer: &'a Sha256Digest,
    request: &'a AddCheckpoint,
    seen: &'a Checkpoint,
    kind: &'static str,
    why: String,
}
