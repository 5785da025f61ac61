"""公民身份号码 per GB 11643-1999: structure, ISO 7064 MOD 11-2 check character, 15→18 upgrade.

Pure functions without I/O; the registry matches persons only on the normalised 18-character form.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date
from operator import mul

from canbao import clock

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_BYTE_OFFSET = 48 * sum(WEIGHTS)
# ASCII digits only: \d would also match Arabic-Indic and other Unicode digits, which int() accepts.
_RE_18 = re.compile(r"[0-9]{17}[0-9X]")
_RE_15 = re.compile(r"[0-9]{15}")


class IdNumberError(ValueError):
    """Why a number is not a valid 公民身份号码: `code` is machine-readable, the message Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean(raw: str) -> str:
    """A number as written, in canonical spelling: spaces stripped, full-width forms as ASCII, upper case."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def check_char(body17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of 17 ASCII digits."""
    if len(body17) != 17 or not (body17.isascii() and body17.isdigit()):
        raise ValueError("check_char needs the 17-digit body")
    # Each ASCII digit byte is 48 + d, so Σ w·byte = 48·Σw + Σ w·d and the offset drops out mod 11.
    return CHECK_CHARS[(sum(map(mul, body17.encode(), WEIGHTS)) - _BYTE_OFFSET) % 11]


def upgrade_15(id15: str) -> str:
    """A legacy 15-digit number (YYMMDD birth date, no check character) as its 18-character form."""
    body = id15[:6] + "19" + id15[6:15]
    return body + check_char(body)


_today_cache: tuple[float, date] = (0.0, date.min)


def today() -> date:
    """The office's today (canbao.clock), read at most once a second."""
    return _today()


def _today() -> date:
    global _today_cache
    now = time.monotonic()
    if now - _today_cache[0] > 1.0:
        _today_cache = (now, clock.today())
    return _today_cache[1]


def parse(raw: str, *, today: date | None = None) -> tuple[str, date]:
    """The canonical 18-character number and the birth date it holds, or IdNumberError."""
    return parse_as(raw, "id_number", "公民身份号码", today=today)


def parse_as(raw: str, code: str, label: str, *, today: date | None = None) -> tuple[str, date]:
    """`parse` for a number built by GB 11643 under another name (a 居住证, a 残疾人证): its error codes
    start with `code` and its messages name `label`."""
    if not isinstance(raw, str):
        raise IdNumberError(f"{code}.type", f"{label}必须是文本")
    if len(raw) == 18 and raw.isascii() and raw[17] != "x":
        text = raw  # the common case: already canonical spelling
    else:
        text = clean(raw)
        if _RE_15.fullmatch(text):
            text = upgrade_15(text)
    if not _RE_18.fullmatch(text):
        raise IdNumberError(f"{code}.format", f"{label}应为18位：前17位数字，末位为数字或X")
    if text[0] == "9":
        # GB/T 2260 address codes begin 1–8; 9 marks the 2023 外国人永久居留身份证 (forms.ssnumber).
        raise IdNumberError(
            f"{code}.prc_card", f"{label}不以9开头：以9开头的18位号码是外国人永久居留身份证号码"
        )
    born = birth_date(text)
    if born is None:
        raise IdNumberError(f"{code}.birth_date", f"{label}中的出生日期不存在")
    if born > (today or _today()):
        raise IdNumberError(f"{code}.birth_date_future", f"{label}中的出生日期晚于今天")
    if check_char(text[:17]) != text[17]:
        raise IdNumberError(f"{code}.checksum", f"{label}校验码错误")
    return text, born


def normalize(raw: str, *, today: date | None = None) -> str:
    """The canonical 18-character number, or IdNumberError naming what is wrong.

    Full-width digits and a lower-case x are accepted and normalised; surrounding spaces are
    stripped; 15-digit numbers are upgraded. Anything else that is not a valid number is refused.
    """
    return parse(raw, today=today)[0]


def is_valid(raw: str) -> bool:
    try:
        normalize(raw)
    except IdNumberError:
        return False
    return True


def birth_date(id18: str) -> date | None:
    try:
        return date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return None


def sex(id18: str) -> str:
    """GB/T 2261.1 sex code from the sequence number: odd "1" (男), even "2" (女)."""
    return "1" if int(id18[16]) % 2 else "2"


def address_code(id18: str) -> str:
    """The 6-digit division where the number was issued (may be an abolished code)."""
    return id18[:6]


def mask(id18: str) -> str:
    """370102********123X: the first six and last four characters shown."""
    return id18[:6] + "*" * (len(id18) - 10) + id18[-4:] if len(id18) > 10 else "*" * len(id18)
