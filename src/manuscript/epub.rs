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
//! continues the previous chapter (books split one chapter across files).
//!
//! Every error is a [`ManuscriptError::Invalid`] naming the book and the item; nothing here panics.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::pls::parse_pls;
use super::xhtml::{self, block_text, Element};
use super::{BlockKind, BookMeta, ManuscriptError, RawBlock, RawBook, RawChapter, ReadOptions};

/// Largest uncompressed size accepted for one archive entry.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Largest total uncompressed size accepted for the whole archive.
pub const MAX_TOTAL_BYTES: u64 = 512 << 20;
/// Largest compression ratio accepted for an entry bigger than [`RATIO_CHECK_FROM`].
pub const MAX_RATIO: u64 = 100;
/// Entries at least this big (uncompressed) are subject to the [`MAX_RATIO`] check.
pub const RATIO_CHECK_FROM: u64 = 1 << 20;
/// Largest number of entries accepted.
pub const MAX_ENTRIES: usize = 50_000;

const MIB: u64 = 1 << 20;

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

    // Resolve and check every spine item first: a broken book fails before any work.
    struct Item {
        id: String,
        path: String,
        mime: String,
        linear: bool,
        properties: String,
    }
    let mut items = Vec::with_capacity(pkg.spine.len());
    for s in &pkg.spine {
        let Some(res) = pkg.resources.get(&s.idref) else {
            return Err(ar.invalid(format!(
                "spine itemref \"{}\" refers to no item in the manifest of {opf_path}",
                s.idref
            )));
        };
        let path = normalize(&res.path).ok_or_else(|| {
            ar.invalid(format!(
                "spine item \"{}\" has a path escaping the archive: {}",
                s.idref, res.path
            ))
        })?;
        let Some(path) = ar.resolve_name(&path) else {
            return Err(ar.invalid(format!(
                "spine item \"{}\" ({path}) is missing from the archive",
                s.idref
            )));
        };
        items.push(Item {
            id: s.idref.clone(),
            path,
            mime: res.mime.clone(),
            linear: s.linear,
            properties: format!("{} {}", res.properties, s.properties),
        });
    }
    if items.is_empty() {
        return Err(ar.invalid(format!("the spine of {opf_path} lists no documents")));
    }

    // Chapter titles: EPUB 3 nav, then EPUB 2 NCX. Landmarks and guide give front-matter types.
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut front: HashMap<String, String> = HashMap::new();
    for (ty, href) in &guide {
        if let Some(p) = resolve_href(&dir_of(&opf_path), href) {
            if is_front_type(ty) {
                front.entry(p).or_insert_with(|| ty.clone());
            }
        }
    }
    let nav_path = pkg
        .nav_path
        .as_deref()
        .and_then(normalize)
        .and_then(|p| ar.resolve_name(&p));
    if let Some(nav) = &nav_path {
        match ar.read_text(nav) {
            Ok(text) => {
                let parsed = xhtml::parse(&text);
                read_nav(&parsed.root, &dir_of(nav), &mut titles, &mut front);
            }
            Err(e) => book.warnings.push(format!("navigation document {nav} not read: {e}")),
        }
    }
    for (label, content) in &pkg.ncx {
        if let Some(p) = resolve_href("", content) {
            let label = collapse(label);
            if !label.is_empty() {
                titles.entry(p).or_insert(label);
            }
        }
    }
    let have_toc = !titles.is_empty();

    let mut lexicons_seen: HashSet<String> = HashSet::new();
    let mut lexicon_keys: HashSet<(String, String, Option<String>)> = HashSet::new();
    for item in &items {
        let label = format!("{} ({})", item.path, item.id);
        if !is_document_mime(&item.mime) {
            book.warnings
                .push(format!("skipped {label}: not an XHTML document ({})", item.mime));
            continue;
        }
        if opts.skip_front_matter {
            if let Some(reason) = pre_read_skip(item.linear, &item.properties, &item.id, &item.path, &front) {
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
        // Pronunciation lexicons linked from this document.
        for link in &walked.pronunciation_links {
            let Some(p) = resolve_href(&dir_of(&item.path), &link.href) else {
                continue;
            };
            if !lexicons_seen.insert(p.clone()) {
                continue;
            }
            let Some(name) = ar.resolve_name(&p) else {
                book.warnings.push(format!(
                    "{}: pronunciation lexicon {p} is missing from the archive",
                    item.path
                ));
                continue;
            };
            let lex = ar
                .read_text(&name)
                .and_then(|t| parse_pls(&t, link.hreflang.as_deref(), &name).map_err(|m| ar.invalid(m)));
            match lex {
                Ok(lex) => {
                    book.warnings.extend(lex.warnings);
                    for e in lex.entries {
                        if lexicon_keys.insert((e.grapheme.clone(), e.alias.clone(), e.lang.clone())) {
                            book.lexicon.push(e);
                        }
                    }
                }
                Err(e) => book.warnings.push(format!("pronunciation lexicon not read: {e}")),
            }
        }

        let mut blocks = walked.blocks;
        let nav_title = titles.get(&item.path).cloned();
        let first_heading = blocks.first().filter(|b| b.kind == BlockKind::Heading).map(block_text);
        let title = match (&nav_title, &first_heading) {
            (Some(t), Some(h)) => {
                if h.to_lowercase() == t.to_lowercase() {
                    blocks.remove(0);
                }
                Some(t.clone())
            }
            (Some(t), None) => Some(t.clone()),
            (None, Some(h)) => {
                blocks.remove(0);
                Some(h.clone())
            }
            (None, None) => None,
        };
        if title.is_none() && have_toc {
            if let Some(prev) = book.chapters.last_mut() {
                // A continuation file of the previous chapter.
                prev.blocks.extend(blocks);
                prev.footnotes.extend(walked.footnotes);
                continue;
            }
        }
        if title.is_none() && blocks.is_empty() && walked.footnotes.is_empty() {
            book.warnings.push(format!("skipped {label}: no text"));
            continue;
        }
        book.chapters.push(RawChapter {
            title,
            blocks,
            footnotes: walked.footnotes,
        });
    }
    if book.chapters.is_empty() {
        book.warnings.push("no chapter with text was found".to_string());
    }

    // Cover image.
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
    Ok(book)
}

// ---------------------------------------------------------------- archive

/// A validated ZIP archive with size-limited reads.
struct Archive {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
    names: HashSet<String>,
    total_read: u64,
}

impl Archive {
    fn invalid(&self, message: impl Into<String>) -> ManuscriptError {
        ManuscriptError::Invalid {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// Opens and validates the archive: ZIP structure, entry names, sizes, ratios.
    fn open(path: &Path) -> Result<Archive, ManuscriptError> {
        let invalid = |m: String| ManuscriptError::Invalid {
            path: path.to_path_buf(),
            message: m,
        };
        let file = File::open(path).map_err(|source| ManuscriptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| invalid(format!("not an EPUB: not a ZIP archive ({e})")))?;
        if zip.len() > MAX_ENTRIES {
            return Err(invalid(format!(
                "has {} archive entries (limit {MAX_ENTRIES})",
                zip.len()
            )));
        }
        let mut names = HashSet::with_capacity(zip.len());
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let f = zip
                .by_index_raw(i)
                .map_err(|e| invalid(format!("archive entry #{i} is unreadable: {e}")))?;
            let name = f
                .name()
                .map_err(|e| invalid(format!("archive entry #{i} has an unreadable name: {e}")))?
                .to_string();
            if escapes(&name) {
                return Err(invalid(format!(
                    "archive entry \"{name}\" has a path escaping the archive"
                )));
            }
            let size = f.size();
            let packed = f.compressed_size();
            if size > MAX_ENTRY_BYTES {
                return Err(invalid(format!(
                    "archive entry \"{name}\" is {} MiB uncompressed (limit {} MiB): refusing a possible zip bomb",
                    size / MIB,
                    MAX_ENTRY_BYTES / MIB
                )));
            }
            if size >= RATIO_CHECK_FROM && size / packed.max(1) > MAX_RATIO {
                return Err(invalid(format!(
                    "archive entry \"{name}\" is compressed {}:1 (limit {MAX_RATIO}:1): refusing a possible zip bomb",
                    size / packed.max(1)
                )));
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(invalid(format!(
                    "archive is more than {} MiB uncompressed: refusing a possible zip bomb",
                    MAX_TOTAL_BYTES / MIB
                )));
            }
            if !f.is_dir() {
                names.insert(name);
            }
        }
        Ok(Archive {
            path: path.to_path_buf(),
            zip,
            names,
            total_read: 0,
        })
    }

    /// The archive's name for `path`: as is, or percent-decoded.
    fn resolve_name(&self, path: &str) -> Option<String> {
        if self.names.contains(path) {
            return Some(path.to_string());
        }
        let decoded = percent_decode(path);
        self.names.contains(&decoded).then_some(decoded)
    }

    /// Reads an entry, never more than [`MAX_ENTRY_BYTES`] (declared sizes may lie).
    fn read(&mut self, name: &str) -> Result<Vec<u8>, ManuscriptError> {
        let path = self.path.clone();
        let invalid = |m: String| ManuscriptError::Invalid {
            path: path.clone(),
            message: m,
        };
        let mut f = self.zip.by_name(name).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m == zip::result::ZipError::PASSWORD_REQUIRED => {
                invalid(format!("item {name} is encrypted (DRM-protected books cannot be read)"))
            }
            zip::result::ZipError::FileNotFound => invalid(format!("item {name} is missing from the archive")),
            e => invalid(format!("item {name} cannot be read: {e}")),
        })?;
        let mut buf = Vec::with_capacity(f.size().min(MAX_ENTRY_BYTES) as usize);
        (&mut f)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| invalid(format!("item {name} cannot be read: {e}")))?;
        if buf.len() as u64 > MAX_ENTRY_BYTES {
            return Err(invalid(format!(
                "item {name} inflates beyond {} MiB: refusing a possible zip bomb",
                MAX_ENTRY_BYTES / MIB
            )));
        }
        self.total_read += buf.len() as u64;
        if self.total_read > MAX_TOTAL_BYTES {
            return Err(invalid(format!(
                "archive inflates beyond {} MiB: refusing a possible zip bomb",
                MAX_TOTAL_BYTES / MIB
            )));
        }
        Ok(buf)
    }

    /// Reads an entry as text: UTF-8 (BOM allowed), UTF-16 with a BOM, or ISO-8859-1 when the XML
    /// declaration says so.
    fn read_text(&mut self, name: &str) -> Result<String, ManuscriptError> {
        let bytes = self.read(name)?;
        decode_text(&bytes).map_err(|m| self.invalid(format!("item {name} {m}")))
    }

    /// Reads `META-INF/container.xml` and returns the OPF path it names (which must exist).
    fn container_rootfile(&mut self) -> Result<String, ManuscriptError> {
        const CONTAINER: &str = "META-INF/container.xml";
        if !self.names.contains(CONTAINER) {
            return Err(self.invalid(format!("not an EPUB: missing {CONTAINER}")));
        }
        let text = self.read_text(CONTAINER)?;
        let doc = roxmltree::Document::parse(&text)
            .map_err(|e| self.invalid(format!("{CONTAINER} is not valid XML: {e}")))?;
        let rootfiles: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("rootfile")).collect();
        let chosen = rootfiles
            .iter()
            .find(|n| n.attribute("media-type") == Some("application/oebps-package+xml"))
            .or_else(|| rootfiles.first())
            .and_then(|n| n.attribute("full-path"))
            .ok_or_else(|| self.invalid(format!("{CONTAINER} names no package document (rootfile full-path)")))?;
        let norm = normalize(chosen)
            .ok_or_else(|| self.invalid(format!("{CONTAINER} points to {chosen}, a path escaping the archive")))?;
        self.resolve_name(&norm).ok_or_else(|| {
            self.invalid(format!(
                "{CONTAINER} points to the package document {chosen}, which is missing from the archive"
            ))
        })
    }

    /// Refuses encrypted content listed in `META-INF/encryption.xml`; font obfuscation is allowed.
    fn check_encryption(&mut self) -> Result<(), ManuscriptError> {
        const ENC: &str = "META-INF/encryption.xml";
        if !self.names.contains(ENC) {
            return Ok(());
        }
        let text = self.read_text(ENC)?;
        let doc =
            roxmltree::Document::parse(&text).map_err(|e| self.invalid(format!("{ENC} is not valid XML: {e}")))?;
        for data in doc.descendants().filter(|n| n.tag_name().name() == "EncryptedData") {
            let algorithm = data
                .descendants()
                .find(|n| n.tag_name().name() == "EncryptionMethod")
                .and_then(|n| n.attribute("Algorithm"))
                .unwrap_or("");
            let uri = data
                .descendants()
                .find(|n| n.tag_name().name() == "CipherReference")
                .and_then(|n| n.attribute("URI"))
                .unwrap_or("(unnamed item)");
            let obfuscation = matches!(
                algorithm,
                "http://www.idpf.org/2008/embedding" | "http://ns.adobe.com/pdf/enc#RC"
            );
            let lower = uri.to_ascii_lowercase();
            let font = [".ttf", ".otf", ".woff", ".woff2", ".ttc", ".eot"]
                .iter()
                .any(|e| lower.ends_with(e));
            if !(obfuscation && font) {
                return Err(self.invalid(format!(
                    "the book is DRM-encrypted ({ENC} lists {uri} as encrypted with {algorithm}); it cannot be read"
                )));
            }
        }
        Ok(())
    }
}

