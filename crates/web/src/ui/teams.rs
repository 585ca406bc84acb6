//! Joint investigation teams in the officer UI (UNCC 48; SAP2 12, which the treaty digest marks
//! unverified): the list of the node's teams with the form that creates one, and a team's page —
//! the agreement and its hash, the members and where each stands, the thread, the items with
//! their SHA-256 and chain of custody, the history — with the forms its state and the actor's
//! role allow (join or decline, post with files, open an item, close).
//!
//! Each form is the JSON API's use case of the same name (`crates/api/src/teams.rs`): the role
//! is checked against the matrix ([`Action::ViewTeams`], [`Action::TeamAgreement`],
//! [`Action::TeamWork`]), the CSRF token against the session, and the node checks the team's
//! state again whatever the page offered, answering with the team page, its error code and
//! status (404 no such team, 409 ended or not active, 403 not the creator, 422 bad input).

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use comity_node::{
    CustodyEntry, MemberStatus, NewTeam, OnwardUse, TeamListed, TeamState, TeamView, UseConditions,
    team_basis_cite,
};
use comity_protocol::Role as AuthorityRole;

use super::*;

/// The largest post form: what one envelope carries (4 MiB, about 3 MiB of items once
/// base64-encoded, which the node checks), with room for the multipart framing.
const MAX_POST: usize = 6 * 1024 * 1024;

/// The texts of the team pages, in each language of the UI.
#[derive(Debug)]
pub struct TeamText {
    pub lang: &'static str,
    pub nav: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub none: &'static str,
    pub team: &'static str,
    pub purpose: &'static str,
    pub basis: &'static str,
    pub unverified: &'static str,
    pub state: &'static str,
    pub active: &'static str,
    pub inactive: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub members: &'static str,
    pub member: &'static str,
    pub party: &'static str,
    pub status: &'static str,
    pub creator: &'static str,
    pub agreement: &'static str,
    pub agreement_hash: &'static str,
    pub conditions: &'static str,
    pub purpose_only: &'static str,
    pub consent_for_other_use: &'static str,
    pub onward: &'static str,
    pub onward_forbidden: &'static str,
    pub onward_with_consent: &'static str,
    pub onward_permitted: &'static str,
    pub other_conditions: &'static str,
    pub other_conditions_hint: &'static str,
    pub create_title: &'static str,
    pub create: &'static str,
    pub thread: &'static str,
    pub no_posts: &'static str,
    pub items: &'static str,
    pub no_items: &'static str,
    pub name: &'static str,
    pub custody: &'static str,
    pub open: &'static str,
    pub open_hint: &'static str,
    pub history: &'static str,
    pub event: &'static str,
    pub by: &'static str,
    pub join_title: &'static str,
    pub join: &'static str,
    pub join_hint: &'static str,
    pub decline: &'static str,
    pub reason: &'static str,
    pub post_title: &'static str,
    pub text: &'static str,
    pub files: &'static str,
    pub post: &'static str,
    pub close_title: &'static str,
    pub close: &'static str,
    pub ended: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub invited: &'static str,
    pub joined: &'static str,
    pub declined: &'static str,
    pub closed: &'static str,
}

