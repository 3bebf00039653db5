"""kexpose's host for Python dynamic providers: the Pulumi SDK's own (``python -m pulumi.dynamic``),
run unchanged but for how errors reach the engine.

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

_sdk_format_exc = traceback.format_exc


def _is_kexpose_error(exc: BaseException) -> bool:
    # By name, so the host needs nothing importable but the SDK (programs without kexpose use it too).
    return any(cls.__name__ == "KexposeError" for cls in type(exc).__mro__)


def format_exc(*args, **kwargs) -> str:
    exc = sys.exc_info()[1]
    if exc is not None and _is_kexpose_error(exc):
        return str(exc)
    return _sdk_format_exc(*args, **kwargs)


traceback.format_exc = format_exc
sys.path[0] = os.getcwd()  # as `python -m` has it: providers are imported from the program's directory
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
