//! Backups and restores (`comity_store::backup`) on both backends and across them: a node
//! with cases, events, deadlines, items, outbox, inbound record, audit trail, accounts,
//! witnessing state and a log of some hundreds of entries under a cosigned checkpoint is
//! backed up, restored into a fresh database, and must read back the same through the store;
//! its log must verify with the auditor and extend the old checkpoint, and go on growing under
//! a new checkpoint consistent with the old one. Corrupted, truncated, forged and misplaced
//! backups are refused with a clear error and write nothing. A backup taken while a writer
//! runs is one instant of the node.
//!
//! The PostgreSQL tests run in scratch databases on `COMITY_TEST_DATABASE_URL`'s server (as
//! `tests/postgres.rs`); without a server they skip visibly, except under `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
mod conformance;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use comity_store::backup::{self, BackupError, Manifest};
use comity_store::scratch::ScratchDatabase;
use comity_store::{
    AnyStore, CaseWrite, Change, CheckpointRow, Database, PeerCheckpointRow, SessionRow,
    SessionWrite, Store, UserRow,
};
use comity_tlog::{KeyType, Note, SignerKey};
use conformance::{
    T0, alarm, assert_log_is, audit, case, deadline, dump, event, inbound, item, leaf, log_key,
    message, published,
};
use sha2::{Digest as _, Sha256};

const CASES: usize = 30;
const LEAVES_PER_CASE: usize = 12;
/// Entries appended after the checkpoint, before the backup: a backup holds them too.
const AFTER_CHECKPOINT: usize = 7;

fn case_ids() -> Vec<String> {
    (0..CASES).map(|i| format!("c-{i:02}")).collect()
}

fn envelope_ids() -> Vec<String> {
    (0..CASES).map(|i| format!("e-{i:02}")).collect()
}

fn witness_key() -> SignerKey {
    SignerKey::from_seed("witness.example/w", KeyType::CosignatureV1, &[7; 32]).unwrap()
}

/// What a node holds after some work: returns the log's entries and the cosigned checkpoint.
async fn populate<S: Store>(store: &S) -> (Vec<Vec<u8>>, String) {
    let mut entries = Vec::new();
    for (i, id) in case_ids().iter().enumerate() {
        let at = T0 + i as i64;
        let leaves: Vec<Vec<u8>> = (0..LEAVES_PER_CASE)
            .map(|j| leaf(&format!("{id}-{j}")))
            .collect();
        entries.extend(leaves.clone());
        let mut sealed = item(&format!("it-{i:02}"), id, Some(T0 + 86_400_000));
        sealed.sealed = Some(vec![i as u8; 100 + i]);
        sealed.key = Some(vec![0xA5; 32]);
        store
            .apply(&Change {
                cases: vec![CaseWrite::Insert(case(id, "received", at))],
                events: vec![event(id, 1, "received"), event(id, 2, "decided")],
                deadlines: vec![deadline(id, "respond", at + 3_600_000, "open")],
                outbox: vec![message(&format!("m-{i:02}"), Some(id), (i % 3) as i32, at)],
                inbound: vec![inbound(&format!("e-{i:02}"), Some(id))],
                audit: vec![audit("decide", Some(id), at)],
                items: vec![sealed],
                leaves,
                ..Change::default()
            })
            .await
            .unwrap();
    }
    store
        .apply(&Change {
            outbox_updates: vec![
                comity_store::OutboxUpdate::Delivered {
                    id: "m-00".into(),
                    at: T0 + 100,
                },
                comity_store::OutboxUpdate::Failed {
                    id: "m-01".into(),
                    error: "503 from the peer".into(),
                    next_attempt_at: T0 + 200,
                },
            ],
            users: vec![UserRow {
                username: "ana".into(),
                display_name: "Ana".into(),
                role: "officer".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                disabled: false,
                created_at: T0,
                updated_at: T0,
            }],
            sessions: vec![SessionWrite::Insert(SessionRow {
                id_hash: vec![9; 32],
                username: "ana".into(),
                csrf: "csrf".into(),
                created_at: T0,
                expires_at: T0 + 3_600_000,
            })],
            ..Change::default()
        })
        .await
        .unwrap();
    store
        .swap_peer_checkpoint(
            None,
            &PeerCheckpointRow {
                origin: "peer.example/a".into(),
                size: 12,
                note: "peer.example/a\n12\nAAAA\n\n— peer.example/a abc\n".into(),
                updated_at: T0,
            },
        )
        .await
        .unwrap();
    store.add_alarm(&alarm("peer.example/b", T0)).await.unwrap();

    // The log's signed checkpoint, cosigned by a witness.
    let key = log_key();
    let head = store.log_head().await.unwrap();
    let signed = comity_tlog::sign_checkpoint(key.name(), head.size, head.root, &key).unwrap();
    let mut note = Note::parse(signed.as_bytes()).unwrap();
    let cosignature = witness_key().cosign(note.text(), 1_700_000_000).unwrap();
    note.add_signature(cosignature).unwrap();
    let note = note.to_text();
    store
        .swap_checkpoint(
            None,
            &CheckpointRow {
                size: head.size,
                note: note.clone(),
            },
        )
        .await
        .unwrap();

    let later: Vec<Vec<u8>> = (0..AFTER_CHECKPOINT)
        .map(|j| leaf(&format!("later-{j}")))
        .collect();
    entries.extend(later.clone());
    store
        .apply(&Change {
            leaves: later,
            audit: vec![audit("log_directory", None, T0 + 300)],
            ..Change::default()
        })
        .await
        .unwrap();
    (entries, note)
}

