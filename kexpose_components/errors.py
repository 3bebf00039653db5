"""The root of every error kexpose raises on purpose.

The program turns a :class:`KexposeError` into one clean line for the user (no traceback); any
other exception escaping is a bug. Each part of kexpose subclasses it where the error starts
(stack config, a DC/OS API, certificates, delivery to agents, the exposure probe).
"""


class KexposeError(Exception):
    """Something the user can fix; the message says what and how."""
