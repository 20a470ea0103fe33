//! One entry of the chain: its hash, its stored encoding, and its export line.
//!
//! `docs/FORMAT.md` defines every byte here; `docs/verify_export.py` re-implements the hash and
//! the line from that page alone, so a change here is a change of format version.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use actledger_core::{Day, Event, Seq, parse_event};

/// The version of the entry hash and of the export format. It is hashed into every entry.
pub const FORMAT_VERSION: u32 = 1;

/// The version of the layout inside sled, in the `Mformat` record (`docs/FORMAT.md`, section
/// 3). Version 2 packs the `A`, `O` and `P` postings and has no `D` table; version 3 stores the
/// log in chunks of up to 256 entries; version 4 in chunks of up to 32 entries compressed with
/// LZ4 (`crate::chunk`), and the Merkle hashes in tiles of 128. A ledger of another layout is
/// refused as unsupported (export it with the version that wrote it, then import).
pub const LAYOUT_VERSION: u32 = 4;

/// The domain tag that starts every hashed entry (followed by one 0x00 byte).
pub const HASH_DOMAIN: &[u8] = b"actledger/entry";

/// The hash "before the first entry": 32 zero bytes.
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// How recording times are written: RFC 3339, UTC, microseconds, always 27 bytes.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The length of every recording time.
pub const TIME_LEN: usize = 27;

/// The position and hash of the last entry: what a ledger "is" at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// How many entries the ledger holds (the position of the last one; 0 when empty).
    pub count: u64,
    /// The hash of the last entry ([`ZERO_HASH`] when empty).
    pub hash: [u8; 32],
}

impl Head {
    /// The head of an empty ledger.
    pub const EMPTY: Head = Head {
        count: 0,
        hash: ZERO_HASH,
    };
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} entries, head {}", self.count, hex::encode(self.hash))
    }
}

/// One entry of the chain, as stored and exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position, from 1.
    pub seq: Seq,
    /// When it was recorded: RFC 3339, UTC, microseconds (`2026-11-29T18:27:48.123456Z`).
    pub time: String,
    /// The hash of the entry before it ([`ZERO_HASH`] for the first).
    pub prev: [u8; 32],
    /// The hash of this entry ([`Entry::compute_hash`]).
    pub hash: [u8; 32],
    /// The event's canonical JSON bytes ([`Event::canonical_bytes`]).
    pub event: Vec<u8>,
}

/// Why an export line or a stored entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// An export line out of the form `export` writes: the first thing out of place.
    #[error("{0}")]
    Form(&'static str),
    /// A field of an export line is cut short.
    #[error("\"{field}\" is cut short")]
    CutShort {
        /// The field.
        field: &'static str,
    },
    /// A hash of an export line is not 64 lowercase hex digits.
    #[error("\"{field}\" is not 64 lowercase hex digits")]
    NotHex {
        /// The field.
        field: &'static str,
    },
    /// The event does not parse with the core's rules.
    #[error(
        "its event does not parse: {}{reason}",
        .field.as_ref().map(|f| format!("field {f:?}: ")).unwrap_or_default()
    )]
    Event {
        /// The field at fault, when one is.
        field: Option<String>,
        /// Why.
        reason: String,
    },
    /// The event's bytes are not its canonical form.
    #[error(
        "the event is not in canonical form (field order, spacing or escapes differ from what export writes)"
    )]
    NotCanonical,
    /// A recording time not written as `format_time` writes it.
    #[error("{text:?} is not a recording time of the form 2026-01-31T12:00:00.000000Z")]
    Time {
        /// The text found.
        text: String,
    },
    /// A chunk of the log, or an entry in it, is out of form: the first thing out of place.
    #[error("{0}")]
    Chunk(&'static str),
    /// A chunk in an encoding this program does not read.
    #[error("the chunk has unknown encoding {0}")]
    ChunkEncoding(u8),
    /// A chunk declaring more bytes than a chunk can hold.
    #[error("the chunk declares {declared} bytes, more than a chunk can hold ({max})")]
    ChunkTooLarge {
        /// The bytes it declares.
        declared: u64,
        /// The most a chunk holds.
        max: usize,
    },
    /// A chunk that unpacks to another number of bytes than it declares.
    #[error("the chunk unpacks to {actual} bytes, not the {declared} it declares")]
    ChunkLength {
        /// The bytes it declares.
        declared: usize,
        /// The bytes it unpacks to.
        actual: usize,
    },
    /// A chunk that does not unpack to the bytes it declares.
    #[error("the chunk does not unpack to the {declared} bytes it declares: {reason}")]
    ChunkUnpack {
        /// The bytes it declares.
        declared: usize,
        /// What unpacking found.
        reason: String,
    },
    /// A chunk holding more entries than a chunk holds.
    #[error("the chunk holds more than {0} entries")]
    ChunkTooManyEntries(u64),
    /// No entry is stored at the position.
    #[error("the entry is missing")]
    Missing,
}

