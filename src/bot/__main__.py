import sys

from trainingbot.cli import main

sys.exit(main())
