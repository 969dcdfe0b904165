//! The text fixes of ftfy 6's `fix_text` (default settings), as CLIP's `basic_clean` runs them.
//!
//! Implemented, in ftfy's order and repeated until nothing changes: HTML entity decoding
//! (only `&…;` forms, also upper-cased ones like `&EACUTE;`; skipped from the first line that
//! contains `<` on), C1 control characters read as Windows-1252, Latin ligatures split,
//! fullwidth/halfwidth forms made normal width, curly quotes straightened, line breaks unified,
//! terminal escape codes and stray control characters removed, NFC normalisation.
//!
//! Not implemented: ftfy's mojibake repair (`fix_encoding`: text that was UTF-8 decoded as
//! Latin-1/Windows-1252, e.g. `cafÃ©`). It only changes text that is already garbled.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::html::{cp1252_c1, html5_entities, unescape};

/// ftfy gives up on reaching a fixed point after this many passes (it never needs more than a
/// few; the bound only guards against an unforeseen cycle).
const MAX_PASSES: usize = 16;

/// ftfy's `fix_text` without mojibake repair (see the module docs).
pub fn fix_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut unescape_html = true;
    // ftfy works line by line, and once a line contains "<" it stops decoding entities for
    // the rest of the text (the text might be HTML source).
    for segment in text.split_inclusive('\n') {
        if unescape_html && segment.contains('<') {
            unescape_html = false;
        }
        out.push_str(&fix_segment(segment, unescape_html));
    }
    out
}

fn fix_segment(segment: &str, unescape_html: bool) -> String {
    let mut text = segment.to_owned();
    for _ in 0..MAX_PASSES {
        let mut fixed = if unescape_html { unescape_entities(&text) } else { text.clone() };
        fixed = fix_characters(&fixed);
        fixed = fix_line_breaks(&fixed);
        fixed = remove_terminal_escapes(&fixed);
        fixed.retain(|c| !is_removed_control(c));
        fixed = fixed.nfc().collect();
        if fixed == text {
            return fixed;
        }
        text = fixed;
    }
    log::warn!("text fixing did not settle after {MAX_PASSES} passes: {segment:?}");
    text
}

/// The entities ftfy decodes: every HTML5 name ending in `;`, plus the upper-cased form of
/// all-lower-case names when that form means nothing to `html.unescape` (`&EACUTE;` → `É`).
fn ftfy_entities() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let html5 = html5_entities();
        let mut table = HashMap::with_capacity(html5.len() * 2);
        for (name, chars) in html5.iter().filter(|(n, _)| n.ends_with(';')) {
            table.insert((*name).to_owned(), chars.clone());
            if *name == name.to_lowercase() {
                let upper = name.to_uppercase();
                let entity = format!("&{upper}");
                if unescape(&entity) == entity {
                    table.insert(upper, chars.to_uppercase());
                }
            }
        }
        table
    })
}

/// ftfy's `unescape_html`: each `&#?[0-9A-Za-z]{1,24};` that is a known name, or a numeric
/// reference that decodes completely, is replaced.
fn unescape_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let entities = ftfy_entities();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let hash = usize::from(after.starts_with('#'));
        let body = after[hash..].bytes().take_while(u8::is_ascii_alphanumeric).count();
        let end = hash + body;
        if (1..=24).contains(&body) && after[end..].starts_with(';') {
            let name = &after[..=end];
            let replaced = if hash == 1 {
                let decoded = unescape(&rest[amp..amp + 2 + end]);
                (!decoded.contains(';')).then(|| decoded.into_owned())
            } else {
                entities.get(name).cloned()
            };
            match replaced {
                Some(s) => out.push_str(&s),
                None => {
                    out.push('&');
                    out.push_str(name);
                }
            }
            rest = &after[end + 1..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The per-character fixes, in ftfy's order: C1 controls, ligatures, character width, quotes.
fn fix_characters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut buf = String::new();
    for c in text.chars() {
        let c = match c as u32 {
            0x80..=0x9F => cp1252_c1(c as u32).unwrap_or(c),
            _ => c,
        };
        buf.clear();
        match ligature(c) {
            Some(s) => buf.push_str(s),
            None => buf.push(c),
        }
        for c in buf.chars() {
            match normal_width(c) {
                Some(wide) => out.extend(wide.chars().map(uncurl)),
                None => out.push(uncurl(c)),
            }
        }
    }
    out
}

/// ftfy's `fix_latin_ligatures` table.
fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{132}' => "IJ",
        '\u{133}' => "ij",
        '\u{149}' => "\u{2BC}n",
        '\u{1F1}' => "DZ",
        '\u{1F2}' => "Dz",
        '\u{1F3}' => "dz",
        '\u{1C4}' => "D\u{17D}",
        '\u{1C5}' => "D\u{17E}",
        '\u{1C6}' => "d\u{17E}",
        '\u{1C7}' => "LJ",
        '\u{1C8}' => "Lj",
        '\u{1C9}' => "lj",
        '\u{1CA}' => "NJ",
        '\u{1CB}' => "Nj",
        '\u{1CC}' => "nj",
        '\u{FB00}' => "ff",
        '\u{FB01}' => "fi",
        '\u{FB02}' => "fl",
        '\u{FB03}' => "ffi",
        '\u{FB04}' => "ffl",
        '\u{FB05}' => "\u{17F}t",
        '\u{FB06}' => "st",
        _ => return None,
    })
}

