//! Training mode: a sandbox node for learning the officer UI on fictional cases.
//!
//! - **Marked everywhere.** A training node ([`UiOptions::training`]) shows a banner on every
//!   page and prefixes every title (`templates/base.html`).
//! - **Sealed off.** A training node runs only with a training directory: its network's name
//!   contains `training`, and every other authority's endpoints are on loopback
//!   ([`refuse_real_peers`], checked by `comity serve` before it opens anything). So nothing a
//!   trainee does can reach a real authority.
//! - **Guided exercises checked by the engine** (`/training`): drafting a complete preservation
//!   request (the draft is decided by the treaty engine, and passes when nothing required is
//!   missing), and deciding a fixed fictional MLA request under the UNCC and under the Budapest
//!   Convention (the trainee's outcome and the status of each ground raised are compared with
//!   the engine's decision under each instrument, with the provisions cited). No answer is
//!   written down here: the rules decide.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use comity_node::{Clock, Entropy, Node};
use comity_protocol::{AuthorityId, Directory};
use comity_rules::RuleSet;
use comity_store::Store;
use comity_types::{
    Code, Content, DataCategory, Ground, GroundStatus, Instrument, Outcome, RequestKind,
};

use crate::auth::{Action, Actor};
use crate::engine::{self, Cite, Composed};
use crate::i18n::Messages;
use crate::ui::{
    Chrome, Fields, Lang, MaybeActor, Shared, UiOptions, chrome, csrf_ok, csrf_refused, message,
    page, require_form,
};
use crate::words;

/// The training routes (merged into [`crate::ui::router`]).
pub fn routes<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>()
-> Router<Shared<S, C, E>> {
    Router::new()
        .route("/training", get(exercises::<S, C, E>))
        .route(
            "/training/preservation",
            post(check_preservation::<S, C, E>),
        )
        .route("/training/decide", post(check_decision::<S, C, E>))
}

// ----- sealed off ------------------------------------------------------------------------------

/// Why a training node may not run with `directory` (`None`: it may): the network must be a
/// training network, and every other authority reachable only on this machine.
pub fn refuse_real_peers(directory: &Directory, me: &AuthorityId) -> Option<String> {
    let network = directory.network.to_string();
    if !network.contains("training") {
        return Some(format!(
            "a training node runs only in a training network (a directory whose network name contains `training`), not in `{network}`"
        ));
    }
    for a in directory.authorities.iter().filter(|a| &a.id != me) {
        for endpoint in [&a.node_endpoint, &a.officer_endpoint] {
            if !is_loopback(endpoint.as_str()) {
                return Some(format!(
                    "authority `{}`: endpoint `{endpoint}` is not on loopback; a training node reaches no real authority",
                    a.id
                ));
            }
        }
    }
    None
}

/// Whether an endpoint URL names this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

// ----- the fixed fictional case of the decision exercise ---------------------------------------

/// The request of the decision exercise: fictional Parties bound by both Conventions, a
/// fraud case that the requested Party finds political, fiscal and touching its essential
/// interests. Decided under each instrument in turn.
pub const DECISION_CASE: &str = r#"format = "comity.scenario/1"
id = "training-decide"
title = "Training: invoices of a party treasurer's web shop"
date = "2027-06-01"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]

[parties.BO]
name = "Borduria"
instruments = ["UNCC", "BUD"]

[request]
from = "AR"
to = "BO"
basis = "BASIS"
kind = "mla"
data = ["subscriber", "content"]
supplied = ["requesting_authority", "investigation_subject", "facts_summary", "assistance_sought", "purpose", "offence_and_facts"]

[request.offence]
category = "fraud"
max_penalty_years = 6
max_penalty_years_requested = 5

[request.facts]
political_offence = true
fiscal_only = true
essential_interests = true
"#;

/// The grounds the facts of the decision exercise raise.
pub const RAISED: [Ground; 3] = [
    Ground::EssentialInterests,
    Ground::PoliticalOffence,
    Ground::FiscalOnly,
];

/// The instruments the request is decided under.
const UNDER: [Instrument; 2] = [Instrument::Uncc, Instrument::Bud];