fn bad(what: &'static str) -> EntryError {
    EntryError::Form(what)
}

impl Entry {
    /// The day (UTC) it was recorded: the first ten bytes of its RFC 3339 time.
    pub fn recorded_on(&self) -> Option<Day> {
        self.time.get(..10).and_then(|day| Day::parse(day).ok())
    }

    /// The hash of an entry: SHA-256 over the domain tag, a 0x00 byte, the format version
    /// (u32 BE), `seq` (u64 BE), the length of `time` (u32 BE) and `time`, `prev`, and the
    /// length of `event` (u32 BE) and `event`.
    pub fn compute_hash(seq: Seq, time: &str, prev: &[u8; 32], event: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update([0u8]);
        h.update(FORMAT_VERSION.to_be_bytes());
        h.update(seq.to_be_bytes());
        h.update(len_u32(time.len()).to_be_bytes());
        h.update(time.as_bytes());
        h.update(prev);
        h.update(len_u32(event.len()).to_be_bytes());
        h.update(event);
        h.finalize().into()
    }

    /// Builds the entry at `seq`, computing its hash.
    pub fn new(seq: Seq, time: String, prev: [u8; 32], event: Vec<u8>) -> Entry {
        let hash = Entry::compute_hash(seq, &time, &prev, &event);
        Entry {
            seq,
            time,
            prev,
            hash,
            event,
        }
    }

    /// Whether the stored hash is the hash of the entry's fields.
    pub fn hash_is_valid(&self) -> bool {
        Entry::compute_hash(self.seq, &self.time, &self.prev, &self.event) == self.hash
    }

    /// The event, parsed with the core's strict rules.
    pub fn event(&self) -> Result<Event, EntryError> {
        parse_event_bytes(&self.event)
    }

    /// The recording time as a point in time.
    pub fn recorded_at(&self) -> Result<DateTime<Utc>, EntryError> {
        parse_time(&self.time)
    }

    /// The export line, with its final newline:
    /// `{"seq":1,"time":"…","prev":"<hex>","hash":"<hex>","event":<event bytes>}`.
    pub fn export_line(&self) -> String {
        let mut line = String::with_capacity(200 + self.event.len());
        self.write_export_line(&mut line);
        line
    }

    /// The length of [`Entry::export_line`] without its newline, counted without writing it:
    /// what a tile bundle's 16-bit length must hold.
    pub fn export_line_len(&self) -> usize {
        if std::str::from_utf8(&self.event).is_err() {
            // Written lossily: count what is written.
            return self.export_line().len() - 1;
        }
        // Everything but the values.
        const FIELDS: usize = r#"{"seq":,"time":"","prev":"","hash":"","event":}"#.len();
        let digits = self.seq.checked_ilog10().map_or(1, |log| log as usize + 1);
        FIELDS + digits + self.time.len() + 2 * (2 * self.prev.len()) + self.event.len()
    }

    fn write_export_line(&self, line: &mut String) {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = write!(
            line,
            "{{\"seq\":{},\"time\":\"{}\",\"prev\":\"{}\",\"hash\":\"{}\",\"event\":",
            self.seq,
            self.time,
            hex::encode(self.prev),
            hex::encode(self.hash)
        );
        match std::str::from_utf8(&self.event) {
            Ok(event) => line.push_str(event),
            Err(_) => line.push_str(&String::from_utf8_lossy(&self.event)),
        }
        line.push_str("}\n");
    }

