//! The HTML report, rendered in headless Chromium.

use crate::util::{memphis, stderr, tmp};
use std::path::PathBuf;
use std::process::Command;

/// Headless Chromium, or None (skipped) outside CI; `.ci/run` installs it.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium installed (.ci/run installs it)"
        );
        eprintln!("skipping the browser test: no chromium on PATH (apt-get install chromium)");
    }
    found
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
