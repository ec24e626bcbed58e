"""Export a model file's network to ONNX beside it, for the torch-free CPU runtime (hdrdesk.core.dnn_runtime).

    .venv/bin/python scripts/export_onnx.py [MODEL.pt ...]   (default: the shipped model)

Needs torch and the ``onnx`` package (the ``test`` extra). Writes ``MODEL.onnx`` and
``MODEL.onnx.json``; run it again whenever the ``.pt`` changes (a stale export is ignored,
and tests/test_dnn_runtime.py fails for the shipped model).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from hdrdesk.core.dnn_runtime import export_onnx
    from hdrdesk.paths import default_model_path

    for path in [Path(a) for a in argv] or [default_model_path()]:
        graph, meta = export_onnx(path)
        print(f"wrote {graph} and {meta}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
