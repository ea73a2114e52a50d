#!/usr/bin/env python3
"""Reference PyTorch side of examples/s2a_bench.rs (run by hand in the reference venv, CPU, never in CI).

    /work/ws-ref/bin/python examples/s2a_bench_reference.py make /tmp/wsbench      # random-weight checkpoints
    /work/ws-ref/bin/python examples/s2a_bench_reference.py s2a /tmp/wsbench tiny 250 1 8 --threads 2
    /work/ws-ref/bin/python examples/s2a_bench_reference.py vocos /tmp/wsbench 750 1 8 --threads 2
    /work/ws-ref/bin/python examples/s2a_bench_reference.py engine /tmp/wsbench 250 --threads 2

`make` builds, with the reference classes and random weights, the models the Rust bench loads too (so both sides
run the SAME weights): `s2a-tiny.model` / `s2a-base.model` (`SADelARTransformer` at the published tiny 4/6 and
base 6/8 presets, quantizers 4, stoks_codes 513, stoks_width 64, spk_width 192 — spec §5.1), `t2s-base.model`
(`TSARTransformer` base 6/8 with the stored-config shapes of spec §4.1, EOS embedding zeroed so greedy decoding
runs the full length), and `vocos/{pytorch_model.bin,config.yaml}` (the real `charactr/vocos-encodec-24khz`
architecture: 8 ConvNeXt blocks, dim 384, intermediate 1152, n_fft 1280, hop 320, random 16×1024×128 codebooks).

`s2a`: the reference `generate` (greedy, T=0) on the same semantic tokens as the Rust side (token i is
`(7·i + 3) % 512`), `N = 3·len(stoks)` frames (S2A never stops early), through the reference's own fast path
(`optimize(dtype=float32, torch_compile=False)`: merged QKV, static KV caches). Reports frames/s = batch·(3n − 4)/s.
`vocos`: `codes_to_features` + `decode` on the same codes (code `(13·f + 101·q + 7·b) % 1024`), samples/s and
× real time. `engine`: t2s-base → s2a-tiny → Vocos for one utterance of `stoks` semantic tokens (250 = 10 s),
greedy, × real time.
"""
import argparse
import time
from pathlib import Path

import torch

ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["make", "s2a", "vocos", "engine"])
ap.add_argument("dir")
ap.add_argument("rest", nargs="*")
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
D = Path(a.dir)
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs away into the forest. " * 3


def stoks_for(n):
    return torch.tensor([(7 * i + 3) % 512 for i in range(n)])


def codes_for(b, q, length):
    return torch.tensor([[[(13 * f + 101 * qq + 7 * bb) % 1024 for f in range(length)] for qq in range(q)]
                         for bb in range(b)])


def patch_encodec():
    import vocos.feature_extractors as fe
    from encodec import EncodecModel
    orig = EncodecModel.encodec_model_24khz
    fe.EncodecModel.encodec_model_24khz = staticmethod(lambda pretrained=True: orig(pretrained=False))


def make():
    from whisperspeech import s2a_delar_mup_wds_mlang as s2a_mod
    from whisperspeech.t2s_up_wds_mlang_enclm import TSARTransformer, Tunables
    D.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for size in ["tiny", "base"]:
        m = s2a_mod._make_model(size, quantizers=4, stoks_codes=513, stoks_width=64, spk_width=192)
        with torch.no_grad():
            for n, p in m.named_parameters():
                if p.dim() > 1:
                    p.normal_(0, 1 / p.shape[1] ** 0.5) if "embedding" not in n else p.normal_()
                else:
                    p.normal_(0, 0.1)
        m.save_model(D / f"s2a-{size}.model")
        print(f"s2a-{size}: {sum(p.numel() for p in m.parameters()) / 1e6:.1f} M parameters")
    m = TSARTransformer(depth=6, n_head=8, ttoks_len=550, stoks_len=750, ttoks_codes=256, stoks_codes=513,
                        stoks_width=64, tunables=Tunables())
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() > 1:
                p.normal_(0, 1 / p.shape[1] ** 0.5) if "embedding" not in n else p.normal_()
            else:
                p.normal_(0, 0.1)
        m.embeddings.embedding.special.weight.zero_()
    m.save_model(D / "t2s-base.model")
    print(f"t2s-base: {sum(p.numel() for p in m.parameters()) / 1e6:.1f} M parameters")

    patch_encodec()
    from vocos import Vocos
    import vocos.feature_extractors as fe
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone
    feats = fe.EncodecFeatures("encodec_24khz", [1.5, 3.0, 6.0, 12.0], False)
    feats.codebook_weights = torch.nn.Parameter(torch.randn(feats.codebook_weights.shape))
    backbone = VocosBackbone(input_channels=128, dim=384, intermediate_dim=1152, num_layers=8,
                             adanorm_num_embeddings=4)
    head = ISTFTHead(dim=384, n_fft=1280, hop_length=320, padding="same")
    model = Vocos(feats, backbone, head).eval()
    with torch.no_grad():
        model.head.out.weight.mul_(0.1)
    vd = D / "vocos"
    vd.mkdir(exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("feature_extractor.encodec.")}
    torch.save(sd, vd / "pytorch_model.bin")
    (vd / "config.yaml").write_text("""feature_extractor:
  class_path: vocos.feature_extractors.EncodecFeatures
  init_args:
    encodec_model: encodec_24khz
    bandwidths: [1.5, 3.0, 6.0, 12.0]
    train_codebooks: false
backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 128
    dim: 384
    intermediate_dim: 1152
    num_layers: 8
    adanorm_num_embeddings: 4
head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 384
    n_fft: 1280
    hop_length: 320
    padding: same
""")
    print(f"vocos: {sum(p.numel() for n, p in model.named_parameters() if 'encodec' not in n) / 1e6:.1f} M")


