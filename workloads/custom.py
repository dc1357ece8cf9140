"""A user's model file: ``build_<framework>(config)`` per framework, optional ``param_count``.

The contract (see the README's "Custom models"):

- ``build_torch(config)`` returns ``(model, loss_fn, optimizer)``: an ``nn.Module``, a callable
  ``loss_fn(outputs, targets)`` returning a scalar tensor, a ``torch.optim.Optimizer`` over the
  model's parameters. It is called on the run's device (inside ``torch.device(...)``).
- ``build_tensorflow(config)`` returns ``(model, loss_fn, optimizer)``: a ``keras.Model``, a
  callable ``loss_fn(targets, outputs)`` (Keras's argument order), a Keras optimizer.
- ``build_jax(config)`` returns ``(model, loss_fn, optimizer)``: ``model`` is ``(params,
  apply)``, a pytree of float arrays and ``apply(params, x, *, train, rng)`` returning the outputs
  (``rng``: the step's dropout key, None in eval mode; no mutable state such as batch norm
  statistics); ``loss_fn(outputs, targets)`` returns a scalar; ``optimizer`` is an
  ``optax.GradientTransformation``. FrameDuel puts ``params`` on the device and jits the step.
- ``config`` is the whole config as a dict (``config["model"]["options"]``, ``config["seed"]``,
  ``config["train"]["optimizer"]``, ...).
- Optional ``param_count(config)`` returns the trainable parameters the model should have; a
  framework whose model has another count is reported with a warning.

The module is imported inside the child, once per run, so it must import each framework inside
its own builder: a PyTorch run must not import TensorFlow.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from workloads.spec import SpecError

_LOADED: dict[str, ModuleType] = {}


def load_module(path: str) -> ModuleType:
    """Import the user's file (once per process) under a private module name."""
    if path in _LOADED:
        return _LOADED[path]
    name = f"frameduel_custom_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"config.model.module: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # As `python file.py` would: helper modules beside the user's file are importable.
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _LOADED[path] = module
    return module


def builder(path: str, framework: str) -> Callable[[dict[str, Any]], Any]:
    """The module's ``build_<framework>`` function."""
    build = getattr(load_module(path), f"build_{framework}", None)
    if not callable(build):
        raise SpecError(f"config.model.module: {path} defines no function build_{framework}")
    return build  # type: ignore[no-any-return]


def build(path: str, framework: str, config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Call ``build_<framework>(config)`` and check it returned (model, loss_fn, optimizer)."""
    result = builder(path, framework)(config)
    if not isinstance(result, tuple | list) or len(result) != 3:
        raise SpecError(
            f"config.model.module: build_{framework} in {path} must return "
            "(model, loss_fn, optimizer)"
        )
    model, loss_fn, optimizer = result
    if not callable(loss_fn):
        raise SpecError(
            f"config.model.module: build_{framework} returned a loss that is not callable"
        )
    return model, loss_fn, optimizer


def declared_params(path: str, config: dict[str, Any]) -> int | None:
    """The module's ``param_count(config)``, or None when it declares none."""
    count = getattr(load_module(path), "param_count", None)
    if not callable(count):
        return None
    value = count(config)
    return int(value) if isinstance(value, int) else None
