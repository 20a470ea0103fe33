//! Verification of what answers are read from: every derived record (act, office and person
//! postings, revocations, retractions, known offices, the timeline cache, the stored Merkle
//! tree hashes and their meta records) compared with what the verified log implies.
//!
//! The log is trusted once its chain verifies; nothing derived is. Whoever can write the
//! ledger's files can recompute any checksum a record carries, so a derived record is sound
//! only when it is what a replay of the log would write. The comparison streams: the log is
//! read once, in order (the same pass that checks the chain), and what it implies is kept per
//! table in a form whose size follows the identifiers, never the entries:
//!
//! - the stored tree hashes are recomputed tile by tile and compared as each tile completes;
//! - revocations, retractions and known offices are kept exactly (a few per act revoked,
//!   position retracted or office);
//! - the postings (`A`, `O`, `P`) are kept as one fingerprint per act bucket, office and
//!   person: the sum, modulo 2^128, of a keyed SHA-256 of each (identifier, position) the log
//!   implies. The stored side is read back into the same sums, after checks that make a
//!   record's bytes a function of its positions (strict decoding, canonical re-encoding, full
//!   blocks but the last). The key is drawn from the operating system for each run and never
//!   stored, so nobody who edits the files beforehand can aim at a sum: two different sets
//!   collide with probability 2^-128. A bucket that differs is read again from the log to
//!   name the acts concerned.
//! - the timeline cache is replayed office by office, through the same code that builds it
//!   ([`Ledger::each_timeline`]), from the indexes just proven equal to the log, and compared
//!   record by record; each person's name at the head is read again from the log, and each
//!   office's leaf of the answers' state computed again from its replayed timeline and those
//!   names.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use actledger_core::{IndexEntry, OfficeId, PersonId, Seq};
use actledger_proof::{Hash, HashReader, leaf_hash, split_stored_hash_index};

use crate::entry::Entry;
use crate::error::storage;
use crate::error::{Difference, Finding, Findings, OutOfRange, StoreError, Subject, Table};
use crate::keys;
use crate::ledger::{Ledger, encode_cache_record};
use crate::postings::{self, ACT_BUCKETS, BLOCK_LEN};
use crate::state::OfficeState;
use crate::tree::TILE_LEN;

/// The most act buckets read again from the log to name the acts that differ in them.
const BUCKETS_NAMED: usize = 16;

/// What the log implies for every derived table, gathered entry by entry in log order.
pub(crate) struct Expected<'a> {
    ledger: &'a Ledger,
    /// The run's secret fingerprint key.
    secret: [u8; 32],
    /// Per act bucket: the fingerprint of its (act, position) pairs.
    acts: Vec<u128>,
    /// Per `O` prefix (`O` office 0x00): the fingerprint of its positions.
    offices: HashMap<Vec<u8>, u128>,
    /// Per `P` prefix (`P` person 0x00): the fingerprint of its positions.
    persons: HashMap<Vec<u8>, u128>,
    /// Every `R` key.
    revocations: BTreeSet<Vec<u8>>,
    /// Every `X` key.
    retractions: BTreeSet<[u8; 17]>,
    /// Every office named, with the position of the first event naming it.
    known: BTreeMap<OfficeId, Seq>,
    tree: TreeStream,
    count: Seq,
    findings: Findings,
    /// The first failure of the storage engine met while comparing entry by entry.
    error: Option<StoreError>,
}

