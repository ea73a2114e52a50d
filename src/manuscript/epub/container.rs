//! The container: `META-INF/container.xml` (which names the OPF package document) and
//! `META-INF/encryption.xml` (encrypted content is refused; font obfuscation is allowed).
//!
//! Owns the `META-INF` checks; imports nothing outside the manuscript types but `roxmltree`.

use super::super::ManuscriptError;
use super::archive::Archive;
use super::paths::normalize;

impl Archive {
    /// Reads `META-INF/container.xml` and returns the OPF path it names (which must exist).
    pub(super) fn container_rootfile(&mut self) -> Result<String, ManuscriptError> {
        const CONTAINER: &str = "META-INF/container.xml";
        if !self.contains(CONTAINER) {
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
    pub(super) fn check_encryption(&mut self) -> Result<(), ManuscriptError> {
        const ENC: &str = "META-INF/encryption.xml";
        if !self.contains(ENC) {
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
