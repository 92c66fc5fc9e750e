"""The async store's SQLAlchemy engine: SQLite set up for several writing processes, any
other database (PostgreSQL) as SQLAlchemy opens it, and the table created if absent."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from serve.async_inference._table import metadata as _async_tables

_BUSY_TIMEOUT_MS = 10_000


def store_engine(url: str, metadata: sa.MetaData = _async_tables) -> sa.Engine:
    """An engine on ``url`` with ``metadata``'s tables (the async store's by default) created if
    absent; SQLite set up for several processes (WAL, a busy timeout, ``BEGIN IMMEDIATE``)."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    try:
        metadata.create_all(engine)
    except sa.exc.DatabaseError:  # another process created it between check and create
        metadata.create_all(engine)
    return engine


def _sqlite_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's deferred
    # BEGIN: the write lock is taken up front (waiting up to the busy timeout) rather than
    # upgraded mid-transaction, which SQLite answers with "database is locked" at once.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
