"""kexpose_sim: a stateful simulator of the DC/OS APIs kexpose talks to.

Admin Router (login, token checks), Marathon v2 and Edge-LB v2, over real HTTP, with state that
survives restarts — what moto or LocalStack are for AWS. The state model (``cluster``,
``marathon.backend``, ``edgelb.backend``) is kept apart from the HTTP layer (``server``,
``*.responses``).
"""
