"""load(): EPUB 2/3 built in the test with zipfile, plus broken and hostile EPUBs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from audiobook.errors import LoadError
from audiobook.load import epub as epub_module
from audiobook.load import load
from audiobook.model import Document

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="{opf}" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def xhtml(body: str, head: str = "<title>x</title>") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head>{head}</head><body>{body}</body></html>"
    )


def build(
    path: Path,
    files: dict[str, str | bytes],
    opf: str | None = "OEBPS/content.opf",
    stored: bool = False,
) -> Path:
    """An EPUB zip: mimetype first and uncompressed, as the spec wants."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        if opf is not None:
            z.writestr("META-INF/container.xml", CONTAINER.format(opf=opf))
        for name, data in files.items():
            z.writestr(name, data)
    return path


def opf3(
    manifest: str, spine: str, metadata: str = "<dc:title>T</dc:title>", head: str = ""
) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>{head}
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{metadata}</metadata>
  <manifest>{manifest}</manifest>
  <spine>{spine}</spine>
</package>"""


def simple_epub(path: Path, chapters: dict[str, str], extra: dict[str, str | bytes] | None = None,
                manifest_extra: str = "", spine_extra: str = "") -> Path:  # fmt: skip
    """A minimal EPUB3 without TOC: one spine document per entry."""
    manifest = "".join(
        f'<item id="c{i}" href="{name}" media-type="application/xhtml+xml"/>'
        for i, name in enumerate(chapters)
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    files: dict[str, str | bytes] = {
        "OEBPS/content.opf": opf3(manifest + manifest_extra, spine + spine_extra)
    }
    files.update({f"OEBPS/{name}": body for name, body in chapters.items()})
    files.update(extra or {})
    return build(path, files)


# --- EPUB 3 with nav, cover, landmarks ------------------------------------------------------

EPUB3_OPF = opf3(
    metadata="""
    <dc:title id="t1">The Quiet Harbour</dc:title>
    <meta refines="#t1" property="title-type">main</meta>
    <dc:creator id="a1">Ana Quill</dc:creator>
    <meta refines="#a1" property="role" scheme="marc:relators">aut</meta>
    <dc:creator id="a2">Ebook Maker 3000</dc:creator>
    <meta refines="#a2" property="role" scheme="marc:relators">bkp</meta>
    <dc:description>&lt;p&gt;A &lt;b&gt;small&lt;/b&gt; tale.&lt;/p&gt;
      &lt;p&gt;Of fog.&lt;/p&gt;</dc:description>
    <dc:language>en-US</dc:language>
    <dc:subject>Sea Stories</dc:subject>
    <dc:date>2020-02-02</dc:date>
    <meta property="belongs-to-collection" id="s1">Harbour Tales</meta>
    <meta refines="#s1" property="collection-type">series</meta>
    <meta refines="#s1" property="group-position">3</meta>""",
    manifest="""
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="img" href="images/front.jpg" media-type="image/jpeg" properties="cover-image"/>
    <item id="title" href="text/title.xhtml" media-type="application/xhtml+xml"/>
    <item id="ch1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/>
    <item id="ch2" href="text/Chapter%202.xhtml" media-type="application/xhtml+xml"/>
    <item id="notes" href="text/notes.xhtml" media-type="application/xhtml+xml"/>""",
    spine="""
    <itemref idref="title"/><itemref idref="nav"/><itemref idref="ch1"/>
    <itemref idref="ch2"/><itemref idref="notes" linear="no"/>""",
)
NAV = xhtml("""
<nav epub:type="toc"><h1>Contents</h1><ol>
  <li><a href="text/ch1.xhtml">Chapter One: Fog</a></li>
  <li><a href="text/Chapter%202.xhtml#start">Chapter Two</a>
    <ol><li><a href="text/Chapter%202.xhtml#later">The Bell</a></li></ol></li>
</ol></nav>
<nav epub:type="landmarks"><ol>
  <li><a epub:type="titlepage" href="text/title.xhtml">Title Page</a></li>
