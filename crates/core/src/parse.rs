//! Strict parsing of user input into [`Event`]s: one JSON object, or NDJSON.
//!
//! serde's derive would accept duplicate keys through buffering and report errors without the
//! field's name, so the input is first read into an ordered list of keys and JSON values
//! (noting a repeated key), then every field is checked by name, with messages a clerk reads.
//! Keys and texts are borrowed from the input when they hold no escape: every stored event is
//! parsed again by verify, import and replay, and allocating each key and value twice was
//! most of the cost.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use crate::day::Day;
use crate::event::{
    ActIssued, ActRevoked, Appointed, DutiesDelegated, Event, LeaveGranted, LeftOffice,
    MAX_EVENT_BYTES, RecordRetracted, TripAuthorized,
};
use crate::id::IdError;
pub use crate::read::{BatchReader, ReadError};

/// Messages never repeat more than this many characters of the input.
const MAX_QUOTED_CHARS: usize = 200;

/// The event types, in the spec's order.
pub const EVENT_TYPES: [&str; 8] = [
    "act_issued",
    "appointed",
    "left_office",
    "trip_authorized",
    "leave_granted",
    "duties_delegated",
    "act_revoked",
    "record_retracted",
];

/// A rejected event: where it is, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidEvent {
    /// The 1-based line of the input where the event starts.
    pub line: usize,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why, in plain words.
    pub reason: String,
}

impl fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field {}: ", quote(field))?;
        }
        f.write_str(&self.reason)
    }
}

/// A problem with one field of one event, before its line is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

impl FieldError {
    fn field(name: &str, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: Some(name.to_owned()),
            reason: reason.into(),
        }
    }

    pub(crate) fn whole(reason: impl Into<String>) -> FieldError {
        FieldError {
            field: None,
            reason: reason.into(),
        }
    }

    /// Attaches the line the event starts on.
    pub fn at_line(self, line: usize) -> InvalidEvent {
        InvalidEvent {
            line,
            field: self.field,
            reason: self.reason,
        }
    }
}

/// One parsed event and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputEvent {
    /// 1-based line where the event's JSON starts.
    pub line: usize,
    /// The event.
    pub event: Event,
}

/// Quotes `text` as JSON would, cut to [`MAX_QUOTED_CHARS`] characters.
pub fn quote(text: &str) -> String {
    let mut chars = text.char_indices();
    match chars.nth(MAX_QUOTED_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes in all)", &text[..cut], text.len()),
    }
}

/// Parses a whole input: one JSON object (which may span lines) or NDJSON (one object a
/// line; CRLF line ends and blank lines are fine). Any failure names the line.
///
/// The same parser as [`BatchReader`], given the input in one piece.
pub fn parse_batch(input: &[u8]) -> Result<Vec<InputEvent>, InvalidEvent> {
    let pieces = std::iter::once(Ok::<_, std::convert::Infallible>(input));
    BatchReader::new(pieces)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            ReadError::Invalid(invalid) => invalid,
            ReadError::Read(never) => match never {},
        })
}

pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a line is blank: only ASCII whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Whether the first non-blank line (without its CR) starts an object it does not end: then
/// the whole input from it is one multi-line object.
pub(crate) fn opens_object(first_line: &[u8]) -> bool {
    first_line.len() <= MAX_EVENT_BYTES
        && std::str::from_utf8(first_line).is_ok()
        && serde_json::from_slice::<IgnoredAny>(first_line).is_err_and(|e| e.is_eof())
}

/// Parses `text`, the input from the first line of a multi-line object (line `first_line`)
/// to its end.
pub(crate) fn parse_multiline(text: &[u8], first_line: usize) -> Result<InputEvent, InvalidEvent> {
    match parse_event(text) {
        Ok(event) => Ok(InputEvent {
            line: first_line,
            event,
        }),
        Err(e) => {
            let json = serde_json::from_slice::<IgnoredAny>(text).map(|_| ());
            Err(multiline_failure(e, json, first_line))
        }
    }
}

