//! Spontaneous information (UNCC 40(4)–(5), BUD 26) and onward-transfer authorisations
//! (UNCC 36(3); SAP2 14(10), unverified) in the officer UI: the page that forwards information
//! without a request (`/information/new`), and on the case page a panel with what the case
//! holds (the information, its conditions, the answers; the transfer requests) and the forms
//! the actor may use — accept or decline the conditions, provide anyway or withdraw, notice of an
//! exculpatory disclosure; ask for, authorise, refuse or revoke an onward transfer, and forward
//! under an authorisation.
//!
//! Each form is the JSON API's use case of the same name (`crates/api/src/cooperation.rs`): the
//! role is checked against the matrix ([`Action::Inform`], [`Action::RequestTransfer`],
//! [`Action::AuthoriseTransfer`]), the CSRF token against the session, and the node checks the
//! case's side and state again whatever the page offered.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use comity_node::{
    ForwardInput, GrantInput, Information, InformationConditions, InformationInput,
    InformationStatus, Transfer, TransferInput, TransferStatus,
};
use comity_protocol::Role as AuthorityRole;
use comity_types::Instrument;

use super::*;
use crate::escape::escape;

/// The texts of this part of the UI, in each language of the catalogue.
#[derive(Debug)]
pub struct CoopText {
    pub lang: &'static str,
    pub nav: &'static str,
    pub new_title: &'static str,
    pub new_intro: &'static str,
    pub to: &'static str,
    pub basis: &'static str,
    pub text: &'static str,
    pub conditions: &'static str,
    pub confidential: &'static str,
    pub use_restriction: &'static str,
    pub other_condition: &'static str,
    pub send: &'static str,
    pub information: &'static str,
    pub status: &'static str,
    pub withheld: &'static str,
    pub none: &'static str,
    pub forwarded_from: &'static str,
    pub items: &'static str,
    pub answer: &'static str,
    pub sender_decision: &'static str,
    pub disclosures: &'static str,
    pub accept: &'static str,
    pub decline: &'static str,
    pub reasons: &'static str,
    pub note: &'static str,
    pub release: &'static str,
    pub withdraw: &'static str,
    pub disclose: &'static str,
    pub after: &'static str,
    pub transfers: &'static str,
    pub transfer: &'static str,
    pub purpose: &'static str,
    pub request_transfer: &'static str,
    pub grant: &'static str,
    pub written_reference: &'static str,
    pub until: &'static str,
    pub refuse: &'static str,
    pub revoke: &'static str,
    pub forward: &'static str,
    pub forwarded: &'static str,
}

pub static COOP_EN: CoopText = CoopText {
    lang: "en",
    nav: "Inform",
    new_title: "Spontaneous information",
    new_intro: "Forward information to an authority of another Party without a request (UNCC 40(4), BUD 26). With conditions, the recipient must accept them — and is then bound by them — before it can read the information; if it cannot comply, you decide whether to provide it anyway.",
    to: "To",
    basis: "Forwarded under",
    text: "Information",
    conditions: "Conditions",
    confidential: "Keep it confidential",
    use_restriction: "Restriction of use",
    other_condition: "Other condition",
    send: "Send the information",
    information: "Spontaneous information",
    status: "Status",
    withheld: "Withheld until the conditions are accepted (or the sender provides it anyway).",
    none: "none",
    forwarded_from: "Forwarded under an onward-transfer authorisation",
    items: "Items",
    answer: "Answer to the conditions",
    sender_decision: "The sender's decision",
    disclosures: "Notices of exculpatory disclosure (UNCC 40(5))",
    accept: "Accept the conditions (bound by them)",
    decline: "Cannot comply with the conditions",
    reasons: "Reasons",
    note: "Note",
    release: "Provide it anyway",
    withdraw: "Withdraw it",
    disclose: "Give notice of an exculpatory disclosure (UNCC 40(5))",
    after: "After the disclosure (advance notice was not possible)",
    transfers: "Onward transfers",
    transfer: "Transfer",
    purpose: "Purpose",
    request_transfer: "Ask the original sender to authorise an onward transfer",
    grant: "Authorise",
    written_reference: "Reference of the written authorisation",
    until: "Last day",
    refuse: "Refuse",
    revoke: "Revoke",
    forward: "Forward under this authorisation",
    forwarded: "Forwarded",
};

