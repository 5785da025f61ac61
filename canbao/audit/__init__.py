"""The audit log: one append-only, hash-chained stream of everything done and everything read."""

from .service import record

__all__ = ["record"]
