//! An envelope made by `comity envelope seal` verifies with an independent implementation,
//! written from docs/protocol.md alone in JavaScript on Node's built-in `crypto` (Ed25519,
//! X25519, HMAC-SHA-256, ChaCha20-Poly1305): canonical JSON, the directory's signatures, the
//! envelope's signature and payload hash, and the HPKE opening of a sealed payload.
//! Skipped, with a visible line, where `node` is not installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

/// The verifier. Arguments: DIRECTORY ENVELOPE NOW [RECIPIENT_SECRET_KEY_FILE].
/// Prints `{"valid":true,"payload":...}` and exits 0, or `{"valid":false,"reason":...}` and 1.
const VERIFIER: &str = r#"
import crypto from 'node:crypto';
import fs from 'node:fs';

function fail(reason) { console.log(JSON.stringify({ valid: false, reason })); process.exit(1); }

// RFC 8785 for the JSON we exchange: JS sorts keys by UTF-16 code units and JSON.stringify
// writes strings and numbers as JCS requires.
function jcs(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  return '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}
function readCanonical(path, what) {
  const text = fs.readFileSync(path, 'utf8').replace(/\n$/, '');
  let value;
  try { value = JSON.parse(text); } catch (e) { fail(what + ' is not json'); }
  if (jcs(value) !== text) fail(what + ' is not canonical');
  return value;
}
function b64(s) {
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) fail('non-canonical base64');
  return b;
}
const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts.map(p => Buffer.from(p)))).digest();
const keyId = (alg, pub) => sha256('comity/key-id/v1\n' + alg + '\n', b64(pub)).subarray(0, 16).toString('hex');
const ed25519 = pub => crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(pub).toString('base64url') }, format: 'jwk' });
const seconds = t => Date.parse(t) / 1000;

const [dirPath, envPath, now, secretPath] = process.argv.slice(2);

// Section 4: the directory version and its maintainers' signatures.
const dir = readCanonical(dirPath, 'directory');
const body = { ...dir }; delete body.signatures;
const dirMessage = Buffer.from('comity/directory/v1\n' + jcs(body), 'utf8');
const signers = new Set();
for (const s of dir.signatures) {
  if (!dir.maintainers.includes(s.authority)) fail('directory signed by a non-maintainer');
  const k = dir.authorities.find(a => a.id === s.authority).signing_keys.find(k => k.kid === s.kid);
  if (!k || k.revoked !== null || k.added > dir.issued || (k.rotated !== null && k.rotated < dir.issued)) fail('directory key not usable');
  if (!crypto.verify(null, dirMessage, ed25519(k.public), b64(s.signature))) fail('directory signature');
  signers.add(s.authority);
}
if (signers.size < dir.threshold) fail('directory not signed by enough maintainers');
for (const a of dir.authorities) for (const k of a.signing_keys) if (keyId('ed25519', k.public) !== k.kid) fail('key id mismatch');
for (const a of dir.authorities) for (const k of a.encryption_keys) if (keyId('x25519', k.public) !== k.kid) fail('key id mismatch');

// Section 3: the envelope.
const env = readCanonical(envPath, 'envelope');
const hash = env.payload !== undefined
  ? sha256(jcs(env.payload))
  : sha256(b64(env.sealed.enc), b64(env.sealed.ciphertext));
if (hash.toString('hex') !== env.payload_hash) fail('payload hash');
let owner, key;
for (const a of dir.authorities) for (const k of a.signing_keys) if (k.kid === env.signer) { owner = a; key = k; }
if (!key) fail('unknown key');
if (owner.id !== env.from) fail('key not owned by sender');
if (key.revoked !== null) fail('revoked key');
const unsigned = { ...env }; delete unsigned.signature;
const message = Buffer.from('comity/envelope/v1\n' + jcs(unsigned), 'utf8');
if (!crypto.verify(null, message, ed25519(key.public), b64(env.signature))) fail('bad signature');
if (key.rotated !== null && seconds(env.created) >= seconds(key.rotated)) fail('rotated key');
if (!(seconds(env.created) < seconds(env.expires))) fail('malformed times');
if (seconds(env.created) > seconds(now) + 300) fail('not yet valid');
if (seconds(now) >= seconds(env.expires)) fail('expired');

