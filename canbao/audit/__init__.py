"""The audit log: one append-only, hash-chained stream of everything done and everything read."""

from .service import record, record_reads

__all__ = ["record", "record_reads"]
