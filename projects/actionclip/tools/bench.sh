#!/usr/bin/env bash
# `make bench`: Kinema next to the PyTorch / decord / mmcv reference, same machine, same run.
# Prints every measurement and keeps the raw lines in $BENCH_OUT/results.txt (default
# work_dirs/bench). docs/benchmarks.md says what each line means and holds the last results.
#
# The reference side runs in a venv outside the clone ($KINEMA_REFERENCE_VENV, default
# ~/.cache/kinema/reference-venv; created here when missing: torch 2.13 CPU, open_clip_torch,
# decord, mmcv-lite). Inputs are made once under ~/.cache/kinema/bench: a 10 s 340x256 H.264
# video (Kinetics-like) and a random-weight ViT-B/32 ActionCLIP checkpoint (MMAction2 format).
# BENCH_THREADS (default: all cores) sets the torch threads of both sides.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
# shellcheck source=tools/bench_common.sh
source "$ROOT/tools/bench_common.sh"
CKPT="$INPUTS/actionclip_b32_random.pth"
[ -f "$CKPT" ] || "$PY" tests/reference/bench_infer.py make "$CKPT"
LABELS=tests/fixtures/text/label_map_k400.txt

say "building (release)"
cargo build --release --quiet -p kinema-tools --bin infer --bin train --bin make_synthetic_dataset
cargo build --release --quiet -p kinema-data --example bench_pipeline
cargo build --release --quiet -p kinema-text --example tokenize_k400
cargo test --no-run --quiet -p actionclip --test bench 2>/dev/null

{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), threads $THREADS"
  echo "# kinema $(git rev-parse --short HEAD), reference $("$PY" -c 'import torch; print("torch", torch.__version__)')"
} | record

say "1. data pipeline, 96 clips, 1 and 2 workers, the two sides alternating, twice"
for round in 1 2; do
  "$target/release/examples/bench_pipeline" "$VIDEO" 96 1 2 | sed "s/^/KINEMA round $round: /" | record
  OMP_NUM_THREADS=1 "$PY" tests/reference/bench_pipeline.py "$VIDEO" 96 1 2 | sed "s/^/PYTHON round $round: /" | record
done

say "2. encode_video (ViT-B/32, ViT-B/16), with each side's peak resident memory"
for arch in ViT-B/32 ViT-B/16; do
  /usr/bin/time -f "%M" -o "$OUT/rss" "$PY" tests/reference/bench_actionclip.py --arch "${arch/\//-}" \
    --threads "$THREADS" --runs 5 --classes 0 | record
  echo "PYTHON_ENCODE_VIDEO_RSS arch=$arch peak_rss_mb=$(rss_mb "$OUT/rss")" | record
  KINEMA_BENCH_ARCH="$arch" KINEMA_BENCH_RUNS=5 /usr/bin/time -f "%M" -o "$OUT/rss" \
    cargo test --quiet -p actionclip --test bench -- --ignored --nocapture --test-threads 1 bench_encode_video \
    2>/dev/null | grep -o 'RUST_.*' | record
  echo "KINEMA_ENCODE_VIDEO_RSS arch=$arch peak_rss_mb=$(rss_mb "$OUT/rss")" | record
done

say "3. encode_text (400 K400 labels x 1 template)"
"$PY" tests/reference/bench_actionclip.py --arch ViT-B-32 --threads "$THREADS" --runs 1 --classes 400 \
  --templates 1 --labels "$LABELS" | grep TEXT | record
KINEMA_BENCH_CLASSES=400 KINEMA_BENCH_TEMPLATES=1 cargo test --quiet -p actionclip --test bench -- --ignored \
  --nocapture --test-threads 1 bench_prompt_truncation 2>/dev/null | grep -o 'RUST_.*' | record

