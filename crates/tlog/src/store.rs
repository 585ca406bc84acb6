//! The storage model of a log: what a node keeps, how a batch of entries is appended, and how
//! tiles, roots and proofs are served from what it keeps.
//!
//! A node keeps, per leaf, the entry and its leaf hash, and for every tile level `L >= 1` the
//! hash of each complete subtree of `256^L` leaves: exactly the hashes that tiles hold (tree
//! levels 0, 8, 16, ...). Each is addressed by `(tile level, index)`, and the caller reads them
//! through [`HashReader`]. Nothing else needs to be stored: intermediate tree levels are
//! recomputed inside one tile (at most 255 hashes), and the root from the partial tiles.
//!
//! [`append`] takes the current size and a batch of entries and returns the new stored hashes,
//! the new size and root. It first loads the [`RightEdge`] (the hashes of the maximal complete
//! subtrees, derived from the partial tile of each level), then merges each new leaf into it,
//! so a batch of `k` entries costs about `2 k` hashes plus at most 255 per tile level, and reads
//! one partial tile per level. A caller that keeps the returned [`RightEdge`] between batches
//! (after its transaction commits) skips the reads and pays `O(k + log n)` hashes.
//!
//! Serving: [`tile_bytes`] builds any full or partial hash tile from the stored hashes,
//! [`tree_root`], [`inclusion_proof`] and [`consistency_proof`] read O(log n) tiles
//! (at most two per level), and [`crate::tile::entry_bundle`] packs entries into a bundle.
//!
//! [`HashReader`] is synchronous. A caller whose storage is asynchronous asks first which
//! ranges an operation reads ([`edge_reads`], [`inclusion_proof_reads`],
//! [`consistency_proof_reads`]), fetches them, and passes them in as a [`Prefetched`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use crate::hash::{Hash, hash_children, hash_leaf};
use crate::merkle::{self, Subtrees, fold_right};
use crate::tile::{self, TILE_HEIGHT, TileKind, TilePath, level_count, tile_levels};
use crate::{Error, SourceError};

/// Read access to the stored hashes of a log.
///
/// `level` is the tile level: level 0 holds the leaf hashes, level `L` the hashes of complete
/// subtrees of `256^L` leaves (tree level `8 L`), indexed from the left. Implementations return
/// the hashes of `range` in order, or an error; returning fewer is reported as
/// [`Error::ShortRead`].
pub trait HashReader {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError>;
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError> {
        (**self).hashes(level, range)
    }
}

fn read_exact<R: HashReader + ?Sized>(
    reader: &R,
    level: u8,
    range: Range<u64>,
) -> Result<Vec<Hash>, Error> {
    let want = range.end.saturating_sub(range.start);
    let start = range.start;
    let got = reader
        .hashes(level, range.clone())
        .map_err(|source| Error::Read {
            what: format!(
                "hashes {}..{} of tile level {level}",
                range.start, range.end
            ),
            source,
        })?;
    if got.len() as u64 != want {
        return Err(Error::ShortRead {
            level,
            start,
            got: got.len(),
            want,
        });
    }
    Ok(got)
}

/// A hash to store: tile level, index within the level, hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredHash {
    pub level: u8,
    pub index: u64,
    pub hash: Hash,
}

/// The right edge of a tree: the hashes of its maximal complete subtrees, largest (leftmost)
/// first, one per set bit of the size. Enough to compute the root and to append.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RightEdge {
    size: u64,
    nodes: Vec<Hash>,
}

/// What appending a batch produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// The hashes to store, in the order they were made: each new leaf hash (level 0) followed
    /// by the hashes of the tiles it completed (level 1 and up). Within a level, indexes
    /// increase by one from the first index not yet stored.
    pub stored: Vec<StoredHash>,
    /// The tree size after the batch.
    pub size: u64,
    /// The root after the batch.
    pub root: Hash,
    /// The right edge after the batch, for the next batch once this one is committed.
    pub edge: RightEdge,
}

impl RightEdge {
    /// The right edge of the empty tree.
    pub const fn empty() -> Self {
        Self {
            size: 0,
            nodes: Vec::new(),
        }
    }

    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of the maximal complete subtrees, leftmost first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The tree's root (SHA-256 of the empty string for the empty tree).
    pub fn root(&self) -> Hash {
        fold_right(&self.nodes)
    }

