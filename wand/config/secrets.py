"""PPP `protocol.auth`: the secrets we check the peer against, and our own credentials.

Secrets belong in files only the daemon can read, as pppd's chap-secrets:
a secrets file or password file that everyone may read is refused, with the
chmod that fixes it. Files are read when the configuration is loaded (and so
again on every reload); a relative path is relative to the device file's
directory. Messages never quote a secret or a password.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from firmware_emu.ppp.config import AuthRequire
from wand.config.fields import INVALID, Invalid, Section
from wand.config.yamlpos import Map, Mark, Node, Scalar, Seq, YamlSyntaxError, parse

AUTH_KEYS = ("require", "secrets_file", "secrets", "username", "password", "password_file")
REQUIRES = ("none", "pap", "chap")
REQUIRE_ALIASES = {"chap-md5": "chap", "md5": "chap", "no": "none", "off": "none"}
OCTETS_MAX = 255  # PAP and CHAP carry names and secrets behind a one-octet length

Secrets = tuple[tuple[str, str], ...]
# Where, which name ("" for the whole mapping), what is wrong.
Report = Callable[[Mark, str, str], None]


@dataclass(frozen=True)
class Auth:
    require: AuthRequire = "none"
    secrets: Secrets = ()
    username: str | None = None
    password: str | None = None


def read_auth(protocol: Section) -> Auth | None:
    """protocol.auth, or None after reporting what is wrong with it."""
    section = protocol.section("auth", AUTH_KEYS)
    if section is None:
        return None if protocol.has("auth") else Auth()
    require = section.choice("require", REQUIRES, "none", aliases=REQUIRE_ALIASES)
    secrets = _secrets(section)
    if require not in (None, "none") and secrets == () and not _given(section, "secrets", "secrets_file"):
        section.sink.add(
            section.where("require"),
            section.key("require"),
            f"require: {require} needs secrets to check the peer against: add secrets_file "
            "(a YAML file of name: secret, mode 0600) or secrets",
        )
        require = None
    credentials = _credentials(section)
    if require is None or isinstance(secrets, Invalid) or isinstance(credentials, Invalid):
        return None
    username, password = credentials
    return Auth(cast(AuthRequire, require), secrets, username, password)


def _given(section: Section, *keys: str) -> bool:
    return any(section.has(key) for key in keys)


def _secrets(section: Section) -> Secrets | Invalid:
    """From secrets_file or inline secrets; () when neither is given."""
    sink = section.sink
    both = section.has("secrets") and section.has("secrets_file")
    if both:
        sink.add(
            section.key_mark("secrets"),
            section.key("secrets"),
            "give secrets_file or secrets, not both (secrets_file is the recommended form)",
        )
    inline: Secrets | Invalid = ()
    node = section.get("secrets")
    if section.has("secrets") and node is not None:
        path = section.key("secrets")

        def inline_report(mark: Mark, name: str, message: str) -> None:
            sink.add(mark, f"{path}.{name}" if name else path, message)

        inline = _secret_map(node, inline_report)
    from_file = _secrets_file(section) if section.has("secrets_file") else ()
    if both or isinstance(inline, Invalid) or isinstance(from_file, Invalid):
        return INVALID
    return inline or from_file


def _secrets_file(section: Section) -> Secrets | Invalid:
    text_path = section.string("secrets_file")
    if text_path is None:
        return INVALID
    sink, where, key = section.sink, section.where("secrets_file"), section.key("secrets_file")
    path, text, problem = read_private(sink.file, text_path, "secrets file")
    if text is None:
        sink.add(where, key, problem)
        return INVALID
    try:
        root = parse(text)
    except YamlSyntaxError as exc:
        sink.add(where, key, f"{path}:{exc.mark.line}:{exc.mark.column}: {exc.message}")
        return INVALID

    def file_report(mark: Mark, name: str, message: str) -> None:
        sink.add(where, key, f"{path}:{mark.line}:{mark.column}: {message}")

    if root is None:
        sink.add(where, key, f"secrets file {path} is empty: expected name: secret lines")
        return INVALID
    return _secret_map(root, file_report)


def _secret_map(node: Node, report: Report) -> Secrets | Invalid:
    """A mapping of peer name to secret, checked entry by entry."""
    if not isinstance(node, Map):
        report(node.mark, "", f"expected a mapping of name: secret, got {_shape(node)}")
        return INVALID
    if not node.entries:
        report(node.mark, "", "no secrets in it (an empty mapping)")
        return INVALID
    secrets: list[tuple[str, str]] = []
    first: dict[str, int] = {}
    ok = True
    for entry in node.entries:
        name, value = entry.key, entry.value
        if name in first:
            report(entry.key_mark, name, f"duplicate name '{name}' (first at line {first[name]})")
            ok = False
            continue
        first[name] = entry.key_mark.line
        problem = _octets_problem(f"name '{name[:20]}'", name)
        if problem:
            report(entry.key_mark, name, problem)
            ok = False
        secret = _secret_text(value)
        if secret is None:
            hint = " (quote it)" if isinstance(value, Scalar) and value.value is not None else ""
            report(value.mark, name, f"the secret for '{name}' must be a string, got {_shape(value)}{hint}")
            ok = False
            continue
        problem = _octets_problem(f"the secret for '{name}'", secret)
        if problem:
            report(value.mark, name, problem)
            ok = False
            continue
        secrets.append((name, secret))
    return tuple(secrets) if ok else INVALID


def _credentials(section: Section) -> tuple[str | None, str | None] | Invalid:
    """How we authenticate ourselves: username with password or password_file."""
    sink = section.sink
    ok = True
    username = _private_string(section, "username")
    if section.has("password") and section.has("password_file"):
        sink.add(
            section.key_mark("password_file"),
            section.key("password_file"),
            "give password or password_file, not both",
        )
        ok = False
    password = _private_string(section, "password")
    if section.has("password_file"):
        password = _password_file(section)
    password_key = "password_file" if section.has("password_file") else "password"
    for key, value in (("username", username), (password_key, password)):
        if isinstance(value, str):
            problem = _octets_problem(key.removesuffix("_file"), value)
            if problem:
                sink.add(section.where(key), section.key(key), problem)
                ok = False
    has_password = _given(section, "password", "password_file")
    if section.has("username") and not has_password:
        sink.add(
            section.mark,
            section.key("password"),
            "missing password (or password_file): username is sent with one when the peer asks",
        )
        ok = False
    if has_password and not section.has("username"):
        sink.add(
            section.mark,
            section.key("username"),
            "missing username: the password is sent with a name when the peer asks",
        )
        ok = False
    if not ok or isinstance(username, Invalid) or isinstance(password, Invalid):
        return INVALID
    return username, password


def _private_string(section: Section, key: str) -> str | None | Invalid:
    """A string that must not be echoed: `password: 1234` is reported without the 1234."""
    node = section.get(key)
    if not section.has(key) or node is None:
        return None
    text = _secret_text(node)
    if text is None:
        hint = " (quote it)" if isinstance(node, Scalar) and node.value is not None else ""
        section.sink.add(section.where(key), section.key(key), f"expected a string, got {_shape(node)}{hint}")
        return INVALID
    return text


def _password_file(section: Section) -> str | Invalid:
    text_path = section.string("password_file")
    if text_path is None:
        return INVALID
    where, key = section.where("password_file"), section.key("password_file")
    path, text, problem = read_private(section.sink.file, text_path, "password file")
    if text is None:
        section.sink.add(where, key, problem)
        return INVALID
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        section.sink.add(where, key, f"the first line of password file {path} is empty")
        return INVALID
    return password


def read_private(config_file: str, written: str, what: str) -> tuple[str, str | None, str]:
    """(path, text, "") of a file holding secrets, or (path, None, why it cannot be used).

    The file must exist, be a regular file and not be readable by everyone.
    """
    if not written:
        return written, None, f"the {what} path is empty"
    path = os.path.join(os.path.dirname(config_file), written)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return path, None, f"{what} {path} does not exist"
    except OSError as exc:
        return path, None, f"cannot stat {what} {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return path, None, f"{what} {path} is not a regular file"
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IROTH:
        return (
            path,
            None,
            f"{what} {path} is readable by everyone (mode {mode:04o}): chmod o-r {path} "
            "(secrets files should be mode 0600)",
        )
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return path, None, f"cannot read {what} {path}: {exc.strerror or exc}"
    try:
        return path, data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return path, None, f"{what} {path} is not UTF-8 text"


def _secret_text(node: Node) -> str | None:
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    return None


def _octets_problem(what: str, text: str) -> str:
    size = len(text.encode())
    if size == 0:
        return f"{what} is empty"
    if size > OCTETS_MAX:
        return f"{what} is {size} octets long: PAP and CHAP allow at most {OCTETS_MAX}"
    return ""


def _shape(node: Node) -> str:
    """Like fields.kind(), but never quoting the value: it may be a secret."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"
