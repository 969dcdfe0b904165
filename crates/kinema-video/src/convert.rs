//! Decoded frames to packed RGB24 with swscale, the way decord/PyAV do it.
//!
//! decord converts through an FFmpeg `scale` filter to RGB24 at the stream's size. That filter
//! takes the YUV matrix from the frame's colour space tag (BT.601 when untagged) and the range
//! from the frame's range tag; the unscaled YUV→RGB path it ends up in is the same for the
//! bilinear, bicubic and point flags. The output here is byte-identical to decord's.

use ffmpeg_next::ffi;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::color;
use ffmpeg_next::util::frame::Video as VideoFrame;

/// Source frame properties the scaler was set up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Source {
    format: Pixel,
    width: u32,
    height: u32,
    space: color::Space,
    range: color::Range,
}

/// A swscale context that may move to another thread.
pub(crate) struct Scaler(pub scaling::Context);

// SAFETY: an SwsContext holds only its own heap state, with no thread affinity; it is used
// through `&mut` only (never shared), so moving it between threads is sound.
unsafe impl Send for Scaler {}

/// Converts decoded frames to RGB24 of a fixed size, reusing the scaler and the RGB frame.
pub(crate) struct RgbConverter {
    width: u32,
    height: u32,
    scaler: Option<(Source, Scaler)>,
    rgb: VideoFrame,
}

impl RgbConverter {
    /// A converter producing `width` x `height` RGB24 frames.
    pub fn new(width: u32, height: u32) -> Self {
        RgbConverter { width, height, scaler: None, rgb: VideoFrame::empty() }
    }

    /// Bytes of one output frame.
    pub fn frame_bytes(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    /// Converts `frame` into `out` (exactly [`Self::frame_bytes`] long, rows packed).
    pub fn convert(&mut self, frame: &VideoFrame, out: &mut [u8]) -> Result<(), String> {
        if out.len() != self.frame_bytes() {
            return Err(format!("output slice has {} bytes, expected {}", out.len(), self.frame_bytes()));
        }
        let source = Source {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
            space: frame.color_space(),
            range: frame.color_range(),
        };
        if source.format == Pixel::None || source.width == 0 || source.height == 0 {
            return Err("the decoder returned a frame without pixels".into());
        }
        let stale = !matches!(&self.scaler, Some((s, _)) if *s == source);
        if stale {
            let mut context = scaling::Context::get(
                source.format,
                source.width,
                source.height,
                Pixel::RGB24,
                self.width,
                self.height,
                scaling::Flags::BILINEAR,
            )
            .map_err(|e| format!("swscale rejected the conversion: {e}"))?;
            set_colorspace(&mut context, source.space, source.range);
            if let Some((old, _)) = &self.scaler {
                log::debug!("frame properties changed from {old:?} to {source:?}: new scaler");
            }
            self.scaler = Some((source, Scaler(context)));
        }
        let Some((_, Scaler(context))) = self.scaler.as_mut() else {
            return Err("no scaler".into());
        };
        context.run(frame, &mut self.rgb).map_err(|e| format!("swscale failed: {e}"))?;
        let row = self.width as usize * 3;
        let stride = self.rgb.stride(0);
        let data = self.rgb.data(0);
        for (y, dst) in out.chunks_exact_mut(row).enumerate() {
            let start = y * stride;
            let src = data.get(start..start + row).ok_or("RGB frame smaller than expected")?;
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

/// Sets the YUV matrix and input range from the frame's tags, as FFmpeg's `scale` filter
/// does with its default `in_color_matrix=auto`: the matrix follows the colour-space tag
/// (swscale maps untagged and unknown values to BT.601), the range follows the range tag
/// when there is one.
fn set_colorspace(context: &mut scaling::Context, space: color::Space, range: color::Range) {
    let space_code = ffi::AVColorSpace::from(space) as i32;
    // SAFETY: `context` owns a valid SwsContext. The get call fills the six out-pointers with
    // pointers/values owned by swscale (the tables are static); sws_getCoefficients returns
    // a pointer to a static table for every input value. The set call copies the tables.
    unsafe {
        let ptr = context.as_mut_ptr();
        let mut inv_table: *mut i32 = std::ptr::null_mut();
        let mut table: *mut i32 = std::ptr::null_mut();
        let (mut src_range, mut dst_range) = (0i32, 0i32);
        let (mut brightness, mut contrast, mut saturation) = (0i32, 0i32, 0i32);
        let got = ffi::sws_getColorspaceDetails(
            ptr,
            &mut inv_table,
            &mut src_range,
            &mut table,
            &mut dst_range,
            &mut brightness,
            &mut contrast,
            &mut saturation,
        );
        if got < 0 || table.is_null() {
            log::debug!("swscale has no colour-space details for this conversion; using its defaults");
            return;
        }
        match range {
            color::Range::JPEG => src_range = 1,
            color::Range::MPEG => src_range = 0,
            _ => {}
        }
        let coefficients = ffi::sws_getCoefficients(space_code);
        let set = ffi::sws_setColorspaceDetails(
            ptr,
            coefficients,
            src_range,
            table,
            dst_range,
            brightness,
            contrast,
            saturation,
        );
        if set < 0 {
            log::debug!("swscale refused colour-space details for {space:?}/{range:?}");
        }
    }
}