    /// The right edge of the stored tree of `size` leaves: reads the partial tile of each level
    /// (at most 255 hashes each) and hashes it.
    pub fn load<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Self, Error> {
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        for level in (0..tile_levels(size)).rev() {
            let count = level_count(size, level);
            let width = count % u64::from(tile::TILE_WIDTH);
            if width == 0 {
                continue;
            }
            let hashes = read_exact(reader, level, count - width..count)?;
            let mut rest = hashes.as_slice();
            // The partial tile splits into complete subtrees by the bits of its width, largest
            // first.
            for bit in (0..TILE_HEIGHT).rev() {
                if (width >> bit) & 1 == 1 {
                    let (chunk, tail) =
                        rest.split_at_checked(1 << bit).ok_or(Error::ShortRead {
                            level,
                            start: count - width,
                            got: hashes.len(),
                            want: width,
                        })?;
                    nodes.push(merkle::root(chunk));
                    rest = tail;
                }
            }
        }
        Ok(Self { size, nodes })
    }

    /// Adds one leaf, writing the new stored hashes to `stored`.
    pub fn push(&mut self, leaf_hash: Hash, stored: &mut Vec<StoredHash>) -> Result<(), Error> {
        let index = self.size;
        if index == u64::MAX {
            return Err(Error::TreeTooLarge(index));
        }
        stored.push(StoredHash {
            level: 0,
            index,
            hash: leaf_hash,
        });
        let mut h = leaf_hash;
        let mut height = 0u32;
        let mut n = index;
        // Every trailing one bit of the old size is a complete subtree of that height that the
        // new leaf's subtree now pairs with.
        while n & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            h = hash_children(&left, &h);
            height += 1;
            n >>= 1;
            if height.is_multiple_of(TILE_HEIGHT) {
                stored.push(StoredHash {
                    level: (height / TILE_HEIGHT) as u8,
                    index: index >> height,
                    hash: h,
                });
            }
        }
        self.nodes.push(h);
        self.size += 1;
        Ok(())
    }

    /// Appends leaves given by their hashes.
    pub fn append_leaf_hashes(&self, leaf_hashes: &[Hash]) -> Result<AppendResult, Error> {
        let mut edge = self.clone();
        let mut stored = Vec::with_capacity(leaf_hashes.len() + leaf_hashes.len() / 255 + 1);
        for h in leaf_hashes {
            edge.push(*h, &mut stored)?;
        }
        Ok(AppendResult {
            stored,
            size: edge.size,
            root: edge.root(),
            edge,
        })
    }

    /// Appends entries; each must fit an entry bundle (at most 65535 bytes).
    pub fn append<E: AsRef<[u8]>>(&self, entries: &[E]) -> Result<AppendResult, Error> {
        let mut hashes = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let e = e.as_ref();
            if e.len() > tile::MAX_ENTRY_LEN {
                return Err(Error::EntryTooLong {
                    index: self.size.saturating_add(i as u64),
                    len: e.len(),
                });
            }
            hashes.push(hash_leaf(e));
        }
        self.append_leaf_hashes(&hashes)
    }
}

/// Appends `entries` to the stored tree of `size` leaves: loads the right edge from `reader`,
/// then merges the new leaves into it. See the module documentation for the cost.
pub fn append<R, E>(reader: &R, size: u64, entries: &[E]) -> Result<AppendResult, Error>
where
    R: HashReader + ?Sized,
    E: AsRef<[u8]>,
{
    RightEdge::load(reader, size)?.append(entries)
}

/// The root of the stored tree of `size` leaves.
pub fn tree_root<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, Error> {
    Ok(RightEdge::load(reader, size)?.root())
}

/// The bytes of hash tile `tile` as served for a tree of `size` leaves: full, or partial of the
/// width asked, as long as those hashes exist at `size`.
pub fn tile_bytes<R: HashReader + ?Sized>(
    reader: &R,
    size: u64,
    tile: &TilePath,
) -> Result<Vec<u8>, Error> {
    let TileKind::Hashes(level) = tile.kind else {
        return Err(Error::TileNotInTree {
            path: tile.to_string(),
            size,
        });
    };
    let range = tile_range(size, level_count(size, level), tile)?;
    Ok(tile::tile_bytes(&read_exact(reader, level, range)?))
}

/// The leaf indexes an entry bundle holds in a tree of `size` leaves; the caller reads those
/// entries and packs them with [`crate::tile::entry_bundle`].
pub fn bundle_range(size: u64, tile: &TilePath) -> Result<Range<u64>, Error> {
    if tile.kind != TileKind::Entries {
        return Err(Error::TileNotInTree {
            path: tile.to_string(),
            size,
        });
    }
    tile_range(size, size, tile)
}

fn tile_range(size: u64, count: u64, tile: &TilePath) -> Result<Range<u64>, Error> {
    let not_in_tree = || Error::TileNotInTree {
        path: tile.to_string(),
        size,
    };
    let start = tile
        .index
        .checked_mul(u64::from(tile::TILE_WIDTH))
        .ok_or_else(not_in_tree)?;
    let end = start
        .checked_add(u64::from(tile.width))
        .filter(|end| *end <= count)
        .ok_or_else(not_in_tree)?;
    Ok(start..end)
}