pub static COOP_FR: CoopText = CoopText {
    lang: "fr",
    nav: "Informer",
    new_title: "Information spontanée",
    new_intro: "Transmettre une information à une autorité d’une autre Partie sans demande préalable (CNUCC 40(4), Budapest 26). Avec des conditions, le destinataire doit les accepter — il est alors lié — avant de pouvoir lire l’information ; s’il ne peut s’y conformer, vous décidez de la fournir malgré tout ou non.",
    to: "Destinataire",
    basis: "Transmise au titre de",
    text: "Information",
    conditions: "Conditions",
    confidential: "Garder l’information confidentielle",
    use_restriction: "Restriction d’utilisation",
    other_condition: "Autre condition",
    send: "Transmettre l’information",
    information: "Information spontanée",
    status: "État",
    withheld: "Retenue jusqu’à l’acceptation des conditions (ou jusqu’à ce que l’expéditeur la fournisse malgré tout).",
    none: "aucune",
    forwarded_from: "Transmise en vertu d’une autorisation de transfert ultérieur",
    items: "Éléments",
    answer: "Réponse aux conditions",
    sender_decision: "Décision de l’expéditeur",
    disclosures: "Avis de divulgation à décharge (CNUCC 40(5))",
    accept: "Accepter les conditions (et s’y lier)",
    decline: "Ne peut se conformer aux conditions",
    reasons: "Motifs",
    note: "Note",
    release: "La fournir malgré tout",
    withdraw: "La retirer",
    disclose: "Aviser d’une divulgation à décharge (CNUCC 40(5))",
    after: "Après la divulgation (un avis préalable était impossible)",
    transfers: "Transferts ultérieurs",
    transfer: "Transfert",
    purpose: "Finalité",
    request_transfer: "Demander à l’expéditeur d’origine d’autoriser un transfert ultérieur",
    grant: "Autoriser",
    written_reference: "Référence de l’autorisation écrite",
    until: "Dernier jour",
    refuse: "Refuser",
    revoke: "Révoquer",
    forward: "Transmettre en vertu de cette autorisation",
    forwarded: "Transmis",
};

pub static COOP_CATALOGUE: [&CoopText; 2] = [&COOP_EN, &COOP_FR];

/// This part's texts in the language of `t`.
pub fn coop_text(t: &Messages) -> &'static CoopText {
    COOP_CATALOGUE
        .iter()
        .copied()
        .find(|c| c.lang == t.lang)
        .unwrap_or(&COOP_EN)
}

/// Authorities information may go to, or data be forwarded to: in the directory, not this node,
/// not `except`, not service providers.
fn recipients<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    except: Option<&str>,
) -> Vec<(String, String)> {
    node.directory()
        .directory()
        .authorities
        .iter()
        .filter(|a| {
            a.id != *node.id()
                && a.role != AuthorityRole::ServiceProvider
                && Some(a.id.as_str()) != except
        })
        .map(|a| {
            (
                a.id.to_string(),
                format!("{} — {} ({})", a.id, a.name, a.party),
            )
        })
        .collect()
}

fn csrf_input(csrf: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(csrf)
    )
}

fn select(id: &str, name: &str, label: &str, options: &[(String, String)]) -> String {
    let mut s = format!(
        r#"<p><label for="{id}">{}</label><select id="{id}" name="{name}" required>"#,
        escape(label)
    );
    for (v, l) in options {
        s.push_str(&format!(
            r#"<option value="{}">{}</option>"#,
            escape(v),
            escape(l)
        ));
    }
    s.push_str("</select></p>");
    s
}

