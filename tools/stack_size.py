"""How many CloudFormation resources each stack becomes once SAM has transformed it: template.yaml and each of its
nested applications (stacks/*/template.yaml), which CloudFormation deploys as stacks of their own.

CloudFormation takes at most 500 resources per stack, and a SAM function is several (its role, its
permissions, its event source mappings, its log group; an API function also its version, alias, integration and
route). A stack that reaches 450 is split further (another nested application) before anything is added.

The transform is aws-sam-translator's, which lives only in the SAM CLI's virtualenv (it pins another
pydantic than the test venv), so this runs there: `.venv-sam/bin/python -m tools.stack_size [--check]`.
It prints {"stacks": {"template.yaml": {"resources": N, "byType": {...}}, "stacks/x/template.yaml": {...}},
"resources": <all stacks>, "byType": {<all stacks>}, "limit": 500, "splitAt": 450}; with --check it exits 1 when
any stack has 450 or more.
`--parameter SnapStart=On` (repeatable) transforms with that parameter value instead of its default.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LIMIT = 500  # CloudFormation's resources per stack
SPLIT_AT = 450  # leave room for the change that crosses it


def verdict(count: int, stack: str = "template.yaml") -> str | None:
    """None while the stack has room; otherwise what to do about it."""
    if count < SPLIT_AT:
        return None
    return (
        f"{stack} becomes {count} CloudFormation resources after the SAM transform (limit {LIMIT}, "
        f"budget {SPLIT_AT}): split into nested applications (AWS::Serverless::Application) before adding more"
    )


def stacks(path: Path = TEMPLATE) -> list[Path]:
    """The parent template and the local templates of its nested applications."""
    from tools import template

    return [path, *template.nested_applications(template.read(path), path.parent).values()]


class _NoManagedPolicies:
    """The translator's managed-policy loader, offline: our policies are inline statements or ARNs."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template that `path` deploys as, translated the way `sam validate` does it.

    Language extensions are expanded first (CloudFormation runs AWS::LanguageExtensions before SAM's
    transform); local CodeUri/ContentUri become placeholder S3 URIs, as `sam validate` makes them.
    """
    from samcli.lib.translate.sam_template_validator import SamTemplateValidator
    from samcli.yamlhelper import yaml_parse

    validator = SamTemplateValidator(
        yaml_parse(path.read_text()),
        _NoManagedPolicies(),
        region="us-east-1",
        parameter_overrides=parameters or {},
        language_extensions_enabled=True,
    )
    return dict(yaml_parse(validator.get_translated_template_if_valid()))


def count_by_type(template: dict[str, Any]) -> Counter[str]:
    return Counter(str(r["Type"]) for r in template["Resources"].values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 at {SPLIT_AT} resources or more")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    parameters = dict(item.split("=", 1) for item in args.parameter)
    report: dict[str, Any] = {"stacks": {}}
    overall: Counter[str] = Counter()
    failed = False
    for path in stacks(args.template):
        name = str(path.relative_to(args.template.parent))
        by_type = count_by_type(transformed(path, parameters))
        overall += by_type
        count = sum(by_type.values())
        report["stacks"][name] = {"resources": count, "byType": dict(by_type.most_common())}
        if args.check and (message := verdict(count, name)):
            print(message, file=sys.stderr)
            failed = True
    report.update(resources=sum(overall.values()), byType=dict(overall.most_common()), limit=LIMIT, splitAt=SPLIT_AT)
    print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
