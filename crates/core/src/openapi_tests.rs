//! What the OpenAPI schemas derived from the core's types (feature `openapi`) promise: the
//! JSON the ledger reads and writes, field for field.

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

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
    if let Some(Value::Array(choices)) = property.get("oneOf") {
        if let [null, other] = choices.as_slice() {
            if null == &json!({"type": "null"}) {
                return resolve(schemas, other);
            }
        }
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
    assert_eq!(properties, ["as_of", "holder", "office", "on", "titular"]);
    // Null is written, never omitted: every field is required.
    assert_eq!(
        names(&who_held["required"]),
        ["office", "on", "as_of", "holder", "titular"]
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
        ["person", "name", "absent", "trip_act"]
    );
}

/// The spec's table: each type, its required fields and its optional fields.
const SPEC: [(&str, &[&str], &[&str]); 7] = [
    (
        "act_issued",
        &["act", "kind", "issuer", "issued_on"],
        &["published_on", "title", "url"],
    ),
    (
        "appointed",
        &["act", "person", "office", "on"],
        &["person_name", "office_name"],
    ),
    (
        "left_office",
        &["act", "person", "office", "on"],
        &["reason"],
    ),
    (
        "trip_authorized",
        &["act", "person", "office", "from", "until"],
        &["destination", "purpose"],
    ),
    (
        "duties_delegated",
        &["act", "office", "delegate", "from"],
        &["until", "delegate_name", "delegate_office"],
    ),
    ("act_revoked", &["act", "revokes"], &["reason"]),
    ("record_retracted", &["seq", "reason"], &[]),
];

#[test]
fn the_event_schema_is_the_input_format() {
    let schemas = schemas_of::<Event>();
    let variants = schemas["Event"]["oneOf"]
        .as_array()
        .expect("one schema per type");
    assert_eq!(variants.len(), EVENT_TYPES.len());
    for ((variant, type_name), (spec_type, required, optional)) in
        variants.iter().zip(EVENT_TYPES).zip(SPEC)
    {
        assert_eq!(type_name, spec_type);
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
        assert_eq!(names(&fields["required"]), required, "{type_name}");
        let mut all: Vec<&str> = required.iter().chain(optional).copied().collect();
        all.sort_unstable();
        let mut properties = names(&fields["properties"]);
        properties.sort_unstable();
        assert_eq!(properties, all, "{type_name}");
        for (name, property) in fields["properties"].as_object().expect("properties") {
            let value = resolve(&schemas, property);
            // `null` is never a value: an optional field is omitted instead.
            assert!(
                value.get("oneOf").is_none(),
                "{type_name}.{name} is nullable"
            );
            let expected = if name == "seq" { "integer" } else { "string" };
            assert_eq!(value["type"], expected, "{type_name}.{name}");
            let is_day = ["on", "from", "until", "issued_on", "published_on"].contains(&&**name);
            assert_eq!(
                value.get("format").is_some_and(|f| f == "date"),
                is_day,
                "{type_name}.{name}"
            );
            let is_id = [
                "act",
                "person",
                "office",
                "delegate",
                "delegate_office",
                "issuer",
                "revokes",
            ]
            .contains(&&**name);
            assert_eq!(value.get("pattern").is_some(), is_id, "{type_name}.{name}");
        }
    }
}