pub static TEAM_EN: TeamText = TeamText {
    lang: "en",
    nav: "Teams",
    title: "Joint investigation teams",
    intro: "Teams set up by agreement between authorities of two or more Parties (UNCC 48; SAP2 12). Members that joined share messages and evidence items while the team is active, under the agreement's conditions.",
    none: "This node is a member of no team.",
    team: "Team",
    purpose: "Purpose",
    basis: "Legal basis",
    unverified: "unverified",
    state: "State",
    active: "active",
    inactive: "not active",
    start: "First day",
    end: "Last day",
    members: "Members",
    member: "Member authority",
    party: "Party",
    status: "Status",
    creator: "Created by",
    agreement: "Agreement",
    agreement_hash: "SHA-256 of the agreement",
    conditions: "Conditions of use",
    purpose_only: "Shared material is used only for the purpose of the agreement",
    consent_for_other_use: "Any other use needs the consent of the member that shared it",
    onward: "Passing material on outside the team",
    onward_forbidden: "forbidden",
    onward_with_consent: "only with the consent of the member that shared it",
    onward_permitted: "permitted under the other conditions",
    other_conditions: "Other conditions",
    other_conditions_hint: "one per line",
    create_title: "Set up a team",
    create: "Create and send the agreement",
    thread: "Thread",
    no_posts: "No posts yet.",
    items: "Items",
    no_items: "No items.",
    name: "Name",
    custody: "Chain of custody",
    open: "Open",
    open_hint: "Opening an item checks its bytes against the recorded SHA-256; it is recorded in the audit trail and in the transparency log.",
    history: "History",
    event: "Event",
    by: "By",
    join_title: "Answer the agreement",
    join: "Join: accept the agreement as received",
    join_hint: "Joining records the SHA-256 of the agreement above and tells every other member.",
    decline: "Decline",
    reason: "Reasons",
    post_title: "Post to the team",
    text: "Message",
    files: "Items (files)",
    post: "Post to every member that joined",
    close_title: "End the team",
    close: "Close the team",
    ended: "Ended",
    yes: "yes",
    no: "no",
    invited: "invited",
    joined: "joined",
    declined: "declined",
    closed: "closed",
};

pub static TEAM_FR: TeamText = TeamText {
    lang: "fr",
    nav: "Équipes",
    title: "Équipes communes d’enquête",
    intro: "Équipes créées par accord entre autorités de deux Parties ou plus (CNUCC 48 ; PA2 12). Les membres qui y ont adhéré échangent messages et éléments de preuve tant que l’équipe est active, aux conditions de l’accord.",
    none: "Ce nœud n’est membre d’aucune équipe.",
    team: "Équipe",
    purpose: "Objet",
    basis: "Base juridique",
    unverified: "non vérifié",
    state: "État",
    active: "active",
    inactive: "inactive",
    start: "Premier jour",
    end: "Dernier jour",
    members: "Membres",
    member: "Autorité membre",
    party: "Partie",
    status: "Statut",
    creator: "Créée par",
    agreement: "Accord",
    agreement_hash: "SHA-256 de l’accord",
    conditions: "Conditions d’utilisation",
    purpose_only: "Les éléments partagés ne servent qu’à l’objet de l’accord",
    consent_for_other_use: "Tout autre usage requiert le consentement du membre qui les a partagés",
    onward: "Transmission hors de l’équipe",
    onward_forbidden: "interdite",
    onward_with_consent: "seulement avec le consentement du membre qui les a partagés",
    onward_permitted: "permise aux autres conditions",
    other_conditions: "Autres conditions",
    other_conditions_hint: "une par ligne",
    create_title: "Créer une équipe",
    create: "Créer et envoyer l’accord",
    thread: "Fil",
    no_posts: "Aucun message pour l’instant.",
    items: "Éléments",
    no_items: "Aucun élément.",
    name: "Nom",
    custody: "Chaîne de possession",
    open: "Ouvrir",
    open_hint: "L’ouverture vérifie les octets contre le SHA-256 enregistré ; elle est inscrite au journal d’audit et au journal de transparence.",
    history: "Historique",
    event: "Événement",
    by: "Par",
    join_title: "Répondre à l’accord",
    join: "Adhérer : accepter l’accord tel que reçu",
    join_hint: "L’adhésion enregistre le SHA-256 de l’accord ci-dessus et en informe chaque autre membre.",
    decline: "Refuser",
    reason: "Motifs",
    post_title: "Écrire à l’équipe",
    text: "Message",
    files: "Éléments (fichiers)",
    post: "Envoyer à chaque membre ayant adhéré",
    close_title: "Mettre fin à l’équipe",
    close: "Clore l’équipe",
    ended: "Terminée",
    yes: "oui",
    no: "non",
    invited: "invitée",
    joined: "membre",
    declined: "a refusé",
    closed: "close",
};

