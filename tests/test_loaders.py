"""Loading and normalising the real corpus, plus every LoadError case."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from indexing.config import PACKAGE_CORPUS
from indexing.loaders import NO_TEXT_LAYER, LoadError, iter_corpus, load_document
from indexing.manifest import KINDS, guess_kind, read_manifest
from indexing.normalize import normalize
from indexing.types import Document


def _make_pdf(pages: list[str] | None, image_only: bool = False) -> bytes:
    """A PDF written with reportlab's built-in STSong-Light CID font (no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    if image_only:
        from PIL import Image
        from reportlab.lib.utils import ImageReader

        img = Image.new("RGB", (200, 100), "white")
        img.paste((0, 0, 0), (20, 20, 180, 80))
        c.drawImage(ImageReader(img), 72, 600, width=200, height=100)
        c.showPage()
    for text in pages or []:
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(text.split("\n")):
            c.drawString(72, 760 - 18 * i, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def _invariant(doc: Document) -> bool:
    return len(doc.offsets) == len(doc.text) and all(
        doc.text[i] == doc.raw[o] for i, o in enumerate(doc.offsets)
    ) and doc.offsets == sorted(set(doc.offsets))


# --- the real corpus -------------------------------------------------------------------------------

def test_manifest_lists_every_corpus_file(corpus_dir: Path) -> None:
    manifest = read_manifest(corpus_dir)
    files = {p.relative_to(corpus_dir).as_posix() for p in corpus_dir.rglob("*")
             if p.suffix in (".txt", ".md", ".pdf")}
    assert set(manifest) == files
    assert len(files) == 24
    assert {e.kind for e in manifest.values()} <= set(KINDS)
    assert len({e.doc_id for e in manifest.values()}) == len(manifest)


def test_whole_corpus_loads_with_exact_offsets(corpus_docs: dict[str, Document]) -> None:
    assert len(corpus_docs) == 24
    for doc in corpus_docs.values():
        assert doc.text.strip(), doc.doc_id
        assert _invariant(doc), doc.doc_id
        assert "\n\n\n" not in doc.text, doc.doc_id
        assert not re.search(r"[ \t\u3000]$", doc.text, re.M), doc.doc_id
        assert len(doc.sha256) == 64


def test_text_corpus_loads_by_manifest(corpus_dir: Path) -> None:
    """Every text document of the manifest loads under its manifest id (speed: eval/speed.py)."""
    manifest = read_manifest(corpus_dir)
    texts = {rel: entry for rel, entry in manifest.items() if not rel.endswith(".pdf")}
    docs = [load_document(corpus_dir / rel, corpus_dir, entry) for rel, entry in texts.items()]
    assert len(docs) == 19
    assert [d.doc_id for d in docs] == [entry.doc_id for entry in texts.values()]


def test_plan_artefacts_are_normalised(plan_doc: Document) -> None:
    text = plan_doc.text
    # words broken by page breaks are joined
    assert "退牧还草、生态修复" in text
    assert "对现有城镇污水处理设施" in text
    assert "更新维护监测站房" in text
    # spaces inside numbers, dates and units
    assert "2020 年" not in text and "75 %" not in text
    assert "2020年底前达到相应排放标准" in text
    assert "PM2.5" in text and "_{" not in text
    # table cells: tags gone, the cell text kept, columns kept as tabs
    assert "<p>" not in text and "</p>" not in text
    assert "生态处理、湖区及周边生态封育及修复等。" in text
    assert "氨氮排放总量（万吨）\t4.03\t\t约束性" in text
    # a table cut by a page break continues row after row
    assert "城市污水集中处理率（%）\t—\t90\t预期性\n县城污水集中处理率" in text
    # the 目录 block with its page numbers is gone; each heading appears once
    assert "目录" not in text and "\t1\n" not in text
    assert text.count("一、环境保护基础与形势") == 1
    # a table heading repeated right after itself is kept once
    assert text.count("专栏6") == 1
    # letterhead lines and the document number leave the text; the number is in the metadata
    assert text.startswith("关于印发《新疆维吾尔自治区环境保护“十三五”规划》的通知")
    assert "新环发〔2017〕124号" not in text[:200]
    assert plan_doc.meta["doc_number"] == "新环发〔2017〕124号"
    assert plan_doc.page_at(0) is None


def test_law_header_moves_to_metadata(corpus_docs: dict[str, Document]) -> None:
    law = corpus_docs["env-protection-law-2014"]
    assert law.kind == "law" and law.title == "中华人民共和国环境保护法"
    assert law.text.startswith("第一章 总则\n\n第一条 为保护和改善环境")
    assert "INFO END" not in law.text and "1989年12月26日" not in law.text
    assert "2014年4月24日 第十二届全国人民代表大会常务委员会第八次会议修订" in law.meta["history"]
    assert law.meta["issuer"] == "全国人民代表大会常务委员会"
    for doc in corpus_docs.values():
        assert not re.search(r"^#", doc.text, re.M), doc.doc_id
    noise = corpus_docs["noise-pollution-law-2021"]
    assert noise.text.startswith("第一章\u3000总则\n")
    assert corpus_docs["pollutant-discharge-permit-regs-2021"].text.startswith("第一章 总则\n")


def test_shipped_pdf_keeps_page_numbers(corpus_docs: dict[str, Document]) -> None:
    doc = corpus_docs["discharge-permit-classification-list-2019"]
    assert doc.meta["pages"] == "20" and len(doc.page_starts) == 19
    assert doc.page_at(0) == 1
    assert doc.page_at(doc.text.index("第十条 本名录自发布之日起施行")) == 4
    assert doc.page_at(doc.text.index("五十一、通用工序")) == 20
    assert not re.search(r"^[—-]\s*\d+\s*[—-]$", doc.text, re.M)  # page-number lines are gone
    # prose wrapped at each line is joined back into sentences
    assert "根据《中华人民共和国环境保护法》等有关法律法规" in doc.text


def test_generated_two_page_pdf_has_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "two-pages.pdf"
    path.write_bytes(_make_pdf(["第一条 这是第一页的内容。", "第二条 这是第二页的内容。"]))
    doc = load_document(path, tmp_path)
    assert doc.kind == "regulation" and doc.doc_id == "two-pages"  # its lines open with 第N条
    assert doc.page_at(doc.text.index("第一页")) == 1
    assert doc.page_at(doc.text.index("第二页")) == 2
    assert doc.page_starts == [doc.text.index("第二条")]
    assert _invariant(doc)


# --- files that cannot be loaded -------------------------------------------------------------------

def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="文件为空"):
        load_document(path, tmp_path)
    path.write_text(" \n\n\t\n", encoding="utf-8")
    with pytest.raises(LoadError, match="文件为空"):
        load_document(path, tmp_path)