fn textarea(id: &str, name: &str, label: &str, required: bool) -> String {
    format!(
        r#"<p><label for="{id}">{}</label><textarea id="{id}" name="{name}" rows="2"{}></textarea></p>"#,
        escape(label),
        if required { " required" } else { "" }
    )
}

fn input(id: &str, name: &str, label: &str, kind: &str) -> String {
    format!(
        r#"<p><label for="{id}">{}</label><input id="{id}" name="{name}" type="{kind}"></p>"#,
        escape(label)
    )
}

fn form(action: &str, csrf: &str, id: &str, body: &str, button: &str) -> String {
    format!(
        r#"<form method="post" action="{}" class="box" id="{id}">{}{body}<p><button type="submit">{}</button></p></form>"#,
        escape(action),
        csrf_input(csrf),
        escape(button)
    )
}

fn conditions_html(c: &InformationConditions, x: &CoopText) -> String {
    if c.is_empty() {
        return escape(x.none);
    }
    let mut parts = Vec::new();
    if c.confidential {
        parts.push(escape(x.confidential));
    }
    if let Some(u) = &c.use_restriction {
        parts.push(format!("{}: {}", escape(x.use_restriction), escape(u)));
    }
    for o in &c.other {
        parts.push(escape(o));
    }
    parts.join("; ")
}

/// The items this node received in the case, which an onward transfer may name.
fn received(doc: &CaseDoc) -> Vec<&comity_node::ItemRef> {
    if let Some(i) = &doc.information {
        if doc.side == Side::Requested && i.status.open() {
            return i.items.iter().collect();
        }
        return Vec::new();
    }
    if doc.production_order.is_some() || doc.side != Side::Requesting {
        return Vec::new();
    }
    doc.deliveries.iter().flat_map(|d| d.items.iter()).collect()
}

/// Whether this node sent data in the case (and so answers transfer requests).
fn sender(doc: &CaseDoc) -> bool {
    match &doc.information {
        Some(_) => doc.side == Side::Requesting,
        None => {
            doc.production_order.is_none()
                && doc.side == Side::Requested
                && !doc.deliveries.is_empty()
        }
    }
}

