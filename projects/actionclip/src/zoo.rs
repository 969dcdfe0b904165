//! ActionCLIP's model-zoo names (see `kinema_hub::zoo`): the checkpoints MMAction2 ported from
//! the original repository (its `init_actionclip` names) and the two it trained itself (their
//! config names, as `mim download`).

kinema_hub::register_weights! {
    "ViT-B/32-8" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p32-res224-clip-pre_1x1x8_k400-rgb/vit-b-32-8f.pth",
    "ViT-B/16-8" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x8_k400-rgb/vit-b-16-8f.pth",
    "ViT-B/16-16" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x16_k400-rgb/vit-b-16-16f.pth",
    "ViT-B/16-32" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_1x1x32_k400-rgb/vit-b-16-32f.pth",
    "actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb/actionclip_vit-base-p32-res224-clip-pre_g8xb16_1x1x8_k400-rgb_20230801-8535b794.pth",
    "actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/projects/actionclip/actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb/actionclip_vit-base-p16-res224-clip-pre_g8xb16_1x1x8_k400-rgb_20230801-b307a0cd.pth",
}
