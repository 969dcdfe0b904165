#!/usr/bin/env bash
# `make bench`, part 2: zero-shot at video scale next to the PyTorch reference loops of
# tests/reference/bench_long_video.py (decord and torchcodec), same machine, same run.
#   1. a 10-minute 340x256 H.264 video, ViT-B/32 8 frames, --sample-fps 4, stride 4
#   2. many short videos (3 s each), one clip each
# Raw lines go to $BENCH_OUT/results.txt; docs/benchmarks.md holds the last results.
# The reference runs BENCH_REF_WINDOWS windows (default 40) and BENCH_REF_VIDEOS videos
# (default 40) and reports its rate: per window and per clip it does the same work each time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=tools/bench_common.sh
source "$ROOT/tools/bench_common.sh"
CKPT="$INPUTS/actionclip_b32_random.pth"
[ -f "$CKPT" ] || "$PY" tests/reference/bench_infer.py make "$CKPT"
LABELS=tests/fixtures/text/label_map_k400.txt
REF_WINDOWS="${BENCH_REF_WINDOWS:-40}"
REF_VIDEOS="${BENCH_REF_VIDEOS:-40}"
MANY="${BENCH_MANY:-200}"
"$PY" -c "import torchcodec" 2>/dev/null || {
  say "installing torchcodec 0.17 (needs Debian's libavdevice59 and libavfilter8)"
  apt-get install -y -qq --no-install-recommends libavdevice59 libavfilter8 >/dev/null
  "$REF/bin/pip" install --quiet torchcodec==0.17.0
}
LONG="$INPUTS/long_340x256_10min.mp4"
[ -f "$LONG" ] || ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=340x256:rate=30:duration=600 \
  -c:v libx264 -pix_fmt yuv420p "$LONG"
SHORT="$INPUTS/short_3s"
if [ ! -f "$SHORT/list.txt" ]; then
  mkdir -p "$SHORT"
  ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=340x256:rate=30:duration=600 -c:v libx264 \
    -pix_fmt yuv420p -force_key_frames "expr:gte(t,n_forced*3)" -f segment -segment_time 3 \
    -reset_timestamps 1 "$SHORT/clip_%03d.mp4"
  ls "$SHORT"/clip_*.mp4 | sed 's/$/ 0/' > "$SHORT/list.txt"
fi
cargo build --release --quiet -p kinema-tools --bin infer
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), threads $THREADS"
  echo "# kinema $(git rev-parse --short HEAD), reference $("$PY" -c 'import torch, torchcodec; print("torch", torch.__version__, "torchcodec", torchcodec.__version__)')"
} | record
infer=("$target/release/infer" --checkpoint "$CKPT" --label-file "$LABELS" --template "a video of {}")

say "7. long video timeline (10 min, 18,000 frames)"
start=$(ms)
OMP_NUM_THREADS="$THREADS" "${infer[@]}" "$LONG" --sample-fps 4 --stride 4 --json --all-scores \
  > "$OUT/kinema_timeline.json" 2> "$OUT/kinema_timeline.err"
end=$(ms)
"$PY" - "$OUT/kinema_timeline.json" $((end - start)) <<'EOF' | record
import json, sys
d = json.load(open(sys.argv[1])); s = int(sys.argv[2]) / 1e3; n = len(d["windows"])
print(f"KINEMA_TIMELINE windows={n} seconds={s:.1f} windows_per_s={n / s:.3f} realtime_factor={600 / s:.2f} "
      f"frames_encoded={d['stats']['frames_encoded']} frame_interval={d['frame_interval']}")
EOF
for dec in decord torchcodec; do
  BENCH_THREADS="$THREADS" "$PY" tests/reference/bench_long_video.py timeline "$CKPT" "$LONG" "$LABELS" \
    --decoder "$dec" --max-windows "$REF_WINDOWS" --json "$OUT/py_timeline_$dec.json" 2>/dev/null | grep PY_ | record
done
"$PY" - "$OUT/kinema_timeline.json" "$OUT/py_timeline_decord.json" "$OUT/py_timeline_torchcodec.json" <<'EOF' | record
import json, sys
k = json.load(open(sys.argv[1]))["windows"]
for path in sys.argv[2:]:
    p = json.load(open(path))
    top = lambda s: max(range(len(s)), key=s.__getitem__)
    same = all(a["frame_inds"] == b["frame_inds"] and top(a["scores"]) == top(b["scores"]) for a, b in zip(k, p))
    diff = max(abs(x - y) for a, b in zip(k, p) for x, y in zip(a["scores"], b["scores"]))
    print(f"TIMELINE_AGREEMENT reference={path.split('_')[-1][:-5]} windows={len(p)} same_frames_and_top1={same} max_abs_diff={diff:.2e}")
EOF

say "8. many short videos (3 s each, one 8-frame clip each)"
head -n "$MANY" "$SHORT/list.txt" > "$OUT/many_list.txt"
start=$(ms)
OMP_NUM_THREADS="$THREADS" "${infer[@]}" --list "$OUT/many_list.txt" --out "$OUT/kinema_many.jsonl" --all-scores \
  2> "$OUT/kinema_many.err"
end=$(ms)
echo "KINEMA_MANY videos=$MANY seconds=$(((end - start) / 1000)) clips_per_s=$(echo "scale=3; $MANY * 1000 / ($end - $start)" | bc)" | record
head -n "$REF_VIDEOS" "$SHORT/list.txt" > "$OUT/ref_list.txt"
for dec in decord torchcodec; do
  BENCH_THREADS="$THREADS" "$PY" tests/reference/bench_long_video.py many "$CKPT" "$OUT/ref_list.txt" "$LABELS" \
    --decoder "$dec" --json "$OUT/py_many_$dec.json" 2>/dev/null | grep PY_ | record
done
"$PY" - "$OUT/kinema_many.jsonl" "$OUT/py_many_decord.json" <<'EOF' | record
import json, sys
k = {r["video"]: r["scores"] for r in map(json.loads, open(sys.argv[1]))}
p = json.load(open(sys.argv[2]))
diff = max(abs(x - y) for r in p for x, y in zip(r["scores"], k[r["video"]]))
print(f"MANY_AGREEMENT videos={len(p)} max_abs_diff={diff:.2e}")
EOF
say "results in $RESULTS"