def load_s2a(size, bs):
    from whisperspeech import s2a_delar_mup_wds_mlang as s2a_mod
    m = s2a_mod.load_model(local_filename=str(D / f"s2a-{size}.model"))
    m.optimize(max_batch_size=bs, dtype=torch.float32, torch_compile=False)
    return m


def load_vocos():
    patch_encodec()
    from vocos import Vocos
    v = Vocos.from_hparams(str(D / "vocos" / "config.yaml"))
    sd = torch.load(D / "vocos" / "pytorch_model.bin")
    missing, unexpected = v.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.startswith("feature_extractor.encodec.") for k in missing)
    return v.eval()


def speaker():
    import json
    p = Path(__file__).resolve().parents[1] / "assets" / "default_speaker.json"
    return torch.tensor(json.loads(p.read_text()))


@torch.no_grad()
def bench_s2a(size, n, batches):
    st, spk = stoks_for(n), speaker()
    for bs in batches:
        m = load_s2a(size, bs)
        m.generate(st[:4], spk, bs=1, T=0.0, show_progress_bar=False)  # warm-up
        t = time.perf_counter()
        out = m.generate(st, spk, bs=bs, T=0.0, show_progress_bar=False)
        s = time.perf_counter() - t
        frames = out.shape[0] * out.shape[2]
        print(f"pytorch s2a-{size} f32 batch {bs}: {frames} frames in {s:.3f} s = {frames / s:.1f} frames/s "
              f"(threads {a.threads}, torch {torch.__version__})", flush=True)


@torch.no_grad()
def bench_vocos(length, batches):
    v = load_vocos()
    for bs in batches:
        codes = codes_for(bs, 4, length)
        v.decode(v.codes_to_features(codes[:1, :, :16].permute(1, 0, 2)), bandwidth_id=torch.tensor(1))
        t = time.perf_counter()
        audio = v.decode(v.codes_to_features(codes.permute(1, 0, 2)), bandwidth_id=torch.tensor(1))
        s = time.perf_counter() - t
        secs = audio.numel() / 24000
        print(f"pytorch vocos f32 batch {bs}: {length} frames × {bs} = {secs:.1f} s of audio in {s:.3f} s "
              f"= {secs / s:.1f}× real time (threads {a.threads})", flush=True)


@torch.no_grad()
def bench_engine(n):
    from whisperspeech.t2s_up_wds_mlang_enclm import TSARTransformer
    t2s = TSARTransformer.load_model(local_filename=str(D / "t2s-base.model"))
    t2s.optimize(max_batch_size=1, dtype=torch.float32, torch_compile=False)
    s2a = load_s2a("tiny", 1)
    v = load_vocos()
    spk = speaker()
    t2s.generate(TEXT, N=5, T=0.0, show_progress_bar=False)  # warm-up
    t = time.perf_counter()
    stoks = t2s.generate(TEXT, N=n + 1, T=0.0, show_progress_bar=False)[0]
    t1 = time.perf_counter()
    stoks = stoks[stoks != 512]
    atoks = s2a.generate(stoks, spk, T=0.0, show_progress_bar=False)
    t2 = time.perf_counter()
    atoks = atoks.clamp(0, 1023)  # random weights may pick the (unmasked) specials
    audio = v.decode(v.codes_to_features(atoks[0]), bandwidth_id=torch.tensor(1))
    t3 = time.perf_counter()
    secs = audio.numel() / 24000
    print(f"pytorch engine t2s-base+s2a-tiny+vocos f32: {len(stoks)} stoks, {secs:.2f} s of audio in {t3 - t:.2f} s "
          f"= {secs / (t3 - t):.2f}× real time (t2s {t1 - t:.2f} s, s2a {t2 - t1:.2f} s, vocos {t3 - t2:.2f} s; "
          f"threads {a.threads})", flush=True)


if a.what == "make":
    make()
elif a.what == "s2a":
    bench_s2a(a.rest[0], int(a.rest[1]), [int(x) for x in a.rest[2:]] or [1, 8])
elif a.what == "vocos":
    bench_vocos(int(a.rest[0]), [int(x) for x in a.rest[1:]] or [1, 8])
else:
    bench_engine(int(a.rest[0]) if a.rest else 250)
