"""Reading and chunking: the real report, encodings, .docx, .pdf, .html, BEIR corpora."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa.config import QAError
from qa.documents import (
    Passage,
    chunk,
    clean_line,
    decode_bytes,
    fingerprint,
    load_corpus,
    read_file,
    resolved_years,
    split_long,
    split_sentences,
)
from tests.conftest import CORPUS, ROOT

REPORT = CORPUS / "jincheng-2020-work-report.txt"
PARAGRAPH = "白塔中学办学水平持续提升，小学教育、学前教育进一步夯实。全年发放民政经费1891万元。"


@pytest.fixture(scope="module")
def report_passages():
    return chunk(read_file(REPORT, REPORT.name))


def test_page_break_paragraph_is_one_passage(report_passages):
    [joined] = [p for p in report_passages if "全面遏制违法违章" in p.text]
    assert "全面遏制违法违章建筑,共拆除金城建材市场内违法建设34户" in joined.text
    assert not any(p.text.startswith("建筑,共拆除") for p in report_passages)


def test_headings_are_sections_not_passages(report_passages):
    texts = {p.text for p in report_passages}
    assert "2020年工作回顾" not in texts and "2021年工作思路" not in texts
    [signed] = [p for p in report_passages if "签约项目17个" in p.text]
    assert signed.section == "2020年工作回顾"
    [plan] = [p for p in report_passages if "萝卜小镇" in p.text]
    assert plan.section == "2021年工作思路"


def test_captions_stay_searchable_and_title_is_taken(report_passages):
    texts = [p.text for p in report_passages]
    assert "常州市委书记齐家滨在金城镇(金科园)调研" in texts
    assert "常州鸣源牧业有限公司在金城科技产业园奠基" in texts
    assert all(p.title == "金城镇(金科园): 聚力打造金坛未来重大支撑的北部产业新城" for p in report_passages)
    assert [p.position for p in report_passages] == list(range(1, len(report_passages) + 1))


def test_chinese_punctuation_and_english_quirk_untouched(report_passages):
    whole = "".join(p.text for p in report_passages)
    assert "精神 and 区政府" in whole
    assert "“打造转型升级创新发展示范区" in whole and "“六稳”" in whole


def test_passage_ids_stable_and_local_to_changes(tmp_path):
    (tmp_path / "a.txt").write_text(REPORT.read_text(encoding="utf-8"), encoding="utf-8")
    first = {p.passage_id: p.text for p in load_corpus(tmp_path).passages}
    assert first == {p.passage_id: p.text for p in load_corpus(tmp_path).passages}
    text = REPORT.read_text(encoding="utf-8").replace("签约项目17个", "签约项目18个")
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    second = {p.passage_id: p.text for p in load_corpus(tmp_path).passages}
    assert len(set(first) - set(second)) == 1 and len(set(second) - set(first)) == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_text_encodings(tmp_path, encoding):
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(f"标题\n\n{PARAGRAPH}\n".encode(encoding))
    document = read_file(path, path.name)
    assert document.lines == [PARAGRAPH]
    assert document.title == "标题"


def test_binary_file_is_skipped_and_listed(tmp_path):
    (tmp_path / "good.txt").write_text(PARAGRAPH, encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf \x00\x01")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 4)
    corpus = load_corpus(tmp_path)
    assert [name for name, _ in corpus.skipped] == ["broken.pdf", "image.txt"]
    assert [p.text for p in corpus.passages] == [PARAGRAPH]


def test_decode_rejects_binary():
    with pytest.raises(QAError, match="binary"):
        decode_bytes(b"\x00\x01\x02abc", "x.txt")


def test_clean_line_whitespace_only():
    assert clean_line("\u3000\u3000全年\u200b签约\t\t项目，  17个。\xa0") == "全年签约项目， 17个。"
    assert clean_line("李\u3000强 精神 and 区政府") == "李强精神 and 区政府"


def test_docx_headings_become_sections(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("二〇二〇年工作回顾", level=1)
    document.add_paragraph(PARAGRAPH)
    path = tmp_path / "report.docx"
    document.save(str(path))
    [passage] = chunk(read_file(path, path.name))
    assert passage.section == "二〇二〇年工作回顾"
    assert passage.text == PARAGRAPH


def test_pdf_is_read(tmp_path):
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    path = tmp_path / "report.pdf"
    with PdfPages(path) as pdf:
        for line in ["The town signed 17 projects in 2020, with a total investment of", "5.27 billion yuan."]:
            figure = Figure()
            figure.text(0.05, 0.5, line)
            pdf.savefig(figure)
    passages = chunk(read_file(path, path.name))
    assert [p.text for p in passages] == ["The town signed 17 projects in 2020, with a total investment of 5.27 billion yuan."]


def test_html_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(f"<html><head><title>镇报告</title><script>alert(1)</script><style>p{{}}</style></head>"
                    f"<body><h2>社会事业</h2><p>{PARAGRAPH}</p></body></html>", encoding="utf-8")
    [passage] = chunk(read_file(path, path.name))
    assert (passage.title, passage.section, passage.text) == ("镇报告", "社会事业", PARAGRAPH)


def test_beir_corpus(tmp_path):
    lines = [json.dumps({"_id": "d1", "title": "泡泡", "text": PARAGRAPH}, ensure_ascii=False), "{not json",
             json.dumps({"_id": "d2", "title": "", "text": "第二篇。"}, ensure_ascii=False)]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines), encoding="utf-8")
    passages = load_corpus(tmp_path).passages
    assert [(p.doc_id, p.title, p.text) for p in passages] == [("d1", "泡泡", PARAGRAPH), ("d2", "d2", "第二篇。")]


def test_long_paragraph_splits_at_sentence_ends():
    sentences = [f"第{i}句话讲的是一件很长很长的事情，数字是{i * 7}。" for i in range(40)]
    pieces = split_long("".join(sentences), 120)
    assert "".join(pieces) == "".join(sentences)
    assert all(len(p) <= 120 and p.endswith("。") for p in pieces)
    assert max(map(len, pieces)) - min(map(len, pieces)) <= 40


def test_split_sentences_keeps_punctuation():
    assert split_sentences("增长5.5%;同比“增长”。真的吗？是") == ["增长5.5%;", "同比“增长”。", "真的吗？", "是"]


def test_fingerprint_follows_content(tmp_path):
    (tmp_path / "a.txt").write_text(PARAGRAPH, encoding="utf-8")
    before = fingerprint(tmp_path)
    (tmp_path / "a.txt").write_text(PARAGRAPH + "又", encoding="utf-8")
    assert fingerprint(tmp_path) != before
    assert fingerprint(tmp_path / "missing") == ""


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="does not exist"):
        load_corpus(Path(tmp_path / "nope"))


MULTI = ROOT / "eval" / "multi-corpus"  # the town report + the national ones as scraped


def test_scraped_national_reports_are_cleaned():
    corpus = load_corpus(MULTI)
    national = [d for d in corpus.documents if d.doc_id.startswith("state-council")]
    passages = [p for p in corpus.passages if p.doc_id.startswith("state-council")]
    assert corpus.skipped == [] and len(national) == 3
    assert [d.title for d in national] == [f"{y}年中华人民共和国国务院政府工作报告" for y in (2023, 2024, 2025)]
    texts = [p.text for p in passages]
    assert not any(re.search("[\u200b-\u200f\u2060\ufeff\u3000]", t) for t in texts)
    assert not any(re.search("公有领域|Public domain|^false$|维基文库|著作权法", t) for t in texts)
    assert not any(t.startswith(tuple("，、。；：》）”")) for t in texts)
    assert any("积极推动加入全面与进步跨太平洋伙伴关系协定" in t for t in texts)
    sections = {p.section for p in passages}
    assert {"一、2023年工作回顾", "三、2025年政府工作任务"} <= sections


def test_scraping_artifacts_are_repaired(tmp_path):
    body = "过去一年，我们坚持稳中求进工作总基调，完整、准确、全面贯彻新发展理念，加快构建新发展格局，着力推动高质量发展，政府工作报"
    raw = "\n".join(["2024年政府工\u200b作报告", "", body, "告审议通过。", "本作品是中华人民共和国的", "法律", "、",
                    "法规，属于", "公有领域", "。", "Public domain", "false", "false"])
    path = tmp_path / "scraped.txt"
    path.write_text(raw, encoding="utf-8")
    document = read_file(path, path.name)
    [passage] = chunk(document)
    assert document.title == "2024年政府工作报告"
    assert passage.text == body + "告审议通过。"


def test_relative_years_of_a_dated_document_are_resolved():
    assert resolved_years("2023年政府工作报告", "一、过去一年和五年工作回顾") == ["2022年"]
    assert resolved_years("2023年政府工作报告", "二、对今年政府工作的建议") == ["2023年"]
    assert resolved_years("金城镇工作报告", "对今年工作的建议") == []  # an undated title resolves nothing
    assert resolved_years("2024年政府工作报告", "一、2023年工作回顾") == []
    passage = Passage("p", "d", "2023年政府工作报告", "一、过去一年工作回顾", "正文。", 1)
    assert passage.context == "2023年政府工作报告\n一、过去一年工作回顾\n2022年"
