//! The tree as C2SP tlog-tiles serves it (<https://c2sp.org/tlog-tiles>): tiles of hashes and
//! bundles of entries, their paths, which of them a tree of a given size has, the hashes a tile
//! holds (read from the stored hashes) and the bytes of an entry bundle.
//!
//! A tile has height 8: the tile at level `L`, index `N` holds, left to right, the hashes of the
//! complete subtrees of height `8 * L` at indexes `N * 256 ..`, 256 of them when it is full and
//! `W` (1 to 255) when it is the partial tile at the right edge of its level. Level 0 holds leaf
//! hashes. The tree of size `s` has at level `L` the tiles of the `s / 256^L` subtrees of that
//! height: `(s / 256^L) / 256` full ones and, when `(s / 256^L) % 256` is not 0, one partial
//! tile of that width; a level with no subtree has no tile. Entry bundles go with the level-0
//! tiles: bundle `N` of width `W` holds entries `N * 256 .. N * 256 + W`, each as a big-endian
//! 16-bit length followed by its bytes.
//!
//! Every tile hash is a complete subtree, so the stored-hash layout of [`crate::tree`] holds it:
//! a tile is read with one [`HashReader::read_hashes`] call.

use std::fmt;

use crate::hash::Hash;
use crate::tree::{HashReader, MAX_TREE_SIZE, TreeError, read_exact, stored_hash_index};

/// Hashes (or entries) in a full tile (or bundle).
pub const TILE_WIDTH: u16 = 256;

/// The levels of the tree a tile spans.
pub const TILE_HEIGHT: u8 = 8;

/// The largest level a tile path may name (the spec's bound).
pub const MAX_TILE_LEVEL: u8 = 63;

/// The longest entry a bundle holds: its length is a 16-bit number.
pub const MAX_BUNDLE_ENTRY: usize = u16::MAX as usize;

