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

Where the time goes on a CPU, and what is done about it (measured with
``seqimaging bench convlstm-speed``; see the README):

- Each layer is one autograd function (:class:`_LayerFunction`) with a hand-written
  backward. It saves only the gate activations and cell states (no autograd graph of
  pointwise ops), computes gate gradients in place in one reused buffer, skips the
  hidden-to-hidden convolution where the state starts at zero, and skips the input
  gradient where the input needs none.
- One convolution per step over ``[x_t, h_{t-1}]`` written into a reused buffer, in
  channels-last layout, which oneDNN runs up to several times faster than NCHW here.
- Per-step buffers rather than whole-sequence ones: on a CPU a fresh buffer above
  glibc's mmap threshold (at most 32 MiB) is page-faulted on every call, which cost more
  than one large convolution over all frames gained.
- tanh as 2σ(2x) − 1: PyTorch's CPU sigmoid is several times faster than its tanh; the
  candidate's weights are doubled for the forward so that one sigmoid runs over all four
  gates at once, contiguous in memory (on a channels-last slice of the gates it is 3–6×
  slower).
- Under bf16 autocast the convolutions run in bf16 and everything pointwise in float32:
  the gates are copied once per step into float32 (for training, each gate its own
  contiguous block, :func:`_by_gate`), the cell state stays float32, and the gate
  gradients are cast back once for the convolution's backward. An op mixing bf16 and
  float32 runs 1.5× slower than in float32 (2.9× than in bf16), and one on a
  channels-last slice of the gates 1.2× (64 channels) to 4.6× (16) slower than on a
  contiguous block.
- A single input channel is padded to two: oneDNN's kernel for one input channel is
  about ten times slower than for two.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqimaging.errors import ShapeError

State = tuple[Tensor, Tensor]
_CHANNELS_LAST = torch.channels_last


def _tanh(t: Tensor, out: Tensor | None = None) -> Tensor:
    """tanh of ``t``, as 2σ(2x) − 1, into ``out`` (which may be ``t``) or a new tensor."""
    return torch.mul(t, 2, out=out).sigmoid_().mul_(2).sub_(1)


def _conv_backward(grad: Tensor, inp: Tensor, weight: Tensor, bias: bool, mask) -> tuple:
    pad = weight.shape[-1] // 2
    return torch.ops.aten.convolution_backward(
        grad,
        inp,
        weight,
        [weight.shape[0]] if bias else None,
        [1, 1],
        [pad, pad],
        [1, 1],
        False,
        [0, 0],
        1,
        (*mask[:2], mask[2] and bias),
    )


