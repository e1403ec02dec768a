"""Data only: published leaderboard tables shipped with vgbench (see :mod:`vgbench.leaderboards.published`)."""
