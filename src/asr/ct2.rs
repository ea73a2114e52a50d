//! CTranslate2 (faster-whisper) Whisper folders: `model.bin` read and its variables renamed to the Hugging
//! Face tensor names candle's Whisper loads, fused projections split back, so the library keeps one layout.
//!
//! `model.bin` (CTranslate2 `model_spec.py`, binary version ≤ 6), little-endian:
//! `u32 version`, `string spec name`, `u32 revision`, `u32 count`, then per variable `string name`,
//! `u8 rank`, `u32 × rank dims`, `u8 dtype` (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16), `u32 bytes`, the data;
//! then `u32 aliases` and per alias `string alias`, `string target`. A string is `u16 length` (including a
//! trailing NUL) and the bytes. int8 weights come with a per-row `weight_scale` (`w = q / scale`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use super::AsrError;

/// One variable of `model.bin`.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// CTranslate2 dtype id.
    pub dtype: u8,
    /// Byte range in the file.
    pub range: std::ops::Range<usize>,
}

/// A parsed `model.bin` (the data stays in the memory map).
pub struct Ct2Model {
    map: memmap2::Mmap,
    path: PathBuf,
    /// The spec name (`WhisperSpec`).
    pub spec: String,
    /// Variables by name (aliases resolved to their target's data).
    pub vars: BTreeMap<String, Variable>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl Reader<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> AsrError {
        AsrError::Model {
            path: self.path.into(),
            msg: format!("not a readable CTranslate2 model.bin (at byte {}): {msg}", self.at),
        }
    }
    fn take(&mut self, n: usize) -> Result<&[u8], AsrError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err("truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, AsrError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, AsrError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, AsrError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn string(&mut self) -> Result<String, AsrError> {
        let n = usize::from(self.u16()?);
        let s = self.take(n)?;
        let s = s.strip_suffix(&[0]).unwrap_or(s);
        String::from_utf8(s.to_vec()).map_err(|_| self.err("a name is not UTF-8"))
    }
}

fn dtype_size(id: u8) -> Option<usize> {
    match id {
        0 | 3 => Some(4),
        1 => Some(1),
        2 | 4 | 5 => Some(2),
        _ => None,
    }
}

impl Ct2Model {
    /// Reads the variable table of `path`.
    pub fn open(path: &Path) -> Result<Self, AsrError> {
        let file = std::fs::File::open(path).map_err(|e| AsrError::Model {
            path: path.into(),
            msg: e.to_string(),
        })?;
        // SAFETY: read-only map; the file is only read during the conversion
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| AsrError::Model {
            path: path.into(),
            msg: e.to_string(),
        })?;
        let mut r = Reader { b: &map, at: 0, path };
        let version = r.u32()?;
        if !(1..=6).contains(&version) {
            return Err(r.err(format!("binary version {version} (this reader knows 1–6)")));
        }
        let spec = if version >= 2 { r.string()? } else { String::new() };
        if version >= 2 {
            r.u32()?; // spec revision
        }
        let count = r.u32()? as usize;
        let mut vars = BTreeMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = usize::from(r.u8()?);
            let mut shape = Vec::with_capacity(rank);
            for _ in 0..rank {
                shape.push(r.u32()? as usize);
            }
            let dtype = if version >= 4 { r.u8()? } else { 0 };
            let size = dtype_size(dtype).ok_or_else(|| r.err(format!("variable {name}: unknown dtype {dtype}")))?;
            let bytes = r.u32()? as usize;
            let elems: usize = shape.iter().product();
            if elems.checked_mul(size) != Some(bytes) {
                return Err(r.err(format!("variable {name}: {bytes} bytes for shape {shape:?}")));
            }
            let start = r.at;
            r.take(bytes)?;
            vars.insert(
                name,
                Variable {
                    shape,
                    dtype,
                    range: start..start + bytes,
                },
            );
        }
        if version >= 3 && r.at < r.b.len() {
            let n = r.u32()?;
            for _ in 0..n {
                let alias = r.string()?;
                let target = r.string()?;
                let v = vars
                    .get(&target)
                    .cloned()
                    .ok_or_else(|| r.err(format!("alias {alias} names a missing variable {target}")))?;
                vars.insert(alias, v);
            }
        }
        Ok(Self {
            path: path.into(),
            spec,
            vars,
            map,
        })
    }

    fn err(&self, msg: impl std::fmt::Display) -> AsrError {
        AsrError::Model {
            path: self.path.clone(),
            msg: msg.to_string(),
        }
    }

    /// A variable as a float tensor on the CPU (f16/bf16 kept, int8 dequantised with its `weight_scale` to f32).
    pub fn tensor(&self, name: &str) -> Result<Tensor, AsrError> {
        let v = self
            .vars
            .get(name)
            .ok_or_else(|| self.err(format!("no variable {name}")))?;
        let data = &self.map[v.range.clone()];
        let t = match v.dtype {
            0 => Tensor::from_raw_buffer(data, DType::F32, &v.shape, &Device::Cpu)?,
            4 => Tensor::from_raw_buffer(data, DType::F16, &v.shape, &Device::Cpu)?,
            5 => Tensor::from_raw_buffer(data, DType::BF16, &v.shape, &Device::Cpu)?,
            1 => {
                let scale_name = format!("{}_scale", name);
                let scale = self.tensor(&scale_name)?.to_dtype(DType::F32)?;
                let q: Vec<f32> = data.iter().map(|&b| f32::from(b as i8)).collect();
                let q = Tensor::from_vec(q, v.shape.as_slice(), &Device::Cpu)?;
                let rows = v.shape.first().copied().unwrap_or(1);
                q.broadcast_div(&scale.reshape((rows, 1))?)?
            }
            d => return Err(self.err(format!("variable {name}: dtype {d} is not a float weight"))),
        };
        Ok(t)
    }

    /// An integer scalar (the head counts).
    pub fn scalar(&self, name: &str) -> Result<usize, AsrError> {
        let v = self
            .vars
            .get(name)
            .ok_or_else(|| self.err(format!("no variable {name}")))?;
        let d = &self.map[v.range.clone()];
        let n = match (v.dtype, d.len()) {
            (1, 1) => i64::from(d[0] as i8),
            (2, 2) => i64::from(i16::from_le_bytes([d[0], d[1]])),
            (3, 4) => i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])),
            _ => return Err(self.err(format!("variable {name} is not an integer scalar"))),
        };
        usize::try_from(n).map_err(|_| self.err(format!("variable {name} is negative")))
    }

    fn layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.vars
                    .contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
            })
            .count()
    }
}

