//! ActionCLIP on Kinema: video-text matching on CLIP, zero-shot recognition.
