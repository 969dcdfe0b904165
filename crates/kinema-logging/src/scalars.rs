//! Ordered scalar records: what one log step hands to the log file, scalars.json and TensorBoard.

use indexmap::IndexMap;

/// One logged value. MMEngine logs integers (`epoch`, `iter`, `memory`, `step`) and floats
/// (everything from the message hub); the JSON files keep that distinction (`1` vs `1.0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// An integer, written without a decimal point.
    Int(i64),
    /// A float, written like Python's `repr`.
    Float(f64),
}

impl Scalar {
    /// The value as `f64` (integers converted).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Int(v) => v as f64,
            Scalar::Float(v) => v,
        }
    }
}

impl From<f64> for Scalar {
    fn from(value: f64) -> Self {
        Scalar::Float(value)
    }
}

impl From<f32> for Scalar {
    fn from(value: f32) -> Self {
        Scalar::Float(f64::from(value))
    }
}

impl From<i64> for Scalar {
    fn from(value: i64) -> Self {
        Scalar::Int(value)
    }
}

impl From<i32> for Scalar {
    fn from(value: i32) -> Self {
        Scalar::Int(i64::from(value))
    }
}

impl From<u32> for Scalar {
    fn from(value: u32) -> Self {
        Scalar::Int(i64::from(value))
    }
}

impl From<u64> for Scalar {
    fn from(value: u64) -> Self {
        Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Scalar {
    fn from(value: usize) -> Self {
        Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

/// Scalars by name in insertion order, like the Python `dict` a `LogProcessor` returns.
/// Inserting an existing key replaces its value and keeps its position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalarDict {
    entries: IndexMap<String, Scalar>,
}

impl ScalarDict {
    /// An empty dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` (in place when the key exists, else at the end).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Scalar>) {
        self.entries.insert(key.into(), value.into());
    }

    /// Inserts `key` only when it is absent (Python's `dict.setdefault`).
    pub fn set_default(&mut self, key: impl Into<String>, value: impl Into<Scalar>) {
        self.entries.entry(key.into()).or_insert(value.into());
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<Scalar> {
        self.entries.get(key).copied()
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Scalar> {
        self.entries.shift_remove(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<Scalar>> FromIterator<(K, V)> for ScalarDict {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = ScalarDict::new();
        for (k, v) in iter {
            dict.insert(k, v);
        }
        dict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_first_position_and_remove_keeps_order() {
        let mut d = ScalarDict::new();
        d.insert("a", 1.0);
        d.insert("b", 2_i64);
        d.insert("c", 3.0);
        d.insert("a", 4.0);
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(d.get("a"), Some(Scalar::Float(4.0)));
        assert_eq!(d.remove("b"), Some(Scalar::Int(2)));
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "c"]);
        d.set_default("a", 9.0);
        d.set_default("step", 7_i64);
        assert_eq!(d.get("a"), Some(Scalar::Float(4.0)));
        assert_eq!(d.get("step"), Some(Scalar::Int(7)));
    }
}
