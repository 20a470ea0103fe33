//! The store's integration tests: one binary, one module per concern.
//!
//! The crash and lock tests re-execute this binary as a child process (see `child`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test stops with the value

mod append;
mod cache;
mod child;
mod common;
mod compact;
mod crash;
mod derived;
mod engine;
mod export;
mod loan;
mod lock;
mod parts;
mod proofs;
mod read;
mod recovery;
mod reliability;
mod tamper;
