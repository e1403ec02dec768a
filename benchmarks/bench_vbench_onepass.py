"""VBench dimensions on CPU: one pass over N videos (each video decoded once, every dimension scored from the same
frames; vgbench's `evaluate --dimensions`) against evaluating the same dimensions one at a time with a fresh decode
of every video for each dimension (VBench's way: one script per dimension). The one pass also shares intermediate
values where recipes coincide (RAFT flows: dynamic degree and the temporal-flickering static filter; the ViCLIP video
embedding: overall consistency and temporal style); the shapes suite has no dimension lists, so every dimension scores
every video (as for a folder of an API model's videos). Same seeded random-init backbones
(the weights do not change the cost), same videos (the built-in `shapes` generator at 128x128, 16 frames).

    python benchmarks/bench_vbench_onepass.py [--videos 8] [--dimensions subject_consistency,...]

Prints both wall times and the ratio (> 1: one pass is faster). Absolute times are noisy; compare ratios.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: the dimensions whose backbones are written in this project (the semantic ones need OWLv2/BLIP downloads)
CPU_DIMS = "subject_consistency,background_consistency,temporal_flickering,motion_smoothness,dynamic_degree," \
           "imaging_quality,overall_consistency,temporal_style"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--dimensions", default=CPU_DIMS)
    args = ap.parse_args()

    import vgbench  # noqa: F401
    from vgbench.bench.config import EvalConfig
    from vgbench.bench.evaluate import evaluate
    from vgbench.bench.runs import RunConfig, execute_run, plan_run
    from vgbench.metrics.vbench.table import dimension_specs

    specs = dimension_specs(args.dimensions)
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_run(RunConfig(model="shapes", suite="shapes", out=f"{tmp}/gen", samples=max(1, args.videos // 8)))
        execute_run(plan, progress=False)
        for s in specs:  # build every backbone once before timing (both paths share the process cache)
            from vgbench.metrics.registry import create_metric

            m = create_metric(s)
            m.load(allow_random=True, device="cpu")
        from vgbench.bench import features as shared

        t = time.perf_counter()
        hits0 = shared.stats()["hits"]
        one = evaluate(EvalConfig(videos=plan.run_dir, metrics=specs, db=f"{tmp}/one.sqlite", progress=False,
                                  allow_random_weights=True))
        t_one = time.perf_counter() - t
        hits = shared.stats()["hits"] - hits0
        t = time.perf_counter()
        sep = {}
        for i, s in enumerate(specs):
            r = evaluate(EvalConfig(videos=plan.run_dir, metrics=[s], db=f"{tmp}/sep{i}.sqlite", progress=False,
                                    allow_random_weights=True))
            sep[s] = r.results[s].value
        t_sep = time.perf_counter() - t
    n = one.items_total
    same = all(math.isclose(one.results[s].value, sep[s], abs_tol=1e-9)
               or (math.isnan(one.results[s].value) and math.isnan(sep[s])) for s in specs)
    print(f"{n} videos x {len(specs)} dimensions ({', '.join(specs)}), CPU, random-init backbones")
    print(f"  one pass (decode once):             {t_one:8.2f} s   videos decoded: {one.items_decoded}, "
          f"shared intermediate values reused: {hits}")
    print(f"  one dimension at a time (re-decode): {t_sep:8.2f} s   videos decoded: {n * len(specs)}")
    print(f"  ratio one-at-a-time / one-pass:      {t_sep / t_one:8.2f}x   (identical values: {same})")


if __name__ == "__main__":
    main()
