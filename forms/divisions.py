"""Administrative division codes (国家统计局 统计用区划代码): the `division` table, its import from the
CSV layout of the NBS data (provinces / cities / areas / streets / villages*.csv), and an in-memory
index that the validators use without any I/O.

Codes nest by prefix: province 2 digits, city 4, county 6 (GB/T 2260), township 9, village 12.
The shipped copy in `forms/data/divisions/` has every level down to township for the whole country and
villages only for some counties; a 12-digit code in a county whose villages are not loaded is checked
down to its township (the index says so in `village_coverage`).

The address part of a 公民身份号码 is *not* checked here: it names where the number was issued, which
may be a code abolished long ago.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from canbao import audit, clock
from canbao.actors import Actor
from canbao.errors import FieldError, Invalid, NotFound

from .models import LEVEL_LENGTH, LEVELS, Division

__all__ = [
    "DATA_DIR",
    "LEVELS",
    "Division",
    "ImportResult",
    "Index",
    "children",
    "get",
    "get_or_raise",
    "import_dir",
    "index",
    "index_from_session",
    "read_dir",
    "use",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "divisions"
LEVEL_BY_LENGTH = {n: level for level, n in LEVEL_LENGTH.items()}
LEVEL_TITLE = {
    "province": "省",
    "city": "市（地）",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "village": "村（社区）",
}
# file stem → (level, column holding the parent code)
FILES = {
    "provinces": ("province", None),
    "cities": ("city", "provinceCode"),
    "areas": ("county", "cityCode"),
    "streets": ("township", "areaCode"),
    "villages": ("village", "streetCode"),
}
_CODE = re.compile(r"[0-9]+")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f<>]")
MAX_FILE_ROWS = 2_000_000


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    level: str
    parent: str | None


# ---------------------------------------------------------------------------------------------------------
# The in-memory index


@dataclass
class Index:
    """Current division codes in memory: membership, names and the tree, for validation and pickers."""

    names: dict[str, str]
    source: str = ""
    # Counties (6 digits) whose villages are loaded: only there is a 12-digit code checked to village level.
    village_coverage: frozenset[str] = frozenset()
    _children: dict[str, list[str]] | None = field(default=None, repr=False)

    @classmethod
    def from_rows(cls, rows: Iterable[Row], *, source: str = "") -> Index:
        names = {r.code: r.name for r in rows}
        coverage = frozenset(code[:6] for code in names if len(code) == 12)
        return cls(names=names, source=source, village_coverage=coverage)

    def __contains__(self, code: object) -> bool:
        return code in self.names

    def __len__(self) -> int:
        return len(self.names)

    def name(self, code: str) -> str | None:
        return self.names.get(code)

    def level(self, code: str) -> str | None:
        return LEVEL_BY_LENGTH.get(len(code)) if code in self.names else None

    def parent(self, code: str) -> str | None:
        for n in (9, 6, 4, 2):
            if n < len(code) and code[:n] in self.names:
                return code[:n]
        return None

    def children(self, code: str | None) -> list[str]:
        """Direct children of `code` (provinces for None), in code order."""
        if self._children is None:
            tree: dict[str, list[str]] = {}
            for c in sorted(self.names):
                tree.setdefault(self.parent(c) or "", []).append(c)
            self._children = tree
        return list(self._children.get(code or "", []))

    def path(self, code: str) -> str:
        """Full name from the province down: 山东省济南市历下区解放路街道…; '' when unknown."""
        if code not in self.names:
            return ""
        parts = [self.names[code[:n]] for n in (2, 4, 6, 9) if n < len(code) and code[:n] in self.names]
        parts = [
            p for p in parts if p not in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
        ]
        return "".join([*parts, self.names[code]])

    def check(self, code: str, level: str, accept: tuple[str, ...] = ()) -> tuple[str, str] | None:
        """Why `code` is not a current division at `level` (or one of the `accept`ed levels, written in
        the 6-digit GB/T 2260 form `PP0000` / `PPCC00`), as (machine code, Chinese message); None if fine."""
        names = self.names
        if level == "village":
            if code in names:
                return None
            if code.endswith("000") and code[:9] in names:
                return "division.level", f"区划代码“{code}”是乡镇（街道），应填写到村（社区）级"
            if code[:9] in names and code[:6] not in self.village_coverage:
                return None  # villages of this county are not loaded: checked down to the township
            return "division.unknown", self._unknown(code)
        if level == "county" and len(code) == 6:
            if code in names:
                return None
            if code.endswith("0000") and "province" in accept and code[:2] in names:
                return None
            if code.endswith("00") and "city" in accept and code[:4] in names:
                return None
            return "division.unknown", self._unknown(code)
        if code in names and LEVEL_BY_LENGTH.get(len(code)) in (level, *accept):
            return None
        return "division.unknown", self._unknown(code)

    def _unknown(self, code: str) -> str:
        known = next((code[:n] for n in (9, 6, 4, 2) if n < len(code) and code[:n] in self.names), None)
        where = f"；其上级“{known}”（{self.path(known)}）存在" if known else ""
        return f"区划代码“{code}”不存在{where}（{self.source or '区划代码表'}）"


def _shipped_source() -> str:
    meta = DATA_DIR / "meta.json"
    return json.loads(meta.read_text(encoding="utf-8")).get("source", "") if meta.exists() else ""


_index: Index | None = None


def index() -> Index:
    """The index the validators use: the shipped NBS table unless `use()` installed another one."""
    global _index
    if _index is None:
        _index = Index.from_rows(read_dir(DATA_DIR), source="统计用区划代码2023")
    return _index


def use(new: Index | None) -> None:
    """Install `new` as the validators' index (None: back to the shipped table, loaded on next use)."""
    global _index
    _index = new


