//! The auditor: checks a whole tiled log as an outsider sees it.
//!
//! [`audit`] verifies the checkpoint's signature, reads every hash tile and entry bundle,
//! checks that every entry hashes to its leaf hash, that every full tile hashes to the hash the
//! tile above holds for it, that the partial tiles give the checkpoint's root, and, given an
//! earlier checkpoint, that the log is an extension of it. Level-0 tiles and their bundles,
//! over 99% of the work, are checked in parallel, one tile per task; every resource is read and
//! hashed once. The first fault in log order is reported, naming the tile or entry.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::hash::{EMPTY_ROOT, Hash, hash_leaf};
use crate::merkle::{self, verify_consistency};
use crate::note::VerifierKey;
use crate::store::{self, HashReader};
use crate::tile::{self, TILE_WIDTH, TilePath, level_count, tile_levels};
use crate::{Error, SourceError};

/// Where an auditor reads a log from: `checkpoint`, `tile/...` by their C2SP paths, relative to
/// the log's prefix. Callers implement it over a directory or HTTP.
pub trait TileSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
}

impl<T: TileSource + ?Sized> TileSource for &T {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        (**self).read(path)
    }
}

/// How to audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOptions {
    /// Worker threads for the level-0 tiles; 0 is as many as the machine runs at once.
    pub threads: usize,
    /// Whether to read the entry bundles and hash every entry (else only the hash tiles).
    pub entries: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            entries: true,
        }
    }
}

/// What the audit is doing, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditStage {
    /// Level-0 tiles and their entry bundles.
    LeafTiles,
    /// Tiles of level 1 and above.
    UpperTiles,
}

/// Progress: `done` of `total` tiles of a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditProgress {
    pub stage: AuditStage,
    pub done: u64,
    pub total: u64,
}

/// What an audit checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// Hash tiles read, all levels.
    pub hash_tiles: u64,
    /// Entry bundles read.
    pub entry_bundles: u64,
    /// Entries hashed and found in their tiles.
    pub entries: u64,
    /// The size of the earlier checkpoint the log was shown to extend.
    pub since: Option<u64>,
}

/// Audits the log at `source` whose checkpoint `vkey` signs, with default options. `since` is
/// an earlier signed checkpoint of the same log. `progress` is called as tiles are checked,
/// from worker threads.
pub fn audit<S, P>(
    source: &S,
    vkey: &VerifierKey,
    since: Option<&[u8]>,
    progress: P,
) -> Result<AuditReport, Error>
where
    S: TileSource + Sync + ?Sized,
    P: Fn(AuditProgress) + Sync,
{
    audit_with(
        source,
        std::slice::from_ref(vkey),
        since,
        &AuditOptions::default(),
        progress,
    )
}

/// [`audit`] with several accepted log keys and explicit options.
pub fn audit_with<S, P>(
    source: &S,
    vkeys: &[VerifierKey],
    since: Option<&[u8]>,
    options: &AuditOptions,
    progress: P,
) -> Result<AuditReport, Error>
where
    S: TileSource + Sync + ?Sized,
    P: Fn(AuditProgress) + Sync,
{
    let read = |path: &str| {
        source.read(path).map_err(|e| Error::Read {
            what: format!("`{path}`"),
            source: e,
        })
    };
    let (checkpoint, _) = open_checkpoint(&read("checkpoint")?, vkeys)?;
    let since = since
        .map(|note| open_checkpoint(note, vkeys).map(|(c, _)| c))
        .transpose()?;
    let size = checkpoint.size();
    if let Some(old) = &since {
        if old.origin() != checkpoint.origin() {
            return Err(Error::Inconsistent {
                size: old.size(),
                why: format!(
                    "origin `{}` is not the log's `{}`",
                    old.origin(),
                    checkpoint.origin()
                ),
            });
        }
        if old.size() > size {
            return Err(Error::Inconsistent {
                size: old.size(),
                why: format!("larger than the log's size {size}"),
            });
        }
    }

    // Level-0 tiles worth keeping after the pass: those the roots at `size` and at the earlier
    // size read (partial tiles), and the one holding the earlier size's last leaf.
    let width = u64::from(TILE_WIDTH);
    let mut keep: Vec<u64> = vec![size / width, size.saturating_sub(1) / width];
    if let Some(old) = &since {
        keep.push(old.size() / width);
        keep.push(old.size().saturating_sub(1) / width);
    }
    let leaf = leaf_pass(source, size, &keep, options, &progress)?;
    let mut verified = Verified::default();
    for (index, hashes) in leaf.kept {
        verified.tiles.insert((0, index), hashes);
    }

    // Upper levels, bottom up: each tile must hold the hashes of the full tiles below it.
    let mut below = leaf.full_roots;
    let mut hash_tiles = leaf.tiles;
    let levels = tile_levels(size);
    let upper_total: u64 = (1..levels)
        .map(|l| level_count(size, l).div_ceil(width))
        .sum();
    let mut upper_done = 0u64;
    for level in 1..levels {
        let mut roots = Vec::with_capacity(below.len() / 256 + 1);
        for path in tile::level_tiles(size, level) {
            let name = path.to_string();
            let bytes = read(&name)?;
            let hashes = tile::parse_tile(&bytes, path.width).ok_or_else(|| Error::TileLength {
                path: name.clone(),
                len: bytes.len(),
                want: usize::from(path.width) * 32,
            })?;
            let first = path.index * width;
            for (j, stored) in hashes.iter().enumerate() {
                let computed = usize::try_from(first + j as u64)
                    .ok()
                    .and_then(|i| below.get(i));
                if computed != Some(stored) {
                    let child = TilePath::hashes(level - 1, first + j as u64, TILE_WIDTH)
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                    return Err(Error::TileMismatch {
                        path: child,
                        parent: name,
                        position: j,
                        computed: computed.map(Hash::to_base64).unwrap_or_default(),
                        stored: stored.to_base64(),
                    });
                }
            }
            if !path.is_partial() {
                roots.push(merkle::root(&hashes));
            }
            verified.tiles.insert((level, path.index), hashes);
            hash_tiles += 1;
            upper_done += 1;
            progress(AuditProgress {
                stage: AuditStage::UpperTiles,
                done: upper_done,
                total: upper_total,
            });
        }
        below = roots;
    }

    // The root from the partial tiles, now all verified against what is below them.
    let root = store::tree_root(&verified, size)?;
    if root != *checkpoint.root() {
        return Err(Error::CheckpointRootMismatch {
            computed: root.to_base64(),
            expected: checkpoint.root().to_base64(),
        });
    }

    let since_size = match &since {
        None => None,
        Some(old) => {
            let inconsistent = |why: String| Error::Inconsistent {
                size: old.size(),
                why,
            };
            if old.size() == 0 {
                if *old.root() != EMPTY_ROOT {
                    return Err(inconsistent("the empty tree's root is wrong".into()));
                }
            } else {
                let proof = store::consistency_proof(&verified, old.size(), size)?;
                verify_consistency(old.size(), size, &proof, old.root(), &root)
                    .map_err(|e| inconsistent(e.to_string()))?;
            }
            Some(old.size())
        }
    };

    Ok(AuditReport {
        checkpoint,
        hash_tiles,
        entry_bundles: if options.entries { leaf.tiles } else { 0 },
        entries: if options.entries { size } else { 0 },
        since: since_size,
    })
}

