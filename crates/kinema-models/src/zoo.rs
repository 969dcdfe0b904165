//! The model-zoo names of the model families in this crate (see `kinema_hub::zoo`): OpenAI's
//! CLIP towers (`clip.load` names), MMAction2's TSN and TSM Kinetics-400 checkpoints (their
//! config names, as `mim download`), and torchvision's ImageNet ResNets as MMEngine names
//! them (`mmengine/hub/torchvision_0.12.json`).

kinema_hub::register_weights! {
    "ViT-B/32" => "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
    "ViT-B/16" => "https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
    "ViT-L/14" => "https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
    "ViT-L/14@336px" => "https://openaipublic.azureedge.net/clip/models/3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt",
    "tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb_20220906-cd10898e.pth",
    "tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb_20220906-2692d16c.pth",
    "tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth",
    "tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb" => "https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb_20220831-042b1748.pth",
    "torchvision://resnet18" => "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "torchvision://resnet34" => "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "torchvision://resnet50" => "https://download.pytorch.org/models/resnet50-0676ba61.pth",
    "torchvision://resnet101" => "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "torchvision://resnet152" => "https://download.pytorch.org/models/resnet152-394f9c45.pth",
}
