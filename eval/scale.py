"""Cost against corpus size: grow the corpus 10× and 100× with regulation-like documents and measure the index.

    python -m eval.scale                      # 1×, 10×, 100× (long: the 100× point indexes ~25 M characters)
    python -m eval.scale --factors 1 10       # a subset
    python -m eval.scale --quick              # 1× and 2× of a 3-document corpus (a smoke test, seconds)

Synthetic documents (``grow_corpus``) are deterministic recombinations of the real corpus: plan-like documents
take the plan's sentences and law-like ones the laws' articles, with the places (新疆 → another province, 乌鲁木齐市
→ another city …), every Arabic number (scaled by a per-document factor, same number of decimals) and every year
(shifted) changed, under new headings (the plan's heading scheme 一、/（一）/1. and the laws' 第X章/第X条, renumbered).
They are written as .md files with MANIFEST.tsv lines into a temporary corpus that also holds the real documents,
so the dev questions still have their evidence. Recall@5 is reported two ways: the evidence in a top-5 chunk of
the question's own (real) document, and in any top-5 chunk (a synthetic document that copied the sentence
unchanged repeats the evidence, as another province's regulation repeating a national article would).

**Stand-in vectors.** Embedding 160 k chunks with the real model is hours of CPU here, so every point is indexed
with :class:`HashEmbeddings`: jieba tokens (our ``cut``) hashed into 384 signed dimensions, L2-normalised. It is
cheap and deterministic, so the BM25, Chroma (HNSW insert and query), disk and memory figures are real for
384-dimension vectors, but the dense half of the hybrid is lexical and the Recall@5 column is *not* the real
model's. The real model's throughput is measured separately (``real_pps``: passages/s over a sample of chunks
on this machine) and the real embedding time of each point is extrapolated as chunks / real_pps.

Each point runs in a fresh process (``--point``) so that its peak RSS is its own; the parent writes
eval/scale.json and eval/scale.png (cost against corpus size), which `kb eval` links from RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from eval.metrics import peak_rss_mb

EVAL_DIR = Path(__file__).resolve().parent
SCALE_JSON = EVAL_DIR / "scale.json"
SCALE_PNG = EVAL_DIR / "scale.png"
DIM = 384
FACTORS = (1, 10, 100)
DOC_CHARS = 10_000  # target size of one synthetic document (the real ones average ~10 k characters)
REAL_SAMPLE = 48  # chunks embedded with the real model to measure its throughput

# Places of the corpus and the pools they are replaced from (another province's cities and regions).
_PROVINCE = ("新疆维吾尔自治区", "新疆", "自治区", "全区", "全疆")
_CITIES = ("乌鲁木齐市", "克拉玛依市", "吐鲁番市", "哈密市", "昌吉市", "伊宁市", "博乐市", "库尔勒市", "阿克苏市",
           "喀什市", "和田市", "塔城市", "阿勒泰市", "石河子市", "奎屯市", "五家渠市", "阿图什市")
_REGIONS = ("北疆", "南疆", "东疆", "伊犁河谷", "天山北坡")
_NEW_PROVINCES = ("甘肃省", "青海省", "宁夏回族自治区", "内蒙古自治区", "陕西省", "山西省", "河北省", "吉林省",
                  "黑龙江省", "云南省", "贵州省", "四川省")
_NEW_CITIES = ("兰州市", "嘉峪关市", "金昌市", "白银市", "天水市", "武威市", "张掖市", "平凉市", "酒泉市", "庆阳市",
               "定西市", "陇南市", "西宁市", "海东市", "格尔木市", "德令哈市", "银川市", "石嘴山市", "吴忠市",
               "固原市", "中卫市", "呼和浩特市", "包头市", "乌海市", "赤峰市", "通辽市", "鄂尔多斯市", "榆林市",
               "延安市", "大同市", "朔州市", "张家口市", "承德市", "白城市", "松原市", "齐齐哈尔市", "大庆市")
_NEW_REGIONS = ("河西走廊", "黄河上游", "河套地区", "祁连山北麓", "陇东", "湟水谷地", "坝上地区")
_PLAN_TOPICS = ("大气污染防治", "水环境保护", "土壤污染防治", "固体废物管理", "生态保护与修复", "农村环境整治",
                "核与辐射安全", "环境风险防控", "环境监管能力建设", "绿色发展", "重点流域治理", "城镇环境基础设施")
_LAW_TOPICS = ("环境保护", "大气污染防治", "水污染防治", "土壤污染防治", "固体废物污染防治", "噪声污染防治",
               "生态保护", "排污许可管理", "环境影响评价", "自然保护区管理", "清洁生产", "危险废物管理")
_CN_DIGITS = "零一二三四五六七八九"
# A number to rescale; not one inside a code (PM2.5, GB3095-2012, HJ/T276, 900-049-50).
_NUMBER = re.compile(r"(?<![\d.A-Za-z_{/-])(\d+)(\.\d+)?(?![\d-])")
_YEAR = re.compile(r"((?:19|20)\d{2})(?=\s*年)")
_ARTICLE_HEAD = re.compile(r"^第[零一二三四五六七八九十百千]+条\s*")


def cn_numeral(n: int) -> str:
    """Chinese numeral for 1..9999 as laws write article numbers (11 -> 十一, 105 -> 一百零五)."""
    if not 0 < n < 10000:
        raise ValueError(n)
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero and out:
                out += "零"
            out += ("" if (unit == "十" and d == 1 and not out) else _CN_DIGITS[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


# ---------------------------------------------------------------------------------------------------------------
# Stand-in embeddings


class HashEmbeddings(Embeddings):
    """Deterministic stand-in vectors: jieba tokens hashed into DIM signed dimensions, L2-normalised.

    Not a semantic model: it exists so that indexes of 160 k chunks can be built on a CPU in minutes with the
    real store (Chroma) and the real vector size. ``model_id`` names it so no index mistakes it for the model.
    """

    model_id = f"hash-jieba-{DIM}"

    @staticmethod
    def _vector(text: str) -> list[float]:
        from indexing.tokenize import cut

        v = np.zeros(DIM, dtype=np.float32)
        for tok in cut(text):
            h = int.from_bytes(hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little")
            v[h % DIM] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0.0:
            v[0] = 1.0
            n = 1.0
        return (v / n).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Stand-in passage vectors."""
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Stand-in query vector."""
        return self._vector(text)


# ---------------------------------------------------------------------------------------------------------------
# Growing the corpus


class _Rewriter:
    """Changes places, numbers and years of real sentences consistently within one synthetic document."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.province = rng.choice(_NEW_PROVINCES)
        short = re.sub(r"(回族|维吾尔|壮族)?(自治区|省)$", "", self.province)
        cities = rng.sample(_NEW_CITIES, len(_CITIES))
        self.places = {c: n for c, n in zip(_CITIES, cities, strict=True)}
        self.places.update({c.removesuffix("市"): n.removesuffix("市") for c, n in self.places.items()})
        self.places.update({r: rng.choice(_NEW_REGIONS) for r in _REGIONS})
        self.places.update({"新疆维吾尔自治区": self.province, "新疆": short, "自治区": "省" if "省" in self.province
                            else "自治区", "全疆": "全省", "兵团": "农垦系统"})
        self._place_re = re.compile("|".join(re.escape(k) for k in sorted(self.places, key=len, reverse=True)))
        self.scale = rng.uniform(0.6, 1.45)
        self.year_shift = rng.randint(-6, 9)

    def _number(self, m: re.Match[str]) -> str:
        whole, frac = m.group(1), m.group(2) or ""
        if len(whole) == 4 and whole[:2] in ("19", "20") and not frac:
            return whole  # years are shifted separately
        value = float(whole + frac) * self.scale
        if frac:
            return f"{value:.{len(frac) - 1}f}"
        return str(max(1, round(value)))

    def __call__(self, text: str) -> str:
        text = self._place_re.sub(lambda m: self.places[m.group(0)], text)
        text = _YEAR.sub(lambda m: str(int(m.group(1)) + self.year_shift), text)
        return _NUMBER.sub(self._number, text)


