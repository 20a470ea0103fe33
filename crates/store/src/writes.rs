//! Where the writes of an append, an import or a rebuild go: a sled batch, or a set of writes
//! that keeps its keys (so that an append whose flush fails can be taken back out of the tree
//! before any answer sees it) and can be applied in slices (so that a large write does not
//! hold sled's copies of every node it changes at once).

use std::path::Path;

use sled::{Batch, Db, IVec};

use crate::error::{StoreError, storage};

/// A batch of writes to the tree.
pub(crate) trait Writes {
    /// Sets `key` to `value`.
    fn insert<K: Into<IVec>, V: Into<IVec>>(&mut self, key: K, value: V);
    /// Removes `key`.
    fn remove<K: Into<IVec>>(&mut self, key: K);
}

impl Writes for Batch {
    fn insert<K: Into<IVec>, V: Into<IVec>>(&mut self, key: K, value: V) {
        Batch::insert(self, key, value);
    }

    fn remove<K: Into<IVec>>(&mut self, key: K) {
        Batch::remove(self, key);
    }
}

/// The most writes, and the most bytes of keys and values, that [`WriteSet::apply_in_slices`]
/// hands sled in one batch. sled pins one epoch for a whole batch, so the copy of a node that
/// each of its inserts makes stays in memory until the batch ends: memory grows with the
/// batch, whatever sled's cache capacity. Measured with sled alone (`bench/sled-ceiling
/// batches`, 100 MB of 4,000-byte values under consecutive keys, 16 MiB of cache): 74 MiB of
/// peak RSS in batches of 1,000 values, 40 MiB in batches of 256, 33 MiB in batches of 64.
const SLICE_WRITES: usize = 256;
const SLICE_BYTES: usize = 256 << 10;

/// Writes to the tree, kept in the order made, so that they can be applied in one atomic sled
/// batch ([`WriteSet::into_batch`]) or in slices of bounded size
/// ([`WriteSet::apply_in_slices`]), and undone ([`WriteSet::with_undo`]).
#[derive(Debug, Default)]
pub(crate) struct WriteSet {
    /// Each key with its new value, or none for a removal.
    writes: Vec<(IVec, Option<IVec>)>,
}

impl Writes for WriteSet {
    fn insert<K: Into<IVec>, V: Into<IVec>>(&mut self, key: K, value: V) {
        self.writes.push((key.into(), Some(value.into())));
    }

    fn remove<K: Into<IVec>>(&mut self, key: K) {
        self.writes.push((key.into(), None));
    }
}

impl WriteSet {
    /// Every key written, in the order written (a key may come more than once).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &IVec> {
        self.writes.iter().map(|(key, _)| key)
    }

    /// One sled batch, applied whole or not at all: the last write of a key wins.
    pub(crate) fn into_batch(self) -> Batch {
        let mut batch = Batch::default();
        for (key, value) in self.writes {
            put(&mut batch, key, value);
        }
        batch
    }

    /// Applies the writes in key order (the last write of a key wins, as in one batch), in
    /// sled batches of at most [`SLICE_WRITES`] writes and about [`SLICE_BYTES`] bytes, none
    /// flushed. Not atomic: only for writes that an intent record or a staging folder already
    /// covers, where a crash between two slices is undone whole.
    pub(crate) fn apply_in_slices(self, db: &Db, path: &Path) -> Result<(), StoreError> {
        let mut writes = self.writes;
        // Reversed, then sorted stably by key: a key's last write comes first among its own,
        // and is the one kept.
        writes.reverse();
        writes.sort_by(|a, b| a.0.cmp(&b.0));
        writes.dedup_by(|later, kept| later.0 == kept.0);
        let mut slice = Batch::default();
        let (mut count, mut bytes) = (0, 0);
        for (key, value) in writes {
            count += 1;
            bytes += key.len() + value.as_ref().map_or(0, |value| value.len());
            put(&mut slice, key, value);
            if count == SLICE_WRITES || bytes >= SLICE_BYTES {
                db.apply_batch(std::mem::take(&mut slice))
                    .map_err(storage(path))?;
                (count, bytes) = (0, 0);
            }
        }
        if count > 0 {
            db.apply_batch(slice).map_err(storage(path))?;
        }
        Ok(())
    }

    /// The batch, and the batch that puts back every key it writes as `db` holds it now.
    pub(crate) fn with_undo(self, db: &Db, path: &Path) -> Result<(Batch, Batch), StoreError> {
        let mut keys: Vec<IVec> = self.keys().cloned().collect();
        keys.sort_unstable();
        keys.dedup();
        let mut undo = Batch::default();
        for key in keys {
            match db.get(&key).map_err(storage(path))? {
                Some(old) => undo.insert(key, old),
                None => undo.remove(key),
            }
        }
        Ok((self.into_batch(), undo))
    }
}

/// Sets `key` to `value` in `batch`, or removes it for none.
fn put(batch: &mut Batch, key: IVec, value: Option<IVec>) {
    match value {
        Some(value) => batch.insert(key, value),
        None => batch.remove(key),
    }
}

#[cfg(test)]
mod tests {
    use super::{SLICE_WRITES, WriteSet, Writes};

    fn contents(db: &sled::Db) -> Vec<(Vec<u8>, Vec<u8>)> {
        db.iter()
            .map(|item| {
                let (key, value) = item.unwrap();
                (key.to_vec(), value.to_vec())
            })
            .collect()
    }

    /// Writes over several slices, with keys written twice, removed, removed then written
    /// again, and a value larger than a slice's bytes.
    fn writes() -> WriteSet {
        let mut writes = WriteSet::default();
        for i in 0..(3 * SLICE_WRITES as u32) {
            writes.insert(&i.to_be_bytes()[..], format!("first {i}").into_bytes());
        }
        for i in (0..(3 * SLICE_WRITES as u32)).step_by(7) {
            writes.insert(&i.to_be_bytes()[..], format!("second {i}").into_bytes());
        }
        for i in (0..(3 * SLICE_WRITES as u32)).step_by(5) {
            writes.remove(&i.to_be_bytes()[..]);
        }
        for i in (0..(3 * SLICE_WRITES as u32)).step_by(35) {
            writes.insert(&i.to_be_bytes()[..], format!("again {i}").into_bytes());
        }
        writes.insert(&b"large"[..], vec![7u8; 600 << 10]);
        writes.remove(&b"old"[..]);
        writes
    }

    #[test]
    fn writes_applied_in_slices_leave_what_one_batch_leaves() {
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let [whole, sliced] = dirs.each_ref().map(|dir| sled::open(dir.path()).unwrap());
        for db in [&whole, &sliced] {
            db.insert(b"old", b"gone").unwrap();
            db.insert(b"kept", b"there").unwrap();
        }
        whole.apply_batch(writes().into_batch()).unwrap();
        writes()
            .apply_in_slices(&sliced, std::path::Path::new("test"))
            .unwrap();
        let left = contents(&sliced);
        assert_eq!(left, contents(&whole));
        let get = |key: &[u8]| {
            left.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get(&0u32.to_be_bytes()).as_deref(), Some("again 0"));
        assert_eq!(get(&7u32.to_be_bytes()).as_deref(), Some("second 7"));
        assert_eq!(get(&5u32.to_be_bytes()), None);
        assert_eq!(get(&1u32.to_be_bytes()).as_deref(), Some("first 1"));
        assert_eq!(get(b"old"), None);
        assert_eq!(get(b"kept").as_deref(), Some("there"));
        assert_eq!(get(b"large").map(|v| v.len()), Some(600 << 10));
    }
}
