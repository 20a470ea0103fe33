//! The HTML pages of actledger, rendered once for two edges: `actledger serve` answers them
//! over HTTP, and `actledger publish` writes them into a static mirror as files.
//!
//! Every function here takes typed answers (from `actledger-answers` and the core) and returns
//! a string or the page's bytes: no I/O, no clock, no HTTP. The edge decides what to ask the
//! ledger and where the bytes go; this crate decides what the page says. How a page links to
//! the others is the one thing the edges differ in, and is said by [`Links`]: `serve`'s
//! routes (query strings, act pages, forms that ask the server, the JSON API), or a static
//! mirror's files, linked relatively (`offices/MINDEF.html`, `../index.html`), where nothing
//! needs a server.
//!
//! - [`svg`]: an office's timeline drawn as inline SVG.
//! - [`index`]: the index of offices and who held each on a day.
//! - [`office`]: an office's timeline page: the drawing, the same data as a table, and which
//!   checkpoint its answers can be checked against.
//! - [`act`]: the page of an act (`serve` only: a static mirror has no act pages).
//!
//! ```
//! use actledger_pages::{Links, office_file, page};
//!
//! let office = actledger_core::OfficeId::new("MINDEF")?;
//! assert_eq!(office_file(&office), "offices/MINDEF.html");
//! assert_eq!(Links::Server.office("MINDEF"), "/offices/MINDEF");
//! assert_eq!(Links::Static { depth: 0 }.office("MINDEF"), "offices/MINDEF.html");
//! assert_eq!(Links::Static { depth: 1 }.index(), "../index.html");
//! assert_eq!(Links::Static { depth: 1 }.act("RS-131-2024-PCM"), None);
//!
//! let html = page("Offices", "<h1>Offices</h1>", "", Links::Static { depth: 0 });
//! assert!(String::from_utf8(html)?.contains("<a href=\"index.html\">actledger</a>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

use actledger_core::{HexHash, OfficeId, Seq};

pub mod act;
pub mod index;
pub mod office;
pub mod svg;

pub use svg::escape;

/// How a page links to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// `serve`'s routes: `/`, `/offices/MINDEF?on=D`, `/acts/RS-131-2024-PCM`, the JSON API,
    /// and forms that ask the server.
    Server,
    /// A static mirror's files, linked relatively from a page `depth` folders below the
    /// mirror's root (0 for `index.html`, 1 for `offices/MINDEF.html`). A mirror has no act
    /// pages, no API and nothing to submit a form to: acts are named, not linked, and the
    /// pages say how to ask instead.
    Static {
        /// How many folders the page is below the mirror's root.
        depth: usize,
    },
}

impl Links {
    /// The way back to the mirror's root, `../` once per folder ("" on the server, whose links
    /// are absolute).
    fn up(self) -> String {
        match self {
            Links::Server => String::new(),
            Links::Static { depth } => "../".repeat(depth),
        }
    }

    /// The index of offices.
    pub fn index(self) -> String {
        match self {
            Links::Server => "/".to_owned(),
            Links::Static { .. } => format!("{}index.html", self.up()),
        }
    }

    /// The page of `office` (escaped, ready for an attribute).
    pub fn office(self, office: &str) -> String {
        match self {
            Links::Server => format!("/offices/{}", escape(office)),
            // An office id is a valid file name and URL path segment as it is: see
            // `office_file`.
            Links::Static { .. } => format!("{}offices/{}.html", self.up(), escape(office)),
        }
    }

    /// The page of `act` (escaped), where acts have pages: on the server only.
    pub fn act(self, act: &str) -> Option<String> {
        match self {
            Links::Server => Some(format!("/acts/{}", escape(act))),
            Links::Static { .. } => None,
        }
    }

    /// A file of the mirror named by its path under the mirror's root (`checkpoint`), linked
    /// from this page; `None` on the server, which serves no mirror files.
    pub fn mirror_file(self, path: &str) -> Option<String> {
        match self {
            Links::Server => None,
            Links::Static { .. } => Some(format!("{}{}", self.up(), escape(path))),
        }
    }

