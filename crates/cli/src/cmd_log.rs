//! `comity log verify`: audits a published transparency log as an outsider sees it, and the
//! verification that `comity report` runs before it counts anything.
//!
//! The log is read from a directory in the C2SP tlog-tiles layout or from an HTTP(S) URL
//! prefix serving it (`log_source`), and checked with comity_tlog's auditor: the checkpoint's
//! signature by the log's key, every hash tile against the tiles above it and the checkpoint's
//! root, every entry bundle against its level-0 tile, and with `--since` that the log extends an
//! earlier checkpoint. Entries may be any bytes (a log written by another implementation
//! verifies); `--leaves` also requires each to be a `comity.leaf/1` leaf.
//!
//! Exit codes: 0 the log verifies; 1 a fault of the log (named: which tile, bundle, entry or
//! signature); 2 bad arguments (a key that does not parse, an unreadable `--since` file) or a
//! source that cannot be read at all (no such directory, no checkpoint, network failure).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use comity_tlog::audit::audit_with;
use comity_tlog::cosignature::verify_cosignature;
use comity_tlog::tile::{TILE_WIDTH, TileKind, TilePath, parse_entry_bundle};
use comity_tlog::{
    AuditOptions, AuditProgress, AuditReport, AuditStage, Error as LogError, KeyType, Note,
    SourceError, TileSource, VerifierKey, open_checkpoint,
};
use comity_transparency::{Report, ReportBuilder, ReportError};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cmd_node::{Failure, finish, print_json};
use crate::cmd_support::out;
use crate::log_source::{FetchError, FetchKind, LogSource};
use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

#[derive(clap::Subcommand, Debug)]
pub enum LogCommand {
    /// Audit a published log: checkpoint signature, every tile, every entry bundle, and
    /// consistency with an earlier checkpoint.
    ///
    /// Exit 0 when everything verifies (a summary is printed), 1 on any fault of the log (named:
    /// which tile, bundle, entry or signature), 2 on bad arguments or a source that cannot be
    /// read.
    Verify(VerifyArgs),
    /// Write a node's log as static files in the C2SP tlog-tiles layout into the `--to`
    /// directory, with the log's key in its file `vkey` (signing a new checkpoint first if the
    /// log grew).
    Export(crate::cmd_log_export::ExportArgs),
}

/// Which log, which keys: what `log verify` and `report` share.
#[derive(clap::Args, Debug, Clone)]
pub struct SourceArgs {
    /// The log: a directory in the C2SP tlog-tiles layout (`checkpoint`, `tile/...`), or an
    /// http:// or https:// URL prefix serving it.
    #[arg(value_name = "URL-OR-DIR")]
    pub log: String,
    /// The log's key: a C2SP vkey (`name+keyid+base64`), or `@FILE` for a file holding one.
    #[arg(long, value_name = "VKEY")]
    pub vkey: String,
    /// A witness key (a cosignature/v1 vkey, or `@FILE`): say whether it cosigned the
    /// checkpoint. Repeatable. A cosignature by it that does not verify is a fault.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// An earlier signed checkpoint of this log (a file): check that the log extends it.
    #[arg(long, value_name = "CHECKPOINT_FILE")]
    pub since: Option<PathBuf>,
    /// No progress bar (it is drawn only when standard error is a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Also check that every entry is a `comity.leaf/1` leaf (naming the first that is not).
    #[arg(long)]
    pub leaves: bool,
    /// Print the summary, or the error, as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: LogCommand) -> ExitCode {
    match cmd {
        LogCommand::Verify(args) => finish(args.json, verify_command(&args)),
        LogCommand::Export(args) => crate::cmd_log_export::run(args),
    }
}

fn verify_command(args: &VerifyArgs) -> Result<(), Failure> {
    let verified = verify(&args.source, args.leaves)?;
    if let Some(Err(e)) = &verified.report {
        return Err(not_a_leaf(e));
    }
    if args.json {
        print_json(&verified.to_json(args.leaves));
    } else {
        out(&verified.summary(args.leaves));
    }
    Ok(())
}

/// An entry that is not a `comity.leaf/1` leaf, where one is required.
pub fn not_a_leaf(e: &ReportError) -> Failure {
    Failure {
        exit: EXIT_FAILED,
        code: "not_a_leaf".into(),
        message: format!("entry {} is not a comity.leaf/1 leaf: {}", e.index, e.error),
    }
}

/// Whether a witness cosigned the verified checkpoint.
#[derive(Debug, Clone)]
pub struct Cosigner {
    pub key: VerifierKey,
    /// The cosignature's time (Unix seconds), if there is one.
    pub timestamp: Option<u64>,
}

