//! The timeline drawing: inline SVG, no script. One lane for the titulars (solid bars, trips
//! marked on them, vacancies as dashed gaps) and one beneath for the acting holders (hatched
//! bars, unattended days flagged in red). Every bar has a tooltip and, where acts have pages
//! (`serve`'s, not a static mirror's), links to its act's page; every rect carries `data-*`
//! attributes naming what it draws, for tests and for scrapers.
//!
//! Labels never overlap and never run past their bar: their widths are estimated on the
//! generous side ([`text_width`]); a holder's name that does not fit its bar is shortened with
//! an ellipsis or dropped (the tooltip and the table keep it whole); a narrow bar's label goes
//! below the lanes, on the first row where it meets no other.
//!
//! The output depends on nothing but its input (no clock, no randomness), so the seed case's
//! drawing is a snapshot test.

use std::fmt::Write as _;

use actledger_core::{AbsenceKind, Day, HistoryRow, Role};

use actledger_answers::TimelineAnswer;

use crate::Links;

/// Total width of the drawing, in user units.
const WIDTH: f64 = 1160.0;
/// Where the plot starts (the lane labels are to its left) and ends.
const X0: f64 = 120.0;
const X1: f64 = 1140.0;
const AXIS_Y: f64 = 30.0;
const TITULAR_Y: f64 = 38.0;
const TITULAR_H: f64 = 40.0;
const ACTING_Y: f64 = 90.0;
const ACTING_H: f64 = 30.0;
const CALLOUT_Y: f64 = 140.0;
const CALLOUT_STEP: f64 = 18.0;
/// The narrowest a bar is drawn, so that a day in a decade stays visible.
const MIN_BAR: f64 = 4.0;
/// The font size of every label, in user units.
const FONT: f64 = 12.0;
/// The room kept between a label and its bar's ends.
const LABEL_PAD: f64 = 6.0;
/// The fewest characters a shortened label keeps before its ellipsis.
const MIN_LABEL_CHARS: usize = 3;
const TITULAR_COLORS: [&str; 4] = ["#2b6cb0", "#2f855a", "#6b46c1", "#975a16"];

/// Escapes text for HTML and XML, in content and in attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The days a drawing covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day drawn.
    pub from: Day,
    /// The last day drawn.
    pub until: Day,
}

impl Window {
    fn days(self) -> f64 {
        self.from.days_through(self.until) as f64
    }

    /// The x of the start of `day` (clamped to the plot).
    fn x(self, day: Day) -> f64 {
        let offset = f64::from(day.ordinal()) - f64::from(self.from.ordinal());
        (X0 + offset / self.days() * (X1 - X0)).clamp(X0, X1)
    }

    /// The x of the end of `day`.
    fn x_end(self, day: Day) -> f64 {
        let offset = f64::from(day.ordinal()) - f64::from(self.from.ordinal()) + 1.0;
        (X0 + offset / self.days() * (X1 - X0)).clamp(X0, X1)
    }

    /// The part of `from..=until` inside the window, if any.
    fn clip(self, from: Day, until: Option<Day>) -> Option<(Day, Day)> {
        let until = until.unwrap_or(Day::MAX);
        (from <= self.until && until >= self.from)
            .then(|| (from.max(self.from), until.min(self.until)))
    }
}

fn add_days(day: Day, days: i64) -> Day {
    let ordinal = i64::from(day.ordinal()) + days;
    u32::try_from(ordinal)
        .ok()
        .and_then(Day::from_ordinal)
        .unwrap_or(if days < 0 { Day::MIN } else { Day::MAX })
}

/// The fewest days a default window spans, margins aside.
const MIN_DEFAULT_DAYS: i64 = 30;

