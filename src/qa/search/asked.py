"""What a question asks for — the one table of question words.

:data:`CUES` tells the answer picker what an answering sentence looks like (多少 → a number, 何时 → a date, 谁 → a
person); :data:`KINDS` and the measure words tell which kind of value must be there for the question to be answered at
all. :func:`asked_by` reads a question once against both tables and the years it names.

What kind of value a question asks for (a count in some unit, a percentage, an amount of money, an age, a date, a
year, a time of day, a phone or postal number) and whether a passage holds a value of that kind.

A question asking 白塔中学有多少名学生？ or 常住人口有多少？ is not answered by a sentence without any
"<number>名/人/位"; one asking …面积有多大？ needs an area, 哪一年 a year, 升学率是多少？ a rate. Units are compared by
class (名, 人 and 位 all count people; 次, 趟 and 轮次 all count times), so everyday words still match the report's.
The searcher declines a question whose answer sentence lacks the value it asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from qa.documents import YEAR

__all__ = ["CUES", "KINDS", "QUESTION_WORD", "YEAR", "YEAR_MENTION", "Asked", "asked_by", "lacks_asked_value",
           "wanted_values"]
# Any word that makes a phrase a question (a follow-up without one borrows the previous question's predicate).
QUESTION_WORD = re.compile(r"多少|什么|哪|几|谁|怎么|怎样|如何|是否|为何|为什么|吗|\?$|？$")
# A year as people name it in a follow-up ("那2021呢"): 年 optional. Documents and questions name years as YEAR does.
YEAR_MENTION = re.compile(r"(?:19|20)\d{2}\s*年?")
CHINESE_NUMBER = "零一二三四五六七八九十百千万亿两"
# What an answering sentence holds, by question word: (question pattern, sentence pattern). Used to pick the answer
# sentence (qa.search.answers), not to decline.
CUES: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"多少|几|多大|多高|多长|多久|多远|比例|比重|百分之|增长率|数量|规模|金额"),
     re.compile(rf"\d|[{CHINESE_NUMBER}]+[个位名次项家所条座户人元亿万吨亩倍%年]")),
    (re.compile(r"何时|什么时候|哪一?年|哪一?天|几月|几号|日期|时间|时候"),
     re.compile(rf"\d{{2,4}}年|\d{{1,2}}月|[{CHINESE_NUMBER}]+年|[{CHINESE_NUMBER}]+月|世纪|年代|朝")),
    (re.compile(r"谁|哪位|什么人|何人|名字|叫什么"),
     re.compile(r"·|书记|主任|镇长|区长|市长|局长|部长|主席|总理|经理|院长|教授|先生|女士")),
    (re.compile(r"哪些|哪几|包括什么|有什么"), re.compile(r"、|包括|以及|分别")),
    (re.compile(r"哪里|哪儿|在哪|什么地方|何地|何处|位于"), re.compile(r"[省市县区镇村乡路街园洲国]")),
]

NUMBER = rf"(?:\d+(?:\.\d+)?|[{CHINESE_NUMBER}]+)\s*(?:余|多|来)?\s*"  # 2000余平方米, 30多家
ENUMERATION = r"[^、，。；]{1,40}、[^、，。；]{1,40}"  # 几种？ 几家？ are answered by a list too
# Measure words by class: a unit asked for is matched by any unit of its class. Counts of things (COUNTED) are also
# answered by a list; 个 counts anything.
PEOPLE = ("名", "人", "位", "人次", "名次")
TIMES = ("次", "趟", "轮", "轮次", "回", "遍", "场", "届")
AREA = ("亩", "万亩", "平方公里", "平方千米", "平方米", "公顷", "㎡", "km²", "km2", "m²", "m2")
COUNTED = [
    ("户", "家", "家次", "个", "间"),
    ("个", "项", "件", "座", "处", "条", "所", "台", "辆", "只", "套", "栋", "支", "批", "家", "种", "类", "款"),
]
MEASURES = [
    PEOPLE,
    TIMES,
    AREA,
    ("元", "万元", "亿元", "块", "万", "亿"),
    ("岁", "周岁"),
    ("吨", "万吨", "公斤", "千克", "斤"),
    ("公里", "千米", "米", "里"),
    ("倍",),
    ("年",),
    ("天", "日"),
]
UNITS = sorted({unit for units in COUNTED + MEASURES for unit in units}, key=len, reverse=True)
ASKED_UNIT = re.compile(rf"(?:多少|(?<![哪第])几)({'|'.join(UNITS)})")  # not 哪几个 (which ones), 第几名 (a rank)
PERCENT = re.compile(rf"{NUMBER}[%％]|百分之|个百分点|{NUMBER}成|\d+\.\d+|\d+\s*[:：比]\s*\d+")
KINDS: list[tuple[re.Pattern, re.Pattern]] = [
    (re.compile(r"百分之几|多少%|比例|比重|占比|率(?:是|为|有|达到)?多少|率(?:是|为)?几"), PERCENT),
    (re.compile(r"(?:人口|人数)(?:数|数量|总数)?(?:是|有|为|达到|约|大约)*多少|多少(?:常住)?人口"),  # 人口9.2万 too
     re.compile(rf"{NUMBER}(?:万|亿)?(?:{'|'.join(PEOPLE)})|\d+(?:\.\d+)?\s*(?:万|亿)(?![\u4e00-\u9fff])")),
    (re.compile(r"多少钱|几块钱"), re.compile(rf"{NUMBER}(?:万|亿)?(?:元|块)|{NUMBER}(?:万|亿)")),
    (re.compile(r"多大年纪|多大岁数|几岁|多少岁|年龄"), re.compile(rf"{NUMBER}周?岁")),
    (re.compile(r"几月|几号|几日|哪一天|哪天"), re.compile(rf"{NUMBER}[月日号]")),
    (re.compile(r"哪一年|哪年(?!级)|哪个年份"), re.compile(rf"{NUMBER}年")),
    (re.compile(r"几点"), re.compile(rf"\d{{1,2}}\s*[:：]\s*\d{{2}}|{NUMBER}点")),
    (re.compile(r"面积"), re.compile(rf"{NUMBER}(?:{'|'.join(AREA)})")),
    (re.compile(r"电话|号码|邮编|邮政编码|手机号"), re.compile(r"\d{5,}")),
]


@lru_cache(maxsize=256)
def _unit_value(unit: str) -> re.Pattern:
    """A pattern for what answers "how many <unit>": a number with a unit of the unit's class (any unit for 个), or
    a list for things counted."""
    if unit == "个":
        return re.compile(rf"{NUMBER}(?:{'|'.join(UNITS)})|{ENUMERATION}")
    classes = [units for units in COUNTED + MEASURES if unit in units]
    related = sorted({u for units in classes for u in units}, key=len, reverse=True)
    listed = f"|{ENUMERATION}" if any(units in COUNTED for units in classes) else ""
    return re.compile(rf"{NUMBER}(?:{'|'.join(related)}){listed}")


def wanted_values(question: str) -> list[re.Pattern]:
    """Return the patterns of the values a question asks for (empty when it asks for no particular kind).

    Args:
        question: The prepared question.

    Returns:
        One pattern per kind asked for; a passage answers only if it matches every one.
    """
    wanted = [_unit_value(unit) for unit in ASKED_UNIT.findall(question)]
    return wanted + [value for asks, value in KINDS if asks.search(question)]


def lacks_asked_value(question: str, text: str) -> bool:
    """Tell whether a question asks for a kind of value that a text does not hold.

    Args:
        question: The prepared question.
        text: A passage's text.

    Returns:
        True if some kind of value the question asks for is nowhere in the text.
    """
    return any(not pattern.search(text) for pattern in wanted_values(question))


@dataclass(frozen=True)
class Asked:
    """What one question asks for: sentence cues for the answer picker, the kinds of value an answer must hold (with
    the question words that asked for them), and the years it names."""

    cues: tuple[re.Pattern, ...]
    values: tuple[re.Pattern, ...]
    years: tuple[str, ...]
    cue_words: tuple[str, ...] = ()
    value_words: tuple[str, ...] = ()

    def lacking(self, text: str) -> bool:
        """Tell whether a text lacks some kind of value the question asks for."""
        return any(not pattern.search(text) for pattern in self.values)

    def to_dict(self) -> dict:
        """The question words that ask for something, and the years, for a trace."""
        return {"cue_words": list(self.cue_words), "value_words": list(self.value_words), "years": list(self.years)}


def asked_by(question: str) -> Asked:
    """Read a prepared question against the tables of this module.

    Args:
        question: The prepared question.

    Returns:
        Its cues, wanted values and named years.
    """
    cues = [(found.group(0), pattern) for cue, pattern in CUES if (found := cue.search(question))]
    units = [(found.group(0), _unit_value(found.group(1))) for found in ASKED_UNIT.finditer(question)]
    kinds = [(found.group(0), value) for asks, value in KINDS if (found := asks.search(question))]
    return Asked(tuple(p for _, p in cues), tuple(p for _, p in units + kinds),
                 tuple(dict.fromkeys(YEAR.findall(question))), tuple(w for w, _ in cues),
                 tuple(w for w, _ in units + kinds))