    /// Parses one export line (with or without its final newline), exactly as
    /// [`Entry::export_line`] writes it: anything else, even equivalent JSON, is refused.
    ///
    /// Only the form is checked here: the hash, the link to the entry before and the event's
    /// validity are for the caller, who knows the chain.
    pub fn parse_export_line(line: &[u8]) -> Result<Entry, EntryError> {
        parse_export_line_event(line, None).map(|(entry, _)| entry)
    }
}

/// Parses an event's stored (canonical) bytes.
pub(crate) fn parse_event_bytes(bytes: &[u8]) -> Result<Event, EntryError> {
    parse_event(bytes).map_err(|e| EntryError::Event {
        field: e.field,
        reason: e.reason,
    })
}

/// [`Entry::parse_export_line`], keeping the parsed event.
/// [`Entry::parse_export_line`], with the event parsed. A time equal to `checked_time` (the
/// time of the line before, already checked) is not parsed again.
pub(crate) fn parse_export_line_event(
    line: &[u8],
    checked_time: Option<&str>,
) -> Result<(Entry, Event), EntryError> {
    {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let rest = line
            .strip_prefix(b"{\"seq\":")
            .ok_or_else(|| bad("does not start with {\"seq\":"))?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (number, rest) = rest.split_at(digits);
        let seq = std::str::from_utf8(number)
            .ok()
            .filter(|n| !n.is_empty() && !n.starts_with('0'))
            .and_then(|n| n.parse::<Seq>().ok())
            .ok_or_else(|| {
                bad("\"seq\" is not a positive integer written without leading zeros")
            })?;
        let rest = rest
            .strip_prefix(b",\"time\":\"")
            .ok_or_else(|| bad("\"time\" does not follow \"seq\""))?;
        let (time, rest) = split_checked(rest, TIME_LEN, "time")?;
        let time = std::str::from_utf8(time)
            .map_err(|_| bad("\"time\" is not a recording time"))?
            .to_owned();
        if checked_time != Some(time.as_str()) {
            parse_time(&time)?;
        }
        let rest = rest
            .strip_prefix(b"\",\"prev\":\"")
            .ok_or_else(|| bad("\"prev\" does not follow \"time\" (or the time is not of the form 2026-01-31T12:00:00.000000Z)"))?;
        let (prev, rest) = split_checked(rest, 64, "prev")?;
        let prev = parse_hash(prev, "prev")?;
        let rest = rest.strip_prefix(b"\",\"hash\":\"").ok_or_else(|| {
            bad("\"hash\" does not follow \"prev\" (or \"prev\" is not 64 hex digits)")
        })?;
        let (hash, rest) = split_checked(rest, 64, "hash")?;
        let hash = parse_hash(hash, "hash")?;
        let rest = rest.strip_prefix(b"\",\"event\":").ok_or_else(|| {
            bad("\"event\" does not follow \"hash\" (or \"hash\" is not 64 hex digits)")
        })?;
        let event = rest
            .strip_suffix(b"}")
            .ok_or_else(|| bad("does not end with the closing } of the entry"))?;
        let entry = Entry {
            seq,
            time,
            prev,
            hash,
            event: event.to_vec(),
        };
        let parsed = entry.event()?;
        if !parsed.has_canonical_bytes(&entry.event) {
            return Err(EntryError::NotCanonical);
        }
        Ok((entry, parsed))
    }
}

fn split_checked<'a>(
    bytes: &'a [u8],
    len: usize,
    field: &'static str,
) -> Result<(&'a [u8], &'a [u8]), EntryError> {
    if bytes.len() < len {
        return Err(EntryError::CutShort { field });
    }
    Ok(bytes.split_at(len))
}

fn parse_hash(text: &[u8], field: &'static str) -> Result<[u8; 32], EntryError> {
    let lower = text
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    let mut out = [0u8; 32];
    if lower && hex::decode_to_slice(text, &mut out).is_ok() {
        Ok(out)
    } else {
        Err(EntryError::NotHex { field })
    }
}

