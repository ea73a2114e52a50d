//! The 99 WhisperSpeech (Whisper) language codes, their ids, and name aliases.
//!
//! The id of a language is its index in [`CODES`]; the T2S language embedding is indexed by it.
//!
//! Owns the language tables and tag resolution. A low module used by project, manuscript, plan and the
//! engines: it must never import any of them (nor `project`); its only crate import is the leaf
//! [`crate::suggest`] for "did you mean" hints.

use crate::suggest::closest;

/// WhisperSpeech language codes in id order (`whisperspeech/languages.py`).
pub const CODES: [&str; 99] = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi",
    "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml",
    "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs",
    "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am",
    "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su",
];

/// English names of the codes, in id order (Whisper's `LANGUAGES` table).
const NAMES: [&str; 99] = [
    "english",
    "chinese",
    "german",
    "spanish",
    "russian",
    "korean",
    "french",
    "japanese",
    "portuguese",
    "turkish",
    "polish",
    "catalan",
    "dutch",
    "arabic",
    "swedish",
    "italian",
    "indonesian",
    "hindi",
    "finnish",
    "vietnamese",
    "hebrew",
    "ukrainian",
    "greek",
    "malay",
    "czech",
    "romanian",
    "danish",
    "hungarian",
    "tamil",
    "norwegian",
    "thai",
    "urdu",
    "croatian",
    "bulgarian",
    "lithuanian",
    "latin",
    "maori",
    "malayalam",
    "welsh",
    "slovak",
    "telugu",
    "persian",
    "latvian",
    "bengali",
    "serbian",
    "azerbaijani",
    "slovenian",
    "kannada",
    "estonian",
    "macedonian",
    "breton",
    "basque",
    "icelandic",
    "armenian",
    "nepali",
    "mongolian",
    "bosnian",
    "kazakh",
    "albanian",
    "swahili",
    "galician",
    "marathi",
    "punjabi",
    "sinhala",
    "khmer",
    "shona",
    "yoruba",
    "somali",
    "afrikaans",
    "occitan",
    "georgian",
    "belarusian",
    "tajik",
    "sindhi",
    "gujarati",
    "amharic",
    "yiddish",
    "lao",
    "uzbek",
    "faroese",
    "haitian creole",
    "pashto",
    "turkmen",
    "nynorsk",
    "maltese",
    "sanskrit",
    "luxembourgish",
    "myanmar",
    "tibetan",
    "tagalog",
    "malagasy",
    "assamese",
    "tatar",
    "hawaiian",
    "lingala",
    "hausa",
    "bashkir",
    "javanese",
    "sundanese",
];

/// Extra aliases of `languages.py`.
const ALIASES: [(&str, &str); 11] = [
    ("burmese", "my"),
    ("valencian", "ca"),
    ("flemish", "nl"),
    ("haitian", "ht"),
    ("letzeburgesch", "lb"),
    ("pushto", "ps"),
    ("panjabi", "pa"),
    ("moldavian", "ro"),
    ("moldovan", "ro"),
    ("sinhalese", "si"),
    ("castilian", "es"),
];

/// Resolves a language tag (`en`, `en-GB`, `pl_PL`, `Polish`, `nb`) to a WhisperSpeech code.
pub fn resolve(tag: &str) -> Option<&'static str> {
    let t = tag.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    if let Some(c) = CODES.iter().find(|c| **c == t) {
        return Some(c);
    }
    if let Some(i) = NAMES.iter().position(|n| *n == t) {
        return Some(CODES[i]);
    }
    if let Some((_, c)) = ALIASES.iter().find(|(a, _)| *a == t) {
        return Some(c);
    }
    // BCP 47: take the primary subtag (`en-GB` → `en`); map a few ISO 639 variants.
    let primary = t.split(['-', '_']).next().unwrap_or("");
    if primary != t && (2..=3).contains(&primary.len()) {
        return resolve(primary);
    }
    match t.as_str() {
        "nb" => Some("no"),
        "iw" => Some("he"),
        "jv" => Some("jw"),
        "fil" => Some("tl"),
        "eng" => Some("en"),
        "pol" => Some("pl"),
        "deu" | "ger" => Some("de"),
        "fra" | "fre" => Some("fr"),
        "spa" => Some("es"),
        _ => None,
    }
}

/// The numeric id WhisperSpeech uses for a code from [`resolve`].
pub fn id(code: &str) -> Option<usize> {
    CODES.iter().position(|c| *c == code)
}

/// The closest known code or name to an unknown tag, for hints.
pub fn suggest(tag: &str) -> Option<&'static str> {
    let t = tag.to_ascii_lowercase();
    let all: Vec<&'static str> = CODES.iter().chain(NAMES.iter()).copied().collect();
    closest(&t, &all).and_then(resolve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_aliases() {
        assert_eq!(id("en"), Some(0));
        assert_eq!(id("pl"), Some(10));
        assert_eq!(id("su"), Some(98));
        assert_eq!(resolve("en-GB"), Some("en"));
        assert_eq!(resolve("Polish"), Some("pl"));
        assert_eq!(resolve("castilian"), Some("es"));
        assert_eq!(resolve("nb-NO"), Some("no"));
        assert_eq!(resolve("xx"), None);
        assert_eq!(resolve("haw"), Some("haw"));
    }
}
