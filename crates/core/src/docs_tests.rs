//! The documentation of the event format, read and held to the core, so that a field or a type
//! added to one cannot be missing from the other.
//!
//! `docs/EVENTS.md` documents each event type under a heading `` ### `type`: ... `` (in "The
//! event types"), followed by one table whose rows are `` | `field` | value type | yes/no |
//! meaning | ``. Here the parser must accept each documented event, list its fields in the
//! canonical bytes in the table's order (what `docs/FORMAT.md` promises) and refuse it without
//! a field the table says is required. `openapi_tests` holds the tables to the OpenAPI schema of
//! [`Event`], which finds a field of the core that no table lists. The README names the types.

use std::fmt::Write;
use std::path::Path;

use crate::{EVENT_TYPES, Event, parse_event};

/// What a field's value is, as the "type" column of `docs/EVENTS.md` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Identifier,
    Day,
    Text,
    Position,
}

/// One row of a type's table in `docs/EVENTS.md`.
#[derive(Debug)]
pub(crate) struct DocumentedField {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
}

/// One event type as `docs/EVENTS.md` documents it: its fields in the table's order.
#[derive(Debug)]
pub(crate) struct DocumentedType {
    pub name: String,
    pub fields: Vec<DocumentedField>,
}

/// A file of the repository, from the workspace root.
pub(crate) fn read_doc(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines under the heading `## {title}`, up to the next `## ` heading, with their numbers.
fn section<'a>(text: &'a str, file: &str, title: &str) -> Vec<(usize, &'a str)> {
    let heading = format!("## {title}");
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .skip_while(|(_, line)| *line != heading)
        .skip(1)
        .take_while(|(_, line)| !line.starts_with("## "))
        .collect();
    assert!(!lines.is_empty(), "{file} has no section \"{heading}\"");
    lines
}

/// The event types of `docs/EVENTS.md`, in its order.
pub(crate) fn documented_events() -> Vec<DocumentedType> {
    let text = read_doc("docs/EVENTS.md");
    let mut types: Vec<DocumentedType> = Vec::new();
    // Whether the last `###` heading names a type, and whether its table has begun.
    let mut in_type = false;
    let mut in_table = false;
    for (number, line) in section(&text, "docs/EVENTS.md", "The event types") {
        let at = format!("docs/EVENTS.md:{number}");
        if let Some(heading) = line.strip_prefix("### ") {
            in_type = false;
            in_table = false;
            if let Some(rest) = heading.strip_prefix('`') {
                let (name, _) = rest
                    .split_once('`')
                    .unwrap_or_else(|| panic!("{at}: an unclosed ` in {line:?}"));
                assert!(
                    types.iter().all(|t| t.name != name),
                    "{at}: `{name}` is documented twice"
                );
                types.push(DocumentedType {
                    name: name.to_owned(),
                    fields: Vec::new(),
                });
                in_type = true;
            }
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let Some(documented) = types.last_mut().filter(|_| in_type) else {
            panic!("{at}: a table under a heading that names no event type (### `type`: ...)");
        };
        let type_name = &documented.name;
        if !in_table {
            assert!(
                documented.fields.is_empty(),
                "{at}: a second table for `{type_name}`"
            );
            assert_eq!(
                line, "| field | type | required | meaning |",
                "{at}: the table of `{type_name}` must have these columns"
            );
            in_table = true;
            continue;
        }
        if line.starts_with("|-") {
            continue;
        }
        let cells: Vec<&str> = line[1..].splitn(4, '|').map(str::trim).collect();
        let [field, kind, required, _meaning] = cells.as_slice() else {
            panic!("{at}: a row of `{type_name}` without four cells: {line:?}");
        };
        let name = field
            .strip_prefix('`')
            .and_then(|f| f.strip_suffix('`'))
            .filter(|f| !f.contains('`'))
            .unwrap_or_else(|| panic!("{at}: the field of `{type_name}` is not in `backticks`"));
        let kind = match *kind {
            "identifier" => Kind::Identifier,
            "day" => Kind::Day,
            "text" => Kind::Text,
            "position" => Kind::Position,
            other => panic!("{at}: `{type_name}.{name}` has an unknown value type {other:?}"),
        };
        let required = match *required {
            "yes" => true,
            "no" => false,
            other => panic!("{at}: `{type_name}.{name}` is required {other:?}, not yes or no"),
        };
        assert!(
            documented.fields.iter().all(|f| f.name != name),
            "{at}: `{type_name}.{name}` is documented twice"
        );
        documented.fields.push(DocumentedField {
            name: name.to_owned(),
            kind,
            required,
        });
    }
    for documented in &types {
        assert!(
            !documented.fields.is_empty(),
            "docs/EVENTS.md: `{}` has no table of fields",
            documented.name
        );
    }
    types
}

#[test]
fn events_md_documents_every_type_of_the_core() {
    let documented: Vec<String> = documented_events().into_iter().map(|t| t.name).collect();
    assert_eq!(
        documented, EVENT_TYPES,
        "docs/EVENTS.md documents these types (left), the core has these (right), in this order"
    );
}

/// A valid value of `kind` as JSON; one day for all, so that every range is valid.
fn sample(kind: Kind) -> &'static str {
    match kind {
        Kind::Identifier => r#""RS-131-2024-PCM""#,
        Kind::Day => r#""2024-06-01""#,
        Kind::Text => r#""José""#,
        Kind::Position => "1",
    }
}