class _LayerFunction(torch.autograd.Function):
    """One ConvLSTM layer over a whole time-major sequence ``x`` ``[T, B, C, Y, X]``.

    ``h0``/``c0`` ``[B, H, Y, X]`` may be ``None`` for a zero state; ``last`` ``[B]`` is the
    index of each sequence's last valid step, or ``None`` for ``T - 1``; ``training`` says
    whether to keep what backward needs. Returns all hidden states ``[T, B, H, Y, X]`` and
    the cell state at ``last``.
    """

    @staticmethod
    def forward(ctx, x, weight_ih, bias, weight_hh, peephole, h0, c0, last, training):
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        with torch.autocast(device, enabled=False):
            x, weight_ih, weight_hh, bias, peephole = (
                None if t is None else t.to(dtype)
                for t in (x, weight_ih, weight_hh, bias, peephole)
            )
            cell = torch.promote_types(dtype, torch.float32)  # gate math and cell state
            h0, c0 = _layout(h0, dtype), _layout(c0, cell)
            weight = _joint_weight(weight_ih, weight_hh)
            channels = weight.shape[1] - weight_hh.shape[1]
            steps, batch, n = x.shape[0], x.shape[1], weight_hh.shape[1]
            if peephole is None:  # the candidate's rows doubled: tanh(x) = 2σ(2x) − 1
                weight, bias = _doubled_candidate(weight, n), _doubled_candidate(bias, n)
            hs = torch.empty(
                (steps * batch, n, *x.shape[3:]),
                dtype=dtype,
                device=x.device,
                memory_format=_CHANNELS_LAST,
            ).unflatten(0, (steps, batch))
            gates, cs = [], []
            c_last = None if last is None else torch.empty_like(hs[0], dtype=cell)
            buffer = torch.empty(
                (batch, channels + n, *x.shape[3:]),
                dtype=dtype,
                device=x.device,
                memory_format=_CHANNELS_LAST,
            )
            scratch = torch.empty_like(hs[0], dtype=cell)  # tanh(c) before h is cast
            h, c = h0, c0
            for t in range(steps):
                inp = _step_input(buffer, x[t], h)
                pre = F.conv2d(inp, weight[:, : inp.shape[1]], bias, padding=weight.shape[-1] // 2)
                pre = _by_gate(pre, n, cell, blocks=training)
                i, f, o, g = pre
                if peephole is None:  # one σ over all four gates
                    pre.sigmoid_()
                    g.mul_(2).sub_(1)
                else:
                    if c is None:
                        pre[:2].sigmoid_()
                    else:
                        i.addcmul_(peephole[0], c).sigmoid_()
                        f.addcmul_(peephole[1], c).sigmoid_()
                    _tanh(g, out=g)
                c = i * g if c is None else torch.mul(f, c).addcmul_(i, g)
                if peephole is not None:
                    o.addcmul_(peephole[2], c).sigmoid_()
                h = hs[t].copy_(_tanh(c, out=scratch).mul_(o))
                if training:  # kept for backward; in inference they are freed at once
                    gates.append(pre)
                    cs.append(c)
                if last is not None:
                    c_last[last == t] = c[last == t]
        ctx.save_for_backward(
            x, weight_ih, weight_hh, bias, peephole, h0, c0, hs, last, *gates, *cs
        )
        ctx.set_materialize_grads(False)
        return hs, c if last is None else c_last

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dhs, dc_last):
        if dhs is None and dc_last is None:
            return (None,) * 9
        x, weight_ih, weight_hh, bias, peephole, h0, c0, hs, last, *saved = ctx.saved_tensors
        weight = _joint_weight(weight_ih, weight_hh)
        in_channels, channels = weight_ih.shape[1], weight.shape[1] - weight_hh.shape[1]
        cell = torch.promote_types(hs.dtype, torch.float32)
        dc_last = _layout(dc_last, cell)
        steps = len(hs)
        gates, cs = saved[:steps], saved[steps:]
        n = hs.shape[2]
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        dweight = torch.zeros_like(weight, dtype=cell)  # summed over steps in fp32
        dbias = None if bias is None else torch.zeros_like(bias, dtype=cell)
        dpeephole = None if peephole is None else torch.zeros_like(peephole)
        buffer = torch.empty(
            (x.shape[1], channels + n, *x.shape[3:]),
            dtype=hs.dtype,
            device=x.device,
            memory_format=_CHANNELS_LAST,
        )
        dpre_conv = torch.empty(  # reused: step t's pre-activation gradients …
            (x.shape[1], 4 * n, *x.shape[3:]),
            dtype=hs.dtype,
            device=x.device,
            memory_format=_CHANNELS_LAST,
        )
        dpre = _by_gate(dpre_conv, n, cell)  # … by gate, where the gate math runs
        cast = None if cell == hs.dtype else _by_gate(dpre_conv, n, hs.dtype)  # a view
        dh_next = dc_next = None  # gradients reaching h_t and c_t from step t + 1
        for t in reversed(range(steps)):
            i, f, o, g = gates[t]
            di, df, do, dg = dpre
            c_prev = cs[t - 1] if t > 0 else c0
            dh_out = None if dhs is None else _layout(dhs[t], dhs.dtype)
            dh = dh_out if dh_next is None else dh_next if dh_out is None else dh_next.add_(dh_out)
            dh = None if dh is None else dh.to(cell)
            dc = dc_next
            if dc_last is not None and last is not None:
                ends = (last == t).to(dc_last.dtype)[:, None, None, None]
                dc = dc_last * ends if dc is None else dc.addcmul_(dc_last, ends)
            elif dc_last is not None and t == steps - 1:
                dc = dc_last.clone()
            if dh is None:
                do.zero_()
            else:
                tanh_c = _tanh(cs[t])
                torch.mul(dh, tanh_c, out=do).mul_(o)
                do.addcmul_(do, o, value=-1)  # σ' = σ(1 - σ), without temporaries
                dc_h = tanh_c.mul_(tanh_c).neg_().add_(1).mul_(o).mul_(dh)
                if peephole is not None:
                    dc_h.addcmul_(do, peephole[2])
                dc = dc_h if dc is None else dc_h.add_(dc)
            torch.mul(dc, g, out=di).mul_(i)
            di.addcmul_(di, i, value=-1)
            torch.mul(dc, i, out=dg)
            dg.addcmul_(dg, g, value=-1).addcmul_(dg, g)  # tanh' = (1 - g)(1 + g)
            if c_prev is None:
                df.zero_()
            else:
                torch.mul(dc, c_prev, out=df).mul_(f)
                df.addcmul_(df, f, value=-1)
            dc_next = dc.mul_(f)
            if peephole is not None:
                dc_next.addcmul_(di, peephole[0]).addcmul_(df, peephole[1])
                dpeephole[2] += (do * cs[t]).sum((0, 2, 3))[:, None, None]
                if c_prev is not None:
                    dpeephole[0] += (di * c_prev).sum((0, 2, 3))[:, None, None]
                    dpeephole[1] += (df * c_prev).sum((0, 2, 3))[:, None, None]
            h_prev = hs[t - 1] if t > 0 else h0
            inp = _step_input(buffer, x[t], h_prev)
            wanted = (dx is not None, True, True)  # the input gradient, with h's, in one call
            if cast is not None:  # in float32, dpre is dpre_conv already
                cast.copy_(dpre)
            d_inp, d_w, d_b = _conv_backward(
                dpre_conv, inp, weight[:, : inp.shape[1]], bias is not None, wanted
            )
            dweight[:, : inp.shape[1]] += d_w
            if dbias is not None:
                dbias += d_b
            if dx is not None:
                dx[t] = d_inp[:, :in_channels]
                dh_next = None if h_prev is None else d_inp[:, channels:]
            elif h_prev is not None:  # h's gradient only: the input channels cost nothing
                dh_next = _conv_backward(
                    dpre_conv, h_prev, weight[:, channels:], False, (True, False, False)
                )[0]
        return (
            dx,
            dweight[:, :in_channels],
            dbias,
            dweight[:, channels:],
            dpeephole,
            None if h0 is None else dh_next,
            None if c0 is None else dc_next,
            None,
            None,
        )


