import pytest
import torch

from seqimaging.models import build_model
from seqimaging.report import spatial_occlusion, temporal_occlusion


def test_a_single_frame_model_depends_on_its_frame_only():
    model = build_model("static_classifier", in_channels=1, num_classes=3, frame=2, stride=2).eval()
    frames = torch.rand(5, 1, 12, 12)
    importance = temporal_occlusion(model, frames)
    assert importance.shape == (5,)
    torch.testing.assert_close(importance[[0, 1, 3, 4]], torch.zeros(4))
    assert importance[2].abs() > 0


def _log_odds(p):
    return torch.log(p / (1 - p))


def test_importance_is_the_drop_in_the_predicted_class_log_odds():
    model = build_model("convlstm_classifier", in_channels=1, num_classes=3, stride=2).eval()
    frames = torch.rand(6, 1, 10, 10)
    importance = temporal_occlusion(model, frames, length=4)
    with torch.no_grad():
        original = model(frames[None, :4]).softmax(-1)[0]
        predicted = original.argmax()
        for t in range(4):
            occluded = frames[:4].clone()
            occluded[t] = frames[:4].mean(0)
            changed = model(occluded[None]).softmax(-1)[0, predicted]
            drop = _log_odds(original[predicted]) - _log_odds(changed)
            torch.testing.assert_close(importance[t], drop, rtol=1e-4, atol=1e-6)


class _Confident(torch.nn.Module):
    """Another model's logits scaled: ``1 − p`` about 1e-11, 0 in float32, not in float64."""

    def __init__(self, model, scale):
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, frames, lengths=None):
        return self.scale * self.model(frames, lengths)


def test_a_confident_model_does_not_saturate():
    torch.manual_seed(0)
    inner = build_model("convlstm_classifier", in_channels=1, num_classes=3, stride=2).eval()
    frames = torch.rand(5, 1, 10, 10)
    with torch.no_grad():
        top, second = inner(frames[None])[0].topk(2).values
    model = _Confident(inner, 25 / float(top - second))
    importance = temporal_occlusion(model, frames)
    with torch.no_grad():
        logits = model(frames[None]).double()[0]
        assert logits.softmax(-1).max().float() == 1.0  # p rounds to 1 in float32
        predicted = logits.argmax()
        for t in range(5):
            occluded = frames.clone()
            occluded[t] = frames.mean(0)
            changed = model(occluded[None]).double()[0]
            p, q = logits.softmax(-1)[predicted], changed.softmax(-1)[predicted]
            drop = torch.log(p / (1 - p)) - torch.log(q / (1 - q))  # float64 reference
            torch.testing.assert_close(importance[t].double(), drop, rtol=1e-3, atol=1e-3)
    assert (importance.abs() > 0).all()


KEY, SIZE = 2, 16
CORNERS = {0: (slice(2, 7), slice(2, 7)), 1: (slice(9, 14), slice(9, 14))}


def _phantoms(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise, and in frame 2 only a bright square: top left for class 0, bottom right for 1."""
    g = torch.Generator().manual_seed(seed)
    frames = 0.3 * torch.rand(n, 5, 1, SIZE, SIZE, generator=g)
    labels = torch.randint(2, (n,), generator=g)
    for i, label in enumerate(labels.tolist()):
        frames[i, KEY, 0, CORNERS[label][0], CORNERS[label][1]] = 1.0
    return frames, labels


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = build_model(
        "convlstm_classifier", in_channels=1, num_classes=2, stride=2, width=4, hidden_channels=8
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    frames, labels = _phantoms(64, seed=0)
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(frames), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    test = _phantoms(12, seed=1)
    with torch.no_grad():
        assert bool((model.eval()(test[0]).argmax(-1) == test[1]).all())
    return model, test


def test_importance_falls_on_the_frame_that_differs(trained):
    model, (frames, _) = trained
    for sequence in frames:
        assert int(temporal_occlusion(model, sequence).argmax()) == KEY


def test_occlusion_maps_fall_on_the_square_in_its_frame(trained):
    model, (frames, labels) = trained
    for sequence, label in zip(frames, labels.tolist(), strict=True):
        maps = spatial_occlusion(model, sequence)
        assert maps.shape == (5, SIZE, SIZE)
        strongest = maps.abs().flatten(1).max(dim=1).values
        assert strongest[KEY] > 3 * strongest[[0, 1, 3, 4]].max()
        inside = torch.zeros(SIZE, SIZE, dtype=torch.bool)
        inside[CORNERS[label]] = True
        assert maps[KEY][inside].mean() > maps[KEY][~inside].mean()


def test_occlusion_maps_of_a_single_frame_model():
    model = build_model("static_classifier", in_channels=1, num_classes=3, frame=1, stride=2)
    maps = spatial_occlusion(model.eval(), torch.rand(3, 1, 12, 10), grid=4)
    assert maps.shape == (3, 12, 10)
    # frames the model never reads score 0, up to the rounding of convolutions whose
    # kernels the CPU library picks by batch size (AMX ones differ in the last bit)
    assert float(maps[[0, 2]].abs().max()) < 1e-6 < float(maps[1].abs().max())
