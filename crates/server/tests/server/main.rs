//! The tests of `actledger serve`, in one binary: routes in process, a real loopback port,
//! the HTML pages, snapshots, the OpenAPI schemas against the answers, and a real browser.
#![allow(clippy::unwrap_used)] // a failing test stops at the value

mod browser;
mod bundles;
mod common;
mod lending;
mod loopback;
mod pages;
mod proofs;
mod routes;
mod schema;
mod snapshots;
mod tlog;
