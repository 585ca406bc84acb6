//! `comity init`, `directory`, `keys` and `envelope`: the whole flow through the binary, with
//! exit codes and messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

const T0: &str = "--now=2026-01-01T00:00:00Z";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn comity(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = comity(dir, args);
    assert_eq!(
        out.code, 0,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn fails(dir: &Path, args: &[&str], code: i32, needle: &str) -> Out {
    let out = comity(dir, args);
    assert_eq!(
        out.code, code,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle) || out.stdout.contains(needle),
        "comity {args:?}: expected `{needle}` in\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out
}

/// Two nodes, AR (maintainer) and ES, in a signed directory `dir.json`.
fn network() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(
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
            T0,
        ],
    );
    ok(
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
            T0,
        ],
    );
    ok(
        d,
        &[
            "directory",
            "add",
            "--directory",
            "dir.json",
            "ar",
            "--maintainer",
            T0,
        ],
    );
    ok(
        d,
        &[
            "directory",
            "add",
            "--directory",
            "dir.json",
            "es/authority.json",
            T0,
        ],
    );
    let signed = ok(
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
    assert!(signed.contains("complete"), "{signed}");
    std::fs::write(
        d.join("payload.json"),
        r#"{"request": {"kind": "preservation"}, "account": "user@mail.example"}"#,
    )
    .unwrap();
    tmp
}

fn seal(d: &Path, from: &str, now: &str, extra: &[&str], out: &str) {
    let mut args = vec![
        "envelope",
        "seal",
        "--from",
        from,
        "--to",
        "es-central-authority",
        "--directory",
        "dir.json",
        "--kind",
        "request.preservation",
        now,
    ];
    args.extend_from_slice(extra);
    args.push("payload.json");
    let env = ok(d, &args);
    std::fs::write(d.join(out), env).unwrap();
}

#[test]
fn init_writes_private_keys_and_never_prints_them() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let stdout = ok(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "point_of_contact_24_7",
            "--name",
            "Red 24/7",
            "--dir",
            "ar",
            T0,
        ],
    );
    assert!(stdout.contains("ar-point-of-contact-24-7"), "{stdout}");
    let mut secrets = 0;
    for sub in ["keys", "tls"] {
        for f in std::fs::read_dir(d.join("ar").join(sub)).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().into_string().unwrap();
            let text = std::fs::read_to_string(f.path()).unwrap();
            if name.ends_with(".key") || name == "key.pem" {
                secrets += 1;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    assert_eq!(
                        f.metadata().unwrap().permissions().mode() & 0o777,
                        0o600,
                        "{name}"
                    );
                }
                let secret = text.split_whitespace().last().unwrap().to_owned();
                assert!(!stdout.contains(&secret), "{name} printed");
            }
        }
    }
    // signing, encryption, log and witness keys, and the TLS key
    assert_eq!(secrets, 5);
    // the log's verifier key is public, named `<network>/<id>`, and listed in the entry
    let vkey = std::fs::read_to_string(d.join("ar/log.vkey")).unwrap();
    let vkey = vkey.trim();
    assert!(
        vkey.starts_with("comity/ar-point-of-contact-24-7+"),
        "{vkey}"
    );
    assert!(stdout.contains(vkey), "{stdout}");
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ar/authority.json")).unwrap())
            .unwrap();
    assert_eq!(entry["log_vkey"], vkey);
    let skey = std::fs::read_to_string(d.join("ar/keys/log.key")).unwrap();
    let skey = comity_tlog::SignerKey::parse(skey.trim()).unwrap();
    assert_eq!(skey.verifier_key().to_string(), vkey);
    // so is the witness's, a cosignature/v1 key of its own named `<network>/<id>/witness`
    let wkey = std::fs::read_to_string(d.join("ar/witness.vkey")).unwrap();
    let wkey = wkey.trim();
    assert!(
        wkey.starts_with("comity/ar-point-of-contact-24-7/witness+"),
        "{wkey}"
    );
    assert!(stdout.contains(wkey), "{stdout}");
    assert_eq!(entry["witness_vkey"], wkey);
    let wskey = std::fs::read_to_string(d.join("ar/keys/witness.key")).unwrap();
    let wskey = comity_tlog::SignerKey::parse(wskey.trim()).unwrap();
    assert_eq!(wskey.verifier_key().to_string(), wkey);
    assert_eq!(wskey.key_type(), comity_tlog::KeyType::CosignatureV1);
    assert_ne!(
        wskey.verifier_key().public_key(),
        skey.verifier_key().public_key()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("ar/keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // a second init into the same directory is refused
    fails(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "central_authority",
            "--name",
            "X",
            "--dir",
            "ar",
            T0,
        ],
        2,
        "not an empty directory",
    );
}