pub static TEAM_CATALOGUE: [&TeamText; 2] = [&TEAM_EN, &TEAM_FR];

/// The team texts in the language of `t`.
pub fn team_text(t: &Messages) -> &'static TeamText {
    TEAM_CATALOGUE
        .iter()
        .copied()
        .find(|x| x.lang == t.lang)
        .unwrap_or(&TEAM_EN)
}

fn state_word(x: &TeamText, s: TeamState) -> &'static str {
    match s {
        TeamState::Invited => x.invited,
        TeamState::Joined => x.joined,
        TeamState::Declined => x.declined,
        TeamState::Closed => x.closed,
    }
}

fn member_word(x: &TeamText, s: MemberStatus) -> &'static str {
    match s {
        MemberStatus::Invited => x.invited,
        MemberStatus::Joined => x.joined,
        MemberStatus::Declined => x.declined,
    }
}

fn basis_words(x: &TeamText, basis: Instrument) -> String {
    let (cite, verified) = team_basis_cite(basis);
    if verified {
        cite.to_owned()
    } else {
        format!("{cite} ({})", x.unverified)
    }
}

fn onward_word(x: &TeamText, o: OnwardUse) -> &'static str {
    match o {
        OnwardUse::Forbidden => x.onward_forbidden,
        OnwardUse::WithConsent => x.onward_with_consent,
        OnwardUse::Permitted => x.onward_permitted,
    }
}

fn status_of(e: &NodeError) -> StatusCode {
    match e {
        NodeError::UnknownTeam(_) | NodeError::NotFound(_) => StatusCode::NOT_FOUND,
        NodeError::Store(_) | NodeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        NodeError::TeamClosed(_)
        | NodeError::TeamInactive(_)
        | NodeError::IllegalTransition { .. }
        | NodeError::Conflict => StatusCode::CONFLICT,
        NodeError::NotTeamCreator(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

// ----- the list and the create form ----------------------------------------------------------

struct Row {
    id: String,
    purpose: String,
    basis: String,
    state: &'static str,
    active: bool,
    start: String,
    end: String,
    members: usize,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    chrome: Chrome,
    x: &'static TeamText,
    rows: Vec<Row>,
    can_create: bool,
    candidates: Vec<Opt>,
    today: String,
}

fn row(x: &TeamText, l: &TeamListed) -> Row {
    let a = &l.team.agreement;
    Row {
        id: l.team.id.clone(),
        purpose: a.purpose.clone(),
        basis: basis_words(x, a.basis),
        state: state_word(x, l.team.state),
        active: l.active,
        start: a.start.clone(),
        end: a.end.clone(),
        members: a.members.len(),
    }
}

/// The authorities a team may be set up with: every cooperation authority of the directory
/// but this node (service providers and oversight bodies are no members).
fn candidates<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>, chosen: &[&str]) -> Vec<Opt> {
    node.directory()
        .directory()
        .authorities
        .iter()
        .filter(|a| {
            &a.id != node.id()
                && !matches!(
                    a.role,
                    AuthorityRole::ServiceProvider | AuthorityRole::Oversight
                )
        })
        .map(|a| Opt {
            value: a.id.to_string(),
            label: format!("{} — {} ({})", a.id, a.name, a.party),
            on: chosen.contains(&a.id.as_str()),
        })
        .collect()
}

async fn render_list<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    status: StatusCode,
    error: Option<String>,
    chosen: &[&str],
) -> Response {
    let x = team_text(t);
    let mut c = chrome(node, Some(actor), t, options, "/teams");
    let rows = match node.teams().await {
        Ok(list) => list.iter().map(|l| row(x, l)).collect(),
        Err(e) => {
            return message(c, status_of(&e), "500", &format!("{e} ({})", e.code()));
        }
    };
    c.error = error;
    page(
        status,
        &TeamsPage {
            chrome: c,
            x,
            rows,
            can_create: actor.may(Action::TeamAgreement),
            candidates: candidates(node, chosen),
            today: node
                .now()
                .to_string()
                .get(..10)
                .unwrap_or_default()
                .to_owned(),
        },
    )
}

/// `GET /teams`.
pub(super) async fn teams_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::ViewTeams, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_list(&node, &actor, t, &options, StatusCode::OK, None, &[]).await
}

