//! `comity backup` and `comity restore` through the binary: a node that worked on cases (its
//! log exported under a signed checkpoint) is backed up, checked offline, restored into a new
//! node directory holding the same keys, and the restored node's log verifies, extends the old
//! checkpoint and goes on growing. Damaged backups and a database in use are refused with
//! exit 1 and nothing written. With a PostgreSQL server (`COMITY_TEST_DATABASE_URL`), the
//! SQLite backup moves to PostgreSQL and back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod officer;

use std::path::Path;

use officer::*;

const NOW: &str = "--now=2026-03-02T09:00:00Z";
const LATER: &str = "--now=2026-03-03T09:00:00Z";

/// Opens `n` cases at `node` and sends them; returns their ids.
fn send_cases(d: &Path, node: &str, tag: &str, n: usize, now: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let file = format!("{tag}-{i}.toml");
        std::fs::write(
            d.join(&file),
            scenario(&format!("{tag}-{i}"), "stored_data", MLA, ""),
        )
        .unwrap();
        let created = json(
            d,
            &[
                "case",
                "new",
                "--node",
                node,
                "--officer",
                "ana",
                "--to",
                BO,
                "--reference",
                &format!("{tag}-{i}"),
                &file,
                now,
            ],
        );
        let id = created["id"].as_str().unwrap().to_owned();
        ok(
            d,
            &["case", "send", "--node", node, "--officer", "ana", &id, now],
        );
        ids.push(id);
    }
    ids
}

/// A node directory with `from`'s keys and configuration and no database: where a node is
/// restored.
fn node_without_database(d: &Path, from: &str, to: &str) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("node.db") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to.join(&name));
            } else {
                std::fs::copy(entry.path(), to.join(&name)).unwrap();
            }
        }
    }
    copy(&d.join(from), &d.join(to));
}

fn log_size(d: &Path, export: &str) -> u64 {
    let checkpoint = std::fs::read_to_string(d.join(export).join("checkpoint")).unwrap();
    checkpoint.lines().nth(1).unwrap().parse().unwrap()
}

fn case_count(d: &Path, node: &str, url: Option<&str>) -> usize {
    let mut args = vec!["case", "list", "--node", node, "--officer", "x", LATER];
    if let Some(url) = url {
        args.extend(["--database-url", url]);
    }
    ok(d, &args).lines().count()
}

