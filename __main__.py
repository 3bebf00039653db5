"""kexpose's Pulumi program: what the selected stack's ``kexpose:`` config asks for
(see README "Stack config reference"). The logic lives in importable modules so dynamic
providers stay small and the provider process can import them."""

from kexpose_components.program import run

run()