/// The window that shows the office's whole history: from its first day to its last dated
/// change, with a margin on both sides.
pub fn default_window(t: &TimelineAnswer) -> Window {
    let mut starts: Vec<Day> = t.history.iter().map(|r| r.from).collect();
    starts.extend(t.trips.iter().map(|r| r.from));
    starts.extend(t.leaves.iter().map(|r| r.from));
    let mut ends: Vec<Day> = t.history.iter().filter_map(|r| r.until).collect();
    ends.extend(t.trips.iter().map(|r| r.until));
    ends.extend(t.leaves.iter().map(|r| r.until));
    ends.extend(t.unattended.iter().map(|r| r.until));
    ends.extend(starts.iter().copied());
    let (Some(first), Some(last)) = (starts.iter().min(), ends.iter().max()) else {
        let today = Day::from_ymd(2000, 1, 1).unwrap_or(Day::MIN);
        return Window {
            from: today,
            until: add_days(today, 30),
        };
    };
    // A history that is one open tenure still gets a month to show it.
    let last = (*last).max(add_days(*first, MIN_DEFAULT_DAYS));
    let span = first.days_through(last);
    let pad = (span / 20).max(2);
    Window {
        from: add_days(*first, -pad),
        until: add_days(last, pad),
    }
}

fn fmt_days(from: Day, until: Option<Day>) -> String {
    match until {
        Some(until) if until == from => from.to_string(),
        Some(until) => format!("{from} – {until}"),
        None => format!("{from} – (ongoing)"),
    }
}

/// A label placed below the lanes, tied to its bar by a leader line.
struct Callout {
    x: f64,
    bar_y: f64,
    text: String,
    class: &'static str,
    bold: bool,
}

/// A titular's absence as the drawing marks it: a trip or a leave, drawn alike and named
/// apart (`kind` is its class and `data-kind`).
struct Away<'a> {
    kind: &'static str,
    person: &'a str,
    name: Option<&'a str>,
    from: Day,
    until: Day,
    act: &'a str,
    /// "away in Miami", "on leave (vacaciones)".
    what: String,
    /// The sign before the label (✈ for a trip; none for a leave).
    sign: &'static str,
}

