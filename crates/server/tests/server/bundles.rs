//! `GET /api/v1/offices/{office}/holder?on=D&proof=1`: the answer bundle `who-held --proof`
//! writes, made against a checkpoint the ledger kept, checked here offline with the verifier
//! key alone; and the timeline page saying which checkpoint its answers check against.

use actledger_answers::{ProvenAnswer, check_bundle};
use actledger_proof::{SignerKey, VerifierKey};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::common::*;

const ORIGIN: &str = "example.org/actledger";
const PROOF: &str = "/api/v1/offices/MINDEF/holder?on=2024-06-03&proof=1";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, [7; 32]).unwrap()
}

fn vkey() -> VerifierKey {
    key().verifier_key().clone()
}

/// The seed case with a checkpoint of its 7 entries kept, as `checkpoint --key` keeps it.
fn kept_seed() -> Fixture {
    let fixture = Fixture::seed();
    actledger_answers::sign_checkpoint(&fixture.open(), &key()).unwrap();
    fixture
}

/// The answer of a bundle that checks with the right key, as JSON.
#[track_caller]
fn checked(body: &[u8]) -> serde_json::Value {
    let checked = check_bundle(body, &vkey()).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&checked.answer).unwrap()
}

#[tokio::test]
async fn a_bundle_checks_offline_and_says_what_the_holder_route_says_at_that_size() {
    let fixture = kept_seed();
    let app = fixture.app();
    let answer = get(&app, PROOF).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.content_type(), "application/json");
    let bundle = answer.json();
    assert_eq!(bundle["bundle"], "actledger answer bundle v1");
    let plain = get(&app, "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=7").await;
    assert_eq!(plain.text(), WHO_HELD_SEED);
    let plain = plain.json();
    assert_eq!(bundle["answer"], plain);
    assert_eq!(checked(&answer.body), plain);
    let checkpoint = check_bundle(&answer.body, &vkey()).unwrap().checkpoint;
    assert_eq!((checkpoint.origin.as_str(), checkpoint.size), (ORIGIN, 7));
    // Another key of the same name does not check it.
    let other = SignerKey::from_seed(ORIGIN, [8; 32]).unwrap();
    assert!(check_bundle(&answer.body, other.verifier_key()).is_err());

    // Against the newest kept checkpoint, it revalidates with a tag of that checkpoint...
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));
    let etag = answer.header(header::ETAG).unwrap().to_owned();
    let again = send(
        &app,
        Request::get(PROOF)
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    // ...which a write does not change: the bundle is as of the checkpoint, not the head.
    let written = post(
        &app,
        "application/json",
        r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
    )
    .await;
    assert_eq!(written.status, StatusCode::CREATED);
    let after = get(&app, PROOF).await;
    assert_eq!(after.header(header::ETAG), Some(etag.as_str()));
    assert_eq!(after.body, answer.body);
    // Against a named checkpoint, it is immutable.
    let pinned = get(&app, &format!("{PROOF}&checkpoint=7")).await;
    assert_eq!(pinned.status, StatusCode::OK);
    assert_eq!(
        pinned.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(pinned.header(header::ETAG), None);
    assert_eq!(pinned.body, answer.body);
    assert_eq!(
        get(&app, &PROOF.replace("proof=1", "proof=true"))
            .await
            .body,
        answer.body
    );
}

#[tokio::test]
async fn a_newer_kept_checkpoint_changes_the_tag_and_the_size_the_bundle_is_as_of() {
    let fixture = kept_seed();
    {
        let mut ledger = fixture.open();
        ledger
            .append(
                actledger_core::parse_batch(
                    br#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
                )
                .unwrap(),
            )
            .unwrap();
    }
    let app = fixture.app();
    let at7 = get(&app, &format!("{PROOF}&checkpoint=7")).await;
    assert_eq!(at7.json()["answer"]["as_of"], 7);
    drop(app);
    actledger_answers::sign_checkpoint(&fixture.open(), &key()).unwrap();
    let app = fixture.app();
    let newest = get(&app, PROOF).await;
    assert_eq!(newest.json()["answer"]["as_of"], 8);
    let plain = get(&app, "/api/v1/offices/MINDEF/holder?on=2024-06-03&as_of=8")
        .await
        .json();
    assert_eq!(checked(&newest.body), plain);
    assert_eq!(checked(&at7.body)["as_of"], 7);
    // The older one is still kept and served as it was.
    assert_eq!(
        get(&app, &format!("{PROOF}&checkpoint=7")).await.body,
        at7.body
    );
}

#[tokio::test]
async fn an_unknown_office_gets_the_bundle_that_proves_it_unknown() {
    let fixture = kept_seed();
    let app = fixture.app();
    // Without proof, a 404; with it, a bundle, wherever the id falls among the known ones.
    get(&app, "/api/v1/offices/MINDEFF/holder?on=2024-06-03")
        .await
        .problem(404);
    for (office, neighbours) in [("AAA", 1), ("MEFF", 2), ("ZZZ", 1)] {
        let answer = get(
            &app,
            &format!("/api/v1/offices/{office}/holder?on=2024-06-03&proof=1"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let bundle = answer.json();
        assert_eq!(
            bundle["answer"],
            serde_json::json!({"office": office, "on": "2024-06-03", "as_of": 7, "known": false})
        );
        assert_eq!(bundle["neighbours"].as_array().unwrap().len(), neighbours);
        let checked = check_bundle(&answer.body, &vkey()).unwrap();
        assert!(matches!(checked.answer, ProvenAnswer::Unknown(_)));
        // Claiming a known office unknown does not check.
        let mut forged = bundle.clone();
        forged["answer"]["office"] = "MINDEF".into();
        assert!(check_bundle(forged.to_string().as_bytes(), &vkey()).is_err());
    }
}

#[tokio::test]
async fn with_no_checkpoint_kept_a_bundle_is_a_409_saying_how_to_sign_one() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let problem = get(&app, PROOF).await.problem(409);
    assert_eq!(problem["type"], "urn:actledger:problem:no-kept-checkpoint");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("actledger checkpoint --key"), "{detail}");
    // The answer without proof is there all the same.
    assert_eq!(
        get(&app, "/api/v1/offices/MINDEF/holder?on=2024-06-03")
            .await
            .text(),
        WHO_HELD_SEED
    );
    let problem = get(&app, &format!("{PROOF}&checkpoint=5"))
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no checkpoint is kept for size 5: none is kept"),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_bundle_requests_are_problems_naming_the_parameter() {
    let fixture = kept_seed();
    let app = fixture.app();
    let problem = get(&app, &format!("{PROOF}&checkpoint=5"))
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("the newest kept is of size 7"),
        "{problem}"
    );
    for (uri, field) in [
        (format!("{PROOF}&checkpoint=99"), "checkpoint"),
        (format!("{PROOF}&checkpoint=0"), "checkpoint"),
        (format!("{PROOF}&checkpoint=x"), "checkpoint"),
        (format!("{PROOF}&as_of=7"), "as_of"),
        (
            "/api/v1/offices/MINDEF/holder?on=2024-06-03&checkpoint=7".to_owned(),
            "checkpoint",
        ),
        (PROOF.replace("proof=1", "proof=yes"), "proof"),
        (PROOF.replace("on=2024-06-03", "on=x"), "on"),
    ] {
        let problem = get(&app, &uri).await.problem(400);
        assert_eq!(problem["field"], field, "{uri}: {problem}");
    }
}

