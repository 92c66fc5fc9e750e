"""The one table of the async store, and the row it reads back as a ``Record``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

requests = sa.Table(
    "raymaker_async_requests",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("endpoint", sa.String(64), nullable=False),  # one database may hold many
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.String(16), nullable=False),
    sa.Column("route", sa.String(32), nullable=False),  # the real-time route: v1_predict, …
    sa.Column("path", sa.String(512), nullable=False),  # the real-time path it is answered on
    sa.Column("header_length", sa.Integer),  # V2 binary extension: the JSON part's length
    sa.Column("base", sa.String(256), nullable=False),  # the app's route prefix, for URLs
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("owner", sa.String(128)),  # the consumer holding the lease
    sa.Column("lease_until", sa.Float),
    sa.Column("not_before", sa.Float, nullable=False),  # a retry waits until then
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("error", sa.Text),
    sa.Column("result_file", sa.String(64)),
    sa.Column("result_status", sa.Integer),
    sa.Column("callback_url", sa.Text),
    sa.Column("callback_state", sa.String(16)),  # pending | delivered | failed
    sa.Column("callback_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("callback_next_at", sa.Float),  # due then; while sending, the sender's lease
    sa.Column("callback_owner", sa.String(128)),
    sa.Column("callback_status", sa.Integer),  # the receiver's last HTTP status
    sa.Column("callback_error", sa.Text),
    sa.Index("ix_raymaker_async_claim", "endpoint", "status", "submitted_at"),
    sa.Index("ix_raymaker_async_callback", "endpoint", "callback_state", "callback_next_at"),
)


@dataclass(frozen=True)
class Record:
    """One async request as the store last saw it."""

    id: str
    endpoint: str
    model: str
    version: str
    route: str
    path: str
    header_length: int | None
    base: str
    status: str
    attempts: int
    owner: str | None
    lease_until: float | None
    not_before: float
    submitted_at: float
    updated_at: float
    finished_at: float | None
    error: str | None
    result_file: str | None
    result_status: int | None
    callback_url: str | None
    callback_state: str | None
    callback_attempts: int
    callback_next_at: float | None
    callback_owner: str | None
    callback_status: int | None
    callback_error: str | None

    @classmethod
    def from_row(cls, row: Any) -> Record:
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in fields(cls)})
