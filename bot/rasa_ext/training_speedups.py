"""Measured speed-ups of Rasa 3.6's training (issue 14, point 8), applied at run time.

A py-spy profile of a from-scratch `rasa train` of config.yml (bench/README.md, "Training time")
put half of the run outside the neural networks, in three pieces of pure Python:

1. Entity annotations validated with a cached validator. Every `[text]{"entity": ...}` in the
   NLU data goes through `rasa.shared.utils.validation.validate_training_data`, which calls
   `jsonschema.validate`: that checks the *schema* against JSON Schema's meta-schema and builds a
   new validator on every call (the same cost bot/rasa_ext/speedups.py removed from the server).
   Here each schema is checked once and its validator reused; data is still validated in full
   and an invalid annotation raises the same SchemaValidationError with the same message.
2. Sparse features fingerprinted from their arrays. The training cache fingerprints every node's
   output, so every message's features, after every featurizer; Rasa hashed a sparse matrix by
   formatting each of its values as text ("(i,j)  v" lines). Here the hash is taken over the
   matrix's canonical CSR arrays and shape: as stable across runs, the same for equal matrices,
   a small fraction of the cost. (The fingerprints differ from stock Rasa's, so a training
   cache written without this patch is not reused, nothing else.)
3. Sparse batches built in one step. DIET and the ResponseSelector convert every batch's sparse
   features to (indices, values, shape) per example with small numpy stacks, on every batch of
   every epoch; here the same arrays, in the same order, come from one concatenation.

    from bot.rasa_ext.training_speedups import install
    install()   # idempotent; bot.rasa_ext.install() (python -m bot.server) calls it

The trainer's tools read the NLU data through Rasa's reader too and apply only the first
(`install_schema_validators()`, which imports no TensorFlow).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import scipy.sparse

_MARKER = "_sotong_training_speedups"
_VALIDATORS_MARKER = "_sotong_cached_schema_validators"


def install() -> bool:
    """Applies every speed-up of this module; False if they were already applied."""
    from rasa.shared.utils import validation

    if getattr(validation, _MARKER, False):
        return False
    install_schema_validators()
    _install_sparse_fingerprint()
    _install_sparse_batches()
    setattr(validation, _MARKER, True)
    return True


def install_schema_validators() -> None:
    """Speed-up 1 alone (idempotent): entity annotations validated with cached validators."""
    from rasa.shared.utils import validation

    if not getattr(validation, _VALIDATORS_MARKER, False):
        _install_cached_schema_validators()
        setattr(validation, _VALIDATORS_MARKER, True)


def _install_cached_schema_validators() -> None:
    from jsonschema import exceptions
    from jsonschema.validators import validator_for
    from rasa.shared.constants import DOCS_URL_TRAINING_DATA
    from rasa.shared.exceptions import SchemaValidationError
    from rasa.shared.utils import validation

    validators: dict[str, Any] = {}

    def validator(schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True, default=str)
        if key not in validators:
            validator_class = validator_for(schema)
            validator_class.check_schema(schema)
            validators[key] = validator_class(schema)
        return validators[key]

    def validate_training_data(json_data: dict[str, Any], schema: dict[str, Any]) -> None:
        error = exceptions.best_match(validator(schema).iter_errors(json_data))
        if error is not None:
            error.message += (
                f". Failed to validate data, make sure your data "
                f"is valid. For more information about the format visit "
                f"{DOCS_URL_TRAINING_DATA}."
            )
            raise SchemaValidationError.create_from(error) from error

    validation.validate_training_data = validate_training_data


def sparse_fingerprint(matrix: scipy.sparse.spmatrix) -> str:
    """A stable hash of a sparse matrix: equal matrices (whatever their format) hash alike."""
    csr = matrix.tocsr(copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(np.asarray(csr.shape, dtype=np.int64).tobytes())
    for array, dtype in ((csr.indptr, np.int64), (csr.indices, np.int64), (csr.data, csr.data.dtype)):
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()


def _install_sparse_fingerprint() -> None:
    import rasa.shared.utils.io
    from rasa.shared.nlu.training_data.features import Features

    original = Features.fingerprint

    def fingerprint(self: Features) -> str:
        if self._cached_fingerprint is None and not self.is_dense():
            self._cached_fingerprint = rasa.shared.utils.io.deep_container_fingerprint(
                [self.type, self.origin, self.attribute, sparse_fingerprint(self.features)]
            )
        return original(self)

    Features.fingerprint = fingerprint


def sparse_batch_values(matrices: list[Any]) -> list[np.ndarray]:
    """Rasa's RasaDataGenerator._scipy_matrix_to_values for 3-d features, in one step: the
    (example, row, column) indices, the values and the dense shape of a batch."""
    coo = [m if isinstance(m, scipy.sparse.coo_matrix) else m.tocoo() for m in matrices]
    counts = [len(m.row) for m in coo]
    indices = np.stack(
        [
            np.repeat(np.arange(len(coo), dtype=np.int64), counts),
            np.concatenate([m.row for m in coo]).astype(np.int64),
            np.concatenate([m.col for m in coo]).astype(np.int64),
        ],
        axis=1,
    )
    data = np.concatenate([m.data for m in coo]).astype(np.float32)
    shape = np.array((len(coo), max(m.shape[0] for m in coo), coo[0].shape[-1]), dtype=np.int64)
    return [indices, data, shape]


def _install_sparse_batches() -> None:
    from rasa.utils.tensorflow.data_generator import RasaDataGenerator

    original = RasaDataGenerator._scipy_matrix_to_values

    def _scipy_matrix_to_values(array_of_sparse: Any) -> list[np.ndarray]:
        if array_of_sparse.number_of_dimensions == 4:
            return original(array_of_sparse)
        return sparse_batch_values(list(array_of_sparse))

    RasaDataGenerator._scipy_matrix_to_values = staticmethod(_scipy_matrix_to_values)
