from __future__ import annotations

import sys

from approvals.sandbox.cli import main

sys.exit(main())
