"""Extraction rules on hand-built passages (no model): an open answer carries on
with the next sentence of its paragraph, a list question takes the list whose
sentences together score best (a table's rows too), a model named in either word
order covers an article, and the question cues added for which/list questions."""

from __future__ import annotations

import dataclasses

import pytest

from kb.ingest.document import Block, Chunk, Sentence
from kb.qa.evidence import Candidate
from kb.qa.evidence_match import at_place, corpus_names, covers, mentions_one_of, topic_terms
from kb.qa.extract.compare import winner
from kb.qa.extract.extremum import asks_extremum, threshold_asked
from kb.qa.extract.names import organizations_in, proper_names
from kb.qa.extract.text import (
    continuation,
    expected_count,
    list_answer,
    list_blocks,
    open_answer,
    yes_no,
)
from kb.qa.extract.which import named_list, which
from kb.qa.figures import Figure
from kb.qa.hits import Hit, Retrieval
from kb.qa.lexicon import Lexicon, load_lexicon
from kb.qa.question import analyze, as_description, as_item_count, parts
from kb.scripts import simplified


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return load_lexicon()


def _chunk(raw: str, spans: list[tuple[str, str, int]], blocks: tuple[Block, ...] = ()) -> Chunk:
    """A chunk of ``raw`` (starting at file offset 0) whose sentences are the given
    substrings, each with its role and block."""
    sentences = []
    pos = 0
    for text, role, block in spans:
        start = raw.index(text, pos)
        sentences.append(Sentence(start, start + len(text), text, role, block))
        pos = start + len(text)
    return Chunk("c:0", "doc", "doc.md", "Doc", "Section", "en", 0, len(raw), raw, raw,
                 tuple(sentences), blocks)  # fmt: skip


def _cand(chunk: Chunk, position: int) -> Candidate:
    s = chunk.sentences[position]
    block = chunk.blocks[s.block] if s.block >= 0 else None
    hit = Hit(chunk, 1.0, 1, 0)
    return Candidate(hit, position, s, block, None, None, (), (), {})


PROSE = "The team chose a new approach. It trained one model on many tasks.\n\nNext topic here."


def test_open_answer_carries_on_with_the_next_sentence_of_its_paragraph(lex: Lexicon) -> None:
    chunk = _chunk(
        PROSE,
        [
            ("The team chose a new approach.", "", -1),
            ("It trained one model on many tasks.", "", -1),
            ("Next topic here.", "", -1),
        ],
    )
    q = analyze("How did the team overcome the problem?", lex)
    ex = open_answer(q, [(1.0, _cand(chunk, 0))], lex)
    assert ex.lead == "The team chose a new approach. It trained one model on many tasks."
    assert [c.sentence.text for c in ex.evidence] == [
        "The team chose a new approach.",
        "It trained one model on many tasks.",
    ]
    # a blank line ends the paragraph: the second sentence does not carry on
    assert continuation(_cand(chunk, 1)) is None
    # the last sentence of a passage has none either
    assert continuation(_cand(chunk, 2)) is None


def test_no_continuation_into_a_list_or_a_heading() -> None:
    raw = "Benefits follow here.\n- Faster work\nA heading line"
    items = (Sentence(22, 35, "- Faster work", "item", 0),)
    block = Block("list", "S", 0, 35, raw[:35], None, None, items)
    chunk = _chunk(
        raw,
        [
            ("Benefits follow here.", "", -1),
            ("- Faster work", "item", 0),
            ("A heading line", "", -1),
        ],
        (block,),
    )
    assert continuation(_cand(chunk, 0)) is None  # the next one is a list item
    assert continuation(_cand(chunk, 1)) is None  # an item does not carry on into prose
    title = _chunk(
        "One sentence.\nA heading line", [("One sentence.", "", -1), ("A heading line", "", -1)]
    )
    assert continuation(_cand(title, 0)) is None  # no sentence end: a heading


def _list_chunk() -> Chunk:
    raw = (
        "Artifacts are a new feature.\nExpected effects:\n- Productivity\n- Creativity\n- Learning"
    )
    lead_s = Sentence(29, 46, "Expected effects:", "lead", 0)
    items = tuple(
        Sentence(raw.index(t), raw.index(t) + len(t), t, "item", 0)
        for t in ("- Productivity", "- Creativity", "- Learning")
    )
    block = Block("list", "S", 29, len(raw), raw[29:], lead_s, None, items)
    return _chunk(
        raw,
        [
            ("Artifacts are a new feature.", "", -1),
            ("Expected effects:", "lead", 0),
            ("- Productivity", "item", 0),
            ("- Creativity", "item", 0),
            ("- Learning", "item", 0),
        ],
        (block,),
    )


def test_a_list_whose_items_together_outscore_a_prose_sentence_answers(lex: Lexicon) -> None:
    chunk = _list_chunk()
    # the prose sentence is the best single candidate (0.4); the list's lead-in and
    # items hold 0.1 + 0.08 + 0.06 + 0.06 = 0.30 together, 0.75 of the best (>= 0.3)
    scored = [
        (0.4, _cand(chunk, 0)),
        (0.1, _cand(chunk, 1)),
        (0.08, _cand(chunk, 2)),
        (0.06, _cand(chunk, 3)),
        (0.06, _cand(chunk, 4)),
    ]
    blocks = list_blocks(scored)
    assert len(blocks) == 1 and blocks[0][0] == pytest.approx(0.30)
    q = analyze("What benefits are artifacts expected to deliver?", lex)
    assert q.qtype == "list"
    ex = list_answer(q, scored, lex)
    assert ex.whole_block and ex.items == ["Productivity", "Creativity", "Learning"]
    # the same sentence counted twice (two overlapping passages) counts once
    assert list_blocks([*scored, (0.06, _cand(chunk, 4))])[0][0] == pytest.approx(0.30)


