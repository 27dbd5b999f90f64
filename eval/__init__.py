"""Evaluation: gold sets, metrics, baselines and benchmarks behind `kb eval`."""
