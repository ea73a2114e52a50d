//! Pickle values: the [`Value`] type the virtual machine builds, their stack-safe drop ([`dismantle`]), and the
//! JSON view of a finished object ([`to_json`]: metadata as JSON, tensor specs collected by key path).
//!
//! Owns no I/O and runs nothing. Must never import the container, the VM or anything outside `checkpoint`.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use serde_json::{json, Map, Value as Json};

use super::globals::Global;
use super::tensor::{StorageKind, TensorSpec};
use super::{CheckpointError, Result};

/// A pickle value. Dicts and lists are shared and mutable, as in Python.
#[derive(Debug, Clone)]
pub(super) enum Value {
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

/// Most nesting a pickle may build (guards against stack exhaustion on hostile input).
pub(super) const MAX_DEPTH: usize = 64;

/// Drops pickle values iteratively: a hostile stream can nest containers a million deep, and the default
/// recursive drop would overflow the stack. (Reference cycles are leaked, never recursed into.)
pub(super) fn dismantle(mut work: Vec<Value>) {
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

pub(super) fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// Walks the pickled object: JSON for everything, tensor specs collected by key path.
pub(super) fn to_json(
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
