//! C2SP tlog-cosignature (`cosignature/v1`, signature type `0x04`) and the tlog-witness
//! `add-checkpoint` messages, so that nodes can witness each other's logs.
//!
//! A cosignature line's bytes are `key id (4) || timestamp (8, big-endian) || Ed25519 signature
//! (64)`, the signature covering `"cosignature/v1\ntime <timestamp>\n" || checkpoint text`
//! (extension lines included). Timestamps are seconds since the Unix epoch, at most 2^63 - 1.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::Error;
use crate::checkpoint::{Checkpoint, parse_size};
use crate::hash::Hash;
use crate::merkle::verify_consistency;
use crate::note::{KeyType, Note, NoteSignature, SignerKey, VerifierKey};

/// The largest timestamp a cosignature may carry.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The most consistency proof lines an `add-checkpoint` request may carry.
pub const MAX_WITNESS_PROOF_LINES: usize = 63;

/// The message a cosignature/v1 signs. Any `u64` is formatted; signing and verifying refuse
/// timestamps above [`MAX_TIMESTAMP`].
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// Why a cosignature's bytes are not acceptable.
pub(crate) enum Fault {
    Length(usize),
    Timestamp(u64),
    Signature,
}

/// Checks `timestamp || signature` against `public` over `text`; gives the timestamp.
pub(crate) fn check_raw(public: &VerifyingKey, text: &str, bytes: &[u8]) -> Result<u64, Fault> {
    let Some((ts, sig)) = bytes
        .split_first_chunk::<8>()
        .filter(|(_, sig)| sig.len() == 64)
    else {
        return Err(Fault::Length(bytes.len()));
    };
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp > MAX_TIMESTAMP {
        return Err(Fault::Timestamp(timestamp));
    }
    let message = cosignature_message(text, timestamp);
    let sig = <[u8; 64]>::try_from(sig).map_err(|_| Fault::Length(bytes.len()))?;
    public
        .verify_strict(message.as_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| Fault::Signature)?;
    Ok(timestamp)
}

impl SignerKey {
    /// A cosignature/v1 line over `checkpoint_text` at `timestamp`, by a key of type `0x04`.
    /// The text must be a well-formed checkpoint.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<NoteSignature, Error> {
        self.require(KeyType::CosignatureV1)?;
        Checkpoint::parse(checkpoint_text)?;
        if timestamp > MAX_TIMESTAMP {
            return Err(Error::TimestampOutOfRange(timestamp));
        }
        let message = cosignature_message(checkpoint_text, timestamp);
        let mut bytes = Vec::with_capacity(72);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&self.sign_bytes(message.as_bytes()));
        NoteSignature::new(self.name(), self.key_id(), bytes)
    }
}

/// Verifies `cosigner`'s cosignature on a note (usually a checkpoint already verified with the
/// log's key) and gives its timestamp. Every line from the cosigner must verify; with none the
/// answer is [`Error::NoCosignature`].
pub fn verify_cosignature(note: &Note, cosigner: &VerifierKey) -> Result<u64, Error> {
    if cosigner.key_type() != KeyType::CosignatureV1 {
        return Err(Error::WrongKeyType {
            name: cosigner.name().to_owned(),
            got: cosigner.key_type().byte(),
            want: KeyType::CosignatureV1.byte(),
        });
    }
    let mut first = None;
    for sig in note
        .signatures()
        .iter()
        .filter(|s| s.name() == cosigner.name() && s.key_id() == cosigner.key_id())
    {
        let ts =
            check_raw(cosigner.public_key(), note.text(), sig.signature()).map_err(|fault| {
                match fault {
                    Fault::Length(n) => Error::MalformedCosignature {
                        name: sig.name().to_owned(),
                        why: format!("{n} bytes after the key id, expected 72"),
                    },
                    Fault::Timestamp(t) => Error::TimestampOutOfRange(t),
                    Fault::Signature => Error::BadSignature {
                        name: sig.name().to_owned(),
                        key_id: sig.key_id(),
                    },
                }
            })?;
        first.get_or_insert(ts);
    }
    first.ok_or_else(|| Error::NoCosignature {
        name: cosigner.name().to_owned(),
        key_id: cosigner.key_id(),
    })
}

/// The body of a tlog-witness `add-checkpoint` request: the size the witness last cosigned, a
/// consistency proof from it, and the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as the log publishes it.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parses a request body: `old <size>`, up to 63 base64 proof lines, an empty line, the
    /// checkpoint note. The proof must be empty when the old size is 0.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let bad = |why: String| Error::MalformedWitnessMessage(why);
        let body =
            std::str::from_utf8(body).map_err(|_| bad("the body is not valid UTF-8".into()))?;
        let (old_line, mut rest) = body
            .split_once('\n')
            .ok_or_else(|| bad("no old size line".into()))?;
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or_else(|| bad(format!("`{old_line}` is not `old <size>`")))?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or_else(|| bad("no empty line before the checkpoint".into()))?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_WITNESS_PROOF_LINES {
                return Err(bad(format!(
                    "more than {MAX_WITNESS_PROOF_LINES} consistency proof lines"
                )));
            }
            proof.push(
                Hash::from_base64(line)
                    .ok_or_else(|| bad(format!("proof line `{line}` is not a base64 hash")))?,
            );
        }
        if old_size == 0 && !proof.is_empty() {
            return Err(bad("the proof from old size 0 must be empty".into()));
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint".into()));
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// The origin line of the checkpoint, unverified: what a witness looks the log's keys up
    /// by before calling [`witness_check`].
    pub fn origin(&self) -> Result<String, Error> {
        let note = Note::parse(self.checkpoint.as_bytes())?;
        Ok(Checkpoint::parse(note.text())?.origin().to_owned())
    }
}