async fn write_backup(store: &AnyStore, path: &Path) -> Manifest {
    let file = std::fs::File::create(path).unwrap();
    let (out, manifest) = backup::backup(store, std::io::BufWriter::new(file), T0 + 1_000)
        .await
        .unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    manifest
}

/// What the store shows of a node, through the trait and the account reads.
async fn contents(store: &AnyStore) -> (conformance::Dump, Vec<UserRow>) {
    let ids = case_ids();
    let envs = envelope_ids();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let envs: Vec<&str> = envs.iter().map(String::as_str).collect();
    (dump(store, &ids, &envs).await, store.users().await.unwrap())
}

/// Populates `source`, backs it up, restores the backup into `target`, and checks that the
/// restored node is the same node and that its log verifies and continues.
async fn round_trip(source: AnyStore, target: Database, dir: PathBuf) {
    let (entries, old_note) = populate(&source).await;
    let old_size = (CASES * LEAVES_PER_CASE) as u64;
    let file = dir.join("node.backup");
    let manifest = write_backup(&source, &file).await;
    assert_eq!(manifest.format, "comity.backup/1");
    assert_eq!(manifest.backend, source.backend());
    assert_eq!(manifest.log.size, entries.len() as u64);
    assert_eq!(manifest.log.checkpoint_size, Some(old_size));
    assert_eq!(manifest.log.checkpoint.as_deref(), Some(old_note.as_str()));
    assert_eq!(manifest.rows["cases"], CASES as u64);
    assert_eq!(manifest.rows["events"], 2 * CASES as u64);
    assert_eq!(manifest.rows["items"], CASES as u64);
    assert_eq!(manifest.rows["outbox"], CASES as u64);
    assert_eq!(manifest.rows["inbound"], CASES as u64);
    assert_eq!(manifest.rows["audit"], CASES as u64 + 1);
    assert_eq!(manifest.rows["users"], 1);
    assert_eq!(manifest.rows["alarms"], 1);
    assert_eq!(manifest.rows["log_entries"], entries.len() as u64);
    assert!(!manifest.rows.contains_key("sessions"));

    let key = log_key();
    let vkey = key.verifier_key();
    assert_eq!(backup::verify(&file, Some(&vkey)).unwrap(), manifest);

    let restored = backup::restore(&target, &file, Some(&vkey)).await.unwrap();
    assert_eq!(restored.manifest, manifest);
    let store = AnyStore::open_database(&target).await.unwrap();
    assert_eq!(contents(&store).await, contents(&source).await);
    // Sessions are not restored: everyone logs in again.
    assert_eq!(store.session(&[9; 32]).await.unwrap(), None);
    assert!(source.session(&[9; 32]).await.unwrap().is_some());

    // The restored log is the same tree, tile for tile, and extends the old checkpoint.
    assert_log_is(&store, &entries).await;
    let files = published(&store, &key).await;
    let report = comity_tlog::audit(&files, &vkey, Some(old_note.as_bytes()), |_| {}).unwrap();
    assert_eq!(report.entries, entries.len() as u64);

    // The node goes on: more entries, a new checkpoint by compare-and-swap on the old one,
    // consistent with it.
    let more: Vec<Vec<u8>> = (0..40)
        .map(|j| leaf(&format!("after-restore-{j}")))
        .collect();
    store
        .apply(&Change {
            cases: vec![CaseWrite::Insert(case("c-new", "draft", T0 + 500))],
            events: vec![event("c-new", 1, "drafted")],
            audit: vec![audit("new_case", Some("c-new"), T0 + 500)],
            leaves: more.clone(),
            ..Change::default()
        })
        .await
        .unwrap();
    let head = store.log_head().await.unwrap();
    assert_eq!(head.size, (entries.len() + more.len()) as u64);
    let new_note = comity_tlog::sign_checkpoint(key.name(), head.size, head.root, &key).unwrap();
    store
        .swap_checkpoint(
            Some(old_size),
            &CheckpointRow {
                size: head.size,
                note: new_note.clone(),
            },
        )
        .await
        .unwrap();
    let mut files = published(&store, &key).await;
    files.insert("checkpoint".into(), new_note.into_bytes());
    let report = comity_tlog::audit(&files, &vkey, Some(old_note.as_bytes()), |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), head.size);
    // The audit trail goes on numbering after the restored entries.
    let trail = store.audit(0, u32::MAX).await.unwrap();
    assert_eq!(trail.len(), CASES + 2);
    assert_eq!(trail.last().unwrap().seq, (CASES + 2) as i64);

    store.close().await;
    source.close().await;
}

