"""kexpose's Pulumi program: what the selected stack's `kexpose:` config asks for."""

import pulumi

pulumi.export("stack", pulumi.get_stack())
