"""The rule set (规程第七条: the province sets the rules of 入库): the comparison's classification
conditions, the 入库 completeness rules and the statistics 口径, as one versioned YAML file.

`default.yaml` beside this module is today's rules and ships with the system. A province points
`CANBAO_RULES` at its own file (a setting, like the database: the file is reviewed and deployed with the
installation's configuration, and its content digest is recorded on every comparison run and statistics
build, so a changed file is visible wherever its figures are). The file is validated before use
against `schema.json` (unknown keys, types) and then semantically: every name a condition uses must be
a known fact, parameter, relation column, flag kind or reason, every condition must type-check, derived
facts must not refer to each other in a cycle, the completeness fields must exist on the 登记表, the
statistics must refer to known facts and counts. Each problem is located by file:line and JSON pointer.

Conditions are compiled to SQL (`registry.comparison.rules_sql`) that DuckDB, PostgreSQL, SQLite and
Spark SQL all run; the statistics predicates to `registry.stats.rules`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from canbao.errors import FieldError, Invalid

from . import expressions as ex

HERE = Path(__file__).resolve().parent
DEFAULT_PATH = HERE / "default.yaml"
FLAG_KINDS = ("duplicate", "inaccurate", "needs_survey")
STATUSES = ("normal", "dead", "cancelled", "moved_out")
# Facts the comparison computes for every person (registry.comparison.rules_sql), beside the scheme
# groups, `two_places_<scheme>` and relation columns the rule set declares.
BUILTIN_FACTS = {"status": "str", "any_active": "bool", "name_mismatch": "bool", "birth_mismatch": "bool"}
# Names the comparison's intermediate relations use for their own columns.
RESERVED = {"person_id", "area", "birth_date", "klass", "noted", "under_age", "dup", "inacc", "survey"}
# The statistical profile's facts (registry.stats.rules.FACTS) that counts may name.
STATS_SCHEMES = ("110", "120", "170", "210", "310", "390", "410", "510")
STATS_FACTS = (
    "hukou",
    "registered",
    "survey_open",
    "survey_closed",
    "adult",
    *(f"s{c}" for c in STATS_SCHEMES),
    "local",
    "away",
    "declared_away",
    "dup_place",
)
# counts not from the profile: cases (collected, stored) and flags (self_reported), registry.stats.rules
OTHER_COUNT_KEYS = ("collected", "stored", "self_reported")


class RuleSetInvalid(Invalid):
    code = "rules.invalid"
    title = "规则集无效"


@dataclass(frozen=True)
class Problem:
    pointer: str
    code: str
    message: str
    line: int | None = None

    def located(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.pointer or '/'}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class Reason:
    kind: str
    code: str
    label: str
    when: ex.Node


@dataclass(frozen=True)
class Klass:
    key: str
    label: str
    when: ex.Node | None


@dataclass
class Comparison:
    schemes: tuple[str, ...]
    active_status: tuple[str, ...]
    params: dict[str, Any]
    scheme_groups: dict[str, tuple[str, ...]]
    relations: dict[str, dict[str, str]]
    facts: dict[str, tuple[str, ex.Node]]  # derived facts in dependency order: name -> (type, node)
    reasons: list[Reason]
    classes: list[Klass]

    @property
    def pension_age(self) -> int:
        return int(self.params["pension_age"])

    def types(self) -> dict[str, str]:
        """Every fact a condition may name, with its type."""
        types = dict(BUILTIN_FACTS)
        types.update({g: "bool" for g in self.scheme_groups})
        types.update({f"two_places_{c}": "bool" for c in self.schemes})
        for rel, cols in self.relations.items():
            types.update({f"{rel}.{col}": t for col, t in cols.items()})
        types.update({name: t for name, (t, _) in self.facts.items()})
        return types

    def reasons_of(self, kind: str) -> list[Reason]:
        return [r for r in self.reasons if r.kind == kind]


@dataclass
class RuleSet:
    name: str
    version: str
    title: str
    document: dict[str, Any]
    sha256: str
    source: str
    comparison: Comparison
    completeness: tuple[str, ...]
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What runs and figures record: name and version (≤ 64 characters)."""
        return f"{self.name}@{self.version}"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "sha256": self.sha256,
            "source": Path(self.source).name,  # the file, not where the server keeps it
            "comparison": self.document["comparison"],
            "completeness": self.document["completeness"],
        }


# ---------------------------------------------------------------------------------------------------------
# Reading with locations


