//! Scratch PostgreSQL databases, for tests and benchmarks that need a database of their own:
//! [`ScratchDatabase::create`] makes a uniquely named one on a server, [`ScratchDatabase::drop`]
//! removes it. Names carry a prefix and the creating process's id, so that each creation also
//! drops the databases of its prefix left behind by processes that no longer run (a test that
//! was killed before it could clean up).

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::StoreError;
use crate::postgres::redact;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How long to wait for the server before reporting it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database created for one test or run; [`ScratchDatabase::drop`] removes it.
#[derive(Debug)]
pub struct ScratchDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Connects to the server of `server_url` (a URL of a database that exists, used only to
    /// issue `CREATE DATABASE` and `DROP DATABASE`), drops the databases named `<prefix>_<pid>_…`
    /// whose process is gone, and creates a new one. `prefix` is lower-case ASCII letters,
    /// digits and `_`.
    pub async fn create(server_url: &str, prefix: &str) -> Result<Self, StoreError> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Backend(format!(
                "scratch database prefix `{prefix}`: use lower-case ASCII letters, digits, `_`"
            )));
        }
        let mut admin = admin(server_url).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
        )
        .bind(format!("{prefix}_"))
        .fetch_all(&mut admin)
        .await
        .map_err(backend)?;
        for stale in names.iter().filter(|n| is_stale(n, prefix)) {
            // Another process may be dropping it too: whoever loses finds it gone.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{stale}\" WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .map_err(backend)?;
        admin.close().await.map_err(backend)?;
        let url = with_database(server_url, &name)?;
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url,
        })
    }

    /// The URL of the new database (the server URL with its database name replaced).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending any connection still open to it.
    pub async fn drop(self) -> Result<(), StoreError> {
        let mut admin = admin(&self.server_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut admin)
        .await
        .map_err(backend)?;
        admin.close().await.map_err(backend)
    }
}

/// Whether the database `name` (`<prefix>_<pid>_…`) was made by a process that is gone.
fn is_stale(name: &str, prefix: &str) -> bool {
    let pid = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.split('_').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    match pid {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        None => false,
    }
}

async fn admin(server_url: &str) -> Result<sqlx::PgConnection, StoreError> {
    let options = PgConnectOptions::from_str(server_url).map_err(|e| {
        StoreError::Backend(format!("PostgreSQL URL `{}`: {e}", redact(server_url)))
    })?;
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(StoreError::Backend(format!(
            "connecting to {}: {e}",
            redact(server_url)
        ))),
        Err(_) => Err(StoreError::Backend(format!(
            "connecting to {}: no answer in {} s",
            redact(server_url),
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// `url` with its database name (the path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> Result<String, StoreError> {
    let authority = url
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| StoreError::Backend(format!("`{}` is not a URL", redact(url))))?;
    let rest = url.get(authority..).unwrap_or_default();
    let path = rest.find(['/', '?']).map_or(url.len(), |i| authority + i);
    let query = url.get(path..).and_then(|p| p.find('?')).map(|i| path + i);
    let head = url.get(..path).unwrap_or_default();
    let tail = query.and_then(|q| url.get(q..)).unwrap_or_default();
    Ok(format!("{head}/{database}{tail}"))
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn database_replaced() {
        let w = |u: &str| with_database(u, "x").unwrap();
        assert_eq!(w("postgres://u@h:5432/test"), "postgres://u@h:5432/x");
        assert_eq!(
            w("postgres://u@h/test?sslmode=require"),
            "postgres://u@h/x?sslmode=require"
        );
        assert_eq!(w("postgres://u@h"), "postgres://u@h/x");
        assert_eq!(w("postgres://u@h?a=b"), "postgres://u@h/x?a=b");
    }

    #[test]
    fn stale_only_of_gone_processes() {
        let me = std::process::id();
        assert!(!is_stale(&format!("p_{me}_0_1"), "p"));
        assert!(is_stale("p_4294967290_0_1", "p"));
        assert!(!is_stale("p_notapid_0", "p"));
    }
}
