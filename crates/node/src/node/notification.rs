//! The data subject's notification and its restriction (see [`Notification`]).
//!
//! - **Requesting side**: [`Node::restrict_notification`] records that the person concerned
//!   may not be told (who, until when, why, on which provision, by whom);
//!   [`Node::rejustify_restriction`] gives a new reason and a new end before it ends;
//!   [`Node::lift_restriction`] ends it. Two deadlines follow a restriction: the reminder to
//!   re-justify (`restriction_review`, at the end of the day a week before the restriction's
//!   last day, due from two weeks before that day: `tick` marks it due, then overdue) and the
//!   restriction's end (`restriction_ends`, the end of its last day), at which `tick` lets an
//!   unrenewed restriction lapse.
//! - **Either side**: [`Node::record_notified`] records when and how the subject was told.
//!   Notification is due once a restriction is lifted or lapses, or once data are delivered
//!   when none was asked; while it is due and not given, the reminder `notify_subject` runs
//!   (30 days, due from the 16th).
//! - **Both sides hold the same record**: each change goes to the other side in a signed,
//!   sealed `case.notification` envelope with the whole record, which the recipient checks
//!   against its own before keeping it. Each change is a leaf of both logs
//!   (`notification_restricted`, `restriction_rejustified`, `restriction_lifted`,
//!   `restriction_lapsed`, `subject_notified`; docs/log-format.md).
//!
//! The restriction and the notification outlive the case: closing a case leaves their
//! deadlines running.

use comity_store::{CaseRow, DeadlineRow, Store};
use comity_transparency::Event;
use comity_types::{Instrument, RequestKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    DeadlineView, Node, STATES_OPEN, Writer, deadline_view, ms_to_text, parse_date, parse_scenario,
    require, text_required,
};
use crate::case::*;
use crate::env::{Clock, Entropy};
use crate::error::NodeError;
use crate::messages::{self, kinds};

/// The reminder to re-justify a restriction (requesting side).
pub const RESTRICTION_REVIEW: &str = "restriction_review";
/// The end of a restriction (requesting side): when it passes, the restriction lapses.
pub const RESTRICTION_ENDS: &str = "restriction_ends";
/// The reminder to tell the subject (both sides), while notification is due and not given.
pub const NOTIFY_SUBJECT: &str = "notify_subject";

/// The deadlines of the notification lifecycle, which closing a case leaves running.
pub const NOTIFICATION_DEADLINES: [&str; 3] =
    [RESTRICTION_REVIEW, RESTRICTION_ENDS, NOTIFY_SUBJECT];

/// The longest a restriction runs before it must be re-justified.
pub const MAX_RESTRICTION_DAYS: i64 = 366;
/// The reminder to re-justify falls due this many days before the restriction's last day…
const REVIEW_DAYS_BEFORE: i64 = 7;
/// …and is marked due this long before that.
const REVIEW_LEAD_HOURS: i64 = 7 * 24;
/// Notification due: told within this many days…
const NOTIFY_DAYS: i64 = 30;
/// …reminded from this long before.
const NOTIFY_LEAD_HOURS: i64 = 14 * 24;
/// The longest description of the subject.
const MAX_SUBJECT_CHARS: usize = 500;

/// The longest a free text of this lifecycle may be (reasons, notes).
const MAX_TEXT_CHARS: usize = 4000;

/// A restriction asked by the requesting officer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictInput {
    /// Who may not be told, by reference to what the request holds.
    pub subject: String,
    /// The last day (inclusive), `YYYY-MM-DD`.
    pub until: String,
    pub reason: String,
}

/// A new justification: a new reason and a new last day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejustifyInput {
    pub until: String,
    pub reason: String,
}

/// The record that the subject was told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifiedInput {
    /// The day the subject was told (default: today); not in the future.
    #[serde(default)]
    pub on: Option<String>,
    pub means: NotificationMeans,
    /// Required when `means` is `other`.
    #[serde(default)]
    pub note: Option<String>,
}

/// The notification of a case as officers see it.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub case: String,
    pub side: Side,
    pub kind: RequestKind,
    pub basis: Instrument,
    /// The provision a restriction of this request rests on, if the treaty provides one.
    pub provision: Option<String>,
    /// Why a restriction cannot be asked for this request, if it cannot.
    pub no_basis: Option<String>,
    pub notification: Notification,
    /// The lifecycle's deadlines on this node.
    pub deadlines: Vec<DeadlineView>,
}

