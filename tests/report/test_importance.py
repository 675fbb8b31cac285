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
