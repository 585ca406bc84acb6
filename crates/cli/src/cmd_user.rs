//! `comity user`: the accounts of a node's people — officers, supervisors (who may decide
//! refusals), auditors (read-only) and administrators (accounts, directory). Passwords are
//! hashed with argon2id; a password is read from standard input (`--password-stdin`) or, if
//! none is given, drawn at random and printed once.

// The generated password is printed for the operator to hand over.
#![allow(clippy::print_stdout)]

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use base64::Engine as _;
use comity_store::AnyStore;
use comity_web::{Auth, AuthConfig, Role};

use crate::cmd_node::{Failure, NodeArgs, NodeHandle, OsEntropy, SystemClock};

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Add an account (refused if the username is taken).
    Add {
        #[command(flatten)]
        node: NodeArgs,
        /// 1 to 64 of a-z, 0-9, `.`, `_`, `-`.
        username: String,
        /// officer, supervisor, auditor or admin.
        #[arg(long)]
        role: String,
        /// The name shown in the UI (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (else one is generated and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account: role, name, password, or disable it (which ends its sessions).
    Set {
        #[command(flatten)]
        node: NodeArgs,
        username: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Read a new password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Draw a new random password and print it.
        #[arg(long, conflicts_with = "password_stdin")]
        new_password: bool,
        #[arg(long)]
        disable: bool,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
    },
    /// List the accounts (never their passwords).
    List {
        #[command(flatten)]
        node: NodeArgs,
    },
}

/// A random password: 18 characters of base64url (108 bits).
pub fn random_password() -> Result<String, Failure> {
    let mut b = [0u8; 14];
    getrandom::fill(&mut b)
        .map_err(|e| Failure::failed(format!("the operating system gave no randomness: {e}")))?;
    let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Ok(s.chars().take(18).collect())
}

/// The authentication of a node's store, for commands (cookies do not matter here).
pub fn auth_of(store: AnyStore, node_id: &str) -> Result<Auth, Failure> {
    let clock = SystemClock::new(None)?;
    let entropy = OsEntropy::new()?;
    Auth::new(
        store,
        Arc::new(clock),
        Arc::new(entropy),
        AuthConfig {
            node_id: node_id.to_owned(),
            secure_cookies: false,
            trust_officer_header: false,
        },
    )
    .map_err(|e| Failure::failed(e.to_string()))
}

fn role(s: &str) -> Result<Role, Failure> {
    Role::parse(s).ok_or_else(|| {
        Failure::bad_input(format!(
            "role `{s}`: expected officer, supervisor, auditor or admin"
        ))
    })
}

fn stdin_password() -> Result<String, Failure> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| Failure::bad_input(format!("reading the password: {e}")))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

/// Who runs the command, for the audit trail.
fn operator() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    )
}

async fn run_async(cmd: UserCommand) -> Result<(), Failure> {
    match cmd {
        UserCommand::Add {
            node,
            username,
            role: r,
            name,
            password_stdin,
        } => {
            let r = role(&r)?;
            let handle = NodeHandle::open(&node).await?;
            let store = handle.node.store().clone();
            if store
                .user(&username)
                .await
                .map_err(|e| Failure::failed(e.to_string()))?
                .is_some()
            {
                return Err(Failure::bad_input(format!(
                    "user `{username}` exists: use `comity user set`"
                )));
            }
            let (password, generated) = if password_stdin {
                (stdin_password()?, false)
            } else {
                (random_password()?, true)
            };
            let auth = auth_of(store, &handle.node.id().to_string())?;
            auth.put_user(
                &operator(),
                &username,
                name.as_deref().unwrap_or(&username),
                r,
                Some(&password),
                false,
            )
            .await
            .map_err(account_failure)?;
            if generated {
                println!("added {username} ({r}); password: {password}");
            } else {
                println!("added {username} ({r})");
            }
            Ok(())
        }
        UserCommand::Set {
            node,
            username,
            role: r,
            name,
            password_stdin,
            new_password,
            disable,
            enable,
        } => {
            let handle = NodeHandle::open(&node).await?;
            let store = handle.node.store().clone();
            let Some(user) = store
                .user(&username)
                .await
                .map_err(|e| Failure::failed(e.to_string()))?
            else {
                return Err(Failure::bad_input(format!("no user `{username}`")));
            };
            let r = match r {
                Some(r) => role(&r)?,
                None => role(&user.role)?,
            };
            let password = if password_stdin {
                Some(stdin_password()?)
            } else if new_password {
                Some(random_password()?)
            } else {
                None
            };
            let disabled = if disable {
                true
            } else if enable {
                false
            } else {
                user.disabled
            };
            let auth = auth_of(store, &handle.node.id().to_string())?;
            auth.put_user(
                &operator(),
                &username,
                name.as_deref().unwrap_or(&user.display_name),
                r,
                password.as_deref(),
                disabled,
            )
            .await
            .map_err(account_failure)?;
            match (new_password, password) {
                (true, Some(p)) => println!("changed {username}; new password: {p}"),
                _ => println!("changed {username}"),
            }
            Ok(())
        }
        UserCommand::List { node } => {
            let handle = NodeHandle::open(&node).await?;
            let users = handle
                .node
                .store()
                .users()
                .await
                .map_err(|e| Failure::failed(e.to_string()))?;
            for u in users {
                println!(
                    "{:<24} {:<10} {}{}",
                    u.username,
                    u.role,
                    u.display_name,
                    if u.disabled { " (disabled)" } else { "" }
                );
            }
            Ok(())
        }
    }
}

fn account_failure(e: comity_web::auth::AccountError) -> Failure {
    match e {
        comity_web::auth::AccountError::BadInput(m) => Failure::bad_input(m),
        comity_web::auth::AccountError::Internal(m) => Failure::failed(m),
    }
}

pub fn run(cmd: UserCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    match runtime.block_on(run_async(cmd)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}
