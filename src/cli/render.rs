//! `ws-book render`: plan, queue, synthesise, assemble, encode; prints a summary (or JSON).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ws_book::batch::{self, EXIT_INPUT};
use ws_book::project::BatchSize;
use ws_book::render::{ProgressMode, RenderOptions, RenderSummary};

/// Progress display.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProgressArg {
    /// Bars on a terminal, log lines otherwise.
    Auto,
    /// Log lines.
    Plain,
    /// JSON lines, one event per chunk, chapter and output file.
    Json,
    /// No progress output.
    Quiet,
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// project.yaml files (or folders of them), or a manuscript (.md / .epub) to render with defaults. Several
    /// projects share one state database (`--db`, else the first project's) and one worker pool.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Engine: auto, whisperspeech or espeak (overrides project.yaml).
    #[arg(long, value_parser = ["auto", "whisperspeech", "espeak"])]
    pub engine: Option<String>,
    /// In-process workers.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Chunks per engine batch: `auto` (the engine's best for its device) or a number (overrides
    /// `render.batch_size`).
    #[arg(long, value_parser = parse_batch_size)]
    pub batch_size: Option<BatchSize>,
    /// WhisperSpeech precision on a GPU: f32, f16 or bf16 (overrides `render.dtype`; the CPU takes f32 only).
    #[arg(long, value_parser = ["f32", "f16", "bf16"])]
    pub dtype: Option<String>,
    /// Output formats, comma-separated: m4b,mp3,opus.
    #[arg(long, value_delimiter = ',')]
    pub formats: Option<Vec<String>>,
    /// Output folder (default `out/` beside the project).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// State database: a SQLite path, `sqlite:PATH`, or `postgres://USER@HOST:PORT/DB` for a farm (default:
    /// project.yaml `store.url`, else `.ws-book/state.db` beside the project).
    #[arg(long)]
    pub db: Option<String>,
    /// Progress display on stderr: bars on a terminal, else plain lines (auto); plain; json lines; quiet.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
    /// Lease length in seconds (a crashed worker's chunks return to the queue after it).
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Never connect to the model hub: use only models already in the library (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// A final render: WhisperSpeech or nothing — never the espeak-ng draft fallback of `engine: auto`
    /// (exits 1 naming the missing models; `--engine espeak` with `--final` is a usage error, exit 2).
    #[arg(long = "final")]
    pub final_render: bool,
    /// Publish only chapters whose every chunk a reviewer approved in `ws-book review` (also
    /// `render.require_approval`); withheld chapters make the render exit 5.
    #[arg(long)]
    pub require_approval: bool,
    /// When another render of the project is running, wait for it to end instead of exiting with code 75.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub qa: super::qa_args::QaArgs,
}

