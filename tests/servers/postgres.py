"""A throw-away PostgreSQL server that writes real query logs, for tests and fixture generation.

Query-log parsers are only as good as the logs they were tested on, and hand-written logs lie
about the details that matter (tabs after newlines, STATEMENT lines after errors, csv quoting).
So tests start a real server from the Debian binaries, with logging configured by arguments,
run a workload, stop the server (which flushes every log line), and read the files it wrote.

    with PostgresServer(PostgresLogging(destinations=("stderr", "jsonlog"))) as pg:
        pg.psql(script, dbname="credit", user="etl_nightly")
        pg.stop()
        text = pg.log_files["stderr"].read_text()

Each server lives in its own temporary directory (data directory, unix socket, logs) and
listens on a free port of 127.0.0.1 only. initdb and the server refuse to run as root, so
when we are root they run as the ``postgres`` system user, which owns the temporary directory.
Only the standard library is needed here; ``connect()`` imports psycopg when called.
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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.servers._common import ServerError, TemplateCache, ThrowawayServer, chown_tree, free_port, service_user

if TYPE_CHECKING:
    import psycopg

BINDIR = Path(os.environ.get("LINEAGE_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "postgres"
SUPERUSER = "postgres"
# Timestamp with milliseconds, process id, then (for client sessions only: %q) the session id,
# the line number within the session, user@database and application name.
DEFAULT_LINE_PREFIX = "%m [%p] %q%c:%l %u@%d/%a "
DESTINATIONS = ("stderr", "csvlog", "jsonlog")
LOG_SUFFIX = {"stderr": ".log", "csvlog": ".csv", "jsonlog": ".json"}
LOG_BASENAME = "postgresql"

# Settings that only make a disposable server fast; they change nothing in the logs' format.
_FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "20",
    "autovacuum": "off",
    "jit": "off",
}

_RUNNING: set[PostgresServer] = set()
_TEMPLATES = TemplateCache("lineage-pg-template-")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PostgresLogging:
    """What the server logs and where: the postgresql.conf logging settings, as arguments.

    ``destinations`` is any non-empty subset of stderr/csvlog/jsonlog, all captured by the
    logging collector into one file each (``postgresql.log``/``.csv``/``.json``). Times are
    logged in UTC and messages in English, so logs are comparable across machines.
    """

    destinations: tuple[str, ...] = ("stderr",)
    log_statement: str = "all"
    log_min_duration_statement: int = -1
    log_line_prefix: str = DEFAULT_LINE_PREFIX
    log_connections: bool = False
    log_disconnections: bool = False
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [d for d in self.destinations if d not in DESTINATIONS]
        if not self.destinations or unknown:
            raise ValueError(f"destinations must be a non-empty subset of {DESTINATIONS}, got {self.destinations}")
        if self.log_statement not in ("none", "ddl", "mod", "all"):
            raise ValueError(f"log_statement must be none, ddl, mod or all, got {self.log_statement!r}")

    def settings(self) -> dict[str, str]:
        """The logging lines of postgresql.conf (values already quoted), in a stable order."""
        values = {
            "log_destination": _quote(",".join(self.destinations)),
            "logging_collector": "on",
            "log_filename": _quote(LOG_BASENAME + ".log"),
            "log_file_mode": "0644",
            "log_rotation_age": "0",
            "log_rotation_size": "0",
            "log_line_prefix": _quote(self.log_line_prefix),
            "log_statement": _quote(self.log_statement),
            "log_min_duration_statement": str(self.log_min_duration_statement),
            "log_connections": _on_off(self.log_connections),
            "log_disconnections": _on_off(self.log_disconnections),
            "log_timezone": _quote("UTC"),
            "lc_messages": _quote("C"),
        }
        values.update(self.extra)
        return values


@dataclasses.dataclass(frozen=True, slots=True)
class PostgresInfo:
    """How to reach a running server; user and database default to the superuser's."""

    host: str
    port: int
    socket_dir: Path
    user: str = SUPERUSER
    dbname: str = "postgres"

    def conninfo(self, *, user: str | None = None, dbname: str | None = None, application_name: str = "") -> str:
        """A libpq connection string over TCP (so the log shows a client address)."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": user or self.user,
            "dbname": dbname or self.dbname,
        }
        if application_name:
            parts["application_name"] = application_name
        return " ".join(f"{key}={_conninfo_value(value)}" for key, value in parts.items())


class PostgresServer(ThrowawayServer):
    """One disposable server: ``start()``/``stop()``/``cleanup()``, or use it as a context manager.

    The context manager starts on enter and, on exit, stops the server if still running and
    deletes its directory (unless ``keep=True``). Call ``stop()`` yourself before reading the
    logs: only a stopped server is sure to have written every line.
    """

    def __init__(self, logging: PostgresLogging | None = None, *, keep: bool = False, base_dir: Path | None = None):
        self.logging = logging or PostgresLogging()
        self.keep = keep
        self._base_dir = base_dir
        self._dir: Path | None = None
        self._port: int | None = None
        self._running = False

    # -- paths and connection info -------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The server's temporary directory: data/, log/, the socket and startup.log."""
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
    def log_files(self) -> dict[str, Path]:
        """Destination (stderr/csvlog/jsonlog) -> the file the logging collector writes it to."""
        return {d: self.log_dir / (LOG_BASENAME + LOG_SUFFIX[d]) for d in self.logging.destinations}

    @property
    def info(self) -> PostgresInfo:
        if self._port is None:
            raise ServerError("server not started")
        return PostgresInfo(host="127.0.0.1", port=self._port, socket_dir=self.directory)

    @property
    def running(self) -> bool:
        return self._running

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> PostgresInfo:
        """initdb into a fresh directory, configure logging and start on a free port."""
        if self._running:
            return self.info
        self._dir = _make_server_dir(self._base_dir)
        self.log_dir.mkdir()
        chown_tree(self.directory, SERVICE_USER)
        self._initdb()
        for attempt in range(3):
            self._port = free_port()
            self._write_config()
            if self._pg_ctl_start():
                break
            if attempt == 2:
                raise ServerError(f"PostgreSQL did not start:\n{self._log_tail()}")
        self._running = True
        _RUNNING.add(self)
        return self.info

    def stop(self) -> None:
        """Fast shutdown (rolls back open transactions); afterwards every log line is on disk."""
        if not self._running:
            return
        result = self._run_as_service([str(BINDIR / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w",
                                       "-t", "30"], check=False)
        if result.returncode != 0:
            self._kill_postmaster()
        self._running = False
        _RUNNING.discard(self)

    # -- clients -------------------------------------------------------------------------------

    def psql(self, sql: str, *, user: str = SUPERUSER, dbname: str = "postgres", application_name: str = "psql",
             stop_on_error: bool = False) -> subprocess.CompletedProcess[str]:
        """Run SQL text through psql as a script (``-f -``), as an operator or cron job would.

        psql, not psycopg, because psql sends each statement of a script by the simple protocol
        with its own newlines and comments stripped the way real scripts reach the log.
        """
        args = [str(BINDIR / "psql"), "-X", "-q", "-v", f"ON_ERROR_STOP={int(stop_on_error)}", "-f", "-",
                self.info.conninfo(user=user, dbname=dbname, application_name=application_name)]
        return subprocess.run(args, input=sql, text=True, capture_output=True, check=False,
                              env=_client_env(), timeout=120)

    def connect(self, *, user: str = SUPERUSER, dbname: str = "postgres", application_name: str = "",
                autocommit: bool = True) -> psycopg.Connection[Any]:
        """A psycopg connection (imported here so the rest of this module needs only stdlib)."""
        import psycopg

        return psycopg.connect(self.info.conninfo(user=user, dbname=dbname, application_name=application_name),
                               autocommit=autocommit)

    # -- internals -----------------------------------------------------------------------------

    def _initdb(self) -> None:
        """A fresh cluster: initdb's output for the first server of the process, a copy of it after."""
        _TEMPLATES.materialize(str(BINDIR), self.data_dir, self._run_initdb, SERVICE_USER)

    def _run_initdb(self, data_dir: Path) -> None:
        args = [str(BINDIR / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions"]
        result = self._run_as_service(args, check=False)
        if result.returncode != 0:
            raise ServerError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _write_config(self) -> None:
        """Append our settings to postgresql.conf: later lines win, so a rewrite per attempt is fine."""
        settings = {
            "listen_addresses": _quote("127.0.0.1"),
            "port": str(self._port),
            "unix_socket_directories": _quote(str(self.directory)),
            "log_directory": _quote(str(self.log_dir)),
            "timezone": _quote("UTC"),
            **_FAST_SETTINGS,
            **self.logging.settings(),
        }
        conf = self.data_dir / "postgresql.conf"
        original = self.directory / "postgresql.conf.initdb"
        if not original.exists():
            shutil.copy2(conf, original)
        body = original.read_text() + "\n# tests/servers/postgres.py\n"
        body += "".join(f"{key} = {value}\n" for key, value in settings.items())
        conf.write_text(body)

    def _pg_ctl_start(self) -> bool:
        args = [str(BINDIR / "pg_ctl"), "start", "-D", str(self.data_dir), "-w", "-t", "30", "-s",
                "-l", str(self.directory / "startup.log")]
        return self._run_as_service(args, check=False).returncode == 0

    def _run_as_service(self, args: Sequence[str], *, check: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, text=True, capture_output=True, check=check, cwd=self.directory,
                              env=_client_env(), timeout=120, **_service_identity())

    def _kill_postmaster(self) -> None:
        """Last resort when pg_ctl cannot stop the server: signal the postmaster directly."""
        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)

    def _log_tail(self) -> str:
        texts = []
        for path in [self.directory / "startup.log", *self.log_dir.glob("*")]:
            with contextlib.suppress(OSError):
                texts.append(f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-20:]))
        return "\n".join(texts)


