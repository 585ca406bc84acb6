#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Accessibility of every page, as every role sees it (and as no one, for the login page), in
//! both languages: the rendered HTML is read and checked for what WCAG 2.1 AA asks of it here —
//! a language and a title (3.1.1, 2.4.2), one `h1`, the `main` landmark and the navigation
//! (1.3.1, 2.4.1), a skip link to the main content that exists (2.4.1), a label for every form
//! control and a name for every button (1.3.1, 4.1.2, 3.3.2), text alternatives for images
//! (1.1.1), ids unique (4.1.1), tables with header cells; and the stylesheet: a visible focus
//! style for every focusable element (2.4.7) and the contrast of every text colour on the
//! backgrounds it is drawn on, computed as WCAG defines it (1.4.3, ≥ 4.5:1; the focus ring
//! 1.4.11, ≥ 3:1).

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::StatusCode;
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::Harness;

// ----- a small HTML reader -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Tag {
    name: String,
    closing: bool,
    attrs: HashMap<String, String>,
    /// Byte offset of the tag in the page.
    at: usize,
}

/// The tags of `html` in order (comments, and the text of scripts and styles, skipped).
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(b.len(), |j| i + j + 3);
            continue;
        }
        if html[i..].starts_with("<!") {
            i = html[i..].find('>').map_or(b.len(), |j| i + j + 1);
            continue;
        }
        let start = i;
        i += 1;
        let closing = b.get(i) == Some(&b'/');
        if closing {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        let mut attrs = HashMap::new();
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            if b[i] == b'>' {
                i += 1;
                break;
            }
            if b[i] == b'/' {
                i += 1;
                continue;
            }
            let k0 = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let key = html[k0..i].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                match b.get(i) {
                    Some(q @ (b'"' | b'\'')) => {
                        let q = *q;
                        let v0 = i + 1;
                        let end = html[v0..].find(char::from(q)).map_or(b.len(), |j| v0 + j);
                        value = html[v0..end].to_owned();
                        i = end + 1;
                    }
                    _ => {
                        let v0 = i;
                        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                            i += 1;
                        }
                        value = html[v0..i].to_owned();
                    }
                }
            }
            if key.is_empty() {
                i += 1;
            } else {
                attrs.insert(key, value);
            }
        }
        let raw_text = !closing && (name == "script" || name == "style");
        out.push(Tag {
            name: name.clone(),
            closing,
            attrs,
            at: start,
        });
        if raw_text {
            let end = format!("</{name}");
            i = html[i..].find(&end).map_or(b.len(), |j| i + j);
        }
    }
    out
}

