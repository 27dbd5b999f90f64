"""The 管理 tab (shown when an admin password is set): after the password, upload documents, re-index with
progress, and see index statistics.
"""

from __future__ import annotations

import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# isort: off
from indexing.config import Settings  # noqa: F401  (first: it sets the offline environment gradio reads)
import gradio as gr

# isort: on
from kb.web.context import AppContext
from kb.web.render import esc
from kb.web.uploads import ALLOWED_UPLOADS, UPLOAD_SUBDIR, UploadRejected, save_upload, validate_document

log = logging.getLogger(__name__)


@dataclass
class AdminView:
    """The components of the 管理 tab that its events use."""

    authed: Any
    login_box: Any
    password: Any
    login: Any
    login_msg: Any
    panel: Any
    files: Any
    upload_btn: Any
    upload_msg: Any
    rebuild: Any
    index_btn: Any
    index_msg: Any
    stats_btn: Any
    stats: Any
    logout: Any


def password_ok(given: str | None, expected: str) -> bool:
    """Constant-time password check; an empty expected password never matches."""
    if not expected:
        return False
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


def stats_html(ctx: AppContext) -> str:
    """Index statistics of the live generation, per document."""
    if not ctx.ready.is_set():
        return '<div class="kb-stats">索引准备中……</div>'
    try:
        index = ctx.kb.open()
        meta = index.meta
    except Exception as e:  # statistics are informative only
        return f'<div class="kb-stats">无法读取索引：{esc(e)}</div>'
    per_doc: dict[str, list[int]] = {}
    for c in index.chunks:
        row = per_doc.setdefault(c.title, [0, 0])
        row[0] += 1
        row[1] += len(c.text)
    try:
        n_obs = len(ctx.obligations())
    except Exception:
        n_obs = 0
    rows = "".join(f"<tr><td>{esc(t)}</td><td>{n}</td><td>{chars}</td></tr>" for t, (n, chars) in
                   sorted(per_doc.items()))
    warnings = "".join(f"<li>{esc(w)}</li>" for w in meta.warnings)
    stages = "；".join(f"{esc(k)} {v:.1f}s" for k, v in (meta.stats or {}).items())
    return (
        '<div class="kb-stats">'
        f"<p>版本 {esc(meta.generation)}，建立于 {esc(meta.created)}；模型 {esc(meta.model_id)}；"
        f"{meta.n_docs} 个文档，{meta.n_chunks} 个片段，{meta.n_tokens} 个词元；义务 {n_obs} 条。</p>"
        f"<p>各阶段耗时：{stages or '—'}</p>"
        + (f"<p>警告：</p><ul>{warnings}</ul>" if warnings else "")
        + f"<table><tr><th>文件</th><th>片段</th><th>字数</th></tr>{rows}</table></div>"
    )


def admin_layout(ctx: AppContext) -> AdminView:
    """The password box, and the panel it opens: upload, re-index, statistics, log out."""
    authed = gr.State(False)
    with gr.Column(visible=True) as login_box:
        gr.Markdown("管理功能需要输入管理员密码。")
        with gr.Row():
            password = gr.Textbox(label="管理员密码", type="password", scale=3, elem_id="admin-password")
            login = gr.Button("登录", variant="primary", scale=1, min_width=72, elem_id="admin-login")
        login_msg = gr.Markdown(elem_id="admin-login-msg")
    with gr.Column(visible=False) as panel:
        gr.Markdown(f"**上传文件**（txt、md、pdf，每个不超过 {ctx.settings.max_upload_mb} MB；保存到语料目录的 "
                    f"`{UPLOAD_SUBDIR}/` 下，重建索引后生效）")
        files = gr.File(file_count="multiple", file_types=list(ALLOWED_UPLOADS), type="filepath",
                        label="选择文件", elem_id="admin-files")
        upload_btn = gr.Button("上传到语料库", elem_id="admin-upload")
        upload_msg = gr.Markdown(elem_id="admin-upload-msg")
        with gr.Row():
            rebuild = gr.Checkbox(label="完全重建（忽略已有向量）", value=False, elem_id="admin-rebuild")
            index_btn = gr.Button("重建索引", variant="primary", elem_id="admin-index")
        index_msg = gr.HTML(elem_id="admin-index-msg")
        stats_btn = gr.Button("刷新统计", size="sm", elem_id="admin-stats-refresh")
        stats = gr.HTML(elem_id="admin-stats")
        logout = gr.Button("退出管理", size="sm", elem_id="admin-logout")
    return AdminView(authed, login_box, password, login, login_msg, panel, files, upload_btn, upload_msg, rebuild,
                     index_btn, index_msg, stats_btn, stats, logout)


def login_handler(ctx: AppContext) -> Callable[..., tuple]:
    """The handler that checks the admin password."""

    def do_login(given: str, request: gr.Request = None) -> tuple:
        """Check the password in constant time; never log it. Wrong tries make this client wait, without sleeping."""
        client = request.client.host if request is not None and request.client else "unknown"
        refused = (False, "", gr.Column(visible=True), gr.Column(visible=False), "")
        wait = ctx.login_throttle.wait_s(client)
        if wait > 0:
            return *refused, f"尝试次数过多，请 {math.ceil(wait)} 秒后再试。"
        if password_ok(given, ctx.settings.admin_password):
            ctx.login_throttle.succeeded(client)
            log.info("admin login")
            return True, "", gr.Column(visible=False), gr.Column(visible=True), stats_html(ctx), ""
        wait = ctx.login_throttle.failed(client)
        log.warning("admin login refused")
        return *refused, "密码错误，请重试。" + (f"请 {math.ceil(wait)} 秒后再试。" if wait > 0 else "")

    return do_login


