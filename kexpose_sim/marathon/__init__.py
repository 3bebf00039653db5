"""Marathon v2, split as moto splits a service.

- ``exceptions``: the 4xx answers and their ``details``;
- ``schema`` (the RAML reader), ``apps`` (ids, read-back defaults, semantic checks);
- ``backend``: apps, versions and the writes (``MarathonBackend``); ``deployments``: plan steps;
- ``scheduler``: tasks, backoff, plans advancing; ``placement``: offer matching;
- ``parsing`` (request bodies, query flags, label selectors) and ``responses`` (the route table).
"""
