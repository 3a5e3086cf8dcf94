"""Files on Hadoop's filesystems (``hdfs://``, ``s3a://``, ``file://``, any scheme the cluster's
Hadoop has a filesystem for), crawled with ``--engine spark``.

A file is named by its URI wherever a local file is named by its path: in cursors, evidence and
the quarantine. It is a :class:`HadoopPath`, which the readers take where they take a
:class:`pathlib.Path` (it has what they use of one), and it reads through the filesystem at hand
in this process, set with :func:`using`:

- on Spark's driver, :class:`JvmFiles`: Hadoop's ``FileSystem`` API through the driver's JVM
  gateway. It lists the sources, reads the heads that tell a file's format and the bytes a cursor
  checks, and reads a unit parsed again on the driver;
- in a Spark task, :class:`Snapshot`: the task's files as Spark read them for it (a Python task
  has no Hadoop client of its own), beside the driver's listing (for a rolling event log's later
  parts and status files).

Without either (a local crawl), a URI names no file: I/O on it raises OSError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

from crawler.errors import ConfigError, SourceNotFoundError

if TYPE_CHECKING:
    from pyspark import SparkContext

    from crawler.registry import SourceSpec

_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?://([^/]*))?(.*)$")
# Characters Hadoop's glob patterns give a meaning to: escaped to name one file.
_GLOB = re.compile(r"([\\{}\[\]*?])")


def is_uri(text: str) -> bool:
    """Whether ``text`` is a Hadoop filesystem URI (``scheme://...``, or ``file:/path``), not a path."""
    return "://" in text and _URI.match(text) is not None or text.startswith("file:/")


def normalize(uri: str) -> str:
    """One spelling of a URI: ``scheme://authority/path`` (``file:/x``, as Hadoop prints it, is ``file:///x``)."""
    match = _URI.match(uri)
    if match is None:
        raise ValueError(f"not a URI: {uri!r}")
    scheme, authority, path = match.groups()
    return f"{scheme.lower()}://{authority or ''}{path or '/'}"


def check_engine(specs: Sequence[SourceSpec], engine: str) -> None:
    """Refuse URIs to an engine that reads local paths only."""
    uris = [spec.path for spec in specs if is_uri(spec.path)]
    if uris and engine != "spark":
        raise ConfigError(f"{uris[0]}: files on Hadoop filesystems (hdfs://, s3a://, file://) are crawled with "
                          "--engine spark; the local engine reads local paths")


@dataclasses.dataclass(frozen=True, slots=True)
class Status:
    """What ``stat`` tells of a file: its size and modification time (seconds)."""

    st_size: int
    st_mtime: float

    @property
    def st_mtime_ns(self) -> int:
        return int(self.st_mtime * 1e9)


class Files(Protocol):
    """A filesystem that files named by URI are read through."""

    def open(self, uri: str) -> BinaryIO: ...

    def status(self, uri: str) -> Status | None:
        """The file's status; None where there is no such file (or it is a directory)."""
        ...

    def glob(self, pattern: str) -> list[str]:
        """The files whose URIs match ``pattern`` (a glob in one directory)."""
        ...


_files: Files | None = None


@contextlib.contextmanager
def using(files: Files) -> Iterator[Files]:
    """Read URIs through ``files`` for a while."""
    global _files
    before, _files = _files, files
    try:
        yield files
    finally:
        _files = before


def current() -> Files | None:
    return _files


def _at_hand(uri: str) -> Files:
    if _files is None:
        raise OSError(errno.ENOENT, "a Hadoop filesystem URI is read with --engine spark", uri)
    return _files


class HadoopPath:
    """A file named by its URI, standing in for a :class:`pathlib.Path` in the readers: its name
    and parts as a path's, its I/O through the filesystem at hand."""

    __slots__ = ("_prefix", "_path")

    def __init__(self, uri: str) -> None:
        scheme, authority, path = cast(re.Match[str], _URI.match(normalize(uri))).groups()
        self._prefix = f"{scheme}://{authority or ''}"
        self._path = PurePosixPath(path)

    def __str__(self) -> str:
        return f"{self._prefix}{self._path}"

    def __repr__(self) -> str:
        return f"HadoopPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HadoopPath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: HadoopPath) -> bool:
        return str(self) < str(other)

    def __truediv__(self, name: str) -> HadoopPath:
        return HadoopPath(f"{self._prefix}{self._path / name}")

    def __reduce__(self) -> tuple[Any, ...]:
        return HadoopPath, (str(self),)

    @property
    def name(self) -> str:
        return self._path.name

    @property
    def parts(self) -> tuple[str, ...]:
        return (f"{self._prefix}/", *self._path.parts[1:])

    @property
    def suffix(self) -> str:
        return self._path.suffix

    @property
    def suffixes(self) -> list[str]:
        return self._path.suffixes

    @property
    def stem(self) -> str:
        return self._path.stem

    @property
    def parent(self) -> HadoopPath:
        return HadoopPath(f"{self._prefix}{self._path.parent}")

    @property
    def parents(self) -> list[HadoopPath]:
        return [HadoopPath(f"{self._prefix}{parent}") for parent in self._path.parents]

    def with_name(self, name: str) -> HadoopPath:
        return HadoopPath(f"{self._prefix}{self._path.with_name(name)}")

    def resolve(self) -> HadoopPath:
        return self

    def open(self, mode: str = "rb") -> BinaryIO:
        if mode != "rb":
            raise ValueError(f"{self}: files on Hadoop filesystems are only read (mode 'rb')")
        return _at_hand(str(self)).open(str(self))

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    def stat(self) -> Status:
        found = _at_hand(str(self)).status(str(self))
        if found is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", str(self))
        return found

    def exists(self) -> bool:
        return _files is not None and _files.status(str(self)) is not None

    def is_file(self) -> bool:
        return _files is not None and _files.status(str(self)) is not None

    def glob(self, pattern: str) -> Iterator[HadoopPath]:
        if _files is None:
            return iter(())
        return iter(sorted(HadoopPath(uri) for uri in _files.glob(f"{_escape(str(self))}/{pattern}")))


def path_of(name: str) -> Path:
    """The file a cursor or an issue names: a local path, or a URI (a :class:`HadoopPath`)."""
    return cast(Path, HadoopPath(name)) if is_uri(name) else Path(name)


def walk(uri: str) -> list[Path]:
    """The files ``uri`` names (a file, a directory's files, a glob's), through the driver's Hadoop."""
    if not isinstance(_files, JvmFiles):
        raise ConfigError(f"{uri}: files on Hadoop filesystems are crawled with --engine spark")
    return [path_of(found) for found in _files.walk(uri)]


def is_remote(path: Path | HadoopPath) -> bool:
    return isinstance(path, HadoopPath)


def _escape(uri: str) -> str:  # (for a glob in one folder: its files' names matched, its path as it is)
    return _GLOB.sub(r"\\\1", uri)


# -- on the driver: Hadoop's FileSystem API through the JVM gateway ------------------------------


class JvmFiles:
    """Hadoop's filesystems as the driver's JVM has them (its Hadoop configuration: HADOOP_CONF_DIR,
    ``spark.hadoop.*``). Remembers what it listed, for the tasks (:attr:`listed`)."""

    def __init__(self, context: SparkContext) -> None:
        self._jvm: Any = context._jvm  # noqa: SLF001  (pyspark's gateway: the only way to Hadoop's API)
        self._conf: Any = context._jsc.hadoopConfiguration()  # noqa: SLF001
        self.listed: dict[str, Status] = {}

    def _fs(self, uri: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def open(self, uri: str) -> BinaryIO:
        fs, path = self._call(uri, self._fs, uri)
        status = self.status(uri)
        if status is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", uri)
        stream = self._call(uri, fs.open, path)
        return cast(BinaryIO, io.BufferedReader(_JvmStream(stream, status.st_size), buffer_size=1 << 16))

    def status(self, uri: str) -> Status | None:
        fs, path = self._call(uri, self._fs, uri)
        if not self._call(uri, fs.exists, path):
            return None
        found = self._call(uri, fs.getFileStatus, path)
        return self.listed[self._note(found)] if found.isFile() else None

    def glob(self, pattern: str) -> list[str]:
        fs, path = self._call(pattern, self._fs, pattern)
        return [self._note(status) for status in self._call(pattern, fs.globStatus, path) or [] if status.isFile()]

    def walk(self, uri: str) -> list[str]:
        """The files ``uri`` names: the file, every file under the directory, or the files and the
        files under the directories a glob matches. Raises SourceNotFoundError if none."""
        try:
            fs, path = self._fs(uri)
            found = fs.globStatus(path)
            files: list[str] = []
            for status in found or []:
                if status.isFile():
                    files.append(self._note(status))
                    continue
                under = fs.listFiles(status.getPath(), True)
                while under.hasNext():
                    files.append(self._note(under.next()))
        except Exception as error:  # noqa: BLE001  (py4j's Py4JJavaError: the JVM's own word for it)
            raise SourceNotFoundError(f"cannot list {uri}: {_java_message(error)}") from error
        if not found:
            raise SourceNotFoundError(f"no such file or directory: {uri}")
        return files

    def _note(self, status: Any) -> str:
        uri = normalize(str(status.getPath().toString()))
        self.listed[uri] = Status(st_size=int(status.getLen()), st_mtime=int(status.getModificationTime()) / 1000)
        return uri

    @staticmethod
    def _call(uri: str, function: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except Exception as error:  # noqa: BLE001  (the JVM's errors reach Python as Py4JJavaError)
            if type(error).__name__ == "Py4JJavaError":
                raise OSError(errno.EIO, _java_message(error), uri) from error
            raise


def _java_message(error: BaseException) -> str:
    """The first line of a Java exception's message, without py4j's wrapping."""
    java = getattr(error, "java_exception", None)
    text = f"{java.getClass().getSimpleName()}: {java.getMessage()}" if java is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


class _JvmStream(io.RawIOBase):
    """A Hadoop FSDataInputStream as a Python binary stream (seekable)."""

    def __init__(self, stream: Any, size: int) -> None:
        self._stream = stream
        self._size = size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = bytes(self._stream.readNBytes(len(buffer)))  # (Java 11's InputStream.readNBytes)
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._size}[whence]
        self._stream.seek(max(0, base + offset))
        return self.tell()

    def tell(self) -> int:
        return int(self._stream.getPos())

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


# -- in a Spark task: the files binaryFiles read, and the driver's listing -----------------------


class Snapshot:
    """A task's files: their bytes as Spark read them for it, and the driver's listing."""

    def __init__(self, contents: dict[str, bytes], listed: dict[str, Status]) -> None:
        self._contents = {normalize(uri): data for uri, data in contents.items()}
        self._listed = listed

    def open(self, uri: str) -> BinaryIO:
        data = self._contents.get(uri)
        if data is None:
            listed = self._listed.get(uri)
            if listed is None or listed.st_size:
                raise FileNotFoundError(errno.ENOENT, "not read for this task", uri)
            data = b""  # (an empty file: Spark may give it no record)
        return io.BytesIO(data)

    def status(self, uri: str) -> Status | None:
        listed = self._listed.get(uri)
        data = self._contents.get(uri)
        if data is not None:
            return Status(st_size=len(data), st_mtime=listed.st_mtime if listed else 0.0)
        return listed

    def glob(self, pattern: str) -> list[str]:
        folder, _, name = pattern.rpartition("/")
        folder = re.sub(r"\\(.)", r"\1", folder)
        return sorted(uri for uri in self._listed if uri.rpartition("/")[0] == folder
                      and fnmatch.fnmatchcase(uri.rpartition("/")[2], name))
