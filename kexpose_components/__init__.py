"""kexpose: expose Kubernetes API servers running in DC/OS, as Pulumi resources."""
