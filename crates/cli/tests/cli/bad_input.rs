//! Bad input through the command line (issue #7): each case gets a clear error naming the
//! line (and the field, where one is at fault), exit code 1, a short message whatever the
//! input's size, nothing on stdout, and the ledger's head unchanged. CRLF is accepted.

use predicates::str::contains;

use crate::Sandbox;

const ACT: &str = r#"{"type":"act_issued","act":"RS-900-2024-PCM","kind":"resolucion_suprema","issuer":"PCM","issued_on":"2024-07-01"}"#;

fn appointed(person: &str, on: &str) -> String {
    format!(
        r#"{{"type":"appointed","act":"RS-900-2024-PCM","person":"{person}","office":"MINDEF","on":"{on}"}}"#
    )
}

/// Appends `input` from stdin and checks the refusal: exit 1, `error: line N: ` then `field`
/// (if any) and `reason`, a message of at most `max` bytes, and the head unchanged.
fn refused(s: &Sandbox, input: Vec<u8>, line: usize, field: Option<&str>, reason: &str) {
    let before = s.head();
    let assert = s
        .cmd()
        .args(["append", "-"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    let mut start = format!("error: line {line}: ");
    if let Some(field) = field {
        start.push_str(&format!("field \"{field}\": "));
    }
    assert!(
        stderr.starts_with(&start),
        "expected {start:?}…, got {stderr:?}"
    );
    assert!(stderr.contains(reason), "expected {reason:?} in {stderr:?}");
    assert!(stderr.len() <= 400, "{} bytes: {stderr:.500}", stderr.len());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(s.head(), before, "a refused input changed the ledger");
}

#[test]
fn malformed_json_names_the_line() {
    let s = Sandbox::seeded();
    let input = format!("{ACT}\n{}\n", r#"{"type":"appointed","act":"#);
    refused(&s, input.into_bytes(), 2, None, "malformed JSON");
    let input = format!("{ACT}\n\n{}\n", r#"{"type":"appointed",,}"#);
    refused(&s, input.into_bytes(), 3, None, "malformed JSON");
}

#[test]
fn a_ten_megabyte_line_is_refused_fast_with_a_short_message() {
    let s = Sandbox::seeded();
    let title = "x".repeat(10 * 1024 * 1024);
    let input = format!(
        r#"{ACT}
{{"type":"act_issued","act":"RS-901-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-07-01","title":"{title}"}}
"#
    );
    let started = std::time::Instant::now();
    refused(&s, input.into_bytes(), 2, None, "at most 65000 are allowed");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // Over 64 KiB on one line with no newline at all, and a 10 MB pretty-printed object.
    refused(&s, vec![b'{'; 10 * 1024 * 1024], 1, None, "bytes long");
    let mut pretty = b"{\n  \"type\": \"act_issued\",\n  \"title\": \"".to_vec();
    pretty.extend(std::iter::repeat_n(b'y', 10 * 1024 * 1024));
    pretty.extend_from_slice(b"\"\n}\n");
    refused(&s, pretty, 1, None, "bytes long");
}

#[test]
fn deeply_nested_json_is_refused() {
    let s = Sandbox::seeded();
    let nested = format!(
        r#"{{"type":"act_issued","act":"RS-902-2024-PCM","kind":"ley","issuer":"PCM","issued_on":"2024-07-01","title":{}1{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    // A nested value is skipped without recursion (no stack to exhaust), and named.
    refused(
        &s,
        nested.into_bytes(),
        1,
        Some("title"),
        "expected a string, found an array",
    );
    let objects = format!(
        r#"{{"type":"act_issued","x":{}1{}}}"#,
        r#"{"a":"#.repeat(8_000),
        "}".repeat(8_000)
    );
    refused(
        &s,
        objects.into_bytes(),
        1,
        Some("x"),
        "is not a field of act_issued",
    );
    let unclosed = format!(r#"{{"type":"act_issued","x":{}"#, r#"{"a":"#.repeat(8_000));
    refused(&s, unclosed.into_bytes(), 1, None, "malformed JSON");
}

#[test]
fn invalid_utf8_a_nul_byte_and_a_byte_order_mark_are_refused() {
    let s = Sandbox::seeded();
    let mut input = format!("{ACT}\n").into_bytes();
    input.extend_from_slice(b"{\"type\":\"appointed\",\"act\":\"RS-900-2024-PCM\",\"person\":\"jos\xe9\",\"office\":\"MINDEF\",\"on\":\"2024-07-02\"}\n");
    refused(&s, input, 2, None, "not valid UTF-8");
    // A raw NUL byte inside a string, and one escaped.
    let raw = format!("{ACT}\n{}\n", appointed("a\0b", "2024-07-02"));
    refused(&s, raw.into_bytes(), 2, None, "control character");
    let escaped = format!("{ACT}\n{}\n", appointed("a\\u0000b", "2024-07-02"));
    refused(&s, escaped.into_bytes(), 2, Some("person"), "");
    let titled = ACT.replace(r#""issued_on""#, r#""title":"a\u0000b","issued_on""#);
    refused(
        &s,
        titled.into_bytes(),
        1,
        Some("title"),
        "control character",
    );
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(ACT.as_bytes());
    refused(&s, bom, 1, None, "byte-order mark");
}

#[test]
fn crlf_line_endings_are_accepted() {
    let s = Sandbox::seeded();
    let before = s.head();
    let input = format!("{ACT}\r\n{}\r\n\r\n", appointed("ana-maria", "2024-07-02"));
    s.cmd()
        .args(["append", "-"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout(contains("line 2: recorded at 9"));
    assert_ne!(s.head(), before);
}

#[test]
fn an_empty_input_is_refused() {
    let s = Sandbox::seeded();
    for input in ["", "\n\n", "  \r\n\t\n"] {
        refused(&s, input.as_bytes().to_vec(), 1, None, "holds no event");
    }
}

#[test]
fn numbers_where_strings_belong_and_strings_where_numbers_belong() {
    let s = Sandbox::seeded();
    let number = ACT.replace(r#""issuer":"PCM""#, r#""issuer":5"#);
    refused(
        &s,
        number.into_bytes(),
        1,
        Some("issuer"),
        "expected a string, found a number",
    );
    let input = format!(
        "{ACT}\n{}\n",
        r#"{"type":"record_retracted","seq":"3","reason":"error"}"#
    );
    refused(
        &s,
        input.into_bytes(),
        2,
        Some("seq"),
        "expected a positive integer",
    );
    let input = r#"{"type":"record_retracted","seq":3.0,"reason":"error"}"#;
    refused(
        &s,
        input.as_bytes().to_vec(),
        1,
        Some("seq"),
        "not a positive integer",
    );
    let input =
        r#"{"type":"act_issued","act":null,"kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#;
    refused(&s, input.as_bytes().to_vec(), 1, Some("act"), "is null");
}

#[test]
fn an_id_of_ten_thousand_characters_is_refused_with_a_short_message() {
    let s = Sandbox::seeded();
    let long = "p".repeat(10_000);
    let input = format!("{ACT}\n{}\n", appointed(&long, "2024-07-02"));
    refused(&s, input.into_bytes(), 2, Some("person"), "bytes in all");
    let act = ACT.replace("RS-900-2024-PCM", &"A".repeat(10_000));
    refused(&s, act.into_bytes(), 1, Some("act"), "");
}

#[test]
fn impossible_and_misshapen_dates_are_refused() {
    let s = Sandbox::seeded();
    for date in [
        "2024-13-01",
        "0000-00-00",
        "+002024-06-01",
        "2024-02-30",
        "2024-6-1",
        "2024-06-01T00:00:00Z",
        "10000-01-01",
        "",
    ] {
        let input = format!("{ACT}\n{}\n", appointed("ana-maria", date));
        refused(&s, input.into_bytes(), 2, Some("on"), "");
    }
}

#[test]
fn a_duplicate_key_is_refused() {
    let s = Sandbox::seeded();
    let input = format!(
        "{ACT}\n{}\n",
        r#"{"type":"appointed","act":"RS-900-2024-PCM","person":"a","person":"b","office":"MINDEF","on":"2024-07-02"}"#
    );
    refused(&s, input.into_bytes(), 2, Some("person"), "appears twice");
    let input = r#"{"type":"act_issued","type":"act_issued","act":"A","kind":"ley","issuer":"PCM","issued_on":"2024-01-01"}"#;
    refused(
        &s,
        input.as_bytes().to_vec(),
        1,
        Some("type"),
        "appears twice",
    );
}

#[test]
fn a_bad_export_line_is_refused_by_import_naming_the_line() {
    let s = Sandbox::seeded();
    let export = s.run(&["export"]).success().get_output().stdout.clone();
    let text = String::from_utf8(export).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen("\"seq\":4", "\"seq\":04", 1);
    let bad = s.write("bad.ndjson", &(lines.join("\n") + "\n"));
    let target = s.dir.path().join("imported.db");
    s.cmd()
        .args([
            "--ledger",
            target.to_str().unwrap(),
            "import",
            bad.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("error: line 4: "));
    assert!(!target.exists());
}

/// A batch of 12,000 acts from standard input: more than one part of an append (10,000 events).
fn acts_past_a_part() -> Vec<String> {
    (0..12_000)
        .map(|i| {
            format!(
                r#"{{"type":"act_issued","act":"RS-{i}-2030-PCM","kind":"ley","issuer":"PCM","issued_on":"2030-01-01"}}"#
            )
        })
        .collect()
}

#[test]
fn an_error_late_in_a_batch_larger_than_a_part_changes_nothing() {
    let s = Sandbox::seeded();
    // Refused by its rules, in the second part: the first part, written, is taken back out.
    let mut lines = acts_past_a_part();
    lines[11_990] = ACT.replace("2024-07-01", "2024-07-02");
    lines[11_989] = ACT.to_owned();
    refused(
        &s,
        lines.join("\n").into_bytes(),
        11_991,
        Some("act"),
        "already issued with different content",
    );
    // Refused in the first part, with malformed JSON further on: the malformed line is the
    // one reported, as when the whole input was parsed first.
    let mut lines = acts_past_a_part();
    lines[10] = appointed("nobody", "2030-01-01").replace("RS-900-2024-PCM", "NEVER");
    lines[11_995] = r#"{"type":"act_issued","#.to_owned();
    refused(
        &s,
        lines.join("\n").into_bytes(),
        11_996,
        None,
        "malformed JSON",
    );
    // The same batch, whole and right, is recorded: every line said, then the summary.
    let before = s.head();
    let output = s
        .cmd()
        .args(["append", "-"])
        .write_stdin(acts_past_a_part().join("\n"))
        .assert()
        .success()
        .stderr("");
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 12_001);
    assert!(stdout.starts_with("line 1: recorded at "), "{stdout:.200}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("12000 events recorded, 0 already recorded; head "),
        "{stdout:.200}"
    );
    assert_ne!(s.head(), before);
}
