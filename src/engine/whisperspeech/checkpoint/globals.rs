//! The allow-listed globals and what calling them may build: the only place where a pickle meets torch.
//!
//! [`resolve_global`] maps `module.name` to one of four known [`Global`]s (anything else is refused by the VM
//! before it is pushed); [`reduce`] "calls" one by building a plain value (an empty dict, a parameter's tensor,
//! a [`TensorSpec`]); [`persistent`] turns a `("storage", type, key, location, numel)` persistent id into a
//! storage reference. Nothing is imported, looked up dynamically or executed.
//!
//! Must never import the container, the VM or anything outside `checkpoint`; errors are plain messages that
//! the VM turns into [`super::CheckpointError::Pickle`] at its current position.

use std::cell::RefCell;
use std::rc::Rc;

use super::tensor::{StorageKind, TensorSpec};
use super::value::Value;

/// A refusal: the message of the [`super::CheckpointError::Pickle`] the VM reports.
pub(super) type Refused<T> = std::result::Result<T, &'static str>;

/// A global the unpickler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Global {
    RebuildTensorV2,
    RebuildParameter,
    OrderedDict,
    StorageType(StorageKind),
}

/// The allowed global `module.name`, or `None` for any other (which the VM refuses).
pub(super) fn resolve_global(module: &str, name: &str) -> Option<Global> {
    match (module, name) {
        ("torch._utils", "_rebuild_tensor_v2") => Some(Global::RebuildTensorV2),
        ("torch._utils", "_rebuild_parameter") => Some(Global::RebuildParameter),
        ("collections", "OrderedDict") => Some(Global::OrderedDict),
        ("torch", n) => StorageKind::from_name(n).map(Global::StorageType),
        _ => None,
    }
}

/// The storage a `BINPERSID` id names.
pub(super) fn persistent(pid: Value) -> Refused<Value> {
    let Value::Tuple(t) = pid else {
        return Err("persistent id is not a tuple");
    };
    match t.as_slice() {
        [Value::Str(tag), Value::Global(Global::StorageType(kind)), key, _location, Value::Int(numel)]
            if tag == "storage" =>
        {
            let key = match key {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                _ => return Err("storage key is not a string"),
            };
            let Ok(numel) = usize::try_from(*numel) else {
                return Err("negative storage size");
            };
            Ok(Value::Storage {
                kind: *kind,
                key,
                numel,
            })
        }
        _ => Err("unsupported persistent id (expected a torch storage)"),
    }
}

/// Calls the allowed global `f` on `args` (REDUCE): `OrderedDict()`, `_rebuild_parameter`, `_rebuild_tensor_v2`.
pub(super) fn reduce(f: Value, args: Value) -> Refused<Value> {
    let Value::Global(g) = f else {
        return Err("REDUCE on something that is not an allowed global");
    };
    let Value::Tuple(args) = args else {
        return Err("REDUCE arguments are not a tuple");
    };
    match g {
        Global::OrderedDict => {
            if !args.is_empty() {
                return Err("OrderedDict(...) with arguments");
            }
            Ok(Value::Dict(Rc::new(RefCell::new(Vec::new()))))
        }
        Global::RebuildParameter => match args.first() {
            Some(t @ Value::Tensor(_)) => Ok(t.clone()),
            _ => Err("_rebuild_parameter without a tensor"),
        },
        Global::RebuildTensorV2 => {
            if args.len() < 4 {
                return Err("_rebuild_tensor_v2 needs at least 4 arguments");
            }
            let Value::Storage { kind, key, numel } = &args[0] else {
                return Err("_rebuild_tensor_v2: first argument is not a storage");
            };
            let Value::Int(offset) = args[1] else {
                return Err("_rebuild_tensor_v2: bad offset");
            };
            let size = usize_tuple(&args[2])?;
            let stride = usize_tuple(&args[3])?;
            if size.len() != stride.len() {
                return Err("_rebuild_tensor_v2: size and stride differ in length");
            }
            let Ok(offset) = usize::try_from(offset) else {
                return Err("negative storage offset");
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
        Global::StorageType(_) => Err("calling a storage type is not supported"),
    }
}

fn usize_tuple(v: &Value) -> Refused<Vec<usize>> {
    let Value::Tuple(t) = v else {
        return Err("expected a tuple of integers");
    };
    t.iter()
        .map(|x| match x {
            Value::Int(i) if *i >= 0 => Ok(*i as usize),
            _ => Err("expected a non-negative integer"),
        })
        .collect()
}
