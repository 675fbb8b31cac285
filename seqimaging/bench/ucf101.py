"""``seqimaging bench ucf101``: action recognition with the CNN → LSTM recipe on frozen
ImageNet features, beside single-frame and order-free baselines.

**Data.** ``--root`` holds UCF101 as distributed (``UCF-101/`` and ``ucfTrainTestlist/``,
:class:`~seqimaging.video.UCF101`); ``--split`` (1, 2 or 3) picks the official split:
its train list trains, its test list is scored once. Without ``--root`` the data are
generated action clips (:func:`~seqimaging.video.synthetic.make_action_clips`: four
motions, each with its time-reversal as a second class, 25 groups, UCF101's layout and
split-1 rule), written once under ``<out>/data`` and reused, and every output says loudly
that they are a stand-in.

**Features.** Every frame (at ``--fps`` if given, the shorter side resized to
:attr:`VideoConfig.size`) goes once through torchvision's ResNet-18 to ``layer4``,
averaged over space to 512 numbers (:class:`~seqimaging.models.ImageNetResNet`), and is
cached on disk (:class:`~seqimaging.video.FeatureDataset`, under ``<out>/features``,
keyed by the weights, size and rate). ``--weights`` is torchvision's ImageNet file
``resnet18-f37072fd.pth`` (nothing is downloaded); without it the ResNet keeps its random
initialisation, said in the output: frozen random features, far below ImageNet's.

**Models**, each on the same 8 TSN segments per video (a random frame per segment in
training, the centre frames in test; :class:`~seqimaging.video.Segments`):

- CNN+LSTM: ``cnn_lstm_video_classifier`` on the cached vectors (2-layer LSTM of 512, the last
  step → linear), cross-entropy, Adam, fixed epochs, the last epoch scored;
- single frame: a logistic regression on one frame's vector (every segment's centre
  frame of every training video), its probabilities averaged over the 8 test frames;
- mean-pooled: a logistic regression on the mean of the 8 vectors (order-free);
- majority class: the training list's class frequencies.

The settings (:data:`FULL`) are fixed in advance, the same for every split, with no
choice made on any test video; the logistic regressions use scikit-learn's defaults on
standardised features.

**Scores**: top-1 and top-5 accuracy over test videos, each with a percentile-bootstrap
95 % CI over videos, beside the published UCF101 accuracies (:data:`PUBLISHED`; real data
only — the stand-in is not comparable). **Throughput**: frames per second that decoding a
TSN clip gives on one core (:class:`~seqimaging.video.UCF101` with its frame index
built) against the frames per second the end-to-end model (ResNet-18 + LSTM) consumes in
a training step and in inference on the same core; their ratio is how many cores of
decoding keep one core of model fed. The encoding pass reports how long it waited for
decoded frames.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seqimaging.bench.record import BenchOptions, BenchRecord
from seqimaging.evaluation import bootstrap_ci
from seqimaging.models import ImageNetResNet, build_model
from seqimaging.models.baselines import class_frequencies
from seqimaging.profiling import median_times
from seqimaging.report import interval_rows
from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.training import fit_predict
from seqimaging.video import UCF101, FeatureDataset, Segments
from seqimaging.video.synthetic import make_action_clips

PUBLISHED = (  # method, UCF101 accuracy, source
    ("LRCN: CNN features → LSTM, RGB", 0.682, "Donahue et al., CVPR 2015 (RGB 68–71 %)"),
    ("LRCN single frame, RGB", 0.674, "Donahue et al., CVPR 2015"),
    ("LRCN, RGB + optical flow", 0.829, "Donahue et al., CVPR 2015"),
    ("two-stream ConvNet", 0.880, "Simonyan & Zisserman, NeurIPS 2014"),
    ("TSN, RGB + flow", 0.942, "Wang et al., ECCV 2016"),
)


@dataclass(frozen=True)
class VideoOptions(BenchOptions):
    """:class:`BenchOptions` and the split, the ImageNet weights file and the frame rate.

    Args:
        split: the official split, 1, 2 or 3.
        weights: torchvision's ResNet-18 ImageNet state dict; None keeps it random.
        fps: the rate frames are encoded at; None every frame.
    """

    split: int = 1
    weights: Path | None = None
    fps: float | None = None


@dataclass(frozen=True)
class VideoConfig:
    """Sizes of the run.

    Args:
        size: shorter side of the encoded frames.
        segments: TSN segments (frames) per clip.
        epochs: of the LSTM.
        batch_size: clips per step.
        lr: Adam's learning rate.
        hidden: LSTM hidden size.
        layers: LSTM layers.
        dropout: before the linear head.
        bootstrap: resamples of the CIs.
        groups: groups of the generated stand-in (25 as UCF101).
        clips: generated clips per class and group.
        frames: generated frames per clip.
        image: generated frame size.
        workers: DataLoader workers decoding while the encoder runs.
    """

    size: int
    segments: int
    epochs: int
    batch_size: int
    lr: float
    hidden: int
    layers: int
    dropout: float
    bootstrap: int
    groups: int
    clips: int
    frames: int
    image: int
    workers: int


FULL = VideoConfig(112, 8, 30, 16, 1e-3, 512, 2, 0.5, 2000, 25, 2, 24, 64, 2)
QUICK = VideoConfig(32, 4, 2, 4, 1e-3, 16, 2, 0.0, 50, 9, 1, 12, 32, 0)
TOP_K = (1, 5)


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, k: int) -> float:
    """The fraction of cases whose label is among their ``k`` most probable classes."""
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def _centre_vectors(data: FeatureDataset, segments: int) -> np.ndarray:
    """``[videos, segments, D]``: the vectors of each video's TSN centre frames."""
    centre = Segments(segments)
    rows = []
    for entry in data.entries:
        features = np.load(entry, mmap_mode="r")
        rows.append(np.asarray(features[centre.indices(len(features), training=False)[0]]))
    return np.stack(rows).astype(np.float32)


