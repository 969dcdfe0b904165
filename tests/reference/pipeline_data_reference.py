"""Reference data for kinema-data's image tests, made with the real cv2 (5.0, the
version mmcv 2.1 used for shared/fixtures/upstream) and numpy.

Writes under tests/fixtures/data/:
* resize/cases.json + resize/case<k>_in.npy / _out.npy: random uint8 RGB images and
  cv2.resize(INTER_LINEAR / INTER_NEAREST) of them (what mmcv.imresize calls), up- and
  down-scaling, odd sizes, exact 2x (where OpenCV switches to INTER_AREA).
* jpeg/frame.jpg + jpeg/frame_cv2_rgb.npy: a JPEG written by cv2.imencode (quality 90,
  4:2:0) and cv2.imdecode's RGB pixels of it (mmcv.imfrombytes' backend).
* carphone/: frames 0 and 5 of the upstream decord frames (gzip npy) and the matching
  frames of the upstream ActionCLIP test-pipeline output (gzip npy), from
  shared/fixtures/upstream/video (made by mmaction2 + mmcv, see its README).

Run: python tests/reference/pipeline_data_reference.py [path/to/shared/fixtures/upstream]
"""
import gzip
import json
import os
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'data')


def save_npy(path, arr, compress=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if compress:
        with open(path + '.gz', 'wb') as raw, gzip.GzipFile(fileobj=raw, mode='wb', compresslevel=9, mtime=0) as f:
            np.save(f, arr)
    else:
        np.save(path, arr)


def resize_cases():
    rng = np.random.default_rng(20260101)
    cases = [
        # (h, w, out_h, out_w, interpolation)
        (36, 44, 64, 78, 'bilinear'),     # upscale like 176x144 -> short side 256
        (64, 85, 56, 56, 'bilinear'),     # downscale like 340x256 -> 224x224
        (31, 47, 50, 75, 'bilinear'),
        (57, 33, 19, 29, 'bilinear'),
        (40, 60, 20, 30, 'bilinear'),     # exact 2x: INTER_AREA inside OpenCV
        (17, 23, 17, 23, 'bilinear'),     # same size
        (1, 5, 3, 9, 'bilinear'),
        (30, 41, 45, 20, 'nearest'),
        (50, 50, 21, 33, 'nearest'),
    ]
    meta = []
    for k, (h, w, oh, ow, interp) in enumerate(cases):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        code = cv2.INTER_LINEAR if interp == 'bilinear' else cv2.INTER_NEAREST
        out = cv2.resize(img, (ow, oh), interpolation=code)
        save_npy(os.path.join(OUT, 'resize', f'case{k}_in.npy'), img)
        save_npy(os.path.join(OUT, 'resize', f'case{k}_out.npy'), out)
        meta.append({'case': k, 'in': [h, w], 'out': [oh, ow], 'interpolation': interp})
    with open(os.path.join(OUT, 'resize', 'cases.json'), 'w') as f:
        json.dump({'cv2': cv2.__version__, 'cases': meta}, f, indent=1)


def jpeg_case():
    yy, xx = np.mgrid[0:48, 0:64]
    img = np.stack([(xx * 4) % 256, (yy * 5) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    img[10:20, 30:50] = [250, 20, 30]
    ok, buf = cv2.imencode('.jpg', img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    os.makedirs(os.path.join(OUT, 'jpeg'), exist_ok=True)
    with open(os.path.join(OUT, 'jpeg', 'frame.jpg'), 'wb') as f:
        f.write(buf.tobytes())
    rgb = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    save_npy(os.path.join(OUT, 'jpeg', 'frame_cv2_rgb.npy'), rgb)


def carphone(shared):
    video = os.path.join(shared, 'video')
    frames = np.load(os.path.join(video, 'carphone_pristine_decord_frames.npy'))
    processed = np.load(os.path.join(video, 'carphone_pristine_processed_u8_nchw.npy'))
    pick = [0, 5]
    save_npy(os.path.join(OUT, 'carphone', 'decord_frames_0_5.npy'), np.ascontiguousarray(frames[pick]), True)
    save_npy(os.path.join(OUT, 'carphone', 'processed_nchw_0_5.npy'), np.ascontiguousarray(processed[pick]), True)
    # sanity: Resize(-1, 256) with cv2 bilinear + CenterCrop(224) reproduces the upstream output
    h, w = frames.shape[1:3]
    f = 256 / min(h, w)
    nw, nh = int(w * f + 0.5), int(h * f + 0.5)
    top, left = (nh - 224) // 2, (nw - 224) // 2
    mine = np.stack([cv2.resize(x, (nw, nh), interpolation=cv2.INTER_LINEAR)[top:top + 224, left:left + 224]
                     for x in frames]).transpose(0, 3, 1, 2)
    assert np.array_equal(mine, processed), 'cv2 reproduction differs from the upstream fixture'


if __name__ == '__main__':
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', '..', 'shared', 'fixtures', 'upstream')
    resize_cases()
    jpeg_case()
    carphone(shared)
    print('wrote', os.path.abspath(OUT))
