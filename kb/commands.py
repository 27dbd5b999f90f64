"""The `kb` commands, one `cmd_*` function each: thin wrappers over the library; heavy imports happen inside them."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import time
from pathlib import Path
from typing import BinaryIO

from indexing import store
from indexing.config import Settings
from kb.api import KnowledgeBase
from kb.ask.retrieve import Filters
from kb.cli_io import Output, dumps, emit, read_batch
from kb.inputs import UnknownFilterError, check_one, obligation_filters, terminal_safe
from kb.textclean import clean_text


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """Build or update the index and print documents, chunks, tokens and seconds per stage."""
    if args.corpus:
        settings.corpus_dir = Path(args.corpus).resolve()
    from indexing.progress import BuildProgress

    kb = KnowledgeBase(settings)
    t0 = time.perf_counter()
    try:
        report = kb.build(rebuild=args.rebuild, progress=BuildProgress(lambda m: print(m, file=sys.stderr, flush=True)))
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


def _open_batch(source: str) -> BinaryIO:
    """The batch file (``-``: standard input) opened for reading bytes; OSError when it cannot be."""
    if source == "-":
        return sys.stdin.buffer
    path = Path(source)
    if path.is_dir():
        raise IsADirectoryError(f"是一个目录：{source}")
    return path.open("rb")


def _ask_batch(kb: KnowledgeBase, args: argparse.Namespace, filters: Filters, fh: BinaryIO, out: Output) -> int:
    """Answer every line of a batch file in order; a bad line gets an error record and the run goes on."""
    failed = 0
    for item in read_batch(fh):
        if not item.error:
            try:
                ans = kb.ask(item.question, k=args.k, filters=filters, history=item.history)
            except Exception as e:  # one failed question must not end the run
                item.error = f"第 {item.line} 行处理出错（{type(e).__name__}: {e}）"
        if item.error:
            failed += 1
            print(item.error, file=sys.stderr)
            record = item.error_record()
            out.line(dumps(record) if args.json else terminal_safe(f"## {item.id}. 错误：{item.error}\n"))
            continue
        if args.json:
            out.line(dumps({**ans.to_dict(id=item.id), "line": item.line}))
        else:
            out.line(terminal_safe(f"## {item.id}. {item.question}\n{_render_text(ans)}\n"))
    if failed:
        print(f"批量提问完成：{failed} 行出错（见输出中的 error 记录）。", file=sys.stderr)
    return 1 if failed else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or a JSONL batch with one model load, as text or JSON (stdout or ``-o FILE``)."""
    question = ""
    fh: BinaryIO | None = None
    if args.batch:
        try:
            fh = _open_batch(args.batch)
        except OSError as e:
            print(f"无法读取批量问题文件：{e}", file=sys.stderr)
            return 2
    elif args.question is None:
        print("请提供问题，例如：kb ask \"秸秆收集利用率要在哪年达到多少？\"", file=sys.stderr)
        return 2
    else:
        question = clean_text(_argv_text(args.question)).strip()
        if not question:
            print("问题不能为空，请输入要查询的内容。", file=sys.stderr)
            return 2
    kb = KnowledgeBase(settings, progress=lambda m: print(m, file=sys.stderr))
    out = Output(getattr(args, "output", None))
    try:
        filters = kb.filters(args.doc, args.kind)
        if fh is not None:
            return _ask_batch(kb, args, filters, fh, out)
        ans = kb.ask(question, k=args.k, filters=filters)
        out.line(dumps(ans.to_dict()) if args.json else terminal_safe(_render_text(ans)))
        return 0
    except UnknownFilterError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    except store.KBIndexError as e:
        print(f"无法打开索引：{e}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"无法打开索引（磁盘或文件错误）：{e}", file=sys.stderr)
        return 4
    finally:
        out.close()
        if fh is not None and fh is not sys.stdin.buffer:
            fh.close()


def cmd_obligations(args: argparse.Namespace, settings: Settings) -> int:
    """`kb obligations`: filter the register and print it as json, csv, ics or an aligned table (``-o FILE``)."""
    from kb.register import export
    from kb.register.query import query
    from kb.register.store import register_for

    try:
        register = register_for(settings)
    except (OSError, ValueError) as e:  # a missing or damaged register file: no traceback
        print(f"无法读取义务清单：{e}。请运行 kb index --rebuild 重建索引。", file=sys.stderr)
        return 3
    try:
        kw = obligation_filters(register, due_before=args.due_before, year=args.year, party=args.party,
                                doc=args.doc, domain=args.domain, text=getattr(args, "text", None),
                                binding=getattr(args, "binding", None))
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    records = query(register, **kw)
    fmt = args.format
    if fmt == "csv":
        out = export.to_csv(records, getattr(args, "columns", "zh"))
    else:
        out = {"json": export.to_json, "ics": export.to_ics, "table": export.to_table}[fmt](records)
    emit(terminal_safe(out) if fmt == "table" else out, getattr(args, "output", None))
    if not records:
        print("没有符合条件的义务记录。", file=sys.stderr)
    return 0


def cmd_role(args: argparse.Namespace, settings: Settings) -> int:
    """`kb obligations --role 角色`: the duties, prohibitions and penalties of one role (table or json)."""
    from dataclasses import asdict

    from kb.register.roles import find_role, load_roles, role_items, to_text
    from kb.register.store import register_for

    role = find_role(args.role)
    if role is None:
        names = "、".join(r.name for r in load_roles())
        print(f"没有这个角色：{args.role}。可选：{names}", file=sys.stderr)
        return 2
    register = register_for(settings)
    docs = None
    try:
        from indexing.build import load_corpus

        docs = load_corpus(settings, [])
    except Exception as e:  # penalties need the corpus; duties do not
        print(f"未能读取语料（{type(e).__name__}），只列出义务与禁止。", file=sys.stderr)
    items = role_items(role, list(register.records), None, docs)
    if getattr(args, "format", "table") == "json":
        data = {"role": role.name, "note": role.note, "items": [asdict(i) for i in items]}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(to_text(role, items))
    return 0

def _avoided_items(paths: list[str]) -> list | None:
    """The items of earlier papers (``kb quiz --format json`` files); None, with a message, when one is unreadable."""
    from kb.quiz.export import from_json

    items: list = []
    for path in paths:
        try:
            items.extend(from_json(Path(path).read_text(encoding="utf-8-sig")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            print(f"参数错误：--avoid {path} 不是可读的 kb quiz JSON 试卷（{type(e).__name__}）。", file=sys.stderr)
            return None
    return items


def cmd_quiz(args: argparse.Namespace, settings: Settings) -> int:
    """`kb quiz`: generate a quiz and print it as md (default), json, csv, gift or aiken."""
    from kb.quiz.build import generate, quiz_documents, quiz_domains
    from kb.quiz.export import FORMATTERS
    from kb.register.store import register_for

    fmt = getattr(args, "format", "md") or "md"
    kinds = getattr(args, "kind", None)
    n = int(getattr(args, "n", 10))
    if n < 1:
        print("参数错误：--n 必须是正整数。", file=sys.stderr)
        return 2
    if fmt == "aiken":
        if kinds and "mcq" not in kinds:
            print("Aiken 格式只支持单选题（--kind mcq）。", file=sys.stderr)
            return 2
        kinds = ["mcq"]
    avoid = _avoided_items(getattr(args, "avoid", None) or [])
    if avoid is None:
        return 2
    register = register_for(settings)
    repealed = bool(getattr(args, "include_repealed", False))
    docs = quiz_documents(register, include_repealed=True)
    try:  # an unknown document or domain is an error listing the valid ones (kb.inputs.UnknownFilterError)
        doc = check_one("doc", "文档（doc_id，须有可出题的内容）", getattr(args, "doc", None), [d for _, d in docs])
        domain = check_one("domain", "领域", getattr(args, "domain", None), quiz_domains(register))
        items = generate(register, n=n, seed=int(getattr(args, "seed", 0)), kinds=kinds, doc=doc, domain=domain,
                         period=getattr(args, "period", None), include_repealed=repealed, avoid=avoid)
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    if not items:
        print("没有符合条件的题目：请放宽文档、领域或题型的筛选。", file=sys.stderr)
        return 1
    if len(items) < n:
        print(f"符合条件的素材只够生成 {len(items)} 道题（要求 {n} 道）。", file=sys.stderr)
    columns = getattr(args, "columns", "zh")
    emit(FORMATTERS[fmt](items, columns) if fmt == "csv" else FORMATTERS[fmt](items), getattr(args, "output", None))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings, embeddings=None) -> int:
    """`kb eval [--quick] [--out FILE]`: the evaluation (eval/run.py, imported only when this command runs)."""
    from eval.run import run_eval

    return run_eval(args, settings, embeddings=embeddings)
