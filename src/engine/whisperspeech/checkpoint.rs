//! Checkpoint reading without executing anything: PyTorch zip checkpoints (`torch.save`: `.model`,
//! `pytorch_model.bin`, speechbrain `.ckpt`) through a restricted unpickler, and safetensors + JSON.
//!
//! The unpickler understands only the opcodes a `torch.save` of dicts, lists, numbers, strings and tensors
//! needs, and only these globals: `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`,
//! the `torch.*Storage` types and `collections.OrderedDict`. Any other global (for example `posix.system`)
//! is rejected with [`CheckpointError::ForbiddenGlobal`] before anything is built. No input panics: every
//! length, offset, stride and size is checked against the file.
//!
//! The result is a [`Checkpoint`]: the whole pickled object as JSON (tensors replaced by
//! `{"__tensor__": name}`), and the tensors by name. Tensor names are key paths joined by `.` below the
//! `state_dict` entry when the root has one (the WhisperSpeech `.model` layout), or below the root otherwise
//! (a plain state_dict).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Map, Value as Json};

/// Errors reading a checkpoint. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// the file
        path: PathBuf,
        /// the cause
        source: std::io::Error,
    },
    /// The zip container is damaged or not a zip file (truncated downloads end here).
    #[error("{path}: not a readable PyTorch zip checkpoint (truncated or damaged?): {msg}")]
    Zip {
        /// the file
        path: PathBuf,
        /// what went wrong
        msg: String,
    },
    /// The pickle names a global that a checkpoint does not need; nothing was executed.
    #[error("{path}: refusing to load: the pickle calls the global `{global}`, which a model checkpoint never needs (possibly malicious)")]
    ForbiddenGlobal {
        /// the file
        path: PathBuf,
        /// `module.name`
        global: String,
    },
    /// The pickle stream is malformed or uses an opcode outside the supported set.
    #[error("{path}: malformed or unsupported pickle at byte {pos}: {msg}")]
    Pickle {
        /// the file
        path: PathBuf,
        /// byte offset in data.pkl
        pos: usize,
        /// what went wrong
        msg: String,
    },
    /// A tensor does not fit its storage, or has an unsupported type.
    #[error("{path}: tensor `{name}`: {msg}")]
    Tensor {
        /// the file
        path: PathBuf,
        /// the tensor's name
        name: String,
        /// what went wrong
        msg: String,
    },
    /// safetensors or its JSON side file could not be parsed.
    #[error("{path}: {msg}")]
    Format {
        /// the file
        path: PathBuf,
        /// what went wrong
        msg: String,
    },
    /// A tensor could not be created on the device.
    #[error("{path}: {source}")]
    Candle {
        /// the file
        path: PathBuf,
        /// the cause
        source: candle_core::Error,
    },
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// A loaded checkpoint: the pickled (or JSON) metadata and the tensors by name.
#[derive(Debug)]
pub struct Checkpoint {
    /// The file it came from.
    pub path: PathBuf,
    /// The whole object as JSON; tensors appear as `{"__tensor__": name}`.
    pub meta: Json,
    /// Tensors by name (f32 for floating point on disk unless asked otherwise; i64 / u8 for integers).
    pub tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    /// A top-level entry of the metadata (`config`, `tunables`, …).
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.meta.get(key)
    }

    /// The tensor `name`, or a [`CheckpointError::Tensor`] saying it is missing.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| CheckpointError::Tensor {
            path: self.path.clone(),
            name: name.to_string(),
            msg: "missing from the checkpoint".into(),
        })
    }
}

/// Storage element types a checkpoint may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageKind {
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
    fn from_name(name: &str) -> Option<Self> {
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
    fn size(self) -> usize {
        match self {
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::F64 | Self::I64 => 8,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }
}

#[derive(Debug, Clone)]
struct TensorSpec {
    storage_key: String,
    kind: StorageKind,
    storage_numel: usize,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

/// A pickle value. Dicts and lists are shared and mutable, as in Python.
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Rc<Vec<Value>>),
    List(Rc<RefCell<Vec<Value>>>),
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    Global(Global),
    Storage {
        kind: StorageKind,
        key: String,
        numel: usize,
    },
    Tensor(Rc<TensorSpec>),
    Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    RebuildTensorV2,
    RebuildParameter,
    OrderedDict,
    StorageType(StorageKind),
}

