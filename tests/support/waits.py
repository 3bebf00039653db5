"""How long a test waits for something that happens eventually (a process serving, a reload, a
cleanup). Generous on purpose: ``make test`` runs four workers on two cores, so a step that takes
a second alone can take ten under load. A wait that is itself the behaviour under test (Ctrl-C
ends a run "within seconds") keeps its own, tighter bound."""

EVENTUALLY = 30.0
