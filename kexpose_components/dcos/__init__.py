"""Clients for the DC/OS APIs kexpose drives: the session (auth, TLS, retries, errors) in
``client``, Marathon in ``marathon``, Edge-LB in ``edgelb``."""

from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession

__all__ = ["DcosApiError", "DcosConnection", "DcosSession"]
