"""`python -m pipeline` runs the servechar command line."""

from pipeline.cli import main

main()