#[test]
fn init_refuses_bad_input_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fails(
        d,
        &[
            "init",
            "--party",
            "Argentina",
            "--role",
            "central_authority",
            "--name",
            "X",
            "--dir",
            "a",
        ],
        2,
        "`Argentina`",
    );
    fails(
        d,
        &[
            "init", "--party", "AR", "--role", "ministry", "--name", "X", "--dir", "a",
        ],
        2,
        "`ministry`",
    );
    fails(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "oversight",
            "--name",
            " X",
            "--dir",
            "a",
        ],
        2,
        "authority name",
    );
    fails(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "oversight",
            "--name",
            "X",
            "--dir",
            "a",
            "--now",
            "yesterday",
        ],
        2,
        "`yesterday`",
    );
    fails(
        d,
        &[
            "init",
            "--party",
            "AR",
            "--role",
            "oversight",
            "--name",
            "X",
            "--dir",
            "a",
            "--node-endpoint",
            "ftp://x",
        ],
        2,
        "`ftp://x`",
    );
    assert!(!d.join("a").exists());
}

#[test]
fn plain_and_sealed_envelopes_through_the_binary() {
    let tmp = network();
    let d = tmp.path();
    ok(d, &["directory", "verify", "dir.json"]);
    let shown = ok(d, &["directory", "show", "dir.json"]);
    assert!(
        shown.contains("signatures valid") && shown.contains("es-central-authority"),
        "{shown}"
    );

    seal(d, "ar", "--now=2026-01-01T10:00:00Z", &[], "plain.json");
    seal(
        d,
        "ar",
        "--now=2026-01-01T10:00:00Z",
        &["--encrypt"],
        "sealed.json",
    );
    let sealed_text = std::fs::read_to_string(d.join("sealed.json")).unwrap();
    assert!(!sealed_text.contains("user@mail.example"));

    let at = "--now=2026-01-01T10:05:00Z";
    let v = ok(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            at,
            "plain.json",
        ],
    );
    assert!(v.starts_with("valid: envelope "), "{v}");
    let v = ok(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--dir",
            "es",
            "--json",
            at,
            "sealed.json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&v).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["sealed"], true);

    for env in ["plain.json", "sealed.json"] {
        let payload = ok(
            d,
            &[
                "envelope",
                "open",
                "--directory",
                "dir.json",
                "--dir",
                "es",
                at,
                env,
            ],
        );
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["account"], "user@mail.example");
    }
    // refusals: exit 1 with the code and reason
    fails(
        d,
        &[
            "envelope",
            "open",
            "--directory",
            "dir.json",
            "--dir",
            "ar",
            at,
            "sealed.json",
        ],
        1,
        "wrong_recipient",
    );
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--as",
            "ar-central-authority",
            at,
            "plain.json",
        ],
        1,
        "not to `ar-central-authority`",
    );
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-02T10:00:00Z",
            "plain.json",
        ],
        1,
        "expired",
    );
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T09:00:00Z",
            "plain.json",
        ],
        1,
        "not_yet_valid",
    );
    let out = fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--json",
            "--now=2026-01-02T10:00:00Z",
            "plain.json",
        ],
        1,
        "expired",
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["code"], "expired");
    let tampered = std::fs::read_to_string(d.join("plain.json"))
        .unwrap()
        .replace("preservation\"}", "production\"}");
    std::fs::write(d.join("tampered.json"), tampered).unwrap();
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            at,
            "tampered.json",
        ],
        1,
        "payload_hash_mismatch",
    );
    let pretty: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("plain.json")).unwrap()).unwrap();
    std::fs::write(
        d.join("pretty.json"),
        serde_json::to_string_pretty(&pretty).unwrap(),
    )
    .unwrap();
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            at,
            "pretty.json",
        ],
        1,
        "canonical",
    );
    // bad input: exit 2
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            at,
            "missing.json",
        ],
        2,
        "`missing.json`",
    );
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "missing.json",
            at,
            "plain.json",
        ],
        2,
        "`missing.json`",
    );
    fails(
        d,
        &[
            "envelope",
            "seal",
            "--from",
            "ar",
            "--to",
            "ES",
            "--directory",
            "dir.json",
            "--kind",
            "x",
            "payload.json",
        ],
        2,
        "`ES`",
    );
    fails(
        d,
        &[
            "envelope",
            "seal",
            "--from",
            "ar",
            "--to",
            "fr-central-authority",
            "--directory",
            "dir.json",
            "--kind",
            "x",
            T0,
            "payload.json",
        ],
        2,
        "`fr-central-authority`",
    );
    std::fs::write(d.join("array.json"), "[1, 2]").unwrap();
    fails(
        d,
        &[
            "envelope",
            "seal",
            "--from",
            "ar",
            "--to",
            "es-central-authority",
            "--directory",
            "dir.json",
            "--kind",
            "x",
            T0,
            "array.json",
        ],
        2,
        "json object",
    );
    std::fs::write(d.join("broken.json"), "{\"a\": ").unwrap();
    fails(
        d,
        &[
            "envelope",
            "seal",
            "--from",
            "ar",
            "--to",
            "es-central-authority",
            "--directory",
            "dir.json",
            "--kind",
            "x",
            T0,
            "broken.json",
        ],
        2,
        "not json",
    );
}

