//! A real browser loads the seed case's timeline page: headless Chromium dumps the DOM it
//! built (the bars must be there as SVG rects with their data attributes) and takes
//! screenshots at 1280 and 480 px wide (kept in the target folder, to look at). At both widths,
//! on the seed case and on a crowded office, the page with a measuring script added (saved as
//! a local file: the server's pages have no script) reads the box the browser gave every label
//! of the drawing: no two may intersect, and no label on a bar may run past the bar.
//!
//! The pages `publish` writes into a static mirror are opened the same way, from the folder
//! (`file://`), with no server at all.
//!
//! The browser is `$ACTLEDGER_CHROMIUM` when set, else `chromium` or `chromium-browser` on the
//! `PATH` (`.ci/run` installs Debian's `chromium`). Where there is none:
//! - with the environment variable `CI` set (to anything), the test fails: CI must run it;
//! - elsewhere it passes, saying SKIPPED on the test binary's standard error, which libtest
//!   does not capture, so a plain `cargo test` shows it. On Debian: `apt-get install -y chromium`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use actledger_server::{Server, ServerConfig};

use crate::common::*;

/// Names the browser is installed under, looked up on the `PATH`.
const CHROMIUM_NAMES: [&str; 2] = ["chromium", "chromium-browser"];

/// The browser to run: `$ACTLEDGER_CHROMIUM` if set (even to a file that is missing: that is
/// how the skip is tested), else the first of [`CHROMIUM_NAMES`] on the `PATH`.
fn find_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ACTLEDGER_CHROMIUM") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "ACTLEDGER_CHROMIUM={} is not a file",
                path.display()
            ))
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .flat_map(|dir| CHROMIUM_NAMES.map(|name| dir.join(name)))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("no {} on the PATH", CHROMIUM_NAMES.join(" or ")))
}

/// How long one run of the browser may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

fn chromium(browser: &Path, profile: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    // Read the output on threads, so a full pipe never stalls the browser.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than {BROWSER_TIMEOUT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("reading chromium's output"),
        stderr: err.join().expect("reading chromium's errors"),
    }
}

