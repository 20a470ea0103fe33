//! The page of an act: whether it is revoked, and every event that names it (its own, the
//! revocations of it and the retractions of those) with its position, type and status and a
//! line saying what it records, each office it names linked to the office's page
//! (`actledger_pages::act` renders it). The bars of the timelines link here.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use actledger_core::OfficeId;
use actledger_pages::act::act_body;

use super::{page, source};
use crate::problem::Problem;
use crate::routes::{Answer, AppState, Freshness, HTML};

/// An act and every event that names it.
#[utoipa::path(
    get, path = "/acts/{act}", tag = "pages",
    params(("act" = String, Path, description = "The act, e.g. RS-131-2024-PCM")),
    responses(
        (status = 200, description = "An HTML page: the act, whether it is revoked, and every event that names it (the revocations of it and the retractions of those included) with its position, type, status and a one-line summary linking the offices it names", content_type = "text/html"),
        (status = 404, description = "No recorded event names the act: an HTML page, or problem details when `Accept` prefers JSON", content(
            (String = "text/html"),
            (crate::problem::ProblemDetails = "application/problem+json"),
        )),
    )
)]
pub(crate) async fn act(
    State(app): State<AppState>,
    Path(act): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    app.answer(&headers, move |ledger| {
        let record = actledger_answers::act(ledger, &act, None)?.answer;
        let known: BTreeSet<OfficeId> = actledger_answers::offices(ledger, None)?
            .answer
            .offices
            .into_iter()
            .map(|o| o.office)
            .collect();
        let head = ledger.head();
        let source = source(ledger, head.count)?;
        Ok(Answer::new(
            page(
                &format!("Act {}", record.act),
                &act_body(&record, &known),
                &source.footer(head.count),
            ),
            HTML,
            Freshness::Head(head.hash),
        ))
    })
    .await
}
