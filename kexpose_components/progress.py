"""Progress messages from inside a dynamic provider, shown by the engine while a resource waits.

The engine starts every provider plugin with its own gRPC address as the first argument; the
Engine service's ``Log`` call with ``ephemeral`` set is what providers use for status lines that
vanish when the step completes. Outside a provider process (unit tests, scripts) this is a no-op.
"""

from __future__ import annotations

import re
import sys
import threading

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

_lock = threading.Lock()
_stub: engine_pb2_grpc.EngineStub | None = None
_ADDRESS = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\]):\d+$")


def _engine() -> engine_pb2_grpc.EngineStub | None:
    global _stub
    with _lock:
        if _stub is None and len(sys.argv) > 1 and _ADDRESS.match(sys.argv[1]):
            _stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(sys.argv[1]))
        return _stub


def _log(message: str, ephemeral: bool) -> None:
    stub = _engine()
    if stub is None:
        return
    try:
        stub.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=message, ephemeral=ephemeral), timeout=2)
    except grpc.RpcError:
        pass  # progress is best effort: it never fails a step


def report(message: str) -> None:
    """Show ``message`` as a transient status line while a step waits."""
    _log(message, ephemeral=True)


def announce(message: str) -> None:
    """Say something the user should read in the preview/update output (an info diagnostic)."""
    _log(message, ephemeral=False)
