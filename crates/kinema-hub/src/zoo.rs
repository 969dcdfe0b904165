//! The model zoo: names users know (OpenAI's `clip.load` names, MMAction2's model names and
//! config names, MMEngine's `torchvision://` names) and the URLs their publishers give. Each
//! model family registers its own names where it lives, with [`register_weights!`];
//! docs/model_zoo.md lists them all with sizes and accuracy (a test keeps the two equal).

/// One published checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooEntry {
    /// The name accepted by `--checkpoint`, `load_from` and `pretrained`.
    pub name: &'static str,
    /// Where its publisher serves it.
    pub url: &'static str,
}

inventory::collect!(ZooEntry);

/// Registers model-zoo names: `register_weights! { "ViT-B/32" => "https://...", ... }`.
#[macro_export]
macro_rules! register_weights {
    ($($name:literal => $url:expr),* $(,)?) => {
        $($crate::__inventory::submit! { $crate::zoo::ZooEntry { name: $name, url: $url } })*
    };
}

/// Every registered name (of the crates linked in), sorted by name.
pub fn entries() -> Vec<&'static ZooEntry> {
    let mut all: Vec<&'static ZooEntry> = inventory::iter::<ZooEntry>.into_iter().collect();
    all.sort_by_key(|e| e.name);
    all
}

/// The entry named `name`, if any (exact, case-sensitive, as the publishers spell them).
pub fn lookup(name: &str) -> Option<&'static ZooEntry> {
    inventory::iter::<ZooEntry>.into_iter().find(|e| e.name == name)
}

/// The sha256 a URL promises, as lower-case hex: OpenAI's 64-digit folder name (the whole
/// hash), else PyTorch hub's convention of a file name ending `-<first hex digits>.<ext>`
/// (torchvision, MMAction2), which `torch.hub` and MMEngine check as a prefix.
pub fn expected_sha256(url: &str) -> Option<String> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let file = parts.next()?;
    let folder = parts.next().unwrap_or_default();
    let is_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if folder.len() == 64 && is_hex(folder) {
        return Some(folder.to_ascii_lowercase());
    }
    let stem = file.split('.').next()?;
    let suffix = stem.rsplit('-').next()?;
    (stem.contains('-') && suffix.len() >= 6 && suffix.len() < 64 && is_hex(suffix))
        .then(|| suffix.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::register_weights! {
        "test/zoo-name" => "https://example.invalid/models/weights-0123abcd.pth",
    }

    #[test]
    fn registered_names_are_found() {
        assert_eq!(lookup("test/zoo-name").map(|e| e.url), Some("https://example.invalid/models/weights-0123abcd.pth"));
        assert_eq!(lookup("test/ZOO-name"), None);
        assert!(entries().iter().any(|e| e.name == "test/zoo-name"));
    }

    #[test]
    fn expected_checksums_follow_the_publishers_conventions() {
        let openai = "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt";
        assert_eq!(
            expected_sha256(openai).as_deref(),
            Some("40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af")
        );
        assert_eq!(expected_sha256("https://h/tsm_r50_20220831-64d69186.pth").as_deref(), Some("64d69186"));
        assert_eq!(
            expected_sha256("https://download.pytorch.org/models/resnet50-0676ba61.pth").as_deref(),
            Some("0676ba61")
        );
        assert_eq!(expected_sha256("http://127.0.0.1:8000/weights.pth"), None);
        assert_eq!(expected_sha256("http://host/x/vit-b-32-8f.pth"), None);
    }
}
