//! `comity keys rotate|revoke`: key changes, each recorded as a new directory version.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_crypto::tls::TlsIdentity;
use comity_crypto::{EncryptionSecret, KeyId, SigningSecret};

use crate::cmd_support::{
    CmdError, CmdResult, NodeDir, editable, finish, now, out, random, read_directory,
    write_directory, write_secret,
};

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Replace the node's signing key (or its encryption key, or TLS certificate) with a new
    /// one. The old signing key keeps verifying envelopes created before the rotation. Writes
    /// a new directory version to be signed.
    Rotate {
        /// The node directory.
        #[arg(long, value_name = "NODE_DIR")]
        dir: PathBuf,
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// Rotate the encryption key instead of the signing key.
        #[arg(long, conflicts_with = "tls")]
        encryption: bool,
        /// Issue a new TLS certificate instead, and pin only it.
        #[arg(long)]
        tls: bool,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Revoke a key: nothing signed with it is accepted any more, whatever its date. Writes a
    /// new directory version to be signed.
    Revoke {
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// The key id to revoke.
        #[arg(long, value_name = "KEY_ID")]
        key: String,
        /// The owner's node directory, to update its `authority.json` too.
        #[arg(long, value_name = "NODE_DIR")]
        dir: Option<PathBuf>,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
}

pub fn run(cmd: KeysCommand) -> ExitCode {
    finish(match cmd {
        KeysCommand::Rotate {
            dir,
            directory,
            encryption,
            tls,
            now,
        } => rotate(&dir, &directory, encryption, tls, now.as_deref()),
        KeysCommand::Revoke {
            directory,
            key,
            dir,
            now,
        } => revoke(&directory, &key, dir.as_deref(), now.as_deref()),
    })
}

fn rotate(
    node_dir: &Path,
    file: &Path,
    encryption: bool,
    tls: bool,
    now_flag: Option<&str>,
) -> CmdResult {
    let now = now(now_flag)?;
    let node = NodeDir::new(node_dir);
    let id = node.entry()?.id;
    let mut dir = editable(read_directory(file)?, now)?;
    let issued = dir.issued;
    let entry = dir
        .authority(&id)
        .ok_or_else(|| {
            CmdError::bad_input(format!("`{id}` is not listed in `{}`", file.display()))
        })?
        .clone();
    let what;
    let (old, new): (Option<String>, String) = if tls {
        what = "tls certificate";
        let identity = TlsIdentity::issue(
            &zeroize::Zeroizing::new(random::<32>()?),
            id.as_str(),
            issued.unix_seconds(),
            entry.valid_until.unix_seconds(),
        )
        .map_err(|e| CmdError::failed(e.to_string()))?;
        let key_path = node.tls_dir().join("key.pem");
        // the old key file is replaced: write the new one beside it, then move it into place
        let tmp = node.tls_dir().join("key.pem.new");
        let _ = std::fs::remove_file(&tmp);
        write_secret(&tmp, &identity.key_pem())?;
        std::fs::rename(&tmp, &key_path)
            .and_then(|()| std::fs::write(node.tls_dir().join("cert.pem"), identity.cert_pem()))
            .map_err(|e| CmdError::failed(format!("cannot replace the tls files: {e}")))?;
        dir.set_tls_fingerprints(&id, [identity.fingerprint()])
            .map_err(|e| CmdError::failed(e.to_string()))?;
        let old: Vec<String> = entry
            .tls_fingerprints
            .iter()
            .map(ToString::to_string)
            .collect();
        (Some(old.join(", ")), identity.fingerprint().to_string())
    } else if encryption {
        what = "encryption key";
        let secret = EncryptionSecret::derive(&zeroize::Zeroizing::new(random::<32>()?));
        write_secret(
            &node.encryption_path(&secret.key_id()),
            &secret.to_file_text(),
        )?;
        let old = dir
            .rotate_encryption_key(&id, secret.public())
            .map_err(|e| CmdError::failed(e.to_string()))?;
        (old.map(|k| k.to_string()), secret.key_id().to_string())
    } else {
        what = "signing key";
        let secret = SigningSecret::from_seed(&zeroize::Zeroizing::new(random::<32>()?));
        write_secret(&node.signing_path(&secret.key_id()), &secret.to_file_text())?;
        let old = dir
            .rotate_signing_key(&id, secret.public())
            .map_err(|e| CmdError::failed(e.to_string()))?;
        (old.map(|k| k.to_string()), secret.key_id().to_string())
    };
    write_directory(file, &dir)?;
    if let Some(updated) = dir.authority(&id) {
        node.save_entry(updated)?;
    }
    out(&format!(
        "`{id}`: {what} {} replaced by {new} at {issued}\n{}: version {} (unsigned)\nnext: comity directory sign --directory {} --dir MAINTAINER_NODE_DIR{}\n",
        old.unwrap_or_else(|| "(none)".into()),
        file.display(),
        dir.version,
        file.display(),
        if dir.maintainers.contains(&id) && !encryption && !tls {
            " (as a maintainer, this node signs with its outgoing key too)"
        } else {
            ""
        },
    ));
    Ok(())
}

fn revoke(file: &Path, key: &str, node_dir: Option<&Path>, now_flag: Option<&str>) -> CmdResult {
    let now = now(now_flag)?;
    let kid: KeyId = key
        .parse()
        .map_err(|e| CmdError::bad_input(format!("--key: {e}")))?;
    let mut dir = editable(read_directory(file)?, now)?;
    let owner = dir
        .revoke_key(&kid)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    write_directory(file, &dir)?;
    if let Some(node_dir) = node_dir {
        let node = NodeDir::new(node_dir);
        if node.entry()?.id == owner {
            if let Some(updated) = dir.authority(&owner) {
                node.save_entry(updated)?;
            }
        } else {
            eprintln!(
                "note: `{}` is not the node of `{owner}`; its authority.json is unchanged",
                node_dir.display()
            );
        }
    }
    let no_active = dir
        .authority(&owner)
        .is_some_and(|a| a.active_signing_key().is_none());
    out(&format!(
        "`{owner}`: key {kid} revoked at {}\n{}: version {} (unsigned)\nnext: comity directory sign --directory {} --dir MAINTAINER_NODE_DIR\n",
        dir.issued,
        file.display(),
        dir.version,
        file.display(),
    ));
    if no_active {
        eprintln!(
            "note: `{owner}` has no active signing key now; rotate to a new one to send envelopes again"
        );
    }
    Ok(())
}
