//! Quality assurance: every take a chunk's synthesis produces is transcribed by Whisper and scored against
//! the chunk's text; a failing take is synthesised again with the next take's seed, and the best take is
//! kept. [`QaEngine`] wraps any [`Engine`], so the worker loop stays "synthesise → complete": inside
//! `synthesize` it runs synthesise → check → re-take, and [`Engine::take_checks`] hands the worker the
//! metrics to store beside the audio.
//!
//! Invariants: take k's seed derives only from the chunk seed and k ([`take_seed`]; take 0 is the chunk
//! seed itself), takes run in order and stop at the first that passes, and ties keep the earlier take — so
//! the chosen take is a function of the chunk, the engine and the QA settings, whatever the batch, worker
//! or host. Everything that changes the choice (recogniser digest, `max_wer`, `takes`) is in
//! [`QaEngine::fingerprint`], hence in every content key; the gate is not.
//!
//! Owns the checking of takes. Imports the engine interface and `asr`; must never import the store,
//! worker, render or publish modules.

pub mod score;
pub mod setup;

use serde::Serialize;

use crate::asr::{self, Transcriber};
use crate::engine::{Audio, Engine, EngineError, Run, SynthRequest};
use crate::speaker::{self, audio_in::ReferenceAudio, SpeakerEncoder, SpeakerError};
use score::Duration;

/// Testing hook: take 0 of every chunk whose text contains this value says an unrelated sentence instead.
pub const BAD_TAKES_ENV: &str = "WS_BOOK_BAD_TAKES";
/// Testing hook: every take of every chunk whose text contains this value says an unrelated sentence.
pub const BAD_TAKES_ALL_ENV: &str = "WS_BOOK_BAD_TAKES_ALL";

/// What the bad-take hooks say instead of the chunk (repeated or cut to the chunk's length).
const UNRELATED: &str = "Meanwhile the orchestra rehearsed a lively waltz in the empty concert hall, \
    and the porter counted umbrellas by the door.";

/// QA settings that decide which take is chosen (the gate only changes the exit code).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QaSettings {
    /// A take passes when its word error rate is at most this.
    pub max_wer: f64,
    /// Syntheses per chunk at most.
    pub takes: u32,
    /// Voice drift: a take of a voice with a speaker embedding fails below this similarity.
    pub min_similarity: Option<f64>,
}

/// One checked take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakeCheck {
    /// Take number.
    pub take: u32,
    /// Its seed.
    pub seed: u64,
    /// Word error rate.
    pub wer: f64,
    /// Character error rate.
    pub cer: f64,
    /// Audio seconds.
    pub seconds: f64,
    /// Synthesis ran to its length cap.
    pub capped: bool,
    /// The duration check.
    pub duration: Duration,
    /// What Whisper heard.
    pub transcript: String,
    /// Cosine similarity of the take's speaker embedding to the voice's, when measured (a speaker model
    /// and a voice with an embedding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Whether every check passed.
    pub passed: bool,
}

/// The QA of one chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkQa {
    /// The chunk's store key.
    pub key: String,
    /// The language it was checked in.
    pub language: String,
    /// Every take, in order.
    pub takes: Vec<TakeCheck>,
    /// The take whose audio is kept.
    pub chosen: u32,
    /// No take passed: the best one is kept and the chunk is listed for a person to hear.
    pub flagged: bool,
    /// The recogniser (`name@digest`).
    pub asr: String,
    /// The audio of every take, in the order of `takes` (stored beside the chunk for proof-listening; not
    /// part of the report).
    #[serde(skip)]
    pub audio: Vec<Audio>,
}

/// The seed of take `k` of a chunk seeded `seed`: the seed itself for take 0, else a BLAKE3 derivation.
pub fn take_seed(seed: u64, k: u32) -> u64 {
    if k == 0 {
        return seed;
    }
    let mut h = blake3::Hasher::new();
    h.update(b"ws-book take");
    h.update(&seed.to_le_bytes());
    h.update(&k.to_le_bytes());
    let b = h.finalize();
    let mut x = [0u8; 8];
    x.copy_from_slice(&b.as_bytes()[..8]);
    u64::from_le_bytes(x)
}

