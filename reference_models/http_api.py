"""``http:CONFIG.yaml``: any model behind an HTTP API (submit → poll → download), configured per provider.

Config file (YAML or JSON)::

    provider: acme-video                  # model id becomes "http:acme-video"
    base_url: https://api.acme.example
    api_key_env: ACME_API_KEY             # the key is read from this environment variable, never from the file
    auth_header: Authorization            # default Authorization
    auth_scheme: Bearer                   # header value "<scheme> <key>"; "" sends the bare key
    submit:
      method: POST
      path: /v1/videos
      body: {prompt: "{prompt}", seed: "{seed}", num_frames: "{num_frames}", width: "{width}", height: "{height}"}
      job_id: id                          # dotted path of the job id in the JSON response
    poll:
      path: /v1/videos/{job_id}
      interval_s: 5
      status: status                      # dotted path of the job status
      done: [succeeded]
      failed: [failed, cancelled]
      error: error.message                # dotted path of the failure message (optional)
      video_url: output.video_url         # dotted path of the finished video's URL (relative URLs join base_url)
    timeout_s: 900                        # per item, submit to download
    retries: 4                            # connection errors, 429 and 5xx are retried with exponential backoff
    backoff_s: 2
    settings: {model_version: acme-2.1, mode: high-quality}   # content-defining: they enter the item ids
    capabilities: {default_frames: 120, default_fps: 24, default_width: 1280, default_height: 720, tasks: [t2v]}

Template fields in ``body`` and paths: ``{prompt}``, ``{prompt_id}``, ``{seed}``, ``{num_frames}``, ``{fps}``,
``{width}``, ``{height}``, ``{image}``, ``{sample_index}``, ``{job_id}``; a value that is exactly one field keeps
its type (numbers stay numbers).

Billing safety: every submitted job id is written to ``<run>/api_jobs/<request hash>.json`` before polling, so a
killed and resumed run polls the job it already paid for instead of submitting again; finished items are never
requested again (the run skips them). The key is sent only in the auth header; it never appears in settings, item
ids, logs, errors or the results store (any error text containing it is redacted).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from vgbench.bench.errors import ConfigError, GenerationError
from vgbench.bench.video import Video, read_video
from vgbench.reference_models.base import Capabilities, GenerationRequest

_RETRY_STATUS = {429, 500, 502, 503, 504}


def _dotted(doc: Any, path: str | None):
    if not path:
        return None
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _fill(template: Any, fields: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, fields) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, fields) for v in template]
    if isinstance(template, str):
        stripped = template.strip()
        if stripped.startswith("{") and stripped.endswith("}") and stripped[1:-1] in fields:
            return fields[stripped[1:-1]]
        try:
            return template.format(**fields)
        except (KeyError, IndexError) as e:
            raise ConfigError(f"unknown template field {e} in {template!r}") from None
    return template


class HttpApiGenerator:
    """Generic submit/poll/download adapter (see the module docstring)."""

    name = "http"
    summary = "any model behind an HTTP API (submit, poll, download), configured in a YAML file"
    #: what ``NAME:ARG`` takes
    argument = "CONFIG.yaml"

    def __init__(self, config_path: str, **overrides: Any):
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"http model: no config file {path} (see reference_models/http_api.py for its format)")
        import yaml

        try:
            cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML/JSON: {e}") from e
        if not isinstance(cfg, dict):
            raise ConfigError(f"{path}: expected a mapping")
        cfg.update(overrides)
        for key in ("provider", "base_url", "submit", "poll"):
            if key not in cfg:
                raise ConfigError(f"{path}: missing {key!r}")
        self.cfg = cfg
        self.config_path = str(path)
        self.base_url = str(cfg["base_url"]).rstrip("/") + "/"
        self.model_id = f"http:{cfg['provider']}"
        caps = dict(cfg.get("capabilities") or {})
        if "tasks" in caps:
            caps["tasks"] = tuple(caps["tasks"])
        self.capabilities = Capabilities(**{"needs_weights": False, "license": "provider terms",
                                            "memory": "none (remote)", "description": f"HTTP API {cfg['provider']}",
                                            **caps})
        self.timeout_s = float(cfg.get("timeout_s", 900))
        self.retries = int(cfg.get("retries", 4))
        self.backoff_s = float(cfg.get("backoff_s", 2.0))
        self.journal_dir: Path | None = None
        self.requests_made = 0

    # ---- harness hooks ------------------------------------------------------------------------------------------
    def settings(self) -> dict:
        return {"provider": self.cfg["provider"], "base_url": self.cfg["base_url"],
                "submit": {k: v for k, v in self.cfg["submit"].items()}, "settings": self.cfg.get("settings", {})}

    def bind_run(self, run_dir: Path) -> None:
        """Called by the run before generating: job ids are journaled under ``run_dir/api_jobs``."""
        self.journal_dir = Path(run_dir) / "api_jobs"

    # ---- HTTP ---------------------------------------------------------------------------------------------------
    def _key(self) -> str | None:
        env = self.cfg.get("api_key_env")
        if not env:
            return None
        key = os.environ.get(env)
        if not key:
            raise ConfigError(f"http model {self.cfg['provider']}: set the API key in ${env}")
        return key

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.cfg.get("api_key_env") or "", "")
        return text.replace(key, "***") if key else text

    def _request(self, method: str, url: str, deadline: float, body: Any = None, want_json: bool = True):
        headers = {"Accept": "application/json" if want_json else "*/*", "User-Agent": "vgbench"}
        key = self._key()
        if key:
            scheme = self.cfg.get("auth_scheme", "Bearer")
            headers[self.cfg.get("auth_header", "Authorization")] = f"{scheme} {key}".strip() if scheme else key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        last = "no attempt"
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GenerationError(f"timed out after {self.timeout_s:g} s ({method} {url}; last: {last})")
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            self.requests_made += 1
            try:
                with urllib.request.urlopen(req, timeout=min(60.0, remaining)) as resp:
                    payload = resp.read()
                if not want_json:
                    return payload
                try:
                    return json.loads(payload.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as e:
                    snippet = payload[:120].decode("utf-8", "replace")
                    raise GenerationError(self._redact(f"malformed JSON from {method} {url}: {e} "
                                                       f"(body starts {snippet!r})")) from None
            except urllib.error.HTTPError as e:
                if e.code not in _RETRY_STATUS:
                    detail = e.read()[:200].decode("utf-8", "replace")
                    raise GenerationError(self._redact(f"{method} {url} → HTTP {e.code}: {detail}")) from None
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                last = self._redact(f"{type(e).__name__}: {getattr(e, 'reason', e)}")
            if attempt < self.retries:
                time.sleep(min(self.backoff_s * 2 ** attempt * (1 + 0.1 * random.random()),
                               max(0.0, deadline - time.monotonic())))
        raise GenerationError(f"{method} {url} failed after {self.retries + 1} attempts (last: {last})")

    def _url(self, path_template: str, fields: dict) -> str:
        return urllib.parse.urljoin(self.base_url, str(_fill(path_template, fields)).lstrip("/"))

    # ---- journal ------------------------------------------------------------------------------------------------
    def _journal_path(self, request: GenerationRequest) -> Path | None:
        if self.journal_dir is None:
            return None
        ident = json.dumps([self.settings(), request.prompt_id, request.prompt, request.seed, request.num_frames,
                            request.fps, request.width, request.height, request.image, request.sample_index],
                           sort_keys=True, default=str)
        return self.journal_dir / (hashlib.sha256(ident.encode()).hexdigest()[:24] + ".json")

    # ---- generation ---------------------------------------------------------------------------------------------
    def generate(self, request: GenerationRequest) -> Video:
        deadline = time.monotonic() + self.timeout_s
        fields = {"prompt": request.prompt, "prompt_id": request.prompt_id, "seed": request.seed,
                  "num_frames": request.num_frames, "fps": request.fps, "width": request.width,
                  "height": request.height, "image": request.image, "sample_index": request.sample_index}
        journal = self._journal_path(request)
        job_id = None
        if journal is not None and journal.is_file():
            job_id = json.loads(journal.read_text(encoding="utf-8")).get("job_id")
        if job_id is None:
            sub = self.cfg["submit"]
            doc = self._request(sub.get("method", "POST"), self._url(sub["path"], fields), deadline,
                                _fill(sub.get("body", {}), fields))
            job_id = _dotted(doc, sub.get("job_id", "id"))
            if job_id is None:
                raise GenerationError(f"submit response has no job id at {sub.get('job_id', 'id')!r}")
            if journal is not None:
                journal.parent.mkdir(parents=True, exist_ok=True)
                journal.write_text(json.dumps({"job_id": job_id, "submitted_at": time.time()}), encoding="utf-8")
        fields["job_id"] = job_id
        poll = self.cfg["poll"]
        done, failed = set(poll.get("done", ["succeeded"])), set(poll.get("failed", ["failed"]))
        while True:
            doc = self._request("GET", self._url(poll["path"], fields), deadline)
            status = _dotted(doc, poll.get("status", "status"))
            if status in done:
                break
            if status in failed:
                if journal is not None:
                    journal.unlink(missing_ok=True)  # a failed job is not billed twice; a retry submits anew
                msg = _dotted(doc, poll.get("error"))
                raise GenerationError(f"job {job_id} {status}" + (f": {msg}" if msg else ""))
            if time.monotonic() + float(poll.get("interval_s", 5)) > deadline:
                raise GenerationError(f"timed out after {self.timeout_s:g} s waiting for job {job_id} "
                                      f"(last status {status!r})")
            time.sleep(float(poll.get("interval_s", 5)))
        url = _dotted(doc, poll.get("video_url", "video_url"))
        if not url:
            raise GenerationError(f"job {job_id} finished but its response has no video URL at "
                                  f"{poll.get('video_url', 'video_url')!r}")
        data = self._request("GET", urllib.parse.urljoin(self.base_url, str(url)), deadline, want_json=False)
        if not data:
            raise GenerationError(f"job {job_id}: the video download is empty")
        with tempfile.NamedTemporaryFile(suffix=Path(urllib.parse.urlparse(str(url)).path).suffix or ".mp4") as f:
            f.write(data)
            f.flush()
            try:
                video = read_video(f.name)
            except Exception as e:  # noqa: BLE001 - any decoding problem is this item's error
                raise GenerationError(f"job {job_id}: the downloaded video cannot be decoded: {e}") from e
        return Video(video.frames, request.fps if abs(video.fps - request.fps) < 0.5 else video.fps)