def _locations(text: str) -> dict[str, int]:
    """JSON pointer -> 1-based line of every node of the YAML document (keys point at their value)."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, pointer: str) -> None:
        lines[pointer] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = pointer + "/" + str(key.value).replace("~", "~0").replace("/", "~1")
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, f"{pointer}/{i}")

    if root is not None:
        walk(root, "")
    return lines


def _duplicate_keys(text: str) -> list[Problem]:
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return problems

    def walk(node: yaml.Node, pointer: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                child = f"{pointer}/{key.value}"
                if key.value in seen:
                    problems.append(
                        Problem(child, "rules.duplicate_key", f"键 {key.value} 重复", key.start_mark.line + 1)
                    )
                seen.add(key.value)
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, f"{pointer}/{i}")

    if root is not None:
        walk(root, "")
    return problems


@cache
def json_schema() -> dict[str, Any]:
    return json.loads((HERE / "schema.json").read_text(encoding="utf-8"))


def _pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _schema_problems(doc: Any) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(json_schema())
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        pointer = _pointer(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for key in extra:
                problems.append(Problem(f"{pointer}/{key}", "rules.unknown_field", f"未知字段：{key}"))
            continue
        if error.validator == "required":
            problems.append(
                Problem(pointer, "rules.required", f"缺少必填项：{error.message.split(chr(39))[1]}")
            )
            continue
        code = {"type": "rules.type", "enum": "rules.enum", "const": "rules.enum", "pattern": "rules.format"}
        problems.append(
            Problem(pointer, code.get(str(error.validator), f"rules.{error.validator}"), error.message)
        )
    return problems


# ---------------------------------------------------------------------------------------------------------
# Semantic checks and compilation


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle among the derived facts (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _compile_comparison(doc: dict[str, Any], problems: list[Problem]) -> Comparison:
    schemes = tuple(doc["schemes"])
    params = dict(doc["params"])
    groups = {k: tuple(v) for k, v in doc["scheme_groups"].items()}
    relations = {k: dict(v["columns"]) for k, v in (doc.get("relations") or {}).items()}
    base = "/comparison"
    for name, codes in groups.items():
        for i, code in enumerate(codes):
            if code not in schemes:
                problems.append(
                    Problem(
                        f"{base}/scheme_groups/{name}/{i}",
                        "rules.unknown_scheme",
                        f"险种 {code} 不在 schemes 中",
                    )
                )
    taken = {**BUILTIN_FACTS, **dict.fromkeys(params, "param"), **dict.fromkeys(groups, "group")}
    for where, names in (("scheme_groups", groups), ("relations", relations)):
        for name in names:
            if name in RESERVED or (where == "scheme_groups" and (name in BUILTIN_FACTS or name in params)):
                problems.append(
                    Problem(f"{base}/{where}/{name}", "rules.name_taken", f"名称 {name} 已被占用")
                )
    raw_facts: dict[str, str] = dict(doc.get("facts") or {})
    parsed: dict[str, ex.Node] = {}
    for name, text in raw_facts.items():
        pointer = f"{base}/facts/{name}"
        if name in taken or name in RESERVED or name.startswith("two_places_"):
            problems.append(Problem(pointer, "rules.name_taken", f"名称 {name} 已被占用"))
            continue
        try:
            parsed[name] = ex.parse(text)
        except ex.ExprError as err:
            problems.append(Problem(pointer, err.code, err.message))
    graph = {name: ex.names(node) & set(parsed) for name, node in parsed.items()}
    cycle = _cycle(graph)
    while cycle:
        problems.append(
            Problem(f"{base}/facts/{cycle[0]}", "rules.cycle", "派生事实循环引用：" + " → ".join(cycle))
        )
        # the facts of the cycle stand as booleans of their own, so that the rest is still checked
        for name in cycle:
            parsed[name] = ex.Node("bool", False)
            graph[name] = set()
        cycle = _cycle(graph)
    comparison = Comparison(schemes, tuple(doc["active_status"]), params, groups, relations, {}, [], [])
    # type-check in dependency order, each fact seeing those it depends on
    done: set[str] = set()

    def settle(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for dep in sorted(graph[name]):
            settle(dep)
        scope = ex.Scope(types=comparison.types(), params=params, cutoff=str)
        try:
            comparison.facts[name] = (ex.type_of(parsed[name], scope), parsed[name])
        except ex.ExprError as err:
            problems.append(Problem(f"{base}/facts/{name}", err.code, err.message))
            comparison.facts[name] = ("bool", ex.Node("bool", False))

    for name in parsed:
        settle(name)
    types = comparison.types()
    scope = ex.Scope(types=types, params=params, cutoff=str)
    seen_codes: set[str] = set()
    for kind, items in (doc.get("flags") or {}).items():
        for i, item in enumerate(items):
            pointer = f"{base}/flags/{kind}/{i}"
            expand = item.get("each_scheme", False)
            if expand != ("{scheme}" in item["code"]):
                problems.append(
                    Problem(
                        f"{pointer}/code",
                        "rules.each_scheme",
                        "each_scheme 为真时原因代码须含 {scheme}，反之不得含",
                    )
                )
                continue
            for scheme in schemes if expand else (None,):
                code = item["code"].replace("{scheme}", scheme or "")
                text = item["when"].replace("{scheme}", scheme or "")
                if code in seen_codes:
                    problems.append(
                        Problem(f"{pointer}/code", "rules.duplicate_reason", f"原因代码 {code} 重复")
                    )
                seen_codes.add(code)
                try:
                    node = ex.parse(text)
                    if ex.type_of(node, scope) != "bool":
                        raise ex.ExprError("expr.type", "条件应为布尔值")
                except ex.ExprError as err:
                    problems.append(Problem(f"{pointer}/when", err.code, err.message))
                    break
                comparison.reasons.append(Reason(kind, code, item.get("label", code), node))
    class_scope = ex.Scope(
        types=types,
        params=params,
        cutoff=str,
        allow_flag_calls=True,
        flags={k: "" for k in FLAG_KINDS},
        reasons={r.code: "" for r in comparison.reasons},
    )
    classes = doc["classes"]
    keys: set[str] = set()
    for i, item in enumerate(classes):
        pointer = f"{base}/classes/{i}"
        if item["key"] in keys:
            problems.append(Problem(f"{pointer}/key", "rules.duplicate_class", f"分类 {item['key']} 重复"))
        keys.add(item["key"])
        last = i == len(classes) - 1
        if last != ("when" not in item):
            problems.append(
                Problem(
                    pointer, "rules.default_class", "最后一个分类为默认分类，不带条件；其余分类必须有条件"
                )
            )
            continue
        node = None
        if not last:
            try:
                node = ex.parse(item["when"])
                if ex.type_of(node, class_scope) != "bool":
                    raise ex.ExprError("expr.type", "条件应为布尔值")
            except ex.ExprError as err:
                problems.append(Problem(f"{pointer}/when", err.code, err.message))
                continue
        comparison.classes.append(Klass(item["key"], item["label"], node))
    return comparison


def _check_completeness(doc: dict[str, Any], problems: list[Problem]) -> tuple[str, ...]:
    import forms

    for i, pointer in enumerate(doc["required"]):
        if forms.field_schema("registration", pointer) is None:
            problems.append(
                Problem(f"/completeness/required/{i}", "rules.unknown_field", f"登记表没有字段 {pointer}")
            )
    return tuple(doc["required"])


def _check_statistics(doc: dict[str, Any], problems: list[Problem]) -> None:
    facts = set(STATS_FACTS)
    keys: set[str] = set()
    for i, count in enumerate(doc["counts"]):
        base = f"/statistics/counts/{i}"
        if count["key"] in keys:
            problems.append(Problem(f"{base}/key", "rules.duplicate_count", f"指标 {count['key']} 重复"))
        keys.add(count["key"])
        alternatives = count["where"] if isinstance(count["where"], list) else [count["where"]]
        for j, p in enumerate(alternatives):
            at = f"{base}/where" + (f"/{j}" if isinstance(count["where"], list) else "")
            named = [("all_of", k, n) for k, n in enumerate(p.get("all_of", []))]
            named += [("none_of", k, n) for k, n in enumerate(p.get("none_of", []))]
            named += [
                (f"any_of/{g}", k, n) for g, grp in enumerate(p.get("any_of", [])) for k, n in enumerate(grp)
            ]
            for where, k, name in named:
                if name not in facts:
                    problems.append(
                        Problem(f"{at}/{where}/{k}", "rules.unknown_field", f"未知统计事实：{name}")
                    )
    for i, rate in enumerate(doc["rates"]):
        for part in ("numerator", "denominator"):
            if rate[part] not in keys and rate[part] not in OTHER_COUNT_KEYS:
                problems.append(
                    Problem(f"/statistics/rates/{i}/{part}", "rules.unknown_field", f"未知指标：{rate[part]}")
                )


def parse(text: str, *, source: str = "<rules>") -> tuple[RuleSet | None, list[Problem]]:
    """The rule set in `text`, or None and every problem found (each with its line where known)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        return None, [Problem("", "rules.syntax", f"YAML 语法错误：{err}", mark.line + 1 if mark else None)]
    lines = _locations(text)
    problems = _duplicate_keys(text) + _schema_problems(doc)
    # An unknown key leaves the structure intact: the sections without other schema errors are still
    # checked, so that one run names every problem.
    blocking = [p for p in problems if p.code not in ("rules.unknown_field", "rules.duplicate_key")]

    def clean(section: str) -> bool:
        return not any(p.pointer == "" or p.pointer.startswith(f"/{section}") for p in blocking)

    rule_set = None
    if isinstance(doc, dict):
        comparison = _compile_comparison(doc["comparison"], problems) if clean("comparison") else None
        completeness = _check_completeness(doc["completeness"], problems) if clean("completeness") else ()
        if clean("statistics"):
            _check_statistics(doc["statistics"], problems)
        if not problems and comparison is not None:
            canonical = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            rule_set = RuleSet(
                name=doc["name"],
                version=str(doc["version"]),
                title=doc.get("title", ""),
                document=doc,
                sha256=hashlib.sha256(canonical.encode()).hexdigest(),
                source=source,
                comparison=comparison,
                completeness=completeness,
                statistics=doc["statistics"],
            )
    located = []
    for p in problems:
        line = p.line or _line_of(lines, p.pointer)
        located.append(Problem(p.pointer, p.code, p.message, line))
    return (None if located else rule_set), located


