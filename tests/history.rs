//! A deterministic generator of valid histories: acts, appointments, departures, trips and
//! delegations over a few offices, so that a ledger built from it has real timelines to damage
//! and to query.

use std::fmt::Write as _;

/// The offices of every generated history.
pub const OFFICES: [&str; 5] = ["MINDEF", "MEF", "MINSA", "MINJUS", "MINEDU"];

/// The first day of every generated history.
pub const FIRST_DAY: &str = "2020-01-01";

const PEOPLE: usize = 23;

fn day(offset: u32) -> String {
    let start = actledger_core::Day::parse(FIRST_DAY).expect("a valid day");
    actledger_core::Day::from_ordinal(start.ordinal() + offset)
        .expect("generated days stay in range")
        .to_string()
}

/// A history of about `events` events (NDJSON, one event a line), all valid in order.
/// `tag` makes the act ids distinct, so that histories with different tags can be appended
/// to one ledger; their events only name acts of their own tag.
pub fn ndjson(events: usize, tag: &str) -> String {
    let mut out = String::new();
    let mut titular: [Option<usize>; OFFICES.len()] = [None; OFFICES.len()];
    let mut written = 0;
    let mut step: u32 = 0;
    while written < events {
        let act = format!("RS-{tag}{step:05}-PCM");
        let on = day(step * 3);
        let office = (step as usize * 7 + 3) % OFFICES.len();
        let name = OFFICES[office];
        let _ = writeln!(
            out,
            r#"{{"type":"act_issued","act":"{act}","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{on}","title":"Acto {step} ({tag})"}}"#
        );
        written += 1;
        match (step % 6, titular[office]) {
            (0 | 3, _) | (_, None) => {
                let person = (step as usize * 5) % PEOPLE;
                let _ = writeln!(
                    out,
                    r#"{{"type":"appointed","act":"{act}","person":"p-{person}","person_name":"Persona {person}","office":"{name}","on":"{on}"}}"#
                );
                titular[office] = Some(person);
            }
            (1, Some(person)) => {
                let until = day(step * 3 + 2);
                let _ = writeln!(
                    out,
                    r#"{{"type":"trip_authorized","act":"{act}","person":"p-{person}","office":"{name}","from":"{on}","until":"{until}","destination":"Lima"}}"#
                );
                let other = (office + 1) % OFFICES.len();
                if let Some(delegate) = titular[other] {
                    let _ = writeln!(
                        out,
                        r#"{{"type":"duties_delegated","act":"{act}","office":"{name}","delegate":"p-{delegate}","delegate_name":"Persona {delegate}","delegate_office":"{}","from":"{on}"}}"#,
                        OFFICES[other]
                    );
                    written += 1;
                }
            }
            (2, Some(_)) => {
                let until = day(step * 3 + 1);
                let delegate = (step as usize * 11) % PEOPLE;
                let _ = writeln!(
                    out,
                    r#"{{"type":"duties_delegated","act":"{act}","office":"{name}","delegate":"p-{delegate}","from":"{on}","until":"{until}"}}"#
                );
            }
            (4, Some(person)) => {
                let _ = writeln!(
                    out,
                    r#"{{"type":"left_office","act":"{act}","person":"p-{person}","office":"{name}","on":"{on}","reason":"renuncia"}}"#
                );
                titular[office] = None;
            }
            (_, Some(_)) => {
                let earlier = format!("RS-{tag}{:05}-PCM", step.saturating_sub(5));
                if step >= 5 && step % 12 == 5 {
                    let _ = writeln!(
                        out,
                        r#"{{"type":"act_revoked","act":"{act}","revokes":"{earlier}","reason":"deja sin efecto"}}"#
                    );
                } else {
                    written -= 1; // the act alone
                }
            }
        }
        written += 1;
        step += 1;
    }
    out
}

/// The days a generated history of `events` events spans, a sample of them for queries.
pub fn sample_days(events: usize, every: u32) -> Vec<actledger_core::Day> {
    let start = actledger_core::Day::parse(FIRST_DAY).expect("a valid day");
    let span = u32::try_from(events).unwrap_or(u32::MAX).saturating_mul(2) + 10;
    (0..span)
        .step_by(every.max(1) as usize)
        .filter_map(|d| actledger_core::Day::from_ordinal(start.ordinal() + d))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_generated_history_is_valid() {
        let text = super::ndjson(300, "T");
        let batch = actledger_core::parse_batch(text.as_bytes()).expect("it parses");
        assert!(batch.len() >= 300, "{}", batch.len());
        let mut ledger = actledger_core::Engine::new();
        ledger.append(batch).expect("it validates");
    }
}
