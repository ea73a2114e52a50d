//! safetensors + JSON: [`load_safetensors`] maps the file read-only, converts each stored tensor and reads the
//! JSON side file (`{"format":…, "config":…, "tunables":…}`) as the metadata.
//!
//! Must never import the pickle reader or anything outside `checkpoint`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::tensor::TensorView;
use serde_json::{Map, Value as Json};

use super::{Checkpoint, CheckpointError, LoadOptions, Result};

/// Reads a safetensors file (f32/f16/bf16/f64 → `opts.float_dtype`, integers → i64/u8) and the JSON side
/// file as metadata (`{"format":…, "config":…, "tunables":…}`); `json` may be `None` for weights only.
pub fn load_safetensors(
    path: &Path,
    json_path: Option<&Path>,
    device: &Device,
    opts: LoadOptions,
) -> Result<Checkpoint> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source: std::io::Error| CheckpointError::Io { path: p, source }
    };
    let ferr = |msg: String| CheckpointError::Format {
        path: path.to_path_buf(),
        msg,
    };
    let file = File::open(path).map_err(io(path))?;
    // SAFETY: the map is read-only and dropped before returning; the library never rewrites a model file in
    // place (conversions are renamed into place), so the mapped bytes do not change under us.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(io(path))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| ferr(format!("not a safetensors file: {e}")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        let t = view_tensor(path, &name, &view, device, opts)?;
        tensors.insert(name, t);
    }
    let meta = match json_path {
        Some(j) => {
            let text = std::fs::read_to_string(j).map_err(io(j))?;
            serde_json::from_str(&text).map_err(|e| CheckpointError::Format {
                path: j.to_path_buf(),
                msg: format!("bad JSON: {e}"),
            })?
        }
        None => Json::Object(Map::new()),
    };
    Ok(Checkpoint {
        path: path.to_path_buf(),
        meta,
        tensors,
    })
}

/// One stored tensor as a candle tensor: floating point → f32 → `opts.float_dtype`, i64, u8 and bool as stored.
fn view_tensor(path: &Path, name: &str, view: &TensorView, device: &Device, opts: LoadOptions) -> Result<Tensor> {
    use safetensors::Dtype as D;
    let data = view.data();
    let shape = view.shape().to_vec();
    let terr = |msg: String| CheckpointError::Tensor {
        path: path.to_path_buf(),
        name: name.to_string(),
        msg,
    };
    let f = |n: usize, conv: &dyn Fn(&[u8]) -> f32| -> Vec<f32> { data.chunks_exact(n).map(conv).collect() };
    let t = match view.dtype() {
        D::F32 => Tensor::from_vec(f(4, &|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])), shape, device),
        D::F16 => Tensor::from_vec(
            f(2, &|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()),
            shape,
            device,
        ),
        D::BF16 => Tensor::from_vec(
            f(2, &|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
            shape,
            device,
        ),
        D::F64 => Tensor::from_vec(
            f(8, &|b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                f64::from_le_bytes(a) as f32
            }),
            shape,
            device,
        ),
        D::I64 => Tensor::from_vec(
            data.chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    i64::from_le_bytes(a)
                })
                .collect::<Vec<_>>(),
            shape,
            device,
        ),
        D::U8 | D::BOOL => Tensor::from_vec(data.to_vec(), shape, device),
        other => return Err(terr(format!("unsupported dtype {other:?}"))),
    };
    t.and_then(|t| {
        if t.dtype().is_float() {
            t.to_dtype(opts.float_dtype)
        } else {
            Ok(t)
        }
    })
    .map_err(|source| CheckpointError::Candle {
        path: path.to_path_buf(),
        source,
    })
}
