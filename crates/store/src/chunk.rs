//! The log in chunks: up to [`CHUNK`] consecutive entries under one `L` key (`docs/FORMAT.md`,
//! section 3). A chunk's key is `L` + the position of its first entry (u64 BE); chunks start at
//! positions 1, 33, 65, ... and every chunk but the last is full, so the chunk of a position
//! is known without a search.
//!
//! The value (layout version 4): `0x03`, a varint of the length of the body, then the body
//! compressed as one LZ4 block. The body: the `prev` of the first entry (32 bytes), then per
//! entry a varint `tag = event length * 2 + new_time`, when `new_time` is 1 the time (its
//! length as one byte, then its bytes), the entry's hash (32 bytes) and the event bytes.
//! Positions follow from the key, each `prev` after the first is the hash of the entry before,
//! and a time is written only when it differs from the time before (always for the first entry
//! of a chunk).
//!
//! A chunk is kept small (a few KB compressed) so that sled stores it inline in its tree
//! nodes: sled keeps a node over a quarter of a segment (128 KiB) as a separate blob that its
//! page cache accounts at the size of a pointer, so such nodes are never evicted. Readers
//! unpack a value into a [`Body`] (a buffer reused from chunk to chunk) and read the entries
//! from it without copying.

use sled::Db;

use actledger_core::{MAX_STORED_EVENT_BYTES, Seq};

use crate::entry::{Entry, EntryError, Stored};
use crate::error::storage;
use crate::error::{Problem, StoreError};
use crate::keys;
use crate::varint;
use crate::writes::Writes;

/// Entries per chunk: 32 entries of the generated data are ~9.5 KB, ~4.4 KB compressed.
pub(crate) const CHUNK: u64 = 32;

/// The encoding byte of a chunk of layout version 4 (2 was the uncompressed chunk of layout
/// version 3).
const CHUNK_LZ4: u8 = 3;

/// The encoding byte of the uncompressed chunks of layout version 3, refused by name.
const CHUNK_V3: u8 = 2;

/// The longest body a chunk of sound entries can have: its `prev`, then [`CHUNK`] entries of
/// a tag (a varint of at most 10 bytes), a time (a length byte and at most 255 bytes), a hash
/// and an event of at most [`MAX_STORED_EVENT_BYTES`]. A larger declared length is refused before
/// anything is allocated.
pub(crate) const MAX_BODY: usize =
    32 + CHUNK as usize * (10 + 1 + 255 + 32 + MAX_STORED_EVENT_BYTES);

/// The first position of the chunk holding `seq` (from 1).
pub(crate) fn chunk_first(seq: Seq) -> Seq {
    (seq.max(1) - 1) / CHUNK * CHUNK + 1
}

fn bad(what: &'static str) -> EntryError {
    EntryError::Chunk(what)
}

