"""Reads the API the way automation does: with the client openapi-python-client generated
from the served document. Prints what it read as JSON for the Rust test to compare.

usage: read_with_client.py <directory holding the generated package> <base url> <token>
"""

import json
import sys

sys.path.insert(0, sys.argv[1])

from bedrock_sweeper_client import AuthenticatedClient  # noqa: E402
from bedrock_sweeper_client.api.findings import list_findings  # noqa: E402
from bedrock_sweeper_client.api.posture import get_posture  # noqa: E402
from bedrock_sweeper_client.models import FindingPage, Posture  # noqa: E402

client = AuthenticatedClient(base_url=sys.argv[2], token=sys.argv[3], raise_on_unexpected_status=True)
posture = get_posture.sync(client=client)
page = list_findings.sync(client=client, limit=5)
if not isinstance(posture, Posture) or not isinstance(page, FindingPage):
    sys.exit(f"unexpected answers: {posture!r} {page!r}")
print(json.dumps({"posture": posture.to_dict(), "findings": page.to_dict()}))
