//! The administrator's pages (role `admin`, [`Action::ManageUsers`]): the node's accounts —
//! list, add, change a role, disable or enable, reset a password, by the same rules as
//! `comity user` ([`Auth::put_user`]: username and password rules, a disabled account or a new
//! password ends its sessions) — and the signed directory of authorities.
//!
//! The directory is never edited here: a version is valid only when the previous version's
//! maintainers signed it (docs/protocol.md), which `comity directory add|sign` does on the
//! maintainers' own machines. The page shows the version the node runs with (its hash, the
//! previous version's, maintainers, signatures and every key's fingerprint) and takes a newer
//! signed version: it is checked as the successor of the running one
//! ([`Directory::verify_successor`]) and, if asked, installed in the file the node reads as it
//! starts (the version before it kept beside it), to take effect at the next start, when the
//! node logs the change.
//!
//! Every action is audited: accounts by [`Auth::put_user`], directory checks and installs here.

use std::path::{Path as FsPath, PathBuf};

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use comity_node::{Clock, Entropy, Node};
use comity_protocol::{Directory, VerifiedDirectory};
use comity_store::{AuditRow, Change, Store, UserRow};
use serde_json::json;

use crate::auth::{AccountError, Action, Actor, Auth, Role, check_username};
use crate::i18n::Messages;
use crate::ui::{
    Chrome, Fields, Lang, MaybeActor, Shared, UiOptions, chrome, csrf_ok, csrf_refused, message,
    page, require,
};

/// The administrator's routes (merged into [`crate::ui::router`]).
pub fn routes<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>()
-> Router<Shared<S, C, E>> {
    Router::new()
        .route("/admin", get(users_page::<S, C, E>))
        .route("/admin/users", post(add_user::<S, C, E>))
        .route("/admin/users/{username}/role", post(set_role::<S, C, E>))
        .route("/admin/users/{username}/disable", post(disable::<S, C, E>))
        .route("/admin/users/{username}/enable", post(enable::<S, C, E>))
        .route(
            "/admin/users/{username}/password",
            post(reset_password::<S, C, E>),
        )
        .route("/admin/directory", get(directory_page::<S, C, E>))
        .route("/admin/directory", post(load_directory::<S, C, E>))
}

// ----- the words of these pages ----------------------------------------------------------------

/// The texts of the administrator's pages, in every language of [`crate::i18n::CATALOGUE`].
#[derive(Debug)]
pub struct AdminText {
    pub lang: &'static str,
    pub accounts: &'static str,
    pub intro: &'static str,
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
    pub status: &'static str,
    pub active: &'static str,
    pub disabled: &'static str,
    pub actions: &'static str,
    pub change_role: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
    pub new_password: &'static str,
    pub password_hint: &'static str,
    pub reset_password: &'static str,
    pub add: &'static str,
    pub add_account: &'static str,
    pub generated: &'static str,
    pub generated_once: &'static str,
    pub directory: &'static str,
    pub directory_intro: &'static str,
    pub running: &'static str,
    pub network: &'static str,
    pub version: &'static str,
    pub issued: &'static str,
    pub hash: &'static str,
    pub previous: &'static str,
    pub threshold: &'static str,
    pub maintainers: &'static str,
    pub signatures: &'static str,
    pub authorities: &'static str,
    pub keys: &'static str,
    pub staged: &'static str,
    pub staged_note: &'static str,
    pub load: &'static str,
    pub load_hint: &'static str,
    pub signed_version: &'static str,
    pub check: &'static str,
    pub install: &'static str,
    pub checked_ok: &'static str,
    pub installed: &'static str,
    pub no_file: &'static str,
    pub saved: &'static str,
}

