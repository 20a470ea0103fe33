//! Every route in process: status, fields, problems, cache headers, writes.

use std::time::Duration;

use actledger_core::{Day, anomalies, history, show_act, state, who_held};
use actledger_server::Limits;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::common::*;

const HOLDER: &str = "/api/v1/offices/MINDEF/holder?on=2024-06-03";

#[tokio::test]
async fn healthz_says_ok_and_the_size() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    // A state built without the check at bind says so: `verified` is null.
    assert_eq!(
        answer.json(),
        json!({"status": "ok", "size": 7, "verified": null})
    );
}

#[tokio::test]
async fn holder_is_the_who_held_json_object() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, HOLDER).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.text(), WHO_HELD_SEED);
    drop(app);
    // The same bytes as the CLI's serialization of the core's answer.
    let ledger = fixture.open();
    let direct = who_held(&ledger, "MINDEF", Day::parse("2024-06-03").unwrap(), None).unwrap();
    assert_eq!(answer.text(), serde_json::to_string(&direct).unwrap());
}

#[tokio::test]
async fn holder_as_of_an_earlier_position_is_pinned() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), &format!("{HOLDER}&as_of=6")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["as_of"], 6);
    assert_eq!(body["holder"]["capacity"], "titular");
    assert_eq!(body["titular"]["absent"], true);
    assert_eq!(
        answer.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(answer.header(header::ETAG), None);
}

#[tokio::test]
async fn holder_as_of_a_time_is_pinned_only_once_a_later_entry_exists() {
    let fixture = Fixture::seed();
    let time = fixture.open().entry(7).unwrap().unwrap().time;
    let app = fixture.app();
    let uri = format!("{HOLDER}&as_of={time}");
    let answer = get(&app, &uri).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["as_of"], 7);
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));
    // A later entry: the answer as of that time can no longer change.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let written = post(
        &app,
        "application/json",
        r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
    )
    .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.text());
    let answer = get(&app, &uri).await;
    assert_eq!(answer.json()["as_of"], 7);
    assert_eq!(
        answer.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    let before = get(&app, &format!("{HOLDER}&as_of=2000-01-01T00:00:00Z")).await;
    let problem = before.problem(400);
    assert_eq!(problem["field"], "as_of");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the first entry was recorded later"),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_parameters_are_400_problems_naming_the_parameter() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for (uri, field) in [
        ("/api/v1/offices/MINDEF/holder", "on"),
        ("/api/v1/offices/MINDEF/holder?on=2024-02-30", "on"),
        ("/api/v1/offices/MINDEF/holder?on=3/6/2024", "on"),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=0",
            "as_of",
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=8",
            "as_of",
        ),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=yesterday",
            "as_of",
        ),
        ("/api/v1/state?on=june", "on"),
        ("/api/v1/audit?as_of=99", "as_of"),
        ("/api/v1/offices/MINDEF/timeline?from=2024-13-01", "from"),
        ("/api/v1/offices/MINDEF/timeline?until=x", "until"),
        ("/api/v1/entries?from=one", "from"),
        ("/api/v1/entries?limit=-1", "limit"),
        ("/offices/MINDEF?on=2024-02-30", "on"),
        ("/offices/MINDEF?from=2024-06-05&until=2024-06-01", "until"),
        ("/?on=2024-13-01", "on"),
    ] {
        // The pages answer problem details too when JSON is asked for.
        let answer = get_accepting(&app, uri, "application/json").await;
        let problem = answer.problem(400);
        assert_eq!(problem["field"], field, "{uri}: {problem}");
    }
    let answer = get(&app, "/api/v1/offices/MINDEF/holder?on=2024-02-30").await;
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("YYYY-MM-DD"), "{detail}");
}

