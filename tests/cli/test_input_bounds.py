"""Every input the command line reads is read with a byte cap and refused with one ``error:``
line and a stable exit code (2 usage, 1 a refused token), never a traceback or a hang:
``/dev/zero``, a FIFO, a directory, a huge file and invalid UTF-8, for every file and stream.

The ``/dev/zero`` cases run the real program under a 1 GiB address-space limit: an unbounded
read dies there with a ``MemoryError`` traceback instead of taking the machine's memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from typer.testing import CliRunner, Result

from jwtwarden import KeySet
from jwtwarden.cli import app
from tests._verify_support import access_claims, forge, key_for

runner = CliRunner()
VERIFY = ["verify", "--issuer", "https://issuer.example", "--audience", "api"]
INSPECT_CHECKS = ["--issuer", "https://issuer.example", "--audience", "api"]


def _make_dev_zero(tmp: Path) -> Path:
    return Path("/dev/zero")


def _make_fifo(tmp: Path) -> Path:
    path = tmp / "fifo.json"
    os.mkfifo(path, 0o600)  # nobody ever writes: an open() without O_NONBLOCK blocks forever
    return path


def _make_directory(tmp: Path) -> Path:
    path = tmp / "a-directory.json"
    path.mkdir()
    return path


def _make_huge(tmp: Path) -> Path:
    path = tmp / "huge.json"
    with path.open("wb") as fh:
        fh.truncate(64 << 20)  # 64 MiB, sparse: costs no disk
    return path


def _make_invalid_utf8(tmp: Path) -> Path:
    path = tmp / "latin1.json"
    path.write_bytes(b'{"keys": [{"kty": "\xff\xfe"}]}')
    return path


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "dev_zero": _make_dev_zero,
    "fifo": _make_fifo,
    "directory": _make_directory,
    "huge_file": _make_huge,
    "invalid_utf8": _make_invalid_utf8,
}


def _assert_clean_error(result: Result, code: int) -> str:
    # A typer.Exit is a SystemExit; any other exception is a traceback the user would see.
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith(("error: ", "jwtwarden: ")), result.stderr
    return result.stderr


def _token() -> str:
    # The CLI verifies at the real time: iat now, exp in ten minutes.
    now = int(time.time())
    claims = access_claims(
        iss="https://issuer.example", aud=["api"], iat=now, nbf=now, exp=now + 600
    )
    return forge({"alg": "ES256", "typ": "JWT"}, claims, key_for("ES256"))


@pytest.fixture()
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([key_for("ES256").public_key()]).public_jwks()))
    return path


# --- key files: verify --jwks, inspect --jwks -------------------------------------------------


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_should_refuse_an_unreadable_key_file_with_exit_2(
    tmp_path: Path, make: Callable[[Path], Path], command: str
) -> None:
    path = make(tmp_path)
    if command == "verify":
        args = [*VERIFY, "--jwks", str(path), "t"]
    else:
        args = ["inspect", "t", "--jwks", str(path), *INSPECT_CHECKS]
    stderr = _assert_clean_error(runner.invoke(app, args), 2)
    assert str(path) in stderr


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_should_refuse_an_unreadable_pem_file_with_exit_2(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path)
    if path.is_file() and path.stat().st_size < 1 << 20:
        path.write_bytes(b"-----BEGIN PUBLIC KEY-----\n\xff\xfe\x00\n-----END PUBLIC KEY-----\n")
    args = [*VERIFY, "--jwks", str(path), "--algorithm", "ES256", "t"]
    _assert_clean_error(runner.invoke(app, args), 2)


def test_should_name_the_limit_when_a_key_file_is_too_large(tmp_path: Path) -> None:
    stderr = _assert_clean_error(
        runner.invoke(app, [*VERIFY, "--jwks", str(_make_huge(tmp_path)), "t"]), 2
    )
    assert "the limit is 1 MiB" in stderr


def test_should_still_read_a_key_file_and_a_pem_within_the_limit(
    tmp_path: Path, jwks: Path
) -> None:
    assert runner.invoke(app, [*VERIFY, "--jwks", str(jwks), _token()]).exit_code == 0
    pem = tmp_path / "key.pem"
    public_jwk = key_for("ES256").public_key().public_jwk()
    pem.write_bytes(ECKey.import_key(public_jwk).as_pem(private=False))
    result = runner.invoke(app, [*VERIFY, "--jwks", str(pem), "--algorithm", "ES256", _token()])
    assert result.exit_code == 0, result.output


# --- tokens on stdin: verify -, inspect - -----------------------------------------------------


def test_should_refuse_an_over_long_token_line_and_go_on_with_the_next(jwks: Path) -> None:
    token = _token()
    stdin = f"{token}\n{'a' * 100_000}\n{token}\n"
    result = runner.invoke(app, [*VERIFY, "--jwks", str(jwks)], input=stdin)
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["valid"] for line in lines] == [True, False, True]
    assert lines[1]["error"] == "token_too_large"


def test_should_refuse_a_token_line_that_is_not_utf8_as_malformed(jwks: Path) -> None:
    token = _token()
    stdin = token.encode() + b"\n\xff\xfe\x80\n" + token.encode() + b"\n"
    result = runner.invoke(app, [*VERIFY, "--jwks", str(jwks)], input=stdin)
    assert result.exit_code == 1, (result.output, result.exception)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("error") for line in lines] == [None, "malformed", None]


def test_should_stop_with_exit_2_when_stdin_is_not_one_token_a_line(jwks: Path) -> None:
    token = _token()
    stdin = token.encode() + b"\n" + b"\x00" * (3 << 20)  # 3 MiB without a line end
    result = runner.invoke(app, [*VERIFY, "--jwks", str(jwks)], input=stdin)
    stderr = _assert_clean_error(result, 2)
    assert "one token a line" in stderr
    assert json.loads(result.stdout.splitlines()[0])["valid"] is True  # what came before


@pytest.mark.parametrize(
    ("stdin", "code", "error"),
    [
        (b"a" * 70_000 + b"\n", 1, "token_too_large"),
        (b"\xff\xfe.\x80.\x81\n", 1, "malformed"),
        (b"\x00" * (3 << 20), 2, "one token a line"),
    ],
    ids=["over_long", "invalid_utf8", "no_line_end"],
)
def test_should_refuse_a_bad_token_on_inspect_stdin(stdin: bytes, code: int, error: str) -> None:
    stderr = _assert_clean_error(runner.invoke(app, ["inspect", "-"], input=stdin), code)
    assert error in stderr


# --- the password on stdin, the config file ---------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"p" * 5000 + b"\n", "over 4096 bytes"),
        (b"p" * (3 << 20), "over 4096 bytes"),
        (b"caf\xe9 password\n", "not valid UTF-8"),
    ],
    ids=["over_long", "no_line_end", "invalid_utf8"],
)
def test_should_refuse_a_bad_password_on_stdin_with_exit_2(
    tmp_path: Path, stdin: bytes, message: str
) -> None:
    args = ["users", "create", "a@example.test", "--password-stdin"]
    args += ["--data-dir", str(tmp_path / "data")]
    stderr = _assert_clean_error(runner.invoke(app, args, input=stdin), 2)
    assert message in stderr


@pytest.mark.parametrize("make", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_should_refuse_an_unreadable_config_file_with_exit_2(
    tmp_path: Path, make: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWTWARDEN_CONFIG", raising=False)  # the CLI sets it for its workers
    path = make(tmp_path)
    if path.is_file() and path.stat().st_size < 1 << 20:
        path.write_bytes(b'issuer = "https://caf\xe9.example"\n')
    args = ["db", "upgrade", "--config", str(path), "--data-dir", str(tmp_path / "d")]
    stderr = _assert_clean_error(runner.invoke(app, args), 2)
    assert str(path) in stderr


def test_should_refuse_an_oversized_config_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _make_huge(tmp_path)
    monkeypatch.setenv("JWTWARDEN_CONFIG", str(path))
    args = ["db", "upgrade", "--data-dir", str(tmp_path / "d")]
    stderr = _assert_clean_error(runner.invoke(app, args), 2)
    assert str(path) in stderr and "the limit is 1 MiB" in stderr


# --- the key store's files --------------------------------------------------------------------


@pytest.fixture()
def key_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def _planted_fifo(directory: Path) -> None:
    os.mkfifo(directory / "planted.jwk.json", 0o600)


def _planted_huge(directory: Path) -> None:
    path = directory / "planted.jwk.json"
    with path.open("wb") as fh:
        fh.truncate(64 << 20)
    path.chmod(0o600)


def _planted_invalid_utf8(directory: Path) -> None:
    path = directory / "planted.jwk.json"
    path.write_bytes(b'{"kid": "\xff\xfe"}')
    path.chmod(0o600)


def _planted_directory(directory: Path) -> None:
    (directory / "planted.jwk.json").mkdir(mode=0o700)


def _planted_dev_zero(directory: Path) -> None:
    (directory / "planted.jwk.json").symlink_to("/dev/zero")


PLANTED: dict[str, Callable[[Path], None]] = {
    "dev_zero_symlink": _planted_dev_zero,
    "fifo": _planted_fifo,
    "directory": _planted_directory,
    "huge_file": _planted_huge,
    "invalid_utf8": _planted_invalid_utf8,
}


@pytest.mark.parametrize("plant", PLANTED.values(), ids=PLANTED.keys())
def test_should_refuse_a_bad_file_in_the_key_store_with_exit_2(
    key_dir: Path, plant: Callable[[Path], None]
) -> None:
    plant(key_dir)
    # A subprocess: a FIFO would hang the test process itself, and the timeout ends a child.
    done = _run(["keys", "list", "--dir", str(key_dir)], stdin=subprocess.DEVNULL)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith("error: "), done.stderr[-2000:]
    assert "Traceback" not in done.stderr


# --- /dev/zero as stdin, in a real process under a memory limit -------------------------------


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _run(args: list[str], *, stdin: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
    return subprocess.run(
        [sys.executable, "-m", "jwtwarden", *args],
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        preexec_fn=_limit_memory,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["verify", "-"], 2),
        (["inspect", "-"], 2),
        (["users", "create", "a@example.test", "--password-stdin"], 2),
    ],
    ids=["verify", "inspect", "password"],
)
def test_should_refuse_dev_zero_on_stdin_within_a_memory_limit(
    tmp_path: Path, jwks: Path, args: list[str], code: int
) -> None:
    if args[0] == "verify":
        args = [*VERIFY, "--jwks", str(jwks), "-"]
    if args[0] == "users":
        args = [*args, "--data-dir", str(tmp_path / "data")]
    with open("/dev/zero", "rb") as zero:
        done = _run(args, stdin=zero)
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith(("error: ", "jwtwarden: ")), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr


@pytest.mark.slow
def test_should_refuse_jwks_dev_zero_within_a_memory_limit(tmp_path: Path) -> None:
    done = _run([*VERIFY, "--jwks", "/dev/zero", "t"], stdin=subprocess.DEVNULL)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
