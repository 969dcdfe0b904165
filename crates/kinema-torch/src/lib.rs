//! The only low-level libtorch glue: tensors from batches, PyTorch checkpoint I/O, the C++ bridge (c10d, autocast).
