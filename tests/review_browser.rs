//! The review page end to end in a real browser: headless Chromium (Debian `chromium` + `chromium-driver`)
//! driven over WebDriver (fantoccini). A draft project is rendered with QA by the real faster-whisper
//! `tiny.en` (see `asr_support`), one chunk always saying the wrong thing (`WS_BOOK_BAD_TAKES_ALL`), so it is
//! flagged. On the page: the flagged chunk is the one shown under "flagged only"; its take plays (the audio
//! element loads); a new take is asked for and appears without a reload; it is chosen; the chapter is
//! approved; read-along follows the player; re-assembly rewrites exactly that chapter's file (the other keeps
//! its bytes and modification time); a later
//! `render` keeps the choice (same bytes, `qa.json` no longer flags the chunk). On failure the chapter view
//! is screenshotted into `target/test-screenshots/`.

mod asr_support;
mod review_support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use review_support::{bytes, Project};

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bin = ["chromedriver", "/usr/bin/chromedriver"]
            .into_iter()
            .find(|b| Command::new(b).arg("--version").output().is_ok())
            .unwrap_or_else(|| {
                panic!("chromedriver is missing: install Debian's `chromium` and `chromium-driver` (scripts/install-deps.sh)")
            });
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=1280,2400"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("cannot start headless Chromium through chromedriver")
}

type Res<T> = Result<T, String>;

fn e<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |err| format!("{what}: {err}")
}

/// Runs a script until it returns true (every 200 ms, at most `secs`).
async fn until(c: &Client, script: &str, secs: u64, what: &str) -> Res<()> {
    for _ in 0..secs * 5 {
        if c.execute(script, vec![]).await.map_err(e("script"))? == serde_json::json!(true) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("timed out waiting until {what}"))
}

async fn js(c: &Client, script: &str) -> Res<serde_json::Value> {
    c.execute(script, vec![]).await.map_err(e("script"))
}

const FLAGGED: &str = "document.querySelector('.chunk[data-flagged=\"true\"]')";

