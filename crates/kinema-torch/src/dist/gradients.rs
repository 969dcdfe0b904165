//! Gradient averaging in buckets: gradients are copied into a few flat buffers of about
//! `bucket_bytes`, each averaged with one all-reduce, and copied back — far fewer
//! collectives than one per parameter.

use tch::{Kind, Tensor};

use super::{DistError, ProcessGroup, ReduceOp};

/// Averages every tensor of `grads` across ranks, in place, `bucket_bytes` at a time.
/// Tensors of different dtypes go to different buckets.
pub fn all_reduce_mean_bucketed(pg: &ProcessGroup, grads: &[Tensor], bucket_bytes: usize) -> Result<(), DistError> {
    if pg.world_size() == 1 || grads.is_empty() {
        return Ok(());
    }
    let err = |e: tch::TchError| DistError::Input { rank: pg.rank(), op: "all_reduce", message: e.to_string() };
    let mut start = 0;
    while start < grads.len() {
        let kind = grads[start].kind();
        let mut end = start;
        let mut bytes = 0usize;
        while end < grads.len() && grads[end].kind() == kind && (end == start || bytes < bucket_bytes) {
            bytes += grads[end].numel() * kind_size(kind);
            end += 1;
        }
        let views: Vec<Tensor> = grads[start..end].iter().map(|g| g.reshape([-1])).collect();
        let flat = Tensor::f_cat(&views, 0).map_err(err)?;
        pg.all_reduce(&[&flat], ReduceOp::Sum)?;
        let _ = flat.shallow_clone().f_div_scalar_(pg.world_size() as f64).map_err(err)?;
        let mut offset = 0i64;
        for g in &grads[start..end] {
            let n = g.numel() as i64;
            let part = flat.f_narrow(0, offset, n).map_err(err)?.f_view(g.size().as_slice()).map_err(err)?;
            g.shallow_clone().f_copy_(&part).map_err(err)?;
            offset += n;
        }
        start = end;
    }
    Ok(())
}

fn kind_size(kind: Kind) -> usize {
    match kind {
        Kind::Double | Kind::Int64 => 8,
        Kind::Half | Kind::BFloat16 | Kind::Int16 => 2,
        Kind::Uint8 | Kind::Int8 | Kind::Bool => 1,
        _ => 4,
    }
}