#[tokio::test]
async fn an_unknown_office_is_a_404_with_suggestions() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for uri in [
        "/api/v1/offices/MINDEFF/holder?on=2024-06-03",
        "/api/v1/offices/MINDEFF/timeline",
        "/offices/MINDEFF",
    ] {
        let answer = get_accepting(&app, uri, "application/problem+json").await;
        let problem = answer.problem(404);
        assert_eq!(problem["type"], "urn:actledger:problem:unknown-office");
        assert_eq!(problem["suggestions"], json!(["MINDEF"]), "{uri}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("did you mean MINDEF"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn unpinned_answers_carry_the_head_as_etag_and_honour_if_none_match() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let head = hex(fixture_head(&app).await);
    let first = get(&app, HOLDER).await;
    let etag = first.header(header::ETAG).unwrap().to_owned();
    assert_eq!(etag, format!("\"{head}\""));
    assert_eq!(first.header(header::CACHE_CONTROL), Some("no-cache"));
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        "*".into(),
    ] {
        let again = send(
            &app,
            Request::get(HOLDER)
                .header(header::IF_NONE_MATCH, &tag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(again.body.is_empty());
        assert_eq!(again.header(header::ETAG), Some(etag.as_str()));
        assert_eq!(again.header(header::CACHE_CONTROL), Some("no-cache"));
    }
    let other = send(
        &app,
        Request::get(HOLDER)
            .header(header::IF_NONE_MATCH, "\"0000\"")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // Every unpinned route has it.
    for uri in [
        "/healthz",
        "/api/v1/offices",
        "/api/v1/offices/MINDEF/timeline",
        "/api/v1/state?on=2024-06-03",
        "/api/v1/audit",
        "/api/v1/acts/RS-131-2024-PCM",
        "/api/v1/entries",
        "/api/v1/entries/5/proof",
        "/api/v1/openapi.json",
        "/?on=2024-06-03",
        "/offices/MINDEF",
        "/acts/RS-131-2024-PCM",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(answer.header(header::ETAG), Some(etag.as_str()), "{uri}");
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            Some("no-cache"),
            "{uri}"
        );
    }
    // A write moves the head: the old tag no longer matches.
    let written = post(
        &app,
        "application/json",
        r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
    )
    .await;
    assert_eq!(written.status, StatusCode::CREATED);
    let after = send(
        &app,
        Request::get(HOLDER)
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.header(header::ETAG), Some(etag.as_str()));
    assert_eq!(after.json()["as_of"], 8);
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn fixture_head(app: &axum::Router) -> [u8; 32] {
    let line = get(app, "/api/v1/entries?from=7&limit=1").await;
    let entry: serde_json::Value = serde_json::from_slice(&line.body).unwrap();
    let hash = entry["hash"].as_str().unwrap();
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[tokio::test]
async fn pinned_answers_are_immutable_on_every_route_that_takes_as_of() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for uri in [
        "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=7",
        "/api/v1/offices/MINDEF/timeline?as_of=5",
        "/api/v1/state?on=2024-06-03&as_of=6",
        "/api/v1/audit?as_of=6",
        "/offices/MINDEF?as_of=6",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            Some("public, max-age=31536000, immutable"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn offices_lists_every_office_with_its_name() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, "/api/v1/offices").await;
    assert_eq!(
        answer.json(),
        json!({"as_of": 7, "offices": [
            {"office": "MEF", "name": null, "first_day": "2023-12-01", "last_day": "2023-12-01"},
            {"office": "MINDEF", "name": "Ministerio de Defensa", "first_day": "2023-09-06", "last_day": "2024-06-04"},
        ]})
    );
    // A search by name, accents and case ignored, and as of a point.
    let found = get(&app, "/api/v1/offices?query=DEFENS%C3%81").await;
    assert_eq!(found.status, StatusCode::OK);
    let offices = found.json()["offices"].clone();
    assert_eq!(offices.as_array().map(Vec::len), Some(1), "{offices}");
    assert_eq!(offices[0]["office"], "MINDEF");
    let early = get(&app, "/api/v1/offices?as_of=1").await;
    assert_eq!(early.json(), json!({"as_of": 1, "offices": []}));
    assert_eq!(
        early.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn a_day_before_the_record_starts_is_no_record_over_http_too() {
    let fixture = Fixture::seed();
    let answer = get(
        &fixture.app(),
        "/api/v1/offices/MINDEF/holder?on=1900-01-01",
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({"office": "MINDEF", "on": "1900-01-01", "as_of": 7, "on_record": false,
            "record_starts": "2023-09-06", "holder": null, "titular": null})
    );
    let act = get(&fixture.app(), "/api/v1/acts/RS-131-2024-PCM?as_of=6").await;
    assert_eq!(act.json()["events"].as_array().map(Vec::len), Some(2));
    let unknown = get(&fixture.app(), "/api/v1/acts/RS-131-2024-PCM?as_of=4").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn state_is_the_state_json_object() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/api/v1/state?on=2024-06-03").await;
    assert_eq!(answer.status, StatusCode::OK);
    let ledger = fixture.open();
    let on = Day::parse("2024-06-03").unwrap();
    let expected = json!({"on": on, "as_of": 7, "offices": state(&ledger, on, None).unwrap()});
    assert_eq!(answer.json(), expected);
    assert_eq!(
        answer.json()["offices"][1],
        serde_json::from_str::<serde_json::Value>(WHO_HELD_SEED).unwrap()
    );
}

#[tokio::test]
async fn audit_is_the_audit_json_object() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, "/api/v1/audit").await;
    assert_eq!(answer.json(), json!({"anomalies": []}));
    // As of 6, the trip was recorded and the delegation not yet.
    let answer = get(&app, "/api/v1/audit?as_of=6").await;
    let body = answer.json();
    assert_eq!(body["anomalies"][0]["kind"], "unattended_office");
    assert_eq!(body["anomalies"][0]["office"], "MINDEF");
    drop(app);
    let ledger = fixture.open();
    let expected = json!({"anomalies": anomalies(&ledger, Some(6)).unwrap()});
    assert_eq!(answer.json(), expected);
}

#[tokio::test]
async fn acts_are_the_show_json_object_and_unknown_acts_404() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, "/api/v1/acts/RS-131-2024-PCM").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["act"], "RS-131-2024-PCM");
    assert_eq!(body["revoked"], false);
    let seqs: Vec<u64> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [5, 6, 7]);
    assert_eq!(body["events"][2]["event"]["type"], "duties_delegated");
    let missing = get(&app, "/api/v1/acts/RS-999-2024-PCM").await;
    assert_eq!(
        missing.problem(404)["type"],
        "urn:actledger:problem:unknown-act"
    );
    drop(app);
    let ledger = fixture.open();
    let record = show_act(&ledger, "RS-131-2024-PCM").unwrap();
    assert_eq!(answer.text(), serde_json::to_string(&record).unwrap());
}

