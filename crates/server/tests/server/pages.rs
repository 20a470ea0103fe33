//! The HTML pages for people: errors as pages (and problem details still for the API and for
//! JSON clients), the page of an act, the index answering for today, and every link of the
//! pages going to the act's page.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::common::*;

/// Asserts an HTML page with this status, and returns its text.
#[track_caller]
fn html_page(answer: &Answer, status: u16) -> &str {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text());
    assert_eq!(answer.content_type(), "text/html; charset=utf-8");
    let page = answer.text();
    assert!(page.starts_with("<!doctype html>"), "{page}");
    page
}

#[tokio::test]
async fn an_unknown_office_page_is_an_html_404_linking_the_close_offices() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    // A browser, and a client that names no type: the page's route answers a page.
    for accept in [Some(BROWSER), None] {
        let answer = match accept {
            Some(accept) => get_accepting(&app, "/offices/MINDEFF?on=2024-06-03", accept).await,
            None => get(&app, "/offices/MINDEFF?on=2024-06-03").await,
        };
        let page = html_page(&answer, 404);
        for needle in [
            "<h1>Unknown office <small>404</small></h1>",
            "did you mean MINDEF?",
            // The suggestion keeps the question asked.
            r#"<p id="suggestions">Did you mean <a href="/offices/MINDEF?on=2024-06-03">MINDEF</a>?</p>"#,
            r#"<a id="back" href="/">Back to the index of offices</a>"#,
        ] {
            assert!(page.contains(needle), "{needle} not in {page}");
        }
        assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"));
        assert!(
            answer
                .headers
                .get_all(header::VARY)
                .iter()
                .any(|v| v == "accept"),
            "{:?}",
            answer.headers
        );
    }
}

