//! What the fuzz targets under `tests/` share: how many cases to run, where failures are
//! kept, byte mutations of real files, and the fixtures they start from.
//!
//! Each target is a `proptest` property: it generates inputs (structure-aware where bytes
//! alone would never pass a header or checksum), feeds them to a parser and asserts that it
//! returns `Ok` or `Err` without panicking, hanging or overflowing. `make test` runs
//! [`DEFAULT_CASES`] cases per target; `make fuzz` runs them long
//! (`KINEMA_FUZZ_CASES`). A failing input is shrunk and its seed saved beside the target
//! (`tests/fuzz/tests/<target>.proptest-regressions`), which is committed and replayed
//! first on every run.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per target in `make test` (a few seconds each).
pub const DEFAULT_CASES: u32 = 256;

/// Environment variable with the number of cases per target (`make fuzz` sets it).
pub const CASES_VAR: &str = "KINEMA_FUZZ_CASES";

/// The proptest settings of a target in `source_file` (pass `file!()`):
/// `KINEMA_FUZZ_CASES` (else `default_cases`) cases, failures persisted beside the target
/// (`<target>.proptest-regressions`), no forking.
pub fn config(source_file: &'static str, default_cases: u32) -> Config {
    let cases = std::env::var(CASES_VAR).ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    Config {
        cases,
        source_file: Some(source_file),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// Runs `test` on inputs from `strategy` with [`config`]; panics with the shrunk input
/// when a case fails or panics, and logs the number of cases run.
pub fn fuzz<S: Strategy>(
    name: &str,
    source_file: &'static str,
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = config(source_file, default_cases);
    let cases = config.cases;
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let started = std::time::Instant::now();
    if let Err(e) = runner.run(&strategy, test) {
        panic!("fuzz target {name}: {e}");
    }
    eprintln!("fuzz target {name}: {cases} cases, no failure, {:.1} s", started.elapsed().as_secs_f64());
}

/// A repository fixture (`tests/fixtures/<rel>`), read at run time.
pub fn fixture(rel: &str) -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    PathBuf::from(manifest).join("../fixtures").join(rel)
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Overwrite the byte at (position modulo length).
    Set(usize, u8),
    /// XOR a bit into the byte at (position modulo length).
    Flip(usize, u8),
    /// Insert bytes at (position modulo length + 1).
    Insert(usize, Vec<u8>),
    /// Remove up to `n` bytes at (position modulo length).
    Remove(usize, usize),
    /// Cut the input at (position modulo length + 1).
    Truncate(usize),
    /// Copy up to `n` bytes from one position over another (repeated structure).
    Splice(usize, usize, usize),
    /// Write a 32-bit little-endian value that parsers read as a length or an offset.
    Integer(usize, u32),
}

/// A strategy for one mutation; lengths and values favour the boundaries parsers get wrong.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let edge = prop_oneof![Just(0u32), Just(1), Just(0x7fff_ffff), Just(0xffff_ffff), Just(0x8000_0000), any::<u32>()];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, 1 << b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, v)| Mutation::Insert(p, v)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Remove(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), 1usize..256).prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
        (any::<usize>(), edge).prop_map(|(p, v)| Mutation::Integer(p, v)),
    ]
}

/// Applies `edits` to a copy of `seed`; the result is never longer than `seed` plus 4 KiB.
pub fn mutate(seed: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for edit in edits {
        let len = out.len().max(1);
        match edit {
            Mutation::Set(p, b) if !out.is_empty() => out[p % len] = *b,
            Mutation::Flip(p, b) if !out.is_empty() => out[p % len] ^= *b,
            Mutation::Insert(p, v) if out.len() < seed.len() + 4096 => {
                let at = p % (out.len() + 1);
                out.splice(at..at, v.iter().copied());
            }
            Mutation::Remove(p, n) if !out.is_empty() => {
                let at = p % len;
                let end = (at + n).min(out.len());
                out.drain(at..end);
            }
            Mutation::Truncate(p) => out.truncate(p % (out.len() + 1)),
            Mutation::Splice(a, b, n) if !out.is_empty() => {
                let (from, to) = (a % len, b % len);
                let n = (*n).min(out.len() - from).min(out.len() - to);
                let chunk = out[from..from + n].to_vec();
                out[to..to + n].copy_from_slice(&chunk);
            }
            Mutation::Integer(p, v) if out.len() >= 4 => {
                let at = p % (out.len() - 3);
                out[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    out
}

/// A strategy for 1 to `max` mutations.
pub fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_bounded_and_touch_the_bytes() {
        let seed: Vec<u8> = (0..100).collect();
        assert_eq!(mutate(&seed, &[Mutation::Set(205, 7)])[5], 7);
        assert_eq!(mutate(&seed, &[Mutation::Truncate(10)]).len(), 10);
        assert_eq!(mutate(&seed, &[Mutation::Remove(98, 10)]).len(), 98);
        assert_eq!(&mutate(&seed, &[Mutation::Integer(0, 0xffff_ffff)])[..5], &[255, 255, 255, 255, 4]);
        assert_eq!(&mutate(&seed, &[Mutation::Splice(0, 50, 3)])[50..53], &[0, 1, 2]);
        assert!(mutate(&[], &[Mutation::Set(3, 1), Mutation::Splice(1, 2, 3), Mutation::Integer(0, 1)]).is_empty());
    }
}
