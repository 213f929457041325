"""``DirectoryKeyStore``: one file per key, sealed with a key-encryption key (KEK).

Layout of ``DIR`` (mode ``0700``)::

    <kid>.jwk.json        one record per key, mode 0600 (kids that are not file-name safe
                          are stored as sha256-<hex of kid>.jwk.json)
    .lock                 flock(2) target that serialises changes across processes
    .kek                  development only: the generated KEK (see below)

Each file holds the record's lifecycle metadata in clear (for humans and ``keys list``) and
the JWK sealed with AES-256-GCM (``cryptography``'s ``AESGCM``, a random 96-bit nonce per
write; ``sealing.KeySealer``, shared with ``SQLKeyStore``). The whole metadata (kid, alg,
use, environment, state, dates) is the associated data, so editing any of it, or moving the
sealed key into another file, makes the file undecryptable instead of silently changing which
key signs or verifies. Rollback to an older copy of a file by someone who can write the
directory is not detected.

Writes are atomic (POSIX): a temporary file in the same directory, ``fsync``,
``os.replace``, then ``fsync`` of the directory. A crash at any point leaves the old file or
the new one, never a torn key.

The KEK is 32 random bytes, base64url-encoded in ``$JWTWARDEN_KEK`` (generate one with
``python -c "import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32))
.rstrip(b'=').decode())"``), or passed as ``kek=`` bytes.

.. warning::
   **Development KEK.** When no KEK is configured and the environment is ``development``, the
   store generates one into ``DIR/.kek`` and logs a warning. That KEK sits next to the keys it
   protects, so it protects nothing: it exists only so a laptop works out of the box. Every
   other environment without a KEK is refused (``KeyStoreError``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from .._files import exclusive_file_lock
from .._jose.b64 import b64url_encode
from ..errors import KeyEnvironmentError, KeyStoreError
from ..keys._store_rules import check_environment_name, check_record_environment, reentrant
from ..keys.records import KeyRecord
from ..keys.sealing import KEK_BYTES, METADATA, KeySealer, decode_kek

__all__ = ["DirectoryKeyStore"]

_log = logging.getLogger("jwtwarden.keys")

_FORMAT = "jwtwarden-key/1"
_SUFFIX = ".jwk.json"
_SAFE_KID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_MAX_FILE = 1 << 20
_DEVELOPMENT = "development"


def _file_name(kid: str) -> str:
    if _SAFE_KID.fullmatch(kid) and not kid.startswith("sha256-"):
        return kid + _SUFFIX
    return "sha256-" + hashlib.sha256(kid.encode("utf-8")).hexdigest() + _SUFFIX


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(directory: Path, name: str, data: bytes) -> None:
    """Write ``directory/name`` so that a crash leaves the old content or the new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, directory / name)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _read_private_file(path: Path, what: str) -> bytes:
    """Read a small file that must be a regular file readable by its owner only."""
    # O_NONBLOCK: a FIFO planted in the directory must not block the open waiting for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyStoreError(f"{what} is not a regular file")
        if info.st_mode & 0o077:
            raise KeyStoreError(
                f"{what} is readable by group or others (mode {stat.S_IMODE(info.st_mode):o}); "
                "chmod 600 it"
            )
        if info.st_size > _MAX_FILE:
            raise KeyStoreError(f"{what} is larger than {_MAX_FILE} bytes")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(_MAX_FILE + 1)
        if len(data) > _MAX_FILE:  # it grew after the fstat
            raise KeyStoreError(f"{what} is larger than {_MAX_FILE} bytes")
        return data
    finally:
        os.close(fd)


