"""Python and HTTP-API adapters: a callable defined here runs through `vgbench run`; the HTTP adapter against a local
server on 127.0.0.1 (timeouts, 5xx with retry, malformed JSON, missing video, no re-request on resume, the key
never in logs or the store)."""
from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from vgbench.bench.video import write_video

SECRET = "sk-test-SECRET-0123456789"


# ---- python adapter --------------------------------------------------------------------------------------------------
def tiny_model(request):
    """A plain function: one video per call (float frames in [0, 1])."""
    rng = np.random.default_rng(request.seed)
    return rng.uniform(0, 1, size=(request.num_frames, request.height, request.width, 3))


class TinyFactory:
    def __init__(self, level="0.5"):
        self.level = float(level)

    def settings(self):
        return {"level": self.level}

    def generate(self, request):
        return np.full((request.num_frames, request.height, request.width, 3), int(255 * self.level), np.uint8)


def test_python_callable_runs_on_smoke_suite(tmp_path, cli):
    spec = f"python:{Path(__file__).resolve()}:tiny_model"
    code, out, err = cli("run", "--model", spec, "--suite", "smoke", "--samples", "1", "--out", tmp_path,
                         "--frames", "4", "--size", "32x32", "--json", "--no-progress")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["generated"] >= 1 and not doc["failed_generation"]
    assert doc["metrics"]["temporal_flickering"]["n_items"] == doc["generated"]


def test_python_factory_options_enter_item_ids(tmp_path, cli):
    spec = f"python:{Path(__file__).resolve()}:TinyFactory"
    runs = []
    for level in ("0.2", "0.8"):
        code, out, err = cli("run", "--model", spec, "--model-arg", f"level={level}", "--suite", "smoke", "--samples",
                             "1", "--out", tmp_path, "--frames", "3", "--size", "16x16", "--json", "--no-progress")
        assert code == 0, err
        runs.append(json.loads(out)["run_id"])
    assert runs[0] != runs[1]


def test_python_adapter_errors_are_clear(tmp_path, cli):
    code, _, err = cli("run", "--model", "python:no_such_module_xyz:fn", "--suite", "smoke", "--out", tmp_path)
    assert code == 3 and "cannot import" in err
    code, _, err = cli("run", "--model", f"python:{Path(__file__).resolve()}:missing", "--suite", "smoke",
                       "--out", tmp_path)
    assert code == 3 and "has no 'missing'" in err


def test_checkpoint_example(tmp_path, cli):
    ckpt = tmp_path / "ckpt_000100"
    ckpt.mkdir()
    (ckpt / "model.pt").write_bytes(b"weights v1")
    example = Path(__file__).resolve().parent.parent / "examples" / "checkpoint_generator.py"
    code, out, err = cli("run", "--model", f"python:{example}:CheckpointGenerator", "--model-arg",
                         f"checkpoint={ckpt}", "--suite", "smoke", "--samples", "1", "--out", tmp_path / "o",
                         "--json", "--no-progress", "--frames", "4", "--size", "32x32")
    assert code == 0, err
    assert "ckpt-ckpt_000100" in json.loads(out)["run_dir"]


# ---- HTTP adapter ----------------------------------------------------------------------------------------------------
class FakeProvider:
    """A provider: prompts containing a keyword misbehave (flaky / slow / badjson / novideo / fail)."""

    def __init__(self, clip: bytes):
        self.clip = clip
        self.jobs: dict[str, dict] = {}
        self.counts: dict[str, int] = {}
        self.auth: set[str] = set()
        self.flaky_left = 2
        self.lock = threading.Lock()

    def handler(self):
        provider = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, body: bytes, ctype="application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _count(self):
                with provider.lock:
                    key = f"{self.command} {self.path}"
                    provider.counts[key] = provider.counts.get(key, 0) + 1
                    provider.auth.add(self.headers.get("Authorization", ""))

            def do_POST(self):
                self._count()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["prompt"]
                if "flaky" in prompt:
                    with provider.lock:
                        if provider.flaky_left > 0:
                            provider.flaky_left -= 1
                            return self._send(503, b'{"error": "overloaded"}')
                job = f"job{len(provider.jobs)}"
                provider.jobs[job] = {"prompt": prompt, "polls": 0}
                self._send(200, json.dumps({"id": job}).encode())

            def do_GET(self):
                self._count()
                parts = self.path.strip("/").split("/")
                if parts[:2] == ["v1", "jobs"]:
                    job = provider.jobs.get(parts[2])
                    if job is None:
                        return self._send(404, b'{"error": "no such job"}')
                    job["polls"] += 1
                    p = job["prompt"]
                    if "badjson" in p:
                        return self._send(200, b"{not json")
                    if "slow" in p:
                        return self._send(200, b'{"status": "running"}')
                    if "fail" in p:
                        return self._send(200, b'{"status": "failed", "error": {"message": "content policy"}}')
                    if job["polls"] < 2:
                        return self._send(200, b'{"status": "running"}')
                    url = f"/files/{parts[2]}.mp4" if "novideo" not in p else "/files/missing.mp4"
                    return self._send(200, json.dumps({"status": "succeeded", "output": {"url": url}}).encode())
                if parts[0] == "files" and parts[1] != "missing.mp4":
                    return self._send(200, provider.clip, "video/mp4")
                self._send(404, b"not found", "text/plain")

        return H