fn resolve_global(module: &str, name: &str) -> Option<Global> {
    match (module, name) {
        ("torch._utils", "_rebuild_tensor_v2") => Some(Global::RebuildTensorV2),
        ("torch._utils", "_rebuild_parameter") => Some(Global::RebuildParameter),
        ("collections", "OrderedDict") => Some(Global::OrderedDict),
        ("torch", n) => StorageKind::from_name(n).map(Global::StorageType),
        _ => None,
    }
}

/// Most nesting a pickle may build (guards against stack exhaustion on hostile input).
const MAX_DEPTH: usize = 64;

struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(CheckpointError::Pickle {
            path: self.path.to_path_buf(),
            pos: self.pos,
            msg: msg.into(),
        })
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => self.err("unexpected end of the pickle stream"),
        }
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&c| c == b'\n') else {
            return self.err("unterminated line");
        };
        let s = &rest[..n];
        self.pos += n + 1;
        std::str::from_utf8(s).or_else(|_| self.err("invalid UTF-8 in a global name"))
    }
    fn pop(&mut self) -> Result<Value> {
        match self.stack.pop() {
            Some(Value::Mark) | None => self.err("stack underflow"),
            Some(v) => Ok(v),
        }
    }
    fn top(&mut self) -> Result<Value> {
        match self.stack.last() {
            Some(Value::Mark) | None => self.err("stack underflow"),
            Some(v) => Ok(v.clone()),
        }
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let Some(i) = self.stack.iter().rposition(|v| matches!(v, Value::Mark)) else {
            return self.err("no MARK on the stack");
        };
        let items = self.stack.split_off(i + 1);
        self.stack.pop();
        Ok(items)
    }
    /// The items above the topmost MARK as key/value pairs (`op`: the opcode, for the error message).
    fn pop_mark_pairs(&mut self, op: &str) -> Result<Vec<(Value, Value)>> {
        let items = self.pop_mark()?;
        if items.len() % 2 != 0 {
            dismantle(items);
            return self.err(format!("{op} with an odd number of items"));
        }
        let mut it = items.into_iter();
        let mut pairs = Vec::new();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        Ok(pairs)
    }
    fn string(&mut self, n: usize) -> Result<Value> {
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Str(s.to_string())),
            Err(_) => self.err("invalid UTF-8 string"),
        }
    }
    fn memo_get(&mut self, k: u32) -> Result<()> {
        match self.memo.get(&k) {
            Some(v) => {
                let v = v.clone();
                self.stack.push(v);
                Ok(())
            }
            None => self.err(format!("memo key {k} not found")),
        }
    }
    fn memo_put(&mut self, k: u32) -> Result<()> {
        let v = self.top()?;
        if let Some(old) = self.memo.insert(k, v) {
            dismantle(vec![old]);
        }
        Ok(())
    }
    fn len(&mut self, n: u64) -> Result<usize> {
        match usize::try_from(n) {
            Ok(n) if n <= self.data.len() => Ok(n),
            _ => self.err("length beyond the end of the stream"),
        }
    }

    /// Runs the stream to STOP, then takes the stack and memo apart without recursion.
    fn run(mut self) -> Result<Value> {
        let r = self.run_inner();
        dismantle(std::mem::take(&mut self.stack));
        dismantle(std::mem::take(&mut self.memo).into_values().collect());
        r
    }

    fn run_inner(&mut self) -> Result<Value> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("unsupported pickle protocol {p}"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: just a length hint
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Value::Mark),
                b'}' => self.stack.push(Value::Dict(Rc::new(RefCell::new(Vec::new())))),
                b']' => self.stack.push(Value::List(Rc::new(RefCell::new(Vec::new())))),
                b')' => self.stack.push(Value::Tuple(Rc::new(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(Rc::new(items)));
                }
                0x85 => {
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(Rc::new(vec![a])));
                }
                0x86 => {
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(Rc::new(vec![a, b])));
                }
                0x87 => {
                    let c = self.pop()?;
                    let b = self.pop()?;
                    let a = self.pop()?;
                    self.stack.push(Value::Tuple(Rc::new(vec![a, b, c])));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'd' => {
                    let pairs = self.pop_mark_pairs("DICT")?;
                    self.stack.push(Value::Dict(Rc::new(RefCell::new(pairs))));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return self.err("LONG1 integer wider than 64 bits");
                    }
                    let mut a = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    a[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(a)));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.stack.push(Value::Float(f64::from_be_bytes(a)));
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'X' => {
                    let n = self.u32()? as u64;
                    let n = self.len(n)?;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.u64()?;
                    let n = self.len(n)?;
                    let v = self.string(n)?;
                    self.stack.push(v);
                }
                b'B' | b'C' | 0x8e => {
                    let n = match op {
                        b'B' => self.u32()? as u64,
                        b'C' => self.u8()? as u64,
                        _ => self.u64()?,
                    };
                    let n = self.len(n)?;
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u32;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.u32()?;
                    self.memo_get(k)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    self.set_items(&d, vec![(k, v)])?;
                }
                b'u' => {
                    let pairs = self.pop_mark_pairs("SETITEMS")?;
                    let d = self.top()?;
                    self.set_items(&d, pairs)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let l = self.top()?;
                    self.append(&l, vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let l = self.top()?;
                    self.append(&l, items)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(module, name)?;
                    self.stack.push(Value::Global(g));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (module, name) = match (module, name) {
                        (Value::Str(m), Value::Str(n)) => (m, n),
                        (m, n) => {
                            dismantle(vec![m, n]);
                            return self.err("STACK_GLOBAL needs two strings");
                        }
                    };
                    let g = self.global(&module, &name)?;
                    self.stack.push(Value::Global(g));
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = self.reduce(f, args.clone());
                    dismantle(vec![args]);
                    self.stack.push(v?);
                }
                b'b' => {
                    let state = self.pop()?;
                    dismantle(vec![state]);
                    // BUILD: only OrderedDict's `_metadata` attribute (state_dict versions) is expected; drop it.
                    match self.top()? {
                        Value::Dict(_) | Value::Tensor(_) => {}
                        _ => return self.err("BUILD on an object that is not a dict"),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = self.persistent(pid.clone());
                    dismantle(vec![pid]);
                    self.stack.push(v?);
                }
                _ => return self.err(format!("unsupported pickle opcode 0x{op:02x}")),
            }
        }
    }

    fn global(&self, module: &str, name: &str) -> Result<Global> {
        resolve_global(module, name).ok_or_else(|| CheckpointError::ForbiddenGlobal {
            path: self.path.to_path_buf(),
            global: format!("{module}.{name}"),
        })
    }

    fn set_items(&self, d: &Value, pairs: Vec<(Value, Value)>) -> Result<()> {
        let Value::Dict(d) = d else {
            dismantle(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect());
            return self.err("SETITEM(S) on a non-dict");
        };
        let mut d = d.try_borrow_mut().or_else(|_| self.err("dict borrowed"))?;
        for (k, v) in pairs {
            let key = key_string(&k);
            if let Some(slot) = d.iter_mut().find(|(k2, _)| key.is_some() && key_string(k2) == key) {
                slot.1 = v;
            } else {
                d.push((k, v));
            }
        }
        Ok(())
    }

    fn append(&self, l: &Value, items: Vec<Value>) -> Result<()> {
        let Value::List(l) = l else {
            dismantle(items);
            return self.err("APPEND(S) on a non-list");
        };
        let mut l = l.try_borrow_mut().or_else(|_| self.err("list borrowed"))?;
        l.extend(items);
        Ok(())
    }

    fn persistent(&self, pid: Value) -> Result<Value> {
        let Value::Tuple(t) = pid else {
            return self.err("persistent id is not a tuple");
        };
        match t.as_slice() {
            [Value::Str(tag), Value::Global(Global::StorageType(kind)), key, _location, Value::Int(numel)]
                if tag == "storage" =>
            {
                let key = match key {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    _ => return self.err("storage key is not a string"),
                };
                let Ok(numel) = usize::try_from(*numel) else {
                    return self.err("negative storage size");
                };
                Ok(Value::Storage {
                    kind: *kind,
                    key,
                    numel,
                })
            }
            _ => self.err("unsupported persistent id (expected a torch storage)"),
        }
    }

    fn reduce(&self, f: Value, args: Value) -> Result<Value> {
        let Value::Global(g) = f else {
            return self.err("REDUCE on something that is not an allowed global");
        };
        let Value::Tuple(args) = args else {
            return self.err("REDUCE arguments are not a tuple");
        };
        match g {
            Global::OrderedDict => {
                if !args.is_empty() {
                    return self.err("OrderedDict(...) with arguments");
                }
                Ok(Value::Dict(Rc::new(RefCell::new(Vec::new()))))
            }
            Global::RebuildParameter => match args.first() {
                Some(t @ Value::Tensor(_)) => Ok(t.clone()),
                _ => self.err("_rebuild_parameter without a tensor"),
            },
            Global::RebuildTensorV2 => {
                if args.len() < 4 {
                    return self.err("_rebuild_tensor_v2 needs at least 4 arguments");
                }
                let Value::Storage { kind, key, numel } = &args[0] else {
                    return self.err("_rebuild_tensor_v2: first argument is not a storage");
                };
                let Value::Int(offset) = args[1] else {
                    return self.err("_rebuild_tensor_v2: bad offset");
                };
                let size = self.usize_tuple(&args[2])?;
                let stride = self.usize_tuple(&args[3])?;
                if size.len() != stride.len() {
                    return self.err("_rebuild_tensor_v2: size and stride differ in length");
                }
                let Ok(offset) = usize::try_from(offset) else {
                    return self.err("negative storage offset");
                };
                Ok(Value::Tensor(Rc::new(TensorSpec {
                    storage_key: key.clone(),
                    kind: *kind,
                    storage_numel: *numel,
                    offset,
                    size,
                    stride,
                })))
            }
            Global::StorageType(_) => self.err("calling a storage type is not supported"),
        }
    }

    fn usize_tuple(&self, v: &Value) -> Result<Vec<usize>> {
        let Value::Tuple(t) = v else {
            return self.err("expected a tuple of integers");
        };
        t.iter()
            .map(|x| match x {
                Value::Int(i) if *i >= 0 => Ok(*i as usize),
                _ => self.err("expected a non-negative integer"),
            })
            .collect()
    }
}