/// One panel of the drawing (axis, lanes, bars, callouts) over `window`, and its height.
fn panel(t: &TimelineAnswer, window: Window, on: Option<Day>, links: Links) -> (String, f64) {
    let mut bars = String::new();
    let mut callouts: Vec<Callout> = Vec::new();
    let mut people: Vec<&str> = Vec::new();

    // Titular tenures.
    for row in t.history.iter().filter(|r| r.capacity == Role::Titular) {
        let Some((a, b)) = window.clip(row.from, row.until) else {
            continue;
        };
        let person = row.person.as_ref().map(|p| p.as_str()).unwrap_or("");
        let index = people.iter().position(|p| *p == person).unwrap_or_else(|| {
            people.push(person);
            people.len() - 1
        });
        let color = TITULAR_COLORS[index % TITULAR_COLORS.len()];
        row_bar(
            &mut bars,
            links,
            row,
            "titular",
            span(window, a, b),
            (TITULAR_Y, TITULAR_H),
            color,
            TITULAR_Y + 16.0,
        );
    }

    // Vacancies: gaps in the titular lane.
    let vacancies: Vec<(Day, Option<Day>)> = t
        .history
        .iter()
        .filter(|r| r.capacity == Role::Vacant)
        .map(|r| (r.from, r.until))
        .collect();
    for (from, until) in vacancies {
        let Some((a, b)) = window.clip(from, until) else {
            continue;
        };
        let (x, w) = span(window, a, b);
        let tip = format!("vacant, {}", fmt_days(from, until));
        let _ = write!(
            bars,
            "<g class=\"bar\"><rect class=\"vacant\" x=\"{x:.1}\" y=\"{TITULAR_Y}\" width=\"{w:.1}\" height=\"{TITULAR_H}\" data-kind=\"vacant\" data-from=\"{from}\" data-until=\"{until}\"><title>{tip}</title></rect>",
            until = until
                .map(|d| d.to_string())
                .unwrap_or_else(|| "open".into()),
            tip = escape(&tip),
        );
        if fits("vacant", w, false) {
            let _ = write!(
                bars,
                "<text class=\"in-vacant\" x=\"{:.1}\" y=\"{:.1}\">vacant</text>",
                x + LABEL_PAD,
                TITULAR_Y + 25.0
            );
        }
        bars.push_str("</g>");
    }

    // Trips and leaves, marked alike on the titular's bar, each named for what it is.
    let trips = t.trips.iter().map(|trip| {
        let place = trip
            .destination
            .as_deref()
            .map(|d| format!(" in {d}"))
            .unwrap_or_default();
        Away {
            kind: "trip",
            person: trip.person.as_str(),
            name: trip.name.as_deref(),
            from: trip.from,
            until: trip.until,
            act: trip.act.as_str(),
            what: format!("away{place}"),
            sign: "✈",
        }
    });
    let leaves = t.leaves.iter().map(|leave| {
        let reason = leave
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        Away {
            kind: "leave",
            person: leave.person.as_str(),
            name: leave.name.as_deref(),
            from: leave.from,
            until: leave.until,
            act: leave.act.as_str(),
            what: format!("on leave{reason}"),
            sign: "",
        }
    });
    for away in trips.chain(leaves) {
        let Some((a, b)) = window.clip(away.from, Some(away.until)) else {
            continue;
        };
        let who = away.name.unwrap_or(away.person);
        let what = &away.what;
        let tip = format!(
            "{who} {what}, {} ({})",
            fmt_days(away.from, Some(away.until)),
            away.act
        );
        let (x, w) = span(window, a, b);
        let act_e = escape(away.act);
        let kind = away.kind;
        let (open, close) = links.act_group(away.act);
        let _ = write!(
            bars,
            "{open}<rect class=\"{kind}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" data-kind=\"{kind}\" data-person=\"{person}\" data-from=\"{}\" data-until=\"{}\" data-act=\"{act_e}\"><title>{tip_e}</title></rect>",
            away.from,
            away.until,
            y = TITULAR_Y + TITULAR_H * 0.45,
            h = TITULAR_H * 0.55,
            person = escape(away.person),
            tip_e = escape(&tip),
        );
        let sign = |text: String| match away.sign {
            "" => text,
            sign => format!("{sign} {text}"),
        };
        let inside = sign(what.clone());
        let labeled = fits(&inside, w, false);
        if labeled {
            let _ = write!(
                bars,
                "<text class=\"in-{kind}\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + LABEL_PAD,
                TITULAR_Y + TITULAR_H - 6.0,
                escape(&inside)
            );
        }
        bars.push_str(close);
        if !labeled {
            callouts.push(Callout {
                x,
                bar_y: TITULAR_Y + TITULAR_H,
                text: sign(format!(
                    "{who} {what}, {}",
                    fmt_days(away.from, Some(away.until))
                )),
                class: if kind == "leave" {
                    "note-leave"
                } else {
                    "note-trip"
                },
                bold: false,
            });
        }
    }

    // Acting holders, hatched on the lane beneath.
    for row in t.history.iter().filter(|r| r.capacity == Role::Acting) {
        let Some((a, b)) = window.clip(row.from, row.until) else {
            continue;
        };
        let person = row.person.as_ref().map(|p| p.as_str()).unwrap_or("");
        let who = row.name.as_deref().unwrap_or(person);
        let (x, w) = span(window, a, b);
        let labeled = row_bar(
            &mut bars,
            links,
            row,
            "acting",
            (x, w),
            (ACTING_Y, ACTING_H),
            "url(#hatch)",
            ACTING_Y + 19.0,
        );
        if !labeled {
            callouts.push(Callout {
                x,
                bar_y: ACTING_Y + ACTING_H,
                text: format!("{who}, acting, {}", fmt_days(row.from, row.until)),
                class: "note-acting",
                bold: true,
            });
        }
    }

    // Days away with nobody in charge.
    for gap in &t.unattended {
        let Some((a, b)) = window.clip(gap.from, Some(gap.until)) else {
            continue;
        };
        let (x, w) = span(window, a, b);
        let days = fmt_days(gap.from, Some(gap.until));
        // The bar links to the absence that began the run; its title names every absence of
        // it, a leave as one ("RS-1, leave RS-2").
        let act_e = escape(gap.absences.first().map_or("", |a| a.act.as_str()));
        let acts: Vec<String> = (gap.absences.iter())
            .map(|a| match a.kind {
                AbsenceKind::Trip => a.act.to_string(),
                AbsenceKind::Leave => format!("leave {}", a.act),
            })
            .collect();
        let acts_e = escape(&acts.join(", "));
        let (open, close) = links.act_group(gap.absences.first().map_or("", |a| a.act.as_str()));
        let _ = write!(
            bars,
            "{open}<rect class=\"unattended\" x=\"{x:.1}\" y=\"{ACTING_Y}\" width=\"{w:.1}\" height=\"{ACTING_H}\" data-kind=\"unattended\" data-from=\"{}\" data-until=\"{}\" data-act=\"{act_e}\"><title>unattended: the titular away ({}) and nobody in charge, {}</title></rect>{close}",
            gap.from,
            gap.until,
            acts_e,
            escape(&days),
        );
        callouts.push(Callout {
            x,
            bar_y: ACTING_Y + ACTING_H,
            text: format!("⚠ unattended, {days}"),
            class: "note-unattended",
            bold: true,
        });
    }

    // Labels for a few narrow bars help; dozens would bury the drawing.
    let (notes, rows) = if callouts.len() > MAX_CALLOUTS {
        let note = format!(
            "<text class=\"note-more\" x=\"{X0}\" y=\"{CALLOUT_Y}\">{} periods too short to label at this scale: hover a bar for its details, zoom in, or read the table</text>",
            callouts.len()
        );
        (note, 1)
    } else {
        place_callouts(&callouts)
    };
    let height = CALLOUT_Y + CALLOUT_STEP * rows.max(1) as f64;
    let mut svg = axis(window, height);
    let _ = write!(
        svg,
        "<text class=\"lane\" x=\"8\" y=\"{:.0}\">Titular</text><text class=\"lane\" x=\"8\" y=\"{:.0}\">Acting</text>",
        TITULAR_Y + TITULAR_H / 2.0 + 4.0,
        ACTING_Y + ACTING_H / 2.0 + 4.0
    );
    svg.push_str(&bars);
    svg.push_str(&notes);
    if let Some(day) = on.filter(|d| window.from <= *d && *d <= window.until) {
        let x = (window.x(day) + window.x_end(day)) / 2.0;
        let _ = write!(
            svg,
            "<line class=\"on\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.0}\" y2=\"{:.0}\" data-kind=\"on\" data-day=\"{day}\"><title>{day}</title></line>",
            AXIS_Y - 4.0,
            ACTING_Y + ACTING_H + 4.0
        );
    }
    (svg, height)
}