fn information_section(
    doc: &CaseDoc,
    info: &Information,
    actor: &Actor,
    x: &CoopText,
    csrf: &str,
) -> String {
    let id = &doc.id;
    let mut s = format!(
        r#"<section aria-labelledby="h-information" id="information"><h2 id="h-information">{} ({})</h2><dl>"#,
        escape(x.information),
        escape(&info.cites.join(", "))
    );
    s.push_str(&format!(
        "<dt>{}</dt><dd><code>{}</code></dd>",
        escape(x.status),
        info.status.as_str()
    ));
    s.push_str(&format!(
        "<dt>{}</dt><dd>{}</dd>",
        escape(x.text),
        match &info.text {
            Some(t) => escape(t),
            None => escape(x.withheld),
        }
    ));
    s.push_str(&format!(
        "<dt>{}</dt><dd>{}</dd>",
        escape(x.conditions),
        conditions_html(&info.conditions, x)
    ));
    if let Some(f) = &info.forwarded {
        s.push_str(&format!(
            "<dt>{}</dt><dd>{} — {} — <code>{}</code>{}</dd>",
            escape(x.forwarded_from),
            escape(&f.original_sender),
            escape(&f.from_case),
            escape(&f.authorisation),
            f.written_reference
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default()
        ));
    }
    for (label, ex) in [
        (x.answer, &info.reply),
        (x.sender_decision, &info.sender_decision),
    ] {
        if let Some(e) = ex {
            s.push_str(&format!(
                "<dt>{}</dt><dd><time>{}</time> {}: {}</dd>",
                escape(label),
                escape(&e.at),
                escape(&e.by),
                escape(&e.text)
            ));
        }
    }
    for d in &info.disclosures {
        s.push_str(&format!(
            "<dt>{}</dt><dd><time>{}</time> {}: {}</dd>",
            escape(x.disclosures),
            escape(&d.at),
            escape(&d.by),
            escape(&d.text)
        ));
    }
    s.push_str("</dl>");
    if !info.items.is_empty() {
        s.push_str(&format!(
            r#"<table class="items"><thead><tr><th scope="col">{}</th><th scope="col">SHA-256</th></tr></thead><tbody>"#,
            escape(x.items)
        ));
        for it in &info.items {
            s.push_str(&format!(
                r#"<tr><td><a href="/cases/{}/items/{}">{}</a></td><td><code class="hash">{}</code></td></tr>"#,
                escape(id),
                escape(&it.id),
                escape(&it.name),
                escape(&it.sha256)
            ));
        }
        s.push_str("</tbody></table>");
    }
    if actor.may(Action::Inform) {
        let path = |v: &str| format!("/cases/{id}/{v}");
        match (doc.side, info.status) {
            (Side::Requested, InformationStatus::Offered) => {
                s.push_str(&form(
                    &path("conditions"),
                    csrf,
                    "accept-form",
                    r#"<input type="hidden" name="accept" value="true">"#,
                    x.accept,
                ));
                s.push_str(&form(
                    &path("conditions"),
                    csrf,
                    "decline-form",
                    &format!(
                        r#"<input type="hidden" name="accept" value="false">{}"#,
                        textarea("decline-text", "text", x.reasons, true)
                    ),
                    x.decline,
                ));
            }
            (Side::Requesting, InformationStatus::Declined) => {
                for (release, fid, button) in [
                    ("true", "release", x.release),
                    ("false", "withdraw", x.withdraw),
                ] {
                    s.push_str(&form(
                        &path("information-decision"),
                        csrf,
                        &format!("{fid}-form"),
                        &format!(
                            r#"<input type="hidden" name="release" value="{release}">{}"#,
                            textarea(&format!("{fid}-text"), "text", x.note, true)
                        ),
                        button,
                    ));
                }
            }
            (Side::Requested, InformationStatus::Accepted) if doc.basis == Instrument::Uncc => {
                s.push_str(&form(
                    &path("disclosure-notice"),
                    csrf,
                    "disclose-form",
                    &format!(
                        r#"{}<p><input type="checkbox" id="disclose-after" name="after" value="true"> <label for="disclose-after">{}</label></p>"#,
                        textarea("disclose-text", "text", x.note, true),
                        escape(x.after)
                    ),
                    x.disclose,
                ));
            }
            _ => {}
        }
    }
    s.push_str("</section>");
    s
}

fn transfer_row(tr: &Transfer, x: &CoopText) -> String {
    let items: Vec<String> = tr
        .items
        .iter()
        .map(|i| {
            format!(
                "{} (<code class=\"hash\">{}</code>)",
                escape(&i.name),
                escape(&i.sha256)
            )
        })
        .collect();
    let mut answer = String::new();
    if let Some(a) = &tr.answer {
        answer = format!(
            "<time>{}</time> {}{}{}: {}",
            escape(&a.at),
            escape(&a.by),
            a.written_reference
                .as_deref()
                .map(|r| format!(" — {}: {}", escape(x.written_reference), escape(r)))
                .unwrap_or_default(),
            a.until
                .as_deref()
                .map(|u| format!(" — {}: {}", escape(x.until), escape(u)))
                .unwrap_or_default(),
            escape(&a.text)
        );
    }
    if let Some(r) = &tr.revocation {
        answer.push_str(&format!(
            " — {}: <time>{}</time> {}: {}",
            escape(x.revoke),
            escape(&r.at),
            escape(&r.by),
            escape(&r.text)
        ));
    }
    for f in &tr.forwards {
        answer.push_str(&format!(
            r#" — {}: <time>{}</time> <a href="/cases/{}">{}</a>"#,
            escape(x.forwarded),
            escape(&f.at),
            escape(&f.case),
            escape(&f.case)
        ));
    }
    format!(
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code> {}</td><td>{}</td></tr>",
        escape(&tr.id),
        escape(&tr.to),
        items.join("<br>"),
        escape(&tr.purpose),
        tr.status.as_str(),
        escape(&tr.cites.join(", ")),
        answer
    )
}