/// What `convert` produces: Hugging Face named tensors and a `config.json` value.
pub struct Converted {
    /// Tensors by Hugging Face name.
    pub tensors: HashMap<String, Tensor>,
    /// The `WhisperConfig` fields candle needs, plus suppressions.
    pub config: serde_json::Value,
}

fn split(t: &Tensor, parts: usize) -> Result<Vec<Tensor>, AsrError> {
    let n = t.dim(0)?;
    if n % parts != 0 {
        return Err(AsrError::Model {
            path: PathBuf::new(),
            msg: format!("fused projection of {n} rows does not split into {parts}"),
        });
    }
    let k = n / parts;
    Ok((0..parts).map(|i| t.narrow(0, i * k, k)).collect::<Result<_, _>>()?)
}

/// Renames a Whisper `model.bin` into Hugging Face tensors; `ct2_config` is the folder's `config.json`.
pub fn convert(m: &Ct2Model, ct2_config: &serde_json::Value) -> Result<Converted, AsrError> {
    if !m.spec.is_empty() && m.spec != "WhisperSpec" {
        return Err(m.err(format!("a CTranslate2 `{}` model, not Whisper", m.spec)));
    }
    let mut out: HashMap<String, Tensor> = HashMap::new();
    let mut put = |k: String, t: Tensor| {
        out.insert(k, t);
    };
    for (side, hf) in [("encoder", "model.encoder"), ("decoder", "model.decoder")] {
        for c in ["conv1", "conv2"] {
            if side == "encoder" {
                put(format!("{hf}.{c}.weight"), m.tensor(&format!("{side}/{c}/weight"))?);
                put(format!("{hf}.{c}.bias"), m.tensor(&format!("{side}/{c}/bias"))?);
            }
        }
        put(
            format!("{hf}.embed_positions.weight"),
            m.tensor(&format!("{side}/position_encodings/encodings"))?,
        );
        put(
            format!("{hf}.layer_norm.weight"),
            m.tensor(&format!("{side}/layer_norm/gamma"))?,
        );
        put(
            format!("{hf}.layer_norm.bias"),
            m.tensor(&format!("{side}/layer_norm/beta"))?,
        );
        for i in 0..m.layers(side) {
            let c = format!("{side}/layer_{i}");
            let h = format!("{hf}.layers.{i}");
            let sa = format!("{c}/self_attention");
            put(
                format!("{h}.self_attn_layer_norm.weight"),
                m.tensor(&format!("{sa}/layer_norm/gamma"))?,
            );
            put(
                format!("{h}.self_attn_layer_norm.bias"),
                m.tensor(&format!("{sa}/layer_norm/beta"))?,
            );
            let qkv = split(&m.tensor(&format!("{sa}/linear_0/weight"))?, 3)?;
            let qkv_b = split(&m.tensor(&format!("{sa}/linear_0/bias"))?, 3)?;
            put(format!("{h}.self_attn.q_proj.weight"), qkv[0].clone());
            put(format!("{h}.self_attn.k_proj.weight"), qkv[1].clone());
            put(format!("{h}.self_attn.v_proj.weight"), qkv[2].clone());
            put(format!("{h}.self_attn.q_proj.bias"), qkv_b[0].clone());
            put(format!("{h}.self_attn.v_proj.bias"), qkv_b[2].clone());
            put(
                format!("{h}.self_attn.out_proj.weight"),
                m.tensor(&format!("{sa}/linear_1/weight"))?,
            );
            put(
                format!("{h}.self_attn.out_proj.bias"),
                m.tensor(&format!("{sa}/linear_1/bias"))?,
            );
            if side == "decoder" {
                let ca = format!("{c}/attention");
                put(
                    format!("{h}.encoder_attn_layer_norm.weight"),
                    m.tensor(&format!("{ca}/layer_norm/gamma"))?,
                );
                put(
                    format!("{h}.encoder_attn_layer_norm.bias"),
                    m.tensor(&format!("{ca}/layer_norm/beta"))?,
                );
                put(
                    format!("{h}.encoder_attn.q_proj.weight"),
                    m.tensor(&format!("{ca}/linear_0/weight"))?,
                );
                put(
                    format!("{h}.encoder_attn.q_proj.bias"),
                    m.tensor(&format!("{ca}/linear_0/bias"))?,
                );
                let kv = split(&m.tensor(&format!("{ca}/linear_1/weight"))?, 2)?;
                let kv_b = split(&m.tensor(&format!("{ca}/linear_1/bias"))?, 2)?;
                put(format!("{h}.encoder_attn.k_proj.weight"), kv[0].clone());
                put(format!("{h}.encoder_attn.v_proj.weight"), kv[1].clone());
                put(format!("{h}.encoder_attn.v_proj.bias"), kv_b[1].clone());
                put(
                    format!("{h}.encoder_attn.out_proj.weight"),
                    m.tensor(&format!("{ca}/linear_2/weight"))?,
                );
                put(
                    format!("{h}.encoder_attn.out_proj.bias"),
                    m.tensor(&format!("{ca}/linear_2/bias"))?,
                );
            }
            let ff = format!("{c}/ffn");
            put(
                format!("{h}.final_layer_norm.weight"),
                m.tensor(&format!("{ff}/layer_norm/gamma"))?,
            );
            put(
                format!("{h}.final_layer_norm.bias"),
                m.tensor(&format!("{ff}/layer_norm/beta"))?,
            );
            put(format!("{h}.fc1.weight"), m.tensor(&format!("{ff}/linear_0/weight"))?);
            put(format!("{h}.fc1.bias"), m.tensor(&format!("{ff}/linear_0/bias"))?);
            put(format!("{h}.fc2.weight"), m.tensor(&format!("{ff}/linear_1/weight"))?);
            put(format!("{h}.fc2.bias"), m.tensor(&format!("{ff}/linear_1/bias"))?);
        }
    }
    put(
        "model.decoder.embed_tokens.weight".into(),
        m.tensor("decoder/embeddings/weight")?,
    );
    let dims = |n: &str| -> Result<Vec<usize>, AsrError> {
        out.get(n)
            .map(|t| t.dims().to_vec())
            .ok_or_else(|| m.err(format!("no {n}")))
    };
    let conv1 = dims("model.encoder.conv1.weight")?;
    let emb = dims("model.decoder.embed_tokens.weight")?;
    let list = |k: &str| ct2_config.get(k).cloned().unwrap_or(serde_json::Value::Array(vec![]));
    let config = serde_json::json!({
        "model_type": "whisper",
        "num_mel_bins": conv1[1],
        "d_model": conv1[0],
        "encoder_layers": m.layers("encoder"),
        "decoder_layers": m.layers("decoder"),
        "encoder_attention_heads": m.scalar("encoder/num_heads")?,
        "decoder_attention_heads": m.scalar("decoder/num_heads")?,
        "vocab_size": emb[0],
        "max_source_positions": dims("model.encoder.embed_positions.weight")?[0],
        "max_target_positions": dims("model.decoder.embed_positions.weight")?[0],
        "suppress_tokens": list("suppress_ids"),
        "begin_suppress_tokens": list("suppress_ids_begin"),
        "converted_from": "ctranslate2",
    });
    Ok(Converted { tensors: out, config })
}