#[tokio::test]
async fn timeline_has_the_history_rows_trips_and_a_window() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, "/api/v1/offices/MINDEF/timeline").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["office"], "MINDEF");
    assert_eq!(body["name"], "Ministerio de Defensa");
    assert_eq!(body["as_of"], 7);
    assert_eq!(
        body["trips"][0]["destination"],
        "Miami, Florida, United States"
    );
    assert_eq!(body["trips"][0]["act"], "RS-131-2024-PCM");
    assert_eq!(body["unattended"], json!([]));
    assert_eq!(body["leaves"], json!([]));
    let rows = body["history"].clone();
    // After the acting period: only the titular's open tenure meets the window.
    let late = get(&app, "/api/v1/offices/MINDEF/timeline?from=2024-06-05").await;
    let late = late.json();
    assert_eq!(late["from"], "2024-06-05");
    assert_eq!(late["history"].as_array().unwrap().len(), 1);
    assert_eq!(late["history"][0]["capacity"], "titular");
    assert_eq!(late["trips"], json!([]));
    // As of 6: the trip, nobody in charge.
    let early = get(&app, "/api/v1/offices/MINDEF/timeline?as_of=6").await;
    assert_eq!(
        early.json()["unattended"],
        json!([{"from": "2024-06-02", "until": "2024-06-04", "trip_act": "RS-131-2024-PCM", "trip_acts": ["RS-131-2024-PCM"], "absences": [{"kind": "trip", "act": "RS-131-2024-PCM", "seq": 6}], "events": [6]}])
    );
    drop(app);
    let ledger = fixture.open();
    assert_eq!(
        rows,
        serde_json::to_value(history(&ledger, "MINDEF", None).unwrap()).unwrap()
    );
}

