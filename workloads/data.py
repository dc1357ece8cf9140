"""Training data in the neutral layout: synthetic from the seed, or an .npz file; batches.

Every framework sees the same batches in the same order (batch ``i mod n`` at step ``i``).
Images are NHWC, as in the neutral weights; PyTorch's workload transposes them to NCHW once.
Inputs are float32 features or int64 token ids; targets are int64 class labels
(``cross_entropy``) or float32 vectors of ``num_classes`` values (``mse``).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt

from workloads.architectures import GPTSpec, ModelSpec, target_shape, vocab_size
from workloads.spec import LossName, SpecError, WorkloadSpec

Array = npt.NDArray[Any]

# spawn_key of the data's generator: a stream of its own, so the data is the same whatever the
# model's layer sizes (which decide how many numbers the weights' generator draws).
_DATA_STREAM = 1


@dataclass(frozen=True)
class Batch:
    """One training batch: inputs ``x`` (batch, *input_shape) and targets ``y``."""

    x: Array
    y: Array


def synthetic_data(
    model: ModelSpec, samples: int, seed: int, loss: LossName = "cross_entropy"
) -> tuple[Array, Array]:
    """Inputs and targets drawn from a generator derived from ``seed``.

    Float inputs are N(0, 1), token ids uniform in [0, vocab_size), labels uniform in
    [0, num_classes), regression targets N(0, 1). The generator is separate from the weights'
    one, so the data depends only on the seed, ``samples`` and the model's input and output
    shapes. A language model (gpt) gets sequences of ``seq_len + 1`` uniform tokens: ``x`` is
    each without its last token, ``y`` the same sequence shifted by one (the next tokens).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_DATA_STREAM,)))
    if isinstance(model, GPTSpec):
        tokens = rng.integers(0, model.vocab_size, size=(samples, model.seq_len + 1))
        return np.ascontiguousarray(tokens[:, :-1]), np.ascontiguousarray(tokens[:, 1:])
    shape = (samples, *model.input_shape)
    vocab = vocab_size(model)
    if vocab is None:
        x: Array = rng.standard_normal(shape, dtype=np.float32)
    else:
        x = rng.integers(0, vocab, size=shape, dtype=np.int64)
    if loss == "mse":
        y: Array = rng.standard_normal((samples, model.num_classes), dtype=np.float32)
    else:
        y = rng.integers(0, model.num_classes, size=samples, dtype=np.int64)
    return x, y


