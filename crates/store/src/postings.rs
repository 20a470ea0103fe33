//! Packed postings: the positions an index lists for one key, stored a block of up to
//! [`BLOCK_LEN`] positions per sled key instead of one key per position (layout version 2,
//! `docs/FORMAT.md`).
//!
//! - `O` office 0x00 first and `P` person 0x00 first: a block whose first position is `first`
//!   (u64 BE), its value `count, first, delta, delta...` as LEB128 varints. The last block of an
//!   identifier is rewritten by the append that adds to it; full blocks never change.
//! - `A` bucket (u16 BE): every act whose [`bucket`] is `bucket`, sorted, each as
//!   `length, act bytes, count, first, delta...`. A few tens of thousands of keys hold every
//!   act, however many there are.
//!
//! A block names its first position in its key and in its value, and its positions must
//! strictly increase: a block moved, cut or changed reads as damage, never as other positions.

use std::collections::BTreeMap;
use std::path::Path;

use sled::Db;

use actledger_core::Seq;

use crate::error::StoreError;
use crate::error::storage;
use crate::keys;
use crate::varint;
use crate::writes::Writes;

/// The most positions in one `O` or `P` block.
pub const BLOCK_LEN: usize = 256;

/// How many `A` buckets there are.
pub const ACT_BUCKETS: u64 = 1 << 16;

/// The bucket of an act: FNV-1a (64-bit) of its bytes, modulo [`ACT_BUCKETS`].
pub fn bucket(act: &str) -> u16 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in act.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    u16::try_from(h % ACT_BUCKETS).expect("below 2^16")
}

/// Appends `count, first, delta...` for `seqs` (strictly increasing, not empty).
fn put_list(out: &mut Vec<u8>, seqs: &[Seq]) {
    varint::put(out, seqs.len() as u64);
    let mut before = 0;
    for (i, &seq) in seqs.iter().enumerate() {
        varint::put(out, if i == 0 { seq } else { seq - before });
        before = seq;
    }
}

/// Reads `count, first, delta...`: `None` if cut short, empty, or not strictly increasing.
fn take_list(bytes: &mut &[u8]) -> Option<Vec<Seq>> {
    let count = usize::try_from(varint::take(bytes)?).ok()?;
    if count == 0 || count > bytes.len() {
        return None;
    }
    let mut seqs = Vec::with_capacity(count);
    let mut seq = varint::take(bytes)?;
    seqs.push(seq);
    for _ in 1..count {
        let delta = varint::take(bytes)?;
        if delta == 0 {
            return None;
        }
        seq = seq.checked_add(delta)?;
        seqs.push(seq);
    }
    Some(seqs)
}

/// Reads past `count, first, delta...` as [`take_list`] reads it, refusing what it refuses,
/// without keeping the positions.
fn skip_list(bytes: &mut &[u8]) -> Option<()> {
    let count = usize::try_from(varint::take(bytes)?).ok()?;
    if count == 0 || count > bytes.len() {
        return None;
    }
    let mut seq = varint::take(bytes)?;
    for _ in 1..count {
        let delta = varint::take(bytes)?;
        if delta == 0 {
            return None;
        }
        seq = seq.checked_add(delta)?;
    }
    Some(())
}

fn malformed(path: &Path, what: &'static str) -> StoreError {
    crate::error::damaged(path, crate::error::Damage::Index { what })
}

/// Decodes an `O` or `P` block stored under `key`, whose prefix is `prefix`.
fn block(path: &Path, prefix: &[u8], key: &[u8], value: &[u8]) -> Result<Vec<Seq>, StoreError> {
    let bad = || malformed(path, "a posting block");
    if key.len() != prefix.len() + 8 {
        return Err(bad());
    }
    let first = keys::seq_suffix(key).ok_or_else(bad)?;
    let mut rest = value;
    let seqs = take_list(&mut rest).ok_or_else(bad)?;
    if !rest.is_empty() || seqs.len() > BLOCK_LEN || seqs[0] != first {
        return Err(bad());
    }
    Ok(seqs)
}

/// Every position listed under `prefix` (`O` or `P`, an identifier, 0x00), in order.
pub(crate) fn read_postings(db: &Db, path: &Path, prefix: &[u8]) -> Result<Vec<Seq>, StoreError> {
    let mut all: Vec<Seq> = Vec::new();
    for item in db.scan_prefix(prefix) {
        let (key, value) = item.map_err(storage(path))?;
        let seqs = block(path, prefix, &key, &value)?;
        if all.last().is_some_and(|last| *last >= seqs[0]) {
            return Err(malformed(path, "a posting block"));
        }
        all.extend(seqs);
    }
    Ok(all)
}

pub(crate) fn act_key(bucket: u16) -> [u8; 3] {
    let b = bucket.to_be_bytes();
    [keys::ACT, b[0], b[1]]
}

