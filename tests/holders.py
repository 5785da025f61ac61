"""A holder of each 证件类型 the 登记表 offers, as a surveyor writes their form, and the 社会保障号码 the
registry must key them by (规程第三、八条; the rules are in forms/ssnumber.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forms.idnumber import check_char

from .engine.office import COUNTY, registration


def gb(prefix: str, birth: str, seq: str) -> str:
    """A number built as GB 11643 builds one: 6-digit address code, birth date, sequence, check character."""
    body = f"{prefix}{birth}{seq}"
    return body + check_char(body)


# 港澳台居民居住证: 公民身份号码 with the address codes of 国办发〔2018〕81号 第三条.
HONG_KONG = gb("810000", "19940823", "002")
MACAO = gb("820000", "20000910", "003")
TAIWAN = gb("830000", "19920130", "002")
# 外国人永久居留身份证 (2023年版): the first sample of 国家移民管理局's table 1:
# 江苏(32) 受理, 沙特(682), born 1985-01-01, 男.
PERMANENT_RESIDENT = "932682198501010017"
# 社会保障号码 as a 经办机构 assigned them (their scheme is not published: only their form is checked).
ASSIGNED = ("ZZ3701020000000001", "ZZ3701020000000002", "ZZ3701020000000003", "ZZ3701020000000004")


@dataclass(frozen=True)
class Holder:
    id_type: str
    document: str  # 证件号码 as written on the document
    ss_number: str | None  # 社会保障号码 the form carries (None: the document number yields it)
    key: str  # the registry's key: the person's 社会保障号码
    name: str
    sex: str
    birth_date: str
    citizen: bool = True  # a Chinese citizen with a 户口所在地

    def form(self, **overrides: Any) -> dict[str, Any]:
        """Their 登记表 (survey channel), hukou left out for those who have none."""
        data = registration(
            id_type=self.id_type,
            id_number=self.document,
            name=self.name,
            sex=self.sex,
            birth_date=self.birth_date,
        )
        if self.ss_number is not None:
            data["ss_number"] = self.ss_number
        if not self.citizen:
            data.pop("hukou")
            data.pop("ethnicity")
        data.update(overrides)
        return data


def _citizen(id_type: str, document: str | None, key: str, sex: str, born: str) -> Holder:
    return Holder(id_type, document or key, None if document is None else key, key, "张三", sex, born)


HOLDERS: dict[str, Holder] = {
    h.id_type: h
    for h in (
        _citizen("01", None, gb(COUNTY, "19900101", "301"), "1", "1990-01-01"),
        _citizen("02", "南字第2019001号", gb(COUNTY, "19850315", "311"), "1", "1985-03-15"),
        _citizen("03", "武字第2018002号", gb(COUNTY, "19870420", "322"), "2", "1987-04-20"),
        Holder("04", "H12345678", HONG_KONG, HONG_KONG, "陈美玲", "2", "1994-08-23", citizen=False),
        Holder("05", "M1234567801", MACAO, MACAO, "何家豪", "1", "2000-09-10", citizen=False),
        Holder("06", "12345678", TAIWAN, TAIWAN, "林怡君", "2", "1992-01-30", citizen=False),
        Holder("07", PERMANENT_RESIDENT, None, PERMANENT_RESIDENT, "ALHARBI SAAD", "1", "1985-01-01", False),
        Holder("08", "E12345678", ASSIGNED[0], ASSIGNED[0], "SMITH JOHN", "1", "1988-06-01", citizen=False),
        Holder(
            "09",
            gb(COUNTY, "19750505", "342") + "42",  # 残疾人证号: 公民身份号码 + 类别 4 (肢体) + 等级 2
            None,
            gb(COUNTY, "19750505", "342"),
            "王芳",
            "2",
            "1975-05-05",
        ),
        _citizen("10", "JLS-2020-0001", gb(COUNTY, "19600707", "333"), "1", "1960-07-07"),
        Holder("11", "370100202300123", ASSIGNED[1], ASSIGNED[1], "MULLER ANNA", "2", "1990-02-02", False),
        Holder("12", "E370100200012", ASSIGNED[2], ASSIGNED[2], "TANAKA KENJI", "1", "1970-03-03", False),
        Holder("13", "J2023001", ASSIGNED[3], ASSIGNED[3], "DUPONT MARIE", "2", "1982-04-04", False),
        Holder(
            "14",
            "T8300012345",
            gb("830000", "19800808", "015"),
            gb("830000", "19800808", "015"),
            "黄志明",
            "1",
            "1980-08-08",
            citizen=False,
        ),
        # A 2023 永居证 number (国家移民管理局's second sample: 北京(11), 加拿大(124), 1981-08-03, 女) used as
        # the 社会保障号码 of an expert who holds one.
        Holder(
            "15",
            "DJ2019001",
            "911124198108030024",
            "911124198108030024",
            "BROWN EMILY",
            "2",
            "1981-08-03",
            citizen=False,
        ),
        _citizen("90", None, gb(COUNTY, "19660606", "351"), "1", "1966-06-06"),
        _citizen("99", "QT-0001", gb(COUNTY, "19550909", "362"), "2", "1955-09-09"),
    )
}
