//! `comity demo`: a local federation on loopback — Arcadia's central authority, Borduria's
//! central authority, 24/7 point of contact and a service provider in Borduria — each a real
//! node with its own keys, SQLite database, officer API and mutual-TLS endpoint, running a
//! scripted set of cases through the real API and printing a timeline: preservation, then MLA
//! carried out by a domestic production order to the service provider and delivered on with
//! its chain of custody; an emergency; a refusal with reasons; and a nonconforming request sent
//! with an override reason and sent back for clarification.

// The demo's job is to print a timeline for a person to read.
#![allow(clippy::print_stdout)]

use crate::cmd_serve::{self, RunningNode, ServeConfig};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Run the script and exit: 0 if every case ended as expected.
    #[arg(long)]
    once: bool,
    /// Node i serves its officer API on N+i and its node-to-node endpoint on N+20+i.
    #[arg(long, value_name = "N", default_value_t = 7600)]
    port_base: u16,
    /// Where to create the nodes (default: a new directory under the system's temp dir).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// A training sandbox: every page of the officer UI says so, and offers guided exercises
    /// on the demo's fictional cases.
    #[arg(long)]
    pub(crate) training: bool,
    /// Keep every node's data in this PostgreSQL database (`postgres://USER@HOST/DATABASE`),
    /// one schema per node named after it (`ar_central_authority`, …), instead of a SQLite file
    /// in each node directory: dropping the database removes everything. Its schemas must be
    /// new.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

struct Authority {
    party: &'static str,
    role: &'static str,
    id: &'static str,
    name: &'static str,
}

const AUTHORITIES: [Authority; 4] = [
    Authority {
        party: "AR",
        role: "central_authority",
        id: "ar-central-authority",
        name: "Arcadia Central Authority",
    },
    Authority {
        party: "BO",
        role: "central_authority",
        id: "bo-central-authority",
        name: "Borduria Central Authority",
    },
    Authority {
        party: "BO",
        role: "point_of_contact_24_7",
        id: "bo-point-of-contact-24-7",
        name: "Borduria 24/7 Point of Contact",
    },
    Authority {
        party: "BO",
        role: "service_provider",
        id: "bo-service-provider",
        name: "Borduria Telecom (service provider)",
    },
];
const AR: usize = 0;
const BO_CA: usize = 1;
const BO_247: usize = 2;
const BO_SP: usize = 3;

/// What the service provider produces in case 2.
const RECORDS: &[u8] = b"account,registered,ip\nops-7,2026-11-02,203.0.113.7\n";

const PRESERVATION: &str = include_str!("../demo/1-preservation.toml");
const MLA: &str = include_str!("../demo/2-mla.toml");
const EMERGENCY: &str = include_str!("../demo/3-emergency.toml");
const REFUSED: &str = include_str!("../demo/4-refused.toml");
const INCOMPLETE: &str = include_str!("../demo/5-clarification.toml");

