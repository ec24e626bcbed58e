"""What running the fusion network costs with torch against OpenCV's DNN module (not a test).

A single ``hdrdesk fuse`` pays ``import torch`` (about 1.6 s of CPU) and torch's first
call set-up before the network's ~0.5 s of work; a Mertens script pays neither. This
script measures, each in a fresh process, CPU seconds of: import + model load + three
calls of the network on a 512x768 two-exposure input, once with torch and once with
``cv2.dnn`` running an ONNX export of the same model, and the largest difference between
their outputs. It answers "would an ONNX/cv2.dnn inference path let a single fuse skip
torch?" for the model at hand (the export needs the ``onnx`` package, which HDRDesk does
not depend on: ``pip install onnx`` to try it).

    .venv/bin/python benchmarks/bench_network_runtime.py [--model PATH] [--size 512x768] [--exposures 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r'''
import json, resource, sys
import numpy as np
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
mode, onnx_path, model_path, k, h, w, out_npy = sys.argv[1:]
x = np.random.default_rng(0).random((1, int(k), int(h), int(w)), dtype=np.float32)
rec = {}
t = cpu()
if mode == "dnn":
    import cv2
    rec["import"] = cpu() - t
    t = cpu(); net = cv2.dnn.readNetFromONNX(onnx_path); rec["load"] = cpu() - t
    calls = []
    for _ in range(3):
        t = cpu(); net.setInput(x); out = net.forward(); calls.append(cpu() - t)
else:
    import torch
    rec["import"] = cpu() - t
    from pathlib import Path
    from hdrdesk.core.fusion import _inference_copy
    from hdrdesk.core.model import load_model
    t = cpu(); m, _ = load_model(Path(model_path)); m = _inference_copy(m); rec["load"] = cpu() - t
    calls = []
    xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    for _ in range(3):
        with torch.inference_mode():
            t = cpu(); out = m(xt).numpy(); calls.append(cpu() - t)
rec["calls"] = calls
np.save(out_npy, out)
print(json.dumps(rec))
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="model file (default: the shipped model)")
    ap.add_argument("--size", default="512x768", help="HxW of the network input (default 512x768)")
    ap.add_argument("--exposures", type=int, default=2)
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.lower().split("x"))

    import torch

    from hdrdesk.core.model import load_model
    from hdrdesk.paths import default_model_path

    model_path = args.model or default_model_path()
    model, _ = load_model(model_path)
    model.eval()
    with tempfile.TemporaryDirectory(prefix="hdrdesk-onnx-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        try:
            torch.onnx.export(model, (torch.rand(1, args.exposures, h, w),), str(onnx_path), dynamo=False, opset_version=17)
        except Exception as exc:  # noqa: BLE001 - report why, e.g. onnx not installed
            print(f"ONNX export failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        results = {}
        for mode in ("torch", "dnn"):
            out = Path(tmp) / f"{mode}.npy"
            proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(onnx_path), str(model_path), str(args.exposures), str(h), str(w), str(out)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"{mode} failed:\n{proc.stderr}", file=sys.stderr)
                return 1
            results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
        import numpy as np

        diff = float(np.abs(np.load(Path(tmp) / "torch.npy") - np.load(Path(tmp) / "dnn.npy")).max())
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; input 1x{args.exposures}x{h}x{w}; CPU seconds")
    print("| runtime | import | model load | 1st call | 2nd call | 3rd call | import + load + 1st call |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        c = r["calls"]
        print(f"| {mode} | {r['import']:.2f} | {r['load']:.2f} | {c[0]:.2f} | {c[1]:.2f} | {c[2]:.2f} | {r['import'] + r['load'] + c[0]:.2f} |")
    print(f"largest difference between the two outputs (weights in 0-1): {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