def _joint_weight(weight_ih: Tensor, weight_hh: Tensor) -> Tensor:
    """``[W_ih, 0…, W_hh]`` for one convolution over ``[x_t, 0…, h]``, channels-last.

    A single input channel is padded to two: oneDNN runs one input channel about ten
    times slower than two. In the layout of the input it convolves, so that oneDNN does
    not convert it at every call, and its gradients are summed in that layout too.
    """
    if weight_ih.shape[1] == 1:
        weight_ih = F.pad(weight_ih, (0, 0, 0, 0, 0, 1))
    return torch.cat([weight_ih, weight_hh], dim=1).contiguous(memory_format=_CHANNELS_LAST)


def _doubled_candidate(t: Tensor | None, n: int) -> Tensor | None:
    """``t`` (a joint weight or bias, gates i, f, o, g of ``n`` rows each) with the
    candidate's rows doubled, so that one sigmoid over all four gates gives σ(2x) for the
    candidate, whence tanh(x) = 2σ(2x) − 1."""
    if t is None:
        return None
    scale = torch.ones(4 * n, dtype=t.dtype, device=t.device)
    scale[3 * n :] = 2
    return t * scale.reshape(-1, *[1] * (t.dim() - 1))


def _by_gate(pre: Tensor, n: int, dtype: torch.dtype, blocks: bool = True) -> Tensor:
    """The channels-last gates ``pre`` ``[B, 4n, Y, X]`` as ``[4, B, n, Y, X]`` of ``dtype``.

    A view where ``pre`` is of ``dtype`` already. Otherwise a copy: with ``blocks``, one in
    which each gate is a contiguous channels-last block, else ``pre``'s layout (a faster
    copy, slower gate math: worth it for the forward's few ops, not for the backward's
    many). Under bf16 the gate math runs in float32 on such a copy, rather than mixing
    bf16 gates with the float32 cell state (see the module docstring). In float32 the
    copy would cost more than the slices do.
    """
    gates = pre.unflatten(1, (4, n)).transpose(0, 1)
    if pre.dtype == dtype:
        return gates
    if not blocks:
        return _by_gate(pre.to(dtype), n, dtype)
    batch, _, height, width = pre.shape
    out = torch.empty((4, batch, height, width, n), dtype=dtype, device=pre.device)
    return out.permute(0, 1, 4, 2, 3).copy_(gates)


