//! Podcast projects end to end with the espeak-ng draft engine: feed.xml (parsed with roxmltree) against the
//! encoded files (sizes, ffprobe durations, in-file chapters), reuse across runs, byte-identical feeds, a new
//! episode synthesising only its chunks, and transcript cues placed exactly on the assembled timeline.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::Output;

use render_support::{bin, ffprobe};

const ITUNES: &str = "http://www.itunes.com/dtds/podcast-1.0.dtd";
const PODCAST: &str = "https://podcastindex.org/namespace/1.0";

/// A temp copy of `projects/podcast-demo`.
struct Podcast {
    dir: tempfile::TempDir,
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != ".ws-book" && e.file_name() != "out" {
                copy_dir(&e.path(), &to);
            }
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

impl Podcast {
    fn new() -> Podcast {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("projects/podcast-demo"),
            &dir.path().join("podcast-demo"),
        );
        Podcast { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("podcast-demo")
    }
    fn yaml(&self) -> String {
        self.root().join("project.yaml").display().to_string()
    }
    fn out(&self) -> PathBuf {
        self.root().join("out")
    }
    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(bin())
            .args(args)
            .env("WS_BOOK_HOME", self.dir.path().join("home"))
            .env_remove("WS_BOOK_FAIL_CHUNKS")
            .output()
            .unwrap()
    }
    fn render(&self) -> serde_json::Value {
        let y = self.yaml();
        let out = self.run(&["render", &y, "--engine", "espeak", "--json", "--progress", "quiet"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stderr: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
    fn plan(&self) -> serde_json::Value {
        let y = self.yaml();
        let out = self.run(&["plan", &y, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, ns: Option<&str>, name: &str) -> roxmltree::Node<'a, 'i> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == ns)
        .unwrap_or_else(|| panic!("<{name}> ({ns:?}) missing under <{}>", n.tag_name().name()))
}

fn text(n: roxmltree::Node, ns: Option<&str>, name: &str) -> String {
    child(n, ns, name).text().unwrap_or("").to_string()
}

fn hms(s: &str) -> f64 {
    s.split(':').fold(0.0, |a, p| a * 60.0 + p.parse::<f64>().unwrap())
}

/// Checks every tag Apple Podcasts requires, and each enclosure against its file; returns the item titles.
fn check_feed(p: &Podcast, plan: &serde_json::Value) -> Vec<String> {
    let xml = std::fs::read_to_string(p.out().join("feed.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("feed.xml is well-formed XML");
    let rss = doc.root_element();
    assert_eq!(rss.tag_name().name(), "rss");
    assert_eq!(rss.attribute("version"), Some("2.0"));
    let ch = child(rss, None, "channel");
    assert_eq!(text(ch, None, "title"), "Lighthouse Notes");
    assert!(text(ch, None, "description").contains("lighthouse"));
    assert_eq!(text(ch, None, "language"), "en");
    assert_eq!(text(ch, None, "link"), "https://example.com/lighthouse-notes/");
    assert_eq!(text(ch, Some(ITUNES), "author"), "ws-book contributors");
    assert_eq!(text(ch, Some(ITUNES), "explicit"), "false");
    let img = child(ch, Some(ITUNES), "image").attribute("href").unwrap();
    assert_eq!(img, "https://example.com/lighthouse-notes/cover.png");
    assert!(p.out().join("cover.png").is_file());
    let cat = child(ch, Some(ITUNES), "category");
    assert_eq!(cat.attribute("text"), Some("Arts"));
    assert_eq!(child(cat, Some(ITUNES), "category").attribute("text"), Some("Books"));
    let owner = child(ch, Some(ITUNES), "owner");
    assert_eq!(text(owner, Some(ITUNES), "email"), "podcast@example.com");
    assert!(!text(owner, Some(ITUNES), "name").is_empty());
    let items: Vec<_> = ch.children().filter(|c| c.has_tag_name("item")).collect();
    let n_episodes = plan["chapters"].as_array().unwrap().len();
    assert_eq!(items.len(), n_episodes);
    let mut titles = Vec::new();
    let mut last_date = None;
    for item in &items {
        titles.push(text(*item, None, "title"));
        // itunes:season / itunes:episode from the front matter, absent where the front matter has none
        let (season, episode) = match titles.last().unwrap().as_str() {
            "First Light" => (Some("1"), Some("1")),
            "The Visitor" => (Some("1"), Some("2")),
            "Storm Season" => (Some("1"), Some("3")),
            _ => (None, None),
        };
        let opt = |name: &str| {
            item.children()
                .find(|c| c.has_tag_name((ITUNES, name)))
                .map(|n| n.text().unwrap_or("").to_string())
        };
        assert_eq!(opt("season").as_deref(), season, "{:?}", titles.last());
        assert_eq!(opt("episode").as_deref(), episode, "{:?}", titles.last());
        assert!(!text(*item, None, "description").is_empty());
        let date = text(*item, None, "pubDate");
        assert!(date.ends_with("+0000"), "{date}");
        last_date.get_or_insert(date);
        let guid = text(*item, None, "guid");
        assert!(guid.starts_with("https://example.com/lighthouse-notes/"), "{guid}");
        let enc = child(*item, None, "enclosure");
        assert_eq!(enc.attribute("type"), Some("audio/mpeg"));
        let url = enc.attribute("url").unwrap();
        let name = url.strip_prefix("https://example.com/lighthouse-notes/").unwrap();
        let file = p.out().join(name);
        let len: u64 = enc.attribute("length").unwrap().parse().unwrap();
        assert_eq!(
            len,
            std::fs::metadata(&file).unwrap().len(),
            "enclosure length of {name}"
        );
        let probe = ffprobe(&file, &["-show_format", "-show_chapters", "-show_streams"]);
        let probed: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
        let dur = hms(&text(*item, Some(ITUNES), "duration"));
        assert!(
            (dur - probed).abs() <= 1.0,
            "{name}: itunes:duration {dur} s, ffprobe {probed} s"
        );
        assert_eq!(probe["streams"][0]["codec_name"], "mp3");
        // In-file chapter markers: one per heading of the episode.
        let stem = name.strip_suffix(".mp3").unwrap();
        let planned = plan["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["file_stem"] == stem)
            .unwrap();
        let sections = planned["sections"].as_array().unwrap();
        let chapters = probe["chapters"].as_array().unwrap();
        assert_eq!(chapters.len(), sections.len(), "{name}: chapter markers {chapters:?}");
        for (c, s) in chapters.iter().zip(sections) {
            assert_eq!(c["tags"]["title"], s["title"]);
        }
        let chap = child(*item, Some(PODCAST), "chapters");
        assert_eq!(chap.attribute("type"), Some("application/json+chapters"));
        assert!(p.out().join(format!("{stem}.chapters.json")).is_file());
        let transcripts: Vec<_> = item
            .children()
            .filter(|c| c.has_tag_name((PODCAST, "transcript")))
            .collect();
        assert_eq!(transcripts.len(), 2);
        for t in transcripts {
            let u = t.attribute("url").unwrap();
            let f = u.strip_prefix("https://example.com/lighthouse-notes/").unwrap();
            assert!(p.out().join(f).is_file(), "{f}");
        }
    }
    // lastBuildDate is the newest episode's date (items are newest first).
    assert_eq!(Some(text(ch, None, "lastBuildDate")), last_date);
    titles
}

#[test]
fn podcast_demo_feed_reuse_and_a_new_episode() {
    let p = Podcast::new();
    let plan = p.plan();
    let v = p.render();
    assert_eq!(v["complete"], true);
    assert!(v["chunks"]["synthesized"].as_u64().unwrap() > 6);
    assert_eq!(v["feed"]["episodes"], 3);
    // Podcast loudness preset by default, at the mono target (−19 LUFS; −16 is for stereo files).
    for q in v["qc"].as_array().unwrap() {
        let lufs = q["lufs"].as_f64().unwrap();
        assert!((lufs + 19.0).abs() <= 1.0, "{lufs} LUFS");
        // read back independently: one channel, and FFmpeg's own EBU R128 meter agrees
        let file = p.out().join(q["path"].as_str().unwrap());
        let info = ffprobe(&file, &["-show_streams"]);
        assert_eq!(info["streams"][0]["channels"], 1, "{info}");
        let o = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-i"])
            .arg(&file)
            .args(["-af", "ebur128", "-f", "null", "-"])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&o.stderr);
        let i = log
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("I:"))
            .and_then(|v| v.trim().trim_end_matches("LUFS").trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no integrated loudness in {log}"));
        assert!((i + 19.0).abs() <= 1.0, "ffmpeg ebur128: {i} LUFS");
        assert!(q["peak_db"].as_f64().unwrap() <= -1.0, "{q}");
        assert_eq!(q["pass"], true, "{q}");
    }
    let titles = check_feed(&p, &plan);
    assert_eq!(titles, ["Storm Season", "The Visitor", "First Light"]);
    let feed1 = std::fs::read(p.out().join("feed.xml")).unwrap();

    // Second run: nothing synthesised, feed byte-identical.
    let v2 = p.render();
    assert_eq!(v2["chunks"]["synthesized"], 0);
    assert_eq!(std::fs::read(p.out().join("feed.xml")).unwrap(), feed1);

    // A new post: only its chunks are synthesised.
    std::fs::write(
        p.root().join("episodes/04-calm-water.md"),
        "---\ntitle: Calm Water\ndate: 2024-05-22\ndescription: After the storm.\n---\n\n# Morning\n\n\
         The sea lay flat and grey. The keeper slept until noon.\n",
    )
    .unwrap();
    let plan4 = p.plan();
    let new_chunks = plan4["chapters"][3]["chunks"].as_array().unwrap().len() as u64;
    assert_eq!(plan4["chapters"][3]["title"], "Calm Water");
    let v3 = p.render();
    assert_eq!(v3["chunks"]["synthesized"].as_u64().unwrap(), new_chunks);
    assert_eq!(check_feed(&p, &plan4)[0], "Calm Water");

    // Editing one sentence re-synthesises only the chunk holding it.
    let ep = p.root().join("episodes/01-first-light.md");
    let s = std::fs::read_to_string(&ep).unwrap();
    std::fs::write(&ep, s.replace("The lamp was still warm.", "The lamp was still hot.")).unwrap();
    let v4 = p.render();
    assert_eq!(v4["chunks"]["synthesized"], 1);
}

#[test]
fn transcript_cues_sit_on_the_assembled_chunk_offsets() {
    let p = Podcast::new();
    let plan = p.plan();
    p.render();
    // The chunk audio as stored (the workers' output), read through the library's store API.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = p.root().join(".ws-book/state.db").display().to_string();
    let (states, lens) = rt.block_on(async {
        let store = ws_book::store::Store::open(&db).await.unwrap();
        let info = store.render("podcast-demo/project.yaml").await.unwrap();
        let states = store.chunk_states(info.id).await.unwrap();
        let mut lens = Vec::new();
        for s in &states {
            let a = store.audio(&s.store_key).await.unwrap().unwrap();
            lens.push((a.samples.len() as f64, a.sample_rate as f64));
        }
        store.close().await;
        (states, lens)
    });
    // Pauses of the project (defaults): head 750 ms, sentence 350 ms, paragraph 800 ms.
    let (head, sentence, paragraph) = (0.75, 0.35, 0.8);
    for (ci, ch) in plan["chapters"].as_array().unwrap().iter().enumerate() {
        let stem = ch["file_stem"].as_str().unwrap();
        let vtt = std::fs::read_to_string(p.out().join(format!("{stem}.vtt"))).unwrap();
        assert!(vtt.starts_with("WEBVTT"));
        let cues = ws_book::publish::transcript::parse_vtt(&vtt);
        let chunks = ch["chunks"].as_array().unwrap();
        // Expected start of each chunk: head + previous chunks + their pauses, built from the stored lengths.
        let mut t = head;
        let mut cue = 0;
        let mut written = Vec::new();
        for (k, c) in chunks.iter().enumerate() {
            let i = states
                .iter()
                .position(|s| s.chapter as usize == ci && s.index as usize == k)
                .unwrap();
            let (n, rate) = lens[i];
            let sentences = c["captions"].as_array().unwrap();
            let (start, speaker, _) = &cues[cue];
            assert!(
                (start - t).abs() <= 0.0015,
                "episode {ci} chunk {k}: cue at {start} s, chunk at {t} s on the assembled timeline"
            );
            assert_eq!(speaker.as_deref(), c["speaker"].as_str());
            for s in sentences {
                written.push(s.as_str().unwrap().to_string());
            }
            cue += sentences.len();
            t += n / rate;
            if k + 1 < chunks.len() {
                t += if c["paragraph_end"].as_bool().unwrap() {
                    paragraph
                } else {
                    sentence
                };
            }
        }
        assert_eq!(cue, cues.len(), "one cue per sentence");
        let cue_text: Vec<String> = cues.iter().map(|c| c.2.clone()).collect();
        assert_eq!(
            cue_text.join(" "),
            written.join(" "),
            "cue text = the episode's written text"
        );
        // SRT carries the same cues.
        let srt = std::fs::read_to_string(p.out().join(format!("{stem}.srt"))).unwrap();
        assert_eq!(srt.matches(" --> ").count(), cues.len());
        // Chapters JSON: one entry per heading, the second at its first chunk's cue.
        let cj: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.out().join(format!("{stem}.chapters.json"))).unwrap())
                .unwrap();
        let starts: Vec<f64> = cj["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["startTime"].as_f64().unwrap())
            .collect();
        assert_eq!(starts.len(), 2);
        assert_eq!(starts[0], 0.0);
        assert!(cues.iter().any(|c| (c.0 - starts[1]).abs() <= 0.0015), "{starts:?}");
    }
}

#[test]
fn a_template_beside_the_project_replaces_the_default_in_render() {
    let p = Podcast::new();
    let default =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/podcast/feed.xml.j2")).unwrap();
    let custom = default.replacen("<channel>", "<channel>\n    <!-- studio feed template -->", 1);
    assert_ne!(custom, default);
    let t = p.root().join("templates/podcast/feed.xml.j2");
    std::fs::create_dir_all(t.parent().unwrap()).unwrap();
    std::fs::write(&t, &custom).unwrap();
    let vtt = p.root().join("templates/transcript/transcript.vtt.j2");
    std::fs::create_dir_all(vtt.parent().unwrap()).unwrap();
    std::fs::write(
        &vtt,
        "WEBVTT - {{ title|vtt }} (studio)\n{% for c in cues %}\n{{ c.start_vtt }} --> {{ c.end_vtt }}\n\
         <v {{ c.speaker|vtt }}>{{ c.text|vtt }}\n{% endfor %}",
    )
    .unwrap();
    let plan = p.plan();
    p.render();
    let feed = std::fs::read_to_string(p.out().join("feed.xml")).unwrap();
    assert!(feed.contains("<!-- studio feed template -->"), "{feed}");
    check_feed(&p, &plan);
    let stem = plan["chapters"][0]["file_stem"].as_str().unwrap();
    let v = std::fs::read_to_string(p.out().join(format!("{stem}.vtt"))).unwrap();
    assert!(
        v.starts_with("WEBVTT - ") && v.lines().next().unwrap().ends_with("(studio)"),
        "{v}"
    );
    // the SRT template was not overridden: the default is used
    assert!(std::fs::read_to_string(p.out().join(format!("{stem}.srt")))
        .unwrap()
        .starts_with("1\n"));

    // a broken override: the render says which template and which line
    std::fs::write(&t, "<rss>\n{% for x in %}\n</rss>\n").unwrap();
    let y = p.yaml();
    let out = p.run(&["render", &y, "--engine", "espeak", "--progress", "quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("feed.xml.j2") && err.contains("line 2"), "{err}");
}
