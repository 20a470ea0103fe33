//! The one integration-test binary of actledger-proof.
#![allow(clippy::unwrap_used)]

mod checkpoint;
mod json;
mod merkle;
mod note;
mod tiles;
mod tlog_reader;

use actledger_proof::Hash;

/// A hash from 64 hex digits, for test vectors.
pub fn h(hex: &str) -> Hash {
    actledger_proof::hash_from_hex(hex).unwrap()
}
