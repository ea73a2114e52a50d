#!/usr/bin/env bash
# Build a CUDA 13.0 toolkit folder from PyPI wheels, outside the repository, so that
# `cargo check|build --features cuda` works on a machine without a system toolkit, a GPU or a driver.
#
# Usage: scripts/cuda-toolchain.sh [--check-only] [DIR]
#   DIR defaults to ${WS_BOOK_CUDA_TOOLCHAIN:-$HOME/.cache/ws-book/cuda-toolchain}
#   --check-only  skip the cuBLAS and cuRAND wheels (≈ 0.6 GB): enough for `cargo check --features cuda`
#                 (nvcc compiles candle's kernels in build scripts; nothing is linked), not for a build.
#
# Result:
#   DIR/venv/                       the virtualenv holding the wheels (pip's cache is reused on a rerun);
#                                   DIR/site/ instead where python3 has no venv module
#   DIR/cuda/{bin,include,nvvm,lib} links into the wheels' nvidia/cu13/ folders: the CUDA_ROOT to build with
#   DIR/cuda/lib/stubs/libcuda.so   a link stub of the driver API (the driver's libcuda is not a wheel):
#                                   every entry point returns CUDA_ERROR_STUB_LIBRARY (34); link time only
#   DIR/env.sh                      the environment to `source` (also printed at the end)
#
# Compute capability: CUDA_COMPUTE_CAP (default 90, Hopper: H100/H200) is what candle's build scripts compile
# the kernels for when no GPU can be asked; set it before running the build to target another GPU (80 A100,
# 86 RTX 30xx/A10, 89 L4/L40/RTX 40xx, 90 H100/H200, 100/120 Blackwell). See README "GPU (CUDA) build".
#
# Idempotent: pip skips what is installed; links and the stub are rewritten only when they differ (the stub's
# C source is kept beside it and compared).
# Needs python3 with the venv module, a C compiler (cc) and network access to PyPI.
set -euo pipefail

CHECK_ONLY=0
if [[ "${1:-}" == "--check-only" ]]; then
  CHECK_ONLY=1
  shift
fi
DIR="${1:-${WS_BOOK_CUDA_TOOLCHAIN:-$HOME/.cache/ws-book/cuda-toolchain}}"
PYTHON="${PYTHON:-python3}"
VERSION="13.0.2"
CAP="${CUDA_COMPUTE_CAP:-90}"
EXTRAS="nvcc,crt,nvvm,cudart,nvrtc,cccl"
[[ "$CHECK_ONLY" == 1 ]] || EXTRAS="$EXTRAS,cublas,curand"

log() { echo "cuda-toolchain: $*" >&2; }

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
case "$DIR/" in
  "$(cd "$(dirname "$0")/.." && pwd)/"*) log "refusing to build inside the repository: $DIR"; exit 2 ;;
esac

# 1. the wheels, in a virtualenv of their own (or, where python3 has no venv module, as Debian's without
#    python3-venv, in a plain --target folder: pip allows that even in an externally managed Python)
SPEC="cuda-toolkit[$EXTRAS]==$VERSION"
PIP_FLAGS=(--quiet --disable-pip-version-check)
if [[ -x "$DIR/venv/bin/python" ]] || { [[ ! -d "$DIR/site" ]] && "$PYTHON" -m venv "$DIR/venv" 2>/dev/null; }; then
  log "installing $SPEC into the virtualenv $DIR/venv"
  "$DIR/venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$SPEC"
  SITE="$("$DIR/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
else
  rm -rf "$DIR/venv"
  SITE="$DIR/site"
  if [[ "$(cat "$SITE/.ws-book-spec" 2>/dev/null)" != "$SPEC" ]]; then
    log "no venv module in $PYTHON: installing $SPEC into $SITE"
    "$PYTHON" -m pip install "${PIP_FLAGS[@]}" --upgrade --target "$SITE" "$SPEC"
    echo "$SPEC" >"$SITE/.ws-book-spec"
  fi
fi

