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

/// Languages outside the 99 with an obvious closest listed language: (ISO 639 code, WhisperSpeech code,
/// why). Historic stages fall back to their modern descendant, members of an ISO 639 macro-language to
/// the macro-language, dialects and close varieties to their standard language. Anything not here has
/// no obvious stand-in and is read in the surrounding language (see [`fallback`]).
const FALLBACKS: &[(&str, &str, &str)] = &[
    ("grc", "el", "Ancient Greek, read as modern Greek"),
    ("gmy", "el", "Mycenaean Greek, read as modern Greek"),
    ("pnt", "el", "Pontic Greek, a Greek variety"),
    ("ell", "el", "ISO 639-2 code of Greek"),
    ("sco", "en", "Scots, closest to English"),
    ("ang", "en", "Old English, read as English"),
    ("enm", "en", "Middle English, read as English"),
    ("fro", "fr", "Old French, read as French"),
    ("frm", "fr", "Middle French, read as French"),
    ("wa", "fr", "Walloon, a langue d'oïl read as French"),
    ("pcd", "fr", "Picard, a langue d'oïl read as French"),
    ("nrf", "fr", "Norman, a langue d'oïl read as French"),
    ("frp", "fr", "Franco-Provençal, closest to French"),
    ("pro", "oc", "Old Provençal, read as Occitan"),
    ("goh", "de", "Old High German, read as German"),
    ("gmh", "de", "Middle High German, read as German"),
    ("gsw", "de", "Swiss German, a German variety"),
    ("bar", "de", "Bavarian, a German variety"),
    ("ksh", "de", "Kölsch, a German variety"),
    ("nds", "de", "Low German, read as German"),
    ("li", "nl", "Limburgish, closest to Dutch"),
    ("vls", "nl", "West Flemish, a Dutch variety"),
    ("zea", "nl", "Zeelandic, a Dutch variety"),
    ("osp", "es", "Old Spanish, read as Spanish"),
    ("ast", "es", "Asturian, closest to Spanish"),
    ("an", "es", "Aragonese, closest to Spanish"),
    ("lad", "es", "Judaeo-Spanish, closest to Spanish"),
    ("co", "it", "Corsican, closest to Italian"),
    ("scn", "it", "Sicilian, an Italo-Romance variety"),
    ("nap", "it", "Neapolitan, an Italo-Romance variety"),
    ("vec", "it", "Venetian, an Italo-Romance variety"),
    ("lmo", "it", "Lombard, an Italo-Romance variety"),
    ("roa-opt", "pt", "Old Portuguese, read as Portuguese"),
    (
        "non",
        "is",
        "Old Norse, read as Icelandic (its closest living descendant)",
    ),
    ("nob", "no", "Norwegian Bokmål, read as Norwegian"),
    ("nno", "nn", "Norwegian Nynorsk (ISO 639-2 code)"),
    ("csb", "pl", "Kashubian, closest to Polish"),
    ("szl", "pl", "Silesian, closest to Polish"),
    ("rue", "uk", "Rusyn, closest to Ukrainian"),
    ("orv", "ru", "Old East Slavic, read as Russian"),
    ("cu", "ru", "Church Slavonic, read as Russian"),
    ("chu", "ru", "Church Slavonic, read as Russian"),
    ("hbo", "he", "Biblical Hebrew, read as modern Hebrew"),
    ("ota", "tr", "Ottoman Turkish, read as Turkish"),
    ("hyw", "hy", "Western Armenian, an Armenian variety"),
    ("xcl", "hy", "Classical Armenian, read as Armenian"),
    ("arb", "ar", "Standard Arabic, a member of the macro-language ar"),
    ("arz", "ar", "Egyptian Arabic, a member of the macro-language ar"),
    ("apc", "ar", "Levantine Arabic, a member of the macro-language ar"),
    ("ary", "ar", "Moroccan Arabic, a member of the macro-language ar"),
    ("cmn", "zh", "Mandarin, a member of the macro-language zh"),
    ("yue", "zh", "Cantonese, a member of the macro-language zh"),
    ("wuu", "zh", "Wu, a member of the macro-language zh"),
    ("nan", "zh", "Min Nan, a member of the macro-language zh"),
    ("hak", "zh", "Hakka, a member of the macro-language zh"),
    ("lzh", "zh", "Literary Chinese, a member of the macro-language zh"),
    ("pes", "fa", "Iranian Persian, a member of the macro-language fa"),
    ("prs", "fa", "Dari, a member of the macro-language fa"),
    ("zsm", "ms", "Standard Malay, a member of the macro-language ms"),
    ("ind", "id", "ISO 639-2 code of Indonesian"),
    ("in", "id", "the withdrawn code of Indonesian"),
    ("ji", "yi", "the withdrawn code of Yiddish"),
    ("ydd", "yi", "Eastern Yiddish, a member of the macro-language yi"),
    ("mo", "ro", "the withdrawn code of Moldavian (Romanian)"),
    ("swh", "sw", "Swahili, a member of the macro-language sw"),
    ("ekk", "et", "Standard Estonian, a member of the macro-language et"),
    ("lvs", "lv", "Standard Latvian, a member of the macro-language lv"),
    ("als", "sq", "Tosk Albanian, a member of the macro-language sq"),
    ("aln", "sq", "Gheg Albanian, a member of the macro-language sq"),
    ("uzn", "uz", "Northern Uzbek, a member of the macro-language uz"),
    ("pbu", "ps", "Northern Pashto, a member of the macro-language ps"),
    ("npi", "ne", "Nepali, a member of the macro-language ne"),
    ("khk", "mn", "Halh Mongolian, a member of the macro-language mn"),
    ("tgl", "tl", "ISO 639-2 code of Tagalog"),
    ("lat", "la", "ISO 639-2 code of Latin"),
    ("ita", "it", "ISO 639-2 code of Italian"),
    ("rus", "ru", "ISO 639-2 code of Russian"),
    ("por", "pt", "ISO 639-2 code of Portuguese"),
    ("nld", "nl", "ISO 639-2 code of Dutch"),
    ("dut", "nl", "ISO 639-2 code of Dutch"),
    ("gre", "el", "ISO 639-2 code of Greek"),
    ("heb", "he", "ISO 639-2 code of Hebrew"),
    ("ces", "cs", "ISO 639-2 code of Czech"),
    ("cze", "cs", "ISO 639-2 code of Czech"),
    ("ukr", "uk", "ISO 639-2 code of Ukrainian"),
    ("zho", "zh", "ISO 639-2 code of Chinese"),
    ("chi", "zh", "ISO 639-2 code of Chinese"),
    ("jpn", "ja", "ISO 639-2 code of Japanese"),
];