#[test]
fn a_node_backed_up_restored_and_continuing() {
    let tmp = network();
    let d = tmp.path();
    ok(
        d,
        &[
            "user", "add", "--node", "ar", "--role", "officer", "--name", "Ana", "ana",
        ],
    );
    let ids = send_cases(d, "ar", "first", 6, NOW);
    ok(d, &["log", "export", "--node", "ar", "--to", "exp1", NOW]);
    let size1 = log_size(d, "exp1");
    assert!(size1 >= 6, "{size1}");

    // The backup, taken with the node's log key checking the checkpoint.
    let text = ok(d, &["backup", "--node", "ar", "--to", "ar.backup"]);
    assert!(
        text.contains("backup of sqlite://ar/node.db written to ar.backup"),
        "{text}"
    );
    assert!(
        text.contains(&format!("signed checkpoint of size {size1}")),
        "{text}"
    );
    assert!(text.contains("verified with log key"), "{text}");
    assert!(text.contains("cases 6"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("ar.backup"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!d.join("ar.backup.partial").exists());
    // Never over an existing file.
    fails(
        d,
        &["backup", "--node", "ar", "--to", "ar.backup"],
        2,
        "`ar.backup` exists",
    );
    // Checked offline, with the node's key or a key given.
    let verified = ok(d, &["backup", "--verify", "ar.backup", "--node", "ar"]);
    assert!(verified.contains("ar.backup: a good backup"), "{verified}");
    let manifest = json(
        d,
        &["backup", "--verify", "ar.backup", "--vkey", "@ar/log.vkey"],
    );
    assert_eq!(manifest["good"], true);
    assert_eq!(manifest["signature_checked"], true);
    assert_eq!(manifest["manifest"]["rows"]["cases"], 6);
    assert_eq!(manifest["manifest"]["log"]["checkpoint_size"], size1);
    fails(
        d,
        &["backup", "--verify", "ar.backup", "--vkey", "@bo/log.vkey"],
        1,
        "signature does not verify",
    );

    // Restored into a new node directory with the same keys.
    node_without_database(d, "ar", "ar2");
    let restored = ok(d, &["restore", "ar.backup", "--node", "ar2"]);
    assert!(
        restored.contains("restored ar.backup into sqlite://ar2/node.db"),
        "{restored}"
    );
    assert!(restored.contains("verified with log key"), "{restored}");
    assert_eq!(case_count(d, "ar2", None), 6);
    let shown = json(
        d,
        &[
            "case",
            "show",
            "--node",
            "ar2",
            "--officer",
            "x",
            &ids[0],
            LATER,
        ],
    );
    assert_eq!(shown["case"]["state"], "sent");
    // Not twice: the database is in use now.
    fails(
        d,
        &["restore", "ar.backup", "--node", "ar2"],
        1,
        "is not empty",
    );

    // Its log verifies and extends the checkpoint published before the backup…
    ok(
        d,
        &["log", "export", "--node", "ar2", "--to", "exp2", LATER],
    );
    assert_eq!(log_size(d, "exp2"), size1);
    ok(
        d,
        &[
            "log",
            "verify",
            "exp2",
            "--vkey",
            "@ar2/log.vkey",
            "--since",
            "exp1/checkpoint",
            "--leaves",
        ],
    );
    // …and it goes on: new cases, new entries, a new checkpoint consistent with the old one.
    send_cases(d, "ar2", "second", 3, LATER);
    ok(
        d,
        &["log", "export", "--node", "ar2", "--to", "exp3", LATER],
    );
    let size3 = log_size(d, "exp3");
    assert!(size3 > size1, "{size3} > {size1}");
    ok(
        d,
        &[
            "log",
            "verify",
            "exp3",
            "--vkey",
            "@ar2/log.vkey",
            "--since",
            "exp1/checkpoint",
            "--leaves",
        ],
    );
    assert_eq!(case_count(d, "ar2", None), 9);

    // Damaged backups: refused with exit 1, nothing written (no database made).
    let bytes = std::fs::read(d.join("ar.backup")).unwrap();
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    std::fs::write(d.join("flipped.backup"), &flipped).unwrap();
    std::fs::write(d.join("cut.backup"), &bytes[..bytes.len() - 40]).unwrap();
    node_without_database(d, "ar", "ar3");
    for (file, needle) in [
        ("flipped.backup", "flipped.backup"),
        ("cut.backup", "truncated"),
    ] {
        let out = fails(d, &["backup", "--verify", file], 1, needle);
        assert!(out.stderr.contains("bad_backup"), "{}", out.stderr);
        fails(d, &["restore", file, "--node", "ar3"], 1, needle);
        assert!(!d.join("ar3/node.db").exists());
    }
    fails(
        d,
        &["restore", "missing.backup", "--node", "ar3"],
        2,
        "missing.backup",
    );
    fails(
        d,
        &["restore", "ar.backup", "--node", "nowhere"],
        2,
        "not a node directory",
    );
}

/// The SQLite node moves to PostgreSQL (it outgrew its VM) and back, through backups.
#[test]
fn sqlite_to_postgres_and_back() {
    let server = comity_testkit::test_database_url();
    let Some(db) = block_on(comity_store::scratch::ScratchDatabase::create(
        &server,
        "comity_backup_cli",
    ))
    .map_or_else(|e| comity_testkit::skip_postgres(&e.to_string()), Some) else {
        return;
    };
    let url = db.url().to_owned();
    let outcome = std::panic::catch_unwind(|| {
        let tmp = network();
        let d = tmp.path();
        send_cases(d, "ar", "first", 4, NOW);
        ok(d, &["log", "export", "--node", "ar", "--to", "exp1", NOW]);
        ok(d, &["backup", "--node", "ar", "--to", "ar.backup"]);

        let into_pg = json(
            d,
            &[
                "restore",
                "ar.backup",
                "--database-url",
                &url,
                "--vkey",
                "@ar/log.vkey",
            ],
        );
        assert_eq!(into_pg["backend"], "postgres");
        assert_eq!(into_pg["manifest"]["backend"], "sqlite");
        assert_eq!(case_count(d, "ar", Some(&url)), 4);
        send_cases_on(d, &url);
        ok(
            d,
            &[
                "log",
                "export",
                "--node",
                "ar",
                "--database-url",
                &url,
                "--to",
                "exp2",
                LATER,
            ],
        );
        ok(
            d,
            &[
                "log",
                "verify",
                "exp2",
                "--vkey",
                "@ar/log.vkey",
                "--since",
                "exp1/checkpoint",
            ],
        );

        // And back to SQLite, from a backup of the PostgreSQL node.
        ok(
            d,
            &[
                "backup",
                "--database-url",
                &url,
                "--to",
                "pg.backup",
                "--vkey",
                "@ar/log.vkey",
            ],
        );
        node_without_database(d, "ar", "ar4");
        ok(d, &["restore", "pg.backup", "--node", "ar4"]);
        assert_eq!(case_count(d, "ar4", None), 5);
        ok(
            d,
            &["log", "export", "--node", "ar4", "--to", "exp4", LATER],
        );
        assert_eq!(log_size(d, "exp4"), log_size(d, "exp2"));
        ok(
            d,
            &[
                "log",
                "verify",
                "exp4",
                "--vkey",
                "@ar4/log.vkey",
                "--since",
                "exp1/checkpoint",
            ],
        );
    });
    block_on(db.drop()).unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

/// One more case on the PostgreSQL copy of `ar`.
fn send_cases_on(d: &Path, url: &str) {
    std::fs::write(
        d.join("pg-0.toml"),
        scenario("pg-0", "stored_data", MLA, ""),
    )
    .unwrap();
    let created = json(
        d,
        &[
            "case",
            "new",
            "--node",
            "ar",
            "--database-url",
            url,
            "--officer",
            "ana",
            "--to",
            BO,
            "--reference",
            "pg-0",
            "pg-0.toml",
            LATER,
        ],
    );
    let id = created["id"].as_str().unwrap();
    ok(
        d,
        &[
            "case",
            "send",
            "--node",
            "ar",
            "--database-url",
            url,
            "--officer",
            "ana",
            id,
            LATER,
        ],
    );
}
