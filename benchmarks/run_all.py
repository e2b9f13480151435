"""Run every benchmark script of this folder (`make bench`); each prints its own figures."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(here.glob("bench_*.py"))
if not scripts:
    print("Aucun benchmark trouvé.")
failed = 0
for script in scripts:
    print(f"== {script.name}", flush=True)
    failed |= subprocess.call([sys.executable, str(script)])
sys.exit(failed)
