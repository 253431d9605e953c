"""Copies the IAM policies of deploy/*.json into the CloudFormation templates.

Each AWS::IAM::ManagedPolicy in deploy/cloudformation/*.yaml names its source in
Metadata.PolicySource; its PolicyDocument (the last key of its Properties) is rewritten from
that file. The strings in SUBSTITUTE become Fn::Sub expressions: the files are written for the
aws partition, the default member role and the caller's account as a policy variable; a
template knows its partition and account and takes the role as parameters. The rest of
each template, comments included, is left as it is. With --check, nothing is written and the
exit code says whether a template is out of date.

Run by scripts/sync-cloudformation.sh, in the deploy-tools venv (PyYAML).
"""

import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "deploy" / "cloudformation").glob("*.yaml"))
SUBSTITUTE = {
    "arn:aws:iam::*:role/BedrockSweeperReadOnly": "arn:${AWS::Partition}:iam::*:role${MemberRolePath}${MemberRoleName}",
    "arn:aws:securityhub:*:${aws:PrincipalAccount}:product/${aws:PrincipalAccount}/default":
        "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default",
    "arn:aws:securityhub:*:${aws:PrincipalAccount}:hub/default": "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default",
}


def substituted(value, substitutions):
    if isinstance(value, dict):
        return {k: substituted(v, substitutions) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(v, substitutions) for v in value]
    if isinstance(value, str) and value in substitutions:
        return {"Fn::Sub": substitutions[value]}
    return value


def document_lines(document, indent):
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=1000)
    return [" " * indent + line if line else line for line in text.splitlines()]


def synced(path):
    text = path.read_text()
    template = yaml.safe_load(text)
    lines = text.splitlines()
    for name, resource in template.get("Resources", {}).items():
        source = (resource.get("Metadata") or {}).get("PolicySource")
        if not source:
            continue
        document = json.loads((ROOT / source).read_text())
        document = substituted(document, SUBSTITUTE)
        start = lines.index(f"  {name}:")
        at = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("PolicyDocument:"))
        indent = len(lines[at]) - len(lines[at].lstrip())
        end = at + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        while end > at + 1 and not lines[end - 1].strip():
            end -= 1
        lines[at:end] = [" " * indent + "PolicyDocument:"] + document_lines(document, indent + 2)
    return "\n".join(lines) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path in TEMPLATES:
        new = synced(path)
        if new != path.read_text():
            stale.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new)
    for path in stale:
        print(f"{path}: {'out of date with deploy/*.json' if check else 'updated'}", file=sys.stderr)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
