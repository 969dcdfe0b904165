//! Optimizers with saveable state, optimizer wrappers and MMEngine parameter schedulers.