/// The language a chunk is checked in: that of its longest run.
pub fn chunk_language(runs: &[Run]) -> String {
    runs.iter()
        .max_by_key(|r| r.text.chars().count())
        .map(|r| r.lang.clone())
        .unwrap_or_else(|| "en".into())
}

/// Voice drift: the speaker encoder that embeds each take, to compare with the voice's embedding.
pub struct VoiceCheck {
    encoder: SpeakerEncoder,
    /// `file name@digest` of the encoder weights (in the fingerprint when a threshold is set).
    label: String,
}

/// Takes shorter than this are not embedded (the encoder needs a few frames of speech).
const MIN_EMBED_SECONDS: f64 = 0.25;

impl VoiceCheck {
    /// Loads the speaker encoder (`weights` + optional config) on `device`.
    pub fn load(
        weights: &std::path::Path,
        config: Option<&std::path::Path>,
        device: &candle_core::Device,
    ) -> Result<Self, SpeakerError> {
        let bytes = std::fs::read(weights).map_err(|e| SpeakerError::Model {
            path: weights.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        let digest = blake3::hash(&bytes).to_hex();
        let name = weights
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            encoder: SpeakerEncoder::load(weights, config, device)?,
            label: format!("{name}@{}", &digest[..16]),
        })
    }

    /// The similarity of `audio` to the voice `embedding`, or `None` when the take is too short to embed.
    fn similarity(&self, audio: &Audio, embedding: &[f32]) -> Result<Option<f64>, SpeakerError> {
        let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate.max(1));
        if seconds < MIN_EMBED_SECONDS || embedding.is_empty() {
            return Ok(None);
        }
        let take = self.encoder.embed(&ReferenceAudio {
            sample_rate: audio.sample_rate,
            samples: audio.samples.clone(),
        })?;
        Ok(Some(speaker::cosine(&take, embedding)))
    }
}

/// An engine whose takes are checked by speech recognition (and, with a [`VoiceCheck`], for voice drift).
pub struct QaEngine {
    inner: Box<dyn Engine>,
    asr: Transcriber,
    asr_label: String,
    settings: QaSettings,
    voice: Option<VoiceCheck>,
    last: Option<Vec<ChunkQa>>,
}

impl QaEngine {
    /// Wraps `inner`; `asr_name`/`asr_digest` identify the recogniser in the fingerprint and reports.
    pub fn new(
        inner: Box<dyn Engine>,
        asr: Transcriber,
        asr_name: &str,
        asr_digest: &str,
        settings: QaSettings,
    ) -> Self {
        Self {
            inner,
            asr,
            asr_label: format!("{asr_name}@{}", &asr_digest[..asr_digest.len().min(16)]),
            settings,
            voice: None,
            last: None,
        }
    }

    /// Also measures voice drift with this speaker encoder (and fails takes below `min_similarity`).
    pub fn with_voice_check(mut self, voice: VoiceCheck) -> Self {
        self.voice = Some(voice);
        self
    }

    fn request_for_take(&self, req: &SynthRequest, k: u32) -> SynthRequest {
        let mut r = req.clone();
        r.seed = take_seed(req.seed, k);
        if bad_take(&req.text(), k) {
            let len = req.text().chars().count().max(8);
            let lang = chunk_language(&req.runs);
            r.runs = vec![Run {
                text: unrelated_text(len),
                lang,
            }];
        }
        r
    }

