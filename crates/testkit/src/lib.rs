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
