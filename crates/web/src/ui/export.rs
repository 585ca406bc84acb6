//! The exports of a case on the officer UI: the T-CY preservation request form as one
//! self-contained, printable page (`GET /cases/{id}/tcy`; the API serves the same document as
//! a download), and the links of the case page to it, to its JSON and to the signed bundle
//! (docs/interop.md).

use comity_node::TcyForm;

use super::*;
use crate::escape::escape;
use crate::i18n::{ExportText, export_text};

/// The stylesheet of the form: black on white, printable, the navigation hidden on paper.
const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#111;background:#fff;margin:0 auto;max-width:60rem;padding:1rem;line-height:1.4}\
.skip{position:absolute;left:-10000px}.skip:focus{position:static}\
a{color:#0b4f9c}a:focus,a:hover{outline:3px solid #0b4f9c;outline-offset:2px}\
nav ul{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}\
th,td{border:1px solid #555;padding:.3rem .5rem;text-align:left;vertical-align:top}\
thead th{background:#eee}tbody th{width:28%;font-weight:600}\
.missing{color:#8a1c1c;font-weight:700}.na{color:#444;font-style:italic}\
.unverified{border:1px solid #8a5a00;color:#6b4600;padding:0 .3rem;font-size:.85em;margin-left:.5rem}\
.note{color:#333;font-size:.9em}\
@media print{nav,.skip{display:none}body{max-width:none}a{color:#111}}";

/// The T-CY form of `form` as one HTML document in the language of `x`. With `ui`, a
/// navigation back to the case and to the other forms of the export (for the UI's page); the
/// downloaded document has none.
pub fn tcy_document(form: &TcyForm, x: &ExportText, skip: &str, ui: bool) -> String {
    let e = |s: &str| escape(s);
    let title = x.label("title", form.title);
    let mut h = String::with_capacity(16 * 1024);
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} — {}</title><style>{STYLE}</style></head><body>\n",
        e(x.lang),
        e(title),
        e(&form.case)
    ));
    h.push_str(&format!(
        "<a class=\"skip\" href=\"#content\">{}</a>\n",
        e(skip)
    ));
    if ui {
        let id = e(&form.case);
        h.push_str(&format!(
            "<header><nav aria-label=\"{}\"><ul><li><a href=\"/cases/{id}\">{}</a></li><li><a href=\"/v1/cases/{id}/export/tcy\">{}</a></li><li><a href=\"/v1/cases/{id}/export/tcy.html\">{}</a></li></ul></nav></header>\n",
            e(x.exports),
            e(x.back_to_case),
            e(x.tcy_json),
            e(x.tcy_download)
        ));
    }
    h.push_str("<main id=\"content\">\n");
    h.push_str(&format!("<h1>{}</h1>\n", e(title)));
    h.push_str(&format!(
        "<p>{}: <a href=\"{}\">{}</a>. {} <strong>{}</strong> ({}), {} {}: {}, {}.</p>\n",
        e(x.template_source),
        e(form.source),
        e(form.template),
        e(x.intro),
        e(&form.case),
        e(if form.side == "requesting" {
            x.side_requesting
        } else {
            x.side_requested
        }),
        e(&form.kind),
        e(&form.basis),
        e(x.articles),
        e(&form.articles.join(", "))
    ));
    if form.missing.is_empty() {
        h.push_str(&format!("<p>{}</p>\n", e(x.nothing_missing)));
    } else {
        h.push_str(&format!(
            "<p>{} ({}): <span class=\"missing\">{}</span></p>\n",
            e(x.missing_count),
            form.missing.len(),
            e(&form.missing.join(", "))
        ));
    }
    for s in &form.sections {
        let heading = match s.number {
            Some(n) => format!("{n}. {}", x.label(s.id, s.title)),
            None => x.label(s.id, s.title).to_owned(),
        };
        h.push_str(&format!(
            "<section aria-labelledby=\"s-{id}\"><h2 id=\"s-{id}\">{}{}</h2>\n",
            e(&heading),
            if s.verified {
                String::new()
            } else {
                format!(" <span class=\"unverified\">{}</span>", e(x.unverified))
            },
            id = e(s.id)
        ));
        if !s.verified {
            h.push_str(&format!("<p class=\"note\">{}</p>\n", e(x.unverified_note)));
        }
        h.push_str(&format!(
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>\n",
            e(x.field),
            e(x.value),
            e(x.source),
            e(x.provisions)
        ));
        for f in &s.fields {
            let key = format!("field:{}", f.id);
            let value = match (&f.value, f.status) {
                (Some(v), _) => e(v),
                (None, "not_applicable") => {
                    format!("<span class=\"na\">{}</span>", e(x.not_applicable))
                }
                (None, _) => format!("<span class=\"missing\">{}</span>", e(x.missing)),
            };
            let note = f
                .note
                .as_deref()
                .map(|n| format!("<br><span class=\"note\">{}</span>", e(n)))
                .unwrap_or_default();
            h.push_str(&format!(
                "<tr id=\"f-{}\"><th scope=\"row\">{}</th><td>{value}{note}</td><td>{}</td><td>{}</td></tr>\n",
                e(f.id),
                e(x.label(&key, f.label)),
                e(f.source),
                e(&f.cites.join(", "))
            ));
        }
        h.push_str("</tbody></table></section>\n");
    }
    h.push_str("</main>\n</body></html>\n");
    h
}

/// Whether the case page links to the T-CY form: a BUD preservation or traffic-data
/// disclosure request (what [`comity_node::Node::export_tcy`] fills).
pub(super) fn tcy_fits(doc: &CaseDoc) -> bool {
    doc.production_order.is_none()
        && doc.basis == comity_types::Instrument::Bud
        && matches!(
            doc.kind,
            comity_types::RequestKind::Preservation | comity_types::RequestKind::TrafficDisclosure
        )
}

/// `GET /cases/{id}/tcy`: the T-CY form of a case, filled by the node (audited), as a page.
pub(super) async fn tcy_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
) -> Response {
    let actor = match require(&node, actor, Action::ExportCase, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match node.export_tcy(&actor.username, &id).await {
        Ok(form) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            tcy_document(&form, export_text(t.lang), t.skip, true),
        )
            .into_response(),
        Err(e) => {
            let status = node_status(&e);
            message(
                chrome(&node, Some(&actor), t, &options, ""),
                status,
                &format!("{} — {}", status.as_u16(), e.code()),
                &e.to_string(),
            )
        }
    }
}