/// The text between the tag at index `open` and its closing tag (tags removed).
fn text_of(html: &str, all: &[Tag], open: usize) -> String {
    let name = &all[open].name;
    let mut depth = 0;
    for (j, t) in all.iter().enumerate().skip(open) {
        if &t.name == name {
            if t.closing {
                depth -= 1;
                if depth == 0 {
                    let from = html[all[open].at..].find('>').unwrap() + all[open].at + 1;
                    let inner = &html[from..t.at];
                    return strip_tags(inner);
                }
            } else {
                depth += 1;
            }
        }
        let _ = j;
    }
    String::new()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// What is wrong with a page, for WCAG's sake.
fn problems(html: &str, logged_in: bool) -> Vec<String> {
    let all = tags(html);
    let mut out = Vec::new();
    fn opening<'a>(all: &'a [Tag], name: &'a str) -> impl Iterator<Item = &'a Tag> + 'a {
        all.iter().filter(move |t| !t.closing && t.name == name)
    }
    let opening = |name: &'static str| opening(&all, name);

    // Language and title.
    match opening("html").next().and_then(|t| t.attrs.get("lang")) {
        Some(l) if !l.trim().is_empty() => {}
        _ => out.push("the html element has no lang".to_owned()),
    }
    let titled = all
        .iter()
        .position(|t| !t.closing && t.name == "title")
        .is_some_and(|i| {
            !text_of(html, &all, i)
                .trim_start_matches('—')
                .trim()
                .is_empty()
        });
    if !titled {
        out.push("no title".to_owned());
    }
    // One h1; headings do not skip a level downwards from it.
    let h1 = opening("h1").count();
    if h1 != 1 {
        out.push(format!("{h1} h1 elements, expected one"));
    }
    // Landmarks.
    let mains: Vec<&Tag> = opening("main").collect();
    if mains.len() != 1 {
        out.push(format!("{} main elements, expected one", mains.len()));
    }
    if logged_in && opening("nav").next().is_none() {
        out.push("no nav landmark".to_owned());
    }
    for n in opening("nav") {
        if opening("nav").count() > 1 && !n.attrs.contains_key("aria-label") {
            out.push("several nav elements, one without aria-label".to_owned());
        }
    }
    // The skip link, first link of the page, to an element that exists.
    let ids: Vec<&str> = all
        .iter()
        .filter(|t| !t.closing)
        .filter_map(|t| t.attrs.get("id").map(String::as_str))
        .collect();
    match opening("a").next() {
        Some(a) => {
            let href = a.attrs.get("href").map_or("", String::as_str);
            let target = href.strip_prefix('#');
            if a.attrs
                .get("class")
                .is_none_or(|c| !c.split(' ').any(|c| c == "skip"))
                || target.is_none_or(|t| !ids.contains(&t))
            {
                out.push(format!(
                    "the first link is not a skip link to the content: {href}"
                ));
            }
        }
        None => out.push("no skip link".to_owned()),
    }
    // Unique ids.
    let mut seen = HashSet::new();
    for id in &ids {
        if !seen.insert(*id) {
            out.push(format!("id `{id}` is used twice"));
        }
    }
    // Images.
    for img in opening("img") {
        if !img.attrs.contains_key("alt") {
            out.push(format!("an img without alt: {:?}", img.attrs.get("src")));
        }
    }
    // Form controls: a label for=id, an enclosing label, aria-label or aria-labelledby.
    let labelled: HashSet<&str> = opening("label")
        .filter_map(|t| t.attrs.get("for").map(String::as_str))
        .collect();
    let mut label_depth = 0i32;
    for (i, t) in all.iter().enumerate() {
        if t.name == "label" {
            label_depth += if t.closing { -1 } else { 1 };
            continue;
        }
        if t.closing || !matches!(t.name.as_str(), "input" | "select" | "textarea") {
            continue;
        }
        let kind = t.attrs.get("type").map_or("text", String::as_str);
        if matches!(kind, "hidden" | "submit" | "button" | "reset" | "image") {
            continue;
        }
        let named = label_depth > 0
            || t.attrs
                .get("id")
                .is_some_and(|id| labelled.contains(id.as_str()))
            || t.attrs
                .get("aria-label")
                .is_some_and(|l| !l.trim().is_empty())
            || t.attrs
                .get("aria-labelledby")
                .is_some_and(|l| l.split(' ').all(|id| ids.contains(&id)));
        if !named {
            out.push(format!(
                "a {} without a label: name={:?} id={:?}",
                t.name,
                t.attrs.get("name"),
                t.attrs.get("id")
            ));
        }
        let _ = i;
    }
    // A label's `for` names a control that exists.
    for f in &labelled {
        if !ids.contains(f) {
            out.push(format!("a label for `{f}`, which is no element"));
        }
    }
    // Buttons and links have a name.
    for (i, t) in all.iter().enumerate() {
        if t.closing || !matches!(t.name.as_str(), "button" | "a") {
            continue;
        }
        let named = t
            .attrs
            .get("aria-label")
            .is_some_and(|l| !l.trim().is_empty())
            || !text_of(html, &all, i).is_empty();
        if !named {
            out.push(format!(
                "a {} with no text: {:?}",
                t.name,
                t.attrs.get("href")
            ));
        }
    }
    // Tables have header cells; aria-describedby names elements that exist.
    for (i, t) in all.iter().enumerate() {
        if !t.closing && t.name == "table" {
            let end = all[i..]
                .iter()
                .position(|x| x.closing && x.name == "table")
                .map_or(all.len(), |j| i + j);
            if !all[i..end].iter().any(|x| !x.closing && x.name == "th") {
                out.push("a table without header cells".to_owned());
            }
        }
        if let Some(d) = t.attrs.get("aria-describedby") {
            for id in d.split(' ') {
                if !ids.contains(&id) {
                    out.push(format!(
                        "aria-describedby names `{id}`, which is no element"
                    ));
                }
            }
        }
    }
    out
}

