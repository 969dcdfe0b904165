//! CLIP's text cleaning: `whitespace_clean(basic_clean(text)).lower()`.

use crate::ftfy::fix_text;
use crate::html::unescape;

/// Python's `str.isspace` (the `\s` of CLIP's whitespace regex): Unicode White_Space plus
/// the information separators U+001C–U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// True when cleaning cannot change `text` except by collapsing spaces and lower-casing:
/// printable ASCII, tabs and newlines only, and no `&`.
fn is_plain_ascii(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'&' || b == b'\t' || b == b'\n')
}

/// Cleans a text exactly as OpenAI CLIP's tokenizer does before splitting it into words:
/// ftfy's fixes (see [`crate::ftfy`]), HTML entities decoded twice, every whitespace run made
/// one space, ends trimmed, lower case.
///
/// ```
/// assert_eq!(kinema_text::clean_text("  Rock &amp;amp; Roll\n"), "rock & roll");
/// assert_eq!(kinema_text::clean_text("Don\u{2019}t"), "don't");
/// ```
pub fn clean_text(text: &str) -> String {
    let joined = if is_plain_ascii(text) {
        join_words(text)
    } else {
        let fixed = fix_text(text);
        let once = unescape(&fixed);
        let twice = unescape(&once);
        join_words(&twice)
    };
    joined.to_lowercase()
}

fn join_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_python_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_fast_path_agrees_with_the_full_path() {
        for text in ["  The Woman\tis\n singing ", "a (b) c's d-e", "", " "] {
            assert!(is_plain_ascii(text));
            let full = join_words(&unescape(&unescape(&fix_text(text)))).to_lowercase();
            assert_eq!(clean_text(text), full, "{text:?}");
        }
        assert!(!is_plain_ascii("a &amp; b"));
        assert!(!is_plain_ascii("a\rb"));
        assert!(!is_plain_ascii("caf\u{e9}"));
    }

    #[test]
    fn whitespace_is_python_whitespace() {
        assert_eq!(clean_text("a\u{a0}b\u{3000}c\u{2028}d\u{85}e"), "a b c d\u{2026}e");
        assert_eq!(clean_text("x\u{200b}y"), "x\u{200b}y");
    }
}
