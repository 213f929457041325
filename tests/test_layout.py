"""The layout shows the architecture (issue 12): modules stay small, tests mirror the package.

Modules: one that passes ``MAX_LINES`` says why at its top, in a paragraph of its docstring
that starts with ``Size:`` or in a ``# Size:`` comment (split by operation first; STYLE.md
rule 15).

Tests (item 10): a newcomer finds the tests of ``src/jwtwarden/<package>/`` in
``tests/<package>/``, and the tests of a top-level module (``verify.py``, ``issue.py``, ...)
beside it in ``tests/test_<module>*.py``.

Every folder of tests/ is either a package of src/jwtwarden or one of the cross-cutting folders
below, each indexed from docs/security.md ("Where the tests live"); every package of
src/jwtwarden has its folder of tests (or a written reason where its tests are instead).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jwtwarden

SRC = Path(jwtwarden.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent
SECURITY_DOC = TESTS.parent / "docs" / "security.md"
MAX_LINES = 400
TOP_LINES = 60  # where a '# Size:' comment counts as "at the top"

# Folders that cut across packages: they test a property of the whole library or server, so
# they are organised by kind of evidence, not by package.
CROSS_CUTTING: dict[str, str] = {
    "vectors": "published test vectors (Wycheproof) run in full",
    "properties": "hypothesis properties of the verifier over every algorithm",
    "interop": "the same tokens through PyJWT and Node's jose",
    "security": "one test per attack class of the security review, across packages",
    "fuzz": "atheris targets, their corpus and the regressions they found",
    "reliability": "fault scenarios on throwaway PostgreSQL and Redis servers",
    "browser": "the inspector page and the web-app SDK driven in Chromium",
}
# Folders that hold no tests, only a support part other tests start.
SUPPORT: dict[str, str] = {
    "peers": "the reference OpenID provider (Node oidc-provider) and the discovery validators",
}
# A package whose tests live elsewhere, and where.
TESTED_ELSEWHERE: dict[str, tuple[str, ...]] = {
    # _jose/ is the verifier's structure and header layer, private, reached only through the
    # verifier: its tests are the verifier's (and the fuzz targets').
    "_jose": ("test_verify_structure.py", "test_verify_header.py", "fuzz"),
}
# Test modules at the top of tests/ that are not named after a top-level module of
# src/jwtwarden: the repository-wide guards, and verifier tests named by what they check.
TOP_LEVEL_TESTS: dict[str, str] = {
    "docs_examples": "every example of README.md and docs/ runs (a guard over docs/)",
    "honesty": "every test can fail for the right reason (a guard over tests/)",
    "layering": "the package reads in one direction (a guard over src/)",
    "layout": "this file",
    "names": "one word, one meaning across src/ (a guard over src/)",
    "public_api": "the exported names of jwtwarden and its facades",
    "services": "tests/_services.py, the PostgreSQL and Redis the tests run on",
    "ci_run": ".ci/run, the CI script: both legs (newest, lowest versions) and its exit code",
    "collection": "every pytest-xdist worker collects the same test names (a guard over tests/)",
    "logging_state": "tests/_logging_state.py, the conftest guard over jwtwarden's loggers",
    "messages": "refusals that say what to do: the messages of the verifier's errors",
    "smoke_roundtrip": "one sign-and-verify round trip (verify.py)",
    "jws_verifier_setup": "JWSVerifier's construction (verify.py)",
}


def _packages() -> set[str]:
    # server/ is a namespace package (no __init__.py): a folder holding modules is a package.
    return {
        p.name
        for p in SRC.iterdir()
        if p.is_dir() and not p.name.startswith("__") and any(p.glob("*.py"))
    }


def _modules() -> set[str]:
    return {p.stem.lstrip("_") for p in SRC.glob("*.py") if not p.name.startswith("__")}


def _test_folders() -> set[str]:
    return {
        p.name
        for p in TESTS.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and p.name != "node_modules"
    }


def test_should_find_the_packages_and_the_folders_it_checks() -> None:
    # The checks below are vacuous if either side is empty or mis-read.
    assert {"keys", "jwks", "sessions", "stores", "server"} <= _packages()
    assert {"keys", "jwks", "vectors", "security"} <= _test_folders()


def test_should_have_every_folder_of_tests_mirror_a_package_or_be_listed_as_cross_cutting() -> None:
    stray = _test_folders() - _packages() - set(CROSS_CUTTING) - set(SUPPORT)
    assert not stray, (
        f"tests/{sorted(stray)[0]}/ is neither a package of src/jwtwarden nor a listed "
        "cross-cutting folder: move its tests to tests/<package>/ by what they test, or list it "
        "in CROSS_CUTTING with a reason and index it in docs/security.md"
    )


@pytest.mark.parametrize("package", sorted(_packages() - set(TESTED_ELSEWHERE)))
def test_should_give_every_package_a_folder_of_tests(package: str) -> None:
    folder = TESTS / package
    assert folder.is_dir(), f"src/jwtwarden/{package}/ has no tests/{package}/"
    assert (folder / "__init__.py").is_file(), f"tests/{package}/ is not a package"
    assert sorted(folder.glob("test_*.py")), f"tests/{package}/ holds no test module"


@pytest.mark.parametrize("package", sorted(TESTED_ELSEWHERE))
def test_should_find_the_tests_of_a_package_tested_elsewhere(package: str) -> None:
    assert package in _packages(), f"{package} is no longer a package: drop it from the list"
    for place in TESTED_ELSEWHERE[package]:
        assert (TESTS / place).exists(), f"tests/{place} (the tests of {package}) is missing"


def test_should_name_every_top_level_test_module_after_a_module_of_jwtwarden() -> None:
    modules = _modules()
    stray = [
        path.name
        for path in sorted(TESTS.glob("test_*.py"))
        if (stem := path.stem.removeprefix("test_")) not in TOP_LEVEL_TESTS
        and not any(stem == m or stem.startswith(f"{m}_") for m in modules)
    ]
    assert not stray, (
        f"tests/{stray[0]} tests no top-level module of src/jwtwarden: a package's tests go "
        "in tests/<package>/"
    )


@pytest.mark.parametrize("folder", sorted(CROSS_CUTTING))
def test_should_index_every_cross_cutting_folder_from_the_security_page(folder: str) -> None:
    assert (TESTS / folder).is_dir(), f"tests/{folder}/ is listed but missing"
    index = SECURITY_DOC.read_text(encoding="utf-8").split("## Where the tests live", 1)
    assert len(index) == 2, "docs/security.md has no 'Where the tests live' section"
    assert f"`tests/{folder}/`" in index[1], f"docs/security.md does not index tests/{folder}/"


def _size_reason(path: Path) -> str | None:
    """A paragraph of the module docstring starting with ``Size:``, or a ``# Size:`` comment
    among the module's first lines, that gives a reason (a few words, not the marker alone)."""
    text = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(text)) or ""
    candidates = [p for p in docstring.split("\n\n") if p.startswith("Size:")]
    candidates += [
        line.removeprefix("# ")
        for line in text.splitlines()[:TOP_LINES]
        if line.startswith("# Size:")
    ]
    return next((c for c in candidates if len(c.split()) >= 8), None)


