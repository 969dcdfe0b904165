//! The output of tokenizing a batch: fixed-length id rows and where each ends.

/// Token ids of `n` texts as one row-major `[n, context_length]` buffer, each row
/// `[SOT, …, EOT, 0, 0, …]`, plus the position of each row's end token.
///
/// The ids are `i64` so they can go straight into an embedding lookup; the end positions are
/// what `argmax(ids)` gives per row (the end token is the largest id), where CLIP's text
/// encoder reads its output feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    ids: Vec<i64>,
    eot: Vec<usize>,
    context_length: usize,
}

impl TokenBatch {
    /// Assembles a batch; `ids.len()` must be `eot.len() * context_length`.
    pub(crate) fn new(ids: Vec<i64>, eot: Vec<usize>, context_length: usize) -> Self {
        debug_assert_eq!(ids.len(), eot.len() * context_length);
        Self { ids, eot, context_length }
    }

    /// Number of rows (texts).
    pub fn len(&self) -> usize {
        self.eot.len()
    }

    /// True when the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.eot.is_empty()
    }

    /// Row length (77 for CLIP).
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// `[rows, context_length]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.len(), self.context_length]
    }

    /// All ids, row-major `[rows, context_length]`.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Takes the row-major id buffer.
    pub fn into_ids(self) -> Vec<i64> {
        self.ids
    }

    /// One row, or `None` past the end.
    pub fn row(&self, index: usize) -> Option<&[i64]> {
        let start = index.checked_mul(self.context_length)?;
        self.ids.get(start..start + self.context_length)
    }

    /// The rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[i64]> + '_ {
        // chunks_exact panics on 0; a context length of 0 is rejected at tokenization.
        self.ids.chunks_exact(self.context_length.max(1))
    }

    /// The rows as separate vectors (handy for tests and small batches).
    pub fn to_rows(&self) -> Vec<Vec<i64>> {
        self.rows().map(<[i64]>::to_vec).collect()
    }

    /// Position of the end token in each row (= `argmax` of the row).
    pub fn eot_positions(&self) -> &[usize] {
        &self.eot
    }

    /// Length of the longest row up to and including its end token (0 for an empty batch):
    /// the columns after it are padding in every row and can be cut before the text encoder.
    pub fn max_len(&self) -> usize {
        self.eot.iter().max().map_or(0, |&p| p + 1)
    }
}