/// What the trainee answers for "raises no ground" (a fact the instrument does not treat as a
/// ground for this kind of request).
const NO_GROUND: &str = "none";

/// A raised ground, its status under an instrument (`None`: the fact raises no ground there)
/// and the citations behind it.
type GroundAnswer = (Ground, Option<GroundStatus>, Vec<String>);

/// The engine's decision of the exercise's request under `basis`: the outcome, and each raised
/// ground's status with its citations.
fn decide_case(basis: Instrument) -> Result<(Outcome, Vec<GroundAnswer>), String> {
    let rules = RuleSet::builtin().map_err(|e| format!("the rules do not compile: {e}"))?;
    let text = DECISION_CASE.replace("\"BASIS\"", &format!("\"{}\"", basis.code()));
    let file = comity_scenario::parse("training-decide", &text).map_err(|e| e.to_string())?;
    let d = rules.decide(&file.scenario);
    let grounds = RAISED
        .iter()
        .map(|g| {
            let found = d.grounds.iter().find(|f| f.ground == *g);
            (
                *g,
                found.map(|f| f.status),
                found
                    .map(|f| f.provision.cites.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            )
        })
        .collect();
    Ok((d.outcome, grounds))
}

// ----- the words of the exercises --------------------------------------------------------------

/// The texts of the training pages in every language of [`crate::i18n::CATALOGUE`].
#[derive(Debug)]
pub struct TrainingText {
    pub lang: &'static str,
    pub nav: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub ex1: &'static str,
    pub ex1_task: &'static str,
    pub ex2: &'static str,
    pub ex2_task: &'static str,
    pub ex2_facts: &'static str,
    pub under: &'static str,
    pub outcome: &'static str,
    pub no_ground: &'static str,
    pub submit: &'static str,
    pub passed: &'static str,
    pub not_yet: &'static str,
    pub not_preservation: &'static str,
    pub yours: &'static str,
    pub engines: &'static str,
    pub right: &'static str,
    pub all_right: &'static str,
    pub wrong: &'static str,
    pub more: &'static str,
    pub more_list: [&'static str; 3],
}

pub static TRAINING_EN: TrainingText = TrainingText {
    lang: "en",
    nav: "Exercises",
    title: "Training exercises",
    intro: "This node is a sandbox: its cases are fictional, its peers are the other training nodes on this machine, and it refuses to run with any real authority in its directory. The exercises are checked by the treaty engine, the same that decides real requests.",
    ex1: "1. Draft a complete preservation request",
    ex1_task: "Choose the kind of request, the instrument and the contents your request supplies. The engine decides the draft: it passes when nothing the instrument requires is missing.",
    ex2: "2. Decide this MLA request under the UNCC and under the Budapest Convention",
    ex2_task: "Arcadia asks Borduria for the subscriber and content data of a web shop used to invoice party donations as sales (fraud, 6 years in Arcadia, 5 in Borduria). Borduria finds the offence political, purely fiscal, and touching its essential interests. For each instrument, say what the instrument lets Borduria do, and how it treats each ground.",
    ex2_facts: "Facts found by the requested Party",
    under: "Under",
    outcome: "Outcome",
    no_ground: "raises no ground",
    submit: "Check my answer",
    passed: "Passed: the engine finds nothing missing.",
    not_yet: "Not yet: see what the engine says.",
    not_preservation: "This is not a preservation request: choose the kind `preservation`.",
    yours: "Your answer",
    engines: "The engine",
    right: "right",
    all_right: "All right: your answers are the engine's decision under both Conventions.",
    wrong: "wrong",
    more: "More to try on the fictional cases",
    more_list: [
        "Open a received request from the inbox, record the facts, and try to refuse it: the node asks you to consult first and to give reasons.",
        "Compose a request without a summary of the facts, send it with a reason, and answer the clarification it draws.",
        "Log in as the auditor: the cases are there, the forms are not.",
    ],
};

pub static TRAINING_FR: TrainingText = TrainingText {
    lang: "fr",
    nav: "Exercices",
    title: "Exercices de formation",
    intro: "Ce nœud est un bac à sable : ses affaires sont fictives, ses pairs sont les autres nœuds de formation de cette machine, et il refuse de fonctionner avec une autorité réelle dans son annuaire. Les exercices sont corrigés par le moteur des traités, celui-là même qui décide les demandes réelles.",
    ex1: "1. Rédiger une demande de conservation complète",
    ex1_task: "Choisissez le type de demande, l’instrument et les éléments que fournit votre demande. Le moteur décide le projet : il est réussi lorsqu’il ne manque rien de ce que l’instrument exige.",
    ex2: "2. Décider cette demande d’entraide au titre de la CNUCC et de la Convention de Budapest",
    ex2_task: "L’Arcadie demande à la Bordurie les données d’abonné et de contenu d’une boutique en ligne servant à facturer des dons à un parti comme des ventes (fraude, 6 ans en Arcadie, 5 en Bordurie). La Bordurie estime l’infraction politique, purement fiscale et touchant ses intérêts essentiels. Pour chaque instrument, dites ce qu’il permet à la Bordurie et comment il traite chaque motif.",
    ex2_facts: "Faits constatés par la Partie requise",
    under: "Au titre de",
    outcome: "Conclusion",
    no_ground: "n’ouvre aucun motif",
    submit: "Vérifier ma réponse",
    passed: "Réussi : le moteur ne constate aucun manque.",
    not_yet: "Pas encore : voyez ce que dit le moteur.",
    not_preservation: "Ce n’est pas une demande de conservation : choisissez le type `preservation`.",
    yours: "Votre réponse",
    engines: "Le moteur",
    right: "juste",
    all_right: "Tout est juste : vos réponses sont la décision du moteur au titre des deux Conventions.",
    wrong: "inexact",
    more: "À essayer aussi sur les affaires fictives",
    more_list: [
        "Ouvrez une demande reçue depuis la boîte de réception, enregistrez les faits et tentez de la refuser : le nœud vous demande de consulter d’abord et de motiver.",
        "Rédigez une demande sans résumé des faits, envoyez-la avec une justification et répondez à la demande de précisions qu’elle suscite.",
        "Connectez-vous comme auditeur : les affaires sont là, les formulaires non.",
    ],
};

/// Every language of the training pages.
pub static TRAINING_CATALOGUE: [&TrainingText; 2] = [&TRAINING_EN, &TRAINING_FR];

/// The training texts in the language of `t`.
pub fn training_text(t: &Messages) -> &'static TrainingText {
    TRAINING_CATALOGUE
        .iter()
        .copied()
        .find(|x| x.lang == t.lang)
        .unwrap_or(&TRAINING_EN)
}

// ----- the pages -------------------------------------------------------------------------------

/// An option of a select or a checkbox: code, words, chosen.
struct Choice {
    value: String,
    label: String,
    on: bool,
}

/// One row of the decision exercise: a ground under an instrument.
struct GroundRow {
    field: String,
    code: &'static str,
    words: &'static str,
    choices: Vec<Choice>,
    verdict: Option<Verdict>,
}

struct Verdict {
    right: bool,
    engine: String,
    cites: Vec<Cite>,
}

struct InstrumentBlock {
    code: &'static str,
    outcome_field: String,
    outcomes: Vec<Choice>,
    outcome_verdict: Option<Verdict>,
    grounds: Vec<GroundRow>,
}

#[derive(Template)]
#[template(path = "training.html")]
struct TrainingPage {
    chrome: Chrome,
    x: &'static TrainingText,
    kinds: Vec<Choice>,
    bases: Vec<Choice>,
    contents: Vec<Choice>,
    data: Vec<Choice>,
    /// The result of exercise 1: passed, and the engine's fragment.
    preservation: Option<(bool, String)>,
    blocks: Vec<InstrumentBlock>,
    /// Exercise 2 was checked: every answer right.
    decided: Option<bool>,
}

fn choices<T: Code>(lang: &str, on: &[T]) -> Vec<Choice> {
    T::ALL
        .iter()
        .map(|v| Choice {
            value: v.code().to_owned(),
            label: words::lookup(lang, T::WHAT, v.code())
                .map_or_else(|| v.code().to_owned(), |w| format!("{w} ({})", v.code())),
            on: on.contains(v),
        })
        .collect()
}

/// The page, with exercise 1's draft (`draft`) and exercise 2's answers (`answers`) as given.
fn training_page(
    c: Chrome,
    t: &'static Messages,
    draft: &Composed,
    preservation: Option<(bool, String)>,
    answers: Option<&Fields>,
) -> Result<TrainingPage, String> {
    let lang = t.lang;
    let mut blocks = Vec::new();
    let mut all_right = true;
    for basis in UNDER {
        let (outcome, grounds) = decide_case(basis)?;
        let outcome_field = format!("outcome-{}", basis.code());
        let given = answers.and_then(|f| f.get_str(&outcome_field));
        let outcome_verdict = answers.map(|_| {
            let right = given == Some(outcome.code());
            all_right &= right;
            Verdict {
                right,
                engine: format!("{} ({})", words::of(lang, outcome), outcome.code()),
                cites: Vec::new(),
            }
        });
        let outcomes = Outcome::ALL
            .iter()
            .map(|o| Choice {
                value: o.code().to_owned(),
                label: format!("{} ({})", words::of(lang, *o), o.code()),
                on: given == Some(o.code()),
            })
            .collect();
        let mut rows = Vec::new();
        for (g, status, cites) in grounds {
            let field = format!("ground-{}-{}", basis.code(), g.code());
            let given = answers.and_then(|f| f.get_str(&field));
            let engine_code = status.map_or(NO_GROUND, |s| s.code());
            let verdict = answers.map(|_| {
                let right = given == Some(engine_code);
                all_right &= right;
                Verdict {
                    right,
                    engine: status.map_or_else(
                        || training_text(t).no_ground.to_owned(),
                        |s| words::of(lang, s).to_owned(),
                    ),
                    cites: cites.iter().map(|c| Cite::of(c)).collect(),
                }
            });
            let mut choices: Vec<Choice> = GroundStatus::ALL
                .iter()
                .map(|s| Choice {
                    value: s.code().to_owned(),
                    label: words::of(lang, *s).to_owned(),
                    on: given == Some(s.code()),
                })
                .collect();
            choices.push(Choice {
                value: NO_GROUND.to_owned(),
                label: training_text(t).no_ground.to_owned(),
                on: given == Some(NO_GROUND),
            });
            rows.push(GroundRow {
                field,
                code: g.code(),
                words: words::of(lang, g),
                choices,
                verdict,
            });
        }
        blocks.push(InstrumentBlock {
            code: basis.code(),
            outcome_field,
            outcomes,
            outcome_verdict,
            grounds: rows,
        });
    }
    Ok(TrainingPage {
        chrome: c,
        x: training_text(t),
        kinds: choices(lang, &[draft.kind]),
        bases: choices(lang, &[draft.basis]),
        contents: choices(lang, &draft.supplied),
        data: choices(lang, &draft.data),
        preservation,
        blocks,
        decided: answers.map(|_| all_right),
    })
}

/// The actor on a training node (404 on a real one; the login page without a session).
// The error is the page to answer with.
#[allow(clippy::result_large_err)]
fn trainee<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
) -> Result<(Actor, Chrome), Response> {
    let Some(actor) = actor else {
        return Err(Redirect::to("/login").into_response());
    };
    let c = chrome(node, Some(&actor), t, options, "/training");
    if !options.training {
        return Err(message(
            c,
            StatusCode::NOT_FOUND,
            "404",
            "This node is not a training node.",
        ));
    }
    Ok((actor, c))
}

