"""Names from files and users are shown as text, never as Markdown; uploads above the session bound are refused."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from evfleet._common.errors import InputError
from evfleet.dashboard import state
from evfleet.dashboard.launch import (
    ENV_DASHBOARD_MAX_SESSIONS,
    MAX_UPLOAD_SESSIONS,
    check_upload_sessions,
    max_upload_sessions,
)
from evfleet.dashboard.safe_text import md, md_bullets
from evfleet.inputs.generate import generate_scenario

APP = str(Path(__file__).resolve().parents[1] / "src" / "evfleet" / "dashboard" / "app.py")
HOSTILE = [
    "![x](http://host.example/a.png)",
    "**bold** _it_ `code` ~~del~~",
    "<img src=http://host.example/b.png>",
    "[link](javascript:alert(1))",
    ":red[alarm] :material/warning: $x^2$",
    "# heading",
    "- item",
    "+ item",
    "1. first",
    "2) second",
    "---",
    "    indented code",
    "a -- b",
    "&lt;tag&gt; &amp;",
    "a\\*b\\",
    "| a | b |",
    "http://host.example/c.png",
    "> quote",
]
# CommonMark with tables, strikethrough and bare-URL links, as GitHub-flavoured Markdown renders them
RENDER = MarkdownIt("commonmark", {"linkify": False}).enable(["table", "strikethrough"])


def rendered_text(markdown: str) -> tuple[str, str]:
    """(HTML, its text content) of a Markdown body."""
    out = RENDER.render(markdown)
    return out, html.unescape(re.sub(r"<[^>]+>", "", out)).strip()


@pytest.mark.parametrize("name", HOSTILE)
def test_an_escaped_name_renders_as_exactly_its_text(name):
    out, text = rendered_text(md(name))
    assert text == name.lstrip()
    assert not re.search(r"<(img|a|strong|em|code|del|h\d|ul|ol|li|table|blockquote)\b", out), out
    out, _ = rendered_text(md_bullets({name: name}))
    assert out.count("<strong>") == 1 and "<img" not in out and "<a " not in out  # only the list's own bold key


def test_line_breaks_in_a_name_cannot_start_a_block():
    out, text = rendered_text(md("ok\n# big\n\n![x](http://host.example/a.png)"))
    assert "<h1" not in out and "<img" not in out and text == "ok # big  ![x](http://host.example/a.png)"


def test_ordinary_names_keep_their_characters():
    assert md("depot-500ev-2026-06-01-seed3") == "depot-500ev-2026-06-01-seed3"
    assert md("Tesla Model 3, 'long range'.") == "Tesla Model 3, 'long range'."


# --- the dashboard with hostile names --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("EVFLEET_LIVE_AUTOSTEP", "0")
    monkeypatch.delenv(ENV_DASHBOARD_MAX_SESSIONS, raising=False)
    yield
    st.cache_resource.clear()


def hostile_scenario(n: int = 60) -> tuple[bytes, str]:
    """A scenario file whose name, vehicle ids and model names are Markdown, and its name."""
    d = json.loads(generate_scenario(vehicles=n, seed=3, start="2026-06-01").to_json())
    name = "![x](http://host.example/a.png) **bold**"
    d["name"] = name
    d["vehicles"]["id"] = [f"**v{i}**" for i in range(n)]
    d["vehicles"]["model"] = ["![m](http://host.example/m.png)"] * n
    return json.dumps(d).encode(), name


MARKDOWN_ELEMENTS = ("markdown", "caption", "error", "warning", "info", "success", "title", "subheader")


def assert_nothing_rendered_as_markdown(at: AppTest) -> list[str]:
    """Every Markdown body shown renders no image, link or bold from a name; returns their text contents."""
    texts = []
    for kind in MARKDOWN_ELEMENTS:
        for el in at.get(kind):
            out, text = rendered_text(str(el.value))
            assert "<img" not in out and "host.example" not in "".join(re.findall(r'(?:src|href)="[^"]*"', out)), (
                kind,
                el.value,
            )
            assert "<strong>bold</strong>" not in out and "<strong>v" not in out, (kind, el.value)
            texts.append(text)
    return texts


def test_uploaded_names_appear_literally_on_every_page():
    data, name = hostile_scenario()
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.slider(key="n_vehicles").set_value(60).run()
    at.switch_page("screens/scenario.py").run()
    at.file_uploader(key="up_scenario").set_value(("![f](http://host.example/f.png).json", data, "application/json"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["uploaded_scenario"].name == name
    texts = assert_nothing_rendered_as_markdown(at)
    assert any(name in t for t in texts)  # the scenario caption shows the name as written
    for page in ("screens/overview.py", "screens/fleet.py", "screens/strategies.py", "screens/economics.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        texts = assert_nothing_rendered_as_markdown(at)
        assert any(name in t for t in texts) or page != "screens/overview.py"
    at.switch_page("screens/fleet.py").run()
    texts = assert_nothing_rendered_as_markdown(at)
    assert any("Model: ![m](http://host.example/m.png)" in t for t in texts)  # the drill-down list
    assert any("unknown model '![m](http://host.example/m.png)'" in t for t in texts)  # the sources caption
    assert at.selectbox(key="drill_vehicle").options[0].startswith("**v0** ·")  # a selectbox shows plain text


def test_an_error_quoting_a_hostile_value_is_shown_as_text():
    d = json.loads(hostile_scenario()[0])
    d["name"] = "![x](http://host.example/a.png)" + "\x07"  # refused: a control character
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("screens/scenario.py").run()
    at.file_uploader(key="up_scenario").set_value(("s.json", json.dumps(d).encode(), "application/json")).run()
    assert not at.exception and at.error and at.session_state["uploaded_scenario"] is None
    texts = assert_nothing_rendered_as_markdown(at)
    assert any("![x](http://host.example/a.png)" in t and "name" in t for t in texts)


# --- the session bound of uploads ------------------------------------------------------------------------------


def test_upload_session_bound_default_and_setting(monkeypatch):
    assert max_upload_sessions() == MAX_UPLOAD_SESSIONS == 5000
    check_upload_sessions(5000)
    with pytest.raises(InputError, match=r"5001 sessions.*at most 5000.*EVFLEET_DASHBOARD_MAX_SESSIONS"):
        check_upload_sessions(5001)
    monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, "120")
    assert max_upload_sessions() == 120
    for bad in ("0", "-5", "many", "1.5"):
        monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, bad)
        with pytest.raises(InputError, match=rf"{ENV_DASHBOARD_MAX_SESSIONS}.*{re.escape(repr(bad))}"):
            max_upload_sessions()
    monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, "50")
    with pytest.raises(InputError, match=r"fleet CSV: 60 sessions.*at most 50"):
        state.composition_from_csv(b"model,count\nTesla Model 3,40\nNissan Leaf,20\n")


def test_a_scenario_upload_above_the_bound_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, "50")
    sc = generate_scenario(vehicles=60, seed=3, start="2026-06-01")
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("screens/scenario.py").run()
    at.file_uploader(key="up_scenario").set_value(("big.json", sc.to_json().encode(), "application/json")).run()
    assert not at.exception and at.session_state["uploaded_scenario"] is None
    errors = [rendered_text(e.value)[1] for e in at.error]
    assert any("60 sessions" in e and "at most 50" in e and ENV_DASHBOARD_MAX_SESSIONS in e for e in errors), errors
    monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, "60")
    at.file_uploader(key="up_scenario").set_value(("ok.json", sc.to_json().encode(), "application/json")).run()
    assert not at.exception and at.session_state["uploaded_scenario"].content_hash == sc.content_hash


def test_an_upload_naming_an_unknown_charger_type_is_refused_at_upload():
    d = json.loads(generate_scenario(vehicles=60, seed=3, start="2026-06-01").to_json())
    d["vehicles"]["charger"][4] = "hpc350"
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page("screens/scenario.py").run()
    at.file_uploader(key="up_scenario").set_value(("c.json", json.dumps(d).encode(), "application/json")).run()
    assert not at.exception and at.session_state["uploaded_scenario"] is None
    errors = [rendered_text(e.value)[1] for e in at.error]
    assert any("vehicles.charger[4]" in e and "'hpc350'" in e for e in errors), errors