/// Drops pickle values iteratively: a hostile stream can nest containers a million deep, and the default
/// recursive drop would overflow the stack. (Reference cycles are leaked, never recursed into.)
fn dismantle(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        match v {
            Value::Tuple(rc) => {
                if let Ok(items) = Rc::try_unwrap(rc) {
                    work.extend(items);
                }
            }
            Value::List(rc) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    work.extend(cell.into_inner());
                }
            }
            Value::Dict(rc) => {
                if let Ok(cell) = Rc::try_unwrap(rc) {
                    for (k, x) in cell.into_inner() {
                        work.push(k);
                        work.push(x);
                    }
                }
            }
            _ => {}
        }
    }
}

fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Walks the pickled object: JSON for everything, tensor specs collected by key path.
fn to_json(
    v: &Value,
    name: &str,
    depth: usize,
    tensors: &mut Vec<(String, Rc<TensorSpec>)>,
    path: &Path,
) -> Result<Json> {
    if depth > MAX_DEPTH {
        return Err(CheckpointError::Format {
            path: path.to_path_buf(),
            msg: "pickle nests too deeply".into(),
        });
    }
    Ok(match v {
        Value::None | Value::Mark => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::Str(s) => json!(s),
        Value::Bytes(b) => json!(b),
        Value::Tuple(items) => items_to_json(items, name, depth, tensors, path)?,
        Value::List(items) => items_to_json(&items.borrow(), name, depth, tensors, path)?,
        Value::Dict(d) => {
            let d = d.borrow();
            let mut m = Map::new();
            for (k, x) in d.iter() {
                let k = key_string(k).unwrap_or_else(|| format!("{k:?}"));
                let child = to_json(x, &join(name, &k), depth + 1, tensors, path)?;
                m.insert(k, child);
            }
            Json::Object(m)
        }
        Value::Global(g) => json!(format!("{g:?}")),
        Value::Storage { key, .. } => json!({ "__storage__": key }),
        Value::Tensor(t) => {
            tensors.push((name.to_string(), t.clone()));
            json!({ "__tensor__": name })
        }
    })
}

