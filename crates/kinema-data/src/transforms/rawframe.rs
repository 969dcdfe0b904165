//! `RawFrameDecode`: frames stored as JPEG files (`frame_dir/img_00001.jpg`).

use std::collections::HashMap;
use std::path::Path;

use kinema_core::registry::{BoxError, BuildSite};
use kinema_core::rng::SampleRng;
use kinema_core::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
#[cfg(not(feature = "libjpeg-turbo"))]
use zune_jpeg::zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
#[cfg(not(feature = "libjpeg-turbo"))]
use zune_jpeg::JpegDecoder;

use super::template::{Arg, FrameTemplate};
use crate::error::TransformError;
use crate::sample::{FrameStack, Modality, Sample};
use crate::transform::{Transform, TransformKind};

/// Reads the frames at `frame_inds` (+ `offset`) from `frame_dir` using the sample's
/// `filename_tmpl`: RGB images for `RGB`, x/y grayscale pairs stacked into two channels
/// for `Flow` (MMAction2 `RawFrameDecode`). Repeated indices are decoded once.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFrameDecodeConfig {
    /// Where files are read from; only `disk` is supported.
    #[serde(default = "disk")]
    pub io_backend: String,
    /// Upstream's image library (`cv2`, `pillow`, `turbojpeg`); JPEG is decoded in Rust.
    #[serde(default = "cv2")]
    pub decoding_backend: String,
}

fn disk() -> String {
    "disk".into()
}
fn cv2() -> String {
    "cv2".into()
}

/// The built transform.
pub struct RawFrameDecode;

impl Component<TransformKind> for RawFrameDecode {
    type Config = RawFrameDecodeConfig;
    fn build(config: &Self::Config, _: &(), _: &BuildSite<'_>) -> Result<Box<dyn Transform>, BoxError> {
        if config.io_backend != "disk" {
            return Err(format!("io_backend \"{}\" is not supported; use \"disk\"", config.io_backend).into());
        }
        Ok(Box::new(RawFrameDecode))
    }
}

kinema_core::register!(TransformKind, "RawFrameDecode", RawFrameDecode);

/// Decodes a JPEG file to interleaved pixels: RGB (`gray = false`) or one channel.
/// Returns `(height, width, pixels)`. With the `libjpeg-turbo` feature the pixels are
/// those of `cv2.imdecode` (same library); otherwise zune-jpeg's (its chroma upsampling
/// differs from libjpeg's by up to 3 levels).
pub fn decode_jpeg(path: &Path, gray: bool) -> Result<(usize, usize, Vec<u8>), TransformError> {
    let err = |message: String| TransformError::Image { path: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let (h, w, pixels) = decode_bytes(&bytes, gray).map_err(err)?;
    let channels = if gray { 1 } else { 3 };
    if pixels.len() != w * h * channels {
        return Err(err(format!("decoded {} bytes for a {w}x{h} image", pixels.len())));
    }
    Ok((h, w, pixels))
}

#[cfg(feature = "libjpeg-turbo")]
fn decode_bytes(bytes: &[u8], gray: bool) -> Result<(usize, usize, Vec<u8>), String> {
    let format = if gray { turbojpeg::PixelFormat::GRAY } else { turbojpeg::PixelFormat::RGB };
    let img: turbojpeg::Image<Vec<u8>> =
        turbojpeg::decompress(bytes, format).map_err(|e| format!("not a decodable JPEG: {e}"))?;
    let row = img.width * format.size();
    let pixels = if img.pitch == row {
        img.pixels
    } else {
        img.pixels.chunks(img.pitch).flat_map(|r| r[..row].iter().copied()).collect()
    };
    Ok((img.height, img.width, pixels))
}

#[cfg(not(feature = "libjpeg-turbo"))]
fn decode_bytes(bytes: &[u8], gray: bool) -> Result<(usize, usize, Vec<u8>), String> {
    let colorspace = if gray { ColorSpace::Luma } else { ColorSpace::RGB };
    let options = DecoderOptions::default().jpeg_set_out_colorspace(colorspace).set_strict_mode(false);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().map_err(|e| format!("not a decodable JPEG: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or_else(|| "JPEG without dimensions".to_string())?;
    Ok((h, w, pixels))
}

impl Transform for RawFrameDecode {
    fn apply(&self, s: &mut Sample, _: &mut SampleRng) -> Result<(), TransformError> {
        let dir = s.frame_dir.clone().ok_or(TransformError::Missing("frame_dir"))?;
        let tmpl_text = s.filename_tmpl.clone().ok_or(TransformError::Missing("filename_tmpl"))?;
        let tmpl = FrameTemplate::parse(&tmpl_text).map_err(TransformError::Invalid)?;
        let inds = s.frame_inds.clone().ok_or(TransformError::Missing("frame_inds"))?;
        let channels = match s.modality {
            Modality::Rgb => 3,
            Modality::Flow => 2,
        };
        let mut seen: HashMap<i64, usize> = HashMap::new();
        let mut data: Vec<u8> = Vec::new();
        let mut size: Option<(usize, usize)> = None;
        for (i, &idx) in inds.iter().enumerate() {
            if let Some(&j) = seen.get(&idx) {
                let n = data.len() / i;
                data.extend_from_within(j * n..(j + 1) * n);
                continue;
            }
            seen.insert(idx, i);
            let frame = idx + s.offset;
            let name = |args: &[Arg<'_>]| {
                tmpl.format(args).ok_or_else(|| {
                    TransformError::Invalid(format!(
                        "filename_tmpl \"{tmpl_text}\" has {} fields; {} expects {}",
                        tmpl.fields(),
                        if channels == 3 { "RGB" } else { "Flow" },
                        args.len()
                    ))
                })
            };
            let (h, w) = match s.modality {
                Modality::Rgb => {
                    let (h, w, px) = decode_jpeg(&dir.join(name(&[Arg::Int(frame)])?), false)?;
                    data.extend_from_slice(&px);
                    (h, w)
                }
                Modality::Flow => {
                    let (h, w, x) = decode_jpeg(&dir.join(name(&[Arg::Str("x"), Arg::Int(frame)])?), true)?;
                    let y_path = dir.join(name(&[Arg::Str("y"), Arg::Int(frame)])?);
                    let (hy, wy, y) = decode_jpeg(&y_path, true)?;
                    if (hy, wy) != (h, w) {
                        return Err(TransformError::Image {
                            path: y_path,
                            message: format!("is {wy}x{hy} but its x-flow image is {w}x{h}"),
                        });
                    }
                    data.extend(x.iter().zip(&y).flat_map(|(&a, &b)| [a, b]));
                    (h, w)
                }
            };
            match size {
                None => {
                    kinema_video::limits::check_frames("RawFrameDecode", inds.len(), h, w, channels)?;
                    size = Some((h, w));
                }
                Some(first) if first != (h, w) => {
                    return Err(TransformError::Invalid(format!(
                        "frame {frame} is {w}x{h} but earlier frames are {}x{}",
                        first.1, first.0
                    )))
                }
                _ => {}
            }
        }
        let (h, w) = size.ok_or_else(|| TransformError::Invalid("no frame indices to decode".into()))?;
        s.imgs = Some(FrameStack { data, count: inds.len(), height: h, width: w, channels });
        s.original_shape = Some([h, w]);
        s.img_shape = Some([h, w]);
        Ok(())
    }
}