say "3b. --precision bf16 against fp32 (ViT-B/32 encode_video and 400 labels, agreement on 8 clips)"
grep -o -m1 -w 'avx512_bf16\|amx_bf16' /proc/cpuinfo | sed 's/^/CPU_BF16 /' | record || echo "CPU_BF16 none" | record
KINEMA_BENCH_RUNS=5 cargo test --quiet -p actionclip --test bench -- --ignored --nocapture --test-threads 1 \
  bench_precision_bf16 2>/dev/null | grep -o 'RUST_.*' | record

say "4. zero-shot inference end to end (ViT-B/32, 8 frames, 400 labels, 1 template)"
cat "$CKPT" "$VIDEO" > /dev/null  # both sides read the checkpoint from the page cache
rm -rf "$OUT/text_cache"
for side in kinema python kinema-warm kinema python kinema-warm; do
  infer=("$target/release/infer" "$VIDEO" --checkpoint "$CKPT" --label-file "$LABELS" --template "a video of {}" --json)
  case $side in
    kinema) cmd=("${infer[@]}") ;;
    # The text-feature cache filled by an untimed run first.
    kinema-warm) cmd=("${infer[@]}" --text-cache-dir "$OUT/text_cache")
      [ -d "$OUT/text_cache" ] || "${cmd[@]}" > /dev/null 2>&1 ;;
    python) cmd=("$PY" tests/reference/bench_infer.py run "$CKPT" "$VIDEO" "$LABELS" "a video of {}" --json "$OUT/python_infer.json") ;;
  esac
  start=$(date +%s%N)
  OMP_NUM_THREADS="$THREADS" /usr/bin/time -f "%M" -o "$OUT/$side.rss" "${cmd[@]}" > "$OUT/${side}_infer.out" \
    2> "$OUT/${side}_infer.err"
  end=$(date +%s%N)
  ready=$(sed -n 's/.*model ready in \([0-9.]*\) s.*/ model_ready_s=\1/p' "$OUT/${side}_infer.err")
  echo "INFER side=$side wall_ms=$(((end - start) / 1000000)) peak_rss_mb=$(rss_mb "$OUT/$side.rss")$ready" \
    | record
done
"$PY" - "$OUT/kinema_infer.out" "$OUT/python_infer.json" <<'EOF' | record
import json, sys
a = json.load(open(sys.argv[1]))["scores"]
b = json.load(open(sys.argv[2]))["scores"]
top = lambda s: max(range(len(s)), key=s.__getitem__)
print(f"INFER_SCORES max_abs_diff={max(abs(x - y) for x, y in zip(a, b)):.2e} same_top1={top(a) == top(b)}")
EOF

say "5. training, batch 2 of 8 frames: tiny and ViT-B/32, with each side's peak resident memory"
# Kinema: the whole tools/train loop (loader with 2 workers, hooks, logging; no checkpoint
# and no validation, which the reference does not do either) on synthetic H.264 videos,
# per-iteration times from its scalars.json (window 1), the first two iterations dropped.
# PyTorch: the model step alone (tests/reference/bench_train_step.py).
# The tiny model reads the demo's 64x64 videos (it sees 32x32 frames), B/32 Kinetics-like ones.
[ -f "$INPUTS/train_ds/train_list.txt" ] || "$target/release/make_synthetic_dataset" "$INPUTS/train_ds" \
  --classes 8 --videos-per-class 4 --frames 300 --size 340x256 >&2
[ -f "$INPUTS/train_ds_64/train_list.txt" ] || "$target/release/make_synthetic_dataset" "$INPUTS/train_ds_64" \
  --classes 8 --videos-per-class 12 >&2