#[test]
fn a_directory_that_does_not_verify_is_not_trusted() {
    let tmp = network();
    let d = tmp.path();
    let text = std::fs::read_to_string(d.join("dir.json")).unwrap();
    let forged = text.replace(
        "https://es-central-authority.invalid:4433/",
        "https://attacker.invalid:4433/",
    );
    std::fs::write(d.join("forged.json"), forged).unwrap();
    fails(
        d,
        &["directory", "verify", "forged.json"],
        1,
        "does not verify",
    );
    seal(d, "ar", "--now=2026-01-01T10:00:00Z", &[], "plain.json");
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "forged.json",
            "--now=2026-01-01T10:00:01Z",
            "plain.json",
        ],
        2,
        "is not valid",
    );
    std::fs::write(d.join("garbage.json"), "{").unwrap();
    fails(
        d,
        &["directory", "verify", "garbage.json"],
        1,
        "malformed directory",
    );
    fails(
        d,
        &["directory", "verify", "nothing.json"],
        2,
        "`nothing.json`",
    );
    // a non-maintainer cannot sign
    fails(
        d,
        &[
            "directory",
            "sign",
            "--directory",
            "dir.json",
            "--dir",
            "es",
        ],
        1,
        "not a maintainer",
    );
}

#[test]
fn rotation_and_revocation_through_the_binary() {
    let tmp = network();
    let d = tmp.path();
    std::fs::copy(d.join("dir.json"), d.join("v1.json")).unwrap();
    seal(d, "ar", "--now=2026-01-01T10:00:00Z", &[], "before.json");

    let out = ok(
        d,
        &[
            "keys",
            "rotate",
            "--dir",
            "ar",
            "--directory",
            "dir.json",
            "--now=2026-01-01T11:00:00Z",
        ],
    );
    assert!(out.contains("version 2"), "{out}");
    // unsigned, the new version is not valid yet
    fails(
        d,
        &["directory", "verify", "dir.json"],
        1,
        "not_enough_signatures",
    );
    ok(
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
    ok(
        d,
        &["directory", "verify", "dir.json", "--previous", "v1.json"],
    );
    std::fs::copy(d.join("dir.json"), d.join("v2.json")).unwrap();

    // the old key verifies what it signed before the rotation, and nothing after
    ok(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T12:00:00Z",
            "before.json",
        ],
    );
    seal(d, "ar", "--now=2026-01-01T12:00:00Z", &[], "after.json");
    ok(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T12:00:00Z",
            "after.json",
        ],
    );
    let old_env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("before.json")).unwrap()).unwrap();
    let new_env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("after.json")).unwrap()).unwrap();
    assert_ne!(old_env["signer"], new_env["signer"]);

    // the encryption key and the TLS certificate rotate too
    ok(
        d,
        &[
            "keys",
            "rotate",
            "--dir",
            "es",
            "--directory",
            "dir.json",
            "--encryption",
            "--now=2026-01-01T13:00:00Z",
        ],
    );
    ok(
        d,
        &[
            "keys",
            "rotate",
            "--dir",
            "es",
            "--directory",
            "dir.json",
            "--tls",
            "--now=2026-01-01T13:00:00Z",
        ],
    );
    ok(
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
    ok(
        d,
        &["directory", "verify", "dir.json", "--previous", "v2.json"],
    );
    std::fs::copy(d.join("dir.json"), d.join("v3.json")).unwrap();
    seal(
        d,
        "ar",
        "--now=2026-01-01T14:00:00Z",
        &["--encrypt"],
        "sealed.json",
    );
    ok(
        d,
        &[
            "envelope",
            "open",
            "--directory",
            "dir.json",
            "--dir",
            "es",
            "--now=2026-01-01T14:00:00Z",
            "sealed.json",
        ],
    );

    // revoking the old key refuses even what it signed before
    let kid = old_env["signer"].as_str().unwrap();
    ok(
        d,
        &[
            "keys",
            "revoke",
            "--directory",
            "dir.json",
            "--key",
            kid,
            "--dir",
            "ar",
            "--now=2026-01-01T15:00:00Z",
        ],
    );
    ok(
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
    ok(
        d,
        &["directory", "verify", "dir.json", "--previous", "v3.json"],
    );
    fails(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T15:00:01Z",
            "before.json",
        ],
        1,
        "revoked_key",
    );
    ok(
        d,
        &[
            "envelope",
            "verify",
            "--directory",
            "dir.json",
            "--now=2026-01-01T15:00:01Z",
            "after.json",
        ],
    );
    // the chain cannot skip a version
    fails(
        d,
        &["directory", "verify", "dir.json", "--previous", "v1.json"],
        1,
        "does not follow",
    );
    fails(
        d,
        &[
            "keys",
            "revoke",
            "--directory",
            "dir.json",
            "--key",
            "nothex",
        ],
        2,
        "`nothex`",
    );
    let authority: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ar/authority.json")).unwrap())
            .unwrap();
    assert_eq!(
        authority["signing_keys"][0]["revoked"],
        "2026-01-01T15:00:00Z"
    );
}
