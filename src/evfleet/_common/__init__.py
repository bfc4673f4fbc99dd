"""Private helpers shared by every layer (stdlib, numpy and pandas only): files, JSON, ids, tolerances."""
