//! `comity report`: the transparency report of a published log, computed only once the log has
//! verified (`cmd_log::verify`), from its entries in log order (comity_transparency's
//! `ReportBuilder`, the same computation as `Report::from_entries`).
//!
//! Formats: `json`, exactly the bytes of `Report::to_json` (what a node serves at its report
//! endpoint); `table`, plain text tables of each count; `html`, the self-contained page of
//! comity_web with the checkpoint and the witnesses whose cosignatures verified.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use comity_transparency::{Counts, Report};
use comity_web::{LogAbout, report_page};

use crate::cmd_log::{SourceArgs, Verified, not_a_leaf, verify};
use crate::cmd_node::{Failure, finish};
use crate::cmd_support::{out, write_atomically};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `comity.report/1` JSON, byte for byte what a node serves (no final newline added).
    Json,
    /// Plain text tables, one per count.
    Table,
    /// A self-contained HTML page with SVG charts.
    Html,
}

/// The arguments of `comity report` (its help text is the command's doc in `main.rs`).
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> ExitCode {
    finish(false, report(&args))
}

fn report(args: &ReportArgs) -> Result<(), Failure> {
    let verified = verify(&args.source, true)?;
    let report = match &verified.report {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(not_a_leaf(e)),
        None => return Err(Failure::failed("the entries were not counted")),
    };
    let text = match args.format {
        Format::Json => report.to_json(),
        Format::Table => table(report, &verified),
        Format::Html => report_page(report, &about(&verified)),
    };
    match &args.out {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => out(&text),
    }
    Ok(())
}

/// What the HTML page says about the log: the verified checkpoint and its verified cosigners.
fn about(v: &Verified) -> LogAbout {
    let c = &v.audit.checkpoint;
    LogAbout {
        origin: c.origin().to_owned(),
        size: c.size(),
        root: c.root().to_base64(),
        cosigners: v.cosigned_by(),
    }
}

/// The report as plain text tables, in the order of the HTML page.
fn table(r: &Report, v: &Verified) -> String {
    let c = &v.audit.checkpoint;
    let mut t = String::new();
    let cosigners = v.cosigned_by();
    let _ = write!(
        t,
        "Transparency report of {}\n\
         checkpoint size {}, root {}\n\
         cosigned by {}\n\
         computed from {} entries, verified\n",
        c.origin(),
        c.size(),
        c.root(),
        if cosigners.is_empty() {
            "no witness given or found".to_owned()
        } else {
            cosigners.join(", ")
        },
        r.entries
    );
    let q = &r.requests;
    let _ = write!(
        t,
        "\nRequests: {} ({} sent, {} received, {} emergency)\n",
        q.total, q.sent, q.received, q.emergency
    );
    section(
        &mut t,
        "Requests by requesting Party",
        "Party",
        &q.by_requesting,
    );
    section(
        &mut t,
        "Requests by requested Party",
        "Party",
        &q.by_requested,
    );
    section(&mut t, "Requests by kind", "Kind", &q.by_kind);
    section(&mut t, "Requests by instrument", "Instrument", &q.by_basis);
    section(&mut t, "Requests by month", "Month", &q.by_month);
    let d = &r.decisions;
    let _ = write!(t, "\nDecisions: {}\n", d.total);
    section(&mut t, "Decisions by outcome", "Outcome", &d.by_outcome);
    section(
        &mut t,
        "Grounds of refusals and postponements",
        "Ground",
        &d.by_ground,
    );
    section(&mut t, "Decisions by kind", "Kind", &d.by_kind);
    section(&mut t, "Decisions by month", "Month", &d.by_month);
    t.push_str("\nSafeguards at work\n");
    section(
        &mut t,
        "Envelopes refused, by reason",
        "Reason",
        &r.envelopes_refused_by_code,
    );
    section(&mut t, "Deadlines met", "Deadline", &r.deadlines_met);
    section(&mut t, "Deadlines missed", "Deadline", &r.deadlines_missed);
    let n = &r.notifications;
    let _ = write!(
        t,
        "\nPersons concerned notified: {} (restrictions asked: {}; outstanding {}, lifted {}, \
         lapsed {}; re-justified {} times)\n",
        n.notified, n.restricted, n.outstanding, n.lifted, n.lapsed, n.rejustified
    );
    section(
        &mut t,
        "Persons notified by month",
        "Month",
        &n.notified_by_month,
    );
    section(&mut t, "All events", "Event", &r.events);
    t
}

/// One count as a two-column table with a rule under its header, numbers right-aligned.
fn section(t: &mut String, title: &str, key: &str, counts: &Counts) {
    let _ = write!(t, "\n  {title}\n");
    if counts.is_empty() {
        t.push_str("    none\n");
        return;
    }
    let number = "Count";
    let kw = counts
        .keys()
        .map(|k| k.chars().count())
        .chain([key.len()])
        .max()
        .unwrap_or(0);
    let nw = counts
        .values()
        .map(|n| n.to_string().len())
        .chain([number.len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(t, "    {key:<kw$}  {number:>nw$}");
    let _ = writeln!(t, "    {}  {}", "-".repeat(kw), "-".repeat(nw));
    for (k, n) in counts {
        let _ = writeln!(t, "    {k:<kw$}  {n:>nw$}");
    }
}