/// Whether a ZIP entry name escapes the archive (`..` components, absolute paths, drive letters).
fn escapes(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)?
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(e) => {
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
                let latin1 = head.starts_with("<?xml")
                    && ["iso-8859-1", "latin1", "latin-1", "iso8859-1"]
                        .iter()
                        .any(|n| head.contains(n));
                if latin1 {
                    bytes.iter().map(|&b| b as char).collect()
                } else {
                    return Err(format!(
                        "is not valid UTF-8 (invalid byte at offset {})",
                        e.valid_up_to()
                    ));
                }
            }
        }
    };
    if text.contains('\0') {
        return Err("is not a text document (contains NUL characters)".to_string());
    }
    Ok(text)
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> Result<String, String> {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| "is not valid UTF-16".to_string())
}

// ---------------------------------------------------------------- package (via the epub crate)

struct SpineRef {
    idref: String,
    linear: bool,
    properties: String,
}

struct Resource {
    path: String,
    mime: String,
    properties: String,
}

/// What the `epub` crate gives us, copied out of it inside `catch_unwind`.
struct Package {
    title: Option<String>,
    author: Option<String>,
    language: Option<String>,
    spine: Vec<SpineRef>,
    resources: HashMap<String, Resource>,
    /// NCX entries (label, content path with fragment), depth-first.
    ncx: Vec<(String, String)>,
    nav_path: Option<String>,
    cover_path: Option<String>,
    cover_mime: Option<String>,
}

