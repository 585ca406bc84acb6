//! `comity directory add|sign|show|verify`: build the authority directory version by version.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_protocol::{AuthorityEntry, AuthorityId, Directory, NetworkName};

use crate::cmd_support::{
    CmdError, CmdResult, NodeDir, editable, finish, now, out, read_directory, read_file,
    write_directory,
};

#[derive(clap::Subcommand, Debug)]
pub enum DirectoryCommand {
    /// Add authorities (node directories or their `authority.json`) to the directory; creates
    /// version 1 if FILE does not exist, and starts a new version after a signed one.
    Add {
        /// The directory file.
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// Node directories made by `comity init`, or `authority.json` files.
        #[arg(required = true, value_name = "NODE_DIR|ENTRY.json")]
        entries: Vec<PathBuf>,
        /// Also name the added authorities as maintainers (who sign directory versions).
        #[arg(long)]
        maintainer: bool,
        /// How many maintainers must sign each version.
        #[arg(long)]
        threshold: Option<u64>,
        /// The network's name, when creating the directory.
        #[arg(long, default_value = "comity")]
        network: String,
        /// The verifier key of the authority's transparency log (a C2SP vkey named
        /// `<network>/<id>`, or `@FILE`, e.g. `@NODE_DIR/log.vkey`), listed as its `log_vkey`
        /// in place of the one its entry has; with one entry only. By default the entry's own
        /// (`comity init` writes it).
        #[arg(long, value_name = "VKEY|@FILE")]
        log_vkey: Option<String>,
        /// The verifier key with which the authority's node cosigns other logs (a C2SP
        /// cosignature/v1 vkey named `<network>/<id>/witness`, or `@FILE`, e.g.
        /// `@NODE_DIR/witness.vkey`), listed as its `witness_vkey` in place of the one its entry
        /// has; with one entry only. By default the entry's own (`comity init` writes it).
        #[arg(long, value_name = "VKEY|@FILE")]
        witness_vkey: Option<String>,
        /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Sign the current version with the node's keys (the node must be a maintainer).
    Sign {
        #[arg(long, value_name = "FILE")]
        directory: PathBuf,
        /// The maintainer's node directory.
        #[arg(long, value_name = "NODE_DIR")]
        dir: PathBuf,
    },
    /// Print the directory in readable form.
    Show {
        /// The directory file.
        file: PathBuf,
        /// Print the JSON document, indented.
        #[arg(long)]
        json: bool,
    },
    /// Check a version's structure and signatures (exit 0 valid, 1 invalid, 2 unreadable);
    /// with --previous, also that it follows that version.
    Verify {
        /// The directory file.
        file: PathBuf,
        /// The previous version, already trusted.
        #[arg(long, value_name = "FILE")]
        previous: Option<PathBuf>,
    },
}

pub fn run(cmd: DirectoryCommand) -> ExitCode {
    finish(match cmd {
        DirectoryCommand::Add {
            directory,
            entries,
            maintainer,
            threshold,
            network,
            log_vkey,
            witness_vkey,
            now,
        } => add(
            &directory,
            &entries,
            maintainer,
            threshold,
            &network,
            Vkeys {
                log: log_vkey.as_deref(),
                witness: witness_vkey.as_deref(),
            },
            now.as_deref(),
        ),
        DirectoryCommand::Sign { directory, dir } => sign(&directory, &dir),
        DirectoryCommand::Show { file, json } => show(&file, json),
        DirectoryCommand::Verify { file, previous } => verify(&file, previous.as_deref()),
    })
}

fn read_entry(path: &Path) -> Result<AuthorityEntry, CmdError> {
    if path.is_dir() {
        return NodeDir::new(path).entry();
    }
    let bytes = read_file(path, "authority entry")?;
    AuthorityEntry::from_json(&bytes)
        .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))
}

/// The verifier keys given with `--log-vkey` and `--witness-vkey`.
#[derive(Debug, Clone, Copy, Default)]
struct Vkeys<'a> {
    log: Option<&'a str>,
    witness: Option<&'a str>,
}

/// A vkey given on the command line (`flag`): the key itself, or `@FILE` for a file holding
/// one.
fn vkey_flag(flag: &str, text: &str) -> Result<String, CmdError> {
    let key = match text.strip_prefix('@') {
        Some(path) => {
            let bytes = read_file(Path::new(path), "verifier key")?;
            String::from_utf8(bytes)
                .map_err(|_| CmdError::bad_input(format!("`{path}` is not UTF-8 text")))?
                .trim()
                .to_owned()
        }
        None => text.trim().to_owned(),
    };
    comity_tlog::VerifierKey::parse(&key)
        .map_err(|e| CmdError::bad_input(format!("{flag}: {e}")))?;
    Ok(key)
}

