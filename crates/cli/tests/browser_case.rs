#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A case carried out to the end in a real browser (Debian's Chromium through chromedriver),
//! against `comity demo` on loopback HTTP.
//!
//! Arcadia sends a request for stored data (through its API: composing is `browser.rs`'s). On
//! Borduria's node an officer decides to execute it and issues a production order to
//! Borduria's service provider, and a second one; the provider's officer complies with the
//! first by uploading the records and objects to the second with reasons, which Borduria
//! sees; the Borduria officer delivers the records on, with a file of its own, to Arcadia.
//! Arcadia's officer
//! sees both items with their SHA-256 and the provider in the chain of custody, opens one
//! (audited), and closes the case. A preservation request is warned about (UNCC 42(7)),
//! granted and extended (42(9)) through the forms of each side. Arcadia's auditor reads the
//! case's audit trail (the opening in it) and finds no form to act with; the transparency page
//! shows the log's size, the signed checkpoint and its cosignatures.
//!
//! Skipped visibly without chromium (required under `COMITY_REQUIRE_SHARED=1`). With
//! `COMITY_SCREENSHOTS=DIR` it saves the screenshots that docs/screenshots/ holds.

mod browser_support;
mod demo_support;

use std::time::{Duration, Instant};

use browser_support::{browser, click, log_in, shot, tools_present, type_into, wait_text};
use demo_support::demo;
use fantoccini::{Client, Locator};

const AR: &str = "ar-central-authority";
const BO: &str = "bo-central-authority";
const SP: &str = "bo-service-provider";
const MLA: &str = include_str!("../demo/2-mla.toml");
const PRESERVATION: &str = include_str!("../demo/1-preservation.toml");

/// The produced records and Borduria's own item, as files on disk (the browser uploads them).
const RECORDS: &[u8] = b"account,registered,ip\nops-7,2026-11-02,203.0.113.7\n";
const LETTER: &[u8] = b"Borduria Central Authority: results of request, executed in full.\n";

fn sha256(bytes: &[u8]) -> String {
    comity_crypto::Sha256Digest::of(bytes).to_string()
}

/// Reloads `url` until `css` contains `needle` (another node's message may take a moment).
async fn until(c: &Client, url: &str, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        c.goto(url).await.unwrap();
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: `{css}` never contained `{needle}`"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// Sets a form field's value directly (date inputs take keys in the browser's locale order).
async fn set_value(c: &Client, id: &str, value: &str) {
    c.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        vec![id.into(), value.into()],
    )
    .await
    .unwrap();
}

