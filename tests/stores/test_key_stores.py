"""Key stores: encryption at rest, file modes, crash safety, environments, read-only stores."""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from jwtwarden import generate_key
from jwtwarden.errors import KeyEnvironmentError, KeyStoreError
from jwtwarden.keys.records import KeyRecord, KeyState, KeyStore, LockableKeyStore
from jwtwarden.stores.env import EnvKeyStore
from jwtwarden.stores.files import DirectoryKeyStore
from jwtwarden.stores.memory import MemoryKeyStore

NOW = 1_800_000_000.0
KEK = bytes(range(32))
OTHER_KEK = bytes(range(1, 33))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def record(
    alg: str = "ES256", *, use: str = "access", env: str = "production", **kw: Any
) -> KeyRecord:
    key = generate_key(alg, token_use=use, environment=env, rsa_bits=2048)
    fields: dict[str, Any] = {"state": KeyState.ACTIVE, "publish_at": NOW, "activate_at": NOW}
    fields.update(kw)
    return KeyRecord(key=key, **fields)


def store(tmp_path: Path, env: str = "production", kek: bytes = KEK) -> DirectoryKeyStore:
    return DirectoryKeyStore(tmp_path / "keys", environment=env, kek=kek)


def key_file(s: DirectoryKeyStore, kid: str) -> Path:
    return s.path / f"{kid}.jwk.json"


def secret_members(rec: KeyRecord) -> list[str]:
    jwk = rec.key.export_private_jwk()
    return [jwk[m] for m in ("d", "p", "q", "dp", "dq", "qi", "k") if m in jwk]


# --- directory store: round trips and modes ---------------------------------------------------


@pytest.mark.parametrize(
    "alg", ["ES256", "ES384", "ES512", "RS256", "PS384", "EdDSA", "Ed448", "HS256"]
)
def test_should_round_trip_a_record_of_every_algorithm(tmp_path: Path, alg: str) -> None:
    s = store(tmp_path)
    rec = record(alg, retire_at=NOW + 10, remove_at=NOW + 20)
    s.save(rec)
    (loaded,) = store(tmp_path).load()
    assert loaded.to_metadata() == rec.to_metadata()
    assert loaded.key.export_private_jwk() == rec.key.export_private_jwk()


def test_should_write_key_files_0600_in_a_0700_directory(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record()
    s.save(rec)
    assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key_file(s, rec.kid)).st_mode) == 0o600


def test_should_never_write_private_material_in_clear(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record("RS256")
    s.save(rec)
    text = key_file(s, rec.kid).read_text()
    for member in secret_members(rec):
        assert member not in text
    assert json.loads(text)["kid"] == rec.kid  # metadata stays readable


def test_should_keep_a_public_only_record_public(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record()
    public = rec.moved(key=rec.key.public_key(), state=KeyState.RETIRED, revoked=True)
    s.save(public)
    (loaded,) = s.load()
    assert not loaded.key.is_private
    assert loaded.revoked


def test_should_store_an_unsafe_kid_under_a_hashed_file_name(tmp_path: Path) -> None:
    s = store(tmp_path)
    key = generate_key(
        "ES256", kid="../../etc/passwd", token_use="access", environment="production"
    )
    s.save(KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=NOW, activate_at=NOW))
    names = [p.name for p in s.path.iterdir() if p.name.endswith(".jwk.json")]
    assert len(names) == 1 and names[0].startswith("sha256-")
    assert [r.kid for r in s.load()] == ["../../etc/passwd"]


def test_should_delete_a_record_and_ignore_an_absent_one(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record()
    s.save(rec)
    s.delete(rec.kid)
    s.delete(rec.kid)
    assert s.load() == []


def test_should_refuse_a_key_directory_open_to_others(tmp_path: Path) -> None:
    path = tmp_path / "open"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    with pytest.raises(KeyStoreError, match="chmod 700"):
        DirectoryKeyStore(path, environment="production", kek=KEK)


def test_should_refuse_a_key_file_readable_by_others(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record()
    s.save(rec)
    os.chmod(key_file(s, rec.kid), 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store(tmp_path).load()


def test_should_implement_the_store_protocols() -> None:
    assert isinstance(MemoryKeyStore(environment="production"), LockableKeyStore)
    assert isinstance(EnvKeyStore(environment="production", environ={}), KeyStore)


# --- crash safety -----------------------------------------------------------------------------


def test_should_keep_the_old_record_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)
    old = record()
    s.save(old)
    before = key_file(s, old.kid).read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "simulated crash before rename")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash)
        with pytest.raises(KeyStoreError, match="previous record is unchanged"):
            s.save(old.moved(state=KeyState.RETIRING, retire_at=NOW + 1))
    assert key_file(s, old.kid).read_bytes() == before
    assert [r.state for r in store(tmp_path).load()] == [KeyState.ACTIVE]
    assert not [p for p in s.path.iterdir() if p.name.startswith(".tmp-")]


def test_should_keep_the_old_record_when_the_disk_fills_half_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)
    old = record()
    s.save(old)
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "write", half_then_full)
        with pytest.raises(KeyStoreError, match="No space left"):
            s.save(old.moved(state=KeyState.RETIRING, retire_at=NOW + 1))
    assert calls["n"] == 2  # the write really was interrupted half way
    (loaded,) = store(tmp_path).load()
    assert loaded.to_metadata() == old.to_metadata()
    assert not [p for p in s.path.iterdir() if p.name.startswith(".tmp-")]


