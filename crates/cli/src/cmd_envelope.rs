//! `comity envelope seal|verify|open`: signed (and optionally sealed) envelopes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_protocol::envelope::{SealRandomness, seal_envelope, verify_envelope};
use comity_protocol::{AuthorityId, EnvelopeHeader, ProtocolError, VerifiedEnvelope};
use serde_json::Value;

use crate::cmd_support::{
    CmdError, CmdResult, NodeDir, finish, now, out, random, read_file, read_verified_directory,
};

#[derive(clap::Subcommand, Debug)]
pub enum EnvelopeCommand {
    /// Sign PAYLOAD.json (a JSON object) from the node in --from to an authority; prints the
    /// envelope.
    Seal {
        /// The sender's node directory.
        #[arg(long, value_name = "NODE_DIR")]
        from: PathBuf,
        /// The recipient's authority id.
        #[arg(long, value_name = "AUTHORITY")]
        to: String,
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// What the envelope carries, e.g. `request.preservation`.
        #[arg(long)]
        kind: String,
        /// Seal the payload with HPKE to the recipient's encryption key (for personal data
        /// and evidence).
        #[arg(long)]
        encrypt: bool,
        /// The id of the envelope this one answers.
        #[arg(long, value_name = "ENVELOPE_ID")]
        in_reply_to: Option<String>,
        /// Seconds until the envelope expires (at most 30 days).
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// The payload file (`-` for standard input).
        payload: PathBuf,
    },
    /// Check an envelope: exit 0 valid, 1 invalid (with the reason), 2 bad input.
    Verify {
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// Also require the envelope to be addressed to this authority.
        #[arg(long = "as", value_name = "AUTHORITY", conflicts_with = "dir")]
        recipient: Option<String>,
        /// Also require the envelope to be addressed to this node.
        #[arg(long, value_name = "NODE_DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// The envelope file (`-` for standard input).
        envelope: PathBuf,
    },
    /// Verify an envelope addressed to this node and print its payload, opening it if sealed.
    Open {
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// The recipient's node directory.
        #[arg(long, value_name = "NODE_DIR")]
        dir: PathBuf,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// The envelope file (`-` for standard input).
        envelope: PathBuf,
    },
}

pub fn run(cmd: EnvelopeCommand) -> ExitCode {
    finish(match cmd {
        EnvelopeCommand::Seal {
            from,
            to,
            directory,
            kind,
            encrypt,
            in_reply_to,
            ttl,
            now,
            payload,
        } => seal(&SealArgs {
            from: &from,
            to: &to,
            directory: &directory,
            kind: &kind,
            encrypt,
            in_reply_to: in_reply_to.as_deref(),
            ttl,
            now: now.as_deref(),
            payload: &payload,
        }),
        EnvelopeCommand::Verify {
            directory,
            recipient,
            dir,
            json,
            now,
            envelope,
        } => verify(
            &directory,
            recipient.as_deref(),
            dir.as_deref(),
            json,
            now.as_deref(),
            &envelope,
        ),
        EnvelopeCommand::Open {
            directory,
            dir,
            now,
            envelope,
        } => open(&directory, &dir, now.as_deref(), &envelope),
    })
}

struct SealArgs<'a> {
    from: &'a Path,
    to: &'a str,
    directory: &'a Path,
    kind: &'a str,
    encrypt: bool,
    in_reply_to: Option<&'a str>,
    ttl: i64,
    now: Option<&'a str>,
    payload: &'a Path,
}

