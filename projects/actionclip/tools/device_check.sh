#!/usr/bin/env bash
# GPU check, one short run (< 8 minutes on one H100): builds in release against the CUDA
# libtorch, then
#   1. NCCL: `tools/launch` starts one rank per GPU (2 when there are 2 or more, else 1) of
#      a 5-iteration ViT-B/16 training run with `--launcher pytorch` (backend NCCL);
#   2. speed: ViT-B/16 8 frames, batch 16, random weights, training samples/s and inference
#      clips/s in fp32, fp16 (--amp) and bf16, from tools/train and tools/test logs;
#   3. the same model step in PyTorch on the same GPU (tests/reference/bench_gpu_step.py);
# and prints a table. CI has no GPU and never runs this. Needs: set-up done with
# KINEMA_TORCH_VARIANT=cuda (tools/setup.sh), ffmpeg, and for 3. the venv's torch with
# open_clip_torch (KINEMA_REFERENCE_VENV; skipped when absent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
OUT="${DEVICE_CHECK_OUT:-work_dirs/device_check}"
CACHE="${KINEMA_CACHE:-$HOME/.cache/kinema}"
REF="${KINEMA_REFERENCE_VENV:-$CACHE/reference-venv}"
mkdir -p "$OUT"
export KINEMA_TORCH_VARIANT="${KINEMA_TORCH_VARIANT:-cuda}"
tools/setup.sh >&2
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet -p kinema-tools -p kinema-launch
export KINEMA_NO_BUILD=1
nvidia-smi -L
gpus=$(nvidia-smi -L | wc -l)
ranks=$((gpus >= 2 ? 2 : 1))

DATA="$OUT/data"
[ -f "$DATA/train_list.txt" ] ||
  tools/make_synthetic_dataset "$DATA" --classes 8 --videos-per-class 12 --frames 64 --size 340x256 >&2
CONFIG=projects/actionclip/configs/b16_8f.toml
data_opts=(
  "model.pretrained=None" "model.labels_or_label_file=$DATA/label_map.txt"
  "data_root=$DATA" "data_root_val=$DATA"
  "ann_file_train=$DATA/train_list.txt" "ann_file_val=$DATA/val_list.txt" "ann_file_test=$DATA/val_list.txt"
  "train_dataloader.num_workers=8" "test_dataloader.batch_size=16" "test_dataloader.num_workers=8"
)

echo "== 1. NCCL, $ranks rank(s)"
tools/launch --nproc-per-node "$ranks" -- tools/train "$CONFIG" --launcher pytorch --work-dir "$OUT/nccl" \
  --cfg-options "${data_opts[@]}" train_cfg.type=IterBasedTrainLoop train_cfg.max_iters=5 \
  train_dataloader.batch_size=4 default_hooks.logger.interval=1 2>&1 | tail -n 3
grep -h "NCCL\|Nccl" "$OUT"/nccl/*/*.log | head -n 2 || true

# Median "time:" of the last logged iterations of a train or test log.
iter_time() { grep -o "$1.* time: [0-9.]*" "$2" | grep -o "time: [0-9.]*" | tail -n 5 | sort | sed -n 3p | cut -d' ' -f2; }

echo "== 2. Kinema, ViT-B/16 8f, batch 16"
declare -A amp=([fp32]="" [fp16]="--amp" [bf16]="--amp --cfg-options optim_wrapper.dtype=bfloat16")
for dtype in fp32 fp16 bf16; do
  work="$OUT/$dtype"
  # shellcheck disable=SC2086 # amp flags are a list
  tools/train "$CONFIG" --work-dir "$work" --device cuda ${amp[$dtype]} --cfg-options "${data_opts[@]}" \
    train_cfg.type=IterBasedTrainLoop train_cfg.max_iters=30 train_dataloader.batch_size=16 \
    default_hooks.logger.interval=5 default_hooks.checkpoint.interval=30 default_hooks.checkpoint.by_epoch=false \
    > "$work.train.out" 2>&1
  ckpt=$(cat "$work/last_checkpoint")
  tools/test "$CONFIG" --checkpoint "$ckpt" --work-dir "$work" --device cuda --cfg-options "${data_opts[@]}" \
    > "$work.test.out" 2>&1
  t=$(iter_time "(train)" "$work.train.out")
  v=$(iter_time "(test)" "$work.test.out")
  echo "KINEMA_GPU dtype=$dtype train_samples_per_s=$(echo "16 / $t" | bc -l | cut -c1-6) infer_clips_per_s=$(echo "16 / $v" | bc -l | cut -c1-6) (test runs in the checkpoint's fp32)"
done

echo "== 3. PyTorch, the same model step"
if [ -x "$REF/bin/python" ]; then
  "$REF/bin/python" tests/reference/bench_gpu_step.py
else
  echo "no reference venv at $REF: skipped"
fi
