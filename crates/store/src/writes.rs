//! Where the writes of an append, an import or a rebuild go: a sled batch, or one that also
//! keeps the keys it writes, so that an append whose flush fails can be taken back out of the
//! tree before any answer sees it.

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

/// A batch that keeps the keys it writes, so that the batch undoing it can be had before it
/// is applied ([`Undoable::with_undo`]).
#[derive(Debug, Default)]
pub(crate) struct Undoable {
    batch: Batch,
    keys: Vec<IVec>,
}

impl Writes for Undoable {
    fn insert<K: Into<IVec>, V: Into<IVec>>(&mut self, key: K, value: V) {
        let key = key.into();
        self.keys.push(key.clone());
        self.batch.insert(key, value);
    }

    fn remove<K: Into<IVec>>(&mut self, key: K) {
        let key = key.into();
        self.keys.push(key.clone());
        self.batch.remove(key);
    }
}

impl Undoable {
    /// Every key written, in the order written (a key may come more than once).
    pub(crate) fn keys(&self) -> &[IVec] {
        &self.keys
    }

    /// The batch alone.
    pub(crate) fn into_batch(self) -> Batch {
        self.batch
    }

    /// The batch, and the batch that puts back every key it writes as `db` holds it now.
    pub(crate) fn with_undo(self, db: &Db, path: &Path) -> Result<(Batch, Batch), StoreError> {
        let mut keys = self.keys;
        keys.sort_unstable();
        keys.dedup();
        let mut undo = Batch::default();
        for key in keys {
            match db.get(&key).map_err(storage(path))? {
                Some(old) => undo.insert(key, old),
                None => undo.remove(key),
            }
        }
        Ok((self.batch, undo))
    }
}