fn seal(a: &SealArgs<'_>) -> CmdResult {
    let bad = |flag: &str, e: ProtocolError| CmdError::bad_input(format!("{flag}: {e}"));
    let now = now(a.now)?;
    let to: AuthorityId = a.to.parse().map_err(|e| bad("--to", e))?;
    let kind = a.kind.parse().map_err(|e| bad("--kind", e))?;
    let in_reply_to = a
        .in_reply_to
        .map(str::parse)
        .transpose()
        .map_err(|e| bad("--in-reply-to", e))?;
    if a.ttl <= 0 {
        return Err(CmdError::bad_input("--ttl must be positive"));
    }
    let directory = read_verified_directory(a.directory)?;
    let node = NodeDir::new(a.from);
    let me = node.entry()?.id;
    let entry = directory.authority(&me).ok_or_else(|| {
        CmdError::bad_input(format!(
            "the sender `{me}` is not listed in `{}`",
            a.directory.display()
        ))
    })?;
    let signer = node.active_signing(entry)?;
    let bytes = read_file(a.payload, "payload")?;
    let payload = match comity_protocol::jcs::parse(&bytes, "payload") {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(CmdError::bad_input(format!(
                "payload `{}` must be a json object",
                a.payload.display()
            )));
        }
        Err(e) => {
            return Err(CmdError::bad_input(format!(
                "`{}`: {e}",
                a.payload.display()
            )));
        }
    };
    let header = EnvelopeHeader {
        from: me,
        to,
        kind,
        created: now,
        expires: now.plus_seconds(a.ttl),
        in_reply_to,
    };
    let randomness = SealRandomness {
        id: random()?,
        hpke_seed: if a.encrypt { Some(random()?) } else { None },
    };
    let outgoing =
        seal_envelope(&directory, header, payload, &signer, randomness).map_err(|e| match e {
            ProtocolError::Malformed { .. } | ProtocolError::UnknownAuthority(_) => {
                CmdError::bad_input(e.to_string())
            }
            _ => CmdError::failed(format!("cannot seal: {e}")),
        })?;
    let mut text = String::from_utf8_lossy(&outgoing.bytes).into_owned();
    text.push('\n');
    out(&text);
    Ok(())
}

fn check(
    directory: &Path,
    recipient: Option<&AuthorityId>,
    now_flag: Option<&str>,
    envelope: &Path,
) -> Result<Result<VerifiedEnvelope, ProtocolError>, CmdError> {
    let now = now(now_flag)?;
    let directory = read_verified_directory(directory)?;
    let bytes = read_file(envelope, "envelope")?;
    Ok(verify_envelope(&bytes, &directory, now, recipient))
}

fn verify(
    directory: &Path,
    recipient: Option<&str>,
    node_dir: Option<&Path>,
    json: bool,
    now_flag: Option<&str>,
    envelope: &Path,
) -> CmdResult {
    let recipient: Option<AuthorityId> = match (recipient, node_dir) {
        (Some(r), _) => Some(
            r.parse()
                .map_err(|e| CmdError::bad_input(format!("--as: {e}")))?,
        ),
        (None, Some(d)) => Some(NodeDir::new(d).entry()?.id),
        (None, None) => None,
    };
    let result = check(directory, recipient.as_ref(), now_flag, envelope)?;
    match (result, json) {
        (Ok(v), false) => {
            let e = v.envelope();
            let payload = match &e.sealed {
                Some(s) => format!("sealed to key {}", s.recipient_key),
                None => "plain".to_owned(),
            };
            out(&format!(
                "valid: envelope {} from `{}` to `{}`, kind {}, created {}, expires {}, payload {payload}, signed with {}\n",
                e.id, e.from, e.to, e.kind, e.created, e.expires, e.signer
            ));
            Ok(())
        }
        (Ok(v), true) => {
            let e = v.envelope();
            let report = serde_json::json!({
                "valid": true,
                "id": e.id,
                "from": e.from,
                "to": e.to,
                "kind": e.kind,
                "created": e.created,
                "expires": e.expires,
                "in_reply_to": e.in_reply_to,
                "sealed": e.sealed.is_some(),
                "payload_hash": e.payload_hash,
                "envelope_hash": v.wire_hash(),
                "signer": e.signer,
            });
            out(&format!("{report}\n"));
            Ok(())
        }
        (Err(e), false) => Err(CmdError::failed(format!("invalid ({}): {e}", e.code()))),
        (Err(e), true) => {
            let report =
                serde_json::json!({"valid": false, "code": e.code(), "reason": e.to_string()});
            out(&format!("{report}\n"));
            Err(CmdError::failed(format!("invalid ({}): {e}", e.code())))
        }
    }
}

fn open(directory: &Path, node_dir: &Path, now_flag: Option<&str>, envelope: &Path) -> CmdResult {
    let node = NodeDir::new(node_dir);
    let me = node.entry()?.id;
    let verified = check(directory, Some(&me), now_flag, envelope)?
        .map_err(|e| CmdError::failed(format!("invalid ({}): {e}", e.code())))?;
    let secret = match &verified.envelope().sealed {
        Some(s) => Some(
            node.encryption_secret(&s.recipient_key)
                .map_err(|e| CmdError::failed(e.message))?,
        ),
        None => None,
    };
    let payload = verified
        .open(secret.as_ref())
        .map_err(|e| CmdError::failed(format!("cannot open ({}): {e}", e.code())))?;
    let text = serde_json::to_string_pretty(&Value::Object(payload))
        .map_err(|e| CmdError::failed(e.to_string()))?;
    out(&format!("{text}\n"));
    Ok(())
}
