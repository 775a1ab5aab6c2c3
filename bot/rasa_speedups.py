"""A measured speed-up of Rasa 3.6's server process, applied at run time.

`RemoteAction._validate_action_result` checks every action server answer with
`jsonschema.validate(answer, schema)`. That function first validates the *schema* against
JSON Schema's meta-schema (`check_schema`) and builds a new validator, on every call. With
jsonschema 4.17 (Draft 2020-12 meta-schema, `$dynamicRef`) this dominated the Rasa process:
a py-spy profile under load (bench/cluster_load.py, 20 citizens) put 61 % of the server's samples
in `_validate_action_result` → `check_schema`, for 2.6 action calls per turn. The schema is a
constant, so it is checked once and its validator is reused; each answer is still validated in
full and an invalid answer raises the same `ValidationError` with the same message.

    from bot.rasa_speedups import install
    install()   # idempotent; the production profile's tracker and lock stores call it
"""
from __future__ import annotations

from typing import Any, Dict, Text

_MARKER = "_sotong_cached_validator"


def install() -> bool:
    """Replaces RemoteAction._validate_action_result; False if it was already replaced."""
    from jsonschema import exceptions
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, _MARKER, None) is not None:
        return False
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self, result: Dict[Text, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result
    setattr(RemoteAction, _MARKER, validator)
    return True
