//! Video files to RGB frames with FFmpeg: metadata, frame-accurate decoding of chosen indices.
