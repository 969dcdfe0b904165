//! The pickle virtual machine: reads opcodes (protocols 0 to 5) and builds [`V`] values.
//! It never imports or calls anything; globals go through the allow-list in `globals`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::cursor::Cursor;
use super::globals::{self, Known};
use super::object::{DictV, Global, V};
use super::PickleError;

/// Runs the pickle in `data` to its `STOP` and returns the value it produced.
pub(crate) fn run(data: &[u8]) -> Result<V, PickleError> {
    let mut m = Machine { input: Cursor::new(data), stack: Vec::new(), marks: Vec::new(), memo: HashMap::new() };
    m.run()
}

struct Machine<'a> {
    input: Cursor<'a>,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: HashMap<u64, V>,
}

impl Drop for Machine<'_> {
    fn drop(&mut self) {
        super::object::dismantle(self.stack.drain(..).chain(self.memo.drain().map(|(_, v)| v)));
    }
}

fn shared<T>(v: T) -> Rc<RefCell<T>> {
    Rc::new(RefCell::new(v))
}

impl Machine<'_> {
    fn err(&self, msg: impl Into<String>) -> PickleError {
        self.input.err(msg)
    }

    fn utf8(&self, bytes: &[u8]) -> Result<V, PickleError> {
        std::str::from_utf8(bytes).map(|s| V::Str(Rc::from(s))).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn pop(&mut self) -> Result<V, PickleError> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn top(&self) -> Result<&V, PickleError> {
        self.stack.last().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<V>, PickleError> {
        let mark = self.marks.pop().ok_or_else(|| self.err("MARK expected"))?;
        if mark > self.stack.len() {
            return Err(self.err("MARK past the stack"));
        }
        Ok(self.stack.split_off(mark))
    }

    fn memo_get(&self, key: u64) -> Result<V, PickleError> {
        self.memo.get(&key).cloned().ok_or_else(|| self.err(format!("memo key {key} read before it was written")))
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let v = self.top()?.clone();
        self.memo.insert(key, v);
        Ok(())
    }

    fn global(&mut self, module: String, name: String) {
        let module = globals::python3_module(&module).to_string();
        let known = globals::resolve(&module, &name);
        if known == Known::Other {
            log::debug!("pickle references {module}.{name}: kept as an opaque object");
        }
        self.stack.push(V::Global(Rc::new(Global { module, name, known })));
    }

    fn long(&self, bytes: &[u8]) -> V {
        if bytes.len() <= 8 {
            let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
            let mut buf = [fill; 8];
            buf[..bytes.len()].copy_from_slice(bytes);
            V::Int(i64::from_le_bytes(buf))
        } else {
            V::BigInt(Rc::from(bytes))
        }
    }

    fn append(&mut self, items: Vec<V>) -> Result<(), PickleError> {
        match self.top()? {
            V::List(l) => l.borrow_mut().extend(items),
            V::Object(o) => o.borrow_mut().list_items.extend(items),
            other => return Err(self.err(format!("APPEND to {}", other.kind_name()))),
        }
        Ok(())
    }

    fn set_items(&mut self, items: Vec<V>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("SETITEMS with an odd number of values"));
        }
        let mut it = items.into_iter();
        match self.top()? {
            V::Dict(d) => {
                let mut d = d.borrow_mut();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.insert(k, v);
                }
            }
            V::Object(o) => {
                let mut o = o.borrow_mut();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    o.dict_items.push((k, v));
                }
            }
            other => return Err(self.err(format!("SETITEM on {}", other.kind_name()))),
        }
        Ok(())
    }

    fn run(&mut self) -> Result<V, PickleError> {
        loop {
            let (at, op) = self.input.opcode()?;
            let wrap = |e: String| PickleError::at(at, e);
            match op {
                0x80 => {
                    let proto = self.input.u8()?;
                    if proto > 5 {
                        return Err(self.err(format!("pickle protocol {proto} is newer than 5")));
                    }
                }
                0x95 => {
                    self.input.take(8)?; // FRAME: a length hint only
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(V::None),
                0x88 => self.stack.push(V::Bool(true)),
                0x89 => self.stack.push(V::Bool(false)),
                b'I' => {
                    let line = self.input.line()?;
                    let v = match line.as_str() {
                        "01" => V::Bool(true),
                        "00" => V::Bool(false),
                        s => V::Int(s.parse().map_err(|_| self.err(format!("bad INT {s:?}")))?),
                    };
                    self.stack.push(v);
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.input.le()?);
                    self.stack.push(V::Int(i64::from(v)));
                }
                b'K' => {
                    let v = self.input.u8()?;
                    self.stack.push(V::Int(i64::from(v)));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.input.le()?);
                    self.stack.push(V::Int(i64::from(v)));
                }
                b'L' => {
                    let line = self.input.line()?;
                    let s = line.trim_end_matches('L');
                    let v = s.parse().map_err(|_| self.err(format!("LONG {s:?} beyond 64 bits")))?;
                    self.stack.push(V::Int(v));
                }
                0x8a => {
                    let n = usize::from(self.input.u8()?);
                    let bytes = self.input.take(n)?;
                    let v = self.long(bytes);
                    self.stack.push(v);
                }
                0x8b => {
                    let n = self.input.len_u32()?;
                    let bytes = self.input.take(n)?;
                    let v = self.long(bytes);
                    self.stack.push(v);
                }
                b'F' => {
                    let line = self.input.line()?;
                    let v = line.trim().parse().map_err(|_| self.err(format!("bad FLOAT {line:?}")))?;
                    self.stack.push(V::Float(v));
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.input.le()?);
                    self.stack.push(V::Float(v));
                }
                b'S' => {
                    let line = self.input.line()?;
                    let bytes = super::text::unquote(&line).map_err(|e| self.err(e))?;
                    let v = String::from_utf8(bytes.clone())
                        .map(|s| V::Str(Rc::from(s)))
                        .unwrap_or_else(|_| V::Bytes(Rc::from(bytes)));
                    self.stack.push(v);
                }
                b'T' | b'U' => {
                    let n = if op == b'T' { self.input.len_u32()? } else { usize::from(self.input.u8()?) };
                    let bytes = self.input.take(n)?;
                    let v = match std::str::from_utf8(bytes) {
                        Ok(s) => V::Str(Rc::from(s)),
                        Err(_) => V::Bytes(Rc::from(bytes)),
                    };
                    self.stack.push(v);
                }
                b'V' => {
                    let line = self.input.line()?;
                    let s = super::text::raw_unicode_escape(&line).map_err(|e| self.err(e))?;
                    self.stack.push(V::Str(Rc::from(s)));
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.input.len_u32()?,
                        0x8c => usize::from(self.input.u8()?),
                        _ => self.input.len_u64()?,
                    };
                    let bytes = self.input.take(n)?;
                    let v = self.utf8(bytes)?;
                    self.stack.push(v);
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.input.len_u32()?,
                        b'C' => usize::from(self.input.u8()?),
                        _ => self.input.len_u64()?,
                    };
                    let v = V::Bytes(Rc::from(self.input.take(n)?));
                    self.stack.push(v);
                }
                b']' => self.stack.push(V::List(shared(Vec::new()))),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(V::List(shared(items)));
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b')' => self.stack.push(V::Tuple(Rc::from(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(V::Tuple(Rc::from(items)));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(V::Tuple(Rc::from(items)));
                }
                b'}' => self.stack.push(V::Dict(shared(DictV::new(false)))),
                b'd' => {
                    let items = self.pop_mark()?;
                    self.stack.push(V::Dict(shared(DictV::new(false))));
                    self.set_items(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                0x8f => self.stack.push(V::Set(shared(Vec::new()), false)),
                0x90 => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        V::Set(s, _) => s.borrow_mut().extend(items),
                        other => return Err(self.err(format!("ADDITEMS on {}", other.kind_name()))),
                    }
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.stack.push(V::Set(shared(items), true));
                }
                b'g' => {
                    let line = self.input.line()?;
                    let key = line.trim().parse().map_err(|_| self.err(format!("bad GET {line:?}")))?;
                    self.stack.push(self.memo_get(key)?);
                }
                b'h' => {
                    let key = u64::from(self.input.u8()?);
                    self.stack.push(self.memo_get(key)?);
                }
                b'j' => {
                    let key = u64::from(u32::from_le_bytes(self.input.le()?));
                    self.stack.push(self.memo_get(key)?);
                }
                b'p' => {
                    let line = self.input.line()?;
                    let key = line.trim().parse().map_err(|_| self.err(format!("bad PUT {line:?}")))?;
                    self.memo_put(key)?;
                }
                b'q' => {
                    let key = u64::from(self.input.u8()?);
                    self.memo_put(key)?;
                }
                b'r' => {
                    let key = u64::from(u32::from_le_bytes(self.input.le()?));
                    self.memo_put(key)?;
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key)?;
                }
                b'c' => {
                    let module = self.input.line()?;
                    let name = self.input.line()?;
                    self.global(module, name);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (V::Str(m), V::Str(n)) => self.global(m.to_string(), n.to_string()),
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = globals::reduce(&callable, &args).map_err(wrap)?;
                    self.stack.push(v);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = globals::new_object(&cls, args, None).map_err(wrap)?;
                    self.stack.push(v);
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = globals::new_object(&cls, args, Some(kwargs)).map_err(wrap)?;
                    self.stack.push(v);
                }
                b'i' => {
                    let module = self.input.line()?;
                    let name = self.input.line()?;
                    let args = self.pop_mark()?;
                    self.global(module, name);
                    let cls = self.pop()?;
                    let v = globals::new_object(&cls, V::Tuple(Rc::from(args)), None).map_err(wrap)?;
                    self.stack.push(v);
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.err("OBJ without a class"));
                    }
                    let cls = items.remove(0);
                    let v = globals::new_object(&cls, V::Tuple(Rc::from(items)), None).map_err(wrap)?;
                    self.stack.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    globals::build(self.top()?, state).map_err(wrap)?;
                }
                b'P' => {
                    let line = self.input.line()?;
                    let v = globals::persistent_load(&V::Str(Rc::from(line))).map_err(wrap)?;
                    self.stack.push(v);
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = globals::persistent_load(&pid).map_err(wrap)?;
                    self.stack.push(v);
                }
                0x82..=0x84 => {
                    return Err(PickleError::at(at, "extension-registry opcodes (EXT1/2/4) are not supported"))
                }
                0x97 | 0x98 => {
                    return Err(PickleError::at(at, "out-of-band buffers (protocol 5 NEXT_BUFFER) are not supported"))
                }
                other => return Err(PickleError::at(at, format!("unsupported or invalid opcode 0x{other:02x}"))),
            }
        }
    }
}
