"""pytest set-up of the hostile-client harness: the shared test helpers of tests/lib."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
