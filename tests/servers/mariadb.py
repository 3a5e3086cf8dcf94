"""A throw-away MariaDB server that writes a real general query log and slow query log.

The twin of ``postgres.py``: tests start a real ``mariadbd`` from the Debian packages in a
temporary directory (datadir from ``mariadb-install-db``, unix socket, logs), on a free port
of 127.0.0.1 only, run a workload, stop it (which flushes the logs) and read what it wrote.

    with MariaDBServer() as db:
        db.client(script, user="etl_nightly", database="raw")
        db.stop()
        text = db.log_files["general"].read_text()

The general log records every command the server receives (Connect, Init DB, Query, Prepare,
Execute, Quit) per connection id; the slow log with ``long_query_time=0`` records every
completed statement with its ``# Time:``/``# User@Host:`` header, ``use db;`` when the default
database changed, and ``SET timestamp=...;``. When we are root the server runs as the
``mysql`` system user, as the Debian service would. Only the standard library is needed
here; ``connect()`` imports PyMySQL when called.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.servers._common import ServerError, TemplateCache, ThrowawayServer, chown_tree, free_port

if TYPE_CHECKING:
    import pymysql

MARIADBD = os.environ.get("LINEAGE_MARIADBD", "/usr/sbin/mariadbd")
INSTALL_DB = "mariadb-install-db"
CLIENT = "mariadb"
SERVICE_USER = "mysql"
SUPERUSER = "root"
STARTUP_TIMEOUT = 30.0

# Settings that only make a disposable server small and fast; the log format is unaffected.
_FAST_OPTIONS = (
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-use-native-aio=0",
    "--performance-schema=0",
    "--max-connections=30",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--lc-messages=en_US",
)

_RUNNING: set[MariaDBServer] = set()
_TEMPLATES = TemplateCache("lineage-mariadb-template-")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MariaDBLogging:
    """Which query logs the server writes, as the server options a DBA would set.

    ``long_query_time=0`` puts every statement in the slow log, which is how slow logs are
    collected for analysis (pt-query-digest style); ``log_slow_verbosity`` adds the query plan
    (``# Full_scan: ...``) and EXPLAIN lines, which a parser must know to skip.
    """

    general_log: bool = True
    slow_query_log: bool = True
    long_query_time: float = 0.0
    log_slow_verbosity: str = "query_plan,explain,warnings"
    log_slow_admin_statements: bool = True
    extra: tuple[str, ...] = ()

    def options(self, log_dir: Path) -> list[str]:
        """mariadbd command-line options for these settings, writing into ``log_dir``."""
        options = [
            "--log-output=FILE",
            f"--general-log={int(self.general_log)}",
            f"--general-log-file={log_dir / 'general.log'}",
            f"--slow-query-log={int(self.slow_query_log)}",
            f"--slow-query-log-file={log_dir / 'slow.log'}",
            f"--long-query-time={self.long_query_time}",
            f"--log-slow-admin-statements={int(self.log_slow_admin_statements)}",
        ]
        if self.log_slow_verbosity:
            options.append(f"--log-slow-verbosity={self.log_slow_verbosity}")
        return options + list(self.extra)


@dataclasses.dataclass(frozen=True, slots=True)
class MariaDBInfo:
    """How to reach a running server; the superuser has no password and works over the socket."""

    host: str
    port: int
    socket: Path
    user: str = SUPERUSER


class MariaDBServer(ThrowawayServer):
    """One disposable server: ``start()``/``stop()``/``cleanup()``, or use it as a context manager.

    On exit the context manager stops the server if still running and deletes its directory
    (unless ``keep=True``). Call ``stop()`` yourself before reading the logs.
    """

    def __init__(self, logging: MariaDBLogging | None = None, *, keep: bool = False, base_dir: Path | None = None):
        self.logging = logging or MariaDBLogging()
        self.keep = keep
        self._base_dir = base_dir
        self._dir: Path | None = None
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- paths and connection info -------------------------------------------------------------

    @property
    def directory(self) -> Path:
        if self._dir is None:
            raise ServerError("server not started")
        return self._dir

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_dir(self) -> Path:
        return self.directory / "log"

    @property
    def socket_path(self) -> Path:
        return self.directory / "mysqld.sock"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    @property
    def log_files(self) -> dict[str, Path]:
        """``general`` and/or ``slow`` -> the file the server writes that log to."""
        files = {}
        if self.logging.general_log:
            files["general"] = self.log_dir / "general.log"
        if self.logging.slow_query_log:
            files["slow"] = self.log_dir / "slow.log"
        return files

    @property
    def info(self) -> MariaDBInfo:
        if self._port is None:
            raise ServerError("server not started")
        return MariaDBInfo(host="127.0.0.1", port=self._port, socket=self.socket_path)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> MariaDBInfo:
        """mariadb-install-db into a fresh directory, then mariadbd on a free port."""
        if self.running:
            return self.info
        self._dir = Path(tempfile.mkdtemp(prefix="lineage-mariadb-", dir=self._base_dir))
        self.log_dir.mkdir()
        chown_tree(self.directory, SERVICE_USER)
        self._install_db()
        for attempt in range(3):
            self._port = free_port()
            if self._launch():
                break
            if attempt == 2:
                raise ServerError(f"MariaDB did not start:\n{self._error_tail()}")
        _RUNNING.add(self)
        return self.info

    def stop(self) -> None:
        """Clean shutdown by SIGTERM (what systemd sends); logs are complete afterwards."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._process = None
        _RUNNING.discard(self)

    # -- clients -------------------------------------------------------------------------------

    def client(self, sql: str, *, user: str = SUPERUSER, database: str | None = None,
               force: bool = True, tcp: bool = True) -> subprocess.CompletedProcess[str]:
        """Run SQL text through the ``mariadb`` command-line client in batch mode.

        The client splits the script on ``;``, sends each statement as one Query with its
        newlines (comments stripped, as by default) and turns ``USE db`` into an Init DB
        command. ``force`` goes on after errors, as ``mariadb --force < script.sql`` does.
        """
        args = [CLIENT, "--no-defaults", "--batch", f"--user={user}"]
        if tcp:
            args += ["--protocol=TCP", f"--host={self.info.host}", f"--port={self.info.port}"]
        else:
            args += ["--protocol=SOCKET", f"--socket={self.socket_path}"]
        if force:
            args.append("--force")
        if database:
            args.append(f"--database={database}")
        return subprocess.run(args, input=sql, text=True, capture_output=True, check=False, timeout=120,
                              env=_client_env())

    def connect(self, *, user: str = SUPERUSER, database: str | None = None, tcp: bool = True,
                autocommit: bool = True) -> pymysql.connections.Connection[Any]:
        """A PyMySQL connection (imported here so the rest of this module needs only stdlib)."""
        import pymysql

        if tcp:
            return pymysql.connect(host=self.info.host, port=self.info.port, user=user, database=database,
                                   autocommit=autocommit)
        return pymysql.connect(unix_socket=str(self.socket_path), user=user, database=database,
                               autocommit=autocommit)

    # -- internals -----------------------------------------------------------------------------

    def _install_db(self) -> None:
        """A fresh datadir: mariadb-install-db's output for the first server of the process, a copy after."""
        _TEMPLATES.materialize(MARIADBD, self.data_dir, self._run_install_db, SERVICE_USER)

    def _run_install_db(self, data_dir: Path) -> None:
        args = [INSTALL_DB, "--no-defaults", f"--datadir={data_dir}", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M"]
        if os.geteuid() == 0:
            args.append(f"--user={SERVICE_USER}")
        result = subprocess.run(args, text=True, capture_output=True, check=False, cwd=self.directory,
                                env=_client_env(), timeout=120)
        if result.returncode != 0:
            raise ServerError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _launch(self) -> bool:
        """Start mariadbd in the foreground (we own the process) and wait until it accepts clients."""
        args = [
            MARIADBD, "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.directory / 'mariadbd.pid'}",
            f"--log-error={self.error_log}",
            f"--port={self._port}",
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            *_FAST_OPTIONS,
            *self.logging.options(self.log_dir),
        ]
        if os.geteuid() == 0:
            args.append(f"--user={SERVICE_USER}")
        env = _client_env()
        env["TZ"] = "UTC"  # the slow log's "# Time:" headers are in the server's local time
        self.error_log.unlink(missing_ok=True)  # readiness is read from it: no stale lines from a failed try
        # A session of its own, so a Ctrl-C meant for the script does not kill the server before
        # stop() shuts it down cleanly (and the logs end properly).
        self._process = subprocess.Popen(args, cwd=self.directory, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if _is_ready(self.error_log):
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def _error_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-30:])
        return "(no error log)"


def available() -> bool:
    """Whether the MariaDB server and client are installed (tests/servers/install.sh installs them)."""
    return Path(MARIADBD).is_file() and all(shutil.which(tool) for tool in (INSTALL_DB, CLIENT))


@contextlib.contextmanager
def mariadb_server(logging: MariaDBLogging | None = None, *, keep: bool = False) -> Iterator[MariaDBServer]:
    """Function form of the context manager, handy for pytest fixtures."""
    with MariaDBServer(logging, keep=keep) as server:
        yield server


def _is_ready(error_log: Path) -> bool:
    """True once the server has logged that it accepts connections.

    Watching the error log rather than probing the port keeps probe connections out of the
    logs ("Aborted connection ... without authentication").
    """
    with contextlib.suppress(OSError):
        return "ready for connections" in error_log.read_text(errors="replace")
    return False


def _client_env() -> dict[str, str]:
    """A clean environment: no MYSQL_* variables from the caller."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYSQL")}
    env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    return env


@atexit.register
def _stop_leftovers() -> None:
    """A script that dies without leaving its with-block must not leave servers behind."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.cleanup()
