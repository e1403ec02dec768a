"""Trust under faults and hostile input (one test per kind of finding): atomic outputs, credentials that stay with
their origin, bounded HTTP requests, parsers with limits, neutralised output cells, odd file names, corrupt state
files named with their repair."""
from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_clip


# ---- atomic writes ----------------------------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    from vgbench.bench.fileio import OutputError, atomic_path

    dest = tmp_path / "out.csv"
    dest.write_text("old complete content\n")
    with pytest.raises(OutputError) as e:
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(dest) in str(e.value) and "No space left" in str(e.value) and "free some space" in str(e.value)
    assert dest.read_text() == "old complete content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def _store_with_rows(db: Path, n: int, prompt: str = "a prompt") -> None:
    from vgbench.bench.store import ResultsStore

    with ResultsStore(db) as s:
        s.upsert_run("r1", "evaluation", "m", None, None, None, {}, {})
        s.upsert_items("r1", [{"item_key": f"k{i}", "prompt": prompt, "status": "ok"} for i in range(n)])
        s.put_item_metrics([{"run_id": "r1", "item_key": f"k{i}", "metric": "psnr", "protocol": "psnr/x",
                             "value": i * 0.5, "weight": 1.0, "status": "ok"} for i in range(n)])


def _limited(limit: int):
    def setup():  # the file-size limit makes writes fail with EFBIG, as a full disk fails them with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return setup


@pytest.mark.faults  # subprocesses under RLIMIT_FSIZE: the fault tier (`make test-faults`)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_on_a_full_disk_leaves_nothing_that_looks_complete(tmp_path, fmt):
    db = tmp_path / "db.sqlite"
    _store_with_rows(db, 3000)
    out = tmp_path / "exports" / f"items.{fmt}"
    out.parent.mkdir()
    p = subprocess.run([sys.executable, "-m", "vgbench", "results", "export", "--db", str(db), "-o", str(out)],
                       capture_output=True, text=True, preexec_fn=_limited(64 << 10), timeout=120)
    assert p.returncode == 3, p.stderr
    assert f"cannot write {out}" in p.stderr and "Traceback" not in p.stderr
    assert list(out.parent.iterdir()) == []  # no partial export, no temp file
    p = subprocess.run([sys.executable, "-m", "vgbench", "results", "export", "--db", str(db), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr  # with space, the same command completes
    assert out.stat().st_size > 64 << 10


# ---- output escaping --------------------------------------------------------------------------------------------
def test_csv_cells_cannot_start_a_formula_or_carry_control_characters(tmp_path, cli):
    import pandas as pd

    db = tmp_path / "db.sqlite"
    _store_with_rows(db, 2, prompt="=cmd|' /C calc'!A0\x00\x1b[2J")
    code, _, err = cli("results", "export", "--db", db, "--table", "items", "-o", tmp_path / "items.csv")
    assert code == 0, err
    raw = (tmp_path / "items.csv").read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw
    cell = pd.read_csv(tmp_path / "items.csv")["prompt"][0]
    assert cell == "'=cmd|' /C calc'!A0\\x00\\x1b[2J"
    from vgbench.bench.fileio import csv_cell

    assert [csv_cell(v) for v in ("+1", "-2", "@x", "\tx", "ok", 3.5)] == ["'+1", "'-2", "'@x", "'\tx", "ok", 3.5]


# ---- parsers with limits ----------------------------------------------------------------------------------------
BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, "
                                                         f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
                                                         for i in range(20)])


def test_a_yaml_alias_bomb_in_a_prompts_aux_is_refused_at_once(tmp_path, cli):
    suite = tmp_path / "bomb.yaml"
    nested = "\n".join("      " + line for line in BOMB.splitlines())
    suite.write_text(f"suite: bomb\nprompts:\n  - id: p1\n    text: hi\n    aux:\n{nested}\n")
    t = time.monotonic()
    code, _, err = cli("prompts", "show", suite)
    assert time.monotonic() - t < 5
    assert code == 3 and "aliases" in err and str(suite) in err


def test_alias_bombs_and_deep_nesting_are_refused_in_configs(tmp_path, cli):
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(BOMB + "\nvideos: x\nmetrics: [psnr]\n")
    code, _, err = cli("evaluate", "--config", cfg)
    assert code == 3 and "aliases" in err and str(cfg) in err
    deep = tmp_path / "deep.json"
    deep.write_text('{"videos": "x", "metrics": ' + "[" * 500 + "]" * 500 + "}")
    code, _, err = cli("evaluate", "--config", deep)
    assert code == 3 and "nested deeper" in err


