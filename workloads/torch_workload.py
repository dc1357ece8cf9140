"""PyTorch workload: an eager (or ``torch.compile``d) model trained the way the tutorials do.

``zero_grad(set_to_none=True)``, forward under ``torch.autocast`` for bf16/fp16, ``backward``,
``optimizer.step()`` (through a ``GradScaler`` for fp16), no host sync inside the step.
Imported only by the worker, inside the child, after it reports ``phase import start``.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workloads import custom
from workloads.architectures import AttentionSpec, CustomSpec, GPTSpec, reads_images
from workloads.base import Workload
from workloads.data import Batch, stacked
from workloads.emitter import EventEmitter
from workloads.torch_models import build_model, trainable_parameters
from workloads.weights import ModelWeights

_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


class TorchWorkload(Workload[torch.Tensor]):
    """Any model family in PyTorch: CrossEntropyLoss/MSELoss (mean), SGD/Adam/AdamW."""

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
        """Set threads, device, TF32 off, cuDNN autotune on and the seed; return the device."""
        spec = self.spec
        if spec.threads is not None:
            # interop threads can only be set before the first parallel op: do it first
            torch.set_num_interop_threads(spec.threads)
            torch.set_num_threads(spec.threads)
        if self.dist is None:
            self.device = _pick_device(spec.device)
        else:
            self.device = self._init_ddp()
        if spec.precision == "fp16" and self.device.type != "cuda":
            raise RuntimeError(
                "train.precision fp16 needs a CUDA device, and PyTorch found none "
                f"(device {spec.device!r}); use bf16 or fp32 on the CPU"
            )
        # fp32 means true fp32 matmuls; PyTorch's TF32 defaults differ by version and op
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        # shapes never change between steps: let cuDNN pick the fastest algorithms, as
        # TensorFlow does by default (TF_CUDNN_USE_AUTOTUNE)
        torch.backends.cudnn.benchmark = True
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        torch.manual_seed(spec.seed)
        return str(self.device)

    def build(self, weights: ModelWeights | None, batches: list[Batch]) -> None:
        """Build the model, loss and optimizer; put the data on the device or in a DataLoader."""
        spec = self.spec
        if isinstance(spec.model, CustomSpec):
            with torch.device(self.device):
                model, self.loss_fn, self.optimizer = custom.build(
                    spec.model.module, "torch", spec.config
                )
            self.model = model.to(self.device)
        else:
            assert weights is not None
            self.model = build_model(spec.model, weights).to(self.device)
            self.loss_fn = nn.MSELoss() if spec.loss == "mse" else nn.CrossEntropyLoss()
            self.optimizer = self._optimizer(trainable_parameters(self.model))
        self.model.train()
        if self.dist is not None:
            self.model = self._wrap_ddp(self.model)
        self._channels_first = reads_images(spec.model)
        # a language model's logits (batch, seq, vocab) and targets (batch, seq) are flattened
        # for CrossEntropyLoss, the mean over every position, as nanoGPT does
        self._per_token = isinstance(spec.model, GPTSpec)
        self._parity_batch = self._to_device(*self._tensors(batches[0]))
        self._forward_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = self._loss_of
        self._scaler = torch.amp.GradScaler("cuda") if spec.precision == "fp16" else None
        self._autocast = _AUTOCAST.get(spec.precision)
        self._batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]]
        if spec.pipeline == "native":
            # the loader yields batch i mod n at step i, as the resident list is indexed
            loader = self._native_batches(batches)
            self._batch = lambda _step: next(loader)
        else:
            self._batch = [self._to_device(*self._tensors(b)) for b in batches].__getitem__

    def _init_ddp(self) -> torch.device:
        """Join torchrun's process group (``env://``: RANK, WORLD_SIZE, MASTER_ADDR/PORT);
        on CUDA each rank drives GPU ``LOCAL_RANK``. Returns this rank's device."""
        assert self.dist is not None
        import torch.distributed as dist

        if self.spec.device == "cpu" or not torch.cuda.is_available():
            if self.spec.device.startswith("cuda"):
                _pick_device(self.spec.device)  # raises: no CUDA device
            device = torch.device("cpu")
        else:
            device = torch.device("cuda", self.dist.local_rank)
        dist.init_process_group(backend=self.dist.backend or None)
        return device

    def _wrap_ddp(self, model: nn.Module) -> nn.Module:
        """``DistributedDataParallel`` as its users write it; its gradient all-reduce is timed
        by a communication hook (each bucket from launch to completion, summed)."""
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        from torch.nn.parallel import DistributedDataParallel

        cuda = self.device.type == "cuda"
        ddp = DistributedDataParallel(model, device_ids=[self.device.index] if cuda else None)
        self.comm_s = 0.0

        def timed_allreduce(state: object, bucket: Any) -> torch.futures.Future[torch.Tensor]:
            started = time.perf_counter()
            future = default_hooks.allreduce_hook(None, bucket)  # type: ignore[arg-type]

            def finished(done: torch.futures.Future[torch.Tensor]) -> torch.Tensor:
                self.comm_s = (self.comm_s or 0.0) + time.perf_counter() - started
                return done.value()

            return future.then(finished)

        # DDP checks the hook's annotations as objects, not the strings this module's
        # `from __future__ import annotations` leaves
        timed_allreduce.__annotations__ = {
            "state": object,
            "bucket": torch.distributed.GradBucket,  # type: ignore[attr-defined]
            "return": torch.futures.Future[torch.Tensor],
        }
        ddp.register_comm_hook(None, timed_allreduce)
        return ddp

    def run(self, emitter: EventEmitter) -> None:
        """The shared run; a data-parallel rank then waits for the others, frees its DDP wrapper
        and leaves its process group, all while the interpreter is whole.

        Left to interpreter exit, the wrapper's reducer (which holds the process group and the
        timing hook, a Python callable whose closure holds this workload: a cycle through C++
        that ``gc`` cannot see) was torn down during finalization and aborted a rank about one
        time in three ("terminate called without an active exception", SIGABRT after ``done``;
        reproduced with a bare torchrun script: 2 of 6 runs with the hook, 0 of 12 with the
        wrapper freed first)."""
        super().run(emitter)
        if self.dist is not None:
            import torch.distributed as dist
            from torch.nn.parallel import DistributedDataParallel

            if dist.is_initialized():
                dist.barrier()
                if isinstance(self.model, DistributedDataParallel):
                    self.model = self.model.module
                    gc.collect()
                dist.destroy_process_group()

    def comm_description(self) -> str:
        """DDP's all-reduce, timed by a communication hook."""
        if self.dist is None:
            return "not measured"
        return (
            "DDP gradient all-reduce: each bucket from its launch to its completion, summed "
            "(a communication hook; overlaps the backward pass)"
        )

    def compile(self) -> None:
        """torch.compile forward and loss as one graph; AOTAutograd compiles the backward."""
        self._forward_loss = torch.compile(self._loss_of)

    def _tensors(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x = batch.x.transpose(0, 3, 1, 2) if self._channels_first else batch.x
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(batch.y)

    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cuda = self.device.type == "cuda"
        return x.to(self.device, non_blocking=cuda), y.to(self.device, non_blocking=cuda)

    def _native_batches(self, batches: list[Batch]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The DataLoader a PyTorch user writes: in order, whole batches, pinned for CUDA."""
        x, y = stacked(batches)
        if self._channels_first:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=self.spec.batch_size,
            shuffle=False,  # the same order in every framework
            drop_last=True,
            pin_memory=self.device.type == "cuda",
        )
        for xb, yb in itertools.chain.from_iterable(itertools.repeat(loader)):
            yield self._to_device(xb, yb)

    def _optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        spec = self.spec
        # eps spelled out: Keras's default differs (1e-7) and Keras is set to match this
        if spec.optimizer == "adam":
            return torch.optim.Adam(
                params, lr=spec.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=spec.weight_decay
            )
        if spec.optimizer == "adamw":
            return torch.optim.AdamW(
                params, lr=spec.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=spec.weight_decay
            )
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )

    def _loss_of(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if self._per_token:
            return self.loss_fn(out.flatten(0, -2), y.flatten())
        return self.loss_fn(out, y)

    def param_count(self) -> int:
        """Elements of every trainable parameter."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def parity_loss(self) -> float:
        """Loss on batch 0 in eval mode (no dropout, running stats) in float32, no update."""
        x, y = self._parity_batch
        self.model.eval()
        with torch.no_grad():
            loss = self._loss_of(x, y)
        self.model.train()
        return float(loss.item())

    def train_step(self, batch: int) -> torch.Tensor:
        """zero_grad, forward, backward, step; returns the loss tensor without reading it."""
        x, y = self._batch(batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self._autocast is None:
            loss = self._forward_loss(x, y)
        else:
            with torch.autocast(self.device.type, dtype=self._autocast):
                loss = self._forward_loss(x, y)
        if self._scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self._scaler.scale(loss).backward()
            self._scaler.step(self.optimizer)
            self._scaler.update()
        return loss

    def sync(self, loss: torch.Tensor) -> float:
        """Wait for the device, then read the loss."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return float(loss.item())

    def trace_start(self, folder: Path) -> None:
        """torch.profiler (Kineto): CPU ops with shapes, plus CUDA kernels on a GPU."""
        activities = [torch.profiler.ProfilerActivity.CPU]
        if self.device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self._profiler = torch.profiler.profile(activities=activities, record_shapes=True)
        self._profiler.__enter__()

    def trace_stop(self, folder: Path) -> tuple[str, list[Path]]:
        """Kineto's Chrome trace, gzipped (TensorBoard's and HTA's readers take .json.gz)."""
        self._profiler.__exit__(None, None, None)
        raw = folder / "torch.kineto.json"
        self._profiler.export_chrome_trace(str(raw))
        target = folder / "torch.kineto.json.gz"
        with raw.open("rb") as src, gzip.open(target, "wb", compresslevel=3) as dst:
            shutil.copyfileobj(src, dst)
        raw.unlink()
        return "kineto", [target]

    def trace_marker(
        self, name: str, step: int | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        """A ``record_function`` span (``name#step`` for a step)."""
        return torch.profiler.record_function(name if step is None else f"{name}#{step}")

    def device_name(self) -> str | None:
        """The CUDA device's name; None on the CPU."""
        return torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else None

    def settings(self) -> dict[str, Any]:
        """Threads, device, TF32, compile, cuDNN, data pipeline and optimizer settings."""
        cuda = self.device.type == "cuda"
        optimizer = self.optimizer
        return {
            "framework": "torch",
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "threads_requested": self.spec.threads,
            "device": str(self.device),
            "device_name": self.device_name() or "cpu",
            "cuda_version": torch.version.cuda,
            "tf32": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "execution": "torch.compile" if self.spec.compile else "eager",
            "jit_compile": self.spec.compile,
            "compiler": "torch.compile(inductor, mode=default)" if self.spec.compile else None,
            "mixed_precision": (
                f"torch.autocast({self._autocast})" if self._autocast is not None else None
            ),
            "loss_scaling": "GradScaler(init_scale=65536, growth_interval=2000)"
            if self._scaler is not None
            else None,
            "cudnn_autotune": torch.backends.cudnn.benchmark,
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "gpu_memory": "caching allocator, grows on demand" if cuda else None,
            "onednn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
            "data_parallel": None
            if self.dist is None
            else f"DistributedDataParallel({self.dist.backend}, world_size "
            f"{self.dist.world_size}) under torchrun",
            "input_pipeline": (
                f"DataLoader(shuffle=False, drop_last=True, num_workers=0, pin_memory={cuda})"
                if self.spec.pipeline == "native"
                else "resident tensors"
            ),
            "optimizer": {"name": type(optimizer).__name__, **_plain(optimizer.defaults)},
            "loss_fn": repr(self.loss_fn) if isinstance(self.loss_fn, nn.Module) else "custom",
            **self._attention_kernel(),
        }

    def _attention_kernel(self) -> dict[str, str]:
        """``{"attention": kernel}``: the one PyTorch's dispatcher picks for this model's
        attention (shape, dtype, causal, dropout) on this device; empty without attention."""
        model = self.spec.model
        if not isinstance(model, AttentionSpec):
            return {}
        dtype = self._autocast or torch.float32
        shape = (1, model.heads, model.seq_len, model.head_dim)
        q = torch.zeros(shape, dtype=dtype, device=self.device)
        call = f"F.scaled_dot_product_attention(is_causal={model.causal})"
        try:
            # the dispatcher's own choice (private API; SDPBackend's order)
            choice = torch._fused_sdp_choice(
                q, q, q, dropout_p=model.dropout, is_causal=model.causal
            )
            backend = torch.nn.attention.SDPBackend(choice).name.lower()
        except (AttributeError, RuntimeError, ValueError, TypeError):
            backend = "unknown"
        return {"attention": f"{call}: {backend}"}

    def memory(self) -> tuple[int | None, int | None]:
        """CUDA caching allocator's allocated and peak bytes; unknown on the CPU."""
        if self.device.type != "cuda":
            return None, None
        return (
            int(torch.cuda.memory_allocated(self.device)),
            int(torch.cuda.max_memory_allocated(self.device)),
        )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Optimizer defaults with tensors (a tensor lr) as numbers."""
    return {k: v.item() if isinstance(v, torch.Tensor) else v for k, v in values.items()}


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
