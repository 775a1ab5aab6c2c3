"""Batches of similar length (bot/nlu/length_buckets.py): the same examples, less padding."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.utils.tensorflow.constants import IDS as LABEL_IDS
from rasa.utils.tensorflow.constants import SEQUENCE_LENGTH
from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData

from bot.nlu.length_buckets import LengthBucketedModelData, bucketed_order


def padded_cost(lengths: np.ndarray, order: np.ndarray, batch_size: int) -> int:
    """Tokens a model computes when each batch is padded to its longest example."""
    ordered = lengths[order]
    return sum(
        int(ordered[i : i + batch_size].max()) * len(ordered[i : i + batch_size])
        for i in range(0, len(ordered), batch_size)
    )


def corpus_like_lengths(count: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 12, size=count)
    lengths[rng.choice(count, size=count // 50, replace=False)] = rng.integers(25, 50, size=count // 50)  # long bodies
    return lengths


def test_the_order_is_a_permutation_that_pads_far_less():
    lengths = corpus_like_lengths(1000)
    np.random.seed(7)
    order = bucketed_order(lengths, batch_size=64, bucket_batches=8)
    assert sorted(order.tolist()) == list(range(1000))
    random_cost = padded_cost(lengths, np.arange(1000), 64)
    assert padded_cost(lengths, order, 64) < random_cost / 2


def test_the_short_last_batch_stays_last_and_full_batches_move():
    lengths = corpus_like_lengths(1000)
    np.random.seed(7)
    order = bucketed_order(lengths, batch_size=64, bucket_batches=8)
    tail = 1000 % 64
    last_chunk = set(range(512, 1000))  # chunks of 8 batches: 0-511, 512-999
    assert set(order[-tail:].tolist()) <= last_chunk  # the longest of the last chunk, last
    rest_of_chunk = last_chunk - set(order[-tail:].tolist())
    assert lengths[order[-tail:]].min() >= max(lengths[i] for i in rest_of_chunk)
    batches = [tuple(sorted(order[i : i + 64].tolist())) for i in range(0, 960, 64)]
    assert len(set(batches)) == 15  # whole batches, not overlapping


@pytest.mark.parametrize("bucket_batches,count,batch_size", [(0, 100, 10), (4, 10, 64), (4, 0, 8)])
def test_nothing_moves_when_off_or_too_small(bucket_batches, count, batch_size):
    order = bucketed_order(np.arange(count), batch_size, bucket_batches)
    assert order.tolist() == list(range(count))


def test_balanced_batches_keep_every_example_and_label():
    lengths = corpus_like_lengths(300)
    labels = np.arange(300) % 5
    features = FeatureArray(np.array([np.zeros((n, 2)) for n in lengths], dtype=object), number_of_dimensions=3)
    data = {
        TEXT: {SEQUENCE_LENGTH: [FeatureArray(lengths, number_of_dimensions=1)], "sequence": [features]},
        "label": {LABEL_IDS: [FeatureArray(labels.reshape(-1, 1), number_of_dimensions=2)]},
    }
    model_data = LengthBucketedModelData(RasaModelData("label", LABEL_IDS, data), bucket_batches=4)
    np.random.seed(1)
    batched = model_data.balanced_data(model_data.data, batch_size=32, shuffle=True)
    got_lengths = np.asarray(batched[TEXT][SEQUENCE_LENGTH][0])
    got_shapes = [f.shape[0] for f in batched[TEXT]["sequence"][0]]
    assert got_lengths.tolist() == got_shapes  # features moved together with their lengths
    assert set(np.asarray(batched["label"][LABEL_IDS][0]).reshape(-1).tolist()) == set(range(5))
    plain = RasaModelData("label", LABEL_IDS, data)
    np.random.seed(1)
    unbucketed = np.asarray(plain.balanced_data(plain.data, batch_size=32, shuffle=True)[TEXT][SEQUENCE_LENGTH][0])
    assert len(got_lengths) == len(unbucketed)
    assert padded_cost(got_lengths, np.arange(len(got_lengths)), 32) < padded_cost(
        unbucketed, np.arange(len(unbucketed)), 32
    )