/// `POST /teams`: `member` (repeated), `purpose`, `start`, `end`, `basis`, `purpose_only`,
/// `consent_for_other_use` (checkboxes), `onward`, `other` (one condition a line), as the
/// API's `POST /v1/teams`.
pub(super) async fn create<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match require_form(
        &node,
        actor,
        Action::TeamAgreement,
        t,
        &options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let members: Vec<&str> = form.all("member");
    let refuse = |why: String| {
        render_list(
            &node,
            &actor,
            t,
            &options,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(why),
            &members,
        )
    };
    let basis_code = form.text("basis");
    let Some(basis) = Instrument::from_code(&basis_code) else {
        return refuse(format!(
            "`basis`: `{basis_code}` (expected `UNCC` or `SAP2`)"
        ))
        .await;
    };
    let onward_code = form.text("onward");
    let Some(onward) = OnwardUse::parse(&onward_code) else {
        return refuse(format!(
            "`conditions.onward`: `{onward_code}` (expected `forbidden`, `with_consent` or `permitted`)"
        ))
        .await;
    };
    let other: Vec<String> = form
        .text("other")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let input = NewTeam {
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        purpose: form.text("purpose"),
        start: form.text("start"),
        end: form.text("end"),
        basis,
        conditions: UseConditions {
            purpose_only: form.get("purpose_only").is_some(),
            consent_for_other_use: form.get("consent_for_other_use").is_some(),
            onward,
            other,
        },
    };
    match node.create_team(&actor.username, input).await {
        Ok(doc) => Redirect::to(&format!("/teams/{}", doc.id)).into_response(),
        Err(e) => {
            let status = status_of(&e);
            render_list(
                &node,
                &actor,
                t,
                &options,
                status,
                Some(format!("{e} ({})", e.code())),
                &members,
            )
            .await
        }
    }
}

// ----- a team's page -------------------------------------------------------------------------

struct MemberModel {
    authority: String,
    party: String,
    status: &'static str,
    at: String,
    reason: String,
}

struct ItemRefModel {
    name: String,
    sha256: String,
}

struct PostModel {
    at: String,
    by: String,
    text: String,
    items: Vec<ItemRefModel>,
}

struct ItemModel {
    id: String,
    name: String,
    sha256: String,
    held: bool,
    custody: Vec<CustodyEntry>,
}

struct EventModel {
    seq: i64,
    at: String,
    kind: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    x: &'static TeamText,
    id: String,
    purpose: String,
    basis: String,
    state: &'static str,
    active: bool,
    start: String,
    end: String,
    creator: String,
    created_at: String,
    agreement_sha256: String,
    purpose_only: &'static str,
    consent_for_other_use: &'static str,
    onward: &'static str,
    other: Vec<String>,
    ended: Option<String>,
    members: Vec<MemberModel>,
    posts: Vec<PostModel>,
    items: Vec<ItemModel>,
    events: Vec<EventModel>,
    can_answer: bool,
    can_post: bool,
    can_open: bool,
    can_close: bool,
}

