//! A log held in memory: the reference user of the storage model, for tests, benchmarks and
//! tools that write a whole log at once.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::audit::TileSource;
use crate::hash::Hash;
use crate::store::{self, AppendResult, HashReader, RightEdge};
use crate::tile::{self, TileKind, TilePath};
use crate::{Error, SourceError};

/// Entries and stored hashes in vectors, appended to through [`RightEdge`] exactly as a node
/// appends to its database.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    entries: Vec<Vec<u8>>,
    /// `levels[L][i]`: the stored hash `i` of tile level `L`.
    levels: Vec<Vec<Hash>>,
    edge: RightEdge,
}

impl MemoryLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    pub fn root(&self) -> Hash {
        self.edge.root()
    }

    pub fn entry(&self, index: u64) -> Option<&[u8]> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(Vec::as_slice)
    }

    /// Appends a batch and stores what it produced.
    pub fn append<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<AppendResult, Error> {
        let result = self.edge.append(entries)?;
        for s in &result.stored {
            let level = usize::from(s.level);
            while self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            // Each level's hashes come in index order, continuing where the level ended.
            if let Some(hashes) = self.levels.get_mut(level) {
                hashes.push(s.hash);
            }
        }
        self.entries
            .extend(entries.iter().map(|e| e.as_ref().to_vec()));
        self.edge = result.edge.clone();
        Ok(result)
    }

    /// The bytes of a tile or entry bundle at the current size.
    pub fn resource(&self, path: &TilePath) -> Result<Vec<u8>, Error> {
        match path.kind {
            TileKind::Hashes(_) => store::tile_bytes(self, self.size(), path),
            TileKind::Entries => {
                let range = store::bundle_range(self.size(), path)?;
                let entries = usize::try_from(range.start)
                    .ok()
                    .zip(usize::try_from(range.end).ok())
                    .and_then(|(a, b)| self.entries.get(a..b))
                    .unwrap_or_default();
                tile::entry_bundle(entries)
            }
        }
    }

    /// The whole log in C2SP tlog-tiles layout at its current size: `checkpoint` (the signed
    /// note given) and every tile and entry bundle, by path.
    pub fn files(&self, checkpoint_note: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
        let mut files = BTreeMap::new();
        files.insert("checkpoint".to_owned(), checkpoint_note.as_bytes().to_vec());
        for path in tile::tiles_between(0, self.size()) {
            files.insert(path.to_string(), self.resource(&path)?);
        }
        Ok(files)
    }
}

impl HashReader for MemoryLog {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError> {
        usize::try_from(range.start)
            .ok()
            .zip(usize::try_from(range.end).ok())
            .and_then(|(a, b)| self.levels.get(usize::from(level))?.get(a..b))
            .map(<[Hash]>::to_vec)
            .ok_or_else(|| {
                SourceError::not_found(format!(
                    "no hashes {}..{} at level {level}",
                    range.start, range.end
                ))
            })
    }
}

/// Files by path, as [`MemoryLog::files`] returns them.
impl TileSource for BTreeMap<String, Vec<u8>> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.get(path)
            .cloned()
            .ok_or_else(|| SourceError::not_found(format!("`{path}` not found")))
    }
}

impl TileSource for HashMap<String, Vec<u8>> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.get(path)
            .cloned()
            .ok_or_else(|| SourceError::not_found(format!("`{path}` not found")))
    }
}
