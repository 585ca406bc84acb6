#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The exports on the officer UI: the case page links to them for the roles that may export,
//! the T-CY form of a BUD preservation request is a page (in English and French), and a case
//! the template is not written for is refused on a page saying why.

mod support;

use axum::http::StatusCode;
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::{Harness, SCENARIO};

#[tokio::test]
async fn the_case_page_links_to_the_exports_and_the_tcy_form_is_a_page() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let preservation = h
        .node
        .new_case(
            "officer",
            comity_node::NewCase {
                scenario: SCENARIO
                    .replace("basis = \"UNCC\"", "basis = \"BUD\"")
                    .replace("kind = \"stored_data\"", "kind = \"preservation\""),
                counterpart: "bo-central-authority".into(),
                ..comity_node::NewCase::default()
            },
        )
        .await
        .unwrap();
    let id = preservation.id;
    for role in ["officer", "supervisor", "auditor"] {
        let s = h.login(role).await;
        let page = h.get(Some(&s), &format!("/cases/{id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{role}");
        assert!(
            page.body.contains(&format!("href=\"/cases/{id}/tcy\"")),
            "{role}"
        );
        assert!(
            page.body
                .contains(&format!("href=\"/v1/cases/{id}/export/bundle\""))
        );
        // A stored-data request under the UNCC: the bundle only.
        let other = h.get(Some(&s), &format!("/cases/{}", h.case_id)).await;
        assert!(other.body.contains("id=\"bundle-link\""), "{role}");
        assert!(!other.body.contains("id=\"tcy-link\""), "{role}");

        let tcy = h.get_lang(&s, &format!("/cases/{id}/tcy"), "fr").await;
        assert_eq!(tcy.status, StatusCode::OK, "{role}: {}", tcy.body);
        assert!(tcy.body.contains("lang=\"fr\""));
        assert!(tcy.body.contains("Demande de conservation de données"));
        assert!(tcy.body.contains("non vérifié"));
        assert!(tcy.body.contains("manquant"));
        let tcy = h.get(Some(&s), &format!("/cases/{id}/tcy")).await;
        assert!(
            tcy.body
                .contains("Data Preservation Request under Articles 29 and 30")
        );
        assert!(tcy.body.contains(&id));

        let refused = h.get(Some(&s), &format!("/cases/{}/tcy", h.case_id)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{role}");
        assert!(
            refused.body.contains("export_unavailable"),
            "{}",
            refused.body
        );
    }
    // The administrator works on accounts, not cases.
    let admin = h.login("admin").await;
    let r = h.get(Some(&admin), &format!("/cases/{id}/tcy")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The exports are audited as the officer's.
    assert!(!h.audited("export").await.is_empty());
}

#[tokio::test]
async fn every_section_and_field_of_the_tcy_form_has_its_french_label() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let c = h
        .node
        .new_case(
            "officer",
            comity_node::NewCase {
                scenario: SCENARIO
                    .replace("basis = \"UNCC\"", "basis = \"BUD\"")
                    .replace("kind = \"stored_data\"", "kind = \"traffic_disclosure\""),
                counterpart: "bo-central-authority".into(),
                ..comity_node::NewCase::default()
            },
        )
        .await
        .unwrap();
    let form = h.node.export_tcy("officer", &c.id).await.unwrap();
    let fr = comity_web::i18n::export_text("fr");
    let has = |key: &str| fr.labels.iter().any(|(k, _)| *k == key);
    assert!(has("title"));
    for s in &form.sections {
        assert!(has(s.id), "section {}", s.id);
        for f in &s.fields {
            assert!(has(&format!("field:{}", f.id)), "field {}", f.id);
        }
    }
}