// ----- every page as every role --------------------------------------------------------------

/// Spontaneous information on the harness's node (UNCC 40(4)): one it sent to Borduria with
/// conditions, one from Borduria still withheld (its accept and decline forms), and one from
/// Borduria without conditions (open, with the form asking to forward its item). Returns their
/// pages.
async fn information_cases(h: &Harness) -> (String, String, String) {
    use base64::Engine as _;
    use comity_protocol::envelope::{SealRandomness, seal_envelope};
    use comity_protocol::{EnvelopeHeader, Timestamp};
    let confidential = comity_node::InformationConditions {
        confidential: true,
        use_restriction: Some("only for investigation 2027/114".into()),
        other: vec![],
    };
    let sent = h
        .node
        .send_information(
            "officer",
            comity_node::InformationInput {
                to: "bo-central-authority".into(),
                basis: comity_types::Instrument::Uncc,
                text: "Account ops-7 is run from your territory.".into(),
                items: vec![("ledger.csv".into(), b"wallet\n".to_vec())],
                conditions: confidential.clone(),
            },
        )
        .await
        .unwrap();
    let (_, bo_signing, _) = support::entry("BO", 2);
    let created = Timestamp::from_unix_seconds(support::T0).unwrap();
    let mut ids = Vec::new();
    for (n, conditions) in [confidential, comity_node::InformationConditions::default()]
        .into_iter()
        .enumerate()
    {
        let case = format!("from-bo-{n}");
        let bytes = b"wallet,amount\n";
        let out = seal_envelope(
            h.node.directory(),
            EnvelopeHeader {
                from: "bo-central-authority".parse().unwrap(),
                to: "ar-central-authority".parse().unwrap(),
                kind: "case.information".parse().unwrap(),
                created,
                expires: created.plus_seconds(3600),
                in_reply_to: None,
            },
            serde_json::json!({
                "case": case,
                "salt": "ab".repeat(32),
                "basis": "UNCC",
                "cites": ["UNCC 40(4)"],
                "text": "The ledger of the wallet.",
                "items": [{
                    "name": "ledger.csv",
                    "sha256": comity_crypto::Sha256Digest::of(bytes).to_string(),
                    "data": base64::engine::general_purpose::STANDARD.encode(bytes),
                }],
                "conditions": conditions,
                "custody": [],
            })
            .as_object()
            .unwrap()
            .clone(),
            &bo_signing,
            SealRandomness {
                id: [n as u8 + 1; 10],
                hpke_seed: Some([n as u8 + 3; 32]),
            },
        )
        .unwrap();
        let r = h.node.receive(&out.bytes).await.unwrap();
        assert_eq!(r.result["accepted"], true, "{}", r.result);
        ids.push(format!("/cases/{case}"));
    }
    let open = ids.pop().unwrap();
    let offered = ids.pop().unwrap();
    (format!("/cases/{}", sent.id), offered, open)
}