def test_a_list_far_below_the_best_sentence_does_not_answer(lex: Lexicon) -> None:
    chunk = _list_chunk()
    # 0.1 together against 0.9: 0.11 of the best, under 0.3
    scored = [(0.9, _cand(chunk, 0)), (0.05, _cand(chunk, 2)), (0.05, _cand(chunk, 3))]
    q = analyze("What benefits are artifacts expected to deliver?", lex)
    ex = list_answer(q, scored, lex)
    assert not ex.whole_block and ex.evidence[0].sentence.text == "Artifacts are a new feature."


def test_a_table_answers_a_list_question_with_its_rows(lex: Lexicon) -> None:
    raw = (
        "Table 1. Core techniques\nName\tUse\n"
        "Constitutional AI\tsafe training\nMultimodal\tmany inputs"
    )
    cap = Sentence(0, 24, "Table 1. Core techniques", "lead", 0)
    header = Sentence(25, 33, "Name\tUse", "header", 0)
    rows = (
        Sentence(34, 65, "Constitutional AI\tsafe training", "row", 0),
        Sentence(66, len(raw), "Multimodal\tmany inputs", "row", 0),
    )
    block = Block("table", "S", 0, len(raw), raw, cap, header, rows)
    chunk = _chunk(
        raw,
        [(s.text, s.role, 0) for s in (cap, header, *rows)],
        (block,),
    )
    q = analyze("What core technologies does Table 1 summarize?", lex)
    ex = list_answer(q, [(0.6, _cand(chunk, 2)), (0.4, _cand(chunk, 3))], lex)
    assert ex.items == ["Constitutional AI: safe training", "Multimodal: many inputs"]


def test_a_model_named_in_either_word_order_covers_the_article() -> None:
    vocab = frozenset({"claude", "3.5", "haiku", "claude_3.5", "3.5_haiku"})
    assert covers(vocab, frozenset(), [frozenset({"haiku", "3.5", "haiku_3.5"})])
    # another version in either order does not
    assert not covers(vocab, frozenset(), [frozenset({"haiku", "4.5", "haiku_4.5"})])
    assert not covers(vocab, frozenset(), [frozenset({"sonnet", "3.5", "sonnet_3.5"})])


@pytest.mark.parametrize(
    ("question", "qtype", "figure"),
    [
        ("Which bigger model is Haiku 4.5 meant to team up with?", "which", None),
        ("하이쿠 4.5는 어떤 플래그십 모델이랑 짝지어 협업할 수 있나요?", "which", None),
        ("하이쿠 4.5는 어떤 개발 프로젝트에 특히 잘 맞아?", "list", None),
        ("하이쿠 4.5 활용 사례 쭉 알려줘", "list", None),
        ("What real-world scenarios does the Haiku 4.5 article walk through?", "list", None),
        ("what two factors will the AI race revolve around?", "list", None),
        ("Haiku 4.5 的专业编程评测列了哪几项?", "list", None),  # items, not a count
        ("Claude 3.5 Haiku 在企业里能用来做什么?", "list", None),
        ("클로드 3.5 소네트 핵심 기술 세 가지만 정리해 주세요", "list", None),
        ("How many benchmarks did Haiku 4.5 report?", "figure", "count"),
        ("What future improvements are planned for Claude 3.5 Haiku?", "list", None),
    ],
)
def test_added_question_cues(question: str, qtype: str, figure: str | None, lex: Lexicon) -> None:
    q = analyze(question, lex)
    assert q.qtype == qtype
    assert (q.figure.kind if q.figure else None) == figure


def test_a_close_runner_up_sentence_is_quoted_under_the_open_answer(lex: Lexicon) -> None:
    raw = "Artifacts is a new system. It lets people edit results live.\n\nIt changes teamwork."
    chunk = _chunk(
        raw,
        [
            ("Artifacts is a new system.", "", -1),
            ("It lets people edit results live.", "", -1),
            ("It changes teamwork.", "", -1),
        ],
    )
    q = analyze("What are artifacts for?", lex)
    best, other = _cand(chunk, 2), _cand(chunk, 0)
    # the runner-up has more than half the best share: both are shown, each cited
    ex = open_answer(q, [(0.5, best), (0.3, other)], lex)
    assert [c.sentence.text for c in ex.evidence] == [
        "It changes teamwork.",
        "Artifacts is a new system.",
    ]
    assert ex.also == 1 and ex.lead == "It changes teamwork."
    # under half: the answer is the best sentence alone
    ex = open_answer(q, [(0.7, best), (0.2, other)], lex)
    assert [c.sentence.text for c in ex.evidence] == ["It changes teamwork."]
    assert ex.also == 0
    # the best sentence's own continuation is not shown twice
    ex = open_answer(q, [(0.5, _cand(chunk, 0)), (0.45, _cand(chunk, 1))], lex)
    assert [c.sentence.text for c in ex.evidence] == [
        "Artifacts is a new system.",
        "It lets people edit results live.",
    ]
    assert ex.also == 0


