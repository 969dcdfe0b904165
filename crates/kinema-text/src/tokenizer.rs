//! [`ClipTokenizer`]: OpenAI CLIP's `clip.tokenize`, with the `tokenizers` crate's BPE.
//!
//! The pipeline is CLIP's own: clean the text ([`clean_text`]), split it into words with
//! CLIP's regular expression, map each word's UTF-8 bytes to GPT-2's printable byte characters,
//! and run the BPE model (`tokenizers`' [`BPE`], which caches words) on each word. The
//! `tokenizers` `Tokenizer` pipeline is not used: it is several times slower for short prompts
//! and extracts special tokens differently from CLIP.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use regex::Regex;
use tokenizers::models::bpe::BPE;
use tokenizers::parallelism::MaybeParallelRefIterator;
use tokenizers::Model;

use crate::batch::TokenBatch;
use crate::clean::clean_text;
use crate::error::{Result, TextError};
use crate::vocab::{self, END_OF_WORD, EOT_ID, EOT_TOKEN, SOT_ID, SOT_TOKEN};

/// CLIP's context length.
pub const CONTEXT_LENGTH: usize = 77;

/// CLIP's word pattern, case-insensitive as in CLIP: the special tokens, contractions, letter
/// runs, single digits, runs of other non-space characters. Text between matches is dropped.
const WORD_PATTERN: &str =
    r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// Most words the id cache holds (a K400 prompt set has under 1,000 distinct words).
const CACHE_CAPACITY: usize = 100_000;

/// Batches at least this large are encoded on several threads.
const PARALLEL_MIN_TEXTS: usize = 256;

/// How [`ClipTokenizer::tokenize_with`] fits texts into rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenizeOptions {
    /// Row length, start and end tokens included (CLIP: 77).
    pub context_length: usize,
    /// Cut texts that do not fit, keeping the end token last (`clip.tokenize(truncate=True)`)
    /// instead of failing with [`TextError::TooLong`].
    pub truncate: bool,
}

impl Default for TokenizeOptions {
    /// 77 tokens, no truncation: what `clip.tokenize` does.
    fn default() -> Self {
        Self { context_length: CONTEXT_LENGTH, truncate: false }
    }
}

/// OpenAI CLIP's tokenizer: same cleaning, same BPE, same ids as `clip.tokenize`.
///
/// Cloning is cheap (the BPE tables are shared) and the tokenizer can be used from many
/// threads at once. [`ClipTokenizer::shared`] gives a process-wide instance built once.
#[derive(Clone)]
pub struct ClipTokenizer {
    inner: Arc<Inner>,
}

struct Inner {
    bpe: BPE,
    words: Regex,
    byte_chars: [char; 256],
    /// Word → ids, in front of the BPE model's own cache (which clones its merge state and
    /// builds a string per token on every hit).
    cache: RwLock<HashMap<String, Vec<u32>>>,
}

impl std::fmt::Debug for ClipTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipTokenizer").field("vocab_size", &vocab::VOCAB_SIZE).finish_non_exhaustive()
    }
}

impl ClipTokenizer {
    /// Builds a new tokenizer from the embedded vocabulary (a few hundred milliseconds;
    /// prefer [`ClipTokenizer::shared`]).
    pub fn new() -> Result<Self> {
        let (vocab, merges) = vocab::load()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .end_of_word_suffix(END_OF_WORD.to_owned())
            .build()
            .map_err(|source| TextError::Tokenizers { context: "building the BPE model", source })?;
        let words = Regex::new(WORD_PATTERN)
            .map_err(|e| TextError::Tokenizers { context: "compiling the word pattern", source: Box::new(e) })?;
        let (byte_chars, _) = vocab::byte_chars();
        Ok(Self { inner: Arc::new(Inner { bpe, words, byte_chars, cache: RwLock::new(HashMap::new()) }) })
    }

