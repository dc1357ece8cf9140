"""PyTorch workload: an eager ``nn.Sequential`` MLP trained the way the PyTorch tutorials do.

Imported only by the worker, inside the child, after it reports ``phase import start``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from workloads.base import Workload
from workloads.weights import Batch, DenseWeights

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    # exact erf GELU, as Keras's gelu(approximate=False)
    "gelu": lambda: nn.GELU(approximate="none"),
    "tanh": nn.Tanh,
}


class TorchWorkload(Workload[torch.Tensor]):
    """The MLP in PyTorch: CrossEntropyLoss (mean), SGD or Adam from ``torch.optim``."""

    framework = "torch"

    @classmethod
    def framework_version(cls) -> str:
        """The version of the imported torch."""
        return str(torch.__version__)

    @classmethod
    def is_oom(cls, exc: BaseException) -> bool:
        """Host MemoryError or CUDA out-of-memory."""
        return isinstance(exc, MemoryError | torch.OutOfMemoryError)

    def setup(self) -> str:
        """Set threads, device, TF32 off and the seed; return ``cpu`` or ``cuda:N``."""
        spec = self.spec
        if spec.threads is not None:
            # interop threads can only be set before the first parallel op: do it first
            torch.set_num_interop_threads(spec.threads)
            torch.set_num_threads(spec.threads)
        self.device = _pick_device(spec.device)
        # fp32 means true fp32 matmuls; PyTorch's TF32 defaults differ by version and op
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        torch.manual_seed(spec.seed)
        return str(self.device)

    def build(self, weights: list[DenseWeights], batches: list[Batch]) -> None:
        """Build the MLP from the neutral weights and put every batch on the device."""
        model = self.spec.model
        layers: list[nn.Module] = []
        for n, w in enumerate(weights):
            fan_in, fan_out = w.kernel.shape
            linear = nn.Linear(fan_in, fan_out)
            with torch.no_grad():
                # torch keeps weight as (out, in); the neutral kernel is (in, out)
                linear.weight.copy_(torch.from_numpy(w.kernel.T.copy()))
                linear.bias.copy_(torch.from_numpy(w.bias))
            layers.append(linear)
            if n < len(weights) - 1:
                layers.append(_ACTIVATIONS[model.activation]())
                if model.dropout > 0:
                    layers.append(nn.Dropout(model.dropout))
        self.model = nn.Sequential(*layers).to(self.device)
        self.model.train()
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = self._optimizer()
        self._batches = [
            (torch.from_numpy(b.x).to(self.device), torch.from_numpy(b.y).to(self.device))
            for b in batches
        ]

    def _optimizer(self) -> torch.optim.Optimizer:
        spec = self.spec
        params = self.model.parameters()
        if spec.optimizer == "adam":
            # eps spelled out: Keras's default differs (1e-7) and Keras is set to match this
            return torch.optim.Adam(params, lr=spec.lr, betas=(0.9, 0.999), eps=1e-8)
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum)

    def param_count(self) -> int:
        """Elements of every trainable parameter."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def parity_loss(self) -> float:
        """Loss on batch 0 in eval mode (dropout off), without touching the weights."""
        x, y = self._batches[0]
        self.model.eval()
        with torch.no_grad():
            loss = self.loss_fn(self.model(x), y)
        self.model.train()
        return float(loss.item())

    def train_step(self, batch: int) -> torch.Tensor:
        """zero_grad, forward, backward, step; returns the loss tensor without reading it."""
        x, y = self._batches[batch]
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss

    def sync(self, loss: torch.Tensor) -> float:
        """Wait for the device, then read the loss."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return float(loss.item())

    def settings(self) -> dict[str, Any]:
        """Threads, device, TF32, eager/compile and determinism settings in effect."""
        cuda = self.device.type == "cuda"
        return {
            "framework": "torch",
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "threads_requested": self.spec.threads,
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if cuda else "cpu",
            "cuda_version": torch.version.cuda,
            "tf32": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "execution": "eager",
            "compile": False,
            "jit_compile": False,
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "onednn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
            "optimizer": {"name": type(self.optimizer).__name__, **self.optimizer.defaults},
            "loss": "CrossEntropyLoss(reduction=mean)",
        }

    def memory(self) -> tuple[int | None, int | None]:
        """CUDA caching allocator's allocated and peak bytes; unknown on the CPU."""
        if self.device.type != "cuda":
            return None, None
        return (
            int(torch.cuda.memory_allocated(self.device)),
            int(torch.cuda.max_memory_allocated(self.device)),
        )


def _pick_device(requested: str) -> torch.device:
    """``auto`` is CUDA when PyTorch sees a GPU, else the CPU; an explicit cuda must exist."""
    cpu = torch.device("cpu")
    if requested == "cpu":
        return cpu
    available = torch.cuda.is_available()
    if requested == "auto":
        return torch.device("cuda", torch.cuda.current_device()) if available else cpu
    index = torch.device(requested).index or 0
    if not available:
        raise RuntimeError(
            f"device {requested!r} was asked for but PyTorch sees no CUDA device "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})"
        )
    if index >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {requested!r} was asked for but PyTorch sees "
            f"{torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device("cuda", index)


WORKLOAD = TorchWorkload
