"""Quizzes for trainers: facts from the plan and the laws, items with answer keys and sources, and their exports."""