def stats_handler(ctx: AppContext) -> Callable[[bool], str]:
    """The handler that refreshes the statistics."""

    def guarded_stats(ok: bool) -> str:
        """Statistics for a logged-in admin only."""
        return stats_html(ctx) if ok else ""

    return guarded_stats


def upload_handler(ctx: AppContext) -> Callable[[bool, list[str] | None], tuple[str, Any]]:
    """The handler that saves uploaded files into the corpus."""

    def do_upload(ok: bool, paths: list[str] | None) -> tuple[str, Any]:
        """Save each uploaded file into the corpus under a safe name, rejecting bad ones."""
        if not ok:
            return "请先登录。", gr.skip()
        if not paths:
            return "请选择要上传的文件。", gr.skip()
        lines = []
        for p in paths:
            src = Path(p)
            try:
                saved = save_upload(src, src.name, ctx.settings.corpus_dir, ctx.settings.max_upload_mb)
                try:
                    title = validate_document(saved, ctx.kb)
                except UploadRejected:
                    saved.unlink(missing_ok=True)
                    raise
                rel = saved.relative_to(ctx.settings.corpus_dir.resolve()).as_posix()
                lines.append(f"- 已保存：{esc(src.name)} → `{esc(rel)}`（{esc(title)}）")
                log.info("admin uploaded %s", rel)
            except UploadRejected as e:
                lines.append(f"- 已拒绝：{esc(src.name)}：{esc(e)}")
            except OSError as e:
                lines.append(f"- 已拒绝：{esc(src.name)}：保存失败（{esc(e.strerror or e)}）")
        lines.append("\n上传的文件在重建索引后才能被检索。")
        return "\n".join(lines), None

    return do_upload


def index_handler(ctx: AppContext) -> Callable[[bool, bool], Iterator[tuple[str, str]]]:
    """The handler that re-indexes while the old index keeps serving."""

    def do_index(ok: bool, full: bool) -> Iterator[tuple[str, str]]:
        """Re-index in a worker thread, reporting progress every half second."""
        if not ok:
            yield "请先登录。", gr.skip()
            return
        if not ctx.build_lock.acquire(blocking=False):
            yield '<div class="kb-status">已有索引任务在运行，请稍候。</div>', gr.skip()
            return
        try:
            result: dict[str, Any] = {}

            def work() -> None:
                try:
                    result["report"] = ctx.kb.build(
                        rebuild=bool(full),
                        progress=lambda stage, done, total: result.update(stage=(stage, done, total)),
                    )
                except Exception as e:  # reported on the page; the live index stays as it was
                    log.exception("re-index failed")
                    result["error"] = e

            t0 = time.monotonic()
            worker = threading.Thread(target=work, name="kb-reindex", daemon=True)
            worker.start()
            while worker.is_alive():
                worker.join(0.5)
                elapsed = time.monotonic() - t0
                stage, done, total = result.get("stage", ("准备", 0, 0))
                step = f"{stage} {done}/{total}" if total else stage
                progress = f"正在重建索引：{step}，已用时 {elapsed:.0f} 秒（旧索引在完成前继续服务）"
                yield f'<div class="kb-status">{progress}</div>', gr.skip()
            if "error" in result:
                e = result["error"]
                yield f'<div class="kb-status kb-error">重建失败，原索引保持不变：{esc(e)}</div>', stats_html(ctx)
                return
            ctx.reset_caches()
            ctx.kb.open()
            report = result["report"]
            yield f'<div class="kb-section">{esc(report.summary())}</div>', stats_html(ctx)
        finally:
            ctx.build_lock.release()

    return do_index


def wire_admin(view: AdminView, ctx: AppContext) -> None:
    """Log in and out, upload, re-index (one at a time) and refresh the statistics."""
    v = view
    gr.on(
        triggers=[v.login.click, v.password.submit],
        fn=login_handler(ctx),
        inputs=[v.password],
        outputs=[v.authed, v.password, v.login_box, v.panel, v.stats, v.login_msg],
        api_visibility="private",
        queue=False,  # answered at once, outside the question queue: a flood of tries cannot fill it
    )
    v.upload_btn.click(fn=upload_handler(ctx), inputs=[v.authed, v.files], outputs=[v.upload_msg, v.files],
                       api_visibility="private")
    v.index_btn.click(fn=index_handler(ctx), inputs=[v.authed, v.rebuild], outputs=[v.index_msg, v.stats],
                      api_visibility="private", concurrency_id="admin-index", concurrency_limit=1)
    v.stats_btn.click(fn=stats_handler(ctx), inputs=[v.authed], outputs=[v.stats], api_visibility="private")
    v.logout.click(
        fn=lambda: (False, gr.Column(visible=True), gr.Column(visible=False), "", ""),
        outputs=[v.authed, v.login_box, v.panel, v.stats, v.login_msg],
        api_visibility="private",
    )


def build_admin_tab(ctx: AppContext, ui: Any) -> None:
    """管理: after the password, upload documents, re-index with progress, and see index statistics."""
    wire_admin(admin_layout(ctx), ctx)
