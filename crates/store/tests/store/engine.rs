//! The store answers exactly as the core's in-memory `Engine` does, for the same batches:
//! the same refusals and outcomes, and the same `who_held` (at the head and as of earlier
//! positions), `history` and `anomalies`, before and after reopening.

use actledger_core::{
    Day, Engine, Indexed, Outcome, Recorded, anomalies, history, parse_batch, who_held,
};
use actledger_gen::Rng;
use actledger_store::{Appended, Ledger};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};

use crate::common::scratch;

const OFFICES: [&str; 3] = ["MINDEF", "MEF", "MINSA"];
const PERSONS: [&str; 4] = ["ana", "bruno", "carla", "diego"];
const ACTS: u64 = 5;
const DAYS: u64 = 40;

fn day(offset: u64) -> Day {
    Day::from_ordinal(Day::parse("2024-01-01").unwrap().ordinal() + offset as u32).unwrap()
}

/// What the generator knows of the ledger, to make most events valid.
#[derive(Clone, Default)]
struct World {
    issued: Vec<u64>,
    trips: Vec<(u64, &'static str)>,
    recorded: u64,
}

/// One random event line: mostly valid, sometimes not (the two must refuse the same ones).
fn event(rng: &mut Rng, world: &mut World) -> String {
    let wild = rng.below_u64(30) == 0;
    let unissued: Vec<u64> = (0..ACTS).filter(|a| !world.issued.contains(a)).collect();
    let kind = if !unissued.is_empty() && (world.issued.is_empty() || rng.below_u64(4) == 0) {
        0
    } else {
        1 + rng.below_u64(9)
    };
    let some_act = |rng: &mut Rng, world: &World| {
        if wild || world.issued.is_empty() {
            rng.below_u64(ACTS)
        } else {
            world.issued[rng.below(world.issued.len())]
        }
    };
    let office = *rng.pick(&OFFICES);
    let person = *rng.pick(&PERSONS);
    let from = rng.below_u64(DAYS);
    let until = from + rng.below_u64(8);
    world.recorded += 1;
    match kind {
        0 => {
            let act = if wild {
                rng.below_u64(ACTS)
            } else {
                unissued[rng.below(unissued.len())]
            };
            world.issued.push(act);
            // Re-issuing with other content is refused; the same content is a duplicate.
            let on = if wild { rng.below_u64(3) } else { act % 2 };
            format!(
                r#"{{"type":"act_issued","act":"A-{act}","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{}"}}"#,
                day(on)
            )
        }
        1..=3 => format!(
            r#"{{"type":"appointed","act":"A-{}","person":"{person}","person_name":"{person} {}","office":"{office}","on":"{}"}}"#,
            some_act(rng, world),
            rng.below_u64(3),
            day(from)
        ),
        4 => format!(
            r#"{{"type":"left_office","act":"A-{}","person":"{person}","office":"{office}","on":"{}"}}"#,
            some_act(rng, world),
            day(from)
        ),
        5 => {
            let act = some_act(rng, world);
            world.trips.push((act, office));
            format!(
                r#"{{"type":"trip_authorized","act":"A-{act}","person":"{person}","office":"{office}","from":"{}","until":"{}"}}"#,
                day(from),
                day(until)
            )
        }
        6 => format!(
            r#"{{"type":"duties_delegated","act":"A-{}","office":"{office}","delegate":"{person}","delegate_office":"MINJUS","from":"{}","until":"{}"}}"#,
            some_act(rng, world),
            day(from),
            day(until)
        ),
        7 if !world.trips.is_empty() && !wild => {
            // Bounded by a recorded trip of the same act and office.
            let (act, office) = world.trips[rng.below(world.trips.len())];
            format!(
                r#"{{"type":"duties_delegated","act":"A-{act}","office":"{office}","delegate":"{person}","delegate_name":"{person} {}","from":"{}"}}"#,
                rng.below_u64(3),
                day(from)
            )
        }
        7 | 8 => format!(
            r#"{{"type":"act_revoked","act":"A-{}","revokes":"A-{}"}}"#,
            some_act(rng, world),
            some_act(rng, world)
        ),
        _ => {
            // This event's own position, if the batch so far goes through.
            let own = world.recorded;
            let seq = if wild || own < 2 {
                1 + rng.below_u64(own + 1)
            } else {
                1 + rng.below_u64(own - 1)
            };
            format!(r#"{{"type":"record_retracted","seq":{seq},"reason":"error"}}"#)
        }
    }
}

fn same_outcomes(engine: &[(usize, Outcome)], store: &[(usize, Appended)]) -> bool {
    engine.len() == store.len()
        && engine.iter().zip(store).all(|((l1, o1), (l2, o2))| {
            l1 == l2
                && match (o1, o2) {
                    (Outcome::Recorded(a), Appended::Recorded { seq: b, .. }) => a == b,
                    (Outcome::AlreadyRecorded(a), Appended::AlreadyRecorded { seq: b }) => a == b,
                    _ => false,
                }
        })
}

/// Every answer, as text, at the head and as of a few earlier positions.
fn answers<I: Indexed>(ledger: &I) -> Vec<String> {
    let head = ledger.head();
    let mut as_ofs = vec![None];
    as_ofs.extend(
        [1, head / 3, head / 2, head.saturating_sub(1)]
            .into_iter()
            .filter(|n| *n > 0)
            .map(Some),
    );
    let mut out = Vec::new();
    let offices = ledger.offices().map_err(|e| e.to_string()).unwrap();
    for as_of in as_ofs {
        for office in &offices {
            for d in 0..DAYS + 10 {
                let answer = who_held(ledger, office.as_str(), day(d), as_of);
                out.push(format!("{:?}", answer.map_err(|e| e.to_string())));
            }
            let rows = history(ledger, office.as_str(), as_of);
            out.push(format!("{:?}", rows.map_err(|e| e.to_string())));
        }
        out.push(format!(
            "{:?}",
            anomalies(ledger, as_of).map_err(|e| e.to_string())
        ));
    }
    out
}

fn check(seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let s = scratch();
    let mut store = Ledger::create(&s.path).unwrap();
    let mut engine = Engine::new();
    let mut world = World::default();
    let mut refused = 0;
    for _ in 0..(8 + rng.below_u64(12)) {
        let before = world.clone();
        world.recorded = engine.head();
        let size = 1 + rng.below_u64(6);
        let lines: Vec<String> = (0..size).map(|_| event(&mut rng, &mut world)).collect();
        let input = parse_batch(lines.join("\n").as_bytes()).unwrap();
        let expected = engine.append(input.clone());
        let found = store.append(input);
        match (&expected, &found) {
            (Ok(e), Ok(f)) => {
                let f = crate::common::outcomes(&store, f);
                prop_assert!(same_outcomes(e, &f), "{e:?} vs {f:?}")
            }
            (Err(e), Err(actledger_store::AppendError::Invalid(f))) => {
                prop_assert_eq!(e, f);
                world = before;
                refused += 1;
            }
            _ => prop_assert!(false, "engine {expected:?}, store {found:?}"),
        }
        prop_assert_eq!(store.head().count, engine.head());
    }
    // A history where most batches were refused tests little: it does not count as one of
    // the cases (proptest draws another, and fails if it has to reject too many).
    let recorded = engine.head();
    prop_assume!(
        recorded >= 5,
        "{}",
        format!("only {recorded} events recorded, {refused} batches refused")
    );
    // The cached timelines are the timelines rebuilt from scratch.
    let rebuilt = engine.rebuilt_timelines();
    for office in store.offices().unwrap() {
        let cached = store
            .head_timeline(&office)
            .unwrap()
            .filter(|t| !t.is_empty());
        prop_assert_eq!(cached.as_ref(), rebuilt.get(&office), "office {}", office);
    }
    let expected = answers(&engine);
    prop_assert_eq!(&answers(&store), &expected);
    drop(store);
    let store = Ledger::open(&s.path).unwrap();
    let verdict = store.verify().unwrap();
    prop_assert!(verdict.is_intact(), "{:?}", verdict);
    prop_assert_eq!(&answers(&store), &expected);
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 24, failure_persistence: None, ..Config::default() })]

    #[test]
    fn the_store_answers_as_the_engine_does(seed in any::<u64>()) {
        check(seed)?;
    }
}
