//! The log in chunks: up to [`CHUNK`] consecutive entries under one `L` key (`docs/FORMAT.md`,
//! section 3). A chunk's key is `L` + the position of its first entry (u64 BE); chunks start at
//! positions 1, 257, 513, ... and every chunk but the last is full, so the chunk of a position
//! is known without a search.
//!
//! The value: `0x02`, the `prev` of the first entry (32 bytes), then per entry a varint
//! `tag = event length * 2 + new_time`, when `new_time` is 1 the time (its length as one byte,
//! then its bytes), the entry's hash (32 bytes) and the event bytes. Positions follow from the
//! key, each `prev` after the first is the hash of the entry before, and a time is written
//! only when it differs from the time before (always for the first entry of a chunk).

use sled::{Batch, Db};

use actledger_core::Seq;

use crate::entry::{Entry, EntryError, Stored};
use crate::error::{Problem, StoreError};
use crate::keys;
use crate::ledger::storage;
use crate::varint;

/// Entries per chunk.
pub(crate) const CHUNK: u64 = 256;

const CHUNK_V1: u8 = 2;

/// The first position of the chunk holding `seq` (from 1).
pub(crate) fn chunk_first(seq: Seq) -> Seq {
    (seq.max(1) - 1) / CHUNK * CHUNK + 1
}

fn bad(reason: impl Into<String>) -> EntryError {
    EntryError(reason.into())
}

/// Appends one entry's encoding to a chunk's bytes.
fn put_entry(out: &mut Vec<u8>, entry: &Entry, new_time: bool) {
    varint::put(out, (entry.event.len() as u64) << 1 | u64::from(new_time));
    if new_time {
        out.push(u8::try_from(entry.time.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(entry.time.as_bytes());
    }
    out.extend_from_slice(&entry.hash);
    out.extend_from_slice(&entry.event);
}

/// The bytes of a chunk holding `entries` (at most [`CHUNK`], consecutive). The positions and
/// the `prev` of every entry after the first are not stored.
pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(33 + entries.iter().map(|e| e.event.len() + 40).sum::<usize>());
    out.push(CHUNK_V1);
    out.extend_from_slice(&entries.first().map_or([0; 32], |e| e.prev));
    let mut time: Option<&str> = None;
    for entry in entries {
        let new_time = time != Some(entry.time.as_str());
        put_entry(&mut out, entry, new_time);
        time = Some(&entry.time);
    }
    out
}

/// Reads a chunk entry by entry: each item is the next entry, or why it cannot be read (at
/// position [`Reader::seq`]); after an error the reader stops.
pub(crate) struct Reader<'a> {
    seq: Seq,
    first: Seq,
    prev: [u8; 32],
    time: Option<&'a str>,
    rest: &'a [u8],
    failed: bool,
}

/// Starts reading the chunk stored under position `first`; fails when its header is unreadable.
pub(crate) fn read(first: Seq, bytes: &[u8]) -> Result<Reader<'_>, EntryError> {
    let (&version, rest) = bytes
        .split_first()
        .ok_or_else(|| bad("the chunk is empty"))?;
    if version != CHUNK_V1 {
        return Err(bad(format!("the chunk has unknown encoding {version}")));
    }
    let (prev, rest) = rest
        .split_first_chunk::<32>()
        .ok_or_else(|| bad("the chunk is cut short"))?;
    if rest.is_empty() {
        return Err(bad("the chunk holds no entry"));
    }
    Ok(Reader {
        seq: first,
        first,
        prev: *prev,
        time: None,
        rest,
        failed: false,
    })
}

impl<'a> Reader<'a> {
    /// The position of the next entry (of the failing one after an error).
    pub(crate) fn seq(&self) -> Seq {
        self.seq
    }

    fn next_entry(&mut self) -> Result<Stored<'a>, EntryError> {
        let short = || bad("the stored entry is cut short");
        if self.seq - self.first >= CHUNK {
            return Err(bad(format!("the chunk holds more than {CHUNK} entries")));
        }
        let mut rest = self.rest;
        let tag = varint::take(&mut rest)
            .ok_or_else(|| bad("the stored entry's length is unreadable"))?;
        let new_time = tag & 1 == 1;
        let len = usize::try_from(tag >> 1).map_err(|_| short())?;
        let time = if new_time {
            let (&time_len, after) = rest.split_first().ok_or_else(short)?;
            let (time, after) = after
                .split_at_checked(usize::from(time_len))
                .ok_or_else(short)?;
            rest = after;
            let time =
                std::str::from_utf8(time).map_err(|_| bad("the stored time is not UTF-8"))?;
            if self.time == Some(time) {
                return Err(bad("the stored entry repeats the time before it"));
            }
            time
        } else {
            self.time
                .ok_or_else(|| bad("the first entry of the chunk has no time"))?
        };
        let (hash, after) = rest.split_first_chunk::<32>().ok_or_else(short)?;
        let (event, after) = after.split_at_checked(len).ok_or_else(short)?;
        self.rest = after;
        let stored = Stored {
            seq: self.seq,
            time,
            prev: self.prev,
            hash: *hash,
            event,
        };
        self.prev = *hash;
        self.time = Some(time);
        Ok(stored)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Stored<'a>, EntryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let item = self.next_entry();
        match item {
            Ok(_) => self.seq += 1,
            Err(_) => self.failed = true,
        }
        Some(item)
    }
}