@pytest.mark.parametrize(
    ("question", "attribute"),
    [
        ("What is the context window size of Claude Haiku 4.5?", "context window"),
        ("하이쿠 4.5 컨텍스트 윈도우는 몇 토큰이야?", "context window"),
        ("Claude Haiku 4.5 的上下文窗口有多大?", "context window"),
        ("클로드 3.5 소네트 파라미터 수는 몇 개야?", "parameters"),
        ("What's the training data cutoff date for claude 3.5 haiku?", "training data"),
        ("训练 Claude 4 用了多少张 GPU?", "training hardware"),
        ("乐天用 Claude 4 重构的开源代码一共有多少行?", "lines of code"),
        ("클로드 4 학습에는 어떤 데이터셋이 쓰였나요?", "training data"),
        ("Who founded Anthropic?", "founding"),
        ("What's the maximum output length of Claude 3.5 Haiku?", "output length"),
        ("How many tokens per second does Claude Haiku 4.5 generate?", "generation speed"),
        ("List the countries where Claude Haiku 4.5 is available.", "availability by country"),
        ("클로드 오푸스 4가 지원하는 프로그래밍 언어 목록 알려줘", "programming languages"),
        ("Claude Haiku 4.5 支持语音输入吗?", "audio and voice"),
        ("하이쿠 4.5가 지원하는 최대 이미지 해상도는?", "image resolution"),
        ("哪家公司收购了 Replit?", "acquisition"),
        ("Anthropic은 어느 회사에 인수됐어?", "acquisition"),
        ("What is Anthropic's valuation?", "funding and valuation"),
        ("하이쿠 4.5 무료 플랜 있어?", "free tier"),
        ("Claude Haiku 4.5 有免费额度吗?", "free tier"),
        ("Can I use Claude 3.5 Haiku for free?", "free tier"),
    ],
)
def test_questions_about_a_property_name_it(question: str, attribute: str, lex: Lexicon) -> None:
    assert analyze(question, lex).attributes == (attribute,)


def test_a_free_usage_limit_is_a_rate_limit_of_a_free_tier(lex: Lexicon) -> None:
    q = analyze("하이쿠 4.5 API 무료 사용량 한도는 얼마야?", lex)
    assert q.attributes == ("rate limit", "free tier")


@pytest.mark.parametrize(
    "question",
    [
        "Claude Haiku 4.5 能理解上下文并进行多轮交互吗?",  # context, not a context window
        "What does Claude Haiku 4.5 score on SWE-bench Verified?",
        "클로드 3.5 하이쿠는 언제 출시됐어?",
        "用 Claude Haiku 4.5 能降低运营成本吗?",
    ],
)
def test_other_questions_name_no_property(question: str, lex: Lexicon) -> None:
    assert analyze(question, lex).attributes == ()


def test_a_property_is_stated_only_with_one_of_its_terms(lex: Lexicon) -> None:
    window = next(a for a in lex.attributes if a.name == "context window")
    assert window.stated_in("支持 200K 的上下文 窗口")  # spacing ignored
    assert window.stated_in("The Context Window is 200K tokens.")
    assert not window.stated_in("能够理解上下文并进行多轮交互")


def test_capitalized_names_an_article_must_mention(lex: Lexicon) -> None:
    vocab = [frozenset({"vertex", "google", "bedrock", "amazon", "anthropic"})]
    q = analyze("Is Claude 3.5 Sonnet available on Google Cloud Vertex AI?", lex)
    # one group per run of capitalized words; "AI" is too short to be a name
    assert corpus_names(q, vocab, lex) == [frozenset({"google", "cloud", "vertex"})]
    # one word of a group suffices ("구글 클라우드" is google + 클라우드)
    assert mentions_one_of(frozenset({"google"}), corpus_names(q, vocab, lex))
    assert not mentions_one_of(frozenset({"bedrock"}), corpus_names(q, vocab, lex))
    # the first word and model names are no such names
    q = analyze("Anthropic released Claude Haiku 4.5 when?", lex)
    assert corpus_names(q, vocab, lex) == []
    # a name no article uses counts only in a yes/no question
    assert corpus_names(analyze("What runs on Microsoft Azure?", lex), vocab, lex) == []
    q = analyze("Is Claude Haiku 4.5 on Microsoft Azure?", lex)
    assert corpus_names(q, vocab, lex) == [frozenset({"microsoft", "azure"})]
    # the asked figure kind in title case is no name ("AI Safety Level", a safety cue)
    q = analyze("Is Haiku 4.5 rated at AI Safety Level 2?", lex)
    assert corpus_names(q, [frozenset({"safety", "level"})], lex) == []


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("Name the three characteristics Claude 3.5 Haiku's introduction lists.", 3),
        ("클로드 3.5 소네트 핵심 기술 세 가지만 정리해 주세요", 3),
        ("Claude 3.5 Haiku 的编码能力有哪三个亮点?", 3),
        ("List 4 use cases of Claude Haiku 4.5", 4),
        ("What use cases does Claude Haiku 4.5 have?", None),
        ("클로드 4 시리즈의 특징은?", None),  # the 4 of a model name is no count
    ],
)
def test_how_many_items_a_list_question_expects(
    question: str, count: int | None, lex: Lexicon
) -> None:
    assert expected_count(analyze(question, lex), lex) == count


