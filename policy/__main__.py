"""The hitless CrossGuard policy pack: `pulumi preview --policy-pack policy`.

Only assembles the pack (constructing `PolicyPack` starts the analyzer server and blocks);
the policies live in `hitless_policy.pack`, imported from this folder so the pack works when
only `policy/` is published.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from hitless_policy.pack import PACK_DESCRIPTION, PACK_NAME, policies

PolicyPack(
    name=PACK_NAME,
    policies=policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description=PACK_DESCRIPTION,
)
