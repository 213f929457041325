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

import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.keys.key import Key
from tests.server.support import ServerProcess, clean_env, free_port, new_kek

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
    "README.md: jwtwarden serve": (
        "needs the web-app SDK's OpenID provider (the authorization code flow, issues 14 and 15)"
        "; run with oidc-provider in tests/browser/test_webapp_browser.py"
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

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"


def _access_token(key: Key, issuer: str = ISSUER, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(8),
        "client_id": "app",
        **claims,
    }
    return sign_compact({"typ": "at+jwt"}, body, key)


def _readme(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    key = generate_key("ES256", token_use="access")
    (tmp / "jwks.json").write_text(json.dumps(KeySet([key]).public_jwks()))
    monkeypatch.setenv("JWTWARDEN_KEK", new_kek())
    return {"raw_token": _access_token(key)}


class _KV:
    """The stand-in secrets client of keys-and-issuing.md's VaultKeyStore (list, read,
    write, destroy), holding the secrets in a dict: the doc says the example ran over one."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], Any] = {}

    def list(self, mount: str, prefix: str) -> list[str]:
        return [p.rsplit("/", 1)[1] for m, p in self.secrets if m == mount and p.startswith(prefix)]

    def read(self, mount: str, path: str) -> Any:
        return json.loads(json.dumps(self.secrets[mount, path]))

    def write(self, mount: str, path: str, value: Any) -> None:
        self.secrets[mount, path] = json.loads(json.dumps(value))

    def destroy(self, mount: str, path: str) -> None:
        self.secrets.pop((mount, path), None)


def _keys_and_issuing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JWTWARDEN_KEK", new_kek())
    return {
        "private_jwk": generate_key("ES256").export_private_jwk(),
        "client": _KV(),
    }


class _Users:
    def auth_version(self, sub: str) -> int | None:
        return {"alice": 1}.get(sub)


def _verifying(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import logging

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from jwtwarden import import_jwk

    key = generate_key("ES256", token_use="access")
    a_key, b_key = generate_key("ES256", kid="a-1"), generate_key("RS256", kid="b-1")
    hmac_key = generate_key("HS256", kid="h-1")
    pem = key.public_key().jwk.as_pem(private=False)
    native = serialization.load_pem_public_key(pem)
    private_native = generate_ec_private()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_native.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2024, 1, 1))
        .not_valid_after(datetime.datetime(2034, 1, 1))
        .sign(private_native, hashes.SHA256())
    )
    del native
    token = _access_token(key)
    return {
        "jwks_json": json.dumps(KeySet([key]).public_jwks()),
        "token": token,
        "token_exp": int(time.time()) + 600,
        "log": logging.getLogger("docs_example"),
        "hmac_key": hmac_key,
        "jws": sign_compact({}, {"payload": "anything"}, hmac_key),
        "public_pem": pem,
        "certificate_pem": certificate.public_bytes(serialization.Encoding.PEM),
        "a_public": a_key.public_key(),
        "b_public": b_key.public_key(),
        "token_from_b": sign_compact(
            {},
            {"iss": "https://b.example.com", "aud": "api", "sub": "bob", "exp": _in(60)},
            b_key,
        ),
        "denied": {"jti-1"},
        "known_accounts": {"alice"},
        "users": _Users(),
        "import_jwk": import_jwk,
        "ec_x": key.public_jwk()["x"],
        "ec_y": key.public_jwk()["y"],
    }


def _in(seconds: int) -> int:
    return int(time.time()) + seconds


def generate_ec_private() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _webapp(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    return {
        "secret": secrets.token_urlsafe(32),
        "new": secrets.token_bytes(32),
        "old": secrets.token_bytes(32),
    }


PreludeFn = Callable[[Path, pytest.MonkeyPatch], dict[str, Any]]
PRELUDES: dict[str, PreludeFn] = {
    "README.md": _readme,
    "docs/keys-and-issuing.md": _keys_and_issuing,
    "docs/verifying.md": _verifying,
    "docs/webapp.md": _webapp,
}
# A few results each file's prose promises, read from the session's namespace at its end.
OUTCOMES: dict[str, dict[str, Callable[[Any], bool]]] = {
    "README.md": {
        "user_id": lambda sub: sub == "alice",
        "token": lambda token: token.count(".") == 2,  # the minted one
        "app": lambda app: [r.path for r in app.routes][-1] == "/items",
    },
    "docs/keys-and-issuing.md": {
        "policy": lambda policy: (
            policy.profile == "access" and list(policy.algorithms) == ["ES256"]
        ),
        "claims": lambda claims: claims["sub"] == "user-42",
    },
    "docs/resource-servers.md": {
        "guard": lambda guard: guard is not None,
        "can_read": callable,
    },
    "docs/verifying.md": {
        "result": lambda result: result.payload == b'{"payload":"anything"}',
        "status_of": lambda status_of: status_of("not a token") == 401,
        "refusal": lambda refusal: (
            refusal(algorithms=["none"]) == "the 'none' algorithm is never allowed"
            and refusal(algorithms=["HS256"])
            == "the key set of 'https://a' has no key for the allowed algorithms (HS256)"
            and refusal() is None
        ),
        # A function of the session sees the session's names as its globals.
        "key_refusal": lambda key_refusal: (
            key_refusal(KeySet.from_pem, key_refusal.__globals__["public_pem"], algorithm="RS256")
            == "RS256 needs a RSA key, not EC"
        ),
        "keys": lambda keys: len(keys) == 1,
    },
    "docs/webapp.md": {"app": lambda app: "/me" in [r.path for r in app.routes]},
}
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
    env = {**clean_env({}), "PATH": _path(), "TOKEN": _access_token(key)}
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
