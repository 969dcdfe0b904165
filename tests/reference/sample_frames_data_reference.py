"""Reference frame indices for Kinema's SampleFrames tests (cases the upstream fixture
set in shared/fixtures/upstream/sampling does not cover).

mmaction2 is not installable from PyPI in a usable form, so this script re-derives
MMAction2's `SampleFrames` index arithmetic (mmaction2 4d6c9347,
mmaction/datasets/transforms/loading.py) with numpy, written independently from the
documented formulas:

* ori_clip_len = clip_len * frame_interval (train) or (clip_len - 1) * frame_interval + 1
  (test); with target_fps: max(1, clip_len * frame_interval * fps / target_fps).
* test offsets: clip_len == 1 -> i * N/n + N/(2n) (twice_sample appends i * N/n);
  clip_len > 1 -> np.round(i * max(N - ori, 0) / (n - 1)) for i < n (2n with
  twice_sample), floor instead of round with target_fps, max_offset // 2 when n == 1.
* indices: offset + j * frame_interval (or + int32(linspace(0, ori - 1, clip_len)) with
  target_fps), then 'loop' (mod N) or 'repeat_last', + start_index, int32 cast.

Train mode is random: for those cases the script records, per position, the smallest
and largest index the formula can produce (by enumerating every draw where that is
small, else from the formula's bounds).

Run: python tests/reference/sample_frames_data_reference.py
Writes tests/fixtures/sampling/sample_frames_extra.json.
"""
import itertools
import json
import os

import numpy as np


def ori_len(p, fps):
    if p.get('target_fps') is not None:
        ratio = fps / p['target_fps'] if fps else 1.0
        return max(1.0, p['clip_len'] * p['frame_interval'] * ratio)
    if p['test_mode']:
        return (p['clip_len'] - 1) * p['frame_interval'] + 1
    return p['clip_len'] * p['frame_interval']


