//! An office's timeline page: the drawing ([`crate::svg`]), its legend, the same data as a
//! table, the answer of who held it on a day, and which checkpoint its answers can be checked
//! against. `serve` adds the forms that ask it (who held it on a day, zoom); a static page says
//! instead how to ask a clone of the mirror.

use std::fmt::Write as _;

use actledger_answers::TimelineAnswer;
use actledger_core::{AbsenceKind, Capacity, Day, OfficeId, Role, Seq, WhoHeld};

use crate::index::on_record;
use crate::svg::{Window, default_window, timeline_svg};
use crate::{Links, Published, Source, act_link, escape, page};

/// An office's timeline page, as asked.
#[derive(Debug, Clone, Copy)]
pub struct OfficePage<'a> {
    /// The office's timeline.
    pub timeline: &'a TimelineAnswer,
    /// The days drawn.
    pub window: Window,
    /// The day asked about, marked on the drawing.
    pub on: Option<Day>,
    /// Who held it on that day.
    pub answer: Option<&'a WhoHeld>,
    /// The "as of" point asked, as written (kept by the forms).
    pub as_of: Option<&'a str>,
    /// How the page links to the others.
    pub links: Links,
}

/// The title of an office's page: "Ministerio de Defensa (MINDEF)", or the id alone.
pub fn title(timeline: &TimelineAnswer) -> String {
    match &timeline.name {
        Some(name) => format!("{name} ({})", timeline.office),
        None => timeline.office.to_string(),
    }
}

/// The checkpoint `serve` keeps that a page's answers can be checked against, as [`checkable`]
/// says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept<'a> {
    /// None is kept (at the page's size, for a pinned page).
    None,
    /// One is kept at `size` but does not open, for `reason`.
    Unopened {
        /// Its size.
        size: Seq,
        /// Why it does not open.
        reason: &'a str,
    },
    /// One is kept: that of `origin` at `size`.
    Opened {
        /// Its origin.
        origin: &'a str,
        /// Its size.
        size: Seq,
    },
}

/// The whole page of an office in a static mirror (`offices/<OFFICE>.html`): its whole history
/// as of the `published` checkpoint, with no day asked, saying which checkpoint it shows.
pub fn static_office(timeline: &TimelineAnswer, published: &Published) -> Vec<u8> {
    let links = Links::Static { depth: 1 };
    let view = OfficePage {
        timeline,
        window: default_window(timeline),
        on: None,
        answer: None,
        as_of: None,
        links,
    };
    let mut body = view.body();
    body.push_str(&published.paragraph(links));
    let source = Source {
        size: published.size,
        root: published.root,
    };
    page(
        &title(timeline),
        &body,
        &source.footer(published.size),
        links,
    )
}

/// Which checkpoint the page's answers can be checked against (`kept`: the one kept at the
/// page's size when `pinned`, else the newest), and how: the holder API's `proof=1`, or
/// `who-held --proof` then `check-answer`. Says so when none is kept.
pub fn checkable(
    office: &OfficeId,
    on: Option<Day>,
    size: Seq,
    pinned: bool,
    kept: Kept<'_>,
) -> String {
    let id = escape(office.as_str());
    let (origin, n) = match kept {
        Kept::Opened { origin, size } => (escape(origin), size),
        Kept::Unopened { size, reason } => {
            return format!(
                "<p class=\"checkable\" id=\"checkable\">The checkpoint kept for size {size} does not open ({}): no answer can be checked against it; <code>actledger verify</code> says more.</p>",
                escape(reason)
            );
        }
        Kept::None => {
            let text = if pinned {
                format!(
                    "No checkpoint is kept at size {size}, the size this page is drawn at, so its answers cannot be checked offline as of this size; <a href=\"/offices/{id}\">the page as of the head</a> names the newest checkpoint kept, if any."
                )
            } else {
                "No checkpoint is kept in this ledger, so its answers cannot be checked offline yet: <code>actledger checkpoint --key FILE</code> signs and keeps one.".to_owned()
            };
            return format!("<p class=\"checkable\" id=\"checkable\">{text}</p>");
        }
    };
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

fn days(from: Day, until: Option<Day>) -> (String, String) {
    (
        from.to_string(),
        until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "ongoing".into()),
    )
}