def _logistic(x: np.ndarray, y: np.ndarray, seed: int):
    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)
    ).fit(x, y)


def _full_probabilities(model, x: np.ndarray, classes: int) -> np.ndarray:
    """``predict_proba`` with a column for every class (one absent from training gets 0)."""
    out = np.zeros((len(x), classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


def _baselines(train: FeatureDataset, test: FeatureDataset, config: VideoConfig, seed: int):
    classes = len(train.class_names)
    y_train = np.array(train.labels)
    x_train, x_test = (_centre_vectors(d, config.segments) for d in (train, test))
    frames = _logistic(
        x_train.reshape(-1, x_train.shape[-1]), np.repeat(y_train, config.segments), seed
    )
    per_frame = _full_probabilities(frames, x_test.reshape(-1, x_test.shape[-1]), classes)
    pooled = _logistic(x_train.mean(axis=1), y_train, seed)
    majority = class_frequencies(y_train, classes)
    return {
        "single frame (averaged predictions)": per_frame.reshape(
            len(x_test), config.segments, -1
        ).mean(1),
        "mean-pooled features": _full_probabilities(pooled, x_test.mean(axis=1), classes),
        "majority class": np.tile(majority, (len(x_test), 1)),
    }


def _lstm(
    train: FeatureDataset, test: FeatureDataset, config: VideoConfig, options: VideoOptions
) -> np.ndarray:
    def make_task(_):
        return ClassificationTask(
            "cnn_lstm_video_classifier",
            in_channels=train.feature_size,
            num_classes=len(train.class_names),
            model_kwargs={
                "encoder": "identity",
                "hidden_channels": config.hidden,
                "num_layers": config.layers,
                "dropout": config.dropout,
            },
            lr=config.lr,
        )

    return fit_predict(
        make_task,
        [(train, test)],
        batch_size=config.batch_size,
        seed=options.seed,
        device=options.device,
        max_epochs=config.epochs,
    ).numpy()


def _throughput(test: UCF101, config: VideoConfig) -> dict[str, float]:
    """Frames per second on one core, medians of 3 alternating runs after one warm-up:
    decoding a batch of TSN clips (frame index built), and the end-to-end model on it."""
    picks = range(min(config.batch_size, len(test)))
    for i in picks:
        test.timeline(test.records[i])
    frames = torch.stack([test[i]["frames"] for i in picks])
    model = build_model("cnn_lstm_video_classifier", num_classes=len(test.class_names))

    def decode() -> None:
        torch.stack([test[i]["frames"] for i in picks])

    def train() -> None:
        model.train()
        model(frames).sum().backward()

    @torch.inference_mode()
    def inference() -> None:
        model.eval()
        model(frames)

    fns = {"decode": decode, "model_train": train, "model_inference": inference}
    times = median_times(fns, repeats=3, warmup=1, device=torch.device("cpu"))
    rates = {
        f"{name}_frames_per_s": frames.shape[0] * frames.shape[1] / t for name, t in times.items()
    }
    for mode in ("train", "inference"):
        rates[f"decode_over_{mode}"] = (
            rates["decode_frames_per_s"] / rates[f"model_{mode}_frames_per_s"]
        )
    return rates


def bench(out: Path, options: VideoOptions) -> dict:
    """Run the benchmark into ``out``; return what ``results.json`` holds."""
    config = QUICK if options.quick else FULL
    stand_in = options.root is None
    if stand_in:
        root = BenchRecord.stand_in_data(
            out,
            f"actions-{config.groups}g{config.clips}c{config.frames}f{config.image}px-seed{options.seed}",
            lambda folder: make_action_clips(
                folder,
                groups=config.groups,
                clips=config.clips,
                frames=config.frames,
                size=config.image,
                seed=options.seed,
            ),
        )
        data = "generated action clips (4 motions × 2 directions of time), UCF101 layout"
    else:
        root = Path(options.root)
        data = f"UCF101 at {root} (Soomro et al., 2012; see data_cards/ucf101.md)"
    record = BenchRecord(
        "ucf101",
        out,
        "action recognition, CNN → LSTM on frozen ResNet-18 features",
        data=data,
        stand_in=stand_in,
        split=f"official split {options.split}: the train list trains, the test list is scored "
        f"once; seed {options.seed}",
        seed=options.seed,
    )
    if options.weights is None:
        record.text(
            "> **ResNet-18 with random weights** (no `--weights`): frozen random features, "
            "not ImageNet's; pass torchvision's `resnet18-f37072fd.pth` for the recipe."
        )
    common = {
        "sampling": Segments(config.segments),
        "size": config.size,
        "fps": options.fps,
        "index_folder": out / "index",
    }
    videos = {
        fold: UCF101(root, options.split, fold, training=fold == "train", **common)
        for fold in ("train", "test")
    }
    torch.manual_seed(options.seed)
    encoder = ImageNetResNet("resnet18", weights=options.weights)
    cached = {
        fold: FeatureDataset(
            data, encoder, out / "features", workers=config.workers, device=options.device or "cpu"
        )
        for fold, data in videos.items()
    }
    labels = np.array(cached["test"].labels)
    probabilities = {
        "CNN+LSTM (frozen features)": _lstm(cached["train"], cached["test"], config, options)
    }
    probabilities |= _baselines(cached["train"], cached["test"], config, options.seed)
    scores = {
        name: {
            f"top{k}": bootstrap_ci(
                labels,
                p,
                lambda y, q, k=k: top_k_accuracy(y, q, k),
                n_boot=config.bootstrap,
                seed=options.seed,
            )
            for k in TOP_K
        }
        for name, p in probabilities.items()
    }
    train = cached["train"]
    record.section(
        "Accuracy on the test list",
        f"{len(labels)} test and {len(train)} training videos, {len(train.class_names)} "
        "classes; 95 % bootstrap CIs over videos.",
    )
    record.table(interval_rows(scores, {f"top-{k}": f"top{k}" for k in TOP_K}))
    encoding = {fold: asdict(data.stats) for fold, data in cached.items()}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rates = _throughput(videos["test"], config)
    finally:
        torch.set_num_threads(threads)
    record.section("Throughput (frames per second, one core)")
    record.table([rates])
    if not stand_in:
        record.section("Published (UCF101, not this run)")
        record.table([{"method": m, "accuracy": a, "source": s} for m, a, s in PUBLISHED])
    return record.write(
        {"metrics": scores, "throughput": rates, "encoding": encoding, "published": PUBLISHED},
        config,
        weights=str(options.weights) if options.weights else None,
        fps=options.fps,
    )
