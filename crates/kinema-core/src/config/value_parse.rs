//! Parsing of `--cfg-options` values exactly like MMEngine's `DictAction`:
//! int, then float, then `true`/`false` (any case), then `None`, else a string;
//! `[a,b]` and `a,b` are lists, `(a,b)` tuples (lists here), nesting allowed.

use serde_json::Value;

/// The deepest list nesting an override value may have.
pub const MAX_OVERRIDE_DEPTH: usize = 32;

/// Parses one override value (the text after the first `=`). Unbalanced brackets are an
/// error (MMEngine asserts the same: "Imbalanced brackets exist in ..."), and so is a value
/// nested deeper than [`MAX_OVERRIDE_DEPTH`] lists.
pub fn parse_override_value(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_matches(|c| c == '\'' || c == '"');
    let compact: String = trimmed.chars().filter(|c| *c != ' ').collect();
    let count = |c: char| compact.chars().filter(|&x| x == c).count();
    if count('(') != count(')') || count('[') != count(']') {
        return Err(format!("imbalanced brackets in {compact:?}; expected every ( and [ closed, like (0.9,0.98)"));
    }
    parse_iterable(&compact, 0)
}

fn parse_iterable(val: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_OVERRIDE_DEPTH {
        return Err(format!("lists nested deeper than {MAX_OVERRIDE_DEPTH} levels"));
    }
    let val = val.trim_matches(|c| c == '\'' || c == '"');
    let bracketed = (val.starts_with('(') && val.ends_with(')') && val.len() >= 2)
        || (val.starts_with('[') && val.ends_with(']') && val.len() >= 2);
    let inner = if bracketed {
        &val[1..val.len() - 1]
    } else if !val.contains(',') {
        return Ok(parse_scalar(val));
    } else {
        val
    };
    let mut values = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let comma = find_next_comma(rest);
        if !bracketed && comma == val.len() {
            // No comma at the top level and no brackets to strip: parsing would not progress.
            return Err(format!("cannot split {val:?} into list items; expected items like a,b or [a,b]"));
        }
        values.push(parse_iterable(&rest[..comma], depth + 1)?);
        rest = if comma < rest.len() { &rest[comma + 1..] } else { "" };
    }
    Ok(Value::Array(values))
}

/// The index of the first comma outside brackets, or the length of `s`.
fn find_next_comma(s: &str) -> usize {
    let mut depth: i32 = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

fn parse_scalar(val: &str) -> Value {
    if let Some(i) = parse_python_int(val) {
        return Value::from(i);
    }
    if let Some(f) = parse_python_float(val) {
        return match serde_json::Number::from_f64(f) {
            Some(n) => Value::Number(n),
            // JSON has no inf/nan; keep the text, as the shared fixtures do.
            None => Value::String(val.to_string()),
        };
    }
    match val.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if val == "None" {
        return Value::Null;
    }
    Value::String(val.to_string())
}

/// Python's `int(text)` for base 10: optional sign, digits, single underscores between digits.
fn parse_python_int(val: &str) -> Option<i64> {
    let cleaned = strip_python_underscores(val)?;
    let digits = cleaned.strip_prefix(['+', '-']).unwrap_or(&cleaned);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    cleaned.parse::<i64>().ok()
}

/// Python's `float(text)`: decimal and exponent forms, `inf`, `infinity`, `nan`.
fn parse_python_float(val: &str) -> Option<f64> {
    let cleaned = strip_python_underscores(val)?;
    let body = cleaned.strip_prefix(['+', '-']).unwrap_or(&cleaned);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return cleaned.to_ascii_lowercase().parse::<f64>().ok();
    }
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    cleaned.parse::<f64>().ok()
}

/// Removes underscores that sit between two digits; `None` if any other underscore exists.
fn strip_python_underscores(val: &str) -> Option<String> {
    if !val.contains('_') {
        return Some(val.to_string());
    }
    let bytes = val.as_bytes();
    let mut out = String::with_capacity(val.len());
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let ok = i > 0 && i + 1 < bytes.len() && bytes[i - 1].is_ascii_digit() && bytes[i + 1].is_ascii_digit();
            if !ok {
                return None;
            }
        } else {
            out.push(b as char);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_follow_python_order() {
        let p = |t: &str| parse_override_value(t).unwrap();
        assert_eq!(p("007"), json!(7));
        assert_eq!(p("1_000"), json!(1000));
        assert_eq!(p("0x10"), json!("0x10"));
        assert_eq!(p("TRUE"), json!(true));
        assert_eq!(p("none"), json!("none"));
        assert_eq!(p("-inf"), json!("-inf"));
    }

    /// These aborted every tool (unbounded recursion) or took gigabytes.
    #[test]
    fn broken_values_are_errors_not_aborts() {
        assert_eq!(
            parse_override_value("(0.9,0.98").unwrap_err(),
            "imbalanced brackets in \"(0.9,0.98\"; expected every ( and [ closed, like (0.9,0.98)"
        );
        assert_eq!(
            parse_override_value("),(").unwrap_err(),
            "cannot split \"),(\" into list items; expected items like a,b or [a,b]"
        );
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse_override_value(&deep).unwrap_err(), "lists nested deeper than 32 levels");
        let ok = format!("{}1{}", "[".repeat(32), "]".repeat(32));
        assert!(parse_override_value(&ok).is_ok());
        assert_eq!(parse_override_value("[(1,2),[3]]").unwrap(), json!([[1, 2], [3]]));
    }
}
