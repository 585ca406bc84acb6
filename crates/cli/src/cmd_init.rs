//! `comity init`: creates a node directory with fresh keys, a TLS certificate, the key of its
//! transparency log and the authority's directory entry.
//!
//! The log key is a C2SP signed-note Ed25519 key whose name is the log's origin,
//! `<network>/<authority id>` (docs/log-format.md, section 4): `keys/log.key` holds it (mode
//! 0600), `log.vkey` its verifier key, which the entry lists as `log_vkey` so that
//! `comity directory add` publishes it to the peers that verify the node's checkpoints. The
//! network must be the one of the directory the authority joins (`--network`, default
//! `comity`, as for `comity directory add`).
//!
//! The witness key is a C2SP tlog-cosignature key (`cosignature/v1`, type `0x04`) named
//! `<network>/<authority id>/witness`, with which the node cosigns the checkpoints of the other
//! authorities' logs (docs/log-format.md, section 5): `keys/witness.key` (mode 0600) and
//! `witness.vkey`, listed as the entry's `witness_vkey`. It is drawn separately from the log
//! key: one key never signs in both roles.

use std::path::PathBuf;

use comity_crypto::tls::TlsIdentity;
use comity_crypto::{EncryptionSecret, SigningSecret};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{
    AuthorityEntry, AuthorityId, NetworkName, PartyCode, Role, log_origin, witness_name,
};
use comity_tlog::{KeyType, SignerKey};

use crate::cmd_support::{
    CmdError, CmdResult, NodeDir, create_private_dir, finish, now, out, random, write_secret,
};

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The Party, as its ISO 3166-1 alpha-2 code (e.g. `AR`).
    #[arg(long)]
    party: String,
    /// central_authority, point_of_contact_24_7, competent_authority, service_provider or oversight.
    #[arg(long)]
    role: String,
    /// The authority's name as officers know it.
    #[arg(long)]
    name: String,
    /// The node directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The authority id; by default `<party>-<role>`, e.g. `ar-central-authority`.
    #[arg(long)]
    id: Option<String>,
    /// The officer web interface URL (default `https://<id>.invalid/`).
    #[arg(long, value_name = "URL")]
    officer_endpoint: Option<String>,
    /// The node-to-node (mutual TLS) URL (default `https://<id>.invalid:4433/`).
    #[arg(long, value_name = "URL")]
    node_endpoint: Option<String>,
    /// How long the entry and the TLS certificate are valid.
    #[arg(long, default_value_t = 730)]
    valid_days: u32,
    /// The network whose directory the authority joins: the log's origin is
    /// `<network>/<id>`.
    #[arg(long, default_value = "comity")]
    network: String,
    /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub fn run(args: InitArgs) -> std::process::ExitCode {
    finish(init(args))
}