/// The error of a multi-line object that does not parse as an event (`e`), told more exactly
/// by what serde says of its text as JSON (`json`).
pub(crate) fn multiline_failure(
    mut e: FieldError,
    json: Result<(), serde_json::Error>,
    first_line: usize,
) -> InvalidEvent {
    // A syntax error knows its own line inside the object.
    let mut line = first_line;
    if let Err(json) = json {
        // An object the input ends inside is reported where it starts: serde's line of the
        // end of input is past the last line written (after its newline).
        if !json.is_eof() {
            line = first_line + json.line().saturating_sub(1);
        }
        if json.is_eof() {
            e = FieldError::whole(
                "malformed JSON: the input ends inside the object that starts on this line (is a closing } missing?)",
            );
        } else if json.is_syntax() {
            e = FieldError::whole(describe_json_error(&json));
            if json.is_syntax() && json.to_string().starts_with("trailing characters") {
                e = FieldError::whole(
                    "more JSON after the event: write one object a line (NDJSON), or a single object",
                );
            }
        }
    }
    e.at_line(line)
}

/// Why an event of `len` bytes is refused.
pub(crate) fn too_long(len: usize) -> FieldError {
    FieldError::whole(format!(
        "the event is {len} bytes long; at most {MAX_EVENT_BYTES} are allowed"
    ))
}

/// Parses one event's JSON (one object, no line context).
pub fn parse_event(json: &[u8]) -> Result<Event, FieldError> {
    if json.len() > MAX_EVENT_BYTES {
        return Err(too_long(json.len()));
    }
    // One UTF-8 check of the whole event, then parsing text: parsing bytes checks each string
    // apart, which costs more.
    let text = std::str::from_utf8(json).map_err(|bad| {
        FieldError::whole(format!(
            "is not valid UTF-8 (at byte {})",
            bad.valid_up_to() + 1
        ))
    })?;
    let mut json = serde_json::Deserializer::from_str(text);
    let raw = json
        .deserialize_any(RawValueVisitor { object: true })
        .and_then(|raw| json.end().map(|()| raw))
        .map_err(|e| FieldError::whole(describe_json_error(&e)))?;
    let fields = match raw {
        RawValue::Object(fields) => fields,
        other => {
            return Err(FieldError::whole(format!(
                "is {}, not an object: each event is one JSON object",
                json_kind(&other)
            )));
        }
    };
    if let Some(key) = fields.duplicate {
        return Err(FieldError::field(&key, "appears twice in one object"));
    }
    Fields::new(fields.entries)?.into_event()
}

fn describe_json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let core = message.split(" at line ").next().unwrap_or(&message);
    let core: String = core.chars().take(MAX_QUOTED_CHARS).collect();
    if error.is_eof() {
        format!("malformed JSON: {core} (the object is not closed)")
    } else {
        format!("malformed JSON: {core} at column {}", error.column())
    }
}

/// The fields of an object, read without losing repeated keys.
struct RawObject<'a> {
    entries: Vec<(Cow<'a, str>, RawValue<'a>)>,
    duplicate: Option<String>,
}

/// A JSON value, as much of it as the checks need: its text (borrowed from the input when it
/// holds no escape), its number, the fields of the event's own object, or only what kind of
/// JSON it is (a value inside a field is never read deeper).
enum RawValue<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(Number),
    Object(RawObject<'a>),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for RawValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawValue<'de>, D::Error> {
        deserializer.deserialize_any(RawValueVisitor { object: false })
    }
}

/// Reads a [`RawValue`]; `object` when an object's fields are wanted (the event itself), not
/// only its kind (a value inside a field, skipped without recursion).
struct RawValueVisitor {
    object: bool,
}

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Text(Cow::Owned(text)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawValue<'de>, E> {
        Ok(RawValue::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<RawValue<'de>, E> {
        // JSON has no NaN or infinity, so every parsed float is a number.
        Ok(Number::from_f64(n).map_or(RawValue::Other("a number"), RawValue::Number))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawValue::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue<'de>, A::Error> {
        if !self.object {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(RawValue::Other("an object"));
        }
        let mut entries: Vec<(Cow<'de, str>, RawValue<'de>)> = Vec::with_capacity(8);
        let mut duplicate = None;
        // A JSON key is always a string, read as any value is (borrowed when it can be).
        while let Some(key) = map.next_key::<RawValue<'de>>()? {
            let RawValue::Text(key) = key else {
                return Err(de::Error::custom("a key that is not a string"));
            };
            let value: RawValue<'de> = map.next_value()?;
            if duplicate.is_none() && entries.iter().any(|(k, _)| *k == key) {
                duplicate = Some(key.clone().into_owned());
            }
            entries.push((key, value));
        }
        Ok(RawValue::Object(RawObject { entries, duplicate }))
    }
}

