#!/usr/bin/env python3
"""Reference PyTorch side of examples/t2s_bench.rs (run by hand in the reference venv, CPU).

    /work/ws-ref/bin/python examples/t2s_bench_reference.py base 64 1 8 --threads 2

Same architecture and shapes (TSARTransformer, ttoks_len 550, stoks_len 750, stoks_codes 513, stoks_width 64),
random weights with the EOS (special) embedding zeroed so greedy decoding runs the full length, the
reference's own optimized path (`optimize(dtype=float32, torch_compile=False)`: merged QKV + static KV cache),
and the reference `generate(..., N=tokens+1, T=0)` timed end to end (encoder + prefill + decode).
"""
import argparse
import time

import torch
from whisperspeech.t2s_up_wds_mlang_enclm import TSARTransformer, Tunables

ap = argparse.ArgumentParser()
ap.add_argument("size", nargs="?", default="base")
ap.add_argument("tokens", nargs="?", type=int, default=64)
ap.add_argument("batches", nargs="*", type=int, default=[1, 8])
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
depth, n_head = {"tiny": (4, 6), "base": (6, 8), "small": (12, 12)}[a.size]
text = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest."
for bs in a.batches:
    torch.manual_seed(0)
    m = TSARTransformer(depth=depth, n_head=n_head, ttoks_len=550, stoks_len=750, ttoks_codes=256,
                        stoks_codes=513, stoks_width=64, tunables=Tunables())
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() > 1:
                p.normal_(0, 1 / p.shape[1] ** 0.5) if "embedding" not in n else p.normal_()
            else:
                p.normal_(0, 0.1)
        m.embeddings.embedding.special.weight.zero_()
    m.eval()
    m.optimize(max_batch_size=bs, dtype=torch.float32, torch_compile=False)
    m.generate(text, N=10, bs=1, T=0.0, show_progress_bar=False)  # warm-up
    t = time.perf_counter()
    out = m.generate(text, N=a.tokens + 1, bs=bs, T=0.0, show_progress_bar=False)
    s = time.perf_counter() - t
    n = out.shape[0] * out.shape[1]
    print(f"pytorch {a.size} f32 batch {bs}: {n} tokens in {s:.3f} s = {n / s:.1f} tokens/s "
          f"(threads {a.threads}, torch {torch.__version__})")
