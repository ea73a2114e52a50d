#!/usr/bin/env bash
# Whisper ASR speed, side by side in one run: ws-book (examples/asr_bench.rs: its own KV-cached Whisper, and
# candle-transformers' model as the A/B baseline) and faster-whisper (scripts/bench-asr-faster-whisper.py) on
# the same CTranslate2 weights and clips, 2 threads each, best of REPEAT runs after a warm-up. Not used by CI.
#
# usage: scripts/bench-asr.sh [BIN] [FW_PYTHON]
#   BIN        the asr_bench example binary (default target/release/examples/asr_bench, else target/debug/…)
#   FW_PYTHON  a Python with faster-whisper (default /work/venv-fw/bin/python:
#              python3 -m venv /work/venv-fw && /work/venv-fw/bin/pip install faster-whisper)
# env: WS_BOOK_WHISPER_CACHE (default ~/.cache/ws-book/whisper-test: scripts/fetch-whisper-models.sh),
#      REPEAT (default 3), MODELS (default "tiny.en base"), CLIPS (default en_1 human_jfk), OLD=0 skips the A/B.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  bin=target/release/examples/asr_bench
  [ -x "$bin" ] || bin=target/debug/examples/asr_bench
fi
py=${2:-/work/venv-fw/bin/python}
cache=${WS_BOOK_WHISPER_CACHE:-$HOME/.cache/ws-book/whisper-test}
repeat=${REPEAT:-3}
clips=()
for c in ${CLIPS:-en_1 human_jfk}; do clips+=("tests/fixtures/asr/$c.wav"); done
old=()
[ "${OLD:-1}" = 0 ] && old=(--no-old)
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), bin $bin"
for m in ${MODELS:-tiny.en base}; do
  echo "## $m: ws-book"
  "$bin" "$cache/$m" --repeat "$repeat" "${old[@]}" "${clips[@]}"
  echo "## $m: faster-whisper"
  "$py" scripts/bench-asr-faster-whisper.py "$cache/$m" "${clips[@]}" --threads 2 --repeat "$repeat"
done
echo "# end load $(cut -d' ' -f1-3 /proc/loadavg)"
