"""Which source wins for which person field (the declared table in departments.toml, `[precedence]`).

A field's current holder is the source of its `person_field` row while the value there is still the
person's value; once a case, an exchange or the 公安 population file has changed a `person` column since,
the registry (登记库) holds it. A record replaces the held value when its source ranks above the
holder, or is the holder and its record is not older than the held one; a source ranking below the
holder changes nothing, however new its record. A record no newer than the one of its source that the
registry has since changed (a case corrected a 误报) is not applied again.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

REGISTRY = "登记库"
TABLE_FILE = Path(__file__).with_name("departments.toml")
TURN_LOCK = 0x63626470  # "cbdp": the PostgreSQL advisory lock that writers of weighed fields take in turn


def take_turn(session: Session) -> None:
    """Wait for the other imports that weigh fields against their holders (department files, and the 公安
    file for the status) to commit: each then weighs against what the one before wrote. SQLite's
    writers take turns anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(TURN_LOCK)))


@cache
def declared() -> dict[str, Any]:
    with TABLE_FILE.open("rb") as fh:
        return tomllib.load(fh)


def sources() -> dict[str, str]:
    return dict(declared()["sources"])


def table() -> dict[str, list[str]]:
    return {field: list(order) for field, order in declared()["precedence"].items()}


def rank(field: str, source: str) -> int | None:
    """The source's place for the field (0 strongest), or None when it may not write the field."""
    order = declared()["precedence"].get(field, [])
    return order.index(source) if source in order else None


def stronger_than(field: str, source: str) -> list[str]:
    """The sources that outrank `source` for `field`."""
    order = declared()["precedence"].get(field, [])
    return order[: order.index(source)] if source in order else list(order)


def wins(
    field: str, source: str, recorded_on: date | None, *, holder: str | None, held_on: date | None
) -> bool:
    """Whether a record of `source` dated `recorded_on` replaces what `holder` holds (dated `held_on`)."""
    mine = rank(field, source)
    if mine is None:
        return False
    if holder is None:
        return True
    theirs = rank(field, holder)
    if theirs is None or mine < theirs:
        return True
    if mine > theirs:
        return False
    return held_on is None or recorded_on is None or recorded_on >= held_on


def describe() -> dict[str, Any]:
    """The table as the API shows it."""
    labels = declared().get("labels", {})
    names = sources()
    return {
        "sources": [{"source": key, "label": label} for key, label in names.items()],
        "fields": [
            {"field": field, "label": labels.get(field, field), "sources": order}
            for field, order in table().items()
        ],
    }