/// Walks an `A` bucket's acts in order, checking that each name is UTF-8 and sorts after the
/// one before; `list` reads (or skips) the act's positions from the bytes after its name.
/// `None` when any of it cannot be read.
fn walk_bucket<'v>(
    value: &'v [u8],
    mut list: impl FnMut(&'v str, &mut &'v [u8]) -> Option<()>,
) -> Option<()> {
    let mut rest = value;
    let mut last: Option<&str> = None;
    while !rest.is_empty() {
        let len = usize::try_from(varint::take(&mut rest)?).ok()?;
        if len > rest.len() {
            return None;
        }
        let (name, tail) = rest.split_at(len);
        rest = tail;
        let name = std::str::from_utf8(name).ok()?;
        if last.is_some_and(|l| l >= name) {
            return None;
        }
        list(name, &mut rest)?;
        last = Some(name);
    }
    Some(())
}

/// Decodes an `A` bucket: its acts, sorted, with their positions.
fn decode_bucket(path: &Path, value: &[u8]) -> Result<BTreeMap<String, Vec<Seq>>, StoreError> {
    let mut acts = BTreeMap::new();
    walk_bucket(value, |name, rest| {
        acts.insert(name.to_owned(), take_list(rest)?);
        Some(())
    })
    .ok_or_else(|| malformed(path, "an act bucket"))?;
    Ok(acts)
}

fn encode_bucket(acts: &BTreeMap<String, Vec<Seq>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (act, seqs) in acts {
        varint::put(&mut out, act.len() as u64);
        out.extend_from_slice(act.as_bytes());
        put_list(&mut out, seqs);
    }
    out
}

/// Decodes the `A` bucket `bucket` for verification: besides what [`read_act`] checks, the
/// bucket holds at least one act, each act belongs to it, and the value is exactly what
/// [`encode_bucket`] writes for what it holds (so its bytes are a function of its positions).
pub(crate) fn decode_bucket_strictly(
    value: &[u8],
    bucket: u16,
) -> Result<BTreeMap<String, Vec<Seq>>, &'static str> {
    let acts =
        decode_bucket(Path::new(""), value).map_err(|_| "it cannot be read as an act bucket")?;
    if acts.is_empty() {
        return Err("it holds no act");
    }
    if acts.keys().any(|act| self::bucket(act) != bucket) {
        return Err("it holds an act of another bucket");
    }
    if encode_bucket(&acts) != value {
        return Err("it is not encoded as the store encodes it");
    }
    Ok(acts)
}

/// Decodes an `O` or `P` block for verification: its key is the identifier's prefix (the
/// first `id_len` bytes) and its first position, and its value is exactly what the store
/// writes for its positions.
pub(crate) fn block_strictly(
    key: &[u8],
    id_len: usize,
    value: &[u8],
) -> Result<Vec<Seq>, &'static str> {
    let seqs = block(Path::new(""), &key[..id_len.min(key.len())], key, value)
        .map_err(|_| "it cannot be read as a posting block under its key")?;
    let mut canonical = Vec::with_capacity(value.len());
    put_list(&mut canonical, &seqs);
    if canonical != value {
        return Err("it is not encoded as the store encodes it");
    }
    Ok(seqs)
}

/// The positions of the events whose `act` is `act`, in order. The act's bucket is read as
/// [`decode_bucket`] reads it, every act in it checked to belong to it, but only `act`'s
/// positions are kept: an append looks up every act it records, and most buckets hold several.
pub(crate) fn read_act(db: &Db, path: &Path, act: &str) -> Result<Vec<Seq>, StoreError> {
    let bucket = bucket(act);
    let Some(value) = db.get(act_key(bucket)).map_err(storage(path))? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    walk_bucket(&value, |name, rest| {
        if self::bucket(name) != bucket {
            return None;
        }
        if name == act {
            found = take_list(rest)?;
            Some(())
        } else {
            skip_list(rest)
        }
    })
    .ok_or_else(|| malformed(path, "an act bucket"))?;
    Ok(found)
}

/// The postings of one batch, gathered before they are merged with the stored ones.
#[derive(Debug, Default)]
pub(crate) struct PostingWriter {
    /// `O` or `P` prefix -> new positions, in order.
    lists: BTreeMap<Vec<u8>, Vec<Seq>>,
    /// bucket -> act -> new positions, in order.
    acts: BTreeMap<u16, BTreeMap<String, Vec<Seq>>>,
}

impl PostingWriter {
    /// Lists `seq` under `prefix` (`O` or `P`, an identifier, 0x00).
    pub fn add(&mut self, prefix: Vec<u8>, seq: Seq) {
        self.lists.entry(prefix).or_default().push(seq);
    }

    /// Lists `seq` under the act `act`.
    pub fn add_act(&mut self, act: &str, seq: Seq) {
        self.acts
            .entry(bucket(act))
            .or_default()
            .entry(act.to_owned())
            .or_default()
            .push(seq);
    }