#[tokio::test]
async fn entries_are_export_lines_paged_with_a_link() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let page = get(&app, "/api/v1/entries?from=1&limit=3").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.content_type(), "application/x-ndjson");
    assert_eq!(
        page.header(header::LINK),
        Some("</api/v1/entries?from=4&limit=3>; rel=\"next\"")
    );
    let next = get(&app, "/api/v1/entries?from=4&limit=3").await;
    let last = get(&app, "/api/v1/entries?from=7&limit=3").await;
    assert_eq!(last.header(header::LINK), None);
    let all = get(&app, "/api/v1/entries?limit=1000").await;
    assert_eq!(all.header(header::LINK), None);
    let past = get(&app, "/api/v1/entries?from=8").await;
    assert_eq!(past.status, StatusCode::OK);
    assert!(past.body.is_empty());
    drop(app);
    let mut export = Vec::new();
    fixture.open().export(&mut export, &mut |_| {}).unwrap();
    assert_eq!(all.body, export);
    assert_eq!([page.body, next.body, last.body].concat(), export);
}

#[tokio::test]
async fn the_page_size_is_at_most_256() {
    let mut events = String::from(
        r#"{"type":"act_issued","act":"RS-1-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}"#,
    );
    for n in 0..299 {
        events.push_str(&format!(
            "\n{{\"type\":\"appointed\",\"act\":\"RS-1-PCM\",\"person\":\"p-{n}\",\"office\":\"OFFICE-{n}\",\"on\":\"2024-01-02\"}}"
        ));
    }
    let fixture = Fixture::with(&events);
    let app = fixture.app();
    let page = get(&app, "/api/v1/entries?limit=1000").await;
    assert_eq!(page.text().lines().count(), 256);
    assert_eq!(
        page.header(header::LINK),
        Some("</api/v1/entries?from=257&limit=256>; rel=\"next\"")
    );
    let rest = get(&app, "/api/v1/entries?from=257&limit=256").await;
    assert_eq!(rest.text().lines().count(), 44);
    assert_eq!(rest.header(header::LINK), None);
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/api/v1/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/offices",
        "/api/v1/offices/{office}/holder",
        "/api/v1/offices/{office}/timeline",
        "/api/v1/state",
        "/api/v1/audit",
        "/api/v1/acts/{act}",
        "/api/v1/entries",
        "/api/v1/events",
        "/api/v1/entries/{seq}/proof",
        "/api/v1/proof/consistency",
        "/api/v1/checkpoint",
        "/",
        "/offices/{office}",
        "/acts/{act}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for page in ["/", "/offices/{office}", "/acts/{act}"] {
        assert_eq!(
            doc["paths"][page]["get"]["tags"],
            json!(["pages"]),
            "{page}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for uri in [
        "/nope",
        "/api/v1/nope",
        "/api/v1/offices/MINDEF",
        "/api/v2/offices",
    ] {
        let problem = get(&app, uri).await.problem(404);
        assert_eq!(problem["type"], "about:blank");
        assert_eq!(problem["title"], "Not Found");
    }
    for (method, uri) in [
        ("POST", "/api/v1/offices"),
        ("GET", "/api/v1/events"),
        ("DELETE", "/api/v1/offices/MINDEF/holder?on=2024-06-03"),
        ("PUT", "/healthz"),
    ] {
        let answer = send(
            &app,
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let problem = answer.problem(405);
        assert_eq!(problem["title"], "Method Not Allowed");
        assert!(answer.header(header::ALLOW).is_some(), "{method} {uri}");
    }
}

#[tokio::test]
async fn answers_are_gzipped_when_asked() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let plain = get(&app, "/api/v1/openapi.json").await;
    let zipped = send(
        &app,
        Request::get("/api/v1/openapi.json")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(zipped.header(header::CONTENT_ENCODING), Some("gzip"));
    assert!(zipped.body.len() < plain.body.len() / 3);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain.body);
}

// Writes.

const NEW_ACT: &str = r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#;

#[tokio::test]
async fn the_token_is_checked_before_anything_else() {
    let fixture = Fixture::seed();
    let app = fixture.app_with(Limits {
        max_body_bytes: 64,
        ..Limits::default()
    });
    let huge = "x".repeat(1000);
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic dGVzdA=="),
        Some(TOKEN),
    ] {
        let mut request =
            Request::post("/api/v1/events").header(header::CONTENT_TYPE, "text/plain");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let answer = send(&app, request.body(Body::from(huge.clone())).unwrap()).await;
        answer.problem(401);
        assert_eq!(
            answer.header(header::WWW_AUTHENTICATE),
            Some("Bearer realm=\"actledger\""),
            "{auth:?}"
        );
    }
    assert_eq!(fixture_count(&app).await, 7);
}