fn transfers_section<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    doc: &CaseDoc,
    actor: &Actor,
    x: &CoopText,
    csrf: &str,
) -> String {
    let got = received(doc);
    let sent = sender(doc);
    if doc.transfers.is_empty() && got.is_empty() {
        return String::new();
    }
    let id = &doc.id;
    let mut s = format!(
        r#"<section aria-labelledby="h-transfers" id="transfers"><h2 id="h-transfers">{} ({})</h2>"#,
        escape(x.transfers),
        escape(&comity_node::transfer_cites(doc.basis).join(", "))
    );
    if !doc.transfers.is_empty() {
        s.push_str(&format!(
            r#"<table class="items"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
            escape(x.transfer),
            escape(x.to),
            escape(x.items),
            escape(x.purpose),
            escape(x.status),
            escape(x.answer)
        ));
        for tr in &doc.transfers {
            s.push_str(&transfer_row(tr, x));
        }
        s.push_str("</tbody></table>");
    }
    // The original sender answers; the receiver forwards under an authorisation.
    for (n, tr) in doc.transfers.iter().enumerate() {
        let base = format!("/cases/{id}/transfers/{}", tr.id);
        if sent && actor.may(Action::AuthoriseTransfer) {
            match tr.status {
                TransferStatus::Requested => {
                    s.push_str(&form(
                        &format!("{base}/grant"),
                        csrf,
                        &format!("grant-form-{n}"),
                        &format!(
                            "<p><code>{}</code> → {}</p>{}{}{}",
                            escape(&tr.id),
                            escape(&tr.to),
                            textarea(&format!("grant-text-{n}"), "text", x.note, false),
                            input(
                                &format!("grant-ref-{n}"),
                                "written_reference",
                                x.written_reference,
                                "text"
                            ),
                            input(&format!("grant-until-{n}"), "until", x.until, "date")
                        ),
                        x.grant,
                    ));
                    s.push_str(&form(
                        &format!("{base}/refuse"),
                        csrf,
                        &format!("refuse-form-{n}"),
                        &textarea(&format!("refuse-text-{n}"), "reasons", x.reasons, true),
                        x.refuse,
                    ));
                }
                TransferStatus::Authorised => {
                    s.push_str(&form(
                        &format!("{base}/revoke"),
                        csrf,
                        &format!("revoke-form-{n}"),
                        &textarea(&format!("revoke-text-{n}"), "reasons", x.reasons, true),
                        x.revoke,
                    ));
                }
                _ => {}
            }
        }
        if !got.is_empty()
            && tr.status == TransferStatus::Authorised
            && actor.may(Action::RequestTransfer)
        {
            let mut body = format!(
                r#"<input type="hidden" name="authorisation" value="{}"><input type="hidden" name="to" value="{}"><p><code>{}</code> → {}</p><fieldset><legend>{}</legend>"#,
                escape(&tr.id),
                escape(&tr.to),
                escape(&tr.id),
                escape(&tr.to),
                escape(x.items)
            );
            for (k, it) in got
                .iter()
                .filter(|it| tr.items.iter().any(|w| w.sha256 == it.sha256))
                .enumerate()
            {
                body.push_str(&format!(
                    r#"<span class="choice"><input type="checkbox" id="fwd-{n}-{k}" name="item" value="{}" checked> <label for="fwd-{n}-{k}">{}</label></span> "#,
                    escape(&it.id),
                    escape(&it.name)
                ));
            }
            body.push_str("</fieldset>");
            s.push_str(&form(
                &format!("/cases/{id}/forward"),
                csrf,
                &format!("forward-form-{n}"),
                &body,
                x.forward,
            ));
        }
    }
    if !got.is_empty() && actor.may(Action::RequestTransfer) {
        let mut body = format!("<fieldset><legend>{}</legend>", escape(x.items));
        for (k, it) in got.iter().enumerate() {
            body.push_str(&format!(
                r#"<span class="choice"><input type="checkbox" id="tr-item-{k}" name="item" value="{}"> <label for="tr-item-{k}">{} (SHA-256 {})</label></span> "#,
                escape(&it.id),
                escape(&it.name),
                escape(&it.sha256)
            ));
        }
        body.push_str("</fieldset>");
        body.push_str(&select(
            "tr-to",
            "to",
            x.to,
            &recipients(node, Some(&doc.counterpart)),
        ));
        body.push_str(&textarea("tr-purpose", "purpose", x.purpose, true));
        s.push_str(&form(
            &format!("/cases/{id}/transfers"),
            csrf,
            "transfer-form",
            &body,
            x.request_transfer,
        ));
    }
    s.push_str("</section>");
    s
}