fn load_package(path: &Path) -> Result<Package, String> {
    let result = quietly(|| -> Result<Package, String> {
        let doc = epub::doc::EpubDoc::new(path).map_err(|e| format!("the package document cannot be read: {e}"))?;
        let meta = |name: &str| doc.mdata(name).map(|m| collapse(&m.value)).filter(|v| !v.is_empty());
        let resources: HashMap<String, Resource> = doc
            .resources
            .iter()
            .map(|(id, r)| {
                let res = Resource {
                    path: r.path.to_string_lossy().replace('\\', "/"),
                    mime: r.mime.clone(),
                    properties: r.properties.clone().unwrap_or_default(),
                };
                (id.clone(), res)
            })
            .collect();
        let mut ncx = Vec::new();
        fn flatten(points: &[epub::doc::NavPoint], out: &mut Vec<(String, String)>) {
            for p in points {
                out.push((p.label.clone(), p.content.to_string_lossy().replace('\\', "/")));
                flatten(&p.children, out);
            }
        }
        flatten(&doc.toc, &mut ncx);
        let nav_path = resources
            .values()
            .find(|r| r.properties.split_ascii_whitespace().any(|p| p == "nav"))
            .map(|r| r.path.clone());
        let cover = resources
            .values()
            .find(|r| r.properties.split_ascii_whitespace().any(|p| p == "cover-image"))
            .or_else(|| doc.mdata("cover").and_then(|m| resources.get(m.value.trim())))
            .filter(|r| r.mime.starts_with("image/"));
        Ok(Package {
            title: meta("title"),
            author: meta("creator"),
            language: meta("language"),
            spine: doc
                .spine
                .iter()
                .map(|s| SpineRef {
                    idref: s.idref.clone(),
                    linear: s.linear,
                    properties: s.properties.clone().unwrap_or_default(),
                })
                .collect(),
            cover_path: cover.map(|r| r.path.clone()),
            cover_mime: cover.map(|r| r.mime.clone()),
            resources,
            ncx,
            nav_path,
        })
    });
    match result {
        Ok(r) => r,
        Err(_) => Err("the package document is malformed (the EPUB parser failed on it)".to_string()),
    }
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic and keeping the default hook from printing it (only on this thread and
/// only for this call; other panics are reported as usual).
fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r
}

/// `(type, href)` of the OPF `<guide>` references; also checks the package is well-formed XML.
fn parse_opf_guide(text: &str) -> Result<Vec<(String, String)>, String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| format!("not valid XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "package" {
        return Err(format!(
            "root element is <{}>, expected <package>",
            root.tag_name().name()
        ));
    }
    for needed in ["metadata", "manifest", "spine"] {
        if !root.children().any(|n| n.tag_name().name() == needed) {
            return Err(format!("has no <{needed}>"));
        }
    }
    Ok(root
        .descendants()
        .filter(|n| n.tag_name().name() == "reference")
        .filter_map(|n| {
            Some((
                n.attribute("type")?.to_ascii_lowercase(),
                n.attribute("href")?.to_string(),
            ))
        })
        .collect())
}

