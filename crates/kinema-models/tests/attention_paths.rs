//! The fused attention kernel stays within 1e-5 of the explicit path (with and without
//! the causal mask, several head counts), LayerNorm variants, the data preprocessor.
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use kinema_models::clip::causal_mask;
use kinema_models::data_preprocessor::{ActionDataPreprocessorConfig, FormatShape};
use kinema_models::layers::{AttentionImpl, LayerNorm, LayerNormStyle, Transformer};
use kinema_models::{ActionDataPreprocessor, DataPreprocessor};
use tch::{nn, Device, Kind, Tensor};

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn fused_attention_matches_plain_within_1e5() {
    tch::manual_seed(3);
    for (width, heads, len) in [(64, 1, 77), (512, 8, 50), (96, 3, 9)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut t =
            Transformer::new(&(vs.root() / "t"), width, 3, heads, LayerNormStyle::CLIP, AttentionImpl::Plain).unwrap();
        let x = Tensor::randn([len, 4, width], (Kind::Float, Device::Cpu));
        let mask = causal_mask(len, Device::Cpu).unwrap();
        for m in [None, Some(&mask)] {
            t.set_attention_impl(AttentionImpl::Plain);
            let plain = t.forward(&x, m).unwrap();
            t.set_attention_impl(AttentionImpl::Fused);
            let fused = t.forward(&x, m).unwrap();
            let d = max_abs(&plain, &fused);
            assert!(d < 1e-5, "width {width} heads {heads} masked {}: {d}", m.is_some());
        }
    }
}

#[test]
fn causal_mask_blocks_the_future() {
    let m = causal_mask(4, Device::Cpu).unwrap();
    assert_eq!(m.double_value(&[0, 0]), 0.0);
    assert_eq!(m.double_value(&[3, 0]), 0.0);
    assert_eq!(m.double_value(&[0, 1]), f64::NEG_INFINITY);
    assert_eq!(m.double_value(&[2, 3]), f64::NEG_INFINITY);
}

#[test]
fn layer_norm_styles() {
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = LayerNorm::new(&(vs.root() / "a"), 4, LayerNormStyle::CLIP).unwrap();
    let tf = LayerNorm::new(&(vs.root() / "b"), 4, LayerNormStyle::TF).unwrap();
    let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 10.0]).view([1, 4]);
    let mean = 4.0f64;
    let var: f64 = (9.0 + 4.0 + 1.0 + 36.0) / 4.0;
    let want: Vec<f64> = [1.0, 2.0, 3.0, 10.0].iter().map(|v| (v - mean) / (var + 1e-5).sqrt()).collect();
    let got = clip.forward(&x).unwrap();
    for (i, w) in want.iter().enumerate() {
        assert!((got.double_value(&[0, i as i64]) - w).abs() < 1e-6);
    }
    let got = tf.forward(&x).unwrap();
    for (i, v) in [1.0, 2.0, 3.0, 10.0].iter().enumerate() {
        let w = (v - mean) / (var + 1e-12).sqrt();
        assert!((got.double_value(&[0, i as i64]) - w).abs() < 1e-6);
    }
    // fp16 input: computed in fp32, returned as fp16.
    assert_eq!(clip.forward(&x.to_kind(Kind::Half)).unwrap().kind(), Kind::Half);
}

#[test]
fn action_data_preprocessor_normalises_per_channel() {
    let clip = ActionDataPreprocessorConfig {
        mean: Some(vec![122.771, 116.746, 104.093]),
        std: Some(vec![68.500, 66.632, 70.323]),
        ..ActionDataPreprocessorConfig::default()
    };
    let p = ActionDataPreprocessor::new(&clip, Device::Cpu).unwrap();
    let x = Tensor::full([1, 2, 3, 2, 2], 200, (Kind::Uint8, Device::Cpu));
    let y = p.process(&x).unwrap();
    assert_eq!(y.kind(), Kind::Float);
    for (c, (m, s)) in [(122.771, 68.5), (116.746, 66.632), (104.093, 70.323)].iter().enumerate() {
        let want = (200.0 - m) / s;
        assert!((y.double_value(&[0, 1, c as i64, 1, 1]) - want).abs() < 1e-5);
    }
    let err = p.process(&Tensor::zeros([2, 3, 4, 4], (Kind::Uint8, Device::Cpu))).unwrap_err().to_string();
    assert!(err.contains("[B, N, C, H, W]"), "{err}");
    let bad = ActionDataPreprocessorConfig { std: Some(vec![1.0, 0.0, 1.0]), ..clip.clone() };
    let err = ActionDataPreprocessor::new(&bad, Device::Cpu).unwrap_err().to_string();
    assert_eq!(err, "`data_preprocessor.std`: must be finite and non-zero, found 0");
    let half = ActionDataPreprocessorConfig { std: None, ..clip.clone() };
    let err = ActionDataPreprocessor::new(&half, Device::Cpu).unwrap_err().to_string();
    assert_eq!(err, "`data_preprocessor`: give both `mean` and `std`, or neither");
    // MMAction2's defaults: no mean and std, no normalisation (only the cast to fp32).
    let plain = ActionDataPreprocessor::new(&ActionDataPreprocessorConfig::default(), Device::Cpu).unwrap();
    assert_eq!(plain.process(&x).unwrap().double_value(&[0, 1, 2, 1, 1]), 200.0);
    let c3d = ActionDataPreprocessorConfig { format_shape: FormatShape::Ncthw, ..clip.clone() };
    let p3 = ActionDataPreprocessor::new(&c3d, Device::Cpu).unwrap();
    assert_eq!(
        p3.process(&Tensor::zeros([1, 1, 3, 2, 4, 4], (Kind::Uint8, Device::Cpu))).unwrap().size(),
        [1, 1, 3, 2, 4, 4]
    );
}
