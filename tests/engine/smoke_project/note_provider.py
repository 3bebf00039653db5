"""A minimal dynamic provider with real side effects: each Note is a file in a directory.

It lives in an importable module (not in __main__) so that the provider process can import it
and the serialized provider stays small, the same rule kexpose's own providers follow.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


class NoteProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["directory"]) / props["name"]
        path.write_text(props["text"])
        return CreateResult(str(path), {**props, "sha256": _sha(props["text"])})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [k for k in ("directory", "name", "text") if olds.get(k) != news.get(k)]
        replaces = [k for k in changes if k in ("directory", "name")]
        return DiffResult(changes=bool(changes), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        Path(_id).write_text(news["text"])
        return UpdateResult({**news, "sha256": _sha(news["text"])})

    def read(self, _id: str, props: dict[str, Any]) -> ReadResult:
        path = Path(_id)
        if not path.exists():
            return ReadResult(None, {})
        text = path.read_text()
        return ReadResult(_id, {**props, "text": text, "sha256": _sha(text)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        Path(_id).unlink(missing_ok=True)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Note(Resource, module="smoke", name="Note"):
    sha256: pulumi.Output[str]

    def __init__(self, name: str, directory: str, text: pulumi.Input[str], opts=None):
        super().__init__(NoteProvider(), name, {"directory": directory, "name": name, "text": text, "sha256": None}, opts)