/// A language outside the 99 read as a listed one: the code it falls back to and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback {
    /// The WhisperSpeech code used instead.
    pub code: &'static str,
    /// Why that code (e.g. "Ancient Greek, read as modern Greek").
    pub reason: &'static str,
}

/// The closest listed language for a tag [`resolve`] does not know (`grc` → `el`, `sco` → `en`,
/// `grc-Grek` → `el`), when one is obvious; `None` otherwise (the caller then uses the surrounding
/// language). Tags [`resolve`] knows are not looked up here.
pub fn fallback(tag: &str) -> Option<Fallback> {
    let t = tag.trim().to_ascii_lowercase().replace('_', "-");
    let find = |k: &str| {
        FALLBACKS
            .iter()
            .find(|(c, _, _)| *c == k)
            .map(|(_, code, reason)| Fallback { code, reason })
    };
    find(&t).or_else(|| find(t.split('-').next().unwrap_or("")))
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

    #[test]
    fn fallbacks_point_at_listed_codes_and_never_shadow_them() {
        for (tag, code, reason) in FALLBACKS {
            assert!(id(code).is_some(), "{tag} falls back to the unknown code {code}");
            assert_eq!(resolve(tag), None, "{tag} is already known; it needs no fallback");
            assert!(!reason.is_empty());
        }
        assert_eq!(fallback("grc").map(|f| f.code), Some("el"));
        assert_eq!(fallback("GRC-Grek").map(|f| f.code), Some("el"));
        assert_eq!(fallback("sco").map(|f| f.code), Some("en"));
        assert_eq!(fallback("yue-HK").map(|f| f.code), Some("zh"));
        assert_eq!(fallback("qaa"), None);
    }
}
