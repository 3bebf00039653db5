"""``python -m kexpose_sim serve``: run the DC/OS simulator."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from kexpose_sim.cluster import SeedError
from kexpose_sim.config import SimConfig, Timing
from kexpose_sim.dataplane.plane import DataPlaneUnavailable
from kexpose_sim.faults import FaultConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kexpose_sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulated DC/OS APIs over HTTP (or HTTPS with --tls)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default: 0)")
    serve.add_argument("--state-dir", type=Path, required=True,
                       help="where state is persisted; a restart with the same dir resumes it")
    serve.add_argument("--auth", choices=["dcos", "none"], default="dcos",
                       help="dcos: Admin Router requires a token (default); none: an open cluster")
    serve.add_argument("--user", action="append", default=[], metavar="UID:PASSWORD",
                       help="a local user (repeatable; default bootstrapuser:deleteme)")
    serve.add_argument("--service-account", action="append", default=[], metavar="UID=PUBLIC_KEY_PEM_FILE",
                       help="a service account that logs in with an RS256 JWT (repeatable)")
    serve.add_argument("--forbid", action="append", default=[], metavar="UID",
                       help="an authenticated uid that Admin Router answers 403 (repeatable)")
    serve.add_argument("--edgelb-service", default="edgelb",
                       help="Edge-LB's service name, i.e. /service/<name>/ (default: edgelb)")
    serve.add_argument("--seed", type=Path, help="YAML/JSON cluster seed (agents, kubernetes services)")
    serve.add_argument("--agent-network", metavar="A.B.C",
                       help="first three octets of the agents' loopback addresses (default: random in 127/8)")
    serve.add_argument("--deploy-seconds", type=float, default=Timing.task_launch,
                       help=f"time for a task to go from staging to running (default: {Timing.task_launch})")
    serve.add_argument("--pool-ready-seconds", type=float, default=Timing.pool_ready,
                       help=f"time for an Edge-LB pool to become ready (default: {Timing.pool_ready})")
    serve.add_argument("--faults", type=json.loads, default=None, metavar="JSON",
                       help='faults to inject from the start, e.g. \'{"error_rate": 0.1}\' (see GET /_sim/faults)')
    serve.add_argument("--tls", action="store_true",
                       help="serve Admin Router over HTTPS with the simulator's own CA (kept in the state dir, "
                            "served at /ca/dcos-ca.crt); the certificate is valid for --host and every --tls-name")
    serve.add_argument("--tls-name", action="append", default=[], metavar="NAME",
                       help="a name the HTTPS certificate is valid for (repeatable; default: master.mesos, localhost)")
    serve.add_argument("--no-dataplane", action="store_true",
                       help="serve the APIs only: no apiservers, no HAProxy processes (no root needed)")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def config_from_args(args: argparse.Namespace) -> SimConfig:
    users = dict(u.split(":", 1) for u in args.user) if args.user else {"bootstrapuser": "deleteme"}
    accounts = {}
    for item in args.service_account:
        uid, _, path = item.partition("=")
        accounts[uid] = Path(path).read_text()
    timing = Timing(task_launch=args.deploy_seconds, pool_ready=args.pool_ready_seconds)
    return SimConfig(
        state_dir=args.state_dir, host=args.host, port=args.port, auth=args.auth,
        edgelb_service=args.edgelb_service, timing=timing, seed_file=args.seed, users=users,
        service_accounts=accounts, forbidden_uids=set(args.forbid), agent_network=args.agent_network,
        tls=args.tls, tls_names=tuple(args.tls_name) or SimConfig.tls_names,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from kexpose_sim.server import Simulator

    try:
        faults = FaultConfig.from_dict(args.faults) if args.faults else None
        sim = Simulator(config_from_args(args), faults, verbose=args.verbose, dataplane=not args.no_dataplane)
    except (SeedError, ValueError, OSError, DataPlaneUnavailable) as exc:
        print(f"kexpose_sim: {exc}", file=sys.stderr)
        return 2
    def terminate(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(sim.base_url, flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
