//! HTML character references: Python's `html.unescape`, and the entity table ftfy uses.
//!
//! The named references come from `assets/html5_entities.tsv` (the HTML standard's list as
//! Python's `html.entities.html5` holds it: 2,231 names, the 106 legacy ones also without `;`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

static ENTITIES_TSV: &str = include_str!("../assets/html5_entities.tsv");

/// Longest run of name characters `html.unescape` looks at after `&`.
const MAX_NAME_CHARS: usize = 32;

/// Named references, keyed without the leading `&` (with the `;` where the name has one).
pub(crate) fn html5_entities() -> &'static HashMap<&'static str, String> {
    static TABLE: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::with_capacity(2300);
        for line in ENTITIES_TSV.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, codes)) = line.split_once('\t') else {
                log::warn!("html5_entities.tsv: skipping malformed line {line:?}");
                continue;
            };
            let chars: Option<String> =
                codes.split(' ').map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32)).collect();
            match chars {
                Some(chars) => {
                    table.insert(name, chars);
                }
                None => log::warn!("html5_entities.tsv: bad code points in {line:?}"),
            }
        }
        table
    })
}

/// Windows-1252 for the C1 range 0x80–0x9F, the five unassigned bytes kept as themselves
/// (Python's `html` module and ftfy's "sloppy-windows-1252" agree on this).
pub(crate) fn cp1252_c1(code: u32) -> Option<char> {
    const TABLE: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let index = code.checked_sub(0x80)? as usize;
    TABLE.get(index).copied().and_then(char::from_u32)
}

/// The replacement `html.unescape` makes for a numeric reference to `num`
/// (`None` for numbers beyond `u32`, treated like any other out-of-range number).
pub(crate) fn numeric_reference(num: Option<u32>) -> Option<char> {
    let Some(num) = num else {
        return Some('\u{FFFD}');
    };
    match num {
        0 => return Some('\u{FFFD}'),
        0x0D => return Some('\r'),
        0x80..=0x9F => return cp1252_c1(num),
        0xD800..=0xDFFF | 0x11_0000.. => return Some('\u{FFFD}'),
        _ => {}
    }
    let invalid = matches!(num, 0x1..=0x8 | 0xB | 0xE..=0x1F | 0x7F | 0xFDD0..=0xFDEF) || (num & 0xFFFE) == 0xFFFE;
    if invalid {
        None
    } else {
        char::from_u32(num)
    }
}

/// Parses `digits` in `radix`, `None` on overflow (Python's ints never overflow; any such
/// number is out of Unicode's range anyway).
fn parse_number(digits: &str, radix: u32) -> Option<u32> {
    digits.chars().try_fold(0u32, |acc, c| acc.checked_mul(radix)?.checked_add(c.to_digit(radix)?))
}

/// Python's `html.unescape`: numeric references (decimal and hex, `;` optional, invalid code
/// points replaced as the HTML standard says) and named references, including the legacy
/// names without `;` matched as the longest known prefix.
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let entities = html5_entities();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let consumed = if let Some(num) = after.strip_prefix('#') {
            decode_numeric(num, &mut out)
        } else {
            decode_named(after, entities, &mut out)
        };
        match consumed {
            Some(n) => rest = &after[n..],
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes `#…` (given without the `#`); returns the bytes consumed after `&`.
fn decode_numeric(num: &str, out: &mut String) -> Option<usize> {
    let decimal_len = num.bytes().take_while(u8::is_ascii_digit).count();
    let (digits_start, digits_len, radix) = if decimal_len > 0 {
        (0, decimal_len, 10)
    } else if num.starts_with(['x', 'X']) {
        let hex_len = num[1..].bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex_len == 0 {
            return None;
        }
        (1, hex_len, 16)
    } else {
        return None;
    };
    let end = digits_start + digits_len;
    let value = parse_number(&num[digits_start..end], radix);
    if let Some(c) = numeric_reference(value) {
        out.push(c);
    }
    let semicolon = usize::from(num[end..].starts_with(';'));
    Some(1 + end + semicolon)
}

/// Decodes a named reference (given without the `&`); returns the bytes consumed.
fn decode_named(after: &str, entities: &HashMap<&str, String>, out: &mut String) -> Option<usize> {
    let stop = |c: char| matches!(c, '\t' | '\n' | '\x0C' | ' ' | '<' | '&' | '#' | ';');
    let mut name_end = 0;
    for (count, (i, c)) in after.char_indices().enumerate() {
        if count == MAX_NAME_CHARS || stop(c) {
            break;
        }
        name_end = i + c.len_utf8();
    }
    if name_end == 0 {
        return None;
    }
    let full_end = name_end + usize::from(after[name_end..].starts_with(';'));
    let candidate = &after[..full_end];
    if let Some(chars) = entities.get(candidate) {
        out.push_str(chars);
        return Some(full_end);
    }
    // The longest prefix (at least two characters, shorter than the whole) that is a name.
    let boundaries: Vec<usize> = candidate.char_indices().map(|(i, _)| i).skip(2).collect();
    for &cut in boundaries.iter().rev() {
        if let Some(chars) = entities.get(&candidate[..cut]) {
            out.push_str(chars);
            out.push_str(&candidate[cut..]);
            return Some(full_end);
        }
    }
    out.push('&');
    out.push_str(candidate);
    Some(full_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_html5_name() {
        let t = html5_entities();
        assert_eq!(t.len(), 2231);
        assert_eq!(t["amp;"], "&");
        assert_eq!(t["amp"], "&");
        assert_eq!(t["NotEqualTilde;"], "\u{2242}\u{338}");
    }

    #[test]
    fn unescape_matches_python() {
        // Expected values from Python 3.11's html.unescape.
        let cases = [
            ("rock &amp; roll", "rock & roll"),
            ("&amp;amp;", "&amp;"),
            ("&lt;b&gt;", "<b>"),
            ("AT&T R&D", "AT&T R&D"),
            ("&ampersand", "&ersand"),
            ("&notit;", "\u{ac}it;"),
            ("&copy2024", "\u{a9}2024"),
            ("&#39;&#x27;&#X27", "'''"),
            ("&#150;", "\u{2013}"),
            ("&#0;&#xD800;&#1114112;&#99999999999999999999;", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
            ("a&#1;b&#xFFFF;c", "abc"),
            ("&#x;&#;&", "&#x;&#;&"),
            ("&unknownname;", "&unknownname;"),
            ("&é;", "&é;"),
        ];
        for (input, expected) in cases {
            assert_eq!(unescape(input), expected, "input {input:?}");
        }
    }
}