def test_should_keep_the_first_key_absent_when_its_first_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = store(tmp_path)

    def crash(fd: int) -> None:
        raise OSError(errno.EIO, "simulated fsync failure")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", crash)
        with pytest.raises(KeyStoreError):
            s.save(record())
    assert s.load() == []


# --- encryption and tampering -----------------------------------------------------------------


def test_should_refuse_a_wrong_kek_without_leaking_key_material(tmp_path: Path) -> None:
    rec = record("RS256")
    store(tmp_path).save(rec)
    with pytest.raises(KeyStoreError) as caught:
        store(tmp_path, kek=OTHER_KEK).load()
    message = str(caught.value) + repr(caught.value)
    assert rec.kid in message
    assert "another key-encryption key" in message
    for secret in [*secret_members(rec), b64(KEK), b64(OTHER_KEK), KEK.hex()]:
        assert secret not in message


def test_should_refuse_a_file_whose_metadata_was_edited(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record(state=KeyState.RETIRED, revoked=True)
    s.save(rec)
    path = key_file(s, rec.kid)
    document = json.loads(path.read_text())
    document["revoked"] = False  # an attacker un-revoking a key
    document["state"] = "active"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyStoreError, match="modified or the KEK is wrong"):
        store(tmp_path).load()


def test_should_refuse_a_sealed_key_moved_into_another_record(tmp_path: Path) -> None:
    s = store(tmp_path)
    a, b = record(), record()
    s.save(a)
    s.save(b)
    doc_a = json.loads(key_file(s, a.kid).read_text())
    doc_b = json.loads(key_file(s, b.kid).read_text())
    doc_b["nonce"], doc_b["sealed"] = doc_a["nonce"], doc_a["sealed"]
    key_file(s, b.kid).write_text(json.dumps(doc_b))
    with pytest.raises(KeyStoreError, match=b.kid):
        store(tmp_path).load()


def test_should_refuse_a_torn_file_naming_it(tmp_path: Path) -> None:
    s = store(tmp_path)
    rec = record()
    s.save(rec)
    path = key_file(s, rec.kid)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(KeyStoreError, match="not valid JSON"):
        store(tmp_path).load()


def test_should_not_show_the_kek_in_repr(tmp_path: Path) -> None:
    s = store(tmp_path)
    assert "kek" not in repr(s).lower() or KEK.hex() not in repr(s)
    assert b64(KEK) not in repr(s)


# --- environments -----------------------------------------------------------------------------


def test_should_refuse_to_save_a_key_of_another_environment(tmp_path: Path) -> None:
    with pytest.raises(KeyEnvironmentError):
        store(tmp_path).save(record(env="staging"))


