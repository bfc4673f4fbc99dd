"""The tariff editor's data side (no Streamlit): the values a form shows for a tariff, the tariff file its edits
make, and where the dashboard keeps the files it applies.

:func:`edited_tariff` turns the form's values into an ``evfleet.tariff/2`` mapping and validates it with the CLI's
own :func:`evfleet.inputs.tariffs.tariff_from_dict` (a refused value raises its :class:`TariffError`, naming the
field and value). Every value that differs from the tariff the form started from gets status ``assumption`` with
the note :data:`OPERATOR_NOTE`; an unchanged value keeps its status and note. Hours (``seasons.*.hours``), months
and the default period have no status of their own: the bill takes the status of the time posts
(``value_status.time_posts``, ``docs/tariffs.md``) for them, so editing them makes ``time_posts`` an
``assumption`` too (and ``hours_status`` says so).

Hours are written ``17-22, 0-7`` (half-open spans ``[start_h, end_h)``, ``H`` or ``H:MM``, separated by ``,`` or
``;``); months ``1, 2, 3, 10, 11, 12``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from evfleet.inputs.tariffs import (
    BILLING_KEYS,
    Tariff,
    TariffError,
    list_tariffs,
    tariff_from_dict,
    tariff_to_dict,
)

__all__ = [
    "OPERATOR_NOTE",
    "ORIGIN",
    "edited_tariff",
    "form_values",
    "format_months",
    "format_spans",
    "parse_months",
    "parse_spans",
    "save_applied",
    "tariff_file_bytes",
]

#: note of every value the operator changed (status ``assumption``)
OPERATOR_NOTE = "entered by the operator (evfleet dashboard tariff editor)"
#: origin named in the editor's errors
ORIGIN = "tariff editor"
_HOUR = re.compile(r"^\s*(\d{1,2})(?:[:h](\d{2}))?\s*$")


def _hour_text(h: float) -> str:
    whole = int(h)
    minutes = round((h - whole) * 60)
    return str(whole) if minutes == 0 else f"{whole}:{minutes:02d}"


def format_spans(spans: list) -> str:
    """``[[22, 24], [0, 7]]`` -> ``"22-24, 0-7"`` (``7.5`` -> ``7:30``)."""
    return ", ".join(f"{_hour_text(a)}-{_hour_text(b)}" for a, b in spans)


def _hour(text: str) -> float | None:
    m = _HOUR.match(text)
    if not m:
        return None
    minutes = int(m.group(2) or 0)
    if minutes >= 60:
        return None
    v = int(m.group(1)) + minutes / 60.0
    return int(v) if v == int(v) else v


def parse_spans(text: str, field: str) -> list[list[float]]:
    """Spans ``"17-22, 0-7"`` -> ``[[17, 22], [0, 7]]``; empty -> ``[]``. The range checks (0-24, start < end) are
    :func:`tariff_from_dict`'s; a text that is not spans raises :class:`TariffError` naming ``field``."""
    out: list[list[float]] = []
    for part in re.split(r"[,;]", text or ""):
        if not part.strip():
            continue
        a, sep, b = part.partition("-")
        start, end = _hour(a), _hour(b)
        if not sep or start is None or end is None:
            raise TariffError(f"{ORIGIN}: field {field!r} must be hour spans like '17-22, 0-7' (value {text!r})")
        out.append([start, end])
    return out


def format_months(months: list) -> str:
    """``[1, 2, 12]`` -> ``"1, 2, 12"``."""
    return ", ".join(str(m) for m in months)


def parse_months(text: str, field: str) -> list[int]:
    """``"1, 2, 12"`` -> ``[1, 2, 12]`` (the 1-12 check is :func:`tariff_from_dict`'s)."""
    parts = [x.strip() for x in re.split(r"[,;\s]+", text or "") if x.strip()]
    if not all(x.isdigit() for x in parts):
        raise TariffError(f"{ORIGIN}: field {field!r} must be months like '1, 2, 12' (value {text!r})")
    return [int(x) for x in parts]


def form_values(tariff: Tariff) -> dict[str, Any]:
    """The values the editor starts from: ``id``, ``name``, ``default_period``, ``export_price_mad_per_kwh``,
    ``prices`` (period -> MAD/kWh), ``months`` (season -> list), ``hours`` (season -> period -> spans; every
    period present) and every :data:`BILLING_KEYS` value."""
    return {
        "id": tariff.id,
        "name": tariff.name,
        "default_period": tariff.default_period,
        "export_price_mad_per_kwh": float(tariff.export_price_mad_per_kwh),
        "prices": {p: float(spec["price_mad_per_kwh"]) for p, spec in tariff.periods.items()},
        "months": {s: list(season.get("months", [])) for s, season in tariff.seasons.items()},
        "hours": {
            s: {p: list((season.get("hours") or {}).get(p, [])) for p in tariff.periods}
            for s, season in tariff.seasons.items()
        },
        **{k: tariff.billing[k] for k in BILLING_KEYS},
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)), abs(float(b)))
    return a == b


