"""What a file is, judged by its bytes (never by its name or the type its sender claims).

A short table of our own rather than libmagic or a package: the allow-list is eleven types,
each recognised by a fixed signature or, for the office formats, by the entries of the ZIP
they are, which a magic-number table alone cannot tell apart. Anything not recognised is
refused, HTML, SVG, XML, scripts and executables included. Pure: no I/O, no imports of ours.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileType:
    name: str  # the allow-list's name (CHATSERVER_FILE_TYPES)
    mime: str  # what downloads are served as
    extensions: tuple[str, ...]  # the first is the one a corrected name gets
    image: bool = False


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
TYPES: dict[str, FileType] = {
    t.name: t
    for t in (
        FileType("png", "image/png", (".png",), image=True),
        FileType("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe"), image=True),
        FileType("gif", "image/gif", (".gif",), image=True),
        FileType("webp", "image/webp", (".webp",), image=True),
        FileType("pdf", "application/pdf", (".pdf",)),
        FileType("txt", "text/plain; charset=utf-8", (".txt", ".log", ".csv", ".md")),
        FileType("docx", _OOXML + "wordprocessingml.document", (".docx",)),
        FileType("xlsx", _OOXML + "spreadsheetml.sheet", (".xlsx",)),
        FileType("pptx", _OOXML + "presentationml.presentation", (".pptx",)),
        FileType("odt", _ODF + "text", (".odt",)),
        FileType("ods", _ODF + "spreadsheet", (".ods",)),
    )
}

_ODF_MIMETYPES = {_ODF + "text": "odt", _ODF + "spreadsheet": "ods"}
_OOXML_PARTS: tuple[tuple[str, str], ...] = (
    ("word/document.xml", "docx"),
    ("xl/workbook.xml", "xlsx"),
    ("ppt/presentation.xml", "pptx"),
)
# Control characters a text file has no business holding (tab, newline, form feed and
# carriage return are fine).
# Persian writes with the zero-width non-joiner (and joiner): format characters a name keeps,
# unlike the bidi overrides that could make "gpj.exe" read as "exe.jpg".
_JOINERS = frozenset("\u200c\u200d")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(data: bytes) -> FileType | None:
    """The type ``data`` is, or None when it is none of :data:`TYPES` (refuse it)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return TYPES["gif"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return TYPES["webp"]
    if data.startswith(b"%PDF-"):
        return TYPES["pdf"]
    if data.startswith(b"PK\x03\x04"):
        return _office(data)
    return TYPES["txt"] if _plain_text(data) else None


def _office(data: bytes) -> FileType | None:
    """An ODF or OOXML document by the entries of its ZIP (only names and the tiny
    ``mimetype`` entry are read: nothing is decompressed in bulk). Macro-enabled
    documents are refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return None
            if "mimetype" in names and z.getinfo("mimetype").file_size <= 100:
                found = _ODF_MIMETYPES.get(z.read("mimetype").decode("ascii", "replace"))
                return TYPES[found] if found else None
            if "[Content_Types].xml" in names:
                for part, name in _OOXML_PARTS:
                    if part in names:
                        return TYPES[name]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, NotImplementedError):
        return None
    return None


def _plain_text(data: bytes) -> bool:
    """UTF-8 text without control characters that does not begin as markup (HTML, SVG, XML:
    a browser may render those however they are served, so they are never accepted)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if not text.strip() or _CONTROL.search(text):
        return False
    return not text.lstrip().startswith("<")


def allowed(ftype: FileType, allow_list: str) -> bool:
    return ftype.name in allow_list.split()


def safe_name(claimed: str, ftype: FileType) -> str:
    """The name the file is kept and offered under: no path, no control or bidi-override
    characters, at most 120 characters, with an extension that agrees with its type (a
    name whose extension disagrees gets the type's own, e.g. ``photo.html`` -> ``photo.png``).
    """
    base = claimed.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c in _JOINERS or unicodedata.category(c) not in ("Cc", "Cf"))
    base = unicodedata.normalize("NFC", base).strip().strip(".") or "file"
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    if ext and f".{ext.lower()}" in ftype.extensions:
        ext = f".{ext.lower()}"
    else:
        stem, ext = (stem if dot else base), ftype.extensions[0]
    return stem[: 120 - len(ext)].rstrip() + ext