// Section 3.3: RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
const hmac = (k, d) => crypto.createHmac('sha256', k).update(d).digest();
const i2osp = (n, w) => { const b = Buffer.alloc(w); b.writeUIntBE(n, 0, w); return b; };
const extract = (salt, ikm) => hmac(salt.length ? salt : Buffer.alloc(32), ikm);
function expand(prk, info, L) {
  let t = Buffer.alloc(0); const out = [];
  for (let i = 1; Buffer.concat(out).length < L; i++) { t = hmac(prk, Buffer.concat([t, info, Buffer.from([i])])); out.push(t); }
  return Buffer.concat(out).subarray(0, L);
}
const lext = (suite, salt, label, ikm) => extract(salt, Buffer.concat([Buffer.from('HPKE-v1'), suite, Buffer.from(label), ikm]));
const lexp = (suite, prk, label, info, L) => expand(prk, Buffer.concat([i2osp(L, 2), Buffer.from('HPKE-v1'), suite, Buffer.from(label), info]), L);
function openBase(skR, pkR, enc, info, aad, ct) {
  const kem = Buffer.concat([Buffer.from('KEM'), i2osp(0x0020, 2)]);
  const hpke = Buffer.concat([Buffer.from('HPKE'), i2osp(0x0020, 2), i2osp(0x0001, 2), i2osp(0x0003, 2)]);
  const jwk = (x, d) => ({ key: { kty: 'OKP', crv: 'X25519', x: x.toString('base64url'), ...(d ? { d: d.toString('base64url') } : {}) }, format: 'jwk' });
  const dh = crypto.diffieHellman({ privateKey: crypto.createPrivateKey(jwk(pkR, skR)), publicKey: crypto.createPublicKey(jwk(enc)) });
  const shared = lexp(kem, lext(kem, Buffer.alloc(0), 'eae_prk', dh), 'shared_secret', Buffer.concat([enc, pkR]), 32);
  const context = Buffer.concat([Buffer.from([0]), lext(hpke, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0)), lext(hpke, Buffer.alloc(0), 'info_hash', info)]);
  const secret = lext(hpke, shared, 'secret', Buffer.alloc(0));
  const k = lexp(hpke, secret, 'key', context, 32), nonce = lexp(hpke, secret, 'base_nonce', context, 12);
  const d = crypto.createDecipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 });
  const body = ct.subarray(0, ct.length - 16);
  d.setAAD(aad, { plaintextLength: body.length });
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(body), d.final()]);
}

