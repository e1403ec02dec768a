"""Frame-index sampling, checked against the reference formulas (VBench utils.get_frame_indices)."""
from __future__ import annotations

import numpy as np
import pytest

from vgbench.bench.video import FrameSampling, sample_indices


def vbench_middle(num_frames, vlen):
    """VBench's get_frame_indices(sample='middle'), written out independently."""
    acc = min(num_frames, vlen)
    intervals = np.linspace(start=0, stop=vlen, num=acc + 1).astype(int)
    ranges = [(intervals[i], intervals[i + 1] - 1) for i in range(acc)]
    idx = [(a + b) // 2 for a, b in ranges]
    if len(idx) < num_frames:
        idx = idx + [idx[-1]] * (num_frames - len(idx))
    return [int(i) for i in idx]


def test_middle_matches_vbench_recipe_example():
    assert sample_indices("middle:8", 16) == [0, 2, 4, 6, 8, 10, 12, 14]


@pytest.mark.parametrize("n", [1, 8, 16])
@pytest.mark.parametrize("vlen", [1, 5, 16, 17, 49, 121])
def test_middle_matches_vbench_everywhere(n, vlen):
    assert sample_indices(f"middle:{n}", vlen) == vbench_middle(n, vlen)


def test_fps_sampling_matches_vbench():
    # VBench: frame_seconds = arange(delta/2, duration + delta/2, delta); indices = around(sec * fps), < vlen
    vlen, fps, out = 48, 24.0, 2.0
    delta = 1 / out
    expect = [int(i) for i in np.around(np.arange(delta / 2, vlen / fps + delta / 2, delta) * fps) if i < vlen]
    assert sample_indices(f"fps:{out:g}", vlen, fps) == expect == [6, 18, 30, 42]


def test_first_uniform_stride_all():
    assert sample_indices("first:4", 10) == [0, 1, 2, 3]
    assert sample_indices("uniform:5", 9) == [0, 2, 4, 6, 8]
    assert sample_indices("stride:3", 10) == [0, 3, 6, 9]
    assert sample_indices("all", 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="at least 16"):
        sample_indices("first:16", 10)
    assert FrameSampling("first", 4, pad="repeat_last").indices(2) == [0, 1, 1, 1]


def test_spec_round_trip_and_errors():
    for spec in ("all", "first:16", "uniform:8", "middle:8", "fps:2", "stride:3"):
        assert str(FrameSampling.parse(spec)) == spec
    with pytest.raises(ValueError):
        FrameSampling.parse("random:3")
    with pytest.raises(ValueError):
        FrameSampling.parse("middle")
