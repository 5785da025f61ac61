"""社会保障号码: the number the registry keys a person by (规程第八条: 以社会保障号码为每个人唯一
标识), and how each 证件类型 of the 全民参保登记表 yields it.

A 社会保障号码 follows one of four numbering schemes, each checked by its own rule, with its own codes:

- 公民身份号码 (`id_number.*`, GB 11643-1999, `forms.idnumber`): a citizen's 社会保障号码 is their
  公民身份号码 (社会保险法第五十八条第三款).
- 港澳台居民居住证 (`hmt_id.*`): a 公民身份号码 that public security compiles for 港澳台居民 by the
  same standard, with the address code 810000 (香港), 820000 (澳门) or 830000 (台湾)
  (《港澳台居民居住证申领发放办法》, 国办发〔2018〕81号, 第三条). Holders use it as their 社会保障号码.
- 外国人永久居留身份证, 2023年版 (`prc_id.*`): 18 characters after the 公民身份号码 standard: "9" (the
  mark of a foreigner; 公民身份号码 begin 1–8), the 2-digit province that accepted the application, the
  3-digit numeric code of the nationality, the birth date (YYYYMMDD), a 3-digit sequence (odd for men,
  even for women), and a check character by ISO 7064 MOD 11-2 as for a 公民身份号码 (国家移民管理局,
  《新版外国人永久居留身份证适配性改造要点》, cards issued from 2023-12-01; its samples
  932682198501010017 and 911124198108030024).
- 经办机构编制 (`ss_number.*`): everyone else gets a 社会保障号码 from the 社会保险经办机构 under the
  national rules: foreigners by 《在中国境内就业的外国人参加社会保险暂行办法》(人社部令第16号) 第十条
  and its annex 《外国人社会保障号码编制规则》; 港澳台居民 without a 居住证 by 《香港澳门台湾居民在内地
  （大陆）参加社会保险暂行办法》(人社部、国家医保局令第41号). The text of those rules was not obtained,
  so only the form of such a number is checked: 18 capital letters and digits, a letter among the
  first 17 (17 digits and a digit or X are one of the schemes above and are checked as such).

The registry does not assign numbers: a 社会保障号码 is unique nationwide, and only the 经办机构 that
issues the 社会保障卡 can give one. A 登记表 for a person whose document does not yield the number
carries the number the 经办机构 gave (`ss_number`, as on the person's 社会保障卡).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from . import idnumber
from .idnumber import IdNumberError, check_char, clean

# 港澳台居民居住证 address codes (国办发〔2018〕81号 第三条).
HMT_REGIONS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}
# Provinces (GB/T 2260) whose 出入境 offices accept applications for a 外国人永久居留身份证.
PROVINCES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"),
    }
)
_PRC = re.compile(r"9[0-9]{16}[0-9X]")
_PRC_OLD = re.compile(r"[A-Z]{3}[0-9]{12}")  # 2017年版 and earlier: 3 letters (nationality) + 12 digits
_GB = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
_ASSIGNED = re.compile(r"(?=[0-9A-Z]{0,16}[A-Z])[0-9A-Z]{18}")
_DISABILITY = re.compile(r"(.{18})([1-7])([1-4])")  # 类别 1 视力 … 7 多重, 等级 1–4


@dataclass(frozen=True)
class Key:
    """A 社会保障号码, its scheme, and the birth date and sex it holds (None when it holds none)."""

    number: str
    scheme: str  # resident | hmt | prc | assigned
    born: date | None = None
    sex: str | None = None
    label: str = "社会保障号码"


def resident_id(raw: str, *, code: str = "id_number", label: str = "公民身份号码") -> Key:
    """The 公民身份号码 on a 居民身份证 (or a document of a citizen with a 户口): GB 11643, never the address
    code of a 港澳台居民居住证 (港澳台居民 hold no 居民身份证)."""
    number, born = idnumber.parse_as(raw, code, label)
    if number[:6] in HMT_REGIONS:
        raise IdNumberError(
            f"{code}.hmt_permit",
            f"{label}的地址码{number[:6]}是{HMT_REGIONS[number[:6]]}居民的港澳台居民居住证号码，"
            "不是居民身份证号码：证件类型请选港澳台居民的证件，并把居住证号码填作社会保障号码",
        )
    return Key(number, "resident", born, idnumber.sex(number), label)


def permanent_resident(raw: str) -> Key:
    """A 2023 外国人永久居留身份证 number (see the module's docstring), or IdNumberError."""
    text = clean(raw) if isinstance(raw, str) else ""
    label = "外国人永久居留身份证号码"
    if not _PRC.fullmatch(text):
        raise IdNumberError(
            "prc_id.format",
            f"{label}应为18位（2023年版：以9开头，17位数字加1位校验码）或15位（2017年版：3位字母加12位数字）",
        )
    if text[1:3] not in PROVINCES:
        raise IdNumberError("prc_id.province", f"{label}第2、3位应为受理地的省级代码，{text[1:3]}不是")
    born = idnumber.birth_date(text)
    if born is None:
        raise IdNumberError("prc_id.birth_date", f"{label}中的出生日期不存在")
    if born > idnumber.today():
        raise IdNumberError("prc_id.birth_date_future", f"{label}中的出生日期晚于今天")
    if check_char(text[:17]) != text[17]:
        raise IdNumberError("prc_id.checksum", f"{label}校验码错误")
    return Key(text, "prc", born, idnumber.sex(text), label)


def parse(raw: object) -> Key:
    """A 社会保障号码 of any scheme, checked by its scheme's rule, or IdNumberError naming the rule."""
    text = clean(raw) if isinstance(raw, str) else ""
    if _PRC.fullmatch(text):
        return permanent_resident(text)
    if _GB.fullmatch(text):
        if text[:6] in HMT_REGIONS:
            number, born = idnumber.parse_as(text, "hmt_id", "港澳台居民居住证号码")
            return Key(number, "hmt", born, idnumber.sex(number), "港澳台居民居住证号码")
        return resident_id(text)
    if _ASSIGNED.fullmatch(text):
        return Key(text, "assigned")
    raise IdNumberError(
        "ss_number.format",
        "社会保障号码应为18位：公民身份号码、港澳台居民居住证号码、外国人永久居留身份证号码，"
        "或经办机构编制的18位数字和大写字母",
    )


def normalize(raw: object) -> str:
    """The canonical 社会保障号码, or IdNumberError."""
    return parse(raw).number


def is_valid(raw: object) -> bool:
    try:
        parse(raw)
    except IdNumberError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------------
# How each 证件类型 yields the 社会保障号码


@dataclass(frozen=True)
class Rule:
    """What a 证件类型's document number is, and which 社会保障号码 its holder may have."""

    kind: str
    title: str  # what the holder's 社会保障号码 is, in words (messages, README)
    region: str | None = None  # 港澳台: the 居住证 address code of the document's region

    def document_key(self, raw: str) -> Key | None:
        """The 社会保障号码 the document number itself is (None when it is not one), or IdNumberError."""
        if self.kind == "resident_id":
            return resident_id(raw)
        if self.kind == "disability_card":
            found = _DISABILITY.fullmatch(clean(raw))
            if found is None:
                raise IdNumberError(
                    "disability_card.format",
                    "残疾人证号应为20位：18位公民身份号码，加1位残疾类别代码（1–7）和1位残疾等级代码（1–4）",
                )
            return resident_id(found.group(1), code="disability_card", label="残疾人证号中的公民身份号码")
        if self.kind == "permanent_residence":
            return None if _PRC_OLD.fullmatch(clean(raw)) else permanent_resident(raw)
        if self.kind == "ss_card":
            return parse(raw)
        return None

    def refuses(self, key: Key) -> tuple[str, str] | None:
        """Why a 社会保障号码 written on the form cannot be this holder's, or None."""
        if self.kind == "citizen" and key.scheme != "resident":
            return (
                "ss_number.citizen",
                "持此证件的是中国公民，社会保障号码为其公民身份号码（社会保险法第五十八条）",
            )
        if self.kind in ("foreigner", "permanent_residence") and key.scheme in ("resident", "hmt"):
            return (
                "ss_number.foreigner",
                "外国人没有公民身份号码：社会保障号码为外国人永久居留身份证号码，或经办机构编制的号码",
            )
        if self.kind == "hmt" and key.scheme == "prc":
            return "ss_number.hmt", "外国人永久居留身份证号码不是港澳台居民的社会保障号码"
        if self.kind == "hmt" and key.scheme == "hmt" and self.region and key.number[:6] != self.region:
            return (
                "ss_number.region",
                f"{HMT_REGIONS[self.region]}居民的港澳台居民居住证号码以{self.region}开头",
            )
        return None


_AGENCY = "经办机构编制的号码（见社会保障卡）"
_FOREIGNER = "外国人永久居留身份证号码，或" + _AGENCY


def _hmt(region: str) -> str:
    return f"港澳台居民居住证号码（{region}开头），没有居住证的填{_AGENCY}"


RULES: dict[str, Rule] = {
    "01": Rule("resident_id", "证件号码（公民身份号码）"),
    "02": Rule("citizen", "持证人的公民身份号码"),
    "03": Rule("citizen", "持证人的公民身份号码"),
    "04": Rule("hmt", _hmt("810000"), "810000"),
    "05": Rule("hmt", _hmt("820000"), "820000"),
    "06": Rule("hmt", _hmt("830000"), "830000"),
    "07": Rule("permanent_residence", "2023年版永居证的证件号码；持旧版永居证的填" + _AGENCY),
    "08": Rule("foreigner", _FOREIGNER),
    "09": Rule("disability_card", "残疾人证号的前18位（公民身份号码）"),
    "10": Rule("citizen", "持证人的公民身份号码"),
    "11": Rule("foreigner", _FOREIGNER),
    "12": Rule("foreigner", _FOREIGNER),
    "13": Rule("foreigner", _FOREIGNER),
    "14": Rule("hmt", f"港澳台居民居住证号码，没有居住证的填{_AGENCY}"),
    "15": Rule("other", "公民身份号码、外国人永久居留身份证号码或" + _AGENCY),
    "90": Rule("ss_card", "社会保障卡上的号码"),
    "99": Rule("other", "公民身份号码、港澳台居民居住证号码、外国人永久居留身份证号码或" + _AGENCY),
}
OTHER = RULES["99"]  # a 证件类型 a deployment adds to its code list


def rule(id_type: str | None) -> Rule:
    return RULES["01"] if id_type is None else RULES.get(id_type, OTHER)


def key_of(id_type: str | None, id_number: object, ss_number: object = None) -> str | None:
    """The 社会保障号码 a (validated) document names: the document number where it is one, else the
    number written as `ss_number`; None when neither is a valid number."""
    try:
        found = rule(id_type).document_key(id_number) if isinstance(id_number, str) else None
        if found is None and ss_number is not None:
            found = parse(ss_number)
    except IdNumberError:
        return None
    return found.number if found else None


def document(id_type: str | None, raw: str) -> str:
    """A document number in the spelling the registry keeps: a 居民身份证's as the 18 characters of its
    公民身份号码 (left as written when it is not one), any other in capitals and ASCII."""
    if rule(id_type).kind == "resident_id":
        try:
            return idnumber.normalize(raw)
        except IdNumberError:
            return raw
    return clean(raw)