/// A single byte of a bundle changed, every 11th one (a signature check costs milliseconds in
/// a debug build; `docs/check_answer.py` is held to every byte in the CLI's tests): the bundle
/// no longer checks, or (a day changed within the same run of days, an unknown office's id
/// changed to another between the same neighbours) it proves exactly what the server answers
/// for the question it now asks. Nothing else gets through.
#[tokio::test]
async fn an_altered_byte_fails_the_check_or_proves_only_the_truth() {
    let fixture = kept_seed();
    let app = fixture.app();
    for uri in [PROOF, "/api/v1/offices/MEFF/holder?on=2024-06-03&proof=1"] {
        let body = get(&app, uri).await.body;
        let (mut refused, mut tried) = (0, 0);
        for at in (0..body.len()).step_by(11) {
            tried += 1;
            let mut altered = body.clone();
            altered[at] ^= 0x01;
            let Ok(checked) = check_bundle(&altered, &vkey()) else {
                refused += 1;
                continue;
            };
            let answer = serde_json::to_value(&checked.answer).unwrap();
            let truth = get(
                &app,
                &format!(
                    "/api/v1/offices/{}/holder?on={}&proof=1&checkpoint=7",
                    answer["office"].as_str().unwrap(),
                    answer["on"].as_str().unwrap()
                ),
            )
            .await;
            assert_eq!(
                truth.json()["answer"],
                answer,
                "{uri}: byte {at} changed, and the bundle proves what the ledger does not say"
            );
        }
        assert!(refused * 100 > tried * 95, "{refused} of {tried}");
    }
}