impl<'a> Expected<'a> {
    pub(crate) fn new(ledger: &'a Ledger) -> Result<Expected<'a>, StoreError> {
        let mut secret = [0; 32];
        getrandom::fill(&mut secret).map_err(|e| StoreError::NoRandomKey {
            reason: e.to_string(),
        })?;
        Ok(Expected {
            ledger,
            secret,
            acts: vec![0; ACT_BUCKETS as usize],
            offices: HashMap::new(),
            persons: HashMap::new(),
            revocations: BTreeSet::new(),
            retractions: BTreeSet::new(),
            known: BTreeMap::new(),
            tree: TreeStream::default(),
            count: 0,
            findings: Findings::default(),
            error: None,
        })
    }

    /// The keyed fingerprint of one (table, identifier, position).
    fn mark(&self, table: u8, id: &[u8], seq: Seq) -> u128 {
        let mut hasher = Sha256::new();
        hasher.update(self.secret);
        hasher.update([table]);
        hasher.update(u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes());
        hasher.update(id);
        hasher.update(seq.to_be_bytes());
        let digest = hasher.finalize();
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(first)
    }

    /// Takes in the next entry of the log (already checked: its event parses).
    pub(crate) fn see(&mut self, stored: &Entry, index: &[IndexEntry]) {
        self.count = stored.seq;
        let line = stored.export_line();
        let data = line.strip_suffix('\n').unwrap_or(&line);
        if let Some(tile) = self.tree.push(leaf_hash(data.as_bytes())) {
            self.compare_tile(tile);
        }
        let seq = stored.seq;
        for entry in index {
            match entry {
                IndexEntry::Act(act) => {
                    let bucket = usize::from(postings::bucket(act.as_str()));
                    let mark = self.mark(keys::ACT, act.as_str().as_bytes(), seq);
                    self.acts[bucket] = self.acts[bucket].wrapping_add(mark);
                }
                IndexEntry::Revokes(act) => {
                    self.revocations
                        .insert(keys::named(keys::REVOKED, act.as_str(), seq));
                }
                IndexEntry::Retracts(target) => {
                    self.retractions.insert(keys::retracted(*target, seq));
                }
                IndexEntry::Office(office) => {
                    let prefix = keys::named_prefix(keys::OFFICE, office.as_str());
                    let mark = self.mark(keys::OFFICE, &prefix, seq);
                    let sum = self.offices.entry(prefix).or_default();
                    *sum = sum.wrapping_add(mark);
                }
                IndexEntry::Person(person) => {
                    let prefix = keys::named_prefix(keys::PERSON, person.as_str());
                    let mark = self.mark(keys::PERSON, &prefix, seq);
                    let sum = self.persons.entry(prefix).or_default();
                    *sum = sum.wrapping_add(mark);
                }
                IndexEntry::KnownOffice(office) => {
                    if !self.known.contains_key(office) {
                        self.known.insert(office.clone(), seq);
                    }
                }
            }
        }
    }

    fn db(&self) -> &'a sled::Db {
        &self.ledger.db
    }

    fn failed(&mut self, error: StoreError) {
        self.error.get_or_insert(error);
    }

    fn compare_tile(&mut self, (tile, expected): (u64, Vec<u8>)) {
        match self.db().get(keys::tree_hash(tile)) {
            Err(e) => self.failed(storage(&self.ledger.path)(e)),
            Ok(stored) => {
                let difference = match stored {
                    None => Difference::Missing,
                    Some(value) if value.as_ref() == expected.as_slice() => return,
                    Some(_) => Difference::Different,
                };
                self.findings.push(Finding {
                    table: Table::TreeHashes,
                    subject: Subject::Tile(tile),
                    difference,
                });
            }
        }
    }

