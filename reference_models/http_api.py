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
    timeout_s: 900                        # per item, submit to download (a hard deadline: connect, headers, body)
    request_timeout_s: 120                # per request (connect + headers + whole body), within the item's deadline
    retries: 4                            # connection errors, 429 and 5xx are retried with exponential backoff
    backoff_s: 2
    max_download_mb: 4096                 # a larger video download is refused (streamed to disk, never in memory)
    download_auth: false                  # send the key with a video download on another host (default: never)
    settings: {model_version: acme-2.1, mode: high-quality}   # content-defining: they enter the item ids
    capabilities: {default_frames: 120, default_fps: 24, default_width: 1280, default_height: 720, tasks: [t2v]}

Template fields in ``body`` and paths: ``{prompt}``, ``{prompt_id}``, ``{seed}``, ``{num_frames}``, ``{fps}``,
``{width}``, ``{height}``, ``{image}``, ``{sample_index}``, ``{job_id}``; a value that is exactly one field keeps
its type (numbers stay numbers).

Trust: the API key goes only to the origin (scheme, host, port) of ``base_url``: a redirect to another origin and a
video URL on another host get no credentials (unless ``download_auth: true``). Every request has a total deadline
(connect, headers and body: a server that trickles bytes cannot hold an item past it); responses are read in chunks
with size caps (JSON 16 MB; videos ``max_download_mb``, streamed to a temporary file and checked to start like a
video container).

