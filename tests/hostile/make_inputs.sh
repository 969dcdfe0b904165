#!/usr/bin/env bash
# Writes the hostile inputs of tests/hostile/cases.toml into OUT (made from scratch or from
# the repository's small fixtures, so no binary blob is committed):
#   tests/hostile/make_inputs.sh OUT
set -euo pipefail
OUT="$1"
FIX="$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)"
mkdir -p "$OUT"
cd "$OUT"

# Paths that are not regular files.
rm -f pipe.toml pipe.txt loop_a.toml loop_b.toml dangling.pth
mkfifo pipe.toml pipe.txt
ln -s loop_b.toml loop_a.toml
ln -s loop_a.toml loop_b.toml
ln -s gone.pth dangling.pth
mkdir -p folder.toml folder.pth
: > empty.toml

# Pickles: nested 1,000,000 deep (2 MB), and one that would run a shell command.
{ printf '\x80\x02'; head -c 1000000 /dev/zero | tr '\0' ']'; head -c 999999 /dev/zero | tr '\0' 'a'; printf '.'; } > deep.pkl
cp deep.pkl deep.pth
# A torch.save zip archive whose data.pkl would call os.system("touch OUT/pwned") when
# unpickled by Python (standard-library zipfile, stored entries as torch.save writes).
python3 - "$OUT" <<'PY'
import sys, zipfile
out = sys.argv[1]
command = f"touch {out}/pwned".encode()
payload = b"\x80\x02cos\nsystem\n(X" + len(command).to_bytes(4, "little") + command + b"tR."
with zipfile.ZipFile(f"{out}/evil.pth", "w", zipfile.ZIP_STORED) as z:
    z.writestr("evil/data.pkl", payload)
    z.writestr("evil/byteorder", "little")
    z.writestr("evil/version", "3\n")
PY
# A real checkpoint cut short, and garbage with a checkpoint's name.
head -c 3000 "$FIX/checkpoint/mmengine_ckpt.pth" > truncated.pth
head -c 4096 /dev/urandom > random.pth

# Videos: cut short, and text named .mp4, in an annotation list next to good ones.
head -c 9000 "$FIX/video/gop_bframes.mp4" > truncated.mp4
printf 'not a video\n' > text.mp4

# Configs: references 10,000 deep, references that fan out 4-fold over 40 levels, a TOML
# table nested 5,000 deep, an unknown key one letter off at depth 4.
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "v%d = \"${v%d}\"\n", i, i + 1; print "v10000 = 1"; print "depth = \"${v0}\"" }' > deep_refs.toml
awk 'BEGIN { for (i = 0; i < 40; i++) { n = i + 1; printf "f%d = \"${f%d}${f%d}${f%d}${f%d}\"\n", i, n, n, n, n }; print "f40 = \"ab\""; print "experiment_name = \"${f0}\"" }' > fan_refs.toml
awk 'BEGIN { printf "x = "; for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; print "" }' > deep_table.toml
# --cfg-options values: 20 KB of brackets, and one missing bracket.
head -c 20000 /dev/zero | tr '\0' '[' > brackets.txt

# Configs over the tiny TSN config the test writes into OUT first: a value set through a
# reference in a child file; an annotation list with two broken videos first.
printf '_base_ = "tiny_tsn_2.toml"\nbase_lr = 0.01\noptim_wrapper = { optimizer = { type = "SGD", lr = "${base_lr}", momentum = 0.9 } }\n' > mid_ref.toml
printf '_base_ = "mid_ref.toml"\nbase_lr = "fast"\n' > child_ref.toml
{ printf '%s 0\n%s 1\n' "$OUT/truncated.mp4" "$OUT/text.mp4"; head -n 4 data/train_list.txt 2>/dev/null || true; } > with_broken.txt
