"""Admin Router: DC/OS login and the token check in front of every service.

- ``auth``: accounts, the simulator's signing key and tokens (``AuthBackend``; no HTTP);
- ``exceptions``: why a login is refused;
- ``responses``: the HTTP layer (the login endpoint, Admin Router's 401/403 pages).
"""
