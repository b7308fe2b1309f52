import sys

from registry.inspection.sandbox import main

raise SystemExit(main(sys.argv[1:]))
