"""Answering a question: read it, search the index, compose a cited answer or abstain, optionally rewrite it."""
