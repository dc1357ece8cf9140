"""A plain PyTorch training script, as a team would have one, plus FrameDuel's two lines.

Run on its own (`python train_torch.py`) it trains and prints the final loss; run by FrameDuel
(`frameduel run --cmd torch='python train_torch.py' ...`, or resources/configs/own-scripts.yaml)
the two marked lines give FrameDuel its steps, throughput and loss.
"""

import numpy as np
import torch
from torch import nn

from workloads import mark  # FrameDuel line 1 of 2: shipped with FrameDuel, stdlib only

STEPS, BATCH = 300, 64
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((4096, 128), dtype=np.float32))
y = torch.from_numpy(rng.integers(0, 10, 4096))
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()

for step in range(STEPS):
    i = step * BATCH % (len(x) - BATCH)
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(x[i : i + BATCH]), y[i : i + BATCH])
    loss.backward()
    optimizer.step()
    mark.step(batch_size=BATCH, loss=loss)  # FrameDuel line 2 of 2 (the loss stays a tensor)

print(f"final loss {loss.item():.4f}")
