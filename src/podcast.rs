//! Podcast planning: `kind: podcast` projects → one plan chapter per episode file.
//!
//! Each episode is a Markdown file with YAML front matter (`title`, `date`, `description`, optional `slug`,
//! `explicit`, `season`, `episode`, `image`, `voices`). It is read and planned exactly like a book's
//! manuscript (same chunking, same content keys, so an unchanged post re-uses its audio), then its chapters
//! are merged into one [`ChapterPlan`] whose [`Section`]s (the episode's headings) become in-file chapter
//! markers. Episodes are ordered by date (oldest first), then slug.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manuscript::{self, ReadOptions};
use crate::plan::{self, ChapterPlan, Plan, PlanError, Section};
use crate::project::{self, Project, ProjectKind};

/// One episode's metadata (front matter plus what planning found).
#[derive(Debug, Clone, Serialize)]
pub struct Episode {
    /// The episode's Markdown file.
    pub source: PathBuf,
    /// Title.
    pub title: String,
    /// Publication time (UTC).
    pub date: jiff::Timestamp,
    /// Description (feed item description).
    pub description: String,
    /// File name stem and GUID part: front matter `slug`, else the title made URL-safe.
    pub slug: String,
    /// Explicit content (default: the feed's).
    pub explicit: Option<bool>,
    /// Season number.
    pub season: Option<u32>,
    /// Episode number.
    pub episode: Option<u32>,
    /// Episode artwork URL.
    pub image: Option<String>,
}

/// Front matter keys of an episode (unknown keys are errors).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    date: Option<String>,
    description: Option<String>,
    slug: Option<String>,
    explicit: Option<bool>,
    season: Option<u32>,
    episode: Option<u32>,
    image: Option<String>,
    /// Speaker (`narrator` or a character) → voice for this episode.
    #[serde(default)]
    voices: BTreeMap<String, String>,
    /// Accepted (the Markdown reader reads it); the feed's author is the podcast's.
    #[allow(dead_code)]
    author: Option<String>,
    /// Accepted (the Markdown reader reads it); the plan uses the project's language.
    #[allow(dead_code)]
    language: Option<String>,
}

const FRONT_MATTER_KEYS: &[&str] = &[
    "title",
    "date",
    "description",
    "slug",
    "explicit",
    "season",
    "episode",
    "image",
    "voices",
    "author",
    "language",
];

/// The episode files of a podcast project: each pattern's matches sorted, in pattern order, without repeats.
pub fn episode_paths(project: &Project) -> Result<Vec<PathBuf>, PlanError> {
    let mut out: Vec<PathBuf> = Vec::new();
    for pat in project.config.episodes.patterns() {
        let full = project.resolve(Path::new(&pat));
        let paths = glob::glob(&full.to_string_lossy()).map_err(|e| PlanError::Content {
            path: project.source.clone(),
            message: format!("`episodes`: bad glob `{pat}`: {e}"),
        })?;
        let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        found.sort();
        if found.is_empty() {
            return Err(PlanError::Content {
                path: project.source.clone(),
                message: format!("`episodes`: `{pat}` matches no file (looked for {})", full.display()),
            });
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// A URL- and file-name-safe slug: lowercase letters and digits joined by single hyphens.
pub fn url_slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    let t: String = t.chars().take(80).collect();
    if t.is_empty() {
        "episode".into()
    } else {
        t.trim_end_matches('-').to_string()
    }
}

/// Splits `---\n…\n---` front matter off a Markdown text: (YAML, line of its first line).
fn front_matter(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            return Some(&rest[..pos]);
        }
        pos += line.len();
    }
    None
}

