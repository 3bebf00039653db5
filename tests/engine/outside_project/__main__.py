"""A user's program, not kexpose's: a native random.RandomId names a file kept by a dynamic provider
defined right here in __main__ (so it is serialized by value, the way most users write one)."""

from pathlib import Path

import pulumi
import pulumi_random
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class FileProvider(ResourceProvider):
    def create(self, props):
        path = Path(props["directory"]) / props["name"]
        path.write_text(props["text"])
        return CreateResult(str(path), props)

    def delete(self, _id, props):
        Path(_id).unlink(missing_ok=True)


class File(Resource):
    def __init__(self, name, directory, text):
        super().__init__(FileProvider(), name, {"directory": directory, "name": text.apply(lambda t: f"note-{t}"),
                                                "text": text})


suffix = pulumi_random.RandomId("suffix", byte_length=4)
File("note", pulumi.Config().require("directory"), suffix.hex)
pulumi.export("suffix", suffix.hex)
