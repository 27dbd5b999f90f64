"""Run the web app: `python app.py [--host H] [--port P]` (default http://127.0.0.1:7860).

Thin by design: settings come from the environment (indexing.config, which also keeps everything
offline), the knowledge base is built over them, and kb.web.app serves it. When there is no index yet,
it is built first in the background; the console and the page show the progress.
"""

from __future__ import annotations

import argparse
import sys

from indexing.config import get_settings  # first: sets the offline environment


def main(argv: list[str] | None = None) -> int:
    """Parse --host/--port, build the KnowledgeBase and serve it until interrupted."""
    parser = argparse.ArgumentParser(description="新疆环境保护“十三五”规划知识库网页应用")
    parser.add_argument("--host", help="监听地址（默认 KB_HOST 或 127.0.0.1）")
    parser.add_argument("--port", type=int, help="端口（默认 KB_PORT 或 7860）")
    args = parser.parse_args(argv)

    settings = get_settings()
    from kb.api import KnowledgeBase
    from kb.web.app import serve

    kb = KnowledgeBase(settings, progress=lambda message: print(message, flush=True))
    return serve(settings, host=args.host, port=args.port, kb=kb)


if __name__ == "__main__":
    sys.exit(main())
