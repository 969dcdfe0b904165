//! Decoding of the text arguments of protocol 0 opcodes (`STRING`, `UNICODE`).

/// Decodes a `STRING` argument: a Python `repr` of a byte string in single or double quotes.
pub(crate) fn unquote(line: &str) -> Result<Vec<u8>, String> {
    let inner = line
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| line.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .ok_or_else(|| format!("STRING argument {line:?} is not quoted"))?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('0') => out.push(0),
            Some(c @ ('\\' | '\'' | '"')) => out.push(c as u8),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x escape in {line:?}"))?;
                out.push(byte);
            }
            other => return Err(format!("unsupported escape \\{other:?} in STRING {line:?}")),
        }
    }
    Ok(out)
}

/// Decodes a `UNICODE` argument: raw-unicode-escape text (`\uXXXX`, `\UXXXXXXXX`).
pub(crate) fn raw_unicode_escape(line: &str) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let width = match (c, chars.peek()) {
            ('\\', Some('u')) => 4,
            ('\\', Some('U')) => 8,
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        let hex: String = chars.by_ref().take(width).collect();
        let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad escape in UNICODE {line:?}"))?;
        out.push(char::from_u32(code).ok_or_else(|| format!("invalid code point {code:#x} in UNICODE"))?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_python_byte_reprs() {
        assert_eq!(unquote(r"'a\'b\\c\x41\n'").unwrap(), b"a'b\\cA\n".to_vec());
        assert_eq!(unquote("\"x\"").unwrap(), b"x".to_vec());
        assert!(unquote("noquotes").unwrap_err().contains("not quoted"));
    }

    #[test]
    fn decodes_raw_unicode_escapes() {
        assert_eq!(raw_unicode_escape(r"caf\u00e9 \U0001F600").unwrap(), "café 😀");
        assert!(raw_unicode_escape(r"\uZZZZ").is_err());
    }
}
