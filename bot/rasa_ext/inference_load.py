"""Rasa's TensorFlow models (DIET, ResponseSelector, TED) loaded for answering only.

`RasaModel.load` (rasa/utils/tensorflow/models.py) builds an empty model, compiles it with Adam
and *trains it on one example* so that every variable exists, then restores the checkpoint over
it and predicts once to trace the prediction graph. The training step leaves behind what
answering never uses: Adam's two slots per trainable variable (twice the model's weights, restored
from the checkpoint too) and the traced training graph. bench/memory.py put the model at about
930 MB of a 1.7 GB Rasa process (issue 18, point 3).

Here a model loaded for answering (`finetune_mode=False`, which is how `rasa run` and
`python -m bot.server run` load it) is built by one *eager* prediction on the example Rasa already
passes for warming up (`predict_data_example`), which creates exactly the layers and variables
that answering uses. The checkpoint is then restored over those variables; the optimizer's saved
state finds no optimizer and is left in the file (`expect_partial()`; any variable created later
is still restored when it appears, as TensorFlow's object-based checkpoints defer what they cannot
match yet). What the eager call cached from the random weights (the labels' embeddings of
`prepare_for_predict`) is dropped, and Rasa's own warm-up prediction traces the prediction graph
from the restored weights, as before. The predictions are the same as with Rasa's load
(tests/bot/rasa_ext/test_inference_load.py compares them).

Fine-tuning (`finetune_mode=True`, `rasa train --finetune`) and a load without a prediction
example keep Rasa's own path: they need the optimizer. ``SOTONG_RASA_INFERENCE_LOAD=0`` (read when
:func:`install` runs) keeps Rasa's path everywhere, to compare (bench/memory.py ``--variant``).

    from bot.rasa_ext.inference_load import install
    install()   # idempotent; bot.rasa_ext.install() (python -m bot.server) calls it
"""

from __future__ import annotations

import logging
from typing import Any

from bot.settings import env_bool

logger = logging.getLogger(__name__)

_MARKER = "_sotong_inference_load"
ENABLED_ENV = "SOTONG_RASA_INFERENCE_LOAD"


def install() -> bool:
    """Replaces `RasaModel.load` by :func:`load_for_inference`'s path for answering; False if it
    was already replaced or is switched off (SOTONG_RASA_INFERENCE_LOAD=0)."""
    from rasa.utils.tensorflow.models import RasaModel

    if getattr(RasaModel, _MARKER, None) is not None:
        return False
    if not env_bool(ENABLED_ENV, True):
        logger.info("Rasa's TensorFlow models load with Rasa's own path (%s is off)", ENABLED_ENV)
        return False
    original = RasaModel.load.__func__

    def load(
        cls: type[RasaModel],
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode or not predict_data_example:
            rasa_load = getattr(RasaModel, _MARKER)
            return rasa_load(
                cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
            )
        return load_for_inference(cls, model_file_name, predict_data_example, *args, **kwargs)

    load.__doc__ = original.__doc__
    RasaModel.load = classmethod(load)
    setattr(RasaModel, _MARKER, original)
    return True


def installed() -> bool:
    """Whether install() has replaced `RasaModel.load` in this process."""
    from rasa.utils.tensorflow.models import RasaModel

    return getattr(RasaModel, _MARKER, None) is not None


def load_for_inference(
    cls: type[Any], model_file_name: str, predict_data_example: Any, *args: Any, **kwargs: Any
) -> Any:
    """A `cls` model (arguments as for `RasaModel.load`) with the weights of `model_file_name`,
    built and warmed up by predictions on `predict_data_example`, without optimizer or training
    graph."""
    from rasa.utils.tensorflow.constants import RUN_EAGERLY

    logger.debug("Loading the model from %s for inference only...", model_file_name)
    model = cls(*args, **kwargs)
    run_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)

    # One eager prediction creates the variables that answering uses (no graph is traced).
    model.run_eagerly = True
    model.run_inference(predict_data_example)
    model.run_eagerly = run_eagerly

    model.load_weights(model_file_name).expect_partial()

    # What the eager prediction prepared came from the random initial weights.
    model.prepared_for_prediction = False
    model._tf_predict_step = None
    # Rasa's warm-up: the first prediction traces the prediction graph.
    model.run_inference(predict_data_example)
    logger.debug("Finished loading the model for inference.")
    return model