def test_a_list_of_the_count_asked_for_comes_first(lex: Lexicon) -> None:
    raw = "Pros:\n- Fast\n- Cheap\nUses:\n- Chat\n- Code\n- Search"
    texts = ["Pros:", "- Fast", "- Cheap", "Uses:", "- Chat", "- Code", "- Search"]
    roles = [("lead", 0), ("item", 0), ("item", 0), ("lead", 1), ("item", 1), ("item", 1),
             ("item", 1)]  # fmt: skip
    chunk = _chunk(raw, [(t, r, b) for t, (r, b) in zip(texts, roles, strict=True)])
    s = chunk.sentences
    blocks = (
        Block("list", "S", s[0].start, s[2].end, raw[s[0].start : s[2].end], s[0], None, s[1:3]),
        Block("list", "S", s[3].start, s[6].end, raw[s[3].start : s[6].end], s[3], None, s[4:7]),
    )
    chunk = _chunk(raw, [(t, r, b) for t, (r, b) in zip(texts, roles, strict=True)], blocks)
    scored = [(0.5, _cand(chunk, 0)), (0.3, _cand(chunk, 3))]
    two = list_answer(analyze("What are its strengths?", lex), scored, lex)
    assert two.items == ["Fast", "Cheap"]
    three = list_answer(analyze("What are its three strengths?", lex), scored, lex)
    assert three.items == ["Chat", "Code", "Search"]


def _two_lists() -> Chunk:
    raw = "Pros:\n- Fast\n- Cheap\nUses:\n- Chat\n- Code\n- Search"
    texts = ["Pros:", "- Fast", "- Cheap", "Uses:", "- Chat", "- Code", "- Search"]
    roles = [("lead", 0), ("item", 0), ("item", 0), ("lead", 1), ("item", 1), ("item", 1),
             ("item", 1)]  # fmt: skip
    s = _chunk(raw, [(t, r, b) for t, (r, b) in zip(texts, roles, strict=True)]).sentences
    blocks = (
        Block("list", "S", s[0].start, s[2].end, raw[s[0].start : s[2].end], s[0], None, s[1:3]),
        Block("list", "S", s[3].start, s[6].end, raw[s[3].start : s[6].end], s[3], None, s[4:7]),
    )
    return _chunk(raw, [(t, r, b) for t, (r, b) in zip(texts, roles, strict=True)], blocks)


@pytest.mark.parametrize(
    ("question", "second", "runner_up"),
    [
        # 0.3 is 0.6 of 0.5 (>= RUNNER_UP_SHARE 0.5): both lists, the second after
        ("What are its strengths?", 0.3, ["Chat", "Code", "Search"]),
        # 0.2 is 0.4 of 0.5: the best list alone
        ("What are its strengths?", 0.2, []),
        # the chosen list has the two items asked for: no runner-up
        ("What are its two strengths?", 0.3, []),
    ],
)
def test_a_close_runner_up_list_is_shown_under_the_chosen_one(
    question: str, second: float, runner_up: list[str], lex: Lexicon
) -> None:
    chunk = _two_lists()
    ex = list_answer(
        analyze(question, lex), [(0.5, _cand(chunk, 0)), (second, _cand(chunk, 3))], lex
    )
    assert ex.whole_block and ex.items == ["Fast", "Cheap"]
    assert ex.also_items == runner_up
    assert ex.also == (1 if runner_up else 0) and len(ex.evidence) == 1 + ex.also
    if runner_up:
        assert ex.evidence[-1].sentence.text == "Uses:"


def test_an_open_answer_from_a_list_item_is_that_items_list(lex: Lexicon) -> None:
    raw = "Pros:\n- Fast\n- Cheap\nUses:\n- Chat\n- Code\n- Search"
    texts = ["Pros:", "- Fast", "- Cheap", "Uses:", "- Chat", "- Code", "- Search"]
    roles = [("lead", 0), ("item", 0), ("item", 0), ("lead", 1), ("item", 1), ("item", 1),
             ("item", 1)]  # fmt: skip
    spans = [(t, r, b) for t, (r, b) in zip(texts, roles, strict=True)]
    s = _chunk(raw, spans).sentences
    blocks = (
        Block("list", "S", s[0].start, s[2].end, raw[s[0].start : s[2].end], s[0], None, s[1:3]),
        Block("list", "S", s[3].start, s[6].end, raw[s[3].start : s[6].end], s[3], None, s[4:7]),
    )
    chunk = _chunk(raw, spans, blocks)
    # "Fast" is the best sentence; the other list's three sentences sum higher
    scored = [(0.3, _cand(chunk, 1)), (0.25, _cand(chunk, 4)), (0.25, _cand(chunk, 5)),
              (0.2, _cand(chunk, 6))]  # fmt: skip
    ex = open_answer(analyze("Why would I pick it?", lex), scored, lex)
    assert ex.whole_block and ex.items == ["Fast", "Cheap"]


def test_an_open_answer_given_as_a_list_quotes_a_close_sentence_from_outside_it(
    lex: Lexicon,
) -> None:
    raw = "Pros:\n- Fast\n- Cheap\n\nIt became a partner, not a tool."
    spans = [("Pros:", "lead", 0), ("- Fast", "item", 0), ("- Cheap", "item", 0),
             ("It became a partner, not a tool.", "", -1)]  # fmt: skip
    s = _chunk(raw, spans).sentences
    block = Block("list", "S", s[0].start, s[2].end, raw[s[0].start : s[2].end], s[0], None, s[1:3])
    chunk = _chunk(raw, spans, (block,))
    q = analyze("How does it change the role of AI?", lex)
    # "Cheap" (its own list) is no runner-up; the prose sentence at 0.2 >= 0.5 x 0.3 is
    close = open_answer(q, [(0.3, _cand(chunk, 1)), (0.25, _cand(chunk, 2)),
                            (0.2, _cand(chunk, 3))], lex)  # fmt: skip
    assert close.whole_block and close.items == ["Fast", "Cheap"]
    assert close.also == 1 and close.evidence[-1].sentence.text.startswith("It became")
    # at 0.1 (under half the best) the list stands alone
    alone = open_answer(q, [(0.3, _cand(chunk, 1)), (0.25, _cand(chunk, 2)),
                            (0.1, _cand(chunk, 3))], lex)  # fmt: skip
    assert alone.whole_block and alone.also == 0 and len(alone.evidence) == 1


