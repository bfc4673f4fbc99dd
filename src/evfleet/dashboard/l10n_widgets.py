"""The dashboard's locale-aware number box (Streamlit side of :mod:`evfleet.dashboard.l10n`).

:func:`num_input` is ``st.number_input`` in English. In French it is a text box that shows the number with a
decimal comma (``57,5``; Streamlit's number box always shows ``57.5``), reads ``57,5`` or ``57.5`` through
:func:`evfleet.dashboard.l10n.parse_number`, and refuses anything else or a value out of range: the box then says
which field and why, and the previous value is kept (outside a form the box is reset to it; inside a form the
value returned is the previous one and :func:`input_errors` lists the refusal, so that the form's submit can refuse
to apply). The French widget's key is ``KEY_fr`` (``KEY`` in English), since the two are different widgets.

:func:`num_slider` is ``st.slider`` in English. In French it is ``st.select_slider`` over the same value grid
(``min_value``, ``min_value + step``, ..., ``max_value``) whose thumb and ends show the numbers through the locale
layer (``0,50``, ``2 000``; ``st.slider``'s printf ``format`` cannot write a decimal comma). The key and the
returned values (``int`` on an integer grid, ``float`` else, a pair for a range) are the same in both languages;
the value survives a change of language (the two widgets hand it over through the key); a value off the step is
kept as a notch of its own.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from evfleet._common.errors import InputError
from evfleet.dashboard.i18n import t
from evfleet.dashboard.l10n import NumberInputError, fmt_input, fmt_number, parse_number

__all__ = ["clear_input_errors", "input_errors", "num_input", "num_slider", "slider_grid", "widget_key"]

_ERRORS = "_num_input_errors"  # session state: widget key -> message of its last refusal
_PREV = "_num_input_prev"  # session state: widget key -> last accepted value
_SLIDER_LANG = "_num_slider_lang"  # session state: slider key -> language its widget was last drawn in


def widget_key(key: str, lang: str) -> str:
    """The Streamlit key of the number box ``key`` in ``lang`` (``KEY`` in English, ``KEY_fr`` in French)."""
    return f"{key}_fr" if lang == "fr" else key


def _decimals(fmt: str | None) -> int | None:
    if fmt and fmt.startswith("%.") and fmt.endswith("f"):
        return int(fmt[2:-1])
    return None


def _message(exc: NumberInputError, label: str, lang: str, lo: Any, hi: Any, kept: str, is_int: bool) -> str:
    shown = exc.text.strip() or "–"
    if exc.reason == "range":
        what = t("num_range", lang, lo=fmt_input(lo, lang) if lo is not None else "−∞",
                 hi=fmt_input(hi, lang) if hi is not None else "∞")  # fmt: skip
    elif exc.reason == "integer":
        what = t("num_integer", lang)
    elif exc.reason == "required":
        what = t("num_required", lang)
    else:
        what = t("num_not_number", lang)
    return t("num_refused", lang, field=label, value=shown, what=what, kept=kept or "–")


def _refuse_and_reset(key: str, wkey: str, label: str, lang: str, lo: Any, hi: Any, is_int: bool,
                      optional: bool, decimals: int | None) -> None:  # fmt: skip
    """on_change of the French box outside a form: a refused text is replaced by the previous value."""
    ss = st.session_state
    prev = ss.get(_PREV, {}).get(key)
    try:
        parse_number(ss[wkey], lang, label, lo, hi, is_int, optional)
        ss.setdefault(_ERRORS, {}).pop(key, None)
    except NumberInputError as exc:
        kept = fmt_input(prev, lang, decimals)
        ss.setdefault(_ERRORS, {})[key] = _message(exc, label, lang, lo, hi, kept, is_int)
        ss[wkey] = kept


def num_input(
    label: str,
    min_value: float | int | None = None,
    max_value: float | int | None = None,
    value: float | int | None = None,
    step: float | int | None = None,
    format: str | None = None,
    *,
    key: str,
    lang: str,
    container: Any = None,
    in_form: bool = False,
    optional: bool = False,
    **kwargs: Any,
) -> float | int | None:
    """A number box: ``st.number_input`` in English, a decimal-comma text box in French (module docstring).
    ``value`` ``None`` (with ``optional``) is an empty box (``placeholder`` says what it stands for); integer
    boxes are those whose ``value``/``min_value`` are ``int`` (as for ``st.number_input``). ``in_form``: the box is
    inside an ``st.form`` (no callback; see :func:`input_errors`). Returns the accepted number (or ``None``)."""
    c = container if container is not None else st
    if lang != "fr":
        shown = None if key in st.session_state else value  # the box's own state wins once it exists
        return c.number_input(label, min_value, max_value, shown, step, format, key=key, **kwargs)
    is_int = isinstance(value if value is not None else min_value, int) and not isinstance(value, bool)
    decimals = 0 if is_int else _decimals(format)
    wkey = widget_key(key, lang)
    ss = st.session_state
    prev_store = ss.setdefault(_PREV, {})
    errors = ss.setdefault(_ERRORS, {})
    if wkey not in ss:
        prev_store[key] = value
    prev = prev_store.get(key, value)
    text_kwargs = {k: v for k, v in kwargs.items() if k in ("help", "placeholder", "disabled", "label_visibility")}
    # the box's own state wins once it exists (Streamlit warns when a default is given as well)
    shown = None if wkey in ss else fmt_input(value, lang, decimals)
    if in_form:
        text = c.text_input(label, shown, key=wkey, **text_kwargs)
    else:
        text = c.text_input(label, shown, key=wkey, on_change=_refuse_and_reset,
                            args=(key, wkey, label, lang, min_value, max_value, is_int, optional, decimals),
                            **text_kwargs)  # fmt: skip
    try:
        v = parse_number(text, lang, label, min_value, max_value, is_int, optional)
    except NumberInputError as exc:
        errors[key] = _message(exc, label, lang, min_value, max_value, fmt_input(prev, lang, decimals), is_int)
        c.error(errors[key])
        return prev
    if in_form or key not in errors:
        errors.pop(key, None)
    else:  # the callback reset a refused text: say so once
        c.error(errors.pop(key))
    prev_store[key] = v
    return v


def input_errors(keys: list[str] | None = None) -> dict[str, str]:
    """Refusals of this session's French number boxes (key -> message), restricted to ``keys`` when given."""
    errs = dict(st.session_state.get(_ERRORS, {}))
    return errs if keys is None else {k: v for k, v in errs.items() if k in keys}


