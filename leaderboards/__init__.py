"""Aggregation and reports over the results store (summary tables now; schemes, statistics and sites later)."""