@pytest.mark.parametrize(
    ("question", "benchmarks"),
    [
        ("gpt-4o mini math benchmark score?", ("math",)),
        ("What is the benchmark score of Claude 3.5 Haiku?", ()),  # "benchmark" names none
        ("What's Claude 3.5 Haiku's MATH score?", ("math",)),
        ("how good is claude 3.5 haiku at math?", ()),  # an ordinary word
    ],
)
def test_benchmarks_named_in_a_question(
    question: str, benchmarks: tuple[str, ...], lex: Lexicon
) -> None:
    assert analyze(question, lex).benchmarks == benchmarks


def test_a_which_model_answer_names_the_model_its_passage_names(lex: Lexicon) -> None:
    raw = (
        "Haiku works well in a team. It splits hard problems into parts. "
        "Teams run in parallel. It pairs with the flagship Claude Sonnet 4.5 model."
    )
    texts = [
        "Haiku works well in a team.",
        "It splits hard problems into parts.",
        "Teams run in parallel.",
        "It pairs with the flagship Claude Sonnet 4.5 model.",
    ]
    chunk = _chunk(raw, [(t, "", -1) for t in texts])
    # the best sentence and its neighbour name no model; the one that does ranks low
    scored = [(0.6, _cand(chunk, 0)), (0.3, _cand(chunk, 1)), (0.1, _cand(chunk, 3))]
    q = analyze("Which flagship model does Claude Haiku 4.5 pair with?", lex)
    ex = which(q, scored, lex)
    assert ex is not None and ex.lead == "Claude Sonnet 4.5"
    assert [c.position for c in ex.evidence] == [3, 0]
    # a model named only in another passage is no answer from this one
    other = dataclasses.replace(_chunk(raw, [(t, "", -1) for t in texts[:3]]), chunk_id="c:1")
    ex = which(q, [(0.6, _cand(other, 0)), (0.3, _cand(other, 1)), (0.1, _cand(chunk, 3))], lex)
    assert ex is not None and "Sonnet" not in ex.lead


def test_a_yes_no_answer_needs_evidence_about_what_is_asked(lex: Lexicon) -> None:
    raw = "Anthropic released Claude Opus 4 in May."
    chunk = _chunk(raw, [(raw, "", -1)])
    q = analyze("Can Claude Opus 4 generate images?", lex)
    about_it = dataclasses.replace(_cand(chunk, 0), features={"topic_second": 0.3})
    ex = yes_no(q, [(1.0, about_it)], lex)
    assert ex is not None and ex.lead.startswith("Yes — ")
    # the sentence only names the model: its similarity to "generate images" is nil
    only_named = dataclasses.replace(about_it, features={"topic_second": 0.02})
    assert yes_no(q, [(1.0, only_named)], lex) is None


def test_a_which_person_answer_takes_a_name_from_a_lower_candidate(lex: Lexicon) -> None:
    raw = "Reasoning tasks are answered quickly. Dario Amodei questioned the split."
    texts = ["Reasoning tasks are answered quickly.", "Dario Amodei questioned the split."]
    chunk = _chunk(raw, [(t, "", -1) for t in texts])
    other = dataclasses.replace(_chunk(texts[0], [(texts[0], "", -1)]), chunk_id="c:1")
    q = analyze("Who questioned the split between reasoning and general models?", lex)
    # the best sentence (another passage) names nobody; the one that does ranks low
    ex = which(q, [(0.9, _cand(other, 0)), (0.05, _cand(chunk, 1))], lex)
    assert ex is not None and "Dario Amodei" in ex.lead and ex.evidence[0].position == 1
    # below the share, it is not taken
    ex = which(q, [(0.99, _cand(other, 0)), (0.01, _cand(chunk, 1))], lex)
    assert ex is not None and "Dario" not in ex.lead


def test_a_list_of_models_is_the_series_members_a_lower_sentence_names(lex: Lexicon) -> None:
    raw = (
        "The Claude 4 series stresses reasoning. "
        "Anthropic released Claude 3.7 Sonnet, then Claude Opus 4 and Claude Sonnet 4."
    )
    texts = [
        "The Claude 4 series stresses reasoning.",
        "Anthropic released Claude 3.7 Sonnet, then Claude Opus 4 and Claude Sonnet 4.",
    ]
    chunk = _chunk(raw, [(t, "", -1) for t in texts])
    other = dataclasses.replace(_chunk(texts[0], [(texts[0], "", -1)]), chunk_id="c:1")
    q = analyze("Claude 4 系列里具体提到了哪两个模型?", lex)
    assert q.qtype == "list"
    # the best sentence names no model; a lower one names the series' two models
    ex = named_list(q, [(0.9, _cand(other, 0)), (0.05, _cand(chunk, 1))], lex)
    assert ex.lead == "Claude Opus 4，Claude Sonnet 4"
    assert ex.evidence[0].position == 1 and not ex.whole_block
    # a list question that asks for no kind of name is answered as a list
    q = analyze("Claude 4 系列有哪些技术优势?", lex)
    ex = named_list(q, [(0.9, _cand(other, 0)), (0.05, _cand(chunk, 1))], lex)
    assert "Opus" not in ex.lead