def clear_input_errors(keys: list[str]) -> None:
    """Forget the refusals of ``keys`` (after a form was applied)."""
    for k in keys:
        st.session_state.get(_ERRORS, {}).pop(k, None)


# --- sliders ---------------------------------------------------------------------------------------------------


def slider_grid(min_value: float | int, max_value: float | int, step: float | int) -> list[float] | list[int]:
    """The values a slider can take: ``min_value`` to ``max_value`` by ``step`` (``int`` when all three are
    ``int``; floats rounded to 10 decimals, so that ``0.1 + 0.2`` is the notch ``0.3``)."""
    if step <= 0 or max_value < min_value:
        raise InputError(
            f"field 'step' must be > 0 and 'max_value' >= 'min_value' (values {step!r}, {min_value!r}, {max_value!r})"
        )
    n = math.floor((max_value - min_value) / step + 1e-9)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (min_value, max_value, step)):
        return [int(min_value + i * step) for i in range(n + 1)]
    return [round(float(min_value) + i * float(step), 10) for i in range(n + 1)]


def _on_grid(x: Any, grid: list[Any]) -> Any:
    """``x`` as a value of ``grid``: the notch it equals to 1e-9 (``0.30000000000000004`` is ``0.3``), else
    ``x`` itself (a pair: each end)."""
    if isinstance(x, tuple | list):
        return tuple(_on_grid(v, grid) for v in x)
    near = min(grid, key=lambda g: abs(g - float(x)))
    return near if abs(near - float(x)) <= 1e-9 else x


def _with_values(grid: list[Any], *values: Any) -> list[Any]:
    """``grid`` with ``values`` (values or pairs) among its notches, sorted: a value set off the step (an uploaded
    60-vehicle scenario on the 50-vehicle grid) is kept as it is, as ``st.slider`` keeps it."""
    flat = [x for v in values for x in (v if isinstance(v, tuple) else (v,))]
    extra = sorted({x for x in flat if x not in grid})
    return sorted([*grid, *extra]) if extra else grid


def _slider_decimals(step: float | int, fmt: str | None) -> int:
    if (d := _decimals(fmt)) is not None:
        return d
    text = fmt_input(step)
    return len(text.split(".")[1]) if "." in text else 0


def num_slider(
    label: str,
    min_value: float | int,
    max_value: float | int,
    value: float | int | tuple[float, float] | tuple[int, int] | None = None,
    step: float | int = 1,
    format: str | None = None,
    *,
    key: str,
    lang: str,
    container: Any = None,
    **kwargs: Any,
) -> Any:
    """A slider: ``st.slider`` in English, ``st.select_slider`` with locale numbers in French (module
    docstring). ``value`` ``None`` starts at ``min_value``; a pair is a range slider. ``format`` (printf
    ``%.2f``) fixes the decimals shown, else the step's. Returns the value (pair for a range)."""
    c = container if container is not None else st
    ss = st.session_state
    drawn_in = ss.setdefault(_SLIDER_LANG, {})
    grid = slider_grid(min_value, max_value, step)
    if key in ss and drawn_in.get(key, lang) != lang:
        # the other language's widget held the value: hand it over through the key (Streamlit forgets the value
        # of a widget that changes kind)
        ss[key] = _on_grid(ss[key], grid) if lang == "fr" else ss[key]
    drawn_in[key] = lang
    if lang != "fr":
        return c.slider(label, min_value, max_value, value, step, format, key=key, **kwargs)
    if key in ss and isinstance(ss[key], list):
        ss[key] = tuple(ss[key])
    if key in ss and _on_grid(ss[key], grid) != ss[key]:
        ss[key] = _on_grid(ss[key], grid)  # float noise (0.30000000000000004): the notch it is
    start = _on_grid(min_value if value is None else value, grid)
    is_range = isinstance(start, tuple)
    grid = _with_values(grid, start, *([ss[key]] if key in ss else []))
    decimals = 0 if isinstance(grid[0], int) else _slider_decimals(step, format)

    def shown_text(x: Any) -> str:
        return fmt_number(x, lang, decimals=decimals)

    # the widget's own state wins once it exists (a range keeps its pair as default: it makes it a range)
    default = start if is_range or key not in ss else None
    return c.select_slider(label, options=grid, value=default, format_func=shown_text, key=key, **kwargs)
