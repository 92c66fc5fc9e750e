"""The traffic store: the durable copy of each endpoint's traffic table, the per-variant live
statistics its replicas report, and its rollout, in one SQL database.

SQLite under ``RAYMAKER_HOME`` by default (one file for every endpoint of a project), any
SQLAlchemy URL otherwise (``postgresql://…`` on a cluster, where every node reaches it); the
engine is the async store's (WAL, busy timeout, ``BEGIN IMMEDIATE``), so replicas, the CLI and
a rollout controller in other processes write to it safely. Replicas read the table every
``REFRESH_S`` and append their statistics every ``STATS_FLUSH_S``: a weight change reaches every
replica within about a second, without restarting or reconfiguring any of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from serve.traffic.table import TrafficTable

REFRESH_S = 0.5
STATS_FLUSH_S = 1.0
_STATS_KEEP_S = 7 * 86400.0
STATS_PRUNE_S = 3600.0  # each replica deletes reports older than _STATS_KEEP_S this often

metadata = sa.MetaData()
_tables = sa.Table(
    "raymaker_traffic",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("deploy_id", sa.String(32), nullable=False),
    sa.Column("data", sa.Text),  # TrafficTable.to_json(); null for an endpoint of one version
    sa.Column("spec", sa.Text),  # the EndpointSpec the last deploy applied, for rollouts
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("updated_by", sa.String(128)),
)
_stats = sa.Table(
    "raymaker_variant_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(64), nullable=False, index=True),
    sa.Column("replica", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False, index=True),  # end of the reported interval
    sa.Column("data", sa.Text, nullable=False),  # {variant: VariantStats.to_json()}
)
_rollouts = sa.Table(
    "raymaker_rollouts",
    metadata,
    sa.Column("endpoint", sa.String(64), primary_key=True),  # one rollout per endpoint
    sa.Column("data", sa.Text, nullable=False),  # serve.rollout.controller's record
    sa.Column("updated_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class StoredTraffic:
    table: TrafficTable | None
    spec: dict[str, Any] | None
    updated_at: float
    updated_by: str | None


def default_url(home: str) -> str:
    from pathlib import Path

    return f"sqlite:///{Path(home).resolve() / 'traffic.db'}"


def open_store(url: str | None = None) -> TrafficStore:
    """The traffic store at ``url``, or the default one under ``RAYMAKER_HOME``."""
    from ray_apps import settings

    return TrafficStore(url or default_url(str(settings.home())))


class TrafficStore:
    def __init__(self, url: str):
        from serve.async_inference._engine import store_engine

        self.url = url
        self.engine = store_engine(url, metadata)

    # -- the table -----------------------------------------------------------------------------
    def get(self, endpoint: str) -> StoredTraffic | None:
        with self.engine.begin() as c:
            row = c.execute(sa.select(_tables).where(_tables.c.endpoint == endpoint)).first()
        if row is None:
            return None
        return StoredTraffic(
            TrafficTable.from_json(json.loads(row.data)) if row.data else None,
            json.loads(row.spec) if row.spec else None,
            row.updated_at,
            row.updated_by,
        )

    def put(
        self,
        endpoint: str,
        table: TrafficTable | None,
        *,
        by: str,
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        """Write ``table`` (None: the endpoint serves one version) and, from a deploy, the spec
        it applied."""
        values = {
            "deploy_id": table.deploy_id if table is not None else "",
            "data": json.dumps(table.to_json()) if table is not None else None,
            "updated_at": time.time(),
            "updated_by": by,
        }
        if spec is not None:
            values["spec"] = json.dumps(spec)
        with self.engine.begin() as c:
            done = c.execute(
                sa.update(_tables).where(_tables.c.endpoint == endpoint).values(**values)
            ).rowcount
            if not done:
                c.execute(sa.insert(_tables).values(endpoint=endpoint, **values))

    def change(self, endpoint: str, edit, *, by: str) -> TrafficTable:
        """Read, ``edit(table) -> table``, write: one transaction, so two changes never
        interleave (SQLite: ``BEGIN IMMEDIATE``; elsewhere a row lock)."""
        from ray_apps.errors import NotFoundError

        with self.engine.begin() as c:
            query = sa.select(_tables).where(_tables.c.endpoint == endpoint)
            if self.engine.dialect.name != "sqlite":
                query = query.with_for_update()
            row = c.execute(query).first()
            if row is None or not row.data:
                raise NotFoundError(
                    f"endpoint {endpoint!r} has no traffic table in {self.url}; deploy it with "
                    "variants (raymaker deploy --config endpoint.yaml) first"
                )
            new = edit(TrafficTable.from_json(json.loads(row.data)))
            c.execute(
                sa.update(_tables)
                .where(_tables.c.endpoint == endpoint)
                .values(data=json.dumps(new.to_json()), updated_at=time.time(), updated_by=by)
            )
        return new

    def endpoints(self) -> list[str]:
        """Every endpoint with a table (deployed) or a rollout here, sorted."""
        with self.engine.begin() as c:
            names = {r.endpoint for r in c.execute(sa.select(_tables.c.endpoint))}
            names |= {r.endpoint for r in c.execute(sa.select(_rollouts.c.endpoint))}
        return sorted(names)

    def remove(self, endpoint: str) -> None:
        with self.engine.begin() as c:
            c.execute(sa.delete(_tables).where(_tables.c.endpoint == endpoint))

    # -- live statistics -----------------------------------------------------------------------
    def add_stats(self, endpoint: str, replica: str, at: float, stats: Mapping[str, Any]) -> None:
        """``stats``: {variant: VariantStats} of one replica's interval ending at ``at``."""
        data = json.dumps({k: v.to_json() for k, v in stats.items()})
        with self.engine.begin() as c:
            c.execute(
                sa.insert(_stats).values(endpoint=endpoint, replica=replica, at=at, data=data)
            )

    def stats_since(self, endpoint: str, since: float, until: float | None = None):
        """{variant: VariantStats} summed over every replica's reports in ``(since, until]``."""
        from serve.traffic.stats import VariantStats, merge_all

        query = sa.select(_stats.c.data).where(_stats.c.endpoint == endpoint, _stats.c.at > since)
        if until is not None:
            query = query.where(_stats.c.at <= until)
        with self.engine.begin() as c:
            rows = [json.loads(r.data) for r in c.execute(query)]
        return merge_all({k: VariantStats.from_json(v) for k, v in row.items()} for row in rows)

    def prune_stats(self, now: float) -> None:
        with self.engine.begin() as c:
            c.execute(sa.delete(_stats).where(_stats.c.at < now - _STATS_KEEP_S))

    # -- the rollout ---------------------------------------------------------------------------
    def get_rollout(self, endpoint: str) -> dict[str, Any] | None:
        with self.engine.begin() as c:
            row = c.execute(
                sa.select(_rollouts.c.data).where(_rollouts.c.endpoint == endpoint)
            ).first()
        return None if row is None else json.loads(row.data)

    def put_rollout(self, endpoint: str, data: Mapping[str, Any]) -> None:
        values = {"data": json.dumps(data), "updated_at": time.time()}
        with self.engine.begin() as c:
            done = c.execute(
                sa.update(_rollouts).where(_rollouts.c.endpoint == endpoint).values(**values)
            ).rowcount
            if not done:
                c.execute(sa.insert(_rollouts).values(endpoint=endpoint, **values))
