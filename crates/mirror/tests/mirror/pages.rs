//! The pages of a mirror, for people: the seed case published, its index listing who holds
//! each office now, MINDEF's page drawing José Arista Arbildo acting on 2-4 June 2024 and
//! naming the checkpoint it shows, every link of every page leading to a file of the mirror,
//! and nothing rewritten when nothing is new.

use std::path::{Component, Path, PathBuf};

use actledger_core::{HexHash, parse_batch};

use crate::{Sandbox, snapshot};

/// The seed case of the README: Defense, 2-4 June 2024.
const SEED: &str = include_str!("../../../cli/data/seed.ndjson");

/// A ledger holding the seed case, published.
fn seed_mirror() -> Sandbox {
    let mut s = Sandbox::new();
    s.ledger
        .append(parse_batch(SEED.as_bytes()).unwrap())
        .unwrap();
    s.publish();
    s
}

fn read(s: &Sandbox, name: &str) -> String {
    std::fs::read_to_string(s.mirror().join(name))
        .unwrap_or_else(|e| panic!("reading {name} in the mirror: {e}"))
}

#[track_caller]
fn assert_has(page: &str, needles: &[&str]) {
    for needle in needles {
        assert!(page.contains(needle), "{needle} not in {page}");
    }
}

/// Every `href` and `src` of a page, unescaped.
fn links(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" href=\"", " src=\""] {
        for piece in page.split(attribute).skip(1) {
            let value = piece.split('"').next().unwrap_or_default();
            found.push(value.replace("&amp;", "&"));
        }
    }
    found
}

