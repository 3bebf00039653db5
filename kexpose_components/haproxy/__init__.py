"""HAProxy as kexpose runs it: the config model and template (`model`), the pinned Marathon app (`app`)."""