async fn steps(c: &Client, url: &str, p: &Project, review: &review_support::Review) -> Res<()> {
    c.goto(url).await.map_err(e("open the page"))?;
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("a.chapter-link"))
        .await
        .map_err(e("book view"))?;
    let flagged_in_book = js(c, "return document.querySelector('tr[data-chapter=\"0\"]').textContent").await?;
    if !flagged_in_book.as_str().unwrap_or("").contains("1 flagged") {
        return Err(format!(
            "the book view does not show the flagged chunk: {flagged_in_book}"
        ));
    }
    c.find(Locator::Css("tr[data-chapter=\"0\"] a.chapter-link"))
        .await
        .map_err(e("chapter link"))?
        .click()
        .await
        .map_err(e("click chapter"))?;
    until(
        c,
        "return document.querySelectorAll('.chunk').length === 3",
        30,
        "the chapter shows 3 chunks",
    )
    .await?;
    // flagged only: exactly the bad chunk
    c.find(Locator::Id("flagged-only"))
        .await
        .map_err(e("filter"))?
        .click()
        .await
        .map_err(e("filter click"))?;
    until(
        c,
        "return document.querySelectorAll('.chunk').length === 1",
        10,
        "one flagged chunk is shown",
    )
    .await?;
    let text = js(c, &format!("return {FLAGGED}.querySelector('.text').textContent")).await?;
    if text != "Please open the window before the meeting starts." {
        return Err(format!("wrong flagged chunk: {text}"));
    }
    // its take plays: the audio element loads the WAV
    js(c, &format!("const a = {FLAGGED}.querySelector('audio.take-audio'); a.preload = 'auto'; a.load(); a.play().catch(() => {{}}); return true")).await?;
    until(
        c,
        &format!("const a = {FLAGGED}.querySelector('audio.take-audio'); return a.readyState >= 2 && a.duration > 1"),
        30,
        "the take's audio loads",
    )
    .await?;
    let before = js(c, &format!("return {FLAGGED}.querySelectorAll('.take').length")).await?;
    // a new take, which appears without a reload
    js(c, "window.__marker = 42; return true").await?;
    js(
        c,
        &format!("{FLAGGED}.querySelector('button.new-take').click(); return true"),
    )
    .await?;
    until(
        c,
        &format!("const c = document.querySelector('.chunk'); return c !== null && c.querySelectorAll('.take').length === {before} + 1"),
        120,
        "the new take appears",
    )
    .await?;
    let new_take = js(
        c,
        "const t = [...document.querySelectorAll('.chunk .take')].pop(); return Number(t.dataset.take)",
    )
    .await?;
    // choose it: the chunk is no longer flagged (the good take passed QA), so show every chunk again
    js(
        c,
        "[...document.querySelectorAll('.chunk .take')].pop().querySelector('button.use-take').click(); return true",
    )
    .await?;
    until(
        c,
        "return document.querySelectorAll('.chunk').length === 0",
        30,
        "the chosen good take unflags the chunk",
    )
    .await?;
    c.find(Locator::Id("flagged-only"))
        .await
        .map_err(e("filter"))?
        .click()
        .await
        .map_err(e("filter click"))?;
    until(
        c,
        &format!("const t = document.querySelector('.chunk[data-index=\"2\"] .take.chosen'); return t !== null && t.dataset.take === '{new_take}'"),
        30,
        "the new take is the chosen one",
    )
    .await?;
    // approve the chapter
    js(c, "document.getElementById('approve-chapter').click(); return true").await?;
    until(
        c,
        "return document.querySelectorAll('.chunk[data-approved=\"true\"]').length === 3",
        30,
        "every chunk is approved",
    )
    .await?;
    // read-along: a click on the second caption seeks there and highlights it
    until(c, "const a = document.getElementById('chapter-audio'); return a.readyState >= 1 && document.querySelectorAll('#cues p').length >= 3", 30, "the chapter player and captions load").await?;
    js(c, "document.querySelectorAll('#cues p')[1].click(); return true").await?;
    until(
        c,
        "const p = document.querySelector('#cues p.current'); const a = document.getElementById('chapter-audio'); \
         return p !== null && p.dataset.cue === '1' && Math.abs(a.currentTime - Number(p.dataset.start)) < 0.5",
        30,
        "the second caption is highlighted at its time",
    )
    .await?;
    // re-assemble: only chapter 1's file changes
    let ch1 = p.path("out/01 - The Walk.mp3");
    let ch2 = p.path("out/02 - The River.mp3");
    let (b1, b2) = (bytes(&ch1), bytes(&ch2));
    let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let t2 = mtime(&ch2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    js(c, "document.getElementById('reassemble').click(); return true").await?;
    until(c, "const j = document.querySelector('#jobs .job'); return j !== null && j.textContent.includes('re-assemble') && j.dataset.state === 'done'", 180, "re-assembly is done").await?;
    if bytes(&ch1) == b1 {
        return Err("re-assembly did not rewrite chapter 1 with the chosen take".into());
    }
    if bytes(&ch2) != b2 || mtime(&ch2) != t2 {
        return Err("re-assembly rewrote chapter 2, which no choice touched".into());
    }
    if js(c, "return window.__marker").await? != serde_json::json!(42) {
        return Err("the page reloaded".into());
    }
    let jobs = review.wait_jobs();
    if jobs.as_array().unwrap().iter().any(|j| j["state"] == "failed") {
        return Err(format!("a job failed: {jobs}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flagged_chunk_is_heard_retaken_chosen_approved_and_reassembled_in_the_browser() {
    let model = asr_support::ct2_dir("tiny.en").display().to_string();
    let p = Project::new("lexicon: lexicon.yaml\n");
    let qa = ["--qa-model", model.as_str()];
    p.render(&qa, &[("WS_BOOK_BAD_TAKES_ALL", "open the window")]);
    let qa_before: serde_json::Value = serde_json::from_slice(&bytes(&p.path("out/qa.json"))).unwrap();
    assert_eq!(qa_before["flagged"], 1, "{qa_before}");
    let review = p.review(&["--qa-model", &model]);
    let driver = Driver::start();
    let c = browser(driver.port).await;
    let result = steps(&c, &review.url, &p, &review).await;
    if let Err(why) = &result {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = dir.join("review_browser.png");
        if let Ok(png) = c.screenshot().await {
            std::fs::write(&shot, png).unwrap();
        }
        let _ = c.close().await;
        panic!("{why} (screenshot of the page: {})", shot.display());
    }
    c.close().await.unwrap();
    drop(review);
    // a later render keeps the choice: nothing re-synthesised, the same bytes, QA no longer flags the chunk
    let after: Vec<Vec<u8>> = ["out/01 - The Walk.mp3", "out/Review Walk.m4b"]
        .iter()
        .map(|f| bytes(&p.path(f)))
        .collect();
    p.render(&qa, &[]);
    let again: Vec<Vec<u8>> = ["out/01 - The Walk.mp3", "out/Review Walk.m4b"]
        .iter()
        .map(|f| bytes(&p.path(f)))
        .collect();
    assert!(after == again, "a later render changed the reviewed book");
    let qa_after: serde_json::Value = serde_json::from_slice(&bytes(&p.path("out/qa.json"))).unwrap();
    assert_eq!(qa_after["flagged"], 0, "{qa_after}");
    let chunk = &qa_after["chunks"][2];
    assert_eq!(chunk["reviewer_choice"], true, "{chunk}");
    assert_eq!(chunk["approved"], true, "{chunk}");
    // and approval is what --require-approval wants: chapter 1 is published, chapter 2 is not approved
    let code = p.render(&["--require-approval"], &[]);
    assert_eq!(code, 5, "chapter 2 is not approved");
}
