"""Load the settings tree once: defaults, then a TOML file, then ``CAMWATCH_*`` variables.

The environment wins over the file. Every refusal is a :class:`SettingsError` whose text is
one line naming the setting as the operator wrote it (``CAMWATCH_API_PORT``, or the file and
its key path ``api.port``) and why: a bad value, an unknown variable or key, a secret
reference that points nowhere, a default secret outside development. The command line
prints it and exits with :data:`EX_CONFIG`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from aggregator.settings.fields import Setting, optional_sections, settings_list
from aggregator.settings.secrets import (
    SecretRefError,
    is_reference,
    referenced_variable,
    resolve_secret,
)
from aggregator.settings.tree import PREFIX, AggregatorSettings

__all__ = ["EX_CONFIG", "LoadedSettings", "Origin", "SettingsError", "load_settings"]

# sysexits.h EX_CONFIG, as the agent answers a bad configuration.
EX_CONFIG = 78
# Variables of other camwatch programs that may share a shell with the aggregator.
_FOREIGN = frozenset({"CAMWATCH_AGENT_CONFIG"})
# A value quoted in a message is cut to this many characters.
_QUOTE_MAX = 60


class SettingsError(Exception):
    """A setting that cannot be used; ``str()`` is one line naming it and why."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a setting's value came from."""

    kind: Literal["default", "env", "file"]
    name: str = ""  # the variable, or "FILE: key.path"
    via: str | None = None  # the secret reference it was read through (env:X, file:P, credential:N)

    def describe(self) -> str:
        """``default``, ``environment CAMWATCH_X``, ``config file F: key`` (+ the reference)."""
        text = {"default": "default", "env": f"environment {self.name}", "file": f"config file {self.name}"}[self.kind]
        return text + (f" via {self.via}" if self.via else "")


_DEFAULT = Origin("default")


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    """The settings and where each given value came from (absent from ``origins``: default)."""

    settings: AggregatorSettings
    origins: Mapping[str, Origin]
    config_file: Path | None = None

    def origin(self, key: str) -> Origin:
        """Where the setting ``key`` (``smtp.port``) came from."""
        return self.origins.get(key, _DEFAULT)


def load_settings(environ: Mapping[str, str], config_file: Path | None = None) -> LoadedSettings:
    """Build the settings tree from ``environ`` and an optional TOML file; raise SettingsError."""
    by_key = {s.key: s for s in settings_list()}
    by_env = {s.env: s for s in settings_list()} | {s.flat: s for s in settings_list() if s.flat}
    given: dict[str, tuple[Any, Origin]] = {}
    sections: set[str] = set()
    if config_file is not None:
        for key, value in _read_toml(config_file, by_key, sections):
            given[key] = (value, Origin("file", f"{config_file}: {key}"))
    from_env: dict[str, str] = {}
    for var in sorted(environ):
        setting = by_env.get(var)
        if setting is None:
            continue
        if setting.key in from_env:
            raise SettingsError(f"{from_env[setting.key]} and {var} both set {setting.key}; keep one")
        from_env[setting.key] = var
        raw = environ[var]
        given[setting.key] = (None if raw == "" and setting.optional else raw, Origin("env", var))
    referenced = _resolve_secrets(given, by_key, environ)
    for var in sorted(environ):
        if var.startswith(PREFIX) and var not in by_env and var not in _FOREIGN and var not in referenced:
            raise SettingsError(_unknown(var, list(by_env), "is not a camwatch-aggregator setting"))
    data: dict[str, Any] = {section: {} for section in sections}
    for key, (value, _) in given.items():
        node = data
        for part in by_key[key].path[:-1]:
            node = node.setdefault(part, {})
        node[by_key[key].path[-1]] = value
    try:
        settings = AggregatorSettings.model_validate(data)
    except ValidationError as err:
        raise SettingsError(_explain(err, given, by_key)) from None
    return LoadedSettings(settings, {key: origin for key, (_, origin) in given.items()}, config_file)


def _resolve_secrets(
    given: dict[str, tuple[Any, Origin]], by_key: Mapping[str, Setting], environ: Mapping[str, str]
) -> set[str]:
    """Replace secret references by the secrets; return the variables they named."""
    referenced: set[str] = set()
    for key, (value, origin) in list(given.items()):
        if not by_key[key].secret or not isinstance(value, str) or not is_reference(value):
            continue
        variable = referenced_variable(value)
        if variable:
            referenced.add(variable)
        try:
            given[key] = (resolve_secret(value, environ), replace(origin, via=value))
        except SecretRefError as err:
            raise SettingsError(f"{origin.name}: {err}") from None
    return referenced


def _read_toml(path: Path, by_key: Mapping[str, Setting], sections: set[str]) -> Iterator[tuple[str, Any]]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SettingsError(f"{path}: cannot read the config file: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{path}: not valid TOML: {err}") from None
    yield from _flatten(path, document, (), by_key, sections)


def _flatten(
    path: Path, table: Mapping[str, Any], prefix: tuple[str, ...], by_key: Mapping[str, Setting], sections: set[str]
) -> Iterator[tuple[str, Any]]:
    for name, value in table.items():
        key = ".".join((*prefix, name))
        if key in by_key:
            if isinstance(value, dict):
                raise SettingsError(f"{path}: {key} is a value, not a table")
            yield key, value
        elif any(k.startswith(key + ".") for k in by_key):
            if not isinstance(value, dict):
                raise SettingsError(f"{path}: {key} is a table: write its settings under [{key}]")
            sections.add(key)
            yield from _flatten(path, value, (*prefix, name), by_key, sections)
        else:
            raise SettingsError(_unknown(key, [*by_key, *{k.split('.')[0] for k in by_key}], "is not a setting",
                                         where=f"{path}: "))  # fmt: skip


def _unknown(name: str, known: list[str], why: str, where: str = "") -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"{where}{name} {why}" + (f" (did you mean {match[0]}?)" if match else "")


def _explain(err: ValidationError, given: Mapping[str, tuple[Any, Origin]], by_key: Mapping[str, Setting]) -> str:
    """One line for the first problem of a ValidationError, naming the setting as it was given."""
    problems = err.errors(include_url=False)
    first = problems[0]
    loc = tuple(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ").replace("\n", " ")
    where = ".".join(loc)
    for end in range(len(loc), 0, -1):
        key = ".".join(loc[:end])
        if key in given:
            value, origin = given[key]
            where = origin.name
            if not by_key[key].secret and isinstance(value, str | int | float) and first["type"] != "missing":
                message += f" (got {str(value)[:_QUOTE_MAX]!r})"
            break
        if key in optional_sections():
            break
    more = len(problems) - 1
    return (f"{where}: " if where else "") + message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
