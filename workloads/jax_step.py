"""The JAX train step as pure functions: loss, mixed-precision casts, optimizer update and fp16's
dynamic loss scaling, over one ``TrainState`` pytree. The workload jits them; nothing here reads
the host or the clock. Imported only by the JAX workload, inside the child.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from workloads.jax_models import Apply, Params

# PyTorch's GradScaler defaults, as the other workloads use them
INITIAL_SCALE = 2.0**16
_GROWTH_INTERVAL = 2000

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


class LossScale(NamedTuple):
    """fp16's dynamic loss scale: the scale and the finite steps since it last changed."""

    scale: jax.Array
    good_steps: jax.Array


class TrainState(NamedTuple):
    """Everything a step reads and replaces, one pytree kept on the device."""

    params: Params
    opt_state: optax.OptState
    model_state: Params  # batch norm's running statistics; {} otherwise
    rng: jax.Array
    loss_scale: LossScale | None  # fp16 only


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of logits and integer labels: torch's CrossEntropyLoss()."""
    loss: jax.Array = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return loss


def mse(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean squared error over every element: torch's MSELoss()."""
    return jnp.mean(jnp.square(outputs - targets))


def cast_floating(tree: Any, dtype: Any) -> Any:
    """``tree`` with its floating-point leaves cast to ``dtype`` (token ids stay integers)."""
    return jax.tree.map(
        lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree
    )


def eval_loss(apply: Apply, loss_fn: LossFn) -> Callable[..., jax.Array]:
    """``(params, model_state, x, y) -> loss`` in eval mode (no dropout, running statistics),
    in the dtype of the parameters given (float32 for the parity loss)."""

    def loss_of(params: Params, model_state: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        outputs, _ = apply(params, model_state, x, train=False, rng=None)
        return loss_fn(outputs.astype(jnp.float32), y)

    return loss_of


def train_step(
    apply: Apply, loss_fn: LossFn, optimizer: optax.GradientTransformation, compute: Any
) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, jax.Array]]:
    """The step: forward in ``compute`` dtype from float32 parameters, gradients with respect
    to the float32 parameters, the optimizer's update (fp16: scaled, skipped on inf/nan)."""
    mixed = compute != jnp.float32

    def step(state: TrainState, x: jax.Array, y: jax.Array) -> tuple[TrainState, jax.Array]:
        rng, dropout_rng = jax.random.split(state.rng)

        def objective(params: Params) -> tuple[jax.Array, tuple[jax.Array, Params]]:
            if mixed:
                params, inputs = cast_floating((params, x), compute)
            else:
                inputs = x
            outputs, model_state = apply(
                params, state.model_state, inputs, train=True, rng=dropout_rng
            )
            loss = loss_fn(outputs.astype(jnp.float32), y)
            scaled = loss if state.loss_scale is None else loss * state.loss_scale.scale
            return scaled, (loss, model_state)

        # the loss rides along as auxiliary output: under fp16 the differentiated value is scaled
        grads, (loss, model_state) = jax.grad(objective, has_aux=True)(state.params)
        if state.loss_scale is not None:
            scale = state.loss_scale.scale
            grads = jax.tree.map(lambda g: g / scale, grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        new = TrainState(
            optax.apply_updates(state.params, updates), opt_state, model_state, rng, None
        )
        if state.loss_scale is not None:
            new = _apply_if_finite(state, new, grads)
        return new, loss

    return step


def _apply_if_finite(old: TrainState, new: TrainState, grads: Params) -> TrainState:
    """GradScaler's rule: keep the update and count a good step when every gradient is finite,
    else keep the old state and halve the scale; double it after 2000 good steps in a row."""
    assert old.loss_scale is not None
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
    params, opt_state, model_state = jax.tree.map(
        lambda a, b: jnp.where(finite, a, b),
        (new.params, new.opt_state, new.model_state),
        (old.params, old.opt_state, old.model_state),
    )
    scale, good = old.loss_scale
    good = jnp.where(finite, good + 1, 0)
    grow = good >= _GROWTH_INTERVAL
    scale = jnp.where(finite, jnp.where(grow, scale * 2.0, scale), scale * 0.5)
    loss_scale = LossScale(scale, jnp.where(grow, 0, good))
    return TrainState(params, opt_state, model_state, new.rng, loss_scale)
