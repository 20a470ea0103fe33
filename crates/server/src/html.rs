//! The HTML pages' handlers: the index of offices with who holds each, an office's timeline
//! drawn as inline SVG with the same data as a table and a form that asks who held it on a day,
//! and a page per act ([`act`]). Each parses its request, asks the answers crate and has
//! `actledger-pages` render the page with the server's links (the same rendering a static
//! mirror's pages come from). No script: every page works as a plain GET. Errors on these
//! pages are pages too ([`error`]).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use actledger_core::{Day, Seq};
use actledger_pages::index::{IndexDay, index_body};
use actledger_pages::office::{Kept, OfficePage, checkable, title};
use actledger_pages::svg::default_window;
use actledger_pages::{Links, Source};
use actledger_store::Ledger;
use sha2::Digest as _;

use crate::params;
use crate::problem::Problem;
use crate::routes::{Answer, AppState, Freshness, HTML};
use actledger_answers::office_timeline;

pub(crate) mod act;
pub(crate) mod error;

/// `?on=D&from=D&until=D&as_of=S` of the office page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Answer "who held it on this day" on the page, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<String>,
    /// The first day drawn (default: the start of the office's history, with a margin).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// The last day drawn (default: the last dated change, with a margin).
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<String>,
    /// Draw the ledger as it stood at this position or RFC 3339 time.
    #[param(value_type = Option<String>)]
    pub as_of: Option<String>,
}

/// The source of a page drawn from the ledger's first `as_of` entries: what its footer says.
pub(crate) fn source(ledger: &Ledger, as_of: Seq) -> Result<Source, Problem> {
    Ok(Source {
        size: as_of,
        root: ledger.tree_root(as_of)?,
    })
}

/// A page of the server: its links are the server's routes.
pub(crate) fn page(title: &str, body: &str, footer: &str) -> Vec<u8> {
    actledger_pages::page(title, body, footer, Links::Server)
}

/// The index of offices.
#[utoipa::path(
    get, path = "/", tag = "pages",
    params(IndexQuery),
    responses(
        (status = 200, description = "An HTML page listing every known office with its name, each linked to its timeline, and who held each on `on` (default: today, in UTC)", content_type = "text/html"),
        (status = 400, description = "A malformed `on`: an HTML page, or problem details when `Accept` prefers JSON", content(
            (String = "text/html"),
            (crate::problem::ProblemDetails = "application/problem+json"),
        )),
    )
)]
pub(crate) async fn index(
    State(app): State<AppState>,
    Query(query): Query<IndexQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let asked = params::optional_day("on", query.on.as_deref())?;
    let today = today();
    app.answer(&headers, move |ledger| {
        let head = ledger.head();
        let on = asked.unwrap_or(today);
        let offices = actledger_answers::offices(ledger, None)?.answer.offices;
        let holders = actledger_answers::state_on(ledger, on, None)?
            .answer
            .offices;
        let source = source(ledger, head.count)?;
        let day = match asked {
            Some(day) => IndexDay::Asked(day),
            None => IndexDay::Today(on),
        };
        let body = index_body(&offices, day, &holders, Links::Server);
        // The page without `on` changes at midnight as well as with the head.
        let freshness = match asked {
            Some(_) => Freshness::Head(head.hash),
            None => Freshness::HeadOn(head.hash, on),
        };
        Ok(Answer::new(
            page("Offices", &body, &source.footer(head.count)),
            HTML,
            freshness,
        ))
    })
    .await
}

/// Today's date in UTC: the day the index answers for when none is asked.
fn today() -> Day {
    use chrono::Datelike as _;
    let now = chrono::Utc::now().date_naive();
    Day::from_ymd(now.year(), now.month(), now.day()).unwrap_or(Day::MAX)
}

/// `?on=D` of the index.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IndexQuery {
    /// Show who held each office on this day, `YYYY-MM-DD` (default: today, in UTC).
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<String>,
}

/// An office's timeline.
#[utoipa::path(
    get, path = "/offices/{office}", tag = "pages",
    params(("office" = String, Path, description = "The office, e.g. MINDEF"), PageQuery),
    responses(
        (status = 200, description = "An HTML page: the office's timeline as inline SVG (titular bars solid, trips marked on them, acting periods hatched beneath, vacancies as gaps, unattended days flagged), the same data as a table, and a form asking who held it on a day", content_type = "text/html"),
        (status = 400, description = "A malformed `on`, `from`, `until` or `as_of`: an HTML page, or problem details when `Accept` prefers JSON", content(
            (String = "text/html"),
            (crate::problem::ProblemDetails = "application/problem+json"),
        )),
        (status = 404, description = "No recorded event names the office: an HTML page linking close offices, or problem details (with `suggestions`) when `Accept` prefers JSON", content(
            (String = "text/html"),
            (crate::problem::ProblemDetails = "application/problem+json"),
        )),
    )
)]
pub(crate) async fn office(
    State(app): State<AppState>,
    Path(office): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let on = params::optional_day("on", query.on.as_deref())?;
    let from = params::optional_day("from", query.from.as_deref())?;
    let until = params::optional_day("until", query.until.as_deref())?;
    if let (Some(from), Some(until)) = (from, until)
        && from > until
    {
        return Err(Problem::bad_parameter(
            "until",
            format!("until={until} is before from={from}"),
        ));
    }
    let as_of_text = query.as_of.clone().filter(|t| !t.is_empty());
    let as_of = params::as_of(as_of_text.as_deref())?;
    app.answer(&headers, move |ledger| {
        let asked = office_timeline(ledger, &office, as_of, None, None)?;
        let (timeline, resolved) = (asked.answer, asked.point);
        let answer = match on {
            Some(day) => Some(actledger_answers::holder(ledger, &office, day, as_of)?.answer),
            None => None,
        };
        let head = ledger.head();
        let source = source(ledger, timeline.as_of)?;
        let mut window = default_window(&timeline);
        if let Some(from) = from {
            window.from = from;
            if until.is_none() && window.until < from {
                window.until = from;
            }
        }
        if let Some(until) = until {
            window.until = until;
            if from.is_none() && window.from > until {
                window.from = until;
            }
        }
        // A page pinned by `as_of` names only the checkpoint kept at its own size, so that
        // it never changes; the others name the newest kept, and their tag changes with it.
        let kept = if resolved.pinned {
            ledger.kept_checkpoint(timeline.as_of)?
        } else {
            ledger.newest_kept_checkpoint()?
        };
        let freshness = match &kept {
            Some(kept) if !resolved.pinned => {
                let mut both = head.hash.to_vec();
                both.extend_from_slice(&crate::bundles::notes_hash(kept));
                Freshness::Hashed(sha2::Sha256::digest(&both).into())
            }
            _ => Freshness::new(resolved.pinned, head.hash),
        };
        let view = OfficePage {
            timeline: &timeline,
            window,
            on,
            answer: answer.as_ref(),
            as_of: as_of_text.as_deref(),
            links: Links::Server,
        };
        let opened = kept.as_ref().map(|kept| (kept.size, kept.open()));
        let kept = match &opened {
            None => Kept::None,
            Some((size, Ok(opened))) => Kept::Opened {
                origin: &opened.checkpoint.origin,
                size: *size,
            },
            Some((size, Err(reason))) => Kept::Unopened {
                size: *size,
                reason,
            },
        };
        let mut body = view.body();
        body.push_str(&checkable(
            &timeline.office,
            on,
            timeline.as_of,
            resolved.pinned,
            kept,
        ));
        Ok(Answer::new(
            page(&title(&timeline), &body, &source.footer(head.count)),
            HTML,
            freshness,
        ))
    })
    .await
}