pub static ADMIN_EN: AdminText = AdminText {
    lang: "en",
    accounts: "Accounts",
    intro: "The people of this authority who may use this node. A new password or a disabled account ends the account's sessions. Every change is in the audit trail.",
    username: "Username",
    display_name: "Name shown",
    role: "Role",
    status: "Status",
    active: "active",
    disabled: "disabled",
    actions: "Actions",
    change_role: "Change the role",
    disable: "Disable",
    enable: "Enable",
    new_password: "New password",
    password_hint: "At least 12 characters; leave empty to draw one at random (shown once).",
    reset_password: "Reset the password",
    add: "Add",
    add_account: "Add an account",
    generated: "New password of",
    generated_once: "It is shown only now: hand it over by a safe channel.",
    directory: "Directory of authorities",
    directory_intro: "The signed directory this node runs with. Versions are signed by the maintainers with `comity directory sign`; this page never edits one, it checks a newer signed version and installs it for the node's next start.",
    running: "Version running",
    network: "Network",
    version: "Version",
    issued: "Issued",
    hash: "Hash (SHA-256 of the canonical body)",
    previous: "Previous version's hash",
    threshold: "Signatures required",
    maintainers: "Maintainers",
    signatures: "Signatures (authority, key)",
    authorities: "Authorities and their key fingerprints",
    keys: "Keys",
    staged: "Installed for the next start",
    staged_note: "The node runs with the version above until it is restarted; it then logs the change.",
    load: "Load a newer signed version",
    load_hint: "Paste the signed directory file (JSON). It must follow the running version: name its hash, add one to its version, keep every key, and carry the signatures of the running version's maintainers.",
    signed_version: "Signed directory version (JSON)",
    check: "Check",
    install: "Check and install for the next start",
    checked_ok: "is a valid successor of the running version.",
    installed: "is installed; it takes effect when the node is restarted.",
    no_file: "This node was not started from a directory file: the version can be checked, not installed.",
    saved: "Saved.",
};

pub static ADMIN_FR: AdminText = AdminText {
    lang: "fr",
    accounts: "Comptes",
    intro: "Les personnes de cette autorité qui peuvent utiliser ce nœud. Un nouveau mot de passe ou un compte désactivé met fin aux sessions du compte. Chaque modification figure au journal d’audit.",
    username: "Identifiant",
    display_name: "Nom affiché",
    role: "Rôle",
    status: "État",
    active: "actif",
    disabled: "désactivé",
    actions: "Actions",
    change_role: "Changer le rôle",
    disable: "Désactiver",
    enable: "Réactiver",
    new_password: "Nouveau mot de passe",
    password_hint: "Au moins 12 caractères ; laisser vide pour en tirer un au hasard (affiché une seule fois).",
    reset_password: "Réinitialiser le mot de passe",
    add: "Ajouter",
    add_account: "Ajouter un compte",
    generated: "Nouveau mot de passe de",
    generated_once: "Il n’est affiché que maintenant : transmettez-le par un canal sûr.",
    directory: "Annuaire des autorités",
    directory_intro: "L’annuaire signé avec lequel ce nœud fonctionne. Les versions sont signées par les mainteneurs avec `comity directory sign` ; cette page n’en modifie aucune, elle vérifie une version signée plus récente et l’installe pour le prochain démarrage du nœud.",
    running: "Version en service",
    network: "Réseau",
    version: "Version",
    issued: "Émise le",
    hash: "Empreinte (SHA-256 du corps canonique)",
    previous: "Empreinte de la version précédente",
    threshold: "Signatures requises",
    maintainers: "Mainteneurs",
    signatures: "Signatures (autorité, clé)",
    authorities: "Autorités et empreintes de leurs clés",
    keys: "Clés",
    staged: "Installée pour le prochain démarrage",
    staged_note: "Le nœud fonctionne avec la version ci-dessus jusqu’à son redémarrage ; il journalise alors le changement.",
    load: "Charger une version signée plus récente",
    load_hint: "Collez le fichier d’annuaire signé (JSON). Il doit suivre la version en service : en citer l’empreinte, en augmenter la version de un, conserver toutes les clés et porter les signatures des mainteneurs de la version en service.",
    signed_version: "Version signée de l’annuaire (JSON)",
    check: "Vérifier",
    install: "Vérifier et installer pour le prochain démarrage",
    checked_ok: "suit valablement la version en service.",
    installed: "est installée ; elle prendra effet au redémarrage du nœud.",
    no_file: "Ce nœud n’a pas été démarré depuis un fichier d’annuaire : la version peut être vérifiée, non installée.",
    saved: "Enregistré.",
};

