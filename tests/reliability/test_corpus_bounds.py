"""Corpus files stay in the corpus, and documents are bounded: links out of the corpus, decompression bombs,
documents that chunk into thousands of pieces and folders nested past the depth limit are skipped with a warning
naming them, while everything else is ingested."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest

from ingest import pipeline
from ingest.chunking import chunk_document
from ingest.loaders import SkippedFile, load_file
from ingest.pipeline import MAX_DEPTH, discover
from rag.engine import Engine
from rag.errors import OutsideCorpusError
from rag.settings import Settings
from rag.storage.store import Store
from rag.storage.sync import sync
from rag.upload import UploadError, add_upload
from tests.conftest import CORPUS, CountingEmbedder, tiny_copy

PLANTED_KEY = "OPENAI_API_KEY=sk-planted-0123456789abcdef"
TINY_DOCS = {"harbour_pact.md", "island_forum.md", "river_commission.md"}


def stored_texts(settings: Settings) -> dict[str, str]:
    """doc_id -> all its stored chunk text."""
    texts: dict[str, str] = {}
    store = Store(settings)
    try:
        for record in store.iter_records(include=("documents", "metadatas")):
            doc_id = record["metadata"]["doc_id"]
            texts[doc_id] = texts.get(doc_id, "") + record["document"]
    finally:
        store.close()
    return texts


class EmbeddingBudget(CountingEmbedder):
    """The real embedder, failing the test at once if asked to embed more than `limit` texts in all.

    A bomb that gets through would otherwise take many minutes to embed before the test could fail.
    """

    def __init__(self, inner, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit
        self.largest_call = 0

    def encode_with_spans(self, texts, spans, progress=None):
        """Refuse past the budget; else count and embed for real."""
        assert self.texts + len(texts) <= self.limit, f"asked to embed {self.texts + len(texts)} texts"
        self.largest_call = max(self.largest_call, len(texts))
        return super().encode_with_spans(texts, spans, progress)


# --- links out of the corpus (security) ------------------------------------------------------------------


def test_links_out_of_the_corpus_are_skipped_with_a_warning_and_links_inside_are_ingested(
    tmp_path, make_settings, embedder, caplog
):
    settings = tiny_copy(tmp_path, make_settings)
    corpus = settings.corpus_dir
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".env").write_text(f"{PLANTED_KEY}\n")
    (outside / "notes.md").write_text(f"# Notes\n\nThe secret is {PLANTED_KEY}.\n")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "dotenv.txt").symlink_to("../outside/.env")
    (corpus / "elsewhere").symlink_to(outside, target_is_directory=True)
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / "planted.md").symlink_to(outside / "notes.md")
    (corpus / "alias.md").symlink_to("harbour_pact.md")  # inside the corpus: fine

    with caplog.at_level(logging.WARNING):
        report = sync(settings, embedder=embedder)

    texts = stored_texts(settings)
    assert set(texts) == TINY_DOCS | {"alias.md"}
    assert texts["alias.md"] == texts["harbour_pact.md"]
    assert not any("sk-planted" in t or "root:x:0" in t for t in texts.values())
    for name in ("passwd.txt", "dotenv.txt", "elsewhere", "uploads/planted.md"):
        assert any(m.startswith(f"{name}: a link to something outside the corpus folder") for m in report.skipped), name
        assert name in caplog.text


def test_a_link_out_of_the_corpus_named_on_the_command_line_is_skipped_too(tmp_path, make_settings, embedder):
    settings = tiny_copy(tmp_path, make_settings)
    (tmp_path / "secret.env").write_text(f"{PLANTED_KEY}\n")
    link = settings.corpus_dir / "dotenv.txt"
    link.symlink_to(tmp_path / "secret.env")

    report = sync(settings, [link], embedder=embedder)

    assert report.added == 0
    assert report.skipped == ["dotenv.txt: a link to something outside the corpus folder; not ingested"]
    assert stored_texts(settings) == {}


# --- deep folders ---------------------------------------------------------------------------------------


@pytest.fixture
def deep_corpus(tmp_path, make_settings):
    """The tiny corpus plus 1,100 nested folders with a file at the bottom and one part-way down.

    Built and removed one level at a time: recursive helpers (os.makedirs, shutil.rmtree) overflow at this depth.
    """
    settings = tiny_copy(tmp_path, make_settings)
    folders = [settings.corpus_dir / "deep"]
    for _ in range(1100):
        folders[-1].mkdir()
        folders.append(folders[-1] / "d")
    (folders[-2] / "bottom.md").write_text("# Bottom\n\nNothing reaches this far down.\n")
    (folders[5] / "shallow.md").write_text("# Shallow\n\nJapan and Fiji agreed on a new fisheries patrol.\n")
    yield settings
    for folder in reversed(folders[:-1]):
        for child in folder.iterdir():
            if child.is_file():
                child.unlink()
        folder.rmdir()


def test_folders_nested_past_the_depth_limit_are_skipped_with_a_warning_and_the_rest_is_ingested(deep_corpus, embedder):
    report = sync(deep_corpus, embedder=embedder)

    shallow = "deep/d/d/d/d/d/shallow.md"
    assert set(stored_texts(deep_corpus)) == TINY_DOCS | {shallow}
    assert report.added == 4
    cut = "deep" + "/d" * MAX_DEPTH + "/"
    assert report.skipped == [f"{cut}: nested more than {MAX_DEPTH} folders deep; its files are not ingested"]


def test_discovery_of_a_deep_tree_neither_recurses_nor_lists_what_lies_past_the_limit(deep_corpus):
    files, _ = discover([deep_corpus.corpus_dir], deep_corpus.corpus_dir)

    assert {f.doc_id for f in files} == TINY_DOCS | {"deep/d/d/d/d/d/shallow.md"}


# --- decompression bombs and over-long documents --------------------------------------------------------


def docx_bomb(make_docx, paragraphs: int, chars: int) -> bytes:
    """A real .docx whose document.xml holds `paragraphs` paragraphs of `chars` characters: tiny zipped."""
    template = zipfile.ZipFile(io.BytesIO(make_docx([("Normal", "placeholder")])))
    xml = template.read("word/document.xml").decode()
    paragraph = f"<w:p><w:r><w:t>{('Japan pledged patrol boats. ' * chars)[:chars]}</w:t></w:r></w:p>"
    before, after = xml.split("<w:p>", 1)[0], xml.split("</w:p>", 1)[1]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in template.infolist():
            data = template.read(item.filename)
            if item.filename == "word/document.xml":
                data = (before + paragraph * paragraphs + after).encode()
            bomb.writestr(item, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_docx_bomb_is_skipped_while_read_and_nothing_of_it_is_embedded(tmp_path, make_settings, embedder, make_docx):
    settings = tiny_copy(tmp_path, make_settings)
    bomb = docx_bomb(make_docx, paragraphs=20_000, chars=1000)  # 20 MB of text
    assert len(bomb) < 200_000
    (settings.corpus_dir / "bomb.docx").write_bytes(bomb)
    budget = EmbeddingBudget(embedder, limit=100)  # the tiny corpus needs ~15

    report = sync(settings, embedder=budget)

    assert set(stored_texts(settings)) == TINY_DOCS
    [message] = report.skipped
    assert message.startswith(f"bomb.docx: more than {settings.max_doc_chars:,} characters of text")
    assert "RAG_MAX_DOC_CHARS" in message


@pytest.mark.parametrize("suffix", [".md", ".html", ".pdf", ".docx"])
def test_every_format_stops_reading_at_the_character_cap(tmp_path, make_pdf, make_docx, suffix):
    sentence = "Japan pledged patrol boats to the Philippines. "
    path = tmp_path / f"long{suffix}"
    if suffix == ".md":
        path.write_text("# Long\n\n" + sentence * 200)
    elif suffix == ".html":
        path.write_text("<html><body>" + f"<p>{sentence}</p>" * 200 + "</body></html>")
    elif suffix == ".pdf":
        path.write_bytes(make_pdf([[sentence] * 20 for _ in range(10)]))
    else:
        path.write_bytes(make_docx([("Normal", sentence)] * 200))

    assert len(load_file(path, path.name, max_chars=20_000).text) > 7000  # under the cap: loads whole
    with pytest.raises(SkippedFile, match=rf"{path.name}: more than 5,000 characters of text.*RAG_MAX_DOC_CHARS"):
        load_file(path, path.name, max_chars=5000)


def test_a_docx_that_unzips_past_the_limit_is_refused_before_it_is_parsed(tmp_path, make_docx, monkeypatch):
    import ingest.loaders

    monkeypatch.setattr(ingest.loaders, "MAX_UNZIPPED", 1_000_000)
    path = tmp_path / "wide.docx"
    path.write_bytes(docx_bomb(make_docx, paragraphs=2000, chars=1000))  # 2 MB of XML

    with pytest.raises(SkippedFile, match=r"wide.docx: expands to \d MB, over the 1 MB a .docx may hold"):
        load_file(path, path.name)


def test_a_document_over_the_chunk_cap_is_skipped_before_anything_is_embedded(tmp_path, make_settings, embedder):
    settings = tiny_copy(tmp_path, make_settings).model_copy(update={"max_doc_chunks": 100})
    sections = "".join(f"# Section {i}\n\nJapan funded boat number {i}.\n\n" for i in range(500))
    (settings.corpus_dir / "sections.md").write_text(sections)  # 17 kB, but one chunk per heading
    budget = EmbeddingBudget(embedder, limit=100)

    report = sync(settings, embedder=budget)

    assert set(stored_texts(settings)) == TINY_DOCS
    assert report.skipped == ["sections.md: more than 100 chunks, over the per-document cap (RAG_MAX_DOC_CHUNKS); "
                              "split it or raise the cap"]  # fmt: skip


def test_a_large_document_is_embedded_in_groups_with_progress(tmp_path, make_settings, embedder, monkeypatch, caplog):
    monkeypatch.setattr(pipeline, "EMBED_GROUP", 16)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.md").write_text("# Long\n\n" + "".join(f"Japan funded boat number {i}. " for i in range(300)))
    settings = make_settings(corpus_dir=corpus, store_dir=tmp_path / "store", chunk_size=120, chunk_overlap=0)
    budget = EmbeddingBudget(embedder, limit=1000)

    with caplog.at_level(logging.INFO, logger="ingest.pipeline"):
        report = sync(settings, embedder=budget)

    total = report.embedded
    assert total > 50 and budget.largest_call <= 16
    assert f"embedding long.md: 16 of {total} chunks" in caplog.text
    assert f"embedding long.md: {total} of {total} chunks" in caplog.text
    assert report.chunks == total


def test_an_upload_over_a_cap_is_refused_and_removed(tmp_path, make_settings, embedder, make_docx):
    settings = tiny_copy(tmp_path, make_settings).model_copy(
        update={"allow_upload": True, "upload_max_mb": 1.0, "llm_backend": "extractive"}
    )
    engine = Engine(settings, Store(settings), EmbeddingBudget(embedder, limit=100), "extractive")
    src = tmp_path / "bomb.docx"
    src.write_bytes(docx_bomb(make_docx, paragraphs=20_000, chars=1000))

    cap = f"{settings.max_doc_chars:,}"
    with pytest.raises(UploadError, match=rf"bomb.docx could not be ingested: more than {cap} characters.*"
                                          r"RAG_MAX_DOC_CHARS"):  # fmt: skip
        add_upload(engine, src, "bomb.docx")

    assert not any((settings.corpus_dir / "uploads").iterdir())


def test_the_default_caps_leave_the_shipped_corpus_ample_headroom(make_settings):
    settings = make_settings()
    docs = [load_file(p, p.name) for p in sorted(CORPUS.glob("*.md")) if p.name != "README.md"]
    chars = max(len(d.text) for d in docs)
    chunks = max(len(chunk_document(d, settings.chunk_size, settings.chunk_overlap)) for d in docs)

    assert chars * 10 <= settings.max_doc_chars, chars
    assert chunks * 10 <= settings.max_doc_chunks, chunks


# --- files named from outside the corpus ------------------------------------------------------------------


def test_a_file_named_from_outside_the_corpus_is_refused_naming_the_corpus_and_replaces_nothing(
    tmp_path, make_settings, embedder
):
    settings = tiny_copy(tmp_path, make_settings)
    sync(settings, embedder=embedder)
    before = stored_texts(settings)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "harbour_pact.md").write_text("# Harbour Pact\n\nThe pact was cancelled. Nobody signed it.\n")

    for outside in (elsewhere / "harbour_pact.md", elsewhere, settings.corpus_dir / ".." / "elsewhere"):
        with pytest.raises(OutsideCorpusError, match=rf"outside the corpus folder {settings.corpus_dir} "):
            sync(settings, [outside], embedder=embedder)

    assert stored_texts(settings) == before
