#!/usr/bin/env python3
"""Incremental assembly benchmark: a clean render vs the re-render after a one-sentence edit, with the
espeak-ng draft engine, for the 3-chapter demo book, a generated 3-chapter book (≈ 3 min chapters) and a
generated long book, in one run.

usage: bench-incremental.py WS_BOOK_BINARY [--long-chapters N] [--repeat R] [--formats m4b,mp3]

Per book and repeat: copy the project into a fresh temp folder (fresh database, fresh out/), time
`render --engine espeak` (clean), replace one sentence of the middle chapter, time the render again
(edit). Prints each pair and the ratio edit / clean (best of the repeats for each). The times are the
whole command's wall time (process start to exit: plan, sync, synthesis of the changed chunk, assembly,
transcripts, QC of every file). Not used by CI; see BENCHMARKS.md for figures.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "projects", "demo")

WORDS = (
    "harbour lantern gull tide rope anchor window letter island winter kettle morning sailor pebble "
    "compass shutter ember meadow ferry orchard candle bridge valley thunder cottage ladder"
).split()


def long_book(dir_, chapters):
    """A Markdown book of `chapters` chapters, six paragraphs of four distinct sentences each; returns the
    middle chapter's first sentence and its edit."""
    lines = ["---", "title: The Long Shore", "author: Bench", "language: en", "---", ""]
    k = 0
    target = None
    for c in range(chapters):
        lines.append(f"# Chapter {c + 1}: Shore {c + 1}")
        lines.append("")
        for p in range(6):
            sents = []
            for s in range(4):
                w = [WORDS[(k * 7 + i * 3) % len(WORDS)] for i in range(6)]
                k += 1
                sents.append(
                    f"The {w[0]} by the {w[1]} waited for the {w[2]} number {k}, "
                    f"while the {w[3]} and the {w[4]} kept the {w[5]} warm."
                )
                if target is None and c == chapters // 2:
                    target = sents[-1]
            lines.append(" ".join(sents))
            lines.append("")
    with open(os.path.join(dir_, "story.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(dir_, "project.yaml"), "w") as f:
        f.write("title: The Long Shore\nauthor: Bench\nlanguage: en\nmanuscripts: [story.md]\n")
    return target, target.replace("waited for", "looked for")


def render(binary, yaml, formats, env):
    t = time.perf_counter()
    out = subprocess.run(
        [binary, "render", yaml, "--engine", "espeak", "--formats", formats, "--json", "--progress", "quiet"],
        capture_output=True,
        env=env,
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"render failed ({out.returncode}): {out.stderr.decode()}")
    v = json.loads(out.stdout)
    return wall, v


def one(binary, make, formats, home):
    with tempfile.TemporaryDirectory() as d:
        old, new = make(d)
        yaml = os.path.join(d, "project.yaml")
        env = dict(os.environ, WS_BOOK_HOME=home, HF_HUB_OFFLINE="1")
        clean, v1 = render(binary, yaml, formats, env)
        story = os.path.join(d, "story.md")
        text = open(story).read()
        if old not in text:
            sys.exit(f"sentence to edit not found: {old!r}")
        open(story, "w").write(text.replace(old, new, 1))
        edit, v2 = render(binary, yaml, formats, env)
        return clean, edit, v1, v2


def demo(d):
    for n in os.listdir(DEMO):
        p = os.path.join(DEMO, n)
        if os.path.isfile(p):
            shutil.copy(p, d)
    return "She always knew when to write.", "She always knew when a letter was needed."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--long-chapters", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--formats", default="m4b,mp3")
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="ws-book-bench-home-")
    books = [
        ("demo (3 chapters)", demo),
        ("generated (3 chapters)", lambda d: long_book(d, 3)),
        (f"long ({a.long_chapters} chapters)", lambda d: long_book(d, a.long_chapters)),
    ]
    for label, make in books:
        cleans, edits = [], []
        for r in range(a.repeat):
            clean, edit, v1, v2 = one(a.binary, make, a.formats, home)
            cleans.append(clean)
            edits.append(edit)
            print(
                f"{label} run {r + 1}: audio {v1['audio_seconds']:.0f} s, {v1['chunks']['total']} chunks; "
                f"clean {clean:.2f} s; edit {edit:.2f} s ({v2['chunks']['synthesized']} chunk(s) "
                f"synthesised, assembly {json.dumps(v2['assembly'])}); ratio {edit / clean:.3f}",
                flush=True,
            )
        print(f"{label}: best clean {min(cleans):.2f} s, best edit {min(edits):.2f} s, ratio {min(edits) / min(cleans):.3f}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
