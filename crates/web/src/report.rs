//! The transparency report: computed from the node's log up to its signed checkpoint
//! ([`current_report`], cached per checkpoint), as one self-contained HTML page
//! ([`report_page`], the public `/report`) or as the body of the officer UI's transparency page
//! ([`report_body`]).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use comity_store::{Store, StoreError};
use comity_tlog::{Checkpoint, note::Note};
use comity_transparency::{Counts, Report, ReportBuilder};

use crate::escape;

/// Entries read from the store at a time while counting the report.
const REPORT_CHUNK: u64 = 4096;

/// The report of the last checkpoint counted, so that a page view costs nothing until the log
/// grows. Clones share the cache.
#[derive(Debug, Default, Clone)]
pub struct ReportCache(Arc<Mutex<Option<Counted>>>);

/// A checkpoint note and the report of its tree.
type Counted = (String, Arc<Report>);

/// Why the report of the current checkpoint cannot be had.
#[derive(Debug)]
pub enum ReportError {
    /// The node has not signed a checkpoint yet.
    NoCheckpoint,
    /// The log cannot be read now.
    Storage(StoreError),
    /// What the store holds does not read back (a checkpoint that does not parse, an entry that
    /// is not a leaf).
    Corrupt(String),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoCheckpoint => f.write_str("this node has not signed a checkpoint yet"),
            Self::Storage(e) => write!(f, "the log cannot be read now: {e}"),
            Self::Corrupt(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<StoreError> for ReportError {
    fn from(e: StoreError) -> Self {
        Self::Storage(e)
    }
}

/// The current signed checkpoint, parsed, and its note text; `None` before the first one.
pub async fn current_checkpoint<S: Store>(
    store: &S,
) -> Result<Option<(Checkpoint, String)>, ReportError> {
    let Some(row) = store.checkpoint().await? else {
        return Ok(None);
    };
    let note = Note::parse(row.note.as_bytes())
        .map_err(|e| ReportError::Corrupt(format!("the stored checkpoint is not a note: {e}")))?;
    let cp = Checkpoint::parse(note.text())
        .map_err(|e| ReportError::Corrupt(format!("the stored checkpoint does not parse: {e}")))?;
    Ok(Some((cp, row.note)))
}

/// The current checkpoint (parsed, and its note) and the report of its tree, counted from the
/// log's entries (from `cache` when it holds the report of that very note).
pub async fn current_report<S: Store>(
    store: &S,
    cache: &ReportCache,
) -> Result<(Checkpoint, String, Arc<Report>), ReportError> {
    let (cp, note) = current_checkpoint(store)
        .await?
        .ok_or(ReportError::NoCheckpoint)?;
    if let Ok(held) = cache.0.lock()
        && let Some((n, report)) = held.as_ref()
        && *n == note
    {
        return Ok((cp, note, report.clone()));
    }
    let mut builder = ReportBuilder::new();
    let mut next = 0u64;
    while next < cp.size() {
        let end = cp.size().min(next.saturating_add(REPORT_CHUNK));
        let entries = store.log_entries(next..end).await?;
        for (index, entry) in (next..).zip(&entries) {
            builder.add(index, entry).map_err(|e| {
                ReportError::Corrupt(format!(
                    "this node's log holds an entry that is not a leaf: {e}"
                ))
            })?;
        }
        next = end;
    }
    let report = Arc::new(builder.finish());
    if let Ok(mut held) = cache.0.lock() {
        *held = Some((note.clone(), report.clone()));
    }
    Ok((cp, note, report))
}

/// What the page says about the log the report was computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogAbout {
    /// The log's origin line (e.g. `comity.example/bo-central-authority`).
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash, base64.
    pub root: String,
    /// Names of the witnesses whose cosignatures on the checkpoint verified.
    pub cosigners: Vec<String>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.2rem .6rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em;word-break:break-all}\
figure{margin:1rem 0}.grid{display:grid;grid-template-columns:1fr;gap:1rem}";

/// The page: what the log is, then each count as a chart and a table. The same report and log
/// give the same bytes (no clock, no host).
pub fn report_page(report: &Report, about: &LogAbout) -> String {
    let mut h = String::new();
    let title = format!("Transparency report — {}", about.origin);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    h.push_str(&report_body(report, about));
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// The report's content without the page around it: what the log is, then each count as a
/// chart (inline SVG) and a table. Every text from the log is escaped.
pub fn report_body(report: &Report, about: &LogAbout) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<p>Recomputed from the {} entries of the log alone: no case content was used. \
         Anyone holding the log's tiles can compute the same figures.</p>\n\
         <table aria-label=\"The log\">\n<tr><th scope=\"row\">Origin</th><td><code>{}</code></td></tr>\n\
         <tr><th scope=\"row\">Checkpoint size</th><td class=\"n\">{}</td></tr>\n\
         <tr><th scope=\"row\">Root hash</th><td><code>{}</code></td></tr>\n\
         <tr><th scope=\"row\">Cosigned by</th><td>{}</td></tr>\n</table>\n",
        report.entries,
        escape(&about.origin),
        about.size,
        escape(&about.root),
        if about.cosigners.is_empty() {
            "no witness".to_owned()
        } else {
            about
                .cosigners
                .iter()
                .map(|c| format!("<code>{}</code>", escape(c)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    let r = &report.requests;
    let _ = write!(
        h,
        "<h2>Requests</h2>\n<p>{} requests: {} sent, {} received, {} of them emergencies.</p>\n",
        r.total, r.sent, r.received, r.emergency
    );
    section(
        &mut h,
        "Requests by requesting Party",
        "Party",
        &r.by_requesting,
    );
    section(
        &mut h,
        "Requests by requested Party",
        "Party",
        &r.by_requested,
    );
    section(&mut h, "Requests by kind", "Kind", &r.by_kind);
    section(&mut h, "Requests by instrument", "Instrument", &r.by_basis);
    section(&mut h, "Requests by month", "Month", &r.by_month);

    let d = &report.decisions;
    let _ = write!(
        h,
        "<h2>Decisions</h2>\n<p>{} decisions by requested Parties.</p>\n",
        d.total
    );
    section(&mut h, "Decisions by outcome", "Outcome", &d.by_outcome);
    section(
        &mut h,
        "Grounds of refusals and postponements",
        "Ground",
        &d.by_ground,
    );
    section(&mut h, "Decisions by kind", "Kind", &d.by_kind);
    section(&mut h, "Decisions by month", "Month", &d.by_month);

    h.push_str("<h2>Safeguards at work</h2>\n");
    section(
        &mut h,
        "Envelopes refused, by reason",
        "Reason",
        &report.envelopes_refused_by_code,
    );
    section(&mut h, "Deadlines met", "Deadline", &report.deadlines_met);
    section(
        &mut h,
        "Deadlines missed",
        "Deadline",
        &report.deadlines_missed,
    );

    let n = &report.notifications;
    let _ = write!(
        h,
        "<h2>Notification of the persons concerned</h2>\n<p>{} persons concerned were told of \
         the request; {} restrictions on telling them were asked (UNCC 42(3)(g), 40(20); BUD \
         27(8)), of which {} are outstanding, {} were lifted and {} lapsed without being \
         justified again.</p>\n",
        n.notified, n.restricted, n.outstanding, n.lifted, n.lapsed
    );
    let restrictions: Counts = [
        ("restricted", n.restricted),
        ("rejustified", n.rejustified),
        ("lifted", n.lifted),
        ("lapsed", n.lapsed),
        ("outstanding", n.outstanding),
        ("notified", n.notified),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    section(
        &mut h,
        "Restrictions and notifications",
        "Count of",
        &restrictions,
    );
    section(
        &mut h,
        "Persons notified by month",
        "Month",
        &n.notified_by_month,
    );
    section(&mut h, "All events", "Event", &report.events);
    h
}

/// A chart and the table of the same counts (the table is what screen readers use).
fn section(h: &mut String, title: &str, key: &str, counts: &Counts) {
    let series: Vec<(String, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let _ = write!(
        h,
        "<figure>\n<figcaption><h3>{}</h3></figcaption>\n",
        escape(title)
    );
    // A chart that cannot be drawn is left out; the table below carries the same numbers.
    if let Ok(svg) = comity_charts::horizontal_bars(title, &series) {
        let _ = writeln!(
            h,
            "<div role=\"img\" aria-label=\"{}\">{svg}</div>",
            escape(title)
        );
    }
    if series.is_empty() {
        h.push_str("<p>None.</p>\n</figure>\n");
        return;
    }
    let _ = write!(
        h,
        "<table>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">Count</th></tr></thead>\n<tbody>\n",
        escape(key)
    );
    for (k, v) in &series {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{v}</td></tr>",
            escape(k)
        );
    }
    h.push_str("</tbody>\n</table>\n</figure>\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use comity_transparency::{CaseRef, Event, Leaf, case_commitment};
    use comity_types::{Disposition, Ground, Instrument, PartyCode, RequestKind};

    use super::*;

    fn report() -> Report {
        let case = CaseRef {
            case: case_commitment(&[1; 32], "c"),
            requesting: PartyCode::parse("AR").unwrap(),
            requested: PartyCode::parse("BO").unwrap(),
            kind: RequestKind::Mla,
            basis: Instrument::Uncc,
            emergency: false,
        };
        let day = jiff::civil::Date::constant(2027, 5, 3);
        let received = Leaf::of_case(Event::RequestReceived, day, &case);
        let mut refused = Leaf::of_case(Event::Decision, day, &case);
        refused.outcome = Some(Disposition::Refused);
        refused.grounds = vec![Ground::PoliticalOffence];
        let notified = Leaf::of_case(Event::SubjectNotified, day, &case);
        let bytes = [
            received.encode().unwrap(),
            refused.encode().unwrap(),
            notified.encode().unwrap(),
        ];
        Report::from_entries(bytes.iter().map(Vec::as_slice)).unwrap()
    }

    #[test]
    fn the_page_shows_every_count_and_is_reproducible() {
        let about = LogAbout {
            origin: "comity.example/bo-central-authority".into(),
            size: 2,
            root: "abc=".into(),
            cosigners: vec!["ar-central-authority".into()],
        };
        let page = report_page(&report(), &about);
        assert_eq!(page, report_page(&report(), &about));
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("<svg"), "charts are inline SVG");
        assert!(!page.contains("<script"), "no script");
        assert!(page.contains("<code>political_offence</code></td><td class=\"n\">1</td>"));
        assert!(page.contains("<code>AR</code></td><td class=\"n\">1</td>"));
        assert!(page.contains("Cosigned by</th><td><code>ar-central-authority</code>"));
        assert!(page.contains("Notification of the persons concerned"));
        assert!(page.contains("<code>notified</code></td><td class=\"n\">1</td>"));
        assert!(page.contains("<code>outstanding</code></td><td class=\"n\">0</td>"));
    }

    #[test]
    fn text_from_the_log_is_escaped() {
        let about = LogAbout {
            origin: "<script>alert(1)</script>".into(),
            ..LogAbout::default()
        };
        let page = report_page(&report(), &about);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
