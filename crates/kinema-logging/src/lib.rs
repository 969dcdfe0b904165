//! Run logs: log lines, log file, scalars.json, TensorBoard event files, progress bars, plots.
