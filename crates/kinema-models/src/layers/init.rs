//! Parameter creation with PyTorch's default initialisations, and the in-place
//! re-initialisations models apply afterwards (normal, xavier, constant).
//!
//! Randomness comes from libtorch's global generator: seed it (`tch::manual_seed`)
//! before building a model to make initialisation reproducible.

use std::cell::Cell;

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

/// How [`var`] initialises the parameters it creates on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitMode {
    /// PyTorch's initialisation.
    Default,
    /// Random parameters start at zero; constants as usual.
    SkipRandom,
    /// Nothing is written (`torch.empty`): a strict load overwrites every parameter.
    Nothing,
}

thread_local! {
    static INIT_MODE: Cell<InitMode> = const { Cell::new(InitMode::Default) };
}

fn with_init_mode<T>(mode: InitMode, build: impl FnOnce() -> T) -> T {
    struct Restore(InitMode);
    impl Drop for Restore {
        fn drop(&mut self) {
            INIT_MODE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(INIT_MODE.with(|s| s.replace(mode)));
    build()
}

/// Runs `build` with random initialisation turned off on this thread: random parameters
/// start at zero and the in-place random re-initialisations do nothing. For models whose
/// parameters a checkpoint is about to overwrite (drawing 150 M random numbers costs
/// about a second on a laptop CPU), where a non-strict load may leave some as they are.
pub fn without_random_init<T>(build: impl FnOnce() -> T) -> T {
    with_init_mode(InitMode::SkipRandom, build)
}

/// Runs `build` with parameters left unwritten on this thread (`torch.empty`; the random
/// re-initialisations do nothing): only for a strict load, which fails unless it
/// overwrites every parameter. Writing 600 MB of zeros that the checkpoint replaces costs
/// a quarter of a warm `tools/infer` run.
pub fn without_init<T>(build: impl FnOnce() -> T) -> T {
    with_init_mode(InitMode::Nothing, build)
}

fn skipping_random_init() -> bool {
    INIT_MODE.with(Cell::get) != InitMode::Default
}

/// Creating or re-initialising a parameter failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot create parameter `{name}` {dims:?}: {source}")]
pub struct InitError {
    /// The full parameter name.
    pub name: String,
    /// Its shape.
    pub dims: Vec<i64>,
    /// The libtorch error.
    pub source: tch::TchError,
}

/// Creates the trainable parameter `name` under `p` with shape `dims`.
pub fn var(p: &nn::Path<'_>, name: &str, dims: &[i64], init: Init) -> Result<Tensor, InitError> {
    let error = |source| InitError { name: p.path(name), dims: dims.to_vec(), source };
    let init = match (INIT_MODE.with(Cell::get), init) {
        (InitMode::Nothing, _) => {
            let t = Tensor::f_empty(dims, (p.kind(), p.device())).map_err(error)?;
            return Ok(p.add(name, t, true));
        }
        (_, Init::Const(c)) => Init::Const(c),
        (InitMode::SkipRandom, _) => Init::Const(0.0),
        (InitMode::Default, init) => init,
    };
    p.f_var(name, dims, init).map_err(error)
}

/// PyTorch's `nn.Linear` weight init: kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)).
pub fn torch_linear_weight(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

/// PyTorch's `nn.Linear` bias init: U(+-1/sqrt(fan_in)).
pub fn torch_linear_bias(fan_in: i64) -> Init {
    torch_linear_weight(fan_in)
}

/// Xavier-uniform for a 2-D `[fan_out, fan_in]` weight (PyTorch's `xavier_uniform_`).
pub fn xavier_uniform(fan_out: i64, fan_in: i64) -> Init {
    let bound = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt();
    Init::Uniform { lo: -bound, up: bound }
}

/// Fills `t` in place from N(mean, std), without recording gradients.
pub fn normal_(t: &Tensor, mean: f64, std: f64) -> Result<(), tch::TchError> {
    if skipping_random_init() {
        return Ok(());
    }
    tch::no_grad(|| {
        let mut t = t.shallow_clone();
        t.f_normal_(mean, std).map(|_| ())
    })
}

/// Fills `t` in place with `value`, without recording gradients.
pub fn fill_(t: &Tensor, value: f64) -> Result<(), tch::TchError> {
    tch::no_grad(|| {
        let mut t = t.shallow_clone();
        t.f_fill_(value).map(|_| ())
    })
}

/// Fills `t` in place with the values of `src` (same shape), without recording gradients.
pub fn copy_(t: &Tensor, src: &Tensor) -> Result<(), tch::TchError> {
    tch::no_grad(|| {
        let mut t = t.shallow_clone();
        t.f_copy_(&src.f_to_kind(t.kind())?)
    })
}

/// Fills `t` in place like the `trunc_normal_` of several published video-CLIP codebases: N(0, 1), `fmod` 2,
/// times `std`, plus `mean`.
pub fn fmod_normal_(t: &Tensor, mean: f64, std: f64) -> Result<(), tch::TchError> {
    if skipping_random_init() {
        return Ok(());
    }
    let sample =
        Tensor::f_randn(t.size(), (Kind::Float, t.device()))?.f_fmod(2.0)?.f_mul_scalar(std)?.f_add_scalar(mean)?;
    copy_(t, &sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_init_is_skipped_only_inside() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let (a, b) = without_random_init(|| {
            let a = var(&vs.root(), "a", &[4], Init::Randn { mean: 0.0, stdev: 1.0 }).unwrap();
            let b = var(&vs.root(), "b", &[2], Init::Const(3.0)).unwrap();
            normal_(&b, 0.0, 1.0).unwrap();
            (a, b)
        });
        assert_eq!(Vec::<f32>::try_from(&a).unwrap(), [0.0; 4]);
        assert_eq!(Vec::<f32>::try_from(&b).unwrap(), [3.0; 2], "constants stay, normal_ does nothing");
        let c = var(&vs.root(), "c", &[64], Init::Randn { mean: 0.0, stdev: 1.0 }).unwrap();
        assert!(c.abs().sum(Kind::Float).double_value(&[]) > 1.0, "random again outside");
        let d = without_init(|| var(&vs.root(), "d", &[3, 5], Init::Const(2.0)).unwrap());
        assert_eq!((d.size(), d.requires_grad()), (vec![3, 5], true), "created, trainable, not written");
        assert!(vs.variables().contains_key("d"));
        let e = var(&vs.root(), "e", &[2], Init::Const(2.0)).unwrap();
        assert_eq!(Vec::<f32>::try_from(&e).unwrap(), [2.0; 2], "written again outside");
    }
}