/// The provision on which the requesting Party may ask that the subject not be told, for a
/// request of `kind` under `basis` (with or without an MLA treaty between the Parties), or why
/// there is none (treaties-digest.md).
pub fn restriction_provision(
    kind: RequestKind,
    basis: Instrument,
    mla_treaty: bool,
) -> Result<&'static str, String> {
    use RequestKind as K;
    let article_40_kind = matches!(
        kind,
        K::Mla | K::StoredData | K::RealtimeTraffic | K::Interception
    );
    match (basis, kind) {
        (Instrument::Uncc, K::Preservation) => Ok("UNCC 42(3)(g)"),
        (Instrument::Uncc, _) if article_40_kind && !mla_treaty => Ok("UNCC 40(20)"),
        (Instrument::Uncc, _) if article_40_kind => Err(
            "with an MLA treaty between the Parties, its provisions apply instead of UNCC 40(8)-(31) \
             (UNCC 40(7)): the treaty's own confidentiality rule governs, not UNCC 40(20)"
                .into(),
        ),
        (Instrument::Bud, K::Preservation) => Err(
            "BUD 29(2) lists no confidentiality or no-user-notification content for a \
             preservation request (UNCC 42(3)(g) adds one; BUD 29(6) only obliges the requested \
             Party to say when preservation would threaten confidentiality)"
                .into(),
        ),
        (Instrument::Bud, _) if article_40_kind && !mla_treaty => Ok("BUD 27(8)"),
        (Instrument::Bud, _) if article_40_kind => Err(
            "BUD 27 applies only in the absence of an MLA treaty between the Parties (BUD 27(1)): \
             the treaty's own confidentiality rule governs, not BUD 27(8)"
                .into(),
        ),
        _ => Err(format!(
            "the treaty text Comity holds gives no provision for keeping a `{kind}` request under \
             {basis} from the person concerned (UNCC 42(3)(g) and 40(20), BUD 27(8) cover \
             preservation and mutual assistance requests)"
        )),
    }
}

/// States of a request that has reached the other side (a restriction or a notification
/// concerns a request both sides hold).
const SENT: &[State] = &[
    State::Sent,
    State::Received,
    State::ClarificationAsked,
    State::Consulting,
    State::Decided,
    State::Delivered,
    State::Closed,
];

fn bounded(field: &str, text: &str, max: usize) -> Result<(), NodeError> {
    text_required(field, text)?;
    if text.chars().count() > max {
        return Err(NodeError::BadInput(format!(
            "`{field}` is longer than {max} characters"
        )));
    }
    Ok(())
}

fn wrong_state(case: &str, state: &str, action: &'static str, allowed: &str) -> NodeError {
    NodeError::IllegalTransition {
        case: case.to_owned(),
        state: state.to_owned(),
        action,
        allowed: allowed.to_owned(),
    }
}

/// Where the notification of a case stands, in words for an error.
fn standing(n: &Notification) -> String {
    if let Some(g) = &n.given {
        return format!(
            "subject notified on {} by the {} side",
            g.on,
            g.side.as_str()
        );
    }
    match &n.restriction {
        Some(r) if r.status == RestrictionStatus::InForce => {
            format!("restriction in force until {}", r.until)
        }
        Some(r) => format!("restriction {}", r.status.as_str()),
        None => "no restriction".into(),
    }
}

