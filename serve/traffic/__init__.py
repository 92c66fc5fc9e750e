"""Traffic between versions of one model on an endpoint: variants, weights, shadow, stats.

``table`` (what variants exist and their weights), ``choice`` (pure: which variant answers a
request and which shadows it), ``store`` (the durable copy replicas poll and the CLI, the admin
routes and rollouts change), ``stats`` (per-variant live observations), ``router`` (the replica
side: refresh, forward, mirror).
"""
