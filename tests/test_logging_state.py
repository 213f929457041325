"""The guard of tests/conftest.py over jwtwarden's logging state can fail, for each change that
would empty caplog, and leaves alone what is not a change."""

from __future__ import annotations

import logging
import logging.config
from collections.abc import Callable, Iterator

import pytest

from jwtwarden.server.logs import logging_config
from tests._logging_state import changes, logging_state, restore

NAME = "jwtwarden.guard-self-test"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    created = logging.getLogger(NAME)
    yield created
    created.setLevel(logging.NOTSET)
    created.propagate = True
    created.disabled = False
    created.handlers.clear()


def _stop_propagating(lg: logging.Logger) -> None:
    lg.propagate = False


def _disable(lg: logging.Logger) -> None:
    lg.disabled = True


def _raise_level(lg: logging.Logger) -> None:
    lg.setLevel(logging.CRITICAL)


def _add_handler(lg: logging.Logger) -> None:
    lg.addHandler(logging.NullHandler())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            _stop_propagating,
            "propagate=True disabled=False handlers=0 -> level=NOTSET propagate=False",
        ),
        (_disable, "disabled=False handlers=0 -> level=NOTSET propagate=True disabled=True"),
        (_raise_level, "-> level=CRITICAL"),
        (_add_handler, "handlers=0 -> level=NOTSET propagate=True disabled=False handlers=1"),
    ],
    ids=[
        "should report a logger that stopped propagating",
        "should report a disabled logger",
        "should report a raised level",
        "should report a handler of its own",
    ],
)
def test_should_report_each_change_that_would_hide_records_from_caplog(
    logger: logging.Logger, change: Callable[[logging.Logger], None], expected: str
) -> None:
    before = logging_state()
    change(logger)
    found = changes(before, logging_state())
    assert len(found) == 1 and found[0].startswith(NAME + ": "), found
    assert expected in found[0]


def test_should_report_logging_disable() -> None:
    before = logging_state()
    logging.disable(logging.CRITICAL)
    try:
        found = changes(before, logging_state())
    finally:
        logging.disable(logging.NOTSET)
    assert found == ["logging.disable: 0 -> 50"]


def test_should_report_what_the_servers_own_logging_config_does_to_jwtwarden() -> None:
    # jwtwarden serve installs this configuration; in a test process it hides every jwtwarden
    # record from caplog, which is why the guard exists.
    names = ("jwtwarden", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: logging.getLogger(n) for n in names}
    state = {n: (lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for n, lg in saved.items()}
    before = logging_state()
    logging.config.dictConfig(logging_config("INFO"))
    try:
        found = changes(before, logging_state())
    finally:
        for name, lg in saved.items():
            lg.setLevel(state[name][0])
            lg.propagate, lg.disabled, lg.handlers[:] = state[name][1:]
    assert any(f.startswith("jwtwarden: ") and "propagate=False" in f for f in found), found


def test_should_not_count_a_logger_created_with_its_defaults_as_a_change() -> None:
    before = logging_state()
    logging.getLogger("jwtwarden.guard-self-test.new-" + str(id(before)))
    assert changes(before, logging_state()) == []


def test_should_put_the_loggers_back_as_they_were(logger: logging.Logger) -> None:
    before = logging_state()
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    logging.getLogger(NAME + ".child").disabled = True
    restore(before)
    assert changes(before, logging_state()) == []
    assert logger.propagate is True and logger.handlers == []
