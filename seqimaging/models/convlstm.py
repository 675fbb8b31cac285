"""ConvLSTM (Shi et al. 2015, https://arxiv.org/abs/1506.04214), fast by construction.

One layer holds ``weight_ih`` ``[4H, C_in, k, k]``, ``weight_hh`` ``[4H, H, k, k]``,
``bias`` ``[4H]`` and optional per-channel peepholes ``[3, H, 1, 1]``, gates in the order
input, forget, output, candidate (i, f, o, g) as in torchgeo's ConvLSTM:

    i = σ(W_xi * x + W_hi * h + w_ci ⊙ c_{t-1} + b_i)
    f = σ(W_xf * x + W_hf * h + w_cf ⊙ c_{t-1} + b_f)
    g = tanh(W_xg * x + W_hg * h + b_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(W_xo * x + W_ho * h + w_co ⊙ c_t + b_o)
    h_t = o ⊙ tanh(c_t)

The peephole terms (``w_c·``) are present only with ``peephole=True``. Shi et al. use one
peephole weight per pixel; here they are shared over space, one per channel, so that a
model is not tied to one image size.

Where the time goes, and what is done about it:

- The input-to-hidden convolution of a layer runs once over all frames (frames folded
  into the batch), with the bias; only the hidden-to-hidden convolution runs per step.
- The recurrence is one autograd function per layer (:class:`_Recurrence`). Its forward
  saves only the gate activations and cell states. Its backward runs the data gradient
  of the hidden-to-hidden convolution step by step, as it must, but the *weight*
  gradient once over all steps: one large convolution instead of T small ones.
- Nothing is concatenated per step, and the hidden-to-hidden convolution of the first
  step is skipped when the state starts at zero.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.grad import conv2d_input, conv2d_weight

from seqimaging.errors import ShapeError

State = tuple[Tensor, Tensor]


def _conv_hh(h: Tensor, weight: Tensor) -> Tensor:
    return F.conv2d(h, weight, padding=weight.shape[-1] // 2)


class _Recurrence(torch.autograd.Function):
    """The ConvLSTM recurrence of one layer over a whole sequence.

    Inputs are time-major: ``xg`` ``[T, B, 4H, Y, X]`` is the input projection plus bias;
    ``h0``/``c0`` ``[B, H, Y, X]`` may be ``None`` for a zero state. Returns all hidden and
    cell states, each ``[T, B, H, Y, X]``.
    """

    @staticmethod
    def forward(ctx, xg, weight_hh, peephole, h0, c0):
        n = weight_hh.shape[1]
        weight = weight_hh.to(xg.dtype)
        peep = None if peephole is None else peephole.to(xg.dtype)
        h = None if h0 is None else h0.to(xg.dtype)
        c = None if c0 is None else c0.to(xg.dtype)
        acts = torch.empty_like(xg)
        hs = xg.new_empty(xg.shape[0], xg.shape[1], n, *xg.shape[3:])
        cs = torch.empty_like(hs)
        for t in range(xg.shape[0]):
            pre = xg[t] if h is None else _conv_hh(h, weight).add_(xg[t])
            i, f, o, g = acts[t].split(n, dim=1)
            if peep is None or c is None:
                torch.sigmoid(pre[:, : 3 * n], out=acts[t, :, : 3 * n])
            else:
                torch.sigmoid(torch.addcmul(pre[:, :n], peep[0], c), out=i)
                torch.sigmoid(torch.addcmul(pre[:, n : 2 * n], peep[1], c), out=f)
            torch.tanh(pre[:, 3 * n :], out=g)
            if c is None:
                torch.mul(i, g, out=cs[t])
            else:
                torch.mul(f, c, out=cs[t]).addcmul_(i, g)
            if peep is not None:
                torch.sigmoid(torch.addcmul(pre[:, 2 * n : 3 * n], peep[2], cs[t]), out=o)
            torch.tanh(cs[t], out=hs[t]).mul_(o)
            h, c = hs[t], cs[t]
        ctx.save_for_backward(acts, hs, cs, weight_hh, peephole, h0, c0)
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dhs, dcs):
        if dhs is None and dcs is None:
            return None, None, None, None, None
        acts, hs, cs, weight_hh, peephole, h0, c0 = ctx.saved_tensors
        n, dtype = weight_hh.shape[1], acts.dtype
        weight = weight_hh.to(dtype)
        peep = None if peephole is None else peephole.to(dtype)
        c_first = None if c0 is None else c0.to(dtype)
        dxg = torch.empty_like(acts)
        dh_next = dc_next = None  # gradients reaching h_t, c_t from step t + 1
        for t in reversed(range(acts.shape[0])):
            i, f, o, g = acts[t].split(n, dim=1)
            di, df, do, dg = dxg[t].split(n, dim=1)
            c_prev = cs[t - 1] if t > 0 else c_first
            dh = dh_next if dhs is None else dhs[t] if dh_next is None else dh_next.add_(dhs[t])
            if dh is None:
                do.zero_()
                dc = dcs[t].clone()
            else:
                tanh_c = torch.tanh(cs[t])
                torch.mul(dh, tanh_c, out=do).mul_(o).mul_(1 - o)
                dc = dh * o * (1 - tanh_c * tanh_c)
                if peep is not None:
                    dc.addcmul_(do, peep[2])
                if dcs is not None:
                    dc.add_(dcs[t])
            if dc_next is not None:
                dc.add_(dc_next)
            torch.mul(dc, g, out=di).mul_(i).mul_(1 - i)
            torch.mul(dc, i, out=dg).mul_(1 - g * g)
            if c_prev is None:
                df.zero_()
            else:
                torch.mul(dc, c_prev, out=df).mul_(f).mul_(1 - f)
            dc_next = dc.mul_(f)
            if peep is not None:
                dc_next.addcmul_(di, peep[0]).addcmul_(df, peep[1])
            if t > 0 or h0 is not None:
                dh_next = conv2d_input(hs.shape[1:], weight, dxg[t], padding=weight.shape[-1] // 2)

        dweight = dpeephole = None
        if ctx.needs_input_grad[1]:  # one convolution over all steps
            h_prev = hs[:-1] if h0 is None else torch.cat([h0.to(dtype)[None], hs[:-1]])
            dgates = dxg[len(dxg) - len(h_prev) :]
            dweight = (
                conv2d_weight(h_prev.flatten(0, 1), weight.shape, dgates.flatten(0, 1),
                              padding=weight.shape[-1] // 2)
                if len(h_prev)
                else torch.zeros_like(weight)
            ).to(weight_hh.dtype)
        if ctx.needs_input_grad[2]:
            c_prev = cs[:-1] if c0 is None else torch.cat([c_first[None], cs[:-1]])
            k, dims = len(cs) - len(c_prev), (0, 1, 3, 4)
            dpeephole = torch.stack([
                (dxg[k:, :, :n] * c_prev).sum(dims),
                (dxg[k:, :, n : 2 * n] * c_prev).sum(dims),
                (dxg[:, :, 2 * n : 3 * n] * cs).sum(dims),
            ]).view_as(peephole).to(peephole.dtype)
        dh0 = None if h0 is None else dh_next.to(h0.dtype)
        dc0 = None if c0 is None else dc_next.to(c0.dtype)
        return dxg, dweight, dpeephole, dh0, dc0


class ConvLSTMLayer(nn.Module):
    """One ConvLSTM layer in one direction, run over a time-major sequence.

    Args:
        in_channels: channels of the input frames.
        hidden_channels: channels of the hidden and cell states.
        kernel_size: odd side of the square kernels; padding keeps the image size.
        bias: add a learnable bias to the gates.
        peephole: add per-channel peephole connections from the cell state.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        *,
        bias: bool = True,
        peephole: bool = False,
    ) -> None:
        super().__init__()
        for name, value in [("in_channels", in_channels), ("hidden_channels", hidden_channels)]:
            if not isinstance(value, int) or value < 1:
                raise ShapeError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ShapeError(
                f"kernel_size must be an odd positive int (padding keeps the image size), "
                f"got {kernel_size!r}"
            )
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.kernel_size = kernel_size
        gates = 4 * hidden_channels
        k = (kernel_size, kernel_size)
        self.weight_ih = nn.Parameter(torch.empty(gates, in_channels, *k))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_channels, *k))
        self.bias = nn.Parameter(torch.empty(gates)) if bias else None
        self.peephole = nn.Parameter(torch.empty(3, hidden_channels, 1, 1)) if peephole else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ±1/√fan_in, fan_in over [x, h]: nn.Conv2d's default on torchgeo's layout."""
        fan_in = (self.in_channels + self.hidden_channels) * self.kernel_size**2
        for p in self.parameters():
            nn.init.uniform_(p, -(fan_in**-0.5), fan_in**-0.5)

    def forward(self, x: Tensor, h0: Tensor | None = None, c0: Tensor | None = None) -> State:
        """Run over ``x`` ``[T, B, C, Y, X]``; return all hidden and cell states ``[T, B, H, Y, X]``."""
        steps, batch = x.shape[:2]
        xg = F.conv2d(x.flatten(0, 1), self.weight_ih, self.bias, padding=self.kernel_size // 2)
        xg = xg.view(steps, batch, *xg.shape[1:])
        return _Recurrence.apply(xg, self.weight_hh, self.peephole, h0, c0)


def _per_layer(value, layers: int, name: str) -> list[int]:
    values = list(value) if isinstance(value, Sequence) else [value] * layers
    if len(values) != layers:
        raise ShapeError(f"{name} has {len(values)} entries; expected one per layer ({layers})")
    return values


def _reverse(seq: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of a time-major batch within its own length."""
    if lengths is None:
        return seq.flip(0)
    t = torch.arange(seq.shape[0], device=seq.device)[:, None]
    index = torch.where(t < lengths, lengths - 1 - t, t)
    return seq[index, torch.arange(seq.shape[1], device=seq.device)]


