"""The compiled schema check of the receive path never accepts what the ``ocpp`` library refuses, and a refused
payload gets exactly the library's CallError (``evfleet.operate.schemas``)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, MessageType, get_validator, validate_payload

from evfleet.operate.schemas import compiled_validator, validate_call

TS = "2026-03-01T08:00:00Z"
SAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("1.6", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "firmwareVersion": "1"}),
    ("1.6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": TS}),
    ("1.6", "Authorize", {"idTag": "TOK-1"}),
    ("1.6", "StartTransaction", {"connectorId": 1, "idTag": "TOK-1", "meterStart": 0, "timestamp": TS}),
    ("1.6", "StopTransaction", {"meterStop": 10, "timestamp": TS, "transactionId": 3, "reason": "Local"}),
    (
        "1.6",
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 3,
            "meterValue": [
                {
                    "timestamp": TS,
                    "sampledValue": [
                        {"value": "7000.0", "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": "10.2", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
                        {"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                    ],
                }
            ],
        },
    ),
    ("2.0.1", "BootNotification", {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}),
    (
        "2.0.1",
        "StatusNotification",
        {"timestamp": TS, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
    ),
    (
        "2.0.1",
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": TS,
            "triggerReason": "CablePluggedIn",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "tx-1"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "TOK-1", "type": "ISO14443"},
        },
    ),
    (
        "2.0.1",
        "MeterValues",
        {
            "evseId": 1,
            "meterValue": [
                {
                    "timestamp": TS,
                    "sampledValue": [
                        {"value": 7000.0, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                        {"value": 55, "measurand": "SoC", "location": "EV", "unitOfMeasure": {"unit": "Percent"}},
                    ],
                }
            ],
        },
    ),
    (
        "2.0.1",
        "NotifyEVChargingNeeds",
        {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_three_phase",
                "departureTime": TS,
                "acChargingParameters": {
                    "energyAmount": 20000,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 32,
                    "evMaxVoltage": 400,
                },
            },
        },
    ),
]

JSON_VALUES = hs.one_of(
    hs.none(),
    hs.booleans(),
    hs.integers(-(2**40), 2**40),
    hs.floats(allow_nan=False, allow_infinity=False),
    hs.text(max_size=60),
    hs.just([]),
    hs.just({}),
    hs.sampled_from(["Charging", "W", "Power.Active.Import", "L1", TS, "2026-13-45T99:00:00Z", "1.0"]),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(payload: dict[str, Any], path: tuple[Any, ...], op: str, value: Any, key: str) -> dict[str, Any]:
    data = copy.deepcopy(payload)
    if not path:
        if op == "add":
            data[key] = value
        return data
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    if op == "delete" and isinstance(parent, dict):
        del parent[last]
    elif op == "add" and isinstance(parent[last], dict):
        parent[last][key] = value
    else:
        parent[last] = value
    return data


def _library_accepts(version: str, action: str, payload: dict[str, Any]) -> bool:
    return get_validator(MessageType.Call, action, version).is_valid(payload)


@pytest.mark.parametrize(("version", "action", "payload"), SAMPLES, ids=[f"{v}-{a}" for v, a, _ in SAMPLES])
def test_samples_are_valid_for_both_checks(version: str, action: str, payload: dict[str, Any]) -> None:
    check = compiled_validator(MessageType.Call, action, version)
    assert check is not None
    check(payload)
    assert _library_accepts(version, action, payload)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=hs.sampled_from(SAMPLES),
    pick=hs.integers(0, 10**6),
    op=hs.sampled_from(["replace", "delete", "add"]),
    value=JSON_VALUES,
    key=hs.sampled_from(["extra", "value", "unit", "idTag", "connectorId"]),
)
def test_compiled_check_never_accepts_what_the_library_refuses(
    sample: tuple[str, str, dict[str, Any]], pick: int, op: str, value: Any, key: str
) -> None:
    version, action, payload = sample
    paths = _paths(payload)
    mutated = _mutate(payload, paths[pick % len(paths)], op, value, key)
    check = compiled_validator(MessageType.Call, action, version)
    try:
        check(mutated)
        fast_ok = True
    except Exception:
        fast_ok = False
    if fast_ok:
        assert _library_accepts(version, action, mutated), (action, mutated)


async def _error_of(fn: Any, msg: Call, version: str) -> str | None:
    try:
        await fn(msg, version)
    except OCPPError as error:
        return type(error).__name__ + ":" + error.code
    return None


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    [
        ("1.6", "MeterValues", {"connectorId": "one", "meterValue": []}),
        ("1.6", "MeterValues", {"meterValue": []}),
        ("1.6", "StartTransaction", {"connectorId": 1, "idTag": "x" * 21, "meterStart": 0, "timestamp": TS}),
        ("2.0.1", "MeterValues", {"evseId": 1, "meterValue": [], "bogus": 1}),
        ("2.0.1", "TransactionEvent", {"eventType": "Started"}),
        (
            "1.6",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": "x"},
        ),
    ],
)
def test_same_outcome_as_the_library(version: str, action: str, payload: dict[str, Any]) -> None:
    msg = Call(unique_id="1", action=action, payload=payload)
    ours = asyncio.run(_error_of(validate_call, msg, version))
    theirs = asyncio.run(_error_of(validate_payload, Call(unique_id="1", action=action, payload=payload), version))
    assert ours == theirs
