"""The `kb` command line (contracts in README.md and docs/CONTRACTS.md); heavy imports happen inside each command."""

from __future__ import annotations

import argparse
import os
import sys

from indexing.config import get_settings


def _build_parser() -> argparse.ArgumentParser:
    from kb import __version__

    p = argparse.ArgumentParser(prog="kb", description="新疆环境保护“十三五”规划知识库（离线、带引用）")
    p.add_argument("--version", action="version", version=f"kb (xjenv-kb) {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("index", help="构建或增量更新索引")
    s.add_argument("--rebuild", action="store_true", help="忽略已有索引，完整重建")
    s.add_argument("--corpus", help="语料目录（默认随包附带的 corpus/）")

    s = sub.add_parser("ask", help="提问，返回带引用的答案")
    s.add_argument("question", nargs="?", help="问题")
    s.add_argument("--json", action="store_true", help="输出 JSON")
    s.add_argument("--batch", metavar="FILE|-", help='批量提问：每行 {"id": ..., "q": ...}；- 表示标准输入')
    s.add_argument("-k", type=int, default=5, help="引用段落数上限")
    s.add_argument("--doc", action="append", help="只在指定文档（doc_id）中检索，可重复")
    s.add_argument("--kind", action="append", help="只检索某类文档：plan/law/regulation/list")
    s.add_argument("-o", "--output", metavar="FILE", help="写入文件（UTF-8）而不是标准输出")

    s = sub.add_parser("obligations", help="义务与期限清单")
    s.add_argument("--due-before", metavar="YYYY-MM-DD")
    s.add_argument("--year", type=int)
    s.add_argument("--party")
    s.add_argument("--doc")
    s.add_argument("--domain")
    s.add_argument("--format", choices=["json", "csv", "ics", "table"], default="table")
    s.add_argument("--columns", choices=["zh", "raw"], default="zh",
                   help="CSV 列名：zh 中文（默认，便于 Excel 阅读）；raw 机器列名（与 JSON 字段同名）")
    s.add_argument("-o", "--output", metavar="FILE", help="写入文件（UTF-8；CSV 带 BOM）而不是标准输出")
    s.add_argument("--role", help="我要遵守什么？按身份列出适用的义务、禁止与处罚（见 kb/vocab/roles.tsv）")

    s = sub.add_parser("quiz", help="生成测验题")
    s.add_argument("--n", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--kind", choices=["mcq", "blank", "judge"], action="append")
    s.add_argument("--doc")
    s.add_argument("--domain")
    s.add_argument("--format", choices=["json", "csv", "gift", "aiken", "md"], default="md")
    s.add_argument("--columns", choices=["zh", "raw"], default="zh",
                   help="CSV 列名：zh 中文（默认，便于 Excel 阅读）；raw 机器列名（与 JSON 字段同名）")
    s.add_argument("--period", choices=["13th", "12th"], help="12th：只出“十二五”回顾表（专栏1）的题")
    s.add_argument("--include-repealed", action="store_true", help="包括已废止的文件")
    s.add_argument("--avoid", metavar="FILE", action="append",
                   help="已出过的试卷（kb quiz --format json 的输出，可多次给出）：不再考其中的条文，用于出 A/B 卷")
    s.add_argument("-o", "--output", metavar="FILE", help="写入文件（UTF-8；CSV 带 BOM）而不是标准输出")

    s = sub.add_parser("eval", help="评测并写入 eval/RESULTS.md")
    s.add_argument("--quick", action="store_true", help="只跑少量问题（冒烟测试；结果写入数据目录）")
    s.add_argument("--out", help="结果文件（默认 eval/RESULTS.md；--quick 时为数据目录下的 eval-cache/）")

    s = sub.add_parser("serve", help="启动网页应用")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    return p


def _run(args: argparse.Namespace) -> int:
    """Dispatch a parsed command line to its command."""
    settings = get_settings()
    if args.cmd == "index":
        from kb.commands import cmd_index

        return cmd_index(args, settings)
    if args.cmd == "ask":
        from kb.commands import cmd_ask

        return cmd_ask(args, settings)
    if args.cmd == "obligations" and args.role:
        from kb.commands import cmd_role

        return cmd_role(args, settings)
    if args.cmd == "obligations":
        from kb.commands import cmd_obligations

        return cmd_obligations(args, settings)
    if args.cmd == "quiz":
        from kb.commands import cmd_quiz

        return cmd_quiz(args, settings)
    if args.cmd == "eval":
        from kb.commands import cmd_eval

        return cmd_eval(args, settings)
    if args.cmd == "serve":
        from kb.web.app import serve

        return serve(settings, host=args.host, port=args.port)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kb` console script."""
    for stream in (sys.stdout, sys.stderr):  # a message the locale cannot encode must not end the command
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = _build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:  # `kb … | head`: the reader left; stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
