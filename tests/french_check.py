"""What counts as "English left on a French page": shared by the AppTest walk and the Chromium walk.

The list holds English words of the dashboard's vocabulary that are not also French words (``table``, ``phase``,
``clause``, ``sessions``, ``options``, ``optimal``, ``support``, ``simple``, ``transformer``... are French too and
are left out). Before looking for them, a text loses what is not prose: the catalogue's model names (``Tesla
Model 3``), chunks with a digit, an underscore, a dot or ``=`` (identifiers, units, ``h=3``, ``ac7.4``), and
all-capitals acronyms (``SOC``, ``IEEE``, ``MAD``), except the English acronyms listed in
:data:`ENGLISH_ACRONYMS`. ``ALLOWED`` holds the few texts that are bilingual on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORDS = """
the of and with without from for by per at to is are not this that which every each all any none only when
where than be been it its your you here into over under after before while can could will would should peak
import export cost costs savings saving revenue degradation wear battery energy power load loading curve time
times limit limits vehicle vehicles charging chargers discharging discharge fleet strategy strategies
model models target departure arrival run runs step steps day days year years month months online offline live
uncontrolled price optimization shaving balancing filling grid renewable integration timer pass fail warning
critical good unbalance current voltage harmonic factor deviation frequency band rated ageing row odd even
allowance report download downloads upload results search mean unmet connected idle sweep sweeps share smart
software lifetime discount cash flow payback investment inputs quotes assumptions estimate simulated
simulation running paused language overview economics quality compliance indicator indicators value values
status state states previous event events log spectrum order choose apply error reset resume speed real
automatic same back generated file upload seed random start days minutes profile tariff composition window
floor ceiling unit link reference field figure figures weight popularity registrations sold site's what does
helps baseline compared full until spare urgent most reached minimises flattens cheap periods allowed paid
offers cuts starts begins simple
"""
#: words of the list that are French as well (or too short to judge)
_ALSO_FRENCH = {"simple", "site", "mode", "pause", "info", "source", "type", "total", "net", "options", "optimal",
                "support", "table", "phase", "clause", "sessions", "session", "points", "rate", "transformer",
                "europe", "or", "on", "a", "an", "as", "figure", "figures", "profile", "simulation", "minutes",
                "composition"}  # fmt: skip
ENGLISH_WORDS = frozenset(_WORDS.split()) - _ALSO_FRENCH
#: all-capitals English acronyms whose French differs (PF = FP, NPV = VAN)
ENGLISH_ACRONYMS = frozenset({"PF", "NPV"})
#: texts shown as they are in both languages (the language selector names its languages in their own words)
ALLOWED = ("Language / Langue", "English", "Password · Mot de passe")


def _catalog_names() -> list[str]:
    from evfleet.inputs.catalog import load_catalog

    return sorted(load_catalog()["model"].astype(str), key=len, reverse=True)


_MODELS: list[str] | None = None


def english_words(text: str) -> list[str]:
    """The English words of :data:`ENGLISH_WORDS` / :data:`ENGLISH_ACRONYMS` left in ``text`` once model names,
    identifiers, numbers and acronyms are taken out."""
    global _MODELS
    if _MODELS is None:
        _MODELS = _catalog_names()
    for allowed in ALLOWED:
        text = text.replace(allowed, " ")
    for name in _MODELS:
        if name in text:
            text = text.replace(name, " ")
    text = re.sub(r"%?\{[^}]*\}", " ", text)  # Plotly hover placeholders, format fields
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags in titles
    text = re.sub(r"`[^`]*`", " ", text)  # commands quoted in code
    text = re.sub(r"«[^»]*»", " ", text)  # identifiers quoted in French (file columns)
    chunks = [c for c in re.split(r"\s+", text) if c and not re.search(r"[\d_.=/:@\\]", c.strip(".,;:()"))]
    found = []
    for chunk in chunks:
        for word in re.findall(r"[A-Za-zÀ-ÖØ-öø-ÿ'’]+", chunk):
            if word.isupper() and len(word) > 1:
                if word in ENGLISH_ACRONYMS:
                    found.append(word)
                continue
            base = word.lower().removesuffix("'s").removesuffix("’s")
            if base in ENGLISH_WORDS:
                found.append(word)
    return found


def english_in(texts: Iterable[str]) -> dict[str, list[str]]:
    """text -> its English words, for the texts that have some."""
    out = {}
    for text in texts:
        words = english_words(str(text))
        if words:
            out[str(text)] = words
    return out
