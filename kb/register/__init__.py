"""The obligations register: dated tasks, parties, targets and indicator rows from the corpus, each cited."""
