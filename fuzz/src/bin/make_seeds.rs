//! Writes the seed corpora of the fuzz targets (`fuzz/seeds/TARGET/`) from the project's own
//! test data: the example scenarios, the built-in rule files, the transparency log's test
//! notes, and envelopes, directories, logs and requests made with the fixtures' fixed keys.
//! The output is deterministic: run it again and `git diff` shows nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use comity_fuzz::*;
use comity_protocol::EnvelopeHeader;
use comity_protocol::envelope::{SealRandomness, seal_envelope};
use serde_json::{Value, json};

struct Seeds {
    root: PathBuf,
    count: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        self.count += 1;
    }
}

fn with_selector(selector: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(rest);
    v
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let mut s = Seeds { root, count: 0 };
    let repo = repository();

    // scenario: every scenario file of the project.
    for (name, text) in all_scenarios() {
        s.put("scenario", &name, text);
    }

    // rules: each built-in rule file in its own slot, and alone.
    let files = comity_rules::BUILTIN_FILES;
    for (i, (name, text)) in files.iter().enumerate() {
        s.put("rules", name, with_selector(i as u8, text.as_bytes()));
        s.put(
            "rules",
            &format!("alone-{name}"),
            with_selector(files.len() as u8, text.as_bytes()),
        );
    }

    // envelope: plain and sealed envelopes from Arcadia to Borduria, and the fixtures' requests.
    let f = federation();
    for (sealed, kind) in [(false, "request.preservation"), (true, "request.mla")] {
        let header = EnvelopeHeader {
            from: f.ar.entry.id.clone(),
            to: f.bo.entry.id.clone(),
            kind: kind.parse().unwrap(),
            created: timestamp(T0 - 60),
            expires: timestamp(T0 + 3_600),
            in_reply_to: None,
        };
        let payload = match json!({
            "case": "01a237f1-8d78-7f27-a140-a8b81766c52d",
            "note": "Préservation urgente — 30 días",
            "n": 1.5,
            "list": [1, "two", null, true, {"nested": []}]
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let out = seal_envelope(
            &f.directory,
            header,
            payload,
            &f.ar.signing,
            SealRandomness {
                id: [7; 10],
                hpke_seed: sealed.then_some([9; 32]),
            },
        )
        .unwrap();
        let name = if sealed { "sealed.json" } else { "plain.json" };
        s.put("envelope", name, out.bytes);
    }
    let n = nodes();
    for (i, bytes) in n.pending.iter().enumerate() {
        s.put("envelope", &format!("request-{i}.json"), bytes);
    }

    // directory: the genesis version, its successor, one authority's entry.
    s.put("directory", "genesis.json", f.genesis.to_bytes().unwrap());
    s.put(
        "directory",
        "successor.json",
        second_directory().to_bytes().unwrap(),
    );
    s.put(
        "directory",
        "entry.json",
        serde_json::to_vec(&f.bo.entry).unwrap(),
    );

    // note: the tlog tests' notes, checkpoints, a cosigned checkpoint, a witness request.
    let notes: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("crates/tlog/tests/data/notes.json")).unwrap(),
    )
    .unwrap();
    for case in notes["cases"].as_array().unwrap() {
        if let Some(b64) = case["note_b64"].as_str() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            s.put("note", case["id"].as_str().unwrap(), bytes);
        }
    }
    let log = signed_log(7);
    s.put("note", "checkpoint", &log.checkpoint);
    let mut cosigned = comity_tlog::Note::parse(log.checkpoint.as_bytes()).unwrap();
    let cosig =
        f.bo.witness
            .cosign(cosigned.text(), (T0 as u64) + 5)
            .unwrap();
    cosigned.add_signature(cosig.clone()).unwrap();
    s.put("note", "cosigned-checkpoint", cosigned.to_text());
    s.put(
        "note",
        "cosignature-response",
        comity_tlog::cosignature::cosignature_response(&[cosig]),
    );
    s.put("note", "add-checkpoint", &n.add_checkpoint);
    s.put("note", "vkey", f.ar.log.verifier_key().to_string());

    // tile: each log's files, unchanged (the audit passes), selected in turn.
    for (i, &size) in LOG_SIZES.iter().enumerate() {
        let l = signed_log(size);
        let files = l.log.files(&l.checkpoint).unwrap();
        let count = files.len();
        for (j, (path, content)) in files.iter().enumerate().take(6) {
            let selector = i + j * LOG_SIZES.len();
            if selector > 255 {
                break;
            }
            let name = format!("log{size}-{}", path.replace('/', "_"));
            s.put("tile", &name, with_selector(selector as u8, content));
        }
        let _ = count;
    }

    // http: every operation of the officer API and the node endpoint, with valid bodies, and
    // the officer UI's pages.
    let officer = "x-comity-officer: fuzz\ncontent-type: application/json";
    let mut http = |name: &str, method: &str, path: &str, headers: &str, body: &[u8]| {
        let mut v = format!("{method} {path}\n{headers}\n\n").into_bytes();
        v.extend_from_slice(body);
        s.put("http", name, v);
    };
    let (rcv, mla, draft) = (&n.received, &n.mla, &n.draft);
    let own = scenario("preservation", PRESERVATION, "")
        .replace("from = \"AR\"", "from = \"BO\"")
        .replace("to = \"BO\"", "to = \"AR\"");
    let j = |v: Value| serde_json::to_vec(&v).unwrap();
    http(
        "create",
        "POST",
        "/v1/cases",
        officer,
        &j(
            json!({"scenario": own, "counterpart": AR, "reference": "ref-1", "hours": 24, "reason": "urgent"}),
        ),
    );
    http("list", "GET", "/v1/cases?state=received", officer, b"");
    http("show", "GET", &format!("/v1/cases/{rcv}"), officer, b"");
    http(
        "send",
        "POST",
        &format!("/v1/cases/{draft}/send"),
        officer,
        &j(json!({"override_reason": "the facts are attached"})),
    );
    http(
        "revise",
        "POST",
        &format!("/v1/cases/{draft}/revise"),
        officer,
        &j(json!({"scenario": own})),
    );
    http(
        "assess",
        "POST",
        &format!("/v1/cases/{mla}/assess"),
        officer,
        &j(json!({"political_offence": true, "protected_roles": ["journalist"]})),
    );
    http(
        "clarify",
        "POST",
        &format!("/v1/cases/{mla}/clarify"),
        officer,
        &j(json!({"question": "Which account?"})),
    );
    http(
        "answer",
        "POST",
        &format!("/v1/cases/{draft}/answer"),
        officer,
        &j(json!({"text": "ops-7", "supplied": ["time_period"]})),
    );
    http(
        "consult",
        "POST",
        &format!("/v1/cases/{mla}/consult"),
        officer,
        &j(json!({"grounds": ["political_offence"], "text": "We consider refusing."})),
    );
    http(
        "decide-executed",
        "POST",
        &format!("/v1/cases/{rcv}/decide"),
        officer,
        &j(json!({"disposition": "executed"})),
    );
    http(
        "decide-refused",
        "POST",
        &format!("/v1/cases/{mla}/decide"),
        officer,
        &j(
            json!({"disposition": "refused", "grounds": ["political_offence"], "reasons": "a protest", "conditions": ["none"], "override_reason": "x"}),
        ),
    );
    http(
        "notify",
        "POST",
        &format!("/v1/cases/{rcv}/notify"),
        officer,
        &j(json!({"text": "the data are gone"})),
    );
    http(
        "extend",
        "POST",
        &format!("/v1/cases/{rcv}/extend"),
        officer,
        &j(json!({"text": "60 more days"})),
    );
    http(
        "deliver",
        "POST",
        &format!("/v1/cases/{mla}/deliver"),
        officer,
        &j(
            json!({"items": [{"name": "records.csv", "content_base64": "YSxiLGMK"}], "received": [], "retention_days": 30}),
        ),
    );
    http(
        "production-order",
        "POST",
        &format!("/v1/cases/{mla}/production-orders"),
        officer,
        &j(
            json!({"provider": "bo-service-provider", "data": ["subscriber"], "subject": "ops-7", "period_from": "2027-01-01", "period_to": "2027-01-31", "legal_basis": "Art. 5", "due": "2027-04-01", "confidential": true, "instructions": "csv", "reference": "po-1"}),
        ),
    );
    http(
        "object",
        "POST",
        &format!("/v1/cases/{rcv}/object"),
        officer,
        &j(json!({"reasons": "out of scope"})),
    );
    http(
        "close",
        "POST",
        &format!("/v1/cases/{rcv}/close"),
        officer,
        &j(json!({"reason": "done"})),
    );
    http(
        "item",
        "GET",
        &format!("/v1/cases/{rcv}/items/01a237f1-9160-7ace-8694-edf7fdd7e8eb"),
        officer,
        b"",
    );
    http("due", "GET", "/v1/deadlines/due", officer, b"");
    http("audit", "GET", "/v1/audit?after=0&limit=10", officer, b"");
    http("alarms", "GET", "/v1/log/alarms", officer, b"");
    http(
        "resolve-alarm",
        "POST",
        "/v1/log/alarms/1/resolve",
        officer,
        &j(json!({"keep": "held", "reason": "checked"})),
    );
    http("sweep", "POST", "/v1/maintenance/sweep", officer, b"");
    http("healthz", "GET", "/healthz", "", b"");
    http("metrics", "GET", "/metrics", "", b"");
    http("checkpoint", "GET", "/log/checkpoint", "", b"");
    http("tile", "GET", "/log/tile/0/000.p/3", "", b"");
    http("report-json", "GET", "/v1/report", "", b"");
    for (name, path) in [
        ("page-inbox", "/inbox"),
        ("page-case", &format!("/cases/{rcv}") as &str),
        ("page-compose", "/compose"),
        ("page-treaty", "/treaty?q=UNCC+42"),
        ("page-transparency", "/transparency"),
        ("page-directory", "/directory"),
        ("page-training", "/training"),
    ] {
        http(
            name,
            "GET",
            path,
            "x-comity-officer: fuzz\naccept-language: fr",
            b"",
        );
    }
    http(
        "compose-check",
        "POST",
        "/compose/check",
        "x-comity-officer: fuzz\ncontent-type: application/x-www-form-urlencoded",
        b"counterpart=ar-central-authority&kind=preservation&basis=UNCC&data=traffic",
    );
    for (i, bytes) in n.pending.iter().enumerate() {
        http(
            &format!("envelope-{i}"),
            "POST",
            "/v1/envelopes",
            "content-type: application/json\nx-fuzz-peer: ar-central-authority",
            bytes,
        );
    }
    http(
        "add-checkpoint",
        "POST",
        "/v1/log/add-checkpoint",
        "x-fuzz-peer: ar-central-authority",
        n.add_checkpoint.as_bytes(),
    );
    println!("{} seeds in {}", s.count, s.root.display());
}
