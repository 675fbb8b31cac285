"""Tests of seqimaging.models.convlstm against independent references.

References: ``torch.nn.LSTM`` (1x1 kernels on 1x1 images), ``torchgeo.models.ConvLSTM``,
an eager plain-PyTorch implementation of the (peephole) ConvLSTM equations written here,
running unpadded sequences one at a time, and ``torch.autograd.gradcheck``.
"""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from seqimaging.errors import SeqImagingError, ShapeError
from seqimaging.models.convlstm import ConvLSTM

DOUBLE = {"atol": 1e-10, "rtol": 1e-8}  # float64 comparisons of the same maths


# --------------------------------------------------------------------------- helpers


def _lstm_perm(hidden: int) -> torch.Tensor:
    """Row permutation between nn.LSTM's gate order (i, f, g, o) and ours (i, f, o, g).

    Swapping the last two blocks is its own inverse, so it maps either way.
    """
    i_f = torch.arange(2 * hidden)
    return torch.cat(
        [i_f, torch.arange(3 * hidden, 4 * hidden), torch.arange(2 * hidden, 3 * hidden)]
    )


def _copy_from_lstm(lstm: nn.LSTM, model: ConvLSTM) -> None:
    """Copy the weights of ``lstm`` into ``model`` (1x1 kernels)."""
    with torch.no_grad():
        for layer, cells in enumerate(model.layers):
            for direction, cell in enumerate(cells):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                perm = _lstm_perm(cell.hidden_channels)
                w_ih = getattr(lstm, "weight_ih" + sfx)
                w_hh = getattr(lstm, "weight_hh" + sfx)
                b = getattr(lstm, "bias_ih" + sfx) + getattr(lstm, "bias_hh" + sfx)
                cell.weight_ih.copy_(w_ih[perm][..., None, None])
                cell.weight_hh.copy_(w_hh[perm][..., None, None])
                cell.bias.copy_(b[perm])


def _random_loss(tensors: list[torch.Tensor], seed: int = 1234) -> torch.Tensor:
    """A loss with fixed random weights on every element, so every output gets a gradient."""
    gen = torch.Generator().manual_seed(seed)
    total = 0
    for t in tensors:
        w = torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)
        total = total + (t * w).sum()
    return total


def _flat_states(states) -> list[torch.Tensor]:
    return [t for hc in states for t in hc]


def _reference_convlstm(model: ConvLSTM, x: torch.Tensor, state=None):
    """Eager, step-by-step ConvLSTM with per-channel peepholes, written from the equations.

    Uses ``model``'s parameters (unidirectional only) but none of its code.
    """
    seq = x
    finals = []
    for layer, (cell,) in enumerate(model.layers):
        batch, steps, _, height, width = seq.shape
        pad = cell.kernel_size // 2
        n = cell.hidden_channels
        if state is None:
            h = seq.new_zeros(batch, n, height, width)
            c = seq.new_zeros(batch, n, height, width)
        else:
            h, c = state[layer]
        if cell.peephole is not None:
            w_ci, w_cf, w_co = cell.peephole[0], cell.peephole[1], cell.peephole[2]
        else:
            w_ci = w_cf = w_co = torch.zeros(n, 1, 1, dtype=seq.dtype)
        outs = []
        for t in range(steps):
            z = F.conv2d(seq[:, t], cell.weight_ih, cell.bias, padding=pad) + F.conv2d(
                h, cell.weight_hh, padding=pad
            )
            z_i, z_f, z_o, z_g = z[:, :n], z[:, n : 2 * n], z[:, 2 * n : 3 * n], z[:, 3 * n :]
            i = torch.sigmoid(z_i + w_ci * c)
            f = torch.sigmoid(z_f + w_cf * c)
            g = torch.tanh(z_g)
            c = f * c + i * g
            o = torch.sigmoid(z_o + w_co * c)
            h = o * torch.tanh(c)
            outs.append(h)
        seq = torch.stack(outs, dim=1)
        finals.append((h, c))
    return seq, finals


# --------------------------------------------------------------- 1. torch.nn.LSTM