class DirectoryKeyStore:
    """Key records in a directory, private keys sealed under a KEK.

    Parameters:
        path: the directory (created ``0700`` if missing; refused if group/others can enter).
        environment: the environment this store serves; records of another are refused.
        kek: the 32-byte key-encryption key; default: base64url from ``$kek_env``.
        kek_env: the variable holding the KEK (default ``JWTWARDEN_KEK``).
        environ: where to read ``kek_env`` from (default ``os.environ``).
        read_only: only read: never create the directory, a development KEK or the lock
            file, and refuse ``save``/``delete`` (``keys list``, ``keys jwks``: a command
            that reads must never create key material, not even in the wrong directory).

    Raises:
        KeyStoreError: the directory is unusable, or no KEK is configured outside development.
        ValueError: a bad argument (``kek`` not 32 bytes, an invalid environment name).

    Example:
        >>> store = DirectoryKeyStore("/etc/jwt/keys", environment="production")  # doctest: +SKIP
    """

    __slots__ = ("_cache", "_local", "_mutex", "_read_only", "_sealer", "environment", "path")

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        environment: str,
        kek: bytes | None = None,
        kek_env: str = "JWTWARDEN_KEK",
        environ: Mapping[str, str] | None = None,
        read_only: bool = False,
    ) -> None:
        self.environment = check_environment_name(environment)
        self.path = Path(path)
        self._read_only = read_only
        self._prepare_directory()
        key_bytes = self._resolve_kek(kek, kek_env, os.environ if environ is None else environ)
        self._sealer = KeySealer(key_bytes, medium="file", malformed="is incomplete or malformed")
        self._cache: dict[str, tuple[bytes, KeyRecord]] = {}
        self._mutex = threading.RLock()
        self._local = threading.local()

    # --- set-up -----------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        try:
            if not self.path.exists() and not self._read_only:
                self.path.mkdir(mode=0o700, parents=True)
                os.chmod(self.path, 0o700)
            info = os.stat(self.path)  # a symlinked directory is fine; its target is checked
        except OSError as exc:
            raise KeyStoreError(
                f"key directory {str(self.path)!r} is unusable: {exc.strerror}"
            ) from None
        if not stat.S_ISDIR(info.st_mode):
            raise KeyStoreError(f"{str(self.path)!r} is not a directory")
        if info.st_mode & 0o077:
            raise KeyStoreError(
                f"key directory {str(self.path)!r} is open to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):o}); chmod 700 it"
            )

    def _resolve_kek(self, kek: bytes | None, kek_env: str, environ: Mapping[str, str]) -> bytes:
        if kek is not None:
            return kek  # KeySealer refuses anything but 32 bytes (ValueError)
        encoded = environ.get(kek_env)
        if encoded:
            return decode_kek(encoded, f"${kek_env}")
        if self.environment != _DEVELOPMENT:
            raise KeyStoreError(
                f"no key-encryption key for environment {self.environment!r}: set ${kek_env} "
                f"to the base64url encoding of {KEK_BYTES} random bytes (only 'development' "
                "generates one)"
            )
        return self._development_kek()

    def _development_kek(self) -> bytes:
        path = self.path / ".kek"
        try:
            if path.exists():
                raw = _read_private_file(path, str(path)).decode("ascii", "replace").strip()
                return decode_kek(raw, str(path))
            if self._read_only or self._holds_keys():
                # Generating one here would write a development KEK into, say, a production
                # key directory opened with the wrong --environment; keys already there are
                # sealed under another KEK, which a new one could not open anyway.
                why = "this command only reads" if self._read_only else "it already holds keys"
                raise KeyStoreError(
                    f"no key-encryption key for environment {self.environment!r} in "
                    f"{str(self.path)!r}: $JWTWARDEN_KEK is unset and there is no development "
                    f"KEK (.kek); none is generated because {why}"
                )
            kek = secrets.token_bytes(KEK_BYTES)
            _atomic_write(self.path, ".kek", b64url_encode(kek).encode("ascii") + b"\n")
        except OSError as exc:
            raise KeyStoreError(f"cannot create the development KEK: {exc.strerror}") from None
        _log.warning(
            "DEVELOPMENT KEY-ENCRYPTION KEY generated at %s: the keys in this directory are NOT "
            "protected at rest. Never use this directory outside development; set "
            "JWTWARDEN_KEK instead.",
            path,
        )
        return kek

    def _holds_keys(self) -> bool:
        with os.scandir(self.path) as entries:
            return any(e.name.endswith(_SUFFIX) for e in entries)

    # --- the KeyStore protocol --------------------------------------------------------------

    def load(self) -> list[KeyRecord]:
        """Every record in the directory, keys decrypted.

        Raises:
            KeyEnvironmentError: a file records a key of another environment.
            KeyStoreError: a file is unreadable, modified, or sealed under another KEK.
        """
        with self._mutex:
            try:
                names = sorted(
                    entry.name
                    for entry in os.scandir(self.path)
                    if entry.name.endswith(_SUFFIX) and not entry.name.startswith(".")
                )
            except OSError as exc:
                raise KeyStoreError(f"cannot list the key directory: {exc.strerror}") from None
            cache: dict[str, tuple[bytes, KeyRecord]] = {}
            records = []
            for name in names:
                raw = self._read(name)
                if raw is None:  # deleted between the listing and the read
                    continue
                digest = hashlib.sha256(raw).digest()
                cached = self._cache.get(name)
                record = cached[1] if cached and cached[0] == digest else self._parse(name, raw)
                cache[name] = (digest, record)
                records.append(record)
            self._cache = cache
            return records

    def save(self, record: KeyRecord) -> None:
        """Write one record atomically (insert or replace by kid).

        Raises:
            KeyEnvironmentError: the record's key belongs to another environment.
            KeyStoreError: the write failed (the previous record, if any, is intact).
        """
        if not isinstance(record, KeyRecord):
            raise TypeError("save takes a KeyRecord")
        check_record_environment(record, self.environment)
        self._refuse_writes()
        metadata, nonce, sealed = self._sealer.seal(record)
        document = {
            "format": _FORMAT,
            **metadata,
            "private": record.key.is_private,
            "kek_id": self._sealer.kek_id,
            "nonce": nonce,
            "sealed": sealed,
        }
        data = json.dumps(document, indent=2, allow_nan=False).encode() + b"\n"
        with self._mutex:
            try:
                _atomic_write(self.path, _file_name(record.kid), data)
            except OSError as exc:
                raise KeyStoreError(
                    f"cannot write key {record.kid[:64]!r}: {exc.strerror}; "
                    "the previous record is unchanged"
                ) from None

    def delete(self, kid: str) -> None:
        """Remove a key's file (an absent kid is not an error)."""
        self._refuse_writes()
        with self._mutex:
            try:
                os.unlink(self.path / _file_name(kid))
            except FileNotFoundError:
                return
            except OSError as exc:
                raise KeyStoreError(f"cannot delete key {kid[:64]!r}: {exc.strerror}") from None
            _fsync_dir(self.path)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock on the directory (``flock``); re-entrant in one thread."""
        return reentrant(self._local, self._flock)

    def _refuse_writes(self) -> None:
        if self._read_only:
            raise KeyStoreError(f"the key store {str(self.path)!r} was opened read-only")

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        self._refuse_writes()
        with self._mutex, contextlib.ExitStack() as held:
            try:
                held.enter_context(exclusive_file_lock(self.path / ".lock"))
            except OSError as exc:
                raise KeyStoreError(f"cannot lock the key directory: {exc.strerror}") from None
            yield

    # --- reading ----------------------------------------------------------------------------

    def _read(self, name: str) -> bytes | None:
        try:
            return _read_private_file(self.path / name, f"key file {name!r}")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"cannot read key file {name!r}: {exc.strerror}") from None

    def _parse(self, name: str, raw: bytes) -> KeyRecord:
        label = f"key file {name!r}"
        try:
            document = json.loads(raw)
        except ValueError:
            raise KeyStoreError(f"{label} is not valid JSON (a torn or edited file?)") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise KeyStoreError(f"{label} is not a {_FORMAT} record")
        kid = document.get("kid")
        if not isinstance(kid, str) or _file_name(kid) != name:
            raise KeyStoreError(f"{label} does not hold the key its name says")
        label = f"key {kid[:64]!r}"
        environment = document.get("environment")
        if environment != self.environment:
            raise KeyEnvironmentError(
                f"{label} in {str(self.path)!r} is recorded for environment {environment!r}, "
                f"not {self.environment!r}; keys are never shared across environments"
            )
        kek_id = self._sealer.kek_id
        if document.get("kek_id") != kek_id:
            raise KeyStoreError(
                f"{label} is sealed under another key-encryption key "
                f"(kek id {str(document.get('kek_id'))[:16]!r}, this store's is {kek_id!r})"
            )
        try:
            metadata = {name_: document[name_] for name_ in METADATA}
            nonce, sealed = document["nonce"], document["sealed"]
        except KeyError:
            raise KeyStoreError(f"{label} is incomplete or malformed") from None
        return self._sealer.open(label, metadata, nonce, sealed, environment=self.environment)

    def __repr__(self) -> str:
        return f"DirectoryKeyStore({str(self.path)!r}, environment={self.environment!r})"