def test_a_list_cue_naming_several_benchmarks_asks_for_a_score_each(lex: Lexicon) -> None:
    q = analyze("What are Claude Haiku 4.5's SWE-bench Verified and OSWorld scores?", lex)
    assert q.qtype == "figure" and q.benchmarks == ("swe-bench verified", "osworld")
    assert analyze("What are the strengths of Claude Haiku 4.5?", lex).qtype == "list"


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("What is the highest score Claude Haiku 4.5 got?", True),
        ("Claude 3.5 Haiku 的最低分是哪个基准?", True),
        ("클로드 하이쿠 4.5의 최고 점수는?", True),
        ("Which model scored higher on Terminal-Bench?", False),  # models compared
        ("Haiku 4.5 在 OSWorld 上比 Sonnet 4 高多少?", False),  # a benchmark named
        ("What is Claude Haiku 4.5's SWE-bench Verified score?", False),  # no order
    ],
)
def test_one_models_highest_or_lowest_score_is_asked(
    question: str, asked: bool, lex: Lexicon
) -> None:
    assert asks_extremum(analyze(question, lex), lex) is asked


def test_a_benchmark_named_in_a_question_about_what_it_is_asks_no_score(lex: Lexicon) -> None:
    q = analyze("Claude 3.5 Sonnet 报告里 MMLU 测的是什么水平的知识?", lex)
    assert q.figure is None and q.qtype == "open"
    # "how is it on Terminal-Bench" still asks for the score (and abstains without one)
    q = analyze("Claude 3.5 Haiku 的 Terminal-Bench 成绩怎么样?", lex)
    assert q.figure is not None and q.figure.kind == "score"


def test_benchmarks_in_lower_case_unless_an_ordinary_word(lex: Lexicon) -> None:
    assert analyze("haiku 4.5 osworld", lex).benchmarks == ("osworld",)
    assert analyze("gpqa of claude 3.5 haiku", lex).benchmarks == ("gpqa",)
    # "math" is a word before it is a benchmark: only "math benchmark" names it
    assert analyze("haiku 4.5 math accuracy with python tools", lex).benchmarks == ()
    assert analyze("gpt-4o mini math benchmark score?", lex).benchmarks == ("math",)


def test_topic_terms_are_cjk_bigrams_and_whole_latin_words(lex: Lexicon) -> None:
    assert topic_terms("programming 语言能力", lex) == {"programming", "语言", "言能", "能力"}
    # no Latin bigrams: "programming" and "MMMLU" share none of these terms
    assert not topic_terms("coding programming", lex) & topic_terms("MMMLU 14", lex)


def test_a_count_of_listed_things_becomes_their_list(lex: Lexicon) -> None:
    q = analyze("하이쿠 4.5 기사에 나온 코딩 벤치마크는 몇 개야?", lex)
    assert q.qtype == "figure" and q.figure is not None and q.figure.kind == "count"
    listed = as_item_count(q, lex)
    assert listed is not None and listed.qtype == "list" and listed.figure is None
    # employees are no things a list of the articles enumerates; a stated count stays one
    assert as_item_count(analyze("How many employees does Anthropic have?", lex), lex) is None
    assert as_item_count(analyze("What is Claude Haiku 4.5's OSWorld score?", lex), lex) is None


def _adopters_chunk() -> Chunk:
    raw = (
        "Adoption:\n- Cursor and Replit praised the model's coding.\n"
        "- Rakuten refactored code with it for seven hours."
    )
    texts = [
        "Adoption:",
        "- Cursor and Replit praised the model's coding.",
        "- Rakuten refactored code with it for seven hours.",
    ]
    lead_s = Sentence(0, len(texts[0]), texts[0], "lead", 0)
    items = tuple(Sentence(raw.index(t), raw.index(t) + len(t), t, "item", 0) for t in texts[1:])
    block = Block("list", "S", 0, len(raw), raw, lead_s, None, items)
    return _chunk(raw, [(texts[0], "lead", 0), (texts[1], "item", 0), (texts[2], "item", 0)],
                  (block,))  # fmt: skip


def test_a_list_of_companies_led_by_the_best_lead_in_is_named_from_all_its_items(
    lex: Lexicon,
) -> None:
    chunk = _adopters_chunk()
    q = analyze("Which companies adopted Claude 4?", lex)
    assert q.qtype == "list"
    # the question matches the list's lead-in: every item's companies, each item cited
    ex = named_list(q, [(0.6, _cand(chunk, 0)), (0.2, _cand(chunk, 2))], lex)
    assert ex.lead == "Cursor, Replit, Rakuten"
    assert [c.position for c in ex.evidence] == [1, 2]
    # it matches one item best: that item's companies only
    ex = named_list(q, [(0.6, _cand(chunk, 1)), (0.2, _cand(chunk, 0))], lex)
    assert ex.lead == "Cursor, Replit"


@pytest.mark.parametrize(
    "question",
    [
        "어떤 모델이 입력 100만 토큰당 1달러야?",
        "Which model costs $1 per 1M input tokens?",
        "哪个模型的输入价格是每百万token 1美元?",
    ],
)
def test_a_price_per_million_tokens_is_no_token_volume(question: str, lex: Lexicon) -> None:
    q = analyze(question, lex)
    assert q.qtype == "which" and q.volumes == {}


