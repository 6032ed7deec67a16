from __future__ import annotations

import sys
from pathlib import Path

# storedata.py lives beside the tests; --import-mode=importlib does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))
