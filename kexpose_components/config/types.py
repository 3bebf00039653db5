"""Field types of the stack config, each with the one-line fix its errors carry.

A field's type is where its rule lives: every wrong value, whatever pydantic's own complaint
(not an int, too big, not a string), is reported as that type's message — the key and a right
value — instead of pydantic's wording.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Callable

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from kexpose_components import naming
from kexpose_components.resources.deadline import parse_duration
from kexpose_components.timeouts import DURATION_EXAMPLE, is_duration

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOST = re.compile(r"^[A-Za-z0-9.:-]+$")
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SERVICE = re.compile(r"^[a-z0-9/][a-z0-9/.-]*$")


def fix(message: str, key: str | None = None) -> PydanticCustomError:
    """An error whose text is shown as is after the key; ``key`` names a key inside the model
    that raised it (for rules a model checks across its keys)."""
    return PydanticCustomError(f"kexpose:{key}" if key else "kexpose", message)


def _checked(base: type, message: str | Callable[[Any], str], accept: Callable[[Any], Any] = lambda v: v) -> Any:
    """``base`` validated strictly; any failure, or ``accept`` raising ValueError, reads ``message``.

    ``accept`` returns the value to keep (normalised) and raises ValueError to refuse it.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler, _info: ValidationInfo) -> Any:
        text = message(value) if callable(message) else message
        if isinstance(value, bool) and base is not bool:
            raise fix(text)
        try:
            value = handler(value)
        except Exception:  # noqa: BLE001 - pydantic's own complaint is replaced by the field's fix
            raise fix(text) from None
        try:
            return accept(value)
        except ValueError as exc:
            raise fix(str(exc) or text) from None

    return Annotated[base, WrapValidator(validate)]


def _require(predicate: Callable[[Any], object]) -> Callable[[Any], Any]:
    """Keep values ``predicate`` accepts; refuse the rest with the field's message."""

    def accept(value: Any) -> Any:
        if not predicate(value):
            raise ValueError("")
        return value

    return accept


def _expect(pattern: re.Pattern[str]) -> Callable[[str], str]:
    return _require(pattern.match)


def _service(value: str) -> str:
    if not naming.service_name(value) or not SERVICE.match(value):
        raise ValueError("")
    return naming.service_name(value)


def _existing_file(what: str, example: str) -> Callable[[str], str]:
    def accept(value: str) -> str:
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"file not found: {value} ({what}, e.g. {example})")
        return str(path)

    return accept


def existing_file(what: str, example: str) -> Any:
    """A path to a file that exists (``~`` expanded): ``what`` and ``example`` say which file."""
    return _checked(str, f"must be the path of {what}, e.g. {example}", _existing_file(what, example))


def port_type(example: int = 6443) -> Any:
    return _checked(int, lambda v: f"must be a whole number from 1 to 65535, e.g. {example}",
                    _require(lambda v: 1 <= v <= 65535))


Bool = _checked(bool, "must be true or false")
Name = _checked(str, 'must be lowercase letters, digits and "-", e.g. "public"', _expect(NAME))
Service = _checked(str, 'must be a DC/OS service name, e.g. "kubernetes" or "dev/kubernetes01"', _service)
Domain = _checked(str, lambda v: f'{v!r} is not a DNS name, e.g. "devkubernetes01.example.com"', _expect(DOMAIN))
Host = _checked(str, 'must be a public agent address, e.g. "10.0.0.7"', _expect(HOST))
Duration = _checked(str, lambda v: f"{v!r} is not a duration like {DURATION_EXAMPLE}",
                    _require(is_duration))
AbsolutePath = _checked(str, 'must be an absolute path on the agents, e.g. "/opt/kexpose/haproxy"',
                        _expect(re.compile(r"^/")))
Text = _checked(str, "must be a string")
AppId = _checked(str, 'must be a Marathon app id, e.g. "/kubectl-proxy"',
                 _expect(re.compile(r"^/?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)*$")))


SECRET_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
SecretPath = _checked(str, 'must be a DC/OS secret path, e.g. "kexpose/elb" (segments of letters, digits, ".", "_", "-")',
                      _expect(SECRET_PATH))
Days = _checked(int, "must be a whole number of days >= 0, e.g. 30", _require(lambda v: v >= 0))


def _go_duration(value: str) -> str:
    parse_duration(value)  # raises ValueError with the fix
    return value


DeploymentTimeout = _checked(str, lambda v: f"{v!r} is not a duration like \"10m\", \"90s\" or \"1h30m\"", _go_duration)
Port = port_type()
