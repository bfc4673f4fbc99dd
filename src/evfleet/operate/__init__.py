"""Operate a real depot: the OCPP 1.6J / 2.0.1 central system, the control loop, the REST API, a simulated depot.

A layer above the store and the simulation (``docs/operate.md``): ``evfleet serve`` runs :func:`~evfleet.operate.
server.run_server`, ``evfleet depot-sim`` runs :func:`~evfleet.operate.depot_sim.run_depot`.
"""