#[tokio::test]
async fn without_a_token_file_writes_are_refused() {
    let fixture = Fixture::seed();
    let app = actledger_server::router(actledger_server::AppState::new(
        fixture.open(),
        None,
        Limits::default(),
    ));
    let answer = send(
        &app,
        Request::post("/api/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(NEW_ACT))
            .unwrap(),
    )
    .await;
    let problem = answer.problem(401);
    assert!(problem["detail"].as_str().unwrap().contains("disabled"));
}

#[tokio::test]
async fn a_write_records_then_reports_already_recorded() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let first = post(&app, "application/json; charset=utf-8", NEW_ACT).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let body = first.json();
    assert_eq!(body["events"][0]["line"], 1);
    assert_eq!(body["events"][0]["status"], "recorded");
    assert_eq!(body["events"][0]["seq"], 8);
    assert_eq!(body["head"]["count"], 8);
    assert_eq!(body["head"]["hash"], body["events"][0]["hash"]);
    assert_eq!(first.header(header::CACHE_CONTROL), Some("no-store"));
    let again = post(&app, "application/json", NEW_ACT).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json()["events"],
        json!([{"line": 1, "status": "already_recorded", "seq": 8}])
    );
    // The seed again, as NDJSON: every line already recorded.
    let seed = post(&app, "application/x-ndjson", SEED).await;
    assert_eq!(seed.status, StatusCode::OK);
    assert_eq!(seed.json()["events"].as_array().unwrap().len(), 7);
    // A batch with one new event among recorded ones is a 201.
    let mixed = post(
        &app,
        "application/x-ndjson",
        &format!("{NEW_ACT}\n{}\n", NEW_ACT.replace("RS-200", "RS-201")),
    )
    .await;
    assert_eq!(mixed.status, StatusCode::CREATED);
    assert_eq!(mixed.json()["events"][0]["status"], "already_recorded");
    assert_eq!(mixed.json()["events"][1]["seq"], 9);
    assert_eq!(fixture_count(&app).await, 9);
}