    /// Merges the new positions with the stored tail blocks and buckets, into `batch`.
    pub fn write(self, db: &Db, path: &Path, batch: &mut impl Writes) -> Result<(), StoreError> {
        for (prefix, new) in self.lists {
            let mut seqs = Vec::new();
            if let Some(item) = db.scan_prefix(&prefix).next_back() {
                let (key, value) = item.map_err(storage(path))?;
                let tail = block(path, &prefix, &key, &value)?;
                if tail.len() < BLOCK_LEN {
                    seqs = tail;
                }
            }
            if seqs.last().is_some_and(|last| *last >= new[0]) {
                return Err(malformed(path, "a posting block"));
            }
            seqs.extend(new);
            for chunk in seqs.chunks(BLOCK_LEN) {
                let mut key = prefix.clone();
                key.extend_from_slice(&chunk[0].to_be_bytes());
                let mut value = Vec::with_capacity(2 + chunk.len() * 2);
                put_list(&mut value, chunk);
                batch.insert(key, value);
            }
        }
        for (bucket, new) in self.acts {
            let key = act_key(bucket);
            let mut acts = match db.get(key).map_err(storage(path))? {
                Some(value) => decode_bucket(path, &value)?,
                None => BTreeMap::new(),
            };
            for (act, seqs) in new {
                let list = acts.entry(act).or_default();
                if list.last().is_some_and(|last| *last >= seqs[0]) {
                    return Err(malformed(path, "an act bucket"));
                }
                list.extend(seqs);
            }
            batch.insert(&key, encode_bucket(&acts));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip() {
        for seqs in [vec![1], vec![1, 2, 3], vec![7, 300, 70_000, u64::MAX]] {
            let mut out = Vec::new();
            put_list(&mut out, &seqs);
            let mut bytes = &out[..];
            assert_eq!(take_list(&mut bytes), Some(seqs));
            assert!(bytes.is_empty());
        }
    }

    #[test]
    fn malformed_lists_are_refused() {
        // A repeated position (delta 0), a list cut short, an empty list.
        for bytes in [&[2u8, 5, 0][..], &[3, 5, 1], &[0], &[]] {
            let mut b = bytes;
            assert_eq!(take_list(&mut b), None, "{bytes:?}");
        }
    }

    #[test]
    fn skipping_a_list_refuses_what_reading_it_refuses() {
        let mut good = Vec::new();
        put_list(&mut good, &[3, 9, 1_000_000]);
        let cases: [&[u8]; 6] = [&good, &[2, 5, 0], &[3, 5, 1], &[0], &[], &[1, 0xff]];
        for bytes in cases {
            let (mut a, mut b) = (bytes, bytes);
            let read = take_list(&mut a).map(|_| ());
            assert_eq!(skip_list(&mut b), read, "{bytes:?}");
            if read.is_some() {
                assert_eq!(a, b, "both stop at the same byte: {bytes:?}");
            }
        }
    }

    #[test]
    fn an_act_is_read_from_its_bucket_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        // Acts that share a bucket: found by trying names until three collide.
        let mut acts: Vec<String> = Vec::new();
        let target = bucket("RS-0");
        for i in 0.. {
            let act = format!("RS-{i}");
            if bucket(&act) == target {
                acts.push(act);
                if acts.len() == 3 {
                    break;
                }
            }
        }
        let mut stored = BTreeMap::new();
        for (i, act) in acts.iter().enumerate() {
            stored.insert(act.clone(), vec![i as Seq + 1, i as Seq + 10]);
        }
        db.insert(act_key(target), encode_bucket(&stored)).unwrap();
        let path = Path::new("(test)");
        for (act, seqs) in &stored {
            assert_eq!(&read_act(&db, path, act).unwrap(), seqs);
        }
        assert_eq!(read_act(&db, path, "RS-none").unwrap(), Vec::<Seq>::new());
        // A bucket holding an act of another bucket, or cut short, is damage.
        let mut foreign = stored.clone();
        let other = (0..)
            .map(|i| format!("X-{i}"))
            .find(|a| bucket(a) != target)
            .unwrap();
        foreign.insert(other, vec![4]);
        db.insert(act_key(target), encode_bucket(&foreign)).unwrap();
        assert!(read_act(&db, path, &acts[0]).is_err());
        let whole = encode_bucket(&stored);
        db.insert(act_key(target), &whole[..whole.len() - 1])
            .unwrap();
        assert!(read_act(&db, path, &acts[0]).is_err());
    }

    #[test]
    fn buckets_round_trip() {
        let mut acts = BTreeMap::new();
        acts.insert("A-1".to_owned(), vec![1, 5]);
        acts.insert("B-2".to_owned(), vec![3]);
        let path = Path::new("(test)");
        assert_eq!(decode_bucket(path, &encode_bucket(&acts)).unwrap(), acts);
    }
}
