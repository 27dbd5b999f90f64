"""The Gradio web app: builds the Blocks of all tabs (问答, 义务与期限, 我要遵守什么？, 文档, 测验, and with a password
管理) and serves them.

The page loads nothing from outside the machine (no web fonts, no CDN; analytics are off in indexing.config). The
app starts serving at once; a background thread opens the index (building it first when it is missing) and the
page shows the progress until it is ready. Each tab is built by a function in kb.web.tabs that takes the
`AppContext`; `public_tabs` lists them, which is where a new tab goes.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from typing import Any

# isort: off
from indexing.config import Settings  # first: it sets the offline environment that gradio reads
import gradio as gr

# isort: on
from starlette.middleware import Middleware

from kb.register.parties import register_party_views
from kb.service import KnowledgeBase
from kb.web.api import register_api
from kb.web.assets import asset
from kb.web.context import ALL, AppContext, TabBuilder
from kb.web.guard import UploadGuard
from kb.web.tabs.admin import build_admin_tab
from kb.web.tabs.chat import build_chat_tab
from kb.web.tabs.documents import build_documents_tab
from kb.web.tabs.quiz import build_quiz_tab
from kb.web.tabs.register import OB_FILTER_DEFAULTS, build_obligations_tab, party_choices, place_choices
from kb.web.tabs.roles import build_roles_tab

QUEUE_MAX_SIZE = 256  # questions and other queued events waiting at once, all clients together


def public_tabs() -> list[tuple[str, str, TabBuilder]]:
    """The public tabs as (label, id, builder); each builder is called inside its gr.Tab."""
    return [
        ("问答", "chat", build_chat_tab),
        ("义务与期限", "obligations", build_obligations_tab),
        ("我要遵守什么？", "roles", build_roles_tab),
        ("文档", "docs", build_documents_tab),
        ("测验", "quiz", build_quiz_tab),
    ]


class _UI:
    """A bag for components that one tab exposes to another (set by the tab builders)."""

    def __getattr__(self, name: str) -> Any:  # only reached when a builder did not set it
        return None


def populate(ctx: AppContext, ui: _UI) -> dict[Any, Any]:
    """Fill the choices that depend on the index (documents, years, parties, domains); stop the timer when ready."""
    updates: dict[Any, Any] = {ui.status: ctx.status_html()}
    if not ctx.ready.is_set():
        updates[ui.timer] = gr.Timer(active=True)
        return updates
    updates[ui.timer] = gr.Timer(active=False)
    updates[ui.populated] = True
    if ctx.error:
        return updates
    kind_order = {"plan": 0, "law": 1, "regulation": 2, "list": 3}
    docs = sorted(ctx.documents(), key=lambda ds: kind_order.get(ds[0].kind, 9))  # stable: corpus order within
    doc_choices = [(KnowledgeBase.document_label(d), d.doc_id) for d, _ in docs]
    first = doc_choices[0][1] if doc_choices else None
    if ui.scope is not None:
        updates[ui.scope] = gr.update(choices=[(ALL, ""), *doc_choices])
    if ui.doc_select is not None:
        updates[ui.doc_select] = gr.update(choices=doc_choices, value=first)
    if ui.ob_year is not None:
        obs = ctx.obligations()
        years = sorted({str(ob.year) for ob in obs if ob.year})
        domains = sorted({ob.domain for ob in obs if ob.domain})
        ob_docs = sorted({(ob.title, ob.doc_id) for ob in obs})
        updates[ui.ob_year] = gr.update(choices=[ALL, *years])
        updates[ui.ob_party] = gr.update(choices=party_choices(obs, register_party_views(ctx.kb.register)))
        updates[ui.ob_place] = gr.update(choices=place_choices(obs))
        updates[ui.ob_domain] = gr.update(choices=[ALL, *domains])
        updates[ui.ob_doc] = gr.update(choices=[(ALL, ""), *ob_docs])
        values = ui.ob_run(*OB_FILTER_DEFAULTS)
        updates.update(dict(zip(ui.ob_outputs, values, strict=True)))
    return updates


def build_app(ctx: AppContext) -> Any:
    """The Gradio Blocks of the whole app (not launched)."""
    ui = _UI()
    with gr.Blocks(title="新疆环境保护规划知识库", analytics_enabled=False, fill_width=False,
                   delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# 新疆环境保护“十三五”规划知识库\n"
            "离线检索《新疆维吾尔自治区环境保护“十三五”规划》及 18 部国家法律法规；回答均引用原文并标明出处。",
            elem_id="kb-title",
        )
        ui.status = gr.HTML(ctx.status_html, elem_id="kb-status")  # a callable: evaluated at each page load
        ui.timer = gr.Timer(1.0, active=True)
        with gr.Tabs(elem_id="kb-tabs") as tabs:
            for label, tab_id, builder in public_tabs():
                with gr.Tab(label, id=tab_id, elem_id=f"tab-{tab_id}"):
                    builder(ctx, ui)
            if ctx.settings.admin_password:
                with gr.Tab("管理", id="admin", elem_id="tab-admin"):
                    build_admin_tab(ctx, ui)
        ui.tabs = tabs
        if ui.ob_open is not None and ui.open_target is not None:
            ui.ob_open.click(
                fn=ui.open_target,
                inputs=[ui.ob_target],
                outputs=[tabs, ui.doc_select, ui.doc_section, ui.doc_body, ui.doc_focus],
                api_visibility="undocumented",
            )
        populated = gr.State(False)
        ui.populated = populated
        register_api(ctx)
        targets = [t for t in (ui.status, ui.timer, populated, ui.scope, ui.doc_select, ui.ob_year, ui.ob_party,
                               ui.ob_place, ui.ob_domain, ui.ob_doc, *(ui.ob_outputs or [])) if t is not None]

        def refresh(done: bool) -> dict[Any, Any]:
            """Populate the page once the index is ready (once per page session)."""
            if done:
                return {ui.timer: gr.Timer(active=False)}
            return populate(ctx, ui)

        ui.timer.tick(fn=refresh, inputs=[populated], outputs=targets, show_progress="hidden",
                      api_visibility="private")
        demo.load(fn=refresh, inputs=[populated], outputs=targets, show_progress="hidden", api_visibility="private")
    return demo


def theme() -> Any:
    """A theme that uses locally installed fonts only (the default one fetches web fonts)."""
    sans = ["Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"]
    mono = ["Noto Sans Mono CJK SC", "ui-monospace", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=sans, font_mono=mono)


def create_context(settings: Settings, kb: Any = None) -> AppContext:
    """An AppContext over ``kb`` (a new KnowledgeBase when None)."""
    if kb is None:
        from kb.api import KnowledgeBase

        kb = KnowledgeBase(settings, progress=lambda m: print(m, flush=True))
    ctx = AppContext(settings=settings, kb=kb)
    if hasattr(kb, "_progress"):
        kb._progress = ctx.set_status
    if hasattr(kb, "background_repair"):
        kb.background_repair = True  # a damaged index is rebuilt while the previous generation serves
    return ctx


def launch(demo: Any, ctx: AppContext, host: str, port: int, block: bool = True) -> Any:
    """Configure the queue and start the server."""
    demo.queue(default_concurrency_limit=4, max_size=QUEUE_MAX_SIZE)
    return demo.launch(
        server_name=host,
        server_port=port,
        theme=theme(),
        css=asset("kb.css"),
        js=asset("page.js"),
        max_file_size=f"{ctx.settings.max_upload_mb}mb",
        footer_links=[],
        show_error=False,
        quiet=True,
        prevent_thread_lock=not block,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        allowed_paths=[str(ctx.export_dir)],
        app_kwargs={"middleware": [Middleware(UploadGuard, uploads=demo.upload_file_set,
                                              enabled=bool(ctx.settings.admin_password),
                                              max_file_mb=ctx.settings.max_upload_mb, limits=ctx.limits)]},
    )


def _interrupt(signum: int, frame: Any) -> None:
    """Signal handler: turn SIGTERM into KeyboardInterrupt, which gradio's launch loop exits on."""
    raise KeyboardInterrupt


