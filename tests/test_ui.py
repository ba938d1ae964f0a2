"""The web UI's handler functions, called directly (no browser)."""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path
from types import ModuleType

import pytest

from kb import cards, ui_handlers
from kb.models.loaded import Models
from kb.qa.answer import Answer
from kb.qa.cite import Citation
from kb.qa.lexicon import load_lexicon
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

HAIKU_Q = "What is Claude Haiku 4.5's SWE-bench Verified score?"
ABSTAIN_Q = "What is the price of GPT-5?"

NEW_ARTICLE = (
    "# 부산 바다 도서관\n\n"
    "## 이용 안내\n"
    "부산 바다 도서관은 해운대 해변 옆에 있으며 매주 월요일에 휴관합니다. "
    "열람실 좌석은 모두 120석이고 무료로 이용할 수 있습니다.\n"
).encode()


@pytest.fixture(scope="module")
def ui() -> ModuleType:
    """kb.ui, imported by the tests that use it (gradio is slow to import: the
    fast tier's rendering tests need only kb.cards)."""
    from kb import ui as module

    return module


def _marks(panel: str) -> list[str]:
    return re.findall(r"<mark class='kb-quote'>(.*?)</mark>", panel, flags=re.S)


@pytest.fixture()
def tiny_kb(tiny_corpus: Path, tmp_path: Path, models: Models) -> KnowledgeBase:
    """A writable KnowledgeBase over the tiny fixture corpus (uploads and rebuilds)."""
    kb = KnowledgeBase(
        Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "index"), models=models
    )
    kb.build()
    return kb


# ------------------------------------------------------------ asking


def test_answer_cites_highlighted_quote(corpus_kb: KnowledgeBase) -> None:
    history, panel = ui_handlers.respond(corpus_kb, HAIKU_Q, [])
    assert [m["role"] for m in history] == ["user", "assistant"]
    bubble = history[-1]["content"]
    assert "73.3%" in bubble
    assert re.search(r"<span class='kb-marker'>\[1\]</span>", bubble)

    answer = corpus_kb.ask(HAIKU_Q)
    assert answer.citations and not answer.abstained
    marks = _marks(panel)
    assert len(marks) == len(answer.citations)
    assert any("73.3%" in m for m in marks)
    for c, mark in zip(answer.citations, marks, strict=True):
        quote = c.passage[c.quote_start - c.start : c.quote_end - c.start]
        assert mark == html.escape(quote, quote=True)
        assert html.escape(c.title) in panel
        assert html.escape(c.section) in panel
        assert c.source in panel
        assert f"characters {c.start}–{c.end}" in panel
        # the highlighted quote sits inside the whole passage, which is shown
        assert html.escape(c.passage).replace(html.escape(quote), "") in (
            panel.replace(f"<mark class='kb-quote'>{mark}</mark>", "")
        )


def test_korean_question_answers_with_citation(corpus_kb: KnowledgeBase) -> None:
    history, panel = ui_handlers.respond(
        corpus_kb, "클로드 하이쿠 4.5의 SWE-bench Verified 점수는?", None
    )
    assert "73.3%" in history[-1]["content"]
    assert any("73.3%" in m for m in _marks(panel))


def test_follow_up_keeps_history(corpus_kb: KnowledgeBase) -> None:
    history, _ = ui_handlers.respond(corpus_kb, HAIKU_Q, [])
    history, _ = ui_handlers.respond(
        corpus_kb, "클로드 하이쿠 4.5의 SWE-bench Verified 점수는?", history
    )
    assert [m["role"] for m in history] == ["user", "assistant"] * 2


def test_abstain_shows_not_found_and_no_passages(corpus_kb: KnowledgeBase) -> None:
    history, panel = ui_handlers.respond(corpus_kb, ABSTAIN_Q, [])
    assert load_lexicon().label("not_found", "en") in history[-1]["content"]
    assert "kb-passage" not in panel
    assert "<mark" not in panel
    assert "kb-answer-sources" not in history[-1]["content"]


def test_blank_message_is_a_friendly_prompt(corpus_kb: KnowledgeBase) -> None:
    for blank in ("", "   \n\t"):
        history, panel = ui_handlers.respond(corpus_kb, blank, [])
        assert history == [{"role": "assistant", "content": html.escape(cards.EMPTY_PROMPT)}]
        assert "Please type a question" in history[0]["content"]
        assert panel == cards.NO_CITATIONS


