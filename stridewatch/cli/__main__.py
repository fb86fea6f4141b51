import sys

from stridewatch.cli import main

sys.exit(main())
