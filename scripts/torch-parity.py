#!/usr/bin/env python3
"""PyTorch parity check for SR Studio weights files, with the real reference module.

Loads a weights file into reference/torch_ref.py's RIR with load_state_dict(strict=True),
runs it on an input, and compares with the output SR Studio's tfjs network gave for the same input.
Prints the max absolute difference; exits 1 above the tolerance (1e-4), 2 if the file does not load.

On any machine (Node, numpy not needed) — write a standard x2 file, a photo crop and tfjs's output:

    SR_TORCH_PARITY_DIR=/tmp/parity node --import tsx --test test/ml/torch-parity.test.ts
    # SR_TORCH_PARITY_ACTIVATION=swish|mish|relu picks another activation (default tanhexp)

then on a machine with PyTorch (and numpy):

    python3 scripts/torch-parity.py --ref reference/torch_ref.py \
        --weights /tmp/parity/m.safetensors --input /tmp/parity/in.npy --expected /tmp/parity/out.npy

in.npy is float32 NCHW (1, 3, H, W) in [0, 1]; out.npy is float32 NCHW (1, 3, s·H, s·W). The network's
shape (features, groups, blocks, scale, activation) comes from the file's `config` metadata. Runs in
float32 on the CPU unless --device says otherwise; TF32 is switched off so a GPU run stays comparable.
The file is read with the `safetensors` package when installed, else with the standard library.
"""
import argparse
import importlib.util
import json
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    """name → float32 numpy array, and the metadata; F32, F16 and BF16."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n :]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        buf = data[begin:end]
        if e["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"tensor {name}: unsupported dtype {e['dtype']}")
        tensors[name] = a.reshape(e["shape"]).copy()
    return tensors, metadata


def load_state(path):
    tensors, metadata = read_safetensors(path)
    try:
        from safetensors.torch import load_file  # the library's reader, when it is there
    except ImportError:
        return {k: torch.from_numpy(v) for k, v in tensors.items()}, metadata
    return load_file(path), metadata


def main():
    ap = argparse.ArgumentParser(description="Compare SR Studio's tfjs output with torch_ref.RIR on the same weights.")
    ap.add_argument("--ref", required=True, help="path to torch_ref.py")
    ap.add_argument("--weights", required=True, help="SR Studio .safetensors file")
    ap.add_argument("--input", required=True, help="float32 NCHW .npy, values in [0, 1]")
    ap.add_argument("--expected", required=True, help="tfjs output, NCHW .npy")
    ap.add_argument("--tol", type=float, default=1e-4, help="max absolute difference allowed (default 1e-4)")
    ap.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = ap.parse_args()

    spec = importlib.util.spec_from_file_location("torch_ref", args.ref)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    state, metadata = load_state(args.weights)
    cfg = json.loads(metadata["config"])
    model = ref.RIR(cfg["activation"], c=cfg["features"], g=cfg["groups"], b=cfg["blocks"], scale=cfg["scale"])
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}; RIR {cfg}; {params:,} parameters")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 2
    model = model.to(args.device).eval()

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    x = torch.from_numpy(np.load(args.input).astype(np.float32)).to(args.device)
    with torch.no_grad():
        y = model(x).double().cpu().numpy()
    expected = np.load(args.expected).astype(np.float64)
    if y.shape != expected.shape:
        print(f"shape mismatch: torch {y.shape}, expected {expected.shape}", file=sys.stderr)
        return 1
    diff = float(np.abs(y - expected).max())
    print(f"max |torch - tfjs| = {diff:.3e} over {y.size} values (tolerance {args.tol:g}); "
          f"output range [{y.min():.3f}, {y.max():.3f}]")
    return 0 if diff <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