/// The browser, or `None` when there is none and the test `test` is to pass saying SKIPPED
/// (outside CI; in CI, a missing browser fails the test).
fn browser_for(test: &str) -> Option<PathBuf> {
    match find_chromium() {
        Ok(browser) => Some(browser),
        Err(why) => {
            let message = format!("{test}: {why} (apt-get install -y chromium)");
            assert!(
                std::env::var_os("CI").is_none(),
                "{message}; CI is set, so the browser test must run"
            );
            // Straight to the handle: libtest captures eprintln!, not this, so the skip shows
            // in a plain `cargo test` run.
            let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_seed_case_timeline() {
    let Some(browser) = browser_for("chromium_renders_the_seed_case_timeline") else {
        return;
    };
    let fixture = Fixture::with(&format!("{SEED}\n{}", crowded_office()));
    // The pages to measure, asked before the server holds the ledger.
    let mut measured_pages = Vec::new();
    {
        let app = fixture.app();
        for uri in [
            "/offices/MINDEF?on=2024-06-03",
            "/offices/MININT",
            "/offices/MININT?on=2023-03-20",
        ] {
            let page = get(&app, uri).await;
            assert_eq!(page.status, 200, "{uri}");
            measured_pages.push((uri, page.text().to_owned()));
            let _ = std::fs::write(
                PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("measured-{}.html", measured_pages.len())),
                page.text(),
            );
        }
    }
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let server = Server::bind(config).await.unwrap();
    let base = server.info().url();
    let url = format!("{base}/offices/MINDEF?on=2024-06-03");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let profile = tempfile::tempdir().unwrap();
    let shots: Vec<(u32, PathBuf)> = [1280, 480]
        .into_iter()
        .map(|width| {
            let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("seed-timeline-{width}.png"));
            let _ = std::fs::remove_file(&path);
            (width, path)
        })
        .collect();
    let (dom, shot_runs, measures) = tokio::task::spawn_blocking({
        let profile = profile.path().to_owned();
        let shots = shots.clone();
        move || {
            let dom = chromium(&browser, &profile.join("dom"), &["--dump-dom", &url]);
            let shot_runs: Vec<Output> = shots
                .iter()
                .map(|(width, path)| {
                    chromium(
                        &browser,
                        &profile.join("shot"),
                        &[
                            &format!("--screenshot={}", path.display()),
                            &format!("--window-size={width},900"),
                            &url,
                        ],
                    )
                })
                .collect();
            let mut measures = Vec::new();
            for (uri, page) in &measured_pages {
                for (width, _) in &shots {
                    let measure = measure_labels(&browser, &profile, page, *width);
                    measures.push((*uri, *width, measure));
                }
            }
            (dom, shot_runs, measures)
        }
    })
    .await
    .unwrap();
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    // The DOM the browser built holds the bars, as SVG rects with their data.
    for needle in [
        "<svg",
        r#"<rect class="titular""#,
        r#"data-kind="titular" data-person="walter-astudillo""#,
        r#"<rect class="acting""#,
        r#"data-kind="acting" data-person="jose-arista" data-from="2024-06-02" data-until="2024-06-04""#,
        r#"data-kind="trip" data-person="walter-astudillo" data-from="2024-06-02" data-until="2024-06-04""#,
        r#"data-kind="on" data-day="2024-06-03""#,
        "José Arista Arbildo</strong>, acting",
    ] {
        assert!(
            html.contains(needle),
            "{needle} not in the DOM chromium built:\n{html}"
        );
    }
    for ((width, screenshot), shot) in shots.iter().zip(&shot_runs) {
        assert!(
            shot.status.success(),
            "chromium --screenshot at {width} px failed: {}",
            String::from_utf8_lossy(&shot.stderr)
        );
        let png = std::fs::read(screenshot).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(png.len() > 10_000, "a suspiciously small screenshot");
        println!(
            "screenshot of the seed case at {width} px: {}",
            screenshot.display()
        );
    }
    for (page, width, measure) in measures {
        let labels = measure.unwrap_or_else(|e| panic!("{page} at {width} px: {e}"));
        println!("{page} at {width} px: {labels} labels, none over another or past its bar");
        assert!(
            labels >= 10,
            "{page} at {width} px: only {labels} labels measured"
        );
    }
}

/// The pages `publish` writes, opened from the folder as files (`file://`), with no server: the
/// index and MINDEF's page are built by the browser with the seed case's names, the index's
/// link to MINDEF's page is the file beside it, and the static page's drawing is laid out as
/// cleanly as the server's (no label over another or past its bar).
#[test]
fn chromium_renders_the_static_mirror_pages_from_files() {
    let Some(browser) = browser_for("chromium_renders_the_static_mirror_pages_from_files") else {
        return;
    };
    let fixture = Fixture::seed();
    let site = fixture.dir.path().join("site");
    {
        let ledger = fixture.open();
        let key = actledger_server::SignerKey::from_seed("example.org/browser", [5; 32]).unwrap();
        let signed = actledger_answers::sign_checkpoint(&ledger, &key).unwrap();
        actledger_mirror::publish(&ledger, &site, &signed, &mut |_| {}).unwrap();
    }
    let profile = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("file://{}", site.join(name).display());
    let index = chromium(
        &browser,
        &profile.path().join("index"),
        &["--dump-dom", &url("index.html")],
    );
    let office = chromium(
        &browser,
        &profile.path().join("office"),
        &["--dump-dom", &url("offices/MINDEF.html")],
    );
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("static-MINDEF-1280.png");
    let _ = std::fs::remove_file(&shot);
    let shot_run = chromium(
        &browser,
        &profile.path().join("shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            &url("offices/MINDEF.html"),
        ],
    );
    for (name, run) in [
        ("index", &index),
        ("office", &office),
        ("screenshot", &shot_run),
    ] {
        assert!(
            run.status.success(),
            "chromium on the static {name} failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let index = String::from_utf8_lossy(&index.stdout);
    for needle in [
        "<title>Offices · actledger</title>",
        r#"<a href="offices/MINDEF.html">MINDEF</a>"#,
        "Ministerio de Defensa",
        "Walter Astudillo, titular",
        "José Arista Arbildo, titular",
        r#"data-origin="example.org/browser" data-size="7""#,
    ] {
        assert!(
            index.contains(needle),
            "{needle} not in the DOM chromium built from index.html:\n{index}"
        );
    }
    assert!(site.join("offices/MINDEF.html").is_file());
    let office = String::from_utf8_lossy(&office.stdout);
    for needle in [
        "<title>Ministerio de Defensa (MINDEF) · actledger</title>",
        r#"<a href="../index.html">actledger</a>"#,
        "<svg",
        r#"data-kind="titular" data-person="walter-astudillo""#,
        r#"data-kind="acting" data-person="jose-arista" data-from="2024-06-02" data-until="2024-06-04""#,
        "<td>acting</td><td>José Arista Arbildo</td><td>2024-06-02</td><td>2024-06-04</td>",
        r#"data-origin="example.org/browser" data-size="7""#,
    ] {
        assert!(
            office.contains(needle),
            "{needle} not in the DOM chromium built from offices/MINDEF.html:\n{office}"
        );
    }
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    println!("screenshot of the static MINDEF page: {}", shot.display());
    let page = std::fs::read_to_string(site.join("offices/MINDEF.html")).unwrap();
    for width in [1280, 480] {
        let labels = measure_labels(&browser, profile.path(), &page, width)
            .unwrap_or_else(|e| panic!("the static MINDEF page at {width} px: {e}"));
        assert!(labels >= 5, "only {labels} labels measured at {width} px");
    }
}

/// Lays `page` (its HTML) out in a window `width` px wide, with [`MEASURE`] added at the end
/// of its body, and reads the boxes of the drawing's labels: the number of labels when none
/// intersects another and none runs past its bar, else what is wrong.
fn measure_labels(browser: &Path, profile: &Path, page: &str, width: u32) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("measure.html");
    let Some(end) = page.rfind("</body>") else {
        return Err(format!("no </body> in {page}"));
    };
    std::fs::write(&file, format!("{}{MEASURE}{}", &page[..end], &page[end..])).unwrap();
    let out = chromium(
        browser,
        &profile.join(format!("measure-{width}")),
        &[
            &format!("--window-size={width},900"),
            "--dump-dom",
            &format!("file://{}", file.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .ok_or_else(|| {
            format!(
                "no result in the measuring page:\n{dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let measured: serde_json::Value = serde_json::from_str(&result)
        .map_err(|e| format!("the measuring page said {result:?} ({e})"))?;
    let problems = measured["problems"].as_array().cloned().unwrap_or_default();
    if !problems.is_empty() {
        return Err(format!(
            "{} label problems:\n{}",
            problems.len(),
            problems
                .iter()
                .map(|p| p.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    measured["labels"]
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("the measuring page said {result}"))
}

/// The measuring script, and where it writes: the box of every `<text>` of the drawing (both
/// panels), as the browser laid it out, checked pairwise, and each label on a bar (`in-*`)
/// against the bar it sits on (the rect of its group).
const MEASURE: &str = r#"<pre id="result">not measured</pre>
<script>
(function () {
  var out = document.getElementById("result");
  try {
    var doc = document;
    var svg = doc.querySelector("svg.timeline");
    if (!svg) { out.textContent = "no svg.timeline in the page"; return; }
    var texts = Array.prototype.slice.call(svg.querySelectorAll("text"));
    var boxes = texts.map(function (t) {
      var r = t.getBoundingClientRect();
      return { text: t.textContent, cls: t.getAttribute("class"), l: r.left, r: r.right, t: r.top, b: r.bottom, el: t };
    });
    var problems = [];
    var slack = 0.5;
    function show(b) { return b.cls + " '" + b.text + "' [" + b.l.toFixed(1) + "," + b.r.toFixed(1) + "]x[" + b.t.toFixed(1) + "," + b.b.toFixed(1) + "]"; }
    for (var i = 0; i < boxes.length; i++) {
      var a = boxes[i];
      if (a.r - a.l <= 0) { continue; }
      for (var j = i + 1; j < boxes.length; j++) {
        var b = boxes[j];
        if (b.r - b.l <= 0) { continue; }
        var w = Math.min(a.r, b.r) - Math.max(a.l, b.l);
        var h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
        if (w > slack && h > slack) { problems.push("overlap: " + show(a) + " and " + show(b)); }
      }
      if (/^in-/.test(a.cls || "")) {
        var rect = a.el.parentNode.querySelector("rect");
        if (!rect) { problems.push("no bar for " + show(a)); continue; }
        var bar = rect.getBoundingClientRect();
        if (a.r > bar.right + slack || a.l < bar.left - slack) {
          problems.push("past its bar [" + bar.left.toFixed(1) + "," + bar.right.toFixed(1) + "]: " + show(a));
        }
      }
    }
    out.textContent = JSON.stringify({ labels: boxes.length, problems: problems });
  } catch (e) {
    out.textContent = "the measure failed: " + e;
  }
})();
</script>"#;

/// An office with a crowded history: a dozen titulars, some for days and some for months,
/// with long names, trips and leaves with and without someone in charge, and vacancies
/// between them.
fn crowded_office() -> String {
    let mut events = Vec::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
    let spans = [3, 40, 10, 90, 5, 20, 60, 2, 30, 15, 1, 45];
    for (i, span) in spans.into_iter().enumerate() {
        let act = format!("RS-{:03}-2023-MININT", i + 1);
        let end = day + chrono::Days::new(span - 1);
        events.push(format!(
            r#"{{"type":"act_issued","act":"{act}","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{day}"}}"#
        ));
        events.push(format!(
            r#"{{"type":"appointed","act":"{act}","person":"person-{i}","person_name":"Maximiliano Bartolomé Fernández-Villavicencio {i}","office":"MININT","office_name":"Ministerio del Interior","on":"{day}"}}"#
        ));
        if span >= 20 {
            let from = day + chrono::Days::new(span / 2);
            let until = from + chrono::Days::new(2);
            let trip = format!("RS-{:03}-2023-VIAJE", i + 1);
            events.push(format!(
                r#"{{"type":"act_issued","act":"{trip}","kind":"resolucion_suprema","issuer":"PCM","issued_on":"{from}"}}"#
            ));
            // Every third absence a leave, drawn like a trip and labelled as a leave.
            events.push(if i % 3 == 0 {
                format!(
                    r#"{{"type":"leave_granted","act":"{trip}","person":"person-{i}","office":"MININT","from":"{from}","until":"{until}","reason":"licencia por salud"}}"#
                )
            } else {
                format!(
                    r#"{{"type":"trip_authorized","act":"{trip}","person":"person-{i}","office":"MININT","from":"{from}","until":"{until}","destination":"Santiago de Chile, Chile"}}"#
                )
            });
            if i % 2 == 1 {
                events.push(format!(
                    r#"{{"type":"duties_delegated","act":"{trip}","office":"MININT","delegate":"deputy-{i}","delegate_name":"Rosa María Villanueva Quispe","from":"{from}","until":"{until}"}}"#
                ));
            }
        }
        events.push(format!(
            r#"{{"type":"left_office","act":"{act}","person":"person-{i}","office":"MININT","on":"{end}"}}"#
        ));
        // A vacancy after every third tenure.
        day = end + chrono::Days::new(if i % 3 == 2 { 7 } else { 1 });
    }
    events.join("\n")
}
