//! The case page's section on the data subject's notification (`comity_node::Notification`):
//! the restriction (who may not be told, until when, why, on which provision, by whom) and its
//! history, when notification became due and when and how it was given, the lifecycle's
//! deadlines, and the forms — restrict, re-justify, lift (the requesting side) and notified
//! (either side) — offered where the case's side and record and the actor's role allow them.
//! Each form is the JSON API's use case of the same name
//! (`POST /v1/cases/{id}/notification/...`); the node checks side and state again.
//!
//! The section's texts are in [`NotificationText`], English and French.

use comity_node::{
    CaseView, DueReason, NOTIFICATION_DEADLINES, Notification, NotificationMeans, NotifiedInput,
    RejustifyInput, RestrictInput, RestrictionStatus, restriction_provision_of,
};

use super::*;

/// The texts of the notification section.
#[derive(Debug)]
pub struct NotificationText {
    pub lang: &'static str,
    pub title: &'static str,
    pub provision: &'static str,
    pub no_basis: &'static str,
    pub no_restriction: &'static str,
    pub status: &'static str,
    pub in_force: &'static str,
    pub lifted: &'static str,
    pub lapsed: &'static str,
    pub subject: &'static str,
    pub subject_hint: &'static str,
    pub until: &'static str,
    pub reason: &'static str,
    pub asked_by: &'static str,
    pub rejustified: &'static str,
    pub history: &'static str,
    pub due_since: &'static str,
    pub due_lifted: &'static str,
    pub due_lapsed: &'static str,
    pub due_none_asked: &'static str,
    pub given: &'static str,
    pub by_side: &'static str,
    pub deadlines: &'static str,
    pub restrict: &'static str,
    pub rejustify: &'static str,
    pub lift: &'static str,
    pub notified: &'static str,
    pub on: &'static str,
    pub means: &'static str,
    pub note: &'static str,
    pub means_words: [&'static str; 6],
}

pub static EN_TEXT: NotificationText = NotificationText {
    lang: "en",
    title: "Notification of the person concerned",
    provision: "Provision",
    no_basis: "No restriction can be asked for this request",
    no_restriction: "No restriction on telling the person concerned.",
    status: "Restriction",
    in_force: "in force",
    lifted: "lifted",
    lapsed: "lapsed",
    subject: "Who may not be told",
    subject_hint: "By reference to what the request holds (e.g. “the holder of the account named in the request”); no new personal data.",
    until: "Until (last day)",
    reason: "Reason",
    asked_by: "Asked by",
    rejustified: "Times re-justified",
    history: "History",
    due_since: "Notification due since",
    due_lifted: "the restriction was lifted",
    due_lapsed: "the restriction lapsed",
    due_none_asked: "data were delivered and no restriction was asked",
    given: "Told on",
    by_side: "side",
    deadlines: "Deadlines",
    restrict: "Restrict notification",
    rejustify: "Re-justify the restriction",
    lift: "Lift the restriction",
    notified: "Record that the person was told",
    on: "Day told",
    means: "How",
    note: "Note (required for “other”)",
    means_words: [
        "letter",
        "e-mail",
        "in person",
        "telephone",
        "through counsel or a court",
        "other",
    ],
};

pub static FR_TEXT: NotificationText = NotificationText {
    lang: "fr",
    title: "Information de la personne concernée",
    provision: "Disposition",
    no_basis: "Aucune restriction ne peut être demandée pour cette demande",
    no_restriction: "Aucune restriction à l’information de la personne concernée.",
    status: "Restriction",
    in_force: "en vigueur",
    lifted: "levée",
    lapsed: "caduque",
    subject: "Qui ne doit pas être informé",
    subject_hint: "Par renvoi à ce que contient la demande (p. ex. « le titulaire du compte désigné dans la demande ») ; aucune nouvelle donnée personnelle.",
    until: "Jusqu’au (dernier jour)",
    reason: "Motif",
    asked_by: "Demandée par",
    rejustified: "Nombre de nouvelles justifications",
    history: "Historique",
    due_since: "Information due depuis",
    due_lifted: "la restriction a été levée",
    due_lapsed: "la restriction est devenue caduque",
    due_none_asked: "des données ont été remises sans qu’aucune restriction soit demandée",
    given: "Informée le",
    by_side: "côté",
    deadlines: "Délais",
    restrict: "Restreindre l’information",
    rejustify: "Justifier à nouveau la restriction",
    lift: "Lever la restriction",
    notified: "Consigner que la personne a été informée",
    on: "Jour de l’information",
    means: "Moyen",
    note: "Note (obligatoire pour « autre »)",
    means_words: [
        "lettre",
        "courriel",
        "en personne",
        "téléphone",
        "par un avocat ou un tribunal",
        "autre",
    ],
};

/// Every language of the section.
pub static NOTIFICATION_CATALOGUE: [&NotificationText; 2] = [&EN_TEXT, &FR_TEXT];

/// The section's texts in `lang`, English if there are none.
pub fn notification_text(lang: &str) -> &'static NotificationText {
    NOTIFICATION_CATALOGUE
        .iter()
        .copied()
        .find(|m| m.lang == lang)
        .unwrap_or(&EN_TEXT)
}

