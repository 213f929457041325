"""Where the time goes: py-spy samples a server's workers while wrk loads it, and the stacks are
attributed to components.

Each sample is charged to the component of the innermost frame that belongs to a known one
(walking from the leaf towards the root), so a sample inside asyncpg's protocol called by
SQLAlchemy called by our store counts as asyncpg, and our own code only gets what it runs
itself. py-spy leaves out idle samples (the event loop waiting in epoll), so the shares are of
the CPU the workers actually burnt. Native frames are not unwound: the time inside a C or Rust
call (a signature, a hash, a socket write) is charged to the Python function that made it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Profile", "record", "summarise"]

# (component, pattern on "function (path)"), innermost match wins; order matters only within
# one frame (the first pattern that matches names it).
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("argon2id hash", r"argon2"),
        ("ES256 sign/verify (cryptography via joserfc)", r"^(sign|verify) \(.*joserfc/"),
        ("joserfc (other)", r"joserfc/"),
        ("jwtwarden: JWS parse/verify", r"jwtwarden/(_jose/|verify\.py|cache\.py|keys/)"),
        ("jwtwarden: issuer/mint", r"jwtwarden/(issue|lint|token_profiles)\.py"),
        ("jwtwarden: server edge", r"jwtwarden/server/"),
        ("jwtwarden: sessions/stores/revocation", r"jwtwarden/(sessions|stores|revocation)/"),
        ("jwtwarden: accounts", r"jwtwarden/accounts/"),
        ("jwtwarden: integrations/jwks", r"jwtwarden/(integrations|jwks)/"),
        ("jwtwarden: oauth (clients, codes, grants)", r"jwtwarden/oauth/"),
        ("SQLAlchemy", r"sqlalchemy/"),
        ("asyncpg", r"asyncpg/"),
        ("redis-py", r"redis/"),
        ("prometheus_client", r"prometheus_client/"),
        ("FastAPI", r"fastapi/"),
        ("Starlette", r"starlette/"),
        ("uvicorn/httptools", r"uvicorn/|httptools"),
        ("pydantic", r"pydantic"),
        ("logging", r"logging/"),
        ("json", r"json/"),
        ("asyncio/uvloop", r"asyncio/|uvloop"),
        ("threads (to_thread)", r"concurrent/futures|threading\.py"),
        ("stdlib: hashlib/secrets/base64/urllib", r"(hashlib|secrets|base64|urllib/)"),
        ("ceiling app", r"ceilings\.py|protected_api\.py"),
    )
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True)
class Profile:
    samples: int
    components: list[tuple[str, float]]  # (component, share of samples), largest first
    leaves: list[tuple[str, float]]  # (innermost Python function, share), largest first


def record(pid: int, seconds: float, out: Path, *, rate: int = 200) -> subprocess.Popen[bytes]:
    """Start py-spy on ``pid`` and its subprocesses (the uvicorn workers); returns at once."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    argv = [pyspy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    argv += ["--format", "raw", "--rate", str(rate), "--duration", str(max(1, round(seconds)))]
    argv += ["--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if m is None:
        return frame
    path = m.group("path")
    for marker in ("site-packages/", "lib/python3.11/", "src/", "bench/server/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def _component(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in _RULES:
            if pattern.search(frame):
                return name
    return "other"


def summarise(path: Path, *, top: int = 12) -> Profile:
    """Read py-spy's raw (collapsed) output: ``frame;frame;... count`` per line."""
    components: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # The first items are "process ..." and "thread ..." pseudo-frames when present.
        frames = [_short(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        components[_component(frames)] += count
        leaves[frames[-1]] += count
    if total == 0:
        return Profile(0, [], [])
    return Profile(
        samples=total,
        components=[(name, n / total) for name, n in components.most_common()],
        leaves=[(name, n / total) for name, n in leaves.most_common(top)],
    )
