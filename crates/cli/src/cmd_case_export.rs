//! `comity case export` and `comity case verify-bundle` (docs/interop.md): the T-CY
//! preservation request form of a case (HTML, or JSON with `--json`), the portable signed
//! bundle of a case, and the offline check of a bundle with nothing but the file and a trust
//! anchor (a trusted directory file or the node's signing key id).

use std::path::{Path, PathBuf};

use comity_bundle::{BundleError, Trust};
use comity_protocol::Directory;

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, print_json, to_json};
use crate::cmd_support::{out, read_file, write_atomically};
use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

/// What `comity case export` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// The Council of Europe T-CY preservation request form (T-CY(2018)11), Articles 29 and
    /// 30 of the Budapest Convention: a printable HTML document, or JSON with --json.
    Tcy,
    /// The portable signed bundle `comity.bundle/1`.
    Bundle,
}

fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(p) => write_atomically(p, bytes).map_err(Failure::from),
        None => {
            out(&String::from_utf8_lossy(bytes));
            Ok(())
        }
    }
}

/// `comity case export CASE --format tcy|bundle [--out FILE] [--lang en|fr] [--json]`.
pub async fn export(
    node: NodeArgs,
    case: String,
    format: ExportFormat,
    out_file: Option<PathBuf>,
    lang: String,
) -> Result<(), Failure> {
    if !matches!(lang.as_str(), "en" | "fr") {
        return Err(Failure::bad_input(format!(
            "--lang must be `en` or `fr`, not `{lang}`"
        )));
    }
    let h = NodeHandle::open(&node).await?;
    match format {
        ExportFormat::Tcy => {
            let form = h.node.export_tcy(h.officer()?, &case).await?;
            if h.json {
                let value = to_json(&form)?;
                match out_file {
                    Some(p) => {
                        let mut bytes = serde_json::to_vec_pretty(&value)
                            .map_err(|e| Failure::failed(e.to_string()))?;
                        bytes.push(b'\n');
                        write_out(Some(&p), &bytes)?;
                    }
                    None => print_json(&value),
                }
            } else {
                let html = comity_web::ui::export::tcy_document(
                    &form,
                    comity_web::i18n::export_text(&lang),
                    comity_web::i18n::messages(&lang).skip,
                    false,
                );
                write_out(out_file.as_deref(), html.as_bytes())?;
            }
        }
        ExportFormat::Bundle => {
            let bytes = h.node.export_bundle(h.officer()?, &case).await?;
            write_out(out_file.as_deref(), &bytes)?;
            if let Some(p) = &out_file {
                eprintln!(
                    "wrote the signed bundle of case `{case}` to {} ({} bytes, SHA-256 {})",
                    p.display(),
                    bytes.len(),
                    comity_crypto::Sha256Digest::of(&bytes)
                );
            }
        }
    }
    Ok(())
}

/// `comity case verify-bundle FILE (--directory TRUSTED.json | --pin KEY-FINGERPRINT)`:
/// offline, no node, no network. Exit 0 when every check passes, 1 naming every failure, 2
/// when the file or the trust anchor cannot be read.
pub fn verify_bundle(
    file: &Path,
    directory: Option<&Path>,
    pin: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let trust = match (directory, pin) {
        (Some(path), None) => {
            let bytes = read_file(path, "the trusted directory")?;
            let dir = Directory::from_bytes(&bytes)
                .and_then(Directory::verify)
                .map_err(|e| {
                    Failure::bad_input(format!(
                        "the trusted directory `{}` does not verify: {e}",
                        path.display()
                    ))
                })?;
            Trust::Directory(Box::new(dir))
        }
        (None, Some(pin)) => Trust::Pin(pin.trim().parse().map_err(|e| {
            Failure::bad_input(format!(
                "--pin must be a signing key id (32 hex digits, as `comity init` prints it): {e}"
            ))
        })?),
        _ => {
            return Err(Failure::bad_input(
                "give exactly one of --directory TRUSTED.json and --pin KEY-FINGERPRINT",
            ));
        }
    };
    let bytes = read_file(file, "the bundle")?;
    match comity_bundle::verify(&bytes, &trust) {
        Ok(summary) => {
            if json {
                print_json(&serde_json::json!({"verified": true, "bundle": to_json(&summary)?}));
            } else {
                out(&format!(
                    "bundle of case `{}` from `{}` ({}) verifies: signed by key {}; directory version {}; {} events; {} envelopes sent (signatures verified), {} received (recorded by hash); {} items (hashes and custody); {} log leaves proved to the checkpoint of size {} (root {}){}\n",
                    summary.case,
                    summary.node,
                    summary.network,
                    summary.signer,
                    summary.directory_version,
                    summary.events,
                    summary.envelopes_sent,
                    summary.envelopes_received,
                    summary.items,
                    summary.leaves,
                    summary.checkpoint_size,
                    summary.checkpoint_root,
                    if summary.cosigners.is_empty() {
                        ", no cosignature".to_owned()
                    } else {
                        format!(", cosigned by {}", summary.cosigners.join(", "))
                    }
                ));
            }
            Ok(())
        }
        Err(e) => {
            if json && let BundleError::Failed(failures) = &e {
                let list: Vec<_> = failures
                    .iter()
                    .map(|f| serde_json::json!({"part": f.part, "message": f.message}))
                    .collect();
                print_json(&serde_json::json!({"verified": false, "failures": list}));
            }
            Err(Failure {
                exit: match e {
                    BundleError::Build(_) => EXIT_BAD_INPUT,
                    _ => EXIT_FAILED,
                },
                code: "bundle_invalid".into(),
                message: e.to_string(),
            })
        }
    }
}
