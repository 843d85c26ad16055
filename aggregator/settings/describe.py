"""Show the effective settings (secrets masked, with their sources) and document every setting.

``config show`` prints :func:`effective_rows`; ``config reference`` prints
:func:`reference_markdown`, the table kept between :data:`BEGIN` and :data:`END` in README.md
and docs/operations.md (a unit test fails when they drift from the models).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from aggregator.settings.fields import Setting, optional_sections, settings_list, type_name
from aggregator.settings.loader import LoadedSettings

__all__ = ["BEGIN", "END", "MASK", "Row", "effective_rows", "reference_markdown", "replace_reference", "write_reference"]

MASK = "********"
BEGIN = "<!-- settings-reference:begin (camwatch-aggregator config reference --write) -->"
END = "<!-- settings-reference:end -->"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of ``config show``."""

    key: str
    value: str | int | float | bool | None
    source: str  # default / env / file
    name: str  # the variable or "FILE: key"; empty for a default
    via: str | None  # the secret reference, when a secret was read through one

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the row."""
        return {"key": self.key, "value": self.value, "source": self.source, "name": self.name or None, "via": self.via}


def _plain(value: Any) -> str | int | float | bool | None:
    if isinstance(value, SecretStr):
        return MASK
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _value(root: BaseModel, setting: Setting) -> Any:
    node: Any = root
    for part in setting.path:
        node = getattr(node, part)
    return node


def effective_rows(loaded: LoadedSettings) -> list[Row]:
    """Every setting's effective value (secrets masked) and source; an unused optional section is one row."""
    rows: list[Row] = []
    off_done: set[str] = set()
    for setting in settings_list():
        section = setting.path[0]
        if section in optional_sections() and getattr(loaded.settings, section) is None:
            if section not in off_done:
                off_done.add(section)
                rows.append(Row(section, "off", "default", "", None))
            continue
        origin = loaded.origin(setting.key)
        value = _value(loaded.settings, setting)
        rows.append(Row(setting.key, MASK if setting.secret and value is not None else _plain(value),
                        origin.kind, origin.name, origin.via))  # fmt: skip
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(setting: Setting) -> str:
    if setting.field.default_factory is not None:
        return "computed at start"
    value = setting.default
    if value is None:
        return "none"
    if isinstance(value, SecretStr):
        return f"`{value.get_secret_value()}` (development only)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def reference_markdown() -> str:
    """The Markdown table of every setting, generated from the models."""
    lines = [
        "Every setting is a `CAMWATCH_*` variable (sections nested with `__`) or a key of the TOML",
        "file given with `--config PATH`; the variable wins. Secrets may be written as `env:VAR`,",
        "`file:PATH` or `credential:NAME` (systemd `LoadCredential=`). Sections marked (off) stay off",
        f"until one of their settings is given ({', '.join(sorted(optional_sections()))}).",
        "",
        "| TOML key | Variable | Type | Default | What it is |",
        "|---|---|---|---|---|",
    ]
    for s in settings_list():
        variable = f"`{s.env}`" + (f"<br>or `{s.flat}`" if s.flat else "")
        key = f"`{s.key}`" + (" (off)" if s.path[0] in optional_sections() and s == _first_of(s.path[0]) else "")
        lines.append(f"| {key} | {variable} | {_cell(type_name(s))} | {_cell(_default(s))} | "
                     f"{_cell(s.field.description or '')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _first_of(section: str) -> Setting:
    return next(s for s in settings_list() if s.path[0] == section)


def replace_reference(text: str) -> str:
    """``text`` with the block between BEGIN and END replaced by the current reference."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {BEGIN} ... {END} block")
    return pattern.sub(lambda _: f"{BEGIN}\n{reference_markdown()}{END}", text, count=1)


def write_reference(path: Path) -> bool:
    """Update the reference block in ``path``; return whether it changed."""
    text = path.read_text(encoding="utf-8")
    new = replace_reference(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
