//! OpenAI CLIP's BPE vocabulary, embedded in the binary.
//!
//! The data file is `bpe_simple_vocab_16e6.txt.gz` (MIT, see `assets/README.md`). Its first line
//! is a header, the next [`NUM_MERGES`] lines are the merges CLIP uses (two space-separated
//! symbols each, in rank order). The vocabulary is, in id order: the 256 byte characters, the
//! same with `</w>`, each merge's concatenation, then the start and end tokens.

use std::io::{BufRead, BufReader};

use flate2::bufread::GzDecoder;
use tokenizers::models::bpe::{Merges, Vocab};

use crate::error::{Result, TextError};

/// The gzipped BPE merges file shipped with OpenAI CLIP and open_clip.
static BPE_GZ: &[u8] = include_bytes!("../assets/bpe_simple_vocab_16e6.txt.gz");

/// Number of merges CLIP uses: 49152 - 256 - 2.
pub const NUM_MERGES: usize = 48_894;
/// Start-of-text token string.
pub const SOT_TOKEN: &str = "<|startoftext|>";
/// End-of-text token string.
pub const EOT_TOKEN: &str = "<|endoftext|>";
/// Id of the start-of-text token.
pub const SOT_ID: u32 = 49_406;
/// Id of the end-of-text token (the largest id, so `argmax` finds it).
pub const EOT_ID: u32 = 49_407;
/// Size of the vocabulary (token embedding rows).
pub const VOCAB_SIZE: usize = 49_408;
/// Suffix marking the last symbol of a word.
pub const END_OF_WORD: &str = "</w>";

/// GPT-2's reversible byte → printable-character map, indexed by byte, plus the order in
/// which the characters enter the vocabulary (printable bytes first, the rest after).
pub(crate) fn byte_chars() -> ([char; 256], Vec<char>) {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut map = ['\0'; 256];
    let mut order = Vec::with_capacity(256);
    for b in (0u32..256).filter(|&b| printable(b)) {
        let c = char::from_u32(b).unwrap_or('\0');
        map[b as usize] = c;
        order.push(c);
    }
    for (n, b) in (0u32..256).filter(|&b| !printable(b)).enumerate() {
        let c = char::from_u32(256 + n as u32).unwrap_or('\0');
        map[b as usize] = c;
        order.push(c);
    }
    (map, order)
}

/// Reads the embedded merges and builds the vocabulary, ids as in OpenAI's `SimpleTokenizer`.
pub(crate) fn load() -> Result<(Vocab, Merges)> {
    let mut lines = BufReader::new(GzDecoder::new(BPE_GZ)).lines();
    let mut merges: Merges = Vec::with_capacity(NUM_MERGES);
    for line_no in 0..=NUM_MERGES {
        let line = match lines.next() {
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                return Err(TextError::Vocabulary { line: line_no, reason: format!("cannot decompress: {e}") })
            }
            None => {
                return Err(TextError::Vocabulary {
                    line: line_no,
                    reason: format!("file ends early, expected {NUM_MERGES} merges"),
                })
            }
        };
        if line_no == 0 {
            continue; // header ("#version: 0.2")
        }
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty() => merges.push((a.to_owned(), b.to_owned())),
            _ => {
                return Err(TextError::Vocabulary {
                    line: line_no,
                    reason: format!("expected two space-separated symbols, got {line:?}"),
                })
            }
        }
    }

    let (_, order) = byte_chars();
    let mut tokens: Vec<String> = Vec::with_capacity(VOCAB_SIZE);
    tokens.extend(order.iter().map(|c| c.to_string()));
    tokens.extend(order.iter().map(|c| format!("{c}{END_OF_WORD}")));
    tokens.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
    tokens.push(SOT_TOKEN.to_owned());
    tokens.push(EOT_TOKEN.to_owned());
    if tokens.len() != VOCAB_SIZE {
        return Err(TextError::Vocabulary {
            line: NUM_MERGES,
            reason: format!("built {} tokens, expected {VOCAB_SIZE}", tokens.len()),
        });
    }
    // As Python's dict(zip(vocab, range(...))): a repeated string keeps its last id.
    let mut vocab = Vocab::with_capacity(VOCAB_SIZE);
    for (id, token) in tokens.into_iter().enumerate() {
        vocab.insert(token, id as u32);
    }
    Ok((vocab, merges))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection_onto_gpt2_chars() {
        let (map, order) = byte_chars();
        assert_eq!(map[b'a' as usize], 'a');
        assert_eq!(map[b' ' as usize], '\u{120}'); // 'Ġ': space is the 33rd unprintable byte
        assert_eq!(map[0], '\u{100}');
        assert_eq!(order[0], '!');
        assert_eq!(order[188], '\u{100}');
        let mut sorted = order.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }

    #[test]
    fn vocabulary_ids_match_openai() {
        let (vocab, merges) = load().expect("embedded vocabulary loads");
        assert_eq!(merges.len(), NUM_MERGES);
        assert_eq!(merges[0], ("i".to_owned(), "n".to_owned()));
        assert_eq!(merges[NUM_MERGES - 1], ("jeky".to_owned(), "ll</w>".to_owned()));
        assert_eq!(vocab.len(), VOCAB_SIZE);
        assert_eq!(vocab["!"], 0);
        assert_eq!(vocab["!</w>"], 256);
        assert_eq!(vocab["in"], 512);
        assert_eq!(vocab["jekyll</w>"], 49_405);
        assert_eq!(vocab[SOT_TOKEN], SOT_ID);
        assert_eq!(vocab[EOT_TOKEN], EOT_ID);
        // "the woman is singing" from the shared fixture: 518 2308 533 5864.
        assert_eq!(vocab["the</w>"], 518);
        assert_eq!(vocab["singing</w>"], 5864);
    }
}