    /// Compares every derived table with what the log implies, once the whole log (`count`
    /// entries, intact) has been seen.
    pub(crate) fn finish(mut self, count: Seq) -> Result<Findings, StoreError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        debug_assert_eq!(count, self.count);
        self.count = count;
        if let Some(tile) = self.tree.finish() {
            self.compare_tile(tile);
            if let Some(error) = self.error.take() {
                return Err(error);
            }
        }
        self.check_tree_extras()?;
        self.check_acts()?;
        self.check_exact(Table::Revocations)?;
        self.check_exact(Table::Retractions)?;
        let offices = std::mem::take(&mut self.offices);
        self.check_postings(Table::OfficePostings, &offices)?;
        let persons = std::mem::take(&mut self.persons);
        self.check_postings(Table::PersonPostings, &persons)?;
        self.check_known()?;
        self.check_cache()?;
        self.check_meta()?;
        self.ledger.check_kept(count, &mut self.findings)?;
        self.check_unknown()?;
        Ok(self.findings)
    }

    fn scan(
        &self,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> + 'a {
        let path = self.ledger.path.clone();
        self.db()
            .scan_prefix(prefix)
            .map(move |item| item.map_err(storage(&path)))
    }

    fn check_tree_extras(&mut self) -> Result<(), StoreError> {
        let tiles = self.tree.tiles_written();
        for item in self.scan(&[keys::TREE]) {
            let (key, _) = item?;
            let tile = (key.len() == 9).then(|| keys::seq_suffix(&key)).flatten();
            match tile {
                Some(tile) if tile < tiles => {}
                Some(tile) => self.findings.push(Finding {
                    table: Table::TreeHashes,
                    subject: Subject::Tile(tile),
                    difference: Difference::Extra,
                }),
                None => self.findings.push(Finding {
                    table: Table::TreeHashes,
                    subject: Subject::Record(key_text(&key)),
                    difference: Difference::Malformed("not the key of a tile".into()),
                }),
            }
        }
        Ok(())
    }

    fn check_acts(&mut self) -> Result<(), StoreError> {
        let mut stored = vec![0u128; ACT_BUCKETS as usize];
        let mut malformed = BTreeSet::new();
        for item in self.scan(&[keys::ACT]) {
            let (key, value) = item?;
            let bucket = match <[u8; 2]>::try_from(&key[1..]) {
                Ok(bytes) => u16::from_be_bytes(bytes),
                Err(_) => {
                    self.findings.push(Finding {
                        table: Table::ActPostings,
                        subject: Subject::Record(key_text(&key)),
                        difference: Difference::Malformed("not the key of an act bucket".into()),
                    });
                    continue;
                }
            };
            match postings::decode_bucket_strictly(&value, bucket) {
                Ok(acts) => {
                    for (act, seqs) in &acts {
                        for &seq in seqs {
                            let mark = self.mark(keys::ACT, act.as_bytes(), seq);
                            let sum = &mut stored[usize::from(bucket)];
                            *sum = sum.wrapping_add(mark);
                        }
                    }
                }
                Err(why) => {
                    malformed.insert(bucket);
                    self.findings.push(Finding {
                        table: Table::ActPostings,
                        subject: Subject::Bucket(bucket),
                        difference: Difference::Malformed(why.into()),
                    });
                }
            }
        }
        let differing: Vec<u16> = (0..ACT_BUCKETS)
            .filter_map(|b| u16::try_from(b).ok())
            .filter(|b| !malformed.contains(b))
            .filter(|&b| stored[usize::from(b)] != self.acts[usize::from(b)])
            .collect();
        let (named, unnamed) = differing.split_at(differing.len().min(BUCKETS_NAMED));
        self.name_acts(named)?;
        for &bucket in unnamed {
            self.findings.push(Finding {
                table: Table::ActPostings,
                subject: Subject::Bucket(bucket),
                difference: Difference::Different,
            });
        }
        Ok(())
    }

    /// Reads the log again for the acts of `buckets` (each known to differ) and names the
    /// acts whose stored positions differ from the log's.
    fn name_acts(&mut self, buckets: &[u16]) -> Result<(), StoreError> {
        if buckets.is_empty() {
            return Ok(());
        }
        let mut implied: BTreeMap<u16, BTreeMap<String, Vec<Seq>>> = buckets
            .iter()
            .map(|&bucket| (bucket, BTreeMap::new()))
            .collect();
        for entry in self.ledger.entries(1) {
            let entry = entry?;
            let Ok(event) = entry.event() else { continue };
            if let Some(act) = event.act()
                && let Some(acts) = implied.get_mut(&postings::bucket(act.as_str()))
            {
                acts.entry(act.as_str().to_owned())
                    .or_default()
                    .push(entry.seq);
            }
        }
        for (bucket, implied) in implied {
            let stored = match self.db().get(postings::act_key(bucket)) {
                Err(e) => return Err(storage(&self.ledger.path)(e)),
                Ok(None) => BTreeMap::new(),
                Ok(Some(value)) => {
                    postings::decode_bucket_strictly(&value, bucket).unwrap_or_default()
                }
            };
            let before = self.findings.total();
            for act in implied.keys().chain(stored.keys()).collect::<BTreeSet<_>>() {
                let difference = match (implied.get(act), stored.get(act)) {
                    (Some(a), Some(b)) if a == b => continue,
                    (Some(_), Some(_)) => Difference::Different,
                    (Some(_), None) => Difference::Missing,
                    (None, _) => Difference::Extra,
                };
                self.findings.push(Finding {
                    table: Table::ActPostings,
                    subject: Subject::Act(act.clone()),
                    difference,
                });
            }
            if self.findings.total() == before {
                // Equal act by act, yet the sums differ: not possible but for a collision of
                // the keyed sums; report the bucket rather than say nothing.
                self.findings.push(Finding {
                    table: Table::ActPostings,
                    subject: Subject::Bucket(bucket),
                    difference: Difference::Different,
                });
            }
        }
        Ok(())
    }

    /// `R` or `X`: the stored keys (with empty values) must be exactly the implied ones.
    fn check_exact(&mut self, table: Table) -> Result<(), StoreError> {
        let (prefix, implied): (u8, BTreeSet<Vec<u8>>) = match table {
            Table::Revocations => (keys::REVOKED, std::mem::take(&mut self.revocations)),
            _ => (
                keys::RETRACTED,
                std::mem::take(&mut self.retractions)
                    .into_iter()
                    .map(|key| key.to_vec())
                    .collect(),
            ),
        };
        let subject = |key: &[u8]| match table {
            Table::Revocations => {
                let act = key[1..].split(|b| *b == 0).next().unwrap_or_default();
                Subject::Act(String::from_utf8_lossy(act).into_owned())
            }
            _ => match key.get(1..9).and_then(keys::seq_suffix) {
                Some(target) if key.len() == 17 => Subject::Position(target),
                _ => Subject::Record(key_text(key)),
            },
        };
        let mut seen = BTreeSet::new();
        for item in self.scan(&[prefix]) {
            let (key, value) = item?;
            let difference = if !implied.contains(key.as_ref()) {
                Difference::Extra
            } else if !value.is_empty() {
                Difference::Different
            } else {
                seen.insert(key.to_vec());
                continue;
            };
            self.findings.push(Finding {
                table,
                subject: subject(&key),
                difference,
            });
        }
        for key in implied.difference(&seen) {
            self.findings.push(Finding {
                table,
                subject: subject(key),
                difference: Difference::Missing,
            });
        }
        Ok(())
    }

    /// `O` or `P`: each identifier's stored blocks, read back into the fingerprint of its
    /// positions, must match the log's.
    fn check_postings(
        &mut self,
        table: Table,
        implied: &HashMap<Vec<u8>, u128>,
    ) -> Result<(), StoreError> {
        let (prefix, tag) = match table {
            Table::OfficePostings => (keys::OFFICE, keys::OFFICE),
            _ => (keys::PERSON, keys::PERSON),
        };
        let subject = |id_prefix: &[u8]| {
            let id = String::from_utf8_lossy(&id_prefix[1..id_prefix.len().saturating_sub(1)])
                .into_owned();
            match table {
                Table::OfficePostings => Subject::Office(id),
                _ => Subject::Person(id),
            }
        };
        let mut stored: HashMap<Vec<u8>, u128> = HashMap::new();
        let mut malformed: BTreeSet<Vec<u8>> = BTreeSet::new();
        // The identifier being read, its last position and the length of its last block.
        let mut current: Option<(Vec<u8>, Seq, usize)> = None;
        for item in self.scan(&[prefix]) {
            let (key, value) = item?;
            let Some(zero) = key.iter().position(|b| *b == 0) else {
                self.findings.push(Finding {
                    table,
                    subject: Subject::Record(key_text(&key)),
                    difference: Difference::Malformed("not the key of a posting block".into()),
                });
                continue;
            };
            let id_prefix = key[..=zero].to_vec();
            if malformed.contains(&id_prefix) {
                continue;
            }
            let continues = current.as_ref().filter(|(id, _, _)| *id == id_prefix);
            let checked = postings::block_strictly(&key, zero + 1, &value).and_then(|seqs| {
                if let Some((_, last, len)) = continues {
                    if *len != BLOCK_LEN {
                        return Err("a block that is not full is followed by another");
                    }
                    if seqs[0] <= *last {
                        return Err("its positions do not follow the block before");
                    }
                }
                Ok(seqs)
            });
            match checked {
                Ok(seqs) => {
                    let sum = stored.entry(id_prefix.clone()).or_default();
                    for &seq in &seqs {
                        *sum = sum.wrapping_add(self.mark(tag, &id_prefix, seq));
                    }
                    let last = seqs[seqs.len() - 1];
                    current = Some((id_prefix, last, seqs.len()));
                }
                Err(why) => {
                    self.findings.push(Finding {
                        table,
                        subject: subject(&id_prefix),
                        difference: Difference::Malformed(why.into()),
                    });
                    stored.remove(&id_prefix);
                    malformed.insert(id_prefix);
                    current = None;
                }
            }
        }
        let mut ids: Vec<&Vec<u8>> = implied.keys().chain(stored.keys()).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if malformed.contains(id) {
                continue;
            }
            let difference = match (implied.get(id), stored.get(id)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => Difference::Different,
                (Some(_), None) => Difference::Missing,
                (None, _) => Difference::Extra,
            };
            self.findings.push(Finding {
                table,
                subject: subject(id),
                difference,
            });
        }
        Ok(())
    }

    fn check_known(&mut self) -> Result<(), StoreError> {
        let mut seen = BTreeSet::new();
        for item in self.scan(&[keys::KNOWN]) {
            let (key, value) = item?;
            let office = std::str::from_utf8(&key[1..])
                .ok()
                .and_then(|id| OfficeId::new(id).ok());
            let difference = match office {
                Some(office) if self.known.contains_key(&office) => {
                    // The first position naming the office, or nothing in a record written
                    // before it was kept (read from the log then: no answer depends on it).
                    let first = self.known[&office].to_be_bytes();
                    if value.is_empty() || value.as_ref() == first {
                        seen.insert(office);
                        continue;
                    }
                    Difference::Different
                }
                _ => Difference::Extra,
            };
            self.findings.push(Finding {
                table: Table::KnownOffices,
                subject: Subject::Office(String::from_utf8_lossy(&key[1..]).into_owned()),
                difference,
            });
        }
        let missing: Vec<String> = self
            .known
            .keys()
            .filter(|office| !seen.contains(*office))
            .map(|office| office.as_str().to_owned())
            .collect();
        for office in missing {
            self.findings.push(Finding {
                table: Table::KnownOffices,
                subject: Subject::Office(office),
                difference: Difference::Missing,
            });
        }
        Ok(())
    }

    /// Replays every known office's timeline from the indexes (proven equal to the log by
    /// now) and compares its cache records, then looks for records of unknown offices.
    fn check_cache(&mut self) -> Result<(), StoreError> {
        if self.cache_predates_this_version()? {
            // Written by an earlier release: never read, rebuilt by the next open.
            return Ok(());
        }
        let replayed_from = [
            Table::ActPostings,
            Table::Revocations,
            Table::Retractions,
            Table::OfficePostings,
            Table::KnownOffices,
        ];
        if self.findings.concern(&replayed_from) {
            self.findings.push(Finding {
                table: Table::TimelineCache,
                subject: Subject::Record("every office".into()),
                difference: Difference::NotCompared(
                    "the indexes timelines are replayed from differ from the log".into(),
                ),
            });
            return Ok(());
        }
        let names = self.check_names()?;
        let offices: Vec<OfficeId> = self.known.keys().cloned().collect();
        let ledger = self.ledger;
        let mut findings = std::mem::take(&mut self.findings);
        ledger.each_timeline(offices, crate::rebuild::GROUP_EVENTS, &mut |timeline| {
            if let Some(names) = &names {
                let (leaf, hashes) = OfficeState::kept_of(timeline, |person| {
                    Ok::<_, StoreError>(names.get(person).cloned())
                })?;
                let office = timeline.office.as_str();
                let stored = ledger.db.get(keys::id_key(keys::STATE, office));
                let stored = stored.map_err(storage(&ledger.path))?;
                let stored_hashes =
                    crate::state::stored_segment_hash_records(&ledger.db, &ledger.path, office)?;
                if stored.as_deref() != Some(leaf.canonical().as_bytes())
                    || stored_hashes != crate::state::segment_hash_records(office, &hashes)
                {
                    findings.push(Finding {
                        table: Table::State,
                        subject: Subject::Office(timeline.office.as_str().to_owned()),
                        difference: if stored.is_none() {
                            Difference::Missing
                        } else {
                            Difference::Different
                        },
                    });
                }
            }
            let implied = crate::cache::timeline_records(timeline);
            let mut stored = BTreeMap::new();
            for prefix in [keys::SEGMENT, keys::TIMELINE] {
                let named = keys::named_prefix(prefix, timeline.office.as_str());
                for item in ledger.db.scan_prefix(named) {
                    let (key, value) = item.map_err(storage(&ledger.path))?;
                    stored.insert(key.to_vec(), value.to_vec());
                }
            }
            if stored != implied {
                findings.push(Finding {
                    table: Table::TimelineCache,
                    subject: Subject::Office(timeline.office.as_str().to_owned()),
                    difference: if stored.is_empty() {
                        Difference::Missing
                    } else {
                        Difference::Different
                    },
                });
            }
            Ok(())
        })?;
        self.findings = findings;
        // A leaf of an office the ledger does not know.
        for item in self.db().scan_prefix([keys::STATE]) {
            let (key, _) = item.map_err(storage(&self.ledger.path))?;
            let office = String::from_utf8_lossy(&key[1..]).into_owned();
            if !self.known.keys().any(|known| known.as_str() == office) {
                self.findings.push(Finding {
                    table: Table::State,
                    subject: Subject::Office(office),
                    difference: Difference::Extra,
                });
            }
        }
        // Records between the known offices' ranges belong to no known office.
        for (prefix, table) in [
            (keys::SEGMENT, Table::TimelineCache),
            (keys::TIMELINE, Table::TimelineCache),
            (keys::SEGMENT_HASHES, Table::State),
        ] {
            let mut from = vec![prefix];
            let ends: Vec<Vec<u8>> = self
                .known
                .keys()
                .map(|office| keys::named_prefix(prefix, office.as_str()))
                .chain(std::iter::once(vec![prefix + 1]))
                .collect();
            for end in ends {
                let mut reported = BTreeSet::new();
                for item in self.db().range(from.clone()..end.clone()) {
                    let (key, _) = item.map_err(storage(&self.ledger.path))?;
                    let office = key[1..].split(|b| *b == 0).next().unwrap_or_default();
                    if reported.insert(office.to_vec()) {
                        self.findings.push(Finding {
                            table,
                            subject: Subject::Office(String::from_utf8_lossy(office).into_owned()),
                            difference: Difference::Extra,
                        });
                    }
                }
                // Past this office's records: its prefix with the 0x00 made 0x01.
                from = end;
                if let Some(last) = from.last_mut() {
                    *last = 1;
                }
            }
        }
        Ok(())
    }

    /// Compares the kept names (`N`) with every person's name at the head as the log implies
    /// it, and returns those names; `None` when the person postings they are read through
    /// differ from the log (the names and the state are then not compared).
    fn check_names(&mut self) -> Result<Option<BTreeMap<PersonId, String>>, StoreError> {
        if self
            .findings
            .concern(&[Table::PersonPostings, Table::Retractions])
        {
            for table in [Table::Names, Table::State] {
                self.findings.push(Finding {
                    table,
                    subject: Subject::Record("every record".into()),
                    difference: Difference::NotCompared(
                        "the postings names are read through differ from the log".into(),
                    ),
                });
            }
            return Ok(None);
        }
        let ledger = self.ledger;
        let implied: BTreeMap<PersonId, String> = ledger
            .names_at_head()?
            .into_iter()
            .filter_map(|(person, name)| Some((person, name?)))
            .collect();
        let mut stored = BTreeMap::new();
        for item in self.db().scan_prefix([keys::NAME]) {
            let (key, value) = item.map_err(storage(&ledger.path))?;
            stored.insert(key[1..].to_vec(), value.to_vec());
        }
        for (person, name) in &implied {
            let difference = match stored.remove(person.as_str().as_bytes()) {
                Some(value) if value == name.as_bytes() => continue,
                Some(_) => Difference::Different,
                None => Difference::Missing,
            };
            self.findings.push(Finding {
                table: Table::Names,
                subject: Subject::Person(person.as_str().to_owned()),
                difference,
            });
        }
        for person in stored.into_keys() {
            self.findings.push(Finding {
                table: Table::Names,
                subject: Subject::Person(String::from_utf8_lossy(&person).into_owned()),
                difference: Difference::Extra,
            });
        }
        Ok(Some(implied))
    }

    /// Whether the cache's meta record names a cache version older than this one: a ledger
    /// written by an earlier release. Such a cache is never read (every open rebuilds a cache
    /// whose record is not exactly this version at the head) and is not compared: an answer
    /// cannot come from it, and a user who upgrades is not told the ledger was altered.
    fn cache_predates_this_version(&self) -> Result<bool, StoreError> {
        let record = self
            .db()
            .get(keys::META_CACHE)
            .map_err(storage(&self.ledger.path))?;
        Ok(record
            .as_deref()
            .and_then(|bytes| <[u8; 12]>::try_from(bytes).ok())
            .map(|bytes| u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .is_some_and(|version| version < crate::cache::CACHE_VERSION))
    }

    fn check_meta(&mut self) -> Result<(), StoreError> {
        let cache_record = if self.cache_predates_this_version()? {
            None // any earlier version: see cache_predates_this_version
        } else {
            Some(encode_cache_record(self.count).to_vec())
        };
        let expected: [(&[u8], Option<Vec<u8>>); 4] = [
            (keys::META_FORMAT, None), // checked by every open
            (keys::META_HEAD, None),   // checked with the chain
            (keys::META_CACHE, cache_record),
            (keys::META_TREE, Some(self.count.to_be_bytes().to_vec())),
        ];
        let mut seen = BTreeSet::new();
        for item in self.scan(&[keys::META]) {
            let (key, value) = item?;
            let difference = match expected.iter().find(|(k, _)| *k == key.as_ref()) {
                None => Difference::Extra,
                Some((_, want)) => {
                    // Present: never also "missing" below.
                    seen.insert(key.to_vec());
                    match want {
                        Some(want) if want.as_slice() != value.as_ref() => Difference::Different,
                        _ => continue,
                    }
                }
            };
            self.findings.push(Finding {
                table: Table::Meta,
                subject: Subject::Record(key_text(&key)),
                difference,
            });
        }
        for (key, want) in &expected {
            if want.is_some() && !seen.contains(*key) {
                self.findings.push(Finding {
                    table: Table::Meta,
                    subject: Subject::Record(key_text(key)),
                    difference: Difference::Missing,
                });
            }
        }
        Ok(())
    }

    fn check_unknown(&mut self) -> Result<(), StoreError> {
        for prefix in 0..=u8::MAX {
            if keys::WRITTEN.contains(&prefix) {
                continue;
            }
            if let Some(item) = self.scan(&[prefix]).next() {
                let (key, _) = item?;
                self.findings.push(Finding {
                    table: Table::Unknown,
                    subject: Subject::Record(key_text(&key)),
                    difference: Difference::Extra,
                });
            }
        }
        Ok(())
    }
}

