#!/usr/bin/env python3
"""Reads Kinema's TensorBoard event files with TensorBoard's own EventAccumulator.

Not run by CI. Usage (reference venv with `tensorboard` installed):

    cargo run -p kinema-logging --example tensorboard_demo -- /tmp/tb-demo
    python tests/reference/check_tensorboard.py /tmp/tb-demo --expect /tmp/tb-demo/expected.json

Prints every scalar and text summary found; with --expect, compares them with a JSON file
{"scalars": [[tag, step, value], ...], "texts": [[tag, step, text], ...]} and exits 1 on any
difference. Exits 1 as well when TensorBoard finds nothing.
"""
import argparse
import json
import math
import sys

from tensorboard.backend.event_processing import event_accumulator


def load(path):
    acc = event_accumulator.EventAccumulator(
        path,
        size_guidance={
            event_accumulator.SCALARS: 0,
            event_accumulator.TENSORS: 0,
        },
    )
    acc.Reload()
    scalars = []
    for tag in acc.Tags()["scalars"]:
        for ev in acc.Scalars(tag):
            scalars.append((tag, ev.step, ev.value))
    texts = []
    for tag in acc.Tags()["tensors"]:
        meta = acc.SummaryMetadata(tag)
        if meta.plugin_data.plugin_name != "text":
            continue
        for ev in acc.Tensors(tag):
            strings = ev.tensor_proto.string_val
            texts.append((tag, ev.step, strings[0].decode("utf-8") if strings else ""))
    return scalars, texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="an event file or a directory of them")
    parser.add_argument("--expect", help="JSON file with the expected scalars and texts")
    args = parser.parse_args()

    scalars, texts = load(args.path)
    for tag, step, value in scalars:
        print(f"scalar {tag} step={step} value={value!r}")
    for tag, step, text in texts:
        print(f"text {tag} step={step} text={text!r}")
    if not scalars and not texts:
        print("FAIL: TensorBoard found no scalars and no text", file=sys.stderr)
        return 1

    if args.expect:
        with open(args.expect, encoding="utf-8") as f:
            expected = json.load(f)
        want_scalars = sorted((t, s, v) for t, s, v in expected.get("scalars", []))
        got_scalars = sorted(scalars)
        problems = []
        if len(want_scalars) != len(got_scalars):
            problems.append(f"{len(got_scalars)} scalars read, {len(want_scalars)} expected")
        for (wt, ws, wv), (gt, gs, gv) in zip(want_scalars, got_scalars):
            if wt != gt or ws != gs or not math.isclose(wv, gv, rel_tol=1e-6, abs_tol=1e-12):
                problems.append(f"scalar mismatch: expected {(wt, ws, wv)}, read {(gt, gs, gv)}")
        want_texts = sorted(tuple(t) for t in expected.get("texts", []))
        if want_texts != sorted(texts):
            problems.append(f"texts differ: expected {want_texts!r}, read {sorted(texts)!r}")
        for p in problems:
            print("FAIL:", p, file=sys.stderr)
        if problems:
            return 1
        print(f"OK: {len(scalars)} scalars and {len(texts)} texts match {args.expect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