/// Appends one entry's encoding to a chunk's body.
fn put_entry(out: &mut Vec<u8>, entry: &Entry, new_time: bool) {
    varint::put(out, (entry.event.len() as u64) << 1 | u64::from(new_time));
    if new_time {
        out.push(u8::try_from(entry.time.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(entry.time.as_bytes());
    }
    out.extend_from_slice(&entry.hash);
    out.extend_from_slice(&entry.event);
}

/// The stored value of a chunk whose body is `body`: the encoding byte, the body's length and
/// the body compressed.
pub(crate) fn pack(body: &[u8]) -> Vec<u8> {
    let block = lz4_flex::block::compress(body);
    let mut out = Vec::with_capacity(11 + block.len());
    out.push(CHUNK_LZ4);
    varint::put(&mut out, body.len() as u64);
    out.extend_from_slice(&block);
    out
}

/// The body of a chunk holding `entries` (at most [`CHUNK`], consecutive), uncompressed. The
/// positions and the `prev` of every entry after the first are not stored.
pub(crate) fn encode_body(entries: &[Entry]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(32 + entries.iter().map(|e| e.event.len() + 40).sum::<usize>());
    out.extend_from_slice(&entries.first().map_or([0; 32], |e| e.prev));
    let mut time: Option<&str> = None;
    for entry in entries {
        let new_time = time != Some(entry.time.as_str());
        put_entry(&mut out, entry, new_time);
        time = Some(&entry.time);
    }
    out
}

/// The stored value of a chunk holding `entries` (at most [`CHUNK`], consecutive).
pub(crate) fn encode(entries: &[Entry]) -> Vec<u8> {
    pack(&encode_body(entries))
}

/// The unpacked body of a chunk: a buffer reused from one chunk to the next.
#[derive(Debug, Default)]
pub(crate) struct Body(Vec<u8>);

impl Body {
    /// Unpacks the stored value of a chunk into this buffer, refusing another encoding, a
    /// declared length above [`MAX_BODY`] and a block that does not unpack to exactly the
    /// declared length.
    pub(crate) fn unpack(&mut self, value: &[u8]) -> Result<(), EntryError> {
        self.0.clear();
        let (&encoding, mut rest) = value
            .split_first()
            .ok_or_else(|| bad("the chunk is empty"))?;
        match encoding {
            CHUNK_LZ4 => {}
            CHUNK_V3 => {
                return Err(bad(
                    "the chunk is in the uncompressed encoding of layout version 3",
                ));
            }
            other => return Err(EntryError::ChunkEncoding(other)),
        }
        let len = varint::take(&mut rest).ok_or_else(|| bad("the chunk's length is unreadable"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= MAX_BODY)
            .ok_or(EntryError::ChunkTooLarge {
                declared: len,
                max: MAX_BODY,
            })?;
        self.0.resize(len, 0);
        match lz4_flex::block::decompress_into(rest, &mut self.0) {
            Ok(n) if n == len => Ok(()),
            Ok(n) => {
                self.0.clear();
                Err(EntryError::ChunkLength {
                    declared: len,
                    actual: n,
                })
            }
            Err(e) => {
                self.0.clear();
                Err(EntryError::ChunkUnpack {
                    declared: len,
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Starts reading the unpacked chunk stored under position `first`.
    pub(crate) fn read(&self, first: Seq) -> Result<Reader<'_>, EntryError> {
        read(first, &self.0)
    }

    /// Unpacks the stored value of the chunk under position `first` and starts reading it.
    pub(crate) fn open(&mut self, first: Seq, value: &[u8]) -> Result<Reader<'_>, EntryError> {
        self.unpack(value)?;
        self.read(first)
    }

    /// The bytes the buffer holds room for.
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// The unpacked bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
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

/// Starts reading the body of the chunk stored under position `first`; fails when its `prev`
/// is cut short or it holds no entry.
fn read(first: Seq, body: &[u8]) -> Result<Reader<'_>, EntryError> {
    let (prev, rest) = body
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
            return Err(EntryError::ChunkTooManyEntries(CHUNK));
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

/// Every entry of a chunk (its stored value), or the position and reason of the first that
/// cannot be read (the chunk's first position when it does not unpack).
pub(crate) fn decode(first: Seq, value: &[u8]) -> Result<Vec<Entry>, (Seq, EntryError)> {
    let mut body = Body::default();
    body.unpack(value).map_err(|e| (first, e))?;
    decode_body(first, body.bytes())
}

/// Every entry of an unpacked chunk body, or the position and reason of the first that cannot
/// be read.
pub(crate) fn decode_body(first: Seq, body: &[u8]) -> Result<Vec<Entry>, (Seq, EntryError)> {
    let mut reader = read(first, body).map_err(|e| (first, e))?;
    let mut out = Vec::new();
    while let Some(item) = reader.next() {
        out.push(item.map_err(|e| (reader.seq(), e))?.to_entry());
    }
    Ok(out)
}

/// The byte range of the entry at `seq` inside its chunk's unpacked body (for tests that
/// tamper).
pub(crate) fn entry_range(first: Seq, body: &[u8], seq: Seq) -> Option<std::ops::Range<usize>> {
    let mut reader = read(first, body).ok()?;
    loop {
        let start = body.len() - reader.rest.len();
        let item = reader.next()?.ok()?;
        if item.seq == seq {
            return Some(start..body.len() - reader.rest.len());
        }
    }
}

/// Writes entries at the end of the log: the tail chunk is read once, extended, and written
/// back (with every chunk completed on the way) into the caller's batch.
pub(crate) struct Writer {
    first: Seq,
    count: u64,
    time: String,
    /// The unpacked body of the chunk being written.
    body: Vec<u8>,
}

impl Writer {
    /// A writer after the first `head` entries, reading the partial tail chunk if there is one.
    pub(crate) fn new(db: &Db, path: &std::path::Path, head: Seq) -> Result<Writer, StoreError> {
        let mut writer = Writer {
            first: head + 1,
            count: 0,
            time: String::new(),
            body: Vec::new(),
        };
        if head.is_multiple_of(CHUNK) {
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
        let mut body = Body::default();
        let mut reader = body
            .open(first, &value)
            .map_err(|e| broken(first, e.to_string()))?;
        let mut count = 0;
        let mut time = String::new();
        while let Some(item) = reader.next() {
            let stored = item.map_err(|e| broken(reader.seq(), e.to_string()))?;
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
        writer.body = body.0;
        Ok(writer)
    }

    /// Adds the next entry, putting the chunk it completes into `batch`.
    pub(crate) fn push(&mut self, batch: &mut impl Writes, entry: &Entry) {
        if self.count == CHUNK {
            batch.insert(&keys::entry(self.first), pack(&self.body));
            self.first += CHUNK;
            self.count = 0;
        }
        if self.count == 0 {
            self.body.clear();
            self.body.extend_from_slice(&entry.prev);
        }
        let new_time = self.count == 0 || self.time != entry.time;
        put_entry(&mut self.body, entry, new_time);
        if new_time {
            self.time.clone_from(&entry.time);
        }
        self.count += 1;
    }

    /// Puts the chunk being written into `batch`.
    pub(crate) fn write(&self, batch: &mut impl Writes) {
        if self.count > 0 {
            batch.insert(&keys::entry(self.first), pack(&self.body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::ZERO_HASH;
    use proptest::prelude::*;

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

    /// A stored value with the given encoding byte, declared length and block.
    fn value(encoding: u8, len: u64, block: &[u8]) -> Vec<u8> {
        let mut out = vec![encoding];
        varint::put(&mut out, len);
        out.extend_from_slice(block);
        out
    }

    fn refusal(value: &[u8]) -> String {
        Body::default().unpack(value).unwrap_err().to_string()
    }

    #[test]
    fn chunks_round_trip() {
        let entries = sample(7);
        let bytes = encode(&entries);
        assert_eq!(bytes[0], CHUNK_LZ4);
        assert_eq!(decode(1, &bytes).unwrap(), entries);
        assert_eq!(encode(&decode(1, &bytes).unwrap()), bytes);
        let body = encode_body(&entries);
        let mut unpacked = Body::default();
        unpacked.unpack(&bytes).unwrap();
        assert_eq!(unpacked.bytes(), body);
        // A body cut inside an entry is refused at that entry, once packed as well.
        let range = entry_range(1, &body, 3).unwrap();
        assert!(decode_body(1, &body[..range.start + 3]).is_err_and(|(seq, _)| seq == 3));
        assert!(decode(1, &pack(&body[..range.start + 3])).is_err_and(|(seq, _)| seq == 3));
        assert!(decode_body(1, &body[..10]).is_err_and(|(seq, _)| seq == 1));
    }

    #[test]
    fn a_full_chunk_is_small_and_a_longer_one_is_refused() {
        let entries = sample(CHUNK + 1);
        let full = encode(&entries[..CHUNK as usize]);
        assert!(full.len() < 7000, "{} bytes", full.len());
        assert_eq!(decode(1, &full).unwrap(), entries[..CHUNK as usize]);
        let over = decode(1, &encode(&entries));
        assert!(
            over.as_ref().is_err_and(|(seq, e)| *seq == CHUNK + 1
                && e.to_string() == format!("the chunk holds more than {CHUNK} entries")),
            "{over:?}"
        );
    }

    #[test]
    fn a_buffer_is_reused_from_chunk_to_chunk() {
        let entries = sample(40);
        let (a, b) = (encode(&entries[..32]), encode(&entries[32..]));
        let mut body = Body::default();
        let read: Vec<Seq> = body.open(1, &a).unwrap().map(|e| e.unwrap().seq).collect();
        assert_eq!(read, (1..=32).collect::<Vec<_>>());
        let read: Vec<Seq> = body.open(33, &b).unwrap().map(|e| e.unwrap().seq).collect();
        assert_eq!(read, (33..=40).collect::<Vec<_>>());
        // A refused value leaves nothing of the chunk before to read.
        assert!(body.unpack(b"garbage").is_err());
        assert!(body.bytes().is_empty());
    }

    #[test]
    fn every_refused_value_says_why() {
        let body = encode_body(&sample(5));
        let block = lz4_flex::block::compress(&body);
        let len = body.len() as u64;
        assert_eq!(refusal(b""), "the chunk is empty");
        // The encoding of layout version 3 (uncompressed), and an unknown one.
        let mut old = vec![CHUNK_V3];
        old.extend_from_slice(&body);
        assert_eq!(
            refusal(&old),
            "the chunk is in the uncompressed encoding of layout version 3"
        );
        assert_eq!(
            refusal(&value(4, len, &block)),
            "the chunk has unknown encoding 4"
        );
        // An unreadable length: cut short, or not minimal.
        assert_eq!(refusal(&[CHUNK_LZ4]), "the chunk's length is unreadable");
        assert_eq!(
            refusal(&[CHUNK_LZ4, 0x80, 0x00]),
            "the chunk's length is unreadable"
        );
        // A declared length above any chunk, up to one that does not fit a usize: refused
        // before anything is allocated.
        for huge in [MAX_BODY as u64 + 1, 1 << 40, u64::MAX] {
            assert_eq!(
                refusal(&value(CHUNK_LZ4, huge, &block)),
                format!("the chunk declares {huge} bytes, more than a chunk can hold ({MAX_BODY})")
            );
        }
        // The largest length allowed is tried (and here refused for the block).
        assert!(refusal(&value(CHUNK_LZ4, MAX_BODY as u64, &block)).contains("unpacks to"));
        // A block that unpacks to fewer bytes than declared.
        assert_eq!(
            refusal(&value(CHUNK_LZ4, len + 1, &block)),
            format!(
                "the chunk unpacks to {len} bytes, not the {} it declares",
                len + 1
            )
        );
        // A block that unpacks to more bytes than declared.
        assert!(
            refusal(&value(CHUNK_LZ4, len - 1, &block)).starts_with(&format!(
                "the chunk does not unpack to the {} bytes it declares: ",
                len - 1
            ))
        );
        // A truncated block, and no block at all.
        for cut in [1, 2, block.len() / 2, block.len() - 1] {
            let got = refusal(&value(CHUNK_LZ4, len, &block[..cut]));
            let short = got.starts_with("the chunk unpacks to ")
                && got.ends_with(&format!(" bytes, not the {len} it declares"));
            let broken = got.starts_with(&format!(
                "the chunk does not unpack to the {len} bytes it declares: "
            ));
            assert!(short || broken, "{cut}: {got}");
        }
        assert_eq!(
            refusal(&value(CHUNK_LZ4, len, b"")),
            format!(
                "the chunk does not unpack to the {len} bytes it declares: expected another byte, found none"
            )
        );
        // An empty body unpacks, and holds no entry.
        assert_eq!(
            decode(7, &pack(b"")).unwrap_err(),
            (7, EntryError::Chunk("the chunk is cut short"))
        );
        assert_eq!(
            decode(7, &pack(&[0; 32])).unwrap_err(),
            (7, EntryError::Chunk("the chunk holds no entry"))
        );
    }

    #[test]
    fn the_writer_extends_the_tail_chunk() {
        let entries = sample(100);
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let path = dir.path();
        for (at, upto) in [(0, 5), (5, 32), (32, 36), (36, 100)] {
            let mut batch = sled::Batch::default();
            let mut writer = Writer::new(&db, path, at).unwrap();
            for entry in &entries[at as usize..upto] {
                writer.push(&mut batch, entry);
            }
            writer.write(&mut batch);
            db.apply_batch(batch).unwrap();
        }
        for (first, upto) in [(1, 32), (33, 64), (65, 96), (97, 100)] {
            let value = db.get(keys::entry(first)).unwrap().unwrap();
            let want = &entries[first as usize - 1..upto];
            assert_eq!(decode(first, &value).unwrap(), want);
            assert_eq!(value, encode(want));
        }
        assert_eq!(db.len(), 4);
    }

    proptest! {
        /// Whatever the stored bytes, unpacking and reading return entries or an error,
        /// never a panic; what reads re-encodes to the same body.
        #[test]
        fn any_value_unpacks_or_is_refused(value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut body = Body::default();
            if body.unpack(&value).is_ok() {
                prop_assert!(body.bytes().len() <= MAX_BODY);
                if let Ok(entries) = decode_body(1, body.bytes()) {
                    prop_assert_eq!(encode_body(&entries), body.bytes());
                }
            }
        }

        /// A sound chunk with bytes of its value changed: unpacked to its own body, to
        /// another that reads or is refused, or refused, never a panic.
        #[test]
        fn a_changed_value_unpacks_or_is_refused(
            n in 1u64..=CHUNK,
            changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let entries = sample(n);
            let mut value = encode(&entries);
            for (at, byte) in changes {
                let at = at.index(value.len());
                value[at] = byte;
            }
            if truncate {
                value.truncate(cut.index(value.len()));
            }
            let mut body = Body::default();
            match body.unpack(&value) {
                Ok(()) => {
                    if let Ok(read) = decode_body(1, body.bytes()) {
                        prop_assert_eq!(encode_body(&read), body.bytes());
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with("the chunk"), "{}", e),
            }
        }
    }
}
