"""Serve an app on a free loopback port from a thread, for benches that drive real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI) -> tuple[str, uvicorn.Server]:
    """Start uvicorn for `app` on 127.0.0.1; return its base URL and the server
    (set `server.should_exit = True` to stop it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    return f"http://127.0.0.1:{port}", server
