//! The QA flags shared by `render` and `worker` (a farm worker checks like the render's host, so it takes
//! the same settings).

use clap::Args;
use ws_book::qa::setup::QaFlags;

/// QA flags.
#[derive(Debug, Clone, Args)]
pub struct QaArgs {
    /// Check every take with Whisper (project.yaml `qa:`; without `qa.asr`, the library's Whisper model or
    /// `base`).
    #[arg(long, conflicts_with = "no_qa")]
    pub qa: bool,
    /// Never check takes, even where QA would be on by default.
    #[arg(long)]
    pub no_qa: bool,
    /// Check, and exit with code 4 when a chunk is still flagged after its takes.
    #[arg(long, conflicts_with = "no_qa")]
    pub qa_gate: bool,
    /// Whisper model for QA (overrides `qa.asr`): a size, a hub repository, a folder or a library name.
    #[arg(long, conflicts_with = "no_qa")]
    pub qa_model: Option<String>,
    /// Word error rate a take may have at most (overrides `qa.max_wer`).
    #[arg(long)]
    pub qa_max_wer: Option<f64>,
    /// Syntheses per chunk at most (overrides `qa.takes`).
    #[arg(long)]
    pub qa_takes: Option<u32>,
    /// Voice drift: the lowest speaker similarity a take of a cloned voice may have (overrides
    /// `qa.min_similarity`; needs a speaker model).
    #[arg(long, allow_negative_numbers = true)]
    pub qa_min_similarity: Option<f64>,
}

impl QaArgs {
    /// The flags for the library.
    pub fn flags(&self) -> QaFlags {
        QaFlags {
            on: self.qa || self.qa_model.is_some(),
            off: self.no_qa,
            gate: self.qa_gate,
            model: self.qa_model.clone(),
            max_wer: self.qa_max_wer,
            takes: self.qa_takes,
            min_similarity: self.qa_min_similarity,
        }
    }
}
