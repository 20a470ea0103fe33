//! Byte-mutation fuzzing on stable Rust, with proptest: each target of `actledger_e2e::fuzz`
//! gets valid seeds mutated (bits flipped, bytes set, inserted, deleted, chunks repeated,
//! inputs cut and spliced). A target must return, not panic, and within a time bound.
//! `PROPTEST_CASES=N` runs more (the long run sets 20,000 per target); failures are shrunk
//! and kept by proptest in `tests/tests/e2e/fuzz.proptest-regressions`.

use std::time::{Duration, Instant};

use actledger_e2e::fuzz::{Target, run, seeds};
use proptest::prelude::*;

/// One mutation: what, where (a fraction of the length), with which byte.
type Mutation = (u8, u32, u8);

fn mutate(seed: &[u8], other: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for &(op, at, byte) in mutations {
        let at = if data.is_empty() {
            0
        } else {
            at as usize % data.len()
        };
        match op % 8 {
            0 if !data.is_empty() => data[at] ^= 1 << (byte % 8),
            1 if !data.is_empty() => data[at] = byte,
            2 => data.insert(at, byte),
            3 if !data.is_empty() => {
                let end = (at + 1 + byte as usize % 16).min(data.len());
                data.drain(at..end);
            }
            4 => {
                // Repeat a chunk: long runs of digits, nested brackets, repeated keys.
                let end = (at + 1 + byte as usize % 32).min(data.len());
                let chunk = data[at..end].to_vec();
                for _ in 0..(byte % 8) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            5 => data.truncate(at),
            6 => {
                // Splice in part of another seed.
                let from = (byte as usize) % other.len().max(1);
                data.splice(at..at, other.iter().skip(from).take(64).copied());
            }
            _ => {
                // A byte that parsers treat specially.
                let special = [b'"', b'\\', b'{', b'}', b'\n', b'\r', 0, 0xff, b'-', b'9'];
                data.insert(at, special[byte as usize % special.len()]);
            }
        }
    }
    data
}

/// Runs `target` on mutated seeds; fails on a panic or an input that takes too long.
fn fuzz(target: Target, data: Vec<u8>) -> Result<(), TestCaseError> {
    let started = Instant::now();
    run(target, &data);
    let took = started.elapsed();
    // Generous for a debug build on a loaded 2-core machine: a bound, not a benchmark.
    prop_assert!(
        took < Duration::from_secs(5),
        "{} took {took:?} on {} bytes",
        target.name(),
        data.len()
    );
    Ok(())
}

fn input(target: Target) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds(target);
    let count = seeds.len();
    (
        0..count,
        0..count,
        prop::collection::vec(any::<Mutation>(), 0..8),
    )
        .prop_map(move |(a, b, mutations)| mutate(&seeds[a], &seeds[b], &mutations))
}

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if crate::support::long() {
            default_cases * 20
        } else {
            default_cases
        });
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn fuzz_event_batch(data in input(Target::EventBatch)) {
        fuzz(Target::EventBatch, data)?;
    }

    #[test]
    fn fuzz_export_line(data in input(Target::ExportLine)) {
        fuzz(Target::ExportLine, data)?;
    }

    #[test]
    fn fuzz_stored_entry(data in input(Target::StoredEntry)) {
        fuzz(Target::StoredEntry, data)?;
    }

    #[test]
    fn fuzz_checkpoint(data in input(Target::Checkpoint)) {
        fuzz(Target::Checkpoint, data)?;
    }

    #[test]
    fn fuzz_proof_json(data in input(Target::ProofJson)) {
        fuzz(Target::ProofJson, data)?;
    }

    #[test]
    fn fuzz_key_file(data in input(Target::KeyFile)) {
        fuzz(Target::KeyFile, data)?;
    }

    #[test]
    fn fuzz_tiles(data in input(Target::Tiles)) {
        fuzz(Target::Tiles, data)?;
    }
}

proptest! {
    // Each case builds a sled database: fewer.
    #![proptest_config(config(100))]

    #[test]
    fn fuzz_import(data in input(Target::Import)) {
        fuzz(Target::Import, data)?;
    }
}

/// Inputs no mutation reaches quickly: huge, deep, or odd as a whole.
#[test]
fn fuzz_targets_survive_extreme_inputs() {
    let deep_array = "[".repeat(100_000);
    let deep_object = r#"{"type":"#.repeat(50_000);
    let extremes: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0; 1 << 20],
        vec![b'{'; 1 << 20],
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        vec![b'\n'; 1 << 20],
        "9".repeat(1 << 20).into_bytes(),
        format!("{{\"seq\":{}", "9".repeat(100_000)).into_bytes(),
        vec![0xff; 4096],
        b"\xEF\xBB\xBF{}".to_vec(),
    ];
    for target in Target::ALL {
        for data in &extremes {
            let started = Instant::now();
            run(target, data);
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} on {} bytes",
                target.name(),
                data.len()
            );
        }
    }
}