Billing safety: every submitted job id is written to ``<run>/api_jobs/<request hash>.json`` before polling, so a
killed and resumed run polls the job it already paid for instead of submitting again; finished items are never
requested again (the run skips them). The key is sent only in the auth header; it never appears in settings, item
ids, logs, errors or the results store (any error text containing it is redacted). The journal is written
atomically; one torn by a kill is recovered when its job id is still readable (the job is polled, not submitted
again); when it is not, the item fails naming the file, so a paid job is never submitted twice silently.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import re
import socket
import tempfile
import threading
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
_JSON_CAP = 16 << 20  # bytes: a submit/poll response larger than this is not an API's answer
_CHUNK = 1 << 16
#: how a video container starts (offset, bytes): MP4/MOV (ftyp), Matroska/WebM, GIF, AVI, MPEG-TS, MPEG-PS, Ogg
_VIDEO_MAGIC = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (0, b"GIF8"), (0, b"RIFF"), (0, b"\x47"),
                (0, b"\x00\x00\x01\xba"), (0, b"OggS"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"))


def _origin(url: str) -> tuple[str, str, int | None]:
    u = urllib.parse.urlsplit(url)
    port = u.port or {"http": 80, "https": 443}.get(u.scheme)
    return u.scheme.lower(), (u.hostname or "").lower(), port


class _Connections:
    """Remembers the connections one request opens, so that its deadline can close them (a blocked connect,
    header or body read then fails at once instead of waiting for the server)."""

    def __init__(self):
        self.socks: list = []
        self.expired = False

    def factory(self, cls):
        def make(host, **kw):
            conn = cls(host, **kw)
            connect = conn.connect

            def connect_and_remember():  # urllib drops conn.sock once headers are read; the response keeps it
                connect()
                self.socks.append(conn.sock)
                if self.expired:
                    self.expire()
            conn.connect = connect_and_remember
            return conn
        return make

    def expire(self) -> None:
        self.expired = True
        for sock in self.socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _TrackedHTTP(urllib.request.HTTPHandler):
    def __init__(self, conns: _Connections):
        super().__init__()
        self._conns = conns

    def http_open(self, req):
        return self.do_open(self._conns.factory(http.client.HTTPConnection), req)


class _TrackedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, conns: _Connections):
        super().__init__()
        self._conns = conns

    def https_open(self, req):
        return self.do_open(self._conns.factory(http.client.HTTPSConnection), req, context=self._context)


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but a redirect to another origin loses the credential header."""

    def __init__(self, auth_header: str, origin: tuple):
        super().__init__()
        self._auth = auth_header.lower()
        self._origin = origin

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != self._origin:
            for name in list(new.headers):
                if name.lower() == self._auth:
                    del new.headers[name]
            for name in list(new.unredirected_hdrs):
                if name.lower() == self._auth:
                    del new.unredirected_hdrs[name]
        return new


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

        from vgbench.bench.safeload import load_yaml, read_input

        try:
            cfg = load_yaml(read_input(path), str(path))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
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
        self.request_timeout_s = float(cfg.get("request_timeout_s", 120))
        self.retries = int(cfg.get("retries", 4))
        self.backoff_s = float(cfg.get("backoff_s", 2.0))
        self.max_download_bytes = int(float(cfg.get("max_download_mb", 4096)) * (1 << 20))
        self.download_auth = bool(cfg.get("download_auth", False))
        self.origin = _origin(self.base_url)
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

    def _request(self, method: str, url: str, deadline: float, body: Any = None, want_json: bool = True,
                 dest: str | None = None):
        """One API request with retries. Returns the parsed JSON (``want_json``), else the body's bytes, or, with
        ``dest``, streams the body into that file and returns its size. Credentials go only to the API's origin
        (see the module docstring); each attempt ends by ``min(request_timeout_s, deadline)`` whatever the server
        does."""
        headers = {"Accept": "application/json" if want_json else "*/*", "User-Agent": "vgbench"}
        key = self._key()
        auth_header = self.cfg.get("auth_header", "Authorization")
        if key and (_origin(url) == self.origin or (self.download_auth and not want_json)):
            scheme = self.cfg.get("auth_scheme", "Bearer")
            headers[auth_header] = f"{scheme} {key}".strip() if scheme else key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        last = "no attempt"
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GenerationError(f"timed out after {self.timeout_s:g} s ({method} {url}; last: {last})")
            budget = min(self.request_timeout_s, remaining)
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            self.requests_made += 1
            conns = _Connections()
            opener = urllib.request.build_opener(_TrackedHTTP(conns), _TrackedHTTPS(conns),
                                                 _SameOriginAuth(auth_header, self.origin))
            timer = threading.Timer(budget, conns.expire)
            timer.daemon = True
            timer.start()
            try:
                with opener.open(req, timeout=budget) as resp:
                    if dest is not None:
                        return self._stream_to(resp, dest, url, conns)
                    payload = self._read_capped(resp, _JSON_CAP, url, conns)
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
                    detail = e.read(200).decode("utf-8", "replace")
                    raise GenerationError(self._redact(f"{method} {url} → HTTP {e.code}: {detail}")) from None
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, http.client.HTTPException) as e:
                if conns.expired:
                    last = f"no complete response within {budget:.3g} s"
                else:
                    last = self._redact(f"{type(e).__name__}: {getattr(e, 'reason', e)}")
            finally:
                timer.cancel()
            if attempt < self.retries:
                time.sleep(min(self.backoff_s * 2 ** attempt * (1 + 0.1 * random.random()),
                               max(0.0, deadline - time.monotonic())))
        raise GenerationError(f"{method} {url} failed after {self.retries + 1} attempts (last: {last})")

    def _read_capped(self, resp, cap: int, url: str, conns: _Connections) -> bytes:
        parts, size = [], 0
        while True:
            chunk = resp.read1(_CHUNK) if hasattr(resp, "read1") else resp.read(_CHUNK)
            if not chunk:
                if conns.expired:
                    raise TimeoutError("deadline")
                return b"".join(parts)
            size += len(chunk)
            if size > cap:
                raise GenerationError(f"{url}: the response is larger than {cap >> 20} MB; not an API answer")
            parts.append(chunk)

    def _stream_to(self, resp, dest: str, url: str, conns: _Connections) -> int:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_download_bytes:
            raise GenerationError(f"{url}: the video is {int(declared) >> 20} MB, more than max_download_mb "
                                  f"({self.max_download_bytes >> 20}); raise it in the config if that is expected")
        size = 0
        with open(dest, "wb") as f:
            while True:
                chunk = resp.read1(_CHUNK) if hasattr(resp, "read1") else resp.read(_CHUNK)
                if not chunk:
                    if conns.expired:
                        raise TimeoutError("deadline")
                    break
                if size == 0:
                    declared_type = resp.headers.get("Content-Type")  # absent: judged by the magic bytes alone
                    kind = resp.headers.get_content_type() if declared_type else ""
                    if kind in ("text/html", "application/json", "text/plain", "application/xml"):
                        raise GenerationError(f"{url}: the download is {kind}, not a video (starts "
                                              f"{chunk[:80]!r})")
                size += len(chunk)
                if size > self.max_download_bytes:
                    raise GenerationError(f"{url}: the video is larger than max_download_mb "
                                          f"({self.max_download_bytes >> 20}); stopped there")
                f.write(chunk)
        with open(dest, "rb") as f:
            head = f.read(16)
        if not any(head[o:o + len(m)] == m for o, m in _VIDEO_MAGIC):
            raise GenerationError(f"{url}: the download does not start like a video container (starts {head!r})")
        return size

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

    def _read_journal(self, journal: Path) -> Any:
        """The job id journaled for this item. A journal torn by a kill is recovered when its id is still
        readable; when it is not, the item fails naming the file (a paid job must not be submitted again
        silently)."""
        raw = journal.read_bytes()
        try:
            doc = json.loads(raw.decode("utf-8"))
            if isinstance(doc, dict) and doc.get("job_id") is not None:
                return doc["job_id"]
        except (UnicodeDecodeError, json.JSONDecodeError):
            m = re.search(rb'"job_id"\s*:\s*("((?:[^"\\]|\\.)*)"|(-?\d+)\s*[,}])', raw)
            if m:
                return m.group(2).decode("utf-8", "replace") if m.group(2) is not None else int(m.group(3))
        raise GenerationError(f"{journal}: this item's job journal is unreadable (torn by a crash?), so whether a job "
                              "was already submitted (and billed) is unknown; check the provider's dashboard, then "
                              "delete this file to submit the item again")

    # ---- generation ---------------------------------------------------------------------------------------------
    def generate(self, request: GenerationRequest) -> Video:
        deadline = time.monotonic() + self.timeout_s
        fields = {"prompt": request.prompt, "prompt_id": request.prompt_id, "seed": request.seed,
                  "num_frames": request.num_frames, "fps": request.fps, "width": request.width,
                  "height": request.height, "image": request.image, "sample_index": request.sample_index}
        journal = self._journal_path(request)
        job_id = self._read_journal(journal) if journal is not None and journal.is_file() else None
        if job_id is None:
            sub = self.cfg["submit"]
            doc = self._request(sub.get("method", "POST"), self._url(sub["path"], fields), deadline,
                                _fill(sub.get("body", {}), fields))
            job_id = _dotted(doc, sub.get("job_id", "id"))
            if job_id is None:
                raise GenerationError(f"submit response has no job id at {sub.get('job_id', 'id')!r}")
            if journal is not None:
                from vgbench.bench.fileio import atomic_write_text

                atomic_write_text(journal, json.dumps({"job_id": job_id, "submitted_at": time.time()}))
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
        suffix = Path(urllib.parse.urlparse(str(url)).path).suffix or ".mp4"
        with tempfile.TemporaryDirectory(prefix="vgbench-download-") as tmp:
            dest = os.path.join(tmp, "video" + suffix[:8])
            size = self._request("GET", urllib.parse.urljoin(self.base_url, str(url)), deadline, want_json=False,
                                 dest=dest)
            if not size:
                raise GenerationError(f"job {job_id}: the video download is empty")
            try:
                video = read_video(dest)
            except Exception as e:  # noqa: BLE001 - any decoding problem is this item's error
                raise GenerationError(f"job {job_id}: the downloaded video cannot be decoded: {e}") from e
        return Video(video.frames, request.fps if abs(video.fps - request.fps) < 0.5 else video.fps)