fn add(
    file: &Path,
    entries: &[PathBuf],
    maintainer: bool,
    threshold: Option<u64>,
    network: &str,
    vkeys: Vkeys<'_>,
    now_flag: Option<&str>,
) -> CmdResult {
    let now = now(now_flag)?;
    let log_vkey = vkeys.log.map(|k| vkey_flag("--log-vkey", k)).transpose()?;
    let witness_vkey = vkeys
        .witness
        .map(|k| vkey_flag("--witness-vkey", k))
        .transpose()?;
    let flags = match (&log_vkey, &witness_vkey) {
        (Some(_), Some(_)) => "--log-vkey and --witness-vkey name the keys",
        (Some(_), None) => "--log-vkey names the log key",
        (None, Some(_)) => "--witness-vkey names the witness key",
        (None, None) => "",
    };
    if !flags.is_empty() && entries.len() != 1 {
        return Err(CmdError::bad_input(format!(
            "{flags} of one authority: add its entry alone"
        )));
    }
    let mut dir = if file.exists() {
        editable(read_directory(file)?, now)?
    } else {
        let network: NetworkName = network
            .parse()
            .map_err(|e| CmdError::bad_input(format!("--network: {e}")))?;
        Directory::genesis(network, now)
    };
    let mut added = Vec::new();
    for path in entries {
        let mut entry = read_entry(path)?;
        if let Some(key) = &log_vkey {
            entry.log_vkey = Some(key.clone());
        }
        if let Some(key) = &witness_vkey {
            entry.witness_vkey = Some(key.clone());
        }
        let id = entry.id.clone();
        // An authority listed already gets its log or witness key this way (a node made before
        // the log or witnessing): the rest of its entry must be as listed.
        if !flags.is_empty()
            && let Some(listed) = dir.authorities.iter_mut().find(|a| a.id == id)
        {
            // The keys are compared with neither: one not given keeps what is listed.
            let mut same = entry.clone();
            same.log_vkey.clone_from(&listed.log_vkey);
            same.witness_vkey.clone_from(&listed.witness_vkey);
            if same != *listed {
                return Err(CmdError::bad_input(format!(
                    "`{id}` is listed already with another entry; only its log and witness keys can be set this way"
                )));
            }
            let mut set = Vec::new();
            if let Some(key) = &log_vkey {
                listed.log_vkey = Some(key.clone());
                set.push("log key");
            }
            if let Some(key) = &witness_vkey {
                listed.witness_vkey = Some(key.clone());
                set.push("witness key");
            }
            listed
                .validate(Some(dir.issued))
                .map_err(|e| CmdError::bad_input(e.to_string()))?;
            dir.signatures.clear();
            dir.validate()
                .map_err(|e| CmdError::bad_input(e.to_string()))?;
            added.push(format!("{id} ({})", set.join(", ")));
            continue;
        }
        dir.add_authority(entry)
            .map_err(|e| CmdError::bad_input(format!("`{}`: {e}", path.display())))?;
        if maintainer {
            dir.add_maintainer(&id)
                .map_err(|e| CmdError::bad_input(e.to_string()))?;
        }
        added.push(id.to_string());
    }
    if let Some(t) = threshold {
        dir.set_threshold(t)
            .map_err(|e| CmdError::bad_input(e.to_string()))?;
    }
    write_directory(file, &dir)?;
    out(&format!(
        "{}: version {} (unsigned): added {}{}\nnext: comity directory sign --directory {} --dir MAINTAINER_NODE_DIR\n",
        file.display(),
        dir.version,
        added.join(", "),
        if maintainer { " as maintainers" } else { "" },
        file.display(),
    ));
    Ok(())
}

fn sign(file: &Path, node_dir: &Path) -> CmdResult {
    let node = NodeDir::new(node_dir);
    let me = node.entry()?.id;
    let mut dir = read_directory(file)?;
    let entry = dir
        .authority(&me)
        .ok_or_else(|| {
            CmdError::bad_input(format!("`{me}` is not listed in `{}`", file.display()))
        })?
        .clone();
    // every key of ours this version accepts: the active one, and the outgoing one on the
    // version that rotates it (the next version's chain check needs that one)
    let usable: Vec<_> = entry
        .signing_keys
        .iter()
        .filter(|k| k.usable_for_directory(dir.issued) && node.signing_path(&k.kid).exists())
        .map(|k| k.kid)
        .collect();
    if usable.is_empty() {
        return Err(CmdError::failed(format!(
            "`{}` holds no secret for a signing key of `{me}` usable in version {}",
            node_dir.display(),
            dir.version
        )));
    }
    for kid in &usable {
        let secret = node.signing_secret(kid)?;
        dir.sign(&me, &secret)
            .map_err(|e| CmdError::failed(e.to_string()))?;
    }
    write_directory(file, &dir)?;
    let status = match dir.clone().verify() {
        Ok(v) => format!("complete; its hash is {}", v.hash()),
        Err(e) => format!("not complete yet: {e}"),
    };
    let kids: Vec<String> = usable.iter().map(ToString::to_string).collect();
    out(&format!(
        "{}: version {} signed by `{me}` with {}; {status}\n",
        file.display(),
        dir.version,
        kids.join(", ")
    ));
    Ok(())
}