def _long_modules() -> list[Path]:
    return sorted(
        path
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES
    )


def test_should_say_why_at_the_top_of_every_module_past_400_lines() -> None:
    unexplained = [
        f"{path.relative_to(SRC.parent)} ({len(path.read_text(encoding='utf-8').splitlines())})"
        for path in _long_modules()
        if _size_reason(path) is None
    ]
    assert not unexplained, (
        f"{unexplained[0]} lines: past {MAX_LINES} lines without a reason; split it by "
        "operation, or say at its top why it stays whole (a docstring paragraph or a comment "
        "starting 'Size:')"
    )


def test_should_find_the_size_reason_only_in_a_paragraph_that_gives_one(tmp_path: Path) -> None:
    # The check above is only as good as this reader of it.
    cases = {
        '"""Title.\n\nSize: one tree of short classes, by design, as httpx does."""\n': True,
        '"""Title.\n\nSize: big."""\n': False,  # a marker with no reason
        '"""Title, with Size: in the middle of a sentence that goes on and on."""\n': False,
        "# Size: one state machine as sync and async twins, which change in step\n": True,
        "# Size: big\n": False,
        "\n" * 60 + "# Size: too far down to be read as the module's reason for its size\n": False,
    }
    for number, (text, found) in enumerate(cases.items()):
        module = tmp_path / f"m{number}.py"
        module.write_text(text, encoding="utf-8")
        assert (_size_reason(module) is not None) is found, text
