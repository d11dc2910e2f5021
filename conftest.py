"""Fixtures shared by tests/ and benchmarks/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of the session's own (see tests/services.py)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
