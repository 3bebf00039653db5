"""kexpose's policy pack: pure rule functions (rules.py) over HAProxy text helpers (haproxy_text.py);
the pack's entry point (../__main__.py) wires them into pulumi_policy."""
