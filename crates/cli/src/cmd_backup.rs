//! `comity backup` and `comity restore`: a node's database in one portable file
//! (`comity.backup/1`, `comity_store::backup`), taken from a consistent snapshot while the node
//! runs, checked offline (`comity backup --verify`), and restored into an empty database of
//! either backend, checked before anything is written. The node's keys are files of the node
//! directory and are not in a backup (docs/deployment.md, "Backups").

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_store::backup::{self, BackupError, Manifest};
use comity_store::{AnyStore, Database};
use comity_tlog::VerifierKey;
use serde_json::json;

use crate::cmd_log::read_vkey;
use crate::cmd_node::{Failure, database_of, ms_text, print_json, run_async};
use crate::cmd_support::{NodeDir, out};
use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The node directory: its database is `DIR/node.db` unless --database-url names another,
    /// and its `log.vkey` checks the signed checkpoint.
    #[arg(long, value_name = "DIR")]
    node: Option<PathBuf>,
    /// The database: `sqlite://PATH` or `postgres://USER@HOST/DATABASE[?schema=NAME]`.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Write the backup to FILE (refused if FILE exists; readable by its owner only).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "verify",
        conflicts_with = "verify"
    )]
    to: Option<PathBuf>,
    /// Check the backup FILE offline instead (checksum, rows, the log against its checkpoint):
    /// exit 0 if it is good, 1 if not.
    #[arg(long, value_name = "FILE")]
    verify: Option<PathBuf>,
    /// The log's verifier key (a vkey, or `@FILE`) that must have signed the checkpoint;
    /// default `DIR/log.vkey` with --node.
    #[arg(long, value_name = "VKEY")]
    vkey: Option<String>,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup file (made by `comity backup`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The node directory to restore into: its database is `DIR/node.db` unless
    /// --database-url names another; its `log.vkey` checks the backup's checkpoint.
    #[arg(long, value_name = "DIR", required_unless_present = "database_url")]
    node: Option<PathBuf>,
    /// The database to restore into, which must be empty: `sqlite://PATH` or
    /// `postgres://USER@HOST/DATABASE[?schema=NAME]`.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The log's verifier key (a vkey, or `@FILE`) that must have signed the checkpoint;
    /// default `DIR/log.vkey` with --node.
    #[arg(long, value_name = "VKEY")]
    vkey: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// The log key to check the checkpoint with: `--vkey`, else the node directory's `log.vkey`
/// if it has one. Says where it came from.
fn log_vkey(
    flag: Option<&str>,
    node: Option<&Path>,
) -> Result<Option<(VerifierKey, String)>, Failure> {
    if let Some(text) = flag {
        return Ok(Some((read_vkey("--vkey", text)?, "--vkey".to_owned())));
    }
    let Some(dir) = node else { return Ok(None) };
    let path = NodeDir::new(dir).log_vkey_path();
    if !path.exists() {
        return Ok(None);
    }
    let text = format!("@{}", path.display());
    Ok(Some((
        read_vkey("the node's log.vkey", &text)?,
        path.display().to_string(),
    )))
}

fn failure(e: BackupError) -> Failure {
    let (exit, code) = match &e {
        BackupError::Io(_) => (EXIT_BAD_INPUT, "bad_input"),
        BackupError::Malformed { .. } | BackupError::Mismatch { .. } => (EXIT_FAILED, "bad_backup"),
        BackupError::NotEmpty(_) => (EXIT_FAILED, "not_empty"),
        BackupError::Store(_) => (EXIT_FAILED, "store"),
    };
    Failure {
        exit,
        code: code.to_owned(),
        message: e.to_string(),
    }
}

fn now_ms() -> Result<i64, Failure> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::failed("the system clock is before 1970"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| Failure::failed("the system clock is out of range"))
}

/// The manifest in lines a person reads.
fn describe(m: &Manifest) -> String {
    let mut text = format!(
        "  format {}, taken {} from {} at schema version {}\n",
        m.format,
        ms_text(m.created_at),
        m.backend,
        m.schema_version
    );
    text.push_str(&format!(
        "  log: {} entries, root {}",
        m.log.size, m.log.root
    ));
    match m.log.checkpoint_size {
        Some(size) => text.push_str(&format!("; signed checkpoint of size {size}\n")),
        None => text.push_str("; no signed checkpoint\n"),
    }
    let rows: Vec<String> = backup::TABLES
        .iter()
        .map(|t| format!("{t} {}", m.rows.get(*t).copied().unwrap_or(0)))
        .collect();
    text.push_str(&format!("  rows: {}\n", rows.join(", ")));
    text.push_str(&format!("  sha256 {}\n", m.sha256));
    text
}

fn signature_line(vkey: Option<&(VerifierKey, String)>, m: &Manifest) -> String {
    match (vkey, m.log.checkpoint_size) {
        (_, None) => "  checkpoint signature: no checkpoint to check\n".to_owned(),
        (Some((key, from)), Some(_)) => format!(
            "  checkpoint signature: verified with log key `{}` ({from})\n",
            key.name()
        ),
        (None, Some(_)) => {
            "  checkpoint signature: NOT checked (give --vkey or --node)\n".to_owned()
        }
    }
}

