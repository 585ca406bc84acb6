//! The case forms beyond the decision — revise a draft, deliver results (evidence items
//! uploaded as files, items received under production orders delivered on), issue a domestic
//! production order, a provider's objection, preservation notices and extensions, closing — and
//! the pages of a delivered item (its hash and chain of custody, opened on request and audited)
//! and of a case's audit trail.
//!
//! Each form is the JSON API's use case of the same name (`crates/api/src/officer.rs`) with the
//! same fields: the role is checked against the matrix, the CSRF token against the session, and
//! the node checks the case's state and side again whatever the page offered.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use comity_node::{CustodyEntry, DeliverInput, ProductionOrderInput};
use comity_protocol::Role as AuthorityRole;

use super::*;

/// The largest delivery form: what one envelope carries (4 MiB, about 3 MiB of items once
/// base64-encoded, which the node checks), with room for the multipart framing.
pub(super) const MAX_DELIVERY: usize = 6 * 1024 * 1024;

/// The longest retention a delivery may set: a century.
const MAX_RETENTION_DAYS: u32 = 36_500;

/// The service providers of this node's Party in the directory: who a production order may go
/// to (the node refuses anyone else).
pub(super) fn providers<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>) -> Vec<Opt> {
    let dir = node.directory();
    let Some(me) = dir.authority(node.id()) else {
        return Vec::new();
    };
    dir.directory()
        .authorities
        .iter()
        .filter(|a| {
            a.role == AuthorityRole::ServiceProvider && a.party == me.party && a.id != me.id
        })
        .map(|a| Opt {
            value: a.id.to_string(),
            label: format!("{} — {}", a.id, a.name),
            on: false,
        })
        .collect()
}

/// The items received for the case under production orders, to deliver on (by id).
pub(super) fn received_options(doc: &CaseDoc) -> Vec<Opt> {
    doc.received
        .iter()
        .flat_map(|d| d.items.iter())
        .map(|it| Opt {
            value: it.id.clone(),
            label: format!("{} (SHA-256 {})", it.name, it.sha256),
            on: false,
        })
        .collect()
}

/// A form of one text field, run as `what`.
// As `act`, with the field's name and the use case it feeds.
#[allow(clippy::too_many_arguments)]
async fn text_form<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    form: Vec<(String, String)>,
    action: Action,
    field: &str,
    what: fn(String) -> Act,
) -> Response {
    let form = Fields(form);
    let text = form.text(field);
    act(node, actor, t, options, id, &form, action, what(text)).await
}

pub(super) async fn revise<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    // The scenario is kept as written (its line numbers are what an error names).
    let fields = Fields(form);
    let scenario = fields.get("scenario").unwrap_or_default().to_owned();
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &fields,
        Action::Compose,
        Act::Revise(scenario),
    )
    .await
}

pub(super) async fn object<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    text_form(
        &node,
        actor,
        t,
        &options,
        &id,
        form,
        Action::Object,
        "reasons",
        Act::Object,
    )
    .await
}

pub(super) async fn notify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    text_form(
        &node,
        actor,
        t,
        &options,
        &id,
        form,
        Action::Notify,
        "text",
        Act::Notify,
    )
    .await
}

pub(super) async fn extend<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    text_form(
        &node,
        actor,
        t,
        &options,
        &id,
        form,
        Action::Extend,
        "text",
        Act::Extend,
    )
    .await
}

pub(super) async fn close<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    text_form(
        &node,
        actor,
        t,
        &options,
        &id,
        form,
        Action::Close,
        "reason",
        Act::Close,
    )
    .await
}

pub(super) async fn confirm_emergency<
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
    text_form(
        &node,
        actor,
        t,
        &options,
        &id,
        form,
        Action::ConfirmEmergency,
        "note",
        Act::ConfirmEmergency,
    )
    .await
}

pub(super) async fn production_order<
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
    let input = ProductionOrderInput {
        provider: form.text("provider"),
        data: form.codes::<DataCategory>("data"),
        subject: form.text("subject"),
        period_from: form.text("period_from"),
        period_to: form.text("period_to"),
        legal_basis: form.text("legal_basis"),
        due: form.text("due"),
        confidential: form.get("confidential").is_some(),
        instructions: Some(form.text("instructions")).filter(|i| !i.is_empty()),
        reference: None,
    };
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::ProductionOrder,
        Act::ProductionOrder(input),
    )
    .await
}

