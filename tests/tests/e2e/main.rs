//! The reliability suite of issue #7, end to end: one test binary, one module per concern.
//! `docs/RELIABILITY.md` says what each tries, how often, and how to rerun it longer.
//!
//! Sizes: small by default (CI); `ACTLEDGER_LONG=1` for the long run (`tests/long-run.sh`).
//! Several tests re-execute this binary as a child process (see `child`), and the CLI tests
//! build and run the `actledger` binary (see `support::cli`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test stops with the value

mod answers;
mod child;
mod contention;
mod corruption;
mod crash;
mod full_disk;
mod fuzz;
mod interrupt;
mod parity;
mod repair;
mod support;
