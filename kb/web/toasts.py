"""Toasts in Chinese: gradio's gr.Warning and gr.Info, titled 注意 and 提示 instead of "Warning" and "Info".

Toasts render HTML: a message that carries user text must have it escaped (kb.web.render.esc) by the caller.
"""

from __future__ import annotations

import gradio as gr

WARNING_TITLE = "注意"
INFO_TITLE = "提示"


def warn(message: str) -> None:
    """Show a warning toast (something the user should change)."""
    gr.Warning(message, title=WARNING_TITLE)


def inform(message: str) -> None:
    """Show an information toast."""
    gr.Info(message, title=INFO_TITLE)