/// A stored tree seen through its tiles, each read once.
struct StoredTree<'r, R: ?Sized> {
    reader: &'r R,
    size: u64,
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl<'r, R: HashReader + ?Sized> StoredTree<'r, R> {
    fn new(reader: &'r R, size: u64) -> Self {
        Self {
            reader,
            size,
            tiles: HashMap::new(),
        }
    }

    /// The hashes tile `(level, index)` has at this tree size.
    fn tile(&mut self, level: u8, index: u64) -> Result<&[Hash], Error> {
        if !self.tiles.contains_key(&(level, index)) {
            let width = u64::from(tile::TILE_WIDTH);
            let start = index.saturating_mul(width);
            let end = start
                .saturating_add(width)
                .min(level_count(self.size, level));
            let hashes = read_exact(self.reader, level, start..end.max(start))?;
            self.tiles.insert((level, index), hashes);
        }
        Ok(self
            .tiles
            .get(&(level, index))
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// The hash of the complete subtree of `2^height` leaves at `index` (within its height).
    fn perfect(&mut self, height: u32, index: u64) -> Result<Hash, Error> {
        let level = (height / TILE_HEIGHT) as u8;
        let rest = height % TILE_HEIGHT;
        let first = index << rest;
        let count = 1usize << rest;
        let width = u64::from(tile::TILE_WIDTH);
        let offset = (first % width) as usize;
        let tile = self.tile(level, first / width)?;
        let hashes = tile.get(offset..offset + count).ok_or(Error::ShortRead {
            level,
            start: first,
            got: tile.len().saturating_sub(offset),
            want: count as u64,
        })?;
        Ok(merkle::root(hashes))
    }
}

impl<R: HashReader + ?Sized> Subtrees for StoredTree<'_, R> {
    fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, Error> {
        if lo >= hi || hi > self.size {
            return Err(Error::IndexOutOfRange {
                index: hi,
                size: self.size,
            });
        }
        // Split [lo, hi) into maximal aligned complete subtrees, left to right.
        let mut nodes = Vec::with_capacity(64);
        let mut at = lo;
        while at < hi {
            let align = if at == 0 { 63 } else { at.trailing_zeros() };
            let fit = 63 - (hi - at).leading_zeros();
            let height = align.min(fit);
            nodes.push(self.perfect(height, at >> height)?);
            at += 1u64 << height;
        }
        Ok(fold_right(&nodes))
    }
}

/// The inclusion proof of leaf `index` in the stored tree of `size` leaves.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    size: u64,
    index: u64,
) -> Result<Vec<Hash>, Error> {
    merkle::inclusion_path(&mut StoredTree::new(reader, size), index, size)
}

/// The consistency proof from the stored tree's first `size1` leaves to its first `size2`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, Error> {
    merkle::consistency_path(&mut StoredTree::new(reader, size2), size1, size2)
}

/// The hash ranges, `(tile level, indexes)`, that [`RightEdge::load`], [`append`] and
/// [`tree_root`] read for a tree of `size` leaves: the partial tile of each level.
pub fn edge_reads(size: u64) -> Vec<(u8, Range<u64>)> {
    let recorder = Recorder::default();
    let _ = RightEdge::load(&recorder, size);
    recorder.reads.into_inner()
}

/// The hash ranges [`inclusion_proof`] reads for leaf `index` in a tree of `size` leaves.
pub fn inclusion_proof_reads(size: u64, index: u64) -> Result<Vec<(u8, Range<u64>)>, Error> {
    let recorder = Recorder::default();
    inclusion_proof(&recorder, size, index)?;
    Ok(recorder.reads.into_inner())
}

/// The hash ranges [`consistency_proof`] reads from `size1` to `size2` leaves.
pub fn consistency_proof_reads(size1: u64, size2: u64) -> Result<Vec<(u8, Range<u64>)>, Error> {
    let recorder = Recorder::default();
    consistency_proof(&recorder, size1, size2)?;
    Ok(recorder.reads.into_inner())
}

/// Notes the reads an operation makes, answering with placeholder hashes: the operations read
/// by tree shape alone, never by hash value.
#[derive(Default)]
struct Recorder {
    reads: RefCell<Vec<(u8, Range<u64>)>>,
}

impl HashReader for Recorder {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError> {
        let len = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| SourceError::other("range too large"))?;
        self.reads.borrow_mut().push((level, range));
        Ok(vec![Hash::default(); len])
    }
}

/// Stored hashes fetched ahead of time, read back as a [`HashReader`].
#[derive(Clone, Debug, Default)]
pub struct Prefetched {
    hashes: HashMap<(u8, u64), Hash>,
}

impl Prefetched {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the hashes of tile level `level` starting at index `start`.
    pub fn insert(&mut self, level: u8, start: u64, hashes: &[Hash]) {
        for (index, h) in (start..).zip(hashes) {
            self.hashes.insert((level, index), *h);
        }
    }
}