/// The officer API, on loopback where the demo trusts the officer header.
async fn api(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let r = http
        .post(format!("{base}{path}"))
        .header("X-Comity-Officer", "setup")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_executed_through_a_production_order_delivered_opened_and_closed_in_chromium()
{
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(52_000 + (std::process::id() % 200) as u16 * 24, dir.path());
    let ar = demo.url(AR);
    let bo = demo.url(BO);
    let sp = demo.url(SP);
    let records = dir.path().join("subscriber-records.csv");
    std::fs::write(&records, RECORDS).unwrap();
    let letter = dir.path().join("covering-letter.txt");
    std::fs::write(&letter, LETTER).unwrap();

    // Arcadia sends the request.
    comity_crypto::tls::install_default_provider();
    let http = reqwest::Client::new();
    let case = api(
        &http,
        &ar,
        "/v1/cases",
        serde_json::json!({"scenario": MLA, "counterpart": BO}),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    api(
        &http,
        &ar,
        &format!("/v1/cases/{id}/send"),
        serde_json::json!({}),
    )
    .await;
    let kept = api(
        &http,
        &ar,
        "/v1/cases",
        serde_json::json!({"scenario": PRESERVATION, "counterpart": BO}),
    )
    .await;
    let kept = kept["id"].as_str().unwrap().to_owned();
    api(
        &http,
        &ar,
        &format!("/v1/cases/{kept}/send"),
        serde_json::json!({}),
    )
    .await;

    let (c, _driver) = browser().await;

    // Borduria: an officer decides to execute, then orders the provider to produce the data.
    log_in(&c, &bo, &demo.login(BO, "officer")).await;
    let bo_case = format!("{bo}/cases/{id}");
    until(&c, &bo_case, "#state", "received").await;
    c.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("executed")
        .await
        .unwrap();
    click(&c, "#decide").await;
    wait_text(&c, "#state", "decided").await;
    assert!(
        c.find(Locator::Id("order-form")).await.is_ok(),
        "an executed request offers a production order"
    );
    c.find(Locator::Id("provider"))
        .await
        .unwrap()
        .select_by_value(SP)
        .await
        .unwrap();
    click(&c, "#po-data-subscriber").await;
    type_into(&c, "#subject", "account ops-7").await;
    set_value(&c, "period_from", "2026-11-01").await;
    set_value(&c, "period_to", "2026-11-30").await;
    type_into(
        &c,
        "#legal_basis",
        "Code of Criminal Procedure of Borduria, art. 12",
    )
    .await;
    set_value(&c, "due", "2099-12-31").await;
    click(&c, "#issue-order").await;
    wait_text(&c, "#orders", "").await;
    // A second order, for traffic data, which the provider will object to.
    c.find(Locator::Id("provider"))
        .await
        .unwrap()
        .select_by_value(SP)
        .await
        .unwrap();
    click(&c, "#po-data-traffic").await;
    type_into(&c, "#subject", "account ops-8").await;
    set_value(&c, "period_from", "2026-11-01").await;
    set_value(&c, "period_to", "2026-11-30").await;
    type_into(
        &c,
        "#legal_basis",
        "Code of Criminal Procedure of Borduria, art. 12",
    )
    .await;
    set_value(&c, "due", "2099-12-31").await;
    click(&c, "#issue-order").await;
    let orders = wait_text(&c, "#orders", ",").await;
    let orders: Vec<String> = orders.split(',').map(|o| o.trim().to_owned()).collect();
    let (order, refused) = (orders[0].clone(), orders[1].clone());

    // A preservation request: Borduria warns that preservation may not ensure availability
    // (UNCC 42(7)), then grants it.
    let bo_kept = format!("{bo}/cases/{kept}");
    until(&c, &bo_kept, "#state", "received").await;
    assert!(c.find(Locator::Id("extend")).await.is_err());
    type_into(
        &c,
        "#notify-text",
        "The provider rotates its logs weekly; part of the data may already be gone.",
    )
    .await;
    click(&c, "#notify").await;
    wait_text(&c, "#timeline", "availability_notice").await;
    c.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("executed")
        .await
        .unwrap();
    click(&c, "#decide").await;
    wait_text(&c, "#state", "decided").await;
    wait_text(&c, "#preserved", "(0 extensions)").await;

    // The provider complies: its officer uploads the records on the order.
    log_in(&c, &sp, &demo.login(SP, "officer")).await;
    let sp_order = format!("{sp}/cases/{order}");
    until(&c, &sp_order, "#state", "received").await;
    wait_text(&c, "#order", "account ops-7").await;
    assert!(
        c.find(Locator::Id("object")).await.is_ok(),
        "the provider may object"
    );
    c.find(Locator::Id("deliver-items"))
        .await
        .unwrap()
        .send_keys(records.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#deliver").await;
    wait_text(&c, "#state", "delivered").await;

    // It objects to the other order, with its reasons.
    let sp_refused = format!("{sp}/cases/{refused}");
    until(&c, &sp_refused, "#order", "account ops-8").await;
    type_into(
        &c,
        "#object-reasons",
        "The account ops-8 was closed in 2025; no traffic data is held for the period.",
    )
    .await;
    click(&c, "#object").await;
    wait_text(&c, "#state", "decided").await;

    // Borduria (its officer's session still open) sees the objection on its order.
    let objection = until(&c, &format!("{bo}/cases/{refused}"), "#decision", "refused").await;
    assert!(objection.contains("closed in 2025"), "{objection}");

    // Borduria delivers the records on, with a covering letter of its own.
    c.goto(&bo_case).await.unwrap();
    let evidence = until(&c, &bo_case, "main", "subscriber-records.csv").await;
    assert!(evidence.contains(&sha256(RECORDS)), "{evidence}");
    c.find(Locator::Id("deliver-items"))
        .await
        .unwrap()
        .send_keys(letter.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#deliver-form input[name=received]").await;
    shot(&c, "case-deliver").await;
    click(&c, "#deliver").await;
    wait_text(&c, "#state", "delivered").await;

    // Arcadia: both items, with their hashes; the records' chain starts at the provider.
    log_in(&c, &ar, &demo.login(AR, "officer")).await;
    let ar_case = format!("{ar}/cases/{id}");
    until(&c, &ar_case, "#state", "delivered").await;
    let items = wait_text(&c, "table.items", "covering-letter.txt").await;
    assert!(items.contains(&sha256(LETTER)), "{items}");
    assert!(items.contains(&sha256(RECORDS)), "{items}");
    assert!(items.contains(SP), "{items}");
    c.find(Locator::LinkText("subscriber-records.csv"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let hash = wait_text(&c, "#item-sha256", "").await;
    assert_eq!(hash, sha256(RECORDS));
    let custody = wait_text(&c, "#custody", "production order").await;
    assert!(custody.contains(SP), "{custody}");
    assert!(
        custody.contains("received and sealed") || custody.contains(AR),
        "{custody}"
    );
    shot(&c, "item").await;
    // Opening posts the form (with its CSRF token); the answer is the bytes, checked against
    // the hash. Fetched from the page, so that no download lands outside the test's directory.
    let opened = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const f = document.querySelector('form[action$=\"/open\"]');
             fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))})
               .then(r => r.text().then(t => done([r.status, r.headers.get('x-comity-sha256'), t])));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(opened[0], 200, "{opened}");
    assert_eq!(opened[1], sha256(RECORDS).as_str(), "{opened}");
    assert_eq!(opened[2], std::str::from_utf8(RECORDS).unwrap(), "{opened}");

    // Arcadia asks to extend the preservation before it ends (UNCC 42(9)); Borduria grants 60
    // days more.
    let ar_kept = format!("{ar}/cases/{kept}");
    until(&c, &ar_kept, "#preserved", "(0 extensions)").await;
    assert!(c.find(Locator::Id("notify")).await.is_err());
    type_into(
        &c,
        "#extend-text",
        "The investigation needs another two months.",
    )
    .await;
    click(&c, "#extend").await;
    wait_text(&c, "#timeline", "extension_requested").await;
    until(&c, &ar_kept, "#preserved", "(1 extensions)").await;

    // Closing the case ends it on both sides.
    c.goto(&ar_case).await.unwrap();
    type_into(
        &c,
        "#close-reason",
        "Evidence received; the investigation goes on at home.",
    )
    .await;
    click(&c, "#close").await;
    wait_text(&c, "#state", "closed").await;
    wait_text(&c, "#closed-reason", "Evidence received").await;

    // Arcadia's auditor: the case's audit trail holds the opening; no form to act with.
    click(&c, "form.who button").await;
    wait_text(&c, "main h1", "Log in").await;
    log_in(&c, &ar, &demo.login(AR, "auditor")).await;
    c.goto(&ar_case).await.unwrap();
    wait_text(&c, "#state", "closed").await;
    assert!(c.find(Locator::Css("section.act")).await.is_err());
    click(&c, "#audit-link").await;
    let audit = until(&c, &format!("{ar_case}/audit"), "#audit", "export").await;
    assert!(audit.contains("close"), "{audit}");
    assert!(
        audit.contains(&demo.login(AR, "officer").username),
        "{audit}"
    );
    shot(&c, "audit").await;

    // The transparency page: the log's size, the signed checkpoint and who cosigned it.
    let page = until(&c, &format!("{ar}/transparency"), "#cosignatures", BO).await;
    assert!(page.contains(BO), "{page}");
    let size: u64 = wait_text(&c, "#log-size", "").await.trim().parse().unwrap();
    assert!(size >= 3, "request sent, decision, delivery: {size}");
    let checkpoint = wait_text(&c, "#checkpoint", "").await;
    assert!(checkpoint.contains(AR), "{checkpoint}");
    wait_text(&c, "#h-report", "").await;
    wait_text(&c, "#alarms", "").await;
    shot(&c, "transparency").await;

    c.close().await.unwrap();
}
