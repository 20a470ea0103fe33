//! The raw sled ceiling of issue #6: the least a chained ledger on sled can do.
//!
//! ```text
//! sled-ceiling import NDJSON DIR   each line under its position (u64 BE), chained, one flush
//! sled-ceiling verify DIR          rescan in key order and rehash the chain
//! sled-ceiling open DIR            open an existing sled database and read its first key
//! sled-ceiling batches BYTES COUNT PER_BATCH DIR
//!                                  COUNT values of BYTES bytes under consecutive keys, applied
//!                                  in sled batches of PER_BATCH values, each batch flushed
//!
//! sled-ceiling rewrites ROUNDS KEYS BYTES EVERY DIR
//!                                  ROUNDS flushed writes, each rewriting KEYS values of BYTES
//!                                  bytes (the tails of KEYS tables; a table's tail moves to a
//!                                  new key every EVERY rounds), then the same records copied
//!                                  into a fresh database DIR.copy; prints both sizes (REOPEN=1:
//!                                  the database closed and opened again before each round)
//! sled-ceiling round R KEYS BYTES EVERY DIR
//!                                  round R of `rewrites` alone, in a process of its own
//!                                  (EXIT_FAST=1: the process ends without closing sled;
//!                                  INTENT=1: between an intent record's insert and removal,
//!                                  each flushed; SCATTER=N: N new 40-byte records a round at
//!                                  scattered keys)
//! sled-ceiling copy DIR            the copy and the sizes that end `rewrites` (COPY_BATCH=N
//!                                  records a batch, default 256; COPY_ORDER=reverse|stride)
//! ```
//!
//! `rewrites` is sled alone under a clerk's one-act appends: each append rewrites the last
//! record of several tables (the log's tail chunk, the tails of the cache's blocks, the head)
//! and adds little. The ratio of the two sizes is sled's own space amplification for that
//! work, beside the ledger's (`bench/clerk.py`).
//!
//! `batches` is sled alone doing what a large write of the store does: run under
//! `/usr/bin/time -f %M` with several PER_BATCH, it shows that sled's memory follows the size
//! of each batch (it pins one epoch for a whole batch, so the node copies its inserts make
//! live until the batch ends), not its cache capacity.
//!
//! `open` on an actledger ledger's folder measures what sled alone costs a cold process
//! before actledger reads anything: a query can be no faster.
//!
//! Each value is the entry hash (32 bytes) followed by the event line. The hash is the entry
//! hash of `docs/FORMAT.md` (domain tag, version, position, a fixed recording time, previous
//! hash, event), so the SHA-256 work is actledger's. No parsing, no validation, no index, one
//! `Db::insert` per line and one `flush` at the end: what actledger's import cannot beat on
//! sled. sled is configured as the store configures it (a 16 MiB cache).

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use sha2::{Digest, Sha256};

/// The recording time every entry gets (bench/chain.py uses the same).
const TIME: &[u8] = b"2026-01-01T00:00:00.000000Z";

fn entry_hash(seq: u64, prev: &[u8; 32], event: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"actledger/entry\0");
    h.update(1u32.to_be_bytes());
    h.update(seq.to_be_bytes());
    h.update((TIME.len() as u32).to_be_bytes());
    h.update(TIME);
    h.update(prev);
    h.update((event.len() as u32).to_be_bytes());
    h.update(event);
    h.finalize().into()
}

fn open(dir: &Path) -> sled::Result<sled::Db> {
    sled::Config::new()
        .path(dir)
        .cache_capacity(16 * 1024 * 1024)
        .open()
}

fn import(ndjson: &Path, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let db = open(dir)?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(ndjson)?);
    let mut line = Vec::new();
    let mut prev = [0u8; 32];
    let mut seq = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let event = line.trim_ascii_end();
        if event.is_empty() {
            continue;
        }
        seq += 1;
        let hash = entry_hash(seq, &prev, event);
        let mut value = Vec::with_capacity(32 + event.len());
        value.extend_from_slice(&hash);
        value.extend_from_slice(event);
        db.insert(seq.to_be_bytes(), value)?;
        prev = hash;
    }
    db.flush()?;
    println!("imported {seq} entries, head {}", hex(&prev));
    Ok(())
}

