"""The README's Python example runs as written (the public API it shows exists and works)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Use it from Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "from evfleet import" in code
    exec(compile(code, str(README), "exec"), {})
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) > 0 and printed[-2:] == ["(500,", "96)"]
