#!/usr/bin/env python3
"""The same network as a golden-model file (*.qnn.json), rebuilt in PyTorch with float arithmetic:
conv2d / linear with the integer weights (+-1 for bipolar layers), activations as their values
(+-1 or levels), multi-threshold activations as comparisons (sorted-threshold search for 4 and more
thresholds), max-pool, integer logits. Used by `cargo xtask bench` as the framework baseline.

It checks that its labels and logits equal the golden model's on the given images, then times
inference at batch `--batch` for each thread count in `--threads`, and prints one JSON object.

Inputs written by `cargo xtask bench`:
  --images F    N images, H*W*C uint8 each, HWC order, back to back
  --expected F  N records of int32: label, then one logit per class (little-endian)
"""

import argparse
import base64
import json
import sys
import time

import torch
import torch.nn.functional as F


def tensor(t):
    """A model-file tensor as float32 (its integers are exact in float32)."""
    dtype = {"i8": torch.int8, "i32": torch.int32}[t["dtype"]]
    raw = bytearray(base64.b64decode(t["data"]))
    return torch.frombuffer(raw, dtype=dtype).reshape(t["shape"]).float()


class Threshold:
    """`q = #{i : acc >= T[c][i]}` per channel, then the value of level q."""

    def __init__(self, t, bits):
        self.bits = bits
        self.t = t.contiguous()  # (C, nt), ascending
        self.nt = self.t.shape[1]

    def __call__(self, acc):  # acc: (N, C, H, W) or (N, C)
        shape = acc.shape
        c = shape[1]
        if self.nt <= 3:
            view = (1, c) + (1,) * (acc.dim() - 2)
            q = torch.zeros_like(acc)
            for i in range(self.nt):
                q += (acc >= self.t[:, i].reshape(view)).float()
        else:
            flat = acc.transpose(0, 1).reshape(c, -1).contiguous()
            q = torch.searchsorted(self.t, flat, right=True).float()
            q = q.reshape((c, shape[0]) + tuple(shape[2:])).transpose(0, 1)
        return 2.0 * q - 1.0 if self.bits == 1 else q


class Net(torch.nn.Module):
    def __init__(self, doc):
        super().__init__()
        inp = doc["input"]
        self.h, self.w, self.c = inp["height"], inp["width"], inp["channels"]
        layers = doc["layers"]
        self.steps = []
        self.max_acc = 0
        shape = (self.h, self.w, self.c)
        i = 0
        while i < len(layers):
            l = layers[i]
            pool_next = i + 1 < len(layers) and layers[i + 1]["op"] == "maxpool"
            if l["op"] == "input_quant":
                t = tensor(l["thresholds"])  # (C, nt)
                bits = l["out_bits"]
                pixels = torch.arange(256, dtype=torch.float32)[None, :, None]
                level = (pixels >= t[:, None, :]).sum(dim=2).float()  # (C, 256)
                self.steps.append(("quant", 2.0 * level - 1.0 if bits == 1 else level))
            elif l["op"] == "conv":
                k, cin, cout = l["kernel"], l["in_channels"], l["out_channels"]
                w = tensor(l["weights"]).reshape(cout, k, k, cin).permute(0, 3, 1, 2).contiguous()
                self.max_acc = max(self.max_acc, int(w.abs().sum(dim=(1, 2, 3)).max()) * in_max(l))
                thr = Threshold(tensor(l["thresholds"]), l["out_bits"])
                self.steps.append(("conv", w, thr, pool_next))
                shape = (shape[0] - k + 1, shape[1] - k + 1, cout)
                if pool_next:
                    shape = (shape[0] // 2, shape[1] // 2, cout)
                    i += 1
            elif l["op"] == "maxpool":
                self.steps.append(("pool",))
                shape = (shape[0] // 2, shape[1] // 2, shape[2])
            elif l["op"] == "dense":
                w = tensor(l["weights"])  # (out, H*W*C) in HWC order
                h, wd, c = shape
                # The golden model flattens HWC; PyTorch maps are CHW: permute the columns once.
                perm = torch.arange(h * wd * c).reshape(h, wd, c).permute(2, 0, 1).reshape(-1)
                w = w[:, perm].contiguous()
                self.max_acc = max(self.max_acc, int(w.abs().sum(dim=1).max()) * in_max(l))
                if "thresholds" in l:
                    out = Threshold(tensor(l["thresholds"]), l["out_bits"])
                else:
                    out = tensor(l["bias"])
                self.steps.append(("dense", w, out))
                shape = (1, 1, w.shape[0])
            else:
                raise SystemExit(f"layer {l['name']}: unknown op {l['op']}")
            i += 1

    def forward(self, x):  # x: (N, H, W, C) uint8
        for s in self.steps:
            if s[0] == "quant":
                table = s[1]  # (C, 256)
                idx = x.long()
                x = torch.stack([table[c][idx[..., c]] for c in range(self.c)], dim=1)  # (N, C, H, W)
            elif s[0] == "conv":
                _, w, thr, pool = s
                acc = F.conv2d(x, w)
                if pool:
                    # Thresholds are non-decreasing in the accumulator, so pooling first is the same
                    # network with a quarter of the comparisons.
                    acc = F.max_pool2d(acc, 2)
                x = thr(acc)
            elif s[0] == "pool":
                x = F.max_pool2d(x, 2)
            else:
                _, w, out = s
                acc = F.linear(x.reshape(x.shape[0], -1), w)
                x = out(acc) if isinstance(out, Threshold) else acc + out
        return x


def in_max(layer):
    b = layer["in_bits"]
    return 1 if b == 1 else (1 << b) - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()

    with open(a.model) as f:
        doc = json.load(f)
    net = Net(doc).eval()
    classes = len(doc["classes"])
    with open(a.images, "rb") as f:
        raw = bytearray(f.read())
    per = net.h * net.w * net.c
    if len(raw) % per:
        raise SystemExit(f"{a.images}: {len(raw)} bytes is not a whole number of {net.h}x{net.w}x{net.c} images")
    images = torch.frombuffer(raw, dtype=torch.uint8).reshape(-1, net.h, net.w, net.c)
    with open(a.expected, "rb") as f:
        expected = torch.frombuffer(bytearray(f.read()), dtype=torch.int32).reshape(-1, 1 + classes)
    if len(expected) != len(images):
        raise SystemExit(f"{len(images)} images but {len(expected)} expected results")

    threads = [int(t) for t in a.threads.split(",")]
    torch.set_num_threads(max(threads))
    with torch.inference_mode():
        logits = torch.cat([net(images[i : i + a.batch]) for i in range(0, len(images), a.batch)])
        labels = logits.argmax(dim=1)  # first maximum on ties, like the golden model
        labels_equal = int((labels == expected[:, 0]).sum())
        logits_equal = int((logits.to(torch.int64) == expected[:, 1:]).all(dim=1).sum())
        rates = {}
        for t in threads:
            torch.set_num_threads(t)
            for i in range(0, min(len(images), 2 * a.batch), a.batch):  # warm-up
                net(images[i : i + a.batch])
            n, start = 0, time.perf_counter()
            while True:
                for i in range(0, len(images), a.batch):
                    net(images[i : i + a.batch])
                n += len(images)
                if time.perf_counter() - start >= a.seconds:
                    break
            rates[str(t)] = n / (time.perf_counter() - start)
    json.dump(
        {
            "torch": torch.__version__,
            "n": len(images),
            "labels_equal": labels_equal,
            "logits_equal": logits_equal,
            "float32_exact": net.max_acc < 2**24,
            "max_abs_acc": net.max_acc,
            "images_per_s": rates,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