/// Every language of the administrator's pages.
pub static ADMIN_CATALOGUE: [&AdminText; 2] = [&ADMIN_EN, &ADMIN_FR];

/// The administrator's texts in the language of `t`.
pub fn admin_text(t: &Messages) -> &'static AdminText {
    ADMIN_CATALOGUE
        .iter()
        .copied()
        .find(|a| a.lang == t.lang)
        .unwrap_or(&ADMIN_EN)
}

// ----- accounts --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    a: &'static AdminText,
    users: Vec<UserModel>,
    roles: Vec<&'static str>,
    generated: Option<(String, String)>,
    notice: Option<String>,
    form_username: String,
    form_name: String,
    form_role: String,
}

struct UserModel {
    username: String,
    display_name: String,
    role: String,
    roles: Vec<(&'static str, bool)>,
    disabled: bool,
    me: bool,
}

/// What the accounts page shows besides the list.
#[derive(Default)]
struct Shown {
    status: Option<StatusCode>,
    error: Option<String>,
    notice: Option<String>,
    generated: Option<(String, String)>,
    form: Option<(String, String, String)>,
}

async fn render_users<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    auth: &Auth,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    shown: Shown,
) -> Response {
    let mut c = chrome(node, Some(actor), t, options, "/admin");
    c.error = shown.error;
    let users: Vec<UserRow> = match auth.store().users().await {
        Ok(u) => u,
        Err(e) => {
            return message(
                c,
                StatusCode::INTERNAL_SERVER_ERROR,
                "500",
                &format!("the accounts cannot be read now: {e}"),
            );
        }
    };
    let users = users
        .into_iter()
        .map(|u| UserModel {
            roles: Role::ALL
                .iter()
                .map(|r| (r.as_str(), r.as_str() == u.role))
                .collect(),
            me: u.username == actor.username,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            disabled: u.disabled,
        })
        .collect();
    let (form_username, form_name, form_role) = shown
        .form
        .unwrap_or_else(|| (String::new(), String::new(), "officer".to_owned()));
    page(
        shown.status.unwrap_or(StatusCode::OK),
        &UsersPage {
            chrome: c,
            a: admin_text(t),
            users,
            roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
            generated: shown.generated,
            notice: shown.notice,
            form_username,
            form_name,
            form_role,
        },
    )
}

async fn users_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(auth): Extension<Auth>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::ManageUsers, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_users(&node, &auth, &actor, t, &options, Shown::default()).await
}

/// The admin allowed to manage accounts, whose form carries the session's CSRF token.
// The error is the page to answer with.
#[allow(clippy::result_large_err)]
fn admin_form<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    form: &Fields,
    headers: &HeaderMap,
) -> Result<Actor, Response> {
    let actor = require(node, actor, Action::ManageUsers, t, options)?;
    if !csrf_ok(&actor, form, headers) {
        return Err(csrf_refused(node, &actor, t, options));
    }
    Ok(actor)
}

fn field(form: &Fields, name: &str) -> String {
    form.get_str(name).unwrap_or_default().trim().to_owned()
}

/// A random password like `comity user`'s: 18 characters of base64url (108 bits).
fn random_password(auth: &Auth) -> String {
    auth.token().chars().take(18).collect()
}

fn bad(e: &AccountError) -> (StatusCode, String) {
    match e {
        AccountError::BadInput(m) => (StatusCode::BAD_REQUEST, m.clone()),
        AccountError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m.clone()),
    }
}