def _pools(docs) -> tuple[list[str], list[str], list[str], list[str]]:
    """Plan sentences, law article bodies, plan headings and law chapter headings of the real corpus."""
    from indexing.chunker import sentence_spans

    plan_sents, articles, plan_heads, chapters = [], [], [], []
    for doc, sections in docs:
        if doc.kind == "plan":
            for a, b in sentence_spans(doc.text):
                s = doc.text[a:b].strip()
                if 12 <= len(s) <= 300 and "\t" not in s and s[-1] in "。；":
                    plan_sents.append(s)
            plan_heads += [re.sub(r"^[（(]?[一二三四五六七八九十\d]+[）)、.．]\s*", "", s.heading).strip()
                           for s in sections if s.kind in ("h2", "h3", "h4")]
        elif doc.kind in ("law", "regulation"):
            for s in sections:
                if s.kind == "article":
                    body = _ARTICLE_HEAD.sub("", doc.text[s.start:s.end].strip())
                    if 10 <= len(body) <= 1200:
                        articles.append(body)
                elif s.kind == "chapter":
                    chapters.append(re.sub(r"^第[一二三四五六七八九十]+章\s*", "", s.heading).strip())
    plan_heads = [h for h in plan_heads if 4 <= len(h) <= 40] or list(_PLAN_TOPICS)
    chapters = [c for c in chapters if 2 <= len(c) <= 20] or ["总则", "法律责任", "附则"]
    return plan_sents, articles, plan_heads, chapters


