"""`python -m live`: read-only checks against the live subscription, before and after `pulumi up`.

    python -m live preflight --stack prod [--subscription ID] [--name-suffix abcde] [--json]
    python -m live verify --stack prod --resource-group rg-mlops-prod-abcde [--subscription ID] [--json]

preflight asks what only Azure knows before a deploy: providers and features registered, VM sizes
offered and not restricted in the region, Azure ML and VM quota for the stack's sizes, the globally
unique names free (soft-deleted Key Vaults included), no address-space collision with the
subscription's VNets, and whether the signed-in identity may assign roles. verify runs on a VM inside
the platform after `pulumi up`: endpoints approved, private names resolving to private IPs, public
access off as Azure reports it, default datastores present.

Sign-in is azure-identity's DefaultAzureCredential: `az login` on a laptop, OIDC (workload identity)
in CI, the managed identity on the platform's agents. Every call is a GET (or a name-availability
POST); nothing is written. Exit status as the offline preview: 0 no problem, 1 problems found,
2 a usage error (no such stack, no subscription, not signed in).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

from live.arm import ArmClient

USAGE_ERROR = 2
SUBSCRIPTION_VARIABLES = ("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m live", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (("preflight", "before pulumi up: what only the subscription knows"),
                            ("verify", "after pulumi up, from a VM inside the platform: is it private and working")):
        p = commands.add_parser(name, help=help_text)
        p.add_argument("--stack", required=True, help="the stack file: Pulumi.<stack>.yaml")
        p.add_argument("--subscription", help=f"subscription id (default: ${' or $'.join(SUBSCRIPTION_VARIABLES)})")
        p.add_argument("--arm-endpoint", help="Azure Resource Manager URL (default: the stack's cloud's)")
        p.add_argument("--json", action="store_true", help="print the problems as JSON (for CI)")
        if name == "preflight":
            p.add_argument("--name-suffix", help="the stack's random name suffix, for a stack that already has state "
                                                 "(the last part of its resource group name)")
        else:
            p.add_argument("--resource-group", required=True,
                           help="the stack's resource group (pulumi stack output resourceGroupName)")
    return parser


def _credential(authority_host: str):  # -> azure.core.credentials.TokenCredential
    import logging

    from azure.identity import DefaultAzureCredential

    # On failure DefaultAzureCredential also logs every credential it tried as a WARNING, which Python's
    # last-resort handler prints (~50 lines) above main's one-line error; its errors still show.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    return DefaultAzureCredential(authority=authority_host, exclude_interactive_browser_credential=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    from isolated_mlops.components.config import ConfigError, validate
    from isolated_mlops.components.zones import CLOUDS
    from live import preflight, verify
    from live.plan import plan_from
    from offline.engine import default_secrets, run_stack, stack_values
    from offline.preview import render_error

    subscription = args.subscription or next((os.environ[v] for v in SUBSCRIPTION_VARIABLES if os.environ.get(v)), None)
    if not subscription:
        print(f"error: no subscription: pass --subscription or set {' or '.join(SUBSCRIPTION_VARIABLES)}",
              file=sys.stderr)
        return USAGE_ERROR
    try:
        values = stack_values(args.stack)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    run = run_stack(args.stack)
    if run.error is not None:
        print(render_error(run), file=sys.stderr)
        return 1
    secrets = default_secrets()
    try:
        config = validate({**secrets, **values}, args.stack, secret_keys=set(secrets))
    except ConfigError as error:  # the run above would have failed first; kept for clarity
        print(str(error), file=sys.stderr)
        return 1
    cloud = CLOUDS[config.cloud]
    client = ArmClient(args.arm_endpoint or cloud.resource_manager, _credential(cloud.authority_host))

    from azure.core.exceptions import ClientAuthenticationError

    try:
        if args.command == "preflight":
            plan = plan_from(run, config)
            problems = preflight.run(preflight.Context(client, subscription, plan, args.name_suffix))
            what = f"preflight of {args.stack} in {config.location}"
        else:
            problems = verify.run(verify.Target(client, subscription, args.resource_group, run))
            what = f"verify of {args.stack} ({args.resource_group})"
    except ClientAuthenticationError as error:
        # No sign-in at all (no `az login`, no OIDC, no managed identity): DefaultAzureCredential's
        # message lists every credential it tried, ~50 lines; its first line says what happened.
        print(f"error: not signed in to Azure ({str(error).splitlines()[0].strip()}): run `az login`, "
              "or in CI sign in with OIDC (azure/login, AzureCLI@2) first", file=sys.stderr)
        return USAGE_ERROR

    if args.json:
        print(json.dumps({"stack": args.stack, "command": args.command, "problems": preflight.as_json(problems),
                          "requests": len(client.requests_sent)}, indent=2))
    else:
        for problem in problems:
            print(problem.line())
        print(f"{what}: {len(problems)} problem(s), {len(client.requests_sent)} read-only calls")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