fn init(args: InitArgs) -> CmdResult {
    let bad = |e: comity_protocol::ProtocolError| CmdError::bad_input(e.to_string());
    let party: PartyCode = args.party.parse().map_err(bad)?;
    let role: Role = args.role.parse().map_err(bad)?;
    let id = match &args.id {
        Some(id) => id.parse().map_err(bad)?,
        None => AuthorityId::conventional(&party, role),
    };
    let name = args.name.parse().map_err(bad)?;
    let network: NetworkName =
        args.network
            .parse()
            .map_err(|e: comity_protocol::ProtocolError| {
                CmdError::bad_input(format!("--network: {e}"))
            })?;
    let officer_endpoint = args
        .officer_endpoint
        .clone()
        .unwrap_or_else(|| format!("https://{id}.invalid/"))
        .parse()
        .map_err(bad)?;
    let node_endpoint = args
        .node_endpoint
        .clone()
        .unwrap_or_else(|| format!("https://{id}.invalid:4433/"))
        .parse()
        .map_err(bad)?;
    let now = now(args.now.as_deref())?;
    let valid_until = now.plus_seconds(i64::from(args.valid_days) * 86_400);
    if args.valid_days == 0 {
        return Err(CmdError::bad_input("--valid-days must be at least 1"));
    }

    let node = NodeDir::new(&args.dir);
    if args.dir.exists() {
        let empty = std::fs::read_dir(&args.dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(CmdError::bad_input(format!(
                "`{}` exists and is not an empty directory",
                args.dir.display()
            )));
        }
    }
    create_private_dir(&args.dir)?;
    create_private_dir(&node.keys_dir())?;
    create_private_dir(&node.tls_dir())?;

    let signing = SigningSecret::from_seed(&zeroize::Zeroizing::new(random::<32>()?));
    let encryption = EncryptionSecret::derive(&zeroize::Zeroizing::new(random::<32>()?));
    let tls = TlsIdentity::issue(
        &zeroize::Zeroizing::new(random::<32>()?),
        id.as_str(),
        now.unix_seconds(),
        valid_until.unix_seconds(),
    )
    .map_err(|e| CmdError::failed(e.to_string()))?;

    write_secret(
        &node.signing_path(&signing.key_id()),
        &signing.to_file_text(),
    )?;
    write_secret(
        &node.encryption_path(&encryption.key_id()),
        &encryption.to_file_text(),
    )?;
    let origin = log_origin(&network, &id);
    let log_key = SignerKey::from_seed(
        &origin,
        KeyType::Ed25519,
        &zeroize::Zeroizing::new(random::<32>()?),
    )
    .map_err(|e| CmdError::failed(format!("the log key: {e}")))?;
    let log_vkey = log_key.verifier_key().to_string();
    let skey = log_key.to_skey();
    write_secret(
        &node.log_key_path(),
        &zeroize::Zeroizing::new(format!("{}\n", skey.as_str())),
    )?;
    std::fs::write(node.log_vkey_path(), format!("{log_vkey}\n"))
        .map_err(|e| CmdError::failed(format!("cannot write the log's verifier key: {e}")))?;
    let witness_key = SignerKey::from_seed(
        &witness_name(&network, &id),
        KeyType::CosignatureV1,
        &zeroize::Zeroizing::new(random::<32>()?),
    )
    .map_err(|e| CmdError::failed(format!("the witness key: {e}")))?;
    let witness_vkey = witness_key.verifier_key().to_string();
    let skey = witness_key.to_skey();
    write_secret(
        &node.witness_key_path(),
        &zeroize::Zeroizing::new(format!("{}\n", skey.as_str())),
    )?;
    std::fs::write(node.witness_vkey_path(), format!("{witness_vkey}\n"))
        .map_err(|e| CmdError::failed(format!("cannot write the witness's verifier key: {e}")))?;
    write_secret(&node.tls_dir().join("key.pem"), &tls.key_pem())?;
    std::fs::write(node.tls_dir().join("cert.pem"), tls.cert_pem())
        .map_err(|e| CmdError::failed(format!("cannot write the certificate: {e}")))?;

    let entry = AuthorityEntry {
        id: id.clone(),
        party,
        role,
        name,
        officer_endpoint,
        node_endpoint,
        signing_keys: vec![KeyRecord::new(signing.key_id(), signing.public(), now)],
        encryption_keys: vec![KeyRecord::new(
            encryption.key_id(),
            encryption.public(),
            now,
        )],
        tls_fingerprints: vec![tls.fingerprint()],
        valid_from: now,
        valid_until,
        log_vkey: Some(log_vkey.clone()),
        witness_vkey: Some(witness_vkey.clone()),
    };
    entry
        .validate(None)
        .map_err(|e| CmdError::failed(e.to_string()))?;
    node.save_entry(&entry)?;

    out(&format!(
        "created node `{}` in {}\n  signing key     {}\n  encryption key  {}\n  tls fingerprint {}\n  log key         {}\n  witness key     {}\n  valid           {} to {}\nnext: comity directory add --directory DIRECTORY.json {}\n",
        id,
        args.dir.display(),
        signing.key_id(),
        encryption.key_id(),
        tls.fingerprint(),
        log_vkey,
        witness_vkey,
        now,
        valid_until,
        args.dir.display(),
    ));
    Ok(())
}
