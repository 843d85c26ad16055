"""Secrets of the agent: broker password references and the camera secrets file.

Kept apart from agent/config.py so everything that touches a secret is in one place: the
main YAML holds only *references* (``env:NAME``, ``credential:NAME``, resolved here), camera
passwords live in a separate mode-0600 file (:func:`load_secrets`), and no error message here
ever echoes a value.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, ValidationError, model_validator

from .config_base import ConfigError, ConfigModel, read_yaml

if TYPE_CHECKING:
    from .config import CameraConfig

__all__ = [
    "DEFAULT_SECRETS_CREDENTIAL",
    "DEFAULT_SECRETS_PATH",
    "Credential",
    "CredentialsConfig",
    "Secrets",
    "load_secrets",
    "resolve_secret",
    "secret_ref",
]

# File name looked up in $CREDENTIALS_DIRECTORY when credentials.file is not set.
DEFAULT_SECRETS_CREDENTIAL = "camera-credentials"
# Where the installer keeps the secrets file (root, 0600); the service reads it through
# LoadCredential, the installer's own ``camwatch-agent check`` (as root) reads it directly.
DEFAULT_SECRETS_PATH = Path("/etc/camwatch-agent/cameras.yaml")
_SECRET_PREFIXES = ("env:", "credential:")


def resolve_secret(ref: str) -> str | None:
    """Return the secret a reference points to (``env:NAME`` / ``credential:NAME``), or None."""
    if ref.startswith("env:"):
        return os.environ.get(ref[4:]) or None
    if ref.startswith("credential:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            return None
        path = Path(directory) / ref[len("credential:"):]
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    raise ConfigError(f"secret reference must start with env: or credential:, got {ref[:12]!r}...")


def secret_ref(value: str) -> str:
    """Validate a password field: a reference, never the password itself."""
    if not value.startswith(_SECRET_PREFIXES) or not value.split(":", 1)[1]:
        # Never echo the value: it is probably the password itself.
        raise ValueError(
            "must be a reference 'env:VARIABLE' or 'credential:NAME' (systemd LoadCredential); "
            "a password is never written in the config file"
        )
    return value


class CredentialsConfig(ConfigModel):
    """Where camera credentials are kept."""

    file: Path | None = Field(
        default=None,
        description=(
            "Secrets YAML (mode 0600); None = $CREDENTIALS_DIRECTORY/camera-credentials under "
            "systemd, else /etc/camwatch-agent/cameras.yaml when it exists"
        ),
    )

    def path(self) -> Path | None:
        """The secrets file to read, or None when there is none."""
        if self.file is not None:
            return self.file
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if directory:
            return Path(directory) / DEFAULT_SECRETS_CREDENTIAL
        return DEFAULT_SECRETS_PATH if DEFAULT_SECRETS_PATH.exists() else None


class Credential(ConfigModel):
    """A user name and password for a camera (never logged: the password is a SecretStr)."""

    username: str = Field(default="", max_length=128)
    password: SecretStr = Field(default=SecretStr(""))


class Secrets(ConfigModel):
    """The camera secrets file: named credentials and the order to try them in."""

    credentials: dict[str, Credential] = Field(default_factory=dict)
    try_order: list[str] = Field(
        default_factory=list, description="Credential names tried on cameras without their own"
    )

    @model_validator(mode="after")
    def _known_names(self) -> Secrets:
        for name in self.try_order:
            if name not in self.credentials:
                raise ValueError(f"try_order names {name!r}, which is not under credentials")
        return self

    def for_camera(self, camera: CameraConfig) -> list[Credential]:
        """Credentials to use for ``camera``: its own, else every set in try_order."""
        if camera.credential is not None:
            found = self.credentials.get(camera.credential)
            return [found] if found is not None else []
        return [self.credentials[name] for name in self.try_order]


def load_secrets(path: str | Path) -> Secrets:
    """Read the camera secrets file, refusing it when group or others can read it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: secrets file not found") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read secrets file: {err.strerror}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: secrets file is readable by other users (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return Secrets.model_validate(data)
    except ValidationError as err:
        # Never echo input values here: they are passwords.
        lines = [
            "  {}: {}".format(".".join(str(p) for p in e["loc"]), e["msg"]) for e in err.errors()
        ]
        raise ConfigError(f"{path}: invalid secrets file:\n" + "\n".join(lines)) from err
