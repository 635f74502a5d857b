"""One module per group of ``aaas`` subcommands; each has ``register(subparsers)``.

A module defines its options at import time and imports the heavy parts (torch,
diffusers) only when its command runs, so ``aaas --help`` stays fast and works
in a light ``[user]`` install.
"""