/// A tuple's or list's items as a JSON array, item `i` named `{name}.{i}`.
fn items_to_json(
    items: &[Value],
    name: &str,
    depth: usize,
    tensors: &mut Vec<(String, Rc<TensorSpec>)>,
    path: &Path,
) -> Result<Json> {
    Ok(Json::Array(
        items
            .iter()
            .enumerate()
            .map(|(i, x)| to_json(x, &join(name, &i.to_string()), depth + 1, tensors, path))
            .collect::<Result<_>>()?,
    ))
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// Options for [`load_pickle`]: the dtype floating-point tensors are converted to (F32 by default).
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// dtype for floating-point tensors (f32/f16/bf16 on disk are all converted to it)
    pub float_dtype: DType,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            float_dtype: DType::F32,
        }
    }
}

/// Reads a PyTorch zip checkpoint (`torch.save`) with the restricted unpickler; tensors go to `device`.
pub fn load_pickle(path: &Path, device: &Device, opts: LoadOptions) -> Result<Checkpoint> {
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
    let data = read_entry(&mut zip, &pkl, file_len.saturating_mul(64).max(1 << 20), path)?;
    let root = Unpickler {
        data: &data,
        pos: 0,
        path,
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()?;

    let mut specs = Vec::new();
    let meta = to_json(&root, "", 0, &mut specs, path);
    dismantle(vec![root]);
    let meta = meta?;
    let strip = matches!(&meta, Json::Object(m) if m.get("state_dict").is_some_and(Json::is_object));
    let mut storages: HashMap<String, Rc<Vec<u8>>> = HashMap::new();
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
        let terr = |msg: String| CheckpointError::Tensor {
            path: path.to_path_buf(),
            name: name.clone(),
            msg,
        };
        let elsize = spec.kind.size();
        let bytes = match storages.get(&spec.storage_key) {
            Some(b) => b.clone(),
            None => {
                let need = spec
                    .storage_numel
                    .checked_mul(elsize)
                    .ok_or_else(|| terr("storage too large".into()))?;
                let entry = format!("{prefix}data/{}", spec.storage_key);
                let b = read_entry(&mut zip, &entry, need as u64, path)?;
                if b.len() < need {
                    return Err(terr(format!(
                        "storage {} holds {} bytes, {} expected",
                        spec.storage_key,
                        b.len(),
                        need
                    )));
                }
                let b = Rc::new(b);
                storages.insert(spec.storage_key.clone(), b.clone());
                b
            }
        };
        let t = build_tensor(&spec, &bytes, big_endian, device, opts).map_err(|e| match e {
            BuildError::Msg(m) => terr(m),
            BuildError::Candle(c) => CheckpointError::Candle {
                path: path.to_path_buf(),
                source: c,
            },
        })?;
        tensors.insert(name, t);
    }
    Ok(Checkpoint {
        path: path.to_path_buf(),
        meta,
        tensors,
    })
}

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

