//! The podcast keys of project.yaml and episode front matter: errors name the file, line and column, with hints.

use std::path::Path;

use ws_book::project::{self, ProjectKind};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const EP: &str = "---\ntitle: One\ndate: 2024-01-02\n---\n\nHello there.\n";

#[test]
fn podcast_schema_errors_are_located_and_explained() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "posts/one.md", EP);
    let ok = write(
        d.path(),
        "ok.yaml",
        "kind: podcast\nepisodes: posts/*.md\nfeed:\n  base_url: https://example.com/p/\n",
    );
    let p = project::load(&ok).unwrap();
    assert_eq!(p.config.kind, ProjectKind::Podcast);
    assert_eq!(p.formats(), ["mp3"]);
    assert_eq!(p.loudness(), "podcast");

    let y = write(
        d.path(),
        "typo.yaml",
        "kind: podcast\nepisodes: [posts/one.md]\nfeed:\n  base_url: https://example.com/p/\n  ownr_email: a@b.c\n",
    );
    let e = project::load(&y).unwrap_err().to_string();
    assert!(
        e.contains("typo.yaml:5:3") && e.contains("did you mean `owner_email`"),
        "{e}"
    );

    let y = write(
        d.path(),
        "nobase.yaml",
        "kind: podcast\nepisodes: posts/*.md\nfeed:\n  title: T\n",
    );
    let e = project::load(&y).unwrap_err().to_string();
    assert!(
        e.contains("nobase.yaml:3:1") && e.contains("base_url") && e.contains("enclosure"),
        "{e}"
    );

    let y = write(d.path(), "nofeed.yaml", "kind: podcast\nepisodes: posts/*.md\n");
    let e = project::load(&y).unwrap_err().to_string();
    assert!(e.contains("needs a `feed` block"), "{e}");

    let y = write(
        d.path(),
        "noglob.yaml",
        "kind: podcast\nepisodes: drafts/*.md\nfeed:\n  base_url: https://example.com/p/\n",
    );
    let e = project::load(&y).unwrap_err().to_string();
    assert!(
        e.contains("noglob.yaml:2:") && e.contains("`drafts/*.md` matches no file"),
        "{e}"
    );

    let y = write(
        d.path(),
        "book.yaml",
        "manuscripts: [posts/one.md]\nfeed:\n  base_url: https://x/\n",
    );
    let e = project::load(&y).unwrap_err().to_string();
    assert!(
        e.contains("only used by podcast projects") && e.contains("kind: podcast"),
        "{e}"
    );

    let y = write(
        d.path(),
        "m4b.yaml",
        "kind: podcast\nepisodes: posts/*.md\nfeed:\n  base_url: https://example.com/p/\noutput:\n  formats: [m4b]\n",
    );
    let e = project::load(&y).unwrap_err().to_string();
    assert!(e.contains("m4b.yaml:6:") && e.contains("mp3 or opus"), "{e}");
}

#[test]
fn episode_front_matter_errors_name_the_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let y = write(
        d.path(),
        "project.yaml",
        "kind: podcast\nepisodes: posts/*.md\nfeed:\n  base_url: https://example.com/p/\n",
    );
    write(
        d.path(),
        "posts/a.md",
        "---\ntitle: A\ndate: 2024-01-02\ndescriptoin: x\n---\n\nText.\n",
    );
    let e = ws_book::podcast::load_and_plan(&y).unwrap_err().to_string();
    assert!(
        e.contains("a.md") && e.contains("line 4") && e.contains("did you mean `description`"),
        "{e}"
    );

    write(d.path(), "posts/a.md", "---\ntitle: A\n---\n\nText.\n");
    let e = ws_book::podcast::load_and_plan(&y).unwrap_err().to_string();
    assert!(e.contains("a.md") && e.contains("`date` is missing"), "{e}");

    write(d.path(), "posts/a.md", "---\ntitle: A\ndate: soon\n---\n\nText.\n");
    let e = ws_book::podcast::load_and_plan(&y).unwrap_err().to_string();
    assert!(e.contains("`date` `soon` is not a date"), "{e}");

    write(
        d.path(),
        "posts/a.md",
        "---\ntitle: A\ndate: 2024-01-02\nvoices: { bob: x }\n---\n\nText.\n",
    );
    let e = ws_book::podcast::load_and_plan(&y).unwrap_err().to_string();
    assert!(e.contains("unknown speaker `bob`"), "{e}");

    // a byte-order mark before the front matter (Windows editors) is not an error
    write(
        d.path(),
        "posts/a.md",
        "\u{feff}---\ntitle: A\ndate: 2024-01-02\n---\n\nText.\n",
    );
    let p = ws_book::podcast::load_and_plan(&y).unwrap();
    assert_eq!(p.episodes[0].title, "A");

    // Two episodes with one slug.
    write(
        d.path(),
        "posts/a.md",
        "---\ntitle: Same\ndate: 2024-01-02\n---\n\nText.\n",
    );
    write(
        d.path(),
        "posts/b.md",
        "---\ntitle: Other\nslug: same\ndate: 2024-01-03\n---\n\nMore text.\n",
    );
    let e = ws_book::podcast::load_and_plan(&y).unwrap_err().to_string();
    assert!(e.contains("share the slug `same`"), "{e}");

    // A valid pair plans in date order with one chapter per episode.
    write(
        d.path(),
        "posts/b.md",
        "---\ntitle: Other\ndate: 2024-01-01\n---\n\n# Part\n\nMore text.\n",
    );
    let p = ws_book::podcast::load_and_plan(&y).unwrap();
    let titles: Vec<&str> = p.plan.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Other", "Same"]);
    assert_eq!(p.episodes[0].slug, "other");
    assert_eq!(p.plan.chapters[0].sections[0].title, "Part");
}

