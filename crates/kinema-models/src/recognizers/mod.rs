//! Recognizers built from registered parts: [`Recognizer2D`](recognizer2d::Recognizer2D)
//! (a 2-d backbone over every frame and a classification head: TSN, TSM).

pub mod recognizer2d;

pub use recognizer2d::{Recognizer2D, Recognizer2DConfig, TestCfg};