def test_binary_file_named_txt_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(LoadError, match="二进制文件") as err:
        load_document(path, tmp_path)
    assert err.value.reason.startswith("这是二进制文件")


def test_gbk_text_is_decoded(tmp_path: Path) -> None:
    body = "某某市大气污染防治规划\n\n一、总体要求\n\n到2020年，细颗粒物浓度下降百分之十五。"
    path = tmp_path / "gbk-plan.txt"
    path.write_bytes(body.encode("gbk"))
    doc = load_document(path, tmp_path)
    assert "细颗粒物浓度下降百分之十五" in doc.text
    assert doc.kind == "plan" and doc.title == "某某市大气污染防治规划"


def test_utf8_bom_and_crlf_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff第一条 测试内容。\r\n\r\n第二条 更多内容。\r\n".encode())
    doc = load_document(path, tmp_path)
    assert doc.text == "第一条 测试内容。\n\n第二条 更多内容。"
    assert _invariant(doc)


def test_undecodable_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "garbage.txt"
    path.write_bytes(bytes(range(0x80, 0x100)) * 8)
    with pytest.raises(LoadError, match="编码无法识别"):
        load_document(path, tmp_path)


def test_encrypted_pdf_is_rejected(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_make_pdf(["第一条 机密内容。"]))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as f:
        writer.write(f)
    with pytest.raises(LoadError, match="已加密"):
        load_document(path, tmp_path)


def test_pdf_without_text_layer_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(_make_pdf(None, image_only=True))
    with pytest.raises(LoadError) as err:
        load_document(path, tmp_path)
    assert err.value.reason == NO_TEXT_LAYER == "该 PDF 没有文本层（可能是扫描件），无法索引"


def test_damaged_pdf_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n this is not really a pdf")
    with pytest.raises(LoadError, match="PDF"):
        load_document(path, tmp_path)


