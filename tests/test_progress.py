"""Progress on long work: plain log lines when stderr is not a terminal (CI, Slurm logs), never silence."""
from __future__ import annotations

import io

from vgbench.bench.progress import LogProgress


def test_plain_lines_count_rate_and_eta():
    out = io.StringIO()
    items = list(LogProgress(range(4), 4, "evaluating", "video", interval=0.0, stream=out))
    assert items == [0, 1, 2, 3]
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("evaluating: 1/4 videos (25.0 %)") and "videos/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].startswith("evaluating: 4/4 videos (100.0 %)") and "ETA" not in lines[-1]


def test_cli_prints_progress_lines_when_not_on_a_terminal(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("VGBENCH_PROGRESS_INTERVAL", "0")
    code, _, err = cli("generate", "--model", "static", "--suite", "smoke", "--samples", "1", "--out", tmp_path,
                       "--frames", "4")
    assert code == 0, err
    assert "generating static: 1/" in err and "videos/s" in err
    code, _, err = cli("evaluate", next((tmp_path).glob("static__*")), "--metrics", "temporal_flickering")
    assert code == 0, err
    assert "evaluating: 1/" in err
    code, _, err = cli("evaluate", next((tmp_path).glob("static__*")), "--metrics", "temporal_flickering",
                       "--no-progress")
    assert "evaluating:" not in err