/// The name an uploaded file is delivered under: its last path component (some browsers send
/// the whole path), without control characters.
fn upload_name(file_name: &str) -> String {
    file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `POST /cases/{id}/deliver` (`multipart/form-data`): files in `item`, ids of received items
/// in `received`, `retention_days`, and the CSRF token in `csrf`.
pub(super) async fn deliver<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let actor = match require(&node, actor, Action::Deliver, t, &options) {
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
            let file = field.file_name().map(upload_name).unwrap_or_default();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => return bad_form(e.status(), e.body_text()),
            };
            // A file input left empty still sends a part, without a name or bytes.
            if file.is_empty() && bytes.is_empty() {
                continue;
            }
            if file.is_empty() {
                return render_case(
                    &node,
                    &actor,
                    t,
                    &options,
                    &id,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("`item`: every file needs a name".into()),
                )
                .await;
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
    let retention = form.text("retention_days");
    let retention_days = if retention.is_empty() {
        None
    } else {
        match retention.parse::<u32>() {
            Ok(d) if (1..=MAX_RETENTION_DAYS).contains(&d) => Some(d),
            _ => {
                return render_case(
                    &node,
                    &actor,
                    t,
                    &options,
                    &id,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(format!(
                        "`retention_days`: `{retention}` is not a whole number of days from 1 to {MAX_RETENTION_DAYS}"
                    )),
                )
                .await;
            }
        }
    };
    let input = DeliverInput {
        items,
        received: form
            .all("received")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        retention_days,
    };
    act(
        &node,
        Some(actor),
        t,
        &options,
        &id,
        &form,
        Action::Deliver,
        Act::Deliver(input),
    )
    .await
}

// ----- a delivered item ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    chrome: Chrome,
    case_id: String,
    case_title: String,
    item: ItemView,
    can_open: bool,
}

struct ItemView {
    id: String,
    name: String,
    sha256: String,
    size: u64,
    delivered_at: String,
    conditions: String,
    custody: Vec<CustodyEntry>,
    /// This node holds the item's bytes (sealed at rest): it received them.
    held: bool,
    /// Deleted at the end of its retention period.
    deleted: Option<String>,
    retain_until: Option<String>,
}

fn ms_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// The case document of `id`, as stored (no audit entry: reading an item's metadata opens
/// nothing).
async fn stored_case<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    id: &str,
) -> Result<Option<CaseDoc>, String> {
    let Some(row) = node.store().case(id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    serde_json::from_value(row.doc)
        .map(Some)
        .map_err(|e| format!("case `{id}` does not read back: {e}"))
}

/// The item `item` of the case: its reference in the case's deliveries (or items received
/// under production orders) and the stored row, if this node holds it.
async fn find_item<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    doc: &CaseDoc,
    item: &str,
) -> Result<Option<ItemView>, String> {
    // Items of spontaneous information (or of data forwarded under an authorisation) are kept
    // as the information's, with its conditions.
    let information = doc.information.as_ref().map(|i| comity_node::Delivery {
        at: doc.received_at.clone().unwrap_or_default(),
        items: i.items.clone(),
        conditions: comity_node::DataConditions {
            use_limitation: i.conditions.use_restriction.is_some(),
            confidential: i.conditions.confidential,
            retention_days: None,
            other: i
                .conditions
                .use_restriction
                .iter()
                .chain(i.conditions.other.iter())
                .cloned()
                .collect(),
        },
        custody: Vec::new(),
    });
    let Some((delivery, r)) = doc
        .deliveries
        .iter()
        .chain(doc.received.iter())
        .chain(information.iter())
        .find_map(|d| d.items.iter().find(|i| i.id == item).map(|i| (d, i)))
    else {
        return Ok(None);
    };
    let row = node
        .store()
        .items(&doc.id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|i| i.id == item);
    // The stored chain is the whole of it (the provider's, each hand, and this node's receipt);
    // for an item this node delivered, the delivery's chain follows the item's own.
    let stored: Option<Vec<CustodyEntry>> = row
        .as_ref()
        .and_then(|i| i.data.get("custody"))
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let custody = stored.unwrap_or_else(|| {
        r.custody
            .iter()
            .chain(delivery.custody.iter())
            .cloned()
            .collect()
    });
    let c = &delivery.conditions;
    Ok(Some(ItemView {
        id: r.id.clone(),
        name: r.name.clone(),
        sha256: r.sha256.clone(),
        size: r.size,
        delivered_at: delivery.at.clone(),
        conditions: format!(
            "use limitation: {}; confidential: {}; retention: {}{}",
            c.use_limitation,
            c.confidential,
            c.retention_days
                .map_or_else(|| "not set".to_owned(), |n| format!("{n} days")),
            if c.other.is_empty() {
                String::new()
            } else {
                format!("; {}", c.other.join("; "))
            }
        ),
        custody,
        held: row.as_ref().is_some_and(|i| i.sealed.is_some()),
        deleted: row.as_ref().and_then(|i| i.deleted_at).map(ms_text),
        retain_until: row.as_ref().and_then(|i| i.retain_until).map(ms_text),
    }))
}

fn not_found<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    what: &str,
) -> Response {
    message(
        chrome(node, Some(actor), t, options, ""),
        StatusCode::NOT_FOUND,
        "404 — not found",
        what,
    )
}

fn internal<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    why: &str,
) -> Response {
    message(
        chrome(node, Some(actor), t, options, ""),
        StatusCode::INTERNAL_SERVER_ERROR,
        "500",
        why,
    )
}