def available() -> bool:
    """Whether the PostgreSQL server binaries are installed (tests/servers/install.sh installs them)."""
    return all((BINDIR / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "psql"))


@contextlib.contextmanager
def postgres_server(logging: PostgresLogging | None = None, *, keep: bool = False) -> Iterator[PostgresServer]:
    """Function form of the context manager, handy for pytest fixtures."""
    with PostgresServer(logging, keep=keep) as server:
        yield server


def _make_server_dir(base_dir: Path | None) -> Path:
    """A fresh directory under the system temp dir, whose parents the service user can traverse.

    pytest's tmp_path lives under a root-only directory, which is why we do not use it here.
    Unix socket paths are limited to ~100 bytes, another reason to keep the path short.
    """
    return Path(tempfile.mkdtemp(prefix="lineage-pg-", dir=base_dir))


def _service_identity() -> dict[str, Any]:
    """subprocess keyword arguments that drop root to the service user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    entry = service_user(SERVICE_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _client_env() -> dict[str, str]:
    """A clean environment: no PG* variables from the caller, English messages."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PGCONNECT_TIMEOUT": "10"})
    return env


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _conninfo_value(value: str) -> str:
    """libpq quoting: bare when safe, else single quotes with backslash escapes."""
    if value and all(ch.isalnum() or ch in "._-/" for ch in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


@atexit.register
def _stop_leftovers() -> None:
    """A script that dies without leaving its with-block must not leave servers behind."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.cleanup()