fn render(page_model: Result<TrainingPage, String>, status: StatusCode) -> Response {
    match page_model {
        Ok(p) => page(status, &p),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// The blank draft of exercise 1: a preservation request supplying nothing yet.
fn blank<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>) -> Composed {
    let mut d = Composed::default_for(node);
    d.kind = RequestKind::Preservation;
    d.data = vec![DataCategory::Subscriber, DataCategory::Traffic];
    d.supplied = Vec::<Content>::new();
    d
}

async fn exercises<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let (_, c) = match trainee(&node, actor, t, &options) {
        Ok(x) => x,
        Err(r) => return r,
    };
    render(
        training_page(c, t, &blank(&node), None, None),
        StatusCode::OK,
    )
}

async fn check_preservation<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let (actor, c) = match trainee(&node, actor, t, &options) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(r) = require_form(
        &node,
        Some(actor),
        Action::Compose,
        t,
        &options,
        &form,
        &headers,
    ) {
        return r;
    }
    let mut draft = Composed::from_fields(&node, &form);
    // The exercise's Parties are both bound by both Conventions.
    draft.ours = vec![Instrument::Uncc, Instrument::Bud];
    draft.theirs = vec![Instrument::Uncc, Instrument::Bud];
    let view = engine::check(&node, &draft);
    let x = training_text(t);
    let passed = draft.kind == RequestKind::Preservation
        && view.problem.is_none()
        && view.missing.is_empty()
        && !matches!(view.outcome.as_str(), "not_applicable" | "nonconforming");
    let mut fragment = match view.render_with(t) {
        Ok(h) => h,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    if draft.kind != RequestKind::Preservation {
        fragment = format!(
            "<p class=\"problem\">{}</p>{fragment}",
            crate::escape(x.not_preservation)
        );
    }
    render(
        training_page(c, t, &draft, Some((passed, fragment)), None),
        StatusCode::OK,
    )
}

