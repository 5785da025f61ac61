"""Builders for registry tests: valid 公民身份号码, CSV files, registrations."""

from __future__ import annotations

import csv
import io
from datetime import date

from canbao.actors import Actor
from forms.idnumber import check_char

CLERK = Actor(sub="county1", roles=("county_approver",), area="370102", name="县级经办")
VILLAGE = "370102001002"  # 解放桥社区居民委员会
VILLAGE2 = "370102001003"  # 历山路社区居民委员会
OTHER_VILLAGE = "370103001001"


def pid(birth: str = "19800101", seq: int = 1, area: str = "370102", female: bool = False) -> str:
    """A valid number; `seq` picks the order code, the last digit of which sets the sex."""
    order = seq * 2 + (0 if female else 1)
    body = f"{area}{birth}{order:03d}"
    return body + check_char(body)


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


POP_HEADER = ["公民身份号码", "姓名", "性别", "出生日期", "户籍地区划", "户籍地址", "管理状态"]
ENR_HEADER = [
    "公民身份号码",
    "姓名",
    "出生日期",
    "险种",
    "参保状态",
    "缴费状态",
    "参保地",
    "参保日期",
    "终止日期",
]


def pop_row(id_number: str, name: str, division: str = VILLAGE, status: str = "正常") -> list[object]:
    born = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    return [
        id_number,
        name,
        "1" if int(id_number[16]) % 2 else "2",
        born,
        division,
        "济南市历下区某街1号",
        status,
    ]


def enr_row(
    id_number: str,
    scheme: str,
    *,
    place: str = "370102",
    status: str = "1",
    start: str = "2015-01-01",
    end: str = "",
    name: str = "",
    born: str = "",
) -> list[object]:
    return [id_number, name, born, scheme, status, "1", place, start, end]


def registration(id_number: str, name: str = "张三丰", **over: object) -> dict:
    """A valid 全民参保登记表 (the forms example) for `id_number`, living in VILLAGE."""
    import forms

    reg = forms.example("registration")
    reg.update(
        {
            "id_number": id_number,
            "name": name,
            "sex": "1" if int(id_number[16]) % 2 else "2",
            "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
            "residence": {"division": VILLAGE, "address": "历下区解放桥社区1号"},
        }
    )
    reg.update(over)
    return reg


AS_OF = date(2026, 6, 30)
