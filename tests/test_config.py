"""One typed config per job for the CLI, YAML/JSON files and the API: `--config FILE` gives the same object as the
options, the command line overrides the file, and mistakes name the file and what is wrong."""
from __future__ import annotations

import json

import pytest

from vgbench.bench.cli import build_parser
from vgbench.bench.config import EvalConfig, RunConfig
from vgbench.bench.errors import ConfigError


def test_eval_config_from_yaml_json_and_cli_are_the_same(tmp_path):
    (tmp_path / "e.yaml").write_text("videos: runs/a\nmetrics: [psnr, ssim]\nreference: runs/ref\n"
                                     "weights: {raft_things: /w/raft.pth}\nprogress: false\n")
    (tmp_path / "e.json").write_text(json.dumps({"videos": "runs/a", "metrics": "psnr,ssim", "reference": "runs/ref",
                                                 "weights": ["raft_things=/w/raft.pth"], "progress": False}))
    args = build_parser().parse_args(["evaluate", "runs/a", "--metrics", "psnr,ssim", "--reference", "runs/ref",
                                      "--weights", "raft_things=/w/raft.pth", "--no-progress"])
    from vgbench.bench.cli.common import parse_weights

    a = EvalConfig.from_file(tmp_path / "e.yaml")
    assert a == EvalConfig.from_file(tmp_path / "e.json") == EvalConfig.from_cli(args, parse_weights(args.weights))
    assert a.metrics == ("psnr", "ssim") and a.weights == {"raft_things": "/w/raft.pth"} and a.progress is False


def test_the_command_line_overrides_the_file(tmp_path):
    (tmp_path / "e.yaml").write_text("videos: runs/a\nmetrics: [psnr]\ndb: x.sqlite\n")
    args = build_parser().parse_args(["evaluate", "--config", str(tmp_path / "e.yaml"), "--db", "y.sqlite"])
    c = EvalConfig.from_cli(args)
    assert (c.videos, c.metrics, c.db, c.progress) == ("runs/a", ("psnr",), "y.sqlite", True)
    (tmp_path / "r.yaml").write_text("model: shapes\nsuite: smoke\nseed: 5\nmetrics: [temporal_flickering]\n")
    args = build_parser().parse_args(["run", "--config", str(tmp_path / "r.yaml"), "--seed", "7"])
    r = RunConfig.from_cli(args)
    assert (r.model, r.suite, r.seed, r.metrics, r.out) == ("shapes", "smoke", 7, ("temporal_flickering",),
                                                           "vgbench-out")


@pytest.mark.parametrize("text,match", [
    ("videos: a\nmetrics: [psnr]\nbogus: 1\n", r"e.yaml: unknown option\(s\) bogus; EvalConfig takes"),
    ("metrics: [psnr]\n", r"e.yaml: EvalConfig needs videos"),
    ("videos: a\n", r"e.yaml: give metrics and/or dimensions"),
    ("videos: a\nmetrics: 5\n", r"e.yaml: metrics must be a list"),
    ("videos: a\nmetrics: [psnr]\nweights: 3\n", r"e.yaml: weights must be a mapping"),
    ("- not\n- a mapping\n", r"e.yaml: a configuration file holds one mapping"),
    ("videos: [unclosed\n", r"e.yaml: not valid YAML"),
])
def test_config_file_mistakes_name_the_file(tmp_path, text, match):
    (tmp_path / "e.yaml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        EvalConfig.from_file(tmp_path / "e.yaml")


def test_cli_config_errors_are_input_errors(tmp_path, cli):
    (tmp_path / "e.yaml").write_text("videos: a\nmetrics: [psnr]\nbogus: 1\n")
    code, _, err = cli("evaluate", "--config", tmp_path / "e.yaml")
    assert code == 3 and "bogus" in err and "e.yaml" in err
    code, _, err = cli("evaluate", "somewhere")
    assert code == 2 and "--metrics" in err
