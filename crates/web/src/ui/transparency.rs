//! The transparency page of the officer UI: the node's log (its size, the last signed
//! checkpoint and the witnesses' cosignatures on it, each verified with the directory's
//! `witness_vkey` and dated by its own timestamp), the alarms this node raised as a witness of
//! other logs, with their resolution for those whose role allows it, and the transparency report
//! with its charts (the same report as the public `/report`, computed from the log alone).

use comity_node::{AlarmView, Keep};
use comity_tlog::cosignature::verify_cosignature;
use comity_tlog::note::Note;

use super::*;
use crate::{LogAbout, ReportCache, ReportError, current_report, report_body};

#[derive(Template)]
#[template(path = "transparency.html")]
struct TransparencyPage {
    chrome: Chrome,
    origin: String,
    log_size: u64,
    checkpoint: Option<CheckpointModel>,
    cosignatures: Vec<CosignatureModel>,
    show_alarms: bool,
    can_resolve: bool,
    open_alarms: Vec<AlarmModel>,
    resolved_alarms: usize,
    /// The report's HTML (built by [`report_body`], which escapes every text of the log).
    report: String,
}

struct CheckpointModel {
    size: u64,
    root: String,
    note: String,
}

struct CosignatureModel {
    authority: String,
    key: String,
    at: String,
}

struct AlarmModel {
    seq: i64,
    origin: String,
    detected_at: String,
    kind: String,
    why: String,
    held_note: String,
    seen_note: String,
}

fn alarm_model(a: &AlarmView) -> AlarmModel {
    let s = |k: &str| {
        a.evidence
            .get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    AlarmModel {
        seq: a.seq,
        origin: a.origin.clone(),
        detected_at: a.detected_at.clone(),
        kind: s("kind"),
        why: s("why"),
        held_note: a.held_note.clone(),
        seen_note: a.seen_note.clone(),
    }
}

/// Alarms read at most (an alarm is a rare event: a log that forked).
const MAX_ALARMS: u32 = 1000;

async fn render<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    cache: &ReportCache,
    mut status: StatusCode,
    mut error: Option<String>,
) -> Response {
    let mut c = chrome(node, Some(actor), t, options, "/transparency");
    let log_size = match node.log_head().await {
        Ok(h) => h.size,
        Err(e) => {
            return message(
                c,
                StatusCode::SERVICE_UNAVAILABLE,
                "503",
                &format!("the log cannot be read now: {e}"),
            );
        }
    };
    let mut checkpoint = None;
    let mut cosignatures = Vec::new();
    let mut report = String::new();
    match current_report(node.store(), cache).await {
        Ok((cp, note, r)) => {
            if let Ok(parsed) = Note::parse(note.as_bytes()) {
                for a in &node.directory().directory().authorities {
                    let Some(Ok(key)) = a.witness_verifier() else {
                        continue;
                    };
                    if let Ok(ts) = verify_cosignature(&parsed, &key) {
                        let at = i64::try_from(ts)
                            .ok()
                            .and_then(|s| jiff::Timestamp::from_second(s).ok())
                            .map_or_else(|| ts.to_string(), |x| x.to_string());
                        cosignatures.push(CosignatureModel {
                            authority: a.id.to_string(),
                            key: key.name().to_owned(),
                            at,
                        });
                    }
                }
            }
            let about = LogAbout {
                origin: cp.origin().to_owned(),
                size: cp.size(),
                root: cp.root().to_string(),
                cosigners: cosignatures.iter().map(|c| c.key.clone()).collect(),
            };
            report = report_body(&r, &about);
            checkpoint = Some(CheckpointModel {
                size: cp.size(),
                root: cp.root().to_string(),
                note,
            });
        }
        Err(ReportError::NoCheckpoint) => {}
        Err(e) => {
            status = StatusCode::SERVICE_UNAVAILABLE;
            error = Some(e.to_string());
        }
    }
    let show_alarms = actor.may(Action::ViewAlarms);
    let (mut open_alarms, mut resolved_alarms) = (Vec::new(), 0);
    if show_alarms {
        match node.log_alarms(0, MAX_ALARMS).await {
            Ok(all) => {
                for a in &all {
                    if a.open {
                        open_alarms.push(alarm_model(a));
                    } else {
                        resolved_alarms += 1;
                    }
                }
            }
            Err(e) => {
                status = StatusCode::SERVICE_UNAVAILABLE;
                error = Some(format!("the alarms cannot be read now: {e}"));
            }
        }
    }
    c.error = error;
    page(
        status,
        &TransparencyPage {
            chrome: c,
            origin: node.log_origin().unwrap_or_default().to_owned(),
            log_size,
            checkpoint,
            cosignatures,
            show_alarms,
            can_resolve: actor.may(Action::ResolveAlarm),
            open_alarms,
            resolved_alarms,
            report,
        },
    )
}

/// `GET /transparency`.
pub(super) async fn transparency_page<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    Extension(cache): Extension<ReportCache>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::ViewReport, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render(&node, &actor, t, &options, &cache, StatusCode::OK, None).await
}

/// `POST /transparency/alarms/{seq}/resolve`: `keep` (`held` or `seen`) and `reason`, as the
/// API's `POST /v1/log/alarms/{seq}/resolve`.
pub(super) async fn resolve<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    Extension(cache): Extension<ReportCache>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(seq): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match require_form(
        &node,
        actor,
        Action::ResolveAlarm,
        t,
        &options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(seq) = seq.parse::<i64>() else {
        return message(
            chrome(&node, Some(&actor), t, &options, ""),
            StatusCode::NOT_FOUND,
            "404 — no such alarm",
            "An alarm is named by its number.",
        );
    };
    let keep = match form.get("keep") {
        Some("held") => Keep::Held,
        Some("seen") => Keep::Seen,
        other => {
            let why = format!(
                "`keep`: expected `held` or `seen`, not `{}`",
                other.unwrap_or_default()
            );
            return render(
                &node,
                &actor,
                t,
                &options,
                &cache,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(why),
            )
            .await;
        }
    };
    match node
        .resolve_alarm(&actor.username, seq, keep, &form.text("reason"))
        .await
    {
        Ok(_) => Redirect::to("/transparency").into_response(),
        Err(e) => {
            let text = format!("{e} ({})", e.code());
            render(
                &node,
                &actor,
                t,
                &options,
                &cache,
                node_status(&e),
                Some(text),
            )
            .await
        }
    }
}
