"""Receiving an uploaded document from a multipart body, as the bytes arrive.

The file part is checked while it streams in: its type from its first bytes (a signature, never the
file name or the declared type), its size against the cap, its SHA-256 chunk by chunk. A refused
upload stops reading the body at once. Because the object key is derived from the hash, which is
known only at the end, the bytes are staged in an anonymous temporary file (64 KB at a time, so
memory stays flat whatever the size) and stored from there.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from canbao.errors import FieldError, Invalid

FILE_FIELD = "file"
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
SNIFF_BYTES = max(len(signature) for signature, _ in SIGNATURES)
# Room for the part headers and the small form fields around the file.
ENVELOPE = 64 * 1024
FIELD_LIMIT = 1024
MAX_PARTS = 8


class FileTooLarge(Invalid):
    status = 413
    code = "document.too_large"
    title = "文件过大"


class UnsupportedType(Invalid):
    status = 415
    code = "document.unsupported_type"
    title = "不支持的文件类型"


def sniff(head: bytes) -> str | None:
    """The media type that the first bytes of a file prove, among those the archive accepts."""
    for signature, media_type in SIGNATURES:
        if head.startswith(signature):
            return media_type
    return None


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


@dataclass
class Upload:
    """The form fields and the staged file of one upload. Close it when done."""

    fields: dict[str, str] = field(default_factory=dict)
    file: BinaryIO | None = None
    size: int = 0
    sha256: str = ""
    media_type: str | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class _Receiver:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.upload = Upload()
        self.parts = 0
        self._hash = hashlib.sha256()
        self._head = b""
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise Invalid([FieldError("", "multipart.too_many_parts", f"表单最多包含 {MAX_PARTS} 个字段")])
        self._disposition, self._name, self._value, self._in_file = b"", None, bytearray(), False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name != FILE_FIELD:
            return
        if self.upload.file is not None:
            raise Invalid([FieldError("/file", "file.multiple", "每次只能上传一个文件")])
        self._in_file = True
        self.upload.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Upload.close)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self._in_file:
            self._value += chunk
            if len(self._value) > FIELD_LIMIT:
                raise Invalid([FieldError(f"/{self._name}", "field.too_long", "内容过长")])
            return
        upload = self.upload
        upload.size += len(chunk)
        if upload.size > self.limit:
            raise FileTooLarge(
                [FieldError("/file", "file.too_large", f"文件不能超过 {_mb(self.limit)}")],
                f"文件超过 {_mb(self.limit)} 上限，未保存",
            )
        if upload.media_type is None:
            self._head += chunk[:SNIFF_BYTES]
            if len(self._head) >= SNIFF_BYTES:
                self._check_type()
        self._hash.update(chunk)
        upload.file.write(chunk)

    def _check_type(self) -> None:
        self.upload.media_type = sniff(self._head)
        if self.upload.media_type is None:
            raise UnsupportedType(
                [FieldError("/file", "file.unsupported_type", "只接受 PDF、JPEG、PNG、TIFF 格式的扫描件")],
                "文件内容不是 PDF、JPEG、PNG 或 TIFF（按文件内容判断，与文件名和声明的类型无关），未保存",
            )

    def part_end(self) -> None:
        if self._in_file:
            if self.upload.media_type is None and self.upload.size:
                self._check_type()
            return
        try:
            self.upload.fields[self._name or ""] = self._value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise Invalid([FieldError(f"/{self._name}", "field.encoding", "应为 UTF-8 文本")]) from err

    def finish(self) -> Upload:
        upload = self.upload
        if upload.file is None or upload.size == 0:
            raise Invalid([FieldError("/file", "file.required", "请选择要上传的文件（不能为空）")])
        upload.sha256 = self._hash.hexdigest()
        upload.file.seek(0)
        return upload


async def receive(
    chunks: AsyncIterator[bytes], *, content_type: str | None, content_length: str | None, limit: int
) -> Upload:
    """Read a multipart/form-data body with one `file` part of at most `limit` bytes."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit + ENVELOPE:
        raise FileTooLarge(
            [FieldError("/file", "file.too_large", f"文件不能超过 {_mb(limit)}")],
            f"请求体为 {_mb(int(content_length))}，超过 {_mb(limit)} 上限，未读取",
        )
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise UnsupportedType(
            [FieldError("", "multipart.required", "请以 multipart/form-data 方式上传，文件字段名为 file")]
        )
    receiver = _Receiver(limit)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        async for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        return receiver.finish()
    except MultipartParseError as err:
        receiver.upload.close()
        raise Invalid([FieldError("", "multipart.invalid", "上传的表单格式不正确")]) from err
    except BaseException:
        receiver.upload.close()
        raise