/// The 3-digit path elements of a tile index, all but the last prefixed with `x`:
/// 1234067 is `x001/x234/067`, 5 is `005`.
pub fn index_path(index: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, group)| {
            if i < last {
                format!("x{group:03}")
            } else {
                format!("{group:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The suffix of a tile or bundle of `width`: nothing when full, `.p/W` when partial.
fn width_suffix(width: u16) -> String {
    if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// A tile of hashes: its level, its index in the level and its width (256 when full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tile {
    /// The level: 0 holds leaf hashes, level `L` the hashes of subtrees of height `8 * L`.
    pub level: u8,
    /// The index of the tile in its level.
    pub index: u64,
    /// How many hashes it holds, 1 to 256.
    pub width: u16,
}

impl Tile {
    /// Whether the tile holds all 256 hashes (and never changes again).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Its path under the log's prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            index_path(self.index),
            width_suffix(self.width)
        )
    }

    /// The height of the subtrees whose hashes the tile holds.
    fn subtree_height(&self) -> u32 {
        u32::from(self.level) * u32::from(TILE_HEIGHT)
    }

    /// The leaves `start .. end` its hashes span, when they fit in a tree this crate handles.
    pub fn leaves(&self) -> Option<(u64, u64)> {
        let first = self.index.checked_mul(u64::from(TILE_WIDTH))?;
        let end = first.checked_add(u64::from(self.width))?;
        let height = self.subtree_height();
        let scale = 1u64.checked_shl(height)?;
        let (start, end) = (first.checked_mul(scale)?, end.checked_mul(scale)?);
        (end <= MAX_TREE_SIZE).then_some((start, end))
    }

    /// The stored-hash indexes of the hashes it holds, in order.
    fn stored_indexes(&self) -> Option<Vec<u64>> {
        self.leaves()?;
        let height = u8::try_from(self.subtree_height()).ok()?;
        let first = self.index * u64::from(TILE_WIDTH);
        Some(
            (0..u64::from(self.width))
                .map(|i| stored_hash_index(height, first + i))
                .collect(),
        )
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A bundle of entries: its index and width (256 when full). Bundle `N` holds the entries of
/// leaves `N * 256 .. N * 256 + width`, which the level-0 tile of the same index and width
/// hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bundle {
    /// The index of the bundle.
    pub index: u64,
    /// How many entries it holds, 1 to 256.
    pub width: u16,
}

impl Bundle {
    /// Whether the bundle holds all 256 entries (and never changes again).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Its path under the log's prefix: `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            index_path(self.index),
            width_suffix(self.width)
        )
    }

    /// The leaf index of its first entry.
    pub fn first_leaf(&self) -> u64 {
        self.index.saturating_mul(u64::from(TILE_WIDTH))
    }

    /// The level-0 tile that hashes its entries.
    pub fn tile(&self) -> Tile {
        Tile {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }
}

impl fmt::Display for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// The number of subtrees of height `8 * level` in a tree of `size` leaves (0 past the top).
fn subtrees_at(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// The tiles of level `level` in a tree of `size` leaves from index `from` on: the full ones,
/// then the partial one, if any.
fn level_tiles(size: u64, level: u8, from: u64) -> impl Iterator<Item = Tile> {
    let subtrees = subtrees_at(size, level);
    let full = subtrees / u64::from(TILE_WIDTH);
    let partial = (subtrees % u64::from(TILE_WIDTH)) as u16;
    let partial = (partial > 0).then_some(Tile {
        level,
        index: full,
        width: partial,
    });
    (from.min(full)..full)
        .map(move |index| Tile {
            level,
            index,
            width: TILE_WIDTH,
        })
        .chain(partial.filter(|tile| tile.index >= from))
}

/// Every tile of the tree of `size` leaves, level by level from 0, each level's full tiles in
/// order and then its partial one. The empty tree has none; the tree of 256 leaves has the full
/// level-0 tile and the level-1 tile of width 1.
pub fn tiles(size: u64) -> impl Iterator<Item = Tile> {
    tiles_since(0, size)
}

/// The tiles of the tree of `new` leaves that the tree of `old` leaves does not have (when
/// `old <= new`): those that are new, or wider. What a mirror published at `old` must add to
/// serve `new`; the others are the same hashes at the same paths.
pub fn tiles_since(old: u64, new: u64) -> impl Iterator<Item = Tile> {
    (0..=MAX_TILE_LEVEL)
        .take_while(move |&level| subtrees_at(new, level) > 0)
        .flat_map(move |level| {
            let first_not_full = subtrees_at(old, level) / u64::from(TILE_WIDTH);
            let old_partial = (subtrees_at(old, level) % u64::from(TILE_WIDTH)) as u16;
            level_tiles(new, level, first_not_full).filter(move |tile| {
                // The partial tile of `old` is still there when `new` ends at the same place.
                !(tile.index == first_not_full && tile.width == old_partial)
            })
        })
}

/// Every entry bundle of the tree of `size` leaves, in order.
pub fn bundles(size: u64) -> impl Iterator<Item = Bundle> {
    bundles_since(0, size)
}

/// The bundles of the tree of `new` leaves that the tree of `old` leaves does not have.
pub fn bundles_since(old: u64, new: u64) -> impl Iterator<Item = Bundle> {
    tiles_since(old, new)
        .take_while(|tile| tile.level == 0)
        .map(|tile| Bundle {
            index: tile.index,
            width: tile.width,
        })
}

/// The hashes `tile` holds, read from the stored hashes of a tree that contains it.
pub fn tile_hashes<R: HashReader + ?Sized>(
    tile: Tile,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    let indexes = tile.stored_indexes().ok_or(TreeError::TooLarge {
        size: tile.leaves().map_or(u64::MAX, |(_, end)| end),
    })?;
    read_exact(reader, &indexes)
}

/// The bytes of `tile` as served: its hashes, concatenated.
pub fn tile_bytes<R: HashReader + ?Sized>(
    tile: Tile,
    reader: &R,
) -> Result<Vec<u8>, TreeError<R::Error>> {
    Ok(tile_hashes(tile, reader)?.concat())
}

/// What is wrong with an entry bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// An entry too long for its 16-bit length.
    #[error("entry {position} of the bundle has {len} bytes; a bundle's entry has at most 65,535")]
    EntryTooLong {
        /// Its position in the bundle, from 0.
        position: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// More entries than a bundle holds.
    #[error("a bundle holds at most 256 entries, not {count}")]
    TooManyEntries {
        /// How many entries were given or found.
        count: usize,
    },
    /// The bytes end inside an entry or its length.
    #[error("the bundle ends inside entry {position}")]
    Truncated {
        /// The position of the entry cut short, from 0.
        position: usize,
    },
}

/// The bytes of a bundle of `entries`: each one's length as a big-endian `u16`, then its bytes.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, BundleError> {
    let mut bytes = Vec::new();
    let mut count = 0;
    for (position, entry) in entries.into_iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLong {
            position,
            len: entry.len(),
        })?;
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(entry);
        count += 1;
    }
    if count > usize::from(TILE_WIDTH) {
        return Err(BundleError::TooManyEntries { count });
    }
    Ok(bytes)
}