def _layout(t: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """``t`` as ``dtype`` in channels-last layout: mixing layouts in pointwise ops is slow."""
    return None if t is None else t.to(dtype=dtype, memory_format=_CHANNELS_LAST)


def _step_input(buffer: Tensor, x_t: Tensor, h: Tensor | None) -> Tensor:
    """Fill ``buffer`` with ``[x_t, 0…, h]``; without ``h``, return its first channels only.

    ``buffer`` is ``[B, C' + H, Y, X]`` in channels-last layout, reused at every step: a
    fresh buffer per step would be page-faulted in again each time.
    """
    channels = buffer.shape[1] - (0 if h is None else h.shape[1])
    buffer[:, : x_t.shape[1]] = x_t
    buffer[:, x_t.shape[1] : channels] = 0
    if h is None:
        return buffer[:, :channels]
    buffer[:, channels:] = h
    return buffer


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
        cl = _CHANNELS_LAST  # the layout the layer convolves in (see _joint_weight)
        self.weight_ih = nn.Parameter(torch.empty(gates, in_channels, *k, memory_format=cl))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_channels, *k, memory_format=cl))
        self.bias = nn.Parameter(torch.empty(gates)) if bias else None
        self.peephole = nn.Parameter(torch.empty(3, hidden_channels, 1, 1)) if peephole else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ±1/√fan_in, fan_in over [x, h]: nn.Conv2d's default on torchgeo's layout."""
        bound = ((self.in_channels + self.hidden_channels) * self.kernel_size**2) ** -0.5
        with torch.no_grad():
            for p in self.parameters():  # drawn in index order, whatever p's memory layout
                values = torch.empty(p.shape, dtype=p.dtype, device=p.device)
                p.copy_(values.uniform_(-bound, bound))

    def forward(
        self,
        x: Tensor,
        h0: Tensor | None = None,
        c0: Tensor | None = None,
        last: Tensor | None = None,
    ) -> State:
        """Run over a time-major ``x`` ``[T, B, C, Y, X]`` from ``(h0, c0)`` (zero if ``None``).

        Returns every hidden state ``[T, B, H, Y, X]`` and the cell state ``[B, H, Y, X]``
        at step ``last`` ``[B]`` of each sequence (the final step if ``None``).
        """
        return _LayerFunction.apply(
            x,
            self.weight_ih,
            self.bias,
            self.weight_hh,
            self.peephole,
            h0,
            c0,
            last,
            torch.is_grad_enabled(),
        )


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
        seq = x.transpose(0, 1)  # time-major, as the layers run
        last = None
        if lengths is not None:
            lengths = lengths.to(device=x.device, dtype=torch.long)
            last = lengths - 1
        final = []
        for layer, cells in enumerate(self.layers):
            h0c0 = (None, None) if state is None else state[layer]
            outputs, last_h, last_c = [], [], []
            for direction, cell in enumerate(cells):
                h0, c0 = (t if t is None else t.chunk(len(cells), dim=1)[direction] for t in h0c0)
                inp = seq if direction == 0 else _reverse(seq, lengths)
                hs, c = cell(inp, h0, c0, last)
                last_h.append(
                    hs[-1]
                    if last is None
                    else hs[last, torch.arange(len(last), device=last.device)]
                )
                last_c.append(c)
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
                    f"state has {len(state)} entries; "
                    f"expected one (h, c) per layer ({len(self.layers)})"
                )
            for layer, (hc, hidden) in enumerate(zip(state, self.hidden_channels, strict=True)):
                if len(hc) != 2:
                    raise ShapeError(f"state[{layer}] has {len(hc)} tensors; expected (h, c)")
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
        ).to(convs[0].weight)
        with torch.no_grad():
            for conv, (cell,) in zip(convs, ours.layers, strict=True):
                cell.weight_ih.copy_(conv.weight[:, : cell.in_channels])
                cell.weight_hh.copy_(conv.weight[:, cell.in_channels :])
                if conv.bias is not None:
                    cell.bias.copy_(conv.bias)
        return ours