async fn add_user<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(auth): Extension<Auth>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match admin_form(&node, actor, t, &options, &form, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let username = field(&form, "username");
    let name = field(&form, "display_name");
    let role_text = field(&form, "role");
    let keep = Some((username.clone(), name.clone(), role_text.clone()));
    let refuse = |status: StatusCode, error: String| Shown {
        status: Some(status),
        error: Some(error),
        form: keep.clone(),
        ..Shown::default()
    };
    let result: Result<Option<String>, (StatusCode, String)> = async {
        check_username(&username).map_err(|e| bad(&e))?;
        let role = Role::parse(&role_text).ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!("role `{role_text}`: expected officer, supervisor, auditor or admin"),
            )
        })?;
        if auth
            .store()
            .user(&username)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .is_some()
        {
            return Err((
                StatusCode::CONFLICT,
                format!("username `{username}`: the account exists (change it in the list)"),
            ));
        }
        let given = form.get_str("password").unwrap_or_default().to_owned();
        let (password, generated) = if given.is_empty() {
            (random_password(&auth), true)
        } else {
            (given, false)
        };
        let shown_name = if name.is_empty() { &username } else { &name };
        auth.put_user(
            &actor.username,
            &username,
            shown_name,
            role,
            Some(&password),
            false,
        )
        .await
        .map_err(|e| bad(&e))?;
        Ok(generated.then_some(password))
    }
    .await;
    let shown = match result {
        Ok(generated) => Shown {
            notice: Some(format!("{}: {username}", admin_text(t).saved)),
            generated: generated.map(|p| (username.clone(), p)),
            ..Shown::default()
        },
        Err((status, error)) => refuse(status, error),
    };
    render_users(&node, &auth, &actor, t, &options, shown).await
}

/// What to change of an existing account.
enum Edit {
    Role,
    Disable,
    Enable,
    Password,
}

// What an edit needs of the request, as the handlers extracted it.
#[allow(clippy::too_many_arguments)]
async fn edit<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    auth: &Auth,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    headers: &HeaderMap,
    form: &Fields,
    username: &str,
    what: Edit,
) -> Response {
    let actor = match admin_form(node, actor, t, options, form, headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result: Result<Option<String>, (StatusCode, String)> = async {
        let user = auth
            .store()
            .user(username)
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| {
                (
                    StatusCode::NOT_FOUND,
                    format!("username `{username}`: no such account"),
                )
            })?;
        let current = Role::parse(&user.role).ok_or_else(|| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("account `{username}`: unknown role `{}`", user.role),
            )
        })?;
        let mine = user.username == actor.username;
        let (role, password, disabled) = match what {
            Edit::Role => {
                let text = field(form, "role");
                let role = Role::parse(&text).ok_or_else(|| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("role `{text}`: expected officer, supervisor, auditor or admin"),
                    )
                })?;
                if mine && role != Role::Admin {
                    return Err((
                        StatusCode::CONFLICT,
                        "role: an administrator cannot take away their own role here (another administrator, or `comity user set`, can)".to_owned(),
                    ));
                }
                (role, None, user.disabled)
            }
            Edit::Disable => {
                if mine {
                    return Err((
                        StatusCode::CONFLICT,
                        "disable: an administrator cannot disable their own account here".to_owned(),
                    ));
                }
                (current, None, true)
            }
            Edit::Enable => (current, None, false),
            Edit::Password => {
                let given = form.get_str("password").unwrap_or_default().to_owned();
                let p = if given.is_empty() {
                    random_password(auth)
                } else {
                    given
                };
                (current, Some(p), user.disabled)
            }
        };
        auth.put_user(
            &actor.username,
            username,
            &user.display_name,
            role,
            password.as_deref(),
            disabled,
        )
        .await
        .map_err(|e| bad(&e))?;
        // A password typed by the administrator is not shown again; a drawn one is, once.
        let drawn = form.get_str("password").unwrap_or_default().is_empty();
        Ok(password.filter(|_| drawn))
    }
    .await;
    let shown = match result {
        Ok(generated) => Shown {
            notice: Some(format!("{}: {username}", admin_text(t).saved)),
            generated: generated.map(|p| (username.to_owned(), p)),
            ..Shown::default()
        },
        Err((status, error)) => Shown {
            status: Some(status),
            error: Some(error),
            ..Shown::default()
        },
    };
    render_users(node, auth, &actor, t, options, shown).await
}