enum BuildError {
    Msg(String),
    Candle(candle_core::Error),
}

fn build_tensor(
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
        // the last element's index must lie inside the storage
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
    }
    // strided gather of element indices
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

/// Reads a safetensors file (f32/f16/bf16/f64 → `opts.float_dtype`, integers → i64/u8) and the JSON side
/// file as metadata (`{"format":…, "config":…, "tunables":…}`); `json` may be `None` for weights only.
pub fn load_safetensors(
    path: &Path,
    json_path: Option<&Path>,
    device: &Device,
    opts: LoadOptions,
) -> Result<Checkpoint> {
    use safetensors::Dtype as D;
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
        let data = view.data();
        let shape = view.shape().to_vec();
        let terr = |msg: String| CheckpointError::Tensor {
            path: path.to_path_buf(),
            name: name.clone(),
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
        let t = t
            .and_then(|t| {
                if t.dtype().is_float() {
                    t.to_dtype(opts.float_dtype)
                } else {
                    Ok(t)
                }
            })
            .map_err(|source| CheckpointError::Candle {
                path: path.to_path_buf(),
                source,
            })?;
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

/// Loads either format: a `.safetensors` file (with the JSON beside it: same stem, `.json`), or a PyTorch
/// zip checkpoint.
pub fn load(path: &Path, device: &Device, opts: LoadOptions) -> Result<Checkpoint> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        let j = path.with_extension("json");
        let j = j.exists().then_some(j);
        load_safetensors(path, j.as_deref(), device, opts)
    } else {
        load_pickle(path, device, opts)
    }
}