/// ftfy's `fix_character_width`: U+3000 becomes a space, U+FF01–U+FFEF their NFKC form.
fn normal_width(c: char) -> Option<String> {
    match c as u32 {
        0x3000 => Some(" ".to_owned()),
        0xFF01..=0xFFEF => {
            let normal: String = std::iter::once(c).nfkc().collect();
            let mut chars = normal.chars();
            let unchanged = chars.next() == Some(c) && chars.next().is_none();
            (!unchanged).then_some(normal)
        }
        _ => None,
    }
}

/// ftfy's `uncurl_quotes`: U+02BC and U+2018–U+201B become `'`, U+201C–U+201F `"`.
fn uncurl(c: char) -> char {
    match c {
        '\u{2BC}' | '\u{2018}'..='\u{201B}' => '\'',
        '\u{201C}'..='\u{201F}' => '"',
        _ => c,
    }
}

/// ftfy's `fix_line_breaks`: CRLF, CR, U+2028, U+2029 and U+0085 become `\n`.
fn fix_line_breaks(text: &str) -> String {
    if !text.contains(['\r', '\u{2028}', '\u{2029}', '\u{85}']) {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n")
}

/// ftfy's `remove_terminal_escapes`: `ESC [`, decimal digits (any script, as Python's `\d`)
/// or `;`, then an ASCII letter.
fn remove_terminal_escapes(text: &str) -> String {
    static ANSI: OnceLock<Option<Regex>> = OnceLock::new();
    if !text.contains('\u{1B}') {
        return text.to_owned();
    }
    // The regex crate's `\d` is Unicode's Nd, like Python's for str patterns.
    match ANSI.get_or_init(|| Regex::new(r"\x1B\[[\d;]*[a-zA-Z]").ok()) {
        Some(re) => re.replace_all(text, "").into_owned(),
        None => text.to_owned(),
    }
}

/// ftfy's `remove_control_chars` set.
fn is_removed_control(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x08 | 0x0B | 0x0E..=0x1F | 0x7F | 0x206A..=0x206F | 0xFEFF | 0xFFF9..=0xFFFC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_table_matches_ftfy() {
        // ftfy 6.3.1's chardata.HTML_ENTITIES: 3,501 entries, 1,387 of them upper-cased
        // (counted without the '&'); the checksum is sum(ord(c) * (i + 1)) over each
        // "name\tvalue" string.
        let table = ftfy_entities();
        assert_eq!(table.len(), 3501);
        let upper = table.keys().filter(|k| k.to_uppercase() == **k && k.to_lowercase() != **k).count();
        assert_eq!(upper, 1387);
        let checksum: u64 = table
            .iter()
            .map(|(k, v)| {
                format!("{k}\t{v}").chars().enumerate().map(|(i, c)| u64::from(c) * (i as u64 + 1)).sum::<u64>()
            })
            .sum();
        assert_eq!(checksum, 449_935_332);
        assert_eq!(table["SZLIG;"], "SS");
        assert_eq!(table["NAPOS;"], "\u{2bc}N");
    }

    #[test]
    fn fixes_match_ftfy() {
        // Expected values from ftfy 6.3.1's fix_text.
        let cases = [
            ("&amp;amp;amp; x", "& x"),
            ("a < b\n&amp; c", "a < b\n&amp; c"),
            ("&amp; c\na < b", "& c\na < b"),
            ("\u{ff06}\u{ff41}\u{ff4d}\u{ff50}\u{ff1b}", "&"),
            ("\u{93}hi\u{94} \u{85}", "\"hi\" \u{2026}"),
            ("\u{149}", "'n"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("a\r\nb\u{2028}c", "a\nb\nc"),
            ("e\u{301}\u{feff}\u{7}", "\u{e9}"),
        ];
        for (input, expected) in cases {
            assert_eq!(fix_text(input), expected, "{input:?}");
        }
    }
}