macro_rules! edit_handler {
    ($name:ident, $what:expr) => {
        // An axum handler: one argument per extractor.
        #[allow(clippy::too_many_arguments)]
        async fn $name<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
            State(node): State<Shared<S, C, E>>,
            Extension(auth): Extension<Auth>,
            Extension(options): Extension<UiOptions>,
            MaybeActor(actor): MaybeActor,
            Lang(t): Lang,
            Path(username): Path<String>,
            headers: HeaderMap,
            Form(form): Form<Vec<(String, String)>>,
        ) -> Response {
            edit(
                &node,
                &auth,
                actor,
                t,
                &options,
                &headers,
                &Fields(form),
                &username,
                $what,
            )
            .await
        }
    };
}

edit_handler!(set_role, Edit::Role);
edit_handler!(disable, Edit::Disable);
edit_handler!(enable, Edit::Enable);
edit_handler!(reset_password, Edit::Password);

// ----- the directory ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_directory.html")]
struct DirectoryAdminPage {
    chrome: Chrome,
    a: &'static AdminText,
    running: VersionModel,
    staged: Option<VersionModel>,
    can_install: bool,
    notice: Option<String>,
    pasted: String,
}

struct VersionModel {
    network: String,
    version: u64,
    issued: String,
    hash: String,
    previous: String,
    threshold: u64,
    maintainers: Vec<String>,
    signatures: Vec<String>,
    authorities: Vec<AuthorityKeys>,
}

struct AuthorityKeys {
    id: String,
    name: String,
    party: String,
    role: String,
    keys: Vec<String>,
}

fn key_state<K>(k: &comity_protocol::directory::KeyRecord<K>) -> String {
    match (k.rotated, k.revoked) {
        (_, Some(at)) => format!(" (revoked {at})"),
        (Some(at), None) => format!(" (rotated {at})"),
        (None, None) => " (active)".to_owned(),
    }
}

fn version_model(d: &VerifiedDirectory) -> VersionModel {
    let dir = d.directory();
    VersionModel {
        network: dir.network.to_string(),
        version: dir.version,
        issued: dir.issued.to_string(),
        hash: d.hash().to_string(),
        previous: dir
            .previous
            .map_or_else(|| "—".to_owned(), |h| h.to_string()),
        threshold: dir.threshold,
        maintainers: dir.maintainers.iter().map(ToString::to_string).collect(),
        signatures: dir
            .signatures
            .iter()
            .map(|s| format!("{} — {}", s.authority, s.kid))
            .collect(),
        authorities: dir
            .authorities
            .iter()
            .map(|a| {
                let mut keys: Vec<String> = Vec::new();
                for k in &a.signing_keys {
                    keys.push(format!("signing {}{}", k.kid, key_state(k)));
                }
                for k in &a.encryption_keys {
                    keys.push(format!("encryption {}{}", k.kid, key_state(k)));
                }
                for f in &a.tls_fingerprints {
                    keys.push(format!("TLS certificate SHA-256 {f}"));
                }
                if let Some(v) = &a.log_vkey {
                    keys.push(format!("log {v}"));
                }
                if let Some(v) = &a.witness_vkey {
                    keys.push(format!("witness {v}"));
                }
                AuthorityKeys {
                    id: a.id.to_string(),
                    name: a.name.to_string(),
                    party: a.party.to_string(),
                    role: a.role.to_string(),
                    keys,
                }
            })
            .collect(),
    }
}

/// The version installed in the node's directory file for its next start, if it is newer
/// than the running one and follows it.
fn staged(file: Option<&FsPath>, running: &VerifiedDirectory) -> Option<VerifiedDirectory> {
    let bytes = std::fs::read(file?).ok()?;
    let d = Directory::from_bytes(&bytes).ok()?;
    if d.version <= running.directory().version {
        return None;
    }
    d.verify_successor(running).ok()
}

