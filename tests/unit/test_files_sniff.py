"""Type sniffing, name correction and signed links of attachments (chatserver/files/)."""

from __future__ import annotations

import pytest

from chatserver.files.links import Links
from chatserver.files.sniff import TYPES, allowed, safe_name, sniff
from tests.integration import files_support as fs


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (fs.png(), "png"),
        (fs.jpeg_with_gps(), "jpeg"),
        (b"GIF89a" + bytes(20), "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (fs.pdf(), "pdf"),
        (fs.docx(), "docx"),
        ("سلام\nدنیا".encode(), "txt"),
    ],
)
def test_known_types(data: bytes, kind: str) -> None:
    found = sniff(data)
    assert found is not None and found.name == kind


@pytest.mark.parametrize(
    "data",
    [
        fs.SVG_WITH_SCRIPT,
        fs.HTML_PAGE,
        b"\n  <script>alert(1)</script>",
        b"MZ\x90\x00" + bytes(64),
        b"\x7fELF" + bytes(64),
        b"PK\x03\x04 not a zip",
        b"text with a NUL\x00",
        b"",
    ],
)
def test_refused(data: bytes) -> None:
    assert sniff(data) is None


def test_names_agree_with_their_type() -> None:
    png, pdf = TYPES["png"], TYPES["pdf"]
    assert safe_name("photo.PNG", png) == "photo.png"
    assert safe_name("photo.html", png) == "photo.png"
    assert safe_name("../../etc/passwd", pdf) == "passwd.pdf"
    assert safe_name("C:\\Users\\x\\بارنامه.pdf", pdf) == "بارنامه.pdf"
    assert safe_name("evil\u202egpj.exe", png) == "evilgpj.png"
    assert safe_name("", pdf) == "file.pdf"
    assert safe_name("a" * 300 + ".pdf", pdf) == "a" * 116 + ".pdf"
    assert allowed(png, "png pdf") and not allowed(TYPES["docx"], "png pdf")


def test_links_are_scoped_and_expire() -> None:
    links = Links("k" * 40, 900, old_secrets=("o" * 40,))
    now = 1_700_000_000_000
    exp = links.expiry(now)
    assert exp % 60 == 0 and exp * 1000 - now >= 900_000
    url = links.url("demo", "c_1", "f_1", exp)
    sig = url.split("s=")[1]
    assert links.verify("demo", "c_1", "f_1", False, exp, sig, now) == ""
    assert links.verify("demo", "c_2", "f_1", False, exp, sig, now) == "file_link_invalid"
    assert links.verify("shop", "c_1", "f_1", False, exp, sig, now) == "file_link_invalid"
    assert links.verify("demo", "c_1", "f_1", True, exp, sig, now) == "file_link_invalid"
    assert links.verify("demo", "c_1", "f_1", False, exp + 60, sig, now) == "file_link_invalid"
    assert links.verify("demo", "c_1", "f_1", False, exp, sig, exp * 1000) == "file_link_expired"
    # A URL signed before a key rotation still opens.
    old = Links("o" * 40, 900).url("demo", "c_1", "f_1", exp).split("s=")[1]
    assert links.verify("demo", "c_1", "f_1", False, exp, old, now) == ""


def test_images_keep_only_their_pixels() -> None:
    import io

    from PIL import Image

    from chatserver.files.images import ImageRefused, reencode

    # A PNG with a page appended after its end (a polyglot): the copy kept has no trace of it.
    polyglot = fs.png(50, 40) + fs.HTML_PAGE
    clean = reencode(polyglot, "png", 1_000_000)
    assert b"<script>" not in clean.data and (clean.width, clean.height) == (50, 40)
    assert Image.open(io.BytesIO(clean.thumb)).format == "WEBP"
    jpeg = reencode(fs.jpeg_with_gps(), "jpeg", 1_000_000)
    assert not Image.open(io.BytesIO(jpeg.data)).getexif()
    # An animation stays one, frame for frame.
    frames = [Image.new("RGB", (20, 20), (80 * i, 40, 200 - 60 * i)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    gif = reencode(out.getvalue(), "gif", 1_000_000)
    assert getattr(Image.open(io.BytesIO(gif.data)), "n_frames", 1) == 3
    with pytest.raises(ImageRefused) as bomb:
        reencode(fs.png(2000, 2000), "png", 1_000_000)
    assert bomb.value.code == "file_image_too_large"
    with pytest.raises(ImageRefused) as broken:
        reencode(b"\x89PNG\r\n\x1a\n" + bytes(40), "png", 1_000_000)
    assert broken.value.code == "file_type_refused"


def test_file_settings() -> None:
    from chatserver.config import ConfigError, settings_from_env

    s = settings_from_env({"CHATSERVER_FILE_TYPES": "png, PDF"}, dotenv=None)
    assert s.file_types == "png pdf" and s.file_max_bytes == 10 * 1024 * 1024
    with pytest.raises(ConfigError, match="CHATSERVER_FILE_TYPES"):
        settings_from_env({"CHATSERVER_FILE_TYPES": "png svg"}, dotenv=None)
    with pytest.raises(ConfigError, match="CHATSERVER_S3_ENDPOINT_URL"):
        settings_from_env({"CHATSERVER_S3_ENDPOINT_URL": "ftp://x"}, dotenv=None)
    s = settings_from_env({"CHATSERVER_S3_BUCKET": "b", "CHATSERVER_FILE_MAX_BYTES": "2048"}, None)
    assert s.s3_bucket == "b" and s.file_max_bytes == 2048
