"""Search parts that need no index: question preparation, min-max scaling, the document-context channel, the
embedded text of a passage, synonyms, everyday and framing words. (Over the real report with the real model:
tests/e2e/test_search.py; over a handmade index with the fake encoder: tests/unit/test_search_parts.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from qa.config import QAError
from qa.documents import Passage, tokenize
from qa.index import passage_embedding_text
from qa.search import SYNONYMS_FILE, normalize_text, prepare_question, read_synonyms
from qa.search.context import ContextIndex
from qa.search.scorers import min_max
from qa.search.wordlists import COLLOQUIAL_FILE, FRAMES_FILE, expand, framing_terms, read_words


def test_prepare_question_folds_traditional_and_full_width():
    text, notices = prepare_question("２０２０年全年簽約了多少個項目？ＧＤＰ", 500)
    assert text == "2020年全年签约了多少个项目？GDP"
    assert notices == []


def test_prepare_question_rejects_empty():
    with pytest.raises(QAError):
        prepare_question(" \n ", 500)


def test_min_max_floor_keeps_small_differences_small():
    scores = np.array([0.70, 0.72, 0.75], dtype=np.float32)
    assert min_max(scores).max() == pytest.approx(1.0)
    assert min_max(scores, floor=0.5).max() == pytest.approx(0.1)


def _passage(title: str, section: str, text: str) -> Passage:
    return Passage(passage_id=text[:8], doc_id=title, title=title, section=section, text=text, position=0)


def _rows_with(passages):
    """The passages holding a term in their context or text, as the BM25 index answers it."""
    return lambda term: np.array([row for row, p in enumerate(passages)
                                  if term in tokenize(f"{p.context}\n{p.text}")], dtype=np.int64)


def test_context_channel_prefers_the_named_document_and_year():
    passages = [_passage("2023年甲市政府工作报告", "一、过去一年工作回顾", "粮食产量再创新高。"),
                _passage("2023年甲市政府工作报告", "二、对今年政府工作的建议", "粮食产量再创新高。"),
                _passage("2024年甲市政府工作报告", "一、2023年工作回顾", "粮食产量再创新高。"),
                _passage("乙镇工作报告", "", "粮食产量再创新高。")]
    contexts, rows_with = ContextIndex(passages), _rows_with(passages)
    # 2024年政府工作报告 names the third passage's document; 2023年 alone is also the second document's year.
    assert int(np.argmax(contexts.scores(["2024", "年", "政府", "工作", "报告", "2023", "粮食"], rows_with))) == 2
    # 过去一年 in a 2023 report is 2022: a question about 2022 in the 2023 report finds that section.
    assert int(np.argmax(contexts.scores(["2023", "年", "政府", "工作", "报告", "2022", "粮食"], rows_with))) == 0
    town = contexts.scores(["乙镇"], rows_with)
    assert town[3] > 0 and town[:3].tolist() == [0.0, 0.0, 0.0]
    assert contexts.scores([], rows_with).tolist() == [0.0] * 4
    assert contexts.scores(["粮食"], rows_with).tolist() == [0.0] * 4  # a body word names no context


def test_a_year_in_the_text_counts_like_a_year_in_the_heading():
    passages = [_passage("乙镇工作报告", "", "2020年，乙镇地区生产总值100亿元。"),
                _passage("乙镇工作报告", "2020年工作回顾", "农业稳定发展。"),
                _passage("乙镇工作报告", "2021年工作思路", "继续推进农业发展。")]
    scores = ContextIndex(passages).scores(["2020", "年", "地区", "生产总值"], _rows_with(passages))
    assert scores[0] == scores[1] > scores[2]


def test_a_word_of_a_long_title_names_it_less_than_the_whole_title():
    passages = [_passage("2008年夏季奥林匹克运动会田径比赛", "", "正文。"), _passage("象棋比赛", "", "正文。"),
                _passage("围棋", "", "正文。")]
    scores = ContextIndex(passages).scores(["象棋", "比赛"], _rows_with(passages))
    assert scores[1] > scores[0] > scores[2] == 0.0


def test_passage_embedding_text_prefixes_title_and_section():
    assert passage_embedding_text(_passage("报告", "一、回顾", "正文。")) == "报告\n一、回顾\n正文。"
    assert passage_embedding_text(_passage("报告", "", "正文。")) == "报告\n正文。"


def test_normalize_text_folds_traditional():
    assert normalize_text("國內生產總值１２３") == "国内生产总值123"


def test_builtin_synonyms_expand_gdp():
    groups = read_synonyms(SYNONYMS_FILE)
    found = dict(expand("金城镇的gdp是多少", groups))
    assert "地区生产总值" in found["gdp"]


def test_a_one_way_group_brings_official_words_into_everyday_questions_only(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("厂子\t厂家\t|\t企业\t工业企业\n河流巡查\t巡河\n", encoding="utf-8")
    groups = read_synonyms(path)
    assert dict(expand("镇上有几家厂子？", groups)) == {"厂子": ["企业", "工业企业"]}
    assert expand("镇上有几家企业？", groups) == []
    assert dict(expand("巡河几次", groups)) == {"巡河": ["河流巡查"]}  # a plain group works both ways


@pytest.mark.parametrize("line", ["厂子\t厂家\t|\n", "\t|\t企业\n", "厂子\t|\t企业\t|\t公司\n", "单独一个词\n"])
def test_a_line_that_is_no_group_is_refused_with_its_number(tmp_path, line):
    path = tmp_path / "mine.tsv"
    path.write_text("# mine\nGDP\t生产总值\n" + line, encoding="utf-8")
    with pytest.raises(QAError, match="line 3"):
        read_synonyms(path)


def test_an_unreadable_synonyms_file_says_what_to_fix(tmp_path):
    with pytest.raises(QAError, match="QA_SYNONYMS_FILE"):
        read_synonyms(tmp_path / "missing.tsv")
    (tmp_path / "latin1.tsv").write_bytes("caf\xe9\tcoffee\n".encode("latin-1"))
    with pytest.raises(QAError, match="latin1.tsv"):
        read_synonyms(tmp_path / "latin1.tsv")


def test_builtin_everyday_wording_and_framing_words():
    everyday = dict(expand("镇上的厂子效益怎么样", read_synonyms(COLLOQUIAL_FILE)))
    assert "企业" in everyday["厂子"]
    frames = read_words(FRAMES_FILE)
    assert {"有没有", "平时"} <= frames
    assert framing_terms("河道平时有没有人管", ["河道", "平时", "没有", "有没有", "人管"], frames) == {
        "平时", "没有", "有没有"}
    # 家 is inside the framing word 大家 once but also in 家庭: it still counts
    assert framing_terms("大家的家庭收入", ["大家", "家", "家庭", "收入"], frames) == {"大家"}
