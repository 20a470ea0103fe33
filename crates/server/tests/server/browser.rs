//! A real browser loads the seed case's timeline page: headless Chromium dumps the DOM it
//! built (the bars must be there as SVG rects with their data attributes) and takes a
//! screenshot (kept in the target folder, to look at).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_seed_case_timeline() {
    let browser = match find_chromium() {
        Ok(browser) => browser,
        Err(why) => {
            let message = format!(
                "chromium_renders_the_seed_case_timeline: {why} (apt-get install -y chromium)"
            );
            assert!(
                std::env::var_os("CI").is_none(),
                "{message}; CI is set, so the browser test must run"
            );
            // Straight to the handle: libtest captures eprintln!, not this, so the skip shows
            // in a plain `cargo test` run.
            let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
            return;
        }
    };
    let fixture = Fixture::seed();
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::new(fixture.path())
    };
    let server = Server::bind(config).await.unwrap();
    let url = format!("{}/offices/MINDEF?on=2024-06-03", server.info().url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let profile = tempfile::tempdir().unwrap();
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("seed-timeline.png");
    let _ = std::fs::remove_file(&screenshot);
    let (dom, shot) = tokio::task::spawn_blocking({
        let profile = profile.path().to_owned();
        let screenshot = screenshot.clone();
        move || {
            let dom = chromium(&browser, &profile, &["--dump-dom", &url]);
            let shot = chromium(
                &browser,
                &profile,
                &[
                    &format!("--screenshot={}", screenshot.display()),
                    "--window-size=1200,800",
                    &url,
                ],
            );
            (dom, shot)
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
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "a suspiciously small screenshot");
    println!("screenshot of the seed case: {}", screenshot.display());
}