@pytest.fixture()
def provider(tmp_path):
    clip_path = write_video(tmp_path / "clip.mp4", np.full((4, 32, 32, 3), 120, np.uint8), 8.0, "lossless")
    fake = FakeProvider(Path(clip_path).read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = {"provider": "fake", "base_url": f"http://127.0.0.1:{server.server_address[1]}", "api_key_env": "FAKE_KEY",
           "submit": {"path": "/v1/generate", "body": {"prompt": "{prompt}", "seed": "{seed}",
                                                        "frames": "{num_frames}"}, "job_id": "id"},
           "poll": {"path": "/v1/jobs/{job_id}", "interval_s": 0.05, "status": "status", "done": ["succeeded"],
                    "failed": ["failed"], "error": "error.message", "video_url": "output.url"},
           "timeout_s": 3, "retries": 3, "backoff_s": 0.05,
           "capabilities": {"default_frames": 4, "default_fps": 8, "default_width": 32, "default_height": 32}}
    (tmp_path / "fake.yaml").write_text(json.dumps(cfg))
    yield fake, tmp_path / "fake.yaml"
    server.shutdown()


def _suite(tmp_path, prompts):
    lines = ["suite: api-test", "samples_per_prompt: 1", "prompts:"]
    lines += [f"  - {{id: p{i}, text: '{p}'}}" for i, p in enumerate(prompts)]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_http_adapter_errors_retries_and_resume_without_rebilling(provider, tmp_path, cli, monkeypatch, caplog):
    fake, cfg = provider
    monkeypatch.setenv("FAKE_KEY", SECRET)
    suite = _suite(tmp_path, ["a cat", "a flaky dog", "a slow turtle", "a badjson bird", "a novideo fish",
                              "a fail cow"])
    out = tmp_path / "out"
    code, stdout, err = cli("run", "--model", f"http:{cfg}", "--suite", suite, "--out", out, "--json", "--no-progress")
    assert code == 4, err  # finished, some items failed
    doc = json.loads(stdout)
    assert doc["generated"] == 2  # the plain prompt and the flaky one (after two 503s)
    errors = {f["prompt_id"]: f["error"] for f in doc["failed_generation"]}
    assert set(errors) == {"p2", "p3", "p4", "p5"}
    assert "timed out" in errors["p2"]
    assert "malformed JSON" in errors["p3"]
    assert "HTTP 404" in errors["p4"]
    assert "failed: content policy" in errors["p5"]
    assert fake.auth == {f"Bearer {SECRET}"}
    submits_before = fake.counts["POST /v1/generate"]
    done_jobs = [json.loads(p.read_text())["job_id"] for p in (out.glob("*/api_jobs/*.json"))]
    assert len(done_jobs) == 5  # every submitted job is journaled; the failed job's entry was dropped

    # resume: finished items are never requested again; unfinished ones poll their journaled job (no new submit);
    # only the job the provider reported failed is submitted anew
    before = dict(fake.counts)
    code, stdout, err = cli("run", "--model", f"http:{cfg}", "--suite", suite, "--out", out, "--json",
                            "--no-progress")
    doc2 = json.loads(stdout)
    assert doc2["skipped"] == 2 and doc2["generated"] == 0 and len(doc2["failed_generation"]) == 4
    assert fake.counts["POST /v1/generate"] == submits_before + 1
    finished = [j for j, v in fake.jobs.items() if "cat" in v["prompt"] or "flaky" in v["prompt"]]
    for j in finished:
        assert fake.counts[f"GET /v1/jobs/{j}"] == before[f"GET /v1/jobs/{j}"]
        assert fake.counts[f"GET /files/{j}.mp4"] == 1

    # the key is nowhere: output, stderr, run folder, results store
    assert SECRET not in stdout + err + caplog.text
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f
    con = sqlite3.connect(out / "vgbench.sqlite")
    dump = "\n".join(con.iterdump())
    assert SECRET not in dump


def test_http_adapter_missing_key_fails_fast(provider, tmp_path, cli, monkeypatch):
    _, cfg = provider
    monkeypatch.delenv("FAKE_KEY", raising=False)
    suite = _suite(tmp_path, ["a cat"])
    code, stdout, err = cli("run", "--model", f"http:{cfg}", "--suite", suite, "--out", tmp_path / "o", "--json",
                            "--no-progress")
    assert "FAKE_KEY" in (err + stdout)


def test_models_list_and_show(cli):
    code, out, _ = cli("models", "list")
    assert code == 0 and "python:MODULE:CALLABLE" in out and "http:CONFIG.yaml" in out
    code, out, _ = cli("models", "show", "shapes", "--json")
    assert code == 0 and json.loads(out)["capabilities"]["default_frames"] == 16