fn team_page(c: Chrome, x: &'static TeamText, actor: &Actor, me: &str, v: &TeamView) -> TeamPage {
    let d = &v.team;
    let a = &d.agreement;
    let yes_no = |b: bool| if b { x.yes } else { x.no };
    let closed = d.state == TeamState::Closed;
    TeamPage {
        chrome: c,
        x,
        id: d.id.clone(),
        purpose: a.purpose.clone(),
        basis: basis_words(x, a.basis),
        state: state_word(x, d.state),
        active: v.active,
        start: a.start.clone(),
        end: a.end.clone(),
        creator: a.creator.clone(),
        created_at: a.created_at.clone(),
        agreement_sha256: d.agreement_sha256.clone(),
        purpose_only: yes_no(a.conditions.purpose_only),
        consent_for_other_use: yes_no(a.conditions.consent_for_other_use),
        onward: onward_word(x, a.conditions.onward),
        other: a.conditions.other.clone(),
        ended: d
            .closed
            .as_ref()
            .map(|c| format!("{} — {}: {}", c.at, c.by, c.reason)),
        members: d
            .members
            .iter()
            .map(|m| MemberModel {
                authority: m.authority.clone(),
                party: m.party.clone(),
                status: member_word(x, m.status),
                at: m.at.clone().unwrap_or_default(),
                reason: m.reason.clone().unwrap_or_default(),
            })
            .collect(),
        posts: d
            .posts
            .iter()
            .map(|p| PostModel {
                at: p.at.clone(),
                by: p.by.clone(),
                text: p.text.clone(),
                items: p
                    .items
                    .iter()
                    .map(|i| ItemRefModel {
                        name: i.name.clone(),
                        sha256: i.sha256.clone(),
                    })
                    .collect(),
            })
            .collect(),
        items: v
            .items
            .iter()
            .map(|i| ItemModel {
                id: i.id.clone(),
                name: i.name.clone(),
                sha256: i.sha256.clone(),
                held: i.held,
                custody: i.custody.clone(),
            })
            .collect(),
        events: v
            .events
            .iter()
            .map(|e| EventModel {
                seq: e.seq,
                at: e.at.clone(),
                kind: e.kind.clone(),
                actor: e.actor.clone(),
            })
            .collect(),
        can_answer: d.state == TeamState::Invited && actor.may(Action::TeamAgreement),
        // A post needs another member that joined: it would reach nobody.
        can_post: v.active
            && actor.may(Action::TeamWork)
            && d.members
                .iter()
                .any(|m| m.authority != me && m.status == MemberStatus::Joined),
        can_open: d.state == TeamState::Joined && actor.may(Action::TeamWork),
        can_close: !closed && a.creator == me && actor.may(Action::TeamAgreement),
    }
}

async fn render_team<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let x = team_text(t);
    let mut c = chrome(node, Some(actor), t, options, "");
    let view = match node.show_team(&actor.username, id).await {
        Ok(v) => v,
        Err(e) => {
            let s = status_of(&e);
            let heading = format!("{} — {}", s.as_u16(), x.team);
            return message(c, s, &heading, &format!("{e} ({})", e.code()));
        }
    };
    c.error = error;
    let me = node.id().to_string();
    page(status, &team_page(c, x, actor, &me, &view))
}

/// `GET /teams/{id}`.
pub(super) async fn team<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
) -> Response {
    let actor = match require(&node, actor, Action::ViewTeams, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_team(&node, &actor, t, &options, &id, StatusCode::OK, None).await
}

/// What a form of the team page does.
enum Step {
    Join,
    Decline(String),
    Close(String),
}

async fn step<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    form: Vec<(String, String)>,
    make: fn(&Fields) -> Step,
) -> Response {
    let form = Fields(form);
    let actor = match require_form(
        node,
        actor,
        Action::TeamAgreement,
        t,
        options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let who = actor.username.as_str();
    let done = match make(&form) {
        Step::Join => node.join_team(who, id).await,
        Step::Decline(reason) => node.decline_team(who, id, &reason).await,
        Step::Close(reason) => node.close_team(who, id, &reason).await,
    };
    match done {
        Ok(_) => Redirect::to(&format!("/teams/{id}")).into_response(),
        Err(e) => {
            render_team(
                node,
                &actor,
                t,
                options,
                id,
                status_of(&e),
                Some(format!("{e} ({})", e.code())),
            )
            .await
        }
    }
}

/// `POST /teams/{id}/join`.
pub(super) async fn join<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    step(&node, actor, t, &options, &id, form, |_| Step::Join).await
}