// The page and what to say on it.
#[allow(clippy::too_many_arguments)]
fn render_directory<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
    pasted: String,
) -> Response {
    let mut c = chrome(node, Some(actor), t, options, "/admin/directory");
    c.error = error;
    let running = node.directory();
    page(
        status,
        &DirectoryAdminPage {
            chrome: c,
            a: admin_text(t),
            running: version_model(running),
            staged: staged(options.directory_file.as_deref(), running).map(|d| version_model(&d)),
            can_install: options.directory_file.is_some(),
            notice,
            pasted,
        },
    )
}

async fn directory_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::ManageUsers, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_directory(
        &node,
        &actor,
        t,
        &options,
        StatusCode::OK,
        None,
        None,
        String::new(),
    )
}

/// The largest directory pasted into the form.
const MAX_PASTED: usize = 4 * 1024 * 1024;

async fn load_directory<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match admin_form(&node, actor, t, &options, &form, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let a = admin_text(t);
    let text = form
        .get_str("directory")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let install = form.get_str("install").is_some();
    let running = node.directory();
    let outcome: Result<(VerifiedDirectory, bool), (StatusCode, String)> = (|| {
        if text.is_empty() {
            return Err((
                StatusCode::BAD_REQUEST,
                "directory: paste a signed directory version (JSON)".to_owned(),
            ));
        }
        if text.len() > MAX_PASTED {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("directory: larger than {MAX_PASTED} bytes"),
            ));
        }
        let d = Directory::from_bytes(text.as_bytes())
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("directory: {e}")))?;
        let v = d
            .verify_successor(running)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("directory: {e}")))?;
        if !install {
            return Ok((v, false));
        }
        let Some(file) = options.directory_file.as_deref() else {
            return Err((StatusCode::CONFLICT, format!("directory: {}", a.no_file)));
        };
        install_version(file, running, &v)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("directory: {e}")))?;
        Ok((v, true))
    })();
    let (action, data, status, error, notice) = match &outcome {
        Ok((v, installed)) => {
            let d = v.directory();
            (
                if *installed {
                    "directory.install"
                } else {
                    "directory.check"
                },
                json!({"network": d.network.to_string(), "version": d.version, "hash": v.hash().to_string(), "running": running.directory().version, "valid": true}),
                StatusCode::OK,
                None,
                Some(format!(
                    "{} {} {}",
                    a.version,
                    d.version,
                    if *installed {
                        a.installed
                    } else {
                        a.checked_ok
                    }
                )),
            )
        }
        Err((status, e)) => (
            if install {
                "directory.install"
            } else {
                "directory.check"
            },
            json!({"running": running.directory().version, "valid": false, "reason": e}),
            *status,
            Some(e.clone()),
            None,
        ),
    };
    let change = Change {
        audit: vec![AuditRow {
            seq: 0,
            at: node.now().as_millisecond(),
            actor: actor.username.clone(),
            action: action.to_owned(),
            case_id: None,
            data,
        }],
        ..Change::default()
    };
    if let Err(e) = node.store().apply(&change).await {
        return message(
            chrome(&node, Some(&actor), t, &options, "/admin/directory"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            &format!("the audit trail cannot be written now, so nothing was done: {e}"),
        );
    }
    let pasted = if outcome.is_ok() { String::new() } else { text };
    render_directory(&node, &actor, t, &options, status, error, notice, pasted)
}

/// Writes `next` to `file` (atomically), keeping the running version's bytes beside it as
/// `<file>.v<version>`.
fn install_version(
    file: &FsPath,
    running: &VerifiedDirectory,
    next: &VerifiedDirectory,
) -> Result<(), String> {
    let old = running
        .directory()
        .to_bytes()
        .map_err(|e| format!("encoding the running version: {e}"))?;
    let keep = with_suffix(file, &format!(".v{}", running.directory().version));
    write_atomically(&keep, &old)?;
    let bytes = next
        .directory()
        .to_bytes()
        .map_err(|e| format!("encoding the new version: {e}"))?;
    write_atomically(file, &bytes)
}

fn with_suffix(file: &FsPath, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn write_atomically(path: &FsPath, bytes: &[u8]) -> Result<(), String> {
    let tmp = with_suffix(path, ".tmp~");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
