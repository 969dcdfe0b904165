//! JSON lines exactly as Python's `json.dump` writes MMEngine's scalar dicts
//! (`{"loss": 0.5, "epoch": 1, "step": 20}`), and a reader that accepts them back,
//! including Python's `NaN`/`Infinity` extensions.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{LoggingError, Result};
use crate::pyfmt;
use crate::scalars::{Scalar, ScalarDict};

/// Serializes `dict` on one line like `json.dumps(dict)`: `", "` and `": "` separators,
/// floats as `repr`, non-ASCII keys escaped as `\uXXXX` (`ensure_ascii=True`).
pub fn to_python_json(dict: &ScalarDict) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in dict.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_json_string(&mut out, key);
        out.push_str(": ");
        match value {
            Scalar::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::Float(v) => out.push_str(&pyfmt::repr(v)),
        }
    }
    out.push('}');
    out
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

const NAN_MARK: &str = "\u{1}NaN";
const INF_MARK: &str = "\u{1}Infinity";
const NEG_INF_MARK: &str = "\u{1}-Infinity";

/// Parses one line written by [`to_python_json`] or by Python's `json.dump`. Numeric values
/// are kept (integers as [`Scalar::Int`]); other values (strings, lists) are skipped.
/// `path` and `line` only serve the error message.
pub fn parse_line(text: &str, path: &Path, line: usize) -> Result<ScalarDict> {
    let bad = |reason: String| LoggingError::JsonLine { path: path.to_path_buf(), line, reason };
    let value: serde_json::Value = serde_json::from_str(&replace_non_finite(text)).map_err(|e| bad(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad("the line is not a JSON object".to_string()));
    };
    let mut dict = ScalarDict::new();
    for (key, value) in map {
        let scalar = match value {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) if s == NAN_MARK => Scalar::Float(f64::NAN),
            serde_json::Value::String(s) if s == INF_MARK => Scalar::Float(f64::INFINITY),
            serde_json::Value::String(s) if s == NEG_INF_MARK => Scalar::Float(f64::NEG_INFINITY),
            _ => continue,
        };
        dict.insert(key, scalar);
    }
    Ok(dict)
}

/// Reads a whole JSON-lines file (blank lines skipped).
pub fn read_file(path: &Path) -> Result<Vec<ScalarDict>> {
    let text = std::fs::read_to_string(path).map_err(|e| LoggingError::io("read", path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l.trim(), path, i + 1))
        .collect()
}

/// Replaces Python's bare `NaN`, `Infinity` and `-Infinity` tokens (outside strings) by
/// marker strings that standard JSON accepts.
fn replace_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = [("-Infinity", NEG_INF_MARK), ("Infinity", INF_MARK), ("NaN", NAN_MARK)]
            .into_iter()
            .find(|(token, _)| rest.starts_with(token));
        if let Some((token, mark)) = token {
            push_json_string(&mut out, mark);
            rest = &rest[token.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ScalarDict {
        let mut d = ScalarDict::new();
        d.insert("base_lr", 5e-8);
        d.insert("lr", 5e-8);
        d.insert("data_time", 0.12345);
        d.insert("loss", 1.5);
        d.insert("acc/top1", 1.0);
        d.insert("epoch", 1_i64);
        d.insert("iter", 20_i64);
        d.insert("memory", 12345_i64);
        d.insert("step", 20_i64);
        d
    }

    #[test]
    fn writes_like_python_json_dumps() {
        // json.dumps({...}) in CPython 3.11 with the same values.
        assert_eq!(
            to_python_json(&sample()),
            r#"{"base_lr": 5e-08, "lr": 5e-08, "data_time": 0.12345, "loss": 1.5, "acc/top1": 1.0, "epoch": 1, "iter": 20, "memory": 12345, "step": 20}"#
        );
        let mut odd = ScalarDict::new();
        odd.insert("naïve \"q\"\n", f64::NAN);
        odd.insert("x", f64::NEG_INFINITY);
        assert_eq!(to_python_json(&odd), r#"{"na\u00efve \"q\"\n": NaN, "x": -Infinity}"#);
    }

    #[test]
    fn parse_round_trips_including_non_finite() {
        let p = Path::new("scalars.json");
        let mut d = sample();
        d.insert("NaN key", f64::INFINITY);
        d.insert("bad", f64::NAN);
        let back = parse_line(&to_python_json(&d), p, 1).expect("parse");
        assert_eq!(back.keys().collect::<Vec<_>>(), d.keys().collect::<Vec<_>>());
        assert_eq!(back.get("epoch"), Some(Scalar::Int(1)));
        assert_eq!(back.get("lr"), Some(Scalar::Float(5e-8)));
        assert_eq!(back.get("NaN key"), Some(Scalar::Float(f64::INFINITY)));
        assert!(back.get("bad").is_some_and(|v| v.as_f64().is_nan()));
    }

    #[test]
    fn parse_skips_non_numbers_and_rejects_non_objects() {
        let p = Path::new("x.json");
        let d = parse_line(r#"{"a": "text", "b": [1], "c": 2}"#, p, 3).expect("parse");
        assert_eq!(d.keys().collect::<Vec<_>>(), ["c"]);
        let err = parse_line("[1, 2]", p, 7).expect_err("array");
        assert!(err.to_string().starts_with("x.json:7: expected a JSON object"), "{err}");
        let err = parse_line("{\"a\": ", p, 2).expect_err("truncated");
        assert!(err.to_string().starts_with("x.json:2:"), "{err}");
    }
}