# ------------------------------------------------------------ rendering


def _citation(**changes: object) -> Citation:
    passage = "Intro <b>bold</b> & more. The quoted <script>x</script> sentence. Tail."
    start = 100
    q0 = passage.index("The quoted")
    q1 = passage.index(" Tail.")
    values: dict[str, object] = dict(
        n=1,
        chunk_id="c1",
        doc_id="d",
        source="a<b>.md",
        title="T <i>1</i>",
        section="S & S",
        lang="en",
        start=start,
        end=start + len(passage),
        quote=passage[q0:q1],
        quote_start=start + q0,
        quote_end=start + q1,
        passage=passage,
    )
    values.update(changes)
    return Citation(**values)  # type: ignore[arg-type]


def test_everything_is_escaped() -> None:
    c = _citation()
    answer = Answer("q <img src=x onerror=alert(1)>", "It is <b>x</b> [1]", [c], False, 0.9)
    bubble = cards.render_answer(answer)
    panel = cards.render_citations(answer)
    for text in (bubble, panel):
        assert "<script>" not in text and "<b>" not in text and "<i>" not in text
        assert "<img" not in text
    assert "&lt;script&gt;x&lt;/script&gt;" in panel
    assert "T &lt;i&gt;1&lt;/i&gt;" in panel and "S &amp; S" in panel
    assert _marks(panel) == [html.escape("The quoted <script>x</script> sentence.")]
    assert panel.index("Intro &lt;b&gt;bold") < panel.index("<mark")


def test_quote_offsets_outside_passage_do_not_break_rendering() -> None:
    c = _citation(quote_start=5, quote_end=9)
    out = cards.highlight_passage(c)
    assert "Intro &lt;b&gt;" in out and "<mark class='kb-quote'>" in out


def test_abstained_answer_renders_no_passages() -> None:
    answer = Answer("q", load_lexicon().label("not_found", "ko"), [], True, 0.1)
    assert load_lexicon().label("not_found", "ko") in cards.render_answer(answer)
    panel = cards.render_citations(answer)
    assert "kb-cite" not in panel.replace("kb-cites", "") and "<mark" not in panel


# ------------------------------------------------------------ status and sources


def test_status_shows_counts_model_and_build_time(corpus_kb: KnowledgeBase) -> None:
    s = corpus_kb.status()
    text = ui_handlers.status_html(corpus_kb)
    assert f"<b>{s.documents}</b> documents" in text
    assert f"<b>{s.chunks}</b> chunks" in text
    assert html.escape(s.model) in text
    assert "built " + s.built_at[:10] in text
    assert s.documents == 4