fn json_kind(value: &RawValue<'_>) -> &'static str {
    match value {
        RawValue::Null => "null",
        RawValue::Text(_) => "a string",
        RawValue::Number(_) => "a number",
        RawValue::Object(_) => "an object",
        RawValue::Other(kind) => kind,
    }
}

/// The fields of one object, taken one by one; what is left at the end is unknown.
struct Fields<'a> {
    type_name: &'static str,
    entries: Vec<(Cow<'a, str>, RawValue<'a>)>,
}

impl<'a> Fields<'a> {
    fn new(mut entries: Vec<(Cow<'a, str>, RawValue<'a>)>) -> Result<Fields<'a>, FieldError> {
        let Some(at) = entries.iter().position(|(k, _)| k == "type") else {
            return Err(FieldError::field(
                "type",
                "is missing: every event has a type",
            ));
        };
        let (_, value) = entries.remove(at);
        let RawValue::Text(name) = value else {
            return Err(FieldError::field(
                "type",
                format!("expected a string, found {}", json_kind(&value)),
            ));
        };
        let Some(type_name) = EVENT_TYPES.iter().copied().find(|t| *t == name) else {
            let mut reason = format!("{} is not an event type", quote(&name));
            if let Some(close) = closest(&name, &EVENT_TYPES) {
                reason.push_str(&format!(" (did you mean {}?)", quote(close)));
            } else {
                reason.push_str(&format!(" (one of: {})", EVENT_TYPES.join(", ")));
            }
            return Err(FieldError::field("type", reason));
        };
        Ok(Fields { type_name, entries })
    }

    fn into_event(mut self) -> Result<Event, FieldError> {
        let known: &[&str] = match self.type_name {
            "act_issued" => &[
                "act",
                "kind",
                "issuer",
                "issued_on",
                "published_on",
                "title",
                "url",
            ],
            "appointed" => &[
                "act",
                "person",
                "office",
                "on",
                "person_name",
                "office_name",
            ],
            "left_office" => &["act", "person", "office", "on", "reason"],
            "trip_authorized" => &[
                "act",
                "person",
                "office",
                "from",
                "until",
                "destination",
                "purpose",
            ],
            "leave_granted" => &["act", "person", "office", "from", "until", "reason"],
            "duties_delegated" => &[
                "act",
                "office",
                "delegate",
                "from",
                "until",
                "delegate_name",
                "delegate_office",
            ],
            "act_revoked" => &["act", "revokes", "reason"],
            _ => &["seq", "reason"],
        };
        // Unknown fields first: a typo such as "untill" explains a "missing until" better.
        if let Some((key, _)) = self
            .entries
            .iter()
            .find(|(k, _)| !known.contains(&k.as_ref()))
        {
            let mut reason = format!("is not a field of {}", self.type_name);
            if let Some(close) = closest(key, known) {
                reason.push_str(&format!(" (did you mean {}?)", quote(close)));
            }
            return Err(FieldError::field(key, reason));
        }
        let event = match self.type_name {
            "act_issued" => Event::ActIssued(ActIssued {
                act: self.id("act")?,
                kind: self.text("kind")?,
                issuer: self.id("issuer")?,
                issued_on: self.day("issued_on")?,
                published_on: self.optional_day("published_on")?,
                title: self.optional_text("title")?,
                url: self.optional_text("url")?,
            }),
            "appointed" => Event::Appointed(Appointed {
                act: self.id("act")?,
                person: self.id("person")?,
                office: self.id("office")?,
                on: self.day("on")?,
                person_name: self.optional_text("person_name")?,
                office_name: self.optional_text("office_name")?,
            }),
            "left_office" => Event::LeftOffice(LeftOffice {
                act: self.id("act")?,
                person: self.id("person")?,
                office: self.id("office")?,
                on: self.day("on")?,
                reason: self.optional_text("reason")?,
            }),
            "trip_authorized" => {
                let trip = TripAuthorized {
                    act: self.id("act")?,
                    person: self.id("person")?,
                    office: self.id("office")?,
                    from: self.day("from")?,
                    until: self.day("until")?,
                    destination: self.optional_text("destination")?,
                    purpose: self.optional_text("purpose")?,
                };
                check_range(trip.from, trip.until)?;
                Event::TripAuthorized(trip)
            }
            "leave_granted" => {
                let leave = LeaveGranted {
                    act: self.id("act")?,
                    person: self.id("person")?,
                    office: self.id("office")?,
                    from: self.day("from")?,
                    until: self.day("until")?,
                    reason: self.optional_text("reason")?,
                };
                check_range(leave.from, leave.until)?;
                Event::LeaveGranted(leave)
            }
            "duties_delegated" => {
                let delegation = DutiesDelegated {
                    act: self.id("act")?,
                    office: self.id("office")?,
                    delegate: self.id("delegate")?,
                    from: self.day("from")?,
                    until: self.optional_day("until")?,
                    delegate_name: self.optional_text("delegate_name")?,
                    delegate_office: self.optional_id("delegate_office")?,
                };
                if let Some(until) = delegation.until {
                    check_range(delegation.from, until)?;
                }
                Event::DutiesDelegated(delegation)
            }
            "act_revoked" => Event::ActRevoked(ActRevoked {
                act: self.id("act")?,
                revokes: self.id("revokes")?,
                reason: self.optional_text("reason")?,
            }),
            _ => Event::RecordRetracted(RecordRetracted {
                seq: self.seq("seq")?,
                reason: self.text("reason")?,
            }),
        };
        Ok(event)
    }

    fn take(&mut self, name: &str) -> Result<Option<RawValue<'a>>, FieldError> {
        let Some(at) = self.entries.iter().position(|(k, _)| k == name) else {
            return Ok(None);
        };
        let (_, value) = self.entries.swap_remove(at);
        if matches!(value, RawValue::Null) {
            return Err(FieldError::field(
                name,
                "is null: omit a field that has no value",
            ));
        }
        Ok(Some(value))
    }

    fn required(&mut self, name: &str) -> Result<RawValue<'a>, FieldError> {
        self.take(name)?.ok_or_else(|| {
            FieldError::field(name, format!("is missing: {} requires it", self.type_name))
        })
    }

    fn text(&mut self, name: &str) -> Result<String, FieldError> {
        let text = string_value(name, self.required(name)?)?;
        if text.is_empty() {
            return Err(FieldError::field(
                name,
                "is empty: a required text needs a value",
            ));
        }
        Ok(text.into_owned())
    }

    fn optional_text(&mut self, name: &str) -> Result<Option<String>, FieldError> {
        self.optional_str(name)
            .map(|text| text.map(Cow::into_owned))
    }

    fn optional_str(&mut self, name: &str) -> Result<Option<Cow<'a, str>>, FieldError> {
        self.take(name)?.map(|v| string_value(name, v)).transpose()
    }

    fn id<T: FromStr<Err = IdError>>(&mut self, name: &str) -> Result<T, FieldError> {
        let text = string_value(name, self.required(name)?)?;
        parse_field(name, &text)
    }

    fn optional_id<T: FromStr<Err = IdError>>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, FieldError> {
        self.optional_str(name)?
            .map(|text| parse_field(name, &text))
            .transpose()
    }

    fn day(&mut self, name: &str) -> Result<Day, FieldError> {
        let text = string_value(name, self.required(name)?)?;
        parse_field(name, &text)
    }

    fn optional_day(&mut self, name: &str) -> Result<Option<Day>, FieldError> {
        self.optional_str(name)?
            .map(|text| parse_field(name, &text))
            .transpose()
    }

    fn seq(&mut self, name: &str) -> Result<u64, FieldError> {
        match self.required(name)? {
            RawValue::Number(n) => match n.as_u64() {
                Some(seq) if seq > 0 => Ok(seq),
                _ => Err(FieldError::field(
                    name,
                    format!("{n} is not a positive integer such as 9"),
                )),
            },
            other => Err(FieldError::field(
                name,
                format!("expected a positive integer, found {}", json_kind(&other)),
            )),
        }
    }
}

