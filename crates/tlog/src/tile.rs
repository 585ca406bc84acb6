//! C2SP tlog-tiles: tile and entry bundle paths, tile contents and entry bundles.
//!
//! A tile at level `L` holds up to 256 consecutive hashes of tree level `8 L`: level 0 holds
//! leaf hashes, and each hash at level `L + 1` is the hash of a full tile at level `L`. An entry
//! bundle holds the entries of the level-0 tile with the same index, each prefixed by its length
//! as a big-endian uint16.

use std::fmt;

use crate::Error;
use crate::hash::Hash;

/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile, entries in a full bundle.
pub const TILE_WIDTH: u16 = 256;
/// The longest entry an entry bundle can hold.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// The highest tile level a path may name (C2SP: 0 to 63).
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile path names: a hash tile of a level, or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// `tile/<L>/...`: hashes of tree level `8 L`.
    Hashes(u8),
    /// `tile/entries/...`: the entries under level-0 tile of the same index.
    Entries,
}

/// A tile or entry bundle, named as in C2SP tlog-tiles: `tile/<L>/<N>[.p/<W>]` or
/// `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TilePath {
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// 1 to 256; below 256 the tile is partial and its path ends in `.p/<W>`.
    pub width: u16,
}

impl TilePath {
    /// A hash tile. `None` when the level is above 63 or the width is not 1 to 256.
    pub fn hashes(level: u8, index: u64, width: u16) -> Option<Self> {
        (level <= MAX_TILE_LEVEL && (1..=TILE_WIDTH).contains(&width)).then_some(Self {
            kind: TileKind::Hashes(level),
            index,
            width,
        })
    }

    /// An entry bundle. `None` when the width is not 1 to 256.
    pub fn entries(index: u64, width: u16) -> Option<Self> {
        (1..=TILE_WIDTH).contains(&width).then_some(Self {
            kind: TileKind::Entries,
            index,
            width,
        })
    }

    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// The level of a hash tile; entry bundles sit beside level 0.
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(level) => level,
            TileKind::Entries => 0,
        }
    }

    /// Parses a path in its one canonical form: a level from 0 to 63 and a width from 1 to 255
    /// without leading zeros, the index in three-digit groups all but the last prefixed with `x`
    /// and no leading `x000` group, `.p/<W>` only on partial tiles.
    pub fn parse(path: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::MalformedTilePath {
            path: path.to_owned(),
            why: why.to_owned(),
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("does not start with `tile/`"))?;
        let (first, rest) = rest.split_once('/').ok_or_else(|| bad("no tile index"))?;
        let kind = if first == "entries" {
            TileKind::Entries
        } else {
            let level = parse_small_decimal(first)
                .filter(|l| *l <= u64::from(MAX_TILE_LEVEL))
                .ok_or_else(|| bad("the level is not a decimal from 0 to 63"))?;
            TileKind::Hashes(u8::try_from(level).map_err(|_| bad("level out of range"))?)
        };
        let mut groups: Vec<&str> = rest.split('/').collect();
        let mut width = TILE_WIDTH;
        let partial = groups
            .len()
            .checked_sub(2)
            .and_then(|i| groups.get(i))
            .is_some_and(|g| g.ends_with(".p"));
        if partial {
            let w = groups.pop().unwrap_or_default();
            width = parse_small_decimal(w)
                .filter(|w| (1..u64::from(TILE_WIDTH)).contains(w))
                .and_then(|w| u16::try_from(w).ok())
                .ok_or_else(|| bad("the width is not a decimal from 1 to 255"))?;
            if let Some(last) = groups.last_mut() {
                *last = last.strip_suffix(".p").unwrap_or(last);
            }
        }
        let mut index: u64 = 0;
        let count = groups.len();
        for (i, group) in groups.into_iter().enumerate() {
            let digits = if i + 1 < count {
                group
                    .strip_prefix('x')
                    .ok_or_else(|| bad("every index group but the last starts with `x`"))?
            } else {
                group
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index groups are three decimal digits"));
            }
            let value: u64 = digits
                .parse()
                .map_err(|_| bad("index groups are three decimal digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(value))
                .ok_or_else(|| bad("the index does not fit in 64 bits"))?;
        }
        let parsed = Self { kind, index, width };
        // Anything that parses but is not written this way (a leading `x000` group) is refused,
        // so that each tile has exactly one name.
        if parsed.to_string() != path {
            return Err(bad("not in canonical form"));
        }
        Ok(parsed)
    }
}

/// A decimal of at most 3 digits without leading zeros.
fn parse_small_decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(level) => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = Vec::with_capacity(7);
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            if i > 0 {
                write!(f, "x{g:03}/")?;
            } else {
                write!(f, "{g:03}")?;
            }
        }
        if self.is_partial() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// How many hashes tile level `level` has in a tree of `size` leaves: `size / 256^level`.