/// What a notification form asks of the node.
pub(super) enum Change {
    Restrict(RestrictInput),
    Rejustify(RejustifyInput),
    Lift(String),
    /// The form's fields, or what is wrong with them.
    Notified(Result<NotifiedInput, String>),
}

impl Change {
    pub(super) async fn run<S: Store, C: Clock, E: Entropy>(
        self,
        node: &Node<S, C, E>,
        who: &str,
        id: &str,
    ) -> Result<CaseDoc, NodeError> {
        match self {
            Change::Restrict(input) => node.restrict_notification(who, id, &input).await,
            Change::Rejustify(input) => node.rejustify_restriction(who, id, &input).await,
            Change::Lift(reason) => node.lift_restriction(who, id, &reason).await,
            Change::Notified(Ok(input)) => node.record_notified(who, id, &input).await,
            Change::Notified(Err(why)) => Err(NodeError::BadInput(why)),
        }
    }
}

/// Which forms the section offers.
struct NForms {
    restrict: bool,
    rejustify: bool,
    lift: bool,
    notified: bool,
}

struct RestrictionModel {
    status: &'static str,
    status_words: &'static str,
    subject: String,
    until: String,
    reason: String,
    provision: Cite,
    by: String,
    authority: String,
    at: String,
    rejustified: u32,
}

struct StepModel {
    at: String,
    action: String,
    by: String,
    until: Option<String>,
    reason: Option<String>,
}

struct DueModel {
    since: String,
    code: &'static str,
    words: &'static str,
}

struct GivenModel {
    on: String,
    means: &'static str,
    means_words: &'static str,
    note: Option<String>,
    side: &'static str,
    by: String,
    authority: String,
}

#[derive(Template)]
#[template(path = "notification.html")]
struct Section {
    t: &'static NotificationText,
    id: String,
    csrf: String,
    provision: Option<Cite>,
    no_basis: Option<String>,
    restriction: Option<RestrictionModel>,
    history: Vec<StepModel>,
    due: Option<DueModel>,
    given: Option<GivenModel>,
    deadlines: Vec<DeadlineModel>,
    forms: NForms,
    means: Vec<Opt>,
    today: String,
}

fn status_words(t: &NotificationText, s: RestrictionStatus) -> &'static str {
    match s {
        RestrictionStatus::InForce => t.in_force,
        RestrictionStatus::Lifted => t.lifted,
        RestrictionStatus::Lapsed => t.lapsed,
    }
}

fn means_words(t: &NotificationText, m: NotificationMeans) -> &'static str {
    NotificationMeans::ALL
        .iter()
        .zip(t.means_words)
        .find(|(x, _)| **x == m)
        .map_or("", |(_, w)| w)
}

