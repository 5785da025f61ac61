"""The text of an uploaded BPMN or DMN file: decoded as its byte order mark or XML declaration says
(UTF-8 when neither does), and kept as UTF-8 text whose declaration says so, the form canbao stores,
exports and parses. UTF-8 files are kept exactly as they are.
"""

from __future__ import annotations

import codecs
import re

from .errors import InvalidDefinition, Problem

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARATION = re.compile(r"""^(<\?xml[^>]*?\sencoding\s*=\s*)(["'])([^"']*)\2""")
# Files declared GB2312 or GBK often hold characters only GBK or GB18030 have; GB18030 decodes all three.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030"}


def declared_encoding(raw: bytes) -> str:
    """The encoding a file says it is in: its byte order mark, else its XML declaration, else UTF-8."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding
    if raw.startswith(b"<\0?\0"):
        return "utf-16-le"
    if raw.startswith(b"\0<\0?"):
        return "utf-16-be"
    declared = _DECLARED.match(raw)
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


def decode(raw: bytes, filename: str) -> str:
    """The file's text, its declaration saying UTF-8; InvalidDefinition (xml.encoding) if it is not in
    the encoding it declares, or declares one Python does not know."""
    name = declared_encoding(raw)
    encoding = _WIDER.get(name, name)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidDefinition(
            [Problem(None, "xml.encoding", f"{filename} 声明的编码 {name} 不受支持")]
        ) from None
    if encoding in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        shown = "UTF-8" if encoding == "utf-8-sig" else name.upper()
        raise InvalidDefinition(
            [Problem(None, "xml.encoding", f"{filename} 不是 {shown} 编码（第 {err.start} 字节）")]
        ) from err
    return utf8_declared(text)


def utf8_declared(text: str) -> str:
    """The text with its XML declaration (if it names an encoding) saying UTF-8."""
    text = text.removeprefix("\ufeff")
    declaration = _DECLARATION.match(text)
    if declaration is None or declaration.group(3).lower().replace("_", "-") in ("utf-8", "utf8"):
        return text
    quote = declaration.group(2)
    return f"{declaration.group(1)}{quote}UTF-8{quote}{text[declaration.end() :]}"
