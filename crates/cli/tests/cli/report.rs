//! The HTML report, rendered in headless Chromium.

use crate::util::{memphis, stderr, tmp};
use std::path::PathBuf;
use std::process::Command;

const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The first of [`BROWSERS`] on `PATH`.
fn find_chromium() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// What the browser test does: run with the browser, skip (outside CI), or fail with why
/// (in CI, where a skipped check would pass unseen).
fn browser_or_skip(found: Option<PathBuf>, ci: bool) -> Result<Option<PathBuf>, String> {
    match found {
        Some(p) => Ok(Some(p)),
        None if ci => Err(format!(
            "CI is set but none of {BROWSERS:?} is on PATH, so the HTML report cannot be \
             rendered and checked. .ci/run installs it (apt-get install chromium); a CI run \
             without it must not pass as if the report had been checked."
        )),
        None => Ok(None),
    }
}

/// Headless Chromium; `None` (the browser part skipped, loudly) outside CI; a failure in
/// CI (the environment variable `CI` is set). `.ci/run` installs it.
fn chromium() -> Option<PathBuf> {
    match browser_or_skip(find_chromium(), std::env::var_os("CI").is_some()) {
        Ok(Some(p)) => Some(p),
        Ok(None) => {
            // Straight to stderr: libtest captures eprintln! of passing tests, and a skip
            // nobody sees is the problem this guards against.
            use std::io::Write;
            let bar = "!".repeat(78);
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\nSKIPPED: the HTML report was not rendered in a browser: none of \
                 {BROWSERS:?} is on PATH.\nInstall chromium (apt-get install chromium) to \
                 run this check; with CI set, this is a failure.\n{bar}"
            );
            None
        }
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn browser_missing_fails_in_ci_and_skips_outside() {
    let why = browser_or_skip(None, true).unwrap_err();
    assert!(
        why.contains("CI is set") && why.contains("chromium"),
        "{why}"
    );
    assert_eq!(browser_or_skip(None, false), Ok(None));
    let p = PathBuf::from("/usr/bin/chromium");
    assert_eq!(browser_or_skip(Some(p.clone()), true), Ok(Some(p.clone())));
    assert_eq!(browser_or_skip(Some(p.clone()), false), Ok(Some(p)));
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let html = tmp("report.html");
    let o = memphis(&["simulate", "--html", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.len() < 2 << 20, "report is {} bytes", text.len());
    for forbidden in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !text.contains(forbidden),
            "report loads from the network: {forbidden}"
        );
    }
    let Some(browser) = chromium() else { return };
    let profile = tmp("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let png = tmp("report.png");
    let url = format!("file://{}", html.display());
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ];
    let user = format!("--user-data-dir={}", profile.display());
    let shot = format!("--screenshot={}", png.display());
    let out = Command::new(&browser)
        .args(base)
        .args([
            user.as_str(),
            "--window-size=1000,2600",
            shot.as_str(),
            url.as_str(),
        ])
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not blank: many colours and plenty of non-background pixels.
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let mut colours: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    let bg = colours[0];
    let painted = colours.iter().filter(|c| **c != bg).count() as f64 / colours.len() as f64;
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 50 && painted > 0.05,
        "blank page? {} colours, {:.1}% painted",
        colours.len(),
        painted * 100.0
    );
    // The DOM holds the title and every chart.
    let profile2 = tmp("chromium-profile2");
    std::fs::create_dir_all(&profile2).unwrap();
    let user2 = format!("--user-data-dir={}", profile2.display());
    let dom = Command::new(&browser)
        .args(base)
        .args([user2.as_str(), "--dump-dom", url.as_str()])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("memphis report — memphis-405b"),
        "title missing"
    );
    for id in [
        "cards",
        "chart-breakdown",
        "chart-timeline",
        "chart-memory",
        "table-stages",
        "table-fabric",
        "chart-power",
        "chart-goodput",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} missing from the DOM"
        );
    }
}

/// A small job's power reads in kW, as the text report gives it, not as 0.1 MW and
/// rows of 0.00; the header gives the job's GPUs of the cluster's.
#[test]
fn a_small_jobs_report_gives_its_power_in_kw() {
    let html = tmp("small.html");
    let o = memphis(&[
        "simulate",
        "--model",
        "llama3-8b",
        "--cluster",
        "dgx-h100",
        "--gpus",
        "16",
        "--plan",
        "auto",
        "--html",
        html.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("llama3-8b on 16 of a cluster of 10,752 x H100"),
        "header"
    );
    let card = page
        .split("facility power (job · site)")
        .nth(1)
        .and_then(|rest| rest.split("</div><div class=\"v\">").nth(1))
        .and_then(|v| v.split("</div>").next())
        .unwrap();
    assert!(card.contains(" kW · ") && card.ends_with(" MW"), "{card}");
    assert!(!page.contains("<td>0.00</td>"), "a part read 0.00");
}