def test_matches_nn_lstm_two_layers_with_gradients():
    torch.manual_seed(0)
    batch, steps, c_in, hidden = 3, 6, 4, 5
    lstm = nn.LSTM(c_in, hidden, num_layers=2, batch_first=True).double()
    model = ConvLSTM(c_in, [hidden, hidden], kernel_size=1).double()
    _copy_from_lstm(lstm, model)

    x_ref = torch.randn(batch, steps, c_in, dtype=torch.float64, requires_grad=True)
    x = x_ref.detach()[..., None, None].requires_grad_()

    out_ref, (h_n, c_n) = lstm(x_ref)
    out, states = model(x)

    torch.testing.assert_close(out[..., 0, 0], out_ref, **DOUBLE)
    for layer in range(2):
        torch.testing.assert_close(states[layer][0][..., 0, 0], h_n[layer], **DOUBLE)
        torch.testing.assert_close(states[layer][1][..., 0, 0], c_n[layer], **DOUBLE)

    ours = [out[..., 0, 0]] + [t[..., 0, 0] for t in _flat_states(states)]
    refs = [out_ref, h_n[0], c_n[0], h_n[1], c_n[1]]
    _random_loss(ours).backward()
    _random_loss(refs).backward()

    torch.testing.assert_close(x.grad[..., 0, 0], x_ref.grad, **DOUBLE)
    for layer, (cell,) in enumerate(model.layers):
        perm = _lstm_perm(hidden)
        sfx = f"_l{layer}"
        torch.testing.assert_close(
            cell.weight_ih.grad[..., 0, 0][perm], getattr(lstm, "weight_ih" + sfx).grad, **DOUBLE
        )
        torch.testing.assert_close(
            cell.weight_hh.grad[..., 0, 0][perm], getattr(lstm, "weight_hh" + sfx).grad, **DOUBLE
        )
        # d loss / d bias_ih == d loss / d bias_hh == d loss / d (our summed bias)
        torch.testing.assert_close(
            cell.bias.grad[perm], getattr(lstm, "bias_ih" + sfx).grad, **DOUBLE
        )
        torch.testing.assert_close(
            cell.bias.grad[perm], getattr(lstm, "bias_hh" + sfx).grad, **DOUBLE
        )


def test_matches_nn_lstm_bidirectional():
    torch.manual_seed(1)
    batch, steps, c_in, hidden = 2, 5, 3, 4
    lstm = nn.LSTM(c_in, hidden, num_layers=2, batch_first=True, bidirectional=True).double()
    model = ConvLSTM(c_in, [hidden, hidden], kernel_size=1, bidirectional=True).double()
    _copy_from_lstm(lstm, model)

    x_ref = torch.randn(batch, steps, c_in, dtype=torch.float64, requires_grad=True)
    x = x_ref.detach()[..., None, None].requires_grad_()
    out_ref, (h_n, c_n) = lstm(x_ref)
    out, states = model(x)

    assert out.shape == (batch, steps, 2 * hidden, 1, 1)
    torch.testing.assert_close(out[..., 0, 0], out_ref, **DOUBLE)
    _assert_states_match_bidirectional_lstm(states, h_n, c_n)

    _random_loss([out[..., 0, 0]]).backward()
    _random_loss([out_ref]).backward()
    torch.testing.assert_close(x.grad[..., 0, 0], x_ref.grad, **DOUBLE)
    perm = _lstm_perm(hidden)
    for layer, cells in enumerate(model.layers):
        for direction, cell in enumerate(cells):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            torch.testing.assert_close(
                cell.weight_ih.grad[..., 0, 0][perm],
                getattr(lstm, "weight_ih" + sfx).grad,
                **DOUBLE,
            )
            torch.testing.assert_close(
                cell.weight_hh.grad[..., 0, 0][perm],
                getattr(lstm, "weight_hh" + sfx).grad,
                **DOUBLE,
            )