def test_a_which_question_giving_a_figure_is_answered_by_its_owner_only(lex: Lexicon) -> None:
    text = "Haiku 4.5 costs $1 per million input tokens, a third of Sonnet 4 at $3."
    chunk = _chunk(text, [(text, "", -1)])
    haiku, sonnet = analyze("Claude Haiku 4.5 and Claude Sonnet 4", lex).models
    figs = (
        Figure("price", "$1", text.index("$1"), text.index("$1") + 2, 1.0, "USD", haiku),
        Figure("price", "$3", text.index("$3"), text.index("$3") + 2, 3.0, "USD", sonnet),
    )
    cand = dataclasses.replace(_cand(chunk, 0), figures=figs)
    ex = which(analyze("Which model costs $1 per 1M input tokens?", lex), [(0.9, cand)], lex)
    assert ex is not None and ex.lead == "Claude Haiku 4.5"
    # a figure no evidence states for any model: no answer, not the models named
    assert (
        which(analyze("Which model costs $7 per 1M input tokens?", lex), [(0.9, cand)], lex) is None
    )


def test_traditional_chinese_reads_in_simplified_characters() -> None:
    assert simplified("Claude Haiku 4.5 的價格是多少?") == "Claude Haiku 4.5 的价格是多少?"
    assert simplified("克劳德 3.5 Haiku 的安全等级") == "克劳德 3.5 Haiku 的安全等级"
    assert simplified("韓國 모델 가격") == "韓國 모델 가격"  # Hanja in Korean: as written


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Which models scored above 70% on SWE-bench Verified?", ("above", "%", 70.0)),
        ("SWE-bench Verified에서 70% 넘은 모델은?", ("above", "%", 70.0)),
        ("哪些模型在 SWE-bench Verified 上超过了 70%?", ("above", "%", 70.0)),
        ("哪个模型 GPQA 低于 45%?", ("below", "%", 45.0)),
        ("GPQA 45% 미만인 모델은?", ("below", "%", 45.0)),
        ("Which model scored 73.3% on SWE-bench Verified?", None),  # whose figure, no bound
        ("Claude 3.5 Haiku 的 SWE-bench 分数是多少?", None),
    ],
)
def test_a_threshold_is_a_bound_beside_a_stated_score(
    question: str, asked: tuple[str, str, float] | None, lex: Lexicon
) -> None:
    assert threshold_asked(analyze(question, lex), lex) == asked


def test_the_models_beyond_a_threshold_are_each_owner_of_a_figure_past_it(lex: Lexicon) -> None:
    text = "OSWorld: Haiku 4.5 scored 50.7%, well above Sonnet 4 (42.2%)."
    chunk = _chunk(text, [(text, "", -1)])
    haiku, sonnet = analyze("Claude Haiku 4.5 and Claude Sonnet 4", lex).models
    figs = tuple(
        Figure("score", v, text.index(v), text.index(v) + len(v), float(v[:-1]), "%", o)
        for v, o in (("50.7%", haiku), ("42.2%", sonnet))
    )
    cand = dataclasses.replace(_cand(chunk, 0), figures=figs)
    q = analyze("Which models scored above 40% on OSWorld?", lex)
    ex = which(q, [(0.9, cand)], lex)
    assert ex is not None and ex.lead == "Claude Haiku 4.5 (50.7%), Claude Sonnet 4 (42.2%)"
    q = analyze("Which model scored below 45% on OSWorld?", lex)
    ex = which(q, [(0.9, cand)], lex)
    assert ex is not None and ex.lead == "Claude Sonnet 4 (42.2%)"
    # nothing past the bound, or no sentence naming the benchmark: no answer
    assert (
        which(analyze("Which models scored above 60% on OSWorld?", lex), [(0.9, cand)], lex) is None
    )
    assert which(analyze("Which models scored above 40% on GPQA?", lex), [(0.9, cand)], lex) is None


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("When was Claude 3.5 Haiku released and what is its SWE-bench score?", ["date", "score"]),
        ("Claude 3.5 Sonnet 的安全等级和发布日期是什么?", ["safety", "date"]),
        ("클로드 3.5 하이쿠는 언제 나왔고 SWE-bench 점수는?", ["date", "score"]),
        # one kind qualified by another is one question
        ("Haiku 4.5 输出价格是输入价格的几倍?", []),
        ("클로드 하이쿠 4.5가 파이썬 도구를 쓸 때 수학 정확도는 얼마예요?", []),
        ("What is Claude Haiku 4.5's SWE-bench Verified score?", []),
    ],
)
def test_a_question_asking_two_kinds_of_figure_is_one_part_each(
    question: str, kinds: list[str], lex: Lexicon
) -> None:
    found = parts(analyze(question, lex), lex)
    assert [p.figure.kind for p in found if p.figure] == kinds
    # only the score part keeps the benchmark the question names
    assert all(bool(p.benchmarks) == (p.figure is not None and p.figure.kind == "score")
               for p in found if "SWE" in question)  # fmt: skip


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("Name the three characteristics Claude 3.5 Haiku's introduction lists.", "start"),
        ("클로드 3.5 하이쿠 글의 도입부에 나오는 특징은?", "start"),
        ("克劳德 3.5 Haiku 在开篇介绍里列出了哪三个特点?", "start"),
        ("What does the report's conclusion say about society?", "end"),
        ("결론에서 클로드 4에 대해 뭐라고 해?", "end"),
        ("Haiku 4.5 文章的结语说了什么?", "end"),
        ("When was Claude 3.5 Haiku introduced?", ""),
    ],
)
def test_a_question_can_point_at_an_articles_introduction_or_conclusion(
    question: str, place: str, lex: Lexicon
) -> None:
    assert analyze(question, lex).place == place