</ol></nav>""")


@pytest.fixture(scope="module")
def epub3(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = tmp_path_factory.mktemp("epub3") / "harbour.epub"
    build(path, {
        "OEBPS/content.opf": EPUB3_OPF,
        "OEBPS/nav.xhtml": NAV,
        "OEBPS/images/front.jpg": JPEG,
        "OEBPS/text/title.xhtml": xhtml("<h1>The Quiet Harbour</h1><p>Ana Quill</p>"),
        "OEBPS/text/ch1.xhtml": xhtml(
            "<h1>Chapter One: Fog</h1><p>The fog came in.</p>"
            "<script>SCRIPT-SHOULD-NOT-BE-READ</script><hr/><p>It stayed.</p>"
        ),
        "OEBPS/text/Chapter 2.xhtml": xhtml(
            '<p id="start">The harbour woke.</p><p>Gulls.</p>'
            '<h3>Not a TOC chapter</h3><p id="later">A bell rang twice.</p>'
        ),
        "OEBPS/text/notes.xhtml": xhtml("<p>NON-LINEAR-NOTES</p>"),
    })  # fmt: skip
    return load(path)


def headings(doc: Document) -> list[tuple[str, int]]:
    return [(doc.text[h.start : h.end], h.level) for h in doc.hints if h.kind == "heading"]


def test_epub3_metadata(epub3: Document) -> None:
    m = epub3.meta
    assert epub3.format == "epub"
    assert m.genre == "Sea Stories"  # the first subject
    assert (m.title, m.author, m.language, m.year) == (
        "The Quiet Harbour",
        "Ana Quill",
        "en-US",
        "2020",
    )
    assert m.description == "A small tale.\nOf fog."
    assert (m.series, m.series_part) == ("Harbour Tales", "3")


def test_epub3_cover(epub3: Document) -> None:
    assert epub3.meta.cover == JPEG
    assert epub3.meta.cover_mime == "image/jpeg"


def test_epub3_text_follows_the_spine(epub3: Document) -> None:
    text = epub3.text
    assert (
        text.index("The fog came in.") < text.index("It stayed.") < text.index("The harbour woke.")
    )
    assert "NON-LINEAR-NOTES" not in text  # linear="no"
    assert "SCRIPT-SHOULD" not in text
    assert "Contents" not in text  # the nav page is links, not story


def test_epub3_toc_titles_become_headings_once(epub3: Document) -> None:
    assert headings(epub3) == [("Chapter One: Fog", 1), ("Chapter Two", 1), ("The Bell", 2)]
    # ch1 already opens with its title: reused, not read twice.
    assert epub3.text.count("Chapter One: Fog") == 1
    # ch2 has no heading of its own: the TOC title is inserted as its own block.
    assert "Chapter Two\n\nThe harbour woke." in epub3.text
    assert "Gulls.\n\nNot a TOC chapter\n\nThe Bell\n\nA bell rang twice." in epub3.text


def test_epub3_landmark_title_page_is_skipped(epub3: Document) -> None:
    [skip] = [h for h in epub3.hints if h.kind == "skip"]
    assert epub3.text[skip.start : skip.end] == "The Quiet Harbour\n\nAna Quill"
    assert skip.label == "titlepage"


def test_epub3_scene_break(epub3: Document) -> None:
    [brk] = [h for h in epub3.hints if h.kind == "break"]
    assert epub3.text[brk.start : brk.end] == "* * *"


# --- EPUB 2 with NCX ----------------------------------------------------------------------

EPUB2_OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="uid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:title>Salt Roads</dc:title>
    <dc:creator opf:role="aut" opf:file-as="Moth, Ben">Ben Moth</dc:creator>
    <dc:creator opf:role="edt">Cara Edits</dc:creator>
    <dc:description>Plain description, no markup.</dc:description>
    <dc:date opf:event="modification">2023-01-01</dc:date>
    <dc:date opf:event="publication">1998-06-01</dc:date>
    <meta name="cover" content="cover-img"/>
    <meta name="calibre:series" content="Salt"/>
    <meta name="calibre:series_index" content="2.0"/>
  </metadata>
  <manifest>
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
    <item id="cover-img" href="img/c.png" media-type="image/png"/>
    <item id="a" href="a.html" media-type="application/xhtml+xml"/>
    <item id="b" href="b.html" media-type="application/xhtml+xml"/>
  </manifest>
  <spine toc="ncx"><itemref idref="a"/><itemref idref="b"/></spine>
</package>"""
NCX = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>
  <navPoint id="p1" playOrder="1"><navLabel><text>Departure</text></navLabel>
    <content src="a.html"/></navPoint>
  <navPoint id="p2" playOrder="2"><navLabel><text>Chapter 2: Arrival</text></navLabel>
    <content src="b.html"/></navPoint>