    /// Transcribes and scores one take per request.
    fn check(&mut self, reqs: &[&SynthRequest], audios: &[Audio], k: u32) -> Result<Vec<TakeCheck>, EngineError> {
        let pcm: Vec<Vec<f32>> = audios.iter().map(|a| asr::to_16k(&a.samples, a.sample_rate)).collect();
        let langs: Vec<String> = reqs.iter().map(|r| chunk_language(&r.runs)).collect();
        let clips: Vec<(&[f32], Option<&str>)> = pcm
            .iter()
            .zip(&langs)
            .map(|(p, l)| (p.as_slice(), Some(l.as_str())))
            .collect();
        let heard = self.asr.transcribe(&clips).map_err(|e| EngineError::Synthesis {
            key: reqs.first().map(|r| r.key.clone()).unwrap_or_default(),
            message: format!("QA transcription failed: {e}"),
        })?;
        let mut similarity = Vec::with_capacity(reqs.len());
        for (req, audio) in reqs.iter().zip(audios) {
            similarity.push(match (&self.voice, &req.voice.embedding) {
                (Some(v), Some(e)) => v.similarity(audio, e).map_err(|e| EngineError::Synthesis {
                    key: req.key.clone(),
                    message: format!("QA voice check failed: {e}"),
                })?,
                _ => None,
            });
        }
        Ok(reqs
            .iter()
            .zip(audios)
            .zip(heard)
            .zip(&langs)
            .zip(similarity)
            .map(|((((req, audio), t), lang), similarity)| {
                let text = req.text();
                let reference = score::words(&text);
                let hyp = score::words(&score::normalise_transcript(&t.text, lang));
                let wer = score::wer(&reference, &hyp);
                let cer = score::cer(&reference, &hyp);
                let seconds = audio.samples.len() as f64 / f64::from(audio.sample_rate.max(1));
                let duration = score::judge_duration(seconds, text.chars().count(), req.params.cps);
                let error = score::error_rate(reference.len(), wer, cer);
                let voice_ok = match (self.settings.min_similarity, similarity) {
                    (Some(min), Some(s)) => s >= min,
                    _ => true,
                };
                let passed = error <= self.settings.max_wer
                    && duration == Duration::Ok
                    && !audio.capped
                    && !t.capped
                    && voice_ok;
                TakeCheck {
                    take: k,
                    seed: take_seed(req.seed, k),
                    wer,
                    cer,
                    seconds,
                    capped: audio.capped,
                    duration,
                    transcript: t.text,
                    similarity,
                    passed,
                }
            })
            .collect())
    }
}

fn bad_take(text: &str, k: u32) -> bool {
    let hit = |var: &str| {
        std::env::var(var)
            .ok()
            .is_some_and(|v| !v.is_empty() && text.contains(&v))
    };
    hit(BAD_TAKES_ALL_ENV) || (k == 0 && hit(BAD_TAKES_ENV))
}

