//! Measures the store: append throughput, export, import and verify rates, and bytes on disk
//! per event, for N generated events (default 100,000).
//!
//! ```sh
//! cargo run --release -p actledger-store --example measure -- 100000
//! cargo run --release -p actledger-store --example measure -- --census LEDGER EVENTS
//! ```
//!
//! The second form prints only the table breakdown below, of an existing ledger that no
//! process holds (`EVENTS` divides the bytes).
//!
//! The events are simple and valid: across 30 offices over the years, each act is issued and
//! then used by an appointment, or by a trip of the office's titular with a delegation of its
//! duties to another office's titular. They are appended in batches of 1,000 into a fresh
//! ledger in a temporary folder. For the appended and the imported ledger it also prints where
//! the bytes go: keys and key + value bytes per table (the key's first byte), and sled's own
//! count of its size on disk.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use actledger_core::{Day, parse_batch, who_held};
use actledger_store::{Ledger, Verdict};

const OFFICES: usize = 30;
const BATCH: usize = 1_000;
/// How many times a fresh open and one `who_held` are timed.
const WHO_HELD_RUNS: usize = 9;

/// `n` events as NDJSON lines.
fn generate(n: usize) -> Vec<String> {
    let start = Day::parse("2000-01-03").expect("a valid day").ordinal();
    let mut titular: Vec<Option<String>> = vec![None; OFFICES];
    let mut lines = Vec::with_capacity(n + 3);
    let mut unit = 0usize;
    while lines.len() < n {
        let office = unit % OFFICES;
        let round = unit / OFFICES;
        let day = |offset: usize| {
            Day::from_ordinal(start + u32::try_from(round * 3 + offset).expect("small"))
                .expect("a day before 9999")
        };
        let act = format!("RS-{unit:06}-PCM");
        let mut line = String::new();
        write!(
            line,
            r#"{{"type":"act_issued","act":"{act}","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{}","title":"Resolucion suprema numero {unit}"}}"#,
            day(0)
        )
        .expect("writing to a string");
        lines.push(line);
        let other = (office + 1 + round % (OFFICES - 1)) % OFFICES;
        match (&titular[office], &titular[other]) {
            (Some(person), Some(delegate)) if !round.is_multiple_of(8) => {
                lines.push(format!(
                    r#"{{"type":"trip_authorized","act":"{act}","person":"{person}","office":"OFFICE-{office:02}","from":"{}","until":"{}","destination":"Lima"}}"#,
                    day(1),
                    day(2)
                ));
                lines.push(format!(
                    r#"{{"type":"duties_delegated","act":"{act}","office":"OFFICE-{office:02}","delegate":"{delegate}","delegate_office":"OFFICE-{other:02}","from":"{}","until":"{}"}}"#,
                    day(1),
                    day(2)
                ));
            }
            _ => {
                let person = format!("person-{unit:06}");
                lines.push(format!(
                    r#"{{"type":"appointed","act":"{act}","person":"{person}","person_name":"Person {unit}","office":"OFFICE-{office:02}","office_name":"Office {office}","on":"{}"}}"#,
                    day(0)
                ));
                titular[office] = Some(person);
            }
        }
        unit += 1;
    }
    lines.truncate(n);
    lines
}

/// Bytes on disk under `path`: (apparent size, allocated blocks as `du` counts them).
fn disk_usage(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut apparent = 0;
    let mut allocated = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            let (a, b) = disk_usage(&entry.path())?;
            apparent += a;
            allocated += b;
        } else {
            apparent += meta.len();
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                allocated += meta.blocks() * 512;
            }
            #[cfg(not(unix))]
            {
                allocated += meta.len();
            }
        }
    }
    Ok((apparent, allocated))
}

