import sys

from floniks_cli.main import main

sys.exit(main())
