"""Loading files into Documents: encodings, script detection, HTML, PDF and bad inputs."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from index.chunk import ChunkSettings, chunk_document
from index.load import LoadError, decode_text, load_bytes, load_document
from index.script import detect_script
from index.types import SCRIPTS, DocumentMeta, Script

META = DocumentMeta(doc_id="test", title="test")
SMALL = ChunkSettings(target=40, maximum=80, minimum=10, overlap_max=0)

SENTENCES: dict[Script, str] = {
    "zh-Hant": "商湯集團是一家人工智能軟件公司。\n2023年營業收入為3,405,842千元，"
               "日日新大模型與絕影智能汽車平台持續發展。\n",
    "zh-Hans": "商汤集团是一家人工智能软件公司。\n2023年营业收入为3,405,842千元，"
               "日日新大模型与绝影智能汽车平台持续发展。\n",
    "en": "SenseTime Group Inc. is an AI software company.\n"
          "Revenue was RMB3,405,842 thousand in 2023.\n",
}


def fixture_file(fixtures_dir: Path, script: Script) -> Path:
    return fixtures_dir / f"{script.lower()}.txt"


# ---- scripts -------------------------------------------------------------------------

@pytest.mark.parametrize("script", SCRIPTS)
def test_load_detects_the_script_of_each_fixture(fixtures_dir: Path, script: Script) -> None:
    doc = load_document(fixture_file(fixtures_dir, script), META)
    assert doc.script == script
    assert doc.source == f"{script.lower()}.txt"


@pytest.mark.parametrize("script", SCRIPTS)
def test_detect_script_tells_short_sentences_apart(script: Script) -> None:
    assert detect_script(SENTENCES[script]) == script


@pytest.mark.parametrize("script, override", [("zh-Hant", "zh-Hans"), ("zh-Hans", "zh-Hant"),
                                              ("en", "zh-Hant")])
def test_the_manifest_script_overrides_detection(fixtures_dir: Path, script: Script,
                                                 override: Script) -> None:
    meta = DocumentMeta(doc_id="test", title="test", script=override)
    assert load_document(fixture_file(fixtures_dir, script), meta).script == override


def test_text_without_han_or_latin_letters_gets_the_default_script() -> None:
    assert detect_script("3,405,842 — 12 —", default="en") == "en"
    assert detect_script("3,405,842 — 12 —") == "zh-Hant"


# ---- encodings -----------------------------------------------------------------------

ENCODINGS: list[tuple[Script, str, bytes]] = [
    ("zh-Hant", "utf-8", b""),
    ("zh-Hans", "utf-8", b""),
    ("en", "utf-8", b""),
    ("zh-Hant", "utf-8", codecs.BOM_UTF8),
    ("zh-Hans", "utf-8", codecs.BOM_UTF8),
    ("zh-Hant", "utf-16-le", codecs.BOM_UTF16_LE),
    ("zh-Hans", "utf-16-le", codecs.BOM_UTF16_LE),
    ("en", "utf-16-le", codecs.BOM_UTF16_LE),
    ("zh-Hant", "utf-16-be", codecs.BOM_UTF16_BE),
    ("zh-Hans", "utf-16-be", codecs.BOM_UTF16_BE),
    ("en", "utf-16-be", codecs.BOM_UTF16_BE),
    ("zh-Hant", "big5", b""),
    ("zh-Hant", "big5hkscs", b""),
    ("zh-Hans", "gb18030", b""),
    ("zh-Hant", "gb18030", b""),
]


@pytest.mark.parametrize("script, encoding, bom", ENCODINGS,
                         ids=[f"{s}-{e}{'-bom' if b else ''}" for s, e, b in ENCODINGS])
def test_load_decodes_common_encodings(tmp_path: Path, script: Script, encoding: str,
                                       bom: bytes) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(bom + SENTENCES[script].encode(encoding))
    doc = load_document(path, META)
    assert doc.text == SENTENCES[script]
    assert doc.script == script


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_load_turns_other_line_endings_into_newlines(ending: str) -> None:
    data = SENTENCES["zh-Hant"].replace("\n", ending).encode("utf-8")
    assert decode_text(data, "report.txt") == SENTENCES["zh-Hant"]


def test_the_fixtures_decode_identically_from_big5_and_utf8(fixtures_dir: Path) -> None:
    text = fixture_file(fixtures_dir, "zh-Hant").read_text(encoding="utf-8")
    assert decode_text(text.encode("big5hkscs"), "zh-hant.txt") == text


# ---- bad inputs ----------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63fcffff3f0005fe02fea7d6a4c0000000"
                    "0049454e44ae426082")
BAD_FILES = {
    "empty": (b"", "empty"),
    "whitespace only": (b" \n\t\r\n  \n", "empty"),
    "bom only": (codecs.BOM_UTF8 + b"\n\n", "no text"),
    "png bytes": (PNG, "binary"),
    "nul bytes": (b"revenue\x00\x00\x01\x02" * 20, "binary"),
    "control characters": (bytes(range(1, 9)) * 40, "binary"),
    "undecodable": (b"\x80\xff\x80\xff revenue \xff\x80" * 10, "cannot decode"),
    "broken utf-16": (codecs.BOM_UTF16_LE + b"\x00\xd8\x41\x00", "invalid utf-16"),
}


@pytest.mark.parametrize("data, reason", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_load_rejects_a_bad_file_naming_it(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "annual-report.txt"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason) as caught:
        load_document(path, META)
    assert "annual-report.txt" in str(caught.value)


@pytest.mark.parametrize("name, shown", [("report.doc", "'.doc'"), ("README", "'(none)'"),
                                         ("logo.png", "'.png'"), ("report.TXT.zip", "'.zip'")])
def test_load_rejects_unsupported_file_types(name: str, shown: str) -> None:
    with pytest.raises(LoadError, match="unsupported file type") as caught:
        load_bytes(b"SenseTime revenue", name, META)
    assert str(caught.value).startswith(f"{name}: unsupported file type {shown}")


def test_load_accepts_an_upper_case_extension() -> None:
    assert load_bytes(SENTENCES["en"].encode(), "REPORT.TXT", META).text == SENTENCES["en"]


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file") as caught:
        load_document(tmp_path / "missing.txt", META)
    assert "missing.txt" in str(caught.value)


def test_load_names_a_folder_given_as_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="cannot be read") as caught:
        load_document(folder, META)
    assert "folder.txt" in str(caught.value)


@pytest.mark.parametrize("data", [b"this is not a PDF\n" * 5, PNG, b"%PDF-1.4\n%%EOF\n"],
                         ids=["text", "png", "header only"])
def test_load_rejects_an_unreadable_pdf(data: bytes) -> None:
    with pytest.raises(LoadError, match="not a readable PDF") as caught:
        load_bytes(data, "filing.pdf", META)
    assert str(caught.value).startswith("filing.pdf: ")


def test_load_rejects_a_pdf_without_text() -> None:
    with pytest.raises(LoadError, match="no text layer .a scanned document"):
        load_bytes(tiny_pdf([[], []]), "scan.pdf", META)


# ---- HTML ----------------------------------------------------------------------------

HTML = """<!doctype html>
<html><head><title>SenseTime ESG</title>
<style>body { color: red; } .secret { display: none }</style>
<script>var secret = "do not index me";</script></head>
<body>
<h1>Responsible Governance</h1>
<p>SenseTime set up an ESG committee in 2022.</p>
<h2>Information Security</h2>
<p>We hold ISO&nbsp;27001 certification &amp; review it yearly.</p>
<table><tr><th>Item</th><th>2023</th></tr><tr><td>Audits</td><td>12</td></tr></table>
<script type="text/javascript">document.write("tracking");</script>
</body></html>"""


def test_html_loading_drops_scripts_and_styles() -> None:
    doc = load_bytes(HTML.encode("utf-8"), "esg.html", META)
    assert "secret" not in doc.text
    assert "tracking" not in doc.text
    assert "color" not in doc.text
    assert "ISO\xa027001 certification & review it yearly." in doc.text


def test_html_headings_become_section_titles() -> None:
    doc = load_bytes(HTML.encode("utf-8"), "esg.htm", META)
    assert "# Responsible Governance" in doc.text.splitlines()
    assert "## Information Security" in doc.text.splitlines()
    chunks = chunk_document(doc, SMALL)
    committee = next(c for c in chunks if "ESG committee" in c.clean)
    iso = next(c for c in chunks if "ISO" in c.clean)
    assert committee.section == ("Responsible Governance",)
    assert iso.section == ("Responsible Governance", "Information Security")


def test_html_table_cells_stay_on_one_line() -> None:
    doc = load_bytes(HTML.encode("utf-8"), "esg.html", META)
    assert "Audits\t12" in doc.text


# ---- PDF -----------------------------------------------------------------------------

def tiny_pdf(pages: list[list[str]]) -> bytes:
    """A valid PDF with one Helvetica text object per page, one Tj per line."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [{}] /Count {} >>".format(
            " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))), len(pages)),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        shown = [f"({line.replace(chr(92), chr(92) * 2).replace('(', '[').replace(')', ']')})"
                 " Tj T*" for line in lines]
        stream = "\n".join(["BT", "/F1 11 Tf", "14 TL", "72 720 Td", *shown, "ET"])
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\n"
                       f"stream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


