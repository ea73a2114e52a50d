//! The tags of each output file: title, track, author, genre, the draft marker and `output.tags`, mapped per
//! format to the fields the big audiobook players read (the README's "Tags" table is this module's contract).
//! Keys are FFmpeg's generic metadata names, which its muxers turn into MP4 atoms, ID3v2.4 frames and Vorbis
//! comments; a key a muxer does not know becomes an ID3 `TXXX` frame (MP3) or a plain Vorbis comment (Opus) and
//! is left out of the M4B, whose extras go into its comment instead.

use super::BookAssembly;
use crate::audio::encode::OutFormat;

/// The comment of a draft's files.
pub const DRAFT_COMMENT: &str = "draft: espeak-ng";

/// The tags of one file of `book` in `format`: `title` (and `track` for a chapter file) first.
pub fn file_tags(book: &BookAssembly, format: OutFormat, title: &str, track: Option<String>) -> Vec<(String, String)> {
    let t = &book.tags;
    let mut v: Vec<(String, String)> = vec![("title".into(), title.to_string())];
    let mut put = |k: &str, val: &str| v.push((k.to_string(), val.to_string()));
    if let Some(n) = &track {
        put("track", n);
    }
    put("album", &book.title);
    put("artist", &book.author);
    put("album_artist", &book.author);
    put("genre", t.genre.as_deref().unwrap_or(&book.genre));
    let opt = |o: &Option<String>| o.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(n) = opt(&t.narrator) {
        // the audiobook convention: the narrator is the composer (M4B ©wrt, ID3 TCOM, Vorbis COMPOSER)
        put("composer", &n);
    }
    if let Some(d) = opt(&t.date) {
        put("date", &d);
    }
    if let Some(c) = opt(&t.copyright) {
        put("copyright", &c);
    }
    if let Some(s) = opt(&t.series) {
        // M4B ©grp, ID3 TIT1 (content group): where Apple Books, Plex and Audiobookshelf look for a series
        put("grouping", &s);
    }
    // what has no field of its own in the format goes into the comment, after the draft marker
    let mut extras: Vec<String> = Vec::new();
    if book.draft {
        extras.push(DRAFT_COMMENT.into());
    }
    match format {
        OutFormat::M4b => {
            if let Some(d) = opt(&t.description) {
                put("description", &d);
                put("synopsis", &d);
            }
            let named = [
                ("Narrator", opt(&t.narrator)),
                ("Publisher", opt(&t.publisher)),
                ("Series", series_line(t)),
                ("ISBN", opt(&t.isbn)),
                ("ASIN", opt(&t.asin)),
            ];
            extras.extend(named.into_iter().filter_map(|(k, v)| v.map(|v| format!("{k}: {v}"))));
        }
        OutFormat::Mp3 => {
            let fields = [
                ("publisher", opt(&t.publisher)), // TPUB
                ("NARRATOR", opt(&t.narrator)),   // TXXX
                ("SERIES", opt(&t.series)),
                ("SERIES-PART", opt(&t.series_index)),
                ("ISBN", opt(&t.isbn)),
                ("ASIN", opt(&t.asin)),
                ("description", opt(&t.description)),
            ];
            for (k, val) in fields {
                if let Some(val) = val {
                    put(k, &val);
                }
            }
        }
        OutFormat::Opus => {
            // Vorbis comments: ORGANIZATION is the standard publisher field; FFmpeg writes `comment` as
            // DESCRIPTION, so the description joins the comment there
            let fields = [
                ("ORGANIZATION", opt(&t.publisher)),
                ("NARRATOR", opt(&t.narrator)),
                ("PERFORMER", opt(&t.narrator)),
                ("SERIES", opt(&t.series)),
                ("SERIES-PART", opt(&t.series_index)),
                ("ISBN", opt(&t.isbn)),
                ("ASIN", opt(&t.asin)),
            ];
            for (k, val) in fields {
                if let Some(val) = val {
                    put(k, &val);
                }
            }
            if let Some(d) = opt(&t.description) {
                extras.push(d);
            }
        }
    }
    if !extras.is_empty() {
        put("comment", &extras.join("; "));
    }
    v
}

/// "Name, book N" (or the name alone).
fn series_line(t: &crate::project::OutputTags) -> Option<String> {
    let s = t.series.clone()?;
    Some(match &t.series_index {
        Some(i) => format!("{s}, book {i}"),
        None => s,
    })
}
