"""The settings tree as a flat list of settings: path, variable, flat alias, type, default.

The loader, ``config show`` and ``config reference`` all walk the models through this one
list, so a field added to a model is loadable, shown and documented at once.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from aggregator.settings.tree import FLAT_NAMES, PREFIX, AggregatorSettings, env_name

__all__ = ["Setting", "optional_sections", "section_model", "settings_list", "type_name"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One leaf of the settings tree."""

    path: tuple[str, ...]
    field: FieldInfo
    env: str  # CAMWATCH_SMTP__PORT
    flat: str | None  # CAMWATCH_API_PORT: the first releases' name, still accepted

    @property
    def key(self) -> str:
        """The dotted TOML key path: ``smtp.port``."""
        return ".".join(self.path)

    @property
    def secret(self) -> bool:
        """Whether the value is a secret (masked, may be a reference)."""
        return SecretStr in _members(self.field.annotation)

    @property
    def optional(self) -> bool:
        """Whether the setting may be empty (an empty variable means none)."""
        return type(None) in _members(self.field.annotation)

    @property
    def default(self) -> Any:
        """The default value, or None when it is computed at start (``default_factory``)."""
        return None if self.field.default is PydanticUndefined else self.field.default


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``SmtpSettings | None`` -> SmtpSettings), or None for a value."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def type_name(setting: Setting) -> str:
    """A short type for the reference table: ``int``, ``path``, ``auto | require | off``."""
    names = []
    for member in _members(setting.field.annotation):
        if member is type(None):
            continue
        if get_origin(member) is not None and str(get_origin(member)).endswith("Literal"):
            names.append(" | ".join(str(a) for a in get_args(member)))
        else:
            names.append({"SecretStr": "secret", "Path": "path", "str": "text"}.get(member.__name__, member.__name__))
    return " | ".join(names) + (" (optional)" if setting.optional else "")


def _walk(model: type[BaseModel], prefix: tuple[str, ...]) -> list[Setting]:
    flat_of: dict[tuple[str, ...], str] = {path: PREFIX + name.upper() for name, path in FLAT_NAMES.items()}
    out: list[Setting] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        inner = section_model(field.annotation)
        if inner is not None:
            out += _walk(inner, path)
        else:
            out.append(Setting(path, field, env_name(path), flat_of.get(path)))
    return out


@cache
def settings_list() -> tuple[Setting, ...]:
    """Every setting of :class:`AggregatorSettings`, in model order."""
    return tuple(_walk(AggregatorSettings, ()))


@cache
def optional_sections() -> frozenset[str]:
    """Sections that are off unless one of their settings is given (``smtp``, ``alert_mqtt``)."""
    return frozenset(
        name for name, field in AggregatorSettings.model_fields.items()
        if section_model(field.annotation) is not None and not field.is_required() and field.default is None
    )  # fmt: skip
