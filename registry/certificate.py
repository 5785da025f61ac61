"""The 参保证明 / 个人权益单 a person prints for themselves (第十四、二十三条): their registration record,
their 险种 with where each record came from, and — when the registry still misses or doubts something —
a reminder of what to correct, on the paper itself. Chinese is set as in `registry.pdf`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from canbao import clock
from canbao.actors import Actor

from . import checks, persons
from .documents import SCHEME_TITLES
from .pdf import Document, Page
from .sources import enrollment_source

LEFT, RIGHT = 48.0, 547.0
TITLE = "全民参保登记信息及参保证明（个人权益单）"


def _label(key: str, code: str | None) -> str:
    return checks.code_label(key, code) if code else ""


def _place(division: str | None, address: str | None = None) -> str:
    path = checks.division_path(division) if division else ""
    return "".join(x for x in (path or (division or ""), address or "") if x)


def certificate_pdf(session: Session, *, actor: Actor, id_number: str) -> bytes:
    """The certificate of one person the actor may see (a citizen: their own), audited as a print."""
    found = persons.missing(session, actor=actor, id_number=id_number, purpose="certificate_print")
    reg = persons.as_registration(session, persons.get_or_raise(session, id_number=found["person_id"]))
    return render(reg, found["items"])


def render(reg: dict[str, Any], items: list[dict[str, str]]) -> bytes:
    doc = Document(title=TITLE)
    page = doc.page()
    y = 64.0
    page.text_center(LEFT, y, RIGHT - LEFT, TITLE, 16)
    y += 22
    page.text(LEFT, y, f"打印日期：{clock.today().isoformat()}", 9)
    y += 18
    hukou, residence = reg.get("hukou") or {}, reg.get("residence") or {}
    rows = [
        ("姓名", reg.get("name") or ""),
        ("公民身份号码", reg.get("ss_number") or reg.get("id_number") or ""),
        ("性别", _label("sex", reg.get("sex"))),
        ("出生日期", reg.get("birth_date") or ""),
        ("户口所在地", _place(hukou.get("division"), hukou.get("address"))),
        ("常住所在地", _place(residence.get("division"), residence.get("address"))),
        ("就业状态", _label("employment_status", (reg.get("employment") or {}).get("status"))),
        ("登记时间", (reg.get("registered_at") or "未完成全民参保登记")[:10]),
    ]
    for label, value in rows:
        page.rect(LEFT, y, RIGHT - LEFT, 20)
        page.line(LEFT + 90, y, LEFT + 90, y + 20)
        page.text(LEFT + 6, y + 14, label, 10)
        page.text_fit(LEFT + 96, y + 14, RIGHT - LEFT - 102, value or "—", 10)
        y += 20
    y += 20
    page.text(LEFT, y, "参保情况", 12)
    y += 8
    columns = [("险种", 150.0), ("参保状态", 60.0), ("缴费状态", 60.0), ("参保地", 90.0), ("首次参保", 60.0)]
    columns.append(("信息来源", RIGHT - LEFT - sum(w for _, w in columns)))

    def table_row(values: list[str]) -> None:
        nonlocal y
        x = LEFT
        for (_, width), value in zip(columns, values, strict=True):
            page.rect(x, y, width, 20)
            page.text_fit(x + 4, y + 14, width - 8, value, 9)
            x += width
        y += 20

    table_row([title for title, _ in columns])
    insurance = reg.get("insurance") or []
    for e in insurance:
        table_row(
            [
                SCHEME_TITLES.get(e["scheme"], e["scheme"]),
                _label("enrollment_status", e.get("status")),
                _label("payment_status", e.get("payment_status")),
                _place(e.get("place")),
                e.get("first_date") or "",
                enrollment_source(e.get("source") or ""),
            ]
        )
    if not insurance:
        page.text(LEFT + 4, y + 14, "登记库中没有您的参保记录。", 10)
        y += 20
    y += 24
    if items:
        reminder(page, y, items)
    else:
        page.text(LEFT, y, "您的登记信息完整，未发现缺失或不准的信息。", 10.5)
    page.text(LEFT, 800, "本单据由全民参保登记系统生成，仅供本人查询参保登记信息使用。", 8)
    return doc.render()


def reminder(page: Page, y: float, items: list[dict[str, str]]) -> None:
    page.text(LEFT, y, "提醒：您的登记信息有以下缺失或不准的内容，请通过自助服务或到经办窗口更正", 11)
    y += 6
    for item in items[:20]:
        y += 16
        page.text_fit(LEFT + 12, y, RIGHT - LEFT - 12, f"【{_kind(item)}】{item['message']}", 10)


def _kind(item: dict[str, str]) -> str:
    if item["code"].startswith("self_reported."):
        return "待核实"
    return "缺失" if item["kind"] == "missing" else "不准"