/// Every entry of a chunk, or the position and reason of the first that cannot be read.
pub(crate) fn decode(first: Seq, bytes: &[u8]) -> Result<Vec<Entry>, (Seq, EntryError)> {
    let mut reader = read(first, bytes).map_err(|e| (first, e))?;
    let mut out = Vec::new();
    while let Some(item) = reader.next() {
        out.push(item.map_err(|e| (reader.seq(), e))?.to_entry());
    }
    Ok(out)
}

/// The byte range of the entry at `seq` inside its chunk's value (for tests that tamper).
pub(crate) fn entry_range(first: Seq, bytes: &[u8], seq: Seq) -> Option<std::ops::Range<usize>> {
    let mut reader = read(first, bytes).ok()?;
    loop {
        let start = bytes.len() - reader.rest.len();
        let item = reader.next()?.ok()?;
        if item.seq == seq {
            return Some(start..bytes.len() - reader.rest.len());
        }
    }
}

/// Writes entries at the end of the log: the tail chunk is read once, extended, and written
/// back (with every chunk completed on the way) into the caller's batch.
pub(crate) struct Writer {
    first: Seq,
    count: u64,
    time: String,
    bytes: Vec<u8>,
}

impl Writer {
    /// A writer after the first `head` entries, reading the partial tail chunk if there is one.
    pub(crate) fn new(db: &Db, path: &std::path::Path, head: Seq) -> Result<Writer, StoreError> {
        let mut writer = Writer {
            first: head + 1,
            count: 0,
            time: String::new(),
            bytes: Vec::new(),
        };
        if head % CHUNK == 0 {
            return Ok(writer);
        }
        let first = chunk_first(head);
        let broken = |seq, reason: String| StoreError::Broken {
            seq,
            problem: Problem::Unparsable(reason),
        };
        let value = db
            .get(keys::entry(first))
            .map_err(storage(path))?
            .ok_or_else(|| broken(first, "the chunk is missing".into()))?;
        let mut reader = read(first, &value).map_err(|e| broken(first, e.0))?;
        let mut count = 0;
        let mut time = String::new();
        while let Some(item) = reader.next() {
            let stored = item.map_err(|e| broken(reader.seq(), e.0))?;
            count += 1;
            if stored.time != time {
                time = stored.time.to_owned();
            }
        }
        if first + count != head + 1 {
            return Err(broken(
                first + count,
                format!("the tail chunk holds {count} entries, not up to the head at {head}"),
            ));
        }
        writer.first = first;
        writer.count = count;
        writer.time = time;
        writer.bytes = value.to_vec();
        Ok(writer)
    }

    /// Adds the next entry, putting the chunk it completes into `batch`.
    pub(crate) fn push(&mut self, batch: &mut Batch, entry: &Entry) {
        if self.count == CHUNK {
            batch.insert(&keys::entry(self.first), std::mem::take(&mut self.bytes));
            self.first += CHUNK;
            self.count = 0;
        }
        if self.count == 0 {
            self.bytes.clear();
            self.bytes.push(CHUNK_V1);
            self.bytes.extend_from_slice(&entry.prev);
        }
        let new_time = self.count == 0 || self.time != entry.time;
        put_entry(&mut self.bytes, entry, new_time);
        if new_time {
            self.time.clone_from(&entry.time);
        }
        self.count += 1;
    }

    /// Puts the chunk being written into `batch`.
    pub(crate) fn write(&self, batch: &mut Batch) {
        if self.count > 0 {
            batch.insert(&keys::entry(self.first), self.bytes.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ZERO_HASH;

    fn sample(n: u64) -> Vec<Entry> {
        let mut prev = ZERO_HASH;
        (1..=n)
            .map(|seq| {
                let time = format!("2026-11-29T18:27:4{}.123456Z", seq / 3);
                let event = format!(r#"{{"type":"act_issued","act":"A-{seq}","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}}"#);
                let entry = Entry::new(seq, time, prev, event.into_bytes());
                prev = entry.hash;
                entry
            })
            .collect()
    }

    #[test]
    fn chunks_round_trip() {
        let entries = sample(7);
        let bytes = encode(&entries);
        assert_eq!(decode(1, &bytes).unwrap(), entries);
        assert_eq!(encode(&decode(1, &bytes).unwrap()), bytes);
        let range = entry_range(1, &bytes, 3).unwrap();
        assert!(decode(1, &bytes[..range.start + 3]).is_err_and(|(seq, _)| seq == 3));
        assert!(decode(1, &bytes[..10]).is_err_and(|(seq, _)| seq == 1));
    }

    #[test]
    fn the_writer_extends_the_tail_chunk() {
        let entries = sample(300);
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let path = dir.path();
        for (at, upto) in [(0, 5), (5, 256), (256, 260), (260, 300)] {
            let mut batch = Batch::default();
            let mut writer = Writer::new(&db, path, at).unwrap();
            for entry in &entries[at as usize..upto] {
                writer.push(&mut batch, entry);
            }
            writer.write(&mut batch);
            db.apply_batch(batch).unwrap();
        }
        let first = db.get(keys::entry(1)).unwrap().unwrap();
        let second = db.get(keys::entry(257)).unwrap().unwrap();
        assert_eq!(decode(1, &first).unwrap(), entries[..256]);
        assert_eq!(decode(257, &second).unwrap(), entries[256..]);
        assert_eq!(db.len(), 2);
    }
}
