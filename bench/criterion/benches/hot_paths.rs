//! The hot paths of actledger on generated data, each doing the work it does for real:
//!
//! - `parse`: 1,000 events of NDJSON into typed events;
//! - `validate`: the next 1,000 events of a stream against a 100,000-event ledger on disk;
//! - `append`: one act (the next three events of the stream), durable, on that ledger; and
//!   10,000 events in one batch into a fresh ledger;
//! - `who_held`: at the head of the 100,000-event ledger, open, and then with the ledger
//!   opened anew for each query (what the CLI pays);
//! - `verify`: the chain of a 10,000-entry ledger (throughput in bytes of its export).
//!
//! ```sh
//! cargo bench --manifest-path bench/Cargo.toml -p actledger-bench
//! ```

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use actledger_bench::{export_of, ledger_of, stream};
use actledger_core::{Day, parse_batch, validate_batch, who_held};
use actledger_store::{Ledger, Verdict};

const SEED: u64 = 1;
const LEDGER_EVENTS: usize = 100_000;

fn ndjson(lines: &[String]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

fn parse(c: &mut Criterion) {
    let (lines, _) = stream(SEED, 1_000);
    let input = ndjson(&lines);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("1000 events", |b| {
        b.iter(|| parse_batch(&input).expect("generated events parse"));
    });
    group.finish();
}

fn on_a_large_ledger(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("ledger");
    let (lines, mut rest) = stream(SEED, LEDGER_EVENTS);
    let mut ledger = ledger_of(&path, &lines);
    drop(lines);

    let next: Vec<String> = rest.by_ref().take(1_000).collect();
    let batch = parse_batch(&ndjson(&next)).expect("generated events parse");
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("1000 events on a 100k ledger", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| validate_batch(&ledger, batch).expect("the next events are valid"),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    let day = Day::parse("1962-06-03").expect("a day");
    let mut group = c.benchmark_group("who_held");
    group.bench_function("open ledger, 100k events", |b| {
        b.iter(|| who_held(&ledger, "PE-MINDEF", day, None).expect("a known office"));
    });
    group.finish();

    // The next events of the same stream are a valid continuation: record the 1,000 that
    // were validated above, then append the following ones, one act (three events) at a
    // time, each append flushed to disk before it returns.
    ledger.append(batch).expect("the next events are valid");
    let mut group = c.benchmark_group("append");
    group.sample_size(20);
    group.bench_function("one act, durable, on a 100k ledger", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let act: Vec<String> = rest.by_ref().take(3).collect();
                let batch = parse_batch(&ndjson(&act)).expect("generated events parse");
                let started = Instant::now();
                ledger.append(batch).expect("the next events are valid");
                spent += started.elapsed();
            }
            spent
        });
    });
    group.finish();

    drop(ledger);
    let mut group = c.benchmark_group("who_held");
    group.sample_size(20);
    group.bench_function("open + query, 100k events", |b| {
        b.iter(|| {
            let ledger = Ledger::open(&path).expect("the ledger opens");
            who_held(&ledger, "PE-MINDEF", day, None).expect("a known office")
        });
    });
    group.finish();
}

fn bulk_append(c: &mut Criterion) {
    let (lines, _) = stream(SEED, 10_000);
    let batch = parse_batch(&ndjson(&lines)).expect("generated events parse");
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000 events in one batch, fresh ledger", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let ledger = Ledger::create(&dir.path().join("ledger")).expect("a new ledger");
                (dir, ledger, batch.clone())
            },
            |(dir, mut ledger, batch)| {
                ledger.append(batch).expect("a generated stream is valid");
                (dir, ledger)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (lines, _) = stream(SEED, 10_000);
    let export_bytes = export_of(&lines).len() as u64;
    let ledger = ledger_of(&dir.path().join("ledger"), &lines);
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Bytes(export_bytes));
    group.bench_function("10000 entries", |b| {
        b.iter(|| {
            let verdict = ledger.verify().expect("the ledger reads");
            assert!(matches!(verdict, Verdict::Intact { .. }));
        });
    });
    group.finish();
}

criterion_group!(benches, parse, verify, bulk_append, on_a_large_ledger);
criterion_main!(benches);
