"""Decoding a corpus file's bytes: UTF-8 and UTF-16 by their marks, legacy Korean
and Chinese encodings told apart by how common the characters of each reading are,
and text full of control characters refused as binary."""

from __future__ import annotations

import re

from kb.errors import IngestError
from kb.scripts import HAN_RE, HANGUL_SYLLABLE_RE, HANGUL_SYLLABLES

# Legacy encodings tried, in order, when a file is not UTF-8.
LEGACY_ENCODINGS = ("cp949", "gb18030", "big5", "shift_jis")


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes, returning (text, encoding). No newline translation.

    UTF-8 (a byte-order mark is dropped), UTF-16 with a byte-order mark, then the
    legacy encodings. Korean CP949/EUC-KR and Chinese GBK/GB18030 bytes are often
    valid in both codecs, so when both decode, the reading whose characters are
    the more common ones of its language wins (see ``_korean_score``). Text full
    of control characters is refused as binary.
    """
    text, encoding = _decode(data)
    if _looks_binary(text):
        raise IngestError("looks binary (control characters)")
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise IngestError("cannot decode the file (bad UTF-16)") from None
    if b"\x00" in data[:8192]:
        raise IngestError("looks binary (NUL bytes)")
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8"), "utf-8-sig"
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, str, str]] = []
    for enc in LEGACY_ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "cp949":
            candidates.append((_korean_score(text), text, enc))
        elif enc == "gb18030":
            candidates.append((_chinese_score(text), text, enc))
        else:
            candidates.append((-1.0, text, enc))  # only if neither of the above decodes
    if not candidates:
        raise IngestError(
            "cannot decode the file (not UTF-8, CP949/EUC-KR, GB18030/GBK, Big5 or Shift-JIS)"
        )
    # highest score; on a tie the earlier encoding (cp949 before gb18030)
    _, text, enc = max(candidates, key=lambda c: c[0])
    return text, enc


_HANGUL = HANGUL_SYLLABLE_RE
_HAN = HAN_RE
_SPACED_HANGUL = re.compile(f"[{HANGUL_SYLLABLES}][ \t]+[{HANGUL_SYLLABLES}]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Frequent Hangul syllables of Korean prose, and frequent Chinese characters.
# CP949 bytes read as GB18030 (and GBK bytes read as CP949) give characters that
# are valid but mostly rare: the share of frequent ones tells the two apart.
_COMMON_KO = frozenset(
    "이다의는에을하고가한지서로기사리자도으대를수인시아나정적게어전일해상라부주과들소원비보여성그있제학국신것중동장방연문우공"
    "회만당구계경개화요무오실관물위마면내세후모발분유선거행명재안조미저치진년었했되니습합은와본없같까때통금데간식야용생결등교"
    "체입민영산활역함반점파특단초작건표현드르스트터프크레테카타던며록겠였월날말많및또더각두번음왕군강양래른할했던것려히설시될"
    "복속품형량러령급력"
)
_COMMON_ZH = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方"
    "多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情"
    "明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给"
    "世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太"
    "量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象"
    "完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济"
    "车亲极林服快办议往元英士证近失转夫令准布始怎存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请"
    "技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功包片史委乎查轻易早曾除农找装广显阿李标谈吃图念六引历首医局"
    "突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底"
    "站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱"
    "破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若微尼继送急血惊伤素药适波"
    "夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既"
    "衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善刘读超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺"
    "背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗介坏讨丽良序升监临亮露永呼味野架域"
    "沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶"
    "剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨板庭妇归饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦"
    "岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫篇肉馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握"
    "戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕"
    "唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷"
    "诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵碰纷胸翼辆轰扫杯圈俗洗"
)


def _share(chars: list[str], common: frozenset[str]) -> float:
    return sum(c in common for c in chars) / len(chars) if chars else 0.0


def _korean_score(text: str) -> float:
    """How much ``text`` reads as Korean: frequent syllables among its Hangul and
    Han characters, plus a bonus for spaces between Hangul words (Korean separates
    words; Chinese read as CP949 gives unbroken syllable soup)."""
    hangul = _HANGUL.findall(text)
    han = len(_HAN.findall(text))
    if not hangul:
        return 1.0 if han == 0 else 0.0  # no CJK letters at all: either reading will do
    score = _share(hangul, _COMMON_KO) * len(hangul) / (len(hangul) + han)
    if len(_SPACED_HANGUL.findall(text)) >= 0.05 * len(hangul):
        score += 0.3
    return score


def _chinese_score(text: str) -> float:
    han = _HAN.findall(text)
    if not han:
        return 0.0
    return _share(han, _COMMON_ZH) * len(han) / (len(han) + len(_HANGUL.findall(text)))


def _looks_binary(text: str) -> bool:
    """Control characters (other than tab, newlines, form feed) in more than 1% of
    the first 8,000 characters: not an article."""
    head = text[:8000]
    return bool(head) and len(_CONTROL.findall(head)) > 0.01 * len(head)
