//! Whisper's tokenizer (`tokenizer.json`, read with the `tokenizers` crate) and the special tokens the
//! decoder needs: start of transcript, language, task, no-timestamps, end of text, and the suppressions.

use std::path::Path;

use super::AsrError;

/// The tokenizer with the special token ids resolved.
pub struct WhisperTokenizer {
    inner: tokenizers::Tokenizer,
    /// `<|startoftranscript|>`
    pub sot: u32,
    /// `<|endoftext|>`
    pub eot: u32,
    /// `<|transcribe|>` (multilingual models only)
    pub transcribe: Option<u32>,
    /// `<|translate|>` (multilingual models only)
    pub translate: Option<u32>,
    /// `<|notimestamps|>`; every id above it is a timestamp.
    pub no_timestamps: u32,
    /// `<|startofprev|>` and `<|startoflm|>` where the vocabulary has them.
    pub other_specials: Vec<u32>,
    /// Whether the model is multilingual (not an `.en` model).
    pub multilingual: bool,
}

impl std::fmt::Debug for WhisperTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperTokenizer")
            .field("sot", &self.sot)
            .field("eot", &self.eot)
            .field("multilingual", &self.multilingual)
            .finish()
    }
}

impl WhisperTokenizer {
    /// Reads `tokenizer.json` of a model whose output layer has `model_vocab` tokens (`config.json`
    /// `vocab_size`; `tokenizer.json` itself lists no timestamp tokens, so it cannot tell).
    pub fn load(path: &Path, model_vocab: usize) -> Result<Self, AsrError> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| AsrError::Model {
            path: path.into(),
            msg: format!("not a readable tokenizer.json: {e}"),
        })?;
        let id = |t: &str| inner.token_to_id(t);
        let need = |t: &str| {
            id(t).ok_or_else(|| AsrError::Model {
                path: path.into(),
                msg: format!("not a Whisper tokenizer: it has no `{t}` token"),
            })
        };
        let sot = need("<|startoftranscript|>")?;
        let eot = need("<|endoftext|>")?;
        let no_timestamps = need("<|notimestamps|>")?;
        let other_specials = ["<|startofprev|>", "<|startoflm|>"]
            .iter()
            .filter_map(|t| id(t))
            .collect();
        Ok(Self {
            // as openai-whisper and faster-whisper decide it: English-only vocabularies list the language tokens
            // too, but are one token short of 51 865
            multilingual: model_vocab >= 51_865,
            transcribe: id("<|transcribe|>"),
            translate: id("<|translate|>"),
            inner,
            sot,
            eot,
            no_timestamps,
            other_specials,
        })
    }

    /// The language token of a Whisper code (`en`, `pl`, …), if the model has it.
    pub fn language(&self, code: &str) -> Option<u32> {
        self.inner.token_to_id(&format!("<|{code}|>"))
    }

    /// The decoder prompt: `sot [language transcribe] notimestamps` (English-only models: `sot notimestamps`).
    pub fn prompt(&self, lang: Option<u32>) -> Vec<u32> {
        let mut p = vec![self.sot];
        if self.multilingual {
            if let Some(l) = lang {
                p.push(l);
            }
            if let Some(t) = self.transcribe {
                p.push(t);
            }
        }
        p.push(self.no_timestamps);
        p
    }

    /// Ids of text without special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    /// Text of generated ids (special tokens dropped).
    pub fn decode(&self, ids: &[u32]) -> String {
        let text: Vec<u32> = ids.iter().copied().filter(|&t| t < self.eot).collect();
        self.inner.decode(&text, true).unwrap_or_default()
    }

    /// openai-whisper's / faster-whisper's `non_speech_tokens`: symbols and markup the transcript must not
    /// contain (used when the model's configuration lists no suppressions).
    pub fn non_speech_tokens(&self) -> Vec<u32> {
        let mut symbols: Vec<String> = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".chars().map(String::from).collect();
        symbols.extend(
            "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪"
                .split(' ')
                .map(String::from),
        );
        let misc: Vec<String> = "♩♪♫♬♭♮♯".chars().map(String::from).collect();
        let mut out = std::collections::BTreeSet::new();
        for s in [" -", " '"] {
            if let Some(&t) = self.encode(s).first() {
                out.insert(t);
            }
        }
        for s in symbols.iter().chain(&misc) {
            let is_misc = misc.contains(s);
            for ids in [self.encode(s), self.encode(&format!(" {s}"))] {
                if ids.len() == 1 || (is_misc && !ids.is_empty()) {
                    out.insert(ids[0]);
                }
            }
        }
        out.into_iter().collect()
    }
}
