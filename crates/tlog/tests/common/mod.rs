//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

pub fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// `shared/<relative>` or `None` (with the visible skip message of the testkit).
pub fn shared(relative: &str) -> Option<PathBuf> {
    comity_testkit::require_shared(env!("CARGO_MANIFEST_DIR"), relative)
}

pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `*.json` under `dir`, recursively, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes a log's files under `dir`.
pub fn write_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, bytes) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Reads every file under `dir` by its relative path with `/` separators.
pub fn read_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(rel.join("/"), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A directory of files read through [`comity_tlog::TileSource`].
pub struct DirSource(pub PathBuf);

impl comity_tlog::TileSource for DirSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, comity_tlog::SourceError> {
        std::fs::read(self.0.join(path)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                comity_tlog::SourceError::not_found(format!("{path}: {e}"))
            } else {
                comity_tlog::SourceError::other(format!("{path}: {e}"))
            }
        })
    }
}

/// Skips (returns `None`) with a visible message, or fails under `COMITY_REQUIRE_SHARED=1`.
pub fn skip<T>(why: &str) -> Option<T> {
    comity_testkit::skip(why)
}
