"""Operating a node: the local HTTP ops port (health, readiness, Prometheus metrics).

* :mod:`node.ops.metrics` — every metric the node exports, one registry per node.
* :mod:`node.ops.server` — ``/healthz``, ``/readyz`` and ``/metrics`` over plain HTTP,
  on loopback unless the operator says otherwise (``[ops] listen``).

Metric labels carry peer agency ids and RPC method names only, never record
contents, match or disclosure identifiers.
"""