def test_offsets(p, n_frames, ori):
    n = p['num_clips']
    if p['clip_len'] == 1:
        avg = n_frames / float(n)
        base = np.arange(n) * avg
        offs = base + avg / 2.0
        if p['twice_sample']:
            offs = np.concatenate([offs, base])
        return offs
    max_off = max(n_frames - ori, 0)
    count = 2 * n if p['twice_sample'] else n
    if count > 1:
        if p.get('target_fps') is not None:
            return np.arange(count) * np.floor(max_off / float(n - 1))
        return np.round(np.arange(count) * (max_off / float(n - 1)))
    return np.array([max_off // 2])


def finish(p, offsets, n_frames, ori):
    if p.get('target_fps'):
        inds = offsets[:, None] + np.linspace(0, ori - 1, p['clip_len']).astype(np.int32)
    else:
        inds = offsets[:, None] + np.arange(p['clip_len'])[None, :] * p['frame_interval']
    inds = inds.reshape((-1, p['clip_len']))
    if p['out_of_bound_opt'] == 'loop':
        inds = np.mod(inds, n_frames)
    else:
        safe = inds < n_frames
        last = np.max(safe * inds, axis=1)
        inds = safe * inds + ((1 - safe).T * last).T
    return (np.concatenate(inds) + p['start_index']).astype(np.int32).tolist()


def base_params(**kw):
    p = dict(clip_len=1, frame_interval=1, num_clips=1, test_mode=True, twice_sample=False,
             out_of_bound_opt='loop', start_index=0, keep_tail_frames=False, target_fps=None)
    p.update(kw)
    return p


TEST_CASES = [
    (base_params(clip_len=32, frame_interval=2, num_clips=1), 300, None),
    (base_params(clip_len=32, frame_interval=2, num_clips=1), 40, None),
    (base_params(clip_len=16, frame_interval=4, num_clips=10), 300, None),
    (base_params(clip_len=8, frame_interval=8, num_clips=3), 50, None),
    (base_params(clip_len=8, frame_interval=8, num_clips=3, out_of_bound_opt='repeat_last'), 50, None),
    (base_params(clip_len=8, frame_interval=8, num_clips=1, out_of_bound_opt='repeat_last'), 20, None),
    (base_params(clip_len=4, frame_interval=3, num_clips=3, twice_sample=True), 101, None),
    (base_params(clip_len=1, num_clips=8, twice_sample=True), 100, None),
    (base_params(clip_len=1, num_clips=8, twice_sample=True, start_index=1), 37, None),
    (base_params(clip_len=2, frame_interval=5, num_clips=5, start_index=1), 33, None),
    (base_params(clip_len=8, frame_interval=2, num_clips=2, target_fps=15), 120, 30.0),
    (base_params(clip_len=8, frame_interval=1, num_clips=3, target_fps=30), 100, 25.0),
    (base_params(clip_len=3, frame_interval=1, num_clips=4), 2, None),
]


def train_range(p, n_frames, fps):
    """Every index sequence the train formula can produce, as per-position min/max."""
    ori = ori_len(p, fps)
    n = p['num_clips']
    if p['keep_tail_frames']:
        avg = (n_frames - ori + 1) / float(n)
        # offset_i = int(i*avg + U[0, avg)) ranges over [int(i*avg), int((i+1)*avg - tiny)]
        lo = np.array([int(i * avg) for i in range(n)], dtype=np.float64)
        hi = np.array([int(np.nextafter((i + 1) * avg, 0)) for i in range(n)], dtype=np.float64)
        return finish(p, lo, n_frames, ori), finish(p, hi, n_frames, ori), 'keep_tail'
    avg = (n_frames - ori + 1) // n
    if avg > 0:
        lo = np.arange(n) * avg
        hi = lo + avg - 1
        return finish(p, lo, n_frames, ori), finish(p, hi, n_frames, ori), 'avg'
    if n_frames > max(n, ori):
        m = int(n_frames - ori + 1)
        outs = [finish(p, np.sort(np.array(c)), n_frames, ori) for c in itertools.product(range(m), repeat=n)]
        arr = np.array(outs)
        return arr.min(0).tolist(), arr.max(0).tolist(), 'sorted_randint'
    offs = np.around(np.arange(n) * ((n_frames - ori + 1.0) / n)) if avg == 0 else np.zeros(n)
    out = finish(p, offs, n_frames, ori)
    return out, out, 'deterministic'


TRAIN_CASES = [
    (base_params(test_mode=False, clip_len=32, frame_interval=2, num_clips=1), 300, None),
    (base_params(test_mode=False, clip_len=8, frame_interval=4, num_clips=2), 100, None),
    (base_params(test_mode=False, clip_len=4, frame_interval=2, num_clips=3), 10, None),
    (base_params(test_mode=False, clip_len=4, frame_interval=2, num_clips=2), 7, None),
    (base_params(test_mode=False, clip_len=8, frame_interval=8, num_clips=1, out_of_bound_opt='repeat_last'), 20, None),
    (base_params(test_mode=False, clip_len=4, frame_interval=1, num_clips=3), 5, None),
    (base_params(test_mode=False, clip_len=1, num_clips=8, keep_tail_frames=True), 30, None),
    (base_params(test_mode=False, clip_len=1, num_clips=8, start_index=1), 300, None),
]


def main():
    out = {'source': 'numpy re-derivation of mmaction2 4d6c9347 SampleFrames (see docstring)',
           'numpy': np.__version__, 'test': [], 'train': []}
    for p, n_frames, fps in TEST_CASES:
        ori = ori_len(p, fps)
        out['test'].append({'params': p, 'total_frames': n_frames, 'avg_fps': fps,
                            'indices': finish(p, test_offsets(p, n_frames, ori), n_frames, ori)})
    for p, n_frames, fps in TRAIN_CASES:
        lo, hi, rule = train_range(p, n_frames, fps)
        out['train'].append({'params': p, 'total_frames': n_frames, 'avg_fps': fps,
                             'min': lo, 'max': hi, 'rule': rule})
    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(here, '..', 'fixtures', 'sampling', 'sample_frames_extra.json')
    with open(dst, 'w') as f:
        json.dump(out, f, indent=1)
    print('wrote', dst)


if __name__ == '__main__':
    main()
