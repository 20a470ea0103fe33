//! `repair`: every derived record rebuilt from the log, once the log itself verifies.
//!
//! The comparison of `verify` says what differs; the rebuild is the one recovery uses after an
//! interrupted append ([`Ledger::rebuild_derived`]), so there is one way derived records are
//! made. A durable intent record (`Mrepair`) is written before the first change and removed
//! after the last flush: a repair interrupted at any moment leaves the record, and the next
//! open (or repair) rebuilds again from the start. Rebuilding is idempotent, so running it
//! twice is harmless.

use std::path::Path;
use std::time::Duration;

use crate::error::storage;
use crate::error::{Findings, StoreError, Verdict};
use crate::keys;
use crate::ledger::Ledger;
use crate::verify::Scope;
use crate::writes::{WriteSet, Writes};

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// The log itself fails verification (or the storage engine found its files damaged):
    /// nothing was changed, since nothing sound can be rebuilt from it.
    LogFails(Verdict),
    /// Every derived record already matched the log: nothing was written.
    NothingToRepair {
        /// How many entries the log holds.
        count: u64,
        /// The hash of its last entry.
        head: [u8; 32],
    },
    /// The derived records were rebuilt from the log; `findings` is what differed before.
    Rebuilt {
        /// How many entries the log holds.
        count: u64,
        /// The hash of its last entry.
        head: [u8; 32],
        /// What differed from the log before the rebuild.
        findings: Findings,
    },
}

/// The meta records the store writes itself; any other `M` record is removed by a repair.
const META_KEPT: [&[u8]; 4] = [
    keys::META_FORMAT,
    keys::META_HEAD,
    keys::META_CACHE,
    keys::META_TREE,
];

/// Repairs the ledger at `path` (see the module's comment), waiting up to `wait` for another
/// process to let go of it.
pub fn repair_path(path: &Path, wait: Duration) -> Result<Repair, StoreError> {
    // Opened as verification opens it: an interrupted append is settled, but nothing derived
    // is trusted or rebuilt yet.
    match crate::open::waiting_on_loan(path, wait, || Ledger::open_settled_ledger(path)) {
        // A loan, if any, is given back when the repair is done.
        Ok((Ok(mut ledger), _loan)) => ledger.repair(),
        Ok((Err(verdict), _loan)) => Ok(Repair::LogFails(verdict)),
        Err(StoreError::Corrupt { reason, .. }) => {
            Ok(Repair::LogFails(Verdict::Unreadable { reason }))
        }
        Err(e) => Err(e),
    }
}

impl Ledger {
    /// Checks the log, compares the derived records with it, and rebuilds them all when any
    /// differs.
    pub fn repair(&mut self) -> Result<Repair, StoreError> {
        let verdict = match self.verify_scoped(Scope::Everything, None) {
            Err(StoreError::Corrupt { reason, .. }) => Verdict::Unreadable { reason },
            other => other?,
        };
        let (count, head, findings) = match verdict {
            Verdict::Intact { count, head } => {
                return Ok(Repair::NothingToRepair { count, head });
            }
            Verdict::Diverged {
                count,
                head,
                findings,
            } => (count, head, findings),
            other => return Ok(Repair::LogFails(other)),
        };
        self.db
            .insert(keys::META_REPAIR, &[])
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        self.finish_repair()?;
        Ok(Repair::Rebuilt {
            count,
            head,
            findings,
        })
    }

    /// Rebuilds every derived record and removes what the store never writes, then the
    /// intent record, last. Run by a repair, and by an open that finds the intent record.
    pub(crate) fn finish_repair(&mut self) -> Result<(), StoreError> {
        // The repair's intent record covers a crash between two slices.
        let mut batch = WriteSet::default();
        for prefix in 0..=u8::MAX {
            if keys::WRITTEN.contains(&prefix) {
                continue;
            }
            for item in self.db.scan_prefix([prefix]) {
                let (key, _) = item.map_err(storage(&self.path))?;
                batch.remove(key);
            }
        }
        for item in self.db.scan_prefix([keys::META]) {
            let (key, _) = item.map_err(storage(&self.path))?;
            if !META_KEPT.contains(&key.as_ref()) && key.as_ref() != keys::META_REPAIR {
                batch.remove(key);
            }
        }
        batch.apply_in_slices(&self.db, &self.path)?;
        self.rebuild_derived()?;
        self.db
            .remove(keys::META_REPAIR)
            .map_err(storage(&self.path))?;
        self.db.flush().map_err(storage(&self.path))?;
        Ok(())
    }

    /// Completes a repair that was interrupted, if there was one: on open.
    pub(crate) fn complete_repair(&mut self) -> Result<bool, StoreError> {
        if !self
            .db
            .contains_key(keys::META_REPAIR)
            .map_err(storage(&self.path))?
        {
            return Ok(false);
        }
        self.finish_repair()?;
        Ok(true)
    }
}