/// An event of `type_name` with `fields`, in the order given, as compact JSON.
fn event_json<'a>(type_name: &str, fields: impl Iterator<Item = &'a DocumentedField>) -> String {
    let mut json = format!(r#"{{"type":"{type_name}""#);
    for field in fields {
        write!(json, r#","{}":{}"#, field.name, sample(field.kind)).expect("a string");
    }
    json.push('}');
    json
}

#[test]
fn canonical_bytes_list_the_fields_in_the_order_of_events_md() {
    for documented in documented_events() {
        let type_name = &documented.name;
        let fields = &documented.fields;
        // Given backwards: the canonical order is the core's, whatever the input's.
        let input = event_json(type_name, fields.iter().rev());
        let event: Event = parse_event(input.as_bytes()).unwrap_or_else(|e| {
            panic!("`{type_name}` with every field docs/EVENTS.md documents is refused: {e:?}")
        });
        assert_eq!(
            String::from_utf8(event.canonical_bytes()).expect("canonical bytes are UTF-8"),
            event_json(type_name, fields.iter()),
            "`{type_name}`: the canonical bytes (left) must list the fields in the order of \
             docs/EVENTS.md's table (right), as docs/FORMAT.md says"
        );
        for field in fields {
            let input = event_json(type_name, fields.iter().filter(|f| f.name != field.name));
            let parsed = parse_event(input.as_bytes());
            if field.required {
                assert_eq!(
                    parsed.err().and_then(|e| e.field).as_deref(),
                    Some(field.name.as_str()),
                    "`{type_name}.{}` is required in docs/EVENTS.md: {input}",
                    field.name
                );
            } else {
                assert!(
                    parsed.is_ok(),
                    "`{type_name}.{}` is optional in docs/EVENTS.md: {input}: {parsed:?}",
                    field.name
                );
            }
        }
    }
}

#[test]
fn the_readme_names_every_type_of_the_core() {
    const COUNTS: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    let readme = read_doc("README.md");
    let lines = section(&readme, "README.md", "The event format");
    let text: Vec<&str> = lines.iter().map(|(_, line)| *line).collect();
    let text = text.join("\n");
    let announced = format!("of {} types:", COUNTS[EVENT_TYPES.len()]);
    let (_, list) = text.split_once(&announced).unwrap_or_else(|| {
        panic!("README.md's \"The event format\" must say \"{announced}\", then name them")
    });
    let list = list.split_once(". ").map_or(list, |(list, _)| list);
    let named: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert_eq!(
        named, EVENT_TYPES,
        "README.md's \"The event format\" names these types (left), the core has these (right)"
    );
}