/// Verified tiles by `(level, index)`, read as stored hashes.
#[derive(Default)]
struct Verified {
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl HashReader for Verified {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError> {
        let width = u64::from(TILE_WIDTH);
        let mut out = Vec::with_capacity(range.end.saturating_sub(range.start) as usize);
        let mut at = range.start;
        while at < range.end {
            let tile = self
                .tiles
                .get(&(level, at / width))
                .ok_or_else(|| SourceError::not_found("tile not kept by the audit"))?;
            let offset = (at % width) as usize;
            let take = ((range.end - at).min(width - at % width)) as usize;
            let hashes = tile
                .get(offset..offset + take)
                .ok_or_else(|| SourceError::not_found("hashes not in the tile"))?;
            out.extend_from_slice(hashes);
            at += take as u64;
        }
        Ok(out)
    }
}

struct LeafPass {
    /// Roots of the full level-0 tiles, in order: the level-1 hashes they must match.
    full_roots: Vec<Hash>,
    /// Level-0 tiles kept whole.
    kept: Vec<(u64, Vec<Hash>)>,
    /// Level-0 tiles read.
    tiles: u64,
}

/// Checks every level-0 tile (and bundle) in parallel.
fn leaf_pass<S, P>(
    source: &S,
    size: u64,
    keep: &[u64],
    options: &AuditOptions,
    progress: &P,
) -> Result<LeafPass, Error>
where
    S: TileSource + Sync + ?Sized,
    P: Fn(AuditProgress) + Sync,
{
    let total = size.div_ceil(u64::from(TILE_WIDTH));
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let threads = threads.clamp(1, usize::try_from(total.max(1)).unwrap_or(1));
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    // The lowest tile index found faulty so far: workers stop past it, so the fault reported is
    // always the first one in log order, however the tiles were shared out.
    let first_fault = AtomicU64::new(u64::MAX);
    let faults: Mutex<Vec<(u64, Error)>> = Mutex::new(Vec::new());
    let mut roots: Vec<(u64, Hash)> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut kept = Vec::new();

    let worker = || {
        let mut roots = Vec::new();
        let mut kept = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= total || index > first_fault.load(Ordering::Relaxed) {
                break;
            }
            match check_leaf_tile(source, size, index, options.entries) {
                Ok(hashes) => {
                    if hashes.len() == usize::from(TILE_WIDTH) {
                        roots.push((index, merkle::root(&hashes)));
                    }
                    if keep.contains(&index) {
                        kept.push((index, hashes));
                    }
                }
                Err(e) => {
                    first_fault.fetch_min(index, Ordering::Relaxed);
                    if let Ok(mut f) = faults.lock() {
                        f.push((index, e));
                    }
                    break;
                }
            }
            progress(AuditProgress {
                stage: AuditStage::LeafTiles,
                done: done.fetch_add(1, Ordering::Relaxed) + 1,
                total,
            });
        }
        (roots, kept)
    };

    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let (r, k) = worker();
        roots.extend(r);
        kept.extend(k);
        for h in handles {
            match h.join() {
                Ok((r, k)) => {
                    roots.extend(r);
                    kept.extend(k);
                }
                // A caller's source or progress callback panicked: let it go on.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });

    let mut faults = faults.into_inner().unwrap_or_else(|e| e.into_inner());
    faults.sort_by_key(|(i, _)| *i);
    if let Some((_, e)) = faults.into_iter().next() {
        return Err(e);
    }
    roots.sort_unstable_by_key(|(i, _)| *i);
    Ok(LeafPass {
        full_roots: roots.into_iter().map(|(_, h)| h).collect(),
        kept,
        tiles: total,
    })
}

/// Reads level-0 tile `index` and, with `entries`, its bundle; checks one against the other.
fn check_leaf_tile<S: TileSource + ?Sized>(
    source: &S,
    size: u64,
    index: u64,
    entries: bool,
) -> Result<Vec<Hash>, Error> {
    let width = u64::from(TILE_WIDTH);
    let w = (size - index * width).min(width) as u16;
    let path = TilePath::hashes(0, index, w)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let bytes = source.read(&path).map_err(|e| Error::Read {
        what: format!("`{path}`"),
        source: e,
    })?;
    let hashes = tile::parse_tile(&bytes, w).ok_or_else(|| Error::TileLength {
        path: path.clone(),
        len: bytes.len(),
        want: usize::from(w) * 32,
    })?;
    if entries {
        let bundle_path = TilePath::entries(index, w)
            .map(|p| p.to_string())
            .unwrap_or_default();
        let bundle = source.read(&bundle_path).map_err(|e| Error::Read {
            what: format!("`{bundle_path}`"),
            source: e,
        })?;
        let parsed = tile::parse_entry_bundle(&bundle, w).map_err(|e| Error::BadBundle {
            path: bundle_path.clone(),
            why: match e {
                Error::MalformedBundle(why) => why,
                other => other.to_string(),
            },
        })?;
        for (j, (entry, stored)) in parsed.iter().zip(&hashes).enumerate() {
            let computed = hash_leaf(entry);
            if computed != *stored {
                return Err(Error::EntryMismatch {
                    index: index * width + j as u64,
                    bundle: bundle_path,
                    tile: path,
                    computed: computed.to_base64(),
                    stored: stored.to_base64(),
                });
            }
        }
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLog;
    use crate::note::{KeyType, SignerKey};

    fn signed(log: &MemoryLog, key: &SignerKey) -> String {
        Checkpoint::new("audit.example", log.size(), log.root())
            .unwrap()
            .sign(key)
            .unwrap()
    }

    #[test]
    fn empty_and_equal_sizes() {
        let key = SignerKey::from_seed("audit.example", KeyType::Ed25519, &[4; 32]).unwrap();
        let vkey = key.verifier_key();
        let mut log = MemoryLog::new();
        let empty = signed(&log, &key);
        let files = log.files(&empty).unwrap();
        let report = audit(&files, &vkey, Some(empty.as_bytes()), |_| {}).unwrap();
        assert_eq!(
            (report.hash_tiles, report.entries, report.since),
            (0, 0, Some(0))
        );

        log.append(&[b"a".as_slice(), b"b", b"c"]).unwrap();
        let three = signed(&log, &key);
        let files = log.files(&three).unwrap();
        for since in [&empty, &three] {
            let report = audit(&files, &vkey, Some(since.as_bytes()), |_| {}).unwrap();
            assert_eq!(report.entries, 3);
        }
        // A since of another origin, or signed by another key, is refused.
        let other = SignerKey::from_seed("audit.example", KeyType::Ed25519, &[5; 32]).unwrap();
        assert!(audit(&files, &vkey, Some(signed(&log, &other).as_bytes()), |_| {}).is_err());
        let renamed = Checkpoint::new("elsewhere", 3, log.root())
            .unwrap()
            .sign(&key)
            .unwrap();
        assert!(matches!(
            audit(&files, &vkey, Some(renamed.as_bytes()), |_| {}),
            Err(Error::Inconsistent { .. })
        ));
    }

    #[test]
    fn progress_is_reported() {
        let key = SignerKey::from_seed("audit.example", KeyType::Ed25519, &[4; 32]).unwrap();
        let mut log = MemoryLog::new();
        log.append(&(0..70_000u32).map(|i| i.to_be_bytes()).collect::<Vec<_>>())
            .unwrap();
        let files = log.files(&signed(&log, &key)).unwrap();
        let seen = Mutex::new(Vec::new());
        audit(&files, &key.verifier_key(), None, |p| {
            seen.lock().unwrap().push(p);
        })
        .unwrap();
        let seen = seen.into_inner().unwrap();
        let leaf = seen
            .iter()
            .filter(|p| p.stage == AuditStage::LeafTiles)
            .count();
        assert_eq!(leaf, 274);
        assert!(seen.contains(&AuditProgress {
            stage: AuditStage::UpperTiles,
            done: 3,
            total: 3
        }));
    }
}
