"""A plain TensorFlow/Keras training script, as a team would have one, plus FrameDuel's two lines.

The same model, data and optimizer as train_torch.py, written as a Keras user writes it
(a tf.function training step). See train_torch.py for how FrameDuel runs it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from workloads import mark  # FrameDuel line 1 of 2: shipped with FrameDuel, stdlib only

STEPS, BATCH = 300, 64
rng = np.random.default_rng(0)
x = rng.standard_normal((4096, 128), dtype=np.float32)
y = rng.integers(0, 10, 4096)
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [keras.Input((128,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)]
)
optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@tf.function
def train_step(xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
        loss = loss_fn(yb, model(xb, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return loss


for step in range(STEPS):
    i = step * BATCH % (len(x) - BATCH)
    loss = train_step(x[i : i + BATCH], y[i : i + BATCH])
    mark.step(batch_size=BATCH, loss=loss)  # FrameDuel line 2 of 2 (the loss stays a tensor)

print(f"final loss {float(loss):.4f}")
