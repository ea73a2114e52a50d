//! The PyTorch zip container (`torch.save`): finds `<prefix>/data.pkl`, reads the `byteorder` entry, hands the
//! pickle to the VM, then reads each referenced storage (`<prefix>/data/<key>`, once, size-checked) and builds
//! the tensors by name. Every entry is read through a size limit, so a damaged or hostile zip cannot make it
//! read without bound.
//!
//! Must never import anything outside `checkpoint`; it executes nothing (the pickle goes to `pickle`).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::rc::Rc;

use candle_core::{Device, Tensor};
use serde_json::Value as Json;

use super::pickle::unpickle;
use super::tensor::{build_tensor, BuildError, TensorSpec};
use super::value::{dismantle, to_json};
use super::{Checkpoint, CheckpointError, LoadOptions, Result};

/// Reads a PyTorch zip checkpoint (`torch.save`) with the restricted unpickler; tensors go to `device`.
pub fn load_pickle(path: &Path, device: &Device, opts: LoadOptions) -> Result<Checkpoint> {
    let mut zip = TorchZip::open(path)?;
    let data = zip.data_pkl()?;
    let root = unpickle(&data, path)?;

    let mut specs = Vec::new();
    let meta = to_json(&root, "", 0, &mut specs, path);
    dismantle(vec![root]);
    let meta = meta?;
    let strip = matches!(&meta, Json::Object(m) if m.get("state_dict").is_some_and(Json::is_object));
    let mut tensors = BTreeMap::new();
    for (name, spec) in specs {
        let name = if strip {
            match name.strip_prefix("state_dict.") {
                Some(n) => n.to_string(),
                None => continue, // tensors outside the state_dict are not model weights
            }
        } else {
            name
        };
        let t = zip.tensor(&name, &spec, device, opts)?;
        tensors.insert(name, t);
    }
    Ok(Checkpoint {
        path: path.to_path_buf(),
        meta,
        tensors,
    })
}

/// An open checkpoint zip: where its entries live and the storages read so far.
struct TorchZip<'p> {
    path: &'p Path,
    zip: zip::ZipArchive<File>,
    file_len: u64,
    /// the `data.pkl` entry
    pkl: String,
    /// the archive's folder (`archive/`, `<stem>/` or empty), ending in `/` when not empty
    prefix: String,
    big_endian: bool,
    storages: HashMap<String, Rc<Vec<u8>>>,
}

impl<'p> TorchZip<'p> {
    /// Opens the zip and finds its `data.pkl` (at most one folder deep) and byte order (little if unstated).
    fn open(path: &'p Path) -> Result<Self> {
        let io = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let zerr = |msg: String| CheckpointError::Zip {
            path: path.to_path_buf(),
            msg,
        };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut zip = zip::ZipArchive::new(file).map_err(|e| zerr(e.to_string()))?;
        let names: Vec<String> = zip.file_names().filter_map(|n| n.ok().map(|n| n.to_string())).collect();
        let Some(pkl) = names
            .iter()
            .find(|n| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
            .cloned()
        else {
            return Err(zerr("no data.pkl entry".into()));
        };
        let prefix = pkl.strip_suffix("data.pkl").unwrap_or("").to_string();
        let big_endian = match read_entry(&mut zip, &format!("{prefix}byteorder"), 16, path) {
            Ok(b) => b.trim_ascii() == b"big",
            Err(_) => false,
        };
        Ok(Self {
            path,
            zip,
            file_len,
            pkl,
            prefix,
            big_endian,
            storages: HashMap::new(),
        })
    }

    /// The pickle stream (limited to 64× the file size, at least 1 MiB: a zip may compress it).
    fn data_pkl(&mut self) -> Result<Vec<u8>> {
        let limit = self.file_len.saturating_mul(64).max(1 << 20);
        read_entry(&mut self.zip, &self.pkl, limit, self.path)
    }

    /// The tensor `name` that `spec` describes, its storage read on first use.
    fn tensor(&mut self, name: &str, spec: &TensorSpec, device: &Device, opts: LoadOptions) -> Result<Tensor> {
        let path = self.path;
        let terr = |msg: String| CheckpointError::Tensor {
            path: path.to_path_buf(),
            name: name.to_string(),
            msg,
        };
        let elsize = spec.kind.size();
        let bytes = match self.storages.get(&spec.storage_key) {
            Some(b) => b.clone(),
            None => {
                let need = spec
                    .storage_numel
                    .checked_mul(elsize)
                    .ok_or_else(|| terr("storage too large".into()))?;
                let entry = format!("{}data/{}", self.prefix, spec.storage_key);
                let b = read_entry(&mut self.zip, &entry, need as u64, path)?;
                if b.len() < need {
                    return Err(terr(format!(
                        "storage {} holds {} bytes, {} expected",
                        spec.storage_key,
                        b.len(),
                        need
                    )));
                }
                let b = Rc::new(b);
                self.storages.insert(spec.storage_key.clone(), b.clone());
                b
            }
        };
        build_tensor(spec, &bytes, self.big_endian, device, opts).map_err(|e| match e {
            BuildError::Msg(m) => terr(m),
            BuildError::Candle(c) => CheckpointError::Candle {
                path: path.to_path_buf(),
                source: c,
            },
        })
    }
}

/// The entry `name`, at most `limit` bytes of it.
fn read_entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str, limit: u64, path: &Path) -> Result<Vec<u8>> {
    let zerr = |msg: String| CheckpointError::Zip {
        path: path.to_path_buf(),
        msg,
    };
    let entry = zip.by_name(name).map_err(|e| zerr(format!("{name}: {e}")))?;
    let mut out = Vec::new();
    entry
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| zerr(format!("{name}: {e}")))?;
    Ok(out)
}