impl HashReader for Prefetched {
    fn hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, SourceError> {
        range
            .clone()
            .map(|i| self.hashes.get(&(level, i)).copied())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                SourceError::not_found(format!(
                    "hashes {}..{} of tile level {level} were not fetched",
                    range.start, range.end
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryLog;

    fn entries(n: u64) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("entry {i}").into_bytes()).collect()
    }

    #[test]
    fn stored_hashes_are_tile_hashes() {
        let mut log = MemoryLog::new();
        let all = entries(70_000);
        log.append(&all).unwrap();
        let leaves: Vec<Hash> = all.iter().map(|e| hash_leaf(e)).collect();
        assert_eq!(log.root(), merkle::root(&leaves));
        let level1 = log.hashes(1, 0..273).unwrap();
        for (i, h) in level1.iter().enumerate() {
            assert_eq!(*h, merkle::root(&leaves[i * 256..(i + 1) * 256]));
        }
        let level2 = log.hashes(2, 0..1).unwrap();
        assert_eq!(level2[0], merkle::root(&leaves[..65_536]));
        for size in [1, 255, 256, 257, 65_535, 65_536, 65_537, 69_999] {
            assert_eq!(
                tree_root(&log, size).unwrap(),
                merkle::root(&leaves[..size as usize]),
                "size {size}"
            );
        }
    }

    #[test]
    fn stored_proofs_equal_in_memory_proofs() {
        let mut log = MemoryLog::new();
        let all = entries(1500);
        log.append(&all).unwrap();
        let leaves: Vec<Hash> = all.iter().map(|e| hash_leaf(e)).collect();
        for size in [1u64, 2, 255, 256, 257, 511, 512, 1000, 1500] {
            let tree = &leaves[..size as usize];
            for index in [0, size / 3, size / 2, size - 1] {
                assert_eq!(
                    inclusion_proof(&log, size, index).unwrap(),
                    merkle::inclusion_proof(tree, index).unwrap()
                );
            }
            for size1 in [1, size / 2, size - 1, size] {
                if size1 == 0 {
                    continue;
                }
                assert_eq!(
                    consistency_proof(&log, size1, size).unwrap(),
                    merkle::consistency_proof(tree, size1).unwrap(),
                    "{size1} -> {size}"
                );
            }
        }
    }

    #[test]
    fn prefetched_reads_are_enough() {
        let mut log = MemoryLog::new();
        log.append(&entries(70_000)).unwrap();
        let fetch = |reads: Vec<(u8, Range<u64>)>| {
            let mut p = Prefetched::new();
            for (level, range) in reads {
                p.insert(level, range.start, &log.hashes(level, range).unwrap());
            }
            p
        };
        for size in [1u64, 255, 256, 65_536, 69_999, 70_000] {
            let p = fetch(edge_reads(size));
            assert_eq!(tree_root(&p, size).unwrap(), tree_root(&log, size).unwrap());
            assert_eq!(
                append(&p, size, &[b"x"]).unwrap(),
                append(&log, size, &[b"x"]).unwrap()
            );
            for index in [0, size / 2, size - 1] {
                let p = fetch(inclusion_proof_reads(size, index).unwrap());
                assert_eq!(
                    inclusion_proof(&p, size, index).unwrap(),
                    inclusion_proof(&log, size, index).unwrap()
                );
            }
            let old = size / 3 + 1;
            let reads = consistency_proof_reads(old, size).unwrap();
            assert!(reads.len() <= 2 * 3, "{reads:?}");
            let p = fetch(reads);
            assert_eq!(
                consistency_proof(&p, old, size).unwrap(),
                consistency_proof(&log, old, size).unwrap()
            );
        }
        assert!(Prefetched::new().hashes(0, 0..1).is_err());
    }

    #[test]
    fn tiles_outside_the_tree_are_refused() {
        let mut log = MemoryLog::new();
        log.append(&entries(300)).unwrap();
        let ok = TilePath::hashes(0, 1, 44).unwrap();
        assert_eq!(tile_bytes(&log, 300, &ok).unwrap().len(), 44 * 32);
        assert!(tile_bytes(&log, 300, &TilePath::hashes(0, 1, 45).unwrap()).is_err());
        assert!(tile_bytes(&log, 300, &TilePath::hashes(0, 1, 256).unwrap()).is_err());
        assert!(tile_bytes(&log, 300, &TilePath::hashes(1, 0, 2).unwrap()).is_err());
        assert!(tile_bytes(&log, 300, &TilePath::hashes(9, 0, 1).unwrap()).is_err());
        assert!(tile_bytes(&log, 300, &TilePath::hashes(0, u64::MAX, 1).unwrap()).is_err());
        assert_eq!(
            bundle_range(300, &TilePath::entries(1, 44).unwrap()).unwrap(),
            256..300
        );
    }
}
