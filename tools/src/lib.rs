//! Shared helpers of the Kinema command-line tools.
