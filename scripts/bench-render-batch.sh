#!/usr/bin/env bash
# Render throughput on the CPU by batch size and worker count, side by side in one run (BENCHMARKS.md
# "Render batches on the CPU"). Random-weight models at the published sizes (t2s-base → s2a-tiny → the
# real-size Vocos, written by the binary: no download), one chapter of CHUNKS paragraphs (one chunk each),
# every configuration rendered from scratch into its own folder, back to back, and the audio compared.
#
# Usage: scripts/bench-render-batch.sh [BIN] [CHUNKS] [WORK_DIR]
#   BIN       ws-book binary (default target/release/ws-book)
#   CHUNKS    paragraphs (default 8)
#   WORK_DIR  scratch folder (default a new temporary one; the models are kept there between runs)
# Configurations: "workers batch" pairs in CONFIGS (default "1 1, 1 auto, 2 4, 2 1").
# Prints one line per configuration: audio seconds, wall seconds, × real time, ratio to the first.
set -euo pipefail

BIN="${1:-target/release/ws-book}"
CHUNKS="${2:-8}"
WORK="${3:-$(mktemp -d)}"
CONFIGS="${CONFIGS:-1 1, 1 auto, 2 4, 2 1}"
mkdir -p "$WORK"
if [[ ! -f "$WORK/models/t2s-base.safetensors" || ! -f "$WORK/models/s2a-tiny.safetensors" ]]; then
  "$BIN" debug random-models --sizes base,tiny "$WORK/models" >/dev/null
fi

project() { # DIR: a project rendering CHUNKS paragraphs with the random models
  local dir="$1"
  mkdir -p "$dir"
  {
    echo "# Chapter"
    for i in $(seq 1 "$CHUNKS"); do
      echo
      echo "Paragraph $i. The narrator reads a sentence of ordinary length, then another one after it."
    done
  } >"$dir/book.md"
  cat >"$dir/project.yaml" <<EOF
title: Batch bench
author: Bench
language: en
manuscripts: [book.md]
engine:
  name: whisperspeech
  models:
    t2s: $WORK/models/t2s-base.safetensors
    s2a: $WORK/models/s2a-tiny.safetensors
    vocos: $WORK/models/vocos/model.safetensors
output:
  formats: [opus]
render:
  seed: 1
  device: cpu
EOF
}

echo "== $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $CHUNKS chunks, binary $BIN"
FIRST=
REF_PCM=
IFS=',' read -ra PAIRS <<<"$CONFIGS"
for pair in "${PAIRS[@]}"; do
  read -r workers batch <<<"$pair"
  dir="$WORK/run-w$workers-b$batch"
  rm -rf "$dir"
  project "$dir"
  json=$(WS_BOOK_HOME="$WORK/home" "$BIN" render "$dir/project.yaml" --workers "$workers" --batch-size "$batch" \
    --progress quiet --json)
  read -r audio wall <<<"$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["audio_seconds"], s["wall_seconds"])' <<<"$json")"
  rtf=$(python3 -c "print(f'{$audio / $wall:.3f}')")
  [[ -z "$FIRST" ]] && FIRST="$rtf"
  ratio=$(python3 -c "print(f'{$rtf / $FIRST:.2f}')")
  pcm=$(ffmpeg -v error -i "$dir"/out/*.opus -f f32le - | sha256sum | cut -c1-16)
  [[ -z "$REF_PCM" ]] && REF_PCM="$pcm"
  same=$([[ "$pcm" == "$REF_PCM" ]] && echo "same audio" || echo "AUDIO DIFFERS")
  printf 'workers %s, batch %-4s: %6.1f s audio in %6.1f s = %s× real time (%s× the first; %s)\n' \
    "$workers" "$batch" "$audio" "$wall" "$rtf" "$ratio" "$same"
done
echo "== done $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
