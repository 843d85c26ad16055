"""Mosquitto's password file: the $7$ hash, atomic rewrites, the username grammar.

Mosquitto rereads its password file and ACL on SIGHUP (``systemctl reload mosquitto``);
every write goes through a temporary file and a rename, so it never reads half a file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from protocol import TopicError, validate_site_id

__all__ = [
    "DEFAULT_ACL_FILE",
    "DEFAULT_PASSWORD_FILE",
    "EnrolError",
    "atomic_write",
    "check_username",
    "hash_password",
    "read_users",
    "set_password",
]

# Mosquitto 2.0's mosquitto_passwd default. The passwords are 192-bit random tokens, so
# the hash cost protects nothing a guess could reach; a low count keeps 15,000 reconnects cheap.
_PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12
DEFAULT_PASSWORD_FILE = Path("/etc/mosquitto/camwatch.passwd")
DEFAULT_ACL_FILE = Path("/etc/mosquitto/camwatch.acl")


class EnrolError(Exception):
    """A site or account cannot be enrolled (bad id or area, already enrolled, files not writable)."""


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = _PBKDF2_ITERATIONS) -> str:
    """Mosquitto 2.0 password-file hash: ``$7$iterations$salt_b64$pbkdf2_sha512_b64``."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def atomic_write(path: Path, text: str, mode: int) -> None:
    """Write via a temporary file and rename, so Mosquitto never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_users(password_file: Path) -> dict[str, str]:
    users: dict[str, str] = {}
    if password_file.exists():
        for line in password_file.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#") and ":" in line:
                user, hashed = line.split(":", 1)
                users[user] = hashed
    return users


def set_password(password_file: Path, username: str, password: str) -> None:
    """Add or replace one user in the Mosquitto password file (mode 0640: root and mosquitto)."""
    check_username(username)
    users = read_users(password_file)
    users[username] = hash_password(password)
    atomic_write(password_file, "".join(f"{u}:{h}\n" for u, h in sorted(users.items())), 0o640)


def check_username(username: str) -> None:
    try:
        validate_site_id(username)
    except TopicError as err:
        raise EnrolError(f"username {username!r} refused: {err}") from err
