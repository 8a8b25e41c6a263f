"""Finding the documents to index: a corpus folder with a manifest, or loose files."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from index.load import SUPPORTED_SUFFIXES
from index.types import DocumentMeta, check_script

MANIFEST_NAME = "manifest.toml"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    meta: DocumentMeta
    name: str = ""  # what its citations call it: the uploaded file's name ("" for path.name)

    @property
    def shown_name(self) -> str:
        return self.name or self.path.name


def discover(paths: list[Path]) -> list[SourceFile]:
    """Every document named by `paths`: folders (with or without a manifest) and files."""
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            manifest = path / MANIFEST_NAME
            found.extend(read_manifest(manifest) if manifest.exists() else _loose(path))
        elif path.is_file():
            found.append(SourceFile(path, meta_from_name(path)))
        else:
            raise ValueError(f"{path}: no such file or folder")
    ids = [s.meta.doc_id for s in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"document ids appear more than once: {', '.join(duplicates)}")
    return found


def read_manifest(manifest: Path) -> list[SourceFile]:
    """The documents listed in a corpus manifest, with their metadata."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{manifest}: not valid TOML ({exc})") from exc
    entries = data.get("documents")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{manifest}: expected one or more [[documents]] tables")
    return [_entry(manifest, index, entry) for index, entry in enumerate(entries)]


def _entry(manifest: Path, index: int, entry: dict[str, object]) -> SourceFile:
    where = f"{manifest}: document {index + 1}"
    for key in ("id", "file", "title"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ValueError(f"{where}: missing or empty {key!r}")
    path = manifest.parent / str(entry["file"])
    if not path.is_file():
        raise ValueError(f"{where}: file {entry['file']!r} not found next to the manifest")
    script = entry.get("script")
    year = entry.get("year")
    groups = entry.get("groups", [])
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise ValueError(f"{where}: aliases must be a list of names, got {aliases!r}")
    if year is not None and not isinstance(year, int):
        raise ValueError(f"{where}: year must be a whole number, got {year!r}")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ValueError(f"{where}: groups must be a list of names, got {groups!r}")
    meta = DocumentMeta(
        doc_id=check_doc_id(str(entry["id"])),
        title=str(entry["title"]),
        title_en=str(entry.get("title_en", "")),
        company=str(entry.get("company", "")),
        year=year,
        doc_type=str(entry.get("doc_type", "")),
        script=check_script(str(script)) if script else None,
        parallel=str(entry["parallel"]) if entry.get("parallel") else None,
        groups=tuple(groups),
        aliases=tuple(aliases),
    )
    return SourceFile(path, meta)


def _loose(folder: Path) -> list[SourceFile]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no {', '.join(SUPPORTED_SUFFIXES)} files and no manifest")
    return [SourceFile(p, meta_from_name(p)) for p in files]


def meta_from_name(path: Path) -> DocumentMeta:
    """Metadata for a file that no manifest describes: the id and title come from its name."""
    return DocumentMeta(doc_id=slug(path.stem), title=path.stem)


# Letters, digits and Han characters: a Chinese file name keeps a readable id (「商湯年報」).
_HAN = "\u3400-\u9fff\uf900-\ufaff"
_ID = re.compile(rf"^[a-z0-9{_HAN}][a-z0-9._{_HAN}-]{{0,127}}$")


def check_doc_id(doc_id: str) -> str:
    if not _ID.match(doc_id):
        raise ValueError(f"bad document id {doc_id!r}: use lower-case letters, digits, Han "
                         "characters, . _ -")
    return doc_id


def slug(name: str) -> str:
    cleaned = re.sub(rf"[^a-z0-9._{_HAN}-]+", "-", name.lower()).strip("-.")
    if cleaned and not cleaned.replace("-", "").isascii() or name.isascii():
        return cleaned[:128].strip("-.") or "document"
    # a name of other scripts only (Japanese kana, Hangul) keeps nothing readable: a digest
    # of the whole name keeps such names apart
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned[:119]}-{digest}" if cleaned else f"doc-{digest}"
