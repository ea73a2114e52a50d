//! Chapters: the spine documents read in order and walked into chapters. Titles come from the
//! navigation, else the document's leading heading; a document with neither continues the previous
//! chapter when the book has a table of contents (books split one chapter across files) or is
//! fixed-layout (one document per page). Non-document items and (optionally) front matter are skipped with
//! a warning.
//!
//! Owns the spine-document → chapter rules; imports nothing outside the manuscript types.

use super::super::xhtml::{self, block_text, Walked};
use super::super::{BlockKind, ManuscriptError, RawBlock, RawBook, RawChapter, ReadOptions};
use super::archive::Archive;
use super::front_matter::{front_structural_type, pre_read_skip};
use super::lexicons::LinkedLexicons;
use super::nav::Toc;
use super::spine::Item;

/// Reads the spine `items` in order into `book`'s chapters, lexicon and warnings.
///
/// # Errors
/// A spine document that cannot be read from the archive or is not text.
pub(super) fn read_chapters(
    ar: &mut Archive,
    items: &[Item],
    toc: &Toc,
    fixed_layout: bool,
    opts: &ReadOptions,
    book: &mut RawBook,
) -> Result<(), ManuscriptError> {
    // Untitled documents continue the previous chapter in a book with a table of contents, and always in
    // a fixed-layout book, whose documents are pages.
    let continues = !toc.titles.is_empty() || fixed_layout;
    let mut lexicons = LinkedLexicons::default();
    for item in items {
        let label = format!("{} ({})", item.path, item.id);
        if !item.is_document() {
            book.warnings
                .push(format!("skipped {label}: not an XHTML document ({})", item.mime));
            continue;
        }
        if opts.skip_front_matter {
            if let Some(reason) = pre_read_skip(item.linear, &item.properties, &item.id, &item.path, &toc.front) {
                book.warnings.push(format!("skipped {label}: {reason}"));
                continue;
            }
        }
        let text = ar.read_text(&item.path)?;
        let (walked, lenient) = xhtml::walk_html(&text);
        if let Some(err) = lenient {
            book.warnings.push(format!(
                "{}: not well-formed XHTML ({err}); read with the tolerant HTML parser",
                item.path
            ));
        }
        if opts.skip_front_matter {
            if let Some(t) = front_structural_type(&walked.structural_types) {
                book.warnings.push(format!("skipped {label}: epub:type \"{t}\""));
                continue;
            }
        }
        lexicons.read(ar, &item.path, &walked.pronunciation_links, book);
        add_chapter(book, &label, walked, toc.titles.get(&item.path), continues);
    }
    Ok(())
}

/// Adds a walked spine document to `book`: a new chapter, a continuation of the previous one, or
/// nothing (with a warning) when it has no text.
fn add_chapter(book: &mut RawBook, label: &str, walked: Walked, nav_title: Option<&String>, continues: bool) {
    let mut blocks = walked.blocks;
    let title = chapter_title(nav_title, &mut blocks);
    if title.is_none() && continues {
        if let Some(prev) = book.chapters.last_mut() {
            // A continuation file of the previous chapter.
            prev.blocks.extend(blocks);
            prev.footnotes.extend(walked.footnotes);
            return;
        }
    }
    if title.is_none() && blocks.is_empty() && walked.footnotes.is_empty() {
        book.warnings.push(format!("skipped {label}: no text"));
        return;
    }
    book.chapters.push(RawChapter {
        title,
        blocks,
        footnotes: walked.footnotes,
    });
}

/// The chapter's title: the navigation's, else the leading heading. A leading heading is removed from
/// `blocks` when it becomes the title or repeats it (case-insensitively); one that differs stays.
fn chapter_title(nav_title: Option<&String>, blocks: &mut Vec<RawBlock>) -> Option<String> {
    let first_heading = blocks.first().filter(|b| b.kind == BlockKind::Heading).map(block_text);
    match (nav_title, first_heading) {
        (Some(t), Some(h)) => {
            if h.to_lowercase() == t.to_lowercase() {
                blocks.remove(0);
            }
            Some(t.clone())
        }
        (Some(t), None) => Some(t.clone()),
        (None, Some(h)) => {
            blocks.remove(0);
            Some(h)
        }
        (None, None) => None,
    }
}