/// `GET /cases/{id}/items/{item}`: what is known of a delivered item (name, SHA-256, size,
/// conditions, chain of custody), without opening it.
pub(super) async fn item_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path((id, item)): Path<(String, String)>,
) -> Response {
    let actor = match require(&node, actor, Action::ViewCase, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let doc = match stored_case(&node, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return not_found(
                &node,
                &actor,
                t,
                &options,
                "This node holds no case with that id.",
            );
        }
        Err(e) => return internal(&node, &actor, t, &options, &e),
    };
    let view = match find_item(&node, &doc, &item).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return not_found(
                &node,
                &actor,
                t,
                &options,
                "The case has no item with that id.",
            );
        }
        Err(e) => return internal(&node, &actor, t, &options, &e),
    };
    page(
        StatusCode::OK,
        &ItemPage {
            chrome: chrome(&node, Some(&actor), t, &options, ""),
            case_id: doc.id.clone(),
            case_title: case_title(&doc),
            can_open: view.held && actor.may(Action::OpenItem),
            item: view,
        },
    )
}

/// `POST /cases/{id}/items/{item}/open`: the item's bytes, as a download, after checking them
/// against the hash recorded when they were received; the node records the opening in the
/// audit trail.
pub(super) async fn open_item<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
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
        Action::OpenItem,
        t,
        &options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let doc = match stored_case(&node, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return not_found(
                &node,
                &actor,
                t,
                &options,
                "This node holds no case with that id.",
            );
        }
        Err(e) => return internal(&node, &actor, t, &options, &e),
    };
    let view = match find_item(&node, &doc, &item).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return not_found(
                &node,
                &actor,
                t,
                &options,
                "The case has no item with that id.",
            );
        }
        Err(e) => return internal(&node, &actor, t, &options, &e),
    };
    if !view.held {
        let why = if view.deleted.is_some() {
            t.deleted
        } else {
            t.not_held
        };
        return message(
            chrome(&node, Some(&actor), t, &options, ""),
            StatusCode::GONE,
            "410",
            why,
        );
    }
    let bytes = match node.open_item(&actor.username, &id, &item).await {
        Ok(b) => b,
        Err(e) => {
            return message(
                chrome(&node, Some(&actor), t, &options, ""),
                node_status(&e),
                &format!("{} — the item was not opened", node_status(&e).as_u16()),
                &format!("{e} ({})", e.code()),
            );
        }
    };
    let sha = comity_crypto::Sha256Digest::of(&bytes).to_string();
    if sha != view.sha256 {
        return internal(
            &node,
            &actor,
            t,
            &options,
            &format!(
                "item `{item}` does not match the hash recorded for it ({} recorded, {sha} now): it was not handed out",
                view.sha256
            ),
        );
    }
    let file: String = view
        .name
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

// ----- the audit trail of a case ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    case_id: String,
    case_title: String,
    rows: Vec<AuditModel>,
}

struct AuditModel {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    data: String,
}

/// Audit entries read from the store at a time.
const AUDIT_PAGE: u32 = 1000;

/// `GET /cases/{id}/audit`: who did what to the case, and when, from the node's audit trail
/// (views and openings included), oldest first. Read-only, for supervisors and auditors.
pub(super) async fn audit_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
) -> Response {
    let actor = match require(&node, actor, Action::ViewAudit, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let doc = match stored_case(&node, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return not_found(
                &node,
                &actor,
                t,
                &options,
                "This node holds no case with that id.",
            );
        }
        Err(e) => return internal(&node, &actor, t, &options, &e),
    };
    // The store reads the trail in order of entry; the case's entries are picked from it.
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let batch = match node.store().audit(after, AUDIT_PAGE).await {
            Ok(b) => b,
            Err(e) => return internal(&node, &actor, t, &options, &e.to_string()),
        };
        let Some(last) = batch.last() else { break };
        after = last.seq;
        let full = batch.len() >= AUDIT_PAGE as usize;
        rows.extend(
            batch
                .into_iter()
                .filter(|a| a.case_id.as_deref() == Some(id.as_str()))
                .map(|a| AuditModel {
                    seq: a.seq,
                    at: ms_text(a.at),
                    actor: a.actor,
                    action: a.action,
                    data: match &a.data {
                        serde_json::Value::Object(m) if m.is_empty() => String::new(),
                        serde_json::Value::Null => String::new(),
                        d => d.to_string(),
                    },
                }),
        );
        if !full {
            break;
        }
    }
    page(
        StatusCode::OK,
        &AuditPage {
            chrome: chrome(&node, Some(&actor), t, &options, ""),
            case_id: doc.id.clone(),
            case_title: case_title(&doc),
            rows,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::upload_name;

    #[test]
    fn an_upload_is_named_by_its_last_path_component() {
        assert_eq!(upload_name("C:\\Users\\a\\records.csv"), "records.csv");
        assert_eq!(upload_name("/tmp/x/records.csv"), "records.csv");
        assert_eq!(upload_name("rec\u{7}ords.csv"), "records.csv");
        assert_eq!(upload_name(""), "");
    }
}
