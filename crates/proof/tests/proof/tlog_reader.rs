//! A reader of C2SP tlog-tiles mirrors written from the spec alone (<https://c2sp.org/tlog-tiles>),
//! apart from the writer: it uses nothing of actledger, only SHA-256, so that the writer's
//! tiles are checked against the spec's words rather than against its own arithmetic.
//!
//! Shared by path with the tests of the mirror crate.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Digest32 = [u8; 32];

/// What the reader took from a mirror: the entries, the root it recomputed, and every path it
/// fetched.
#[derive(Debug)]
pub struct ReadMirror {
    pub entries: Vec<Vec<u8>>,
    pub root: Digest32,
    pub fetched: BTreeSet<String>,
}

fn sha256(parts: &[&[u8]]) -> Digest32 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// RFC 6962 §2.1: MTH of a list of leaf hashes, split at the largest power of two below n.
fn mth(leaves: &[Digest32]) -> Digest32 {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

/// "zero-padded 3-digit path elements. All but the last path element MUST begin with an x."
fn n_path(n: u64) -> String {
    let digits = format!("{n}");
    let padded = format!("{:0>width$}", digits, width = digits.len().div_ceil(3) * 3);
    let groups: Vec<&str> = (0..padded.len() / 3)
        .map(|i| &padded[i * 3..i * 3 + 3])
        .collect();
    let mut path = String::new();
    for (i, group) in groups.iter().enumerate() {
        if i + 1 < groups.len() {
            path.push('x');
            path.push_str(group);
            path.push('/');
        } else {
            path.push_str(group);
        }
    }
    path
}

fn with_width(path: String, width: u64) -> String {
    if width == 256 {
        path
    } else {
        format!("{path}.p/{width}")
    }
}

/// Reads the mirror of a tree of `size` entries through `fetch` (a path under the prefix to
/// its bytes), checking every tile and bundle the spec says that size has, and returns what it
/// read, or the first thing that is not as the spec says.
pub fn read_mirror(
    size: u64,
    fetch: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<ReadMirror, String> {
    let mut fetched = BTreeSet::new();
    let mut get = |path: String| -> Result<Vec<u8>, String> {
        let bytes = fetch(&path).ok_or_else(|| format!("{path} is missing"))?;
        fetched.insert(path);
        Ok(bytes)
    };
    // The hashes of every level, from its tiles: level l holds floor(size / 256^l) hashes.
    let mut levels: Vec<Vec<Digest32>> = Vec::new();
    let mut scale: u64 = 1;
    loop {
        let level = levels.len() as u64;
        let count = size / scale;
        if count == 0 {
            break;
        }
        let mut hashes = Vec::new();
        for n in 0..count.div_ceil(256) {
            let width = (count - n * 256).min(256);
            let path = with_width(format!("tile/{level}/{}", n_path(n)), width);
            let bytes = get(path.clone())?;
            if bytes.len() as u64 != width * 32 {
                return Err(format!(
                    "{path} has {} bytes, not {}",
                    bytes.len(),
                    width * 32
                ));
            }
            hashes.extend(bytes.chunks(32).map(|c| <Digest32>::try_from(c).unwrap()));
        }
        levels.push(hashes);
        match scale.checked_mul(256) {
            Some(next) => scale = next,
            None => break,
        }
    }
    // The entries, from the bundles, each hashing to its level-0 hash.
    let mut entries = Vec::new();
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let path = with_width(format!("tile/entries/{}", n_path(n)), width);
        let bytes = get(path.clone())?;
        let mut at = 0;
        let mut found = 0;
        while at < bytes.len() {
            let len = bytes
                .get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                .ok_or_else(|| format!("{path} ends inside a length"))?;
            let entry = bytes
                .get(at + 2..at + 2 + len)
                .ok_or_else(|| format!("{path} ends inside an entry"))?;
            let index = (n * 256 + found) as usize;
            if sha256(&[&[0], entry]) != levels[0][index] {
                return Err(format!(
                    "{path}: entry {found} does not hash to its tile's leaf hash"
                ));
            }
            entries.push(entry.to_vec());
            at += 2 + len;
            found += 1;
        }
        if found != width {
            return Err(format!("{path} holds {found} entries, not {width}"));
        }
    }
    // "MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])" for every hash of every
    // level above 0.
    let leaves = levels.first().cloned().unwrap_or_default();
    let mut span: usize = 1;
    for (level, hashes) in levels.iter().enumerate().skip(1) {
        span *= 256;
        for (i, hash) in hashes.iter().enumerate() {
            if mth(&leaves[i * span..(i + 1) * span]) != *hash {
                return Err(format!(
                    "hash {i} of level {level} is not its subtree's hash"
                ));
            }
        }
    }
    Ok(ReadMirror {
        entries,
        root: mth(&leaves),
        fetched,
    })
}

#[test]
fn the_reader_spells_paths_as_the_spec_does() {
    assert_eq!(n_path(1_234_067), "x001/x234/067");
    assert_eq!(n_path(0), "000");
    assert_eq!(n_path(1000), "x001/000");
    assert_eq!(with_width(n_path(5), 7), "005.p/7");
}
