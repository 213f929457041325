from __future__ import annotations

import argon2
import pytest

from jwtwarden.errors import PasswordPolicyError
from jwtwarden.sessions.passwords import OWASP_MINIMUM, PasswordHasher, PasswordParameters


def test_should_hash_with_argon2id_at_owasp_minimum_parameters(hasher: PasswordHasher) -> None:
    digest = hasher.hash("correct horse battery staple")
    assert digest.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in digest
    assert hasher.verify(digest, "correct horse battery staple")
    assert not hasher.verify(digest, "correct horse battery stapler")


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"), [(19455, 2), (19456, 1), (7167, 5), (4096, 3), (65536, 0)]
)
def test_should_refuse_parameters_below_every_owasp_configuration(
    memory_kib: int, time_cost: int
) -> None:
    with pytest.raises(ValueError, match="OWASP"):
        PasswordParameters(memory_kib=memory_kib, time_cost=time_cost)


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"), [(47104, 1), (12288, 3), (9216, 4), (7168, 5)]
)
def test_should_accept_the_other_owasp_configurations_and_hash_with_them(
    memory_kib: int, time_cost: int
) -> None:
    # OWASP Password Storage Cheat Sheet: the five argon2id configurations of equal strength.
    parameters = PasswordParameters(memory_kib=memory_kib, time_cost=time_cost)
    digest = PasswordHasher(parameters).hash("correct horse battery staple")
    # Read back with argon2-cffi itself, not through the code under test.
    found = argon2.extract_parameters(digest)
    assert (found.type, found.memory_cost, found.time_cost, found.parallelism) == (
        argon2.Type.ID,
        memory_kib,
        time_cost,
        1,
    )
    assert argon2.PasswordHasher().verify(digest, "correct horse battery staple") is True


@pytest.mark.parametrize("password", ["short", "       ", "x" * 1025, "         \t\n"])
def test_should_refuse_passwords_outside_the_policy(hasher: PasswordHasher, password: str) -> None:
    with pytest.raises(PasswordPolicyError):
        hasher.hash(password)


def test_should_answer_false_not_raise_for_garbage_hashes(hasher: PasswordHasher) -> None:
    assert hasher.verify("not a hash", "whatever password") is False
    assert hasher.verify("$argon2id$v=19$m=1,t=1,p=1$AAAA$BBBB", "whatever password") is False
    assert hasher.needs_rehash("not a hash")


def test_should_verify_the_dummy_hash_with_the_same_parameters(hasher: PasswordHasher) -> None:
    assert hasher.verify_dummy("any password at all") is False
    # Same work for unknown accounts: the dummy is a real hash with the hasher's parameters.
    assert not hasher.needs_rehash(hasher._dummy)


def test_should_refuse_a_password_longer_than_the_maximum_even_if_its_prefix_matches(
    hasher: PasswordHasher,
) -> None:
    password = "p" * 1024
    digest = hasher.hash(password)
    assert hasher.verify(digest, password)
    assert not hasher.verify(digest, password + "extra")


def test_should_normalise_unicode_before_hashing(hasher: PasswordHasher) -> None:
    composed, decomposed = "caf\u00e9 au lait!", "cafe\u0301 au lait!"
    assert hasher.verify(hasher.hash(composed), decomposed)


def test_should_flag_hashes_made_with_weaker_parameters_for_rehash() -> None:
    weak = PasswordHasher(PasswordParameters(memory_kib=7168, time_cost=5))
    strong = PasswordHasher(OWASP_MINIMUM)
    assert strong.needs_rehash(weak.hash("a perfectly fine password"))


def test_should_not_show_parameters_secret_in_repr(hasher: PasswordHasher) -> None:
    assert "argon2id" in repr(hasher) and "$" not in repr(hasher)
