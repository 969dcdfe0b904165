#!/usr/bin/env bash
# Part of `make bench`: TSN-R50 in Kinema next to MMAction2 1.2.0, same machine, same run.
#   1. training step, batch 2 x 8 segments at 224 (the TSN 1x1x8 config): Kinema's whole
#      tools/train loop (loader with 2 workers and the config's train pipeline, hooks,
#      logging; per-iteration times from scalars.json, the first two dropped) against
#      MMAction2's step alone on ready-made tensors (tests/reference/bench_tsn.py),
#   2. the TSN 1x1x3 config's full test protocol (25 clips x TenCrop = 250 views) of one
#      10 s 340x256 H.264 video: the whole tools/test process against the whole Python
#      process (import, model, pipeline, model run), and the scores of both.
# Each with the peak resident memory of each side. Raw lines go to $BENCH_OUT/results.txt
# (default work_dirs/bench); docs/benchmarks.md holds the last results. BENCH_ONLY=train or
# BENCH_ONLY=test runs one of the two.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/bench_common.sh
source "$ROOT/tools/bench_common.sh"
CKPT="$INPUTS/tsn_r50_random.pth"
[ -f "$CKPT" ] || "$PY" tests/reference/bench_tsn.py make "$CKPT"

say "building (release)"
cargo build --release --quiet -p kinema-tools --bin train --bin test --bin make_synthetic_dataset
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), threads $THREADS"
  echo "# kinema $(git rev-parse --short HEAD), reference $("$PY" -c 'import torch, mmaction; print("torch", torch.__version__, "mmaction2", mmaction.__version__)')"
} | record

ONLY="${BENCH_ONLY:-}"
if [ "$ONLY" != test ]; then
say "1. TSN-R50 training step, batch 2 x 8 segments"
DS="$INPUTS/train_ds"
[ -f "$DS/train_list.txt" ] || "$target/release/make_synthetic_dataset" "$DS" --classes 8 --videos-per-class 4 \
  --frames 300 --size 340x256 >&2
TSN8=configs/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.toml
work="$OUT/train_tsn"
rm -rf "$work"
OMP_NUM_THREADS="$THREADS" /usr/bin/time -f "%M" -o "$OUT/rss" "$target/release/train" "$TSN8" --work-dir "$work" \
  --device cpu --cfg-options model.backbone.pretrained=None data_root="$DS" data_root_val="$DS" \
  ann_file_train="$DS/train_list.txt" ann_file_val="$DS/val_list.txt" train_dataloader.batch_size=2 \
  train_dataloader.num_workers=2 train_cfg.max_epochs=1 train_cfg.val_begin=1000 \
  default_hooks.checkpoint.interval=1000 default_hooks.checkpoint.save_last=false default_hooks.logger.interval=1 \
  log_processor.window_size=1 > "$OUT/train_tsn.log" 2>&1
"$PY" - "$(ls "$work"/*/vis_data/scalars.json)" "$(rss_mb "$OUT/rss")" <<'PY' | record
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"data_time"' in l][2:]
t = [r["time"] for r in rows]
d = [r["data_time"] for r in rows]
print(f"KINEMA_TSN_TRAIN_STEP batch=2 segs=8 iters={len(t)} median_s={statistics.median(t):.3f} "
      f"min_s={min(t):.3f} data_wait_share={sum(d) / sum(t) * 100:.2f}% peak_rss_mb={sys.argv[2]}")
PY
OMP_NUM_THREADS="$THREADS" "$PY" tests/reference/bench_tsn.py train-step --batch 2 --segs 8 --threads "$THREADS" \
  --iters 6 | record
fi

[ "$ONLY" = train ] && exit 0
say "2. TSN 25x10 test of one 10 s 340x256 video"
echo "$VIDEO 0" > "$OUT/tsn_test_list.txt"
TSN3=configs/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.toml
cat "$CKPT" "$VIDEO" > /dev/null  # both sides read the inputs from the page cache
for side in kinema python kinema python; do
  start=$(ms)
  if [ $side = kinema ]; then
    OMP_NUM_THREADS="$THREADS" /usr/bin/time -f "%M" -o "$OUT/rss" "$target/release/test" "$TSN3" \
      --checkpoint "$CKPT" --work-dir "$OUT/test_tsn" --device cpu --dump "$OUT/kinema_tsn_scores.json" \
      --cfg-options data_root_val=/ ann_file_val="$OUT/tsn_test_list.txt" test_dataloader.num_workers=1 \
      > "$OUT/test_tsn.log" 2>&1
    line="KINEMA_TSN_TEST views=250"
  else
    line=$(OMP_NUM_THREADS="$THREADS" /usr/bin/time -f "%M" -o "$OUT/rss" "$PY" tests/reference/bench_tsn.py test \
      "$CKPT" "$VIDEO" "$OUT/python_tsn_scores.json" --threads "$THREADS" 2>/dev/null | grep '^PYTHON_')
  fi
  wall=$(awk -v a="$start" -v b="$(ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
  echo "$line process_wall_s=$wall peak_rss_mb=$(rss_mb "$OUT/rss")" | record
done
"$PY" - "$OUT/kinema_tsn_scores.json" "$OUT/python_tsn_scores.json" <<'PY' | record
import json, sys
a = json.load(open(sys.argv[1]))[0]["pred_score"]
b = json.load(open(sys.argv[2]))["scores"]
top = lambda s: max(range(len(s)), key=s.__getitem__)
print(f"TSN_TEST_SCORES max_abs_diff={max(abs(x - y) for x, y in zip(a, b)):.2e} same_top1={top(a) == top(b)}")
PY
say "results in $RESULTS"