def _spans_same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(_same(x[0], y[0]) and _same(x[1], y[1]) for x, y in zip(a, b, strict=True))


def edited_tariff(base: Tariff, values: dict[str, Any]) -> tuple[Tariff, dict, list[str]]:
    """(validated tariff, its ``evfleet.tariff/2`` mapping, the fields changed) from the editor's ``values``
    (keys of :func:`form_values`; missing keys keep ``base``'s). Raises :class:`TariffError` naming the field and
    value of the first problem (the CLI's checks)."""
    start = form_values(base)
    out = tariff_to_dict(base)
    changed: list[str] = []
    v = {**start, **{k: val for k, val in values.items() if k not in ("prices", "months", "hours")}}
    out["id"], out["name"] = v["id"], v["name"]
    for period, price in {**start["prices"], **(values.get("prices") or {})}.items():
        spec = out["periods"].setdefault(period, {})
        spec["price_mad_per_kwh"] = price
        if not _same(price, start["prices"].get(period)):
            spec["status"], spec["note"] = "assumption", OPERATOR_NOTE
            changed.append(f"periods.{period}.price_mad_per_kwh")
    if not _same(v["export_price_mad_per_kwh"], start["export_price_mad_per_kwh"]):
        out["export_price_status"] = f"assumption: {OPERATOR_NOTE}"
        changed.append("export_price_mad_per_kwh")
    out["export_price_mad_per_kwh"] = v["export_price_mad_per_kwh"]
    hours_changed = []
    if v["default_period"] != start["default_period"]:
        hours_changed.append("default_period")
    out["default_period"] = v["default_period"]
    for sname in start["months"]:
        season = out["seasons"][sname]
        months = (values.get("months") or {}).get(sname, start["months"][sname])
        if list(months) != list(start["months"][sname]):
            hours_changed.append(f"seasons.{sname}.months")
        season["months"] = list(months)
        hours = {**start["hours"][sname], **((values.get("hours") or {}).get(sname) or {})}
        for period, spans in hours.items():
            if not _spans_same(list(spans), start["hours"][sname].get(period, [])):
                hours_changed.append(f"seasons.{sname}.hours.{period}")
        season["hours"] = {p: [list(s) for s in spans] for p, spans in hours.items() if spans}
    status, notes = out["value_status"], out["value_notes"]
    for key in BILLING_KEYS:
        out[key] = v[key]
        if not _same(v[key], start[key]):
            status[key], notes[key] = "assumption", OPERATOR_NOTE
            changed.append(key)
    if hours_changed:
        changed += hours_changed
        out["hours_status"] = f"assumption: hours {OPERATOR_NOTE}"
        status["time_posts"] = "assumption"
        notes["time_posts"] = f"hours {OPERATOR_NOTE}"
    if changed:
        out["sources"] = [*out.get("sources", []), f"{OPERATOR_NOTE}: {', '.join(changed)}"]
    tariff = tariff_from_dict(out, ORIGIN)
    if changed and tariff.id in list_tariffs():  # a file saying "onee_mt_general" with other values would mislead
        raise TariffError(
            f"{ORIGIN}: field 'id' names a shipped tariff; give the edited tariff its own id (value {tariff.id!r})"
        )
    return tariff, out, changed


def tariff_file_bytes(data: dict) -> bytes:
    """The ``evfleet.tariff/2`` file of ``data`` (UTF-8 JSON, what ``evfleet tariffs FILE`` reads)."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def save_applied(data: dict, directory: Path | None = None) -> Path:
    """Write the tariff file the session's scenario is generated with (content-addressed, so a cached scenario
    never sees another tariff under the same name) and return its path; default directory:
    ``<tmp>/evfleet-dashboard-tariffs``."""
    folder = Path(directory) if directory is not None else Path(tempfile.gettempdir()) / "evfleet-dashboard-tariffs"
    folder.mkdir(parents=True, exist_ok=True)
    body = tariff_file_bytes(data)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(data.get("id", "tariff")))[:60] or "tariff"
    path = folder / f"{stem}-{hashlib.sha256(body).hexdigest()[:16]}.json"
    if not path.exists():  # written whole then renamed: a reader never sees half a file
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as fh:
            fh.write(body)
        Path(fh.name).replace(path)
    return path
