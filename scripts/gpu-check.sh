#!/usr/bin/env bash
# The device check: can this machine's device run ws-book's WhisperSpeech engine exactly, and how fast?
#
# Usage: scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--out DIR] [--bin PATH] [--quick] [-- EXTRA…]
#
#   --device  cuda (default), cuda:N or cpu
#   --out     folder for gpu-check.json, gpu-check.md and the random-weight models (default ./gpu-check)
#   --bin     a prebuilt ws-book binary (a GPU host without a Rust toolchain); default: target/release/ws-book,
#             built here (`cargo build --release`, with `--features cuda` unless --device cpu) when missing
#   --quick   tiny models and short chunks: checks the check itself (CI), not the device
#   EXTRA     passed to `ws-book debug device-check` (--batch N, --tokens N, --chunks N, --t2s-size S, --s2a-size S)
#
# Run from the repository root (the committed parity fixtures are read from tests/fixtures/whisperspeech).
# Downloads nothing: the throughput models are written by the binary with random weights at the published
# sizes (GPU: small T2S and S2A, 10 s chunks; CPU: t2s-base → s2a-tiny, 3 s chunks). It prints the GPU
# (nvidia-smi, when present), runs the parity fixtures on the device in f32 (greedy tokens identical to the
# reference and to the CPU) and, on a GPU, f16/bf16 (teacher-forced logits within 2 % / 6 % of the reference),
# then the whole engine at batch 1 and at its auto batch and T2S/S2A/Vocos alone. Exit 0 when parity holds,
# 1 when it does not, 2 on a usage error. Needs no FFmpeg beyond what the binary itself loads.
set -euo pipefail

DEVICE=cuda
OUT=gpu-check
BIN=
QUICK=()
EXTRA=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE="${2:?--device needs a value}"; shift 2 ;;
    --out) OUT="${2:?--out needs a value}"; shift 2 ;;
    --bin) BIN="${2:?--bin needs a value}"; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  cpu|cuda|cuda:[0-9]*) ;;
  *) echo "gpu-check: --device must be cuda, cuda:N or cpu (got '$DEVICE')" >&2; exit 2 ;;
esac
if [[ ! -d tests/fixtures/whisperspeech ]]; then
  echo "gpu-check: run from the repository root (tests/fixtures/whisperspeech not found in $PWD)" >&2
  exit 2
fi

if [[ -z "$BIN" ]]; then
  BIN=target/release/ws-book
  if [[ ! -x "$BIN" ]]; then
    FEATURES=()
    [[ "$DEVICE" != cpu ]] && FEATURES=(--features cuda)
    echo "gpu-check: building $BIN (cargo build --release ${FEATURES[*]})" >&2
    cargo build --release --locked "${FEATURES[@]}" --bin ws-book
  fi
fi
if [[ ! -x "$BIN" ]]; then
  echo "gpu-check: $BIN is not an executable ws-book binary" >&2
  exit 2
fi

mkdir -p "$OUT"
echo "== gpu-check: device $DEVICE, binary $BIN, $(date -u +%FT%TZ)"
if [[ "$DEVICE" != cpu ]] && command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.free --format=csv | tee "$OUT/gpu.txt"
elif [[ "$DEVICE" == cpu ]]; then
  { nproc; grep -m1 'model name' /proc/cpuinfo || true; } | tee "$OUT/cpu.txt"
fi

START=$(date +%s)
set +e
"$BIN" debug device-check --device "$DEVICE" --out "$OUT" "${QUICK[@]}" "${EXTRA[@]}"
RC=$?
set -e
echo "== gpu-check: exit $RC after $(( $(date +%s) - START )) s; report in $OUT/gpu-check.md and $OUT/gpu-check.json"
exit "$RC"
