//! Tiles and bundles written by the proof crate at the sizes where the layout turns (0, 1, 255,
//! 256, 257, 65,536 and 65,793 entries) and read back by the reader written from the spec:
//! the same entries, the same root, exactly the paths the spec names; and a mirror brought up
//! to date with the tiles and bundles "since" reads back as one written whole.

use std::collections::BTreeMap;

use actledger_proof::{
    MemoryTree, bundles, bundles_since, encode_bundle, tile_bytes, tiles, tiles_since,
};

use crate::tlog_reader::read_mirror;

const SIZES: [u64; 7] = [0, 1, 255, 256, 257, 65_536, 65_793];

/// Entries of varied lengths, the last ones long.
fn entry(i: u64) -> Vec<u8> {
    let mut entry = format!("{{\"seq\":{}}}", i + 1).into_bytes();
    entry.resize(entry.len() + (i as usize * 7) % 300, b' ');
    entry
}

/// The files a mirror of the first `new` entries adds to one of the first `old`.
fn publish(
    entries: &[Vec<u8>],
    tree: &MemoryTree,
    old: u64,
    new: u64,
    mirror: &mut BTreeMap<String, Vec<u8>>,
) {
    for tile in tiles_since(old, new) {
        let bytes = tile_bytes(tile, tree.stored_hashes()).unwrap();
        assert_eq!(bytes.len(), usize::from(tile.width) * 32, "{tile}");
        mirror.insert(tile.path(), bytes);
    }
    for bundle in bundles_since(old, new) {
        let first = bundle.first_leaf() as usize;
        let slice = &entries[first..first + usize::from(bundle.width)];
        let bytes = encode_bundle(slice.iter().map(Vec::as_slice)).unwrap();
        mirror.insert(bundle.path(), bytes);
    }
}

fn check(mirror: &BTreeMap<String, Vec<u8>>, entries: &[Vec<u8>], tree: &MemoryTree, size: u64) {
    let read = read_mirror(size, &|path| mirror.get(path).cloned())
        .unwrap_or_else(|e| panic!("size {size}: {e}"));
    assert_eq!(read.root, tree.root_at(size).unwrap(), "size {size}");
    assert_eq!(read.entries, entries[..size as usize], "size {size}");
    let expected: Vec<String> = tiles(size)
        .map(|t| t.path())
        .chain(bundles(size).map(|b| b.path()))
        .collect();
    assert_eq!(read.fetched.len(), expected.len(), "size {size}");
    assert!(
        expected.iter().all(|p| read.fetched.contains(p)),
        "size {size}"
    );
}

#[test]
fn a_mirror_written_whole_reads_back_at_every_turning_size() {
    let largest = *SIZES.last().unwrap();
    let entries: Vec<Vec<u8>> = (0..largest).map(entry).collect();
    let mut tree = MemoryTree::new();
    for (i, entry) in entries.iter().enumerate() {
        tree.push(entry);
        let size = i as u64 + 1;
        if SIZES.contains(&size) {
            let mut mirror = BTreeMap::new();
            publish(&entries, &tree, 0, size, &mut mirror);
            check(&mirror, &entries, &tree, size);
            // Nothing but the spec's paths was written.
            assert_eq!(
                mirror.len(),
                read_mirror(size, &|p| mirror.get(p).cloned())
                    .unwrap()
                    .fetched
                    .len()
            );
        }
    }
    let empty = BTreeMap::new();
    check(&empty, &entries, &MemoryTree::new(), 0);
}

#[test]
fn a_mirror_brought_up_to_date_reads_back_as_one_written_whole() {
    let largest = *SIZES.last().unwrap();
    let entries: Vec<Vec<u8>> = (0..largest).map(entry).collect();
    let mut tree = MemoryTree::new();
    for entry in &entries {
        tree.push(entry);
    }
    let mut mirror = BTreeMap::new();
    let mut published = 0;
    for size in SIZES {
        let before = mirror.clone();
        publish(&entries, &tree, published, size, &mut mirror);
        check(&mirror, &entries, &tree, size);
        // A full tile or bundle, once written, is never written again with other bytes.
        for (path, bytes) in &before {
            assert_eq!(mirror.get(path), Some(bytes), "{path} changed");
        }
        published = size;
    }
}

#[test]
fn the_reader_refuses_a_changed_byte_of_a_tile_or_a_bundle() {
    let entries: Vec<Vec<u8>> = (0..257).map(entry).collect();
    let mut tree = MemoryTree::new();
    for entry in &entries {
        tree.push(entry);
    }
    let mut mirror = BTreeMap::new();
    publish(&entries, &tree, 0, 257, &mut mirror);
    for path in [
        "tile/0/000",
        "tile/0/001.p/1",
        "tile/1/000.p/1",
        "tile/entries/000",
    ] {
        let mut changed = mirror.clone();
        changed.get_mut(path).unwrap()[5] ^= 1;
        assert!(
            read_mirror(257, &|p| changed.get(p).cloned()).is_err(),
            "{path}"
        );
    }
}
