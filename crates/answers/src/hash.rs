//! A SHA-256 hash as answers show it: the core's [`HexHash`], which the state's leaves carry.

pub use actledger_core::HexHash;
