//! Named tensors and their shapes. Loading into a `VarStore` (strict or not, with a
//! missing / unexpected / shape report) is kinema-torch's, re-exported here.

use std::collections::BTreeMap;

use tch::{nn, Tensor};

pub use kinema_torch::checkpoint::{load_into_varstore, LoadMode, LoadReport};

/// Named tensors in file order, names being PyTorch `state_dict` keys.
pub type NamedTensors = Vec<(String, Tensor)>;

/// Shapes of named tensors, by name.
pub fn shapes_of(tensors: &[(String, Tensor)]) -> BTreeMap<String, Vec<i64>> {
    tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect()
}

/// The model's parameters as named tensors, sorted by name (shallow copies).
pub fn named_parameters(vs: &nn::VarStore) -> NamedTensors {
    let mut out: NamedTensors = vs.variables().into_iter().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