def test_size_limit_is_enforced(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("第一条 内容。" * 100, encoding="utf-8")
    with pytest.raises(LoadError, match="文件过大"):
        load_document(path, tmp_path, max_bytes=100)
    assert load_document(path, tmp_path, max_bytes=10_000).text


def test_unsupported_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(LoadError, match="不支持的文件类型"):
        load_document(path, tmp_path)


# --- files without a manifest line -----------------------------------------------------------------

def test_file_without_manifest_line_is_loaded_with_guessed_metadata(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "MANIFEST.tsv").write_text(
        "doc_id\tfile\ttitle\tkind\tdoc_number\tissuer\tdates\tsource\n"
        "known\tknown.md\t某某法\tlaw\t\t某某机关\t\t\n", encoding="utf-8")
    (tmp_path / "known.md").write_text("# 某某法\n\n## 第一章 总则\n\n第一条 已知文件。\n", encoding="utf-8")
    sub = tmp_path / "extra"
    sub.mkdir()
    (sub / "Noise Rules 2024.md").write_text(
        "# 某某市噪声污染防治条例\n\n## 第一章 总则\n\n第一条 为了防治噪声污染，制定本条例。\n", encoding="utf-8")
    (sub / "bad.txt").write_bytes(b"")
    (sub / "readme.rst").write_text("ignored", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = list(iter_corpus(tmp_path))
    assert [d.path for d in docs] == ["extra/Noise Rules 2024.md", "known.md"]
    extra, known = docs
    assert (extra.doc_id, extra.kind, extra.title) == ("noise-rules-2024", "regulation", "某某市噪声污染防治条例")
    assert extra.text.startswith("第一章 总则")
    assert known.doc_id == "known" and known.meta["issuer"] == "某某机关"
    assert "没有条目" in caplog.text and "bad.txt" in caplog.text
    with pytest.raises(LoadError):
        list(iter_corpus(tmp_path, strict=True))


def test_kind_is_guessed_from_the_title() -> None:
    assert guess_kind("中华人民共和国环境保护法") == "law"
    assert guess_kind("排污许可管理条例") == "regulation"
    assert guess_kind("关于印发《新疆维吾尔自治区环境保护“十三五”规划》的通知") == "plan"
    assert guess_kind("国家危险废物名录（2021年版）") == "list"


# --- normalisation rules on small inputs -----------------------------------------------------------

@pytest.mark.parametrize(("raw", "kind", "fmt", "expected"), [
    ("大力开展生态建设工程，实施了退耕还林、退\n\n牧还草、生态修复。", "plan", "txt",
     "大力开展生态建设工程，实施了退耕还林、退牧还草、生态修复。"),
    ("1. 环境质量有所改善\n\n全区地表水环境质量得到明显改善。", "plan", "txt",
     "1. 环境质量有所改善\n\n全区地表水环境质量得到明显改善。"),
    ("新疆维吾尔自治区环境保护厅\n\n\n\n新疆维吾尔自治区发展和改革委员会", "plan", "txt",
     "新疆维吾尔自治区环境保护厅\n\n新疆维吾尔自治区发展和改革委员会"),
    ("到 2020 年，处理率达到 75 %以上", "plan", "txt", "到2020年，处理率达到75%以上"),
    ("指 标\t基准年①\t2020年\t属性\t", "plan", "txt", "指标\t基准年①\t2020年\t属性"),
    ("行业\t<p>1. 造纸。</p> <p>2. 印染。</p>", "plan", "txt", "行业\t1. 造纸。2. 印染。"),
    ("## 第一章　总　　则\n\n第一条　内容。", "law", "md", "第一章　总则\n\n第一条　内容。"),
    ("专栏6 标题\n\n专栏6 标题\t\n行\t格", "plan", "txt", "专栏6 标题\n\n行\t格"),
    (" — 2 — \n第一条  为实施排污许可分类管理，根据《中华人民共和国环\n境保护法》制定本名录。", "list", "pdf",
     "第一条 为实施排污许可分类管理，根据《中华人民共和国环境保护法》制定本名录。"),
    ("废物类别 行业来源 危 险 废 物", "list", "pdf", "废物类别 行业来源 危险废物"),
])
def test_normalize_rules(raw: str, kind: str, fmt: str, expected: str) -> None:
    text, offsets = normalize(raw, kind, fmt)
    assert text == expected
    assert all(text[i] == raw[o] for i, o in enumerate(offsets))


@pytest.mark.parametrize(
    ("title", "text", "kind"),
    [
        ("某市扬尘污染防治办法", "", "regulation"),  # …办法 ends in 法 but is a regulation
        ("建设工地管理规定", "", "regulation"),
        ("重点区域大气污染防治实施方案", "", "plan"),
        ("扬尘治理工作要求", "第一条 为了……，制定本要求。\n第二条 施工单位应当……", "regulation"),
        ("工作安排", "一、总体要求\n2025年底前完成摸底。\n二、重点任务\n2026年6月底前建成平台。", "plan"),
        ("附表", "序号 名称 类别\n1 铅蓄电池 HW49", "list"),
    ],
)
def test_guess_kind_reads_the_text_when_the_title_says_nothing(title: str, text: str, kind: str) -> None:
    assert guess_kind(title, text) == kind


def test_the_manifest_names_what_replaced_a_repealed_law(tmp_path: Path) -> None:
    from indexing.manifest import repeals

    assert repeals(PACKAGE_CORPUS)[1] == {"env-noise-pollution-law-2018": "中华人民共和国噪声污染防治法"}
    header = "doc_id\tfile\ttitle\tkind\tdoc_number\tissuer\tdates\tsource\treplaced_by"
    rows = ["old\ta.md\t旧法\tlaw\t\t\t2020-01-01废止\t\tnew", "new\tb.md\t新法\tlaw\t\t\t\t\t",
            "gone\tc.md\t某法\tlaw\t\t\t2020-01-01废止\t\tnowhere", "live\td.md\t现行法\tlaw\t\t\t\t\tnew"]
    (tmp_path / "MANIFEST.tsv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert repeals(tmp_path)[1] == {"old": "新法"}  # an unknown doc_id, or a law in force, names nothing