class ConvLSTM(nn.Module):
    """A stack of ConvLSTM layers over ``[B, T, C, H, W]`` sequences.

    Args:
        in_channels: channels of the input frames.
        hidden_channels: hidden channels, an int for one layer or a list, one per layer.
        kernel_size: odd kernel side, an int for every layer or a list, one per layer.
        bias: learnable gate biases.
        peephole: per-channel peephole connections (Shi et al. 2015, shared over space).
        bidirectional: also run each layer backwards in time and concatenate the two
            directions along channels, as ``torch.nn.LSTM`` does.

    Example:
        >>> model = ConvLSTM(1, [16, 16], kernel_size=3)
        >>> out, states = model(torch.randn(2, 5, 1, 8, 8))
        >>> out.shape, len(states), states[-1][0].shape
        (torch.Size([2, 5, 16, 8, 8]), 2, torch.Size([2, 16, 8, 8]))
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | Sequence[int],
        kernel_size: int | Sequence[int] = 3,
        *,
        bias: bool = True,
        peephole: bool = False,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        hidden = [hidden_channels] if isinstance(hidden_channels, int) else list(hidden_channels)
        if not hidden:
            raise ShapeError("hidden_channels is empty; expected an int or one int per layer")
        kernels = _per_layer(kernel_size, len(hidden), "kernel_size")
        self.in_channels, self.hidden_channels = in_channels, hidden
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        inputs = [in_channels] + [directions * h for h in hidden[:-1]]
        self.layers = nn.ModuleList(
            nn.ModuleList(
                ConvLSTMLayer(c, h, k, bias=bias, peephole=peephole) for _ in range(directions)
            )
            for c, h, k in zip(inputs, hidden, kernels, strict=True)
        )

    @property
    def out_channels(self) -> int:
        """Channels of the output: the last layer's hidden channels, doubled if bidirectional."""
        return self.hidden_channels[-1] * (2 if self.bidirectional else 1)

    def forward(
        self, x: Tensor, state: list[State] | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, list[State]]:
        """Run the stack over a batch of sequences.

        Args:
            x: ``[B, T, C, H, W]`` frames.
            state: optional initial ``(h, c)`` per layer, each ``[B, H_l, H, W]`` (``2·H_l``
                channels when bidirectional: forward then backward direction).
            lengths: optional ``[B]`` true lengths of sequences padded at the end; the state
                of each stops at its length and padded outputs are zero.

        Returns:
            ``outputs`` ``[B, T, C_out, H, W]`` of the last layer and the final ``(h, c)``
            of every layer.
        """
        self._check_input(x, state, lengths)
        seq = x.transpose(0, 1)  # time-major: each step's slice is contiguous
        if lengths is not None:
            lengths = lengths.to(device=x.device, dtype=torch.long)
        final = []
        for layer, cells in enumerate(self.layers):
            h0c0 = (None, None) if state is None else state[layer]
            outputs, last_h, last_c = [], [], []
            for direction, cell in enumerate(cells):
                h0, c0 = (t if t is None else t.chunk(len(cells), dim=1)[direction] for t in h0c0)
                inp = seq if direction == 0 else _reverse(seq, lengths)
                hs, cs = cell(inp, h0, c0)
                if lengths is None:
                    last_h.append(hs[-1])
                    last_c.append(cs[-1])
                else:
                    batch = torch.arange(len(lengths), device=x.device)
                    last_h.append(hs[lengths - 1, batch])
                    last_c.append(cs[lengths - 1, batch])
                outputs.append(hs if direction == 0 else _reverse(hs, lengths))
            seq = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            final.append((torch.cat(last_h, dim=1), torch.cat(last_c, dim=1)))
        if lengths is not None:
            valid = torch.arange(seq.shape[0], device=x.device)[:, None] < lengths
            seq = seq * valid[..., None, None, None].to(seq.dtype)
        return seq.transpose(0, 1), final

    def step(self, x_t: Tensor, state: list[State] | None = None) -> tuple[Tensor, list[State]]:
        """Advance one time step: ``x_t`` ``[B, C, H, W]`` → last layer's ``h`` and new states.

        Example:
            >>> model = ConvLSTM(1, 8)
            >>> h, state = model.step(torch.randn(2, 1, 8, 8))
            >>> h, state = model.step(torch.randn(2, 1, 8, 8), state)
        """
        if self.bidirectional:
            raise ShapeError("step() needs a unidirectional ConvLSTM; this one is bidirectional")
        if x_t.dim() != 4:
            raise ShapeError(
                f"x_t must be [B, C, H, W] with C={self.in_channels}, got shape {tuple(x_t.shape)}"
            )
        outputs, state = self(x_t[:, None], state)
        return outputs[:, 0], state

    def _check_input(self, x: Tensor, state: list[State] | None, lengths: Tensor | None) -> None:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ShapeError(
                f"x must be [B, T, C, H, W] with C={self.in_channels}, got shape {tuple(x.shape)}"
            )
        batch, steps, _, height, width = x.shape
        if state is not None:
            if len(state) != len(self.layers):
                raise ShapeError(
                    f"state has {len(state)} entries; expected one (h, c) per layer ({len(self.layers)})"
                )
            for layer, (hc, hidden) in enumerate(zip(state, self.hidden_channels, strict=True)):
                expected = (batch, hidden * len(self.layers[layer]), height, width)
                for name, t in zip("hc", hc, strict=True):
                    if tuple(t.shape) != expected:
                        raise ShapeError(
                            f"state[{layer}] {name} must have shape {expected}, "
                            f"got {tuple(t.shape)}"
                        )
        if lengths is not None:
            if tuple(lengths.shape) != (batch,):
                raise ShapeError(f"lengths must be [B]=[{batch}], got shape {tuple(lengths.shape)}")
            if lengths.min() < 1 or lengths.max() > steps:
                raise ShapeError(
                    f"lengths must lie in [1, T={steps}], got min {int(lengths.min())} "
                    f"and max {int(lengths.max())}"
                )

    @classmethod
    def from_torchgeo(cls, model: nn.Module) -> "ConvLSTM":
        """Build a ConvLSTM with the weights of a ``torchgeo.models.ConvLSTM``.

        torchgeo's cell convolves ``cat[x, h]`` into gates i, f, o, g; its weight splits
        along input channels into our ``weight_ih`` and ``weight_hh``.
        """
        convs = [cell.conv for cell in model.cell_list]
        kernels = []
        for layer, conv in enumerate(convs):
            kh, kw = conv.kernel_size
            if kh != kw or kh % 2 == 0:
                raise ShapeError(
                    f"torchgeo layer {layer} has kernel {conv.kernel_size}; "
                    "expected a square, odd kernel"
                )
            kernels.append(kh)
        ours = cls(
            model.input_dim, list(model.hidden_dim), kernels, bias=convs[0].bias is not None
        )
        with torch.no_grad():
            for conv, (cell,) in zip(convs, ours.layers, strict=True):
                cell.weight_ih.copy_(conv.weight[:, : cell.in_channels])
                cell.weight_hh.copy_(conv.weight[:, cell.in_channels :])
                if conv.bias is not None:
                    cell.bias.copy_(conv.bias)
        return ours.to(convs[0].weight.device)
