"""Reference data for kinema-video (not run by CI).

Makes small test videos with the ffmpeg CLI (Debian FFmpeg 5.1, libx264) and records what
decord 0.6 (the decoder behind MMAction2's DecordInit/DecordDecode) returns for them, so the
Rust decoder can be checked bit for bit: frame count, fps, size, and a SHA-256 per decoded RGB
frame. PyAV is run as a cross-check (it uses FFmpeg's swscale too).

Usage: <reference-venv>/bin/python tests/reference/make_video_fixtures.py
Writes tests/fixtures/video/{gop_bframes.mp4, bt709.mp4, fullrange.mp4, rotate90.mp4,
decord_reference.json}.
"""

import hashlib
import json
import pathlib
import subprocess

import av
import decord
import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "video"

# name -> extra ffmpeg arguments. testsrc2 has moving content and saturated colours, so colour
# matrix / range / rotation mistakes show up.
CASES = {
    # Several GOPs with B-frames: random access must find the right frames.
    "gop_bframes.mp4": ["-s", "96x64", "-frames:v", "60", "-c:v", "libx264", "-g", "12",
                        "-bf", "2", "-pix_fmt", "yuv420p"],
    # BT.709 matrix, limited range (tagged in the stream).
    "bt709.mp4": ["-s", "64x48", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                  "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                  "-color_range", "tv"],
    # Full ("pc"/JPEG) range.
    "fullrange.mp4": ["-s", "64x48", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuvj420p",
                      "-color_range", "pc"],
    # Display matrix saying "rotate by 90 degrees" (as phones write).
    # (the tag only reaches the container's matrix when remuxing, see REMUX).
    "rotate90.mp4": ["-s", "64x48", "-frames:v", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
}

# name -> arguments of a second, stream-copy pass.
REMUX = {"rotate90.mp4": ["-metadata:s:v:0", "rotate=90"]}


def make(name, args):
    path = OUT / name
    cmd = ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=rate=25:size=96x64",
           *args, "-x264-params", "threads=1", "-map_metadata", "-1", "-fflags", "+bitexact",
           str(path)]
    subprocess.run(cmd, check=True)
    if name in REMUX:
        tmp = path.with_suffix(".tmp.mp4")
        path.rename(tmp)
        subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(tmp), "-c", "copy", *REMUX[name],
                        "-fflags", "+bitexact", str(path)], check=True)
        tmp.unlink()
    return path


def describe(path):
    with av.open(str(path)) as c:
        pyav = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        pyav_fps = float(c.streams.video[0].average_rate)
    vr = decord.VideoReader(str(path), num_threads=1)
    n = len(vr)
    try:
        frames = vr.get_batch(list(range(n))).asnumpy()
    except decord.DECORDError as e:
        # decord 0.6 cannot decode rotated videos (it crashes, or returns 4 channels from
        # vr[i]); MMAction2's DecordDecode fails on them. Record PyAV's frames (the stored,
        # unrotated orientation) instead.
        return {
            "reference": "pyav",
            "decord_error": str(e).splitlines()[0][-120:],
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "frame_count": int(pyav.shape[0]),
            "fps": pyav_fps,
            "height": int(pyav.shape[1]),
            "width": int(pyav.shape[2]),
            "frame_sha256": [hashlib.sha256(f.tobytes()).hexdigest() for f in pyav],
            "channel_mean": pyav.reshape(-1, 3).mean(0).tolist(),
        }
    return {
        "reference": "decord",
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "frame_count": n,
        "fps": vr.get_avg_fps(),
        "height": int(frames.shape[1]),
        "width": int(frames.shape[2]),
        "key_indices": [int(k) for k in vr.get_key_indices()],
        "frame_sha256": [hashlib.sha256(f.tobytes()).hexdigest() for f in frames],
        "channel_mean": frames.reshape(-1, 3).mean(0).tolist(),
        "pyav_equal": bool(pyav.shape == frames.shape and (pyav == frames).all()),
        "pyav_max_abs_diff": int(np.abs(pyav.astype(int) - frames.astype(int)).max())
        if pyav.shape == frames.shape else None,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    result = {"decord": decord.__version__, "av": av.__version__,
              "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True,
                                       text=True).stdout.splitlines()[0],
              "videos": {}}
    for name, args in CASES.items():
        result["videos"][name] = describe(make(name, args))
    # Sparse, out-of-order, repeated access through decord's own seeking.
    vr = decord.VideoReader(str(OUT / "gop_bframes.mp4"), num_threads=1)
    order = [59, 3, 3, 30, 12, 11, 47, 0, 58, 24, 25, 36]
    batch = vr.get_batch(order).asnumpy()
    result["videos"]["gop_bframes.mp4"]["random_access"] = {
        "indices": order,
        "frame_sha256": [hashlib.sha256(f.tobytes()).hexdigest() for f in batch],
    }
    (OUT / "decord_reference.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1)[:3000])


if __name__ == "__main__":
    main()
