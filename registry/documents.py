"""Printable survey documents: the pre-filled 全民参保登记表 (附件1) per person as PDF, and the
全民参保登记个人信息汇总表 (附件2) per community as XLSX. Both are audited exports of personal data."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from canbao import audit, clock
from canbao.actors import Actor
from canbao.errors import FieldError, Invalid

from . import checks, survey
from .common import require_reach
from .pdf import Document, Page
from .persons import REASON_ITEMS, as_registration, get_or_raise, open_flags

MAX_PER_DOCUMENT = 2000
SCHEME_TITLES = {
    "110": "企业职工基本养老保险",
    "120": "机关事业单位养老保险",
    "170": "城乡居民基本养老保险",
    "210": "失业保险",
    "310": "职工基本医疗保险",
    "390": "城乡居民基本医疗保险",
    "410": "工伤保险",
    "510": "生育保险",
}


def _label(key: str, code: str | None) -> str:
    return checks.code_label(key, code) if code else ""


def _place(division: str | None, address: str | None) -> str:
    path = checks.division_path(division) if division else ""
    return "".join(x for x in (path or (division or ""), address or "") if x)


def _form_page(page: Page, reg: dict[str, Any], reasons: list[str]) -> None:
    left, right, top = 42.0, 553.0, 60.0
    width = right - left
    page.text_center(left, top, width, "全民参保登记表", 18)
    village = (reg.get("residence") or {}).get("division") or (reg.get("hukou") or {}).get("division")
    page.text(left, top + 24, f"调查地区：{checks.division_path(village) or village or ''}", 9)
    page.text(right - 150, top + 24, f"打印日期：{clock.today().isoformat()}", 9)
    y = top + 34
    row_h = 22.0
    label_w = 86.0
    half = width / 2

    def cell_row(cells: list[tuple[str, str]], height: float = row_h) -> None:
        nonlocal y
        x = left
        span = width / len(cells)
        for label, value in cells:
            page.rect(x, y, label_w, height)
            page.rect(x + label_w, y, span - label_w, height)
            page.text_fit(x + 4, y + height / 2 + 4, label_w - 8, label, 9.5)
            page.text_fit(x + label_w + 4, y + height / 2 + 4, span - label_w - 8, value or "", 10)
            x += span
        y += height

    sex = {"1": "男", "2": "女"}.get(reg.get("sex") or "", "")
    cell_row([("姓名", reg.get("name") or ""), ("性别", sex)])
    cell_row(
        [
            ("社会保障号码", reg.get("ss_number") or reg.get("id_number") or ""),
            ("出生日期", reg.get("birth_date") or ""),
        ]
    )
    if reg.get("ss_number"):  # the document is not a 居民身份证 (forms/ssnumber.py)
        cell_row(
            [("证件类型", _label("id_type", reg.get("id_type"))), ("证件号码", reg.get("id_number") or "")]
        )
    hukou, residence = reg.get("hukou") or {}, reg.get("residence") or {}
    cell_row(
        [
            ("民族", _label("ethnicity", reg.get("ethnicity"))),
            ("户口性质", _label("hukou_nature", hukou.get("nature"))),
        ]
    )
    cell_row([("户口所在地", _place(hukou.get("division"), hukou.get("address")))])
    cell_row([("常住所在地", _place(residence.get("division"), residence.get("address")))])
    employment = reg.get("employment") or {}
    cell_row(
        [
            ("联系电话", reg.get("phone") or ""),
            ("就业状态", _label("employment_status", employment.get("status"))),
        ]
    )
    cell_row([("就业单位", employment.get("employer") or "")])
    # 现参保情况
    page.rect(left, y, width, row_h)
    page.text_center(left, y + 15, width, "现参保情况（请核对，有误处直接更正）", 10)
    y += row_h
    cols = [("险种", 170.0), ("参保状态", 85.0), ("参保地", 150.0), ("首次参保日期", width - 405.0)]
    x = left
    for title, w in cols:
        page.rect(x, y, w, row_h)
        page.text_center(x, y + 15, w, title, 9.5)
        x += w
    y += row_h
    by_scheme = {}
    for item in reg.get("insurance") or []:
        by_scheme.setdefault(item["scheme"], item)
    for code, title in SCHEME_TITLES.items():
        item = by_scheme.get(code) or {}
        values = [
            title,
            _label("enrollment_status", item.get("status")) if item else "",
            checks.division_path(item.get("place")) or (item.get("place") or "") if item else "",
            item.get("first_date") or "",
        ]
        x = left
        for (_, w), value in zip(cols, values, strict=True):
            page.rect(x, y, w, 18)
            page.text_fit(x + 4, y + 13, w - 8, value, 9)
            x += w
        y += 18
    reason = reg.get("uninsured_reason") or {}
    cell_row(
        [
            (
                "未参保原因",
                _label("uninsured_reason", reason.get("code"))
                + (f"（{reason['text']}）" if reason.get("text") else ""),
            )
        ]
    )
    page.rect(left, y, label_w, row_h)
    page.rect(left + label_w, y, width - label_w, row_h)
    page.text(left + 4, y + 15, "异地参保", 9.5)
    elsewhere = reg.get("insured_elsewhere")
    page.checkbox(left + label_w + 8, y + 15, elsewhere is True)
    page.text(left + label_w + 20, y + 15, "是", 10)
    page.checkbox(left + label_w + 50, y + 15, elsewhere is False)
    page.text(left + label_w + 62, y + 15, "否", 10)
    y += row_h
    guardian = reg.get("guardian") or {}
    cell_row(
        [
            (
                "监护人（未满16周岁填写）",
                " ".join(str(guardian.get(k) or "") for k in ("name", "relation", "phone")).strip(),
            )
        ]
    )
    # 需核实事项
    notes = [REASON_ITEMS.get(r, ("", r))[1] for r in reasons]
    box_h = max(row_h, 14.0 * len(notes) + 8)
    page.rect(left, y, label_w, box_h)
    page.rect(left + label_w, y, width - label_w, box_h)
    page.text(left + 4, y + 15, "需核实事项", 9.5)
    for i, note in enumerate(notes):
        page.text_fit(left + label_w + 4, y + 14 + 14 * i, width - label_w - 8, f"{i + 1}. {note}", 9)
    y += box_h + 24
    page.text(left, y, "被调查人（监护人）签名：________________", 10)
    page.text(left + half, y, "调查日期：______年____月____日", 10)
    y += 26
    page.text(left, y, "调查员签名：________________  调查证号：________________", 10)
    y += 26
    page.text(left, y, "调查员签名：________________  调查证号：________________", 10)
    page.text(left, 800, "本表依据《全民参保登记经办规程（试行）》第十七条生成；所填个人信息依法保密。", 8)


def registration_pdf(
    session: Session, *, actor: Actor, id_numbers: list[str], mask: Callable[[Any], Any]
) -> bytes:
    """The pre-filled 全民参保登记表, one A4 page per person, for printing before the household visit;
    personal data as `mask` shows it to the actor."""
    if not id_numbers:
        raise Invalid([FieldError("/id_numbers", "id_numbers.empty", "请至少选择一名人员")])
    if len(id_numbers) > MAX_PER_DOCUMENT:
        raise Invalid(
            [FieldError("/id_numbers", "id_numbers.too_many", f"一次最多打印 {MAX_PER_DOCUMENT} 人")]
        )
    doc = Document(title="全民参保登记表")
    printed = []
    for id_number in id_numbers:
        person = get_or_raise(session, id_number=id_number)
        require_reach(actor, person.area)
        reasons = [r for f in open_flags(session, person.id) for r in f.reasons.split()]
        _form_page(doc.page(), mask(as_registration(session, person)), reasons)
        printed.append((person.id, person.area))
    audit.record_reads(
        session,
        actor=actor,
        shown=((pid, area, None) for pid, area in printed),
        purpose="registration_form_print",
    )
    return doc.render()


def village_pdf(session: Session, *, actor: Actor, village: str, mask: Callable[[Any], Any]) -> bytes:
    """Pre-filled forms for everyone on the survey list of one village/community."""
    persons = survey.list_persons(
        session,
        actor=actor,
        area=village[:6] if actor.reaches(village[:6]) else village,
        village=village,
        limit=MAX_PER_DOCUMENT,
    )
    return registration_pdf(session, actor=actor, id_numbers=[p["id_number"] for p in persons], mask=mask)


def summary_xlsx(
    session: Session,
    *,
    actor: Actor,
    village: str,
    mask: Callable[[Any], Any],
    surveyed: Sequence[survey.Surveyed] = (),
    since: date | None = None,
    until: date | None = None,
) -> bytes:
    """附件2 全民参保登记个人信息汇总表 of one village/community, which serves as its 统一登记台账 (第十九条):
    first everyone `surveyed` there from `since` to `until` — stored or not, the 登记表 as collected with its
    调查日期, 调查小组 and 调查员, and in 备注 where the case stands — then whoever of its survey list is
    still to be visited. One row each, with the columns of the `summary_row` form; personal data as
    `mask` shows it to the actor."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    import forms

    require_reach(actor, village)
    listed = survey.list_persons(session, actor=actor, area=village, village=village, limit=100_000)
    rows = []
    for entry in surveyed:
        row = forms.summary_row_from(entry.registration, seq=len(rows) + 1, remarks=entry.result)
        rows.append(row | ({"survey_team": entry.team} if entry.team else {}))
    visited = {entry.person_id for entry in surveyed}
    for entry in listed:
        if entry["id_number"] in visited:
            continue
        person = get_or_raise(session, id_number=entry["id_number"])
        reg = as_registration(session, person)
        reg["insurance"] = [{"scheme": i["scheme"], "status": i["status"]} for i in reg["insurance"]]
        reasons = "；".join(REASON_ITEMS.get(r, ("", r))[1] for rs in entry["flags"].values() for r in rs)
        rows.append(forms.summary_row_from(reg, seq=len(rows) + 1, remarks=f"待调查：{reasons}"))
    audit.record_reads(
        session,
        actor=actor,
        shown=((entry.person_id, village, entry.case_id) for entry in surveyed),
        purpose="survey_ledger",
    )

    properties = forms.get("summary_row")["properties"]
    keys = list(properties)
    wb = Workbook()
    ws = wb.active
    ws.title = "个人信息汇总表"
    ws.append(["全民参保登记个人信息汇总表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(keys))
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(
        [
            f"社区（村）：{checks.division_path(village) or village}（{village}）",
            "",
            "",
            "",
            f"调查期间：{_period(since, until)}",
            "",
            f"制表日期：{clock.today().isoformat()}",
            "",
            f"人数：{len(rows)}",
        ]
    )
    ws.append([properties[k].get("title", k) for k in keys])
    for row in rows:
        masked = mask(row)
        ws.append([_cell(k, masked.get(k)) for k in keys])
    from openpyxl.utils import get_column_letter

    for index in range(1, len(keys) + 1):
        ws.column_dimensions[get_column_letter(index)].width = 14
    ws.column_dimensions["C"].width = 21
    ws.freeze_panes = "A4"
    buf = io.BytesIO()
    wb.save(buf)
    audit.record(
        session,
        actor=actor,
        action="report.export",
        object_type="summary_xlsx",
        object_id=village,
        payload={
            "village": village,
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
            "persons": len(rows),
            "surveyed": len(surveyed),
        },
        area=village,
    )
    return buf.getvalue()


def _period(since: date | None, until: date | None) -> str:
    if since is None:
        return f"至 {until}" if until else "不限"
    return f"{since} 至 {until}" if until else f"{since} 起"


def _cell(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.startswith("status_") and value:
        return checks.code_label("enrollment_status", str(value))
    lists = {
        "sex": "sex",
        "ethnicity": "ethnicity",
        "hukou_nature": "hukou_nature",
        "employment_status": "employment_status",
        "uninsured_reason": "uninsured_reason",
    }
    if key in lists and value:
        return checks.code_label(lists[key], str(value))
    return value