/// Draws a titular or acting row's bar of `kind` in the lane at `y` of `height`, with a
/// tooltip, linked to the row's first act, and the holder's name on it at `label_y`: whole
/// when it fits; for a titular, else shortened to fit, if it can be. Returns whether the
/// whole name is on the bar.
#[allow(clippy::too_many_arguments)] // one bar's geometry, style and links, named apart
fn row_bar(
    bars: &mut String,
    links: Links,
    row: &HistoryRow,
    kind: &str,
    (x, w): (f64, f64),
    (y, height): (f64, f64),
    fill: &str,
    label_y: f64,
) -> bool {
    let person = row.person.as_ref().map(|p| p.as_str()).unwrap_or("");
    let who = row.name.as_deref().unwrap_or(person);
    let act = row.basis.first().map(|a| a.as_str()).unwrap_or("");
    let tip = format!("{who}, {kind}, {} ({act})", fmt_days(row.from, row.until));
    let (open, close) = links.act_group(act);
    let _ = write!(
        bars,
        "{open}<rect class=\"{kind}\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{height}\" fill=\"{fill}\" data-kind=\"{kind}\" data-person=\"{person_e}\" data-from=\"{from}\" data-until=\"{until}\" data-act=\"{act_e}\"><title>{tip_e}</title></rect>",
        act_e = escape(act),
        person_e = escape(person),
        from = row.from,
        until = row
            .until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "open".into()),
        tip_e = escape(&tip),
    );
    // Both lanes' labels are bold.
    let labeled = fits(who, w, true);
    let label = if labeled {
        Some(who.to_owned())
    } else if kind == "titular" {
        shorten(who, w - 2.0 * LABEL_PAD, true)
    } else {
        None
    };
    if let Some(label) = label {
        let _ = write!(
            bars,
            "<text class=\"in-{kind}\" x=\"{:.1}\" y=\"{label_y:.1}\">{}</text>",
            x + LABEL_PAD,
            escape(&label)
        );
    }
    bars.push_str(close);
    labeled
}

