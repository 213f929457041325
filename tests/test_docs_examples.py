"""Every fenced ``python``, ``sh``, ``bash`` and ``console`` block of README.md and docs/*.md
runs in the suite (issue 17), or is listed in ``NOT_RUN`` with the reason it cannot.

- Python blocks of one file run in order in one namespace (a reader's session), seeded by the
  file's ``PRELUDES`` entry with the names the prose introduces (``token``, ``jwks_json``...),
  in a temporary directory; a block passes when it runs to the end without an exception.
- Shell blocks of one file run in order in one ``bash -euo pipefail`` session in a temporary
  directory, next to a development server the test starts there (``./.jwtwarden``, as
  ``jwtwarden serve`` would), with the installed CLI first on ``PATH``. The session's
  ``curl`` fails on any HTTP error (``--fail-with-body``), so a documented call that answers
  4xx fails the test. Two substitutions, both stated here: the documented address
  ``127.0.0.1:8000`` / ``localhost:8000`` is the test server's free port, and a line that is
  exactly ``jwtwarden serve`` is the server the test already started. ``console`` blocks
  run their ``$`` lines.
- A block is named by its file and its first line; a block that is neither run nor listed
  fails ``test_should_run_or_list_every_example_block``, and so does a listed name that no
  longer exists.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jwtwarden import generate_key
from tests._docs_sessions import OUTCOMES, PRELUDES, access_token
from tests.server.support import ServerProcess, clean_env, free_port

ROOT = Path(__file__).resolve().parents[1]
FILES = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "sh", "bash", "console"}
# Fences that show data or output, never run: an unknown tag (```shell, ```py) fails the
# listing test instead of being skipped silently.
SHOWN = {"", "json", "text", "js"}
_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    file: str
    line: int
    language: str
    text: str

    @property
    def name(self) -> str:
        """The file and the block's first line (in Python, its first line after the imports,
        which says more than ``import json``)."""
        lines = [ln.strip() for ln in self.text.splitlines() if ln.strip()]
        if self.language == "python":
            lines = [ln for ln in lines if not ln.startswith(("import ", "from "))] or lines
        return f"{self.file}: {lines[0][:70] if lines else ''}"


def _tags(file: str) -> set[str]:
    tags, inside = set(), False
    for line in (ROOT / file).read_text().splitlines():
        match = _FENCE.match(line)
        if match is not None:
            if not inside:
                tags.add(match.group(1))
            inside = not inside
    return tags


def _blocks(file: str) -> list[Block]:
    out = []
    lines = (ROOT / file).read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start = i
        i += 1
        body = []
        while not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        if match.group(1) in LANGUAGES:
            out.append(Block(file, start + 1, match.group(1), "\n".join(body) + "\n"))
        i += 1
    return out


BLOCKS = [block for file in FILES for block in _blocks(file)]

# Blocks that cannot run in the suite, each with the reason. Keep it small: a block that
# could run with a prelude or a server belongs in a run.
NOT_RUN: dict[str, str] = {
    "README.md: scripts/serve     # installs jwtwarden[server] into .venv and runs the": (
        "installs from the package registry into ./.venv (network, minutes); scripts/test "
        "is the suite itself"
    ),
    "README.md: pip install -e '.[all]'          # everything (server, integrations, t": (
        "installs from the package registry (network)"
    ),
    "README.md: jwtwarden verify --jwks jwks.json --issuer https://auth.example.com \\": (
        "a synopsis of every command with placeholders (TOKEN, ...), not a session; each "
        "command runs in tests/cli"
    ),
    "README.md: jwtwarden users create alice@example.test --password-stdin --create-da": (
        "placeholders (<client_id>, <secret>) for the client just created, and uvicorn in the "
        "foreground; tests/browser/test_webapp_browser.py runs the same sign-in"
    ),
    "docs/security.md: python -m tests.fuzz.run token --time 600     # or jwk, json; --seed N": (
        "a 10-minute fuzzing campaign; tests/fuzz runs its bounded form"
    ),
    "docs/keys-and-issuing.md: class KeyStore(Protocol):": (
        "the protocol's shape, with '...' bodies; the real one is jwtwarden.keys.records"
    ),
    "docs/resource-servers.md: $ jwtwarden verify --discovery https://auth.example.com \\": (
        "needs a public HTTPS issuer (auth.example.com) and its tokens in tokens.txt"
    ),
    "docs/server.md: export JWTWARDEN_ENVIRONMENT=production": (
        "a production deployment: secrets, PostgreSQL at db.internal and Redis at "
        "cache.internal; tests/server/test_e2e.py runs the same commands on local ones"
    ),
    "docs/resource-servers.md: auth = RefreshingAuth(": (
        "calls https://auth.example.com and https://api.example.com (public DNS names); "
        "RefreshingAuth runs against real servers in tests/integrations"
    ),
    "docs/oauth.md: # A service: client_credentials, HTTP Basic (the default), may ask for": (
        "a synopsis (ID placeholders); `clients create` runs in tests/server/test_oauth_clients.py"
    ),
}

# Blocks run by another test, named here so that the count is honest.
RUN_ELSEWHERE: dict[str, str] = {
    "docs/oauth.md: with OAuth2Client(CLIENT_ID, CLIENT_SECRET, token_endpoint_auth_method": (
        "tests/server/test_oauth_clients.py::test_should_run_the_oauth_doc_example"
    ),
}


def test_should_know_every_fence_tag_of_the_docs() -> None:
    for file in FILES:
        assert _tags(file) <= LANGUAGES | SHOWN, (file, _tags(file) - LANGUAGES - SHOWN)


def test_should_run_or_list_every_example_block() -> None:
    names = [b.name for b in BLOCKS]
    assert len(names) == len(set(names)), "two blocks share a first line: reword one"
    listed = set(NOT_RUN) | set(RUN_ELSEWHERE)
    assert not set(NOT_RUN) & set(RUN_ELSEWHERE)
    assert listed <= set(names), f"listed blocks that no longer exist: {listed - set(names)}"
    run = {b.name for f in PYTHON_FILES for b in _python_blocks(f)}
    run |= {b.name for f in SHELL_FILES for b in _shell_blocks(f)}
    run |= {b.name for b in CONSOLE}
    assert not run & listed
    assert run | listed == set(names), f"neither run nor listed: {set(names) - run - listed}"


def test_should_count_the_blocks() -> None:
    # The numbers of the report (issue 17): every block, the ones run, the ones listed.
    listed = [b for b in BLOCKS if b.name in NOT_RUN]
    assert len(listed) == len(NOT_RUN)
    assert len(BLOCKS) - len(listed) >= 3 * len(listed)  # a small list, not an escape hatch


# --- python ---------------------------------------------------------------------------------

PYTHON_FILES = sorted({b.file for b in BLOCKS if b.language == "python"})


def _python_blocks(file: str) -> list[Block]:
    return [
        b
        for b in BLOCKS
        if b.file == file
        and b.language == "python"
        and b.name not in NOT_RUN
        and b.name not in RUN_ELSEWHERE
    ]


@pytest.mark.parametrize("file", PYTHON_FILES)
def test_should_run_the_python_examples_of(
    file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = _python_blocks(file)
    if not blocks:
        return  # every block of the file is listed; the listing test covers it
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    prelude = PRELUDES.get(file)
    if prelude is not None:
        namespace.update(prelude(tmp_path, monkeypatch))
    for block in blocks:
        # Compiled under the block's own name: a failure's traceback points into the doc.
        exec(compile(block.text, f"{block.file}:{block.line}", "exec"), namespace)
    # And what the prose says the session ends with.
    for name, expected in OUTCOMES.get(file, {}).items():
        assert expected(namespace[name]), (file, name, namespace[name])


# --- shell ----------------------------------------------------------------------------------

SHELL_FILES = sorted({b.file for b in BLOCKS if b.language in {"sh", "bash"}})
CONSOLE = [b for b in BLOCKS if b.language == "console" and b.name not in NOT_RUN]
_SERVE = re.compile(r"(?m)^(\.venv/bin/)?jwtwarden serve( +#.*)?$")
_PRELUDE_SH = """
curl() { command curl --silent --show-error --fail-with-body "$@"; }
"""


def _console(block: Block) -> tuple[str, list[str]]:
    """The ``$`` commands of a console block (with their continuation lines), and the lines
    it shows as their output."""
    commands, shown, continued = [], [], False
    for line in block.text.splitlines():
        if line.startswith("$ ") or continued:
            commands.append(line[2:] if line.startswith("$ ") and not continued else line)
            continued = line.endswith("\\")
        else:
            shown.append(line)
    return "\n".join(commands) + "\n", shown


def _shell_blocks(file: str) -> list[Block]:
    return [
        b
        for b in BLOCKS
        if b.file == file
        and b.language in {"sh", "bash"}
        and b.name not in NOT_RUN
        and b.name not in RUN_ELSEWHERE
    ]


def _session(file: str, server: ServerProcess) -> str:
    parts = [_PRELUDE_SH]
    for block in _shell_blocks(file):
        text = block.text
        for address in ("127.0.0.1:8000", "localhost:8000"):
            text = text.replace(address, f"127.0.0.1:{server.port}")
        text = _SERVE.sub(": the test started the server", text)
        parts.append(f"# --- {block.file}:{block.line}\n{text}")
    return "\n".join(parts)


def _path() -> str:
    """The suite's interpreter and its ``jwtwarden`` first: the CLI under test."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_METRICS_TOKEN": "a metrics token " + secrets.token_urlsafe(12),
            "JWTWARDEN_INTROSPECTION_CLIENT_ID": "api-gateway",
            "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": secrets.token_urlsafe(32),
        }
    )
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    server = ServerProcess(env, port, tmp_path / "server.log", cwd=tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("file", SHELL_FILES)
def test_should_run_the_shell_examples_of(
    file: str, tmp_path: Path, dev_server: ServerProcess
) -> None:
    script = _session(file, dev_server)
    if script == _PRELUDE_SH:
        return  # every block of the file is listed
    # What scripts/serve leaves behind: the CLI in ./.venv/bin, here the suite's own.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "jwtwarden").symlink_to(Path(sys.executable).parent / "jwtwarden")
    env = {
        **dev_server.env,
        "PATH": _path(),
        "SECRET": dev_server.env["JWTWARDEN_INTROSPECTION_CLIENT_SECRET"],
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{file}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


_TO_PEM = (
    "import json,sys; from joserfc.jwk import import_key; "
    "k = json.load(sys.stdin)['keys'][0]; "
    "sys.stdout.write(import_key(k).as_pem(private=False).decode())"
)
# What the prose before a console block says was there (a key directory, a PEM file).
CONSOLE_SETUP = {
    "docs/cli.md: $ jwtwarden keys jwks --dir ./keys > jwks.json": (
        "jwtwarden keys generate --dir ./keys >/dev/null\n"
        f'jwtwarden keys jwks --dir ./keys | python -c "{_TO_PEM}" > auth.pem\n'
    ),
}
_EXIT_NOTE = re.compile(r"\s+# exit \d+$")


@pytest.mark.parametrize("block", CONSOLE, ids=[b.name for b in CONSOLE])
def test_should_print_what_the_console_examples_show(block: Block, tmp_path: Path) -> None:
    commands, shown = _console(block)
    setup = CONSOLE_SETUP.get(block.name, "")
    if setup:
        made = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", setup],
            cwd=tmp_path,
            env={**clean_env({}), "PATH": _path()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    key = generate_key("ES256", token_use="access")
    env = {**clean_env({}), "PATH": _path(), "TOKEN": access_token(key)}
    done = subprocess.run(
        ["bash", "-c", commands],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    printed = done.stdout + done.stderr
    for line in (_EXIT_NOTE.sub("", ln) for ln in shown if ln.strip()):
        if "..." not in line:  # an elided line shows the shape only
            assert line in printed.splitlines(), (
                f"{block.file}:{block.line}: {line!r} not in {printed!r}"
            )
