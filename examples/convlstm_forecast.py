"""Next-frame forecasting of moving blobs with the ConvLSTM core, against persistence.

The smallest end-to-end use of seqimaging: generate sequences, train, and evaluate on
sequences never seen in training, next to the persistence baseline (tomorrow = today).

    python examples/convlstm_forecast.py      # about ten seconds on a 2-core CPU
"""

import torch
from torch import nn

from seqimaging.models import ConvLSTM


def moving_blobs(n: int, steps: int = 8, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Gaussian blobs moving at constant random velocities: ``[n, steps, 1, size, size]``."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 1, 2, generator=g) * size
    velocity = (torch.rand(n, 1, 2, generator=g) - 0.5) * 3
    centres = start + velocity * torch.arange(steps)[None, :, None]
    grid = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"), -1)
    distance2 = (grid - centres[:, :, None, None]).square().sum(-1)
    return torch.exp(-distance2 / 8)[:, :, None]


class NextFrame(nn.Module):
    """Predicts frame t + 1 from frames up to t."""

    def __init__(self) -> None:
        super().__init__()
        self.core = ConvLSTM(1, [16, 16], kernel_size=3)
        self.readout = nn.Conv2d(16, 1, kernel_size=1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.core(frames)
        return self.readout(hidden.flatten(0, 1)).view_as(frames)


def main(steps: int = 150, seed: int = 0) -> None:
    torch.manual_seed(seed)
    train, test = moving_blobs(256, seed=seed), moving_blobs(64, seed=seed + 1)
    model = NextFrame()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        batch = train[torch.randint(len(train), (16,))]
        loss = nn.functional.mse_loss(model(batch)[:, :-1], batch[:, 1:])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  train MSE {loss.item():.5f}")
    with torch.no_grad():
        model_mse = nn.functional.mse_loss(model(test)[:, :-1], test[:, 1:]).item()
    persistence_mse = nn.functional.mse_loss(test[:, :-1], test[:, 1:]).item()
    print(
        f"test (64 unseen sequences, seed {seed + 1}): ConvLSTM MSE {model_mse:.5f}, "
        f"persistence MSE {persistence_mse:.5f}, skill {1 - model_mse / persistence_mse:.2f}"
    )


if __name__ == "__main__":
    main()
