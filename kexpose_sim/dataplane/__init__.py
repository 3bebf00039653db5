"""The simulator's data plane: what the control plane's apps and pools describe, actually running.

- ``pki``: CAs and certificates (cryptography);
- ``apiserver``: a TLS endpoint per Kubernetes service that answers like kube-apiserver;
- ``container``: MESOS-container emulation for agent tasks (mount namespace + chroot);
- ``supervisor``: the processes started for tasks and pools, stopped with the simulator;
- ``haproxy_tasks``, ``marathonlb``, ``edgelb_pools``: real HAProxy for standalone apps,
  Marathon-LB and Edge-LB pools.
"""
