//! `comity migrate`: a node's database, created or brought up to the schema this binary
//! knows, on either backend. Replicas of a node migrate on start as well (PostgreSQL's
//! migrations take an advisory lock, so replicas starting together apply each migration once);
//! running it first, once, lets an operator see the upgrade happen before any replica serves.

use std::path::PathBuf;
use std::process::ExitCode;

use comity_store::AnyStore;
use serde_json::json;

use crate::cmd_node::{Failure, database_of, print_json, run_async};

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The node directory: its database is `DIR/node.db` unless --database-url names another.
    #[arg(long, value_name = "DIR", required_unless_present = "database_url")]
    node: Option<PathBuf>,
    /// The database: `sqlite://PATH` or `postgres://USER@HOST/DATABASE[?schema=NAME]`.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn migrate(args: MigrateArgs) -> ExitCode {
    let json = args.json;
    run_async(json, async move {
        let dir = args.node.clone().unwrap_or_default();
        let database = database_of(&dir, args.database_url.as_deref())?;
        let store = AnyStore::open_database(&database)
            .await
            .map_err(|e| Failure::failed(format!("cannot migrate {}: {e}", database.display())))?;
        let version = store
            .schema_version()
            .await
            .map_err(|e| Failure::failed(format!("{}: {e}", database.display())))?;
        store.close().await;
        if json {
            print_json(&json!({
                "database": database.display(),
                "backend": store.backend(),
                "schema_version": version,
            }));
        } else {
            crate::cmd_support::out(&format!(
                "{}: schema at version {version} ({})\n",
                database.display(),
                store.backend()
            ));
        }
        Ok(())
    })
}