def port_in_use_message(host: str, port: int) -> str | None:
    """A Chinese message naming KB_PORT / --port when ``host:port`` cannot be bound, else None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"无法在 {host}:{port} 启动网页服务：地址无效（{e}）。请用 KB_HOST 或 --host 指定监听地址。"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            return (f"无法在 {host}:{port} 启动网页服务：端口已被占用或无权使用（{e.strerror or e}）。"
                    f"请用环境变量 KB_PORT 或参数 --port 指定其他端口，例如：kb serve --port {port + 1}")
    return None


def serve(settings: Settings, host: str | None = None, port: int | None = None, kb: Any = None) -> int:
    """Serve the app (blocking); the index is opened, or built first, in the background with progress shown.

    The URL is printed only once the server is listening; a busy port is reported naming KB_PORT / --port.
    """
    host = host or settings.host
    port = int(port or settings.port)
    problem = port_in_use_message(host, port)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 1
    ctx = create_context(settings, kb)
    demo = build_app(ctx)
    ctx.start_warm_up()
    ctx.janitor.start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl+C
    try:
        launch(demo, ctx, host, port, block=False)
        print(f"知识库网页：http://{host}:{port}  （按 Ctrl+C 退出）", flush=True)
        demo.block_thread()
    except OSError as e:  # the port was taken between the check and the launch
        print(port_in_use_message(host, port) or f"无法在 {host}:{port} 启动网页服务：{e}", file=sys.stderr,
              flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        demo.close()
        ctx.janitor.stop()
        shutil.rmtree(ctx.export_dir, ignore_errors=True)
    return 0
