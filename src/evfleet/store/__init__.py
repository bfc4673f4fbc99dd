"""The run store: runs, comparisons, sweeps and live sessions in SQLite (default) or PostgreSQL."""

from evfleet.store.runs import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
