"""Reading Wycheproof's JOSE vectors (``../shared/testdata/wycheproof``) for parametrisation.

Parametrisation happens before fixtures exist, so the case ids are read here, at collection
time, from the same folder the ``wycheproof_dir`` fixture serves. When the folder is absent the
parameter list is never empty (an empty list would make pytest skip silently): it holds one
placeholder case that fails under ``CI=true`` and skips, saying why, elsewhere.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import IN_CI, WYCHEPROOF

__all__ = ["cases", "load", "missing_reason"]


def missing_reason(name: str) -> str | None:
    """Why the vector file ``name`` cannot be read, or None when it can."""
    path = WYCHEPROOF / name
    if path.is_file():
        return None
    return f"Wycheproof vectors not found at {path} (expected ../shared/testdata beside the repo)"


@cache
def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def cases(name: str, *, with_group: bool) -> list[Any]:
    """One ``pytest.param`` per case of ``name``: ``(index, tc_id)`` or ``(tc_id,)``."""
    reason = missing_reason(name)
    if reason is not None:
        # Under CI the placeholder runs and fails (see its test body's fixture); elsewhere skips.
        mark = pytest.mark.skip(reason=reason) if not IN_CI else ()
        values = (-1, -1) if with_group else (-1,)
        return [pytest.param(*values, id="vectors-missing", marks=mark)]
    params = []
    for index, group in enumerate(load(WYCHEPROOF / name)["testGroups"]):
        for case in group["tests"]:
            values = (index, case["tcId"]) if with_group else (case["tcId"],)
            params.append(pytest.param(*values, id=f"tc{case['tcId']}-{case['comment']}"))
    return params