    /// Whether the pages may hold forms and links that need `serve` (the "who held it on day D"
    /// form, zooming, the JSON API).
    pub fn has_server(self) -> bool {
        self == Links::Server
    }

    /// The tags that make what they enclose of a drawing link to `act`'s page: `<a href>` and
    /// `</a>`, or a plain group where acts have no pages.
    pub(crate) fn act_group(self, act: &str) -> (String, &'static str) {
        match self.act(act) {
            Some(href) => (format!("<a href=\"{href}\">"), "</a>"),
            None => ("<g>".to_owned(), "</g>"),
        }
    }
}

/// The path of `office`'s page under a static mirror's root: `offices/<OFFICE>.html`.
///
/// The id is used as it is. Its grammar (`docs/EVENTS.md`: `[A-Za-z0-9][A-Za-z0-9._-]*`, 1 to
/// 128 characters) makes it a safe file name on every common file system and a URL path segment
/// that needs no percent-encoding: no separator, no leading dot (so never `.`, `..` or hidden),
/// nothing a shell or a URL treats specially, and at most 133 bytes with `.html`.
pub fn office_file(office: &OfficeId) -> String {
    format!("offices/{}.html", office.as_str())
}

/// A link to the act's page (the act's id alone where acts have no pages).
pub fn act_link(act: &str, links: Links) -> String {
    let text = escape(act);
    match links.act(act) {
        Some(href) => format!("<a href=\"{href}\">{text}</a>"),
        None => text,
    }
}

/// A link to the office's page.
pub fn office_link(office: &str, links: Links) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        links.office(office),
        escape(office)
    )
}

/// The ledger a page was drawn from: what every page's footer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The entries the page is drawn from.
    pub size: Seq,
    /// The Merkle root of those entries.
    pub root: [u8; 32],
}

impl Source {
    /// The footer of a page drawn from this source, in a ledger of `head` entries.
    pub fn footer(&self, head: Seq) -> String {
        let note = if self.size < head {
            format!(" (as of entry {} of {head})", self.size)
        } else {
            String::new()
        };
        format!(
            "<footer>Drawn from the ledger's first {size} entries{note}: tree size {size}, Merkle root <code>{root}</code>. Check it against a signed checkpoint with <code>actledger prove</code> and <code>actledger check-proof</code>.</footer>",
            size = self.size,
            root = HexHash(self.root),
        )
    }
}

/// The signed checkpoint a static mirror serves, which its pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The checkpoint's origin (its key's name).
    pub origin: String,
    /// Its tree size: the entries the pages are drawn from.
    pub size: Seq,
    /// Its Merkle root.
    pub root: [u8; 32],
}

impl Published {
    /// A paragraph naming the checkpoint, linked to the mirror's `checkpoint` and `statement`.
    pub(crate) fn paragraph(&self, links: Links) -> String {
        let file = |path: &str| {
            links
                .mirror_file(path)
                .map(|href| format!("<a href=\"{href}\"><code>{path}</code></a>"))
                .unwrap_or_else(|| format!("<code>{path}</code>"))
        };
        format!(
            "<p class=\"checkable\" id=\"checkable\" data-origin=\"{origin}\" data-size=\"{size}\" data-root=\"{root}\">Drawn from the checkpoint of <code>{origin}</code> at tree size {size}, Merkle root <code>{root}</code>: the mirror's signed {checkpoint}, beside the {statement} of the answers' state it signs, against which every answer on this page can be checked.</p>",
            origin = escape(&self.origin),
            size = self.size,
            root = HexHash(self.root),
            checkpoint = file("checkpoint"),
            statement = file("statement"),
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

/// A whole page: `title` (escaped here), `body` and `footer` (HTML), the header linking back to
/// the index.
pub fn page(title: &str, body: &str, footer: &str, links: Links) -> Vec<u8> {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · actledger</title><style>{STYLE}</style></head><body><header><a href=\"{}\">actledger</a> · who held this office on that day</header><main>{body}</main>{footer}</body></html>",
        escape(title),
        links.index(),
    )
    .into_bytes()
}
