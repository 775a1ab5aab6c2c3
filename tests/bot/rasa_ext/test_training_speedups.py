"""bot/rasa_ext/training_speedups.py: the same results as Rasa's own code, in less time."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.exceptions import SchemaValidationError
from rasa.shared.nlu.training_data.entities_parser import get_validated_dict
from rasa.shared.nlu.training_data.features import Features
from rasa.utils.tensorflow.data_generator import RasaDataGenerator
from rasa.utils.tensorflow.model_data import FeatureArray

import bot.rasa_ext
from bot.rasa_ext.training_speedups import sparse_batch_values, sparse_fingerprint

bot.rasa_ext.install()


def random_examples(seed: int, count: int = 40, width: int = 300, fmt: str = "coo") -> list:
    rng = np.random.default_rng(seed)
    return [
        scipy.sparse.random(
            int(rng.integers(1, 30)), width, density=0.02, format=fmt, random_state=int(rng.integers(1e9))
        )
        for _ in range(count)
    ]


def rasa_original(matrices: list) -> list[np.ndarray]:
    """Rasa 3.6's RasaDataGenerator._scipy_matrix_to_values for 3-d features, as shipped."""
    coo = [x.tocoo() for x in matrices]
    indices = np.hstack([np.vstack([i * np.ones_like(x.row), x.row, x.col]) for i, x in enumerate(coo)]).T
    data = np.hstack([x.data for x in coo])
    shape = np.array((len(coo), max(x.shape[0] for x in coo), coo[0].shape[-1]))
    return [indices.astype(np.int64), data.astype(np.float32), shape.astype(np.int64)]


@pytest.mark.parametrize("fmt", ["coo", "csr"])
def test_sparse_batches_equal_rasa_s_own(fmt):
    matrices = random_examples(5, fmt=fmt)
    mine, theirs = sparse_batch_values(matrices), rasa_original(matrices)
    for got, expected in zip(mine, theirs):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    # and the installed patch is what Rasa's data generator calls
    patched = RasaDataGenerator._scipy_matrix_to_values(
        FeatureArray(np.array(matrices, dtype=object), number_of_dimensions=3)
    )
    for got, expected in zip(patched, theirs):
        np.testing.assert_array_equal(got, expected)


def test_sparse_fingerprints_are_stable_and_tell_matrices_apart():
    matrix = random_examples(7, count=1)[0]
    assert sparse_fingerprint(matrix) == sparse_fingerprint(matrix.tocsr()) == sparse_fingerprint(matrix.copy())
    changed = matrix.tolil()
    changed[0, 0] = 42.0
    assert sparse_fingerprint(changed) != sparse_fingerprint(matrix)
    assert sparse_fingerprint(matrix.T) != sparse_fingerprint(matrix)
    features = Features(matrix, "sequence", "text", "CountVectorsFeaturizer")
    assert (
        features.fingerprint() == Features(matrix.tocsr(), "sequence", "text", "CountVectorsFeaturizer").fingerprint()
    )
    assert features.fingerprint() != Features(matrix, "sequence", "text", "LexicalSyntacticFeaturizer").fingerprint()
    dense = Features(np.ones((2, 3)), "sentence", "text", "x")
    assert dense.fingerprint() == Features(np.ones((2, 3)), "sentence", "text", "x").fingerprint()


def test_entity_annotations_are_still_validated_in_full():
    assert get_validated_dict('"entity": "location", "value": "정발산동"') == {
        "entity": "location",
        "value": "정발산동",
    }
    with pytest.raises(SchemaValidationError, match="Failed to validate data"):
        get_validated_dict('"entity": 3')
    with pytest.raises(SchemaValidationError):
        get_validated_dict('"value": "no entity key"')
