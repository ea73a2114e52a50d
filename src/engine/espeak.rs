//! The draft engine: espeak-ng (Debian package `espeak-ng`), one process per language run.
//!
//! Each run is spoken with the espeak voice of its language; code-switched chunks are the runs' audio
//! concatenated. Speakers get a voice variant (`+m3`, `+f2`…) chosen from a hash of their voice and
//! name, so characters are distinguishable. The 22.05 kHz output is resampled to 24 kHz (the
//! WhisperSpeech rate) with rubato. espeak-ng is deterministic: the seed and temperature are unused.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::{Audio, Engine, EngineError, SynthRequest};
use crate::audio::resample;

/// Output rate of the engine (the WhisperSpeech rate, so drafts and finals assemble alike).
pub const SAMPLE_RATE: u32 = 24_000;

/// Voice variants handed out to speakers.
const VARIANTS: [&str; 11] = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4"];

/// The espeak-ng draft engine.
#[derive(Debug)]
pub struct EspeakEngine {
    program: String,
    version: String,
    voices: BTreeSet<String>,
}

fn install_hint() -> String {
    "espeak-ng is not installed or not on PATH; install it with `sudo apt-get install espeak-ng` \
     (Debian/Ubuntu) or `brew install espeak-ng` (macOS), or set WS_BOOK_ESPEAK to its path"
        .to_string()
}

impl EspeakEngine {
    /// Finds espeak-ng (`$WS_BOOK_ESPEAK` or `espeak-ng` on PATH) and reads its version and voices.
    pub fn new() -> Result<EspeakEngine, EngineError> {
        let program = std::env::var("WS_BOOK_ESPEAK").unwrap_or_else(|_| "espeak-ng".into());
        let out = Command::new(&program)
            .arg("--version")
            .output()
            .map_err(|e| EngineError::Unavailable(format!("{} ({program}: {e})", install_hint())))?;
        if !out.status.success() {
            return Err(EngineError::Unavailable(install_hint()));
        }
        let version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let out = Command::new(&program)
            .arg("--voices")
            .output()
            .map_err(|e| EngineError::Unavailable(format!("{program} --voices failed: {e}")))?;
        let voices = String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        Ok(EspeakEngine {
            program,
            version,
            voices,
        })
    }

    /// The espeak voice for a WhisperSpeech language code.
    pub fn voice_for_lang(&self, lang: &str) -> String {
        let mapped = match lang {
            "en" => "en-us",
            "zh" => "cmn",
            "no" | "nn" => "nb",
            "fr" => "fr-fr",
            "jw" | "su" => "id",
            "haw" => "haw",
            "yi" => "he",
            "tl" => "id",
            other => other,
        };
        if self.voices.contains(mapped) {
            mapped.to_string()
        } else {
            "en-us".to_string()
        }
    }

    fn speak(&self, text: &str, voice: &str, wpm: u32) -> Result<Vec<f32>, String> {
        let mut child = Command::new(&self.program)
            .args(["--stdout", "--stdin", "-v", voice, "-s", &wpm.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) must reach only
            // ws-book, which finishes this chunk and then stops; killed here it would count a failed attempt.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write to espeak-ng: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("espeak-ng failed: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "espeak-ng exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let (rate, samples) = parse_wav(&out.stdout)?;
        resample::resample_clip(&samples, rate, SAMPLE_RATE).map_err(|e| e.to_string())
    }
}

/// The variant (`m3`, `f2`…) for a voice and speaker: a stable hash, so the same character always
/// sounds the same and different characters usually differ.
pub fn variant_for(voice: &str, speaker: &str) -> &'static str {
    let h = blake3::hash(format!("{voice}\u{0}{speaker}").as_bytes());
    let b = h.as_bytes();
    VARIANTS[(u16::from_le_bytes([b[0], b[1]]) as usize) % VARIANTS.len()]
}

/// Parses espeak-ng's 16-bit PCM WAV (its header sizes may be placeholders): (rate, samples).
pub fn parse_wav(bytes: &[u8]) -> Result<(u32, Vec<f32>), String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("espeak-ng did not write a WAV file".into());
    }
    let mut pos = 12;
    let mut rate = 0u32;
    let mut bits = 0u16;
    let mut channels = 0u16;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        let body = pos + 8;
        if id == b"fmt " && body + 16 <= bytes.len() {
            channels = u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]);
            rate = u32::from_le_bytes([bytes[body + 4], bytes[body + 5], bytes[body + 6], bytes[body + 7]]);
            bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
        } else if id == b"data" {
            if rate == 0 || bits != 16 || channels != 1 {
                return Err(format!(
                    "unexpected espeak-ng WAV format ({rate} Hz, {bits} bits, {channels} channels)"
                ));
            }
            let end = body.saturating_add(size).min(bytes.len());
            let data = &bytes[body..end];
            let samples = data
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                .collect();
            return Ok((rate, samples));
        }
        pos = body.saturating_add(size + (size & 1));
    }
    Err("espeak-ng's WAV output has no data".into())
}

impl Engine for EspeakEngine {
    fn name(&self) -> &str {
        "espeak"
    }

    fn fingerprint(&self) -> String {
        format!("espeak|{}|rate={SAMPLE_RATE}|draft-v1", self.version)
    }

    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    fn synthesize(&mut self, batch: &[SynthRequest]) -> Result<Vec<Audio>, EngineError> {
        let mut out = Vec::with_capacity(batch.len());
        for req in batch {
            let variant = variant_for(&req.voice.name, &req.speaker);
            // espeak speaks in words per minute; ~11 characters per second ≈ 1 word per 5.5 characters.
            let wpm = (req.params.cps * 11.0).round().clamp(80.0, 450.0) as u32;
            let mut samples = Vec::new();
            for run in &req.runs {
                if run.text.trim().is_empty() {
                    continue;
                }
                let voice = format!("{}+{variant}", self.voice_for_lang(&run.lang));
                let audio = self
                    .speak(&run.text, &voice, wpm)
                    .map_err(|message| EngineError::Synthesis {
                        key: req.key.clone(),
                        message,
                    })?;
                samples.extend_from_slice(&audio);
            }
            out.push(Audio {
                sample_rate: SAMPLE_RATE,
                samples,
                capped: false,
            });
        }
        Ok(out)
    }
}