def _line_of(lines: dict[str, int], pointer: str) -> int | None:
    while True:
        if pointer in lines:
            return lines[pointer]
        if not pointer:
            return None
        pointer = pointer.rsplit("/", 1)[0]


def load(path: Path | str) -> RuleSet:
    """The rule set in the file at `path`; RuleSetInvalid naming every problem (file:line, pointer)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleSetInvalid(
            [FieldError("", "rules.unreadable", f"{path}: 无法读取规则集：{err}")],
            detail=f"无法读取规则集 {path}",
        ) from None
    rule_set, problems = parse(text, source=str(path))
    if rule_set is None:
        raise RuleSetInvalid(
            [FieldError(p.pointer, p.code, p.located(path.name)) for p in problems],
            detail=f"规则集 {path.name} 有 {len(problems)} 处错误："
            + "；".join(p.located(path.name) for p in problems[:5]),
        )
    return rule_set


@cache
def default() -> RuleSet:
    return load(DEFAULT_PATH)


@cache
def _load_cached(path: str) -> RuleSet:
    return load(path)


def active() -> RuleSet:
    """The rule set in force: the file named by CANBAO_RULES, else the default. Read once per process
    (the statistics take theirs at start), so that a file edited in place takes effect on restart, for
    comparison and statistics alike."""
    path = os.environ.get("CANBAO_RULES") or ""
    return _load_cached(path) if path else default()


def missing_fields(rule_set: RuleSet, registration: dict[str, Any]) -> list[FieldError]:
    """The 入库 completeness rules: each required field of the 登记表 that is absent or blank (an empty
    list is an answer: no 险种)."""
    errors = []
    for pointer in rule_set.completeness:
        value: Any = registration
        for part in pointer.strip("/").split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(
                FieldError(
                    pointer, "registration.incomplete", f"{pointer}：入库规则 {rule_set.label} 要求必填"
                )
            )
    return errors


def flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    """Leaf values by JSON pointer (for `diff`)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{pointer}/{k}"))
        return out or {pointer: {}}
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{pointer}/{i}"))
        return out
    return {pointer: value}


def diff(old: RuleSet, new: RuleSet) -> list[dict[str, Any]]:
    """The leaves that differ between two rule sets: added, removed, changed."""
    a, b = flatten(old.document), flatten(new.document)
    out = []
    for pointer in sorted(set(a) | set(b)):
        if pointer not in a:
            out.append({"pointer": pointer, "change": "added", "new": b[pointer]})
        elif pointer not in b:
            out.append({"pointer": pointer, "change": "removed", "old": a[pointer]})
        elif a[pointer] != b[pointer]:
            out.append({"pointer": pointer, "change": "changed", "old": a[pointer], "new": b[pointer]})
    return out
