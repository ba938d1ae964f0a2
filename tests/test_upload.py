"""Validation of articles added through the web UI (ingest/upload.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import UploadError
from kb.ingest.upload import (
    MAX_UPLOAD_BYTES,
    check_size,
    existing_article,
    safe_filename,
    save_upload,
    validate_upload,
)

ARTICLE = (
    "# 서울 카페 안내\n\n성수동 카페는 오전 8시에 문을 엽니다. 라떼는 5천 원입니다.\n"
).encode()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "existing.ko.md").write_text("# 기존 글\n\n이미 있는 글입니다.\n", encoding="utf-8")
    return d


# ------------------------------------------------------------ file names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "notes.md"),
        ("Claude Haiku 4.5.zh.TXT", "claude-haiku-4.5.zh.txt"),
        ("서울 카페 안내.ko.md", "서울-카페-안내.ko.md"),
        ("茶园 介绍.html", "茶园-介绍.html"),
        ("docs/sub/article.md", "article.md"),  # directories are stripped
        ("C-drive\\folder\\a.txt", "a.txt"),  # backslash separators too
        ("what?*<>|:.md", "what.md"),
        ("a  --  b...c.md", "a-b.c.md"),
        ("ＦＵＬＬＷＩＤＴＨ.md", "fullwidth.md"),  # NFKC
    ],
)
def test_safe_filename_normalizes(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../secret.md", "path traversal"),
        ("docs/../../etc/passwd.md", "path traversal"),
        ("..\\evil.txt", "path traversal"),
        ("/etc/passwd.md", "absolute"),
        ("\\\\server\\share\\a.md", "absolute"),
        ("C:\\Users\\a.md", "absolute"),
        (".hidden.md", "hidden"),
        ("docs/.env.txt", "hidden"),
        ("bad\x00name.md", "control"),
        ("new\nline.md", "control"),
        ("rtl\u202eevil.md", "control"),  # bidi override
        ("", "no name"),
        ("   ", "no name"),
        ("folder/", "folder"),
        ("README", "no file extension"),
        ("script.py", "not supported"),
        ("page.htm.exe", "not supported"),
        ("archive.md.zip", "not supported"),
        ("???.md", "no usable characters"),
    ],
)
def test_safe_filename_refuses(name: str, message: str) -> None:
    with pytest.raises(UploadError, match=message) as info:
        safe_filename(name)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------ size and content


def test_size_limit_default_is_2mb() -> None:
    assert MAX_UPLOAD_BYTES == 2 * 1024 * 1024
    check_size(MAX_UPLOAD_BYTES)
    with pytest.raises(UploadError, match="limit is 2 MB"):
        check_size(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(UploadError, match="empty"):
        check_size(0)


def test_oversized_upload_refused(corpus: Path) -> None:
    data = b"# big\n\n" + b"x" * MAX_UPLOAD_BYTES
    with pytest.raises(UploadError, match="limit"):
        validate_upload("big.md", data, corpus)
    with pytest.raises(UploadError, match="limit"):
        validate_upload("small.md", ARTICLE, corpus, max_bytes=10)


def test_valid_upload_parses(corpus: Path) -> None:
    up = validate_upload("Seoul Cafe.ko.md", ARTICLE, corpus)
    assert up.filename == "seoul-cafe.ko.md"
    assert up.document.title == "서울 카페 안내"
    assert up.document.lang == "ko"
    assert not up.replaces


def test_legacy_encoding_decodes(corpus: Path) -> None:
    data = "茶园介绍\n\n龙井茶产于杭州西湖一带，每年三月采摘。\n".encode("gb18030")
    up = validate_upload("tea.zh.txt", data, corpus)
    assert up.document.encoding == "gb18030"
    assert "龙井茶" in up.document.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x02binary\x00", "binary"),
        (b"   \n\n  ", "empty"),
        (b"<html><body><script>x()</script></body></html>", "no text"),
        (b"", "empty"),
    ],
)
def test_undecodable_or_empty_content_refused(corpus: Path, data: bytes, message: str) -> None:
    name = "page.html" if data.startswith(b"<html") else "a.txt"
    with pytest.raises(UploadError, match=message):
        validate_upload(name, data, corpus)


# ------------------------------------------------------------ overwriting


def test_existing_article_needs_replace_flag(corpus: Path) -> None:
    with pytest.raises(UploadError, match=r"already exists.*replace"):
        validate_upload("existing.ko.md", ARTICLE, corpus)
    with pytest.raises(UploadError, match="already exists"):
        validate_upload("EXISTING.ko.md", ARTICLE, corpus)  # same name after the slug
    up = validate_upload("existing.ko.md", ARTICLE, corpus, replace=True)
    assert up.replaces
    dest = save_upload(up, corpus)
    assert dest.read_bytes() == ARTICLE


def test_same_article_id_with_other_extension_is_a_clash(corpus: Path) -> None:
    # existing.ko.md and existing.ko.txt would be one article id (existing.ko)
    assert existing_article(corpus, "existing.ko.txt") == "existing.ko.md"
    with pytest.raises(UploadError, match="already exists"):
        validate_upload("existing.ko.txt", ARTICLE, corpus)
    with pytest.raises(UploadError, match="another name or extension"):
        validate_upload("existing.ko.txt", ARTICLE, corpus, replace=True)


def test_save_writes_into_corpus_only(corpus: Path) -> None:
    up = validate_upload("sub/new article.md", ARTICLE, corpus)
    dest = save_upload(up, corpus)
    assert dest == corpus / "new-article.md"
    assert dest.read_bytes() == ARTICLE
    assert sorted(p.name for p in corpus.iterdir()) == ["existing.ko.md", "new-article.md"]


def test_save_never_overwrites_a_file_that_appeared_meanwhile(corpus: Path) -> None:
    up = validate_upload("race.md", ARTICLE, corpus)
    (corpus / "race.md").write_text("# someone else's\n\ntext here.\n", encoding="utf-8")
    with pytest.raises(UploadError, match="already exists"):
        save_upload(up, corpus)
    assert (corpus / "race.md").read_text(encoding="utf-8").startswith("# someone else's")
    assert not [p for p in corpus.iterdir() if p.name.startswith(".upload-")]
