import torch

from seqimaging.models import build_model
from seqimaging.report import temporal_occlusion


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
