"""The store reads its migration chain from the files without alembic; it must equal alembic's own walk."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from evfleet.store import engine


def test_known_revisions_equal_alembics_walk() -> None:
    script = ScriptDirectory.from_config(engine._alembic_config())
    walked = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert engine.known_revisions() == walked
    assert walked[0] == "0001" and len(walked) >= 4


def test_opening_an_up_to_date_store_does_not_import_alembic(tmp_path) -> None:
    db = tmp_path / "runs.db"
    code = (
        "import sys\n"
        "from evfleet.store import open_store\n"
        f"open_store({str(db)!r}).close()\n"  # creates and migrates (alembic needed)
        "for m in [m for m in sys.modules if m.startswith('alembic')]: del sys.modules[m]\n"
        f"open_store({str(db)!r}).close()\n"
        "print(any(m.startswith('alembic') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
