"""Code lists (代码表) as data: one JSON file per list in `forms/data/codes/`.

Every list names its code system (`mohrss:AAE140`, `gb:3304`, `canbao-local:…`) and version, and says
whether it is a published standard checked against the standard's text (`standard: true`, with the
evidence in `source`) or not (`standard: false`): a local list, or the codes of a national system taken
from the code bases that use them while the standard itself was not seen (`source` says which). A single
code may override the list's system (险种 390 is an NHSA code inside the MOHRSS 险种 list), so a stored
code is never a bare "410": use `Code.qualified`.

Lists that are not standard are replaced by files of the same name in the directory named by
`CANBAO_CODES_DIR` (keeping the codes the rules name); standard lists cannot be replaced that way.
Loading happens once per process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from canbao.errors import NotFound

DATA_DIR = Path(__file__).resolve().parent / "data" / "codes"


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    system: str

    @property
    def qualified(self) -> str:
        """The code with its system, as stored and exchanged: `mohrss:AAE140:110`."""
        return f"{self.system}:{self.code}"


@dataclass(frozen=True)
class CodeList:
    key: str
    title: str
    system: str
    version: str
    standard: bool
    source: str
    codes: tuple[Code, ...]
    # Named subsets a rule depends on (e.g. `active` 参保状态, `other` 未参保原因 that needs a text).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {c.code: c for c in self.codes})

    def __contains__(self, code: object) -> bool:
        return code in self._by_code  # type: ignore[attr-defined]

    def get(self, code: str) -> Code | None:
        return self._by_code.get(code)  # type: ignore[attr-defined]

    def label(self, code: str) -> str | None:
        found = self.get(code)
        return found.label if found else None

    def values(self) -> frozenset[str]:
        return frozenset(self._by_code)  # type: ignore[attr-defined]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "system": self.system,
            "version": self.version,
            "standard": self.standard,
            "source": self.source,
            "codes": [{"code": c.code, "label": c.label, "system": c.system} for c in self.codes],
        }


class CodeListError(ValueError):
    """A code-list file that cannot be used (raised at load time, never during validation)."""


def _parse(raw: dict[str, Any], origin: str) -> CodeList:
    try:
        key, system = str(raw["key"]), str(raw["system"])
        codes = tuple(
            Code(code=str(c["code"]), label=str(c["label"]), system=str(c.get("system", system)))
            for c in raw["codes"]
        )
        known = {"key", "title", "system", "version", "standard", "source", "codes"}
        result = CodeList(
            key=key,
            title=str(raw["title"]),
            system=system,
            version=str(raw["version"]),
            standard=bool(raw["standard"]),
            source=str(raw.get("source", "")),
            codes=codes,
            extra={k: v for k, v in raw.items() if k not in known},
        )
    except (KeyError, TypeError) as exc:
        raise CodeListError(f"{origin}: 代码表格式错误（{exc!r}）") from exc
    if not codes or len({c.code for c in codes}) != len(codes):
        raise CodeListError(f"{origin}: 代码表为空或有重复代码")
    return result


def _read_dir(path: Path) -> dict[str, CodeList]:
    lists: dict[str, CodeList] = {}
    for file in sorted(path.glob("*.json")):
        parsed = _parse(json.loads(file.read_text(encoding="utf-8")), str(file))
        if parsed.key != file.stem:
            raise CodeListError(f"{file}: key {parsed.key!r} 与文件名不一致")
        lists[parsed.key] = parsed
    return lists


def _rule_codes(lst: CodeList) -> set[str]:
    """Codes that the validation rules name (the `active` statuses, the `other` reason, …)."""
    found: set[str] = set()
    for value in lst.extra.values():
        found.update([value] if isinstance(value, str) else value if isinstance(value, list) else [])
    return found


@cache
def _all() -> dict[str, CodeList]:
    lists = _read_dir(DATA_DIR)
    override = os.environ.get("CANBAO_CODES_DIR")
    if override:
        for key, replacement in _read_dir(Path(override)).items():
            if key in lists and lists[key].standard:
                raise CodeListError(f"标准代码表 {key} 不能被本地配置替换")
            if key in lists:
                missing = _rule_codes(lists[key]) - replacement.values()
                if missing:
                    raise CodeListError(f"本地代码表 {key} 缺少规则依赖的代码 {sorted(missing)}")
                replacement.extra.update(
                    {k: v for k, v in lists[key].extra.items() if k not in replacement.extra}
                )
            lists[key] = replacement
    return lists


def keys() -> list[str]:
    return sorted(_all())


def get(key: str) -> CodeList:
    """The whole list `key`, or NotFound."""
    try:
        return _all()[key]
    except KeyError:
        raise NotFound(f"代码表 {key} 不存在") from None


def label(key: str, code: str) -> str | None:
    """The Chinese label of `code` in list `key` (None when the code is not in the list)."""
    return get(key).label(code)


def qualified(key: str, code: str) -> str | None:
    found = get(key).get(code)
    return found.qualified if found else None


def choices(key: str) -> list[dict[str, str]]:
    """The list as JSON Schema choices, for a select: `[{"const": code, "title": label}, …]`."""
    return [{"const": c.code, "title": c.label} for c in get(key).codes]
