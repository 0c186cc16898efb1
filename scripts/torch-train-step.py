#!/usr/bin/env python3
"""PyTorch's training step of SR Studio's network on the CPU, for `npm run bench -- --mode train-cpu`.

The same residual-in-residual network as ml/network.ts (head conv; groups of residual blocks, each
group closed by a conv and a skip; body conv and long skip; conv + pixel shuffle; plus the bilinear
input), the same step (L1 loss, backward, global-norm clipping at 1, Adam), batch × patch² LR
patches at x2, in float32 on every core. TanhExp is PyTorch autograd on x·tanh(eˣ) with the identity
for x > 20 (torch.where), the way a PyTorch user would write it.

    python3 scripts/torch-train-step.py --presets tiny,light,standard --acts swish,tanhexp --batch 16 --patch 48

Prints one JSON line per configuration: preset, act, params, step_ms (median), steps, threads,
peak_rss_mb (the process's own peak so far).
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"standard": (64, 4, 4), "light": (32, 3, 4), "tiny": (16, 1, 3)}


class TanhExp(nn.Module):
    def forward(self, x):
        return torch.where(x > 20, x, x * torch.tanh(torch.exp(x)))


ACTS = {"relu": nn.ReLU, "swish": nn.SiLU, "mish": nn.Mish, "tanhexp": TanhExp}


def conv(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class Block(nn.Module):
    def __init__(self, f, act):
        super().__init__()
        self.c1, self.act, self.c2 = conv(f, f), ACTS[act](), conv(f, f)

    def forward(self, x):
        return x + self.c2(self.act(self.c1(x)))


class Group(nn.Module):
    def __init__(self, f, blocks, act):
        super().__init__()
        self.body = nn.Sequential(*[Block(f, act) for _ in range(blocks)], conv(f, f))

    def forward(self, x):
        return x + self.body(x)


class Net(nn.Module):
    def __init__(self, act, f, groups, blocks, scale):
        super().__init__()
        self.head = conv(3, f)
        self.body = nn.Sequential(*[Group(f, blocks, act) for _ in range(groups)], conv(f, f))
        self.up = nn.Sequential(conv(f, 3 * scale * scale), nn.PixelShuffle(scale))
        self.scale = scale

    def forward(self, x):
        h = self.head(x)
        return self.up(h + self.body(h)) + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


def bench(preset, act, batch, patch, scale, budget, min_steps):
    torch.manual_seed(0)
    f, g, b = PRESETS[preset]
    m = Net(act, f, g, b, scale)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, patch, patch)
    y = torch.rand(batch, 3, patch * scale, patch * scale)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.l1_loss(m(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return float(loss)

    for _ in range(2):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < min_steps or (time.perf_counter() - start < budget and len(times) < 50):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    params = sum(p.numel() for p in m.parameters())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(preset=preset, act=act, params=params, step_ms=round(statistics.median(times), 2), steps=len(times),
                threads=torch.get_num_threads(), peak_rss_mb=round(rss, 1), torch=torch.__version__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="tiny,light,standard")
    ap.add_argument("--acts", default="swish,tanhexp")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (default: every core)")
    ap.add_argument("--budget", type=float, default=8.0, help="seconds per configuration")
    ap.add_argument("--min-steps", type=int, default=3)
    a = ap.parse_args()
    import os
    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    for preset in a.presets.split(","):
        for act in a.acts.split(","):
            print(json.dumps(bench(preset, act, a.batch, a.patch, a.scale, a.budget, a.min_steps)), flush=True)


if __name__ == "__main__":
    main()
