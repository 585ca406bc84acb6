#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Nodes as separate `comity serve` processes on loopback: every lifecycle path of a case
//! through the officer APIs, carried between the processes by their outboxes over mutual TLS;
//! envelopes and connections the node-to-node endpoint must refuse, each with its error and
//! nothing changed; and a clean stop on SIGTERM that frees every port.

mod federation;
mod logcheck;

use std::time::Duration;

use base64::Engine as _;
use comity_crypto::SigningSecret;
use comity_crypto::tls::{PinnedPeers, TlsIdentity, client_config};
use comity_protocol::envelope::{ENVELOPE_CONTEXT, SealRandomness, seal_envelope};
use comity_protocol::{Directory, EnvelopeHeader, Timestamp, VerifiedDirectory};
use federation::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn date(v: &Value) -> jiff::civil::Date {
    v.as_str()
        .unwrap_or_else(|| panic!("not a date: {v}"))
        .parse()
        .unwrap()
}

fn timestamp(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

// ----- lifecycle ---------------------------------------------------------------------------------

/// Preservation (UNCC 42): executed for at least 60 days, extended by 60 days on request, and a
/// notice that preservation will not ensure availability.
async fn preservation(fed: &Federation) {
    let id = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    let sent = fed
        .post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    assert_eq!(sent["state"], "sent");
    let got = fed.state(BO, &id, "received").await;
    assert_eq!(got["case"]["side"], "requested");
    assert_eq!(got["case"]["counterpart"], AUTHORITIES[AR].id);
    assert_eq!(got["case"]["proposal"]["outcome"], "execute");

    let decided = fed
        .post(
            BO,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await;
    assert_eq!(decided["state"], "decided");
    let until = date(&decided["preservation"]["until"]);
    let received = timestamp(&got["case"]["received_at"])
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .date();
    let days = received.until(until).unwrap().get_days();
    assert!((59..=61).contains(&days), "preserved {days} days");
    let ar = fed
        .until(AR, &id, "the decision with its period", |v| {
            v["case"]["state"] == "decided"
                && v["case"]["preservation"]["until"] == until.to_string()
        })
        .await;
    assert_eq!(ar["case"]["decision"]["disposition"], "executed");

    // The requesting side asks for an extension (UNCC 42(9)): 60 days more on both sides.
    fed.post(
        AR,
        &format!("/v1/cases/{id}/extend"),
        json!({"text": "the MLA request is being translated"}),
    )
    .await;
    let extended = until.checked_add(jiff::Span::new().days(60)).unwrap();
    let bo = fed
        .until(BO, &id, "the extension", |v| {
            v["case"]["preservation"]["extensions"] == 1
        })
        .await;
    assert_eq!(bo["case"]["preservation"]["until"], extended.to_string());
    fed.until(AR, &id, "the extended period", |v| {
        v["case"]["preservation"]["until"] == extended.to_string()
    })
    .await;

    // The requested side gives notice that preservation will not ensure availability.
    fed.post(
        BO,
        &format!("/v1/cases/{id}/notify"),
        json!({"text": "the provider rotates its logs every 30 days"}),
    )
    .await;
    let ar = fed
        .until(AR, &id, "the availability notice", |v| {
            len(&v["case"]["preservation"]["notices"]) == 1
        })
        .await;
    assert_eq!(
        ar["case"]["preservation"]["notices"][0]["text"],
        "the provider rotates its logs every 30 days"
    );
}

/// MLA: a nonconforming draft revised; a question and its answer; a refusal on essential
/// interests only after consultation (UNCC 40(28)) and only with reasons.
async fn mla_clarified_consulted_refused(fed: &Federation) {
    let incomplete = scenario("mla", "UNCC", &MLA[..2], "", "");
    let draft = fed
        .post(
            AR,
            "/v1/cases",
            json!({"scenario": incomplete, "counterpart": AUTHORITIES[BO].id}),
        )
        .await;
    assert_eq!(draft["state"], "draft", "{draft}");
    let id = draft["id"].as_str().unwrap().to_owned();
    // Nonconforming: sent only with a written override reason.
    fed.refused(
        AR,
        &format!("/v1/cases/{id}/send"),
        json!({}),
        422,
        "override_required",
    )
    .await;
    let revised = fed
        .post(
            AR,
            &format!("/v1/cases/{id}/revise"),
            json!({"scenario": scenario("mla", "UNCC", MLA, "", "")}),
        )
        .await;
    assert_eq!(revised["state"], "checked");
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    fed.state(BO, &id, "received").await;

    fed.post(
        BO,
        &format!("/v1/cases/{id}/clarify"),
        json!({"question": "which accounts, and for which period?"}),
    )
    .await;
    let ar = fed.state(AR, &id, "clarification_asked").await;
    assert_eq!(
        ar["case"]["clarifications"][0]["text"],
        "which accounts, and for which period?"
    );
    let answered = fed
        .post(
            AR,
            &format!("/v1/cases/{id}/answer"),
            json!({"text": "accounts x and y, March 2027", "supplied": ["time_period"]}),
        )
        .await;
    assert_eq!(answered["state"], "sent");
    let bo = fed
        .until(BO, &id, "the answer", |v| {
            v["case"]["state"] == "received" && len(&v["case"]["answers"]) == 1
        })
        .await;
    assert_eq!(
        bo["case"]["answers"][0]["text"],
        "accounts x and y, March 2027"
    );

    let assessed = fed
        .post(
            BO,
            &format!("/v1/cases/{id}/assess"),
            json!({"essential_interests": true}),
        )
        .await;
    assert_eq!(assessed["proposal"]["outcome"], "may_refuse");
    let reasons = "execution would prejudice the essential interests of Borduria";
    let refuse =
        json!({"disposition": "refused", "grounds": ["essential_interests"], "reasons": reasons});
    fed.refused(
        BO,
        &format!("/v1/cases/{id}/decide"),
        refuse.clone(),
        409,
        "consultation_required",
    )
    .await;
    fed.post(
        BO,
        &format!("/v1/cases/{id}/consult"),
        json!({"grounds": ["essential_interests"], "text": "could a narrower request be executed?"}),
    )
    .await;
    fed.until(AR, &id, "the consultation", |v| {
        len(&v["case"]["consultations"]) == 1
    })
    .await;
    fed.refused(
        BO,
        &format!("/v1/cases/{id}/decide"),
        json!({"disposition": "refused", "grounds": ["essential_interests"], "reasons": " "}),
        422,
        "reasons_required",
    )
    .await;
    let decided = fed
        .post(BO, &format!("/v1/cases/{id}/decide"), refuse)
        .await;
    assert_eq!(decided["decision"]["disposition"], "refused");
    let ar = fed.state(AR, &id, "decided").await;
    let decision = &ar["case"]["decision"];
    assert_eq!(decision["disposition"], "refused");
    assert_eq!(decision["grounds"], json!(["essential_interests"]));
    assert_eq!(decision["reasons"], reasons);
}

/// Extradition refused on nationality: consultation first (UNCC 37(17)), and the submission
/// for prosecution recorded (aut dedere aut judicare, UNCC 37(11)).
async fn extradition_refused_on_nationality(fed: &Federation) {
    let id = fed
        .create(
            &scenario("extradition", "UNCC", &[], "", "own_national = true"),
            BO,
        )
        .await;
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    let got = fed.state(BO, &id, "received").await;
    assert_eq!(got["case"]["proposal"]["outcome"], "may_refuse");
    let decide = format!("/v1/cases/{id}/decide");
    let refuse = json!({"disposition": "refused", "grounds": ["nationality"], "reasons": "the person sought is a national of Borduria"});
    fed.refused(BO, &decide, refuse.clone(), 409, "consultation_required")
        .await;
    fed.post(
        BO,
        &format!("/v1/cases/{id}/consult"),
        json!({"grounds": ["nationality"], "text": "Borduria intends to prosecute"}),
    )
    .await;
    fed.refused(BO, &decide, refuse.clone(), 422, "prosecution_required")
        .await;
    let mut with = refuse;
    with["prosecution"] =
        json!({"authority": "Borduria public prosecutor", "reference": "PP-2027-14"});
    let decided = fed.post(BO, &decide, with).await;
    assert_eq!(
        decided["decision"]["prosecution"]["reference"],
        "PP-2027-14"
    );
    let ar = fed.state(AR, &id, "decided").await;
    assert_eq!(ar["case"]["decision"]["disposition"], "refused");
    assert_eq!(ar["case"]["decision"]["grounds"], json!(["nationality"]));
    let bo = fed.get(BO, &format!("/v1/cases/{id}")).await;
    assert_eq!(
        bo["case"]["decision"]["prosecution"]["authority"],
        "Borduria public prosecutor"
    );
}

/// Emergency disclosure to the 24/7 point of contact (UNCC 41(3)(e)): a deadline of 24 hours
/// from receipt, then the data.
async fn emergency_to_the_24_7_point_of_contact(fed: &Federation) {
    let created = fed
        .post(
            AR,
            "/v1/cases",
            json!({
                "scenario": scenario("emergency_disclosure", "UNCC", &[], "emergency = true", ""),
                "counterpart": AUTHORITIES[BO_247].id,
            }),
        )
        .await;
    assert_eq!(created["state"], "checked", "{created}");
    assert_eq!(created["emergency"], true);
    assert_eq!(created["respond_within_hours"], 24);
    let id = created["id"].as_str().unwrap().to_owned();
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    let got = fed.state(BO_247, &id, "received").await;
    let deadlines = got["deadlines"].as_array().unwrap();
    assert_eq!(deadlines.len(), 1, "{deadlines:?}");
    assert_eq!(deadlines[0]["name"], "respond");
    let received = timestamp(&got["case"]["received_at"]);
    let due = timestamp(&deadlines[0]["due_at"]);
    // 24 hours from the moment of receipt the case records.
    assert_eq!(
        due.duration_since(received),
        jiff::SignedDuration::from_hours(24),
        "due {due}, received {received}"
    );

    fed.post(
        BO_247,
        &format!("/v1/cases/{id}/decide"),
        json!({"disposition": "executed"}),
    )
    .await;
    // The first emergency from AR, signed with a key a day old: flagged on receipt, and its data
    // held until a second officer of the point of contact confirms it.
    let reasons: Vec<&str> = got["case"]["emergency_flag"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["signing_key_recent", "first_emergency"]);
    let deliver = json!({"items": [{"name": "subscriber.txt", "content_base64": b64(b"subscriber: +000 555 0100\n")}], "retention_days": 30});
    fed.refused(
        BO_247,
        &format!("/v1/cases/{id}/deliver"),
        deliver.clone(),
        409,
        "emergency_unconfirmed",
    )
    .await;
    let confirmed = fed
        .http
        .post(
            fed.node(BO_247)
                .url(&format!("/v1/cases/{id}/confirm-emergency")),
        )
        .header("X-Comity-Officer", "duty.supervisor")
        .json(&json!({"note": "called the AR duty officer back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), reqwest::StatusCode::OK);
    fed.post(BO_247, &format!("/v1/cases/{id}/deliver"), deliver)
        .await;
    let ar = fed.state(AR, &id, "delivered").await;
    assert_eq!(len(&ar["case"]["deliveries"][0]["items"]), 1);
}

/// Stored data (UNCC 44): executed with a condition, evidence delivered with its chain of
/// custody, an item exported (its bytes and hash), then the case closed by the requesting
/// side, which reaches the requested side.
async fn stored_data_delivered_exported_and_closed(fed: &Federation) {
    let id = fed
        .create(&scenario("stored_data", "UNCC", MLA, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    fed.state(BO, &id, "received").await;
    fed.post(
        BO,
        &format!("/v1/cases/{id}/decide"),
        json!({"disposition": "executed", "conditions": ["use only for case AR-2027-7"]}),
    )
    .await;
    let subscriber = b"account,name\n42,A. Person\n".to_vec();
    let traffic: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let delivered = fed
        .post(
            BO,
            &format!("/v1/cases/{id}/deliver"),
            json!({
                "items": [
                    {"name": "subscriber.csv", "content_base64": b64(&subscriber)},
                    {"name": "traffic.bin", "content_base64": b64(&traffic)},
                ],
                "retention_days": 30,
            }),
        )
        .await;
    assert_eq!(delivered["state"], "delivered");

    let view = fed.state(AR, &id, "delivered").await;
    let delivery = &view["case"]["deliveries"][0];
    assert_eq!(delivery["conditions"]["retention_days"], 30);
    assert_eq!(
        delivery["conditions"]["other"],
        json!(["use only for case AR-2027-7"])
    );
    assert!(len(&delivery["custody"]) >= 1, "{delivery}");
    let items = delivery["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for (name, bytes) in [("subscriber.csv", &subscriber), ("traffic.bin", &traffic)] {
        let item = items.iter().find(|i| i["name"] == name).unwrap();
        let hash = comity_crypto::Sha256Digest::of(bytes).to_string();
        assert_eq!(item["sha256"], hash.as_str());
        assert_eq!(item["size"], bytes.len());
        let r = fed
            .http
            .get(fed.node(AR).url(&format!(
                "/v1/cases/{id}/items/{}",
                item["id"].as_str().unwrap()
            )))
            .header("X-Comity-Officer", "ana")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert_eq!(r.headers()["x-comity-sha256"], hash.as_str());
        assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..]);
    }
    let audit = fed.get(AR, "/v1/audit").await;
    let exports = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "export" && a["actor"] == "ana" && a["case"] == id.as_str())
        .count();
    assert_eq!(exports, 2);

    let closed = fed
        .post(
            AR,
            &format!("/v1/cases/{id}/close"),
            json!({"reason": "the investigation is complete"}),
        )
        .await;
    assert_eq!(closed["state"], "closed");
    let bo = fed.state(BO, &id, "closed").await;
    let reason = bo["case"]["closed_reason"].as_str().unwrap();
    assert!(
        reason.contains("withdrawn by the requesting Party")
            && reason.contains("the investigation is complete"),
        "{reason}"
    );
}

/// Postponement needs reasons (BUD 27(5), 27(7)); they reach the requesting side.
async fn postponed(fed: &Federation) {
    let id = fed.create(&scenario("mla", "BUD", MLA, "", ""), BO).await;
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    fed.state(BO, &id, "received").await;
    let decide = format!("/v1/cases/{id}/decide");
    fed.refused(
        BO,
        &decide,
        json!({"disposition": "postponed"}),
        422,
        "reasons_required",
    )
    .await;
    let reasons = "it would prejudice an ongoing investigation in Borduria";
    fed.post(
        BO,
        &decide,
        json!({"disposition": "postponed", "reasons": reasons}),
    )
    .await;
    let ar = fed.state(AR, &id, "decided").await;
    assert_eq!(ar["case"]["decision"]["disposition"], "postponed");
    assert_eq!(ar["case"]["decision"]["reasons"], reasons);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lifecycle_path_between_node_processes() {
    let fed = Federation::start().await;
    tokio::join!(
        preservation(&fed),
        mla_clarified_consulted_refused(&fed),
        extradition_refused_on_nationality(&fed),
        emergency_to_the_24_7_point_of_contact(&fed),
        stored_data_delivered_exported_and_closed(&fed),
        postponed(&fed),
    );
    // Every message reached its recipient: nothing is left to deliver, none was refused.
    for who in [AR, BO, BO_247] {
        fed.quiet(who).await;
    }
    let ar_cases = fed.get(AR, "/v1/cases").await;
    assert_eq!(len(&ar_cases), 6);
    let metrics = fed.metrics(AR, &["comity_cases{"]).await;
    assert!(
        metrics.contains(&"comity_cases{state=\"closed\"} 1".to_owned()),
        "{metrics:?}"
    );
    let files = fed.stop().await;
    // Each node's log verifies under the key the directory lists, its last checkpoint (signed
    // on shutdown) covers all of it, and its leaves are exactly its events'.
    let mut checked = Vec::new();
    for a in &AUTHORITIES {
        let c = logcheck::check(&files.path().join(a.id)).await;
        assert!(c.signed_by_node, "{}: no checkpoint of the whole log", a.id);
        assert_eq!(c.counts[&comity_transparency::Event::DirectoryChanged], 1);
        checked.push(c.counts);
    }
    let n = |who: usize, e: comity_transparency::Event| checked[who].get(&e).copied().unwrap_or(0);
    use comity_transparency::Event::*;
    assert_eq!(n(AR, RequestSent), 6);
    assert_eq!(n(BO, RequestReceived) + n(BO_247, RequestReceived), 6);
    // every decision is logged by the node that took it and the node that received it
    assert_eq!(n(AR, Decision), n(BO, Decision) + n(BO_247, Decision));
    assert_eq!(
        n(AR, DataDelivered),
        n(BO, DataDelivered) + n(BO_247, DataDelivered)
    );
    assert_eq!(n(AR, ClarificationAsked), n(BO, ClarificationAsked));
    assert_eq!(n(AR, ClarificationAnswered), n(BO, ClarificationAnswered));
    assert!(n(AR, ClarificationAsked) >= 1 && n(AR, DataDelivered) >= 1);
    assert_eq!(
        n(AR, EnvelopeRefused) + n(BO, EnvelopeRefused),
        0,
        "none was refused"
    );
}

// ----- security ----------------------------------------------------------------------------------

/// What a refused envelope must leave as it was on a node: its cases, its audit trail (but
/// for the entries of refusals, which `refusals` lists) and the case gauges of its metrics.
async fn state_of(fed: &Federation, who: usize) -> (Value, Vec<Value>, Vec<String>) {
    let audit = fed.get(who, "/v1/audit").await;
    (
        fed.get(who, "/v1/cases").await,
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] != "refuse_envelope")
            .cloned()
            .collect(),
        fed.metrics(
            who,
            &["comity_cases", "comity_outbox_pending", "comity_deadlines"],
        )
        .await,
    )
}

/// The codes of the envelopes a node refused and logged (each an `envelope_refused` leaf with
/// this audit entry), in order.
async fn refusals(fed: &Federation, who: usize) -> Vec<String> {
    let audit = fed.get(who, "/v1/audit").await;
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "refuse_envelope")
        .map(|a| a["data"]["code"].as_str().unwrap().to_owned())
        .collect()
}

fn read_directory(fed: &Federation) -> VerifiedDirectory {
    let bytes = std::fs::read(&fed.directory).unwrap();
    Directory::from_bytes(&bytes).unwrap().verify().unwrap()
}

/// The signing secret in a node directory made by `comity init`.
fn signing_secret(fed: &Federation, who: usize) -> SigningSecret {
    let keys = fed.node(who).dir.join("keys");
    let file = std::fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("signing-"))
        })
        .unwrap();
    SigningSecret::from_file_text(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn tls_identity(fed: &Federation, who: usize) -> TlsIdentity {
    comity_transport::load_identity(&fed.node(who).dir.join("tls")).unwrap()
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap();
    b
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// An envelope from `from` to `to` signed with `signer`, created `created` (Unix seconds) and
/// valid for `ttl` seconds, with the id's random part `id`.
#[allow(clippy::too_many_arguments)]
fn envelope(
    dir: &VerifiedDirectory,
    from: usize,
    to: usize,
    signer: &SigningSecret,
    created: i64,
    ttl: i64,
    id: [u8; 10],
    note: &str,
) -> Vec<u8> {
    let created = Timestamp::from_unix_seconds(created).unwrap();
    let header = EnvelopeHeader {
        from: AUTHORITIES[from].id.parse().unwrap(),
        to: AUTHORITIES[to].id.parse().unwrap(),
        kind: "case.request".parse().unwrap(),
        created,
        expires: created.plus_seconds(ttl),
        in_reply_to: None,
    };
    let Value::Object(payload) = json!({"note": note}) else {
        unreachable!()
    };
    seal_envelope(
        dir,
        header,
        payload,
        signer,
        SealRandomness {
            id,
            hpke_seed: None,
        },
    )
    .unwrap()
    .bytes
}

/// The envelope with `field` set to `value` and signed again with `key`: canonical bytes
/// whose signature is good, by a key the directory may not allow.
fn resigned(bytes: &[u8], field: &str, value: Value, key: &SigningSecret) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    v[field] = value;
    let map = v.as_object_mut().unwrap();
    map.remove("signature");
    let unsigned = comity_protocol::jcs::canonicalize(&v).unwrap();
    let signature = key.sign_with_context(ENVELOPE_CONTEXT, &unsigned);
    v["signature"] = json!(signature.to_base64());
    comity_protocol::jcs::canonicalize(&v).unwrap()
}

/// A client presenting `identity` that trusts only BO's pinned certificate.
fn peer_client(identity: &TlsIdentity, bo: &TlsIdentity) -> reqwest::Client {
    let mut tls = client_config(identity, PinnedPeers::new([bo.fingerprint()])).unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Posts envelope bytes to BO's node endpoint; the status and the error code (if any).
async fn post_envelope(client: &reqwest::Client, fed: &Federation, bytes: Vec<u8>) -> (u16, Value) {
    let r = client
        .post(format!("https://{}/v1/envelopes", fed.node(BO).peer))
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /v1/envelopes: {e:?}"));
    let status = r.status().as_u16();
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_envelopes_and_connections_change_nothing() {
    let fed = Federation::start().await;
    // A real case first, so that BO has state to keep.
    let id = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    fed.state(BO, &id, "received").await;
    fed.quiet(AR).await;
    fed.quiet(BO).await;

    let dir = read_directory(&fed);
    let ar_key = signing_secret(&fed, AR);
    let ar_tls = tls_identity(&fed, AR);
    let bo_tls = tls_identity(&fed, BO);
    let client = peer_client(&ar_tls, &bo_tls);
    let now = unix_now();
    let valid = envelope(&dir, AR, BO, &ar_key, now, 3_600, random(), "valid");
    let before = state_of(&fed, BO).await;

    // A forged signature.
    let mut forged: Value = serde_json::from_slice(&valid).unwrap();
    let mut sig: Vec<char> = forged["signature"].as_str().unwrap().chars().collect();
    sig[3] = if sig[3] == 'A' { 'B' } else { 'A' };
    forged["signature"] = json!(sig.into_iter().collect::<String>());
    let forged = comity_protocol::jcs::canonicalize(&forged).unwrap();
    // Signed with a key no directory lists.
    let stranger = SigningSecret::from_seed(&random());
    let unknown = resigned(
        &valid,
        "signer",
        json!(stranger.key_id().to_string()),
        &stranger,
    );
    // Signed with BO 24/7's own key, claiming to come from AR.
    let other = signing_secret(&fed, BO_247);
    let others = resigned(&valid, "signer", json!(other.key_id().to_string()), &other);
    // Genuine, but addressed to BO's 24/7 point of contact.
    let misaddressed = envelope(&dir, AR, BO_247, &ar_key, now, 3_600, random(), "elsewhere");
    // Genuine, but expired an hour ago.
    let expired = envelope(&dir, AR, BO, &ar_key, now - 7_200, 3_600, random(), "late");
    // Genuine, but made two hours ahead of BO's clock: too early, so the sender retries.
    let early = envelope(&dir, AR, BO, &ar_key, now + 7_200, 3_600, random(), "early");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("forged signature", forged, 401, "bad_signature"),
        ("unknown key", unknown, 401, "unknown_key"),
        (
            "another authority's key",
            others,
            401,
            "key_not_owned_by_sender",
        ),
        ("wrong recipient", misaddressed, 403, "wrong_recipient"),
        ("expired", expired, 422, "expired"),
        ("not yet valid", early, 425, "not_yet_valid"),
        (
            "truncated",
            valid[..valid.len() / 2].to_vec(),
            400,
            "malformed",
        ),
        (
            "garbage",
            b"\x00\xffnot an envelope at all".to_vec(),
            400,
            "malformed",
        ),
        (
            "oversized",
            vec![b' '; 4 * 1024 * 1024 + 2],
            413,
            "oversized",
        ),
    ];
    for (what, bytes, status, code) in cases {
        let (got, body) = post_envelope(&client, &fed, bytes).await;
        assert_eq!(
            (got, body["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{what}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }

    // Genuine and signed by AR, but carried by BO 24/7's pinned certificate: a peer delivers
    // only its own envelopes.
    let relay = peer_client(&tls_identity(&fed, BO_247), &bo_tls);
    let (got, body) = post_envelope(&relay, &fed, valid.clone()).await;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (403, Some("peer_not_sender")),
        "{body}"
    );

    // A client whose certificate BO has not pinned is refused during the handshake.
    let now = unix_now();
    let rogue =
        TlsIdentity::issue(&random(), AUTHORITIES[AR].id, now - 3_600, now + 86_400).unwrap();
    let e = peer_client(&rogue, &bo_tls)
        .post(format!("https://{}/v1/envelopes", fed.node(BO).peer))
        .header("content-type", "application/json")
        .body(valid.clone())
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout(), "refused, not timed out: {e:?}");
    let refused_tls = "refused a node-to-node connection at the TLS layer";
    fed.logged(BO, refused_tls, 1).await;

    // Plain HTTP to the node-to-node port gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(fed.node(BO).peer)
        .await
        .unwrap();
    let request = format!(
        "POST /v1/envelopes HTTP/1.1\r\nHost: bo\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        valid.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let _ = tcp.write_all(&valid).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the node closes the connection");
    assert!(
        !answer.starts_with(b"HTTP/"),
        "an HTTP answer on the mutual-TLS port: {}",
        String::from_utf8_lossy(&answer)
    );
    fed.logged(BO, refused_tls, 2).await;

    assert_eq!(state_of(&fed, BO).await, before, "BO changed");
    // Each refusal of a well-formed envelope was logged once; bytes that are no envelope, and
    // an envelope that is only early (the sender retries it), were not.
    assert_eq!(
        refusals(&fed, BO).await,
        [
            "bad_signature",
            "unknown_key",
            "key_not_owned_by_sender",
            "wrong_recipient",
            "expired",
            "peer_not_sender"
        ]
    );

    // A replay: an envelope is received (recorded, though it can never apply), then another
    // with the same id and other bytes is refused.
    let id_part = random();
    let one = envelope(&dir, AR, BO, &ar_key, now, 3_600, id_part, "one");
    let two = envelope(&dir, AR, BO, &ar_key, now, 3_600, id_part, "two");
    assert_ne!(one, two);
    let (status, first) = post_envelope(&client, &fed, one.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["repeated"], false);
    assert_eq!(first["result"]["accepted"], false, "a note is no message");
    let recorded = state_of(&fed, BO).await;
    let (status, body) = post_envelope(&client, &fed, two).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("replay")),
        "{body}"
    );
    // The first bytes again: the stored result.
    let (status, again) = post_envelope(&client, &fed, one).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["repeated"], true);
    assert_eq!(again["result"], first["result"]);
    assert_eq!(state_of(&fed, BO).await, recorded, "BO changed");
    assert_eq!(
        refusals(&fed, BO).await.last().map(String::as_str),
        Some("replay")
    );

    // The genuine request is still held and answerable.
    fed.post(
        BO,
        &format!("/v1/cases/{id}/decide"),
        json!({"disposition": "executed"}),
    )
    .await;
    fed.state(AR, &id, "decided").await;
    fed.quiet(BO).await;
    let files = fed.stop().await;
    let bo = logcheck::check(&files.path().join(AUTHORITIES[BO].id)).await;
    assert_eq!(bo.counts[&comity_transparency::Event::EnvelopeRefused], 7);
}
