"""Neo4j's writer lock: a lock node with a lease, ``(:WriterLock {name: 'writer'})``.

A server cannot see its clients die, so the lock is a lease: taken in one write transaction if
nobody holds it, or its lease ran out (its holder was killed, or lost the server), and renewed by a
heartbeat thread every quarter of the lease while held. A holder on this host whose process is
gone gives way at once. Times are the server's clock (``timestamp()``): clients' clocks may
disagree. A holder that loses its lease (stalled longer than the lease, or the node deleted) is
told, and its store refuses further writes (:meth:`Lease.check`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError

from graph.errors import GraphError
from graph.locks import Holder, WriterLock

LEASE = 60.0  # seconds; LINEAGE_LOCK_LEASE overrides (tests use a few)
LEASE_ENV = "LINEAGE_LOCK_LEASE"

# The no-op SET takes the node's write lock before its holder is read: two takers cannot both
# read it free (reads in Neo4j are read committed; a write lock is held to commit).
_CLAIM = """
MERGE (l:WriterLock {name: 'writer'})
SET l.claimed = true REMOVE l.claimed
RETURN properties(l) AS lock, timestamp() AS now
"""
_TAKE = "MATCH (l:WriterLock {name: 'writer'}) SET l += $holder, l.token = $token, l.expires_at = $now + $lease"
_RENEW = """MATCH (l:WriterLock {name: 'writer', token: $token}) SET l.expires_at = timestamp() + $lease
RETURN count(l) AS renewed"""
_FREE = "MATCH (l:WriterLock {name: 'writer', token: $token}) SET l = {name: 'writer'}"


def lease_seconds(lease: float | None = None) -> float:
    if lease is not None:
        return lease
    text = os.environ.get(LEASE_ENV, "")
    try:
        value = float(text) if text else LEASE
    except ValueError:
        value = -1.0
    if value <= 0:
        raise GraphError(f"${LEASE_ENV} must be a positive number of seconds, not {text!r}")
    return value


class Lease(WriterLock):
    def __init__(self, store: str, driver: neo4j.Driver, database: str | None, lease: float) -> None:
        super().__init__(store)
        self._driver = driver
        self._database = database
        self._lease_ms = int(lease * 1000)
        self._token = ""
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.lost: str | None = None  # why the lease was lost while held

    def _work(self, work: Any) -> Any:
        with self._driver.session(database=self._database) as session:
            return session.execute_write(work)

    def _attempt(self, me: Holder) -> Holder | None:
        token = uuid.uuid4().hex

        def take(tx: neo4j.ManagedTransaction) -> Holder | None:
            record = tx.run(_CLAIM).single(strict=True)
            lock, now = record["lock"], record["now"]
            if lock.get("token") and (lock.get("expires_at") or 0) > now:
                holder = Holder.from_dict(lock)
                if not holder.is_dead_here():
                    return holder
            tx.run(_TAKE, holder=me.to_dict(), token=token, now=now, lease=self._lease_ms).consume()
            return None

        holder: Holder | None = self._work(take)
        if holder is None:
            self._token, self.lost = token, None
            self._stop.clear()
            self._heartbeat = threading.Thread(target=self._beat, name="lineage-writer-lease", daemon=True)
            self._heartbeat.start()
        return holder

    def _beat(self) -> None:
        every = self._lease_ms / 4000
        token, last = self._token, 0.0
        while not self._stop.wait(every):
            try:
                renewed = self._work(lambda tx: tx.run(_RENEW, token=token, lease=self._lease_ms).single(strict=True))
            except (Neo4jError, DriverError, OSError) as error:
                last += every  # the server may come back within the lease
                if last * 1000 >= self._lease_ms:
                    self.lost = f"the writer lease could not be renewed for {last:.0f} s ({error})"
                    return
                continue
            last = 0.0
            if not renewed["renewed"]:
                self.lost = "the writer lease was taken over by another writer (or its node deleted)"
                return

    def _release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        token, self._token = self._token, ""
        with contextlib.suppress(Neo4jError, DriverError, OSError):  # the lease runs out by itself
            self._work(lambda tx: tx.run(_FREE, token=token).consume())

    def check(self) -> None:
        """Refuse to write on after the lease was lost (another writer may hold it now)."""
        if self.lost is not None and self.held:
            raise GraphError(f"{self._store}: {self.lost}; stopped writing")
