"""`kb index` and `kb ask`: thin command wrappers over KnowledgeBase."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path

from indexing import store
from indexing.config import Settings
from kb.retrieve import Filters
from kb.service import KnowledgeBase


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or update the index and print documents, chunks, tokens and seconds per stage."""
    if args.corpus:
        settings.corpus_dir = Path(args.corpus).resolve()
    kb = KnowledgeBase(settings)
    t0 = time.perf_counter()
    try:
        report = kb.build(rebuild=args.rebuild)
    except store.KBIndexError as e:
        print(f"索引失败：{e}", file=sys.stderr)
        return 3
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            print(f"索引失败：磁盘空间不足，原索引保持不变；请清理磁盘空间后重试（{e}）", file=sys.stderr)
        else:
            print(f"索引失败（磁盘或文件错误，原索引保持不变）：{e}", file=sys.stderr)
        return 4
    print(report.summary())
    print(f"总耗时 {time.perf_counter() - t0:.2f}s")
    return 0


def _render_text(ans) -> str:
    lines = [ans.answer, ""]
    if ans.citations:
        lines.append("来源：" if not ans.abstained else "最接近的段落（不足以回答）：")
    for c in ans.citations:
        where = " · ".join(x for x in (c.article, f"第{c.page}页" if c.page else None) if x)
        lines.append(f"[{c.n}] {c.title} > {c.section}{(' · ' + where) if where else ''}  ({c.start}-{c.end})")
        lines.append("    " + c.text.replace("\n", "\n    "))
    return "\n".join(lines)


def _argv_text(text: str) -> str:
    """A command-line argument as text: bytes that were not UTF-8 are read as GB18030, else replaced.

    Python keeps undecodable argv bytes as lone surrogates, which would make printing (and JSON) fail.
    """
    raw = text.encode("utf-8", "surrogateescape")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or a JSONL batch with one model load, as text or JSON."""
    filters = Filters(doc_ids=tuple(args.doc or ()), kinds=tuple(args.kind or ()))
    kb = KnowledgeBase(settings, progress=lambda m: print(m, file=sys.stderr))
    if args.batch:
        try:
            with open(args.batch, encoding="utf-8") as fh:
                items = [json.loads(line) for line in fh if line.strip()]
        except (OSError, ValueError) as e:
            print(f"无法读取批量问题文件：{e}", file=sys.stderr)
            return 2
        for n, item in enumerate(items, 1):
            q = str(item.get("q", item.get("question", "")))
            history = item.get("history") or []  # earlier questions of the conversation, for a follow-up
            history = [history] if isinstance(history, str) else [str(h) for h in history]
            ans = kb.ask(q, k=args.k, filters=filters, history=history)
            ident = item.get("id", n)
            if args.json:
                print(json.dumps(ans.to_dict(id=ident), ensure_ascii=False), flush=True)
            else:
                print(f"## {ident}. {q}\n{_render_text(ans)}\n", flush=True)
        return 0
    if args.question is None:
        print("请提供问题，例如：kb ask \"秸秆收集利用率要在哪年达到多少？\"", file=sys.stderr)
        return 2
    try:
        ans = kb.ask(_argv_text(args.question), k=args.k, filters=filters)
    except store.KBIndexError as e:
        print(f"无法打开索引：{e}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"无法打开索引（磁盘或文件错误）：{e}", file=sys.stderr)
        return 4
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False))
    else:
        print(_render_text(ans))
    return 0
