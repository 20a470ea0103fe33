//! End-to-end tests of actledger live in this crate's `tests/` folder (one binary, a module per
//! concern: see `docs/RELIABILITY.md`). The library holds what they share with the cargo-fuzz
//! targets of `fuzz/`: the fuzz harness ([`fuzz`]) and a generator of valid histories
//! ([`history`]).
//!
//! ```
//! use actledger_e2e::fuzz::{Target, run, seeds};
//!
//! for target in Target::ALL {
//!     for seed in seeds(target) {
//!         run(target, &seed); // never panics, whatever the bytes
//!     }
//! }
//! ```

pub mod fuzz;
pub mod history;
