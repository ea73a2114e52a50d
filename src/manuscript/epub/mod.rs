//! EPUB 2 and 3 reader: an `.epub` file → [`RawBook`].
//!
//! The archive is validated here before anything else touches it: it must be a ZIP whose entries stay
//! inside the archive, whose declared sizes stay under [`MAX_ENTRY_BYTES`] each and [`MAX_TOTAL_BYTES`]
//! in all, with no entry compressed more than [`MAX_RATIO`]:1 (a zip bomb is refused), with a
//! `META-INF/container.xml` pointing to a well-formed OPF package, and with no encrypted text content
//! (`META-INF/encryption.xml`; font obfuscation is allowed). Only then is the `epub` crate asked for the
//! metadata, manifest, spine and NCX, inside `catch_unwind` with its panic message silenced, so that a
//! panic in it never reaches the user. Every entry is then read through a size-limited reader.
//!
//! Chapters follow the spine. Titles come from the EPUB 3 navigation document (parsed here; the crate
//! does not), else the EPUB 2 NCX, else the document's first heading. With
//! [`ReadOptions::skip_front_matter`], `linear="no"` items, the navigation document, and cover, table of
//! contents, copyright and title pages (guide/landmarks types, `epub:type`, ids and file names) are
//! skipped with a warning. A spine document that has neither a nav/NCX entry nor a leading heading
//! continues the previous chapter (books split one chapter across files) when the book has a table of
//! contents or is fixed-layout (`rendition:layout` pre-paginated: one document per page). SVG spine
//! documents are read like XHTML ones (their text elements).
//!
//! Every error is a [`ManuscriptError::Invalid`] naming the book and the item; nothing here panics.
//!
//! Layout: `archive` (the validated ZIP and its resource limits), `container` (`META-INF`), `package`
//! (the OPF via the `epub` crate, and its guide), `spine` (itemrefs → archive entries), `nav` (titles
//! and landmarks from the nav document, NCX and guide), `front_matter`, `chapters` (spine documents →
//! chapters), `lexicons` (linked PLS files) and `paths` (href resolution).
//!
//! Owns EPUB reading. Must never import the plan, store, worker, engine, render, publish or
//! voice/audio modules; it uses only the manuscript types, the XHTML walker and the PLS reader.

mod archive;
mod chapters;
mod container;
mod front_matter;
mod lexicons;
mod nav;
mod package;
mod paths;
mod spine;

use std::path::Path;

use super::xhtml::block_text;
use super::{BookMeta, ManuscriptError, RawBlock, RawBook, RawChapter, ReadOptions};
use archive::Archive;
use nav::Toc;
use package::{is_fixed_layout, load_package, parse_opf_guide, Package};
use paths::normalize;

pub use archive::{MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_RATIO, MAX_TOTAL_BYTES, RATIO_CHECK_FROM};

/// Reads an EPUB 2 or 3 file into a [`RawBook`].
///
/// # Errors
/// [`ManuscriptError::Io`] when the file cannot be opened; [`ManuscriptError::Invalid`], naming the
/// book and the item, for a file that is not a ZIP, lacks `META-INF/container.xml` or its OPF, has a
/// spine item missing from the manifest or the archive, has DRM-encrypted content, has a path escaping
/// the archive, looks like a zip bomb, or has a spine document that is not UTF-8 text.
pub fn read_epub(path: &Path, opts: &ReadOptions) -> Result<RawBook, ManuscriptError> {
    let mut ar = Archive::open(path)?;
    let opf_path = ar.container_rootfile()?;
    ar.check_encryption()?;
    let opf_text = ar.read_text(&opf_path)?;
    let guide = parse_opf_guide(&opf_text).map_err(|m| ar.invalid(format!("package document {opf_path}: {m}")))?;
    let pkg = load_package(path).map_err(|m| ar.invalid(m))?;

    let mut book = RawBook {
        meta: BookMeta {
            title: pkg.title.clone(),
            author: pkg.author.clone(),
            language: pkg.language.clone(),
        },
        ..Default::default()
    };
    let items = spine::resolve_spine(&pkg, &ar, &opf_path)?;
    let toc = Toc::read(&mut ar, &pkg, &guide, &opf_path, &mut book.warnings);
    let fixed_layout = is_fixed_layout(&opf_text);
    chapters::read_chapters(&mut ar, &items, &toc, fixed_layout, opts, &mut book)?;
    if book.chapters.is_empty() {
        book.warnings.push("no chapter with text was found".to_string());
    }
    read_cover(&mut ar, &pkg, &mut book);
    Ok(book)
}

/// The cover image, when the package names one that is in the archive (unreadable: a warning).
fn read_cover(ar: &mut Archive, pkg: &Package, book: &mut RawBook) {
    if let Some(cover_path) = pkg
        .cover_path
        .as_deref()
        .and_then(normalize)
        .and_then(|p| ar.resolve_name(&p))
    {
        match ar.read(&cover_path) {
            Ok(bytes) => book.cover = Some((bytes, pkg.cover_mime.clone().unwrap_or_default())),
            Err(e) => book.warnings.push(format!("cover image not read: {e}")),
        }
    }
}

/// All the text of a chapter (title, blocks, footnotes) with single spaces, for diagnostics.
pub fn chapter_text(ch: &RawChapter) -> String {
    let blocks: Vec<String> = ch.blocks.iter().chain(&ch.footnotes).map(block_text).collect();
    let mut all: Vec<String> = ch.title.iter().cloned().collect();
    all.extend(blocks);
    all.join(" ")
}

/// The blocks of a chapter as plain text (test and diagnostic helper).
pub fn blocks_text(blocks: &[RawBlock]) -> Vec<String> {
    blocks.iter().map(block_text).collect()
}
