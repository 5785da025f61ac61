"""Registry tests write rejection files and documents under a temporary data directory."""

from __future__ import annotations

import pytest

from canbao.config import get_settings


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CANBAO_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def spark():
    """One local Spark (2 cores, few shuffle partitions: the test data is small) for the whole run."""
    from registry import spark as spark_engine

    session = spark_engine.session("local[2]", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