def index_from_session(session: Session, *, as_of: date | None = None) -> Index:
    """An index of the codes current in the database on `as_of` (today by default)."""
    day = as_of or clock.today()
    rows = session.execute(
        select(Division.code, Division.name, Division.level, Division.parent).where(
            Division.valid_from <= day, (Division.valid_to.is_(None)) | (Division.valid_to > day)
        )
    )
    return Index.from_rows((Row(*r) for r in rows), source="区划代码表")


# ---------------------------------------------------------------------------------------------------------
# Reading the CSV layout


def _files(path: Path) -> list[tuple[Path, str, str | None]]:
    found: list[tuple[Path, str, str | None]] = []
    for stem, (level, parent_col) in FILES.items():
        pattern = f"{stem}*.csv" if stem == "villages" else f"{stem}.csv"
        found.extend((file, level, parent_col) for file in sorted(path.glob(pattern)))
    return found


def read_dir(path: Path | str) -> list[Row]:
    """Every row of the division CSVs in `path`, checked: digits of the right length for the file's
    level, a name, the parent named in its column and nested by prefix, no duplicates. Raises Invalid
    naming every bad line (pointer `/<file>/<line>`) before anything is written."""
    path = Path(path)
    errors: list[FieldError] = []
    rows: list[Row] = []
    seen: set[str] = set()
    files = _files(path) if path.is_dir() else []
    if not files:
        raise Invalid(
            [FieldError("/", "divisions.no_files", f"目录 {path} 中没有区划代码文件（provinces.csv 等）")]
        )
    for file, level, parent_col in files:
        n = LEVEL_LENGTH[level]
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            needed = {"code", "name"} | ({parent_col} if parent_col else set())
            if not needed <= set(reader.fieldnames or ()):
                errors.append(
                    FieldError(f"/{file.name}", "divisions.columns", f"{file.name} 缺少列 {sorted(needed)}")
                )
                continue
            for line, rec in enumerate(reader, start=2):
                if line > MAX_FILE_ROWS:
                    errors.append(
                        FieldError(f"/{file.name}", "divisions.too_many_rows", f"{file.name} 行数过多")
                    )
                    break
                ptr = f"/{file.name}/{line}"
                code, name = (rec.get("code") or "").strip(), (rec.get("name") or "").strip()
                parent = (rec.get(parent_col) or "").strip() if parent_col else None
                if len(code) != n or not _CODE.fullmatch(code):
                    errors.append(
                        FieldError(ptr, "divisions.code", f"第{line}行：代码“{code[:20]}”应为{n}位数字")
                    )
                elif not name or len(name) > 100 or _BAD_NAME.search(name):
                    errors.append(
                        FieldError(ptr, "divisions.name", f"第{line}行：名称为空、过长或含非法字符")
                    )
                elif parent_col and (not parent or not code.startswith(parent) or parent == code):
                    errors.append(
                        FieldError(ptr, "divisions.parent", f"第{line}行：上级代码“{parent}”与代码不相符")
                    )
                elif code in seen:
                    errors.append(FieldError(ptr, "divisions.duplicate", f"第{line}行：代码“{code}”重复"))
                else:
                    seen.add(code)
                    rows.append(Row(code, name, level, parent))
                if len(errors) >= 100:
                    raise Invalid(errors, detail="区划代码文件错误过多，已停止检查")
    if errors:
        raise Invalid(errors)
    return rows


