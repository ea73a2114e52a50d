//! The podcast RSS 2.0 feed (`feed.xml`) with the `itunes:` tags Apple Podcasts requires and the Podcasting 2.0
//! `podcast:chapters` / `podcast:transcript` links, rendered from `podcast/feed.xml.j2`.
//!
//! Deterministic: the same episodes and files give byte-identical XML. The only times in it are the episodes'
//! own dates (`pubDate`) and `lastBuildDate`, the newest episode's date; GUIDs are built from the feed's
//! `base_url` and the episode slug, so they are stable across runs.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::templates::Templates;
use super::{write_atomic, PublishError};
use crate::assembly::OutputFile;
use crate::audio::encode::OutFormat;
use crate::plan::Plan;
use crate::podcast::Episode;
use crate::project::Project;

/// What `write_feed` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct FeedReport {
    /// The feed file.
    pub path: PathBuf,
    /// Episodes in the feed.
    pub episodes: usize,
    /// Episodes left out (no complete audio yet), by slug.
    pub missing: Vec<String>,
}

#[derive(Serialize)]
struct Channel {
    title: String,
    link: String,
    self_url: String,
    description: String,
    language: String,
    author: String,
    owner_email: String,
    image: Option<String>,
    category: Option<String>,
    subcategory: Option<String>,
    explicit: bool,
    last_build_date: Option<String>,
}

#[derive(Serialize)]
struct Item {
    title: String,
    description: String,
    pub_date: String,
    guid: String,
    url: String,
    length: u64,
    mime: &'static str,
    duration: String,
    explicit: Option<bool>,
    season: Option<u32>,
    episode: Option<u32>,
    image: Option<String>,
    chapters_url: String,
    transcript_vtt: String,
    transcript_srt: String,
}

/// RFC 2822 date of a timestamp, in UTC (`Wed, 1 May 2024 00:00:00 +0000`).
pub fn rfc2822(t: jiff::Timestamp) -> String {
    let z = t.to_zoned(jiff::tz::TimeZone::UTC);
    jiff::fmt::rfc2822::to_string(&z).unwrap_or_else(|_| t.to_string())
}

/// `H:MM:SS` of a duration in seconds (rounded to the second).
pub fn itunes_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// MIME type of an enclosure.
pub fn mime(f: OutFormat) -> &'static str {
    match f {
        OutFormat::Mp3 => "audio/mpeg",
        OutFormat::M4b => "audio/x-m4a",
        OutFormat::Opus => "audio/ogg",
    }
}

/// `base_url` joined with a file name (the name percent-encoded where needed).
pub fn url(base: &str, name: &str) -> String {
    let mut s = base.trim().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Writes `feed.xml` into `out_dir` for the episodes whose audio is among `outputs` (the encoded per-episode files
/// of this run; an episode with failed chunks is left out and listed in the report).
pub fn write_feed(
    project: &Project,
    plan: &Plan,
    episodes: &[Episode],
    outputs: &[OutputFile],
    out_dir: &Path,
    templates: &Templates,
) -> Result<FeedReport, PublishError> {
    let c = &project.config;
    let feed = c.feed.clone().unwrap_or_default();
    let base = feed.base_url.clone().unwrap_or_default();
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| PublishError::Io { path, source }
    };
    let image = match feed.image.as_deref() {
        None => None,
        Some(i) if i.contains("://") => Some(i.to_string()),
        Some(i) => {
            let src = project.resolve(Path::new(i));
            let name = src
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let bytes = std::fs::read(&src).map_err(io(&src))?;
            write_atomic(&out_dir.join(&name), &bytes)?;
            Some(url(&base, &name))
        }
    };
    let (category, subcategory) = match feed.category.as_deref() {
        Some(cat) => match cat.split_once('>') {
            Some((a, b)) => (Some(a.trim().to_string()), Some(b.trim().to_string())),
            None => (Some(cat.trim().to_string()), None),
        },
        None => (None, None),
    };
    let mut items: Vec<(jiff::Timestamp, Item)> = Vec::new();
    let mut missing = Vec::new();
    for (ci, ep) in episodes.iter().enumerate() {
        let Some(o) = outputs
            .iter()
            .find(|o| o.chapter == Some(ci) && o.format != OutFormat::M4b)
        else {
            missing.push(ep.slug.clone());
            continue;
        };
        let name = o
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let length = std::fs::metadata(&o.path).map_err(io(&o.path))?.len();
        items.push((
            ep.date,
            Item {
                title: ep.title.clone(),
                description: ep.description.clone(),
                pub_date: rfc2822(ep.date),
                guid: url(&base, &ep.slug),
                url: url(&base, &name),
                length,
                mime: mime(o.format),
                duration: itunes_duration(o.duration),
                explicit: ep.explicit,
                season: ep.season,
                episode: ep.episode,
                image: ep.image.clone(),
                chapters_url: url(&base, &format!("{}.chapters.json", ep.slug)),
                transcript_vtt: url(&base, &format!("{}.vtt", ep.slug)),
                transcript_srt: url(&base, &format!("{}.srt", ep.slug)),
            },
        ));
    }
    // Newest first; the slug breaks ties so the order never depends on anything else.
    items.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.guid.cmp(&b.1.guid)));
    let channel = Channel {
        title: plan.title.clone(),
        link: base.clone(),
        self_url: url(&base, "feed.xml"),
        description: feed.description.clone().unwrap_or_else(|| plan.title.clone()),
        language: feed.language.clone().unwrap_or_else(|| plan.language.clone()),
        author: plan.author.clone(),
        owner_email: feed.owner_email.clone().unwrap_or_default(),
        image,
        category,
        subcategory,
        explicit: feed.explicit,
        last_build_date: items.first().map(|(d, _)| rfc2822(*d)),
    };
    let items: Vec<Item> = items.into_iter().map(|(_, i)| i).collect();
    let n = items.len();
    let xml = templates.render(
        "podcast/feed.xml.j2",
        serde_json::json!({ "channel": channel, "items": items }),
    )?;
    let path = out_dir.join("feed.xml");
    write_atomic(&path, xml.as_bytes())?;
    Ok(FeedReport {
        path,
        episodes: n,
        missing,
    })
}
