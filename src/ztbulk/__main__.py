import sys

from ztbulk.cli import main

sys.exit(main())
