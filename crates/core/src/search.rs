//! Finding offices by what a person types: an id or a name, in any case, with or without
//! accents. `offices QUERY` keeps the offices that [`contains`] the query; an unknown office
//! is answered with the known ones [`suggest`] finds close to it.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::id::OfficeId;

/// The most offices a suggestion names.
const MAX_SUGGESTIONS: usize = 5;

/// `text` as searches compare it: canonically decomposed, combining marks (accents) dropped,
/// lower case. "Ministerio de Defensa" and "MINISTERIO DE DEFENSA" fold alike, "Perú" to
/// "peru".
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the office's id or name contains `query`, case and accents ignored. An empty
/// query is contained in every office.
pub fn contains(query: &str, office: &OfficeId, name: Option<&str>) -> bool {
    let query = fold(query);
    fold(office.as_str()).contains(&query) || name.is_some_and(|n| fold(n).contains(&query))
}

/// How close a known office is to what was asked; lower is closer.
fn closeness(query: &str, office: &OfficeId, name: Option<&str>) -> Option<usize> {
    let id = fold(office.as_str());
    let name = name.map(fold);
    let texts = || std::iter::once(id.as_str()).chain(name.as_deref());
    if texts().any(|text| text == query) {
        return Some(0);
    }
    // A part of the id or of the name ("MINDEF" for "PE-MINDEF", "defensa" for "Ministerio
    // de Defensa"), or the id inside what was asked ("PE-MINDEF-2" for "MINDEF"). Too short a
    // text would match nearly everything.
    let long_enough = |text: &str| text.chars().count() >= 3;
    if long_enough(query) && texts().any(|text| text.contains(query))
        || long_enough(&id) && query.contains(&id)
    {
        return Some(1);
    }
    // A typo of the id or of the name.
    texts()
        .filter_map(|text| {
            let distance = strsim::damerau_levenshtein(query, text);
            (distance <= 2.max(text.chars().count() / 4)).then_some(2 + distance)
        })
        .min()
}

/// The known offices close to `asked`, closest first (then by id), at most five: those whose
/// id or name equals it, contains it or is contained in it, or is within a few typos of it,
/// case and accents ignored. `known` pairs each office with its latest name, if any.
pub fn suggest(asked: &str, known: &[(OfficeId, Option<String>)]) -> Vec<OfficeId> {
    let query = fold(asked.trim());
    if query.is_empty() {
        return Vec::new();
    }
    let mut close: Vec<(usize, &OfficeId)> = known
        .iter()
        .filter_map(|(office, name)| {
            closeness(&query, office, name.as_deref()).map(|rank| (rank, office))
        })
        .collect();
    close.sort();
    close
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, office)| office.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<(OfficeId, Option<String>)> {
        [
            ("PE-MINDEF", Some("Ministerio de Defensa")),
            ("PE-MEF", Some("Ministerio de Economía y Finanzas")),
            ("PE-MINSA", Some("Ministerio de Salud")),
            ("PE-PCM", None),
        ]
        .into_iter()
        .map(|(id, name)| (OfficeId::new(id).expect("an id"), name.map(str::to_owned)))
        .collect()
    }

    fn ids(found: &[OfficeId]) -> Vec<&str> {
        found.iter().map(OfficeId::as_str).collect()
    }

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(fold("Ministerio de ECONOMÍA"), "ministerio de economia");
        assert_eq!(fold("Perú"), "peru");
        assert_eq!(fold("Peru\u{301}"), "peru");
    }

    #[test]
    fn a_name_a_part_of_an_id_or_a_typo_finds_the_office() {
        let known = known();
        assert_eq!(
            ids(&suggest("Ministerio de Defensa", &known)),
            ["PE-MINDEF"]
        );
        assert_eq!(
            ids(&suggest("ministerio de defensa", &known)),
            ["PE-MINDEF"]
        );
        assert_eq!(ids(&suggest("MINDEF", &known)), ["PE-MINDEF"]);
        assert_eq!(ids(&suggest("pe-mindef", &known)), ["PE-MINDEF"]);
        assert_eq!(ids(&suggest("PE-MINDFE", &known)), ["PE-MINDEF"]);
        assert_eq!(ids(&suggest("economia", &known))[0], "PE-MEF");
        assert_eq!(ids(&suggest("Ministerio de Salúd", &known))[0], "PE-MINSA");
        assert!(suggest("Tribunal Constitucional", &known).is_empty());
        assert!(suggest("  ", &known).is_empty());
    }

    #[test]
    fn the_closest_come_first() {
        let known = known();
        let found = suggest("ministerio", &known);
        assert_eq!(ids(&found), ["PE-MEF", "PE-MINDEF", "PE-MINSA"]);
        assert_eq!(ids(&suggest("PE-MINSA", &known))[0], "PE-MINSA");
    }

    #[test]
    fn contains_ignores_case_and_accents() {
        let known = known();
        let (mef, name) = &known[1];
        assert!(contains("economia", mef, name.as_deref()));
        assert!(contains("ECONOMÍA", mef, name.as_deref()));
        assert!(contains("pe-m", mef, name.as_deref()));
        assert!(contains("", mef, None));
        assert!(!contains("defensa", mef, name.as_deref()));
    }
}
