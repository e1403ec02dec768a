"""Aggregation and reports over the results store (summary tables now; schemes, statistics and sites later)."""
import bench  # noqa: F401  (installs the torchvision compatibility hook before anything imports torchvision)
