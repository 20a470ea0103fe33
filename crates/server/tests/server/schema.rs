//! The OpenAPI document describes what the routes answer: every JSON answer of the seed case
//! is checked against the schema the document gives for it, strictly (no field left out of
//! the document, no required field missing, every type and enum value as documented).

use serde_json::Value;

use crate::common::*;

/// Checks `value` against `schema`, resolving `$ref`s in `doc`; returns what disagrees.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{reference} is not in the document");
        return check(doc, target, value, at, errors);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|option| {
                let mut inner = Vec::new();
                check(doc, option, value, at, &mut inner);
                inner.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: {value} fits none of {key}"));
            }
            return;
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        // Every part holds, and a field is documented when any part documents it: check the
        // parts merged into one object schema.
        return check(doc, &merged(doc, all), value, at, errors);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let documented = types.is_empty()
        || types.contains(&actual)
        || (actual == "integer" && types.contains(&"number"));
    if !documented {
        errors.push(format!("{at}: {actual} where the document says {types:?}"));
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {values:?}"));
    }
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !map.contains_key(name) {
                    errors.push(format!("{at}: required {name} is missing"));
                }
            }
            if let Some(properties) = properties {
                for (name, field) in map {
                    match properties.get(name) {
                        Some(property) => {
                            check(doc, property, field, &format!("{at}.{name}"), errors)
                        }
                        None => errors.push(format!("{at}.{name} is not in the document")),
                    }
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

/// The parts of an `allOf`, `$ref`s resolved, as one schema: their properties and required
/// fields together, and the type they agree on.
fn merged(doc: &Value, parts: &[Value]) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    let mut types = Vec::new();
    for part in parts {
        let mut part = part.clone();
        while let Some(reference) = part["$ref"].as_str().map(str::to_owned) {
            let name = reference.trim_start_matches("#/components/schemas/");
            part = doc["components"]["schemas"][name].clone();
            assert!(part.is_object(), "{reference} is not in the document");
        }
        if let Some(inner) = part["allOf"].as_array() {
            part = merged(doc, inner);
        }
        if let Some(props) = part["properties"].as_object() {
            properties.extend(props.clone());
        }
        required.extend(part["required"].as_array().cloned().unwrap_or_default());
        if !part["type"].is_null() {
            types.push(part["type"].clone());
        }
    }
    let mut schema = serde_json::json!({"properties": properties, "required": required});
    if let Some(first) = types.first() {
        assert!(
            types.iter().all(|t| t == first),
            "allOf parts disagree on the type: {types:?}"
        );
        schema["type"] = first.clone();
    }
    schema
}

fn response_schema(doc: &Value, path: &str, method: &str, status: &str, media: &str) -> Value {
    let schema =
        doc["paths"][path][method]["responses"][status]["content"][media]["schema"].clone();
    assert!(
        schema.is_object(),
        "no {media} schema for {method} {path} {status}"
    );
    schema
}

#[tokio::test]
async fn every_json_answer_fits_its_documented_schema() {
    let fixture = Fixture::seed();
    let key = actledger_proof::SignerKey::from_seed("example.org/actledger", [7; 32]).unwrap();
    // A checkpoint kept, for the answer bundles.
    actledger_answers::sign_checkpoint(&fixture.open(), &key).unwrap();
    let app = actledger_server::router(
        actledger_server::AppState::new(fixture.open(), Some(TOKEN), Default::default())
            .with_signer(key),
    );
    let doc = get(&app, "/api/v1/openapi.json").await.json();
    let json = "application/json";
    let problem = "application/problem+json";
    let cases = [
        ("/healthz", "/healthz", "get", "200", json),
        ("/api/v1/offices", "/api/v1/offices", "get", "200", json),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=6",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2023-01-01",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEFF/holder?on=2024-06-03",
            "/api/v1/offices/{office}/holder",
            "get",
            "404",
            problem,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&proof=1",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2020-01-01&proof=1&checkpoint=7",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEFF/holder?on=2024-06-03&proof=1",
            "/api/v1/offices/{office}/holder",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&proof=1&checkpoint=5",
            "/api/v1/offices/{office}/holder",
            "get",
            "409",
            problem,
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=x",
            "/api/v1/offices/{office}/holder",
            "get",
            "400",
            problem,
        ),
        (
            "/api/v1/offices/MINDEF/timeline",
            "/api/v1/offices/{office}/timeline",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/offices/MINDEF/timeline?as_of=6&from=2024-01-01",
            "/api/v1/offices/{office}/timeline",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/state?on=2024-06-03",
            "/api/v1/state",
            "get",
            "200",
            json,
        ),
        ("/api/v1/audit", "/api/v1/audit", "get", "200", json),
        ("/api/v1/audit?as_of=6", "/api/v1/audit", "get", "200", json),
        (
            "/api/v1/acts/RS-131-2024-PCM",
            "/api/v1/acts/{act}",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/acts/NOPE",
            "/api/v1/acts/{act}",
            "get",
            "404",
            problem,
        ),
        (
            "/api/v1/entries/5/proof",
            "/api/v1/entries/{seq}/proof",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/entries/9/proof",
            "/api/v1/entries/{seq}/proof",
            "get",
            "404",
            problem,
        ),
        (
            "/api/v1/proof/consistency?first=2&second=7",
            "/api/v1/proof/consistency",
            "get",
            "200",
            json,
        ),
        (
            "/api/v1/proof/consistency?first=9&second=7",
            "/api/v1/proof/consistency",
            "get",
            "400",
            problem,
        ),
    ];
    let mut errors = Vec::new();
    for (uri, path, method, status, media) in cases {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status.as_str(), status, "{uri}: {}", answer.text());
        let schema = response_schema(&doc, path, method, status, media);
        check(&doc, &schema, &answer.json(), uri, &mut errors);
    }
    let written = post(
        &app,
        "application/x-ndjson",
        &format!(
            "{}\n{}",
            SEED.lines().next().unwrap(),
            r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#
        ),
    )
    .await;
    let schema = response_schema(&doc, "/api/v1/events", "post", "201", json);
    check(&doc, &schema, &written.json(), "POST 201", &mut errors);
    let refused = post(&app, "application/json", "{").await;
    let schema = response_schema(&doc, "/api/v1/events", "post", "422", problem);
    check(&doc, &schema, &refused.json(), "POST 422", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
