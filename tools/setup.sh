#!/usr/bin/env bash
# Installs what Kinema needs and nothing else; safe to run again (each step checks first).
#   1. Debian packages: FFmpeg dev libraries, pkg-config, clang, gloo headers, python3-venv;
#      with --tests (make test) also slurm-wlm and munge, for the live Slurm cluster of the tests
#      (tests/slurm/cluster.sh).
#   2. PyTorch torch==2.13.0 from PyPI into a venv OUTSIDE the clone, shared by every clone and CI:
#      $KINEMA_TORCH_VENV (default ~/.cache/kinema/torch-2.13.0).
#      KINEMA_TORCH_VARIANT=cpu (slim, no CUDA, ~1.2 GB) | cuda (full wheel, ~4.7 GB) | auto (default:
#      cuda when `nvidia-smi` exists, else cpu).
#   3. .cargo/config.toml (not committed): LIBTORCH for tch, and the cargo target dir in the cache
#      ($KINEMA_TARGET_DIR, default ~/.cache/kinema/target) so fresh clones reuse the libtorch build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KINEMA_CACHE:-$HOME/.cache/kinema}"
VENV="${KINEMA_TORCH_VENV:-$CACHE/torch-2.13.0}"
TARGET_DIR="${KINEMA_TARGET_DIR:-$CACHE/target}"
VARIANT="${KINEMA_TORCH_VARIANT:-auto}"
TORCH_VERSION="2.13.0"
APT_PACKAGES=(libavcodec-dev libavformat-dev libavutil-dev libswscale-dev pkg-config clang libclang-dev
  libgloo-dev python3 python3-venv python3-pip ca-certificates curl)
if [ "${1:-}" = "--tests" ]; then
  APT_PACKAGES+=(slurm-wlm munge ffmpeg)
fi

say() { echo "[setup] $*"; }

# --- 1. Debian packages --------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Rust toolchain ---------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    say "installing Rust with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# --- 2. PyTorch venv ------------------------------------------------------------------------
if [ "$VARIANT" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then VARIANT=cuda; else VARIANT=cpu; fi
fi
torch_dir() { ls -d "$VENV"/lib/python3*/site-packages/torch 2>/dev/null | head -n 1; }
installed_version() {
  local d; d="$(torch_dir)"
  [ -n "$d" ] && [ -f "$d/version.py" ] && sed -n "s/^__version__ = '\(.*\)'/\1/p" "$d/version.py"
}
have_cuda() { local d; d="$(torch_dir)"; [ -n "$d" ] && [ -d "$d/../nvidia/cublas" ]; }

current="$(installed_version || true)"
if [ "${current%%+*}" != "$TORCH_VERSION" ] || { [ "$VARIANT" = cuda ] && ! have_cuda; }; then
  say "installing torch==$TORCH_VERSION ($VARIANT) into $VENV"
  mkdir -p "$CACHE"
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  if [ "$VARIANT" = cuda ]; then
    # The CUDA wheel, plus the CUDA headers the c10d bridge needs to compile NCCL support.
    "$VENV/bin/pip" install -q "torch==$TORCH_VERSION" nvidia-cuda-crt==13.0.88 nvidia-cuda-cccl==13.0.85
  else
    # CPU-only: the wheel without its CUDA dependency packages (see docs/setup notes).
    "$VENV/bin/pip" install -q --no-deps "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  fi
fi
TORCH_DIR="$(torch_dir)"
[ -n "$TORCH_DIR" ] || { echo "[setup] torch not found in $VENV" >&2; exit 1; }

# --- 3. cargo configuration ---------------------------------------------------------------------
mkdir -p "$ROOT/.cargo"
config="# Written by tools/setup.sh for this machine; not committed.
[build]
target-dir = \"$TARGET_DIR\"

[env]
LIBTORCH = \"$TORCH_DIR\"
LIBTORCH_CXX11_ABI = \"1\"
"
if [ ! -f "$ROOT/.cargo/config.toml" ] || [ "$(cat "$ROOT/.cargo/config.toml")" != "$config" ]; then
  printf '%s' "$config" > "$ROOT/.cargo/config.toml"
  say "wrote .cargo/config.toml (libtorch $(installed_version), target dir $TARGET_DIR)"
fi