/// The most narrow bars a panel labels below its lanes.
const MAX_CALLOUTS: usize = 6;

/// Periods drawn narrower than this get a close-up panel.
const NARROW: f64 = 24.0;

/// The window of a close-up: around the day `on` when one is asked about, else around the
/// latest period too narrow to read in `window` (an acting period, a trip, unattended days, a
/// vacancy), widened to the narrow periods near it. `None` when the close-up would show
/// nothing new: every period reads well as drawn, or the close-up is not much narrower.
fn closeup_window(t: &TimelineAnswer, window: Window, on: Option<Day>) -> Option<Window> {
    let mut periods: Vec<(Day, Day)> = Vec::new();
    for row in t.history.iter().filter(|r| r.capacity != Role::Titular) {
        periods.push((row.from, row.until.unwrap_or(Day::MAX)));
    }
    periods.extend(t.trips.iter().map(|r| (r.from, r.until)));
    periods.extend(t.leaves.iter().map(|r| (r.from, r.until)));
    periods.extend(t.unattended.iter().map(|r| (r.from, r.until)));
    let narrow: Vec<(Day, Day)> = periods
        .into_iter()
        .filter_map(|(from, until)| window.clip(from, Some(until)))
        .filter(|(a, b)| window.x_end(*b) - window.x(*a) < NARROW)
        .collect();
    let on = on.filter(|d| window.from <= *d && *d <= window.until);
    let anchor = match on {
        Some(day) => (day, day),
        None => *narrow.iter().max_by_key(|(a, _)| *a)?,
    };
    let near = |(a, b): &&(Day, Day)| *b >= add_days(anchor.0, -14) && *a <= add_days(anchor.1, 14);
    let from = narrow
        .iter()
        .filter(near)
        .map(|p| p.0)
        .chain([anchor.0])
        .min()?;
    let until = narrow
        .iter()
        .filter(near)
        .map(|p| p.1)
        .chain([anchor.1])
        .max()?;
    let pad = if from == until && on.is_some() {
        // A day with nothing short near it: a month around it.
        15
    } else {
        (from.days_through(until) / 3).max(2)
    };
    let closeup = Window {
        from: add_days(from, -pad).max(window.from),
        until: add_days(until, pad).min(window.until),
    };
    (closeup.days() * 4.0 < window.days()).then_some(closeup)
}

