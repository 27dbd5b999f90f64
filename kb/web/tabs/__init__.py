"""The tabs of the web page, one module each: chat, register, roles, documents, quiz and admin."""