/// The case page's panel for spontaneous information and onward transfers (empty for a case
/// with neither).
pub(super) fn panel<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    doc: &CaseDoc,
    actor: &Actor,
    t: &'static Messages,
    csrf: &str,
) -> String {
    let x = coop_text(t);
    let mut s = String::new();
    if let Some(info) = &doc.information {
        s.push_str(&information_section(doc, info, actor, x, csrf));
    }
    s.push_str(&transfers_section(node, doc, actor, x, csrf));
    s
}

// ----- the page that forwards information --------------------------------------------------

#[derive(Template)]
#[template(path = "information.html")]
struct InformationPage {
    chrome: Chrome,
    x: &'static CoopText,
    recipients: Vec<(String, String)>,
}

fn information_page<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let mut c = chrome(node, Some(actor), t, options, "/information/new");
    c.error = error;
    page(
        status,
        &InformationPage {
            chrome: c,
            x: coop_text(t),
            recipients: recipients(node, None),
        },
    )
}

pub(super) async fn new_information<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::Inform, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    information_page(&node, &actor, t, &options, StatusCode::OK, None)
}

/// `POST /information` (`multipart/form-data`): `to`, `basis`, `text`, the conditions
/// (`confidential`, `use_restriction`, `other`), files in `item`, and the CSRF token.
pub(super) async fn send_information<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let actor = match require(&node, actor, Action::Inform, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let refused = |status: StatusCode, why: String| {
        information_page(&node, &actor, t, &options, status, Some(why))
    };
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => return refused(e.status(), e.body_text()),
    };
    let mut fields = Vec::new();
    let mut items = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return refused(e.status(), e.body_text()),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "item" {
            let file = field
                .file_name()
                .map(|f| {
                    f.rsplit(['/', '\\'])
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => return refused(e.status(), e.body_text()),
            };
            // A file input left empty still sends a part, without a name or bytes.
            if file.is_empty() && bytes.is_empty() {
                continue;
            }
            if file.is_empty() {
                return refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "`item`: every file needs a name".into(),
                );
            }
            items.push((file, bytes.to_vec()));
        } else {
            match field.text().await {
                Ok(v) => fields.push((name, v)),
                Err(e) => return refused(e.status(), e.body_text()),
            }
        }
    }
    let form = Fields(fields);
    if !csrf_ok(&actor, &form, &HeaderMap::new()) {
        return csrf_refused(&node, &actor, t, &options);
    }
    let Some(basis) = Instrument::from_code(&form.text("basis")) else {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`basis`: UNCC or BUD (bad_input)".into(),
        );
    };
    let use_restriction = Some(form.text("use_restriction")).filter(|u| !u.is_empty());
    let other: Vec<String> = form
        .all("other")
        .into_iter()
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    let input = InformationInput {
        to: form.text("to"),
        basis,
        text: form.text("text"),
        items,
        conditions: InformationConditions {
            confidential: form.get("confidential").is_some(),
            use_restriction,
            other,
        },
    };
    match node.send_information(&actor.username, input).await {
        Ok(doc) => Redirect::to(&format!("/cases/{}", doc.id)).into_response(),
        Err(e) => refused(node_status(&e), format!("{} ({})", e, e.code())),
    }
}

