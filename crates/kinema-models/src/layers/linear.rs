//! `nn.Linear` with PyTorch's names (`weight` [out, in], `bias` [out]).

use tch::{nn, Tensor};

use super::init::{self, InitError};
use super::torch_err;
use crate::recognizer::ModelError;

/// A fully connected layer `y = x A^T + b`, computed by `at::linear` like PyTorch.
#[derive(Debug)]
pub struct Linear {
    /// `weight` [out, in].
    pub weight: Tensor,
    /// `bias` [out], when the layer has one.
    pub bias: Option<Tensor>,
    path: String,
}

impl Linear {
    /// Creates `weight` and (optionally) `bias` under `p`, initialised like PyTorch's
    /// `nn.Linear` (kaiming-uniform weight, uniform bias in +-1/sqrt(in)).
    pub fn new(p: &nn::Path<'_>, in_dim: i64, out_dim: i64, bias: bool) -> Result<Self, InitError> {
        let weight = init::var(p, "weight", &[out_dim, in_dim], init::torch_linear_weight(in_dim))?;
        let bias = if bias { Some(init::var(p, "bias", &[out_dim], init::torch_linear_bias(in_dim))?) } else { None };
        Ok(Linear { weight, bias, path: p.components().collect::<Vec<_>>().join(".") })
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        x.f_linear(&self.weight, self.bias.as_ref()).map_err(torch_err(&self.path))
    }
}
