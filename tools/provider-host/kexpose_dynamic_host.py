"""kexpose's host for Python dynamic providers: the Pulumi SDK's own (``python -m pulumi.dynamic``),
run unchanged but for three things: how errors reach the engine, how many calls run at once, and
``Cancel`` (Ctrl-C) reaching the providers.

The SDK's host (3.260) answers any exception from a provider with its full Python traceback;
before, with grpc's "Exception calling application:" prefix. An error kexpose raises on purpose
(a ``KexposeError``: it names the field and the fix) is meant for the user as one message, so
here it reaches the engine as exactly that message. Any other exception is a bug and keeps its
traceback. ``scripts/build-engine.sh`` installs this next to the engine and points
``pulumi-resource-pulumi-python`` at it; nothing of the SDK is copied.
"""

import os
import runpy
import sys
import traceback
from concurrent import futures

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2_grpc

_sdk_format_exc = traceback.format_exc


def _is_kexpose_error(exc: BaseException) -> bool:
    # By name, so the host needs nothing importable but the SDK (programs without kexpose use it too).
    return any(cls.__name__ == "KexposeError" for cls in type(exc).__mro__)


def format_exc(*args, **kwargs) -> str:
    exc = sys.exc_info()[1]
    if exc is not None and _is_kexpose_error(exc):
        return str(exc)
    return _sdk_format_exc(*args, **kwargs)


def workers() -> int:
    """How many provider calls run at once. The SDK's host allows 4, so a fifth resource waiting
    for its deployment waits for a free worker instead; kexpose's ``scripts/pulumi`` passes the
    run's ``--parallel`` as ``KEXPOSE_PROVIDER_WORKERS`` (the engine's default is 8)."""
    try:
        return max(1, int(os.environ.get("KEXPOSE_PROVIDER_WORKERS", "8")))
    except ValueError:
        return 8


_grpc_server = grpc.server


def server(_sdk_pool, *args, **kwargs):
    """``grpc.server`` with a pool of :func:`workers` threads instead of the SDK's four."""
    return _grpc_server(futures.ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="provider"), *args, **kwargs)


_add_servicer = provider_pb2_grpc.add_ResourceProviderServicer_to_server


def add_servicer(servicer, grpc_server) -> None:
    """Register the SDK's servicer with a ``Cancel`` that reaches the providers: on Ctrl-C the
    engine sends it, and each loaded provider with a ``cancel()`` (every kexpose provider that
    waits) stops waiting. The SDK's own answers Empty and does nothing."""
    cache = type(servicer).Create.__globals__.get("_PROVIDER_CACHE", {})

    def cancel(request, context):
        for provider in list(cache.values()):
            hook = getattr(provider, "cancel", None)
            if callable(hook):
                hook()
        return empty_pb2.Empty()

    servicer.Cancel = cancel
    _add_servicer(servicer, grpc_server)


traceback.format_exc = format_exc
grpc.server = server
provider_pb2_grpc.add_ResourceProviderServicer_to_server = add_servicer
sys.path[0] = os.getcwd()  # as `python -m` has it: providers are imported from the program's directory
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
