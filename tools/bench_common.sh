# Sourced by every benchmark script (tools/bench_recognition.sh, projects/*/tools/bench.sh)
# after it sets ROOT: the shared settings, helpers, the reference venv and the benchmark
# video, so that each is defined once.
#   KINEMA_CACHE (~/.cache/kinema), KINEMA_REFERENCE_VENV ($KINEMA_CACHE/reference-venv),
#   BENCH_OUT (work_dirs/bench), BENCH_THREADS (all cores)
cd "$ROOT"
CACHE="${KINEMA_CACHE:-$HOME/.cache/kinema}"
REF="${KINEMA_REFERENCE_VENV:-$CACHE/reference-venv}"
OUT="${BENCH_OUT:-work_dirs/bench}"
THREADS="${BENCH_THREADS:-$(nproc)}"
INPUTS="$CACHE/bench"
mkdir -p "$OUT" "$INPUTS"
RESULTS="$OUT/results.txt"
export PATH="$HOME/.cargo/bin:$PATH"
target="$(sed -n 's/^target-dir = "\(.*\)"/\1/p' .cargo/config.toml 2>/dev/null || true)"
target="${CARGO_TARGET_DIR:-${target:-$ROOT/target}}"
PY="$REF/bin/python"

say() { echo "== $*" >&2; }
record() { tee -a "$RESULTS"; }
rss_mb() { echo $(($(cat "$1") / 1024)); }  # `/usr/bin/time -f %M` output file -> MB
ms() { date +%s%N | cut -c1-13; }  # milliseconds since the epoch

if [ ! -x "$PY" ]; then
  say "creating the reference venv in $REF"
  python3 -m venv "$REF"
  # PyPI only: torch 2.13's Linux wheel (CUDA build, runs on CPU) with its dependencies,
  # torchvision 0.28 (its pair, for open_clip), decord 0.6, mmcv-lite 2.1 (brings OpenCV),
  # mmengine 0.10.7.
  "$REF/bin/pip" install --quiet torch==2.13.0 torchvision==0.28.0 timm open_clip_torch decord==0.6.0 \
    mmcv-lite==2.1.0 mmengine==0.10.7 numpy
fi
# MMAction2 1.2.0 without its dependencies (they pin what PyPI no longer builds).
"$PY" -c "import mmaction" 2>/dev/null || "$REF/bin/pip" install --quiet --no-deps mmaction2==1.2.0
if ! command -v ffmpeg >/dev/null 2>&1; then
  say "installing the ffmpeg command line tool (writes the benchmark video)"
  apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi

# A 10 s, 30 fps, 340x256 H.264 video, like a Kinetics clip.
VIDEO="$INPUTS/k400_like_340x256_10s.mp4"
if [ ! -f "$VIDEO" ]; then
  say "writing $VIDEO"
  ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=340x256:rate=30:duration=10 \
    -c:v libx264 -pix_fmt yuv420p "$VIDEO"
fi
