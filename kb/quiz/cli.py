"""`kb quiz`: the register of the index (or one built straight from the corpus) as a printed quiz."""

from __future__ import annotations

import sys

from kb.cli_io import emit
from kb.inputs import check_one
from kb.quiz.build import FORMATTERS, generate, quiz_documents, quiz_domains
from kb.register.store import register_for


def cmd_quiz(args, settings) -> int:
    """`kb quiz`: generate a quiz and print it as md (default), json, csv, gift or aiken."""
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
    register = register_for(settings)
    repealed = bool(getattr(args, "include_repealed", False))
    docs = quiz_documents(register, include_repealed=True)
    try:  # an unknown document or domain is an error listing the valid ones (kb.inputs.UnknownFilterError)
        doc = check_one("doc", "文档（doc_id，须有可出题的内容）", getattr(args, "doc", None), [d for _, d in docs])
        domain = check_one("domain", "领域", getattr(args, "domain", None), quiz_domains(register))
        items = generate(register, n=n, seed=int(getattr(args, "seed", 0)), kinds=kinds, doc=doc, domain=domain,
                         period=getattr(args, "period", None), include_repealed=repealed)
    except ValueError as e:
        print(f"参数错误：{e}", file=sys.stderr)
        return 2
    if not items:
        print("没有符合条件的题目：请放宽文档、领域或题型的筛选。", file=sys.stderr)
        return 1
    if len(items) < n:
        print(f"符合条件的素材只够生成 {len(items)} 道题（要求 {n} 道）。", file=sys.stderr)
    emit(FORMATTERS[fmt](items), getattr(args, "output", None))
    return 0

