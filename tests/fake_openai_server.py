"""The deterministic fake of tests/fake_openai.py served over real HTTP, as its own process.

    python -m tests.fake_openai_server --port 8199 [--mode ok|http_500|invalid_json|...]
                                       [--delay-s 0.0]

Fault tests start it, kill it (SIGKILL, mid-request) and restart it on the same port,
as would happen to a vLLM server. Besides the OpenAI routes it answers:
  GET /_fake/stats  -> {"requests": chat requests received, "in_flight": being answered}
  POST /_fake/mode  {"mode": ..., "delay_s": ...} -> change behaviour without a restart
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.fake_openai import FakeOpenAI

# "timeout" in FakeOpenAI raises inside the client; a real server is slow instead (delay).
SERVED_MODES = ("ok", "http_500", "invalid_json", "truncated", "schema_violation")


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as vLLM's server: the client pools connections, which a kill then breaks.
    protocol_version = "HTTP/1.1"
    fake: FakeOpenAI  # set on the subclass main() builds

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/_fake/stats":
            fake = self.fake
            self._send(200, {"requests": len(fake.requests), "in_flight": fake.in_flight})
        elif self.path == "/_fake/mode":
            change = json.loads(body)
            if change.get("mode", self.fake.mode) not in SERVED_MODES:
                self._send(400, {"error": f"unknown mode {change['mode']!r}"})
                return
            self.fake.mode = change.get("mode", self.fake.mode)
            self.fake.delay_s = float(change.get("delay_s", self.fake.delay_s))
            self._send(200, {"mode": self.fake.mode, "delay_s": self.fake.delay_s})
        elif self.path not in ("/v1/models", "/v1/chat/completions"):
            self._send(404, {"error": f"no route {self.path}"})
        else:
            request = httpx.Request(self.command, f"http://fake{self.path}", content=body)
            response = self.fake.handle(request)
            self._send(response.status_code, response.json())

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per request would only slow a loaded test machine."""


def main(argv: list[str] | None = None) -> None:
    """Serve the fake on 127.0.0.1 until killed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=SERVED_MODES, default="ok")
    ap.add_argument("--delay-s", type=float, default=0.0)
    ap.add_argument("--model", default="fake-llm")
    args = ap.parse_args(argv)
    handler = type(
        "Handler", (_Handler,), {"fake": FakeOpenAI(args.mode, args.model, args.delay_s)}
    )
    ThreadingHTTPServer(("127.0.0.1", args.port), handler).serve_forever()


if __name__ == "__main__":
    main()