fn sqlite(dir: &Path, name: &str) -> Database {
    Database::Sqlite(dir.join(name))
}

// ---- PostgreSQL scratch databases ----

async fn scratch() -> Option<ScratchDatabase> {
    let server = comity_testkit::test_database_url();
    match ScratchDatabase::create(&server, "comity_backup_test").await {
        Ok(db) => Some(db),
        Err(e) => comity_testkit::skip_postgres(&e.to_string()),
    }
}

fn pg(db: &ScratchDatabase) -> Database {
    Database::Postgres {
        url: db.url().to_owned(),
        schema: None,
    }
}

/// Runs `test` with `n` scratch databases, dropping them afterwards whatever happened.
async fn with_databases<F, Fut>(n: usize, test: F)
where
    F: FnOnce(Vec<Database>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut dbs = Vec::new();
    for _ in 0..n {
        let Some(db) = scratch().await else {
            for db in dbs {
                ScratchDatabase::drop(db).await.unwrap();
            }
            return;
        };
        dbs.push(db);
    }
    let urls = dbs.iter().map(pg).collect();
    let outcome = tokio::spawn(test(urls)).await;
    for db in dbs {
        db.drop().await.unwrap();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let source = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
        .await
        .unwrap();
    round_trip(source, sqlite(dir.path(), "b.db"), dir.path().to_path_buf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres() {
    with_databases(2, |dbs| async move {
        let dir = tempfile::tempdir().unwrap();
        let source = AnyStore::open_database(&dbs[0]).await.unwrap();
        round_trip(source, dbs[1].clone(), dir.path().to_path_buf()).await;
    })
    .await;
}

/// A node that outgrew its VM: SQLite to PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres() {
    with_databases(1, |dbs| async move {
        let dir = tempfile::tempdir().unwrap();
        let source = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
            .await
            .unwrap();
        round_trip(source, dbs[0].clone(), dir.path().to_path_buf()).await;
    })
    .await;
}

/// And back: PostgreSQL to SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite() {
    with_databases(1, |dbs| async move {
        let dir = tempfile::tempdir().unwrap();
        let source = AnyStore::open_database(&dbs[0]).await.unwrap();
        round_trip(source, sqlite(dir.path(), "b.db"), dir.path().to_path_buf()).await;
    })
    .await;
}

// ---- refusals ----

/// The lines of a backup file, each without its newline.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Writes `lines` as a backup whose manifest's checksum is made to match again (a forgery
/// that only the log's own checks can catch).
fn forge(path: &Path, mut lines: Vec<String>) {
    let last = lines.pop().unwrap();
    let mut body = String::new();
    for line in &lines {
        body.push_str(line);
        body.push('\n');
    }
    let sha: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut manifest: serde_json::Value = serde_json::from_str(&last).unwrap();
    manifest["manifest"]["sha256"] = sha.into();
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(body.as_bytes()).unwrap();
    writeln!(f, "{manifest}").unwrap();
}

/// Nothing of a node is in the database.
async fn assert_empty(database: &Database) {
    let store = AnyStore::open_database(database).await.unwrap();
    assert_eq!(store.log_head().await.unwrap().size, 0);
    assert!(
        store
            .cases(&comity_store::CaseFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.users().await.unwrap().is_empty());
    assert!(store.audit(0, 10).await.unwrap().is_empty());
    assert_eq!(store.checkpoint().await.unwrap(), None);
    store.close().await;
}

/// Every damaged or misplaced backup is refused with a message that says what is wrong, and
/// the database restored into stays empty (or, if it held a node, unchanged). The source is
/// SQLite, in `dir/a.db`.
async fn refusals(source: AnyStore, target: Database, dir: PathBuf) {
    let (_, _) = populate(&source).await;
    let good = dir.join("good.backup");
    write_backup(&source, &good).await;
    let vkey = log_key().verifier_key();
    let original = lines(&good);

    let refused = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let check = |path: &Path, needle: &str| {
        let err = backup::verify(path, Some(&vkey)).unwrap_err().to_string();
        assert!(
            err.contains(needle),
            "{}: `{err}` lacks `{needle}`",
            path.display()
        );
    };

    // Truncated: cut in the middle of a line, and cut at a line's end.
    let whole = std::fs::read_to_string(&good).unwrap();
    let cut = refused("cut.backup", &whole.as_bytes()[..whole.len() / 2]);
    check(&cut, "truncated");
    let head: String = original[..original.len() / 2]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let short = refused("short.backup", head.as_bytes());
    check(&short, "truncated");
    // A changed row: the checksum.
    let mut damaged = original.clone();
    let i = damaged
        .iter()
        .position(|l| l.contains("\"cases\""))
        .unwrap();
    damaged[i] = damaged[i].replacen("\"state\":\"received\"", "\"state\":\"closed\"", 1);
    assert_ne!(damaged[i], original[i]);
    let bitrot = refused(
        "bitrot.backup",
        damaged
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .as_bytes(),
    );
    check(&bitrot, "checksum mismatch");
    // A changed log entry, even with the checksum forged: the tree no longer has the
    // checkpoint's root.
    let mut damaged = original.clone();
    let i = damaged
        .iter()
        .position(|l| l.contains("\"log_entries\""))
        .unwrap()
        + 3;
    damaged[i] = damaged[i].replacen("\"entry\":\"", "\"entry\":\"AAAA", 1);
    let forged = dir.join("forged.backup");
    forge(&forged, damaged);
    check(&forged, "but the signed checkpoint of size 360 states root");
    // A row removed, checksum forged: the counts.
    let mut fewer = original.clone();
    let i = fewer.iter().position(|l| l.contains("\"events\"")).unwrap();
    fewer.remove(i);
    let missing = dir.join("missing.backup");
    forge(&missing, fewer);
    check(
        &missing,
        "row counts differ: `events`: 59 rows, the manifest says 60",
    );
    // Another log's key.
    let other = SignerKey::from_seed("store.example/log", KeyType::Ed25519, &[6; 32]).unwrap();
    let err = backup::verify(&good, Some(&other.verifier_key()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("signature does not verify"), "{err}");
    // Not a backup at all.
    let text = refused("notes.txt", b"hello\n");
    check(&text, "not a comity backup");
    let future = refused(
        "future.backup",
        whole
            .replacen("comity.backup/1", "comity.backup/2", 1)
            .as_bytes(),
    );
    check(
        &future,
        "format `comity.backup/2`: this comity reads `comity.backup/1`",
    );

    for path in [&cut, &short, &bitrot, &forged, &missing, &text, &future] {
        assert!(backup::restore(&target, path, Some(&vkey)).await.is_err());
    }
    assert_empty(&target).await;

    // A backup that checks but cannot be written (an event of a case it does not hold): the
    // restore fails part-way, and its one transaction leaves nothing.
    let mut orphan = original.clone();
    let i = orphan
        .iter()
        .position(|l| l.contains("\"events\""))
        .unwrap();
    orphan[i] = orphan[i].replacen("\"case_id\":\"c-00\"", "\"case_id\":\"c-zz\"", 1);
    let orphan_path = dir.join("orphan.backup");
    forge(&orphan_path, orphan);
    backup::verify(&orphan_path, Some(&vkey)).unwrap();
    let err = backup::restore(&target, &orphan_path, Some(&vkey))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("restoring a row of `events`") && err.contains("nothing was written"),
        "{err}"
    );
    assert_empty(&target).await;

    // Into a database that holds a node (the source itself): refused, the node unchanged.
    let before = contents(&source).await;
    let err = backup::restore(&sqlite(&dir, "a.db"), &good, Some(&vkey))
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    assert!(
        err.to_string()
            .contains("is not empty (table `users` has rows)"),
        "{err}"
    );
    assert_eq!(contents(&source).await, before);
    // The good backup restores, once; a second restore finds the database in use.
    backup::restore(&target, &good, Some(&vkey)).await.unwrap();
    let err = backup::restore(&target, &good, Some(&vkey))
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::NotEmpty(_)), "{err}");
    let restored = AnyStore::open_database(&target).await.unwrap();
    assert_eq!(contents(&restored).await, before);
    restored.close().await;
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_backups_write_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let source = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
        .await
        .unwrap();
    refusals(source, sqlite(dir.path(), "b.db"), dir.path().to_path_buf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_backups_write_nothing_on_postgres() {
    with_databases(1, |dbs| async move {
        let dir = tempfile::tempdir().unwrap();
        let source = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
            .await
            .unwrap();
        refusals(source, dbs[0].clone(), dir.path().to_path_buf()).await;
    })
    .await;
}

/// A log whose rows do not hash to its own checkpoint is not backed up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_does_not_match_its_checkpoint_is_not_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
        .await
        .unwrap();
    store
        .apply(&Change {
            leaves: vec![leaf("a"), leaf("b")],
            ..Change::default()
        })
        .await
        .unwrap();
    let key = log_key();
    let wrong = comity_tlog::sign_checkpoint(
        key.name(),
        2,
        comity_tlog::hash_leaf(b"something else"),
        &key,
    )
    .unwrap();
    store
        .swap_checkpoint(
            None,
            &CheckpointRow {
                size: 2,
                note: wrong,
            },
        )
        .await
        .unwrap();
    let err = backup::backup(&store, Vec::new(), T0).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the log's first 2 entries hash to root"),
        "{err}"
    );
    store.close().await;
}