</navMap></ncx>"""


@pytest.fixture(scope="module")
def epub2(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = tmp_path_factory.mktemp("epub2") / "salt.epub"
    build(path, {
        "content.opf": EPUB2_OPF,
        "toc.ncx": NCX,
        "img/c.png": PNG,
        "a.html": xhtml('<h2 class="chapter">DEPARTURE</h2><p>They left at dawn.</p>'),
        "b.html": xhtml("<h2>Chapter 2</h2><p>They arrived at dusk.</p>"),
    }, opf="content.opf")  # fmt: skip
    return load(path)


def test_epub2_metadata_and_cover(epub2: Document) -> None:
    m = epub2.meta
    assert (m.title, m.author, m.description) == (
        "Salt Roads",
        "Ben Moth",
        "Plain description, no markup.",
    )
    assert (m.year, m.series, m.series_part) == ("1998", "Salt", "2")
    assert (m.cover, m.cover_mime) == (PNG, "image/png")


def test_epub2_ncx_headings_reuse_the_documents_own(epub2: Document) -> None:
    # "DEPARTURE" says the TOC title; "Chapter 2" is a short form of "Chapter 2: Arrival".
    assert headings(epub2) == [("DEPARTURE", 1), ("Chapter 2", 1)]
    assert epub2.text == "DEPARTURE\n\nThey left at dawn.\n\nChapter 2\n\nThey arrived at dusk."


def test_epub_without_toc_uses_markup_headings(tmp_path: Path) -> None:
    doc = load(simple_epub(tmp_path / "s.epub", {
        "one.xhtml": xhtml("<h1>One</h1><p>First.</p>"),
        "two.xhtml": xhtml("<h2>Two</h2><p>Second.</p>"),
    }))  # fmt: skip
    assert headings(doc) == [("One", 1), ("Two", 2)]
    assert doc.meta.cover is None


def test_epub_cover_found_by_name(tmp_path: Path) -> None:
    doc = load(simple_epub(
        tmp_path / "s.epub", {"one.xhtml": xhtml("<p>First.</p>")},
        extra={"OEBPS/img/Cover.jpeg": JPEG},
        manifest_extra='<item id="i9" href="img/Cover.jpeg" media-type="image/jpeg"/>',
    ))  # fmt: skip
    assert (doc.meta.cover, doc.meta.cover_mime) == (JPEG, "image/jpeg")


def test_epub_detected_by_content_without_suffix(tmp_path: Path) -> None:
    p = simple_epub(tmp_path / "s.epub", {"one.xhtml": xhtml("<p>First.</p>")})
    renamed = p.rename(tmp_path / "download")
    assert load(renamed).format == "epub"


# --- broken and hostile EPUBs ---------------------------------------------------------------


def load_error(path: Path) -> LoadError:
    with pytest.raises(LoadError) as e:
        load(path)
    assert e.value.path == path
    return e.value


def test_not_a_zip(tmp_path: Path) -> None:
    p = tmp_path / "s.epub"
    p.write_bytes(b"This is plain text pretending to be an EPUB.")
    assert load_error(p).message == "not a valid EPUB (not a zip archive)"


def test_empty_epub_file(tmp_path: Path) -> None:
    p = tmp_path / "s.epub"
    p.write_bytes(b"")
    assert load_error(p).message == "not a valid EPUB (not a zip archive)"


def test_no_opf(tmp_path: Path) -> None:
    p = build(tmp_path / "s.epub", {"OEBPS/one.xhtml": xhtml("<p>x</p>")})
    assert load_error(p).message == "not a valid EPUB (no OPF package)"


def test_no_container_but_an_opf_is_still_found(tmp_path: Path) -> None:
    p = build(tmp_path / "s.epub", {
        "book.opf": opf3('<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>',
                         '<itemref idref="a"/>'),
        "a.xhtml": xhtml("<p>Found anyway.</p>"),
    }, opf=None)  # fmt: skip
    assert load(p).text == "Found anyway."


def test_missing_spine_file_is_skipped(tmp_path: Path) -> None:
    gone = '<item id="gone" href="gone.xhtml" media-type="application/xhtml+xml"/>'
    p = simple_epub(
        tmp_path / "s.epub",
        {"one.xhtml": xhtml("<p>First.</p>")},
        manifest_extra=gone,
        spine_extra='<itemref idref="gone"/>',
    )
    assert load(p).text == "First."


def test_href_escaping_the_archive_is_refused(tmp_path: Path) -> None:
    evil = xhtml("<p>EVIL-OUTSIDE-TEXT</p>")
    p = simple_epub(
        tmp_path / "s.epub", {"one.xhtml": xhtml("<p>Inside.</p>")},
        extra={"../evil.xhtml": evil, "evil.xhtml": evil},
        manifest_extra=(
            '<item id="e1" href="../../evil.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="e2" href="/evil.xhtml" media-type="application/xhtml+xml"/>'
        ),
        spine_extra='<itemref idref="e1"/><itemref idref="e2"/>',
    )  # fmt: skip
    assert load(p).text == "Inside."


def test_only_escaping_hrefs_means_no_text(tmp_path: Path) -> None:
    p = build(tmp_path / "s.epub", {
        "OEBPS/content.opf": opf3(
            '<item id="e" href="../../evil.xhtml" media-type="application/xhtml+xml"/>',
            '<itemref idref="e"/>'),
        "../evil.xhtml": xhtml("<p>EVIL</p>"),
    })  # fmt: skip
    assert load_error(p).message == "EPUB has no readable text"


def test_xxe_in_opf_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-XXE-CONTENT")
    head = f'\n<!DOCTYPE package [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    p = build(tmp_path / "s.epub", {
        "OEBPS/content.opf": opf3(
            '<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>',
            '<itemref idref="a"/>', metadata="<dc:title>&xxe;</dc:title>", head=head),
        "OEBPS/a.xhtml": xhtml("<p>Text.</p>"),
    })  # fmt: skip
    err = load_error(p)
    assert err.message == "not a valid EPUB (unsafe XML entities in OEBPS/content.opf)"
    assert "TOP-SECRET" not in str(err)


def test_xxe_in_chapter_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-XXE-CONTENT")
    chapter = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
        "<body><p>Before &xxe; after.</p></body></html>"
    )
    doc = load(simple_epub(tmp_path / "s.epub", {"a.xhtml": chapter}))
    assert "TOP-SECRET" not in doc.text
    assert doc.text.startswith("Before")
    assert "]>" not in doc.text


def test_entity_expansion_bomb_is_refused(tmp_path: Path) -> None:
    ents = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    p = build(tmp_path / "s.epub", {
        "OEBPS/content.opf": opf3(
            '<item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>',
            '<itemref idref="a"/>', metadata="<dc:title>&l9;</dc:title>",
            head=f"\n<!DOCTYPE package [{ents}]>"),
        "OEBPS/a.xhtml": xhtml("<p>Text.</p>"),
    })  # fmt: skip
    assert "unsafe XML entities" in load_error(p).message


def test_zip_bomb_member_by_ratio(tmp_path: Path) -> None:
    bomb = xhtml("<p>" + " " * (3 * 1024 * 1024) + "x</p>")  # 3 MB deflating to a few KB
    p = simple_epub(tmp_path / "s.epub", {"a.xhtml": bomb})
    assert load_error(p).message == "EPUB member too large (possible zip bomb)"


def test_zip_bomb_member_by_declared_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real 50 MB member would make the test slow; lower the limit instead.
    monkeypatch.setattr(epub_module, "MEMBER_LIMIT", 2000)
    p = simple_epub(tmp_path / "s.epub", {"a.xhtml": xhtml("<p>" + "word " * 600 + "</p>")})
    assert load_error(p).message == "EPUB member too large (possible zip bomb)"


def test_drm_encryption_is_detected(tmp_path: Path) -> None:
    encryption = """<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
      xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>
      <enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <enc:CipherData><enc:CipherReference URI="OEBPS/a.xhtml"/></enc:CipherData>
      </enc:EncryptedData></encryption>"""
    p = simple_epub(tmp_path / "s.epub", {"a.xhtml": xhtml("<p>x</p>")},
                    extra={"META-INF/encryption.xml": encryption})  # fmt: skip
    assert load_error(p).message == "EPUB is DRM-protected"


def test_font_obfuscation_is_not_drm(tmp_path: Path) -> None:
    encryption = """<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
      xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>
      <enc:EncryptionMethod Algorithm="http://www.idpf.org/2008/embedding"/>
      <enc:CipherData><enc:CipherReference URI="OEBPS/font.otf"/></enc:CipherData>
      </enc:EncryptedData></encryption>"""
    p = simple_epub(tmp_path / "s.epub", {"a.xhtml": xhtml("<p>Readable.</p>")},
                    extra={"META-INF/encryption.xml": encryption})  # fmt: skip
    assert load(p).text == "Readable."


def test_epub_with_no_text(tmp_path: Path) -> None:
    p = simple_epub(tmp_path / "s.epub", {"a.xhtml": xhtml("<p><img src='x.png'/></p>")})
    assert load_error(p).message == "EPUB has no readable text"


def test_corrupt_member_is_skipped(tmp_path: Path) -> None:
    p = simple_epub(tmp_path / "s.epub", {
        "a.xhtml": xhtml("<p>Good chapter.</p>"),
        "b.xhtml": xhtml("<p>" + "Damaged chapter text. " * 50 + "</p>"),
    })  # fmt: skip
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("OEBPS/b.xhtml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 5 : start + 25] = bytes(20)  # garble the deflated data: CRC/zlib error
    p.write_bytes(bytes(data))
    assert load(p).text == "Good chapter."


def test_single_file_book_with_toc_anchors(tmp_path: Path) -> None:
    """Gutenberg-style: one document, chapters reached by TOC fragments, nested TOC."""
    ncx = """<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>
    <navPoint id="a"><navLabel><text>BOOK ONE</text></navLabel><content src="book.xhtml#b1"/>
      <navPoint id="b"><navLabel><text>CHAPTER I. The Mill</text></navLabel>
        <content src="book.xhtml#c1"/></navPoint>
      <navPoint id="c"><navLabel><text>CHAPTER II. The River</text></navLabel>
        <content src="book.xhtml#c2"/></navPoint>
    </navPoint></navMap></ncx>"""
    manifest = (
        '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        '<item id="b" href="book.xhtml" media-type="application/xhtml+xml"/>'
    )
    opf = opf3(manifest, '<itemref idref="b"/>').replace("<spine>", '<spine toc="ncx">')
    book = xhtml(
        '<div id="b1"><h1>BOOK ONE</h1></div>'
        '<h2 id="c1">CHAPTER I.<br/>The Mill</h2><p>Wheels turned.</p>'
        '<div class="chapter"><h2><a id="c2"></a>CHAPTER II.</h2><h3>The River</h3>'
        "<p>Water ran.</p></div>"
    )
    doc = load(build(tmp_path / "g.epub", {
        "OEBPS/content.opf": opf, "OEBPS/toc.ncx": ncx, "OEBPS/book.xhtml": book,
    }))  # fmt: skip
    assert doc.text == (
        "BOOK ONE\n\nCHAPTER I. The Mill\n\nWheels turned.\n\n"
        "CHAPTER II.\n\nThe River\n\nWater ran."
    )
    assert headings(doc) == [("BOOK ONE", 1), ("CHAPTER I. The Mill", 2), ("CHAPTER II.", 2)]
