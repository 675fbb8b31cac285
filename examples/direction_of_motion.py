"""Which way is the shape moving? Only a temporal model can tell.

Trains the ConvLSTM classifier, the classic CNN+LSTM and the static single-frame baseline
on MovingShapes (a shape moving right, down, left or up on a wrap-around image, so no
single frame shows the direction), with the same group split and seed, and prints each
model's test balanced accuracy next to the majority class.

    python examples/direction_of_motion.py      # about ten seconds on a 2-core CPU
"""

import lightning as L
import numpy as np

from seqimaging.data import SequenceDataModule
from seqimaging.tasks import ClassificationTask
from seqimaging.tasks.training import quiet_trainer
from seqimaging.testing import MovingShapes

MODELS = {
    "ConvLSTM": ("convlstm_classifier", {}),
    "CNN+LSTM": ("cnn_lstm_classifier", {"encoder": "small"}),
    "static (one frame)": ("static_classifier", {}),
}


def main(samples: int = 256, epochs: int = 20, seed: int = 0) -> dict[str, float]:
    data = SequenceDataModule(
        MovingShapes(samples, frames=4, size=16, group_size=2, seed=seed),
        batch_size=16,
        val_fraction=0.15,
        test_fraction=0.25,
        seed=seed,
    )
    data.setup()
    test_labels = np.array(data.labels)[data.test_indices]
    counts = np.bincount(test_labels, minlength=4)
    results = {"majority class": 1 / 4}  # balanced accuracy of always answering one class
    for name, (model, options) in MODELS.items():
        L.seed_everything(seed, verbose=False)
        task = ClassificationTask(
            model,
            in_channels=1,
            num_classes=4,
            lr=3e-3,
            model_kwargs={"stride": 2, "width": 8, "hidden_channels": 16} | options,
        )
        trainer = quiet_trainer(validate=True, max_epochs=epochs)
        trainer.fit(task, data)
        results[name] = trainer.test(task, data, verbose=False)[0]["test/balanced_accuracy"]
    print(f"test: {len(test_labels)} sequences, class counts {counts.tolist()}, seed {seed}")
    for name, value in results.items():
        print(f"{name:20s} balanced accuracy {value:.3f}")
    return results


if __name__ == "__main__":
    main()