/// Draws the office's timeline over `window`, with the day `on` marked if given. Periods too
/// narrow to read get a close-up panel beneath, and a dashed frame on the main panel shows
/// where it is.
pub fn timeline_svg(t: &TimelineAnswer, window: Window, on: Option<Day>, links: Links) -> String {
    let title = t.name.as_deref().unwrap_or(t.office.as_str());
    let (mut body, mut height) = panel(t, window, on, links);
    if let Some(cw) = closeup_window(t, window, on) {
        let (x, w) = span(window, cw.from, cw.until);
        let _ = write!(
            body,
            "<rect class=\"closeup-mark\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" data-kind=\"closeup-window\" data-from=\"{}\" data-until=\"{}\"/>",
            x - 2.0,
            TITULAR_Y - 4.0,
            w + 4.0,
            ACTING_Y + ACTING_H - TITULAR_Y + 8.0,
            cw.from,
            cw.until
        );
        let (inner, inner_height) = panel(t, cw, on, links);
        let _ = write!(
            body,
            "<text class=\"panel-title\" x=\"8\" y=\"{:.0}\">Close-up, {} – {}</text><g class=\"closeup\" data-panel=\"closeup\" transform=\"translate(0 {:.0})\">{inner}</g>",
            height + 22.0,
            cw.from,
            cw.until,
            height + 30.0,
        );
        height += 30.0 + inner_height;
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-labelledby=\"timeline-title\" data-office=\"{office}\" data-from=\"{}\" data-until=\"{}\">\
<title id=\"timeline-title\">{title} from {} to {}: titulars, trips, leaves and acting holders</title>\
<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\" patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#fefcbf\"/><rect width=\"3.5\" height=\"8\" fill=\"#b7791f\"/></pattern></defs>\
<style>\
text{{font:12px system-ui,sans-serif;fill:#1a202c}}\
.lane,.panel-title{{font-weight:600}}\
.tick{{stroke:#e2e8f0}}\
.in-titular{{fill:#fff;font-weight:600}}\
.in-acting{{font-weight:700;paint-order:stroke;stroke:#fefcbf;stroke-width:4px;stroke-linejoin:round}}\
.in-trip{{fill:#1a202c;paint-order:stroke;stroke:#ed8936;stroke-width:3px;stroke-linejoin:round}}\
.in-leave{{fill:#1a202c;paint-order:stroke;stroke:#b794f4;stroke-width:3px;stroke-linejoin:round}}\
.in-vacant{{fill:#718096}}\
.titular{{stroke:#fff;stroke-width:1}}\
.acting{{stroke:#975a16;stroke-width:1}}\
.trip{{fill:#ed8936;stroke:#9c4221;stroke-width:1}}\
.leave{{fill:#b794f4;stroke:#553c9a;stroke-width:1}}\
.vacant{{fill:#fff;stroke:#a0aec0;stroke-width:1.5;stroke-dasharray:5 4}}\
.unattended{{fill:#e53e3e;stroke:#9b2c2c}}\
.closeup-mark{{fill:none;stroke:#4a5568;stroke-width:1;stroke-dasharray:2 2}}\
.leader{{stroke:#4a5568;stroke-width:1}}\
.note-trip{{fill:#9c4221}}\
.note-leave{{fill:#553c9a}}\
.note-acting{{fill:#744210;font-weight:600}}\
.note-unattended{{fill:#c53030;font-weight:600}}\
.note-more{{fill:#4a5568;font-style:italic}}\
.on{{stroke:#1a202c;stroke-width:2;stroke-dasharray:3 2}}\
a:hover rect{{opacity:.8}}\
</style>",
        window.from,
        window.until,
        window.from,
        window.until,
        office = escape(t.office.as_str()),
        title = escape(title),
    );
    svg.push_str(&body);
    svg.push_str("</svg>");
    svg
}

/// The x and width of the bar for `a..=b`, at least [`MIN_BAR`] wide.
fn span(window: Window, a: Day, b: Day) -> (f64, f64) {
    let x = window.x(a);
    let w = (window.x_end(b) - x).max(MIN_BAR);
    (x.min(X1 - MIN_BAR), w)
}

/// The width of `text` in the labels' font, estimated on the generous side: the widths are
/// those of DejaVu Sans (a wide face, and the usual one on Linux), bold 10% wider, so that
/// narrower faces fit all the more.
fn text_width(text: &str, bold: bool) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' => 0.32,
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.3,
            'f' | 't' | 'r' | '-' | '(' | ')' | '[' | ']' => 0.42,
            'm' | 'w' => 0.92,
            'M' | 'W' => 1.0,
            '0'..='9' => 0.64,
            'a'..='z' => 0.62,
            'A'..='Z' => 0.74,
            // Accented letters, dashes, symbols (✈, ⚠): room for the widest.
            _ => 1.0,
        })
        .sum();
    em * FONT * if bold { 1.1 } else { 1.0 }
}

/// Whether `text` fits whole in a bar `width` wide, with room at both ends.
fn fits(text: &str, width: f64, bold: bool) -> bool {
    text_width(text, bold) + 2.0 * LABEL_PAD <= width
}

/// `text` cut short with an ellipsis to fit `room`, keeping at least [`MIN_LABEL_CHARS`]
/// characters; `text` itself when it fits; `None` when not even that fits.
fn shorten(text: &str, room: f64, bold: bool) -> Option<String> {
    if text_width(text, bold) <= room {
        return Some(text.to_owned());
    }
    let chars: Vec<char> = text.chars().collect();
    (MIN_LABEL_CHARS..chars.len()).rev().find_map(|n| {
        let mut cut: String = chars[..n].iter().collect::<String>().trim_end().to_owned();
        cut.push('…');
        (text_width(&cut, bold) <= room).then_some(cut)
    })
}

