"""The motion-aware forecaster: extrapolation along the context's motion, corrected by a
CNN in the Lagrangian frame.

1. **Motion**: the context's motion field in pixels per unit of time, given with the
   batch (``batch["motion"]``, e.g. computed once per event) or estimated from the last
   ``context`` frames by a row of :data:`MOTIONS` (pysteps' Lucas–Kanade) and divided by
   their mean time step — so the motion does not depend on how often frames were taken.
2. **Advection**: each of the last ``context`` frames is carried along the motion to
   every lead time (:func:`~seqimaging.models.advection.advect`, pysteps' semi-Lagrangian
   scheme), lead times read from ``times`` and ``future_times``: a forecast 10 minutes
   ahead moves twice as far as one 5 minutes ahead, whatever the frame step.
3. **Correction**: a small U-Net sees, per lead, the advected context frames (aligned
   along the trajectories, as in Lagrangian CNNs such as L-CNN, Ritvanen et al. 2023)
   and the lead time, and adds a correction to the advected last frame (growth, decay,
   loss of predictability). Its output layer starts at zero, so an untrained model *is*
   the extrapolation nowcast.

Frames are on a scale where 0 is "nothing" (no rain: scaled dBR of
:func:`seqimaging.geo.rain_scale.to_dbr`): what enters the grid from outside is 0, and
forecasts are clipped below at 0.
"""

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor, nn

from seqimaging.choices import Choices
from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.advection import advect
from seqimaging.models.baselines import lucas_kanade
from seqimaging.models.blocks import unpack_batch
from seqimaging.models.registry import register_model
from seqimaging.models.streaming import StreamState, pushed

MOTIONS: Choices[Callable[[np.ndarray], np.ndarray]] = Choices(
    "motion method", {"lucas_kanade": lucas_kanade}
)
"""Motion estimators by name: frames ``[T, H, W]`` → ``[2, H, W]`` pixels per frame."""


def _convs(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
        nn.GELU(),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.GELU(),
    )