// ----- the case forms -------------------------------------------------------------------------

/// What a form of this panel asks of the node.
enum Coop {
    Conditions(bool, String),
    Decide(bool, String),
    Disclose(bool, String),
    Request(TransferInput),
    Grant(String, GrantInput),
    Refuse(String, String),
    Revoke(String, String),
    Forward(ForwardInput),
}

// As `act`: one argument per thing a form brings.
#[allow(clippy::too_many_arguments)]
async fn run<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    form: &Fields,
    action: Action,
    what: Coop,
) -> Response {
    let actor = match require_form(node, actor, action, t, options, form, &HeaderMap::new()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let who = actor.username.as_str();
    let done = match what {
        Coop::Conditions(accept, text) => node.answer_conditions(who, id, accept, &text).await,
        Coop::Decide(release, text) => node.decide_information(who, id, release, &text).await,
        Coop::Disclose(prior, text) => node.notify_disclosure(who, id, prior, &text).await,
        Coop::Request(input) => node.request_transfer(who, id, input).await,
        Coop::Grant(tr, input) => node.grant_transfer(who, id, &tr, input).await,
        Coop::Refuse(tr, reasons) => node.refuse_transfer(who, id, &tr, &reasons).await,
        Coop::Revoke(tr, reasons) => node.revoke_transfer(who, id, &tr, &reasons).await,
        Coop::Forward(input) => node.forward(who, id, input).await,
    };
    match done {
        Ok(_) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(e) => {
            let status = node_status(&e);
            let text = format!("{} ({})", e, e.code());
            render_case(node, &actor, t, options, id, status, Some(text)).await
        }
    }
}

fn flag(form: &Fields, name: &str) -> bool {
    form.get(name) == Some("true")
}

pub(super) async fn conditions<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Coop::Conditions(flag(&form, "accept"), form.text("text"));
    run(&node, actor, t, &options, &id, &form, Action::Inform, what).await
}

pub(super) async fn information_decision<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Coop::Decide(flag(&form, "release"), form.text("text"));
    run(&node, actor, t, &options, &id, &form, Action::Inform, what).await
}

pub(super) async fn disclosure_notice<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Coop::Disclose(!flag(&form, "after"), form.text("text"));
    run(&node, actor, t, &options, &id, &form, Action::Inform, what).await
}

pub(super) async fn request_transfer<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Coop::Request(TransferInput {
        items: form.all("item").into_iter().map(str::to_owned).collect(),
        to: form.text("to"),
        purpose: form.text("purpose"),
    });
    run(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RequestTransfer,
        what,
    )
    .await
}

pub(super) async fn answer_transfer<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path((id, transfer, verb)): Path<(String, String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = match verb.as_str() {
        "grant" => Coop::Grant(
            transfer,
            GrantInput {
                text: form.text("text"),
                written_reference: Some(form.text("written_reference")).filter(|r| !r.is_empty()),
                until: Some(form.text("until")).filter(|u| !u.is_empty()),
            },
        ),
        "refuse" => Coop::Refuse(transfer, form.text("reasons")),
        "revoke" => Coop::Revoke(transfer, form.text("reasons")),
        _ => {
            return (StatusCode::NOT_FOUND, "no such form").into_response();
        }
    };
    run(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::AuthoriseTransfer,
        what,
    )
    .await
}

pub(super) async fn forward<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Coop::Forward(ForwardInput {
        authorisation: Some(form.text("authorisation")).filter(|a| !a.is_empty()),
        items: form.all("item").into_iter().map(str::to_owned).collect(),
        to: form.text("to"),
        text: Some(form.text("text")).filter(|a| !a.is_empty()),
    });
    run(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::RequestTransfer,
        what,
    )
    .await
}
