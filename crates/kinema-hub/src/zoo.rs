//! The model zoo: names users know (OpenAI's `clip.load` names, MMAction2's
//! `init_actionclip` names, MMAction2 config names, MMEngine's `torchvision://` names) and the
//! URLs their publishers give. docs/checkpoints.md has the same table with sizes and
//! accuracy (a test keeps the two equal).

/// One published checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooEntry {
    /// The name accepted by `--checkpoint`, `load_from` and `pretrained`.
    pub name: &'static str,
    /// Where its publisher serves it.
    pub url: &'static str,
}

macro_rules! zoo {
    ($($name:literal => $url:expr),* $(,)?) => {
        &[$(ZooEntry { name: $name, url: $url }),*]
    };
}

/// Every known name (see the module doc).
pub const ZOO: &[ZooEntry] = zoo![
    // OpenAI CLIP (`clip.load` names): TorchScript archives, sha256 in the URL.
    "ViT-B/32" => concat!("https://openaipublic.azureedge.net/clip/models", "/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt"),
    "ViT-B/16" => concat!("https://openaipublic.azureedge.net/clip/models", "/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt"),
    "ViT-L/14" => concat!("https://openaipublic.azureedge.net/clip/models", "/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt"),
    "ViT-L/14@336px" => concat!("https://openaipublic.azureedge.net/clip/models", "/3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt"),
    // ActionCLIP ported by MMAction2 (`init_actionclip` names).
    "ViT-B/32-8" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p32-res224-clip-pre_1x1x8_k400-rgb/vit-b-32-8f.pth"),
    "ViT-B/16-8" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x8_k400-rgb/vit-b-16-8f.pth"),
    "ViT-B/16-16" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x16_k400-rgb/vit-b-16-16f.pth"),
    "ViT-B/16-32" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x32_k400-rgb/vit-b-16-32f.pth"),
    // ActionCLIP trained by MMAction2 (config names, as `mim download`).
    "actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb/actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb_20230801-8535b794.pth"),
    "actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb/actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb_20230801-b307a0cd.pth"),
    // TSN and TSM (MMAction2 config names).
    "tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb_20220906-cd10898e.pth"),
    "tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb_20220906-2692d16c.pth"),
    "tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth"),
    "tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb" => concat!("https://download.openmmlab.com/mmaction/v1.0", "/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb_20220831-042b1748.pth"),
    // torchvision's ImageNet ResNets as MMEngine names them (`mmengine/hub/torchvision_0.12.json`).
    "torchvision://resnet18" => "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "torchvision://resnet34" => "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "torchvision://resnet50" => "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "torchvision://resnet101" => "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "torchvision://resnet152" => "https://download.pytorch.org/models/resnet152-394f9c45.pth",
];

/// The entry named `name`, if any (exact, case-sensitive, as the publishers spell them).
pub fn lookup(name: &str) -> Option<&'static ZooEntry> {
    ZOO.iter().find(|e| e.name == name)
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

    const OPENAI: &str = "https://openaipublic.azureedge.net/clip/models/";
    const MMACTION: &str = "https://download.openmmlab.com/mmaction/v1.0/";

    #[test]
    fn names_are_unique_and_bases_are_the_publishers() {
        let mut names: Vec<&str> = ZOO.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ZOO.len());
        for e in ZOO {
            assert!(
                e.url.starts_with(OPENAI)
                    || e.url.starts_with(MMACTION)
                    || e.url.starts_with("https://download.pytorch.org/"),
                "{}",
                e.url
            );
        }
        assert_eq!(lookup("ViT-B/32-8").map(|e| e.url.rsplit('/').next()), Some(Some("vit-b-32-8f.pth")));
        assert_eq!(lookup("vit-b/32"), None);
    }

    #[test]
    fn expected_checksums_follow_the_publishers_conventions() {
        let b32 = lookup("ViT-B/32").map(|e| expected_sha256(e.url));
        assert_eq!(b32, Some(Some("40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af".to_string())));
        let tsm = lookup("tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb").map(|e| expected_sha256(e.url));
        assert_eq!(tsm, Some(Some("64d69186".to_string())));
        assert_eq!(
            expected_sha256("https://download.pytorch.org/models/resnet50-0676ba61.pth").as_deref(),
            Some("0676ba61")
        );
        // The ported ActionCLIP files publish none.
        assert_eq!(lookup("ViT-B/16-8").and_then(|e| expected_sha256(e.url)), None);
        assert_eq!(expected_sha256("http://127.0.0.1:8000/weights.pth"), None);
        assert_eq!(expected_sha256("http://host/x/vit-b-32-8f.pth"), None);
    }
}
