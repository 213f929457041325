"""Configuration errors under the names the user typed (issue 17): ``--port`` for an option,
``JWTWARDEN_PORT`` for a variable, ``port`` in ``settings.toml`` for a key of the config file.

Every problem is listed at once, without pydantic's prefixes (``Value error, ``) or its
``Input should be`` phrasing, and never with the value given (it may be a secret). A misspelt
TOML key or ``JWTWARDEN_*`` variable gets a "did you mean" (difflib). A ``JWTWARDEN_*``
variable that is no setting but close to one is an error (the setting the user meant is not
applied: a typo would silently keep the default); one far from every setting is only warned
about (it may belong to a script or another tool).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["SettingsSources", "describe_settings_errors", "unknown_variables"]

PREFIX = "JWTWARDEN_"
# Variables that are not Settings fields but are read by jwtwarden (the CLI, key stores).
OTHER_VARIABLES = frozenset({"JWTWARDEN_CONFIG", "JWTWARDEN_KEY_DIR", "JWTWARDEN_KEYS"})
# The test suite's own variables (JWTWARDEN_TEST_REDIS_URL...): never settings, never typos.
OTHER_PREFIXES = ("JWTWARDEN_TEST_",)
_PROBLEM = re.compile(r"^(JWTWARDEN_[A-Z0-9_]+): ")
_PHRASES = (
    ("Value error, ", ""),
    ("Input should be ", "must be "),
    ("Extra inputs are not permitted", "is not a setting"),
    ("Field required", "is required"),
)


@dataclass(frozen=True, kw_only=True)
class SettingsSources:
    """Where each setting came from, to name it as the user typed it.

    ``options``: field name -> the command-line option (``{"port": "--port"}``) for the options
    given; ``environ``: the process environment; ``config_file`` and ``config_keys``: the TOML
    file named by ``--config`` or ``JWTWARDEN_CONFIG`` and its top-level keys.
    """

    options: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    config_file: str | None = None
    config_keys: Collection[str] = ()

    def name_of(self, name: str) -> str:
        """The name the user gave field ``name`` under (precedence: option, variable, file)."""
        if name in self.options:
            return self.options[name]
        variable = PREFIX + name.upper()
        if variable in self.environ or name not in self.config_keys:
            return variable
        return f"{name!r} in {self.config_file}"


def _plain(message: str) -> str:
    for pydantic_phrase, ours in _PHRASES:
        message = message.replace(pydantic_phrase, ours)
    return message


def describe_settings_errors(
    exc: Exception, sources: SettingsSources, fields: Collection[str]
) -> list[str]:
    """One line per problem of a failed ``Settings(...)``, each under the user's name."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [_plain(str(exc))]
    lines: list[str] = []
    for error in errors(include_input=False, include_url=False):
        loc = [str(part) for part in error.get("loc", ())]
        message = _plain(str(error.get("msg", "invalid")))
        if not loc:
            # A whole-configuration check: one problem a line, each naming its variable.
            lines.extend(_rename(line, sources) for line in message.splitlines())
        elif error.get("type") == "extra_forbidden":
            lines.append(_unknown_key(loc[0], sources, fields))
        else:
            lines.append(f"{sources.name_of(loc[0])}: {message}")
    return lines


def _rename(line: str, sources: SettingsSources) -> str:
    match = _PROBLEM.match(line)
    if match is None:
        return line
    name = match.group(1)[len(PREFIX) :].lower()
    return f"{sources.name_of(name)}: {line[match.end() :]}"


def _unknown_key(key: str, sources: SettingsSources, fields: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    where = f" in {sources.config_file}" if sources.config_file else ""
    return f"{key!r}{where}: is not a setting{hint}"


def unknown_variables(
    environ: Mapping[str, str], fields: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` for ``JWTWARDEN_*`` variables that are no setting: an error when
    one is close to a setting's name (a typo), a warning otherwise."""
    known = {PREFIX + name.upper() for name in fields} | OTHER_VARIABLES
    errors: list[str] = []
    warnings: list[str] = []
    for variable in sorted(environ):
        if not variable.startswith(PREFIX) or variable in known:
            continue
        if variable.startswith(OTHER_PREFIXES):
            continue
        close = difflib.get_close_matches(variable, sorted(known), n=1, cutoff=0.85)
        if close:
            errors.append(f"{variable}: is not a setting (did you mean {close[0]}?)")
        else:
            warnings.append(f"{variable} is not a jwtwarden setting; it is ignored")
    return errors, warnings
