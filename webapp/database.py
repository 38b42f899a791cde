"""The classroom's database connection: one SQLite file (the default, nothing to install) or
PostgreSQL (CNNVIEW_DATABASE_URL), for several processes on several machines. Both through
SQLAlchemy Core with plain SQL that both understand; each write is one transaction,
committed (and synced to disk) before the caller acknowledges anything."""
import contextlib
import sqlite3
import threading

from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError  # noqa: F401  (re-exported: what a unique column raises)
from sqlalchemy.pool import StaticPool

# Any number that no other user of the database picks: schema changes from processes that
# start together take it in turn.
SCHEMA_LOCK = 0x636E6E76


class Database:
    """`query` reads, `write` runs one statement in a transaction of its own, `script` runs
    several statements in one transaction; rows are read by column name."""

    def __init__(self, url):
        self.url = url
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.engine = create_engine(postgres_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True)
            self._lock = contextlib.nullcontext()  # PostgreSQL handles concurrent connections itself
        else:
            self.engine = sqlite_engine(url)
            # One connection shared by the server's threads under a lock: SQLite serialises
            # writes anyway, and every statement here takes microseconds.
            self._lock = threading.Lock()

    def query(self, sql, **params) -> list:
        with self._lock, self.engine.connect() as connection:
            return connection.execute(text(sql), params).mappings().all()

    def write(self, sql, **params) -> list:
        """The rows the statement returns (its RETURNING clause), once committed."""
        with self._lock, self.engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return result.mappings().all() if result.returns_rows else []

    def script(self, statements, **params):
        """Several statements in one transaction; on PostgreSQL one process at a time (the
        schema is created by whichever app process starts first)."""
        with self._lock, self.engine.begin() as connection:
            if self.postgres:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            for statement in statements:
                connection.execute(text(statement), params)

    def columns(self, table) -> list:
        if self.postgres:
            rows = self.query("SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = :t", t=table)
        else:
            rows = self.query(f"SELECT name FROM pragma_table_info('{table}')")
        return [row["name"] for row in rows]

    def close(self):
        with self._lock:
            self.engine.dispose()


def postgres_url(url) -> str:
    """`postgresql://…` as libpq and Debian write it, with SQLAlchemy told to use psycopg 3
    (its default driver for that scheme is psycopg2, which is not installed)."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


def sqlite_engine(path):
    """A file in WAL mode with synchronous=FULL: a commit is on disk before it returns."""
    path = str(path).removeprefix("sqlite:///")

    def connect():
        # isolation_level=None: the driver starts no transactions of its own; SQLAlchemy's
        # "begin" event below does, so that a write and its RETURNING are one transaction.
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA secure_delete=ON")  # a deleted class's drawings and names are overwritten
        return connection

    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)

    @event.listens_for(engine, "begin")
    def begin(connection):
        connection.exec_driver_sql("BEGIN")

    return engine