/// Parses a date: RFC 3339 (`2024-05-01T10:00:00Z`, `…+02:00`), a civil date-time (UTC) or a date (midnight UTC).
pub fn parse_date(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    let d = s.parse::<jiff::civil::Date>().ok()?;
    d.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

fn content_err(path: &Path, message: String) -> PlanError {
    PlanError::Content {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads an episode's front matter; errors name the file and line.
fn read_front_matter(path: &Path) -> Result<FrontMatter, PlanError> {
    let text = manuscript::markdown::read_text(path)?;
    let Some(yaml) = front_matter(&text) else {
        return Err(content_err(
            path,
            "line 1: an episode needs YAML front matter between `---` lines with at least `title` and `date`".into(),
        ));
    };
    if yaml.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    serde_saphyr::from_str::<FrontMatter>(yaml).map_err(|e| {
        // The YAML starts on line 2 of the file.
        let line = e.location().map(|l| l.line() + 1).unwrap_or(1);
        let msg = e.to_string();
        let msg = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let msg = msg.strip_prefix("error: ").unwrap_or(msg);
        let msg = match msg.find(": ").filter(|_| msg.starts_with("line ")) {
            Some(i) => &msg[i + 2..],
            None => msg,
        };
        let hint = msg
            .find("unknown field `")
            .and_then(|i| msg[i + 15..].split('`').next())
            .and_then(|k| project::closest(k, FRONT_MATTER_KEYS))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        content_err(path, format!("line {line}: front matter: {msg}{hint}"))
    })
}

/// The project an episode is planned with: its `voices` overrides applied.
fn episode_project(project: &Project, fm: &FrontMatter, path: &Path) -> Result<Project, PlanError> {
    let mut p = project.clone();
    for (speaker, voice) in &fm.voices {
        if speaker == "narrator" {
            p.config.narrator.voice = voice.clone();
            p.config.narrator.voices.clear();
        } else if let Some(c) = p.config.characters.get_mut(speaker) {
            c.voice = Some(voice.clone());
            c.voices.clear();
        } else {
            let names: Vec<&str> = std::iter::once("narrator")
                .chain(project.config.characters.keys().map(String::as_str))
                .collect();
            let hint = project::closest(speaker, &names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_else(|| format!(" (known speakers: {})", names.join(", ")));
            return Err(content_err(
                path,
                format!("front matter `voices`: unknown speaker `{speaker}`{hint}"),
            ));
        }
    }
    Ok(p)
}

/// Plans a podcast project: one plan chapter per episode (ordered by date, then slug) and the episodes'
/// metadata in the same order.
pub fn plan_podcast(project: &Project) -> Result<(Plan, Vec<Episode>), PlanError> {
    let c = &project.config;
    let language = c
        .language
        .as_deref()
        .map(project::resolve_lang)
        .unwrap_or_else(|| "en".into());
    let read_opts = ReadOptions::from(&c.reading);
    let mut episodes: Vec<(Episode, ChapterPlan, Vec<String>)> = Vec::new();
    for path in episode_paths(project)? {
        let fm = read_front_matter(&path)?;
        let Some(title) = fm.title.clone().filter(|t| !t.trim().is_empty()) else {
            return Err(content_err(
                &path,
                "front matter: `title` is missing (the episode's title in the feed)".into(),
            ));
        };
        let Some(date_s) = fm.date.clone() else {
            return Err(content_err(
                &path,
                "front matter: `date` is missing (the episode's publication date, e.g. `date: 2024-05-01`)".into(),
            ));
        };
        let Some(date) = parse_date(&date_s) else {
            return Err(content_err(
                &path,
                format!("front matter: `date` `{date_s}` is not a date; use `2024-05-01` or `2024-05-01T09:30:00Z`"),
            ));
        };
        let slug = url_slug(fm.slug.as_deref().unwrap_or(&title));
        let ep_project = episode_project(project, &fm, &path)?;
        let raw = manuscript::read_manuscript(&path, &read_opts)?;
        let opts = plan::build_options(&ep_project, &language);
        let book = manuscript::build_book(raw, &opts).map_err(|m| content_err(&path, m))?;
        let bplan = plan::build_plan(&book, &ep_project, &language);
        let mut chunks = Vec::new();
        let mut sections = Vec::new();
        let mut warnings: Vec<String> = book
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", path.display()))
            .collect();
        for ch in bplan.chapters {
            if ch.chunks.is_empty() {
                continue;
            }
            sections.push(Section {
                title: if ch.title.trim().is_empty() {
                    title.clone()
                } else {
                    ch.title.clone()
                },
                first_chunk: chunks.len(),
            });
            warnings.extend(ch.warnings.iter().map(|w| format!("{}: {w}", path.display())));
            for mut k in ch.chunks {
                k.index = chunks.len();
                k.chapter_end = false;
                chunks.push(k);
            }
        }
        if let Some(last) = chunks.last_mut() {
            last.chapter_end = true;
        }
        if chunks.is_empty() {
            return Err(content_err(&path, "the episode has no text to speak".into()));
        }
        let episode = Episode {
            source: path.clone(),
            title: title.clone(),
            date,
            description: fm.description.clone().unwrap_or_default(),
            slug: slug.clone(),
            explicit: fm.explicit,
            season: fm.season,
            episode: fm.episode,
            image: fm.image.clone(),
        };
        let chapter = ChapterPlan {
            title,
            chunks,
            warnings: Vec::new(),
            sections,
            file_stem: Some(slug),
        };
        episodes.push((episode, chapter, warnings));
    }
    episodes.sort_by(|a, b| (a.0.date, &a.0.slug).cmp(&(b.0.date, &b.0.slug)));
    let mut slugs: Vec<&str> = episodes.iter().map(|e| e.0.slug.as_str()).collect();
    slugs.sort_unstable();
    if let Some(d) = slugs.windows(2).find(|w| w[0] == w[1]) {
        return Err(content_err(
            &project.source,
            format!("two episodes share the slug `{}`; set `slug` in one front matter", d[0]),
        ));
    }
    let feed = c.feed.clone().unwrap_or_default();
    let mut plan = Plan {
        title: feed.title.or(c.title.clone()).unwrap_or_else(|| "Podcast".into()),
        author: feed.author.or(c.author.clone()).unwrap_or_default(),
        language,
        chapters: Vec::new(),
        warnings: Vec::new(),
        cover: None,
    };
    let mut metas = Vec::new();
    for (ei, (e, mut ch, w)) in episodes.into_iter().enumerate() {
        for k in &mut ch.chunks {
            k.chapter = ei;
        }
        plan.warnings.extend(w);
        plan.chapters.push(ch);
        metas.push(e);
    }
    Ok((plan, metas))
}

/// A planned project: a book's plan, or a podcast's plan with its episodes (one per plan chapter).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The project.
    pub project: Project,
    /// The plan.
    pub plan: Plan,
    /// Podcast episodes, in plan-chapter order (empty for a book).
    pub episodes: Vec<Episode>,
}

/// Loads a project file (or a manuscript) and plans it, as a book or as a podcast by its `kind`.
pub fn load_and_plan(input: &Path) -> Result<Planned, PlanError> {
    let project = plan::load_input(input)?;
    if project.config.kind == ProjectKind::Podcast {
        let (plan, episodes) = plan_podcast(&project)?;
        Ok(Planned {
            project,
            plan,
            episodes,
        })
    } else {
        let plan = plan::plan_project(&project)?;
        Ok(Planned {
            project,
            plan,
            episodes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_dates_and_front_matter() {
        assert_eq!(url_slug("Hello, World! Épisode 2"), "hello-world-pisode-2");
        assert_eq!(url_slug("***"), "episode");
        let t = parse_date("2024-05-01").unwrap();
        assert_eq!(t.as_second(), 1_714_521_600);
        assert_eq!(parse_date("2024-05-01T02:00:00+02:00").unwrap(), t);
        assert!(parse_date("May first").is_none());
        assert_eq!(front_matter("---\ntitle: x\n---\nbody"), Some("title: x\n"));
        assert_eq!(front_matter("no front matter"), None);
    }
}
