//! The transparency report: counts recomputed from the leaves alone.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::leaf::{Event, Leaf, LeafError};

/// The value of the report's `format` member.
pub const REPORT_FORMAT: &str = "comity.report/1";

/// A leaf that could not be counted, with its index in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index}: {error}")]
pub struct ReportError {
    pub index: u64,
    pub error: LeafError,
}

/// Counts keyed by wire spelling (a Party code, a kind, a month …), sorted.
pub type Counts = BTreeMap<String, u64>;

/// One cell of the report's cube: how many leaves share these values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Row {
    pub event: Event,
    pub month: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requesting: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The grounds of a refusal or postponement, in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
    /// The envelope refusal code or the deadline's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub emergency: bool,
    /// The Party that acted (team events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The team's Parties (team events), in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<String>,
}

/// Requests the node took part in (sent or received), counted once each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub total: u64,
    pub sent: u64,
    pub received: u64,
    pub emergency: u64,
    pub by_requesting: Counts,
    pub by_requested: Counts,
    pub by_kind: Counts,
    pub by_basis: Counts,
    pub by_month: Counts,
}

/// Decisions of requested Parties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Decisions {
    pub total: u64,
    pub by_outcome: Counts,
    /// Each ground of each refusal or postponement (a decision may give several).
    pub by_ground: Counts,
    pub by_kind: Counts,
    pub by_month: Counts,
}

/// The notification of data subjects and its restrictions (UNCC 42(3)(g), 40(20); BUD 27(8)),
/// counted from the leaves: each case's restriction is recorded once on a node and ends once
/// (lifted or lapsed), and each subject is notified once, so the counts are counts of cases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notifications {
    /// Restrictions recorded (`notification_restricted`).
    pub restricted: u64,
    /// Re-justifications of restrictions (`restriction_rejustified`; one restriction may have
    /// several).
    pub rejustified: u64,
    /// Restrictions lifted by the requesting Party (`restriction_lifted`).
    pub lifted: u64,
    /// Restrictions that reached their end without being re-justified (`restriction_lapsed`).
    pub lapsed: u64,
    /// Restrictions recorded and not (yet) lifted or lapsed: `restricted − lifted − lapsed`.
    pub outstanding: u64,
    /// Data subjects notified (`subject_notified`).
    pub notified: u64,
    /// Data subjects notified, by month.
    pub notified_by_month: Counts,
    /// Restrictions recorded, by month.
    pub restricted_by_month: Counts,
}

/// Joint investigation team events (UNCC 48; SAP2 12, unverified): absent from the report
/// when the log has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Teams {
    /// Team leaves of every kind.
    pub total: u64,
    pub by_event: Counts,
    pub by_basis: Counts,
    /// By the Party that acted.
    pub by_party: Counts,
    pub by_month: Counts,
}

impl Teams {
    /// No team leaf was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// The transparency report of one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format: String,
    /// How many leaves were counted: the log size the report is of.
    pub entries: u64,
    pub events: Counts,
    pub requests: Requests,
    pub decisions: Decisions,
    pub envelopes_refused_by_code: Counts,
    pub deadlines_met: Counts,
    pub deadlines_missed: Counts,
    /// Restrictions on telling the data subject, and subjects told.
    pub notifications: Notifications,
    #[serde(skip_serializing_if = "Teams::is_empty")]
    pub teams: Teams,
    /// Every count above can be recomputed from this cube: leaves grouped by all their counted
    /// values, sorted.
    pub cube: Vec<CubeRow>,
}

/// A row of the cube with its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CubeRow {
    #[serde(flatten)]
    pub row: Row,
    pub count: u64,
}