fn show(file: &Path, json: bool) -> CmdResult {
    let dir = read_directory(file)?;
    if json {
        let text =
            serde_json::to_string_pretty(&dir).map_err(|e| CmdError::failed(e.to_string()))?;
        out(&format!("{text}\n"));
        return Ok(());
    }
    let verdict = match dir.clone().verify() {
        Ok(v) => format!("signatures valid, hash {}", v.hash()),
        Err(e) => format!("NOT VALID: {e}"),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "network {}, version {}, issued {}",
        dir.network, dir.version, dir.issued
    );
    let _ = writeln!(
        s,
        "previous {}",
        dir.previous
            .map_or_else(|| "none (first version)".to_owned(), |h| h.to_string())
    );
    let maintainers: Vec<String> = dir.maintainers.iter().map(AuthorityId::to_string).collect();
    let _ = writeln!(
        s,
        "maintainers {} (threshold {})",
        maintainers.join(", "),
        dir.threshold
    );
    let _ = writeln!(s, "{verdict}");
    for a in &dir.authorities {
        let _ = writeln!(s, "\n{}  {} {}  \"{}\"", a.id, a.party, a.role, a.name);
        let _ = writeln!(s, "  valid     {} to {}", a.valid_from, a.valid_until);
        let _ = writeln!(s, "  officer   {}", a.officer_endpoint);
        let _ = writeln!(s, "  node      {}", a.node_endpoint);
        for k in &a.signing_keys {
            let _ = writeln!(
                s,
                "  signing    {} {}",
                k.kid,
                key_status(k.added, k.rotated, k.revoked)
            );
        }
        for k in &a.encryption_keys {
            let _ = writeln!(
                s,
                "  encryption {} {}",
                k.kid,
                key_status(k.added, k.rotated, k.revoked)
            );
        }
        for f in &a.tls_fingerprints {
            let _ = writeln!(s, "  tls        {f}");
        }
        if let Some(k) = &a.log_vkey {
            let _ = writeln!(s, "  log        {k}");
        }
        if let Some(k) = &a.witness_vkey {
            let _ = writeln!(s, "  witness    {k}");
        }
    }
    for sig in &dir.signatures {
        let _ = writeln!(s, "\nsigned by {} with {}", sig.authority, sig.kid);
    }
    out(&s);
    Ok(())
}

fn key_status(
    added: comity_protocol::Timestamp,
    rotated: Option<comity_protocol::Timestamp>,
    revoked: Option<comity_protocol::Timestamp>,
) -> String {
    let mut s = format!("added {added}");
    if let Some(r) = rotated {
        let _ = write!(s, ", rotated {r}");
    }
    if let Some(r) = revoked {
        let _ = write!(s, ", REVOKED {r}");
    }
    if rotated.is_none() && revoked.is_none() {
        s.push_str(", active");
    }
    s
}

fn verify(file: &Path, previous: Option<&Path>) -> CmdResult {
    let bytes = read_file(file, "directory")?;
    let parsed = Directory::from_bytes(&bytes)
        .map_err(|e| CmdError::failed(format!("invalid ({}): {e}", e.code())))?;
    let version = parsed.version;
    let verified = match previous {
        Some(prev_path) => {
            let prev = read_directory(prev_path)?.verify().map_err(|e| {
                CmdError::bad_input(format!(
                    "the previous version `{}` is not valid: {e}",
                    prev_path.display()
                ))
            })?;
            parsed.verify_successor(&prev)
        }
        None => parsed.verify(),
    }
    .map_err(|e| CmdError::failed(format!("invalid ({}): {e}", e.code())))?;
    let d = verified.directory();
    // one maintainer may sign with two keys (the outgoing and the new one)
    let mut signers: Vec<String> = d
        .signatures
        .iter()
        .map(|s| s.authority.to_string())
        .collect();
    signers.dedup();
    out(&format!(
        "valid: network {} version {} issued {}, {} authorities, signed by {}; hash {}\n",
        d.network,
        version,
        d.issued,
        d.authorities.len(),
        signers.join(", "),
        verified.hash()
    ));
    if previous.is_none() && version > 1 {
        eprintln!(
            "note: continuity with version {} was not checked (pass --previous FILE)",
            version - 1
        );
    }
    Ok(())
}
