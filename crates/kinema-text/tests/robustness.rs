//! Arbitrary input never panics and always gives well-formed rows.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_text::{ClipTokenizer, TokenizeOptions, EOT_ID, SOT_ID};

/// Pieces chosen to hit every cleaning and splitting branch.
const PIECES: [&str; 32] = [
    "&",
    "amp;",
    "#x",
    "#",
    "41",
    ";",
    "<",
    "lt;",
    "\u{345}",
    "\u{1b}[",
    "3m",
    "a",
    "Z",
    " ",
    "\t",
    "\r",
    "\n",
    "\u{85}",
    "\u{93}",
    "\u{ff21}",
    "\u{fb01}",
    "e\u{301}",
    "\u{1f44d}\u{1f3fd}",
    "\u{3a3}",
    "'s",
    "'",
    "<|endoftext|>",
    "<|startoftext|>",
    "\u{feff}",
    "\u{0}",
    "9",
    "\u{ffff}",
];

#[test]
fn random_texts_give_well_formed_rows() {
    let tokenizer = ClipTokenizer::shared().expect("tokenizer");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let texts: Vec<String> =
        (0..2000).map(|_| (0..next() % 40).map(|_| PIECES[next() % PIECES.len()]).collect()).collect();
    let options = TokenizeOptions { truncate: true, ..TokenizeOptions::default() };
    let batch = tokenizer.tokenize_with(&texts, options).expect("truncating never fails");
    assert_eq!(batch.len(), texts.len());
    for (i, text) in texts.iter().enumerate() {
        let row = batch.row(i).expect("row");
        let bpe = tokenizer.encode(text).expect("encode");
        let len = (bpe.len() + 2).min(77);
        assert_eq!(row[0], i64::from(SOT_ID), "{text:?}");
        assert_eq!(row[len - 1], i64::from(EOT_ID), "{text:?}");
        assert!(row[len..].iter().all(|&x| x == 0), "{text:?}");
        let first_eot = row.iter().position(|&x| x == i64::from(EOT_ID)).expect("an end token");
        assert_eq!(batch.eot_positions()[i], first_eot, "{text:?}");
        let same: Vec<i64> = bpe.iter().take(len - 2).map(|&x| i64::from(x)).collect();
        assert_eq!(&row[1..len - 1], same.as_slice(), "{text:?}");
    }
}
