"""Reports (第三十条: 报表及对应人员明细) as XLSX and CSV: a title row, the area, the as-of day and the
rule version, one row per child division, a total row that is the sum of the rows, optionally a sheet
with the persons behind a figure, and a sheet with the rule set's definitions. Every export is an
audit event naming exactly what was exported (area, day, rule version, indicator): the figures are
reproducible, so the event identifies the persons too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.errors import FieldError, Invalid, NotFound

from . import queries, rules

REPORTS = {
    "coverage": "全民参保登记情况统计表",
    "unenrolled-reasons": "未参保原因统计表",
    "survey-teams": "入户调查进度表",
}
DETAIL_DEFAULT = {"coverage": "target", "unenrolled-reasons": "uninsured"}
DETAIL_COLUMNS = (
    ("id_number", "社会保障号码"),
    ("name", "姓名"),
    ("sex", "性别"),
    ("birth_date", "出生日期"),
    ("area", "管理区划"),
    ("area_name", "管理区划名称"),
    ("hukou_division", "户口所在地区划"),
    ("residence_division", "常住所在地区划"),
    ("status", "生存/户籍管理状态"),
    ("schemes", "D日有效险种"),
    ("facts", "统计特征"),
    ("uninsured_reason_label", "未参保原因"),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportNotFound(NotFound):
    code = "report.not_found"
    title = "报表不存在"


@dataclass
class Table:
    title: str
    meta: dict[str, Any]
    columns: list[dict[str, Any]]  # key, label, kind (count / rate / text)
    rows: list[dict[str, Any]]
    total: dict[str, Any]


def _table(session: Session, name: str, sc: queries.Scope) -> Table:
    head = [
        {"key": "code", "label": "区划代码", "kind": "text"},
        {"key": "name", "label": "区划名称", "kind": "text"},
    ]
    if name == "coverage":
        data = queries.coverage(session, sc=sc)
        return Table(REPORTS[name], data, head + data["columns"], data["rows"], data["total"])
    if name == "unenrolled-reasons":
        data = queries.unenrolled_reasons(session, sc=sc)
        cols = [{"key": "uninsured", "label": "未参保人数", "kind": "count"}] + [
            {"key": f"reason:{c['key']}", "label": c["label"], "kind": "count"} for c in data["reasons"]
        ]

        def flat(row: dict[str, Any]) -> dict[str, Any]:
            return {**row, **{f"reason:{k}": n for k, n in row["reasons"].items()}}

        return Table(REPORTS[name], data, head + cols, [flat(r) for r in data["rows"]], flat(data["total"]))
    data = queries.survey_teams(session, sc=sc)
    cols = [
        {"key": "team_id", "label": "小组编号", "kind": "text"},
        {"key": "name", "label": "小组名称", "kind": "text"},
        {"key": "code", "label": "区划代码", "kind": "text"},
        {"key": "area_name", "label": "区划名称", "kind": "text"},
        {"key": "members", "label": "成员数", "kind": "count"},
    ] + [{**c, "kind": c["kind"]} for c in data["columns"]]
    total = {**data["total"], "name": "合计", "members": sum(r["members"] for r in data["rows"])}
    return Table(REPORTS[name], data, cols, data["rows"], total)


def _meta_line(t: Table) -> str:
    area = t.meta["area"]
    where = f"{area['name']}（{area['code']}）" if area["code"] else "全国"
    status = "提议，待确认" if t.meta["rule_status"] == "proposal" else "正式"
    return (
        f"区划：{where}    统计日期：{t.meta['as_of']}    "
        f"分组：{queries.LEVEL_TITLES.get(t.meta['by'], '')}    "
        f"统计口径：{t.meta['rule_version']}（{status}）    "
        f"规则集：{t.meta.get('rule_set', '')}    "
        f"生成时间：{datetime.now(queries.TZ):%Y-%m-%d %H:%M}（北京时间）"
    )


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value


def _detail_value(item: dict[str, Any], key: str, mask: Callable[[Any], Any]) -> Any:
    return _cell(mask(item).get(key))


def to_xlsx(t: Table, details: list[dict[str, Any]] | None, mask: Callable[[Any], Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "统计表"
    width = len(t.columns)
    ws.append([t.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(width, 1))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([_meta_line(t)])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=max(width, 1))
    ws.append([c["label"] for c in t.columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in [*t.rows, {**t.total, "name": t.total.get("name") or "合计", "code": t.total.get("code", "")}]:
        ws.append([_cell(row.get(c["key"])) for c in t.columns])
    last = ws.max_row
    for cell in ws[last]:
        cell.font = Font(bold=True)
    for i, col in enumerate(t.columns, start=1):
        if col["kind"] == "rate":
            for r in range(4, last + 1):
                ws.cell(row=r, column=i).number_format = "0.00%"
        ws.column_dimensions[get_column_letter(i)].width = 14 if col["kind"] != "text" else 18
    ws.freeze_panes = "C4"
    if details is not None:
        sheet = wb.create_sheet("人员明细")
        sheet.append([label for _, label in DETAIL_COLUMNS])
        for item in details:
            sheet.append([_detail_value(item, key, mask) for key, _ in DETAIL_COLUMNS])
    defs = wb.create_sheet("统计口径")
    defs.append(["指标", "名称", "定义"])
    described = rules.describe()
    for item in described["counts"]:
        defs.append([item["key"], item["label"], item["definition"]])
    for item in described["rates"]:
        defs.append([item["key"], item["label"], item["definition"]])
    defs.append(["as_of", "统计日期", described["as_of"]])
    defs.append(["version", "口径版本", f"{described['version']}：{described['status_note']}"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(t: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([t.title])
    writer.writerow([_meta_line(t)])
    writer.writerow([c["label"] for c in t.columns])
    for row in [*t.rows, {**t.total, "name": t.total.get("name") or "合计"}]:
        writer.writerow(["" if row.get(c["key"]) is None else _cell(row.get(c["key"])) for c in t.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export(
    session: Session,
    *,
    actor: Actor,
    name: str,
    fmt: str,
    sc: queries.Scope,
    details: bool = False,
    indicator: str | None = None,
    mask: Callable[[Any], Any] = lambda v: v,
) -> tuple[bytes, str, str]:
    """The report `name` as `fmt` ("xlsx" or "csv"): (content, filename, media type), the persons in
    its details as `mask` shows them to the actor. Audited."""
    if name not in REPORTS:
        raise ReportNotFound(f"报表 {name} 不存在（可用：{'、'.join(REPORTS)}）")
    errors = []
    if details and name not in DETAIL_DEFAULT:
        errors.append(FieldError("/details", "details.unsupported", "该报表没有人员明细"))
    if details and fmt != "xlsx":
        errors.append(FieldError("/details", "details.format", "人员明细只随XLSX报表提供（第二个工作表）"))
    if errors:
        raise Invalid(errors)
    table = _table(session, name, sc)
    people = None
    chosen = indicator or DETAIL_DEFAULT.get(name)
    if details:
        listing = queries.persons(
            session, actor=actor, sc=sc, indicator=chosen, limit=queries.MAX_DETAIL_ROWS, purpose="export"
        )
        if listing["next_offset"] is not None:
            raise Invalid(
                [
                    FieldError(
                        "/area", "details.too_many", f"明细超过{queries.MAX_DETAIL_ROWS}人，请选择更小的区划"
                    )
                ]
            )
        people = listing["items"]
    content = to_xlsx(table, people, mask) if fmt == "xlsx" else to_csv(table)
    audit.record(
        session,
        actor=actor,
        action="report.export",
        object_type="report",
        object_id=name,
        payload={
            "format": fmt,
            "area": sc.area,
            "as_of": sc.as_of.isoformat(),
            "by": sc.by,
            "rule_version": rules.RULE_VERSION,
            "rule_set": rules.RULE_SET.label,
            "rows": len(table.rows),
            "details_indicator": chosen if details else None,
            "details_count": len(people) if people is not None else 0,
            "bytes": len(content),
        },
        area=sc.area,
    )
    filename = f"{name}_{sc.area or 'all'}_{sc.as_of:%Y%m%d}.{fmt}"
    return content, filename, XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