def available_memory_bytes() -> int | None:
    """Memory the system can still give (Linux: MemAvailable), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


# Data may take at most this share of the memory available when it is loaded: the model, the
# framework and the batches' copies need the rest.
MAX_DATA_SHARE = 0.5


def load_npz(
    path: str,
    model: ModelSpec,
    samples: int | None,
    loss: LossName,
    available_bytes: int | None = None,
) -> tuple[Array, Array]:
    """Arrays ``x`` and ``y`` of an .npz file (the first ``samples`` rows), checked and cast.

    Only the rows used are inflated: each array is streamed from the zip member, and its size is
    checked first against the member's declared size and against ``available_bytes`` (default:
    the system's available memory), so a small file that inflates to gigabytes is refused with
    a message instead of exhausting memory. The parent has checked names and shapes; the values
    are checked here, where they are read: labels must lie in [0, num_classes), token ids in
    [0, vocab_size).
    """
    budget = available_memory_bytes() if available_bytes is None else available_bytes
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [k for k in ("x", "y") if f"{k}.npy" not in names]
            if missing:
                raise SpecError(f"config.data.path: {path} has no array {' or '.join(missing)}")
            x_info, y_info = archive.getinfo("x.npy"), archive.getinfo("y.npy")
            x_rows = _npy_rows(archive, x_info)
            rows = x_rows if samples is None else min(samples, x_rows)
            need = _row_bytes(archive, x_info) * rows + _row_bytes(archive, y_info) * rows
            if budget is not None and need > MAX_DATA_SHARE * budget:
                raise SpecError(
                    f"config.data.path: the {rows:,} rows used of {path} inflate to "
                    f"{need / 2**20:,.0f} MiB (the file holds {_stored_mib(x_info, y_info)} "
                    f"compressed), more than half the {budget / 2**20:,.0f} MiB of memory "
                    "available; set data.samples to use fewer rows"
                )
            x = _read_rows(archive, x_info, rows)
            y = _read_rows(archive, y_info, rows)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"config.data.path: cannot read {path} as .npz: {exc}") from None
    if x.shape[1:] != model.input_shape or len(y) != len(x):
        raise SpecError(
            f"config.data.path: x {x.shape} and y {y.shape} do not fit the model's input "
            f"{model.input_shape}"
        )
    if loss == "cross_entropy" and y.shape[1:] != target_shape(model):
        raise SpecError(
            f"config.data.path: y {y.shape} does not fit the model's targets "
            f"(N, {', '.join(map(str, target_shape(model)))})"
        )
    vocab = vocab_size(model)
    if vocab is None:
        x = x.astype(np.float32, copy=False)
    else:
        x = x.astype(np.int64, copy=False)
        if x.size and (x.min() < 0 or x.max() >= vocab):
            raise SpecError(f"config.data.path: token ids in x must lie in [0, {vocab})")
    if loss == "mse":
        y = y.astype(np.float32, copy=False)
    else:
        y = y.astype(np.int64, copy=False)
        if y.size and (y.min() < 0 or y.max() >= model.num_classes):
            raise SpecError(f"config.data.path: labels in y must lie in [0, {model.num_classes})")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _stored_mib(*members: zipfile.ZipInfo) -> str:
    return f"{sum(m.compress_size for m in members) / 2**20:,.1f} MiB"


def _npy_header(
    fh: IO[bytes], member: zipfile.ZipInfo
) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """(shape, fortran order, dtype, data bytes) of a member, checked against its zip header."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.hasobject:
        raise SpecError(f"config.data.path: {member.filename} holds Python objects, not numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    header = fh.tell()
    if header + nbytes != member.file_size:
        raise SpecError(
            f"config.data.path: {member.filename} says it holds {nbytes:,} bytes of data but "
            f"inflates to {member.file_size - header:,}: the file is damaged or forged"
        )
    return tuple(shape), bool(fortran), dtype, nbytes


def _npy_rows(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    with archive.open(member) as fh:
        shape = _npy_header(fh, member)[0]
    if not shape:
        raise SpecError(f"config.data.path: {member.filename} is a scalar, not rows of data")
    return shape[0]


def _row_bytes(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    with archive.open(member) as fh:
        shape, _, dtype, _ = _npy_header(fh, member)
    return math.prod(shape[1:]) * dtype.itemsize


def _read_rows(archive: zipfile.ZipFile, member: zipfile.ZipInfo, rows: int) -> Array:
    """The first ``rows`` rows of an array member, inflating no more of it than they need."""
    with archive.open(member) as fh:
        shape, fortran, dtype, nbytes = _npy_header(fh, member)
        rows = min(rows, shape[0]) if shape else 0
        if fortran and len(shape) > 1:
            # Column-major rows are not contiguous: read it all (its size was checked) and slice.
            data = fh.read(nbytes)
            whole = np.frombuffer(data, dtype=dtype).reshape(shape, order="F")
            return np.array(whole[:rows])
        out: Array = np.empty((rows, *shape[1:]), dtype=dtype)
        view = out.data.cast("B")
        reader = cast(io.BufferedIOBase, fh)
        got = 0
        while got < len(view):  # straight into the array: the rows are inflated only once
            n = reader.readinto(view[got:])
            if not n:
                raise SpecError(f"config.data.path: {member.filename} ends early")
            got += n
        return out


def training_data(spec: WorkloadSpec) -> tuple[Array, Array]:
    """The run's whole data set, synthetic or from the .npz file."""
    if spec.data_kind == "npz":
        assert spec.data_path is not None
        return load_npz(spec.data_path, spec.model, spec.samples, spec.loss)
    assert spec.samples is not None
    return synthetic_data(spec.model, spec.samples, spec.seed, spec.loss)


def make_batches(x: Array, y: Array, batch_size: int) -> list[Batch]:
    """Split the data into ``max(1, samples // batch_size)`` batches of ``batch_size`` rows.

    Batch b holds rows b*batch_size onwards. Rows that do not fill a last batch are dropped;
    when there are fewer samples than one batch, rows repeat from the start to fill it.
    """
    samples = len(x)
    n_batches = max(1, samples // batch_size)
    offsets = np.arange(batch_size)
    batches = []
    for b in range(n_batches):
        rows = (b * batch_size + offsets) % samples
        batches.append(Batch(x=np.ascontiguousarray(x[rows]), y=np.ascontiguousarray(y[rows])))
    return batches


def stacked(batches: list[Batch]) -> tuple[Array, Array]:
    """All batches as one array pair, in order: what an input pipeline slices batches from."""
    return np.concatenate([b.x for b in batches]), np.concatenate([b.y for b in batches])
