//! The HTML pages: the index of offices with who holds each, an office's timeline drawn as
//! inline SVG with the same data as a table and a form that asks who held it on a day, and a
//! page per act ([`act`]). No script: every page works as a plain GET. Every name comes from
//! the ledger and is escaped. Errors on these pages are pages too ([`error`]).

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use actledger_core::{AbsenceKind, Capacity, Day, Role, Seq, WhoHeld};
use actledger_store::Ledger;
use sha2::Digest as _;

use crate::params;
use crate::problem::Problem;
use crate::routes::{Answer, AppState, Freshness, HTML};
use crate::svg::{Window, default_window, escape, timeline_svg};
use actledger_answers::{OfficeName, TimelineAnswer, office_timeline};

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

/// What every page's footer says: the ledger it was drawn from.
pub(crate) struct Source {
    size: Seq,
    root: [u8; 32],
}

impl Source {
    pub(crate) fn of(ledger: &Ledger, as_of: Seq) -> Result<Source, Problem> {
        Ok(Source {
            size: as_of,
            root: ledger.tree_root(as_of)?,
        })
    }

    pub(crate) fn footer(&self, head: Seq) -> String {
        let note = if self.size < head {
            format!(" (as of entry {} of {head})", self.size)
        } else {
            String::new()
        };
        format!(
            "<footer>Drawn from the ledger's first {size} entries{note}: tree size {size}, Merkle root <code>{root}</code>. Check it against a signed checkpoint with <code>actledger prove</code> and <code>actledger check-proof</code>.</footer>",
            size = self.size,
            root = actledger_proof::hash_to_hex(&self.root),
        )
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;color:#1a202c;margin:0 auto;max-width:1200px;padding:0 16px}\
header{padding:12px 0;border-bottom:1px solid #e2e8f0}header a{font-weight:700;text-decoration:none;color:#2b6cb0}\
h1{font-size:1.5em;margin:.6em 0 .2em}h1 small{color:#718096;font-weight:400}\
form{margin:.6em 0}input,button{font:inherit}\
.answer{background:#f7fafc;border-left:4px solid #2b6cb0;padding:8px 12px}\
.drawing{overflow-x:auto}svg.timeline{width:100%;min-width:760px;height:auto;display:block;margin:12px 0}\
.legend span{margin-right:1.2em}.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #4a5568}\
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left}\
caption{text-align:left;font-weight:600;padding:4px 0}\
footer{margin:24px 0;padding-top:8px;border-top:1px solid #e2e8f0;color:#4a5568;font-size:.9em}\
code{font-size:.9em;word-break:break-all}";

pub(crate) fn page(title: &str, body: &str, footer: &str) -> Vec<u8> {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · actledger</title><style>{STYLE}</style></head><body><header><a href=\"/\">actledger</a> · who held this office on that day</header><main>{body}</main>{footer}</body></html>",
        escape(title)
    )
    .into_bytes()
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
        let source = Source::of(ledger, head.count)?;
        let body = index_body(&offices, on, asked.is_none(), &holders);
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

/// The index: every office, its name and who held it on `on` (`today` when no day was asked).
fn index_body(offices: &[OfficeName], on: Day, today: bool, holders: &[WhoHeld]) -> String {
    let mut body = String::from("<h1>Offices</h1>");
    if offices.is_empty() {
        body.push_str("<p>The ledger names no office yet.</p>");
        return body;
    }
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/\"><label>Who held each office on <input type=\"date\" name=\"on\" value=\"{on}\" required></label> <button type=\"submit\">Ask</button></form>",
    );
    let holder_head = if today {
        format!("<th scope=\"col\">Held today ({on}) by</th>")
    } else {
        format!("<th scope=\"col\">Held on {on} by</th>")
    };
    let _ = write!(
        body,
        "<table id=\"offices\"><caption>Every office the ledger names</caption><thead><tr><th scope=\"col\">Office</th><th scope=\"col\">Name</th>{holder_head}</tr></thead><tbody>"
    );
    for o in offices {
        let id = escape(o.office.as_str());
        let link = if today {
            format!("/offices/{id}")
        } else {
            format!("/offices/{id}?on={on}")
        };
        let held = holders
            .iter()
            .find(|a| a.office == o.office)
            .map(|a| format!("<td>{}</td>", holder_cell(a)))
            .unwrap_or_else(|| "<td></td>".into());
        let _ = write!(
            body,
            "<tr><td><a href=\"{link}\">{id}</a></td><td>{}</td>{held}</tr>",
            o.name.as_deref().map(escape).unwrap_or_default()
        );
    }
    body.push_str("</tbody></table>");
    body
}

/// Whether the ledger knows anything of the office on the day of `answer`: false before the
/// office's record starts, or as of a point before the office was known ("no record", which
/// is not "vacant").
///
/// Whether the ledger knows anything of the office on that day: the one place the pages
/// read it ("no record" where not, "vacant" where on record with nobody in it).
fn on_record(answer: &WhoHeld) -> bool {
    answer.on_record
}

/// "José Arista Arbildo, acting (RS-131-2024-PCM)", "vacant", or "no record".
fn holder_cell(answer: &WhoHeld) -> String {
    if !on_record(answer) {
        return "<span class=\"no-record\">no record</span>".into();
    }
    let Some(holder) = &answer.holder else {
        return "vacant".into();
    };
    let who = escape(holder.name.as_deref().unwrap_or(holder.person.as_str()));
    let capacity = match holder.capacity {
        Capacity::Titular => "titular",
        Capacity::Acting => "acting",
    };
    let basis: Vec<String> = holder.basis.iter().map(|a| act_link(a.as_str())).collect();
    let away = answer
        .titular
        .as_ref()
        .filter(|t| t.absent && holder.capacity == Capacity::Titular)
        .map(|_| ", away with nobody in charge")
        .unwrap_or_default();
    format!("{who}, {capacity}{away} ({})", basis.join(", "))
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
        let source = Source::of(ledger, timeline.as_of)?;
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
        };
        let title = match &timeline.name {
            Some(name) => format!("{name} ({})", timeline.office),
            None => timeline.office.to_string(),
        };
        let mut body = view.body();
        body.push_str(&checkable(
            &timeline.office,
            on,
            timeline.as_of,
            resolved.pinned,
            kept.as_ref(),
        ));
        Ok(Answer::new(
            page(&title, &body, &source.footer(head.count)),
            HTML,
            freshness,
        ))
    })
    .await
}

/// Which checkpoint the page's answers can be checked against (`kept`: the one kept at the
/// page's size when `pinned`, else the newest), and how: the holder API's `proof=1`, or
/// `who-held --proof` then `check-answer`. Says so when none is kept.
fn checkable(
    office: &actledger_core::OfficeId,
    on: Option<Day>,
    size: Seq,
    pinned: bool,
    kept: Option<&actledger_store::KeptCheckpoint>,
) -> String {
    let id = escape(office.as_str());
    let Some(kept) = kept else {
        let text = if pinned {
            format!(
                "No checkpoint is kept at size {size}, the size this page is drawn at, so its answers cannot be checked offline as of this size; <a href=\"/offices/{id}\">the page as of the head</a> names the newest checkpoint kept, if any."
            )
        } else {
            "No checkpoint is kept in this ledger, so its answers cannot be checked offline yet: <code>actledger checkpoint --key FILE</code> signs and keeps one.".to_owned()
        };
        return format!("<p class=\"checkable\" id=\"checkable\">{text}</p>");
    };
    let origin = match kept.open() {
        Ok(opened) => escape(&opened.checkpoint.origin),
        Err(reason) => {
            return format!(
                "<p class=\"checkable\" id=\"checkable\">The checkpoint kept for size {} does not open ({}): no answer can be checked against it; <code>actledger verify</code> says more.</p>",
                kept.size,
                escape(&reason)
            );
        }
    };
    let n = kept.size;
    let (day, api) = match on {
        Some(day) => {
            let href =
                format!("/api/v1/offices/{id}/holder?on={day}&amp;proof=1&amp;checkpoint={n}");
            (
                day.to_string(),
                format!("<a href=\"{href}\"><code>{href}</code></a>"),
            )
        }
        None => (
            "D".to_owned(),
            format!("<code>/api/v1/offices/{id}/holder?on=D&amp;proof=1&amp;checkpoint={n}</code>"),
        ),
    };
    let which = if n == size {
        format!(
            "Answers on this page can be checked against the checkpoint of <code>{origin}</code> at size {n}"
        )
    } else {
        let at = match on {
            Some(day) => format!("/offices/{id}?on={day}&amp;as_of={n}"),
            None => format!("/offices/{id}?as_of={n}"),
        };
        format!(
            "The newest checkpoint kept is that of <code>{origin}</code> at size {n}, while this page is drawn from {size} entries: answers as of entry {n} (<a href=\"{at}\">this page as of entry {n}</a>) can be checked against it"
        )
    };
    format!(
        "<p class=\"checkable\" id=\"checkable\">{which}: add <code>&amp;proof=1</code> to the holder API ({api}) for the answer bundle, or run <code>actledger who-held {id} --on {day} --proof FILE</code>, then check it offline with <code>actledger check-answer --vkey VKEY FILE</code>.</p>"
    )
}

struct OfficePage<'a> {
    timeline: &'a TimelineAnswer,
    window: Window,
    on: Option<Day>,
    answer: Option<&'a WhoHeld>,
    as_of: Option<&'a str>,
}

