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

/// Renames checkpoint keys to the model's when they match only up to a prefix: an OpenAI
/// CLIP file (`visual.conv1.weight`) loaded into a model that holds CLIP under `clip.`
/// gets `clip.` added; a file with an extra prefix loses it. Exact matches win; the
/// prefix that matches the most keys is chosen and logged.
pub fn align_names(vs: &VarStore, tensors: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    let model: std::collections::HashSet<String> = vs.variables().into_keys().collect();
    if tensors.iter().any(|(n, _)| model.contains(n)) {
        return tensors;
    }
    let mut prefixes: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for name in &model {
        for (i, _) in name.match_indices('.') {
            prefixes.insert(name[..=i].to_string());
        }
    }
    let add = prefixes
        .iter()
        .map(|p| (tensors.iter().filter(|(n, _)| model.contains(&format!("{p}{n}"))).count(), p.clone()))
        .max_by_key(|(count, _)| *count);
    if let Some((count, prefix)) = add.filter(|(c, _)| *c > 0) {
        log::info!("checkpoint keys prefixed with `{prefix}` to match the model ({count} tensors)");
        return tensors.into_iter().map(|(n, t)| (format!("{prefix}{n}"), t)).collect();
    }
    let mut strip: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (n, _) in &tensors {
        for (i, _) in n.match_indices('.') {
            if model.contains(&n[i + 1..]) {
                *strip.entry(n[..=i].to_string()).or_default() += 1;
            }
        }
    }
    if let Some((prefix, count)) = strip.into_iter().max_by_key(|(_, c)| *c) {
        log::info!("checkpoint keys stripped of `{prefix}` to match the model ({count} tensors)");
        return tensors
            .into_iter()
            .map(|(n, t)| match n.strip_prefix(&prefix) {
                Some(rest) => (rest.to_string(), t),
                None => (n, t),
            })
            .collect();
    }
    tensors
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
