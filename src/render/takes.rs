//! What proof-listening (`ws-book review`) needs from a render: the render's store, keys and synthesis
//! requests as the last render synced them, and one engine (QA-wrapped when the project's QA is on) to
//! synthesise a chunk's next take.
//!
//! A take asked for in the review is take k of the chunk, seeded [`take_seed`]`(chunk seed, k)` like the
//! render's own re-takes, so the same store always holds the same takes.

use std::path::PathBuf;

use super::keys::render_name;
use super::options;
use super::{RenderError, RenderOptions};
use crate::audio::encode::OutFormat;
use crate::engine::{Engine, SynthRequest};
use crate::plan::Plan;
use crate::project::Project;
use crate::qa::{take_seed, QaEngine};
use crate::store::{Store, StoredAudio, TakeRow};

/// The engine of the review's takes.
enum TakeEngine {
    /// QA on: every take is checked.
    Checked(Box<QaEngine>),
    /// QA off: takes are synthesised unchecked.
    Plain(Box<dyn Engine>),
}

/// A rendered project opened for review.
pub struct ReviewContext {
    /// The render's store.
    pub store: Store,
    /// The render's id in it.
    pub render_id: i64,
    /// Output folder.
    pub out_dir: PathBuf,
    /// Output formats.
    pub formats: Vec<OutFormat>,
    /// Engine name (`espeak`, `whisperspeech`).
    pub engine: String,
    /// Every chunk's store key, per chapter.
    pub keys: Vec<Vec<String>>,
    /// Every chunk's synthesis request, per chapter.
    pub requests: Vec<Vec<SynthRequest>>,
    /// The recogniser of the takes (`name@digest`), when QA is on.
    pub asr: Option<String>,
    takes: TakeEngine,
}

impl ReviewContext {
    /// Opens the render of `project` (it must have been rendered into the store before) with the engine
    /// the render would use; nothing is synced or queued.
    pub async fn open(project: &Project, plan: &Plan, opts: &RenderOptions) -> Result<ReviewContext, RenderError> {
        let resolved = options::resolve(project, opts)?;
        let plain = options::create_engines(project, &resolved.engine, 1, None, opts.dtype.as_ref())?
            .pop()
            .ok_or_else(|| RenderError::Input("no engine".into()))?;
        let (takes, fingerprint, asr) = match &resolved.qa {
            Some(q) => {
                let e = q
                    .wrap(plain, &project.config.render.device)
                    .map_err(RenderError::Input)?;
                let f = e.fingerprint();
                let label = e.asr_label().to_string();
                (TakeEngine::Checked(Box::new(e)), f, Some(label))
            }
            None => {
                let f = plain.fingerprint();
                (TakeEngine::Plain(plain), f, None)
            }
        };
        let embeddings = super::voices::resolve(project, plan, resolved.engine.kind).await?;
        let quiet = super::progress::Progress::new(super::ProgressMode::Quiet, 0, 1, render_name(project));
        let store = super::sync::open_store(project, opts, &quiet).await?;
        let info = store.render(&render_name(project)).await?;
        let keys = super::assemble::store_keys(plan, &fingerprint, &embeddings);
        let requests = super::sync::requests(project, plan, &fingerprint, &embeddings);
        Ok(ReviewContext {
            store,
            render_id: info.id,
            out_dir: resolved.out_dir,
            formats: resolved.formats,
            engine: resolved.engine.kind.as_str().into(),
            keys,
            requests,
            asr,
            takes,
        })
    }

    /// The store key of a chunk.
    pub fn key(&self, chapter: usize, index: usize) -> Option<&str> {
        self.keys.get(chapter)?.get(index).map(String::as_str)
    }

    /// Synthesises (and, with QA, checks) take `k` of a chunk: blocking, run it off the async runtime.
    pub fn synthesize_take(
        &mut self,
        chapter: usize,
        index: usize,
        k: u32,
    ) -> Result<(TakeRow, StoredAudio), RenderError> {
        let req = self
            .requests
            .get(chapter)
            .and_then(|c| c.get(index))
            .cloned()
            .ok_or_else(|| RenderError::Input(format!("no chunk {index} in chapter {chapter}")))?;
        let seed = take_seed(req.seed, k);
        let lang = crate::qa::chunk_language(&req.runs);
        let (audio, row) = match &mut self.takes {
            TakeEngine::Checked(e) => {
                let (audio, c) = e.one_take(&req, k)?;
                let row = TakeRow {
                    take: k,
                    seed,
                    wer: c.wer,
                    cer: c.cer,
                    seconds: c.seconds,
                    stop: if c.capped { "cap" } else { "end" }.into(),
                    duration: c.duration.as_str().into(),
                    transcript: c.transcript,
                    language: lang,
                    passed: c.passed,
                    chosen: false,
                    flagged: false,
                    asr: e.asr_label().to_string(),
                    similarity: c.similarity,
                };
                (audio, row)
            }
            TakeEngine::Plain(e) => {
                let mut r = req.clone();
                r.seed = seed;
                let audio = e
                    .synthesize(std::slice::from_ref(&r))?
                    .pop()
                    .ok_or_else(|| RenderError::Input("the engine returned no audio".into()))?;
                let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate.max(1));
                let row = TakeRow {
                    take: k,
                    seed,
                    // not checked: no recogniser (negative error rates say so)
                    wer: -1.0,
                    cer: -1.0,
                    seconds,
                    stop: if audio.capped { "cap" } else { "end" }.into(),
                    duration: "unchecked".into(),
                    transcript: String::new(),
                    language: lang,
                    passed: false,
                    chosen: false,
                    flagged: false,
                    asr: String::new(),
                    similarity: None,
                };
                (audio, row)
            }
        };
        Ok((
            row,
            StoredAudio {
                sample_rate: audio.sample_rate,
                samples: audio.samples,
            },
        ))
    }
}
