"""Helpers shared by the throw-away PostgreSQL and MariaDB servers (standard library only)."""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self


class ServerError(RuntimeError):
    """A server could not be set up, started or stopped; the message carries its log tail."""


def free_port() -> int:
    """A port nobody listens on right now; callers retry in the rare case it gets taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_user(name: str) -> pwd.struct_passwd:
    """The system user a server runs as when we are root (the Debian packages create it)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


def chown_tree(path: Path, user: str) -> None:
    """Give ``path`` and everything below it to ``user`` when we are root; servers refuse root."""
    if os.geteuid() != 0:
        return
    entry = service_user(user)
    for each in [path, *path.rglob("*")]:
        os.lchown(each, entry.pw_uid, entry.pw_gid)


class TemplateCache:
    """A pristine data directory made once per process and copied for every later server.

    initdb and mariadb-install-db cost one to five seconds on a busy two-core machine; copying
    their output costs a few hundredths. Each server still gets its own, fresh copy, so no state
    leaks between servers. The templates are deleted when the process exits.
    """

    def __init__(self, prefix: str):
        self._prefix = prefix
        self._templates: dict[str, Path] = {}
        self._lock = threading.Lock()
        atexit.register(self.clear)

    def materialize(self, key: str, target: Path, create: Callable[[Path], None], owner: str) -> None:
        """Make ``target`` a copy of the template for ``key``, creating it with ``create`` on first use."""
        with self._lock:
            template = self._templates.get(key)
            if template is None:
                create(target)
                holder = Path(tempfile.mkdtemp(prefix=self._prefix))
                template = holder / "data"
                shutil.copytree(target, template, symlinks=True)
                self._templates[key] = template
                return
        shutil.copytree(template, target, symlinks=True)
        chown_tree(target, owner)

    def clear(self) -> None:
        with self._lock:
            for template in self._templates.values():
                shutil.rmtree(template.parent, ignore_errors=True)
            self._templates.clear()


class ThrowawayServer:
    """What both servers share: a context manager that starts, stops and deletes a server made
    in a temporary directory, and copies its logs out. Subclasses provide ``start``, ``stop``,
    ``log_files``, ``_dir`` and ``keep``."""

    _dir: Path | None
    keep: bool

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def log_files(self) -> dict[str, Path]:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Stop if needed and delete the directory, unless the server was made with keep=True."""
        self.stop()
        if self._dir is not None and not self.keep:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.cleanup()

    def copy_logs(self, destination: Path) -> dict[str, Path]:
        """Stop the server (so every line is written) and copy its logs into ``destination``.

        Returns log kind -> copied file. Use it before the with-block ends, which deletes the
        server's directory.
        """
        self.stop()
        destination.mkdir(parents=True, exist_ok=True)
        copies = {}
        for kind, path in self.log_files.items():
            copies[kind] = destination / path.name
            shutil.copyfile(path, copies[kind])
        return copies