pub fn level_count(size: u64, level: u8) -> u64 {
    size.checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// The hash tiles of level `level` in a tree of `size` leaves, in order (the last may be
/// partial).
pub fn level_tiles(size: u64, level: u8) -> impl Iterator<Item = TilePath> {
    tiles_of_count(level_count(size, level), 0, TileKind::Hashes(level))
}

fn tiles_of_count(count: u64, from_tile: u64, kind: TileKind) -> impl Iterator<Item = TilePath> {
    let full = count / u64::from(TILE_WIDTH);
    let partial = (count % u64::from(TILE_WIDTH)) as u16;
    let last = if partial > 0 { full + 1 } else { full };
    (from_tile..last).map(move |index| TilePath {
        kind,
        index,
        width: if index < full { TILE_WIDTH } else { partial },
    })
}

/// The number of tile levels a tree of `size` leaves has (0 for the empty tree).
pub fn tile_levels(size: u64) -> u8 {
    let mut levels = 0u8;
    while level_count(size, levels) > 0 {
        levels += 1;
    }
    levels
}

/// Every resource whose content is new or changed when the tree grows from `old_size` to
/// `new_size` leaves: the tiles and entry bundles of `new_size` that did not exist, full, at
/// `old_size`. From size 0 this is the whole log. Hash tiles come level by level, then bundles.
pub fn tiles_between(old_size: u64, new_size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    if new_size <= old_size {
        return out;
    }
    for level in 0..tile_levels(new_size) {
        let first = level_count(old_size, level) / u64::from(TILE_WIDTH);
        out.extend(tiles_of_count(
            level_count(new_size, level),
            first,
            TileKind::Hashes(level),
        ));
    }
    out.extend(tiles_of_count(
        new_size,
        old_size / u64::from(TILE_WIDTH),
        TileKind::Entries,
    ));
    out
}

/// The bytes of a hash tile: its hashes concatenated.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * 32);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// The hashes of a tile of `width` hashes; `None` unless it is exactly `32 * width` bytes.
pub fn parse_tile(bytes: &[u8], width: u16) -> Option<Vec<Hash>> {
    (bytes.len() == usize::from(width) * 32).then(|| {
        bytes
            .chunks_exact(32)
            .filter_map(Hash::from_slice)
            .collect()
    })
}

/// An entry bundle: each entry prefixed by its length as a big-endian uint16.
pub fn entry_bundle<I, E>(entries: I) -> Result<Vec<u8>, Error>
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLong {
            index: i as u64,
            len: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// The entries of a bundle that must hold exactly `width` of them and nothing after.
pub fn parse_entry_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, Error> {
    let mut entries = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == usize::from(width) {
            return Err(Error::MalformedBundle(format!("more than {width} entries")));
        }
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(Error::MalformedBundle(format!(
                "entry {} has a truncated length prefix",
                entries.len()
            )));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        let Some((entry, tail)) = tail.split_at_checked(len) else {
            return Err(Error::MalformedBundle(format!(
                "entry {} is {len} bytes but only {} remain",
                entries.len(),
                tail.len()
            )));
        };
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != usize::from(width) {
        return Err(Error::MalformedBundle(format!(
            "{} entries, expected {width}",
            entries.len()
        )));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = TilePath::hashes(0, 1_234_067, 256).unwrap();
        assert_eq!(t.to_string(), "tile/0/x001/x234/067");
        assert_eq!(TilePath::parse("tile/0/x001/x234/067").unwrap(), t);
        let p = TilePath::entries(3, 232).unwrap();
        assert_eq!(p.to_string(), "tile/entries/003.p/232");
        assert_eq!(TilePath::parse("tile/entries/003.p/232").unwrap(), p);
        assert_eq!(
            TilePath::hashes(63, 0, 1).unwrap().to_string(),
            "tile/63/000.p/1"
        );
        for bad in [
            "tile/0/1",
            "tile/00/000",
            "tile/64/000",
            "tile/0/x000/001",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/08",
            "tile/0/000.p/",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/x18446744/073/709/551/616",
            "tile/entries",
            "tile/entries/",
            "tile/data/000",
            "tiles/0/000",
            "tile/0/000/",
            "tile/0/-01",
            "tile/0/+01",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
        // The largest index there is.
        let max = TilePath::hashes(0, u64::MAX, 256).unwrap();
        assert_eq!(TilePath::parse(&max.to_string()).unwrap(), max);
    }

    #[test]
    fn tiles_of_70000() {
        // The example of the tlog-tiles spec.
        let all = tiles_between(0, 70_000);
        let level = |l| all.iter().filter(|t| t.kind == TileKind::Hashes(l)).count();
        assert_eq!(level(0), 274);
        assert_eq!(level(1), 2);
        assert_eq!(level(2), 1);
        assert_eq!(tile_levels(70_000), 3);
        assert!(all.contains(&TilePath::hashes(0, 273, 112).unwrap()));
        assert!(all.contains(&TilePath::hashes(1, 1, 17).unwrap()));
        assert!(all.contains(&TilePath::hashes(2, 0, 1).unwrap()));
        assert_eq!(tiles_between(0, 256).len(), 3);
        assert_eq!(
            tiles_between(256, 257),
            vec![
                TilePath::hashes(0, 1, 1).unwrap(),
                TilePath::hashes(1, 0, 1).unwrap(),
                TilePath::entries(1, 1).unwrap()
            ]
        );
    }

    #[test]
    fn bundles() {
        let b = entry_bundle([b"".as_slice(), b"ab"]).unwrap();
        assert_eq!(b, [0, 0, 0, 2, b'a', b'b']);
        assert_eq!(
            parse_entry_bundle(&b, 2).unwrap(),
            vec![b"".as_slice(), b"ab"]
        );
        assert!(parse_entry_bundle(&b, 1).is_err());
        assert!(parse_entry_bundle(&b, 3).is_err());
        assert!(parse_entry_bundle(&b[..5], 2).is_err());
        assert!(parse_entry_bundle(&[0], 1).is_err());
        assert!(entry_bundle([vec![0u8; 65_536]]).is_err());
        assert!(entry_bundle([vec![0u8; 65_535]]).is_ok());
    }
}