    /// The process-wide tokenizer, built on first use (later calls clone an `Arc`).
    pub fn shared() -> Result<Self> {
        static SHARED: Mutex<Option<ClipTokenizer>> = Mutex::new(None);
        let mut slot = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tokenizer) = slot.as_ref() {
            return Ok(tokenizer.clone());
        }
        let tokenizer = Self::new()?;
        *slot = Some(tokenizer.clone());
        Ok(tokenizer)
    }

    /// BPE ids of one text without start/end tokens (`SimpleTokenizer.encode`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        self.encode_cleaned(&clean_text(text), &mut ids)?;
        Ok(ids)
    }

    /// Appends the BPE ids of an already cleaned text.
    fn encode_cleaned(&self, cleaned: &str, ids: &mut Vec<u32>) -> Result<()> {
        let inner = &*self.inner;
        // Python's case-insensitive regex matches a lone U+0345 (which folds to a letter) in
        // none of the alternatives, so it separates words like a space; the regex crate would
        // count it as a letter.
        let text = if cleaned.contains('\u{345}') {
            Cow::Owned(cleaned.replace('\u{345}', " "))
        } else {
            Cow::Borrowed(cleaned)
        };
        let mut mapped = String::new();
        for word in inner.words.find_iter(&text).map(|m| m.as_str()) {
            match word {
                SOT_TOKEN => ids.push(SOT_ID),
                EOT_TOKEN => ids.push(EOT_ID),
                _ => {
                    let cached = inner.cache.read().unwrap_or_else(PoisonError::into_inner).get(word).cloned();
                    if let Some(cached) = cached {
                        ids.extend_from_slice(&cached);
                        continue;
                    }
                    mapped.clear();
                    mapped.extend(word.bytes().map(|b| inner.byte_chars[usize::from(b)]));
                    let tokens = inner
                        .bpe
                        .tokenize(&mapped)
                        .map_err(|source| TextError::Tokenizers { context: "applying BPE", source })?;
                    let word_ids: Vec<u32> = tokens.iter().map(|t| t.id).collect();
                    ids.extend_from_slice(&word_ids);
                    let mut cache = inner.cache.write().unwrap_or_else(PoisonError::into_inner);
                    if cache.len() < CACHE_CAPACITY {
                        cache.insert(word.to_owned(), word_ids);
                    }
                }
            }
        }
        Ok(())
    }

    /// `clip.tokenize(texts)`: rows of 77 ids, failing on a text that does not fit.
    pub fn tokenize<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<TokenBatch> {
        self.tokenize_with(texts, TokenizeOptions::default())
    }

    /// `clip.tokenize(texts, context_length, truncate)`. Large batches are encoded in
    /// parallel (on rayon's pool; `TOKENIZERS_PARALLELISM=false` turns that off).
    pub fn tokenize_with<S: AsRef<str> + Sync>(&self, texts: &[S], options: TokenizeOptions) -> Result<TokenBatch> {
        let context_length = options.context_length;
        if context_length < 2 {
            return Err(TextError::InvalidContextLength { context_length });
        }
        let encodings: Vec<Vec<u32>> = texts
            .maybe_par_iter_cond(texts.len() >= PARALLEL_MIN_TEXTS)
            .map(|text| self.encode(text.as_ref()))
            .collect::<Result<_>>()?;

        let mut ids = vec![0i64; texts.len() * context_length];
        let mut eot = Vec::with_capacity(texts.len());
        let mut truncated = 0usize;
        for (index, (encoding, row)) in encodings.iter().zip(ids.chunks_exact_mut(context_length)).enumerate() {
            let bpe = encoding.as_slice();
            let num_tokens = bpe.len() + 2;
            let kept = if num_tokens <= context_length {
                bpe.len()
            } else if options.truncate {
                truncated += 1;
                context_length - 2
            } else {
                return Err(TextError::TooLong {
                    index,
                    text: texts[index].as_ref().to_owned(),
                    num_tokens,
                    context_length,
                });
            };
            row[0] = i64::from(SOT_ID);
            for (slot, &id) in row[1..].iter_mut().zip(&bpe[..kept]) {
                *slot = i64::from(id);
            }
            row[kept + 1] = i64::from(EOT_ID);
            eot.push(first_argmax(row));
        }
        if truncated > 0 {
            log::warn!("truncated {truncated} of {} texts to {context_length} tokens", texts.len());
        }
        Ok(TokenBatch::new(ids, eot, context_length))
    }
}

/// Index of the first largest id: torch's `argmax`, which CLIP uses to find the end token
/// (an earlier literal `<|endoftext|>` in the text wins, as upstream).
fn first_argmax(row: &[i64]) -> usize {
    let mut best = 0;
    for (i, &id) in row.iter().enumerate() {
        if id > row[best] {
            best = i;
        }
    }
    best
}
