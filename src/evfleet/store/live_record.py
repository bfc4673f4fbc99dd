"""Record a live simulation's history in the run store, in rolling chunks.

Units: power [kW] (+ = charging), SOC fraction 0-1, steps of the scenario; ``chunk_steps`` counts steps.

A :class:`LiveRecorder` is handed to :class:`.LiveSimulation` (``recorder=``) and is called from the
stepping thread after every applied step. It buffers the per-vehicle power and SOC of the current day and, every
``chunk_steps`` steps (default: one simulated hour) and at the end of each day, stores them as one chunk of a live
session (:meth:`evfleet.store.live.StoreLive.save_live_chunk`). Each scenario day gets its own live session
(a session belongs to one scenario); ``max_chunks`` keeps only the newest chunks of a session.

A store error never stops the stepping: it is logged (logger ``evfleet.store.live_record``), counted in ``errors`` and
kept in ``last_error``; the chunk is dropped and recording goes on with the next one.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from evfleet._common.errors import InputError
from evfleet.scenario import Scenario
from evfleet.store.runs import open_store

__all__ = ["LiveRecorder"]

log = logging.getLogger(__name__)


class LiveRecorder:
    """Buffers a live simulation's steps and stores them as rolling chunks of live sessions.

    ``db``: the store location (``None``: ``$EVFLEET_DB`` / the default). ``chunk_steps``: steps per chunk
    (``None``: one simulated hour, at least one step). ``max_chunks``: newest chunks kept per session (``None``: all).
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        chunk_steps: int | None = None,
        max_chunks: int | None = None,
        name: str = "live",
    ) -> None:
        if chunk_steps is not None and chunk_steps < 1:
            raise InputError(f"option 'chunk_steps' must be >= 1 (value {chunk_steps!r})")
        if max_chunks is not None and max_chunks < 1:
            raise InputError(f"option 'max_chunks' must be >= 1 (value {max_chunks!r})")
        self.db = db
        self.chunk_steps_option = chunk_steps
        self.max_chunks = max_chunks
        self.name = name
        self.session_ids: list[str] = []
        self.chunks_saved = 0
        self.errors = 0
        self.last_error: str | None = None
        self._store: Any = None
        self._sc: Scenario | None = None
        self._session: str | None = None
        self._meta: dict[str, Any] = {}
        self._clear()

    # --- called by LiveSimulation (stepping thread) ------------------------------------------------------------

    def start_day(self, scenario: Scenario, day: int, meta: dict[str, Any] | None = None) -> None:
        """A new scenario day begins (flushes nothing: call :meth:`end_day` first). Its session starts lazily."""
        self._sc = scenario
        self._day = int(day)
        self._meta = dict(meta or {})
        self._session = None
        self._clear()

    def record(
        self, t: int, soc_before: np.ndarray, power_kw: np.ndarray, soc_after: np.ndarray, site_kw: float
    ) -> None:
        """Step ``t`` was applied: ``power_kw`` (N,) [kW], SOC before/after (N,) [0-1], ``site_kw`` [kW]."""
        if self._t0 is None:
            self._t0 = int(t)
            self._soc = [np.asarray(soc_before, dtype=float).copy()]
        self._power.append(np.asarray(power_kw, dtype=float).copy())
        self._soc.append(np.asarray(soc_after, dtype=float).copy())
        self._site.append(float(site_kw))
        if len(self._power) >= self.chunk_steps:
            self.flush()

    def end_day(self) -> None:
        """The day's scenario ends: store the partial chunk."""
        self.flush()

    def discard(self) -> None:
        """Forget the buffered steps and the current session (the simulation was reset)."""
        self._session = None
        self._clear()

    # --- store -------------------------------------------------------------------------------------------------

    @property
    def chunk_steps(self) -> int:
        if self.chunk_steps_option is not None:
            return int(self.chunk_steps_option)
        if self._sc is None:
            return 1
        return max(1, round(1.0 / self._sc.dt_h))

    @property
    def session_id(self) -> str | None:
        """The live session of the current day (``None`` until its first chunk is stored)."""
        return self._session

    def _clear(self) -> None:
        self._t0: int | None = None
        self._power: list[np.ndarray] = []
        self._soc: list[np.ndarray] = []
        self._site: list[float] = []

    def _open(self) -> Any:
        if self._store is None:
            self._store = open_store(self.db)
        return self._store

    def flush(self) -> str | None:
        """Store the buffered steps as one chunk now; return its run id (``None`` if nothing or on a store error)."""
        if self._t0 is None or not self._power or self._sc is None:
            return None
        sc, t0 = self._sc, self._t0
        power = np.stack(self._power, axis=1)
        soc = np.stack(self._soc, axis=1)
        site = np.asarray(self._site)
        self._clear()
        try:
            store = self._open()
            if self._session is None:
                meta = {"day": self._day, **self._meta}
                self._session = store.start_live_session(
                    sc, name=self.name, options=meta.pop("options", None), meta=meta
                )
                self.session_ids.append(self._session)
                store.prune_live_sessions(keep=(self._session,))  # retention rule (docs/store.md)
            run_id = store.save_live_chunk(
                self._session, sc, t0, power, soc, site, strategy=str(self._meta.get("strategy", "live")),
                max_chunks=self.max_chunks,
            )  # fmt: skip
        except Exception as exc:  # never stop the stepping on a store problem
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("live history: chunk of steps %d-%d not stored: %s", t0, t0 + power.shape[1] - 1, exc)
            self.close()
            return None
        self.chunks_saved += 1
        return run_id

    def close(self) -> None:
        """Close the store connection (reopened at the next chunk)."""
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:  # pragma: no cover - closing a broken connection
                log.warning("live history: closing the store failed: %s", exc)