fn verify(dir: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let db = open(dir)?;
    let mut prev = [0u8; 32];
    let mut expected = 1u64;
    for item in db.iter() {
        let (key, value) = item?;
        let seq = u64::from_be_bytes(key.as_ref().try_into()?);
        if seq != expected
            || value.len() < 32
            || entry_hash(seq, &prev, &value[32..]) != value[..32]
        {
            println!("broken at {expected}");
            return Ok(false);
        }
        prev.copy_from_slice(&value[..32]);
        expected += 1;
    }
    println!("intact: {} entries, head {}", expected - 1, hex(&prev));
    Ok(true)
}

fn open_only(dir: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    if !dir.join("conf").is_file() {
        return Err(format!("{} holds no sled database", dir.display()).into());
    }
    let db = open(dir)?;
    let first = db.iter().next().transpose()?;
    println!(
        "opened: first key of {} bytes",
        first.map_or(0, |(k, _)| k.len())
    );
    Ok(true)
}

/// Removes the first record whose key starts with PREFIX from a closed sled database: the
/// damage that gives `actledger repair` something to rebuild in the comparison.
fn remove_first(dir: &Path, prefix: &[u8]) -> Result<bool, Box<dyn std::error::Error>> {
    let db = open(dir)?;
    let Some(item) = db.scan_prefix(prefix).next() else {
        return Err(format!("no key starts with {:?}", String::from_utf8_lossy(prefix)).into());
    };
    let (key, _) = item?;
    db.remove(&key)?;
    db.flush()?;
    println!("removed a key of {} bytes", key.len());
    Ok(true)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `count` values of `bytes` bytes each (varied, so that nothing is shared) under consecutive
/// 20-byte keys, like the store's cache records, applied `per_batch` at a time.
fn write_batches(
    bytes: usize,
    count: usize,
    per_batch: usize,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let db = open(dir)?;
    let mut batch = sled::Batch::default();
    for i in 0..count {
        let mut key = b"W\0BENCH-OFFICE\0".to_vec();
        key.extend_from_slice(&(i as u32).to_be_bytes());
        let value: Vec<u8> = (0..bytes).map(|j| (i * 7 + j) as u8).collect();
        batch.insert(key, value);
        if (i + 1) % per_batch == 0 {
            db.apply_batch(std::mem::take(&mut batch))?;
            db.flush()?;
        }
    }
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}

/// The bytes of the files under `dir`.
fn folder_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// `rounds` flushed writes of `keys` values of `bytes` bytes, value `t` of a round going to
/// table `t`'s tail key, which moves on every `every` rounds; then the records copied into a
/// fresh database beside `dir`.
fn rewrites(
    rounds: usize,
    keys: usize,
    bytes: usize,
    every: usize,
    reopen: bool,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut db = open(dir)?;
    for round in 0..rounds {
        if reopen {
            // As a clerk's appends run: each one a process that opens the database anew.
            drop(db);
            // sled's flusher lets go of the file lock a moment after the drop.
            let mut tries = 0;
            db = loop {
                match open(dir) {
                    Ok(db) => break db,
                    Err(sled::Error::Io(_)) if tries < 5_000 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(e) => return Err(e.into()),
                }
            };
        }
        write_round(&db, round, keys, bytes, every)?;
    }
    drop(db);
    copy_of(dir)
}

/// One round of [`rewrites`], flushed.
fn write_round(
    db: &sled::Db,
    round: usize,
    keys: usize,
    bytes: usize,
    every: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut batch = sled::Batch::default();
    for table in 0..keys {
        let mut key = vec![b'T', table as u8, 0];
        key.extend_from_slice(&((round / every) as u32).to_be_bytes());
        let value: Vec<u8> = (0..bytes)
            .map(|j| (round * 31 + table * 7 + j) as u8)
            .collect();
        batch.insert(key, value);
    }
    // SCATTER=N: N new small records a round, at scattered places of the key space, as an
    // append adds postings and tree hashes beside the records it rewrites.
    let scatter: usize = std::env::var("SCATTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for n in 0..scatter {
        let spot = (round * 2_654_435_761 + n * 40_503) % 65_521;
        let mut key = vec![b'P'];
        key.extend_from_slice(&(spot as u32).to_be_bytes());
        key.extend_from_slice(&(round as u32).to_be_bytes());
        batch.insert(key, vec![(round + n) as u8; 40]);
    }
    db.apply_batch(batch)?;
    db.flush()?;
    Ok(())
}

/// Copies the records of the database in `dir` into a fresh one beside it, and prints both
/// sizes.
fn copy_of(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let db = open(dir)?;
    let copy_dir = dir.with_extension("copy");
    let copy = open(&copy_dir)?;
    let mut live = 0;
    // COPY_BATCH=N records per batch (default 256); COPY_ORDER=reverse|stride.
    let per_batch: usize = std::env::var("COPY_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let order = std::env::var("COPY_ORDER").unwrap_or_default();
    let mut records: Vec<(sled::IVec, sled::IVec)> = db.iter().collect::<Result<_, _>>()?;
    match order.as_str() {
        "reverse" => records.reverse(),
        "stride" => {
            // Every 8th record first, then the ones after them...
            let mut strided = Vec::with_capacity(records.len());
            for start in 0..8 {
                strided.extend(records.iter().skip(start).step_by(8).cloned());
            }
            records = strided;
        }
        _ => {}
    }
    // Timed from here: sled alone writing the records (read beforehand), as the ledger that
    // holds them had to write them at least once.
    let count = records.len();
    let started = std::time::Instant::now();
    let mut batch = sled::Batch::default();
    for (i, (key, value)) in records.into_iter().enumerate() {
        live += key.len() + value.len();
        batch.insert(key, value);
        if (i + 1) % per_batch == 0 {
            copy.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    copy.apply_batch(batch)?;
    copy.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!("wrote {count} records ({live} bytes) in {elapsed:.2} s, flushed");
    drop((db, copy));
    let (written, copied) = (folder_bytes(dir)?, folder_bytes(&copy_dir)?);
    println!(
        "records: {live} bytes; rewritten database: {written} bytes; its copy: {copied} bytes; {:.2}x",
        written as f64 / copied as f64
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[1..] {
        ["import", ndjson, dir] => import(Path::new(ndjson), Path::new(dir)).map(|()| true),
        ["verify", dir] => verify(Path::new(dir)),
        ["open", dir] => open_only(Path::new(dir)),
        ["rewrites", rounds, keys, bytes, every, dir] => (|| {
            let reopen = std::env::var_os("REOPEN").is_some_and(|v| v == "1");
            rewrites(
                rounds.parse()?,
                keys.parse()?,
                bytes.parse()?,
                every.parse()?,
                reopen,
                Path::new(dir),
            )
        })()
        .map(|()| true),
        ["round", round, keys, bytes, every, dir] => (|| {
            let db = open(Path::new(dir))?;
            // INTENT=1: the round between an intent record's insert and its removal, each
            // flushed, as an append writes it.
            let intent = std::env::var_os("INTENT").is_some_and(|v| v == "1");
            if intent {
                db.insert(b"Mpending", &[1u8; 80][..])?;
                db.flush()?;
            }
            write_round(
                &db,
                round.parse()?,
                keys.parse()?,
                bytes.parse()?,
                every.parse()?,
            )?;
            if intent {
                db.remove(b"Mpending")?;
                db.flush()?;
            }
            if std::env::var_os("EXIT_FAST").is_some_and(|v| v == "1") {
                std::process::exit(0);
            }
            Ok::<(), Box<dyn std::error::Error>>(())
        })()
        .map(|()| true),
        ["copy", dir] => copy_of(Path::new(dir)).map(|()| true),
        ["batches", bytes, count, per_batch, dir] => (|| {
            write_batches(
                bytes.parse()?,
                count.parse()?,
                per_batch.parse()?,
                Path::new(dir),
            )
        })()
        .map(|()| true),
        ["remove-first", dir, prefix] => remove_first(Path::new(dir), prefix.as_bytes()),
        _ => {
            eprintln!(
                "usage: sled-ceiling import NDJSON DIR | verify DIR | open DIR | remove-first DIR PREFIX | batches BYTES COUNT PER_BATCH DIR | rewrites ROUNDS KEYS BYTES EVERY DIR | round R KEYS BYTES EVERY DIR | copy DIR"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
