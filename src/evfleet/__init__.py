"""evfleet: energy management for electric-vehicle fleets and charging depots.

Data flows one way: inputs -> scenario -> strategy -> simulator -> results -> KPIs -> views.
Units are SI-ish and written in every name: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
