//! Per-sentence language detection (`whatlang`), restricted to the languages a project lists.
//!
//! Owns language detection (codes from `crate::lang`). Must never import the plan, store, worker, engine,
//! render, publish or voice/audio modules.

use whatlang::{Detector, Lang};

/// WhisperSpeech code → whatlang language, for the languages whatlang knows.
fn to_whatlang(code: &str) -> Option<Lang> {
    let iso3 = match code {
        "en" => "eng",
        "zh" => "cmn",
        "de" => "deu",
        "es" => "spa",
        "ru" => "rus",
        "ko" => "kor",
        "fr" => "fra",
        "ja" => "jpn",
        "pt" => "por",
        "tr" => "tur",
        "pl" => "pol",
        "ca" => "cat",
        "nl" => "nld",
        "ar" => "ara",
        "sv" => "swe",
        "it" => "ita",
        "id" => "ind",
        "hi" => "hin",
        "fi" => "fin",
        "vi" => "vie",
        "he" => "heb",
        "uk" => "ukr",
        "el" => "ell",
        "cs" => "ces",
        "ro" => "ron",
        "da" => "dan",
        "hu" => "hun",
        "ta" => "tam",
        "no" => "nob",
        "th" => "tha",
        "ur" => "urd",
        "hr" => "hrv",
        "bg" => "bul",
        "lt" => "lit",
        "la" => "lat",
        "ml" => "mal",
        "cy" => "cym",
        "sk" => "slk",
        "te" => "tel",
        "fa" => "pes",
        "lv" => "lav",
        "bn" => "ben",
        "sr" => "srp",
        "az" => "aze",
        "sl" => "slv",
        "kn" => "kan",
        "et" => "est",
        "mk" => "mkd",
        "hy" => "hye",
        "ne" => "nep",
        "ka" => "kat",
        "be" => "bel",
        "gu" => "guj",
        "am" => "amh",
        "yi" => "yid",
        "uz" => "uzb",
        "tk" => "tuk",
        "af" => "afr",
        "pa" => "pan",
        "si" => "sin",
        "km" => "khm",
        "sn" => "sna",
        "tl" => "tgl",
        "my" => "mya",
        "mr" => "mar",
        "jw" => "jav",
        _ => return None,
    };
    Lang::from_code(iso3)
}

fn from_whatlang(l: Lang) -> Option<&'static str> {
    crate::lang::CODES.iter().copied().find(|c| to_whatlang(c) == Some(l))
}

/// Detects a sentence's language among `allowed` (WhisperSpeech codes); `None` when unsure or when
/// fewer than two allowed languages are known to the detector.
pub struct LanguageDetector {
    detector: Option<Detector>,
}

impl LanguageDetector {
    /// A detector over `allowed`.
    pub fn new(allowed: &[String]) -> Self {
        let langs: Vec<Lang> = allowed.iter().filter_map(|c| to_whatlang(c)).collect();
        let detector = (langs.len() >= 2).then(|| Detector::with_allowlist(langs));
        LanguageDetector { detector }
    }

    /// The detected code, if the detection is reliable.
    pub fn detect(&self, text: &str) -> Option<&'static str> {
        let info = self.detector.as_ref()?.detect(text)?;
        if !info.is_reliable() {
            return None;
        }
        from_whatlang(info.lang())
    }
}
