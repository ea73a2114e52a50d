//! Tensor rebuilding: storage element types ([`StorageKind`]), the view a `_rebuild_tensor_v2` call describes
//! ([`TensorSpec`]), and [`build_tensor`], which checks the view against its storage, gathers the strided
//! elements and decodes them (either byte order) into a candle tensor.
//!
//! Must never import the VM, the container or anything outside `checkpoint`; it sees only bytes and specs.

use candle_core::{Device, Tensor};

use super::LoadOptions;

/// Storage element types a checkpoint may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StorageKind {
    F32,
    F16,
    BF16,
    F64,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageKind {
    /// The kind of the `torch.<name>` storage type (`FloatStorage` …), or `None`.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "FloatStorage" => Self::F32,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::BF16,
            "DoubleStorage" => Self::F64,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" => Self::U8,
            "BoolStorage" => Self::Bool,
            _ => return None,
        })
    }
    /// Bytes per element.
    pub(super) fn size(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::F64 | Self::I64 => 8,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
}

/// A tensor as `_rebuild_tensor_v2` describes it: a view (offset, size, stride, in elements) of a storage.
#[derive(Debug, Clone)]
pub(super) struct TensorSpec {
    /// the storage's entry name below `data/`
    pub(super) storage_key: String,
    /// element type
    pub(super) kind: StorageKind,
    /// elements the storage holds
    pub(super) storage_numel: usize,
    /// first element of the view
    pub(super) offset: usize,
    /// shape
    pub(super) size: Vec<usize>,
    /// stride per dimension
    pub(super) stride: Vec<usize>,
}

/// Why a tensor could not be built: a message for [`super::CheckpointError::Tensor`] or a candle error.
pub(super) enum BuildError {
    Msg(String),
    Candle(candle_core::Error),
}

/// The tensor `spec` describes, read from its storage's `bytes` (at least `storage_numel` elements, checked by
/// the caller): floating point → f32 → `opts.float_dtype`, signed integers → i64, bytes and bools → u8.
pub(super) fn build_tensor(
    spec: &TensorSpec,
    bytes: &[u8],
    big_endian: bool,
    device: &Device,
    opts: LoadOptions,
) -> std::result::Result<Tensor, BuildError> {
    let numel = spec
        .size
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .ok_or_else(|| BuildError::Msg("element count overflows".into()))?;
    if numel > 0 {
        check_bounds(spec)?;
    }
    let idx = strided_indices(spec, numel);
    let es = spec.kind.size();
    let word = |i: usize| -> u64 {
        let b = &bytes[i * es..(i + 1) * es];
        let mut a = [0u8; 8];
        if big_endian {
            a[8 - es..].copy_from_slice(b);
            u64::from_be_bytes(a)
        } else {
            a[..es].copy_from_slice(b);
            u64::from_le_bytes(a)
        }
    };
    let shape = spec.size.clone();
    let t = match spec.kind {
        StorageKind::F32 | StorageKind::F16 | StorageKind::BF16 | StorageKind::F64 => {
            let v: Vec<f32> = idx
                .iter()
                .map(|&i| {
                    let w = word(i);
                    match spec.kind {
                        StorageKind::F32 => f32::from_bits(w as u32),
                        StorageKind::F16 => half::f16::from_bits(w as u16).to_f32(),
                        StorageKind::BF16 => half::bf16::from_bits(w as u16).to_f32(),
                        _ => f64::from_bits(w) as f32,
                    }
                })
                .collect();
            Tensor::from_vec(v, shape, device).and_then(|t| t.to_dtype(opts.float_dtype))
        }
        StorageKind::I64 | StorageKind::I32 | StorageKind::I16 | StorageKind::I8 => {
            let v: Vec<i64> = idx
                .iter()
                .map(|&i| {
                    let w = word(i);
                    match spec.kind {
                        StorageKind::I64 => w as i64,
                        StorageKind::I32 => w as u32 as i32 as i64,
                        StorageKind::I16 => w as u16 as i16 as i64,
                        _ => w as u8 as i8 as i64,
                    }
                })
                .collect();
            Tensor::from_vec(v, shape, device)
        }
        StorageKind::U8 | StorageKind::Bool => {
            let v: Vec<u8> = idx.iter().map(|&i| bytes[i]).collect();
            Tensor::from_vec(v, shape, device)
        }
    };
    t.map_err(BuildError::Candle)
}

/// The last element's index must lie inside the storage (`spec` has at least one element).
fn check_bounds(spec: &TensorSpec) -> std::result::Result<(), BuildError> {
    let mut last = spec.offset;
    for (&s, &st) in spec.size.iter().zip(&spec.stride) {
        last = (s - 1)
            .checked_mul(st)
            .and_then(|x| last.checked_add(x))
            .ok_or_else(|| BuildError::Msg("stride overflows".into()))?;
    }
    if last >= spec.storage_numel {
        return Err(BuildError::Msg(format!(
            "offset {} size {:?} stride {:?} reach element {last}, beyond the storage of {} elements",
            spec.offset, spec.size, spec.stride, spec.storage_numel
        )));
    }
    Ok(())
}

/// Storage element indices of the view's `numel` elements in row-major order (a strided gather).
fn strided_indices(spec: &TensorSpec, numel: usize) -> Vec<usize> {
    let mut idx = Vec::with_capacity(numel);
    if numel > 0 {
        let nd = spec.size.len();
        let mut counter = vec![0usize; nd];
        for _ in 0..numel {
            let off = spec.offset + counter.iter().zip(&spec.stride).map(|(c, s)| c * s).sum::<usize>();
            idx.push(off);
            for d in (0..nd).rev() {
                counter[d] += 1;
                if counter[d] < spec.size[d] {
                    break;
                }
                counter[d] = 0;
            }
        }
    }
    idx
}