// ---------------------------------------------------------------- navigation

/// Reads the EPUB 3 nav document: the `toc` nav's links give titles (first link to a file wins), the
/// `landmarks` nav's links give front-matter types.
fn read_nav(root: &Element, dir: &str, titles: &mut HashMap<String, String>, front: &mut HashMap<String, String>) {
    let mut navs = Vec::new();
    collect(root, "nav", &mut navs);
    let toc = navs.iter().find(|n| n.has_semantic("toc")).or_else(|| {
        navs.iter()
            .find(|n| !n.has_semantic("landmarks") && !n.has_semantic("page-list"))
    });
    if let Some(toc) = toc {
        let mut links = Vec::new();
        collect(toc, "a", &mut links);
        for a in links {
            let (Some(href), label) = (a.attr("href"), collapse(&a.text_content())) else {
                continue;
            };
            if let Some(p) = resolve_href(dir, href) {
                if !label.is_empty() {
                    titles.entry(p).or_insert(label);
                }
            }
        }
    }
    for lm in navs.iter().filter(|n| n.has_semantic("landmarks")) {
        let mut links = Vec::new();
        collect(lm, "a", &mut links);
        for a in links {
            let Some(href) = a.attr("href") else { continue };
            let Some(ty) = a
                .attr("epub:type")
                .and_then(|t| t.split_ascii_whitespace().find(|t| is_front_type(t)))
            else {
                continue;
            };
            if let Some(p) = resolve_href(dir, href) {
                front.entry(p).or_insert_with(|| ty.to_string());
            }
        }
    }
}