/// A key for people: its printable ASCII as is, other bytes as `\xNN`, at most 64 bytes.
fn key_text(key: &[u8]) -> String {
    let mut text: String = key
        .iter()
        .take(64)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    if key.len() > 64 {
        text.push_str("...");
    }
    text
}

/// The stored tree hashes recomputed leaf by leaf, in stored-hash order, with only the right
/// edge of the tree (one hash per level) kept to compute the next.
#[derive(Debug, Default)]
struct TreeStream {
    leaves: u64,
    /// Per level: the last subtree completed there (its index at that level) and its hash.
    frontier: Vec<(u64, Hash)>,
    /// The hashes of the tile being filled.
    tile: Vec<u8>,
    /// The tiles completed so far.
    tiles: u64,
}

impl HashReader for TreeStream {
    type Error = StoreError;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        indexes
            .iter()
            .map(|&index| {
                let (level, n) = split_stored_hash_index(index);
                match self.frontier.get(usize::from(level)) {
                    Some((at, hash)) if *at == n => Ok(*hash),
                    _ => Err(StoreError::OutOfRange(OutOfRange::TreeHash { index })),
                }
            })
            .collect()
    }
}

impl TreeStream {
    /// Adds the next leaf; returns the tile it completes, if any (its number and bytes).
    fn push(&mut self, leaf: Hash) -> Option<(u64, Vec<u8>)> {
        let n = self.leaves;
        // The frontier always holds the siblings asked for: a failure here is a bug.
        let hashes =
            actledger_proof::stored_hashes_for_leaf_hash(n, leaf, &*self).unwrap_or_default();
        for (level, hash) in hashes.iter().enumerate() {
            let at = n >> level;
            match self.frontier.get_mut(level) {
                Some(slot) => *slot = (at, *hash),
                None => self.frontier.push((at, *hash)),
            }
        }
        self.leaves += 1;
        let mut completed = None;
        for hash in hashes {
            self.tile.extend_from_slice(&hash);
            if self.tile.len() == TILE_LEN as usize * 32 {
                completed = Some((self.tiles, std::mem::take(&mut self.tile)));
                self.tiles += 1;
            }
        }
        completed
    }

    /// The last, partial tile, if there is one.
    fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        if self.tile.is_empty() {
            return None;
        }
        self.tiles += 1;
        Some((self.tiles - 1, std::mem::take(&mut self.tile)))
    }

    /// How many tiles the tree has (after [`TreeStream::finish`]).
    fn tiles_written(&self) -> u64 {
        self.tiles
    }
}
