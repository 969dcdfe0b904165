//! Datasets, MMAction2 transforms, samplers and a parallel deterministic data loader on plain u8 buffers.
