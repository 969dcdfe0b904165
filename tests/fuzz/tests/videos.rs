//! Fuzzing the video reader with mutated real files (H.264 with B-frames, BT.709,
//! full-range, rotated): open, then decode the first, a middle and the last frame.
//! Every outcome must be frames or an error naming the file; never a panic or hang.

use kinema_fuzz::{fixture, fuzz, mutate, mutations};
use kinema_video::VideoReader;
use proptest::prelude::*;

#[test]
fn fuzz_video_files() {
    let seeds: Vec<Vec<u8>> = ["gop_bframes.mp4", "bt709.mp4", "fullrange.mp4", "rotate90.mp4"]
        .iter()
        .map(|f| std::fs::read(fixture(&format!("video/{f}"))).unwrap_or_default())
        .collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("mutated.mp4");
    let decoded = std::sync::atomic::AtomicUsize::new(0);
    fuzz("video files", file!(), 256, (0..seeds.len(), mutations(4)), |(i, edits)| {
        std::fs::write(&path, mutate(&seeds[i], &edits)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let named = |e: &kinema_video::VideoError| e.to_string().contains(&path.display().to_string());
        match VideoReader::open(&path) {
            Ok(mut reader) => {
                let n = reader.info().frame_count;
                if n > 0 {
                    match reader.read_frames(&[0, n / 2, n - 1]) {
                        Ok(frames) => {
                            decoded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            prop_assert_eq!(frames.data.len(), 3 * frames.height * frames.width * 3)
                        }
                        Err(e) => prop_assert!(named(&e), "{e}"),
                    }
                }
            }
            Err(e) => prop_assert!(named(&e), "{e}"),
        }
        Ok(())
    });
    // The seeds are real videos: mutations that miss the headers still decode.
    let decoded = decoded.into_inner();
    eprintln!("video files: {decoded} mutated files decoded");
    assert!(decoded > 0, "no mutated video decoded: are the seed fixtures there?");
}
