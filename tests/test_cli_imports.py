"""The CLI defers its numerical imports: `evfleet --help` and the command table load neither pandas nor scipy."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return set(out.stdout.split())


def test_cli_import_is_light() -> None:
    mods = _modules_after("import evfleet.cli, evfleet.cli.core, evfleet.cli._common")
    heavy = {m for m in mods if m.split(".")[0] in {"pandas", "scipy", "highspy", "plotly", "sqlalchemy", "alembic"}}
    assert not heavy, sorted(heavy)[:10]


def test_help_runs_and_loads_no_pandas() -> None:
    code = (
        "import sys\n"
        "from evfleet.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "finally:\n"
        "    print('PANDAS' if 'pandas' in sys.modules else 'NOPANDAS')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "run" in out.stdout and out.stdout.strip().endswith("NOPANDAS"), out.stdout[-300:]
