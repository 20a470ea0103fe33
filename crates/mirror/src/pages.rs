//! The pages of a mirror, for people: `index.html` (every office and who holds it now) and one
//! page per office, `offices/<OFFICE>.html` (its whole timeline), each drawn as of the
//! checkpoint being published and saying so. They are `serve`'s pages, rendered by the same
//! functions (`actledger-pages`) with the links of a static mirror: relative, no forms, no API.
//!
//! They are written before the statement and the checkpoint, like the tiles, and only when
//! their bytes change. Nothing in them depends on the clock: "now" is the day the ledger's
//! latest entry was recorded, so publishing again with nothing new writes no page.

use actledger_answers::{AsOf, OfficeName, office_timelines, offices, state_on};
use actledger_core::{Day, Seq};
use actledger_pages::index::static_index;
use actledger_pages::office::static_office;
use actledger_pages::{Published, office_file};
use actledger_proof::Checkpoint;
use actledger_store::Ledger;

use crate::error::PublishError;
use crate::publish::Publishing;

/// The name of the index page in a mirror.
pub const INDEX_FILE: &str = "index.html";

/// Makes the mirror hold the pages of the ledger as of `checkpoint` (whose size is at most the
/// ledger's): every known office's page, then the index. Returns how many pages the mirror
/// now has at this size.
pub(crate) fn put_pages(
    ledger: &Ledger,
    checkpoint: &Checkpoint,
    publishing: &mut Publishing<'_>,
) -> Result<u64, PublishError> {
    let size = checkpoint.size;
    let published = Published {
        origin: checkpoint.origin.clone(),
        size,
        root: checkpoint.root,
    };
    let (as_of, known) = known_offices(ledger, size)?;
    let ids: Vec<_> = known.iter().map(|office| office.office.clone()).collect();
    office_timelines(ledger, &ids, as_of, |timeline| {
        let page = static_office(&timeline, &published);
        publishing.put(&office_file(&timeline.office), page, false)
    })?;
    let now = ledger.entry(size)?.and_then(|entry| entry.recorded_on());
    let holders = match now {
        Some(day) if !known.is_empty() => state_on(ledger, day, as_of)?.answer.offices,
        _ => Vec::new(),
    };
    // With no entry there is no office, and the index says so without naming a day.
    let page = static_index(&known, now.unwrap_or(Day::MIN), &holders, &published);
    publishing.put(INDEX_FILE, page, false)?;
    Ok(known.len() as u64 + 1)
}

/// The pages of the mirror of a checkpoint of `size` entries: every known office's, then the
/// index.
pub(crate) fn page_files(ledger: &Ledger, size: Seq) -> Result<Vec<String>, PublishError> {
    let (_, known) = known_offices(ledger, size)?;
    Ok(known
        .iter()
        .map(|office| office_file(&office.office))
        .chain([INDEX_FILE.to_owned()])
        .collect())
}

/// The point a checkpoint of `size` entries is as of (none for the head itself, the answers'
/// fast path), and the offices known there.
fn known_offices(
    ledger: &Ledger,
    size: Seq,
) -> Result<(Option<AsOf>, Vec<OfficeName>), PublishError> {
    let as_of = (size != ledger.head().count && size > 0).then_some(AsOf::Seq(size));
    Ok((as_of, offices(ledger, as_of)?.answer.offices))
}
