"""A small English/Korean/Chinese glossary of the domain's question words.

Lexical search cannot match "price" to "가격" or "价格"; the glossary expands a
query with the other languages' words for the same concept (at a lower weight),
so BM25 contributes to cross-lingual questions too. Model names need no entry:
the tokenizer's aliases map transliterations to Latin names.
"""

from __future__ import annotations

import re

# Each group: words meaning the same thing in en / ko / zh.
GLOSSARY: tuple[tuple[str, ...], ...] = (
    (
        "price",
        "pricing",
        "cost",
        "costs",
        "expensive",
        "cheap",
        "가격",
        "비용",
        "요금",
        "价格",
        "成本",
        "费用",
        "价钱",
    ),
    ("dollar", "dollars", "usd", "달러", "美元"),
    ("token", "tokens", "토큰", "token"),
    ("input", "입력", "输入"),
    ("output", "출력", "输出"),
    ("million", "백만", "百万"),
    ("score", "scores", "scored", "점수", "성적", "得分", "分数", "成绩"),
    ("accuracy", "정확도", "准确率", "正确率"),
    ("benchmark", "benchmarks", "벤치마크", "基准", "评测", "测试"),
    ("safety", "safe", "안전", "안전성", "安全", "安全性"),
    ("level", "grade", "등급", "수준", "等级", "级别"),
    ("alignment", "aligned", "정렬", "对齐"),
    ("release", "released", "launch", "launched", "출시", "공개", "발표", "发布", "推出"),
    ("date", "when", "날짜", "언제", "日期", "何时", "时间"),
    ("speed", "fast", "faster", "fastest", "latency", "속도", "빠른", "빠르", "速度", "快", "延迟"),
    ("coding", "code", "programming", "코딩", "코드", "프로그래밍", "编程", "代码", "编码"),
    ("math", "mathematics", "수학", "数学"),
    ("multilingual", "language", "languages", "다국어", "언어", "多语言", "语言"),
    (
        "deploy",
        "deployment",
        "platform",
        "platforms",
        "available",
        "배포",
        "플랫폼",
        "部署",
        "平台",
    ),
    ("agent", "agents", "에이전트", "代理", "智能体"),
    ("reasoning", "추론", "推理"),
    ("model", "models", "모델", "模型"),
    ("compare", "comparison", "versus", "vs", "비교", "比较", "对比"),
    ("performance", "성능", "性能", "表现"),
    ("feature", "features", "특징", "기능", "特点", "功能"),
    ("customer", "service", "support", "고객", "서비스", "客服", "服务"),
    ("chat", "chatbot", "assistant", "챗봇", "채팅", "어시스턴트", "聊天", "助手"),
    ("education", "learning", "교육", "학습", "教育", "学习"),
    ("vision", "image", "images", "비전", "이미지", "视觉", "图像"),
    ("computer", "컴퓨터", "计算机", "电脑"),
    ("terminal", "터미널", "终端"),
    ("percent", "percentage", "퍼센트", "백분율", "百分比"),
    ("cheaper", "third", "1/3", "3분의 1", "三分之一"),
    ("twice", "double", "2배", "두 배", "两倍"),
    ("research", "연구", "研究"),
    ("institute", "연구소", "研究所"),
    ("uk", "영국", "英国"),
    ("ethics", "ethical", "윤리", "伦理"),
    ("privacy", "프라이버시", "隐私"),
    ("bias", "편향", "偏见"),
    ("artifacts", "artifact", "아티팩트", "工件"),
    ("hybrid", "하이브리드", "混合"),
    ("future", "outlook", "전망", "미래", "未来", "展望"),
    ("small", "smaller", "소형", "작은", "小型"),
    ("flagship", "플래그십", "旗舰"),
    ("developer", "developers", "개발자", "开发者"),
)

_LATIN_WORD = re.compile(r"^[a-z0-9./ ]+$")


def _contains(text: str, word: str) -> bool:
    if _LATIN_WORD.match(word):
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
    return word in text


def expand(query: str) -> list[str]:
    """Words from the other languages for concepts the query mentions."""
    text = query.lower()
    extra: list[str] = []
    for group in GLOSSARY:
        if any(_contains(text, w) for w in group):
            extra.extend(w for w in group if not _contains(text, w))
    return extra