/// The section of a case page, rendered (empty for a domestic production order or spontaneous
/// information, which have no notification record).
pub(super) fn section(
    view: &CaseView,
    actor: &Actor,
    csrf: &str,
    lang: &str,
    today: &str,
) -> String {
    let doc = &view.case;
    if doc.production_order.is_some() || doc.information.is_some() {
        return String::new();
    }
    let t = notification_text(lang);
    let n: Notification = doc.notification.clone().unwrap_or_default();
    let (provision, no_basis) = match restriction_provision_of(doc) {
        Ok(p) => (Some(Cite::of(p)), None),
        Err(why) => (None, Some(why)),
    };
    let sent = !matches!(doc.state, CaseState::Draft | CaseState::Checked);
    let requesting = doc.side == Side::Requesting;
    let in_force = n.in_force().is_some();
    let restrict_ok = actor.may(Action::RestrictNotification);
    let forms = NForms {
        restrict: requesting
            && sent
            && provision.is_some()
            && n.restriction.is_none()
            && n.given.is_none()
            && restrict_ok,
        rejustify: requesting && in_force && restrict_ok,
        lift: requesting && in_force && restrict_ok,
        notified: sent && !in_force && n.given.is_none() && actor.may(Action::RecordNotification),
    };
    let section = Section {
        t,
        id: doc.id.clone(),
        csrf: csrf.to_owned(),
        provision,
        no_basis,
        restriction: n.restriction.as_ref().map(|r| RestrictionModel {
            status: r.status.as_str(),
            status_words: status_words(t, r.status),
            subject: r.subject.clone(),
            until: r.until.clone(),
            reason: r.reason.clone(),
            provision: Cite::of(&r.provision),
            by: r.by.clone(),
            authority: r.authority.clone(),
            at: r.at.clone(),
            rejustified: r.rejustified,
        }),
        history: n
            .history
            .iter()
            .map(|s| StepModel {
                at: s.at.clone(),
                action: s.action.clone(),
                by: s.by.clone(),
                until: s.until.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        due: n.due.as_ref().map(|d| {
            let words = match d.reason {
                DueReason::Lifted => t.due_lifted,
                DueReason::Lapsed => t.due_lapsed,
                DueReason::NoneAsked => t.due_none_asked,
            };
            DueModel {
                since: d.since.clone(),
                code: d.reason.as_str(),
                words,
            }
        }),
        given: n.given.as_ref().map(|g| GivenModel {
            on: g.on.clone(),
            means: g.means.as_str(),
            means_words: means_words(t, g.means),
            note: g.note.clone(),
            side: g.side.as_str(),
            by: g.by.clone(),
            authority: g.authority.clone(),
        }),
        deadlines: view
            .deadlines
            .iter()
            .filter(|d| NOTIFICATION_DEADLINES.contains(&d.name.as_str()))
            .map(|x| DeadlineModel {
                name: x.name.clone(),
                due_at: x.due_at.clone(),
                state: x.state.clone(),
                class: deadline_class(&x.state),
                cites: x
                    .data
                    .get("cites")
                    .and_then(serde_json::Value::as_str)
                    .map(|c| vec![Cite::of(c)])
                    .unwrap_or_default(),
            })
            .collect(),
        forms,
        means: NotificationMeans::ALL
            .iter()
            .zip(t.means_words)
            .enumerate()
            .map(|(i, (m, w))| Opt {
                value: m.as_str().to_owned(),
                label: w.to_owned(),
                on: i == 0,
            })
            .collect(),
        today: today.to_owned(),
    };
    section
        .render()
        .unwrap_or_else(|e| format!("<p>{}</p>", crate::escape(&e.to_string())))
}

/// Runs a notification form through the case forms' path (role, CSRF, the use case, back to
/// the case page or the page again with the node's refusal).
#[allow(clippy::too_many_arguments)]
async fn run_form<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    form: &Fields,
    action: Action,
    change: Change,
) -> Response {
    act(
        node,
        actor,
        t,
        options,
        id,
        form,
        action,
        Act::Notification(change),
    )
    .await
}

pub(super) async fn restrict<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let change = Change::Restrict(RestrictInput {
        subject: form.text("subject"),
        until: form.text("until"),
        reason: form.text("reason"),
    });
    run_form(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RestrictNotification,
        change,
    )
    .await
}

pub(super) async fn rejustify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let change = Change::Rejustify(RejustifyInput {
        until: form.text("until"),
        reason: form.text("reason"),
    });
    run_form(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RestrictNotification,
        change,
    )
    .await
}

pub(super) async fn lift<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let change = Change::Lift(form.text("reason"));
    run_form(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RestrictNotification,
        change,
    )
    .await
}

pub(super) async fn notified<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let means = form.text("means");
    let input = match NotificationMeans::parse(&means) {
        Some(means) => Ok(NotifiedInput {
            on: Some(form.text("on")).filter(|d| !d.is_empty()),
            means,
            note: Some(form.text("note")).filter(|n| !n.is_empty()),
        }),
        None => Err(format!(
            "`means`: `{means}` is not one of {}",
            NotificationMeans::ALL
                .map(NotificationMeans::as_str)
                .join(", ")
        )),
    };
    run_form(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RecordNotification,
        Change::Notified(input),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_means_has_words_in_every_language() {
        for t in NOTIFICATION_CATALOGUE {
            assert_eq!(t.means_words.len(), NotificationMeans::ALL.len());
            assert!(t.means_words.iter().all(|w| !w.is_empty()), "{}", t.lang);
        }
        assert_eq!(means_words(&FR_TEXT, NotificationMeans::Letter), "lettre");
        assert_eq!(notification_text("de").lang, "en");
    }
}