/// What a witness checks before cosigning (tlog-witness `add-checkpoint`), given the log's
/// keys and what the witness last cosigned for this origin (size 0 and no root if never).
/// Gives the parsed note and checkpoint to cosign.
///
/// Errors map to the statuses of the spec: a malformed body 400, no verified signature or a
/// bad one 403, [`Error::WitnessOldSizeTooLarge`] 400, [`Error::WitnessSizeConflict`] and
/// [`Error::EqualSizeRootsDiffer`] 409, a consistency proof that fails 422.
pub fn witness_check(
    request: &AddCheckpoint,
    log_keys: &[VerifierKey],
    latest_size: u64,
    latest_root: Option<&Hash>,
) -> Result<(Note, Checkpoint), Error> {
    let note = Note::parse(request.checkpoint.as_bytes())?;
    let checkpoint = Checkpoint::parse(note.text())?;
    note.verify(log_keys)?;
    let size = checkpoint.size();
    let old = request.old_size;
    if old > size {
        return Err(Error::WitnessOldSizeTooLarge { old, size });
    }
    if old != latest_size {
        return Err(Error::WitnessSizeConflict {
            old,
            latest: latest_size,
        });
    }
    if old > 0 {
        let Some(latest_root) = latest_root else {
            return Err(Error::WitnessSizeConflict {
                old,
                latest: latest_size,
            });
        };
        verify_consistency(old, size, &request.proof, latest_root, checkpoint.root())?;
    }
    Ok((note, checkpoint))
}

/// The body of a witness's answer: its cosignature lines.
pub fn cosignature_response(signatures: &[NoteSignature]) -> String {
    signatures.iter().map(NoteSignature::to_line).collect()
}

/// Parses a witness's answer into signature lines (one or more, each ending in a newline).
pub fn parse_cosignature_response(body: &[u8]) -> Result<Vec<NoteSignature>, Error> {
    let bad = |why: &str| Error::MalformedWitnessMessage(why.to_owned());
    let body = std::str::from_utf8(body).map_err(|_| bad("the body is not valid UTF-8"))?;
    let lines = body
        .strip_suffix('\n')
        .ok_or_else(|| bad("the body does not end in a newline"))?;
    lines.split('\n').map(NoteSignature::parse_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLog;
    use crate::store;

    #[test]
    fn witness_round_trip() {
        let log_key = SignerKey::from_seed("log.example", KeyType::Ed25519, &[1; 32]).unwrap();
        let witness = SignerKey::from_seed("w.example", KeyType::CosignatureV1, &[2; 32]).unwrap();
        let mut log = MemoryLog::new();
        log.append(&[b"a", b"b", b"c"]).unwrap();
        let old_root = log.root();
        log.append(&[b"d", b"e"]).unwrap();
        let cp = Checkpoint::new("log.example", 5, log.root()).unwrap();
        let request = AddCheckpoint {
            old_size: 3,
            proof: store::consistency_proof(&log, 3, 5).unwrap(),
            checkpoint: cp.sign(&log_key).unwrap(),
        };
        let parsed = AddCheckpoint::parse(request.to_body().as_bytes()).unwrap();
        assert_eq!(parsed, request);
        assert_eq!(parsed.origin().unwrap(), "log.example");
        let keys = [log_key.verifier_key()];
        let (mut note, checkpoint) = witness_check(&parsed, &keys, 3, Some(&old_root)).unwrap();
        assert!(matches!(
            witness_check(&parsed, &keys, 2, Some(&old_root)),
            Err(Error::WitnessSizeConflict { .. })
        ));
        assert!(matches!(
            witness_check(&parsed, &keys, 3, Some(&log.root())),
            Err(Error::RootMismatch)
        ));
        let cosig = witness
            .cosign(&checkpoint.to_text(), 1_700_000_000)
            .unwrap();
        let response = cosignature_response(std::slice::from_ref(&cosig));
        for line in parse_cosignature_response(response.as_bytes()).unwrap() {
            note.add_signature(line).unwrap();
        }
        assert_eq!(
            verify_cosignature(&note, &witness.verifier_key()),
            Ok(1_700_000_000)
        );
        assert!(
            witness
                .cosign(&checkpoint.to_text(), MAX_TIMESTAMP + 1)
                .is_err()
        );
        assert!(AddCheckpoint::parse(b"old 0\nAAAA\n\nx").is_err());
        assert!(AddCheckpoint::parse(b"old 01\n\nx").is_err());
        assert!(AddCheckpoint::parse(b"old 1\n").is_err());
    }
}
