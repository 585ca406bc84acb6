#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The engine's words in the officer's language: the case page's decision, its explanation,
//! ground names and missing contents, and the compose check, in French from the catalogue
//! (the codes beside them unchanged), in English otherwise.

mod support;

use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::Harness;

#[tokio::test]
async fn the_engine_speaks_the_officers_language() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let s = h.login("officer").await;
    let case = format!("/cases/{}", h.case_id);

    let en = h.get_lang(&s, &case, "en").await;
    assert!(en.body.contains("The engine says"), "{}", en.body);
    assert!(en.body.contains("both Parties are bound by UNCC"));

    let fr = h.get_lang(&s, &case, "fr").await;
    assert!(fr.body.contains("Le moteur conclut"));
    assert!(
        fr.body.contains("les deux Parties sont liées par UNCC"),
        "{}",
        fr.body
    );
    assert!(!fr.body.contains("both Parties are bound by"));
    // The harness's request lacks contents: named by code, with French words.
    assert!(fr.body.contains("l’assistance demandée"));
    assert!(fr.body.contains("<code>assistance_sought</code>"));
    assert!(fr.body.contains("des éléments obligatoires manquent"));
    // The proposal's duties, with their words.
    assert!(en.body.contains("Duties: <code>"), "{}", en.body);
    assert!(fr.body.contains("Obligations: <code>") && !fr.body.contains("Duties:"));
    assert!(fr.body.contains("motiver tout refus ou ajournement"));

    // The compose check, as the officer types.
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/compose/check")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("{}; comity_lang=fr", s.cookie))
        .header("x-csrf-token", &s.csrf)
        .body(axum::body::Body::from(
            "basis=UNCC&kind=mla&offence=fraud&penalty=5&penalty_requested=5&ours=UNCC&theirs=UNCC&data=subscriber",
        ))
        .unwrap();
    let r = h.send(req).await;
    assert!(
        r.body.contains("un résumé des faits pertinents"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<code>facts_summary</code>"));
    // The ground table's statuses are words of the catalogue.
    assert!(
        r.body
            .contains("l’instrument permet de refuser sur ce motif")
    );
    assert!(r.body.contains("infraction politique"));

    // The compose form's choices carry the words too.
    let c = h.get_lang(&s, "/compose", "fr").await;
    assert!(c.body.contains("informations relatives aux abonnés"));
}
