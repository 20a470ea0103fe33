//! What the OpenAPI schemas derived from the core's types (feature `openapi`) promise: the
//! JSON the ledger reads and writes, field for field.

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

use crate::docs_tests::{Kind, documented_events};
use crate::{EVENT_TYPES, Event, WhoHeld};

/// The schema of `T` and of every schema it refers to, by name, as JSON.
fn schemas_of<T: ToSchema>() -> serde_json::Map<String, Value> {
    let mut all: Vec<(String, RefOr<Schema>)> = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut all);
    all.into_iter()
        .map(|(name, schema)| {
            (
                name,
                serde_json::to_value(schema).expect("a schema is JSON"),
            )
        })
        .collect()
}

/// A property's schema, with a `$ref` followed and a nullable `oneOf` reduced to its other
/// half: what a value of the property looks like.
fn resolve<'a>(schemas: &'a serde_json::Map<String, Value>, property: &'a Value) -> &'a Value {
    if let Some(name) = property["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return resolve(schemas, &schemas[name]);
    }
    if let Some(Value::Array(choices)) = property.get("oneOf")
        && let [null, other] = choices.as_slice()
        && null == &json!({"type": "null"})
    {
        return resolve(schemas, other);
    }
    property
}

fn names(value: &Value) -> Vec<&str> {
    match value {
        Value::Object(map) => map.keys().map(String::as_str).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

#[test]
fn who_held_is_described_field_for_field() {
    let schemas = schemas_of::<WhoHeld>();
    let who_held = &schemas["WhoHeld"];
    let mut properties = names(&who_held["properties"]);
    properties.sort_unstable();
    assert_eq!(
        properties,
        [
            "as_of",
            "holder",
            "office",
            "on",
            "on_record",
            "record_starts",
            "titular"
        ]
    );
    // Null is written, never omitted: every field is required.
    assert_eq!(
        names(&who_held["required"]),
        [
            "office",
            "on",
            "as_of",
            "on_record",
            "record_starts",
            "holder",
            "titular"
        ]
    );
    assert_eq!(
        resolve(&schemas, &who_held["properties"]["on_record"])["type"],
        "boolean"
    );
    let property = |name: &str| resolve(&schemas, &who_held["properties"][name]);
    assert_eq!(property("on")["type"], "string");
    assert_eq!(property("on")["format"], "date");
    assert_eq!(property("office")["type"], "string");
    assert_eq!(
        property("office")["pattern"],
        "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    );
    assert_eq!(property("as_of")["type"], "integer");
    assert_eq!(who_held["properties"]["holder"]["oneOf"][0]["type"], "null");
    let holder = property("holder");
    assert_eq!(
        names(&holder["required"]),
        ["person", "name", "capacity", "basis"]
    );
    let capacity = resolve(&schemas, &holder["properties"]["capacity"]);
    assert_eq!(names(&capacity["enum"]), ["titular", "acting"]);
    let basis = &holder["properties"]["basis"];
    assert_eq!(basis["type"], "array");
    assert_eq!(resolve(&schemas, &basis["items"])["type"], "string");
    let titular = property("titular");
    assert_eq!(
        names(&titular["required"]),
        [
            "person",
            "name",
            "absent",
            "trip_act",
            "absence",
            "absence_act"
        ]
    );
    // `absence` is `trip`, `leave` or null.
    assert_eq!(titular["properties"]["absence"]["oneOf"][0]["type"], "null");
    let absence = resolve(&schemas, &titular["properties"]["absence"]);
    assert_eq!(names(&absence["enum"]), ["trip", "leave"]);
    let absence_act = resolve(&schemas, &titular["properties"]["absence_act"]);
    assert_eq!(absence_act["type"], "string");
}

/// The names in `list` that are not in `other`.
fn missing<'a>(list: &[&'a str], other: &[&str]) -> Vec<&'a str> {
    list.iter()
        .filter(|n| !other.contains(n))
        .copied()
        .collect()
}

/// The schema of each event type is what its table in `docs/EVENTS.md` documents: the same
/// fields, the same required ones, values of the documented type.
#[test]
fn the_event_schema_is_the_input_format() {
    let schemas = schemas_of::<Event>();
    let variants = schemas["Event"]["oneOf"]
        .as_array()
        .expect("one schema per type");
    assert_eq!(variants.len(), EVENT_TYPES.len());
    let documented = documented_events();
    for (variant, type_name) in variants.iter().zip(EVENT_TYPES) {
        // Tagged by `type`: the event's own fields, and `type` set to its name.
        let [fields, tag] = variant["allOf"]
            .as_array()
            .expect("fields and tag")
            .as_slice()
        else {
            panic!("{type_name}: {variant}");
        };
        assert_eq!(tag["properties"]["type"]["enum"], json!([type_name]));
        assert_eq!(tag["required"], json!(["type"]));
        let fields = resolve(&schemas, fields);
        let doc = documented
            .iter()
            .find(|d| d.name == type_name)
            .unwrap_or_else(|| panic!("docs/EVENTS.md has no table for `{type_name}`"));
        let in_doc: Vec<&str> = doc.fields.iter().map(|f| f.name.as_str()).collect();
        let in_core = names(&fields["properties"]);
        let undocumented = missing(&in_core, &in_doc);
        let unknown = missing(&in_doc, &in_core);
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "`{type_name}`: fields of the core missing from docs/EVENTS.md: {undocumented:?}; \
             fields in docs/EVENTS.md that the core does not have: {unknown:?}"
        );
        let required: Vec<&str> = doc
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            names(&fields["required"]),
            required,
            "`{type_name}`: the core requires these fields (left), docs/EVENTS.md these (right)"
        );
        for field in &doc.fields {
            let name = &field.name;
            let value = resolve(&schemas, &fields["properties"][name]);
            // `null` is never a value: an optional field is omitted instead.
            assert!(
                value.get("oneOf").is_none(),
                "{type_name}.{name} is nullable"
            );
            let (kind, format, pattern) = match field.kind {
                Kind::Identifier => ("string", None, true),
                Kind::Day => ("string", Some("date"), false),
                Kind::Text => ("string", None, false),
                Kind::Position => ("integer", Some("int64"), false),
            };
            let what = format!("`{type_name}.{name}` ({:?} in docs/EVENTS.md)", field.kind);
            assert_eq!(value["type"], kind, "{what}");
            assert_eq!(
                value.get("format").and_then(Value::as_str),
                format,
                "{what}"
            );
            assert_eq!(value.get("pattern").is_some(), pattern, "{what}");
            if field.kind == Kind::Position {
                assert_eq!(value["minimum"], 1, "{what}");
            }
        }
    }
}