#[test]
fn the_github_actions_example_is_valid_yaml_with_the_documented_steps() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/ci/github-actions.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let steps = v["jobs"]["render"]["steps"].as_array().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    let runs: String = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(uses.iter().any(|u| u.starts_with("actions/cache")));
    assert!(
        steps.iter().any(|s| s["with"]["path"] == "podcast/.ws-book"),
        "restores the render state"
    );
    assert!(
        steps.iter().any(|s| s["with"]["path"] == "podcast/out"),
        "publishes out/"
    );
    assert!(runs.contains("cargo install --locked") && runs.contains("ws-book render \"$PROJECT\""));
    assert!(v["jobs"]["publish"]["steps"][0]["uses"]
        .as_str()
        .unwrap()
        .starts_with("actions/deploy-pages"));
}

#[test]
fn a_project_template_overrides_the_default_and_errors_name_the_template() {
    use ws_book::publish::templates::Templates;
    let d = tempfile::tempdir().unwrap();
    let ctx = serde_json::json!({ "title": "T & <b>", "chapters": [{ "title": "A", "start": 0.0 }], "cues": [] });
    // The built-in default.
    let t = Templates::default();
    let out = t.render("podcast/chapters.json.j2", &ctx).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["title"], "T & <b>");
    // An override file at the same relative path wins.
    write(
        d.path(),
        "templates/podcast/chapters.json.j2",
        "{\"custom\": {{ title|tojson }}}",
    );
    let t = Templates {
        dir: Some(d.path().join("templates")),
    };
    let v: serde_json::Value = serde_json::from_str(&t.render("podcast/chapters.json.j2", &ctx).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({ "custom": "T & <b>" }));
    // Templates not overridden still come from the defaults; XML values are escaped.
    let feed = t
        .render(
            "podcast/feed.xml.j2",
            serde_json::json!({ "channel": { "title": "A & B <C>", "explicit": false }, "items": [] }),
        )
        .unwrap();
    assert!(feed.contains("<title>A &amp; B &lt;C&gt;</title>"), "{feed}");
    // A syntax error names the override file and the line.
    write(
        d.path(),
        "templates/transcript/transcript.vtt.j2",
        "WEBVTT\n\n{% for c in cues %}\n{{ c.text }\n",
    );
    let e = t.render("transcript/transcript.vtt.j2", &ctx).unwrap_err().to_string();
    assert!(e.contains("transcript.vtt.j2") && e.contains("line 4"), "{e}");
}

#[test]
fn an_episodes_voices_override_the_projects_for_that_episode_only() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "p.yaml",
        "kind: podcast\nepisodes: posts/*.md\nnarrator:\n  voice: anna\ncharacters:\n  mira:\n    voice: kasia\n\
         feed:\n  base_url: https://example.com/p/\n",
    );
    let body = "\n\nThe keeper opened the door.\n\n\"I came for the logbooks,\" said Mira.\n";
    write(
        d.path(),
        "posts/a.md",
        &format!("---\ntitle: A\ndate: 2024-01-01\n---{body}"),
    );
    write(
        d.path(),
        "posts/b.md",
        &format!("---\ntitle: B\ndate: 2024-01-02\nvoices: {{ narrator: guest, mira: ola }}\n---{body}"),
    );
    let p = ws_book::podcast::load_and_plan(&d.path().join("p.yaml")).unwrap();
    let voices = |i: usize| -> Vec<(String, String)> {
        p.plan.chapters[i]
            .chunks
            .iter()
            .map(|c| (c.speaker.clone(), c.voice.clone()))
            .collect()
    };
    let pair = |s: &str, v: &str| (s.to_string(), v.to_string());
    // the dialogue tag "said Mira." is the narrator's
    assert_eq!(
        voices(0),
        [
            pair("narrator", "anna"),
            pair("mira", "kasia"),
            pair("narrator", "anna")
        ]
    );
    assert_eq!(
        voices(1),
        [
            pair("narrator", "guest"),
            pair("mira", "ola"),
            pair("narrator", "guest")
        ]
    );
    // the same text in another voice is different audio: different content keys
    assert_ne!(p.plan.chapters[0].chunks[0].key, p.plan.chapters[1].chunks[0].key);
}