impl Report {
    /// The report of a log whose entries, in order, are `entries`.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, ReportError> {
        let mut b = ReportBuilder::new();
        for (index, bytes) in (0u64..).zip(entries) {
            b.add(index, bytes)?;
        }
        Ok(b.finish())
    }

    /// The report as JSON: the same report gives the same bytes.
    pub fn to_json(&self) -> String {
        // Serialising plain maps, strings and integers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Builds a report one leaf at a time, so that a log of any size is counted in constant memory
/// beyond the counts themselves.
#[derive(Debug, Clone, Default)]
pub struct ReportBuilder {
    entries: u64,
    cube: BTreeMap<Row, u64>,
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the leaf at `index` (its canonical bytes).
    pub fn add(&mut self, index: u64, bytes: &[u8]) -> Result<(), ReportError> {
        let leaf = Leaf::decode(bytes).map_err(|error| ReportError { index, error })?;
        self.add_leaf(&leaf);
        Ok(())
    }

    /// Counts a leaf already decoded.
    pub fn add_leaf(&mut self, leaf: &Leaf) {
        self.entries += 1;
        let base = Row {
            event: leaf.event,
            month: leaf.month(),
            requesting: leaf.requesting.map(|p| p.to_string()),
            requested: leaf.requested.map(|p| p.to_string()),
            kind: leaf.kind.map(|k| k.to_string()),
            basis: leaf.basis.map(|b| b.to_string()),
            outcome: leaf.outcome.map(|o| o.to_string()),
            grounds: leaf.grounds.iter().map(|g| g.to_string()).collect(),
            detail: leaf.code.clone().or_else(|| leaf.deadline.clone()),
            emergency: leaf.emergency,
            by: leaf.by.map(|p| p.to_string()),
            parties: leaf.parties.iter().map(|p| p.to_string()).collect(),
        };
        *self.cube.entry(base).or_default() += 1;
    }

    /// The report.
    pub fn finish(self) -> Report {
        let mut events = Counts::new();
        let mut requests = Requests::default();
        let mut decisions = Decisions::default();
        let mut refused = Counts::new();
        let mut met = Counts::new();
        let mut missed = Counts::new();
        let mut notes = Notifications::default();
        let mut teams = Teams::default();
        let add = |m: &mut Counts, k: &Option<String>, n: u64| {
            if let Some(k) = k {
                *m.entry(k.clone()).or_default() += n;
            }
        };
        for (row, &n) in &self.cube {
            *events.entry(row.event.as_str().to_owned()).or_default() += n;
            match row.event {
                Event::RequestSent | Event::RequestReceived => {
                    requests.total += n;
                    if row.event == Event::RequestSent {
                        requests.sent += n;
                    } else {
                        requests.received += n;
                    }
                    if row.emergency {
                        requests.emergency += n;
                    }
                    add(&mut requests.by_requesting, &row.requesting, n);
                    add(&mut requests.by_requested, &row.requested, n);
                    add(&mut requests.by_kind, &row.kind, n);
                    add(&mut requests.by_basis, &row.basis, n);
                    add(&mut requests.by_month, &Some(row.month.clone()), n);
                }
                Event::Decision => {
                    decisions.total += n;
                    add(&mut decisions.by_outcome, &row.outcome, n);
                    add(&mut decisions.by_kind, &row.kind, n);
                    add(&mut decisions.by_month, &Some(row.month.clone()), n);
                    for g in &row.grounds {
                        *decisions.by_ground.entry(g.clone()).or_default() += n;
                    }
                }
                Event::EnvelopeRefused => add(&mut refused, &row.detail, n),
                Event::DeadlineMet => add(&mut met, &row.detail, n),
                Event::DeadlineMissed => add(&mut missed, &row.detail, n),
                Event::NotificationRestricted => {
                    notes.restricted += n;
                    add(&mut notes.restricted_by_month, &Some(row.month.clone()), n);
                }
                Event::RestrictionRejustified => notes.rejustified += n,
                Event::RestrictionLifted => notes.lifted += n,
                Event::RestrictionLapsed => notes.lapsed += n,
                Event::SubjectNotified => {
                    notes.notified += n;
                    add(&mut notes.notified_by_month, &Some(row.month.clone()), n);
                }
                e if e.of_team() => {
                    teams.total += n;
                    add(&mut teams.by_event, &Some(e.as_str().to_owned()), n);
                    add(&mut teams.by_basis, &row.basis, n);
                    add(&mut teams.by_party, &row.by, n);
                    add(&mut teams.by_month, &Some(row.month.clone()), n);
                }
                _ => {}
            }
        }
        // A log holds a restriction's end only after its start, so this never underflows on a
        // node's own log; saturate anyway for a log that is not.
        notes.outstanding = notes
            .restricted
            .saturating_sub(notes.lifted)
            .saturating_sub(notes.lapsed);
        Report {
            format: REPORT_FORMAT.to_owned(),
            entries: self.entries,
            events,
            requests,
            decisions,
            envelopes_refused_by_code: refused,
            deadlines_met: met,
            deadlines_missed: missed,
            notifications: notes,
            teams,
            cube: self
                .cube
                .into_iter()
                .map(|(row, count)| CubeRow { row, count })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use comity_types::{Disposition, Ground, Instrument, PartyCode, RequestKind};
    use jiff::civil::Date;

    use super::*;
    use crate::{CaseRef, Leaf, case_commitment};

    fn case_leaf(event: Event, month: i8, from: &str, to: &str, kind: RequestKind) -> Leaf {
        Leaf::of_case(
            event,
            Date::new(2027, month, 14).unwrap(),
            &CaseRef {
                case: case_commitment(&[9; 32], "c"),
                requesting: PartyCode::parse(from).unwrap(),
                requested: PartyCode::parse(to).unwrap(),
                kind,
                basis: Instrument::Uncc,
                emergency: false,
            },
        )
    }

    /// A small log counted by hand.
    #[test]
    fn counts_match_a_hand_count() {
        let mut leaves = vec![
            case_leaf(Event::RequestReceived, 5, "AR", "BO", RequestKind::Mla),
            case_leaf(
                Event::RequestReceived,
                5,
                "AR",
                "BO",
                RequestKind::Preservation,
            ),
            case_leaf(Event::RequestSent, 6, "BO", "CA", RequestKind::Mla),
        ];
        let mut refused = case_leaf(Event::Decision, 6, "AR", "BO", RequestKind::Mla);
        refused.outcome = Some(Disposition::Refused);
        refused.grounds = vec![Ground::EssentialInterests, Ground::PoliticalOffence];
        leaves.push(refused);
        let mut executed = case_leaf(Event::Decision, 6, "AR", "BO", RequestKind::Preservation);
        executed.outcome = Some(Disposition::Executed);
        leaves.push(executed);
        let mut env = Leaf::bare(Event::EnvelopeRefused, Date::constant(2027, 6, 1));
        env.requested = PartyCode::parse("BO");
        env.code = Some("bad_signature".into());
        leaves.push(env);
        let mut late = case_leaf(Event::DeadlineMissed, 7, "AR", "BO", RequestKind::Mla);
        late.deadline = Some("respond".into());
        leaves.push(late);

        let bytes: Vec<Vec<u8>> = leaves.iter().map(|l| l.encode().unwrap()).collect();
        let r = Report::from_entries(bytes.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(r.entries, 7);
        assert_eq!(r.requests.total, 3);
        assert_eq!((r.requests.sent, r.requests.received), (1, 2));
        assert_eq!(r.requests.by_requesting["AR"], 2);
        assert_eq!(r.requests.by_requesting["BO"], 1);
        assert_eq!(r.requests.by_requested["BO"], 2);
        assert_eq!(r.requests.by_kind["mla"], 2);
        assert_eq!(r.requests.by_month["2027-05"], 2);
        assert_eq!(r.requests.by_month["2027-06"], 1);
        assert_eq!(
            r.decisions.total, 2,
            "a decision with two grounds counts once"
        );
        assert_eq!(r.decisions.by_outcome["refused"], 1);
        assert_eq!(r.decisions.by_outcome["executed"], 1);
        assert_eq!(r.decisions.by_ground["essential_interests"], 1);
        assert_eq!(r.decisions.by_ground["political_offence"], 1);
        assert_eq!(r.envelopes_refused_by_code["bad_signature"], 1);
        assert_eq!(r.deadlines_missed["respond"], 1);
        assert!(r.deadlines_met.is_empty());
        assert_eq!(r.events["decision"], 2);
        assert_eq!(r.cube.iter().map(|c| c.count).sum::<u64>(), 7);
    }

    /// Restrictions and notifications counted from their leaves alone: three cases restricted,
    /// one lifted and its subject notified, one lapsed, one still in force after being
    /// re-justified twice, and a fourth case's subject notified with no restriction asked.
    #[test]
    fn notifications_are_counted_from_the_leaves() {
        use Event::*;
        let leaves = [
            (NotificationRestricted, 5),
            (NotificationRestricted, 5),
            (NotificationRestricted, 6),
            (RestrictionRejustified, 6),
            (RestrictionRejustified, 7),
            (RestrictionLifted, 7),
            (SubjectNotified, 7),
            (RestrictionLapsed, 8),
            (SubjectNotified, 8),
            (RequestReceived, 8),
        ];
        let bytes: Vec<Vec<u8>> = leaves
            .iter()
            .map(|&(e, m)| {
                case_leaf(e, m, "AR", "BO", RequestKind::Preservation)
                    .encode()
                    .unwrap()
            })
            .collect();
        let r = Report::from_entries(bytes.iter().map(Vec::as_slice)).unwrap();
        let n = &r.notifications;
        assert_eq!(
            (n.restricted, n.rejustified, n.lifted, n.lapsed),
            (3, 2, 1, 1)
        );
        assert_eq!(n.outstanding, 1);
        assert_eq!(n.notified, 2);
        assert_eq!(n.notified_by_month["2027-07"], 1);
        assert_eq!(n.notified_by_month["2027-08"], 1);
        assert_eq!(n.restricted_by_month["2027-05"], 2);
        assert_eq!(r.events["subject_notified"], 2);
        assert_eq!(r.requests.total, 1, "notification leaves are not requests");
    }

    #[test]
    fn the_same_leaves_give_the_same_bytes_in_any_order_of_equal_rows() {
        let a = case_leaf(Event::RequestReceived, 5, "AR", "BO", RequestKind::Mla)
            .encode()
            .unwrap();
        let b = case_leaf(Event::RequestReceived, 8, "CA", "BO", RequestKind::Mla)
            .encode()
            .unwrap();
        let one = Report::from_entries([a.as_slice(), b.as_slice()]).unwrap();
        let two = Report::from_entries([b.as_slice(), a.as_slice()]).unwrap();
        assert_eq!(one.to_json(), two.to_json());
    }

    /// Team leaves are counted in `teams`, and a log without any has no `teams` member.
    #[test]
    fn team_leaves_are_counted_apart() {
        let plain = case_leaf(Event::RequestReceived, 5, "AR", "BO", RequestKind::Mla);
        let none = Report::from_entries([plain.encode().unwrap().as_slice()]).unwrap();
        assert!(!none.to_json().contains("\"teams\""));
        let team = crate::TeamRef {
            team: case_commitment(&[3; 32], "t"),
            basis: Instrument::Uncc,
            parties: vec![
                PartyCode::parse("AR").unwrap(),
                PartyCode::parse("BO").unwrap(),
            ],
        };
        let day = Date::constant(2027, 5, 2);
        let ar = PartyCode::parse("AR").unwrap();
        let bo = PartyCode::parse("BO").unwrap();
        let leaves = [
            Leaf::of_team(Event::TeamCreated, day, &team, ar),
            Leaf::of_team(Event::TeamJoined, day, &team, bo),
            Leaf::of_team(Event::TeamPosted, day, &team, bo),
            Leaf::of_team(Event::TeamPosted, day, &team, ar),
            plain,
        ];
        let bytes: Vec<Vec<u8>> = leaves.iter().map(|l| l.encode().unwrap()).collect();
        let r = Report::from_entries(bytes.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(r.teams.total, 4);
        assert_eq!(r.teams.by_event["team_posted"], 2);
        assert_eq!(r.teams.by_party["BO"], 2);
        assert_eq!(r.teams.by_basis["UNCC"], 4);
        assert_eq!(r.requests.total, 1, "team leaves are not requests");
        assert!(r.to_json().contains("\"teams\""));
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index() {
        let good = case_leaf(Event::RequestReceived, 5, "AR", "BO", RequestKind::Mla)
            .encode()
            .unwrap();
        let e = Report::from_entries([good.as_slice(), b"{}".as_slice()]).unwrap_err();
        assert_eq!(e.index, 1);
    }
}
