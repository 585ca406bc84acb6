//! Accounts and sessions in the SQLite store: written through `Store::apply` with the rest of
//! a change, read back by the web layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_store::faulty::FaultyStore;
use comity_store::sqlite::SqliteStore;
use comity_store::{AuditRow, Change, SessionRow, SessionWrite, Store, StoreError, UserRow};
use serde_json::json;

fn user(name: &str, role: &str) -> UserRow {
    UserRow {
        username: name.to_owned(),
        display_name: format!("{name} (display)"),
        role: role.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        disabled: false,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

fn session(id: u8, name: &str) -> SessionRow {
    SessionRow {
        id_hash: vec![id; 32],
        username: name.to_owned(),
        csrf: format!("csrf-{id}"),
        created_at: 2_000,
        expires_at: 10_000,
    }
}

fn users(rows: Vec<UserRow>) -> Change {
    Change {
        users: rows,
        ..Change::default()
    }
}

fn sessions(writes: Vec<SessionWrite>) -> Change {
    Change {
        sessions: writes,
        ..Change::default()
    }
}

#[tokio::test]
async fn accounts_are_upserted_and_keep_their_creation_time() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert_eq!(store.user("ana").await.unwrap(), None);
    store
        .apply(&users(vec![
            user("ana", "officer"),
            user("sam", "supervisor"),
        ]))
        .await
        .unwrap();
    assert_eq!(
        store.user("ana").await.unwrap(),
        Some(user("ana", "officer"))
    );
    let mut changed = user("ana", "auditor");
    changed.created_at = 5_000;
    changed.updated_at = 5_000;
    changed.disabled = true;
    store.apply(&users(vec![changed])).await.unwrap();
    let ana = store.user("ana").await.unwrap().unwrap();
    assert_eq!((ana.role.as_str(), ana.disabled), ("auditor", true));
    assert_eq!((ana.created_at, ana.updated_at), (1_000, 5_000));
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["ana", "sam"]);
}

#[tokio::test]
async fn an_unknown_role_is_refused_and_nothing_of_the_change_is_written() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let change = Change {
        users: vec![user("ana", "officer"), user("eve", "root")],
        audit: vec![AuditRow {
            seq: 0,
            at: 1,
            actor: "admin".into(),
            action: "user.add".into(),
            case_id: None,
            data: json!({}),
        }],
        ..Change::default()
    };
    let err = store.apply(&change).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(store.user("ana").await.unwrap(), None);
    assert!(store.audit(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn sessions_open_once_and_end_by_id_by_user_and_by_expiry() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .apply(&users(vec![
            user("ana", "officer"),
            user("sam", "supervisor"),
        ]))
        .await
        .unwrap();
    store
        .apply(&sessions(vec![
            SessionWrite::Insert(session(1, "ana")),
            SessionWrite::Insert(session(2, "ana")),
            SessionWrite::Insert(session(3, "sam")),
        ]))
        .await
        .unwrap();
    assert_eq!(
        store.session(&[1; 32]).await.unwrap(),
        Some(session(1, "ana"))
    );
    // The same id twice is a conflict: a session is never taken over by a new login.
    let err = store
        .apply(&sessions(vec![SessionWrite::Insert(session(1, "sam"))]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // A session of nobody is refused (foreign key).
    assert!(
        store
            .apply(&sessions(vec![SessionWrite::Insert(session(9, "nobody"))]))
            .await
            .is_err()
    );
    store
        .apply(&sessions(vec![SessionWrite::Delete {
            id_hash: vec![1; 32],
        }]))
        .await
        .unwrap();
    assert_eq!(store.session(&[1; 32]).await.unwrap(), None);
    store
        .apply(&sessions(vec![SessionWrite::DeleteOfUser {
            username: "ana".into(),
        }]))
        .await
        .unwrap();
    assert_eq!(store.session(&[2; 32]).await.unwrap(), None);
    assert!(store.session(&[3; 32]).await.unwrap().is_some());
    store
        .apply(&sessions(vec![SessionWrite::DeleteExpired { now: 10_000 }]))
        .await
        .unwrap();
    assert_eq!(store.session(&[3; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn a_fault_at_any_write_leaves_no_account_and_no_session() {
    let store = FaultyStore::new(SqliteStore::open_in_memory().await.unwrap());
    let change = Change {
        users: vec![user("ana", "officer")],
        sessions: vec![SessionWrite::Insert(session(1, "ana"))],
        ..Change::default()
    };
    assert_eq!(change.write_count(), 2);
    for i in 0..change.write_count() {
        store.fail_at(i);
        assert!(store.apply(&change).await.is_err());
        assert_eq!(store.inner().user("ana").await.unwrap(), None);
        assert_eq!(store.inner().session(&[1; 32]).await.unwrap(), None);
    }
    store.clear();
    store.apply(&change).await.unwrap();
    assert!(store.inner().session(&[1; 32]).await.unwrap().is_some());
}
