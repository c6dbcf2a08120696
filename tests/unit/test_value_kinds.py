"""What kind of value a question asks for, and whether an answer sentence holds one (qa.search.asked)."""

import pytest

from qa.search.asked import lacks_asked_value, wanted_values


@pytest.mark.parametrize("question, sentence", [
    ("检查了多少家次企业？", "共检查企业748家次。"),
    ("河道一年跑了多少趟？", "全年累计巡河826轮次。"),  # 趟 and 轮次 both count times
    ("拆掉了多少家？", "拆除违法建设34户。"),  # 家 and 户 both count households
    ("有几个孩子？", "已婚，育有3名子女。"),  # 个 counts anything
    ("违章建筑拆除面积有多大？", "拆除面积2000余平方米。"),
    ("陆地面积是多大？", "其陆地管辖面积为1750.33km²。"),
    ("四大支柱产业占了多大比例？", "四大支柱产业占比84.1%。"),
    ("男女生比例是多少？", "男女生比例约为1：7。"),
    ("峰会是几月几号举办的？", "峰会于11月8日举办。"),
    ("那座教堂建于哪一年？", "教堂建于清光绪二十年，1894年落成。"),
    ("项目投资多少钱？", "总投资5亿。"),
    ("内台航路有几种？", "分为甲线、乙线两类。"),  # things counted: a list answers too
    ("那个县的人口有多少？", "全县户籍人口为52310人。"),
    ("全市常住人口有多少？", "年末全市常住人口9.2万，比上年增加0.3万。"),
])
def test_a_sentence_with_the_value_asked_for_answers(question, sentence):
    assert wanted_values(question)
    assert not lacks_asked_value(question, sentence)


@pytest.mark.parametrize("question, sentence", [
    ("白塔中学一共有多少名学生？", "白塔中学办学水平持续提升，小学教育、学前教育进一步夯实。"),  # a list is no head count
    ("白塔中学的升学率是多少？", "白塔中学办学水平持续提升。"),
    ("金城镇的总面积有多大？", "共检查企业748家次。"),
    ("董龙庆今年多大年纪？", "2020年，镇党委书记董龙庆带队调研。"),
    ("金城镇的邮政编码是多少？", "金城镇位于金坛区北部。"),
    ("高铁几点发车？", "高铁站建成通车。"),
    ("那个项目是哪一年开工的？", "项目建成投产，新增产值3亿元。"),
    ("全省出生人口有多少？", "全年新建幼儿园12所，财政投入3.5万元。"),  # schools and money are no head count
    ("全县常住人口有多少？", "全县产值迈上百亿级台阶，税收超3亿元。"),
])
def test_a_sentence_without_the_value_asked_for_does_not_answer(question, sentence):
    assert lacks_asked_value(question, sentence)


@pytest.mark.parametrize("question", ["主要要管哪几个地方？", "他获得第几名？", "有人乱盖房子，政府是怎么处理的？",
                                      "2021年要启动建设哪个特色小镇？", "常住人口城镇化率提高到多少？"])
def test_questions_that_ask_for_no_kind_of_value(question):
    assert wanted_values(question) == []
    assert not lacks_asked_value(question, "没有任何数字的句子。")
