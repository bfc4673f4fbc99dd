"""Text that came from a file or a user, made safe for Streamlit's Markdown (no Streamlit import).

Streamlit renders ``st.markdown``, ``st.caption``, ``st.info``/``st.error``/…, widget labels, ``st.radio``
options and tooltips as GitHub-flavoured Markdown with its own directives (``:red[…]``, ``:material/…:``,
``$…$``). A scenario, model, vehicle, strategy, run or sweep name such as ``![x](http://host/a.png)`` would
then make every viewer's browser fetch a remote URL, and ``**bold**`` would change the page. Every such name
goes through :func:`md` (or is shown in a table, which renders plain text): every character that can open a
Markdown, HTML, entity, math or Streamlit construct is backslash-escaped (CommonMark's escape), and so is a
leading list marker (``-``, ``+``, ``1.``), so the name is displayed exactly as written and never parsed. ``-``,
``.``, ``,``, ``/``, quotes inside a name are left as they are (they start nothing there), so ordinary names
such as ``depot-500ev-2026-06-01`` read the same in the page source.
Selectbox options and ``st.dataframe`` cells are plain text already: do not escape them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["colon", "french_punctuation", "md", "md_bullets", "md_error"]

# Any ASCII punctuation may be backslash-escaped in CommonMark. These open emphasis (* _ ~), code (`), links and
# images (! [ ] ( )), HTML and autolinks (< > and the : of http://), entities (&), headings (#), tables (|), math
# ($), Streamlit directives (:red[...], :material/x:) and escapes (\); nothing else can start a construct
# inside a line (line breaks are removed).
_SPECIAL = re.compile(r"""([\\`*_{}\[\]()<>#!|~$:&^])""")
# At the very start, a list marker (- + or digits and . or )) or a block quote (>, already escaped above).
_LEADING = re.compile(r"^([-+]|\d+[.)])")


def md(text: object) -> str:
    """``text`` (any object, shown with ``str``) escaped so that Streamlit's Markdown displays it literally.

    Line breaks become spaces and leading blanks are dropped (a name is one line; a break or an indent could
    otherwise start a Markdown block; HTML collapses the blanks anyway).
    """
    one_line = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").lstrip()
    escaped = _SPECIAL.sub(r"\\\1", one_line)
    return _LEADING.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)


def md_error(exc: BaseException | str) -> str:
    """An error message (which quotes the offending value) escaped for ``st.error``/``st.caption``."""
    return md(exc)


def colon(lang: str = "en") -> str:
    """The colon after a field label: ``":"`` in English, ``"\u202f:"`` in French (French typography puts a narrow
    no-break space before it, which never lets the colon start a line)."""
    return "\u202f:" if lang == "fr" else ":"


#: an ordinary space between a word and ``: ; ! ?`` that ends a phrase (followed by a blank or the end)
_FR_SPACE_BEFORE = re.compile(r"(?<=\S) ([:;!?])(?=\s|$)")


def french_punctuation(text: str) -> str:
    """``text`` with French typography before ``: ; ! ?``: the ordinary space before them becomes a narrow no-break
    space (``"Tarif : heures"`` -> ``"Tarif\u202f: heures"``), so the sign never starts a line. Only a sign that
    ends a phrase changes (a blank or the end after it): ``http://``, ``12:30``, ``:material/x:`` stay as they are.
    """
    return _FR_SPACE_BEFORE.sub("\u202f\\1", text)


def md_bullets(items: Mapping[object, object], lang: str = "en") -> str:
    """A Markdown bullet list ``- **key**: value`` of ``items`` (``- **clé** : valeur`` in French, see
    :func:`colon`), keys and values escaped."""
    return "\n".join(f"- **{md(k)}**{colon(lang)} {md(v)}" for k, v in items.items())
