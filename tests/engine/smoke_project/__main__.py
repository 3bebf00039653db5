"""Smoke program: one Python dynamic resource, run by the language host from this directory."""

import pulumi

from note_provider import Note

config = pulumi.Config()
note = Note("greeting", directory=config.require("directory"), text=config.require("text"))
pulumi.export("sha256", note.sha256)
