#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The officer UI in a real browser: Debian's Chromium driven through chromedriver (both from
//! apt, installed by the README's test command), against `comity demo` on loopback HTTP.
//!
//! One officer composes a request at Arcadia and sees the engine's live check name a missing
//! content, completes and sends it; a Bordurian supervisor logs in on Borduria's node, finds
//! it in the inbox with its deadline, assesses it, is told to consult before refusing and to
//! give reasons, then refuses with reasons; Arcadia sees the refusal. A wrong password is
//! refused; an officer of another authority gets 404 for a case only Arcadia holds.
//!
//! Without chromium and chromedriver the test says SKIPPED (and fails under
//! `COMITY_REQUIRE_SHARED=1`, as CI runs it). With `COMITY_SCREENSHOTS=DIR` it saves the
//! screenshots that docs/screenshots/ holds.

mod browser_support;
mod demo_support;

use std::time::{Duration, Instant};

use browser_support::{browser, click, log_in, shot, tools_present, type_into, wait_text};
use demo_support::demo;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_composes_and_sends_and_a_supervisor_refuses_with_reasons_in_chromium() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(40_000 + (std::process::id() % 200) as u16 * 24, dir.path());
    let ar = demo.url("ar-central-authority");
    let bo = demo.url("bo-central-authority");
    let (c, _driver) = browser().await;

    // A wrong password is refused, saying nothing of which part was wrong.
    let mut wrong = demo.login("ar-central-authority", "officer");
    wrong.password.push('x');
    c.goto(&format!("{ar}/login")).await.unwrap();
    shot(&c, "login").await;
    type_into(&c, "#username", &wrong.username).await;
    type_into(&c, "#password", &wrong.password).await;
    click(&c, "form.login button").await;
    wait_text(&c, "[role=alert]", "Wrong username or password").await;

    // Login works on loopback HTTP (no Secure cookie there).
    log_in(&c, &ar, &demo.login("ar-central-authority", "officer")).await;
    shot(&c, "inbox").await;

    // Compose: the engine checks as the officer types; a missing content is named with its
    // article before anything is sent.
    c.goto(&format!("{ar}/compose")).await.unwrap();
    c.find(Locator::Id("counterpart"))
        .await
        .unwrap()
        .select_by_value("bo-central-authority")
        .await
        .unwrap();
    type_into(
        &c,
        "#title",
        "Ransomware extortion of hospitals: subscriber data",
    )
    .await;
    c.find(Locator::Id("offence"))
        .await
        .unwrap()
        .select_by_value("system_interference")
        .await
        .unwrap();
    for content in [
        "requesting_authority",
        "investigation_subject",
        "assistance_sought",
        "purpose",
    ] {
        click(&c, &format!("#supplied-{content}")).await;
    }
    let check = wait_text(&c, "#check", "facts_summary").await;
    assert!(check.contains("nonconforming"), "{check}");
    assert!(check.contains("UNCC 40(15)(c)"), "{check}");
    shot(&c, "compose-live-check").await;
    // A suggested deadline with its reasons (UNCC 40(26)) gives the requested side a deadline.
    type_into(&c, "#hours", "72").await;
    type_into(
        &c,
        "#deadline_reason",
        "The servers are due to be wiped within the week.",
    )
    .await;
    click(&c, "#supplied-facts_summary").await;
    let check = wait_text(&c, "#check", "execute").await;
    assert!(!check.contains("Missing contents"), "{check}");
    click(&c, "#compose button[type=submit]").await;
    let state = wait_text(&c, "#state", "checked").await;
    assert_eq!(state, "checked");
    let case_url = c.current_url().await.unwrap().to_string();
    let id = case_url.rsplit('/').next().unwrap().to_owned();
    click(&c, "#send").await;
    wait_text(&c, "#state", "sent").await;
    wait_text(&c, "#timeline", "sent").await;

    // A draft that only Arcadia holds, for the check of another authority below.
    c.goto(&format!("{ar}/compose")).await.unwrap();
    type_into(&c, "#title", "A draft never sent").await;
    click(&c, "#compose button[type=submit]").await;
    wait_text(&c, "#state", "draft").await;
    let draft_url = c.current_url().await.unwrap().to_string();
    let draft = draft_url.rsplit('/').next().unwrap().to_owned();

    // Borduria: a supervisor finds the request in the inbox, with its deadline.
    log_in(&c, &bo, &demo.login("bo-central-authority", "supervisor")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let source = c.source().await.unwrap();
        if source.contains(&format!("/cases/{id}")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached Borduria's inbox"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.refresh().await.unwrap();
    }
    let inbox = wait_text(&c, "#s-new", "New").await;
    assert!(inbox.contains("(1)") || inbox.contains("New"), "{inbox}");
    shot(&c, "inbox-requested").await;
    c.goto(&format!("{bo}/cases/{id}")).await.unwrap();
    wait_text(&c, "#state", "received").await;
    wait_text(&c, "table.deadlines", "open").await;

    // The assessment raises a ground; refusing needs a consultation first, then reasons.
    click(&c, "#fact-essential_interests").await;
    click(&c, "form[action$='/assess'] button").await;
    wait_text(&c, "#timeline", "assessed").await;
    c.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("refused")
        .await
        .unwrap();
    click(&c, "#dg-essential_interests").await;
    type_into(
        &c,
        "#reasons",
        "Disclosure would prejudice the requested Party's essential interests.",
    )
    .await;
    click(&c, "#decide").await;
    wait_text(&c, "[role=alert]", "consultation_required").await;
    click(&c, "#cg-essential_interests").await;
    type_into(
        &c,
        "#consult-text",
        "We intend to refuse on essential interests (UNCC 40(21)(b)); can the request be narrowed?",
    )
    .await;
    click(&c, "form[action$='/consult'] button").await;
    wait_text(&c, "#timeline", "consult").await;
    c.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("refused")
        .await
        .unwrap();
    click(&c, "#dg-essential_interests").await;
    click(&c, "#decide").await;
    wait_text(&c, "[role=alert]", "reasons_required").await;
    shot(&c, "decide-reasons-required").await;
    c.find(Locator::Id("disposition"))
        .await
        .unwrap()
        .select_by_value("refused")
        .await
        .unwrap();
    click(&c, "#dg-essential_interests").await;
    type_into(
        &c,
        "#reasons",
        "Disclosure would prejudice the requested Party's essential interests (UNCC 40(21)(b)).",
    )
    .await;
    click(&c, "#decide").await;
    wait_text(&c, "#state", "decided").await;
    let decision = wait_text(&c, "#decision", "refused").await;
    assert!(decision.contains("essential interests"), "{decision}");
    // The deadline is settled and the decision is on the timeline (and in the log).
    wait_text(&c, "table.deadlines", "met").await;
    wait_text(&c, "#timeline", "decided").await;
    shot(&c, "case-decided").await;

    // Each conclusion links to its article in the treaty browser; the directory shows the
    // authorities and their keys.
    click(&c, "table.grounds a").await;
    let rule = wait_text(&c, "table.rules", "UNCC 40(21)").await;
    assert!(rule.contains("essential"), "{rule}");
    shot(&c, "treaty").await;
    c.goto(&format!("{bo}/directory")).await.unwrap();
    wait_text(&c, "main", "ar-central-authority").await;
    shot(&c, "directory").await;

    // An officer of another authority: Borduria's node has no case of Arcadia's own.
    c.goto(&format!("{bo}/cases/{draft}")).await.unwrap();
    wait_text(&c, "main h1", "404").await;

    // Arcadia sees the refusal and its reasons.
    c.goto(&format!("{ar}/cases/{id}")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = wait_text(&c, "#state", "").await;
        if state == "decided" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refusal never reached Arcadia ({state})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.refresh().await.unwrap();
    }
    let decision = wait_text(&c, "#decision", "refused").await;
    assert!(decision.contains("essential interests"), "{decision}");
    shot(&c, "case-requesting").await;

    // The transparency page counts the refusal from the log.
    c.goto(&format!("{bo}/report")).await.unwrap();
    wait_text(&c, "body", "refused").await;

    c.close().await.unwrap();
}
