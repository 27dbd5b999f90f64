"""Embedding throughput on GPU vs CPU for an e5-small-sized and a bge-m3-sized encoder (random weights).

Random initialisation costs exactly what real weights cost, so no download is needed. Run on a machine with
CUDA for the GPU rows; without CUDA it prints a notice and measures the CPU only (``--quick`` for a smoke run).

    python eval/gpu_bench.py [--quick] [--out eval/GPU.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime

CONFIGS = {
    # multilingual-e5-small: XLM-R vocabulary, MiniLM-style 12 x 384 encoder.
    "e5-small": dict(vocab_size=250037, hidden_size=384, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=514, type_vocab_size=1),
    # bge-m3: XLM-R large, 24 x 1024.
    "bge-m3": dict(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                   intermediate_size=4096, max_position_embeddings=8194, type_vocab_size=1),
}


def _model(name: str, device: str, dtype):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(**CONFIGS[name], attn_implementation="sdpa")
    return XLMRobertaModel(cfg, add_pooling_layer=False).to(device=device, dtype=dtype).eval()


def measure(name: str, device: str, seq_len: int, batch: int, seconds: float) -> float:
    """Passages per second for mean-pooled, normalised embeddings of ``seq_len``-token inputs."""
    import torch

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = _model(name, device, dtype)
    ids = torch.randint(5, 250000, (batch, seq_len), device=device)
    mask = torch.ones_like(ids)

    def step() -> None:
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        torch.nn.functional.normalize(pooled.float(), dim=-1)

    with torch.inference_mode():
        step()  # warm-up (kernels, allocator)
        if device == "cuda":
            torch.cuda.synchronize()
        n, t0 = 0, time.perf_counter()
        while True:
            step()
            n += batch
            if device == "cuda":
                torch.cuda.synchronize()
            if time.perf_counter() - t0 >= seconds:
                break
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    """Run the grid and print a JSON line per measurement plus a markdown table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny CPU-only smoke run")
    p.add_argument("--out", help="also write the markdown table to this file")
    args = p.parse_args(argv)
    import torch

    cuda = torch.cuda.is_available()
    if not cuda:
        print("没有可用的 CUDA 设备：只测 CPU。/ no CUDA device: measuring the CPU only.", file=sys.stderr)
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    lens = (128,) if args.quick else (128, 256)
    names = ("e5-small",) if args.quick else tuple(CONFIGS)
    for name in names:
        for seq in lens:
            row = {"model": name, "seq_len": seq}
            if cuda:
                row["gpu_per_s"] = round(measure(name, "cuda", seq, 512, 6.0), 1)
                torch.cuda.empty_cache()
            cpu_batch = 8 if args.quick else 32
            row["cpu_per_s"] = round(measure(name, "cpu", seq, cpu_batch, 1.0 if args.quick else 8.0), 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    gpu_name = torch.cuda.get_device_name(0) if cuda else "none"
    head = (f"Measured {datetime.now(UTC):%Y-%m-%d} on GPU: {gpu_name}; CPU: {os.cpu_count()} cores "
            f"({platform.machine()}), torch {torch.__version__}. GPU bf16 batch 512, CPU fp32 batch 32; "
            "random weights (same cost as real ones).")
    table = ["| model | tokens | GPU passages/s | CPU passages/s | speed-up |", "|---|---|---|---|---|"]
    for r in rows:
        gpu = r.get("gpu_per_s")
        ratio = f"{gpu / r['cpu_per_s']:.0f}×" if gpu else "—"
        table.append(f"| {r['model']} | {r['seq_len']} | {gpu if gpu else '—'} | {r['cpu_per_s']} | {ratio} |")
    text = head + "\n\n" + "\n".join(table) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
