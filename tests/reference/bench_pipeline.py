"""The Python side of Kinema's data-pipeline throughput comparison (not run by CI).

Reproduces MMAction2's ActionCLIP pipelines (mmaction2 4d6c9347,
mmaction/datasets/transforms/{loading,processing,formatting}.py, re-written here from the
documented behaviour since mmaction2 itself does not install from PyPI) with the same
libraries MMAction2 uses: decord 0.6 for decoding, mmcv 2.1 (`mmcv.imresize`,
`mmcv.rescale_size`, `mmcv.imflip_`, i.e. cv2) for image ops, numpy for crops, a torch
DataLoader for workers (MMEngine's loader: batch_size 1, persistent workers, fork,
`cv2.setNumThreads(0)` as MMEngine's env_cfg does).

What is timed: one full epoch over CLIPS samples that all point at VIDEO, after one
warm-up epoch, for each worker count. Per sample: read the file into memory and open it
with decord (DecordInit reads through FileClient + BytesIO, num_threads=1), sample 8
frame indices, `get_batch`, the spatial transforms, stack + NHWC->NCHW transpose made
contiguous (the copy MMEngine's stack_batch makes later), and the main process receiving
it. Kinema's `examples/bench_pipeline.rs` times the same work (its batches are also
contiguous uint8 arrays).

Run: python tests/reference/bench_pipeline.py VIDEO [CLIPS] [WORKERS...]
"""
import io
import random
import sys
import time

import cv2
import decord
import mmcv
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

NUM_CLIPS = 8


def decord_init(r):
    with open(r['filename'], 'rb') as f:
        vr = decord.VideoReader(io.BytesIO(f.read()), num_threads=1)
    r['total_frames'] = len(vr)
    r['avg_fps'] = vr.get_avg_fps()
    r['video_reader'] = vr


def sample_frames(r, test_mode):
    n = r['total_frames']
    if test_mode:
        avg = n / float(NUM_CLIPS)
        offsets = np.arange(NUM_CLIPS) * avg + avg / 2.0
    else:
        avg = n // NUM_CLIPS
        if avg > 0:
            offsets = np.arange(NUM_CLIPS) * avg + np.random.randint(avg, size=NUM_CLIPS)
        elif n > NUM_CLIPS:
            offsets = np.sort(np.random.randint(n, size=NUM_CLIPS))
        else:
            offsets = np.around(np.arange(NUM_CLIPS) * (n / NUM_CLIPS))
    r['frame_inds'] = (np.mod(offsets, n) + 0).astype(np.int32)


def decord_decode(r):
    r['imgs'] = list(r['video_reader'].get_batch(r['frame_inds']).asnumpy())
    r['video_reader'] = None
    r['img_shape'] = r['imgs'][0].shape[:2]


def resize(r, scale, keep_ratio=True):
    h, w = r['img_shape']
    if keep_ratio:
        new_w, new_h = mmcv.rescale_size((w, h), scale)
    else:
        new_w, new_h = scale
    r['imgs'] = [mmcv.imresize(img, (new_w, new_h), interpolation='bilinear') for img in r['imgs']]
    r['img_shape'] = (new_h, new_w)


def crop(r, x1, y1, x2, y2):
    r['imgs'] = [img[y1:y2, x1:x2] for img in r['imgs']]
    r['img_shape'] = (y2 - y1, x2 - x1)


def center_crop(r, size):
    h, w = r['img_shape']
    left, top = (w - size) // 2, (h - size) // 2
    crop(r, left, top, left + size, top + size)


def random_resized_crop(r, area_range=(0.08, 1.0), ratio_range=(3 / 4, 4 / 3)):
    h, w = r['img_shape']
    ratios = np.exp(np.random.uniform(np.log(ratio_range[0]), np.log(ratio_range[1]), size=10))
    areas = np.random.uniform(*area_range, size=10) * h * w
    cw = np.round(np.sqrt(areas * ratios)).astype(np.int32)
    ch = np.round(np.sqrt(areas / ratios)).astype(np.int32)
    for i in range(10):
        if ch[i] <= h and cw[i] <= w:
            x = random.randint(0, w - cw[i])
            y = random.randint(0, h - ch[i])
            return crop(r, x, y, x + cw[i], y + ch[i])
    s = min(h, w)
    crop(r, (w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)


def multi_scale_crop(r, input_size=224, scales=(1, .875, .75, .66)):
    h, w = r['img_shape']
    base = min(h, w)
    sizes = [int(base * s) for s in scales]
    cands = [[cw, chh] for i, chh in enumerate(sizes) for j, cw in enumerate(sizes) if abs(i - j) <= 1]
    size = random.choice(cands)
    for k in range(2):
        if abs(size[k] - input_size) < 3:
            size[k] = input_size
    cw, chh = size
    ws, hs = (w - cw) // 4, (h - chh) // 4
    offs = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs), (0, 2 * hs), (4 * ws, 2 * hs),
            (2 * ws, 4 * hs), (2 * ws, 0), (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)]
    x, y = random.choice(offs)
    crop(r, x, y, x + cw, y + chh)


