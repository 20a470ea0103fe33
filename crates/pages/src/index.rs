//! The index: every office the ledger names, its name, and who held it on a day, each linked to
//! its timeline page.

use std::fmt::Write as _;

use actledger_answers::OfficeName;
use actledger_core::{Capacity, Day, WhoHeld};

use crate::{Links, Published, Source, act_link, escape, page};

/// The day the index answers for, and why that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexDay {
    /// Today, by the server's clock: no day was asked.
    Today(Day),
    /// The day asked for (`?on=D`).
    Asked(Day),
    /// The day the ledger's latest entry was recorded: a static mirror's "now", fixed by the
    /// checkpoint it shows, so that the page changes with the ledger and not with the clock.
    Recorded(Day),
}

impl IndexDay {
    /// The day itself.
    pub fn day(self) -> Day {
        match self {
            IndexDay::Today(day) | IndexDay::Asked(day) | IndexDay::Recorded(day) => day,
        }
    }
}

/// The index's body: every office, its name and who held it on `day` (`holders`: the state
/// answer of that day).
pub fn index_body(
    offices: &[OfficeName],
    day: IndexDay,
    holders: &[WhoHeld],
    links: Links,
) -> String {
    let mut body = String::from("<h1>Offices</h1>");
    if offices.is_empty() {
        body.push_str("<p>The ledger names no office yet.</p>");
        return body;
    }
    let on = day.day();
    if links.has_server() {
        let _ = write!(
            body,
            "<form method=\"get\" action=\"/\"><label>Who held each office on <input type=\"date\" name=\"on\" value=\"{on}\" required></label> <button type=\"submit\">Ask</button></form>",
        );
    }
    let holder_head = match day {
        IndexDay::Today(_) => format!("<th scope=\"col\">Held today ({on}) by</th>"),
        IndexDay::Asked(_) => format!("<th scope=\"col\">Held on {on} by</th>"),
        IndexDay::Recorded(_) => {
            format!("<th scope=\"col\">Held now ({on}, the day of the latest entry) by</th>")
        }
    };
    let _ = write!(
        body,
        "<table id=\"offices\"><caption>Every office the ledger names</caption><thead><tr><th scope=\"col\">Office</th><th scope=\"col\">Name</th>{holder_head}</tr></thead><tbody>"
    );
    for o in offices {
        let id = escape(o.office.as_str());
        let mut link = links.office(o.office.as_str());
        if let IndexDay::Asked(on) = day {
            let _ = write!(link, "?on={on}");
        }
        let held = holders
            .iter()
            .find(|a| a.office == o.office)
            .map(|a| format!("<td>{}</td>", holder_cell(a, links)))
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

/// The whole index of a static mirror: who holds each office now (on `on`, the day the
/// ledger's latest entry was recorded), how to ask about another day, and the checkpoint it
/// shows.
pub fn static_index(
    offices: &[OfficeName],
    on: Day,
    holders: &[WhoHeld],
    published: &Published,
) -> Vec<u8> {
    let links = Links::Static { depth: 0 };
    let mut body = index_body(offices, IndexDay::Recorded(on), holders, links);
    body.push_str(
        "<p class=\"ask\" id=\"ask\">This is a static mirror of the ledger: each office's page draws its whole history as of the checkpoint below. To ask who held an office on a given day, clone the mirror, <code>actledger clone URL LEDGER --vkey VKEY</code>, and ask the clone: <code>actledger who-held OFFICE --on YYYY-MM-DD</code>; with <code>--proof FILE</code> the answer comes as a bundle that <code>actledger check-answer --vkey VKEY FILE</code> checks offline.</p>",
    );
    body.push_str(
        "<p class=\"data\" id=\"data\">The same answers as data, every titular and acting interval of every office: <a href=\"data/holdings.csv\">holdings.csv</a> (a table), <a href=\"data/popolo.json\">popolo.json</a> (Popolo) and <a href=\"data/ftm.ndjson\">ftm.ndjson</a> (FollowTheMoney entities). An answer with its proof, from this mirror alone: <code>actledger fetch-answer URL OFFICE --on YYYY-MM-DD --vkey VKEY --proof FILE</code>.</p>",
    );
    body.push_str(&published.paragraph(links));
    let source = Source {
        size: published.size,
        root: published.root,
    };
    page("Offices", &body, &source.footer(published.size), links)
}

/// Whether the ledger knows anything of the office on the day of `answer`: false before the
/// office's record starts, or as of a point before the office was known ("no record", which
/// is not "vacant"). The one place the pages read it.
pub(crate) fn on_record(answer: &WhoHeld) -> bool {
    answer.on_record
}

/// "José Arista Arbildo, acting (RS-131-2024-PCM)", "vacant", or "no record".
fn holder_cell(answer: &WhoHeld, links: Links) -> String {
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
    let basis: Vec<String> = (holder.basis.iter())
        .map(|a| act_link(a.as_str(), links))
        .collect();
    let away = answer
        .titular
        .as_ref()
        .filter(|t| t.absent && holder.capacity == Capacity::Titular)
        .map(|_| ", away with nobody in charge")
        .unwrap_or_default();
    format!("{who}, {capacity}{away} ({})", basis.join(", "))
}
