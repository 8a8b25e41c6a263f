"""Loading source files (txt, md, html, pdf, docx, xlsx, csv) into Documents, with encoding
detection."""

from __future__ import annotations

import codecs
import io
from html.parser import HTMLParser
from pathlib import Path

from index.script import detect_script
from index.types import Document, DocumentMeta

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".xlsx", ".csv")
_CHINESE_CODECS = ("big5hkscs", "gb18030")


class LoadError(ValueError):
    """A file that cannot become a Document; the message names the file and the reason."""


def load_document(path: Path, meta: DocumentMeta, source: str | None = None) -> Document:
    """Read `path` and return its Document; raise LoadError naming the file when it cannot."""
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:  # a folder, no permission, ...
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return load_bytes(data, source or path.name, meta)


def load_bytes(data: bytes, name: str, meta: DocumentMeta) -> Document:
    """Turn the bytes of a file called `name` into a Document."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise LoadError(f"{name}: the file is empty")
    page_starts: tuple[int, ...] = ()
    if suffix == ".pdf":
        text, page_starts = _pdf_text(data, name)
    elif suffix in (".docx", ".xlsx"):
        from index.office import OfficeError, docx_text, xlsx_text

        try:
            text = docx_text(data) if suffix == ".docx" else xlsx_text(data)
        except OfficeError as exc:
            raise LoadError(f"{name}: {exc}") from exc
    elif suffix == ".csv":
        from index.office import csv_text

        text = csv_text(decode_text(data, name))
    else:
        text = decode_text(data, name)
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    if not text.strip() and suffix == ".pdf":
        raise LoadError(f"{name}: the PDF has no text layer (a scanned document?); Wenda "
                        "reads text, not images: run OCR first and upload its text")
    if not text.strip():
        raise LoadError(f"{name}: no text could be extracted")
    script = meta.script or detect_script(text)
    return Document(meta=meta, source=name, text=text, script=script, page_starts=page_starts)


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 (BOM), Big5 or GB18030 text strictly."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _checked(_strict(data, codec, name), name)
    if b"\x00" in data:
        raise LoadError(f"{name}: looks like a binary file (NUL bytes, no UTF-16 byte-order mark)")
    try:
        return _checked(data.decode("utf-8"), name)
    except UnicodeDecodeError:
        pass
    candidates = {}
    for codec in _CHINESE_CODECS:
        try:
            candidates[codec] = data.decode(codec)
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise LoadError(f"{name}: cannot decode as UTF-8, UTF-16, Big5 or GB18030")
    best = max(candidates.items(), key=lambda item: _plausibility(item[1]))
    return _checked(best[1], name)


def _strict(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{name}: invalid {codec} at byte {exc.start}") from exc


def _checked(text: str, name: str) -> str:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(8, len(text) // 200):
        raise LoadError(f"{name}: looks like a binary file ({controls} control characters)")
    # Keep the text exactly as decoded except for line endings, so offsets are stable.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _plausibility(text: str) -> float:
    """Share of characters that are common CJK, ASCII or CJK punctuation.

    Big5 bytes often also decode as GB18030 (and the reverse), but into rare characters
    and private-use code points; the right codec gives common ones.
    """
    if not text:
        return 0.0
    good = 0
    for ch in text:
        code = ord(ch)
        if (code < 128 or 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F
                or 0xFF00 <= code <= 0xFFEF):
            good += 1
    return good / len(text)


def _pdf_text(data: bytes, name: str) -> tuple[str, tuple[int, ...]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(f"{name}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise LoadError(f"{name}: not a readable PDF ({exc})") from exc
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        starts.append(offset)
        body = page.replace("\r\n", "\n").rstrip("\n") + "\n\n"
        parts.append(body)
        offset += len(body)
    return "".join(parts), tuple(starts)


_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "section", "article", "header", "footer", "ul", "ol", "title", "blockquote"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, one block per paragraph, headings as Markdown `#`."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