fn collect<'a>(e: &'a Element, name: &str, out: &mut Vec<&'a Element>) {
    for c in e.elements() {
        if c.name == name {
            out.push(c);
        }
        collect(c, name, out);
    }
}

fn is_front_type(t: &str) -> bool {
    matches!(
        t.to_ascii_lowercase().as_str(),
        "cover" | "toc" | "copyright-page" | "copyright" | "titlepage" | "title-page" | "halftitlepage" | "landmarks"
    )
}

fn is_document_mime(mime: &str) -> bool {
    matches!(
        mime,
        "application/xhtml+xml" | "text/html" | "application/xml" | "text/xml" | "text/x-oeb1-document" | ""
    )
}

/// Why an item is skipped as front matter, judged before reading it.
fn pre_read_skip(
    linear: bool,
    properties: &str,
    id: &str,
    path: &str,
    front: &HashMap<String, String>,
) -> Option<String> {
    if !linear {
        return Some("linear=\"no\"".to_string());
    }
    if properties.split_ascii_whitespace().any(|p| p == "nav") {
        return Some("navigation document".to_string());
    }
    if let Some(ty) = front.get(path) {
        return Some(format!("{ty} page (guide/landmarks)"));
    }
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem.split('.').next().unwrap_or(stem);
    for name in [id, stem] {
        let lower = name.to_ascii_lowercase();
        if lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| matches!(t, "cover" | "copyright" | "toc" | "titlepage" | "coverpage" | "nav"))
        {
            return Some(format!("front matter (named \"{name}\")"));
        }
    }
    None
}

