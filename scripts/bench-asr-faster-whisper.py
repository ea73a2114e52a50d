#!/usr/bin/env python3
"""Time faster-whisper (CTranslate2) on WAV files, for side-by-side comparison
with ws-book's own Whisper transcriber.  Not used by CI.

usage: bench-asr-faster-whisper.py MODEL_DIR WAV [WAV ...]
           [--threads N] [--language xx] [--repeat R] [--json]

MODEL_DIR is a CTranslate2 Whisper folder (e.g. from
scripts/fetch-whisper-models.sh).  Decode options match the ASR reference
fixtures (tests/fixtures/make_asr_references.py): device=cpu,
compute_type=float32, beam_size=1, temperature=0, without_timestamps=True,
condition_on_previous_text=False, vad_filter=False.  The language is taken
from --language, else from the file name prefix (en_1.wav -> en, human_* -> en),
else English for .en models and auto-detection otherwise.

Per file it prints audio seconds, wall seconds (best of --repeat runs, the
model already loaded; includes mel extraction, encoding and decoding) and the
real-time factor RTF = wall / audio (lower is faster), plus the process CPU
seconds of that run (user+sys of all threads; less sensitive to a busy
machine than wall time).  Model load time is reported separately.  Needs a Python environment with faster-whisper, e.g.
python3 -m venv /tmp/venv-fw && /tmp/venv-fw/bin/pip install faster-whisper numpy
"""

import argparse
import json
import os
import re
import sys
import time
import wave
from pathlib import Path

import numpy as np

LANGS = {"en", "pl", "fr", "de", "es", "it", "nl", "pt", "ru", "uk", "cs", "ja", "zh"}


def read_wav(path):
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != 16000:
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit PCM WAV")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def guess_language(path, multilingual, forced):
    if forced:
        return forced
    stem = Path(path).stem.lower()
    if stem.startswith("human"):
        return "en"
    m = re.match(r"([a-z]{2})[_\-.]", stem + "_")
    if m and m.group(1) in LANGS:
        return m.group(1)
    return None if multilingual else "en"


def main():
    ap = argparse.ArgumentParser(description="faster-whisper RTF benchmark")
    ap.add_argument("model_dir")
    ap.add_argument("wavs", nargs="+")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "1")))
    ap.add_argument("--language")
    ap.add_argument("--repeat", type=int, default=1, help="runs per file, best wall time kept")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args()

    import ctranslate2
    from faster_whisper import WhisperModel

    t0 = time.perf_counter()
    model = WhisperModel(args.model_dir, device="cpu", compute_type="float32",
                         cpu_threads=args.threads)
    load_s = time.perf_counter() - t0
    multilingual = bool(model.model.is_multilingual)
    print(f"# faster-whisper model={args.model_dir} threads={args.threads} "
          f"ctranslate2={ctranslate2.__version__} load={load_s:.2f}s", flush=True)
    print(f"{'file':<24} {'lang':<5} {'audio_s':>8} {'wall_s':>8} {'rtf':>7} {'cpu_s':>7}  text")

    rows = []
    tot_audio = tot_wall = tot_cpu = 0.0
    for wav in args.wavs:
        audio = read_wav(wav)
        audio_s = audio.shape[0] / 16000.0
        lang = guess_language(wav, multilingual, args.language)
        best = None
        cpu = None
        text = ""
        for _ in range(max(1, args.repeat)):
            c = time.process_time()
            t = time.perf_counter()
            segments, info = model.transcribe(
                audio, language=lang, beam_size=1, temperature=0,
                without_timestamps=True, condition_on_previous_text=False,
                vad_filter=False)
            text = "".join(s.text for s in segments)  # generator: decoding happens here
            wall = time.perf_counter() - t
            used = time.process_time() - c
            if best is None or wall < best:
                best, cpu = wall, used
        rtf = best / audio_s if audio_s else float("nan")
        tot_audio += audio_s
        tot_wall += best
        tot_cpu += cpu
        rows.append(dict(file=str(wav), language=info.language, audio_s=round(audio_s, 3),
                         wall_s=round(best, 4), rtf=round(rtf, 4), cpu_s=round(cpu, 4),
                         text=text.strip()))
        print(f"{Path(wav).name:<24} {info.language:<5} {audio_s:8.2f} {best:8.3f} {rtf:7.3f} {cpu:7.2f}  "
              f"{text.strip()[:60]}", flush=True)
    total_rtf = tot_wall / tot_audio if tot_audio else float("nan")
    print(f"{'TOTAL':<24} {'':<5} {tot_audio:8.2f} {tot_wall:8.3f} {total_rtf:7.3f} {tot_cpu:7.2f}")
    if args.json:
        print(json.dumps(dict(model=args.model_dir, threads=args.threads, load_s=round(load_s, 3),
                              total_audio_s=round(tot_audio, 3), total_wall_s=round(tot_wall, 4),
                              total_rtf=round(total_rtf, 4), total_cpu_s=round(tot_cpu, 3), files=rows), ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
