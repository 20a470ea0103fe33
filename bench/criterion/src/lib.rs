//! Fixtures for the criterion benches (`benches/hot_paths.rs`): generated streams, their
//! export, and ledgers built from them.

use std::path::Path;

use actledger_gen::Generator;
use actledger_store::{Entry, Ledger, ZERO_HASH};

/// The recording time every fixture entry gets.
pub const TIME: &str = "2026-01-01T00:00:00.000000Z";

/// The first `n` lines of the stream of `seed`, and the generator, ready for the lines after.
pub fn stream(seed: u64, n: usize) -> (Vec<String>, Generator) {
    let mut generator = Generator::new(seed);
    let lines = generator.by_ref().take(n).collect();
    (lines, generator)
}

/// The export a ledger holding `lines` (from position 1) would write.
pub fn export_of(lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = ZERO_HASH;
    for (seq, line) in (1..).zip(lines) {
        let entry = Entry::new(seq, TIME.to_owned(), prev, line.as_bytes().to_vec());
        out.extend_from_slice(entry.export_line().as_bytes());
        prev = entry.hash;
    }
    out
}

/// A ledger at `path` holding `lines`, built by importing their export.
pub fn ledger_of(path: &Path, lines: &[String]) -> Ledger {
    let export = export_of(lines);
    Ledger::import(path, &mut &export[..], &mut |_| {}).expect("a generated stream imports")
}
