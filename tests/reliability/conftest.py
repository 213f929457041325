"""Every test in this folder is marked ``reliability`` (and ``slow``, ``postgres``, ``redis``):
``pytest -m reliability`` runs the folder alone, ``-m 'not reliability'`` leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            for mark in ("reliability", "slow", "postgres", "redis"):
                item.add_marker(mark)