async fn check_decision<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let (actor, c) = match trainee(&node, actor, t, &options) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !csrf_ok(&actor, &form, &headers) {
        return csrf_refused(&node, &actor, t, &options);
    }
    // Every answer must be given, each one a known code: else the form says which.
    for basis in UNDER {
        let name = format!("outcome-{}", basis.code());
        if form.get_str(&name).and_then(Outcome::from_code).is_none() {
            return answer_missing(c, t, &node, &form, &name);
        }
        for g in RAISED {
            let name = format!("ground-{}-{}", basis.code(), g.code());
            let ok = form
                .get_str(&name)
                .is_some_and(|v| v == NO_GROUND || GroundStatus::from_code(v).is_some());
            if !ok {
                return answer_missing(c, t, &node, &form, &name);
            }
        }
    }
    render(
        training_page(c, t, &blank(&node), None, Some(&form)),
        StatusCode::OK,
    )
}

fn answer_missing<S: Store, C: Clock, E: Entropy>(
    mut c: Chrome,
    t: &'static Messages,
    node: &Node<S, C, E>,
    _form: &Fields,
    field: &str,
) -> Response {
    c.error = Some(format!("{field}: choose an answer"));
    render(
        training_page(c, t, &blank(node), None, None),
        StatusCode::BAD_REQUEST,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints() {
        for ok in [
            "https://127.0.0.1:7620/",
            "http://localhost:7600",
            "https://[::1]:4433/x",
            "https://127.8.9.10/",
        ] {
            assert!(is_loopback(ok), "{ok}");
        }
        for no in [
            "https://bo.example:4433/",
            "https://10.0.0.1/",
            "https://127.0.0.1.example/",
            "https://localhost.example.org/",
            "https://[2001:db8::1]/",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn the_decision_exercise_differs_between_the_conventions() {
        let uncc = decide_case(Instrument::Uncc);
        let bud = decide_case(Instrument::Bud);
        assert!(uncc.is_ok() && bud.is_ok());
        let (uncc, bud) = (
            uncc.unwrap_or_else(|_| (Outcome::Execute, Vec::new())),
            bud.unwrap_or_else(|_| (Outcome::Execute, Vec::new())),
        );
        // The exercise is worth doing only if the instruments treat the grounds differently.
        assert_ne!(
            uncc.1.iter().map(|g| g.1).collect::<Vec<_>>(),
            bud.1.iter().map(|g| g.1).collect::<Vec<_>>()
        );
    }
}
