#!/usr/bin/env bash
# Installs the Debian packages ws-book needs to build, run and test (used by .ci/run and the README).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
# FFmpeg development libraries (ffmpeg-next), clang + pkg-config (bindgen), espeak-ng (the draft engine),
# ffmpeg (ffprobe, used by the tests to check encodes), chromium + chromium-driver (the review page tests
# drive headless Chromium over WebDriver), postgresql (the PostgreSQL store tests start a
# private server with its initdb/pg_ctl in a temp dir; as root they run it as the package's `postgres` user).
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential pkg-config clang libclang-dev \
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libswresample-dev libswscale-dev libavdevice-dev \
  espeak-ng ffmpeg sqlite3 postgresql chromium chromium-driver >/dev/null
echo "system packages installed"