let payload = env.payload;
if (env.sealed) {
  if (env.sealed.suite !== 'hpke-base/x25519-hkdf-sha256/hkdf-sha256/chacha20-poly1305') fail('suite');
  if (!secretPath) { console.log(JSON.stringify({ valid: true, sealed: true })); process.exit(0); }
  const [tag, alg, sk] = fs.readFileSync(secretPath, 'utf8').trim().split(' ');
  if (tag !== 'comity-secret-key/v1' || alg !== 'x25519') fail('secret key file');
  const recipient = dir.authorities.find(a => a.id === env.to);
  const rk = recipient.encryption_keys.find(k => k.kid === env.sealed.recipient_key);
  const aad = Buffer.from(jcs({ created: env.created, expires: env.expires, from: env.from, id: env.id, in_reply_to: env.in_reply_to, kind: env.kind, to: env.to }), 'utf8');
  let plain;
  try {
    plain = openBase(b64(sk), b64(rk.public), b64(env.sealed.enc), Buffer.from('comity/envelope/v1/payload'), aad, b64(env.sealed.ciphertext)).toString('utf8');
  } catch (e) { fail('cannot open: ' + e.message); }
  payload = JSON.parse(plain);
  if (jcs(payload) !== plain) fail('sealed payload not canonical');
}
console.log(JSON.stringify({ valid: true, payload }));
"#;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn comity(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "comity {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn node(dir: &Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new("node")
        .current_dir(dir)
        .arg("verify.mjs")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "node printed {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

#[test]
fn envelopes_sealed_by_comity_verify_with_an_independent_implementation() {
    if !node_available() {
        eprintln!(
            "SKIPPED: `node` is not installed; the independent JavaScript verifier did not run"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("verify.mjs"), VERIFIER).unwrap();
    let t0 = "--now=2026-01-01T00:00:00Z";
    comity(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "central_authority",
            "--name",
            "Autoridad Central",
            "--dir",
            "ar",
            t0,
        ],
    );
    comity(
        d,
        &[
            "init",
            "--party",
            "ES",
            "--role",
            "central_authority",
            "--name",
            "Autoridad Central",
            "--dir",
            "es",
            t0,
        ],
    );
    comity(
        d,
        &[
            "directory",
            "add",
            "--directory",
            "dir.json",
            "ar",
            "es",
            "--maintainer",
            "--threshold",
            "2",
            t0,
        ],
    );
    comity(
        d,
        &[
            "directory",
            "sign",
            "--directory",
            "dir.json",
            "--dir",
            "ar",
        ],
    );
    comity(
        d,
        &[
            "directory",
            "sign",
            "--directory",
            "dir.json",
            "--dir",
            "es",
        ],
    );
    // a payload with what canonicalisation must get right: key order by UTF-16, escapes, numbers
    let payload = r#"{"z": 1, "a": [1.50, 1e21, 0.000001, -0], "é": "line\nbreak \u2028 \"quoted\"", "😂": true, "ｿ": null, "case": "AR-2026-0042"}"#;
    std::fs::write(d.join("payload.json"), payload).unwrap();
    let now = "--now=2026-01-01T10:00:00Z";
    for (name, extra) in [("plain.json", None), ("sealed.json", Some("--encrypt"))] {
        let mut args = vec![
            "envelope",
            "seal",
            "--from",
            "ar",
            "--to",
            "es-central-authority",
            "--directory",
            "dir.json",
            "--kind",
            "request.preservation",
            now,
        ];
        args.extend(extra);
        args.push("payload.json");
        std::fs::write(d.join(name), comity(d, &args)).unwrap();
    }
    let es_secret = std::fs::read_dir(d.join("es/keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("encryption-")
        })
        .unwrap();
    let es_secret = es_secret.to_str().unwrap();
    let mut expected: serde_json::Value = serde_json::from_str(payload).unwrap();
    expected["a"][3] = 0.into(); // JCS writes -0 as 0

    let (ok, report) = node(d, &["dir.json", "plain.json", "2026-01-01T10:05:00Z"]);
    assert!(ok, "{report}");
    assert_eq!(report["payload"], expected);
    let (ok, report) = node(
        d,
        &["dir.json", "sealed.json", "2026-01-01T10:05:00Z", es_secret],
    );
    assert!(ok, "{report}");
    assert_eq!(report["payload"], expected);

    // and the independent verifier refuses what comity refuses
    let (ok, report) = node(d, &["dir.json", "plain.json", "2026-01-03T00:00:00Z"]);
    assert!(!ok && report["reason"] == "expired", "{report}");
    let text = std::fs::read_to_string(d.join("plain.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["kind"] = "request.production".into();
    std::fs::write(
        d.join("tampered.json"),
        serde_json::to_string(&value).unwrap(),
    )
    .unwrap();
    let (ok, report) = node(d, &["dir.json", "tampered.json", "2026-01-01T10:05:00Z"]);
    assert!(!ok, "{report}");
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(d)
        .args([
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T10:05:00Z",
            "tampered.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