/// The entries of a bundle's bytes, in order.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let position = entries.len();
        if position == usize::from(TILE_WIDTH) {
            return Err(BundleError::TooManyEntries {
                count: position + 1,
            });
        }
        let truncated = BundleError::Truncated { position };
        let (len, after) = rest.split_first_chunk::<2>().ok_or(truncated.clone())?;
        let len = usize::from(u16::from_be_bytes(*len));
        let entry = after.get(..len).ok_or(truncated)?;
        entries.push(entry);
        rest = &after[len..];
    }
    Ok(entries)
}

/// A path of the tlog-tiles layout, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`.
    Tile(Tile),
    /// `tile/entries/<N>[.p/<W>]`.
    Bundle(Bundle),
}

/// A path that is not a tile's or a bundle's, in the spec's canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} is not a tile or entry bundle path: {reason}")]
pub struct TilePathError {
    /// The path read.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A decimal number with no sign and no leading zero.
fn plain_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Reads a tile or bundle path (without the log's prefix), refusing any other spelling of the
/// same tile: leading zeros, an `x000` group first, a `.p/256` suffix.
pub fn parse_tile_path(path: &str) -> Result<TilePath, TilePathError> {
    let fail = |reason| TilePathError {
        path: path.to_owned(),
        reason,
    };
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| fail("it does not start with tile/"))?;
    let (level, rest) = rest
        .split_once('/')
        .ok_or_else(|| fail("it has no index"))?;
    let level = match level {
        "entries" => None,
        digits => {
            let level = plain_decimal(digits)
                .and_then(|l| u8::try_from(l).ok())
                .filter(|&l| l <= MAX_TILE_LEVEL)
                .ok_or_else(|| fail("the level is not a number from 0 to 63"))?;
            Some(level)
        }
    };
    let (index, width) = match rest.split_once(".p/") {
        Some((index, width)) => {
            let width = plain_decimal(width)
                .and_then(|w| u16::try_from(w).ok())
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or_else(|| fail("a partial width is a number from 1 to 255"))?;
            (index, width)
        }
        None => (rest, TILE_WIDTH),
    };
    let groups: Vec<&str> = index.split('/').collect();
    let last = groups.len() - 1;
    let mut value: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group
                .strip_prefix('x')
                .ok_or_else(|| fail("every index element but the last starts with x"))?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("an index element has three digits"));
        }
        if i == 0 && i < last && digits == "000" {
            return Err(fail("the index has a leading x000 element"));
        }
        let group: u64 = digits
            .parse()
            .map_err(|_| fail("an index element has three digits"))?;
        value = value
            .checked_mul(1000)
            .and_then(|v| v.checked_add(group))
            .ok_or_else(|| fail("the index is too large"))?;
    }
    Ok(match level {
        Some(level) => TilePath::Tile(Tile {
            level,
            index: value,
            width,
        }),
        None => TilePath::Bundle(Bundle {
            index: value,
            width,
        }),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, node_hash};
    use crate::tree::MemoryTree;

    fn tile(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            level,
            index,
            width,
        }
    }

    #[test]
    fn index_paths_are_3_digit_groups_with_x_but_the_last() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(5), "005");
        assert_eq!(index_path(999), "999");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        assert_eq!(tile(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(tile(2, 3, 17).path(), "tile/2/003.p/17");
        let bundle = Bundle {
            index: 1_234_067,
            width: 8,
        };
        assert_eq!(bundle.path(), "tile/entries/x001/x234/067.p/8");
    }

    #[test]
    fn paths_read_back_and_other_spellings_are_refused() {
        for t in [tile(0, 0, 256), tile(1, 1000, 3), tile(63, u64::MAX, 255)] {
            assert_eq!(parse_tile_path(&t.path()), Ok(TilePath::Tile(t)));
        }
        let bundle = Bundle {
            index: 1_234_067,
            width: 8,
        };
        assert_eq!(
            parse_tile_path(&bundle.path()),
            Ok(TilePath::Bundle(bundle))
        );
        for bad in [
            "tile/0/1",
            "tile/00/001",
            "tile/64/001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/001.p/256",
            "tile/0/001.p/0",
            "tile/0/001.p/07",
            "tile/entries/01",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "checkpoint",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tiles_of_a_size_follow_the_spec_examples() {
        assert_eq!(tiles(0).count(), 0);
        assert_eq!(tiles(1).collect::<Vec<_>>(), [tile(0, 0, 1)]);
        assert_eq!(tiles(255).collect::<Vec<_>>(), [tile(0, 0, 255)]);
        // "a tree of size 256 will be represented by a full level 0 tile and a partial
        // level 1 tile of width 1"
        assert_eq!(
            tiles(256).collect::<Vec<_>>(),
            [tile(0, 0, 256), tile(1, 0, 1)]
        );
        assert_eq!(
            tiles(257).collect::<Vec<_>>(),
            [tile(0, 0, 256), tile(0, 1, 1), tile(1, 0, 1)]
        );
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
        // 17, and one partial level 2 tile of width 1"
        let all: Vec<Tile> = tiles(70_000).collect();
        assert_eq!(all.len(), 273 + 1 + 1 + 1 + 1);
        assert!(all[..273].iter().all(|t| t.level == 0 && t.is_full()));
        assert_eq!(
            all[273..],
            [
                tile(0, 273, 112),
                tile(1, 0, 256),
                tile(1, 1, 17),
                tile(2, 0, 1)
            ]
        );
        let bundles: Vec<Bundle> = bundles(257).collect();
        assert_eq!(
            bundles,
            [
                Bundle {
                    index: 0,
                    width: 256
                },
                Bundle { index: 1, width: 1 }
            ]
        );
    }

    #[test]
    fn the_tiles_since_a_size_are_those_new_or_wider() {
        assert_eq!(tiles_since(7, 7).count(), 0);
        assert_eq!(tiles_since(256, 256).count(), 0);
        assert_eq!(
            tiles_since(0, 300).collect::<Vec<_>>(),
            tiles(300).collect::<Vec<_>>()
        );
        assert_eq!(tiles_since(3, 5).collect::<Vec<_>>(), [tile(0, 0, 5)]);
        assert_eq!(
            tiles_since(255, 257).collect::<Vec<_>>(),
            [tile(0, 0, 256), tile(0, 1, 1), tile(1, 0, 1)]
        );
        // From 256 to 257 the level-1 tile of width 1 stays.
        assert_eq!(tiles_since(256, 257).collect::<Vec<_>>(), [tile(0, 1, 1)]);
        assert_eq!(
            tiles_since(70_000, 70_100).collect::<Vec<_>>(),
            [tile(0, 273, 212)]
        );
        assert_eq!(
            bundles_since(256, 513).collect::<Vec<_>>(),
            [
                Bundle {
                    index: 1,
                    width: 256
                },
                Bundle { index: 2, width: 1 }
            ]
        );
        // Whatever the sizes, the tiles since are those of the new size not in the old.
        for (old, new) in [
            (0, 1),
            (1, 256),
            (255, 65_536),
            (65_536, 65_793),
            (300, 70_000),
        ] {
            let before: Vec<Tile> = tiles(old).collect();
            let expected: Vec<Tile> = tiles(new).filter(|t| !before.contains(t)).collect();
            assert_eq!(
                tiles_since(old, new).collect::<Vec<_>>(),
                expected,
                "{old}..{new}"
            );
        }
    }

    #[test]
    fn tile_hashes_are_subtree_hashes() {
        let mut tree = MemoryTree::new();
        for i in 0..257u32 {
            tree.push(&i.to_be_bytes());
        }
        let hashes = tree.stored_hashes();
        let leaves: Vec<Hash> = (0..257u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(tile_hashes(tile(0, 0, 3), hashes).unwrap(), leaves[..3]);
        assert_eq!(tile_hashes(tile(0, 0, 256), hashes).unwrap(), leaves[..256]);
        assert_eq!(tile_hashes(tile(0, 1, 1), hashes).unwrap(), [leaves[256]]);
        // The level-1 tile of width 1 holds the root of the first 256 leaves.
        assert_eq!(
            tile_hashes(tile(1, 0, 1), hashes).unwrap(),
            [tree.root_at(256).unwrap()]
        );
        let bytes = tile_bytes(tile(0, 0, 2), hashes).unwrap();
        assert_eq!(bytes.len(), 64);
        assert_eq!(bytes[..32], leaves[0]);
        assert_eq!(node_hash(&leaves[0], &leaves[1]), tree.root_at(2).unwrap());
        // A tile the tree does not hold yet is an error, not a made-up hash.
        assert!(tile_hashes(tile(0, 1, 2), hashes).is_err());
        assert!(matches!(
            tile_hashes(tile(8, 0, 1), hashes),
            Err(TreeError::TooLarge { .. })
        ));
    }

    #[test]
    fn bundles_are_length_prefixed_entries() {
        let bytes = encode_bundle([&b"ab"[..], b"", b"xyz"]).unwrap();
        assert_eq!(bytes, b"\x00\x02ab\x00\x00\x00\x03xyz");
        assert_eq!(decode_bundle(&bytes).unwrap(), [&b"ab"[..], b"", b"xyz"]);
        assert_eq!(decode_bundle(b"").unwrap(), Vec::<&[u8]>::new());
        assert_eq!(
            decode_bundle(b"\x00\x02ab\x00\x03xy"),
            Err(BundleError::Truncated { position: 1 })
        );
        assert_eq!(
            decode_bundle(b"\x00"),
            Err(BundleError::Truncated { position: 0 })
        );
        let longest = vec![b'a'; MAX_BUNDLE_ENTRY];
        let bytes = encode_bundle([&longest[..]]).unwrap();
        assert_eq!(bytes[..2], [0xff, 0xff]);
        assert_eq!(decode_bundle(&bytes).unwrap(), [&longest[..]]);
        let over = vec![b'a'; MAX_BUNDLE_ENTRY + 1];
        assert_eq!(
            encode_bundle([&b"ok"[..], &over[..]]),
            Err(BundleError::EntryTooLong {
                position: 1,
                len: 65_536
            })
        );
        let many = vec![&b"e"[..]; 257];
        assert_eq!(
            encode_bundle(many.iter().copied()),
            Err(BundleError::TooManyEntries { count: 257 })
        );
        let too_many = b"\x00\x00".repeat(257);
        assert_eq!(
            decode_bundle(&too_many),
            Err(BundleError::TooManyEntries { count: 257 })
        );
    }
}