PAGE_ONE = ["SenseTime Group Annual Report", "",
            "SenseTime is a leading AI software company in Asia.",
            "Our SenseCore infrastructure trains large models for many industries.",
            "We served more than three thousand customers in the year."]
PAGE_TWO = ["Financial Review", "",
            "Revenue fell to RMB3.4 billion in 2023 as smart city projects slowed.",
            "Generative AI revenue grew by two hundred percent over the year."]


def test_pdf_loading_gives_the_text_of_every_page() -> None:
    doc = load_bytes(tiny_pdf([PAGE_ONE, PAGE_TWO]), "annual.pdf", META)
    assert len(doc.page_starts) == 2
    first, second = doc.text[:doc.page_starts[1]], doc.text[doc.page_starts[1]:]
    assert "leading AI software company" in first
    assert "Revenue fell to RMB3.4 billion" in second
    assert "Revenue" not in first
    assert doc.script == "en"


def test_pdf_chunks_record_the_page_they_start_on(tmp_path: Path) -> None:
    path = tmp_path / "annual.pdf"
    path.write_bytes(tiny_pdf([PAGE_ONE, PAGE_TWO]))
    doc = load_document(path, META)
    chunks = chunk_document(doc, SMALL)
    assert len(chunks) >= 3
    for chunk in chunks:
        expected = 2 if chunk.char_start >= doc.page_starts[1] else 1
        assert chunk.page == expected, chunk.clean
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
    growth = next(c for c in chunks if "Generative AI revenue grew" in c.clean)
    assert growth.page == 2
    assert {c.page for c in chunks} == {1, 2}
