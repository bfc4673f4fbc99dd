"""Typed strategy parameters: each strategy declares a frozen dataclass of its keyword parameters.

A field is declared with :func:`param` (default, unit, range, meaning); its annotation gives the type: ``float``,
``int`` or ``str``, optionally ``| None`` (``None`` then means "automatic": a default computed from the problem).
Building the dataclass validates every value: a wrong type, a NaN or an out-of-range value raises
:class:`~evfleet._common.errors.InputError` naming the parameter and the value. :func:`parse_params` builds it
from keyword arguments and rejects an unknown (e.g. misspelt) name, listing the valid ones.

Numbers are normalised (an ``int`` given for a ``float`` parameter becomes a ``float``, an integral ``float``
given for an ``int`` parameter an ``int``), so ``dataclasses.asdict`` of the result is a plain, JSON-safe dict
that builds the same parameters again.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from evfleet._common.errors import InputError

__all__ = ["NoParams", "ParamInfo", "StrategyParams", "markdown_rows", "param", "param_info", "parse_params"]

P = TypeVar("P", bound="StrategyParams")


def param(
    default: Any,
    doc: str,
    unit: str = "",
    *,
    ge: float | None = None,
    gt: float | None = None,
    choices: tuple[str, ...] | None = None,
    default_doc: str | None = None,
) -> Any:
    """A parameter field: ``default``, its meaning ``doc``, its ``unit`` ("" for a pure number), the bounds
    ``>= ge`` / ``> gt``, the allowed strings ``choices``; ``default_doc`` describes an automatic (``None``)
    default."""
    meta = {"doc": doc, "unit": unit, "ge": ge, "gt": gt, "choices": choices, "default_doc": default_doc}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamInfo:
    """What the documentation says about one parameter (from its field; ``kind`` is float, int or str)."""

    name: str
    kind: str
    optional: bool
    default: Any
    unit: str
    doc: str
    default_doc: str | None
    ge: float | None
    gt: float | None
    choices: tuple[str, ...] | None


def _kind(annotation: Any) -> tuple[type, bool]:
    """(base type, None allowed) of a field annotation ``float``, ``int``, ``str`` or ``X | None``."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and rest[0] in (float, int, str) and len(args) == 2:
            return rest[0], True
    elif annotation in (float, int, str):
        return annotation, False
    raise TypeError(f"parameter annotation {annotation!r} is not float, int, str or one of them | None")


@functools.cache
def param_info(cls: type[StrategyParams]) -> tuple[ParamInfo, ...]:
    """The declared parameters of ``cls`` in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        base, optional = _kind(hints[f.name])
        m = f.metadata
        out.append(
            ParamInfo(
                name=f.name,
                kind=base.__name__,
                optional=optional,
                default=f.default,
                unit=m.get("unit", ""),
                doc=m.get("doc", ""),
                default_doc=m.get("default_doc"),
                ge=m.get("ge"),
                gt=m.get("gt"),
                choices=m.get("choices"),
            )
        )
    return tuple(out)


def markdown_rows(infos: Iterable[ParamInfo]) -> list[str]:
    """Rows ``| name | unit | default | valid | meaning |`` of the parameter tables of ``docs/strategies.md``."""
    rows = []
    for p in infos:
        default = f"automatic: {p.default_doc or 'from the problem'}" if p.default is None else f"`{p.default!r}`"
        if p.choices is not None:
            valid = " / ".join(f"`{c}`" for c in p.choices)
        else:
            valid = "integer" if p.kind == "int" else "number"
            valid += f" >= {p.ge:g}" if p.ge is not None else ""
            valid += f" > {p.gt:g}" if p.gt is not None else ""
        if p.optional:
            valid += " or `None`"
        rows.append(f"| `{p.name}` | {p.unit or '-'} | {default} | {valid} | {p.doc} |")
    return rows


def _bad(info: ParamInfo, what: str, value: Any) -> InputError:
    return InputError(f"parameter {info.name!r} must be {what} (value {value!r})")


def _check(info: ParamInfo, value: Any) -> Any:
    """The normalised value of parameter ``info``; raises :class:`InputError` naming it and the value."""
    if value is None:
        if info.optional:
            return None
        raise _bad(info, f"{'a number' if info.kind != 'str' else 'a string'}, not None", value)
    unit = f" {info.unit}" if info.unit else ""
    if info.kind == "str":
        if not isinstance(value, str):
            raise _bad(info, "a string", value)
        if info.choices is not None and value not in info.choices:
            raise _bad(info, f"one of {', '.join(info.choices)}", value)
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _bad(info, "an integer" if info.kind == "int" else "a number", value)
    number = float(value)
    if not math.isfinite(number):
        raise _bad(info, "finite", value)
    if info.kind == "int":
        if not number.is_integer():
            raise _bad(info, "an integer", value)
        normalised: float | int = int(number)
    else:
        normalised = number
    if info.ge is not None and not number >= info.ge:
        raise _bad(info, f">= {info.ge:g}{unit}", value)
    if info.gt is not None and not number > info.gt:
        raise _bad(info, f"> {info.gt:g}{unit}", value)
    return normalised


@dataclass(frozen=True)
class StrategyParams:
    """Base of the parameter dataclasses: building one validates and normalises every field (see module doc)."""

    def __post_init__(self) -> None:
        for info in param_info(type(self)):
            object.__setattr__(self, info.name, _check(info, getattr(self, info.name)))


@dataclass(frozen=True)
class NoParams(StrategyParams):
    """The parameters of a strategy that takes none."""


def parse_params(cls: type[P], strategy: str, params: Mapping[str, Any]) -> P:
    """``cls(**params)`` for strategy ``strategy``; an unknown name or a bad value raises :class:`InputError`."""
    valid = [f.name for f in dataclasses.fields(cls)]
    for name in params:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"strategy {strategy!r} has no parameter {name!r} (valid: {', '.join(valid) or 'none'}){hint}"
            )
    try:
        return cls(**params)
    except InputError as exc:
        raise InputError(f"strategy {strategy!r}: {exc}") from None
