"""Edge-LB v2 API: pools, split as moto splits a service.

- ``exceptions``: the API errors and their bodies;
- ``schema``: the V2 pool schema and its go-swagger codec (defaults, omitempty, Go decode errors);
- ``validation``: the swagger enums and ``V2CheckPool``;
- ``models``: the pools and their lifecycle (``EdgeLBBackend``);
- ``lbconfig`` / ``servers``: the haproxy.cfg a pool runs and the servers its backends list;
- ``responses``: the HTTP layer.
"""
