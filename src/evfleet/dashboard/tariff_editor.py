"""The Scenario page's tariff editor (Streamlit): every key of an ``evfleet.tariff/2`` file, starting from the
scenario's tariff, validated by the CLI's loader, applied to the session's generated scenario, saved as a tariff
file (download) or read from one (upload).

The data side (values, statuses, validation, files) is :mod:`evfleet.dashboard.tariff_form`; an applied tariff is
written to a content-addressed file and the scenario is generated with ``tariff=<that file>`` through the same
:func:`evfleet.inputs.generate.generate_scenario` as ``evfleet scenario new --tariff FILE``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from evfleet._common.errors import InputError
from evfleet._common.structured import load_yaml
from evfleet.dashboard import state
from evfleet.dashboard.i18n import STRINGS, t
from evfleet.dashboard.l10n import fmt_input, fmt_number
from evfleet.dashboard.l10n_widgets import input_errors, num_input, widget_key
from evfleet.dashboard.safe_text import colon, md, md_error
from evfleet.dashboard.tariff_form import (
    edited_tariff,
    form_values,
    format_months,
    format_spans,
    parse_months,
    parse_spans,
    save_applied,
    tariff_file_bytes,
)
from evfleet.inputs.tariffs import DISTRIBUTORS, Tariff, list_tariffs, load_tariff, tariff_from_dict, tariff_to_dict

__all__ = ["applied_files", "restore_applied_files", "tariff_editor", "tariff_label"]

_FILES = "tariff_files"  # session state: path of an applied tariff file -> its mapping
_SEEN = "_tf_base_seen"  # session state: the tariff the editor's boxes were filled from
#: number boxes of the billing terms: key -> (label key, step, format)
_NUMBERS = {
    "power_charge_mad_per_kva_year": ("tf_power_charge", 1.0, "%.2f"),
    "overrun_factor": ("tf_overrun", 0.1, "%.2f"),
    "cos_phi_threshold": ("tf_cos_phi_threshold", 0.01, "%.2f"),
    "cos_phi_penalty_pct_per_hundredth": ("tf_cos_phi_penalty", 0.5, "%.2f"),
    "fixed_fees_mad_per_month": ("tf_fixed_fees", 10.0, "%.2f"),
    "vat_pct": ("tf_vat", 1.0, "%.1f"),
}


def applied_files() -> dict[str, dict]:
    """Tariff files applied in this session (path -> mapping)."""
    return st.session_state.setdefault(_FILES, {})


def restore_applied_files() -> None:
    """Write again any applied tariff file of this session that is gone from disk (a cleaned temporary folder), so
    that its scenario can still be generated (called by ``app.py`` before the sidebar; one ``stat`` per file)."""
    for path, data in applied_files().items():
        if not Path(path).exists():
            save_applied(data, Path(path).parent)


def tariff_label(ref: str, lang: str) -> str:
    """How the scenario form's tariff selector names ``ref``: a shipped id as it is, an applied file by its id."""
    data = applied_files().get(ref)
    if data is None:
        return ref
    return f"{data.get('id', Path(ref).stem)} · {t('tf_operator_tag', lang)}"


def _src(status: str, lang: str) -> str:
    return t(f"src_{status}", lang) if f"src_{status}" in STRINGS else status


def _status_caption(col: Any, status: str, note: str, lang: str) -> None:
    col.caption(t("tf_status", lang, status=_src(status, lang)), help=note if lang == "en" and note else None)


def _d(key: str, value: Any) -> Any:
    """A widget's default, or ``None`` once its state exists (set by :func:`_reset_boxes`; Streamlit warns when a
    widget gets both). Select boxes keep their index (``None`` would make them clearable): Streamlit then logs
    one warning in the run that refills them."""
    return None if key in st.session_state else value


def _reset_boxes(ref: str, base: Tariff, start: dict[str, Any], shipped: bool, lang: str) -> None:
    """Fill the boxes from ``ref`` when the scenario's tariff changed (form Apply, editor Apply, upload): their
    state is set through the Session State API, so that the browser shows the new values too."""
    ss = st.session_state
    if ss.get(_SEEN) == ref:
        return
    boxes: dict[str, Any] = {
        "tf_id": f"{base.id}_edited" if shipped else base.id,
        "tf_name": t("tf_default_name", lang, id=base.id) if shipped else base.name,
        "tf_default_period": base.default_period,
        "tf_demand_measure": start["demand_measure"],
        "tf_time_posts": start["time_posts"],
        "tf_distributor": start["distributor"],
        "tf_prices_include_vat": bool(start["prices_include_vat"]),
    }
    for sname in base.seasons:
        boxes[f"tf_months_{sname}"] = format_months(start["months"][sname])
        for period in base.periods:
            boxes[f"tf_hours_{sname}_{period}"] = format_spans(start["hours"][sname][period])
    numbers = {f"tf_price_{p}": (v, 4) for p, v in start["prices"].items()}
    numbers["tf_export"] = (start["export_price_mad_per_kwh"], 4)
    numbers["tf_subscribed_power_kva"] = (start["subscribed_power_kva"], 0)
    numbers.update({f"tf_{name}": (start[name], int(fmt[2:-1])) for name, (_, _, fmt) in _NUMBERS.items()})
    for key, (value, decimals) in numbers.items():
        if lang == "fr":
            boxes[widget_key(key, lang)] = fmt_input(value, lang, decimals)
        else:
            boxes[key] = None if value is None else float(value)
    ss.update(boxes)
    ss[_SEEN] = ref


