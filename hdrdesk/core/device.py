"""Pick the compute device: CUDA, else Apple MPS, else CPU (``--device`` overrides)."""

from __future__ import annotations


def pick_device(requested: str | None = None):
    import torch

    from hdrdesk.errors import InputError

    if requested and requested != "auto":
        try:
            dev = torch.device(requested)
        except RuntimeError:
            raise InputError(f"--device: unknown device {requested!r} (auto, cpu, cuda, cuda:N or mps)") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"--device {requested}: CUDA is not available on this machine")
        if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise InputError(f"--device {requested}: Apple MPS is not available on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(dev) -> str:
    import torch

    if dev.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(dev)})"
    if dev.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