fn string_value<'a>(name: &str, value: RawValue<'a>) -> Result<Cow<'a, str>, FieldError> {
    match value {
        RawValue::Text(text) if has_control(&text) => {
            Err(FieldError::field(name, "contains a control character"))
        }
        RawValue::Text(text) => Ok(text),
        other => Err(FieldError::field(
            name,
            format!("expected a string, found {}", json_kind(&other)),
        )),
    }
}

/// Whether `text` holds a control character (`char::is_control`: U+0000 to U+001F and U+007F
/// to U+009F), looking at bytes: in UTF-8 those are the bytes below 0x20, 0x7F, and 0xC2
/// followed by 0x80 to 0x9F.
fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
        || (bytes.contains(&0xc2)
            && bytes
                .windows(2)
                .any(|pair| pair[0] == 0xc2 && (0x80..=0x9f).contains(&pair[1])))
}

/// Reads the text of field `name` as an identifier ([`crate::ActId`], ...) or a [`Day`], with
/// the message the parser gives when it is not one: for callers that build an [`Event`] from
/// texts that are not JSON (command-line flags), so that they fail as JSON input would.
pub fn parse_field<T>(name: &str, text: &str) -> Result<T, FieldError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    text.parse()
        .map_err(|e| FieldError::field(name, format!("{} {e}", quote(text))))
}