#[tokio::test]
async fn the_timeline_page_says_which_checkpoint_its_answers_check_against() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let page = get(&app, "/offices/MINDEF").await;
    assert!(
        page.text().contains("No checkpoint is kept in this ledger"),
        "{}",
        page.text()
    );
    let untagged = page.header(header::ETAG).unwrap().to_owned();
    drop(app);
    actledger_answers::sign_checkpoint(&fixture.open(), &key()).unwrap();
    let app = fixture.app();
    let page = get(&app, "/offices/MINDEF?on=2024-06-03").await;
    let text = page.text();
    assert!(
        text.contains(
            "Answers on this page can be checked against the checkpoint of <code>example.org/actledger</code> at size 7: add <code>&amp;proof=1</code> to the holder API"
        ),
        "{text}"
    );
    let link = "/api/v1/offices/MINDEF/holder?on=2024-06-03&amp;proof=1&amp;checkpoint=7";
    assert!(text.contains(&format!("<a href=\"{link}\">")), "{text}");
    assert!(text.contains(
        "<code>actledger who-held MINDEF --on 2024-06-03 --proof FILE</code>, then check it offline with <code>actledger check-answer --vkey VKEY FILE</code>"
    ));
    // The link gives the bundle, which checks.
    let bundle = get(&app, &link.replace("&amp;", "&")).await;
    checked(&bundle.body);
    // Keeping a checkpoint changes what the page says with the head unchanged: its tag too.
    let page = get(&app, "/offices/MINDEF").await;
    assert_ne!(page.header(header::ETAG), Some(untagged.as_str()));
    assert!(page.text().contains("--on D --proof FILE"));
    // Pinned before the checkpoint's size, the page names none (it never changes).
    let early = get(&app, "/offices/MINDEF?as_of=6").await;
    assert!(
        early
            .text()
            .contains("No checkpoint is kept at size 6, the size this page is drawn at"),
        "{}",
        early.text()
    );
    assert_eq!(
        early.header(header::CACHE_CONTROL),
        Some("public, max-age=31536000, immutable")
    );
    // Drawn past the checkpoint, the page says its answers check as of the checkpoint's size.
    drop(app);
    let mut ledger = fixture.open();
    ledger
        .append(
            actledger_core::parse_batch(
                br#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#,
            )
            .unwrap(),
        )
        .unwrap();
    drop(ledger);
    let page = get(&fixture.app(), "/offices/MINDEF").await;
    assert!(page.text().contains(
        "The newest checkpoint kept is that of <code>example.org/actledger</code> at size 7, while this page is drawn from 8 entries: answers as of entry 7 (<a href=\"/offices/MINDEF?as_of=7\">this page as of entry 7</a>) can be checked against it"
    ), "{}", page.text());
}
