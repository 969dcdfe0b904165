//! The runner: loops, hooks, optimizers, LR schedules, checkpoints, metrics, logging.