/// A log that verified, and what was read to verify it.
#[derive(Debug)]
pub struct Verified {
    pub audit: AuditReport,
    pub log_key: VerifierKey,
    /// Each `--witness`, in the order given.
    pub cosigners: Vec<Cosigner>,
    /// Signature lines by keys neither of the log nor a given witness: `(name, key id)`.
    pub unknown_signatures: Vec<(String, u32)>,
    pub resources: u64,
    pub bytes: u64,
    /// With leaves counted: the report of the entries in log order, or the first that is not a
    /// leaf.
    pub report: Option<Result<Report, ReportError>>,
}

impl Verified {
    /// The names of the witnesses whose cosignatures verified.
    pub fn cosigned_by(&self) -> Vec<String> {
        self.cosigners
            .iter()
            .filter(|c| c.timestamp.is_some())
            .map(|c| c.key.name().to_owned())
            .collect()
    }

    fn summary(&self, leaves: bool) -> String {
        let c = &self.audit.checkpoint;
        let mut s = format!(
            "verified: {}\n  size         {}\n  root         {}\n",
            c.origin(),
            c.size(),
            c.root()
        );
        if let Some(old) = self.audit.since {
            s.push_str(&format!(
                "  since        consistent with the checkpoint of size {old}\n"
            ));
        }
        s.push_str(&format!(
            "  read         {} hash tiles, {} entry bundles ({} entries hashed), {} resources, {} bytes\n",
            self.audit.hash_tiles,
            self.audit.entry_bundles,
            self.audit.entries,
            self.resources,
            self.bytes
        ));
        if leaves {
            s.push_str("  leaves       every entry is a comity.leaf/1 leaf\n");
        }
        s.push_str(&format!(
            "  signed by    {} (key id {:08x})\n",
            self.log_key.name(),
            self.log_key.key_id()
        ));
        for w in &self.cosigners {
            match w.timestamp {
                Some(t) => s.push_str(&format!("  cosigned by  {} at {}\n", w.key.name(), time(t))),
                None => s.push_str(&format!("  no cosignature by {}\n", w.key.name())),
            }
        }
        if !self.unknown_signatures.is_empty() {
            let names: Vec<String> = self
                .unknown_signatures
                .iter()
                .map(|(n, id)| format!("{n} ({id:08x})"))
                .collect();
            s.push_str(&format!(
                "  other signatures, not checked (give --witness to check them): {}\n",
                names.join(", ")
            ));
        }
        s
    }

    fn to_json(&self, leaves: bool) -> serde_json::Value {
        let c = &self.audit.checkpoint;
        json!({
            "origin": c.origin(),
            "size": c.size(),
            "root": c.root().to_base64(),
            "since": self.audit.since,
            "hash_tiles": self.audit.hash_tiles,
            "entry_bundles": self.audit.entry_bundles,
            "entries": self.audit.entries,
            "resources_read": self.resources,
            "bytes_read": self.bytes,
            "leaves_checked": leaves,
            "log_key": self.log_key.to_string(),
            "cosignatures": self.cosigners.iter().map(|w| json!({
                "witness": w.key.name(),
                "key_id": format!("{:08x}", w.key.key_id()),
                "cosigned": w.timestamp.is_some(),
                "timestamp": w.timestamp,
                "time": w.timestamp.map(time),
            })).collect::<Vec<_>>(),
            "unknown_signatures": self.unknown_signatures.iter().map(|(n, id)| json!({
                "name": n,
                "key_id": format!("{id:08x}"),
            })).collect::<Vec<_>>(),
        })
    }
}

/// A cosignature time in RFC 3339, or the number when it is out of jiff's range.
fn time(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| format!("{seconds} (Unix seconds)"), |t| t.to_string())
}

/// A vkey given on the command line: the key itself, or `@FILE`.
pub(crate) fn read_vkey(flag: &str, text: &str) -> Result<VerifierKey, Failure> {
    let (key, from) = match text.strip_prefix('@') {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::bad_input(format!("{flag} @{path}: {e}")))?;
            let key = String::from_utf8(bytes)
                .map_err(|_| Failure::bad_input(format!("{flag} @{path}: not UTF-8 text")))?;
            (key.trim().to_owned(), format!(" (from `{path}`)"))
        }
        None => (text.trim().to_owned(), String::new()),
    };
    VerifierKey::parse(&key).map_err(|e| Failure::bad_input(format!("{flag}{from}: {e}")))
}

