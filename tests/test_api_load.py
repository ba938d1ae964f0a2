"""200 questions from 20 concurrent clients to /api/ask over real HTTP on 127.0.0.1
while the index is rebuilt: every request answered, no 5xx, answers the same before
and after the switch (the tiny corpus, so the test stays bounded in time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.evaluation.load import run_load
from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase
from kb.settings import Settings

QUESTIONS = [
    "How much does a city bike cost per day?",
    "When is the bike shop open?",
    "하늘 카페는 몇 시에 문을 여나요?",
    "成人门票多少钱?",
    "茶园的开放时间是什么时候?",
]


@pytest.mark.integration
def test_load_during_rebuild(tiny_corpus: Path, tmp_path: Path, models: Models) -> None:
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "index")
    kb = KnowledgeBase(settings, models=models)
    kb.build()
    builder = KnowledgeBase(settings, models=models)
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(200)]
    report = run_load(kb, builder, questions, clients=20, rebuild_after=20)
    assert report.requests == 200
    assert report.ok == 200, report
    assert report.errors_5xx == 0 and report.failed == 0
    assert report.rebuild_seconds > 0 and report.builds_seen >= 2
    assert not report.inconsistent