for arch in tiny ViT-B-32; do
  DS="$INPUTS/train_ds"
  if [ "$arch" = tiny ]; then
    DS="$INPUTS/train_ds_64"
    config=projects/actionclip/configs/tiny_synthetic.toml
    extra=(train_cfg.max_epochs=2 model.loss.type=CrossEntropyLoss model.loss.loss_weight=0.5)
  else
    config=projects/actionclip/configs/b32_8f.toml
    extra=(train_cfg.max_epochs=1 model.pretrained=None)
  fi
  work="$OUT/train_$arch"
  rm -rf "$work"
  # Where the CPU time goes, when `perf` works here: sampled at 199 Hz (about 1 % overhead).
  profile=()
  if command -v perf >/dev/null 2>&1 && perf record -q -o /dev/null true >/dev/null 2>&1; then
    profile=(perf record -q -F 199 -o "$OUT/perf_$arch.data" --)
  fi
  /usr/bin/time -f "%M" -o "$OUT/rss" "${profile[@]}" "$target/release/train" "$config" --work-dir "$work" --device cpu \
    --cfg-options data_root="$DS" data_root_val="$DS" ann_file_train="$DS/train_list.txt" \
    ann_file_val="$DS/val_list.txt" train_dataloader.batch_size=2 train_dataloader.num_workers=2 \
    train_cfg.val_begin=1000 default_hooks.checkpoint.interval=1000 default_hooks.checkpoint.save_last=false \
    default_hooks.logger.interval=1 log_processor.window_size=1 "${extra[@]}" \
    > "$OUT/train_$arch.log" 2>&1
  "$PY" - "$(ls "$work"/*/vis_data/scalars.json)" "$arch" "$(rss_mb "$OUT/rss")" <<'EOF' | record
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"data_time"' in l][2:]
t = [r["time"] for r in rows]
d = [r["data_time"] for r in rows]
print(f"KINEMA_TRAIN_STEP arch={sys.argv[2]} batch=2 iters={len(t)} median_s={statistics.median(t):.3f} "
      f"min_s={min(t):.3f} data_wait_share={sum(d) / sum(t) * 100:.2f}% peak_rss_mb={sys.argv[3]}")
EOF
  if [ ${#profile[@]} -gt 0 ]; then
    perf report -i "$OUT/perf_$arch.data" --sort comm,dso --stdio > "$OUT/perf_$arch.txt" 2>/dev/null
    "$PY" - "$arch" "$OUT/perf_$arch.txt" <<'EOF' | record
import sys
share = {"libtorch": 0.0, "os_kernel": 0.0, "kinema_and_libc": 0.0, "loader_threads": 0.0}
for line in open(sys.argv[2]):
    parts = line.split()
    if len(parts) < 3 or not parts[0].endswith("%"):
        continue
    pct, comm, dso = float(parts[0][:-1]), parts[1], " ".join(parts[2:])
    if comm.startswith("kinema-data"):
        key = "loader_threads"
    elif any(k in dso for k in ("libtorch", "libgomp", "libc10", "JIT", "mkl")):
        key = "libtorch"
    elif "kernel" in dso:
        key = "os_kernel"
    else:
        key = "kinema_and_libc"
    share[key] += pct
print(f"KINEMA_TRAIN_PROFILE arch={sys.argv[1]} " + " ".join(f"{k}={v:.1f}%" for k, v in share.items()))
EOF
  fi
  "$PY" tests/reference/bench_train_step.py --arch "$arch" --batch 2 --threads "$THREADS" \
    --iters "$([ "$arch" = tiny ] && echo 30 || echo 6)" | record
done

say "6. tokenizer: 400 K400 labels x 16 templates"
"$target/release/examples/tokenize_k400" "$LABELS" | sed 's/^/KINEMA_TOKENIZE /' | record
PYTHONPATH=tests/reference "$PY" - "$LABELS" <<'EOF' | record
import sys, time
t = time.perf_counter()
import open_clip
from bench_actionclip import TEMPLATES
labels = [l.strip() for l in open(sys.argv[1]) if l.strip()]
t1 = time.perf_counter()
open_clip.tokenize([x.format(c) for x in TEMPLATES for c in labels])
print(f"PYTHON_TOKENIZE 6400 prompts: {(time.perf_counter() - t1) * 1e3:.1f} ms (import {(t1 - t) * 1e3:.0f} ms)")
EOF
say "results in $RESULTS"