def test_should_refuse_to_load_a_key_file_copied_from_another_environment(tmp_path: Path) -> None:
    staging = DirectoryKeyStore(tmp_path / "staging", environment="staging", kek=KEK)
    rec = record(env="staging")
    staging.save(rec)
    production = store(tmp_path)
    (production.path / f"{rec.kid}.jwk.json").write_bytes(key_file(staging, rec.kid).read_bytes())
    os.chmod(production.path / f"{rec.kid}.jwk.json", 0o600)
    with pytest.raises(KeyEnvironmentError, match="staging"):
        production.load()


def test_should_refuse_a_key_with_no_environment(tmp_path: Path) -> None:
    key = generate_key("ES256", token_use="access")
    with pytest.raises(KeyEnvironmentError):
        store(tmp_path).save(
            KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=NOW, activate_at=NOW)
        )


def test_should_refuse_production_without_a_kek(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match=r"\$JWTWARDEN_KEK"):
        DirectoryKeyStore(tmp_path / "keys", environment="production", environ={})


def test_should_read_the_kek_from_the_environment(tmp_path: Path) -> None:
    rec = record()
    store(tmp_path).save(rec)
    s = DirectoryKeyStore(
        tmp_path / "keys", environment="production", environ={"JWTWARDEN_KEK": b64(KEK)}
    )
    assert [r.kid for r in s.load()] == [rec.kid]


@pytest.mark.parametrize("value", ["short", b64(b"x" * 31), b64(KEK) + "=", "not base64 !"])
def test_should_refuse_a_malformed_kek_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(KeyStoreError, match="32 bytes") as caught:
        DirectoryKeyStore(
            tmp_path / "keys", environment="production", environ={"JWTWARDEN_KEK": value}
        )
    assert value not in str(caught.value)


def test_should_generate_a_development_kek_once_with_a_loud_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtwarden.keys"):
        first = DirectoryKeyStore(tmp_path / "dev", environment="development", environ={})
    assert "NOT protected" in caplog.text
    kek_path = tmp_path / "dev" / ".kek"
    assert stat.S_IMODE(os.stat(kek_path).st_mode) == 0o600
    assert kek_path.read_text().strip() not in caplog.text
    rec = record(env="development")
    first.save(rec)
    second = DirectoryKeyStore(tmp_path / "dev", environment="development", environ={})
    assert [r.kid for r in second.load()] == [rec.kid]


def test_should_refuse_a_bad_environment_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DirectoryKeyStore(tmp_path / "k", environment="../prod", kek=KEK)


def test_should_refuse_a_kek_that_is_not_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DirectoryKeyStore(tmp_path / "k", environment="production", kek=b"short")


def test_should_let_the_lock_be_taken_again_by_the_same_thread(tmp_path: Path) -> None:
    s = store(tmp_path)
    with s.lock(), s.lock():
        s.save(record())
    assert len(s.load()) == 1


# --- environment-variable store ---------------------------------------------------------------


def env_jwks(*items: dict[str, Any]) -> dict[str, str]:
    return {"JWTWARDEN_KEYS": json.dumps({"keys": list(items)})}


def private_jwk(alg: str = "ES256", **extra: Any) -> dict[str, Any]:
    jwk = generate_key(alg, rsa_bits=2048).export_private_jwk()
    jwk.update(extra)
    return jwk


def test_should_load_keys_from_an_environment_variable() -> None:
    jwk = private_jwk(token_use="access")
    s = EnvKeyStore(environment="production", environ=env_jwks(jwk))
    (rec,) = s.load()
    assert (rec.kid, rec.key.token_use, rec.key.environment) == (jwk["kid"], "access", "production")
    assert rec.state is KeyState.ACTIVE and rec.key.is_private


def test_should_read_lifecycle_members_from_the_environment() -> None:
    jwk = private_jwk(token_use="id", state="pending", publish_at=NOW, activate_at=NOW + 60)
    (rec,) = EnvKeyStore(environment="production", environ=env_jwks(jwk)).load()
    assert (rec.state, rec.activate_at) == (KeyState.PENDING, NOW + 60)