/// `content (cites), …` of a list of missing contents.
fn missing_line(v: &Value) -> String {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return "nothing".into();
    }
    list.iter()
        .map(|m| {
            let cites: Vec<&str> = at(m, "/cites")
                .as_array()
                .map(|c| c.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{} ({})",
                at(m, "/content").as_str().unwrap_or("?"),
                cites.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `who → who → …` of a chain of custody (each hand once in a row).
fn custody_line(v: &Value) -> String {
    let mut hands: Vec<&str> = Vec::new();
    for by in v
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| at(e, "/by").as_str())
    {
        if hands.last() != Some(&by) {
            hands.push(by);
        }
    }
    hands.join(" → ")
}

/// The strings of a JSON array, comma-separated.
fn list_line(v: &Value) -> String {
    v.as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The value at a JSON pointer, or null.
fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

fn comity(args: &[&str]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the comity binary: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("comity {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "comity {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn fresh_dir() -> Result<PathBuf, String> {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("comity-demo-{name}")))
}

/// The demo's network: its directory's name, and the first part of each log's origin.
const DEMO_NETWORK: &str = "comity-demo";

/// The training sandbox's network: a training node runs only in a network so named, with
/// every peer on loopback (`comity_web::training::refuse_real_peers`).
const TRAINING_NETWORK: &str = "comity-training";

/// Keys, certificates and a signed directory for the four authorities.
fn set_up(dir: &Path, base: u16, training: bool) -> Result<Vec<ServeConfig>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let directory = dir.join("directory.json");
    let network = if training {
        TRAINING_NETWORK
    } else {
        DEMO_NETWORK
    };
    let mut configs = Vec::new();
    for (i, a) in AUTHORITIES.iter().enumerate() {
        let offset = u16::try_from(i).unwrap_or(0);
        let officer = base.checked_add(offset).ok_or("--port-base too high")?;
        let peer = base
            .checked_add(20 + offset)
            .ok_or("--port-base too high")?;
        let node_dir = dir.join(a.id);
        let node_dir_text = node_dir.display().to_string();
        comity(&[
            "init",
            "--party",
            a.party,
            "--role",
            a.role,
            "--name",
            a.name,
            "--id",
            a.id,
            "--dir",
            &node_dir_text,
            "--officer-endpoint",
            &format!("http://127.0.0.1:{officer}/"),
            "--node-endpoint",
            &format!("https://127.0.0.1:{peer}/"),
            // The log's origin is `<network>/<id>`: the network of the directory below.
            "--network",
            network,
        ])?;
        configs.push(ServeConfig {
            node: node_dir,
            directory: None,
            database_url: None,
            claim_lease_seconds: None,
            officer_listen: ([127, 0, 0, 1], officer).into(),
            node_listen: ([127, 0, 0, 1], peer).into(),
            time_zone: None,
            log: None,
            maintenance_seconds: Some(5),
            poll_millis: Some(50),
            trust_officer_header: None,
            secure_cookies: None,
            tls: None,
            trusted_proxies: Vec::new(),
            limits: Default::default(),
            auth: Default::default(),
            training,
        });
    }
    // Every key exists before the directory's first version is issued: a version may not list
    // a key dated after it.
    let directory_text = directory.display().to_string();
    let maintainer = dir.join(AUTHORITIES[AR].id).display().to_string();
    // Each entry lists its log key (`log_vkey`, from `comity init`), so that peers can verify
    // the node's checkpoints; the maintainer's is given explicitly, as an operator would for a
    // node made before the log.
    let maintainer_vkey = format!(
        "@{}",
        dir.join(AUTHORITIES[AR].id).join("log.vkey").display()
    );
    comity(&[
        "directory",
        "add",
        "--directory",
        &directory_text,
        "--network",
        network,
        &maintainer,
        "--maintainer",
        "--log-vkey",
        &maintainer_vkey,
    ])?;
    let others: Vec<String> = AUTHORITIES
        .iter()
        .skip(1)
        .map(|a| dir.join(a.id).join("authority.json").display().to_string())
        .collect();
    let mut add = vec!["directory", "add", "--directory", directory_text.as_str()];
    add.extend(others.iter().map(String::as_str));
    comity(&add)?;
    comity(&[
        "directory",
        "sign",
        "--directory",
        &directory_text,
        "--dir",
        &maintainer,
    ])?;
    for a in &AUTHORITIES {
        std::fs::copy(&directory, dir.join(a.id).join("directory.json"))
            .map_err(|e| e.to_string())?;
    }
    Ok(configs)
}

/// Talks to the officer APIs and prints the timeline.
struct Script {
    http: reqwest::Client,
    urls: Vec<String>,
    started: Instant,
    failures: Vec<String>,
}

const OFFICERS: [&str; 4] = [
    "ana.arcadia",
    "bruno.borduria",
    "duty.officer",
    "legal.team",
];

impl Script {
    fn say(&self, who: usize, text: impl AsRef<str>) {
        let t = self.started.elapsed().as_secs_f64();
        println!(
            "  {t:>6.2}s  {:<26} {}",
            AUTHORITIES.get(who).map_or("?", |a| a.id),
            text.as_ref()
        );
    }

    async fn call(
        &self,
        who: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let officer = OFFICERS.get(who).copied().unwrap_or("officer");
        self.call_as(who, officer, method, path, body).await
    }

    /// As [`Script::call`], with another officer of the node acting.
    async fn call_as(
        &self,
        who: usize,
        officer: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let url = format!(
            "{}{}",
            self.urls.get(who).ok_or("no such node")?,
            path.trim_start_matches('/')
        );
        let mut req = self
            .http
            .request(method, &url)
            .header("X-Comity-Officer", officer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let value = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    async fn ok(&self, who: usize, path: &str, body: Value) -> Result<Value, String> {
        let (status, v) = self
            .call(who, reqwest::Method::POST, path, Some(body))
            .await?;
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(format!("POST {path} answered {status}: {v}"))
        }
    }

    /// Waits until case `id` is in the inbox of node `who` (`GET /v1/cases?state=received`).
    async fn inbox(&self, who: usize, id: &str) -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, v) = self
                .call(who, reqwest::Method::GET, "/v1/cases?state=received", None)
                .await?;
            if status == 200
                && let Some(found) = v
                    .as_array()
                    .and_then(|l| l.iter().find(|c| at(c, "/id") == id))
            {
                return Ok(found.clone());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "case {id} did not reach the inbox of {}",
                    AUTHORITIES.get(who).map_or("?", |a| a.id)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The date `days` from today (UTC), for deadlines.
    fn due_in_days(&self, days: i64) -> String {
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(days * 24))
            .map_or_else(
                |_| "2099-12-31".to_owned(),
                |t| {
                    t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                        .date()
                        .to_string()
                },
            )
    }

    /// Waits until the case is in `state` on node `who` (messages travel through the outbox).
    async fn until(&self, who: usize, case: &str, state: &str) -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, v) = self
                .call(
                    who,
                    reqwest::Method::GET,
                    &format!("/v1/cases/{case}"),
                    None,
                )
                .await?;
            if status == 200 && at(&v, "/case/state") == state {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "case {case} did not reach `{state}` on {} (last answer {status}: {})",
                    AUTHORITIES.get(who).map_or("?", |a| a.id),
                    at(&v, "/case/state")
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create(&self, scenario: &str, to: usize) -> Result<Value, String> {
        self.ok(
            AR,
            "/v1/cases",
            json!({"scenario": scenario, "counterpart": AUTHORITIES.get(to).map_or("", |a| a.id)}),
        )
        .await
    }

    fn check(&mut self, what: &str, ok: bool) {
        if !ok {
            self.failures.push(what.to_owned());
            println!("           !! not as expected: {what}");
        }
    }

    async fn run(&mut self) -> Result<(), String> {
        println!(
            "\n1. Preservation (UNCC 42): Arcadia asks Borduria's 24/7 point of contact to preserve traffic data"
        );
        let case = self.create(PRESERVATION, BO_247).await?;
        let id = at(&case, "/id").as_str().unwrap_or_default().to_owned();
        self.say(
            AR,
            format!(
                "created case {id}: engine says {}",
                at(&case, "/proposal/outcome")
            ),
        );
        self.ok(AR, &format!("/v1/cases/{id}/send"), json!({}))
            .await?;
        self.say(
            AR,
            "sent (signed, sealed to the 24/7 point of contact's key)",
        );
        let got = self.until(BO_247, &id, "received").await?;
        self.say(
            BO_247,
            format!(
                "received; engine: {}, duties {}",
                at(&got, "/case/proposal/outcome"),
                at(&got, "/case/proposal/duties")
            ),
        );
        self.ok(
            BO_247,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await?;
        let done = self.until(AR, &id, "decided").await?;
        let until = at(&done, "/case/preservation/until")
            .as_str()
            .unwrap_or("?")
            .to_owned();
        self.say(AR, format!("decision received: executed, preserved until {until} (at least 60 days, UNCC 42(8))"));
        self.check(
            "preservation executed",
            at(&done, "/case/decision/disposition") == "executed",
        );

        println!(
            "\n2. Then mutual legal assistance for the stored data (UNCC 40, 44), carried out by a production order to the service provider (UNCC 27)"
        );
        let case = self.create(MLA, BO_CA).await?;
        let id = at(&case, "/id").as_str().unwrap_or_default().to_owned();
        self.ok(AR, &format!("/v1/cases/{id}/send"), json!({}))
            .await?;
        self.say(AR, format!("sent MLA request {id}"));
        self.until(BO_CA, &id, "received").await?;
        self.ok(
            BO_CA,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await?;
        self.say(BO_CA, "decided: executed");
        let order = self
            .ok(
                BO_CA,
                &format!("/v1/cases/{id}/production-orders"),
                json!({
                    "provider": AUTHORITIES.get(BO_SP).map_or("", |a| a.id),
                    "data": ["subscriber", "traffic"],
                    "subject": "account ops-7",
                    "period_from": "2026-10-01",
                    "period_to": "2026-10-31",
                    "legal_basis": "Borduria Code of Criminal Procedure, production order (implementing UNCC 27)",
                    "due": self.due_in_days(14),
                    "instructions": "CSV, one row per session"
                }),
            )
            .await?;
        let oid = at(&order, "/id").as_str().unwrap_or_default().to_owned();
        self.say(
            BO_CA,
            format!(
                "production order {oid} to {} (due {}, confidential: {}); domestic law governs, the engine is not asked",
                at(&order, "/counterpart").as_str().unwrap_or("?"),
                at(&order, "/production_order/due").as_str().unwrap_or("?"),
                at(&order, "/production_order/confidential"),
            ),
        );
        let inbox = self.inbox(BO_SP, &oid).await?;
        self.say(
            BO_SP,
            format!(
                "in the legal team's inbox: {} data of {}, {} to {} ({})",
                list_line(at(&inbox, "/production_order/data")),
                at(&inbox, "/production_order/subject")
                    .as_str()
                    .unwrap_or("?"),
                at(&inbox, "/production_order/period_from")
                    .as_str()
                    .unwrap_or("?"),
                at(&inbox, "/production_order/period_to")
                    .as_str()
                    .unwrap_or("?"),
                list_line(at(&inbox, "/production_order/treaty_powers")),
            ),
        );
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(RECORDS);
        let produced = self
            .ok(
                BO_SP,
                &format!("/v1/cases/{oid}/deliver"),
                json!({"items": [{"name": "subscriber-records.csv", "content_base64": encoded}]}),
            )
            .await?;
        let produced_sha = at(&produced, "/deliveries/0/items/0/sha256")
            .as_str()
            .unwrap_or("")
            .to_owned();
        self.say(
            BO_SP,
            format!(
                "complied: records produced, sha256 {}…, sealed to Borduria's central authority",
                produced_sha.get(..16).unwrap_or("")
            ),
        );
        self.until(BO_CA, &oid, "delivered").await?;
        let parent = self.until(BO_CA, &id, "decided").await?;
        let received = at(&parent, "/case/received/0/items/0");
        let item = at(received, "/id").as_str().unwrap_or_default().to_owned();
        self.say(
            BO_CA,
            format!(
                "attached to the MLA case as item {item}: \"{}\"",
                at(received, "/custody")
                    .as_array()
                    .and_then(|c| c.last())
                    .map_or("", |e| at(e, "/action").as_str().unwrap_or(""))
            ),
        );
        self.ok(
            BO_CA,
            &format!("/v1/cases/{id}/deliver"),
            json!({"received": [item], "retention_days": 365}),
        )
        .await?;
        self.say(BO_CA, "delivered on to Arcadia, with the chain of custody");
        let done = self.until(AR, &id, "delivered").await?;
        let delivery = at(&done, "/case/deliveries/0");
        let got = at(delivery, "/items/0");
        let got_sha = at(got, "/sha256").as_str().unwrap_or("");
        self.say(
            AR,
            format!(
                "evidence received: {} item(s), sha256 {}…, use limitation {} (UNCC 40(19))",
                at(delivery, "/items").as_array().map_or(0, Vec::len),
                got_sha.get(..16).unwrap_or(""),
                at(delivery, "/conditions/use_limitation")
            ),
        );
        let names_provider = at(got, "/custody").as_array().is_some_and(|c| {
            c.iter()
                .any(|e| at(e, "/by").as_str() == AUTHORITIES.get(BO_SP).map(|a| a.id))
        });
        let expected_sha = comity_crypto::Sha256Digest::of(RECORDS).to_string();
        self.say(
            AR,
            format!(
                "hash equal to the provider's: {}; custody: {} → {}",
                got_sha == produced_sha && got_sha == expected_sha,
                custody_line(at(got, "/custody")),
                AUTHORITIES.get(AR).map_or("?", |a| a.id)
            ),
        );
        self.check(
            "evidence delivered with use limitation",
            at(delivery, "/conditions/use_limitation") == true,
        );
        self.check(
            "Arcadia holds the records with the hash the provider produced",
            got_sha == produced_sha && got_sha == expected_sha,
        );
        self.check(
            "the chain of custody names the service provider",
            names_provider,
        );

        println!(
            "\n3. Emergency disclosure through the 24/7 network (UNCC 41(3)(e)), counted in hours"
        );
        let case = self.create(EMERGENCY, BO_247).await?;
        let id = at(&case, "/id").as_str().unwrap_or_default().to_owned();
        self.ok(AR, &format!("/v1/cases/{id}/send"), json!({}))
            .await?;
        self.say(AR, "sent emergency request (priority lane)");
        let got = self.until(BO_247, &id, "received").await?;
        let due = at(&got, "/deadlines/0/due_at")
            .as_str()
            .unwrap_or("?")
            .to_owned();
        self.say(BO_247, format!("received; respond by {due} (24 hours)"));
        self.ok(
            BO_247,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await?;
        // The first emergency from Arcadia, signed with a key added today: held until a second
        // officer confirms it (docs/security.md, "Emergency requests").
        let reasons: Vec<String> = at(&got, "/case/emergency_flag/reasons")
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r.get("code").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !reasons.is_empty() {
            self.say(
                BO_247,
                format!(
                    "flagged on receipt ({}): held for a second officer",
                    reasons.join(", ")
                ),
            );
            let (status, v) = self
                .call_as(
                    BO_247,
                    "duty.supervisor",
                    reqwest::Method::POST,
                    &format!("/v1/cases/{id}/confirm-emergency"),
                    Some(json!({"note": "called the Arcadian duty officer back on the number on file"})),
                )
                .await?;
            if !(200..300).contains(&status) {
                return Err(format!("confirming the emergency answered {status}: {v}"));
            }
            self.say(BO_247, "confirmed by a second officer (duty.supervisor)");
        }
        self.ok(BO_247, &format!("/v1/cases/{id}/deliver"), json!({"items": [{"name": "subscriber.txt", "content_base64": base64::engine::general_purpose::STANDARD.encode("subscriber: +000 555 0100\n")}], "retention_days": 30})).await?;
        let done = self.until(AR, &id, "delivered").await?;
        self.say(AR, "emergency data received");
        self.check(
            "emergency delivered",
            at(&done, "/case/state") == "delivered",
        );

        println!("\n4. A request refused with reasons (BUD 29(5)(a): political offence)");
        let case = self.create(REFUSED, BO_CA).await?;
        let id = at(&case, "/id").as_str().unwrap_or_default().to_owned();
        self.ok(AR, &format!("/v1/cases/{id}/send"), json!({}))
            .await?;
        self.until(BO_CA, &id, "received").await?;
        let assessed = self
            .ok(
                BO_CA,
                &format!("/v1/cases/{id}/assess"),
                json!({"political_offence": true}),
            )
            .await?;
        self.say(
            BO_CA,
            format!(
                "assessed as a political offence; engine now says {}",
                at(&assessed, "/proposal/outcome")
            ),
        );
        let (status, v) = self
            .call(
                BO_CA,
                reqwest::Method::POST,
                &format!("/v1/cases/{id}/decide"),
                Some(json!({"disposition": "refused", "grounds": ["political_offence"]})),
            )
            .await?;
        self.say(
            BO_CA,
            format!(
                "refusal without reasons answered {status} {}",
                at(&v, "/error/code")
            ),
        );
        self.check("refusal without reasons is refused", status == 422);
        self.ok(BO_CA, &format!("/v1/cases/{id}/decide"), json!({"disposition": "refused", "grounds": ["political_offence"], "reasons": "the request concerns a protest the requested Party considers a political offence (BUD 29(5)(a))"})).await?;
        let done = self.until(AR, &id, "decided").await?;
        self.say(
            AR,
            format!(
                "refusal received with reasons: {}",
                at(&done, "/case/decision/reasons")
            ),
        );
        self.check(
            "refused with reasons",
            at(&done, "/case/decision/disposition") == "refused",
        );

        println!(
            "\n5. A nonconforming request sent with a reason, sent back for clarification (UNCC 40(15), 40(16))"
        );
        let case = self.create(INCOMPLETE, BO_CA).await?;
        let id = at(&case, "/id").as_str().unwrap_or_default().to_owned();
        self.say(
            AR,
            format!(
                "engine: {} — missing {}; kept as a draft",
                at(&case, "/proposal/outcome"),
                missing_line(at(&case, "/proposal/missing_contents"))
            ),
        );
        let (status, v) = self
            .call(
                AR,
                reqwest::Method::POST,
                &format!("/v1/cases/{id}/send"),
                Some(json!({})),
            )
            .await?;
        self.say(
            AR,
            format!(
                "sending without a reason answered {status} {}",
                at(&v, "/error/code").as_str().unwrap_or("?")
            ),
        );
        self.check(
            "a nonconforming draft needs an override reason",
            status == 422,
        );
        self.ok(
            AR,
            &format!("/v1/cases/{id}/send"),
            json!({"override_reason": "the suspects are moving the data; the summary of the facts follows once translated"}),
        )
        .await?;
        self.say(
            AR,
            "sent with an override reason (recorded in the case and the audit trail)",
        );
        let got = self.until(BO_CA, &id, "received").await?;
        self.say(
            BO_CA,
            format!(
                "received; engine: {}, missing {}",
                at(&got, "/case/proposal/outcome"),
                missing_line(at(&got, "/case/proposal/missing_contents"))
            ),
        );
        self.ok(
            BO_CA,
            &format!("/v1/cases/{id}/clarify"),
            json!({"question": "Please supply a summary of the relevant facts."}),
        )
        .await?;
        self.say(
            BO_CA,
            "asked for clarification, naming the missing contents",
        );
        let asked = self.until(AR, &id, "clarification_asked").await?;
        self.say(
            AR,
            format!(
                "clarification received: missing {}",
                missing_line(at(&asked, "/case/clarifications/0/missing"))
            ),
        );
        self.ok(
            AR,
            &format!("/v1/cases/{id}/answer"),
            json!({"text": "Summary: a ransomware group extorted 40 hospitals from account ops-7 in October 2026.", "supplied": ["facts_summary"]}),
        )
        .await?;
        self.say(AR, "answered, supplying the summary of the facts");
        let rechecked = self.until(BO_CA, &id, "received").await?;
        let outcome = at(&rechecked, "/case/proposal/outcome").clone();
        self.say(BO_CA, format!("checked again: engine says {outcome}"));
        self.check("the answered request is decidable", outcome == "execute");
        self.ok(
            BO_CA,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await?;
        let done = self.until(AR, &id, "decided").await?;
        self.say(AR, "executed after clarification");
        self.check(
            "clarified request executed",
            at(&done, "/case/decision/disposition") == "executed",
        );
        self.team().await
    }

    /// Waits until team `id` on node `who` satisfies `ready` (messages travel through the
    /// outbox).
    async fn team_until(
        &self,
        who: usize,
        id: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, v) = self
                .call(who, reqwest::Method::GET, &format!("/v1/teams/{id}"), None)
                .await?;
            if status == 200 && ready(&v) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "team {id} on {}: {what} did not happen (last answer {status})",
                    AUTHORITIES.get(who).map_or("?", |a| a.id)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The sixth scene: a joint investigation team (UNCC 48) between Arcadia and Borduria's
    /// central authority — the agreement, the join, a shared item, the close.
    async fn team(&mut self) -> Result<(), String> {
        use base64::Engine as _;
        println!(
            "\n6. A joint investigation team (UNCC 48): Arcadia and Borduria share evidence under an agreement"
        );
        let bo = AUTHORITIES.get(BO_CA).map_or("", |a| a.id);
        let created = self
            .ok(
                AR,
                "/v1/teams",
                json!({
                    "members": [bo],
                    "purpose": "the ransomware group behind the hospital attacks",
                    "start": self.due_in_days(0),
                    "end": self.due_in_days(90),
                    "basis": "UNCC",
                    "conditions": {"purpose_only": true, "consent_for_other_use": true, "onward": "forbidden"}
                }),
            )
            .await?;
        let id = at(&created, "/id").as_str().unwrap_or_default().to_owned();
        let sha = at(&created, "/agreement_sha256").clone();
        self.say(AR, format!("agreement sent to {bo} (team {id})"));
        let got = self
            .team_until(BO_CA, &id, "the agreement's arrival", |v| {
                at(v, "/team/state") == "invited"
            })
            .await?;
        self.check(
            "the member holds the agreement as sent",
            at(&got, "/team/agreement_sha256") == &sha,
        );
        self.ok(BO_CA, &format!("/v1/teams/{id}/join"), json!({}))
            .await?;
        self.say(BO_CA, "joined, accepting the agreement's SHA-256");
        self.team_until(AR, &id, "the join", |v| {
            at(v, "/active") == true && at(v, "/team/members/1/status") == "joined"
        })
        .await?;
        let evidence = "wallet bc1q...: 14 ransom payments\n";
        self.ok(
            AR,
            &format!("/v1/teams/{id}/posts"),
            json!({"text": "the wallets we traced", "items": [{"name": "wallets.txt", "content_base64": base64::engine::general_purpose::STANDARD.encode(evidence)}]}),
        )
        .await?;
        self.say(AR, "posted the traced wallets to the team");
        let seen = self
            .team_until(BO_CA, &id, "the post", |v| {
                v.pointer("/items/0/sha256").is_some()
            })
            .await?;
        self.say(
            BO_CA,
            format!(
                "item received in the team: sha256 {}…",
                at(&seen, "/items/0/sha256")
                    .as_str()
                    .unwrap_or_default()
                    .get(..16)
                    .unwrap_or_default()
            ),
        );
        self.ok(
            AR,
            &format!("/v1/teams/{id}/close"),
            json!({"reason": "the suspects were arrested"}),
        )
        .await?;
        self.team_until(BO_CA, &id, "the close", |v| {
            at(v, "/team/state") == "closed"
        })
        .await?;
        let (status, v) = self
            .call(
                BO_CA,
                reqwest::Method::POST,
                &format!("/v1/teams/{id}/posts"),
                Some(json!({"text": "one more thing"})),
            )
            .await?;
        self.say(
            BO_CA,
            format!(
                "team closed; a post after the close answered {status} {}",
                at(&v, "/error/code")
            ),
        );
        self.check(
            "a post after the close is refused",
            status == 409 && at(&v, "/error/code") == "jit_closed",
        );
        Ok(())
    }
}

/// The accounts the demo makes on every node for the officer UI, by username.
const ACCOUNTS: [(&str, comity_web::Role); 3] = [
    ("officer", comity_web::Role::Officer),
    ("supervisor", comity_web::Role::Supervisor),
    ("auditor", comity_web::Role::Auditor),
];

/// Makes the demo's accounts on each node, each with a random password: per node, its
/// (username, role, password).
async fn make_accounts(
    configs: &[ServeConfig],
) -> Result<Vec<Vec<(String, String, String)>>, String> {
    let mut all = Vec::new();
    for c in configs {
        let args = crate::cmd_node::NodeArgs {
            node: c.node.clone(),
            directory: c.directory.clone(),
            officer: None,
            json: false,
            now: None,
            tz: None,
            database_url: c.database_url.clone(),
        };
        let handle = crate::cmd_node::NodeHandle::open(&args)
            .await
            .map_err(|f| f.message)?;
        let auth =
            crate::cmd_user::auth_of(handle.node.store().clone(), &handle.node.id().to_string())
                .map_err(|f| f.message)?;
        let mut made = Vec::new();
        for (username, role) in ACCOUNTS {
            let password = crate::cmd_user::random_password().map_err(|f| f.message)?;
            let name = format!("{} ({username})", handle.node.id());
            auth.put_user("demo", username, &name, role, Some(&password), false)
                .await
                .map_err(|e| e.to_string())?;
            made.push((username.to_owned(), role.as_str().to_owned(), password));
        }
        all.push(made);
    }
    Ok(all)
}

/// Writes each node's transparency log, as of a last checkpoint, to `<node dir>/log/` in the
/// C2SP tlog-tiles layout, and says how to check it. False if one could not be written.
async fn export_logs(configs: &[ServeConfig]) -> bool {
    println!(
        "\nTransparency logs (C2SP tlog-tiles; anyone can verify them and recompute the report):"
    );
    let mut all = true;
    for c in configs {
        let args = crate::cmd_node::NodeArgs {
            node: c.node.clone(),
            directory: c.directory.clone(),
            officer: None,
            json: false,
            now: None,
            tz: None,
            database_url: c.database_url.clone(),
        };
        let to = c.node.join("log");
        let done = match crate::cmd_node::NodeHandle::open(&args).await {
            Ok(h) => crate::cmd_log_export::export(&h.node, &c.node, &to).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(e) => println!("  {:<40} {:>3} entries  {}", e.origin, e.size, to.display()),
            Err(e) => {
                println!(
                    "  {}: the log could not be exported: {}",
                    c.node.display(),
                    e.message
                );
                all = false;
            }
        }
    }
    if let Some(c) = configs.first() {
        let to = c.node.join("log");
        println!(
            "  check one: comity log verify {} --vkey @{}\n  its report: comity report {} --vkey @{}",
            to.display(),
            to.join("vkey").display(),
            to.display(),
            to.join("vkey").display()
        );
    }
    all
}

/// The database URL of each demo node: `url` with a `schema` of the node's own, named after
/// its id.
fn schema_urls(url: &str) -> Result<Vec<String>, String> {
    if !matches!(
        comity_store::Database::parse(url).map_err(|e| e.to_string())?,
        comity_store::Database::Postgres { schema: None, .. }
    ) {
        return Err(format!(
            "`{}`: the demo takes a PostgreSQL database (postgres://USER@HOST/DATABASE, \
             without a schema: each node gets its own)",
            comity_store::postgres::redact(url)
        ));
    }
    let join = if url.contains('?') { '&' } else { '?' };
    Ok(AUTHORITIES
        .iter()
        .map(|a| format!("{url}{join}schema={}", a.id.replace('-', "_")))
        .collect())
}

/// Refuses to run the demo's new nodes on a database that holds a node already (keys made
/// now could not continue an older log).
async fn fresh_databases(configs: &[ServeConfig]) -> Result<(), String> {
    use comity_store::Store as _;
    for c in configs {
        let Some(url) = &c.database_url else {
            continue;
        };
        let store = comity_store::AnyStore::open(url)
            .await
            .map_err(|e| format!("opening {}: {e}", comity_store::postgres::redact(url)))?;
        let head = store.log_head().await.map_err(|e| e.to_string())?;
        let cases = store
            .cases(&comity_store::CaseFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        store.close().await;
        if head.size > 0 || !cases.is_empty() {
            return Err(format!(
                "{} holds a node already: give the demo a new database",
                comity_store::postgres::redact(url)
            ));
        }
    }
    Ok(())
}

pub fn run(args: DemoArgs) -> ExitCode {
    cmd_serve::init_logging(false);
    comity_crypto::tls::install_default_provider();
    let dir = match args.dir.clone().map_or_else(fresh_dir, Ok) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    println!(
        "Comity demo: four authorities on loopback, nodes in {}",
        dir.display()
    );
    let mut configs = match set_up(&dir, args.port_base, args.training) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    if let Some(url) = &args.database_url {
        match schema_urls(url) {
            Ok(urls) => {
                for (c, url) in configs.iter_mut().zip(urls) {
                    c.database_url = Some(url);
                }
            }
            Err(e) => {
                eprintln!("error: --database-url: {e}");
                return ExitCode::from(crate::EXIT_BAD_INPUT);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    runtime.block_on(async move {
        if let Err(e) = fresh_databases(&configs).await {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
        let (tx, rx) = watch::channel(false);
        let accounts = match make_accounts(&configs).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: making the demo's accounts: {e}");
                return ExitCode::from(crate::EXIT_FAILED);
            }
        };
        let mut nodes: Vec<RunningNode> = Vec::new();
        for c in &configs {
            match cmd_serve::start(c, &rx).await {
                Ok(n) => nodes.push(n),
                Err(e) => {
                    eprintln!("error: {e}");
                    let _ = tx.send(true);
                    return ExitCode::from(crate::EXIT_FAILED);
                }
            }
        }
        for n in &nodes {
            println!("  {:<26} officer API http://{}  node-to-node https://{}", n.id, n.officer_addr, n.node_addr);
        }
        println!("\nOfficer UI: open a node's officer URL in a browser and log in (accounts made for this demo):");
        for (n, made) in nodes.iter().zip(&accounts) {
            for (username, role, password) in made {
                println!("  {:<26} {:<10} {} / {}", n.id, role, username, password);
            }
        }
        let http = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(crate::EXIT_FAILED);
            }
        };
        let mut script = Script {
            http,
            urls: nodes.iter().map(|n| format!("http://{}/", n.officer_addr)).collect(),
            started: Instant::now(),
            failures: Vec::new(),
        };
        let result = script.run().await;
        let ok = match &result {
            Ok(()) if script.failures.is_empty() => {
                println!("\nevery case ended as expected");
                true
            }
            Ok(()) => {
                println!("\n{} case(s) did not end as expected: {}", script.failures.len(), script.failures.join("; "));
                false
            }
            Err(e) => {
                println!("\nthe script stopped: {e}");
                false
            }
        };
        if !args.once {
            println!("\nThe federation keeps serving; try `curl -H 'X-Comity-Officer: you' {}v1/cases`. Stop with Ctrl-C.", script.urls.first().map_or("", String::as_str));
            cmd_serve::termination().await;
        }
        let _ = tx.send(true);
        for n in nodes {
            n.stopped(Duration::from_secs(15)).await;
        }
        let exported = export_logs(&configs).await;
        if ok && exported { ExitCode::SUCCESS } else { ExitCode::from(crate::EXIT_FAILED) }
    })
}