def test_manifest_symlink_out_of_the_folder_is_refused(tmp_path, cli):
    folder = tmp_path / "videos"
    folder.mkdir()
    outside = write_clip(tmp_path / "outside.mp4", np.zeros((4, 32, 32, 3), np.uint8))
    os.symlink(outside, folder / "inside.mp4")
    (folder / "manifest.json").write_text(json.dumps({"items": [{"file": "inside.mp4", "prompt_id": "p"}]}))
    code, _, err = cli("evaluate", folder, "--metrics", "temporal_flickering", "--db", tmp_path / "db.sqlite",
                       "--no-progress")
    assert code == 3 and "outside the folder" in err


# ---- file names and corrupt state -------------------------------------------------------------------------------
def test_a_file_name_that_is_not_utf8_is_evaluated(tmp_path, cli):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_clip(folder / "ok.mp4", np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    clip = write_clip(tmp_path / "x.mp4", np.random.default_rng(1).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    os.rename(clip, os.path.join(os.fsencode(folder), b"caf\xe9.mp4"))
    code, out, err = cli("evaluate", folder, "--metrics", "temporal_flickering", "--db", tmp_path / "db.sqlite",
                         "--json", "--per-item", "--no-progress")
    assert code == 0, err
    per_item = json.loads(out)["metrics"]["temporal_flickering"]["per_item"]
    assert sorted(per_item) == ["caf\\xe9.mp4", "ok.mp4"]


def test_corrupt_state_files_are_named_with_their_repair(tmp_path, cli):
    code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4", "--size",
                       "32x32", "--out", tmp_path / "out", "--no-progress")
    assert code == 0, err
    run_dir = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    (run_dir / "run.json").write_text('{"run_id": "x", "ite')  # torn by a crash
    code, _, err = cli("evaluate", run_dir, "--metrics", "temporal_flickering", "--no-progress")
    assert code == 3 and str(run_dir / "run.json") in err and "run the same `vgbench run`" in err
    bad_db = tmp_path / "bad.sqlite"
    bad_db.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    code, _, err = cli("results", "export", "--db", bad_db, "-o", tmp_path / "x.csv")
    assert code == 3 and str(bad_db) in err and "move it aside" in err and "Traceback" not in err


# ---- HTTP: credentials, deadlines, size caps, journals ----------------------------------------------------------
class _Server:
    """A local HTTP server whose handler is ``fn(handler)``; records each request's headers."""

    def __init__(self, fn, host="127.0.0.1"):
        seen = self.seen = []

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                seen.append((self.path, dict(self.headers)))
                fn(self)

            do_POST = do_GET

        self.httpd = ThreadingHTTPServer((host, 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(h, code=200, body=b"{}", ctype="application/json", headers=()):
    h.send_response(code)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in headers:
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def _adapter(tmp_path, base_url, **extra):
    from vgbench.reference_models.http_api import HttpApiGenerator

    cfg = {"provider": "t", "base_url": base_url, "api_key_env": "TRUST_KEY", "submit": {"path": "/submit"},
           "poll": {"path": "/jobs/{job_id}", "interval_s": 0.01, "video_url": "url"}, "timeout_s": 30,
           "retries": 0, "backoff_s": 0.01, **extra}
    path = tmp_path / "api.json"
    path.write_text(json.dumps(cfg))
    return HttpApiGenerator(str(path))


def test_the_api_key_never_follows_a_redirect_or_a_download_to_another_origin(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_KEY", "sekrit-123")
    other = _Server(lambda h: _send(h, body=b'{"ok": true}'))
    api = _Server(lambda h: _send(h, 302, b"", headers=[("Location", f"http://localhost:{other.port}/landed")]))
    try:
        gen = _adapter(tmp_path, f"http://127.0.0.1:{api.port}")
        assert gen._request("GET", f"http://127.0.0.1:{api.port}/jobs/1", time.monotonic() + 10) == {"ok": True}
        assert gen._request("GET", f"http://localhost:{other.port}/file.mp4", time.monotonic() + 10,
                            want_json=False) == b'{"ok": true}'
        assert "sekrit-123" in api.seen[0][1].get("Authorization", "")  # the API's own origin gets it
        assert [p for p, _ in other.seen] == ["/landed", "/file.mp4"]
        assert not any("sekrit" in json.dumps(h) for _, h in other.seen)  # the other origin never does
    finally:
        api.close()
        other.close()


def test_a_slow_loris_server_cannot_hold_a_request_past_its_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_KEY", "k")

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(100):
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.3)

    srv = _Server(trickle)
    try:
        gen = _adapter(tmp_path, f"http://127.0.0.1:{srv.port}", request_timeout_s=1.5)
        t = time.monotonic()
        from vgbench.bench.errors import GenerationError

        with pytest.raises(GenerationError, match="no complete response within 1.5 s"):
            gen._request("GET", f"http://127.0.0.1:{srv.port}/jobs/1", time.monotonic() + 30)
        assert time.monotonic() - t < 1.5 * 1.1 + 0.3
    finally:
        srv.close()


def test_a_huge_download_is_streamed_to_disk_and_stopped_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_KEY", "k")
    from vgbench.bench.errors import GenerationError

    def endless(h):  # a video-looking body that never ends (no Content-Length)
        h.send_response(200)
        h.send_header("Content-Type", "video/mp4")
        h.send_header("Connection", "close")
        h.end_headers()
        block = b"\x00" * (1 << 20)
        try:
            h.wfile.write(b"\x00\x00\x00\x18ftypisom" + block)
            for _ in range(1500):
                h.wfile.write(block)
        except OSError:
            return

    srv = _Server(endless)
    try:
        gen = _adapter(tmp_path, f"http://127.0.0.1:{srv.port}", max_download_mb=8)
        dest = tmp_path / "video.mp4"
        with pytest.raises(GenerationError, match="larger than max_download_mb"):
            gen._request("GET", f"http://127.0.0.1:{srv.port}/v.mp4", time.monotonic() + 60, want_json=False,
                         dest=str(dest))
        assert dest.stat().st_size <= 8 << 20
    finally:
        srv.close()


def test_a_torn_journal_is_recovered_or_named_never_resubmitted(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_KEY", "k")
    from vgbench.bench.errors import GenerationError
    from vgbench.reference_models.base import GenerationRequest

    srv = _Server(lambda h: _send(h, body=b'{"status": "failed"}' if h.path.startswith("/jobs/") else b"{}"))
    try:
        gen = _adapter(tmp_path, f"http://127.0.0.1:{srv.port}", poll={"path": "/jobs/{job_id}", "interval_s": 0.01,
                                                                        "failed": ["failed"]})
        gen.bind_run(tmp_path / "run")
        req = GenerationRequest("p1", "a prompt", 0, 4, 8.0, 32, 32, None, 0, {})
        journal = gen._journal_path(req)
        journal.parent.mkdir(parents=True)
        journal.write_text('{"job_id": "job-41", "submitted_at": 17')  # torn after the id
        with pytest.raises(GenerationError, match="job job-41 failed"):
            gen.generate(req)
        assert [p for p, _ in srv.seen] == ["/jobs/job-41"]  # polled, not submitted again
        journal.write_text('{"job_')  # torn before the id
        with pytest.raises(GenerationError, match="journal is unreadable") as e:
            gen.generate(req)
        assert str(journal) in str(e.value) and len(srv.seen) == 1
    finally:
        srv.close()


# ---- found by a fresh user's review -----------------------------------------------------------------------------
def test_odd_folders_fail_clearly_per_item_or_with_the_file_named(tmp_path, cli):
    rng = np.random.default_rng(2)
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        write_clip(folder / name, rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    (folder / "a.txt").write_bytes(b"\xff\xfe not utf-8")  # a prompt file that is not text
    outside = write_clip(tmp_path / "outside.mp4", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    os.symlink(outside, folder / "link.mp4")  # not in any manifest: the scan must not read it either
    code, out, err = cli("evaluate", folder, "--metrics", "temporal_flickering", "--db", tmp_path / "db.sqlite",
                         "--json", "--no-progress")
    assert code == 4, err
    failed = {f["item"]: " ".join(f["errors"]) for f in json.loads(out)["failed_items"]}
    assert "not readable UTF-8 text" in failed["a.mp4"] and "outside" in failed["link.mp4"]
    assert set(failed) == {"a.mp4", "link.mp4"}
    # two names that escape to one key are an error naming both, never one silently dropped
    clash = tmp_path / "clash"
    clash.mkdir()
    write_clip(clash / "caf\\xe9.mp4", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    clip = write_clip(tmp_path / "x.mp4", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    os.rename(clip, os.path.join(os.fsencode(clash), b"caf\xe9.mp4"))
    code, _, err = cli("evaluate", clash, "--metrics", "temporal_flickering", "--db", tmp_path / "c.sqlite",
                       "--no-progress")
    assert code == 3 and "the same item key" in err


def test_wrong_structures_and_schemas_are_named(tmp_path, cli):
    code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4", "--size",
                       "32x32", "--out", tmp_path / "out", "--no-progress")
    assert code == 0, err
    run_dir = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    doc = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**doc, "items": "oops"}))
    code, _, err = cli("evaluate", run_dir, "--metrics", "temporal_flickering", "--db", tmp_path / "x.sqlite",
                       "--no-progress")
    assert code == 3 and str(run_dir / "run.json") in err and "structure" in err
    import sqlite3

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE items (x)")
    code, _, err = cli("results", "export", "--db", other, "-o", tmp_path / "x.csv")
    assert code == 3 and str(other) in err and "Traceback" not in err


def test_terminal_tables_escape_control_characters_and_files_get_the_umask_mode(tmp_path, cli):
    db = tmp_path / "db.sqlite"
    _store_with_rows(db, 2, prompt="p\x1b[2J")
    from vgbench.bench.store import ResultsStore

    with ResultsStore(db) as s:
        s.upsert_run("r1", "evaluation", "evil\x1b[2Jmodel\x07", None, None, None, {}, {})
        s.upsert_items("r1", [{"item_key": f"k{i}", "prompt_id": "p\x1b[2J\x07", "prompt": "x", "status": "ok"}
                              for i in range(2)])
    code, out, err = cli("leaderboard", "table", "--db", db, "--by", "prompt")
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "p\\x1b[2J\\x07" in out
    code, _, err = cli("results", "export", "--db", db, "-o", tmp_path / "e.csv")
    assert code == 0, err
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "e.csv").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_download_without_a_content_type_is_judged_by_its_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUST_KEY", "k")
    clip = write_clip(tmp_path / "c.mp4", np.zeros((4, 32, 32, 3), np.uint8)).read_bytes()

    def bare(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(clip)))
        h.end_headers()
        h.wfile.write(clip)

    srv = _Server(bare)
    try:
        gen = _adapter(tmp_path, f"http://127.0.0.1:{srv.port}")
        size = gen._request("GET", f"http://127.0.0.1:{srv.port}/v.mp4", time.monotonic() + 10, want_json=False,
                            dest=str(tmp_path / "got.mp4"))
        assert size == len(clip) and (tmp_path / "got.mp4").read_bytes() == clip
    finally:
        srv.close()


# ---- issue 18: a lock per output folder, strict gate options ----------------------------------------------------
def test_a_second_run_on_the_same_folder_stops_with_a_message(tmp_path, cli):
    from vgbench.bench.fileio import folder_lock

    out = tmp_path / "out"
    with folder_lock(out):  # as a first `vgbench run` holds it
        code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4",
                           "--size", "32x32", "--out", out, "--no-progress")
        assert code == 3 and "is in use by vgbench pid" in err and "another --out" in err
        assert not list(out.rglob("*.mp4"))  # nothing generated twice
    code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "1", "--frames", "4", "--size",
                       "32x32", "--out", out, "--no-progress")
    assert code == 0, err  # the lock is released with its holder (a stale lock file blocks nobody)