pub fn run_backup(args: BackupArgs) -> ExitCode {
    let json = args.json;
    run_async(json, async move {
        let vkey = log_vkey(args.vkey.as_deref(), args.node.as_deref())?;
        if let Some(file) = &args.verify {
            let manifest = backup::verify(file, vkey.as_ref().map(|(k, _)| k)).map_err(failure)?;
            if json {
                print_json(&json!({
                    "file": file.display().to_string(),
                    "good": true,
                    "signature_checked": vkey.is_some() && manifest.log.checkpoint.is_some(),
                    "manifest": manifest,
                }));
            } else {
                out(&format!(
                    "{}: a good backup\n{}{}",
                    file.display(),
                    describe(&manifest),
                    signature_line(vkey.as_ref(), &manifest)
                ));
            }
            return Ok(());
        }
        let Some(to) = &args.to else {
            return Err(Failure::bad_input("give --to FILE, or --verify FILE"));
        };
        if args.node.is_none() && args.database_url.is_none() {
            return Err(Failure::bad_input(
                "which node? give --node DIR or --database-url URL",
            ));
        }
        let dir = args.node.clone().unwrap_or_default();
        let database = database_of(&dir, args.database_url.as_deref())?;
        if let Database::Sqlite(path) = &database
            && !path.exists()
        {
            return Err(Failure::bad_input(format!(
                "{} does not exist: nothing to back up",
                path.display()
            )));
        }
        let store = AnyStore::open_database(&database)
            .await
            .map_err(|e| Failure::failed(format!("cannot open {}: {e}", database.display())))?;
        let result = write(&store, to, vkey.as_ref()).await;
        store.close().await;
        let manifest = result?;
        if json {
            print_json(&json!({
                "file": to.display().to_string(),
                "database": database.display(),
                "manifest": manifest,
            }));
        } else {
            out(&format!(
                "backup of {} written to {}\n{}{}",
                database.display(),
                to.display(),
                describe(&manifest),
                signature_line(vkey.as_ref(), &manifest)
            ));
        }
        Ok(())
    })
}

/// Writes the backup beside `to` (mode 0600), syncs it, checks it as a restore would, and
/// only then gives it its name, never replacing a file.
async fn write(
    store: &AnyStore,
    to: &Path,
    vkey: Option<&(VerifierKey, String)>,
) -> Result<Manifest, Failure> {
    if to.exists() {
        return Err(Failure::bad_input(format!(
            "`{}` exists: a backup never replaces a file",
            to.display()
        )));
    }
    let mut name = to.as_os_str().to_owned();
    name.push(".partial");
    let partial = PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options
        .open(&partial)
        .map_err(|e| Failure::bad_input(format!("cannot create `{}`: {e}", partial.display())))?;
    let result = write_partial(store, file, &partial, to, vkey).await;
    let _ = std::fs::remove_file(&partial);
    if result.is_ok()
        && let Some(dir) = to.parent()
        && let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        // The new name durable too.
        let _ = d.sync_all();
    }
    result
}

async fn write_partial(
    store: &AnyStore,
    file: std::fs::File,
    partial: &Path,
    to: &Path,
    vkey: Option<&(VerifierKey, String)>,
) -> Result<Manifest, Failure> {
    let (out, manifest) = backup::backup(store, std::io::BufWriter::new(file), now_ms()?)
        .await
        .map_err(failure)?;
    let file = out
        .into_inner()
        .map_err(|e| Failure::failed(format!("writing `{}`: {e}", partial.display())))?;
    file.sync_all()
        .map_err(|e| Failure::failed(format!("syncing `{}`: {e}", partial.display())))?;
    // The file as written must read back as the same backup.
    let read = backup::verify(partial, vkey.map(|(k, _)| k)).map_err(failure)?;
    if read != manifest {
        return Err(Failure::failed(format!(
            "`{}` does not read back as written",
            partial.display()
        )));
    }
    // A hard link fails if `to` exists meanwhile: never a file replaced.
    std::fs::hard_link(partial, to)
        .map_err(|e| Failure::failed(format!("cannot name the backup `{}`: {e}", to.display())))?;
    Ok(manifest)
}

pub fn run_restore(args: RestoreArgs) -> ExitCode {
    let json = args.json;
    run_async(json, async move {
        let vkey = log_vkey(args.vkey.as_deref(), args.node.as_deref())?;
        let dir = args.node.clone().unwrap_or_default();
        if args.database_url.is_none() && !dir.is_dir() {
            return Err(Failure::bad_input(format!(
                "`{}` is not a node directory: make it first (copy the node's keys and \
                 configuration into it; a backup does not hold them)",
                dir.display()
            )));
        }
        let database = database_of(&dir, args.database_url.as_deref())?;
        let restored = backup::restore(&database, &args.file, vkey.as_ref().map(|(k, _)| k))
            .await
            .map_err(failure)?;
        let m = &restored.manifest;
        if json {
            print_json(&json!({
                "file": args.file.display().to_string(),
                "database": database.display(),
                "backend": restored.backend,
                "schema_version": restored.schema_version,
                "signature_checked": vkey.is_some() && m.log.checkpoint.is_some(),
                "manifest": m,
            }));
        } else {
            let mut text = format!(
                "restored {} into {} ({}, schema version {})\n{}{}",
                args.file.display(),
                database.display(),
                restored.backend,
                restored.schema_version,
                describe(m),
                signature_line(vkey.as_ref(), m)
            );
            text.push_str(
                "  sessions are not restored: officers log in again. Start the node only if its \
                 log is at least as long as the last checkpoint it published.\n",
            );
            out(&text);
        }
        Ok(())
    })
}