def _assert_states_match_bidirectional_lstm(states, h_n, c_n):
    """h_n, c_n are [layers * 2, B, H]: layer l forward at 2l, backward at 2l + 1."""
    for layer, (h, c) in enumerate(states):
        h_exp = torch.cat([h_n[2 * layer], h_n[2 * layer + 1]], dim=1)
        c_exp = torch.cat([c_n[2 * layer], c_n[2 * layer + 1]], dim=1)
        torch.testing.assert_close(h[..., 0, 0], h_exp, **DOUBLE)
        torch.testing.assert_close(c[..., 0, 0], c_exp, **DOUBLE)


def test_lengths_match_packed_nn_lstm_bidirectional():
    torch.manual_seed(2)
    batch, steps, c_in, hidden = 3, 5, 2, 3
    lengths = torch.tensor([5, 2, 4])
    lstm = nn.LSTM(c_in, hidden, num_layers=2, batch_first=True, bidirectional=True).double()
    model = ConvLSTM(c_in, [hidden, hidden], kernel_size=1, bidirectional=True).double()
    _copy_from_lstm(lstm, model)

    x_ref = torch.randn(batch, steps, c_in, dtype=torch.float64)
    packed = nn.utils.rnn.pack_padded_sequence(
        x_ref, lengths, batch_first=True, enforce_sorted=False
    )
    out_packed, (h_n, c_n) = lstm(packed)
    out_ref, _ = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True, total_length=steps)

    out, states = model(x_ref[..., None, None], lengths=lengths)
    torch.testing.assert_close(out[..., 0, 0], out_ref, **DOUBLE)
    _assert_states_match_bidirectional_lstm(states, h_n, c_n)


# ------------------------------------------------------------------- 2. torchgeo


@pytest.fixture(scope="module")
def torchgeo_convlstm():
    pytest.importorskip("torchgeo")
    from torchgeo.models import ConvLSTM as TorchGeoConvLSTM

    return TorchGeoConvLSTM


