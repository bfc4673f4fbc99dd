"""Suite-wide test settings.

No test may write to the user's real data directory: every test session gets its own run store (``EVFLEET_DB`` in a
temporary directory), so that commands which store their results (``evfleet run``/``compare``) stay sandboxed
even in tests that do not think about the store. Tests that need their own store override it with monkeypatch.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _sandboxed_run_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("EVFLEET_DB", str(tmp_path_factory.mktemp("evfleet-store") / "evfleet.db"))
    mp.delenv("EVFLEET_TRACE_DIR", raising=False)
    mp.setenv("EVFLEET_PRECOMPUTE", "0")  # no background pre-computation in the dashboard under test
    try:
        yield
    finally:
        mp.undo()
        import sys

        sp = sys.modules.get("evfleet.dashboard.solver_process")
        if sp is not None:  # never leave the dashboard's background worker processes behind
            sp.stop()