/// The provision a restriction of the request `doc` rests on, or why there is none
/// ([`restriction_provision`], with the request's MLA-treaty switch).
pub fn restriction_provision_of(doc: &CaseDoc) -> Result<&'static str, String> {
    let mla_treaty = parse_scenario(&doc.scenario)
        .map(|f| f.scenario.request.mla_treaty)
        .unwrap_or(false);
    restriction_provision(doc.kind, doc.basis, mla_treaty)
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    fn provision_of(doc: &CaseDoc) -> Result<&'static str, String> {
        restriction_provision_of(doc)
    }

    /// A last day of a restriction: after today, at most [`MAX_RESTRICTION_DAYS`] ahead.
    fn restriction_until(&self, text: &str) -> Result<jiff::civil::Date, NodeError> {
        let until = parse_date("until", text)?;
        let today = self.today();
        if until <= today {
            return Err(NodeError::BadInput(format!(
                "`until`: {until} is not after today ({today})"
            )));
        }
        let latest = today
            .checked_add(jiff::Span::new().days(MAX_RESTRICTION_DAYS))
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        if until > latest {
            return Err(NodeError::BadInput(format!(
                "`until`: {until} is more than {MAX_RESTRICTION_DAYS} days ahead; a restriction \
                 is justified again at least once a year (latest {latest})"
            )));
        }
        Ok(until)
    }

    /// The requesting side's two deadlines of a restriction ending on `until`.
    fn restriction_deadlines(&self, w: &mut Writer, doc: &CaseDoc, until: jiff::civil::Date) {
        let review_day = until
            .checked_sub(jiff::Span::new().days(REVIEW_DAYS_BEFORE))
            .unwrap_or(until)
            .max(self.today());
        let cites = Self::provision_of(doc).ok();
        w.deadline(
            &doc.id,
            RESTRICTION_REVIEW,
            self.end_of_day(review_day),
            "open",
            json!({"lead_hours": REVIEW_LEAD_HOURS, "until": until.to_string(), "cites": cites}),
        );
        w.deadline(
            &doc.id,
            RESTRICTION_ENDS,
            self.end_of_day(until),
            "open",
            json!({"lead_hours": 0, "until": until.to_string(), "cites": cites}),
        );
    }

    /// The reminder to tell the subject, from now.
    fn notify_deadline(&self, w: &mut Writer, case: &str) {
        let day = self
            .today()
            .checked_add(jiff::Span::new().days(NOTIFY_DAYS))
            .unwrap_or(self.today());
        w.deadline(
            case,
            NOTIFY_SUBJECT,
            self.end_of_day(day),
            "open",
            json!({"lead_hours": NOTIFY_LEAD_HOURS}),
        );
    }

    /// Sets the running deadlines of a case among `names` to `state`.
    async fn settle_notification_deadlines(
        &self,
        w: &mut Writer,
        case: &str,
        names: &[&str],
        state: &str,
    ) -> Result<(), NodeError> {
        for d in self.store.case_deadlines(case).await? {
            if names.contains(&d.name.as_str())
                && (STATES_OPEN.contains(&d.state.as_str()) || d.state == "overdue")
            {
                w.deadline(case, &d.name, d.due_at, state, d.data);
            }
        }
        Ok(())
    }

    /// Records a change of the notification on this node and sends the whole record to the
    /// other side, with its event, leaf and audit entry, in one change.
    #[allow(clippy::too_many_arguments)]
    async fn commit_notification(
        &self,
        mut w: Writer,
        actor: &str,
        row: &CaseRow,
        doc: &CaseDoc,
        action: &str,
        event: Event,
        audit: &str,
        detail: serde_json::Value,
    ) -> Result<CaseDoc, NodeError> {
        let notification = doc.notification.clone().unwrap_or_default();
        let msg = messages::NotificationMsg {
            case: doc.id.clone(),
            action: action.to_owned(),
            notification,
        };
        let out = self.message(
            &doc.counterpart,
            kinds::NOTIFICATION,
            &msg,
            &doc.id,
            doc.request_envelope.as_deref(),
            doc.emergency,
        )?;
        let seq = self.next_seq(&doc.id).await?;
        let mut data = json!({"envelope": out.id});
        if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), detail) {
            data.extend(extra);
        }
        w.event(&doc.id, seq, event.as_str(), actor, data);
        w.leaf(self.case_leaf(doc, event)?)?;
        w.audit(actor, audit, Some(&doc.id), json!({"action": action}));
        w.change.outbox.push(out);
        self.commit_case(w, row, doc).await
    }

    /// The requesting officer records that the data subject may not be told (see
    /// [`Notification`]): `subject` describes who, by reference to the request; `until` is the
    /// restriction's last day (after today, within [`MAX_RESTRICTION_DAYS`]); `reason` why.
    /// The provision is the treaty's for the request (UNCC 42(3)(g), UNCC 40(20), BUD 27(8));
    /// a request for which the treaty gives none is refused (`no_restriction_basis`). One
    /// restriction per case, asked after the request was sent and before the subject was told.
    pub async fn restrict_notification(
        &self,
        officer: &str,
        case: &str,
        input: &RestrictInput,
    ) -> Result<CaseDoc, NodeError> {
        bounded("subject", &input.subject, MAX_SUBJECT_CHARS)?;
        bounded("reason", &input.reason, MAX_TEXT_CHARS)?;
        let until = self.restriction_until(&input.until)?;
        let (row, mut doc) = self.load(case).await?;
        require(&doc, Side::Requesting, "restrict notification", SENT)?;
        let provision = Self::provision_of(&doc).map_err(NodeError::NoRestrictionBasis)?;
        let current = doc.notification.clone().unwrap_or_default();
        if current.restriction.is_some() || current.given.is_some() {
            return Err(wrong_state(
                case,
                &standing(&current),
                "restrict notification",
                "a request with no restriction yet whose subject was not told",
            ));
        }
        let now = ms_to_text(self.now_ms());
        let mut n = current;
        n.restriction = Some(Restriction {
            status: RestrictionStatus::InForce,
            subject: input.subject.trim().to_owned(),
            until: until.to_string(),
            reason: input.reason.clone(),
            provision: provision.to_owned(),
            authority: self.cfg.id.to_string(),
            by: officer.to_owned(),
            at: now.clone(),
            rejustified: 0,
        });
        n.history.push(RestrictionStep {
            action: "restricted".into(),
            at: now,
            by: officer.to_owned(),
            until: Some(until.to_string()),
            reason: Some(input.reason.clone()),
        });
        // Data delivered with none asked made notification due; now it is restricted.
        n.due = None;
        doc.notification = Some(n);
        let mut w = Writer::new(self.now_ms());
        self.settle_notification_deadlines(&mut w, case, &[NOTIFY_SUBJECT], "cancelled")
            .await?;
        self.restriction_deadlines(&mut w, &doc, until);
        self.commit_notification(
            w,
            officer,
            &row,
            &doc,
            "restricted",
            Event::NotificationRestricted,
            "restrict_notification",
            json!({"until": until.to_string(), "provision": provision}),
        )
        .await
    }

    /// The requesting officer justifies a restriction in force again: a new reason and a new
    /// last day (after today, within [`MAX_RESTRICTION_DAYS`]); its deadlines start again.
    pub async fn rejustify_restriction(
        &self,
        officer: &str,
        case: &str,
        input: &RejustifyInput,
    ) -> Result<CaseDoc, NodeError> {
        bounded("reason", &input.reason, MAX_TEXT_CHARS)?;
        let until = self.restriction_until(&input.until)?;
        let (row, mut doc) = self.load(case).await?;
        require(&doc, Side::Requesting, "re-justify the restriction", SENT)?;
        let mut n = doc.notification.clone().unwrap_or_default();
        let Some(r) = n
            .restriction
            .as_mut()
            .filter(|r| r.status == RestrictionStatus::InForce)
        else {
            return Err(wrong_state(
                case,
                &standing(&n),
                "re-justify the restriction",
                "a restriction in force",
            ));
        };
        let now = ms_to_text(self.now_ms());
        r.until = until.to_string();
        r.reason = input.reason.clone();
        r.by = officer.to_owned();
        r.rejustified += 1;
        n.history.push(RestrictionStep {
            action: "rejustified".into(),
            at: now,
            by: officer.to_owned(),
            until: Some(until.to_string()),
            reason: Some(input.reason.clone()),
        });
        doc.notification = Some(n);
        let mut w = Writer::new(self.now_ms());
        self.restriction_deadlines(&mut w, &doc, until);
        self.commit_notification(
            w,
            officer,
            &row,
            &doc,
            "rejustified",
            Event::RestrictionRejustified,
            "rejustify_restriction",
            json!({"until": until.to_string()}),
        )
        .await
    }

    /// The requesting officer lifts a restriction in force, saying why: notification becomes
    /// due at once, on both sides.
    pub async fn lift_restriction(
        &self,
        officer: &str,
        case: &str,
        reason: &str,
    ) -> Result<CaseDoc, NodeError> {
        bounded("reason", reason, MAX_TEXT_CHARS)?;
        let (row, mut doc) = self.load(case).await?;
        require(&doc, Side::Requesting, "lift the restriction", SENT)?;
        let mut n = doc.notification.clone().unwrap_or_default();
        let Some(r) = n
            .restriction
            .as_mut()
            .filter(|r| r.status == RestrictionStatus::InForce)
        else {
            return Err(wrong_state(
                case,
                &standing(&n),
                "lift the restriction",
                "a restriction in force",
            ));
        };
        r.status = RestrictionStatus::Lifted;
        let now = ms_to_text(self.now_ms());
        n.history.push(RestrictionStep {
            action: "lifted".into(),
            at: now.clone(),
            by: officer.to_owned(),
            until: None,
            reason: Some(reason.to_owned()),
        });
        n.due = Some(NotificationDue {
            since: now,
            reason: DueReason::Lifted,
        });
        doc.notification = Some(n);
        let mut w = Writer::new(self.now_ms());
        self.settle_notification_deadlines(
            &mut w,
            case,
            &[RESTRICTION_REVIEW, RESTRICTION_ENDS],
            "cancelled",
        )
        .await?;
        self.notify_deadline(&mut w, case);
        self.commit_notification(
            w,
            officer,
            &row,
            &doc,
            "lifted",
            Event::RestrictionLifted,
            "lift_restriction",
            json!({}),
        )
        .await
    }

    /// Either side records that the data subject was told: the day (`on`, default today, not in
    /// the future), the means, and a note (required for `other`). Refused while a restriction
    /// is in force, and once recorded.
    pub async fn record_notified(
        &self,
        officer: &str,
        case: &str,
        input: &NotifiedInput,
    ) -> Result<CaseDoc, NodeError> {
        let today = self.today();
        let on = match input.on.as_deref() {
            Some(text) => parse_date("on", text)?,
            None => today,
        };
        if on > today {
            return Err(NodeError::BadInput(format!(
                "`on`: {on} is in the future (today is {today})"
            )));
        }
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(note) = note {
            bounded("note", note, MAX_TEXT_CHARS)?;
        }
        if input.means == NotificationMeans::Other && note.is_none() {
            return Err(NodeError::BadInput(
                "`note`: say how the subject was told when `means` is `other`".into(),
            ));
        }
        let (row, mut doc) = self.load(case).await?;
        let side = doc.side;
        require(&doc, side, "record the notification", SENT)?;
        let mut n = doc.notification.clone().unwrap_or_default();
        if n.in_force().is_some() || n.given.is_some() {
            return Err(wrong_state(
                case,
                &standing(&n),
                "record the notification",
                "no restriction in force and the subject not yet told",
            ));
        }
        n.given = Some(NotificationGiven {
            on: on.to_string(),
            means: input.means,
            note: note.map(str::to_owned),
            side,
            authority: self.cfg.id.to_string(),
            by: officer.to_owned(),
            at: ms_to_text(self.now_ms()),
        });
        doc.notification = Some(n);
        let mut w = Writer::new(self.now_ms());
        self.settle_notification_deadlines(&mut w, case, &[NOTIFY_SUBJECT], "met")
            .await?;
        self.commit_notification(
            w,
            officer,
            &row,
            &doc,
            "notified",
            Event::SubjectNotified,
            "record_notified",
            json!({"on": on.to_string(), "means": input.means.as_str()}),
        )
        .await
    }

    /// The notification record of a case, the provision a restriction would rest on, and the
    /// lifecycle's deadlines; the view is recorded in the audit trail.
    pub async fn notification(
        &self,
        officer: &str,
        case: &str,
    ) -> Result<NotificationView, NodeError> {
        let (_, doc) = self.load(case).await?;
        if doc.production_order.is_some() || doc.information.is_some() {
            return Err(wrong_state(
                case,
                doc.state.as_str(),
                "show the notification",
                "treaty requests only; this case is a domestic production order or spontaneous information",
            ));
        }
        let deadlines = self
            .store
            .case_deadlines(case)
            .await?
            .into_iter()
            .filter(|d| NOTIFICATION_DEADLINES.contains(&d.name.as_str()))
            .map(deadline_view)
            .collect();
        let mut w = Writer::new(self.now_ms());
        w.audit(officer, "view_notification", Some(case), json!({}));
        self.store.apply(&w.change).await?;
        let (provision, no_basis) = match Self::provision_of(&doc) {
            Ok(p) => (Some(p.to_owned()), None),
            Err(why) => (None, Some(why)),
        };
        Ok(NotificationView {
            case: doc.id.clone(),
            side: doc.side,
            kind: doc.kind,
            basis: doc.basis,
            provision,
            no_basis,
            notification: doc.notification.unwrap_or_default(),
            deadlines,
        })
    }

    /// On a delivery of data (either side), with no restriction asked and the subject not yet
    /// told: notification becomes due, and its reminder starts.
    pub(super) fn due_on_delivery(&self, w: &mut Writer, doc: &mut CaseDoc) {
        if doc.production_order.is_some() || doc.information.is_some() {
            return;
        }
        let n = doc.notification.get_or_insert_with(Notification::default);
        if n.restriction.is_some() || n.due.is_some() || n.given.is_some() {
            return;
        }
        n.due = Some(NotificationDue {
            since: ms_to_text(w.now),
            reason: DueReason::NoneAsked,
        });
        self.notify_deadline(w, &doc.id);
    }

    /// `tick`, when a restriction's end passes: an unrenewed restriction lapses, notification
    /// becomes due, and the requested side is told. `None` when the deadline no longer stands
    /// for the restriction (re-justified or lifted meanwhile: the case moved on).
    pub(super) async fn lapse_restriction(
        &self,
        d: &DeadlineRow,
    ) -> Result<Option<DeadlineView>, NodeError> {
        let (row, mut doc) = self.load(&d.case_id).await?;
        let mut n = doc.notification.clone().unwrap_or_default();
        let Some(r) = n
            .restriction
            .as_mut()
            .filter(|r| r.status == RestrictionStatus::InForce)
        else {
            return Ok(None);
        };
        let until = parse_date("until", &r.until)?;
        if doc.side != Side::Requesting || self.end_of_day(until) != d.due_at {
            return Ok(None);
        }
        r.status = RestrictionStatus::Lapsed;
        n.history.push(RestrictionStep {
            action: "lapsed".into(),
            at: ms_to_text(self.now_ms()),
            by: "node".into(),
            until: None,
            reason: None,
        });
        n.due = Some(NotificationDue {
            since: ms_to_text(d.due_at.saturating_add(1)),
            reason: DueReason::Lapsed,
        });
        doc.notification = Some(n);
        let mut w = Writer::new(self.now_ms());
        w.deadline(&d.case_id, &d.name, d.due_at, "met", d.data.clone());
        self.settle_notification_deadlines(&mut w, &d.case_id, &[RESTRICTION_REVIEW], "cancelled")
            .await?;
        self.notify_deadline(&mut w, &d.case_id);
        let until_text = until.to_string();
        match self
            .commit_notification(
                w,
                "node",
                &row,
                &doc,
                "lapsed",
                Event::RestrictionLapsed,
                "lapse_restriction",
                json!({"until": until_text}),
            )
            .await
        {
            Ok(_) => {}
            Err(NodeError::Conflict) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let mut done = d.clone();
        done.state = "met".into();
        Ok(Some(deadline_view(done)))
    }

    /// A `case.notification` envelope from the other side: checked against the record this
    /// node holds (the change must be one the sender may make from it), then kept.
    pub(super) async fn apply_notification(
        &self,
        mut w: Writer,
        from: &str,
        envelope: &str,
        payload: serde_json::Value,
    ) -> Result<(comity_store::Change, String), NodeError> {
        let kind = kinds::NOTIFICATION;
        let msg: messages::NotificationMsg = Self::parse_msg(kind, payload)?;
        let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
        if doc.production_order.is_some() || doc.information.is_some() {
            return Err(NodeError::BadInput(
                "a production order or spontaneous information has no notification record".into(),
            ));
        }
        let current = doc.notification.clone().unwrap_or_default();
        let theirs = msg.notification;
        let refuse = |why: &str| {
            Err(NodeError::BadInput(format!(
                "`{kind}` `{}`: {why} (this side holds: {})",
                msg.action,
                standing(&current)
            )))
        };
        let from_requesting = doc.side == Side::Requested;
        // The restriction's steps number its changes: a change must be the next one after the
        // record held here (a record further ahead arrived before a change it follows, and is
        // applied when that one has been, as any message that arrives out of order; one behind
        // contradicts what this side holds). A notification leaves the steps as they were.
        let have = current.history.len();
        let want = if msg.action == "notified" {
            have
        } else {
            have + 1
        };
        let got = theirs.history.len();
        if got > want {
            return Err(NodeError::IllegalTransition {
                case: doc.id.clone(),
                state: format!("{} restriction steps held", have),
                action: "apply a notification change",
                allowed: format!(
                    "the change after step {have}; a change it follows has not arrived"
                ),
            });
        }
        if got < want {
            return refuse("the record is behind the one this side holds");
        }
        let event = match msg.action.as_str() {
            "restricted" | "rejustified" | "lifted" | "lapsed" if !from_requesting => {
                return refuse("only the requesting side changes a restriction");
            }
            "restricted" => {
                if current.restriction.is_some() || current.given.is_some() {
                    return refuse("a restriction was already recorded, or the subject told");
                }
                match &theirs.restriction {
                    Some(r) if r.status == RestrictionStatus::InForce => {}
                    _ => return refuse("the record holds no restriction in force"),
                }
                Event::NotificationRestricted
            }
            "rejustified" => {
                let (Some(now), Some(next)) = (current.in_force(), theirs.in_force()) else {
                    return refuse("the restriction is not in force");
                };
                if next.rejustified != now.rejustified + 1 {
                    return refuse("the record is not the next justification");
                }
                Event::RestrictionRejustified
            }
            "lifted" | "lapsed" => {
                let want = if msg.action == "lifted" {
                    RestrictionStatus::Lifted
                } else {
                    RestrictionStatus::Lapsed
                };
                if current.in_force().is_none()
                    || theirs.restriction.as_ref().map(|r| r.status) != Some(want)
                    || theirs.due.is_none()
                {
                    return refuse(
                        "the restriction is not in force here, or the record does not end it",
                    );
                }
                if want == RestrictionStatus::Lifted {
                    Event::RestrictionLifted
                } else {
                    Event::RestrictionLapsed
                }
            }
            "notified" => {
                if current.in_force().is_some() || current.given.is_some() {
                    return refuse("a restriction is in force here, or the subject was told");
                }
                match &theirs.given {
                    Some(g) if g.side != doc.side => {}
                    _ => {
                        return refuse(
                            "the record does not say the sender's side told the subject",
                        );
                    }
                }
                Event::SubjectNotified
            }
            other => {
                return Err(NodeError::BadInput(format!(
                    "`{kind}`: unknown action `{other}`"
                )));
            }
        };
        if let Some(r) = &theirs.restriction {
            for (field, text) in [
                ("subject", r.subject.as_str()),
                ("reason", r.reason.as_str()),
            ] {
                bounded(
                    &format!("notification.restriction.{field}"),
                    text,
                    MAX_TEXT_CHARS,
                )?;
            }
            parse_date("notification.restriction.until", &r.until)?;
            let ours = Self::provision_of(&doc).map_err(NodeError::NoRestrictionBasis)?;
            if r.provision != ours {
                return refuse(&format!(
                    "the restriction cites `{}`, but this request rests on `{ours}`",
                    r.provision
                ));
            }
        }
        // The reminder to tell the subject runs while notification is due and not given.
        match event {
            Event::NotificationRestricted => {
                self.settle_notification_deadlines(&mut w, &doc.id, &[NOTIFY_SUBJECT], "cancelled")
                    .await?;
            }
            Event::SubjectNotified => {
                self.settle_notification_deadlines(&mut w, &doc.id, &[NOTIFY_SUBJECT], "met")
                    .await?;
            }
            Event::RestrictionLifted | Event::RestrictionLapsed => {
                self.notify_deadline(&mut w, &doc.id);
            }
            _ => {}
        }
        doc.notification = Some(theirs);
        w.leaf(self.case_leaf(&doc, event)?)?;
        self.finish_message(w, row, doc, event.as_str(), from, envelope)
            .await
    }
}