/// `POST /teams/{id}/decline`: `reason`.
pub(super) async fn decline<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    step(&node, actor, t, &options, &id, form, |f| {
        Step::Decline(f.text("reason"))
    })
    .await
}

/// `POST /teams/{id}/close`: `reason`.
pub(super) async fn close<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    step(&node, actor, t, &options, &id, form, |f| {
        Step::Close(f.text("reason"))
    })
    .await
}

/// `POST /teams/{id}/posts` (`multipart/form-data`): `text`, files in `item`, the CSRF token in
/// `csrf`.
pub(super) async fn share<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let actor = match require(&node, actor, Action::TeamWork, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let bad_form = |status: StatusCode, why: String| {
        message(
            chrome(&node, Some(&actor), t, &options, ""),
            status,
            &format!("{} — the form could not be read", status.as_u16()),
            &why,
        )
    };
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return bad_form(e.status(), e.body_text()),
    };
    let mut fields = Vec::new();
    let mut items = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return bad_form(e.status(), e.body_text()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "item" {
            let file = field
                .file_name()
                .map(|f| {
                    f.rsplit(['/', '\\'])
                        .next()
                        .unwrap_or_default()
                        .chars()
                        .filter(|c| !c.is_control())
                        .collect::<String>()
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => return bad_form(e.status(), e.body_text()),
            };
            // A file input left empty still sends a part, without a name or bytes.
            if file.is_empty() && bytes.is_empty() {
                continue;
            }
            items.push((file, bytes.to_vec()));
        } else {
            match field.text().await {
                Ok(v) => fields.push((name, v)),
                Err(e) => return bad_form(e.status(), e.body_text()),
            }
        }
    }
    let form = Fields(fields);
    if !csrf_ok(&actor, &form, &HeaderMap::new()) {
        return csrf_refused(&node, &actor, t, &options);
    }
    match node
        .post_to_team(&actor.username, &id, &form.text("text"), items)
        .await
    {
        Ok(_) => Redirect::to(&format!("/teams/{id}")).into_response(),
        Err(e) => {
            render_team(
                &node,
                &actor,
                t,
                &options,
                &id,
                status_of(&e),
                Some(format!("{e} ({})", e.code())),
            )
            .await
        }
    }
}

/// `POST /teams/{id}/items/{item}/open`: the item's bytes, as a download, after the node
/// checked them against the recorded hash; the opening is audited and logged.
pub(super) async fn open<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path((id, item)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match require_form(
        &node,
        actor,
        Action::TeamWork,
        t,
        &options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (name, bytes) = match node.open_team_item(&actor.username, &id, &item).await {
        Ok(x) => x,
        Err(e) => {
            return render_team(
                &node,
                &actor,
                t,
                &options,
                &id,
                status_of(&e),
                Some(format!("{e} ({})", e.code())),
            )
            .await;
        }
    };
    let sha = comity_crypto::Sha256Digest::of(&bytes).to_string();
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = Response::new(axum::body::Body::from(bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&sha) {
        h.insert("x-comity-sha256", v);
    }
    r
}

/// The team routes, merged into the UI's router (the post form takes files).
pub(super) fn routes<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>()
-> Router<Shared<S, C, E>> {
    Router::new()
        .route("/teams", get(teams_page::<S, C, E>).post(create::<S, C, E>))
        .route("/teams/{id}", get(team::<S, C, E>))
        .route("/teams/{id}/join", post(join::<S, C, E>))
        .route("/teams/{id}/decline", post(decline::<S, C, E>))
        .route("/teams/{id}/close", post(close::<S, C, E>))
        .route(
            "/teams/{id}/posts",
            post(share::<S, C, E>).layer(axum::extract::DefaultBodyLimit::max(MAX_POST)),
        )
        .route("/teams/{id}/items/{item}/open", post(open::<S, C, E>))
}