/// A backup taken while changes keep committing is one instant of the node: each change
/// wrote one case, one event, one audit entry and one leaf, and the backup holds as many of
/// each, its log verifying.
async fn snapshot_while_writing(source: AnyStore, target: Database) {
    let dir = tempfile::tempdir().unwrap();
    let source = Arc::new(source);
    let writer = {
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            for i in 0..400 {
                let id = format!("w-{i:03}");
                source
                    .apply(&Change {
                        cases: vec![CaseWrite::Insert(case(&id, "received", T0 + i))],
                        events: vec![event(&id, 1, "received")],
                        audit: vec![audit("receive", Some(&id), T0 + i)],
                        leaves: vec![leaf(&id)],
                        ..Change::default()
                    })
                    .await
                    .unwrap();
            }
        })
    };
    // Let the writer start, then back up in the middle of its run.
    while source.log_head().await.unwrap().size < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let file = dir.path().join("live.backup");
    let manifest = write_backup(&source, &file).await;
    writer.await.unwrap();
    let n = manifest.rows["cases"];
    assert!(n >= 50, "{manifest:?}");
    for table in ["events", "audit", "log_entries"] {
        assert_eq!(manifest.rows[table], n, "{table}: {manifest:?}");
    }
    backup::restore(&target, &file, None).await.unwrap();
    let restored = AnyStore::open_database(&target).await.unwrap();
    let cases = restored
        .cases(&comity_store::CaseFilter::default())
        .await
        .unwrap();
    assert_eq!(cases.len() as u64, n);
    for c in &cases {
        assert_eq!(restored.events(&c.id).await.unwrap().len(), 1, "{}", c.id);
    }
    assert_eq!(restored.log_head().await.unwrap().size, n);
    restored.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_while_writing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let source = AnyStore::open_database(&sqlite(dir.path(), "a.db"))
        .await
        .unwrap();
    snapshot_while_writing(source, sqlite(dir.path(), "b.db")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_while_writing_on_postgres() {
    with_databases(2, |dbs| async move {
        let source = AnyStore::open_database(&dbs[0]).await.unwrap();
        snapshot_while_writing(source, dbs[1].clone()).await;
    })
    .await;
}