/// Opens the source and audits the log; with `leaves`, also counts every entry as a
/// `comity.leaf/1` leaf, in log order, into a report.
pub fn verify(args: &SourceArgs, leaves: bool) -> Result<Verified, Failure> {
    let log_key = read_vkey("--vkey", &args.vkey)?;
    if log_key.key_type() != KeyType::Ed25519 {
        return Err(Failure::bad_input(format!(
            "--vkey `{log_key}` is not an Ed25519 (type 0x01) key: a log signs its checkpoints with one"
        )));
    }
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            let key = read_vkey("--witness", w)?;
            if key.key_type() == KeyType::CosignatureV1 {
                Ok(key)
            } else {
                Err(Failure::bad_input(format!(
                    "--witness `{key}` is not a cosignature/v1 (type 0x04) key"
                )))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let since = match &args.since {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::bad_input(format!("--since `{}`: {e}", path.display())))?;
            // Checked here first, so that a bad file is bad input, not a fault of the log.
            open_checkpoint(&bytes, std::slice::from_ref(&log_key)).map_err(|e| {
                Failure::bad_input(format!(
                    "--since `{}` is not a checkpoint signed by the log's key: {e}",
                    path.display()
                ))
            })?;
            Some(bytes)
        }
    };
    let source = LogSource::open(&args.log).map_err(unreadable)?;
    let recorder = Recorder::new(&source, leaves);
    let bar = progress_bar(args.quiet);
    let shown = Mutex::new((AuditStage::LeafTiles, 0u64));
    let options = AuditOptions {
        threads: source.threads(),
        entries: true,
    };
    let result = audit_with(
        &recorder,
        std::slice::from_ref(&log_key),
        since.as_deref(),
        &options,
        |p: AuditProgress| show(&bar, &shown, p),
    );
    bar.finish_and_clear();
    let audit = result.map_err(|e| audit_failure(&source, &recorder, e))?;

    let checkpoint = recorder
        .checkpoint
        .lock()
        .ok()
        .and_then(|mut c| c.take())
        .ok_or_else(|| Failure::failed("the audit passed without reading a checkpoint"))?;
    let note = Note::parse(&checkpoint)
        .map_err(|e| Failure::failed(format!("the verified checkpoint does not parse: {e}")))?;
    let mut cosigners = Vec::with_capacity(witnesses.len());
    for key in witnesses {
        let timestamp = match verify_cosignature(&note, &key) {
            Ok(t) => Some(t),
            Err(LogError::NoCosignature { .. }) => None,
            Err(e) => {
                return Err(fault(format!(
                    "the checkpoint's cosignature by witness `{}`: {e}",
                    key.name()
                )));
            }
        };
        cosigners.push(Cosigner { key, timestamp });
    }
    let unknown_signatures = note
        .signatures()
        .iter()
        .filter(|s| {
            let by = |k: &VerifierKey| s.name() == k.name() && s.key_id() == k.key_id();
            !by(&log_key) && !cosigners.iter().any(|w| by(&w.key))
        })
        .map(|s| (s.name().to_owned(), s.key_id()))
        .collect();
    let report = recorder
        .leaves
        .map(|feed| {
            let feed = feed.into_inner().unwrap_or_else(|e| e.into_inner());
            feed.finish(audit.checkpoint.size())
        })
        .transpose()?;
    Ok(Verified {
        audit,
        log_key,
        cosigners,
        unknown_signatures,
        resources: recorder.resources.load(Ordering::Relaxed),
        bytes: recorder.bytes.load(Ordering::Relaxed),
        report,
    })
}

fn fault(message: String) -> Failure {
    Failure {
        exit: EXIT_FAILED,
        code: "log_fault".into(),
        message,
    }
}

fn unreadable(e: FetchError) -> Failure {
    Failure {
        exit: EXIT_BAD_INPUT,
        code: "unreadable_source".into(),
        message: e.message,
    }
}

/// The failure of an audit: a fault of the log (exit 1), or a source that could not be read
/// (exit 2) — the checkpoint, or any resource for a reason other than its absence or size.
fn audit_failure(source: &LogSource, recorder: &Recorder<'_>, e: LogError) -> Failure {
    let location = source.location();
    match e {
        LogError::Read { what, source: err } => {
            let path = what.trim_matches('`').to_owned();
            let kind = recorder
                .failures
                .lock()
                .ok()
                .and_then(|f| f.get(&path).map(|e| e.kind))
                .unwrap_or(FetchKind::Unreadable);
            match kind {
                _ if path == "checkpoint" => Failure {
                    exit: EXIT_BAD_INPUT,
                    code: "unreadable_source".into(),
                    message: format!("no log at {location}: cannot read its checkpoint: {err}"),
                },
                FetchKind::Missing => fault(format!("the log is missing `{path}`: {err}")),
                FetchKind::TooLarge => fault(format!("`{path}` is too large: {err}")),
                FetchKind::BadPath => Failure::failed(format!("reading `{path}`: {err}")),
                FetchKind::Unreadable => Failure {
                    exit: EXIT_BAD_INPUT,
                    code: "unreadable_source".into(),
                    message: format!("cannot read `{path}` of {location}: {err}"),
                },
            }
        }
        LogError::BadSignature { .. }
        | LogError::NoVerifiedSignature
        | LogError::MalformedNote(_)
        | LogError::MalformedCheckpoint(_) => {
            fault(format!("the checkpoint of {location} does not verify: {e}"))
        }
        other => fault(other.to_string()),
    }
}

