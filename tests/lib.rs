//! End-to-end tests of actledger live in this crate's `tests/` folder; the library is empty.
