//! `${a.b}` references, resolved after merging and overrides. A string that is exactly
//! `"${a.b}"` becomes the value at `a.b` (any type); `${a.b}` inside a longer string is
//! replaced by the value's text. `$${` writes a literal `${`.

use std::collections::HashMap;

use serde_json::Value;

use super::error::type_name;
use super::origins::Origins;
use super::{ConfigError, KeyPath, Source};

/// One piece of a string containing references.
enum Piece {
    Text(String),
    Reference(String),
}

/// Splits a string into text and references; `None` if it has no references or escapes.
fn split_pieces(s: &str) -> Option<Vec<Piece>> {
    if !s.contains("${") {
        return None;
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            text.push_str(&rest[..pos - 1]);
            text.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        match rest[pos + 2..].find('}') {
            Some(end) => {
                text.push_str(&rest[..pos]);
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Reference(rest[pos + 2..pos + 2 + end].trim().to_string()));
                rest = &rest[pos + 2 + end + 1..];
            }
            None => {
                text.push_str(rest);
                rest = "";
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(pieces)
}

/// The top-level keys that the references inside `value` point into (`${a.b}` -> `a`):
/// the config's variables.
pub(crate) fn referenced_roots(value: &Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::String(s) => {
            for piece in split_pieces(s).unwrap_or_default() {
                if let Piece::Reference(target) = piece {
                    if let Some(super::key_path::Segment::Key(k)) = KeyPath::parse(&target).segments().first() {
                        out.insert(k.clone());
                    }
                }
            }
        }
        Value::Object(map) => map.values().for_each(|v| referenced_roots(v, out)),
        Value::Array(items) => items.iter().for_each(|v| referenced_roots(v, out)),
        _ => {}
    }
}

/// How many references may lead from one value to the next (`a = "${b}"`, `b = "${c}"`,
/// ...) before resolving gives up: real configs use two or three.
pub const MAX_REFERENCE_DEPTH: usize = 64;

/// How many values and characters resolving a config's references may build in all:
/// references that repeat other references (`a = "${b}${b}"`, `b = "${c}${c}"`, ...)
/// double the text at every level.
pub const MAX_RESOLVED_SIZE: usize = 16 << 20;

/// Resolves every reference in `root` in place. A value that is exactly `"${target}"`
/// takes the target's origin (the file or `--cfg-options` that wrote it), so errors about
/// it name where the value was written.
pub(crate) fn resolve_all(root: &mut Value, origins: &mut Origins, fallback: &Source) -> Result<(), ConfigError> {
    let snapshot = root.clone();
    let mut paths = Vec::new();
    collect_string_paths(&snapshot, &KeyPath::root(), &mut paths);
    let mut moved = Vec::new();
    {
        let mut resolver = Resolver { done: HashMap::new(), origins, fallback, built: 0 };
        for path in paths {
            let resolved = resolver.resolve_path(&snapshot, &path, &mut Vec::new())?;
            if let Some(target) = whole_reference(&snapshot, &path) {
                moved.push((path.clone(), target.clone(), final_target(&snapshot, &target)));
            }
            if let Some(slot) = get_mut(root, &path) {
                *slot = resolved;
            }
        }
    }
    // Copied values take the origins of what they copy, item by item; references inside
    // referenced values are settled first by repeating until nothing changes.
    for _ in 0..MAX_REFERENCE_DEPTH {
        let before = origins.clone();
        for (path, target, from) in &moved {
            if let Some(value) = get(root, path) {
                let wrap = |source: Source| Source::Reference { target: target.clone(), source: Box::new(source) };
                origins.copy_tree(from, path, value, &wrap);
            }
        }
        if *origins == before {
            break;
        }
    }
    Ok(())
}

/// Where a chain of single references starting at `target` ends (`a -> b -> c` gives `c`).
fn final_target(root: &Value, target: &str) -> KeyPath {
    let mut path = KeyPath::parse(target);
    for _ in 0..MAX_REFERENCE_DEPTH {
        match whole_reference(root, &path) {
            Some(next) => path = KeyPath::parse(&next),
            None => break,
        }
    }
    path
}

/// The target of the value at `path` when it is exactly one reference (`"${a.b}"`).
fn whole_reference(root: &Value, path: &KeyPath) -> Option<String> {
    let Some(Value::String(s)) = get(root, path) else { return None };
    match split_pieces(s)?.as_slice() {
        [Piece::Reference(target)] => Some(target.clone()),
        _ => None,
    }
}

/// A rough size of a value: one per value plus the characters of its strings.
fn size_of(value: &Value) -> usize {
    match value {
        Value::String(s) => 1 + s.len(),
        Value::Array(items) => 1 + items.iter().map(size_of).sum::<usize>(),
        Value::Object(map) => 1 + map.iter().map(|(k, v)| k.len() + size_of(v)).sum::<usize>(),
        _ => 1,
    }
}

fn collect_string_paths(value: &Value, path: &KeyPath, out: &mut Vec<KeyPath>) {
    match value {
        Value::String(s) if s.contains("${") => out.push(path.clone()),
        Value::Object(map) => map.iter().for_each(|(k, v)| collect_string_paths(v, &path.key(k), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| collect_string_paths(v, &path.index(i), out)),
        _ => {}
    }
}

struct Resolver<'a> {
    done: HashMap<KeyPath, Value>,
    origins: &'a Origins,
    fallback: &'a Source,
    /// Values and characters built so far (see [`MAX_RESOLVED_SIZE`]).
    built: usize,
}

impl Resolver<'_> {
    /// Counts `size` more built values and characters against [`MAX_RESOLVED_SIZE`].
    fn charge(&mut self, size: usize, path: &KeyPath) -> Result<(), ConfigError> {
        self.built = self.built.saturating_add(size);
        if self.built > MAX_RESOLVED_SIZE {
            return Err(ConfigError::ReferencesTooLarge {
                source_of: self.source(path),
                key: path.clone(),
                max: MAX_RESOLVED_SIZE,
            });
        }
        Ok(())
    }

    /// The fully resolved value at `path` (which holds a string).
    fn resolve_path(&mut self, root: &Value, path: &KeyPath, stack: &mut Vec<KeyPath>) -> Result<Value, ConfigError> {
        if let Some(v) = self.done.get(path) {
            return Ok(v.clone());
        }
        let value = get(root, path).cloned().unwrap_or(Value::Null);
        let resolved = self.resolve_value(root, value, path, stack)?;
        self.done.insert(path.clone(), resolved.clone());
        Ok(resolved)
    }

    /// Resolves references anywhere inside `value`, which lives at `path`.
    fn resolve_value(
        &mut self,
        root: &Value,
        value: Value,
        path: &KeyPath,
        stack: &mut Vec<KeyPath>,
    ) -> Result<Value, ConfigError> {
        match value {
            Value::String(s) => self.resolve_string(root, s, path, stack),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let child = path.key(&k);
                    out.insert(k, self.resolve_value(root, v, &child, stack)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.into_iter().enumerate() {
                    out.push(self.resolve_value(root, v, &path.index(i), stack)?);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }

    fn resolve_string(
        &mut self,
        root: &Value,
        s: String,
        path: &KeyPath,
        stack: &mut Vec<KeyPath>,
    ) -> Result<Value, ConfigError> {
        let Some(pieces) = split_pieces(&s) else { return Ok(Value::String(s)) };
        if stack.contains(path) {
            let mut chain: Vec<String> = stack.iter().skip_while(|p| *p != path).map(|p| p.to_string()).collect();
            chain.push(path.to_string());
            let first = stack.iter().find(|p| *p == path).cloned().unwrap_or_else(|| path.clone());
            return Err(ConfigError::ReferenceCycle { source_of: self.source(&first), key: first, chain });
        }
        if stack.len() >= MAX_REFERENCE_DEPTH {
            let first = stack[0].clone();
            return Err(ConfigError::ReferencesTooDeep {
                source_of: self.source(&first),
                key: first,
                chain: stack.iter().take(4).map(|p| p.to_string()).collect(),
                max: MAX_REFERENCE_DEPTH,
            });
        }
        stack.push(path.clone());
        let whole = pieces.len() == 1 && matches!(pieces[0], Piece::Reference(_));
        let mut text = String::new();
        let mut single = None;
        for piece in pieces {
            match piece {
                Piece::Text(t) => text.push_str(&t),
                Piece::Reference(target) => {
                    let value = self.lookup_target(root, &target, path, stack)?;
                    if whole {
                        single = Some(value);
                    } else {
                        match &value {
                            Value::String(v) => text.push_str(v),
                            Value::Number(n) => text.push_str(&n.to_string()),
                            Value::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
                            other => {
                                stack.pop();
                                return Err(ConfigError::NonScalarInterpolation {
                                    source_of: self.source(path),
                                    key: path.clone(),
                                    target,
                                    found: type_name(other),
                                });
                            }
                        }
                    }
                }
            }
        }
        stack.pop();
        let resolved = single.unwrap_or(Value::String(text));
        self.charge(size_of(&resolved), path)?;
        Ok(resolved)
    }

    fn lookup_target(
        &mut self,
        root: &Value,
        target: &str,
        path: &KeyPath,
        stack: &mut Vec<KeyPath>,
    ) -> Result<Value, ConfigError> {
        let target_path = KeyPath::parse(target);
        match get(root, &target_path) {
            None => Err(ConfigError::MissingReference {
                source_of: self.source(path),
                key: path.clone(),
                target: target.to_string(),
            }),
            Some(v) => {
                let v = v.clone();
                self.resolve_value(root, v, &target_path, stack)
            }
        }
    }

    fn source(&self, path: &KeyPath) -> Source {
        self.origins.lookup_or(path, self.fallback)
    }
}

/// The value at `path`, if any.
pub(crate) fn get<'v>(root: &'v Value, path: &KeyPath) -> Option<&'v Value> {
    use super::key_path::Segment;
    let mut cur = root;
    for seg in path.segments() {
        cur = match (seg, cur) {
            (Segment::Key(k), Value::Object(m)) => m.get(k)?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
            (Segment::Index(i), Value::Object(m)) => m.get(&i.to_string())?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The value at `path`, mutable, if any.
pub(crate) fn get_mut<'v>(root: &'v mut Value, path: &KeyPath) -> Option<&'v mut Value> {
    use super::key_path::Segment;
    let mut cur = root;
    for seg in path.segments() {
        cur = match (seg, cur) {
            (Segment::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Segment::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            (Segment::Index(i), Value::Object(m)) => m.get_mut(&i.to_string())?,
            _ => return None,
        };
    }
    Some(cur)
}
