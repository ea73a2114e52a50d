//! `ws-book plan` and `ws-book init`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// project.yaml, or a manuscript (.md / .epub) to plan with defaults.
    pub input: PathBuf,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Overwrite an existing project.yaml.
    #[arg(long)]
    pub force: bool,
}

/// Runs `plan`.
pub fn run(a: PlanArgs) -> anyhow::Result<i32> {
    let plan = ws_book::podcast::load_and_plan(&a.input)?.plan;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(0);
    }
    println!(
        "{} — {} [{}]",
        plan.title,
        if plan.author.is_empty() {
            "unknown author"
        } else {
            &plan.author
        },
        plan.language
    );
    let (mut total_chunks, mut total_words, mut total_secs) = (0, 0, 0.0);
    for (i, ch) in plan.chapters.iter().enumerate() {
        let words: usize = ch.chunks.iter().map(|c| c.words).sum();
        let secs: f64 = ch.chunks.iter().map(|c| c.est_seconds).sum();
        let speakers: BTreeSet<&str> = ch.chunks.iter().map(|c| c.speaker.as_str()).collect();
        let langs: BTreeSet<&str> = ch
            .chunks
            .iter()
            .flat_map(|c| c.runs.iter().map(|r| r.lang.as_str()))
            .collect();
        let title = if ch.title.is_empty() { "(untitled)" } else { &ch.title };
        println!(
            "{:>3}. {title}: {} chunks, {words} words, ~{}, speakers: {}, languages: {}",
            i + 1,
            ch.chunks.len(),
            hms(secs),
            speakers.into_iter().collect::<Vec<_>>().join(", "),
            langs.into_iter().collect::<Vec<_>>().join(", "),
        );
        for w in &ch.warnings {
            println!("     warning: {w}");
        }
        total_chunks += ch.chunks.len();
        total_words += words;
        total_secs += secs;
    }
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    println!(
        "total: {} chapters, {total_chunks} chunks, {total_words} words, ~{}",
        plan.chapters.len(),
        hms(total_secs)
    );
    Ok(0)
}

fn hms(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The commented project template copied by `init`.
const TEMPLATE: &str = include_str!("../../templates/project.yaml");
/// A starter manuscript for `init`.
const STARTER: &str =
    "---\ntitle: My Book\nauthor: Me\nlanguage: en\n---\n\n# Chapter One\n\nIt was a quiet morning.\n";

/// Runs `init`.
pub fn init(a: InitArgs) -> anyhow::Result<i32> {
    let dir = a.dir.unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let yaml = dir.join("project.yaml");
    if yaml.exists() && !a.force {
        anyhow::bail!("{} already exists; pass --force to overwrite it", yaml.display());
    }
    std::fs::write(&yaml, TEMPLATE).with_context(|| format!("cannot write {}", yaml.display()))?;
    let book = dir.join("book.md");
    if !book.exists() {
        std::fs::write(&book, STARTER).with_context(|| format!("cannot write {}", book.display()))?;
    }
    println!("created {} and {}", yaml.display(), book.display());
    println!("next: edit them, then `ws-book plan {}`", yaml.display());
    Ok(0)
}
