"""Answers on the real corpus with the real model: each question type in each
language gives the asked fact in a lead line in the asker's language, traps (a
figure stated only for a sibling model) abstain, and every citation quotes the
source file at its offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.ingest.encoding import decode
from kb.qa.answer import Answer
from kb.qa.cite import quote_matches
from kb.qa.service import KnowledgeBase

pytestmark = pytest.mark.integration


def _ask(kb: KnowledgeBase, question: str) -> Answer:
    answer = kb.ask(question)
    for c in answer.citations:
        text, _ = decode((Path(kb.settings.corpus_dir) / c.source).read_bytes())
        assert text[c.start : c.end] == c.passage
        # the file's text at the quote's offsets (an HTML article's: what a reader sees)
        assert quote_matches(text[c.quote_start : c.quote_end], c.quote)
        assert c.start <= c.quote_start < c.quote_end <= c.end
    return answer


CASES = [
    # figure
    ("What is Claude Haiku 4.5's SWE-bench Verified score?", "figure", ["73.3%", "Haiku 4.5"]),
    ("클로드 3.5 소네트의 안전 등급은?", "figure", ["ASL-2", "안전 등급"]),
    ("Claude 3.5 Haiku 是什么时候发布的?", "figure", ["2024-10-23", "日期"]),
    # which model / entity
    ("Which model scored 73.3% on SWE-bench Verified?", "which", ["Haiku 4.5"]),
    ("SWE-bench Verified에서 72.7%를 받은 모델은?", "which", ["Sonnet 4"]),
    ("Anthropic 的 CEO 是谁?", "which", ["Dario Amodei"]),
    # list
    ("클로드 3.5 하이쿠는 어떤 API 통합 옵션으로 쓸 수 있나요?", "list", ["Bedrock", "Vertex AI"]),
    ("What strategies maximize Claude 3.5 Haiku's cost efficiency?", "list", ["리소스 최적화"]),
    ("Claude Haiku 4.5 可以在哪些平台上部署?", "list", ["Bedrock", "Vertex AI"]),
    # comparison
    ("Haiku 4.5 vs Sonnet 4 on OSWorld?", "comparison", ["50.7%", "42.2%", "+8.5"]),
    ("HumanEval에서 클로드 3.5 하이쿠와 GPT-4o mini 비교", "comparison", ["88.1%", "87.2%"]),
    (
        "Claude Haiku 4.5 和 Claude Sonnet 4 的 Terminal-Bench 成绩对比",
        "comparison",
        ["41.0%", "36.4%"],
    ),
    # arithmetic
    (
        "How much do 4M input tokens and 1M output tokens cost on Claude Haiku 4.5?",
        "arithmetic",
        ["$1 × 4", "$5 × 1", "$9"],
    ),
    ("GPQA에서 클로드 3.5 하이쿠가 GPT-4o mini보다 몇 %p 높아?", "arithmetic", ["1.4"]),
    ("Claude Haiku 4.5 的输出价格是输入价格的几倍?", "arithmetic", ["5倍"]),
    # yes/no
    ("Is Claude Haiku 4.5 available on Amazon Bedrock?", "yesno", ["Bedrock"]),
    ("Claude Haiku 4.5 适合当编程助手吗?", "yesno", ["编程助手"]),
    # open
    ("What does Constitutional AI give Claude 3.5 Sonnet?", "open", ["Constitutional AI"]),
    # which is higher: the owner of the larger figure, not the other name in the sentence
    ("在 Terminal-Bench 上哪个模型得分更高?", "which", ["Haiku 4.5", "41.0%"]),
    # a benchmark written in lower case before "benchmark" is still its name
    ("gpt-4o mini math benchmark score?", "figure", ["70.2%"]),
    # a name written in the article's own script ("구글 클라우드", "앤트로픽") answers
    ("Can I use Claude 3.5 Haiku on Google Cloud?", "yesno", ["Vertex AI"]),
    ("When did Anthropic release Claude 3.5 Haiku?", "figure", ["2024-10-23"]),
    # the list of the count asked for
    ("Claude 3.5 Haiku 的编码能力有哪三个亮点?", "list", ["40.6%"]),
    # a list of models is the models the evidence names, of the series asked
    ("Claude 4 系列里具体提到了哪两个模型?", "list", ["Claude Opus 4，Claude Sonnet 4 [1]"]),
    ("Which coding tool companies praised Claude 4?", "list", ["Cursor", "Replit"]),
    # several benchmarks asked: a figure for each, from its own sentence, each cited
    ("GPT-4o mini 的 GPQA 和 MATH 分别是多少?", "figure", ["GPQA 40.2%", "MATH 70.2% [1] [2]"]),
    (
        "What are Claude Haiku 4.5's SWE-bench Verified and OSWorld scores?",
        "figure",
        ["SWE-bench Verified 73.3%", "OSWorld 50.7%"],
    ),
    # of two benchmarks only one is stated for the model: labelled as the one it is
    ("What are Claude 3.5 Haiku's OSWorld and GPQA scores?", "figure", ["— GPQA: 41.6%"]),
    # a difference with the previous generation: the table row, not the sentence above
    (
        "How many points did Claude 3.5 Haiku gain over the previous generation on SWE-bench?",
        "arithmetic",
        ["40.6% − 33.4%", "+7.2 points"],
    ),
    # one model's highest or lowest score, over every figure stated for it
    ("What is the highest score Claude Haiku 4.5 got?", "figure", ["— score: 96.3% [1]"]),
    ("클로드 하이쿠 4.5의 최고 점수는?", "figure", ["96.3%"]),
    ("Claude 3.5 Haiku 的最低分是哪个基准?", "which", ["SWE-bench：40.6%"]),
    # a partner named beside the asked one; a level ("ASL-2") or a name holding the
    # asked company's ("Anthropic Safety Level") is no partner
    ("Who did Anthropic work with to safety-test Claude 3.5 Sonnet?", "which", ["UK AISI [1]"]),
    # a benchmark named in a question about what it measures: no score is asked
    ("Claude 3.5 Sonnet 报告里 MMLU 测的是什么水平的知识?", "open", ["학부 수준"]),
    # keyword queries: a joined model name, a benchmark in lower case (shown as written)
    ("haiku4.5 osworld", "figure", ["Claude Haiku 4.5 — OSWorld: 50.7% [1]"]),
    ("gpt4o mini humaneval", "figure", ["GPT-4o mini — HumanEval: 87.2%"]),
    # a stated ratio in Chinese, for an English question as a fraction first
    ("How much cheaper is Haiku 4.5 than Sonnet 4?", "arithmetic", ["ratio: 1/3 (三分之一)"]),
    ("하이쿠 4.5는 소네트 4보다 얼마나 싸?", "arithmetic", ["1/3 (三分之一)"]),
    # a table row's figures for the two models asked, each with its model
    (
        "复杂编程问题的解决率:Claude 3.5 Sonnet 和 Claude 3 Opus 各是多少?",
        "figure",
        ["Claude 3 Opus vs Claude 3.5 Sonnet 的得分：38%，64%"],
    ),
    # "在 MATH 上比 GPT-4o mini 高吗?": 比 after a CJK word, before a Latin name, compares
    ("Claude 3.5 Haiku 在 MATH 上比 GPT-4o mini 高吗?", "comparison", ["69.2%", "70.2%", "-1.0"]),
    # two models compared across two articles: the second article's passage ranks
    # below the top five, and is read for the model the top five miss
    (
        "What was Claude 3.5 Haiku's SWE-bench score, and how does it compare with Haiku 4.5's?",
        "comparison",
        ["40.6%", "73.3%", "-32.7"],
    ),
    # a count no sentence states, of things a list enumerates: the list, counted (not
    # the "14种" languages of the MMMLU line: "programming" and "MMMLU" share "mm")
    ("하이쿠 4.5 기사에 나온 코딩 벤치마크는 몇 개야?", "list", ["— 3가지", "Terminal-Bench"]),
    ("How many API integration options does Claude 3.5 Haiku have?", "list", ["— 3 items"]),
    # "what is its name" asks for a name
    ("Anthropic CEO 叫什么名字?", "which", ["Dario Amodei [1]"]),
    # traditional Chinese reads as the simplified the article and the cues are written in
    ("Claude Haiku 4.5 的價格是多少?", "figure", ["输入 1美元", "输出 5美元"]),
    # a figure the question gives: the model it is stated for, not the other one named
    ("哪个模型的输入价格是每百万token 1美元?", "which", ["Claude Haiku 4.5 [1]"]),
    # the models past a score the question gives, each with its figure
    (
        "SWE-bench Verified에서 70% 넘은 모델은?",
        "which",
        ["Claude Haiku 4.5 (73.3%), Claude Sonnet 4 (72.7%)"],
    ),
    ("List the models scoring above 40% on GPQA.", "list", ["(41.6%)", "(40.2%)"]),
    # "which is cheaper?" with one side's price stated: the ratio the text states
    # between them answers it, and the lead names the one asked for
    (
        "Which model is cheaper, Claude Haiku 4.5 or Claude Sonnet 4?",
        "comparison",
        ["Claude Haiku 4.5 — Claude Haiku 4.5 vs Claude Sonnet 4 — price: 1/3 (三分之一) [1]"],
    ),
    ("哪个更便宜,Claude Haiku 4.5 还是 Claude Sonnet 4?", "comparison", ["Claude Haiku 4.5 — "]),
    (
        "Claude Haiku 4.5와 Claude Sonnet 4 중 어느 쪽이 더 비싸?",
        "comparison",
        ["Claude Sonnet 4 — "],
    ),
    # the figure pair's winner, by the direction asked
    (
        "在 MATH 基准上, Claude 3.5 Haiku 和 GPT-4o mini 哪个更高?",
        "comparison",
        ["GPT-4o mini — MATH"],
    ),
    # a comparison no figure answers: the sentence about both models (here the list
    # comparing 3.5 Haiku with the previous generation), not one about one of them
    (
        "How does Claude 3.5 Haiku's speed compare with Claude 3 Haiku's?",
        "comparison",
        ["유사한 처리 속도"],
    ),
    # a benchmark asked about in words that want a description, no score stated for
    # the model: what the report says of it
    ("Claude 3.5 Sonnet 的 MMLU 表现如何?", "open", ["업계 최고 수준"]),
    ("How did Claude 3.5 Sonnet do on MMLU?", "open", ["학부 수준"]),
    # "who wrote it?": the byline (its e-mail address left out)
    (
        "Claude 3.5 Sonnet 报告的作者是谁?",
        "which",
        ["Claude 3(by Anthropic), 프롬프팅·편집 신동형 [1]"],
    ),
    # companies the article writes in Hangul ("오픈AI", "구글"), not the CEO it names
    ("앤스로픽 말고 추론 기능을 강화하는 회사는?", "which", ["OpenAI", "Google"]),
    # two kinds of figure asked: each answered from its own evidence, both cited
    (
        "When was Claude 3.5 Haiku released and what is its SWE-bench score?",
        "figure",
        ["(2024-10-23)", "SWE-bench: 40.6% [1] [2]"],
    ),
]


@pytest.mark.parametrize(("question", "kind", "expected"), CASES)
def test_each_question_type_gives_the_asked_fact(
    corpus_kb: KnowledgeBase, question: str, kind: str, expected: list[str]
) -> None:
    answer = _ask(corpus_kb, question)
    assert not answer.abstained, answer.text
    assert answer.kind == kind
    for part in expected:
        assert part in answer.text, (part, answer.text)
    assert answer.citations and "[1]" in answer.lead


@pytest.mark.parametrize(
    ("question", "lang", "label"),
    [
        (
            "What is Claude 3.5 Sonnet's safety level?",
            "en",
            "Claude 3.5 Sonnet — safety level: ASL-2",
        ),
        ("클로드 3.5 소네트의 안전 등급은?", "ko", "Claude 3.5 Sonnet의 안전 등급: ASL-2"),
        ("Claude 3.5 Sonnet 的安全等级是什么?", "zh", "Claude 3.5 Sonnet 的安全等级：ASL-2"),
    ],
)
def test_the_lead_line_is_in_the_askers_language(
    corpus_kb: KnowledgeBase, question: str, lang: str, label: str
) -> None:
    answer = _ask(corpus_kb, question)
    assert answer.lang == lang
    assert answer.lead.startswith(label)
    # the quoted evidence stays in the article's language
    assert "ASL-2(Anthropic Safety Level 2)" in answer.text


def test_a_list_answer_gives_every_item_and_cites_the_list(corpus_kb: KnowledgeBase) -> None:
    answer = _ask(corpus_kb, "클로드 3.5 하이쿠는 어떤 API 통합 옵션으로 쓸 수 있나요?")
    lines = answer.text.splitlines()
    items = [line for line in lines if line.startswith("- ")]
    assert len(items) == 3 and all(line.endswith("[1]") for line in items)
    c = answer.citations[0]
    assert c.quote.startswith("개발자들은 다음과 같은 API 통합 옵션") and "Vertex AI" in c.quote


def test_two_lists_the_ranker_cannot_tell_apart_are_both_cited(corpus_kb: KnowledgeBase) -> None:
    # the article has a list of cost strategies and one of enterprise uses, in one
    # passage; neither is left out, each is cited whole
    answer = _ask(corpus_kb, "List the Claude 3.5 Haiku enterprise use cases.")
    lines = answer.text.splitlines()
    assert lines[0].endswith("[1]") and "[2]" not in lines[0]
    cited = {line[-3:] for line in lines if line.startswith("- ")}
    assert cited == {"[1]", "[2]"}
    assert any(line.startswith("- 고객 서비스 자동화 [") for line in lines)
    leads = {c.quote.splitlines()[0] for c in answer.citations}
    assert leads == {
        "하이쿠의 비용 효율성을 최대화하기 위한 전략:",
        "클로드 3.5 하이쿠는 다양한 기업 환경에서 활용될 수 있습니다:",
    }


def test_a_list_answer_to_an_open_question_quotes_a_close_sentence_too(
    corpus_kb: KnowledgeBase,
) -> None:
    # the best evidence is a list item (the artifacts' definition); the sentence that
    # answers ("…능동적인 협업 파트너로 진화합니다") scores nearly as high and is quoted under it
    answer = _ask(corpus_kb, "아티팩트 덕분에 AI의 역할이 어떻게 달라진다고 보고서에서 말하나요?")
    assert answer.kind == "open"
    last = answer.citations[-1]
    assert "능동적인 협업 파트너" in last.quote
    assert f"[{last.n}]" in answer.text.splitlines()[-1]


def test_a_question_pointing_at_the_introduction_or_conclusion_reads_it(
    corpus_kb: KnowledgeBase,
) -> None:
    # the introduction's list is of labelled lines ("빠른 처리 속도: …")
    answer = _ask(corpus_kb, "클로드 3.5 하이쿠 글의 도입부에 나오는 세 가지 특징은?")
    items = [line for line in answer.text.splitlines() if line.startswith("- ")]
    assert [i.split(":")[0] for i in items] == [
        "- 빠른 처리 속도",
        "- 비용 효율성",
        "- 다양한 활용",
    ]
    answer = _ask(corpus_kb, "Haiku 4.5 文章的结语说它在哪些方面取得了平衡?")
    assert "在性能、安全性、灵活性和成本效益之间" in answer.citations[0].quote
    assert answer.citations[0].section.startswith("结语")


def test_a_cost_cites_the_prices_it_used(corpus_kb: KnowledgeBase) -> None:
    answer = _ask(corpus_kb, "用 Haiku 4.5 处理 1000万输入token 和 200万输出token 要多少钱?")
    assert answer.kind == "arithmetic"
    assert "20美元" in answer.lead and "1美元 × 10" in answer.lead
    assert "1美元" in answer.citations[0].quote and "5美元" in answer.citations[0].quote


@pytest.mark.parametrize(
    "question",
    [
        "소네트 4.5 SWE-bench Verified 점수",  # only Haiku 4.5 and Sonnet 4 have one
        "Claude Sonnet 4.5 的 API 价格是多少?",  # only Haiku 4.5 has a price
        "클로드 3.5 하이쿠의 MMMU 점수는?",  # the Haiku cell is "-", 59.4% is GPT-4o mini's
        "What is GPT-4o mini's OSWorld score?",  # OSWorld: Haiku 4.5 and Sonnet 4 only
        "Claude Opus 4 的安全等级是多少?",  # ASL-2 is stated for Haiku 4.5 and 3.5 Sonnet
        "What is Claude 3.5 Haiku's price per million input tokens?",
        # properties no article states (lexicon "attributes")
        "Claude Haiku 4.5 的上下文窗口有多大?",
        "클로드 4 파라미터 수는 몇 개인가요?",
        "When is the knowledge cutoff of Claude Sonnet 4?",
        "Who founded Anthropic, and in what year?",
        "Claude Haiku 4.5 支持语音输入吗?",
        "클로드 오푸스 4가 지원하는 프로그래밍 언어 목록 알려줘",
        # a comparison or computation with one side missing
        "Compare Claude Opus 4 and Claude Sonnet 4 on SWE-bench Verified.",
        "Terminal-Bench에서 클로드 하이쿠 4.5와 클로드 소네트 4.5의 점수 차이는?",
        # yes/no: another model's list; a platform no article names
        "클로드 3.5 소네트는 구글 클라우드 Vertex AI에서 쓸 수 있어?",
        "Is Claude Haiku 4.5 available on Microsoft Azure?",
        # the figure with Python tools is Haiku 4.5's; Sonnet 4 has only other scores
        "Claude Sonnet 4 在 Python 工具支持下的数学成绩是多少?",
        # no evidence names a benchmark 3.7 Sonnet led
        "Which benchmark did Claude 3.7 Sonnet top?",
        # the 2x is 3.5 Sonnet over Claude 3 Opus, not over 3.7 Sonnet
        "Claude 3.7 Sonnet 比 Claude 3.5 Sonnet 快多少?",
        "What's the rate limit for the Claude Haiku 4.5 API?",
        # no article speaks of video, fine-tuning, browsing or phones (lexicon "attributes")
        "Which model does Claude Haiku 4.5 work with for video generation?",
        "Claude 4 能生成视频吗?",
        "Claude 3.5 Haiku 支持微调吗?",
        "Can Claude Haiku 4.5 browse the web?",
        "클로드 오푸스 4는 스마트폰에서 돌아가?",
        # yes/no from a sentence that only names the model (it was released)
        "Can Claude Opus 4 generate images?",
        # no article speaks of an acquisition or a valuation: the company a sentence
        # names (Cursor next to Replit) is no answer
        "哪家公司收购了 Replit?",
        "Which company acquired Anthropic?",
        "앤트로픽의 기업 가치는 얼마야?",
        # "claude4" is Claude 4: the article gives it no SWE-bench figure
        "claude4 swe-bench verified score",
        # a count of things no list enumerates, and none stated
        "How many employees does Anthropic have?",
        "How many models are in the Claude 4 series?",
        # no score is stated for Sonnet 4.5: it has no highest one
        "What is Claude Sonnet 4.5's highest benchmark score?",
        # a figure no article states for any model: not the models a sentence names
        "어떤 모델이 MMLU 88.7%야?",
        "Which model scored 90% on OSWorld?",
        # the Haiku cell of the MMMU row is "-": the row says nothing of its MMMU
        "클로드 3.5 하이쿠의 MMMU 성능은 어때?",
        # an author only a byline names, and these articles have none
        "Who wrote the Claude 4 article?",
        "Claude Haiku 4.5 文章的作者是谁?",
        # no price for either: not the sentence that introduces both
        "Claude Opus 4 和 Claude Sonnet 4 哪个更便宜?",
        "Is Claude Haiku 4.5 safer than Claude Opus 4?",
        # the only date near Claude 4 is February's TechCrunch report, no release date
        "When was Claude 4 released?",
        "클로드 4는 언제 나왔어?",
        # a free tier no article mentions: not Haiku 4.5's price (dev11-024)
        "하이쿠 4.5 API 무료 사용량 한도는 얼마야?",
        "Is there a free tier for Claude Haiku 4.5?",
    ],
)
def test_traps_abstain(corpus_kb: KnowledgeBase, question: str) -> None:
    answer = _ask(corpus_kb, question)
    assert answer.abstained, answer.text
    assert answer.citations == []