# ---------------------------------------------------------------------------------------------------------
# The table


def get(session: Session, code: str) -> Division | None:
    return session.get(Division, code)


def get_or_raise(session: Session, code: str) -> Division:
    found = session.get(Division, code)
    if found is None:
        raise NotFound(f"区划代码“{code}”不存在")
    return found


def children(session: Session, code: str | None, *, as_of: date | None = None) -> list[Division]:
    """Current direct children of `code` (the provinces for None), in code order."""
    day = as_of or clock.today()
    parent = Division.parent.is_(None) if code is None else Division.parent == code
    stmt = (
        select(Division)
        .where(parent, Division.valid_from <= day, (Division.valid_to.is_(None)) | (Division.valid_to > day))
        .order_by(Division.code)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int
    reopened: int
    closed: int
    unchanged: int
    valid_from: date

    def as_dict(self) -> dict[str, object]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "reopened": self.reopened,
            "closed": self.closed,
            "unchanged": self.unchanged,
            "valid_from": self.valid_from.isoformat(),
        }


def default_valid_from(path: Path | str) -> date:
    """The `valid_from` named in `meta.json` beside the CSVs, else today."""
    meta = Path(path) / "meta.json"
    if meta.exists():
        value = json.loads(meta.read_text(encoding="utf-8")).get("valid_from")
        if value:
            return date.fromisoformat(value)
    return clock.today()


def import_dir(
    session: Session, path: Path | str, *, actor: Actor, valid_from: date | None = None
) -> ImportResult:
    """Load the CSVs in `path` into the `division` table: new codes are inserted from `valid_from`,
    renamed ones updated, abolished ones (absent from a level the import covers) closed on
    `valid_from`, returning ones reopened. Levels whose file is missing are left alone; villages are
    closed only inside the counties the village files cover. Idempotent; the caller commits."""
    rows = read_dir(path)
    day = valid_from or default_valid_from(path)
    existing = {
        r.code: r
        for r in session.execute(select(Division.code, Division.name, Division.parent, Division.valid_to))
    }
    incoming = {r.code: r for r in rows}
    errors = [
        FieldError(
            f"/{r.level}/{r.code}", "divisions.parent_unknown", f"代码“{r.code}”的上级“{r.parent}”不存在"
        )
        for r in rows
        if r.parent and r.parent not in incoming and r.parent not in existing
    ]
    if errors:
        raise Invalid(errors[:100])

    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    reopened = unchanged = 0
    for r in rows:
        old = existing.get(r.code)
        if old is None:
            inserts.append(
                {"code": r.code, "name": r.name, "level": r.level, "parent": r.parent, "valid_from": day}
            )
        elif old.valid_to is not None:
            updates.append({"code": r.code, "name": r.name, "parent": r.parent, "valid_to": None})
            reopened += 1
        elif old.name != r.name or old.parent != r.parent:
            updates.append({"code": r.code, "name": r.name, "parent": r.parent})
        else:
            unchanged += 1

    levels = {r.level for r in rows}
    village_counties = {r.code[:6] for r in rows if r.level == "village"}
    closing = [
        {"code": code, "valid_to": day}
        for code, old in existing.items()
        if old.valid_to is None
        and code not in incoming
        and (lv := LEVEL_BY_LENGTH.get(len(code))) in levels
        and (lv != "village" or code[:6] in village_counties)
    ]

    inserts.sort(key=lambda r: LEVELS.index(str(r["level"])))
    for start in range(0, len(inserts), 5000):
        session.execute(insert(Division), inserts[start : start + 5000])
    for batch in (updates, closing):
        for start in range(0, len(batch), 5000):
            session.execute(update(Division), batch[start : start + 5000])
    result = ImportResult(
        inserted=len(inserts),
        updated=len(updates) - reopened,
        reopened=reopened,
        closed=len(closing),
        unchanged=unchanged,
        valid_from=day,
    )
    audit.record(
        session,
        actor=actor,
        action="division.import",
        object_type="division",
        object_id=day.isoformat(),
        payload={"source": Path(path).name, **result.as_dict()},
    )
    return result