/// Lengths fit in u32: events are at most 64 KiB and times 27 bytes.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Renders a recording time: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, truncated to microseconds.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// Parses a recording time written exactly as [`format_time`] writes it.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, EntryError> {
    let shape = |b: &[u8]| {
        b.len() == TIME_LEN
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                26 => *c == b'Z',
                _ => c.is_ascii_digit(),
            })
    };
    let invalid = || EntryError::Time {
        text: text.to_owned(),
    };
    if !shape(text.as_bytes()) {
        return Err(invalid());
    }
    let naive = NaiveDateTime::parse_from_str(&text[..26], "%Y-%m-%dT%H:%M:%S%.6f")
        .map_err(|_| invalid())?;
    let t = naive.and_utc();
    if format_time(t) != text {
        return Err(invalid());
    }
    Ok(t)
}

/// The parts of a stored entry, borrowed from its chunk's bytes (`crate::chunk`).
pub(crate) struct Stored<'a> {
    pub seq: Seq,
    pub time: &'a str,
    pub prev: [u8; 32],
    pub hash: [u8; 32],
    pub event: &'a [u8],
}

impl Stored<'_> {
    pub(crate) fn to_entry(&self) -> Entry {
        Entry {
            seq: self.seq,
            time: self.time.to_owned(),
            prev: self.prev,
            hash: self.hash,
            event: self.event.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry::new(
            1,
            "2026-11-29T18:27:48.123456Z".into(),
            ZERO_HASH,
            br#"{"type":"act_issued","act":"A-1","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#.to_vec(),
        )
    }

    /// The worked example of docs/FORMAT.md.
    #[test]
    fn hash_test_vector() {
        let event = br#"{"type":"act_issued","act":"RS-131-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-01"}"#;
        let hash = Entry::compute_hash(1, "2026-11-29T18:27:48.123456Z", &ZERO_HASH, event);
        assert_eq!(
            hex::encode(hash),
            "98fe312f798db8e76af43cc28d3acee5898a43048aaf0fcef0fcdcf7750f54ee"
        );
    }

    #[test]
    fn export_line_round_trips() {
        let entry = sample();
        let line = entry.export_line();
        assert!(
            line.starts_with("{\"seq\":1,\"time\":\"2026-11-29T18:27:48.123456Z\",\"prev\":\"0000")
        );
        assert!(line.ends_with("}}\n"));
        assert_eq!(Entry::parse_export_line(line.as_bytes()).unwrap(), entry);
    }

    #[test]
    fn the_export_line_length_is_counted_as_written() {
        for seq in [1, 9, 10, 99, 100, 123_456, u64::MAX] {
            let mut entry = sample();
            entry.seq = seq;
            assert_eq!(
                entry.export_line_len(),
                entry.export_line().len() - 1,
                "{seq}"
            );
        }
        let mut lossy = sample();
        lossy.event = b"{\"type\":\"\xff\"}".to_vec();
        assert_eq!(lossy.export_line_len(), lossy.export_line().len() - 1);
    }

    #[test]
    fn non_canonical_lines_are_refused() {
        let line = sample().export_line();
        for bad in [
            line.replace("\"seq\":1", "\"seq\":01"),
            line.replace("\"seq\":1,", "\"seq\": 1,"),
            line.replace(".123456Z", ".123456+00:00"),
            line.replace(
                "\"act\":\"A-1\",\"kind\"",
                "\"kind\":\"ley\",\"act\":\"A-1\",\"x\"",
            ),
            line.replace("{\"type\"", "{ \"type\""),
            line.replace("\"prev\":\"0", "\"prev\":\"O"),
            line.to_uppercase(),
        ] {
            assert!(Entry::parse_export_line(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_canonical() {
        let t = parse_time("2026-11-29T18:27:48.123456Z").unwrap();
        assert_eq!(format_time(t), "2026-11-29T18:27:48.123456Z");
        for bad in [
            "2026-11-29T18:27:48.12345Z",
            "2026-11-29T18:27:48Z",
            "2026-02-30T18:27:48.123456Z",
            "2026-11-29 18:27:48.123456Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