class CorrectionNet(nn.Module):
    """A three-level U-Net ``[N, c_in, H, W]`` → ``[N, c_out, H, W]``, output zero at start."""

    def __init__(self, c_in: int, c_out: int, width: int = 32) -> None:
        super().__init__()
        self.down = nn.ModuleList(
            [_convs(c_in, width), _convs(width, 2 * width, 2), _convs(2 * width, 2 * width, 2)]
        )
        self.up = nn.ModuleList([_convs(4 * width, 2 * width), _convs(3 * width, width)])
        self.out = nn.Conv2d(width, c_out, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = nn.functional.interpolate(x, size=skip.shape[-2:], mode="bilinear")
            x = block(torch.cat([x, skip], dim=1))
        return self.out(x)


class MotionForecaster(nn.Module):
    """Forecast frames by advection along the context's motion plus a learned correction.

    Args:
        in_channels: channels of a frame; motion is estimated on their mean.
        horizon: frames to forecast when the batch has no ``future_times``.
        context: the last context frames used for the motion and the correction.
        width: channels of the correction U-Net's first level.
        motion: a row of :data:`MOTIONS`, used when the batch has no ``motion``.
        time_scale: lead times are given to the correction divided by this (e.g. 30 for
            times in minutes: +30 min is 1).

    A batch without ``times`` is taken as one frame per unit of time; without
    ``future_times`` the leads are 1 … ``horizon`` context steps. A sequence shorter than
    ``context`` repeats its first frame (its motion from the frames it has).

    Example:
        >>> model = MotionForecaster(1, horizon=2, context=3, width=8)
        >>> frames = torch.rand(1, 4, 1, 32, 32)
        >>> motion = torch.zeros(1, 2, 32, 32)  # no motion: the untrained model persists
        >>> forecast = model({"frames": frames, "motion": motion})
        >>> forecast.shape, bool((forecast == frames[:, -1:]).all())
        (torch.Size([1, 2, 1, 32, 32]), True)
    """

    def __init__(
        self,
        in_channels: int = 1,
        horizon: int = 6,
        *,
        context: int = 4,
        width: int = 32,
        motion: str = "lucas_kanade",
        time_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if context < 2:
            raise SeqImagingError(f"context must be at least 2 frames to see motion, got {context}")
        self.in_channels, self.horizon, self.context = in_channels, horizon, context
        self.estimate_motion, self.time_scale = MOTIONS[motion], time_scale
        self.correction = CorrectionNet(context * in_channels + 1, in_channels, width)

    def forward(
        self,
        x: Tensor | dict,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
        *,
        horizon: int | None = None,
        correct: bool = True,
        **kwargs,
    ) -> Tensor:
        """Context ``[B, T, C, H, W]`` (or a batched sample dict) → ``[B, K, C, H, W]``.

        The dict may carry ``times [B, T]``, ``future_times [B, K]`` (which set the lead
        times and ``K``) and ``motion [B, 2, H, W]`` (pixels per unit of time).
        ``correct=False`` gives the advection alone (the extrapolation nowcast). Further
        keyword arguments of the task (``future``, ``teacher_forcing``) are not used.
        """
        batch = x if isinstance(x, dict) else {}
        recent, recent_times, counts = self._recent(x, lengths, mask)
        ages = recent_times[:, -1:] - recent_times
        leads = self._leads(batch, recent_times[:, -1:], ages[:, -2:-1], horizon)
        motion = batch.get("motion")
        if motion is None:
            motion = self._motion(recent, ages, counts)
        advected = [
            advect(recent[:, i], motion.to(recent), leads + ages[:, i : i + 1])
            for i in range(self.context)
        ]
        forecast = advected[-1]
        if correct:
            b, k, _, h, w = forecast.shape
            lead_channel = (leads / self.time_scale).reshape(b, k, 1, 1, 1).expand(-1, -1, 1, h, w)
            inputs = torch.cat([*advected, lead_channel], dim=2).flatten(0, 1)
            forecast = forecast + self.correction(inputs).unflatten(0, (b, k))
        return forecast.clamp_min(0)

    def motion_field(
        self, x: Tensor | dict, lengths: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """The motion :meth:`forward` advects along, ``[B, 2, H, W]`` (x then y
        displacement, pixels per unit of time): the batch's ``motion``, else estimated from
        the last ``context`` frames (:func:`~seqimaging.report.motion_figure` draws it).
        """
        if isinstance(x, dict) and x.get("motion") is not None:
            return x["motion"]
        recent, recent_times, counts = self._recent(x, lengths, mask)
        return self._motion(recent, recent_times[:, -1:] - recent_times, counts)

    def _recent(
        self, x: Tensor | dict, lengths: Tensor | None, mask: Tensor | None
    ) -> tuple[Tensor, Tensor, list[int]]:
        """Each sequence's last ``context`` frames ``[B, context, C, H, W]`` (the first
        repeated where it is shorter), their times ``[B, context]`` and how many are
        distinct."""
        frames, lengths, _ = unpack_batch(x, lengths, mask)
        if frames.shape[2] != self.in_channels:
            raise ShapeError(
                f"frames have {frames.shape[2]} channels, the model expects {self.in_channels}"
            )
        times = x.get("times") if isinstance(x, dict) else None
        if times is None:
            times = torch.arange(frames.shape[1], dtype=frames.dtype).expand(len(frames), -1)
        times = times.to(frames)
        device = frames.device
        last = (
            torch.full((len(frames),), frames.shape[1] - 1, device=device)
            if lengths is None
            else lengths.to(device) - 1
        )
        index = (last[:, None] - torch.arange(self.context - 1, -1, -1, device=device)).clamp_min(0)
        rows = torch.arange(len(frames), device=device)[:, None]
        counts = (index[:, -1] - index[:, 0] + 1).tolist()
        return frames[rows, index], times[rows, index], counts

    def step(
        self, frame: Tensor, state: StreamState | None = None, time: Tensor | float | None = None
    ) -> StreamState:
        """Push one context frame ``[B, C, H, W]`` at ``time`` (a number or ``[B]``; the
        number of frames pushed before it when None); the state keeps the last
        ``context`` frames and their times, all that :meth:`forecast` reads.
        """
        previous = state.steps if state is not None else 0
        state = pushed(state, frame, self.in_channels, time)
        when = torch.as_tensor(previous if time is None else time, dtype=frame.dtype)
        when = when.to(frame.device).expand(len(frame))[:, None]
        frames, times = (frame[:, None], when) if state.core is None else state.core
        if state.core is not None:
            frames, times = torch.cat([frames, frame[:, None]], 1), torch.cat([times, when], 1)
        return replace(state, core=(frames[:, -self.context :], times[:, -self.context :]))

    def forecast(
        self,
        state: StreamState,
        horizon: int | None = None,
        future_times: Tensor | None = None,
    ) -> Tensor:
        """The frames after those pushed into ``state`` (unchanged), equal to
        :meth:`forward` on them: at ``future_times`` ``[B, K]`` when given, else
        ``horizon`` steps of the last context step."""
        if state is None or state.core is None:
            raise SeqImagingError("no frame pushed yet; push the context with step() first")
        frames, times = state.core
        batch = {"frames": frames, "times": times}
        if future_times is not None:
            batch["future_times"] = future_times
        return self(batch, horizon=horizon)

    def _leads(self, batch: dict, now: Tensor, step: Tensor, horizon: int | None) -> Tensor:
        """Lead times ``[B, K]`` after the last context frame, at ``now [B, 1]``: the
        ``future_times``, else ``horizon`` steps of the last context ``step [B, 1]``
        (1 for a single frame)."""
        if "future_times" in batch:
            return batch["future_times"].to(now) - now
        step = torch.where(step > 0, step, torch.ones_like(step))
        return step * torch.arange(1, (horizon or self.horizon) + 1).to(now)

    def _motion(self, recent: Tensor, ages: Tensor, counts: list[int]) -> Tensor:
        """Motion ``[B, 2, H, W]`` per unit of time of each sequence's last ``counts``
        distinct frames of ``recent [B, context, C, H, W]`` (ages ``[B, context]``)."""
        fields = recent.detach().mean(2).cpu().double().numpy()
        motion = torch.zeros(len(recent), 2, *recent.shape[-2:], dtype=torch.float64)
        for b, n in enumerate(counts):
            if n > 1:
                per_frame = self.estimate_motion(fields[b, -n:])
                motion[b] = torch.from_numpy(per_frame) * (n - 1) / max(float(ages[b, -n]), 1e-9)
        return motion.to(recent)


@register_model
def motion_forecaster(in_channels: int = 1, horizon: int = 6, **kwargs) -> MotionForecaster:
    """Advection along the context's motion plus a Lagrangian CNN correction; ``kwargs`` as
    :class:`MotionForecaster`."""
    return MotionForecaster(in_channels, horizon, **kwargs)