def flip(r):
    if np.random.rand() < 0.5:
        for img in r['imgs']:
            mmcv.imflip_(img, 'horizontal')


def format_nchw(r):
    imgs = np.array(r['imgs']).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(imgs))


def test_pipeline(filename):
    r = {'filename': filename, 'start_index': 0}
    decord_init(r)
    sample_frames(r, True)
    decord_decode(r)
    resize(r, (np.inf, 256))
    center_crop(r, 224)
    return format_nchw(r)


def train_pipeline(filename):
    r = {'filename': filename, 'start_index': 0}
    decord_init(r)
    sample_frames(r, False)
    decord_decode(r)
    resize(r, (np.inf, 256))
    random_resized_crop(r)
    multi_scale_crop(r)
    resize(r, (224, 224), keep_ratio=False)
    for i, img in enumerate(r['imgs']):  # crops are views; flip writes into its own copy
        r['imgs'][i] = np.ascontiguousarray(img)
    flip(r)
    return format_nchw(r)


class Clips(Dataset):
    def __init__(self, video, n, fn):
        self.video, self.n, self.fn = video, n, fn

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.fn(self.video)


def busy_cpu_seconds():
    """CPU time of the whole machine so far (all cores, all but idle and I/O wait, from
    /proc/stat): the per-core measure, the same for both sides."""
    with open('/proc/stat') as f:
        v = [float(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / 100.0


def main():
    video = sys.argv[1]
    clips = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    workers = [int(w) for w in sys.argv[3:]] or [1, 2]
    cv2.setNumThreads(0)
    out = test_pipeline(video)
    assert tuple(out.shape) == (8, 3, 224, 224)
    def decode_only(filename):
        r = {'filename': filename, 'start_index': 0}
        decord_init(r)
        sample_frames(r, True)
        decord_decode(r)
        return np.array(r['imgs'])

    for name, fn in (('decode', decode_only), ('test', test_pipeline), ('train', train_pipeline)):
        for w in workers:
            loader = DataLoader(Clips(video, clips, fn), batch_size=1, num_workers=w, persistent_workers=True,
                                collate_fn=lambda b: b, multiprocessing_context='fork')
            for _ in loader:
                pass
            t, busy = time.perf_counter(), busy_cpu_seconds()
            n = sum(len(b) for b in loader)
            s = time.perf_counter() - t
            cpu = busy_cpu_seconds() - busy
            print(f'{name:<6} pipeline, {w} worker(s): {n} clips in {s:.2f} s = {n / s:.1f} clips/s; '
                  f'{cpu:.2f} busy CPU-s = {n / cpu:.1f} clips per CPU-s')
    transforms_only(video, clips)


def transforms_only(video, clips):
    """The spatial part alone, on 8 frames decoded once, in this process."""
    vr = decord.VideoReader(video, num_threads=1)
    n = len(vr)
    inds = ((2 * np.arange(8) + 1) * n) // 16
    frames = list(vr.get_batch(inds).asnumpy())

    def test(r):
        resize(r, (np.inf, 256))
        center_crop(r, 224)
        return format_nchw(r)

    def train(r):
        resize(r, (np.inf, 256))
        random_resized_crop(r)
        multi_scale_crop(r)
        resize(r, (224, 224), keep_ratio=False)
        for i, img in enumerate(r['imgs']):
            r['imgs'][i] = np.ascontiguousarray(img)
        flip(r)
        return format_nchw(r)

    for name, fn in (('test', test), ('train', train)):
        times = []
        for _ in range(clips):
            t = time.perf_counter()
            fn({'imgs': [f.copy() for f in frames], 'img_shape': frames[0].shape[:2]})
            times.append(time.perf_counter() - t)
        median = sorted(times)[len(times) // 2]
        print(f'{name:<6} transforms only (8 decoded frames, 1 thread): median {median * 1e3:.2f} ms per clip')


if __name__ == '__main__':
    main()