# 2. one folder: the wheels all unpack into site-packages/nvidia/cu13/{bin,include,nvvm,lib}
CU13="$SITE/nvidia/cu13"
for sub in bin include nvvm lib; do
  [[ -d "$CU13/$sub" ]] || { log "missing $CU13/$sub (did the wheels change layout?)"; exit 1; }
done
ROOT="$DIR/cuda"
mkdir -p "$ROOT"
for sub in bin include nvvm; do
  [[ "$(readlink "$ROOT/$sub" 2>/dev/null)" == "$CU13/$sub" ]] || ln -sfn "$CU13/$sub" "$ROOT/$sub"
done
# lib is a real folder: the wheels' libraries linked in one by one, plus the unversioned names the linker
# looks for (the wheels ship only libcublas.so.13 …) and the driver stub.
mkdir -p "$ROOT/lib/stubs"
for lib in "$CU13"/lib/*.so*; do
  name="$(basename "$lib")"
  [[ "$(readlink "$ROOT/lib/$name" 2>/dev/null)" == "$lib" ]] || ln -sfn "$lib" "$ROOT/lib/$name"
  base="${name%%.so*}.so"
  [[ "$name" == "$base" || -e "$ROOT/lib/$base" ]] || ln -sfn "$name" "$ROOT/lib/$base"
done
# nvcc looks for lib64/ beside bin/ when it links; the same folder
[[ -e "$ROOT/lib64" ]] || ln -sfn lib "$ROOT/lib64"

# 3. libcuda.so link stub from cuda.h: every function the header declares, returning CUDA_ERROR_STUB_LIBRARY
STUB="$ROOT/lib/stubs/libcuda.so"
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT
# The header maps cuFoo to cuFoo_v2 (…) with #defines unless __CUDA_API_VERSION_INTERNAL is set: both
# preprocessings, so the plain and the versioned names all become entries. A declaration is `CUresult name(`.
for internal in -D__CUDA_API_VERSION_INTERNAL -U__CUDA_API_VERSION_INTERNAL; do
  cc -E -P "$internal" -I"$CU13/include" -x c "$CU13/include/cuda.h" 2>/dev/null \
    | tr '\n' ' ' | grep -oE 'CUresult +[A-Za-z_][A-Za-z0-9_]* *\(' | sed -E 's/CUresult +//; s/ *\(//'
done | sort -u >"$src/names"
n="$(wc -l <"$src/names")"
[[ "$n" -gt 300 ]] || { log "only $n driver entry points found in cuda.h; refusing to write a partial stub"; exit 1; }
{
  echo "/* generated by ws-book scripts/cuda-toolchain.sh from cuda.h $VERSION: link stub, not a driver */"
  echo "#define CUDA_ERROR_STUB_LIBRARY 34"
  while read -r name; do
    echo "int $name(void) { return CUDA_ERROR_STUB_LIBRARY; }"
  done <"$src/names"
} >"$src/libcuda.c"
if [[ ! -f "$STUB" ]] || ! cmp -s "$src/libcuda.c" "$ROOT/lib/stubs/libcuda.c"; then
  log "generating the driver link stub $STUB ($n entry points)"
  cc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$STUB.tmp" "$src/libcuda.c"
  mv "$STUB.tmp" "$STUB"
  cp "$src/libcuda.c" "$ROOT/lib/stubs/libcuda.c"
fi

# 4. the environment
cat >"$DIR/env.sh.tmp" <<EOF
# generated by ws-book scripts/cuda-toolchain.sh: source this before cargo build|check --features cuda
export CUDA_ROOT="$ROOT"
export CUDA_PATH="$ROOT"
export CUDA_HOME="$ROOT"
export CUDA_COMPUTE_CAP="$CAP"
export PATH="$ROOT/bin:\$PATH"
export LIBRARY_PATH="$ROOT/lib:$ROOT/lib/stubs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
# run time on this machine (the stub is never on it: the real libcuda.so.1 is the driver's)
export LD_LIBRARY_PATH="$ROOT/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
mv "$DIR/env.sh.tmp" "$DIR/env.sh"
"$ROOT/bin/nvcc" --version | tail -2 >&2
log "ready; use:"
cat "$DIR/env.sh"