def test_should_refuse_to_write_to_the_environment_store() -> None:
    s = EnvKeyStore(environment="production", environ=env_jwks(private_jwk(token_use="access")))
    with pytest.raises(KeyStoreError, match="read-only"):
        s.save(record())
    with pytest.raises(KeyStoreError, match="read-only"):
        s.delete("kid")


def test_should_refuse_an_environment_key_of_another_environment() -> None:
    jwk = private_jwk(token_use="access", environment="staging")
    with pytest.raises(KeyEnvironmentError):
        EnvKeyStore(environment="production", environ=env_jwks(jwk)).load()


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({}, "is not set"),
        ({"JWTWARDEN_KEYS": '{"keys": [{"kty": "EC", "d": "c2VjcmV0c2VjcmV0'}, "not valid JSON"),
        ({"JWTWARDEN_KEYS": '{"kty": "EC"}'}, "must be a JWK Set"),
    ],
)
def test_should_refuse_a_malformed_environment_variable_without_echoing_it(
    environ: dict[str, str], match: str
) -> None:
    with pytest.raises(KeyStoreError, match=match) as caught:
        EnvKeyStore(environment="production", environ=environ).load()
    assert "c2VjcmV0" not in str(caught.value)


def test_should_refuse_an_environment_key_without_a_token_use() -> None:
    with pytest.raises(KeyStoreError, match="token_use"):
        EnvKeyStore(environment="production", environ=env_jwks(private_jwk())).load()


def test_should_refuse_a_weak_key_in_the_environment_naming_it() -> None:
    weak = {
        "kty": "oct",
        "alg": "HS256",
        "kid": "weak",
        "k": b64(secrets.token_bytes(16)),
        "token_use": "access",
    }
    with pytest.raises(KeyStoreError, match=r"'weak'.*256") as caught:
        EnvKeyStore(environment="production", environ=env_jwks(weak)).load()
    assert weak["k"] not in str(caught.value)


def test_should_refuse_two_environment_keys_with_one_kid() -> None:
    jwk = private_jwk(token_use="access")
    with pytest.raises(KeyStoreError, match="same kid"):
        EnvKeyStore(environment="production", environ=env_jwks(jwk, jwk)).load()


# --- memory store and records -----------------------------------------------------------------


def test_should_refuse_a_record_of_another_environment_in_memory() -> None:
    with pytest.raises(KeyEnvironmentError):
        MemoryKeyStore(environment="production").save(record(env="development"))


def test_should_round_trip_record_metadata() -> None:
    rec = record(retire_at=NOW + 5, remove_at=NOW + 9)
    again = KeyRecord.from_metadata(rec.key, json.loads(json.dumps(rec.to_metadata())))
    assert again == rec


def test_should_refuse_metadata_that_names_another_key() -> None:
    rec = record()
    metadata = {**rec.to_metadata(), "alg": "RS256"}
    with pytest.raises(ValueError, match="alg"):
        KeyRecord.from_metadata(rec.key, metadata)


@pytest.mark.parametrize(
    "bad", [{"publish_at": "soon"}, {"activate_at": float("nan")}, {"state": "zombie"}]
)
def test_should_refuse_malformed_record_metadata(bad: dict[str, Any]) -> None:
    rec = record()
    with pytest.raises(ValueError):
        KeyRecord.from_metadata(rec.key, {**rec.to_metadata(), **bad})


def test_should_not_show_key_material_in_a_record_repr() -> None:
    rec = record("HS256")
    assert repr(rec) == f"KeyRecord(kid={rec.key.kid!r}, alg='HS256', use='access', state='active')"
    secrets = secret_members(rec)
    assert len(secrets) == 1  # "k": the loop below checks something
    for secret in secrets:
        assert secret not in repr(rec)


@pytest.mark.parametrize("member", ["nonce", "sealed"])
@pytest.mark.parametrize("value", [5, None, ["x"], {"a": 1}])
def test_should_refuse_a_key_file_whose_sealed_parts_are_not_strings(
    tmp_path: Path, member: str, value: Any
) -> None:
    s = store(tmp_path)
    rec = record()
    s.save(rec)
    path = key_file(s, rec.kid)
    document = json.loads(path.read_text())
    document[member] = value
    path.write_text(json.dumps(document))
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError):
        s.load()