def test_a_question_pointing_at_a_part_reads_that_part_first(lex: Lexicon) -> None:
    first = _chunk("Intro text here.", [("Intro text here.", "", -1)])
    middle = dataclasses.replace(first, chunk_id="c:1")
    last = dataclasses.replace(first, chunk_id="c:2")
    places = {"doc": {"start": frozenset({"c:0"}), "end": frozenset({"c:2"})}}
    hits = [Hit(c, 1.0 - i / 10, i + 1, i) for i, c in enumerate((middle, first, last))]
    retrieval = Retrieval("q", hits, None, [], doc_places=places)
    assert at_place(retrieval, hits[:1], "end", 2) == [hits[2]]  # found below the top
    assert at_place(retrieval, hits[:1], "start", 2) == [hits[1]]
    assert at_place(retrieval, hits[:1], "end", 1) == hits[:1]  # beyond the answer depth
    assert at_place(retrieval, hits[:1], "", 1) == hits[:1]
    unplaced = Retrieval("q", hits, None, [])  # no place known: the passages read
    assert at_place(unplaced, hits[:1], "end", 1) == hits[:1]


@pytest.mark.parametrize(
    ("question", "ratio", "expected"),
    [
        # the first model's figure over the second's, and the direction asked
        ("Which is cheaper, Claude Haiku 4.5 or Claude Sonnet 4 in price?", 1 / 3, "haiku"),
        ("Which is more expensive, Claude Haiku 4.5 or Claude Sonnet 4 in price?", 1 / 3, "sonnet"),
        ("MATH 점수는 클로드 3.5 하이쿠와 GPT-4o mini 중 누가 더 높아?", 69.2 / 70.2, "gpt"),
        ("哪个价格更便宜,Claude Sonnet 4 还是 Claude Haiku 4.5?", 3.0, "haiku"),
        # equal figures: no winner
        ("Which is cheaper, Claude Haiku 4.5 or Claude Sonnet 4 in price?", 1.0, None),
        # arithmetic asks for the number, not the model
        ("How much cheaper is Claude Haiku 4.5 than Claude Sonnet 4?", 1 / 3, None),
        # no direction asked
        ("Compare Claude Haiku 4.5 and Claude Sonnet 4 prices.", 1 / 3, None),
    ],
)
def test_the_model_a_comparison_asks_for(
    question: str, ratio: float, expected: str | None, lex: Lexicon
) -> None:
    q = analyze(question, lex)
    best = winner(q, ratio, lex)
    if expected is None:
        assert best is None, (q.qtype, q.figure_asked, best)
    else:
        assert best is not None and expected in best.families, (q.qtype, q.figure_asked)


@pytest.mark.parametrize(
    ("sentence", "figure", "question", "another"),
    [
        # the month of a report is not a release date ...
        ("지난 2월 TechCrunch의 보도를 통해", "2월", "클로드 4는 언제 나왔어?", True),
        ("Last February TechCrunch reported a new model", "February", "When was it out?", True),
        ("据2月的报道,Anthropic正在准备", "2月", "什么时候发布的?", True),
        # ... unless the question asks about the report
        ("지난 2월 TechCrunch의 보도를 통해", "2월", "what month was the techcrunch report", False),
        # a release date stays one
        ("2024년 10월 23일 앤트로픽이 공개한 AI 모델", "10월 23일", "언제 나왔어?", False),
    ],
)
def test_a_date_of_another_event_is_no_answer(
    sentence: str, figure: str, question: str, another: bool, lex: Lexicon
) -> None:
    kind = lex.figure_kind("date")
    assert kind is not None
    end = sentence.index(figure) + len(figure)
    assert kind.of_another_event(sentence, end, question) is another


def test_names_a_sentence_gives(lex: Lexicon) -> None:
    q = analyze("Which companies besides Anthropic work on reasoning?", lex)
    # a title splits a run and is no name; the question's own company is none
    assert proper_names("Anthropic CEO Dario Amodei said", q, lex) == ["Dario Amodei"]
    # organizations written in Hangul, in the order given; a model ("GPT-4.5") is none
    text = "오픈AI의 GPT-4.5, 구글의 Gemini 등 선두 AI 개발사들"
    assert proper_names(text, q, lex)[:2] == ["OpenAI", "Google"]
    assert organizations_in(text, q, lex) == ["OpenAI", "Google"]
    # a company asked: not the person after a title; a person asked: not a company
    ko = "앤스로픽의 CEO인 다리오 아모데이(Dario Amodei)는"
    assert proper_names(ko, q, lex, people=False) == []
    who = analyze("Who questioned the dichotomy?", lex)
    assert proper_names(text, who, lex, orgs=False) == []  # "Gemini" is a model


@pytest.mark.parametrize(
    ("question", "described"),
    [
        ("Claude 3.5 Sonnet 的 MMLU 表现如何?", True),
        ("클로드 3.5 소네트의 GPQA 성능은 어때?", True),
        ("How did Claude 3.5 Sonnet do on MMLU?", True),
        # a score asked for in so many words stays a figure question
        ("클로드 3.5 소네트의 MMLU 점수는 어때?", False),
        ("What is Claude 3.5 Sonnet's MMLU score?", False),
        # no benchmark named
        ("Claude 3.5 Sonnet 表现如何?", False),
    ],
)
def test_a_benchmark_asked_about_in_words_wanting_a_description(
    question: str, described: bool, lex: Lexicon
) -> None:
    q = analyze(question, lex)
    out = as_description(q, lex)
    assert (out is not None) is described, (q.qtype, q.benchmarks)
    if out is not None:
        assert out.qtype == "open" and out.figure is None and out.benchmarks == q.benchmarks