/// Runs `render`.
pub fn run(a: RenderArgs) -> anyhow::Result<i32> {
    if a.workers == Some(0) {
        eprintln!("error: --workers must be at least 1");
        return Ok(EXIT_INPUT);
    }
    let opts = RenderOptions {
        engine: a.engine.clone(),
        workers: a.workers,
        formats: a.formats.clone(),
        out: a.out.clone(),
        db: a.db.clone(),
        progress: match a.progress {
            ProgressArg::Auto => ProgressMode::Auto,
            ProgressArg::Plain => ProgressMode::Plain,
            ProgressArg::Json => ProgressMode::Json,
            ProgressArg::Quiet => ProgressMode::Quiet,
        },
        lease: Duration::from_secs(a.lease_secs.max(1)),
        offline: a.offline,
        final_render: a.final_render,
        require_approval: a.require_approval,
        wait: a.wait,
        qa: a.qa.flags(),
        batch_size: a.batch_size,
        dtype: a.dtype.clone(),
    };
    let quiet = matches!(a.progress, ProgressArg::Quiet);
    let (rt, cancel, stopped) = super::signals::interruptible_runtime("render")?;
    let results = rt.block_on(batch::render_batch(&a.inputs, &opts, cancel));
    for r in &results {
        if let Some(e) = &r.error {
            // name the input once: most errors already start with the file they are about
            let input = r.input.display().to_string();
            if e.starts_with(&input) {
                eprintln!("error: {e}");
            } else {
                eprintln!("error: {input}: {e}");
            }
        }
    }
    let code = stopped.map(batch::batch_exit_code(&results));
    if results.len() == 1 {
        let r = &results[0];
        if let Some(s) = &r.summary {
            if a.json {
                let mut v = serde_json::to_value(s)?;
                if let (Some(o), Some(f)) = (v.as_object_mut(), &r.feed) {
                    o.insert("feed".into(), serde_json::to_value(f)?);
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_summary(s, quiet);
                if let Some(f) = &r.feed {
                    print_feed(f);
                }
            }
        }
        return Ok(code);
    }
    if a.json {
        let v = serde_json::json!({ "projects": results, "exit_code": code });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &results {
            println!("== {}", r.input.display());
            match (&r.summary, &r.error) {
                (_, Some(e)) => println!("error: {e}"),
                (Some(s), None) => {
                    print_summary(s, quiet);
                    if let Some(f) = &r.feed {
                        print_feed(f);
                    }
                }
                (None, None) => {}
            }
        }
    }
    Ok(code)
}

fn print_qa(q: &ws_book::render::QaReport) {
    println!(
        "QA ({}): {} chunks checked, {} re-taken, {} flagged{}",
        q.asr["model"].as_str().unwrap_or("?"),
        q.checked,
        q.retaken,
        q.flagged,
        if q.gate && q.flagged > 0 {
            " — the gate is on: exit code 4"
        } else {
            ""
        }
    );
    let mut worst: Vec<&ws_book::render::QaChunk> = q.chunks.iter().filter(|c| c.flagged || c.wer > 0.0).collect();
    worst.sort_by(|a, b| b.flagged.cmp(&a.flagged).then(b.wer.total_cmp(&a.wer)));
    for c in worst.iter().take(5) {
        let voice = c
            .similarity
            .map(|s| format!(", voice similarity {s:.2}"))
            .unwrap_or_default();
        println!(
            "{} chapter {} chunk {}: WER {:.2}{voice} after {} take(s); said {:?}, heard {:?}",
            if c.flagged { "FLAGGED" } else { "worst  " },
            c.chapter + 1,
            c.index + 1,
            c.wer,
            c.takes.len(),
            c.text.chars().take(60).collect::<String>(),
            c.transcript.chars().take(60).collect::<String>()
        );
    }
    let sims: Vec<f64> = q.chunks.iter().filter_map(|c| c.similarity).collect();
    if let Some(low) = sims.iter().copied().reduce(f64::min) {
        let mean = sims.iter().sum::<f64>() / sims.len() as f64;
        println!(
            "voice drift: {} chunk(s) measured, similarity mean {mean:.2}, lowest {low:.2}{}",
            sims.len(),
            q.asr["min_similarity"]
                .as_f64()
                .map(|m| format!(" (minimum {m})"))
                .unwrap_or_default()
        );
    }
}

fn print_approvals(a: &ws_book::render::Approvals, unit: &str) {
    if a.approved_chunks == 0 && a.chosen_takes == 0 && !a.required {
        return;
    }
    println!(
        "review: {} of {} chunks approved, {} of {} {unit} approved, {} chosen take(s)",
        a.approved_chunks,
        a.chunks,
        a.approved_chapters.len(),
        a.chapters,
        a.chosen_takes
    );
    if !a.withheld.is_empty() {
        let list: Vec<String> = a.withheld.iter().map(|c| (c + 1).to_string()).collect();
        println!(
            "NOT PUBLISHED (approval required): {unit} {} — approve them in `ws-book review`; exit code 5",
            list.join(", ")
        );
    }
}

fn print_feed(f: &ws_book::publish::feed::FeedReport) {
    println!("feed: {} ({} episodes)", f.path.display(), f.episodes);
    for m in &f.missing {
        println!("feed: episode `{m}` left out: its audio is not complete");
    }
}

/// The human summary on stdout. `quiet`: no progress on stderr, so the draft warning was not said there yet.
fn print_summary(s: &RenderSummary, quiet: bool) {
    let unit = if s.podcast { "episodes" } else { "chapters" };
    match &s.warning {
        Some(w) if quiet => println!("warning: {w}"),
        Some(_) => println!("DRAFT render with the espeak-ng engine (the warning above says why)"),
        None if s.draft => println!("DRAFT render with the espeak-ng engine (files tagged `draft: espeak-ng`)"),
        None => {}
    }
    println!("{} — engine {}", s.title, s.engine);
    // the same words as the render's first line on stderr
    println!(
        "chunks: {} total, {} already done, {} reused from stored audio, {} synthesised, {} failed, {} remaining",
        s.chunks.total, s.sync.already_done, s.sync.reused, s.chunks.synthesized, s.chunks.failed, s.chunks.remaining
    );
    let speed = if s.chunks.synthesized == 0 {
        "nothing synthesised".to_string()
    } else {
        format!("engine speed {:.1}× real time", s.speed)
    };
    println!("audio: {:.1} s; wall {:.1} s; {speed}", s.audio_seconds, s.wall_seconds);
    if s.interrupted {
        println!("interrupted: run the same command again to continue");
        return;
    }
    for f in &s.failed {
        println!(
            "FAILED chapter {} chunk {} after {} attempts: {}",
            f.chapter + 1,
            f.index + 1,
            f.attempts,
            f.error
        );
    }
    if !s.qc.is_empty() {
        println!(
            "{:<48} {:>8} {:>7} {:>7} {:>7} {:>7}  QC",
            "file", "dur s", "RMS", "peak", "floor", "LUFS"
        );
        for q in &s.qc {
            let name = q
                .path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            println!(
                "{:<48} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1}  {}",
                name,
                q.duration,
                q.rms_db,
                q.peak_db,
                q.noise_floor_db,
                q.lufs,
                if q.pass {
                    "pass".to_string()
                } else {
                    format!("FAIL: {}", q.problems.join("; "))
                }
            );
        }
    }
    if let Some(q) = &s.qa {
        print_qa(q);
    }
    print_approvals(&s.approvals, unit);
    if !s.stale.is_empty() {
        let names: Vec<String> = s
            .stale
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .collect();
        println!(
            "moved {} file(s) an earlier render wrote and this one did not to stale/: {}",
            names.len(),
            names.join(", ")
        );
    }
    if s.complete {
        println!("complete: {} {unit}, {} files", s.chapters_assembled, s.outputs.len());
    } else if s.failed.is_empty() && !s.approvals.withheld.is_empty() {
        println!(
            "incomplete: {} of {} {unit} published; the others wait for approval",
            s.chapters_assembled, s.approvals.chapters
        );
    } else {
        println!(
            "incomplete: {} of {} {} assembled; fix the failures and run again (done chunks are kept)",
            s.chapters_assembled,
            s.chapters_assembled
                + s.failed
                    .iter()
                    .map(|f| f.chapter)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            unit
        );
    }
}

/// Parses `--batch-size` (`auto` or a number of at least 1).
pub fn parse_batch_size(s: &str) -> Result<BatchSize, String> {
    BatchSize::parse(s)
}
