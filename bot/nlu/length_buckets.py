"""Training batches of similar length: DIET and the ResponseSelector pad less and train faster.

Rasa pads every training batch to its longest message. Our data is mostly short (3,330 messages:
6.5 tokens on average, 90 % at most 11) with a few long complaint bodies (up to 49 tokens), and a
random batch of 128 almost always holds one of them, so the transformer, the CRF and the
per-token layers compute mostly padding. `LengthBucketedModelData` keeps Rasa's "balanced"
batching (every label in about every other batch), then sorts each run of `bucket_batches`
batches by length and shuffles the order of the full batches, so a batch holds messages of
similar length; the model, the loss and the data are unchanged. `bucket_batches: 0` turns it off.

`BucketedDIETClassifier` is Rasa's DIETClassifier with this batching (config.yml); the
GatedResponseSelector uses it too. Prediction is untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import SEQUENCE_LENGTH
from rasa.utils.tensorflow.model_data import Data, RasaModelData

BUCKET_BATCHES = "bucket_batches"
DEFAULT_BUCKET_BATCHES = 8


def bucketed_order(lengths: np.ndarray, batch_size: int, bucket_batches: int) -> np.ndarray:
    """A permutation of range(len(lengths)) whose batches hold examples of similar length.

    Each run of `bucket_batches` batches is sorted by length (stable, so the balanced mix of
    labels at one length is kept), then the full batches are shuffled (np.random, which Rasa
    seeds with the component's random_seed); a short last batch stays last, where Rasa's data
    generator expects it.
    """
    count = len(lengths)
    if bucket_batches <= 0 or batch_size <= 0 or count <= batch_size:
        return np.arange(count)
    chunk = batch_size * bucket_batches
    order = np.concatenate(
        [start + np.argsort(lengths[start : start + chunk], kind="stable") for start in range(0, count, chunk)]
    )
    full = count // batch_size
    batches = order[: full * batch_size].reshape(full, batch_size)
    shuffled = batches[np.random.permutation(full)].reshape(-1)
    return np.concatenate([shuffled, order[full * batch_size :]])


class LengthBucketedModelData(RasaModelData):
    """RasaModelData whose balanced batches hold examples of similar length (see the module)."""

    def __init__(self, model_data: RasaModelData, bucket_batches: int) -> None:
        super().__init__(label_key=model_data.label_key, label_sub_key=model_data.label_sub_key, data=model_data.data)
        self.sparse_feature_sizes = model_data.sparse_feature_sizes
        self.bucket_batches = bucket_batches

    def balanced_data(self, data: Data, batch_size: int, shuffle: bool) -> Data:
        balanced = super().balanced_data(data, batch_size, shuffle)
        lengths = balanced.get(TEXT, {}).get(SEQUENCE_LENGTH)
        if not shuffle or not lengths:
            return balanced
        order = bucketed_order(np.asarray(lengths[0]).reshape(-1), batch_size, self.bucket_batches)
        return self._data_for_ids(balanced, order)


class LengthBucketedTraining:
    """Mix-in for Rasa's DIET-based components: their training data batches by length."""

    component_config: dict[str, Any]

    @classmethod
    def with_bucket_default(cls, defaults: dict[str, Any]) -> dict[str, Any]:
        return {**defaults, BUCKET_BATCHES: DEFAULT_BUCKET_BATCHES}

    def preprocess_train_data(self, training_data: TrainingData) -> RasaModelData:
        model_data = super().preprocess_train_data(training_data)  # type: ignore[misc]
        bucket_batches = int(self.component_config.get(BUCKET_BATCHES, DEFAULT_BUCKET_BATCHES))
        if model_data.is_empty() or bucket_batches <= 0:
            return model_data
        return LengthBucketedModelData(model_data, bucket_batches)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class BucketedDIETClassifier(LengthBucketedTraining, DIETClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return LengthBucketedTraining.with_bucket_default(DIETClassifier.get_default_config())