#[tokio::test]
async fn every_page_as_every_role_in_both_languages_is_accessible() {
    let h = Harness::new(
        UiOptions {
            training: true,
            ..UiOptions::default()
        },
        Policy::default(),
    )
    .await;
    let case = format!("/cases/{}", h.case_id);
    let (sent, offered, open) = information_cases(&h).await;
    // Two sent requests: one whose notification may be restricted or recorded as given, one
    // whose restriction is in force (re-justify, lift): every form of the notification section.
    let mut requests = Vec::new();
    for restricted in [false, true] {
        let doc = h
            .node
            .new_case(
                "officer",
                comity_node::NewCase {
                    scenario: support::SCENARIO.to_owned(),
                    counterpart: "bo-central-authority".into(),
                    ..comity_node::NewCase::default()
                },
            )
            .await
            .unwrap();
        h.node
            .send_with("officer", &doc.id, Some("contents follow"))
            .await
            .unwrap();
        if restricted {
            h.node
                .restrict_notification(
                    "officer",
                    &doc.id,
                    &comity_node::RestrictInput {
                        subject: "the holder of the account named in the request".into(),
                        until: "2027-06-30".into(),
                        reason: "telling the holder would alert the suspects".into(),
                    },
                )
                .await
                .unwrap();
        }
        requests.push(format!("/cases/{}", doc.id));
    }
    // A BUD preservation request: its case page links to the T-CY form, whose page is checked.
    let preservation = h
        .node
        .new_case(
            "officer",
            comity_node::NewCase {
                scenario: support::SCENARIO
                    .replace("basis = \"UNCC\"", "basis = \"BUD\"")
                    .replace("kind = \"stored_data\"", "kind = \"preservation\""),
                counterpart: "bo-central-authority".into(),
                ..comity_node::NewCase::default()
            },
        )
        .await
        .unwrap();
    let team = h
        .node
        .create_team(
            "supervisor",
            comity_node::NewTeam {
                members: vec!["bo-central-authority".into()],
                purpose: "a shared investigation".into(),
                start: "2027-03-15".into(),
                end: "2027-06-30".into(),
                basis: comity_types::Instrument::Sap2,
                conditions: comity_node::UseConditions {
                    purpose_only: true,
                    consent_for_other_use: true,
                    onward: comity_node::OnwardUse::Forbidden,
                    other: vec!["a further condition".into()],
                },
            },
        )
        .await
        .unwrap();
    let team = format!("/teams/{}", team.id);
    let tcy_case = format!("/cases/{}", preservation.id);
    let tcy = format!("/cases/{}/tcy", preservation.id);
    let paths = [
        "/teams",
        team.as_str(),
        tcy_case.as_str(),
        tcy.as_str(),
        "/inbox",
        "/compose",
        case.as_str(),
        "/information/new",
        sent.as_str(),
        offered.as_str(),
        open.as_str(),
        requests[0].as_str(),
        requests[1].as_str(),
        "/treaty",
        "/treaty?q=UNCC+40",
        "/directory",
        "/training",
        "/transparency",
        "/audit",
        "/admin",
        "/admin/directory",
        "/cases/no-such-case",
    ];
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for lang in ["en", "fr"] {
        // The login page, as no one.
        let r = h
            .send(
                axum::http::Request::builder()
                    .uri("/login")
                    .header("cookie", format!("comity_lang={lang}"))
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let p = problems(&r.body, false);
        if !p.is_empty() {
            failures.insert(format!("{lang} anonymous /login"), p);
        }
        checked += 1;
        for role in ["officer", "supervisor", "auditor", "admin"] {
            let s = h.login(role).await;
            for path in paths {
                let r = h.get_lang(&s, path, lang).await;
                if r.status == StatusCode::NOT_FOUND && !r.body.contains("<html") {
                    // A route the node does not have (another part of the UI not built here).
                    continue;
                }
                assert!(
                    r.body.contains("<html"),
                    "{role} {path}: {} {}",
                    r.status,
                    r.body
                );
                if lang == "fr" {
                    assert!(r.body.contains("lang=\"fr\""), "{role} {path} in French");
                }
                let p = problems(&r.body, true);
                if !p.is_empty() {
                    failures.insert(format!("{lang} {role} {path} ({})", r.status), p);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} pages");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_checker_finds_what_is_missing() {
    let bad = r#"<!doctype html><html><head><title></title></head><body>
        <h1>A</h1><h1>B</h1><input name="q"><img src="x.png"><button></button>
        <label for="nothing">x</label></body></html>"#;
    let p = problems(bad, true);
    for expected in [
        "no lang",
        "no title",
        "2 h1",
        "0 main",
        "no nav",
        "skip link",
        "input without a label",
        "img without alt",
        "button with no text",
        "label for `nothing`",
    ] {
        assert!(p.iter().any(|x| x.contains(expected)), "{expected}: {p:#?}");
    }
    let good = r##"<!doctype html><html lang="en"><head><title>T — n</title></head><body>
        <a class="skip" href="#main">Skip</a><nav aria-label="Main"><a href="/">Home</a></nav>
        <main id="main"><h1>T</h1><label>Q <input name="q"></label>
        <label for="r">R</label><select id="r"></select><img src="x" alt="">
        <button type="submit">Go</button></main></body></html>"##;
    assert!(
        problems(good, true).is_empty(),
        "{:#?}",
        problems(good, true)
    );
}

// ----- the stylesheet ---------------------------------------------------------------------------

/// WCAG 2.1 relative luminance of `#rrggbb` / `#rgb`.
fn luminance(hex: &str) -> f64 {
    let h = hex.trim_start_matches('#');
    let h = if h.len() == 3 {
        h.chars().flat_map(|c| [c, c]).collect::<String>()
    } else {
        h.to_owned()
    };
    let ch = |i: usize| {
        let v = f64::from(u8::from_str_radix(&h[i..i + 2], 16).unwrap()) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * ch(0) + 0.7152 * ch(2) + 0.0722 * ch(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    (hi + 0.05) / (lo + 0.05)
}

/// The stylesheet's rules: selector → declarations, with `var(--x)` and named colours
/// resolved to `#hex`.
fn rules(css: &str) -> Vec<(String, HashMap<String, String>)> {
    // Comments out.
    let mut clean = String::new();
    let mut rest = css;
    while let Some(i) = rest.find("/*") {
        clean.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    clean.push_str(rest);
    let mut vars = HashMap::new();
    let mut out = Vec::new();
    // Flatten @media blocks: their rules count like the others.
    let flat = clean.replace("@media", "\n@media");
    let mut s = flat.as_str();
    while let Some(open) = s.find('{') {
        let selector = s[..open].trim().to_owned();
        if selector.starts_with("@media") {
            s = &s[open + 1..];
            continue;
        }
        let close = s[open..].find('}').map_or(s.len(), |j| open + j);
        let body = &s[open + 1..close];
        let mut decls = HashMap::new();
        for d in body.split(';') {
            if let Some((k, v)) = d.split_once(':') {
                decls.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        if selector == ":root" {
            for (k, v) in &decls {
                vars.insert(k.clone(), v.clone());
            }
        }
        out.push((selector.trim_start_matches('}').trim().to_owned(), decls));
        s = s.get(close + 1..).unwrap_or("");
    }
    let resolve = |v: &str| -> String {
        let v = v.trim();
        if let Some(name) = v.strip_prefix("var(").and_then(|x| x.strip_suffix(')')) {
            return vars.get(name.trim()).cloned().unwrap_or_default();
        }
        match v {
            "#fff" | "white" => "#ffffff".to_owned(),
            "#000" | "black" => "#000000".to_owned(),
            "#eee" => "#eeeeee".to_owned(),
            other => other.to_owned(),
        }
    };
    out.into_iter()
        .map(|(sel, decls)| {
            let resolved = decls
                .into_iter()
                .map(|(k, v)| {
                    let v = if k == "color" || k == "background" || k == "background-color" {
                        resolve(&v)
                    } else if k == "outline" {
                        v.split_whitespace()
                            .map(resolve)
                            .collect::<Vec<_>>()
                            .join(" ")
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect();
            (sel, resolved)
        })
        .collect()
}

fn is_hex(v: &str) -> bool {
    v.starts_with('#') && matches!(v.len(), 4 | 7) && v[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn the_palette_has_enough_contrast_and_focus_is_visible() {
    let css = std::str::from_utf8(comity_web::assets::get("style.css").unwrap().1).unwrap();
    let rules = rules(css);
    let root = rules.iter().find(|(s, _)| s == ":root").unwrap();
    let var = |n: &str| root.1.get(n).cloned().unwrap();
    // The page's backgrounds: the body's, and the soft one of the header, tables' headers and
    // the live check panel.
    let page_bgs = [var("--bg"), var("--soft")];
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    for (sel, d) in &rules {
        let Some(fg) = d.get("color").filter(|c| is_hex(c)) else {
            continue;
        };
        match d
            .get("background")
            .or_else(|| d.get("background-color"))
            .filter(|b| is_hex(b))
        {
            Some(bg) => pairs.push((sel.clone(), fg.clone(), bg.clone())),
            None => {
                for bg in &page_bgs {
                    pairs.push((sel.clone(), fg.clone(), bg.clone()));
                }
            }
        }
    }
    // Text drawn on a coloured background by another rule: error and notice boxes.
    for (fg, bg) in [
        ("--red", "--red-bg"),
        ("--ink", "--green-bg"),
        ("--ink", "--red-bg"),
        ("--ink", "--amber-bg"),
        ("--link", "--soft"),
        ("--muted", "--soft"),
    ] {
        pairs.push((format!("{fg} on {bg}"), var(fg), var(bg)));
    }
    assert!(pairs.len() > 15, "{pairs:?}");
    let low: Vec<String> = pairs
        .iter()
        .filter(|(_, fg, bg)| contrast(fg, bg) < 4.5)
        .map(|(s, fg, bg)| format!("{s}: {fg} on {bg} is {:.2}:1", contrast(fg, bg)))
        .collect();
    assert!(low.is_empty(), "below 4.5:1: {low:#?}");

    // Focus: every focusable element has a focus style with an outline of at least 3:1 on
    // the page's backgrounds (WCAG 1.4.11), and no rule takes the outline away from one.
    let focus: Vec<&(String, HashMap<String, String>)> =
        rules.iter().filter(|(s, _)| s.contains(":focus")).collect();
    for element in ["a", "button", "input", "select", "textarea", "summary"] {
        let rule = focus
            .iter()
            .find(|(s, _)| s.split(',').any(|x| x.trim() == format!("{element}:focus")))
            .unwrap_or_else(|| panic!("no :focus style for {element}"));
        let outline = rule.1.get("outline").unwrap();
        let colour = outline.split_whitespace().find(|w| is_hex(w)).unwrap();
        for bg in &page_bgs {
            assert!(
                contrast(colour, bg) >= 3.0,
                "the focus ring {colour} on {bg}: {:.2}:1",
                contrast(colour, bg)
            );
        }
    }
    for (s, d) in &rules {
        if s.contains(":focus") && d.get("outline").is_some_and(|o| o == "none" || o == "0") {
            // Only an element that is focused by script to move the reader (main, tabindex=-1)
            // may drop it.
            assert_eq!(s, "main:focus", "{s} removes the focus outline");
        }
    }
    // The skip link shows itself when focused.
    assert!(
        rules
            .iter()
            .any(|(s, d)| s == ".skip:focus" && d.contains_key("left"))
    );
}

#[test]
fn contrast_is_computed_as_wcag_defines_it() {
    assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
    assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
    assert!((contrast("#ffffff", "#ffffff") - 1.0).abs() < 0.001);
}
