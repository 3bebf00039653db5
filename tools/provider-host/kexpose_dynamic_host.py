"""kexpose's host for Python dynamic providers: the Pulumi SDK's own (``python -m pulumi.dynamic``),
run unchanged but for four things: how errors reach the engine, how many calls run at once,
``Cancel`` (Ctrl-C) reaching the providers, and taking over an existing object with the ``import``
resource option (see :func:`import_as_update`).

The SDK's host (3.260) answers any exception from a provider with its full Python traceback;
before, with grpc's "Exception calling application:" prefix. An error kexpose raises on purpose
(a ``KexposeError``: it names the field and the fix) is meant for the user as one message, so
here it reaches the engine as exactly that message. Any other exception is a bug and keeps its
traceback. ``scripts/build-engine.sh`` installs this next to the engine and points
``pulumi-resource-pulumi-python`` at it; nothing of the SDK is copied.
"""

import asyncio
import functools
import os
import runpy
import sys
import traceback
from concurrent import futures

import grpc
from google.protobuf import empty_pb2
from pulumi.dynamic.dynamic import PROVIDER_KEY
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

#: The property an import's placeholder state carries: the id it was imported by.
IMPORT_KEY = "__kexpose_import"

_sdk_format_exc = traceback.format_exc


def _is_kexpose_error(exc: BaseException) -> bool:
    # By name, so the host needs nothing importable but the SDK (programs without kexpose use it too).
    return any(cls.__name__ == "KexposeError" for cls in type(exc).__mro__)


def format_exc(*args, **kwargs) -> str:
    exc = sys.exc_info()[1]
    if exc is not None and _is_kexpose_error(exc):
        return str(exc)
    return _sdk_format_exc(*args, **kwargs)


#: Provider calls that may run at once unless KEXPOSE_PROVIDER_WORKERS says otherwise: more than
#: any ``--parallel`` in use, so the engine's own limit is the one that counts (threads start only
#: when calls arrive, so an idle pool costs nothing).
DEFAULT_WORKERS = 64


def workers() -> int:
    """How many provider calls run at once. The SDK's host allows 4, so a fifth resource waiting
    for its deployment waits for a free worker instead; ``scripts/pulumi`` passes a larger
    ``--parallel`` as ``KEXPOSE_PROVIDER_WORKERS``."""
    try:
        return max(1, int(os.environ.get("KEXPOSE_PROVIDER_WORKERS", DEFAULT_WORKERS)))
    except ValueError:
        return DEFAULT_WORKERS


_grpc_server = grpc.server


def server(_sdk_pool, *args, **kwargs):
    """``grpc.server`` with a pool of :func:`workers` threads instead of the SDK's four."""
    return _grpc_server(futures.ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="provider"), *args, **kwargs)


_add_servicer = provider_pb2_grpc.add_ResourceProviderServicer_to_server


def _serialize(props: dict) -> object:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def _aborting(fn):
    """As the SDK's handlers do: an exception becomes the call's error (one line for a KexposeError)."""
    @functools.wraps(fn)
    def wrapper(request, context):
        try:
            return fn(request, context)
        except Exception:  # noqa: BLE001 - reported to the engine, which fails the step
            context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())
    return wrapper


def import_as_update(servicer, get_provider) -> None:
    """Let a resource with the ``import`` option take over an object that exists (kexpose's ``adopt``)
    so that the first preview shows an import followed by an **update**, not a create.

    The engine (3.260) imports in two steps: ``Read`` with nothing but the id, then the normal
    check/diff/update against what the read returned. The SDK's host cannot answer that ``Read``
    (a dynamic provider is found through the ``__provider`` property, which only the program's
    inputs carry), so here it answers with a placeholder state that names the id. A diff against
    the placeholder is always a change, and the update that follows is the provider's ``create``
    with the new inputs: kexpose's creates take over an object that exists when the resource says
    ``adopt`` (and refuse otherwise), so the object is updated in place, never recreated."""
    read, check, diff, update = servicer.Read, servicer.Check, servicer.Diff, servicer.Update

    def imported(request_olds) -> bool:  # on the Struct itself: every call passes here, most are not imports
        return IMPORT_KEY in request_olds.fields

    def read_import(request, context):
        if PROVIDER_KEY in request.properties.fields:
            return read(request, context)
        placeholder = _serialize({IMPORT_KEY: request.id})
        return provider_pb2.ReadResponse(id=request.id, properties=placeholder, inputs=placeholder)

    def check_import(request, context):
        if imported(request.olds):
            request.olds.Clear()
        return check(request, context)

    def diff_import(request, context):
        if imported(request.olds):
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_SOME)
        return diff(request, context)

    @_aborting
    def take_over(request, context):
        news = rpc.deserialize_properties(request.news)
        result = get_provider(news, servicer._config).create(news)
        if result.id != request.id:
            raise RuntimeError(f"imported {request.id!r} but the provider made {result.id!r}")
        outs = {**(result.outs or {}), PROVIDER_KEY: news[PROVIDER_KEY]}
        return provider_pb2.UpdateResponse(properties=_serialize(outs))

    def update_import(request, context):
        return take_over(request, context) if imported(request.olds) else update(request, context)

    servicer.Read, servicer.Check, servicer.Diff, servicer.Update = read_import, check_import, diff_import, update_import


def add_servicer(servicer, grpc_server) -> None:
    """Register the SDK's servicer with a ``Cancel`` that reaches the providers: on Ctrl-C the
    engine sends it, and each loaded provider with a ``cancel()`` (every kexpose provider that
    waits) stops waiting. The SDK's own answers Empty and does nothing. Imports as
    :func:`import_as_update` says."""
    sdk = type(servicer).Create.__globals__
    cache = sdk.get("_PROVIDER_CACHE", {})

    def cancel(request, context):
        for provider in list(cache.values()):
            hook = getattr(provider, "cancel", None)
            if callable(hook):
                hook()
        return empty_pb2.Empty()

    servicer.Cancel = cancel
    import_as_update(servicer, sdk["get_provider"])
    _add_servicer(servicer, grpc_server)


traceback.format_exc = format_exc
grpc.server = server
provider_pb2_grpc.add_ResourceProviderServicer_to_server = add_servicer
sys.path[0] = os.getcwd()  # as `python -m` has it: providers are imported from the program's directory
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
