//! The restricted pickle virtual machine: a `data.pkl` byte stream → one [`Value`] (opcodes → values).
//!
//! Understands only the opcodes a `torch.save` of dicts, lists, tuples, numbers, strings and tensors emits
//! (protocols ≤ 5); any other opcode is an error. Globals are looked up in the fixed table of `globals` and
//! refused otherwise ([`CheckpointError::ForbiddenGlobal`]) before anything is pushed; REDUCE and BINPERSID build
//! plain values through `globals`, never calling anything. Every read is bounds-checked, and the stack and memo
//! are taken apart without recursion when the run ends, so no input panics or overflows the stack.
//!
//! Must never import the zip container, tensor building or anything outside `checkpoint`, and never executes
//! code from the stream.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use super::globals::{self, resolve_global, Global};
use super::value::{dismantle, key_string, Value};
use super::{CheckpointError, Result};

/// Runs the pickle `data` (the `data.pkl` of the checkpoint at `path`, named in errors) to STOP.
pub(super) fn unpickle(data: &[u8], path: &Path) -> Result<Value> {
    Unpickler {
        data,
        pos: 0,
        path,
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

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
    fn memo_get(&self, k: u32) -> Result<Value> {
        match self.memo.get(&k) {
            Some(v) => Ok(v.clone()),
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

    /// The opcode loop: STOP returns the top of the stack; every other opcode either pushes one value
    /// ([`Self::value_op`]) or works on what is already there ([`Self::stack_op`], which refuses unknown opcodes).
    fn run_inner(&mut self) -> Result<Value> {
        loop {
            let op = self.u8()?;
            if op == b'.' {
                return self.pop(); // STOP
            }
            match self.value_op(op)? {
                Some(v) => self.stack.push(v),
                None => self.stack_op(op)?,
            }
        }
    }

    /// The value an opcode that pushes exactly one value pushes, or `None` for any other opcode. One arm per
    /// opcode, as in the protocol's opcode table: kept as one `match` because splitting it would list opcodes
    /// twice; arms longer than a line call the named methods below.
    fn value_op(&mut self, op: u8) -> Result<Option<Value>> {
        Ok(Some(match op {
            b'(' => Value::Mark,                                                      // MARK
            b'}' => Value::Dict(Rc::new(RefCell::new(Vec::new()))),                   // EMPTY_DICT
            b']' => Value::List(Rc::new(RefCell::new(Vec::new()))),                   // EMPTY_LIST
            b')' => Value::Tuple(Rc::new(Vec::new())),                                // EMPTY_TUPLE
            b't' => Value::Tuple(Rc::new(self.pop_mark()?)),                          // TUPLE
            0x85..=0x87 => self.tuple_n(usize::from(op - 0x84))?,                     // TUPLE1, TUPLE2, TUPLE3
            b'l' => Value::List(Rc::new(RefCell::new(self.pop_mark()?))),             // LIST
            b'd' => Value::Dict(Rc::new(RefCell::new(self.pop_mark_pairs("DICT")?))), // DICT
            b'J' => Value::Int(self.u32()? as i32 as i64),                            // BININT
            b'K' => Value::Int(self.u8()? as i64),                                    // BININT1
            b'M' => Value::Int(self.u16()? as i64),                                   // BININT2
            0x8a => self.long1()?,                                                    // LONG1
            b'G' => self.binfloat()?,                                                 // BINFLOAT
            b'N' => Value::None,                                                      // NONE
            0x88 => Value::Bool(true),                                                // NEWTRUE
            0x89 => Value::Bool(false),                                               // NEWFALSE
            b'X' => {
                // BINUNICODE
                let n = self.u32()? as u64;
                let n = self.len(n)?;
                self.string(n)?
            }
            0x8c => {
                // SHORT_BINUNICODE
                let n = self.u8()? as usize;
                self.string(n)?
            }
            0x8d => {
                // BINUNICODE8
                let n = self.u64()?;
                let n = self.len(n)?;
                self.string(n)?
            }
            b'B' | b'C' | 0x8e => self.binbytes(op)?, // BINBYTES, SHORT_BINBYTES, BINBYTES8
            b'h' => {
                // BINGET
                let k = self.u8()? as u32;
                self.memo_get(k)?
            }
            b'j' => {
                // LONG_BINGET
                let k = self.u32()?;
                self.memo_get(k)?
            }
            b'c' => self.global_op()?,    // GLOBAL
            0x93 => self.stack_global()?, // STACK_GLOBAL
            b'R' => self.reduce()?,       // REDUCE
            b'Q' => self.persistent()?,   // BINPERSID
            _ => return Ok(None),
        }))
    }

    /// Opcodes that change the stack, the memo or nothing: PROTO, FRAME, the memo puts, SETITEM(S), APPEND(S),
    /// BUILD. Any opcode neither this nor [`Self::value_op`] knows is an error.
    fn stack_op(&mut self, op: u8) -> Result<()> {
        match op {
            0x80 => {
                // PROTO
                let p = self.u8()?;
                if p > 5 {
                    return self.err(format!("unsupported pickle protocol {p}"));
                }
            }
            0x95 => {
                self.u64()?; // FRAME: just a length hint
            }
            b'q' => {
                // BINPUT
                let k = self.u8()? as u32;
                self.memo_put(k)?;
            }
            b'r' => {
                // LONG_BINPUT
                let k = self.u32()?;
                self.memo_put(k)?;
            }
            0x94 => {
                // MEMOIZE
                let k = self.memo.len() as u32;
                self.memo_put(k)?;
            }
            b's' => {
                // SETITEM
                let v = self.pop()?;
                let k = self.pop()?;
                let d = self.top()?;
                self.set_items(&d, vec![(k, v)])?;
            }
            b'u' => {
                // SETITEMS
                let pairs = self.pop_mark_pairs("SETITEMS")?;
                let d = self.top()?;
                self.set_items(&d, pairs)?;
            }
            b'a' => {
                // APPEND
                let v = self.pop()?;
                let l = self.top()?;
                self.append(&l, vec![v])?;
            }
            b'e' => {
                // APPENDS
                let items = self.pop_mark()?;
                let l = self.top()?;
                self.append(&l, items)?;
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
            _ => return self.err(format!("unsupported pickle opcode 0x{op:02x}")),
        }
        Ok(())
    }

    /// TUPLE1..TUPLE3: the top `n` items as a tuple, in stack order.
    fn tuple_n(&mut self, n: usize) -> Result<Value> {
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.pop()?);
        }
        items.reverse();
        Ok(Value::Tuple(Rc::new(items)))
    }

    /// LONG1: a little-endian two's-complement integer of up to 8 bytes.
    fn long1(&mut self) -> Result<Value> {
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
        Ok(Value::Int(i64::from_le_bytes(a)))
    }

    /// BINFLOAT: a big-endian f64.
    fn binfloat(&mut self) -> Result<Value> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(Value::Float(f64::from_be_bytes(a)))
    }

    /// BINBYTES / SHORT_BINBYTES / BINBYTES8: length (u32, u8, u64), then the bytes.
    fn binbytes(&mut self, op: u8) -> Result<Value> {
        let n = match op {
            b'B' => self.u32()? as u64,
            b'C' => self.u8()? as u64,
            _ => self.u64()?,
        };
        let n = self.len(n)?;
        let b = self.take(n)?.to_vec();
        Ok(Value::Bytes(b))
    }

    /// GLOBAL: `module\nname\n`, resolved in the allow-list or refused.
    fn global_op(&mut self) -> Result<Value> {
        let module = self.line()?;
        let name = self.line()?;
        let g = self.global(module, name)?;
        Ok(Value::Global(g))
    }

    /// STACK_GLOBAL: module and name popped as strings, resolved in the allow-list or refused.
    fn stack_global(&mut self) -> Result<Value> {
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
        Ok(Value::Global(g))
    }

    /// REDUCE: an allowed global "called" on its argument tuple ([`globals::reduce`]).
    fn reduce(&mut self) -> Result<Value> {
        let args = self.pop()?;
        let f = self.pop()?;
        let v = globals::reduce(f, args.clone());
        dismantle(vec![args]);
        v.or_else(|m| self.err(m))
    }

    /// BINPERSID: a storage reference from its persistent id ([`globals::persistent`]).
    fn persistent(&mut self) -> Result<Value> {
        let pid = self.pop()?;
        let v = globals::persistent(pid.clone());
        dismantle(vec![pid]);
        v.or_else(|m| self.err(m))
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
}
