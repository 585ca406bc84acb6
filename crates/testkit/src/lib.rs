//! Test-only helpers shared by the workspace's test suites.
//!
//! Not product code: nothing outside `[dev-dependencies]` may depend on this crate.

use std::path::{Path, PathBuf};

/// Where the external material (`shared/`: public scenarios, test vectors, independent verifiers)
/// lives, if it is present.
///
/// `COMITY_SHARED_DIR` wins; otherwise the directory `shared` is searched for beside every
/// ancestor of `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`), because cargo runs each test
/// from its own crate's directory and CI checks the project out beside `shared/`.
pub fn shared_dir(manifest_dir: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("COMITY_SHARED_DIR") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let mut here: Option<&Path> = Some(Path::new(manifest_dir));
    while let Some(dir) = here {
        let candidate = dir.join("shared");
        if candidate.join("spec").is_dir() || candidate.join("vectors").is_dir() {
            return Some(candidate);
        }
        here = dir.parent();
    }
    None
}

/// `shared_dir(..)/relative`, or `None` after printing a visible skip message.
///
/// When `COMITY_REQUIRE_SHARED=1` (set by `.ci/run`) a missing directory is a test failure, so
/// that CI can never pass by skipping.
#[allow(clippy::panic)]
pub fn require_shared(manifest_dir: &str, relative: &str) -> Option<PathBuf> {
    let found = shared_dir(manifest_dir)
        .map(|d| d.join(relative))
        .filter(|p| p.exists());
    if found.is_none() {
        if std::env::var("COMITY_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!(
                "COMITY_REQUIRE_SHARED=1 but shared/{relative} was not found (set COMITY_SHARED_DIR)"
            );
        }
        eprintln!(
            "SKIPPED: shared/{relative} not found beside the project (set COMITY_SHARED_DIR to run this test)"
        );
    }
    found
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root(manifest_dir: &str) -> PathBuf {
    let mut dir = PathBuf::from(manifest_dir);
    while !dir.join("Cargo.lock").exists() {
        if !dir.pop() {
            return PathBuf::from(manifest_dir);
        }
    }
    dir
}

/// Prints a visible skip message and gives `None`; under `COMITY_REQUIRE_SHARED=1` (set by
/// `.ci/run`) it fails the test instead, so CI never passes by skipping.
#[allow(clippy::panic)]
pub fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("COMITY_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("COMITY_REQUIRE_SHARED=1 but {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// The PostgreSQL server that tests create their databases on: `COMITY_TEST_DATABASE_URL`, else
/// `postgres://postgres@127.0.0.1:5432/test` (the database named is only where the harness
/// connects to create and drop its own).
pub fn test_database_url() -> String {
    std::env::var("COMITY_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Prints a visible skip message for a test that needs PostgreSQL and gives `None`; under
/// `CI=true` (or `COMITY_REQUIRE_SHARED=1`) it fails the test instead: CI has a server.
#[allow(clippy::panic)]
pub fn skip_postgres<T>(why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true")
        || std::env::var("COMITY_REQUIRE_SHARED").as_deref() == Ok("1")
    {
        panic!("PostgreSQL is required here (CI=true) but {why}");
    }
    eprintln!("SKIPPED: no PostgreSQL for this test: {why} (set COMITY_TEST_DATABASE_URL)");
    None
}

/// Prints a visible skip message for a test that needs an external tool (schemathesis, say)
/// and gives `None`; under `CI=true` (or `COMITY_REQUIRE_SHARED=1`) it fails the test instead:
/// CI installs every tool the test command names.
#[allow(clippy::panic)]
pub fn skip_tool<T>(why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true")
        || std::env::var("COMITY_REQUIRE_SHARED").as_deref() == Ok("1")
    {
        panic!("this tool is required here (CI=true) but {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// One of the independent Go verifiers of `shared/tools` (`notever`, `tilecheck`): `$NOTEVER` /
/// `$TILECHECK` if set, else `<workspace>/target/go-tools/NAME`, else built there by
/// `shared/tools/build-go-tools.sh` (which installs Go from Debian's packages if missing).
/// `None` after [`skip`] when it cannot be had.
pub fn go_tool(manifest_dir: &str, name: &str) -> Option<PathBuf> {
    match find_go_tool(manifest_dir, name) {
        Ok(p) => Some(p),
        Err(why) => skip(&format!("Go {name}: {why}")),
    }
}

fn find_go_tool(manifest_dir: &str, name: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(name.to_uppercase()) {
        return Ok(PathBuf::from(p));
    }
    let dir = workspace_root(manifest_dir).join("target/go-tools");
    let tool = dir.join(name);
    if tool.is_file() {
        return Ok(tool);
    }
    let shared = shared_dir(manifest_dir).ok_or("it is not built and shared/tools is not found")?;
    let script = shared.join("tools/build-go-tools.sh");
    // A fallback for running one test by hand: the README's test command builds the tools
    // before `cargo test`, so that test binaries running at once never build them together
    // (apt and `go build -o` are not safe to run twice at the same time).
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() || !tool.is_file() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(tool)
}