#[tokio::test]
async fn a_refused_batch_is_a_422_naming_line_and_field_and_writes_nothing() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let batch = format!(
        "{NEW_ACT}\n{}\n",
        r#"{"type":"trip_authorized","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-07-02","until":"2024-02-30"}"#
    );
    let answer = post(&app, "application/x-ndjson", &batch).await;
    let problem = answer.problem(422);
    assert_eq!(problem["type"], "urn:actledger:problem:invalid-event");
    assert_eq!(problem["line"], 2);
    assert_eq!(problem["field"], "until");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("line 2: field \"until\"")
    );
    // A rule that needs the ledger: an act never issued.
    let answer = post(
        &app,
        "application/json",
        r#"{"type":"appointed","act":"RS-404-PCM","person":"x","office":"MINDEF","on":"2024-07-01"}"#,
    )
    .await;
    let problem = answer.problem(422);
    assert_eq!(problem["line"], 1);
    assert_eq!(problem["field"], "act");
    // Not JSON at all; empty; two events as application/json.
    let problem = post(&app, "application/json", "{nope").await.problem(422);
    assert_eq!(problem["line"], 1);
    post(&app, "application/x-ndjson", "").await.problem(422);
    let two = format!("{NEW_ACT}\n{}", NEW_ACT.replace("RS-200", "RS-201"));
    let problem = post(&app, "application/json", &two).await.problem(422);
    assert_eq!(problem["line"], 2);
    assert_eq!(fixture_count(&app).await, 7);
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/jsonx"),
        Some("multipart/form-data"),
    ] {
        let mut request = Request::post("/api/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = send(&app, request.body(Body::from(NEW_ACT)).unwrap()).await;
        answer.problem(415);
        assert_eq!(
            answer.header("accept-post"),
            Some("application/json, application/x-ndjson")
        );
    }
    assert_eq!(fixture_count(&app).await, 7);
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_or_not() {
    let fixture = Fixture::seed();
    let app = fixture.app_with(Limits {
        max_body_bytes: 200,
        ..Limits::default()
    });
    let big = format!("{NEW_ACT}\n{}\n", NEW_ACT.replace("RS-200", "RS-201"));
    assert!(big.len() > 200);
    post(&app, "application/x-ndjson", &big).await.problem(413);
    // Streamed without a length.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .as_bytes()
        .chunks(50)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let answer = send(
        &app,
        Request::post("/api/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap(),
    )
    .await;
    answer.problem(413);
    // Under the limit, the same route writes.
    let small = post(&app, "application/json", NEW_ACT).await;
    assert_eq!(small.status, StatusCode::CREATED);
}

async fn fixture_count(app: &axum::Router) -> u64 {
    get(app, "/healthz").await.json()["size"].as_u64().unwrap()
}

#[tokio::test]
async fn load_is_shed_with_503_and_slow_requests_time_out() {
    let fixture = Fixture::seed();
    let app = fixture.app_with(Limits {
        max_in_flight: 1,
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    // A write whose body never comes holds the one place.
    let stuck = tokio::spawn({
        let app = app.clone();
        async move {
            let body = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
            send(
                &app,
                Request::post("/api/v1/events")
                    .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                    .header(header::CONTENT_TYPE, "application/x-ndjson")
                    .body(Body::from_stream(body))
                    .unwrap(),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shed = get(&app, "/healthz").await;
    let problem = shed.problem(503);
    assert!(problem["detail"].as_str().unwrap().contains("retry"));
    assert_eq!(shed.header(header::RETRY_AFTER), Some("1"));
    let stuck = stuck.await.unwrap();
    let problem = stuck.problem(503);
    assert!(
        problem["detail"].as_str().unwrap().contains("too long"),
        "{problem}"
    );
    // The place is free again.
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
}

// Pages.

#[tokio::test]
async fn the_index_lists_the_offices() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "text/html; charset=utf-8");
    let page = answer.text();
    assert!(page.contains("<a href=\"/offices/MINDEF\">MINDEF</a>"));
    assert!(page.contains("Ministerio de Defensa"));
    assert!(page.contains("first 7 entries"));
    let on = get(&fixture.app(), "/?on=2024-06-03").await;
    let page = on.text();
    assert!(page.contains("<th scope=\"col\">Held on 2024-06-03 by</th>"));
    assert!(page.contains(
        "<td>José Arista Arbildo, acting (<a href=\"/acts/RS-131-2024-PCM\">RS-131-2024-PCM</a>)</td>"
    ));
    assert!(page.contains("<a href=\"/offices/MINDEF?on=2024-06-03\">MINDEF</a>"));
    get_accepting(&fixture.app(), "/?on=someday", "application/json")
        .await
        .problem(400);
}

#[tokio::test]
async fn the_office_page_draws_the_seed_case() {
    let fixture = Fixture::seed();
    let answer = get(&fixture.app(), "/offices/MINDEF").await;
    assert_eq!(answer.status, StatusCode::OK);
    let page = answer.text();
    assert!(page.contains("<svg"));
    assert!(!page.contains("<script"));
    for needle in [
        r#"data-kind="titular" data-person="walter-astudillo" data-from="2023-09-06" data-until="open" data-act="RS-001-2023-PCM""#,
        r#"data-kind="acting" data-person="jose-arista" data-from="2024-06-02" data-until="2024-06-04" data-act="RS-131-2024-PCM""#,
        r#"data-kind="trip" data-person="walter-astudillo" data-from="2024-06-02" data-until="2024-06-04" data-act="RS-131-2024-PCM""#,
        "<title>José Arista Arbildo, acting, 2024-06-02 – 2024-06-04 (RS-131-2024-PCM)</title>",
        "Walter Astudillo away in Miami, Florida, United States",
        r#"<a href="/acts/RS-131-2024-PCM">"#,
        r#"<table id="intervals">"#,
        r#"<form method="get" action="/offices/MINDEF">"#,
    ] {
        assert!(page.contains(needle), "{needle} not in the page");
    }
    // The form's answer, on the page.
    let asked = get(&fixture.app(), "/offices/MINDEF?on=2024-06-03").await;
    let page = asked.text();
    assert!(
        page.contains("On 2024-06-03, Ministerio de Defensa (MINDEF) was held by <strong>José Arista Arbildo</strong>, acting"),
        "{page}"
    );
    assert!(page.contains("Its titular, Walter Astudillo, was away"));
    assert!(page.contains(r#"data-kind="on" data-day="2024-06-03""#));
    // As of 6, nobody was in charge: the days are flagged.
    let early = get(&fixture.app(), "/offices/MINDEF?as_of=6&on=2024-06-03").await;
    let page = early.text();
    assert!(page.contains(r#"data-kind="unattended""#));
    assert!(page.contains("The titular was away (trip <a href=\"/acts/RS-131-2024-PCM\">RS-131-2024-PCM</a>) and nobody was in charge."));
    assert!(page.contains("as of entry 6 of 7"));
}

/// The seed case, then a leave of the titular with the same minister in charge for as long
/// as it lasts (positions 8 to 10), and a leave of the delegate's own with nobody in charge
/// (11, 12).
const LEAVES: &str = r#"{"type":"act_issued","act":"RS-169-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-19"}
{"type":"leave_granted","act":"RS-169-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-06-20","until":"2024-06-24","reason":"licencia por salud"}
{"type":"duties_delegated","act":"RS-169-2024-PCM","office":"MINDEF","delegate":"jose-arista","delegate_office":"MEF","from":"2024-06-20"}
{"type":"act_issued","act":"RS-170-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-30"}
{"type":"leave_granted","act":"RS-170-2024-PCM","person":"walter-astudillo","office":"MINDEF","from":"2024-07-01","until":"2024-07-02"}"#;

#[tokio::test]
async fn a_leave_is_answered_drawn_and_labelled_as_a_leave() {
    let fixture = Fixture::with(&format!("{SEED}\n{LEAVES}"));
    let app = fixture.app();
    let holder = get(&app, "/api/v1/offices/MINDEF/holder?on=2024-06-22").await;
    assert_eq!(
        holder.json()["titular"],
        json!({"person": "walter-astudillo", "name": "Walter Astudillo", "absent": true, "trip_act": null, "absence": "leave", "absence_act": "RS-169-2024-PCM"})
    );
    let timeline = get(&app, "/api/v1/offices/MINDEF/timeline").await.json();
    assert_eq!(
        timeline["leaves"],
        json!([
            {"person": "walter-astudillo", "name": "Walter Astudillo", "from": "2024-06-20", "until": "2024-06-24", "act": "RS-169-2024-PCM", "seq": 9, "reason": "licencia por salud"},
            {"person": "walter-astudillo", "name": "Walter Astudillo", "from": "2024-07-01", "until": "2024-07-02", "act": "RS-170-2024-PCM", "seq": 12, "reason": null}
        ])
    );
    // Trips stay trips only.
    assert_eq!(timeline["trips"].as_array().unwrap().len(), 1);
    assert_eq!(
        timeline["unattended"],
        json!([{"from": "2024-07-01", "until": "2024-07-02", "trip_act": null, "trip_acts": [], "absences": [{"kind": "leave", "act": "RS-170-2024-PCM", "seq": 12}], "events": [12]}])
    );
    let audit = get(&app, "/api/v1/audit").await.json();
    assert_eq!(audit["anomalies"][0]["kind"], "unattended_office");
    assert_eq!(audit["anomalies"][0]["events"], json!([12]));

    let page = get(&app, "/offices/MINDEF?on=2024-06-22").await;
    let page = page.text();
    for needle in [
        r#"data-kind="leave" data-person="walter-astudillo" data-from="2024-06-20" data-until="2024-06-24" data-act="RS-169-2024-PCM""#,
        "<title>Walter Astudillo on leave (licencia por salud), 2024-06-20 – 2024-06-24 (RS-169-2024-PCM)</title>",
        r#"data-kind="unattended" data-from="2024-07-01" data-until="2024-07-02" data-act="RS-170-2024-PCM""#,
        "the titular away (leave RS-170-2024-PCM) and nobody in charge",
        r#"<tr data-kind="leave"><td>on leave (licencia por salud)</td><td>Walter Astudillo</td><td>2024-06-20</td><td>2024-06-24</td><td><a href="/acts/RS-169-2024-PCM">RS-169-2024-PCM</a></td></tr>"#,
        "titular on leave</span>",
        r#"Its titular, Walter Astudillo, was away (leave <a href="/acts/RS-169-2024-PCM">RS-169-2024-PCM</a>)."#,
    ] {
        assert!(page.contains(needle), "{needle} not in {page}");
    }
    // A trip is drawn and named as before.
    assert!(
        page.contains(r#"data-kind="trip" data-person="walter-astudillo" data-from="2024-06-02""#)
    );
    let unattended = get(&app, "/offices/MINDEF?on=2024-07-01").await;
    assert!(unattended.text().contains(
        r#"The titular was away (leave <a href="/acts/RS-170-2024-PCM">RS-170-2024-PCM</a>) and nobody was in charge."#
    ));
    // The act's page says what the leave is.
    let act = get(&app, "/acts/RS-169-2024-PCM").await;
    assert!(
        act.text()
            .contains("on leave 2024-06-20 – 2024-06-24, licencia por salud"),
        "{}",
        act.text()
    );
    assert!(act.text().contains("from 2024-06-20 for the absence"));
}

#[tokio::test]
async fn names_from_the_ledger_are_escaped() {
    let events = concat!(
        r#"{"type":"act_issued","act":"RS-1-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-01-01"}"#,
        "\n",
        r#"{"type":"appointed","act":"RS-1-PCM","person":"mallory","person_name":"<script>alert('x')</script> & \"co\"","office":"MINX","office_name":"<img src=x onerror=alert(1)>","on":"2024-01-02"}"#,
    );
    let fixture = Fixture::with(events);
    let app = fixture.app();
    for uri in ["/", "/offices/MINX", "/offices/MINX?on=2024-01-05"] {
        let page = get(&app, uri).await;
        let text = page.text();
        assert!(!text.contains("<script"), "{uri}");
        assert!(!text.contains("<img"), "{uri}");
        assert!(text.contains("&lt;img src=x onerror=alert(1)&gt;"), "{uri}");
    }
    let page = get(&app, "/offices/MINX").await;
    assert!(
        page.text()
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;")
    );
}

#[tokio::test]
async fn an_empty_ledger_answers_too() {
    let fixture = Fixture::with("");
    let app = fixture.app();
    assert_eq!(get(&app, "/healthz").await.json()["size"], 0);
    assert_eq!(get(&app, "/").await.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/api/v1/offices").await.json()["offices"],
        json!([])
    );
    get(&app, HOLDER).await.problem(404);
    assert!(get(&app, "/api/v1/entries").await.body.is_empty());
    let zeros = "0".repeat(64);
    assert_eq!(
        get(&app, "/healthz").await.header(header::ETAG),
        Some(format!("\"{zeros}\"").as_str())
    );
}

#[tokio::test]
async fn pages_say_the_size_and_root_they_were_drawn_from() {
    let fixture = Fixture::seed();
    let (root7, root6) = {
        let ledger = fixture.open();
        (
            actledger_proof::hash_to_hex(&ledger.tree_root(7).unwrap()),
            actledger_proof::hash_to_hex(&ledger.tree_root(6).unwrap()),
        )
    };
    let app = fixture.app();
    for uri in ["/", "/offices/MINDEF"] {
        let page = get(&app, uri).await;
        assert!(
            page.text()
                .contains(&format!("tree size 7, Merkle root <code>{root7}</code>")),
            "{uri}"
        );
    }
    let page = get(&app, "/offices/MINDEF?as_of=6").await;
    assert!(page.text().contains(&format!(
        "first 6 entries (as of entry 6 of 7): tree size 6, Merkle root <code>{root6}</code>"
    )));
}

#[tokio::test]
async fn writes_carry_warnings_and_strict_refuses_them() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let typo = r#"{"type":"trip_authorized","act":"RS-131-2024-PCM","person":"walter-astudillo","office":"MINDFE","from":"2024-07-10","until":"2024-07-12"}"#;
    let refused = send(
        &app,
        Request::post("/api/v1/events?strict=true")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(typo))
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = refused.json();
    assert_eq!(problem["type"], "urn:actledger:problem:refused-by-strict");
    assert!(
        problem["warnings"][0]
            .as_str()
            .unwrap()
            .contains("office \"MINDFE\" was never recorded; did you mean MINDEF?"),
        "{problem}"
    );
    assert_eq!(
        get(&app, "/healthz").await.json()["size"],
        7,
        "nothing written"
    );
    let written = post(&app, "application/json", typo).await;
    assert_eq!(written.status, StatusCode::CREATED);
    let answer = written.json();
    assert_eq!(answer["warnings"][0]["kind"], "close_id");
    assert_eq!(answer["warnings"][0]["known"], json!(["MINDEF"]));
}