def test_status_without_index(tmp_path: Path, models: Models) -> None:
    kb = KnowledgeBase(Settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i"), models=models)
    assert "No index yet" in ui_handlers.status_html(kb)
    assert ui_handlers.sources_rows(kb) == []
    history, _ = ui_handlers.respond(kb, HAIKU_Q, [])
    assert "kb index" in history[-1]["content"] or "no index" in history[-1]["content"]


def test_sources_list_every_article(corpus_kb: KnowledgeBase) -> None:
    rows = ui_handlers.sources_rows(corpus_kb)
    docs = corpus_kb.index.manifest.documents
    assert len(rows) == len(docs) == 4
    by_file = {r[1]: r for r in rows}
    for d in docs.values():
        title, _source, lang, chunks, when = by_file[d.source]
        assert (title, chunks) == (d.title, len(d.chunk_ids))
        assert lang == cards.LANGUAGES[d.lang]
        assert when.startswith(d.indexed_at[:10])
    assert {r[2] for r in rows} >= {"Korean", "Chinese"}


# ------------------------------------------------------------ changing the index


def test_upload_adds_article_and_embeds_only_it(tiny_kb: KnowledgeBase, tmp_path: Path) -> None:
    src = tmp_path / "upload" / "Busan Sea Library.ko.md"
    src.parent.mkdir()
    src.write_bytes(NEW_ARTICLE)
    before = tiny_kb.status()
    stages: list[str] = []
    msg = ui_handlers.add_article(tiny_kb, str(src), progress=lambda s, d, t: stages.append(s))
    assert msg.startswith("Saved busan-sea-library.ko.md"), msg
    assert "added 1" in msg and "unchanged 3" in msg
    assert (tiny_kb.settings.corpus_dir / "busan-sea-library.ko.md").read_bytes() == NEW_ARTICLE
    after = tiny_kb.status()
    assert after.documents == before.documents + 1
    assert after.chunks > before.chunks
    assert "embed sentences" in stages
    # only the new article's texts were embedded: everything else came from the cache
    report = re.search(r"(\d+) texts embedded, (\d+) reused", msg)
    assert report is not None
    embedded, reused = map(int, report.groups())
    new_doc = tiny_kb.index.manifest.documents["busan-sea-library.ko"]
    per_sentence = 2 if tiny_kb.index.second_vectors is not None else 1  # e5 and USE
    new_texts = sum(
        1 + per_sentence * len(c.sentences)
        for c in tiny_kb.index.chunks
        if c.doc_id == "busan-sea-library.ko"
    )
    assert len(new_doc.chunk_ids) >= 1
    assert 0 < embedded <= new_texts and reused > 0

    history, panel = ui_handlers.respond(
        tiny_kb, "부산 바다 도서관의 열람실 좌석은 몇 석인가요?", []
    )
    assert "120" in history[-1]["content"]
    assert "busan-sea-library.ko.md" in panel

    # the same file again is refused without the replace flag, accepted with it
    again = ui_handlers.add_article(tiny_kb, str(src))
    assert again.startswith("⚠ Not added") and "already exists" in again
    replaced = ui_handlers.add_article(tiny_kb, str(src), replace=True)
    assert replaced.startswith("Replaced busan-sea-library.ko.md"), replaced


def test_upload_refusals_are_one_line(tiny_kb: KnowledgeBase, tmp_path: Path) -> None:
    bad = tmp_path / "evil.exe"
    bad.write_bytes(b"MZ\x00\x00")
    msg = ui_handlers.add_article(tiny_kb, str(bad))
    assert msg.startswith("⚠ Not added") and "\n" not in msg
    assert ui_handlers.add_article(tiny_kb, None).startswith("⚠ Choose")
    src = tmp_path / "upload" / "x.md"
    src.parent.mkdir()
    src.write_bytes(NEW_ARTICLE)
    before = sorted(tiny_kb.settings.corpus_dir.parent.rglob("*.md"))
    assert "path traversal" in ui_handlers.add_article(tiny_kb, str(src), name="../x.md")
    assert sorted(tiny_kb.settings.corpus_dir.parent.rglob("*.md")) == before


def test_rebuild_reports(tiny_kb: KnowledgeBase) -> None:
    msg = ui_handlers.rebuild(tiny_kb)
    assert "Indexed 3 documents" in msg and "added 0" in msg and "0 texts embedded" in msg


def test_question_answered_while_a_rebuild_runs(tiny_kb: KnowledgeBase) -> None:
    """A full rebuild is held mid-way until a question has been answered from the old index."""
    question = "하늘 카페의 아메리카노 가격은 얼마인가요?"
    expected = ui_handlers.respond(tiny_kb, question, [])
    old_build = tiny_kb.status().path
    answered = threading.Event()
    in_build = threading.Event()

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embed sentences":  # chunk vectors derive from these (index/chunk_vectors.py)
            in_build.set()
            assert answered.wait(timeout=120), "the question was blocked by the rebuild"

    result: dict[str, str] = {}
    t = threading.Thread(
        target=lambda: result.update(msg=ui_handlers.rebuild(tiny_kb, True, progress))
    )
    t.start()
    assert in_build.wait(timeout=120)
    during = ui_handlers.respond(tiny_kb, question, [])
    answered.set()
    t.join(timeout=300)
    assert "⚠" not in during[0][-1]["content"]
    assert during == expected  # same answer, from the old index, while the build waited
    assert result["msg"].startswith("Indexed 3 documents")
    assert tiny_kb.status().path != old_build  # switched to the new build without a restart


def test_queue_lets_questions_run_beside_a_rebuild(
    corpus_kb: KnowledgeBase, ui: ModuleType
) -> None:
    demo = ui.build_app(corpus_kb)
    groups: dict[str, set[str | None]] = {}
    for fn in demo.fns.values():
        groups.setdefault(getattr(fn.fn, "__name__", "?"), set()).add(fn.concurrency_id)
    assert groups["on_ask"] == {"kb-ask"}
    assert groups["on_rebuild"] == groups["on_add"] == {"kb-index"}