fn check_range(from: Day, until: Day) -> Result<(), FieldError> {
    if from > until {
        return Err(FieldError::field(
            "until",
            format!("{until} is before from ({from}): a range runs forward"),
        ));
    }
    Ok(())
}

/// How many of each character a text holds, the characters above ASCII counted together.
fn character_counts(text: &str) -> [u16; 128] {
    let mut counts = [0u16; 128];
    for c in text.chars() {
        let bucket = (c as usize).min(127);
        counts[bucket] = counts[bucket].saturating_add(1);
    }
    counts
}

/// A lower bound of the edit distance between two texts of these character counts: the
/// larger of the characters each has that the other lacks. An insertion or a deletion changes
/// one count by one, a substitution two (one each way), and a transposition none; counting the
/// characters above ASCII together only makes the differences smaller.
fn edit_distance_at_least(a: &[u16; 128], b: &[u16; 128]) -> usize {
    let (mut only_a, mut only_b) = (0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        only_a += usize::from(x.saturating_sub(*y));
        only_b += usize::from(y.saturating_sub(*x));
    }
    only_a.max(only_b)
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let counts = character_counts(word);
    candidates
        .iter()
        // Those whose characters alone put them too far are never measured: the closeness of a
        // new id is asked of every known one, tens of thousands on a large ledger.
        .filter(|c| edit_distance_at_least(&counts, &character_counts(c)) <= 2.max(c.len() / 4))
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{has_control, parse_batch, parse_event};

    /// An `act_issued` whose JSON is exactly `len` bytes (its title padded).
    fn act_of_len(len: usize) -> String {
        let bare = r#"{"type":"act_issued","act":"RS-1-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-01-01","title":""}"#;
        let json = bare.replace(
            r#""title":""#,
            &format!(r#""title":"{}"#, "t".repeat(len - bare.len())),
        );
        assert_eq!(json.len(), len);
        json
    }

    proptest! {
        /// The bound that spares measuring most candidates never exceeds the distance, so
        /// `closest` finds what measuring every candidate finds.
        #[test]
        fn the_character_bound_never_exceeds_the_edit_distance(
            a in "[a-eé-]{0,12}",
            b in "[a-eñ-]{0,12}",
        ) {
            let bound = super::edit_distance_at_least(
                &super::character_counts(&a),
                &super::character_counts(&b),
            );
            prop_assert!(bound <= strsim::damerau_levenshtein(&a, &b));
        }

        #[test]
        fn closest_is_the_nearest_candidate_within_reach(
            word in "[a-d-]{1,10}",
            candidates in proptest::collection::vec("[a-d-]{1,12}", 0..20),
        ) {
            let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
            let measured = refs
                .iter()
                .map(|c| (strsim::damerau_levenshtein(&word, c), *c))
                .filter(|(distance, c)| *distance <= 2.max(c.len() / 4))
                .min_by_key(|(distance, _)| *distance)
                .map(|(_, c)| c);
            prop_assert_eq!(super::closest(&word, &refs), measured);
        }
    }

    #[test]
    fn an_event_of_65000_bytes_is_accepted_and_one_more_byte_is_refused() {
        let at_cap = parse_event(act_of_len(65_000).as_bytes()).unwrap();
        assert_eq!(at_cap.canonical_bytes().len(), 65_000);
        let over = parse_event(act_of_len(65_001).as_bytes()).unwrap_err();
        assert!(over.reason.contains("at most 65000"), "{over:?}");
        // In a batch too, by line.
        let batch = format!("{}\n{}\n", act_of_len(200), act_of_len(65_001));
        let refused = parse_batch(batch.as_bytes()).unwrap_err();
        assert!(refused.to_string().contains("line 2"), "{refused}");
    }

    #[test]
    fn an_object_left_open_is_reported_on_the_line_it_starts() {
        for input in [
            &b"{\"type\":\"act_issued\",\"act\":\"A\"\n"[..],
            b"{\"type\":\"act_issued\",\"act\":\"A\"",
            b"{\"type\":\"act_issued\",\n\"act\":\"A\"\n\n",
        ] {
            let error = parse_batch(input).expect_err("an open object");
            assert_eq!(error.line, 1, "{}", String::from_utf8_lossy(input));
            assert!(
                error.reason.contains("closing } missing"),
                "{}",
                error.reason
            );
        }
        // Blank lines before it: the object's own line.
        let error = parse_batch(b"\n\n{\"type\":\"act_issued\",\n").expect_err("open");
        assert_eq!(error.line, 3);
    }

    proptest! {
        #[test]
        fn control_characters_are_found_as_char_is_control_finds_them(text in any::<String>()) {
            prop_assert_eq!(has_control(&text), text.chars().any(char::is_control));
        }

        #[test]
        fn control_characters_near_the_c1_range_are_told_apart(
            chars in proptest::collection::vec(
                prop_oneof![Just('\u{7e}'), Just('\u{7f}'), Just('\u{80}'), Just('\u{9f}'),
                    Just('\u{a0}'), Just('\u{c2}'), Just('é'), Just('a'), Just('\u{1f}')],
                0..6,
            )
        ) {
            let text: String = chars.into_iter().collect();
            prop_assert_eq!(has_control(&text), text.chars().any(char::is_control));
        }
    }

    #[test]
    fn control_characters_are_refused_raw_or_escaped() {
        for text in [r"a\u0001b", r"a\u007fb", r"a\u0085b", r"\u009f"] {
            let json = format!(
                r#"{{"type":"act_revoked","act":"A-1","revokes":"A-0","reason":"{text}"}}"#
            );
            let error = parse_event(json.as_bytes()).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("reason"), "{text}");
            assert_eq!(error.reason, "contains a control character", "{text}");
        }
        for raw in ['\u{7f}', '\u{85}', '\u{9f}'] {
            let json = format!(
                r#"{{"type":"act_revoked","act":"A-1","revokes":"A-0","reason":"a{raw}b"}}"#
            );
            let error = parse_event(json.as_bytes()).unwrap_err();
            assert_eq!(error.reason, "contains a control character", "{raw:?}");
        }
        // A raw character below U+0020 is not JSON at all.
        let json =
            "{\"type\":\"act_revoked\",\"act\":\"A-1\",\"revokes\":\"A-0\",\"reason\":\"a\u{1}b\"}";
        assert!(
            parse_event(json.as_bytes())
                .unwrap_err()
                .reason
                .starts_with("malformed JSON")
        );
        let fine = r#"{"type":"act_revoked","act":"A-1","revokes":"A-0","reason":"año \u00a0 ok"}"#;
        assert!(parse_event(fine.as_bytes()).is_ok());
    }

    #[test]
    fn escaped_and_plain_texts_read_the_same() {
        let plain = parse_event(
            br#"{"type":"act_revoked","act":"A-1","revokes":"A-0","reason":"caf\u00e9"}"#,
        );
        let escaped = parse_event(
            "{\"type\":\"act_revoked\",\"act\":\"A-1\",\"revokes\":\"A-0\",\"reason\":\"café\"}"
                .as_bytes(),
        );
        assert_eq!(plain.unwrap(), escaped.unwrap());
        let key_escaped =
            parse_event(br#"{"typ\u0065":"act_revoked","act":"A-1","revokes":"A-0"}"#);
        assert!(key_escaped.is_ok(), "{key_escaped:?}");
    }

    #[test]
    fn the_kind_of_a_wrong_value_is_named() {
        for (value, kind) in [
            ("true", "a boolean"),
            ("[1,2]", "an array"),
            (r#"{"a":{"b":1}}"#, "an object"),
            ("12", "a number"),
            ("-1.5", "a number"),
        ] {
            let json = format!(r#"{{"type":"act_revoked","act":{value},"revokes":"A-0"}}"#);
            let error = parse_event(json.as_bytes()).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("act"));
            assert_eq!(error.reason, format!("expected a string, found {kind}"));
        }
        let error =
            parse_event(br#"{"type":"record_retracted","seq":-3,"reason":"x"}"#).unwrap_err();
        assert_eq!(error.reason, "-3 is not a positive integer such as 9");
        let error =
            parse_event(br#"{"type":"record_retracted","seq":1.5,"reason":"x"}"#).unwrap_err();
        assert_eq!(error.reason, "1.5 is not a positive integer such as 9");
        let error =
            parse_event(br#"{"type":"record_retracted","seq":null,"reason":"x"}"#).unwrap_err();
        assert_eq!(error.reason, "is null: omit a field that has no value");
    }
}