/// A progress bar on standard error over the tiles being checked; hidden when standard error
/// is not a terminal or with `--quiet`.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:<26} [{bar:40}] {pos}/{len} tiles ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Shows progress from the auditor's threads, never moving backwards: reports of one stage can
/// arrive out of order.
fn show(bar: &ProgressBar, shown: &Mutex<(AuditStage, u64)>, p: AuditProgress) {
    let Ok(mut shown) = shown.lock() else { return };
    if shown.0 != p.stage {
        *shown = (p.stage, 0);
    }
    if p.done < shown.1 {
        return;
    }
    shown.1 = p.done;
    bar.set_length(p.total);
    bar.set_position(p.done);
    bar.set_message(match p.stage {
        AuditStage::LeafTiles => "leaf tiles and entries",
        AuditStage::UpperTiles => "upper tiles",
    });
}

/// The source as the auditor reads it, recording what it read: how many resources and bytes,
/// the checkpoint's bytes, why a read failed, and (when leaves are counted) each entry bundle,
/// fed to the report in log order as it arrives.
struct Recorder<'a> {
    source: &'a LogSource,
    resources: AtomicU64,
    bytes: AtomicU64,
    checkpoint: Mutex<Option<Vec<u8>>>,
    failures: Mutex<BTreeMap<String, FetchError>>,
    leaves: Option<Mutex<LeafFeed>>,
}

impl<'a> Recorder<'a> {
    fn new(source: &'a LogSource, leaves: bool) -> Self {
        Self {
            source,
            resources: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            checkpoint: Mutex::new(None),
            failures: Mutex::new(BTreeMap::new()),
            leaves: leaves.then(|| Mutex::new(LeafFeed::default())),
        }
    }
}

impl TileSource for Recorder<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let bytes = match self.source.fetch(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                let err = e.to_source_error();
                if let Ok(mut f) = self.failures.lock() {
                    f.insert(path.to_owned(), e);
                }
                return Err(err);
            }
        };
        self.resources.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if path == "checkpoint" {
            if let Ok(mut c) = self.checkpoint.lock() {
                c.get_or_insert_with(|| bytes.clone());
            }
        } else if let Some(feed) = &self.leaves
            && let Ok(tile) = TilePath::parse(path)
            && tile.kind == TileKind::Entries
            && let Ok(mut feed) = feed.lock()
        {
            feed.push(tile.index, tile.width, bytes.clone());
        }
        Ok(bytes)
    }
}

/// Entry bundles counted into a report in log order, whatever order the auditor's threads
/// read them in: a bundle that arrives early waits (the auditor hands tiles out in order, so
/// only about one per thread ever waits). What is counted is exactly what the auditor was
/// given to check, so once the audit passes the report is of the verified entries.
#[derive(Default)]
struct LeafFeed {
    /// The next bundle to count.
    next: u64,
    pending: BTreeMap<u64, (u16, Vec<u8>)>,
    builder: ReportBuilder,
    /// The first entry that is not a leaf.
    error: Option<ReportError>,
    /// A bundle that does not parse (the audit fails on it too).
    broken: bool,
}

impl LeafFeed {
    fn push(&mut self, index: u64, width: u16, bytes: Vec<u8>) {
        if index < self.next {
            return;
        }
        self.pending.insert(index, (width, bytes));
        while let Some((width, bytes)) = self.pending.remove(&self.next) {
            if self.error.is_none() && !self.broken {
                match parse_entry_bundle(&bytes, width) {
                    Ok(entries) => {
                        let first = self.next * u64::from(TILE_WIDTH);
                        for (i, entry) in (first..).zip(entries) {
                            if let Err(e) = self.builder.add(i, entry) {
                                self.error = Some(e);
                                break;
                            }
                        }
                    }
                    Err(_) => self.broken = true,
                }
            }
            self.next += 1;
        }
    }

    /// The report, once the audit of a log of `size` entries has passed.
    fn finish(self, size: u64) -> Result<Result<Report, ReportError>, Failure> {
        if let Some(e) = self.error {
            return Ok(Err(e));
        }
        if self.broken || self.next != size.div_ceil(u64::from(TILE_WIDTH)) {
            return Err(Failure::failed(format!(
                "the audit passed but {} of {} entry bundles were counted",
                self.next,
                size.div_ceil(u64::from(TILE_WIDTH))
            )));
        }
        Ok(Ok(self.builder.finish()))
    }
}
