"""What kind of value a question asks for (a count in some unit, a percentage, an amount of money, an age, a date, a
year, a time of day, a phone or postal number) and whether a passage holds a value of that kind.

A question asking 白塔中学有多少名学生？ or 常住人口有多少？ is not answered by a sentence without any
"<number>名/人/位"; one asking …面积有多大？ needs an area, 哪一年 a year, 升学率是多少？ a rate. Units are compared by
class (名, 人 and 位 all count people; 次, 趟 and 轮次 all count times), so everyday words still match the report's.
The searcher declines a question whose answer sentence lacks the value it asks for.
"""

from __future__ import annotations

import re
from functools import lru_cache

NUMBER = r"(?:\d+(?:\.\d+)?|[零一二三四五六七八九十百千万亿两]+)\s*(?:余|多|来)?\s*"  # 2000余平方米, 30多家
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
