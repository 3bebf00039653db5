"""The DC/OS Secrets API (Enterprise): ``/secrets/v1/secret/{store}/{path}`` behind Admin Router."""