/// Prints, per table (a key's first byte), its keys and its key and value bytes, then sled's
/// size on disk: the logical bytes are what a layout change moves, the rest is sled's.
fn table_breakdown(path: &Path, n: usize) -> Result<(), Box<dyn Error>> {
    let db = actledger_store::testing::Sled::open(path)?;
    let mut tables: std::collections::BTreeMap<u8, (u64, u64, u64)> = Default::default();
    for item in db.iter() {
        let (key, value) = item?;
        let table = tables.entry(key.first().copied().unwrap_or(0)).or_default();
        table.0 += 1;
        table.1 += key.len() as u64;
        table.2 += value.len() as u64;
    }
    println!("  table       keys   key bytes  value bytes  (key+value)/event");
    let (mut keys, mut bytes) = (0, 0);
    for (table, (count, key_bytes, value_bytes)) in &tables {
        println!(
            "  {:<5} {count:>10} {key_bytes:>11} {value_bytes:>12} {:>18.1}",
            char::from(*table),
            (key_bytes + value_bytes) as f64 / n as f64
        );
        keys += count;
        bytes += key_bytes + value_bytes;
    }
    println!(
        "  all   {keys:>10} {bytes:>24} {:>18.1}",
        bytes as f64 / n as f64
    );
    let on_disk = db.size_on_disk()?;
    println!(
        "  sled size_on_disk: {on_disk} bytes, {:.0} bytes/event ({:.2}x the logical bytes)",
        on_disk as f64 / n as f64,
        on_disk as f64 / bytes as f64
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // `measure --census PATH EVENTS`: the table breakdown of an existing, closed ledger.
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path, events] = &args[..]
        && flag == "--census"
    {
        return table_breakdown(Path::new(path), events.parse()?);
    }
    let n: usize = match args.get(1) {
        Some(arg) => arg.replace(['_', ','], "").parse()?,
        None => 100_000,
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger");
    let lines = generate(n);
    let event_bytes: usize = lines.iter().map(String::len).sum();
    println!(
        "{n} events, {:.1} bytes of JSON each on average, batches of {BATCH}",
        event_bytes as f64 / n as f64
    );

    let mut ledger = Ledger::create(&path)?;
    let started = Instant::now();
    for chunk in lines.chunks(BATCH) {
        let batch = parse_batch(chunk.join("\n").as_bytes())?;
        ledger.append(batch)?;
    }
    let append = started.elapsed().as_secs_f64();
    println!(
        "append:  {:>10.0} events/s ({append:.2} s, parsing included)",
        n as f64 / append
    );
    assert_eq!(ledger.head().count, n as u64);

    let export_path = dir.path().join("export.ndjson");
    let started = Instant::now();
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&export_path)?);
        ledger.export(&mut out, &mut |_| {})?;
    }
    let export = started.elapsed().as_secs_f64();
    let export_bytes = std::fs::metadata(&export_path)?.len();
    println!(
        "export:  {:>10.0} events/s, {:.1} MB/s ({export:.2} s, {export_bytes} bytes)",
        n as f64 / export,
        export_bytes as f64 / 1e6 / export
    );

    let started = Instant::now();
    let verdict = ledger.verify()?;
    let verify = started.elapsed().as_secs_f64();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict}");
    println!(
        "verify:  {:>10.0} events/s, {:.1} MB/s of export-equivalent bytes ({verify:.2} s)",
        n as f64 / verify,
        export_bytes as f64 / 1e6 / verify
    );

    let exported = ledger.head();
    drop(ledger);
    // The first open after the writer is gone costs more than the ones after it: sled replays
    // the log written since its last snapshot and writes a new one. One open is also noise on
    // a shared machine: the first and the median of all say more than either alone.
    let day = Day::parse("2001-06-01")?;
    let mut times = Vec::with_capacity(WHO_HELD_RUNS);
    let mut holder = String::new();
    for _ in 0..WHO_HELD_RUNS {
        let started = Instant::now();
        let ledger = Ledger::open(&path)?;
        let answer = who_held(&ledger, "OFFICE-07", day, None)?;
        times.push(started.elapsed().as_secs_f64());
        drop(ledger);
        holder = answer
            .holder
            .map(|h| h.person.to_string())
            .unwrap_or_else(|| "vacant".into());
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    println!(
        "open + one who-held: {:.1} ms the first time, {:.1} ms median of {WHO_HELD_RUNS}, {:.1} ms fastest ({holder})",
        first * 1e3,
        times[WHO_HELD_RUNS / 2] * 1e3,
        times[0] * 1e3,
    );
    // What a clerk's append costs on a ledger this size: open, one small batch, flushed.
    let started = Instant::now();
    let mut ledger = Ledger::open(&path)?;
    ledger.append(parse_batch(
        br#"{"type":"act_issued","act":"RS-LAST-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2030-01-01"}
{"type":"appointed","act":"RS-LAST-PCM","person":"someone-new","office":"OFFICE-03","on":"2030-01-02"}"#,
    )?)?;
    let small = started.elapsed().as_secs_f64();
    println!(
        "open + append 2 events touching 1 office: {:.1} ms",
        small * 1e3
    );
    drop(ledger);
    let (apparent, allocated) = disk_usage(&path)?;
    println!(
        "on disk: {:.0} bytes/event allocated ({allocated} bytes, as du counts), {:.0} bytes/event apparent",
        allocated as f64 / n as f64,
        apparent as f64 / n as f64
    );
    println!("appended ledger by table:");
    table_breakdown(&path, n)?;

    let copy = dir.path().join("imported");
    let started = Instant::now();
    let imported = {
        let mut input = std::io::BufReader::new(std::fs::File::open(&export_path)?);
        Ledger::import(&copy, &mut input, &mut |_| {})?
    };
    let import = started.elapsed().as_secs_f64();
    assert_eq!(imported.head(), exported);
    println!(
        "import:  {:>10.0} events/s, {:.1} MB/s ({import:.2} s)",
        n as f64 / import,
        export_bytes as f64 / 1e6 / import
    );
    drop(imported);
    let (apparent, allocated) = disk_usage(&copy)?;
    println!(
        "imported ledger on disk: {:.0} bytes/event allocated, {:.0} bytes/event apparent",
        allocated as f64 / n as f64,
        apparent as f64 / n as f64
    );
    println!("imported ledger by table:");
    table_breakdown(&copy, n)?;
    Ok(())
}
