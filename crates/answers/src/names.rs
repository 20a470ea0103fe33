//! Persons' names as of a point, each read once: what answers over many rows or offices name
//! persons with.
//!
//! An answer reads the names the store keeps at the head (`N` records, which `verify` compares
//! with the log), and the log's before it; the monitor's recomputation of the state reads the
//! log's at every point, so that it checks the kept records rather than trusting them.

use std::collections::HashMap;

use actledger_core::{PersonId, Seq, name_of};
use actledger_store::{Ledger, StoreError};

/// Names as of `size`, read from the kept records or from the log.
pub(crate) struct Names<'a> {
    ledger: &'a Ledger,
    size: Seq,
    kept: bool,
    known: HashMap<PersonId, Option<String>>,
}

impl<'a> Names<'a> {
    /// Names as an answer gives them: the kept ones when `size` is the head.
    pub(crate) fn answering(ledger: &'a Ledger, size: Seq) -> Names<'a> {
        Names {
            ledger,
            size,
            kept: size == ledger.head().count,
            known: HashMap::new(),
        }
    }

    /// Names from the log alone, at any size.
    pub(crate) fn from_log(ledger: &'a Ledger, size: Seq) -> Names<'a> {
        Names {
            ledger,
            size,
            kept: false,
            known: HashMap::new(),
        }
    }

    /// The size the names are as of.
    pub(crate) fn size(&self) -> Seq {
        self.size
    }

    /// `person`'s latest name as of the size, if any.
    pub(crate) fn of(&mut self, person: &PersonId) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.known.get(person) {
            return Ok(name.clone());
        }
        let name = if self.kept {
            self.ledger.stored_name(person)?
        } else {
            name_of(self.ledger, person, self.size)?
        };
        self.known.insert(person.clone(), name.clone());
        Ok(name)
    }
}
