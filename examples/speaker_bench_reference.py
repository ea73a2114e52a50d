"""Reference side of the speaker-embedding benchmark (run with /work/ws-ref/bin/python; needs espeak-ng + sox).

Builds the real-width spkrec-ecapa-voxceleb ECAPA_TDNN (20.8 M parameters) with random weights whose BatchNorm
statistics are calibrated on the clip (so the embedding is input-dependent), makes a 30 s speech clip at 16 kHz
(and a 48 kHz copy), and times speechbrain's encode path (Fbank -> sentence mean norm -> ECAPA) on CPU.
Writes into OUT (default /tmp/speaker_bench): ecapa_full.ckpt, clip30s_16k.wav, clip30s_48k.wav, ref.pt
(embeddings) and timings.json. Then run `cargo run --example speaker_bench -- OUT`.
"""
import json
import os
import subprocess
import sys
import time

import torch
import torchaudio
from speechbrain.lobes.features import Fbank
from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
from speechbrain.processing.features import InputNormalization
from speechbrain.processing.speech_augmentation import Resample

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/speaker_bench"
THREADS = int(os.environ.get("THREADS", "2"))
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(7)
torch.set_num_threads(THREADS)

TEXT = ("It was a bright cold day in April, and the clocks were striking thirteen. The keeper climbed the stairs "
        "of the lighthouse, counted the steps as he always did, and looked out over the grey water. Somewhere "
        "beyond the horizon a ship was waiting for the light, and he meant to give it one. ") * 3
raw = os.path.join(OUT, "raw.wav")
subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, TEXT], check=True)
c16 = os.path.join(OUT, "clip30s_16k.wav")
c48 = os.path.join(OUT, "clip30s_48k.wav")
subprocess.run(["sox", raw, "-r", "16000", "-b", "16", "-c", "1", c16, "trim", "0", "30"], check=True)
subprocess.run(["sox", raw, "-r", "48000", "-b", "16", "-c", "1", c48, "trim", "0", "30"], check=True)

fbank = Fbank(n_mels=80)
norm = InputNormalization(norm_type="sentence", std_norm=False)


def load(path):
    s, sr = torchaudio.load(path, num_frames=torchaudio.info(path).sample_rate * 30)
    w = s[0]
    if sr != 16000:
        w = Resample(sr, 16000)(w.unsqueeze(0)).squeeze(0)
    return w


def feats(w):
    return norm(fbank(w.unsqueeze(0)), torch.ones(1))


model = ECAPA_TDNN(input_size=80, channels=[1024, 1024, 1024, 1024, 3072])
with torch.no_grad():
    x = feats(load(c16))
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.momentum = None
    batch = torch.cat([x[:, :500], x[:, 500:1000], x[:, 1000:1500] * 0.7])
    model(batch, torch.ones(3))
model.eval()
torch.save(model.state_dict(), os.path.join(OUT, "ecapa_full.ckpt"))

timings = {}
embs = {}
with torch.no_grad():
    for name, path in [("16k", c16), ("48k", c48)]:
        best = None
        for i in range(4):
            t0 = time.perf_counter()
            e = model(feats(load(path)), torch.ones(1))[0, 0]
            dt = time.perf_counter() - t0
            if i > 0:
                best = dt if best is None else min(best, dt)
        timings[name] = best
        embs["emb_" + name] = e.contiguous()
        print(f"PyTorch {torch.__version__} ({THREADS} threads) {name}: {best:.3f} s per 30 s clip")
torch.save(embs, os.path.join(OUT, "ref.pt"))
with open(os.path.join(OUT, "timings.json"), "w") as f:
    json.dump({"pytorch_s": timings, "threads": THREADS, "torch": torch.__version__}, f)
