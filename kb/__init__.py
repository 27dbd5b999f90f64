"""Query side of the knowledge base: retrieve, answer with citations, obligations, quizzes, CLI."""