/// A link to the act's page.
pub(crate) fn act_link(act: &str) -> String {
    let act = escape(act);
    format!("<a href=\"/acts/{act}\">{act}</a>")
}

/// A link to the office's page.
pub(crate) fn office_link(office: &str) -> String {
    let office = escape(office);
    format!("<a href=\"/offices/{office}\">{office}</a>")
}

fn days(from: Day, until: Option<Day>) -> (String, String) {
    (
        from.to_string(),
        until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "ongoing".into()),
    )
}

impl OfficePage<'_> {
    fn body(&self) -> String {
        let t = self.timeline;
        let id = escape(t.office.as_str());
        let mut body = String::new();
        match &t.name {
            Some(name) => {
                let _ = write!(body, "<h1>{} <small>{id}</small></h1>", escape(name));
            }
            None => {
                let _ = write!(body, "<h1>{id}</h1>");
            }
        }
        let keep = |name: &str, value: Option<String>| {
            value
                .map(|v| {
                    format!(
                        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                        escape(&v)
                    )
                })
                .unwrap_or_default()
        };
        let as_of = self.as_of.map(str::to_owned);
        let _ = write!(
            body,
            "<form method=\"get\" action=\"/offices/{id}\"><label>Who held it on <input type=\"date\" name=\"on\" value=\"{}\" required></label> <button type=\"submit\">Ask</button>{}{}{}</form>",
            self.on.map(|d| d.to_string()).unwrap_or_default(),
            keep("from", Some(self.window.from.to_string())),
            keep("until", Some(self.window.until.to_string())),
            keep("as_of", as_of.clone()),
        );
        if let Some(answer) = self.answer {
            let _ = write!(
                body,
                "<p class=\"answer\" id=\"answer\">{}</p>",
                answer_sentence(answer, t.name.as_deref())
            );
        }
        // Narrow screens scroll the drawing rather than shrink its labels past reading.
        body.push_str("<div class=\"drawing\">");
        body.push_str(&timeline_svg(t, self.window, self.on));
        body.push_str("</div>");
        body.push_str(LEGEND);
        let _ = write!(
            body,
            "<form method=\"get\" action=\"/offices/{id}\"><label>Draw from <input type=\"date\" name=\"from\" value=\"{}\"></label> <label>until <input type=\"date\" name=\"until\" value=\"{}\"></label> <button type=\"submit\">Zoom</button>{}{} <a href=\"/offices/{id}\">whole history</a></form>",
            self.window.from,
            self.window.until,
            keep("on", self.on.map(|d| d.to_string())),
            keep("as_of", as_of),
        );
        body.push_str(&self.table());
        body
    }

    /// The drawing's data as a table, for screen readers and for copying.
    fn table(&self) -> String {
        let t = self.timeline;
        let mut rows: Vec<(Day, u8, String)> = Vec::new();
        let w = self.window;
        let meets =
            |from: Day, until: Option<Day>| from <= w.until && until.is_none_or(|u| u >= w.from);
        for r in t.history.iter().filter(|r| meets(r.from, r.until)) {
            let (from, until) = days(r.from, r.until);
            let who = match (&r.name, &r.person) {
                (Some(name), _) => escape(name),
                (None, Some(person)) => escape(person.as_str()),
                (None, None) => "nobody".into(),
            };
            let (kind, order) = match r.capacity {
                Role::Titular => ("titular", 0),
                Role::Acting => ("acting", 2),
                Role::Vacant => ("vacant", 3),
            };
            let acts: Vec<String> = r.basis.iter().map(|a| act_link(a.as_str())).collect();
            rows.push((
                r.from,
                order,
                format!(
                    "<tr data-kind=\"{kind}\"><td>{kind}</td><td>{who}</td><td>{from}</td><td>{until}</td><td>{}</td></tr>",
                    acts.join(", ")
                ),
            ));
        }
        for trip in t.trips.iter().filter(|r| meets(r.from, Some(r.until))) {
            let who = escape(trip.name.as_deref().unwrap_or(trip.person.as_str()));
            let place = trip
                .destination
                .as_deref()
                .map(|d| format!(" ({})", escape(d)))
                .unwrap_or_default();
            rows.push((
                trip.from,
                1,
                format!(
                    "<tr data-kind=\"trip\"><td>away on a trip{place}</td><td>{who}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    trip.from,
                    trip.until,
                    act_link(trip.act.as_str())
                ),
            ));
        }
        for leave in t.leaves.iter().filter(|r| meets(r.from, Some(r.until))) {
            let who = escape(leave.name.as_deref().unwrap_or(leave.person.as_str()));
            let reason = leave
                .reason
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default();
            rows.push((
                leave.from,
                1,
                format!(
                    "<tr data-kind=\"leave\"><td>on leave{reason}</td><td>{who}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    leave.from,
                    leave.until,
                    act_link(leave.act.as_str())
                ),
            ));
        }
        for gap in t.unattended.iter().filter(|r| meets(r.from, Some(r.until))) {
            rows.push((
                gap.from,
                4,
                format!(
                    "<tr data-kind=\"unattended\"><td>unattended: titular away, nobody in charge</td><td>nobody</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    gap.from,
                    gap.until,
                    gap.absences
                        .iter()
                        .map(|absence| match absence.kind {
                            AbsenceKind::Trip => act_link(absence.act.as_str()),
                            AbsenceKind::Leave =>
                                format!("leave {}", act_link(absence.act.as_str())),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        rows.sort_by_key(|(from, order, _)| (*from, *order));
        let mut out = format!(
            "<table id=\"intervals\"><caption>{} from {} to {}, as a table</caption><thead><tr><th scope=\"col\">What</th><th scope=\"col\">Who</th><th scope=\"col\">From</th><th scope=\"col\">Until</th><th scope=\"col\">Act</th></tr></thead><tbody>",
            escape(t.office.as_str()),
            w.from,
            w.until
        );
        if rows.is_empty() {
            out.push_str("<tr><td colspan=\"5\">Nothing recorded in this window.</td></tr>");
        }
        for (_, _, row) in rows {
            out.push_str(&row);
        }
        out.push_str("</tbody></table>");
        out
    }
}

const LEGEND: &str = "<p class=\"legend\" aria-hidden=\"true\"><span><i class=\"sw\" style=\"background:#2b6cb0\"></i>titular</span><span><i class=\"sw\" style=\"background:#ed8936\"></i>titular away (trip)</span><span><i class=\"sw\" style=\"background:#b794f4\"></i>titular on leave</span><span><i class=\"sw\" style=\"background:repeating-linear-gradient(45deg,#b7791f 0 3px,#fefcbf 3px 6px)\"></i>acting</span><span><i class=\"sw\" style=\"background:#fff;border-style:dashed\"></i>vacant</span><span><i class=\"sw\" style=\"background:#e53e3e\"></i>unattended</span> Hover a bar for details; click it for its act's page.</p>";

/// "On D, OFFICE was held by ...", with links to the acts.
fn answer_sentence(answer: &WhoHeld, office_name: Option<&str>) -> String {
    let office = match office_name {
        Some(name) => format!("{} ({})", escape(name), escape(answer.office.as_str())),
        None => escape(answer.office.as_str()),
    };
    let on = answer.on;
    if !on_record(answer) {
        return format!("On {on}, the ledger has no record of {office}.");
    }
    let Some(holder) = &answer.holder else {
        return format!("On {on}, {office} was vacant.");
    };
    let who = escape(holder.name.as_deref().unwrap_or(holder.person.as_str()));
    let basis: Vec<String> = holder.basis.iter().map(|a| act_link(a.as_str())).collect();
    let mut sentence = match holder.capacity {
        Capacity::Titular => format!(
            "On {on}, {office} was held by <strong>{who}</strong>, titular ({}).",
            basis.join(", ")
        ),
        Capacity::Acting => format!(
            "On {on}, {office} was held by <strong>{who}</strong>, acting ({}).",
            basis.join(", ")
        ),
    };
    if let Some(t) = answer.titular.as_ref().filter(|t| t.absent) {
        // "away (trip ACT)" or "away (leave ACT)": the kind of absence is named.
        let away = format!(
            "{} {}",
            t.absence.map_or("trip", AbsenceKind::as_str),
            t.absence_act
                .as_ref()
                .map(|a| act_link(a.as_str()))
                .unwrap_or_default()
        );
        if holder.capacity == Capacity::Titular {
            let _ = write!(
                sentence,
                " <strong class=\"unattended\">The titular was away ({away}) and nobody was in charge.</strong>"
            );
        } else {
            let _ = write!(
                sentence,
                " Its titular, {}, was away ({away}).",
                escape(t.name.as_deref().unwrap_or(t.person.as_str())),
            );
        }
    }
    sentence
}
