"""Reads that may go to a read replica: exports and reports of closed months.

With ``DATABASE_REPLICA_URL`` set, settings add a second database alias, ``replica`` (a PostgreSQL
hot standby of the primary), and install ``ReplicaRouter``. Nothing goes there by itself: code
that reads data which no longer changes (the ledger entries of a generated statement) asks for it,
either with ``.using(reporting_db())`` on a queryset and ``connections[reporting_db()]`` for raw
SQL, or inside ``with replica_reads():``. Everything else, and every write, uses the primary, so a
page that writes and then reads never sees replication lag. Without a replica, ``reporting_db()``
is ``default`` and ``replica_reads()`` changes nothing.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


def reporting_db() -> str:
    """The alias for reads of data that no longer changes: the replica when there is one."""
    return REPLICA if has_replica() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads():
    """Inside the block, ORM reads without an explicit ``using`` go to the replica (when there is
    one); writes still go to the primary."""
    token = _replica_reads.set(True)
    try:
        yield reporting_db()
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Writes and migrations: the primary. Reads: the primary, unless inside ``replica_reads()``.
    An object read from the replica keeps reading its relations there (Django's default for an
    instance's own database)."""

    def db_for_read(self, model, **hints):
        if _replica_reads.get() and has_replica():
            return REPLICA
        return None  # Django's default: the instance's own database, else the primary

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica is a copy of the primary: an object from one may point at one from the other.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows the primary by replication; it is never migrated itself.
        return db != REPLICA
