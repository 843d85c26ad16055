"""Secret references: a secret setting may name where the secret is instead of holding it.

``env:VARIABLE`` (another environment variable), ``file:/path`` (the file's text, trimmed),
``credential:NAME`` (a file in systemd's ``$CREDENTIALS_DIRECTORY``, from ``LoadCredential=``).
Any other value is the secret itself. Messages name the reference, never the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["PREFIXES", "SecretRefError", "is_reference", "referenced_variable", "resolve_secret"]

PREFIXES = ("env:", "file:", "credential:")


class SecretRefError(ValueError):
    """A secret reference that points nowhere (unset variable, unreadable file)."""


def is_reference(value: str) -> bool:
    """Whether ``value`` is a reference rather than the secret itself."""
    return value.startswith(PREFIXES)


def referenced_variable(value: str) -> str | None:
    """The environment variable an ``env:`` reference names, else None."""
    return value[4:] if value.startswith("env:") else None


def _read(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise SecretRefError(f"{what}: cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise SecretRefError(f"{what}: {path} is not UTF-8 text") from None
    if not text:
        raise SecretRefError(f"{what}: {path} is empty")
    return text


def resolve_secret(value: str, environ: Mapping[str, str]) -> str:
    """The secret ``value`` stands for (itself unless it is a reference); raise SecretRefError."""
    kind, _, target = value.partition(":")
    if not is_reference(value):
        return value
    if not target:
        raise SecretRefError(f"secret reference {kind}: names nothing")
    if kind == "env":
        secret = environ.get(target, "")
        if not secret:
            raise SecretRefError(f"secret reference env:{target}: the variable is not set or empty")
        return secret
    if kind == "file":
        return _read(Path(target), f"secret reference file:{target}")
    directory = environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory:
        raise SecretRefError(
            f"secret reference credential:{target}: $CREDENTIALS_DIRECTORY is not set (systemd LoadCredential=)"
        )
    if "/" in target or target in (".", ".."):
        raise SecretRefError(f"secret reference credential:{target}: a credential name has no '/'")
    return _read(Path(directory) / target, f"secret reference credential:{target}")
