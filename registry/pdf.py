"""A minimal PDF writer for printable forms: A4 pages, text, lines and boxes, Chinese text.

Chinese is set in the PDF standard CJK font STSong-Light (Adobe-GB1, encoding UniGB-UTF16-H), which
PDF readers supply themselves (Acrobat, pdf.js in browsers, poppler with poppler-data and any CJK
system font): nothing is embedded, so a filled form is a few kilobytes and no font file or font
library is a dependency. Widths: CJK characters one em, ASCII half an em.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

A4 = (595.28, 841.89)


def text_width(text: str, size: float) -> float:
    return sum(size * (0.5 if ord(ch) < 128 else 1.0) for ch in text)


def _hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


@dataclass
class Page:
    ops: list[str] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, size: float = 10.5) -> None:
        """Text with its baseline at (x, y), measured from the top-left corner in points."""
        if not text:
            return
        self.ops.append(f"BT /F1 {size:.2f} Tf 1 0 0 1 {x:.2f} {A4[1] - y:.2f} Tm <{_hex(text)}> Tj ET")

    def text_center(self, x: float, y: float, width: float, text: str, size: float = 10.5) -> None:
        self.text(x + (width - text_width(text, size)) / 2, y, text, size)

    def text_fit(self, x: float, y: float, width: float, text: str, size: float = 10.5) -> None:
        """Text shrunk (down to 6 pt) so that it fits `width`."""
        while size > 6 and text_width(text, size) > width:
            size -= 0.5
        self.text(x, y, text, size)

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.6) -> None:
        self.ops.append(f"{width:.2f} w {x1:.2f} {A4[1] - y1:.2f} m {x2:.2f} {A4[1] - y2:.2f} l S")

    def rect(self, x: float, y: float, w: float, h: float, width: float = 0.6) -> None:
        self.ops.append(f"{width:.2f} w {x:.2f} {A4[1] - y - h:.2f} {w:.2f} {h:.2f} re S")

    def checkbox(self, x: float, y: float, checked: bool, size: float = 8) -> None:
        self.rect(x, y - size + 1, size, size, 0.5)
        if checked:
            self.line(x + 1.5, y - size / 2, x + size / 2.5, y - 1, 0.9)
            self.line(x + size / 2.5, y - 1, x + size - 1, y - size + 2, 0.9)


@dataclass
class Document:
    title: str = ""
    pages: list[Page] = field(default_factory=list)

    def page(self) -> Page:
        page = Page()
        self.pages.append(page)
        return page

    def render(self) -> bytes:
        objects: list[bytes] = []

        def add(body: bytes) -> int:
            objects.append(body)
            return len(objects)

        catalog = add(b"")  # filled below
        pages_id = add(b"")
        font = add(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H "
            b"/DescendantFonts [4 0 R] >>"
        )
        add(
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
            b"/FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>"
        )
        add(
            b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
            b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
        )
        kids = []
        for page in self.pages:
            stream = zlib.compress("\n".join(page.ops).encode("latin-1"))
            content = add(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"
            )
            kids.append(
                add(
                    b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] "
                    b"/Resources << /Font << /F1 %d 0 R >> >> "
                    b"/Contents %d 0 R >>" % (pages_id, A4[0], A4[1], font, content)
                )
            )
        objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
        objects[pages_id - 1] = (
            b"<< /Type /Pages /Count %d /Kids [" % len(kids)
            + b" ".join(b"%d 0 R" % k for k in kids)
            + b"] >>"
        )
        info = add(b"<< /Title <FEFF" + _hex(self.title).encode() + b"> /Producer (canbao) >>")
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
        out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            catalog,
            info,
            xref,
        )
        return bytes(out)