def _plan_doc(rng: random.Random, rw: _Rewriter, sents: list[str], heads: list[str], year: int) -> tuple[str, str]:
    topic = rng.choice(_PLAN_TOPICS)
    period = "十" + "二三四五"[min(max((year - 2011) // 5, 0), 3)] + "五"
    title = f"{rw.province}{topic}“{period}”规划（{year}年）"
    lines = [title, "", f"{rw.province}生态环境厅", "", f"{year}年{rng.randint(1, 12)}月", ""]
    size, n1 = 0, 0
    while size < DOC_CHARS:
        n1 += 1
        lines += [f"{cn_numeral(n1)}、{rw(rng.choice(heads))}", ""]
        for n2 in range(1, rng.randint(2, 4) + 1):
            lines += [f"（{cn_numeral(n2)}）{rw(rng.choice(heads))}", ""]
            for n3 in range(1, rng.randint(1, 3) + 1):
                lines += [f"{n3}. {rw(rng.choice(heads))}", ""]
                para = "".join(rw(s) for s in rng.sample(sents, min(len(sents), rng.randint(3, 7))))
                lines += [para, ""]
                size += len(para)
    return title, "\n".join(lines)


def _law_doc(rng: random.Random, rw: _Rewriter, articles: list[str], chapters: list[str], year: int
             ) -> tuple[str, str]:
    topic = rng.choice(_LAW_TOPICS)
    title = f"{rw.province}{topic}条例"
    passed = f"{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日 {rw.province}人民代表大会常务委员会通过"
    lines = [f"# {title}", "", passed, "", "<!-- INFO END -->", ""]
    size, art, ch = 0, 0, 0
    heads = ["总则", *rng.sample(chapters, min(len(chapters), 4)), "法律责任", "附则"]
    per = max(3, DOC_CHARS // 180 // len(heads))
    for head in heads:
        ch += 1
        lines += [f"## 第{cn_numeral(ch)}章 {head}", ""]
        for _ in range(rng.randint(per - 1, per + 2)):
            art += 1
            body = rw(rng.choice(articles))
            lines += [f"第{cn_numeral(art)}条 {body}", ""]
            size += len(body)
        if size >= DOC_CHARS * 1.2:
            break
    return title, "\n".join(lines)


def grow_corpus(src: Path, out: Path, factor: float, seed: int = 7) -> dict:
    """Copy the real corpus to ``out`` and add synthetic documents until it holds ~``factor`` × its characters.

    Deterministic for a given source corpus, factor and seed. Returns counts.
    """
    from indexing.build import load_corpus
    from indexing.config import Settings

    docs = load_corpus(Settings(data_dir=out / ".unused", corpus_dir=src), [])
    real_chars = sum(len(d.text) for d, _ in docs)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    plan_sents, articles, plan_heads, chapters = _pools(docs)
    target = real_chars * (factor - 1)
    added_chars, n = 0, 0
    rows = []
    (out / "synthetic").mkdir(exist_ok=True)
    while added_chars < target:
        n += 1
        rng = random.Random(f"{seed}-{n}")
        rw = _Rewriter(rng)
        year = rng.randint(2012, 2024)
        plan_like = (not articles) or (plan_sents and rng.random() < 0.35)
        if plan_like:
            title, text = _plan_doc(rng, rw, plan_sents, plan_heads, year)
            kind = "plan"
        else:
            title, text = _law_doc(rng, rw, articles, chapters, year)
            kind = "regulation"
        rel = f"synthetic/syn-{n:05d}.md"
        (out / rel).write_text(text + "\n", encoding="utf-8")
        rows.append("\t".join([f"syn-{n:05d}", rel, title, kind, "", f"{rw.province}（合成）", f"{year}-01-01",
                               "eval/scale.py synthetic"]))
        added_chars += len(text)
    with open(out / "MANIFEST.tsv", "a", encoding="utf-8") as fh:
        fh.write("".join(r + "\n" for r in rows))
    return {"real_docs": len(docs), "real_chars": real_chars, "synthetic_docs": n if target > 0 else 0,
            "synthetic_chars": added_chars}


# ---------------------------------------------------------------------------------------------------------------
# One measured point (in its own process)


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def measure_point(corpus: Path, data: Path, questions: Sequence[dict] | None = None) -> dict:
    """Index ``corpus`` into ``data`` with stand-in vectors and measure time, disk, RSS, latency and recall."""
    from eval import metrics as M
    from indexing import store
    from indexing.build import build_index
    from indexing.chunker import JiebaChunker
    from indexing.config import Settings
    from kb.ask.answer import compose, route
    from kb.ask.query import normalize_query
    from kb.ask.retrieve import Searcher

    questions = [g for g in (questions if questions is not None else M.load_questions()) if g.get("evidence")]
    settings = Settings(data_dir=data, corpus_dir=corpus)
    settings.chroma_url = ""
    emb = HashEmbeddings()
    chunker = JiebaChunker()
    t0 = time.perf_counter()
    report = build_index(settings, rebuild=True, embeddings=emb, chunker=chunker)
    index_s = time.perf_counter() - t0
    rss_index = peak_rss_mb()
    index = store.open_index(settings, emb, emb.model_id, chunker.version)
    searcher = Searcher(index, emb)
    texts = {c.chunk_id: M.squash_evidence(c.text) for c in index.chunks}

    def recall(mode: str, own_doc: bool) -> float:
        hits = 0
        for g in questions:
            nq = normalize_query(g["q"])
            top = searcher.search(nq.text, k=5, mode=mode, expansions=nq.expansions)
            ev = M.squash_evidence(g["evidence"])
            hits += any((c.doc_id == g["doc_id"] or not own_doc) and ev in texts[c.chunk_id] for c, _ in top)
        return hits / len(questions) if questions else float("nan")

    def ask(q: str) -> None:
        nq = normalize_query(q)
        compose(q, searcher.search(nq.text, k=8, expansions=nq.expansions), k=5, route=route(nq.text))

    for g in questions[:3]:
        ask(g["q"])
    lat = []
    for g in questions:
        t1 = time.perf_counter()
        ask(g["q"])
        lat.append((time.perf_counter() - t1) * 1000)
    gen = store.live_generation(settings)
    return {
        "docs": report.n_docs, "chunks": report.n_chunks, "tokens": report.n_tokens,
        "chars": sum(len(c.text) for c in index.chunks),
        "index_s": index_s, "stages": report.seconds, "embed_stand_in_s": report.seconds.get("嵌入"),
        "disk_mb": _du_mb(gen) if gen else float("nan"), "peak_rss_mb": rss_index,
        "p50_ms": M.percentile(lat, 50), "p95_ms": M.percentile(lat, 95),
        "recall_at_5": recall("hybrid", True), "recall_at_5_bm25": recall("bm25", True),
        "recall_at_5_any_doc": recall("hybrid", False), "recall_at_5_bm25_any_doc": recall("bm25", False),
        "n_questions": len(questions),
    }


def real_throughput(corpus: Path, n: int = REAL_SAMPLE) -> dict:
    """Passages/s of the real embedding model over a sample of real chunks (what the extrapolation uses)."""
    from indexing.build import load_corpus
    from indexing.chunker import JiebaChunker
    from indexing.config import get_settings
    from indexing.embeddings import load_embeddings

    settings = get_settings()
    docs = load_corpus(settings, [])
    chunks = [c for d, secs in docs for c in JiebaChunker().split_document(d, secs)]
    sample = [c.embed_text for c in random.Random(0).sample(chunks, min(n, len(chunks)))]
    emb = load_embeddings(settings)
    emb.embed_documents(sample[:4])  # warm-up
    t0 = time.perf_counter()
    emb.embed_documents(sample)
    s = time.perf_counter() - t0
    return {"passages": len(sample), "seconds": s, "pps": len(sample) / s, "model_id": emb.model_id,
            "mean_chars": float(np.mean([len(t) for t in sample]))}


# ---------------------------------------------------------------------------------------------------------------
# Driver


def plot(points: list[dict], path: Path = SCALE_PNG) -> None:
    """Cost against corpus size (log-log): index time, disk, peak RSS, query latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [p["chunks"] for p in points]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    series = [
        (axes[0][0], "Index build (s)", [("stand-in vectors", [p["index_s"] for p in points]),
                                         ("+ real model embedding (extrap.)",
                                          [p["index_s"] - (p.get("embed_stand_in_s") or 0)
                                           + (p.get("embed_real_extrapolated_s") or 0) for p in points])]),
        (axes[0][1], "Index on disk (MiB)", [("disk", [p["disk_mb"] for p in points])]),
        (axes[1][0], "Peak RSS while indexing (MiB)", [("RSS", [p["peak_rss_mb"] for p in points])]),
        (axes[1][1], "Query latency (ms)", [("p50", [p["p50_ms"] for p in points]),
                                            ("p95", [p["p95_ms"] for p in points])]),
    ]
    for ax, title, lines in series:
        for label, ys in lines:
            ax.plot(xs, ys, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("chunks")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for p in points:
        axes[0][0].annotate(f"{p['factor']}×", (p["chunks"], p["index_s"]), textcoords="offset points",
                            xytext=(4, -10), fontsize=8)
    fig.suptitle("Cost against corpus size (stand-in hash vectors; real BM25 + Chroma)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(factors: Sequence[float], work: Path, src: Path, quick: bool = False, out_json: Path = SCALE_JSON,
        out_png: Path = SCALE_PNG) -> dict:
    """Grow, measure each point in a subprocess, measure the real model's throughput, write JSON and PNG."""
    points = []
    for f in factors:
        corpus = work / f"corpus-{f}x"
        data = work / f"data-{f}x"
        t0 = time.perf_counter()
        grown = grow_corpus(src, corpus, f)
        grow_s = time.perf_counter() - t0
        print(f"{f}×: {grown['synthetic_docs']} synthetic documents written in {grow_s:.1f}s; indexing …",
              file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "eval.scale", "--point", "--corpus", str(corpus), "--data", str(data)]
        if quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(EVAL_DIR.parent))
        if proc.returncode != 0:
            raise RuntimeError(f"point {f}× failed:\n{proc.stderr[-3000:]}")
        point = json.loads(proc.stdout.strip().splitlines()[-1])
        point.update({"factor": f, "grow_s": grow_s, **grown})
        points.append(point)
        print(f"  {json.dumps({k: point[k] for k in ('chunks', 'index_s', 'disk_mb', 'p50_ms', 'recall_at_5')})}",
              file=sys.stderr, flush=True)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(corpus, ignore_errors=True)
    real = None if quick else real_throughput(src)
    for p in points:
        p["embed_real_extrapolated_s"] = p["chunks"] / real["pps"] if real else None
    note = ("Stand-in vectors: jieba tokens hashed into 384 signed dimensions (eval/scale.py HashEmbeddings), so "
            "index time, disk, memory and latency are real for BM25 + Chroma with 384-dim vectors but the dense "
            "half of the hybrid is lexical: Recall@5 is hybrid-with-stand-in (and BM25 only), not the real model. "
            "Real-model embed time = chunks / passages per second of multilingual-e5-small measured on this "
            f"machine ({real['pps']:.1f} passages/s over {real['passages']} chunks)." if real else
            "Quick run: no real-model throughput measured.")
    data = {"date": time.strftime("%Y-%m-%d %H:%M"), "points": points, "real_model": real, "note": note,
            "plot": out_png.name, "cpus": len(os.sched_getaffinity(0))}
    out_json.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    plot(points, out_png)
    return data


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    from indexing.config import PACKAGE_CORPUS

    p = argparse.ArgumentParser(prog="python -m eval.scale")
    p.add_argument("--factors", type=float, nargs="+", default=list(FACTORS))
    p.add_argument("--work", help="scratch directory (default: a temporary one)")
    p.add_argument("--corpus", help="source corpus (default: the shipped one); with --point: the corpus to index")
    p.add_argument("--data", help="with --point: the data directory to index into")
    p.add_argument("--point", action="store_true", help="measure one point in this process, print JSON")
    p.add_argument("--quick", action="store_true", help="tiny run: three documents, 1× and 2×")
    p.add_argument("--out", help="JSON output, the PNG beside it (default eval/scale.json; --quick: a temp file)")
    args = p.parse_args(argv)
    if args.point:
        questions = None
        if args.quick:
            from eval import metrics as M

            questions = M.load_questions()[:5]
        print(json.dumps(measure_point(Path(args.corpus), Path(args.data), questions), ensure_ascii=False))
        return 0
    src = Path(args.corpus) if args.corpus else PACKAGE_CORPUS
    factors = [int(f) if float(f).is_integer() else f for f in args.factors]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kb-scale-"))
    out = Path(args.out) if args.out else (
        Path(tempfile.gettempdir()) / "kb-scale-quick.json" if args.quick else SCALE_JSON)
    try:
        if args.quick:
            src = _tiny_corpus(src, work / "tiny-src")
            factors = [1, 2]
        run(factors, work, src, quick=args.quick, out_json=out, out_png=out.with_suffix(".png"))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


def _tiny_corpus(src: Path, out: Path) -> Path:
    """A copy of the plan and two laws with their manifest lines (for quick runs and tests)."""
    keep = ("plan/xinjiang-env-protection-13th-fyp-2017.txt", "laws/eia-law-2018.md", "laws/env-protection-law-2014.md")
    out.mkdir(parents=True, exist_ok=True)
    lines = (src / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    rows = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[1] in keep]
    (out / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for rel in keep:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, out / rel)
    return out


if __name__ == "__main__":
    sys.exit(main())
