//! `comity outbox` and `comity inbox`: a file-based transport between nodes until the network
//! exists.
//!
//! `outbox` writes each due envelope to `OUT/<envelope id>.json` (atomically: a hidden temporary
//! file, synced, then renamed) and only then marks it delivered. A crash between the two can
//! only write the same envelope again, never lose one; the receiver's exactly-once record
//! answers the repeat with the stored result. `inbox` hands each envelope file to the node.
//!
//! Files are taken in name order, that is by envelope id, whose time part is the second the
//! envelope was made in: messages of one case made within the same second may be applied in
//! either order. What the node cannot apply yet (a result before its decision) it does not
//! record, and `inbox` tries it again after the others.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_node::NodeError;
use serde_json::json;

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, print_json_line, run_async};
use crate::cmd_support::out;

#[derive(clap::Args, Debug)]
pub struct OutboxArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The directory to write envelopes to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct InboxArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Envelope files, or directories of them (`*.json`, taken in name order).
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    paths: Vec<PathBuf>,
}

pub fn run_outbox(args: OutboxArgs) -> ExitCode {
    run_async(args.node.json, async move {
        let h = NodeHandle::open(&args.node).await?;
        outbox(&h, &args.out).await
    })
}

pub fn run_inbox(args: InboxArgs) -> ExitCode {
    run_async(args.node.json, async move {
        let h = NodeHandle::open(&args.node).await?;
        inbox(&h, &args.paths).await
    })
}

async fn outbox(h: &NodeHandle, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::failed(format!("cannot create `{}`: {e}", dir.display())))?;
    let mut seen = HashSet::new();
    let mut written = 0usize;
    loop {
        let batch = h.node.outbox_due(100).await?;
        if batch.is_empty() {
            break;
        }
        for msg in batch {
            if !seen.insert(msg.id.clone()) {
                return Err(Failure::failed(format!(
                    "message `{}` is still due after it was marked delivered",
                    msg.id
                )));
            }
            let path = dir.join(format!("{}.json", msg.id));
            write_durably(&path, &msg.bytes)?;
            // Written first, marked second: a crash in between repeats, never loses.
            h.node.mark_delivered(&msg.id).await?;
            written += 1;
            if h.json {
                print_json_line(&json!({
                    "envelope": msg.id,
                    "kind": msg.kind,
                    "to": msg.to,
                    "case": msg.case_id,
                    "file": path,
                }));
            } else {
                out(&format!(
                    "wrote {}  {} to {}\n",
                    path.display(),
                    msg.kind,
                    msg.to
                ));
            }
        }
    }
    if written == 0 && !h.json {
        out("nothing to send\n");
    }
    Ok(())
}

/// Writes `path` so that it exists whole or not at all, and survives a crash once this returns;
/// only its owner can read it (mode 0600: exported evidence, envelopes).
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail =
        |e: std::io::Error| Failure::failed(format!("cannot write `{}`: {e}", path.display()));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(fail)?;
    // The rename itself must reach the disk before the message is marked delivered.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(fail)?;
    Ok(())
}

/// The envelope files named by the arguments: files as given, directories' `*.json` files in
/// name order (hidden and temporary files skipped).
fn envelope_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Failure::bad_input(format!("cannot read `{}`: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().is_some_and(|x| x == "json")
                        && !f
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

async fn inbox(h: &NodeHandle, paths: &[PathBuf]) -> Result<(), Failure> {
    let mut pending = envelope_files(paths)?;
    let mut refused = 0usize;
    // Messages that arrive before their case is ready for them (a reply before its request)
    // are not recorded by the node; they are tried again after the others, while that helps.
    loop {
        let mut later = Vec::new();
        let mut progress = false;
        for path in std::mem::take(&mut pending) {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    refused += 1;
                    report(
                        h,
                        "refused",
                        &path,
                        None,
                        None,
                        Some(("unreadable", &e.to_string())),
                    );
                    continue;
                }
            };
            match h.node.receive(&bytes).await {
                Ok(receipt) => {
                    progress = true;
                    let error = receipt
                        .result
                        .get("error")
                        .and_then(|c| c.as_str())
                        .map(|c| {
                            let m = receipt
                                .result
                                .get("message")
                                .and_then(|m| m.as_str())
                                .unwrap_or("");
                            (c.to_owned(), m.to_owned())
                        });
                    let status = match (&error, receipt.repeated) {
                        (Some(_), _) => {
                            refused += 1;
                            "refused"
                        }
                        (None, true) => "repeated",
                        (None, false) => "accepted",
                    };
                    report(
                        h,
                        status,
                        &path,
                        Some(&receipt.envelope),
                        receipt.case.as_deref(),
                        error.as_ref().map(|(c, m)| (c.as_str(), m.as_str())),
                    );
                }
                Err(
                    e @ (NodeError::UnknownCase(_)
                    | NodeError::UnknownTeam(_)
                    | NodeError::IllegalTransition { .. }),
                ) => {
                    later.push((path, e));
                }
                Err(e) if e.is_bad_input() => {
                    refused += 1;
                    report(
                        h,
                        "refused",
                        &path,
                        None,
                        None,
                        Some((e.code(), &e.to_string())),
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Each round that retries has accepted something, so the rounds end.
        if later.is_empty() || !progress {
            for (path, e) in later {
                refused += 1;
                report(
                    h,
                    "refused",
                    &path,
                    None,
                    None,
                    Some((e.code(), &e.to_string())),
                );
            }
            break;
        }
        pending = later.into_iter().map(|(p, _)| p).collect();
    }
    if refused > 0 {
        return Err(Failure::bad_input(format!("{refused} envelopes refused")));
    }
    Ok(())
}

fn report(
    h: &NodeHandle,
    status: &str,
    file: &Path,
    envelope: Option<&str>,
    case: Option<&str>,
    error: Option<(&str, &str)>,
) {
    if h.json {
        print_json_line(&json!({
            "status": status,
            "file": file,
            "envelope": envelope,
            "case": case,
            "error": error.map(|(code, message)| json!({"code": code, "message": message})),
        }));
        return;
    }
    let mut line = format!(
        "{status:<8} {}",
        envelope.map_or_else(|| file.display().to_string(), str::to_owned)
    );
    if let Some(c) = case {
        line.push_str(&format!("  case {c}"));
    }
    if let Some((code, message)) = error {
        line.push_str(&format!("  {code}: {message}"));
    }
    line.push('\n');
    out(&line);
}