/// [`UNRELATED`] repeated and cut at a word boundary near `len` characters.
fn unrelated_text(len: usize) -> String {
    let mut out = String::new();
    for w in UNRELATED.split_whitespace().cycle() {
        if out.chars().count() >= len {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Whether take `a` is better than `b`: passing first, then lower word and character error rates; ties
/// keep the earlier take.
fn better(a: &TakeCheck, b: &TakeCheck) -> bool {
    (a.passed && !b.passed) || (a.passed == b.passed && (a.wer, a.cer) < (b.wer, b.cer))
}

impl QaEngine {
    /// Synthesises and checks take `k` of one chunk alone (a take asked for in `ws-book review`): its audio
    /// and its check. The testing hooks apply as in a render.
    pub fn one_take(&mut self, req: &SynthRequest, k: u32) -> Result<(Audio, TakeCheck), EngineError> {
        let r = self.request_for_take(req, k);
        let audio = self
            .inner
            .synthesize(std::slice::from_ref(&r))?
            .pop()
            .ok_or_else(|| EngineError::Synthesis {
                key: req.key.clone(),
                message: "the engine returned no audio".into(),
            })?;
        let check = self
            .check(&[req], std::slice::from_ref(&audio), k)?
            .pop()
            .ok_or_else(|| EngineError::Synthesis {
                key: req.key.clone(),
                message: "QA returned no check".into(),
            })?;
        Ok((audio, check))
    }

    /// The recogniser (`name@digest`).
    pub fn asr_label(&self) -> &str {
        &self.asr_label
    }
}

impl Engine for QaEngine {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn fingerprint(&self) -> String {
        // The voice threshold (and the encoder that measures it) only enters when set, so renders without
        // one keep their keys.
        let voice = match (self.settings.min_similarity, &self.voice) {
            (Some(m), Some(v)) => format!(":min_sim={m}:spk={}", v.label),
            _ => String::new(),
        };
        format!(
            "{}|qa={}:max_wer={}:takes={}{voice}:v1",
            self.inner.fingerprint(),
            self.asr_label,
            self.settings.max_wer,
            self.settings.takes
        )
    }

    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    fn auto_batch(&self) -> usize {
        self.inner.auto_batch()
    }

    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError> {
        self.last = None;
        let n = batch.len();
        let mut checks: Vec<Vec<TakeCheck>> = vec![Vec::new(); n];
        let mut take_audio: Vec<Vec<Audio>> = vec![Vec::new(); n];
        let mut best: Vec<Option<(Audio, usize)>> = vec![None; n];
        let mut pending: Vec<usize> = (0..n).collect();
        for k in 0..self.settings.takes.max(1) {
            if pending.is_empty() {
                break;
            }
            let reqs: Vec<SynthRequest> = pending.iter().map(|&i| self.request_for_take(&batch[i], k)).collect();
            let audios = self.inner.synthesize(&reqs)?;
            // An engine that ignores the seed (espeak-ng) says the same again: such a take is not checked
            // twice, and the chunk has no other take to try.
            let (fresh, repeated): (Vec<_>, Vec<_>) = pending
                .iter()
                .zip(audios)
                .partition(|(&i, a)| best[i].as_ref().is_none_or(|(b, _)| b.samples != a.samples));
            let originals: Vec<&SynthRequest> = fresh.iter().map(|(&i, _)| &batch[i]).collect();
            let fresh_audio: Vec<Audio> = fresh.iter().map(|(_, a)| a.clone()).collect();
            let results = self.check(&originals, &fresh_audio, k)?;
            for (&i, a) in &repeated {
                // `repeated` compared with a kept take, so there is a check to repeat
                if let Some(mut same) = checks[i].last().cloned() {
                    same.take = k;
                    same.seed = take_seed(batch[i].seed, k);
                    checks[i].push(same);
                    take_audio[i].push(a.clone());
                }
            }
            let mut still = Vec::new();
            for ((&i, audio), c) in fresh.into_iter().zip(results) {
                let passed = c.passed;
                let replace = match &best[i] {
                    None => true,
                    Some((_, b)) => better(&c, &checks[i][*b]),
                };
                checks[i].push(c);
                take_audio[i].push(audio.clone());
                if replace {
                    best[i] = Some((audio, checks[i].len() - 1));
                }
                if !passed {
                    still.push(i);
                }
            }
            pending = still;
        }
        let mut out = Vec::with_capacity(n);
        let mut qa = Vec::with_capacity(n);
        for (i, ((b, takes), every)) in best.into_iter().zip(checks).zip(take_audio).enumerate() {
            let Some((audio, at)) = b else {
                return Err(EngineError::Synthesis {
                    key: batch[i].key.clone(),
                    message: "QA produced no take".into(),
                });
            };
            qa.push(ChunkQa {
                key: batch[i].key.clone(),
                language: chunk_language(&batch[i].runs),
                flagged: !takes.iter().any(|t| t.passed),
                chosen: takes[at].take,
                takes,
                asr: self.asr_label.clone(),
                audio: every,
            });
            out.push(audio);
        }
        self.last = Some(qa);
        Ok(out)
    }

    fn take_checks(&mut self) -> Option<Vec<ChunkQa>> {
        self.last.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(take_seed(42, 0), 42);
        assert_eq!(take_seed(42, 1), take_seed(42, 1));
        assert_ne!(take_seed(42, 1), take_seed(42, 2));
        assert_ne!(take_seed(42, 1), take_seed(43, 1));
    }

    #[test]
    fn unrelated_text_has_the_length() {
        let t = unrelated_text(40);
        assert!(t.chars().count() >= 40 && t.chars().count() < 52, "{t}");
        assert!(unrelated_text(400).chars().count() >= 400);
    }

    fn take(k: u32, wer: f64, passed: bool) -> TakeCheck {
        TakeCheck {
            take: k,
            seed: 0,
            wer,
            cer: wer,
            seconds: 1.0,
            capped: false,
            duration: Duration::Ok,
            transcript: String::new(),
            similarity: None,
            passed,
        }
    }

    #[test]
    fn better_prefers_passing_then_lower_error_and_keeps_ties() {
        assert!(better(&take(1, 0.2, true), &take(0, 0.1, false)));
        assert!(better(&take(1, 0.5, false), &take(0, 0.9, false)));
        assert!(!better(&take(1, 0.5, false), &take(0, 0.5, false)));
    }
}
