//! Times one AdamW step of the wrapper on a 6-block transformer adapter's parameter shapes
//! (6 blocks of width 512: 73 tensors, 18.9 M values), one group per parameter.
//!
//! `cargo run --release -p kinema-optim --example bench_adamw`

use std::time::Instant;

use kinema_core::registry::BuildSite;
use kinema_optim::{build_optim_wrapper, OptimContext};
use tch::{Device, Kind, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut shapes: Vec<(String, Vec<i64>)> = vec![("adapter.frame_position_embeddings.weight".into(), vec![8, 512])];
    for i in 0..6 {
        let p = format!("adapter.transformer.resblocks.{i}");
        for (n, s) in [
            ("attn.in_proj_weight", vec![1536, 512]),
            ("attn.in_proj_bias", vec![1536]),
            ("attn.out_proj.weight", vec![512, 512]),
            ("attn.out_proj.bias", vec![512]),
            ("ln_1.weight", vec![512]),
            ("ln_1.bias", vec![512]),
            ("mlp.c_fc.weight", vec![2048, 512]),
            ("mlp.c_fc.bias", vec![2048]),
            ("mlp.c_proj.weight", vec![512, 2048]),
            ("mlp.c_proj.bias", vec![512]),
            ("ln_2.weight", vec![512]),
            ("ln_2.bias", vec![512]),
        ] {
            shapes.push((format!("{p}.{n}"), s));
        }
    }
    let params: Vec<(String, Tensor)> = shapes
        .iter()
        .map(|(n, s)| (n.clone(), Tensor::randn(s.as_slice(), (Kind::Float, Device::Cpu)).set_requires_grad(true)))
        .collect();
    let cfg = serde_json::json!({
        "optimizer": {"type": "AdamW", "lr": 5e-6, "betas": [0.9, 0.98], "eps": 1e-8, "weight_decay": 0.2},
        "paramwise_cfg": {"custom_keys": {"adapter": {"lr_mult": 10}}}
    });
    let ctx = OptimContext {
        params: params.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect(),
        device: Device::Cpu,
    };
    let mut wrapper = build_optim_wrapper(&cfg, &BuildSite::detached(Default::default()), &ctx)?.into_inner();
    let grads: Vec<Tensor> = params.iter().map(|(_, p)| p.randn_like()).collect();
    let loss = || {
        let mut l = Tensor::zeros([], (Kind::Float, Device::Cpu));
        for ((_, p), g) in params.iter().zip(&grads) {
            l += (p * g).sum(Kind::Float);
        }
        l
    };
    let numel: i64 = params.iter().map(|(_, p)| p.numel() as i64).sum();
    for _ in 0..2 {
        wrapper.update_params(&loss())?;
    }
    let n = 10;
    let mut total = 0.0;
    for _ in 0..n {
        let l = loss();
        let t = Instant::now();
        wrapper.update_params(&l)?;
        total += t.elapsed().as_secs_f64();
    }
    println!(
        "{} tensors, {numel} values, {} threads: update_params (backward + AdamW step + zero_grad) {:.1} ms",
        params.len(),
        tch::get_num_threads(),
        1e3 * total / n as f64
    );
    Ok(())
}
