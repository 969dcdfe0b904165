//! Named parameters in creation order (PyTorch's `named_parameters()` order), which
//! MMEngine's per-parameter optimizer groups and logged `lr` depend on.

use tch::{nn::VarStore, Tensor};

/// The trainable variables of `vs` with their names, in the order they were created.
///
/// tch keeps names in a hash map and trainable tensors in a creation-ordered list; the
/// two are matched by storage address.
pub fn named_trainable(vs: &VarStore) -> Vec<(String, Tensor)> {
    let named = vs.variables();
    let mut by_ptr: Vec<(usize, String)> =
        named.iter().map(|(name, t)| (t.data_ptr() as usize, name.clone())).collect();
    by_ptr.sort_unstable();
    vs.trainable_variables()
        .into_iter()
        .filter_map(|t| {
            let ptr = t.data_ptr() as usize;
            let idx = by_ptr.binary_search_by_key(&ptr, |(p, _)| *p).ok()?;
            Some((by_ptr[idx].1.clone(), t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn keeps_creation_order_with_names() {
        let vs = VarStore::new(Device::Cpu);
        let root = vs.root();
        let _z = root.zeros("zeta", &[2]);
        let _a = root.sub("block").zeros("alpha", &[3]);
        let _buffer = root.zeros_no_train("buffer", &[1]);
        let _m = root.ones("mid", &[1]);
        let names: Vec<String> = named_trainable(&vs).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["zeta", "block.alpha", "mid"]);
        let _ = nn::Init::Const(0.0);
    }
}