def test_compare_refuses_unknown_metric_names(tmp_path, cli):
    out = tmp_path / "out"
    for seed in ("0", "1"):
        code, _, err = cli("run", "--model", "shapes", "--suite", "smoke", "--samples", "2", "--frames", "6",
                           "--size", "32x32", "--seed", seed, "--out", out, "--no-progress")
        assert code == 0, err
    with __import__("vgbench.bench.store", fromlist=["ResultsStore"]).ResultsStore(out / "vgbench.sqlite") as s:
        a, b = [r["run_id"] for r in s.query("SELECT run_id FROM runs ORDER BY created_at")]
    db = out / "vgbench.sqlite"
    code, _, err = cli("compare", a, b, "--db", db, "--tolerance", "temporal_flicker=0.1")
    assert code == 2 and "did you mean 'temporal_flickering'" in err
    code, _, err = cli("compare", a, b, "--db", db, "--tolerance", "bogus=0.1")
    assert code == 2 and "no metric 'bogus'" in err and "temporal_flickering" in err
    code, _, err = cli("compare", a, b, "--db", db, "--metrics", "temporal_flickerin")
    assert code == 2 and "did you mean 'temporal_flickering'" in err
    code, _, err = cli("compare", a, b, "--db", db, "--tolerance", "temporal_flickering=0.1")
    assert code in (0, 6), err


@pytest.mark.parametrize("args, suggestion", [
    (["--metrics", "psnrr"], "did you mean 'psnr'"),
    (["--dimensions", "subject_consistncy"], "did you mean 'subject_consistency'"),
    (["--metrics", "ssim", "--dimensions", "scene,colr"], "did you mean 'color'"),
])
def test_unknown_metric_and_dimension_names_are_usage_errors(tmp_path, cli, args, suggestion):
    """A typo in a selection is a usage error (exit 2) with the closest name, before anything is read."""
    code, _, err = cli("evaluate", tmp_path, *args)
    assert code == 2 and suggestion in err and "available:" in err


def test_unknown_model_name_is_a_usage_error(tmp_path, cli):
    code, _, err = cli("run", "--model", "shapez", "--suite", "smoke", "--out", tmp_path / "o")
    assert code == 2 and "did you mean 'shapes'" in err
