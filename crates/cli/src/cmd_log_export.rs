//! `comity log export --node DIR --to OUT`: a node's transparency log as static files in the
//! C2SP tlog-tiles layout — `OUT/checkpoint`, `OUT/tile/<L>/<N>[.p/<W>]`,
//! `OUT/tile/entries/<N>[.p/<W>]` — and the log's key in `OUT/vkey`, ready to be served by any
//! web server or checked offline with `comity log verify OUT --vkey @OUT/vkey`.
//!
//! The export is of one signed checkpoint: the node signs a new one first if its log grew
//! (so a node run only through the CLI exports everything), then every tile and bundle of that
//! checkpoint's tree is written, and the checkpoint last, so that a reader of a half-written
//! export finds either the old checkpoint (whose tiles are all still there: tiles never
//! change) or the new one with its tiles complete.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_store::Store;
use comity_tlog::{Checkpoint, Note, tile::tiles_between};
use serde_json::json;

use crate::cmd_node::{CliNode, Failure, NodeArgs, NodeHandle, finish, print_json};
use crate::cmd_support::{out, write_atomically};

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// The directory to write (created if missing; files of an earlier export are replaced).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub origin: String,
    pub size: u64,
    pub files: usize,
}

pub fn run(args: ExportArgs) -> ExitCode {
    let json = args.node.json;
    let result = (|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
        runtime.block_on(async {
            let h = NodeHandle::open(&args.node).await?;
            let e = export(&h.node, &args.node.node, &args.to).await?;
            if h.json {
                print_json(&json!({
                    "origin": e.origin, "size": e.size, "files": e.files,
                    "to": args.to.display().to_string(),
                }));
            } else {
                out(&format!(
                    "exported {} entries of `{}` ({} files) to {}\ncheck it with: comity log verify {} --vkey @{}",
                    e.size,
                    e.origin,
                    e.files,
                    args.to.display(),
                    args.to.display(),
                    args.to.join("vkey").display()
                ));
            }
            Ok(())
        })
    })();
    finish(json, result)
}

/// Signs a checkpoint if the log grew, then writes the log of that checkpoint to `to`.
/// `node_dir` holds the node's `log.vkey`.
pub async fn export(node: &CliNode, node_dir: &Path, to: &Path) -> Result<Exported, Failure> {
    if node.log_vkey().is_none() {
        return Err(Failure::bad_input(format!(
            "the node in `{}` has no log key (`keys/log.key`); make it with `comity init`",
            node_dir.display()
        )));
    }
    let note = node.checkpoint().await?;
    let parsed = Note::parse(note.as_bytes())
        .map_err(|e| Failure::failed(format!("the node's checkpoint is not a note: {e}")))?;
    let cp = Checkpoint::parse(parsed.text())
        .map_err(|e| Failure::failed(format!("the node's checkpoint does not parse: {e}")))?;
    let vkey = std::fs::read_to_string(node_dir.join("log.vkey")).map_err(|e| {
        Failure::bad_input(format!(
            "cannot read `{}`: {e}",
            node_dir.join("log.vkey").display()
        ))
    })?;
    // Tiles are read for the store's current tree, which may have grown since the checkpoint;
    // a tile's bytes do not depend on that (a partial tile's width is in its path), so these
    // are exactly the checkpoint's tiles.
    let size = node.store().log_head().await.map_err(store)?.size;
    let mut files = 0;
    for path in tiles_between(0, cp.size()) {
        let bytes = node
            .store()
            .log_tile(size, path)
            .await
            .map_err(store)?
            .ok_or_else(|| {
                Failure::failed(format!("the node's log has no `{path}` for its checkpoint"))
            })?;
        write(to, &path.to_string(), &bytes)?;
        files += 1;
    }
    write(to, "vkey", vkey.as_bytes())?;
    write(to, "checkpoint", note.as_bytes())?;
    Ok(Exported {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        files: files + 2,
    })
}

fn store(e: comity_store::StoreError) -> Failure {
    Failure::failed(format!("reading the log: {e}"))
}

/// Writes `to/relative` (a path the tlog-tiles layout names: no `..`, no absolute path).
fn write(to: &Path, relative: &str, bytes: &[u8]) -> Result<(), Failure> {
    let path = to.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failure::failed(format!("cannot create `{}`: {e}", parent.display())))?;
    }
    write_atomically(&path, bytes).map_err(Failure::from)
}
