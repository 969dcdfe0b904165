//! The memory budget of one sample's frames: every frame buffer a reader or transform
//! allocates is checked against it first, so an absurd size (`num_clips = 1e8`, `Resize` to
//! 100000x100000) is an error naming what asked for it, not an allocation abort or a machine
//! pushed into swap.

/// Environment variable that sets [`max_sample_bytes`] (bytes; `K`, `M`, `G` suffixes
/// allowed, binary multiples).
pub const MAX_SAMPLE_BYTES_VAR: &str = "KINEMA_MAX_SAMPLE_BYTES";

/// The budget when [`MAX_SAMPLE_BYTES_VAR`] is unset: 4 GiB, or half the machine's physical
/// memory when that is less.
pub const DEFAULT_MAX_SAMPLE_BYTES: u64 = 4 << 30;

/// The most frames one sample may ask for (`clip_len * num_clips`, twice that with
/// `twice_sample`): checked when a pipeline is built, before any index is computed.
pub const MAX_SAMPLE_FRAMES: usize = 1 << 16;

/// The longest image side a transform may produce (HEVC's largest picture is 16384 wide;
/// H.264's 8192): checked when a pipeline is built.
pub const MAX_IMAGE_SIDE: usize = 16384;

/// Frames of one sample would take more memory than the budget allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what}: {count} frames of {width}x{height}x{channels} bytes need {need}, more than the \
     per-sample limit of {limit} (set {MAX_SAMPLE_BYTES_VAR} to change it)",
    need = human(*.bytes),
    limit = human(*.limit)
)]
pub struct FrameBudgetError {
    /// What was about to allocate (a transform or the decoder).
    pub what: String,
    /// Number of frames.
    pub count: usize,
    /// Frame height.
    pub height: usize,
    /// Frame width.
    pub width: usize,
    /// Bytes per pixel.
    pub channels: usize,
    /// Bytes asked for (saturated at `u64::MAX`).
    pub bytes: u64,
    /// The budget.
    pub limit: u64,
}

/// The per-sample frame budget in bytes (see [`MAX_SAMPLE_BYTES_VAR`] and
/// [`DEFAULT_MAX_SAMPLE_BYTES`]); an unparsable variable is ignored with a warning.
pub fn max_sample_bytes() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        if let Ok(text) = std::env::var(MAX_SAMPLE_BYTES_VAR) {
            match parse_bytes(&text) {
                Some(v) => return v,
                None => log::warn!("{MAX_SAMPLE_BYTES_VAR}={text:?} is not a byte count; using the default"),
            }
        }
        physical_memory().map_or(DEFAULT_MAX_SAMPLE_BYTES, |m| DEFAULT_MAX_SAMPLE_BYTES.min(m / 2))
    })
}

/// Checks that `count` frames of `height x width x channels` bytes fit the budget and
/// returns their size in bytes.
pub fn check_frames(
    what: &str,
    count: usize,
    height: usize,
    width: usize,
    channels: usize,
) -> Result<usize, FrameBudgetError> {
    let bytes = [count, height, width, channels].iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let limit = max_sample_bytes();
    match bytes {
        Some(b) if b <= limit => Ok(b as usize),
        _ => Err(FrameBudgetError {
            what: what.to_string(),
            count,
            height,
            width,
            channels,
            bytes: bytes.unwrap_or(u64::MAX),
            limit,
        }),
    }
}

/// `12345` or `512M`, `4G`, `64K` (binary multiples).
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 10),
        (i, 'm' | 'M') => (&text[..i], 20),
        (i, 'g' | 'G') => (&text[..i], 30),
        _ => (text, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// Total physical memory from `/proc/meminfo`, when readable.
fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `1.5 GiB`, `120.0 MiB`, `512 bytes`.
fn human(bytes: u64) -> String {
    match bytes {
        u64::MAX => "more than 16 EiB".into(),
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_parse_with_binary_suffixes() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("64K"), Some(64 << 10));
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes(" 2G "), Some(2 << 30));
        assert_eq!(parse_bytes("G"), None);
        assert_eq!(parse_bytes("-1"), None);
        assert_eq!(parse_bytes("99999999999999G"), None);
    }

    #[test]
    fn frames_over_the_budget_are_refused_with_their_size() {
        assert_eq!(check_frames("decoding", 8, 256, 340, 3), Ok(8 * 256 * 340 * 3));
        let err = check_frames("Resize", 4, 100_000, 100_000, 3).unwrap_err();
        assert_eq!(err.bytes, 120_000_000_000);
        let text = err.to_string();
        assert!(
            text.starts_with(
                "Resize: 4 frames of 100000x100000x3 bytes need 111.8 GiB, more than the per-sample limit of "
            ),
            "{text}"
        );
        assert!(text.ends_with("(set KINEMA_MAX_SAMPLE_BYTES to change it)"), "{text}");
        let overflow = check_frames("decoding", usize::MAX, 2, 2, 3).unwrap_err();
        assert!(overflow.to_string().contains("need more than 16 EiB"), "{overflow}");
    }
}
