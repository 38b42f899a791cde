"""Fixtures for the real PostgreSQL and Redis servers some tests run the app against:
started from Debian's packages (.ci/run installs them) in temporary folders, one per test
session, and stopped at its end."""
import itertools
import shutil
import tempfile

import pytest

from bench.services import Postgres, Redis, missing


def need_servers():
    absent = missing()
    if absent:
        pytest.skip("not installed here (.ci/run installs them): " + ", ".join(absent))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    need_servers()
    # Not under pytest's folder: that is private to root, and the server runs as `postgres`.
    folder = tempfile.mkdtemp(prefix="cnnview-postgres-")
    server = Postgres(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    need_servers()
    server = Redis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres):
    """A fresh, empty schema of its own for each test (a schema costs a millisecond, a
    database a second: PostgreSQL copies its template through the write-ahead log)."""
    schema = f"test_{next(_numbers)}"
    postgres.psql(f"CREATE SCHEMA {schema}")
    return postgres.url() + f"?options=-csearch_path%3D{schema}"