/// `link` followed from the page at `page` (a path under the mirror), as a path under the
/// mirror; `None` when it climbs out of the mirror.
fn resolve(page: &str, link: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    let from = Path::new(page).parent().unwrap_or(Path::new(""));
    for part in from.join(link).components() {
        match part {
            Component::Normal(name) => path.push(name),
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

#[test]
fn the_index_lists_every_office_with_who_holds_it_now_and_links_its_page() {
    let s = seed_mirror();
    let index = read(&s, "index.html");
    assert!(index.starts_with("<!doctype html>"), "{index}");
    assert_has(
        &index,
        &[
            "<title>Offices · actledger</title>",
            r#"<header><a href="index.html">actledger</a>"#,
            r#"<tr><td><a href="offices/MEF.html">MEF</a></td><td></td><td>José Arista Arbildo, titular (RS-002-2023-PCM)</td></tr>"#,
            r#"<tr><td><a href="offices/MINDEF.html">MINDEF</a></td><td>Ministerio de Defensa</td><td>Walter Astudillo, titular (RS-001-2023-PCM)</td></tr>"#,
            // How to ask without a server.
            "actledger who-held OFFICE --on YYYY-MM-DD",
        ],
    );
    // "Now" is the day the latest entry was recorded, not the clock's.
    let recorded = s.ledger.entry(7).unwrap().unwrap().time[..10].to_owned();
    assert_has(
        &index,
        &[&format!(
            "Held now ({recorded}, the day of the latest entry) by"
        )],
    );
    // Every office the answers know, and no other, has a row and a page.
    let known = actledger_answers::offices(&s.ledger, None)
        .unwrap()
        .answer
        .offices;
    assert_eq!(known.len(), 2);
    for office in &known {
        let id = office.office.as_str();
        assert_has(
            &index,
            &[&format!("<a href=\"offices/{id}.html\">{id}</a>")],
        );
        assert!(
            s.mirror().join(format!("offices/{id}.html")).is_file(),
            "{id}"
        );
    }
    assert_eq!(
        std::fs::read_dir(s.mirror().join("offices"))
            .unwrap()
            .count(),
        known.len()
    );
}

#[test]
fn an_office_page_draws_the_seed_case_and_names_its_checkpoint() {
    let s = seed_mirror();
    let page = read(&s, "offices/MINDEF.html");
    let root = HexHash(s.ledger.tree_root(7).unwrap()).to_string();
    assert_has(
        &page,
        &[
            "<title>Ministerio de Defensa (MINDEF) · actledger</title>",
            r#"<header><a href="../index.html">actledger</a>"#,
            "<h1>Ministerio de Defensa <small>MINDEF</small></h1>",
            // The drawing.
            r#"data-kind="acting" data-person="jose-arista" data-from="2024-06-02" data-until="2024-06-04""#,
            r#"data-kind="trip" data-person="walter-astudillo" data-from="2024-06-02" data-until="2024-06-04""#,
            // The same data as a table; acts are named, with no page to link to.
            r#"<tr data-kind="acting"><td>acting</td><td>José Arista Arbildo</td><td>2024-06-02</td><td>2024-06-04</td><td>RS-131-2024-PCM</td></tr>"#,
            // The checkpoint it shows: origin, size and root, with the files.
            r#"data-origin="example.org/mirror" data-size="7""#,
            &format!("data-root=\"{root}\""),
            "Drawn from the checkpoint of <code>example.org/mirror</code> at tree size 7",
            &format!("Merkle root <code>{root}</code>"),
            r#"<a href="../checkpoint"><code>checkpoint</code></a>"#,
            r#"<a href="../statement"><code>statement</code></a>"#,
            // How to ask, instead of a form.
            "actledger who-held MINDEF --on YYYY-MM-DD",
        ],
    );
    // Nothing that needs a server: no form, no act page, no API, no query string.
    for page_name in ["index.html", "offices/MINDEF.html", "offices/MEF.html"] {
        let page = read(&s, page_name);
        for absent in ["<form", "/api/", "/acts/", "?on=", "href=\"/"] {
            assert!(!page.contains(absent), "{absent} in {page_name}: {page}");
        }
    }
}

#[test]
fn every_link_of_every_page_leads_to_a_file_of_the_mirror() {
    let s = seed_mirror();
    let files = snapshot(&s.mirror());
    let pages: Vec<&String> = files.keys().filter(|f| f.ends_with(".html")).collect();
    assert_eq!(
        pages,
        ["index.html", "offices/MEF.html", "offices/MINDEF.html"]
    );
    let mut followed = 0;
    for page in pages {
        let text = String::from_utf8(files[page].0.clone()).unwrap();
        for link in links(&text) {
            assert!(
                !link.contains("://") && !link.starts_with('/') && !link.contains('?'),
                "{page} links {link}, which is not a file of the mirror"
            );
            let target = resolve(page, link.split('#').next().unwrap_or_default())
                .unwrap_or_else(|| panic!("{page} links {link}, outside the mirror"));
            let name = target.to_string_lossy().replace('\\', "/");
            assert!(
                files.contains_key(&name),
                "{page} links {link} ({name}), which the mirror does not hold"
            );
            followed += 1;
        }
    }
    // The index's header and two offices; each office page's header, checkpoint and statement.
    assert!(followed >= 3 + 2 * 3, "only {followed} links followed");
}

#[test]
fn publishing_the_seed_case_again_writes_no_page() {
    let s = seed_mirror();
    let before = snapshot(&s.mirror());
    let again = s.publish();
    assert_eq!(again.written, Vec::<String>::new());
    assert_eq!(again.unchanged, before.len() as u64);
    assert_eq!(
        snapshot(&s.mirror()),
        before,
        "bytes and modification times"
    );
}

#[test]
fn new_entries_rewrite_the_pages_before_the_checkpoint() {
    let mut s = seed_mirror();
    let next = r#"{"type":"act_issued","act":"RS-200-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}
{"type":"left_office","act":"RS-200-2024-PCM","person":"walter-astudillo","office":"MINDEF","on":"2024-07-01"}"#;
    s.ledger
        .append(parse_batch(next.as_bytes()).unwrap())
        .unwrap();
    let published = s.publish();
    // Every page names the checkpoint it shows, so each is rewritten with a new one; all of
    // them before the statement and the checkpoint.
    let written = &published.written;
    let at = |name: &str| written.iter().position(|w| w == name).unwrap();
    for page in ["offices/MEF.html", "offices/MINDEF.html", "index.html"] {
        assert!(at(page) < at("statement"), "{written:?}");
    }
    assert_eq!(written.last().map(String::as_str), Some("checkpoint"));
    let index = read(&s, "index.html");
    assert_has(
        &index,
        &[
            r#"<tr><td><a href="offices/MINDEF.html">MINDEF</a></td><td>Ministerio de Defensa</td><td>vacant</td></tr>"#,
        ],
    );
    let page = read(&s, "offices/MINDEF.html");
    assert_has(&page, &[r#"data-size="9""#, r#"data-kind="vacant""#]);
}