/// A front-matter `epub:type`/`role` on `<body>` or, when every typed child of body is front matter,
/// on its children.
fn front_structural_type(types: &[String]) -> Option<&str> {
    let front: Vec<&String> = types
        .iter()
        .filter(|t| is_front_type(t) && t.as_str() != "landmarks")
        .collect();
    let main = types.iter().any(|t| {
        matches!(
            t.as_str(),
            "chapter" | "bodymatter" | "part" | "division" | "doc-chapter"
        )
    });
    if main {
        return None;
    }
    front.first().map(|t| t.as_str())
}

// ---------------------------------------------------------------- paths and text

/// Directory part of an archive path (`OPS/text/ch1.xhtml` → `OPS/text`).
fn dir_of(path: &str) -> String {
    path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// Resolves `href` (relative to `dir`) to an archive path, dropping the fragment and query and
/// percent-decoding. `None` for external URLs, empty hrefs and paths escaping the archive.
fn resolve_href(dir: &str, href: &str) -> Option<String> {
    let href = href.split(['#', '?']).next().unwrap_or("");
    if href.is_empty() || href.contains("://") || href.starts_with("mailto:") {
        return None;
    }
    let href = percent_decode(href);
    let joined = if dir.is_empty() { href } else { format!("{dir}/{href}") };
    normalize(&joined)
}

/// Normalises `a/./b/../c` to `a/c`; `None` when the path is absolute or climbs out of the root.
fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(normalize("OPS/../OPS/./a.xhtml").as_deref(), Some("OPS/a.xhtml"));
        assert_eq!(normalize("OPS/../../a"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(
            resolve_href("OPS/text", "../ch%201.xhtml#x").as_deref(),
            Some("OPS/ch 1.xhtml")
        );
        assert_eq!(resolve_href("OPS", "http://example.com/a"), None);
        assert!(escapes("../evil") && escapes("a/../../b") && escapes("/abs") && !escapes("OPS/a..b"));
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn quiet_panics_are_caught() {
        let r = quietly(|| -> u8 { panic!("boom") });
        assert!(r.is_err());
    }
}
