"""Schema check of the stations' calls: the ``ocpp`` library's JSON schemas, compiled once by ``fastjsonschema``.

The ``ocpp`` library checks a payload with ``jsonschema``'s ``Draft4Validator`` (about 250 us for a 1.6 MeterValues
of 6 sampled values on this machine; ``fastjsonschema``'s compiled function of the same schema takes about 12 us).
:func:`validate_call` runs the compiled check first; a payload it accepts is valid. A payload it refuses (or any
action whose schema could not be compiled, and the 1.6 actions the library parses with ``Decimal``) goes through
the library's own check, so the CallError a station gets is exactly the library's; when the library accepts what
the compiled check refused (the compiled check also tests ``format: date-time``, ``jsonschema`` does not), the
payload is accepted. ``tests/test_operate_schemas.py`` checks that the compiled check never accepts a payload the
library refuses (hypothesis, on mutated payloads of every action evfleet handles).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import fastjsonschema
from ocpp.messages import Call, get_validator, validate_payload

__all__ = ["compiled_validator", "validate_call"]

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_DECIMAL_ACTIONS_16 = frozenset({"SetChargingProfile", "RemoteStartTransaction"})  # parsed with Decimal (library)


@functools.lru_cache(maxsize=512)
def compiled_validator(message_type_id: int, action: str, ocpp_version: str) -> Callable[[Any], Any] | None:
    """The compiled check of ``action``'s schema (None when there is none or it cannot be compiled)."""
    if ocpp_version == "1.6" and action in _DECIMAL_ACTIONS_16:
        return None
    try:
        schema = dict(get_validator(message_type_id, action, ocpp_version).schema)
        schema["$schema"] = _DRAFT4  # the library checks every version's schemas as draft 4 (no 1.0 as integer)
        return fastjsonschema.compile(schema, use_default=False)
    except Exception:  # no schema for the action, or one fastjsonschema cannot compile: the library decides
        return None


async def validate_call(message: Call, ocpp_version: str) -> None:
    """Raise the ``ocpp`` library's ``OCPPError`` for a payload that breaks its action's schema (see module)."""
    check = compiled_validator(message.message_type_id, message.action, ocpp_version)
    if check is not None:
        try:
            check(message.payload)
            return
        except fastjsonschema.JsonSchemaException:
            pass
    await validate_payload(message, ocpp_version)