#[tokio::test]
async fn a_bad_day_on_a_page_is_an_html_400_naming_it() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get_accepting(&app, "/offices/MINDEF?on=2024-13-01&as_of=6", BROWSER).await;
    let page = html_page(&answer, 400);
    assert!(
        page.contains("<h1>Bad parameter <small>400</small></h1>"),
        "{page}"
    );
    assert!(page.contains("on=&quot;2024-13-01&quot;"), "{page}");
    assert!(page.contains("YYYY-MM-DD"), "{page}");
    // The way out: the same page without the day at fault, the rest kept.
    assert!(
        page.contains(r#"<a id="without" href="/offices/MINDEF?as_of=6">The same page without <code>on</code></a>"#),
        "{page}"
    );
    let index = get_accepting(&app, "/?on=2024-13-01", BROWSER).await;
    let page = html_page(&index, 400);
    assert!(page.contains(r#"<a id="without" href="/">"#), "{page}");
    let late = get_accepting(&app, "/offices/MINDEF?as_of=99", BROWSER).await;
    html_page(&late, 400);
}

#[tokio::test]
async fn the_api_and_json_clients_still_get_problem_details() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    // Every API route answers problem details, whatever the client accepts.
    for (uri, status) in [
        ("/api/v1/offices/MINDEFF/holder?on=2024-06-03", 404),
        ("/api/v1/offices/MINDEF/holder?on=2024-13-01", 400),
        ("/api/v1/acts/NOPE", 404),
        ("/api/v1/nope", 404),
    ] {
        get_accepting(&app, uri, BROWSER).await.problem(status);
    }
    // The pages answer problem details to a client that prefers JSON.
    for accept in [
        "application/json",
        "application/problem+json",
        "application/json, text/html;q=0.5",
    ] {
        let answer = get_accepting(&app, "/offices/MINDEFF", accept).await;
        let problem = answer.problem(404);
        assert_eq!(problem["suggestions"], json!(["MINDEF"]));
        get_accepting(&app, "/offices/MINDEF?on=2024-13-01", accept)
            .await
            .problem(400);
        get_accepting(&app, "/acts/NOPE", accept).await.problem(404);
    }
    // A path no route has: a page for a browser, problem details for anyone else.
    get(&app, "/nope").await.problem(404);
    get_accepting(&app, "/nope", "*/*").await.problem(404);
    let page = get_accepting(&app, "/offices/MINDEF/nope", BROWSER).await;
    let text = html_page(&page, 404);
    assert!(
        text.contains("nothing is at /offices/MINDEF/nope"),
        "{text}"
    );
    assert!(text.contains(r#"href="/""#));
    // A wrong method keeps its Allow, as a page too.
    let post = send(
        &app,
        axum::http::Request::post("/")
            .header(header::ACCEPT, BROWSER)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    html_page(&post, 405);
    assert!(post.header(header::ALLOW).is_some());
}

#[tokio::test]
async fn the_act_page_shows_the_act_and_its_events() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let answer = get(&app, "/acts/RS-131-2024-PCM").await;
    let page = html_page(&answer, 200);
    assert!(!page.contains("<script"));
    for needle in [
        "<h1>Act RS-131-2024-PCM <small>Autorizan viaje del Ministro de Defensa",
        r#"<p class="answer" id="standing" data-revoked="false">Not revoked.</p>"#,
        r#"<tr data-seq="5" data-status="in_force"><td>5</td><td>act_issued</td><td>in force</td><td>resolucion_suprema issued by PCM on 2024-06-01</td></tr>"#,
        r#"<tr data-seq="6" data-status="in_force"><td>6</td><td>trip_authorized</td><td>in force</td><td>walter-astudillo of <a href="/offices/MINDEF">MINDEF</a> away 2024-06-02 – 2024-06-04, Miami, Florida, United States</td></tr>"#,
        r#"<td>José Arista Arbildo (<a href="/offices/MEF">MEF</a>) in charge of <a href="/offices/MINDEF">MINDEF</a> from 2024-06-02 until 2024-06-04</td>"#,
        r#"<a href="/api/v1/acts/RS-131-2024-PCM">"#,
        "tree size 7",
    ] {
        assert!(page.contains(needle), "{needle} not in {page}");
    }
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));

    // Revoked: the page says so, and the revocation is listed, linking both acts.
    let revoked = Fixture::with(&format!(
        "{SEED}\n{}\n{}\n",
        r#"{"type":"act_issued","act":"RS-140-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-06-10"}"#,
        r#"{"type":"act_revoked","act":"RS-140-2024-PCM","revokes":"RS-131-2024-PCM","reason":"issued in error"}"#,
    ));
    let answer = get(&revoked.app(), "/acts/RS-131-2024-PCM").await;
    let page = html_page(&answer, 200);
    assert!(
        page.contains(r#"data-revoked="true"><strong>Revoked</strong>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<tr data-seq="6" data-status="void">"#),
        "{page}"
    );
    assert!(page.contains(r#"<td><a href="/acts/RS-140-2024-PCM">RS-140-2024-PCM</a> revokes <a href="/acts/RS-131-2024-PCM">RS-131-2024-PCM</a> (issued in error)</td>"#), "{page}");

    // An unknown act is a page too.
    let missing = get_accepting(&app, "/acts/RS-999-2024-PCM", BROWSER).await;
    let page = html_page(&missing, 404);
    assert!(
        page.contains("<h1>Unknown act <small>404</small></h1>"),
        "{page}"
    );
}

/// Today's date in UTC, as the index takes it.
fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

#[tokio::test]
async fn the_index_shows_who_holds_each_office_today_without_being_asked() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    let before = today();
    let answer = get(&app, "/").await;
    let page = html_page(&answer, 200);
    let after = today();
    // Around midnight the page may have been drawn on either day.
    let day = [before.as_str(), after.as_str()]
        .into_iter()
        .find(|d| page.contains(&format!("<th scope=\"col\">Held today ({d}) by</th>")))
        .unwrap_or_else(|| panic!("no holder column for today in {page}"));
    for needle in [
        // The form asks about another day, today filled in.
        format!(r#"<input type="date" name="on" value="{day}" required>"#),
        r#"<tr><td><a href="/offices/MINDEF">MINDEF</a></td><td>Ministerio de Defensa</td><td>Walter Astudillo, titular (<a href="/acts/RS-001-2023-PCM">RS-001-2023-PCM</a>)</td></tr>"#.into(),
        r#"<tr><td><a href="/offices/MEF">MEF</a></td><td></td><td>José Arista Arbildo, titular (<a href="/acts/RS-002-2023-PCM">RS-002-2023-PCM</a>)</td></tr>"#.into(),
    ] {
        assert!(page.contains(&needle), "{needle} not in {page}");
    }
    // The answer changes with the day as well as with the head: the tag names both.
    let etag = answer.header(header::ETAG).unwrap();
    assert!(etag.ends_with(&format!("-{day}\"")), "{etag}");
    // A day before the ledger's record of the office says no record, not vacant.
    let early = get(&app, "/?on=2023-09-01").await;
    let page = html_page(&early, 200);
    assert!(
        page.contains(r#"<tr><td><a href="/offices/MINDEF?on=2023-09-01">MINDEF</a></td><td>Ministerio de Defensa</td><td><span class="no-record">no record</span></td></tr>"#),
        "{page}"
    );
}

#[tokio::test]
async fn every_act_link_of_the_pages_goes_to_the_act_page() {
    let fixture = Fixture::seed();
    let app = fixture.app();
    for uri in [
        "/",
        "/?on=2024-06-03",
        "/offices/MINDEF",
        "/offices/MINDEF?on=2024-06-03",
        "/offices/MINDEF?as_of=6&on=2024-06-03",
        "/offices/MINDEF?from=2024-06-01&until=2024-06-05",
    ] {
        let answer = get(&app, uri).await;
        let page = html_page(&answer, 200);
        assert!(!page.contains("/api/v1/acts/"), "{uri}: {page}");
        assert!(page.contains(r#"href="/acts/RS-"#), "{uri}: {page}");
    }
    // Every bar of the drawing links to its act's page.
    let page = get(&app, "/offices/MINDEF?as_of=6").await;
    let text = page.text();
    let bars = text.matches("<rect class=\"titular\"").count()
        + text.matches("<rect class=\"trip\"").count()
        + text.matches("<rect class=\"unattended\"").count();
    let linked = text.matches(r#"<a href="/acts/RS-"#).count();
    assert!(bars >= 3 && linked >= bars, "{linked} links, {bars} bars");
    assert_eq!(
        get(&app, "/acts/RS-131-2024-PCM").await.status,
        StatusCode::OK
    );
}