/// Places each callout on the first row below the lanes where it overlaps no other, anchored
/// at its bar (or ending there, near the right edge; shortened if it would still run past the
/// drawing's left edge). Returns the SVG and the rows used.
fn place_callouts(callouts: &[Callout]) -> (String, usize) {
    let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut out = String::new();
    for c in callouts {
        let mut text = c.text.clone();
        let mut width = text_width(&text, c.bold);
        let anchor_end = c.x + width > X1;
        if anchor_end && width > c.x + MIN_BAR {
            let Some(short) = shorten(&text, c.x + MIN_BAR, c.bold) else {
                continue;
            };
            width = text_width(&short, c.bold);
            text = short;
        }
        let (left, right) = if anchor_end {
            ((c.x + MIN_BAR - width).max(0.0), c.x + MIN_BAR)
        } else {
            (c.x, c.x + width)
        };
        let row = rows
            .iter()
            .position(|taken| {
                taken
                    .iter()
                    .all(|(l, r)| right + 8.0 < *l || left > *r + 8.0)
            })
            .unwrap_or_else(|| {
                rows.push(Vec::new());
                rows.len() - 1
            });
        rows[row].push((left, right));
        let y = CALLOUT_Y + CALLOUT_STEP * row as f64;
        let lx = c.x + MIN_BAR / 2.0;
        let _ = write!(
            out,
            "<line class=\"leader\" x1=\"{lx:.1}\" x2=\"{lx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text class=\"{}\" x=\"{:.1}\" y=\"{y:.1}\"{}>{}</text>",
            c.bar_y,
            y - 11.0,
            c.class,
            if anchor_end { c.x + MIN_BAR } else { c.x },
            if anchor_end {
                " text-anchor=\"end\""
            } else {
                ""
            },
            escape(&text)
        );
    }
    (out, rows.len())
}

/// Ticks and labels along the top: days, months or years, whichever the window suits.
fn axis(window: Window, height: f64) -> String {
    let days = window.days();
    let mut ticks: Vec<(Day, String)> = Vec::new();
    let (y0, m0) = year_month(window.from);
    if days <= 45.0 {
        let mut day = window.from;
        while day <= window.until {
            ticks.push((day, day.to_string()));
            match day.next() {
                Some(next) => day = next,
                None => break,
            }
        }
    } else if days <= 3.0 * 366.0 {
        let (mut y, mut m) = (y0, m0);
        while let Some(first) = Day::from_ymd(y, m, 1) {
            if first > window.until {
                break;
            }
            if first >= window.from {
                ticks.push((first, format!("{y}-{m:02}")));
            }
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
    } else {
        let mut y = y0;
        while let Some(first) = Day::from_ymd(y, 1, 1) {
            if first > window.until {
                break;
            }
            if first >= window.from {
                ticks.push((first, y.to_string()));
            }
            y += 1;
        }
    }
    let mut out = String::new();
    let mut last_label = f64::NEG_INFINITY;
    for (day, label) in ticks {
        let x = window.x(day);
        let _ = write!(
            out,
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{AXIS_Y}\" y2=\"{:.0}\"/>",
            height - 4.0
        );
        let width = text_width(&label, false);
        if x - last_label >= width + 10.0 && x + width <= WIDTH {
            let _ = write!(
                out,
                "<text class=\"tick-label\" x=\"{x:.1}\" y=\"{:.0}\">{label}</text>",
                AXIS_Y - 8.0
            );
            last_label = x;
        }
    }
    out
}

fn year_month(day: Day) -> (i32, u32) {
    let text = day.to_string();
    let year = text.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(1);
    let month = text.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    (year, month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_attributes_and_text() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn a_window_maps_days_to_the_plot() {
        let w = Window {
            from: Day::parse("2024-06-01").unwrap(),
            until: Day::parse("2024-06-10").unwrap(),
        };
        assert_eq!(w.x(w.from), X0);
        assert_eq!(w.x_end(w.until), X1);
        assert_eq!(
            w.clip(Day::parse("2024-05-01").unwrap(), None),
            Some((w.from, w.until))
        );
        assert_eq!(w.clip(Day::parse("2024-07-01").unwrap(), None), None);
    }
}
