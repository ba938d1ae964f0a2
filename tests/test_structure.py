"""Lists and tables found from line layout (kb/ingest/structure.py), checked on
small hand-written texts."""

from __future__ import annotations

from kb.ingest.structure import find_spans


def _shape(text: str) -> list[tuple[str, str | None, list[str]]]:
    return [
        (s.kind, s.lead.text if s.lead else None, [i.text for i in s.items])
        for s in find_spans(text)
    ]


def test_colon_lead_and_dash_items() -> None:
    text = "강점은 다음과 같습니다:\n- 빠른 속도\n- 낮은 비용\n\n다음 문단입니다."
    assert _shape(text) == [("list", "강점은 다음과 같습니다:", ["- 빠른 속도", "- 낮은 비용"])]


def test_circled_heading_leads_the_dash_items_under_it() -> None:
    text = (
        "③ 적용 분야\n\n"
        "- 소프트웨어 개발: 코드 작성\n"
        "- 콘텐츠 제작: 글쓰기\n\n"
        "④ 기대 효과\n\n"
        "- 생산성 향상: 효율성 증대\n"
        "- 학습 효과: 지식 확장\n"
    )
    assert _shape(text) == [
        ("list", "③ 적용 분야", ["- 소프트웨어 개발: 코드 작성", "- 콘텐츠 제작: 글쓰기"]),
        ("list", "④ 기대 효과", ["- 생산성 향상: 효율성 증대", "- 학습 효과: 지식 확장"]),
    ]


def test_circled_items_stay_items_of_their_lead() -> None:
    text = "세 가지 도전 과제:\n① 데이터 처리\n② 작업 간 균형\n③ 안전성 확보\n"
    assert _shape(text) == [
        ("list", "세 가지 도전 과제:", ["① 데이터 처리", "② 작업 간 균형", "③ 안전성 확보"])
    ]


def test_a_short_last_item_is_kept_before_the_next_headed_list() -> None:
    text = "장점:\n- 빠름\n- 저렴\n③ 적용 분야\n- 개발\n- 분석\n"
    assert _shape(text) == [
        ("list", "장점:", ["- 빠름", "- 저렴"]),
        ("list", "③ 적용 분야", ["- 개발", "- 분석"]),
    ]


def test_a_circled_line_before_prose_is_no_list() -> None:
    text = "① 엄격한 검증\n\n영국의 연구소와 협력하여 사전 평가를 실시했습니다.\n"
    assert _shape(text) == []


def test_table_with_caption() -> None:
    text = "표 1 성능\n평가\tA\tB\nGPQA\t41.6%\t40.2%\nMMLU\t80.9%\t82.0%\n"
    assert _shape(text) == [("table", "표 1 성능", ["GPQA\t41.6%\t40.2%", "MMLU\t80.9%\t82.0%"])]


def test_labelled_lines_after_a_colon_lead_in_are_items() -> None:
    text = (
        "이 모델은 다음과 같은 특징을 가지고 있습니다:\n\n"
        "빠른 처리 속도: 가장 빠른 응답 시간을 자랑합니다.\n"
        "비용 효율성: 같은 비용으로 향상된 성능을 제공합니다.\n"
        "하이쿠는 실시간 애플리케이션에 적합한 모델입니다.\n"
    )
    assert _shape(text) == [
        (
            "list",
            "이 모델은 다음과 같은 특징을 가지고 있습니다:",
            [
                "빠른 처리 속도: 가장 빠른 응답 시간을 자랑합니다.",
                "비용 효율성: 같은 비용으로 향상된 성능을 제공합니다.",
            ],
        )
    ]


def test_a_labelled_line_without_a_colon_lead_in_is_prose() -> None:
    assert _shape("Note: this is a sentence.\nSpeed: the fastest model.\n") == []
