"""kexpose_sim: a stateful simulator of the DC/OS APIs kexpose talks to.

Admin Router (login, token checks), Marathon v2 and Edge-LB v2, over real HTTP, with state that
survives restarts — what moto or LocalStack are for AWS. Each service keeps its state model
(``adminrouter.auth``, ``marathon.backend``, ``edgelb.models``) apart from its HTTP layer
(``*.responses``, routed by ``server``); ``state`` owns the models and never imports the data plane
(``dataplane``), which ``server`` wires to the state.
"""
