"""Edge-LB v2 API: pools (model in ``backend``, HTTP in ``responses``)."""