def _apply(data: dict, params: dict[str, Any], lang: str, flash_key: str, n_changed: int) -> None:
    """Use the tariff file of ``data`` for the session's generated scenario (raises the generator's error)."""
    path = str(save_applied(data))
    new = {**params, "tariff": path}
    state.generated_check(new)
    applied_files()[path] = data
    st.session_state["scenario_params"] = {k: v for k, v in new.items() if k != "vehicles"}
    st.session_state["uploaded_scenario"] = None
    st.session_state["_flash"] = t(flash_key, lang, id=md(data.get("id", "")), n=n_changed)


def tariff_editor(params: dict[str, Any], lang: str) -> None:
    """Draw the editor for the tariff of the generated scenario of ``params`` (the scenario page's parameters)."""
    ref = str(params.get("tariff"))
    base: Tariff = load_tariff(ref)
    start = form_values(base)
    shipped = ref in list_tariffs()
    _reset_boxes(ref, base, start, shipped, lang)
    st.caption(t("tf_intro", lang, id=md(base.id), status=_src(base.status, lang)))
    if st.session_state.get("uploaded_scenario") is not None:
        st.caption(t("tf_uploaded_note", lang))
    with st.form("tariff_form"):
        c1, c2 = st.columns([1, 2])
        new_id = c1.text_input(t("tf_id", lang), _d("tf_id", f"{base.id}_edited" if shipped else base.id), key="tf_id")
        new_name = c2.text_input(t("tf_name", lang), _d("tf_name", base.name), key="tf_name")
        st.markdown(f"**{t('tf_prices', lang)}**")
        keys: list[str] = []
        prices: dict[str, float | None] = {}
        cols = st.columns(len(base.periods) + 1)
        for col, (period, spec) in zip(cols, base.periods.items(), strict=False):
            key = f"tf_price_{period}"
            keys.append(key)
            prices[period] = num_input(
                t("tf_price", lang, period=_period(period, lang)),
                None,
                None,
                start["prices"][period],
                0.01,
                "%.4f",
                key=key,
                lang=lang,
                container=col,
                in_form=True,
            )
            _status_caption(col, str(spec.get("status", "assumption")), str(spec.get("note", "")), lang)
        keys.append("tf_export")
        export = num_input(
            t("tf_export", lang),
            None,
            None,
            start["export_price_mad_per_kwh"],
            0.01,
            "%.4f",
            key="tf_export",
            lang=lang,
            container=cols[-1],
            in_form=True,
        )
        exp_status, _, exp_note = str(base.raw.get("export_price_status", "assumption")).partition(":")
        _status_caption(cols[-1], exp_status.strip() or "assumption", exp_note.strip(), lang)

        st.markdown(f"**{t('tf_hours', lang)}**")
        st.caption(t("tf_hours_help", lang))
        periods = list(base.periods)
        d1, d2 = st.columns([1, 2])
        default_period = d1.selectbox(
            t("tf_default_period", lang),
            periods,
            index=periods.index(base.default_period),
            format_func=lambda p: _period(p, lang),
            key="tf_default_period",
        )
        hours_status = str(base.raw.get("hours_status", base.value_status.get("time_posts", "assumption")))
        _status_caption(
            d2, hours_status.partition(":")[0].strip() or "assumption", hours_status.partition(":")[2], lang
        )
        month_text: dict[str, str] = {}
        hour_text: dict[str, dict[str, str]] = {}
        if not base.seasons:
            st.caption(t("tf_no_seasons", lang, period=_period(base.default_period, lang)))
        for sname in base.seasons:
            row = st.columns(len(periods) + 1)
            month_text[sname] = row[0].text_input(
                t("tf_months", lang, season=_season(sname, lang)),
                _d(f"tf_months_{sname}", format_months(start["months"][sname])),
                key=f"tf_months_{sname}",
            )
            hour_text[sname] = {
                p: row[i + 1].text_input(
                    t("tf_period_hours", lang, period=_period(p, lang), season=_season(sname, lang)),
                    _d(f"tf_hours_{sname}_{p}", format_spans(start["hours"][sname][p])),
                    key=f"tf_hours_{sname}_{p}",
                    placeholder=t("tf_hours_placeholder", lang),
                )
                for i, p in enumerate(periods)
            }

        st.markdown(f"**{t('tf_billing', lang)}**")
        vs, vn = base.value_status, base.value_notes
        b = st.columns(4)
        keys.append("tf_subscribed_power_kva")
        billing: dict[str, Any] = {
            "subscribed_power_kva": num_input(
                t("tf_subscribed", lang),
                None,
                None,
                start["subscribed_power_kva"],
                50.0,
                "%.0f",
                key="tf_subscribed_power_kva",
                lang=lang,
                container=b[0],
                in_form=True,
                optional=True,
                placeholder=t("tf_subscribed_auto_short", lang),  # short: a placeholder is cut at 1280 px
                help=t("tf_subscribed_auto_help", lang),
            )
        }
        _status_caption(b[0], vs.get("subscribed_power_kva", "assumption"), vn.get("subscribed_power_kva", ""), lang)
        slots = [b[1], b[2], b[3], *st.columns(4)]
        for col, (name, (label, step, fmt)) in zip(slots, _NUMBERS.items(), strict=False):
            keys.append(f"tf_{name}")
            billing[name] = num_input(
                t(label, lang),
                None,
                None,
                start[name],
                step,
                fmt,
                key=f"tf_{name}",
                lang=lang,
                container=col,
                in_form=True,
            )
            _status_caption(col, vs.get(name, "assumption"), vn.get(name, ""), lang)
        col = slots[len(_NUMBERS)]
        billing["demand_measure"] = col.selectbox(
            t("tf_demand_measure", lang),
            ["kva", "kw"],
            index=["kva", "kw"].index(start["demand_measure"]),
            format_func=lambda x: t(f"tf_measure_{x}", lang),
            key="tf_demand_measure",
        )
        _status_caption(col, vs.get("demand_measure", "assumption"), vn.get("demand_measure", ""), lang)
        e = st.columns(4)
        billing["prices_include_vat"] = e[0].checkbox(
            t("tf_incl_vat", lang),
            bool(_d("tf_prices_include_vat", start["prices_include_vat"])),
            key="tf_prices_include_vat",
        )
        _status_caption(e[0], vs.get("prices_include_vat", "assumption"), vn.get("prices_include_vat", ""), lang)
        billing["time_posts"] = e[1].selectbox(
            t("tf_time_posts", lang),
            ["local", "gmt"],
            index=["local", "gmt"].index(start["time_posts"]),
            format_func=lambda x: t(f"tf_posts_{x}", lang),
            key="tf_time_posts",
        )
        _status_caption(e[1], vs.get("time_posts", "assumption"), vn.get("time_posts", ""), lang)
        dist = list(DISTRIBUTORS)
        billing["distributor"] = e[2].selectbox(
            t("tf_distributor", lang),
            dist,
            index=dist.index(start["distributor"]),
            format_func=lambda x: t("tf_other", lang) if x == "other" else x,
            key="tf_distributor",
        )
        _status_caption(e[2], vs.get("distributor", "assumption"), vn.get("distributor", ""), lang)
        submitted = st.form_submit_button(t("tf_apply", lang), type="primary", key="tf_apply")

    if submitted:
        if input_errors(keys):
            st.error(t("form_refused", lang))
        else:
            try:
                values = {
                    "id": new_id.strip(),
                    "name": new_name,
                    "default_period": default_period,
                    "export_price_mad_per_kwh": export,
                    "prices": prices,
                    "months": {s: parse_months(txt, f"seasons.{s}.months") for s, txt in month_text.items()},
                    "hours": {
                        s: {p: parse_spans(txt, f"seasons.{s}.hours.{p}") for p, txt in row.items()}
                        for s, row in hour_text.items()
                    },
                    **billing,
                }
                _, data, changed = edited_tariff(base, values)
                _apply(data, params, lang, "tf_applied", len(changed))
                st.rerun()
            except InputError as exc:
                st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")

    data = applied_files().get(ref) or tariff_to_dict(base)
    f1, f2 = st.columns(2)
    f1.download_button(
        t("tf_download", lang),
        tariff_file_bytes(data),
        f"{data.get('id', 'tariff')}.json",
        "application/json",
        key="tf_download",
        icon=":material/download:",
        help=t("tf_download_help", lang),
    )
    up = f2.file_uploader(t("tf_upload", lang), type=["json", "yaml", "yml"], key="tf_upload")
    if up is not None and st.session_state.get("_tf_up_done") != up.file_id:
        try:
            text = up.getvalue().decode("utf-8")
            raw = json.loads(text) if up.name.lower().endswith(".json") else load_yaml(text, up.name)
            loaded = tariff_from_dict(raw, up.name)
            st.session_state["_tf_up_done"] = up.file_id
            _apply(tariff_to_dict(loaded), params, lang, "tf_uploaded", len(loaded.periods))
            st.rerun()
        except (InputError, ValueError, UnicodeDecodeError) as exc:
            st.error(f"{t('error', lang)}{colon(lang)} {md_error(exc)}")
    st.caption(t("tf_in_use", lang, id=md(base.id), sub=_sub_text(base, lang)))


def _sub_text(base: Tariff, lang: str) -> str:
    sub = base.billing.get("subscribed_power_kva")
    return t("tf_subscribed_auto", lang) if sub is None else f"{fmt_number(sub, lang)} kVA"


def _period(name: str, lang: str) -> str:
    return t(f"period_{name}", lang) if f"period_{name}" in STRINGS else name


def _season(name: str, lang: str) -> str:
    return t(f"season_{name}", lang) if f"season_{name}" in STRINGS else name