impl OfficePage<'_> {
    /// The page's body: its heading, the form asking who held it on a day (or, on a static
    /// page, how to ask), the answer, the drawing, its legend, the zoom form and the table.
    pub fn body(&self) -> String {
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
        let server = self.links.has_server();
        if server {
            let _ = write!(
                body,
                "<form method=\"get\" action=\"/offices/{id}\"><label>Who held it on <input type=\"date\" name=\"on\" value=\"{}\" required></label> <button type=\"submit\">Ask</button>{}{}{}</form>",
                self.on.map(|d| d.to_string()).unwrap_or_default(),
                keep("from", Some(self.window.from.to_string())),
                keep("until", Some(self.window.until.to_string())),
                keep("as_of", as_of.clone()),
            );
        } else {
            let _ = write!(
                body,
                "<p class=\"ask\" id=\"ask\">This static page draws the whole history of {id} as the checkpoint below has it; the table beneath the drawing lists every period. To ask who held it on a given day, clone the mirror, <code>actledger clone URL LEDGER --vkey VKEY</code>, and ask the clone: <code>actledger who-held {id} --on YYYY-MM-DD</code>; with <code>--proof FILE</code> the answer comes as a bundle that <code>actledger check-answer --vkey VKEY FILE</code> checks offline.</p>"
            );
        }
        if let Some(answer) = self.answer {
            let _ = write!(
                body,
                "<p class=\"answer\" id=\"answer\">{}</p>",
                answer_sentence(answer, t.name.as_deref(), self.links)
            );
        }
        // Narrow screens scroll the drawing rather than shrink its labels past reading.
        body.push_str("<div class=\"drawing\">");
        body.push_str(&timeline_svg(t, self.window, self.on, self.links));
        body.push_str("</div>");
        body.push_str(LEGEND);
        body.push_str(if server { LEGEND_LINKS } else { "." });
        body.push_str("</p>");
        if server {
            let _ = write!(
                body,
                "<form method=\"get\" action=\"/offices/{id}\"><label>Draw from <input type=\"date\" name=\"from\" value=\"{}\"></label> <label>until <input type=\"date\" name=\"until\" value=\"{}\"></label> <button type=\"submit\">Zoom</button>{}{} <a href=\"/offices/{id}\">whole history</a></form>",
                self.window.from,
                self.window.until,
                keep("on", self.on.map(|d| d.to_string())),
                keep("as_of", as_of),
            );
        }
        body.push_str(&self.table());
        body
    }

    /// The drawing's data as a table, for screen readers and for copying.
    fn table(&self) -> String {
        let t = self.timeline;
        let links = self.links;
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
            let acts: Vec<String> = r
                .basis
                .iter()
                .map(|a| act_link(a.as_str(), links))
                .collect();
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
                    act_link(trip.act.as_str(), links)
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
                    act_link(leave.act.as_str(), links)
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
                            AbsenceKind::Trip => act_link(absence.act.as_str(), links),
                            AbsenceKind::Leave =>
                                format!("leave {}", act_link(absence.act.as_str(), links)),
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

const LEGEND: &str = "<p class=\"legend\" aria-hidden=\"true\"><span><i class=\"sw\" style=\"background:#2b6cb0\"></i>titular</span><span><i class=\"sw\" style=\"background:#ed8936\"></i>titular away (trip)</span><span><i class=\"sw\" style=\"background:#b794f4\"></i>titular on leave</span><span><i class=\"sw\" style=\"background:repeating-linear-gradient(45deg,#b7791f 0 3px,#fefcbf 3px 6px)\"></i>acting</span><span><i class=\"sw\" style=\"background:#fff;border-style:dashed\"></i>vacant</span><span><i class=\"sw\" style=\"background:#e53e3e\"></i>unattended</span> Hover a bar for details";
/// What the legend adds where bars link to their acts' pages.
const LEGEND_LINKS: &str = "; click it for its act's page.";

/// "On D, OFFICE was held by ...", with links to the acts.
pub fn answer_sentence(answer: &WhoHeld, office_name: Option<&str>, links: Links) -> String {
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
    let basis: Vec<String> = holder
        .basis
        .iter()
        .map(|a| act_link(a.as_str(), links))
        .collect();
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
                .map(|a| act_link(a.as_str(), links))
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