@pytest.mark.parametrize("bias", [True, False])
def test_from_torchgeo_matches_forward_features_with_gradients(torchgeo_convlstm, bias):
    torch.manual_seed(3)
    tg = torchgeo_convlstm(
        input_dim=3,
        hidden_dim=[8, 6],
        kernel_size=[3, 5],
        num_layers=2,
        bias=bias,
        return_all_layers=True,
    )
    model = ConvLSTM.from_torchgeo(tg)
    assert model.hidden_channels == [8, 6]
    assert [cells[0].kernel_size for cells in model.layers] == [3, 5]
    # Weights are float32 numbers on both sides; compare the maths in float64.
    tg, model = tg.double(), model.double()

    x_ref = torch.randn(2, 4, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    x = x_ref.detach().clone().requires_grad_()
    zeros = [
        (torch.zeros(2, n, 6, 7, dtype=torch.float64),) * 2 for n in (8, 6)
    ]  # torchgeo's own zero state would be float32
    layer_outputs, last_states = tg.forward_features(x_ref, hidden_state=zeros)
    out, states = model(x)

    torch.testing.assert_close(out, layer_outputs[-1], **DOUBLE)
    for layer in range(2):
        torch.testing.assert_close(states[layer][0], last_states[layer][0], **DOUBLE)
        torch.testing.assert_close(states[layer][1], last_states[layer][1], **DOUBLE)

    _random_loss([out, *_flat_states(states)]).backward()
    _random_loss([layer_outputs[-1], *_flat_states(last_states)]).backward()
    torch.testing.assert_close(x.grad, x_ref.grad, **DOUBLE)
    for (cell,), tg_cell in zip(model.layers, tg.cell_list, strict=True):
        grad = torch.cat([cell.weight_ih.grad, cell.weight_hh.grad], dim=1)
        torch.testing.assert_close(grad, tg_cell.conv.weight.grad, **DOUBLE)
        if bias:
            torch.testing.assert_close(cell.bias.grad, tg_cell.conv.bias.grad, **DOUBLE)
        else:
            assert cell.bias is None


def test_from_torchgeo_default_last_layer_only(torchgeo_convlstm):
    """The exact torchgeo configuration of the brief, with its default return_all_layers."""
    torch.manual_seed(4)
    tg = torchgeo_convlstm(input_dim=3, hidden_dim=[8, 6], kernel_size=[3, 5], num_layers=2)
    model = ConvLSTM.from_torchgeo(tg)
    x = torch.randn(1, 3, 3, 5, 5)
    with torch.no_grad():
        layer_outputs, last_states = tg.forward_features(x)
        out, states = model(x)
    torch.testing.assert_close(out, layer_outputs[-1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(states[-1][0], last_states[-1][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(states[-1][1], last_states[-1][1], atol=1e-5, rtol=1e-5)


def test_from_torchgeo_keeps_dtype(torchgeo_convlstm):
    """A float64 torchgeo model converts to a float64 ConvLSTM that runs on float64 input."""
    torch.manual_seed(5)
    tg = torchgeo_convlstm(input_dim=2, hidden_dim=3, kernel_size=3, num_layers=1).double()
    model = ConvLSTM.from_torchgeo(tg)
    for (cell,), tg_cell in zip(model.layers, tg.cell_list, strict=True):
        assert cell.weight_ih.dtype == torch.float64
        weight = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)
        assert torch.equal(weight, tg_cell.conv.weight)  # no rounding through float32
    x = torch.randn(1, 2, 2, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        out, _ = model(x)
        ref, _ = tg.forward_features(
            x, hidden_state=[(torch.zeros(1, 3, 4, 4, dtype=x.dtype),) * 2]
        )
    torch.testing.assert_close(out, ref[-1], **DOUBLE)


def test_from_torchgeo_rejects_even_and_rectangular_kernels(torchgeo_convlstm):
    even = torchgeo_convlstm(input_dim=3, hidden_dim=[4, 4], kernel_size=[3, 4], num_layers=2)
    with pytest.raises(ShapeError, match=r"layer 1 .*\(4, 4\).*odd"):
        ConvLSTM.from_torchgeo(even)
    rect = torchgeo_convlstm(input_dim=3, hidden_dim=4, kernel_size=(3, 5), num_layers=1)
    with pytest.raises(ShapeError, match="square"):
        ConvLSTM.from_torchgeo(rect)


# ------------------------------------------------------------------ 3. step loop


@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_step_loop_equals_forward(peephole, with_state):
    torch.manual_seed(6)
    model = ConvLSTM(2, [3, 4], kernel_size=[3, 1], peephole=peephole).double()
    x = torch.randn(2, 4, 2, 5, 5, dtype=torch.float64)
    state = None
    if with_state:
        state = [
            (
                torch.randn(2, n, 5, 5, dtype=torch.float64),
                torch.randn(2, n, 5, 5, dtype=torch.float64),
            )
            for n in (3, 4)
        ]
    with torch.no_grad():
        out, states = model(x, state)
        s = state
        outs = []
        for t in range(x.shape[1]):
            h, s = model.step(x[:, t], s)
            outs.append(h)
    torch.testing.assert_close(torch.stack(outs, dim=1), out, **DOUBLE)
    for (h_a, c_a), (h_b, c_b) in zip(s, states, strict=True):
        torch.testing.assert_close(h_a, h_b, **DOUBLE)
        torch.testing.assert_close(c_a, c_b, **DOUBLE)


# -------------------------------------------------------------------- 4. lengths


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("peephole", [False, True])
def test_lengths_match_unpadded_sequences(bidirectional, peephole):
    torch.manual_seed(7)
    batch, steps = 3, 5
    lengths = torch.tensor([5, 2, 1])
    model = ConvLSTM(2, [3, 2], peephole=peephole, bidirectional=bidirectional).double()
    x = torch.randn(batch, steps, 2, 4, 4, dtype=torch.float64)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = 100 * torch.randn_like(x[b, n:])  # garbage in the padding

    with torch.no_grad():
        out, states = model(x, lengths=lengths)
        for b, n in enumerate(lengths.tolist()):
            out_b, states_b = model(x[b : b + 1, :n])
            torch.testing.assert_close(out[b, :n], out_b[0], **DOUBLE)
            assert torch.count_nonzero(out[b, n:]) == 0
            for (h, c), (h_b, c_b) in zip(states, states_b, strict=True):
                torch.testing.assert_close(h[b], h_b[0], **DOUBLE)
                torch.testing.assert_close(c[b], c_b[0], **DOUBLE)


def test_lengths_with_initial_state_bidirectional():
    torch.manual_seed(8)
    lengths = torch.tensor([2, 4])
    model = ConvLSTM(1, 2, bidirectional=True).double()
    x = torch.randn(2, 4, 1, 3, 3, dtype=torch.float64)
    x[0, 2:] = float("1e3")
    state = [
        (torch.randn(2, 4, 3, 3, dtype=torch.float64), torch.randn(2, 4, 3, 3, dtype=torch.float64))
    ]
    with torch.no_grad():
        out, states = model(x, state, lengths=lengths)
        for b, n in enumerate(lengths.tolist()):
            s_b = [(state[0][0][b : b + 1], state[0][1][b : b + 1])]
            out_b, states_b = model(x[b : b + 1, :n], s_b)
            torch.testing.assert_close(out[b, :n], out_b[0], **DOUBLE)
            torch.testing.assert_close(states[0][0][b], states_b[0][0][0], **DOUBLE)
            torch.testing.assert_close(states[0][1][b], states_b[0][1][0], **DOUBLE)


# -------------------------------------------------------------- 5. bidirectional


def test_backward_direction_is_reversed_unidirectional():
    torch.manual_seed(9)
    hidden = 3
    bi = ConvLSTM(2, hidden, bidirectional=True).double()
    fwd, bwd = ConvLSTM(2, hidden).double(), ConvLSTM(2, hidden).double()
    fwd.layers[0][0].load_state_dict(bi.layers[0][0].state_dict())
    bwd.layers[0][0].load_state_dict(bi.layers[0][1].state_dict())
    x = torch.randn(2, 5, 2, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        out, states = bi(x)
        out_f, states_f = fwd(x)
        out_b, states_b = bwd(x.flip(1))
    torch.testing.assert_close(out[:, :, :hidden], out_f, **DOUBLE)
    torch.testing.assert_close(out[:, :, hidden:], out_b.flip(1), **DOUBLE)
    torch.testing.assert_close(
        states[0][0], torch.cat([states_f[0][0], states_b[0][0]], 1), **DOUBLE
    )
    torch.testing.assert_close(
        states[0][1], torch.cat([states_f[0][1], states_b[0][1]], 1), **DOUBLE
    )


# ------------------------------------------------------------------- 6. gradcheck


def _functional(model: ConvLSTM, names: list[str], n_layers: int, lengths=None, with_state=False):
    """f(x, [h0, c0 per layer,] *params) -> (outputs, h, c per layer)."""

    def f(x, *rest):
        state = None
        if with_state:
            flat, rest = rest[: 2 * n_layers], rest[2 * n_layers :]
            state = [(flat[2 * i], flat[2 * i + 1]) for i in range(n_layers)]
        params = dict(zip(names, rest, strict=True))
        out, states = functional_call(model, params, (x, state, lengths))
        return (out, *_flat_states(states))

    return f


def _params(model):
    names, values = zip(
        *[(k, v.detach().clone().requires_grad_()) for k, v in model.named_parameters()],
        strict=True,
    )
    return list(names), list(values)


def test_gradcheck_two_layers():
    torch.manual_seed(10)
    model = ConvLSTM(1, [2, 2]).double()
    names, params = _params(model)
    x = torch.randn(2, 3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    f = _functional(model, names, 2)
    assert torch.autograd.gradcheck(f, (x, *params))


def test_gradcheck_peephole_with_initial_state():
    torch.manual_seed(11)
    model = ConvLSTM(1, 2, peephole=True).double()
    with torch.no_grad():  # peepholes large enough to matter
        model.layers[0][0].peephole.uniform_(-1, 1)
    names, params = _params(model)
    x = torch.randn(2, 3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    f = _functional(model, names, 1, with_state=True)
    assert "layers.0.0.peephole" in names
    assert torch.autograd.gradcheck(f, (x, h0, c0, *params))


def test_gradcheck_bidirectional_with_lengths():
    torch.manual_seed(12)
    model = ConvLSTM(1, 2, bidirectional=True).double()
    names, params = _params(model)
    x = torch.randn(2, 3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    f = _functional(model, names, 1, lengths=torch.tensor([3, 2]))
    assert torch.autograd.gradcheck(f, (x, *params))


# ---------------------------------------------------------------- 7. shape errors


def test_shape_error_is_value_error_and_seqimaging_error():
    assert issubclass(ShapeError, ValueError)
    assert issubclass(ShapeError, SeqImagingError)


def test_bad_input_shapes_raise_shape_error():
    model = ConvLSTM(3, [4, 2])
    x = torch.randn(2, 5, 3, 6, 6)

    with pytest.raises(ShapeError, match=re.escape("[B, T, C, H, W] with C=3")):
        model(torch.randn(2, 3, 6, 6))
    with pytest.raises(
        ShapeError,
        match=re.escape("[B, T, C, H, W] with C=3") + ".*" + re.escape("(2, 5, 4, 6, 6)"),
    ):
        model(torch.randn(2, 5, 4, 6, 6))

    good = [(torch.zeros(2, 4, 6, 6), torch.zeros(2, 4, 6, 6)), (torch.zeros(2, 2, 6, 6),) * 2]
    bad_state = [good[0], (torch.zeros(2, 2, 6, 6), torch.zeros(2, 2, 5, 6))]
    with pytest.raises(ShapeError, match=re.escape("state[1] c must have shape (2, 2, 6, 6)")):
        model(x, bad_state)
    with pytest.raises(ShapeError, match=re.escape("expected one (h, c) per layer (2)")):
        model(x, good[:1])

    with pytest.raises(ShapeError, match=re.escape("lengths must be [B]=[2]")):
        model(x, lengths=torch.tensor([5, 5, 5]))
    with pytest.raises(ShapeError, match=re.escape("lengths must be [B]=[2]")):
        model(x, lengths=torch.tensor([[5, 5]]))
    with pytest.raises(ShapeError, match=re.escape("[1, T=5]")):
        model(x, lengths=torch.tensor([0, 5]))
    with pytest.raises(ShapeError, match=re.escape("[1, T=5]")):
        model(x, lengths=torch.tensor([6, 5]))


def test_state_entry_that_is_not_a_pair_raises_shape_error():
    """An (h, c, extra) or (h,) entry is a predictable mistake: ShapeError, not a bare zip error."""
    model = ConvLSTM(1, 2)
    x = torch.randn(2, 2, 1, 4, 4)
    h = torch.zeros(2, 2, 4, 4)
    for entry in [(h, h, h), (h,)]:
        with pytest.raises(ShapeError, match=re.escape("state[0]")):
            model(x, [entry])


def test_bidirectional_state_shape_names_doubled_channels():
    model = ConvLSTM(1, 3, bidirectional=True)
    x = torch.randn(2, 2, 1, 4, 4)
    wrong = [(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4))]
    with pytest.raises(ShapeError, match=re.escape("(2, 6, 4, 4)")):
        model(x, wrong)


def test_bad_constructor_arguments_raise_shape_error():
    with pytest.raises(ShapeError, match="odd"):
        ConvLSTM(1, 4, kernel_size=4)
    with pytest.raises(ShapeError, match="odd"):
        ConvLSTM(1, [4, 4], kernel_size=[3, 2])
    with pytest.raises(
        ShapeError, match=re.escape("kernel_size has 3 entries; expected one per layer (2)")
    ):
        ConvLSTM(1, [4, 4], kernel_size=[3, 3, 3])


def test_step_errors():
    with pytest.raises(ShapeError, match="unidirectional"):
        ConvLSTM(1, 2, bidirectional=True).step(torch.randn(2, 1, 4, 4))
    with pytest.raises(ShapeError, match=re.escape("[B, C, H, W] with C=1")):
        ConvLSTM(1, 2).step(torch.randn(2, 3, 1, 4, 4))


# ------------------------------------------------------ 8. peephole vs reference


@pytest.mark.parametrize("peephole", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_eager_reference_with_gradients(peephole, with_state):
    torch.manual_seed(13)
    model = ConvLSTM(2, [3, 2], kernel_size=[3, 5], peephole=peephole).double()
    if peephole:
        with torch.no_grad():  # make the peephole terms matter
            for (cell,) in model.layers:
                cell.peephole.uniform_(-1, 1)
    x = torch.randn(2, 4, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    state = None
    if with_state:
        state = [
            (
                torch.randn(2, n, 5, 6, dtype=torch.float64, requires_grad=True),
                torch.randn(2, n, 5, 6, dtype=torch.float64, requires_grad=True),
            )
            for n in (3, 2)
        ]
    leaves = [x, *(_flat_states(state) if state else []), *model.parameters()]

    out, states = model(x, state)
    out_ref, states_ref = _reference_convlstm(model, x, state)
    torch.testing.assert_close(out, out_ref, **DOUBLE)
    for (h, c), (h_r, c_r) in zip(states, states_ref, strict=True):
        torch.testing.assert_close(h, h_r, **DOUBLE)
        torch.testing.assert_close(c, c_r, **DOUBLE)

    grads = torch.autograd.grad(_random_loss([out, *_flat_states(states)]), leaves)
    grads_ref = torch.autograd.grad(_random_loss([out_ref, *_flat_states(states_ref)]), leaves)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **DOUBLE)


@pytest.mark.parametrize(
    "pick",
    [
        pytest.param(lambda result: result[0], id="outputs-only"),  # no gradient reaches c
        pytest.param(lambda result: result[1][0][1], id="final-c-only"),  # none reaches h
    ],
)
def test_partial_loss_gradients_match_reference(pick):
    """Backward when only the outputs, or only the final cell state, enter the loss."""
    torch.manual_seed(14)
    model = ConvLSTM(1, 2, peephole=True).double()
    x = torch.randn(2, 3, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    leaves = [x, *model.parameters()]
    grads = torch.autograd.grad(_random_loss([pick(model(x))]), leaves)
    grads_ref = torch.autograd.grad(_random_loss([pick(_reference_convlstm(model, x))]), leaves)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(g, g_ref, **DOUBLE)


@pytest.mark.parametrize("peephole", [True, False])
@pytest.mark.parametrize("steps", [4, 24])
def test_bf16_autocast_matches_float32(peephole, steps):
    """Under autocast the layer computes its convolutions in bf16 and its gate math and
    cell state in float32, returns bf16 hidden states and float32 parameter gradients."""
    torch.manual_seed(16)
    model = ConvLSTM(3, [6, 5], peephole=peephole)
    x = torch.randn(2, steps, 3, 6, 6)
    out32, states32 = model(x)
    grads32 = torch.autograd.grad(out32.square().mean(), list(model.parameters()))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out16, states16 = model(x)
    assert out16.dtype == torch.bfloat16
    assert all(c.dtype == torch.float32 for _, c in states16)
    torch.testing.assert_close(out16.float(), out32, atol=3e-2, rtol=3e-2)
    torch.testing.assert_close(states16[-1][1].float(), states32[-1][1], atol=3e-2, rtol=3e-2)
    grads16 = torch.autograd.grad(out16.float().square().mean(), list(model.parameters()))
    for g16, g32 in zip(grads16, grads32, strict=True):
        assert g16.dtype == torch.float32
        torch.testing.assert_close(g16, g32, atol=2e-2, rtol=1e-1)


def test_initial_weights_do_not_depend_on_memory_layout():
    """Weights are kept channels-last, yet drawn in index order: the same seed gives the
    values ``nn.init.uniform_`` gives on contiguous tensors of the same shapes."""
    torch.manual_seed(5)
    model = ConvLSTM(3, [4, 2], kernel_size=3)
    torch.manual_seed(5)
    for layer in model.layers:
        (cell,) = layer
        bound = ((cell.in_channels + cell.hidden_channels) * 9) ** -0.5
        for p in cell.parameters():
            expected = nn.init.uniform_(torch.empty(p.shape), -bound, bound)
            torch.testing.assert_close(p.detach(), expected, atol=0, rtol=0)
    assert model.layers[0][0].weight_hh.is_contiguous(memory_format=torch.channels_last)
